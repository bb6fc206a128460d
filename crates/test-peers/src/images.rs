//! Container images built offline for k8s-local's node (`../shared/k8s-local/node.sh`), which
//! pulls nothing: every image a test pod uses is built here and imported into the node's
//! containerd (`tests/peers/image.sh`), and pods name it with `imagePullPolicy: Never` or a tag
//! that `IfNotPresent` finds.
//!
//! Two bases: `FROM scratch` with Debian's busybox-static as `/bin/sh` and its applets, and a
//! Debian rootfs made by debootstrap with the packages an app needs (a JRE, Python, Node.js, or
//! nothing beyond glibc for a Rust binary), built once and cached.

use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use crate::run_script;

/// The address of the host (and of the node) as pods on k8s-local's bridge see it: a peer
/// running on this machine (Jaeger, say) listens there to be reachable from pods.
pub const HOST_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 244, 0, 1));

/// Where the node's containerd listens, if node.sh has started it.
pub fn node_socket() -> Option<PathBuf> {
    let home = std::env::var_os("K8S_LOCAL_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/k8s-local")))?;
    let sock = home.join("node/containerd.sock");
    sock.exists().then_some(sock)
}

enum Base {
    Scratch,
    Debian(Vec<String>),
}

/// An image to build: a base plus files, then [`Image::build`] imports it into the node.
pub struct Image {
    name: String,
    base: Base,
    dir: tempfile::TempDir,
    entrypoint: Option<Vec<String>>,
}

impl Image {
    /// `FROM scratch` with busybox-static at `/bin/busybox` and every applet it has linked in
    /// `/bin` (`sh`, `cp`, `ls`, `cat`, `env`, `sleep`, ...), plus an empty `/tmp`.
    pub fn busybox(name: &str) -> Result<Self> {
        let busybox =
            which("busybox").context("busybox-static is missing (node.sh installs it)")?;
        let image = Self::new(name, Base::Scratch)?;
        let bin = image.rootfs().join("bin");
        std::fs::create_dir_all(&bin)?;
        std::fs::create_dir_all(image.rootfs().join("tmp"))?;
        std::fs::copy(&busybox, bin.join("busybox"))?;
        let list = std::process::Command::new(&busybox)
            .arg("--list")
            .output()?;
        for applet in String::from_utf8_lossy(&list.stdout).lines() {
            if !applet.is_empty() && applet != "busybox" {
                std::os::unix::fs::symlink("busybox", bin.join(applet))?;
            }
        }
        Ok(image)
    }

    /// A Debian bookworm (minbase) rootfs with `packages`, made by debootstrap once and cached.
    pub fn debian(name: &str, packages: &[&str]) -> Result<Self> {
        Self::new(
            name,
            Base::Debian(packages.iter().map(|p| p.to_string()).collect()),
        )
    }

    fn new(name: &str, base: Base) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir_all(dir.path().join("rootfs"))?;
        Ok(Self {
            name: name.into(),
            base,
            dir,
            entrypoint: None,
        })
    }

    fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }

    fn target(&self, dest: &str) -> Result<PathBuf> {
        let rel = dest.trim_start_matches('/');
        if rel.is_empty() || rel.split('/').any(|c| c == "..") {
            bail!("bad path in image: {dest}");
        }
        let path = self.rootfs().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        Ok(path)
    }

    /// A file with `contents` at `dest`, mode `mode`.
    pub fn file(self, dest: &str, contents: &[u8], mode: u32) -> Result<Self> {
        let path = self.target(dest)?;
        std::fs::write(&path, contents)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))?;
        Ok(self)
    }

    /// A copy of the host file `src` at `dest`, with its mode.
    pub fn copy(self, dest: &str, src: &Path) -> Result<Self> {
        let path = self.target(dest)?;
        std::fs::copy(src, &path).with_context(|| format!("copying {}", src.display()))?;
        Ok(self)
    }

    /// A copy of the host directory `src`'s contents (files, links and modes, as `cp -a` keeps
    /// them) under `dest` (`/` for the image's root).
    pub fn tree(self, dest: &str, src: &Path) -> Result<Self> {
        let path = if dest.trim_start_matches('/').is_empty() {
            self.rootfs()
        } else {
            let path = self.target(dest)?;
            std::fs::create_dir_all(&path)?;
            path
        };
        let status = std::process::Command::new("cp")
            .arg("-a")
            .arg(src.join("."))
            .arg(&path)
            .status()
            .with_context(|| format!("copying {}", src.display()))?;
        if !status.success() {
            bail!("cp -a {}/. {}: {status}", src.display(), path.display());
        }
        Ok(self)
    }

    /// The image's entrypoint (else a pod names its command).
    pub fn entrypoint(mut self, argv: &[&str]) -> Self {
        self.entrypoint = Some(argv.iter().map(|a| a.to_string()).collect());
        self
    }

    /// Builds the image, imports it into the node's containerd and returns its tag
    /// (`localhost/otel-inject-test/<name>:<content hash>`): the same content gives the same tag
    /// and is not built again.
    pub fn build(self) -> Result<String> {
        let from = match &self.base {
            Base::Scratch => "scratch".to_string(),
            Base::Debian(pkgs) => {
                let mut args = vec!["rootfs", "debian"];
                args.extend(pkgs.iter().map(String::as_str));
                run_script("image.sh", &args)?
            }
        };
        let mut containerfile = format!("FROM {from}\nCOPY rootfs/ /\n");
        if let Some(argv) = &self.entrypoint {
            containerfile.push_str(&format!("ENTRYPOINT {}\n", serde_json::to_string(argv)?));
        }
        std::fs::write(self.dir.path().join("Containerfile"), containerfile)?;
        let dir = self.dir.path().display().to_string();
        run_script("image.sh", &["build", &self.name, &dir])
    }
}

fn which(cmd: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(cmd))
        .find(|p| p.is_file())
}

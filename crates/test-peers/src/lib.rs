//! The real peers that otel-inject's tests run against, shared by every crate's tests:
//!
//! - [`jaeger`]: Jaeger v2 built from its Go module (`tests/peers/jaeger`), started on free
//!   ports with a given configuration (deploy/'s own, rewritten for loopback), and read back
//!   through its query API (`/api/v3/services`, `/api/v3/traces`).
//! - [`otlp`]: one span sent over OTLP/gRPC or OTLP/HTTP, for checking a receiver by itself.
//! - [`images`]: container images built offline (busybox-static from scratch, or a Debian rootfs
//!   from debootstrap) and imported into k8s-local's node, so that pods really run.
//! - [`agents`]: the Java, Node.js and Python agents of the operator's autoinstrumentation
//!   images, from Maven Central, npm and PyPI (`tests/peers/agents`), and the apps of
//!   `tests/apps/` that run with them.
//!
//! Nothing here downloads a prebuilt binary: Jaeger comes from the Go module proxy, the images
//! from Debian's packages, the agents from their own registries. Slow results (the Jaeger binary, Debian rootfs) are cached under
//! `$OTEL_INJECT_CACHE` (default `~/.cache/otel-inject`).

pub mod agents;
pub mod images;
pub mod jaeger;
pub mod otlp;

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};

/// The workspace root (where `tests/peers/` lives).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A port that was free on `ip` a moment ago.
pub fn free_port(ip: std::net::IpAddr) -> Result<u16> {
    Ok(std::net::TcpListener::bind((ip, 0))?.local_addr()?.port())
}

/// Runs one of the `tests/peers/` scripts and returns its last line of output (the path or tag
/// it prints). Its stderr (progress of a first build) goes to the test's stderr.
pub(crate) fn run_script(script: &str, args: &[&str]) -> Result<String> {
    let path = repo_root().join("tests/peers").join(script);
    let out = Command::new("bash")
        .arg(&path)
        .args(args)
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running {}", path.display()))?;
    if !out.status.success() {
        bail!(
            "{} {} failed ({})",
            path.display(),
            args.join(" "),
            out.status
        );
    }
    let stdout = String::from_utf8(out.stdout).context("script output is not UTF-8")?;
    match stdout.lines().last() {
        Some(line) if !line.trim().is_empty() => Ok(line.trim().to_string()),
        _ => bail!("{} printed nothing", path.display()),
    }
}

/// Polls `check` every 100 ms until it returns `Some`, or fails after `timeout` with the last
/// error it gave, so a test waits as long as it must and never forever.
pub async fn poll<T, F, Fut>(timeout: std::time::Duration, what: &str, mut check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let start = std::time::Instant::now();
    let mut last = None;
    loop {
        match check().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last = Some(e),
        }
        if start.elapsed() > timeout {
            match last {
                Some(e) => bail!("timed out after {timeout:?} waiting for {what}: {e:#}"),
                None => bail!("timed out after {timeout:?} waiting for {what}"),
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

//! The OpenTelemetry agents of the operator's autoinstrumentation images (Java, Node.js, Python),
//! built from their real artifacts on Maven Central, npm and PyPI by `tests/peers/agents/build.sh`
//! and laid out as those images lay them out, and the small HTTP apps of `tests/apps/` that run
//! with them: on this machine ([`Agent::host_app`]) or in a pod ([`app_image`]).
//!
//! The agent image is busybox (the init container's `cp`) with the agent's files at its root, so
//! the injection's copy command (`cp /javaagent.jar ...`, `cp -r /autoinstrumentation/. ...`)
//! runs in it unchanged. No app knows about OpenTelemetry: what it sends, the agent sends.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

use crate::images::Image;
use crate::jaeger::{Span, SERVER};
use crate::{repo_root, run_script};

/// An agent the injection adds to a container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Agent {
    Java,
    NodeJs,
    Python,
}

impl Agent {
    pub const ALL: [Agent; 3] = [Agent::Java, Agent::NodeJs, Agent::Python];

    /// The language's name in the annotations (`inject-<lang>`), the Instrumentation's spec key
    /// and the init container's name (`opentelemetry-auto-instrumentation-<lang>`).
    pub fn lang(self) -> &'static str {
        match self {
            Agent::Java => "java",
            Agent::NodeJs => "nodejs",
            Agent::Python => "python",
        }
    }

    /// The agent release the image carries: the default image of operator 0.158.0
    /// (its `versions.txt`), pinned in `tests/peers/agents/`.
    pub fn version(self) -> &'static str {
        match self {
            Agent::Java => "2.30.0",
            Agent::NodeJs => "0.78.0",
            Agent::Python => "0.64b0",
        }
    }

    /// The resource attribute that names the agent's own release, where the agent sets one (the
    /// Node.js metapackage's version appears nowhere in what it sends).
    pub fn version_attribute(self) -> Option<(&'static str, &'static str)> {
        match self {
            Agent::Java => Some(("telemetry.distro.version", self.version())),
            Agent::NodeJs => None,
            Agent::Python => Some(("telemetry.auto.version", self.version())),
        }
    }

    /// What `telemetry.sdk.language` says in the resource of every span the agent sends.
    pub fn sdk_language(self) -> &'static str {
        self.lang()
    }

    /// The agent's files, laid out as at the agent image's root (`javaagent.jar`, or
    /// `autoinstrumentation/`), built on first use and cached by content.
    pub fn artifacts(self) -> Result<PathBuf> {
        run_script("agents/build.sh", &[self.lang()]).map(PathBuf::from)
    }

    /// The agent image (busybox and the agent's files), imported into k8s-local's node; its tag.
    pub fn image(self) -> Result<String> {
        Image::busybox(&format!("{}-agent", self.lang()))?
            .tree("/", &self.artifacts()?)?
            .build()
    }

    /// The directory the init container's copy fills (the agent's volume), here taken from the
    /// artifacts directly: what `/otel-auto-instrumentation-<lang>` holds in a pod.
    pub fn volume_contents(self) -> Result<PathBuf> {
        let dir = self.artifacts()?;
        Ok(match self {
            Agent::Java => dir,
            Agent::NodeJs | Agent::Python => dir.join("autoinstrumentation"),
        })
    }

    /// The variables that load the agent, as the injection (operator 0.158.0) writes them for a
    /// container with none of its own, with the agent's volume mounted at `mount`.
    pub fn loader_env(self, mount: &Path) -> Vec<(String, String)> {
        let m = mount.display();
        let kv = |k: &str, v: String| (k.to_string(), v);
        match self {
            Agent::Java => vec![kv(
                "JAVA_TOOL_OPTIONS",
                format!(" -javaagent:{m}/javaagent.jar"),
            )],
            Agent::NodeJs => vec![
                kv(
                    "NODE_OPTIONS",
                    format!(" --require {m}/autoinstrumentation.js"),
                ),
                kv("OTEL_METRICS_EXPORTER", "otlp".into()),
            ],
            Agent::Python => vec![
                kv(
                    "PYTHONPATH",
                    format!("{m}/opentelemetry/instrumentation/auto_instrumentation:{m}"),
                ),
                kv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".into()),
                kv("OTEL_TRACES_EXPORTER", "otlp".into()),
                kv("OTEL_METRICS_EXPORTER", "otlp".into()),
                kv("OTEL_LOGS_EXPORTER", "otlp".into()),
            ],
        }
    }

    /// The app's command in [`app_image`] (absolute paths: an imported rootfs sets no `PATH`).
    pub fn app_command(self) -> Vec<String> {
        let argv: &[&str] = match self {
            Agent::Java => &["/usr/bin/java", "-cp", "/app/java", "Hello"],
            Agent::NodeJs => &["/usr/bin/node", "/app/nodejs/server.js"],
            Agent::Python => &["/usr/bin/python3", "/app/python/app.py"],
        };
        argv.iter().map(|a| a.to_string()).collect()
    }

    /// The app as a command on this machine, with its runtime from the host (Java 17, Node.js,
    /// Debian's `/usr/bin/python3` with python3-flask: the same Python minor as the pods').
    pub fn host_app(self) -> Result<Command> {
        let apps = repo_root().join("tests/apps");
        let cmd = match self {
            Agent::Java => {
                let mut c = Command::new("java");
                c.arg("-cp").arg(java_classes()?).arg("Hello");
                c
            }
            Agent::NodeJs => {
                let mut c = Command::new("node");
                c.arg(apps.join("nodejs/server.js"));
                c
            }
            Agent::Python => {
                let python = Path::new("/usr/bin/python3");
                let flask = Command::new(python)
                    .args(["-c", "import flask"])
                    .output()
                    .with_context(|| format!("running {}", python.display()))?;
                if !flask.status.success() {
                    bail!(
                        "{} cannot import flask: apt-get install python3-flask (.ci/run does)",
                        python.display()
                    );
                }
                let mut c = Command::new(python);
                c.arg(apps.join("python/app.py"));
                c
            }
        };
        Ok(cmd)
    }
}

/// The Debian packages of the apps' runtime base (`tests/apps/debian-packages`).
pub fn app_packages() -> Vec<&'static str> {
    include_str!("../../../tests/apps/debian-packages")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// One image with every app of `tests/apps/` (under `/app/<lang>/`) on a Debian base with their
/// runtimes (one base for all three: one debootstrap, one layer the node stores once); a pod
/// names the app by its command ([`Agent::app_command`]).
pub fn app_image() -> Result<String> {
    let apps = repo_root().join("tests/apps");
    Image::debian("agent-apps", &app_packages())?
        .tree("/app/java", &java_classes()?)?
        .copy("/app/nodejs/server.js", &apps.join("nodejs/server.js"))?
        .copy("/app/python/app.py", &apps.join("python/app.py"))?
        .build()
}

/// `tests/apps/java/Hello.java` compiled for Java 17 by this machine's javac, once per source
/// (cached under `$OTEL_INJECT_CACHE/apps/`; javac's output for one source is the same every
/// time, so the app image's content hash stays put).
pub fn java_classes() -> Result<PathBuf> {
    let src = repo_root().join("tests/apps/java/Hello.java");
    let text = std::fs::read(&src).with_context(|| format!("reading {}", src.display()))?;
    let cache = std::env::var_os("OTEL_INJECT_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache/otel-inject")))
        .context("neither OTEL_INJECT_CACHE nor HOME is set")?
        .join("apps");
    let out = cache.join(format!("java-{:016x}", fnv1a(&text)));
    if out.join("Hello.class").is_file() {
        return Ok(out);
    }
    std::fs::create_dir_all(&cache)?;
    let tmp = tempfile::tempdir_in(&cache)?;
    let javac = Command::new("javac")
        .args(["--release", "17", "-d"])
        .arg(tmp.path())
        .arg(&src)
        .output()
        .context("running javac (the machine's JDK 17)")?;
    if !javac.status.success() {
        bail!(
            "javac {}: {}\n{}",
            src.display(),
            javac.status,
            String::from_utf8_lossy(&javac.stderr)
        );
    }
    // Another process may have compiled it meanwhile: either copy is the same.
    let tmp = tmp.keep();
    if std::fs::rename(&tmp, &out).is_err() {
        std::fs::remove_dir_all(&tmp)?;
    }
    Ok(out)
}

/// FNV-1a, 64 bits: a cache key that stays the same across Rust releases (std's hasher may not).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A W3C `traceparent` for a request that continues a trace of the test's: (trace id, parent
/// span id, header value), sampled.
pub fn traceparent() -> (String, String, String) {
    let trace_id = crate::otlp::new_trace_id();
    // The low half of a fresh id: unique in this process and never zero.
    let span_id = crate::otlp::new_trace_id()[16..].to_string();
    let header = format!("00-{trace_id}-{span_id}-01");
    (trace_id, span_id, header)
}

/// A server span's request method and path, by the stable HTTP semantic conventions
/// (`http.request.method`, `url.path`: the Java agent 2.x) or the old ones (`http.method`,
/// `http.target`: the Node.js and Python instrumentations unless told otherwise).
pub fn http_request(span: &Span) -> (Option<&str>, Option<&str>) {
    let method = span
        .attr("http.request.method")
        .or(span.attr("http.method"));
    let path = span.attr("url.path").or(span.attr("http.target"));
    (method, path)
}

/// The server spans of `GET path` among `spans`.
pub fn server_spans<'a>(spans: &'a [Span], path: &str) -> Vec<&'a Span> {
    spans
        .iter()
        .filter(|s| s.kind == SERVER && http_request(s) == (Some("GET"), Some(path)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_app_base_has_every_runtime() {
        let pkgs = app_packages();
        for p in ["openjdk-17-jre-headless", "nodejs", "python3-flask"] {
            assert!(pkgs.contains(&p), "{p} missing from {pkgs:?}");
        }
    }

    #[test]
    fn versions_are_the_pins_the_build_uses() -> Result<()> {
        let read =
            |f: &str| std::fs::read_to_string(repo_root().join("tests/peers/agents").join(f));
        assert_eq!(read("java/version.txt")?.trim(), Agent::Java.version());
        let package: serde_json::Value = serde_json::from_str(&read("nodejs/package.json")?)?;
        assert_eq!(
            package["dependencies"]["@opentelemetry/auto-instrumentations-node"],
            Agent::NodeJs.version()
        );
        let distro = format!("opentelemetry-distro=={}", Agent::Python.version());
        assert!(
            read("python/requirements.txt")?
                .lines()
                .any(|l| l.trim() == distro),
            "no {distro} in python/requirements.txt"
        );
        Ok(())
    }

    #[test]
    fn traceparents_are_w3c_and_distinct() {
        let (t1, s1, h1) = traceparent();
        let (t2, s2, _) = traceparent();
        assert_eq!(h1, format!("00-{t1}-{s1}-01"));
        assert_eq!((t1.len(), s1.len()), (32, 16));
        assert!(t1 != t2 && s1 != s2);
        assert!(s1.chars().any(|c| c != '0'));
    }
}

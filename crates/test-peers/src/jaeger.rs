//! Jaeger v2, the real binary, as a test peer.
//!
//! [`binary`] builds it once from its Go module (`tests/peers/jaeger/build.sh`). [`Jaeger::start`]
//! runs it with a configuration, normally one of deploy/'s own, rewritten so that several can
//! run at once on one machine: every listening endpoint moves to a free port on the given
//! address, Badger's directories move into a temporary directory, the remote_sampling
//! extension's strategies file is a copy (in that directory) of the strategies given, and the
//! collector's own metrics endpoint (a fixed port 8888) is turned off. The query API
//! (`/api/v3/...`) is then read back as [`Span`]s, and the sampling API (`/sampling?service=`)
//! as JSON.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{anyhow, bail, ensure, Context, Result};
use serde_json::Value;
use serde_yaml::Value as Yaml;

use crate::{free_port, repo_root, run_script};

/// The Jaeger v2 release that `tests/peers/jaeger/go.mod` builds (its Go module tag is v1.76.0:
/// the v1.x module tags carry the v2 binary). deploy/ pins the same release; a test checks that.
pub const VERSION: &str = "2.13.0";

/// The real `jaeger` binary, built from its Go module on first use and cached.
pub fn binary() -> Result<PathBuf> {
    static BIN: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    BIN.get_or_init(|| {
        run_script("jaeger/build.sh", &[])
            .map(PathBuf::from)
            .map_err(|e| format!("{e:#}"))
    })
    .clone()
    .map_err(|e| anyhow!("building Jaeger: {e}"))
}

/// deploy/'s Jaeger configurations, by the overlay that ships each (what the ConfigMap
/// generators of `deploy/jaeger` put in `config.yaml`).
pub fn deploy_config(file: &str) -> Result<String> {
    let path = repo_root().join("deploy/jaeger").join(file);
    std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
}

/// deploy/'s sampling strategies (`sampling-strategies.json` beside a config), by the overlay
/// directory that ships them, e.g. `base` or `overlays/prod`.
pub fn deploy_strategies(dir: &str) -> Result<String> {
    deploy_config(&format!("{dir}/sampling-strategies.json"))
}

/// One kustomization of deploy/jaeger: the file its own `jaeger-config` ConfigMap puts in
/// `config.yaml` (`None`: it keeps its base's), and the strategies file it mounts (the one its
/// own `jaeger-sampling-strategies` ConfigMap puts in `strategies.json`, else its base's), as
/// paths under deploy/jaeger for [`deploy_config`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ShippedJaeger {
    /// `base`, or the overlay's directory name (`dev`, `staging`, `prod`).
    pub overlay: String,
    pub config: Option<String>,
    pub strategies: String,
}

/// Every kustomization of deploy/jaeger (the base, then each overlay by name), read from the
/// kustomizations themselves, so that a new overlay or a renamed file cannot go unchecked.
pub fn shipped() -> Result<Vec<ShippedJaeger>> {
    let root = repo_root().join("deploy/jaeger");
    let mut dirs = Vec::new();
    for e in std::fs::read_dir(root.join("overlays"))? {
        dirs.push(e?.path());
    }
    dirs.sort();
    dirs.insert(0, root.join("base"));
    let mut out = Vec::new();
    for dir in dirs {
        let file = dir.join("kustomization.yaml");
        let k: Yaml = serde_yaml::from_str(&std::fs::read_to_string(&file)?)
            .with_context(|| format!("reading {}", file.display()))?;
        let generated = |name: &str, key: &str| -> Result<Option<String>> {
            let generators = k["configMapGenerator"].as_sequence().cloned();
            for g in generators.iter().flatten().filter(|g| g["name"] == name) {
                for f in g["files"].as_sequence().into_iter().flatten() {
                    let spec = f
                        .as_str()
                        .ok_or_else(|| anyhow!("bad files entry in {}", file.display()))?;
                    let Some(source) = spec.strip_prefix(&format!("{key}=")) else {
                        continue;
                    };
                    return Ok(Some(
                        dir.join(source).strip_prefix(&root)?.display().to_string(),
                    ));
                }
            }
            Ok(None)
        };
        let strategies = match generated("jaeger-sampling-strategies", "strategies.json")? {
            Some(own) => own,
            None => out
                .first()
                .map(|base: &ShippedJaeger| base.strategies.clone())
                .ok_or_else(|| {
                    anyhow!("deploy/jaeger/base generates no jaeger-sampling-strategies")
                })?,
        };
        out.push(ShippedJaeger {
            overlay: dir.file_name().unwrap_or_default().to_string_lossy().into(),
            config: generated("jaeger-config", "config.yaml")?,
            strategies,
        });
    }
    Ok(out)
}

/// `jaeger validate --config`: the collector's own check of a configuration (every component's
/// config is unmarshalled and validated), without starting it.
pub fn validate(config: &str, env: &[(&str, &str)]) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("config.yaml");
    std::fs::write(&file, config)?;
    let out = Command::new(binary()?)
        .arg("validate")
        .arg(format!("--config={}", file.display()))
        .envs(env.iter().copied())
        .output()?;
    if !out.status.success() {
        bail!(
            "jaeger validate rejected the config ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// The addresses a running Jaeger listens on.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    pub otlp_grpc: SocketAddr,
    pub otlp_http: SocketAddr,
    pub query_http: SocketAddr,
    pub health: SocketAddr,
    /// The remote_sampling extension's HTTP server (`/sampling?service=`), when configured.
    pub sampling_http: Option<SocketAddr>,
    /// Its gRPC server (`jaeger.api_v2.SamplingManager`), when configured.
    pub sampling_grpc: Option<SocketAddr>,
}

/// Why one start of Jaeger failed: a port another process took first (worth another try on
/// fresh ports), or anything else.
enum Started {
    PortTaken(String),
    Failed(anyhow::Error),
}

/// A running Jaeger; stopped when dropped. Its log is kept in its temporary directory until then
/// and printed by [`Jaeger::log`] for failure messages.
pub struct Jaeger {
    child: Child,
    dir: tempfile::TempDir,
    pub ports: Ports,
    http: reqwest::Client,
}

impl Drop for Jaeger {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Moves every endpoint of a collector configuration to a free port on `ip`, Badger's
/// directories under `dir`, the remote_sampling extension's strategies file to a copy of
/// `strategies` in `dir`, and turns off the collector's own metrics endpoint.
///
/// A configuration that reads strategies from a file needs `strategies`: Jaeger refuses to start
/// without the file, and the path deploy/ gives (a ConfigMap's mount) is not on this machine.
pub fn rewrite_config(
    config: &str,
    ip: IpAddr,
    dir: &Path,
    strategies: Option<&str>,
) -> Result<(String, Ports)> {
    let mut doc: Yaml = serde_yaml::from_str(config).context("the Jaeger config is not YAML")?;
    let mut moved: BTreeMap<u16, SocketAddr> = BTreeMap::new();
    let mut err = None;
    rewrite_endpoints(&mut doc, ip, &mut moved, &mut err);
    if let Some(e) = err {
        return Err(e);
    }
    // jaeger_query listens on 16686 (HTTP) and 16685 (gRPC) unless told otherwise: say where.
    let query = doc
        .get_mut("extensions")
        .and_then(|e| e.get_mut("jaeger_query"))
        .and_then(Yaml::as_mapping_mut)
        .ok_or_else(|| anyhow!("the config has no extensions.jaeger_query"))?;
    for (proto, default) in [("http", 16686u16), ("grpc", 16685)] {
        let addr = *moved
            .entry(default)
            .or_insert(SocketAddr::new(ip, free_port(ip)?));
        let section = query
            .entry(proto.into())
            .or_insert_with(|| Yaml::Mapping(Default::default()));
        section
            .as_mapping_mut()
            .ok_or_else(|| anyhow!("jaeger_query.{proto} is not a mapping"))?
            .insert("endpoint".into(), addr.to_string().into());
    }
    let mut sampling = (None, None);
    if let Some(rs) = doc
        .get_mut("extensions")
        .and_then(|e| e.get_mut("remote_sampling"))
        .and_then(Yaml::as_mapping_mut)
    {
        // An `http:` or `grpc:` section without an endpoint listens on Jaeger's default port
        // (5778, 5779): say where instead, as for jaeger_query.
        for (proto, default) in [("http", 5778u16), ("grpc", 5779)] {
            let Some(section) = rs.get_mut(proto) else {
                continue;
            };
            let addr = *moved
                .entry(default)
                .or_insert(SocketAddr::new(ip, free_port(ip)?));
            if section.is_null() {
                *section = Yaml::Mapping(Default::default());
            }
            section
                .as_mapping_mut()
                .ok_or_else(|| anyhow!("remote_sampling.{proto} is not a mapping"))?
                .insert("endpoint".into(), addr.to_string().into());
            match proto {
                "http" => sampling.0 = Some(addr),
                _ => sampling.1 = Some(addr),
            }
        }
        if let Some(file) = rs.get_mut("file").and_then(Yaml::as_mapping_mut) {
            let strategies = strategies.ok_or_else(|| {
                anyhow!(
                    "the config serves sampling strategies from {:?}: give the strategies to \
                     serve (Jaeger::start_with_strategies, e.g. jaeger::deploy_strategies)",
                    file.get("path")
                )
            })?;
            let copy = dir.join("sampling-strategies.json");
            std::fs::write(&copy, strategies)?;
            file.insert("path".into(), copy.display().to_string().into());
        }
    }
    if let Some(backends) = doc
        .get_mut("extensions")
        .and_then(|e| e.get_mut("jaeger_storage"))
        .and_then(|s| s.get_mut("backends"))
        .and_then(Yaml::as_mapping_mut)
    {
        for (name, backend) in backends.iter_mut() {
            let Some(dirs) = backend
                .get_mut("badger")
                .and_then(|b| b.get_mut("directories"))
                .and_then(Yaml::as_mapping_mut)
            else {
                continue;
            };
            for (key, value) in dirs.iter_mut() {
                let sub = dir.join(format!(
                    "badger-{}-{}",
                    name.as_str().unwrap_or("store"),
                    key.as_str().unwrap_or("dir")
                ));
                std::fs::create_dir_all(&sub)?;
                *value = sub.display().to_string().into();
            }
        }
    }
    let service = doc
        .get_mut("service")
        .and_then(Yaml::as_mapping_mut)
        .ok_or_else(|| anyhow!("the config has no service section"))?;
    let telemetry = service
        .entry("telemetry".into())
        .or_insert_with(|| Yaml::Mapping(Default::default()));
    let metrics: serde_yaml::Mapping = serde_yaml::from_str("level: none")?;
    telemetry
        .as_mapping_mut()
        .ok_or_else(|| anyhow!("service.telemetry is not a mapping"))?
        .insert("metrics".into(), Yaml::Mapping(metrics));

    let port = |p: u16| {
        moved
            .get(&p)
            .copied()
            .ok_or_else(|| anyhow!("the config does not listen on the usual port {p}"))
    };
    let ports = Ports {
        otlp_grpc: port(4317)?,
        otlp_http: port(4318)?,
        query_http: port(16686)?,
        health: port(13133)?,
        sampling_http: sampling.0,
        sampling_grpc: sampling.1,
    };
    Ok((serde_yaml::to_string(&doc)?, ports))
}

/// `host:port` strings under an `endpoint` key get a free port on `ip`, one per original port.
fn rewrite_endpoints(
    v: &mut Yaml,
    ip: IpAddr,
    moved: &mut BTreeMap<u16, SocketAddr>,
    err: &mut Option<anyhow::Error>,
) {
    match v {
        Yaml::Mapping(m) => {
            for (k, child) in m.iter_mut() {
                if k.as_str() == Some("endpoint") {
                    if let Some(port) = child
                        .as_str()
                        .and_then(|s| s.rsplit_once(':'))
                        .and_then(|(_, p)| p.parse::<u16>().ok())
                    {
                        let addr = match moved.get(&port) {
                            Some(a) => *a,
                            None => match free_port(ip) {
                                Ok(p) => *moved.entry(port).or_insert(SocketAddr::new(ip, p)),
                                Err(e) => {
                                    *err = Some(e);
                                    return;
                                }
                            },
                        };
                        *child = addr.to_string().into();
                        continue;
                    }
                }
                rewrite_endpoints(child, ip, moved, err);
            }
        }
        Yaml::Sequence(s) => s
            .iter_mut()
            .for_each(|c| rewrite_endpoints(c, ip, moved, err)),
        _ => {}
    }
}

impl Jaeger {
    /// Starts Jaeger with `config` (rewritten by [`rewrite_config`]) listening on `ip`, and
    /// waits until its health endpoint says it is ready.
    ///
    /// The free ports are picked here and bound by Jaeger a moment later, so a test running
    /// beside this one can take one in between: when Jaeger exits because an address is in
    /// use, it is started again on fresh ports (a few times, then the error is returned).
    pub async fn start(config: &str, ip: IpAddr) -> Result<Self> {
        Self::start_inner(config, None, ip).await
    }

    /// [`Jaeger::start`] with a configuration whose remote_sampling extension reads a strategies
    /// file: Jaeger serves `strategies` (the file's JSON) instead, from a copy in its temporary
    /// directory ([`Jaeger::strategies_file`]).
    pub async fn start_with_strategies(config: &str, strategies: &str, ip: IpAddr) -> Result<Self> {
        Self::start_inner(config, Some(strategies), ip).await
    }

    async fn start_inner(config: &str, strategies: Option<&str>, ip: IpAddr) -> Result<Self> {
        const ATTEMPTS: usize = 5;
        let mut attempt = 1;
        loop {
            match Self::start_once(config, strategies, ip).await {
                Err(Started::PortTaken(log)) if attempt < ATTEMPTS => {
                    eprintln!(
                        "jaeger: a port was taken before it bound it (attempt {attempt} of \
                         {ATTEMPTS}); starting again on fresh ports:\n{}",
                        log.lines().rev().take(3).collect::<Vec<_>>().join("\n")
                    );
                    attempt += 1;
                }
                Err(Started::PortTaken(log)) => {
                    bail!("jaeger could not bind its ports in {ATTEMPTS} attempts:\n{log}")
                }
                Err(Started::Failed(e)) => return Err(e),
                Ok(jaeger) => return Ok(jaeger),
            }
        }
    }

    async fn start_once(
        config: &str,
        strategies: Option<&str>,
        ip: IpAddr,
    ) -> std::result::Result<Self, Started> {
        Self::spawn_and_wait(config, strategies, ip)
            .await
            .map_err(|e| {
                let text = format!("{e:#}");
                if text.contains("address already in use") {
                    Started::PortTaken(text)
                } else {
                    Started::Failed(e)
                }
            })
    }

    async fn spawn_and_wait(config: &str, strategies: Option<&str>, ip: IpAddr) -> Result<Self> {
        // The workspace's reqwest is built without a default crypto provider; ring is ours.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let bin = binary()?;
        let dir = tempfile::tempdir()?;
        let (config, ports) = rewrite_config(config, ip, dir.path(), strategies)?;
        let file = dir.path().join("config.yaml");
        std::fs::write(&file, config)?;
        let log = std::fs::File::create(dir.path().join("jaeger.log"))?;
        let child = Command::new(bin)
            .arg(format!("--config={}", file.display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting jaeger")?;
        let mut jaeger = Self {
            child,
            dir,
            ports,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()?,
        };
        let health = format!("http://{}/status", ports.health);
        let started = std::time::Instant::now();
        loop {
            if let Some(status) = jaeger.child.try_wait()? {
                bail!("jaeger exited with {status}:\n{}", jaeger.log());
            }
            if let Ok(r) = jaeger.http.get(&health).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!("jaeger not healthy after 30 s:\n{}", jaeger.log());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(jaeger)
    }

    /// deploy/'s in-memory configuration and sampling strategies (the dev overlay's, from the
    /// base), on `ip`.
    pub async fn memory(ip: IpAddr) -> Result<Self> {
        Self::start_with_strategies(
            &deploy_config("base/config-memory.yaml")?,
            &deploy_strategies("base")?,
            ip,
        )
        .await
    }

    /// The copy of the strategies this Jaeger serves (rewrite it to change them: Jaeger re-reads
    /// it every `reload_interval` of its config), when it serves any from a file.
    pub fn strategies_file(&self) -> Option<PathBuf> {
        let file = self.dir.path().join("sampling-strategies.json");
        file.exists().then_some(file)
    }

    /// `http://ip:port/sampling` of the remote_sampling extension, as a `jaeger_remote`
    /// sampler's `endpoint=` takes it.
    pub fn sampling_endpoint(&self) -> Option<String> {
        self.ports
            .sampling_http
            .map(|a| format!("http://{a}/sampling"))
    }

    /// `GET /sampling?service=NAME`: the strategy Jaeger serves `service`, as JSON.
    pub async fn sampling_strategy(&self, service: &str) -> Result<Value> {
        let endpoint = self
            .sampling_endpoint()
            .ok_or_else(|| anyhow!("this Jaeger has no remote_sampling HTTP endpoint"))?;
        let url = format!("{endpoint}?service={service}");
        let (status, v) = self.get_json(&url).await?;
        ensure!(status == 200, "GET {url}: {status} {v}");
        Ok(v)
    }

    /// What Jaeger has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("jaeger.log")).unwrap_or_default()
    }

    /// `http://ip:port` of the OTLP/gRPC receiver, as `OTEL_EXPORTER_OTLP_ENDPOINT` takes it.
    pub fn grpc_endpoint(&self) -> String {
        format!("http://{}", self.ports.otlp_grpc)
    }

    /// `http://ip:port` of the OTLP/HTTP receiver (the SDKs append `/v1/traces`).
    pub fn http_endpoint(&self) -> String {
        format!("http://{}", self.ports.otlp_http)
    }

    /// `GET path_and_query` of the query API: the status and the JSON body.
    async fn get(&self, path_and_query: &str) -> Result<(u16, Value)> {
        self.get_json(&format!("http://{}{path_and_query}", self.ports.query_http))
            .await
    }

    /// `GET url`: the status and the JSON body (an error that shows the body when it is not JSON).
    async fn get_json(&self, url: &str) -> Result<(u16, Value)> {
        let r = self.http.get(url).send().await?;
        let status = r.status().as_u16();
        let body = r.bytes().await?;
        let json = serde_json::from_slice(&body).with_context(|| {
            format!(
                "GET {url}: {status}, not JSON: {}",
                String::from_utf8_lossy(&body)
            )
        })?;
        Ok((status, json))
    }

    /// `GET /api/v3/services`.
    pub async fn services(&self) -> Result<Vec<String>> {
        let (status, v) = self.get("/api/v3/services").await?;
        if status != 200 {
            bail!("/api/v3/services: {status} {v}");
        }
        Ok(v["services"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// `GET /api/v3/traces/{id}`: the trace's spans, or `None` while Jaeger has none of it.
    pub async fn trace(&self, trace_id: &str) -> Result<Option<Vec<Span>>> {
        let (status, v) = self.get(&format!("/api/v3/traces/{trace_id}")).await?;
        match status {
            200 => Ok(Some(spans_of(&v)?)),
            404 => Ok(None),
            _ => bail!("/api/v3/traces/{trace_id}: {status} {v}"),
        }
    }

    /// `GET /api/v3/traces?query.service_name=...` over the last hour: every span of every
    /// trace that has a span of `service`.
    pub async fn find_traces(&self, service: &str) -> Result<Vec<Span>> {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
        let rfc3339 = |d: Duration| {
            // Seconds since the epoch as RFC 3339 UTC, without a date library.
            let secs = d.as_secs() as i64;
            let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
            let (y, m, d) = civil_from_days(days);
            format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
                rem / 3600,
                rem / 60 % 60,
                rem % 60
            )
        };
        let q = format!(
            "/api/v3/traces?query.service_name={service}&query.num_traces=100&query.start_time_min={}&query.start_time_max={}",
            rfc3339(now.saturating_sub(Duration::from_secs(3600))),
            rfc3339(now + Duration::from_secs(60)),
        );
        let (status, v) = self.get(&q).await?;
        match status {
            200 => spans_of(&v),
            404 => Ok(Vec::new()),
            _ => bail!("{q}: {status} {v}"),
        }
    }

    /// Waits (at most `timeout`) until trace `trace_id` satisfies `done`, and returns its spans.
    pub async fn wait_for_trace(
        &self,
        trace_id: &str,
        timeout: Duration,
        done: impl Fn(&[Span]) -> bool,
    ) -> Result<Vec<Span>> {
        let start = std::time::Instant::now();
        loop {
            let spans = self.trace(trace_id).await?.unwrap_or_default();
            if done(&spans) {
                return Ok(spans);
            }
            if start.elapsed() > timeout {
                bail!(
                    "timed out after {timeout:?} waiting for trace {trace_id} in Jaeger; it had {:?}",
                    spans
                        .iter()
                        .map(|s| format!("{}:{}", s.service(), s.name))
                        .collect::<Vec<_>>()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Howard Hinnant's days-to-civil-date algorithm (proleptic Gregorian, UTC).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// One span as Jaeger's query API returns it (OTLP JSON), with its resource flattened in.
#[derive(Debug, Clone)]
pub struct Span {
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
    pub name: String,
    /// OTLP's SpanKind number: 1 internal, 2 server, 3 client, 4 producer, 5 consumer.
    pub kind: i64,
    pub attributes: BTreeMap<String, String>,
    pub resource: BTreeMap<String, String>,
}

impl Span {
    pub fn service(&self) -> &str {
        self.res("service.name").unwrap_or("")
    }
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
    pub fn res(&self, key: &str) -> Option<&str> {
        self.resource.get(key).map(String::as_str)
    }
}

pub const SERVER: i64 = 2;
pub const CLIENT: i64 = 3;

/// The spans of a `{"result": {"resourceSpans": [...]}}` answer.
pub fn spans_of(answer: &Value) -> Result<Vec<Span>> {
    let rs = answer["result"]["resourceSpans"]
        .as_array()
        .ok_or_else(|| anyhow!("no result.resourceSpans in {answer}"))?;
    let mut out = Vec::new();
    for r in rs {
        let resource = flatten(&r["resource"]["attributes"]);
        for ss in r["scopeSpans"].as_array().into_iter().flatten() {
            for s in ss["spans"].as_array().into_iter().flatten() {
                let text = |k: &str| s[k].as_str().unwrap_or_default().to_string();
                out.push(Span {
                    trace_id: text("traceId"),
                    span_id: text("spanId"),
                    parent_span_id: text("parentSpanId"),
                    name: text("name"),
                    kind: span_kind(&s["kind"]),
                    attributes: flatten(&s["attributes"]),
                    resource: resource.clone(),
                });
            }
        }
    }
    Ok(out)
}

fn span_kind(v: &Value) -> i64 {
    if let Some(n) = v.as_i64() {
        return n;
    }
    match v.as_str().unwrap_or_default() {
        "SPAN_KIND_INTERNAL" => 1,
        "SPAN_KIND_SERVER" => 2,
        "SPAN_KIND_CLIENT" => 3,
        "SPAN_KIND_PRODUCER" => 4,
        "SPAN_KIND_CONSUMER" => 5,
        _ => 0,
    }
}

fn flatten(attrs: &Value) -> BTreeMap<String, String> {
    attrs
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|kv| {
            let key = kv["key"].as_str()?.to_string();
            let v = &kv["value"];
            let value = if let Some(s) = v["stringValue"].as_str() {
                s.to_string()
            } else if let Some(i) = v.get("intValue") {
                // OTLP JSON writes 64-bit integers as strings.
                i.as_str().map_or_else(|| i.to_string(), String::from)
            } else if let Some(b) = v["boolValue"].as_bool() {
                b.to_string()
            } else if let Some(d) = v["doubleValue"].as_f64() {
                d.to_string()
            } else {
                v.to_string()
            };
            Some((key, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_788), (2026, 12, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn every_endpoint_moves_and_query_ports_are_added() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let ip: IpAddr = "127.0.0.1".parse()?;
        let strategies = deploy_strategies("overlays/staging")?;
        let (out, ports) = rewrite_config(
            &deploy_config("overlays/staging/config-badger.yaml")?,
            ip,
            dir.path(),
            Some(&strategies),
        )?;
        for fixed in [
            ":4317",
            ":4318",
            ":13133",
            ":5778",
            ":5779",
            " /badger/",
            "/etc/jaeger/",
        ] {
            assert!(!out.contains(fixed), "{fixed} left in:\n{out}");
        }
        assert!(out.contains(&ports.query_http.to_string()), "{out}");
        let sampling = ports.sampling_http.expect("remote_sampling's HTTP port");
        assert!(out.contains(&sampling.to_string()), "{out}");
        assert!(ports.sampling_grpc.is_some(), "{out}");
        assert!(out.contains(&dir.path().display().to_string()), "{out}");
        assert!(out.contains("level: none"), "{out}");
        let copy = dir.path().join("sampling-strategies.json");
        assert_eq!(std::fs::read_to_string(copy)?, strategies);
        Ok(())
    }

    #[test]
    fn a_strategies_file_is_required_when_the_config_reads_one() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let err = rewrite_config(
            &deploy_config("base/config-memory.yaml")?,
            "127.0.0.1".parse()?,
            dir.path(),
            None,
        )
        .expect_err("no strategies given");
        assert!(
            format!("{err:#}").contains("start_with_strategies"),
            "{err:#}"
        );
        Ok(())
    }
}

//! Reading and checking each variable: one method per setting, each turning a malformed value
//! into a [`ConfigWarning`] and a fallback.

use super::*;
use otel_inject_lib::resource_attributes::{expand_references, parse as parse_attributes};
use otel_inject_lib::sdk_values::{parse_propagators, parse_ratio};

pub(super) struct Reader<'a> {
    pub(super) lookup: &'a dyn Fn(&str) -> Option<String>,
    pub(super) warnings: Vec<ConfigWarning>,
}

impl Reader<'_> {
    /// The value, trimmed; unset and empty values count as unset (as the specification says).
    pub(super) fn get(&self, var: &str) -> Option<String> {
        (self.lookup)(var)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    pub(super) fn warn(
        &mut self,
        variable: &'static str,
        value: &str,
        problem: impl Into<String>,
        fallback: impl Into<String>,
    ) {
        // One warning per variable: a second problem with the same variable is folded into
        // the first, and the last fallback named is the one that applies.
        if let Some(w) = self.warnings.iter_mut().find(|w| w.variable == variable) {
            // The generic OTLP variables are read once per signal: the same problem once.
            let problem = problem.into();
            if !w.problem.split("; ").any(|p| p == problem) {
                w.problem = format!("{}; {}", w.problem, problem);
            }
            w.fallback = fallback.into();
            return;
        }
        self.warnings.push(ConfigWarning {
            variable,
            value: value.to_string(),
            problem: problem.into(),
            fallback: fallback.into(),
        });
    }

    pub(super) fn bool(&mut self, var: &'static str, default: bool) -> bool {
        let Some(v) = self.get(var) else {
            return default;
        };
        match v.to_ascii_lowercase().as_str() {
            "true" => true,
            "false" => false,
            _ => {
                self.warn(var, &v, "expected true or false", default.to_string());
                default
            }
        }
    }

    /// A per-signal boolean: `None` when unset, or malformed (warned: the generic variable
    /// applies then).
    pub(super) fn signal_bool(&mut self, var: &'static str, generic: &'static str) -> Option<bool> {
        let v = self.get(var)?;
        match v.to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => {
                self.warn(
                    var,
                    &v,
                    "expected true or false",
                    format!("{generic}, else false"),
                );
                None
            }
        }
    }

    /// A TLS file: the per-signal variable wins over the generic one (each variable on its
    /// own, as the specification has it). The file is read when the exporter is built.
    pub(super) fn tls_file(&self, var: &'static str, generic: &'static str) -> Option<TlsFile> {
        [var, generic]
            .into_iter()
            .find_map(|variable| self.get(variable).map(|path| TlsFile { variable, path }))
    }

    /// A client certificate without its key or a key without its certificate: warned under
    /// the variable that is set, naming the one(s) to add.
    fn half_identity(
        &mut self,
        set: &TlsFile,
        missing: &'static str,
        missing_generic: &'static str,
    ) {
        // A generic variable is read for each signal: name only the generic partner, so the
        // three readings fold into one warning.
        let generic = [
            env::OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE,
            env::OTEL_EXPORTER_OTLP_CLIENT_KEY,
        ];
        let problem = if generic.contains(&set.variable) {
            format!("{missing_generic} is not set")
        } else {
            format!("neither {missing} nor {missing_generic} is set")
        };
        self.warn(set.variable, &set.path, problem, "no client certificate");
    }

    pub(super) fn millis(&mut self, var: &'static str, default: Duration) -> Duration {
        let Some(v) = self.get(var) else {
            return default;
        };
        match v.parse::<u64>() {
            Ok(ms) => Duration::from_millis(ms),
            Err(_) => {
                self.warn(
                    var,
                    &v,
                    "expected a whole number of milliseconds",
                    format!("{} ms", default.as_millis()),
                );
                default
            }
        }
    }

    pub(super) fn positive(&mut self, var: &'static str, default: usize) -> usize {
        let Some(v) = self.get(var) else {
            return default;
        };
        match v.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                self.warn(
                    var,
                    &v,
                    "expected a positive whole number",
                    default.to_string(),
                );
                default
            }
        }
    }

    pub(super) fn resource_attributes(
        &mut self,
        defaults: &[(String, String)],
    ) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = defaults.to_vec();
        let Some(raw) = self.get(env::OTEL_RESOURCE_ATTRIBUTES) else {
            return out;
        };
        // Kubernetes expands `$(VAR)` when the referenced variable comes earlier in the
        // container's env; outside Kubernetes (or in a copied env) we do it ourselves.
        let lookup = self.lookup;
        let expanded = expand_references(&raw, |name| lookup(name));
        let (attrs, bad) = parse_attributes(&expanded);
        for b in bad {
            self.warn(
                env::OTEL_RESOURCE_ATTRIBUTES,
                &raw,
                format!("entry {:?} is not of the form key=value", b.entry),
                "the other entries",
            );
        }
        for (k, v) in attrs.iter() {
            if v.contains("$(") {
                self.warn(
                    env::OTEL_RESOURCE_ATTRIBUTES,
                    &raw,
                    format!("{k}={v} references a variable that is not set"),
                    format!("no {k} from this variable"),
                );
                continue;
            }
            out.retain(|(ek, _)| ek != k);
            out.push((k.to_string(), v.to_string()));
        }
        out
    }

    /// `OTEL_<SIGNAL>_EXPORTER`: `otlp`, `console` or `none`; a list keeps its first usable
    /// entry (one exporter per signal).
    pub(super) fn exporter(&mut self, signal: Signal) -> Exporter {
        let var = signal.vars().exporter;
        let Some(v) = self.get(var) else {
            return Exporter::Otlp;
        };
        let items: Vec<String> = v
            .split(',')
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
        let mut chosen = None;
        for item in &items {
            let e = match item.as_str() {
                "otlp" => Exporter::Otlp,
                "console" => Exporter::Console,
                "none" => Exporter::None,
                other => {
                    self.warn(
                        var,
                        &v,
                        format!("{other:?} is not supported; expected otlp, console or none"),
                        "the other entries, else otlp",
                    );
                    continue;
                }
            };
            match chosen {
                None => chosen = Some(e),
                Some(c) if c != e => self.warn(var, &v, "one exporter per signal", c.as_str()),
                Some(_) => {}
            }
        }
        chosen.unwrap_or(Exporter::Otlp)
    }

    pub(super) fn protocol(&mut self, var: &'static str) -> Option<OtlpProtocol> {
        let v = self.get(var)?;
        match v.to_ascii_lowercase().parse::<OtlpProtocol>() {
            Ok(p) => Some(p),
            Err(e) => {
                self.warn(
                    var,
                    &v,
                    format!("expected one of: {}", e.expected.join(", ")),
                    "the next setting (the other protocol variable, else inferred from the endpoint port, else http/protobuf)",
                );
                None
            }
        }
    }

    pub(super) fn otlp(&mut self, sig: Signal, defaults: &CodeDefaults) -> OtlpConfig {
        let vars = sig.vars();
        let protocol_set = match self.protocol(vars.protocol) {
            Some(p) => Some((p, vars.protocol)),
            None => match self.protocol(env::OTEL_EXPORTER_OTLP_PROTOCOL) {
                Some(p) => Some((p, env::OTEL_EXPORTER_OTLP_PROTOCOL)),
                None => defaults.protocol.map(|p| (p, "code")),
            },
        };
        let insecure = match self.signal_bool(vars.insecure, env::OTEL_EXPORTER_OTLP_INSECURE) {
            Some(b) => b,
            None => self.bool(env::OTEL_EXPORTER_OTLP_INSECURE, false),
        };

        let signal = self.get(vars.endpoint);
        let generic = self.get(env::OTEL_EXPORTER_OTLP_ENDPOINT);
        // Which endpoint we have decides the protocol when nothing names one: the operator
        // injects a bare `:4317` endpoint for SDK instrumentation, which only works as gRPC.
        let candidate = signal
            .as_deref()
            .or(generic.as_deref())
            .or(defaults.endpoint.as_deref());
        let (protocol, protocol_source) =
            protocol_set.unwrap_or_else(|| match candidate.and_then(port_of) {
                Some(4317) => (OtlpProtocol::Grpc, "port 4317"),
                _ => (OtlpProtocol::HttpProtobuf, "default"),
            });

        let mut endpoint = None;
        let mut source = "default";
        if let Some(v) = signal {
            if let Some(url) = self.url(vars.endpoint, &v, protocol, insecure) {
                endpoint = Some(url);
                source = vars.endpoint;
            }
        }
        if endpoint.is_none() {
            let base = generic
                .map(|v| (env::OTEL_EXPORTER_OTLP_ENDPOINT, v))
                .or_else(|| defaults.endpoint.clone().map(|v| ("code", v)));
            if let Some((var, v)) = base {
                if let Some(url) = self.url(var, &v, protocol, insecure) {
                    endpoint = Some(signal_url(&url, protocol, sig));
                    source = var;
                }
            }
        }
        let endpoint =
            endpoint.unwrap_or_else(|| signal_url(protocol.default_endpoint(), protocol, sig));

        let headers = self.headers(vars.headers);
        let timeout = {
            let t = if self.get(vars.timeout).is_some() {
                self.millis(vars.timeout, DEFAULT_OTLP_TIMEOUT)
            } else {
                self.millis(env::OTEL_EXPORTER_OTLP_TIMEOUT, DEFAULT_OTLP_TIMEOUT)
            };
            if t.is_zero() {
                DEFAULT_OTLP_TIMEOUT
            } else {
                t
            }
        };
        let compression = self
            .compression(vars.compression)
            .or_else(|| self.compression(env::OTEL_EXPORTER_OTLP_COMPRESSION))
            .unwrap_or(Compression::None);

        let ca_file = self.tls_file(vars.certificate, env::OTEL_EXPORTER_OTLP_CERTIFICATE);
        let cert = self.tls_file(
            vars.client_certificate,
            env::OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE,
        );
        let key = self.tls_file(vars.client_key, env::OTEL_EXPORTER_OTLP_CLIENT_KEY);
        let client_identity = match (cert, key) {
            (Some(c), Some(k)) => Some((c, k)),
            (Some(set), None) => {
                self.half_identity(&set, vars.client_key, env::OTEL_EXPORTER_OTLP_CLIENT_KEY);
                None
            }
            (None, Some(set)) => {
                self.half_identity(
                    &set,
                    vars.client_certificate,
                    env::OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE,
                );
                None
            }
            (None, None) => None,
        };

        OtlpConfig {
            protocol,
            endpoint,
            endpoint_source: source,
            protocol_source,
            headers,
            timeout,
            compression,
            ca_file,
            client_identity,
            insecure,
        }
    }

    /// Validates an endpoint URL; a schemeless gRPC endpoint gets `http://` when insecure,
    /// `https://` otherwise (the specification's rule).
    pub(super) fn url(
        &mut self,
        var: &'static str,
        v: &str,
        protocol: OtlpProtocol,
        insecure: bool,
    ) -> Option<String> {
        let with_scheme = if v.starts_with("http://") || v.starts_with("https://") {
            v.to_string()
        } else if v.contains("://") {
            self.warn(
                var,
                v,
                "the scheme must be http or https",
                "the next endpoint setting or the default",
            );
            return None;
        } else if protocol == OtlpProtocol::Grpc {
            format!("{}://{v}", if insecure { "http" } else { "https" })
        } else {
            self.warn(
                var,
                v,
                "an HTTP endpoint needs a scheme (http:// or https://)",
                format!("http://{v}"),
            );
            format!("http://{v}")
        };
        match with_scheme.parse::<http::Uri>() {
            Ok(uri) if uri.host().is_some_and(|h| !h.is_empty()) => Some(with_scheme),
            _ => {
                self.warn(
                    var,
                    v,
                    "not a valid URL",
                    "the next endpoint setting or the default",
                );
                None
            }
        }
    }

    pub(super) fn headers(&mut self, signal_var: &'static str) -> Vec<(String, String)> {
        let (var, raw) = match self.get(signal_var) {
            Some(v) => (signal_var, v),
            None => match self.get(env::OTEL_EXPORTER_OTLP_HEADERS) {
                Some(v) => (env::OTEL_EXPORTER_OTLP_HEADERS, v),
                None => return Vec::new(),
            },
        };
        // Same grammar as OTEL_RESOURCE_ATTRIBUTES: k=v pairs, values percent-decoded.
        let (pairs, bad) = parse_attributes(&raw);
        for b in bad {
            self.warn(
                var,
                &redact_headers(&raw),
                format!(
                    "entry {:?} is not of the form key=value",
                    redact_entry(&b.entry)
                ),
                "the other headers",
            );
        }
        let mut out = Vec::new();
        for (k, v) in pairs.iter() {
            let name_ok = http::HeaderName::from_bytes(k.to_ascii_lowercase().as_bytes()).is_ok();
            let value_ok = http::HeaderValue::from_str(v).is_ok();
            if name_ok && value_ok {
                out.push((k.to_ascii_lowercase(), v.to_string()));
            } else {
                self.warn(
                    var,
                    &redact_headers(&raw),
                    format!("header {k:?} is not a valid HTTP header"),
                    "the other headers",
                );
            }
        }
        out
    }

    pub(super) fn compression(&mut self, var: &'static str) -> Option<Compression> {
        let v = self.get(var)?;
        match v.to_ascii_lowercase().as_str() {
            "gzip" => Some(Compression::Gzip),
            "none" => Some(Compression::None),
            _ => {
                self.warn(var, &v, "expected gzip or none", "no compression");
                Some(Compression::None)
            }
        }
    }

    pub(super) fn sampler(&mut self) -> SamplerConfig {
        let default_kind = SamplerKind::ParentBasedAlwaysOn;
        let kind = match self.get(env::OTEL_TRACES_SAMPLER) {
            None => default_kind,
            Some(v) => match v.to_ascii_lowercase().parse::<SamplerKind>() {
                Ok(k @ SamplerKind::XRay) => {
                    self.warn(
                        env::OTEL_TRACES_SAMPLER,
                        &v,
                        format!("{k} is not implemented by this SDK"),
                        "parentbased_always_on",
                    );
                    default_kind
                }
                Ok(k) => k,
                Err(e) => {
                    self.warn(
                        env::OTEL_TRACES_SAMPLER,
                        &v,
                        format!("expected one of: {}", e.expected.join(", ")),
                        "parentbased_always_on",
                    );
                    default_kind
                }
            },
        };
        let mut ratio = 1.0;
        if kind.takes_ratio() {
            if let Some(arg) = self.get(env::OTEL_TRACES_SAMPLER_ARG) {
                match parse_ratio(&arg) {
                    Some(r) => ratio = r,
                    None => self.warn(
                        env::OTEL_TRACES_SAMPLER_ARG,
                        &arg,
                        "expected a number between 0 and 1",
                        "1.0",
                    ),
                }
            }
        }
        let remote = matches!(
            kind,
            SamplerKind::JaegerRemote | SamplerKind::ParentBasedJaegerRemote
        )
        .then(|| self.remote_sampler());
        SamplerConfig {
            kind,
            ratio,
            remote,
        }
    }

    /// `endpoint=...,pollingIntervalMs=...,initialSamplingRate=...`, each optional.
    fn remote_sampler(&mut self) -> RemoteSamplerConfig {
        let var = env::OTEL_TRACES_SAMPLER_ARG;
        let mut c = RemoteSamplerConfig::default();
        let Some(arg) = self.get(var) else {
            return c;
        };
        for entry in arg.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let Some((k, v)) = entry.split_once('=') else {
                self.warn(
                    var,
                    &arg,
                    format!("entry {entry:?} is not of the form key=value"),
                    "the other entries",
                );
                continue;
            };
            let (k, v) = (k.trim(), v.trim());
            match k {
                "endpoint" => match v.parse::<http::Uri>() {
                    Ok(u) if u.scheme().is_some() && u.host().is_some() => c.endpoint = v.into(),
                    _ => self.warn(
                        var,
                        &arg,
                        format!("endpoint {v:?} is not a URL"),
                        format!("endpoint={}", c.endpoint),
                    ),
                },
                "pollingIntervalMs" => match v.parse::<u64>() {
                    Ok(ms) if ms > 0 => c.polling_interval = Duration::from_millis(ms),
                    _ => self.warn(
                        var,
                        &arg,
                        format!("pollingIntervalMs {v:?} is not a positive whole number"),
                        format!("pollingIntervalMs={}", c.polling_interval.as_millis()),
                    ),
                },
                "initialSamplingRate" => match parse_ratio(v) {
                    Some(r) => c.initial_sampling_rate = r,
                    None => self.warn(
                        var,
                        &arg,
                        format!("initialSamplingRate {v:?} is not a number between 0 and 1"),
                        format!("initialSamplingRate={}", c.initial_sampling_rate),
                    ),
                },
                other => self.warn(
                    var,
                    &arg,
                    format!(
                        "{other:?} is not a jaeger_remote setting (endpoint, pollingIntervalMs, initialSamplingRate)"
                    ),
                    "the other entries",
                ),
            }
        }
        c
    }

    pub(super) fn propagators(&mut self) -> Vec<Propagator> {
        let default = vec![Propagator::TraceContext, Propagator::Baggage];
        let Some(v) = self.get(env::OTEL_PROPAGATORS) else {
            return default;
        };
        let (list, bad) = parse_propagators(&v.to_ascii_lowercase());
        for e in &bad {
            self.warn(
                env::OTEL_PROPAGATORS,
                &v,
                format!(
                    "{:?} is not a propagator; expected one of: {}",
                    e.value,
                    e.expected.join(", ")
                ),
                "the other propagators",
            );
        }
        let mut out = Vec::new();
        for p in list {
            match p {
                Propagator::XRay | Propagator::OtTrace => self.warn(
                    env::OTEL_PROPAGATORS,
                    &v,
                    format!("{p} is not implemented by this SDK"),
                    "the other propagators",
                ),
                Propagator::None => {}
                p => out.push(p),
            }
        }
        let has_none = v.split(',').any(|s| s.trim().eq_ignore_ascii_case("none"));
        if has_none {
            if !out.is_empty() {
                self.warn(
                    env::OTEL_PROPAGATORS,
                    &v,
                    "none cannot be combined with other propagators",
                    "none",
                );
            }
            return Vec::new();
        }
        if out.is_empty() {
            self.warn(
                env::OTEL_PROPAGATORS,
                &v,
                "no usable propagator",
                "tracecontext,baggage",
            );
            return default;
        }
        out
    }

    pub(super) fn batch(&mut self) -> BatchConfig {
        self.batch_with(
            [
                env::OTEL_BSP_SCHEDULE_DELAY,
                env::OTEL_BSP_EXPORT_TIMEOUT,
                env::OTEL_BSP_MAX_QUEUE_SIZE,
                env::OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
            ],
            BatchConfig::default(),
        )
    }

    /// `OTEL_BLRP_*`: the specification's defaults differ from the span processor's only in
    /// the delay (1 s).
    pub(super) fn log_batch(&mut self) -> BatchConfig {
        self.batch_with(
            [
                vars::OTEL_BLRP_SCHEDULE_DELAY,
                vars::OTEL_BLRP_EXPORT_TIMEOUT,
                vars::OTEL_BLRP_MAX_QUEUE_SIZE,
                vars::OTEL_BLRP_MAX_EXPORT_BATCH_SIZE,
            ],
            BatchConfig {
                schedule_delay: Duration::from_millis(1000),
                ..BatchConfig::default()
            },
        )
    }

    pub(super) fn metrics(&mut self) -> MetricsConfig {
        let d = MetricsConfig::default();
        let interval = self.millis(vars::OTEL_METRIC_EXPORT_INTERVAL, d.interval);
        let interval = if interval.is_zero() {
            self.warn(
                vars::OTEL_METRIC_EXPORT_INTERVAL,
                "0",
                "must be positive",
                format!("{} ms", d.interval.as_millis()),
            );
            d.interval
        } else {
            interval
        };
        let timeout = self.millis(vars::OTEL_METRIC_EXPORT_TIMEOUT, d.timeout);
        let var = vars::OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE;
        let temporality = match self.get(var) {
            None => d.temporality,
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "cumulative" => TemporalityPreference::Cumulative,
                "delta" => TemporalityPreference::Delta,
                "lowmemory" => TemporalityPreference::LowMemory,
                _ => {
                    self.warn(
                        var,
                        &v,
                        "expected cumulative, delta or lowmemory",
                        "cumulative",
                    );
                    d.temporality
                }
            },
        };
        MetricsConfig {
            interval,
            timeout,
            temporality,
        }
    }

    fn batch_with(&mut self, names: [&'static str; 4], d: BatchConfig) -> BatchConfig {
        let [delay_var, timeout_var, queue_var, batch_var] = names;
        let schedule_delay = self.millis(delay_var, d.schedule_delay);
        let export_timeout = self.millis(timeout_var, d.export_timeout);
        let max_queue_size = self.positive(queue_var, d.max_queue_size);
        let mut max_export_batch_size =
            self.positive(batch_var, d.max_export_batch_size.min(max_queue_size));
        if max_export_batch_size > max_queue_size {
            self.warn(
                batch_var,
                &max_export_batch_size.to_string(),
                format!("larger than {queue_var}={max_queue_size}"),
                max_queue_size.to_string(),
            );
            max_export_batch_size = max_queue_size;
        }
        BatchConfig {
            schedule_delay,
            export_timeout,
            max_queue_size,
            max_export_batch_size,
        }
    }

    pub(super) fn parent(&mut self) -> ParentEnv {
        let mut p = ParentEnv::default();
        if let Some(tp) = self.get(env::TRACEPARENT) {
            if is_valid_traceparent(&tp) {
                p.traceparent = Some(tp);
                p.tracestate = self.get(env::TRACESTATE);
            } else {
                self.warn(
                    env::TRACEPARENT,
                    &tp,
                    "expected a W3C traceparent: 00-<32 hex trace id>-<16 hex span id>-<2 hex flags>, ids not all zero",
                    "no parent (root spans start new traces)",
                );
            }
        }
        p.baggage = self.get(env::BAGGAGE);
        p
    }

    pub(super) fn log_format(&mut self, default: Option<LogFormat>) -> LogFormat {
        let default = default.unwrap_or_default();
        let Some(v) = self.get(OTEL_INJECT_LOG_FORMAT) else {
            return default;
        };
        match v.to_ascii_lowercase().as_str() {
            "json" => LogFormat::Json,
            "text" | "human" | "pretty" => LogFormat::Text,
            _ => {
                self.warn(
                    OTEL_INJECT_LOG_FORMAT,
                    &v,
                    "expected text or json",
                    if default == LogFormat::Json {
                        "json"
                    } else {
                        "text"
                    },
                );
                default
            }
        }
    }
}

/// Appends the signal's path to a base endpoint for HTTP; gRPC endpoints are used as they are.
fn signal_url(base: &str, protocol: OtlpProtocol, signal: Signal) -> String {
    match protocol {
        OtlpProtocol::Grpc => base.to_string(),
        _ => format!("{}{}", base.trim_end_matches('/'), signal.http_path()),
    }
}

/// The port of an endpoint URL, if it names one.
pub fn port_of(endpoint: &str) -> Option<u16> {
    let rest = endpoint.split_once("://").map_or(endpoint, |(_, r)| r);
    let authority = rest.split('/').next()?;
    let (_, port) = authority.rsplit_once(':')?;
    port.parse().ok()
}

/// Whether `v` is a W3C `traceparent` this SDK accepts: version `00` exactly four fields,
/// a higher version at least four; lowercase hex; ids not all zero.
pub fn is_valid_traceparent(v: &str) -> bool {
    let parts: Vec<&str> = v.split('-').collect();
    if parts.len() < 4 {
        return false;
    }
    let hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let (ver, tid, sid, flags) = (parts[0], parts[1], parts[2], parts[3]);
    hex(ver, 2)
        && ver != "ff"
        && (ver != "00" || parts.len() == 4)
        && hex(tid, 32)
        && tid.bytes().any(|b| b != b'0')
        && hex(sid, 16)
        && sid.bytes().any(|b| b != b'0')
        && hex(flags, 2)
}

/// Header values can hold credentials: only the keys are ever shown.
fn redact_headers(raw: &str) -> String {
    raw.split(',')
        .map(redact_entry)
        .collect::<Vec<_>>()
        .join(",")
}

fn redact_entry(entry: &str) -> String {
    match entry.split_once('=') {
        Some((k, _)) => format!("{k}=***"),
        None => entry.to_string(),
    }
}

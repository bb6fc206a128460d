//! The OTLP exporters of the three signals, built from [`OtlpConfig`] so that nothing depends
//! on the caller's async runtime: HTTP uses a blocking client (driven by the batch processor's
//! or metric reader's own thread), gRPC runs on a small runtime this SDK owns. Both honour the
//! TLS variables (CA, client certificate and key) that upstream opentelemetry-otlp ignores.
//! Every export error names the signal, endpoint and protocol, with a hint for the usual
//! mix-ups (gRPC against an OTLP/HTTP port and back, a collector without that signal).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_otlp::{WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use otel_inject_lib::sdk_values::OtlpProtocol;

use crate::config::{port_of, Compression, OtlpConfig, Signal, TemporalityPreference, TlsFile};

/// Why the exporter could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExporterError {
    /// A TLS file named by a variable could not be read or parsed.
    #[error("{variable}={path:?}: {problem}; set it to a readable PEM file or unset it")]
    TlsFile {
        /// The variable.
        variable: &'static str,
        /// The path.
        path: String,
        /// What went wrong.
        problem: String,
    },
    /// The HTTP client or gRPC channel could not be built.
    #[error("cannot build the OTLP {protocol} exporter for {endpoint}: {problem}")]
    Build {
        /// The protocol.
        protocol: OtlpProtocol,
        /// The endpoint.
        endpoint: String,
        /// What went wrong.
        problem: String,
    },
}

/// An OTLP exporter of one signal: the upstream exporter `E`, run on the SDK's gRPC runtime
/// when the protocol is gRPC.
#[derive(Debug)]
pub struct Otlp<E> {
    inner: E,
    grpc: Option<GrpcRuntime>,
    /// Why the last HTTP send failed (HTTP only).
    http_cause: Option<LastCause>,
    signal: Signal,
    protocol: OtlpProtocol,
    endpoint: String,
}

/// The span exporter.
pub type OtlpSpanExporter = Otlp<opentelemetry_otlp::SpanExporter>;
/// The metric exporter.
pub type OtlpMetricExporter = Otlp<opentelemetry_otlp::MetricExporter>;
/// The log exporter.
pub type OtlpLogExporter = Otlp<opentelemetry_otlp::LogExporter>;

impl OtlpSpanExporter {
    /// Builds the span exporter for `config`.
    pub fn build(config: &OtlpConfig) -> Result<Self, ExporterError> {
        let transport = Transport::build(config)?;
        let inner = match &transport {
            Transport::Http(client) => {
                let b = opentelemetry_otlp::SpanExporter::builder()
                    .with_http()
                    .with_http_client(client.clone());
                http_settings(b, config).build()
            }
            Transport::Grpc(rt, channel) => {
                let _enter = rt.handle.enter();
                let b = opentelemetry_otlp::SpanExporter::builder()
                    .with_tonic()
                    .with_channel(channel.clone());
                grpc_settings(b, config).build()
            }
        }
        .map_err(|e| build_err(config, e))?;
        Ok(Otlp::new(inner, transport, config, Signal::Traces))
    }
}

impl OtlpMetricExporter {
    /// Builds the metric exporter for `config`, asking for `temporality`.
    pub fn build(
        config: &OtlpConfig,
        temporality: TemporalityPreference,
    ) -> Result<Self, ExporterError> {
        let temporality = sdk_temporality(temporality);
        let transport = Transport::build(config)?;
        let inner = match &transport {
            Transport::Http(client) => {
                let b = opentelemetry_otlp::MetricExporter::builder()
                    .with_http()
                    .with_http_client(client.clone())
                    .with_temporality(temporality);
                http_settings(b, config).build()
            }
            Transport::Grpc(rt, channel) => {
                let _enter = rt.handle.enter();
                let b = opentelemetry_otlp::MetricExporter::builder()
                    .with_tonic()
                    .with_channel(channel.clone())
                    .with_temporality(temporality);
                grpc_settings(b, config).build()
            }
        }
        .map_err(|e| build_err(config, e))?;
        Ok(Otlp::new(inner, transport, config, Signal::Metrics))
    }
}

impl OtlpLogExporter {
    /// Builds the log exporter for `config`.
    pub fn build(config: &OtlpConfig) -> Result<Self, ExporterError> {
        let transport = Transport::build(config)?;
        let inner = match &transport {
            Transport::Http(client) => {
                let b = opentelemetry_otlp::LogExporter::builder()
                    .with_http()
                    .with_http_client(client.clone());
                http_settings(b, config).build()
            }
            Transport::Grpc(rt, channel) => {
                let _enter = rt.handle.enter();
                let b = opentelemetry_otlp::LogExporter::builder()
                    .with_tonic()
                    .with_channel(channel.clone());
                grpc_settings(b, config).build()
            }
        }
        .map_err(|e| build_err(config, e))?;
        Ok(Otlp::new(inner, transport, config, Signal::Logs))
    }
}

/// The SDK's temporality for a preference.
pub fn sdk_temporality(t: TemporalityPreference) -> Temporality {
    match t {
        TemporalityPreference::Cumulative => Temporality::Cumulative,
        TemporalityPreference::Delta => Temporality::Delta,
        TemporalityPreference::LowMemory => Temporality::LowMemory,
    }
}

impl<E> Otlp<E> {
    fn new(inner: E, transport: Transport, config: &OtlpConfig, signal: Signal) -> Self {
        Self {
            inner,
            http_cause: match &transport {
                Transport::Http(client) => Some(client.last_cause.clone()),
                Transport::Grpc(..) => None,
            },
            grpc: match transport {
                Transport::Grpc(rt, _) => Some(rt),
                Transport::Http(_) => None,
            },
            signal,
            protocol: config.protocol,
            endpoint: config.endpoint.clone(),
        }
    }

    /// Runs an export future: on the SDK's runtime for gRPC (its I/O and timers are driven by
    /// the runtime's thread), as it is for HTTP (a blocking client).
    fn run<F: std::future::Future<Output = OTelSdkResult> + Send>(&self, fut: F) -> OTelSdkResult {
        let result = match &self.grpc {
            None => futures_block_on(fut),
            Some(rt) => {
                if tokio::runtime::Handle::try_current().is_ok() {
                    // Handle::block_on refuses to run inside a runtime: use a plain thread.
                    std::thread::scope(|s| {
                        s.spawn(|| rt.handle.block_on(fut))
                            .join()
                            .unwrap_or_else(|_| {
                                Err(OTelSdkError::InternalFailure("the export panicked".into()))
                            })
                    })
                } else {
                    rt.handle.block_on(fut)
                }
            }
        };
        result.map_err(|e| match e {
            OTelSdkError::AlreadyShutdown => e,
            other => {
                let mut error = other.to_string();
                if let Some(cause) = self.http_cause.as_ref().and_then(LastCause::take) {
                    error = format!("{error}: {cause}");
                }
                OTelSdkError::InternalFailure(describe_export_error(
                    self.signal,
                    self.protocol,
                    &self.endpoint,
                    &error,
                ))
            }
        })
    }
}

/// Polls a future to completion on this thread (the HTTP exporters' futures do blocking I/O
/// and never wait on a waker).
fn futures_block_on<F: std::future::Future>(fut: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct ThreadWaker(std::thread::Thread);
    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(v) => return v,
            Poll::Pending => std::thread::park(),
        }
    }
}

/// What an export failure says: the signal, the endpoint and the protocol, then the error and,
/// for the usual mistakes, what to change.
pub fn describe_export_error(
    signal: Signal,
    protocol: OtlpProtocol,
    endpoint: &str,
    error: &str,
) -> String {
    let mut s = format!("OTLP {signal} export to {endpoint} over {protocol} failed: {error}");
    if let Some(hint) = export_hint(signal, protocol, endpoint, error) {
        s.push_str("; ");
        s.push_str(&hint);
    }
    s
}

fn export_hint(
    signal: Signal,
    protocol: OtlpProtocol,
    endpoint: &str,
    error: &str,
) -> Option<String> {
    let e = error.to_ascii_lowercase();
    let port = port_of(endpoint);
    let grpc = protocol == OtlpProtocol::Grpc;
    if !grpc && port == Some(4317) {
        return Some(
            "4317 is the OTLP/gRPC port: set OTEL_EXPORTER_OTLP_PROTOCOL=grpc, or use the collector's OTLP/HTTP port (4318)".into(),
        );
    }
    if grpc && port == Some(4318) {
        return Some(
            "4318 is the OTLP/HTTP port: set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf, or use the collector's OTLP/gRPC port (4317)".into(),
        );
    }
    let not_grpc = [
        "frame with invalid size",
        "invalid http version",
        "h2 protocol error",
        "http2 error",
        "broken pipe",
        "connection reset",
    ];
    if grpc && not_grpc.iter().any(|m| e.contains(m)) {
        return Some(format!(
            "the collector does not answer as OTLP/gRPC; if {endpoint} is an OTLP/HTTP endpoint, set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"
        ));
    }
    let untrusted = [
        "unknownissuer",
        "invalid peer certificate",
        "certificate verify failed",
        "self-signed certificate",
    ];
    if untrusted.iter().any(|m| e.contains(m)) {
        let var = signal.vars().certificate;
        return Some(format!(
            "the collector's certificate is not trusted: set {var} (or OTEL_EXPORTER_OTLP_CERTIFICATE) to the PEM file of the CA that signs it"
        ));
    }
    let no_such_signal =
        e.contains("unimplemented") || e.contains("404") || e.contains("not found");
    if no_such_signal {
        let var = signal.vars().exporter;
        return Some(format!(
            "the collector does not take {signal}: give it a {signal} pipeline, or set {var}=none"
        ));
    }
    if e.contains("connection refused") || e.contains("tcp connect error") || e.contains("dns") {
        return Some(format!(
            "nothing answers at {endpoint}: check OTEL_EXPORTER_OTLP_ENDPOINT and that the collector runs"
        ));
    }
    None
}

impl SpanExporter for OtlpSpanExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.run(self.inner.export(batch))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let r = self.inner.shutdown_with_timeout(timeout);
        if let Some(rt) = &self.grpc {
            rt.stop();
        }
        r
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

impl PushMetricExporter for OtlpMetricExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        self.run(self.inner.export(metrics))
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let r = self.inner.shutdown_with_timeout(timeout);
        if let Some(rt) = &self.grpc {
            rt.stop();
        }
        r
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

impl LogExporter for OtlpLogExporter {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        self.run(self.inner.export(batch))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let r = self.inner.shutdown_with_timeout(timeout);
        if let Some(rt) = &self.grpc {
            rt.stop();
        }
        r
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

struct Pem {
    ca: Option<Vec<u8>>,
    identity: Option<(Vec<u8>, Vec<u8>)>,
}

fn read_pem(file: &TlsFile) -> Result<Vec<u8>, ExporterError> {
    let fail = |problem: String| ExporterError::TlsFile {
        variable: file.variable,
        path: file.path.clone(),
        problem,
    };
    let bytes = std::fs::read(&file.path).map_err(|e| fail(e.to_string()))?;
    if !String::from_utf8_lossy(&bytes).contains("-----BEGIN ") {
        return Err(fail("no PEM block (-----BEGIN ...) in the file".into()));
    }
    Ok(bytes)
}

fn read_tls(config: &OtlpConfig) -> Result<Pem, ExporterError> {
    let ca = config.ca_file.as_ref().map(read_pem).transpose()?;
    let identity = match &config.client_identity {
        Some((cert, key)) => Some((read_pem(cert)?, read_pem(key)?)),
        None => None,
    };
    Ok(Pem { ca, identity })
}

fn build_err(config: &OtlpConfig, problem: impl ToString) -> ExporterError {
    ExporterError::Build {
        protocol: config.protocol,
        endpoint: config.endpoint.clone(),
        problem: problem.to_string(),
    }
}

/// Why the last send of an [`HttpClientWithCause`] failed.
#[derive(Debug, Clone, Default)]
struct LastCause(Arc<Mutex<Option<String>>>);

impl LastCause {
    fn set(&self, cause: String) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(cause);
        }
    }
    fn take(&self) -> Option<String> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// reqwest's blocking client, keeping the whole error chain of a failed send (the OTLP
/// exporter turns every send error into "network error", which hides an untrusted certificate,
/// a refused connection or a timeout).
#[derive(Debug, Clone)]
struct HttpClientWithCause {
    client: reqwest::blocking::Client,
    last_cause: LastCause,
}

impl opentelemetry_http::HttpClient for HttpClientWithCause {
    fn send_bytes<'life0, 'async_trait>(
        &'life0 self,
        request: opentelemetry_http::Request<opentelemetry_http::Bytes>,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<
                    Output = Result<
                        opentelemetry_http::Response<opentelemetry_http::Bytes>,
                        opentelemetry_http::HttpError,
                    >,
                > + Send
                + 'async_trait,
        >,
    >
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let result = self.client.send_bytes(request).await;
            if let Err(e) = &result {
                self.last_cause.set(error_chain(e.as_ref()));
            }
            result
        })
    }
}

/// An error and its sources, `: `-separated, each said once (reqwest repeats its source).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

enum Transport {
    Http(HttpClientWithCause),
    Grpc(GrpcRuntime, tonic::transport::Channel),
}

impl Transport {
    fn build(config: &OtlpConfig) -> Result<Self, ExporterError> {
        match config.protocol {
            OtlpProtocol::Grpc => {
                let rt = GrpcRuntime::start(config)?;
                let channel = grpc_channel(config, &rt)?;
                Ok(Self::Grpc(rt, channel))
            }
            OtlpProtocol::HttpProtobuf | OtlpProtocol::HttpJson => {
                http_client(config).map(|client| {
                    Self::Http(HttpClientWithCause {
                        client,
                        last_cause: LastCause::default(),
                    })
                })
            }
        }
    }
}

fn http_client(config: &OtlpConfig) -> Result<reqwest::blocking::Client, ExporterError> {
    let pem = read_tls(config)?;
    let timeout = config.timeout;
    let ca_var = config
        .ca_file
        .as_ref()
        .map(|f| f.variable)
        .unwrap_or_default();
    let identity_vars = config
        .client_identity
        .as_ref()
        .map(|(c, k)| format!("{} / {}", c.variable, k.variable))
        .unwrap_or_default();
    // reqwest's blocking client owns a runtime; building (and later dropping) it on a plain
    // thread keeps it away from any runtime the caller is in.
    std::thread::Builder::new()
        .name("otel-inject-http-client".into())
        .spawn(move || -> Result<reqwest::blocking::Client, String> {
            let mut b = reqwest::blocking::Client::builder().timeout(timeout);
            if let Some(ca) = &pem.ca {
                for cert in reqwest::Certificate::from_pem_bundle(ca)
                    .map_err(|e| format!("{ca_var}: {e}"))?
                {
                    b = b.add_root_certificate(cert);
                }
            }
            if let Some((cert, key)) = &pem.identity {
                let mut both = cert.clone();
                both.push(b'\n');
                both.extend_from_slice(key);
                let id = reqwest::Identity::from_pem(&both)
                    .map_err(|e| format!("{identity_vars}: {e}"))?;
                b = b.identity(id);
            }
            b.build().map_err(|e| e.to_string())
        })
        .map_err(|e| build_err(config, e))?
        .join()
        .map_err(|_| build_err(config, "the thread building the HTTP client panicked"))?
        .map_err(|e| build_err(config, e))
}

fn http_settings<B>(builder: B, config: &OtlpConfig) -> B
where
    B: WithExportConfig + WithHttpConfig,
{
    let protocol = match config.protocol {
        OtlpProtocol::HttpJson => opentelemetry_otlp::Protocol::HttpJson,
        _ => opentelemetry_otlp::Protocol::HttpBinary,
    };
    let mut builder = builder
        .with_protocol(protocol)
        .with_endpoint(config.endpoint.clone())
        .with_timeout(config.timeout)
        .with_headers(config.headers.iter().cloned().collect::<HashMap<_, _>>());
    if config.compression == Compression::Gzip {
        builder = builder.with_compression(opentelemetry_otlp::Compression::Gzip);
    }
    builder
}

fn grpc_settings<B>(builder: B, config: &OtlpConfig) -> B
where
    B: WithExportConfig + WithTonicConfig,
{
    let mut metadata = tonic::metadata::MetadataMap::new();
    for (k, v) in &config.headers {
        if let (Ok(k), Ok(v)) = (
            tonic::metadata::MetadataKey::from_bytes(k.as_bytes()),
            v.parse::<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>(),
        ) {
            metadata.insert(k, v);
        }
    }
    let mut builder = builder.with_timeout(config.timeout).with_metadata(metadata);
    if config.compression == Compression::Gzip {
        builder = builder.with_compression(opentelemetry_otlp::Compression::Gzip);
    }
    builder
}

fn grpc_channel(
    config: &OtlpConfig,
    rt: &GrpcRuntime,
) -> Result<tonic::transport::Channel, ExporterError> {
    let pem = read_tls(config)?;
    let _enter = rt.handle.enter();
    let mut endpoint = tonic::transport::Endpoint::from_shared(config.endpoint.clone())
        .map_err(|e| build_err(config, e))?
        .timeout(config.timeout)
        .connect_timeout(config.timeout);
    if config.uses_tls() {
        let mut tls = tonic::transport::ClientTlsConfig::new().with_native_roots();
        if let Some(ca) = &pem.ca {
            tls = tls.ca_certificate(tonic::transport::Certificate::from_pem(ca));
        }
        if let Some((cert, key)) = &pem.identity {
            tls = tls.identity(tonic::transport::Identity::from_pem(cert, key));
        }
        endpoint = endpoint.tls_config(tls).map_err(|e| build_err(config, e))?;
    }
    Ok(endpoint.connect_lazy())
}

/// A current-thread tokio runtime owned by the SDK (thread `otel-inject-grpc`), so gRPC exports
/// work whatever runtime the caller uses, or none. It stops when the exporter shuts down or
/// goes.
#[derive(Debug)]
pub struct GrpcRuntime {
    handle: tokio::runtime::Handle,
    stop: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
}

impl GrpcRuntime {
    fn start(config: &OtlpConfig) -> Result<Self, ExporterError> {
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("otel-inject-grpc".into())
            .spawn(move || {
                // The exporter's own HTTP/2 machinery must not produce spans or log records
                // that it would then export.
                let _quiet =
                    tracing::subscriber::set_default(tracing::subscriber::NoSubscriber::default());
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = handle_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let _ = handle_tx.send(Ok(rt.handle().clone()));
                rt.block_on(async {
                    let _ = stop_rx.await;
                });
            })
            .map_err(|e| build_err(config, e))?;
        let handle = handle_rx
            .recv()
            .map_err(|e| build_err(config, e))?
            .map_err(|e| build_err(config, e))?;
        Ok(Self {
            handle,
            stop: Mutex::new(Some(stop_tx)),
        })
    }

    fn stop(&self) {
        if let Ok(mut stop) = self.stop.lock() {
            if let Some(tx) = stop.take() {
                let _ = tx.send(());
            }
        }
    }
}

impl Drop for GrpcRuntime {
    fn drop(&mut self) {
        self.stop();
    }
}

//! The exporter certificate variables the webhook injects for `spec.exporter.tls`
//! (`OTEL_EXPORTER_OTLP_CERTIFICATE`, `_CLIENT_CERTIFICATE`, `_CLIENT_KEY`), which the upstream
//! exporters ignore, end to end: an OTLP receiver that serves a certificate from a private CA
//! and requires a client certificate from it (mTLS), over gRPC and over HTTP. Spans arrive with
//! the variables set, and do not arrive without the client certificate.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

#[path = "support/receiver.rs"]
mod receiver;
#[path = "support/serial.rs"]
mod serial;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceServiceServer;
use otel_inject_sdk::Telemetry;
use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};
use receiver::{http_export, Grpc, Store};
use rstest::rstest;

/// A private CA, a server certificate for localhost/127.0.0.1 and a client certificate, as PEM
/// files (the way a Secret mounted by the webhook's TLS volumes would hold them).
struct Pki {
    dir: tempfile::TempDir,
    ca_pem: String,
    server_pem: String,
    server_key: String,
}

impl Pki {
    fn new() -> Self {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);

        let server_key = KeyPair::generate().unwrap();
        let mut server =
            CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = server.signed_by(&server_key, &issuer).unwrap();

        let client_key = KeyPair::generate().unwrap();
        let mut client = CertificateParams::new(vec!["otel-inject-test-client".into()]).unwrap();
        client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_cert = client.signed_by(&client_key, &issuer).unwrap();

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.crt"), ca_cert.pem()).unwrap();
        std::fs::write(dir.path().join("tls.crt"), client_cert.pem()).unwrap();
        std::fs::write(dir.path().join("tls.key"), client_key.serialize_pem()).unwrap();
        Self {
            dir,
            ca_pem: ca_cert.pem(),
            server_pem: server_cert.pem(),
            server_key: server_key.serialize_pem(),
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// A receiver that requires TLS with a client certificate signed by `pki`'s CA.
struct MtlsReceiver {
    store: Store,
    addr: SocketAddr,
    _runtime: tokio::runtime::Runtime,
}

fn client_verifier(ca_pem: &str) -> Arc<dyn rustls::server::danger::ClientCertVerifier> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        Arc::new(rustls::crypto::ring::default_provider()),
    )
    .build()
    .unwrap()
}

/// The receivers' TLS: the server certificate from the private CA, a client certificate from
/// it required.
fn mtls_server_config(pki: &Pki, alpn: &[&[u8]]) -> rustls::ServerConfig {
    use rustls::pki_types::pem::PemObject;
    let certs = rustls::pki_types::CertificateDer::pem_slice_iter(pki.server_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(pki.server_key.as_bytes()).unwrap();
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_client_cert_verifier(client_verifier(&pki.ca_pem))
    .with_single_cert(certs, key)
    .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    config
}

impl MtlsReceiver {
    fn start(pki: &Pki, protocol: &str) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let store = Store::default();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        if protocol == "grpc" {
            let tls = tonic::transport::ServerTlsConfig::new()
                .identity(tonic::transport::Identity::from_pem(
                    &pki.server_pem,
                    &pki.server_key,
                ))
                .client_ca_root(tonic::transport::Certificate::from_pem(&pki.ca_pem));
            let server = tonic::transport::Server::builder()
                .tls_config(tls)
                .unwrap()
                .add_service(TraceServiceServer::new(Grpc(store.clone())))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
            runtime.spawn(server);
        } else {
            let config = mtls_server_config(pki, &[b"http/1.1"]);
            let app = axum::Router::new()
                .route("/v1/traces", axum::routing::post(http_export))
                .with_state(store.clone());
            let tls = axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(config));
            let std_listener = listener.into_std().unwrap();
            let _in_runtime = runtime.enter();
            let server = axum_server::from_tcp_rustls(std_listener, tls)
                .unwrap()
                .serve(app.into_make_service());
            runtime.spawn(server);
        }
        Self {
            store,
            addr,
            _runtime: runtime,
        }
    }
}

fn env(
    vars: Vec<(&'static str, String)>,
) -> impl Fn(&str) -> Option<String> + Send + Sync + 'static {
    let map: HashMap<&'static str, String> = vars.into_iter().collect();
    move |k| map.get(k).cloned()
}

fn export_one_span(vars: Vec<(&'static str, String)>) -> Vec<String> {
    let _serial = serial::telemetry_lock();
    let (dispatch, guard) = Telemetry::builder()
        .service_name("tls-test")
        .env_lookup(env(vars))
        .build();
    let warnings: Vec<String> = guard.warnings().iter().map(|w| w.to_string()).collect();
    tracing::dispatcher::with_default(&dispatch, || {
        tracing::info_span!("over-mtls").in_scope(|| tracing::info!("work"));
    });
    drop(guard); // flushes
    warnings
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

#[rstest]
#[case::grpc("grpc")]
#[case::http_protobuf("http/protobuf")]
fn certificate_variables_give_a_working_mtls_export(#[case] protocol: &str) {
    let pki = Pki::new();
    let receiver = MtlsReceiver::start(&pki, protocol);
    let endpoint = format!("https://localhost:{}", receiver.addr.port());
    let warnings = export_one_span(vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.into()),
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", path(&pki.file("ca.crt"))),
        (
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
            path(&pki.file("tls.crt")),
        ),
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", path(&pki.file("tls.key"))),
        ("OTEL_BSP_SCHEDULE_DELAY", "600000".into()),
    ]);
    assert!(warnings.is_empty(), "{warnings:?}");
    let spans = receiver
        .store
        .wait_for_blocking(Duration::from_secs(10), |s| !s.is_empty());
    assert!(
        spans
            .iter()
            .any(|s| s.span.name == "over-mtls" && s.service() == "tls-test"),
        "no span arrived over mTLS"
    );
}

/// A TLS endpoint with the receivers' server config (their certificate, a client certificate
/// from the private CA required) that records how each handshake ended.
struct HandshakeRecorder {
    addr: SocketAddr,
    outcomes: Arc<std::sync::Mutex<Vec<Result<(), String>>>>,
    _runtime: tokio::runtime::Runtime,
}

impl HandshakeRecorder {
    fn start(pki: &Pki) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let config = mtls_server_config(pki, &[b"h2", b"http/1.1"]);
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let outcomes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let recorded = outcomes.clone();
        runtime.spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let outcome = acceptor
                    .accept(tcp)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string());
                recorded.lock().unwrap().push(outcome);
            }
        });
        Self {
            addr,
            outcomes,
            _runtime: runtime,
        }
    }
}

#[rstest]
#[case::grpc("grpc")]
#[case::http_protobuf("http/protobuf")]
fn without_the_client_certificate_the_collector_refuses(#[case] protocol: &str) {
    let pki = Pki::new();
    let receiver = HandshakeRecorder::start(&pki);
    let endpoint = format!("https://localhost:{}", receiver.addr.port());
    export_one_span(vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.into()),
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", path(&pki.file("ca.crt"))),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "1000".into()),
        ("OTEL_BSP_SCHEDULE_DELAY", "600000".into()),
    ]);
    // The exporter trusted the server (the CA variable works) and reached the handshake; the
    // server refused it for the one reason under test: no client certificate.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let outcomes = loop {
        let outcomes = receiver.outcomes.lock().unwrap().clone();
        if !outcomes.is_empty() || std::time::Instant::now() > deadline {
            break outcomes;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!outcomes.is_empty(), "the exporter never connected");
    for outcome in &outcomes {
        match outcome {
            Ok(()) => panic!("a handshake succeeded without a client certificate: {outcomes:?}"),
            Err(e) => assert!(
                e.contains("peer sent no certificates"),
                "refused for another reason than the missing client certificate: {e}"
            ),
        }
    }
}

/// The `_TRACES_` TLS variables win over the generic ones end to end: the generic ones name
/// another CA and another client certificate, which the receiver would refuse.
#[rstest]
#[case::grpc("grpc")]
#[case::http_protobuf("http/protobuf")]
fn per_signal_certificate_variables_win_over_the_generic_ones(#[case] protocol: &str) {
    let pki = Pki::new();
    let other = Pki::new();
    let receiver = MtlsReceiver::start(&pki, protocol);
    let endpoint = format!("https://localhost:{}", receiver.addr.port());
    let warnings = export_one_span(vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", protocol.into()),
        ("OTEL_METRICS_EXPORTER", "none".into()),
        ("OTEL_LOGS_EXPORTER", "none".into()),
        (
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
            path(&other.file("ca.crt")),
        ),
        (
            "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
            path(&other.file("tls.crt")),
        ),
        (
            "OTEL_EXPORTER_OTLP_CLIENT_KEY",
            path(&other.file("tls.key")),
        ),
        (
            "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
            path(&pki.file("ca.crt")),
        ),
        (
            "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
            path(&pki.file("tls.crt")),
        ),
        (
            "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
            path(&pki.file("tls.key")),
        ),
        ("OTEL_BSP_SCHEDULE_DELAY", "600000".into()),
    ]);
    assert!(warnings.is_empty(), "{warnings:?}");
    let spans = receiver
        .store
        .wait_for_blocking(Duration::from_secs(10), |s| !s.is_empty());
    assert!(
        spans.iter().any(|s| s.span.name == "over-mtls"),
        "no span arrived with the per-signal certificates"
    );
}

/// One finished span to hand to an exporter directly.
fn one_span() -> Vec<opentelemetry_sdk::trace::SpanData> {
    use opentelemetry::trace::{Tracer, TracerProvider};
    let memory = opentelemetry_sdk::trace::InMemorySpanExporter::default();
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_simple_exporter(memory.clone())
        .build();
    drop(provider.tracer("tls-test").start("one"));
    memory.get_finished_spans().unwrap()
}

/// Exports one span through the SDK's own span exporter built from `vars`; the error it gives.
fn export_error(vars: Vec<(&'static str, String)>) -> Option<String> {
    use opentelemetry_sdk::trace::SpanExporter;
    let config = otel_inject_sdk::EnvConfig::from_lookup(env(vars));
    let exporter = otel_inject_sdk::exporter::OtlpSpanExporter::build(&config.otlp).unwrap();
    let result = poll_once(exporter.export(one_span()));
    let _ = exporter.shutdown();
    result.err().map(|e| e.to_string())
}

/// The SDK's exporter does its I/O inside `export` (on its own gRPC runtime, or blocking for
/// HTTP), so the future is ready when first polled; no runtime of the test's may be around,
/// as the blocking HTTP client refuses to be dropped inside one.
fn poll_once<F: std::future::Future>(fut: F) -> F::Output {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::pin!(fut).poll(&mut cx) {
        std::task::Poll::Ready(v) => v,
        std::task::Poll::Pending => panic!("the export did not finish when polled"),
    }
}

/// A collector whose certificate comes from a private CA: with the CA configured the export
/// succeeds; without it (system roots only) it fails, and the error says the certificate is
/// not trusted and which variable to set.
#[rstest]
#[case::grpc("grpc")]
#[case::http_protobuf("http/protobuf")]
fn the_ca_variable_decides_whether_the_collector_is_trusted(#[case] protocol: &str) {
    let pki = Pki::new();
    let receiver = MtlsReceiver::start(&pki, protocol);
    let endpoint = format!("https://localhost:{}", receiver.addr.port());
    let base = || {
        vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.clone()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.to_string()),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "3000".to_string()),
            (
                "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
                path(&pki.file("tls.crt")),
            ),
            ("OTEL_EXPORTER_OTLP_CLIENT_KEY", path(&pki.file("tls.key"))),
        ]
    };
    let mut with_ca = base();
    with_ca.push((
        "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
        path(&pki.file("ca.crt")),
    ));
    assert_eq!(export_error(with_ca), None);

    let error = export_error(base()).expect("the export succeeded without the collector's CA");
    assert!(
        error.contains(&format!("OTLP traces export to {endpoint}")),
        "{error}"
    );
    assert!(
        error.contains("the collector's certificate is not trusted: set OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE (or OTEL_EXPORTER_OTLP_CERTIFICATE) to the PEM file of the CA that signs it"),
        "{error}"
    );
}

/// A TLS file that is missing, or is no PEM, is one warning naming the variable (the
/// per-signal one when that named it) and the path; that signal gets no exporter, the others
/// are unaffected.
#[rstest]
#[case::missing("missing")]
#[case::not_pem("not_pem")]
fn an_unusable_tls_file_names_the_variable_and_the_path(#[case] what: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ca.crt");
    if what == "not_pem" {
        std::fs::write(&file, "not a certificate").unwrap();
    }
    let problem = if what == "missing" {
        "No such file or directory (os error 2)"
    } else {
        "no PEM block (-----BEGIN ...) in the file"
    };
    let warnings = export_one_span(vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "https://localhost:1".into()),
        ("OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE", path(&file)),
        ("OTEL_LOGS_EXPORTER", "none".into()),
    ]);
    assert_eq!(
        warnings,
        vec![format!(
            "OTEL_EXPORTER_OTLP_*=\"https://localhost:1/v1/metrics\" is invalid: OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE={:?}: {problem}; set it to a readable PEM file or unset it; using no exporter (metrics are not sent)",
            path(&file)
        )]
    );
}

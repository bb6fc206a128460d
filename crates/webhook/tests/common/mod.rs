//! Shared test harness: fixtures, a real server on a loopback port with rcgen certificates,
//! and a TLS client that verifies the server against a CA (ring provider, like production).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use futures::future::BoxFuture;
use otel_inject_lib::{Instrumentation, NamespaceInfo, OwnerKey, OwnerObject};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{client::conn::http1::SendRequest, Request, StatusCode};
use hyper_util::rt::TokioIo;
use otel_inject::{
    cluster::{ClusterObjects, ClusterView, StaticView},
    metrics::Metrics,
    selfsigned,
    serve::{self, RunningServer, ServerSetup},
    server::Timeouts,
    tls::SwappableCert,
};
use rustls::{pki_types::ServerName, ClientConfig, RootCertStore};
use rustls_pki_types::{pem::PemObject, CertificateDer};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Repository root (the fixtures live at `tests/fixtures/` there, shared with other crates).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = repo_root().join("tests/fixtures/admission").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn fixture_json(name: &str) -> Value {
    serde_json::from_slice(&fixture(name)).unwrap()
}

pub fn cluster_file(name: &str) -> String {
    repo_root()
        .join("tests/fixtures/cluster")
        .join(name)
        .display()
        .to_string()
}

pub fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub fn shop_view() -> Arc<dyn ClusterView> {
    let mut objects = ClusterObjects::default();
    objects
        .load_file(&cluster_file("shop.yaml"), "default")
        .unwrap();
    Arc::new(StaticView::new(objects))
}

pub fn sans() -> Vec<String> {
    vec!["localhost".to_string(), "127.0.0.1".to_string()]
}

pub struct TestServer {
    pub running: RunningServer,
    pub ca_pem: String,
    pub cert: Arc<SwappableCert>,
    pub metrics: Arc<Metrics>,
}

pub async fn start(view: Arc<dyn ClusterView>) -> TestServer {
    start_with(view, Duration::from_millis(200), Timeouts::default()).await
}

pub async fn start_with(
    view: Arc<dyn ClusterView>,
    owner_budget: Duration,
    timeouts: Timeouts,
) -> TestServer {
    start_with_client_ca(view, owner_budget, timeouts, None).await
}

/// As [`start`], with these decision options (languages switched on or off).
pub async fn start_with_options(
    view: Arc<dyn ClusterView>,
    options: otel_inject_lib::InjectOptions,
) -> TestServer {
    start_server(
        view,
        Duration::from_millis(200),
        Timeouts::default(),
        None,
        options,
    )
    .await
}

/// As [`start_with`], requiring client certificates from the CA in `client_ca` (a PEM file).
pub async fn start_with_client_ca(
    view: Arc<dyn ClusterView>,
    owner_budget: Duration,
    timeouts: Timeouts,
    client_ca: Option<std::path::PathBuf>,
) -> TestServer {
    start_server(view, owner_budget, timeouts, client_ca, Default::default()).await
}

async fn start_server(
    view: Arc<dyn ClusterView>,
    owner_budget: Duration,
    timeouts: Timeouts,
    client_ca: Option<std::path::PathBuf>,
    options: otel_inject_lib::InjectOptions,
) -> TestServer {
    install_provider();
    let issued = selfsigned::issue(&sans(), Duration::from_secs(3600)).unwrap();
    let cert = SwappableCert::new(issued.serving);
    let metrics = Arc::new(Metrics::new());
    let running = serve::start(ServerSetup {
        listen: "127.0.0.1:0".parse().unwrap(),
        admin_listen: Some("127.0.0.1:0".parse().unwrap()),
        view,
        cert: cert.clone(),
        metrics: metrics.clone(),
        options,
        owner_budget,
        timeouts,
        client_ca,
    })
    .await
    .unwrap();
    TestServer {
        running,
        ca_pem: issued.ca_pem,
        cert,
        metrics,
    }
}

/// A client trusting the CA certificates in `ca_pems`.
pub fn tls_client(ca_pems: &[&str]) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    for pem in ca_pems {
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
    }
    let mut config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    // Every connection does a full handshake, so the tests see the certificate being served
    // now (a resumed session reports the certificate of the session it resumes).
    config.resumption = rustls::client::Resumption::disabled();
    TlsConnector::from(Arc::new(config))
}

pub struct Conn {
    pub sender: SendRequest<Full<Bytes>>,
    /// The leaf certificate the server presented.
    pub peer_leaf: CertificateDer<'static>,
}

/// One TLS + HTTP/1.1 connection, verifying the server as `localhost`.
pub async fn connect(connector: &TlsConnector, addr: SocketAddr) -> Result<Conn, String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| format!("tls: {e}"))?;
    let peer_leaf = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first().cloned())
        .ok_or("no peer certificate")?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(Conn { sender, peer_leaf })
}

pub async fn post(
    conn: &mut Conn,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Result<(StatusCode, Bytes), String> {
    conn.sender.ready().await.map_err(|e| e.to_string())?;
    let mut req = Request::post(path).header("host", "localhost");
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let req = req.body(Full::new(Bytes::from(body))).unwrap();
    let resp = conn
        .sender
        .send_request(req)
        .await
        .map_err(|e| e.to_string())?;
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, body))
}

pub async fn post_json(conn: &mut Conn, path: &str, body: Vec<u8>) -> (StatusCode, Bytes) {
    post(conn, path, Some("application/json"), body)
        .await
        .unwrap()
}

/// The decoded JSON patch of a response review, if any.
pub fn decoded_patch(review: &Value) -> Option<Value> {
    use std::io::Read;
    let b64 = review.pointer("/response/patch")?.as_str()?;
    let bytes: k8s_openapi::ByteString =
        serde_json::from_value(Value::String(b64.to_string())).unwrap();
    let mut s = String::new();
    bytes.0.as_slice().read_to_string(&mut s).unwrap();
    Some(serde_json::from_str(&s).unwrap())
}

pub fn warnings(review: &Value) -> Vec<String> {
    review
        .pointer("/response/warnings")
        .and_then(Value::as_array)
        .map(|w| {
            w.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Plain HTTP GET on the admin port.
pub async fn admin_get(addr: SocketAddr, path: &str) -> (StatusCode, String) {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(tcp))
            .await
            .unwrap();
    tokio::spawn(conn);
    let resp = sender
        .send_request(
            Request::get(path)
                .header("host", "localhost")
                .body(Full::default())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// A view whose owner lookups go to a slow "API server".
pub struct SlowOwners {
    pub inner: StaticView,
    pub delay: Duration,
    pub calls: AtomicUsize,
}

impl ClusterView for SlowOwners {
    fn readiness(&self) -> Result<(), String> {
        Ok(())
    }
    fn namespace(&self, name: &str) -> Option<NamespaceInfo> {
        self.inner.namespace(name)
    }
    fn instrumentations(&self, namespace: &str) -> Vec<Arc<Instrumentation>> {
        self.inner.instrumentations(namespace)
    }
    fn owner(&self, _namespace: &str, _key: &OwnerKey) -> Option<OwnerObject> {
        None
    }
    fn fetch_owner<'a>(
        &'a self,
        namespace: &'a str,
        key: &'a OwnerKey,
    ) -> BoxFuture<'a, Result<Option<OwnerObject>, String>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            Ok(self.inner.owner(namespace, key))
        })
    }
    fn cache_sizes(&self) -> Vec<(&'static str, usize)> {
        Vec::new()
    }
}

pub fn shop_static() -> StaticView {
    let mut objects = otel_inject::cluster::ClusterObjects::default();
    objects
        .load_file(&cluster_file("shop.yaml"), "default")
        .unwrap();
    StaticView::new(objects)
}

impl SlowOwners {
    /// The shop fixture's objects, every owner lookup taking `delay`.
    pub fn new(delay: Duration) -> Self {
        Self {
            inner: shop_static(),
            delay,
            calls: AtomicUsize::new(0),
        }
    }
}

/// The value of the sample whose line starts with `series` (name and labels) in a Prometheus
/// exposition, if there is one.
pub fn sample_value(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            (name == series).then(|| value.parse().ok()).flatten()
        })
}

//! An OTLP receiver for tests, on loopback: gRPC (`TraceService`, `MetricsService`,
//! `LogsService`) and HTTP (`POST /v1/traces`, `/v1/metrics`, `/v1/logs`, protobuf body,
//! optionally gzip). Shared by the SDK's and the examples' tests through `#[path]`.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValueKind;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

/// One received span with its resource.
#[derive(Debug, Clone)]
pub struct Received {
    pub resource: Vec<(String, String)>,
    pub span: Span,
    pub attributes: Vec<(String, String)>,
    /// Request headers (HTTP) or metadata (gRPC) it came with.
    pub headers: Vec<(String, String)>,
}

impl Received {
    pub fn res(&self, key: &str) -> Option<&str> {
        lookup(&self.resource, key)
    }
    pub fn attr(&self, key: &str) -> Option<&str> {
        lookup(&self.attributes, key)
    }
    pub fn trace_id(&self) -> String {
        hex(&self.span.trace_id)
    }
    pub fn span_id(&self) -> String {
        hex(&self.span.span_id)
    }
    pub fn parent_id(&self) -> String {
        hex(&self.span.parent_span_id)
    }
    pub fn service(&self) -> &str {
        self.res("service.name").unwrap_or("")
    }
}

fn lookup<'a>(kvs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    kvs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn value_string(kv: &KeyValue) -> String {
    match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(AnyValueKind::StringValue(s)) => s.clone(),
        Some(AnyValueKind::IntValue(i)) => i.to_string(),
        Some(AnyValueKind::BoolValue(b)) => b.to_string(),
        Some(AnyValueKind::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

fn flatten(kvs: &[KeyValue]) -> Vec<(String, String)> {
    kvs.iter()
        .map(|kv| (kv.key.clone(), value_string(kv)))
        .collect()
}

/// One received metric data point (sums, gauges and histograms) with its resource.
#[derive(Debug, Clone)]
pub struct Point {
    pub resource: Vec<(String, String)>,
    pub metric: String,
    pub unit: String,
    pub attributes: Vec<(String, String)>,
    /// Histogram count, or the sum/gauge value as a whole number.
    pub count: u64,
    /// Histogram sum, or the sum/gauge value.
    pub value: f64,
}

impl Point {
    pub fn attr(&self, key: &str) -> Option<&str> {
        lookup(&self.attributes, key)
    }
    pub fn res(&self, key: &str) -> Option<&str> {
        lookup(&self.resource, key)
    }
}

/// One received log record with its resource.
#[derive(Debug, Clone)]
pub struct LogRecord {
    pub resource: Vec<(String, String)>,
    pub body: String,
    pub severity: String,
    pub trace_id: String,
    pub span_id: String,
    pub attributes: Vec<(String, String)>,
}

impl LogRecord {
    pub fn attr(&self, key: &str) -> Option<&str> {
        lookup(&self.attributes, key)
    }
    pub fn res(&self, key: &str) -> Option<&str> {
        lookup(&self.resource, key)
    }
}

#[derive(Clone, Default)]
pub struct Store(
    Arc<Mutex<Vec<Received>>>,
    Arc<Mutex<Vec<Point>>>,
    Arc<Mutex<Vec<LogRecord>>>,
);

impl Store {
    fn add(&self, req: ExportTraceServiceRequest, headers: Vec<(String, String)>) {
        let mut out = self.0.lock().unwrap();
        for rs in req.resource_spans {
            let resource = rs
                .resource
                .as_ref()
                .map(|r| flatten(&r.attributes))
                .unwrap_or_default();
            for ss in rs.scope_spans {
                for span in ss.spans {
                    out.push(Received {
                        resource: resource.clone(),
                        attributes: flatten(&span.attributes),
                        span,
                        headers: headers.clone(),
                    });
                }
            }
        }
    }

    pub fn spans(&self) -> Vec<Received> {
        self.0.lock().unwrap().clone()
    }

    pub fn points(&self) -> Vec<Point> {
        self.1.lock().unwrap().clone()
    }

    pub fn logs(&self) -> Vec<LogRecord> {
        self.2.lock().unwrap().clone()
    }

    fn add_metrics(&self, req: ExportMetricsServiceRequest) {
        use opentelemetry_proto::tonic::metrics::v1::metric::Data;
        use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value as N;
        let num = |v: &Option<N>| match v {
            Some(N::AsDouble(d)) => *d,
            Some(N::AsInt(i)) => *i as f64,
            None => 0.0,
        };
        let mut out = self.1.lock().unwrap();
        for rm in req.resource_metrics {
            let resource = rm
                .resource
                .as_ref()
                .map(|r| flatten(&r.attributes))
                .unwrap_or_default();
            for sm in rm.scope_metrics {
                for m in sm.metrics {
                    let mut push = |attributes: &[KeyValue], count: u64, value: f64| {
                        out.push(Point {
                            resource: resource.clone(),
                            metric: m.name.clone(),
                            unit: m.unit.clone(),
                            attributes: flatten(attributes),
                            count,
                            value,
                        })
                    };
                    match &m.data {
                        Some(Data::Histogram(h)) => {
                            for p in &h.data_points {
                                push(&p.attributes, p.count, p.sum.unwrap_or_default());
                            }
                        }
                        Some(Data::Sum(x)) => {
                            for p in &x.data_points {
                                let v = num(&p.value);
                                push(&p.attributes, v as u64, v);
                            }
                        }
                        Some(Data::Gauge(x)) => {
                            for p in &x.data_points {
                                let v = num(&p.value);
                                push(&p.attributes, v as u64, v);
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    fn add_logs(&self, req: ExportLogsServiceRequest) {
        let mut out = self.2.lock().unwrap();
        for rl in req.resource_logs {
            let resource = rl
                .resource
                .as_ref()
                .map(|r| flatten(&r.attributes))
                .unwrap_or_default();
            for sl in rl.scope_logs {
                for r in sl.log_records {
                    let body = match r.body.as_ref().and_then(|b| b.value.as_ref()) {
                        Some(AnyValueKind::StringValue(s)) => s.clone(),
                        other => format!("{other:?}"),
                    };
                    out.push(LogRecord {
                        resource: resource.clone(),
                        body,
                        severity: r.severity_text.clone(),
                        trace_id: hex(&r.trace_id),
                        span_id: hex(&r.span_id),
                        attributes: flatten(&r.attributes),
                    });
                }
            }
        }
    }

    /// Waits until `done(spans)` holds, or `timeout` passes; returns the spans either way.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let spans = self.spans();
            if done(&spans) || start.elapsed() > timeout {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Blocking variant for code without a runtime.
    pub fn wait_for_blocking(
        &self,
        timeout: Duration,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let start = Instant::now();
        loop {
            let spans = self.spans();
            if done(&spans) || start.elapsed() > timeout {
                return spans;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

pub struct Grpc(pub Store);

#[tonic::async_trait]
impl TraceService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let headers = request
            .metadata()
            .iter()
            .filter_map(|kv| match kv {
                tonic::metadata::KeyAndValueRef::Ascii(k, v) => {
                    Some((k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
                }
                _ => None,
            })
            .collect();
        self.0.add(request.into_inner(), headers);
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

#[tonic::async_trait]
impl MetricsService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        self.0.add_metrics(request.into_inner());
        Ok(tonic::Response::new(ExportMetricsServiceResponse {
            partial_success: None,
        }))
    }
}

#[tonic::async_trait]
impl LogsService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, tonic::Status> {
        self.0.add_logs(request.into_inner());
        Ok(tonic::Response::new(ExportLogsServiceResponse {
            partial_success: None,
        }))
    }
}

fn gunzip(headers: &axum::http::HeaderMap, body: axum::body::Bytes) -> Option<axum::body::Bytes> {
    if headers
        .get("content-encoding")
        .is_some_and(|v| v.as_bytes() == b"gzip")
    {
        use std::io::Read;
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut out)
            .ok()?;
        Some(axum::body::Bytes::from(out))
    } else {
        Some(body)
    }
}

pub async fn http_metrics(
    axum::extract::State(store): axum::extract::State<Store>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> impl axum::response::IntoResponse {
    match gunzip(&headers, body).and_then(|b| ExportMetricsServiceRequest::decode(b).ok()) {
        Some(req) => {
            store.add_metrics(req);
            (
                axum::http::StatusCode::OK,
                ExportMetricsServiceResponse {
                    partial_success: None,
                }
                .encode_to_vec(),
            )
        }
        None => (axum::http::StatusCode::BAD_REQUEST, Vec::new()),
    }
}

pub async fn http_logs(
    axum::extract::State(store): axum::extract::State<Store>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> impl axum::response::IntoResponse {
    match gunzip(&headers, body).and_then(|b| ExportLogsServiceRequest::decode(b).ok()) {
        Some(req) => {
            store.add_logs(req);
            (
                axum::http::StatusCode::OK,
                ExportLogsServiceResponse {
                    partial_success: None,
                }
                .encode_to_vec(),
            )
        }
        None => (axum::http::StatusCode::BAD_REQUEST, Vec::new()),
    }
}

pub async fn http_export(
    axum::extract::State(store): axum::extract::State<Store>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> impl axum::response::IntoResponse {
    let body = if headers
        .get("content-encoding")
        .is_some_and(|v| v.as_bytes() == b"gzip")
    {
        use std::io::Read;
        let mut out = Vec::new();
        if flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut out)
            .is_err()
        {
            return (axum::http::StatusCode::BAD_REQUEST, Vec::new());
        }
        axum::body::Bytes::from(out)
    } else {
        body
    };
    match ExportTraceServiceRequest::decode(body) {
        Ok(req) => {
            let hs = headers
                .iter()
                .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
                .collect();
            store.add(req, hs);
            (
                axum::http::StatusCode::OK,
                ExportTraceServiceResponse {
                    partial_success: None,
                }
                .encode_to_vec(),
            )
        }
        Err(_) => (axum::http::StatusCode::BAD_REQUEST, Vec::new()),
    }
}

/// A running receiver; its servers stop when it is dropped.
pub struct Receiver {
    pub store: Store,
    pub grpc: SocketAddr,
    pub http: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    /// Starts both servers on a runtime of their own (so any test, sync or async, can use it).
    pub fn start() -> Self {
        let store = Store::default();
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let s = store.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let grpc_l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let http_l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send((grpc_l.local_addr().unwrap(), http_l.local_addr().unwrap()))
                    .unwrap();
                let grpc = tonic::transport::Server::builder()
                    .add_service(
                        TraceServiceServer::new(Grpc(s.clone()))
                            .accept_compressed(tonic::codec::CompressionEncoding::Gzip),
                    )
                    .add_service(
                        MetricsServiceServer::new(Grpc(s.clone()))
                            .accept_compressed(tonic::codec::CompressionEncoding::Gzip),
                    )
                    .add_service(
                        LogsServiceServer::new(Grpc(s.clone()))
                            .accept_compressed(tonic::codec::CompressionEncoding::Gzip),
                    )
                    .serve_with_incoming(tokio_stream_from(grpc_l));
                let app = axum::Router::new()
                    .route("/v1/traces", axum::routing::post(http_export))
                    .route("/v1/metrics", axum::routing::post(http_metrics))
                    .route("/v1/logs", axum::routing::post(http_logs))
                    .with_state(s);
                let http = axum::serve(http_l, app);
                tokio::select! {
                    r = grpc => { r.unwrap(); }
                    r = async { http.await } => { r.unwrap(); }
                    _ = stop_rx => {}
                }
            });
        });
        let (grpc, http) = rx.recv().unwrap();
        Self {
            store,
            grpc,
            http,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    pub fn grpc_endpoint(&self) -> String {
        format!("http://{}", self.grpc)
    }

    pub fn http_endpoint(&self) -> String {
        format!("http://{}", self.http)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn tokio_stream_from(l: tokio::net::TcpListener) -> tokio_stream::wrappers::TcpListenerStream {
    tokio_stream::wrappers::TcpListenerStream::new(l)
}

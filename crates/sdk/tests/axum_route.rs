//! `http.route` from real axum routers of both supported versions: axum 0.8 (feature `axum`)
//! and axum 0.7 (feature `axum-07`) each put their own `MatchedPath` type in the request, and
//! the layer must read whichever is there. Each router is served on loopback and called over
//! TCP, as a service would be.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::sync::OnceLock;

use opentelemetry::trace::SpanKind;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use otel_inject_sdk::http::HttpServerTraceLayer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One provider for the whole test binary (the global one is process-wide).
fn exporter() -> &'static InMemorySpanExporter {
    static EXPORTER: OnceLock<InMemorySpanExporter> = OnceLock::new();
    EXPORTER.get_or_init(|| {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        opentelemetry::global::set_tracer_provider(provider);
        exporter
    })
}

/// Sends `GET path` over HTTP/1.1 and returns the status line.
async fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nhost: shop.example\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer.lines().next().unwrap_or_default().to_string()
}

/// The server span of the request to `path`: its name and `http.route`.
fn server_span(path: &str) -> (String, Option<String>) {
    let spans = exporter().get_finished_spans().unwrap();
    let span = spans
        .iter()
        .find(|s| {
            s.span_kind == SpanKind::Server
                && s.attributes
                    .iter()
                    .any(|kv| kv.key.as_str() == "url.path" && kv.value.as_str() == path)
        })
        .unwrap_or_else(|| panic!("no server span for {path} in {spans:#?}"));
    let route = span
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == "http.route")
        .map(|kv| kv.value.to_string());
    (span.name.to_string(), route)
}

#[tokio::test]
async fn axum_08_router_records_the_matched_route() {
    exporter();
    let app = axum::Router::new()
        .route("/v8/items/{id}", axum::routing::get(|| async { "item" }))
        .layer(HttpServerTraceLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    assert_eq!(get(addr, "/v8/items/42").await, "HTTP/1.1 200 OK");
    assert_eq!(
        server_span("/v8/items/42"),
        (
            "GET /v8/items/{id}".to_string(),
            Some("/v8/items/{id}".to_string())
        )
    );
}

#[tokio::test]
async fn axum_07_router_records_the_matched_route() {
    exporter();
    // axum 0.7's own path syntax (`:id`), its own Router, its own serve.
    let app = axum07::Router::new()
        .route("/v7/items/:id", axum07::routing::get(|| async { "item" }))
        .layer(HttpServerTraceLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum07::serve(listener, app).await });

    assert_eq!(get(addr, "/v7/items/42").await, "HTTP/1.1 200 OK");
    assert_eq!(
        server_span("/v7/items/42"),
        (
            "GET /v7/items/:id".to_string(),
            Some("/v7/items/:id".to_string())
        )
    );
}

#[tokio::test]
async fn unmatched_request_has_no_route() {
    exporter();
    // A fallback answers, but no route matched: no `http.route`, the span is named by the
    // method alone (the semantic conventions: never the raw path, whose cardinality is open).
    let app = axum::Router::new()
        .route("/known", axum::routing::get(|| async { "ok" }))
        .layer(HttpServerTraceLayer::new());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    assert_eq!(get(addr, "/nowhere").await, "HTTP/1.1 404 Not Found");
    assert_eq!(server_span("/nowhere"), ("GET".to_string(), None));
}

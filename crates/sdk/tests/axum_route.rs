//! `http.route` from real axum routers of both supported versions: axum 0.8 (feature `axum`)
//! and axum 0.7 (feature `axum-07`) each put their own `MatchedPath` type in the request, and
//! the layer must read whichever is there. Each router is served on loopback and called over
//! TCP, as a service would be.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

#[path = "support/spans.rs"]
mod spans;

use opentelemetry::trace::SpanKind;
use otel_inject_sdk::http::HttpServerTraceLayer;
use spans::{attr, exporter};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
        .find(|s| s.span_kind == SpanKind::Server && attr(s, "url.path").as_deref() == Some(path))
        .unwrap_or_else(|| panic!("no server span for {path} in {spans:#?}"));
    (span.name.to_string(), attr(span, "http.route"))
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

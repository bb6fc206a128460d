//! The tower server layer through `ServiceExt::oneshot`: the incoming context becomes the
//! server span's parent (with whatever propagators are configured), the span carries the HTTP
//! semantic-convention attributes, and the handler runs inside it.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use otel_inject_lib::sdk_values::Propagator;
use otel_inject_sdk::http::HttpServerTraceLayer;
use otel_inject_sdk::propagation::build_propagator;
use tower::{Layer, ServiceExt};

#[tokio::test]
async fn server_span_continues_the_incoming_trace() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    opentelemetry::global::set_text_map_propagator(build_propagator(&[
        Propagator::TraceContext,
        Propagator::B3,
    ]));

    let svc =
        HttpServerTraceLayer::new().layer(tower::service_fn(|req: http::Request<()>| async move {
            // The handler sees the server span as the current context.
            let trace = otel_inject_sdk::current_trace_id();
            let status = if req.uri().path() == "/boom" {
                500
            } else {
                200
            };
            let mut res = http::Response::new(trace.unwrap_or_default());
            *res.status_mut() = http::StatusCode::from_u16(status).unwrap();
            Ok::<_, std::convert::Infallible>(res)
        }));

    let req = http::Request::builder()
        .method("GET")
        .uri("/items?id=3")
        .header("host", "shop.example:8080")
        .header("user-agent", "curl/8")
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .body(())
        .unwrap();
    let res = svc.clone().oneshot(req).await.unwrap();
    assert_eq!(res.body(), "4bf92f3577b34da6a3ce929d0e0e4736");

    // B3 works as well when configured.
    let req = http::Request::builder()
        .uri("/boom")
        .header("b3", "a3ce929d0e0e4736a3ce929d0e0e4736-00f067aa0ba902b7-1")
        .body(())
        .unwrap();
    let _ = svc.oneshot(req).await.unwrap();

    let spans = exporter.get_finished_spans().unwrap();
    assert_eq!(spans.len(), 2);
    let s = &spans[0];
    assert_eq!(s.name, "GET");
    assert_eq!(s.span_kind, SpanKind::Server);
    assert_eq!(s.parent_span_id.to_string(), "00f067aa0ba902b7");
    assert!(s.parent_span_is_remote);
    let attr = |k: &str| {
        s.attributes
            .iter()
            .find(|kv| kv.key.as_str() == k)
            .map(|kv| kv.value.to_string())
    };
    assert_eq!(attr("http.request.method").as_deref(), Some("GET"));
    assert_eq!(attr("url.path").as_deref(), Some("/items"));
    assert_eq!(attr("url.query").as_deref(), Some("id=3"));
    assert_eq!(attr("url.scheme").as_deref(), Some("http"));
    assert_eq!(attr("server.address").as_deref(), Some("shop.example"));
    assert_eq!(attr("server.port").as_deref(), Some("8080"));
    assert_eq!(attr("user_agent.original").as_deref(), Some("curl/8"));
    assert_eq!(attr("http.response.status_code").as_deref(), Some("200"));
    assert_eq!(s.status, Status::Unset);

    let boom = &spans[1];
    assert_eq!(
        boom.span_context.trace_id().to_string(),
        "a3ce929d0e0e4736a3ce929d0e0e4736"
    );
    assert!(matches!(boom.status, Status::Error { .. }));

    // Outgoing: the current context is injected with the same propagators.
    let mut headers = http::HeaderMap::new();
    let cx = opentelemetry::Context::new().with_remote_span_context(spans[0].span_context.clone());
    use opentelemetry::trace::TraceContextExt;
    otel_inject_sdk::http::inject_context(&cx, &mut headers);
    assert!(headers["traceparent"]
        .to_str()
        .unwrap()
        .starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
    assert!(headers.contains_key("b3"));
    let _ = provider.shutdown();
}

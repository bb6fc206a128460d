//! The tonic server layer, the client layer and the client interceptor end to end over
//! loopback: the client's context travels in the metadata, the server span is its child with
//! the RPC semantic conventions and the gRPC status, and the handler runs inside it; the client
//! layer's span is the server span's parent and carries the status the caller saw.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use opentelemetry::trace::{FutureExt as _, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use otel_inject_sdk::grpc::{GrpcClientTraceLayer, GrpcContextInterceptor, GrpcServerTraceLayer};
use spans::{attr, exporter};
use tower::Layer as _;

#[path = "support/spans.rs"]
mod spans;

struct Echo;

#[tonic::async_trait]
impl TraceService for Echo {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        if request.get_ref().resource_spans.is_empty() {
            return Err(tonic::Status::unavailable("nothing to store"));
        }
        // The handler sees the server span as the current context: send its trace id back.
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: Some(ExportTracePartialSuccess {
                rejected_spans: 0,
                error_message: otel_inject_sdk::current_trace_id().unwrap_or_default(),
            }),
        }))
    }
}

/// The finished spans of one trace.
fn spans_of(trace: opentelemetry::trace::TraceId) -> Vec<opentelemetry_sdk::trace::SpanData> {
    let mut spans = exporter().get_finished_spans().unwrap();
    spans.retain(|s| s.span_context.trace_id() == trace);
    spans
}

/// A traced Echo server on loopback and a channel to it.
async fn serve() -> tonic::transport::Channel {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(GrpcServerTraceLayer::new())
            .add_service(TraceServiceServer::new(Echo))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

const EXPORT: &str = "opentelemetry.proto.collector.trace.v1.TraceService/Export";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_calls_are_traced_across_client_and_server() {
    exporter();
    let channel = serve().await;
    let mut client = TraceServiceClient::with_interceptor(channel, GrpcContextInterceptor);

    let tracer = opentelemetry::global::tracer("test");
    let parent = tracer.start("caller");
    let parent_cx = opentelemetry::Context::current_with_span(parent);
    let parent_sc = parent_cx.span().span_context().clone();
    let one = ExportTraceServiceRequest {
        resource_spans: vec![Default::default()],
    };
    let answer = client
        .export(one)
        .with_context(parent_cx.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        answer.partial_success.unwrap().error_message,
        parent_sc.trace_id().to_string(),
        "the handler ran in the caller's trace"
    );
    let err = client
        .export(ExportTraceServiceRequest::default())
        .with_context(parent_cx)
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable);

    let spans = spans_of(parent_sc.trace_id());
    let server: Vec<_> = spans
        .iter()
        .filter(|s| s.span_kind == SpanKind::Server)
        .collect();
    assert_eq!(server.len(), 2, "{spans:?}");
    assert!(
        !spans.iter().any(|s| s.span_kind == SpanKind::Client),
        "the interceptor makes no span"
    );
    for s in &server {
        assert_eq!(s.name, EXPORT);
        assert_eq!(s.parent_span_id, parent_sc.span_id());
        assert!(s.parent_span_is_remote);
        assert_eq!(s.span_context.trace_id(), parent_sc.trace_id());
        assert_eq!(attr(s, "rpc.system").as_deref(), Some("grpc"));
        assert_eq!(
            attr(s, "rpc.service").as_deref(),
            Some("opentelemetry.proto.collector.trace.v1.TraceService")
        );
        assert_eq!(attr(s, "rpc.method").as_deref(), Some("Export"));
    }
    assert_eq!(
        attr(server[0], "rpc.grpc.status_code").as_deref(),
        Some("0")
    );
    assert_eq!(server[0].status, Status::Unset);
    assert_eq!(
        attr(server[1], "rpc.grpc.status_code").as_deref(),
        Some("14")
    );
    assert!(matches!(server[1].status, Status::Error { .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_layer_makes_the_client_span_of_each_call() {
    exporter();
    let channel = serve().await;
    let mut client = TraceServiceClient::new(GrpcClientTraceLayer::new().layer(channel));

    let tracer = opentelemetry::global::tracer("test");
    let parent_cx = opentelemetry::Context::current_with_span(tracer.start("caller"));
    let parent_sc = parent_cx.span().span_context().clone();
    let one = ExportTraceServiceRequest {
        resource_spans: vec![Default::default()],
    };
    client
        .export(one)
        .with_context(parent_cx.clone())
        .await
        .unwrap();
    let err = client
        .export(ExportTraceServiceRequest::default())
        .with_context(parent_cx.clone())
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable);

    let spans = spans_of(parent_sc.trace_id());
    let of_kind =
        |kind: SpanKind| -> Vec<_> { spans.iter().filter(|s| s.span_kind == kind).collect() };
    let (clients, servers) = (of_kind(SpanKind::Client), of_kind(SpanKind::Server));
    assert_eq!((clients.len(), servers.len()), (2, 2), "{spans:#?}");
    for (c, s) in clients.iter().zip(&servers) {
        assert_eq!(c.name, EXPORT);
        assert_eq!(
            c.parent_span_id,
            parent_sc.span_id(),
            "a child of the caller"
        );
        assert!(!c.parent_span_is_remote);
        assert_eq!(attr(c, "rpc.system").as_deref(), Some("grpc"));
        assert_eq!(
            attr(c, "rpc.service").as_deref(),
            Some("opentelemetry.proto.collector.trace.v1.TraceService")
        );
        assert_eq!(attr(c, "rpc.method").as_deref(), Some("Export"));
        // The client span's context travelled: the server span is its child.
        assert_eq!(s.parent_span_id, c.span_context.span_id());
        assert!(s.parent_span_is_remote);
    }
    let ok = clients
        .iter()
        .find(|c| attr(c, "rpc.grpc.status_code").as_deref() == Some("0"));
    assert_eq!(ok.map(|c| &c.status), Some(&Status::Unset), "{clients:#?}");
    let failed = clients
        .iter()
        .find(|c| attr(c, "rpc.grpc.status_code").as_deref() == Some("14"))
        .unwrap_or_else(|| panic!("no client span with UNAVAILABLE: {clients:#?}"));
    assert_eq!(
        failed.status,
        Status::error("gRPC status 14 nothing to store")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_layer_records_a_call_that_never_reached_a_server() {
    exporter();
    // A port nothing listens on: the channel fails the call itself.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .connect_lazy();
    let mut client = TraceServiceClient::new(GrpcClientTraceLayer::new().layer(channel));
    let tracer = opentelemetry::global::tracer("test");
    let parent_cx = opentelemetry::Context::current_with_span(tracer.start("caller"));
    let trace = parent_cx.span().span_context().trace_id();
    let err = client
        .export(ExportTraceServiceRequest::default())
        .with_context(parent_cx)
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable);
    let spans = spans_of(trace);
    let c = spans
        .iter()
        .find(|s| s.span_kind == SpanKind::Client)
        .unwrap_or_else(|| panic!("no client span: {spans:#?}"));
    assert_eq!(c.name, EXPORT);
    assert_eq!(attr(c, "error.type").as_deref(), Some("transport_error"));
    assert!(matches!(c.status, Status::Error { .. }), "{c:#?}");
}

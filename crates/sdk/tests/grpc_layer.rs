//! The tonic server layer and client interceptor end to end over loopback: the client's context
//! travels in the metadata, the server span is its child with the RPC semantic conventions and
//! the gRPC status, and the handler runs inside it.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use opentelemetry::trace::{FutureExt as _, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use otel_inject_lib::sdk_values::Propagator;
use otel_inject_sdk::grpc::{GrpcContextInterceptor, GrpcServerTraceLayer};
use otel_inject_sdk::propagation::build_propagator;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_calls_are_traced_across_client_and_server() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    opentelemetry::global::set_text_map_propagator(build_propagator(&[Propagator::TraceContext]));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .layer(GrpcServerTraceLayer::new())
            .add_service(TraceServiceServer::new(Echo))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
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

    let spans = exporter.get_finished_spans().unwrap();
    let server: Vec<_> = spans
        .iter()
        .filter(|s| s.span_kind == SpanKind::Server)
        .collect();
    assert_eq!(server.len(), 2, "{spans:?}");
    let attr = |s: &opentelemetry_sdk::trace::SpanData, k: &str| {
        s.attributes
            .iter()
            .find(|kv| kv.key.as_str() == k)
            .map(|kv| kv.value.to_string())
    };
    for s in &server {
        assert_eq!(
            s.name,
            "opentelemetry.proto.collector.trace.v1.TraceService/Export"
        );
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

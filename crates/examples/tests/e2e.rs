//! End to end: the real binaries, started with the environment the webhook injects for
//! `inject-sdk` (computed by the core's `mutate`, resolved the way the kubelet would by
//! `kubelet::resolve_env`), export to a real Jaeger v2 (built from its Go module, running
//! deploy/'s in-memory configuration), over gRPC and over http/protobuf, and every assertion is
//! on what Jaeger's query API gives back. One order makes one trace across orders-api and
//! inventory-api; ml-train started with `TRACEPARENT` joins that trace.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::time::Duration;

use otel_inject_test_peers::jaeger::{Span, CLIENT, SERVER};
use rstest::rstest;
use serde_json::Value;

mod common;
use common::*;

#[rstest]
#[case::grpc(Proto::Grpc)]
#[case::http_protobuf(Proto::Http)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_order_is_one_trace_across_both_services(#[case] proto: Proto) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let jaeger = jaeger().await;
    let inst = instrumentation(&jaeger, proto);

    let (orders_pod, orders_owners) = deployment_pod("orders-api", "orders");
    let orders_env = injected_env(
        &orders_pod,
        &orders_owners,
        inst.clone(),
        "orders",
        "orders-api-6b8d9c7f5d-abcde",
    );
    let (inv_pod, inv_owners) = deployment_pod("inventory-api", "inventory");
    let inv_env = injected_env(
        &inv_pod,
        &inv_owners,
        inst,
        "inventory",
        "inventory-api-6b8d9c7f5d-fghij",
    );

    let (orders_port, inv_port) = (free_port(), free_port());
    let inv_base = format!("http://127.0.0.1:{inv_port}");
    let orders_base = format!("http://127.0.0.1:{orders_port}");
    let _inventory = spawn(
        env!("CARGO_BIN_EXE_inventory-api"),
        &["--listen", &format!("127.0.0.1:{inv_port}")],
        &inv_env,
        "inventory-api-6b8d9c7f5d-fghij",
    );
    let _orders = spawn(
        env!("CARGO_BIN_EXE_orders-api"),
        &[
            "--listen",
            &format!("127.0.0.1:{orders_port}"),
            "--inventory-url",
            &inv_base,
        ],
        &orders_env,
        "orders-api-6b8d9c7f5d-abcde",
    );
    let client = reqwest::Client::new();
    wait_healthy(&client, &inv_base).await;
    wait_healthy(&client, &orders_base).await;

    let res = client
        .post(format!("{orders_base}/orders"))
        .header("content-type", "application/json")
        .header("user-agent", "e2e-test/1.0")
        .body(r#"{"sku": "kb-42", "quantity": 2}"#)
        .send()
        .await
        .expect("orders-api answers");
    assert_eq!(res.status(), 201);
    let body: Value = serde_json::from_slice(&res.bytes().await.expect("body")).expect("json body");
    let trace_id = body["trace_id"]
        .as_str()
        .expect("trace id in the answer")
        .to_string();

    let spans = jaeger
        .wait_for_trace(&trace_id, Duration::from_secs(20), |s| {
            let has =
                |svc: &str, name: &str| s.iter().any(|r| r.service() == svc && r.name == name);
            has("orders-api", "POST /orders")
                && has("orders-api", "create_order")
                && has("orders-api", "POST")
                && has("inventory-api", "POST /reserve")
                && has("inventory-api", "reserve_stock")
        })
        .await
        .unwrap_or_else(|e| panic!("{e:#}\nJaeger's log:\n{}", jaeger.log()));
    assert!(spans.iter().all(|s| s.trace_id == trace_id));

    let o_server = find(&spans, "orders-api", "POST /orders");
    let o_handler = find(&spans, "orders-api", "create_order");
    let o_client = find(&spans, "orders-api", "POST");
    let i_server = find(&spans, "inventory-api", "POST /reserve");
    let i_handler = find(&spans, "inventory-api", "reserve_stock");

    // Parent/child links, across the process boundary too.
    assert_eq!(o_server.kind, SERVER);
    assert!(
        o_server.parent_span_id.is_empty(),
        "the order's server span is the root"
    );
    assert_eq!(o_handler.parent_span_id, o_server.span_id);
    assert_eq!(o_client.kind, CLIENT);
    assert_eq!(o_client.parent_span_id, o_handler.span_id);
    assert_eq!(i_server.kind, SERVER);
    assert_eq!(
        i_server.parent_span_id, o_client.span_id,
        "inventory's server span is the child of orders' client span"
    );
    assert_eq!(i_handler.parent_span_id, i_server.span_id);

    // HTTP semantic conventions.
    assert_eq!(o_server.attr("http.request.method"), Some("POST"));
    assert_eq!(o_server.attr("url.path"), Some("/orders"));
    assert_eq!(o_server.attr("http.route"), Some("/orders"));
    assert_eq!(o_server.attr("http.response.status_code"), Some("201"));
    assert_eq!(o_server.attr("url.scheme"), Some("http"));
    assert_eq!(o_server.attr("server.address"), Some("127.0.0.1"));
    assert_eq!(o_server.attr("user_agent.original"), Some("e2e-test/1.0"));
    assert_eq!(
        o_client.attr("url.full"),
        Some(format!("{inv_base}/reserve").as_str())
    );
    assert_eq!(o_client.attr("http.response.status_code"), Some("200"));
    assert_eq!(i_server.attr("http.route"), Some("/reserve"));
    assert_eq!(i_server.attr("http.response.status_code"), Some("200"));

    // Resource attributes: what the webhook injected, resolved by the kubelet, read by the SDK.
    for (span, env, pod) in [
        (o_server, &orders_env, "orders-api-6b8d9c7f5d-abcde"),
        (i_server, &inv_env, "inventory-api-6b8d9c7f5d-fghij"),
    ] {
        assert_eq!(
            span.res("service.name"),
            env_value(env, "OTEL_SERVICE_NAME")
        );
        assert_eq!(span.res("k8s.pod.name"), Some(pod));
        assert_eq!(span.res("k8s.namespace.name"), Some(NS));
        assert_eq!(span.res("k8s.node.name"), Some(NODE));
        assert!(span.res("k8s.deployment.name").is_some());
        assert!(span.res("k8s.container.name").is_some());
        let instance = span.res("service.instance.id").unwrap_or_default();
        assert!(
            instance.contains(pod) && !instance.contains("$("),
            "{instance}"
        );
        assert!(span.res("process.pid").is_some());
        assert_eq!(span.res("telemetry.sdk.language"), Some("rust"));
    }
    assert_eq!(o_server.service(), "orders-api");
    assert_eq!(i_server.service(), "inventory-api");
    assert_eq!(i_server.res("k8s.deployment.name"), Some("inventory-api"));
    let services = jaeger.services().await.expect("services");
    for s in ["orders-api", "inventory-api"] {
        assert!(services.iter().any(|x| x == s), "{services:?}");
    }
}

#[rstest]
#[case::grpc(Proto::Grpc)]
#[case::http_protobuf(Proto::Http)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ml_train_joins_the_workflow_trace(#[case] proto: Proto) {
    let jaeger = jaeger().await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent_id = "00f067aa0ba902b7";
    let traceparent = format!("00-{trace_id}-{parent_id}-01");
    let pod = argo_step_pod(&traceparent);
    let pod_name = "ml-pipeline-x7k2p-train-1234567890";
    let env = injected_env(&pod, &[], instrumentation(&jaeger, proto), "main", pod_name);
    assert_eq!(
        env_value(&env, "TRACEPARENT"),
        Some(traceparent.as_str()),
        "the webhook keeps Argo's TRACEPARENT"
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let model = dir.path().join("model.json");
    let status = tokio::task::spawn_blocking({
        let env = env.clone();
        let model = model.clone();
        move || {
            let mut p = spawn(
                env!("CARGO_BIN_EXE_ml-train"),
                &[
                    "--dataset",
                    "churn",
                    "--model",
                    "logistic",
                    "--epochs",
                    "50",
                    "--out",
                    model.to_str().unwrap_or_default(),
                ],
                &env,
                pod_name,
            );
            p.0.wait()
        }
    })
    .await
    .expect("join")
    .expect("ml-train runs");
    assert!(status.success());
    assert!(model.is_file());

    // The process has exited: its guard flushed everything before exit. Jaeger's pipeline
    // (a batch processor with a 1 s timeout) stores it within moments.
    let service = env_value(&env, "OTEL_SERVICE_NAME")
        .unwrap_or("?")
        .to_string();
    let spans = jaeger
        .wait_for_trace(trace_id, Duration::from_secs(20), |s| {
            ["ml-train", "load_dataset", "split", "train", "write_model"]
                .iter()
                .all(|n| s.iter().any(|x| x.name == *n && x.service() == service))
        })
        .await
        .unwrap_or_else(|e| panic!("{e:#}\nJaeger's log:\n{}", jaeger.log()));
    // Everything ml-train sent is in the workflow's trace: no span of its service elsewhere.
    let elsewhere: Vec<Span> = jaeger
        .find_traces(&service)
        .await
        .expect("search by service")
        .into_iter()
        .filter(|s| s.trace_id != trace_id)
        .collect();
    assert!(
        elsewhere.is_empty(),
        "spans outside the workflow's trace: {elsewhere:?}"
    );
    let mine: Vec<&Span> = spans.iter().filter(|s| s.service() == service).collect();
    let root = find(&spans, mine[0].service(), "ml-train");
    assert_eq!(
        root.parent_span_id, parent_id,
        "the root span's parent is the workflow step"
    );
    for phase in ["load_dataset", "split", "train", "write_model"] {
        let p = find(&spans, root.service(), phase);
        assert_eq!(p.parent_span_id, root.span_id, "{phase}");
    }
    assert_eq!(root.res("k8s.pod.name"), Some(pod_name));
    assert_eq!(root.res("k8s.namespace.name"), Some(NS));
    assert_eq!(root.res("k8s.container.name"), Some("main"));
}

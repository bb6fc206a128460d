//! Nothing is lost when a pod stops: the real binaries, started with the env the webhook
//! injects and batch delays and a metric interval far longer than the test (so only the
//! shutdown path can deliver anything), are sent requests or left to work, then stopped with
//! SIGTERM or SIGINT; every span they finished must be in a real Jaeger v2 afterwards, and
//! every metric point and log record at an OTLP receiver (Jaeger takes only traces: the
//! Instrumentation sends metrics and logs elsewhere with the per-signal endpoints).
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::io::BufRead;
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use rstest::rstest;

mod common;
use common::*;
#[path = "../../sdk/tests/support/receiver.rs"]
mod receiver;

/// Only a flush at termination delivers spans: the batch processor would wait 10 minutes.
const NO_TIMELY_EXPORT: &[(&str, &str)] = &[("OTEL_BSP_SCHEDULE_DELAY", "600000")];
const REQUESTS: usize = 12;

fn trace_id(i: usize) -> String {
    format!(
        "{:032x}",
        0x5157_0000_0000_0000_0000_0000_0000_0000_u128 + i as u128 + 1
    )
}

#[rstest]
#[case::sigterm_grpc("TERM", Proto::Grpc)]
#[case::sigint_http_protobuf("INT", Proto::Http)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_stopped_by_a_signal_exports_every_span(
    #[case] signal: &str,
    #[case] proto: Proto,
) {
    let jaeger = jaeger().await;
    let receiver = receiver::Receiver::start();
    let (metrics_endpoint, logs_endpoint) = match proto {
        Proto::Grpc => (receiver.grpc_endpoint(), receiver.grpc_endpoint()),
        Proto::Http => (
            format!("{}/v1/metrics", receiver.http_endpoint()),
            format!("{}/v1/logs", receiver.http_endpoint()),
        ),
    };
    let mut env: Vec<(&str, &str)> = NO_TIMELY_EXPORT.to_vec();
    env.extend([
        (
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            metrics_endpoint.as_str(),
        ),
        ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", logs_endpoint.as_str()),
    ]);
    let inst = instrumentation_with(&jaeger, proto, &env);
    let (pod, owners) = deployment_pod("inventory-api", "inventory");
    let pod_name = "inventory-api-6b8d9c7f5d-fghij";
    let env = injected_env(&pod, &owners, inst, "inventory", pod_name);
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = spawn(
        env!("CARGO_BIN_EXE_inventory-api"),
        &["--listen", &format!("127.0.0.1:{port}")],
        &env,
        pod_name,
    );
    let client = reqwest::Client::new();
    wait_healthy(&client, &base).await;

    for i in 0..REQUESTS {
        let res = client
            .post(format!("{base}/reserve"))
            .header("content-type", "application/json")
            .header(
                "traceparent",
                format!("00-{}-00f067aa0ba902b7-01", trace_id(i)),
            )
            .body(r#"{"sku": "kb-42", "quantity": 1}"#)
            .send()
            .await
            .expect("inventory-api answers");
        assert_eq!(res.status(), 200);
    }

    send_signal(&server, signal);
    let started = Instant::now();
    let status = tokio::task::spawn_blocking(move || {
        let status = wait_exit(&mut server, Duration::from_secs(15));
        (status, server)
    })
    .await
    .unwrap()
    .0;
    eprintln!(
        "inventory-api exited {status:?} {:?} after SIG{signal}",
        started.elapsed()
    );
    assert!(
        status.success(),
        "a server that stops itself on SIG{signal} exits 0, got {status:?}"
    );

    for i in 0..REQUESTS {
        let spans = jaeger
            .wait_for_trace(&trace_id(i), Duration::from_secs(10), |s| {
                s.iter().any(|x| x.name == "POST /reserve")
                    && s.iter().any(|x| x.name == "reserve_stock")
            })
            .await
            .unwrap_or_else(|e| panic!("request {i}: {e:#}\nJaeger's log:\n{}", jaeger.log()));
        let server_span = find(&spans, "inventory-api", "POST /reserve");
        assert_eq!(server_span.parent_span_id, "00f067aa0ba902b7");
        assert_eq!(server_span.res("k8s.pod.name"), Some(pod_name));
    }

    // The process has exited: whatever reached the receiver is all there will be.
    let points = receiver.store.points();
    let reserve = points
        .iter()
        .find(|p| {
            p.metric == "http.server.request.duration" && p.attr("http.route") == Some("/reserve")
        })
        .unwrap_or_else(|| panic!("no request duration for /reserve in {points:?}"));
    assert_eq!(reserve.count, REQUESTS as u64, "one point per request");
    assert_eq!(reserve.attr("http.response.status_code"), Some("200"));
    assert_eq!(reserve.res("k8s.pod.name"), Some(pod_name));
    let records = receiver.store.logs();
    let mut traces: Vec<&str> = records
        .iter()
        .filter(|r| r.body == "stock reserved")
        .map(|r| r.trace_id.as_str())
        .collect();
    traces.sort_unstable();
    let expected: Vec<String> = (0..REQUESTS).map(trace_id).collect();
    assert_eq!(
        traces, expected,
        "one log record per request, in its request's trace"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_exporters_write_every_signal_to_stdout() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let env: Vec<(String, String)> = [
        "OTEL_TRACES_EXPORTER",
        "OTEL_METRICS_EXPORTER",
        "OTEL_LOGS_EXPORTER",
    ]
    .iter()
    .map(|k| (k.to_string(), "console".to_string()))
    .chain([("OTEL_SERVICE_NAME".to_string(), "console-test".to_string())])
    .collect();
    let mut server = spawn_reading_stdout(
        env!("CARGO_BIN_EXE_inventory-api"),
        &["--listen", &format!("127.0.0.1:{port}")],
        &env,
        "console-test",
    );
    let stdout = server.0.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = std::io::Read::read_to_string(&mut std::io::BufReader::new(stdout), &mut out);
        out
    });
    let client = reqwest::Client::new();
    wait_healthy(&client, &base).await;
    let res = client
        .post(format!("{base}/reserve"))
        .header("content-type", "application/json")
        .body(r#"{"sku": "kb-42", "quantity": 1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    send_signal(&server, "TERM");
    let status =
        tokio::task::spawn_blocking(move || wait_exit(&mut server, Duration::from_secs(15)))
            .await
            .unwrap();
    assert!(status.success(), "{status:?}");
    let out = reader.join().unwrap();
    assert!(
        out.contains("Spans") && out.contains("POST /reserve"),
        "the span is printed:\n{out}"
    );
    assert!(
        out.contains("http.server.request.duration"),
        "the metric is printed:\n{out}"
    );
    // The console log exporter's own form (log lines also say "stock reserved").
    assert!(
        out.lines()
            .any(|l| l.contains("Body:") && l.contains("stock reserved")),
        "the log record is printed:\n{out}"
    );
}

#[rstest]
#[case::sigterm("TERM", 15)]
#[case::sigint("INT", 2)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_ended_by_a_signal_exports_what_it_finished(
    #[case] signal: &str,
    #[case] signo: i32,
) {
    let jaeger = jaeger().await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let traceparent = format!("00-{trace_id}-00f067aa0ba902b7-01");
    let pod = argo_step_pod(&traceparent);
    let pod_name = "ml-pipeline-x7k2p-train-1234567890";
    let env = injected_env(
        &pod,
        &[],
        instrumentation_with(&jaeger, Proto::Http, NO_TIMELY_EXPORT),
        "main",
        pod_name,
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("model.json");
    let status = tokio::task::spawn_blocking({
        let signal = signal.to_string();
        move || {
            // Far more epochs than the test lasts: the job is still training when stopped.
            let mut job = spawn_reading_stdout(
                env!("CARGO_BIN_EXE_ml-train"),
                &[
                    "--dataset",
                    "churn",
                    "--epochs",
                    "2000000000",
                    "--out",
                    out.to_str().unwrap(),
                ],
                &env,
                pod_name,
            );
            let stdout = job.0.stdout.take().unwrap();
            let mut lines = std::io::BufReader::new(stdout).lines();
            // The first epoch's log line: load_dataset and split have ended by then.
            loop {
                let line = lines.next().expect("ml-train logs an epoch").unwrap();
                if line.contains("epoch done") {
                    break;
                }
            }
            send_signal(&job, &signal);
            wait_exit(&mut job, Duration::from_secs(15))
        }
    })
    .await
    .unwrap();
    assert_eq!(
        status.signal(),
        Some(signo),
        "the job ends the way SIG{signal} ends it, after the flush: {status:?}"
    );
    let spans = jaeger
        .wait_for_trace(trace_id, Duration::from_secs(10), |s| {
            ["load_dataset", "split"]
                .iter()
                .all(|n| s.iter().any(|x| x.name == *n))
        })
        .await
        .unwrap_or_else(|e| panic!("{e:#}\nJaeger's log:\n{}", jaeger.log()));
    assert!(
        !spans.iter().any(|s| s.name == "write_model"),
        "the job was stopped before writing its model"
    );
}

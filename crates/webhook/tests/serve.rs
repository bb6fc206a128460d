//! The real server on a loopback port, real rcgen certificates, a verifying TLS client.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use common::*;
use hyper::StatusCode;
use otel_inject::{
    cluster::{ClusterView, StaticView},
    server::Timeouts,
};
use otel_inject_lib::{Instrumentation, NamespaceInfo, OwnerKey, OwnerObject};
use serde_json::Value;

fn review_of(body: &[u8]) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(body)))
}

/// The value of `series` in `metrics`; panics with the exposition when there is none.
fn sample(metrics: &str, series: &str) -> f64 {
    sample_value(metrics, series).unwrap_or_else(|| panic!("no sample {series} in:\n{metrics}"))
}

fn env_names(pod: &Value) -> Vec<String> {
    pod.pointer("/spec/containers/0/env")
        .and_then(Value::as_array)
        .map(|env| {
            env.iter()
                .filter_map(|e| e.get("name").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn dotnet_pod_is_injected_on_both_paths() {
    let server = start(shop_view()).await;
    let connector = tls_client(&[&server.ca_pem]);
    let mut conn = connect(&connector, server.running.addr).await.unwrap();
    let request = fixture_json("dotnet-pod-create.json");
    for path in ["/mutate", "/mutate-v1-pod"] {
        let (status, body) = post_json(&mut conn, path, fixture("dotnet-pod-create.json")).await;
        assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
        let review = review_of(&body);
        assert_eq!(review["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(review["kind"], "AdmissionReview");
        assert_eq!(review["response"]["uid"], request["request"]["uid"]);
        assert_eq!(review["response"]["allowed"], true);
        assert_eq!(review["response"]["patchType"], "JSONPatch");
        let patch: json_patch::Patch =
            serde_json::from_value(decoded_patch(&review).unwrap()).unwrap();
        let mut pod = request["request"]["object"].clone();
        json_patch::patch(&mut pod, &patch).expect("the patch applies to the pod it was made for");
        let names = env_names(&pod);
        for expected in [
            "CORECLR_ENABLE_PROFILING",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_RESOURCE_ATTRIBUTES",
        ] {
            assert!(
                names.iter().any(|n| n == expected),
                "{expected} missing from {names:?}"
            );
        }
        // The user's own variable survives.
        assert!(names.iter().any(|n| n == "ASPNETCORE_URLS"));
        // The owner chain came from the cluster view: the Deployment's name is an attribute.
        let attrs = serde_json::to_string(&pod).unwrap();
        assert!(attrs.contains("k8s.deployment.name=checkout"), "{attrs}");
    }
    let (status, metrics) = admin_get(server.running.admin_addr.unwrap(), "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        metrics.contains(r#"otel_inject_admissions_total{outcome="injected",language="dotnet",reason="injected"} 2"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("otel_inject_decision_duration_seconds_count 2"),
        "{metrics}"
    );
    // The serving certificate was issued for 3600 s just now: the gauge is its notAfter.
    let expiry = sample(&metrics, "otel_inject_certificate_expiry_timestamp_seconds");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        (now + 3600.0 - 120.0..=now + 3600.0 + 5.0).contains(&expiry),
        "certificate expiry {expiry}, now {now}"
    );
    assert!(
        metrics.contains(r#"otel_inject_cache_objects{cache="instrumentations"} 1"#),
        "{metrics}"
    );
    let (status, _) = admin_get(server.running.admin_addr.unwrap(), "/readyz").await;
    assert_eq!(status, StatusCode::OK);
}

/// Java, Node.js and Python go through the same server path as .NET: the patch loads each
/// language's agent, and the admissions counter names the language.
#[tokio::test]
async fn every_agent_language_is_injected_and_counted() {
    let server = start(shop_view()).await;
    let connector = tls_client(&[&server.ca_pem]);
    let mut conn = connect(&connector, server.running.addr).await.unwrap();
    for (lang, var, init) in [
        (
            "java",
            "JAVA_TOOL_OPTIONS",
            "opentelemetry-auto-instrumentation-java",
        ),
        (
            "nodejs",
            "NODE_OPTIONS",
            "opentelemetry-auto-instrumentation-nodejs",
        ),
        (
            "python",
            "PYTHONPATH",
            "opentelemetry-auto-instrumentation-python",
        ),
    ] {
        let text = String::from_utf8(fixture("dotnet-pod-create.json"))
            .unwrap()
            .replace("inject-dotnet", &format!("inject-{lang}"));
        let request: serde_json::Value = serde_json::from_str(&text).unwrap();
        let (status, body) = post_json(&mut conn, "/mutate", text.into_bytes()).await;
        assert_eq!(status, StatusCode::OK, "{lang}");
        let review = review_of(&body);
        assert_eq!(review["response"]["allowed"], true, "{lang}");
        let patch: json_patch::Patch =
            serde_json::from_value(decoded_patch(&review).unwrap()).unwrap();
        let mut pod = request["request"]["object"].clone();
        json_patch::patch(&mut pod, &patch).expect("the patch applies");
        assert!(env_names(&pod).iter().any(|n| n == var), "{lang}: no {var}");
        assert_eq!(pod["spec"]["initContainers"][0]["name"], init, "{lang}");
    }
    let (_, metrics) = admin_get(server.running.admin_addr.unwrap(), "/metrics").await;
    for lang in ["java", "nodejs", "python"] {
        assert!(
            metrics.contains(&format!(
                r#"otel_inject_admissions_total{{outcome="injected",language="{lang}",reason="injected"}} 1"#
            )),
            "{lang}: {metrics}"
        );
    }
}

/// Go's Pod Security rule through the server: the namespace's labels come from the cluster
/// view, and a namespace that enforces `restricted` gets the pod without the privileged
/// sidecar, with a warning and the reason counted.
#[tokio::test]
async fn go_follows_the_namespace_pod_security_level() {
    let mut objects = otel_inject::cluster::ClusterObjects::default();
    let docs = [
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "locked",
            "labels": {"pod-security.kubernetes.io/enforce": "restricted"}}}),
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "open"}}),
        serde_json::json!({"apiVersion": "opentelemetry.io/v1alpha1", "kind": "Instrumentation",
            "metadata": {"name": "otel", "namespace": "locked"}, "spec": {}}),
        serde_json::json!({"apiVersion": "opentelemetry.io/v1alpha1", "kind": "Instrumentation",
            "metadata": {"name": "otel", "namespace": "open"}, "spec": {}}),
    ];
    for (i, doc) in docs.iter().enumerate() {
        assert!(objects.add(doc, "default", "test", i).unwrap());
    }
    let mut options = otel_inject_lib::InjectOptions::default();
    options.set_enabled(otel_inject_lib::Language::Go, true);
    let server = start_with_options(Arc::new(StaticView::new(objects)), options).await;
    let connector = tls_client(&[&server.ca_pem]);
    let mut conn = connect(&connector, server.running.addr).await.unwrap();
    for (ns, injected) in [("open", true), ("locked", false)] {
        let mut request = fixture_json("dotnet-pod-create.json");
        request["request"]["namespace"] = serde_json::json!(ns);
        let pod = &mut request["request"]["object"];
        pod["metadata"]["namespace"] = serde_json::json!(ns);
        pod["metadata"]["ownerReferences"] = serde_json::json!([]);
        pod["metadata"]["annotations"] = serde_json::json!({
            "instrumentation.opentelemetry.io/inject-go": "true",
            "instrumentation.opentelemetry.io/otel-go-auto-target-exe": "/app/api"});
        let (status, body) =
            post_json(&mut conn, "/mutate", serde_json::to_vec(&request).unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{ns}");
        let review = review_of(&body);
        let patch: json_patch::Patch =
            serde_json::from_value(decoded_patch(&review).unwrap()).unwrap();
        let mut pod = request["request"]["object"].clone();
        json_patch::patch(&mut pod, &patch).unwrap();
        let sidecar = pod["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "opentelemetry-auto-instrumentation");
        assert_eq!(sidecar, injected, "{ns}");
        let warnings: Vec<&str> = review["response"]["warnings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let warnings = warnings.join("\n");
        assert_eq!(
            warnings.contains("enforces the \"restricted\" Pod Security level"),
            !injected,
            "{ns}: {warnings}"
        );
    }
    let (_, metrics) = admin_get(server.running.admin_addr.unwrap(), "/metrics").await;
    assert!(
        metrics.contains(r#"otel_inject_admissions_total{outcome="skipped",language="go",reason="pod_security_level"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn reviews_that_change_nothing_are_allowed_unchanged() {
    let server = start(shop_view()).await;
    let connector = tls_client(&[&server.ca_pem]);
    let mut conn = connect(&connector, server.running.addr).await.unwrap();
    for name in [
        "plain-pod-create.json",
        "configmap-create.json",
        "dotnet-pod-update.json",
        "dotnet-pod-create-dry-run.json",
    ] {
        let request = fixture_json(name);
        let (status, body) = post_json(&mut conn, "/mutate", fixture(name)).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        let review = review_of(&body);
        assert_eq!(
            review["response"]["uid"], request["request"]["uid"],
            "{name}"
        );
        assert_eq!(review["response"]["allowed"], true, "{name}");
        if name == "dotnet-pod-create-dry-run.json" {
            // A dry run is decided like the real thing (no side effects either way).
            assert!(decoded_patch(&review).is_some(), "{name}");
        } else {
            assert!(
                review["response"].get("patch").is_none(),
                "{name}: {review}"
            );
            assert!(
                review["response"].get("patchType").is_none(),
                "{name}: {review}"
            );
        }
    }
}

#[tokio::test]
async fn bad_inputs_get_400_with_a_message() {
    let server = start(shop_view()).await;
    let connector = tls_client(&[&server.ca_pem]);
    let good = fixture_json("dotnet-pod-create.json");
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        f(&mut v);
        serde_json::to_vec(&v).unwrap()
    };
    // (name, content type, body, expected status, expected words in the message)
    type Case<'a> = (&'a str, Option<&'a str>, Vec<u8>, StatusCode, &'a str);
    let cases: Vec<Case> = vec![
        (
            "no content type",
            None,
            fixture("dotnet-pod-create.json"),
            StatusCode::BAD_REQUEST,
            "missing Content-Type",
        ),
        (
            "text content type",
            Some("text/plain"),
            fixture("dotnet-pod-create.json"),
            StatusCode::BAD_REQUEST,
            "unsupported Content-Type \"text/plain\"",
        ),
        (
            "malformed json",
            Some("application/json"),
            b"{\"apiVersion\": ".to_vec(),
            StatusCode::BAD_REQUEST,
            "not valid JSON",
        ),
        (
            "empty body",
            Some("application/json"),
            Vec::new(),
            StatusCode::BAD_REQUEST,
            "not valid JSON",
        ),
        (
            "json array",
            Some("application/json"),
            b"[1,2]".to_vec(),
            StatusCode::BAD_REQUEST,
            "found an array",
        ),
        (
            "v1beta1",
            Some("application/json"),
            fixture("dotnet-pod-create-v1beta1.json"),
            StatusCode::BAD_REQUEST,
            "unsupported apiVersion \"admission.k8s.io/v1beta1\"",
        ),
        (
            "wrong kind",
            Some("application/json"),
            with(&|v| v["kind"] = "Pod".into()),
            StatusCode::BAD_REQUEST,
            "unsupported kind \"Pod\"",
        ),
        (
            "no request",
            Some("application/json"),
            with(&|v| {
                v.as_object_mut().unwrap().remove("request");
            }),
            StatusCode::BAD_REQUEST,
            "no `request`",
        ),
        (
            "empty uid",
            Some("application/json"),
            with(&|v| v["request"]["uid"] = "".into()),
            StatusCode::BAD_REQUEST,
            "`request.uid` is empty",
        ),
        (
            "bad field",
            Some("application/json"),
            with(&|v| v["request"]["operation"] = 7.into()),
            StatusCode::BAD_REQUEST,
            "field `request.operation`",
        ),
        (
            "too large",
            Some("application/json"),
            vec![b' '; 4 * 1024 * 1024],
            StatusCode::PAYLOAD_TOO_LARGE,
            "larger than 3 MiB",
        ),
    ];
    for (name, content_type, body, want_status, want_message) in cases {
        // A fresh connection per case: a 413 may close the connection before the body is read.
        let mut conn = connect(&connector, server.running.addr).await.unwrap();
        let (status, body) = post(&mut conn, "/mutate", content_type, body)
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&body);
        assert_eq!(status, want_status, "{name}: {text}");
        assert!(
            text.contains(want_message),
            "{name}: {text:?} lacks {want_message:?}"
        );
    }
    // Still serving after all that.
    let mut conn = connect(&connector, server.running.addr).await.unwrap();
    let (status, _) = post_json(&mut conn, "/mutate", fixture("dotnet-pod-create.json")).await;
    assert_eq!(status, StatusCode::OK);
    // Wrong path and wrong method are answered, and counted, like every other bad request.
    let mut conn = connect(&connector, server.running.addr).await.unwrap();
    let (status, body) = post(
        &mut conn,
        "/validate",
        Some("application/json"),
        fixture("dotnet-pod-create.json"),
    )
    .await
    .unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(String::from_utf8_lossy(&body).contains("POST /mutate"));
    conn.sender.ready().await.unwrap();
    let get = hyper::Request::get("/mutate")
        .header("host", "localhost")
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    let resp = conn.sender.send_request(get).await.unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    let (_, metrics) = admin_get(server.running.admin_addr.unwrap(), "/metrics").await;
    for (reason, n) in [
        ("malformed_json", 2.0),
        ("body_too_large", 1.0),
        ("not_found", 1.0),
        ("method_not_allowed", 1.0),
    ] {
        assert_eq!(
            sample(
                &metrics,
                &format!(r#"otel_inject_invalid_requests_total{{reason="{reason}"}}"#)
            ),
            n,
            "{reason}"
        );
    }
}

/// A request slower than --request-timeout gets a 408, counted with the other 4xx.
#[tokio::test]
async fn a_request_past_its_timeout_gets_408_and_is_counted() {
    let view = Arc::new(SlowOwners::new(Duration::from_secs(2)));
    let timeouts = Timeouts {
        request: Duration::from_millis(300),
        ..Timeouts::default()
    };
    let server = start_with(view, Duration::from_secs(5), timeouts).await;
    let connector = tls_client(&[&server.ca_pem]);
    let mut conn = connect(&connector, server.running.addr).await.unwrap();
    let (status, _) = post_json(&mut conn, "/mutate", fixture("dotnet-pod-create.json")).await;
    assert_eq!(status, StatusCode::REQUEST_TIMEOUT);
    let (_, metrics) = admin_get(server.running.admin_addr.unwrap(), "/metrics").await;
    assert_eq!(
        sample(
            &metrics,
            r#"otel_inject_invalid_requests_total{reason="request_timeout"}"#
        ),
        1.0
    );
}

#[tokio::test]
async fn slow_headers_are_cut_off() {
    let timeouts = Timeouts {
        header_read: Duration::from_millis(300),
        ..Timeouts::default()
    };
    let server = start_with(shop_view(), Duration::from_millis(200), timeouts).await;
    let connector = tls_client(&[&server.ca_pem]);
    let tcp = tokio::net::TcpStream::connect(server.running.addr)
        .await
        .unwrap();
    let mut tls = connector
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    tls.write_all(b"POST /mutate HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let started = std::time::Instant::now();
    let read = tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut buf)).await;
    let took = started.elapsed();
    assert!(
        read.is_ok(),
        "the server kept a connection with unfinished headers open"
    );
    // Closed by the 300 ms header timeout set above, not by the 5 s default: not before it,
    // and well before the default could have fired (a loaded machine gets some slack).
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_millis(2500),
        "closed after {took:?}, expected about 300 ms"
    );
}

#[tokio::test]
async fn owner_lookup_slower_than_budget_still_injects_with_a_warning() {
    let view = Arc::new(SlowOwners::new(Duration::from_secs(2)));
    let server = start_with(
        view.clone(),
        Duration::from_millis(100),
        Timeouts::default(),
    )
    .await;
    let connector = tls_client(&[&server.ca_pem]);
    let mut conn = connect(&connector, server.running.addr).await.unwrap();
    let started = std::time::Instant::now();
    let (status, body) = post_json(&mut conn, "/mutate", fixture("dotnet-pod-create.json")).await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the budget was not enforced"
    );
    assert_eq!(status, StatusCode::OK);
    let review = review_of(&body);
    assert_eq!(review["response"]["allowed"], true);
    assert!(
        decoded_patch(&review).is_some(),
        "what could be decided is still injected"
    );
    let warnings = warnings(&review);
    assert!(
        warnings.iter().any(|w| w.contains("timed out")),
        "{warnings:?}"
    );
    assert_eq!(view.calls.load(Ordering::SeqCst), 1);
    let (_, metrics) = admin_get(server.running.admin_addr.unwrap(), "/metrics").await;
    assert!(
        metrics.contains(r#"otel_inject_lookup_problems_total{reason="owner_lookup_timeout"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn unreachable_cluster_admits_pods_with_a_warning() {
    install_provider();
    // Nothing listens on port 1: the watches fail and retry, the caches never sync.
    let config = kube::Config::new("http://127.0.0.1:1".parse().unwrap());
    let client = kube::Client::try_from(config).unwrap();
    let (view, tasks) =
        otel_inject::cluster::kube_view::KubeView::start(client, Arc::new(|_, _| {}));
    let server = start(view).await;
    let connector = tls_client(&[&server.ca_pem]);
    let mut conn = connect(&connector, server.running.addr).await.unwrap();
    let request = fixture_json("dotnet-pod-create.json");
    let (status, body) = post_json(&mut conn, "/mutate", fixture("dotnet-pod-create.json")).await;
    assert_eq!(status, StatusCode::OK);
    let review = review_of(&body);
    assert_eq!(review["response"]["uid"], request["request"]["uid"]);
    assert_eq!(review["response"]["allowed"], true);
    assert!(review["response"].get("patch").is_none());
    let warnings = warnings(&review);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("cluster view not ready")),
        "{warnings:?}"
    );
    let admin = server.running.admin_addr.unwrap();
    let (status, text) = admin_get(admin, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{text}");
    assert!(text.contains("caches not synced"), "{text}");
    let (_, metrics) = admin_get(admin, "/metrics").await;
    assert!(
        metrics.contains(r#"otel_inject_admissions_total{outcome="failed",language="none",reason="cluster_view_not_ready"} 1"#),
        "{metrics}"
    );
    for t in tasks {
        t.abort();
    }
}

/// A view that panics: the pod must still be admitted.
struct PanickingView;

impl ClusterView for PanickingView {
    fn readiness(&self) -> Result<(), String> {
        Ok(())
    }
    fn namespace(&self, _: &str) -> Option<NamespaceInfo> {
        panic!("test: namespace lookup exploded")
    }
    fn instrumentations(&self, _: &str) -> Vec<Arc<Instrumentation>> {
        Vec::new()
    }
    fn owner(&self, _: &str, _: &OwnerKey) -> Option<OwnerObject> {
        None
    }
    fn cache_sizes(&self) -> Vec<(&'static str, usize)> {
        Vec::new()
    }
}

#[tokio::test]
async fn a_panic_while_deciding_admits_the_pod() {
    let server = start(Arc::new(PanickingView)).await;
    let connector = tls_client(&[&server.ca_pem]);
    let mut conn = connect(&connector, server.running.addr).await.unwrap();
    let (status, body) = post_json(&mut conn, "/mutate", fixture("dotnet-pod-create.json")).await;
    assert_eq!(status, StatusCode::OK);
    let review = review_of(&body);
    assert_eq!(review["response"]["allowed"], true);
    assert!(warnings(&review)
        .iter()
        .any(|w| w.contains("internal error")));
    // The same connection still works.
    let (status, _) = post_json(&mut conn, "/mutate", fixture("configmap-create.json")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn shutdown_answers_every_in_flight_review() {
    let view = Arc::new(SlowOwners::new(Duration::from_millis(400)));
    let timeouts = Timeouts {
        shutdown_delay: Duration::ZERO,
        ..Timeouts::default()
    };
    let server = start_with(view.clone(), Duration::from_secs(2), timeouts).await;
    let connector = tls_client(&[&server.ca_pem]);
    let addr = server.running.addr;
    let mut in_flight = Vec::new();
    for _ in 0..16 {
        let mut conn = connect(&connector, addr).await.unwrap();
        in_flight.push(tokio::spawn(async move {
            post(
                &mut conn,
                "/mutate",
                Some("application/json"),
                fixture("dotnet-pod-create.json"),
            )
            .await
        }));
    }
    // Wait until every request is inside the decision (its owner lookup sleeping).
    tokio::time::timeout(Duration::from_secs(10), async {
        while view.calls.load(Ordering::SeqCst) < 16 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "only {} of 16 reviews reached the decision in 10 s",
            view.calls.load(Ordering::SeqCst)
        )
    });
    server.running.shutdown.trigger();
    for task in in_flight {
        let (status, body) = task
            .await
            .unwrap()
            .expect("an in-flight review was dropped");
        assert_eq!(status, StatusCode::OK);
        assert!(decoded_patch(&review_of(&body)).is_some());
    }
    tokio::time::timeout(Duration::from_secs(5), server.running.wait())
        .await
        .expect("the server did not stop after draining");
    assert!(
        connect(&connector, addr).await.is_err(),
        "still accepting after shutdown"
    );
}

/// `otel_inject_owner_lookups_total{source}` says where an owner came from: `api` when the
/// cache missed and the direct GET found it, `missing` when it found nothing.
#[tokio::test]
async fn owner_lookups_are_counted_by_source() {
    // Found by the direct GET (within the budget).
    let view = Arc::new(SlowOwners::new(Duration::from_millis(10)));
    let server = start_with(view.clone(), Duration::from_secs(2), Timeouts::default()).await;
    let connector = tls_client(&[&server.ca_pem]);
    let mut conn = connect(&connector, server.running.addr).await.unwrap();
    let (status, body) = post_json(&mut conn, "/mutate", fixture("dotnet-pod-create.json")).await;
    assert_eq!(status, StatusCode::OK);
    let patched = serde_json::to_string(&decoded_patch(&review_of(&body)).unwrap()).unwrap();
    assert!(
        patched.contains("k8s.deployment.name=checkout"),
        "{patched}"
    );
    let (_, metrics) = admin_get(server.running.admin_addr.unwrap(), "/metrics").await;
    assert_eq!(
        sample(&metrics, r#"otel_inject_owner_lookups_total{source="api"}"#),
        1.0
    );
    assert!(!metrics.contains(r#"source="missing""#), "{metrics}");

    // Not in the cache, and the API has no such ReplicaSet either.
    let empty = Arc::new(SlowOwners {
        inner: StaticView::new(otel_inject::cluster::ClusterObjects::default()),
        delay: Duration::from_millis(10),
        calls: AtomicUsize::new(0),
    });
    let server = start_with(empty, Duration::from_secs(2), Timeouts::default()).await;
    let connector = tls_client(&[&server.ca_pem]);
    let mut conn = connect(&connector, server.running.addr).await.unwrap();
    let (status, _) = post_json(&mut conn, "/mutate", fixture("dotnet-pod-create.json")).await;
    assert_eq!(status, StatusCode::OK);
    let (_, metrics) = admin_get(server.running.admin_addr.unwrap(), "/metrics").await;
    assert_eq!(
        sample(
            &metrics,
            r#"otel_inject_owner_lookups_total{source="missing"}"#
        ),
        1.0
    );
    assert!(!metrics.contains(r#"source="api""#), "{metrics}");
}

/// Apache httpd (on by default, as in the operator) goes through the same server path: the
/// patch adds the clone of the app container and the module's init container, and the
/// counter names the language. nginx, off by default, is reported in an admission warning
/// (which kubectl prints) and a metric, never ignored silently.
#[tokio::test]
async fn apache_httpd_is_injected_and_nginx_is_off_by_default() {
    let server = start(shop_view()).await;
    let connector = tls_client(&[&server.ca_pem]);
    let mut conn = connect(&connector, server.running.addr).await.unwrap();
    let mut review = fixture_json("dotnet-pod-create.json");
    review["request"]["object"]["metadata"]["annotations"] =
        serde_json::json!({"instrumentation.opentelemetry.io/inject-apache-httpd": "true"});
    let (status, body) =
        post_json(&mut conn, "/mutate", serde_json::to_vec(&review).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let answer = review_of(&body);
    assert_eq!(answer["response"]["allowed"], true);
    let patch: json_patch::Patch = serde_json::from_value(decoded_patch(&answer).unwrap()).unwrap();
    let mut pod = review["request"]["object"].clone();
    json_patch::patch(&mut pod, &patch).expect("the patch applies");
    let inits: Vec<&str> = pod["spec"]["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(
        inits,
        [
            "otel-agent-source-container-clone",
            "otel-agent-attach-apache"
        ]
    );

    review["request"]["object"]["metadata"]["annotations"] =
        serde_json::json!({"instrumentation.opentelemetry.io/inject-nginx": "true"});
    let (status, body) =
        post_json(&mut conn, "/mutate", serde_json::to_vec(&review).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let answer = review_of(&body);
    assert_eq!(answer["response"]["allowed"], true);
    let warnings = warnings(&answer);
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("otel-inject: nginx not injected")
                && w.contains("--enable-nginx-instrumentation=false")),
        "{warnings:?}"
    );
    let (_, metrics) = admin_get(server.running.admin_addr.unwrap(), "/metrics").await;
    assert_eq!(
        sample(
            &metrics,
            r#"otel_inject_admissions_total{outcome="injected",language="apache-httpd",reason="injected"}"#
        ),
        1.0
    );
    assert_eq!(
        sample(
            &metrics,
            r#"otel_inject_admissions_total{outcome="skipped",language="nginx",reason="language_disabled"}"#
        ),
        1.0
    );
}

/// A view whose Instrumentation lookup holds its thread for a second, as a heavy decision
/// would (a huge pod, a slow CPU).
struct BusyView {
    inner: StaticView,
    busy: Duration,
}

impl ClusterView for BusyView {
    fn readiness(&self) -> Result<(), String> {
        Ok(())
    }
    fn namespace(&self, name: &str) -> Option<NamespaceInfo> {
        self.inner.namespace(name)
    }
    fn instrumentations(&self, namespace: &str) -> Vec<Arc<Instrumentation>> {
        std::thread::sleep(self.busy);
        self.inner.instrumentations(namespace)
    }
    fn owner(&self, namespace: &str, key: &OwnerKey) -> Option<OwnerObject> {
        self.inner.owner(namespace, key)
    }
    fn cache_sizes(&self) -> Vec<(&'static str, usize)> {
        Vec::new()
    }
}

/// The test runs on a single-threaded runtime, as a webhook with a 500m CPU limit would: a
/// decision that holds its thread must not hold up /healthz or another connection's review.
#[tokio::test(flavor = "current_thread")]
async fn a_busy_decision_holds_up_nothing_else() {
    let view = Arc::new(BusyView {
        inner: shop_static(),
        busy: Duration::from_millis(1500),
    });
    let server = start(view).await;
    let connector = tls_client(&[&server.ca_pem]);
    let addr = server.running.addr;
    let mut slow = connect(&connector, addr).await.unwrap();
    let heavy = tokio::spawn(async move {
        let r = post(
            &mut slow,
            "/mutate",
            Some("application/json"),
            fixture("dotnet-pod-create.json"),
        )
        .await;
        (r.map(|(s, _)| s), std::time::Instant::now())
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Meanwhile: the TLS port's /healthz, a review that asks nothing of the view, and the
    // admin port's /readyz all answer before the busy decision is done.
    let mut other = connect(&connector, addr).await.unwrap();
    other.sender.ready().await.unwrap();
    let health = other
        .sender
        .send_request(
            hyper::Request::get("/healthz")
                .header("host", "localhost")
                .body(http_body_util::Full::new(bytes::Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let (status, _) = post_json(&mut other, "/mutate", fixture("configmap-create.json")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = admin_get(server.running.admin_addr.unwrap(), "/readyz").await;
    assert_eq!(status, StatusCode::OK);
    let others_done = std::time::Instant::now();
    let (status, heavy_done) = tokio::time::timeout(Duration::from_secs(10), heavy)
        .await
        .expect("the busy review is answered")
        .unwrap();
    assert_eq!(status, Ok(StatusCode::OK));
    assert!(
        others_done < heavy_done,
        "the other requests waited for the busy decision"
    );
}

/// A body of a few MiB of tiny values would parse into hundreds of MiB: refused before parsing,
/// with what was wrong.
#[tokio::test]
async fn a_review_denser_than_any_pod_is_refused_before_parsing() {
    let server = start(shop_view()).await;
    let connector = tls_client(&[&server.ca_pem]);
    let mut review = fixture_json("dotnet-pod-create.json");
    review["request"]["object"]["spec"]["containers"][0]["args"] =
        Value::Array(vec![Value::from(0); 1_000_000]);
    let body = serde_json::to_vec(&review).unwrap();
    assert!(body.len() < otel_inject::server::MAX_BODY_BYTES);
    let mut conn = connect(&connector, server.running.addr).await.unwrap();
    let (status, answer) = post_json(&mut conn, "/mutate", body).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let text = String::from_utf8_lossy(&answer);
    assert!(text.contains("more than 100000 JSON values"), "{text}");
    let (_, metrics) = admin_get(server.running.admin_addr.unwrap(), "/metrics").await;
    assert_eq!(
        sample(
            &metrics,
            r#"otel_inject_invalid_requests_total{reason="too_many_values"}"#
        ),
        1.0
    );
}

//! No input can make the admission endpoint panic, hang or answer 5xx: generated bodies (random
//! bytes, random JSON, and AdmissionReviews with random kinds, operations and pod shapes) go
//! through the real router. Every 200 must be `allowed: true` for the request's uid, and every
//! patch must apply to the object it was made for.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use otel_inject::admission::Admission;
use otel_inject::cluster::objects::ClusterObjects;
use otel_inject::cluster::static_view::StaticView;
use otel_inject::metrics::Metrics;
use otel_inject::server::admission_router;
use otel_inject_lib::InjectOptions;
use proptest::prelude::*;
use serde_json::{json, Value};
use tower::ServiceExt;

fn router() -> axum::Router {
    let view = StaticView::with_default_instrumentation(ClusterObjects::default())
        .expect("the embedded default Instrumentation parses");
    let metrics = Arc::new(Metrics::new());
    let admission = Arc::new(Admission::new(
        Arc::new(view),
        InjectOptions::default(),
        metrics.clone(),
        Duration::from_millis(200),
    ));
    admission_router(admission, metrics, Duration::from_secs(5), 4)
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-zA-Z0-9/._-]{0,12}".prop_map(Value::String),
        Just(json!("true")),
        Just(json!("instrumentation.opentelemetry.io/inject-dotnet")),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "metadata",
                    "spec",
                    "containers",
                    "initContainers",
                    "name",
                    "env",
                    "value",
                    "annotations",
                    "labels",
                    "image",
                    "volumes",
                    "volumeMounts",
                    "valueFrom",
                    "ownerReferences",
                    "kind",
                    "securityContext",
                    "instrumentation.opentelemetry.io/inject-dotnet",
                    "instrumentation.opentelemetry.io/inject-sdk",
                    "instrumentation.opentelemetry.io/container-names",
                ]),
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

fn pod_like() -> impl Strategy<Value = Value> {
    (any_json(), any_json(), prop::collection::vec(any_json(), 0..3), any::<bool>()).prop_map(
        |(annotations, extra, containers, annotate)| {
            let mut ann = if annotations.is_object() { annotations } else { json!({}) };
            if annotate {
                ann["instrumentation.opentelemetry.io/inject-dotnet"] = json!("true");
                ann["instrumentation.opentelemetry.io/inject-sdk"] = json!("true");
            }
            let containers: Vec<Value> = containers
                .into_iter()
                .enumerate()
                .map(|(i, c)| {
                    let mut c = if c.is_object() { c } else { json!({}) };
                    c["name"] = json!(format!("c{i}"));
                    c
                })
                .collect();
            json!({"metadata": {"name": "p", "annotations": ann, "x": extra}, "spec": {"containers": containers}})
        },
    )
}

fn review_strategy() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["Pod", "ConfigMap", "Deployment", ""]),
        prop::sample::select(vec!["CREATE", "UPDATE", "DELETE", "CONNECT", "BOGUS"]),
        prop_oneof![pod_like(), any_json()],
        any::<bool>(),
    )
        .prop_map(|(kind, op, object, dry_run)| {
            json!({
                "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                "request": {
                    "uid": "0f6c1a8e-4a07-4f5e-9d0b-6a2b9c3d4e5f",
                    "kind": {"group": "", "version": "v1", "kind": kind},
                    "resource": {"group": "", "version": "v1", "resource": "pods"},
                    "namespace": "shop", "operation": op,
                    "userInfo": {"username": "fuzz"},
                    "object": object, "oldObject": null, "dryRun": dry_run,
                }
            })
        })
}

async fn post(router: axum::Router, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
    let req = Request::post("/mutate")
        .header("content-type", "application/json")
        .body(Body::from(body))
        .expect("request");
    let resp = tokio::time::timeout(Duration::from_secs(5), router.oneshot(req))
        .await
        .expect("the router answered within 5 s")
        .expect("infallible");
    let status = resp.status();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    (status, bytes)
}

fn check(status: StatusCode, body: &[u8], review: Option<&Value>) -> Result<(), TestCaseError> {
    prop_assert!(
        status == StatusCode::OK || status.is_client_error(),
        "status {status}: {}",
        String::from_utf8_lossy(body)
    );
    if status.is_client_error() {
        prop_assert!(!body.is_empty(), "a 4xx must say what was wrong");
        return Ok(());
    }
    let answer: Value = serde_json::from_slice(body).expect("200 bodies are JSON");
    prop_assert_eq!(&answer["response"]["allowed"], &json!(true));
    if let Some(review) = review {
        prop_assert_eq!(&answer["response"]["uid"], &review["request"]["uid"]);
        if let Some(patch) = common::decoded_patch(&answer) {
            let patch: json_patch::Patch = serde_json::from_value(patch).expect("a JSON Patch");
            let mut object = review["request"]["object"].clone();
            prop_assert!(
                json_patch::patch(&mut object, &patch).is_ok(),
                "patch does not apply"
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_break_the_endpoint(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let (status, answer) = rt.block_on(post(router(), body));
        check(status, &answer, None)?;
    }

    #[test]
    fn random_reviews_are_allowed_or_refused_with_a_reason(review in review_strategy()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let body = serde_json::to_vec(&review).expect("serialise");
        let (status, answer) = rt.block_on(post(router(), body));
        check(status, &answer, Some(&review))?;
        // Each refusal has one specific cause, named in the answer: an operation that
        // admission.k8s.io/v1 does not have, or, on the one request that is decided (Pod
        // CREATE), an object that is not a pod. Anything else in the envelope is well formed.
        let text = String::from_utf8_lossy(&answer);
        let bogus_op = review["request"]["operation"] == "BOGUS";
        if bogus_op {
            prop_assert!(
                status == StatusCode::BAD_REQUEST && text.contains("field `request.operation`"),
                "{status} for operation BOGUS: {text}"
            );
        } else if status.is_client_error() {
            let decided = review["request"]["kind"]["kind"] == "Pod"
                && review["request"]["operation"] == "CREATE";
            prop_assert!(
                decided && status == StatusCode::BAD_REQUEST && text.contains("request.object"),
                "{status} for a well-formed review: {text}\n{review}"
            );
        }
    }
}

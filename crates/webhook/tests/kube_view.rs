//! The reflector-backed cluster view against a mocked API server (tower-test), in the
//! ApiServerVerifier style of kube-rs: every request the caches make is recorded and answered
//! with canned JSON, then asserted. No cluster needed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use http::{header::ACCEPT, Request, Response, StatusCode};
use kube::client::Body;
use otel_inject::{
    admission::Admission,
    cluster::{kube_view::KubeView, ClusterView},
    metrics::Metrics,
};
use otel_inject_lib::{InjectOptions, OwnerKey};
use serde_json::{json, Value};

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    uri: String,
    accept: String,
}

const METADATA_LIST: &str = "as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";

fn meta_list(items: Vec<Value>) -> Value {
    json!({
        "apiVersion": "meta.k8s.io/v1",
        "kind": "PartialObjectMetadataList",
        "metadata": {"resourceVersion": "100"},
        "items": items.into_iter().map(|metadata| json!({
            "apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": metadata
        })).collect::<Vec<_>>(),
    })
}

fn deployment_owner(name: &str) -> Value {
    json!([{"apiVersion": "apps/v1", "kind": "Deployment", "name": name, "uid": "8c7b6a59-4e3d-4c2b-a1f0-e9d8c7b6a5f4", "controller": true}])
}

/// The canned API server: lists, single GETs, and watches that stay open (held, never answered).
fn answer(path_and_query: &str) -> Option<(StatusCode, Value)> {
    let path = path_and_query.split('?').next().unwrap_or("");
    Some(match path {
        "/apis/opentelemetry.io/v1alpha1/instrumentations" => (
            StatusCode::OK,
            json!({
                "apiVersion": "opentelemetry.io/v1alpha1",
                "kind": "InstrumentationList",
                "metadata": {"resourceVersion": "100"},
                "items": [{
                    "apiVersion": "opentelemetry.io/v1alpha1",
                    "kind": "Instrumentation",
                    "metadata": {"name": "shop-otel", "namespace": "shop", "uid": "i-1", "resourceVersion": "7",
                                 "managedFields": [{"manager": "kubectl", "operation": "Apply"}]},
                    "spec": {
                        "exporter": {"endpoint": "http://jaeger-collector.monitoring.svc.cluster.local:4318"},
                        "propagators": ["tracecontext", "baggage"],
                        "dotnet": {"image": "ghcr.io/open-telemetry/opentelemetry-operator/autoinstrumentation-dotnet:1.16.0"}
                    }
                }, {
                    // The CRD lets a CR leave out `spec`: it must not fail the whole list.
                    "apiVersion": "opentelemetry.io/v1alpha1",
                    "kind": "Instrumentation",
                    "metadata": {"name": "bare", "namespace": "bare", "uid": "i-2", "resourceVersion": "8"}
                }]
            }),
        ),
        "/api/v1/namespaces" => (
            StatusCode::OK,
            meta_list(vec![
                json!({"name": "shop", "uid": "n-1", "resourceVersion": "3",
                       "labels": {"kubernetes.io/metadata.name": "shop"},
                       "annotations": {"instrumentation.opentelemetry.io/inject-dotnet": "true"}}),
                json!({"name": "kube-system", "uid": "n-2", "resourceVersion": "2"}),
            ]),
        ),
        "/apis/apps/v1/replicasets" => (
            StatusCode::OK,
            meta_list(vec![json!({
                "name": "billing-5f4d3c2b1a", "namespace": "shop", "uid": "rs-1", "resourceVersion": "9",
                "labels": {"app": "billing"}, "ownerReferences": deployment_owner("billing"),
                "managedFields": [{"manager": "kube-controller-manager", "operation": "Update"}]
            })]),
        ),
        "/apis/batch/v1/jobs" => (StatusCode::OK, meta_list(vec![])),
        // The ReplicaSet created a moment ago: not in the list yet, but a GET finds it.
        "/apis/apps/v1/namespaces/shop/replicasets/checkout-6d9f7c8b5d" => (
            StatusCode::OK,
            json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": {
                "name": "checkout-6d9f7c8b5d", "namespace": "shop", "uid": "3f0e4e7e-2b1c-4c55-9a0e-6f1b2d7c9a11",
                "ownerReferences": deployment_owner("checkout")}}),
        ),
        p if p.starts_with("/apis/") || p.starts_with("/api/") => (
            StatusCode::NOT_FOUND,
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                   "message": format!("{p} not found"), "reason": "NotFound", "code": 404}),
        ),
        _ => return None,
    })
}

struct Verifier {
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

fn api_server() -> (kube::Client, Verifier) {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let task = tokio::spawn(async move {
        // Watches are held open, as a quiet API server does.
        let mut open_watches = Vec::new();
        while let Some((request, send)) = handle.next_request().await {
            let uri = request.uri().to_string();
            record.lock().unwrap().push(Seen {
                method: request.method().to_string(),
                uri: uri.clone(),
                accept: request
                    .headers()
                    .get(ACCEPT)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string(),
            });
            if uri.contains("watch=true") {
                open_watches.push(send);
                continue;
            }
            let (status, body) = answer(&uri).unwrap_or((StatusCode::BAD_REQUEST, json!({})));
            send.send_response(
                Response::builder()
                    .status(status)
                    .header("content-type", "application/json")
                    .body(Body::from(serde_json::to_vec(&body).unwrap()))
                    .unwrap(),
            );
        }
    });
    (
        kube::Client::new(service, "default"),
        Verifier { seen, task },
    )
}

async fn until_ready(view: &KubeView) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while let Err(why) = view.readiness() {
        assert!(tokio::time::Instant::now() < deadline, "never ready: {why}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn caches_list_and_watch_metadata_only_and_fall_back_to_get() {
    common::install_provider();
    let (client, verifier) = api_server();
    let errors = Arc::new(Mutex::new(Vec::new()));
    let record = errors.clone();
    let (view, tasks) = KubeView::start(
        client,
        Arc::new(move |cache, e| record.lock().unwrap().push(format!("{cache}: {e}"))),
    );
    until_ready(&view).await;

    let ns = view.namespace("shop").unwrap();
    assert_eq!(
        ns.annotations["instrumentation.opentelemetry.io/inject-dotnet"],
        "true"
    );
    assert_eq!(view.instrumentations("shop").len(), 1);
    assert!(view.instrumentations("kube-system").is_empty());
    let bare = view.instrumentations("bare");
    assert_eq!(bare.len(), 1, "a spec-less Instrumentation is cached");
    assert_eq!(bare[0].spec, Default::default());
    let billing = view
        .owner(
            "shop",
            &OwnerKey {
                kind: "ReplicaSet".into(),
                name: "billing-5f4d3c2b1a".into(),
            },
        )
        .unwrap();
    assert_eq!(billing.owner_references[0].name, "billing");
    assert_eq!(billing.uid, "rs-1");
    let fresh = OwnerKey {
        kind: "ReplicaSet".into(),
        name: "checkout-6d9f7c8b5d".into(),
    };
    assert!(
        view.owner("shop", &fresh).is_none(),
        "not listed: must need the GET"
    );
    let fetched = view.fetch_owner("shop", &fresh).await.unwrap().unwrap();
    assert_eq!(fetched.owner_references[0].name, "checkout");
    let gone = OwnerKey {
        kind: "Job".into(),
        name: "gone".into(),
    };
    assert_eq!(view.fetch_owner("shop", &gone).await.unwrap(), None);
    let sizes = view.cache_sizes();
    assert!(
        sizes.contains(&("namespaces", 2)) && sizes.contains(&("replicasets", 1)),
        "{sizes:?}"
    );

    let seen = verifier.seen.lock().unwrap().clone();
    let find = |prefix: &str, watch: bool| {
        seen.iter()
            .find(|s| s.uri.starts_with(prefix) && s.uri.contains("watch=true") == watch)
            .unwrap_or_else(|| {
                panic!(
                    "no {} request for {prefix}: {seen:#?}",
                    if watch { "watch" } else { "list" }
                )
            })
            .clone()
    };
    // Full objects for Instrumentations, metadata only for everything else.
    let list = find("/apis/opentelemetry.io/v1alpha1/instrumentations?", false);
    assert_eq!(list.method, "GET");
    assert!(!list.accept.contains(METADATA_LIST), "{list:?}");
    for prefix in [
        "/api/v1/namespaces?",
        "/apis/apps/v1/replicasets?",
        "/apis/batch/v1/jobs?",
    ] {
        let list = find(prefix, false);
        assert!(list.accept.contains(METADATA_LIST), "{list:?}");
        // The watch resumes from the list's resourceVersion.
        let watch = find(prefix, true);
        assert!(watch.uri.contains("resourceVersion=100"), "{watch:?}");
        assert!(
            watch.accept.contains("as=PartialObjectMetadata"),
            "{watch:?}"
        );
    }
    let get = find(
        "/apis/apps/v1/namespaces/shop/replicasets/checkout-6d9f7c8b5d",
        false,
    );
    assert_eq!(get.method, "GET");
    assert!(get.accept.contains("as=PartialObjectMetadata;"), "{get:?}");
    assert!(
        errors.lock().unwrap().is_empty(),
        "{:?}",
        errors.lock().unwrap()
    );
    for t in tasks {
        t.abort();
    }
    verifier.task.abort();
}

#[tokio::test]
async fn a_pod_of_a_fresh_replicaset_gets_its_deployment_attributes() {
    common::install_provider();
    let (client, verifier) = api_server();
    let (view, tasks) = KubeView::start(client, Arc::new(|_, _| {}));
    until_ready(&view).await;
    let admission = Admission::new(
        view,
        InjectOptions::default(),
        Arc::new(Metrics::new()),
        Duration::from_millis(200),
    );
    let (review, record) = admission
        .review_bytes(&common::fixture("dotnet-pod-create.json"))
        .await
        .unwrap();
    assert_eq!(record.outcome, "injected", "{review}");
    let patch = serde_json::to_string(&common::decoded_patch(&review).unwrap()).unwrap();
    assert!(patch.contains("k8s.deployment.name=checkout"), "{patch}");
    assert!(common::warnings(&review).is_empty(), "{review}");
    for t in tasks {
        t.abort();
    }
    verifier.task.abort();
}

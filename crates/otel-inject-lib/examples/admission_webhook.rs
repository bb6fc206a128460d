//! The library inside someone else's admission webhook: a minimal kube-rs + axum server that
//! answers pod-creation AdmissionReviews with otel-inject's patch.
//!
//! It lists the namespace's Instrumentations on every request to stay short; a real server
//! keeps them in a `kube::runtime::reflector` cache, looks up the pod's owners (ReplicaSet, Job)
//! for the workload name, serves TLS (the API server only calls HTTPS webhooks: put rustls in
//! front, as the `otel-inject` binary does) and never lets its own failure block a pod.
//!
//! ```sh
//! cargo run -p otel-inject-lib --example admission_webhook   # listens on 127.0.0.1:8080
//! ```

use std::sync::Arc;

use axum::{extract::State, routing::post, Json, Router};
use kube::api::{Api, ListParams};
use kube::core::{
    admission::{AdmissionRequest, AdmissionResponse, AdmissionReview},
    DynamicObject,
};
use otel_inject_lib::{mutate, InjectOptions, Instrumentation, NamespaceInfo, PodContext};

async fn review(
    State(client): State<kube::Client>,
    Json(review): Json<AdmissionReview<DynamicObject>>,
) -> Json<AdmissionReview<DynamicObject>> {
    let request: AdmissionRequest<DynamicObject> = match review.try_into() {
        Ok(r) => r,
        Err(e) => return Json(AdmissionResponse::invalid(e.to_string()).into_review()),
    };
    let response = AdmissionResponse::from(&request);
    let (Some(pod), Some(namespace)) = (&request.object, request.namespace.clone()) else {
        return Json(response.into_review());
    };
    let pod = match serde_json::to_value(pod) {
        Ok(p) => p,
        Err(_) => return Json(response.into_review()),
    };
    // Failing open: without its Instrumentations the pod is admitted as it is.
    let instrumentations: Vec<Arc<Instrumentation>> =
        match Api::<Instrumentation>::namespaced(client, &namespace)
            .list(&ListParams::default())
            .await
        {
            Ok(list) => list.items.into_iter().map(Arc::new).collect(),
            Err(_) => return Json(response.into_review()),
        };
    let decision = mutate(&PodContext {
        pod: &pod,
        namespace: &NamespaceInfo::named(namespace),
        instrumentations: &instrumentations,
        owners: &[],
        options: &InjectOptions::default(),
    });
    let mut response = if decision.has_patch() {
        // A patch that cannot be encoded admits the pod unchanged.
        response
            .with_patch(decision.patch.to_json_patch())
            .unwrap_or_else(|_| AdmissionResponse::from(&request))
    } else {
        response
    };
    // What was skipped and why, shown by kubectl to whoever created the pod.
    response.warnings = Some(decision.warnings.clone()).filter(|w| !w.is_empty());
    Json(response.into_review())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let client = kube::Client::try_default().await?;
    let app = Router::new()
        .route("/mutate", post(review))
        .with_state(client);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    axum::serve(listener, app).await?;
    Ok(())
}

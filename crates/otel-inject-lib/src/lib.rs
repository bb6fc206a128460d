//! otel-inject-lib: the decision engine of otel-inject.
//!
//! Given a pod (as raw JSON), its namespace, the Instrumentations that may apply and the pod's
//! owners, [`mutate`] decides what OpenTelemetry auto-instrumentation to inject and returns an
//! RFC 6902 JSON Patch that touches only what it adds, plus a per-container explanation.
//! It is pure and synchronous: no I/O, no async, no Kubernetes client. It reads the
//! OpenTelemetry Operator's annotations and `Instrumentation` resource as they are.
//!
//! ```
//! use std::sync::Arc;
//! use otel_inject_lib::{mutate, InjectOptions, Instrumentation, NamespaceInfo, Outcome, PodContext};
//! use serde_json::json;
//!
//! // The pod as the API server sends it in an AdmissionReview.
//! let mut pod = json!({
//!     "apiVersion": "v1", "kind": "Pod",
//!     "metadata": {
//!         "name": "web", "namespace": "shop",
//!         "annotations": {"instrumentation.opentelemetry.io/inject-java": "true"}
//!     },
//!     "spec": {"containers": [{"name": "app", "image": "shop/web:1.4"}]}
//! });
//! // The namespace's Instrumentation, as a cluster or a file holds it.
//! let instrumentation: Instrumentation = serde_json::from_value(json!({
//!     "apiVersion": "opentelemetry.io/v1alpha1", "kind": "Instrumentation",
//!     "metadata": {"name": "otel", "namespace": "shop"},
//!     "spec": {"exporter": {"endpoint": "http://collector.observability:4318"}}
//! }))?;
//!
//! let decision = mutate(&PodContext {
//!     pod: &pod,
//!     namespace: &NamespaceInfo::named("shop"),
//!     instrumentations: &[Arc::new(instrumentation)],
//!     owners: &[],
//!     options: &InjectOptions::default(),
//! });
//! assert_eq!(decision.outcome(), Outcome::Injected);
//! println!("{}", decision.explain());
//!
//! // The patch is what an admission response carries; applied, it gives the injected pod.
//! decision.patch.apply(&mut pod)?;
//! let env = &pod["spec"]["containers"][0]["env"];
//! assert!(env.as_array().unwrap().iter().any(|e| e["name"] == "OTEL_EXPORTER_OTLP_ENDPOINT"
//!     && e["value"] == "http://collector.observability:4318"));
//! assert_eq!(pod["spec"]["initContainers"][0]["name"], "opentelemetry-auto-instrumentation-java");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! What is public is what a caller needs: the context ([`PodContext`], [`NamespaceInfo`],
//! [`OwnerObject`], [`InjectOptions`]), [`mutate`] and its [`InjectionDecision`], the
//! [`Instrumentation`] model and its CRD ([`crd`]), the annotation and name constants
//! ([`annotations`], [`names`]), the `OTEL_RESOURCE_ATTRIBUTES` codec ([`resource_attributes`]),
//! each runtime's defaults ([`lang`]). The API is recorded in `crates/otel-inject-lib/public-api.txt`,
//! which a test compares with the built crate, so every change to it shows in review. Enums
//! that grow with new runtimes or reasons are `#[non_exhaustive]`.
//!
//! Without the default `k8s` feature only the shared names and encodings are built
//! ([`names`], [`resource_attributes`], [`sdk_values`]); the SDK crate uses them that way.
#![warn(missing_docs)]

pub mod names;
pub mod resource_attributes;
pub mod sdk_values;

#[cfg(feature = "k8s")]
pub mod annotations;
#[cfg(feature = "k8s")]
pub mod context;
#[cfg(feature = "k8s")]
pub mod crd;
#[cfg(feature = "k8s")]
pub mod decision;
#[cfg(feature = "k8s")]
mod env;
#[cfg(feature = "k8s")]
pub mod image;
#[cfg(feature = "k8s")]
pub mod injected;
#[cfg(feature = "k8s")]
pub mod instrumentation;
#[cfg(feature = "k8s")]
mod json;
#[cfg(feature = "k8s")]
pub mod kubelet;
#[cfg(feature = "k8s")]
pub mod lang;
#[cfg(feature = "k8s")]
mod mutate;
#[cfg(feature = "k8s")]
mod patch;
#[cfg(feature = "k8s")]
mod patch_json;
#[cfg(feature = "k8s")]
mod pod;
#[cfg(feature = "k8s")]
mod sdk;
#[cfg(feature = "k8s")]
pub mod security;

#[cfg(feature = "k8s")]
pub use annotations::{AnnotationError, Language};
#[cfg(feature = "k8s")]
pub use context::{
    instrumentation_namespaces, owner_lookups, InjectOptions, NamespaceInfo, OwnerKey, OwnerObject,
    PodContext,
};
#[cfg(feature = "k8s")]
pub use decision::{ContainerDecision, InjectionDecision, LanguageDecision, Outcome, Reason};
#[cfg(feature = "k8s")]
pub use instrumentation::{Instrumentation, InstrumentationSpec};
#[cfg(feature = "k8s")]
pub use json_patch;
#[cfg(feature = "k8s")]
pub use mutate::mutate;
#[cfg(feature = "k8s")]
pub use patch::Patch;

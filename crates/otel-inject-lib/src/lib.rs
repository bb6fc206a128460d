//! otel-inject-lib: the decision engine of otel-inject.
//!
//! Given a pod (as raw JSON), its namespace, the Instrumentations that may apply and the pod's
//! owners, [`mutate`] decides what OpenTelemetry auto-instrumentation to inject and returns an
//! RFC 6902 JSON Patch that touches only what it adds, plus a per-container explanation.
//! It is pure and synchronous: no I/O, no async, no Kubernetes client.
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
pub mod instrumentation;
#[cfg(feature = "k8s")]
pub mod kubelet;
#[cfg(feature = "k8s")]
pub mod lang;
#[cfg(feature = "k8s")]
mod mutate;
#[cfg(feature = "k8s")]
pub mod patch;
#[cfg(feature = "k8s")]
pub mod pod;
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

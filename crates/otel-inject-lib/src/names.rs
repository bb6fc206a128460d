//! Names shared by the webhook (which injects them) and the SDK (which reads them): environment
//! variables, annotation keys and the operator's markers. What belongs to one language (its
//! volume, init container, paths, image and variables) is in that language's unit, `lang::*`.
//! They are the OpenTelemetry Operator's names, byte for byte, so manifests written for the
//! operator keep working.

/// Environment variables of the OpenTelemetry SDK specification and of the operator's injection.
pub mod env {
    /// `service.name` of the resource.
    pub const OTEL_SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
    /// Comma-separated `key=value` resource attributes.
    pub const OTEL_RESOURCE_ATTRIBUTES: &str = "OTEL_RESOURCE_ATTRIBUTES";
    /// Downward API: the pod name, referenced as `$(OTEL_RESOURCE_ATTRIBUTES_POD_NAME)`.
    pub const OTEL_RESOURCE_ATTRIBUTES_POD_NAME: &str = "OTEL_RESOURCE_ATTRIBUTES_POD_NAME";
    /// Downward API: the pod UID.
    pub const OTEL_RESOURCE_ATTRIBUTES_POD_UID: &str = "OTEL_RESOURCE_ATTRIBUTES_POD_UID";
    /// Downward API: the node name. Also the operator's "already injected" marker.
    pub const OTEL_RESOURCE_ATTRIBUTES_NODE_NAME: &str = "OTEL_RESOURCE_ATTRIBUTES_NODE_NAME";
    /// Downward API: the pod IP.
    pub const OTEL_POD_IP: &str = "OTEL_POD_IP";
    /// Downward API: the node (host) IP.
    pub const OTEL_NODE_IP: &str = "OTEL_NODE_IP";
    /// Base OTLP endpoint for all signals.
    pub const OTEL_EXPORTER_OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
    /// OTLP endpoint for traces, used as is.
    pub const OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
    /// `grpc`, `http/protobuf` or `http/json`.
    pub const OTEL_EXPORTER_OTLP_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
    /// Protocol for traces only.
    pub const OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: &str = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";
    /// `k=v` pairs sent as headers (values percent-encoded).
    pub const OTEL_EXPORTER_OTLP_HEADERS: &str = "OTEL_EXPORTER_OTLP_HEADERS";
    /// Headers for traces only.
    pub const OTEL_EXPORTER_OTLP_TRACES_HEADERS: &str = "OTEL_EXPORTER_OTLP_TRACES_HEADERS";
    /// Export timeout in milliseconds.
    pub const OTEL_EXPORTER_OTLP_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TIMEOUT";
    /// Export timeout for traces in milliseconds.
    pub const OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: &str = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT";
    /// `gzip` or `none`.
    pub const OTEL_EXPORTER_OTLP_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_COMPRESSION";
    /// Compression for traces only.
    pub const OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: &str = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION";
    /// PEM file of the CA that signs the collector's certificate.
    pub const OTEL_EXPORTER_OTLP_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_CERTIFICATE";
    /// PEM file of the client certificate (mTLS).
    pub const OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: &str = "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE";
    /// PEM file of the client key (mTLS).
    pub const OTEL_EXPORTER_OTLP_CLIENT_KEY: &str = "OTEL_EXPORTER_OTLP_CLIENT_KEY";
    /// `true` to use plaintext gRPC for a schemeless endpoint.
    pub const OTEL_EXPORTER_OTLP_INSECURE: &str = "OTEL_EXPORTER_OTLP_INSECURE";
    /// Comma-separated propagators.
    pub const OTEL_PROPAGATORS: &str = "OTEL_PROPAGATORS";
    /// Sampler name.
    pub const OTEL_TRACES_SAMPLER: &str = "OTEL_TRACES_SAMPLER";
    /// Sampler argument.
    pub const OTEL_TRACES_SAMPLER_ARG: &str = "OTEL_TRACES_SAMPLER_ARG";
    /// `true` turns the SDK into a no-op.
    pub const OTEL_SDK_DISABLED: &str = "OTEL_SDK_DISABLED";
    /// `otlp` or `none`.
    pub const OTEL_TRACES_EXPORTER: &str = "OTEL_TRACES_EXPORTER";
    /// Batch span processor: delay between exports in milliseconds.
    pub const OTEL_BSP_SCHEDULE_DELAY: &str = "OTEL_BSP_SCHEDULE_DELAY";
    /// Batch span processor: export timeout in milliseconds.
    pub const OTEL_BSP_EXPORT_TIMEOUT: &str = "OTEL_BSP_EXPORT_TIMEOUT";
    /// Batch span processor: queue size.
    pub const OTEL_BSP_MAX_QUEUE_SIZE: &str = "OTEL_BSP_MAX_QUEUE_SIZE";
    /// Batch span processor: batch size.
    pub const OTEL_BSP_MAX_EXPORT_BATCH_SIZE: &str = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE";
    /// W3C trace context of the parent, for processes started by a batch system.
    pub const TRACEPARENT: &str = "TRACEPARENT";
    /// W3C trace state of the parent.
    pub const TRACESTATE: &str = "TRACESTATE";
    /// W3C baggage of the parent.
    pub const BAGGAGE: &str = "BAGGAGE";
}

/// Resource attribute keys (semantic conventions) that the injection writes.
pub mod attr {
    /// `service.name`
    pub const SERVICE_NAME: &str = "service.name";
    /// `service.version`
    pub const SERVICE_VERSION: &str = "service.version";
    /// `service.namespace`
    pub const SERVICE_NAMESPACE: &str = "service.namespace";
    /// `service.instance.id`
    pub const SERVICE_INSTANCE_ID: &str = "service.instance.id";
    /// `k8s.namespace.name`
    pub const K8S_NAMESPACE_NAME: &str = "k8s.namespace.name";
    /// `k8s.container.name`
    pub const K8S_CONTAINER_NAME: &str = "k8s.container.name";
    /// `k8s.pod.name`
    pub const K8S_POD_NAME: &str = "k8s.pod.name";
    /// `k8s.pod.uid`
    pub const K8S_POD_UID: &str = "k8s.pod.uid";
    /// `k8s.node.name`
    pub const K8S_NODE_NAME: &str = "k8s.node.name";
    /// `k8s.replicaset.name`
    pub const K8S_REPLICASET_NAME: &str = "k8s.replicaset.name";
    /// `k8s.replicaset.uid`
    pub const K8S_REPLICASET_UID: &str = "k8s.replicaset.uid";
    /// `k8s.deployment.name`
    pub const K8S_DEPLOYMENT_NAME: &str = "k8s.deployment.name";
    /// `k8s.deployment.uid`
    pub const K8S_DEPLOYMENT_UID: &str = "k8s.deployment.uid";
    /// `k8s.statefulset.name`
    pub const K8S_STATEFULSET_NAME: &str = "k8s.statefulset.name";
    /// `k8s.statefulset.uid`
    pub const K8S_STATEFULSET_UID: &str = "k8s.statefulset.uid";
    /// `k8s.daemonset.name`
    pub const K8S_DAEMONSET_NAME: &str = "k8s.daemonset.name";
    /// `k8s.daemonset.uid`
    pub const K8S_DAEMONSET_UID: &str = "k8s.daemonset.uid";
    /// `k8s.job.name`
    pub const K8S_JOB_NAME: &str = "k8s.job.name";
    /// `k8s.job.uid`
    pub const K8S_JOB_UID: &str = "k8s.job.uid";
    /// `k8s.cronjob.name`
    pub const K8S_CRONJOB_NAME: &str = "k8s.cronjob.name";
    /// `k8s.cronjob.uid`
    pub const K8S_CRONJOB_UID: &str = "k8s.cronjob.uid";
}

/// Annotation keys read on pods and namespaces, and the ones we write.
pub mod annotation {
    /// Prefix of every operator annotation.
    pub const PREFIX: &str = "instrumentation.opentelemetry.io/";
    /// Target containers for every requested language.
    pub const CONTAINER_NAMES: &str = "instrumentation.opentelemetry.io/container-names";
    /// Go target executable (pod only).
    pub const GO_TARGET_EXE: &str = "instrumentation.opentelemetry.io/otel-go-auto-target-exe";
    /// Prefix of resource attribute annotations on pods.
    pub const RESOURCE_PREFIX: &str = "resource.opentelemetry.io/";
    /// The status annotation this project writes on every pod it decided about.
    pub const STATUS: &str = "otel-inject.dev/status";
    /// What each injected language got: `java=shop/otel@<spec hash>; ...`
    /// (`crate::injected`), written beside the status when a language is injected.
    pub const INJECTED: &str = "otel-inject.dev/injected";
    /// Kubernetes' own default-container annotation.
    pub const DEFAULT_CONTAINER: &str = "kubectl.kubernetes.io/default-container";
}

/// Labels read on pods.
pub mod label {
    /// `app.kubernetes.io/name`
    pub const APP_NAME: &str = "app.kubernetes.io/name";
    /// `app.kubernetes.io/instance`
    pub const APP_INSTANCE: &str = "app.kubernetes.io/instance";
    /// `app.kubernetes.io/version`
    pub const APP_VERSION: &str = "app.kubernetes.io/version";
    /// Set by Argo Workflows on every step pod.
    pub const ARGO_WORKFLOW: &str = "workflows.argoproj.io/workflow";
}

/// Init container names the operator (and we) treat as "this pod is already instrumented".
pub const INJECTED_INIT_CONTAINERS: &[&str] = &[
    "opentelemetry-auto-instrumentation-dotnet",
    "opentelemetry-auto-instrumentation-java",
    "opentelemetry-auto-instrumentation-nodejs",
    "opentelemetry-auto-instrumentation-python",
    "otel-agent-attach-apache",
    "otel-agent-source-container-clone",
];

/// The Go sidecar's container name, also an "already instrumented" marker.
pub const GO_SIDECAR: &str = "opentelemetry-auto-instrumentation";

/// The collector sidecar's container name, exempt from the node-name marker check.
pub const COLLECTOR_SIDECAR: &str = "otc-container";

/// The emptyDir size limit the operator uses when `volumeLimitSize` is not set.
pub const DEFAULT_VOLUME_SIZE_LIMIT: &str = "200Mi";

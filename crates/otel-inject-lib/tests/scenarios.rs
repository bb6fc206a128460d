//! One test per injection scenario: each applies the patch to the input with json-patch,
//! checks idempotency (in `common::run`), asserts what matters, and snapshots the whole
//! mutated pod so a reviewer can read it.

mod common;

use common::*;
use otel_inject_lib::{InjectOptions, Language, NamespaceInfo, Outcome as O};
use serde_json::json;

const NS: &str = "e2e-dotnet";

fn dotnet_app() -> serde_json::Value {
    json!([{"name": "myapp", "image": "ghcr.io/acme/my-dotnet:main",
            "ports": [{"containerPort": 8080}]}])
}

#[test]
fn dotnet_deployment_pod_matches_the_operator_byte_for_byte() {
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-dotnet": "true"}),
        dotnet_app(),
    );
    let out = run(
        &pod,
        NS,
        &[dotnet_instrumentation(NS)],
        &[replicaset("my-dotnet-6b8d9c7f5d", "my-dotnet")],
    );
    assert_eq!(out.decision.outcome(), O::Injected);
    let app = container(&out.mutated, "containers", "myapp");
    // The operator's canonical order (e2e instrumentation-dotnet).
    assert_eq!(
        env_names(app),
        [
            "OTEL_NODE_IP",
            "OTEL_POD_IP",
            "CORECLR_ENABLE_PROFILING",
            "CORECLR_PROFILER",
            "CORECLR_PROFILER_PATH",
            "DOTNET_STARTUP_HOOKS",
            "DOTNET_ADDITIONAL_DEPS",
            "OTEL_DOTNET_AUTO_HOME",
            "DOTNET_SHARED_STORE",
            "OTEL_SERVICE_NAME",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_RESOURCE_ATTRIBUTES_POD_NAME",
            "OTEL_RESOURCE_ATTRIBUTES_NODE_NAME",
            "OTEL_PROPAGATORS",
            "OTEL_TRACES_SAMPLER",
            "OTEL_TRACES_SAMPLER_ARG",
            "OTEL_RESOURCE_ATTRIBUTES",
        ]
    );
    assert_eq!(
        env_value(app, "OTEL_RESOURCE_ATTRIBUTES"),
        Some("k8s.container.name=myapp,k8s.deployment.name=my-dotnet,k8s.namespace.name=e2e-dotnet,k8s.node.name=$(OTEL_RESOURCE_ATTRIBUTES_NODE_NAME),k8s.pod.name=$(OTEL_RESOURCE_ATTRIBUTES_POD_NAME),k8s.replicaset.name=my-dotnet-6b8d9c7f5d,service.instance.id=e2e-dotnet.$(OTEL_RESOURCE_ATTRIBUTES_POD_NAME).myapp,service.namespace=e2e-dotnet,service.version=main")
    );
    assert_eq!(env_value(app, "OTEL_SERVICE_NAME"), Some("my-dotnet"));
    assert_eq!(
        env_value(app, "CORECLR_PROFILER_PATH"),
        Some("/otel-auto-instrumentation-dotnet/linux/OpenTelemetry.AutoInstrumentation.Native.so")
    );
    let init = container(
        &out.mutated,
        "initContainers",
        "opentelemetry-auto-instrumentation-dotnet",
    );
    assert_eq!(
        init["command"],
        json!([
            "cp",
            "-r",
            "/autoinstrumentation/.",
            "/otel-auto-instrumentation-dotnet"
        ])
    );
    // No resourceRequirements in the CR: the .NET defaults, from the production constant.
    assert_eq!(
        init["resources"],
        otel_inject_lib::lang::dotnet::default_resources()
    );
    assert_eq!(
        out.mutated["spec"]["volumes"],
        json!([{"name": "opentelemetry-auto-instrumentation-dotnet", "emptyDir": {"sizeLimit": "200Mi"}}])
    );
    assert_eq!(
        status(&out.mutated),
        Some("dotnet: injected into myapp (instrumentation e2e-dotnet/dotnet)")
    );
    assert!(
        out.decision.warnings.is_empty(),
        "{:?}",
        out.decision.warnings
    );
    insta::assert_yaml_snapshot!(out.mutated);
    insta::assert_json_snapshot!("dotnet_deployment_pod_patch", out.decision.patch);
}

#[test]
fn musl_runtime_uses_the_musl_profiler() {
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-dotnet": "true",
               "instrumentation.opentelemetry.io/otel-dotnet-auto-runtime": "linux-musl-x64"}),
        dotnet_app(),
    );
    let out = run(&pod, NS, &[dotnet_instrumentation(NS)], &[]);
    let app = container(&out.mutated, "containers", "myapp");
    assert_eq!(
        env_value(app, "CORECLR_PROFILER_PATH"),
        Some("/otel-auto-instrumentation-dotnet/linux-musl/OpenTelemetry.AutoInstrumentation.Native.so")
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

#[test]
fn namespace_level_runtime_annotation_is_honoured() {
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-dotnet": "true"}),
        dotnet_app(),
    );
    let mut ns = NamespaceInfo::named(NS);
    ns.annotations.insert(
        "instrumentation.opentelemetry.io/otel-dotnet-auto-runtime".into(),
        "linux-musl-x64".into(),
    );
    let out = run_with(
        &pod,
        &ns,
        &[dotnet_instrumentation(NS)],
        &[],
        &InjectOptions::default(),
    );
    let app = container(&out.mutated, "containers", "myapp");
    assert!(env_value(app, "CORECLR_PROFILER_PATH")
        .unwrap_or("")
        .contains("/linux-musl/"));
    insta::assert_yaml_snapshot!(out.mutated);
}

#[test]
fn existing_user_env_wins_and_lists_are_joined() {
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-dotnet": "true"}),
        json!([{"name": "myapp", "image": "acme/app:2.0", "env": [
            {"name": "OTEL_SERVICE_NAME", "value": "checkout"},
            {"name": "DOTNET_STARTUP_HOOKS", "value": "/app/MyHook.dll"},
            {"name": "DOTNET_SHARED_STORE", "value": "/store"},
            {"name": "CORECLR_PROFILER", "value": "{USER}"},
            {"name": "OTEL_RESOURCE_ATTRIBUTES", "value": "team=payments,service.version=9"},
            {"name": "OTEL_TRACES_SAMPLER_ARG", "value": "0.5"},
            {"name": "TRACEPARENT", "value": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
            {"name": "LOG_LEVEL", "value": "info"}
        ]}]),
    );
    let inst = instrumentation(
        NS,
        "dotnet",
        json!({"exporter": {"endpoint": "http://c:4318"},
               "sampler": {"type": "always_on"},
               "env": [{"name": "TRACEPARENT", "value": "00-ffffffffffffffffffffffffffffffff-ffffffffffffffff-01"}],
               "resource": {"resourceAttributes": {"team": "ignored", "region": "eu"}}}),
    );
    let out = run(&pod, NS, &[inst], &[]);
    let app = container(&out.mutated, "containers", "myapp");
    assert_eq!(env_value(app, "OTEL_SERVICE_NAME"), Some("checkout"));
    assert_eq!(
        env_value(app, "DOTNET_STARTUP_HOOKS"),
        Some("/app/MyHook.dll:/otel-auto-instrumentation-dotnet/net/OpenTelemetry.AutoInstrumentation.StartupHook.dll")
    );
    assert_eq!(
        env_value(app, "DOTNET_SHARED_STORE"),
        Some("/store:/otel-auto-instrumentation-dotnet/store")
    );
    assert_eq!(env_value(app, "CORECLR_PROFILER"), Some("{USER}"));
    // Neither sampler var is added when the user set one of them.
    assert_eq!(env_value(app, "OTEL_TRACES_SAMPLER"), None);
    // TRACEPARENT is never overwritten.
    assert_eq!(
        env_value(app, "TRACEPARENT"),
        Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    );
    let names = env_names(app);
    assert_eq!(
        names.last().map(String::as_str),
        Some("OTEL_RESOURCE_ATTRIBUTES")
    );
    let attrs = env_value(app, "OTEL_RESOURCE_ATTRIBUTES").unwrap_or("");
    assert!(
        attrs.starts_with("team=payments,service.version=9,"),
        "{attrs}"
    );
    assert!(attrs.contains("region=eu"));
    assert!(!attrs.contains("team=ignored"));
    assert_eq!(attrs.matches("service.version").count(), 1);
    insta::assert_yaml_snapshot!(out.mutated);
}

#[test]
fn every_container_failing_validation_adds_no_agent() {
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-dotnet": "true"}),
        json!([{"name": "myapp", "image": "acme/app:1", "env": [
            {"name": "DOTNET_STARTUP_HOOKS", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "hooks"}}}
        ]}]),
    );
    let out = run(&pod, NS, &[dotnet_instrumentation(NS)], &[]);
    assert_eq!(out.decision.outcome(), O::Skipped);
    assert_eq!(out.decision.reason(), "env_value_from");
    assert!(out.mutated["spec"].get("initContainers").is_none());
    assert!(out.mutated["spec"].get("volumes").is_none());
    let st = status(&out.mutated).unwrap_or("");
    assert!(
        st.contains("DOTNET_STARTUP_HOOKS is set through valueFrom"),
        "{st}"
    );
    assert!(!out.decision.warnings.is_empty());
    // Only the status annotation was added.
    assert_eq!(out.decision.patch.len(), 1);
    insta::assert_yaml_snapshot!(out.mutated);
}

#[test]
fn unknown_runtime_is_a_typed_error_that_says_what_to_write() {
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-dotnet": "true",
               "instrumentation.opentelemetry.io/otel-dotnet-auto-runtime": "linux-arm64"}),
        dotnet_app(),
    );
    let out = run(&pod, NS, &[dotnet_instrumentation(NS)], &[]);
    assert_eq!(out.decision.reason(), "unsupported_annotation_value");
    assert!(out.mutated["spec"].get("initContainers").is_none());
    let w = out.decision.warnings.join("\n");
    assert!(
        w.contains("\"linux-arm64\" is not supported; write \"linux-x64\""),
        "{w}"
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

#[test]
fn sdk_only_injects_env_and_no_agent() {
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-sdk": "true"}),
        json!([{"name": "orders", "image": "ghcr.io/otel-inject/orders-api:0.1.0"}]),
    );
    let out = run(
        &pod,
        NS,
        &[dotnet_instrumentation(NS)],
        &[replicaset("my-dotnet-6b8d9c7f5d", "orders-api")],
    );
    let c = container(&out.mutated, "containers", "orders");
    assert_eq!(
        env_names(c),
        [
            "OTEL_NODE_IP",
            "OTEL_POD_IP",
            "OTEL_SERVICE_NAME",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_RESOURCE_ATTRIBUTES_POD_NAME",
            "OTEL_RESOURCE_ATTRIBUTES_NODE_NAME",
            "OTEL_PROPAGATORS",
            "OTEL_TRACES_SAMPLER",
            "OTEL_TRACES_SAMPLER_ARG",
            "OTEL_RESOURCE_ATTRIBUTES"
        ]
    );
    assert_eq!(env_value(c, "OTEL_SERVICE_NAME"), Some("orders-api"));
    assert!(out.mutated["spec"].get("initContainers").is_none());
    assert!(out.mutated["spec"].get("volumes").is_none());
    insta::assert_yaml_snapshot!(out.mutated);
}

#[test]
fn dotnet_and_sdk_on_one_container_never_duplicate() {
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-dotnet": "true",
               "instrumentation.opentelemetry.io/inject-sdk": "true"}),
        dotnet_app(),
    );
    let out = run(&pod, NS, &[dotnet_instrumentation(NS)], &[]);
    let app = container(&out.mutated, "containers", "myapp");
    let names = env_names(app);
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(names.len(), unique.len(), "{names:?}");
    let attrs = env_value(app, "OTEL_RESOURCE_ATTRIBUTES").unwrap_or("");
    assert_eq!(attrs.matches("k8s.pod.name=").count(), 1, "{attrs}");
    assert_eq!(
        status(&out.mutated),
        Some("dotnet: injected into myapp (instrumentation e2e-dotnet/dotnet); sdk: injected into myapp (instrumentation e2e-dotnet/dotnet)")
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

#[test]
fn namespace_sdk_and_pod_dotnet_both_apply() {
    // The operator injects nothing here (its issue #3407).
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-dotnet": "true"}),
        dotnet_app(),
    );
    let mut ns = NamespaceInfo::named(NS);
    ns.annotations.insert(
        "instrumentation.opentelemetry.io/inject-sdk".into(),
        "true".into(),
    );
    let out = run_with(
        &pod,
        &ns,
        &[dotnet_instrumentation(NS)],
        &[],
        &InjectOptions::default(),
    );
    assert_eq!(out.decision.outcome(), O::Injected);
    assert_eq!(out.decision.languages.len(), 2);
    assert!(out
        .decision
        .languages
        .iter()
        .all(|l| l.outcome() == O::Injected));
    insta::assert_yaml_snapshot!(out.mutated);
}

#[test]
fn init_container_target_gets_the_agent_before_it() {
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-dotnet": "true",
               "instrumentation.opentelemetry.io/container-names": "migrate"}),
        json!([{"name": "myapp", "image": "acme/app:1"}]),
    );
    let mut pod = pod;
    pod["spec"]["initContainers"] = json!([
        {"name": "wait-db", "image": "busybox"},
        {"name": "migrate", "image": "acme/migrate:3"}
    ]);
    let out = run(&pod, NS, &[dotnet_instrumentation(NS)], &[]);
    let names: Vec<&str> = out.mutated["spec"]["initContainers"]
        .as_array()
        .map(|a| a.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        names,
        [
            "wait-db",
            "opentelemetry-auto-instrumentation-dotnet",
            "migrate"
        ]
    );
    let migrate = container(&out.mutated, "initContainers", "migrate");
    assert!(env_value(migrate, "OTEL_RESOURCE_ATTRIBUTES")
        .unwrap_or("")
        .contains("k8s.container.name=migrate"));
    assert!(container(&out.mutated, "containers", "myapp")
        .get("env")
        .is_none());
    insta::assert_yaml_snapshot!(out.mutated);
}

#[test]
fn per_language_container_lists_select_containers() {
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-dotnet": "true",
               "instrumentation.opentelemetry.io/inject-sdk": "true",
               "instrumentation.opentelemetry.io/dotnet-container-names": "api,worker",
               "instrumentation.opentelemetry.io/sdk-container-names": "rusty"}),
        json!([{"name": "api", "image": "acme/api:1"}, {"name": "worker", "image": "acme/worker:1"},
               {"name": "rusty", "image": "acme/rusty:1"}, {"name": "envoy", "image": "envoy:1"}]),
    );
    let out = run(&pod, NS, &[dotnet_instrumentation(NS)], &[]);
    for n in ["api", "worker"] {
        assert!(env_value(
            container(&out.mutated, "containers", n),
            "CORECLR_ENABLE_PROFILING"
        )
        .is_some());
    }
    let rusty = container(&out.mutated, "containers", "rusty");
    assert!(env_value(rusty, "CORECLR_ENABLE_PROFILING").is_none());
    assert!(env_value(rusty, "OTEL_SERVICE_NAME").is_some());
    assert!(container(&out.mutated, "containers", "envoy")
        .get("env")
        .is_none());
    assert_eq!(
        out.mutated["spec"]["initContainers"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

#[test]
fn argo_step_pods_get_main_only() {
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": "ml-pipeline-abcde-train-1234567890", "namespace": "ml",
            "labels": {"workflows.argoproj.io/workflow": "ml-pipeline-abcde", "workflows.argoproj.io/completed": "false"},
            "annotations": {"instrumentation.opentelemetry.io/inject-sdk": "true",
                            "workflows.argoproj.io/node-name": "ml-pipeline-abcde.train",
                            "kubectl.kubernetes.io/default-container": "main"},
            "ownerReferences": [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "name": "ml-pipeline-abcde", "uid": "wf-uid", "controller": true}]
        },
        "spec": {
            "initContainers": [{"name": "init", "image": "quay.io/argoproj/argoexec:v4.1.2"}],
            "containers": [
                {"name": "wait", "image": "quay.io/argoproj/argoexec:v4.1.2"},
                {"name": "main", "image": "ghcr.io/otel-inject/ml-train:0.1.0",
                 "env": [{"name": "TRACEPARENT", "value": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}]}
            ]
        }
    });
    let out = run(&pod, "ml", &[dotnet_instrumentation("ml")], &[]);
    let main = container(&out.mutated, "containers", "main");
    assert!(env_value(main, "OTEL_EXPORTER_OTLP_ENDPOINT").is_some());
    assert_eq!(
        env_value(main, "TRACEPARENT"),
        Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    );
    assert!(container(&out.mutated, "containers", "wait")
        .get("env")
        .is_none());
    assert!(container(&out.mutated, "initContainers", "init")
        .get("env")
        .is_none());
    // Not the pod name, which would make every step run its own service.
    assert_eq!(env_value(main, "OTEL_SERVICE_NAME"), Some("ml-pipeline"));
    insta::assert_yaml_snapshot!(out.mutated);
}

#[test]
fn argo_service_name_prefers_the_app_label() {
    let pod = json!({
        "metadata": {"name": "etl-9x2kq-load-123",
                     "labels": {"workflows.argoproj.io/workflow": "etl-9x2kq", "app.kubernetes.io/name": "nightly-etl"},
                     "annotations": {"instrumentation.opentelemetry.io/inject-sdk": "true"}},
        "spec": {"containers": [{"name": "wait", "image": "argoexec"}, {"name": "main", "image": "app:1"}]}
    });
    let out = run(&pod, "ml", &[dotnet_instrumentation("ml")], &[]);
    let main = container(&out.mutated, "containers", "main");
    assert_eq!(env_value(main, "OTEL_SERVICE_NAME"), Some("nightly-etl"));
    insta::assert_yaml_snapshot!(out.mutated);
}

#[test]
fn argo_executor_containers_are_refused_even_when_named() {
    let pod = json!({
        "metadata": {"name": "wf-step", "labels": {"workflows.argoproj.io/workflow": "wf"},
                     "annotations": {"instrumentation.opentelemetry.io/inject-sdk": "true",
                                     "instrumentation.opentelemetry.io/container-names": "wait,main"}},
        "spec": {"containers": [{"name": "wait", "image": "argoexec"}, {"name": "main", "image": "app:1"}]}
    });
    let out = run(&pod, "ml", &[dotnet_instrumentation("ml")], &[]);
    assert!(container(&out.mutated, "containers", "wait")
        .get("env")
        .is_none());
    assert!(container(&out.mutated, "containers", "main")
        .get("env")
        .is_some());
    assert!(status(&out.mutated)
        .unwrap_or("")
        .contains("sdk skipped wait: container belongs to the Argo Workflows executor"));
    insta::assert_yaml_snapshot!(out.mutated);
}

#[test]
fn default_container_annotation_is_honoured() {
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-sdk": "true",
               "kubectl.kubernetes.io/default-container": "app"}),
        json!([{"name": "istio-proxy", "image": "istio/proxyv2:1"}, {"name": "app", "image": "acme/app:1"}]),
    );
    let out = run(&pod, NS, &[dotnet_instrumentation(NS)], &[]);
    assert!(container(&out.mutated, "containers", "istio-proxy")
        .get("env")
        .is_none());
    assert!(container(&out.mutated, "containers", "app")
        .get("env")
        .is_some());
    insta::assert_yaml_snapshot!(out.mutated);
}

#[test]
fn exporter_tls_mounts_secret_and_configmap() {
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-sdk": "true"}),
        json!([{"name": "app", "image": "acme/app:1"}]),
    );
    let inst = instrumentation(
        NS,
        "tls",
        json!({"exporter": {"endpoint": "https://collector:4317", "tls": {
            "secretName": "otel-client", "configMapName": "otel-ca",
            "ca_file": "ca.crt", "cert_file": "tls.crt", "key_file": "/abs/tls.key"}}}),
    );
    let out = run(&pod, NS, &[inst], &[]);
    let app = container(&out.mutated, "containers", "app");
    assert_eq!(
        env_value(app, "OTEL_EXPORTER_OTLP_CERTIFICATE"),
        Some("/otel-auto-instrumentation-configmap-otel-ca/ca.crt")
    );
    assert_eq!(
        env_value(app, "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"),
        Some("/otel-auto-instrumentation-secret-otel-client/tls.crt")
    );
    assert_eq!(
        env_value(app, "OTEL_EXPORTER_OTLP_CLIENT_KEY"),
        Some("/abs/tls.key")
    );
    assert_eq!(
        out.mutated["spec"]["volumes"],
        // Optional, so a Secret or ConfigMap that does not exist never holds the pod.
        json!([{"name": "otel-auto-secret-otel-client", "secret": {"secretName": "otel-client", "optional": true}},
               {"name": "otel-auto-configmap-otel-ca", "configMap": {"name": "otel-ca", "optional": true}}])
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

#[test]
fn already_injected_pods_get_no_patch() {
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-dotnet": "true"}),
        json!([{"name": "myapp", "image": "a:1", "env": [
            {"name": "OTEL_RESOURCE_ATTRIBUTES_NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]}]),
    );
    let out = run(&pod, NS, &[dotnet_instrumentation(NS)], &[]);
    assert_eq!(out.decision.outcome(), O::AlreadyInjected);
    assert!(out.decision.patch.is_empty());
}

#[test]
fn not_annotated_pods_are_left_alone() {
    let pod = deployment_pod(NS, json!({"other": "x"}), dotnet_app());
    let out = run(&pod, NS, &[dotnet_instrumentation(NS)], &[]);
    assert_eq!(out.decision.outcome(), O::NotRequested);
    assert!(out.decision.patch.is_empty());
    assert_eq!(out.mutated, pod);
}

#[test]
fn missing_instrumentation_is_explained_on_the_pod() {
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-dotnet": "true"}),
        dotnet_app(),
    );
    let out = run(&pod, NS, &[dotnet_instrumentation("elsewhere")], &[]);
    assert_eq!(out.decision.outcome(), O::Failed);
    assert_eq!(out.decision.reason(), "no_instrumentation");
    assert_eq!(
        status(&out.mutated),
        Some("dotnet: not injected: no Instrumentation in namespace e2e-dotnet; create one, or name one with \"<namespace>/<name>\" in the annotation")
    );
    assert_eq!(out.decision.warnings.len(), 1);
    assert_eq!(out.decision.patch.len(), 1);
    insta::assert_yaml_snapshot!(out.mutated);
}

#[test]
fn several_instrumentations_name_them() {
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-sdk": "true"}),
        dotnet_app(),
    );
    let a = instrumentation(NS, "b-inst", json!({}));
    let b = instrumentation(NS, "a-inst", json!({}));
    let out = run(&pod, NS, &[a, b], &[]);
    assert_eq!(out.decision.reason(), "several_instrumentations");
    assert!(out.decision.warnings[0]
        .contains("2 Instrumentations in namespace e2e-dotnet (a-inst, b-inst)"));
    insta::assert_yaml_snapshot!(out.mutated);
}

#[test]
fn cross_namespace_reference_selects_that_instrumentation() {
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-sdk": "observability/shared"}),
        dotnet_app(),
    );
    let shared = instrumentation(
        "observability",
        "shared",
        json!({"exporter": {"endpoint": "http://shared:4318"}}),
    );
    let out = run(&pod, NS, &[dotnet_instrumentation(NS), shared], &[]);
    let app = container(&out.mutated, "containers", "myapp");
    assert_eq!(
        env_value(app, "OTEL_EXPORTER_OTLP_ENDPOINT"),
        Some("http://shared:4318")
    );
    let missing = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-sdk": "nope"}),
        dotnet_app(),
    );
    let out = run(&missing, NS, &[dotnet_instrumentation(NS)], &[]);
    assert_eq!(out.decision.reason(), "instrumentation_not_found");
    assert!(out.decision.warnings[0].contains("Instrumentation e2e-dotnet/nope not found"));
    insta::assert_yaml_snapshot!(out.mutated);
}

#[test]
fn pod_false_beats_namespace_true() {
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-dotnet": "false"}),
        dotnet_app(),
    );
    let mut ns = NamespaceInfo::named(NS);
    ns.annotations.insert(
        "instrumentation.opentelemetry.io/inject-dotnet".into(),
        "true".into(),
    );
    let out = run_with(
        &pod,
        &ns,
        &[dotnet_instrumentation(NS)],
        &[],
        &InjectOptions::default(),
    );
    assert!(out.decision.patch.is_empty());
    assert_eq!(out.decision.outcome(), O::Skipped);
    assert_eq!(out.decision.reason(), "annotation_false");
}

#[test]
fn non_root_pods_get_a_restricted_init_container() {
    let mut pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-dotnet": "true"}),
        json!([{"name": "myapp", "image": "acme/app:1",
                "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": true}}]),
    );
    pod["spec"]["securityContext"] =
        json!({"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}});
    let out = run(&pod, NS, &[dotnet_instrumentation(NS)], &[]);
    let init = container(
        &out.mutated,
        "initContainers",
        "opentelemetry-auto-instrumentation-dotnet",
    );
    assert_eq!(
        init["securityContext"],
        json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
               "readOnlyRootFilesystem": true, "runAsUser": 65532})
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

#[test]
fn root_pods_keep_running_as_root() {
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-dotnet": "true"}),
        json!([{"name": "myapp", "image": "acme/app:1", "securityContext": {"runAsUser": 0, "privileged": true}}]),
    );
    let out = run(&pod, NS, &[dotnet_instrumentation(NS)], &[]);
    let init = container(
        &out.mutated,
        "initContainers",
        "opentelemetry-auto-instrumentation-dotnet",
    );
    assert_eq!(
        init["securityContext"],
        json!({"runAsUser": 0, "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
               "seccompProfile": {"type": "RuntimeDefault"}})
    );
    // An explicit initContainerSecurityContext is used as written.
    let inst = instrumentation(
        NS,
        "dotnet",
        json!({"initContainerSecurityContext": {"runAsUser": 1000}}),
    );
    let out = run(&pod, NS, &[inst], &[]);
    let init = container(
        &out.mutated,
        "initContainers",
        "opentelemetry-auto-instrumentation-dotnet",
    );
    assert_eq!(init["securityContext"], json!({"runAsUser": 1000}));
    insta::assert_yaml_snapshot!(out.mutated);
}

#[test]
fn unknown_fields_survive_untouched() {
    let mut pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-dotnet": "true", "example.com/unknown": "kept"}),
        json!([{"name": "myapp", "image": "acme/app:1", "futureContainerField": {"x": [1, 2]},
                "resizePolicy": [{"resourceName": "cpu", "restartPolicy": "NotRequired"}],
                "env": [{"name": "A", "value": "1", "futureEnvField": true}]}]),
    );
    pod["spec"]["futurePodField"] = json!({"nested": {"deep": null}});
    pod["spec"]["hostUsers"] = json!(false);
    pod["status"] = json!({"phase": "Pending"});
    let out = run(&pod, NS, &[dotnet_instrumentation(NS)], &[]);
    assert_eq!(
        out.mutated["spec"]["futurePodField"],
        pod["spec"]["futurePodField"]
    );
    assert_eq!(out.mutated["spec"]["hostUsers"], json!(false));
    let app = container(&out.mutated, "containers", "myapp");
    assert_eq!(app["futureContainerField"], json!({"x": [1, 2]}));
    assert_eq!(
        app["env"][2],
        json!({"name": "A", "value": "1", "futureEnvField": true})
    );
    assert_eq!(
        out.mutated["metadata"]["annotations"]["example.com/unknown"],
        "kept"
    );
    assert_eq!(out.mutated["status"], pod["status"]);
    insta::assert_yaml_snapshot!(out.mutated);
}

#[test]
fn volume_claim_template_replaces_the_empty_dir() {
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-dotnet": "true"}),
        dotnet_app(),
    );
    let inst = instrumentation(
        NS,
        "dotnet",
        json!({"dotnet": {"volumeClaimTemplate": {"spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}}}),
    );
    let out = run(&pod, NS, &[inst], &[]);
    assert_eq!(
        out.mutated["spec"]["volumes"][0]["ephemeral"]["volumeClaimTemplate"]["spec"]
            ["accessModes"],
        json!(["ReadWriteOnce"])
    );
    // The CR sets neither image nor resources: the CR defaults apply, as the production
    // constants say (their values are checked once, in differences.rs).
    let init = container(
        &out.mutated,
        "initContainers",
        "opentelemetry-auto-instrumentation-dotnet",
    );
    assert_eq!(
        init["image"],
        json!(otel_inject_lib::lang::dotnet::DEFAULT_IMAGE)
    );
    assert_eq!(
        init["resources"],
        otel_inject_lib::lang::dotnet::default_resources()
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

#[test]
fn job_owned_by_cronjob_with_uid_attributes() {
    let pod = json!({
        "metadata": {"generateName": "nightly-28900000-", "annotations": {"instrumentation.opentelemetry.io/inject-sdk": "true"},
                     "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "nightly-28900000", "uid": "job-uid"}]},
        "spec": {"containers": [{"name": "batch", "image": "acme/batch"}]}
    });
    let job = otel_inject_lib::OwnerObject {
        kind: "Job".into(),
        name: "nightly-28900000".into(),
        uid: "job-uid".into(),
        owner_references: vec![serde_json::from_value(json!({"apiVersion": "batch/v1", "kind": "CronJob", "name": "nightly", "uid": "cj-uid"})).expect("ref")],
    };
    let inst = instrumentation(
        "batch",
        "i",
        json!({"resource": {"addK8sUIDAttributes": true}}),
    );
    let out = run(&pod, "batch", &[inst], &[job]);
    let c = container(&out.mutated, "containers", "batch");
    assert_eq!(env_value(c, "OTEL_SERVICE_NAME"), Some("nightly"));
    let attrs = env_value(c, "OTEL_RESOURCE_ATTRIBUTES").unwrap_or("");
    for want in [
        "k8s.cronjob.name=nightly",
        "k8s.cronjob.uid=cj-uid",
        "k8s.job.name=nightly-28900000",
        "k8s.job.uid=job-uid",
        "k8s.pod.uid=$(OTEL_RESOURCE_ATTRIBUTES_POD_UID)",
    ] {
        assert!(attrs.contains(want), "{want} in {attrs}");
    }
    assert!(env_names(c).contains(&"OTEL_RESOURCE_ATTRIBUTES_POD_UID".to_string()));
    insta::assert_yaml_snapshot!(out.mutated);
}

#[test]
fn missing_replicaset_warns_and_still_injects() {
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-sdk": "true"}),
        dotnet_app(),
    );
    let out = run(&pod, NS, &[dotnet_instrumentation(NS)], &[]);
    assert_eq!(out.decision.outcome(), O::Injected);
    let app = container(&out.mutated, "containers", "myapp");
    assert_eq!(
        env_value(app, "OTEL_SERVICE_NAME"),
        Some("my-dotnet-6b8d9c7f5d")
    );
    assert!(out
        .decision
        .warnings
        .iter()
        .any(|w| w.contains("ReplicaSet my-dotnet-6b8d9c7f5d was not found")));
    insta::assert_yaml_snapshot!(out.mutated);
}

#[test]
fn statefulset_and_daemonset_owners() {
    for (kind, key) in [
        ("StatefulSet", "k8s.statefulset.name"),
        ("DaemonSet", "k8s.daemonset.name"),
    ] {
        let pod = json!({
            "metadata": {"name": "db-0", "annotations": {"instrumentation.opentelemetry.io/inject-sdk": "true"},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": kind, "name": "db", "uid": "u"}]},
            "spec": {"containers": [{"name": "db", "image": "postgres:16"}]}
        });
        let out = run(&pod, "data", &[dotnet_instrumentation("data")], &[]);
        let c = container(&out.mutated, "containers", "db");
        assert!(env_value(c, "OTEL_RESOURCE_ATTRIBUTES")
            .unwrap_or("")
            .contains(&format!("{key}=db")));
        assert_eq!(env_value(c, "OTEL_SERVICE_NAME"), Some("db"));
    }
}

#[test]
fn invalid_container_list_says_what_to_write() {
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-dotnet": "true",
               "instrumentation.opentelemetry.io/container-names": "myapp, sidecar"}),
        dotnet_app(),
    );
    let out = run(&pod, NS, &[dotnet_instrumentation(NS)], &[]);
    assert_eq!(out.decision.reason(), "invalid_container_names");
    assert!(out.decision.warnings[0]
        .contains("write container names separated by commas, without spaces"));
    assert!(out.mutated["spec"].get("initContainers").is_none());
    insta::assert_yaml_snapshot!(out.mutated);
}

#[test]
fn duplicated_container_names_are_a_conflict() {
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-dotnet": "true",
               "instrumentation.opentelemetry.io/container-names": "myapp",
               "instrumentation.opentelemetry.io/dotnet-container-names": "myapp"}),
        dotnet_app(),
    );
    let out = run(&pod, NS, &[dotnet_instrumentation(NS)], &[]);
    assert_eq!(out.decision.reason(), "container_conflict");
    assert!(out.decision.warnings[0].contains("duplicated container names detected: [myapp]"));
    insta::assert_yaml_snapshot!(out.mutated);
}

#[test]
fn container_not_found_lists_what_exists() {
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-sdk": "true",
               "instrumentation.opentelemetry.io/container-names": "api"}),
        dotnet_app(),
    );
    let out = run(&pod, NS, &[dotnet_instrumentation(NS)], &[]);
    assert_eq!(out.decision.reason(), "container_not_found");
    assert!(out.decision.warnings[0].contains("no container named api (the pod has: myapp)"));
    insta::assert_yaml_snapshot!(out.mutated);
}

#[test]
fn preset_node_name_is_literal_and_sdk_stays_idempotent() {
    let mut pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-sdk": "true"}),
        dotnet_app(),
    );
    pod["spec"]["nodeName"] = json!("node-1");
    // `run` re-mutates the result and asserts no patch; the operator would inject twice here.
    let out = run(&pod, NS, &[dotnet_instrumentation(NS)], &[]);
    let app = container(&out.mutated, "containers", "myapp");
    assert!(env_value(app, "OTEL_RESOURCE_ATTRIBUTES")
        .unwrap_or("")
        .contains("k8s.node.name=node-1"));
    assert!(!env_names(app).contains(&"OTEL_RESOURCE_ATTRIBUTES_NODE_NAME".to_string()));
    insta::assert_yaml_snapshot!(out.mutated);
}

#[test]
fn sampler_argument_alone_blocks_the_sampler() {
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-sdk": "true"}),
        json!([{"name": "myapp", "image": "a:1", "env": [{"name": "OTEL_TRACES_SAMPLER_ARG", "value": "0.1"}]}]),
    );
    let out = run(&pod, NS, &[dotnet_instrumentation(NS)], &[]);
    let app = container(&out.mutated, "containers", "myapp");
    assert!(env_value(app, "OTEL_TRACES_SAMPLER").is_none());
    assert_eq!(env_value(app, "OTEL_TRACES_SAMPLER_ARG"), Some("0.1"));
    insta::assert_yaml_snapshot!(out.mutated);
}

/// Every language the annotations can ask for has a unit, so none is reported as "not
/// supported" any more: `inject-apache-httpd` is injected (on by default, as in the
/// operator), `inject-nginx` is injected once switched on, and switched off (its default) it
/// is reported in the status and a warning, never ignored silently.
#[test]
fn every_requested_language_is_injected_or_reported() {
    assert_eq!(
        otel_inject_lib::lang::supported().collect::<Vec<_>>(),
        Language::ALL,
        "a language without a unit would be reported as not supported"
    );
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-apache-httpd": "true"}),
        dotnet_app(),
    );
    let out = run(&pod, NS, &[dotnet_instrumentation(NS)], &[]);
    assert_eq!(out.decision.outcome(), O::Injected);
    assert!(
        status(&out.mutated)
            .unwrap_or("")
            .starts_with("apache-httpd: injected into myapp"),
        "{:?}",
        status(&out.mutated)
    );
    insta::assert_yaml_snapshot!(out.mutated, {".spec.initContainers[].args[0]" => "<script>"});

    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-nginx": "true"}),
        dotnet_app(),
    );
    let off = run(&pod, NS, &[dotnet_instrumentation(NS)], &[]);
    assert_eq!(off.decision.reason(), "language_disabled");
    assert!(off
        .decision
        .warnings
        .iter()
        .any(|w| w.contains("nginx injection is switched off")));
    let mut options = InjectOptions::default();
    options.set_enabled(Language::Nginx, true);
    let on = run_with(
        &pod,
        &NamespaceInfo::named(NS),
        &[dotnet_instrumentation(NS)],
        &[],
        &options,
    );
    assert_eq!(on.decision.outcome(), O::Injected);
}

#[test]
fn malformed_pods_get_a_reason_not_a_panic() {
    for pod in [
        json!(null),
        json!([1, 2]),
        json!({"spec": {"containers": "nope"}}),
        json!({"metadata": 3}),
    ] {
        let out = run(&pod, NS, &[dotnet_instrumentation(NS)], &[]);
        assert_eq!(out.decision.reason(), "malformed_pod");
        assert!(out.decision.patch.is_empty());
    }
}

#[test]
fn explain_says_why_per_container() {
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-dotnet": "true",
               "instrumentation.opentelemetry.io/container-names": "myapp,legacy"}),
        json!([{"name": "myapp", "image": "a:1"},
               {"name": "legacy", "image": "b:1", "env": [{"name": "OTEL_DOTNET_AUTO_HOME", "value": "/x"}]}]),
    );
    let out = run(&pod, NS, &[dotnet_instrumentation(NS)], &[]);
    let text = out.decision.explain();
    assert!(text.contains("myapp: injected"), "{text}");
    assert!(
        text.contains("legacy: not injected: already instrumented (OTEL_DOTNET_AUTO_HOME is set)"),
        "{text}"
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

/// What the API server does to a pod between two webhook calls (reinvocationPolicy:
/// IfNeeded): defaults fill `fieldRef.apiVersion`, `terminationMessagePath`, `imagePullPolicy`,
/// `emptyDir` medium and so on. Seen in the e2e suite against kube-apiserver 1.20.
fn api_server_defaults(pod: &mut serde_json::Value) {
    for list in ["containers", "initContainers"] {
        for c in pod["spec"][list].as_array_mut().into_iter().flatten() {
            c["terminationMessagePath"] = json!("/dev/termination-log");
            c["terminationMessagePolicy"] = json!("File");
            c["imagePullPolicy"] = json!("IfNotPresent");
            for e in c["env"].as_array_mut().into_iter().flatten() {
                if let Some(f) = e.pointer_mut("/valueFrom/fieldRef") {
                    f["apiVersion"] = json!("v1");
                }
            }
        }
    }
    pod["spec"]["dnsPolicy"] = json!("ClusterFirst");
    pod["spec"]["schedulerName"] = json!("default-scheduler");
}

#[test]
fn reinvocation_after_api_server_defaulting_changes_nothing() {
    for annotations in [
        json!({"instrumentation.opentelemetry.io/inject-dotnet": "true"}),
        json!({"instrumentation.opentelemetry.io/inject-sdk": "true"}),
        json!({"instrumentation.opentelemetry.io/inject-dotnet": "true", "instrumentation.opentelemetry.io/inject-sdk": "true"}),
    ] {
        let pod = deployment_pod(NS, annotations, dotnet_app());
        let insts = [dotnet_instrumentation(NS)];
        let owners = [replicaset("my-dotnet-6b8d9c7f5d", "my-dotnet")];
        let mut stored = run(&pod, NS, &insts, &owners).mutated;
        api_server_defaults(&mut stored);
        let again = run(&stored, NS, &insts, &owners);
        assert!(again.decision.patch.is_empty());
        assert_eq!(again.mutated, stored);
    }
}

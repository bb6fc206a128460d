//! Go, as the operator 0.158.0's `golang_test.go` and its e2e `instrumentation-go` have it:
//! the agent is a privileged sidecar that gets the env and describes the app container. Every
//! case applies the patch with json-patch and checks that a second pass changes nothing
//! (`common::run_with`).

mod common;

use common::{
    container, deployment_pod, env_names, env_value, instrumentation, replicaset, run_with, status,
};
use otel_inject_lib::lang::go;
use otel_inject_lib::{InjectOptions, Language, NamespaceInfo};
use rstest::rstest;
use serde_json::{json, Value};

const NS: &str = "e2e-go";
const EXE: &str = "instrumentation.opentelemetry.io/otel-go-auto-target-exe";

fn go_on() -> InjectOptions {
    let mut o = InjectOptions::default();
    o.set_enabled(Language::Go, true);
    o
}

fn inst(spec: Value) -> std::sync::Arc<otel_inject_lib::Instrumentation> {
    instrumentation(NS, "go", spec)
}

fn e2e_spec() -> Value {
    json!({"exporter": {"endpoint": "http://localhost:4318"},
           "propagators": ["jaeger", "b3"],
           "sampler": {"type": "parentbased_traceidratio", "argument": "1"},
           "env": [{"name": "OTEL_EXPORTER_OTLP_TIMEOUT", "value": "20"}]})
}

fn app() -> Value {
    json!([{"name": "productcatalogservice", "image": "ghcr.io/open-telemetry/opentelemetry-go-instrumentation/sample-app:v0.1"}])
}

fn pod(annotations: Value) -> Value {
    deployment_pod(NS, annotations, app())
}

/// The e2e test `instrumentation-go`: the sidecar, its env in the operator's order, the app
/// untouched, the process namespace shared, the debug filesystem mounted.
#[test]
fn e2e_instrumentation_go() {
    let p = pod(
        json!({"instrumentation.opentelemetry.io/inject-go": "true", EXE: "/usr/src/app/productcatalogservice"}),
    );
    let owners = [replicaset("my-dotnet-6b8d9c7f5d", "my-dotnet")];
    let out = run_with(
        &p,
        &NamespaceInfo::named(NS),
        &[inst(e2e_spec())],
        &owners,
        &go_on(),
    );
    let sidecar = container(&out.mutated, "containers", go::SIDECAR);
    assert_eq!(
        env_names(sidecar),
        [
            "OTEL_NODE_IP",
            "OTEL_POD_IP",
            "OTEL_GO_AUTO_TARGET_EXE",
            "OTEL_EXPORTER_OTLP_TIMEOUT",
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
    assert_eq!(
        env_value(sidecar, "OTEL_GO_AUTO_TARGET_EXE"),
        Some("/usr/src/app/productcatalogservice")
    );
    assert_eq!(env_value(sidecar, "OTEL_SERVICE_NAME"), Some("my-dotnet"));
    // The attributes describe the app container, not the sidecar.
    let attrs = env_value(sidecar, "OTEL_RESOURCE_ATTRIBUTES").unwrap_or_default();
    assert!(
        attrs.contains("k8s.container.name=productcatalogservice"),
        "{attrs}"
    );
    assert!(attrs.contains("service.version=v0.1"), "{attrs}");
    assert!(attrs.contains("k8s.deployment.name=my-dotnet"), "{attrs}");
    assert_eq!(
        sidecar["securityContext"],
        json!({"runAsUser": 0, "privileged": true})
    );
    assert_eq!(sidecar["image"], json!(go::DEFAULT_IMAGE));
    assert_eq!(sidecar["resources"], go::default_resources());
    assert_eq!(
        sidecar["volumeMounts"],
        json!([{"mountPath": "/sys/kernel/debug", "name": "kernel-debug"}])
    );
    let app = container(&out.mutated, "containers", "productcatalogservice");
    assert!(app.get("env").is_none(), "the app keeps its env: {app}");
    assert_eq!(out.mutated["spec"]["shareProcessNamespace"], json!(true));
    assert_eq!(
        out.mutated["spec"]["volumes"],
        json!([{"name": "kernel-debug", "hostPath": {"path": "/sys/kernel/debug"}}])
    );
    assert!(status(&out.mutated)
        .unwrap_or("")
        .starts_with("go: injected into productcatalogservice"));
    insta::assert_yaml_snapshot!(out.mutated);
}

/// `golang_test.go`: "pod annotation takes precedence" over `spec.go.env`, and a custom
/// security context and resources are used as written.
#[test]
fn pod_annotation_takes_precedence_and_spec_security_context_is_used() {
    let p = pod(json!({"instrumentation.opentelemetry.io/inject-go": "true", EXE: "bar"}));
    let spec = json!({"go": {"image": "foo/bar:1",
        "env": [{"name": "OTEL_GO_AUTO_TARGET_EXE", "value": "foo"}],
        "securityContext": {"privileged": true, "runAsUser": 1000},
        "resourceRequirements": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "10m", "memory": "16Mi"}}}});
    let out = run_with(&p, &NamespaceInfo::named(NS), &[inst(spec)], &[], &go_on());
    let sidecar = container(&out.mutated, "containers", go::SIDECAR);
    assert_eq!(env_value(sidecar, "OTEL_GO_AUTO_TARGET_EXE"), Some("bar"));
    assert_eq!(sidecar["image"], "foo/bar:1");
    assert_eq!(
        sidecar["securityContext"],
        json!({"privileged": true, "runAsUser": 1000})
    );
    assert_eq!(sidecar["resources"]["limits"]["memory"], "1Gi");
}

/// The target executable from `spec.go.env` alone will do (the operator's "use spec env").
#[test]
fn target_exe_from_the_spec() {
    let p = pod(json!({"instrumentation.opentelemetry.io/inject-go": "true"}));
    let spec = json!({"go": {"env": [{"name": "OTEL_GO_AUTO_TARGET_EXE", "value": "/app"}]}});
    let out = run_with(&p, &NamespaceInfo::named(NS), &[inst(spec)], &[], &go_on());
    let sidecar = container(&out.mutated, "containers", go::SIDECAR);
    assert_eq!(env_value(sidecar, "OTEL_GO_AUTO_TARGET_EXE"), Some("/app"));
}

/// What the operator skips Go for (it returns the pod unchanged); we say why, in the status,
/// a warning and the metric label, and change nothing but the status.
#[rstest]
#[case::no_target_exe(json!({}), json!({}), "go_target_exe_missing")]
#[case::process_namespace_disabled(json!({EXE: "/app"}), json!({"shareProcessNamespace": false}), "go_process_namespace")]
#[case::two_containers_listed(json!({EXE: "/app", "instrumentation.opentelemetry.io/go-container-names": "a,b"}), json!({}), "go_several_containers")]
#[case::two_containers_in_container_names(json!({EXE: "/app", "instrumentation.opentelemetry.io/container-names": "a,b"}), json!({}), "go_several_containers")]
#[case::init_container(json!({EXE: "/app", "instrumentation.opentelemetry.io/go-container-names": "setup"}), json!({}), "go_init_container")]
fn go_is_skipped_with_the_reason(
    #[case] annotations: Value,
    #[case] spec: Value,
    #[case] label: &str,
) {
    let mut ann = json!({"instrumentation.opentelemetry.io/inject-go": "true"});
    ann.as_object_mut()
        .unwrap()
        .extend(annotations.as_object().unwrap().clone());
    let mut p = deployment_pod(
        NS,
        ann,
        json!([{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}]),
    );
    p["spec"]["initContainers"] = json!([{"name": "setup", "image": "s:1"}]);
    for (k, v) in spec.as_object().unwrap() {
        p["spec"][k] = v.clone();
    }
    let out = run_with(
        &p,
        &NamespaceInfo::named(NS),
        &[inst(json!({}))],
        &[],
        &go_on(),
    );
    assert_eq!(out.decision.reason(), label, "{:?}", out.decision);
    assert!(out.mutated["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["name"] != go::SIDECAR));
    assert!(out.mutated["spec"].get("volumes").is_none());
    assert!(!out.decision.warnings.is_empty(), "a warning says why");
    let mut unchanged = p.clone();
    unchanged["metadata"]["annotations"]["otel-inject.dev/status"] =
        out.mutated["metadata"]["annotations"]["otel-inject.dev/status"].clone();
    assert_eq!(out.mutated, unchanged, "only the status is written");
}

/// Namespaces labelled as the Pod Security admission reads them: only `privileged` (or no
/// label) admits the privileged sidecar and its hostPath volume.
#[rstest]
#[case::no_label(None, true)]
#[case::privileged(Some("privileged"), true)]
#[case::baseline(Some("baseline"), false)]
#[case::restricted(Some("restricted"), false)]
fn pod_security_level_decides(#[case] level: Option<&str>, #[case] injected: bool) {
    let mut ns = NamespaceInfo::named(NS);
    if let Some(l) = level {
        ns.labels
            .insert(go::POD_SECURITY_ENFORCE_LABEL.into(), l.into());
    }
    let p = pod(json!({"instrumentation.opentelemetry.io/inject-go": "true", EXE: "/app"}));
    let out = run_with(&p, &ns, &[inst(json!({}))], &[], &go_on());
    let has_sidecar = out.mutated["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == go::SIDECAR);
    assert_eq!(has_sidecar, injected, "{level:?}");
    if !injected {
        assert_eq!(out.decision.reason(), "pod_security_level");
        let s = status(&out.mutated).unwrap_or("");
        assert!(
            s.contains(&format!(
                "enforces the \"{}\" Pod Security level",
                level.unwrap()
            )),
            "{s}"
        );
    }
}

/// Go is off unless switched on (the operator's default).
#[test]
fn go_is_off_by_default() {
    let p = pod(json!({"instrumentation.opentelemetry.io/inject-go": "true", EXE: "/app"}));
    let out = run_with(
        &p,
        &NamespaceInfo::named(NS),
        &[inst(json!({}))],
        &[],
        &InjectOptions::default(),
    );
    assert_eq!(out.decision.reason(), "language_disabled");
    // As the operator's InstrumentationRequestRejected event: the user is told.
    assert!(
        out.decision
            .warnings
            .iter()
            .any(|w| w.contains("--enable-go-instrumentation=false")),
        "{:?}",
        out.decision.warnings
    );
    assert!(status(&out.mutated)
        .unwrap_or("")
        .contains("--enable-go-instrumentation=false"));
}

/// Go beside a language in the app's process (the operator's multi-instrumentation e2e
/// `instrumentation-multi-multicontainer-go`, reduced): the sidecar is configured for the
/// app, and the app container still gets its own language's configuration.
#[test]
fn go_beside_the_sdk_on_the_same_container() {
    let p = pod(
        json!({"instrumentation.opentelemetry.io/inject-go": "true", EXE: "/app",
        "instrumentation.opentelemetry.io/inject-sdk": "true",
        "instrumentation.opentelemetry.io/go-container-names": "productcatalogservice",
        "instrumentation.opentelemetry.io/sdk-container-names": "productcatalogservice"}),
    );
    let out = run_with(
        &p,
        &NamespaceInfo::named(NS),
        &[inst(e2e_spec())],
        &[],
        &go_on(),
    );
    let app = container(&out.mutated, "containers", "productcatalogservice");
    assert!(env_names(app).contains(&"OTEL_SERVICE_NAME".to_string()));
    let sidecar = container(&out.mutated, "containers", go::SIDECAR);
    assert!(env_names(sidecar).contains(&"OTEL_RESOURCE_ATTRIBUTES".to_string()));
}

/// `sdk_test.go` TestInjectGo "instrumentation with annotation in pod with multiple
/// containers": a mesh proxy first, the app named in go-container-names; the sidecar goes
/// last and describes `app`, env in the operator's order and values.
#[test]
fn sdk_inject_go_beside_a_mesh_proxy() {
    let p = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"namespace": "ns", "annotations": {
            "instrumentation.opentelemetry.io/inject-go": "true",
            "instrumentation.opentelemetry.io/go-container-names": "app",
            EXE: "foo"}},
        "spec": {"containers": [
            {"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.20.1"},
            {"name": "app", "image": "app:latest"}]}});
    let i = instrumentation("ns", "go", json!({"go": {"image": "otel/go:1"}}));
    let out = run_with(&p, &NamespaceInfo::named("ns"), &[i], &[], &go_on());
    let names: Vec<&str> = out.mutated["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names, ["istio-proxy", "app", go::SIDECAR]);
    let sidecar = container(&out.mutated, "containers", go::SIDECAR);
    assert_eq!(
        env_names(sidecar),
        [
            "OTEL_NODE_IP",
            "OTEL_POD_IP",
            "OTEL_GO_AUTO_TARGET_EXE",
            "OTEL_SERVICE_NAME",
            "OTEL_RESOURCE_ATTRIBUTES_POD_NAME",
            "OTEL_RESOURCE_ATTRIBUTES_NODE_NAME",
            "OTEL_RESOURCE_ATTRIBUTES"
        ]
    );
    assert_eq!(env_value(sidecar, "OTEL_SERVICE_NAME"), Some("app"));
    assert_eq!(
        env_value(sidecar, "OTEL_RESOURCE_ATTRIBUTES"),
        Some("k8s.container.name=app,k8s.namespace.name=ns,k8s.node.name=$(OTEL_RESOURCE_ATTRIBUTES_NODE_NAME),k8s.pod.name=$(OTEL_RESOURCE_ATTRIBUTES_POD_NAME),service.instance.id=ns.$(OTEL_RESOURCE_ATTRIBUTES_POD_NAME).app,service.namespace=ns,service.version=latest")
    );
    // Neither the proxy nor the app is touched.
    assert!(container(&out.mutated, "containers", "istio-proxy")
        .get("env")
        .is_none());
    assert!(container(&out.mutated, "containers", "app")
        .get("env")
        .is_none());
}

/// `golang_test.go` "inject env vars": `spec.go.env` in its order, after the executable.
#[test]
fn go_block_env_in_order() {
    let p = pod(json!({"instrumentation.opentelemetry.io/inject-go": "true", EXE: "/app"}));
    let spec = json!({"go": {"env": [{"name": "OTEL_1", "value": "foo"}, {"name": "OTEL_2", "value": "bar"}]}});
    let out = run_with(&p, &NamespaceInfo::named(NS), &[inst(spec)], &[], &go_on());
    let names = env_names(container(&out.mutated, "containers", go::SIDECAR));
    assert_eq!(
        &names[2..5],
        ["OTEL_GO_AUTO_TARGET_EXE", "OTEL_1", "OTEL_2"]
    );
}

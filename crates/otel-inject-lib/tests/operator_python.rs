//! The operator's Python scenarios (0.158.0), reproduced: every case of `python_test.go`, the
//! Python cases of `sdk_test.go` (`TestInjectPython`) and `podmutator_test.go` (TestMutatePod's
//! and the init-container tests), and the `tests/e2e-instrumentation/instrumentation-python*`
//! suites. Each runs `mutate` on the operator's input, applies the patch with json-patch
//! (`common::run*` also checks that a second pass yields an empty patch), compares with the
//! operator's expected pod and snapshots the mutated pod.
//!
//! Where we differ on purpose, the test says so (`DIFFERENCE:`): the hardened security context
//! of the agent copy, the CR defaults (image, resources) when the CR has none, no agent for a
//! pod whose every target fails validation (an unsupported platform included: the operator's
//! full path would write `cp -r "" ...`), and the status annotation.

mod common;

use common::operator::*;
use common::*;
use otel_inject_lib::lang::python;
use otel_inject_lib::{InjectOptions, Language, NamespaceInfo, Outcome as O};
use rstest::rstest;
use serde_json::{json, Value};

const PY_INIT: &str = "opentelemetry-auto-instrumentation-python";
const PY_VOLUME: &str = "opentelemetry-auto-instrumentation-python";
const PYTHONPATH_VALUE: &str = "/otel-auto-instrumentation-python/opentelemetry/instrumentation/auto_instrumentation:/otel-auto-instrumentation-python";

fn cp_agent(source: &str) -> Value {
    json!(["cp", "-r", source, "/otel-auto-instrumentation-python"])
}

fn agent_mounts() -> Value {
    json!([{"name": PY_VOLUME, "mountPath": "/otel-auto-instrumentation-python"}])
}

fn empty_dir() -> Value {
    json!([{"name": PY_VOLUME, "emptyDir": {"sizeLimit": "200Mi"}}])
}

fn py_init(image: &str, source: &str) -> Value {
    json!({"name": PY_INIT, "image": image, "command": cp_agent(source), "volumeMounts": agent_mounts()})
}

/// The variables Python's steps write (`injectPythonSDK`, `injectDefaultPythonEnvVars`).
const PYTHON_VARS: &[&str] = &[
    "PYTHONPATH",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_TRACES_EXPORTER",
    "OTEL_METRICS_EXPORTER",
    "OTEL_LOGS_EXPORTER",
];

/// The defaults, in the operator's order, but for `skip` (which the user set).
fn defaults_without(skip: &str) -> Vec<Value> {
    python::DEFAULT_ENV
        .iter()
        .filter(|(n, _)| *n != skip)
        .map(|(n, v)| lit(n, v))
        .collect()
}

const UNIT_NS: &str = "python";

/// A pod of the operator's unit tests asking for Python, with `platform` as its
/// `otel-python-platform` annotation. Their containers have no name; ours are called `app`.
fn unit_pod(platform: Option<&str>, annotations: Value, spec: Value) -> Value {
    let mut ann = json!({"instrumentation.opentelemetry.io/inject-python": "true"});
    if let Some(p) = platform {
        ann[python::PLATFORM_ANNOTATION] = json!(p);
    }
    if let (Some(a), Some(extra)) = (ann.as_object_mut(), annotations.as_object()) {
        a.extend(extra.clone());
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"annotations": ann}, "spec": spec})
}

fn run_unit(pod: &Value, spec: Value) -> Outcome {
    run(
        pod,
        UNIT_NS,
        &[instrumentation(UNIT_NS, "python", spec)],
        &[],
    )
}

/// The Python-only part of a unit test's expected pod (and the IP env when the test simulates
/// `injectCommonEnvVar`).
fn assert_python_part(out: &Outcome, with_ips: bool, expected_spec: Value) {
    let mut keep = PYTHON_VARS.to_vec();
    if with_ips {
        keep.extend(["OTEL_NODE_IP", "OTEL_POD_IP"]);
    }
    let part = only_env(&out.mutated, &keep);
    assert_contains(&part["spec"], &expected_spec);
}

fn pythonpath_then_defaults(skip: &str) -> Vec<Value> {
    let mut env = vec![lit("PYTHONPATH", PYTHONPATH_VALUE)];
    env.extend(defaults_without(skip));
    env
}

// === python_test.go: TestInjectPythonSDK ===

/// "PYTHONPATH not defined".
#[test]
fn unit_pythonpath_not_defined() {
    let pod = unit_pod(
        Some("glibc"),
        json!({}),
        json!({"containers": [{"name": "app"}]}),
    );
    let out = run_unit(&pod, json!({"python": {"image": "foo/bar:1"}}));
    assert_eq!(out.decision.outcome(), O::Injected);
    assert_python_part(
        &out,
        false,
        json!({
            "volumes": empty_dir(),
            "initContainers": [py_init("foo/bar:1", "/autoinstrumentation/.")],
            "containers": [{"name": "app", "volumeMounts": agent_mounts(), "env": pythonpath_then_defaults("")}]
        }),
    );
    // DIFFERENCE: no resources in the CR: the operator's CR defaults.
    let init = container(&out.mutated, "initContainers", PY_INIT);
    assert_eq!(init["resources"], python::default_resources());
    insta::assert_yaml_snapshot!(out.mutated);
}

/// "spec.env overrides defaults": `spec.env`'s `OTEL_METRICS_EXPORTER=none` comes before the
/// Python defaults, which then leave it alone.
#[test]
fn unit_spec_env_overrides_defaults() {
    let pod = unit_pod(
        Some("glibc"),
        json!({}),
        json!({"containers": [{"name": "app"}]}),
    );
    let out = run_unit(
        &pod,
        json!({"python": {"image": "foo/bar:1"},
               "env": [lit("OTEL_METRICS_EXPORTER", "none")]}),
    );
    let mut env = ip_env();
    env.push(lit("PYTHONPATH", PYTHONPATH_VALUE));
    env.push(lit("OTEL_METRICS_EXPORTER", "none"));
    env.extend(defaults_without("OTEL_METRICS_EXPORTER"));
    assert_python_part(
        &out,
        true,
        json!({
            "volumes": empty_dir(),
            "initContainers": [py_init("foo/bar:1", "/autoinstrumentation/.")],
            "containers": [{"name": "app", "volumeMounts": agent_mounts(), "env": env}]
        }),
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

/// "defaults applied when no spec.env".
#[test]
fn unit_defaults_applied_when_no_spec_env() {
    let pod = unit_pod(
        Some("glibc"),
        json!({}),
        json!({"containers": [{"name": "app"}]}),
    );
    let out = run_unit(&pod, json!({"python": {"image": "foo/bar:1"}}));
    let mut env = ip_env();
    env.extend(pythonpath_then_defaults(""));
    assert_python_part(
        &out,
        true,
        json!({
            "volumes": empty_dir(),
            "initContainers": [py_init("foo/bar:1", "/autoinstrumentation/.")],
            "containers": [{"name": "app", "volumeMounts": agent_mounts(), "env": env}]
        }),
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

/// "PYTHONPATH defined": the agent's paths around the user's, in place.
#[test]
fn unit_pythonpath_defined() {
    let pod = unit_pod(
        Some("glibc"),
        json!({}),
        json!({"containers": [{"name": "app", "env": [lit("PYTHONPATH", "/foo:/bar")]}]}),
    );
    let out = run_unit(
        &pod,
        json!({"python": {"image": "foo/bar:1", "resourceRequirements": test_resource_requirements()}}),
    );
    let mut env = vec![lit(
        "PYTHONPATH",
        "/otel-auto-instrumentation-python/opentelemetry/instrumentation/auto_instrumentation:/foo:/bar:/otel-auto-instrumentation-python",
    )];
    env.extend(defaults_without(""));
    let mut init = py_init("foo/bar:1", "/autoinstrumentation/.");
    init["resources"] = test_resource_requirements();
    assert_python_part(
        &out,
        false,
        json!({
            "volumes": empty_dir(),
            "initContainers": [init],
            "containers": [{"name": "app", "volumeMounts": agent_mounts(), "env": env}]
        }),
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

/// "OTEL_TRACES_EXPORTER defined", "OTEL_METRICS_EXPORTER defined", "OTEL_LOGS_EXPORTER
/// defined", "OTEL_EXPORTER_OTLP_PROTOCOL defined": the user's value stays first and is not
/// defaulted again.
#[rstest]
#[case::traces_exporter("OTEL_TRACES_EXPORTER", "zipkin")]
#[case::metrics_exporter("OTEL_METRICS_EXPORTER", "somebackend")]
#[case::logs_exporter("OTEL_LOGS_EXPORTER", "somebackend")]
#[case::otlp_protocol("OTEL_EXPORTER_OTLP_PROTOCOL", "somebackend")]
fn unit_user_defined_default(#[case] var: &str, #[case] value: &str) {
    let pod = unit_pod(
        Some("glibc"),
        json!({}),
        json!({"containers": [{"name": "app", "env": [lit(var, value)]}]}),
    );
    let out = run_unit(&pod, json!({"python": {"image": "foo/bar:1"}}));
    let mut env = vec![lit(var, value)];
    env.extend(pythonpath_then_defaults(var));
    assert_python_part(
        &out,
        false,
        json!({
            "volumes": empty_dir(),
            "initContainers": [py_init("foo/bar:1", "/autoinstrumentation/.")],
            "containers": [{"name": "app", "volumeMounts": agent_mounts(), "env": env}]
        }),
    );
    insta::assert_yaml_snapshot!(format!("unit_{}_defined", var.to_lowercase()), out.mutated);
}

/// "PYTHONPATH defined as ValueFrom": the container is skipped, the spec unchanged (the
/// operator's full path would still add the volume and the copy; we add neither, on purpose).
#[test]
fn unit_pythonpath_defined_as_value_from() {
    let pod = unit_pod(
        Some("glibc"),
        json!({}),
        json!({"containers": [{"name": "app", "env": [
            {"name": "PYTHONPATH", "valueFrom": {"configMapKeyRef": {"name": "py", "key": "path"}}}]}]}),
    );
    let out = run_unit(&pod, json!({"python": {"image": "foo/bar:1"}}));
    assert_eq!(out.mutated["spec"], pod["spec"]);
    assert_eq!(out.decision.reason(), "env_value_from");
    insta::assert_yaml_snapshot!(out.mutated);
}

/// "musl platform defined": the musl tree is copied.
#[test]
fn unit_musl_platform_defined() {
    let pod = unit_pod(
        Some("musl"),
        json!({}),
        json!({"containers": [{"name": "app"}]}),
    );
    let out = run_unit(&pod, json!({"python": {"image": "foo/bar:1"}}));
    assert_python_part(
        &out,
        false,
        json!({
            "volumes": empty_dir(),
            "initContainers": [py_init("foo/bar:1", "/autoinstrumentation-musl/.")],
            "containers": [{"name": "app", "volumeMounts": agent_mounts(), "env": pythonpath_then_defaults("")}]
        }),
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

/// "platform not defined": glibc.
#[test]
fn unit_platform_not_defined() {
    let pod = unit_pod(None, json!({}), json!({"containers": [{"name": "app"}]}));
    let out = run_unit(&pod, json!({"python": {"image": "foo/bar:1"}}));
    assert_python_part(
        &out,
        false,
        json!({
            "volumes": empty_dir(),
            "initContainers": [py_init("foo/bar:1", "/autoinstrumentation/.")],
            "containers": [{"name": "app", "volumeMounts": agent_mounts(), "env": pythonpath_then_defaults("")}]
        }),
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

/// "platform not supported": the container is skipped, the spec unchanged. DIFFERENCE: the
/// operator's full path still runs its pod step, with an empty copy source (`cp -r ""
/// /otel-auto-instrumentation-python`); we add nothing and say why.
#[test]
fn unit_platform_not_supported() {
    let pod = unit_pod(
        Some("not-supported"),
        json!({}),
        json!({"containers": [{"name": "app"}]}),
    );
    let out = run_unit(&pod, json!({"python": {"image": "foo/bar:1"}}));
    assert_eq!(out.mutated["spec"], pod["spec"]);
    assert_eq!(out.decision.reason(), "unsupported_annotation_value");
    let w = out.decision.warnings.join("\n");
    assert!(w.contains("\"not-supported\""), "{w}");
    insta::assert_yaml_snapshot!(out.mutated);
}

/// "inject into init container" (a regular `main` added, `my-init` listed).
#[test]
fn unit_inject_into_init_container() {
    let pod = unit_pod(
        Some("glibc"),
        json!({"instrumentation.opentelemetry.io/container-names": "my-init"}),
        json!({"initContainers": [{"name": "my-init"}], "containers": [{"name": "main"}]}),
    );
    let out = run_unit(&pod, json!({"python": {"image": "foo/bar:1"}}));
    assert_python_part(
        &out,
        false,
        json!({
            "volumes": empty_dir(),
            "initContainers": [py_init("foo/bar:1", "/autoinstrumentation/."),
                {"name": "my-init", "volumeMounts": agent_mounts(), "env": pythonpath_then_defaults("")}],
            "containers": [{"name": "main"}]
        }),
    );
    assert!(container(&out.mutated, "containers", "main")
        .get("env")
        .is_none());
    insta::assert_yaml_snapshot!(out.mutated);
}

// === sdk_test.go: TestInjectPython ===

#[test]
fn sdk_inject_python() {
    let pod = unit_pod(
        None,
        json!({"instrumentation.opentelemetry.io/container-names": "app"}),
        json!({"containers": [{"name": "app", "image": "app:latest"}]}),
    );
    let out = run(
        &pod,
        "ns",
        &[instrumentation(
            "ns",
            "python",
            json!({"python": {"image": "img:1"}, "exporter": {"endpoint": "https://collector:4318"}}),
        )],
        &[],
    );
    let mut env = ip_env();
    env.extend(pythonpath_then_defaults(""));
    env.push(lit("OTEL_SERVICE_NAME", "app"));
    env.push(lit("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318"));
    env.extend(downward_env());
    env.push(lit(
        "OTEL_RESOURCE_ATTRIBUTES",
        &bare_pod_attributes("ns", "app", &["service.version=latest"]),
    ));
    assert_contains(
        &out.mutated["spec"],
        &json!({
            "volumes": empty_dir(),
            "initContainers": [py_init("img:1", "/autoinstrumentation/.")],
            "containers": [{"name": "app", "image": "app:latest", "volumeMounts": agent_mounts(), "env": env}]
        }),
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

// === podmutator_test.go: TestMutatePod, the Python cases ===

fn mutate_pod_instrumentation(ns: &str) -> std::sync::Arc<otel_inject_lib::Instrumentation> {
    instrumentation(
        ns,
        "example-inst",
        json!({
            "python": {"image": "otel/python:1", "env": [
                lit("OTEL_LOG_LEVEL", "debug"),
                lit("OTEL_TRACES_EXPORTER", "otlp"),
                lit("OTEL_METRICS_EXPORTER", "otlp"),
                lit("OTEL_LOGS_EXPORTER", "otlp"),
                lit("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318")]},
            "exporter": {"endpoint": "http://collector:12345"},
            "env": [
                lit("OTEL_EXPORTER_OTLP_TIMEOUT", "20"),
                lit("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
                lit("OTEL_TRACES_SAMPLER_ARG", "0.85"),
                lit("SPLUNK_TRACE_RESPONSE_HEADER_ENABLED", "true")]
        }),
    )
}

fn mutate_pod_env(ns: &str, c: &str) -> Vec<Value> {
    let mut env = ip_env();
    env.extend([
        lit("OTEL_LOG_LEVEL", "debug"),
        lit("OTEL_TRACES_EXPORTER", "otlp"),
        lit("OTEL_METRICS_EXPORTER", "otlp"),
        lit("OTEL_LOGS_EXPORTER", "otlp"),
        lit("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318"),
        lit("PYTHONPATH", PYTHONPATH_VALUE),
        lit("OTEL_EXPORTER_OTLP_TIMEOUT", "20"),
        lit("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
        lit("OTEL_TRACES_SAMPLER_ARG", "0.85"),
        lit("SPLUNK_TRACE_RESPONSE_HEADER_ENABLED", "true"),
        lit("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        lit("OTEL_SERVICE_NAME", c),
    ]);
    env.extend(downward_env());
    env.push(lit(
        "OTEL_RESOURCE_ATTRIBUTES",
        &bare_pod_attributes(ns, c, &[]),
    ));
    env
}

/// "python injection, true".
#[test]
fn mutate_pod_python_injection_true() {
    let ns = "python";
    let pod = json!({"metadata": {"annotations": {"instrumentation.opentelemetry.io/inject-python": "true"}},
                     "spec": {"containers": [{"name": "app"}]}});
    let out = run(&pod, ns, &[mutate_pod_instrumentation(ns)], &[]);
    assert_contains(
        &out.mutated["spec"],
        &json!({
            "volumes": empty_dir(),
            "initContainers": [py_init("otel/python:1", "/autoinstrumentation/.")],
            "containers": [{"name": "app", "env": mutate_pod_env(ns, "app"), "volumeMounts": agent_mounts()}]
        }),
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

/// "python injection multiple containers, true".
#[test]
fn mutate_pod_python_injection_multiple_containers() {
    let ns = "python-multiple-containers";
    let pod = json!({"metadata": {"annotations": {
                        "instrumentation.opentelemetry.io/inject-python": "true",
                        "instrumentation.opentelemetry.io/container-names": "app1,app2"}},
                     "spec": {"containers": [{"name": "app1"}, {"name": "app2"}]}});
    let out = run(&pod, ns, &[mutate_pod_instrumentation(ns)], &[]);
    assert_contains(
        &out.mutated["spec"],
        &json!({
            "volumes": empty_dir(),
            "initContainers": [py_init("otel/python:1", "/autoinstrumentation/.")],
            "containers": [
                {"name": "app1", "env": mutate_pod_env(ns, "app1"), "volumeMounts": agent_mounts()},
                {"name": "app2", "env": mutate_pod_env(ns, "app2"), "volumeMounts": agent_mounts()}]
        }),
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

/// "python injection feature gate disabled" (`--enable-python-instrumentation=false`).
#[test]
fn mutate_pod_python_injection_feature_gate_disabled() {
    let ns = "python-disabled";
    let pod = json!({"metadata": {"annotations": {"instrumentation.opentelemetry.io/inject-python": "true"}},
                     "spec": {"containers": [{"name": "app"}]}});
    let mut options = InjectOptions::default();
    options.set_enabled(Language::Python, false);
    let out = run_with(
        &pod,
        &NamespaceInfo::named(ns),
        &[mutate_pod_instrumentation(ns)],
        &[],
        &options,
    );
    assert_eq!(out.mutated["spec"], pod["spec"]);
    assert_eq!(out.decision.reason(), "language_disabled");
    assert_eq!(
        status(&out.mutated),
        Some("python: not injected: python injection is switched off in otel-inject (--enable-python-instrumentation=false)")
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

// === podmutator_test.go: the init-container tests ===

fn init_target_pod(name: &str, target_sc: Option<Value>, list: bool) -> Value {
    let mut annotations = json!({"instrumentation.opentelemetry.io/inject-python": "true"});
    if list {
        annotations["instrumentation.opentelemetry.io/container-names"] = json!("python-init");
    }
    let mut target = json!({"name": if list { "python-init" } else { "main-app" }});
    if let Some(sc) = target_sc {
        target["securityContext"] = sc;
    }
    let spec = if list {
        json!({"initContainers": [target], "containers": [{"name": "main-app"}]})
    } else {
        json!({"containers": [target]})
    };
    json!({"metadata": {"name": name, "namespace": "default", "annotations": annotations}, "spec": spec})
}

fn init_test_instrumentation(
    name: &str,
    env: Value,
) -> std::sync::Arc<otel_inject_lib::Instrumentation> {
    instrumentation(
        "default",
        name,
        json!({"python": {"image": "otel/python:1", "env": env},
               "exporter": {"endpoint": "http://collector:4318"}}),
    )
}

/// TestInitContainerInstrumentation: the copy goes first, the target init container gets the
/// Python block's env, the common env and the SDK env.
#[test]
fn init_container_instrumentation() {
    let pod = init_target_pod("test-pod", None, true);
    let out = run(
        &pod,
        "default",
        &[init_test_instrumentation(
            "python-inst",
            json!([lit("OTEL_LOG_LEVEL", "debug")]),
        )],
        &[],
    );
    assert_eq!(init_names(&out.mutated), [PY_INIT, "python-init"]);
    let target = container(&out.mutated, "initContainers", "python-init");
    for var in [
        "OTEL_NODE_IP",
        "OTEL_POD_IP",
        "OTEL_LOG_LEVEL",
        "PYTHONPATH",
        "OTEL_SERVICE_NAME",
    ] {
        assert!(env_names(target).contains(&var.to_string()), "{var}");
    }
    insta::assert_yaml_snapshot!(out.mutated);
}

/// The context of TestInitContainerInstrumentationCopiesSecurityContext and
/// TestRegularContainerInstrumentationCopiesSecurityContext.
fn restricted_target_context(run_as_non_root: bool) -> Value {
    let mut sc = json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
                        "seccompProfile": {"type": "RuntimeDefault"}});
    if run_as_non_root {
        sc["runAsNonRoot"] = json!(true);
    }
    sc
}

/// TestInitContainerInstrumentationCopiesSecurityContext: the copy takes the target init
/// container's privilege escalation, capabilities and seccomp profile.
#[test]
fn init_container_instrumentation_copies_security_context() {
    let pod = init_target_pod(
        "test-pod-init-sc",
        Some(restricted_target_context(true)),
        true,
    );
    let out = run(
        &pod,
        "default",
        &[init_test_instrumentation("python-inst-sc", json!([]))],
        &[],
    );
    let sc = &container(&out.mutated, "initContainers", PY_INIT)["securityContext"];
    let want = restricted_target_context(true);
    for field in ["allowPrivilegeEscalation", "capabilities", "seccompProfile"] {
        assert_eq!(sc[field], want[field], "{field}");
    }
    // DIFFERENCE: `runAsNonRoot` without a UID: the agent image runs as root, which the kubelet
    // would refuse, so the copy gets a non-root UID (the operator's copy fails to start).
    assert_eq!(sc["runAsNonRoot"], json!(true));
    assert_eq!(
        sc["runAsUser"],
        json!(otel_inject_lib::security::NON_ROOT_UID)
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

/// TestRegularContainerInstrumentationCopiesSecurityContext: the same from a regular target.
#[test]
fn regular_container_instrumentation_copies_security_context() {
    let pod = init_target_pod(
        "test-pod-regular-sc",
        Some(restricted_target_context(false)),
        false,
    );
    let out = run(
        &pod,
        "default",
        &[init_test_instrumentation(
            "python-inst-sc-regular",
            json!([]),
        )],
        &[],
    );
    let sc = &container(&out.mutated, "initContainers", PY_INIT)["securityContext"];
    // Already restricted: copied exactly, as the operator does.
    assert_eq!(*sc, restricted_target_context(false));
    insta::assert_yaml_snapshot!(out.mutated);
}

/// TestInitContainerInstrumentationNilSecurityContext: the operator's copy gets no security
/// context. DIFFERENCE: ours is hardened all the same.
#[test]
fn init_container_instrumentation_nil_security_context() {
    let pod = init_target_pod("test-pod-init-nil-sc", None, true);
    let out = run(
        &pod,
        "default",
        &[init_test_instrumentation("python-inst-sc-nil", json!([]))],
        &[],
    );
    let sc = &container(&out.mutated, "initContainers", PY_INIT)["securityContext"];
    assert_eq!(*sc, restricted_target_context(false));
    insta::assert_yaml_snapshot!(out.mutated);
}

// === tests/e2e-instrumentation/instrumentation-python and -oldest (the same files) ===

const E2E_NS: &str = "chainsaw-python";

const PYTHON_INSTRUMENTATION: &str = r##"
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: python
spec:
  env:
    - name: OTEL_EXPORTER_OTLP_TIMEOUT
      value: "20000"
    - name: OTEL_TRACES_SAMPLER
      value: always_on
    - name: SPLUNK_TRACE_RESPONSE_HEADER_ENABLED
      value: "true"
  exporter:
    endpoint: http://deployment-collector:4317
  propagators:
    - jaeger
    - b3
  sampler:
    type: parentbased_traceidratio
    argument: "0.25"
  python:
    env:
      - name: OTEL_LOG_LEVEL
        value: "debug"
      - name: OTEL_TRACES_EXPORTER
        value: otlp
      - name: OTEL_EXPORTER_OTLP_ENDPOINT
        value: http://deployment-collector:4318
      # Disabling system_metrics instrumenation as the test app is built using Alpine
      # Instrumentation with metrics is tested in test instrumenation-python-musl
      - name: OTEL_PYTHON_DISABLED_INSTRUMENTATIONS
        value: "system_metrics"
"##;

/// `01-install-app.yaml`, with chainsaw's `($APP_IMAGE)` binding left to fill in.
const PYTHON_APP: &str = r##"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-python
spec:
  selector:
    matchLabels:
      app: my-python
  replicas: 1
  template:
    metadata:
      labels:
        app: my-python
      annotations:
        instrumentation.opentelemetry.io/inject-python: "true"
    spec:
      securityContext:
        runAsUser: 1000
        runAsGroup: 3000
        fsGroup: 3000
      containers:
      - name: myapp
        ports:
        - containerPort: 8080
        image: ($APP_IMAGE)
        securityContext:
          allowPrivilegeEscalation: false
          capabilities:
            drop: ["ALL"]
        readinessProbe:
          httpGet:
            path: /
            port: 8080
            scheme: HTTP
          initialDelaySeconds: 5
          periodSeconds: 15
          timeoutSeconds: 2
          failureThreshold: 3
"##;

/// `01-assert.yaml`, without its JMESPath parts: `(containers[?name == 'myapp'])` is the one
/// container here, and the `contains(...)` checks of `OTEL_RESOURCE_ATTRIBUTES` are asserted
/// one by one in the test.
const PYTHON_ASSERT: &str = r##"
apiVersion: v1
kind: Pod
metadata:
  annotations:
    instrumentation.opentelemetry.io/inject-python: "true"
  labels:
    app: my-python
spec:
  containers:
  - name: myapp
    env:
    - name: OTEL_NODE_IP
      valueFrom:
        fieldRef:
          apiVersion: v1
          fieldPath: status.hostIP
    - name: OTEL_POD_IP
      valueFrom:
        fieldRef:
          apiVersion: v1
          fieldPath: status.podIP
    - name: OTEL_LOG_LEVEL
      value: debug
    - name: OTEL_TRACES_EXPORTER
      value: otlp
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://deployment-collector:4318
    - name: OTEL_PYTHON_DISABLED_INSTRUMENTATIONS
      value: system_metrics
    - name: PYTHONPATH
      value: /otel-auto-instrumentation-python/opentelemetry/instrumentation/auto_instrumentation:/otel-auto-instrumentation-python
    - name: OTEL_EXPORTER_OTLP_TIMEOUT
      value: "20000"
    - name: OTEL_TRACES_SAMPLER
      value: always_on
    - name: SPLUNK_TRACE_RESPONSE_HEADER_ENABLED
      value: "true"
    - name: OTEL_EXPORTER_OTLP_PROTOCOL
      value: http/protobuf
    - name: OTEL_METRICS_EXPORTER
      value: otlp
    - name: OTEL_LOGS_EXPORTER
      value: otlp
    - name: OTEL_SERVICE_NAME
      value: my-python
    - name: OTEL_RESOURCE_ATTRIBUTES_POD_NAME
      valueFrom:
        fieldRef:
          apiVersion: v1
          fieldPath: metadata.name
    - name: OTEL_RESOURCE_ATTRIBUTES_NODE_NAME
      valueFrom:
        fieldRef:
          apiVersion: v1
          fieldPath: spec.nodeName
    - name: OTEL_PROPAGATORS
      value: jaeger,b3
    - name: OTEL_RESOURCE_ATTRIBUTES
    ports:
    - containerPort: 8080
      protocol: TCP
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    - mountPath: /otel-auto-instrumentation-python
      name: opentelemetry-auto-instrumentation-python
"##;

fn hardened_e2e_context() -> Value {
    json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
           "seccompProfile": {"type": "RuntimeDefault"}})
}

fn assert_default_python_copy(pod: &Value, source: &str) {
    let init = container(pod, "initContainers", PY_INIT);
    assert_eq!(init["image"], json!(python::DEFAULT_IMAGE));
    assert_eq!(init["command"], cp_agent(source));
    assert_eq!(init["resources"], python::default_resources());
    assert_eq!(init["volumeMounts"], agent_mounts());
    assert_eq!(pod["spec"]["volumes"], empty_dir());
}

/// `instrumentation-python` (image tag `main`) and `instrumentation-python-oldest`
/// (`main-3.10`): the same manifests, the assert accepting either `service.version`.
#[rstest]
#[case::latest("main")]
#[case::oldest("main-3.10")]
fn e2e_instrumentation_python(#[case] tag: &str) {
    let app = PYTHON_APP.replace(
        "($APP_IMAGE)",
        &format!("ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-python:{tag}"),
    );
    let out = run_manifests(&app, &[PYTHON_INSTRUMENTATION], E2E_NS);
    assert_contains(&out.mutated, &assert_file_pod(PYTHON_ASSERT));
    let attrs = env_value(
        container(&out.mutated, "containers", "myapp"),
        "OTEL_RESOURCE_ATTRIBUTES",
    )
    .unwrap_or("")
    .to_string();
    for want in [
        "k8s.container.name=myapp".to_string(),
        "k8s.pod.name=$(OTEL_RESOURCE_ATTRIBUTES_POD_NAME)".into(),
        "k8s.replicaset.name=my-python-".into(),
        "k8s.deployment.name=my-python".into(),
        format!("k8s.namespace.name={E2E_NS}"),
        "k8s.node.name=$(OTEL_RESOURCE_ATTRIBUTES_NODE_NAME)".into(),
        format!("service.instance.id={E2E_NS}.$(OTEL_RESOURCE_ATTRIBUTES_POD_NAME).myapp"),
        format!("service.version={tag}"),
    ] {
        assert!(attrs.contains(&want), "{want} in {attrs}");
    }
    // The CR's sampler is not written: spec.env sets OTEL_TRACES_SAMPLER.
    assert_eq!(
        env_value(
            container(&out.mutated, "containers", "myapp"),
            "OTEL_TRACES_SAMPLER_ARG"
        ),
        None
    );
    assert_default_python_copy(&out.mutated, "/autoinstrumentation/.");
    let init = container(&out.mutated, "initContainers", PY_INIT);
    assert_eq!(init["securityContext"], hardened_e2e_context());
    insta::assert_yaml_snapshot!(format!("e2e_instrumentation_python_{tag}"), out.mutated);
}

// === tests/e2e-instrumentation/instrumentation-python-initcontainer ===

const PYTHON_INITCONTAINER_INSTRUMENTATION: &str = r##"
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: python
spec:
  env:
    - name: OTEL_EXPORTER_OTLP_TIMEOUT
      value: "20000"
    - name: OTEL_TRACES_SAMPLER
      value: always_on
  exporter:
    endpoint: http://deployment-collector:4318
  propagators:
    - jaeger
    - b3
  python:
    env:
      - name: OTEL_LOG_LEVEL
        value: "debug"
      - name: OTEL_TRACES_EXPORTER
        value: otlp
      - name: OTEL_EXPORTER_OTLP_ENDPOINT
        value: http://deployment-collector:4318
      - name: OTEL_PYTHON_DISABLED_INSTRUMENTATIONS
        value: "system_metrics"
"##;

const PYTHON_INITCONTAINER_APP: &str = r##"
apiVersion: v1
kind: Pod
metadata:
  name: my-python-initcontainer
  labels:
    app: my-python-initcontainer
  annotations:
    instrumentation.opentelemetry.io/inject-python: "true"
    instrumentation.opentelemetry.io/container-names: "python-init"
spec:
  securityContext:
    runAsUser: 1000
    runAsGroup: 3000
    fsGroup: 3000
  initContainers:
  - name: python-init
    image: ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-python:main
    securityContext:
      allowPrivilegeEscalation: false
      capabilities:
        drop: ["ALL"]
      seccompProfile:
        type: RuntimeDefault
    command: ["/bin/sh", "-c"]
    # Start app, generate telemetry, wait for flush, then exit
    args:
      - |
        echo "Python init container starting"
        # Start the Flask app in the background (Alpine-based image)
        cd /app && flask run --host=0.0.0.0 --port=8080 &
        APP_PID=$!
        sleep 10
        # Stop the app
        kill $APP_PID 2>/dev/null || true
        echo "Python init container completed"
        exit 0
  containers:
  - name: main-app
    image: mirror.gcr.io/library/busybox:latest
    securityContext:
      allowPrivilegeEscalation: false
      capabilities:
        drop: ["ALL"]
      seccompProfile:
        type: RuntimeDefault
    command: ["sleep", "infinity"]
"##;

const PYTHON_INITCONTAINER_ASSERT: &str = r##"
apiVersion: v1
kind: Pod
metadata:
  labels:
    app: my-python-initcontainer
spec:
  initContainers:
  # The instrumentation init container must come FIRST (before the target init container)
  - name: opentelemetry-auto-instrumentation-python
    securityContext:
      allowPrivilegeEscalation: false
      capabilities:
        drop: ["ALL"]
      seccompProfile:
        type: RuntimeDefault
  # The target init container should have the Python agent env vars and volume mounts
  - name: python-init
    env:
    - name: OTEL_NODE_IP
      valueFrom:
        fieldRef:
          apiVersion: v1
          fieldPath: status.hostIP
    - name: OTEL_POD_IP
      valueFrom:
        fieldRef:
          apiVersion: v1
          fieldPath: status.podIP
    - name: OTEL_LOG_LEVEL
      value: "debug"
    - name: OTEL_TRACES_EXPORTER
      value: otlp
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://deployment-collector:4318
    - name: OTEL_PYTHON_DISABLED_INSTRUMENTATIONS
      value: system_metrics
    - name: PYTHONPATH
      value: /otel-auto-instrumentation-python/opentelemetry/instrumentation/auto_instrumentation:/otel-auto-instrumentation-python
    - name: OTEL_EXPORTER_OTLP_TIMEOUT
      value: "20000"
    - name: OTEL_TRACES_SAMPLER
      value: always_on
    - name: OTEL_EXPORTER_OTLP_PROTOCOL
      value: http/protobuf
    - name: OTEL_METRICS_EXPORTER
      value: otlp
    - name: OTEL_LOGS_EXPORTER
      value: otlp
    - name: OTEL_SERVICE_NAME
      value: my-python-initcontainer
    - name: OTEL_RESOURCE_ATTRIBUTES_POD_NAME
      valueFrom:
        fieldRef:
          apiVersion: v1
          fieldPath: metadata.name
    - name: OTEL_RESOURCE_ATTRIBUTES_NODE_NAME
      valueFrom:
        fieldRef:
          apiVersion: v1
          fieldPath: spec.nodeName
    - name: OTEL_PROPAGATORS
      value: jaeger,b3
    - name: OTEL_RESOURCE_ATTRIBUTES
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    - mountPath: /otel-auto-instrumentation-python
      name: opentelemetry-auto-instrumentation-python
  containers:
  - name: main-app
"##;

#[test]
fn e2e_instrumentation_python_initcontainer() {
    let out = run_manifests(
        PYTHON_INITCONTAINER_APP,
        &[PYTHON_INITCONTAINER_INSTRUMENTATION],
        E2E_NS,
    );
    assert_contains(&out.mutated, &assert_file_pod(PYTHON_INITCONTAINER_ASSERT));
    assert_eq!(init_names(&out.mutated), [PY_INIT, "python-init"]);
    assert!(container(&out.mutated, "containers", "main-app")
        .get("env")
        .is_none());
    insta::assert_yaml_snapshot!(out.mutated);
}

// === tests/e2e-instrumentation/instrumentation-python-musl ===

const PYTHON_MUSL_INSTRUMENTATION: &str = r##"
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: python-musl
spec:
  env:
    - name: OTEL_EXPORTER_OTLP_TIMEOUT
      value: "20000"
    - name: OTEL_TRACES_SAMPLER
      value: always_on
    - name: SPLUNK_TRACE_RESPONSE_HEADER_ENABLED
      value: "true"
  exporter:
    endpoint: http://deployment-collector:4317
  propagators:
    - jaeger
    - b3
  sampler:
    type: parentbased_traceidratio
    argument: "0.25"
  python:
    env:
      - name: OTEL_LOG_LEVEL
        value: "debug"
      - name: OTEL_TRACES_EXPORTER
        value: otlp
      - name: OTEL_EXPORTER_OTLP_ENDPOINT
        value: http://deployment-collector:4318
"##;

const PYTHON_MUSL_APP: &str = r##"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-python-musl
spec:
  selector:
    matchLabels:
      app: my-python-musl
  replicas: 1
  template:
    metadata:
      labels:
        app: my-python-musl
      annotations:
        instrumentation.opentelemetry.io/inject-python: "true"
        instrumentation.opentelemetry.io/otel-python-platform: "musl"
    spec:
      securityContext:
        runAsUser: 1000
        runAsGroup: 3000
        fsGroup: 3000
      containers:
      - name: myapp
        ports:
        - containerPort: 8080
        image: ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-python:main
        securityContext:
          allowPrivilegeEscalation: false
          capabilities:
            drop: ["ALL"]
        readinessProbe:
          httpGet:
            path: /
            port: 8080
            scheme: HTTP
          initialDelaySeconds: 5
          periodSeconds: 15
          timeoutSeconds: 2
          failureThreshold: 3
"##;

const PYTHON_MUSL_ASSERT: &str = r##"
apiVersion: v1
kind: Pod
metadata:
  annotations:
    instrumentation.opentelemetry.io/inject-python: "true"
    instrumentation.opentelemetry.io/otel-python-platform: "musl"
  labels:
    app: my-python-musl
spec:
  containers:
  - env:
    - name: OTEL_NODE_IP
      valueFrom:
        fieldRef:
          fieldPath: status.hostIP
    - name: OTEL_POD_IP
      valueFrom:
        fieldRef:
          fieldPath: status.podIP
    - name: OTEL_LOG_LEVEL
      value: debug
    - name: OTEL_TRACES_EXPORTER
      value: otlp
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://deployment-collector:4318
    - name: PYTHONPATH
      value: /otel-auto-instrumentation-python/opentelemetry/instrumentation/auto_instrumentation:/otel-auto-instrumentation-python
    - name: OTEL_EXPORTER_OTLP_TIMEOUT
      value: "20000"
    - name: OTEL_TRACES_SAMPLER
      value: always_on
    - name: SPLUNK_TRACE_RESPONSE_HEADER_ENABLED
      value: "true"
    - name: OTEL_EXPORTER_OTLP_PROTOCOL
      value: http/protobuf
    - name: OTEL_METRICS_EXPORTER
      value: otlp
    - name: OTEL_LOGS_EXPORTER
      value: otlp
    - name: OTEL_SERVICE_NAME
      value: my-python-musl
    - name: OTEL_RESOURCE_ATTRIBUTES_POD_NAME
      valueFrom:
        fieldRef:
          apiVersion: v1
          fieldPath: metadata.name
    - name: OTEL_RESOURCE_ATTRIBUTES_NODE_NAME
      valueFrom:
        fieldRef:
          apiVersion: v1
          fieldPath: spec.nodeName
    - name: OTEL_PROPAGATORS
      value: jaeger,b3
    - name: OTEL_RESOURCE_ATTRIBUTES
    name: myapp
    ports:
    - containerPort: 8080
      protocol: TCP
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    - mountPath: /otel-auto-instrumentation-python
      name: opentelemetry-auto-instrumentation-python
  initContainers:
  - name: opentelemetry-auto-instrumentation-python
    command:
      - cp
      - -r
      - /autoinstrumentation-musl/.
      - /otel-auto-instrumentation-python
"##;

#[test]
fn e2e_instrumentation_python_musl() {
    let out = run_manifests(PYTHON_MUSL_APP, &[PYTHON_MUSL_INSTRUMENTATION], E2E_NS);
    assert_contains(&out.mutated, &assert_file_pod(PYTHON_MUSL_ASSERT));
    assert_default_python_copy(&out.mutated, "/autoinstrumentation-musl/.");
    insta::assert_yaml_snapshot!(out.mutated);
}

// === tests/e2e-instrumentation/instrumentation-python-specenv ===

const PYTHON_SPECENV_INSTRUMENTATION: &str = r##"
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: python-specenv
spec:
  env:
    - name: OTEL_METRICS_EXPORTER
      value: none
    - name: OTEL_LOGS_EXPORTER
      value: none
  exporter:
    endpoint: http://deployment-collector:4317
  python:
    env:
      - name: OTEL_TRACES_EXPORTER
        value: otlp
      - name: OTEL_EXPORTER_OTLP_ENDPOINT
        value: http://deployment-collector:4318
"##;

const PYTHON_SPECENV_APP: &str = r##"
apiVersion: v1
kind: Pod
metadata:
  name: my-python-specenv
  labels:
    app: my-python-specenv
  annotations:
    instrumentation.opentelemetry.io/inject-python: "true"
spec:
  securityContext:
    runAsNonRoot: true
    runAsUser: 1000
    seccompProfile:
      type: RuntimeDefault
  containers:
  - name: myapp
    image: mirror.gcr.io/library/python:3.8-slim
    command: ["python", "-c", "import time; time.sleep(3600)"]
    securityContext:
      allowPrivilegeEscalation: false
      capabilities:
        drop:
        - ALL
      runAsNonRoot: true
      seccompProfile:
        type: RuntimeDefault
"##;

const PYTHON_SPECENV_ASSERT: &str = r##"
apiVersion: v1
kind: Pod
metadata:
  annotations:
    instrumentation.opentelemetry.io/inject-python: "true"
  labels:
    app: my-python-specenv
spec:
  containers:
  - name: myapp
    env:
    - name: OTEL_NODE_IP
      valueFrom:
        fieldRef:
          apiVersion: v1
          fieldPath: status.hostIP
    - name: OTEL_POD_IP
      valueFrom:
        fieldRef:
          apiVersion: v1
          fieldPath: status.podIP
    - name: OTEL_TRACES_EXPORTER
      value: otlp
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://deployment-collector:4318
    - name: PYTHONPATH
      value: /otel-auto-instrumentation-python/opentelemetry/instrumentation/auto_instrumentation:/otel-auto-instrumentation-python
    - name: OTEL_METRICS_EXPORTER
      value: none
    - name: OTEL_LOGS_EXPORTER
      value: none
    - name: OTEL_EXPORTER_OTLP_PROTOCOL
      value: http/protobuf
    - name: OTEL_SERVICE_NAME
      value: my-python-specenv
    - name: OTEL_RESOURCE_ATTRIBUTES_POD_NAME
      valueFrom:
        fieldRef:
          apiVersion: v1
          fieldPath: metadata.name
    - name: OTEL_RESOURCE_ATTRIBUTES_NODE_NAME
      valueFrom:
        fieldRef:
          apiVersion: v1
          fieldPath: spec.nodeName
    - name: OTEL_RESOURCE_ATTRIBUTES
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    - mountPath: /otel-auto-instrumentation-python
      name: opentelemetry-auto-instrumentation-python
status:
  containerStatuses:
  - name: myapp
    ready: true
    started: true
  phase: Running
"##;

/// `spec.env` wins over the Python defaults (`OTEL_METRICS_EXPORTER`, `OTEL_LOGS_EXPORTER`
/// `none`), in a restricted pod.
#[test]
fn e2e_instrumentation_python_specenv() {
    let out = run_manifests(
        PYTHON_SPECENV_APP,
        &[PYTHON_SPECENV_INSTRUMENTATION],
        E2E_NS,
    );
    assert_contains(&out.mutated, &assert_file_pod(PYTHON_SPECENV_ASSERT));
    let app = container(&out.mutated, "containers", "myapp");
    assert!(env_value(app, "OTEL_RESOURCE_ATTRIBUTES")
        .unwrap_or("")
        .contains("service.version=3.8-slim"));
    // The app's context passes the restricted standard and the pod names a UID: the copy
    // gets the app's context unchanged, as from the operator.
    let init = container(&out.mutated, "initContainers", PY_INIT);
    assert_eq!(
        init["securityContext"],
        json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
               "runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}})
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

// === tests/e2e-instrumentation/instrumentation-python-multicontainer (steps 01 and 02) ===

const PYTHON_MULTI_INSTRUMENTATION: &str = r##"
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: python-multi
spec:
  env:
    - name: OTEL_EXPORTER_OTLP_TIMEOUT
      value: "20000"
    - name: OTEL_TRACES_SAMPLER
      value: always_on
    - name: SPLUNK_TRACE_RESPONSE_HEADER_ENABLED
      value: "true"
  exporter:
    endpoint: http://deployment-collector:4317
  propagators:
    - jaeger
    - b3
  sampler:
    type: parentbased_traceidratio
    argument: "0.25"
  python:
    env:
      - name: OTEL_LOG_LEVEL
        value: "debug"
      - name: OTEL_TRACES_EXPORTER
        value: otlp
      - name: OTEL_EXPORTER_OTLP_ENDPOINT
        value: http://deployment-collector:4318
"##;

/// The two steps' `01-install-app.yaml` / `02-install-app.yaml`, but for the list.
fn python_multi_app(list: &str) -> String {
    format!(
        r##"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-python-multi
spec:
  selector:
    matchLabels:
      app: my-python-multi
  replicas: 1
  template:
    metadata:
      labels:
        app: my-python-multi
      annotations:
        instrumentation.opentelemetry.io/inject-python: "true"
        instrumentation.opentelemetry.io/container-names: "{list}"
        instrumentation.opentelemetry.io/otel-python-platform: "musl"
    spec:
      securityContext:
        runAsUser: 1000
        runAsGroup: 3000
        fsGroup: 3000
      containers:
      - name: myapp
        ports:
        - containerPort: 8080
        image: ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-python:main
        securityContext:
          allowPrivilegeEscalation: false
          capabilities:
            drop: ["ALL"]
        readinessProbe:
          httpGet:
            path: /
            port: 8080
            scheme: HTTP
          initialDelaySeconds: 5
          periodSeconds: 15
          timeoutSeconds: 2
          failureThreshold: 3
      - name: myrabbit
        image: mirror.gcr.io/library/rabbitmq:3
        securityContext:
          allowPrivilegeEscalation: false
          capabilities:
            drop: ["ALL"]
"##
    )
}

const PYTHON_MULTI_ENV: &str = r##"
    - name: OTEL_NODE_IP
      valueFrom:
        fieldRef:
          apiVersion: v1
          fieldPath: status.hostIP
    - name: OTEL_POD_IP
      valueFrom:
        fieldRef:
          apiVersion: v1
          fieldPath: status.podIP
    - name: OTEL_LOG_LEVEL
      value: debug
    - name: OTEL_TRACES_EXPORTER
      value: otlp
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://deployment-collector:4318
    - name: PYTHONPATH
      value: /otel-auto-instrumentation-python/opentelemetry/instrumentation/auto_instrumentation:/otel-auto-instrumentation-python
    - name: OTEL_EXPORTER_OTLP_TIMEOUT
      value: "20000"
    - name: OTEL_TRACES_SAMPLER
      value: always_on
    - name: SPLUNK_TRACE_RESPONSE_HEADER_ENABLED
      value: "true"
    - name: OTEL_EXPORTER_OTLP_PROTOCOL
      value: http/protobuf
    - name: OTEL_METRICS_EXPORTER
      value: otlp
    - name: OTEL_LOGS_EXPORTER
      value: otlp
    - name: OTEL_SERVICE_NAME
      value: my-python-multi
    - name: OTEL_RESOURCE_ATTRIBUTES_POD_NAME
      valueFrom:
        fieldRef:
          apiVersion: v1
          fieldPath: metadata.name
    - name: OTEL_RESOURCE_ATTRIBUTES_NODE_NAME
      valueFrom:
        fieldRef:
          apiVersion: v1
          fieldPath: spec.nodeName
    - name: OTEL_PROPAGATORS
      value: jaeger,b3
    - name: OTEL_RESOURCE_ATTRIBUTES"##;

#[test]
fn e2e_instrumentation_python_multicontainer_step_01() {
    let expected = format!(
        r##"
apiVersion: v1
kind: Pod
metadata:
  annotations:
    instrumentation.opentelemetry.io/container-names: myapp,myrabbit
    instrumentation.opentelemetry.io/inject-python: "true"
    instrumentation.opentelemetry.io/otel-python-platform: musl
spec:
  containers:
  - env:{PYTHON_MULTI_ENV}
    name: myapp
    ports:
    - containerPort: 8080
      protocol: TCP
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    - mountPath: /otel-auto-instrumentation-python
      name: opentelemetry-auto-instrumentation-python
  - env:{PYTHON_MULTI_ENV}
    name: myrabbit
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    - mountPath: /otel-auto-instrumentation-python
      name: opentelemetry-auto-instrumentation-python
  initContainers:
  - name: opentelemetry-auto-instrumentation-python
"##
    );
    let out = run_manifests(
        &python_multi_app("myapp,myrabbit"),
        &[PYTHON_MULTI_INSTRUMENTATION],
        E2E_NS,
    );
    assert_contains(&out.mutated, &assert_file_pod(&expected));
    assert_default_python_copy(&out.mutated, "/autoinstrumentation-musl/.");
    insta::assert_yaml_snapshot!(out.mutated);
}

#[test]
fn e2e_instrumentation_python_multicontainer_step_02() {
    let expected = format!(
        r##"
apiVersion: v1
kind: Pod
metadata:
  annotations:
    instrumentation.opentelemetry.io/container-names: myapp
    instrumentation.opentelemetry.io/inject-python: "true"
    instrumentation.opentelemetry.io/otel-python-platform: musl
  labels:
    app: my-python-multi
spec:
  containers:
  - name: myapp
    env:{PYTHON_MULTI_ENV}
    ports:
    - containerPort: 8080
      protocol: TCP
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    - mountPath: /otel-auto-instrumentation-python
      name: opentelemetry-auto-instrumentation-python
  - image: mirror.gcr.io/library/rabbitmq:3
    name: myrabbit
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
  initContainers:
  - name: opentelemetry-auto-instrumentation-python
"##
    );
    let app = python_multi_app("myapp");
    let (pod, _) = manifest_pod(&app, E2E_NS);
    let out = run_manifests(&app, &[PYTHON_MULTI_INSTRUMENTATION], E2E_NS);
    assert_contains(&out.mutated, &assert_file_pod(&expected));
    assert_eq!(
        container(&out.mutated, "containers", "myrabbit"),
        container(&pod, "containers", "myrabbit")
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

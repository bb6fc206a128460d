//! The operator's Java scenarios (0.158.0), reproduced: every case of `javaagent_test.go`, the
//! Java cases of `sdk_test.go` (`TestInjectJava`) and `podmutator_test.go`, and the
//! `tests/e2e-instrumentation/instrumentation-java*` suites. Each builds the operator's input
//! pod and Instrumentation, runs `mutate`, applies the patch with json-patch (`common::run*`,
//! which also checks that a second pass yields an empty patch), compares with the operator's
//! expected pod, and snapshots the whole mutated pod.
//!
//! Where we differ on purpose, the test asserts our behaviour and says so (`DIFFERENCE:`):
//! - the agent init container's security context is hardened for the restricted Pod Security
//!   Standard (README, "agent init container security context");
//! - the agent image and init-container resources get the operator's CR defaults when the CR
//!   has none (its CR-defaulting webhook does that; README, "CR defaults");
//! - a pod whose every target fails validation gets no volume and no init container;
//! - the status annotation `otel-inject.dev/status` says what was done.
//!
//! Not reproduced: `podmutator_test.go` "secret and configmap does not exists" (the operator
//! refuses the pod when `exporter.tls` names a Secret or ConfigMap missing from the pod's
//! namespace; the lib is given no Secrets or ConfigMaps to check against).

mod common;

use common::operator::*;
use common::*;
use otel_inject_lib::lang::java;
use otel_inject_lib::{InjectOptions, Language, NamespaceInfo, Outcome as O};
use serde_json::{json, Value};

const JAVA_INIT: &str = "opentelemetry-auto-instrumentation-java";
const JAVA_VOLUME: &str = "opentelemetry-auto-instrumentation-java";

/// The copy command of the agent jar.
fn cp_agent() -> Value {
    json!([
        "cp",
        "/javaagent.jar",
        "/otel-auto-instrumentation-java/javaagent.jar"
    ])
}

fn init_mount() -> Value {
    json!([{"name": JAVA_VOLUME, "mountPath": "/otel-auto-instrumentation-java"}])
}

fn empty_dir() -> Value {
    json!([{"name": JAVA_VOLUME, "emptyDir": {"sizeLimit": "200Mi"}}])
}

fn agent_mount(container: &str) -> Value {
    json!({"name": JAVA_VOLUME, "mountPath": format!("/otel-auto-instrumentation-java-{container}")})
}

fn agent_option(container: &str) -> String {
    format!(" -javaagent:/otel-auto-instrumentation-java-{container}/javaagent.jar")
}

/// A pod of the operator's unit tests: no name, no owner, `inject-java: "true"` (the unit
/// tests call the Java step directly; through `mutate` the annotation asks for it).
fn unit_pod(annotations: Value, spec: Value) -> Value {
    let mut ann = json!({"instrumentation.opentelemetry.io/inject-java": "true"});
    if let (Some(a), Some(extra)) = (ann.as_object_mut(), annotations.as_object()) {
        a.extend(extra.clone());
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"annotations": ann}, "spec": spec})
}

const UNIT_NS: &str = "javaagent";

fn run_unit(pod: &Value, java_block: Value) -> Outcome {
    run_unit_spec(pod, json!({"java": java_block}))
}

fn run_unit_spec(pod: &Value, spec: Value) -> Outcome {
    run(pod, UNIT_NS, &[instrumentation(UNIT_NS, "java", spec)], &[])
}

/// The Java-only part of a unit test's expected pod: what `injectJavaagent` and
/// `injectDefaultJavaEnvVars` write (the env cut to `JAVA_TOOL_OPTIONS`).
fn assert_java_part(out: &Outcome, expected_spec: Value) {
    let java_part = only_env(&out.mutated, &[java::JAVA_TOOL_OPTIONS]);
    assert_contains(&java_part["spec"], &expected_spec);
}

// === javaagent_test.go: TestInjectJavaagent ===

/// "JAVA_TOOL_OPTIONS not defined".
#[test]
fn unit_java_tool_options_not_defined() {
    let pod = unit_pod(
        json!({}),
        json!({"containers": [{"name": "test-container"}]}),
    );
    let out = run_unit(&pod, json!({"image": "foo/bar:1"}));
    assert_eq!(out.decision.outcome(), O::Injected);
    assert_java_part(
        &out,
        json!({
            "volumes": empty_dir(),
            "initContainers": [{"name": JAVA_INIT, "image": "foo/bar:1", "command": cp_agent(),
                                "volumeMounts": init_mount()}],
            "containers": [{"name": "test-container",
                            "volumeMounts": [agent_mount("test-container")],
                            "env": [lit("JAVA_TOOL_OPTIONS", &agent_option("test-container"))]}]
        }),
    );
    // DIFFERENCE: no resources in the CR: the operator's CR defaults (its defaulting webhook).
    let init = container(&out.mutated, "initContainers", JAVA_INIT);
    assert_eq!(init["resources"], java::default_resources());
    insta::assert_yaml_snapshot!(out.mutated);
}

/// "add extensions to JAVA_TOOL_OPTIONS".
#[test]
fn unit_add_extensions_to_java_tool_options() {
    let pod = unit_pod(
        json!({}),
        json!({"containers": [{"name": "test-container"}]}),
    );
    let out = run_unit(
        &pod,
        json!({"image": "foo/bar:1", "extensions": [
            {"image": "ex/ex:0", "dir": "/ex0"}, {"image": "ex/ex:1", "dir": "/ex1"}]}),
    );
    let ext = |i: usize| {
        json!({"name": format!("opentelemetry-auto-instrumentation-extension-{i}"),
               "image": format!("ex/ex:{i}"),
               "command": ["cp", "-r", format!("/ex{i}/."), "/otel-auto-instrumentation-java/extensions"],
               "volumeMounts": init_mount()})
    };
    assert_java_part(
        &out,
        json!({
            "volumes": empty_dir(),
            "initContainers": [
                {"name": JAVA_INIT, "image": "foo/bar:1", "command": cp_agent(), "volumeMounts": init_mount()},
                ext(0), ext(1)],
            "containers": [{"name": "test-container",
                            "volumeMounts": [agent_mount("test-container")],
                            "env": [lit("JAVA_TOOL_OPTIONS", " -javaagent:/otel-auto-instrumentation-java-test-container/javaagent.jar -Dotel.javaagent.extensions=/otel-auto-instrumentation-java-test-container/extensions")]}]
        }),
    );
    // As the operator: the extension copies carry the agent's resources and no pull policy.
    for i in 0..2 {
        let c = container(
            &out.mutated,
            "initContainers",
            &format!("opentelemetry-auto-instrumentation-extension-{i}"),
        );
        assert_eq!(c["resources"], java::default_resources());
        assert!(c.get("imagePullPolicy").is_none());
    }
    insta::assert_yaml_snapshot!(out.mutated);
}

/// "JAVA_TOOL_OPTIONS defined": the user's options come first, ours are appended in place.
#[test]
fn unit_java_tool_options_defined() {
    let pod = unit_pod(
        json!({}),
        json!({"containers": [{"name": "test-container",
                               "env": [{"name": "JAVA_TOOL_OPTIONS", "value": "-Dbaz=bar"}]}]}),
    );
    let out = run_unit(
        &pod,
        json!({"image": "foo/bar:1", "resources": test_resource_requirements()}),
    );
    assert_java_part(
        &out,
        json!({
            "volumes": empty_dir(),
            "initContainers": [{"name": JAVA_INIT, "image": "foo/bar:1", "command": cp_agent(),
                                "volumeMounts": init_mount(),
                                "resources": test_resource_requirements()}],
            "containers": [{"name": "test-container",
                            "volumeMounts": [agent_mount("test-container")],
                            "env": [lit("JAVA_TOOL_OPTIONS", &format!("-Dbaz=bar{}", agent_option("test-container")))]}]
        }),
    );
    // Replaced in place: still the user's first entry, right after the prepended IPs.
    let c = container(&out.mutated, "containers", "test-container");
    assert_eq!(
        env_names(c)[..3],
        ["OTEL_NODE_IP", "OTEL_POD_IP", "JAVA_TOOL_OPTIONS"]
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

/// "JAVA_TOOL_OPTIONS defined as ValueFrom": the container is skipped and the pod keeps its
/// spec (the operator's unit test expects it unchanged; the operator's full path,
/// `sdkInjector.injectJava`, would still add the volume and the init container: we add
/// neither, on purpose).
#[test]
fn unit_java_tool_options_defined_as_value_from() {
    let env = json!([{"name": "JAVA_TOOL_OPTIONS", "valueFrom": {"configMapKeyRef": {"name": "jvm", "key": "opts"}}}]);
    let pod = unit_pod(
        json!({}),
        json!({"containers": [{"name": "test-container", "env": env}]}),
    );
    let out = run_unit(&pod, json!({"image": "foo/bar:1"}));
    assert_eq!(out.mutated["spec"], pod["spec"]);
    assert_eq!(out.decision.reason(), "env_value_from");
    let st = status(&out.mutated).unwrap_or("");
    assert!(
        st.contains("JAVA_TOOL_OPTIONS is set through valueFrom"),
        "{st}"
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

/// "inject into init container": the agent copy goes before the target init container. The
/// operator's pod has only an init container; a pod needs a regular one, so ours adds `main`
/// and lists `my-init` (the unit test hands the step every container).
#[test]
fn unit_inject_into_init_container() {
    let pod = unit_pod(
        json!({"instrumentation.opentelemetry.io/container-names": "my-init"}),
        json!({"initContainers": [{"name": "my-init"}], "containers": [{"name": "main"}]}),
    );
    let out = run_unit(&pod, json!({"image": "foo/bar:1"}));
    assert_java_part(
        &out,
        json!({
            "volumes": empty_dir(),
            "initContainers": [
                {"name": JAVA_INIT, "image": "foo/bar:1", "command": cp_agent(), "volumeMounts": init_mount()},
                {"name": "my-init", "volumeMounts": [agent_mount("my-init")],
                 "env": [lit("JAVA_TOOL_OPTIONS", &agent_option("my-init"))]}],
            "containers": [{"name": "main"}]
        }),
    );
    assert!(container(&out.mutated, "containers", "main")
        .get("env")
        .is_none());
    insta::assert_yaml_snapshot!(out.mutated);
}

/// "multiple containers with unique volume mount paths": one volume and one copy, a mount path
/// of its own per container.
#[test]
fn unit_multiple_containers_with_unique_volume_mount_paths() {
    let pod = unit_pod(
        json!({"instrumentation.opentelemetry.io/container-names": "app1,app2"}),
        json!({"containers": [{"name": "app1"}, {"name": "app2"}]}),
    );
    let out = run_unit(&pod, json!({"image": "foo/bar:1"}));
    assert_java_part(
        &out,
        json!({
            "volumes": empty_dir(),
            "initContainers": [{"name": JAVA_INIT, "image": "foo/bar:1", "command": cp_agent(), "volumeMounts": init_mount()}],
            "containers": [
                {"name": "app1", "volumeMounts": [agent_mount("app1")], "env": [lit("JAVA_TOOL_OPTIONS", &agent_option("app1"))]},
                {"name": "app2", "volumeMounts": [agent_mount("app2")], "env": [lit("JAVA_TOOL_OPTIONS", &agent_option("app2"))]}]
        }),
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

/// The operator's `testSecurityContext` (javaagent_test.go).
fn test_security_context() -> Value {
    json!({"allowPrivilegeEscalation": false, "runAsNonRoot": true, "runAsUser": 1000,
           "capabilities": {"drop": ["ALL"]}})
}

/// "security context applied to java init container and all extensions": an explicit
/// `initContainerSecurityContext` is used as written, on the agent copy and every extension.
#[test]
fn unit_security_context_applied_to_java_init_container_and_all_extensions() {
    let pod = unit_pod(
        json!({}),
        json!({"containers": [{"name": "test-container"}]}),
    );
    let out = run_unit_spec(
        &pod,
        json!({"initContainerSecurityContext": test_security_context(),
               "java": {"image": "foo/bar:1", "extensions": [
                   {"image": "ex/ex:0", "dir": "/ex0"}, {"image": "ex/ex:1", "dir": "/ex1"}]}}),
    );
    assert_eq!(
        init_names(&out.mutated),
        [
            JAVA_INIT,
            "opentelemetry-auto-instrumentation-extension-0",
            "opentelemetry-auto-instrumentation-extension-1"
        ]
    );
    for c in out.mutated["spec"]["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
    {
        assert_eq!(
            c["securityContext"],
            test_security_context(),
            "{}",
            c["name"]
        );
    }
    insta::assert_yaml_snapshot!(out.mutated);
}

/// "security context inherited from app container when initContainerSecurityContext unset".
#[test]
fn unit_security_context_inherited_from_app_container() {
    let pod = unit_pod(
        json!({}),
        json!({"containers": [{"name": "test-container", "securityContext": test_security_context()}]}),
    );
    let out = run_unit(
        &pod,
        json!({"image": "foo/bar:1", "extensions": [{"image": "ex/ex:0", "dir": "/ex0"}]}),
    );
    // DIFFERENCE: the operator copies the app's context as is; we harden the copy, which here
    // only adds the RuntimeDefault seccomp profile (the pod sets none).
    let mut want = test_security_context();
    want["seccompProfile"] = json!({"type": "RuntimeDefault"});
    for name in [JAVA_INIT, "opentelemetry-auto-instrumentation-extension-0"] {
        let c = container(&out.mutated, "initContainers", name);
        assert_eq!(c["securityContext"], want, "{name}");
    }
    // The app container keeps its own.
    assert_eq!(
        container(&out.mutated, "containers", "test-container")["securityContext"],
        test_security_context()
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

// === sdk_test.go: TestInjectJava (the whole Java path, SDK env included) ===

#[test]
fn sdk_inject_java() {
    let pod = unit_pod(
        json!({"instrumentation.opentelemetry.io/container-names": "app"}),
        json!({"containers": [{"name": "app", "image": "app:latest"}]}),
    );
    let out = run(
        &pod,
        "ns",
        &[instrumentation(
            "ns",
            "java",
            json!({"java": {"image": "img:1", "resources": test_resource_requirements()},
                   "exporter": {"endpoint": "https://collector:4317"}}),
        )],
        &[],
    );
    let mut env = ip_env();
    env.push(lit("JAVA_TOOL_OPTIONS", &agent_option("app")));
    env.push(lit("OTEL_SERVICE_NAME", "app"));
    env.push(lit("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4317"));
    env.extend(downward_env());
    env.push(lit(
        "OTEL_RESOURCE_ATTRIBUTES",
        &bare_pod_attributes("ns", "app", &["service.version=latest"]),
    ));
    assert_contains(
        &out.mutated["spec"],
        &json!({
            "volumes": empty_dir(),
            "initContainers": [{"name": JAVA_INIT, "image": "img:1", "command": cp_agent(),
                                "volumeMounts": init_mount(), "resources": test_resource_requirements()}],
            "containers": [{"name": "app", "image": "app:latest",
                            "volumeMounts": [agent_mount("app")], "env": env}]
        }),
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

// === podmutator_test.go: TestMutatePod, the Java cases ===

/// The Instrumentation the Java cases of TestMutatePod share, `extra` merged into its spec.
fn mutate_pod_instrumentation(
    ns: &str,
    extra: Value,
) -> std::sync::Arc<otel_inject_lib::Instrumentation> {
    let mut spec = json!({
        "java": {"env": [lit("OTEL_JAVAAGENT_DEBUG", "true"),
                         lit("OTEL_INSTRUMENTATION_JDBC_ENABLED", "false"),
                         lit("SPLUNK_PROFILER_ENABLED", "false")],
                 "resources": test_resource_requirements()},
        "env": mutate_pod_spec_env(),
        "exporter": {"endpoint": "http://collector:12345"}
    });
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            s.insert(k.clone(), v.clone());
        }
    }
    instrumentation(ns, "example-inst", spec)
}

fn mutate_pod_spec_env() -> Vec<Value> {
    vec![
        lit("OTEL_TRACES_EXPORTER", "otlp"),
        lit("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4317"),
        lit("OTEL_EXPORTER_OTLP_TIMEOUT", "20"),
        lit("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
        lit("OTEL_TRACES_SAMPLER_ARG", "0.85"),
        lit("SPLUNK_TRACE_RESPONSE_HEADER_ENABLED", "true"),
    ]
}

/// The env TestMutatePod expects in Java container `c`, `tls` adding the certificate paths.
fn mutate_pod_env(ns: &str, c: &str, tls: bool) -> Vec<Value> {
    let mut env = ip_env();
    env.extend([
        lit("OTEL_JAVAAGENT_DEBUG", "true"),
        lit("OTEL_INSTRUMENTATION_JDBC_ENABLED", "false"),
        lit("SPLUNK_PROFILER_ENABLED", "false"),
    ]);
    env.extend(mutate_pod_spec_env());
    env.push(lit("JAVA_TOOL_OPTIONS", &agent_option(c)));
    env.push(lit("OTEL_SERVICE_NAME", c));
    if tls {
        env.extend([
            lit(
                "OTEL_EXPORTER_OTLP_CERTIFICATE",
                "/otel-auto-instrumentation-configmap-my-ca-bundle/ca.crt",
            ),
            lit(
                "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
                "/otel-auto-instrumentation-secret-my-certs/cert.crt",
            ),
            lit(
                "OTEL_EXPORTER_OTLP_CLIENT_KEY",
                "/otel-auto-instrumentation-secret-my-certs/key.key",
            ),
        ]);
    }
    env.extend(downward_env());
    env.push(lit(
        "OTEL_RESOURCE_ATTRIBUTES",
        &bare_pod_attributes(ns, c, &[]),
    ));
    env
}

/// "javaagent injection, true", with exporter TLS from a Secret and a ConfigMap.
#[test]
fn mutate_pod_javaagent_injection_true() {
    let ns = "javaagent";
    let pod = json!({"metadata": {"annotations": {"instrumentation.opentelemetry.io/inject-java": "true"}},
                     "spec": {"containers": [{"name": "app"}]}});
    let inst = mutate_pod_instrumentation(
        ns,
        json!({"exporter": {"endpoint": "http://collector:12345", "tls": {
            "secretName": "my-certs", "configMapName": "my-ca-bundle",
            "ca_file": "ca.crt", "cert_file": "cert.crt", "key_file": "key.key"}}}),
    );
    let out = run(&pod, ns, &[inst], &[]);
    assert_contains(
        &out.mutated,
        &json!({
            "metadata": {"annotations": {"instrumentation.opentelemetry.io/inject-java": "true"}},
            "spec": {
                // The TLS volumes come first: the container step adds them, the pod step the agent's.
                "volumes": [
                    {"name": "otel-auto-secret-my-certs", "secret": {"secretName": "my-certs"}},
                    {"name": "otel-auto-configmap-my-ca-bundle", "configMap": {"name": "my-ca-bundle"}},
                    {"name": JAVA_VOLUME, "emptyDir": {"sizeLimit": "200Mi"}}],
                "initContainers": [{"name": JAVA_INIT, "command": cp_agent(), "volumeMounts": init_mount(),
                                    "resources": test_resource_requirements()}],
                "containers": [{"name": "app", "env": mutate_pod_env(ns, "app", true),
                    "volumeMounts": [
                        agent_mount("app"),
                        {"name": "otel-auto-secret-my-certs", "readOnly": true,
                         "mountPath": "/otel-auto-instrumentation-secret-my-certs"},
                        {"name": "otel-auto-configmap-my-ca-bundle", "readOnly": true,
                         "mountPath": "/otel-auto-instrumentation-configmap-my-ca-bundle"}]}]
            }
        }),
    );
    // DIFFERENCE: the CR names no image; the operator's defaulting webhook would fill it in,
    // and so do we (an image-less container is never written).
    let init = container(&out.mutated, "initContainers", JAVA_INIT);
    assert_eq!(init["image"], json!(java::DEFAULT_IMAGE));
    insta::assert_yaml_snapshot!(out.mutated);
}

/// "javaagent injection multiple containers, true".
#[test]
fn mutate_pod_javaagent_injection_multiple_containers() {
    let ns = "javaagent-multiple-containers";
    let annotations = json!({"instrumentation.opentelemetry.io/inject-java": "true",
                             "instrumentation.opentelemetry.io/container-names": "app1,app2"});
    let pod = json!({"metadata": {"annotations": annotations},
                     "spec": {"containers": [{"name": "app1"}, {"name": "app2"}]}});
    let out = run(&pod, ns, &[mutate_pod_instrumentation(ns, json!({}))], &[]);
    assert_contains(
        &out.mutated,
        &json!({
            "metadata": {"annotations": annotations},
            "spec": {
                "volumes": empty_dir(),
                "initContainers": [{"name": JAVA_INIT, "command": cp_agent(), "volumeMounts": init_mount(),
                                    "resources": test_resource_requirements()}],
                "containers": [
                    {"name": "app1", "env": mutate_pod_env(ns, "app1", false), "volumeMounts": [agent_mount("app1")]},
                    {"name": "app2", "env": mutate_pod_env(ns, "app2", false), "volumeMounts": [agent_mount("app2")]}]
            }
        }),
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

/// "javaagent injection feature gate disabled" (`--enable-java-instrumentation=false`): the
/// spec is unchanged.
#[test]
fn mutate_pod_javaagent_injection_feature_gate_disabled() {
    let ns = "javaagent-disabled";
    let pod = json!({"metadata": {"annotations": {"instrumentation.opentelemetry.io/inject-java": "true"}},
                     "spec": {"containers": [{"name": "app"}]}});
    let mut options = InjectOptions::default();
    options.set_enabled(Language::Java, false);
    let out = run_with(
        &pod,
        &NamespaceInfo::named(ns),
        &[mutate_pod_instrumentation(ns, json!({}))],
        &[],
        &options,
    );
    assert_eq!(out.mutated["spec"], pod["spec"]);
    assert_eq!(out.decision.reason(), "language_disabled");
    assert_eq!(
        status(&out.mutated),
        Some("java: not injected: java injection is switched off in otel-inject (--enable-java-instrumentation=false)")
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

/// The Instrumentation of TestMutatePod's "missing annotation", "annotation set to false" and
/// "annotation set to non existing instance".
fn plain_java_instrumentation(ns: &str) -> std::sync::Arc<otel_inject_lib::Instrumentation> {
    instrumentation(
        ns,
        "example-inst",
        json!({"java": {"image": "otel/java:1"}, "exporter": {"endpoint": "http://collector:12345"}}),
    )
}

/// "missing annotation": nothing asked for, nothing written (no status either).
#[test]
fn mutate_pod_missing_annotation() {
    let ns = "missing-annotation";
    let pod = json!({"spec": {"containers": [{"name": "app"}]}});
    let out = run(&pod, ns, &[plain_java_instrumentation(ns)], &[]);
    assert_eq!(out.decision.outcome(), O::NotRequested);
    assert!(out.decision.patch.is_empty());
    assert_eq!(out.mutated, pod);
}

/// "annotation set to false": an explicit opt-out writes nothing (no status either).
#[test]
fn mutate_pod_annotation_set_to_false() {
    let ns = "annotation-false";
    let pod = json!({"metadata": {"annotations": {"instrumentation.opentelemetry.io/inject-java": "false"}},
                     "spec": {"containers": [{"name": "app"}]}});
    let out = run(&pod, ns, &[plain_java_instrumentation(ns)], &[]);
    assert_eq!(out.decision.reason(), "annotation_false");
    assert!(out.decision.patch.is_empty());
    assert_eq!(out.mutated, pod);
}

/// "annotation set to non existing instance": the operator answers with the error
/// `instrumentations.opentelemetry.io "doesnotexists" not found` and the pod unchanged. The
/// spec is unchanged here too; DIFFERENCE: the status annotation and a warning say which
/// Instrumentation was not found.
#[test]
fn mutate_pod_annotation_set_to_non_existing_instance() {
    let ns = "non-existing-instance";
    let pod = json!({"metadata": {"annotations": {"instrumentation.opentelemetry.io/inject-java": "doesnotexists"}},
                     "spec": {"containers": [{"name": "app"}]}});
    let out = run(&pod, ns, &[plain_java_instrumentation(ns)], &[]);
    assert_eq!(out.mutated["spec"], pod["spec"]);
    assert_eq!(out.decision.reason(), "instrumentation_not_found");
    assert_eq!(
        status(&out.mutated),
        Some("java: not injected: Instrumentation non-existing-instance/doesnotexists not found; check the name and namespace in the annotation")
    );
    assert_eq!(out.decision.warnings.len(), 1);
    insta::assert_yaml_snapshot!(out.mutated);
}

// === tests/e2e-instrumentation/instrumentation-java ===

const E2E_NS: &str = "chainsaw-java";

const JAVA_INSTRUMENTATION: &str = r##"
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: java
spec:
  env:
    - name: OTEL_TRACES_SAMPLER
      value: always_on
    # This is the default protocol in 2.x, whereas in 1.x it's grpc. Set this here so the test can pass on both.
    - name: OTEL_EXPORTER_OTLP_PROTOCOL
      value: http/protobuf
    # This exporter is enabled by default in 2.x, but disabled in 1.x.
    - name: OTEL_LOGS_EXPORTER
      value: none
  exporter:
    endpoint: http://deployment-collector:4318
  propagators:
    - jaeger
    - b3
  java:
    env:
    - name: OTEL_JAVAAGENT_DEBUG
      value: "true"
    - name: OTEL_INSTRUMENTATION_JDBC_ENABLED
      value: "false"
"##;

const JAVA_APP: &str = r##"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-java
spec:
  selector:
    matchLabels:
      app: my-java
  replicas: 1
  template:
    metadata:
      labels:
        app: my-java
      annotations:
        instrumentation.opentelemetry.io/inject-java: "true"
    spec:
      securityContext:
        runAsUser: 1000
        runAsGroup: 3000
        fsGroup: 3000
      containers:
      - name: myapp
        ports:
        - containerPort: 8080
        image: ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-java:main
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

const JAVA_ASSERT: &str = r##"
apiVersion: v1
kind: Pod
metadata:
  annotations:
    instrumentation.opentelemetry.io/inject-java: "true"
  labels:
    app: my-java
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
    - name: OTEL_JAVAAGENT_DEBUG
      value: "true"
    - name: OTEL_INSTRUMENTATION_JDBC_ENABLED
      value: "false"
    - name: OTEL_TRACES_SAMPLER
      value: always_on
    - name: OTEL_EXPORTER_OTLP_PROTOCOL
      value: http/protobuf
    - name: OTEL_LOGS_EXPORTER
      value: none
    - name: JAVA_TOOL_OPTIONS
      value: ' -javaagent:/otel-auto-instrumentation-java-myapp/javaagent.jar'
    - name: OTEL_SERVICE_NAME
      value: my-java
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://deployment-collector:4318
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
    - mountPath: /otel-auto-instrumentation-java-myapp
      name: opentelemetry-auto-instrumentation-java
  initContainers:
  - name: opentelemetry-auto-instrumentation-java
status:
  containerStatuses:
  - name: myapp
    ready: true
    started: true
  initContainerStatuses:
  - name: opentelemetry-auto-instrumentation-java
    ready: true
  phase: Running
"##;

/// The resource attributes of container `c` of Deployment `dep`'s pod in `ns`, image tag `main`.
fn deployment_attributes(ns: &str, dep: &str, c: &str) -> String {
    format!(
        "k8s.container.name={c},k8s.deployment.name={dep},k8s.namespace.name={ns},k8s.node.name=$(OTEL_RESOURCE_ATTRIBUTES_NODE_NAME),k8s.pod.name=$(OTEL_RESOURCE_ATTRIBUTES_POD_NAME),k8s.replicaset.name={dep}-{TEMPLATE_HASH},service.instance.id={ns}.$(OTEL_RESOURCE_ATTRIBUTES_POD_NAME).{c},service.namespace={ns},service.version=main"
    )
}

/// The hardened copy of the e2e apps' container context (`allowPrivilegeEscalation: false`,
/// `drop: [ALL]`): the pod names a UID (1000) and sets no seccomp profile.
fn hardened_e2e_context() -> Value {
    json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
           "seccompProfile": {"type": "RuntimeDefault"}})
}

/// The agent copy every e2e Java pod gets: the default image and resources (the e2e CRs set
/// none; the operator's defaulting webhook fills them), the default emptyDir.
fn assert_default_java_copy(pod: &Value) {
    let init = container(pod, "initContainers", JAVA_INIT);
    assert_eq!(init["image"], json!(java::DEFAULT_IMAGE));
    assert_eq!(init["command"], cp_agent());
    assert_eq!(init["resources"], java::default_resources());
    assert_eq!(init["volumeMounts"], init_mount());
    assert_eq!(pod["spec"]["volumes"], empty_dir());
}

#[test]
fn e2e_instrumentation_java() {
    let out = run_manifests(JAVA_APP, &[JAVA_INSTRUMENTATION], E2E_NS);
    assert_contains(&out.mutated, &assert_file_pod(JAVA_ASSERT));
    let app = container(&out.mutated, "containers", "myapp");
    assert_eq!(
        env_value(app, "OTEL_RESOURCE_ATTRIBUTES"),
        Some(deployment_attributes(E2E_NS, "my-java", "myapp").as_str())
    );
    assert_default_java_copy(&out.mutated);
    // DIFFERENCE: the operator copies {allowPrivilegeEscalation: false, drop: [ALL]}; we add
    // the RuntimeDefault seccomp profile the restricted standard asks for.
    let init = container(&out.mutated, "initContainers", JAVA_INIT);
    assert_eq!(init["securityContext"], hardened_e2e_context());
    assert_eq!(
        status(&out.mutated),
        Some("java: injected into myapp (instrumentation chainsaw-java/java)")
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

// === tests/e2e-instrumentation/instrumentation-java-initcontainer ===

const JAVA_INITCONTAINER_APP: &str = r##"
apiVersion: v1
kind: Pod
metadata:
  name: my-java-initcontainer
  labels:
    app: my-java-initcontainer
  annotations:
    instrumentation.opentelemetry.io/inject-java: "true"
    instrumentation.opentelemetry.io/container-names: "java-init"
spec:
  securityContext:
    runAsUser: 1000
    runAsGroup: 3000
    fsGroup: 3000
  initContainers:
  - name: java-init
    image: ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-java:main
    securityContext:
      allowPrivilegeEscalation: false
      capabilities:
        drop: ["ALL"]
      seccompProfile:
        type: RuntimeDefault
    command: ["/bin/bash", "-c"]
    # Start app, generate telemetry, wait for flush, then exit
    args:
      - |
        echo "Java init container starting"
        # Start the Java app in the background
        java -jar /app-0.0.1-SNAPSHOT.jar &
        APP_PID=$!
        sleep 10
        # Stop the app
        kill $APP_PID 2>/dev/null || true
        echo "Java init container completed"
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

const JAVA_INITCONTAINER_ASSERT: &str = r##"
apiVersion: v1
kind: Pod
metadata:
  labels:
    app: my-java-initcontainer
spec:
  initContainers:
  # The instrumentation init container must come FIRST (before the target init container)
  - name: opentelemetry-auto-instrumentation-java
    securityContext:
      allowPrivilegeEscalation: false
      capabilities:
        drop: ["ALL"]
      seccompProfile:
        type: RuntimeDefault
  # The target init container should have the Java agent env vars and volume mounts
  - name: java-init
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
    - name: OTEL_JAVAAGENT_DEBUG
      value: "true"
    - name: OTEL_INSTRUMENTATION_JDBC_ENABLED
      value: "false"
    - name: OTEL_TRACES_SAMPLER
      value: always_on
    - name: OTEL_EXPORTER_OTLP_PROTOCOL
      value: http/protobuf
    - name: OTEL_LOGS_EXPORTER
      value: none
    - name: JAVA_TOOL_OPTIONS
      value: ' -javaagent:/otel-auto-instrumentation-java-java-init/javaagent.jar'
    - name: OTEL_SERVICE_NAME
      value: my-java-initcontainer
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://deployment-collector:4318
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
    - mountPath: /otel-auto-instrumentation-java-java-init
      name: opentelemetry-auto-instrumentation-java
  containers:
  - name: main-app
status:
  initContainerStatuses:
  - name: opentelemetry-auto-instrumentation-java
    ready: true
  - name: java-init
    ready: true
  containerStatuses:
  - name: main-app
    ready: true
    started: true
  phase: Running
"##;

const JAVA_INITCONTAINER_INSTRUMENTATION: &str = r##"
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: java
spec:
  env:
    - name: OTEL_TRACES_SAMPLER
      value: always_on
    - name: OTEL_EXPORTER_OTLP_PROTOCOL
      value: http/protobuf
    - name: OTEL_LOGS_EXPORTER
      value: none
  exporter:
    endpoint: http://deployment-collector:4318
  propagators:
    - jaeger
    - b3
  java:
    env:
    - name: OTEL_JAVAAGENT_DEBUG
      value: "true"
    - name: OTEL_INSTRUMENTATION_JDBC_ENABLED
      value: "false"
"##;

#[test]
fn e2e_instrumentation_java_initcontainer() {
    let out = run_manifests(
        JAVA_INITCONTAINER_APP,
        &[JAVA_INITCONTAINER_INSTRUMENTATION],
        E2E_NS,
    );
    assert_contains(&out.mutated, &assert_file_pod(JAVA_INITCONTAINER_ASSERT));
    assert_eq!(init_names(&out.mutated), [JAVA_INIT, "java-init"]);
    // The regular container is not a target.
    assert!(container(&out.mutated, "containers", "main-app")
        .get("env")
        .is_none());
    // The target's context already passes the restricted standard: the copy gets exactly it,
    // as from the operator.
    let init = container(&out.mutated, "initContainers", JAVA_INIT);
    assert_eq!(init["securityContext"], hardened_e2e_context());
    insta::assert_yaml_snapshot!(out.mutated);
}

// === tests/e2e-instrumentation/instrumentation-java-multicontainer (steps 01 and 02) ===

const JAVA_MULTI_INSTRUMENTATION: &str = r##"
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: java
spec:
  env:
    - name: OTEL_TRACES_SAMPLER
      value: always_on
    # This is the default protocol in 2.x, whereas in 1.x it's grp. Set this here so the test can pass on both.
    - name: OTEL_EXPORTER_OTLP_PROTOCOL
      value: http/protobuf
    # This exporter is enabled by default in 2.x, but disabled in 1.x.
    - name: OTEL_LOGS_EXPORTER
      value: none
  exporter:
    endpoint: http://deployment-collector:4318
  propagators:
    - jaeger
    - b3
  sampler:
    type: parentbased_traceidratio
    argument: "0.25"
  java:
    env:
    - name: OTEL_JAVAAGENT_DEBUG
      value: "true"
    - name: OTEL_INSTRUMENTATION_JDBC_ENABLED
      value: "false"
"##;

const JAVA_MULTI_APP_01: &str = r##"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-java-multi
spec:
  selector:
    matchLabels:
      app: my-java-multi
  replicas: 1
  template:
    metadata:
      labels:
        app: my-java-multi
      annotations:
        instrumentation.opentelemetry.io/inject-java: "true"
        instrumentation.opentelemetry.io/container-names: "myapp,myrabbit"
    spec:
      securityContext:
        runAsUser: 1000
        runAsGroup: 3000
        fsGroup: 3000
      containers:
      - name: myapp
        image: ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-java:main
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
"##;

/// The env both containers of the multicontainer step 01 assert, for container `c`.
fn java_multi_env(c: &str) -> String {
    format!(
        r##"
    - name: OTEL_NODE_IP
      valueFrom:
        fieldRef:
          fieldPath: status.hostIP
    - name: OTEL_POD_IP
      valueFrom:
        fieldRef:
          fieldPath: status.podIP
    - name: OTEL_JAVAAGENT_DEBUG
      value: "true"
    - name: OTEL_INSTRUMENTATION_JDBC_ENABLED
      value: "false"
    - name: OTEL_TRACES_SAMPLER
      value: always_on
    - name: OTEL_EXPORTER_OTLP_PROTOCOL
      value: http/protobuf
    - name: OTEL_LOGS_EXPORTER
      value: none
    - name: JAVA_TOOL_OPTIONS
      value: ' -javaagent:/otel-auto-instrumentation-java-{c}/javaagent.jar'
    - name: OTEL_SERVICE_NAME
      value: my-java-multi
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://deployment-collector:4318
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
    - name: OTEL_RESOURCE_ATTRIBUTES"##
    )
}

#[test]
fn e2e_instrumentation_java_multicontainer_step_01() {
    let expected = format!(
        r##"
apiVersion: v1
kind: Pod
metadata:
  annotations:
    instrumentation.opentelemetry.io/container-names: myapp,myrabbit
    instrumentation.opentelemetry.io/inject-java: "true"
  labels:
    app: my-java-multi
spec:
  containers:
  - env:{}
    name: myapp
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    - mountPath: /otel-auto-instrumentation-java-myapp
      name: opentelemetry-auto-instrumentation-java
  - env:{}
    name: myrabbit
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    - mountPath: /otel-auto-instrumentation-java-myrabbit
      name: opentelemetry-auto-instrumentation-java
  initContainers:
  - name: opentelemetry-auto-instrumentation-java
"##,
        java_multi_env("myapp"),
        java_multi_env("myrabbit")
    );
    let out = run_manifests(JAVA_MULTI_APP_01, &[JAVA_MULTI_INSTRUMENTATION], E2E_NS);
    assert_contains(&out.mutated, &assert_file_pod(&expected));
    // spec.env sets OTEL_TRACES_SAMPLER, so the CR's sampler is not written (neither var).
    let app = container(&out.mutated, "containers", "myapp");
    assert_eq!(env_value(app, "OTEL_TRACES_SAMPLER_ARG"), None);
    // The first target is `myapp`: the copy takes its (hardened) context.
    let init = container(&out.mutated, "initContainers", JAVA_INIT);
    assert_eq!(init["securityContext"], hardened_e2e_context());
    assert_default_java_copy(&out.mutated);
    insta::assert_yaml_snapshot!(out.mutated);
}

const JAVA_MULTI_APP_02: &str = r##"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-java-multi
spec:
  selector:
    matchLabels:
      app: my-java-multi
  replicas: 1
  template:
    metadata:
      labels:
        app: my-java-multi
      annotations:
        instrumentation.opentelemetry.io/inject-java: "true"
        instrumentation.opentelemetry.io/container-names: "myapp"
    spec:
      securityContext:
        runAsUser: 1000
        runAsGroup: 3000
        fsGroup: 3000
      containers:
      - name: myapp
        ports:
        - containerPort: 8080
        image: ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-java:main
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
"##;

/// Step 02 rolls the Deployment out with only `myapp` listed: the new pod instruments it
/// alone, and `myrabbit` is left as written.
#[test]
fn e2e_instrumentation_java_multicontainer_step_02() {
    let expected = format!(
        r##"
apiVersion: v1
kind: Pod
metadata:
  annotations:
    instrumentation.opentelemetry.io/container-names: myapp
    instrumentation.opentelemetry.io/inject-java: "true"
  labels:
    app: my-java-multi
spec:
  containers:
  - env:{}
    name: myapp
    ports:
    - containerPort: 8080
      protocol: TCP
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    - mountPath: /otel-auto-instrumentation-java-myapp
      name: opentelemetry-auto-instrumentation-java
  - image: mirror.gcr.io/library/rabbitmq:3
    name: myrabbit
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
  initContainers:
  - name: opentelemetry-auto-instrumentation-java
"##,
        java_multi_env("myapp")
    );
    let (pod, _) = manifest_pod(JAVA_MULTI_APP_02, E2E_NS);
    let out = run_manifests(JAVA_MULTI_APP_02, &[JAVA_MULTI_INSTRUMENTATION], E2E_NS);
    assert_contains(&out.mutated, &assert_file_pod(&expected));
    assert_eq!(
        container(&out.mutated, "containers", "myrabbit"),
        container(&pod, "containers", "myrabbit")
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

// === tests/e2e-instrumentation/instrumentation-java-other-ns ===

const JAVA_OTHER_NS_INSTRUMENTATION: &str = r##"
---
apiVersion: v1
kind: Namespace
metadata:
  name: my-other-ns
---
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: java
  namespace: my-other-ns
spec:
  env:
    - name: OTEL_TRACES_SAMPLER
      value: always_on
    # This is the default protocol in 2.x, whereas in 1.x it's grp. Set this here so the test can pass on both.
    - name: OTEL_EXPORTER_OTLP_PROTOCOL
      value: http/protobuf
    # This exporter is enabled by default in 2.x, but disabled in 1.x.
    - name: OTEL_LOGS_EXPORTER
      value: none
  exporter:
    endpoint: http://deployment-collector:4318
  propagators:
    - jaeger
    - b3
  sampler:
    type: parentbased_traceidratio
    argument: "0.25"
  java:
    env:
    - name: OTEL_JAVAAGENT_DEBUG
      value: "true"
    - name: OTEL_INSTRUMENTATION_JDBC_ENABLED
      value: "false"
"##;

const JAVA_OTHER_NS_APP: &str = r##"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-java-other-ns
spec:
  selector:
    matchLabels:
      app: my-java-other-ns
  replicas: 1
  template:
    metadata:
      labels:
        app: my-java-other-ns
      annotations:
        instrumentation.opentelemetry.io/inject-java: "my-other-ns/java"
    spec:
      securityContext:
        runAsUser: 1000
        runAsGroup: 3000
        fsGroup: 3000
      containers:
      - name: myapp
        ports:
        - containerPort: 8080
        image: ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-java:main
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

/// `inject-java: my-other-ns/java`: the Instrumentation of another namespace; the attributes
/// still name the pod's own namespace.
#[test]
fn e2e_instrumentation_java_other_ns() {
    let expected = JAVA_ASSERT
        .replace("inject-java: \"true\"", "inject-java: my-other-ns/java")
        .replace("app: my-java", "app: my-java-other-ns")
        .replace("value: my-java", "value: my-java-other-ns");
    let out = run_manifests(JAVA_OTHER_NS_APP, &[JAVA_OTHER_NS_INSTRUMENTATION], E2E_NS);
    assert_contains(&out.mutated, &assert_file_pod(&expected));
    assert_eq!(
        out.decision.languages[0].instrumentation.as_deref(),
        Some("my-other-ns/java")
    );
    let app = container(&out.mutated, "containers", "myapp");
    assert_eq!(
        env_value(app, "OTEL_RESOURCE_ATTRIBUTES"),
        Some(deployment_attributes(E2E_NS, "my-java-other-ns", "myapp").as_str())
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

// === tests/e2e-instrumentation/instrumentation-java-tls ===

const JAVA_TLS_INSTRUMENTATION: &str = r##"
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: java
spec:
  env:
    # This is the default protocol in 2.x, whereas in 1.x it's grp. Set this here so the test can pass on both.
    - name: OTEL_EXPORTER_OTLP_PROTOCOL
      value: http/protobuf
    # This exporter is enabled by default in 2.x, but disabled in 1.x.
    - name: OTEL_LOGS_EXPORTER
      value: none
  exporter:
    endpoint: https://simplest-collector:4318
    tls:
      secretName: client-certs
      configMapName: ca
      ca_file: ca.crt
      cert_file: tls.crt
      key_file: tls.key
  propagators:
    - tracecontext
    - baggage
  sampler:
    type: parentbased_traceidratio
    argument: "1"
  java:
    env:
    - name: OTEL_JAVAAGENT_DEBUG
      value: "true"
    - name: OTEL_INSTRUMENTATION_JDBC_ENABLED
      value: "false"
"##;

const JAVA_TLS_ASSERT: &str = r##"
apiVersion: v1
kind: Pod
metadata:
  annotations:
    instrumentation.opentelemetry.io/inject-java: "true"
  labels:
    app: my-java
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
    - name: OTEL_JAVAAGENT_DEBUG
      value: "true"
    - name: OTEL_INSTRUMENTATION_JDBC_ENABLED
      value: "false"
    - name: OTEL_EXPORTER_OTLP_PROTOCOL
      value: http/protobuf
    - name: OTEL_LOGS_EXPORTER
      value: none
    - name: JAVA_TOOL_OPTIONS
      value: ' -javaagent:/otel-auto-instrumentation-java-myapp/javaagent.jar'
    - name: OTEL_SERVICE_NAME
      value: my-java
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: https://simplest-collector:4318
    - name: OTEL_EXPORTER_OTLP_CERTIFICATE
      value: /otel-auto-instrumentation-configmap-ca/ca.crt
    - name: OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE
      value: /otel-auto-instrumentation-secret-client-certs/tls.crt
    - name: OTEL_EXPORTER_OTLP_CLIENT_KEY
      value: /otel-auto-instrumentation-secret-client-certs/tls.key
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
      value: tracecontext,baggage
    - name: OTEL_TRACES_SAMPLER
      value: parentbased_traceidratio
    - name: OTEL_TRACES_SAMPLER_ARG
      value: "1"
    - name: OTEL_RESOURCE_ATTRIBUTES
    name: myapp
    ports:
    - containerPort: 8080
      protocol: TCP
    volumeMounts:
      - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
        readOnly: true
      - mountPath: /otel-auto-instrumentation-java-myapp
        name: opentelemetry-auto-instrumentation-java
      - mountPath: /otel-auto-instrumentation-secret-client-certs
        name: otel-auto-secret-client-certs
        readOnly: true
      - mountPath: /otel-auto-instrumentation-configmap-ca
        name: otel-auto-configmap-ca
        readOnly: true
  initContainers:
  - name: opentelemetry-auto-instrumentation-java
status:
  containerStatuses:
  - name: myapp
    ready: true
    started: true
  initContainerStatuses:
  - name: opentelemetry-auto-instrumentation-java
    ready: true
  phase: Running
"##;

#[test]
fn e2e_instrumentation_java_tls() {
    let out = run_manifests(JAVA_APP, &[JAVA_TLS_INSTRUMENTATION], E2E_NS);
    assert_contains(&out.mutated, &assert_file_pod(JAVA_TLS_ASSERT));
    assert_eq!(
        volume_names(&out.mutated),
        [
            "otel-auto-secret-client-certs",
            "otel-auto-configmap-ca",
            JAVA_VOLUME
        ]
    );
    // DIFFERENCE: `optional: true` (the operator's are required): a missing Secret or
    // ConfigMap leaves the mount empty and the pod starts, instead of holding it in
    // ContainerCreating.
    assert_eq!(
        out.mutated["spec"]["volumes"][0],
        json!({"name": "otel-auto-secret-client-certs", "secret": {"secretName": "client-certs", "optional": true}})
    );
    assert_eq!(
        out.mutated["spec"]["volumes"][1],
        json!({"name": "otel-auto-configmap-ca", "configMap": {"name": "ca", "optional": true}})
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

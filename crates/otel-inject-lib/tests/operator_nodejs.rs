//! The operator's Node.js scenarios (0.158.0), reproduced: every case of `nodejs_test.go`, the
//! Node.js cases of `sdk_test.go` (`TestInjectNodeJS`) and `podmutator_test.go`, and the
//! `tests/e2e-instrumentation/instrumentation-nodejs*` suites. Each runs `mutate` on the
//! operator's input, applies the patch with json-patch (`common::run*` also checks that a
//! second pass yields an empty patch), compares with the operator's expected pod and snapshots
//! the mutated pod.
//!
//! Where we differ on purpose, the test says so (`DIFFERENCE:`): the hardened security context
//! of the agent copy, the CR defaults (image, resources) when the CR has none, no agent for a
//! pod whose every target fails validation, and the status annotation.

mod common;

use common::operator::*;
use common::*;
use otel_inject_lib::lang::nodejs;
use otel_inject_lib::{InjectOptions, Language, NamespaceInfo, Outcome as O};
use serde_json::{json, Value};

const NODE_INIT: &str = "opentelemetry-auto-instrumentation-nodejs";
const NODE_VOLUME: &str = "opentelemetry-auto-instrumentation-nodejs";
const REQUIRE: &str = " --require /otel-auto-instrumentation-nodejs/autoinstrumentation.js";

fn cp_agent() -> Value {
    json!([
        "cp",
        "-r",
        "/autoinstrumentation/.",
        "/otel-auto-instrumentation-nodejs"
    ])
}

fn agent_mounts() -> Value {
    json!([{"name": NODE_VOLUME, "mountPath": "/otel-auto-instrumentation-nodejs"}])
}

fn empty_dir() -> Value {
    json!([{"name": NODE_VOLUME, "emptyDir": {"sizeLimit": "200Mi"}}])
}

fn node_init(image: &str) -> Value {
    json!({"name": NODE_INIT, "image": image, "command": cp_agent(), "volumeMounts": agent_mounts()})
}

const UNIT_NS: &str = "nodejs";

/// A pod of the operator's unit tests, asking for Node.js. Their containers have no name;
/// ours are called `app` (the API server requires a name).
fn unit_pod(annotations: Value, spec: Value) -> Value {
    let mut ann = json!({"instrumentation.opentelemetry.io/inject-nodejs": "true"});
    if let (Some(a), Some(extra)) = (ann.as_object_mut(), annotations.as_object()) {
        a.extend(extra.clone());
    }
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"annotations": ann}, "spec": spec})
}

fn run_unit(pod: &Value, block: Value) -> Outcome {
    run(
        pod,
        UNIT_NS,
        &[instrumentation(UNIT_NS, "nodejs", json!({"nodejs": block}))],
        &[],
    )
}

/// The Node.js-only part of a unit test's expected pod: what `injectNodeJSSDK` and
/// `injectDefaultNodeJSEnvVars` write.
fn assert_nodejs_part(out: &Outcome, expected_spec: Value) {
    let part = only_env(
        &out.mutated,
        &[nodejs::NODE_OPTIONS, nodejs::OTEL_METRICS_EXPORTER],
    );
    assert_contains(&part["spec"], &expected_spec);
}

// === nodejs_test.go: TestInjectNodeJSSDK ===

/// "NODE_OPTIONS not defined".
#[test]
fn unit_node_options_not_defined() {
    let pod = unit_pod(json!({}), json!({"containers": [{"name": "app"}]}));
    let out = run_unit(&pod, json!({"image": "foo/bar:1"}));
    assert_eq!(out.decision.outcome(), O::Injected);
    assert_nodejs_part(
        &out,
        json!({
            "volumes": empty_dir(),
            "initContainers": [node_init("foo/bar:1")],
            "containers": [{"name": "app", "volumeMounts": agent_mounts(),
                            "env": [lit("NODE_OPTIONS", REQUIRE), lit("OTEL_METRICS_EXPORTER", "otlp")]}]
        }),
    );
    // DIFFERENCE: no resources in the CR: the operator's CR defaults.
    let init = container(&out.mutated, "initContainers", NODE_INIT);
    assert_eq!(init["resources"], nodejs::default_resources());
    insta::assert_yaml_snapshot!(out.mutated);
}

/// "NODE_OPTIONS defined": ours appended to the user's, in place.
#[test]
fn unit_node_options_defined() {
    let pod = unit_pod(
        json!({}),
        json!({"containers": [{"name": "app", "env": [lit("NODE_OPTIONS", "-Dbaz=bar")]}]}),
    );
    let out = run_unit(
        &pod,
        json!({"image": "foo/bar:1", "resourceRequirements": test_resource_requirements()}),
    );
    let mut init = node_init("foo/bar:1");
    init["resources"] = test_resource_requirements();
    assert_nodejs_part(
        &out,
        json!({
            "volumes": empty_dir(),
            "initContainers": [init],
            "containers": [{"name": "app", "volumeMounts": agent_mounts(),
                            "env": [lit("NODE_OPTIONS", &format!("-Dbaz=bar{REQUIRE}")),
                                    lit("OTEL_METRICS_EXPORTER", "otlp")]}]
        }),
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

/// "NODE_OPTIONS defined as ValueFrom": the container is skipped, the spec unchanged (the
/// operator's full path would still add the volume and the copy; we add neither, on purpose).
#[test]
fn unit_node_options_defined_as_value_from() {
    let pod = unit_pod(
        json!({}),
        json!({"containers": [{"name": "app", "env": [
            {"name": "NODE_OPTIONS", "valueFrom": {"secretKeyRef": {"name": "node", "key": "opts"}}}]}]}),
    );
    let out = run_unit(&pod, json!({"image": "foo/bar:1"}));
    assert_eq!(out.mutated["spec"], pod["spec"]);
    assert_eq!(out.decision.reason(), "env_value_from");
    insta::assert_yaml_snapshot!(out.mutated);
}

/// "inject into init container" (a regular `main` added, `my-init` listed: a pod needs a
/// regular container, and the unit test hands the step every container).
#[test]
fn unit_inject_into_init_container() {
    let pod = unit_pod(
        json!({"instrumentation.opentelemetry.io/container-names": "my-init"}),
        json!({"initContainers": [{"name": "my-init"}], "containers": [{"name": "main"}]}),
    );
    let out = run_unit(&pod, json!({"image": "foo/bar:1"}));
    assert_nodejs_part(
        &out,
        json!({
            "volumes": empty_dir(),
            "initContainers": [node_init("foo/bar:1"),
                {"name": "my-init", "volumeMounts": agent_mounts(),
                 "env": [lit("NODE_OPTIONS", REQUIRE), lit("OTEL_METRICS_EXPORTER", "otlp")]}],
            "containers": [{"name": "main"}]
        }),
    );
    assert!(container(&out.mutated, "containers", "main")
        .get("env")
        .is_none());
    insta::assert_yaml_snapshot!(out.mutated);
}

// === sdk_test.go: TestInjectNodeJS ===

#[test]
fn sdk_inject_nodejs() {
    let pod = unit_pod(
        json!({"instrumentation.opentelemetry.io/container-names": "app"}),
        json!({"containers": [{"name": "app", "image": "app:latest"}]}),
    );
    let out = run(
        &pod,
        "ns",
        &[instrumentation(
            "ns",
            "nodejs",
            json!({"nodejs": {"image": "img:1", "resourceRequirements": test_resource_requirements()},
                   "exporter": {"endpoint": "https://collector:4318"}}),
        )],
        &[],
    );
    let mut env = ip_env();
    env.extend([
        lit("NODE_OPTIONS", REQUIRE),
        lit("OTEL_METRICS_EXPORTER", "otlp"),
        lit("OTEL_SERVICE_NAME", "app"),
        lit("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318"),
    ]);
    env.extend(downward_env());
    env.push(lit(
        "OTEL_RESOURCE_ATTRIBUTES",
        &bare_pod_attributes("ns", "app", &["service.version=latest"]),
    ));
    let mut init = node_init("img:1");
    init["resources"] = test_resource_requirements();
    assert_contains(
        &out.mutated["spec"],
        &json!({
            "volumes": empty_dir(),
            "initContainers": [init],
            "containers": [{"name": "app", "image": "app:latest", "volumeMounts": agent_mounts(), "env": env}]
        }),
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

// === podmutator_test.go: TestMutatePod, the Node.js cases ===

fn mutate_pod_instrumentation(ns: &str) -> std::sync::Arc<otel_inject_lib::Instrumentation> {
    instrumentation(
        ns,
        "example-inst",
        json!({
            "nodejs": {"image": "otel/nodejs:1", "env": [lit("OTEL_NODEJS_DEBUG", "true")]},
            "env": mutate_pod_spec_env(),
            "exporter": {"endpoint": "http://collector:12345"}
        }),
    )
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

fn mutate_pod_env(ns: &str, c: &str) -> Vec<Value> {
    let mut env = ip_env();
    env.push(lit("OTEL_NODEJS_DEBUG", "true"));
    env.extend(mutate_pod_spec_env());
    env.extend([
        lit("NODE_OPTIONS", REQUIRE),
        lit("OTEL_METRICS_EXPORTER", "otlp"),
        lit("OTEL_SERVICE_NAME", c),
    ]);
    env.extend(downward_env());
    env.push(lit(
        "OTEL_RESOURCE_ATTRIBUTES",
        &bare_pod_attributes(ns, c, &[]),
    ));
    env
}

/// "nodejs injection, true".
#[test]
fn mutate_pod_nodejs_injection_true() {
    let ns = "nodejs";
    let pod = json!({"metadata": {"annotations": {"instrumentation.opentelemetry.io/inject-nodejs": "true"}},
                     "spec": {"containers": [{"name": "app"}]}});
    let out = run(&pod, ns, &[mutate_pod_instrumentation(ns)], &[]);
    assert_contains(
        &out.mutated["spec"],
        &json!({
            "volumes": empty_dir(),
            "initContainers": [node_init("otel/nodejs:1")],
            "containers": [{"name": "app", "env": mutate_pod_env(ns, "app"), "volumeMounts": agent_mounts()}]
        }),
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

/// "nodejs injection multiple containers, true".
#[test]
fn mutate_pod_nodejs_injection_multiple_containers() {
    let ns = "nodejs-multiple-containers";
    let pod = json!({"metadata": {"annotations": {
                        "instrumentation.opentelemetry.io/inject-nodejs": "true",
                        "instrumentation.opentelemetry.io/container-names": "app1,app2"}},
                     "spec": {"containers": [{"name": "app1"}, {"name": "app2"}]}});
    let out = run(&pod, ns, &[mutate_pod_instrumentation(ns)], &[]);
    assert_contains(
        &out.mutated["spec"],
        &json!({
            "volumes": empty_dir(),
            "initContainers": [node_init("otel/nodejs:1")],
            "containers": [
                {"name": "app1", "env": mutate_pod_env(ns, "app1"), "volumeMounts": agent_mounts()},
                {"name": "app2", "env": mutate_pod_env(ns, "app2"), "volumeMounts": agent_mounts()}]
        }),
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

/// "nodejs injection feature gate disabled" (`--enable-nodejs-instrumentation=false`).
#[test]
fn mutate_pod_nodejs_injection_feature_gate_disabled() {
    let ns = "nodejs-disabled";
    let pod = json!({"metadata": {"annotations": {"instrumentation.opentelemetry.io/inject-nodejs": "true"}},
                     "spec": {"containers": [{"name": "app"}]}});
    let mut options = InjectOptions::default();
    options.set_enabled(Language::NodeJs, false);
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
        Some("nodejs: not injected: nodejs injection is switched off in otel-inject (--enable-nodejs-instrumentation=false)")
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

// === tests/e2e-instrumentation/instrumentation-nodejs ===

const E2E_NS: &str = "chainsaw-nodejs";

const NODEJS_INSTRUMENTATION: &str = r##"
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: nodejs
spec:
  env:
    - name: OTEL_TRACES_EXPORTER
      value: otlp
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://deployment-collector:4318
    - name: OTEL_EXPORTER_OTLP_TIMEOUT
      value: "20000"
    - name: OTEL_TRACES_SAMPLER
      value: always_on
    - name: SPLUNK_TRACE_RESPONSE_HEADER_ENABLED
      value: "true"
  exporter:
    endpoint: http://deployment-collector:4318
  propagators:
    - jaeger
    - b3
  nodejs:
    env:
      - name: OTEL_NODEJS_DEBUG
        value: "true"
"##;

const NODEJS_APP: &str = r##"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-nodejs
spec:
  selector:
    matchLabels:
      app: my-nodejs
  replicas: 1
  template:
    metadata:
      labels:
        app: my-nodejs
      annotations:
        instrumentation.opentelemetry.io/inject-nodejs: "true"
    spec:
      securityContext:
        runAsUser: 1000
        runAsGroup: 3000
        fsGroup: 3000
      containers:
      - name: myapp
        ports:
        - containerPort: 3000
        image: ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-nodejs:main
        securityContext:
          allowPrivilegeEscalation: false
          capabilities:
            drop: ["ALL"]
        env:
        - name: NODE_PATH
          value: /usr/local/lib/node_modules
        readinessProbe:
          httpGet:
            path: /rolldice
            port: 3000
            scheme: HTTP
          initialDelaySeconds: 5
          periodSeconds: 15
          timeoutSeconds: 2
          failureThreshold: 3
"##;

const NODEJS_ASSERT: &str = r##"
apiVersion: v1
kind: Pod
metadata:
  annotations:
    instrumentation.opentelemetry.io/inject-nodejs: "true"
  labels:
    app: my-nodejs
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
    - name: NODE_PATH
      value: /usr/local/lib/node_modules
    - name: OTEL_NODEJS_DEBUG
      value: "true"
    - name: OTEL_TRACES_EXPORTER
      value: otlp
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://deployment-collector:4318
    - name: OTEL_EXPORTER_OTLP_TIMEOUT
      value: "20000"
    - name: OTEL_TRACES_SAMPLER
      value: always_on
    - name: SPLUNK_TRACE_RESPONSE_HEADER_ENABLED
      value: "true"
    - name: NODE_OPTIONS
      value: ' --require /otel-auto-instrumentation-nodejs/autoinstrumentation.js'
    - name: OTEL_METRICS_EXPORTER
      value: otlp
    - name: OTEL_SERVICE_NAME
      value: my-nodejs
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
    - containerPort: 3000
      protocol: TCP
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    - mountPath: /otel-auto-instrumentation-nodejs
      name: opentelemetry-auto-instrumentation-nodejs
  initContainers:
  - name: opentelemetry-auto-instrumentation-nodejs
status:
  containerStatuses:
  - name: myapp
    ready: true
    started: true
  initContainerStatuses:
  - name: opentelemetry-auto-instrumentation-nodejs
    ready: true
  phase: Running
"##;

fn hardened_e2e_context() -> Value {
    json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
           "seccompProfile": {"type": "RuntimeDefault"}})
}

fn assert_default_nodejs_copy(pod: &Value) {
    let init = container(pod, "initContainers", NODE_INIT);
    assert_eq!(init["image"], json!(nodejs::DEFAULT_IMAGE));
    assert_eq!(init["command"], cp_agent());
    assert_eq!(init["resources"], nodejs::default_resources());
    assert_eq!(init["volumeMounts"], agent_mounts());
}

#[test]
fn e2e_instrumentation_nodejs() {
    let out = run_manifests(NODEJS_APP, &[NODEJS_INSTRUMENTATION], E2E_NS);
    assert_contains(&out.mutated, &assert_file_pod(NODEJS_ASSERT));
    let app = container(&out.mutated, "containers", "myapp");
    assert_eq!(
        env_value(app, "OTEL_RESOURCE_ATTRIBUTES"),
        Some(format!("k8s.container.name=myapp,k8s.deployment.name=my-nodejs,k8s.namespace.name={E2E_NS},k8s.node.name=$(OTEL_RESOURCE_ATTRIBUTES_NODE_NAME),k8s.pod.name=$(OTEL_RESOURCE_ATTRIBUTES_POD_NAME),k8s.replicaset.name=my-nodejs-{TEMPLATE_HASH},service.instance.id={E2E_NS}.$(OTEL_RESOURCE_ATTRIBUTES_POD_NAME).myapp,service.namespace={E2E_NS},service.version=main").as_str())
    );
    assert_default_nodejs_copy(&out.mutated);
    assert_eq!(out.mutated["spec"]["volumes"], empty_dir());
    // DIFFERENCE: the operator copies the app's context; we add the RuntimeDefault seccomp.
    let init = container(&out.mutated, "initContainers", NODE_INIT);
    assert_eq!(init["securityContext"], hardened_e2e_context());
    insta::assert_yaml_snapshot!(out.mutated);
}

// === tests/e2e-instrumentation/instrumentation-nodejs-initcontainer ===

const NODEJS_INITCONTAINER_INSTRUMENTATION: &str = r##"
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: nodejs
spec:
  env:
    - name: OTEL_TRACES_EXPORTER
      value: otlp
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://deployment-collector:4318
    - name: OTEL_EXPORTER_OTLP_TIMEOUT
      value: "20000"
    - name: OTEL_TRACES_SAMPLER
      value: always_on
    - name: OTEL_METRICS_EXPORTER
      value: otlp
  exporter:
    endpoint: http://deployment-collector:4318
  propagators:
    - jaeger
    - b3
  nodejs:
    env:
      - name: OTEL_NODEJS_DEBUG
        value: "true"
"##;

const NODEJS_INITCONTAINER_APP: &str = r##"
apiVersion: v1
kind: Pod
metadata:
  name: my-nodejs-initcontainer
  labels:
    app: my-nodejs-initcontainer
  annotations:
    instrumentation.opentelemetry.io/inject-nodejs: "true"
    instrumentation.opentelemetry.io/container-names: "nodejs-init"
spec:
  securityContext:
    runAsUser: 1000
    runAsGroup: 3000
    fsGroup: 3000
  initContainers:
  - name: nodejs-init
    image: ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-nodejs:main
    securityContext:
      allowPrivilegeEscalation: false
      capabilities:
        drop: ["ALL"]
      seccompProfile:
        type: RuntimeDefault
    env:
    - name: NODE_PATH
      value: /usr/local/lib/node_modules
    command: ["/bin/bash", "-c"]
    # Start app, generate telemetry, wait for flush, then exit
    args:
      - |
        echo "Node.js init container starting"
        # Start the Node.js app in the background
        node /usr/src/app/app.js &
        APP_PID=$!
        sleep 10
        # Stop the app
        kill $APP_PID 2>/dev/null || true
        echo "Node.js init container completed"
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

const NODEJS_INITCONTAINER_ASSERT: &str = r##"
apiVersion: v1
kind: Pod
metadata:
  labels:
    app: my-nodejs-initcontainer
spec:
  initContainers:
  # The instrumentation init container must come FIRST (before the target init container)
  - name: opentelemetry-auto-instrumentation-nodejs
    securityContext:
      allowPrivilegeEscalation: false
      capabilities:
        drop: ["ALL"]
      seccompProfile:
        type: RuntimeDefault
  # The target init container should have the Node.js agent env vars and volume mounts
  - name: nodejs-init
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
    - name: NODE_PATH
      value: /usr/local/lib/node_modules
    - name: OTEL_NODEJS_DEBUG
      value: "true"
    - name: OTEL_TRACES_EXPORTER
      value: otlp
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://deployment-collector:4318
    - name: OTEL_EXPORTER_OTLP_TIMEOUT
      value: "20000"
    - name: OTEL_TRACES_SAMPLER
      value: always_on
    - name: OTEL_METRICS_EXPORTER
      value: otlp
    - name: NODE_OPTIONS
      value: ' --require /otel-auto-instrumentation-nodejs/autoinstrumentation.js'
    - name: OTEL_SERVICE_NAME
      value: my-nodejs-initcontainer
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
    - mountPath: /otel-auto-instrumentation-nodejs
      name: opentelemetry-auto-instrumentation-nodejs
  containers:
  - name: main-app
status:
  initContainerStatuses:
  - name: opentelemetry-auto-instrumentation-nodejs
    ready: true
  - name: nodejs-init
    ready: true
  containerStatuses:
  - name: main-app
    ready: true
    started: true
  phase: Running
"##;

#[test]
fn e2e_instrumentation_nodejs_initcontainer() {
    let out = run_manifests(
        NODEJS_INITCONTAINER_APP,
        &[NODEJS_INITCONTAINER_INSTRUMENTATION],
        E2E_NS,
    );
    assert_contains(&out.mutated, &assert_file_pod(NODEJS_INITCONTAINER_ASSERT));
    assert_eq!(init_names(&out.mutated), [NODE_INIT, "nodejs-init"]);
    assert!(container(&out.mutated, "containers", "main-app")
        .get("env")
        .is_none());
    // The CR's spec.env sets OTEL_METRICS_EXPORTER, so the Node.js default is not added again.
    let target = container(&out.mutated, "initContainers", "nodejs-init");
    let n = env_names(target)
        .iter()
        .filter(|n| *n == "OTEL_METRICS_EXPORTER")
        .count();
    assert_eq!(n, 1);
    insta::assert_yaml_snapshot!(out.mutated);
}

// === tests/e2e-instrumentation/instrumentation-nodejs-multicontainer (steps 01 and 02) ===

/// The suite's Instrumentation is named `java` and has a Java block; Node.js uses defaults.
const NODEJS_MULTI_INSTRUMENTATION: &str = r##"
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: java
spec:
  env:
    - name: OTEL_TRACES_EXPORTER
      value: otlp
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://deployment-collector:4318
    - name: OTEL_EXPORTER_OTLP_TIMEOUT
      value: "20000"
    - name: OTEL_TRACES_SAMPLER
      value: always_on
    - name: SPLUNK_TRACE_RESPONSE_HEADER_ENABLED
      value: "true"
    - name: OTEL_METRICS_EXPORTER
      value: otlp
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
    - name: SPLUNK_PROFILER_ENABLED
      value: "false"
"##;

const NODEJS_MULTI_APP_01: &str = r##"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-nodejs-multi
spec:
  selector:
    matchLabels:
      app: my-nodejs-multi
  replicas: 1
  template:
    metadata:
      labels:
        app: my-nodejs-multi
      annotations:
        instrumentation.opentelemetry.io/inject-nodejs: "true"
        instrumentation.opentelemetry.io/container-names: "myapp,myrabbit"
    spec:
      securityContext:
        runAsUser: 1000
        runAsGroup: 3000
        fsGroup: 3000
      containers:
      - name: myapp
        ports:
        - containerPort: 3000
        image: ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-nodejs:main
        securityContext:
          allowPrivilegeEscalation: false
          capabilities:
            drop: ["ALL"]
        env:
        - name: NODE_PATH
          value: /usr/local/lib/node_modules
        readinessProbe:
          httpGet:
            path: /rolldice
            port: 3000
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

/// The env the multicontainer asserts list after the container's own entries.
const NODEJS_MULTI_ENV_TAIL: &str = r##"
    - name: OTEL_TRACES_EXPORTER
      value: otlp
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://deployment-collector:4318
    - name: OTEL_EXPORTER_OTLP_TIMEOUT
      value: "20000"
    - name: OTEL_TRACES_SAMPLER
      value: always_on
    - name: SPLUNK_TRACE_RESPONSE_HEADER_ENABLED
      value: "true"
    - name: OTEL_METRICS_EXPORTER
      value: otlp
    - name: NODE_OPTIONS
      value: ' --require /otel-auto-instrumentation-nodejs/autoinstrumentation.js'
    - name: OTEL_SERVICE_NAME
      value: my-nodejs-multi
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

const NODEJS_MULTI_ENV_HEAD: &str = r##"
    - name: OTEL_NODE_IP
      valueFrom:
        fieldRef:
          apiVersion: v1
          fieldPath: status.hostIP
    - name: OTEL_POD_IP
      valueFrom:
        fieldRef:
          apiVersion: v1
          fieldPath: status.podIP"##;

#[test]
fn e2e_instrumentation_nodejs_multicontainer_step_01() {
    let expected = format!(
        r##"
apiVersion: v1
kind: Pod
metadata:
  annotations:
    instrumentation.opentelemetry.io/container-names: myapp,myrabbit
    instrumentation.opentelemetry.io/inject-nodejs: "true"
  labels:
    app: my-nodejs-multi
spec:
  containers:
  - env:{NODEJS_MULTI_ENV_HEAD}
    - name: NODE_PATH
      value: /usr/local/lib/node_modules{NODEJS_MULTI_ENV_TAIL}
    name: myapp
    ports:
    - containerPort: 3000
      protocol: TCP
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    - mountPath: /otel-auto-instrumentation-nodejs
      name: opentelemetry-auto-instrumentation-nodejs
  - env:{NODEJS_MULTI_ENV_HEAD}{NODEJS_MULTI_ENV_TAIL}
    name: myrabbit
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    - mountPath: /otel-auto-instrumentation-nodejs
      name: opentelemetry-auto-instrumentation-nodejs
  initContainers:
  - name: opentelemetry-auto-instrumentation-nodejs
"##
    );
    let out = run_manifests(NODEJS_MULTI_APP_01, &[NODEJS_MULTI_INSTRUMENTATION], E2E_NS);
    assert_contains(&out.mutated, &assert_file_pod(&expected));
    // The Java block of the CR plays no part.
    let app = container(&out.mutated, "containers", "myapp");
    assert_eq!(env_value(app, "OTEL_JAVAAGENT_DEBUG"), None);
    // One volume, one copy, shared by both containers.
    assert_eq!(out.mutated["spec"]["volumes"], empty_dir());
    assert_default_nodejs_copy(&out.mutated);
    insta::assert_yaml_snapshot!(out.mutated);
}

const NODEJS_MULTI_APP_02: &str = r##"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-nodejs-multi
spec:
  selector:
    matchLabels:
      app: my-nodejs-multi
  replicas: 1
  template:
    metadata:
      labels:
        app: my-nodejs-multi
      annotations:
        instrumentation.opentelemetry.io/inject-nodejs: "true"
        instrumentation.opentelemetry.io/container-names: "myapp"
    spec:
      securityContext:
        runAsUser: 1000
        runAsGroup: 3000
        fsGroup: 3000
      containers:
      - name: myapp
        ports:
        - containerPort: 3000
        image: ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-nodejs:main
        securityContext:
          allowPrivilegeEscalation: false
          capabilities:
            drop: ["ALL"]
        env:
        - name: NODE_PATH
          value: /usr/local/lib/node_modules
        readinessProbe:
          httpGet:
            path: /rolldice
            port: 3000
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

#[test]
fn e2e_instrumentation_nodejs_multicontainer_step_02() {
    let expected = format!(
        r##"
apiVersion: v1
kind: Pod
metadata:
  annotations:
    instrumentation.opentelemetry.io/container-names: myapp
    instrumentation.opentelemetry.io/inject-nodejs: "true"
  labels:
    app: my-nodejs-multi
spec:
  containers:
  - env:{NODEJS_MULTI_ENV_HEAD}
    - name: NODE_PATH
      value: /usr/local/lib/node_modules{NODEJS_MULTI_ENV_TAIL}
    name: myapp
    ports:
    - containerPort: 3000
      protocol: TCP
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    - mountPath: /otel-auto-instrumentation-nodejs
      name: opentelemetry-auto-instrumentation-nodejs
  - image: mirror.gcr.io/library/rabbitmq:3
    name: myrabbit
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
  initContainers:
  - name: opentelemetry-auto-instrumentation-nodejs
"##
    );
    let (pod, _) = manifest_pod(NODEJS_MULTI_APP_02, E2E_NS);
    let out = run_manifests(NODEJS_MULTI_APP_02, &[NODEJS_MULTI_INSTRUMENTATION], E2E_NS);
    assert_contains(&out.mutated, &assert_file_pod(&expected));
    assert_eq!(
        container(&out.mutated, "containers", "myrabbit"),
        container(&pod, "containers", "myrabbit")
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

// === tests/e2e-instrumentation/instrumentation-nodejs-volume ===

const NODEJS_VOLUME_INSTRUMENTATION: &str = r##"
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: nodejs
spec:
  env:
    - name: OTEL_TRACES_EXPORTER
      value: otlp
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://deployment-collector:4318
    - name: OTEL_EXPORTER_OTLP_TIMEOUT
      value: "20000"
    - name: OTEL_TRACES_SAMPLER
      value: always_on
    - name: SPLUNK_TRACE_RESPONSE_HEADER_ENABLED
      value: "true"
    - name: OTEL_METRICS_EXPORTER
      value: otlp
  exporter:
    endpoint: http://deployment-collector:4318
  propagators:
    - jaeger
    - b3
  nodejs:
    env:
      - name: OTEL_NODEJS_DEBUG
        value: "true"
    volumeClaimTemplate:
      spec:
        accessModes: ["ReadWriteOnce"]
        resources:
          requests:
            storage: 1Gi
"##;

const NODEJS_VOLUME_APP: &str = r##"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-nodejs
spec: 
  selector:
    matchLabels:
      app: my-nodejs
  replicas: 1
  template:
    metadata:
      labels:
        app: my-nodejs
      annotations:
        instrumentation.opentelemetry.io/inject-nodejs: "true"
    spec:
      securityContext:
        runAsUser: 1000
        runAsGroup: 3000
        fsGroup: 3000
      containers:
      - name: myapp
        ports:
        - containerPort: 3000
        image: ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-nodejs:main
        securityContext:
          allowPrivilegeEscalation: false
          capabilities:
            drop: ["ALL"]
        readinessProbe:
          httpGet:
            path: /rolldice
            port: 3000
            scheme: HTTP
          initialDelaySeconds: 5
          periodSeconds: 15
          timeoutSeconds: 2
          failureThreshold: 3
        env:
        - name: NODE_PATH
          value: /usr/local/lib/node_modules
      automountServiceAccountToken: false
"##;

const NODEJS_VOLUME_ASSERT: &str = r##"
apiVersion: v1
kind: Pod
metadata:
  annotations:
    instrumentation.opentelemetry.io/inject-nodejs: "true"
  labels:
    app: my-nodejs
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
      - name: NODE_PATH
        value: /usr/local/lib/node_modules
      - name: OTEL_NODEJS_DEBUG
        value: "true"
      - name: OTEL_TRACES_EXPORTER
        value: otlp
      - name: OTEL_EXPORTER_OTLP_ENDPOINT
        value: http://deployment-collector:4318
      - name: OTEL_EXPORTER_OTLP_TIMEOUT
        value: "20000"
      - name: OTEL_TRACES_SAMPLER
        value: always_on
      - name: SPLUNK_TRACE_RESPONSE_HEADER_ENABLED
        value: "true"
      - name: OTEL_METRICS_EXPORTER
        value: otlp
      - name: NODE_OPTIONS
        value: " --require /otel-auto-instrumentation-nodejs/autoinstrumentation.js"
      - name: OTEL_SERVICE_NAME
        value: my-nodejs
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
    - containerPort: 3000
      protocol: TCP
    volumeMounts:
      - mountPath: /otel-auto-instrumentation-nodejs
        name: opentelemetry-auto-instrumentation-nodejs
  initContainers:
    - name: opentelemetry-auto-instrumentation-nodejs
  volumes:
    - name: opentelemetry-auto-instrumentation-nodejs
      ephemeral:
        volumeClaimTemplate:
          spec:
            accessModes: ["ReadWriteOnce"]
            resources:
              requests:
                storage: 1Gi
status:
  containerStatuses:
  - name: myapp
    ready: true
    started: true
  initContainerStatuses:
  - name: opentelemetry-auto-instrumentation-nodejs
    ready: true
  phase: Running
"##;

/// `nodejs.volumeClaimTemplate`: an ephemeral volume instead of the emptyDir.
#[test]
fn e2e_instrumentation_nodejs_volume() {
    let out = run_manifests(NODEJS_VOLUME_APP, &[NODEJS_VOLUME_INSTRUMENTATION], E2E_NS);
    assert_contains(&out.mutated, &assert_file_pod(NODEJS_VOLUME_ASSERT));
    assert_eq!(
        out.mutated["spec"]["volumes"],
        json!([{"name": NODE_VOLUME, "ephemeral": {"volumeClaimTemplate": {"spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}}}])
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

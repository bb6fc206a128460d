//! The operator's multi-instrumentation scenarios (0.158.0), reproduced: TestMutatePod's
//! multi-instrumentation cases and TestContainerNamesConfiguredForMultipleInstrumentations /
//! TestInstrumentationLanguageContainersSet (`podmutator_test.go`), and the
//! `tests/e2e-multi-instrumentation/*` suites. Each runs `mutate` on the operator's input,
//! applies the patch with json-patch (`common::run*` also checks that a second pass yields an
//! empty patch), compares with the operator's expected pod and snapshots the mutated pod.
//!
//! Where we differ on purpose, the test says so (`DIFFERENCE:`): a pod the operator leaves
//! unchanged because its container lists contradict each other gets the status annotation and
//! a warning naming the fix; and the agent copies' hardened security context and CR
//! defaults, as in the per-language files.
//!
//! The Go-only cases (TestGoContainerAnnotationsDuplicateDetection,
//! TestMultiLanguageCommonContainerNamesDuplicateDetection) are in `operator_go.rs`' domain;
//! the Go e2e `instrumentation-multi-multicontainer-go` is here, with Go switched on as the
//! operator's e2e run has it.

mod common;

use common::operator::*;
use common::*;
use otel_inject_lib::lang::{apache_httpd, dotnet, go, java, nodejs, python};
use otel_inject_lib::{InjectOptions, Language, NamespaceInfo, Outcome as O};
use rstest::rstest;
use serde_json::{json, Value};

const JAVA_INIT: &str = "opentelemetry-auto-instrumentation-java";
const NODE_INIT: &str = "opentelemetry-auto-instrumentation-nodejs";
const PY_INIT: &str = "opentelemetry-auto-instrumentation-python";
const DOTNET_INIT: &str = "opentelemetry-auto-instrumentation-dotnet";

fn annotations(pairs: &[(&str, &str)]) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in pairs {
        m.insert(format!("instrumentation.opentelemetry.io/{k}"), json!(v));
    }
    Value::Object(m)
}

fn named_containers(names: &[&str]) -> Value {
    Value::Array(names.iter().map(|n| json!({"name": n})).collect())
}

fn bare_pod(ann: Value, containers: &[&str]) -> Value {
    json!({"metadata": {"annotations": ann}, "spec": {"containers": named_containers(containers)}})
}

/// The Instrumentation of TestMutatePod's multi-instrumentation cases: every agent with
/// `OTEL_LOG_LEVEL=debug` and an image of its own.
fn multi_instrumentation(ns: &str) -> std::sync::Arc<otel_inject_lib::Instrumentation> {
    let block = |lang: &str| json!({"image": format!("otel/{lang}:1"), "env": [lit("OTEL_LOG_LEVEL", "debug")]});
    instrumentation(
        ns,
        "example-inst",
        json!({"dotnet": block("dotnet"), "java": block("java"), "nodejs": block("nodejs"),
               "python": block("python"), "exporter": {"endpoint": "http://collector:12345"}}),
    )
}

fn options(multi: bool, disabled: &[Language]) -> InjectOptions {
    let mut o = InjectOptions {
        multi_instrumentation: multi,
        ..InjectOptions::default()
    };
    for l in disabled {
        o.set_enabled(*l, false);
    }
    o
}

/// The env TestMutatePod expects in container `c` for `lang`, after `OTEL_LOG_LEVEL`.
fn multi_env(ns: &str, lang: Language, c: &str) -> Vec<Value> {
    let mut env = ip_env();
    env.push(lit("OTEL_LOG_LEVEL", "debug"));
    match lang {
        Language::DotNet => env.extend([
            lit(dotnet::CORECLR_ENABLE_PROFILING, "1"),
            lit(dotnet::CORECLR_PROFILER, dotnet::PROFILER_ID),
            lit(dotnet::CORECLR_PROFILER_PATH, dotnet::PROFILER_PATH_GLIBC),
            lit(dotnet::DOTNET_STARTUP_HOOKS, dotnet::STARTUP_HOOK),
            lit(dotnet::DOTNET_ADDITIONAL_DEPS, dotnet::ADDITIONAL_DEPS),
            lit(dotnet::OTEL_DOTNET_AUTO_HOME, dotnet::MOUNT_PATH),
            lit(dotnet::DOTNET_SHARED_STORE, dotnet::SHARED_STORE),
        ]),
        Language::Java => env.push(lit("JAVA_TOOL_OPTIONS", &java::jvm_argument(c, false))),
        Language::NodeJs => env.extend([
            lit("NODE_OPTIONS", nodejs::REQUIRE_ARGUMENT),
            lit("OTEL_METRICS_EXPORTER", "otlp"),
        ]),
        Language::Python => {
            env.push(lit(
                "PYTHONPATH",
                &format!(
                    "{}:{}",
                    python::PYTHONPATH_PREFIX,
                    python::PYTHONPATH_SUFFIX
                ),
            ));
            env.extend(python::DEFAULT_ENV.iter().map(|(n, v)| lit(n, v)));
        }
        _ => {}
    }
    env.push(lit("OTEL_SERVICE_NAME", c));
    env.push(lit("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:12345"));
    env.extend(downward_env());
    env.push(lit(
        "OTEL_RESOURCE_ATTRIBUTES",
        &bare_pod_attributes(ns, c, &[]),
    ));
    env
}

fn mount_of(lang: Language, c: &str) -> Value {
    match lang {
        Language::Java => json!({"name": JAVA_INIT, "mountPath": java::container_mount_path(c)}),
        Language::NodeJs => json!({"name": NODE_INIT, "mountPath": nodejs::MOUNT_PATH}),
        Language::Python => json!({"name": PY_INIT, "mountPath": python::MOUNT_PATH}),
        _ => json!({"name": DOTNET_INIT, "mountPath": dotnet::MOUNT_PATH}),
    }
}

fn agent_copy(lang: Language) -> Value {
    let (name, command, mount) = match lang {
        Language::Java => (
            JAVA_INIT,
            json!([
                "cp",
                "/javaagent.jar",
                "/otel-auto-instrumentation-java/javaagent.jar"
            ]),
            java::MOUNT_PATH,
        ),
        Language::NodeJs => (
            NODE_INIT,
            json!(["cp", "-r", "/autoinstrumentation/.", nodejs::MOUNT_PATH]),
            nodejs::MOUNT_PATH,
        ),
        Language::Python => (
            PY_INIT,
            json!(["cp", "-r", "/autoinstrumentation/.", python::MOUNT_PATH]),
            python::MOUNT_PATH,
        ),
        _ => (
            DOTNET_INIT,
            json!(["cp", "-r", "/autoinstrumentation/.", dotnet::MOUNT_PATH]),
            dotnet::MOUNT_PATH,
        ),
    };
    json!({"name": name, "image": format!("otel/{}:1", lang.as_str()), "command": command,
           "volumeMounts": [{"name": name, "mountPath": mount}]})
}

fn empty_dir(name: &str) -> Value {
    json!({"name": name, "emptyDir": {"sizeLimit": "200Mi"}})
}

// === podmutator_test.go: TestMutatePod, the multi-instrumentation cases ===

/// "multi instrumentation for multiple containers feature gate enabled": four agents, two
/// containers each, by their `<language>-container-names`.
#[test]
fn mutate_pod_multi_instrumentation_for_multiple_containers() {
    let ns = "multi-instrumentation-multi-containers";
    let ann = annotations(&[
        ("inject-dotnet", "true"),
        ("inject-java", "true"),
        ("inject-nodejs", "true"),
        ("inject-python", "true"),
        ("dotnet-container-names", "dotnet1,dotnet2"),
        ("java-container-names", "java1,java2"),
        ("nodejs-container-names", "nodejs1,nodejs2"),
        ("python-container-names", "python1,python2"),
    ]);
    let langs = [
        (Language::DotNet, "dotnet"),
        (Language::Java, "java"),
        (Language::NodeJs, "nodejs"),
        (Language::Python, "python"),
    ];
    let names: Vec<String> = langs
        .iter()
        .flat_map(|(_, l)| [format!("{l}1"), format!("{l}2")])
        .collect();
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let pod = bare_pod(ann.clone(), &name_refs);
    let out = run(&pod, ns, &[multi_instrumentation(ns)], &[]);
    let containers: Vec<Value> = langs
        .iter()
        .flat_map(|(lang, l)| {
            [1, 2].map(|i| {
                let c = format!("{l}{i}");
                json!({"name": c, "env": multi_env(ns, *lang, &c), "volumeMounts": [mount_of(*lang, &c)]})
            })
        })
        .collect();
    // Volumes and copies in the operator's language order: java, nodejs, python, dotnet.
    let order = [
        Language::Java,
        Language::NodeJs,
        Language::Python,
        Language::DotNet,
    ];
    assert_contains(
        &out.mutated,
        &json!({
            "metadata": {"annotations": ann},
            "spec": {
                "volumes": [empty_dir(JAVA_INIT), empty_dir(NODE_INIT), empty_dir(PY_INIT), empty_dir(DOTNET_INIT)],
                "initContainers": order.map(agent_copy),
                "containers": containers
            }
        }),
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

/// "multi instrumentation for multiple containers feature gate disabled, multiple
/// instrumentation annotations set": multi-instrumentation and all four languages off.
#[test]
fn mutate_pod_multi_instrumentation_disabled_and_languages_disabled() {
    let ns = "multi-instrumentation-multi-containers-dis-cn";
    let ann = annotations(&[
        ("inject-dotnet", "true"),
        ("inject-java", "true"),
        ("inject-nodejs", "true"),
        ("inject-python", "true"),
        ("dotnet-container-names", "dotnet1,dotnet2"),
        ("java-container-names", "java1,java2"),
        ("nodejs-container-names", "nodejs1,nodejs2"),
        ("python-container-names", "python1,python2"),
        (
            "container-names",
            "should-not-be-instrumented1,should-not-be-instrumented2",
        ),
    ]);
    let pod = bare_pod(
        ann,
        &[
            "dotnet1",
            "dotnet2",
            "java1",
            "java2",
            "nodejs1",
            "nodejs2",
            "python1",
            "python2",
            "should-not-be-instrumented1",
            "should-not-be-instrumented2",
        ],
    );
    let opts = options(
        false,
        &[
            Language::Java,
            Language::NodeJs,
            Language::Python,
            Language::DotNet,
        ],
    );
    let out = run_with(
        &pod,
        &NamespaceInfo::named(ns),
        &[multi_instrumentation(ns)],
        &[],
        &opts,
    );
    assert_eq!(out.mutated["spec"], pod["spec"]);
    assert!(out
        .decision
        .languages
        .iter()
        .all(|l| l.reason.label() == "language_disabled"));
    assert_eq!(out.decision.languages.len(), 4);
    insta::assert_yaml_snapshot!(out.mutated);
}

/// "multi instrumentation feature gate enabled, multiple instrumentation annotations set, no
/// containers". The operator's case switches every language off (its config leaves the
/// `Enable*` fields false); with them on, four agents without a list are a conflict. Either
/// way nothing is injected.
#[rstest]
#[case::languages_off_as_in_the_operator_test(true)]
#[case::languages_on(false)]
fn mutate_pod_multi_instrumentation_no_containers(#[case] languages_off: bool) {
    let ns = "multi-instrumentation-multi-containers-no-cont";
    let ann = annotations(&[
        ("inject-dotnet", "true"),
        ("inject-java", "true"),
        ("inject-nodejs", "true"),
        ("inject-python", "true"),
    ]);
    let pod = bare_pod(
        ann,
        &[
            "dotnet1",
            "dotnet2",
            "java1",
            "java2",
            "nodejs1",
            "nodejs2",
            "python1",
            "python2",
            "should-not-be-instrumented1",
            "should-not-be-instrumented2",
        ],
    );
    let disabled: &[Language] = if languages_off {
        &[
            Language::Java,
            Language::NodeJs,
            Language::Python,
            Language::DotNet,
        ]
    } else {
        &[]
    };
    let out = run_with(
        &pod,
        &NamespaceInfo::named(ns),
        &[multi_instrumentation(ns)],
        &[],
        &options(true, disabled),
    );
    assert_eq!(out.mutated["spec"], pod["spec"]);
    let want = if languages_off {
        "language_disabled"
    } else {
        "container_conflict"
    };
    assert!(
        out.decision
            .languages
            .iter()
            .all(|l| l.reason.label() == want),
        "{:?}",
        out.decision.languages
    );
    insta::assert_yaml_snapshot!(
        format!(
            "mutate_pod_multi_instrumentation_no_containers_{}",
            if languages_off {
                "languages_off"
            } else {
                "languages_on"
            }
        ),
        out.mutated
    );
}

/// "multi instrumentation feature gate enabled, single instrumentation annotation set, no
/// containers": one agent without a list takes the first container.
#[test]
fn mutate_pod_single_instrumentation_no_containers() {
    let ns = "multi-instrumentation-single-container-no-cont";
    let ann = annotations(&[("inject-dotnet", "true")]);
    let pod = bare_pod(ann, &["dotnet1", "should-not-be-instrumented1"]);
    let out = run(&pod, ns, &[multi_instrumentation(ns)], &[]);
    assert_contains(
        &out.mutated["spec"],
        &json!({
            "volumes": [empty_dir(DOTNET_INIT)],
            "initContainers": [agent_copy(Language::DotNet)],
            "containers": [
                {"name": "dotnet1", "env": multi_env(ns, Language::DotNet, "dotnet1"),
                 "volumeMounts": [mount_of(Language::DotNet, "dotnet1")]},
                {"name": "should-not-be-instrumented1"}]
        }),
    );
    assert_eq!(
        container(&out.mutated, "containers", "should-not-be-instrumented1"),
        &json!({"name": "should-not-be-instrumented1"})
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

/// "multi instrumentation feature gate disabled, instrumentation feature gate disabled and
/// annotation set, multiple specific containers set": .NET requested but off; a Node.js list
/// without `inject-nodejs` requests nothing.
#[test]
fn mutate_pod_language_off_with_specific_containers() {
    let ns = "multi-instrumentation-single-container-spec-cont";
    let ann = annotations(&[
        ("inject-dotnet", "true"),
        ("dotnet-container-names", "dotnet1"),
        ("nodejs-container-names", "should-not-be-instrumented1"),
    ]);
    let pod = json!({"metadata": {"annotations": ann}, "spec": {"containers": [
        {"name": "dotnet1", "env": [lit("TEST", "debug")]},
        {"name": "should-not-be-instrumented1", "env": [lit("TEST", "debug")]}]}});
    let out = run_with(
        &pod,
        &NamespaceInfo::named(ns),
        &[multi_instrumentation(ns)],
        &[],
        &options(true, &[Language::DotNet, Language::NodeJs]),
    );
    assert_eq!(out.mutated["spec"], pod["spec"]);
    assert_eq!(out.decision.languages.len(), 1);
    assert_eq!(out.decision.reason(), "language_disabled");
    insta::assert_yaml_snapshot!(out.mutated);
}

// === podmutator_test.go: TestContainerNamesConfiguredForMultipleInstrumentations ===

/// Each case as annotations on a pod that has every container named: whether the languages
/// are injected or all of them fail with a conflict (the operator's `false` result: the pod
/// unchanged; ours: unchanged but for the status annotation, with a warning).
#[rstest]
#[case::single_instrumentation_without_containers(
    &[("inject-java", "true")], true, None
)]
#[case::multiple_instrumentations_with_containers(
    &[("inject-java", "true"), ("inject-nodejs", "true"),
      ("java-container-names", "java"), ("nodejs-container-names", "nodejs")], true, None
)]
#[case::multiple_instrumentations_without_containers(
    &[("inject-java", "true"), ("inject-nodejs", "true")], false,
    Some("several languages would share the default container")
)]
#[case::multiple_instrumentations_with_containers_for_single_instrumentation(
    &[("inject-java", "true"), ("inject-nodejs", "true"), ("java-container-names", "test")], false,
    Some("nodejs has no container list while java has one")
)]
#[case::multiple_instrumentations_with_duplicated_containers(
    &[("inject-java", "true"), ("inject-nodejs", "true"),
      ("java-container-names", "app,app1,java"), ("nodejs-container-names", "app1,app,nodejs")], true, None
)]
#[case::multiple_instrumentations_with_duplicated_containers_for_single_instrumentation(
    &[("inject-java", "true"), ("inject-nodejs", "true"),
      ("java-container-names", "app,app,java"), ("nodejs-container-names", "nodejs")], false,
    Some("duplicated container names detected: [app]")
)]
fn container_names_configured_for_multiple_instrumentations(
    #[case] pairs: &[(&str, &str)],
    #[case] injected: bool,
    #[case] conflict: Option<&str>,
) {
    let ns = "lists";
    let pod = bare_pod(
        annotations(pairs),
        &["app", "app1", "java", "nodejs", "test"],
    );
    let out = run(&pod, ns, &[multi_instrumentation(ns)], &[]);
    let requested = pairs
        .iter()
        .filter(|(k, _)| k.starts_with("inject-"))
        .count();
    assert_eq!(out.decision.languages.len(), requested);
    for l in &out.decision.languages {
        assert_eq!(l.outcome() == O::Injected, injected, "{l:?}");
    }
    match conflict {
        Some(msg) => {
            assert_eq!(out.mutated["spec"], pod["spec"]);
            assert_eq!(out.decision.reason(), "container_conflict");
            assert!(
                out.decision.warnings.iter().any(|w| w.contains(msg)),
                "{msg} in {:?}",
                out.decision.warnings
            );
        }
        None => assert_ne!(out.mutated["spec"], pod["spec"]),
    }
}

/// The injected cases above, by container: the same container may take two languages.
#[test]
fn duplicated_containers_across_languages_take_both() {
    let ns = "lists";
    let pod = bare_pod(
        annotations(&[
            ("inject-java", "true"),
            ("inject-nodejs", "true"),
            ("java-container-names", "app,app1,java"),
            ("nodejs-container-names", "app1,app,nodejs"),
        ]),
        &["app", "app1", "java", "nodejs", "test"],
    );
    let out = run(&pod, ns, &[multi_instrumentation(ns)], &[]);
    for (c, java_on, node_on) in [
        ("app", true, true),
        ("app1", true, true),
        ("java", true, false),
        ("nodejs", false, true),
        ("test", false, false),
    ] {
        let c = container(&out.mutated, "containers", c);
        assert_eq!(env_value(c, "JAVA_TOOL_OPTIONS").is_some(), java_on, "{c}");
        assert_eq!(env_value(c, "NODE_OPTIONS").is_some(), node_on, "{c}");
    }
    insta::assert_yaml_snapshot!(out.mutated);
}

/// "Disabled instrumentations" (no language requested): nothing at all, not even a status.
#[test]
fn no_instrumentation_requested_changes_nothing() {
    let pod = bare_pod(
        annotations(&[("container-names", "python,python1")]),
        &["python", "python1"],
    );
    let out = run(&pod, "lists", &[multi_instrumentation("lists")], &[]);
    assert_eq!(out.decision.outcome(), O::NotRequested);
    assert!(out.decision.patch.is_empty());
}

/// With multi-instrumentation off, the operator checks no lists: every requested language goes
/// to `container-names`, or the first container.
#[test]
fn multi_instrumentation_off_puts_every_language_in_the_first_container() {
    let ns = "multi-off";
    let pod = bare_pod(
        annotations(&[
            ("inject-java", "true"),
            ("inject-python", "true"),
            ("python-container-names", "other"),
        ]),
        &["app", "other"],
    );
    let out = run_with(
        &pod,
        &NamespaceInfo::named(ns),
        &[multi_instrumentation(ns)],
        &[],
        &options(false, &[]),
    );
    assert_eq!(out.decision.outcome(), O::Injected);
    let app = container(&out.mutated, "containers", "app");
    assert!(env_value(app, "JAVA_TOOL_OPTIONS").is_some());
    assert!(env_value(app, "PYTHONPATH").is_some());
    // The per-language list is not read.
    assert!(container(&out.mutated, "containers", "other")
        .get("env")
        .is_none());
    assert_eq!(init_names(&out.mutated), [JAVA_INIT, PY_INIT]);
    insta::assert_yaml_snapshot!(out.mutated);
}

// === podmutator_test.go: TestInstrumentationLanguageContainersSet ===

/// "Set containers for enabled instrumentation": `container-names` goes to the requested
/// language (Python) only.
#[test]
fn container_names_go_to_the_enabled_instrumentation() {
    let ns = "lists";
    let pod = bare_pod(
        annotations(&[
            ("inject-python", "true"),
            ("container-names", "python,python1"),
        ]),
        &["python", "python1", "nodejs"],
    );
    let out = run(&pod, ns, &[multi_instrumentation(ns)], &[]);
    for c in ["python", "python1"] {
        assert!(env_value(container(&out.mutated, "containers", c), "PYTHONPATH").is_some());
    }
    assert!(container(&out.mutated, "containers", "nodejs")
        .get("env")
        .is_none());
    assert_eq!(out.decision.languages.len(), 1);
}

// === tests/e2e-multi-instrumentation/instrumentation-multi-multicontainer ===

const E2E_NS: &str = "chainsaw-multi";

const MULTI_INSTRUMENTATION: &str = r##"
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: multi
spec:
  env:
    - name: OTEL_TRACES_SAMPLER
      value: parentbased_traceidratio
    - name: OTEL_TRACES_SAMPLER_ARG
      value: "0.85"
  exporter:
    endpoint: http://deployment-collector:4317
  propagators:
    - jaeger
    - b3
  sampler:
    type: parentbased_traceidratio
    argument: "0.25"
  java:
    env:
      - name: OTEL_SERVICE_NAME
        value: "javaapp"
  python:
    env:
      - name: OTEL_SERVICE_NAME
        value: "pythonapp"
      - name: OTEL_EXPORTER_OTLP_ENDPOINT
        value: http://deployment-collector:4318
  nodejs:
    env:
      - name: OTEL_SERVICE_NAME
        value: "nodejsapp"
  dotnet:
    env:
      - name: OTEL_SERVICE_NAME
        value: "dotnetapp"
  go:
    env:
      - name: OTEL_SERVICE_NAME
        value: "goapp"
  nginx:
    configFile: /etc/nginx/conf.d/default.conf
    env:
      - name: OTEL_SERVICE_NAME
        value: "nginxapp"
    attrs:
    - name: NginxModuleOtelMaxQueueSize
      value: "4096"
  apacheHttpd:
    env:
      - name: OTEL_SERVICE_NAME
        value: "apache-httpd-app"
    attrs:
    - name: ApacheModuleOtelMaxQueueSize
      value: "4096"
"##;

const MULTI_APP: &str = r##"
apiVersion: v1
kind: ConfigMap
metadata:
  name: nginx-conf
data:
  nginx.conf: |
    # user nginx;
    worker_processes  1;
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: deployment-with-multi-instrumentation
spec:
  selector:
    matchLabels:
      app: pod-with-multi-instrumentation
  replicas: 1
  template:
    metadata:
      labels:
        app: pod-with-multi-instrumentation
      annotations:
        instrumentation.opentelemetry.io/inject-dotnet: "true"
        instrumentation.opentelemetry.io/inject-java: "true"
        instrumentation.opentelemetry.io/inject-nodejs: "true"
        instrumentation.opentelemetry.io/inject-python: "true"
        instrumentation.opentelemetry.io/inject-sdk: "true"
        instrumentation.opentelemetry.io/inject-apache-httpd: "true"
        instrumentation.opentelemetry.io/java-container-names: "javaapp"
        instrumentation.opentelemetry.io/nodejs-container-names: "nodejsapp"
        instrumentation.opentelemetry.io/python-container-names: "pythonapp"
        instrumentation.opentelemetry.io/sdk-container-names: "sdkapp"
        instrumentation.opentelemetry.io/apache-httpd-container-names: "apache-httpd-app"
        instrumentation.opentelemetry.io/dotnet-container-names: "dotnetapp"
        sidecar.opentelemetry.io/inject: "true"
    spec:
      securityContext:
        runAsUser: 1000
        runAsGroup: 3000
        fsGroup: 3000
      volumes:
      - name: nginx-conf
        configMap:
          name: nginx-conf
          items:
          - key: nginx.conf
            path: nginx.conf
      containers:
        - name: dotnetapp
          image: ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-dotnet:main
          securityContext:
            allowPrivilegeEscalation: false
            capabilities:
              drop: ["ALL"]
            seccompProfile:
              type: RuntimeDefault
          env:
          - name: ASPNETCORE_URLS
            value: "http://+:8083"
        - name: javaapp
          image: ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-java:main
          env:
          - name: SERVER_PORT
            value: "8086"
          ports:
          - containerPort: 8086
          securityContext:
            allowPrivilegeEscalation: false
            capabilities:
              drop: ["ALL"]
            seccompProfile:
              type: RuntimeDefault
        - name: nodejsapp
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
        - name: pythonapp
          image: ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-python:main
          command: ["flask", "run", "-p", "8087"]
          securityContext:
            allowPrivilegeEscalation: false
            capabilities:
              drop: ["ALL"]
            seccompProfile:
              type: RuntimeDefault
        - name: sdkapp
          image: ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-python:main
          command: ["flask", "run", "-p", "8088"]
          securityContext:
            allowPrivilegeEscalation: false
            capabilities:
              drop: ["ALL"]
            seccompProfile:
              type: RuntimeDefault
        - name: apache-httpd-app
          image: ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-apache-httpd:main
          securityContext:
            allowPrivilegeEscalation: false
            capabilities:
              drop: ["ALL"]
            seccompProfile:
              type: RuntimeDefault
          ports:
          - containerPort: 8080
        - name: nginxapp
          image: mirror.gcr.io/nginxinc/nginx-unprivileged:1.26.2
          securityContext:
            allowPrivilegeEscalation: false
            capabilities:
              drop: ["ALL"]
            seccompProfile:
              type: RuntimeDefault
          # following to test lifecycle removal in cloned init container
          lifecycle:
            postStart:
              exec:
                command: ["/bin/sh", "-c", "echo Hello from the postStart handler"]
          ports:
          - containerPort: 8765
          env:
          - name: LD_LIBRARY_PATH
            value: /opt
          - name: NGINX_PORT
            value: "8765"
          volumeMounts:
          - name: nginx-conf
            mountPath: /etc/nginx/conf.d
            subPath: default.conf
            readOnly: true
"##;

/// `01-assert.yaml`'s Pod, verbatim.
const MULTI_ASSERT: &str = r##"
apiVersion: v1
kind: Pod
metadata:
  annotations:
    instrumentation.opentelemetry.io/apache-httpd-container-names: apache-httpd-app
    instrumentation.opentelemetry.io/dotnet-container-names: dotnetapp
    instrumentation.opentelemetry.io/inject-apache-httpd: "true"
    instrumentation.opentelemetry.io/inject-dotnet: "true"
    instrumentation.opentelemetry.io/inject-java: "true"
    instrumentation.opentelemetry.io/inject-nodejs: "true"
    instrumentation.opentelemetry.io/inject-python: "true"
    instrumentation.opentelemetry.io/inject-sdk: "true"
    instrumentation.opentelemetry.io/java-container-names: javaapp
    instrumentation.opentelemetry.io/nodejs-container-names: nodejsapp
    instrumentation.opentelemetry.io/python-container-names: pythonapp
    instrumentation.opentelemetry.io/sdk-container-names: sdkapp
  labels:
    app: pod-with-multi-instrumentation
spec:
  containers:
  - env:
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
    - name: ASPNETCORE_URLS
      value: http://+:8083
    - name: OTEL_SERVICE_NAME
      value: dotnetapp
    - name: OTEL_TRACES_SAMPLER
      value: parentbased_traceidratio
    - name: OTEL_TRACES_SAMPLER_ARG
      value: "0.85"
    - name: CORECLR_ENABLE_PROFILING
      value: "1"
    - name: CORECLR_PROFILER
      value: '{918728DD-259F-4A6A-AC2B-B85E1B658318}'
    - name: CORECLR_PROFILER_PATH
      value: /otel-auto-instrumentation-dotnet/linux/OpenTelemetry.AutoInstrumentation.Native.so
    - name: DOTNET_STARTUP_HOOKS
      value: /otel-auto-instrumentation-dotnet/net/OpenTelemetry.AutoInstrumentation.StartupHook.dll
    - name: DOTNET_ADDITIONAL_DEPS
      value: /otel-auto-instrumentation-dotnet/AdditionalDeps
    - name: OTEL_DOTNET_AUTO_HOME
      value: /otel-auto-instrumentation-dotnet
    - name: DOTNET_SHARED_STORE
      value: /otel-auto-instrumentation-dotnet/store
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://deployment-collector:4317
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
    name: dotnetapp
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    - mountPath: /otel-auto-instrumentation-dotnet
      name: opentelemetry-auto-instrumentation-dotnet
  - env:
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
    - name: SERVER_PORT
      value: "8086"
    - name: OTEL_SERVICE_NAME
      value: javaapp
    - name: OTEL_TRACES_SAMPLER
      value: parentbased_traceidratio
    - name: OTEL_TRACES_SAMPLER_ARG
      value: "0.85"
    - name: JAVA_TOOL_OPTIONS
      value: ' -javaagent:/otel-auto-instrumentation-java-javaapp/javaagent.jar'
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://deployment-collector:4317
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
    name: javaapp
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    - mountPath: /otel-auto-instrumentation-java-javaapp
      name: opentelemetry-auto-instrumentation-java
  - env:
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
    - name: OTEL_SERVICE_NAME
      value: nodejsapp
    - name: OTEL_TRACES_SAMPLER
      value: parentbased_traceidratio
    - name: OTEL_TRACES_SAMPLER_ARG
      value: "0.85"
    - name: NODE_OPTIONS
      value: ' --require /otel-auto-instrumentation-nodejs/autoinstrumentation.js'
    - name: OTEL_METRICS_EXPORTER
      value: otlp
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://deployment-collector:4317
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
    name: nodejsapp
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    - mountPath: /otel-auto-instrumentation-nodejs
      name: opentelemetry-auto-instrumentation-nodejs
  - command:
    - flask
    - run
    - -p
    - "8087"
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
    - name: OTEL_SERVICE_NAME
      value: pythonapp
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://deployment-collector:4318
    - name: PYTHONPATH
      value: /otel-auto-instrumentation-python/opentelemetry/instrumentation/auto_instrumentation:/otel-auto-instrumentation-python
    - name: OTEL_TRACES_SAMPLER
      value: parentbased_traceidratio
    - name: OTEL_TRACES_SAMPLER_ARG
      value: "0.85"
    - name: OTEL_EXPORTER_OTLP_PROTOCOL
      value: http/protobuf
    - name: OTEL_TRACES_EXPORTER
      value: otlp
    - name: OTEL_METRICS_EXPORTER
      value: otlp
    - name: OTEL_LOGS_EXPORTER
      value: otlp
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
    name: pythonapp
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    - mountPath: /otel-auto-instrumentation-python
      name: opentelemetry-auto-instrumentation-python
  - command:
    - flask
    - run
    - -p
    - "8088"
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
    - name: OTEL_TRACES_SAMPLER
      value: parentbased_traceidratio
    - name: OTEL_TRACES_SAMPLER_ARG
      value: "0.85"
    - name: OTEL_SERVICE_NAME
      value: deployment-with-multi-instrumentation
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://deployment-collector:4317
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
    name: sdkapp
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
  - env:
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
    - name: OTEL_SERVICE_NAME
      value: apache-httpd-app
    - name: OTEL_TRACES_SAMPLER
      value: parentbased_traceidratio
    - name: OTEL_TRACES_SAMPLER_ARG
      value: "0.85"
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://deployment-collector:4317
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
    name: apache-httpd-app
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    - mountPath: /opt/opentelemetry-webserver/agent
      name: otel-apache-agent
    - mountPath: /usr/local/apache2/conf
      name: otel-apache-conf-dir
  - env:
    - name: LD_LIBRARY_PATH
      value: /opt
    - name: NGINX_PORT
      value: "8765"
    lifecycle:
      postStart:
        exec:
          command:
          - /bin/sh
          - -c
          - echo Hello from the postStart handler
    name: nginxapp
    volumeMounts:
    - mountPath: /etc/nginx/conf.d
      name: nginx-conf
      readOnly: true
      subPath: default.conf
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
  initContainers:
  - command:
    - cp
    - /javaagent.jar
    - /otel-auto-instrumentation-java/javaagent.jar
    name: opentelemetry-auto-instrumentation-java
    volumeMounts:
    - mountPath: /otel-auto-instrumentation-java
      name: opentelemetry-auto-instrumentation-java
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
  - command:
    - cp
    - -r
    - /autoinstrumentation/.
    - /otel-auto-instrumentation-nodejs
    name: opentelemetry-auto-instrumentation-nodejs
    volumeMounts:
    - mountPath: /otel-auto-instrumentation-nodejs
      name: opentelemetry-auto-instrumentation-nodejs
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
  - command:
    - cp
    - -r
    - /autoinstrumentation/.
    - /otel-auto-instrumentation-python
    name: opentelemetry-auto-instrumentation-python
    volumeMounts:
    - mountPath: /otel-auto-instrumentation-python
      name: opentelemetry-auto-instrumentation-python
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
  - command:
    - cp
    - -r
    - /autoinstrumentation/.
    - /otel-auto-instrumentation-dotnet
    name: opentelemetry-auto-instrumentation-dotnet
    volumeMounts:
    - mountPath: /otel-auto-instrumentation-dotnet
      name: opentelemetry-auto-instrumentation-dotnet
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
  - command:
    - cp
    - -r
    - /usr/local/apache2/conf/.
    - /opt/opentelemetry-webserver/source-conf
    env:
    - name: OTEL_SERVICE_NAME
      value: apache-httpd-app
    name: otel-agent-source-container-clone
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    - mountPath: /opt/opentelemetry-webserver/source-conf
      name: otel-apache-conf-dir
  - command:
    - /bin/sh
    - -c
    env:
    - name: OTEL_SERVICE_NAME
      value: apache-httpd-app
    - name: OTEL_TRACES_SAMPLER
      value: parentbased_traceidratio
    - name: OTEL_TRACES_SAMPLER_ARG
      value: "0.85"
    - name: OTEL_POD_IP
      valueFrom:
        fieldRef:
          apiVersion: v1
          fieldPath: status.podIP
    - name: OTEL_NODE_IP
      valueFrom:
        fieldRef:
          apiVersion: v1
          fieldPath: status.hostIP
    - name: OTEL_APACHE_AGENT_CONF
    - name: APACHE_SERVICE_INSTANCE_ID
      valueFrom:
        fieldRef:
          apiVersion: v1
          fieldPath: metadata.name
    name: otel-agent-attach-apache
    volumeMounts:
    - mountPath: /opt/opentelemetry-webserver/agent
      name: otel-apache-agent
    - mountPath: /opt/opentelemetry-webserver/source-conf
      name: otel-apache-conf-dir
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
"##;

/// Five languages and the SDK, one container each, by their lists: the operator's pod, Apache
/// httpd's clone and agent init containers included.
#[test]
fn e2e_instrumentation_multi_multicontainer() {
    let out = run_manifests(MULTI_APP, &[MULTI_INSTRUMENTATION], E2E_NS);
    assert_contains(&out.mutated, &assert_file_pod(MULTI_ASSERT));
    for l in &out.decision.languages {
        assert_eq!(l.outcome(), O::Injected, "{l:?}");
    }
    // The copies' images: the CR names none, so the defaults, in the operator's order (Apache
    // httpd's clone runs the app's image).
    let images: Vec<&str> = out.mutated["spec"]["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["image"].as_str())
        .collect();
    assert_eq!(
        images,
        [
            java::DEFAULT_IMAGE,
            nodejs::DEFAULT_IMAGE,
            python::DEFAULT_IMAGE,
            dotnet::DEFAULT_IMAGE,
            "ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-apache-httpd:main",
            apache_httpd::DEFAULT_IMAGE,
        ]
    );
    // The user's volume stays first, the agents' follow in language order.
    assert_eq!(
        volume_names(&out.mutated),
        [
            "nginx-conf",
            JAVA_INIT,
            NODE_INIT,
            PY_INIT,
            DOTNET_INIT,
            "otel-apache-conf-dir",
            "otel-apache-agent"
        ]
    );
    let mut pod = out.mutated.clone();
    for c in pod["spec"]["initContainers"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        if c["args"][0] == apache_httpd::ATTACH_SCRIPT {
            c["args"][0] = json!("<apache_httpd.sh>");
        }
    }
    insta::assert_yaml_snapshot!(pod);
}

// === tests/e2e-multi-instrumentation/instrumentation-multi-no-containers ===

const NO_CONTAINERS_INSTRUMENTATION: &str = r##"
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: multi
spec:
  env:
    - name: OTEL_TRACES_SAMPLER
      value: parentbased_traceidratio
    - name: OTEL_TRACES_SAMPLER_ARG
      value: "0.85"
  exporter:
    endpoint: http://deployment-collector:4317
  propagators:
    - jaeger
    - b3
  sampler:
    type: parentbased_traceidratio
    argument: "0.25"
  java:
    env:
      - name: OTEL_SERVICE_NAME
        value: "javaapp"
  python:
    env:
      - name: OTEL_SERVICE_NAME
        value: "pythonapp"
      - name: OTEL_EXPORTER_OTLP_ENDPOINT
        value: http://deployment-collector:4318
  nodejs:
    env:
      - name: OTEL_SERVICE_NAME
        value: "nodejsapp"
  dotnet:
    env:
      - name: OTEL_SERVICE_NAME
        value: "dotnetapp"
  go:
    env:
      - name: OTEL_SERVICE_NAME
        value: "goapp"
"##;

const NO_CONTAINERS_APP: &str = r##"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: dep-multi-instr-no-containers
spec:
  selector:
    matchLabels:
      app: pod-multi-instr-no-containers
  replicas: 1
  template:
    metadata:
      labels:
        app: pod-multi-instr-no-containers
      annotations:
        instrumentation.opentelemetry.io/inject-nodejs: "true"
        instrumentation.opentelemetry.io/inject-python: "true"
        sidecar.opentelemetry.io/inject: "true"
    spec:
      securityContext:
        runAsUser: 1000
        runAsGroup: 3000
        fsGroup: 3000
      containers:
        - name: nodejsapp
          image: ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-nodejs:main
          securityContext:
            allowPrivilegeEscalation: false
            capabilities:
              drop: ["ALL"]
          env:
            - name: TEST
              value: test
            - name: NODE_PATH
              value: /usr/local/lib/node_modules
        - name: pythonapp
          image: ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-python:main
          securityContext:
            allowPrivilegeEscalation: false
            capabilities:
              drop: ["ALL"]
          env:
            - name: TEST
              value: test
"##;

const NO_CONTAINERS_ASSERT: &str = r##"
apiVersion: v1
kind: Pod
metadata:
  annotations:
    instrumentation.opentelemetry.io/inject-nodejs: "true"
    instrumentation.opentelemetry.io/inject-python: "true"
  labels:
    app: pod-multi-instr-no-containers
spec:
  containers:
  - env:
    - name: TEST
      value: test
    - name: NODE_PATH
      value: /usr/local/lib/node_modules
    name: nodejsapp
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
  - env:
    - name: TEST
      value: test
    name: pythonapp
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
"##;

/// Two agent languages (Node.js, Python) and no container list: neither is injected. The
/// operator leaves the pod as it was with a V(1) log line; DIFFERENCE: we leave the spec as it
/// was, and the status annotation and a warning for each language say what to write.
#[test]
fn e2e_instrumentation_multi_no_containers() {
    let (pod, _) = manifest_pod(NO_CONTAINERS_APP, E2E_NS);
    let out = run_manifests(NO_CONTAINERS_APP, &[NO_CONTAINERS_INSTRUMENTATION], E2E_NS);
    assert_contains(&out.mutated, &assert_file_pod(NO_CONTAINERS_ASSERT));
    assert_eq!(out.mutated["spec"], pod["spec"]);
    assert_eq!(out.decision.reason(), "container_conflict");
    assert_eq!(out.decision.languages.len(), 2);
    assert_eq!(
        out.decision.warnings.len(),
        2,
        "{:?}",
        out.decision.warnings
    );
    assert_eq!(
        status(&out.mutated),
        Some("nodejs: not injected: several languages would share the default container; provide container names for each language with <language>-container-names (instrumentation chainsaw-multi/multi); python: not injected: several languages would share the default container; provide container names for each language with <language>-container-names (instrumentation chainsaw-multi/multi)")
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

// === tests/e2e-multi-instrumentation/instrumentation-single-instr-first-container ===

const SINGLE_FIRST_APP: &str = r##"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: dep-single-instr-first-container
spec:
  selector:
    matchLabels:
      app: pod-single-instr-first-container
  replicas: 1
  template:
    metadata:
      labels:
        app: pod-single-instr-first-container
      annotations:
        instrumentation.opentelemetry.io/inject-nodejs: "true"
        sidecar.opentelemetry.io/inject: "true"
    spec:
      securityContext:
        runAsUser: 1000
        runAsGroup: 3000
        fsGroup: 3000
      containers:
        - name: nodejsapp
          image: ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-nodejs:main
          securityContext:
            allowPrivilegeEscalation: false
            capabilities:
              drop: ["ALL"]
          env:
          - name: NODE_PATH
            value: /usr/local/lib/node_modules
        - name: pythonapp
          image: ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-python:main
          securityContext:
            allowPrivilegeEscalation: false
            capabilities:
              drop: ["ALL"]
          env:
            - name: TEST
              value: test
"##;

const SINGLE_FIRST_ASSERT: &str = r##"
apiVersion: v1
kind: Pod
metadata:
  annotations:
    instrumentation.opentelemetry.io/inject-nodejs: "true"
  labels:
    app: pod-single-instr-first-container
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
    - name: OTEL_SERVICE_NAME
      value: nodejsapp
    - name: OTEL_TRACES_SAMPLER
      value: parentbased_traceidratio
    - name: OTEL_TRACES_SAMPLER_ARG
      value: "0.85"
    - name: NODE_OPTIONS
      value: ' --require /otel-auto-instrumentation-nodejs/autoinstrumentation.js'
    - name: OTEL_METRICS_EXPORTER
      value: otlp
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://deployment-collector:4317
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
    name: nodejsapp
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    - mountPath: /otel-auto-instrumentation-nodejs
      name: opentelemetry-auto-instrumentation-nodejs
  - env:
    - name: TEST
      value: test
    name: pythonapp
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
  initContainers:
  - name: opentelemetry-auto-instrumentation-nodejs
"##;

/// One agent language and no list: the first container (the same Instrumentation as
/// `instrumentation-multi-no-containers`).
#[test]
fn e2e_instrumentation_single_instr_first_container() {
    let (pod, _) = manifest_pod(SINGLE_FIRST_APP, E2E_NS);
    let out = run_manifests(SINGLE_FIRST_APP, &[NO_CONTAINERS_INSTRUMENTATION], E2E_NS);
    assert_contains(&out.mutated, &assert_file_pod(SINGLE_FIRST_ASSERT));
    assert_eq!(
        container(&out.mutated, "containers", "pythonapp"),
        container(&pod, "containers", "pythonapp")
    );
    insta::assert_yaml_snapshot!(out.mutated);
}

// === tests/e2e-multi-instrumentation/instrumentation-multi-multicontainer-go ===

const MULTI_GO_INSTRUMENTATION: &str = r##"
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: go
spec:
  env:
    - name: OTEL_TRACES_EXPORTER
      value: otlp
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://deployment-collector:4317
    - name: OTEL_EXPORTER_OTLP_TIMEOUT
      value: "20"
    - name: OTEL_TRACES_SAMPLER
      value: parentbased_traceidratio
    - name: OTEL_TRACES_SAMPLER_ARG
      value: "0.85"
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
      - name: OTEL_SERVICE_NAME
        value: "pythonapp"
      - name: OTEL_EXPORTER_OTLP_ENDPOINT
        value: http://deployment-collector:4318
  go:
    env:
      - name: OTEL_SERVICE_NAME
        value: "goapp"
"##;

const MULTI_GO_APP: &str = r##"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-golang-multiinst
spec:
  selector:
    matchLabels:
      app: my-golang-multiinst
  replicas: 1
  template:
    metadata:
      labels:
        app: my-golang-multiinst
      annotations:
        sidecar.opentelemetry.io/inject: "true"
        instrumentation.opentelemetry.io/inject-go: "true"
        instrumentation.opentelemetry.io/otel-go-auto-target-exe: /usr/src/app/productcatalogservice
        instrumentation.opentelemetry.io/inject-python: "true"
        instrumentation.opentelemetry.io/python-container-names: "pythonapp"
        instrumentation.opentelemetry.io/go-container-names: "goapp"
    spec:
      serviceAccountName: otel-instrumentation-go
      securityContext:
        runAsUser: 0
        runAsGroup: 3000
        fsGroup: 3000
      containers:
      - name: goapp
        image: ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-golang:main
      - name: pythonapp
        image: ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-python:main
        command: ["flask", "run", "-p", "8087"]
        securityContext:
          allowPrivilegeEscalation: false
          capabilities:
            drop: ["ALL"]
          seccompProfile:
            type: RuntimeDefault
"##;

const MULTI_GO_ASSERT: &str = r##"
apiVersion: v1
kind: Pod
metadata:
  annotations:
    instrumentation.opentelemetry.io/go-container-names: goapp
    instrumentation.opentelemetry.io/inject-go: "true"
    instrumentation.opentelemetry.io/inject-python: "true"
    instrumentation.opentelemetry.io/otel-go-auto-target-exe: /usr/src/app/productcatalogservice
    instrumentation.opentelemetry.io/python-container-names: pythonapp
  labels:
    app: my-golang-multiinst
spec:
  containers:
  - name: goapp
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
  - command:
    - flask
    - run
    - -p
    - "8087"
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
    - name: OTEL_SERVICE_NAME
      value: pythonapp
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://deployment-collector:4318
    - name: PYTHONPATH
      value: /otel-auto-instrumentation-python/opentelemetry/instrumentation/auto_instrumentation:/otel-auto-instrumentation-python
    - name: OTEL_TRACES_EXPORTER
      value: otlp
    - name: OTEL_EXPORTER_OTLP_TIMEOUT
      value: "20"
    - name: OTEL_TRACES_SAMPLER
      value: parentbased_traceidratio
    - name: OTEL_TRACES_SAMPLER_ARG
      value: "0.85"
    - name: SPLUNK_TRACE_RESPONSE_HEADER_ENABLED
      value: "true"
    - name: OTEL_EXPORTER_OTLP_PROTOCOL
      value: http/protobuf
    - name: OTEL_METRICS_EXPORTER
      value: otlp
    - name: OTEL_LOGS_EXPORTER
      value: otlp
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
    name: pythonapp
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    - mountPath: /otel-auto-instrumentation-python
      name: opentelemetry-auto-instrumentation-python
  - env:
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
    - name: OTEL_GO_AUTO_TARGET_EXE
      value: /usr/src/app/productcatalogservice
    - name: OTEL_SERVICE_NAME
      value: goapp
    - name: OTEL_TRACES_EXPORTER
      value: otlp
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://deployment-collector:4317
    - name: OTEL_EXPORTER_OTLP_TIMEOUT
      value: "20"
    - name: OTEL_TRACES_SAMPLER
      value: parentbased_traceidratio
    - name: OTEL_TRACES_SAMPLER_ARG
      value: "0.85"
    - name: SPLUNK_TRACE_RESPONSE_HEADER_ENABLED
      value: "true"
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
    name: opentelemetry-auto-instrumentation
    volumeMounts:
    - mountPath: /sys/kernel/debug
      name: kernel-debug
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
  initContainers:
  - command:
    - cp
    - -r
    - /autoinstrumentation/.
    - /otel-auto-instrumentation-python
    name: opentelemetry-auto-instrumentation-python
    volumeMounts:
    - mountPath: /otel-auto-instrumentation-python
      name: opentelemetry-auto-instrumentation-python
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
"##;

/// Go's sidecar beside Python in another container, by their lists, with Go switched on (the
/// operator's e2e run enables it; it is off by default in both).
#[test]
fn e2e_instrumentation_multi_multicontainer_go() {
    let mut opts = InjectOptions::default();
    opts.set_enabled(Language::Go, true);
    let out = run_manifests_with(MULTI_GO_APP, &[MULTI_GO_INSTRUMENTATION], E2E_NS, &opts);
    assert_contains(&out.mutated, &assert_file_pod(MULTI_GO_ASSERT));
    assert!(container(&out.mutated, "containers", "goapp")
        .get("env")
        .is_none());
    assert!(container(&out.mutated, "containers", go::SIDECAR)
        .get("image")
        .is_some());
    assert_eq!(out.mutated["spec"]["shareProcessNamespace"], json!(true));
    insta::assert_yaml_snapshot!(out.mutated);
}

//! The operator's nginx scenarios (0.158.0), reproduced: every case of `nginx_test.go`,
//! `TestInjectNginx` (`sdk_test.go`), the nginx cases of `TestMutatePod`
//! (`podmutator_test.go`), and the e2e suites `instrumentation-nginx`,
//! `instrumentation-nginx-contnr-secctx` and `instrumentation-nginx-multicontainer`, with
//! nginx switched on as the operator's tests have it (`--enable-nginx-instrumentation`, off by
//! default). Each runs `mutate` on the operator's input, applies the patch with json-patch
//! (`common::run_with` also checks that a second pass yields an empty patch), compares with
//! the operator's expected pod and snapshots the mutated pod (the scripts' text redacted: it
//! is ours, and the unit's constants; `webserver_shell.rs` runs it).
//!
//! Where we differ on purpose, the test asserts our behaviour and says so (`DIFFERENCE:`):
//! - the init containers' security context is hardened and the resources get the CR
//!   defaults, as for every agent (README);
//! - the init containers run our shell, not the operator's (same resulting files);
//! - every mount at or under the configuration directory leaves the app;
//! - the clone gets the app's `LD_LIBRARY_PATH` as written (the operator's clone shares the
//!   app's env array and gets the module's path appended too);
//! - pods the operator would make invalid are skipped with a reason: an init container, an
//!   `LD_LIBRARY_PATH` from `valueFrom`, a relative `configFile`, Apache httpd in the same
//!   pod, an `otel-agent-attach-nginx` already there;
//! - the status annotation `otel-inject.dev/status` says what was done.
//!
//! The operator's unit tests call `injectNginxSDK` with a resource map of their own
//! (`k8s.deployment.name: nginx-service-name`, `k8s.namespace.name: req-namespace`); through
//! `mutate` the same map comes from a Deployment owner and the namespace.

mod common;

use common::operator::*;
use common::*;
use otel_inject_lib::lang::nginx::{self, ATTACH_SCRIPT, CLONE_SCRIPT};
use otel_inject_lib::{InjectOptions, Language, NamespaceInfo, Outcome as O};
use serde_json::{json, Value};

const INJECT: &str = "instrumentation.opentelemetry.io/inject-nginx";
const CLONE: &str = "otel-agent-source-container-clone";
const ATTACH: &str = "otel-agent-attach-nginx";
const LIB: &str = "/opt/opentelemetry-webserver/agent/sdk_lib/lib";

fn nginx_on() -> InjectOptions {
    let mut o = InjectOptions::default();
    o.set_enabled(Language::Nginx, true);
    o
}

fn run_on(pod: &Value, ns: &str, spec: Value) -> Outcome {
    run_with(
        pod,
        &NamespaceInfo::named(ns),
        &[instrumentation(ns, "nginx", spec)],
        &[],
        &nginx_on(),
    )
}

/// The operator's module configuration (`getNginxOtelConfig`).
fn operator_conf(endpoint: &str, service: &str, namespace: &str, extra: &[(&str, &str)]) -> String {
    let mut attrs: Vec<(String, String)> = vec![
        ("NginxModuleEnabled".into(), "ON".into()),
        ("NginxModuleOtelExporterEndpoint".into(), endpoint.into()),
        ("NginxModuleOtelSpanExporter".into(), "otlp".into()),
        ("NginxModuleResolveBackends".into(), "ON".into()),
        (
            "NginxModuleServiceInstanceId".into(),
            "<<SID-PLACEHOLDER>>".into(),
        ),
        ("NginxModuleServiceName".into(), service.into()),
        ("NginxModuleServiceNamespace".into(), namespace.into()),
        ("NginxModuleTraceAsError".into(), "ON".into()),
    ];
    attrs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    attrs.sort();
    attrs
        .into_iter()
        .map(|(k, v)| format!("{k} {v};\n"))
        .collect()
}

const QUEUE: (&str, &str) = ("NginxModuleOtelMaxQueueSize", "4096");

fn volumes() -> Value {
    json!([{"name": "otel-nginx-conf-dir", "emptyDir": {}},
           {"name": "otel-nginx-agent", "emptyDir": {}}])
}

/// The clone as the operator's unit tests expect it (no image: their container has none).
fn clone(dir: &str, app_mounts: Value) -> Value {
    let mut mounts = app_mounts.as_array().cloned().unwrap_or_default();
    mounts.push(json!({"name": "otel-nginx-conf-dir", "mountPath": "/opt/opentelemetry-webserver/source-conf"}));
    json!({"name": CLONE, "command": ["/bin/sh", "-c"], "args": [CLONE_SCRIPT, "--", dir],
           "volumeMounts": mounts})
}

fn attach(image: &str, file: &str, mut env: Vec<Value>, conf: &str) -> Value {
    if env.is_empty() {
        env = vec![
            field_ref("OTEL_POD_IP", "status.podIP"),
            field_ref("OTEL_NODE_IP", "status.hostIP"),
        ];
    }
    env.push(lit("OTEL_NGINX_AGENT_CONF", conf));
    env.push(field_ref("OTEL_NGINX_SERVICE_INSTANCE_ID", "metadata.name"));
    json!({"name": ATTACH, "image": image, "command": ["/bin/sh", "-c"],
           "args": [ATTACH_SCRIPT, "--", file], "env": env,
           "volumeMounts": [
               {"name": "otel-nginx-agent", "mountPath": "/opt/opentelemetry-webserver/agent"},
               {"name": "otel-nginx-conf-dir", "mountPath": "/opt/opentelemetry-webserver/source-conf"}]})
}

fn app_mounts(dir: &str) -> Value {
    json!([
        {"name": "otel-nginx-agent", "mountPath": "/opt/opentelemetry-webserver/agent"},
        {"name": "otel-nginx-conf-dir", "mountPath": dir},
    ])
}

fn hardened() -> Value {
    json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
           "seccompProfile": {"type": "RuntimeDefault"}})
}

/// DIFFERENCE: what we add to both init containers beyond the operator's unit-level pod.
fn assert_our_additions(pod: &Value, sc: &Value) {
    for name in [CLONE, ATTACH] {
        let c = container(pod, "initContainers", name);
        assert_eq!(c["resources"], nginx::default_resources(), "{name}");
        assert_eq!(&c["securityContext"], sc, "{name}");
    }
}

fn snapshot(name: &str, pod: &Value) {
    let mut pod = pod.clone();
    for c in pod["spec"]["initContainers"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        if c["args"][0] == ATTACH_SCRIPT {
            c["args"][0] = json!("<nginx.sh>");
        } else if c["args"][0] == CLONE_SCRIPT {
            c["args"][0] = json!("<nginx_clone.sh>");
        }
    }
    insta::assert_yaml_snapshot!(name, pod);
}

const UNIT_NS: &str = "req-namespace";

/// The unit tests' pod (`my-nginx-6c44bcbdd`), with the annotation and a Deployment owner
/// that gives the operator's `k8s.deployment.name: nginx-service-name`.
fn unit_pod(mut pod: Value) -> Value {
    if pod["metadata"]["name"].is_null() {
        pod["metadata"]["name"] = json!("my-nginx-6c44bcbdd");
    }
    pod["metadata"]["annotations"] = json!({INJECT: "true"});
    pod["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "Deployment",
        "name": "nginx-service-name", "uid": "uid-1", "controller": true}]);
    pod
}

fn run_unit(pod: &Value, ns: &str, nginx_block: Value) -> Outcome {
    let mut spec = json!({"exporter": {"endpoint": "http://otlp-endpoint:4317"}});
    spec["nginx"] = nginx_block;
    run_on(pod, ns, spec)
}

fn ld_only(c: &Value) -> Value {
    json!(c["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["name"] == "LD_LIBRARY_PATH")
        .collect::<Vec<_>>())
}

/// `nginx_test.go` "Clone Container not present".
#[test]
fn unit_clone_container_not_present() {
    let pod = unit_pod(json!({"spec": {"containers": [{}]}}));
    let out = run_unit(
        &pod,
        UNIT_NS,
        json!({"image": "foo/bar:1", "attrs": [{"name": QUEUE.0, "value": QUEUE.1}]}),
    );
    let conf = operator_conf(
        "http://otlp-endpoint:4317",
        "nginx-service-name",
        "req-namespace",
        &[QUEUE],
    );
    assert_contains(
        &out.mutated["spec"],
        &json!({
            "volumes": volumes(),
            "initContainers": [clone("/etc/nginx", json!([])),
                               attach("foo/bar:1", "nginx.conf", vec![], &conf)],
            "containers": [{"volumeMounts": app_mounts("/etc/nginx")}],
        }),
    );
    assert_eq!(
        ld_only(&out.mutated["spec"]["containers"][0]),
        json!([lit("LD_LIBRARY_PATH", LIB)])
    );
    assert_our_additions(&out.mutated, &hardened());
    snapshot("unit_clone_container_not_present", &out.mutated);
}

/// `nginx_test.go` "ConfigFile honored": the clone copies the file's directory, the agent
/// init container edits the file by its name.
#[test]
fn unit_config_file_honored() {
    let pod = unit_pod(json!({"spec": {"containers": [{}]}}));
    let out = run_unit(
        &pod,
        UNIT_NS,
        json!({"image": "foo/bar:1", "configFile": "/opt/nginx/custom-nginx.conf"}),
    );
    let conf = operator_conf(
        "http://otlp-endpoint:4317",
        "nginx-service-name",
        "req-namespace",
        &[],
    );
    assert_contains(
        &out.mutated["spec"],
        &json!({
            "volumes": volumes(),
            "initContainers": [clone("/opt/nginx", json!([])),
                               attach("foo/bar:1", "custom-nginx.conf", vec![], &conf)],
            "containers": [{"volumeMounts": app_mounts("/opt/nginx")}],
        }),
    );
    snapshot("unit_config_file_honored", &out.mutated);
}

/// `nginx_test.go` "Init-container-incompatible fields not copied".
#[test]
fn unit_init_container_incompatible_fields_not_copied() {
    let app = json!({"readinessProbe": {}, "startupProbe": {}, "livenessProbe": {}, "lifecycle": {},
        "resizePolicy": [{"resourceName": "cpu", "restartPolicy": "NotRequired"},
                         {"resourceName": "memory", "restartPolicy": "NotRequired"}]});
    let pod = unit_pod(json!({"spec": {"containers": [app.clone()]}}));
    let out = run_unit(&pod, UNIT_NS, json!({"image": "foo/bar:1"}));
    let conf = operator_conf(
        "http://otlp-endpoint:4317",
        "nginx-service-name",
        "req-namespace",
        &[],
    );
    let mut expected_app = app.clone();
    expected_app["volumeMounts"] = app_mounts("/etc/nginx");
    assert_contains(
        &out.mutated["spec"],
        &json!({
            "volumes": volumes(),
            "initContainers": [clone("/etc/nginx", json!([])),
                               attach("foo/bar:1", "nginx.conf", vec![], &conf)],
            "containers": [expected_app],
        }),
    );
    let c = container(&out.mutated, "initContainers", CLONE);
    for field in [
        "readinessProbe",
        "startupProbe",
        "livenessProbe",
        "lifecycle",
        "resizePolicy",
    ] {
        assert!(c.get(field).is_none(), "{field} copied to the clone");
    }
    snapshot(
        "unit_init_container_incompatible_fields_not_copied",
        &out.mutated,
    );
}

/// `nginx_test.go` "Pod Namespace specified".
#[test]
fn unit_pod_namespace_specified() {
    let pod =
        unit_pod(json!({"metadata": {"namespace": "my-namespace"}, "spec": {"containers": [{}]}}));
    let out = run_unit(&pod, UNIT_NS, json!({"image": "foo/bar:1"}));
    let conf = operator_conf(
        "http://otlp-endpoint:4317",
        "nginx-service-name",
        "my-namespace",
        &[],
    );
    assert_contains(
        &out.mutated["spec"],
        &json!({"initContainers": [clone("/etc/nginx", json!([])),
                                   attach("foo/bar:1", "nginx.conf", vec![], &conf)]}),
    );
    snapshot("unit_pod_namespace_specified", &out.mutated);
}

/// `TestInjectNginxUnknownNamespace`: no namespace anywhere, so `nginx`.
#[test]
fn unit_unknown_namespace() {
    let pod = unit_pod(json!({"spec": {"containers": [{}]}}));
    let out = run_unit(&pod, "", json!({"image": "foo/bar:1"}));
    let conf = operator_conf(
        "http://otlp-endpoint:4317",
        "nginx-service-name",
        "nginx",
        &[],
    );
    assert_contains(
        &out.mutated["spec"],
        &json!({"initContainers": [clone("/etc/nginx", json!([])),
                                   attach("foo/bar:1", "nginx.conf", vec![], &conf)]}),
    );
    snapshot("unit_unknown_namespace", &out.mutated);
}

/// `TestInjectNginxSDKVolumemountAliasing`.
#[test]
fn unit_volume_mounts_are_not_aliased() {
    let mounts = json!([{"name": "a", "mountPath": "/a"}, {"name": "b", "mountPath": "/b"}]);
    let pod = unit_pod(json!({"spec": {"containers": [{"volumeMounts": mounts.clone()}]}}));
    let out = run_unit(&pod, UNIT_NS, json!({"image": "foo/bar:1"}));
    assert_eq!(
        container(&out.mutated, "initContainers", CLONE)["volumeMounts"],
        clone("/etc/nginx", mounts.clone())["volumeMounts"]
    );
    let mut app = mounts.as_array().cloned().unwrap_or_default();
    app.extend(
        app_mounts("/etc/nginx")
            .as_array()
            .cloned()
            .unwrap_or_default(),
    );
    assert_eq!(
        out.mutated["spec"]["containers"][0]["volumeMounts"],
        Value::Array(app)
    );
}

/// `TestNginxInitContainerMissing`. DIFFERENCE: with `otel-agent-attach-nginx` already there,
/// the operator (whose "already instrumented" list lacks it) adds the clone and mounts a
/// module volume it never adds; we count the container as instrumented and change nothing.
#[test]
fn unit_init_container_missing() {
    let base = |inits: Value| {
        let mut p = unit_pod(json!({"spec": {"containers": [{"name": "app"}]}}));
        if !inits.is_null() {
            p["spec"]["initContainers"] = inits;
        }
        p
    };
    let already = base(json!([{"name": "istio-init"}, {"name": ATTACH}]));
    let out = run_unit(&already, UNIT_NS, json!({}));
    assert_eq!(out.decision.reason(), "container_already_injected");
    assert_eq!(out.mutated["spec"], already["spec"]);

    let istio = base(json!([{"name": "istio-init"}]));
    let out = run_unit(&istio, UNIT_NS, json!({}));
    assert_eq!(init_names(&out.mutated), ["istio-init", CLONE, ATTACH]);

    let none = base(Value::Null);
    let out = run_unit(&none, UNIT_NS, json!({}));
    assert_eq!(init_names(&out.mutated), [CLONE, ATTACH]);
}

/// `sdk_test.go` `TestInjectNginx` "injection enabled, exporter set": the whole pod.
#[test]
fn sdk_inject_nginx() {
    let pod = json!({"metadata": {"name": "my-nginx-6c44bcbdd", "annotations": {INJECT: "true"}},
                     "spec": {"containers": [{"name": "app"}]}});
    let spec = json!({"nginx": {"image": "img:1", "attrs": [{"name": QUEUE.0, "value": QUEUE.1}]},
                      "exporter": {"endpoint": "http://otlp-endpoint:4317"}});
    let out = run_on(&pod, "ns", spec);
    let conf = operator_conf(
        "http://otlp-endpoint:4317",
        "my-nginx-6c44bcbdd",
        "ns",
        &[QUEUE],
    );
    let mut env = ip_env();
    env.push(lit("LD_LIBRARY_PATH", LIB));
    env.push(lit("OTEL_SERVICE_NAME", "my-nginx-6c44bcbdd"));
    env.push(lit(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "http://otlp-endpoint:4317",
    ));
    env.extend(downward_env());
    env.push(lit(
        "OTEL_RESOURCE_ATTRIBUTES",
        &bare_pod_attributes("ns", "app", &[]),
    ));
    assert_contains(
        &out.mutated["spec"],
        &json!({
            "volumes": volumes(),
            "initContainers": [clone("/etc/nginx", json!([])),
                               attach("img:1", "nginx.conf", vec![], &conf)],
            "containers": [{"name": "app", "volumeMounts": app_mounts("/etc/nginx"), "env": env}],
        }),
    );
    assert_our_additions(&out.mutated, &hardened());
    snapshot("sdk_inject_nginx", &out.mutated);
}

/// `podmutator_test.go` "nginx injection, true".
#[test]
fn mutate_pod_nginx_injection_true() {
    let ns = "req-namespace";
    let pod = json!({"metadata": {"name": "my-nginx-6c44bcbdd", "annotations": {INJECT: "true"}},
                     "spec": {"containers": [{"name": "nginx"}]}});
    let spec = json!({"nginx": {"image": "otel/nginx-inj:1", "attrs": [{"name": QUEUE.0, "value": QUEUE.1}]},
                      "exporter": {"endpoint": "http://otlp-endpoint:4317"}, "env": []});
    let out = run_with(
        &pod,
        &NamespaceInfo::named(ns),
        &[instrumentation(ns, "my-nginx-6c44bcbdd", spec)],
        &[],
        &nginx_on(),
    );
    let conf = operator_conf(
        "http://otlp-endpoint:4317",
        "my-nginx-6c44bcbdd",
        ns,
        &[QUEUE],
    );
    let mut env = ip_env();
    env.push(lit("LD_LIBRARY_PATH", LIB));
    env.push(lit("OTEL_SERVICE_NAME", "my-nginx-6c44bcbdd"));
    env.push(lit(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "http://otlp-endpoint:4317",
    ));
    env.extend(downward_env());
    env.push(lit(
        "OTEL_RESOURCE_ATTRIBUTES",
        &bare_pod_attributes(ns, "nginx", &[]),
    ));
    assert_contains(
        &out.mutated,
        &json!({"metadata": {"name": "my-nginx-6c44bcbdd", "annotations": {INJECT: "true"}}, "spec": {
            "volumes": volumes(),
            "initContainers": [clone("/etc/nginx", json!([])),
                               attach("otel/nginx-inj:1", "nginx.conf", vec![], &conf)],
            "containers": [{"name": "nginx", "volumeMounts": app_mounts("/etc/nginx"), "env": env}]}}),
    );
    snapshot("mutate_pod_nginx_injection_true", &out.mutated);
}

/// `podmutator_test.go` "nginx injection feature gate disabled" (the default): the spec is
/// unchanged.
#[test]
fn mutate_pod_nginx_injection_feature_gate_disabled() {
    let ns = "nginx-disabled";
    let pod = json!({"metadata": {"name": "my-nginx-6c44bcbdd", "annotations": {INJECT: "true"}},
                     "spec": {"containers": [{"name": "nginx"}]}});
    let spec = json!({"nginx": {"image": "otel/nginx-inj:1",
                          "env": [{"name": "OTEL_LOG_LEVEL", "value": "debug"},
                                  {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://localhost:4317"}],
                          "attrs": [{"name": QUEUE.0, "value": QUEUE.1}]},
                      "exporter": {"endpoint": "http://otlp-endpoint:4317"},
                      "env": [{"name": "OTEL_EXPORTER_OTLP_TIMEOUT", "value": "20"},
                              {"name": "OTEL_TRACES_SAMPLER", "value": "parentbased_traceidratio"},
                              {"name": "OTEL_TRACES_SAMPLER_ARG", "value": "0.85"}]});
    let out = run(
        &pod,
        ns,
        &[instrumentation(ns, "my-nginx-6c44bcbdd", spec)],
        &[],
    );
    assert_eq!(out.mutated["spec"], pod["spec"]);
    assert_eq!(out.decision.reason(), "language_disabled");
    assert_eq!(
        status(&out.mutated),
        Some("nginx: not injected: nginx injection is switched off in otel-inject (--enable-nginx-instrumentation=false)")
    );
}

/// What the operator would turn into a pod the API server or the kubelet refuses: skipped,
/// with the reason in the status and a warning, and nothing else written.
#[test]
fn pods_the_operator_makes_invalid_are_skipped_with_the_reason() {
    let app = |env: Value| json!({"name": "web", "image": "nginx:1.25", "env": env});
    let cases: Vec<(&str, Value, Value, Value, &str)> = vec![
        (
            "init container target",
            json!({"instrumentation.opentelemetry.io/container-names": "setup"}),
            json!({"initContainers": [{"name": "setup", "image": "busybox"}], "containers": [app(json!([]))]}),
            json!({}),
            "init_container_unsupported",
        ),
        (
            // DIFFERENCE: the operator writes a `value` beside the `valueFrom`.
            "LD_LIBRARY_PATH from valueFrom",
            json!({}),
            json!({"containers": [app(json!([{"name": "LD_LIBRARY_PATH", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}]))]}),
            json!({}),
            "env_value_from",
        ),
        (
            // DIFFERENCE: the operator mounts the copy at ".".
            "a configFile without a directory",
            json!({}),
            json!({"containers": [app(json!([]))]}),
            json!({"nginx": {"configFile": "nginx.conf"}}),
            "config_location_unusable",
        ),
    ];
    for (name, ann, spec, inst_spec, label) in cases {
        let mut a = json!({INJECT: "true"});
        a.as_object_mut()
            .unwrap()
            .extend(ann.as_object().unwrap().clone());
        let pod = json!({"metadata": {"annotations": a}, "spec": spec});
        let out = run_on(&pod, "ns", inst_spec);
        assert_eq!(out.decision.reason(), label, "{name}");
        assert_eq!(out.mutated["spec"], pod["spec"], "{name}");
        assert!(
            !out.decision.warnings.is_empty(),
            "{name}: a warning says why"
        );
    }
}

/// DIFFERENCE: Apache httpd and nginx in one pod (multi-instrumentation, one container
/// each): both need `otel-agent-source-container-clone`, so the operator gives nginx no clone
/// and no configuration volume but an agent init container mounting it (an invalid pod).
/// Apache httpd comes first, as in the operator; nginx is skipped with the reason.
#[test]
fn apache_httpd_and_nginx_in_one_pod_inject_apache_only() {
    let pod = json!({"metadata": {"annotations": {INJECT: "true",
            "instrumentation.opentelemetry.io/inject-apache-httpd": "true",
            "instrumentation.opentelemetry.io/apache-httpd-container-names": "httpd",
            "instrumentation.opentelemetry.io/inject-nginx-container-names": "web"}},
        "spec": {"containers": [{"name": "httpd", "image": "httpd:2.4"}, {"name": "web", "image": "nginx:1.25"}]}});
    let mut options = nginx_on();
    options.multi_instrumentation = true;
    let out = run_with(
        &pod,
        &NamespaceInfo::named("ns"),
        &[instrumentation("ns", "both", json!({}))],
        &[],
        &options,
    );
    let reasons: Vec<(Language, &str)> = out
        .decision
        .languages
        .iter()
        .map(|l| (l.language, l.reason.label()))
        .collect();
    assert_eq!(
        reasons,
        [
            (Language::ApacheHttpd, "injected"),
            (Language::Nginx, "shared_init_container")
        ]
    );
    assert_eq!(
        init_names(&out.mutated),
        [CLONE, "otel-agent-attach-apache"]
    );
    assert_eq!(
        container(&out.mutated, "containers", "web"),
        container(&pod, "containers", "web")
    );
}

/// The mount of `nginx.conf` by subPath (the e2e apps' way) leaves the app and stays on the
/// clone; so do the other mounts under `/etc/nginx`. DIFFERENCE: the operator drops only the
/// first, and `conf.d` from a ConfigMap would then hide the module's configuration.
#[test]
fn mounts_over_the_config_dir_leave_the_app_and_stay_on_the_clone() {
    let mounts = json!([
        {"name": "main", "mountPath": "/etc/nginx/nginx.conf", "subPath": "nginx.conf", "readOnly": true},
        {"name": "sites", "mountPath": "/etc/nginx/conf.d"},
        {"name": "cache", "mountPath": "/etc/nginx-cache"}]);
    let pod = json!({"metadata": {"annotations": {INJECT: "true"}},
                     "spec": {"containers": [{"name": "web", "image": "nginx:1.25", "volumeMounts": mounts}]}});
    let out = run_on(&pod, "ns", json!({}));
    assert_eq!(
        names(&out.mutated["spec"]["containers"][0]["volumeMounts"]),
        ["cache", "otel-nginx-agent", "otel-nginx-conf-dir"]
    );
    assert_eq!(
        names(&container(&out.mutated, "initContainers", CLONE)["volumeMounts"]),
        ["main", "sites", "cache", "otel-nginx-conf-dir"]
    );
}

/// The CR's fields: `configFile` picks the directory and the file, `attrs` add and override
/// lines, `resourceRequirements` reach both init containers, the block's env comes first in
/// the app and the agent init container, and the volumes are plain emptyDirs whatever
/// `volumeLimitSize` says (the operator's nginx has no sizes).
#[test]
fn cr_fields_reach_the_pod() {
    let pod = json!({"metadata": {"name": "web-0", "annotations": {INJECT: "true"}},
                     "spec": {"containers": [{"name": "web", "image": "nginx:1.25.3", "imagePullPolicy": "Always",
                                              "env": [{"name": "LD_LIBRARY_PATH", "value": "/opt"}]}]}});
    let resources = json!({"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "100m", "memory": "64Mi"}});
    let spec = json!({"imagePullPolicy": "IfNotPresent", "nginx": {
        "configFile": "/etc/nginx/conf.d/default.conf", "volumeLimitSize": "50Mi",
        "resourceRequirements": resources,
        "env": [{"name": "OTEL_SERVICE_NAME", "value": "from-block"}],
        "attrs": [{"name": QUEUE.0, "value": QUEUE.1}, {"name": "NginxModuleTraceAsError", "value": "OFF"}]}});
    let out = run_on(&pod, "ns", spec);
    let clone_c = container(&out.mutated, "initContainers", CLONE);
    let attach_c = container(&out.mutated, "initContainers", ATTACH);
    assert_eq!(clone_c["args"][2], "/etc/nginx/conf.d");
    assert_eq!(attach_c["args"][2], "default.conf");
    assert_eq!(clone_c["resources"], resources);
    assert_eq!(attach_c["resources"], resources);
    assert_eq!(clone_c["imagePullPolicy"], "Always");
    assert_eq!(attach_c["imagePullPolicy"], "IfNotPresent");
    assert_eq!(out.mutated["spec"]["volumes"], volumes());
    // DIFFERENCE: the clone's LD_LIBRARY_PATH is the app's as written (the operator's gets the
    // module's path too, through the env array the two share).
    assert_eq!(
        clone_c["env"],
        json!([{"name": "LD_LIBRARY_PATH", "value": "/opt"}, {"name": "OTEL_SERVICE_NAME", "value": "from-block"}])
    );
    let app = container(&out.mutated, "containers", "web");
    assert_eq!(
        env_value(app, "LD_LIBRARY_PATH"),
        Some(format!("/opt:{LIB}").as_str())
    );
    assert_eq!(env_value(app, "OTEL_SERVICE_NAME"), Some("from-block"));
    assert_eq!(
        names(&app["volumeMounts"]),
        ["otel-nginx-agent", "otel-nginx-conf-dir"]
    );
    assert_eq!(app["volumeMounts"][1]["mountPath"], "/etc/nginx/conf.d");
    let conf = env_value(attach_c, "OTEL_NGINX_AGENT_CONF").unwrap_or_default();
    assert!(
        conf.contains("NginxModuleOtelMaxQueueSize 4096;\n"),
        "{conf}"
    );
    assert!(conf.contains("NginxModuleTraceAsError OFF;\n"), "{conf}");
    assert!(conf.contains("NginxModuleServiceName web-0;\n"), "{conf}");
}

// === tests/e2e-instrumentation/instrumentation-nginx ===

const E2E_NS: &str = "chainsaw-nginx";

const NGINX_INSTRUMENTATION: &str = r##"
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: nginx
spec:
  env:
    - name: OTEL_TRACES_EXPORTER
      value: otlp
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://deployment-collector:4317
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
  nginx:
    attrs:
    - name: NginxModuleOtelMaxQueueSize
      value: "4096"
"##;

/// `01-install-app.yaml`, the Deployment (its ConfigMap only feeds the mount).
const NGINX_APP: &str = r##"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-nginx
spec:
  selector:
    matchLabels:
      app: my-nginx
  replicas: 1
  template:
    metadata:
      labels:
        app: my-nginx
      annotations:
        instrumentation.opentelemetry.io/inject-nginx: "true"
    spec:
      securityContext:
        runAsUser: 1000
        runAsGroup: 3000
        fsGroup: 3000
      containers:
      - name: myapp
        image: mirror.gcr.io/nginxinc/nginx-unprivileged:1.25.3
        imagePullPolicy: Always
        securityContext:
          allowPrivilegeEscalation: false
          capabilities:
            drop: ["ALL"]
        # following to test lifecycle removal in cloned init container
        lifecycle:
          postStart:
            exec:
              command: ["/bin/sh", "-c", "echo Hello from the postStart handler"]
        ports:
        - containerPort: 8765
        readinessProbe:
          httpGet:
            path: /
            port: 8765
            scheme: HTTP
          initialDelaySeconds: 5
          periodSeconds: 15
          timeoutSeconds: 2
          failureThreshold: 3
        env:
        - name: LD_LIBRARY_PATH
          value: /opt
        volumeMounts:
          - name: nginx-conf
            mountPath: /etc/nginx/nginx.conf
            subPath: nginx.conf
            readOnly: true
        resources:
          limits:
            cpu: "1"
            memory: 500Mi
          requests:
            cpu: 250m
            memory: 100Mi
      volumes:
      - name: nginx-conf
        configMap:
          name: nginx-conf
          items:
            - key: nginx.conf
              path: nginx.conf
"##;

/// `01-assert.yaml`'s Pod, verbatim.
const NGINX_ASSERT: &str = r##"
apiVersion: v1
kind: Pod
metadata:
  annotations:
    instrumentation.opentelemetry.io/inject-nginx: "true"
  labels:
    app: my-nginx
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
    - name: LD_LIBRARY_PATH
      value: /opt:/opt/opentelemetry-webserver/agent/sdk_lib/lib
    - name: OTEL_TRACES_EXPORTER
      value: otlp
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://deployment-collector:4317
    - name: OTEL_EXPORTER_OTLP_TIMEOUT
      value: "20000"
    - name: OTEL_TRACES_SAMPLER
      value: always_on
    - name: SPLUNK_TRACE_RESPONSE_HEADER_ENABLED
      value: "true"
    - name: OTEL_SERVICE_NAME
      value: my-nginx
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
    lifecycle:
      postStart:
        exec:
          command:
          - /bin/sh
          - -c
          - echo Hello from the postStart handler
    name: myapp
    ports:
    - containerPort: 8765
      protocol: TCP
    readinessProbe:
      failureThreshold: 3
      httpGet:
        path: /
        port: 8765
        scheme: HTTP
      initialDelaySeconds: 5
      periodSeconds: 15
      successThreshold: 1
      timeoutSeconds: 2
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    - mountPath: /opt/opentelemetry-webserver/agent
      name: otel-nginx-agent
    - mountPath: /etc/nginx
      name: otel-nginx-conf-dir
  initContainers:
  - name: otel-agent-source-container-clone
  - name: otel-agent-attach-nginx
status:
  containerStatuses:
  - name: myapp
    ready: true
    started: true
  initContainerStatuses:
  - name: otel-agent-source-container-clone
    ready: true
  - name: otel-agent-attach-nginx
    ready: true
  phase: Running
"##;

/// An assert file's Pod without the probe default the API server adds.
fn expected_pod(yaml: &str) -> Value {
    let mut pod = assert_file_pod(yaml);
    for c in pod["spec"]["containers"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        if let Some(p) = c.get_mut("readinessProbe").and_then(Value::as_object_mut) {
            p.remove("successThreshold");
        }
    }
    pod
}

fn run_e2e(app: &str, inst: &str) -> Outcome {
    run_manifests_with(app, &[inst], E2E_NS, &nginx_on())
}

fn e2e_attach_env(node_ip_from_spec: bool) -> Vec<Value> {
    let mut env = Vec::new();
    if node_ip_from_spec {
        env.push(field_ref("OTEL_NODE_IP", "status.hostIP"));
    }
    env.push(lit("OTEL_TRACES_EXPORTER", "otlp"));
    env.push(lit(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        if node_ip_from_spec {
            "http://$(OTEL_NODE_IP):4317"
        } else {
            "http://deployment-collector:4317"
        },
    ));
    env.push(lit("OTEL_EXPORTER_OTLP_TIMEOUT", "20000"));
    env.push(lit("OTEL_TRACES_SAMPLER", "always_on"));
    env.push(lit("SPLUNK_TRACE_RESPONSE_HEADER_ENABLED", "true"));
    env.push(field_ref("OTEL_POD_IP", "status.podIP"));
    if !node_ip_from_spec {
        env.push(field_ref("OTEL_NODE_IP", "status.hostIP"));
    }
    env
}

const E2E_IMAGE: &str = "mirror.gcr.io/nginxinc/nginx-unprivileged:1.25.3";

#[test]
fn e2e_instrumentation_nginx() {
    let out = run_e2e(NGINX_APP, NGINX_INSTRUMENTATION);
    assert_contains(&out.mutated, &expected_pod(NGINX_ASSERT));
    let conf = operator_conf(
        "http://deployment-collector:4317",
        "my-nginx",
        E2E_NS,
        &[QUEUE],
    );
    let ctx = json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
                     "seccompProfile": {"type": "RuntimeDefault"}});
    let mut want = attach(
        nginx::DEFAULT_IMAGE,
        "nginx.conf",
        e2e_attach_env(false),
        &conf,
    );
    want["resources"] = nginx::default_resources();
    want["securityContext"] = ctx.clone();
    assert_eq!(container(&out.mutated, "initContainers", ATTACH), &want);
    // The clone: the app's image, pull policy, env (as written) and mounts, the subPath mount
    // of nginx.conf included, so the copy has the ConfigMap's file.
    assert_eq!(
        container(&out.mutated, "initContainers", CLONE),
        &json!({"name": CLONE, "image": E2E_IMAGE,
                "command": ["/bin/sh", "-c"], "args": [CLONE_SCRIPT, "--", "/etc/nginx"],
                "env": [{"name": "LD_LIBRARY_PATH", "value": "/opt"}],
                "resources": nginx::default_resources(),
                "volumeMounts": [
                    {"name": "nginx-conf", "mountPath": "/etc/nginx/nginx.conf", "subPath": "nginx.conf", "readOnly": true},
                    {"name": "otel-nginx-conf-dir", "mountPath": "/opt/opentelemetry-webserver/source-conf"}],
                "imagePullPolicy": "Always",
                "securityContext": ctx})
    );
    // The ConfigMap volume stays, the two emptyDirs follow.
    assert_eq!(
        volume_names(&out.mutated),
        ["nginx-conf", "otel-nginx-conf-dir", "otel-nginx-agent"]
    );
    assert_eq!(
        status(&out.mutated),
        Some("nginx: injected into myapp (instrumentation chainsaw-nginx/nginx)")
    );
    snapshot("e2e_instrumentation_nginx", &out.mutated);
}

/// The e2e's second step: `OTEL_NODE_IP` from the spec env before `OTEL_NGINX_AGENT_CONF`.
#[test]
fn e2e_instrumentation_nginx_node_ip_endpoint() {
    let inst = r##"
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: nginx
spec:
  env:
    - name: OTEL_NODE_IP
      valueFrom:
        fieldRef:
          fieldPath: status.hostIP
    - name: OTEL_TRACES_EXPORTER
      value: otlp
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://$(OTEL_NODE_IP):4317
    - name: OTEL_EXPORTER_OTLP_TIMEOUT
      value: "20000"
    - name: OTEL_TRACES_SAMPLER
      value: always_on
    - name: SPLUNK_TRACE_RESPONSE_HEADER_ENABLED
      value: "true"
  exporter:
    endpoint: http://$(OTEL_NODE_IP):4317
  propagators:
    - jaeger
    - b3
  nginx:
    attrs:
    - name: NginxModuleOtelMaxQueueSize
      value: "4096"
"##;
    let out = run_e2e(NGINX_APP, inst);
    let a = container(&out.mutated, "initContainers", ATTACH);
    let mut want_env = e2e_attach_env(true);
    want_env.push(lit(
        "OTEL_NGINX_AGENT_CONF",
        &operator_conf("http://$(OTEL_NODE_IP):4317", "my-nginx", E2E_NS, &[QUEUE]),
    ));
    want_env.push(field_ref("OTEL_NGINX_SERVICE_INSTANCE_ID", "metadata.name"));
    assert_eq!(a["env"], Value::Array(want_env));
}

// === tests/e2e-instrumentation/instrumentation-nginx-contnr-secctx ===

const SECCTX_APP: &str = r##"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-nginx-contnr-secctx
spec:
  selector:
    matchLabels:
      app: my-nginx-contnr-secctx
  replicas: 1
  template:
    metadata:
      labels:
        app: my-nginx-contnr-secctx
      annotations:
        instrumentation.opentelemetry.io/inject-nginx: "true"
    spec:
      containers:
      - name: myapp
        image: mirror.gcr.io/nginxinc/nginx-unprivileged:1.25.3
        imagePullPolicy: Always
        securityContext:
          runAsUser: 1000
          runAsGroup: 3000
        ports:
        - containerPort: 8765
        readinessProbe:
          httpGet:
            path: /
            port: 8765
            scheme: HTTP
          initialDelaySeconds: 5
          periodSeconds: 15
          timeoutSeconds: 2
          failureThreshold: 3
        env:
        - name: LD_LIBRARY_PATH
          value: /opt
        volumeMounts:
          - name: nginx-conf
            mountPath: /etc/nginx/nginx.conf
            subPath: nginx.conf
            readOnly: true
        resources:
          limits:
            cpu: "1"
            memory: 500Mi
          requests:
            cpu: 250m
            memory: 100Mi
      volumes:
      - name: nginx-conf
        configMap:
          name: nginx-conf
          items:
            - key: nginx.conf
              path: nginx.conf
"##;

/// `01-assert.yaml`'s Pod, verbatim.
const SECCTX_ASSERT: &str = r##"
apiVersion: v1
kind: Pod
metadata:
  annotations:
    instrumentation.opentelemetry.io/inject-nginx: "true"
  labels:
    app: my-nginx-contnr-secctx
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
    - name: LD_LIBRARY_PATH
      value: /opt:/opt/opentelemetry-webserver/agent/sdk_lib/lib
    - name: OTEL_TRACES_EXPORTER
      value: otlp
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://deployment-collector:4317
    - name: OTEL_EXPORTER_OTLP_TIMEOUT
      value: "20000"
    - name: OTEL_TRACES_SAMPLER
      value: always_on
    - name: SPLUNK_TRACE_RESPONSE_HEADER_ENABLED
      value: "true"
    - name: OTEL_SERVICE_NAME
      value: my-nginx-contnr-secctx
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
    - containerPort: 8765
      protocol: TCP
    readinessProbe:
      failureThreshold: 3
      httpGet:
        path: /
        port: 8765
        scheme: HTTP
      initialDelaySeconds: 5
      periodSeconds: 15
      successThreshold: 1
      timeoutSeconds: 2
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    - mountPath: /opt/opentelemetry-webserver/agent
      name: otel-nginx-agent
    - mountPath: /etc/nginx
      name: otel-nginx-conf-dir
  initContainers:
  - name: otel-agent-source-container-clone
  - name: otel-agent-attach-nginx
status:
  containerStatuses:
  - name: myapp
    ready: true
    started: true
  initContainerStatuses:
  - name: otel-agent-source-container-clone
    ready: true
  - name: otel-agent-attach-nginx
    ready: true
  phase: Running
"##;

/// Only the container names a user: both init containers run as that user and group (so the
/// agent init container may rewrite what the clone copied), hardened.
#[test]
fn e2e_instrumentation_nginx_contnr_secctx() {
    let out = run_e2e(SECCTX_APP, NGINX_INSTRUMENTATION);
    assert_contains(&out.mutated, &expected_pod(SECCTX_ASSERT));
    let want = json!({"runAsUser": 1000, "runAsGroup": 3000, "allowPrivilegeEscalation": false,
                      "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}});
    for name in [CLONE, ATTACH] {
        assert_eq!(
            container(&out.mutated, "initContainers", name)["securityContext"],
            want,
            "{name}"
        );
    }
    snapshot("e2e_instrumentation_nginx_contnr_secctx", &out.mutated);
}

// === tests/e2e-instrumentation/instrumentation-nginx-multicontainer ===

fn multi_app(container_names: &str) -> String {
    format!(
        r##"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-nginx-multi
spec:
  selector:
    matchLabels:
      app: my-nginx-multi
  replicas: 1
  template:
    metadata:
      labels:
        app: my-nginx-multi
      annotations:
        instrumentation.opentelemetry.io/inject-nginx: "true"
        instrumentation.opentelemetry.io/container-names: "{container_names}"
    spec:
      securityContext:
        runAsUser: 1000
        runAsGroup: 3000
        fsGroup: 3000
      containers:
      - name: myapp
        image: mirror.gcr.io/nginxinc/nginx-unprivileged:1.25.3
        imagePullPolicy: Always
        securityContext:
          runAsUser: 1000
          runAsGroup: 3000
          runAsNonRoot: true
          allowPrivilegeEscalation: false
          seccompProfile:
            type: RuntimeDefault
          capabilities:
            drop: ["ALL"]
        ports:
        - containerPort: 8765
        readinessProbe:
          httpGet:
            path: /
            port: 8765
            scheme: HTTP
          initialDelaySeconds: 5
          periodSeconds: 15
          timeoutSeconds: 2
          failureThreshold: 3
        env:
        - name: LD_LIBRARY_PATH
          value: /opt
        volumeMounts:
          - name: nginx-conf
            mountPath: /etc/nginx/nginx.conf
            subPath: nginx.conf
            readOnly: true
        resources:
          limits:
            cpu: 500m
            memory: 500Mi
          requests:
            cpu: 100m
            memory: 100Mi
      - name: myrabbit
        image: mirror.gcr.io/library/rabbitmq:latest
        securityContext:
          runAsUser: 1000
          runAsGroup: 3000
          runAsNonRoot: true
          seccompProfile:
            type: RuntimeDefault
          allowPrivilegeEscalation: false
          capabilities:
            drop: ["ALL"]
      volumes:
      - name: nginx-conf
        configMap:
          name: nginx-conf
          items:
            - key: nginx.conf
              path: nginx.conf
"##
    )
}

/// `01-assert.yaml`'s Pod, verbatim.
const MULTI_ASSERT_STEP_01: &str = r##"
apiVersion: v1
kind: Pod
metadata:
  annotations:
    instrumentation.opentelemetry.io/container-names: myapp,myrabbit
    instrumentation.opentelemetry.io/inject-nginx: "true"
  labels:
    app: my-nginx-multi
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
    - name: LD_LIBRARY_PATH
      value: /opt:/opt/opentelemetry-webserver/agent/sdk_lib/lib
    - name: OTEL_TRACES_EXPORTER
      value: otlp
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://deployment-collector:4317
    - name: OTEL_EXPORTER_OTLP_TIMEOUT
      value: "20000"
    - name: OTEL_TRACES_SAMPLER
      value: always_on
    - name: SPLUNK_TRACE_RESPONSE_HEADER_ENABLED
      value: "true"
    - name: OTEL_SERVICE_NAME
      value: my-nginx-multi
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
    - containerPort: 8765
      protocol: TCP
    readinessProbe:
      failureThreshold: 3
      httpGet:
        path: /
        port: 8765
        scheme: HTTP
      initialDelaySeconds: 5
      periodSeconds: 15
      successThreshold: 1
      timeoutSeconds: 2
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    - mountPath: /opt/opentelemetry-webserver/agent
      name: otel-nginx-agent
    - mountPath: /etc/nginx
      name: otel-nginx-conf-dir
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
    - name: OTEL_TRACES_EXPORTER
      value: otlp
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://deployment-collector:4317
    - name: OTEL_EXPORTER_OTLP_TIMEOUT
      value: "20000"
    - name: OTEL_TRACES_SAMPLER
      value: always_on
    - name: SPLUNK_TRACE_RESPONSE_HEADER_ENABLED
      value: "true"
    - name: OTEL_SERVICE_NAME
      value: my-nginx-multi
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
    image: mirror.gcr.io/library/rabbitmq:latest
    name: myrabbit
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
  initContainers:
  - name: otel-agent-source-container-clone
  - name: otel-agent-attach-nginx
status:
  containerStatuses:
  - name: myapp
    ready: true
    started: true
  - name: myrabbit
    ready: true
    started: true
  initContainerStatuses:
  - name: otel-agent-source-container-clone
    ready: true
  - name: otel-agent-attach-nginx
    ready: true
  phase: Running
"##;

/// Two targets: both get the env; only the first gets the module, the copy and
/// `LD_LIBRARY_PATH` (the operator's init containers exist by the second).
#[test]
fn e2e_instrumentation_nginx_multicontainer_step_01() {
    let out = run_e2e(&multi_app("myapp,myrabbit"), NGINX_INSTRUMENTATION);
    assert_contains(&out.mutated, &expected_pod(MULTI_ASSERT_STEP_01));
    let rabbit = container(&out.mutated, "containers", "myrabbit");
    assert!(rabbit.get("volumeMounts").is_none(), "{rabbit}");
    assert_eq!(env_value(rabbit, "LD_LIBRARY_PATH"), None);
    // The copies run as the app's user, which the pod requires to be non-root: named, so
    // no UID is added.
    let want = json!({"runAsUser": 1000, "runAsGroup": 3000, "runAsNonRoot": true,
                      "allowPrivilegeEscalation": false, "seccompProfile": {"type": "RuntimeDefault"},
                      "capabilities": {"drop": ["ALL"]}});
    assert_eq!(
        container(&out.mutated, "initContainers", ATTACH)["securityContext"],
        want
    );
    for l in &out.decision.languages {
        assert_eq!(l.outcome(), O::Injected);
    }
    snapshot(
        "e2e_instrumentation_nginx_multicontainer_step_01",
        &out.mutated,
    );
}

/// `02-assert.yaml`'s Pod, verbatim.
const MULTI_ASSERT_STEP_02: &str = r##"
apiVersion: v1
kind: Pod
metadata:
  annotations:
    instrumentation.opentelemetry.io/container-names: myapp
    instrumentation.opentelemetry.io/inject-nginx: "true"
  labels:
    app: my-nginx-multi
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
    - name: LD_LIBRARY_PATH
      value: /opt:/opt/opentelemetry-webserver/agent/sdk_lib/lib
    - name: OTEL_TRACES_EXPORTER
      value: otlp
    - name: OTEL_EXPORTER_OTLP_ENDPOINT
      value: http://deployment-collector:4317
    - name: OTEL_EXPORTER_OTLP_TIMEOUT
      value: "20000"
    - name: OTEL_TRACES_SAMPLER
      value: always_on
    - name: SPLUNK_TRACE_RESPONSE_HEADER_ENABLED
      value: "true"
    - name: OTEL_SERVICE_NAME
      value: my-nginx-multi
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
    - containerPort: 8765
    readinessProbe:
      failureThreshold: 3
      httpGet:
        path: /
        port: 8765
        scheme: HTTP
      initialDelaySeconds: 5
      periodSeconds: 15
      successThreshold: 1
      timeoutSeconds: 2
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    - mountPath: /opt/opentelemetry-webserver/agent
      name: otel-nginx-agent
    - mountPath: /etc/nginx
      name: otel-nginx-conf-dir
  - image: mirror.gcr.io/library/rabbitmq:latest
    name: myrabbit
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
  initContainers:
  - name: otel-agent-source-container-clone
  - name: otel-agent-attach-nginx
status:
  containerStatuses:
  - name: myapp
    ready: true
    started: true
  - name: myrabbit
    ready: true
    started: true
  initContainerStatuses:
  - name: otel-agent-source-container-clone
    ready: true
  - name: otel-agent-attach-nginx
    ready: true
  phase: Running
"##;

#[test]
fn e2e_instrumentation_nginx_multicontainer_step_02() {
    let app = multi_app("myapp");
    let (pod, _) = manifest_pod(&app, E2E_NS);
    let out = run_e2e(&app, NGINX_INSTRUMENTATION);
    assert_contains(&out.mutated, &expected_pod(MULTI_ASSERT_STEP_02));
    assert_eq!(
        container(&out.mutated, "containers", "myrabbit"),
        container(&pod, "containers", "myrabbit")
    );
    snapshot(
        "e2e_instrumentation_nginx_multicontainer_step_02",
        &out.mutated,
    );
}

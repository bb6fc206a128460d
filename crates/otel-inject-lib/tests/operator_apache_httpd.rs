//! The operator's Apache httpd scenarios (0.158.0), reproduced: every case of
//! `apachehttpd_test.go`, `TestInjectApacheHttpd` (`sdk_test.go`), the Apache cases of
//! `TestMutatePod` (`podmutator_test.go`), and the e2e suites
//! `instrumentation-apache-httpd` and `instrumentation-apache-multicontainer`. Each runs
//! `mutate` on the operator's input, applies the patch with json-patch (`common::run_with`
//! also checks that a second pass yields an empty patch), compares with the operator's
//! expected pod and snapshots the mutated pod (the scripts' text redacted: it is ours, and the
//! unit's constant, see `webserver_shell.rs` for what it does).
//!
//! Where we differ on purpose, the test asserts our behaviour and says so (`DIFFERENCE:`):
//! - the init containers' security context is hardened (README, "agent init container
//!   security context"), and the resources get the operator's CR defaults when the CR has
//!   none (README, "CR defaults");
//! - the agent init container runs our shell, not the operator's (same resulting files);
//! - every mount at or under the configuration directory is dropped from the app, not the
//!   first one whose path contains it as a substring;
//! - init-container targets and unusable `configPath`s are skipped with a reason;
//! - the status annotation `otel-inject.dev/status` says what was done.
//!
//! The operator's unit tests call `injectApacheHttpdagent` with a resource map of their own
//! (`k8s.deployment.name: apache-httpd-service-name`, `k8s.namespace.name: req-namespace`);
//! through `mutate` the same map comes from a Deployment owner and the namespace.

mod common;

use common::operator::*;
use common::*;
use otel_inject_lib::lang::apache_httpd::{self as apache, ATTACH_SCRIPT};
use otel_inject_lib::{InjectOptions, Language, NamespaceInfo, Outcome as O};
use serde_json::{json, Value};

const INJECT: &str = "instrumentation.opentelemetry.io/inject-apache-httpd";
const CLONE: &str = "otel-agent-source-container-clone";
const ATTACH: &str = "otel-agent-attach-apache";

/// The operator's module configuration (`getApacheOtelConfig`) for the default version.
fn operator_conf(endpoint: &str, service: &str, namespace: &str, extra: &[(&str, &str)]) -> String {
    let mut attrs: Vec<(String, String)> = vec![
        ("ApacheModuleEnabled".into(), "ON".into()),
        ("ApacheModuleOtelExporterEndpoint".into(), endpoint.into()),
        ("ApacheModuleOtelSpanExporter".into(), "otlp".into()),
        ("ApacheModuleResolveBackends".into(), " ON".into()),
        (
            "ApacheModuleServiceInstanceId".into(),
            "<<SID-PLACEHOLDER>>".into(),
        ),
        ("ApacheModuleServiceName".into(), service.into()),
        ("ApacheModuleServiceNamespace".into(), namespace.into()),
        ("ApacheModuleTraceAsError".into(), " ON".into()),
    ];
    attrs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    attrs.sort();
    let mut s = "\n#Load the Otel Webserver SDK\nLoadFile /opt/opentelemetry-webserver/agent/sdk_lib/lib/libopentelemetry_common.so\nLoadFile /opt/opentelemetry-webserver/agent/sdk_lib/lib/libopentelemetry_resources.so\nLoadFile /opt/opentelemetry-webserver/agent/sdk_lib/lib/libopentelemetry_trace.so\nLoadFile /opt/opentelemetry-webserver/agent/sdk_lib/lib/libopentelemetry_otlp_recordable.so\nLoadFile /opt/opentelemetry-webserver/agent/sdk_lib/lib/libopentelemetry_exporter_ostream_span.so\nLoadFile /opt/opentelemetry-webserver/agent/sdk_lib/lib/libopentelemetry_exporter_otlp_grpc.so\n#Load the Otel ApacheModule SDK\nLoadFile /opt/opentelemetry-webserver/agent/sdk_lib/lib/libopentelemetry_webserver_sdk.so\n#Load the Apache Module. In this example for Apache 2.4\n#LoadModule otel_apache_module /opt/opentelemetry-webserver/agent/WebServerModule/Apache/libmod_apache_otel.so\n#Load the Apache Module. In this example for Apache 2.2\n#LoadModule otel_apache_module /opt/opentelemetry-webserver/agent/WebServerModule/Apache/libmod_apache_otel22.so\nLoadModule otel_apache_module /opt/opentelemetry-webserver/agent/WebServerModule/Apache/libmod_apache_otel.so\n#Attributes\n".to_string();
    for (k, v) in attrs {
        s.push_str(&format!("{k} {v}\n"));
    }
    s
}

fn volumes() -> Value {
    json!([
        {"name": "otel-apache-conf-dir", "emptyDir": {"sizeLimit": "200Mi"}},
        {"name": "otel-apache-agent", "emptyDir": {"sizeLimit": "200Mi"}},
    ])
}

/// The clone as the operator's unit tests expect it (no image: their container has none).
fn clone(dir: &str, app_mounts: Value) -> Value {
    let mut mounts = app_mounts.as_array().cloned().unwrap_or_default();
    mounts.push(json!({"name": "otel-apache-conf-dir", "mountPath": "/opt/opentelemetry-webserver/source-conf"}));
    json!({"name": CLONE,
           "command": ["cp", "-r", format!("{dir}/."), "/opt/opentelemetry-webserver/source-conf"],
           "volumeMounts": mounts})
}

fn attach(image: &str, dir: &str, mut env: Vec<Value>, conf: &str) -> Value {
    if env.is_empty() {
        env = vec![
            field_ref("OTEL_POD_IP", "status.podIP"),
            field_ref("OTEL_NODE_IP", "status.hostIP"),
        ];
    }
    env.push(lit("OTEL_APACHE_AGENT_CONF", conf));
    env.push(field_ref("APACHE_SERVICE_INSTANCE_ID", "metadata.name"));
    json!({"name": ATTACH, "image": image, "command": ["/bin/sh", "-c"],
           "args": [ATTACH_SCRIPT, "--", dir], "env": env,
           "volumeMounts": [
               {"name": "otel-apache-agent", "mountPath": "/opt/opentelemetry-webserver/agent"},
               {"name": "otel-apache-conf-dir", "mountPath": "/opt/opentelemetry-webserver/source-conf"}]})
}

fn app_mounts(dir: &str) -> Value {
    json!([
        {"name": "otel-apache-agent", "mountPath": "/opt/opentelemetry-webserver/agent"},
        {"name": "otel-apache-conf-dir", "mountPath": dir},
    ])
}

/// The hardened context of an init container copied from a container that sets none.
fn hardened() -> Value {
    json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
           "seccompProfile": {"type": "RuntimeDefault"}})
}

/// DIFFERENCE: what we add to both init containers beyond the operator's unit-level pod (its
/// unit tests run without the CR defaulter and without a security context).
fn assert_our_additions(pod: &Value, sc: &Value) {
    for name in [CLONE, ATTACH] {
        let c = container(pod, "initContainers", name);
        assert_eq!(c["resources"], apache::default_resources(), "{name}");
        assert_eq!(&c["securityContext"], sc, "{name}");
    }
}

/// Snapshots the pod with the scripts' text replaced by their name (they are the unit's
/// constants, checked by the expected pods).
fn snapshot(name: &str, pod: &Value) {
    let mut pod = pod.clone();
    for c in pod["spec"]["initContainers"]
        .as_array_mut()
        .into_iter()
        .flatten()
    {
        if c["args"][0] == ATTACH_SCRIPT {
            c["args"][0] = json!("<apache_httpd.sh>");
        }
    }
    insta::assert_yaml_snapshot!(name, pod);
}

const UNIT_NS: &str = "req-namespace";

/// The unit tests' pod: `pod` with the annotation and a Deployment owner that gives the
/// operator's `k8s.deployment.name: apache-httpd-service-name`.
fn unit_pod(mut pod: Value) -> Value {
    pod["metadata"]["annotations"] = json!({INJECT: "true"});
    pod["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "Deployment",
        "name": "apache-httpd-service-name", "uid": "uid-1", "controller": true}]);
    pod
}

fn run_unit(pod: &Value, ns: &str, apache_block: Value) -> Outcome {
    let mut spec = json!({"exporter": {"endpoint": "http://otlp-endpoint:4317"}});
    spec["apacheHttpd"] = apache_block;
    run(pod, ns, &[instrumentation(ns, "apache", spec)], &[])
}

/// `apachehttpd_test.go` "Clone Container not present".
#[test]
fn unit_clone_container_not_present() {
    let pod = unit_pod(json!({"spec": {"containers": [{}]}}));
    let out = run_unit(&pod, UNIT_NS, json!({"image": "foo/bar:1"}));
    let conf = operator_conf(
        "http://otlp-endpoint:4317",
        "apache-httpd-service-name",
        "req-namespace",
        &[],
    );
    assert_contains(
        &out.mutated["spec"],
        &json!({
            "volumes": volumes(),
            "initContainers": [clone("/usr/local/apache2/conf", json!([])),
                               attach("foo/bar:1", "/usr/local/apache2/conf", vec![], &conf)],
            "containers": [{"volumeMounts": app_mounts("/usr/local/apache2/conf")}],
        }),
    );
    assert!(container(&out.mutated, "initContainers", CLONE)
        .get("image")
        .is_none());
    assert_our_additions(&out.mutated, &hardened());
    snapshot("unit_clone_container_not_present", &out.mutated);
}

/// `apachehttpd_test.go` "ConfigPath honored".
#[test]
fn unit_config_path_honored() {
    let pod = unit_pod(json!({"spec": {"containers": [{}]}}));
    let out = run_unit(
        &pod,
        UNIT_NS,
        json!({"image": "foo/bar:1", "configPath": "/opt/customPath"}),
    );
    let conf = operator_conf(
        "http://otlp-endpoint:4317",
        "apache-httpd-service-name",
        "req-namespace",
        &[],
    );
    assert_contains(
        &out.mutated["spec"],
        &json!({
            "volumes": volumes(),
            "initContainers": [clone("/opt/customPath", json!([])),
                               attach("foo/bar:1", "/opt/customPath", vec![], &conf)],
            "containers": [{"volumeMounts": app_mounts("/opt/customPath")}],
        }),
    );
    // A trailing slash is dropped, as `getApacheConfDir` does.
    let out2 = run_unit(
        &pod,
        UNIT_NS,
        json!({"image": "foo/bar:1", "configPath": "/opt/customPath/"}),
    );
    assert_eq!(out2.mutated["spec"], out.mutated["spec"]);
    snapshot("unit_config_path_honored", &out.mutated);
}

/// `apachehttpd_test.go` "Init-container-incompatible fields not copied": probes, lifecycle
/// and resize policies stay on the app and never reach the clone.
#[test]
fn unit_init_container_incompatible_fields_not_copied() {
    let app = json!({"readinessProbe": {}, "startupProbe": {}, "livenessProbe": {}, "lifecycle": {},
        "resizePolicy": [{"resourceName": "cpu", "restartPolicy": "NotRequired"},
                         {"resourceName": "memory", "restartPolicy": "NotRequired"}]});
    let pod = unit_pod(json!({"spec": {"containers": [app.clone()]}}));
    let out = run_unit(&pod, UNIT_NS, json!({"image": "foo/bar:1"}));
    let conf = operator_conf(
        "http://otlp-endpoint:4317",
        "apache-httpd-service-name",
        "req-namespace",
        &[],
    );
    let mut expected_app = app.clone();
    expected_app["volumeMounts"] = app_mounts("/usr/local/apache2/conf");
    assert_contains(
        &out.mutated["spec"],
        &json!({
            "volumes": volumes(),
            "initContainers": [clone("/usr/local/apache2/conf", json!([])),
                               attach("foo/bar:1", "/usr/local/apache2/conf", vec![], &conf)],
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

/// `apachehttpd_test.go` "Pod Namespace specified": the pod's own namespace is
/// `service.namespace`, whatever the attributes say.
#[test]
fn unit_pod_namespace_specified() {
    let pod =
        unit_pod(json!({"metadata": {"namespace": "my-namespace"}, "spec": {"containers": [{}]}}));
    let out = run_unit(&pod, UNIT_NS, json!({"image": "foo/bar:1"}));
    let conf = operator_conf(
        "http://otlp-endpoint:4317",
        "apache-httpd-service-name",
        "my-namespace",
        &[],
    );
    assert_contains(
        &out.mutated["spec"],
        &json!({"initContainers": [clone("/usr/local/apache2/conf", json!([])),
                                   attach("foo/bar:1", "/usr/local/apache2/conf", vec![], &conf)]}),
    );
    snapshot("unit_pod_namespace_specified", &out.mutated);
}

/// `TestInjectApacheHttpdagentUnknownNamespace`: no namespace anywhere, so `apache-httpd`.
#[test]
fn unit_unknown_namespace() {
    let pod = unit_pod(json!({"spec": {"containers": [{}]}}));
    let out = run_unit(&pod, "", json!({"image": "foo/bar:1"}));
    let conf = operator_conf(
        "http://otlp-endpoint:4317",
        "apache-httpd-service-name",
        "apache-httpd",
        &[],
    );
    assert_contains(
        &out.mutated["spec"],
        &json!({"initContainers": [clone("/usr/local/apache2/conf", json!([])),
                                   attach("foo/bar:1", "/usr/local/apache2/conf", vec![], &conf)]}),
    );
    snapshot("unit_unknown_namespace", &out.mutated);
}

/// `TestInjectApacheHttpdagentVolumemountAliasing`: the clone keeps the app's mounts, its
/// own last; the app keeps them too, the module's and the copy's after.
#[test]
fn unit_volume_mounts_are_not_aliased() {
    let mounts = json!([{"name": "a", "mountPath": "/a"}, {"name": "b", "mountPath": "/b"}]);
    let pod = unit_pod(json!({"spec": {"containers": [{"volumeMounts": mounts.clone()}]}}));
    let out = run_unit(&pod, UNIT_NS, json!({"image": "foo/bar:1"}));
    assert_eq!(
        container(&out.mutated, "initContainers", CLONE)["volumeMounts"],
        clone("/usr/local/apache2/conf", mounts.clone())["volumeMounts"]
    );
    let mut app = mounts.as_array().cloned().unwrap_or_default();
    app.extend(
        app_mounts("/usr/local/apache2/conf")
            .as_array()
            .cloned()
            .unwrap_or_default(),
    );
    assert_eq!(
        out.mutated["spec"]["containers"][0]["volumeMounts"],
        Value::Array(app)
    );
}

/// `TestApacheInitContainerMissing`: a pod that has the agent init container is already
/// instrumented (the operator's `isAutoInstrumentationInjected` lists it); one with only
/// other init containers gets both, after them.
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
    assert_eq!(out.decision.reason(), "already_injected");
    assert!(out.decision.patch.is_empty());

    let istio = base(json!([{"name": "istio-init"}]));
    let out = run_unit(&istio, UNIT_NS, json!({}));
    assert_eq!(init_names(&out.mutated), ["istio-init", CLONE, ATTACH]);

    let none = base(Value::Null);
    let out = run_unit(&none, UNIT_NS, json!({}));
    assert_eq!(init_names(&out.mutated), [CLONE, ATTACH]);
}

/// `sdk_test.go` `TestInjectApacheHttpd` "injection enabled, exporter set": the whole pod,
/// the app's env included.
#[test]
fn sdk_inject_apache_httpd() {
    let pod = json!({"metadata": {"annotations": {INJECT: "true"}},
                     "spec": {"containers": [{"name": "app"}]}});
    let spec = json!({"apacheHttpd": {"image": "img:1"},
                      "exporter": {"endpoint": "https://collector:4318"}});
    let out = run(&pod, "ns", &[instrumentation("ns", "apache", spec)], &[]);
    let conf = operator_conf("https://collector:4318", "app", "ns", &[]);
    let mut env = ip_env();
    env.push(lit("OTEL_SERVICE_NAME", "app"));
    env.push(lit("OTEL_EXPORTER_OTLP_ENDPOINT", "https://collector:4318"));
    env.extend(downward_env());
    env.push(lit(
        "OTEL_RESOURCE_ATTRIBUTES",
        &bare_pod_attributes("ns", "app", &[]),
    ));
    assert_contains(
        &out.mutated["spec"],
        &json!({
            "volumes": volumes(),
            "initContainers": [clone("/usr/local/apache2/conf", json!([])),
                               attach("img:1", "/usr/local/apache2/conf", vec![], &conf)],
            "containers": [{"name": "app", "volumeMounts": app_mounts("/usr/local/apache2/conf"),
                            "env": env}],
        }),
    );
    assert_our_additions(&out.mutated, &hardened());
    snapshot("sdk_inject_apache_httpd", &out.mutated);
}

/// `podmutator_test.go` "apache httpd injection, true".
#[test]
fn mutate_pod_apache_httpd_injection_true() {
    let ns = "apache-httpd";
    let pod = json!({"metadata": {"annotations": {INJECT: "true"}},
                     "spec": {"containers": [{"name": "app"}]}});
    let spec = json!({"apacheHttpd": {"image": "otel/apache-httpd:1"},
                      "exporter": {"endpoint": "http://collector:12345"}, "env": []});
    let out = run(&pod, ns, &[instrumentation(ns, "example-inst", spec)], &[]);
    let conf = operator_conf("http://collector:12345", "app", "apache-httpd", &[]);
    let mut env = ip_env();
    env.push(lit("OTEL_SERVICE_NAME", "app"));
    env.push(lit("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:12345"));
    env.extend(downward_env());
    env.push(lit(
        "OTEL_RESOURCE_ATTRIBUTES",
        &bare_pod_attributes(ns, "app", &[]),
    ));
    assert_contains(
        &out.mutated,
        &json!({"metadata": {"annotations": {INJECT: "true"}}, "spec": {
            "volumes": volumes(),
            "initContainers": [clone("/usr/local/apache2/conf", json!([])),
                               attach("otel/apache-httpd:1", "/usr/local/apache2/conf", vec![], &conf)],
            "containers": [{"name": "app", "volumeMounts": app_mounts("/usr/local/apache2/conf"),
                            "env": env}]}}),
    );
    assert_eq!(
        status(&out.mutated),
        Some("apache-httpd: injected into app (instrumentation apache-httpd/example-inst)")
    );
    snapshot("mutate_pod_apache_httpd_injection_true", &out.mutated);
}

/// `podmutator_test.go` "apache httpd injection feature gate disabled": the spec unchanged.
#[test]
fn mutate_pod_apache_httpd_injection_feature_gate_disabled() {
    let ns = "apache-httpd-disabled";
    let pod = json!({"metadata": {"annotations": {INJECT: "true"}},
                     "spec": {"containers": [{"name": "app"}]}});
    let spec = json!({"apacheHttpd": {"image": "otel/apache-httpd:1",
                          "env": [{"name": "OTEL_LOG_LEVEL", "value": "debug"},
                                  {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://localhost:4317"}]},
                      "exporter": {"endpoint": "http://collector:12345"},
                      "env": [{"name": "OTEL_EXPORTER_OTLP_TIMEOUT", "value": "20"},
                              {"name": "OTEL_TRACES_SAMPLER", "value": "parentbased_traceidratio"},
                              {"name": "OTEL_TRACES_SAMPLER_ARG", "value": "0.85"}]});
    let mut options = InjectOptions::default();
    options.set_enabled(Language::ApacheHttpd, false);
    let out = run_with(
        &pod,
        &NamespaceInfo::named(ns),
        &[instrumentation(ns, "example-inst", spec)],
        &[],
        &options,
    );
    assert_eq!(out.mutated["spec"], pod["spec"]);
    assert_eq!(out.decision.reason(), "language_disabled");
    assert_eq!(
        status(&out.mutated),
        Some("apache-httpd: not injected: apache-httpd injection is switched off in otel-inject (--enable-apache-httpd-instrumentation=false)")
    );
}

/// Init containers are never instrumented (the operator logs "is init container" and skips
/// it); we say so in the status and a warning.
#[test]
fn init_container_targets_are_skipped_with_the_reason() {
    let pod = json!({"metadata": {"annotations": {INJECT: "true",
                         "instrumentation.opentelemetry.io/container-names": "setup"}},
                     "spec": {"initContainers": [{"name": "setup", "image": "busybox"}],
                              "containers": [{"name": "app", "image": "httpd:2.4"}]}});
    let out = run(
        &pod,
        "ns",
        &[instrumentation("ns", "apache", json!({}))],
        &[],
    );
    assert_eq!(out.decision.reason(), "init_container_unsupported");
    assert_eq!(init_names(&out.mutated), ["setup"]);
    assert!(out.mutated["spec"].get("volumes").is_none());
    assert!(out
        .decision
        .warnings
        .iter()
        .any(|w| w.contains("an init container cannot be instrumented")));
}

/// DIFFERENCE: `configPath: /` makes the operator mount the copy at "" (an invalid pod); we
/// skip the container and say what to write.
#[test]
fn an_unusable_config_path_is_skipped_with_the_reason() {
    let pod = json!({"metadata": {"annotations": {INJECT: "true"}},
                     "spec": {"containers": [{"name": "app", "image": "httpd:2.4"}]}});
    let out = run(
        &pod,
        "ns",
        &[instrumentation(
            "ns",
            "apache",
            json!({"apacheHttpd": {"configPath": "/"}}),
        )],
        &[],
    );
    assert_eq!(out.decision.reason(), "config_location_unusable");
    assert!(out.mutated["spec"].get("initContainers").is_none());
}

/// The CR's fields: `version: "2.2"` loads the 2.2 module, `attrs` add and override lines,
/// `resourceRequirements` and `volumeLimitSize` reach both init containers and both volumes,
/// a `volumeClaimTemplate` replaces the module's emptyDir (the configuration copy keeps its
/// emptyDir), and the pull policy is the CR's for the agent and the app's for the clone.
#[test]
fn cr_fields_reach_the_pod() {
    let pod = json!({"metadata": {"name": "web-0", "annotations": {INJECT: "true"}},
                     "spec": {"containers": [{"name": "web", "image": "httpd:2.2.34", "imagePullPolicy": "Always",
                                              "envFrom": [{"configMapRef": {"name": "cfg"}}],
                                              "env": [{"name": "A", "value": "1"}]}]}});
    let resources = json!({"limits": {"cpu": "2", "memory": "1Gi"}, "requests": {"cpu": "100m", "memory": "64Mi"}});
    let spec = json!({"imagePullPolicy": "IfNotPresent", "apacheHttpd": {
        "version": "2.2", "volumeLimitSize": "50Mi", "resourceRequirements": resources,
        "env": [{"name": "OTEL_SERVICE_NAME", "value": "from-block"}],
        "attrs": [{"name": "ApacheModuleOtelMaxQueueSize", "value": "4096"},
                  {"name": "ApacheModuleTraceAsError", "value": "OFF"}]}});
    let out = run(&pod, "ns", &[instrumentation("ns", "apache", spec)], &[]);
    let clone_c = container(&out.mutated, "initContainers", CLONE);
    let attach_c = container(&out.mutated, "initContainers", ATTACH);
    assert_eq!(clone_c["resources"], resources);
    assert_eq!(attach_c["resources"], resources);
    assert_eq!(clone_c["image"], "httpd:2.2.34");
    assert_eq!(clone_c["imagePullPolicy"], "Always");
    assert_eq!(attach_c["imagePullPolicy"], "IfNotPresent");
    assert_eq!(attach_c["image"], json!(apache::DEFAULT_IMAGE));
    // The clone has the app's env as it was after the block's env, before the common env.
    assert_eq!(
        clone_c["env"],
        json!([{"name": "A", "value": "1"}, {"name": "OTEL_SERVICE_NAME", "value": "from-block"}])
    );
    assert_eq!(
        clone_c["envFrom"],
        json!([{"configMapRef": {"name": "cfg"}}])
    );
    assert_eq!(
        out.mutated["spec"]["volumes"],
        json!([{"name": "otel-apache-conf-dir", "emptyDir": {"sizeLimit": "50Mi"}},
               {"name": "otel-apache-agent", "emptyDir": {"sizeLimit": "50Mi"}}])
    );
    let conf = env_value(attach_c, "OTEL_APACHE_AGENT_CONF").unwrap_or_default();
    assert!(conf.contains("\nLoadModule otel_apache_module /opt/opentelemetry-webserver/agent/WebServerModule/Apache/libmod_apache_otel22.so\n"), "{conf}");
    assert!(
        conf.contains("\nApacheModuleOtelMaxQueueSize 4096\n"),
        "{conf}"
    );
    assert!(conf.contains("\nApacheModuleTraceAsError OFF\n"), "{conf}");
    // The service name is the SDK step's choice (the pod's name here), not the block's env.
    assert!(conf.contains("\nApacheModuleServiceName web-0\n"), "{conf}");
    // The block's env is first in the agent init container too.
    assert_eq!(
        names(&attach_c["env"]),
        [
            "OTEL_SERVICE_NAME",
            "OTEL_POD_IP",
            "OTEL_NODE_IP",
            "OTEL_APACHE_AGENT_CONF",
            "APACHE_SERVICE_INSTANCE_ID"
        ]
    );

    let template = json!({"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}});
    let out = run(
        &pod,
        "ns",
        &[instrumentation(
            "ns",
            "apache",
            json!({"apacheHttpd": {"volumeClaimTemplate": template}}),
        )],
        &[],
    );
    assert_eq!(
        out.mutated["spec"]["volumes"],
        json!([{"name": "otel-apache-conf-dir", "emptyDir": {"sizeLimit": "200Mi"}},
               {"name": "otel-apache-agent", "ephemeral": {"volumeClaimTemplate": template}}])
    );
}

/// DIFFERENCE: every mount at or under the configuration directory leaves the app (the clone
/// keeps them all, so the copy has their files); a path that merely contains the directory's
/// name stays. The operator drops the first mount whose path contains the directory as a
/// substring: here `/usr/local/apache2/conf-extra`, leaving `conf/extra` to hide the copy's.
#[test]
fn mounts_over_the_config_dir_leave_the_app_and_stay_on_the_clone() {
    let mounts = json!([
        {"name": "extra-data", "mountPath": "/usr/local/apache2/conf-extra"},
        {"name": "main", "mountPath": "/usr/local/apache2/conf/httpd.conf", "subPath": "httpd.conf"},
        {"name": "vhosts", "mountPath": "/usr/local/apache2/conf/extra"},
        {"name": "logs", "mountPath": "/usr/local/apache2/logs"}]);
    let pod = json!({"metadata": {"annotations": {INJECT: "true"}},
                     "spec": {"containers": [{"name": "web", "image": "httpd:2.4", "volumeMounts": mounts}]}});
    let out = run(
        &pod,
        "ns",
        &[instrumentation("ns", "apache", json!({}))],
        &[],
    );
    assert_eq!(
        names(&out.mutated["spec"]["containers"][0]["volumeMounts"]),
        [
            "extra-data",
            "logs",
            "otel-apache-agent",
            "otel-apache-conf-dir"
        ]
    );
    assert_eq!(
        names(&container(&out.mutated, "initContainers", CLONE)["volumeMounts"]),
        [
            "extra-data",
            "main",
            "vhosts",
            "logs",
            "otel-apache-conf-dir"
        ]
    );
}

/// DIFFERENCE: with two targets, both init containers get the first target's context (the
/// clone copies that container), hardened; the operator sets them once per target, so the
/// last target's wins.
#[test]
fn the_init_containers_follow_the_first_target() {
    let pod = json!({"metadata": {"annotations": {INJECT: "true",
                         "instrumentation.opentelemetry.io/container-names": "web,sidecar"}},
                     "spec": {"containers": [
                         {"name": "web", "image": "httpd:2.4", "securityContext": {"runAsUser": 33}},
                         {"name": "sidecar", "image": "s:1", "securityContext": {"runAsUser": 1000}}]}});
    let out = run(
        &pod,
        "ns",
        &[instrumentation("ns", "apache", json!({}))],
        &[],
    );
    for name in [CLONE, ATTACH] {
        assert_eq!(
            container(&out.mutated, "initContainers", name)["securityContext"]["runAsUser"],
            33,
            "{name}"
        );
    }
    // The second target gets the env only.
    let sidecar = container(&out.mutated, "containers", "sidecar");
    assert!(sidecar.get("volumeMounts").is_none());
    assert!(env_value(sidecar, "OTEL_SERVICE_NAME").is_some());
}

// === tests/e2e-instrumentation/instrumentation-apache-httpd ===

const E2E_NS: &str = "chainsaw-apache";

const APACHE_INSTRUMENTATION: &str = r##"
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: apache
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
  apacheHttpd:
    attrs:
    - name: ApacheModuleOtelMaxQueueSize
      value: "4096"
"##;

const APACHE_APP: &str = r##"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-apache
spec:
  selector:
    matchLabels:
      app: my-apache
  replicas: 1
  template:
    metadata:
      labels:
        app: my-apache
      annotations:
        instrumentation.opentelemetry.io/inject-apache-httpd: "true"
    spec:
      securityContext:
        runAsUser: 1000
        runAsGroup: 3000
        fsGroup: 3000
      containers:
      - name: myapp
        image: ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-apache-httpd:main
        securityContext:
          allowPrivilegeEscalation: false
          capabilities:
            drop: ["ALL"]
        # following to test lifecycle removal in cloned init container
        lifecycle:
          postStart:
            exec:
              command: [ "/bin/sh", "-c", "echo Hello from the postStart handler" ]
        ports:
        - containerPort: 8080
        readinessProbe:
          httpGet:
            path: /
            port: 8080
            scheme: HTTP
          initialDelaySeconds: 5
          periodSeconds: 15
          timeoutSeconds: 2
          failureThreshold: 3
        resources:
          limits:
            cpu: "1"
            memory: 500Mi
          requests:
            cpu: 250m
            memory: 100Mi
"##;

/// `01-assert.yaml`'s Pod, verbatim.
const APACHE_ASSERT: &str = r##"
apiVersion: v1
kind: Pod
metadata:
  annotations:
    instrumentation.opentelemetry.io/inject-apache-httpd: "true"
  labels:
    app: my-apache
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
      value: my-apache
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
    - containerPort: 8080
      protocol: TCP
    readinessProbe:
      failureThreshold: 3
      httpGet:
        path: /
        port: 8080
        scheme: HTTP
      initialDelaySeconds: 5
      periodSeconds: 15
      successThreshold: 1
      timeoutSeconds: 2
    volumeMounts:
    - mountPath: /var/run/secrets/kubernetes.io/serviceaccount
      readOnly: true
    - mountPath: /opt/opentelemetry-webserver/agent
      name: otel-apache-agent
    - mountPath: /usr/local/apache2/conf
      name: otel-apache-conf-dir
  initContainers:
  - name: otel-agent-source-container-clone
  - name: otel-agent-attach-apache
status:
  containerStatuses:
  - name: myapp
    ready: true
    started: true
  initContainerStatuses:
  - name: otel-agent-source-container-clone
    ready: true
  - name: otel-agent-attach-apache
    ready: true
  phase: Running
"##;

/// The e2e apps' container context (`allowPrivilegeEscalation: false`, `drop: [ALL]`) as both
/// init containers get it: the pod names a UID, so only the seccomp profile is added.
fn hardened_e2e_context() -> Value {
    json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
           "seccompProfile": {"type": "RuntimeDefault"}})
}

/// An assert file's Pod without the probe default the API server adds (`successThreshold: 1`),
/// which `common::operator` does not know of yet.
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

fn deployment_attributes(ns: &str, dep: &str, c: &str) -> String {
    format!(
        "k8s.container.name={c},k8s.deployment.name={dep},k8s.namespace.name={ns},k8s.node.name=$(OTEL_RESOURCE_ATTRIBUTES_NODE_NAME),k8s.pod.name=$(OTEL_RESOURCE_ATTRIBUTES_POD_NAME),k8s.replicaset.name={dep}-{TEMPLATE_HASH},service.instance.id={ns}.$(OTEL_RESOURCE_ATTRIBUTES_POD_NAME).{c},service.namespace={ns},service.version=main"
    )
}

/// The e2e's spec env, then the pod and node IPs, in the agent init container.
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

#[test]
fn e2e_instrumentation_apache_httpd() {
    let out = run_manifests(APACHE_APP, &[APACHE_INSTRUMENTATION], E2E_NS);
    assert_contains(&out.mutated, &expected_pod(APACHE_ASSERT));
    let app = container(&out.mutated, "containers", "myapp");
    assert_eq!(
        env_value(app, "OTEL_RESOURCE_ATTRIBUTES"),
        Some(deployment_attributes(E2E_NS, "my-apache", "myapp").as_str())
    );
    // The whole agent init container, as the operator writes it.
    let conf = operator_conf(
        "http://deployment-collector:4317",
        "my-apache",
        E2E_NS,
        &[("ApacheModuleOtelMaxQueueSize", "4096")],
    );
    let mut want = attach(
        apache::DEFAULT_IMAGE,
        "/usr/local/apache2/conf",
        e2e_attach_env(false),
        &conf,
    );
    want["resources"] = apache::default_resources();
    want["securityContext"] = hardened_e2e_context();
    assert_eq!(container(&out.mutated, "initContainers", ATTACH), &want);
    // The clone: the app's image, no env (the app has none), no lifecycle, no probes.
    let c = container(&out.mutated, "initContainers", CLONE);
    assert_eq!(
        c,
        &json!({"name": CLONE,
                "image": "ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-apache-httpd:main",
                "command": ["cp", "-r", "/usr/local/apache2/conf/.", "/opt/opentelemetry-webserver/source-conf"],
                "resources": apache::default_resources(),
                "volumeMounts": [{"name": "otel-apache-conf-dir", "mountPath": "/opt/opentelemetry-webserver/source-conf"}],
                "securityContext": hardened_e2e_context()})
    );
    assert_eq!(
        status(&out.mutated),
        Some("apache-httpd: injected into myapp (instrumentation chainsaw-apache/apache)")
    );
    snapshot("e2e_instrumentation_apache_httpd", &out.mutated);
}

/// The e2e's second step (`02-update-instrumentation-nodeip.yaml`): `OTEL_NODE_IP` from the
/// spec env comes before `OTEL_APACHE_AGENT_CONF` in the agent init container, so the
/// kubelet expands `$(OTEL_NODE_IP)` in the endpoint (`02-verify-endpoint-interpolation.sh`).
#[test]
fn e2e_instrumentation_apache_httpd_node_ip_endpoint() {
    let inst = r##"
apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: apache
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
  apacheHttpd:
    attrs:
    - name: ApacheModuleOtelMaxQueueSize
      value: "4096"
"##;
    let out = run_manifests(APACHE_APP, &[inst], E2E_NS);
    let a = container(&out.mutated, "initContainers", ATTACH);
    let env_names = names(&a["env"]);
    let node = env_names.iter().position(|n| n == "OTEL_NODE_IP");
    let conf = env_names.iter().position(|n| n == "OTEL_APACHE_AGENT_CONF");
    assert!(node.is_some() && node < conf, "{env_names:?}");
    let mut want_env = e2e_attach_env(true);
    want_env.push(lit(
        "OTEL_APACHE_AGENT_CONF",
        &operator_conf(
            "http://$(OTEL_NODE_IP):4317",
            "my-apache",
            E2E_NS,
            &[("ApacheModuleOtelMaxQueueSize", "4096")],
        ),
    ));
    want_env.push(field_ref("APACHE_SERVICE_INSTANCE_ID", "metadata.name"));
    assert_eq!(a["env"], Value::Array(want_env));
}

// === tests/e2e-instrumentation/instrumentation-apache-multicontainer ===

const MULTI_INSTRUMENTATION: &str = APACHE_INSTRUMENTATION;

const MULTI_APP_STEP_01: &str = r##"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-apache-multi
spec:
  selector:
    matchLabels:
      app: my-apache-multi
  replicas: 1
  template:
    metadata:
      labels:
        app: my-apache-multi
      annotations:
        instrumentation.opentelemetry.io/inject-apache-httpd: "true"
        instrumentation.opentelemetry.io/container-names: "myapp,myrabbit"
    spec:
      securityContext:
        runAsUser: 1000
        runAsGroup: 3000
        fsGroup: 3000
      containers:
        - name: myapp
          image: ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-apache-httpd:main
          ports:
            - containerPort: 8080
          readinessProbe:
            httpGet:
              path: /
              port: 8080
              scheme: HTTP
            initialDelaySeconds: 5
            periodSeconds: 15
            timeoutSeconds: 2
            failureThreshold: 3
          resources:
            limits:
              cpu: "1"
              memory: 500Mi
            requests:
              cpu: 250m
              memory: 100Mi
          securityContext:
            allowPrivilegeEscalation: false
            capabilities:
              drop: ["ALL"]
        - name: myrabbit
          image: mirror.gcr.io/library/rabbitmq:latest
          securityContext:
            allowPrivilegeEscalation: false
            capabilities:
              drop: ["ALL"]
"##;

/// `01-assert.yaml`'s Pod, verbatim.
const MULTI_ASSERT_STEP_01: &str = r##"
apiVersion: v1
kind: Pod
metadata:
  annotations:
    instrumentation.opentelemetry.io/container-names: myapp,myrabbit
    instrumentation.opentelemetry.io/inject-apache-httpd: "true"
  labels:
    app: my-apache-multi
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
      value: my-apache-multi
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
    readinessProbe:
      failureThreshold: 3
      httpGet:
        path: /
        port: 8080
        scheme: HTTP
      initialDelaySeconds: 5
      periodSeconds: 15
      successThreshold: 1
      timeoutSeconds: 2
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
      value: my-apache-multi
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
    name: myrabbit
  initContainers:
  - name: otel-agent-source-container-clone
  - name: otel-agent-attach-apache
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
  - name: otel-agent-attach-apache
    ready: true
  phase: Running
"##;

/// Two targets: both get the env; the module and the configuration copy go to the first
/// only (the operator's clone exists by the second), and the module's configuration
/// describes the first.
#[test]
fn e2e_instrumentation_apache_multicontainer_step_01() {
    let out = run_manifests(MULTI_APP_STEP_01, &[MULTI_INSTRUMENTATION], E2E_NS);
    assert_contains(&out.mutated, &expected_pod(MULTI_ASSERT_STEP_01));
    let rabbit = container(&out.mutated, "containers", "myrabbit");
    assert!(rabbit.get("volumeMounts").is_none(), "{rabbit}");
    assert_eq!(
        names(&container(&out.mutated, "containers", "myapp")["volumeMounts"]),
        ["otel-apache-agent", "otel-apache-conf-dir"]
    );
    let conf = env_value(
        container(&out.mutated, "initContainers", ATTACH),
        "OTEL_APACHE_AGENT_CONF",
    )
    .unwrap_or_default();
    assert!(conf.contains("\nApacheModuleServiceName my-apache-multi\n"));
    assert_eq!(
        container(&out.mutated, "initContainers", CLONE)["image"],
        "ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-apache-httpd:main"
    );
    for l in &out.decision.languages {
        assert_eq!(l.outcome(), O::Injected);
    }
    snapshot(
        "e2e_instrumentation_apache_multicontainer_step_01",
        &out.mutated,
    );
}

const MULTI_APP_STEP_02: &str = r##"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-apache-multi
spec:
  selector:
    matchLabels:
      app: my-apache-multi
  replicas: 1
  template:
    metadata:
      labels:
        app: my-apache-multi
      annotations:
        instrumentation.opentelemetry.io/inject-apache-httpd: "true"
        instrumentation.opentelemetry.io/container-names: "myapp"
    spec:
      securityContext:
        runAsUser: 1000
        runAsGroup: 3000
        fsGroup: 3000
      containers:
        - name: myapp
          image: ghcr.io/open-telemetry/opentelemetry-operator/e2e-test-app-apache-httpd:main
          ports:
            - containerPort: 8080
          readinessProbe:
            httpGet:
              path: /
              port: 8080
              scheme: HTTP
            initialDelaySeconds: 5
            periodSeconds: 15
            timeoutSeconds: 2
            failureThreshold: 3
          resources:
            limits:
              cpu: "1"
              memory: 500Mi
            requests:
              cpu: 250m
              memory: 100Mi
          securityContext:
            allowPrivilegeEscalation: false
            capabilities:
              drop: ["ALL"]
        - name: myrabbit
          image: mirror.gcr.io/library/rabbitmq:latest
          securityContext:
            allowPrivilegeEscalation: false
            capabilities:
              drop: ["ALL"]
"##;

/// `02-assert.yaml`'s Pod, verbatim.
const MULTI_ASSERT_STEP_02: &str = r##"
apiVersion: v1
kind: Pod
metadata:
  annotations:
    instrumentation.opentelemetry.io/container-names: myapp
    instrumentation.opentelemetry.io/inject-apache-httpd: "true"
  labels:
    app: my-apache-multi
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
      value: my-apache-multi
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
    readinessProbe:
      failureThreshold: 3
      httpGet:
        path: /
        port: 8080
        scheme: HTTP
      initialDelaySeconds: 5
      periodSeconds: 15
      successThreshold: 1
      timeoutSeconds: 2
  - image: mirror.gcr.io/library/rabbitmq:latest
    name: myrabbit
  initContainers:
  - name: otel-agent-source-container-clone
  - name: otel-agent-attach-apache
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
  - name: otel-agent-attach-apache
    ready: true
  phase: Running
"##;

#[test]
fn e2e_instrumentation_apache_multicontainer_step_02() {
    let (pod, _) = manifest_pod(MULTI_APP_STEP_02, E2E_NS);
    let out = run_manifests(MULTI_APP_STEP_02, &[MULTI_INSTRUMENTATION], E2E_NS);
    assert_contains(&out.mutated, &expected_pod(MULTI_ASSERT_STEP_02));
    assert_eq!(
        container(&out.mutated, "containers", "myrabbit"),
        container(&pod, "containers", "myrabbit")
    );
    snapshot(
        "e2e_instrumentation_apache_multicontainer_step_02",
        &out.mutated,
    );
}

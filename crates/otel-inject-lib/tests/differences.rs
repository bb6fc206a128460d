//! One test per row of the README's "Differences from the OpenTelemetry Operator" that the
//! scenarios do not pin down exactly: each asserts the exact result, so a regression towards
//! the operator's behaviour fails here. `common::run` also applies the patch with json-patch
//! and checks that a second mutation changes nothing.

mod common;

use common::*;
use otel_inject_lib::lang::dotnet as dotnet_names;
use otel_inject_lib::{Language, Outcome as O};
use rstest::rstest;
use serde_json::{json, Value};

const NS: &str = "e2e-dotnet";
const AGENT: &str = "opentelemetry-auto-instrumentation-dotnet";

fn dotnet_app() -> Value {
    json!([{"name": "myapp", "image": "ghcr.io/acme/my-dotnet:main",
            "ports": [{"containerPort": 8080}]}])
}

fn owners() -> [otel_inject_lib::OwnerObject; 1] {
    [replicaset("my-dotnet-6b8d9c7f5d", "my-dotnet")]
}

fn insts(names: &[&str]) -> Vec<std::sync::Arc<otel_inject_lib::Instrumentation>> {
    names
        .iter()
        .map(|n| {
            instrumentation(
                NS,
                n,
                json!({"exporter": {"endpoint": format!("http://{n}-collector:4318")},
                       "propagators": ["tracecontext", "baggage"],
                       "sampler": {"type": "parentbased_traceidratio", "argument": "0.5"}}),
            )
        })
        .collect()
}

// === One language's Instrumentation is missing or ambiguous: only that language is skipped ===

/// The pod asks for two languages; one cannot resolve its Instrumentation. The other must be
/// injected exactly as if it had been asked for alone, and the failed one must be reported
/// (decision, status annotation, admission warning) and leave no trace in the spec.
#[rstest]
#[case::dotnet_missing_sdk_injected(
    "no-such-name", "true", &["dotnet"],
    Language::DotNet, "instrumentation_not_found",
    "dotnet: not injected: Instrumentation e2e-dotnet/no-such-name not found; check the name and namespace in the annotation; sdk: injected into myapp (instrumentation e2e-dotnet/dotnet)"
)]
#[case::dotnet_ambiguous_sdk_injected(
    "true", "b-inst", &["a-inst", "b-inst"],
    Language::DotNet, "several_instrumentations",
    "dotnet: not injected: 2 Instrumentations in namespace e2e-dotnet (a-inst, b-inst); name one in the annotation instead of \"true\"; sdk: injected into myapp (instrumentation e2e-dotnet/b-inst)"
)]
#[case::sdk_missing_dotnet_injected(
    "true", "observability/missing", &["dotnet"],
    Language::Sdk, "instrumentation_not_found",
    "dotnet: injected into myapp (instrumentation e2e-dotnet/dotnet); sdk: not injected: Instrumentation observability/missing not found; check the name and namespace in the annotation"
)]
#[case::sdk_ambiguous_dotnet_injected(
    "a-inst", "true", &["a-inst", "b-inst"],
    Language::Sdk, "several_instrumentations",
    "dotnet: injected into myapp (instrumentation e2e-dotnet/a-inst); sdk: not injected: 2 Instrumentations in namespace e2e-dotnet (a-inst, b-inst); name one in the annotation instead of \"true\""
)]
fn one_unresolved_language_skips_only_itself(
    #[case] dotnet_value: &str,
    #[case] sdk_value: &str,
    #[case] inst_names: &[&str],
    #[case] failed: Language,
    #[case] failed_reason: &str,
    #[case] want_status: &str,
) {
    let insts = insts(inst_names);
    let both = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-dotnet": dotnet_value,
               "instrumentation.opentelemetry.io/inject-sdk": sdk_value}),
        dotnet_app(),
    );
    let out = run(&both, NS, &insts, &owners());

    // The same pod asking only for the language that resolves.
    let (ok_lang, ok_key, ok_value) = match failed {
        Language::DotNet => (
            Language::Sdk,
            "instrumentation.opentelemetry.io/inject-sdk",
            sdk_value,
        ),
        _ => (
            Language::DotNet,
            "instrumentation.opentelemetry.io/inject-dotnet",
            dotnet_value,
        ),
    };
    let alone = run(
        &deployment_pod(NS, json!({ ok_key: ok_value }), dotnet_app()),
        NS,
        &insts,
        &owners(),
    );
    assert_eq!(alone.decision.outcome(), O::Injected);
    // Fully injected: the whole spec is what the working language alone produces.
    assert_eq!(
        out.mutated["spec"], alone.mutated["spec"],
        "the working language must be injected as if asked for alone"
    );
    assert_ne!(out.mutated["spec"], both["spec"], "something was injected");
    let app = container(&out.mutated, "containers", "myapp");
    let chosen = if ok_value == "true" {
        inst_names[0]
    } else {
        ok_value
    };
    assert_eq!(
        env_value(app, "OTEL_EXPORTER_OTLP_ENDPOINT"),
        Some(format!("http://{chosen}-collector:4318").as_str())
    );
    assert_eq!(env_value(app, "OTEL_SERVICE_NAME"), Some("my-dotnet"));
    let has_agent = out.mutated["spec"]["initContainers"]
        .as_array()
        .is_some_and(|a| a.iter().any(|c| c["name"] == AGENT));
    assert_eq!(
        has_agent,
        ok_lang == Language::DotNet,
        "agent init container only when .NET is the injected language"
    );
    assert_eq!(
        env_value(app, "CORECLR_ENABLE_PROFILING").is_some(),
        ok_lang == Language::DotNet
    );

    // The skipped language is reported, with its reason, everywhere.
    assert_eq!(out.decision.outcome(), O::Injected);
    let by_lang = |l: Language| {
        out.decision
            .languages
            .iter()
            .find(|d| d.language == l)
            .unwrap_or_else(|| panic!("no decision for {l}"))
    };
    assert_eq!(by_lang(failed).reason.label(), failed_reason);
    assert_eq!(by_lang(failed).outcome(), O::Failed);
    assert_eq!(by_lang(ok_lang).outcome(), O::Injected);
    assert_eq!(status(&out.mutated), Some(want_status));
    assert_eq!(
        out.decision.warnings.len(),
        1,
        "{:?}",
        out.decision.warnings
    );
    assert!(
        out.decision.warnings[0]
            .starts_with(&format!("otel-inject: {failed} not injected into pod ")),
        "{:?}",
        out.decision.warnings
    );
    // The record names the injected language only.
    let record = out.mutated["metadata"]["annotations"]["otel-inject.dev/injected"]
        .as_str()
        .unwrap_or_default();
    assert!(record.starts_with(&format!("{ok_lang}=")), "{record}");
    assert!(!record.contains(&format!("{failed}=")), "{record}");
    // Nothing else in the pod's metadata changed than our two annotations.
    let mut meta = out.mutated["metadata"].clone();
    if let Some(a) = meta["annotations"].as_object_mut() {
        a.remove("otel-inject.dev/status");
        a.remove("otel-inject.dev/injected");
    }
    assert_eq!(meta, both["metadata"]);
}

// === Keys the user already has in OTEL_RESOURCE_ATTRIBUTES are never added again ===

// The attributes the README names, as we write them when the user has not.
const POD_NAME_ATTR: &str = "k8s.pod.name=$(OTEL_RESOURCE_ATTRIBUTES_POD_NAME)";
const POD_UID_ATTR: &str = "k8s.pod.uid=$(OTEL_RESOURCE_ATTRIBUTES_POD_UID)";
const NODE_NAME_ATTR: &str = "k8s.node.name=$(OTEL_RESOURCE_ATTRIBUTES_NODE_NAME)";

/// What we add to a bare pod (no owner, namespace `shop`, container `app`, image tag `1.2`,
/// `addK8sUIDAttributes: true`), minus the keys the user already has.
fn ours_without(skip: &[&str]) -> String {
    [
        "k8s.container.name=app",
        "k8s.namespace.name=shop",
        NODE_NAME_ATTR,
        POD_NAME_ATTR,
        POD_UID_ATTR,
        "service.instance.id=shop.$(OTEL_RESOURCE_ATTRIBUTES_POD_NAME).app",
        "service.namespace=shop",
        "service.version=1.2",
    ]
    .into_iter()
    .filter(|a| !skip.iter().any(|s| a.starts_with(s)))
    .collect::<Vec<_>>()
    .join(",")
}

#[rstest]
#[case::pod_name("k8s.pod.name=checkout-0", &["k8s.pod.name="])]
#[case::pod_uid("k8s.pod.uid=0d4a-uid", &["k8s.pod.uid="])]
#[case::node_name("k8s.node.name=node-a", &["k8s.node.name="])]
#[case::all_three(
    "team=pay,k8s.node.name=node-a,k8s.pod.uid=0d4a-uid,k8s.pod.name=checkout-0",
    &["k8s.node.name=", "k8s.pod.uid=", "k8s.pod.name="]
)]
#[case::empty_value_gets_no_leading_comma("", &[])]
#[case::trailing_comma_is_not_doubled("team=pay,", &[])]
fn user_resource_attributes_are_never_added_again(#[case] user: &str, #[case] user_keys: &[&str]) {
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"generateName": "checkout-",
                     "annotations": {"instrumentation.opentelemetry.io/inject-sdk": "true"}},
        "spec": {"containers": [{"name": "app", "image": "acme/app:1.2", "env": [
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "OTEL_RESOURCE_ATTRIBUTES", "value": user},
            {"name": "GREETING", "value": "hi"}
        ]}]}
    });
    let inst = instrumentation(
        "shop",
        "sdk",
        json!({"exporter": {"endpoint": "http://c:4318"},
               "resource": {"addK8sUIDAttributes": true}}),
    );
    let out = run(&pod, "shop", &[inst], &[]);
    let app = container(&out.mutated, "containers", "app");
    let want = if user.is_empty() || user.ends_with(',') {
        format!("{user}{}", ours_without(user_keys))
    } else {
        format!("{user},{}", ours_without(user_keys))
    };
    // Exactly one OTEL_RESOURCE_ATTRIBUTES, last, with the user's value first, as is.
    let names = env_names(app);
    assert_eq!(
        names
            .iter()
            .filter(|n| *n == "OTEL_RESOURCE_ATTRIBUTES")
            .count(),
        1
    );
    assert_eq!(
        names.last().map(String::as_str),
        Some("OTEL_RESOURCE_ATTRIBUTES")
    );
    let got = env_value(app, "OTEL_RESOURCE_ATTRIBUTES").unwrap_or("<none>");
    assert_eq!(got, want);
    assert!(!got.starts_with(','), "leading comma in {got:?}");
    assert!(!got.contains(",,"), "empty entry in {got:?}");
    for key in [
        "k8s.pod.name=",
        "k8s.pod.uid=",
        "k8s.node.name=",
        "k8s.container.name=",
    ] {
        assert_eq!(got.matches(key).count(), 1, "{key} once in {got:?}");
    }
    // The two user vars around it are untouched.
    assert_eq!(env_value(app, "LOG_LEVEL"), Some("info"));
    assert_eq!(env_value(app, "GREETING"), Some("hi"));
}

// === Argo Workflows step pods: the executor's containers are never instrumented ===

fn argo_pod(annotations: Value, executor: &str, in_init: bool, labelled: bool) -> Value {
    let mut init = vec![
        json!({"name": "init", "image": "quay.io/argoproj/argoexec:v4.1.2",
               "command": ["argoexec", "init"]}),
    ];
    let mut regular = vec![
        json!({"name": "wait", "image": "quay.io/argoproj/argoexec:v4.1.2",
               "command": ["argoexec", "wait"]}),
        json!({"name": "main", "image": "ghcr.io/otel-inject/ml-train:0.1.0"}),
    ];
    if executor != "init" && executor != "wait" {
        let c = json!({"name": executor, "image": "quay.io/argoproj/argoexec:v4.1.2",
                       "env": [{"name": "ARGO_CONTAINER_NAME", "value": executor}],
                       "securityContext": {"capabilities": {"add": ["SYS_PTRACE"]}}});
        if in_init {
            init.push(c);
        } else {
            regular.push(c);
        }
    }
    let mut labels = json!({"workflows.argoproj.io/completed": "false"});
    if labelled {
        labels["workflows.argoproj.io/workflow"] = json!("ml-pipeline-abcde");
    }
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "ml-pipeline-abcde-train-1234567890", "labels": labels,
                     "annotations": annotations},
        "spec": {"initContainers": init, "containers": regular}
    })
}

/// Every executor container, in the list Argo puts it in and in the other one, listed
/// explicitly next to `main`: never touched, reported; `main` is instrumented.
#[rstest]
fn argo_executor_containers_are_never_instrumented_even_when_listed(
    #[values(
        ("init", true),
        ("wait", false),
        ("supervisor", false),
        ("supervisor", true),
        ("artifact-plugin-s3", false),
        ("artifact-plugin-s3", true),
        ("init-artifact-s3", true),
        ("init-artifact-s3", false)
    )]
    executor: (&str, bool),
    #[values("dotnet", "sdk")] lang: &str,
) {
    let (name, in_init) = executor;
    let list = if in_init {
        "initContainers"
    } else {
        "containers"
    };
    let annotations = json!({
        format!("instrumentation.opentelemetry.io/inject-{lang}"): "true",
        "instrumentation.opentelemetry.io/container-names": format!("{name},main"),
    });
    let insts = [dotnet_instrumentation("ml")];

    let pod = argo_pod(annotations.clone(), name, in_init, true);
    let out = run(&pod, "ml", &insts, &[]);
    // The executor container is exactly as it was: no env, no mount, nothing.
    assert_eq!(
        container(&out.mutated, list, name),
        container(&pod, list, name),
        "{name} must not be instrumented"
    );
    let main = container(&out.mutated, "containers", "main");
    assert!(env_value(main, "OTEL_EXPORTER_OTLP_ENDPOINT").is_some());
    assert_eq!(
        env_value(main, "CORECLR_ENABLE_PROFILING").is_some(),
        lang == "dotnet"
    );
    let st = status(&out.mutated).unwrap_or("");
    assert_eq!(
        st,
        format!(
            "{lang}: injected into main (instrumentation ml/dotnet); {lang} skipped {name}: container belongs to the Argo Workflows executor; only the step's own containers are instrumented"
        )
    );
    let mut got: Vec<(&str, &str)> = out.decision.languages[0]
        .containers
        .iter()
        .map(|c| (c.container.as_str(), c.reason.label()))
        .collect();
    got.sort();
    let mut want = vec![(name, "argo_executor_container"), ("main", "injected")];
    want.sort();
    assert_eq!(got, want);

    // Control: the same pod without Argo's label is an ordinary pod, and the listed container
    // is instrumented. Without this, the assertions above could pass for another reason.
    let plain = argo_pod(annotations, name, in_init, false);
    let out = run(&plain, "ml", &insts, &[]);
    assert!(
        env_value(
            container(&out.mutated, list, name),
            "OTEL_EXPORTER_OTLP_ENDPOINT"
        )
        .is_some(),
        "outside Argo, {name} is an ordinary container"
    );
}

// === The agent init container never gets the target's added capabilities ===

#[rstest]
#[case::add_only(
    json!({"capabilities": {"add": ["NET_ADMIN"]}}),
    json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
           "seccompProfile": {"type": "RuntimeDefault"}})
)]
#[case::add_and_drop_privileged(
    json!({"privileged": true, "allowPrivilegeEscalation": true, "runAsUser": 1000,
           "capabilities": {"add": ["NET_ADMIN", "SYS_PTRACE"], "drop": ["NET_RAW"]}}),
    json!({"allowPrivilegeEscalation": false, "runAsUser": 1000, "capabilities": {"drop": ["ALL"]},
           "seccompProfile": {"type": "RuntimeDefault"}})
)]
#[case::add_empty_list(
    json!({"capabilities": {"add": []}, "runAsNonRoot": true}),
    json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": true,
           "runAsUser": 65532, "seccompProfile": {"type": "RuntimeDefault"}})
)]
fn added_capabilities_never_reach_the_agent_copy(
    #[case] target_sc: Value,
    #[case] want: Value,
    #[values("containers", "initContainers")] list: &str,
) {
    let mut pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-dotnet": "true",
               "instrumentation.opentelemetry.io/container-names": "net"}),
        json!([{"name": "myapp", "image": "acme/app:1"}]),
    );
    let net = json!({"name": "net", "image": "acme/net:1", "securityContext": target_sc});
    match list {
        "containers" => pod["spec"]["containers"]
            .as_array_mut()
            .expect("containers")
            .push(net),
        _ => pod["spec"]["initContainers"] = json!([net]),
    }
    let out = run(&pod, NS, &[dotnet_instrumentation(NS)], &[]);
    assert_eq!(out.decision.outcome(), O::Injected);
    let init = container(&out.mutated, "initContainers", AGENT);
    assert_eq!(init["securityContext"], want);
    assert!(
        init.pointer("/securityContext/capabilities/add").is_none(),
        "{}",
        init["securityContext"]
    );
    assert_eq!(
        init.pointer("/securityContext/capabilities/drop"),
        Some(&json!(["ALL"]))
    );
    // The user's container keeps its own capabilities.
    assert_eq!(
        container(&out.mutated, list, "net")["securityContext"],
        target_sc
    );
}

// === CR defaults: agent image and .NET init-container resources ===

/// The production constants are the operator's documented values (0.158.0). This is the one
/// literal check; every other test compares with the constants, so a wrong constant fails here.
#[test]
fn cr_default_constants_are_the_operators_documented_values() {
    use otel_inject_lib::lang::{java, nodejs, python};
    let res = |req_mem: &str| {
        json!({"limits": {"cpu": "500m", "memory": "256Mi"},
               "requests": {"cpu": "50m", "memory": req_mem}})
    };
    let base = "ghcr.io/open-telemetry/opentelemetry-operator/autoinstrumentation";
    for (image, resources, want_image, want_resources) in [
        (
            dotnet_names::DEFAULT_IMAGE,
            dotnet_names::default_resources(),
            format!("{base}-dotnet:1.16.0"),
            res("128Mi"),
        ),
        (
            java::DEFAULT_IMAGE,
            java::default_resources(),
            format!("{base}-java:2.30.0"),
            res("64Mi"),
        ),
        (
            nodejs::DEFAULT_IMAGE,
            nodejs::default_resources(),
            format!("{base}-nodejs:0.78.0"),
            res("128Mi"),
        ),
        (
            python::DEFAULT_IMAGE,
            python::default_resources(),
            format!("{base}-python:0.64b0"),
            res("64Mi"),
        ),
    ] {
        assert_eq!(image, want_image);
        assert_eq!(resources, want_resources, "{image}");
    }
}

/// Each agent language, with no block in the CR, gets its own default image and resources in
/// its init container.
#[rstest]
#[case::java("java", "opentelemetry-auto-instrumentation-java")]
#[case::nodejs("nodejs", "opentelemetry-auto-instrumentation-nodejs")]
#[case::python("python", "opentelemetry-auto-instrumentation-python")]
fn every_agent_gets_its_own_cr_defaults(#[case] lang: &str, #[case] init_name: &str) {
    use otel_inject_lib::lang::{java, nodejs, python};
    let (image, resources) = match lang {
        "java" => (java::DEFAULT_IMAGE, java::default_resources()),
        "nodejs" => (nodejs::DEFAULT_IMAGE, nodejs::default_resources()),
        _ => (python::DEFAULT_IMAGE, python::default_resources()),
    };
    let pod = deployment_pod(
        NS,
        json!({format!("instrumentation.opentelemetry.io/inject-{lang}"): "true"}),
        dotnet_app(),
    );
    let out = run(&pod, NS, &[instrumentation(NS, "any", json!({}))], &[]);
    let init = container(&out.mutated, "initContainers", init_name);
    assert_eq!(init["image"], json!(image));
    assert_eq!(init["resources"], resources);
}

fn agent_of(spec: Value) -> Value {
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-dotnet": "true"}),
        dotnet_app(),
    );
    let out = run(&pod, NS, &[instrumentation(NS, "dotnet", spec)], &[]);
    container(&out.mutated, "initContainers", AGENT).clone()
}

/// An Instrumentation created without the operator's CR-defaulting webhook still gives an
/// init container with the default image and resources, whatever part of the block is absent.
#[rstest]
#[case::no_dotnet_block(json!({}))]
#[case::empty_dotnet_block(json!({"dotnet": {}}))]
#[case::empty_image(json!({"dotnet": {"image": ""}}))]
#[case::null_image(json!({"dotnet": {"image": null, "env": [{"name": "X", "value": "1"}]}}))]
fn cr_defaults_are_applied_when_the_cr_is_read(#[case] spec: Value) {
    let init = agent_of(spec);
    assert_eq!(init["image"], json!(dotnet_names::DEFAULT_IMAGE));
    assert_eq!(init["resources"], dotnet_names::default_resources());
    assert_eq!(
        init["command"],
        json!([
            "cp",
            "-r",
            dotnet_names::IMAGE_SOURCE,
            dotnet_names::MOUNT_PATH
        ])
    );
}

/// A CR that sets only `limits` or only `requests` gets the default for the other half, as the
/// operator's defaulter does; what it sets is used as written.
#[test]
fn partial_cr_resources_are_completed_with_the_defaults() {
    let defaults = dotnet_names::default_resources();
    let init = agent_of(json!({"dotnet": {"image": "acme/agent:1",
        "resourceRequirements": {"limits": {"cpu": "1", "memory": "1Gi"}}}}));
    assert_eq!(init["image"], json!("acme/agent:1"));
    assert_eq!(
        init["resources"],
        json!({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": defaults["requests"]})
    );
    let init = agent_of(json!({"dotnet": {
        "resourceRequirements": {"requests": {"cpu": "10m", "memory": "16Mi"}}}}));
    assert_eq!(init["image"], json!(dotnet_names::DEFAULT_IMAGE));
    assert_eq!(
        init["resources"],
        json!({"limits": defaults["limits"], "requests": {"cpu": "10m", "memory": "16Mi"}})
    );
}

// === A pod the operator would make invalid ===

/// A user's `OTEL_RESOURCE_ATTRIBUTES` from `valueFrom` (a ConfigMap key, say) cannot be
/// extended. The operator adds a `value` next to the `valueFrom`, and the API server rejects
/// the pod ("may not be specified when `value` is not empty"). We leave the user's entry as
/// written, as every user variable, and the pod stays valid.
#[test]
fn resource_attributes_from_value_from_are_left_alone() {
    let user = json!({"name": "OTEL_RESOURCE_ATTRIBUTES",
                      "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "attrs"}}});
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-sdk": "true"}),
        json!([{"name": "myapp", "image": "acme/app:1", "env": [user.clone()]}]),
    );
    let out = run(&pod, NS, &[dotnet_instrumentation(NS)], &owners());
    let app = container(&out.mutated, "containers", "myapp");
    let entries: Vec<&Value> = app["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["name"] == "OTEL_RESOURCE_ATTRIBUTES")
        .collect();
    assert_eq!(entries, [&user]);
    for e in app["env"].as_array().into_iter().flatten() {
        assert!(
            !(e.get("value").is_some() && e.get("valueFrom").is_some()),
            "invalid env entry (both value and valueFrom): {e}"
        );
    }
}

/// The agent copy takes its place and security context from the first container that really
/// gets the agent, not from a listed one that was skipped (here Argo's `init`, which runs as
/// Argo's executor user): it runs as the app does, after Argo's own init container.
#[test]
fn the_agent_copy_follows_the_first_injected_container_not_a_skipped_one() {
    let mut pod = argo_pod(
        json!({"instrumentation.opentelemetry.io/inject-dotnet": "true",
               "instrumentation.opentelemetry.io/container-names": "init,main"}),
        "init",
        true,
        true,
    );
    pod["spec"]["initContainers"][0]["securityContext"] = json!({"runAsUser": 8737});
    pod["spec"]["containers"][1]["securityContext"] = json!({"runAsUser": 1000});
    let out = run(&pod, NS, &[dotnet_instrumentation(NS)], &[]);
    let inits = out.mutated["spec"]["initContainers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = inits.iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names, ["init", "opentelemetry-auto-instrumentation-dotnet"]);
    assert_eq!(
        inits[1]["securityContext"]["runAsUser"], 1000,
        "{}",
        inits[1]
    );
}

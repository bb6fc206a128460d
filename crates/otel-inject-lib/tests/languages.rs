//! The language-neutral rules, run over every language (rstest `#[values]`/`#[case]`), not only
//! .NET: pod-over-namespace precedence, `ns/name` selection, `container-names` and the
//! per-language lists, Argo Workflows step pods, `kubectl.kubernetes.io/default-container`,
//! init-container targets, the idempotency markers, the agent copy's Pod Security hardening,
//! the `--enable-<language>-instrumentation` switches, and the conflict of several agents
//! without a container list. Every case applies the patch with json-patch and checks that a
//! second pass changes nothing (`common::run_with`).

mod common;

use common::operator::init_names;
use common::*;
use otel_inject_lib::lang::{dotnet, go, java, nodejs, python};
use otel_inject_lib::names::env as envn;
use otel_inject_lib::{InjectOptions, Language, NamespaceInfo, Outcome as O};
use rstest::rstest;
use serde_json::{json, Map, Value};

const NS: &str = "shop";
const JAVA: Language = Language::Java;
const NODEJS: Language = Language::NodeJs;
const PYTHON: Language = Language::Python;
const DOTNET: Language = Language::DotNet;
const GO: Language = Language::Go;
const SDK: Language = Language::Sdk;

/// The options a language is injected with: the defaults, and Go switched on (it is off by
/// default, as in the operator).
fn options(lang: Language) -> InjectOptions {
    let mut o = InjectOptions::default();
    if lang == GO {
        o.set_enabled(GO, true);
    }
    o
}

fn ann_key(suffix: &str) -> String {
    format!("instrumentation.opentelemetry.io/{suffix}")
}

/// The annotations asking for `lang` with `value`, plus what the language needs besides
/// (Go's target executable).
fn ask(lang: Language, value: &str) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(lang.inject_annotation().into(), json!(value));
    if lang == GO {
        m.insert(go::TARGET_EXE_ANNOTATION.into(), json!("/app/server"));
    }
    m
}

fn pod_with(annotations: Map<String, Value>, containers: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "web-0", "namespace": NS, "annotations": annotations},
           "spec": {"containers": containers}})
}

fn apps(names: &[&str]) -> Value {
    Value::Array(
        names
            .iter()
            .map(|n| json!({"name": n, "image": format!("acme/{n}:1")}))
            .collect(),
    )
}

/// An Instrumentation whose endpoint names it, so the one selected can be told apart.
fn inst(ns: &str, name: &str) -> std::sync::Arc<otel_inject_lib::Instrumentation> {
    instrumentation(
        ns,
        name,
        json!({"exporter": {"endpoint": format!("http://{ns}-{name}:4318")}}),
    )
}

fn run_lang(
    pod: &Value,
    ns: &NamespaceInfo,
    insts: &[std::sync::Arc<otel_inject_lib::Instrumentation>],
    opts: &InjectOptions,
) -> Outcome {
    run_with(pod, ns, insts, &[], opts)
}

/// The container that carries `lang`'s env for app container `c`: `c` itself, or Go's
/// sidecar when it describes `c`.
fn env_holder<'a>(pod: &'a Value, list: &str, c: &str, lang: Language) -> Option<&'a Value> {
    if lang == GO {
        let sidecar = pod["spec"]["containers"]
            .as_array()?
            .iter()
            .find(|x| x["name"] == go::SIDECAR)?;
        let attrs = env_value(sidecar, envn::OTEL_RESOURCE_ATTRIBUTES)?;
        return attrs
            .contains(&format!("k8s.container.name={c},"))
            .then_some(sidecar);
    }
    pod["spec"][list]
        .as_array()?
        .iter()
        .find(|x| x["name"] == c)
}

/// Whether `lang` was injected into container `c` (of `list`).
fn injected_into(pod: &Value, list: &str, c: &str, lang: Language) -> bool {
    let Some(h) = env_holder(pod, list, c, lang) else {
        return false;
    };
    let has = |var: &str, part: &str| env_value(h, var).is_some_and(|v| v.contains(part));
    match lang {
        JAVA => has(
            java::JAVA_TOOL_OPTIONS,
            &format!("-javaagent:{}/", java::container_mount_path(c)),
        ),
        NODEJS => has(nodejs::NODE_OPTIONS, nodejs::REQUIRE_ARGUMENT.trim()),
        PYTHON => has(python::PYTHONPATH, python::PYTHONPATH_PREFIX),
        DOTNET => env_value(h, dotnet::OTEL_DOTNET_AUTO_HOME).is_some(),
        GO => has(go::OTEL_GO_AUTO_TARGET_EXE, "/"),
        _ => env_names(h).contains(&envn::OTEL_RESOURCE_ATTRIBUTES_POD_NAME.to_string()),
    }
}

/// The endpoint `lang`'s configuration of `c` exports to.
fn endpoint(pod: &Value, c: &str, lang: Language) -> Option<String> {
    env_holder(pod, "containers", c, lang)
        .and_then(|h| env_value(h, envn::OTEL_EXPORTER_OTLP_ENDPOINT))
        .map(str::to_string)
}

/// The agent's init container, for the languages that copy one.
fn agent_init(lang: Language) -> Option<&'static str> {
    match lang {
        JAVA => Some(java::INIT_CONTAINER),
        NODEJS => Some(nodejs::INIT_CONTAINER),
        PYTHON => Some(python::INIT_CONTAINER),
        DOTNET => Some(dotnet::INIT_CONTAINER),
        _ => None,
    }
}

// === Pod over namespace ===

/// The operator's `annotationValue`: the pod wins, but for a pod `"true"` under a namespace
/// that names an instance (that instance is used).
#[rstest]
#[case::namespace_only(Some("a"), None, Some("a"))]
#[case::pod_name_beats_namespace_name(Some("a"), Some("b"), Some("b"))]
#[case::pod_false_beats_namespace(Some("a"), Some("false"), None)]
#[case::pod_name_beats_namespace_false(Some("false"), Some("a"), Some("a"))]
#[case::namespace_name_beats_pod_true(Some("b"), Some("true"), Some("b"))]
fn pod_annotation_wins_over_the_namespace(
    #[values(JAVA, NODEJS, PYTHON, DOTNET, GO, SDK)] lang: Language,
    #[case] ns_value: Option<&str>,
    #[case] pod_value: Option<&str>,
    #[case] chosen: Option<&str>,
) {
    let mut ns = NamespaceInfo::named(NS);
    if let Some(v) = ns_value {
        ns.annotations
            .insert(lang.inject_annotation().into(), v.into());
    }
    let mut annotations = ask(lang, pod_value.unwrap_or("unused"));
    if pod_value.is_none() {
        annotations.remove(lang.inject_annotation());
    }
    let pod = pod_with(annotations, apps(&["app"]));
    let out = run_lang(&pod, &ns, &[inst(NS, "a"), inst(NS, "b")], &options(lang));
    match chosen {
        Some(name) => {
            assert!(injected_into(&out.mutated, "containers", "app", lang));
            assert_eq!(
                out.decision.languages[0].instrumentation.as_deref(),
                Some(format!("{NS}/{name}").as_str())
            );
            assert_eq!(
                endpoint(&out.mutated, "app", lang),
                Some(format!("http://{NS}-{name}:4318"))
            );
        }
        None => {
            assert_eq!(out.decision.reason(), "annotation_false");
            assert!(out.decision.patch.is_empty());
        }
    }
}

// === `ns/name` selection ===

/// `inject-<lang>: other/a` selects the Instrumentation of namespace `other`, not the pod's
/// own one of the same name; the attributes still describe the pod's namespace.
#[rstest]
fn namespace_and_name_select_across_namespaces(
    #[values(JAVA, NODEJS, PYTHON, DOTNET, GO, SDK)] lang: Language,
) {
    let pod = pod_with(ask(lang, "other/a"), apps(&["app"]));
    let out = run_lang(
        &pod,
        &NamespaceInfo::named(NS),
        &[inst(NS, "a"), inst("other", "a")],
        &options(lang),
    );
    assert_eq!(
        out.decision.languages[0].instrumentation.as_deref(),
        Some("other/a")
    );
    assert_eq!(
        endpoint(&out.mutated, "app", lang),
        Some("http://other-a:4318".to_string())
    );
    let holder = env_holder(&out.mutated, "containers", "app", lang).expect("configured");
    assert!(env_value(holder, envn::OTEL_RESOURCE_ATTRIBUTES)
        .unwrap_or("")
        .contains(&format!("k8s.namespace.name={NS},")));

    // A name without a namespace is looked up in the pod's namespace only.
    let pod = pod_with(ask(lang, "missing"), apps(&["app"]));
    let out = run_lang(
        &pod,
        &NamespaceInfo::named(NS),
        &[inst("other", "missing")],
        &options(lang),
    );
    assert_eq!(out.decision.reason(), "instrumentation_not_found");
    assert!(!injected_into(&out.mutated, "containers", "app", lang));
}

// === `container-names` and `<language>-container-names` ===

/// Which containers a language targets: the first one without a list, else the listed ones;
/// a list naming no container of the pod injects nothing and says what the pod has.
#[rstest]
#[case::no_list_first_container(None, &["app"])]
#[case::common_list(Some(("container-names", "worker")), &["worker"])]
#[case::language_list(Some(("<lang>-container-names", "worker")), &["worker"])]
#[case::no_such_container(Some(("container-names", "nope")), &[])]
fn container_lists_select_the_targets(
    #[values(JAVA, NODEJS, PYTHON, DOTNET, GO, SDK)] lang: Language,
    #[case] list: Option<(&str, &str)>,
    #[case] want: &[&str],
) {
    let mut annotations = ask(lang, "true");
    if let Some((key, value)) = list {
        let key = if key == "<lang>-container-names" {
            lang.containers_annotation().to_string()
        } else {
            ann_key(key)
        };
        annotations.insert(key, json!(value));
    }
    let pod = pod_with(annotations, apps(&["app", "worker", "sidecar"]));
    let out = run_lang(
        &pod,
        &NamespaceInfo::named(NS),
        &[inst(NS, "a")],
        &options(lang),
    );
    for c in ["app", "worker", "sidecar"] {
        assert_eq!(
            injected_into(&out.mutated, "containers", c, lang),
            want.contains(&c),
            "{lang} in {c}"
        );
    }
    if want.is_empty() {
        assert_eq!(out.decision.reason(), "container_not_found");
        assert!(out.decision.warnings[0]
            .contains("no container named nope (the pod has: app, worker, sidecar)"));
        assert!(out.mutated["spec"].get("initContainers").is_none());
        assert!(out.mutated["spec"].get("volumes").is_none());
    }
}

/// Several listed containers share one volume and one copy of the agent (Go instruments
/// one container per pod, so it is not among these).
#[rstest]
fn one_agent_copy_serves_every_listed_container(
    #[values(JAVA, NODEJS, PYTHON, DOTNET, SDK)] lang: Language,
) {
    let mut annotations = ask(lang, "true");
    annotations.insert(ann_key("container-names"), json!("app,worker"));
    let pod = pod_with(annotations, apps(&["app", "worker", "sidecar"]));
    let out = run_lang(
        &pod,
        &NamespaceInfo::named(NS),
        &[inst(NS, "a")],
        &options(lang),
    );
    assert!(injected_into(&out.mutated, "containers", "app", lang));
    assert!(injected_into(&out.mutated, "containers", "worker", lang));
    assert!(!injected_into(&out.mutated, "containers", "sidecar", lang));
    let want: Vec<&str> = agent_init(lang).into_iter().collect();
    assert_eq!(init_names(&out.mutated), want);
}

// === Argo Workflows step pods ===

fn argo_pod(annotations: Map<String, Value>) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "wf-abcde-step-123", "namespace": NS,
                        "labels": {"workflows.argoproj.io/workflow": "wf-abcde"},
                        "annotations": annotations},
           "spec": {"initContainers": [{"name": "init", "image": "quay.io/argoproj/argoexec:v4.1.2"}],
                    "containers": [{"name": "wait", "image": "quay.io/argoproj/argoexec:v4.1.2"},
                                   {"name": "main", "image": "acme/step:1"}]}})
}

/// Without a list, an Argo step pod gets the language in `main`, never in Argo's `init` or
/// `wait` (the operator instruments `containers[0]`, which is `wait`); listed, they are
/// refused all the same.
#[rstest]
fn argo_step_pods_get_main_only(
    #[values(JAVA, NODEJS, PYTHON, DOTNET, GO, SDK)] lang: Language,
    #[values(false, true)] listed: bool,
) {
    let mut annotations = ask(lang, "true");
    if listed {
        annotations.insert(lang.containers_annotation().into(), json!("wait"));
    }
    let pod = argo_pod(annotations);
    let out = run_lang(
        &pod,
        &NamespaceInfo::named(NS),
        &[inst(NS, "a")],
        &options(lang),
    );
    assert!(!injected_into(&out.mutated, "containers", "wait", lang));
    assert!(!injected_into(&out.mutated, "initContainers", "init", lang));
    assert_eq!(
        container(&out.mutated, "containers", "wait"),
        container(&pod, "containers", "wait")
    );
    if listed {
        assert_eq!(out.decision.reason(), "argo_executor_container");
        assert!(!injected_into(&out.mutated, "containers", "main", lang));
        assert_eq!(init_names(&out.mutated), ["init"]);
    } else {
        assert!(injected_into(&out.mutated, "containers", "main", lang));
    }
}

// === kubectl.kubernetes.io/default-container ===

#[rstest]
fn default_container_annotation_names_the_target(
    #[values(JAVA, NODEJS, PYTHON, DOTNET, GO, SDK)] lang: Language,
) {
    let mut annotations = ask(lang, "true");
    annotations.insert(
        "kubectl.kubernetes.io/default-container".into(),
        json!("app"),
    );
    let pod = pod_with(annotations, apps(&["istio-proxy", "app"]));
    let out = run_lang(
        &pod,
        &NamespaceInfo::named(NS),
        &[inst(NS, "a")],
        &options(lang),
    );
    assert!(injected_into(&out.mutated, "containers", "app", lang));
    assert!(!injected_into(
        &out.mutated,
        "containers",
        "istio-proxy",
        lang
    ));
    assert_eq!(
        container(&out.mutated, "containers", "istio-proxy"),
        container(&pod, "containers", "istio-proxy")
    );
}

// === Init-container targets ===

/// A listed init container gets the language, and the agent copy is inserted right before
/// the first listed init container (so the agent is there when it runs), after the ones
/// before it; the regular containers are left alone.
#[rstest]
fn init_container_targets_get_the_copy_before_them(
    #[values(JAVA, NODEJS, PYTHON, DOTNET, SDK)] lang: Language,
) {
    let mut annotations = ask(lang, "true");
    annotations.insert(ann_key("container-names"), json!("seed,migrate"));
    let mut pod = pod_with(annotations, apps(&["app"]));
    pod["spec"]["initContainers"] = apps(&["wait-db", "migrate", "seed"]);
    let out = run_lang(
        &pod,
        &NamespaceInfo::named(NS),
        &[inst(NS, "a")],
        &options(lang),
    );
    let mut want = vec!["wait-db"];
    want.extend(agent_init(lang));
    want.extend(["migrate", "seed"]);
    assert_eq!(init_names(&out.mutated), want);
    for c in ["migrate", "seed"] {
        assert!(
            injected_into(&out.mutated, "initContainers", c, lang),
            "{c}"
        );
        let attrs = env_value(
            container(&out.mutated, "initContainers", c),
            envn::OTEL_RESOURCE_ATTRIBUTES,
        )
        .unwrap_or("");
        assert!(
            attrs.contains(&format!("k8s.container.name={c},")),
            "{attrs}"
        );
    }
    assert!(!injected_into(
        &out.mutated,
        "initContainers",
        "wait-db",
        lang
    ));
    assert_eq!(
        container(&out.mutated, "containers", "app"),
        container(&pod, "containers", "app")
    );
}

/// Go's agent runs beside a regular container: an init container target is refused, with
/// the reason, and nothing is added.
#[test]
fn go_refuses_init_container_targets() {
    let mut annotations = ask(GO, "true");
    annotations.insert(ann_key("container-names"), json!("migrate"));
    let mut pod = pod_with(annotations, apps(&["app"]));
    pod["spec"]["initContainers"] = apps(&["migrate"]);
    let out = run_lang(
        &pod,
        &NamespaceInfo::named(NS),
        &[inst(NS, "a")],
        &options(GO),
    );
    assert_eq!(out.decision.reason(), "go_init_container");
    assert_eq!(out.mutated["spec"], pod["spec"]);
}

// === Idempotency markers ===

/// The value that marks container `c` as already configured for `lang`.
fn marker(lang: Language, c: &str) -> (&'static str, String) {
    match lang {
        JAVA => (java::JAVA_TOOL_OPTIONS, java::jvm_argument(c, false)),
        NODEJS => (nodejs::NODE_OPTIONS, nodejs::REQUIRE_ARGUMENT.into()),
        PYTHON => (
            python::PYTHONPATH,
            format!(
                "{}:{}",
                python::PYTHONPATH_PREFIX,
                python::PYTHONPATH_SUFFIX
            ),
        ),
        DOTNET => (dotnet::OTEL_DOTNET_AUTO_HOME, dotnet::MOUNT_PATH.into()),
        _ => (envn::OTEL_RESOURCE_ATTRIBUTES_POD_NAME, "web-0".into()),
    }
}

/// A container that already carries the language's configuration is skipped (the operator
/// has no per-container marker and would configure it again); the others are injected.
#[rstest]
fn a_marked_container_is_skipped_and_the_others_injected(
    #[values(JAVA, NODEJS, PYTHON, DOTNET, SDK)] lang: Language,
) {
    let (var, value) = marker(lang, "old");
    let mut annotations = ask(lang, "true");
    annotations.insert(ann_key("container-names"), json!("old,new"));
    let pod = pod_with(
        annotations,
        json!([{"name": "old", "image": "acme/old:1", "env": [{"name": var, "value": value}]},
               {"name": "new", "image": "acme/new:1"}]),
    );
    let out = run_lang(
        &pod,
        &NamespaceInfo::named(NS),
        &[inst(NS, "a")],
        &options(lang),
    );
    assert_eq!(
        container(&out.mutated, "containers", "old"),
        container(&pod, "containers", "old")
    );
    assert!(injected_into(&out.mutated, "containers", "new", lang));
    let old = out.decision.languages[0]
        .containers
        .iter()
        .find(|c| c.container == "old")
        .expect("old decided");
    assert_eq!(old.reason.label(), "container_already_injected");
}

/// A pod carrying the operator's markers (an agent init container, Go's sidecar, or
/// `OTEL_RESOURCE_ATTRIBUTES_NODE_NAME`) was instrumented before: no patch at all.
#[rstest]
#[case::java_copy("initContainers", java::INIT_CONTAINER)]
#[case::nodejs_copy("initContainers", nodejs::INIT_CONTAINER)]
#[case::python_copy("initContainers", python::INIT_CONTAINER)]
#[case::dotnet_copy("initContainers", dotnet::INIT_CONTAINER)]
#[case::go_sidecar("containers", go::SIDECAR)]
fn a_pod_with_the_operators_marker_is_left_alone(
    #[case] list: &str,
    #[case] name: &str,
    #[values(JAVA, NODEJS, PYTHON, DOTNET, GO, SDK)] lang: Language,
) {
    let mut pod = pod_with(ask(lang, "true"), apps(&["app"]));
    let marker = json!({"name": name, "image": "agent:1"});
    match list {
        "containers" => pod["spec"]["containers"]
            .as_array_mut()
            .expect("containers")
            .push(marker),
        _ => pod["spec"]["initContainers"] = json!([marker]),
    }
    let out = run_lang(
        &pod,
        &NamespaceInfo::named(NS),
        &[inst(NS, "a")],
        &options(lang),
    );
    assert_eq!(out.decision.outcome(), O::AlreadyInjected);
    assert!(out.decision.patch.is_empty());
}

// === The agent copy's security context ===

/// A pod that requires non-root and a privileged target with added capabilities: the copy
/// drops every privilege and runs as a non-root UID (the operator copies the target's context,
/// privileges and all, and the restricted standard refuses the pod); an explicit
/// `initContainerSecurityContext` is used as written.
#[rstest]
fn the_agent_copy_passes_the_restricted_standard(
    #[values(JAVA, NODEJS, PYTHON, DOTNET)] lang: Language,
) {
    let init = agent_init(lang).expect("an agent copy");
    let mut pod = pod_with(
        ask(lang, "true"),
        json!([{"name": "app", "image": "acme/app:1",
                "securityContext": {"privileged": true, "allowPrivilegeEscalation": true,
                                    "capabilities": {"add": ["NET_ADMIN"]}}}]),
    );
    pod["spec"]["securityContext"] = json!({"runAsNonRoot": true});
    let out = run_lang(
        &pod,
        &NamespaceInfo::named(NS),
        &[inst(NS, "a")],
        &options(lang),
    );
    assert_eq!(
        container(&out.mutated, "initContainers", init)["securityContext"],
        json!({"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
               "seccompProfile": {"type": "RuntimeDefault"},
               "runAsUser": otel_inject_lib::security::NON_ROOT_UID})
    );
    // The app keeps its own.
    assert_eq!(
        container(&out.mutated, "containers", "app")["securityContext"],
        container(&pod, "containers", "app")["securityContext"]
    );

    let explicit = json!({"runAsUser": 1234, "runAsGroup": 1234});
    let written = instrumentation(
        NS,
        "a",
        json!({"initContainerSecurityContext": explicit.clone()}),
    );
    let out = run_lang(&pod, &NamespaceInfo::named(NS), &[written], &options(lang));
    assert_eq!(
        container(&out.mutated, "initContainers", init)["securityContext"],
        explicit
    );
}

// === --enable-<language>-instrumentation ===

/// A language switched off is reported with the flag that switched it off, and nothing of it
/// is written, while another language of the same pod is injected as usual.
#[rstest]
fn a_switched_off_language_is_skipped_and_the_others_injected(
    #[values(JAVA, NODEJS, PYTHON, DOTNET, GO)] off: Language,
) {
    let other = if off == PYTHON { JAVA } else { PYTHON };
    let mut annotations = ask(off, "true");
    annotations.extend(ask(other, "true"));
    annotations.insert(off.containers_annotation().into(), json!("app"));
    annotations.insert(other.containers_annotation().into(), json!("worker"));
    let pod = pod_with(annotations, apps(&["app", "worker"]));
    let mut opts = options(off);
    opts.set_enabled(off, false);
    let out = run_lang(&pod, &NamespaceInfo::named(NS), &[inst(NS, "a")], &opts);

    let by = |l: Language| {
        out.decision
            .languages
            .iter()
            .find(|d| d.language == l)
            .unwrap_or_else(|| panic!("no decision for {l}"))
    };
    assert_eq!(by(off).reason.label(), "language_disabled");
    assert_eq!(by(other).outcome(), O::Injected);
    let flag = format!("--enable-{off}-instrumentation=false");
    assert!(
        by(off).reason.to_string().contains(&flag),
        "{}",
        by(off).reason
    );
    assert!(status(&out.mutated).unwrap_or("").contains(&flag));

    assert!(!injected_into(&out.mutated, "containers", "app", off));
    assert_eq!(
        container(&out.mutated, "containers", "app"),
        container(&pod, "containers", "app")
    );
    assert!(injected_into(&out.mutated, "containers", "worker", other));
    let want: Vec<&str> = agent_init(other).into_iter().collect();
    assert_eq!(init_names(&out.mutated), want);
}

/// The SDK mode has no switch: it is always on (the operator's `inject-sdk` cannot be
/// disabled either).
#[test]
fn the_sdk_mode_cannot_be_switched_off() {
    let mut opts = InjectOptions::default();
    opts.set_enabled(SDK, false);
    let pod = pod_with(ask(SDK, "true"), apps(&["app"]));
    let out = run_lang(&pod, &NamespaceInfo::named(NS), &[inst(NS, "a")], &opts);
    assert!(injected_into(&out.mutated, "containers", "app", SDK));
}

// === Several agents without a container list ===

/// Two agent languages and no container list would share the first container: neither is
/// injected, each says why in the status and a warning, and the spec is unchanged (the
/// operator leaves the pod unchanged with a V(1) log line only). The SDK mode adds no agent,
/// so beside one agent both apply (the operator refuses that too, its issue #3407).
#[rstest]
#[case::java_and_python(JAVA, PYTHON)]
#[case::java_and_nodejs(JAVA, NODEJS)]
#[case::nodejs_and_python(NODEJS, PYTHON)]
#[case::python_and_dotnet(PYTHON, DOTNET)]
#[case::java_and_dotnet(JAVA, DOTNET)]
#[case::dotnet_and_go(DOTNET, GO)]
fn several_agents_without_a_list_are_a_conflict_for_each(
    #[case] first: Language,
    #[case] second: Language,
) {
    let mut annotations = ask(first, "true");
    annotations.extend(ask(second, "true"));
    let pod = pod_with(annotations, apps(&["app", "worker"]));
    let mut opts = options(first);
    opts.set_enabled(GO, true);
    let out = run_lang(&pod, &NamespaceInfo::named(NS), &[inst(NS, "a")], &opts);
    assert_eq!(out.mutated["spec"], pod["spec"], "nothing injected");
    assert_eq!(out.decision.languages.len(), 2);
    for l in &out.decision.languages {
        assert_eq!(l.reason.label(), "container_conflict", "{l:?}");
        assert_eq!(l.outcome(), O::Failed);
        assert!(l
            .reason
            .to_string()
            .contains("provide container names for each language with <language>-container-names"));
    }
    assert_eq!(
        out.decision.warnings.len(),
        2,
        "{:?}",
        out.decision.warnings
    );
    let st = status(&out.mutated).unwrap_or("");
    for l in [first, second] {
        assert!(
            st.contains(&format!(
                "{l}: not injected: several languages would share the default container"
            )),
            "{st}"
        );
    }

    // Control: each with a list of its own, both are injected.
    let mut annotations = ask(first, "true");
    annotations.extend(ask(second, "true"));
    annotations.insert(first.containers_annotation().into(), json!("app"));
    annotations.insert(second.containers_annotation().into(), json!("worker"));
    let listed = pod_with(annotations, apps(&["app", "worker"]));
    let out = run_lang(&listed, &NamespaceInfo::named(NS), &[inst(NS, "a")], &opts);
    assert!(injected_into(&out.mutated, "containers", "app", first));
    assert!(injected_into(&out.mutated, "containers", "worker", second));

    // Control: one agent and the SDK mode without lists share the first container.
    let mut annotations = ask(first, "true");
    annotations.extend(ask(SDK, "true"));
    let with_sdk = pod_with(annotations, apps(&["app", "worker"]));
    let out = run_lang(
        &with_sdk,
        &NamespaceInfo::named(NS),
        &[inst(NS, "a")],
        &opts,
    );
    assert!(injected_into(&out.mutated, "containers", "app", first));
    assert!(injected_into(&out.mutated, "containers", "app", SDK));
}

/// One agent with a list beside one without: the operator refuses both ("provide container
/// names for all instrumentations"), and so do we, naming the one without.
#[rstest]
fn an_agent_without_a_list_beside_one_with_a_list_is_a_conflict(
    #[values(JAVA, NODEJS, PYTHON, DOTNET)] listed: Language,
) {
    let unlisted = if listed == NODEJS { PYTHON } else { NODEJS };
    let mut annotations = ask(listed, "true");
    annotations.extend(ask(unlisted, "true"));
    annotations.insert(listed.containers_annotation().into(), json!("worker"));
    let pod = pod_with(annotations, apps(&["app", "worker"]));
    let out = run_lang(
        &pod,
        &NamespaceInfo::named(NS),
        &[inst(NS, "a")],
        &options(listed),
    );
    assert_eq!(out.mutated["spec"], pod["spec"]);
    assert!(out
        .decision
        .languages
        .iter()
        .all(|l| l.reason.label() == "container_conflict"));
    let w = out.decision.warnings.join("\n");
    assert!(
        w.contains(&format!(
            "{unlisted} has no container list while {listed} has one"
        )),
        "{w}"
    );
}

// === The agent copy's settings from the CR ===

/// The block key of `lang` in the Instrumentation.
fn block_key(lang: Language) -> &'static str {
    match lang {
        JAVA => "java",
        NODEJS => "nodejs",
        PYTHON => "python",
        _ => "dotnet",
    }
}

/// `spec.imagePullPolicy` reaches the agent copy; `volumeLimitSize` sizes its emptyDir, and a
/// `volumeClaimTemplate` replaces the emptyDir with an ephemeral volume.
#[rstest]
fn the_cr_sets_the_copys_pull_policy_and_volume(
    #[values(JAVA, NODEJS, PYTHON, DOTNET)] lang: Language,
) {
    let init = agent_init(lang).expect("an agent copy");
    let pod = pod_with(ask(lang, "true"), apps(&["app"]));
    let run_spec = |spec: Value| {
        run_lang(
            &pod,
            &NamespaceInfo::named(NS),
            &[instrumentation(NS, "a", spec)],
            &options(lang),
        )
        .mutated
    };

    let out = run_spec(json!({"imagePullPolicy": "Always",
                              block_key(lang): {"volumeLimitSize": "500Mi"}}));
    assert_eq!(
        container(&out, "initContainers", init)["imagePullPolicy"],
        json!("Always")
    );
    assert_eq!(
        out["spec"]["volumes"],
        json!([{"name": init, "emptyDir": {"sizeLimit": "500Mi"}}])
    );

    let template = json!({"spec": {"accessModes": ["ReadWriteOnce"],
                                   "resources": {"requests": {"storage": "1Gi"}}}});
    let out = run_spec(json!({block_key(lang): {"volumeClaimTemplate": template.clone()}}));
    assert_eq!(
        out["spec"]["volumes"],
        json!([{"name": init, "ephemeral": {"volumeClaimTemplate": template}}])
    );
    assert!(container(&out, "initContainers", init)
        .get("imagePullPolicy")
        .is_none());
}

/// Two languages on one init container: each copy goes before it, in the operator's language
/// order, after the init containers that come first.
#[rstest]
#[case::java_and_python(JAVA, PYTHON)]
#[case::nodejs_and_dotnet(NODEJS, DOTNET)]
#[case::python_and_sdk(PYTHON, SDK)]
fn two_languages_on_one_init_container_get_their_copies_before_it(
    #[case] first: Language,
    #[case] second: Language,
) {
    let mut annotations = ask(first, "true");
    annotations.extend(ask(second, "true"));
    annotations.insert(ann_key("container-names"), json!("migrate"));
    let mut pod = pod_with(annotations, apps(&["app"]));
    pod["spec"]["initContainers"] = apps(&["wait-db", "migrate"]);
    let out = run_lang(
        &pod,
        &NamespaceInfo::named(NS),
        &[inst(NS, "a")],
        &options(first),
    );
    let mut want = vec!["wait-db"];
    want.extend(agent_init(first));
    want.extend(agent_init(second));
    want.push("migrate");
    assert_eq!(init_names(&out.mutated), want);
    assert!(injected_into(
        &out.mutated,
        "initContainers",
        "migrate",
        first
    ));
    assert!(injected_into(
        &out.mutated,
        "initContainers",
        "migrate",
        second
    ));
}

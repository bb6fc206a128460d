//! The entry point: from a [`PodContext`] to an [`InjectionDecision`]. Resolution and container
//! selection follow the operator; per-language failures do not cancel other languages, an agent
//! is only copied when a container will use it, and SDK settings are written once per container.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::Value;

use crate::annotations::{
    container_list, is_explicit_false, AnnotationError, DotnetRuntime, InjectTarget, Language,
};
use crate::context::PodContext;
use crate::decision::{ContainerDecision, InjectionDecision, LanguageDecision, Reason};
use crate::instrumentation::Instrumentation;
use crate::names::{
    annotation, env as envn, label, COLLECTOR_SIDECAR, GO_SIDECAR, INJECTED_INIT_CONTAINERS,
};
use crate::patch::{ContainerRef, PatchBuilder};
use crate::pod::{container, ContainerList, PodView};
use crate::sdk::{self, SdkInputs};
use crate::{dotnet, security};

/// Containers of Argo Workflows' executor, never instrumented.
const ARGO_EXECUTOR_CONTAINERS: &[&str] = &["init", "wait", "supervisor"];
const ARGO_EXECUTOR_PREFIXES: &[&str] = &["artifact-plugin-", "init-artifact-"];

fn is_argo_executor(name: &str) -> bool {
    ARGO_EXECUTOR_CONTAINERS.contains(&name)
        || ARGO_EXECUTOR_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The operator's `isAutoInstrumentationInjected`.
fn already_injected(pod: &PodView<'_>) -> bool {
    let init = pod.container_names(ContainerList::Init);
    if init.iter().any(|n| INJECTED_INIT_CONTAINERS.contains(n)) {
        return true;
    }
    pod.containers(ContainerList::Regular).iter().any(|c| {
        let name = container::name(c);
        name == GO_SIDECAR
            || (name != COLLECTOR_SIDECAR
                && container::env_index(c, envn::OTEL_RESOURCE_ATTRIBUTES_NODE_NAME).is_some())
    })
}

fn resolve(ctx: &PodContext<'_>, target: &InjectTarget) -> Result<Arc<Instrumentation>, Reason> {
    let ns = &ctx.namespace.name;
    match target {
        InjectTarget::OnlyInNamespace => {
            let here: Vec<&Arc<Instrumentation>> = ctx
                .instrumentations
                .iter()
                .filter(|i| i.metadata.namespace.as_deref() == Some(ns.as_str()))
                .collect();
            match here.as_slice() {
                [] => Err(Reason::NoInstrumentation {
                    namespace: ns.clone(),
                }),
                [one] => Ok(Arc::clone(one)),
                many => {
                    let mut names: Vec<String> = many
                        .iter()
                        .map(|i| i.metadata.name.clone().unwrap_or_default())
                        .collect();
                    names.sort();
                    Err(Reason::SeveralInstrumentations {
                        namespace: ns.clone(),
                        names,
                    })
                }
            }
        }
        InjectTarget::Named { namespace, name } => {
            let want_ns = namespace.as_deref().unwrap_or(ns);
            ctx.instrumentations
                .iter()
                .find(|i| {
                    i.metadata.namespace.as_deref() == Some(want_ns)
                        && i.metadata.name.as_deref() == Some(name.as_str())
                })
                .cloned()
                .ok_or_else(|| Reason::InstrumentationNotFound {
                    key: format!("{want_ns}/{name}"),
                })
        }
    }
}

fn supported(lang: Language, ctx: &PodContext<'_>) -> Result<(), Reason> {
    match lang {
        Language::Sdk => Ok(()),
        Language::DotNet if ctx.options.enable_dotnet => Ok(()),
        Language::DotNet => Err(Reason::LanguageDisabled),
        _ => Err(Reason::LanguageNotSupported),
    }
}

/// A language that will be injected, with its Instrumentation and optional explicit targets.
struct Planned {
    lang: Language,
    inst: Arc<Instrumentation>,
    explicit: Option<Vec<String>>,
}

/// The container a language without a list targets: Argo's `main`, the
/// `kubectl.kubernetes.io/default-container`, else the first container.
fn default_container(pod: &PodView<'_>, argo: bool) -> Option<String> {
    let regular = pod.container_names(ContainerList::Regular);
    if argo {
        if regular.contains(&"main") {
            return Some("main".into());
        }
        if let Some(d) = pod.annotation(annotation::DEFAULT_CONTAINER) {
            if regular.contains(&d) && !is_argo_executor(d) {
                return Some(d.to_string());
            }
        }
        return regular
            .iter()
            .find(|n| !is_argo_executor(n))
            .map(|n| n.to_string());
    }
    if let Some(d) = pod.annotation(annotation::DEFAULT_CONTAINER) {
        if regular.contains(&d) {
            return Some(d.to_string());
        }
    }
    regular.first().map(|n| n.to_string())
}

/// Every container by name, regular containers winning over init containers of the same name
/// (as `find_container` has it, and the operator).
fn container_index<'a>(
    pod: &PodView<'a>,
) -> std::collections::HashMap<&'a str, (ContainerList, usize)> {
    let mut index = std::collections::HashMap::new();
    for list in [ContainerList::Regular, ContainerList::Init] {
        for (i, name) in pod.container_names(list).into_iter().enumerate() {
            index.entry(name).or_insert((list, i));
        }
    }
    index
}

fn duplicates(list: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut dup = BTreeSet::new();
    for n in list {
        if !seen.insert(n) {
            dup.insert(n.clone());
        }
    }
    dup.into_iter().collect()
}

/// Decides what to inject into the pod in `ctx`. Never panics on any JSON input.
pub fn mutate(ctx: &PodContext<'_>) -> InjectionDecision {
    let pod = PodView::new(ctx.pod);
    let mut decision = InjectionDecision {
        pod: pod.display_name(),
        ..Default::default()
    };
    if !ctx.pod.is_object() {
        decision.pod_reason = Some(Reason::MalformedPod("it is not a JSON object".into()));
        return decision;
    }
    let regular = pod.containers(ContainerList::Regular);
    if regular.is_empty() {
        decision.pod_reason = Some(Reason::MalformedPod(
            "spec.containers is empty or missing".into(),
        ));
        return decision;
    }

    let ns_ann = &ctx.namespace.annotations;
    let pod_ann = pod.annotations();

    // Which languages are asked for, and with what.
    let mut requested: Vec<(Language, Result<InjectTarget, Reason>)> = Vec::new();
    for lang in Language::ALL {
        match InjectTarget::for_language(ns_ann, &pod_ann, lang) {
            Ok(Some(t)) => requested.push((lang, Ok(t))),
            Ok(None) if is_explicit_false(ns_ann, &pod_ann, lang) => {
                decision
                    .languages
                    .push(LanguageDecision::without_containers(
                        lang,
                        Reason::AnnotationFalse,
                    ));
            }
            Ok(None) => {}
            Err(e) => requested.push((lang, Err(Reason::InvalidAnnotation(e)))),
        }
    }
    if requested.is_empty() {
        if decision.languages.is_empty() {
            decision.pod_reason = Some(Reason::NotAnnotated);
        }
        // Explicit opt-outs alone change nothing: no status, no patch.
        return decision;
    }
    if already_injected(&pod) {
        decision.languages.clear();
        decision.pod_reason = Some(Reason::PodAlreadyInjected);
        return decision;
    }

    // Resolve Instrumentations; a failure affects only its own language.
    let mut planned: Vec<Planned> = Vec::new();
    for (lang, target) in requested {
        let resolved = target
            .and_then(|t| supported(lang, ctx).map(|()| t))
            .and_then(|t| resolve(ctx, &t));
        match resolved {
            Ok(inst) => planned.push(Planned {
                lang,
                inst,
                explicit: None,
            }),
            Err(reason) => decision
                .languages
                .push(LanguageDecision::without_containers(lang, reason)),
        }
    }

    // Container lists.
    let lists = (|| -> Result<(), AnnotationError> {
        let common = container_list(ns_ann, &pod_ann, annotation::CONTAINER_NAMES)?;
        for p in &mut planned {
            p.explicit = common.clone();
            if ctx.options.multi_instrumentation {
                if let Some(mut own) =
                    container_list(ns_ann, &pod_ann, p.lang.containers_annotation())?
                {
                    p.explicit.get_or_insert_with(Vec::new).append(&mut own);
                }
            }
        }
        Ok(())
    })();
    let conflict = match lists {
        Err(e) => Some(Reason::InvalidAnnotation(e)),
        Ok(()) => {
            let dups: Vec<String> = planned
                .iter()
                .flat_map(|p| p.explicit.as_deref().map(duplicates).unwrap_or_default())
                .collect();
            let agents_without_list: Vec<Language> = planned
                .iter()
                .filter(|p| p.lang.has_agent() && p.explicit.is_none())
                .map(|p| p.lang)
                .collect();
            if !dups.is_empty() {
                Some(Reason::ContainerConflict(format!(
                    "duplicated container names detected: [{}]; name each container once across container-names and the <language>-container-names annotations",
                    dups.join(" ")
                )))
            } else if agents_without_list.len() > 1 {
                Some(Reason::ContainerConflict(
                    "several languages would share the default container; provide container names for each language with <language>-container-names".into(),
                ))
            } else {
                None
            }
        }
    };
    if let Some(reason) = conflict {
        for p in planned.drain(..) {
            let mut l = LanguageDecision::without_containers(p.lang, reason.clone());
            l.instrumentation = Some(p.inst.key());
            decision.languages.push(l);
        }
    }

    let argo = ctx.options.argo_workflows_aware && pod.label(label::ARGO_WORKFLOW).is_some();
    let mut builder = PatchBuilder::new(ctx.pod);
    // Containers whose SDK configuration was written in this mutation, and by which language.
    // Which language configured each container first (a map: one lookup per container).
    let mut configured: std::collections::HashMap<String, Language> =
        std::collections::HashMap::new();

    for p in &planned {
        let mut lang_decision = LanguageDecision {
            language: p.lang,
            instrumentation: Some(p.inst.key()),
            reason: Reason::Injected,
            containers: Vec::new(),
        };
        // Targets: init containers first in pod order, then regular ones in list order.
        let wanted: Vec<String> = match &p.explicit {
            Some(list) => list.clone(),
            None => default_container(&pod, argo).into_iter().collect(),
        };
        // Names looked up in one index, not one scan of the pod per listed name: a pod that
        // lists thousands of containers costs linear time.
        let in_pod = container_index(&pod);
        let mut init_targets: Vec<(usize, String)> = Vec::new();
        let mut regular_targets: Vec<String> = Vec::new();
        for name in &wanted {
            match in_pod.get(name.as_str()) {
                Some((ContainerList::Init, i)) => init_targets.push((*i, name.clone())),
                Some((ContainerList::Regular, _)) => regular_targets.push(name.clone()),
                None => {}
            }
        }
        init_targets.sort();
        let mut targets: Vec<String> = init_targets.into_iter().map(|(_, n)| n).collect();
        targets.extend(regular_targets);
        targets.dedup();
        if targets.is_empty() {
            let mut available: Vec<String> = pod
                .container_names(ContainerList::Init)
                .into_iter()
                .chain(pod.container_names(ContainerList::Regular))
                .map(str::to_string)
                .collect();
            available.dedup();
            lang_decision.reason = Reason::ContainerNotFound { wanted, available };
            decision.languages.push(lang_decision);
            continue;
        }

        let owner_attrs = sdk::owner_attributes(&pod, ctx.owners, p.inst.spec.add_uid_attributes());
        let inputs = SdkInputs {
            inst: &p.inst,
            ns: ctx.namespace,
            pod,
            owners: &owner_attrs,
            argo,
        };
        let runtime = DotnetRuntime::from_annotations(ns_ann, &pod_ann);
        let mut injected_targets: Vec<String> = Vec::new();

        // The working copy's own index: an earlier language's pod step may have inserted an
        // init container, which moves the init containers after it.
        let in_copy: std::collections::HashMap<String, ContainerRef> =
            container_index(&PodView::new(builder.doc()))
                .into_iter()
                .map(|(n, (list, index))| (n.to_string(), ContainerRef { list, index }))
                .collect();
        for name in &targets {
            let Some(&cref) = in_copy.get(name.as_str()) else {
                continue;
            };
            let c = builder.container(cref);
            let skip = if argo && is_argo_executor(name) {
                Some(Reason::ArgoExecutorContainer)
            } else {
                match p.lang {
                    Language::DotNet => match &runtime {
                        Err(e) => Some(Reason::InvalidAnnotation(e.clone())),
                        Ok(_) => dotnet::validate(c, &p.inst),
                    },
                    _ => None,
                }
            };
            if let Some(reason) = skip {
                lang_decision.containers.push(ContainerDecision {
                    container: name.clone(),
                    reason,
                });
                continue;
            }
            let earlier = configured.get(name).copied();
            match (p.lang, earlier) {
                (Language::Sdk, Some(agent)) => {
                    lang_decision.containers.push(ContainerDecision {
                        container: name.clone(),
                        reason: Reason::ConfiguredByAgent(agent),
                    });
                    continue;
                }
                (Language::Sdk, None)
                    if container::env_index(c, envn::OTEL_RESOURCE_ATTRIBUTES_POD_NAME)
                        .is_some() =>
                {
                    lang_decision.containers.push(ContainerDecision {
                        container: name.clone(),
                        reason: Reason::ContainerAlreadyInjected(
                            envn::OTEL_RESOURCE_ATTRIBUTES_POD_NAME.into(),
                        ),
                    });
                    continue;
                }
                _ => {}
            }
            if p.lang == Language::DotNet {
                dotnet::inject_container_env_and_mount(&mut builder, cref, &p.inst);
            }
            sdk::inject_common_env(&mut builder, cref, &p.inst);
            if p.lang == Language::DotNet {
                dotnet::inject_defaults(&mut builder, cref, runtime.clone().unwrap_or_default());
            }
            if earlier.is_none() {
                sdk::inject_sdk_config(&mut builder, cref, &inputs);
                configured.entry(name.clone()).or_insert(p.lang);
            }
            injected_targets.push(name.clone());
            lang_decision.containers.push(ContainerDecision {
                container: name.clone(),
                reason: Reason::Injected,
            });
        }

        if injected_targets.is_empty() {
            lang_decision.reason = lang_decision
                .containers
                .first()
                .map(|c| c.reason.clone())
                .unwrap_or(Reason::ContainerNotFound {
                    wanted: targets.clone(),
                    available: Vec::new(),
                });
        } else {
            decision
                .warnings
                .extend(owner_attrs.warnings.iter().cloned());
            if p.lang == Language::DotNet {
                inject_dotnet_pod(&mut builder, &p.inst, &injected_targets, &pod);
            }
        }
        decision.languages.push(lang_decision);
    }

    // Report languages in the operator's order.
    decision.languages.sort_by_key(|l| l.language);
    for l in &decision.languages {
        if l.reason.warrants_warning() {
            decision.warnings.push(format!(
                "otel-inject: {} not injected into pod {}: {}",
                l.language, decision.pod, l.reason
            ));
        }
        for c in l
            .containers
            .iter()
            .filter(|c| !c.injected() && c.reason.warrants_warning())
        {
            decision.warnings.push(format!(
                "otel-inject: {} not injected into container {} of pod {}: {}",
                l.language, c.container, decision.pod, c.reason
            ));
        }
    }
    decision.warnings.dedup();

    // A pod that already carries our status and got nothing new keeps the first answer:
    // re-invocation (reinvocationPolicy: IfNeeded) must not rewrite it.
    let injected_now = decision
        .languages
        .iter()
        .any(|l| l.outcome() == crate::decision::Outcome::Injected);
    let has_status = pod.annotation(annotation::STATUS).is_some();
    if has_status && !injected_now {
        decision.patch = json_patch::Patch(Vec::new());
    } else {
        if let Some(status) = decision.status() {
            // Never the annotation that takes the pod past the API server's limit on annotations:
            // shorten it to what is left, or, with next to nothing left, leave it out (the
            // warnings and the log line still say why).
            let others: usize = pod_ann
                .iter()
                .filter(|(k, _)| k.as_str() != annotation::STATUS)
                .map(|(k, v)| k.len() + v.len())
                .sum();
            let room = crate::decision::MAX_ANNOTATIONS_BYTES
                .saturating_sub(others + annotation::STATUS.len());
            if room >= 64 {
                builder.set_member(
                    &["metadata", "annotations"],
                    annotation::STATUS,
                    Value::String(crate::decision::truncate_marked(&status, room)),
                );
            } else {
                decision.warnings.push(format!(
                    "otel-inject: no room for the {} annotation: the pod's annotations are at the API server's 256 KiB limit",
                    annotation::STATUS
                ));
            }
        }
        decision.patch = builder.into_patch();
    }
    // Last, so that every warning, the status's own included, is under the caps.
    cap_warnings(&mut decision.warnings);
    decision
}

/// Each warning at most [`MAX_WARNING_BYTES`], and at most [`MAX_WARNINGS`] of them: the API
/// server and kubectl carry them in a response header, and they quote what the user wrote.
///
/// [`MAX_WARNING_BYTES`]: crate::decision::MAX_WARNING_BYTES
/// [`MAX_WARNINGS`]: crate::decision::MAX_WARNINGS
fn cap_warnings(warnings: &mut Vec<String>) {
    use crate::decision::{truncate_marked, MAX_WARNINGS, MAX_WARNING_BYTES};
    if warnings.len() > MAX_WARNINGS {
        let more = warnings.len() - (MAX_WARNINGS - 1);
        warnings.truncate(MAX_WARNINGS - 1);
        warnings.push(format!(
            "otel-inject: {more} more warnings left out (the status annotation and `otel-inject explain` give every container's reason)"
        ));
    }
    for w in warnings.iter_mut().filter(|w| w.len() > MAX_WARNING_BYTES) {
        *w = truncate_marked(w, MAX_WARNING_BYTES);
    }
}

/// The pod-level .NET step: volume and init container, once, where the operator puts them,
/// and only because at least one container will use them.
fn inject_dotnet_pod(
    b: &mut PatchBuilder,
    inst: &Instrumentation,
    targets: &[String],
    original: &PodView<'_>,
) {
    use crate::names::dotnet as d;
    let view = PodView::new(b.doc());
    if view
        .container_names(ContainerList::Init)
        .contains(&d::INIT_CONTAINER)
    {
        return;
    }
    if !view.volume_names().contains(&d::VOLUME) {
        b.push(&["spec", "volumes"], dotnet::volume(inst));
    }
    let first = &targets[0];
    let first_container = original.find_container(first).map(|(_, _, c)| c);
    let explicit = inst
        .spec
        .init_container_security_context
        .as_ref()
        .and_then(|sc| serde_json::to_value(sc).ok());
    let sc =
        security::init_container_security_context(explicit.as_ref(), first_container, original);
    let init = dotnet::init_container(inst, sc);
    match b.find_container(first) {
        Some(ContainerRef {
            list: ContainerList::Init,
            index,
        }) => b.insert(&["spec", "initContainers"], index, init),
        _ => b.push(&["spec", "initContainers"], init),
    }
}

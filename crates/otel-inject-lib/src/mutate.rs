//! The entry point: from a [`PodContext`] to an [`InjectionDecision`]. Resolution and container
//! selection follow the operator; per-language failures do not cancel other languages, an agent
//! is only copied when a container will use it, and SDK settings are written once per container.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::Value;

use crate::annotations::{
    container_list, is_explicit_false, AnnotationError, InjectTarget, Language,
};
use crate::context::PodContext;
use crate::decision::{ContainerDecision, InjectionDecision, LanguageDecision, Reason};
use crate::instrumentation::Instrumentation;
use crate::lang::{self, Annotations, LangCx, Unit};
use crate::names::{
    annotation, env as envn, label, COLLECTOR_SIDECAR, GO_SIDECAR, INJECTED_INIT_CONTAINERS,
};
use crate::patch::{ContainerRef, PatchBuilder};
use crate::pod::{container, ContainerList, PodView};
use crate::sdk::{self, OwnerAttributes, SdkInputs};

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

/// The language's unit, if otel-inject injects it and this deployment has it switched on.
fn supported(lang: Language, ctx: &PodContext<'_>) -> Result<&'static dyn Unit, Reason> {
    let unit = lang::unit(lang).ok_or(Reason::LanguageNotSupported)?;
    if ctx.options.enabled(lang) {
        Ok(unit)
    } else {
        Err(Reason::LanguageDisabled(lang))
    }
}

/// A language that will be injected, with its Instrumentation and optional explicit targets.
struct Planned {
    lang: Language,
    unit: &'static dyn Unit,
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
    names: impl Fn(ContainerList) -> Vec<&'a str>,
) -> HashMap<&'a str, (ContainerList, usize)> {
    let mut index = HashMap::new();
    for list in [ContainerList::Regular, ContainerList::Init] {
        for (i, name) in names(list).into_iter().enumerate() {
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
///
/// The pipeline: what is requested, which Instrumentation, which containers, each language's
/// injection (its unit's steps, [`crate::lang`]), the warnings and the status.
pub fn mutate(ctx: &PodContext<'_>) -> InjectionDecision {
    let pod = PodView::new(ctx.pod);
    let mut decision = InjectionDecision {
        pod: pod.display_name(),
        ..Default::default()
    };
    if let Some(reason) = malformed(ctx.pod, &pod) {
        decision.pod_reason = Some(reason);
        return decision;
    }
    let pod_ann = pod.annotations();
    let requested = requested(&ctx.namespace.annotations, &pod_ann, &mut decision);
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
    let mut planned = instrumentations(ctx, requested, &mut decision);
    assign_container_lists(ctx, &pod_ann, &mut planned, &mut decision);

    let mut run = Injection {
        ctx,
        pod,
        pod_ann: &pod_ann,
        argo: ctx.options.argo_workflows_aware && pod.label(label::ARGO_WORKFLOW).is_some(),
        builder: PatchBuilder::new(ctx.pod),
        configured: HashMap::new(),
        owners: [None, None],
        owners_used: false,
        injected: Vec::new(),
    };
    for p in &planned {
        let l = run.language(p);
        decision.languages.push(l);
    }
    // The lookups that failed are the same with or without the UIDs: said once.
    if let Some(owners) = run
        .owners
        .iter()
        .flatten()
        .next()
        .filter(|_| run.owners_used)
    {
        decision.warnings.extend(owners.warnings.iter().cloned());
    }
    finish(&pod, &pod_ann, decision, run.builder)
}

/// Why the pod cannot be decided about at all, if it cannot.
fn malformed(raw: &Value, pod: &PodView<'_>) -> Option<Reason> {
    if !raw.is_object() {
        return Some(Reason::MalformedPod("it is not a JSON object".into()));
    }
    if pod.containers(ContainerList::Regular).is_empty() {
        return Some(Reason::MalformedPod(
            "spec.containers is empty or missing".into(),
        ));
    }
    None
}

/// Which languages are asked for, and with what; explicit opt-outs are recorded as such.
fn requested(
    ns_ann: &Annotations,
    pod_ann: &Annotations,
    decision: &mut InjectionDecision,
) -> Vec<(Language, Result<InjectTarget, Reason>)> {
    let mut requested = Vec::new();
    for lang in Language::ALL {
        match InjectTarget::for_language(ns_ann, pod_ann, lang) {
            Ok(Some(t)) => requested.push((lang, Ok(t))),
            Ok(None) if is_explicit_false(ns_ann, pod_ann, lang) => {
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
    requested
}

/// Each requested language's unit and Instrumentation; a failure affects only its language.
fn instrumentations(
    ctx: &PodContext<'_>,
    requested: Vec<(Language, Result<InjectTarget, Reason>)>,
    decision: &mut InjectionDecision,
) -> Vec<Planned> {
    let mut planned = Vec::new();
    for (lang, target) in requested {
        let resolved = target.and_then(|t| {
            let unit = supported(lang, ctx)?;
            Ok((unit, resolve(ctx, &t)?))
        });
        match resolved {
            Ok((unit, inst)) => planned.push(Planned {
                lang,
                unit,
                inst,
                explicit: None,
            }),
            Err(reason) => decision
                .languages
                .push(LanguageDecision::without_containers(lang, reason)),
        }
    }
    planned
}

/// The container lists (`container-names`, then the language's own when multi-instrumentation
/// is on); contradicting lists fail every planned language, as they would in the operator.
fn assign_container_lists(
    ctx: &PodContext<'_>,
    pod_ann: &Annotations,
    planned: &mut Vec<Planned>,
    decision: &mut InjectionDecision,
) {
    let ns_ann = &ctx.namespace.annotations;
    let lists = (|| -> Result<(), AnnotationError> {
        let common = container_list(ns_ann, pod_ann, annotation::CONTAINER_NAMES)?;
        for p in planned.iter_mut() {
            p.explicit = common.clone();
            if ctx.options.multi_instrumentation {
                if let Some(mut own) =
                    container_list(ns_ann, pod_ann, p.lang.containers_annotation())?
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
            // The SDK mode adds no agent: it never conflicts with one (README, Differences).
            let (with_list, without_list): (Vec<&Planned>, Vec<&Planned>) = planned
                .iter()
                .filter(|p| p.lang.has_agent())
                .partition(|p| p.explicit.is_some());
            let names = |ps: &[&Planned]| {
                ps.iter()
                    .map(|p| p.lang.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            // The operator checks which languages have lists only with multi-instrumentation
            // on; off, every language goes to `container-names` or the first container.
            let multi = ctx.options.multi_instrumentation;
            if !dups.is_empty() {
                Some(Reason::ContainerConflict(format!(
                    "duplicated container names detected: [{}]; name each container once across container-names and the <language>-container-names annotations",
                    dups.join(" ")
                )))
            } else if !multi {
                None
            } else if without_list.len() > 1 {
                Some(Reason::ContainerConflict(
                    "several languages would share the default container; provide container names for each language with <language>-container-names".into(),
                ))
            } else if !without_list.is_empty() && !with_list.is_empty() {
                Some(Reason::ContainerConflict(format!(
                    "{} has no container list while {} has one; provide container names for each language with <language>-container-names",
                    names(&without_list),
                    names(&with_list)
                )))
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
}

/// The mutation under way: the working copy, and what every language shares.
struct Injection<'c, 'a> {
    ctx: &'c PodContext<'a>,
    /// The pod as it came in (selection and security contexts read it, never the copy).
    pod: PodView<'a>,
    pod_ann: &'c Annotations,
    /// The pod is an Argo Workflows step (and Argo awareness is on).
    argo: bool,
    builder: PatchBuilder<'a>,
    /// Which language configured each container first (one lookup per container).
    configured: HashMap<String, Language>,
    /// Owner attributes, computed once per pod (with and without the UIDs).
    owners: [Option<OwnerAttributes>; 2],
    /// Whether a language was injected, so that missing owners are warned about (once).
    owners_used: bool,
    /// The languages injected so far, in order (a unit may not share the pod with another).
    injected: Vec<Language>,
}

impl Injection<'_, '_> {
    /// The containers `p` targets: init containers first in pod order, then regular ones in
    /// list order; or why there are none.
    fn targets(&self, p: &Planned) -> Result<Vec<String>, Reason> {
        let wanted: Vec<String> = match &p.explicit {
            Some(list) => list.clone(),
            None => default_container(&self.pod, self.argo)
                .into_iter()
                .collect(),
        };
        // Names looked up in one index, not one scan of the pod per listed name: a pod that
        // lists thousands of containers costs linear time.
        let in_pod = container_index(|list| self.pod.container_names(list));
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
            let mut available: Vec<String> = self
                .pod
                .container_names(ContainerList::Init)
                .into_iter()
                .chain(self.pod.container_names(ContainerList::Regular))
                .map(str::to_string)
                .collect();
            available.dedup();
            return Err(Reason::ContainerNotFound { wanted, available });
        }
        Ok(targets)
    }

    /// One language: each target container through the unit's steps, then the pod step.
    fn language(&mut self, p: &Planned) -> LanguageDecision {
        let mut out = LanguageDecision {
            language: p.lang,
            instrumentation: Some(p.inst.key()),
            spec_hash: Some(crate::injected::spec_hash(&p.inst.spec)),
            reason: Reason::Injected,
            containers: Vec::new(),
        };
        let targets = match self.targets(p) {
            Ok(t) => t,
            Err(reason) => {
                out.reason = reason;
                return out;
            }
        };
        let ns_ann = &self.ctx.namespace.annotations;
        let variant = p.unit.variant(ns_ann, self.pod_ann);
        let add_uid = p.inst.spec.add_uid_attributes();
        let (pod, owner_objects) = (self.pod, self.ctx.owners);
        let owners: &OwnerAttributes = self.owners[usize::from(add_uid)]
            .get_or_insert_with(|| sdk::owner_attributes(&pod, owner_objects, add_uid));
        let inputs = SdkInputs {
            inst: &p.inst,
            ns: self.ctx.namespace,
            pod: self.pod,
            owners,
            argo: self.argo,
        };
        let cx = LangCx {
            inst: &p.inst,
            variant: variant.as_ref().copied().unwrap_or(""),
            pod: self.pod,
            ns: self.ctx.namespace,
            targets: &targets,
            sdk: &inputs,
            before: &self.injected,
        };

        // The working copy's own index: an earlier language's pod step may have inserted an
        // init container, which moves the init containers after it.
        let in_copy: HashMap<String, ContainerRef> =
            container_index(|list| self.builder.container_names(list))
                .into_iter()
                .map(|(n, (list, index))| (n.to_string(), ContainerRef { list, index }))
                .collect();
        let mut injected: Vec<&str> = Vec::new();
        for name in &targets {
            let Some(&cref) = in_copy.get(name.as_str()) else {
                continue;
            };
            let earlier = self.configured.get(name).copied();
            let skip = if self.argo && is_argo_executor(name) {
                Some(Reason::ArgoExecutorContainer)
            } else if let (false, Some(agent)) = (p.lang.has_agent(), earlier) {
                Some(Reason::ConfiguredByAgent(agent))
            } else if let Err(e) = &variant {
                Some(Reason::InvalidAnnotation(e.clone()))
            } else {
                p.unit
                    .validate(&self.builder.container(cref).as_value(), cref.list, &cx)
            };
            if let Some(reason) = skip {
                out.containers.push(ContainerDecision {
                    container: name.clone(),
                    reason,
                });
                continue;
            }
            let b = &mut self.builder;
            let envc = p.unit.env_target(b, cref, &cx);
            p.unit.container_env_and_mount(b, envc, &cx);
            sdk::inject_common_env(b, envc, &p.inst);
            p.unit.default_env(b, envc, &cx);
            if envc != cref {
                // The agent runs beside the app: its container is configured, describing the
                // app, and the app's own env stays free for a language in its process.
                sdk::inject_sdk_config(b, envc, cref, &inputs);
            } else if earlier.is_none() {
                sdk::inject_sdk_config(b, envc, cref, &inputs);
                self.configured.insert(name.clone(), p.lang);
            }
            injected.push(name);
            out.containers.push(ContainerDecision {
                container: name.clone(),
                reason: Reason::Injected,
            });
        }

        match injected.first() {
            None => {
                out.reason = out.containers.first().map(|c| c.reason.clone()).unwrap_or(
                    Reason::ContainerNotFound {
                        wanted: targets.clone(),
                        available: Vec::new(),
                    },
                );
            }
            Some(first) => {
                self.owners_used = true;
                let sc = cx.init_security_context(first);
                p.unit.pod(&mut self.builder, &cx, first, sc);
                self.injected.push(p.lang);
            }
        }
        out
    }
}

/// Warnings, the status annotation and the patch.
fn finish(
    pod: &PodView<'_>,
    pod_ann: &Annotations,
    mut decision: InjectionDecision,
    mut builder: PatchBuilder,
) -> InjectionDecision {
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
        decision.patch = crate::Patch::default();
    } else {
        // The pod's annotations other than ours: what ours must fit beside.
        let others: usize = pod_ann
            .iter()
            .filter(|(k, _)| ![annotation::STATUS, annotation::INJECTED].contains(&k.as_str()))
            .map(|(k, v)| k.len() + v.len())
            .sum();
        let mut used = others;
        // The record first: it is small and bounded, and without it the pod reads as outdated
        // for ever; the status, which can be shortened, takes what is left.
        if let Some(record) = decision.injected_record() {
            let size = annotation::INJECTED.len() + record.len();
            if used + size <= crate::decision::MAX_ANNOTATIONS_BYTES {
                builder.set_member(
                    &["metadata", "annotations"],
                    annotation::INJECTED,
                    Value::String(record),
                );
                used += size;
            } else {
                decision.warnings.push(format!(
                    "otel-inject: no room for the {} annotation: the pod's annotations are at the API server's 256 KiB limit",
                    annotation::INJECTED
                ));
            }
        }
        if let Some(status) = decision.status() {
            // Never the annotation that takes the pod past the API server's limit on annotations:
            // shorten it to what is left, or, with next to nothing left, leave it out (the
            // warnings and the log line still say why).
            let room = crate::decision::MAX_ANNOTATIONS_BYTES
                .saturating_sub(used + annotation::STATUS.len());
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

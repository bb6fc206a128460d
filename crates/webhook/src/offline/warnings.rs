//! What the offline commands say on standard error besides their output: a workload that asked
//! for instrumentation and got none, each language skipped and why, the built-in default
//! Instrumentation serving, hints about misplaced annotations. `--strict` fails on any of them.

use otel_inject_lib::{
    decision::{Outcome, Reason},
    InjectionDecision,
};
use serde_json::Value;

use super::{dotted, Input, PodSpecSite};

/// The warnings of one run: what was asked for and not done, and what was assumed.
#[derive(Debug, Default)]
pub(super) struct Warnings {
    lines: Vec<String>,
    pub(super) notes: Vec<String>,
    /// Some decision used the built-in default Instrumentation.
    default_served: bool,
}

impl Warnings {
    /// Starting with what reading the input found (unknown Instrumentation fields).
    pub(super) fn new(input: &Input) -> Self {
        Self {
            lines: input.view.objects().warnings.clone(),
            notes: Vec::new(),
            default_served: false,
        }
    }

    pub(super) fn push(&mut self, line: String) {
        self.lines.push(line);
    }

    /// One line when the workload asked for instrumentation and got none, and one per language
    /// (or container) skipped, with the reason. Explicit opt-outs (`"false"`) and pods that are
    /// already instrumented are quiet: re-running `inject` on its own output says nothing.
    pub(super) fn decision(&mut self, at: &str, decision: &InjectionDecision) {
        self.languages(at, decision);
        // What the lib warns about beyond the languages (owners it could not read, a status
        // annotation with no room): said as the webhook says it.
        let per_language: Vec<String> = decision
            .languages
            .iter()
            .flat_map(|l| {
                let pod = format!(
                    "otel-inject: {} not injected into pod {}: {}",
                    l.language, decision.pod, l.reason
                );
                let containers = l.containers.iter().map(move |c| {
                    format!(
                        "otel-inject: {} not injected into container {} of pod {}: {}",
                        l.language, c.container, decision.pod, c.reason
                    )
                });
                std::iter::once(pod).chain(containers)
            })
            .collect();
        for w in decision
            .warnings
            .iter()
            .filter(|w| !per_language.contains(w))
        {
            let w = w.strip_prefix("otel-inject: ").unwrap_or(w);
            self.push(format!("{at}: {w}"));
        }
    }

    fn languages(&mut self, at: &str, decision: &InjectionDecision) {
        if decision
            .languages
            .iter()
            .any(|l| l.instrumentation.is_some())
        {
            self.default_served = true;
        }
        if let Some(reason) = &decision.pod_reason {
            if reason.outcome() == Outcome::Failed {
                self.push(format!("{at}: nothing injected: {reason}"));
            }
            return;
        }
        let asked: Vec<_> = decision
            .languages
            .iter()
            .filter(|l| l.reason != Reason::AnnotationFalse)
            .collect();
        let missed: Vec<_> = asked
            .iter()
            .filter(|l| matches!(l.outcome(), Outcome::Skipped | Outcome::Failed))
            .collect();
        if missed.is_empty() {
            for l in asked.iter().filter(|l| l.outcome() == Outcome::Injected) {
                for c in l
                    .containers
                    .iter()
                    .filter(|c| !c.injected() && c.reason.warrants_warning())
                {
                    self.push(format!(
                        "{at}: {} not injected into container {}: {}",
                        l.language, c.container, c.reason
                    ));
                }
            }
            return;
        }
        if !asked.iter().any(|l| l.outcome() == Outcome::Injected) {
            let names: Vec<String> = missed.iter().map(|l| l.language.to_string()).collect();
            self.push(format!(
                "{at}: asked for instrumentation ({}) and got none",
                names.join(", ")
            ));
        }
        for l in &missed {
            self.push(format!("{at}: {} not injected: {}", l.language, l.reason));
        }
    }

    /// The warnings (the built-in default's first) and the notes.
    pub(super) fn finish(mut self, input: &Input) -> (Vec<String>, Vec<String>) {
        if self.default_served {
            if let Some(endpoint) = &input.default_endpoint {
                self.lines.insert(
                    0,
                    format!(
                        "no --cluster file and no Instrumentation in the input: the built-in default Instrumentation served, exporting to {endpoint}; pass the cluster's Instrumentations with --cluster FILE"
                    ),
                );
            }
        }
        (self.lines, self.notes)
    }
}

/// The hint for `inject-*` annotations on a workload's own metadata: the webhook sees only
/// what its pods carry, so those ask for nothing.
pub(super) fn misplaced_annotations(
    value: &Value,
    template: &Value,
    label: &str,
    site: PodSpecSite,
    source: &str,
    number: usize,
    warnings: &mut Warnings,
) {
    let inject_keys = |v: &Value| -> Vec<String> {
        v.pointer("/metadata/annotations")
            .and_then(Value::as_object)
            .map(|m| {
                m.keys()
                    .filter(|k| k.starts_with("instrumentation.opentelemetry.io/inject-"))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    };
    let on_template = inject_keys(template);
    let misplaced: Vec<String> = inject_keys(value)
        .into_iter()
        .filter(|k| !on_template.contains(k))
        .collect();
    if !misplaced.is_empty() {
        warnings.push(format!(
            "{source}: document {number}: {label}: {} sits on the workload's own metadata, which its pods do not get; move it to `{}.metadata.annotations`",
            misplaced.join(", "),
            dotted(site.template)
        ));
    }
}

//! What was decided and why, per language and per container, in a form that serves metrics
//! (short labels), logs (one line), `otel-inject explain` (plain words), admission warnings and
//! the status annotation written on the pod.

use std::fmt;

use crate::Patch;

use crate::annotations::{AnnotationError, Language};

/// The outcome of a decision, for a language or for the whole pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// Something was injected.
    Injected,
    /// Requested, but deliberately not injected (explicit opt-out, container rules).
    Skipped,
    /// Nothing was requested.
    NotRequested,
    /// The pod was already instrumented; nothing to do.
    AlreadyInjected,
    /// Requested, but the configuration is wrong (missing Instrumentation, bad annotation).
    Failed,
}

impl Outcome {
    /// Metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Injected => "injected",
            Self::Skipped => "skipped",
            Self::NotRequested => "not_requested",
            Self::AlreadyInjected => "already_injected",
            Self::Failed => "failed",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a language or a container got (or did not get) what it asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// Injected.
    Injected,
    /// The SDK configuration was already written by a language agent on the same container.
    ConfiguredByAgent(Language),
    /// No `inject-*` annotation on the pod or its namespace.
    NotAnnotated,
    /// The annotation says `false`.
    AnnotationFalse,
    /// The pod carries the operator's injection markers.
    PodAlreadyInjected,
    /// The container already carries this language's configuration.
    ContainerAlreadyInjected(String),
    /// `true` but no Instrumentation in the namespace.
    NoInstrumentation {
        /// The pod's namespace.
        namespace: String,
    },
    /// `true` but several Instrumentations in the namespace.
    SeveralInstrumentations {
        /// The pod's namespace.
        namespace: String,
        /// Their names.
        names: Vec<String>,
    },
    /// The named Instrumentation does not exist.
    InstrumentationNotFound {
        /// `namespace/name`.
        key: String,
    },
    /// A malformed annotation.
    InvalidAnnotation(AnnotationError),
    /// None of the target names match a container.
    ContainerNotFound {
        /// The names asked for.
        wanted: Vec<String>,
        /// The containers the pod has.
        available: Vec<String>,
    },
    /// The container lists contradict each other.
    ContainerConflict(String),
    /// otel-inject does not inject this language (yet).
    LanguageNotSupported,
    /// The language is switched off in this deployment (`--enable-<language>-instrumentation`).
    LanguageDisabled(Language),
    /// An env var we must extend is set through `valueFrom`.
    EnvValueFrom(String),
    /// The Instrumentation's language block sets the variable that marks the language as
    /// injected (`.NET`'s `OTEL_DOTNET_AUTO_HOME` in `dotnet.env`).
    MarkerInSpec {
        /// The language whose block it is.
        language: Language,
        /// The variable.
        var: String,
    },
    /// The language needs something of the pod or its namespace that it does not have (Go: a
    /// regular container, one target, a shared process namespace, a target executable, a
    /// namespace whose Pod Security level admits a privileged sidecar).
    RequirementUnmet {
        /// Metric label, e.g. `pod_security_level`.
        label: &'static str,
        /// What is missing and what to do, in plain words.
        message: String,
    },
    /// The container belongs to Argo Workflows' executor.
    ArgoExecutorContainer,
    /// The pod JSON has no usable `spec.containers`.
    MalformedPod(String),
}

impl Reason {
    /// Metric label.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Injected => "injected",
            Self::ConfiguredByAgent(_) => "configured_by_agent",
            Self::NotAnnotated => "not_annotated",
            Self::AnnotationFalse => "annotation_false",
            Self::PodAlreadyInjected => "already_injected",
            Self::ContainerAlreadyInjected(_) => "container_already_injected",
            Self::NoInstrumentation { .. } => "no_instrumentation",
            Self::SeveralInstrumentations { .. } => "several_instrumentations",
            Self::InstrumentationNotFound { .. } => "instrumentation_not_found",
            Self::InvalidAnnotation(e) => e.reason(),
            Self::ContainerNotFound { .. } => "container_not_found",
            Self::ContainerConflict(_) => "container_conflict",
            Self::LanguageNotSupported => "language_not_supported",
            Self::LanguageDisabled(_) => "language_disabled",
            Self::EnvValueFrom(_) => "env_value_from",
            Self::MarkerInSpec { .. } => "marker_in_spec",
            Self::RequirementUnmet { label, .. } => label,
            Self::ArgoExecutorContainer => "argo_executor_container",
            Self::MalformedPod(_) => "malformed_pod",
        }
    }

    /// The outcome this reason stands for.
    pub fn outcome(&self) -> Outcome {
        match self {
            Self::Injected | Self::ConfiguredByAgent(_) => Outcome::Injected,
            Self::NotAnnotated => Outcome::NotRequested,
            Self::PodAlreadyInjected | Self::ContainerAlreadyInjected(_) => {
                Outcome::AlreadyInjected
            }
            Self::AnnotationFalse
            | Self::ContainerNotFound { .. }
            | Self::ArgoExecutorContainer
            | Self::RequirementUnmet { .. }
            | Self::EnvValueFrom(_)
            | Self::MarkerInSpec { .. }
            | Self::LanguageDisabled(_)
            | Self::LanguageNotSupported => Outcome::Skipped,
            Self::NoInstrumentation { .. }
            | Self::SeveralInstrumentations { .. }
            | Self::InstrumentationNotFound { .. }
            | Self::InvalidAnnotation(_)
            | Self::ContainerConflict(_)
            | Self::MalformedPod(_) => Outcome::Failed,
        }
    }

    /// Whether the user should be told in an admission warning.
    pub fn warrants_warning(&self) -> bool {
        matches!(self.outcome(), Outcome::Failed)
            || matches!(
                self,
                Self::ContainerNotFound { .. }
                    | Self::EnvValueFrom(_)
                    | Self::LanguageNotSupported
                    | Self::LanguageDisabled(_)
                    | Self::RequirementUnmet { .. }
            )
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Injected => f.write_str("injected"),
            Self::ConfiguredByAgent(l) => {
                write!(f, "SDK configuration written together with the {l} agent")
            }
            Self::NotAnnotated => f.write_str("no inject annotation on the pod or its namespace"),
            Self::AnnotationFalse => f.write_str("the inject annotation says \"false\""),
            Self::PodAlreadyInjected => f.write_str(
                "the pod is already instrumented (an agent init container or OTEL_RESOURCE_ATTRIBUTES_NODE_NAME is present)",
            ),
            Self::ContainerAlreadyInjected(marker) => {
                write!(f, "already instrumented ({marker} is set)")
            }
            Self::NoInstrumentation { namespace } => write!(
                f,
                "no Instrumentation in namespace {namespace}; create one, or name one with \"<namespace>/<name>\" in the annotation"
            ),
            Self::SeveralInstrumentations { namespace, names } => write!(
                f,
                "{} Instrumentations in namespace {namespace} ({}); name one in the annotation instead of \"true\"",
                names.len(),
                names.join(", ")
            ),
            Self::InstrumentationNotFound { key } => write!(
                f,
                "Instrumentation {key} not found; check the name and namespace in the annotation"
            ),
            Self::InvalidAnnotation(e) => write!(f, "{e}"),
            Self::ContainerNotFound { wanted, available } => write!(
                f,
                "no container named {} (the pod has: {})",
                wanted.join(", "),
                available.join(", ")
            ),
            Self::ContainerConflict(msg) => f.write_str(msg),
            Self::LanguageNotSupported => {
                let names: Vec<&str> = crate::lang::supported().map(Language::as_str).collect();
                write!(
                    f,
                    "otel-inject does not inject this language yet; it injects {}",
                    names.join(", ")
                )
            }
            Self::LanguageDisabled(l) => write!(
                f,
                "{l} injection is switched off in otel-inject (--enable-{l}-instrumentation=false)"
            ),
            Self::EnvValueFrom(var) => write!(
                f,
                "{var} is set through valueFrom, so it cannot be extended; set it as a plain value"
            ),
            Self::MarkerInSpec { language, var } => write!(
                f,
                "the Instrumentation's {language}.env sets {var}, which marks a container as already instrumented; remove it from the Instrumentation"
            ),
            Self::RequirementUnmet { message, .. } => f.write_str(message),
            Self::ArgoExecutorContainer => f.write_str(
                "container belongs to the Argo Workflows executor; only the step's own containers are instrumented",
            ),
            Self::MalformedPod(msg) => write!(f, "the pod cannot be read: {msg}"),
        }
    }
}

/// The result for one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerDecision {
    /// Container name.
    pub container: String,
    /// What happened.
    pub reason: Reason,
}

impl ContainerDecision {
    /// Whether the container was instrumented.
    pub fn injected(&self) -> bool {
        self.reason.outcome() == Outcome::Injected
    }
}

/// The result for one requested language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanguageDecision {
    /// The language.
    pub language: Language,
    /// The Instrumentation used, as `namespace/name`.
    pub instrumentation: Option<String>,
    /// The version of that Instrumentation's spec ([`crate::injected::spec_hash`]).
    pub spec_hash: Option<String>,
    /// Why, at the language level (`Injected` when at least one container got it).
    pub reason: Reason,
    /// Per-container results.
    pub containers: Vec<ContainerDecision>,
}

impl LanguageDecision {
    /// A language-level result with no container detail.
    pub fn without_containers(language: Language, reason: Reason) -> Self {
        Self {
            language,
            instrumentation: None,
            spec_hash: None,
            reason,
            containers: Vec::new(),
        }
    }

    /// The outcome.
    pub fn outcome(&self) -> Outcome {
        self.reason.outcome()
    }

    /// One clause of the status annotation.
    pub fn status_clause(&self) -> String {
        let lang = self.language;
        let injected: Vec<&str> = self
            .containers
            .iter()
            .filter(|c| c.injected())
            .map(|c| c.container.as_str())
            .collect();
        let mut out = if injected.is_empty() {
            format!("{lang}: not injected: {}", self.reason)
        } else {
            format!("{lang}: injected into {}", injected.join(", "))
        };
        if let Some(inst) = &self.instrumentation {
            out.push_str(&format!(" (instrumentation {inst})"));
        }
        for c in self.containers.iter().filter(|c| !c.injected()) {
            out.push_str(&format!("; {lang} skipped {}: {}", c.container, c.reason));
        }
        out
    }
}

/// The most the status annotation ever holds. Reasons can quote what the user wrote (a bad
/// annotation value, a list of container names), and a pod's annotations may not exceed
/// 256 KiB in all: the status stays small whatever the input.
pub const MAX_STATUS_BYTES: usize = 4 * 1024;

/// The most one admission warning ever holds (kubectl prints each one on its own line).
pub const MAX_WARNING_BYTES: usize = 1024;

/// The most warnings one decision gives; the rest are counted in a last one.
pub const MAX_WARNINGS: usize = 16;

/// The API server's limit on the total size of a pod's annotations (keys and values).
pub const MAX_ANNOTATIONS_BYTES: usize = 256 * 1024;

/// `text` cut to at most `max` bytes (on a character boundary), with a mark that says how much
/// was left out; unchanged when it fits.
pub fn truncate_marked(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mark = |left: usize| format!("... [truncated: {left} more bytes]");
    // The mark's own length depends on the number it carries; leave room for the longest.
    let keep = max.saturating_sub(mark(text.len()).len());
    let mut end = keep.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{}", &text[..end], mark(text.len() - end))
}

/// The whole decision for a pod.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InjectionDecision {
    /// The patch; empty when there is nothing to change.
    pub patch: Patch,
    /// One entry per requested language (empty when nothing was requested).
    pub languages: Vec<LanguageDecision>,
    /// Messages for admission `warnings` (and `kubectl` output).
    pub warnings: Vec<String>,
    /// Pod-wide reason when no language got as far as a decision (not requested, already
    /// injected, malformed pod).
    pub pod_reason: Option<Reason>,
    /// The pod's name for messages (`generateName*` when it has none yet).
    pub pod: String,
}

impl InjectionDecision {
    /// The pod-level outcome: injected if any language was; otherwise the most telling one.
    pub fn outcome(&self) -> Outcome {
        if let Some(r) = &self.pod_reason {
            return r.outcome();
        }
        let outcomes: Vec<Outcome> = self.languages.iter().map(|l| l.outcome()).collect();
        [
            Outcome::Injected,
            Outcome::Failed,
            Outcome::AlreadyInjected,
            Outcome::Skipped,
        ]
        .into_iter()
        .find(|o| outcomes.contains(o))
        .unwrap_or(Outcome::NotRequested)
    }

    /// The metric label of the reason behind [`Self::outcome`].
    pub fn reason(&self) -> &'static str {
        if let Some(r) = &self.pod_reason {
            return r.label();
        }
        let outcome = self.outcome();
        self.languages
            .iter()
            .find(|l| l.outcome() == outcome)
            .map(|l| l.reason.label())
            .unwrap_or("not_annotated")
    }

    /// Whether the decision changes the pod.
    pub fn has_patch(&self) -> bool {
        !self.patch.is_empty()
    }

    /// The patch as the JSON an admission response carries: the same bytes as
    /// `serde_json::to_vec(&self.patch)`, written directly (several times cheaper).
    pub fn patch_json(&self) -> Vec<u8> {
        self.patch.to_json()
    }

    /// The status annotation value, when the pod asked for anything; at most
    /// [`MAX_STATUS_BYTES`].
    pub fn status(&self) -> Option<String> {
        if self.languages.is_empty() {
            return None;
        }
        let full = self
            .languages
            .iter()
            .map(LanguageDecision::status_clause)
            .collect::<Vec<_>>()
            .join("; ");
        Some(truncate_marked(&full, MAX_STATUS_BYTES))
    }

    /// The [`crate::names::annotation::INJECTED`] value: each language injected now, with its
    /// Instrumentation and spec version; `None` when nothing was injected.
    pub fn injected_record(&self) -> Option<String> {
        let entries: Vec<crate::injected::InjectedLanguage> = self
            .languages
            .iter()
            .filter(|l| l.outcome() == Outcome::Injected)
            .filter_map(|l| {
                Some(crate::injected::InjectedLanguage {
                    language: l.language,
                    instrumentation: l.instrumentation.clone()?,
                    spec_hash: l.spec_hash.clone()?,
                })
            })
            .collect();
        crate::injected::format_record(&entries)
    }

    /// One line for the decision log.
    pub fn summary(&self) -> String {
        match (&self.pod_reason, self.status()) {
            (Some(r), _) => r.to_string(),
            (None, Some(s)) => s,
            (None, None) => Reason::NotAnnotated.to_string(),
        }
    }

    /// Plain-words explanation, per language and container.
    pub fn explain(&self) -> String {
        let mut out = format!("pod {}: {}\n", self.pod, self.outcome());
        if let Some(r) = &self.pod_reason {
            out.push_str(&format!("  {r}\n"));
            return out;
        }
        for l in &self.languages {
            match &l.instrumentation {
                Some(i) => out.push_str(&format!("  {} (instrumentation {i}):", l.language)),
                None => out.push_str(&format!("  {}:", l.language)),
            }
            if l.containers.is_empty() {
                out.push_str(&format!(" not injected: {}\n", l.reason));
                continue;
            }
            out.push('\n');
            for c in &l.containers {
                if c.injected() {
                    out.push_str(&format!("    {}: {}\n", c.container, c.reason));
                } else {
                    out.push_str(&format!(
                        "    {}: not injected: {}\n",
                        c.container, c.reason
                    ));
                }
            }
        }
        for w in &self.warnings {
            out.push_str(&format!("  warning: {w}\n"));
        }
        out
    }
}

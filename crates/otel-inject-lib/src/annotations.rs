//! The annotations the operator reads, with its precedence between pod and namespace, and
//! parsing that turns a malformed value into a typed error saying what to write instead.

use std::collections::BTreeMap;
use std::fmt;

/// A language (or the SDK-only mode) that an `inject-*` annotation requests.
/// The order of [`Language::ALL`] is the operator's resolution and injection order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Language {
    /// Java agent.
    Java,
    /// Node.js agent.
    NodeJs,
    /// Python agent.
    Python,
    /// .NET CLR profiler and startup hook.
    DotNet,
    /// Go eBPF sidecar.
    Go,
    /// Apache httpd module.
    ApacheHttpd,
    /// Nginx module.
    Nginx,
    /// SDK configuration only: env vars, no agent.
    Sdk,
}

impl Language {
    /// Every language, in the operator's order.
    pub const ALL: [Language; 8] = [
        Self::Java,
        Self::NodeJs,
        Self::Python,
        Self::DotNet,
        Self::Go,
        Self::ApacheHttpd,
        Self::Nginx,
        Self::Sdk,
    ];

    /// The languages the operator switches on by default (`--enable-go-instrumentation` and
    /// `--enable-nginx-instrumentation` default to false).
    pub const ENABLED_BY_DEFAULT: [Self; 6] = [
        Self::Java,
        Self::NodeJs,
        Self::Python,
        Self::DotNet,
        Self::ApacheHttpd,
        Self::Sdk,
    ];

    /// The short name used in annotations, metrics and the status annotation.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Java => "java",
            Self::NodeJs => "nodejs",
            Self::Python => "python",
            Self::DotNet => "dotnet",
            Self::Go => "go",
            Self::ApacheHttpd => "apache-httpd",
            Self::Nginx => "nginx",
            Self::Sdk => "sdk",
        }
    }

    /// `instrumentation.opentelemetry.io/inject-<lang>`.
    pub fn inject_annotation(self) -> &'static str {
        match self {
            Self::Java => "instrumentation.opentelemetry.io/inject-java",
            Self::NodeJs => "instrumentation.opentelemetry.io/inject-nodejs",
            Self::Python => "instrumentation.opentelemetry.io/inject-python",
            Self::DotNet => "instrumentation.opentelemetry.io/inject-dotnet",
            Self::Go => "instrumentation.opentelemetry.io/inject-go",
            Self::ApacheHttpd => "instrumentation.opentelemetry.io/inject-apache-httpd",
            Self::Nginx => "instrumentation.opentelemetry.io/inject-nginx",
            Self::Sdk => "instrumentation.opentelemetry.io/inject-sdk",
        }
    }

    /// The per-language container list annotation (nginx's carries an irregular `inject-`).
    pub fn containers_annotation(self) -> &'static str {
        match self {
            Self::Java => "instrumentation.opentelemetry.io/java-container-names",
            Self::NodeJs => "instrumentation.opentelemetry.io/nodejs-container-names",
            Self::Python => "instrumentation.opentelemetry.io/python-container-names",
            Self::DotNet => "instrumentation.opentelemetry.io/dotnet-container-names",
            Self::Go => "instrumentation.opentelemetry.io/go-container-names",
            Self::ApacheHttpd => "instrumentation.opentelemetry.io/apache-httpd-container-names",
            Self::Nginx => "instrumentation.opentelemetry.io/inject-nginx-container-names",
            Self::Sdk => "instrumentation.opentelemetry.io/sdk-container-names",
        }
    }

    /// Whether the language copies an agent (init container + volume), unlike the SDK mode.
    pub fn has_agent(self) -> bool {
        self != Self::Sdk
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The operator's `annotationValue(ns, pod, key)`: the pod wins unless it says `true` while the
/// namespace names an instance (or says `true` too), in which case the namespace value wins.
pub fn annotation_value<'a>(
    ns: &'a BTreeMap<String, String>,
    pod: &'a BTreeMap<String, String>,
    key: &str,
) -> &'a str {
    let pod_value = pod.get(key).map(String::as_str).unwrap_or("");
    let ns_value = ns.get(key).map(String::as_str).unwrap_or("");
    if ns_value.is_empty() {
        return pod_value;
    }
    if pod_value.is_empty() {
        return ns_value;
    }
    if !pod_value.eq_ignore_ascii_case("true") {
        return pod_value;
    }
    if ns_value.eq_ignore_ascii_case("false") {
        return pod_value;
    }
    ns_value
}

/// A malformed annotation value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnnotationError {
    /// An `inject-*` value that is neither a boolean nor an Instrumentation reference.
    #[error("{key}: {value:?} is not valid; write \"true\" (the only Instrumentation in the namespace), \"false\", \"<name>\" or \"<namespace>/<name>\" of an Instrumentation")]
    InvalidInjectValue {
        /// The annotation key.
        key: String,
        /// The value as written.
        value: String,
    },
    /// A container list with characters other than letters, digits, `-` and `,`.
    #[error("{key}: {value:?} is not a valid container list; write container names separated by commas, without spaces, e.g. \"app,worker\"")]
    InvalidContainerList {
        /// The annotation key.
        key: String,
        /// The value as written.
        value: String,
    },
    /// A value a language's option annotation does not know (`otel-dotnet-auto-runtime`,
    /// `otel-python-platform`).
    #[error("{key}: {value:?} is not supported; {expected}")]
    UnsupportedValue {
        /// The annotation key.
        key: String,
        /// The value as written.
        value: String,
        /// What to write instead.
        expected: &'static str,
    },
}

impl AnnotationError {
    /// A short snake_case label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::InvalidInjectValue { .. } => "invalid_inject_value",
            Self::InvalidContainerList { .. } => "invalid_container_names",
            Self::UnsupportedValue { .. } => "unsupported_annotation_value",
        }
    }
}

/// What an `inject-*` annotation asks for, once precedence has been applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InjectTarget {
    /// `true`: the only Instrumentation in the pod's namespace.
    OnlyInNamespace,
    /// `name` (namespace `None`: the pod's) or `namespace/name`.
    Named {
        /// The namespace, when the value had one.
        namespace: Option<String>,
        /// The Instrumentation name.
        name: String,
    },
}

fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

impl InjectTarget {
    /// Parses an effective value: empty or `false` (any case) is `None`.
    pub fn parse(value: &str) -> Result<Option<Self>, String> {
        let v = value.trim();
        if v.is_empty() || v.eq_ignore_ascii_case("false") {
            return Ok(None);
        }
        if v.eq_ignore_ascii_case("true") {
            return Ok(Some(Self::OnlyInNamespace));
        }
        match v.split_once('/') {
            Some((ns, name)) if is_dns_subdomain(ns) && is_dns_subdomain(name) => {
                Ok(Some(Self::Named {
                    namespace: Some(ns.to_string()),
                    name: name.to_string(),
                }))
            }
            None if is_dns_subdomain(v) => Ok(Some(Self::Named {
                namespace: None,
                name: v.to_string(),
            })),
            _ => Err(value.to_string()),
        }
    }

    /// Parses the effective value of `lang`'s annotation.
    pub fn for_language(
        ns: &BTreeMap<String, String>,
        pod: &BTreeMap<String, String>,
        lang: Language,
    ) -> Result<Option<Self>, AnnotationError> {
        let key = lang.inject_annotation();
        Self::parse(annotation_value(ns, pod, key)).map_err(|value| {
            AnnotationError::InvalidInjectValue {
                key: key.to_string(),
                value,
            }
        })
    }
}

/// Whether the effective value of `lang`'s annotation is an explicit `false`.
pub fn is_explicit_false(
    ns: &BTreeMap<String, String>,
    pod: &BTreeMap<String, String>,
    lang: Language,
) -> bool {
    annotation_value(ns, pod, lang.inject_annotation())
        .trim()
        .eq_ignore_ascii_case("false")
}

/// Parses a container list annotation with the operator's rule (`^[a-zA-Z0-9-,]+$`); empty
/// items are dropped. `Ok(None)` when the annotation is unset or empty.
pub fn container_list(
    ns: &BTreeMap<String, String>,
    pod: &BTreeMap<String, String>,
    key: &str,
) -> Result<Option<Vec<String>>, AnnotationError> {
    let value = annotation_value(ns, pod, key);
    if value.is_empty() {
        return Ok(None);
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b',')
    {
        return Err(AnnotationError::InvalidContainerList {
            key: key.to_string(),
            value: value.to_string(),
        });
    }
    Ok(Some(
        value
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
    ))
}

//! The `Instrumentation` resource (`opentelemetry.io/v1alpha1`), field for field the
//! OpenTelemetry Operator's, so existing CRs apply unchanged. Unknown fields are ignored when
//! reading. The operator fills images and init-container resources in its CR-defaulting
//! webhook; we run no such webhook, so the same defaults are applied when a CR is read
//! (`*_or_default` accessors).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    EnvVar, PersistentVolumeClaimTemplate, ResourceRequirements, SecurityContext,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::names::default_image;
use crate::sdk_values::{Propagator, SamplerKind};

/// Spec of an `Instrumentation`: how to instrument the pods that select it.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "opentelemetry.io",
    version = "v1alpha1",
    kind = "Instrumentation",
    plural = "instrumentations",
    singular = "instrumentation",
    shortname = "otelinst",
    shortname = "otelinsts",
    namespaced,
    status = "InstrumentationStatus",
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    printcolumn = r#"{"name":"Endpoint","type":"string","jsonPath":".spec.exporter.endpoint"}"#,
    printcolumn = r#"{"name":"Sampler","type":"string","jsonPath":".spec.sampler.type"}"#,
    printcolumn = r#"{"name":"Sampler Arg","type":"string","jsonPath":".spec.sampler.argument"}"#
)]
#[serde(rename_all = "camelCase", default)]
pub struct InstrumentationSpec {
    /// Where and how to export.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exporter: Option<Exporter>,
    /// Resource attributes for every instrumented container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<Resource>,
    /// Propagators, joined into `OTEL_PROPAGATORS`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub propagators: Vec<Propagator>,
    /// Sampler, written to `OTEL_TRACES_SAMPLER` / `_ARG`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sampler: Option<Sampler>,
    /// Opt-ins that change how attributes are derived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub defaults: Option<Defaults>,
    /// Env for every instrumented container (after the language's own env).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// Java agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub java: Option<Java>,
    /// Node.js agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nodejs: Option<LanguageSpec>,
    /// Python agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub python: Option<LanguageSpec>,
    /// .NET agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dotnet: Option<LanguageSpec>,
    /// Go eBPF agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub go: Option<Go>,
    /// Apache httpd module.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apache_httpd: Option<ApacheHttpd>,
    /// Nginx module.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nginx: Option<Nginx>,
    /// Pull policy of the agent init containers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<String>,
    /// Security context of the agent init containers; when unset, the first target
    /// container's is used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_container_security_context: Option<SecurityContext>,
}

/// The exporter.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Exporter {
    /// OTLP endpoint, written to `OTEL_EXPORTER_OTLP_ENDPOINT`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// TLS material mounted into the instrumented containers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<Tls>,
}

/// Exporter TLS material, from a Secret and/or a ConfigMap in the pod's namespace.
/// The snake_case keys are the operator's.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Tls {
    /// Secret holding the client certificate and key (and the CA unless a ConfigMap is set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// ConfigMap holding the CA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_map_name: Option<String>,
    /// CA file name (or absolute path).
    #[serde(rename = "ca_file", skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// Client certificate file name (or absolute path).
    #[serde(rename = "cert_file", skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<String>,
    /// Client key file name (or absolute path).
    #[serde(rename = "key_file", skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
}

/// Resource attributes.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Resource {
    /// Attributes with the lowest precedence.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub resource_attributes: BTreeMap<String, String>,
    /// Add the `*.uid` attributes of the pod and its owners.
    #[serde(
        rename = "addK8sUIDAttributes",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub add_k8s_uid_attributes: bool,
}

/// The sampler.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Sampler {
    /// Sampler name.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<SamplerKind>,
    /// Sampler argument (a ratio for the ratio samplers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub argument: Option<String>,
}

/// Opt-ins.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Defaults {
    /// Use the `app.kubernetes.io/{instance,name,version}` labels for service name and version.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub use_labels_for_resource_attributes: bool,
}

/// The block every language shares (Node.js, Python and .NET use it as is).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct LanguageSpec {
    /// Agent image copied by the init container.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// An ephemeral volume claim replacing the emptyDir.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_claim_template: Option<PersistentVolumeClaimTemplate>,
    /// emptyDir size limit (default 200Mi). Deprecated upstream but still read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_limit_size: Option<Quantity>,
    /// Language env, before `spec.env`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// Init container resources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_requirements: Option<ResourceRequirements>,
}

/// The Java block: its resources key is `resources`, and it has extensions.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Java {
    /// Agent image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// An ephemeral volume claim replacing the emptyDir.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_claim_template: Option<PersistentVolumeClaimTemplate>,
    /// emptyDir size limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_limit_size: Option<Quantity>,
    /// Language env.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// Init container resources (`resources`, not `resourceRequirements`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Agent extensions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<JavaExtension>,
}

/// A Java agent extension.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct JavaExtension {
    /// Image holding the extension.
    pub image: String,
    /// Directory of the extension inside the image.
    pub dir: String,
}

/// The Go block.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Go {
    /// Sidecar image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// An ephemeral volume claim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_claim_template: Option<PersistentVolumeClaimTemplate>,
    /// emptyDir size limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_limit_size: Option<Quantity>,
    /// Language env.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// Sidecar resources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_requirements: Option<ResourceRequirements>,
    /// Sidecar security context.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_context: Option<SecurityContext>,
}

/// The Apache httpd block.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ApacheHttpd {
    /// Module image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// An ephemeral volume claim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_claim_template: Option<PersistentVolumeClaimTemplate>,
    /// emptyDir size limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_limit_size: Option<Quantity>,
    /// Language env.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// Module configuration attributes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attrs: Vec<EnvVar>,
    /// Apache version (default 2.4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Apache configuration directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_path: Option<String>,
    /// Init container resources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_requirements: Option<ResourceRequirements>,
}

/// The Nginx block.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Nginx {
    /// Module image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// An ephemeral volume claim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_claim_template: Option<PersistentVolumeClaimTemplate>,
    /// emptyDir size limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_limit_size: Option<Quantity>,
    /// Language env.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
    /// Module configuration attributes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attrs: Vec<EnvVar>,
    /// Nginx configuration file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_file: Option<String>,
    /// Init container resources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_requirements: Option<ResourceRequirements>,
}

/// Status, as the operator writes it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct InstrumentationStatus {
    /// Versions the operator refused to upgrade.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub upgrade_blocked_versions: BTreeMap<String, String>,
}

fn quantity(s: &str) -> Quantity {
    Quantity(s.to_string())
}

/// The operator's default init-container resources for .NET (and Node.js): limits 500m/256Mi,
/// requests 50m/128Mi.
pub fn default_dotnet_resources() -> ResourceRequirements {
    ResourceRequirements {
        limits: Some(BTreeMap::from([
            ("cpu".to_string(), quantity("500m")),
            ("memory".to_string(), quantity("256Mi")),
        ])),
        requests: Some(BTreeMap::from([
            ("cpu".to_string(), quantity("50m")),
            ("memory".to_string(), quantity("128Mi")),
        ])),
        ..Default::default()
    }
}

impl LanguageSpec {
    /// The image, or the operator's default .NET image when the CR leaves it empty.
    pub fn dotnet_image_or_default(&self) -> String {
        self.image
            .clone()
            .filter(|i| !i.is_empty())
            .unwrap_or_else(|| default_image::DOTNET.to_string())
    }

    /// The init container resources, with the operator's .NET defaults filled in for a
    /// missing `limits` or `requests` (as its CR defaulter does).
    pub fn dotnet_resources_or_default(&self) -> ResourceRequirements {
        let defaults = default_dotnet_resources();
        let mut r = self.resource_requirements.clone().unwrap_or_default();
        if r.limits.is_none() {
            r.limits = defaults.limits;
        }
        if r.requests.is_none() {
            r.requests = defaults.requests;
        }
        r
    }
}

impl InstrumentationSpec {
    /// The .NET block, empty when absent (borrowed: it is read several times per container).
    pub fn dotnet_or_default(&self) -> &LanguageSpec {
        static EMPTY: LanguageSpec = LanguageSpec {
            image: None,
            volume_claim_template: None,
            volume_limit_size: None,
            env: Vec::new(),
            resource_requirements: None,
        };
        self.dotnet.as_ref().unwrap_or(&EMPTY)
    }

    /// `defaults.useLabelsForResourceAttributes`.
    pub fn use_labels(&self) -> bool {
        self.defaults
            .as_ref()
            .is_some_and(|d| d.use_labels_for_resource_attributes)
    }

    /// `resource.addK8sUIDAttributes`.
    pub fn add_uid_attributes(&self) -> bool {
        self.resource
            .as_ref()
            .is_some_and(|r| r.add_k8s_uid_attributes)
    }

    /// The exporter endpoint when set and not empty.
    pub fn endpoint(&self) -> Option<&str> {
        self.exporter
            .as_ref()
            .and_then(|e| e.endpoint.as_deref())
            .filter(|e| !e.is_empty())
    }
}

/// Header of the generated CRD file.
pub const CRD_HEADER: &str = "# Generated by `otel-inject crd` from the Rust types in crates/otel-inject-lib/src/instrumentation.rs.\n# Do not edit: change the types and regenerate (a test fails when this file drifts).\n";

/// The `instrumentations.opentelemetry.io` CRD as YAML, exactly as checked in under
/// `deploy/otel-inject/base/crd-instrumentation.yaml`.
pub fn crd_yaml() -> Result<String, serde_yaml::Error> {
    use kube::CustomResourceExt;
    let mut crd = Instrumentation::crd();
    // Same annotations Argo CD needs for a CRD synced before its users (see deploy/README.md).
    let annotations = crd
        .metadata
        .annotations
        .get_or_insert_with(Default::default);
    annotations.insert("argocd.argoproj.io/sync-wave".into(), "-2".into());
    annotations.insert(
        "argocd.argoproj.io/sync-options".into(),
        "ServerSideApply=true,Prune=false".into(),
    );
    Ok(format!("{CRD_HEADER}{}", serde_yaml::to_string(&crd)?))
}

impl Instrumentation {
    /// `namespace/name`, as explanations and logs show it.
    pub fn key(&self) -> String {
        format!(
            "{}/{}",
            self.metadata.namespace.as_deref().unwrap_or_default(),
            self.metadata.name.as_deref().unwrap_or_default()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_operator_style_cr_and_ignores_unknown_fields() {
        let cr: Instrumentation = serde_json::from_value(serde_json::json!({
            "apiVersion": "opentelemetry.io/v1alpha1",
            "kind": "Instrumentation",
            "metadata": {"name": "my-inst", "namespace": "shop"},
            "spec": {
                "exporter": {"endpoint": "http://collector:4318",
                             "tls": {"secretName": "certs", "ca_file": "ca.crt"}},
                "propagators": ["tracecontext", "baggage", "b3"],
                "sampler": {"type": "parentbased_traceidratio", "argument": "0.25"},
                "resource": {"addK8sUIDAttributes": true, "resourceAttributes": {"team": "a"}},
                "java": {"resources": {"limits": {"cpu": "1"}}},
                "dotnet": {"image": "dotnet:1", "volumeLimitSize": "300Mi",
                           "env": [{"name": "X", "value": "1"}]},
                "someFutureField": {"x": 1}
            }
        }))
        .unwrap();
        assert_eq!(cr.key(), "shop/my-inst");
        assert_eq!(cr.spec.endpoint(), Some("http://collector:4318"));
        let tls = cr.spec.exporter.as_ref().unwrap().tls.as_ref().unwrap();
        assert_eq!(tls.ca_file.as_deref(), Some("ca.crt"));
        assert_eq!(
            cr.spec.sampler.as_ref().unwrap().type_,
            Some(SamplerKind::ParentBasedTraceIdRatio)
        );
        assert!(cr.spec.add_uid_attributes());
        assert!(cr.spec.java.as_ref().unwrap().resources.is_some());
        let dotnet = cr.spec.dotnet_or_default();
        assert_eq!(dotnet.volume_limit_size, Some(quantity("300Mi")));
        assert_eq!(dotnet.dotnet_image_or_default(), "dotnet:1");
    }

    #[test]
    fn dotnet_defaults_match_the_operator() {
        let l = LanguageSpec::default();
        assert_eq!(l.dotnet_image_or_default(), default_image::DOTNET);
        let r = l.dotnet_resources_or_default();
        assert_eq!(r.limits.unwrap()["memory"], quantity("256Mi"));
        assert_eq!(r.requests.unwrap()["memory"], quantity("128Mi"));
    }
}

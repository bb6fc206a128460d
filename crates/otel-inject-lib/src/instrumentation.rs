//! The `Instrumentation` resource (`opentelemetry.io/v1alpha1`), field for field the
//! OpenTelemetry Operator's, so existing CRs apply unchanged. Unknown fields are ignored when
//! reading. The operator fills images and init-container resources in its CR-defaulting
//! webhook; we run no such webhook, so each language unit (`crate::lang`) applies its own
//! defaults when it reads its block ([`AgentBlock`]).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    PersistentVolumeClaimTemplate, ResourceRequirements, SecurityContext,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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

/// An env var as the CR writes it, kept whole: fields newer than the Kubernetes types this
/// crate is built with (`valueFrom.fileKeyRef`, ...) are copied into pods as written, never
/// dropped on the way through.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct EnvVar {
    /// The variable's name.
    pub name: String,
    /// `value`, `valueFrom` and anything else, as written.
    #[serde(flatten)]
    pub rest: serde_json::Map<String, serde_json::Value>,
}

impl EnvVar {
    /// A variable with a literal value.
    pub fn literal(name: impl Into<String>, value: impl Into<String>) -> Self {
        let mut rest = serde_json::Map::new();
        rest.insert("value".into(), serde_json::Value::String(value.into()));
        Self {
            name: name.into(),
            rest,
        }
    }

    /// Whether the value comes from `valueFrom`.
    pub fn is_value_from(&self) -> bool {
        self.rest.get("valueFrom").is_some_and(|v| !v.is_null())
    }

    /// As the JSON that goes into a container's `env`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut obj = serde_json::Map::with_capacity(self.rest.len() + 1);
        obj.insert("name".into(), serde_json::Value::String(self.name.clone()));
        obj.extend(self.rest.iter().map(|(k, v)| (k.clone(), v.clone())));
        serde_json::Value::Object(obj)
    }
}

impl JsonSchema for EnvVar {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "EnvVar".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <k8s_openapi::api::core::v1::EnvVar as JsonSchema>::json_schema(generator)
    }
}

/// What every agent block (`java`, `nodejs`, `python`, `dotnet`) has, read the same way by
/// the language units; each unit applies its own defaults to what is missing.
pub trait AgentBlock {
    /// The agent image, when set and not empty.
    fn image(&self) -> Option<&str>;
    /// The language's env, added before `spec.env`.
    fn env(&self) -> &[EnvVar];
    /// An ephemeral volume claim replacing the emptyDir.
    fn volume_claim_template(&self) -> Option<&PersistentVolumeClaimTemplate>;
    /// The emptyDir size limit.
    fn volume_limit_size(&self) -> Option<&Quantity>;
    /// The init container's resources.
    fn resources(&self) -> Option<&ResourceRequirements>;
}

/// The blocks differ only in what their resources key is called.
macro_rules! agent_block {
    ($block:ty, $resources:ident) => {
        impl AgentBlock for $block {
            fn image(&self) -> Option<&str> {
                self.image.as_deref().filter(|i| !i.is_empty())
            }
            fn env(&self) -> &[EnvVar] {
                &self.env
            }
            fn volume_claim_template(&self) -> Option<&PersistentVolumeClaimTemplate> {
                self.volume_claim_template.as_ref()
            }
            fn volume_limit_size(&self) -> Option<&Quantity> {
                self.volume_limit_size.as_ref()
            }
            fn resources(&self) -> Option<&ResourceRequirements> {
                self.$resources.as_ref()
            }
        }
    };
}

agent_block!(LanguageSpec, resource_requirements);
agent_block!(Java, resources);
agent_block!(Go, resource_requirements);
agent_block!(ApacheHttpd, resource_requirements);
agent_block!(Nginx, resource_requirements);

impl InstrumentationSpec {
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

pub use crate::crd::CRD_HEADER;

/// An `Instrumentation` as a watch or a list delivers it. The operator's CRD (and ours) lets a
/// CR leave out `spec`, which the derived type requires; one such CR would fail a whole list
/// and stop a cache. This reads it with an empty spec instead, and shares the object cheaply.
#[derive(Clone, Debug)]
pub struct StoredInstrumentation(pub std::sync::Arc<Instrumentation>);

impl<'de> Deserialize<'de> for StoredInstrumentation {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut value = serde_json::Value::deserialize(d)?;
        Instrumentation::fill_missing_spec(&mut value);
        serde_json::from_value(value)
            .map(|i| Self(std::sync::Arc::new(i)))
            .map_err(serde::de::Error::custom)
    }
}

impl kube::Resource for StoredInstrumentation {
    type DynamicType = ();
    type Scope = kube::core::NamespaceResourceScope;

    fn kind(dt: &()) -> std::borrow::Cow<'_, str> {
        Instrumentation::kind(dt)
    }
    fn group(dt: &()) -> std::borrow::Cow<'_, str> {
        Instrumentation::group(dt)
    }
    fn version(dt: &()) -> std::borrow::Cow<'_, str> {
        Instrumentation::version(dt)
    }
    fn plural(dt: &()) -> std::borrow::Cow<'_, str> {
        Instrumentation::plural(dt)
    }
    fn meta(&self) -> &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        &self.0.metadata
    }
    fn meta_mut(&mut self) -> &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        &mut std::sync::Arc::make_mut(&mut self.0).metadata
    }
}

impl Instrumentation {
    /// Gives a CR object without `spec` (allowed by the CRD) an empty one, so it reads as an
    /// Instrumentation with every default.
    pub fn fill_missing_spec(value: &mut serde_json::Value) {
        if let Some(obj) = value.as_object_mut() {
            if obj.get("spec").is_none_or(serde_json::Value::is_null) {
                obj.insert("spec".into(), serde_json::json!({}));
            }
        }
    }

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
        let dotnet = cr.spec.dotnet.as_ref().unwrap();
        assert_eq!(dotnet.volume_limit_size, Some(Quantity("300Mi".into())));
        assert_eq!(dotnet.image(), Some("dotnet:1"));
        assert_eq!(dotnet.env[0].name, "X");
    }

    #[test]
    fn a_cr_without_spec_is_read_with_every_default() {
        let cr = serde_json::json!({"apiVersion": "opentelemetry.io/v1alpha1", "kind": "Instrumentation",
            "metadata": {"name": "bare", "namespace": "shop"}});
        assert!(serde_json::from_value::<Instrumentation>(cr.clone()).is_err());
        let stored: StoredInstrumentation = serde_json::from_value(cr).unwrap();
        assert_eq!(stored.0.key(), "shop/bare");
        assert_eq!(stored.0.spec, InstrumentationSpec::default());
        let list: Vec<StoredInstrumentation> = serde_json::from_value(serde_json::json!([
            {"metadata": {"name": "a"}, "spec": null},
            {"metadata": {"name": "b"}, "spec": {"propagators": ["b3"]}}
        ]))
        .unwrap();
        assert_eq!(list[1].0.spec.propagators.len(), 1);
    }

    #[test]
    fn env_vars_keep_fields_newer_than_our_api_types() {
        let var: EnvVar = serde_json::from_value(serde_json::json!(
            {"name": "CONF", "valueFrom": {"fileKeyRef": {"path": "app.env", "key": "CONF", "volumeName": "cfg"}}}
        ))
        .unwrap();
        assert_eq!(var.name, "CONF");
        assert_eq!(
            serde_json::to_value(&var).unwrap()["valueFrom"]["fileKeyRef"]["volumeName"],
            "cfg"
        );
        assert!(var.is_value_from());
    }
}

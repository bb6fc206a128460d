//! Read-only accessors over a raw pod JSON. We never deserialize the pod into k8s-openapi
//! types: those drop fields they do not know, and a patch must leave such fields alone.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use serde_json::{Map, Value};

use crate::json::Field;

/// Which list of the pod spec a container lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ContainerList {
    /// `spec.initContainers`
    Init,
    /// `spec.containers`
    Regular,
}

impl ContainerList {
    /// The JSON key of the list.
    pub fn key(self) -> &'static str {
        match self {
            Self::Init => "initContainers",
            Self::Regular => "containers",
        }
    }
}

/// A borrowed view of a pod.
#[derive(Debug, Clone, Copy)]
pub struct PodView<'a> {
    pod: &'a Value,
}

impl<'a> PodView<'a> {
    /// Wraps a pod.
    pub fn new(pod: &'a Value) -> Self {
        Self { pod }
    }

    /// The pod's JSON.
    pub fn raw(&self) -> &'a Value {
        self.pod
    }

    fn metadata(&self) -> Option<&'a Map<String, Value>> {
        self.pod.field("metadata")?.as_object()
    }

    fn meta_str(&self, key: &str) -> &'a str {
        self.metadata()
            .and_then(|m| m.field(key))
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// `metadata.name` (empty for `generateName` pods).
    pub fn name(&self) -> &'a str {
        self.meta_str("name")
    }

    /// `metadata.generateName`.
    pub fn generate_name(&self) -> &'a str {
        self.meta_str("generateName")
    }

    /// `metadata.uid` (empty at CREATE).
    pub fn uid(&self) -> &'a str {
        self.meta_str("uid")
    }

    /// The name to show in logs: the name, else `generateName` + `*`.
    pub fn display_name(&self) -> String {
        match (self.name(), self.generate_name()) {
            ("", "") => "<unnamed>".to_string(),
            ("", g) => format!("{g}*"),
            (n, _) => n.to_string(),
        }
    }

    fn string_map(&self, key: &str) -> BTreeMap<String, String> {
        self.metadata()
            .and_then(|m| m.field(key))
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Annotations (non-string values are ignored).
    pub fn annotations(&self) -> BTreeMap<String, String> {
        self.string_map("annotations")
    }

    /// The string annotations, borrowed and in the pod's order: for loops that run once per
    /// container, where copying every annotation (a container list can be 100 KB) each time
    /// would make the cost grow with containers times annotation size.
    pub fn annotation_pairs(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.metadata()
            .and_then(|m| m.field("annotations"))
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.iter())
            .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
    }

    /// Labels.
    pub fn labels(&self) -> BTreeMap<String, String> {
        self.string_map("labels")
    }

    /// One annotation.
    pub fn annotation(&self, key: &str) -> Option<&'a str> {
        self.metadata()?.field("annotations")?.str_field(key)
    }

    /// One label.
    pub fn label(&self, key: &str) -> Option<&'a str> {
        self.metadata()?.field("labels")?.str_field(key)
    }

    /// Owner references that parse.
    pub fn owner_references(&self) -> Vec<OwnerReference> {
        self.metadata()
            .and_then(|m| m.field("ownerReferences"))
            .and_then(Value::as_array)
            .map(|refs| {
                refs.iter()
                    .filter_map(|r| serde_json::from_value(r.clone()).ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `spec.nodeName`.
    pub fn node_name(&self) -> &'a str {
        self.pod
            .field("spec")
            .and_then(|s| s.field("nodeName"))
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// The containers of one list.
    pub fn containers(&self, list: ContainerList) -> &'a [Value] {
        self.pod
            .field("spec")
            .and_then(|s| s.field(list.key()))
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Names of the containers of one list, in order.
    pub fn container_names(&self, list: ContainerList) -> Vec<&'a str> {
        self.containers(list)
            .iter()
            .map(|c| c.str_field("name").unwrap_or(""))
            .collect()
    }

    /// Finds a container by name, regular containers first (as the operator does).
    pub fn find_container(&self, name: &str) -> Option<(ContainerList, usize, &'a Value)> {
        for list in [ContainerList::Regular, ContainerList::Init] {
            if let Some((i, c)) = self
                .containers(list)
                .iter()
                .enumerate()
                .find(|(_, c)| c.str_field("name") == Some(name))
            {
                return Some((list, i, c));
            }
        }
        None
    }

    /// The pod-level security context.
    pub fn pod_security_context(&self) -> Option<&'a Map<String, Value>> {
        self.pod
            .field("spec")?
            .field("securityContext")?
            .as_object()
    }

    /// Names of the volumes.
    pub fn volume_names(&self) -> Vec<&'a str> {
        self.pod
            .field("spec")
            .and_then(|s| s.field("volumes"))
            .and_then(Value::as_array)
            .map(|v| v.iter().filter_map(|v| v.str_field("name")).collect())
            .unwrap_or_default()
    }
}

/// Accessors over one container's JSON: the original pod's, or the patch builder's working copy.
pub mod container {
    use serde_json::Value;

    use crate::json::{Field, JsonView};

    /// The container's name.
    pub fn name<'v>(c: impl JsonView<'v>) -> &'v str {
        str_member(c, "name").unwrap_or("")
    }

    /// The container's image.
    pub fn image<'v>(c: impl JsonView<'v>) -> &'v str {
        str_member(c, "image").unwrap_or("")
    }

    fn str_member<'v>(c: impl JsonView<'v>, key: &str) -> Option<&'v str> {
        c.member(key)?.string()
    }

    /// The env entries.
    pub fn env(c: &Value) -> &[Value] {
        c.field("env")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Env entry `i`.
    pub fn env_item<'v, J: JsonView<'v>>(c: J, i: usize) -> Option<J> {
        c.member("env")?.item(i)
    }

    /// Index of the env entry called `name`.
    pub fn env_index<'v>(c: impl JsonView<'v>, name: &str) -> Option<usize> {
        c.member("env")?.position("name", name)
    }

    /// The env entry called `name`.
    pub fn env_entry<'v, J: JsonView<'v>>(c: J, name: &str) -> Option<J> {
        let env = c.member("env")?;
        env.item(env.position("name", name)?)
    }

    /// The literal value of env `name` (empty when it has none).
    pub fn env_value<'v>(c: impl JsonView<'v>, name: &str) -> Option<&'v str> {
        env_entry(c, name).map(|e| str_member(e, "value").unwrap_or(""))
    }

    /// Whether env `name` is set through `valueFrom`.
    pub fn env_is_value_from<'v>(c: impl JsonView<'v>, name: &str) -> bool {
        env_entry(c, name).is_some_and(|e| e.member("valueFrom").is_some_and(|v| !v.is_null()))
    }

    /// The values of member `key` of every volume mount.
    fn mounts<'v>(c: impl JsonView<'v>, key: &str) -> Vec<&'v str> {
        c.member("volumeMounts")
            .map(|m| m.items().filter_map(|m| str_member(m, key)).collect())
            .unwrap_or_default()
    }

    /// Names of the volume mounts.
    pub fn mount_names<'v>(c: impl JsonView<'v>) -> Vec<&'v str> {
        mounts(c, "name")
    }

    /// Mount paths of the volume mounts.
    pub fn mount_paths<'v>(c: impl JsonView<'v>) -> Vec<&'v str> {
        mounts(c, "mountPath")
    }
}

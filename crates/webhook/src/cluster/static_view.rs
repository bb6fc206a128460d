//! A fixed cluster view: objects loaded from files once. Used by `serve --standalone`, by the
//! offline commands and by tests. Namespaces it was not told about exist with no annotations.

use std::sync::Arc;

use otel_inject_lib::{Instrumentation, NamespaceInfo, OwnerKey, OwnerObject};

use super::{ClusterObjects, ClusterView};

/// The embedded Instrumentation used when no cluster object was given at all.
pub const DEFAULT_INSTRUMENTATION_YAML: &str = include_str!("default-instrumentation.yaml");

/// Objects from files, plus an optional Instrumentation that applies to every namespace.
#[derive(Debug, Default, Clone)]
pub struct StaticView {
    objects: ClusterObjects,
    everywhere: Option<Instrumentation>,
}

impl StaticView {
    /// A view over `objects`.
    pub fn new(objects: ClusterObjects) -> Self {
        Self {
            objects,
            everywhere: None,
        }
    }

    /// A view over `objects`; when they hold no Instrumentation, the embedded default applies
    /// to every namespace.
    pub fn with_default_instrumentation(objects: ClusterObjects) -> Result<Self, String> {
        let everywhere = if objects.instrumentations.is_empty() {
            Some(default_instrumentation()?)
        } else {
            None
        };
        Ok(Self {
            objects,
            everywhere,
        })
    }

    /// Whether the embedded default is in use.
    pub fn uses_default_instrumentation(&self) -> bool {
        self.everywhere.is_some()
    }

    /// The objects.
    pub fn objects(&self) -> &ClusterObjects {
        &self.objects
    }
}

/// Parses the embedded default Instrumentation.
pub fn default_instrumentation() -> Result<Instrumentation, String> {
    let value = crate::yaml::read(DEFAULT_INSTRUMENTATION_YAML)
        .map_err(|e| format!("embedded default Instrumentation: {e}"))?
        .ok_or("embedded default Instrumentation: empty")?;
    serde_json::from_value(value).map_err(|e| format!("embedded default Instrumentation: {e}"))
}

impl ClusterView for StaticView {
    fn reads_never_block(&self) -> bool {
        // Objects loaded from files, in memory.
        true
    }

    fn readiness(&self) -> Result<(), String> {
        Ok(())
    }

    fn namespace(&self, name: &str) -> Option<NamespaceInfo> {
        Some(
            self.objects
                .namespaces
                .get(name)
                .cloned()
                .unwrap_or_else(|| NamespaceInfo::named(name)),
        )
    }

    fn instrumentations(&self, namespace: &str) -> Vec<Arc<Instrumentation>> {
        if let Some(everywhere) = &self.everywhere {
            let mut inst = everywhere.clone();
            inst.metadata.namespace = Some(namespace.to_string());
            return vec![Arc::new(inst)];
        }
        self.objects
            .instrumentations
            .range((namespace.to_string(), String::new())..)
            .take_while(|((ns, _), _)| ns == namespace)
            .map(|(_, i)| i.clone())
            .collect()
    }

    fn owner(&self, namespace: &str, key: &OwnerKey) -> Option<OwnerObject> {
        self.objects
            .owners
            .get(&(namespace.to_string(), key.kind.clone(), key.name.clone()))
            .cloned()
    }

    fn cache_sizes(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("instrumentations", self.objects.instrumentations.len()),
            ("namespaces", self.objects.namespaces.len()),
            ("owners", self.objects.owners.len()),
        ]
    }
}

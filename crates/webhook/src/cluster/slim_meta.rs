//! What the metadata watches read off the wire: a `PartialObjectMetadata` reduced, while it is
//! parsed, to the fields the [`MetadataCache`](super::metadata_cache::MetadataCache) keeps. Most
//! of an object's metadata is `managedFields` (a JSON tree per field manager), which
//! `PartialObjectMeta` would build for every listed object only for it to be dropped; here the
//! parser skips it without allocating.

use std::{collections::BTreeMap, fmt::Debug, marker::PhantomData};

use k8s_openapi::{
    api::{apps::v1::ReplicaSet, batch::v1::Job, core::v1::Namespace},
    apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference},
};
use kube::Resource;
use serde::{de::DeserializeOwned, Deserialize, Deserializer};

/// The metadata of a `K`, as a metadata-only request returns it (`metadata_api()` makes
/// `Api<SlimMeta<K>>` ask for `PartialObjectMetadata`, as `Api<PartialObjectMeta<K>>` does).
#[derive(Debug, Clone)]
pub struct SlimMeta<K> {
    /// Only the fields of `K`'s [`SlimKind::Wire`] are set.
    pub metadata: ObjectMeta,
    kind: PhantomData<fn() -> K>,
}

/// A kind watched slim, and which metadata fields are read for it.
pub trait SlimKind: Resource<DynamicType = ()> + Clone + Debug + Send + Sync + 'static {
    /// The metadata fields read; everything else is skipped by the parser.
    type Wire: DeserializeOwned + Into<ObjectMeta>;
}

impl SlimKind for Namespace {
    type Wire = NamespaceMeta;
}

impl SlimKind for ReplicaSet {
    type Wire = OwnerMeta;
}

impl SlimKind for Job {
    type Wire = OwnerMeta;
}

/// A namespace's name and the labels and annotations a decision may read. The resource
/// version is kept because the watcher resumes from the last one it saw.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceMeta {
    name: Option<String>,
    resource_version: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    annotations: Option<BTreeMap<String, String>>,
}

impl From<NamespaceMeta> for ObjectMeta {
    fn from(m: NamespaceMeta) -> Self {
        Self {
            name: m.name,
            resource_version: m.resource_version,
            labels: m.labels,
            annotations: m.annotations,
            ..Default::default()
        }
    }
}

/// An owner's identity and its own owners: no labels, no annotations.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerMeta {
    name: Option<String>,
    namespace: Option<String>,
    uid: Option<String>,
    resource_version: Option<String>,
    owner_references: Option<Vec<OwnerReference>>,
}

impl From<OwnerMeta> for ObjectMeta {
    fn from(m: OwnerMeta) -> Self {
        Self {
            name: m.name,
            namespace: m.namespace,
            uid: m.uid,
            resource_version: m.resource_version,
            owner_references: m.owner_references,
            ..Default::default()
        }
    }
}

impl<'de, K: SlimKind> Deserialize<'de> for SlimMeta<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // `apiVersion` and `kind` (always meta.k8s.io/v1 PartialObjectMetadata) are skipped.
        #[derive(Deserialize)]
        #[serde(bound = "W: DeserializeOwned")]
        struct Object<W> {
            metadata: Option<W>,
        }
        let object = Object::<K::Wire>::deserialize(deserializer)?;
        Ok(Self {
            metadata: object.metadata.map(Into::into).unwrap_or_default(),
            kind: PhantomData,
        })
    }
}

impl<K: SlimKind> Resource for SlimMeta<K> {
    type DynamicType = ();
    type Scope = K::Scope;

    fn kind(dt: &()) -> std::borrow::Cow<'_, str> {
        K::kind(dt)
    }

    fn group(dt: &()) -> std::borrow::Cow<'_, str> {
        K::group(dt)
    }

    fn version(dt: &()) -> std::borrow::Cow<'_, str> {
        K::version(dt)
    }

    fn plural(dt: &()) -> std::borrow::Cow<'_, str> {
        K::plural(dt)
    }

    fn metadata_api() -> bool {
        true
    }

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn owners_keep_identity_and_owner_references_only() {
        let rs: SlimMeta<ReplicaSet> = serde_json::from_value(json!({
            "apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata",
            "metadata": {
                "name": "billing-5f4d3c2b1a", "namespace": "shop", "uid": "u-1",
                "resourceVersion": "9", "generation": 3,
                "creationTimestamp": "2026-01-01T00:00:00Z",
                "labels": {"app": "billing"}, "annotations": {"deployment.kubernetes.io/revision": "2"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "billing",
                                     "uid": "d-1", "controller": true}],
                "managedFields": [{"manager": "kube-controller-manager", "operation": "Update",
                                   "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}}]
            }
        }))
        .expect("parses");
        assert_eq!(
            rs.metadata,
            ObjectMeta {
                name: Some("billing-5f4d3c2b1a".into()),
                namespace: Some("shop".into()),
                uid: Some("u-1".into()),
                resource_version: Some("9".into()),
                owner_references: Some(vec![OwnerReference {
                    api_version: "apps/v1".into(),
                    kind: "Deployment".into(),
                    name: "billing".into(),
                    uid: "d-1".into(),
                    controller: Some(true),
                    block_owner_deletion: None,
                }]),
                ..Default::default()
            }
        );
        assert!(SlimMeta::<Job>::metadata_api());
        assert_eq!(SlimMeta::<Job>::plural(&()), "jobs");
    }

    #[test]
    fn namespaces_keep_labels_and_annotations() {
        let ns: SlimMeta<Namespace> = serde_json::from_value(json!({
            "metadata": {"name": "shop", "uid": "n-1", "resourceVersion": "3",
                         "labels": {"team": "a"}, "annotations": {"x": "y"},
                         "managedFields": [{"manager": "kubectl"}]}
        }))
        .expect("parses");
        assert_eq!(ns.metadata.name.as_deref(), Some("shop"));
        assert_eq!(ns.metadata.resource_version.as_deref(), Some("3"));
        assert_eq!(
            ns.metadata.labels,
            Some([("team".into(), "a".into())].into())
        );
        assert_eq!(
            ns.metadata.annotations,
            Some([("x".into(), "y".into())].into())
        );
        assert_eq!(ns.metadata.managed_fields, None);
        // An object without metadata is an empty one, not an error.
        let empty: SlimMeta<Namespace> = serde_json::from_value(json!({})).expect("parses");
        assert_eq!(empty.metadata, ObjectMeta::default());
    }
}

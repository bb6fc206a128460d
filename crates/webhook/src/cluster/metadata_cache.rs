//! Compact caches of the metadata a decision reads from Namespaces, ReplicaSets and Jobs, fed
//! by watcher events. A reflector store keeps each whole `PartialObjectMeta` (about 2.6 KB an
//! object on a real cluster, most of it fields no decision reads); these keep a namespace's
//! labels and annotations, and an owner's name, uid and owner references, with the strings that
//! repeat (namespace names, kinds, api versions, label keys and values) interned.

use std::{
    borrow::Borrow,
    collections::{BTreeMap, HashMap, HashSet},
    fmt,
    hash::{Hash, Hasher},
    sync::{Arc, RwLock},
};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::runtime::watcher::Event;
use otel_inject_lib::{NamespaceInfo, OwnerObject};

/// The annotation `kubectl apply` writes: the whole object again, as JSON. No decision reads
/// it, and on namespaces managed by kubectl or Argo CD it is most of their metadata.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The owner kinds kept, one store each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerKind {
    /// `apps/v1` ReplicaSet.
    ReplicaSet,
    /// `batch/v1` Job.
    Job,
}

impl OwnerKind {
    /// The kind as the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReplicaSet => "ReplicaSet",
            Self::Job => "Job",
        }
    }

    /// The kind named by an owner reference (compared as the lib does, ignoring case).
    pub fn parse(kind: &str) -> Option<Self> {
        if kind.eq_ignore_ascii_case("ReplicaSet") {
            Some(Self::ReplicaSet)
        } else if kind.eq_ignore_ascii_case("Job") {
            Some(Self::Job)
        } else {
            None
        }
    }
}

/// The caches a [`MetadataCache::apply`] can feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cache {
    /// Namespaces.
    Namespaces,
    /// ReplicaSets or Jobs.
    Owners(OwnerKind),
}

/// What an event did to its cache, as far as readiness is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// A full list just ended: the cache now holds exactly what the API server listed.
    Listed,
    /// Anything else.
    Changed,
}

/// The three metadata caches behind one lock: writes are a few hundred nanoseconds, reads
/// copy one entry out.
#[derive(Debug, Default)]
pub struct MetadataCache {
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    strings: Interner,
    namespaces: Relisted<Arc<str>, NamespaceEntry>,
    replicasets: Relisted<OwnerId, OwnerEntry>,
    jobs: Relisted<OwnerId, OwnerEntry>,
}

impl MetadataCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one watcher event to `cache`, with the watcher's relist semantics: after
    /// `Init`, the `InitApply`s that follow up to `InitDone` are the whole collection, so
    /// whatever they did not mention was deleted while the watch was down.
    pub fn apply(&self, cache: Cache, event: Event<ObjectMeta>) -> Applied {
        let mut inner = self.write();
        let Inner {
            strings,
            namespaces,
            replicasets,
            jobs,
        } = &mut *inner;
        let applied = match cache {
            Cache::Namespaces => namespaces.apply(event, |meta| {
                let name = strings.intern(meta.name.as_deref()?);
                Some((name, NamespaceEntry::new(meta, strings)))
            }),
            Cache::Owners(kind) => {
                let store = match kind {
                    OwnerKind::ReplicaSet => replicasets,
                    OwnerKind::Job => jobs,
                };
                store.apply(event, |meta| {
                    let id = OwnerId {
                        namespace: strings.intern(meta.namespace.as_deref()?),
                        name: meta.name.as_deref()?.into(),
                    };
                    Some((id, OwnerEntry::new(meta, strings)))
                })
            }
        };
        strings.sweep_if_grown();
        applied
    }

    /// The namespace `name`, when cached.
    pub fn namespace(&self, name: &str) -> Option<NamespaceInfo> {
        let inner = self.read();
        let entry = inner.namespaces.map.get(name)?;
        Some(NamespaceInfo {
            name: name.to_string(),
            labels: to_map(&entry.labels),
            annotations: to_map(&entry.annotations),
        })
    }

    /// The ReplicaSet or Job `name` in `namespace`, when cached.
    pub fn owner(&self, kind: OwnerKind, namespace: &str, name: &str) -> Option<OwnerObject> {
        let inner = self.read();
        let store = match kind {
            OwnerKind::ReplicaSet => &inner.replicasets,
            OwnerKind::Job => &inner.jobs,
        };
        let entry = store.map.get(&(namespace, name) as &dyn IdParts)?;
        Some(entry.to_owner(kind, name))
    }

    /// Objects per cache: namespaces, replicasets, jobs.
    pub fn sizes(&self) -> [usize; 3] {
        let inner = self.read();
        [
            inner.namespaces.map.len(),
            inner.replicasets.map.len(),
            inner.jobs.map.len(),
        ]
    }

    /// Distinct interned strings (for tests and the memory benchmark).
    pub fn interned(&self) -> usize {
        self.read().strings.set.len()
    }

    // A panic while holding the lock leaves consistent data (every write is one map
    // operation), so a poisoned lock is still usable.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// A map with the watcher's relist semantics, by mark and sweep: each entry remembers the
/// list it was last seen in, and the end of a list drops those from earlier lists. Unlike a
/// second map filled during the list and swapped in at the end (the reflector's way), memory
/// does not double during a relist, and lookups keep answering meanwhile.
#[derive(Debug)]
struct Relisted<K, V> {
    map: HashMap<K, Stamped<V>>,
    /// The current list; bumped by every `Init`.
    epoch: u32,
}

#[derive(Debug)]
struct Stamped<V> {
    value: V,
    epoch: u32,
}

impl<V> std::ops::Deref for Stamped<V> {
    type Target = V;
    fn deref(&self) -> &V {
        &self.value
    }
}

impl<K, V> Default for Relisted<K, V> {
    fn default() -> Self {
        Self {
            map: HashMap::new(),
            epoch: 0,
        }
    }
}

impl<K: Hash + Eq, V> Relisted<K, V> {
    /// `compact` turns metadata into a key and an entry; `None` (no name) skips the object.
    fn apply(
        &mut self,
        event: Event<ObjectMeta>,
        mut compact: impl FnMut(&ObjectMeta) -> Option<(K, V)>,
    ) -> Applied {
        match event {
            Event::Init => {
                self.epoch = self.epoch.wrapping_add(1);
            }
            Event::InitApply(meta) | Event::Apply(meta) => {
                if let Some((key, value)) = compact(&meta) {
                    let epoch = self.epoch;
                    self.map.insert(key, Stamped { value, epoch });
                }
            }
            Event::Delete(meta) => {
                if let Some((key, _)) = compact(&meta) {
                    self.map.remove(&key);
                }
            }
            Event::InitDone => {
                let epoch = self.epoch;
                self.map.retain(|_, e| e.epoch == epoch);
                self.map.shrink_to_fit();
                return Applied::Listed;
            }
        }
        Applied::Changed
    }
}

/// The (namespace, name) of an owner: the namespace interned, the name its own.
#[derive(Debug)]
struct OwnerId {
    namespace: Arc<str>,
    name: Box<str>,
}

/// Lets the map be searched with borrowed `(&str, &str)` without building an `OwnerId`.
trait IdParts {
    fn parts(&self) -> (&str, &str);
}

impl IdParts for OwnerId {
    fn parts(&self) -> (&str, &str) {
        (&self.namespace, &self.name)
    }
}

impl IdParts for (&str, &str) {
    fn parts(&self) -> (&str, &str) {
        (self.0, self.1)
    }
}

impl<'a> Borrow<dyn IdParts + 'a> for OwnerId {
    fn borrow(&self) -> &(dyn IdParts + 'a) {
        self
    }
}

impl Hash for dyn IdParts + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.parts().hash(state);
    }
}

impl PartialEq for dyn IdParts + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for dyn IdParts + '_ {}

// Must hash exactly as `dyn IdParts` does, for the borrowed lookups to find it.
impl Hash for OwnerId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self as &dyn IdParts).hash(state);
    }
}

impl PartialEq for OwnerId {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for OwnerId {}

type Pairs = Box<[(Arc<str>, Arc<str>)]>;

#[derive(Debug)]
struct NamespaceEntry {
    labels: Pairs,
    annotations: Pairs,
}

impl NamespaceEntry {
    fn new(meta: &ObjectMeta, strings: &mut Interner) -> Self {
        let mut pairs = |m: &Option<BTreeMap<String, String>>| -> Pairs {
            m.iter()
                .flatten()
                .filter(|(k, _)| k.as_str() != LAST_APPLIED)
                .map(|(k, v)| (strings.intern(k), strings.intern(v)))
                .collect()
        };
        Self {
            labels: pairs(&meta.labels),
            annotations: pairs(&meta.annotations),
        }
    }
}

fn to_map(pairs: &[(Arc<str>, Arc<str>)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[derive(Debug)]
struct OwnerEntry {
    uid: Uid,
    owner_references: Box<[CompactOwnerRef]>,
}

impl OwnerEntry {
    fn new(meta: &ObjectMeta, strings: &mut Interner) -> Self {
        Self {
            uid: Uid::new(meta.uid.as_deref().unwrap_or("")),
            owner_references: meta
                .owner_references
                .iter()
                .flatten()
                .map(|r| CompactOwnerRef {
                    api_version: strings.intern(&r.api_version),
                    kind: strings.intern(&r.kind),
                    name: r.name.as_str().into(),
                    uid: Uid::new(&r.uid),
                    controller: r.controller,
                    block_owner_deletion: r.block_owner_deletion,
                })
                .collect(),
        }
    }

    fn to_owner(&self, kind: OwnerKind, name: &str) -> OwnerObject {
        OwnerObject {
            kind: kind.as_str().to_string(),
            name: name.to_string(),
            uid: self.uid.to_string(),
            owner_references: self
                .owner_references
                .iter()
                .map(|r| OwnerReference {
                    api_version: r.api_version.to_string(),
                    kind: r.kind.to_string(),
                    name: r.name.to_string(),
                    uid: r.uid.to_string(),
                    controller: r.controller,
                    block_owner_deletion: r.block_owner_deletion,
                })
                .collect(),
        }
    }
}

/// An owner reference, every field kept (the lib reads kind, name and uid; the rest is a few
/// bytes and keeps the `OwnerObject` identical to what the API returned).
#[derive(Debug)]
struct CompactOwnerRef {
    api_version: Arc<str>,
    kind: Arc<str>,
    name: Box<str>,
    uid: Uid,
    controller: Option<bool>,
    block_owner_deletion: Option<bool>,
}

/// A uid: the API server's are canonical UUIDs (36 characters, 16 bytes of value); anything
/// else is kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Uid {
    Uuid([u8; 16]),
    Text(Box<str>),
}

impl Uid {
    fn new(s: &str) -> Self {
        parse_uuid(s).map_or_else(|| Self::Text(s.into()), Self::Uuid)
    }
}

/// Only the lowercase hyphenated form, so that formatting gives back exactly `s`.
fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; 16];
    let mut digits = b.iter().copied().filter(|&c| c != b'-');
    for byte in &mut out {
        *byte = nibble(digits.next()?)? << 4 | nibble(digits.next()?)?;
    }
    Some(out)
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(s) => f.write_str(s),
            Self::Uuid(b) => {
                for (i, byte) in b.iter().enumerate() {
                    if matches!(i, 4 | 6 | 8 | 10) {
                        f.write_str("-")?;
                    }
                    write!(f, "{byte:02x}")?;
                }
                Ok(())
            }
        }
    }
}

/// One copy of each repeated string. Strings no entry uses any more are dropped by a sweep,
/// run when the set has doubled since the last one, so the set stays within twice what is in
/// use and a sweep's cost is spread over as many insertions.
#[derive(Debug, Default)]
struct Interner {
    set: HashSet<Arc<str>>,
    live_at_last_sweep: usize,
}

impl Interner {
    fn intern(&mut self, s: &str) -> Arc<str> {
        if let Some(found) = self.set.get(s) {
            return Arc::clone(found);
        }
        let new: Arc<str> = Arc::from(s);
        self.set.insert(Arc::clone(&new));
        new
    }

    fn sweep_if_grown(&mut self) {
        if self.set.len() > 2 * self.live_at_last_sweep.max(512) {
            self.sweep();
        }
    }

    fn sweep(&mut self) {
        self.set.retain(|s| Arc::strong_count(s) > 1);
        self.live_at_last_sweep = self.set.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RS_UID: &str = "3f0e4e7e-2b1c-4c55-9a0e-6f1b2d7c9a11";
    const DEPLOY_UID: &str = "8c7b6a59-4e3d-4c2b-a1f0-e9d8c7b6a5f4";

    fn owned_by_deployment(namespace: &str, name: &str, deployment: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            uid: Some(RS_UID.into()),
            resource_version: Some("42".into()),
            labels: Some([("app".to_string(), deployment.to_string())].into()),
            owner_references: Some(vec![OwnerReference {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                name: deployment.into(),
                uid: DEPLOY_UID.into(),
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..Default::default()
        }
    }

    fn named(namespace: &str, name: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.into()),
            namespace: Some(namespace.into()),
            uid: Some(format!("uid-{name}")),
            ..Default::default()
        }
    }

    fn rs(cache: &MetadataCache, namespace: &str, name: &str) -> Option<OwnerObject> {
        cache.owner(OwnerKind::ReplicaSet, namespace, name)
    }

    const RS: Cache = Cache::Owners(OwnerKind::ReplicaSet);

    fn list(cache: &MetadataCache, which: Cache, items: Vec<ObjectMeta>) -> Applied {
        cache.apply(which, Event::Init);
        for m in items {
            assert_eq!(cache.apply(which, Event::InitApply(m)), Applied::Changed);
        }
        cache.apply(which, Event::InitDone)
    }

    #[test]
    fn an_owner_comes_back_as_the_api_wrote_it() {
        let cache = MetadataCache::new();
        let meta = owned_by_deployment("shop", "billing-5f4d3c2b1a", "billing");
        assert_eq!(list(&cache, RS, vec![meta.clone()]), Applied::Listed);
        let owner = rs(&cache, "shop", "billing-5f4d3c2b1a").expect("cached");
        assert_eq!(
            owner,
            OwnerObject {
                kind: "ReplicaSet".into(),
                name: "billing-5f4d3c2b1a".into(),
                uid: RS_UID.into(),
                owner_references: meta.owner_references.clone().unwrap_or_default(),
            }
        );
        assert_eq!(rs(&cache, "other", "billing-5f4d3c2b1a"), None);
        assert_eq!(
            cache.owner(OwnerKind::Job, "shop", "billing-5f4d3c2b1a"),
            None
        );
        assert_eq!(cache.sizes(), [0, 1, 0]);
    }

    #[test]
    fn apply_replaces_and_delete_removes() {
        let cache = MetadataCache::new();
        list(&cache, RS, vec![]);
        cache.apply(RS, Event::Apply(owned_by_deployment("shop", "a-1", "a")));
        cache.apply(RS, Event::Apply(owned_by_deployment("shop", "a-1", "b")));
        let owner = rs(&cache, "shop", "a-1").expect("cached");
        assert_eq!(owner.owner_references[0].name, "b");
        cache.apply(RS, Event::Delete(named("shop", "a-1")));
        assert_eq!(rs(&cache, "shop", "a-1"), None);
        // Deleting what is not there is not an error.
        cache.apply(RS, Event::Delete(named("shop", "a-1")));
        assert_eq!(cache.sizes(), [0, 0, 0]);
    }

    #[test]
    fn a_relist_drops_what_was_deleted_while_the_watch_was_down() {
        let cache = MetadataCache::new();
        list(
            &cache,
            RS,
            vec![
                named("shop", "kept"),
                named("shop", "gone"),
                named("ops", "gone"),
            ],
        );
        assert_eq!(cache.sizes()[1], 3);
        // The watch restarts: Init, a list without the deleted ones, InitDone.
        cache.apply(RS, Event::Init);
        cache.apply(RS, Event::InitApply(named("shop", "kept")));
        cache.apply(RS, Event::InitApply(named("shop", "new")));
        // During the relist the old entries still answer.
        assert!(rs(&cache, "shop", "gone").is_some());
        assert_eq!(cache.apply(RS, Event::InitDone), Applied::Listed);
        assert!(rs(&cache, "shop", "kept").is_some());
        assert!(rs(&cache, "shop", "new").is_some());
        assert_eq!(rs(&cache, "shop", "gone"), None);
        assert_eq!(rs(&cache, "ops", "gone"), None);
        assert_eq!(cache.sizes()[1], 2);
        // A second relist with nothing empties the cache; an Apply after it is kept.
        list(&cache, RS, vec![]);
        cache.apply(RS, Event::Apply(named("shop", "after")));
        assert_eq!(cache.sizes()[1], 1);
    }

    #[test]
    fn caches_are_separate() {
        let cache = MetadataCache::new();
        list(&cache, RS, vec![named("shop", "x")]);
        list(
            &cache,
            Cache::Owners(OwnerKind::Job),
            vec![named("shop", "y")],
        );
        // A relist of jobs does not touch ReplicaSets.
        list(&cache, Cache::Owners(OwnerKind::Job), vec![]);
        assert!(rs(&cache, "shop", "x").is_some());
        assert_eq!(cache.owner(OwnerKind::Job, "shop", "y"), None);
    }

    #[test]
    fn namespaces_keep_labels_and_annotations_but_not_the_last_applied_copy() {
        let cache = MetadataCache::new();
        let meta = ObjectMeta {
            name: Some("shop".into()),
            labels: Some([("team".to_string(), "payments".to_string())].into()),
            annotations: Some(
                [
                    (
                        "instrumentation.opentelemetry.io/inject-dotnet".to_string(),
                        "true".to_string(),
                    ),
                    (
                        LAST_APPLIED.to_string(),
                        "{\"apiVersion\":\"v1\"}".to_string(),
                    ),
                ]
                .into(),
            ),
            ..Default::default()
        };
        assert_eq!(list(&cache, Cache::Namespaces, vec![meta]), Applied::Listed);
        let ns = cache.namespace("shop").expect("cached");
        assert_eq!(ns.name, "shop");
        assert_eq!(
            ns.labels,
            [("team".to_string(), "payments".to_string())].into()
        );
        assert_eq!(
            ns.annotations,
            [(
                "instrumentation.opentelemetry.io/inject-dotnet".to_string(),
                "true".to_string()
            )]
            .into()
        );
        assert_eq!(cache.namespace("other"), None);
    }

    #[test]
    fn objects_without_a_name_are_skipped() {
        let cache = MetadataCache::new();
        list(&cache, RS, vec![ObjectMeta::default()]);
        list(&cache, Cache::Namespaces, vec![ObjectMeta::default()]);
        assert_eq!(cache.sizes(), [0, 0, 0]);
    }

    #[test]
    fn repeated_strings_are_stored_once_and_unused_ones_dropped() {
        let cache = MetadataCache::new();
        let many: Vec<_> = (0..1000)
            .map(|i| owned_by_deployment("shop", &format!("rs-{i}"), "billing"))
            .collect();
        list(&cache, RS, many);
        // "shop", "apps/v1", "Deployment".
        assert_eq!(cache.interned(), 3);
        // Namespaces come and go; the interner does not keep their names for ever.
        for i in 0..5000 {
            let ns = format!("tmp-{i}");
            cache.apply(RS, Event::Apply(named(&ns, "x")));
            cache.apply(RS, Event::Delete(named(&ns, "x")));
        }
        assert!(cache.interned() <= 2 * 512 + 1, "{}", cache.interned());
        assert!(rs(&cache, "shop", "rs-999").is_some());
    }

    #[test]
    fn uids_round_trip() {
        for s in [
            RS_UID,
            "rs-1",
            "",
            "3F0E4E7E-2B1C-4C55-9A0E-6F1B2D7C9A11",
            "3f0e4e7e-2b1c-4c55-9a0e-6f1b2d7c9a1g",
            "3f0e4e7e+2b1c-4c55-9a0e-6f1b2d7c9a11",
        ] {
            assert_eq!(Uid::new(s).to_string(), s);
        }
        assert!(matches!(Uid::new(RS_UID), Uid::Uuid(_)));
        assert!(matches!(Uid::new("rs-1"), Uid::Text(_)));
    }

    #[test]
    fn owner_kinds_parse_like_the_lib_compares() {
        assert_eq!(OwnerKind::parse("replicaset"), Some(OwnerKind::ReplicaSet));
        assert_eq!(OwnerKind::parse("Job"), Some(OwnerKind::Job));
        assert_eq!(OwnerKind::parse("Deployment"), None);
    }
}

//! Builds the RFC 6902 patch by applying each operation to a working copy of the pod as it is
//! recorded. The patch is therefore exactly what produced the mutated pod, it only ever names
//! paths we add or change, and later steps see earlier ones (indices stay right).

use json_patch::{AddOperation, Patch, PatchOperation, RemoveOperation};
use jsonptr::PointerBuf;
use serde_json::Value;

use crate::json::Field;
use crate::pod::ContainerList;

/// A JSON pointer built from tokens; `~` and `/` in tokens are escaped (`~0`, `~1`).
pub fn pointer<'t>(tokens: impl IntoIterator<Item = &'t str>) -> PointerBuf {
    // Written directly (jsonptr's `from_tokens` was a tenth of a mutation's instructions).
    let mut s = String::with_capacity(48);
    for t in tokens {
        s.push('/');
        if t.contains(['~', '/']) {
            s.push_str(&t.replace('~', "~0").replace('/', "~1"));
        } else {
            s.push_str(t);
        }
    }
    // Every token escaped, so this parses; the default (the root) is never reached.
    PointerBuf::parse(s).unwrap_or_default()
}

/// Records operations and applies them to a working copy.
///
/// The working copy does not copy the containers up front: each starts as a stub (its name,
/// and where it is in the original) and is copied from the original the first time an
/// operation writes into it. Most of a pod is its containers' env and mounts, and most
/// containers of a pod are never targeted; the copy of the whole pod was a third of a
/// mutation's instructions. Reads of a container go to the original until it is copied.
#[derive(Debug, Clone)]
pub struct PatchBuilder<'a> {
    original: &'a Value,
    doc: Value,
    ops: Vec<PatchOperation>,
}

/// Where a container is: its list and index in the working copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContainerRef {
    /// The list.
    pub list: ContainerList,
    /// The index in that list.
    pub index: usize,
}

fn with_token<R>(path: &[&str], last: &str, f: impl FnOnce(PointerBuf) -> R) -> R {
    f(pointer(path.iter().copied().chain(std::iter::once(last))))
}

/// The member of a stub that holds the container's index in the original. No Kubernetes
/// field can be called this (a NUL is not a valid key there), and stubs never reach a patch.
const STUB: &str = "\u{0}otel-inject: index in the original";

/// The original index a stub stands for.
fn stub_index(v: &Value) -> Option<usize> {
    match v {
        Value::Object(m) if m.len() <= 2 => m
            .field(STUB)
            .and_then(Value::as_u64)
            .and_then(|i| usize::try_from(i).ok()),
        _ => None,
    }
}

/// The original container that `v`, when it is a stub in list `list` (`containers`,
/// `initContainers`), stands for.
fn stands_for<'v>(original: &'v Value, list: &str, v: &Value) -> Option<&'v Value> {
    let index = stub_index(v)?;
    original.field("spec")?.field(list)?.as_array()?.get(index)
}

/// The stub of container `c`, at `index` in its list.
fn stub(index: usize, c: &Value) -> Value {
    let mut stub = serde_json::Map::with_capacity(2);
    if let Some(name) = c.field("name") {
        stub.insert("name".into(), name.clone());
    }
    stub.insert(STUB.into(), Value::from(index));
    Value::Object(stub)
}

const LISTS: [&str; 2] = ["containers", "initContainers"];

/// The pod with every container replaced by its stub.
fn skeleton(pod: &Value) -> Value {
    let Value::Object(pod) = pod else {
        return pod.clone();
    };
    let mut out = serde_json::Map::with_capacity(pod.len());
    for (k, v) in pod {
        let copied = match (k.as_str(), v) {
            ("spec", Value::Object(spec)) => {
                let mut spec_out = serde_json::Map::with_capacity(spec.len());
                for (sk, sv) in spec {
                    let copied = match (sk.as_str(), sv) {
                        (list, Value::Array(items)) if LISTS.contains(&list) => Value::Array(
                            items.iter().enumerate().map(|(i, c)| stub(i, c)).collect(),
                        ),
                        _ => sv.clone(),
                    };
                    spec_out.insert(sk.clone(), copied);
                }
                Value::Object(spec_out)
            }
            _ => v.clone(),
        };
        out.insert(k.clone(), copied);
    }
    Value::Object(out)
}

impl<'a> PatchBuilder<'a> {
    /// Starts from the original pod.
    pub fn new(original: &'a Value) -> Self {
        Self {
            original,
            doc: skeleton(original),
            ops: Vec::new(),
        }
    }

    /// The working copy, with every recorded operation applied, except that a container no
    /// operation wrote into is a stub holding only its name: read containers with
    /// [`Self::container`].
    pub fn doc(&self) -> &Value {
        &self.doc
    }

    /// The recorded operations.
    pub fn into_patch(self) -> Patch {
        // Every test builds in debug: there the patch is replayed and checked.
        if cfg!(debug_assertions) {
            self.finish().0
        } else {
            Patch(self.ops)
        }
    }

    /// The operations and the mutated document (every container in full).
    pub fn finish(mut self) -> (Patch, Value) {
        let original = self.original;
        for list in LISTS {
            if let Some(Value::Array(items)) =
                self.doc.field_mut("spec").and_then(|s| s.field_mut(list))
            {
                for c in items.iter_mut() {
                    if let Some(full) = stands_for(original, list, c) {
                        *c = full.clone();
                    }
                }
            }
        }
        if cfg!(debug_assertions) {
            let mut replayed = original.clone();
            let applied = json_patch::patch(&mut replayed, &self.ops);
            debug_assert!(
                applied.is_ok() && replayed == self.doc,
                "the recorded patch does not reproduce the working copy: {applied:?}"
            );
        }
        (Patch(self.ops), self.doc)
    }

    // Operations are applied to the working copy directly (one walk, no pointer parsing) and
    // recorded as RFC 6902 operations; in debug builds `finish` replays the record with
    // json-patch and checks it lands on the same document.

    fn get(&self, tokens: &[&str]) -> Option<&Value> {
        let mut cur = &self.doc;
        for (depth, t) in tokens.iter().enumerate() {
            cur = match cur {
                Value::Object(m) => m.field(t)?,
                Value::Array(a) => a.get(t.parse::<usize>().ok()?)?,
                _ => return None,
            };
            if depth == 2 && tokens[0] == "spec" {
                if let Some(full) = stands_for(self.original, tokens[1], cur) {
                    cur = full;
                }
            }
        }
        Some(cur)
    }

    fn get_mut(&mut self, tokens: &[&str]) -> Option<&mut Value> {
        let original = self.original;
        let mut cur = &mut self.doc;
        for (depth, t) in tokens.iter().enumerate() {
            cur = match cur {
                Value::Object(m) => m.field_mut(t)?,
                Value::Array(a) => a.get_mut(t.parse::<usize>().ok()?)?,
                _ => return None,
            };
            if depth == 2 && tokens[0] == "spec" {
                if let Some(full) = stands_for(original, tokens[1], cur) {
                    *cur = full.clone();
                }
            }
        }
        Some(cur)
    }

    /// Puts `value` at `path` (an object member or a new array element at the end), creating
    /// nothing above it: when the parent does not exist, nothing is done or recorded.
    fn add_at(&mut self, path: &[&str], value: Value) {
        let Some((last, parent)) = path.split_last() else {
            return;
        };
        let done = match self.get_mut(parent) {
            Some(Value::Object(m)) => {
                m.insert((*last).to_string(), value.clone());
                true
            }
            _ => false,
        };
        if done {
            self.ops.push(PatchOperation::Add(AddOperation {
                path: pointer(path.iter().copied()),
                value,
            }));
        }
    }

    /// Sets `key` in the object at `parent`, creating the object when it is absent or null.
    pub fn set_member(&mut self, parent: &[&str], key: &str, value: Value) {
        match self.get_mut(parent) {
            Some(Value::Object(m)) => {
                if m.field(key) == Some(&value) {
                    return;
                }
                m.insert(key.to_string(), value.clone());
                let op = with_token(parent, key, |path| AddOperation { path, value });
                self.ops.push(PatchOperation::Add(op));
            }
            _ => {
                let mut obj = serde_json::Map::new();
                obj.insert(key.to_string(), value);
                self.add_at(parent, Value::Object(obj));
            }
        }
    }

    /// Appends to the array at `path`, creating it when it is absent or null.
    pub fn push(&mut self, path: &[&str], value: Value) {
        match self.get_mut(path) {
            Some(Value::Array(a)) => {
                let idx = a.len().to_string();
                a.push(value.clone());
                let op = with_token(path, &idx, |path| AddOperation { path, value });
                self.ops.push(PatchOperation::Add(op));
            }
            _ => self.add_at(path, Value::Array(vec![value])),
        }
    }

    /// Inserts into the array at `path` before `index`, creating the array when absent.
    pub fn insert(&mut self, path: &[&str], index: usize, value: Value) {
        match self.get_mut(path) {
            Some(Value::Array(a)) if index <= a.len() => {
                a.insert(index, value.clone());
                let idx = index.to_string();
                let op = with_token(path, &idx, |path| AddOperation { path, value });
                self.ops.push(PatchOperation::Add(op));
            }
            _ => self.push(path, value),
        }
    }

    /// Moves array element `index` at `path` to the end (remove, then append).
    pub fn move_to_end(&mut self, path: &[&str], index: usize) {
        let Some(Value::Array(a)) = self.get_mut(path) else {
            return;
        };
        if index + 1 >= a.len() {
            return;
        }
        let mut value = a.remove(index);
        if let ["spec", list] = path {
            if let Some(full) = stands_for(self.original, list, &value) {
                value = full.clone();
            }
        }
        let idx = index.to_string();
        let op = with_token(path, &idx, |path| RemoveOperation { path });
        self.ops.push(PatchOperation::Remove(op));
        self.push(path, value);
    }

    // === containers ===

    /// The container at `r` in the working copy.
    pub fn container(&self, r: ContainerRef) -> &Value {
        static NULL: Value = Value::Null;
        let idx = r.index.to_string();
        self.get(&["spec", r.list.key(), &idx]).unwrap_or(&NULL)
    }

    /// Finds a container by name in the working copy (regular containers first).
    pub fn find_container(&self, name: &str) -> Option<ContainerRef> {
        for list in [ContainerList::Regular, ContainerList::Init] {
            if let Some(Value::Array(a)) = self.get(&["spec", list.key()]) {
                if let Some(index) = a.iter().position(|c| c.str_field("name") == Some(name)) {
                    return Some(ContainerRef { list, index });
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_escape_as_rfc_6901_says() {
        let p = pointer(["metadata", "annotations", "otel-inject.dev/a~b"]);
        assert_eq!(p.as_str(), "/metadata/annotations/otel-inject.dev~1a~0b");
        assert_eq!(
            p,
            PointerBuf::from_tokens(["metadata", "annotations", "otel-inject.dev/a~b"])
        );
        assert_eq!(
            pointer(["spec", "containers", "0", "env", "3"]).as_str(),
            "/spec/containers/0/env/3"
        );
        assert_eq!(pointer(["", "~1"]).as_str(), "//~01");
    }
}

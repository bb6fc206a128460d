//! Builds the RFC 6902 patch by applying each operation to a working copy of the pod as it is
//! recorded. The patch is therefore exactly what produced the mutated pod, it only ever names
//! paths we add or change, and later steps see earlier ones (indices stay right).

use json_patch::{AddOperation, Patch, PatchOperation, RemoveOperation, ReplaceOperation};
use jsonptr::PointerBuf;
use serde_json::Value;

use crate::pod::ContainerList;

/// A JSON pointer built from tokens; `/` and `~` in tokens are escaped by jsonptr.
pub fn pointer<'t>(tokens: impl IntoIterator<Item = &'t str>) -> PointerBuf {
    PointerBuf::from_tokens(tokens)
}

/// Records operations and applies them to a working copy.
#[derive(Debug, Clone)]
pub struct PatchBuilder {
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

impl PatchBuilder {
    /// Starts from the original pod.
    pub fn new(original: &Value) -> Self {
        Self {
            doc: original.clone(),
            ops: Vec::new(),
        }
    }

    /// The working copy, with every recorded operation applied.
    pub fn doc(&self) -> &Value {
        &self.doc
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The recorded operations.
    pub fn into_patch(self) -> Patch {
        Patch(self.ops)
    }

    /// The operations and the mutated document.
    pub fn finish(self) -> (Patch, Value) {
        (Patch(self.ops), self.doc)
    }

    fn apply(&mut self, op: PatchOperation) {
        // Every path we build points into a location we have just checked exists, and a single
        // add/remove/replace either applies or leaves the document as it was, so the
        // transactional `json_patch::patch` (which keeps an undo stack) buys nothing here. If
        // an op ever failed it is dropped rather than recorded.
        if json_patch::patch_unsafe(&mut self.doc, std::slice::from_ref(&op)).is_ok() {
            self.ops.push(op);
        }
    }

    fn get(&self, tokens: &[&str]) -> Option<&Value> {
        let mut cur = &self.doc;
        for t in tokens {
            cur = match cur {
                Value::Object(m) => m.get(*t)?,
                Value::Array(a) => a.get(t.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    /// Sets `key` in the object at `parent`, creating the object when it is absent or null.
    pub fn set_member(&mut self, parent: &[&str], key: &str, value: Value) {
        match self.get(parent) {
            Some(Value::Object(m)) => {
                if m.get(key) == Some(&value) {
                    return;
                }
                let mut path = parent.to_vec();
                path.push(key);
                self.apply(PatchOperation::Add(AddOperation {
                    path: pointer(path),
                    value,
                }));
            }
            _ => {
                let mut obj = serde_json::Map::new();
                obj.insert(key.to_string(), value);
                self.apply(PatchOperation::Add(AddOperation {
                    path: pointer(parent.iter().copied()),
                    value: Value::Object(obj),
                }));
            }
        }
    }

    /// Appends to the array at `path`, creating it when it is absent or null.
    pub fn push(&mut self, path: &[&str], value: Value) {
        match self.get(path) {
            Some(Value::Array(a)) => {
                let idx = a.len().to_string();
                let mut p = path.to_vec();
                p.push(&idx);
                let ptr = pointer(p);
                self.apply(PatchOperation::Add(AddOperation { path: ptr, value }));
            }
            _ => self.apply(PatchOperation::Add(AddOperation {
                path: pointer(path.iter().copied()),
                value: Value::Array(vec![value]),
            })),
        }
    }

    /// Inserts into the array at `path` before `index`, creating the array when absent.
    pub fn insert(&mut self, path: &[&str], index: usize, value: Value) {
        match self.get(path) {
            Some(Value::Array(a)) if index <= a.len() => {
                let idx = index.to_string();
                let mut p = path.to_vec();
                p.push(&idx);
                let ptr = pointer(p);
                self.apply(PatchOperation::Add(AddOperation { path: ptr, value }));
            }
            Some(Value::Array(_)) => self.push(path, value),
            _ => self.apply(PatchOperation::Add(AddOperation {
                path: pointer(path.iter().copied()),
                value: Value::Array(vec![value]),
            })),
        }
    }

    /// Replaces the value at `path` (which must exist).
    pub fn replace(&mut self, path: &[&str], value: Value) {
        if self.get(path) == Some(&value) {
            return;
        }
        self.apply(PatchOperation::Replace(ReplaceOperation {
            path: pointer(path.iter().copied()),
            value,
        }));
    }

    /// Moves array element `index` at `path` to the end (remove, then append).
    pub fn move_to_end(&mut self, path: &[&str], index: usize) {
        let Some(Value::Array(a)) = self.get(path) else {
            return;
        };
        if index + 1 >= a.len() {
            return;
        }
        let value = a[index].clone();
        let idx = index.to_string();
        let mut p = path.to_vec();
        p.push(&idx);
        self.apply(PatchOperation::Remove(RemoveOperation { path: pointer(p) }));
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
                if let Some(index) = a
                    .iter()
                    .position(|c| c.get("name").and_then(Value::as_str) == Some(name))
                {
                    return Some(ContainerRef { list, index });
                }
            }
        }
        None
    }
}

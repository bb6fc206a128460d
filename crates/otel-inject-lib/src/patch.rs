//! Builds the RFC 6902 patch by applying each operation to a working copy of the pod as it is
//! recorded. The patch is therefore exactly what produced the mutated pod, it only ever names
//! paths we add or change, and later steps see earlier ones (indices stay right).

use json_patch::{AddOperation, Patch, PatchOperation, RemoveOperation};
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
    /// In debug builds (every test), the input, to check on finishing that the recorded patch
    /// applied by `json-patch` gives exactly the working copy.
    #[cfg(debug_assertions)]
    original: Value,
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

impl PatchBuilder {
    /// Starts from the original pod.
    pub fn new(original: &Value) -> Self {
        Self {
            doc: original.clone(),
            ops: Vec::new(),
            #[cfg(debug_assertions)]
            original: original.clone(),
        }
    }

    /// The working copy, with every recorded operation applied.
    pub fn doc(&self) -> &Value {
        &self.doc
    }

    /// The recorded operations.
    pub fn into_patch(self) -> Patch {
        self.finish().0
    }

    /// The operations and the mutated document.
    pub fn finish(self) -> (Patch, Value) {
        #[cfg(debug_assertions)]
        {
            let mut replayed = self.original.clone();
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
        for t in tokens {
            cur = match cur {
                Value::Object(m) => m.get(*t)?,
                Value::Array(a) => a.get(t.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(cur)
    }

    fn get_mut(&mut self, tokens: &[&str]) -> Option<&mut Value> {
        let mut cur = &mut self.doc;
        for t in tokens {
            cur = match cur {
                Value::Object(m) => m.get_mut(*t)?,
                Value::Array(a) => a.get_mut(t.parse::<usize>().ok()?)?,
                _ => return None,
            };
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
                if m.get(key) == Some(&value) {
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
        let value = a.remove(index);
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

//! Builds the RFC 6902 patch, and reads the pod as the operations recorded so far leave it. The
//! patch is therefore exactly what produced the mutated pod, it only ever names paths we add or
//! change, and later steps see earlier ones (indices stay right).

use std::borrow::Cow;

use json_patch::{AddOperation, PatchOperation, RemoveOperation};
use jsonptr::PointerBuf;
use serde_json::Value;

use crate::env::Var;
use crate::json::{Field, JsonView};
use crate::pod::{container, ContainerList};

/// The RFC 6902 JSON Patch of a decision: what an admission response carries, and, applied to
/// the pod, the injected pod. Only `add` and `remove` operations, in the order they were made.
///
/// It is written as JSON by [`crate::InjectionDecision::patch_json`] (the webhook's path, the
/// cheap one) or serialised with serde (the same bytes); [`Patch::to_json_patch`] gives the
/// `json_patch` crate's form, to apply or to edit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Patch {
    pub(crate) ops: Vec<Op>,
}

/// One operation. Paths are JSON pointers, escaped already.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    /// `add` of `value` at `path`.
    Add {
        /// Where.
        path: String,
        /// What.
        value: Added,
    },
    /// `remove` of what is at `path`.
    Remove {
        /// Where.
        path: String,
    },
}

/// What an `add` puts: any JSON, or an env var kept as its strings (most of what a mutation
/// adds; see [`Var`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Added {
    /// A JSON value.
    Json(Value),
    /// An env var.
    Env(Var),
}

impl From<Value> for Added {
    fn from(v: Value) -> Self {
        Self::Json(v)
    }
}

impl From<Var> for Added {
    fn from(v: Var) -> Self {
        Self::Env(v)
    }
}

impl Added {
    /// As JSON (an env var is built as an object the first time).
    pub(crate) fn as_json(&self) -> &Value {
        match self {
            Self::Json(v) => v,
            Self::Env(v) => v.as_json(),
        }
    }

    fn into_json(self) -> Value {
        match self {
            Self::Json(v) => v,
            Self::Env(v) => v.into_json(),
        }
    }

    /// Its `name` member, when it is an object with a string there.
    fn name(&self) -> Option<&str> {
        match self {
            Self::Json(v) => v.str_field("name"),
            Self::Env(v) => Some(v.name()),
        }
    }
}

impl Patch {
    /// Whether there is no operation.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// The same patch as the `json_patch` crate has it.
    pub fn to_json_patch(&self) -> json_patch::Patch {
        self.clone().into()
    }

    /// Applies the patch to `doc` (the pod it was made for gives the injected pod).
    pub fn apply(&self, doc: &mut Value) -> Result<(), json_patch::PatchError> {
        json_patch::patch(doc, &self.to_json_patch())
    }

    /// The patch as compact JSON: what [`crate::InjectionDecision::patch_json`] writes.
    pub fn to_json(&self) -> Vec<u8> {
        crate::patch_json::to_vec(self)
    }
}

impl From<Patch> for json_patch::Patch {
    fn from(p: Patch) -> Self {
        json_patch::Patch(
            p.ops
                .into_iter()
                .map(|op| match op {
                    Op::Add { path, value } => PatchOperation::Add(AddOperation {
                        path: parsed(&path),
                        value: value.into_json(),
                    }),
                    Op::Remove { path } => PatchOperation::Remove(RemoveOperation {
                        path: parsed(&path),
                    }),
                })
                .collect(),
        )
    }
}

impl serde::Serialize for Patch {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json_patch().serialize(serializer)
    }
}

/// A pointer this module wrote (every token escaped, so it parses; the root is never reached).
fn parsed(path: &str) -> PointerBuf {
    PointerBuf::parse(path).unwrap_or_default()
}

/// A JSON pointer built from tokens; `~` and `/` in tokens are escaped (`~0`, `~1`).
pub(crate) fn pointer<'t>(tokens: impl IntoIterator<Item = &'t str>) -> String {
    // Written directly (jsonptr's `from_tokens` was a tenth of a mutation's instructions).
    let mut s = String::with_capacity(48);
    for t in tokens {
        s.push('/');
        if t.bytes().any(|b| b == b'~' || b == b'/') {
            s.push_str(&t.replace('~', "~0").replace('/', "~1"));
        } else {
            s.push_str(t);
        }
    }
    s
}

/// The pointer to member or element `last` of the value at `path`.
fn child_pointer(path: &[&str], last: &str) -> String {
    pointer(path.iter().copied().chain(std::iter::once(last)))
}

/// An array index as a pointer token, written without allocating.
struct Index {
    digits: [u8; 20],
    start: usize,
}

impl Index {
    fn new(mut n: usize) -> Self {
        let mut digits = [b'0'; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        Self { digits, start }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.digits[self.start..]).unwrap_or("0")
    }
}

/// Where a container is: its list and index in the working copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContainerRef {
    /// The list.
    pub list: ContainerList,
    /// The index in that list.
    pub index: usize,
}

/// Records operations, and reads the pod as they leave it.
///
/// Nothing of the pod is copied: the working copy is the original overlaid with the
/// operations. An object or array that an operation writes into is opened into the list of
/// its members (each still the original's, borrowed), and what an operation adds is read from
/// the operation itself. Copying the target containers, then cloning every added value into
/// both the copy and the operation, and dropping the copy, was most of a mutation's
/// instructions.
#[derive(Debug, Clone)]
pub struct PatchBuilder<'a> {
    original: &'a Value,
    doc: Node<'a>,
    ops: Vec<Op>,
}

/// One value of the working copy.
#[derive(Debug, Clone)]
enum Node<'a> {
    /// As in the original pod.
    Original(&'a Value),
    /// What operation `i` added, unchanged since.
    Added(usize),
    /// A copy of what an operation added, for a later operation to write into (rare).
    Owned(Value),
    /// An object an operation wrote into: its members, in order.
    Object(Vec<(Cow<'a, str>, Node<'a>)>),
    /// An array an operation wrote into, and the names its elements have.
    Array(Vec<Node<'a>>, Names),
}

/// The `name` members of an opened array's elements, as a Bloom filter: a name whose bit is
/// clear is in no element, so looking up an env var the container does not have yet (what
/// most of a mutation's lookups are) scans nothing. Bits are only set: a name removed keeps
/// its bit, which costs a scan, never a wrong answer; a write of a `name` member sets all.
#[derive(Debug, Clone, Copy, Default)]
struct Names([u64; 4]);

impl Names {
    const ALL: Self = Self([u64::MAX; 4]);

    /// The word and bit of `name` (FNV-1a).
    fn bit(name: &str) -> (usize, u64) {
        let h = name.bytes().fold(0x811c_9dc5_u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
        });
        (((h >> 6) & 3) as usize, 1 << (h & 63))
    }

    /// Counts the name of element `v`, if it has one.
    fn add(&mut self, v: &Value) {
        if let Some(name) = v.str_field("name") {
            self.add_name(name);
        }
    }

    fn add_name(&mut self, name: &str) {
        let (word, bit) = Self::bit(name);
        self.0[word] |= bit;
    }

    fn of<'v>(elements: impl IntoIterator<Item = &'v Value>) -> Self {
        let mut names = Self::default();
        elements.into_iter().for_each(|v| names.add(v));
        names
    }

    /// Whether an element may be called `name`.
    fn may_have(&self, name: &str) -> bool {
        let (word, bit) = Self::bit(name);
        self.0[word] & bit != 0
    }
}

/// What operation `i` added.
fn added_op(ops: &[Op], i: usize) -> Option<&Added> {
    match ops.get(i) {
        Some(Op::Add { value, .. }) => Some(value),
        _ => None,
    }
}

/// The value operation `i` added, as JSON.
fn added(ops: &[Op], i: usize) -> &Value {
    static NULL: Value = Value::Null;
    added_op(ops, i).map_or(&NULL, Added::as_json)
}

/// Turns an object or array into its members, so that one of them can be written.
fn open<'a>(node: &mut Node<'a>, ops: &[Op]) {
    let opened = match node {
        Node::Original(v) => {
            let v: &'a Value = v;
            match v {
                Value::Object(m) => Node::Object(
                    m.iter()
                        .map(|(k, v)| (Cow::Borrowed(k.as_str()), Node::Original(v)))
                        .collect(),
                ),
                Value::Array(a) => {
                    Node::Array(a.iter().map(Node::Original).collect(), Names::of(a))
                }
                _ => return,
            }
        }
        Node::Added(i) => {
            let v = added(ops, *i);
            if !(v.is_object() || v.is_array()) {
                return;
            }
            *node = Node::Owned(v.clone());
            return open(node, ops);
        }
        Node::Owned(v) => match std::mem::take(v) {
            Value::Object(m) => Node::Object(
                m.into_iter()
                    .map(|(k, v)| (Cow::Owned(k), Node::Owned(v)))
                    .collect(),
            ),
            Value::Array(a) => {
                let names = Names::of(&a);
                Node::Array(a.into_iter().map(Node::Owned).collect(), names)
            }
            other => Node::Owned(other),
        },
        Node::Object(_) | Node::Array(..) => return,
    };
    *node = opened;
}

/// The node at `tokens`, opened for a write. `renames`: the write is of a `name` member, which
/// the arrays on the way stop keeping track of.
fn walk<'n, 'a>(
    mut cur: &'n mut Node<'a>,
    ops: &[Op],
    tokens: &[&str],
    renames: bool,
) -> Option<&'n mut Node<'a>> {
    for t in tokens {
        open(cur, ops);
        cur = match cur {
            Node::Object(m) => m.iter_mut().find(|(k, _)| k == t).map(|(_, n)| n)?,
            Node::Array(a, names) => {
                if renames {
                    *names = Names::ALL;
                }
                a.get_mut(t.parse::<usize>().ok()?)?
            }
            _ => return None,
        };
    }
    open(cur, ops);
    Some(cur)
}

/// Sets member `key` of an opened object to `node`.
fn set<'a>(members: &mut Vec<(Cow<'a, str>, Node<'a>)>, key: &str, node: Node<'a>) {
    match members.iter_mut().find(|(k, _)| k == key) {
        Some((_, n)) => *n = node,
        None => members.push((Cow::Owned(key.to_string()), node)),
    }
}

/// The index of the first element of opened array `a` whose member `key` is the string
/// `value`.
fn array_position(
    a: &[Node<'_>],
    names: &Names,
    ops: &[Op],
    key: &str,
    value: &str,
) -> Option<usize> {
    if key == "name" && !names.may_have(value) {
        return None;
    }
    a.iter().position(|n| {
        let found = match n {
            Node::Original(v) => v.field(key),
            Node::Owned(v) => v.field(key),
            Node::Added(i) if key == "name" => {
                return added_op(ops, *i).and_then(Added::name) == Some(value)
            }
            Node::Added(i) => added(ops, *i).field(key),
            Node::Object(_) | Node::Array(..) => {
                return Current::new(n, ops).member(key).and_then(JsonView::string) == Some(value)
            }
        };
        found.and_then(Value::as_str) == Some(value)
    })
}

/// A value of the working copy, to read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Current<'b> {
    at: At<'b>,
    ops: &'b [Op],
}

#[derive(Debug, Clone, Copy)]
enum At<'b> {
    /// An opened object or array.
    Node(&'b Node<'b>),
    /// A value as the original or an operation has it.
    Value(&'b Value),
}

impl<'b> Current<'b> {
    fn new(node: &'b Node<'b>, ops: &'b [Op]) -> Self {
        let at = match node {
            Node::Original(v) => At::Value(v),
            Node::Owned(v) => At::Value(v),
            Node::Added(i) => At::Value(added(ops, *i)),
            Node::Object(_) | Node::Array(..) => At::Node(node),
        };
        Self { at, ops }
    }

    fn value(v: &'b Value, ops: &'b [Op]) -> Self {
        Self {
            at: At::Value(v),
            ops,
        }
    }

    /// The value, borrowed unless operations wrote into it (then a copy).
    pub(crate) fn as_value(self) -> Cow<'b, Value> {
        match self.at {
            At::Value(v) => Cow::Borrowed(v),
            At::Node(_) => Cow::Owned(self.to_value()),
        }
    }

    /// Whether this is `v`.
    fn equals(self, v: &Value) -> bool {
        match self.at {
            At::Value(own) => own == v,
            At::Node(_) => self.to_value() == *v,
        }
    }
}

impl<'b> JsonView<'b> for Current<'b> {
    fn member(self, key: &str) -> Option<Self> {
        match self.at {
            At::Value(v) => v.field(key).map(|v| Self::value(v, self.ops)),
            At::Node(Node::Object(m)) => m
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, n)| Self::new(n, self.ops)),
            At::Node(_) => None,
        }
    }

    fn len(self) -> usize {
        match self.at {
            At::Value(v) => v.len(),
            At::Node(Node::Array(a, _)) => a.len(),
            At::Node(_) => 0,
        }
    }

    fn item(self, i: usize) -> Option<Self> {
        match self.at {
            At::Value(v) => v.item(i).map(|v| Self::value(v, self.ops)),
            At::Node(Node::Array(a, _)) => a.get(i).map(|n| Self::new(n, self.ops)),
            At::Node(_) => None,
        }
    }

    fn string(self) -> Option<&'b str> {
        match self.at {
            At::Value(v) => v.as_str(),
            At::Node(_) => None,
        }
    }

    fn is_null(self) -> bool {
        matches!(self.at, At::Value(Value::Null))
    }

    fn position(self, key: &str, value: &str) -> Option<usize> {
        match self.at {
            At::Value(v) => v.position(key, value),
            At::Node(Node::Array(a, names)) => array_position(a, names, self.ops, key, value),
            At::Node(_) => None,
        }
    }

    fn to_value(self) -> Value {
        match self.at {
            At::Value(v) => v.clone(),
            At::Node(Node::Object(m)) => Value::Object(
                m.iter()
                    .map(|(k, n)| (k.to_string(), Self::new(n, self.ops).to_value()))
                    .collect(),
            ),
            At::Node(Node::Array(a, _)) => Value::Array(
                a.iter()
                    .map(|n| Self::new(n, self.ops).to_value())
                    .collect(),
            ),
            // `new` puts no other node here.
            At::Node(_) => Value::Null,
        }
    }
}

impl<'a> PatchBuilder<'a> {
    /// Starts from the original pod.
    pub fn new(original: &'a Value) -> Self {
        Self {
            original,
            doc: Node::Original(original),
            ops: Vec::new(),
        }
    }

    /// The working copy: the original with every recorded operation applied.
    pub(crate) fn doc(&self) -> Current<'_> {
        Current::new(&self.doc, &self.ops)
    }

    /// The recorded operations.
    pub fn into_patch(self) -> Patch {
        // Every test builds in debug: there the patch is replayed and checked.
        if cfg!(debug_assertions) {
            self.finish().0
        } else {
            Patch { ops: self.ops }
        }
    }

    /// The operations and the mutated document.
    pub fn finish(self) -> (Patch, Value) {
        let doc = self.doc().to_value();
        let patch = Patch { ops: self.ops };
        if cfg!(debug_assertions) {
            let mut replayed = self.original.clone();
            let applied = patch.apply(&mut replayed);
            debug_assert!(
                applied.is_ok() && replayed == doc,
                "the recorded patch does not reproduce the working copy: {applied:?}"
            );
        }
        (patch, doc)
    }

    // Each write opens the path to its parent in the working copy (one walk, no pointer
    // parsing) and records an RFC 6902 operation; in debug builds `finish` replays the record
    // with json-patch on the original and checks it lands on the working copy.

    /// Records `add` of `value` at `path`; the working copy reads it from there.
    fn record(ops: &mut Vec<Op>, path: String, value: impl Into<Added>) -> Node<'a> {
        ops.push(Op::Add {
            path,
            value: value.into(),
        });
        Node::Added(ops.len() - 1)
    }

    /// Puts `value` at `path` (an object member), creating nothing above it: when the parent
    /// is not an object, nothing is done or recorded.
    fn add_at(&mut self, path: &[&str], value: Value) {
        let Some((last, parent)) = path.split_last() else {
            return;
        };
        let Self { doc, ops, .. } = self;
        if let Some(Node::Object(m)) = walk(doc, ops, parent, false) {
            set(
                m,
                last,
                Self::record(ops, pointer(path.iter().copied()), value),
            );
        }
    }

    /// Sets `key` in the object at `parent`, creating the object when it is absent or null.
    pub fn set_member(&mut self, parent: &[&str], key: &str, value: Value) {
        let Self { doc, ops, .. } = self;
        let Some(Node::Object(m)) = walk(doc, ops, parent, key == "name") else {
            let mut obj = serde_json::Map::new();
            obj.insert(key.to_string(), value);
            return self.add_at(parent, Value::Object(obj));
        };
        if let Some((_, n)) = m.iter().find(|(k, _)| k == key) {
            if Current::new(n, ops).equals(&value) {
                return;
            }
        }
        set(m, key, Self::record(ops, child_pointer(parent, key), value));
    }

    /// Appends to the array at `path`, creating it when it is absent or null.
    pub fn push(&mut self, path: &[&str], value: Value) {
        let Self { doc, ops, .. } = self;
        match walk(doc, ops, path, false) {
            Some(Node::Array(a, names)) => {
                names.add(&value);
                let at = child_pointer(path, Index::new(a.len()).as_str());
                a.push(Self::record(ops, at, value));
            }
            _ => self.add_at(path, Value::Array(vec![value])),
        }
    }

    /// Adds env var `var` to container `c`, first or last, unless the container has an env
    /// var of the same name: the lookup and the write in one walk to the env list, which the
    /// lookup opens (every env var a mutation adds goes through here).
    pub(crate) fn add_env_if_absent(&mut self, c: ContainerRef, var: Added, first: bool) {
        let index = Index::new(c.index);
        let path = ["spec", c.list.key(), index.as_str(), "env"];
        let Self { doc, ops, .. } = self;
        let Some(Node::Array(a, names)) = walk(doc, ops, &path, false) else {
            // No env list yet (or not a list): the general path, which creates it.
            let name = var.name().unwrap_or("");
            if crate::pod::container::env_index(self.container(c), name).is_none() {
                self.insert_or_push(&path, first, var.into_json());
            }
            return;
        };
        let name = var.name().unwrap_or("");
        if array_position(a, names, ops, "name", name).is_some() {
            return;
        }
        names.add_name(name);
        let index = if first { 0 } else { a.len() };
        // The tokens need no escaping: one string, no scan of each token.
        let at = Index::new(index);
        let mut s = String::with_capacity(24 + path[1].len() + path[2].len());
        s.push_str("/spec");
        for t in [path[1], path[2], "env", at.as_str()] {
            s.push('/');
            s.push_str(t);
        }
        let node = Self::record(ops, s, var);
        a.insert(index, node);
    }

    fn insert_or_push(&mut self, path: &[&str], first: bool, value: Value) {
        if first {
            self.insert(path, 0, value);
        } else {
            self.push(path, value);
        }
    }

    /// Inserts into the array at `path` before `index`, creating the array when absent.
    pub fn insert(&mut self, path: &[&str], index: usize, value: Value) {
        let Self { doc, ops, .. } = self;
        match walk(doc, ops, path, false) {
            Some(Node::Array(a, names)) if index <= a.len() => {
                names.add(&value);
                let at = child_pointer(path, Index::new(index).as_str());
                a.insert(index, Self::record(ops, at, value));
            }
            _ => self.push(path, value),
        }
    }

    /// Moves array element `index` at `path` to the end (remove, then append).
    pub fn move_to_end(&mut self, path: &[&str], index: usize) {
        let Self { doc, ops, .. } = self;
        let Some(Node::Array(a, _)) = walk(doc, ops, path, false) else {
            return;
        };
        if index + 1 >= a.len() {
            return;
        }
        let moved = a.remove(index);
        let value = Current::new(&moved, ops).to_value();
        let at = child_pointer(path, Index::new(index).as_str());
        ops.push(Op::Remove { path: at });
        self.push(path, value);
    }

    // === containers ===

    /// The container at `r` in the working copy.
    pub(crate) fn container(&self, r: ContainerRef) -> Current<'_> {
        static NULL: Value = Value::Null;
        self.doc()
            .member("spec")
            .and_then(|s| s.member(r.list.key()))
            .and_then(|l| l.item(r.index))
            .unwrap_or(Current::value(&NULL, &self.ops))
    }

    /// The names of the containers of one list in the working copy, in order.
    pub(crate) fn container_names(&self, list: ContainerList) -> Vec<&str> {
        self.doc()
            .member("spec")
            .and_then(|s| s.member(list.key()))
            .map(|l| l.items().map(container::name).collect())
            .unwrap_or_default()
    }

    /// The names of the pod's volumes in the working copy.
    pub(crate) fn volume_names(&self) -> Vec<&str> {
        self.doc()
            .member("spec")
            .and_then(|s| s.member("volumes"))
            .map(|l| {
                l.items()
                    .filter_map(|v| v.member("name").and_then(JsonView::string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Finds a container by name in the working copy (regular containers first).
    pub fn find_container(&self, name: &str) -> Option<ContainerRef> {
        [ContainerList::Regular, ContainerList::Init]
            .into_iter()
            .find_map(|list| {
                let index = self.container_names(list).iter().position(|n| *n == name)?;
                Some(ContainerRef { list, index })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_escape_as_rfc_6901_says() {
        let p = pointer(["metadata", "annotations", "otel-inject.dev/a~b"]);
        assert_eq!(p, "/metadata/annotations/otel-inject.dev~1a~0b");
        assert_eq!(
            parsed(&p),
            PointerBuf::from_tokens(["metadata", "annotations", "otel-inject.dev/a~b"])
        );
        assert_eq!(
            pointer(["spec", "containers", "0", "env", "3"]),
            "/spec/containers/0/env/3"
        );
        assert_eq!(pointer(["", "~1"]), "//~01");
        for n in [0, 7, 10, 99, 12345, usize::MAX] {
            assert_eq!(Index::new(n).as_str(), n.to_string());
        }
    }
}

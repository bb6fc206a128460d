//! Env list edits on one container, with the operator's semantics: append-if-absent,
//! prepend-if-absent, concatenate in place, move to the end.

use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::patch::{Added, ContainerRef, PatchBuilder};
use crate::pod::container;

/// An env var a mutation adds, kept as its strings until something needs it as JSON: the patch
/// writer writes it straight from them, and the working copy reads its name without building
/// anything. Built as a serde_json object instead (an `IndexMap` with its index, two keys, two
/// values: six allocations, then as many frees) the env vars were a fifth of a mutation's
/// instructions (issue 16).
#[derive(Debug, Clone)]
pub(crate) struct Var {
    name: String,
    value: VarValue,
    /// The same as a `Value`, built the first time something reads it that way (rare: a later
    /// step reading a variable an earlier one added, the debug replay check, `to_json_patch`).
    json: OnceLock<Value>,
}

/// Where an added env var's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum VarValue {
    /// `value`.
    Literal(String),
    /// `valueFrom.fieldRef.fieldPath` (the downward API).
    Field(&'static str),
}

impl PartialEq for Var {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.value == other.value
    }
}

impl Var {
    /// The variable's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Its value.
    pub(crate) fn value(&self) -> &VarValue {
        &self.value
    }

    /// As a JSON object, as the patch carries it.
    pub(crate) fn as_json(&self) -> &Value {
        self.json.get_or_init(|| self.build())
    }

    /// The JSON object, without keeping a copy.
    pub(crate) fn into_json(self) -> Value {
        match self.json.into_inner() {
            Some(v) => v,
            None => Self::build_from(self.name, self.value),
        }
    }

    fn build(&self) -> Value {
        Self::build_from(self.name.clone(), self.value.clone())
    }

    fn build_from(name: String, value: VarValue) -> Value {
        match value {
            VarValue::Literal(v) => json!({"name": name, "value": v}),
            VarValue::Field(path) => {
                json!({"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}})
            }
        }
    }
}

/// An env var with a literal value.
pub(crate) fn literal(name: &str, value: impl Into<String>) -> Var {
    Var {
        name: name.to_string(),
        value: VarValue::Literal(value.into()),
        json: OnceLock::new(),
    }
}

/// An env var from the downward API.
pub(crate) fn field_ref(name: &str, field_path: &'static str) -> Var {
    Var {
        name: name.to_string(),
        value: VarValue::Field(field_path),
        json: OnceLock::new(),
    }
}

/// Runs `f` with the tokens of the container's env path, without allocating them as Strings
/// more than the index needs.
fn with_env_path<R>(c: ContainerRef, f: impl FnOnce(&[&str]) -> R) -> R {
    let idx = c.index.to_string();
    f(&["spec", c.list.key(), &idx, "env"])
}

/// Whether the container has env `name`.
pub fn has(b: &PatchBuilder, c: ContainerRef, name: &str) -> bool {
    container::env_index(b.container(c), name).is_some()
}

/// Appends `var` unless an env var of that name exists.
pub(crate) fn append_if_absent(b: &mut PatchBuilder, c: ContainerRef, var: impl Into<Added>) {
    b.add_env_if_absent(c, var.into(), false);
}

/// Prepends `var` unless an env var of that name exists.
pub(crate) fn prepend_if_absent(b: &mut PatchBuilder, c: ContainerRef, var: impl Into<Added>) {
    b.add_env_if_absent(c, var.into(), true);
}

/// Sets the literal value of the existing env var at `index`.
pub fn set_value(b: &mut PatchBuilder, c: ContainerRef, index: usize, value: &str) {
    let idx = index.to_string();
    // `add` on an object member replaces it, and works when `value` was absent.
    with_env_path(c, |p| {
        let path = [p[0], p[1], p[2], p[3], &idx];
        b.set_member(&path, "value", Value::String(value.to_string()));
    });
}

/// Moves env `name` to the end of the list, so `$(VAR)` references before it resolve.
pub fn move_to_end(b: &mut PatchBuilder, c: ContainerRef, name: &str) {
    if let Some(i) = container::env_index(b.container(c), name) {
        with_env_path(c, |p| b.move_to_end(p, i));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_vars_are_the_objects_json_builds() {
        let v = literal("A", "b \"c\"");
        assert_eq!(v.name(), "A");
        assert_eq!(*v.as_json(), json!({"name": "A", "value": "b \"c\""}));
        assert_eq!(v.as_json().to_string(), r#"{"name":"A","value":"b \"c\""}"#);
        assert_eq!(v.clone().into_json(), *v.as_json());
        let v = field_ref("POD", "metadata.name");
        assert_eq!(
            v.as_json().to_string(),
            r#"{"name":"POD","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}}"#
        );
        assert_eq!(
            v.into_json()["valueFrom"]["fieldRef"]["fieldPath"],
            "metadata.name"
        );
        // Equality is of the variables, whether or not one was read as JSON already.
        let (a, b) = (literal("A", "b"), literal("A", "b"));
        let _ = a.as_json();
        assert_eq!(a, b);
        assert_ne!(a, literal("A", "c"));
    }
}

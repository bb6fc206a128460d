//! Env list edits on one container, with the operator's semantics: append-if-absent,
//! prepend-if-absent, concatenate in place, move to the end.

use std::sync::LazyLock;

use serde_json::{json, Value};

use crate::patch::{ContainerRef, PatchBuilder};
use crate::pod::container;

/// An env var with a literal value.
pub fn literal(name: &str, value: &str) -> Value {
    static SHAPE: LazyLock<Value> = LazyLock::new(|| json!({"name": "", "value": ""}));
    filled(&SHAPE, [name, value])
}

/// An env var from the downward API.
pub fn field_ref(name: &str, field_path: &str) -> Value {
    static SHAPE: LazyLock<Value> =
        LazyLock::new(|| json!({"name": "", "valueFrom": {"fieldRef": {"fieldPath": ""}}}));
    filled(&SHAPE, [name, field_path])
}

/// A copy of `shape` with its strings, in document order, set to `strings`. An object built
/// member by member hashes every key (serde_json keeps the key order in an `IndexMap`); a copy
/// of one that is built already copies the hashes, and setting a member's value hashes nothing.
/// Building the env vars a mutation adds was a sixth of its instructions.
fn filled<const N: usize>(shape: &Value, strings: [&str; N]) -> Value {
    fn fill<'s>(v: &mut Value, strings: &mut impl Iterator<Item = &'s str>) {
        match v {
            Value::String(s) => {
                if let Some(new) = strings.next() {
                    new.clone_into(s);
                }
            }
            Value::Object(m) => m.values_mut().for_each(|v| fill(v, strings)),
            _ => {}
        }
    }
    let mut v = shape.clone();
    fill(&mut v, &mut strings.into_iter());
    v
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
pub fn append_if_absent(b: &mut PatchBuilder, c: ContainerRef, var: Value) {
    b.add_env_if_absent(c, var, false);
}

/// Prepends `var` unless an env var of that name exists.
pub fn prepend_if_absent(b: &mut PatchBuilder, c: ContainerRef, var: Value) {
    b.add_env_if_absent(c, var, true);
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
        assert_eq!(v, json!({"name": "A", "value": "b \"c\""}));
        assert_eq!(v.to_string(), r#"{"name":"A","value":"b \"c\""}"#);
        let v = field_ref("POD", "metadata.name");
        assert_eq!(
            v.to_string(),
            r#"{"name":"POD","valueFrom":{"fieldRef":{"fieldPath":"metadata.name"}}}"#
        );
        // The copies are maps like any other: lookups by key find their members.
        assert_eq!(v["valueFrom"]["fieldRef"]["fieldPath"], "metadata.name");
        assert_eq!(literal("A", "b").get("value"), Some(&json!("b")));
    }
}

//! Env list edits on one container, with the operator's semantics: append-if-absent,
//! prepend-if-absent, concatenate in place, move to the end.

use serde_json::{json, Value};

use crate::json::Field;
use crate::patch::{ContainerRef, PatchBuilder};
use crate::pod::container;

/// An env var with a literal value.
pub fn literal(name: &str, value: &str) -> Value {
    json!({"name": name, "value": value})
}

/// An env var from the downward API.
pub fn field_ref(name: &str, field_path: &str) -> Value {
    json!({"name": name, "valueFrom": {"fieldRef": {"fieldPath": field_path}}})
}

/// Runs `f` with the tokens of the container's env path, without allocating them as Strings
/// more than the index needs.
fn with_env_path<R>(c: ContainerRef, f: impl FnOnce(&[&str]) -> R) -> R {
    let idx = c.index.to_string();
    f(&["spec", c.list.key(), &idx, "env"])
}

fn name_of(v: &Value) -> &str {
    v.str_field("name").unwrap_or("")
}

/// Whether the container has env `name`.
pub fn has(b: &PatchBuilder, c: ContainerRef, name: &str) -> bool {
    container::env_index(b.container(c), name).is_some()
}

/// Appends `var` unless an env var of that name exists.
pub fn append_if_absent(b: &mut PatchBuilder, c: ContainerRef, var: Value) {
    if has(b, c, name_of(&var)) {
        return;
    }
    with_env_path(c, |p| b.push(p, var));
}

/// Prepends `var` unless an env var of that name exists.
pub fn prepend_if_absent(b: &mut PatchBuilder, c: ContainerRef, var: Value) {
    if has(b, c, name_of(&var)) {
        return;
    }
    with_env_path(c, |p| b.insert(p, 0, var));
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

//! Env list edits on one container, with the operator's semantics: append-if-absent,
//! prepend-if-absent, concatenate in place, move to the end.

use serde_json::{json, Value};

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

fn env_path(c: ContainerRef) -> [String; 4] {
    [
        "spec".to_string(),
        c.list.key().to_string(),
        c.index.to_string(),
        "env".to_string(),
    ]
}

fn name_of(v: &Value) -> &str {
    v.get("name").and_then(Value::as_str).unwrap_or("")
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
    let p = env_path(c);
    b.push(&p.each_ref().map(String::as_str), var);
}

/// Prepends `var` unless an env var of that name exists.
pub fn prepend_if_absent(b: &mut PatchBuilder, c: ContainerRef, var: Value) {
    if has(b, c, name_of(&var)) {
        return;
    }
    let p = env_path(c);
    b.insert(&p.each_ref().map(String::as_str), 0, var);
}

/// Sets the literal value of the existing env var at `index`.
pub fn set_value(b: &mut PatchBuilder, c: ContainerRef, index: usize, value: &str) {
    let p = env_path(c);
    let idx = index.to_string();
    let path = [p[0].as_str(), &p[1], &p[2], &p[3], &idx];
    // `add` on an object member replaces it, and works when `value` was absent.
    b.set_member(&path, "value", Value::String(value.to_string()));
}

/// Moves env `name` to the end of the list, so `$(VAR)` references before it resolve.
pub fn move_to_end(b: &mut PatchBuilder, c: ContainerRef, name: &str) {
    if let Some(i) = container::env_index(b.container(c), name) {
        let p = env_path(c);
        b.move_to_end(&p.each_ref().map(String::as_str), i);
    }
}

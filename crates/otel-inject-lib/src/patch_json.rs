//! The patch as the bytes an admission response carries, written directly: the same bytes as
//! `serde_json::to_vec(&patch)`, without serde's generic machinery (the internally tagged
//! operation enum, one `Serializer` call per token) or its byte-by-byte string escaping. Going
//! through serde was a third of what a mutation itself costs (issue 16).

use serde_json::Value;

use crate::env::VarValue;
use crate::patch::{Added, Op, Patch};

/// `patch` as compact JSON, byte for byte what `serde_json::to_vec(patch)` writes.
pub(crate) fn to_vec(patch: &Patch) -> Vec<u8> {
    let mut out = Vec::with_capacity(patch.ops.len() * 96 + 2);
    out.push(b'[');
    for (i, op) in patch.ops.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        operation(&mut out, op);
    }
    out.push(b']');
    debug_assert!(
        serde_json::to_vec(&patch.to_json_patch()).is_ok_and(|serde| serde == out),
        "the patch writer and serde_json disagree"
    );
    out
}

/// One operation, members in the order json-patch's derive declares them.
fn operation(out: &mut Vec<u8>, op: &Op) {
    let (name, path, value) = match op {
        Op::Add { path, value } => ("add", path, Some(value)),
        Op::Remove { path } => ("remove", path, None),
    };
    out.extend_from_slice(b"{\"op\":\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\",\"path\":");
    string(out, path);
    match value {
        Some(Added::Json(v)) => {
            out.extend_from_slice(b",\"value\":");
            self::value(out, v);
        }
        // An env var from its strings, as serde_json writes the object it stands for.
        Some(Added::Env(var)) => {
            out.extend_from_slice(b",\"value\":{\"name\":");
            string(out, var.name());
            match var.value() {
                VarValue::Literal(v) => {
                    out.extend_from_slice(b",\"value\":");
                    string(out, v);
                }
                VarValue::Field(path) => {
                    out.extend_from_slice(b",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":");
                    string(out, path);
                    out.extend_from_slice(b"}}");
                }
            }
            out.push(b'}');
        }
        None => {}
    }
    out.push(b'}');
}

/// A value as serde_json's compact formatter writes it.
fn value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::String(s) => string(out, s),
        Value::Array(a) => {
            out.push(b'[');
            for (i, e) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                value(out, e);
            }
            out.push(b']');
        }
        Value::Object(m) => {
            out.push(b'{');
            for (i, (k, e)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                string(out, k);
                out.push(b':');
                value(out, e);
            }
            out.push(b'}');
        }
        // Numbers are rare in what a mutation adds; serde_json writes them (itoa, ryu).
        Value::Number(_) => serialised(out, v),
    }
}

/// A string, quoted; escaped by serde_json when it needs escaping at all.
fn string(out: &mut Vec<u8>, s: &str) {
    if needs_escape(s.as_bytes()) {
        serialised(out, s);
    } else {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

/// What serde_json writes for `v`; writing into a `Vec` cannot fail.
fn serialised<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    let _ = serde_json::to_writer(&mut *out, v);
}

/// Whether JSON needs an escape for one of the bytes: `"`, `\` or a control character (what
/// serde_json escapes; everything else, DEL and UTF-8 included, it writes as is). Checked eight
/// bytes at a time, in a `u64`: a byte-by-byte test was most of the writer's instructions.
fn needs_escape(bytes: &[u8]) -> bool {
    const fn each(b: u8) -> u64 {
        u64::from_ne_bytes([b; 8])
    }
    // Non-zero when a byte of `x` is below `n` (n <= 128), or zero: the classic bit tricks,
    // exact as a yes or no.
    let below = |x: u64, n: u8| x.wrapping_sub(each(n)) & !x & each(0x80);
    let special = |w: u64| below(w, 0x20) | below(w ^ each(b'"'), 1) | below(w ^ each(b'\\'), 1);
    let mut chunks = bytes.chunks_exact(8);
    let mut found = 0;
    for chunk in &mut chunks {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        found |= special(u64::from_ne_bytes(word));
    }
    found != 0
        || chunks
            .remainder()
            .iter()
            .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_bytes_are_serde_jsons() {
        let add = |path: &str, value: Added| Op::Add {
            path: path.to_string(),
            value,
        };
        let patch = Patch {
            ops: vec![
                add(
                    "/spec/containers/0/env/3",
                    Added::Json(json!({"name": "A", "value": "x\"y\\z\n\u{1}\u{7f}é — 日本"})),
                ),
                add(
                    "/spec/containers/0/env/4",
                    Added::Env(crate::env::literal("B\"", "x\"y\\z\n\u{1}\u{7f}é — 日本")),
                ),
                add(
                    "/spec/containers/0/env/0",
                    Added::Env(crate::env::field_ref("POD", "metadata.name")),
                ),
                add(
                    "/metadata/annotations/otel-inject.dev~1status",
                    Added::Json(json!("a long value, longer than sixteen bytes\t")),
                ),
                Op::Remove {
                    path: "/spec/containers/0/env/1".into(),
                },
                add(
                    "/a",
                    Added::Json(json!([1, -2, 3.5, 1e300, null, true, false, {}, []])),
                ),
                add(
                    "/c",
                    Added::Json(
                        json!({"nested": {"k": [{"x": "0123456789abcdef\"0123456789abcdef"}]}}),
                    ),
                ),
            ],
        };
        let serde = serde_json::to_vec(&patch.to_json_patch()).expect("serialise");
        assert_eq!(
            String::from_utf8_lossy(&to_vec(&patch)),
            String::from_utf8_lossy(&serde)
        );
        // The patch's own `Serialize` writes the same.
        assert_eq!(serde_json::to_vec(&patch).expect("serialise"), serde);
        assert_eq!(to_vec(&Patch::default()), b"[]");
    }

    #[test]
    fn every_byte_is_escaped_as_serde_json_does() {
        for b in 0u8..=127 {
            for len in [1, 15, 16, 17, 40] {
                let mut s = "a".repeat(len - 1);
                s.push(char::from(b));
                let mut out = Vec::new();
                string(&mut out, &s);
                assert_eq!(out, serde_json::to_vec(&s).expect("serialise"), "byte {b}");
            }
        }
    }
}

//! Member lookups on the pod's JSON objects by a scan of their entries.
//!
//! serde_json is built with `preserve_order` (offline output keeps the user's key order), so
//! an object is an `IndexMap` and `Value::get` hashes the key with SipHash first. Kubernetes
//! objects are small (an env entry has two members, a container a dozen), and a mutation looks
//! up `name` in every env entry of every target container many times over: hashing was a third
//! of a mutation's instructions. Comparing the keys of a small object is several times cheaper;
//! a large object (annotations a user filled, say) is still looked up by hash.

use serde_json::{Map, Value};

/// Objects up to this many members are scanned; larger ones are hashed.
const SCAN_MAX: usize = 16;

/// `get`/`get_mut` for the lib's own lookups, by a scan on small objects.
pub(crate) trait Field {
    /// Member `key` of an object (`None` for anything else).
    fn field(&self, key: &str) -> Option<&Value>;
    /// Member `key` of an object, mutably.
    fn field_mut(&mut self, key: &str) -> Option<&mut Value>;
    /// Member `key` when it is a string.
    #[inline]
    fn str_field(&self, key: &str) -> Option<&str> {
        self.field(key).and_then(Value::as_str)
    }
}

impl Field for Map<String, Value> {
    #[inline]
    fn field(&self, key: &str) -> Option<&Value> {
        if self.len() <= SCAN_MAX {
            self.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v)
        } else {
            self.get(key)
        }
    }

    #[inline]
    fn field_mut(&mut self, key: &str) -> Option<&mut Value> {
        if self.len() <= SCAN_MAX {
            self.iter_mut()
                .find(|(k, _)| k.as_str() == key)
                .map(|(_, v)| v)
        } else {
            self.get_mut(key)
        }
    }
}

impl Field for Value {
    #[inline]
    fn field(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(m) => m.field(key),
            _ => None,
        }
    }

    #[inline]
    fn field_mut(&mut self, key: &str) -> Option<&mut Value> {
        match self {
            Value::Object(m) => m.field_mut(key),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn small_and_large_objects_find_the_same_members() {
        let small = json!({"name": "a", "value": "b"});
        assert_eq!(small.field("value"), Some(&json!("b")));
        assert_eq!(small.field("valueFrom"), None);
        assert_eq!(json!([1]).field("name"), None);
        let large: Map<String, Value> = (0..100).map(|i| (format!("k{i}"), json!(i))).collect();
        let large = Value::Object(large);
        assert_eq!(large.field("k99"), Some(&json!(99)));
        assert_eq!(large.field("k100"), None);
        let mut v = small.clone();
        *v.field_mut("name").unwrap_or(&mut Value::Null) = json!("c");
        assert_eq!(v.str_field("name"), Some("c"));
    }
}

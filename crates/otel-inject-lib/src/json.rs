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

/// `get` for the lib's own lookups, by a scan on small objects.
pub(crate) trait Field {
    /// Member `key` of an object (`None` for anything else).
    fn field(&self, key: &str) -> Option<&Value>;
    /// Member `key` when it is a string.
    #[inline]
    fn str_field(&self, key: &str) -> Option<&str> {
        self.field(key).and_then(Value::as_str)
    }
}

/// Read access to a JSON value, whether it is the original pod's (`&Value`) or the working copy
/// of the patch builder (`patch::Current`): the accessors of `pod::container` serve both.
pub(crate) trait JsonView<'v>: Copy {
    /// Member `key` of an object (`None` for anything else).
    fn member(self, key: &str) -> Option<Self>;
    /// The number of elements of an array (0 for anything else).
    fn len(self) -> usize;
    /// Element `i` of an array.
    fn item(self, i: usize) -> Option<Self>;
    /// The string, when this is one.
    fn string(self) -> Option<&'v str>;
    /// Whether this is `null`.
    fn is_null(self) -> bool;
    /// A copy as a `Value`.
    fn to_value(self) -> Value;
    /// The elements of an array, in order (none for anything else).
    fn items(self) -> impl Iterator<Item = Self> {
        (0..self.len()).filter_map(move |i| self.item(i))
    }
    /// The index of the first element of an array whose member `key` is the string `value`
    /// (an env var by name: the lookup a mutation makes most).
    fn position(self, key: &str, value: &str) -> Option<usize> {
        self.items()
            .position(|e| e.member(key).and_then(Self::string) == Some(value))
    }
}

impl<'v> JsonView<'v> for &'v Value {
    #[inline]
    fn member(self, key: &str) -> Option<Self> {
        self.field(key)
    }
    #[inline]
    fn len(self) -> usize {
        self.as_array().map_or(0, Vec::len)
    }
    #[inline]
    fn item(self, i: usize) -> Option<Self> {
        self.as_array()?.get(i)
    }
    #[inline]
    fn string(self) -> Option<&'v str> {
        self.as_str()
    }
    #[inline]
    fn is_null(self) -> bool {
        Value::is_null(self)
    }
    fn to_value(self) -> Value {
        self.clone()
    }
    #[inline]
    fn position(self, key: &str, value: &str) -> Option<usize> {
        self.as_array()?
            .iter()
            .position(|e| e.str_field(key) == Some(value))
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
}

impl Field for Value {
    #[inline]
    fn field(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(m) => m.field(key),
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
    }
}

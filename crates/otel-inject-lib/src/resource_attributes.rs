//! The `OTEL_RESOURCE_ATTRIBUTES` encoding: `key=value` pairs joined with `,`.
//! The webhook renders them with sorted keys, exactly as the OpenTelemetry Operator does (so
//! injected pods compare equal); the SDK parses them, percent-decoding values as the
//! specification asks, and expands `$(VAR)` references Kubernetes could not expand.

use std::collections::BTreeMap;

/// Resource attributes in key order, as the operator renders them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceAttributes(BTreeMap<String, String>);

impl ResourceAttributes {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`, replacing an earlier value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.0.insert(key.into(), value.into());
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// The value of `key` when it is set and not empty.
    pub fn non_empty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty())
    }

    /// Whether `key` is set.
    pub fn contains(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.0.remove(key)
    }

    /// Whether no attribute is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The number of attributes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Pairs in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Renders `k=v,k=v` with keys sorted and values as they are (the operator's encoding:
    /// values are not percent-encoded, so `$(VAR)` references stay expandable by Kubernetes).
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (k, v) in &self.0 {
            if !out.is_empty() {
                out.push(',');
            }
            out.push_str(k);
            out.push('=');
            out.push_str(v);
        }
        out
    }
}

impl FromIterator<(String, String)> for ResourceAttributes {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

/// One entry of an `OTEL_RESOURCE_ATTRIBUTES` value that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("entry {entry:?} is not of the form key=value")]
pub struct MalformedEntry {
    /// The entry as written.
    pub entry: String,
}

/// Keys present in an existing `OTEL_RESOURCE_ATTRIBUTES` value, as the operator sees them:
/// each comma-separated entry that splits into exactly two parts on `=`.
pub fn existing_keys(value: &str) -> Vec<&str> {
    value
        .split(',')
        .filter_map(|kv| {
            let mut parts = kv.trim().split('=');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(k), Some(_), None) => Some(k),
                _ => None,
            }
        })
        .collect()
}

/// Parses a value per the specification: entries split on `,`, key and value split on the first
/// `=`, both trimmed, values percent-decoded. Empty entries are skipped; malformed entries are
/// returned separately so the caller can warn about them while keeping the good ones.
/// Later entries win over earlier ones with the same key.
pub fn parse(value: &str) -> (ResourceAttributes, Vec<MalformedEntry>) {
    let mut attrs = ResourceAttributes::new();
    let mut bad = Vec::new();
    for entry in value.split(',') {
        if entry.trim().is_empty() {
            continue;
        }
        match entry.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                attrs.insert(k.trim(), percent_decode(v.trim()));
            }
            _ => bad.push(MalformedEntry {
                entry: entry.to_string(),
            }),
        }
    }
    (attrs, bad)
}

/// Decodes `%XX` escapes; a `%` not followed by two hex digits is kept as it is.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Expands Kubernetes-style `$(VAR)` references with `lookup`, as the kubelet does for env
/// values: `$$` is a literal `$`, a reference that `lookup` cannot resolve stays as written.
/// The SDK uses it when a process runs outside Kubernetes with the injected env copied as is.
pub fn expand_references(value: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(stripped) = after.strip_prefix('$') {
            out.push('$');
            rest = stripped;
        } else if let Some(inner) = after.strip_prefix('(') {
            match inner.find(')') {
                Some(end) => {
                    let name = &inner[..end];
                    match lookup(name) {
                        Some(v) => out.push_str(&v),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &inner[end + 1..];
                }
                None => {
                    out.push('$');
                    rest = after;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The `$(VAR)` reference to an environment variable, as Kubernetes expands it.
pub fn reference(var: &str) -> String {
    format!("$({var})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_sorted_without_encoding() {
        let mut a = ResourceAttributes::new();
        a.insert("service.version", "1.0");
        a.insert("k8s.pod.name", "$(OTEL_RESOURCE_ATTRIBUTES_POD_NAME)");
        a.insert("k8s.container.name", "app");
        assert_eq!(
            a.render(),
            "k8s.container.name=app,k8s.pod.name=$(OTEL_RESOURCE_ATTRIBUTES_POD_NAME),service.version=1.0"
        );
    }

    #[test]
    fn existing_keys_follow_the_operator() {
        assert_eq!(existing_keys("a=1, b=2,c,d=e=f,"), vec!["a", "b"]);
    }

    #[test]
    fn parse_decodes_and_reports_bad_entries() {
        let (a, bad) = parse("a=1,,b = x%20y ,nokey,=v,c=%zz,d=%4");
        assert_eq!(a.get("a"), Some("1"));
        assert_eq!(a.get("b"), Some("x y"));
        assert_eq!(a.get("c"), Some("%zz"));
        assert_eq!(a.get("d"), Some("%4"));
        assert_eq!(bad.len(), 2);
        assert_eq!(bad[0].entry, "nokey");
    }

    #[test]
    fn expands_references_like_the_kubelet() {
        let lookup = |n: &str| (n == "POD").then(|| "web-1".to_string());
        assert_eq!(
            expand_references("k8s.pod.name=$(POD),x=$(NOPE),y=$$(POD),z=$", lookup),
            "k8s.pod.name=web-1,x=$(NOPE),y=$(POD),z=$"
        );
    }
}

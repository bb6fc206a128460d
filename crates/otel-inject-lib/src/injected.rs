//! The `otel-inject.dev/injected` record: for each language injected into a pod, which
//! Instrumentation and which version of its spec shaped the injection. Written once, at
//! injection, so that whether a pod is outdated can be read from the pod and the current
//! Instrumentation alone (`otel-inject status`), without a history of either.

use std::fmt;

use crate::annotations::Language;
use crate::instrumentation::InstrumentationSpec;

/// The most the record ever holds. Eight languages with the longest names Kubernetes allows
/// (63-byte namespace, 253-byte name) need about 2.7 KiB; clauses past this are left out whole,
/// never cut, so what is written always parses.
pub const MAX_INJECTED_BYTES: usize = 4 * 1024;

/// Hex digits of [`spec_hash`]: 48 bits, plenty to tell one edit of a spec from the next.
pub const SPEC_HASH_LEN: usize = 12;

/// The version of an Instrumentation's spec as the injection saw it: the first
/// [`SPEC_HASH_LEN`] hex digits of the 64-bit FNV-1a hash of its canonical JSON (the typed spec,
/// serialised with every object's keys sorted). Fields the CRD does not know are not part of it:
/// they shape nothing. Not `metadata.generation`: a deleted and recreated Instrumentation starts
/// again at 1, and the same spec applied in another cluster would read as a different version.
/// FNV rather than a cryptographic hash keeps the pure library free of a digest dependency; the
/// hash detects change, it is not a defence (whoever can forge it can edit the spec).
pub fn spec_hash(spec: &InstrumentationSpec) -> String {
    let value = serde_json::to_value(spec).unwrap_or(serde_json::Value::Null);
    let mut canonical = Vec::new();
    write_canonical(&value, &mut canonical);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in &canonical {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")[..SPEC_HASH_LEN].to_string()
}

/// JSON with object keys sorted at every level and no whitespace. Keys and scalars are written
/// by serde_json's serializer straight into `out` (no `Display`, no lookup by key: a tenth of
/// a mutation's instructions went to this hash).
fn write_canonical(v: &serde_json::Value, out: &mut Vec<u8>) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (k, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_json(out, k);
                out.push(b':');
                write_canonical(v, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => push_json(out, scalar),
    }
}

/// `v` as compact JSON, appended to `out`.
fn push_json(out: &mut Vec<u8>, v: &impl serde::Serialize) {
    // Writing into a Vec cannot fail.
    serde_json::to_writer(out, v).ok();
}

/// One language's entry: `java=shop/otel@0123456789ab`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectedLanguage {
    /// The language injected.
    pub language: Language,
    /// The Instrumentation, as `namespace/name`.
    pub instrumentation: String,
    /// Its [`spec_hash`] at injection.
    pub spec_hash: String,
}

impl fmt::Display for InjectedLanguage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}={}@{}",
            self.language, self.instrumentation, self.spec_hash
        )
    }
}

/// The annotation's value for `entries`, `; `-separated, at most [`MAX_INJECTED_BYTES`] (entries
/// that would pass it are left out whole); `None` when there is nothing to record.
pub fn format_record(entries: &[InjectedLanguage]) -> Option<String> {
    let mut out = String::new();
    for e in entries {
        let clause = e.to_string();
        let sep = if out.is_empty() { 0 } else { 2 };
        if out.len() + sep + clause.len() > MAX_INJECTED_BYTES {
            break;
        }
        if sep > 0 {
            out.push_str("; ");
        }
        out.push_str(&clause);
    }
    (!out.is_empty()).then_some(out)
}

/// Reads the annotation's value back. Clauses that do not parse (a language this version does
/// not know, a hand edit) are skipped: the rest still count.
pub fn parse_record(value: &str) -> Vec<InjectedLanguage> {
    value
        .split(';')
        .filter_map(|clause| {
            let (lang, rest) = clause.trim().split_once('=')?;
            let (inst, hash) = rest.rsplit_once('@')?;
            let language = Language::ALL.into_iter().find(|l| l.as_str() == lang)?;
            (!inst.is_empty() && !hash.is_empty()).then(|| InjectedLanguage {
                language,
                instrumentation: inst.to_string(),
                spec_hash: hash.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: serde_json::Value) -> InstrumentationSpec {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn the_hash_follows_the_spec_not_its_key_order_or_unknown_fields() {
        let a = spec(
            serde_json::json!({"exporter": {"endpoint": "http://c:4317"},
            "resource": {"resourceAttributes": {"a": "1", "b": "2"}}}),
        );
        let reordered = spec(serde_json::json!({
            "resource": {"resourceAttributes": {"b": "2", "a": "1"}},
            "someFutureField": true, "exporter": {"endpoint": "http://c:4317"}}));
        let other = spec(
            serde_json::json!({"exporter": {"endpoint": "http://d:4317"},
            "resource": {"resourceAttributes": {"a": "1", "b": "2"}}}),
        );
        assert_eq!(spec_hash(&a), spec_hash(&reordered));
        assert_ne!(spec_hash(&a), spec_hash(&other));
        assert_eq!(spec_hash(&a).len(), SPEC_HASH_LEN);
        assert!(spec_hash(&a).bytes().all(|b| b.is_ascii_hexdigit()));
        // Pinned (FNV-1a of `{}`): a pod injected by one release must not read as outdated
        // under the next.
        assert_eq!(spec_hash(&InstrumentationSpec::default()), "08f44b07b590");
    }

    #[test]
    fn the_record_round_trips_and_skips_what_it_cannot_read() {
        let entries = vec![
            InjectedLanguage {
                language: Language::Java,
                instrumentation: "shop/otel".into(),
                spec_hash: "0123456789ab".into(),
            },
            InjectedLanguage {
                language: Language::ApacheHttpd,
                instrumentation: "web/otel".into(),
                spec_hash: "ba9876543210".into(),
            },
        ];
        let text = format_record(&entries).unwrap();
        assert_eq!(
            text,
            "java=shop/otel@0123456789ab; apache-httpd=web/otel@ba9876543210"
        );
        assert_eq!(parse_record(&text), entries);
        let noisy = format!("cobol=x/y@1; {text}; garbage; java=@1");
        assert_eq!(parse_record(&noisy), entries);
        assert_eq!(format_record(&[]), None);
    }

    #[test]
    fn the_record_is_bounded_by_whole_clauses() {
        let long = InjectedLanguage {
            language: Language::Java,
            instrumentation: format!("ns/{}", "n".repeat(3000)),
            spec_hash: "0123456789ab".into(),
        };
        let text = format_record(&[long.clone(), long.clone()]).unwrap();
        assert!(text.len() <= MAX_INJECTED_BYTES);
        assert_eq!(parse_record(&text), vec![long]);
    }
}

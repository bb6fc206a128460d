//! YAML 1.1 values as go-yaml v2 resolves them and `sigs.k8s.io/yaml` turns them into JSON.

use std::collections::HashMap;

use saphyr_parser::ScalarStyle;
use serde_json::{Map, Number, Value};

use super::{
    node::{line_col, Node, NodeKind},
    YamlError,
};

/// What a plain scalar (or a tagged one) means.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    /// A timestamp, as the JSON string Go writes for it.
    Timestamp(String),
    Str(String),
    Merge,
}

const TRUE: &[&str] = &[
    "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON",
];
const FALSE: &[&str] = &[
    "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF",
];
const NULL: &[&str] = &["", "~", "null", "Null", "NULL"];
const NAN: &[&str] = &[".nan", ".NaN", ".NAN"];
const INF: &[&str] = &[".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"];
const NEG_INF: &[&str] = &["-.inf", "-.Inf", "-.INF"];

/// go-yaml v2's `resolve` for an untagged plain scalar (or one tagged with a core tag).
pub(crate) fn resolve_plain(s: &str, tag: Option<&str>) -> Scalar {
    if matches!(tag, Some("!!str" | "!!binary")) {
        return Scalar::Str(s.to_string());
    }
    if s == "<<" {
        return Scalar::Merge;
    }
    let hint = s.as_bytes().first().copied();
    let hinted = match hint {
        None => true,
        Some(b'+' | b'-' | b'0'..=b'9' | b'.') => true,
        Some(c) => b"yYnNtTfFoO~".contains(&c),
    };
    if !hinted {
        return Scalar::Str(s.to_string());
    }
    if TRUE.contains(&s) {
        return Scalar::Bool(true);
    }
    if FALSE.contains(&s) {
        return Scalar::Bool(false);
    }
    if NULL.contains(&s) {
        return Scalar::Null;
    }
    if NAN.contains(&s) {
        return Scalar::Float(f64::NAN);
    }
    if INF.contains(&s) {
        return Scalar::Float(f64::INFINITY);
    }
    if NEG_INF.contains(&s) {
        return Scalar::Float(f64::NEG_INFINITY);
    }
    match hint {
        Some(b'.') => {
            if let Some(f) = go_parse_float(s) {
                return Scalar::Float(f);
            }
        }
        Some(b'+' | b'-' | b'0'..=b'9') => {
            if let Some(t) = timestamp(s) {
                return Scalar::Timestamp(t);
            }
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            if let Some(i) = go_parse_int(&plain) {
                return Scalar::Int(i);
            }
            if float_syntax(&plain) {
                if let Ok(f) = plain.parse::<f64>() {
                    return Scalar::Float(f);
                }
            }
        }
        _ => {}
    }
    Scalar::Str(s.to_string())
}

/// `strconv.ParseInt(s, 0, 64)`, then `ParseUint(s, 0, 64)`: sign, `0x`/`0o`/`0b` prefixes,
/// a leading `0` for octal.
fn go_parse_int(s: &str) -> Option<i128> {
    let (negative, signed, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, true, &s[1..]),
        Some(b'+') => (false, true, &s[1..]),
        _ => (false, false, s),
    };
    let lower = digits.to_ascii_lowercase();
    let (radix, body) = if let Some(rest) = lower.strip_prefix("0x") {
        (16, rest)
    } else if let Some(rest) = lower.strip_prefix("0o") {
        (8, rest)
    } else if let Some(rest) = lower.strip_prefix("0b") {
        (2, rest)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u128::from_str_radix(body, radix).ok()?;
    if negative {
        let v = -(i128::try_from(magnitude).ok()?);
        (v >= i128::from(i64::MIN)).then_some(v)
    } else if signed {
        // ParseUint takes no sign, so `+` stops at i64.
        (magnitude <= i64::MAX as u128).then_some(magnitude as i128)
    } else {
        (magnitude <= u128::from(u64::MAX)).then_some(magnitude as i128)
    }
}

/// go-yaml's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn float_syntax(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let from = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - from
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// `strconv.ParseFloat` for what starts with `.` (`.5`, `.5e3`).
fn go_parse_float(s: &str) -> Option<f64> {
    float_syntax(s).then(|| s.parse().ok()).flatten()
}

/// go-yaml v2's timestamps (`2001-12-14`, `2001-12-14T21:59:43.10Z`, `2001-12-14 21:59:43.10`),
/// as the RFC 3339 string Go's JSON writes for a `time.Time`. Only the date-only form is
/// normalised here; the others keep their text, which is what Go writes for them when they are
/// already in RFC 3339 (the form manifests use).
fn timestamp(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    let (date, time) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let parts: Vec<&str> = date.split('-').collect();
    if parts.len() != 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()))
        || parts[0].len() != 4
        || parts[1].len() > 2
        || parts[2].len() > 2
    {
        return None;
    }
    let (month, day): (u32, u32) = (parts[1].parse().ok()?, parts[2].parse().ok()?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    match time {
        None => Some(format!("{}-{month:02}-{day:02}T00:00:00Z", parts[0])),
        Some(t) => {
            let hms: Vec<&str> = t.split(['Z', '+', '.', '-']).next()?.split(':').collect();
            (hms.len() == 3
                && hms.iter().all(|p| {
                    !p.is_empty() && p.len() <= 2 && p.bytes().all(|c| c.is_ascii_digit())
                }))
            .then(|| s.to_string())
        }
    }
}

/// JSON for a resolved scalar; NaN and infinities have none.
pub(crate) fn scalar_json(s: Scalar) -> Result<Value, String> {
    Ok(match s {
        Scalar::Null => Value::Null,
        Scalar::Bool(b) => Value::Bool(b),
        Scalar::Int(i) => match i64::try_from(i) {
            Ok(i) => Value::from(i),
            Err(_) => u64::try_from(i).map(Value::from).map_err(|_| "integer out of range".to_string())?,
        },
        Scalar::Float(f) if !f.is_finite() => {
            return Err(format!(
                "`{f}` (a YAML float) has no JSON form, so Kubernetes cannot read it; quote it to make it a string"
            ))
        }
        // Go's JSON writes integral floats without a fraction.
        Scalar::Float(f) if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 => {
            Value::from(f as i64)
        }
        Scalar::Float(f) => Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null),
        Scalar::Timestamp(t) | Scalar::Str(t) => Value::String(t),
        Scalar::Merge => Value::String("<<".into()),
    })
}

/// Builds JSON values from nodes, expanding aliases within a budget.
pub(crate) struct Reader<'a> {
    pub text: &'a str,
    pub anchors: &'a HashMap<usize, &'a Node>,
    pub budget: &'a mut usize,
}

/// Nesting (aliases included) deeper than this is refused.
const MAX_DEPTH: usize = 512;

impl<'a> Reader<'a> {
    fn error(&self, node: &Node, message: impl Into<String>) -> YamlError {
        YamlError::new(message, Some(line_col(self.text, node.start)))
    }

    /// What a scalar node means.
    pub(crate) fn scalar(node: &Node) -> Option<Scalar> {
        let NodeKind::Scalar { value, style } = &node.kind else {
            return None;
        };
        let tag = node.tag.as_deref();
        Some(match (style, tag) {
            (_, Some("!!str" | "!!binary")) => Scalar::Str(value.clone()),
            (_, Some("!!int" | "!!float" | "!!bool" | "!!null" | "!!timestamp"))
            | (ScalarStyle::Plain, None) => resolve_plain(value, tag),
            // Quoted and block scalars are strings; go-yaml keeps unknown tags' text.
            _ => Scalar::Str(value.clone()),
        })
    }

    /// The node an alias stands for.
    pub(crate) fn deref(&self, node: &'a Node) -> Result<&'a Node, YamlError> {
        match node.kind {
            NodeKind::Alias(id) => self
                .anchors
                .get(&id)
                .copied()
                .ok_or_else(|| self.error(node, "alias to an unknown anchor")),
            _ => Ok(node),
        }
    }

    /// A mapping key as the JSON key `sigs.k8s.io/yaml` makes of it.
    pub(crate) fn key(&self, node: &'a Node) -> Result<Option<String>, YamlError> {
        let target = self.deref(node)?;
        let Some(scalar) = Self::scalar(target) else {
            return Err(self.error(
                node,
                "a mapping or sequence as a mapping key cannot be read as JSON",
            ));
        };
        Ok(Some(match scalar {
            Scalar::Merge => return Ok(None),
            Scalar::Str(s) => s,
            Scalar::Int(i) => i.to_string(),
            Scalar::Bool(b) => b.to_string(),
            Scalar::Float(f) if f.is_nan() => ".nan".into(),
            Scalar::Float(f) if f.is_infinite() => if f > 0.0 { ".inf" } else { "-.inf" }.into(),
            Scalar::Float(f) => (f as f32).to_string(),
            Scalar::Null => {
                return Err(self.error(node, "a null mapping key cannot be read as JSON; quote it"))
            }
            Scalar::Timestamp(_) => {
                return Err(self.error(
                    node,
                    "a timestamp mapping key cannot be read as JSON; quote it",
                ))
            }
        }))
    }

    /// The mappings a merge key (`<<`) brings in, in the order their keys are applied (later
    /// ones overwrite: go-yaml v2 applies a sequence of merges backwards, so the first wins).
    pub(crate) fn merged(&self, value: &'a Node) -> Result<Vec<&'a Node>, YamlError> {
        let target = self.deref(value)?;
        let wrong = || {
            self.error(
                value,
                "a merge key (<<) takes a mapping, an alias to one, or a sequence of them",
            )
        };
        match &target.kind {
            NodeKind::Mapping { .. } => Ok(vec![target]),
            NodeKind::Sequence { items, .. } => items
                .iter()
                .rev()
                .map(|i| {
                    let m = self.deref(i)?;
                    matches!(m.kind, NodeKind::Mapping { .. })
                        .then_some(m)
                        .ok_or_else(wrong)
                })
                .collect(),
            _ => Err(wrong()),
        }
    }

    /// The node's JSON value.
    pub(crate) fn value(&mut self, node: &'a Node, depth: usize) -> Result<Value, YamlError> {
        if depth > MAX_DEPTH {
            return Err(self.error(
                node,
                format!("nested deeper than {MAX_DEPTH} levels (aliases included)"),
            ));
        }
        if *self.budget == 0 {
            return Err(self.error(node, "the document's aliases expand to too many values"));
        }
        *self.budget -= 1;
        match &node.kind {
            NodeKind::Alias(_) => {
                let target = self.deref(node)?;
                self.value(target, depth + 1)
            }
            NodeKind::Scalar { .. } => {
                let scalar = Self::scalar(node).unwrap_or(Scalar::Null);
                scalar_json(scalar).map_err(|m| self.error(node, m))
            }
            NodeKind::Sequence { items, .. } => items
                .iter()
                .map(|i| self.value(i, depth + 1))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            NodeKind::Mapping { entries, .. } => {
                let mut map = Map::new();
                for (k, v) in entries {
                    match self.key(k)? {
                        Some(key) => {
                            let value = self.value(v, depth + 1)?;
                            map.insert(key, value);
                        }
                        None => {
                            for merged in self.merged(v)? {
                                if let Value::Object(m) = self.value(merged, depth + 1)? {
                                    for (key, value) in m {
                                        map.insert(key, value);
                                    }
                                }
                            }
                        }
                    }
                }
                Ok(Value::Object(map))
            }
        }
    }
}

//! Writing JSON values as block YAML that YAML 1.1 (kubectl) and 1.2 readers read back as the
//! same JSON: strings that could mean anything else are quoted.

use serde_json::Value;

use super::resolve::{resolve_plain, Scalar};

/// How new lines are written to match the document they go into.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    /// `"\n"`, or `"\r\n"` in a CRLF document.
    pub newline: &'static str,
    /// Columns between a key and the `-` of its sequence's items (0: `key:\n- a`, kubectl's
    /// style; 2: `key:\n  - a`).
    pub sequence_indent: usize,
}

impl Default for Style {
    fn default() -> Self {
        Self {
            newline: "\n",
            sequence_indent: 0,
        }
    }
}

/// A whole document: block style, kubectl's indentation, ending with a line break.
pub fn render(value: &Value) -> String {
    let style = Style::default();
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => entries(&mut out, map, 0, false, style),
        other => {
            out.push_str(after_colon(other, 0, style).trim_start());
            out.push('\n');
        }
    }
    out
}

/// Whether `s` can be written without quotes and read back as the same string by YAML 1.1
/// (go-yaml v2) and 1.2 readers alike. Deliberately narrow: quoting is always safe.
fn plain_is_safe(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    // A digit may start a string (`200Mi`, `500m`) when nothing reads it as a number, date or
    // base-60 value (`1:20`).
    let digit = first.is_ascii_digit();
    if !(first.is_ascii_alphabetic() || digit || first == '/' || first == '_' || first == '$')
        || digit
            && (s.contains(':') || s.contains(' ') || !s.bytes().any(|b| b.is_ascii_alphabetic()))
    {
        return false;
    }
    if s.ends_with([' ', ':']) || s.contains(": ") || s.contains(" #") {
        return false;
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_./:=@+$(),- ".contains(c))
    {
        return false;
    }
    // `on`, `No`, `null`, `~`...: a YAML 1.1 reader takes them for something else; 1.2 readers
    // for fewer of them, and case-insensitive matching covers both.
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
    ) {
        return false;
    }
    matches!(resolve_plain(s, None), Scalar::Str(_))
}

/// A string as a one-line scalar: plain when safe, otherwise double-quoted (JSON's escapes are
/// YAML's).
pub(crate) fn string(s: &str) -> String {
    if plain_is_safe(s) {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
    }
}

/// A non-collection value on one line.
pub(crate) fn inline_scalar(value: &Value) -> Option<String> {
    Some(match value {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => string(s),
        Value::Array(a) if a.is_empty() => "[]".into(),
        Value::Object(m) if m.is_empty() => "{}".into(),
        _ => return None,
    })
}

/// A multi-line string as a literal block (`|`), when its lines allow it: the header and the
/// lines, without the final line break.
fn literal(s: &str, indent: usize, style: Style) -> Option<String> {
    if !s.contains('\n') || s.chars().any(|c| c.is_control() && c != '\n') || s.contains('\u{feff}')
    {
        return None;
    }
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    let first_content = body.lines().find(|l| !l.is_empty())?;
    if first_content.starts_with(' ') || body.lines().any(|l| !l.is_empty() && l.trim().is_empty())
    {
        return None;
    }
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let pad = " ".repeat(indent);
    let mut out = format!("|{chomp}");
    let lines: Vec<&str> = if trailing > 1 {
        s[..s.len() - 1].split('\n').collect()
    } else {
        body.split('\n').collect()
    };
    for line in lines {
        out.push_str(style.newline);
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
    }
    Some(out)
}

/// A value that starts on its key's or dash's line (owner at column `col`): a scalar, an empty
/// collection, or a literal block's header and lines.
fn on_the_line(value: &Value, col: usize, style: Style) -> Option<String> {
    if let Value::String(s) = value {
        if let Some(block) = literal(s, col + 2, style) {
            return Some(format!(" {block}"));
        }
    }
    inline_scalar(value).map(|s| format!(" {s}"))
}

/// What follows `key:` for `value`, the key at column `col`: ` scalar`, or a line break and
/// the indented block. No final line break.
pub(crate) fn after_colon(value: &Value, col: usize, style: Style) -> String {
    if let Some(s) = on_the_line(value, col, style) {
        return s;
    }
    let mut out = String::new();
    out.push_str(style.newline);
    match value {
        Value::Object(map) => entries(&mut out, map, col + 2, false, style),
        Value::Array(items) => sequence(&mut out, items, col + style.sequence_indent, false, style),
        _ => {}
    }
    trim_newline(out, style)
}

/// What follows `-` for `value`, the dash at column `col`. No final line break.
pub(crate) fn after_dash(value: &Value, col: usize, style: Style) -> String {
    if let Some(s) = on_the_line(value, col, style) {
        return s;
    }
    let mut out = String::from(" ");
    match value {
        Value::Object(map) => entries(&mut out, map, col + 2, true, style),
        Value::Array(items) => sequence(&mut out, items, col + 2, true, style),
        _ => {}
    }
    trim_newline(out, style)
}

fn trim_newline(mut out: String, style: Style) -> String {
    if out.ends_with(style.newline) {
        out.truncate(out.len() - style.newline.len());
    }
    out
}

/// Mapping entries at column `col`, each line ended; the first without its indentation when
/// `inline` (it follows a `- `).
pub(crate) fn entries(
    out: &mut String,
    map: &serde_json::Map<String, Value>,
    col: usize,
    inline: bool,
    style: Style,
) {
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 || !inline {
            out.push_str(&" ".repeat(col));
        }
        out.push_str(&string(key));
        out.push(':');
        out.push_str(&after_colon(value, col, style));
        out.push_str(style.newline);
    }
}

/// Sequence items with their `-` at column `col`, each line ended.
pub(crate) fn sequence(out: &mut String, items: &[Value], col: usize, inline: bool, style: Style) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 || !inline {
            out.push_str(&" ".repeat(col));
        }
        out.push('-');
        out.push_str(&after_dash(item, col, style));
        out.push_str(style.newline);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_that_mean_something_else_are_quoted() {
        for s in [
            "on",
            "Off",
            "y",
            "NO",
            "true",
            "null",
            "~",
            "",
            "0755",
            "1e3",
            "12",
            "-1",
            ".5",
            "2001-12-14",
            "a: b",
            "a #b",
            "-x",
            "*x",
            "&x",
            " x",
            "x ",
            "{x}",
            "[x]",
            "'x'",
            "\"x\"",
            "!x",
            "%x",
            "@x",
            "`x`",
            "|",
            ">",
            "?x",
            "é",
            "<<",
            ".inf",
            "1_000",
            "0x1F",
            "a\tb",
            "1:20",
            "0o17",
            "0b1",
            "1.5",
            "1.",
            "+1",
            "12e3",
            "1e-3",
            "2001-12-14T10:00:00Z",
            "1.2.3",
        ] {
            let out = string(s);
            assert!(out.starts_with('"'), "{s:?} -> {out}");
            let back: String = serde_json::from_str(&out).unwrap();
            assert_eq!(back, s);
        }
        for s in [
            "app",
            "a-b",
            "otel-inject.dev/status",
            "/otel-auto-instrumentation-java",
            "http://x:4318",
            "Hello world",
            "200Mi",
            "500m",
            "3ab",
            "a,b",
        ] {
            assert_eq!(string(s), s);
        }
    }

    #[test]
    fn a_document_in_kubectl_style() {
        let v = json!({"a": {"b": [1, {"c": "on", "d": []}], "e": "x\ny\n"}, "f": null});
        assert_eq!(
            render(&v),
            "a:\n  b:\n  - 1\n  - c: \"on\"\n    d: []\n  e: |\n    x\n    y\nf: null\n"
        );
    }
}

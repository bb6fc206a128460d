//! Reading streams of Kubernetes objects (multi-document YAML, or JSON objects / arrays) as
//! kubectl reads them, while keeping each document's place in the stream's bytes, so that the
//! offline commands can hand back untouched documents (and the separators, comments and blank
//! lines between them) byte for byte, edit changed ones in place, and name the file and document
//! number in every error.

use std::ops::Range;

use serde_json::Value;

use crate::yaml;

/// The most a stream may hold: a manifest is rarely over a few MiB; the limit keeps an offline
/// run on a pipe bounded (its documents are held as text, a tree and a JSON value).
pub const MAX_STREAM_BYTES: usize = 64 << 20;

/// The most JSON values a stream may make, all its documents together: several times the
/// largest manifests seen (a chart's whole CRD bundle, ~150,000), and what keeps memory bounded
/// (measured: 1.9 million values took 1 GiB at peak in a debug build, ~540 bytes a value parsed,
/// patched and written; this cap keeps a run near half of that).
pub const MAX_STREAM_VALUES: usize = 1_000_000;

/// One document of a stream.
#[derive(Debug, Clone)]
pub struct Document {
    /// 1-based position in its stream (empty documents are counted too, as `kubectl` does).
    pub number: usize,
    /// Where the document's text is in the stream's bytes (YAML: without its `---` line).
    pub range: Range<usize>,
    /// The document's text. Bytes that are not UTF-8 (allowed in comments only) read as `?`,
    /// so offsets into it are offsets into the stream's bytes from `range.start`.
    pub text: String,
    /// The parsed object; `Value::Null` for an empty document.
    pub value: Value,
}

impl Document {
    /// `kind` of the object, or "".
    pub fn kind(&self) -> &str {
        self.value.get("kind").and_then(Value::as_str).unwrap_or("")
    }
}

/// A stream and its documents.
#[derive(Debug, Clone)]
pub struct Stream {
    /// Its syntax.
    pub format: StreamFormat,
    /// The bytes as read.
    pub bytes: Vec<u8>,
    /// Its documents, in order.
    pub docs: Vec<Document>,
}

/// A document that could not be read; the message names where.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {}{message}", if *number == 0 { String::new() } else { format!("document {number}: ") })]
pub struct ManifestError {
    /// File name, or "-" / "stdin".
    pub source_name: String,
    /// 1-based document number; 0 for the whole stream.
    pub number: usize,
    /// What is wrong, and with which field when known.
    pub message: String,
}

impl ManifestError {
    /// An error about document `number` of `source_name`.
    pub fn new(source_name: &str, number: usize, message: impl Into<String>) -> Self {
        Self {
            source_name: source_name.to_string(),
            number,
            message: message.into(),
        }
    }
}

/// The stream's syntax, which the offline commands reuse for their output by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamFormat {
    /// `---`-separated YAML documents.
    Yaml,
    /// One or more JSON values (objects or arrays of objects).
    Json,
}

const BOM: &[u8] = b"\xef\xbb\xbf";

/// Splits and parses a stream. JSON when the first non-blank character is `{` or `[`.
pub fn parse_stream(bytes: &[u8], source_name: &str) -> Result<Stream, ManifestError> {
    if bytes.len() > MAX_STREAM_BYTES {
        return Err(ManifestError::new(
            source_name,
            0,
            format!(
                "the input is {} MiB; the limit is {} MiB: split it into several files",
                bytes.len() >> 20,
                MAX_STREAM_BYTES >> 20
            ),
        ));
    }
    let body = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let (format, docs) = if matches!(first, Some(b'{' | b'[')) {
        crate::admission::check_json_values(body, MAX_STREAM_VALUES).map_err(|_| {
            ManifestError::new(
                source_name,
                0,
                format!("the input holds more than {MAX_STREAM_VALUES} JSON values: split it into several files"),
            )
        })?;
        let text = std::str::from_utf8(body)
            .map_err(|e| ManifestError::new(source_name, 1, format!("JSON must be UTF-8: {e}")))?;
        let offset = bytes.len() - body.len();
        (
            StreamFormat::Json,
            parse_json_stream(text, offset, source_name)?,
        )
    } else {
        (StreamFormat::Yaml, parse_yaml_stream(bytes, source_name)?)
    };
    Ok(Stream {
        format,
        bytes: bytes.to_vec(),
        docs,
    })
}

fn parse_json_stream(
    text: &str,
    offset: usize,
    source_name: &str,
) -> Result<Vec<Document>, ManifestError> {
    let mut docs = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let mut start = 0;
    loop {
        let number = docs.len() + 1;
        match stream.next() {
            None => break,
            Some(Ok(value)) => {
                let end = stream.byte_offset();
                let raw = text.get(start..end).unwrap_or("");
                let lead = raw.len() - raw.trim_start().len();
                let range = offset + start + lead..offset + end;
                start = end;
                match value {
                    // A top-level JSON array is a list of documents (what `jq -s` produces).
                    Value::Array(items) => {
                        for item in items {
                            let number = docs.len() + 1;
                            let text = serde_json::to_string_pretty(&item).unwrap_or_default();
                            docs.push(Document {
                                number,
                                range: range.clone(),
                                text,
                                value: item,
                            });
                        }
                    }
                    value => docs.push(Document {
                        number,
                        text: raw.trim().to_string(),
                        range,
                        value,
                    }),
                }
            }
            Some(Err(e)) => {
                return Err(ManifestError::new(
                    source_name,
                    number,
                    format!(
                        "invalid JSON at line {} column {}: {e}",
                        e.line(),
                        e.column()
                    ),
                ))
            }
        }
    }
    for doc in &docs {
        check_object(doc, source_name)?;
    }
    Ok(docs)
}

/// Whether a line is a document separator as kubectl's reader sees one: `---`, then nothing
/// but blanks or a comment. (`--- value` also starts a document, with its content on the line.)
fn separator(line: &[u8]) -> Option<bool> {
    let rest = line.strip_prefix(b"---")?;
    let rest = rest.strip_suffix(b"\n").unwrap_or(rest);
    let rest = rest.strip_suffix(b"\r").unwrap_or(rest);
    match rest.first() {
        None => Some(false),
        Some(b' ' | b'\t') => {
            let content = rest.trim_ascii_start();
            Some(!content.is_empty() && !content.starts_with(b"#"))
        }
        Some(b'#') => Some(false),
        _ => None,
    }
}

/// The byte ranges of the documents: a `---` line at column 0 always ends a YAML document
/// (block scalars must be indented), so this is exact for the streams Kubernetes tools write.
fn split_yaml(bytes: &[u8]) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = if bytes.starts_with(BOM) { BOM.len() } else { 0 };
    let mut seen_separator = false;
    let mut at = start;
    while at < bytes.len() {
        let end = bytes[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| at + i + 1);
        let line = &bytes[at..end];
        if let Some(content_on_line) = separator(line) {
            // The separator before the first document does not open an empty document.
            if seen_separator || !bytes[start..at].trim_ascii().is_empty() {
                ranges.push(start..at);
            }
            seen_separator = true;
            // `--- value`: the line is the next document's first (the parser reads `---`).
            start = if content_on_line { at } else { end };
        } else if line.trim_ascii_end() == b"..." {
            // A document end marker: not content of either document.
            if !bytes[start..at].trim_ascii().is_empty() {
                ranges.push(start..at);
            }
            start = end;
            seen_separator = false;
        }
        at = end;
    }
    if !bytes[start..].trim_ascii().is_empty() || ranges.is_empty() {
        ranges.push(start..bytes.len());
    }
    ranges
}

/// The text of `bytes` with every byte that is not UTF-8 read as `?` (offsets kept), and the
/// offsets of those bytes.
fn lossy_same_offsets(bytes: &[u8]) -> (String, Vec<usize>) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), Vec::new()),
        Err(_) => {
            let mut out = Vec::with_capacity(bytes.len());
            let mut bad = Vec::new();
            let mut rest = bytes;
            let mut offset = 0;
            loop {
                match std::str::from_utf8(rest) {
                    Ok(s) => {
                        out.extend_from_slice(s.as_bytes());
                        break;
                    }
                    Err(e) => {
                        let good = e.valid_up_to();
                        out.extend_from_slice(&rest[..good]);
                        let n = e.error_len().unwrap_or(rest.len() - good);
                        for i in 0..n {
                            bad.push(offset + good + i);
                            out.push(b'?');
                        }
                        offset += good + n;
                        rest = &rest[good + n..];
                    }
                }
            }
            (String::from_utf8(out).unwrap_or_default(), bad)
        }
    }
}

fn parse_yaml_stream(bytes: &[u8], source_name: &str) -> Result<Vec<Document>, ManifestError> {
    let mut docs = Vec::new();
    let mut budget = MAX_STREAM_VALUES;
    for (i, range) in split_yaml(bytes).into_iter().enumerate() {
        let number = i + 1;
        let (text, not_utf8) = lossy_same_offsets(&bytes[range.clone()]);
        let parsed = yaml::parse(&text)
            .map_err(|e| ManifestError::new(source_name, number, format!("invalid YAML: {e}")))?;
        if let Some(&at) = not_utf8.iter().find(|&&at| parsed.covers(at)) {
            let (line, col) = yaml::line_col(&text, at);
            return Err(ManifestError::new(
                source_name,
                number,
                format!(
                    "byte 0x{:02X} at line {line} column {col} is not UTF-8, and Kubernetes reads manifests as UTF-8: re-encode the file (`iconv -f latin1 -t utf-8`)",
                    bytes[range.start + at]
                ),
            ));
        }
        let value = parsed
            .value_within(&mut budget)
            .map_err(|e| {
                let message = if budget == 0 {
                    format!("the input makes more than {MAX_STREAM_VALUES} values: split it into several files")
                } else {
                    format!("invalid YAML: {e}")
                };
                ManifestError::new(source_name, number, message)
            })?
            .unwrap_or(Value::Null);
        let doc = Document {
            number,
            range,
            text,
            value,
        };
        check_object(&doc, source_name)?;
        docs.push(doc);
    }
    Ok(docs)
}

fn check_object(doc: &Document, source_name: &str) -> Result<(), ManifestError> {
    match &doc.value {
        Value::Null => Ok(()),
        Value::Object(map) => {
            for field in ["apiVersion", "kind"] {
                match map.get(field) {
                    Some(Value::String(s)) if !s.is_empty() => {}
                    Some(_) => {
                        return Err(ManifestError::new(
                            source_name,
                            doc.number,
                            format!("field `{field}` must be a non-empty string"),
                        ))
                    }
                    None => {
                        return Err(ManifestError::new(
                            source_name,
                            doc.number,
                            format!("field `{field}` is missing; every document must be a Kubernetes object"),
                        ))
                    }
                }
            }
            Ok(())
        }
        other => Err(ManifestError::new(
            source_name,
            doc.number,
            format!(
                "expected a Kubernetes object (a mapping with apiVersion and kind), found {}",
                json_type(other)
            ),
        )),
    }
}

/// "a string", "an array", ... for messages.
pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads a file, or standard input for "-", up to [`MAX_STREAM_BYTES`] (one byte more, so that
/// [`parse_stream`] can say the input is too large).
pub fn read_source(path: &str) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let limit = MAX_STREAM_BYTES as u64 + 1;
    let mut bytes = Vec::new();
    if path == "-" {
        std::io::stdin()
            .lock()
            .take(limit)
            .read_to_end(&mut bytes)?;
    } else {
        std::fs::File::open(path)?
            .take(limit)
            .read_to_end(&mut bytes)?;
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_stream_keeps_text_and_numbers() {
        let text = "---\napiVersion: v1\nkind: A\n---\n# only a comment\n---\napiVersion: v1\nkind: B # c\n";
        let stream = parse_stream(text.as_bytes(), "f.yaml").unwrap();
        assert_eq!(stream.format, StreamFormat::Yaml);
        let docs = stream.docs;
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0].kind(), "A");
        assert!(docs[1].value.is_null());
        assert_eq!(docs[2].number, 3);
        assert_eq!(docs[2].text, "apiVersion: v1\nkind: B # c\n");
        assert_eq!(&text[docs[2].range.clone()], docs[2].text);
    }

    #[test]
    fn byte_order_marks_crlf_and_latin1_comments() {
        let mut bytes = b"\xef\xbb\xbfapiVersion: v1\r\nkind: A # caf\xe9\r\n---\r\napiVersion: v1\r\nkind: B\r\n".to_vec();
        let docs = parse_stream(&bytes, "f.yaml").unwrap().docs;
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].range.start, 3);
        assert_eq!(docs[0].kind(), "A");
        assert_eq!(docs[1].kind(), "B");
        bytes = b"apiVersion: v1\nkind: caf\xe9\n".to_vec();
        let err = parse_stream(&bytes, "f.yaml").unwrap_err();
        assert!(
            err.to_string()
                .contains("byte 0xE9 at line 2 column 10 is not UTF-8"),
            "{err}"
        );
    }

    #[test]
    fn separators_as_kubectl_reads_them() {
        let text = "--- # first\napiVersion: v1\nkind: A\n---\n---\napiVersion: v1\nkind: C\n...\n";
        let docs = parse_stream(text.as_bytes(), "f.yaml").unwrap().docs;
        assert_eq!(
            docs.iter().map(Document::kind).collect::<Vec<_>>(),
            ["A", "", "C"]
        );
    }

    #[test]
    fn bounded_whatever_the_input() {
        // Aliases that expand a few hundred bytes into billions of values.
        let mut bomb = String::from(
            "apiVersion: v1\nkind: ConfigMap\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
        );
        for i in 1..10 {
            let p = i - 1;
            bomb.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        let err = parse_stream(bomb.as_bytes(), "bomb.yaml").unwrap_err();
        assert!(
            err.to_string()
                .contains("aliases expand to too many values"),
            "{err}"
        );
        let deep = format!(
            "apiVersion: v1\nkind: A\nx: {}{}\n",
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        let err = parse_stream(deep.as_bytes(), "deep.yaml").unwrap_err();
        assert!(
            err.to_string().contains("recursion limit exceeded"),
            "{err}"
        );
        let dense = format!("[{}1]", "1,".repeat(MAX_STREAM_VALUES));
        let err = parse_stream(dense.as_bytes(), "dense.json").unwrap_err();
        assert!(
            err.to_string().contains("more than 1000000 JSON values"),
            "{err}"
        );
        let many = format!(
            "apiVersion: v1\nkind: List\nitems: [{}1]\n",
            "1,".repeat(yaml::MAX_NODES)
        );
        let err = parse_stream(many.as_bytes(), "dense.yaml").unwrap_err();
        assert!(
            err.to_string()
                .contains("more than 1000000 YAML nodes in one document"),
            "{err}"
        );
        let big = vec![b' '; MAX_STREAM_BYTES + 1];
        let err = parse_stream(&big, "big.yaml").unwrap_err();
        assert!(err.to_string().contains("the limit is 64 MiB"), "{err}");
    }

    #[test]
    fn errors_name_document_and_field() {
        let err =
            parse_stream(b"apiVersion: v1\nkind: A\n---\napiVersion: v1\n", "f.yaml").unwrap_err();
        assert_eq!(err.number, 2);
        assert!(
            err.to_string()
                .contains("f.yaml: document 2: field `kind` is missing"),
            "{err}"
        );
        let err = parse_stream(b"a: [\n", "g.yaml").unwrap_err();
        assert!(err.to_string().contains("invalid YAML"), "{err}");
    }

    #[test]
    fn json_stream_and_arrays() {
        let stream = parse_stream(
            br#"{"apiVersion":"v1","kind":"A"} [{"apiVersion":"v1","kind":"B"}]"#,
            "-",
        )
        .unwrap();
        assert_eq!(stream.format, StreamFormat::Json);
        assert_eq!(stream.docs.len(), 2);
        assert_eq!(stream.docs[1].kind(), "B");
    }
}

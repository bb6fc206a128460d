//! Reading streams of Kubernetes objects (multi-document YAML, or JSON objects / arrays) while
//! keeping each document's original text, so that the offline commands can hand back untouched
//! documents byte for byte and every error can name the file and document number.

use serde_json::Value;

/// One document of a stream.
#[derive(Debug, Clone)]
pub struct Document {
    /// 1-based position in its stream (empty documents are counted too, as `kubectl` does).
    pub number: usize,
    /// The document's original text (YAML without the `---` separator, or the JSON text).
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

/// A document that could not be read; the message names where.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: document {number}: {message}")]
pub struct ManifestError {
    /// File name, or "-" / "stdin".
    pub source_name: String,
    /// 1-based document number.
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

/// Splits and parses a stream. JSON when the first non-blank character is `{` or `[`.
pub fn parse_stream(
    text: &str,
    source_name: &str,
) -> Result<(StreamFormat, Vec<Document>), ManifestError> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return parse_json_stream(text, source_name).map(|d| (StreamFormat::Json, d));
    }
    parse_yaml_stream(text, source_name).map(|d| (StreamFormat::Yaml, d))
}

fn parse_json_stream(text: &str, source_name: &str) -> Result<Vec<Document>, ManifestError> {
    let mut docs = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let mut start = 0;
    loop {
        let number = docs.len() + 1;
        match stream.next() {
            None => break,
            Some(Ok(value)) => {
                let end = stream.byte_offset();
                let raw = text.get(start..end).unwrap_or("").trim().to_string();
                start = end;
                match value {
                    // A top-level JSON array is a list of documents (what `jq -s` produces).
                    Value::Array(items) => {
                        for item in items {
                            let number = docs.len() + 1;
                            let text = serde_json::to_string_pretty(&item).unwrap_or_default();
                            docs.push(Document {
                                number,
                                text,
                                value: item,
                            });
                        }
                    }
                    value => docs.push(Document {
                        number,
                        text: raw,
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

/// Splits on `---` lines. A `---` at column 0 always ends a YAML document (block scalars
/// must be indented), so this is exact for the streams Kubernetes tools write.
fn split_yaml(text: &str) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    let mut seen_separator_or_content = false;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        let is_separator = bare == "---"
            || bare.starts_with("--- ")
            || bare.starts_with("---\t")
            || bare.starts_with("---#");
        if is_separator {
            // The separator before the first document does not open an empty document.
            if seen_separator_or_content || !current.trim().is_empty() {
                chunks.push(std::mem::take(&mut current));
            } else {
                current.clear();
            }
            seen_separator_or_content = true;
            // Content after `--- ` on the same line belongs to the next document.
            let rest = bare[3..].trim_start();
            if !rest.is_empty() && !rest.starts_with('#') {
                current.push_str(rest);
                current.push('\n');
            }
            continue;
        }
        if bare == "..." {
            continue;
        }
        current.push_str(line);
    }
    if !current.trim().is_empty() || chunks.is_empty() {
        chunks.push(current);
    }
    chunks
}

fn parse_yaml_stream(text: &str, source_name: &str) -> Result<Vec<Document>, ManifestError> {
    let mut docs = Vec::new();
    for (i, chunk) in split_yaml(text).into_iter().enumerate() {
        let number = i + 1;
        let only_comments = chunk
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
        let value = if only_comments {
            Value::Null
        } else {
            serde_yaml::from_str::<Value>(&chunk).map_err(|e| {
                let at = e
                    .location()
                    .map(|l| format!(" at line {} column {}", l.line(), l.column()))
                    .unwrap_or_default();
                ManifestError::new(source_name, number, format!("invalid YAML{at}: {e}"))
            })?
        };
        let doc = Document {
            number,
            text: chunk,
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

/// Reads a file, or standard input for "-".
pub fn read_source(path: &str) -> std::io::Result<String> {
    if path == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
        Ok(s)
    } else {
        std::fs::read_to_string(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_stream_keeps_text_and_numbers() {
        let text = "---\napiVersion: v1\nkind: A\n---\n# only a comment\n---\napiVersion: v1\nkind: B # c\n";
        let (fmt, docs) = parse_stream(text, "f.yaml").unwrap();
        assert_eq!(fmt, StreamFormat::Yaml);
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0].kind(), "A");
        assert!(docs[1].value.is_null());
        assert_eq!(docs[2].number, 3);
        assert_eq!(docs[2].text, "apiVersion: v1\nkind: B # c\n");
    }

    #[test]
    fn errors_name_document_and_field() {
        let err =
            parse_stream("apiVersion: v1\nkind: A\n---\napiVersion: v1\n", "f.yaml").unwrap_err();
        assert_eq!(err.number, 2);
        assert!(
            err.to_string()
                .contains("f.yaml: document 2: field `kind` is missing"),
            "{err}"
        );
        let err = parse_stream("a: [\n", "g.yaml").unwrap_err();
        assert!(err.to_string().contains("invalid YAML"), "{err}");
    }

    #[test]
    fn json_stream_and_arrays() {
        let (fmt, docs) = parse_stream(
            r#"{"apiVersion":"v1","kind":"A"} [{"apiVersion":"v1","kind":"B"}]"#,
            "-",
        )
        .unwrap();
        assert_eq!(fmt, StreamFormat::Json);
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].kind(), "B");
    }
}

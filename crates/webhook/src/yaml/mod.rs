//! YAML as Kubernetes tools read it, edited in place.
//!
//! kubectl and the API server read YAML through `sigs.k8s.io/yaml`, which is go-yaml v2: YAML
//! 1.1 values (`on` is a boolean, `0755` an octal number, `2001-12-14` a timestamp) turned into
//! JSON. [`read`] gives exactly that JSON for one document, from the events of
//! [`saphyr_parser`] (a maintained, pure-Rust YAML parser that reports where every node is) and
//! our own YAML 1.1 resolution. [`edit`] turns a changed JSON value back into text by editing
//! the original document where the values differ, so comments, key order, quoting and flow
//! style survive everywhere else; [`render`] writes a value anew, quoted so that both YAML 1.1
//! and 1.2 readers read it back unchanged.

mod edit;
mod emit;
mod node;
mod resolve;

pub use edit::{edit, EditOutcome, Splices};
pub use emit::render;
pub use node::{line_col, parse, Document, Node, NodeKind, MAX_NODES};

/// Why a document could not be read, with its 1-based line and column when known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}{}", at.map(|(l, c)| format!(" at line {l} column {c}")).unwrap_or_default())]
pub struct YamlError {
    /// What is wrong, and what to write instead when we know.
    pub message: String,
    /// Line and column (1-based) in the document.
    pub at: Option<(usize, usize)>,
}

impl YamlError {
    fn new(message: impl Into<String>, at: Option<(usize, usize)>) -> Self {
        Self {
            message: message.into(),
            at,
        }
    }
}

/// Reads one document (no `---` separators) as kubectl does: `None` for an empty document.
pub fn read(text: &str) -> Result<Option<serde_json::Value>, YamlError> {
    let doc = parse(text)?;
    doc.value()
}

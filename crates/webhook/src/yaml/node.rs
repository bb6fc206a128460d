//! The node tree of one YAML document, with the byte offsets the editor needs.

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};
use serde_json::Value;

use super::{resolve, YamlError};

/// Nesting deeper than this is refused (no manifest comes close; recursion stays bounded).
const MAX_DEPTH: usize = 512;

/// Nodes in one document beyond this are refused before the tree grows further: no Kubernetes
/// object comes close (etcd stores at most 1.5 MiB per object, about 750,000 one-byte values).
pub const MAX_NODES: usize = 1_000_000;

/// One parsed document: its text and its root node (`None` when it holds no node).
#[derive(Debug, Clone)]
pub struct Document<'a> {
    /// The document's text, as given.
    pub text: &'a str,
    /// The root node.
    pub root: Option<Node>,
    /// Nodes in the tree (aliases not expanded), for the alias expansion bound.
    pub(crate) nodes: usize,
}

/// A node and where it is.
#[derive(Debug, Clone)]
pub struct Node {
    /// What the node is.
    pub kind: NodeKind,
    /// Anchor id (`&a`), 0 when none.
    pub anchor: usize,
    /// Explicit tag, short form (`!!str`, `!foo`).
    pub tag: Option<String>,
    /// Byte offset of the node's first character (the anchor or tag when it has one, the quote
    /// of a quoted scalar, `{`/`[` of a flow collection, the first key or `-` content of a block
    /// collection, the first content line of a block scalar).
    pub start: usize,
    /// Byte offset just past the node's last content character (a block scalar: the start of the
    /// token after it, which may be on a later line; see [`Node::is_block_scalar`]).
    pub end: usize,
}

/// The kinds of node.
#[derive(Debug, Clone)]
pub enum NodeKind {
    /// A scalar, with its text after unescaping and its style.
    Scalar {
        /// The scalar's value (unescaped, folded).
        value: String,
        /// How it was written.
        style: ScalarStyle,
    },
    /// A mapping: its entries in order.
    Mapping {
        /// Key and value nodes.
        entries: Vec<(Node, Node)>,
        /// Written as `{...}`.
        flow: bool,
    },
    /// A sequence: its items in order.
    Sequence {
        /// Item nodes.
        items: Vec<Node>,
        /// Written as `[...]`.
        flow: bool,
    },
    /// `*a`: the node whose anchor id this is.
    Alias(usize),
}

impl Node {
    /// A literal (`|`) or folded (`>`) scalar.
    pub fn is_block_scalar(&self) -> bool {
        matches!(
            self.kind,
            NodeKind::Scalar {
                style: ScalarStyle::Literal | ScalarStyle::Folded,
                ..
            }
        )
    }

    /// A block (indented) mapping or sequence.
    pub fn is_block_collection(&self) -> bool {
        matches!(
            self.kind,
            NodeKind::Mapping { flow: false, .. } | NodeKind::Sequence { flow: false, .. }
        )
    }
}

/// Turns a char index (what the parser reports) into a byte offset.
struct Offsets {
    /// Byte offset of every char, when the text is not ASCII.
    table: Option<Vec<usize>>,
    len: usize,
}

impl Offsets {
    fn new(text: &str) -> Self {
        let table = (!text.is_ascii()).then(|| text.char_indices().map(|(i, _)| i).collect());
        Self {
            table,
            len: text.len(),
        }
    }

    fn byte(&self, char_index: usize) -> usize {
        match &self.table {
            None => char_index.min(self.len),
            Some(t) => t.get(char_index).copied().unwrap_or(self.len),
        }
    }
}

/// A collection being built.
enum Open {
    Mapping {
        node: Node,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
    },
    Sequence {
        node: Node,
        items: Vec<Node>,
    },
}

fn short_tag(tag: &Tag) -> String {
    let full = format!("{}{}", tag.handle, tag.suffix);
    match full.strip_prefix("tag:yaml.org,2002:") {
        Some(rest) => format!("!!{rest}"),
        None => full,
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Parses one document. More than one document in `text` is an error (split the stream first).
pub fn parse(text: &str) -> Result<Document<'_>, YamlError> {
    let offsets = Offsets::new(text);
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Open> = Vec::new();
    let mut root: Option<Node> = None;
    let mut documents = 0;
    let mut nodes = 0usize;
    let span_range = |span: &Span| {
        (
            offsets.byte(span.start.index()),
            offsets.byte(span.end.index()),
        )
    };
    loop {
        let (event, span) = match parser.next() {
            None => break,
            Some(Ok(e)) => e,
            Some(Err(e)) => {
                let m = e.marker();
                return Err(YamlError::new(
                    e.info().to_string(),
                    Some((m.line(), m.col() + 1)),
                ));
            }
        };
        let (start, end) = span_range(&span);
        let complete = match event {
            Event::StreamStart | Event::Nothing | Event::DocumentEnd => continue,
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(YamlError::new(
                        "more than one YAML document where one was expected",
                        Some(line_col(text, start)),
                    ));
                }
                continue;
            }
            Event::Scalar(value, style, anchor, tag) => Node {
                // The parser's span of a quoted scalar runs on over the spaces and comment after
                // it; the closing quote is where it ends.
                end: match style {
                    ScalarStyle::DoubleQuoted | ScalarStyle::SingleQuoted => {
                        closing_quote(text, start).unwrap_or(end)
                    }
                    _ => end,
                },
                kind: NodeKind::Scalar {
                    value: value.into_owned(),
                    style,
                },
                anchor,
                tag: tag.as_deref().map(short_tag),
                start,
            },
            Event::Alias(id) => Node {
                kind: NodeKind::Alias(id),
                anchor: 0,
                tag: None,
                start,
                end,
            },
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let is_mapping = matches!(event, Event::MappingStart(..));
                let (Event::MappingStart(anchor, tag) | Event::SequenceStart(anchor, tag)) = event
                else {
                    continue;
                };
                if stack.len() >= MAX_DEPTH {
                    return Err(YamlError::new(
                        format!("nested deeper than {MAX_DEPTH} levels"),
                        Some(line_col(text, start)),
                    ));
                }
                let flow = matches!(
                    text.as_bytes().get(end.saturating_sub(1)),
                    Some(b'{' | b'[')
                ) && end > start;
                let node = Node {
                    kind: if is_mapping {
                        NodeKind::Mapping {
                            entries: Vec::new(),
                            flow,
                        }
                    } else {
                        NodeKind::Sequence {
                            items: Vec::new(),
                            flow,
                        }
                    },
                    anchor,
                    tag: tag.as_deref().map(short_tag),
                    start,
                    end: start,
                };
                stack.push(if is_mapping {
                    Open::Mapping {
                        node,
                        entries: Vec::new(),
                        key: None,
                    }
                } else {
                    Open::Sequence {
                        node,
                        items: Vec::new(),
                    }
                });
                continue;
            }
            Event::MappingEnd | Event::SequenceEnd => match stack.pop() {
                Some(Open::Mapping {
                    mut node, entries, ..
                }) => {
                    let flow = matches!(node.kind, NodeKind::Mapping { flow: true, .. });
                    node.end = if flow {
                        end
                    } else {
                        entries
                            .iter()
                            .map(|(_, v)| v.end)
                            .max()
                            .unwrap_or(node.start)
                    };
                    node.kind = NodeKind::Mapping { entries, flow };
                    node
                }
                Some(Open::Sequence { mut node, items }) => {
                    let flow = matches!(node.kind, NodeKind::Sequence { flow: true, .. });
                    node.end = if flow {
                        end
                    } else {
                        items.iter().map(|v| v.end).max().unwrap_or(node.start)
                    };
                    node.kind = NodeKind::Sequence { items, flow };
                    node
                }
                None => continue,
            },
        };
        nodes += 1;
        if nodes > MAX_NODES {
            return Err(YamlError::new(
                format!("more than {MAX_NODES} YAML nodes in one document; no Kubernetes object is that large"),
                Some(line_col(text, start)),
            ));
        }
        match stack.last_mut() {
            None => root = Some(complete),
            Some(Open::Sequence { items, .. }) => items.push(complete),
            Some(Open::Mapping { entries, key, .. }) => match key.take() {
                None => *key = Some(complete),
                Some(k) => entries.push((k, complete)),
            },
        }
    }
    if let Some(root) = &mut root {
        fix_empty_scalars(text, root);
    }
    Ok(Document { text, root, nodes })
}

/// The offset just past the quote that closes the quoted scalar starting at `start` (its
/// opening quote, possibly after an anchor or tag).
fn closing_quote(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let open = start + text[start..].find(['"', '\''])?;
    let quote = bytes[open];
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 2,
            b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
            c if c == quote => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// An empty plain scalar (`key:` with nothing after it) is reported at the next token, maybe on
/// a later line; it belongs right after its key's `:` (or its item's `-`).
fn fix_empty_scalars(text: &str, node: &mut Node) {
    match &mut node.kind {
        NodeKind::Mapping { entries, .. } => {
            for (k, v) in entries {
                fix_empty_scalars(text, k);
                if is_empty_plain(v) {
                    let at = after_indicator(text, k.end, b':').unwrap_or(k.end);
                    v.start = at;
                    v.end = at;
                } else {
                    fix_empty_scalars(text, v);
                }
            }
        }
        NodeKind::Sequence { items, .. } => {
            for item in items {
                if is_empty_plain(item) {
                    if let Some(dash) = dash_before(text, item.start) {
                        item.start = dash + 1;
                        item.end = dash + 1;
                    }
                } else {
                    fix_empty_scalars(text, item);
                }
            }
        }
        _ => {}
    }
    if let NodeKind::Mapping {
        entries,
        flow: false,
    } = &node.kind
    {
        node.end = entries
            .iter()
            .map(|(_, v)| v.end)
            .max()
            .unwrap_or(node.start);
    }
    if let NodeKind::Sequence { items, flow: false } = &node.kind {
        node.end = items.iter().map(|v| v.end).max().unwrap_or(node.start);
    }
}

fn is_empty_plain(node: &Node) -> bool {
    matches!(&node.kind, NodeKind::Scalar { value, style: ScalarStyle::Plain } if value.is_empty())
        && node.tag.is_none()
        && node.anchor == 0
}

/// The offset just past `indicator` (`:`), when only spaces separate it from `from`.
pub(crate) fn after_indicator(text: &str, from: usize, indicator: u8) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = from;
    while i < bytes.len() && (bytes[i] == b' ' || bytes[i] == b'\t') {
        i += 1;
    }
    (bytes.get(i) == Some(&indicator)).then_some(i + 1)
}

/// The offset of the `-` that introduces the sequence item starting at `start`, when only
/// white space (line breaks included) separates them.
pub(crate) fn dash_before(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = start.min(bytes.len());
    while i > 0 && matches!(bytes[i - 1], b' ' | b'\t' | b'\n' | b'\r') {
        i -= 1;
    }
    (i > 0 && bytes[i - 1] == b'-').then(|| i - 1)
}

impl Document<'_> {
    /// The document's value as kubectl reads it; `None` for an empty document.
    pub fn value(&self) -> Result<Option<Value>, YamlError> {
        let mut unbounded = usize::MAX;
        self.value_within(&mut unbounded)
    }

    /// [`Document::value`], taking the values it builds from `budget` (shared by a stream's
    /// documents); an error when they would exceed it.
    pub fn value_within(&self, budget: &mut usize) -> Result<Option<Value>, YamlError> {
        let Some(root) = &self.root else {
            return Ok(None);
        };
        let anchors = self.anchors();
        // go-yaml refuses documents whose aliases expand far beyond their size.
        let own = self.nodes.saturating_mul(10).max(10_000);
        let mut left = own.min(*budget);
        let result = self.reader(&anchors, &mut left).value(root, 0).map(Some);
        *budget -= own.min(*budget) - left;
        result
    }
}

impl<'a> Document<'a> {
    /// Whether the byte at `offset` is part of a node (a key, a value, a block scalar's lines),
    /// not of a comment or the space between nodes.
    pub fn covers(&self, offset: usize) -> bool {
        fn walk(node: &Node, offset: usize) -> bool {
            if !(node.start..node.end).contains(&offset) {
                return false;
            }
            match &node.kind {
                NodeKind::Mapping {
                    entries,
                    flow: false,
                } => entries
                    .iter()
                    .any(|(k, v)| walk(k, offset) || walk(v, offset)),
                NodeKind::Sequence { items, flow: false } => items.iter().any(|i| walk(i, offset)),
                _ => true,
            }
        }
        self.root.as_ref().is_some_and(|r| walk(r, offset))
    }

    /// The anchors of the tree, by id.
    pub(crate) fn anchors(&'a self) -> std::collections::HashMap<usize, &'a Node> {
        let mut anchors = std::collections::HashMap::new();
        if let Some(root) = &self.root {
            collect_anchors(root, &mut anchors);
        }
        anchors
    }

    pub(crate) fn reader<'r>(
        &'r self,
        anchors: &'r std::collections::HashMap<usize, &'r Node>,
        budget: &'r mut usize,
    ) -> resolve::Reader<'r> {
        resolve::Reader {
            text: self.text,
            anchors,
            budget,
        }
    }
}

fn collect_anchors<'n>(node: &'n Node, anchors: &mut std::collections::HashMap<usize, &'n Node>) {
    if node.anchor != 0 {
        anchors.insert(node.anchor, node);
    }
    match &node.kind {
        NodeKind::Mapping { entries, .. } => {
            for (k, v) in entries {
                collect_anchors(k, anchors);
                collect_anchors(v, anchors);
            }
        }
        NodeKind::Sequence { items, .. } => {
            for item in items {
                collect_anchors(item, anchors);
            }
        }
        _ => {}
    }
}

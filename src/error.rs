//! Errors shown to the user the way ansible-playbook shows them: the message, then
//! `Origin: file:line:col` and the source lines around it with a caret.

use crate::yaml::Span;
use std::fmt;

#[derive(Clone, Debug)]
pub struct Error {
    pub msg: String,
    pub span: Option<Span>,
    /// Extra guidance printed after the excerpt.
    pub hint: Option<String>,
    /// Not a parse error: ansible-playbook exits 1 for these instead of 4.
    pub general: bool,
    /// A parse error met while the play runs (in a file an include reads): it stops the
    /// run, and ansible-playbook exits 4 for it.
    pub stops_run: bool,
}

impl Error {
    pub fn new(msg: impl Into<String>) -> Self {
        Error {
            msg: msg.into(),
            span: None,
            hint: None,
            general: false,
            stops_run: false,
        }
    }
    pub fn at(msg: impl Into<String>, span: &Span) -> Self {
        Error {
            msg: msg.into(),
            span: Some(span.clone()),
            hint: None,
            general: false,
            stops_run: false,
        }
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    /// Mark as a general error (exit code 1 rather than a parse error's 4).
    pub fn general(mut self) -> Self {
        self.general = true;
        self
    }
    /// Put a position on an error that has none yet.
    pub fn or_at(mut self, span: &Span) -> Self {
        if self.span.is_none() && !span.is_synthetic() {
            self.span = Some(span.clone());
        }
        self
    }

    /// The full report: message, origin and excerpt, as `[ERROR]: ...` shows it.
    pub fn report(&self) -> String {
        let mut out = self.msg.clone();
        if let Some(span) = self.span.as_ref().filter(|s| !s.is_synthetic()) {
            out.push_str(&format!("\nOrigin: {span}\n"));
            if let Some(ex) = excerpt(span) {
                out.push('\n');
                out.push_str(&ex);
            }
        }
        if let Some(h) = &self.hint {
            out.push('\n');
            out.push_str(h);
            out.push('\n');
        }
        out
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for Error {}

impl From<crate::yaml::YamlError> for Error {
    fn from(e: crate::yaml::YamlError) -> Self {
        let mut err = Error::at(e.message, &e.span);
        err.general = e.general;
        err
    }
}

/// Up to three lines ending at the span's line, numbered, with a caret under the column.
pub fn excerpt(span: &Span) -> Option<String> {
    // The text on disk of a vaulted file is ciphertext; its plaintext is never shown.
    if crate::vault::is_vaulted_file(std::path::Path::new(&*span.file)) {
        return Some("(source not shown: content encrypted)\n".into());
    }
    let text = std::fs::read_to_string(&*span.file).ok()?;
    let lines: Vec<&str> = text.lines().collect();
    let line = span.line as usize;
    if line == 0 || line > lines.len() {
        return None;
    }
    let first = line.saturating_sub(2).max(1);
    let width = line.to_string().len();
    let mut out = String::new();
    for n in first..=line {
        out.push_str(&format!("{:>width$} {}\n", n, lines[n - 1], width = width));
    }
    out.push_str(&format!(
        "{:>width$} {}^ column {}\n",
        "",
        " ".repeat(span.col.saturating_sub(1) as usize),
        span.col,
        width = width
    ));
    Some(out)
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

//! String literals inside Jinja tags, read the way Ansible reads them.
//!
//! Two things differ from minijinja's own reading:
//! - Jinja2 decodes a literal with Python's `unicode-escape` codec: `\/`, `\q` stay as
//!   written, `\a` and `\v` are control characters, `\N{NAME}` names a character, a
//!   backslash before a newline joins the lines, and a backslash before a non-ASCII
//!   character keeps the backslash plus that character's `\xNN` escape.
//! - In a template written in a playbook (not a template file), Ansible doubles every
//!   backslash of a string literal inside `{{ }}` before Jinja sees it, so that
//!   `regex_replace('(a)', '\\1')` means the same inside and outside the braces. `{% %}`
//!   tags and bare expressions (`when:`) are not doubled.
//!
//! [`prepare`] rewrites each literal as an equivalent one (same value, only `\\` and the
//! quote escaped), so minijinja's decoder produces exactly Jinja2's value.

use std::borrow::Cow;

/// Where a template source comes from, which decides whether literals are doubled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A string in a playbook, vars file or inventory: `{{ }}` literals are doubled.
    Playbook,
    /// A template file or a bare expression: literals are read as written.
    File,
}

/// A template source with every string literal in a tag rewritten for minijinja.
pub fn prepare(source: &str, origin: Origin) -> Cow<'_, str> {
    if (!source.contains('\\') && !may_call_lookup(source)) || !source.contains('{') {
        return Cow::Borrowed(source);
    }
    match rewrite_template(source, origin) {
        Some(s) => Cow::Owned(s),
        None => Cow::Borrowed(source),
    }
}

/// A bare expression (`when:`, `that:`) with its literals rewritten: nothing is doubled.
pub fn prepare_expression(expr: &str) -> Cow<'_, str> {
    if !expr.contains('\\') && !may_call_lookup(expr) {
        return Cow::Borrowed(expr);
    }
    let mut out = String::with_capacity(expr.len() + 8);
    match rewrite_code(expr, 0, Pass::Decode, &mut out, None) {
        Some(_) => Cow::Owned(out),
        None => Cow::Borrowed(expr),
    }
}

/// A bare expression with each string literal for which `f` gives a replacement value
/// rewritten to a literal of that value (`f` sees the literal's decoded value). `None`
/// when a literal is unterminated: the expression is then left for the engine to report.
pub fn map_expression_literals(
    expr: &str,
    f: &mut dyn FnMut(&str) -> Option<String>,
) -> Option<String> {
    let bytes = expr.as_bytes();
    let mut out = String::with_capacity(expr.len());
    let (mut i, mut copied) = (0, 0);
    while i < bytes.len() {
        if let q @ (b'\'' | b'"') = bytes[i] {
            let end = literal_end(bytes, i, q)?;
            let body = &expr[i + 1..end];
            let value = python_unescape(body).unwrap_or_else(|| body.to_string());
            if let Some(new) = f(&value) {
                out.push_str(&expr[copied..i]);
                push_literal(&mut out, &new, q as char);
                copied = end + 1;
            }
            i = end + 1;
            continue;
        }
        i += 1;
    }
    out.push_str(&expr[copied..]);
    Some(out)
}

/// The position just after the `}}` closing the `{{` tag that starts at the beginning of
/// `src`, found as Jinja2's lexer finds it (outside literals, brackets balanced).
pub fn print_tag_end(src: &str) -> Option<usize> {
    src.strip_prefix("{{")?;
    let mut sink = String::new();
    rewrite_code(src, 2, Pass::Scan, &mut sink, Some("}}"))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Find where a tag ends; change nothing.
    Scan,
    /// Re-write every literal as one minijinja decodes to Jinja2's value.
    Decode,
    /// As `Decode`, after doubling the literal's backslashes (within the literal as the
    /// lexer found it, so `'it\'s'` stays one literal).
    DoubleDecode,
}

/// `None` when the source has an unterminated tag or literal: it is then left for the
/// template engine to report.
fn rewrite_template(src: &str, origin: Origin) -> Option<String> {
    let mut out = String::with_capacity(src.len() + 16);
    let mut pos = 0;
    while let Some(off) = src[pos..].find('{') {
        let at = pos + off;
        let rest = &src[at..];
        if rest.starts_with("{#") {
            let end = rest.find("#}")? + 2;
            out.push_str(&src[pos..at + end]);
            pos = at + end;
        } else if let Some(len) = raw_begin(rest) {
            let body = &src[at + len..];
            let end = find_endraw(body)?;
            out.push_str(&src[pos..at + len + end]);
            pos = at + len + end;
        } else if rest.starts_with("{{") || rest.starts_with("{%") {
            let close = if rest.starts_with("{{") { "}}" } else { "%}" };
            let pass = if origin == Origin::Playbook && close == "}}" {
                Pass::DoubleDecode
            } else {
                Pass::Decode
            };
            out.push_str(&src[pos..at + 2]);
            pos = rewrite_code(src, at + 2, pass, &mut out, Some(close))?;
        } else {
            out.push_str(&src[pos..at + 1]);
            pos = at + 1;
        }
    }
    out.push_str(&src[pos..]);
    Some(out)
}

/// `{% raw %}` (with optional `-`/`+` whitespace control): its length.
fn raw_begin(s: &str) -> Option<usize> {
    let inner = s.strip_prefix("{%")?;
    let inner2 = inner.trim_start_matches(['-', '+']).trim_start();
    let after = inner2.strip_prefix("raw")?;
    let after2 = after.trim_start().trim_start_matches(['-', '+']);
    let tail = after2.strip_prefix("%}")?;
    Some(s.len() - tail.len())
}

/// The end of a raw block's `{% endraw %}` inside `body`.
fn find_endraw(body: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(off) = body[from..].find("{%") {
        let at = from + off;
        let inner = body[at + 2..].trim_start_matches(['-', '+']).trim_start();
        if let Some(after) = inner.strip_prefix("endraw") {
            let after2 = after.trim_start().trim_start_matches(['-', '+']);
            if let Some(tail) = after2.strip_prefix("%}") {
                return Some(body.len() - tail.len());
            }
        }
        from = at + 2;
    }
    None
}

/// The function a template literal given to `lookup()`/`query()` is wrapped in, so that it
/// is templated when the call is made (see [`rewrite_code`]).
pub const LOOKUP_TERM_FN: &str = "__play_lookup_term";

/// Whether the text may call a lookup with a literal that holds template syntax.
fn may_call_lookup(s: &str) -> bool {
    (s.contains("lookup(") || s.contains("query(") || s.contains("q("))
        && s.matches("{{").count() + s.matches("{%").count() > 1
}

/// For each bracket open in the code: whether it is the argument list of a `lookup`,
/// `query` or `q` call, and which argument the scan is in.
struct OpenBracket {
    lookup_call: bool,
    arg: usize,
}

/// Whether the code just before `at` names a lookup call (`lookup`, `query`, `q`, not as
/// an attribute or part of a longer name).
fn names_lookup(src: &str, at: usize) -> bool {
    let before = src[..at].trim_end();
    ["lookup", "query", "q"].iter().any(|n| {
        before.strip_suffix(n).is_some_and(|rest| {
            !rest
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
        })
    })
}

/// Whether the literal at `at` is a keyword argument's value (`default='...'`): those
/// are options of the lookup, not its terms.
fn keyword_value(src: &str, at: usize) -> bool {
    let before = src[..at].trim_end();
    before.ends_with('=')
        && !["==", "!=", "<=", ">="]
            .iter()
            .any(|op| before.ends_with(op))
}

/// Copy the code of one tag (from `start`, after its opening delimiter) to `out`, literals
/// rewritten; with `close`, stop after the closing delimiter at bracket depth zero (as
/// Jinja2's lexer balances brackets) and return the position after it.
fn rewrite_code(
    src: &str,
    start: usize,
    pass: Pass,
    out: &mut String,
    close: Option<&str>,
) -> Option<usize> {
    let bytes = src.as_bytes();
    let mut depth = 0usize;
    // Ansible templates the literal terms of a lookup call written in a template (never
    // the plugin's name, never values from variables): such literals are wrapped in
    // LOOKUP_TERM_FN, which templates them when the call is made.
    let mut open: Vec<OpenBracket> = Vec::new();
    let mut i = start;
    let mut copied = start;
    while i < bytes.len() {
        match bytes[i] {
            b @ (b'(' | b'[' | b'{') => {
                depth += 1;
                open.push(OpenBracket {
                    lookup_call: b == b'(' && names_lookup(src, i),
                    arg: 0,
                });
            }
            b')' | b']' | b'}' if depth > 0 => {
                depth -= 1;
                open.pop();
            }
            b',' => {
                if let Some(o) = open.last_mut() {
                    o.arg += 1;
                }
            }
            q @ (b'\'' | b'"') => {
                let end = literal_end(bytes, i, q)?;
                let body = &src[i + 1..end];
                out.push_str(&src[copied..i]);
                let term = pass != Pass::Scan
                    && open.last().is_some_and(|o| o.lookup_call && o.arg > 0)
                    && !keyword_value(src, i)
                    && (body.contains("{{") || body.contains("{%"));
                if term {
                    out.push_str(LOOKUP_TERM_FN);
                    out.push('(');
                }
                if !body.contains('\\') || pass == Pass::Scan {
                    out.push_str(&src[i..=end]);
                } else if let Some(value) = python_unescape(&if pass == Pass::DoubleDecode {
                    body.replace('\\', "\\\\")
                } else {
                    body.to_string()
                }) {
                    push_literal(out, &value, q as char);
                } else {
                    out.push_str(&src[i..=end]);
                }
                if term {
                    out.push(')');
                }
                i = end + 1;
                copied = i;
                continue;
            }
            _ => {
                if let Some(c) = close {
                    if depth == 0 && src[i..].starts_with(c) {
                        out.push_str(&src[copied..i + c.len()]);
                        return Some(i + c.len());
                    }
                }
            }
        }
        i += 1;
    }
    match close {
        Some(_) => None,
        None => {
            out.push_str(&src[copied..]);
            Some(src.len())
        }
    }
}

/// The index of the quote closing the literal that opens at `open`.
fn literal_end(bytes: &[u8], open: usize, q: u8) -> Option<usize> {
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            c if c == q => return Some(i),
            _ => i += 1,
        }
    }
    None
}

/// A literal minijinja decodes to `value`: only the backslash and the quote are escaped.
fn push_literal(out: &mut String, value: &str, q: char) {
    out.push(q);
    for c in value.chars() {
        if c == '\\' || c == q {
            out.push('\\');
        }
        out.push(c);
    }
    out.push(q);
}

/// Python's `s.encode('ascii', 'backslashreplace').decode('unicode-escape')`, after
/// Jinja2's newline normalisation. `None` where Python raises (a truncated `\x`, `\u`,
/// `\U` escape, an unknown `\N{}` name).
pub fn python_unescape(s: &str) -> Option<String> {
    let s = s.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(d) = chars.next() else {
            return None; // "\ at end of string"
        };
        match d {
            '\n' => {}
            '\\' | '\'' | '"' => out.push(d),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '0'..='7' => {
                let mut v = d.to_digit(8)?;
                for _ in 0..2 {
                    match chars.peek().and_then(|c| c.to_digit(8)) {
                        Some(n) => {
                            v = v * 8 + n;
                            chars.next();
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(v)?);
            }
            'x' | 'u' | 'U' => {
                let n = match d {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let mut v = 0u32;
                for _ in 0..n {
                    v = v * 16 + chars.next()?.to_digit(16)?;
                }
                out.push(char::from_u32(v)?);
            }
            // Character names need Unicode's name table; minijinja keeps `\N{..}` as
            // written instead.
            'N' => return None,
            c if !c.is_ascii() => {
                // backslashreplace turned the character into its escape; the backslash
                // before it then escaped that escape's own backslash.
                out.push('\\');
                let code = c as u32;
                match code {
                    0..=0xff => out.push_str(&format!("x{code:02x}")),
                    0x100..=0xffff => out.push_str(&format!("u{code:04x}")),
                    _ => out.push_str(&format!("U{code:08x}")),
                }
            }
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_escapes() {
        assert_eq!(python_unescape(r"a\tb").unwrap(), "a\tb");
        assert_eq!(python_unescape(r"\/\q\d").unwrap(), r"\/\q\d");
        assert_eq!(python_unescape(r"\a\v\101\x41").unwrap(), "\x07\x0bAA");
        assert_eq!(python_unescape("line\\\ncont").unwrap(), "linecont");
        assert_eq!(python_unescape("\\é").unwrap(), r"\xe9");
        assert_eq!(python_unescape(r"\x4"), None);
        assert_eq!(python_unescape(r"\1").unwrap(), "\x01");
    }

    #[test]
    fn playbook_templates_double_backslashes_in_print_tags_only() {
        let p = |s| prepare(s, Origin::Playbook).into_owned();
        assert_eq!(p(r"{{ '\1' }}"), r"{{ '\\1' }}");
        assert_eq!(p(r"{{ 'a\tb' }}"), r"{{ 'a\\tb' }}");
        assert_eq!(p(r"{% set x = 'a\tb' %}"), "{% set x = 'a\tb' %}");
        assert_eq!(
            p(r"x\y {{ {'k': {'z': 'p\q'}} }} \n"),
            r"x\y {{ {'k': {'z': 'p\\q'}} }} \n"
        );
        assert_eq!(
            p(r"{# '\t' #}{% raw %}{{ '\t' }}{% endraw %}"),
            r"{# '\t' #}{% raw %}{{ '\t' }}{% endraw %}"
        );
        // The literal keeps the bounds the lexer found before doubling.
        assert_eq!(p(r#"{{ "it\"s" }}"#), r#"{{ "it\\\"s" }}"#);
    }

    #[test]
    fn files_and_expressions_are_not_doubled() {
        assert_eq!(prepare(r"{{ '\q\a' }}", Origin::File), "{{ '\\\\q\x07' }}");
        assert_eq!(prepare_expression(r"'\t' | length"), "'\t' | length");
    }

    #[test]
    fn print_tags_end_where_jinja_ends_them() {
        assert_eq!(print_tag_end("{{ {'a': {'b': 1}} }}"), Some(21));
        assert_eq!(print_tag_end("{{ '}}' }} x"), Some(10));
        assert_eq!(print_tag_end("{{ x"), None);
    }

    #[test]
    fn unterminated_input_is_left_alone() {
        assert_eq!(prepare(r"{{ 'a\b }}", Origin::Playbook), r"{{ 'a\b }}");
        assert_eq!(
            prepare(r"{{ 'x' ~ '\' ~ 'y' }}", Origin::Playbook),
            r"{{ 'x' ~ '\' ~ 'y' }}"
        );
    }
}

//! Ansible's wording for a lookup that found nothing: `'name' is undefined` for a variable,
//! `object of type 'dict' has no attribute 'missing'` for a key or attribute of a value.
//! minijinja reports the undefined value, not the step that made it, so the variable
//! chains of the template (`foo.missing.deeper`, `foo['a'][0]`) are walked again to find
//! the step that failed.

use super::context::Context;
use super::filters::type_name;
use minijinja::value::Value as MjValue;
use std::sync::Arc;

thread_local! {
    /// The message of the last `undef(hint)` evaluated by this thread's current template.
    static UNDEF_HINT: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Ansible's message for an `undef()` without a hint.
const UNDEF_DEFAULT: &str = "Mandatory variable has not been overridden";

/// `undef(hint=None)`: an undefined value (a role default that callers must override,
/// `lookup(..., default=undef())`). Using it fails with the hint as the message; `default`
/// and `is defined` treat it as any undefined value.
pub fn undef_fn(
    hint: Option<MjValue>,
    kwargs: minijinja::value::Kwargs,
) -> Result<MjValue, minijinja::Error> {
    let hint = match hint {
        Some(h) => Some(h),
        None => kwargs.get::<Option<MjValue>>("hint")?,
    };
    kwargs.assert_all_used()?;
    let hint = match hint {
        None => None,
        Some(h) if h.is_none() => None,
        Some(h) => match h.as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                return Err(minijinja::Error::new(
                    minijinja::ErrorKind::InvalidOperation,
                    format!(
                        "The 'hint' argument must be of type 'str' or 'NoneType', not '{}'.",
                        type_name(&h)
                    ),
                ))
            }
        },
    };
    let msg = hint
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| UNDEF_DEFAULT.to_string());
    UNDEF_HINT.with(|u| *u.borrow_mut() = Some(msg));
    Ok(MjValue::UNDEFINED)
}

/// The hint of an `undef()` met since the last [`clear_undef_hint`], if any.
pub fn undef_hint() -> Option<String> {
    UNDEF_HINT.with(|u| u.borrow().clone())
}

pub fn clear_undef_hint() {
    UNDEF_HINT.with(|u| *u.borrow_mut() = None);
}

/// One step of a chain: `.name` / `['name']`, or `[3]`.
#[derive(Debug, PartialEq)]
enum Step {
    Key(String),
    Index(i64),
}

/// A chain written in a template: a variable name and the steps after it.
#[derive(Debug, PartialEq)]
struct Chain {
    root: String,
    steps: Vec<Step>,
}

/// The message for the first chain in `text` that fails at a step on a defined value.
/// With `inner_only`, a chain whose only missing step is its last is passed over (reading
/// a missing last key gives an undefined value, not an error, until the value is used).
pub fn chain_failure(ctx: &Arc<Context>, text: &str, inner_only: bool) -> Option<String> {
    for chain in chains(text) {
        let Some(mut v) = ctx.resolve(&chain.root) else {
            continue;
        };
        for (i, step) in chain.steps.iter().enumerate() {
            let next = match step {
                Step::Key(k) => v.get_attr(k).ok(),
                Step::Index(n) => v.get_item(&MjValue::from(*n)).ok(),
            }
            .filter(|n| !n.is_undefined());
            match next {
                Some(n) => v = n,
                None if inner_only && i + 1 == chain.steps.len() => break,
                None => {
                    let key = match step {
                        Step::Key(k) => format!("'{k}'"),
                        Step::Index(n) => n.to_string(),
                    };
                    return Some(format!(
                        "object of type '{}' has no attribute {key}",
                        type_name(&v)
                    ));
                }
            }
        }
    }
    None
}

const KEYWORDS: &[&str] = &[
    "and", "or", "not", "in", "is", "if", "else", "true", "false", "none", "True", "False", "None",
    "loop",
];

/// Every variable chain of at least one step in `text`, outside string literals.
fn chains(text: &str) -> Vec<Chain> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'\'' || c == b'"' {
            i = skip_literal(b, i);
            continue;
        }
        if !(c.is_ascii_alphabetic() || c == b'_') {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
            i += 1;
        }
        let prev = text[..start].trim_end().chars().last();
        if matches!(prev, Some('.' | '|')) || text[..start].trim_end().ends_with(" is") {
            continue; // an attribute, a filter or a test name
        }
        let root = &text[start..i];
        if KEYWORDS.contains(&root) {
            continue;
        }
        let (steps, end) = parse_steps(text, i);
        i = end;
        if !steps.is_empty() {
            out.push(Chain {
                root: root.to_string(),
                steps,
            });
        }
    }
    out
}

/// The steps after a name, up to the first thing that is not a plain step. A method call
/// (`.split(`) ends the chain before the method.
fn parse_steps(text: &str, mut i: usize) -> (Vec<Step>, usize) {
    let b = text.as_bytes();
    let mut steps = Vec::new();
    loop {
        let j = skip_ws(b, i);
        match b.get(j) {
            Some(b'.') => {
                let k = skip_ws(b, j + 1);
                let mut e = k;
                while e < b.len() && (b[e].is_ascii_alphanumeric() || b[e] == b'_') {
                    e += 1;
                }
                if e == k || b.get(skip_ws(b, e)) == Some(&b'(') {
                    return (steps, i);
                }
                let name = &text[k..e];
                match name.parse::<i64>() {
                    Ok(n) => steps.push(Step::Index(n)),
                    Err(_) => steps.push(Step::Key(name.to_string())),
                }
                i = e;
            }
            Some(b'[') => {
                let k = skip_ws(b, j + 1);
                let (step, e) = match b.get(k) {
                    Some(q @ (b'\'' | b'"')) => {
                        let end = skip_literal(b, k);
                        let body = &text[k + 1..end.saturating_sub(1).max(k + 1)];
                        if body.contains('\\') || b.get(end - 1) != Some(q) {
                            return (steps, i);
                        }
                        (Step::Key(body.to_string()), end)
                    }
                    Some(c) if c.is_ascii_digit() || *c == b'-' => {
                        let mut e = k + 1;
                        while e < b.len() && b[e].is_ascii_digit() {
                            e += 1;
                        }
                        match text[k..e].parse::<i64>() {
                            Ok(n) => (Step::Index(n), e),
                            Err(_) => return (steps, i),
                        }
                    }
                    _ => return (steps, i),
                };
                let close = skip_ws(b, e);
                if b.get(close) != Some(&b']') {
                    return (steps, i);
                }
                steps.push(step);
                i = close + 1;
            }
            _ => return (steps, i),
        }
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// The position after the literal opening at `i` (the end of text if it is unterminated).
fn skip_literal(b: &[u8], i: usize) -> usize {
    let q = b[i];
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            c if c == q => return j + 1,
            _ => j += 1,
        }
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<(String, usize)> {
        chains(text)
            .into_iter()
            .map(|c| (c.root, c.steps.len()))
            .collect()
    }

    #[test]
    fn finds_variable_chains() {
        assert_eq!(
            names("foo.missing.deeper | default('x') ~ bar['k'][0] ~ 'a.b'"),
            vec![("foo".into(), 2), ("bar".into(), 2)]
        );
        assert_eq!(names("x.split(',') | map('trim')"), vec![]);
        assert_eq!(names("y.a.split(',')"), vec![("y".into(), 1)]);
        assert_eq!(names("x is defined and x.y is none"), vec![("x".into(), 1)]);
    }
}

//! Ansible's filters (ansible.builtin and the common ones roles use), one small function each.
//!
//! Every filter takes Python-style arguments (positional or by keyword, see [`Args`]) and is
//! registered under its short name, `ansible.builtin.<name>` and, for the ones that live
//! there, `community.general.<name>`. Results follow Ansible's native types: lists stay
//! lists, numbers stay numbers, and text forms follow Python (`str()`, `json.dumps`,
//! PyYAML).

#[path = "pyfmt.rs"]
pub mod pyfmt;
#[path = "pyrandom.rs"]
pub mod pyrandom;

use base64::Engine as _;
use minijinja::value::{Kwargs, Rest, Value, ValueKind, ValueOrKwargs};
use minijinja::{Environment, Error, ErrorKind, State};
use pyfmt::{JsonOpts, YamlOpts};
use std::cmp::Ordering;

/// Python-style call arguments: positionals plus keywords.
pub struct Args {
    pub pos: Vec<Value>,
    pub kw: Vec<(String, Value)>,
}

impl Args {
    pub fn new(rest: Rest<ValueOrKwargs>) -> Args {
        let mut pos = Vec::new();
        let mut kw = Vec::new();
        for v in rest.0 {
            let v = v.into_value();
            if v.is_kwargs() {
                if let Ok(k) = Kwargs::try_from(v.clone()) {
                    for name in k.args() {
                        kw.push((name.to_string(), k.peek::<Value>(name).unwrap_or_default()));
                    }
                }
            } else {
                pos.push(v);
            }
        }
        Args { pos, kw }
    }

    /// The argument at position `i` or named `name`.
    pub fn get(&self, i: usize, name: &str) -> Option<Value> {
        self.kw
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| self.pos.get(i).cloned())
    }

    /// Like [`get`](Self::get), with `None` treated as absent.
    pub fn some(&self, i: usize, name: &str) -> Option<Value> {
        self.get(i, name)
            .filter(|v| !v.is_none() && !v.is_undefined())
    }

    pub fn str(&self, i: usize, name: &str) -> Option<String> {
        self.some(i, name).map(|v| pyfmt::to_str(&v))
    }

    pub fn flag(&self, i: usize, name: &str, default: bool) -> bool {
        self.some(i, name).map(|v| v.is_true()).unwrap_or(default)
    }

    pub fn int(&self, i: usize, name: &str) -> Result<Option<i64>, Error> {
        match self.some(i, name) {
            None => Ok(None),
            Some(v) => to_int(&v).map(Some).ok_or_else(|| {
                fail(format!(
                    "invalid integer argument {name}: {}",
                    pyfmt::repr(&v)
                ))
            }),
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.kw.iter().any(|(k, _)| k == name)
    }
}

/// An error with Ansible's wording.
pub fn fail(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

type FilterFn = fn(&State, Value, &Args) -> Result<Value, Error>;

/// Ansible reports a filter's own failure under the filter's name; undefined values (and
/// `mandatory`, which reports one) and other template errors pass through as they are.
pub(crate) fn plugin_error(name: &str, e: Error) -> Error {
    plugin_error_as("filter", name, e)
}

/// [`plugin_error`] for a plugin of the given kind (`filter`, `test`).
pub(crate) fn plugin_error_as(kind: &str, name: &str, e: Error) -> Error {
    if e.kind() != ErrorKind::InvalidOperation || name == "mandatory" {
        return e;
    }
    let detail = e
        .detail()
        .map(str::to_string)
        .unwrap_or_else(|| e.to_string());
    if detail.starts_with("The filter plugin ") || detail.starts_with("The test plugin ") {
        return e;
    }
    let name = if name.contains('.') {
        name.to_string()
    } else {
        format!("ansible.builtin.{name}")
    };
    Error::new(
        ErrorKind::InvalidOperation,
        format!("The {kind} plugin '{name}' failed: {detail}"),
    )
}

fn add(env: &mut Environment<'static>, names: &[&'static str], f: FilterFn, general: bool) {
    for name in names {
        let name: &'static str = name;
        let g = move |state: &State, v: Value, rest: Rest<ValueOrKwargs>| {
            f(state, v, &Args::new(rest)).map_err(|e| plugin_error(name, e))
        };
        env.add_filter(name.to_string(), g);
        env.add_filter(format!("ansible.builtin.{name}"), g);
        if general {
            env.add_filter(format!("community.general.{name}"), g);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Value helpers shared with tests.rs and lookups.rs.

pub fn is_str(v: &Value) -> bool {
    v.kind() == ValueKind::String
}
pub fn is_map(v: &Value) -> bool {
    v.kind() == ValueKind::Map
}
pub fn is_seq(v: &Value) -> bool {
    matches!(v.kind(), ValueKind::Seq | ValueKind::Iterable)
}

/// Items of an iterable (a string gives its characters, a mapping its keys).
pub fn items(v: &Value) -> Result<Vec<Value>, Error> {
    if v.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    match v.try_iter() {
        Ok(it) => Ok(it.collect()),
        Err(_) => Err(fail(format!("'{}' object is not iterable", type_name(v)))),
    }
}

/// Python's type name of a value.
pub fn type_name(v: &Value) -> &'static str {
    match v.kind() {
        ValueKind::Undefined => "AnsibleUndefined",
        ValueKind::None => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number => {
            if v.is_integer() {
                "int"
            } else {
                "float"
            }
        }
        ValueKind::String => "str",
        ValueKind::Bytes => "bytes",
        ValueKind::Seq | ValueKind::Iterable => "list",
        ValueKind::Map => "dict",
        _ => "object",
    }
}

pub fn to_int(v: &Value) -> Option<i64> {
    match v.kind() {
        ValueKind::Bool => Some(v.is_true() as i64),
        ValueKind::Number => {
            if v.is_integer() {
                v.as_i64()
            } else {
                f64::try_from(v.clone())
                    .ok()
                    .filter(|f| f.is_finite())
                    .map(|f| f.trunc() as i64)
            }
        }
        ValueKind::String => py_int_str(v.as_str().unwrap_or_default(), 10),
        _ => None,
    }
}

pub fn to_f64(v: &Value) -> Option<f64> {
    match v.kind() {
        ValueKind::Bool => Some(v.is_true() as i64 as f64),
        ValueKind::Number => f64::try_from(v.clone()).ok(),
        ValueKind::String => py_float_str(v.as_str().unwrap_or_default()),
        _ => None,
    }
}

/// Python's `int(s, base)`.
fn py_int_str(s: &str, base: u32) -> Option<i64> {
    let t = s.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let mut base = base;
    let mut body = t;
    let lower = t.to_ascii_lowercase();
    for (p, b) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if lower.starts_with(p) && (base == b || base == 0) {
            body = &t[2..];
            base = b;
        }
    }
    if base == 0 {
        base = 10;
    }
    if body.is_empty() || body.starts_with('_') || body.ends_with('_') || body.contains("__") {
        return None;
    }
    let digits: String = body.chars().filter(|&c| c != '_').collect();
    i64::from_str_radix(&digits, base)
        .ok()
        .map(|n| if neg { -n } else { n })
}

/// Python's `float(s)`.
fn py_float_str(s: &str) -> Option<f64> {
    let t = s.trim().replace('_', "");
    match t.to_ascii_lowercase().trim_start_matches(['+', '-']) {
        "inf" | "infinity" => {
            return Some(if t.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            })
        }
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    if t.is_empty() || !t.chars().all(|c| c.is_ascii_digit() || "+-.eE".contains(c)) {
        return None;
    }
    t.parse::<f64>().ok()
}

/// A map value from key/value pairs, in order.
pub fn map_from(pairs: Vec<(Value, Value)>) -> Value {
    Value::from_pairs(pairs)
}

fn map_pairs(v: &Value) -> Vec<(Value, Value)> {
    items(v)
        .unwrap_or_default()
        .into_iter()
        .map(|k| {
            let val = v.get_item(&k).unwrap_or_default();
            (k, val)
        })
        .collect()
}

fn attr_path(v: &Value, attr: &str) -> Value {
    let mut cur = v.clone();
    for part in attr.split('.') {
        cur = match part.parse::<usize>() {
            Ok(i) if is_seq(&cur) => cur.get_item_by_index(i).unwrap_or_default(),
            _ => cur.get_attr(part).unwrap_or_default(),
        };
    }
    cur
}

fn lower_key(v: &Value, case_sensitive: bool) -> Value {
    if !case_sensitive {
        if let Some(s) = v.as_str() {
            return Value::from(s.to_lowercase());
        }
    }
    v.clone()
}

/// Python-like ordering: numbers by value, strings by code point, lists item by item.
pub fn py_cmp(a: &Value, b: &Value) -> Ordering {
    a.cmp(b)
}

fn seq_contains(list: &[Value], x: &Value) -> bool {
    list.iter().any(|y| y == x)
}

fn unique_values(list: Vec<Value>, case_sensitive: bool) -> Vec<Value> {
    let mut seen: Vec<Value> = Vec::new();
    let mut out = Vec::new();
    for x in list {
        let k = lower_key(&x, case_sensitive);
        if !seq_contains(&seen, &k) {
            seen.push(k);
            out.push(x);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Defaults, types and conversions.

/// `default(value='', boolean=False)`: the value unless undefined (or falsy with boolean).
fn default(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let dflt = a.get(0, "default_value").unwrap_or_else(|| Value::from(""));
    if v.is_undefined() {
        // An undefined value given a default is dealt with: its undef() hint is spent.
        super::undefined::clear_undef_hint();
    }
    if v.is_undefined() || (a.flag(1, "boolean", false) && !v.is_true()) {
        Ok(dflt)
    } else {
        Ok(v)
    }
}

/// `mandatory(msg=None)`: fail when undefined.
fn mandatory(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    if v.is_undefined() {
        if let Some(msg) = a.str(0, "msg") {
            return Err(fail(msg));
        }
        return Err(fail(MANDATORY_UNNAMED));
    }
    Ok(v)
}

/// Ansible's wording when the variable's name is unknown; minijinja does not tell a filter
/// which expression produced an undefined value, so [`mandatory_message`] recovers it.
pub const MANDATORY_UNNAMED: &str = "Mandatory variable  not defined.";

/// For an error raised by `mandatory` without a message, Ansible's text with the variable
/// named (`Mandatory variable 'x' not defined.`), read from the template source in front of
/// the filter call. `None` for any other error.
pub fn mandatory_message(err: &Error) -> Option<String> {
    if err.detail() != Some(MANDATORY_UNNAMED) {
        return None;
    }
    let src = err.template_source()?;
    let range = err.range()?;
    let before = src.get(..range.start)?.trim_end();
    let before = before.strip_suffix('|')?.trim_end();
    let start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || *c == '_' || *c == '.')
        .last()
        .map(|(i, _)| i)?;
    let name = &before[start..];
    (!name.is_empty()).then(|| format!("Mandatory variable '{name}' not defined."))
}

/// Ansible's boolean reading: true for True, 1, 1.0 and 'yes'/'on'/'true'/'1' in any case.
pub fn ansible_bool(v: &Value) -> bool {
    match v.kind() {
        ValueKind::Bool => v.is_true(),
        ValueKind::Number => to_f64(v) == Some(1.0),
        ValueKind::String => {
            matches!(
                v.as_str().unwrap_or_default().to_lowercase().as_str(),
                "yes" | "on" | "true" | "1"
            )
        }
        _ => false,
    }
}

fn bool_f(_: &State, v: Value, _: &Args) -> Result<Value, Error> {
    Ok(Value::from(ansible_bool(&v)))
}

/// Jinja's `int(default=0, base=10)`.
fn int_f(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let dflt = a.get(0, "default").unwrap_or(Value::from(0));
    let base = a.int(1, "base")?.unwrap_or(10) as u32;
    let r = match v.kind() {
        ValueKind::String => {
            let s = v.as_str().unwrap_or_default();
            py_int_str(s, base).or_else(|| {
                py_float_str(s)
                    .filter(|f| f.is_finite())
                    .map(|f| f.trunc() as i64)
            })
        }
        _ => to_int(&v),
    };
    Ok(r.map(Value::from).unwrap_or(dflt))
}

fn float_f(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let dflt = a.get(0, "default").unwrap_or(Value::from(0.0));
    Ok(to_f64(&v).map(Value::from).unwrap_or(dflt))
}

fn string_f(_: &State, v: Value, _: &Args) -> Result<Value, Error> {
    Ok(Value::from(pyfmt::to_str(&v)))
}

fn type_debug(_: &State, v: Value, _: &Args) -> Result<Value, Error> {
    Ok(Value::from(type_name(&v)))
}

fn list_f(_: &State, v: Value, _: &Args) -> Result<Value, Error> {
    Ok(Value::from(items(&v)?))
}

// ---------------------------------------------------------------------------------------
// Strings.

fn text(v: &Value) -> Result<String, Error> {
    if v.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    Ok(pyfmt::to_str(v))
}

fn lower(_: &State, v: Value, _: &Args) -> Result<Value, Error> {
    Ok(Value::from(text(&v)?.to_lowercase()))
}
fn upper(_: &State, v: Value, _: &Args) -> Result<Value, Error> {
    Ok(Value::from(text(&v)?.to_uppercase()))
}
fn capitalize(_: &State, v: Value, _: &Args) -> Result<Value, Error> {
    let s = text(&v)?;
    let mut c = s.chars();
    Ok(Value::from(match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + &c.as_str().to_lowercase(),
        None => String::new(),
    }))
}
/// Jinja's title: words start after `-`, whitespace, and opening brackets.
fn title(_: &State, v: Value, _: &Args) -> Result<Value, Error> {
    let s = text(&v)?;
    let mut out = String::new();
    let mut start = true;
    for c in s.chars() {
        if c == '-' || c.is_whitespace() || "({[<".contains(c) {
            start = true;
            out.push(c);
        } else if start {
            out.extend(c.to_uppercase());
            start = false;
        } else {
            out.extend(c.to_lowercase());
        }
    }
    Ok(Value::from(out))
}

fn replace(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let s = text(&v)?;
    let old = a.str(0, "old").unwrap_or_default();
    let new = a.str(1, "new").unwrap_or_default();
    let count = a.int(2, "count")?.unwrap_or(-1);
    Ok(Value::from(if count < 0 {
        s.replace(&old, &new)
    } else {
        s.replacen(&old, &new, count as usize)
    }))
}

/// Python's `str.strip(chars)`.
fn trim(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let s = text(&v)?;
    Ok(Value::from(match a.str(0, "chars") {
        Some(chars) => s.trim_matches(|c| chars.contains(c)).to_string(),
        None => s.trim().to_string(),
    }))
}

/// Python's `str.split(sep=None, maxsplit=-1)`.
pub fn py_split(s: &str, sep: Option<&str>, maxsplit: i64) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    match sep {
        Some("") => return Err(fail("empty separator")),
        Some(sep) => {
            let mut rest = s;
            while maxsplit < 0 || (out.len() as i64) < maxsplit {
                match rest.find(sep) {
                    Some(i) => {
                        out.push(rest[..i].to_string());
                        rest = &rest[i + sep.len()..];
                    }
                    None => break,
                }
            }
            out.push(rest.to_string());
        }
        None => {
            let mut rest = s.trim_start();
            while !rest.is_empty() {
                if maxsplit >= 0 && out.len() as i64 >= maxsplit {
                    out.push(rest.trim_end().to_string());
                    break;
                }
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                out.push(rest[..end].to_string());
                rest = rest[end..].trim_start();
            }
        }
    }
    Ok(out)
}

fn split(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let s = text(&v)?;
    let sep = a.str(0, "sep");
    let max = a.int(1, "maxsplit")?.unwrap_or(-1);
    Ok(Value::from(py_split(&s, sep.as_deref(), max)?))
}

fn join(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let sep = a.str(0, "d").unwrap_or_default();
    let attr = a.str(1, "attribute");
    let parts: Vec<String> = items(&v)?
        .iter()
        .map(|x| {
            pyfmt::to_str(
                &attr
                    .as_ref()
                    .map(|at| attr_path(x, at))
                    .unwrap_or_else(|| x.clone()),
            )
        })
        .collect();
    Ok(Value::from(parts.join(&sep)))
}

fn length(_: &State, v: Value, _: &Args) -> Result<Value, Error> {
    if v.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    match v.kind() {
        ValueKind::String => Ok(Value::from(v.as_str().unwrap_or_default().chars().count())),
        ValueKind::Map | ValueKind::Seq | ValueKind::Iterable => Ok(Value::from(items(&v)?.len())),
        _ => Err(fail(format!(
            "object of type '{}' has no len()",
            type_name(&v)
        ))),
    }
}

fn quote(_: &State, v: Value, _: &Args) -> Result<Value, Error> {
    let s = if v.is_none() {
        String::new()
    } else {
        text(&v)?
    };
    Ok(Value::from(shell_quote(&s)))
}

/// Python's `shlex.quote`.
pub fn shell_quote(s: &str) -> String {
    if s.is_empty() {
        return "''".into();
    }
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\"'\"'"))
}

fn comment(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let s = text(&v)?;
    let style = a.str(0, "style").unwrap_or_else(|| "plain".into());
    let (beginning, decoration, end) = match style.as_str() {
        "plain" => ("", "# ", ""),
        "erlang" => ("", "% ", ""),
        "c" => ("", "// ", ""),
        "cblock" => ("/*", " * ", " */"),
        "xml" => ("<!--", " - ", "-->"),
        other => return Err(fail(format!("comment: unknown style '{other}'"))),
    };
    let kw = |k: &str| {
        a.kw.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| pyfmt::to_str(v))
    };
    let deco = kw("decoration").unwrap_or_else(|| decoration.to_string());
    let newline = kw("newline").unwrap_or_else(|| "\n".into());
    let beginning = kw("beginning").unwrap_or_else(|| beginning.into());
    let prefix = kw("prefix").unwrap_or_else(|| deco.trim_end().to_string());
    let prefix_count: usize = kw("prefix_count").and_then(|s| s.parse().ok()).unwrap_or(1);
    let postfix = kw("postfix").unwrap_or_else(|| deco.trim_end().to_string());
    let postfix_count: usize = kw("postfix_count")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let end = kw("end").unwrap_or_else(|| end.into());
    let mut out = String::new();
    if !beginning.is_empty() {
        out.push_str(&beginning);
        out.push_str(&newline);
    }
    if !prefix.is_empty() {
        let one = if prefix != newline {
            format!("{prefix}{newline}")
        } else {
            newline.clone()
        };
        out.push_str(&one.repeat(prefix_count));
    }
    let lines: Vec<String> = s
        .split(newline.as_str())
        .map(|l| {
            if l.is_empty() {
                deco.trim_end().to_string()
            } else {
                format!("{deco}{l}")
            }
        })
        .collect();
    out.push_str(&lines.join(&newline));
    if !postfix.is_empty() {
        let one = if postfix != newline {
            format!("{newline}{postfix}")
        } else {
            newline.clone()
        };
        out.push_str(&one.repeat(postfix_count));
    }
    if !end.is_empty() {
        out.push_str(&newline);
        out.push_str(&end);
    }
    Ok(Value::from(out))
}

/// Jinja's `truncate(length=255, killwords=False, end='...', leeway=5)`.
fn truncate(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let s = text(&v)?;
    let length = a.int(0, "length")?.unwrap_or(255).max(0) as usize;
    let killwords = a.flag(1, "killwords", false);
    let end = a.str(2, "end").unwrap_or_else(|| "...".into());
    let leeway = a.int(3, "leeway")?.unwrap_or(5).max(0) as usize;
    let chars: Vec<char> = s.chars().collect();
    if chars.len() <= length + leeway {
        return Ok(Value::from(s));
    }
    let keep: String = chars[..length.saturating_sub(end.chars().count())]
        .iter()
        .collect();
    if killwords {
        return Ok(Value::from(keep + &end));
    }
    let cut = match keep.rfind(' ') {
        Some(i) => keep[..i].to_string(),
        None => keep,
    };
    Ok(Value::from(cut + &end))
}

/// Jinja's `wordcount`: the number of `\w+` runs.
fn wordcount(_: &State, v: Value, _: &Args) -> Result<Value, Error> {
    let s = text(&v)?;
    let mut n = 0;
    let mut in_word = false;
    for c in s.chars() {
        let w = c.is_alphanumeric() || c == '_';
        if w && !in_word {
            n += 1;
        }
        in_word = w;
    }
    Ok(Value::from(n))
}

/// Python's `str.center(width)`.
fn center(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let s = text(&v)?;
    let width = a.int(0, "width")?.unwrap_or(80).max(0) as usize;
    let len = s.chars().count();
    if width <= len {
        return Ok(Value::from(s));
    }
    let pad = width - len;
    let left = pad / 2 + (pad & width & 1);
    Ok(Value::from(format!(
        "{}{s}{}",
        " ".repeat(left),
        " ".repeat(pad - left)
    )))
}

fn ternary(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let t = a.get(0, "true_val").unwrap_or(Value::from(true));
    let f = a.get(1, "false_val").unwrap_or(Value::from(false));
    if v.is_none() {
        if let Some(n) = a.some(2, "none_val") {
            return Ok(n);
        }
    }
    Ok(if v.is_true() { t } else { f })
}

// ---------------------------------------------------------------------------------------
// Regular expressions (Python `re` syntax mapped onto the regex crate).

/// A compiled Python `re` pattern: the regex crate when it can, fancy-regex for what only
/// backtracking supports (lookaround, backreferences).
pub enum PyRegex {
    Std(regex::Regex),
    Fancy(fancy_regex::Regex),
}

/// One match: every group's text (`None` when it did not take part), group 0 first.
pub type Groups = Vec<Option<String>>;

impl PyRegex {
    pub fn is_match(&self, s: &str) -> bool {
        match self {
            PyRegex::Std(r) => r.is_match(s),
            PyRegex::Fancy(r) => r.is_match(s).unwrap_or(false),
        }
    }

    /// Number of capture groups, group 0 excluded.
    pub fn groups(&self) -> usize {
        match self {
            PyRegex::Std(r) => r.captures_len() - 1,
            PyRegex::Fancy(r) => r.captures_len() - 1,
        }
    }

    /// The index of a named group.
    pub fn group_index(&self, name: &str) -> Option<usize> {
        match self {
            PyRegex::Std(r) => r.capture_names().position(|n| n == Some(name)),
            PyRegex::Fancy(r) => r.capture_names().position(|n| n == Some(name)),
        }
    }

    /// Every non-overlapping match with its groups and byte range.
    pub fn matches(&self, s: &str) -> Result<Vec<(std::ops::Range<usize>, Groups)>, Error> {
        let mut out = Vec::new();
        match self {
            PyRegex::Std(r) => {
                for c in r.captures_iter(s) {
                    let whole = c.get(0).map(|m| m.range()).unwrap_or(0..0);
                    out.push((
                        whole,
                        c.iter()
                            .map(|m| m.map(|m| m.as_str().to_string()))
                            .collect(),
                    ));
                }
            }
            PyRegex::Fancy(r) => {
                for c in r.captures_iter(s) {
                    let c = c.map_err(|e| fail(format!("regular expression failed: {e}")))?;
                    let whole = c.get(0).map(|m| m.range()).unwrap_or(0..0);
                    out.push((
                        whole,
                        c.iter()
                            .map(|m| m.map(|m| m.as_str().to_string()))
                            .collect(),
                    ));
                }
            }
        }
        Ok(out)
    }
}

/// Python spellings the Rust engines write differently: `\Z` and `(?P=name)`.
fn translate_py_pattern(pat: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = pat.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\\' && i + 1 < chars.len() {
            if chars[i + 1] == 'Z' {
                out.push_str("\\z");
            } else {
                out.push(chars[i]);
                out.push(chars[i + 1]);
            }
            i += 2;
            continue;
        }
        if chars[i..].starts_with(&['(', '?', 'P', '=']) {
            if let Some(close) = chars[i + 4..].iter().position(|&c| c == ')') {
                let name: String = chars[i + 4..i + 4 + close].iter().collect();
                out.push_str(&format!("\\k<{name}>"));
                i += 5 + close;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// A compiled Python-flavoured regex with Ansible's `ignorecase`/`multiline` flags.
pub fn py_regex(pat: &str, ignorecase: bool, multiline: bool) -> Result<PyRegex, Error> {
    let pat = translate_py_pattern(pat);
    let mut b = regex::RegexBuilder::new(&pat);
    b.case_insensitive(ignorecase).multi_line(multiline);
    match b.build() {
        Ok(r) => Ok(PyRegex::Std(r)),
        Err(std_err) => {
            let flags = match (ignorecase, multiline) {
                (false, false) => "",
                (true, false) => "(?i)",
                (false, true) => "(?m)",
                (true, true) => "(?im)",
            };
            fancy_regex::Regex::new(&format!("{flags}{pat}"))
                .map(PyRegex::Fancy)
                .map_err(|_| match python_regex_error(&pat) {
                    Some(m) => fail(m),
                    None => fail(format!(
                        "Invalid regular expression {}: {std_err}",
                        pyfmt::str_repr(&pat)
                    )),
                })
        }
    }
}

/// Python's `re.error` text for the malformed patterns it names the same way every time
/// (a repeat with nothing before it, an unclosed or unopened group, an unclosed set).
fn python_regex_error(pat: &str) -> Option<String> {
    let c: Vec<char> = pat.chars().collect();
    let mut open: Vec<usize> = Vec::new();
    // What precedes: nothing repeatable, an atom, or a repeat (which takes a lazy `?`).
    #[derive(PartialEq)]
    enum Prev {
        Nothing,
        Atom,
        Repeat,
    }
    let mut prev = Prev::Nothing;
    let mut i = 0;
    while i < c.len() {
        match c[i] {
            '\\' => {
                i += 2;
                prev = Prev::Atom;
                continue;
            }
            '[' => {
                let start = i;
                let mut j = i + 1;
                if c.get(j) == Some(&'^') {
                    j += 1;
                }
                if c.get(j) == Some(&']') {
                    j += 1;
                }
                loop {
                    match c.get(j) {
                        None => {
                            return Some(format!("unterminated character set at position {start}"))
                        }
                        Some('\\') => j += 2,
                        Some(']') => break,
                        Some(_) => j += 1,
                    }
                }
                i = j + 1;
                prev = Prev::Atom;
                continue;
            }
            '(' => {
                open.push(i);
                i += 1;
                if c.get(i) == Some(&'?') {
                    i += 1;
                    match c.get(i) {
                        Some(':' | '=' | '!') => i += 1,
                        Some('<') if matches!(c.get(i + 1), Some('=' | '!')) => i += 2,
                        Some('P' | '<') => {
                            while i < c.len() && c[i] != '>' && c[i] != ')' {
                                i += 1;
                            }
                            if c.get(i) == Some(&'>') {
                                i += 1;
                            }
                        }
                        _ => {}
                    }
                }
                prev = Prev::Nothing;
                continue;
            }
            ')' => {
                if open.pop().is_none() {
                    return Some(format!("unbalanced parenthesis at position {i}"));
                }
                prev = Prev::Atom;
            }
            '|' => prev = Prev::Nothing,
            '*' | '+' | '?' => match prev {
                Prev::Nothing => return Some(format!("nothing to repeat at position {i}")),
                Prev::Repeat if c[i] != '?' && c[i] != '+' => {
                    return Some(format!("multiple repeat at position {i}"))
                }
                Prev::Repeat => prev = Prev::Atom,
                Prev::Atom => prev = Prev::Repeat,
            },
            '^' | '$' => prev = Prev::Atom,
            _ => prev = Prev::Atom,
        }
        i += 1;
    }
    open.last()
        .map(|p| format!("missing ), unterminated subpattern at position {p}"))
}

/// Python's `match.expand(template)`: `\1`, `\g<1>`, `\g<name>` and character escapes.
fn py_expand(re: &PyRegex, rep: &str, groups: &Groups) -> Result<String, Error> {
    let mut out = String::new();
    let chars: Vec<char> = rep.chars().collect();
    let group = |i: usize| -> Result<String, Error> {
        if i >= groups.len() {
            return Err(fail(format!("invalid group reference {i}")));
        }
        Ok(groups[i].clone().unwrap_or_default())
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '\\' || i + 1 >= chars.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let n = chars[i + 1];
        if n.is_ascii_digit() {
            let mut j = i + 1;
            while j < chars.len() && j < i + 3 && chars[j].is_ascii_digit() {
                j += 1;
            }
            let num: usize = chars[i + 1..j]
                .iter()
                .collect::<String>()
                .parse()
                .unwrap_or(0);
            out.push_str(&group(num)?);
            i = j;
            continue;
        }
        if n == 'g' && chars.get(i + 2) == Some(&'<') {
            let close = chars[i + 3..]
                .iter()
                .position(|&c| c == '>')
                .ok_or_else(|| fail("missing >, unterminated name"))?;
            let name: String = chars[i + 3..i + 3 + close].iter().collect();
            let idx = match name.parse::<usize>() {
                Ok(k) => k,
                Err(_) => re
                    .group_index(&name)
                    .ok_or_else(|| fail(format!("unknown group name '{name}'")))?,
            };
            out.push_str(&group(idx)?);
            i += 4 + close;
            continue;
        }
        match n {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'f' => out.push('\u{c}'),
            'v' => out.push('\u{b}'),
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            '\\' => out.push('\\'),
            other if other.is_ascii_alphabetic() => {
                return Err(fail(format!("bad escape \\{other}")))
            }
            other => {
                out.push('\\');
                out.push(other)
            }
        }
        i += 2;
    }
    Ok(out)
}

fn regex_replace(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let s = text(&v)?;
    let pat = a.str(0, "pattern").unwrap_or_default();
    let rep = a.str(1, "replacement").unwrap_or_default();
    let re = py_regex(
        &pat,
        a.flag(2, "ignorecase", false),
        a.flag(3, "multiline", false),
    )?;
    let count = a.int(4, "count")?.unwrap_or(0).max(0) as usize;
    let mandatory = a.int(5, "mandatory_count")?.unwrap_or(0);
    let mut matches = re.matches(&s)?;
    if mandatory > 0 && matches.len() as i64 != mandatory {
        return Err(fail(format!(
            "'{pat}' should match {mandatory} times, but matches {} times in '{s}'",
            matches.len()
        )));
    }
    if count > 0 {
        matches.truncate(count);
    }
    let mut out = String::new();
    let mut last = 0;
    for (range, groups) in &matches {
        out.push_str(&s[last..range.start]);
        out.push_str(&py_expand(&re, &rep, groups)?);
        last = range.end;
    }
    out.push_str(&s[last..]);
    Ok(Value::from(out))
}

fn regex_search(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    enum Group {
        Name(String),
        Num(usize),
    }
    let s = text(&v)?;
    let pat = a.str(0, "regex").unwrap_or_default();
    // Ansible reads the group arguments before it compiles the pattern: `\g<name>` and
    // `\<digits>` by their prefix, anything else after a backslash fails on a match that
    // did not happen.
    let no_match = || fail("'NoneType' object has no attribute 'group'");
    let mut wanted = Vec::new();
    for g in a.pos.iter().skip(1) {
        let g = pyfmt::to_str(g);
        if let Some(rest) = g.strip_prefix("\\g") {
            let run: String = rest
                .strip_prefix('<')
                .ok_or_else(no_match)?
                .chars()
                .take_while(|c| !c.is_whitespace())
                .collect();
            match run.rfind('>') {
                Some(end) if end > 0 => wanted.push(Group::Name(run[..end].to_string())),
                _ => return Err(no_match()),
            }
        } else if let Some(rest) = g.strip_prefix('\\') {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            wanted.push(Group::Num(digits.parse::<usize>().map_err(|_| no_match())?));
        } else {
            return Err(fail("Unknown argument"));
        }
    }
    let re = py_regex(
        &pat,
        a.flag(99, "ignorecase", false),
        a.flag(99, "multiline", false),
    )?;
    let Some((_, groups)) = re.matches(&s)?.into_iter().next() else {
        return Ok(Value::from(()));
    };
    if wanted.is_empty() {
        return Ok(Value::from(groups[0].clone().unwrap_or_default()));
    }
    let mut out = Vec::new();
    for w in wanted {
        let n = match w {
            Group::Num(n) => n,
            Group::Name(name) => re.group_index(&name).ok_or_else(|| fail("no such group"))?,
        };
        let g = groups.get(n).ok_or_else(|| fail("no such group"))?;
        out.push(g.clone().map(Value::from).unwrap_or(Value::from(())));
    }
    Ok(Value::from(out))
}

fn regex_findall(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let s = text(&v)?;
    let pat = a.str(0, "regex").unwrap_or_default();
    let re = py_regex(
        &pat,
        a.flag(2, "ignorecase", false),
        a.flag(1, "multiline", false),
    )?;
    let ngroups = re.groups();
    let out: Vec<Value> = re
        .matches(&s)?
        .into_iter()
        .map(|(_, c)| {
            let g = |i: usize| Value::from(c[i].clone().unwrap_or_default());
            match ngroups {
                0 => g(0),
                1 => g(1),
                n => Value::from((1..=n).map(g).collect::<Vec<_>>()),
            }
        })
        .collect();
    Ok(Value::from(out))
}

fn regex_escape(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let s = text(&v)?;
    let kind = a.str(0, "re_type").unwrap_or_else(|| "python".into());
    let special: &str = match kind.as_str() {
        "python" => "()[]{}?*+-|^$\\.&~# \t\n\r\u{b}\u{c}",
        "posix_basic" => "[].^$*\\",
        "posix_extended" => return Err(fail("Regex type (posix_extended) not yet implemented")),
        other => return Err(fail(format!("Invalid regex type ({other})"))),
    };
    let mut out = String::new();
    for c in s.chars() {
        if special.contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(Value::from(out))
}

// ---------------------------------------------------------------------------------------
// Lists.

fn first(_: &State, v: Value, _: &Args) -> Result<Value, Error> {
    Ok(items(&v)?.into_iter().next().unwrap_or_default())
}
fn last(_: &State, v: Value, _: &Args) -> Result<Value, Error> {
    Ok(items(&v)?.into_iter().last().unwrap_or_default())
}

fn minmax(v: &Value, a: &Args, want: Ordering) -> Result<Value, Error> {
    let attr = a.str(99, "attribute");
    let cs = a.flag(99, "case_sensitive", false);
    let list = items(v)?;
    let key = |x: &Value| {
        lower_key(
            &attr
                .as_ref()
                .map(|at| attr_path(x, at))
                .unwrap_or_else(|| x.clone()),
            cs,
        )
    };
    let mut best: Option<Value> = None;
    for x in list {
        best = match best {
            None => Some(x),
            Some(b) => Some(if py_cmp(&key(&x), &key(&b)) == want {
                x
            } else {
                b
            }),
        };
    }
    Ok(best.unwrap_or_default())
}
fn min(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    minmax(&v, a, Ordering::Less)
}
fn max(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    minmax(&v, a, Ordering::Greater)
}

fn add_values(a: &Value, b: &Value) -> Result<Value, Error> {
    if a.is_integer() && b.is_integer() {
        if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
            if let Some(s) = x.checked_add(y) {
                return Ok(Value::from(s));
            }
        }
    }
    match (a.kind(), b.kind()) {
        (ValueKind::Number | ValueKind::Bool, ValueKind::Number | ValueKind::Bool) => Ok(
            Value::from(to_f64(a).unwrap_or(0.0) + to_f64(b).unwrap_or(0.0)),
        ),
        (ValueKind::Seq, ValueKind::Seq) => {
            let mut l = items(a)?;
            l.extend(items(b)?);
            Ok(Value::from(l))
        }
        _ => Err(fail(format!(
            "unsupported operand type(s) for +: '{}' and '{}'",
            type_name(a),
            type_name(b)
        ))),
    }
}

fn sum(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let attr = a.str(0, "attribute");
    let mut total = a.get(1, "start").unwrap_or(Value::from(0));
    for x in items(&v)? {
        let x = attr.as_ref().map(|at| attr_path(&x, at)).unwrap_or(x);
        total = add_values(&total, &x)?;
    }
    Ok(total)
}

fn sort(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let reverse = a.flag(0, "reverse", false);
    let cs = a.flag(1, "case_sensitive", false);
    let attrs: Vec<String> = a
        .str(2, "attribute")
        .map(|s| s.split(',').map(|x| x.trim().to_string()).collect())
        .unwrap_or_default();
    let mut list = items(&v)?;
    let key = |x: &Value| -> Vec<Value> {
        if attrs.is_empty() {
            vec![lower_key(x, cs)]
        } else {
            attrs
                .iter()
                .map(|at| lower_key(&attr_path(x, at), cs))
                .collect()
        }
    };
    list.sort_by(|x, y| {
        let o = key(x)
            .iter()
            .zip(key(y).iter())
            .map(|(p, q)| py_cmp(p, q))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal);
        if reverse {
            o.reverse()
        } else {
            o
        }
    });
    Ok(Value::from(list))
}

fn unique(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let cs = a.flag(0, "case_sensitive", false);
    let attr = a.str(1, "attribute");
    let list = items(&v)?;
    // Jinja's unique hashes the items; Ansible's own fallback (which takes unhashable
    // items) is not allowed with an explicit case_sensitive=False or an attribute.
    let explicit_insensitive = a.get(0, "case_sensitive").is_some_and(|c| !c.is_true());
    if explicit_insensitive || attr.is_some() {
        let unhashable = list
            .iter()
            .map(|x| match &attr {
                Some(at) => x.get_attr(at).unwrap_or_default(),
                None => x.clone(),
            })
            .find(|key| is_map(key) || is_seq(key) && !is_str(key));
        if let Some(key) = unhashable {
            return Err(fail(format!(
                "Jinja2's unique filter failed and we cannot fall back to Ansible's version as it does not support the parameters supplied: unhashable type: '{}'",
                type_name(&key)
            )));
        }
    }
    match attr {
        None => Ok(Value::from(unique_values(list, cs))),
        Some(at) => {
            let mut seen = Vec::new();
            let mut out = Vec::new();
            for x in list {
                let k = lower_key(&attr_path(&x, &at), cs);
                if !seq_contains(&seen, &k) {
                    seen.push(k);
                    out.push(x);
                }
            }
            Ok(Value::from(out))
        }
    }
}

fn other_list(a: &Args) -> Result<Vec<Value>, Error> {
    items(
        &a.get(0, "b")
            .ok_or_else(|| Error::from(ErrorKind::MissingArgument))?,
    )
}

fn union(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let mut l = items(&v)?;
    l.extend(other_list(a)?);
    Ok(Value::from(unique_values(l, true)))
}
fn intersect(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let b = other_list(a)?;
    let l: Vec<Value> = items(&v)?
        .into_iter()
        .filter(|x| seq_contains(&b, x))
        .collect();
    Ok(Value::from(unique_values(l, true)))
}
fn difference(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let b = other_list(a)?;
    let l: Vec<Value> = items(&v)?
        .into_iter()
        .filter(|x| !seq_contains(&b, x))
        .collect();
    Ok(Value::from(unique_values(l, true)))
}
fn symmetric_difference(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let av = items(&v)?;
    let b = other_list(a)?;
    let isect: Vec<Value> = av.iter().filter(|x| seq_contains(&b, x)).cloned().collect();
    let mut all = av.clone();
    all.extend(b);
    let l: Vec<Value> = unique_values(all, true)
        .into_iter()
        .filter(|x| !seq_contains(&isect, x))
        .collect();
    Ok(Value::from(l))
}

fn flatten_into(out: &mut Vec<Value>, list: Vec<Value>, levels: Option<i64>, skip_nulls: bool) {
    for x in list {
        if skip_nulls && (x.is_none() || x.as_str() == Some("None") || x.as_str() == Some("null")) {
            continue;
        }
        if is_seq(&x) {
            match levels {
                None => flatten_into(out, items(&x).unwrap_or_default(), None, skip_nulls),
                Some(l) if l >= 1 => {
                    flatten_into(out, items(&x).unwrap_or_default(), Some(l - 1), skip_nulls)
                }
                _ => out.push(x),
            }
        } else {
            out.push(x);
        }
    }
}

fn flatten(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let levels = a.int(0, "levels")?;
    let skip = a.flag(1, "skip_nulls", true);
    let mut out = Vec::new();
    flatten_into(&mut out, items(&v)?, levels, skip);
    Ok(Value::from(out))
}

fn zip(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let mut lists = vec![items(&v)?];
    for x in &a.pos {
        lists.push(items(x)?);
    }
    let n = lists.iter().map(|l| l.len()).min().unwrap_or(0);
    Ok(Value::from(
        (0..n)
            .map(|i| Value::from(lists.iter().map(|l| l[i].clone()).collect::<Vec<_>>()))
            .collect::<Vec<_>>(),
    ))
}

fn zip_longest(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let fill =
        a.kw.iter()
            .find(|(k, _)| k == "fillvalue")
            .map(|(_, v)| v.clone())
            .unwrap_or(Value::from(()));
    let mut lists = vec![items(&v)?];
    for x in &a.pos {
        lists.push(items(x)?);
    }
    let n = lists.iter().map(|l| l.len()).max().unwrap_or(0);
    Ok(Value::from(
        (0..n)
            .map(|i| {
                Value::from(
                    lists
                        .iter()
                        .map(|l| l.get(i).cloned().unwrap_or(fill.clone()))
                        .collect::<Vec<_>>(),
                )
            })
            .collect::<Vec<_>>(),
    ))
}

/// `itertools.product`.
pub fn product_of(lists: &[Vec<Value>]) -> Vec<Vec<Value>> {
    let mut acc: Vec<Vec<Value>> = vec![vec![]];
    for l in lists {
        let mut next = Vec::new();
        for prefix in &acc {
            for x in l {
                let mut p = prefix.clone();
                p.push(x.clone());
                next.push(p);
            }
        }
        acc = next;
    }
    acc
}

fn product(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let mut lists = vec![items(&v)?];
    for x in &a.pos {
        lists.push(items(x)?);
    }
    let repeat =
        a.kw.iter()
            .find(|(k, _)| k == "repeat")
            .and_then(|(_, v)| to_int(v))
            .unwrap_or(1);
    let base = lists.clone();
    for _ in 1..repeat.max(1) {
        lists.extend(base.iter().cloned());
    }
    // A product grows as the product of the lengths: refuse one that cannot fit in memory
    // rather than exhaust the controller.
    const MAX_PRODUCT: usize = 10_000_000;
    let size = lists
        .iter()
        .try_fold(1usize, |acc, l| acc.checked_mul(l.len()));
    if size.is_none_or(|n| n > MAX_PRODUCT) {
        return Err(fail(format!(
            "product: the result would have more than {MAX_PRODUCT} elements"
        )));
    }
    Ok(Value::from(
        product_of(&lists)
            .into_iter()
            .map(Value::from)
            .collect::<Vec<_>>(),
    ))
}

fn shuffle(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let mut list = items(&v)?;
    match a.some(0, "seed") {
        Some(seed) => seeded(&seed).shuffle(&mut list),
        None => {
            use rand::seq::SliceRandom;
            list.shuffle(&mut rand::rng());
        }
    }
    Ok(Value::from(list))
}

fn seeded(seed: &Value) -> pyrandom::PyRandom {
    match seed.kind() {
        ValueKind::Number if seed.is_integer() => {
            pyrandom::PyRandom::from_int_seed(seed.as_i64().unwrap_or(0) as i128)
        }
        _ => pyrandom::PyRandom::from_str_seed(&pyfmt::to_str(seed)),
    }
}

fn random(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let start = a.int(0, "start")?.unwrap_or(0);
    let step = a.int(1, "step")?.filter(|&s| s != 0).unwrap_or(1);
    let mut rng = a.some(2, "seed").map(|s| seeded(&s));
    let mut below = |n: u64| -> u64 {
        match rng.as_mut() {
            Some(r) => r.randbelow(n),
            None => {
                use rand::Rng;
                if n == 0 {
                    0
                } else {
                    rand::rng().random_range(0..n)
                }
            }
        }
    };
    if v.is_integer() {
        let end = v.as_i64().unwrap_or(0);
        let width = end - start;
        let n = if step > 0 {
            (width + step - 1) / step
        } else {
            (width + step + 1) / step
        };
        if n <= 0 {
            return Err(fail(format!(
                "empty range for randrange() ({start}, {end}, {})",
                end - start
            )));
        }
        return Ok(Value::from(start + step * below(n as u64) as i64));
    }
    if is_seq(&v) || is_str(&v) || is_map(&v) {
        if a.int(0, "start")?.unwrap_or(0) != 0 || a.int(1, "step")?.unwrap_or(0) != 0 {
            return Err(fail("start and step can only be used with integer values"));
        }
        let list = items(&v)?;
        if list.is_empty() {
            return Err(fail("Cannot choose from an empty sequence"));
        }
        return Ok(list[below(list.len() as u64) as usize].clone());
    }
    Err(fail("random can only be used on sequences and integers"))
}

fn extract(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let container = a
        .get(0, "container")
        .ok_or_else(|| Error::from(ErrorKind::MissingArgument))?;
    let mut value = container.get_item(&v).unwrap_or_default();
    if let Some(more) = a.some(1, "morekeys") {
        let keys = if is_seq(&more) {
            items(&more)?
        } else {
            vec![more]
        };
        for k in keys {
            value = value.get_item(&k).unwrap_or_default();
        }
    }
    Ok(value)
}

/// The `subelements` filter and lookup: pairs of (item, sub-item).
/// Pairs of each element of `list` with each item of the list at `path` in it. The lookup
/// (`pop_key`) gives the element without that last key, as Ansible's lookup pops it; the
/// filter gives the element whole.
pub fn subelements_of(
    list: &Value,
    path: &str,
    skip_missing: bool,
    pop_key: bool,
) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for elem in items(list)? {
        let mut cur = elem.clone();
        let mut missing = false;
        for part in path.split('.') {
            let next = cur.get_attr(part).unwrap_or_default();
            if next.is_undefined() {
                if skip_missing {
                    missing = true;
                    break;
                }
                return Err(fail(format!(
                    "could not find '{part}' key in iterated item {}",
                    pyfmt::repr(&elem)
                )));
            }
            cur = next;
        }
        if missing {
            continue;
        }
        if !is_seq(&cur) {
            return Err(fail(format!(
                "the key {part} should point to a list, got {}",
                pyfmt::repr(&cur),
                part = path
            )));
        }
        let shown = if pop_key {
            let parts: Vec<&str> = path.split('.').collect();
            without_path(&elem, &parts)
        } else {
            elem.clone()
        };
        for sub in items(&cur)? {
            out.push(Value::from(vec![shown.clone(), sub]));
        }
    }
    Ok(out)
}

/// A copy of the mapping `v` with the key at the end of `path` removed.
pub fn without_path(v: &Value, path: &[&str]) -> Value {
    let Some((first, rest)) = path.split_first() else {
        return v.clone();
    };
    let Ok(keys) = v.try_iter() else {
        return v.clone();
    };
    let pairs: Vec<(Value, Value)> = keys
        .filter_map(|k| {
            let item = v.get_item(&k).unwrap_or_default();
            if k.as_str() == Some(first) {
                if rest.is_empty() {
                    return None;
                }
                return Some((k, without_path(&item, rest)));
            }
            Some((k, item))
        })
        .collect();
    Value::from_pairs(pairs)
}

fn subelements(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let path = a
        .str(0, "subelements")
        .ok_or_else(|| Error::from(ErrorKind::MissingArgument))?;
    Ok(Value::from(subelements_of(
        &v,
        &path,
        a.flag(1, "skip_missing", false),
        false,
    )?))
}

// ---------------------------------------------------------------------------------------
// Dictionaries.

fn dict2items(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    if !is_map(&v) {
        return Err(fail(format!(
            "dict2items requires a dictionary, got <class '{}'> instead.",
            type_name(&v)
        )));
    }
    let kn = a.str(0, "key_name").unwrap_or_else(|| "key".into());
    let vn = a.str(1, "value_name").unwrap_or_else(|| "value".into());
    Ok(Value::from(
        map_pairs(&v)
            .into_iter()
            .map(|(k, val)| {
                map_from(vec![
                    (Value::from(kn.as_str()), k),
                    (Value::from(vn.as_str()), val),
                ])
            })
            .collect::<Vec<_>>(),
    ))
}

fn items2dict(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let kn = a.str(0, "key_name").unwrap_or_else(|| "key".into());
    let vn = a.str(1, "value_name").unwrap_or_else(|| "value".into());
    if !is_seq(&v) {
        return Err(fail(format!(
            "items2dict requires a list, got <class '{}'> instead.",
            type_name(&v)
        )));
    }
    let mut pairs = Vec::new();
    for x in items(&v)? {
        if !is_map(&x) {
            return Err(fail(format!(
                "items2dict requires a list of dictionaries, got <class '{}'> instead.",
                type_name(&x)
            )));
        }
        let k = x.get_attr(&kn).unwrap_or_default();
        let val = x.get_attr(&vn).unwrap_or_default();
        if k.is_undefined() || val.is_undefined() {
            return Err(fail(format!(
                "items2dict requires each dictionary in the list to contain the keys '{kn}' and '{vn}', got {} instead.",
                pyfmt::repr(&x)
            )));
        }
        set_key(&mut pairs, k, val);
    }
    Ok(map_from(pairs))
}

fn set_key(pairs: &mut Vec<(Value, Value)>, k: Value, v: Value) {
    match pairs.iter_mut().find(|(x, _)| *x == k) {
        Some(p) => p.1 = v,
        None => pairs.push((k, v)),
    }
}

/// Ansible's `merge_hash(x, y, recursive, list_merge)`.
pub fn merge_hash(x: &Value, y: &Value, recursive: bool, list_merge: &str) -> Value {
    let mut pairs = map_pairs(x);
    if pairs.is_empty() || x == y {
        return map_from(map_pairs(y));
    }
    for (k, yv) in map_pairs(y) {
        let Some(pos) = pairs.iter().position(|(pk, _)| *pk == k) else {
            pairs.push((k, yv));
            continue;
        };
        let xv = pairs[pos].1.clone();
        let new = if is_map(&xv) && is_map(&yv) {
            if recursive {
                merge_hash(&xv, &yv, recursive, list_merge)
            } else {
                yv
            }
        } else if is_seq(&xv) && is_seq(&yv) {
            let xl = items(&xv).unwrap_or_default();
            let yl = items(&yv).unwrap_or_default();
            let l: Vec<Value> = match list_merge {
                "append" => xl.into_iter().chain(yl).collect(),
                "prepend" => yl.into_iter().chain(xl).collect(),
                "append_rp" => xl
                    .into_iter()
                    .filter(|z| !seq_contains(&yl, z))
                    .chain(yl.clone())
                    .collect(),
                "prepend_rp" => yl
                    .clone()
                    .into_iter()
                    .chain(xl.into_iter().filter(|z| !seq_contains(&yl, z)))
                    .collect(),
                "keep" => xl,
                _ => yl,
            };
            Value::from(l)
        } else {
            yv
        };
        pairs[pos].1 = new;
    }
    map_from(pairs)
}

fn combine(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let recursive = a.flag(99, "recursive", false);
    let list_merge = a.str(99, "list_merge").unwrap_or_else(|| "replace".into());
    if ![
        "replace",
        "keep",
        "append",
        "prepend",
        "append_rp",
        "prepend_rp",
    ]
    .contains(&list_merge.as_str())
    {
        return Err(fail(format!(
            "'{list_merge}' is not a valid list_merge value, valid values are: replace, keep, append, prepend, append_rp, prepend_rp"
        )));
    }
    fn collect(out: &mut Vec<Value>, t: Value) -> Result<(), Error> {
        if is_map(&t) {
            out.push(t);
        } else if is_seq(&t) {
            for x in items(&t)? {
                collect(out, x)?;
            }
        } else {
            return Err(fail(format!(
                "|combine expects dictionaries, got {}",
                pyfmt::repr(&t)
            )));
        }
        Ok(())
    }
    let mut dicts = Vec::new();
    collect(&mut dicts, v)?;
    for t in &a.pos {
        collect(&mut dicts, t.clone())?;
    }
    let mut result = map_from(vec![]);
    for d in dicts {
        result = merge_hash(&result, &d, recursive, &list_merge);
    }
    Ok(result)
}

fn dictsort(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let cs = a.flag(0, "case_sensitive", false);
    let by_value = a.str(1, "by").as_deref() == Some("value");
    let reverse = a.flag(2, "reverse", false);
    let mut pairs = map_pairs(&v);
    pairs.sort_by(|x, y| {
        let (p, q) = if by_value { (&x.1, &y.1) } else { (&x.0, &y.0) };
        let o = py_cmp(&lower_key(p, cs), &lower_key(q, cs));
        if reverse {
            o.reverse()
        } else {
            o
        }
    });
    Ok(Value::from(
        pairs
            .into_iter()
            .map(|(k, v)| Value::from(vec![k, v]))
            .collect::<Vec<_>>(),
    ))
}

// ---------------------------------------------------------------------------------------
// Serialisation.

fn to_json(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let opts = JsonOpts {
        indent: a.int(99, "indent")?.map(|i| i.max(0) as usize),
        sort_keys: a.flag(99, "sort_keys", false),
        ensure_ascii: a.flag(99, "ensure_ascii", true),
    };
    Ok(Value::from(pyfmt::json_dumps(&v, opts)))
}

fn to_nice_json(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let opts = JsonOpts {
        indent: Some(a.int(0, "indent")?.unwrap_or(4).max(0) as usize),
        sort_keys: a.flag(99, "sort_keys", true),
        ensure_ascii: a.flag(99, "ensure_ascii", true),
    };
    Ok(Value::from(pyfmt::json_dumps(&v, opts)))
}

fn from_json(_: &State, v: Value, _: &Args) -> Result<Value, Error> {
    let s = text(&v)?;
    let j: serde_json::Value =
        serde_json::from_str(&s).map_err(|e| fail(format!("Expecting value: {e}")))?;
    Ok(Value::from(minijinja::value::Serde(&j)))
}

fn yaml_opts(a: &Args, indent: usize, flow: Option<bool>) -> Result<YamlOpts, Error> {
    Ok(YamlOpts {
        indent: a
            .int(0, "indent")?
            .map(|i| i.max(0) as usize)
            .unwrap_or(indent),
        default_flow_style: match a.get(99, "default_flow_style") {
            Some(v) if v.is_none() => None,
            Some(v) => Some(v.is_true()),
            None => flow,
        },
        // libyaml's emitter (which Ansible's dumper uses): a negative width is unlimited.
        width: a
            .int(99, "width")?
            .map(|w| usize::try_from(w).unwrap_or(usize::MAX))
            .unwrap_or(80),
        sort_keys: a.flag(99, "sort_keys", true),
    })
}

fn to_yaml(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    Ok(Value::from(pyfmt::yaml_dump(&v, yaml_opts(a, 2, None)?)))
}

fn to_nice_yaml(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    Ok(Value::from(pyfmt::yaml_dump(
        &v,
        yaml_opts(a, 4, Some(false))?,
    )))
}

fn yaml_docs(v: &Value) -> Result<Vec<Value>, Error> {
    let s = text(v)?;
    let docs = crate::yaml::load_str(&s, "<from_yaml>").map_err(|e| fail(e.message))?;
    Ok(docs
        .iter()
        .map(|d| Value::from(minijinja::value::Serde(d.to_json())))
        .collect())
}

fn from_yaml(_: &State, v: Value, _: &Args) -> Result<Value, Error> {
    if !is_str(&v) {
        return Ok(v);
    }
    Ok(yaml_docs(&v)?.into_iter().next().unwrap_or(Value::from(())))
}

fn from_yaml_all(_: &State, v: Value, _: &Args) -> Result<Value, Error> {
    Ok(Value::from(yaml_docs(&v)?))
}

// ---------------------------------------------------------------------------------------
// Encodings and hashes.

fn b64encode(_: &State, v: Value, _: &Args) -> Result<Value, Error> {
    Ok(Value::from(
        base64::engine::general_purpose::STANDARD.encode(text(&v)?),
    ))
}

fn b64decode(_: &State, v: Value, _: &Args) -> Result<Value, Error> {
    let s = text(&v)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|e| fail(format!("Incorrect padding or invalid base64: {e}")))?;
    Ok(Value::from(String::from_utf8_lossy(&bytes).into_owned()))
}

/// A hex digest of `data` with one of Python's hashlib names.
pub fn hex_digest(kind: &str, data: &[u8]) -> Option<String> {
    use sha2::Digest;
    Some(match kind {
        "md5" => hex::encode(md5::Md5::digest(data)),
        "sha1" => hex::encode(sha1::Sha1::digest(data)),
        "sha224" => hex::encode(sha2::Sha224::digest(data)),
        "sha256" => hex::encode(sha2::Sha256::digest(data)),
        "sha384" => hex::encode(sha2::Sha384::digest(data)),
        "sha512" => hex::encode(sha2::Sha512::digest(data)),
        _ => return None,
    })
}

fn hash(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let kind = a.str(0, "hashtype").unwrap_or_else(|| "sha1".into());
    hex_digest(&kind, text(&v)?.as_bytes())
        .map(Value::from)
        .ok_or_else(|| fail(format!("unsupported hash type {kind}")))
}
fn md5_f(_: &State, v: Value, _: &Args) -> Result<Value, Error> {
    Ok(Value::from(hex_digest("md5", text(&v)?.as_bytes())))
}
fn sha1_f(_: &State, v: Value, _: &Args) -> Result<Value, Error> {
    Ok(Value::from(hex_digest("sha1", text(&v)?.as_bytes())))
}

const CRYPT64: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// SHA-crypt (`$5$`/`$6$`), the glibc algorithm.
pub fn sha_crypt(password: &[u8], salt: &str, rounds: Option<u32>, sha512: bool) -> String {
    use sha2::Digest;
    fn h(sha512: bool, parts: &[&[u8]]) -> Vec<u8> {
        if sha512 {
            let mut d = sha2::Sha512::new();
            for p in parts {
                d.update(p);
            }
            d.finalize().to_vec()
        } else {
            let mut d = sha2::Sha256::new();
            for p in parts {
                d.update(p);
            }
            d.finalize().to_vec()
        }
    }
    let salt: &[u8] = &salt.as_bytes()[..salt.len().min(16)];
    let r = rounds.unwrap_or(5000).clamp(1000, 999_999_999);
    let hl = if sha512 { 64 } else { 32 };
    let b = h(sha512, &[password, salt, password]);
    let mut a_parts: Vec<u8> = [password, salt].concat();
    let mut n = password.len();
    while n > hl {
        a_parts.extend_from_slice(&b);
        n -= hl;
    }
    a_parts.extend_from_slice(&b[..n]);
    let mut n = password.len();
    while n > 0 {
        if n & 1 != 0 {
            a_parts.extend_from_slice(&b);
        } else {
            a_parts.extend_from_slice(password);
        }
        n >>= 1;
    }
    let a = h(sha512, &[&a_parts]);
    let dp_full = h(sha512, &[&password.repeat(password.len())]);
    let p: Vec<u8> = dp_full
        .iter()
        .cycle()
        .take(password.len())
        .copied()
        .collect();
    let ds_full = h(sha512, &[&salt.repeat(16 + a[0] as usize)]);
    let s: Vec<u8> = ds_full.iter().cycle().take(salt.len()).copied().collect();
    let mut c = a;
    for i in 0..r {
        let mut buf: Vec<u8> = Vec::new();
        buf.extend_from_slice(if i % 2 == 1 { &p } else { &c });
        if i % 3 != 0 {
            buf.extend_from_slice(&s);
        }
        if i % 7 != 0 {
            buf.extend_from_slice(&p);
        }
        buf.extend_from_slice(if i % 2 == 1 { &c } else { &p });
        c = h(sha512, &[&buf]);
    }
    let mut out = String::new();
    let mut enc = |b2: u8, b1: u8, b0: u8, n: usize| {
        let mut w = ((b2 as u32) << 16) | ((b1 as u32) << 8) | b0 as u32;
        for _ in 0..n {
            out.push(CRYPT64[(w & 0x3f) as usize] as char);
            w >>= 6;
        }
    };
    if sha512 {
        let order: [(usize, usize, usize); 21] = [
            (0, 21, 42),
            (22, 43, 1),
            (44, 2, 23),
            (3, 24, 45),
            (25, 46, 4),
            (47, 5, 26),
            (6, 27, 48),
            (28, 49, 7),
            (50, 8, 29),
            (9, 30, 51),
            (31, 52, 10),
            (53, 11, 32),
            (12, 33, 54),
            (34, 55, 13),
            (56, 14, 35),
            (15, 36, 57),
            (37, 58, 16),
            (59, 17, 38),
            (18, 39, 60),
            (40, 61, 19),
            (62, 20, 41),
        ];
        for (x, y, z) in order {
            enc(c[x], c[y], c[z], 4);
        }
        enc(0, 0, c[63], 2);
    } else {
        let order: [(usize, usize, usize); 10] = [
            (0, 10, 20),
            (21, 1, 11),
            (12, 22, 2),
            (3, 13, 23),
            (24, 4, 14),
            (15, 25, 5),
            (6, 16, 26),
            (27, 7, 17),
            (18, 28, 8),
            (9, 19, 29),
        ];
        for (x, y, z) in order {
            enc(c[x], c[y], c[z], 4);
        }
        enc(0, c[31], c[30], 3);
    }
    let id = if sha512 { 6 } else { 5 };
    let salt = String::from_utf8_lossy(salt);
    match rounds {
        Some(r) if r != 5000 => format!("${id}$rounds={r}${salt}${out}"),
        _ => format!("${id}${salt}${out}"),
    }
}

fn password_hash(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let pw = text(&v)?;
    let kind = a.str(0, "hashtype").unwrap_or_else(|| "sha512".into());
    let sha512 = match kind.as_str() {
        "sha512" | "sha512_crypt" => true,
        "sha256" | "sha256_crypt" => false,
        other => return Err(fail(format!("{other} is not in the list of supported passlib algorithms: md5, blowfish, sha256, sha512"))),
    };
    let algorithm = if sha512 {
        "sha512_crypt"
    } else {
        "sha256_crypt"
    };
    let salt_size = match a.some(2, "salt_size") {
        None => 16,
        Some(v) => match to_int(&v) {
            Some(n) if v.kind() == ValueKind::Number => n,
            _ => return Err(fail("salt_size must be an integer")),
        },
    };
    let salt_size = if salt_size == 0 { 16 } else { salt_size };
    if salt_size > 16 {
        return Err(fail(format!(
            "invalid salt size supplied ({salt_size}), expected at most 16"
        )));
    }
    // Ansible hands the salt to libxcrypt's crypt_gensalt as its random bytes: the salt
    // in the hash is those bytes re-encoded, not the salt as given.
    let rbytes: Vec<u8> = match a.some(1, "salt").filter(|v| v.is_true()) {
        Some(v) if v.kind() != ValueKind::String => {
            return Err(fail(format!("'{}' object is not iterable", type_name(&v))))
        }
        Some(v) => {
            let salt = v.as_str().unwrap_or_default().to_string();
            if salt
                .chars()
                .any(|c| !c.is_ascii() || !CRYPT64.contains(&(c as u8)))
            {
                return Err(fail("invalid characters in salt"));
            }
            if salt.len() > 16 {
                return Err(fail(format!(
                    "invalid salt size supplied ({}), expected at most 16",
                    salt.len()
                )));
            }
            salt.into_bytes()
        }
        None => {
            use rand::Rng;
            let mut rng = rand::rng();
            (0..salt_size).map(|_| rng.random::<u8>()).collect()
        }
    };
    let Some(salt) = gensalt_chars(&rbytes) else {
        return Err(fail(format!(
            "Failed to generate salt for '{algorithm}' algorithm"
        )));
    };
    let rounds = match a.int(3, "rounds")? {
        Some(r) if r != 0 => r,
        _ if sha512 => 656_000,
        _ => 535_000,
    }
    .clamp(1000, 999_999_999) as u32;
    let rounds = (rounds != 5000).then_some(rounds);
    Ok(Value::from(sha_crypt(pw.as_bytes(), &salt, rounds, sha512)))
}

/// The salt libxcrypt's `crypt_gensalt` makes of random bytes for SHA-crypt: each
/// complete three-byte group that has more bytes after it gives four characters
/// (little-endian, low six bits first), at most 16. Fewer than three bytes is an error.
fn gensalt_chars(rbytes: &[u8]) -> Option<String> {
    if rbytes.len() < 3 {
        return None;
    }
    let max = (rbytes.len() * 4 / 3).min(16);
    let mut out = String::new();
    let mut i = 0;
    while i + 3 < rbytes.len() {
        let mut w = u32::from(rbytes[i])
            | (u32::from(rbytes[i + 1]) << 8)
            | (u32::from(rbytes[i + 2]) << 16);
        for _ in 0..4 {
            out.push(CRYPT64[(w & 0x3f) as usize] as char);
            w >>= 6;
        }
        i += 3;
    }
    out.truncate(max);
    Some(out)
}

fn to_uuid(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    use sha1::Digest;
    let ns = a
        .str(0, "namespace")
        .unwrap_or_else(|| "361e6d51-faec-444a-9079-341386da8e2e".into());
    let ns_bytes = hex::decode(ns.replace('-', ""))
        .map_err(|_| fail(format!("Invalid value '{ns}' for 'namespace'")))?;
    if ns_bytes.len() != 16 {
        return Err(fail(format!("Invalid value '{ns}' for 'namespace'")));
    }
    let mut h = sha1::Sha1::new();
    h.update(&ns_bytes);
    h.update(text(&v)?.as_bytes());
    let mut b: Vec<u8> = h.finalize()[..16].to_vec();
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode(b);
    Ok(Value::from(format!(
        "{}-{}-{}-{}-{}",
        &x[..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..]
    )))
}

// ---------------------------------------------------------------------------------------
// Paths.

pub fn py_basename(p: &str) -> &str {
    &p[p.rfind('/').map(|i| i + 1).unwrap_or(0)..]
}

pub fn py_dirname(p: &str) -> String {
    let i = p.rfind('/').map(|i| i + 1).unwrap_or(0);
    let head = &p[..i];
    if !head.is_empty() && head.chars().any(|c| c != '/') {
        head.trim_end_matches('/').to_string()
    } else {
        head.to_string()
    }
}

/// Python's `os.path.normpath` for POSIX paths.
pub fn normpath(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let initial = if p.starts_with("//") && !p.starts_with("///") {
        2
    } else if p.starts_with('/') {
        1
    } else {
        0
    };
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if (initial == 0 && parts.is_empty()) || parts.last() == Some(&"..") {
                    parts.push("..")
                } else if !parts.is_empty() {
                    parts.pop();
                }
            }
            c => parts.push(c),
        }
    }
    let s = format!("{}{}", "/".repeat(initial), parts.join("/"));
    if s.is_empty() {
        ".".into()
    } else {
        s
    }
}

fn cwd() -> String {
    std::env::current_dir()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "/".into())
}

fn abspath(p: &str) -> String {
    if p.starts_with('/') {
        normpath(p)
    } else {
        normpath(&format!("{}/{p}", cwd()))
    }
}

fn basename(_: &State, v: Value, _: &Args) -> Result<Value, Error> {
    Ok(Value::from(py_basename(&text(&v)?)))
}
fn dirname(_: &State, v: Value, _: &Args) -> Result<Value, Error> {
    Ok(Value::from(py_dirname(&text(&v)?)))
}
fn expanduser(_: &State, v: Value, _: &Args) -> Result<Value, Error> {
    Ok(Value::from(expand_user(&text(&v)?)))
}

/// `os.path.expanduser` for the current user (`~` and `~/...`).
pub fn expand_user(s: &str) -> String {
    if s == "~" || s.starts_with("~/") {
        if let Ok(home) = std::env::var("HOME") {
            let home = if home.len() > 1 {
                home.trim_end_matches('/')
            } else {
                &home
            };
            return format!("{home}{}", &s[1..]);
        }
    }
    s.to_string()
}

fn realpath(_: &State, v: Value, _: &Args) -> Result<Value, Error> {
    let p = abspath(&text(&v)?);
    Ok(Value::from(
        std::fs::canonicalize(&p)
            .map(|x| x.display().to_string())
            .unwrap_or(p),
    ))
}

fn relpath(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let path = abspath(&text(&v)?);
    let start = abspath(&a.str(0, "start").unwrap_or_else(|| ".".into()));
    let pl: Vec<&str> = path.split('/').filter(|x| !x.is_empty()).collect();
    let sl: Vec<&str> = start.split('/').filter(|x| !x.is_empty()).collect();
    let common = pl.iter().zip(sl.iter()).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; sl.len() - common];
    parts.extend(&pl[common..]);
    Ok(Value::from(if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }))
}

fn splitext(_: &State, v: Value, _: &Args) -> Result<Value, Error> {
    let p = text(&v)?;
    let base_start = p.rfind('/').map(|i| i + 1).unwrap_or(0);
    let base = &p[base_start..];
    let lead = base.len() - base.trim_start_matches('.').len();
    let (root, ext) = match base[lead..].rfind('.') {
        Some(i) => {
            let i = base_start + lead + i;
            (p[..i].to_string(), p[i..].to_string())
        }
        None => (p.clone(), String::new()),
    };
    Ok(Value::from(vec![Value::from(root), Value::from(ext)]))
}

/// Python's `os.path.join`.
pub fn path_join_parts(parts: &[String]) -> String {
    let mut out = String::new();
    for p in parts {
        if p.starts_with('/') {
            out = p.clone();
        } else if out.is_empty() || out.ends_with('/') {
            out.push_str(p);
        } else {
            out.push('/');
            out.push_str(p);
        }
    }
    out
}

fn path_join(_: &State, v: Value, _: &Args) -> Result<Value, Error> {
    let parts: Vec<String> = if is_str(&v) {
        vec![text(&v)?]
    } else {
        items(&v)?.iter().map(pyfmt::to_str).collect()
    };
    Ok(Value::from(path_join_parts(&parts)))
}

/// Files (not directories) matching a glob pattern, sorted.
pub fn glob_files(pattern: &str) -> Vec<String> {
    let mut out: Vec<String> = glob::glob(pattern)
        .map(|it| {
            it.flatten()
                .filter(|p| p.is_file())
                .map(|p| p.display().to_string())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn fileglob(_: &State, v: Value, _: &Args) -> Result<Value, Error> {
    Ok(Value::from(glob_files(&text(&v)?)))
}

// ---------------------------------------------------------------------------------------
// Numbers.

fn pow(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let x = to_f64(&v).ok_or_else(|| fail("pow() can only be used on numbers"))?;
    let y = a
        .some(0, "y")
        .and_then(|y| to_f64(&y))
        .ok_or_else(|| fail("pow() can only be used on numbers"))?;
    Ok(Value::from(x.powf(y)))
}

fn root(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let x = to_f64(&v).ok_or_else(|| fail("root() can only be used on numbers"))?;
    let base = a.some(0, "base").and_then(|b| to_f64(&b)).unwrap_or(2.0);
    Ok(Value::from(if base == 2.0 {
        x.sqrt()
    } else {
        x.powf(1.0 / base)
    }))
}

fn log(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let x = to_f64(&v).ok_or_else(|| fail("log() can only be used on numbers"))?;
    Ok(Value::from(
        match a.some(0, "base").and_then(|b| to_f64(&b)) {
            None => x.ln(),
            Some(10.0) => x.log10(),
            Some(b) => x.ln() / b.ln(),
        },
    ))
}

/// Ansible's size units: the letter and its power of 1024, largest first.
const SIZE_RANGES: [(char, u32); 9] = [
    ('Y', 80),
    ('Z', 70),
    ('E', 60),
    ('P', 50),
    ('T', 40),
    ('G', 30),
    ('M', 20),
    ('K', 10),
    ('B', 0),
];

/// `human_readable(isbits=False, unit=None)`: `10240` -> `"10.00 KB"`.
fn human_readable(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let size = match v.kind() {
        ValueKind::Number | ValueKind::Bool => to_f64(&v).unwrap_or(0.0),
        _ => {
            return Err(fail(format!(
                "human_readable() failed on bad input: '>=' not supported between instances of '{}' and 'int'",
                type_name(&v)
            )))
        }
    };
    let isbits = a.flag(0, "isbits", false);
    let unit = a.str(1, "unit");
    let wanted = unit
        .as_ref()
        .and_then(|u| u.chars().next())
        .map(|c| c.to_ascii_uppercase());
    let (suffix, shift) = SIZE_RANGES
        .iter()
        .copied()
        .find(|(c, shift)| match wanted {
            Some(w) => w == *c,
            None => size >= (1u128 << shift) as f64,
        })
        .unwrap_or(('B', 0));
    let base = if isbits { "bits" } else { "Bytes" };
    let suffix = if shift == 0 {
        base.to_string()
    } else {
        format!("{suffix}{}", &base[..1])
    };
    Ok(Value::from(format!(
        "{:.2} {suffix}",
        size / (1u128 << shift) as f64
    )))
}

/// `human_to_bytes(default_unit=None, isbits=False)`: `"10.00 KB"` -> `10240`.
fn human_to_bytes(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let text = if v.kind() == ValueKind::String {
        v.as_str().unwrap_or_default().to_string()
    } else {
        pyfmt::to_str(&v)
    };
    // Ansible wraps the formatter's ValueError in its own message.
    let bad = |why: String| fail(format!("human_to_bytes() can't interpret the input: {why}"));
    let re = regex::Regex::new(r"^([0-9]*\.?[0-9]+)(?:\s*([A-Za-z]+))?\s*$").expect("regex");
    let caps = re.captures(&text).ok_or_else(|| {
        bad(format!(
            "human_to_bytes() can't interpret following string: {text}"
        ))
    })?;
    let num: f64 = caps[1].parse().unwrap_or(0.0);
    let isbits = a.flag(1, "isbits", false);
    let Some(unit) = caps
        .get(2)
        .map(|m| m.as_str().to_string())
        .or_else(|| a.str(0, "default_unit"))
    else {
        return Ok(Value::from(py_round_half_even(num) as i64));
    };
    let key = unit.chars().next().unwrap_or('B').to_ascii_uppercase();
    let Some(pos) = SIZE_RANGES.iter().position(|(c, _)| *c == key) else {
        return Err(bad(format!(
            "human_to_bytes() failed to convert {text} (unit = {unit}). The suffix must be one of Y, Z, E, P, T, G, M, K, B"
        )));
    };
    let shift = SIZE_RANGES[pos].1;
    if unit.len() > 1 {
        let (class, class_name) = if isbits { ('b', "bit") } else { ('B', "byte") };
        const PREFIXES: [&str; 9] = [
            "yotta", "zeta", "exa", "peta", "tera", "giga", "mega", "kilo", "",
        ];
        let long = format!("{}{class_name}", PREFIXES[pos]);
        let (short, expect) = if key == 'B' {
            (class.to_string(), format!("expect {class} or {class_name}"))
        } else {
            (
                format!("{key}{class}"),
                format!("expect {key}{class} or {key}"),
            )
        };
        if unit.to_lowercase() != long && unit != short {
            return Err(bad(format!(
                "human_to_bytes() failed to convert {text}. Value is not a valid string ({expect})"
            )));
        }
    }
    Ok(Value::from(
        py_round_half_even(num * (1u128 << shift) as f64) as i64,
    ))
}

/// `rekey_on_member(key, duplicates='error')`: a list (or the values of a dict) of dicts
/// turned into a dict keyed on each item's `key`.
fn rekey_on_member(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let key = a.get(0, "key").unwrap_or(Value::UNDEFINED);
    let duplicates = a.get(1, "duplicates").unwrap_or(Value::from("error"));
    let dup = duplicates.as_str().unwrap_or_default();
    if dup != "error" && dup != "overwrite" {
        return Err(fail(format!(
            "duplicates parameter to rekey_on_member has unknown value {}",
            pyfmt::repr(&duplicates)
        )));
    }
    let members: Vec<Value> = if is_map(&v) {
        v.try_iter()?
            .map(|k| v.get_item(&k).unwrap_or(Value::UNDEFINED))
            .collect()
    } else if is_seq(&v) {
        items(&v)?
    } else {
        return Err(fail("Type is not a valid list, set, or dict"));
    };
    let mut pairs: Vec<(Value, Value)> = Vec::new();
    for item in members {
        if !is_map(&item) {
            return Err(fail("List item is not a valid dict"));
        }
        let k = item
            .get_item(&key)
            .ok()
            .filter(|k| !k.is_undefined())
            .ok_or_else(|| fail(format!("Key {} was not found.", pyfmt::repr(&key))))?;
        if dup == "error" && pairs.iter().any(|(x, _)| *x == k) {
            return Err(fail(format!(
                "Key {} is not unique, cannot convert to dict.",
                pyfmt::repr(&k)
            )));
        }
        set_key(&mut pairs, k, item);
    }
    Ok(map_from(pairs))
}

/// Python's `round()` on a float: halves go to the even neighbour.
fn py_round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - x.signum()
    } else {
        r
    }
}

fn abs(_: &State, v: Value, _: &Args) -> Result<Value, Error> {
    if v.is_integer() {
        if let Some(i) = v.as_i64() {
            return Ok(Value::from(i.abs()));
        }
    }
    to_f64(&v)
        .filter(|_| v.kind() == ValueKind::Number || v.kind() == ValueKind::Bool)
        .map(|f| Value::from(f.abs()))
        .ok_or_else(|| fail(format!("bad operand type for abs(): '{}'", type_name(&v))))
}

/// Jinja's `round(precision=0, method='common')` (Python's half-even rounding).
fn round(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let precision = a.int(0, "precision")?.unwrap_or(0);
    let method = a.str(1, "method").unwrap_or_else(|| "common".into());
    if v.is_integer() && method == "common" {
        return Ok(v);
    }
    let x = to_f64(&v).ok_or_else(|| {
        fail(format!(
            "type {} doesn't define __round__ method",
            type_name(&v)
        ))
    })?;
    let m = 10f64.powi(precision as i32);
    let r = match method.as_str() {
        "common" => {
            if precision >= 0 {
                format!("{:.*}", precision as usize, x)
                    .parse::<f64>()
                    .unwrap_or(x)
            } else {
                (x / 10f64.powi(-precision as i32)).round() * 10f64.powi(-precision as i32)
            }
        }
        "ceil" => (x * m).ceil() / m,
        "floor" => (x * m).floor() / m,
        _ => return Err(fail("method must be 'common', 'ceil' or 'floor'")),
    };
    Ok(Value::from(r))
}

// ---------------------------------------------------------------------------------------
// Versions (shared with the `version` test).

/// Compare two version strings like Ansible's `version_compare`.
pub fn version_compare(
    value: &str,
    version: &str,
    op: &str,
    strict: Option<bool>,
    vtype: Option<&str>,
) -> Result<bool, Error> {
    let op = match op {
        "==" | "=" | "eq" => "eq",
        "<" | "lt" => "lt",
        "<=" | "le" => "le",
        ">" | "gt" => "gt",
        ">=" | "ge" => "ge",
        "!=" | "<>" | "ne" => "ne",
        other => {
            return Err(fail(format!(
                "Invalid operator type ({other}). Must be one of '==', '=', 'eq', '<', 'lt', '<=', 'le', '>', 'gt', '>=', 'ge', '!=', '<>', 'ne'"
            )))
        }
    };
    // Giving strict at all (even false) with a version_type is an error, as in Ansible.
    if strict.is_some() && vtype.is_some() {
        return Err(fail("Cannot specify both 'strict' and 'version_type'"));
    }
    if value.is_empty() {
        return Err(fail("Input version value cannot be empty"));
    }
    if version.is_empty() {
        return Err(fail("Version parameter to compare against cannot be empty"));
    }
    let kind = if strict == Some(true) {
        "strict"
    } else {
        vtype.unwrap_or("loose")
    };
    let ord = match kind {
        "loose" => loose_cmp(value, version)?,
        "strict" => strict_cmp(value, version)?,
        "semver" | "semantic" => semver_cmp(value, version)?,
        "pep440" => pep440_cmp(value, version)?,
        other => {
            return Err(fail(format!(
                "Invalid version type ({other}). Must be one of 'loose', 'strict', 'semver', 'semantic', 'pep440'"
            )))
        }
    };
    Ok(match op {
        "eq" => ord == Ordering::Equal,
        "ne" => ord != Ordering::Equal,
        "lt" => ord == Ordering::Less,
        "le" => ord != Ordering::Greater,
        "gt" => ord == Ordering::Greater,
        _ => ord != Ordering::Less,
    })
}

#[derive(PartialEq, Eq, Clone, Debug)]
enum Part {
    Num(u128),
    Str(String),
}

fn loose_parts(s: &str) -> Vec<Part> {
    let re = regex::Regex::new(r"(\d+|[a-z]+|\.)").expect("loose version regex");
    let mut out = Vec::new();
    let mut last = 0;
    let push = |t: &str, out: &mut Vec<Part>| {
        if t.is_empty() || t == "." {
            return;
        }
        out.push(match t.parse::<u128>() {
            Ok(n) if t.chars().all(|c| c.is_ascii_digit()) => Part::Num(n),
            _ => Part::Str(t.to_string()),
        });
    };
    for m in re.find_iter(s) {
        push(&s[last..m.start()], &mut out);
        push(m.as_str(), &mut out);
        last = m.end();
    }
    push(&s[last..], &mut out);
    out
}

fn loose_cmp(a: &str, b: &str) -> Result<Ordering, Error> {
    let (pa, pb) = (loose_parts(a), loose_parts(b));
    for (x, y) in pa.iter().zip(pb.iter()) {
        let o = match (x, y) {
            (Part::Num(x), Part::Num(y)) => x.cmp(y),
            (Part::Str(x), Part::Str(y)) => x.cmp(y),
            (Part::Num(_), Part::Str(_)) => return Err(fail(
                "Version comparison failed: '<' not supported between instances of 'int' and 'str'",
            )),
            (Part::Str(_), Part::Num(_)) => return Err(fail(
                "Version comparison failed: '<' not supported between instances of 'str' and 'int'",
            )),
        };
        if o.is_ne() {
            return Ok(o);
        }
    }
    Ok(pa.len().cmp(&pb.len()))
}

fn strict_cmp(a: &str, b: &str) -> Result<Ordering, Error> {
    let re =
        regex::Regex::new(r"^(\d+)\.(\d+)(\.(\d+))?([ab])?(\d+)?$").expect("strict version regex");
    type Strict = (Vec<u64>, Option<(String, u64)>);
    let parse = |s: &str| -> Result<Strict, Error> {
        let c = re
            .captures(s)
            .filter(|c| c.get(5).is_some() == c.get(6).is_some())
            .ok_or_else(|| {
                fail(format!(
                    "Version comparison failed: invalid version number '{s}'"
                ))
            })?;
        let n = |i: usize| {
            c.get(i)
                .map(|m| m.as_str().parse::<u64>().unwrap_or(0))
                .unwrap_or(0)
        };
        let pre = c.get(5).map(|m| (m.as_str().to_string(), n(6)));
        Ok((vec![n(1), n(2), n(4)], pre))
    };
    let (va, pa) = parse(a)?;
    let (vb, pb) = parse(b)?;
    Ok(va.cmp(&vb).then_with(|| match (pa, pb) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => x.cmp(&y),
    }))
}

fn semver_cmp(a: &str, b: &str) -> Result<Ordering, Error> {
    let re = regex::Regex::new(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$").expect("semver regex");
    let parse = |s: &str| -> Result<(Vec<u128>, Vec<Part>), Error> {
        let c = re.captures(s).ok_or_else(|| {
            fail(format!(
                "Version comparison failed: invalid semantic version '{s}'"
            ))
        })?;
        let core = (1..=3).map(|i| c[i].parse().unwrap_or(0)).collect();
        let pre = c
            .get(4)
            .map(|m| {
                m.as_str()
                    .split('.')
                    .map(|p| {
                        p.parse::<u128>()
                            .map(Part::Num)
                            .unwrap_or(Part::Str(p.to_string()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok((core, pre))
    };
    let (ca, pa) = parse(a)?;
    let (cb, pb) = parse(b)?;
    Ok(ca
        .cmp(&cb)
        .then_with(|| match (pa.is_empty(), pb.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ => {
                for (x, y) in pa.iter().zip(pb.iter()) {
                    let o = match (x, y) {
                        (Part::Num(x), Part::Num(y)) => x.cmp(y),
                        (Part::Str(x), Part::Str(y)) => x.cmp(y),
                        (Part::Num(_), Part::Str(_)) => Ordering::Less,
                        (Part::Str(_), Part::Num(_)) => Ordering::Greater,
                    };
                    if o.is_ne() {
                        return o;
                    }
                }
                pa.len().cmp(&pb.len())
            }
        }))
}

/// PEP 440 ordering for the usual forms: release, a/b/rc pre-releases, post and dev.
fn pep440_cmp(a: &str, b: &str) -> Result<Ordering, Error> {
    let re = regex::Regex::new(r"^v?(?:(\d+)!)?(\d+(?:\.\d+)*)(?:[-_.]?(a|alpha|b|beta|rc|c|pre|preview)[-_.]?(\d*))?(?:-(\d+)|[-_.]?(?:post|rev|r)[-_.]?(\d*))?(?:[-_.]?dev[-_.]?(\d*))?(?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?$").expect("pep440 regex");
    type Key = (u64, Vec<u64>, (i64, u64), i64, (i64, u64));
    let parse = |s: &str| -> Result<Key, Error> {
        let l = s.trim().to_lowercase();
        let c = re
            .captures(&l)
            .ok_or_else(|| fail(format!("Version comparison failed: Invalid version: '{s}'")))?;
        let num = |i: usize| c.get(i).map(|m| m.as_str().parse::<u64>().unwrap_or(0));
        let mut rel: Vec<u64> = c[2].split('.').map(|x| x.parse().unwrap_or(0)).collect();
        while rel.len() > 1 && rel.last() == Some(&0) {
            rel.pop();
        }
        let post = num(5).or(
            if c.get(6).is_some() || l.contains("post") || l.contains("rev") {
                num(6).or(Some(0))
            } else {
                None
            },
        );
        let dev = if l.contains("dev") {
            Some(num(7).unwrap_or(0))
        } else {
            None
        };
        let pre = match c.get(3).map(|m| m.as_str()) {
            Some("a" | "alpha") => (0, num(4).unwrap_or(0)),
            Some("b" | "beta") => (1, num(4).unwrap_or(0)),
            Some(_) => (2, num(4).unwrap_or(0)),
            None if dev.is_some() && post.is_none() => (-1, 0),
            None => (3, 0),
        };
        let post_k = post.map(|p| p as i64).unwrap_or(-1);
        let dev_k = match dev {
            Some(d) => (0, d),
            None => (1, 0),
        };
        Ok((num(1).unwrap_or(0), rel, pre, post_k, dev_k))
    };
    let (ka, kb) = (parse(a)?, parse(b)?);
    let rel = {
        let n = ka.1.len().max(kb.1.len());
        let pad = |v: &Vec<u64>| {
            (0..n)
                .map(|i| v.get(i).copied().unwrap_or(0))
                .collect::<Vec<_>>()
        };
        pad(&ka.1).cmp(&pad(&kb.1))
    };
    Ok(ka
        .0
        .cmp(&kb.0)
        .then(rel)
        .then(ka.2.cmp(&kb.2))
        .then(ka.3.cmp(&kb.3))
        .then(ka.4.cmp(&kb.4)))
}

// ---------------------------------------------------------------------------------------
// URLs.

/// Jinja's urlencode: a string percent-encoded (`/` kept), a mapping or a sequence of
/// pairs as a query string.
fn urlencode(_: &State, v: Value, _: &Args) -> Result<Value, Error> {
    fn quote(s: &str, for_qs: bool) -> String {
        let mut out = String::new();
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || b"_.-~".contains(&b) || (!for_qs && b == b'/') {
                out.push(b as char);
            } else if for_qs && b == b' ' {
                out.push('+');
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }
    if is_str(&v) || !(is_map(&v) || is_seq(&v)) {
        return Ok(Value::from(quote(&pyfmt::to_str(&v), false)));
    }
    let pairs: Vec<(Value, Value)> = if is_map(&v) {
        items(&v)?
            .into_iter()
            .map(|k| {
                let val = v.get_item(&k).unwrap_or_default();
                (k, val)
            })
            .collect()
    } else {
        items(&v)?
            .into_iter()
            .map(|p| {
                (
                    p.get_item(&Value::from(0)).unwrap_or_default(),
                    p.get_item(&Value::from(1)).unwrap_or_default(),
                )
            })
            .collect()
    };
    Ok(Value::from(
        pairs
            .iter()
            .map(|(k, val)| {
                format!(
                    "{}={}",
                    quote(&pyfmt::to_str(k), true),
                    quote(&pyfmt::to_str(val), true)
                )
            })
            .collect::<Vec<_>>()
            .join("&"),
    ))
}

/// Python's `urllib.parse.unquote_plus`: `+` is a space, `%XX` a byte, read as UTF-8.
fn urldecode(_: &State, v: Value, _: &Args) -> Result<Value, Error> {
    let s = pyfmt::to_str(&v);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    Ok(Value::from(String::from_utf8_lossy(&out).into_owned()))
}

fn urlsplit(_: &State, v: Value, a: &Args) -> Result<Value, Error> {
    let s = text(&v)?;
    let (mut scheme, mut rest) = (String::new(), s.as_str());
    if let Some(i) = s.find(':') {
        let cand = &s[..i];
        if !cand.is_empty()
            && cand.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && cand
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            scheme = cand.to_lowercase();
            rest = &s[i + 1..];
        }
    }
    let mut netloc = "";
    if let Some(r) = rest.strip_prefix("//") {
        let end = r.find(['/', '?', '#']).unwrap_or(r.len());
        netloc = &r[..end];
        rest = &r[end..];
    }
    let (rest, fragment) = match rest.find('#') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    let (path, query) = match rest.find('?') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    let (userinfo, hostport) = match netloc.rfind('@') {
        Some(i) => (Some(&netloc[..i]), &netloc[i + 1..]),
        None => (None, netloc),
    };
    let (username, password) = match userinfo {
        Some(u) => match u.split_once(':') {
            Some((n, p)) => (Value::from(n), Value::from(p)),
            None => (Value::from(u), Value::from(())),
        },
        None => (Value::from(()), Value::from(())),
    };
    let (host, port) = if hostport.starts_with('[') {
        match hostport.find(']') {
            Some(i) => (&hostport[1..i], hostport[i + 1..].strip_prefix(':')),
            None => (hostport, None),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let port = match port.filter(|p| !p.is_empty()) {
        Some(p) => Value::from(
            p.parse::<i64>()
                .map_err(|_| fail(format!("Port could not be cast to integer value as '{p}'")))?,
        ),
        None => Value::from(()),
    };
    let hostname = if host.is_empty() {
        Value::from(())
    } else {
        Value::from(host.to_lowercase())
    };
    let pairs = vec![
        ("fragment", Value::from(fragment)),
        ("hostname", hostname),
        ("netloc", Value::from(netloc)),
        ("password", password),
        ("path", Value::from(path)),
        ("port", port),
        ("query", Value::from(query)),
        ("scheme", Value::from(scheme)),
        ("username", username),
    ];
    match a.str(0, "query") {
        Some(q) if !q.is_empty() => pairs
            .into_iter()
            .find(|(k, _)| *k == q)
            .map(|(_, v)| v)
            .ok_or_else(|| fail(format!("urlsplit: unknown URL component: {q}"))),
        _ => Ok(map_from(
            pairs
                .into_iter()
                .map(|(k, v)| (Value::from(k), v))
                .collect(),
        )),
    }
}

// ---------------------------------------------------------------------------------------
// Functions used like filters in Ansible templates.

/// `dict(pairs)`, `dict(mapping)` and `dict(a=1)`, as Python builds them.
fn dict_fn(rest: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let a = Args::new(rest);
    let mut pairs: Vec<(Value, Value)> = Vec::new();
    if let Some(src) = a.pos.first() {
        if is_map(src) {
            pairs = map_pairs(src);
        } else {
            for p in items(src)? {
                let kv = items(&p)?;
                if kv.len() != 2 {
                    return Err(fail(format!(
                        "dictionary update sequence element has length {}; 2 is required",
                        kv.len()
                    )));
                }
                set_key(&mut pairs, kv[0].clone(), kv[1].clone());
            }
        }
    }
    for (k, v) in a.kw {
        set_key(&mut pairs, Value::from(k), v);
    }
    Ok(map_from(pairs))
}

pub fn register(env: &mut Environment<'static>) {
    add(env, &["default", "d"], default, false);
    add(env, &["mandatory"], mandatory, false);
    add(env, &["bool"], bool_f, false);
    add(env, &["int"], int_f, false);
    add(env, &["float"], float_f, false);
    add(env, &["string"], string_f, false);
    add(env, &["type_debug"], type_debug, false);
    add(env, &["list"], list_f, false);
    add(env, &["lower"], lower, false);
    add(env, &["upper"], upper, false);
    add(env, &["capitalize"], capitalize, false);
    add(env, &["title"], title, false);
    add(env, &["replace"], replace, false);
    add(env, &["trim"], trim, false);
    add(env, &["split"], split, false);
    add(env, &["join"], join, false);
    add(env, &["length", "count"], length, false);
    add(env, &["quote"], quote, false);
    add(env, &["comment"], comment, false);
    add(env, &["ternary"], ternary, false);
    add(env, &["truncate"], truncate, false);
    add(env, &["wordcount"], wordcount, false);
    add(env, &["center"], center, false);
    add(env, &["regex_replace"], regex_replace, false);
    add(env, &["regex_search"], regex_search, false);
    add(env, &["regex_findall"], regex_findall, false);
    add(env, &["regex_escape"], regex_escape, false);
    add(env, &["first"], first, false);
    add(env, &["last"], last, false);
    add(env, &["min"], min, false);
    add(env, &["max"], max, false);
    add(env, &["sum"], sum, false);
    add(env, &["sort"], sort, false);
    add(env, &["unique"], unique, false);
    add(env, &["union"], union, false);
    add(env, &["intersect"], intersect, false);
    add(env, &["difference"], difference, false);
    add(env, &["symmetric_difference"], symmetric_difference, false);
    add(env, &["flatten"], flatten, false);
    add(env, &["zip"], zip, false);
    add(env, &["zip_longest"], zip_longest, false);
    add(env, &["product"], product, false);
    add(env, &["shuffle"], shuffle, false);
    add(env, &["random"], random, false);
    add(env, &["extract"], extract, false);
    add(env, &["subelements"], subelements, false);
    add(env, &["dict2items"], dict2items, false);
    add(env, &["items2dict"], items2dict, false);
    add(env, &["combine"], combine, false);
    add(env, &["dictsort"], dictsort, false);
    add(env, &["to_json"], to_json, false);
    add(env, &["to_nice_json"], to_nice_json, false);
    add(env, &["from_json"], from_json, false);
    add(env, &["to_yaml"], to_yaml, false);
    add(env, &["to_nice_yaml"], to_nice_yaml, false);
    add(env, &["from_yaml"], from_yaml, false);
    add(env, &["from_yaml_all"], from_yaml_all, false);
    add(env, &["b64encode"], b64encode, false);
    add(env, &["b64decode"], b64decode, false);
    add(env, &["hash"], hash, false);
    add(env, &["md5"], md5_f, false);
    add(env, &["sha1", "checksum"], sha1_f, false);
    add(env, &["password_hash"], password_hash, false);
    add(env, &["to_uuid"], to_uuid, false);
    add(env, &["basename"], basename, false);
    add(env, &["dirname"], dirname, false);
    add(env, &["expanduser"], expanduser, false);
    add(env, &["realpath"], realpath, false);
    add(env, &["relpath"], relpath, false);
    add(env, &["splitext"], splitext, false);
    add(env, &["path_join"], path_join, false);
    add(env, &["fileglob"], fileglob, false);
    add(env, &["pow"], pow, false);
    add(env, &["root"], root, false);
    add(env, &["log"], log, false);
    add(env, &["human_readable"], human_readable, false);
    add(env, &["human_to_bytes"], human_to_bytes, false);
    add(env, &["rekey_on_member"], rekey_on_member, false);
    add(env, &["abs"], abs, false);
    add(env, &["round"], round, false);
    add(env, &["urlsplit"], urlsplit, false);
    add(env, &["urldecode"], urldecode, false);
    add(env, &["urlencode"], urlencode, false);
    // Jinja builtins that minijinja implements like Jinja, under Ansible's FQCN too.
    use minijinja::filters as mf;
    env.add_filter("ansible.builtin.map", mf::map);
    env.add_filter("ansible.builtin.select", mf::select);
    env.add_filter("ansible.builtin.reject", mf::reject);
    env.add_filter("ansible.builtin.selectattr", mf::selectattr);
    env.add_filter("ansible.builtin.rejectattr", mf::rejectattr);
    env.add_filter("ansible.builtin.groupby", mf::groupby);
    env.add_filter("ansible.builtin.reverse", mf::reverse);
    env.add_function("dict", dict_fn);
    env.add_function("undef", super::undefined::undef_fn);
    // Jinja2's other default globals (range and namespace are minijinja's own).
    // Jinja's cycler takes its items as separate arguments.
    env.add_function(
        "cycler",
        |items: minijinja::value::Rest<minijinja::Value>| {
            minijinja_contrib::globals::cycler(items.0)
        },
    );
    env.add_function("joiner", minijinja_contrib::globals::joiner);
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn sha_crypt_matches_glibc() {
        assert_eq!(
            sha_crypt(b"Hello world!", "saltstring", None, true),
            "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
        );
        assert_eq!(
            sha_crypt(b"Hello world!", "saltstring", None, false),
            "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"
        );
    }

    #[test]
    fn gensalt_reencodes_the_given_salt_as_libxcrypt_does() {
        assert_eq!(gensalt_chars(b"saltsalt").as_deref(), Some("n34PoBLM"));
        assert_eq!(gensalt_chars(b"abc").as_deref(), Some(""));
        assert_eq!(gensalt_chars(b"abcdef").as_deref(), Some("V7qM"));
        assert_eq!(
            gensalt_chars(b"abcdefghijklmnop").as_deref(),
            Some("V7qMYJaNbVKOeh4P")
        );
        assert_eq!(gensalt_chars(b"ab"), None);
    }

    #[test]
    fn mandatory_names_the_variable() {
        let env = crate::template::new_environment();
        let ctx = minijinja::context! { d => minijinja::context! {} };
        let err = env
            .render_str("x {{ d.bar | mandatory }}", ctx)
            .unwrap_err();
        assert_eq!(
            mandatory_message(&err).as_deref(),
            Some("Mandatory variable 'd.bar' not defined.")
        );
        let err = env.render_str("{{ foo|mandatory }}", ()).unwrap_err();
        assert_eq!(
            mandatory_message(&err).as_deref(),
            Some("Mandatory variable 'foo' not defined.")
        );
        let err = env
            .render_str("{{ nope | mandatory('custom text') }}", ())
            .unwrap_err();
        assert_eq!(err.detail(), Some("custom text"));
        assert_eq!(mandatory_message(&err), None);
    }

    #[test]
    fn python_split_and_quote() {
        assert_eq!(py_split("  a  b ", None, -1).unwrap(), vec!["a", "b"]);
        assert_eq!(py_split("a,b,,c", Some(","), 1).unwrap(), vec!["a", "b,,c"]);
        assert_eq!(shell_quote("it's"), "'it'\"'\"'s'");
        assert_eq!(normpath("/a/./b/../c/"), "/a/c");
    }
}

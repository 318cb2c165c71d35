//! Ansible's Jinja tests (`is defined`, `is version`, `is succeeded`, ...), registered under
//! their short names and their `ansible.builtin.` names.

use super::filters::{self, fail, is_map, is_seq, is_str, pyfmt, Args};
use minijinja::value::{Rest, Value, ValueKind, ValueOrKwargs};
use minijinja::{Environment, Error, State};
use std::path::Path;

type TestFn = fn(&State, Value, &Args) -> Result<bool, Error>;

fn add(env: &mut Environment<'static>, names: &[&'static str], f: TestFn) {
    for name in names {
        let name: &'static str = name;
        let g = move |state: &State, v: Value, rest: Rest<ValueOrKwargs>| {
            f(state, v, &Args::new(rest))
                .map_err(|e| super::filters::plugin_error_as("test", name, e))
        };
        env.add_test(name.to_string(), g);
        env.add_test(format!("ansible.builtin.{name}"), g);
    }
}

// ---------------------------------------------------------------------------------------
// Types (Python's isinstance checks as Jinja's tests do them).

/// Asking whether a value is defined deals with an undefined one: its undef() hint is spent.
fn defined(_: &State, v: Value, _: &Args) -> Result<bool, Error> {
    if v.is_undefined() {
        super::undefined::clear_undef_hint();
    }
    Ok(!v.is_undefined())
}
fn undefined(s: &State, v: Value, a: &Args) -> Result<bool, Error> {
    defined(s, v, a).map(|d| !d)
}
fn none(_: &State, v: Value, _: &Args) -> Result<bool, Error> {
    Ok(v.is_none())
}
fn string(_: &State, v: Value, _: &Args) -> Result<bool, Error> {
    Ok(is_str(&v))
}
/// Jinja's `number`: int, float and bool (a Python int).
fn number(_: &State, v: Value, _: &Args) -> Result<bool, Error> {
    Ok(matches!(v.kind(), ValueKind::Number | ValueKind::Bool))
}
/// Python's `math.isnan`, false for anything that is not a number.
fn nan(_: &State, v: Value, _: &Args) -> Result<bool, Error> {
    Ok(v.kind() == ValueKind::Number && f64::try_from(v).is_ok_and(f64::is_nan))
}
fn integer(_: &State, v: Value, _: &Args) -> Result<bool, Error> {
    Ok(v.kind() == ValueKind::Number && v.is_integer())
}
fn float(_: &State, v: Value, _: &Args) -> Result<bool, Error> {
    Ok(v.kind() == ValueKind::Number && !v.is_integer())
}
fn boolean(_: &State, v: Value, _: &Args) -> Result<bool, Error> {
    Ok(v.kind() == ValueKind::Bool)
}
fn mapping(_: &State, v: Value, _: &Args) -> Result<bool, Error> {
    Ok(is_map(&v))
}
/// Jinja's `sequence`: anything with a length and items (strings and dicts too).
fn sequence(_: &State, v: Value, _: &Args) -> Result<bool, Error> {
    Ok(is_str(&v) || is_seq(&v) || is_map(&v))
}
fn iterable(_: &State, v: Value, _: &Args) -> Result<bool, Error> {
    Ok(is_str(&v) || is_seq(&v) || is_map(&v))
}
fn truthy(_: &State, v: Value, a: &Args) -> Result<bool, Error> {
    // convert_bool reads boolean-like values (yes/no/on/off/1/0, ...) as booleans and
    // leaves anything else to Python's truthiness.
    if a.flag(0, "convert_bool", false) {
        let like = if is_str(&v) {
            v.as_str().map(|s| s.to_lowercase())
        } else if matches!(v.kind(), ValueKind::Number | ValueKind::Bool) {
            filters::to_f64(&v).map(|f| f.to_string())
        } else {
            None
        };
        match like.as_deref() {
            Some("y" | "yes" | "on" | "1" | "true" | "t") => return Ok(true),
            Some("n" | "no" | "off" | "0" | "false" | "f") => return Ok(false),
            _ => {}
        }
    }
    Ok(v.is_true())
}
fn falsy(s: &State, v: Value, a: &Args) -> Result<bool, Error> {
    truthy(s, v, a).map(|t| !t)
}

// ---------------------------------------------------------------------------------------
// Regular expressions and membership.

fn regex_test(v: &Value, a: &Args, mode: &str) -> Result<bool, Error> {
    let s = pyfmt::to_str(v);
    let pat = a.str(0, "pattern").unwrap_or_default();
    let ic = a.flag(1, "ignorecase", false);
    let ml = a.flag(2, "multiline", false);
    let mode = a.str(3, "match_type").unwrap_or_else(|| mode.to_string());
    let re = match mode.as_str() {
        "match" => filters::py_regex(&format!(r"\A(?:{pat})"), ic, ml)?,
        "fullmatch" => filters::py_regex(&format!(r"\A(?:{pat})\z"), ic, ml)?,
        "search" => filters::py_regex(&pat, ic, ml)?,
        _ => {
            return Err(fail(
                "Invalid match_type specified. Expected one of: search, match, fullmatch.",
            ))
        }
    };
    Ok(re.is_match(&s))
}
fn match_t(_: &State, v: Value, a: &Args) -> Result<bool, Error> {
    regex_test(&v, a, "match")
}
fn search_t(_: &State, v: Value, a: &Args) -> Result<bool, Error> {
    regex_test(&v, a, "search")
}
fn regex_t(_: &State, v: Value, a: &Args) -> Result<bool, Error> {
    regex_test(&v, a, "search")
}

/// Python's `x in container`.
pub fn py_in(x: &Value, container: &Value) -> Result<bool, Error> {
    match container.kind() {
        ValueKind::String => Ok(container
            .as_str()
            .unwrap_or_default()
            .contains(&pyfmt::to_str(x))),
        ValueKind::Seq | ValueKind::Iterable | ValueKind::Map => {
            Ok(filters::items(container)?.iter().any(|y| y == x))
        }
        _ => Err(fail(format!(
            "argument of type '{}' is not iterable",
            filters::type_name(container)
        ))),
    }
}
fn in_t(_: &State, v: Value, a: &Args) -> Result<bool, Error> {
    py_in(&v, &a.get(0, "seq").unwrap_or_default())
}
fn contains(_: &State, v: Value, a: &Args) -> Result<bool, Error> {
    py_in(&a.get(0, "value").unwrap_or_default(), &v)
}
/// Python's `any()` and `all()` on an iterable, by Python truthiness.
fn any(_: &State, v: Value, _: &Args) -> Result<bool, Error> {
    Ok(filters::items(&v)?.iter().any(|x| x.is_true()))
}
fn all(_: &State, v: Value, _: &Args) -> Result<bool, Error> {
    Ok(filters::items(&v)?.iter().all(|x| x.is_true()))
}
fn subset(_: &State, v: Value, a: &Args) -> Result<bool, Error> {
    let b = filters::items(&a.get(0, "b").unwrap_or_default())?;
    Ok(filters::items(&v)?.iter().all(|x| b.contains(x)))
}
fn superset(_: &State, v: Value, a: &Args) -> Result<bool, Error> {
    let b = filters::items(&a.get(0, "b").unwrap_or_default())?;
    let av = filters::items(&v)?;
    Ok(b.iter().all(|x| av.contains(x)))
}
fn version(_: &State, v: Value, a: &Args) -> Result<bool, Error> {
    let version = a.str(0, "version").unwrap_or_default();
    let op = a.str(1, "operator").unwrap_or_else(|| "eq".into());
    filters::version_compare(
        &pyfmt::to_str(&v),
        &version,
        &op,
        a.some(2, "strict").map(|s| s.is_true()),
        a.str(3, "version_type").as_deref(),
    )
}

// ---------------------------------------------------------------------------------------
// Task results.

fn result_key(v: &Value, test: &str, key: &str, default: bool) -> Result<bool, Error> {
    if !is_map(v) {
        return Err(fail(format!("The '{test}' test expects a dictionary")));
    }
    let x = v.get_attr(key).unwrap_or_default();
    Ok(if x.is_undefined() {
        default
    } else {
        x.is_true()
    })
}
fn failed(_: &State, v: Value, _: &Args) -> Result<bool, Error> {
    result_key(&v, "failed", "failed", false)
}
fn succeeded(_: &State, v: Value, _: &Args) -> Result<bool, Error> {
    result_key(&v, "success", "failed", false).map(|f| !f)
}
fn unreachable(_: &State, v: Value, _: &Args) -> Result<bool, Error> {
    result_key(&v, "unreachable", "unreachable", false)
}
fn reachable(_: &State, v: Value, _: &Args) -> Result<bool, Error> {
    result_key(&v, "reachable", "unreachable", false).map(|u| !u)
}
fn skipped(_: &State, v: Value, _: &Args) -> Result<bool, Error> {
    result_key(&v, "skipped", "skipped", false)
}
/// `timedout`: the task ran into its `timeout` keyword (a result with a timeout period).
fn timedout(_: &State, v: Value, _: &Args) -> Result<bool, Error> {
    if !is_map(&v) {
        return Err(fail("The 'timedout' test expects a dictionary"));
    }
    let t = v.get_attr("timedout").unwrap_or_default();
    Ok(t.is_true() && t.get_attr("period").is_ok_and(|p| p.is_true()))
}
fn finished(_: &State, v: Value, _: &Args) -> Result<bool, Error> {
    result_key(&v, "finished", "finished", true)
}
fn started(_: &State, v: Value, _: &Args) -> Result<bool, Error> {
    result_key(&v, "started", "started", true)
}
/// `changed`: the result's own flag, or any loop item's when the result has none.
fn changed(_: &State, v: Value, _: &Args) -> Result<bool, Error> {
    if !is_map(&v) {
        return Err(fail("The 'changed' test expects a dictionary"));
    }
    let c = v.get_attr("changed").unwrap_or_default();
    if !c.is_undefined() {
        return Ok(c.is_true());
    }
    let results = v.get_attr("results").unwrap_or_default();
    if is_seq(&results) {
        let list = filters::items(&results)?;
        if list.first().is_some_and(is_map) {
            return Ok(list
                .iter()
                .any(|r| r.get_attr("changed").map(|c| c.is_true()).unwrap_or(false)));
        }
    }
    Ok(false)
}

// ---------------------------------------------------------------------------------------
// Paths on the controller.

fn path_of(v: &Value) -> String {
    pyfmt::to_str(v)
}
fn abs(_: &State, v: Value, _: &Args) -> Result<bool, Error> {
    Ok(path_of(&v).starts_with('/'))
}
fn exists(_: &State, v: Value, _: &Args) -> Result<bool, Error> {
    Ok(Path::new(&path_of(&v)).exists())
}
fn file(_: &State, v: Value, _: &Args) -> Result<bool, Error> {
    Ok(Path::new(&path_of(&v)).is_file())
}
fn directory(_: &State, v: Value, _: &Args) -> Result<bool, Error> {
    Ok(Path::new(&path_of(&v)).is_dir())
}
fn link(_: &State, v: Value, _: &Args) -> Result<bool, Error> {
    Ok(Path::new(&path_of(&v)).is_symlink())
}
fn same_file(_: &State, v: Value, a: &Args) -> Result<bool, Error> {
    use std::os::unix::fs::MetadataExt;
    let other = a.str(0, "b").unwrap_or_default();
    let (m1, m2) = (std::fs::metadata(path_of(&v)), std::fs::metadata(other));
    match (m1, m2) {
        (Ok(x), Ok(y)) => Ok(x.dev() == y.dev() && x.ino() == y.ino()),
        (Err(e), _) | (_, Err(e)) => Err(fail(format!("[Errno 2] {e}"))),
    }
}
/// `vaulted_file`: the file (relative to the working directory) starts with the vault
/// header. An unreadable file is an error, not a false.
fn vaulted_file(_: &State, v: Value, _: &Args) -> Result<bool, Error> {
    use std::io::Read;
    let p = path_of(&v);
    let mut head = Vec::new();
    std::fs::File::open(&p)
        .and_then(|f| f.take(64).read_to_end(&mut head))
        .map_err(|_| {
            fail(format!(
                "Cannot test if the file {} is a vault.",
                pyfmt::repr(&v)
            ))
        })?;
    Ok(crate::vault::is_encrypted(&head))
}
/// `vault_encrypted`: the value is a `!vault` value (see [`crate::vault::open_value`]).
fn vault_encrypted(_: &State, v: Value, _: &Args) -> Result<bool, Error> {
    Ok(v.as_str().is_some_and(crate::vault::is_vault_value))
}
fn mount(_: &State, v: Value, _: &Args) -> Result<bool, Error> {
    use std::os::unix::fs::MetadataExt;
    let p = path_of(&v);
    let Ok(m) = std::fs::symlink_metadata(&p) else {
        return Ok(false);
    };
    if m.file_type().is_symlink() {
        return Ok(false);
    }
    let parent = std::fs::metadata(format!("{p}/..")).ok();
    Ok(parent.is_none_or(|pm| pm.dev() != m.dev() || pm.ino() == m.ino()))
}

pub fn register(env: &mut Environment<'static>) {
    add(env, &["defined"], defined);
    add(env, &["undefined"], undefined);
    add(env, &["none"], none);
    add(env, &["string"], string);
    add(env, &["number"], number);
    add(env, &["integer"], integer);
    add(env, &["nan", "isnan"], nan);
    add(env, &["float"], float);
    add(env, &["boolean"], boolean);
    add(env, &["mapping"], mapping);
    add(env, &["sequence"], sequence);
    add(env, &["iterable"], iterable);
    add(env, &["truthy"], truthy);
    add(env, &["falsy"], falsy);
    add(env, &["match"], match_t);
    add(env, &["search"], search_t);
    add(env, &["regex"], regex_t);
    add(env, &["in"], in_t);
    add(env, &["contains"], contains);
    add(env, &["any"], any);
    add(env, &["all"], all);
    add(env, &["subset", "issubset"], subset);
    add(env, &["superset", "issuperset"], superset);
    add(env, &["version", "version_compare"], version);
    add(env, &["failed", "failure"], failed);
    add(env, &["succeeded", "success", "successful"], succeeded);
    add(env, &["unreachable"], unreachable);
    add(env, &["reachable"], reachable);
    add(env, &["changed", "change"], changed);
    add(env, &["skipped", "skip"], skipped);
    add(env, &["finished"], finished);
    add(env, &["timedout"], timedout);
    add(env, &["started"], started);
    add(env, &["abs", "is_abs"], abs);
    add(env, &["exists"], exists);
    add(env, &["file", "is_file"], file);
    add(env, &["directory", "is_dir"], directory);
    add(env, &["link", "is_link"], link);
    add(env, &["same_file", "is_same_file"], same_file);
    add(env, &["mount", "is_mount"], mount);
    add(env, &["vaulted_file"], vaulted_file);
    add(env, &["vault_encrypted"], vault_encrypted);
}

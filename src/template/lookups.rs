//! Lookup plugins behind `lookup()`, `query()` and `q()`.
//!
//! Each lookup is a function from its terms (and keyword options) to a list of values.
//! `query`/`q` return that list; `lookup` returns it as Ansible does: the list itself with
//! `wantlist=True`, its only item when it has one, otherwise its items joined with `,` when
//! they are all strings. `errors='warn'|'ignore'` turn a failure into `None` (`[]` for
//! query), with a queued warning for `warn`.
//!
//! Relative files are searched like Ansible's search path: every directory in the
//! `ansible_search_path` variable (role first, then playbook directory; `role_path` and
//! `playbook_dir` when it is absent), first in its `files/` (or `templates/`, `vars/`)
//! subdirectory, then in the directory itself.
//!
//! The `template` lookup renders with the current variables: the `vars` variable (Ansible's
//! magic mapping of every variable, which the engine's lazy context provides) when it is a
//! mapping, otherwise a snapshot of every variable the template state knows.

use super::filters::{self, fail, is_map, is_seq, is_str, pyfmt, Args};
use minijinja::value::{Rest, Value, ValueOrKwargs};
use minijinja::{Environment, Error, State};
use std::cell::Cell;
use std::path::{Path, PathBuf};

type LookupFn = fn(&State, &[Value], &Args) -> Result<Vec<Value>, Error>;

fn lookup_fn(name: &str) -> Option<LookupFn> {
    let short = name
        .strip_prefix("ansible.builtin.")
        .or_else(|| name.strip_prefix("community.general."))
        .unwrap_or(name);
    Some(match short {
        "file" => file,
        "template" => template,
        "env" => env,
        "pipe" => pipe,
        "lines" => lines,
        "vars" => vars,
        "varnames" => varnames,
        "items" => items,
        "list" => list,
        "indexed_items" => indexed_items,
        "dict" => dict,
        "together" => together,
        "nested" | "cartesian" => nested,
        "subelements" => subelements,
        "sequence" => sequence,
        "first_found" => first_found,
        "fileglob" => fileglob,
        "password" => password,
        "ini" => ini,
        "csvfile" => csvfile,
        _ => return None,
    })
}

/// Run a lookup by name, returning its list of results (errors= applied by the caller).
pub fn run_lookup(
    state: &State,
    name: &str,
    terms: &[Value],
    args: &Args,
) -> Result<Vec<Value>, Error> {
    let f = lookup_fn(name).ok_or_else(|| fail(format!("lookup plugin ({name}) not found")))?;
    f(state, terms, args)
}

/// The handling shared by `lookup()` and `query()`; `Ok(None)` means an ignored error.
fn call(state: &State, rest: Rest<ValueOrKwargs>) -> Result<(Option<Vec<Value>>, bool), Error> {
    let a = Args::new(rest);
    let name = a
        .pos
        .first()
        .map(pyfmt::to_str)
        .ok_or_else(|| fail("lookup() requires the name of a lookup plugin"))?;
    let terms: Vec<Value> = a.pos[1..].to_vec();
    let wantlist = a.flag(usize::MAX, "wantlist", false);
    let errors = a
        .str(usize::MAX, "errors")
        .unwrap_or_else(|| "strict".into());
    if !["strict", "warn", "ignore"].contains(&errors.as_str()) {
        return Err(fail(
            "Invalid setting for 'errors' keyword argument: must be 'strict', 'warn' or 'ignore'",
        ));
    }
    let opts = Args {
        pos: vec![],
        kw: a
            .kw
            .into_iter()
            .filter(|(k, _)| k != "wantlist" && k != "errors")
            .collect(),
    };
    if lookup_fn(&name).is_none() {
        // An unknown plugin is reported as such whatever `errors` says.
        return Err(fail(format!("The lookup plugin '{name}' was not found.")));
    }
    match run_lookup(state, &name, &terms, &opts) {
        Ok(list) => Ok((Some(list), wantlist)),
        Err(e) if errors == "strict" => {
            if e.kind() != minijinja::ErrorKind::InvalidOperation {
                return Err(e);
            }
            let detail = e
                .detail()
                .map(str::to_string)
                .unwrap_or_else(|| e.to_string());
            Err(Error::new(
                minijinja::ErrorKind::InvalidOperation,
                format!("The lookup plugin '{name}' failed: {detail}"),
            ))
        }
        Err(e) => {
            if errors == "warn" {
                crate::diag::warn(format!(
                    "An error occurred while running the lookup plugin '{name}': {e}"
                ));
            }
            Ok((None, wantlist))
        }
    }
}

/// A literal term of a lookup call that holds template syntax (`lookup('pipe', 'echo
/// {{ x }}')`), templated with the task's variables as Ansible does before the call.
fn lookup_term(state: &State, text: String) -> Result<Value, Error> {
    let prepared = super::literals::prepare(&text, super::literals::Origin::Playbook);
    state
        .env()
        .render_str(&prepared, current_vars(state))
        .map(Value::from)
}

fn lookup(state: &State, rest: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let (list, wantlist) = call(state, rest)?;
    let Some(list) = list else {
        return Ok(Value::from(()));
    };
    if wantlist || list.is_empty() {
        return Ok(Value::from(list));
    }
    if list.len() == 1 {
        return Ok(list.into_iter().next().unwrap_or_default());
    }
    if list.iter().all(is_str) {
        return Ok(Value::from(
            list.iter().map(pyfmt::to_str).collect::<Vec<_>>().join(","),
        ));
    }
    Ok(Value::from(list))
}

fn query(state: &State, rest: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    let (list, _) = call(state, rest)?;
    Ok(Value::from(list.unwrap_or_default()))
}

// ---------------------------------------------------------------------------------------
// Search path.

fn var_str(state: &State, name: &str) -> Option<String> {
    state.lookup(name).filter(is_str).map(|v| pyfmt::to_str(&v))
}

/// The directories searched for relative files, role first.
pub fn search_dirs(state: &State) -> Vec<PathBuf> {
    if let Some(list) = state.lookup("ansible_search_path").filter(is_seq) {
        return filters::items(&list)
            .unwrap_or_default()
            .iter()
            .map(|d| PathBuf::from(pyfmt::to_str(d)))
            .collect();
    }
    let mut dirs: Vec<PathBuf> = ["role_path", "playbook_dir"]
        .iter()
        .filter_map(|n| var_str(state, n))
        .map(PathBuf::from)
        .collect();
    if dirs.is_empty() {
        dirs.push(std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")));
    }
    dirs
}

/// Find `name` in the search path's `subdir` directories (Ansible's find_file_in_search_path).
pub fn find_file(state: &State, subdir: &str, name: &str) -> Option<PathBuf> {
    let name = filters::expand_user(name);
    if name.starts_with('/') {
        return Path::new(&name).exists().then(|| PathBuf::from(&name));
    }
    for d in search_dirs(state) {
        for cand in [d.join(subdir).join(&name), d.join(&name)] {
            if cand.exists() {
                return Some(cand);
            }
        }
    }
    None
}

fn read_text(p: &Path) -> Result<String, Error> {
    std::fs::read(p)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| fail(format!("Unable to access the file '{}': {e}", p.display())))
}

/// A file the lookups of Ansible's loader read (`file`, `template`, `ini`): decrypted
/// when it is a vault.
fn read_controller_text(p: &Path) -> Result<String, String> {
    crate::vault::read_file(p).map(|b| String::from_utf8_lossy(&b).into_owned())
}

// ---------------------------------------------------------------------------------------
// Term parsing shared by the key=value lookups.

/// `word key=value key='quoted value'` split like Ansible's parse_kv.
fn parse_kv(s: &str) -> (Vec<String>, Vec<(String, String)>) {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c.is_whitespace() => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            None => cur.push(c),
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    let mut free = Vec::new();
    let mut kv = Vec::new();
    for w in words {
        match w.split_once('=') {
            Some((k, v))
                if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                kv.push((k.to_string(), v.to_string()))
            }
            _ => free.push(w),
        }
    }
    (free, kv)
}

fn opt(kv: &[(String, String)], a: &Args, name: &str) -> Option<String> {
    kv.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .or_else(|| a.str(usize::MAX, name))
}

fn flatten_terms(terms: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    for t in terms {
        if is_seq(t) {
            out.extend(filters::items(t).unwrap_or_default());
        } else {
            out.push(t.clone());
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// The lookups.

fn file(state: &State, terms: &[Value], a: &Args) -> Result<Vec<Value>, Error> {
    let rstrip = a.flag(usize::MAX, "rstrip", true);
    let lstrip = a.flag(usize::MAX, "lstrip", false);
    let mut out = Vec::new();
    for t in flatten_terms(terms) {
        let name = pyfmt::to_str(&t);
        let p = find_file(state, "files", &name)
            .filter(|p| p.is_file())
            .ok_or_else(|| fail(format!("Unable to access the file '{name}': File not found. Use -vvvvv to see paths searched.")))?;
        let mut s = read_controller_text(&p)
            .map_err(|m| fail(format!("Unable to access the file '{name}': {m}")))?;
        if rstrip {
            s = s.trim_end().to_string();
        }
        if lstrip {
            s = s.trim_start().to_string();
        }
        out.push(Value::from(s));
    }
    Ok(out)
}

thread_local! {
    static TEMPLATE_DEPTH: Cell<usize> = const { Cell::new(0) };
}

/// The variables a nested render sees: `vars` when it is a mapping, else a snapshot.
pub fn current_vars(state: &State) -> Value {
    if let Some(v) = state.lookup("vars").filter(is_map) {
        return v;
    }
    let pairs: Vec<(Value, Value)> = state
        .known_variables()
        .into_iter()
        .filter_map(|n| state.lookup(&n).map(|v| (Value::from(n.as_ref()), v)))
        .collect();
    filters::map_from(pairs)
}

fn template(state: &State, terms: &[Value], a: &Args) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    let extra = a.some(usize::MAX, "template_vars");
    let opts = super::TemplateOptions {
        trim_blocks: a.flag(usize::MAX, "trim_blocks", true),
        variable_start_string: a.str(usize::MAX, "variable_start_string"),
        variable_end_string: a.str(usize::MAX, "variable_end_string"),
        comment_start_string: a.str(usize::MAX, "comment_start_string"),
        comment_end_string: a.str(usize::MAX, "comment_end_string"),
        ..Default::default()
    };
    for t in flatten_terms(terms) {
        let name = pyfmt::to_str(&t);
        let p = find_file(state, "templates", &name)
            .filter(|p| p.is_file())
            .ok_or_else(|| {
                fail(format!(
                    "the template file {name} could not be found for the lookup"
                ))
            })?;
        let src = read_controller_text(&p).map_err(fail)?;
        let depth = TEMPLATE_DEPTH.with(|d| d.get());
        if depth > 32 {
            return Err(fail(format!(
                "recursive loop detected in template lookup of {name}"
            )));
        }
        let mut own_vars = vec![
            (Value::from("template_path"), Value::from(name.as_str())),
            (
                Value::from("template_fullpath"),
                Value::from(p.display().to_string()),
            ),
            (
                Value::from("template_host"),
                Value::from(std::env::var("HOSTNAME").unwrap_or_default()),
            ),
        ];
        // Ansible's default ansible_managed, unless the play sets its own.
        if state
            .lookup("ansible_managed")
            .is_none_or(|v| v.is_undefined())
        {
            own_vars.push((
                Value::from("ansible_managed"),
                Value::from("Ansible managed"),
            ));
        }
        let own = filters::map_from(own_vars);
        let mut layers = Vec::new();
        if let Some(e) = &extra {
            layers.push(e.clone());
        }
        layers.push(own);
        layers.push(current_vars(state));
        let ctx = minijinja::value::merge_maps(layers);
        // `{% include %}` and `{% import %}` look in the template's own directory, then in
        // each search path directory's templates/ and the directory itself.
        let mut includes = vec![p.parent().map(Path::to_path_buf).unwrap_or_default()];
        for d in search_dirs(state) {
            includes.push(d.join("templates"));
            includes.push(d);
        }
        let env_for = |chain: bool| -> Result<Environment<'static>, Error> {
            let mut env = super::file_environment(&opts)?;
            if chain {
                env = super::chaining(env);
            }
            let dirs = includes.clone();
            env.set_loader(move |name| {
                for d in &dirs {
                    let cand = d.join(name);
                    if cand.is_file() {
                        let mut text = read_controller_text(&cand).map_err(fail)?;
                        // Jinja drops an included template's one trailing newline.
                        if text.ends_with('\n') {
                            text.pop();
                        }
                        let prepared =
                            super::literals::prepare(&text, super::literals::Origin::File);
                        return Ok(Some(prepared.into_owned()));
                    }
                }
                Ok(None)
            });
            Ok(env)
        };
        TEMPLATE_DEPTH.with(|d| d.set(depth + 1));
        // Custom delimiters keep minijinja's reading of literals (as the template action).
        let default_syntax = opts.variable_start_string.is_none()
            && opts.variable_end_string.is_none()
            && opts.comment_start_string.is_none()
            && opts.comment_end_string.is_none();
        let prepared = if default_syntax {
            super::literals::prepare(&src, super::literals::Origin::File)
        } else {
            std::borrow::Cow::Borrowed(src.as_str())
        };
        // Jinja drops the source's one trailing newline; the result is native, as Ansible's
        // templating makes it: a lone expression keeps its type, no output is None, and text
        // gets the trailing newline back.
        let body = prepared.strip_suffix('\n').unwrap_or(&prepared).to_string();
        let lone = default_syntax
            && super::literals::print_tag_end(&body) == Some(body.len())
            && !body[2..body.len() - 2].contains("}}");
        let run = |chain: bool| -> Result<Value, Error> {
            let env = env_for(chain)?;
            if lone {
                let inner = &body[2..body.len() - 2];
                let inner = inner.strip_prefix('-').unwrap_or(inner);
                let inner = inner.strip_suffix('-').unwrap_or(inner);
                let v = env.compile_expression(inner)?.eval(ctx.clone())?;
                if v.is_undefined() {
                    return Err(Error::from(minijinja::ErrorKind::UndefinedError));
                }
                return Ok(v);
            }
            env.render_named_str(&name, &body, ctx.clone())
                .map(Value::from)
        };
        let r = match run(false) {
            Err(e)
                if e.kind() == minijinja::ErrorKind::UndefinedError
                    && super::context::asks_for_undefined(&prepared) =>
            {
                run(true).or(Err(e))
            }
            other => other,
        };
        TEMPLATE_DEPTH.with(|d| d.set(depth));
        let v = r?;
        out.push(match v.as_str() {
            Some("") if !lone => Value::from(()),
            Some(text) if prepared.ends_with('\n') => Value::from(format!("{text}\n")),
            _ => v,
        });
    }
    Ok(out)
}

fn env(_: &State, terms: &[Value], a: &Args) -> Result<Vec<Value>, Error> {
    let default = a.get(usize::MAX, "default");
    flatten_terms(terms)
        .iter()
        .map(|t| match std::env::var(pyfmt::to_str(t)) {
            Ok(v) => Ok(Value::from(v)),
            Err(_) => Ok(default.clone().unwrap_or(Value::from(""))),
        })
        .collect()
}

fn shell(cmd: &str, state: &State) -> Result<(i32, String), Error> {
    let mut c = std::process::Command::new("/bin/sh");
    c.arg("-c").arg(cmd);
    if let Some(d) = search_dirs(state).into_iter().find(|d| d.is_dir()) {
        c.current_dir(d);
    }
    let o = c
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| fail(format!("lookup_plugin.pipe({cmd}) failed: {e}")))?;
    Ok((
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    ))
}

fn pipe(state: &State, terms: &[Value], _: &Args) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for t in terms {
        let cmd = pyfmt::to_str(t);
        let (rc, stdout) = shell(&cmd, state)?;
        if rc != 0 {
            return Err(fail(format!("lookup_plugin.pipe({cmd}) returned {rc}")));
        }
        out.push(Value::from(stdout.trim_end()));
    }
    Ok(out)
}

fn lines(state: &State, terms: &[Value], _: &Args) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for t in terms {
        let cmd = pyfmt::to_str(t);
        let (rc, stdout) = shell(&cmd, state)?;
        if rc != 0 {
            return Err(fail(format!("lookup_plugin.lines({cmd}) returned {rc}")));
        }
        out.extend(stdout.lines().map(Value::from));
    }
    Ok(out)
}

fn vars(state: &State, terms: &[Value], a: &Args) -> Result<Vec<Value>, Error> {
    let default = a.get(usize::MAX, "default");
    let mut out = Vec::new();
    for t in terms {
        if !is_str(t) {
            return Err(fail(format!(
                "Variable name must be 'str' not '{}'.",
                filters::type_name(t)
            )));
        }
        let name = pyfmt::to_str(t);
        let v = state
            .lookup(&name)
            .filter(|v| !v.is_undefined())
            .or_else(|| {
                current_vars(state)
                    .get_attr(&name)
                    .ok()
                    .filter(|v| !v.is_undefined())
            });
        match (v, &default) {
            (Some(v), _) => out.push(v),
            (None, Some(d)) => out.push(d.clone()),
            (None, None) => return Err(fail(format!("No variable named '{name}' was found."))),
        }
    }
    Ok(out)
}

fn varnames(state: &State, terms: &[Value], _: &Args) -> Result<Vec<Value>, Error> {
    let mut names: Vec<String> = state
        .known_variables()
        .into_iter()
        .map(|n| n.to_string())
        .collect();
    if let Some(v) = state.lookup("vars").filter(is_map) {
        for k in filters::items(&v)? {
            let k = pyfmt::to_str(&k);
            if !names.contains(&k) {
                names.push(k);
            }
        }
    }
    let mut out = Vec::new();
    for t in terms {
        let Some(term) = t.as_str() else {
            return Err(fail(format!(
                "Invalid setting identifier, \"{}\" is not a string, it is a <class '{}'>",
                pyfmt::to_str(t),
                filters::type_name(t)
            )));
        };
        let re = filters::py_regex(term, false, false).map_err(|e| {
            fail(format!(
                "Unable to use \"{term}\" as a search parameter: {}",
                e.detail().unwrap_or_default()
            ))
        })?;
        out.extend(
            names
                .iter()
                .filter(|n| re.is_match(n))
                .map(|n| Value::from(n.as_str())),
        );
    }
    Ok(out)
}

fn items(_: &State, terms: &[Value], _: &Args) -> Result<Vec<Value>, Error> {
    Ok(flatten_terms(terms))
}

fn list(_: &State, terms: &[Value], _: &Args) -> Result<Vec<Value>, Error> {
    Ok(terms.to_vec())
}

fn indexed_items(_: &State, terms: &[Value], _: &Args) -> Result<Vec<Value>, Error> {
    Ok(flatten_terms(terms)
        .into_iter()
        .enumerate()
        .map(|(i, x)| Value::from(vec![Value::from(i), x]))
        .collect())
}

fn dict(_: &State, terms: &[Value], _: &Args) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for t in terms {
        if !is_map(t) {
            return Err(fail(format!(
                "the 'dict' lookup plugin expects a dictionary, got '{}' of type <class '{}'>)",
                pyfmt::to_str(t),
                filters::type_name(t)
            )));
        }
        for k in filters::items(t)? {
            let v = t.get_item(&k).unwrap_or_default();
            out.push(filters::map_from(vec![
                (Value::from("key"), k),
                (Value::from("value"), v),
            ]));
        }
    }
    Ok(out)
}

fn together(_: &State, terms: &[Value], _: &Args) -> Result<Vec<Value>, Error> {
    let lists: Vec<Vec<Value>> = terms.iter().map(filters::items).collect::<Result<_, _>>()?;
    if lists.is_empty() {
        return Err(fail(
            "with_together requires at least one element in each list",
        ));
    }
    let n = lists.iter().map(|l| l.len()).max().unwrap_or(0);
    Ok((0..n)
        .map(|i| {
            Value::from(
                lists
                    .iter()
                    .map(|l| l.get(i).cloned().unwrap_or(Value::from(())))
                    .collect::<Vec<_>>(),
            )
        })
        .collect())
}

fn nested(_: &State, terms: &[Value], _: &Args) -> Result<Vec<Value>, Error> {
    let lists: Vec<Vec<Value>> = terms
        .iter()
        .map(|t| {
            if is_seq(t) {
                filters::items(t)
            } else {
                Ok(vec![t.clone()])
            }
        })
        .collect::<Result<_, _>>()?;
    if lists.is_empty() {
        return Err(fail(
            "with_nested requires at least one element in the nested list",
        ));
    }
    Ok(filters::product_of(&lists)
        .into_iter()
        .map(|combo| Value::from(flatten_terms(&combo)))
        .collect())
}

fn subelements(_: &State, terms: &[Value], _: &Args) -> Result<Vec<Value>, Error> {
    if terms.len() < 2 || terms.len() > 3 {
        return Err(fail(
            "subelements lookup expects a list of two or three items, ",
        ));
    }
    if let Some(flags) = terms.get(2) {
        let known = |k: &Value| k.as_str() == Some("skip_missing");
        if !is_map(flags) && !filters::items(flags).is_ok_and(|ks| ks.iter().all(known)) {
            return Err(fail(
                "subelements lookup expects a list of two or three items, the optional third item must be a dict with flags skip_missing",
            ));
        }
    }
    let skip = terms
        .get(2)
        .filter(|f| is_map(f))
        .and_then(|f| f.get_attr("skip_missing").ok())
        .map(|v| v.is_true())
        .unwrap_or(false);
    if !(is_seq(&terms[0]) || is_map(&terms[0])) || !is_str(&terms[1]) {
        return Err(fail(
            "subelements lookup expects a list of two or three items, first a dict or a list, second a string pointing to the subkey",
        ));
    }
    let mut data = terms[0].clone();
    if is_map(&data) {
        // A registered result that was skipped as a whole gives nothing.
        if data.get_attr("skipped").is_ok_and(|v| skipped_flag(&v)) {
            return Ok(Vec::new());
        }
        data = Value::from(
            filters::items(&data)?
                .iter()
                .map(|k| data.get_item(k).unwrap_or_default())
                .collect::<Vec<_>>(),
        );
    }
    let path = pyfmt::to_str(&terms[1]);
    let keys: Vec<&str> = path.split('.').collect();
    let quoted = |v: &Value| format!("'{}'", pyfmt::to_str(v));
    let mut out = Vec::new();
    for elem in filters::items(&data)? {
        if !is_map(&elem) {
            return Err(fail(format!(
                "subelements lookup expects a dictionary, got {}",
                quoted(&elem)
            )));
        }
        if elem.get_attr("skipped").is_ok_and(|v| skipped_flag(&v)) {
            continue;
        }
        // Ansible's walk: with skip_missing a missing or non-dict step is passed over
        // (leaving nothing to iterate), otherwise it is an error.
        let mut cur = elem.clone();
        let mut sublist = None;
        for (i, key) in keys.iter().enumerate() {
            let last = i + 1 == keys.len();
            let next = cur.get_attr(key).unwrap_or_default();
            if next.is_undefined() {
                if skip {
                    continue;
                }
                return Err(fail(format!(
                    "could not find '{key}' key in iterated item {}",
                    quoted(&cur)
                )));
            }
            if !last {
                if !is_map(&next) {
                    if skip {
                        continue;
                    }
                    return Err(fail(format!(
                        "the key {key} should point to a dictionary, got {}",
                        quoted(&next)
                    )));
                }
                cur = next;
            } else if !is_seq(&next) {
                return Err(fail(format!(
                    "the key {key} should point to a list, got {}",
                    quoted(&next)
                )));
            } else {
                sublist = Some(next);
            }
        }
        let Some(sublist) = sublist else { continue };
        let shown = filters::without_path(&elem, &keys);
        for sub in filters::items(&sublist)? {
            out.push(Value::from(vec![shown.clone(), sub]));
        }
    }
    Ok(out)
}

/// Ansible's `x.get('skipped', False) is not False`: any value but a false boolean.
fn skipped_flag(v: &Value) -> bool {
    !v.is_undefined() && (v.kind() != minijinja::value::ValueKind::Bool || v.is_true())
}

fn sequence(_: &State, terms: &[Value], a: &Args) -> Result<Vec<Value>, Error> {
    const FIELDS: [&str; 5] = ["start", "end", "stride", "count", "format"];
    // Options are typed as Ansible's config types them: integers (ints, or strings that
    // read as a whole decimal number) and a format string.
    let int_opt = |name: &str, v: &Value| -> Result<i64, Error> {
        let n = if v.is_integer() {
            v.as_i64()
        } else if let Some(s) = v.as_str() {
            decimal_int(s)
        } else {
            f64::try_from(v.clone())
                .ok()
                .filter(|f| f.fract() == 0.0)
                .map(|f| f as i64)
        };
        n.ok_or_else(|| {
            fail(format!(
                "Config '{name}' for 'sequence' lookup plugin from 'Direct' has an invalid value: Invalid value provided for 'integer': {}",
                pyfmt::repr(v)
            ))
        })
    };
    let shortcut =
        regex::Regex::new(r"(?i)^((0?x?[0-9a-f]+)-)?(0?x?[0-9a-f]+)(/(0?x?[0-9a-f]+))?(:(.+))?$")
            .expect("sequence regex");
    let mut terms = terms.to_vec();
    if terms.is_empty() && !a.kw.is_empty() {
        terms.push(Value::from(""));
    }
    let mut out = Vec::new();
    for t in &terms {
        let term = pyfmt::to_str(t);
        let mut given: Vec<(String, Value)> = FIELDS
            .iter()
            .filter_map(|f| a.kw.iter().find(|(k, _)| k == f).cloned())
            .collect();
        let mut set = |k: &str, v: Value| {
            given.retain(|(g, _)| g != k);
            given.push((k.to_string(), v));
        };
        if let Some(c) = shortcut.captures(&term) {
            for (field, group) in [("start", 2), ("end", 3), ("stride", 5), ("format", 7)] {
                if let Some(m) = c.get(group) {
                    set(field, Value::from(m.as_str()));
                }
            }
        } else {
            let mut kv = crate::playbook::parse_kv(&term, false, &[]);
            for f in FIELDS {
                if let Some(v) = kv.shift_remove(f) {
                    set(f, Value::from(v));
                }
            }
            if !kv.is_empty() {
                let keys: Vec<Value> = kv.keys().map(|k| Value::from(k.as_str())).collect();
                return Err(fail(format!(
                    "unrecognized arguments to with_sequence: {}",
                    pyfmt::repr(&Value::from(keys))
                )));
            }
        }
        let get = |k: &str| given.iter().find(|(g, _)| g == k).map(|(_, v)| v);
        let mut ints = [Some(1i64), None, Some(1), None];
        for (i, f) in ["start", "end", "stride", "count"].iter().enumerate() {
            if let Some(v) = get(f).filter(|v| !v.is_none()) {
                ints[i] = Some(int_opt(f, v)?);
            }
        }
        let [start, end, stride, count] = ints;
        let (start, stride) = (start.unwrap_or(1), stride.unwrap_or(1));
        let format = get("format")
            .filter(|v| !v.is_none())
            .map(pyfmt::to_str)
            .unwrap_or_else(|| "%d".into());
        let end = match (end, count) {
            (None, None) => return Err(fail("must specify count or end in with_sequence")),
            (Some(_), Some(_)) => {
                return Err(fail("can't specify both count and end in with_sequence"))
            }
            (None, Some(0)) => continue,
            // As Ansible computes it, whatever the sign of the stride.
            (None, Some(c)) => start + c * stride - 1,
            (Some(e), None) => e,
        };
        if stride > 0 && end < start {
            return Err(fail("to count backwards make stride negative"));
        }
        if stride < 0 && end > start {
            return Err(fail("to count forward don't make stride negative"));
        }
        if stride == 0 {
            continue;
        }
        if format.matches('%').count() != 1 {
            return Err(fail(format!("bad formatting string: {format}")));
        }
        let mut i = start;
        while (stride > 0 && i <= end) || (stride < 0 && i >= end) {
            out.push(Value::from(printf_int(&format, i)?));
            i += stride;
        }
    }
    Ok(out)
}

/// A string as Python's `int(Decimal(s))` reads it when the number is whole: surrounding
/// whitespace, a sign, decimal digits with an optional fraction and exponent.
fn decimal_int(s: &str) -> Option<i64> {
    let t = s.trim();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (mant, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i32>().ok()?),
        None => (t, 0),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut digits = format!("{int}{frac}");
    let point = int.len() as i64 + exp as i64;
    if point < 0 {
        return digits.bytes().all(|b| b == b'0').then_some(0);
    }
    let point = point as usize;
    if point >= digits.len() {
        digits.push_str(&"0".repeat(point - digits.len()));
    } else if !digits[point..].bytes().all(|b| b == b'0') {
        return None;
    }
    let whole = &digits[..point];
    let n: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    Some(if neg { -n } else { n })
}

/// Python's `format % n` for one integer conversion (`%d`, `%02d`, `%x`, `%o`, `%s`).
fn printf_int(fmt: &str, n: i64) -> Result<String, Error> {
    let re = regex::Regex::new(r"%([-0 +#]*)(\d*)([dixXos])").expect("printf regex");
    let mut out = String::new();
    let mut last = 0;
    let mut used = false;
    for c in re.captures_iter(fmt) {
        let m = c.get(0).map(|m| (m.start(), m.end())).unwrap_or((0, 0));
        out.push_str(&fmt[last..m.0].replace("%%", "%"));
        last = m.1;
        if used {
            return Err(fail("not enough arguments for format string"));
        }
        used = true;
        let flags = &c[1];
        let width: usize = c[2].parse().unwrap_or(0);
        let body = match &c[3] {
            "x" => format!("{n:x}"),
            "X" => format!("{n:X}"),
            "o" => format!("{n:o}"),
            _ => n.to_string(),
        };
        let s = if flags.contains('-') {
            format!("{body:<width$}")
        } else if flags.contains('0') {
            if n < 0 {
                format!("-{:0>w$}", &body[1..], w = width.saturating_sub(1))
            } else {
                format!("{body:0>width$}")
            }
        } else {
            format!("{body:>width$}")
        };
        out.push_str(&s);
    }
    out.push_str(&fmt[last..].replace("%%", "%"));
    if !used {
        return Err(fail(format!("bad formatting string: {fmt}")));
    }
    Ok(out)
}

fn first_found(state: &State, terms: &[Value], a: &Args) -> Result<Vec<Value>, Error> {
    let mut files: Vec<String> = Vec::new();
    let mut paths: Vec<String> = Vec::new();
    let mut skip = a.flag(usize::MAX, "skip", false);
    let split = |v: &Value| -> Vec<String> {
        let list = if is_seq(v) {
            filters::items(v).unwrap_or_default()
        } else {
            vec![v.clone()]
        };
        list.iter()
            .flat_map(|x| {
                pyfmt::to_str(x)
                    .split([',', ';'])
                    .map(|s| s.trim().to_string())
                    .collect::<Vec<_>>()
            })
            .filter(|s| !s.is_empty())
            .collect()
    };
    if let Some(f) = a.some(usize::MAX, "files") {
        files.extend(split(&f));
    }
    if let Some(p) = a.some(usize::MAX, "paths") {
        paths.extend(split(&p));
    }
    for t in flatten_terms(terms) {
        if is_map(&t) {
            let (tf, tp) = (
                t.get_attr("files").unwrap_or_default(),
                t.get_attr("paths").unwrap_or_default(),
            );
            let mut ff = if tf.is_undefined() {
                vec![]
            } else {
                split(&tf)
            };
            let pp = if tp.is_undefined() {
                vec![]
            } else {
                split(&tp)
            };
            if t.get_attr("skip").map(|s| s.is_true()).unwrap_or(false) {
                skip = true;
            }
            if pp.is_empty() {
                files.append(&mut ff);
            } else {
                for p in &pp {
                    for f in &ff {
                        files.push(filters::path_join_parts(&[p.clone(), f.clone()]));
                    }
                }
            }
        } else {
            files.push(pyfmt::to_str(&t));
        }
    }
    let candidates: Vec<String> = if paths.is_empty() {
        files
    } else {
        paths
            .iter()
            .flat_map(|p| {
                files
                    .iter()
                    .map(move |f| filters::path_join_parts(&[p.clone(), f.clone()]))
            })
            .collect()
    };
    for c in &candidates {
        if let Some(p) = find_file(state, "files", c).filter(|p| p.is_file()) {
            return Ok(vec![Value::from(p.display().to_string())]);
        }
    }
    if skip {
        return Ok(vec![]);
    }
    Err(fail("No file was found when using first_found."))
}

fn fileglob(state: &State, terms: &[Value], _: &Args) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for t in terms {
        let term = pyfmt::to_str(t);
        let base = filters::py_basename(&term).to_string();
        let dir = filters::py_dirname(&term);
        // A bare pattern is tried in every search directory (files/ first) until one
        // matches; a pattern with a directory globs in the first place that directory is.
        let candidates: Vec<PathBuf> = if term.starts_with('/') {
            vec![PathBuf::from(&dir)]
        } else if dir.is_empty() {
            search_dirs(state)
                .into_iter()
                .flat_map(|d| [d.join("files"), d])
                .collect()
        } else {
            search_dirs(state)
                .into_iter()
                .flat_map(|d| [d.join("files").join(&dir), d.join(&dir)])
                .find(|p| p.exists())
                .into_iter()
                .collect()
        };
        for d in candidates {
            let pat = format!("{}/{}", d.display().to_string().trim_end_matches('/'), base);
            let found = filters::glob_files(&pat);
            if !found.is_empty() {
                out.extend(found.into_iter().map(Value::from));
                break;
            }
        }
    }
    Ok(out)
}

const ASCII_LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &str = "0123456789";

fn password_chars(spec: Option<String>) -> Vec<char> {
    let spec = match spec {
        Some(s) => s,
        None => return format!("{ASCII_LETTERS}{DIGITS}.,:-_").chars().collect(),
    };
    let mut out = String::new();
    // Ansible splits on commas, with ",," meaning a literal comma.
    let spec = spec.replace(",,", "\u{0}");
    for part in spec.split(',') {
        let part = part.replace('\u{0}', ",");
        out.push_str(match part.as_str() {
            "ascii_letters" => ASCII_LETTERS,
            "ascii_lowercase" => "abcdefghijklmnopqrstuvwxyz",
            "ascii_uppercase" => "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "digits" => DIGITS,
            "hexdigits" => "0123456789abcdefABCDEF",
            "octdigits" => "01234567",
            "punctuation" => "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
            other => other,
        });
    }
    let mut seen = Vec::new();
    for c in out.chars() {
        if !seen.contains(&c) {
            seen.push(c);
        }
    }
    seen
}

fn password(state: &State, terms: &[Value], a: &Args) -> Result<Vec<Value>, Error> {
    use rand::Rng;
    let mut out = Vec::new();
    for t in terms {
        let term = pyfmt::to_str(t);
        let (free, kv) = parse_kv(&term);
        let path = free.first().cloned().ok_or_else(|| {
            fail(format!(
                "Unrecognized value after key=value parameters given to password lookup: {term}"
            ))
        })?;
        let length: usize = opt(&kv, a, "length")
            .map(|l| {
                l.parse()
                    .map_err(|_| fail(format!("length must be an integer: {l}")))
            })
            .transpose()?
            .unwrap_or(20);
        let chars = password_chars(opt(&kv, a, "chars"));
        let seed = opt(&kv, a, "seed");
        let gen = |len: usize| -> String {
            match &seed {
                Some(s) => {
                    let mut r = filters::pyrandom::PyRandom::from_str_seed(s);
                    (0..len)
                        .map(|_| chars[r.randbelow(chars.len() as u64) as usize])
                        .collect()
                }
                None => {
                    let mut r = rand::rng();
                    (0..len)
                        .map(|_| chars[r.random_range(0..chars.len())])
                        .collect()
                }
            }
        };
        if path == "/dev/null" {
            out.push(Value::from(gen(length)));
            continue;
        }
        let p = if path.starts_with('/') {
            PathBuf::from(&path)
        } else {
            let base = var_str(state, "playbook_dir")
                .map(PathBuf::from)
                .or_else(|| search_dirs(state).into_iter().last())
                .unwrap_or_else(|| PathBuf::from("."));
            base.join(&path)
        };
        if p.is_file() {
            let content = read_text(&p)?;
            let first = content.lines().next().unwrap_or_default();
            let pw = match first.find(" salt=") {
                Some(i) => &first[..i],
                None => first,
            };
            out.push(Value::from(pw.trim_end()));
        } else {
            let pw = gen(length);
            if let Some(dir) = p.parent() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
            }
            std::fs::write(&p, format!("{pw}\n"))
                .map_err(|e| fail(format!("cannot write {}: {e}", p.display())))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600));
            }
            out.push(Value::from(pw));
        }
    }
    Ok(out)
}

fn ini(state: &State, terms: &[Value], a: &Args) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    const OPTIONS: &[&str] = &[
        "type",
        "file",
        "section",
        "re",
        "encoding",
        "default",
        "case_sensitive",
        "allow_no_value",
        "allow_none",
        "interpolation",
    ];
    for t in terms {
        let term = pyfmt::to_str(t);
        let mut free: Vec<String> = vec![term.clone()];
        let mut kv: Vec<(String, String)> = Vec::new();
        if term.contains('=') || term.trim().contains(' ') {
            // Ansible's own splitting: words run on into the current option (or the key)
            // until a word names another option with `option=`.
            let mut params: Vec<(String, String)> = Vec::new();
            let mut this = "key".to_string();
            for (i, word) in term.split_whitespace().enumerate() {
                if word.contains('=') {
                    if let Some(k) = OPTIONS
                        .iter()
                        .rev()
                        .find(|k| word.contains(&format!("{k}=")))
                    {
                        this = k.to_string();
                    }
                }
                match params.iter_mut().find(|(k, _)| *k == this) {
                    Some((_, v)) if i > 0 && !v.is_empty() => {
                        v.push(' ');
                        v.push_str(word);
                    }
                    Some((_, v)) => *v = word.to_string(),
                    None => params.push((this.clone(), word.to_string())),
                }
            }
            free.clear();
            for (_, param) in params {
                if let Some((name, value)) = param.split_once('=') {
                    if !OPTIONS.contains(&name) {
                        return Err(fail(format!(
                            "{} is not a valid option.",
                            pyfmt::str_repr(name)
                        )));
                    }
                    kv.push((name.to_string(), value.to_string()));
                } else if free.is_empty() {
                    free.push(param);
                }
            }
            if free.is_empty() {
                return Err(fail(format!(
                    "No key to look up was provided as first term within string inline options: {term}"
                )));
            }
        }
        let key = free.join(" ");
        let get = |k: &str, d: &str| opt(&kv, a, k).unwrap_or_else(|| d.to_string());
        let kind = get("type", "ini");
        let file_name = get(
            "file",
            if kind == "properties" {
                "ansible.properties"
            } else {
                "ansible.ini"
            },
        );
        let section = get("section", "global");
        let default = opt(&kv, a, "default")
            .map(Value::from)
            .unwrap_or(Value::from(""));
        let is_re = opt(&kv, a, "re")
            .is_some_and(|r| matches!(r.to_lowercase().as_str(), "true" | "yes" | "1"));
        let case_sensitive = opt(&kv, a, "case_sensitive")
            .is_some_and(|r| matches!(r.to_lowercase().as_str(), "true" | "yes" | "1"));
        let p = find_file(state, "files", &file_name)
            .ok_or_else(|| fail(format!("Unable to access the file '{file_name}'")))?;
        let bytes = crate::vault::read_file(&p).map_err(fail)?;
        let text = decode_text(&bytes, &get("encoding", "utf-8"))?;
        let text = if kind == "properties" {
            format!("[java_properties]\n{text}")
        } else {
            text
        };
        let section = if kind == "properties" {
            "java_properties".to_string()
        } else {
            section
        };
        let allow_no_value = ["allow_no_value", "allow_none"].iter().any(|o| {
            opt(&kv, a, o)
                .is_some_and(|r| matches!(r.to_lowercase().as_str(), "true" | "yes" | "1"))
        });
        let mut entries: Vec<(String, Option<String>)> = Vec::new();
        let mut defaults: Vec<(String, String)> = Vec::new();
        let mut cur_section: Option<String> = None;
        let mut found_section = false;
        // Python's strict configparser refuses an option given twice in a section, in any
        // section of the file.
        let mut seen: std::collections::HashSet<(String, String)> = Default::default();
        for (n, line) in text.lines().enumerate() {
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
                continue;
            }
            if l.starts_with('[') && l.ends_with(']') {
                cur_section = Some(l[1..l.len() - 1].to_string());
                found_section |= cur_section.as_deref() == Some(section.as_str());
                continue;
            }
            if let Some(i) = l.find(['=', ':']) {
                let k = l[..i].trim();
                let k = if case_sensitive {
                    k.to_string()
                } else {
                    k.to_lowercase()
                };
                let sec = cur_section.clone().unwrap_or_default();
                if !seen.insert((sec.clone(), k.clone())) {
                    return Err(fail(format!(
                        "Duplicate option in {}: While reading from '<???>' [line {:2}]: option {} in section {} already exists",
                        pyfmt::str_repr(&file_name),
                        n + 1,
                        pyfmt::str_repr(&k),
                        pyfmt::str_repr(&sec)
                    )));
                }
                let v = l[i + 1..].trim().to_string();
                if cur_section.as_deref() == Some("DEFAULT") {
                    defaults.push((k.clone(), v.clone()));
                }
                if cur_section.as_deref() != Some(section.as_str()) {
                    continue;
                }
                entries.push((k, Some(v)));
            } else if cur_section.is_some() {
                // An option without a value: refused unless allowed, as configparser does.
                if !allow_no_value {
                    return Err(fail(format!(
                        "Source contains parsing errors: '<???>'\n\t[line {:2}]: {}",
                        n + 1,
                        pyfmt::str_repr(&format!("{line}\n"))
                    )));
                }
                let k = if case_sensitive {
                    l.to_string()
                } else {
                    l.to_lowercase()
                };
                if cur_section.as_deref() == Some(section.as_str()) {
                    entries.push((k, None));
                }
            }
        }
        if !found_section {
            return Err(fail(format!("No section '{section}' in {file_name}")));
        }
        let interpolation = opt(&kv, a, "interpolation")
            .is_none_or(|r| matches!(r.to_lowercase().as_str(), "true" | "yes" | "1"));
        // Values are interpolated when read, so only the ones returned can fail.
        let value = |k: &str, v: &str| -> Result<Value, Error> {
            Ok(Value::from(if interpolation {
                ini_interpolate(&section, k, v, &entries, &defaults, 1)?
            } else {
                v.to_string()
            }))
        };
        if is_re {
            let re = filters::py_regex(&key, false, false)?;
            for (k, v) in entries.iter().filter(|(k, _)| re.is_match(k)) {
                if let Some(v) = v {
                    out.push(value(k, v)?);
                }
            }
        } else {
            let k = if case_sensitive {
                key.clone()
            } else {
                key.to_lowercase()
            };
            // An option without a value gives nothing, as Ansible's lookup drops None.
            match entries.iter().find(|(x, _)| *x == k) {
                Some((k, Some(v))) => out.push(value(k, v)?),
                Some((_, None)) => {}
                None => out.push(default.clone()),
            }
        }
    }
    Ok(out)
}

/// configparser's BasicInterpolation: `%(name)s` is another option of the section (or of
/// DEFAULT), `%%` a percent sign.
fn ini_interpolate(
    section: &str,
    option: &str,
    value: &str,
    entries: &[(String, Option<String>)],
    defaults: &[(String, String)],
    depth: usize,
) -> Result<String, Error> {
    if depth > 10 {
        return Err(fail(format!(
            "Recursion limit exceeded in value substitution: option {} in section {} contains an interpolation key which cannot be substituted in 10 steps. Raw value: {}",
            pyfmt::str_repr(option),
            pyfmt::str_repr(section),
            pyfmt::str_repr(value)
        )));
    }
    let mut out = String::new();
    let mut rest = value;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if let Some(r) = rest.strip_prefix("%%") {
            out.push('%');
            rest = r;
        } else if let Some(r) = rest.strip_prefix("%(") {
            let Some(end) = r.find(")s") else {
                return Err(fail(format!(
                    "bad interpolation variable reference {}",
                    pyfmt::str_repr(rest)
                )));
            };
            let name = r[..end].to_lowercase();
            let found = entries
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone().unwrap_or_default())
                .or_else(|| {
                    defaults
                        .iter()
                        .find(|(k, _)| *k == name)
                        .map(|(_, v)| v.clone())
                });
            let Some(sub) = found else {
                return Err(fail(format!(
                    "Bad value substitution: option {} in section {} contains an interpolation key {} which is not a valid option name. Raw value: {}",
                    pyfmt::str_repr(option),
                    pyfmt::str_repr(section),
                    pyfmt::str_repr(&name),
                    pyfmt::str_repr(value)
                )));
            };
            out.push_str(&ini_interpolate(
                section,
                option,
                &sub,
                entries,
                defaults,
                depth + 1,
            )?);
            rest = &r[end + 2..];
        } else {
            return Err(fail(format!(
                "'%' must be followed by '%' or '(', found: {}",
                pyfmt::str_repr(rest)
            )));
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn csvfile(state: &State, terms: &[Value], a: &Args) -> Result<Vec<Value>, Error> {
    const OPTIONS: [&str; 6] = ["file", "delimiter", "encoding", "default", "col", "keycol"];
    let mut out = Vec::new();
    if terms.is_empty() {
        return Err(fail("Search key is required but was not found"));
    }
    for t in terms {
        let mut parsed = crate::playbook::parse_kv(&pyfmt::to_str(t), false, &[]);
        let Some(key) = parsed.shift_remove("_raw_params") else {
            return Err(fail("Search key is required but was not found"));
        };
        if let Some(bad) = parsed.keys().find(|k| !OPTIONS.contains(&k.as_str())) {
            return Err(fail(format!(
                "{} is not a valid option",
                pyfmt::str_repr(bad)
            )));
        }
        let kv: Vec<(String, String)> = parsed.into_iter().collect();
        let file_name = opt(&kv, a, "file").unwrap_or_else(|| "ansible.csv".into());
        let delim = match opt(&kv, a, "delimiter").as_deref() {
            None => ",".to_string(),
            Some("TAB") | Some("\\t") => "\t".to_string(),
            Some(d) => d.to_string(),
        };
        let int_opt = |name: &str, dflt: usize| -> Result<usize, Error> {
            match opt(&kv, a, name) {
                None => Ok(dflt),
                Some(c) => decimal_int(&c)
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| {
                        fail(format!(
                            "Config '{name}' for 'csvfile' lookup plugin from 'Direct' has an invalid value: Invalid value provided for 'int': {}",
                            pyfmt::str_repr(&c)
                        ))
                    }),
            }
        };
        let col = int_opt("col", 1)?;
        let keycol = int_opt("keycol", 0)?;
        let default = kv
            .iter()
            .rev()
            .find(|(k, _)| k == "default")
            .map(|(_, v)| Value::from(v.as_str()))
            .or_else(|| a.get(usize::MAX, "default"))
            .unwrap_or(Value::from(()));
        // Ansible opens what its search found: nothing, for a missing file.
        let p = find_file(state, "files", &file_name)
            .ok_or_else(|| fail("expected str, bytes or os.PathLike object, not NoneType"))?;
        let bytes = std::fs::read(&p)
            .map_err(|e| fail(format!("Unable to access the file '{}': {e}", p.display())))?;
        let text = decode_text(
            &bytes,
            &opt(&kv, a, "encoding").unwrap_or_else(|| "utf-8".into()),
        )?;
        let mut val = default;
        for line in text.lines() {
            let row = csv_row(line, &delim);
            if row.get(keycol).map(|s| s.as_str()) == Some(key.as_str()) {
                val = row
                    .get(col)
                    .map(|s| Value::from(s.as_str()))
                    .ok_or_else(|| fail(format!("csvfile: list index out of range for {key}")))?;
                break;
            }
        }
        // A key that is not found, without a default, gives nothing at all; a list default
        // gives its items.
        if is_seq(&val) {
            out.extend(filters::items(&val)?);
        } else if !val.is_none() {
            out.push(val);
        }
    }
    Ok(out)
}

/// File bytes in the lookup's `encoding`: UTF-8, or Latin-1 under any of Python's names
/// for it.
fn decode_text(bytes: &[u8], encoding: &str) -> Result<String, Error> {
    let norm = encoding.to_ascii_lowercase().replace(['-', '_'], "");
    match norm.as_str() {
        "utf8" | "u8" | "utf" => Ok(String::from_utf8_lossy(bytes).into_owned()),
        "latin1" | "iso88591" | "l1" | "cp819" | "8859" | "latin" => {
            Ok(bytes.iter().map(|&b| b as char).collect())
        }
        _ => Err(fail(format!("unknown encoding: {encoding}"))),
    }
}

/// One CSV row with Python csv's default dialect quoting.
fn csv_row(line: &str, delim: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let chars: Vec<char> = line.chars().collect();
    let d: Vec<char> = delim.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if quoted {
            if c == '"' && chars.get(i + 1) == Some(&'"') {
                cur.push('"');
                i += 1;
            } else if c == '"' {
                quoted = false;
            } else {
                cur.push(c);
            }
        } else if c == '"' && cur.is_empty() {
            quoted = true;
        } else if chars[i..].starts_with(&d) {
            out.push(std::mem::take(&mut cur));
            i += d.len();
            continue;
        } else {
            cur.push(c);
        }
        i += 1;
    }
    out.push(cur);
    out
}

pub fn register(env: &mut Environment<'static>) {
    env.add_function(super::literals::LOOKUP_TERM_FN, lookup_term);
    env.add_function("lookup", lookup);
    env.add_function("query", query);
    env.add_function("q", query);
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn printf_forms() {
        assert_eq!(printf_int("host%02d", 3).unwrap(), "host03");
        assert_eq!(printf_int("%x", 255).unwrap(), "ff");
        assert!(printf_int("plain", 1).is_err());
    }

    #[test]
    fn kv_terms() {
        let (free, kv) = parse_kv("path/to length=12 chars='a b'");
        assert_eq!(free, vec!["path/to"]);
        assert_eq!(
            kv,
            vec![
                ("length".to_string(), "12".to_string()),
                ("chars".to_string(), "a b".to_string())
            ]
        );
    }
}

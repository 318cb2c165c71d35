//! Argument parsing shared by modules: Ansible's type coercions, aliases and
//! "Unsupported parameters" errors.
//!
//! A module declares a [`Spec`] (its options, their types, defaults, aliases and
//! choices, plus the cross-option rules) and calls [`Spec::validate`]. Validation runs
//! in the order of ansible-core's `ArgumentSpecValidator.validate`, and like it, fails
//! with the *first* error found:
//!
//! 1. aliases are folded into their option name,
//! 2. unknown options ("Unsupported parameters for (ansible.legacy.copy) module: ..."),
//! 3. `mutually_exclusive`,
//! 4. non-null defaults are filled in, then `required` options are checked,
//! 5. type conversion of every option ("argument 'x' is of type str and we were unable
//!    to convert to int: ..."),
//! 6. `choices` ("value of state must be one of: ..., got: x"),
//! 7. `required_together`, `required_one_of`, `required_if`, `required_by`,
//! 8. every option not given is set to null.

use serde_json::{Map, Value};

/// The type of an option, as in Ansible's `argument_spec` (`type=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    Str,
    Bool,
    Int,
    Float,
    Path,
    List,
    Dict,
    Raw,
}

impl Type {
    fn name(self) -> &'static str {
        match self {
            Type::Str => "str",
            Type::Bool => "bool",
            Type::Int => "int",
            Type::Float => "float",
            Type::Path => "path",
            Type::List => "list",
            Type::Dict => "dict",
            Type::Raw => "raw",
        }
    }
}

/// One option of a module.
#[derive(Clone, Debug)]
pub struct Opt {
    pub name: &'static str,
    pub ty: Type,
    pub default: Option<Value>,
    pub aliases: &'static [&'static str],
    pub choices: &'static [&'static str],
    pub required: bool,
    /// For lists: the type of each element.
    pub elements: Option<Type>,
}

impl Opt {
    pub fn new(name: &'static str, ty: Type) -> Opt {
        Opt {
            name,
            ty,
            default: None,
            aliases: &[],
            choices: &[],
            required: false,
            elements: None,
        }
    }
    pub fn default(mut self, v: impl Into<Value>) -> Opt {
        self.default = Some(v.into());
        self
    }
    pub fn aliases(mut self, a: &'static [&'static str]) -> Opt {
        self.aliases = a;
        self
    }
    pub fn choices(mut self, c: &'static [&'static str]) -> Opt {
        self.choices = c;
        self
    }
    pub fn required(mut self) -> Opt {
        self.required = true;
        self
    }
    pub fn elements(mut self, t: Type) -> Opt {
        self.elements = Some(t);
        self
    }
}

/// Shorthands for building specs.
pub fn s(name: &'static str) -> Opt {
    Opt::new(name, Type::Str)
}
pub fn b(name: &'static str) -> Opt {
    Opt::new(name, Type::Bool)
}
pub fn i(name: &'static str) -> Opt {
    Opt::new(name, Type::Int)
}
pub fn p(name: &'static str) -> Opt {
    Opt::new(name, Type::Path)
}
pub fn l(name: &'static str) -> Opt {
    Opt::new(name, Type::List)
}
pub fn d(name: &'static str) -> Opt {
    Opt::new(name, Type::Dict)
}
pub fn r(name: &'static str) -> Opt {
    Opt::new(name, Type::Raw)
}

/// A module's argument spec.
#[derive(Clone, Debug, Default)]
pub struct Spec {
    pub opts: Vec<Opt>,
    pub mutually_exclusive: Vec<Vec<&'static str>>,
    pub required_one_of: Vec<Vec<&'static str>>,
    pub required_together: Vec<Vec<&'static str>>,
    /// (option, value, requirements, any): when `option == value`, the requirements
    /// must be present (all of them, or one of them when `any`).
    pub required_if: Vec<(&'static str, Value, Vec<&'static str>, bool)>,
    pub required_by: Vec<(&'static str, Vec<&'static str>)>,
}

/// The options that Ansible's file-handling modules share (`add_file_common_args`).
pub fn file_common() -> Vec<Opt> {
    vec![
        r("mode"),
        s("owner"),
        s("group"),
        s("seuser"),
        s("serole"),
        s("selevel"),
        s("setype"),
        b("unsafe_writes").default(false),
        s("attributes").aliases(&["attr"]),
    ]
}

impl Spec {
    pub fn new(opts: Vec<Opt>) -> Spec {
        Spec {
            opts,
            ..Default::default()
        }
    }
    pub fn exclusive(mut self, set: &[&'static str]) -> Spec {
        self.mutually_exclusive.push(set.to_vec());
        self
    }
    pub fn one_of(mut self, set: &[&'static str]) -> Spec {
        self.required_one_of.push(set.to_vec());
        self
    }
    pub fn together(mut self, set: &[&'static str]) -> Spec {
        self.required_together.push(set.to_vec());
        self
    }
    pub fn required_if(
        mut self,
        key: &'static str,
        val: impl Into<Value>,
        reqs: &[&'static str],
        any: bool,
    ) -> Spec {
        self.required_if.push((key, val.into(), reqs.to_vec(), any));
        self
    }
    pub fn required_by(mut self, key: &'static str, reqs: &[&'static str]) -> Spec {
        self.required_by.push((key, reqs.to_vec()));
        self
    }

    /// Validate and convert `args`; `module` is the name used in the "Unsupported
    /// parameters for (...)" message (e.g. `ansible.legacy.copy`). On error returns the
    /// message Ansible's module would fail with.
    pub fn validate(&self, module: &str, args: &Map<String, Value>) -> Result<Params, String> {
        self.validate_on(&crate::host::Local, module, args)
    }

    /// [`Spec::validate`] for a module working on `host`: paths expand `~` and `$VAR` as
    /// that machine's user and environment do.
    pub fn validate_on(
        &self,
        host: &dyn crate::host::Host,
        module: &str,
        args: &Map<String, Value>,
    ) -> Result<Params, String> {
        let mut params: Map<String, Value> = Map::new();
        let mut unsupported: Vec<String> = Vec::new();
        let mut warnings: Vec<String> = Vec::new();
        // Aliases and unknown keys.
        for (k, v) in args {
            if k.starts_with("_ansible_") {
                continue;
            }
            if self.opts.iter().any(|o| o.name == k) {
                params.insert(k.clone(), v.clone());
            } else if let Some(o) = self.opts.iter().find(|o| o.aliases.contains(&k.as_str())) {
                if args.contains_key(o.name) {
                    warnings.push(format!(
                        "Both option {} and its alias {} are set.",
                        o.name, k
                    ));
                } else {
                    params.insert(o.name.to_string(), v.clone());
                }
            } else {
                unsupported.push(k.clone());
            }
        }
        // ansible-core reports unsupported parameters after every other check: the first
        // error found is the one shown
        let mut unsupported_err = None;
        if !unsupported.is_empty() {
            unsupported.sort();
            let mut names: Vec<&str> = self.opts.iter().map(|o| o.name).collect();
            names.sort();
            let mut aliases: Vec<&str> = self
                .opts
                .iter()
                .flat_map(|o| o.aliases.iter().copied())
                .collect();
            aliases.sort();
            let mut supported = names.join(", ");
            if !aliases.is_empty() {
                supported.push_str(&format!(" ({})", aliases.join(", ")));
            }
            unsupported_err = Some(format!(
                "Unsupported parameters for ({module}) module: {}. Supported parameters include: {supported}.",
                unsupported.join(", ")
            ));
        }
        for set in &self.mutually_exclusive {
            let n = set.iter().filter(|k| params.contains_key(**k)).count();
            if n > 1 {
                return Err(format!(
                    "parameters are mutually exclusive: {}",
                    set.join("|")
                ));
            }
        }
        for o in &self.opts {
            if let Some(d) = &o.default {
                if !d.is_null() && !params.contains_key(o.name) {
                    params.insert(o.name.to_string(), d.clone());
                }
            }
        }
        let mut missing: Vec<&str> = self
            .opts
            .iter()
            .filter(|o| o.required && !params.contains_key(o.name))
            .map(|o| o.name)
            .collect();
        if !missing.is_empty() {
            missing.sort();
            return Err(format!(
                "missing required arguments: {}",
                missing.join(", ")
            ));
        }
        for o in &self.opts {
            let Some(v) = params.get(o.name) else {
                continue;
            };
            if v.is_null() && !o.required && o.default.as_ref().is_none_or(|d| d.is_null()) {
                continue;
            }
            let converted = convert(host, o.ty, v).and_then(|c| match (o.elements, c) {
                (Some(et), Value::Array(items)) => {
                    let mut out = Vec::new();
                    for it in items {
                        match convert(host, et, &it) {
                            Ok(x) => out.push(x),
                            Err(e) => {
                                return Err(format!(
                                    "\u{0}Elements value for option '{}' is of type {} and we were unable to convert to {}: {}",
                                    o.name,
                                    py_type(&it),
                                    et.name(),
                                    e
                                ))
                            }
                        }
                    }
                    Ok(Value::Array(out))
                }
                (_, c) => Ok(c),
            });
            match converted {
                Ok(c) => {
                    params.insert(o.name.to_string(), c);
                }
                Err(e) => {
                    if let Some(e) = e.strip_prefix('\u{0}') {
                        return Err(e.to_string());
                    }
                    return Err(format!(
                        "argument '{}' is of type {} and we were unable to convert to {}: {}",
                        o.name,
                        py_type(v),
                        o.ty.name(),
                        e
                    ));
                }
            }
        }
        for o in &self.opts {
            if o.choices.is_empty() {
                continue;
            }
            let Some(v) = params.get(o.name).cloned() else {
                continue;
            };
            let v = &v;
            let choices = o.choices.join(", ");
            match v {
                Value::Array(items) => {
                    let bad: Vec<String> = items
                        .iter()
                        .filter(|x| !o.choices.contains(&py_str(x).as_str()))
                        .map(py_str)
                        .collect();
                    if !bad.is_empty() {
                        return Err(format!(
                            "value of {} must be one or more of: {choices}. Got no match for: {}",
                            o.name,
                            bad.join(", ")
                        ));
                    }
                }
                _ => {
                    let mut sv = py_str(v);
                    // A YAML boolean that reached a str option: map it back when unambiguous.
                    let back: &[&str] = match sv.as_str() {
                        "False" => &["n", "no", "off", "0", "false", "f"],
                        "True" => &["y", "yes", "on", "1", "true", "t"],
                        _ => &[],
                    };
                    let overlap: Vec<&&str> =
                        o.choices.iter().filter(|c| back.contains(c)).collect();
                    if !o.choices.contains(&sv.as_str()) && overlap.len() == 1 {
                        sv = overlap[0].to_string();
                        params.insert(o.name.to_string(), Value::String(sv.clone()));
                    }
                    if !o.choices.contains(&sv.as_str()) || v.is_null() {
                        return Err(format!(
                            "value of {} must be one of: {choices}, got: {}",
                            o.name,
                            py_str(v)
                        ));
                    }
                }
            }
        }
        for set in &self.required_together {
            let n = set.iter().filter(|k| params.contains_key(**k)).count();
            if n != 0 && n != set.len() {
                return Err(format!(
                    "parameters are required together: {}",
                    set.join(", ")
                ));
            }
        }
        for set in &self.required_one_of {
            if !set.iter().any(|k| params.contains_key(*k)) {
                return Err(format!(
                    "one of the following is required: {}",
                    set.join(", ")
                ));
            }
        }
        for (key, val, reqs, any) in &self.required_if {
            if params.get(*key) == Some(val) {
                let missing: Vec<&str> = reqs
                    .iter()
                    .filter(|k| params.get(**k).is_none_or(|v| v.is_null()))
                    .copied()
                    .collect();
                let fail = if *any {
                    missing.len() == reqs.len()
                } else {
                    !missing.is_empty()
                };
                if fail {
                    return Err(format!(
                        "{key} is {} but {} of the following are missing: {}",
                        py_str(val),
                        if *any { "any" } else { "all" },
                        missing.join(", ")
                    ));
                }
            }
        }
        for (key, reqs) in &self.required_by {
            if params.get(*key).is_some_and(|v| !v.is_null()) {
                let missing: Vec<&str> = reqs
                    .iter()
                    .filter(|k| params.get(**k).is_none_or(|v| v.is_null()))
                    .copied()
                    .collect();
                if !missing.is_empty() {
                    return Err(format!(
                        "missing parameter(s) required by '{key}': {}",
                        missing.join(", ")
                    ));
                }
            }
        }
        if let Some(e) = unsupported_err {
            return Err(e);
        }
        for o in &self.opts {
            params.entry(o.name.to_string()).or_insert(Value::Null);
        }
        Ok(Params {
            map: params,
            warnings,
        })
    }
}

/// Python's name for the type of a JSON value.
pub fn py_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// `str(value)` as Python would print it.
pub fn py_str(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|_| n.is_f64()) {
                if f.fract() == 0.0 && f.abs() < 1e16 {
                    format!("{f:.1}")
                } else {
                    format!("{f}")
                }
            } else {
                n.to_string()
            }
        }
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", py_repr(&Value::String(k.clone())), py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// `repr(value)` as Python would print it.
pub fn py_repr(v: &Value) -> String {
    match v {
        Value::String(s) => {
            if s.contains('\'') && !s.contains('"') {
                format!("\"{s}\"")
            } else {
                format!(
                    "'{}'",
                    s.replace('\\', "\\\\")
                        .replace('\'', "\\'")
                        .replace('\n', "\\n")
                )
            }
        }
        other => py_str(other),
    }
}

/// Ansible's boolean(): yes/no/on/off/true/false/y/n/t/f/1/0, any case.
pub fn to_bool(v: &Value) -> Result<bool, String> {
    let norm = match v {
        Value::Bool(b) => return Ok(*b),
        Value::String(s) => s.trim().to_lowercase(),
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f == 1.0 {
                return Ok(true);
            } else if f == 0.0 {
                return Ok(false);
            }
            py_str(v)
        }
        other => {
            return Err(format!(
                "<class '{}'> cannot be converted to a bool",
                py_type(other)
            ))
        }
    };
    match norm.as_str() {
        "y" | "yes" | "on" | "1" | "true" | "t" => Ok(true),
        "n" | "no" | "off" | "0" | "false" | "f" => Ok(false),
        _ => Err(format!(
            "The value '{}' is not a valid boolean. Valid booleans include: 'y', 'yes', 'on', '1', 'true', 't', 1, 1.0, True, 'n', 'no', 'off', '0', 'false', 'f', 0, 0.0, False",
            py_str(v)
        )),
    }
}

/// Expand `~`, `~user` and `$VAR`/`${VAR}` as Python's expanduser(expandvars(p)).
pub fn expand_path(p: &str) -> String {
    expand_path_on(&crate::host::Local, p)
}

/// `$VAR`, `${VAR}` and a leading `~`/`~user` expanded as on `host` (Python's
/// `expandvars(expanduser(p))`: unknown variables stay as written).
pub fn expand_path_on(host: &dyn crate::host::Host, p: &str) -> String {
    expand_path_with_env(host, &[], p)
}

/// [`expand_path_on`] for a module run with a task `environment:`: those variables are in
/// the module's own environment, so they win over the host's (the last setting of a name
/// counts, as when they are exported in order).
pub fn expand_path_with_env(
    host: &dyn crate::host::Host,
    env: &[(String, String)],
    p: &str,
) -> String {
    let lookup = |name: &str| {
        env.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| host.env_var(name))
    };
    let mut out = String::new();
    let bytes: Vec<char> = p.chars().collect();
    let mut idx = 0;
    while idx < bytes.len() {
        let c = bytes[idx];
        if c == '$' && idx + 1 < bytes.len() {
            let (name, end) = if bytes[idx + 1] == '{' {
                match bytes[idx + 2..].iter().position(|&c| c == '}') {
                    Some(e) => (
                        bytes[idx + 2..idx + 2 + e].iter().collect::<String>(),
                        idx + 3 + e,
                    ),
                    None => (String::new(), idx),
                }
            } else {
                let mut e = idx + 1;
                while e < bytes.len() && (bytes[e].is_ascii_alphanumeric() || bytes[e] == '_') {
                    e += 1;
                }
                (bytes[idx + 1..e].iter().collect::<String>(), e)
            };
            if !name.is_empty() {
                if let Some(val) = lookup(&name) {
                    out.push_str(&val);
                    idx = end;
                    continue;
                }
            }
        }
        out.push(c);
        idx += 1;
    }
    expand_user_on(host, &out)
}

pub(crate) fn expand_user(p: &str) -> String {
    expand_user_on(&crate::host::Local, p)
}

fn expand_user_on(host: &dyn crate::host::Host, p: &str) -> String {
    if !p.starts_with('~') {
        return p.to_string();
    }
    let (user, rest) = match p.find('/') {
        Some(i) => (&p[1..i], &p[i..]),
        None => (&p[1..], ""),
    };
    let home = host.home_dir(Some(user).filter(|u| !u.is_empty()));
    match home {
        Some(h) => {
            let h = if h.len() > 1 {
                h.trim_end_matches('/').to_string()
            } else {
                h
            };
            format!("{h}{rest}")
        }
        None => p.to_string(),
    }
}

fn convert(host: &dyn crate::host::Host, ty: Type, v: &Value) -> Result<Value, String> {
    match ty {
        Type::Raw => Ok(v.clone()),
        Type::Str => Ok(Value::String(match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => py_str(other),
        })),
        Type::Path => {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => py_str(other),
            };
            Ok(Value::String(expand_path_on(host, &s)))
        }
        Type::Bool => to_bool(v).map(Value::Bool),
        Type::Int => match v {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(v.clone()),
            Value::Number(n) => {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.fract() == 0.0 && f.is_finite() {
                    Ok(Value::from(f as i64))
                } else {
                    Err(format!("\"{}\" cannot be converted to an int", py_repr(v)))
                }
            }
            Value::Bool(b) => Ok(Value::from(*b as i64)),
            Value::String(s) => {
                let t = s.trim().replace('_', "");
                if let Ok(n) = t.parse::<i64>() {
                    return Ok(Value::from(n));
                }
                match t.parse::<f64>() {
                    Ok(f)
                        if f.fract() == 0.0
                            && f.is_finite()
                            && !t.to_lowercase().contains("inf") =>
                    {
                        Ok(Value::from(f as i64))
                    }
                    _ => Err(format!("\"{}\" cannot be converted to an int", py_repr(v))),
                }
            }
            other => Err(format!(
                "\"{}\" cannot be converted to an int",
                py_repr(other)
            )),
        },
        Type::Float => match v {
            Value::Number(n) => Ok(Value::from(n.as_f64().unwrap_or(0.0))),
            Value::String(s) => s
                .trim()
                .parse::<f64>()
                .map(Value::from)
                .map_err(|_| format!("could not convert string to float: {}", py_repr(v))),
            other => Err(format!(
                "<class '{}'> cannot be converted to a float",
                py_type(other)
            )),
        },
        Type::List => match v {
            Value::Array(_) => Ok(v.clone()),
            Value::String(s) => Ok(Value::Array(
                s.split(',').map(|x| Value::String(x.to_string())).collect(),
            )),
            Value::Number(_) => Ok(Value::Array(vec![Value::String(py_str(v))])),
            other => Err(format!(
                "<class '{}'> cannot be converted to a list",
                py_type(other)
            )),
        },
        Type::Dict => match v {
            Value::Object(_) => Ok(v.clone()),
            Value::String(s) => parse_dict_str(s).map(Value::Object),
            other => Err(format!(
                "<class '{}'> cannot be converted to a dict",
                py_type(other)
            )),
        },
    }
}

fn parse_dict_str(value: &str) -> Result<Map<String, Value>, String> {
    if value.starts_with('{') {
        return match serde_json::from_str::<Value>(value) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err("unable to evaluate string as dictionary".into()),
        };
    }
    if !value.contains('=') {
        return Err("dictionary requested, could not parse JSON or key=value".into());
    }
    let mut fields = Vec::new();
    let mut buf = String::new();
    let mut in_quote: Option<char> = None;
    let mut esc = false;
    for c in value.trim().chars() {
        if esc {
            buf.push(c);
            esc = false;
        } else if c == '\\' {
            esc = true;
        } else if in_quote.is_none() && (c == '\'' || c == '"') {
            in_quote = Some(c);
        } else if in_quote == Some(c) {
            in_quote = None;
        } else if in_quote.is_none() && (c == ',' || c == ' ') {
            if !buf.is_empty() {
                fields.push(std::mem::take(&mut buf));
            }
        } else {
            buf.push(c);
        }
    }
    if !buf.is_empty() {
        fields.push(buf);
    }
    let mut m = Map::new();
    for f in fields {
        match f.split_once('=') {
            Some((k, v)) => {
                m.insert(k.to_string(), Value::String(v.to_string()));
            }
            None => {
                return Err(
                    "unable to evaluate string in the \"key=value\" format as dictionary".into(),
                )
            }
        }
    }
    Ok(m)
}

/// Validated arguments: every option of the spec is present (null when not given).
#[derive(Clone, Debug, Default)]
pub struct Params {
    pub map: Map<String, Value>,
    /// "Both option x and its alias y are set." and the like.
    pub warnings: Vec<String>,
}

impl Params {
    pub fn get(&self, k: &str) -> Option<&Value> {
        self.map.get(k).filter(|v| !v.is_null())
    }
    pub fn is_set(&self, k: &str) -> bool {
        self.get(k).is_some()
    }
    pub fn str(&self, k: &str) -> Option<&str> {
        self.get(k).and_then(|v| v.as_str())
    }
    pub fn string(&self, k: &str) -> Option<String> {
        self.str(k).map(|s| s.to_string())
    }
    pub fn bool(&self, k: &str) -> bool {
        self.get(k).and_then(|v| v.as_bool()).unwrap_or(false)
    }
    pub fn int(&self, k: &str) -> Option<i64> {
        self.get(k).and_then(|v| v.as_i64())
    }
    pub fn list(&self, k: &str) -> Option<Vec<String>> {
        self.get(k)
            .and_then(|v| v.as_array())
            .map(|a| a.iter().map(py_str).collect())
    }
}

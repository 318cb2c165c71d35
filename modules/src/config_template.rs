//! `config_template` (OpenStack-Ansible's `openstack.config_template`), the part that runs
//! on the target. The controller renders the template into `content` (or, with
//! `remote_src`, `src` names a file on the target); this module merges `config_overrides`
//! into it per `config_type` and then writes the result with `copy`, so the result has
//! copy's shape.
//!
//! Merge rules, as the action plugin's:
//! - ini: the text is read line by line (comments and valueless lines kept, blank lines
//!   and lines before the first section dropped, duplicate keys become a multi-valued
//!   option written once per value, sorted); an override section that is a dict sets its
//!   options (an overridden option moves to the end of its section; a list is joined with
//!   `,`; a dict whose values are all empty is a multi-valued option); a non-dict override
//!   goes into `default_section`. Each section is followed by a blank line.
//! - json / yaml: dicts merge recursively; a string containing `,` (or a newline, unless
//!   `yml_multilines` at the top level) becomes a list of its stripped parts; lists extend
//!   existing lists when `list_extend` is true (not given: replace, as the plugin reads
//!   the missing argument as None), else replace. json is written with
//!   4-space indent and sorted keys; yaml block style with sorted keys, lists indented.

use crate::{Args, ModuleContext, ModuleResult};
use serde_json::{json, Map, Value};

const MARKER: &str = "__MARKER__";

/// Arguments that belong to config_template and not to copy.
const OWN: &[&str] = &[
    "config_overrides",
    "config_type",
    "list_extend",
    "ignore_none_type",
    "default_section",
    "yml_multilines",
    "render_template",
    "remote_src",
    "src",
    "variable_start_string",
    "variable_end_string",
    "block_start_string",
    "block_end_string",
];

fn fail(msg: impl Into<String>) -> ModuleResult {
    crate::util::Failure::new(msg).into_result()
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().unwrap_or(0.0) != 0.0,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

/// One option value in the INI model.
#[derive(Clone, Debug, PartialEq)]
enum Ini {
    None,
    Str(String),
    Multi(Vec<String>),
}

type Section = Vec<(String, Ini)>;

struct IniDoc {
    defaults: Section,
    sections: Vec<(String, Section)>,
}

/// MultiKeyDict's `__setitem__`.
fn sect_set(sec: &mut Section, key: &str, val: Ini) {
    if let Some(e) = sec.iter_mut().find(|(k, _)| k == key) {
        let as_str = |v: &Ini| match v {
            Ini::None => "None".to_string(),
            Ini::Str(s) => s.clone(),
            Ini::Multi(m) => format!("{m:?}"),
        };
        match &mut e.1 {
            Ini::Multi(items) => {
                let s = as_str(&val);
                if !items.contains(&s) {
                    items.push(s);
                }
            }
            old => {
                let (o, n) = (as_str(old), as_str(&val));
                if o != n {
                    *old = Ini::Multi(vec![o, n]);
                }
            }
        }
    } else {
        sec.push((key.to_string(), val));
    }
}

fn parse_ini(text: &str) -> IniDoc {
    let sect_re = regex::Regex::new(r"^\[(?P<header>.+)\]").expect("regex");
    let opt_re =
        regex::Regex::new(r"^(?P<option>.*?)\s*(?:(?P<vi>[=:])\s*(?P<value>.*))?$").expect("regex");
    let mut doc = IniDoc {
        defaults: Vec::new(),
        sections: Vec::new(),
    };
    // None: before any section (those lines are dropped); Some(None): DEFAULT.
    let mut cur: Option<Option<usize>> = None;
    let mut scratch: Section = Vec::new();
    for (n, line) in text.split_inclusive('\n').enumerate() {
        let counter = n + 1;
        let body = line.strip_suffix('\n').unwrap_or(line);
        if let Some(c) = sect_re.captures(body) {
            let name = c["header"].to_string();
            if let Some(i) = doc.sections.iter().position(|(s, _)| *s == name) {
                cur = Some(Some(i));
            } else if name == "DEFAULT" {
                cur = Some(None);
            } else {
                doc.sections.push((name, Vec::new()));
                cur = Some(Some(doc.sections.len() - 1));
            }
            continue;
        }
        let target: &mut Section = match cur {
            None => &mut scratch,
            Some(None) => &mut doc.defaults,
            Some(Some(i)) => &mut doc.sections[i].1,
        };
        match opt_re.captures(body) {
            Some(c) => {
                let optname = c["option"].trim_end().to_string();
                let vi = c.name("vi").map(|m| m.as_str());
                let optval = c.name("value").map(|m| m.as_str().to_string());
                if !optname.is_empty()
                    && !optname.starts_with('#')
                    && optval.as_deref().is_some_and(|v| !v.is_empty())
                {
                    let mut v = optval.unwrap_or_default();
                    if matches!(vi, Some("=") | Some(":")) && v.contains(';') {
                        if let Some(pos) = v.find(';') {
                            if pos > 0 && v[..pos].ends_with(char::is_whitespace) {
                                v.truncate(pos);
                            }
                        }
                    }
                    let mut v = v.trim().to_string();
                    if v == "\"\"" {
                        v.clear();
                    }
                    sect_set(target, &optname, Ini::Str(v));
                } else {
                    let key = format!("{optname}{MARKER}-{counter}");
                    sect_set(target, &key, optval.map(Ini::Str).unwrap_or(Ini::None));
                }
            }
            None => {
                sect_set(target, &format!("{MARKER}-{counter}"), Ini::None);
            }
        }
    }
    doc
}

fn write_entry(out: &mut String, key: &str, val: &Ini, in_section: bool, ignore_none: bool) {
    let key = key.split(MARKER).next().unwrap_or("");
    let entry = |item: Option<&str>| -> String {
        match item {
            Some(i) => format!("{key} = {}\n", i.replace('\n', "\n\t")),
            None if key.is_empty() => String::new(),
            None => format!("{key}\n"),
        }
    };
    match val {
        Ini::Multi(items) => {
            let mut s = items.clone();
            s.sort();
            for i in s {
                out.push_str(&entry(Some(&i)));
            }
        }
        Ini::Str(s) => out.push_str(&entry(Some(s))),
        Ini::None => {
            if in_section && !ignore_none {
                out.push_str(&format!("{key}\n"));
            } else {
                out.push_str(&entry(None));
            }
        }
    }
}

fn ini_value(v: &Value) -> Ini {
    match v {
        Value::Object(m) if !m.values().any(truthy) => Ini::Multi(m.keys().cloned().collect()),
        Value::Array(a) => Ini::Str(
            a.iter()
                .map(crate::args::py_str)
                .collect::<Vec<_>>()
                .join(","),
        ),
        other => Ini::Str(crate::args::py_str(other)),
    }
}

fn option_write(doc: &mut IniDoc, section: &str, key: &str, value: &Value) -> Result<(), String> {
    let val = ini_value(value);
    if section.is_empty() || section == "DEFAULT" {
        doc.defaults.retain(|(k, _)| k != key);
        let hits: Vec<usize> = doc
            .defaults
            .iter()
            .enumerate()
            .filter(|(_, (k, _))| k.starts_with(&format!("#{key}")))
            .map(|(i, _)| i)
            .collect();
        if hits.len() == 1 {
            doc.defaults.insert(hits[0] + 1, (key.to_string(), val));
        } else {
            sect_set(&mut doc.defaults, key, val);
        }
        return Ok(());
    }
    let Some((_, sec)) = doc.sections.iter_mut().find(|(s, _)| s == section) else {
        return Err(format!(
            "No section: '{section}' Try being more explicit with your overridedata. Sections are case sensitive."
        ));
    };
    sec.retain(|(k, _)| k != key);
    sect_set(sec, key, val);
    Ok(())
}

fn merge_ini(
    text: &str,
    overrides: &Map<String, Value>,
    ignore_none: bool,
    default_section: &str,
) -> Result<String, String> {
    let mut doc = parse_ini(text);
    let add_section = |doc: &mut IniDoc, name: &str| {
        if name != "DEFAULT" && !doc.sections.iter().any(|(s, _)| s == name) {
            doc.sections.push((name.to_string(), Vec::new()));
        }
    };
    if default_section != "DEFAULT" {
        add_section(&mut doc, default_section);
    }
    for (section, items) in overrides {
        match items {
            Value::Object(m) => {
                add_section(&mut doc, section);
                for (k, v) in m {
                    option_write(&mut doc, section, k, v)?;
                }
            }
            other => {
                let v = match other {
                    Value::Array(a) => Value::String(
                        a.iter()
                            .map(crate::args::py_str)
                            .collect::<Vec<_>>()
                            .join(","),
                    ),
                    o => o.clone(),
                };
                option_write(&mut doc, default_section, section, &v)?;
            }
        }
    }
    let mut out = String::new();
    let write_sec = |out: &mut String, name: &str, sec: &Section, in_section: bool| {
        out.push_str(&format!("[{name}]\n"));
        for (k, v) in sec {
            write_entry(out, k, v, in_section, ignore_none);
        }
        out.push('\n');
    };
    if default_section != "DEFAULT" {
        if let Some((_, sec)) = doc.sections.iter().find(|(s, _)| s == default_section) {
            if sec.is_empty() {
                write_sec(&mut out, default_section, sec, true);
            }
        }
    } else if !doc.defaults.is_empty() {
        write_sec(&mut out, "DEFAULT", &doc.defaults, false);
    }
    for (name, sec) in &doc.sections {
        write_sec(&mut out, name, sec, true);
    }
    Ok(out)
}

fn merge_dict(base: Value, new: &Value, list_extend: bool, yml_multilines: bool) -> Value {
    match new {
        Value::Object(nm) => {
            let mut b = match base {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            for (k, v) in nm {
                let merged = match v {
                    Value::Object(_) => merge_dict(
                        b.get(k).cloned().unwrap_or(Value::Object(Map::new())),
                        v,
                        list_extend,
                        false,
                    ),
                    Value::String(s)
                        if s.contains(',') || (s.contains('\n') && !yml_multilines) =>
                    {
                        Value::Array(
                            s.split([',', '\n'])
                                .filter(|i| !i.is_empty())
                                .map(|i| Value::String(i.trim().to_string()))
                                .collect(),
                        )
                    }
                    Value::Array(a) => match b.get(k) {
                        Some(Value::Array(old)) if list_extend => {
                            let mut o = old.clone();
                            o.extend(a.iter().cloned());
                            Value::Array(o)
                        }
                        _ => v.clone(),
                    },
                    other => other.clone(),
                };
                b.insert(k.clone(), merged);
            }
            Value::Object(b)
        }
        Value::Array(a) => match base {
            Value::Array(mut old) if list_extend => {
                old.extend(a.iter().cloned());
                Value::Array(old)
            }
            _ => new.clone(),
        },
        _ => base,
    }
}

/// Python's `json.dumps(v, indent=4, sort_keys=True)`.
fn json_pretty(v: &Value, level: usize) -> String {
    let pad = "    ".repeat(level + 1);
    let end = "    ".repeat(level);
    match v {
        Value::Object(m) if !m.is_empty() => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let items: Vec<String> = keys
                .iter()
                .map(|k| {
                    format!(
                        "{pad}{}: {}",
                        crate::uri::py_json(&Value::String((*k).clone())),
                        json_pretty(&m[*k], level + 1)
                    )
                })
                .collect();
            format!("{{\n{}\n{end}}}", items.join(",\n"))
        }
        Value::Array(a) if !a.is_empty() => {
            let items: Vec<String> = a
                .iter()
                .map(|x| format!("{pad}{}", json_pretty(x, level + 1)))
                .collect();
            format!("[\n{}\n{end}]", items.join(",\n"))
        }
        other => crate::uri::py_json(other),
    }
}

fn yaml_to_json(y: &yaml_rust2::Yaml) -> Value {
    use yaml_rust2::Yaml;
    match y {
        Yaml::Real(s) => s
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or(Value::String(s.clone())),
        Yaml::Integer(i) => json!(i),
        Yaml::String(s) => json!(s),
        Yaml::Boolean(b) => json!(b),
        Yaml::Array(a) => Value::Array(a.iter().map(yaml_to_json).collect()),
        Yaml::Hash(h) => {
            let mut m = Map::new();
            for (k, v) in h {
                let key = match k {
                    Yaml::String(s) => s.clone(),
                    Yaml::Integer(i) => i.to_string(),
                    Yaml::Boolean(b) => b.to_string(),
                    Yaml::Real(r) => r.clone(),
                    _ => format!("{k:?}"),
                };
                m.insert(key, yaml_to_json(v));
            }
            Value::Object(m)
        }
        _ => Value::Null,
    }
}

/// Whether PyYAML would write this string plain (unquoted).
fn yaml_plain_ok(s: &str) -> bool {
    if s.is_empty() || s != s.trim() || s.contains('\n') {
        return false;
    }
    let lower = s.to_lowercase();
    // PyYAML's YAML 1.1 resolvers (y and n are not booleans there).
    let special = ["yes", "no", "true", "false", "on", "off", "null", "~"];
    if special.contains(&lower.as_str()) {
        return false;
    }
    if s.parse::<f64>().is_ok()
        || regex::Regex::new(
            r"^[-+]?(0x[0-9a-fA-F_]+|0o?[0-7_]+|[0-9][0-9_]*(:[0-5]?[0-9])+|\.(inf|nan))$",
        )
        .map(|r| r.is_match(&lower))
        .unwrap_or(false)
    {
        return false;
    }
    let first = s.chars().next().unwrap_or(' ');
    if "-?:,[]{}#&*!|>'\"%@`".contains(first)
        && (!(first == '-' || first == '?' || first == ':')
            || s.len() == 1
            || s.chars().nth(1) == Some(' '))
    {
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') {
        return false;
    }
    !s.chars().any(|c| (c as u32) < 0x20 || c == '\u{7f}')
}

fn yaml_scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|_| n.is_f64()) {
                crate::args::py_str(&json!(f))
            } else {
                n.to_string()
            }
        }
        Value::String(s) if yaml_plain_ok(s) => s.clone(),
        Value::String(s) if !s.contains('\n') && !s.chars().any(|c| (c as u32) < 0x20) => {
            format!("'{}'", s.replace('\'', "''"))
        }
        Value::String(s) => crate::uri::py_json(&Value::String(s.clone())),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

fn is_block(v: &Value) -> bool {
    matches!(v, Value::Array(a) if !a.is_empty()) || matches!(v, Value::Object(m) if !m.is_empty())
}

/// PyYAML `dump(default_flow_style=False)` with indented sequences and sorted keys.
fn yaml_dump(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(m) if !m.is_empty() => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            for k in keys {
                let val = &m[k];
                let ks = yaml_scalar(&Value::String(k.clone()));
                if is_block(val) {
                    out.push_str(&format!("{pad}{ks}:\n"));
                    yaml_dump(val, indent + 2, out);
                } else {
                    out.push_str(&format!("{pad}{ks}: {}\n", yaml_scalar(val)));
                }
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for item in a {
                if is_block(item) {
                    let mut sub = String::new();
                    yaml_dump(item, indent + 2, &mut sub);
                    // the first line goes after "- "
                    let trimmed = sub.trim_start_matches(' ').to_string();
                    out.push_str(&format!("{pad}- {trimmed}"));
                } else {
                    out.push_str(&format!("{pad}- {}\n", yaml_scalar(item)));
                }
            }
        }
        other => {
            out.push_str(&format!("{pad}{}\n", yaml_scalar(other)));
            if indent == 0 {
                out.push_str("...\n");
            }
        }
    }
}

pub fn run(args: &Args, ctx: &ModuleContext, _module: &str) -> ModuleResult {
    let config_type = args
        .get("config_type")
        .and_then(|v| v.as_str())
        .unwrap_or("");
    if !["ini", "yaml", "json"].contains(&config_type) {
        return fail(
            "No valid [ config_type ] was provided. Valid options are ini, yaml, or json.",
        );
    }
    let remote_src = args
        .get("remote_src")
        .map(|v| crate::args::to_bool(v).unwrap_or(false))
        .unwrap_or(false);
    let content: String = if remote_src {
        let Some(src) = args.get("src").and_then(|v| v.as_str()) else {
            return fail("No user [ src ] or [ content ] was provided");
        };
        match std::fs::read(src) {
            Ok(d) => String::from_utf8_lossy(&d).into_owned(),
            Err(e) => return fail(format!("Could not read {src}: {e}")),
        }
    } else {
        match args.get("content") {
            None | Some(Value::Null) => return fail("No user [ src ] or [ content ] was provided"),
            Some(Value::String(s)) => s.clone(),
            Some(v @ Value::Object(_)) if config_type == "json" => crate::uri::py_json(v),
            Some(v) => crate::args::py_str(v),
        }
    };
    if content.is_empty() {
        return fail("No user [ src ] or [ content ] was provided");
    }
    if args
        .get("dest")
        .is_none_or(|d| d.as_str().is_none_or(str::is_empty))
    {
        return fail("No [ dest ] was provided");
    }
    let overrides = match args.get("config_overrides") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => {
            return fail(format!(
                "config_overrides must be a dict, got {}",
                crate::args::py_type(other)
            ))
        }
    };
    let flag = |k: &str, d: bool| {
        args.get(k)
            .filter(|v| !v.is_null())
            .map(|v| crate::args::to_bool(v).unwrap_or(d))
            .unwrap_or(d)
    };
    let list_extend = flag("list_extend", false);
    let ignore_none = flag("ignore_none_type", true);
    let yml_multilines = flag("yml_multilines", false);
    let default_section = args
        .get("default_section")
        .and_then(|v| v.as_str())
        .unwrap_or("DEFAULT")
        .to_string();
    let rendered = match config_type {
        "ini" => match merge_ini(&content, &overrides, ignore_none, &default_section) {
            Ok(s) => s,
            Err(e) => return fail(e),
        },
        "json" => {
            let base: Value = match serde_json::from_str(&content) {
                Ok(v) => v,
                Err(e) => return fail(format!("Failed to parse the content as JSON: {e}")),
            };
            let merged = merge_dict(base, &Value::Object(overrides), list_extend, yml_multilines);
            json_pretty(&merged, 0)
        }
        _ => {
            let docs = match yaml_rust2::YamlLoader::load_from_str(&content) {
                Ok(d) => d,
                Err(e) => return fail(format!("Failed to parse the content as YAML: {e}")),
            };
            let base = docs.first().map(yaml_to_json).unwrap_or(Value::Null);
            let base = if base.is_null() {
                Value::Object(Map::new())
            } else {
                base
            };
            let merged = merge_dict(base, &Value::Object(overrides), list_extend, yml_multilines);
            let mut out = String::new();
            yaml_dump(&merged, 0, &mut out);
            if matches!(&merged, Value::Object(m) if m.is_empty()) {
                out = "{}\n".into();
            }
            out
        }
    };
    let mut cargs = Map::new();
    for (k, v) in args {
        if !OWN.contains(&k.as_str()) && k != "content" {
            cargs.insert(k.clone(), v.clone());
        }
    }
    cargs.insert("content".into(), Value::String(rendered));
    crate::copy::run(&cargs, ctx, "ansible.legacy.copy")
}

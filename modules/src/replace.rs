//! `replace`: replace every match of a regular expression in a file (MULTILINE mode),
//! optionally only in the part between `after` and `before`.
//!
//! Patterns use Rust's `regex` syntax; the replacement string uses Python's template
//! syntax (`\1`, `\g<1>`, `\g<name>`, escapes).

use crate::args::{b, file_common, p, s, Params, Spec};
use crate::blockinfile::write_changes;
use crate::util::{apply_attrs, backup_local, Failure, FileAttrs, MResult};
use crate::{Args, ModuleContext, ModuleResult};
use regex::{Captures, Regex};
use serde_json::{json, Map, Value};
use std::fs;
use std::path::Path;

fn spec() -> Spec {
    let mut opts = vec![
        p("path").required().aliases(&["dest", "destfile", "name"]),
        s("regexp").required(),
        s("replace").default(""),
        s("after"),
        s("before"),
        b("backup").default(false),
        s("validate"),
        s("encoding").default("utf-8"),
    ];
    opts.extend(file_common());
    Spec::new(opts)
}

/// Python's `match.expand(template)`: `\1`, `\g<1>`, `\g<name>` and the usual escapes.
pub(crate) fn py_expand(caps: &Captures, template: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = template.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '\\' || i + 1 == chars.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let n = chars[i + 1];
        if n.is_ascii_digit() {
            let mut j = i + 1;
            let mut num = String::new();
            while j < chars.len() && chars[j].is_ascii_digit() && num.len() < 2 {
                num.push(chars[j]);
                j += 1;
            }
            let idx: usize = num.parse().unwrap_or(0);
            out.push_str(caps.get(idx).map(|m| m.as_str()).unwrap_or(""));
            i = j;
        } else if n == 'g' && i + 2 < chars.len() && chars[i + 2] == '<' {
            if let Some(end) = chars[i + 3..].iter().position(|&c| c == '>') {
                let name: String = chars[i + 3..i + 3 + end].iter().collect();
                let m = match name.parse::<usize>() {
                    Ok(idx) => caps.get(idx),
                    Err(_) => caps.name(&name),
                };
                out.push_str(m.map(|m| m.as_str()).unwrap_or(""));
                i += 4 + end;
            } else {
                out.push_str("\\g");
                i += 2;
            }
        } else {
            match n {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                '\\' => out.push('\\'),
                'a' => out.push('\x07'),
                'f' => out.push('\x0c'),
                'v' => out.push('\x0b'),
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
            i += 2;
        }
    }
    out
}

fn compile(re: &str) -> MResult<Regex> {
    Regex::new(re).map_err(|e| Failure::new(format!("Invalid regular expression {re:?}: {e}")))
}

fn inner(params: &Params, ctx: &ModuleContext) -> MResult<Map<String, Value>> {
    let path = params.string("path").unwrap_or_default();
    let mut r = Map::new();
    r.insert("rc".into(), json!(0));
    if Path::new(&path).is_dir() {
        return Err(Failure::new(format!("Path {path} is a directory !")).with("rc", 256));
    }
    if !Path::new(&path).exists() {
        return Err(Failure::new(format!("Path {path} does not exist !")).with("rc", 257));
    }
    let data = fs::read(&path)
        .map_err(|e| Failure::new(format!("Unable to read the contents of {path}: {e}")))?;
    let contents = String::from_utf8(data).map_err(|_| {
        Failure::new(format!(
            "Unable to read the contents of {path}: 'utf-8' codec can't decode the file"
        ))
    })?;
    let after = params.str("after").filter(|s| !s.is_empty());
    let before = params.str("before").filter(|s| !s.is_empty());
    let pattern = match (after, before) {
        (Some(a), Some(b)) => format!("{a}(?P<subsection>.*?){b}"),
        (Some(a), None) => format!("{a}(?P<subsection>.*)"),
        (None, Some(b)) => format!("(?P<subsection>.*){b}"),
        _ => String::new(),
    };
    let (section, range) = if pattern.is_empty() {
        (contents.as_str(), None)
    } else {
        let re = compile(&format!("(?s){pattern}"))?;
        match re.captures(&contents).and_then(|c| c.name("subsection")) {
            Some(m) => (m.as_str(), Some((m.start(), m.end()))),
            None => {
                r.insert(
                    "msg".into(),
                    json!(format!(
                        "Pattern for before/after params did not match the given file: {pattern}"
                    )),
                );
                r.insert("changed".into(), json!(false));
                return Ok(r);
            }
        }
    };
    let mre = compile(&format!("(?m){}", params.str("regexp").unwrap_or_default()))?;
    let repl = params.str("replace").unwrap_or_default();
    let mut count = 0usize;
    let new_section = mre
        .replace_all(section, |c: &Captures| {
            count += 1;
            py_expand(c, repl)
        })
        .into_owned();
    let mut msg = String::new();
    let mut changed = false;
    let mut result = contents.clone();
    if count > 0 && new_section != section {
        if let Some((a, b)) = range {
            result = format!("{}{}{}", &contents[..a], new_section, &contents[b..]);
        } else {
            result = new_section;
        }
        msg = format!("{count} replacements made");
        changed = true;
        if ctx.diff {
            r.insert(
                "diff".into(),
                json!({"before_header": path, "before": contents, "after_header": path, "after": result}),
            );
        }
    }
    if changed && !ctx.check_mode {
        if params.bool("backup") {
            let b = backup_local(Path::new(&path))
                .map_err(|e| Failure::new(format!("Could not make backup of {path}: {e}")))?;
            r.insert("backup_file".into(), json!(b));
        }
        write_changes(params, ctx, result.as_bytes(), &path)?;
    }
    let fa = FileAttrs::from_params(params);
    if apply_attrs(Path::new(&path), &fa, false, ctx.check_mode, None, &path)? {
        if changed {
            msg.push_str(" and ");
        }
        changed = true;
        msg.push_str("ownership, perms or SE linux context changed");
    }
    r.insert("msg".into(), json!(msg));
    r.insert("changed".into(), json!(changed));
    Ok(r)
}

pub fn run(args: &Args, ctx: &ModuleContext, module: &str) -> ModuleResult {
    let params = match spec().validate(module, args) {
        Ok(p) => p,
        Err(e) => return Failure::new(e).into_result(),
    };
    match inner(&params, ctx) {
        Ok(r) => r,
        Err(f) => f.into_result(),
    }
}

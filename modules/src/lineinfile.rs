//! `lineinfile`: make sure one line is present (or absent) in a text file.
//!
//! Regular expressions use Rust's `regex` syntax, which covers what Python's `re`
//! patterns in roles use (classes, groups, `(?P<name>)`), but not look-around or
//! backreferences inside the pattern.

use crate::args::{b, file_common, p, s, Spec};
use crate::util::{apply_attrs, atomic_write, backup_local, AttrDiff, Failure, FileAttrs, MResult};
use crate::{Args, ModuleContext, ModuleResult};
use regex::Regex;
use serde_json::{json, Map, Value};
use std::fs;
use std::path::Path;

fn spec() -> Spec {
    let mut opts = vec![
        p("path").required().aliases(&["dest", "destfile", "name"]),
        s("state")
            .default("present")
            .choices(&["absent", "present"]),
        s("regexp").aliases(&["regex"]),
        s("search_string"),
        s("line").aliases(&["value"]),
        s("encoding").default("utf-8"),
        s("insertafter"),
        s("insertbefore"),
        b("backrefs").default(false),
        b("create").default(false),
        b("backup").default(false),
        b("firstmatch").default(false),
        s("validate"),
    ];
    opts.extend(file_common());
    Spec::new(opts)
        .exclusive(&["insertbefore", "insertafter"])
        .exclusive(&["regexp", "search_string"])
        .exclusive(&["backrefs", "search_string"])
}

/// The text a pattern is searched in: the line without its newline, so that `$` matches
/// before the newline as in Python's `re`.
fn body(l: &str) -> &str {
    l.strip_suffix('\n').unwrap_or(l)
}

fn compile(re: &str) -> MResult<Regex> {
    Regex::new(re).map_err(|e| Failure::new(format!("Invalid regular expression {re:?}: {e}")))
}

/// Python's `match.expand(template)`: `\1`, `\g<1>`, `\g<name>` and the usual escapes.
fn expand(caps: &regex::Captures, template: &str) -> String {
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
                i = i + 4 + end;
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

/// Python's `readlines()` on a text-mode file: universal newlines, ends kept.
fn read_lines(path: &str) -> MResult<Vec<String>> {
    let data = fs::read(path).map_err(|e| Failure::new(format!("Unable to read {path}: {e}")))?;
    let text = String::from_utf8(data)
        .map_err(|_| Failure::new(format!("'utf-8' codec can't decode {path}")))?;
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    Ok(text.split_inclusive('\n').map(|s| s.to_string()).collect())
}

fn write_changes(
    params: &crate::args::Params,
    ctx: &ModuleContext,
    lines: &[String],
    dest: &str,
) -> MResult<()> {
    let data = lines.concat();
    if let Some(v) = params.str("validate") {
        if !v.contains("%s") {
            return Err(Failure::new(format!("validate must contain %s: {v}")));
        }
        let tmp = tempfile::Builder::new()
            .tempfile_in(ctx.tmpdir.clone().unwrap_or_else(std::env::temp_dir))
            .map_err(|e| Failure::new(format!("could not create a temporary file: {e}")))?;
        fs::write(tmp.path(), &data).map_err(|e| Failure::new(e.to_string()))?;
        if let Err((rc, _out, err)) = crate::util::run_validate(v, tmp.path()) {
            return Err(Failure::new(format!(
                "failed to validate: rc:{rc} error:{err}"
            )));
        }
    }
    let real = crate::util::realpath(Path::new(dest));
    atomic_write(&real, data.as_bytes())
        .map_err(|e| Failure::new(format!("Unable to write {dest}: {e}")))
}

/// check_file_attrs: apply owner/group/mode; mention it in msg.
fn check_attrs(
    params: &crate::args::Params,
    ctx: &ModuleContext,
    dest: &str,
    changed: bool,
    msg: String,
) -> MResult<(String, bool, Value)> {
    let mut d = AttrDiff::default();
    let mut msg = msg;
    let mut changed = changed;
    let fa = FileAttrs::from_params(params);
    let follow = false;
    let ch = apply_attrs(
        Path::new(dest),
        &fa,
        follow,
        ctx.check_mode,
        Some(&mut d),
        dest,
    )?;
    if ch {
        if changed {
            msg.push_str(" and ");
        }
        changed = true;
        msg.push_str("ownership, perms or SE linux context changed");
    }
    let mut ad = Map::new();
    if !d.before.is_empty() {
        ad.insert("before".into(), Value::Object(d.before));
        ad.insert("after".into(), Value::Object(d.after));
    }
    ad.insert(
        "before_header".into(),
        json!(format!("{dest} (file attributes)")),
    );
    ad.insert(
        "after_header".into(),
        json!(format!("{dest} (file attributes)")),
    );
    Ok((msg, changed, Value::Object(ad)))
}

fn content_diff(dest: &str) -> Map<String, Value> {
    let mut d = Map::new();
    d.insert("before".into(), json!(""));
    d.insert("after".into(), json!(""));
    d.insert("before_header".into(), json!(format!("{dest} (content)")));
    d.insert("after_header".into(), json!(format!("{dest} (content)")));
    d
}

#[allow(clippy::too_many_arguments)]
fn present(
    params: &crate::args::Params,
    ctx: &ModuleContext,
    dest: &str,
    regexp: Option<&str>,
    search: Option<&str>,
    line: &str,
    insertafter: Option<&str>,
    insertbefore: Option<&str>,
) -> MResult<Map<String, Value>> {
    let mut diff = content_diff(dest);
    let exists = Path::new(dest).exists();
    let mut lines = if !exists {
        if !params.bool("create") {
            return Err(
                Failure::new(format!("Destination {dest} does not exist !")).with("rc", 257)
            );
        }
        if let Some(dir) = Path::new(dest)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            if !dir.exists() && !ctx.check_mode {
                fs::create_dir_all(dir)
                    .map_err(|e| Failure::new(format!("Error creating {} ({e})", dir.display())))?;
            }
        }
        Vec::new()
    } else {
        read_lines(dest)?
    };
    if ctx.diff {
        diff.insert("before".into(), json!(lines.concat()));
    }
    let firstmatch = params.bool("firstmatch");
    let backrefs = params.bool("backrefs");
    let re_m = regexp.map(compile).transpose()?;
    let re_ins = match (insertafter, insertbefore) {
        (Some(a), _) if a != "BOF" && a != "EOF" => Some(compile(a)?),
        (None, Some(b)) if b != "BOF" => Some(compile(b)?),
        _ => None,
    };
    let mut index: [i64; 2] = [-1, -1];
    let mut matched: Option<String> = None; // the matching line (for backrefs)
    let mut exact = false;
    if let Some(re) = &re_m {
        for (n, l) in lines.iter().enumerate() {
            if re.is_match(body(l)) {
                index[0] = n as i64;
                matched = Some(l.clone());
                if firstmatch {
                    break;
                }
            }
        }
    }
    if let Some(ss) = search {
        for (n, l) in lines.iter().enumerate() {
            if l.contains(ss) {
                index[0] = n as i64;
                matched = Some(l.clone());
                if firstmatch {
                    break;
                }
            }
        }
    }
    if matched.is_none() {
        for (n, l) in lines.iter().enumerate() {
            if line == l.trim_end_matches(['\r', '\n']) {
                index[0] = n as i64;
                exact = true;
            } else if re_ins.as_ref().is_some_and(|r| r.is_match(body(l))) {
                if insertafter.is_some() {
                    index[1] = n as i64 + 1;
                    if firstmatch {
                        break;
                    }
                }
                if insertbefore.is_some() {
                    index[1] = n as i64;
                    if firstmatch {
                        break;
                    }
                }
            }
        }
    }
    let mut msg = String::new();
    let mut changed = false;
    let nl = "\n";
    let strip = |s: &str| s.trim_end_matches(['\r', '\n']).to_string();
    if index[0] != -1 {
        let mut new_line = match (&matched, backrefs, &re_m) {
            (Some(m), true, Some(re)) => re
                .captures(body(m))
                .map(|c| expand(&c, line))
                .unwrap_or_else(|| line.to_string()),
            _ => line.to_string(),
        };
        if !new_line.ends_with(nl) {
            new_line.push_str(nl);
        }
        if regexp.is_none() && search.is_none() && matched.is_none() && !exact {
            // unreachable in practice (index[0] is set only by a match); kept for parity
        } else if lines[index[0] as usize] != new_line {
            lines[index[0] as usize] = new_line;
            msg = "line replaced".into();
            changed = true;
        }
    } else if backrefs {
        // backrefs without a match: nothing to do
    } else if insertbefore == Some("BOF") || insertafter == Some("BOF") {
        lines.insert(0, format!("{line}{nl}"));
        msg = "line added".into();
        changed = true;
    } else if insertafter == Some("EOF") || index[1] == -1 {
        if lines.last().is_some_and(|l| !l.ends_with(['\n', '\r'])) {
            lines.push(nl.to_string());
        }
        lines.push(format!("{line}{nl}"));
        msg = "line added".into();
        changed = true;
    } else if insertafter.is_some() && index[1] != -1 {
        let i = index[1] as usize;
        if lines.len() == i {
            if strip(&lines[i - 1]) != line {
                lines.push(format!("{line}{nl}"));
                msg = "line added".into();
                changed = true;
            }
        } else if line != strip(&lines[i]) {
            lines.insert(i, format!("{line}{nl}"));
            msg = "line added".into();
            changed = true;
        }
    } else {
        lines.insert(index[1] as usize, format!("{line}{nl}"));
        msg = "line added".into();
        changed = true;
    }
    if ctx.diff {
        diff.insert("after".into(), json!(lines.concat()));
    }
    let mut backup = String::new();
    if changed && !ctx.check_mode {
        if params.bool("backup") && Path::new(dest).exists() {
            backup = backup_local(Path::new(dest))
                .map_err(|e| Failure::new(format!("Could not make backup of {dest}: {e}")))?;
        }
        write_changes(params, ctx, &lines, dest)?;
    }
    let mut r = Map::new();
    if ctx.check_mode && !Path::new(dest).exists() {
        r.insert("changed".into(), json!(changed));
        r.insert("msg".into(), json!(msg));
        r.insert("backup".into(), json!(backup));
        r.insert("diff".into(), Value::Object(diff));
        return Ok(r);
    }
    let (msg, changed, attr_diff) = check_attrs(params, ctx, dest, changed, msg)?;
    r.insert("changed".into(), json!(changed));
    r.insert("msg".into(), json!(msg));
    r.insert("backup".into(), json!(backup));
    r.insert("diff".into(), json!([Value::Object(diff), attr_diff]));
    Ok(r)
}

fn absent(
    params: &crate::args::Params,
    ctx: &ModuleContext,
    dest: &str,
    regexp: Option<&str>,
    search: Option<&str>,
    line: Option<&str>,
) -> MResult<Map<String, Value>> {
    let mut r = Map::new();
    if !Path::new(dest).exists() {
        r.insert("changed".into(), json!(false));
        r.insert("msg".into(), json!("file not present"));
        return Ok(r);
    }
    let mut diff = content_diff(dest);
    let lines = read_lines(dest)?;
    if ctx.diff {
        diff.insert("before".into(), json!(lines.concat()));
    }
    let re = regexp.map(compile).transpose()?;
    let mut found = 0usize;
    let kept: Vec<String> = lines
        .into_iter()
        .filter(|l| {
            let m = if let Some(re) = &re {
                re.is_match(body(l))
            } else if let Some(s) = search {
                l.contains(s)
            } else {
                Some(l.trim_end_matches(['\r', '\n'])) == line
            };
            if m {
                found += 1;
            }
            !m
        })
        .collect();
    let changed = found > 0;
    if ctx.diff {
        diff.insert("after".into(), json!(kept.concat()));
    }
    let mut backup = String::new();
    if changed && !ctx.check_mode {
        if params.bool("backup") {
            backup = backup_local(Path::new(dest))
                .map_err(|e| Failure::new(format!("Could not make backup of {dest}: {e}")))?;
        }
        write_changes(params, ctx, &kept, dest)?;
    }
    let msg = if changed {
        format!("{found} line(s) removed")
    } else {
        String::new()
    };
    let (msg, changed, attr_diff) = check_attrs(params, ctx, dest, changed, msg)?;
    r.insert("changed".into(), json!(changed));
    r.insert("found".into(), json!(found));
    r.insert("msg".into(), json!(msg));
    r.insert("backup".into(), json!(backup));
    r.insert("diff".into(), json!([Value::Object(diff), attr_diff]));
    Ok(r)
}

pub fn run(args: &Args, ctx: &ModuleContext, module: &str) -> ModuleResult {
    let params = match spec().validate(module, args) {
        Ok(p) => p,
        Err(e) => return Failure::new(e).into_result(),
    };
    let res = (|| -> MResult<Map<String, Value>> {
        let path = params.string("path").unwrap_or_default();
        let regexp = params.str("regexp");
        let search = params.str("search_string");
        let line = params.str("line");
        let mut warnings = Vec::new();
        if regexp == Some("") || search == Some("") {
            let name = if regexp == Some("") {
                "regular expression"
            } else {
                "search string"
            };
            let mut w = format!(
                "The {name} is an empty string, which will match every line in the file. This may have unintended consequences, such as replacing the last line in the file rather than appending."
            );
            if regexp == Some("") {
                w.push_str(" If this is desired, use '^' to match every line in the file and avoid this warning.");
            }
            warnings.push(w);
        }
        if Path::new(&path).is_dir() {
            return Err(Failure::new(format!("Path {path} is a directory !")).with("rc", 256));
        }
        let mut r = if params.str("state") == Some("present") {
            if params.bool("backrefs") && regexp.is_none() {
                return Err(Failure::new("regexp is required with backrefs=true"));
            }
            let Some(line) = line else {
                return Err(Failure::new("line is required with state=present"));
            };
            let (ib, mut ia) = (params.str("insertbefore"), params.str("insertafter"));
            if ib.is_none() && ia.is_none() {
                ia = Some("EOF");
            }
            present(&params, ctx, &path, regexp, search, line, ia, ib)?
        } else {
            if regexp.is_none() && search.is_none() && line.is_none() {
                return Err(Failure::new(
                    "one of line, search_string, or regexp is required with state=absent",
                ));
            }
            absent(&params, ctx, &path, regexp, search, line)?
        };
        if !warnings.is_empty() {
            r.insert("warnings".into(), json!(warnings));
        }
        Ok(r)
    })();
    match res {
        Ok(r) => r,
        Err(f) => f.into_result(),
    }
}

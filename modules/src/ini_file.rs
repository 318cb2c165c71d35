//! `community.general.ini_file`: manage options and sections in INI files, line by line
//! (comments and layout are kept), with community.general's matching rules: an option
//! may be commented out (`# opt = x`) and is then reused unless
//! `modify_inactive_option: false`; `exclusive` removes other occurrences.

use crate::args::{b, file_common, l, p, s, Params, Spec, Type};
use crate::util::{apply_attrs, atomic_write, backup_local, Failure, FileAttrs, MResult};
use crate::{Args, ModuleContext, ModuleResult};
use regex::Regex;
use serde_json::{json, Map, Value};
use std::fs;
use std::path::Path;

const FAKE: &str = "ad01e11446efb704fcdbdb21f2c43757423d91c5";

fn spec() -> Spec {
    let mut opts = vec![
        p("path").required().aliases(&["dest"]),
        s("section"),
        l("section_has_values").elements(Type::Dict),
        s("option"),
        s("value"),
        l("values").elements(Type::Str),
        b("backup").default(false),
        s("state")
            .default("present")
            .choices(&["absent", "present"]),
        b("exclusive").default(true),
        b("no_extra_spaces").default(false),
        b("ignore_spaces").default(false),
        b("allow_no_value").default(false),
        b("modify_inactive_option").default(true),
        b("create").default(true),
        b("follow").default(false),
    ];
    opts.extend(file_common());
    Spec::new(opts).exclusive(&["value", "values"])
}

struct OptMatch {
    comment: String,
    sep: String,
    value: String,
}

struct Matcher {
    any: Regex,
    active: Regex,
}

impl Matcher {
    fn new(option: &str) -> Matcher {
        let o = regex::escape(option);
        Matcher {
            any: Regex::new(&format!(
                r"^(?: |\t)*(?P<comment>[#;]?)(?: |\t)*{o}(?: |\t)*(?P<sep>=|$)(?: |\t)*(?P<value>.*)"
            ))
            .expect("regex"),
            active: Regex::new(&format!(
                r"^(?: |\t)*(?P<comment>){o}(?: |\t)*(?P<sep>=|$)(?: |\t)*(?P<value>.*)"
            ))
            .expect("regex"),
        }
    }
    fn m(re: &Regex, line: &str) -> Option<OptMatch> {
        // Python's `$` also matches before a final newline.
        let body = line.strip_suffix('\n').unwrap_or(line);
        re.captures(body).map(|c| OptMatch {
            comment: c["comment"].to_string(),
            sep: c["sep"].to_string(),
            value: c["value"].to_string(),
        })
    }
    fn opt(&self, line: &str) -> Option<OptMatch> {
        Self::m(&self.any, line)
    }
    fn active(&self, line: &str) -> Option<OptMatch> {
        Self::m(&self.active, line)
    }
}

struct Cond {
    option: String,
    values: Vec<String>,
}

fn section_has(conds: &[Cond], lines: &[String]) -> bool {
    conds.iter().all(|c| {
        let m = Matcher::new(&c.option);
        lines.iter().any(|l| {
            m.opt(l)
                .is_some_and(|mm| c.values.is_empty() || c.values.contains(&mm.value))
        })
    })
}

#[allow(clippy::too_many_arguments)]
fn update_line(
    m: &Matcher,
    changed: &mut bool,
    lines: &mut [String],
    idx: usize,
    changed_lines: &mut [bool],
    ignore_spaces: bool,
    newline: String,
    msg: &mut String,
) {
    let mut oc = None;
    if ignore_spaces {
        if let Some(old) = m.opt(&lines[idx]) {
            if old.comment.is_empty() {
                oc = Some(m.opt(&newline).map(|n| n.value) != Some(old.value));
            }
        }
    }
    let oc = oc.unwrap_or(lines[idx] != newline);
    if oc {
        lines[idx] = newline;
        *changed = true;
        *msg = "option changed".into();
    }
    changed_lines[idx] = true;
}

fn inner(params: &Params, ctx: &ModuleContext) -> MResult<Map<String, Value>> {
    let path = params.string("path").unwrap_or_default();
    let state = params.str("state").unwrap_or("present");
    let allow_no_value = params.bool("allow_no_value");
    let exclusive = params.bool("exclusive");
    let ignore_spaces = params.bool("ignore_spaces");
    let option = params.string("option");
    let value = params.string("value");
    let raw_values = params.list("values").unwrap_or_default();
    if state == "present" && !allow_no_value && value.is_none() && raw_values.is_empty() {
        return Err(Failure::new(
            "Parameter 'value(s)' must be defined if state=present and allow_no_value=False.",
        ));
    }
    let given: Vec<String> = match value {
        Some(v) => vec![v],
        None => raw_values,
    };
    let mut values: Vec<String> = Vec::new();
    for v in given {
        if !values.contains(&v) {
            values.push(v);
        }
    }
    let mut conds: Vec<Cond> = Vec::new();
    let has_conds = params
        .get("section_has_values")
        .is_some_and(|v| !v.is_null() && v.as_array().is_some_and(|a| !a.is_empty()));
    if let Some(Value::Array(a)) = params.get("section_has_values") {
        for c in a {
            let opt = c.get("option").map(crate::args::py_str);
            let Some(opt) = opt else {
                return Err(Failure::new(
                    "missing required arguments: option found in section_has_values",
                ));
            };
            let vals = if let Some(v) = c.get("value").filter(|v| !v.is_null()) {
                vec![crate::args::py_str(v)]
            } else if let Some(Value::Array(vs)) = c.get("values") {
                vs.iter().map(crate::args::py_str).collect()
            } else {
                Vec::new()
            };
            conds.push(Cond {
                option: opt,
                values: vals,
            });
        }
    }
    let mut diff = Map::new();
    diff.insert("before".into(), json!(""));
    diff.insert("after".into(), json!(""));
    diff.insert("before_header".into(), json!(format!("{path} (content)")));
    diff.insert("after_header".into(), json!(format!("{path} (content)")));
    let target = if params.bool("follow") && Path::new(&path).is_symlink() {
        crate::util::realpath(Path::new(&path))
            .display()
            .to_string()
    } else {
        path.clone()
    };
    let mut ini: Vec<String> = if !Path::new(&target).exists() {
        if !params.bool("create") {
            return Err(
                Failure::new(format!("Destination {target} does not exist!")).with("rc", 257),
            );
        }
        if let Some(dir) = Path::new(&target)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            if !dir.exists() && !ctx.check_mode {
                fs::create_dir_all(dir).map_err(|e| Failure::new(e.to_string()))?;
            }
        }
        Vec::new()
    } else {
        let data = fs::read(&target).map_err(|e| Failure::new(e.to_string()))?;
        let mut text = String::from_utf8_lossy(&data).into_owned();
        if let Some(t) = text.strip_prefix('\u{feff}') {
            text = t.to_string();
        }
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        text.split_inclusive('\n').map(|s| s.to_string()).collect()
    };
    if ctx.diff {
        diff.insert("before".into(), json!(ini.concat()));
    }
    let mut changed = false;
    if ini.is_empty() {
        ini.push("\n".into());
    }
    if !ini.last().is_some_and(|l| l.ends_with('\n')) {
        ini.last_mut().expect("line").push('\n');
        changed = true;
    }
    ini.insert(0, format!("[{FAKE}]"));
    ini.push("[".into());
    let section = params
        .string("section")
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| FAKE.to_string());
    let mut within = false;
    let (mut start, mut end) = (0usize, 0usize);
    let mut msg = String::from("OK");
    let sep = if params.bool("no_extra_spaces") {
        "="
    } else {
        " = "
    };
    let mut no_value_present = false;
    let blank_or_comment = Regex::new(r"^[ \t]*([#;].*)?$").expect("regex");
    let sec_re =
        Regex::new(&format!(r"^\[\s*{}\s*]", regex::escape(section.trim()))).expect("regex");
    for (idx, line) in ini.iter().enumerate() {
        if within && line.starts_with('[') {
            if section_has(&conds, &ini[start..idx]) {
                end = idx;
                break;
            }
            within = false;
            start = 0;
            end = 0;
        }
        if sec_re.is_match(line) {
            within = true;
            start = idx;
        }
    }
    let before: Vec<String> = ini[..start].to_vec();
    let mut sect: Vec<String> = ini[start..end].to_vec();
    let after: Vec<String> = ini[end..].to_vec();
    let mut cl = vec![false; sect.len()];
    let opt = option.clone().unwrap_or_default();
    let m = Matcher::new(&opt);
    let inactive = params.bool("modify_inactive_option");
    let mf = |l: &str| if inactive { m.opt(l) } else { m.active(l) };
    if state == "present" && option.is_some() && !opt.is_empty() {
        for idx in 0..sect.len() {
            if let Some(mm) = mf(&sect[idx]) {
                if !values.is_empty() && values.contains(&mm.value) {
                    let mv = mm.value.clone();
                    let newline = if mv.is_empty() && allow_no_value {
                        no_value_present = true;
                        format!("{opt}\n")
                    } else {
                        format!("{opt}{sep}{mv}\n")
                    };
                    update_line(
                        &m,
                        &mut changed,
                        &mut sect,
                        idx,
                        &mut cl,
                        ignore_spaces,
                        newline,
                        &mut msg,
                    );
                    values.retain(|v| *v != mv);
                } else if values.is_empty() && allow_no_value {
                    update_line(
                        &m,
                        &mut changed,
                        &mut sect,
                        idx,
                        &mut cl,
                        ignore_spaces,
                        format!("{opt}\n"),
                        &mut msg,
                    );
                    no_value_present = true;
                    break;
                }
            }
        }
    }
    if state == "present" && exclusive && !allow_no_value {
        if !values.is_empty() {
            for idx in 0..sect.len() {
                let lm = if cl[idx] { None } else { mf(&sect[idx]) };
                if let Some(lm) = lm {
                    if lm.comment.is_empty() || !lm.sep.is_empty() {
                        let v = values.remove(0);
                        update_line(
                            &m,
                            &mut changed,
                            &mut sect,
                            idx,
                            &mut cl,
                            ignore_spaces,
                            format!("{opt}{sep}{v}\n"),
                            &mut msg,
                        );
                        if values.is_empty() {
                            break;
                        }
                    }
                }
            }
        }
        let mut idx = sect.len();
        while idx > 1 {
            idx -= 1;
            let lm = if cl[idx] { None } else { mf(&sect[idx]) };
            if let Some(lm) = lm {
                if lm.comment.is_empty() || !lm.sep.is_empty() {
                    sect.remove(idx);
                    cl.remove(idx);
                    changed = true;
                    msg = "option changed".into();
                }
            }
        }
    }
    if state == "present" {
        let mut idx = sect.len();
        while idx > 0 {
            if !blank_or_comment
                .is_match(sect[idx - 1].strip_suffix('\n').unwrap_or(&sect[idx - 1]))
            {
                if !opt.is_empty() && !values.is_empty() {
                    for v in values.iter().rev() {
                        sect.insert(idx, format!("{opt}{sep}{v}\n"));
                        msg = "option added".into();
                        changed = true;
                    }
                } else if !opt.is_empty()
                    && values.is_empty()
                    && allow_no_value
                    && !no_value_present
                {
                    sect.insert(idx, format!("{opt}\n"));
                    msg = "option added".into();
                    changed = true;
                }
                break;
            }
            idx -= 1;
        }
    }
    if state == "absent" {
        if !opt.is_empty() {
            if exclusive {
                let n: Vec<String> = sect
                    .iter()
                    .filter(|l| m.active(l).is_none())
                    .cloned()
                    .collect();
                if n != sect {
                    changed = true;
                    msg = "option changed".into();
                    sect = n;
                }
            } else if !values.is_empty() {
                let n: Vec<String> = sect
                    .iter()
                    .filter(|l| !m.active(l).is_some_and(|mm| values.contains(&mm.value)))
                    .cloned()
                    .collect();
                if n != sect {
                    changed = true;
                    msg = "option changed".into();
                    sect = n;
                }
            }
        } else if !sect.is_empty() {
            sect.clear();
            msg = "section removed".into();
            changed = true;
        }
    }
    let mut out: Vec<String> = before;
    out.extend(sect);
    out.extend(after);
    out.remove(0);
    out.pop();
    if !within && state == "present" {
        out.push(format!("[{section}]\n"));
        msg = "section and option added".into();
        if has_conds {
            for c in &conds {
                if Some(&c.option) != option.as_ref() {
                    if !c.values.is_empty() {
                        for v in &c.values {
                            out.push(format!("{}{sep}{v}\n", c.option));
                        }
                    } else if allow_no_value {
                        out.push(format!("{}\n", c.option));
                    }
                } else if !exclusive {
                    for v in &c.values {
                        if !values.contains(v) {
                            values.push(v.clone());
                        }
                    }
                }
            }
        }
        if !opt.is_empty() && !values.is_empty() {
            for v in &values {
                out.push(format!("{opt}{sep}{v}\n"));
            }
        } else if !opt.is_empty() && values.is_empty() && allow_no_value {
            out.push(format!("{opt}\n"));
        } else {
            msg = "only section added".into();
        }
        changed = true;
    }
    let text = out.concat();
    if ctx.diff {
        diff.insert("after".into(), json!(text));
    }
    let mut r = Map::new();
    if changed && !ctx.check_mode {
        if params.bool("backup") && Path::new(&target).exists() {
            let b = backup_local(Path::new(&target))
                .map_err(|e| Failure::new(format!("Could not make backup of {target}: {e}")))?;
            r.insert("backup_file".into(), json!(b));
        }
        atomic_write(&crate::util::abspath(&target), text.as_bytes()).map_err(|e| {
            Failure::new(format!(
                "Unable to move temporary file to {target}, IOError: {e}"
            ))
        })?;
    }
    if !ctx.check_mode && Path::new(&path).exists() {
        let fa = FileAttrs::from_params(params);
        if apply_attrs(Path::new(&path), &fa, true, false, None, &path)? {
            changed = true;
        }
    }
    r.insert("changed".into(), json!(changed));
    r.insert("diff".into(), Value::Object(diff));
    r.insert("msg".into(), json!(msg));
    r.insert("path".into(), json!(path));
    crate::util::add_path_info_result(&mut r);
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

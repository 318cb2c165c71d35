//! `community.general.pam_limits`: one `domain type item value` line in limits.conf,
//! with community.general's rewriting rules (use_max/use_min, comments, the whole file
//! rewritten line by line). The result always has `diff` (before/after), as the module's.

use crate::args::{b, s, Params, Spec};
use crate::util::{atomic_write, backup_local, Failure, MResult};
use crate::{Args, ModuleContext, ModuleResult};
use regex::Regex;
use serde_json::{json, Map, Value};
use std::path::Path;

const ITEMS: &[&str] = &[
    "core",
    "data",
    "fsize",
    "memlock",
    "nofile",
    "rss",
    "stack",
    "cpu",
    "nproc",
    "as",
    "maxlogins",
    "maxsyslogins",
    "priority",
    "locks",
    "sigpending",
    "msgqueue",
    "nice",
    "rtprio",
    "chroot",
];

fn spec() -> Spec {
    Spec::new(vec![
        s("domain").required(),
        s("limit_type").required().choices(&["soft", "hard", "-"]),
        s("limit_item").required().choices(ITEMS),
        s("value").required(),
        b("use_max").default(false),
        b("use_min").default(false),
        b("backup").default(false),
        s("dest").default("/etc/security/limits.conf"),
        s("comment").default(""),
    ])
}

fn py_repr(s: &str) -> String {
    crate::args::py_repr(&Value::String(s.to_string()))
}

fn check_value(item: &str, value: &str, prefix: &str) -> MResult<()> {
    if item == "nice" || item == "priority" {
        let ok = value
            .trim()
            .parse::<i64>()
            .map(|v| (-20..=19).contains(&v))
            .unwrap_or(false);
        if !ok {
            return Err(Failure::new(format!(
                "{prefix} Value of {} for item {} is invalid. Value must be a number in the range -20 to 19 inclusive. Refer to the limits.conf(5) manual pages for more details.",
                py_repr(value),
                py_repr(item)
            )));
        }
    } else if !(["unlimited", "infinity", "-1"].contains(&value)
        || (!value.is_empty() && value.chars().all(|c| c.is_ascii_digit())))
    {
        return Err(Failure::new(format!(
            "{prefix} Value of {} for item {} is invalid. Value must either be 'unlimited', 'infinity' or -1, all of which indicate no limit, or a limit of 0 or larger. Refer to the limits.conf(5) manual pages for more details.",
            py_repr(value),
            py_repr(item)
        )));
    }
    Ok(())
}

fn inner(params: &Params, ctx: &ModuleContext) -> MResult<Map<String, Value>> {
    let domain = params.string("domain").unwrap_or_default();
    let ltype = params.string("limit_type").unwrap_or_default();
    let item = params.string("limit_item").unwrap_or_default();
    let value = params.string("value").unwrap_or_default();
    let use_max = params.bool("use_max");
    let use_min = params.bool("use_min");
    let conf = params.string("dest").unwrap_or_default();
    let mut new_comment = params.string("comment").unwrap_or_default();
    let mut changed = false;
    let mut does_not_exist = false;
    if Path::new(&conf).is_file() {
        let c = std::ffi::CString::new(conf.clone()).unwrap_or_default();
        if unsafe { libc::access(c.as_ptr(), libc::W_OK) } != 0 {
            return Err(Failure::new(format!("{conf} is not writable. Use sudo")));
        }
    } else {
        let dir = Path::new(&conf)
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let c = std::ffi::CString::new(dir.clone()).unwrap_or_default();
        if Path::new(&dir).is_dir() && unsafe { libc::access(c.as_ptr(), libc::W_OK) } == 0 {
            does_not_exist = true;
            changed = true;
        } else {
            return Err(Failure::new(format!(
                "directory {dir} is not writable (check presence, access rights, use sudo)"
            )));
        }
    }
    if use_max && use_min {
        return Err(Failure::new(
            "Cannot use use_min and use_max at the same time.",
        ));
    }
    check_value(&item, &value, "")?;
    let before = if does_not_exist {
        String::new()
    } else {
        String::from_utf8_lossy(&std::fs::read(&conf).map_err(|e| Failure::new(e.to_string()))?)
            .into_owned()
    };
    let lines: Vec<&str> = before.split_inclusive('\n').collect();
    let space = Regex::new(r"\s+").expect("regex");
    let mut out = String::new();
    let mut message = String::new();
    let mut found = false;
    let mut new_value = value.clone();
    let unl = |v: &str| ["unlimited", "infinity", "-1"].contains(&v);
    for line in &lines {
        if line.starts_with('#') {
            out.push_str(line);
            continue;
        }
        let nl = space.replace_all(line, " ").trim().to_string();
        if nl.is_empty() {
            out.push_str(line);
            continue;
        }
        let nl = nl.split('#').next().unwrap_or("").to_string();
        let old_comment = line.split_once('#').map(|x| x.1).unwrap_or("").to_string();
        let nl = nl.trim_end();
        if new_comment.is_empty() {
            new_comment = old_comment;
        }
        let f: Vec<&str> = nl.split(' ').collect();
        if f.len() != 4 {
            out.push_str(line);
            continue;
        }
        let (ld, lt, li, actual) = (f[0], f[1], f[2], f[3]);
        check_value(
            li,
            actual,
            &format!("Invalid configuration found in '{conf}'."),
        )?;
        if ld == domain && lt == ltype && li == item {
            found = true;
            if value == actual {
                message = line.to_string();
                out.push_str(line);
                continue;
            }
            let (au, vu) = if lt != "nice" && lt != "priority" {
                (unl(actual), unl(&value))
            } else {
                (false, false)
            };
            let num = |s: &str| s.parse::<i64>().unwrap_or(0);
            if use_max {
                new_value = if au {
                    actual.to_string()
                } else if vu {
                    value.clone()
                } else {
                    num(&value).max(num(actual)).to_string()
                };
            }
            if use_min {
                new_value = if au && vu {
                    actual.to_string()
                } else if au {
                    value.clone()
                } else if vu {
                    actual.to_string()
                } else {
                    num(&value).min(num(actual)).to_string()
                };
            }
            if new_value != actual {
                changed = true;
                if !new_comment.is_empty() {
                    new_comment = format!("\t#{new_comment}");
                }
                let nlim = format!("{domain}\t{ltype}\t{item}\t{new_value}{new_comment}\n");
                message = nlim.clone();
                out.push_str(&nlim);
            } else {
                message = line.to_string();
                out.push_str(line);
            }
        } else {
            out.push_str(line);
        }
    }
    if !found {
        changed = true;
        if !new_comment.is_empty() {
            new_comment = format!("\t#{new_comment}");
        }
        let nlim = format!("{domain}\t{ltype}\t{item}\t{new_value}{new_comment}\n");
        message = nlim.clone();
        out.push_str(&nlim);
    }
    let mut r = Map::new();
    if !ctx.check_mode {
        if params.bool("backup") && changed && !does_not_exist {
            let b = backup_local(Path::new(&conf))
                .map_err(|e| Failure::new(format!("Could not make backup of {conf}: {e}")))?;
            r.insert("backup_file".into(), json!(b));
        }
        if does_not_exist {
            std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(&conf)
                .map_err(|e| Failure::new(e.to_string()))?;
        }
        atomic_write(&crate::util::abspath(&conf), out.as_bytes())
            .map_err(|e| Failure::new(format!("Unable to write {conf}: {e}")))?;
    }
    r.insert("changed".into(), json!(changed));
    r.insert("msg".into(), json!(message));
    r.insert("diff".into(), json!({"before": before, "after": out}));
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

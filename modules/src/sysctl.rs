//! `ansible.posix.sysctl`: keep a `key=value` line in a sysctl file (default
//! /etc/sysctl.conf), optionally set the running value (`sysctl_set`) and reload the
//! file (`reload`, `sysctl -p FILE`). Values are read with `sysctl -e -n`, or from
//! /proc/sys when the `sysctl` binary is missing; likewise for setting.

use crate::args::{b, p, s, Params, Spec};
use crate::util::{atomic_write, Failure, MResult};
use crate::{Args, ModuleContext, ModuleResult};
use regex::Regex;
use serde_json::json;
use std::path::Path;
use std::process::Command;

fn spec() -> Spec {
    Spec::new(vec![
        s("name").required().aliases(&["key"]),
        s("value").aliases(&["val"]),
        s("state")
            .default("present")
            .choices(&["present", "absent"]),
        b("reload").default(true),
        b("sysctl_set").default(false),
        b("ignoreerrors").default(false),
        p("sysctl_file").default("/etc/sysctl.conf"),
    ])
    .required_if("state", "present", &["value"], false)
}

fn sysctl_bin() -> Option<String> {
    [
        "/usr/sbin/sysctl",
        "/sbin/sysctl",
        "/usr/bin/sysctl",
        "/bin/sysctl",
    ]
    .iter()
    .find(|p| Path::new(p).exists())
    .map(|s| s.to_string())
}

fn proc_path(token: &str) -> String {
    format!("/proc/sys/{}", token.replace('.', "/"))
}

fn run_c(argv: &[String]) -> (i32, String, String) {
    match Command::new(&argv[0])
        .args(&argv[1..])
        .env("LANG", "C")
        .env("LC_ALL", "C")
        .env("LC_MESSAGES", "C")
        .output()
    {
        Ok(o) => (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        ),
        Err(e) => (2, String::new(), e.to_string()),
    }
}

fn current(token: &str) -> Option<String> {
    match sysctl_bin() {
        Some(bin) => {
            let (rc, out, _) = run_c(&[bin, "-e".into(), "-n".into(), token.into()]);
            (rc == 0).then_some(out)
        }
        None => std::fs::read_to_string(proc_path(token)).ok(),
    }
}

fn stderr_failed(err: &str) -> bool {
    Regex::new(r#"(?m)^sysctl: setting key "[^"]+": (Invalid argument|Read-only file system)$"#)
        .map(|r| r.is_match(err))
        .unwrap_or(false)
}

fn set_value(token: &str, value: &str, ignore: bool) -> MResult<()> {
    match sysctl_bin() {
        Some(bin) => {
            let mut argv = vec![bin];
            if ignore {
                argv.push("-e".into());
            }
            argv.push("-w".into());
            argv.push(format!("{token}={value}"));
            let (rc, out, err) = run_c(&argv);
            if rc != 0 || stderr_failed(&err) {
                return Err(Failure::new(format!("setting {token} failed: {out}{err}")));
            }
            Ok(())
        }
        None => std::fs::write(proc_path(token), value)
            .map_err(|e| Failure::new(format!("setting {token} failed: {e}"))),
    }
}

fn parse_value(v: Option<&str>) -> String {
    match v {
        None => String::new(),
        Some(v) => {
            let l = v.to_lowercase();
            if ["y", "yes", "on", "1", "true", "t"].contains(&l.as_str()) {
                "1".into()
            } else if ["n", "no", "off", "0", "false", "f"].contains(&l.as_str()) {
                "0".into()
            } else {
                v.trim().to_string()
            }
        }
    }
}

fn same(a: &Option<String>, b: &str) -> bool {
    match a {
        None => false,
        Some(a) => a.split_whitespace().eq(b.split_whitespace()),
    }
}

fn inner(params: &Params, ctx: &ModuleContext) -> MResult<bool> {
    let name_raw = params.string("name").unwrap_or_default();
    let state = params.string("state").unwrap_or_default();
    let value_raw = params.string("value");
    if state == "present" && value_raw.is_none() {
        return Err(Failure::new("value cannot be None"));
    }
    if name_raw.is_empty() {
        return Err(Failure::new("name cannot be blank"));
    }
    if state == "present" && value_raw.as_deref() == Some("") {
        return Err(Failure::new("value cannot be blank"));
    }
    let name = name_raw.trim().to_string();
    let value = parse_value(value_raw.as_deref());
    let file = params.string("sysctl_file").unwrap_or_default();
    let reload = params.bool("reload");
    let ignore = params.bool("ignoreerrors");
    let proc_value = current(&name);
    let mut lines: Vec<String> = Vec::new();
    let mut file_values: Vec<(String, String)> = Vec::new();
    if Path::new(&file).is_file() {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| Failure::new(format!("Failed to open {file}: {e}")))?;
        for l in text.lines() {
            let l = l.trim().to_string();
            if !(l.is_empty() || l.starts_with('#') || l.starts_with(';') || !l.contains('=')) {
                let (k, v) = l.split_once('=').expect("=");
                let k = k.trim().to_string();
                let v = v.trim().to_string();
                if let Some(e) = file_values.iter_mut().find(|(kk, _)| *kk == k) {
                    e.1 = v;
                } else {
                    file_values.push((k, v));
                }
            }
            lines.push(l);
        }
    }
    let fv = file_values
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.clone());
    // fix_lines
    let mut checked: Vec<String> = Vec::new();
    let mut fixed: Vec<String> = Vec::new();
    for l in &lines {
        if l.trim().is_empty()
            || l.trim().starts_with('#')
            || l.trim().starts_with(';')
            || !l.contains('=')
        {
            fixed.push(l.clone());
            continue;
        }
        let (k, v) = l.trim().split_once('=').expect("=");
        let (k, v) = (k.trim().to_string(), v.trim().to_string());
        if !checked.contains(&k) {
            checked.push(k.clone());
            if k == name {
                if state == "present" {
                    fixed.push(format!("{k}={value}"));
                }
            } else {
                fixed.push(format!("{k}={v}"));
            }
        }
    }
    if !checked.contains(&name) && state == "present" {
        fixed.push(format!("{name}={value}"));
    }
    let mut changed = false;
    let mut write_file = false;
    let mut set_proc = false;
    match (&fv, state.as_str()) {
        (None, "present") => {
            changed = true;
            write_file = true;
        }
        (None, _) => {}
        (Some(v), "absent") if !v.is_empty() => {
            changed = true;
            write_file = true;
        }
        (Some(v), _) if *v != value => {
            changed = true;
            write_file = true;
        }
        _ => {
            if reload && (proc_value.is_none() || !same(&proc_value, &value)) {
                changed = true;
            }
        }
    }
    if params.bool("sysctl_set") && state == "present" {
        if proc_value.is_none() {
            changed = true;
        } else if !same(&proc_value, &value) {
            changed = true;
            set_proc = true;
        }
    }
    if !ctx.check_mode {
        if set_proc {
            set_value(&name, &value, ignore)?;
        }
        if write_file {
            let data: String = fixed.iter().map(|l| format!("{}\n", l.trim())).collect();
            atomic_write(&crate::util::realpath(Path::new(&file)), data.as_bytes())
                .map_err(|e| Failure::new(format!("Failed to write to file {file}: {e}")))?;
        }
        if changed && reload {
            match sysctl_bin() {
                Some(bin) => {
                    let mut argv = vec![bin];
                    if ignore {
                        argv.push("-e".into());
                    }
                    argv.push("-p".into());
                    argv.push(file.clone());
                    let (rc, out, err) = run_c(&argv);
                    if rc != 0 || stderr_failed(&err) {
                        return Err(Failure::new(format!("Failed to reload sysctl: {out}{err}")));
                    }
                }
                None => {
                    // No sysctl binary: apply the file's values through /proc/sys.
                    let text = std::fs::read_to_string(&file).unwrap_or_default();
                    for l in text.lines() {
                        let l = l.trim();
                        if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
                            continue;
                        }
                        if let Some((k, v)) = l.split_once('=') {
                            if let Err(e) = set_value(k.trim(), v.trim(), ignore) {
                                if !ignore {
                                    return Err(Failure::new(format!(
                                        "Failed to reload sysctl: {}",
                                        e.0.get("msg").and_then(|m| m.as_str()).unwrap_or("")
                                    )));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(changed)
}

pub fn run(args: &Args, ctx: &ModuleContext, module: &str) -> ModuleResult {
    let params = match spec().validate(module, args) {
        Ok(p) => p,
        Err(e) => return Failure::new(e).into_result(),
    };
    match inner(&params, ctx) {
        Ok(c) => {
            let mut r = ModuleResult::new();
            r.insert("changed".into(), json!(c));
            r
        }
        Err(f) => f.into_result(),
    }
}

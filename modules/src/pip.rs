//! `pip`: install, upgrade and remove Python packages, optionally in a virtualenv that
//! is created on demand (`virtualenv_command`). Like Ansible's module, pip always runs
//! (outside check mode) and `changed` comes from pip's own report ("Successfully
//! installed" / "Successfully uninstalled"), or from comparing `pip list` before and
//! after for requirement files.

use crate::args::{b, l, p, s, Params, Spec, Type};
use crate::sysutil::{cmd_failure, module, put_output, res, run, run_in, which};
use crate::util::{shlex_split, Failure, MResult};
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::{json, Value};
use std::path::Path;

fn spec() -> Spec {
    Spec::new(vec![
        s("state")
            .default("present")
            .choices(&["present", "absent", "latest", "forcereinstall"]),
        l("name").elements(Type::Str),
        s("version"),
        s("requirements"),
        p("virtualenv"),
        b("virtualenv_site_packages").default(false),
        p("virtualenv_command").default("virtualenv"),
        s("virtualenv_python"),
        s("extra_args"),
        b("editable").default(false),
        p("chdir"),
        p("executable"),
        s("umask"),
        b("break_system_packages").default(false),
    ])
    .one_of(&["name", "requirements"])
    .exclusive(&["name", "requirements"])
    .exclusive(&["executable", "virtualenv"])
}

/// Normalized project name (PEP 503).
fn norm(n: &str) -> String {
    n.to_lowercase().replace(['_', '.'], "-")
}

fn ver_key(v: &str) -> Vec<i64> {
    v.split(['.', '-', '+'])
        .map(|x| {
            x.chars()
                .take_while(|c| c.is_ascii_digit())
                .collect::<String>()
                .parse()
                .unwrap_or(0)
        })
        .collect()
}

fn cmp_ver(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut x, mut y) = (ver_key(a), ver_key(b));
    let n = x.len().max(y.len());
    x.resize(n, 0);
    y.resize(n, 0);
    x.cmp(&y)
}

/// Split "name>=1.0,<2" into the name and its specifiers.
fn split_req(req: &str) -> (String, Vec<(String, String)>) {
    let idx = req
        .find(['=', '<', '>', '!', '~', ' ', '[', ';'])
        .unwrap_or(req.len());
    let name = req[..idx].trim().to_string();
    let rest = req[idx..].trim();
    let rest = rest
        .split_once(']')
        .map(|(_, r)| r)
        .filter(|_| rest.starts_with('['))
        .unwrap_or(rest);
    let rest = rest.split(';').next().unwrap_or("");
    let mut specs = Vec::new();
    for part in rest.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let op: String = part.chars().take_while(|c| "=<>!~".contains(*c)).collect();
        specs.push((op.clone(), part[op.len()..].trim().to_string()));
    }
    (name, specs)
}

fn satisfied(installed: &str, specs: &[(String, String)]) -> bool {
    use std::cmp::Ordering::*;
    specs.iter().all(|(op, v)| {
        let c = cmp_ver(installed, v);
        match op.as_str() {
            "==" | "===" => {
                if let Some(prefix) = v.strip_suffix(".*") {
                    installed == prefix || installed.starts_with(&format!("{prefix}."))
                } else {
                    c == Equal
                }
            }
            "!=" => c != Equal,
            ">=" => c != Less,
            "<=" => c != Greater,
            ">" => c == Greater,
            "<" => c == Less,
            "~=" => c != Less,
            _ => true,
        }
    })
}

fn pip_bin(p: &Params) -> MResult<Vec<String>> {
    if let Some(exe) = p.str("executable") {
        let path = if exe.contains('/') {
            Some(exe.to_string())
        } else {
            which(exe).map(|x| x.display().to_string())
        };
        return path
            .map(|x| vec![x])
            .ok_or_else(|| Failure::new(format!("Unable to find pip in the virtualenv, {exe}")));
    }
    if let Some(env) = p.str("virtualenv") {
        for cand in ["pip3", "pip"] {
            let c = Path::new(env).join("bin").join(cand);
            if c.is_file() {
                return Ok(vec![c.display().to_string()]);
            }
        }
        return Err(Failure::new(format!(
            "Unable to find pip in the virtualenv, {env}, under any of these names: pip3, pip. Make sure pip is present in the virtualenv."
        )));
    }
    for cand in ["pip3", "pip"] {
        if let Some(x) = which(cand) {
            return Ok(vec![x.display().to_string()]);
        }
    }
    Err(Failure::new(
        "Unable to find any of pip3, pip to use.  pip needs to be installed.",
    ))
}

pub fn run_module(args: &Args, ctx: &ModuleContext, m: &str) -> ModuleResult {
    module(spec(), args, ctx, m, body)
}

/// ansible-core's `_fail`: the command as a list and pip's output in the message.
fn pip_fail(cmd: &[String], out: &str, err: &str) -> Failure {
    let mut msg = String::new();
    if !out.is_empty() {
        msg.push_str(&format!("stdout: {out}"));
    }
    if !err.is_empty() {
        msg.push_str(&format!("\n:stderr: {err}"));
    }
    Failure::new(msg).with("cmd", json!(cmd))
}

fn body(p: &Params, ctx: &ModuleContext) -> MResult<ModuleResult> {
    let state = p.str("state").unwrap_or("present");
    let names = p.list("name");
    if p.is_set("version") && state == "latest" {
        return Err(Failure::new("version is incompatible with state=latest"));
    }
    if let (true, Some(n)) = (p.is_set("version"), &names) {
        if n.len() > 1 {
            return Err(Failure::new(
                "'version' argument is ambiguous when installing multiple package distributions. Please specify version restrictions next to each package in 'name' argument.",
            ));
        }
        if n.first()
            .is_some_and(|n| n.contains(['=', '<', '>', '!', '~']))
        {
            return Err(Failure::new(
                "The 'version' argument conflicts with any version specifier provided along with a package name. Please keep the version specifier, but remove the 'version' argument.",
            ));
        }
    }
    let chdir = p.string("chdir");
    let mut out = String::new();
    let mut err = String::new();
    let mut env_created = false;
    if let Some(env) = p.str("virtualenv") {
        if !Path::new(env).join("bin").join("activate").exists() {
            if ctx.check_mode {
                return Ok(res(true));
            }
            let mut cmd = shlex_split(p.str("virtualenv_command").unwrap_or("virtualenv"))
                .map_err(Failure::new)?;
            if cmd.is_empty() {
                return Err(Failure::new("virtualenv_command is empty"));
            }
            if !cmd[0].contains('/') {
                cmd[0] = which(&cmd[0])
                    .map(|x| x.display().to_string())
                    .ok_or_else(|| {
                        Failure::new(format!(
                            "Failed to find required executable \"{}\" in paths: {}",
                            cmd[0],
                            std::env::var("PATH").unwrap_or_default()
                        ))
                    })?;
            }
            if p.bool("virtualenv_site_packages") {
                cmd.push("--system-site-packages".into());
            }
            if let Some(py) = p.str("virtualenv_python") {
                if cmd.iter().any(|c| c == "venv") {
                    return Err(Failure::new(
                        "virtualenv_python should not be used when using the venv module or pyvenv as virtualenv_command",
                    ));
                }
                cmd.push(format!("-p{py}"));
            }
            cmd.push(env.to_string());
            let o = run(&cmd, &[], None, ctx)?;
            out.push_str(&o.stdout);
            err.push_str(&o.stderr);
            if o.rc != 0 {
                return Err(pip_fail(&cmd, &out, &err));
            }
            env_created = true;
        }
    }
    let pip = pip_bin(p)?;
    let mut cmd = pip.clone();
    match state {
        "absent" => cmd.extend(["uninstall".into(), "-y".into()]),
        "latest" => cmd.extend(["install".into(), "-U".into()]),
        "forcereinstall" => cmd.extend(["install".into(), "-U".into(), "--force-reinstall".into()]),
        _ => cmd.push("install".into()),
    }
    if p.bool("break_system_packages") {
        cmd.push("--break-system-packages".into());
    }
    if let Some(x) = p.str("extra_args") {
        cmd.extend(shlex_split(x).map_err(Failure::new)?);
    }
    let mut pkgs: Vec<String> = names.clone().unwrap_or_default();
    if let (Some(v), Some(n)) = (p.str("version"), pkgs.first_mut()) {
        *n = format!("{n}=={v}");
    }
    if names.is_some() {
        if p.bool("editable") {
            cmd.push("-e".into());
        }
        cmd.extend(pkgs.iter().cloned());
    } else if let Some(r) = p.str("requirements") {
        cmd.extend(["-r".into(), r.into()]);
    }
    let list_cmd = {
        let mut c = pip.clone();
        c.extend(["list".into(), "--format=freeze".into()]);
        c
    };
    let freeze = |ctx: &ModuleContext| -> MResult<String> {
        let mut c = list_cmd.clone();
        c.push("--disable-pip-version-check".into());
        let o = run_in(&c, &[], None, chdir.as_deref(), ctx)?;
        if o.rc != 0 {
            return Err(cmd_failure(
                format!("Unable to list installed packages: {}", o.stderr),
                &o,
            ));
        }
        Ok(o.stdout)
    };
    let mut r = res(false);
    r.insert("cmd".into(), json!(cmd));
    r.insert(
        "name".into(),
        names.clone().map(|n| json!(n)).unwrap_or(Value::Null),
    );
    r.insert("version".into(), json!(p.get("version")));
    r.insert("state".into(), json!(state));
    r.insert("requirements".into(), json!(p.get("requirements")));
    r.insert("virtualenv".into(), json!(p.get("virtualenv")));
    if ctx.check_mode {
        let listed = freeze(ctx)?;
        let mut changed = false;
        if state == "latest" || p.is_set("requirements") {
            changed = true;
        } else {
            for pk in &pkgs {
                let (n, specs) = split_req(pk);
                let present = listed.lines().any(|l| {
                    l.split_once("==").is_some_and(|(ln, lv)| {
                        norm(ln) == norm(&n) && satisfied(lv.trim(), &specs)
                    })
                });
                if (state == "absent") == present || state == "forcereinstall" {
                    changed = true;
                    break;
                }
            }
        }
        let mut r = res(changed || env_created);
        r.insert("cmd".into(), json!(list_cmd.join(" ")));
        put_output(
            &mut r,
            &crate::sysutil::Out {
                rc: 0,
                stdout: listed,
                stderr: String::new(),
            },
        );
        return Ok(r);
    }
    let before = if p.is_set("requirements") {
        Some(freeze(ctx)?)
    } else {
        None
    };
    let o = run_in(&cmd, &[], None, chdir.as_deref(), ctx)?;
    out.push_str(&o.stdout);
    err.push_str(&o.stderr);
    let not_installed = state == "absent"
        && o.rc == 1
        && (o.stdout.contains("not installed") || o.stderr.contains("not installed"));
    if o.rc != 0 && !not_installed {
        return Err(pip_fail(&cmd, &out, &err));
    }
    let changed = if state == "absent" {
        o.stdout.contains("Successfully uninstalled")
    } else if let Some(b) = before {
        b != freeze(ctx)?
    } else {
        o.stdout.contains("Successfully installed")
    };
    r.insert("changed".into(), json!(changed || env_created));
    put_output(
        &mut r,
        &crate::sysutil::Out {
            rc: o.rc,
            stdout: out,
            stderr: err,
        },
    );
    Ok(r)
}

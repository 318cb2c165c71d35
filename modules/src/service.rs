//! `service` and `sysvinit`. Without systemd as PID 1, services are /etc/init.d scripts
//! run through `service` (or the script itself), and `enabled` is managed with
//! `update-rc.d` and read from the /etc/rc?.d/S??name links, as Ansible's LinuxService
//! does. With systemd running, `service` hands over to the systemd module.

use crate::args::{b, i, l, s, Params, Spec, Type};
use crate::sysutil::{module, res, run, systemd_running, which, Out};
use crate::util::{Failure, MResult};
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::{json, Value};
use std::path::Path;

fn spec(sysv: bool) -> Spec {
    let mut o = vec![
        s("name").required().aliases(&["service", "unit"]),
        s("state").choices(if sysv {
            &["started", "stopped", "restarted", "reloaded"]
        } else {
            &["started", "stopped", "reloaded", "restarted"]
        }),
        i("sleep"),
        s("pattern"),
        b("enabled"),
    ];
    if sysv {
        o.extend([
            l("runlevels").elements(Type::Str),
            b("daemonize").default(false),
        ]);
    } else {
        o.extend([
            s("runlevel").default("default"),
            s("arguments").default("").aliases(&["args"]),
        ]);
        o.push(b("use_placeholder_internal").default(false));
    }
    let mut sp = Spec::new(o);
    if !sysv {
        sp = sp.one_of(&["state", "enabled"]);
    }
    sp
}

fn script(name: &str) -> Option<String> {
    let p = format!("/etc/init.d/{name}");
    Path::new(&p).is_file().then_some(p)
}

fn svc_cmd(name: &str, action: &str, extra: &str) -> Vec<String> {
    let mut v = match which("service") {
        Some(s) => vec![
            s.display().to_string(),
            name.to_string(),
            action.to_string(),
        ],
        None => vec![format!("/etc/init.d/{name}"), action.to_string()],
    };
    v.extend(extra.split_whitespace().map(str::to_string));
    v
}

/// Is the service running: `status` exit 0, or a matching process for `pattern`.
fn is_running(name: &str, pattern: Option<&str>, ctx: &ModuleContext) -> bool {
    if let Some(pat) = pattern {
        return run(&["pgrep".into(), "-f".into(), pat.into()], &[], None, ctx)
            .map(|o| o.rc == 0)
            .unwrap_or(false);
    }
    run(&svc_cmd(name, "status", ""), &[], None, ctx)
        .map(|o| o.rc == 0)
        .unwrap_or(false)
}

fn glob_links(prefix: char, name: &str) -> bool {
    let Ok(dirs) = std::fs::read_dir("/etc") else {
        return false;
    };
    for d in dirs.flatten() {
        let dn = d.file_name().to_string_lossy().into_owned();
        if dn.len() == 5 && dn.starts_with("rc") && dn.ends_with(".d") {
            if let Ok(ents) = std::fs::read_dir(d.path()) {
                for e in ents.flatten() {
                    let f = e.file_name().to_string_lossy().into_owned();
                    if f.len() == name.len() + 3
                        && f.starts_with(prefix)
                        && f[1..3].chars().all(|c| c.is_ascii_digit())
                        && &f[3..] == name
                    {
                        return true;
                    }
                }
            }
        }
    }
    false
}

/// Enable or disable with update-rc.d. Returns (changed, output of the last command).
fn set_enabled(name: &str, want: bool, ctx: &ModuleContext) -> MResult<(bool, Option<Out>)> {
    let enabled = glob_links('S', name);
    if enabled == want {
        return Ok((false, None));
    }
    if ctx.check_mode {
        return Ok((true, None));
    }
    let urc = which("update-rc.d")
        .map(|p| p.display().to_string())
        .ok_or_else(|| Failure::new("no service or tool found for: update-rc.d"))?;
    if want && !glob_links('K', name) {
        let o = run(
            &[urc.clone(), name.into(), "defaults".into()],
            &[],
            None,
            ctx,
        )?;
        if o.rc != 0 {
            return Err(Failure::new(format!(
                "Failed to install service. rc: {}, out: {}, err: {}",
                o.rc, o.stdout, o.stderr
            )));
        }
    }
    let action = if want { "enable" } else { "disable" };
    let o = run(&[urc, name.into(), action.into()], &[], None, ctx)?;
    if o.rc != 0 {
        return Err(Failure::new(format!(
            "Error when trying to {action} {name}: rc={} {}",
            o.rc,
            o.stderr.trim()
        )));
    }
    Ok((true, Some(o)))
}

pub fn run_service(args: &Args, ctx: &ModuleContext, m: &str) -> ModuleResult {
    if systemd_running() {
        let mut a = args.clone();
        a.remove("arguments");
        a.remove("args");
        a.remove("runlevel");
        a.remove("sleep");
        a.remove("pattern");
        return crate::systemd::run_module(&a, ctx, m);
    }
    module(spec(false), args, ctx, m, service_body)
}

/// The action for a state given whether the service runs now: None when nothing to do.
fn action_for(state: &str, running: bool) -> Option<&'static str> {
    match (state, running) {
        ("started", false) => Some("start"),
        ("stopped", true) => Some("stop"),
        ("restarted", _) => Some("restart"),
        ("reloaded", false) => Some("start"),
        ("reloaded", true) => Some("reload"),
        _ => None,
    }
}

fn service_body(p: &Params, ctx: &ModuleContext) -> MResult<ModuleResult> {
    let name = p.str("name").unwrap_or("").to_string();
    if script(&name).is_none() {
        return Err(Failure::new(format!(
            "Could not find the requested service {name}: host"
        )));
    }
    let mut r = res(false);
    r.insert("name".into(), json!(name));
    if let Some(en) = p.get("enabled").and_then(|v| v.as_bool()) {
        let (ch, _) = set_enabled(&name, en, ctx)?;
        if ch {
            r.insert("changed".into(), json!(true));
        }
        r.insert("enabled".into(), json!(en));
    }
    if let Some(state) = p.str("state") {
        let running = is_running(&name, p.str("pattern"), ctx);
        if let Some(action) = action_for(state, running) {
            if ctx.check_mode {
                // ansible-core's check_service_changed exits with these two keys alone
                let mut r = res(true);
                r.insert("msg".into(), json!("service state changed"));
                return Ok(r);
            }
            r.insert("changed".into(), json!(true));
            {
                let o = run(
                    &svc_cmd(&name, action, p.str("arguments").unwrap_or("")),
                    &[],
                    None,
                    ctx,
                )?;
                if o.rc != 0 {
                    let msg = if o.stderr.trim().is_empty() {
                        o.stdout.trim().to_string()
                    } else {
                        o.stderr.trim().to_string()
                    };
                    return Err(Failure::new(msg).with("name", name));
                }
                if let Some(s) = p.int("sleep") {
                    std::thread::sleep(std::time::Duration::from_secs(s.max(0) as u64));
                }
            }
        }
        r.insert(
            "state".into(),
            json!(if state == "stopped" {
                "stopped"
            } else {
                "started"
            }),
        );
    }
    Ok(r)
}

fn step(changed: bool, o: Option<&Out>) -> Value {
    match o {
        Some(o) => json!({"changed": changed, "rc": o.rc, "stderr": o.stderr, "stdout": o.stdout}),
        None => json!({"changed": changed, "rc": null, "stderr": null, "stdout": null}),
    }
}

pub fn run_sysvinit(args: &Args, ctx: &ModuleContext, m: &str) -> ModuleResult {
    module(spec(true), args, ctx, m, |p, ctx| {
        let name = p.str("name").unwrap_or("").to_string();
        if script(&name).is_none() {
            return Err(Failure::new(format!(
                "Could not find the requested service {name}: "
            )));
        }
        let mut r = res(false);
        r.insert("name".into(), json!(name));
        let mut status = serde_json::Map::new();
        let mut changed = false;
        match p.get("enabled").and_then(|v| v.as_bool()) {
            Some(en) => {
                let (ch, o) = set_enabled(&name, en, ctx)?;
                changed |= ch;
                status.insert("enabled".into(), step(ch, o.as_ref()));
            }
            None => {
                status.insert("enabled".into(), step(false, None));
            }
        }
        match p.str("state") {
            Some(state) => {
                let running = is_running(&name, p.str("pattern"), ctx);
                let mut out = None;
                let action = action_for(state, running);
                if let Some(action) = action {
                    changed = true;
                    if !ctx.check_mode {
                        let argv = vec![format!("/etc/init.d/{name}"), action.to_string()];
                        let o = run(&argv, &[], None, ctx)?;
                        if o.rc != 0 {
                            return Err(Failure::new(format!(
                                "Failed to {action} {name}: rc={} {}",
                                o.rc,
                                o.stderr.trim()
                            ))
                            .with("name", name.clone()));
                        }
                        if let Some(s) = p.int("sleep") {
                            std::thread::sleep(std::time::Duration::from_secs(s.max(0) as u64));
                        }
                        out = Some(o);
                    }
                }
                status.insert(state.into(), step(action.is_some(), out.as_ref()));
            }
            None => {
                status.insert("null".into(), step(false, None));
            }
        }
        r.insert("changed".into(), json!(changed));
        r.insert("status".into(), Value::Object(status));
        Ok(r)
    })
}

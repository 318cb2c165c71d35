//! `systemd` / `systemd_service`: through systemctl. When systemd is not PID 1, a unit
//! systemctl cannot find offline fails as Ansible's does (with systemctl's own "System
//! has not been booted with systemd" error); enabling and masking a unit file, which
//! systemctl can do offline, still work.

use crate::args::{b, s, Params, Spec};
use crate::sysutil::{module, need, res, run};
use crate::util::{Failure, MResult};
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::{json, Map, Value};

fn spec() -> Spec {
    Spec::new(vec![
        s("name").aliases(&["service", "unit"]),
        s("state").choices(&["reloaded", "restarted", "started", "stopped"]),
        b("enabled"),
        b("force"),
        b("masked"),
        b("daemon_reload")
            .default(false)
            .aliases(&["daemon-reload"]),
        b("daemon_reexec")
            .default(false)
            .aliases(&["daemon-reexec"]),
        s("scope")
            .default("system")
            .choices(&["system", "user", "global"]),
        b("no_block").default(false),
    ])
    .one_of(&[
        "state",
        "enabled",
        "masked",
        "daemon_reload",
        "daemon_reexec",
    ])
    .required_by("state", &["name"])
    .required_by("enabled", &["name"])
    .required_by("masked", &["name"])
}

pub fn run_module(args: &Args, ctx: &ModuleContext, m: &str) -> ModuleResult {
    module(spec(), args, ctx, m, body)
}

fn systemctl(p: &Params) -> MResult<Vec<String>> {
    let mut v = vec![need("systemctl")?];
    match p.str("scope") {
        Some("user") => v.push("--user".into()),
        Some("global") => v.push("--global".into()),
        _ => {}
    }
    if p.bool("no_block") {
        v.push("--no-block".into());
    }
    if p.bool("force") {
        v.push("--force".into());
    }
    Ok(v)
}

fn show(p: &Params, unit: &str, ctx: &ModuleContext) -> MResult<Map<String, Value>> {
    let mut c = systemctl(p)?;
    c.extend(["show".into(), unit.into()]);
    let o = run(&c, &[], None, ctx)?;
    let mut m = Map::new();
    if o.rc == 0 {
        for line in o.stdout.lines() {
            if let Some((k, v)) = line.split_once('=') {
                m.insert(k.into(), json!(v));
            }
        }
    }
    Ok(m)
}

/// When `systemctl show` gives nothing, ansible-core asks `is-enabled`, then
/// `list-unit-files`, and finally runs `systemctl` alone with check_rc: on a host where
/// systemd is not running that last step fails with systemctl's own words.
fn probe_unit(p: &Params, unit: &str, ctx: &ModuleContext) -> MResult<()> {
    const ENABLED_STATES: &[&str] = &[
        "enabled",
        "enabled-runtime",
        "linked",
        "linked-runtime",
        "masked",
        "masked-runtime",
        "static",
        "indirect",
        "disabled",
        "generated",
        "transient",
    ];
    let mut c = systemctl(p)?;
    c.extend(["is-enabled".into(), unit.into()]);
    if ENABLED_STATES.contains(&run(&c, &[], None, ctx)?.stdout.trim()) {
        return Ok(());
    }
    let mut c = systemctl(p)?;
    c.extend(["list-unit-files".into(), unit.into()]);
    if run(&c, &[], None, ctx)?.rc == 0 {
        return Ok(());
    }
    let bare = need("systemctl")?;
    let o = run(std::slice::from_ref(&bare), &[], None, ctx)?;
    if o.rc != 0 {
        let msg = if o.stderr.is_empty() {
            o.stdout.clone()
        } else {
            o.stderr.trim_end().to_string()
        };
        return Err(crate::sysutil::cmd_failure(msg, &o)
            .with("cmd", bare)
            .with("stdout_lines", json!(crate::util::splitlines(&o.stdout)))
            .with("stderr_lines", json!(crate::util::splitlines(&o.stderr))));
    }
    Ok(())
}

fn body(p: &Params, ctx: &ModuleContext) -> MResult<ModuleResult> {
    let mut r = res(false);
    for (flag, verb) in [
        ("daemon_reload", "daemon-reload"),
        ("daemon_reexec", "daemon-reexec"),
    ] {
        if p.bool(flag) && !ctx.check_mode {
            let mut c = systemctl(p)?;
            c.push(verb.into());
            let o = run(&c, &[], None, ctx)?;
            if o.rc != 0 {
                return Err(Failure::new(format!(
                    "failure {} during {verb}: {}",
                    o.rc, o.stderr
                )));
            }
        }
    }
    let Some(name) = p.string("name") else {
        return Ok(r);
    };
    let unit = if name.contains('.') || name.contains('@') {
        name.clone()
    } else {
        format!("{name}.service")
    };
    r.insert("name".into(), json!(name));
    let status = show(p, &unit, ctx)?;
    if status.is_empty() {
        probe_unit(p, &unit, ctx)?;
    }
    r.insert("status".into(), Value::Object(status.clone()));
    if let Some(masked) = p.get("masked").and_then(|v| v.as_bool()) {
        let mut c = systemctl(p)?;
        c.extend(["is-enabled".into(), unit.clone()]);
        let cur = run(&c, &[], None, ctx)?.stdout.trim() == "masked";
        if cur != masked {
            r.insert("changed".into(), json!(true));
            if !ctx.check_mode {
                let mut c = systemctl(p)?;
                c.extend([if masked { "mask" } else { "unmask" }.into(), unit.clone()]);
                let o = run(&c, &[], None, ctx)?;
                if o.rc != 0 {
                    return Err(Failure::new(format!(
                        "Unable to {} service {name}: {}",
                        if masked { "mask" } else { "unmask" },
                        o.stderr
                    )));
                }
            }
        }
        r.insert("masked".into(), json!(masked));
    }
    if let Some(en) = p.get("enabled").and_then(|v| v.as_bool()) {
        let mut c = systemctl(p)?;
        c.extend(["is-enabled".into(), unit.clone()]);
        let o = run(&c, &[], None, ctx)?;
        let cur = o.rc == 0;
        if cur != en {
            r.insert("changed".into(), json!(true));
            if !ctx.check_mode {
                let mut c = systemctl(p)?;
                c.extend([if en { "enable" } else { "disable" }.into(), unit.clone()]);
                let o = run(&c, &[], None, ctx)?;
                if o.rc != 0 {
                    return Err(Failure::new(format!(
                        "Unable to {} service {name}: {}",
                        if en { "enable" } else { "disable" },
                        o.stderr
                    )));
                }
            }
        }
        r.insert("enabled".into(), json!(en));
    }
    if let Some(state) = p.str("state") {
        let active = status.get("ActiveState").and_then(|v| v.as_str());
        let Some(active) = active else {
            return Err(Failure::new("Service is in unknown state").with("status", json!({})));
        };
        let running = matches!(active, "active" | "activating" | "reloading");
        let verb = match (state, running) {
            ("started", false) => Some("start"),
            ("stopped", true) => Some("stop"),
            ("restarted", _) => Some("restart"),
            ("reloaded", false) => Some("start"),
            ("reloaded", true) => Some("reload"),
            _ => None,
        };
        if let Some(verb) = verb {
            r.insert("changed".into(), json!(true));
            if !ctx.check_mode {
                let mut c = systemctl(p)?;
                c.extend([verb.into(), unit.clone()]);
                let o = run(&c, &[], None, ctx)?;
                if o.rc != 0 {
                    return Err(Failure::new(format!(
                        "Unable to {verb} service {name}: {}",
                        o.stderr
                    )));
                }
            }
        }
        r.insert("state".into(), json!(state));
    }
    Ok(r)
}

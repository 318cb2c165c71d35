//! Actions that wait for a host to come back: `wait_for_connection` (the ping module
//! answers again) and `reboot` (the boot id changes, then the test command passes).

use super::actions::{module_named, template_args, Call};
use super::connect;
use super::task::{truthy, value_str};
use crate::error::Result;
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};

fn int_arg(args: &Map<String, Value>, names: &[&str], default: u64) -> u64 {
    names
        .iter()
        .find_map(|n| args.get(*n))
        .map(value_str)
        .and_then(|s| s.trim().parse::<f64>().ok())
        .map(|f| f.max(0.0) as u64)
        .unwrap_or(default)
}

fn transport(call: Call) -> String {
    let Call {
        ctx,
        host,
        c,
        task,
        scope,
    } = call;
    let keywords = super::actions::conn_keywords(task, scope, c).unwrap_or_default();
    connect::route(ctx, host, c, keywords).transport
}

/// Run `f` until it succeeds or `timeout` seconds pass, dropping the connection between
/// tries so each one reconnects. The error names what was waited for, as Ansible's does.
fn until_ok(
    call: Call,
    timeout: u64,
    sleep: u64,
    what: &str,
    mut f: impl FnMut() -> Result<std::result::Result<(), String>>,
) -> Result<std::result::Result<(), String>> {
    let deadline = Instant::now() + Duration::from_secs(timeout);
    loop {
        let last = match f()? {
            Ok(()) => return Ok(Ok(())),
            Err(e) => e,
        };
        if Instant::now() >= deadline {
            return Ok(Err(format!("{what}: {last}")));
        }
        connect::forget(call.ctx, call.host);
        std::thread::sleep(Duration::from_secs(sleep.max(1)));
    }
}

fn failure_text(r: &Map<String, Value>) -> Option<String> {
    if r.get("failed").map(truthy) == Some(true) || r.get("unreachable").map(truthy) == Some(true) {
        return Some(r.get("msg").map(value_str).unwrap_or_default());
    }
    None
}

pub fn wait_for_connection(call: Call) -> Result<Map<String, Value>> {
    let args = template_args(call.task, call.c)?;
    let delay = int_arg(&args, &["delay"], 0);
    let sleep = int_arg(&args, &["sleep"], 1);
    let timeout = int_arg(&args, &["timeout"], 600);
    if call.ctx.run.opts.check {
        let mut r = Map::new();
        r.insert("skipped".into(), json!(true));
        return Ok(r);
    }
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(delay));
    let waited = until_ok(call, timeout, sleep, "ping module test", || {
        let r = module_named(call, "ping", Map::new())?;
        Ok(match failure_text(&r) {
            Some(e) => Err(e),
            None if r.get("ping").map(value_str).as_deref() == Some("pong") => Ok(()),
            None => Err("ping test failed".into()),
        })
    })?;
    let mut r = Map::new();
    r.insert("changed".into(), json!(false));
    if let Err(e) = waited {
        r.insert("failed".into(), json!(true));
        r.insert("msg".into(), json!(format!("timed out waiting for {e}")));
    }
    r.insert("elapsed".into(), json!(start.elapsed().as_secs()));
    Ok(r)
}

fn shell(call: Call, cmd: &str) -> Result<std::result::Result<String, String>> {
    let mut a = Map::new();
    a.insert("_raw_params".into(), json!(cmd));
    let r = module_named(call, "shell", a)?;
    if let Some(e) = failure_text(&r) {
        let out = r.get("stdout").map(value_str).unwrap_or_default();
        let err = r.get("stderr").map(value_str).unwrap_or_default();
        return Ok(Err(if err.is_empty() && out.is_empty() {
            e
        } else {
            format!("{err} {out}").trim().to_string()
        }));
    }
    Ok(Ok(r.get("stdout").map(value_str).unwrap_or_default()))
}

pub fn reboot(call: Call) -> Result<Map<String, Value>> {
    let mut r = Map::new();
    if transport(call) == "local" {
        r.insert("changed".into(), json!(false));
        r.insert("elapsed".into(), json!(0));
        r.insert("rebooted".into(), json!(false));
        r.insert("failed".into(), json!(true));
        r.insert(
            "msg".into(),
            json!(format!(
                "Running {} with local connection would reboot the control node.",
                call.task.action_written
            )),
        );
        return Ok(r);
    }
    if call.ctx.run.opts.check {
        r.insert("changed".into(), json!(true));
        r.insert("elapsed".into(), json!(0));
        r.insert("rebooted".into(), json!(true));
        return Ok(r);
    }
    let args = template_args(call.task, call.c)?;
    let timeout = int_arg(&args, &["reboot_timeout", "reboot_timeout_sec"], 600);
    let pre_delay = int_arg(&args, &["pre_reboot_delay"], 0);
    let post_delay = int_arg(&args, &["post_reboot_delay"], 0);
    let text = |k: &str, d: &str| args.get(k).map(value_str).unwrap_or_else(|| d.to_string());
    let boot_cmd = text("boot_time_command", "cat /proc/sys/kernel/random/boot_id");
    let test_cmd = text("test_command", "whoami");
    let message = text("msg", "Reboot initiated by Ansible");
    let reboot_cmd = args
        .get("reboot_command")
        .map(value_str)
        .unwrap_or_else(|| format!("shutdown -r {} \"{message}\"", pre_delay / 60));

    let before = match shell(call, &boot_cmd)? {
        Ok(id) => id,
        Err(e) => {
            r.insert("failed".into(), json!(true));
            r.insert("reboot".into(), json!(false));
            r.insert(
                "msg".into(),
                json!(format!("Failed to get last boot time: {e}")),
            );
            return Ok(r);
        }
    };
    let start = Instant::now();
    // The command may end with the connection: a lost connection is the reboot happening.
    let mut a = Map::new();
    a.insert("_raw_params".into(), json!(reboot_cmd));
    let done = module_named(call, "shell", a)?;
    let lost = done.get("unreachable").map(truthy) == Some(true);
    if !lost && done.get("failed").map(truthy) == Some(true) {
        r.insert("changed".into(), json!(false));
        r.insert("failed".into(), json!(true));
        r.insert("rebooted".into(), json!(false));
        r.insert(
            "msg".into(),
            json!(format!(
                "Reboot command failed. Error was: '{}, {}'",
                done.get("stdout").map(value_str).unwrap_or_default(),
                done.get("stderr").map(value_str).unwrap_or_default()
            )),
        );
        r.insert("elapsed".into(), json!(start.elapsed().as_secs()));
        return Ok(r);
    }
    connect::forget(call.ctx, call.host);
    std::thread::sleep(Duration::from_secs(post_delay));
    let waited = until_ok(call, timeout, 1, "last boot time check", || {
        Ok(match shell(call, &boot_cmd)? {
            Ok(id) if id != before => Ok(()),
            Ok(_) => Err("boot time has not changed".into()),
            Err(e) => Err(e),
        })
    })?
    .and_then(|()| {
        until_ok(call, timeout, 1, "post-reboot test command", || {
            Ok(shell(call, &test_cmd)?.map(|_| ()))
        })
        .unwrap_or_else(|e| Err(e.msg))
    });
    r.insert("rebooted".into(), json!(true));
    match waited {
        Ok(()) => {
            r.insert("changed".into(), json!(true));
        }
        Err(e) => {
            let what = e.split(':').next().unwrap_or_default().to_string();
            r.insert("failed".into(), json!(true));
            r.insert(
                "msg".into(),
                json!(format!("Timed out waiting for {what} (timeout={timeout})")),
            );
        }
    }
    r.insert("elapsed".into(), json!(start.elapsed().as_secs()));
    Ok(r)
}

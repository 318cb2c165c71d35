//! Actions that wait for a host to come back: `wait_for_connection` (the ping module
//! answers again) and `reboot` (the boot time changes, then the test command passes), as
//! ansible-core's action plugins of the same names do them.

use super::actions::{invalid_options, module_named, raised, template_args, Call};
use super::connect;
use super::task::{truthy, value_str};
use crate::error::Result;
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};

/// The arguments each action accepts (its plugin's `_VALID_ARGS`).
const WAIT_FOR_CONNECTION_ARGS: &[&str] = &["connect_timeout", "delay", "sleep", "timeout"];
const REBOOT_ARGS: &[&str] = &[
    "boot_time_command",
    "connect_timeout",
    "msg",
    "post_reboot_delay",
    "pre_reboot_delay",
    "reboot_command",
    "reboot_timeout",
    "search_paths",
    "test_command",
];
/// Where `reboot` looks for its command when the name has no `/`.
const SEARCH_PATHS: &[&str] = &["/sbin", "/bin", "/usr/sbin", "/usr/bin", "/usr/local/sbin"];

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

/// Ansible's retry loop for reboot: try `f` until it succeeds or `timeout` seconds pass,
/// backing off 1, 2, 4, 8, then 12 seconds (Ansible adds up to a second at random) and
/// dropping the connection after each failure so the next try reconnects. The error is
/// "Timed out waiting for {what} (timeout={timeout})".
fn reboot_retry(
    call: Call,
    timeout: u64,
    what: &str,
    mut f: impl FnMut() -> Result<std::result::Result<(), String>>,
) -> Result<std::result::Result<(), String>> {
    let deadline = Instant::now() + Duration::from_secs(timeout);
    let mut fails = 0u32;
    while Instant::now() < deadline {
        if f()?.is_ok() {
            return Ok(Ok(()));
        }
        connect::forget(call.ctx, call.host);
        let pause = 2f64.powi(fails as i32).min(12.0) + 0.5;
        fails += 1;
        std::thread::sleep(Duration::from_secs_f64(pause));
    }
    Ok(Err(format!(
        "Timed out waiting for {what} (timeout={timeout})"
    )))
}

/// The message of a failed or unreachable result, without the "Task failed: " the
/// connection puts before its own errors (Ansible's loops keep the exception's text).
fn failure_text(r: &Map<String, Value>) -> Option<String> {
    if r.get("failed").map(truthy) == Some(true) || r.get("unreachable").map(truthy) == Some(true) {
        let msg = r.get("msg").map(value_str).unwrap_or_default();
        return Some(
            msg.strip_prefix("Task failed: ")
                .unwrap_or(&msg)
                .to_string(),
        );
    }
    None
}

pub fn wait_for_connection(call: Call) -> Result<Map<String, Value>> {
    let args = template_args(call.task, call.c)?;
    let delay = int_arg(&args, &["delay"], 0);
    let sleep = int_arg(&args, &["sleep"], 1);
    let timeout = int_arg(&args, &["timeout"], 600);
    let mut r = Map::new();
    if super::actions::check_mode_of(call)? {
        r.insert("skipped".into(), json!(true));
        return Ok(r);
    }
    if let Some(r) = invalid_options(call.task, args.keys(), WAIT_FOR_CONNECTION_ARGS) {
        return Ok(r);
    }
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(delay));
    // Try until a ping answers, sleeping `sleep` seconds between tries and reconnecting
    // for each.
    let deadline = Instant::now() + Duration::from_secs(timeout);
    let mut last = None;
    while Instant::now() < deadline {
        let p = module_named(call, "ping", Map::new())?;
        last = match failure_text(&p) {
            None if p.get("ping").map(value_str).as_deref() == Some("pong") => None,
            None => Some("ping test failed".to_string()),
            Some(e) => Some(e),
        };
        if last.is_none() {
            break;
        }
        connect::forget(call.ctx, call.host);
        std::thread::sleep(Duration::from_secs(sleep));
    }
    if let Some(e) = last {
        r.insert("failed".into(), json!(true));
        r.insert(
            "msg".into(),
            json!(format!("timed out waiting for ping module test: {e}")),
        );
    }
    r.insert("elapsed".into(), json!(start.elapsed().as_secs()));
    Ok(r)
}

/// A command line run as Ansible's `_low_level_execute_command` runs it: over SSH on a
/// TTY (stdout and stderr merged, OpenSSH's closing line as stderr), as the become user
/// when the task becomes. `Err` is the connection's own failure (the host went away).
struct Ran {
    rc: i64,
    stdout: String,
    stderr: String,
}

fn low_level(call: Call, cmd: &str) -> Result<std::result::Result<Ran, String>> {
    let mut a = Map::new();
    a.insert("_raw_params".into(), json!(cmd));
    let r = module_named(call, "raw", a)?;
    let text = |k: &str| r.get(k).map(value_str).unwrap_or_default();
    match r.get("rc").and_then(Value::as_i64) {
        Some(rc) => Ok(Ok(Ran {
            rc,
            stdout: text("stdout"),
            stderr: text("stderr"),
        })),
        None => Ok(Err(failure_text(&r).unwrap_or_default())),
    }
}

/// The boot time command's answer, or the failure Ansible reports for it.
fn boot_time(call: Call, cmd: &str) -> Result<std::result::Result<String, String>> {
    Ok(match low_level(call, cmd)? {
        Ok(ran) if ran.rc == 0 => Ok(ran.stdout.trim().to_string()),
        Ok(ran) => Err(format!(
            "{}: failed to get host boot time info, rc: {}, stdout: {}, stderr: {}",
            call.task.action_written, ran.rc, ran.stdout, ran.stderr
        )
        .trim_end()
        .to_string()),
        Err(e) => Err(e),
    })
}

/// `datetime.now(timezone.utc)` as JSON shows it.
fn utc_now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        .to_string()
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
    if super::actions::check_mode_of(call)? {
        r.insert("changed".into(), json!(true));
        r.insert("elapsed".into(), json!(0));
        r.insert("rebooted".into(), json!(true));
        return Ok(r);
    }
    let args = template_args(call.task, call.c)?;
    if let Some(r) = invalid_options(call.task, args.keys(), REBOOT_ARGS) {
        return Ok(r);
    }
    let timeout = int_arg(&args, &["reboot_timeout", "reboot_timeout_sec"], 600);
    let pre_delay = int_arg(&args, &["pre_reboot_delay", "pre_reboot_delay_sec"], 0);
    let post_delay = int_arg(&args, &["post_reboot_delay", "post_reboot_delay_sec"], 0);
    let text = |k: &str, default: &str| args.get(k).map_or(default.to_string(), value_str);
    // An empty boot time command is the default one; an empty test command is run as is.
    let boot_cmd = Some(text("boot_time_command", ""))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "cat /proc/sys/kernel/random/boot_id".to_string());
    let test_cmd = text("test_command", "whoami");
    let message = text("msg", "Reboot initiated by Ansible");

    let before = match boot_time(call, &boot_cmd)? {
        Ok(t) => t,
        Err(e) => {
            r.insert("failed".into(), json!(true));
            r.insert("reboot".into(), json!(false));
            r.insert("msg".into(), json!(e));
            return Ok(r);
        }
    };

    // The command's first word is looked for in the search paths unless it is a path.
    let (bin, rest) = match args.get("reboot_command").map(value_str) {
        Some(c) => match c.split_once(' ') {
            Some((b, rest)) => (b.to_string(), rest.to_string()),
            None => (c, String::new()),
        },
        None => (
            "shutdown".to_string(),
            format!("-r {} \"{message}\"", pre_delay / 60),
        ),
    };
    let bin = if bin.starts_with('/') {
        bin
    } else {
        let paths: Vec<String> = match args.get("search_paths") {
            Some(Value::Array(a)) => a.iter().map(value_str).collect(),
            Some(v) => value_str(v).split(',').map(str::to_string).collect(),
            None => SEARCH_PATHS.iter().map(|s| s.to_string()).collect(),
        };
        let mut fa = Map::new();
        fa.insert("paths".into(), json!(paths));
        fa.insert("patterns".into(), json!([bin]));
        fa.insert("file_type".into(), json!("any"));
        let found = module_named(call, "find", fa)?;
        let first = found
            .get("files")
            .and_then(Value::as_array)
            .and_then(|f| f.first())
            .and_then(|f| f.get("path"))
            .map(value_str);
        match first {
            Some(p) => p,
            None => {
                let shown: Vec<String> = paths.iter().map(|p| format!("'{p}'")).collect();
                let msg = format!(
                    "Task failed: Unable to find command \"{bin}\" in search paths: [{}]",
                    shown.join(", ")
                );
                return Ok(raised(msg.clone(), msg));
            }
        }
    };
    let reboot_cmd = format!("{bin} {rest}");

    // The command may end with the connection: a lost connection is the reboot happening.
    let ran = low_level(call, &reboot_cmd)?;
    let start = Instant::now();
    if let Ok(ran) = &ran {
        if ran.rc != 0 {
            r.insert("failed".into(), json!(true));
            r.insert("rebooted".into(), json!(false));
            r.insert(
                "msg".into(),
                json!(format!(
                    "Reboot command failed. Error was: '{}, {}'",
                    ran.stdout.trim(),
                    ran.stderr.trim()
                )),
            );
            r.insert("start".into(), json!(utc_now()));
            r.insert("elapsed".into(), json!(start.elapsed().as_secs()));
            return Ok(r);
        }
    }
    connect::forget(call.ctx, call.host);
    std::thread::sleep(Duration::from_secs(post_delay));
    // The boot time must change (an empty answer is not a boot time yet), then the test
    // command must pass.
    let waited = reboot_retry(call, timeout, "last boot time check", || {
        Ok(match boot_time(call, &boot_cmd)? {
            Ok(t) if !t.is_empty() && t != before => Ok(()),
            Ok(_) => Err("boot time has not changed".into()),
            Err(e) => Err(e),
        })
    })?;
    let waited = match waited {
        Ok(()) => reboot_retry(call, timeout, "post-reboot test command", || {
            Ok(match low_level(call, &test_cmd)? {
                Ok(ran) if ran.rc == 0 => Ok(()),
                Ok(ran) => Err(format!(
                    "Test command failed: {} {}",
                    ran.stderr, ran.stdout
                )),
                Err(e) => Err(e),
            })
        })?,
        Err(e) => Err(e),
    };
    r.insert("rebooted".into(), json!(true));
    match waited {
        Ok(()) => {
            r.insert("changed".into(), json!(true));
        }
        Err(e) => {
            r.insert("failed".into(), json!(true));
            r.insert("msg".into(), json!(e));
        }
    }
    r.insert("elapsed".into(), json!(start.elapsed().as_secs()));
    Ok(r)
}

//! `timezone` (community.general) on hosts without systemd: /etc/timezone and the
//! /etc/localtime link, as the module's NosystemdTimezone does on Debian.

use crate::args::{s, Spec};
use crate::sysutil::{module, res};
use crate::util::{atomic_write, Failure};
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::json;
use std::path::Path;

fn spec() -> Spec {
    Spec::new(vec![
        s("name"),
        s("hwclock").aliases(&["rtc"]).choices(&["local", "UTC"]),
    ])
    .one_of(&["hwclock", "name"])
}

fn current() -> String {
    if let Ok(s) = std::fs::read_to_string("/etc/timezone") {
        if !s.trim().is_empty() {
            return s.trim().to_string();
        }
    }
    std::fs::read_link("/etc/localtime")
        .ok()
        .and_then(|t| {
            t.display()
                .to_string()
                .split_once("zoneinfo/")
                .map(|(_, z)| z.to_string())
        })
        .unwrap_or_else(|| "n/a".into())
}

pub fn run_module(args: &Args, ctx: &ModuleContext, m: &str) -> ModuleResult {
    module(spec(), args, ctx, m, |p, ctx| {
        let mut r = res(false);
        let mut before = serde_json::Map::new();
        let mut after = serde_json::Map::new();
        if let Some(name) = p.str("name") {
            let zone = Path::new("/usr/share/zoneinfo").join(name);
            if !zone.is_file() {
                return Err(Failure::new(format!(
                    "Error message:\ngiven timezone \"{name}\" is not available"
                )));
            }
            let cur = current();
            before.insert("name".into(), json!(cur));
            after.insert("name".into(), json!(name));
            if cur != name {
                r.insert("changed".into(), json!(true));
                if !ctx.check_mode {
                    if Path::new("/etc/timezone").exists() {
                        atomic_write(Path::new("/etc/timezone"), format!("{name}\n").as_bytes())
                            .map_err(|e| {
                                Failure::new(format!("failed to write /etc/timezone: {e}"))
                            })?;
                    }
                    let tmp = Path::new("/etc/.localtime.play-tmp");
                    let _ = std::fs::remove_file(tmp);
                    std::os::unix::fs::symlink(&zone, tmp)
                        .and_then(|_| std::fs::rename(tmp, "/etc/localtime"))
                        .map_err(|e| Failure::new(format!("failed to link /etc/localtime: {e}")))?;
                }
            }
        }
        if let Some(hw) = p.str("hwclock") {
            let text = std::fs::read_to_string("/etc/adjtime").unwrap_or_default();
            let cur = if text.lines().nth(2).map(str::trim) == Some("LOCAL") {
                "local"
            } else {
                "UTC"
            };
            before.insert("hwclock".into(), json!(cur));
            after.insert("hwclock".into(), json!(hw));
            if cur != hw {
                r.insert("changed".into(), json!(true));
                if !ctx.check_mode {
                    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
                    while lines.len() < 3 {
                        lines.push(if lines.is_empty() {
                            "0.0 0 0.0".into()
                        } else {
                            "0".into()
                        });
                    }
                    lines[2] = if hw == "local" {
                        "LOCAL".into()
                    } else {
                        "UTC".into()
                    };
                    atomic_write(
                        Path::new("/etc/adjtime"),
                        (lines.join("\n") + "\n").as_bytes(),
                    )
                    .map_err(|e| Failure::new(format!("failed to write /etc/adjtime: {e}")))?;
                }
            }
        }
        r.insert("diff".into(), json!({"before": before, "after": after}));
        Ok(r)
    })
}

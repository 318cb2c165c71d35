//! `service_facts`: SysV services from `service --status-all`, plus systemd units from
//! systemctl when systemd runs.

use crate::args::Spec;
use crate::sysutil::{module, res, run, systemd_running, which};
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::{json, Map, Value};

pub fn run_module(args: &Args, ctx: &ModuleContext, m: &str) -> ModuleResult {
    module(Spec::new(vec![]), args, ctx, m, |_p, ctx| {
        let mut services: Map<String, Value> = Map::new();
        if let Some(svc) = which("service") {
            let o = run(
                &[svc.display().to_string(), "--status-all".into()],
                &[("LANG", "C")],
                None,
                ctx,
            )?;
            let text = format!("{}{}", o.stdout, o.stderr);
            for line in text.lines() {
                let f: Vec<&str> = line.split_whitespace().collect();
                if f.len() < 4 || f[0] != "[" {
                    continue;
                }
                let name = f[3..].join(" ");
                let state = if f[1] == "+" { "running" } else { "stopped" };
                services.insert(
                    name.clone(),
                    json!({"name": name, "state": state, "source": "sysv"}),
                );
            }
        }
        if systemd_running() {
            if let Some(sc) = which("systemctl") {
                let sc = sc.display().to_string();
                let o = run(
                    &[
                        sc.clone(),
                        "list-units".into(),
                        "--no-pager".into(),
                        "--type".into(),
                        "service".into(),
                        "--all".into(),
                        "--plain".into(),
                        "--no-legend".into(),
                    ],
                    &[],
                    None,
                    ctx,
                )?;
                let files = run(
                    &[
                        sc,
                        "list-unit-files".into(),
                        "--no-pager".into(),
                        "--type".into(),
                        "service".into(),
                        "--plain".into(),
                        "--no-legend".into(),
                    ],
                    &[],
                    None,
                    ctx,
                )?;
                let mut status: Map<String, Value> = Map::new();
                for l in files.stdout.lines() {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    if f.len() >= 2 {
                        status.insert(f[0].into(), json!(f[1]));
                    }
                }
                for l in o.stdout.lines() {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    if f.len() < 4 || !f[0].ends_with(".service") {
                        continue;
                    }
                    let state = match f[3] {
                        "running" => "running",
                        "exited" | "dead" => "stopped",
                        "failed" => "failed",
                        other => other,
                    };
                    services.insert(
                        f[0].into(),
                        json!({"name": f[0], "state": state, "source": "systemd",
                               "status": status.get(f[0]).cloned().unwrap_or(json!("unknown"))}),
                    );
                }
            }
        }
        let mut r = res(false);
        r.insert("ansible_facts".into(), json!({ "services": services }));
        Ok(r)
    })
}

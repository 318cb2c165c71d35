//! `modprobe` (community.general): load or unload a kernel module, optionally
//! persistently (/etc/modules-load.d, /etc/modprobe.d).

use crate::args::{s, Spec};
use crate::sysutil::{module, need, res, run};
use crate::util::{atomic_write, Failure};
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::json;
use std::path::Path;

fn spec() -> Spec {
    Spec::new(vec![
        s("name").required(),
        s("state")
            .default("present")
            .choices(&["absent", "present"]),
        s("params").default(""),
        s("persistent")
            .default("disabled")
            .choices(&["disabled", "present", "absent"]),
    ])
}

fn loaded(name: &str) -> bool {
    let n = name.replace('-', "_");
    if std::fs::read_to_string("/proc/modules")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().next() == Some(n.as_str()))
    {
        return true;
    }
    let rel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    std::fs::read_to_string(format!("/lib/modules/{}/modules.builtin", rel.trim()))
        .unwrap_or_default()
        .lines()
        .any(|l| {
            l.rsplit('/')
                .next()
                .and_then(|f| f.strip_suffix(".ko"))
                .is_some_and(|f| f.replace('-', "_") == n)
        })
}

pub fn run_module(args: &Args, ctx: &ModuleContext, m: &str) -> ModuleResult {
    module(spec(), args, ctx, m, |p, ctx| {
        let bin = need("modprobe")?;
        let name = p.str("name").unwrap_or("").to_string();
        let params = p.str("params").unwrap_or("").to_string();
        let want = p.str("state") == Some("present");
        let is = loaded(&name);
        let mut changed = is != want;
        if changed && !ctx.check_mode {
            let mut c = vec![bin];
            if !want {
                c.push("-r".into());
            }
            c.push(name.clone());
            if want {
                c.extend(params.split_whitespace().map(str::to_string));
            }
            let o = run(&c, &[], None, ctx)?;
            if o.rc != 0 {
                return Err(Failure::new(o.stderr.trim().to_string())
                    .with("rc", o.rc)
                    .with("name", name.clone())
                    .with("params", params.clone())
                    .with("state", p.str("state").unwrap_or("")));
            }
        }
        match p.str("persistent") {
            Some("present") => {
                let f = format!("/etc/modules-load.d/{name}.conf");
                if std::fs::read_to_string(&f).ok().as_deref() != Some(&format!("{name}\n")) {
                    changed = true;
                    if !ctx.check_mode {
                        let _ = std::fs::create_dir_all("/etc/modules-load.d");
                        atomic_write(Path::new(&f), format!("{name}\n").as_bytes())
                            .map_err(|e| Failure::new(e.to_string()))?;
                    }
                }
                if !params.is_empty() {
                    let f = format!("/etc/modprobe.d/{name}.conf");
                    let line = format!("options {name} {params}\n");
                    if std::fs::read_to_string(&f).ok().as_deref() != Some(line.as_str()) {
                        changed = true;
                        if !ctx.check_mode {
                            let _ = std::fs::create_dir_all("/etc/modprobe.d");
                            atomic_write(Path::new(&f), line.as_bytes())
                                .map_err(|e| Failure::new(e.to_string()))?;
                        }
                    }
                }
            }
            Some("absent") => {
                for f in [
                    format!("/etc/modules-load.d/{name}.conf"),
                    format!("/etc/modprobe.d/{name}.conf"),
                ] {
                    if Path::new(&f).exists() {
                        changed = true;
                        if !ctx.check_mode {
                            let _ = std::fs::remove_file(&f);
                        }
                    }
                }
            }
            _ => {}
        }
        let mut r = res(changed);
        r.insert("name".into(), json!(name));
        r.insert("params".into(), json!(params));
        r.insert("state".into(), json!(p.str("state")));
        Ok(r)
    })
}

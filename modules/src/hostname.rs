//! `hostname`: the running hostname (`hostname`) and the permanent one (/etc/hostname).

use crate::args::{s, Spec};
use crate::sysutil::{module, res, run, which};
use crate::util::{atomic_write, Failure};
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::json;

fn spec() -> Spec {
    Spec::new(vec![
        s("name").required(),
        s("use").choices(&[
            "alpine", "debian", "freebsd", "generic", "macos", "macosx", "darwin", "openbsd",
            "openrc", "redhat", "sles", "solaris", "systemd",
        ]),
    ])
}

pub fn run_module(args: &Args, ctx: &ModuleContext, m: &str) -> ModuleResult {
    module(spec(), args, ctx, m, |p, ctx| {
        let name = p.str("name").unwrap_or("").to_string();
        if matches!(p.str("use"), Some("systemd" | "debian")) {
            // ansible-core's strategy for both is hostnamectl's; it reads the current
            // name first, which fails on a host where systemd is not running
            let ctl = crate::sysutil::need("hostnamectl")?;
            let o = run(
                &[ctl, "--transient".into(), "status".into()],
                &[],
                None,
                ctx,
            )?;
            if o.rc != 0 {
                return Err(Failure::new(format!(
                    "Command failed rc={}, out={}, err={}",
                    o.rc, o.stdout, o.stderr
                )));
            }
            if !crate::sysutil::systemd_running() {
                return Err(Failure::new(
                    "Command failed rc=1, out=, err=System has not been booted with systemd as init system (PID 1). Can't operate.",
                ));
            }
        }
        let current = run(&["hostname".into()], &[], None, ctx)
            .map(|o| o.stdout.trim().to_string())
            .unwrap_or_default();
        let permanent = std::fs::read_to_string("/etc/hostname")
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        let changed = current != name || permanent != name;
        if changed && !ctx.check_mode {
            if permanent != name {
                atomic_write(
                    std::path::Path::new("/etc/hostname"),
                    format!("{name}\n").as_bytes(),
                )
                .map_err(|e| Failure::new(format!("failed to update hostname: {e}")))?;
            }
            if current != name {
                let bin = which("hostname")
                    .map(|p| p.display().to_string())
                    .unwrap_or("hostname".into());
                let o = run(&[bin, name.clone()], &[], None, ctx)?;
                if o.rc != 0 {
                    return Err(Failure::new(format!(
                        "Command failed rc={}, out={}, err={}",
                        o.rc, o.stdout, o.stderr
                    )));
                }
            }
        }
        // socket.getfqdn() of the running name, as ansible-core reports it
        let running = run(&["hostname".into()], &[], None, ctx)
            .map(|o| o.stdout.trim().to_string())
            .unwrap_or_default();
        let fqdn = crate::setup::getfqdn(&running);
        let short = name.split('.').next().unwrap_or("").to_string();
        let domain = name
            .split_once('.')
            .map(|(_, d)| d.to_string())
            .unwrap_or_default();
        let mut r = res(changed);
        r.insert("name".into(), json!(name));
        r.insert(
            "ansible_facts".into(),
            json!({"ansible_hostname": short, "ansible_nodename": name, "ansible_domain": domain, "ansible_fqdn": fqdn}),
        );
        if changed {
            r.insert(
                "diff".into(),
                json!({"before": format!("hostname = {current}\n"), "after": format!("hostname = {name}\n")}),
            );
        }
        Ok(r)
    })
}

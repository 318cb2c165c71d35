//! `dpkg_selections`: `dpkg --get-selections` / `--set-selections`.

use crate::args::{s, Spec};
use crate::sysutil::{module, need, res, run};
use crate::util::Failure;
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::json;

fn spec() -> Spec {
    Spec::new(vec![
        s("name").required(),
        s("selection")
            .required()
            .choices(&["install", "hold", "deinstall", "purge"]),
    ])
}

pub fn run_module(args: &Args, ctx: &ModuleContext, m: &str) -> ModuleResult {
    module(spec(), args, ctx, m, |p, ctx| {
        let dpkg = need("dpkg")?;
        let name = p.str("name").unwrap_or("");
        let sel = p.str("selection").unwrap_or("");
        let o = run(
            &[dpkg.clone(), "--get-selections".into(), name.into()],
            &[("LANG", "C"), ("LC_ALL", "C")],
            None,
            ctx,
        )?;
        let current = o
            .stdout
            .lines()
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .map(str::to_string);
        let Some(current) = current else {
            return Err(Failure::new(format!(
                "Failed to find package '{name}' to perform selection '{sel}'."
            )));
        };
        let changed = current != sel;
        if changed && !ctx.check_mode {
            let o = run(
                &[dpkg, "--set-selections".into()],
                &[],
                Some(&format!("{name} {sel}\n")),
                ctx,
            )?;
            if o.rc != 0 {
                return Err(Failure::new(o.stderr).with("rc", o.rc));
            }
        }
        let mut r = res(changed);
        r.insert("before".into(), json!(current));
        r.insert("after".into(), json!(sel));
        Ok(r)
    })
}

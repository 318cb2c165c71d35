//! `group`: groupadd / groupmod / groupdel.

use crate::args::{b, i, s, Spec};
use crate::sysutil::{module, need, put_output, res, run};
use crate::util::group_gid;
use crate::util::Failure;
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::json;

fn spec() -> Spec {
    Spec::new(vec![
        s("state")
            .default("present")
            .choices(&["absent", "present"]),
        s("name").required(),
        i("gid"),
        b("system").default(false),
        b("local").default(false),
        b("non_unique").default(false),
        i("gid_min"),
        i("gid_max"),
        b("force").default(false),
    ])
    .required_if("non_unique", true, &["gid"], false)
}

pub fn run_module(args: &Args, ctx: &ModuleContext, m: &str) -> ModuleResult {
    module(spec(), args, ctx, m, |p, ctx| {
        if p.bool("force") && p.bool("local") {
            return Err(Failure::new("force is not a valid option for local, force=True and local=True are mutually exclusive"));
        }
        let name = p.str("name").unwrap_or("").to_string();
        let state = p.str("state").unwrap_or("present");
        let cur = group_gid(&name);
        let mut r = res(false);
        r.insert("name".into(), json!(name));
        r.insert("state".into(), json!(state));
        if state == "absent" {
            if cur.is_some() {
                if ctx.check_mode {
                    // ansible-core exits with `changed` alone here
                    return Ok(res(true));
                }
                r.insert("changed".into(), json!(true));
                {
                    let mut c = vec![need("groupdel")?];
                    if p.bool("force") {
                        c.push("-f".into());
                    }
                    c.push(name.clone());
                    let o = run(&c, &[], None, ctx)?;
                    if o.rc != 0 {
                        return Err(Failure::new(o.stderr.clone()).with("name", name));
                    }
                }
            }
            return Ok(r);
        }
        let want_gid = p.int("gid");
        match cur {
            None => {
                if ctx.check_mode {
                    // ansible-core reports only `changed` for a group it would create
                    return Ok(res(true));
                }
                r.insert("changed".into(), json!(true));
                {
                    let mut c = vec![need("groupadd")?];
                    if let Some(g) = want_gid {
                        c.extend(["-g".into(), g.to_string()]);
                        if p.bool("non_unique") {
                            c.push("-o".into());
                        }
                    }
                    if p.bool("system") {
                        c.push("-r".into());
                    }
                    if let Some(v) = p.int("gid_min") {
                        c.extend(["-K".into(), format!("GID_MIN={v}")]);
                    }
                    if let Some(v) = p.int("gid_max") {
                        c.extend(["-K".into(), format!("GID_MAX={v}")]);
                    }
                    c.push(name.clone());
                    let o = run(&c, &[], None, ctx)?;
                    if o.rc != 0 {
                        return Err(Failure::new(o.stderr.clone()).with("name", name));
                    }
                    if !o.stdout.is_empty() || !o.stderr.is_empty() {
                        put_output(&mut r, &o);
                        r.remove("stdout_lines");
                        r.remove("stderr_lines");
                    }
                }
            }
            Some(g) => {
                if let Some(w) = want_gid.filter(|w| *w != g as i64) {
                    r.insert("changed".into(), json!(true));
                    if !ctx.check_mode {
                        let mut c = vec![need("groupmod")?, "-g".into(), w.to_string()];
                        if p.bool("non_unique") {
                            c.push("-o".into());
                        }
                        c.push(name.clone());
                        let o = run(&c, &[], None, ctx)?;
                        if o.rc != 0 {
                            return Err(Failure::new(o.stderr.clone()).with("name", name));
                        }
                    }
                }
            }
        }
        let gid = group_gid(&name)
            .map(|g| json!(g))
            .or(want_gid.map(|g| json!(g)));
        if let Some(g) = gid {
            r.insert("gid".into(), g);
        }
        r.insert("system".into(), json!(p.bool("system")));
        Ok(r)
    })
}

//! `alternatives` (community.general) through update-alternatives.

use crate::args::{i, l, p, s, Spec, Type};
use crate::sysutil::{module, need, res, run};
use crate::util::{Failure, MResult};
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

fn spec() -> Spec {
    Spec::new(vec![
        s("name").required(),
        p("path"),
        p("link"),
        s("family"),
        i("priority"),
        s("state")
            .default("selected")
            .choices(&["absent", "auto", "present", "selected"]),
        l("subcommands").elements(Type::Dict).aliases(&["slaves"]),
    ])
    .one_of(&["path", "family"])
}

struct Query {
    link: Option<String>,
    mode: Option<String>,
    value: Option<String>,
    alts: BTreeMap<String, i64>,
}

fn query(bin: &str, name: &str, ctx: &ModuleContext) -> MResult<Query> {
    let o = run(
        &[bin.into(), "--query".into(), name.into()],
        &[("LC_ALL", "C")],
        None,
        ctx,
    )?;
    let mut q = Query {
        link: None,
        mode: None,
        value: None,
        alts: BTreeMap::new(),
    };
    if o.rc != 0 {
        return Ok(q);
    }
    let mut cur: Option<String> = None;
    for line in o.stdout.lines() {
        if let Some(v) = line.strip_prefix("Link: ") {
            q.link = Some(v.trim().into());
        } else if let Some(v) = line.strip_prefix("Status: ") {
            q.mode = Some(v.trim().into());
        } else if let Some(v) = line.strip_prefix("Value: ") {
            q.value = Some(v.trim().into()).filter(|v: &String| v != "none");
        } else if let Some(v) = line.strip_prefix("Alternative: ") {
            cur = Some(v.trim().into());
            q.alts.insert(v.trim().into(), 0);
        } else if let Some(v) = line.strip_prefix("Priority: ") {
            if let Some(c) = &cur {
                q.alts.insert(c.clone(), v.trim().parse().unwrap_or(0));
            }
        }
    }
    Ok(q)
}

pub fn run_module(args: &Args, ctx: &ModuleContext, m: &str) -> ModuleResult {
    module(spec(), args, ctx, m, |p, ctx| {
        let bin = need("update-alternatives")?;
        let name = p.str("name").unwrap_or("").to_string();
        let path = p.string("path");
        let state = p.str("state").unwrap_or("selected");
        let q = query(&bin, &name, ctx)?;
        let mut msgs: Vec<String> = Vec::new();
        let mut changed = false;
        let exec = |c: Vec<String>| -> MResult<()> {
            if ctx.check_mode {
                return Ok(());
            }
            let o = run(&c, &[], None, ctx)?;
            if o.rc != 0 {
                return Err(crate::sysutil::cmd_failure(o.stderr.clone(), &o));
            }
            Ok(())
        };
        if state != "absent" {
            if let Some(path) = &path {
                let prio_differs = p
                    .int("priority")
                    .is_some_and(|pr| q.alts.get(path) != Some(&pr));
                if !q.alts.contains_key(path) || prio_differs {
                    if !std::path::Path::new(path).exists() {
                        return Err(Failure::new(format!(
                            "Specified path {path} does not exist"
                        )));
                    }
                    let link = p.string("link").or(q.link.clone()).ok_or_else(|| {
                        Failure::new("Needed to install the alternative, but unable to do so as we are missing the link")
                    })?;
                    let mut c = vec![
                        bin.clone(),
                        "--install".into(),
                        link,
                        name.clone(),
                        path.clone(),
                        p.int("priority").unwrap_or(50).to_string(),
                    ];
                    for sc in p
                        .get("subcommands")
                        .and_then(|v| v.as_array())
                        .cloned()
                        .unwrap_or_default()
                    {
                        let g =
                            |k: &str| sc.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
                        c.extend(["--slave".into(), g("link"), g("name"), g("path")]);
                    }
                    changed = true;
                    msgs.push(format!("Install alternative '{path}' for '{name}'."));
                    exec(c)?;
                }
                if state == "selected" && q.value.as_deref() != Some(path.as_str())
                    || state == "selected"
                        && q.mode.as_deref() == Some("auto")
                        && q.value.as_deref() != Some(path.as_str())
                {
                    changed = true;
                    msgs.push(format!("Set alternative '{path}' for '{name}'."));
                    exec(vec![
                        bin.clone(),
                        "--set".into(),
                        name.clone(),
                        path.clone(),
                    ])?;
                }
            }
            if state == "auto" && q.mode.as_deref() == Some("manual") {
                changed = true;
                msgs.push(format!("Set alternative to auto for '{name}'."));
                exec(vec![bin.clone(), "--auto".into(), name.clone()])?;
            }
        } else if let Some(path) = path.filter(|p| q.alts.contains_key(p)) {
            changed = true;
            msgs.push(format!("Remove alternative '{path}' from '{name}'."));
            exec(vec![bin.clone(), "--remove".into(), name.clone(), path])?;
        }
        let mut r = res(changed);
        r.insert("msg".into(), json!(msgs.join(" ")));
        let mut before = Map::new();
        let mut after = Map::new();
        if ctx.diff {
            before.insert("path".into(), json!(q.value));
            before.insert("link".into(), json!(q.link));
            after.insert("path".into(), json!(p.get("path")));
            after.insert("state".into(), json!(state));
        }
        r.insert(
            "diff".into(),
            json!({"before": Value::Object(before), "after": Value::Object(after)}),
        );
        Ok(r)
    })
}

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
            .choices(&["present", "selected", "absent", "auto"]),
        l("subcommands").elements(Type::Dict).aliases(&["slaves"]),
    ])
    .one_of(&["path", "family"])
}

#[derive(Default)]
struct Alt {
    priority: i64,
    family: String,
    subcommands: Vec<Value>,
}

/// What `update-alternatives --display` shows, read with the collection's patterns (a
/// link line is only recognised when the name is a word, as there).
#[derive(Default)]
struct Current {
    mode: Option<String>,
    path: Option<String>,
    link: Option<String>,
    alts: BTreeMap<String, Alt>,
}

fn parse(
    bin: &str,
    name: &str,
    given_subs: Option<&Vec<Value>>,
    ctx: &ModuleContext,
) -> MResult<Current> {
    let o = run(
        &[bin.into(), "--display".into(), name.into()],
        &[("LC_ALL", "C"), ("LANGUAGE", "C")],
        None,
        ctx,
    )?;
    let mut c = Current::default();
    if o.rc != 0 {
        return Ok(c);
    }
    let out = &o.stdout;
    let re = |p: &str| regex::Regex::new(p).expect("pattern");
    let Some(m) = re(r"(?m)\s-\s(?:status\sis\s)?(\w*)(?:\smode|.)$").captures(out) else {
        return Ok(c);
    };
    c.mode = Some(m[1].to_string());
    c.path = re(r"(?m)^\s*link currently points to (.*)$")
        .captures(out)
        .map(|m| m[1].to_string());
    c.link = re(r"(?m)^\s*link \w+ is (.*)$")
        .captures(out)
        .map(|m| m[1].to_string());
    let mut sub_links: BTreeMap<String, String> = re(r"(?m)^\s*(?:slave|follower) (\S+) is (.*)$")
        .captures_iter(out)
        .map(|m| (m[1].to_string(), m[2].to_string()))
        .collect();
    if sub_links.is_empty() {
        for sc in given_subs.into_iter().flatten() {
            let g = |k: &str| sc.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
            sub_links.insert(g("name"), g("link"));
        }
    }
    let sub_re = re(r"(?m)^\s+(?:slave|follower) (.*): (.*)$");
    let alt_re =
        re(r"(?m)^(/.*)\s-\s(?:family\s(\S+)\s)?priority\s(\d+)((?:\s+(?:slave|follower).*)*)");
    for m in alt_re.captures_iter(out) {
        let subs = sub_re
            .captures_iter(&m[4])
            .filter(|s| &s[2] != "(null)")
            .map(|s| json!({"name": &s[1], "path": &s[2], "link": sub_links.get(&s[1])}))
            .collect();
        c.alts.insert(
            m[1].to_string(),
            Alt {
                priority: m[3].parse().unwrap_or(0),
                family: m.get(2).map(|f| f.as_str().to_string()).unwrap_or_default(),
                subcommands: subs,
            },
        );
    }
    Ok(c)
}

pub fn run_module(args: &Args, ctx: &ModuleContext, m: &str) -> ModuleResult {
    module(spec(), args, ctx, m, |p, ctx| {
        let bin = need("update-alternatives")?;
        let name = p.str("name").unwrap_or("").to_string();
        let path = p.string("path");
        let family = p.string("family");
        let state = p.str("state").unwrap_or("selected");
        let given_subs = p.get("subcommands").and_then(|v| v.as_array()).cloned();
        let cur = parse(&bin, &name, given_subs.as_ref(), ctx)?;
        let cur_alt = path.as_ref().and_then(|p| cur.alts.get(p));
        let link = p.string("link").or(cur.link.clone());
        let priority = p
            .int("priority")
            .unwrap_or_else(|| cur_alt.map(|a| a.priority).unwrap_or(50));
        let subcommands: Option<Vec<Value>> = given_subs.clone().or_else(|| {
            cur_alt
                .map(|a| a.subcommands.clone())
                .filter(|s| !s.is_empty())
        });
        let mut before = Map::new();
        let mut after = Map::new();
        if ctx.diff {
            if let (Some(pa), Some(a)) = (&path, cur_alt) {
                before.insert("state".into(), json!("present"));
                before.insert("path".into(), json!(pa));
                before.insert("priority".into(), json!(a.priority));
                before.insert("link".into(), json!(cur.link));
                if !a.subcommands.is_empty() {
                    before.insert("subcommands".into(), json!(a.subcommands));
                }
                if cur.mode.as_deref() == Some("manual") && cur.path.as_ref() != Some(pa) {
                    before.insert("state".into(), json!("selected"));
                }
            } else {
                before.insert("state".into(), json!("absent"));
            }
        }
        let mut msgs: Vec<String> = Vec::new();
        let mut changed = false;
        let exec = |c: Vec<String>| -> MResult<()> {
            if ctx.check_mode {
                return Ok(());
            }
            let o = run(&c, &[("LC_ALL", "C"), ("LANGUAGE", "C")], None, ctx)?;
            if o.rc != 0 {
                return Err(crate::sysutil::cmd_failure(o.stderr.clone(), &o));
            }
            Ok(())
        };
        if state != "absent" {
            if let Some(pa) = &path {
                let subs_differ = |a: &Alt| {
                    given_subs.as_ref().is_some_and(|g| {
                        !a.subcommands.iter().all(|s| g.contains(s))
                            || !g.iter().all(|s| a.subcommands.contains(s))
                    })
                };
                let install = match cur_alt {
                    None => true,
                    Some(a) => {
                        p.int("priority").is_some_and(|pr| pr != a.priority) || subs_differ(a)
                    }
                };
                if install {
                    if !std::path::Path::new(pa).exists() {
                        return Err(Failure::new(format!("Specified path {pa} does not exist")));
                    }
                    let link = link.clone().ok_or_else(|| {
                        Failure::new("Needed to install the alternative, but unable to do so as we are missing the link")
                    })?;
                    let mut c = vec![
                        bin.clone(),
                        "--install".into(),
                        link.clone(),
                        name.clone(),
                        pa.clone(),
                        priority.to_string(),
                    ];
                    if let Some(f) = &family {
                        c.extend(["--family".into(), f.clone()]);
                    }
                    for sc in subcommands.iter().flatten() {
                        let g =
                            |k: &str| sc.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
                        c.extend(["--slave".into(), g("link"), g("name"), g("path")]);
                    }
                    changed = true;
                    msgs.push(format!("Install alternative '{pa}' for '{name}'."));
                    exec(c)?;
                    if ctx.diff {
                        after = Map::new();
                        after.insert("state".into(), json!("present"));
                        after.insert("path".into(), json!(pa));
                        after.insert("family".into(), json!(family));
                        after.insert("priority".into(), json!(priority));
                        after.insert("link".into(), json!(link));
                        if let Some(s) = &subcommands {
                            after.insert("subcommands".into(), json!(s));
                        }
                    }
                }
            }
            let same_path = path.is_some() && cur.path == path;
            let same_family = cur
                .path
                .as_ref()
                .and_then(|cp| cur.alts.get(cp))
                .is_some_and(|a| Some(&a.family) == family.as_ref());
            if state == "selected" && !(same_path || same_family) {
                let arg = path.clone().or(family.clone()).unwrap_or_default();
                changed = true;
                msgs.push(format!("Set alternative '{arg}' for '{name}'."));
                exec(vec![bin.clone(), "--set".into(), name.clone(), arg])?;
                if ctx.diff {
                    after.insert("state".into(), json!("selected"));
                }
            }
            if state == "auto" && cur.mode.as_deref() == Some("manual") {
                changed = true;
                msgs.push(format!("Set alternative to auto for '{name}'."));
                exec(vec![bin.clone(), "--auto".into(), name.clone()])?;
                if ctx.diff {
                    after.insert("state".into(), json!("present"));
                }
            }
        } else if let Some(pa) = path.filter(|p| cur.alts.contains_key(p)) {
            changed = true;
            msgs.push(format!("Remove alternative '{pa}' from '{name}'."));
            exec(vec![bin.clone(), "--remove".into(), name.clone(), pa])?;
            if ctx.diff {
                after = Map::new();
                after.insert("state".into(), json!("absent"));
            }
        }
        let mut r = res(changed);
        r.insert("msg".into(), json!(msgs.join(" ")));
        r.insert(
            "diff".into(),
            json!({"before": Value::Object(before), "after": Value::Object(after)}),
        );
        Ok(r)
    })
}

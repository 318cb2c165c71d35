//! `debconf`: read with `debconf-show`, write with `debconf-set-selections`.

use crate::args::{b, r, s, Spec};
use crate::sysutil::{module, need, res, run};
use crate::util::Failure;
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::{json, Map, Value};

const VTYPES: &[&str] = &[
    "boolean",
    "error",
    "multiselect",
    "note",
    "password",
    "seen",
    "select",
    "string",
    "text",
    "title",
];

fn spec() -> Spec {
    Spec::new(vec![
        s("name").required().aliases(&["pkg"]),
        s("question").aliases(&["selection", "setting"]),
        s("vtype").choices(VTYPES),
        r("value").aliases(&["answer"]),
        b("unseen").default(false),
    ])
    .together(&["question", "vtype", "value"])
}

fn selections(pkg: &str, ctx: &ModuleContext) -> Result<Map<String, Value>, Failure> {
    let cmd = need("debconf-show")?;
    let o = run(
        &[cmd, pkg.into()],
        &[("LANG", "C"), ("LC_ALL", "C")],
        None,
        ctx,
    )?;
    if o.rc != 0 {
        return Err(Failure::new(o.stderr.clone()).with("rc", o.rc));
    }
    let mut m = Map::new();
    for line in o.stdout.lines() {
        let line = line.trim_start_matches(['*', ' ']);
        if let Some((k, v)) = line.split_once(':') {
            m.insert(k.trim().to_string(), json!(v.trim()));
        }
    }
    Ok(m)
}

fn value_str(v: &Value, vtype: &str) -> String {
    match v {
        Value::Bool(b) => {
            if *b {
                "true".into()
            } else {
                "false".into()
            }
        }
        Value::Array(a) => a
            .iter()
            .map(crate::args::py_str)
            .collect::<Vec<_>>()
            .join(", "),
        Value::String(s) if vtype == "boolean" => match s.to_lowercase().as_str() {
            "yes" | "true" | "on" | "1" | "y" | "t" => "true".into(),
            "no" | "false" | "off" | "0" | "n" | "f" => "false".into(),
            _ => s.clone(),
        },
        other => crate::args::py_str(other),
    }
}

fn sorted_multi(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s
        .split(',')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect();
    v.sort();
    v
}

pub fn run_module(args: &Args, ctx: &ModuleContext, m: &str) -> ModuleResult {
    module(spec(), args, ctx, m, |p, ctx| {
        let pkg = p.str("name").unwrap_or("");
        let prev = selections(pkg, ctx)?;
        let Some(question) = p.str("question") else {
            let mut r = res(false);
            r.insert("msg".into(), json!(""));
            r.insert("current".into(), Value::Object(prev));
            return Ok(r);
        };
        let vtype = p.str("vtype").unwrap_or("string");
        let value = p
            .get("value")
            .map(|v| value_str(v, vtype))
            .unwrap_or_default();
        let changed = match prev.get(question).and_then(|v| v.as_str()) {
            None => true,
            Some(_) if vtype == "password" => true,
            Some(old) if vtype == "multiselect" => sorted_multi(old) != sorted_multi(&value),
            Some(old) => old != value,
        };
        let mut msg = String::new();
        if changed {
            if !ctx.check_mode {
                let cmd = need("debconf-set-selections")?;
                let mut argv = vec![cmd];
                if p.bool("unseen") {
                    argv.push("-u".into());
                }
                let o = run(
                    &argv,
                    &[],
                    Some(&format!("{pkg} {question} {vtype} {value}\n")),
                    ctx,
                )?;
                if o.rc != 0 {
                    return Err(Failure::new(o.stderr.clone()).with("rc", o.rc));
                }
                msg = o.stdout;
            }
            let curr = json!({ question: value });
            let before = json!({ question: prev.get(question).cloned().unwrap_or(json!("")) });
            let mut r = res(true);
            r.insert("msg".into(), json!(msg));
            r.insert("current".into(), curr.clone());
            r.insert("previous".into(), before.clone());
            r.insert(
                "diff".into(),
                if ctx.diff {
                    json!({"before": before, "after": curr})
                } else {
                    json!({})
                },
            );
            return Ok(r);
        }
        let mut r = res(false);
        r.insert("msg".into(), json!(msg));
        r.insert("current".into(), Value::Object(prev));
        Ok(r)
    })
}

//! `getent`: run `getent DATABASE [KEY]` and return the entries as
//! `ansible_facts.getent_<database>` (key -> list of fields; repeated keys -> list of lists).

use crate::args::{b, s, Spec};
use crate::util::Failure;
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::{json, Map, Value};

fn spec() -> Spec {
    Spec::new(vec![
        s("database").required(),
        s("key"),
        s("service"),
        s("split"),
        b("fail_key").default(true),
    ])
}

pub fn run(args: &Args, ctx: &ModuleContext, module: &str) -> ModuleResult {
    let params = match spec().validate(module, args) {
        Ok(p) => p,
        Err(e) => return Failure::new(e).into_result(),
    };
    let database = params.string("database").unwrap_or_default();
    let key = params.string("key");
    let mut cmd = std::process::Command::new("getent");
    cmd.arg(&database);
    if let Some(k) = &key {
        cmd.arg(k);
    }
    if let Some(svc) = params.str("service") {
        cmd.args(["-s", svc]);
    }
    let mut split = params.string("split");
    if split.as_deref() == Some("") {
        return Failure::new("Invalid split value. The value must be a non-empty string")
            .into_result();
    }
    if split.is_none() && ["passwd", "shadow", "group", "gshadow"].contains(&database.as_str()) {
        split = Some(":".into());
    }
    for (k, v) in &ctx.environment {
        cmd.env(k, v);
    }
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) => {
            return Failure::new(format!(
                "Failed to find required executable \"getent\" in paths: {e}"
            ))
            .into_result()
        }
    };
    let rc = out.status.code().unwrap_or(-1);
    let dbtree = format!("getent_{database}");
    let mut tree = Map::new();
    let msg = match rc {
        0 => {
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let mut seen: std::collections::HashMap<String, usize> = Default::default();
            for line in text.lines() {
                let rec: Vec<String> = match &split {
                    Some(sp) => line.split(sp.as_str()).map(str::to_string).collect(),
                    None => line.split_whitespace().map(str::to_string).collect(),
                };
                let Some(first) = rec.first().cloned() else {
                    continue;
                };
                let rest = json!(rec[1..]);
                match seen.get_mut(&first) {
                    Some(n) => {
                        if *n == 1 {
                            let old = tree.remove(&first).unwrap_or(Value::Null);
                            tree.insert(first.clone(), json!([old]));
                        }
                        if let Some(Value::Array(a)) = tree.get_mut(&first) {
                            a.push(rest);
                        }
                        *n += 1;
                    }
                    None => {
                        tree.insert(first.clone(), rest);
                        seen.insert(first, 1);
                    }
                }
            }
            let mut r = ModuleResult::new();
            r.insert("ansible_facts".into(), json!({ dbtree: tree }));
            r.insert("changed".into(), json!(false));
            return r;
        }
        1 => "Missing arguments, or database unknown.",
        2 => {
            if !params.bool("fail_key") {
                tree.insert(key.unwrap_or_default(), Value::Null);
                let mut r = ModuleResult::new();
                r.insert("ansible_facts".into(), json!({ dbtree: tree }));
                r.insert("changed".into(), json!(false));
                r.insert(
                    "msg".into(),
                    json!("One or more supplied key could not be found in the database."),
                );
                return r;
            }
            "One or more supplied key could not be found in the database."
        }
        3 => "Enumeration not supported on this database.",
        _ => "Unexpected failure!",
    };
    Failure::new(msg).into_result()
}

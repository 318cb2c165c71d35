//! `locale_gen` (community.general): enable locales in /etc/locale.gen and run
//! locale-gen. As the collection's module, check mode reports no change (its state
//! methods are skipped in check mode and the change is re-read afterwards).

use crate::args::{l, s, Spec, Type};
use crate::sysutil::{module, res, run};
use crate::util::{atomic_write, Failure};
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::json;

const LOCALE_GEN: &str = "/etc/locale.gen";
const SUPPORTED: &[&str] = &[
    "/usr/share/i18n/SUPPORTED",
    "/var/lib/locales/supported.d/local",
];

fn spec() -> Spec {
    Spec::new(vec![
        l("name").elements(Type::Str).required(),
        s("state")
            .default("present")
            .choices(&["absent", "present"]),
    ])
}

fn fix_case(n: &str) -> String {
    n.replace(".utf8", ".UTF-8")
        .replace(".eucjp", ".EUC-JP")
        .replace(".iso88591", ".ISO-8859-1")
        .replace(".iso885915", ".ISO-8859-15")
        .replace(".cp1251", ".CP1251")
        .replace(".koi8r", ".KOI8-R")
}

fn installed(ctx: &ModuleContext) -> Vec<String> {
    run(&["locale".into(), "-a".into()], &[], None, ctx)
        .map(|o| o.stdout.lines().map(fix_case).collect())
        .unwrap_or_default()
}

/// (locale, charset) entries of the files listing what can be generated.
fn available_lines() -> Vec<(String, String)> {
    let mut v = Vec::new();
    for f in std::iter::once(LOCALE_GEN).chain(SUPPORTED.iter().copied()) {
        for line in std::fs::read_to_string(f).unwrap_or_default().lines() {
            let t = line.trim_start_matches('#').trim();
            let mut it = t.split_whitespace();
            if let (Some(a), Some(b)) = (it.next(), it.next()) {
                v.push((a.to_string(), b.to_string()));
            }
        }
    }
    v
}

pub fn run_module(args: &Args, ctx: &ModuleContext, m: &str) -> ModuleResult {
    module(spec(), args, ctx, m, |p, ctx| {
        if !std::path::Path::new(LOCALE_GEN).exists() {
            return Err(Failure::new(format!(
                "{LOCALE_GEN} is missing. Is the package \"locales\" installed?"
            )));
        }
        let names = p.list("name").unwrap_or_default();
        let avail = available_lines();
        let have = installed(ctx);
        let missing: Vec<String> = names
            .iter()
            .filter(|n| !avail.iter().any(|(a, _)| a == *n) && !have.contains(&fix_case(n)))
            .cloned()
            .collect();
        if !missing.is_empty() {
            // a ModuleHelper failure carries the module's variables, flat and twice nested
            let vars = json!({"mechanism": "glibc", "name": names, "ubuntu_mode": false});
            return Err(Failure::new(format!(
                "The following locales you have entered are not available on your system: {}",
                missing.join(", ")
            ))
            .with("mechanism", "glibc")
            .with("name", json!(names))
            .with("ubuntu_mode", false)
            .with("output", vars.clone())
            .with("vars", vars));
        }
        let present = names.iter().all(|n| have.contains(&fix_case(n)));
        let want = p.str("state") == Some("present");
        let mut changed = false;
        if present != want && !ctx.check_mode {
            let text = std::fs::read_to_string(LOCALE_GEN).unwrap_or_default();
            let mut matched = std::collections::HashSet::new();
            let mut lines: Vec<String> = text
                .lines()
                .map(|line| {
                    let t = line.trim_start_matches('#').trim_start();
                    for n in &names {
                        if let Some(rest) = t.strip_prefix(&format!("{n} ")) {
                            if !rest.trim().is_empty() {
                                matched.insert(n.clone());
                                return if want {
                                    format!("{n} {}", rest)
                                } else {
                                    format!("# {n} {}", rest)
                                };
                            }
                        }
                    }
                    line.to_string()
                })
                .collect();
            if want {
                for n in &names {
                    if !matched.contains(n) {
                        if let Some((_, cs)) = avail.iter().find(|(a, _)| a == n) {
                            lines.push(format!("{n} {cs}"));
                        }
                    }
                }
            }
            atomic_write(
                std::path::Path::new(LOCALE_GEN),
                (lines.join("\n") + "\n").as_bytes(),
            )
            .map_err(|e| Failure::new(format!("failed to write {LOCALE_GEN}: {e}")))?;
            let o = run(&["locale-gen".into(), "--purge".into()], &[], None, ctx)?;
            if o.rc != 0 {
                return Err(crate::sysutil::cmd_failure(o.stderr.clone(), &o));
            }
            let now = installed(ctx);
            changed = names.iter().all(|n| now.contains(&fix_case(n))) != present;
        }
        let mut r = res(changed);
        r.insert("name".into(), json!(names));
        r.insert("mechanism".into(), json!("glibc"));
        r.insert("ubuntu_mode".into(), json!(false));
        Ok(r)
    })
}

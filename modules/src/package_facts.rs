//! `package_facts`: installed packages from dpkg (the `apt` manager), as
//! `ansible_facts.packages`: name -> list of {name, version, arch, category, origin, source}.

use crate::args::{l, s, Spec, Type};
use crate::sysutil::{module, res, run, which};
use crate::util::Failure;
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::{json, Map, Value};

const MANAGERS: &[&str] = &[
    "auto", "rpm", "yum", "dnf", "dnf5", "zypper", "apt", "portage", "pkg", "pacman", "apk",
    "pkg_info",
];

fn spec() -> Spec {
    Spec::new(vec![
        l("manager")
            .elements(Type::Str)
            .default(json!(["auto"]))
            .choices(MANAGERS),
        s("strategy").default("first").choices(&["first", "all"]),
    ])
}

/// name -> list of package dicts, from dpkg-query.
pub fn dpkg_packages(ctx: &ModuleContext) -> Result<Map<String, Value>, Failure> {
    let o = run(
        &[
            "dpkg-query".into(),
            "-W".into(),
            "-f=${db:Status-Abbrev}\t${Package}\t${Version}\t${Architecture}\t${Section}\n".into(),
        ],
        &[("LANG", "C"), ("LC_ALL", "C")],
        None,
        ctx,
    )?;
    let mut pkgs: Map<String, Value> = Map::new();
    for line in o.stdout.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 5 || !f[0].starts_with("ii") && !f[0].starts_with("hi") {
            continue;
        }
        let entry = json!({
            "name": f[1],
            "version": f[2],
            "arch": f[3],
            "category": f[4],
            "origin": "",
            "source": "apt",
        });
        if let Some(Value::Array(a)) = pkgs.get_mut(f[1]) {
            a.push(entry);
        } else {
            pkgs.insert(f[1].to_string(), json!([entry]));
        }
    }
    Ok(pkgs)
}

pub fn run_module(args: &Args, ctx: &ModuleContext, m: &str) -> ModuleResult {
    module(spec(), args, ctx, m, |p, ctx| {
        let wanted = p.list("manager").unwrap_or_default();
        let apt_ok = which("dpkg-query").is_some();
        let usable = wanted.iter().any(|w| w == "auto" || w == "apt");
        if !usable || !apt_ok {
            return Err(Failure::new(format!(
                "Could not detect a supported package manager from the following list: {}, or the required Python library is not installed. Check warnings for details.",
                if wanted.iter().any(|w| w == "auto") {
                    MANAGERS[1..].join(", ")
                } else {
                    wanted.join(", ")
                }
            )));
        }
        let pkgs = dpkg_packages(ctx)?;
        let mut r = res(false);
        r.insert("ansible_facts".into(), json!({ "packages": pkgs }));
        Ok(r)
    })
}

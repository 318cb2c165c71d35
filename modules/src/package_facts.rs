//! `package_facts`: installed packages from dpkg (the `apt` manager), as
//! `ansible_facts.packages`: name -> list of {name, version, arch, category, origin, source}.

use crate::args::{l, s, Spec, Type};
use crate::sysutil::{module, res, run, which};
use crate::util::Failure;
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::{json, Map, Value};

/// ansible-core's PKG_MANAGER_NAMES: the managers (sorted), then their aliases.
const MANAGERS: &[&str] = &[
    "apk",
    "apt",
    "pacman",
    "pkg",
    "pkg_info",
    "portage",
    "rpm",
    "dnf",
    "dnf5",
    "yum",
    "zypper",
    "pkg5",
    "pkgng",
    "openbsd_pkg",
];

/// The manager an alias stands for, and the command each manager needs.
fn canonical(m: &str) -> &str {
    match m {
        "dnf" | "dnf5" | "yum" | "zypper" => "rpm",
        "pkg5" | "pkgng" => "pkg",
        "openbsd_pkg" => "pkg_info",
        other => other,
    }
}

fn cli_of(m: &str) -> &str {
    match m {
        "portage" => "qlist",
        "apt" => "dpkg-query",
        other => other,
    }
}

fn spec() -> Spec {
    Spec::new(vec![
        // as in ansible-core, managers are checked by the module, not by choices
        l("manager").elements(Type::Str).default(json!(["auto"])),
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
    let mut names: Vec<String> = Vec::new();
    let mut specs: Vec<String> = Vec::new();
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
        names.push(f[1].to_string());
        specs.push(format!("{}:{}={}", f[1], f[3], f[2]));
        if let Some(Value::Array(a)) = pkgs.get_mut(f[1]) {
            a.push(entry);
        } else {
            pkgs.insert(f[1].to_string(), json!([entry]));
        }
    }
    // python-apt reports the archive's section (with overrides), not dpkg's
    let mut argv = vec![
        "apt-cache".to_string(),
        "show".to_string(),
        "--no-all-versions".to_string(),
    ];
    argv.extend(specs.iter().cloned());
    if let Ok(o) = run(&argv, &[("LANG", "C"), ("LC_ALL", "C")], None, ctx) {
        let mut seen = std::collections::HashSet::new();
        for rec in o.stdout.split("\n\n") {
            let field = |k: &str| {
                rec.lines()
                    .find_map(|l| l.strip_prefix(k).map(|v| v.trim().to_string()))
            };
            let (Some(name), Some(ver), Some(sec)) =
                (field("Package:"), field("Version:"), field("Section:"))
            else {
                continue;
            };
            if !seen.insert((name.clone(), ver.clone())) {
                continue;
            }
            if let Some(Value::Array(a)) = pkgs.get_mut(&name) {
                for e in a.iter_mut() {
                    if e["version"] == json!(ver) {
                        e["category"] = json!(sec);
                    }
                }
            }
        }
    }
    let origins = installed_origins(&names, ctx);
    for (name, origin) in origins {
        if let Some(Value::Array(a)) = pkgs.get_mut(&name) {
            for e in a.iter_mut() {
                e["origin"] = json!(origin);
            }
        }
    }
    Ok(pkgs)
}

/// The origin (Release `o=` field) of the archive the installed version of each package
/// comes from, as python-apt's `installed.origins[0].origin`; "" when the installed
/// version is only known from dpkg's status file.
fn installed_origins(names: &[String], ctx: &ModuleContext) -> Vec<(String, String)> {
    let env = [("LANG", "C"), ("LC_ALL", "C")];
    let Ok(all) = run(&["apt-cache".into(), "policy".into()], &env, None, ctx) else {
        return vec![];
    };
    let mut by_source: Map<String, Value> = Map::new();
    let mut last: Option<String> = None;
    for line in all.stdout.lines() {
        let t = line.trim();
        if let Some(rel) = t.strip_prefix("release ") {
            if let Some(src) = &last {
                let o = rel
                    .split(',')
                    .find_map(|kv| kv.strip_prefix("o="))
                    .unwrap_or("");
                by_source.insert(src.clone(), json!(o));
            }
        } else if line.starts_with(' ') && !line.starts_with("  ") {
            last = t.split_once(' ').map(|(_, src)| src.to_string());
        }
    }
    let mut argv = vec!["apt-cache".to_string(), "policy".to_string()];
    argv.extend(names.iter().cloned());
    let Ok(o) = run(&argv, &env, None, ctx) else {
        return vec![];
    };
    let mut out = Vec::new();
    let mut pkg: Option<String> = None;
    let mut in_installed = false;
    let mut done = false;
    for line in o.stdout.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            pkg = Some(line.trim_end_matches(':').to_string());
            in_installed = false;
            done = false;
            continue;
        }
        if line.starts_with(" *** ") {
            in_installed = true;
            continue;
        }
        if line.starts_with("     ") && !line.starts_with("        ") {
            in_installed = false;
            continue;
        }
        if in_installed && !done && line.starts_with("        ") {
            let src = line.trim().split_once(' ').map(|(_, s)| s).unwrap_or("");
            if let (Some(p), Some(origin)) = (&pkg, by_source.get(src)) {
                out.push((p.clone(), origin.as_str().unwrap_or("").to_string()));
                done = true;
            }
        }
    }
    out
}

pub fn run_module(args: &Args, ctx: &ModuleContext, m: &str) -> ModuleResult {
    module(spec(), args, ctx, m, |p, ctx| {
        let requested: Vec<String> = p
            .list("manager")
            .unwrap_or_default()
            .iter()
            .map(|m| m.to_lowercase())
            .collect();
        let mut managers = requested.clone();
        if let Some(i) = managers.iter().position(|m| m == "auto") {
            managers.remove(i);
            managers.extend(MANAGERS.iter().map(|m| m.to_string()));
        }
        let unsupported: Vec<&String> = managers
            .iter()
            .filter(|m| !MANAGERS.contains(&m.as_str()))
            .collect();
        if !unsupported.is_empty() {
            return Err(Failure::new(if requested.iter().any(|m| m == "auto") {
                "Could not auto detect a usable package manager, check warnings for details."
                    .to_string()
            } else {
                format!(
                    "Unsupported package managers requested: {}",
                    unsupported
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }));
        }
        let all = p.str("strategy") == Some("all");
        let mut warnings = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut found = false;
        for m in &managers {
            if found && !all {
                break;
            }
            let c = canonical(m);
            if !seen.insert(c.to_string()) {
                continue;
            }
            // only dpkg is read natively; another manager on this host counts as absent
            let cli = cli_of(c);
            if c == "apt" && which(cli).is_some() {
                found = true;
            } else if requested.contains(m) && which(cli).is_none() {
                warnings.push(format!(
                    "Requested package manager {c} was not usable by this module: Failed to find required executable \"{cli}\" in paths: {}",
                    std::env::var("PATH").unwrap_or_default()
                ));
            }
        }
        if !found {
            let shown: Vec<Value> = managers.iter().map(|m| json!(m)).collect();
            let mut f = Failure::new(format!(
                "Could not detect a supported package manager from the following list: {}, or the required Python library is not installed. Check warnings for details.",
                crate::args::py_repr(&Value::Array(shown))
            ));
            if !warnings.is_empty() {
                f = f.with("warnings", json!(warnings));
            }
            return Err(f);
        }
        let pkgs = dpkg_packages(ctx)?;
        let mut r = res(false);
        r.insert("ansible_facts".into(), json!({ "packages": pkgs }));
        if !warnings.is_empty() {
            r.insert("warnings".into(), json!(warnings));
        }
        Ok(r)
    })
}

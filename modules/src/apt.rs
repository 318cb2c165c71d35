//! `apt`: packages through apt-get and dpkg-query (no python-apt on the target).
//!
//! Follows ansible-core's apt module: the same options, the same apt-get command lines
//! (`-y`, dpkg options, `--simulate` in check mode), `changed` when apt-get was asked to
//! do something (install/remove) or when its summary is not "0 upgraded, 0 newly
//! installed" (upgrade, build-dep, autoremove), and the result keys `cache_updated`,
//! `cache_update_time`, `stdout`, `stderr`, `diff`.

use crate::args::{b, i, l, p, s, Params, Spec, Type};
use crate::sysutil::{cmd_failure, module, need, put_output, res, run, Out};
use crate::util::{Failure, MResult};
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::json;
use std::path::Path;

fn spec() -> Spec {
    Spec::new(vec![
        s("state").default("present").choices(&[
            "absent",
            "build-dep",
            "fixed",
            "latest",
            "present",
        ]),
        b("update_cache").aliases(&["update-cache"]),
        i("update_cache_retries").default(5),
        i("update_cache_retry_max_delay").default(12),
        i("cache_valid_time").default(0),
        b("purge").default(false),
        l("package").elements(Type::Str).aliases(&["pkg", "name"]),
        p("deb"),
        s("default_release").aliases(&["default-release"]),
        b("install_recommends").aliases(&["install-recommends"]),
        b("force").default(false),
        s("upgrade").choices(&["dist", "full", "no", "safe", "yes"]),
        s("dpkg_options").default("force-confdef,force-confold"),
        b("autoremove").default(false),
        b("autoclean").default(false),
        b("fail_on_autoremove").default(false),
        i("policy_rc_d"),
        b("only_upgrade").default(false),
        b("force_apt_get").default(false),
        b("clean").default(false),
        b("allow_unauthenticated")
            .default(false)
            .aliases(&["allow-unauthenticated"]),
        b("allow_downgrade").default(false).aliases(&[
            "allow-downgrade",
            "allow_downgrades",
            "allow-downgrades",
        ]),
        b("allow_change_held_packages").default(false),
        i("lock_timeout").default(60),
        b("auto_install_module_deps").default(true),
    ])
    .one_of(&[
        "package",
        "upgrade",
        "update_cache",
        "deb",
        "autoremove",
        "autoclean",
    ])
    .exclusive(&["deb", "package", "upgrade"])
}

pub fn run_apt(args: &Args, ctx: &ModuleContext, m: &str) -> ModuleResult {
    module(spec(), args, ctx, m, body)
}

pub(crate) const ENV: &[(&str, &str)] = &[
    ("DEBIAN_FRONTEND", "noninteractive"),
    ("DEBIAN_PRIORITY", "critical"),
    ("LANG", "C"),
    ("LC_ALL", "C"),
    ("LC_MESSAGES", "C"),
    ("LC_CTYPE", "C"),
];

/// What dpkg knows about an installed package: (status abbrev, version).
pub(crate) fn dpkg_status(name: &str, ctx: &ModuleContext) -> Option<(String, String)> {
    let o = run(
        &[
            "dpkg-query".into(),
            "-W".into(),
            "-f=${db:Status-Abbrev}\t${Version}\n".into(),
            name.into(),
        ],
        ENV,
        None,
        ctx,
    )
    .ok()?;
    if o.rc != 0 {
        return None;
    }
    let line = o.stdout.lines().next()?;
    let (st, ver) = line.split_once('\t')?;
    Some((st.trim().to_string(), ver.to_string()))
}

/// Installed (dpkg status other than not-installed / config-files).
fn installed_version(name: &str, ctx: &ModuleContext) -> Option<String> {
    let (st, ver) = dpkg_status(name, ctx)?;
    let c = st.chars().nth(1)?;
    (!matches!(c, 'n' | 'c')).then_some(ver)
}

/// The candidate version of a package in the apt cache.
fn candidate(name: &str, ctx: &ModuleContext) -> Option<String> {
    let o = run(
        &["apt-cache".into(), "policy".into(), name.into()],
        ENV,
        None,
        ctx,
    )
    .ok()?;
    for line in o.stdout.lines() {
        if let Some(c) = line.trim().strip_prefix("Candidate:") {
            let c = c.trim();
            return (c != "(none)").then(|| c.to_string());
        }
    }
    None
}

/// Every version apt knows for a package.
fn known_versions(name: &str, ctx: &ModuleContext) -> Vec<String> {
    let o = match run(
        &["apt-cache".into(), "madison".into(), name.into()],
        ENV,
        None,
        ctx,
    ) {
        Ok(o) => o,
        Err(_) => return vec![],
    };
    o.stdout
        .lines()
        .filter_map(|l| l.split('|').nth(1).map(|v| v.trim().to_string()))
        .collect()
}

/// fnmatch with `*`, `?` (enough for package versions and names).
pub(crate) fn fnmatch(pat: &str, s: &str) -> bool {
    fn go(p: &[char], s: &[char]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some('*') => (0..=s.len()).any(|k| go(&p[1..], &s[k..])),
            Some('?') => !s.is_empty() && go(&p[1..], &s[1..]),
            Some(c) => s.first() == Some(c) && go(&p[1..], &s[1..]),
        }
    }
    let p: Vec<char> = pat.chars().collect();
    let s: Vec<char> = s.chars().collect();
    go(&p, &s)
}

/// `dpkg --compare-versions a op b`.
fn vercmp(a: &str, op: &str, b: &str) -> bool {
    std::process::Command::new("dpkg")
        .args(["--compare-versions", a, op, b])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Split "name=1.0", "name>=1.0" into (name, op, version).
fn split_spec(pkg: &str) -> (String, Option<&'static str>, Option<String>) {
    if let Some((n, v)) = pkg.split_once(">=") {
        return (n.to_string(), Some(">="), Some(v.to_string()));
    }
    if let Some((n, v)) = pkg.split_once('=') {
        return (n.to_string(), Some("="), Some(v.to_string()));
    }
    (pkg.to_string(), None, None)
}

fn cache_time() -> i64 {
    let stamp = Path::new("/var/lib/apt/periodic/update-success-stamp");
    let p = if stamp.exists() {
        stamp
    } else {
        Path::new("/var/lib/apt/lists")
    };
    std::fs::metadata(p)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn dpkg_opts(p: &Params) -> Vec<String> {
    p.str("dpkg_options")
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .flat_map(|o| ["-o".to_string(), format!("Dpkg::Options::=--{}", o.trim())])
        .collect()
}

fn apt_get(p: &Params, ctx: &ModuleContext) -> MResult<Vec<String>> {
    let mut v = vec![need("apt-get")?];
    v.push("-o".into());
    v.push(format!(
        "DPkg::Lock::Timeout={}",
        p.int("lock_timeout").unwrap_or(60).max(0)
    ));
    let _ = ctx;
    Ok(v)
}

const APT_GET_ZERO: &str = "\n0 upgraded, 0 newly installed";

/// Run apt-get with a policy-rc.d in place when `policy_rc_d` is given.
fn run_apt_get(argv: &[String], p: &Params, ctx: &ModuleContext) -> MResult<Out> {
    let policy = p.int("policy_rc_d").map(|n| {
        let path = Path::new("/usr/sbin/policy-rc.d");
        let old = std::fs::read(path).ok();
        let _ = std::fs::write(path, format!("#!/bin/sh\nexit {n}\n"));
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755));
        old
    });
    let o = run(argv, ENV, None, ctx);
    if let Some(old) = policy {
        let path = Path::new("/usr/sbin/policy-rc.d");
        match old {
            Some(data) => {
                let _ = std::fs::write(path, data);
            }
            None => {
                let _ = std::fs::remove_file(path);
            }
        }
    }
    o
}

fn expand_names(pkgs: &[String], ctx: &ModuleContext) -> Vec<String> {
    let mut out = Vec::new();
    for pk in pkgs {
        for one in pk.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, _, _) = split_spec(one);
            if name.contains(['*', '?']) && !one.contains('=') {
                let prefix: String = name.chars().take_while(|c| !"*?[".contains(*c)).collect();
                let o = run(
                    &["apt-cache".into(), "pkgnames".into(), prefix],
                    ENV,
                    None,
                    ctx,
                );
                let mut found: Vec<String> = o
                    .map(|o| {
                        o.stdout
                            .lines()
                            .filter(|l| fnmatch(&name, l))
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                found.sort();
                if found.is_empty() {
                    out.push(one.to_string());
                } else {
                    out.extend(found);
                }
            } else {
                out.push(one.to_string());
            }
        }
    }
    out
}

fn body(p: &Params, ctx: &ModuleContext) -> MResult<ModuleResult> {
    need("apt-get")?;
    let mut updated_cache = false;
    let mut cache_update_time = cache_time();
    let upgrade = p.str("upgrade").filter(|u| *u != "no").map(str::to_string);
    if p.bool("clean") && !ctx.check_mode {
        let mut c = apt_get(p, ctx)?;
        c.push("clean".into());
        let o = run(&c, ENV, None, ctx)?;
        if o.rc != 0 {
            return Err(cmd_failure(
                format!("apt-get clean failed: {}", o.stderr),
                &o,
            ));
        }
    }
    if p.bool("update_cache") || p.int("cache_valid_time").unwrap_or(0) > 0 {
        let valid = p.int("cache_valid_time").unwrap_or(0);
        let now = crate::util::now_f64() as i64;
        if valid == 0 || cache_update_time + valid < now {
            if !ctx.check_mode {
                let retries = p.int("update_cache_retries").unwrap_or(5).max(1);
                let max_delay = p.int("update_cache_retry_max_delay").unwrap_or(12);
                let mut last = None;
                for k in 0..retries {
                    let mut c = apt_get(p, ctx)?;
                    c.push("update".into());
                    let o = run(&c, ENV, None, ctx)?;
                    if o.rc == 0 {
                        last = None;
                        break;
                    }
                    last = Some(o);
                    if k + 1 < retries {
                        let delay = (1i64 << k).min(max_delay).max(0) as u64;
                        std::thread::sleep(std::time::Duration::from_secs(delay));
                    }
                }
                if let Some(o) = last {
                    return Err(Failure::new(format!(
                        "Failed to update apt cache: {}",
                        o.stderr.trim()
                    )));
                }
            }
            let post = cache_time();
            if ctx.check_mode || post != cache_update_time {
                updated_cache = true;
            }
            cache_update_time = post;
        }
        if !p.is_set("package") && upgrade.is_none() && !p.is_set("deb") {
            let mut r = res(updated_cache);
            r.insert("cache_updated".into(), json!(updated_cache));
            r.insert("cache_update_time".into(), json!(cache_update_time));
            return Ok(r);
        }
    }
    let state = p.str("state").unwrap_or("present").to_string();
    // ansible-core adds the cache keys to what install() returns: apt-get's own failures
    // and a version with no candidate; its check for an unknown package exits without them
    let with_cache = |f: Failure| {
        let no_candidate =
            f.0.get("msg")
                .and_then(|m| m.as_str())
                .is_some_and(|m| m.starts_with("no available installation candidate for "));
        if f.0.contains_key("rc") || no_candidate {
            f.with("cache_updated", updated_cache)
                .with("cache_update_time", cache_update_time)
        } else {
            f
        }
    };
    let mut r = if let Some(u) = upgrade {
        // ansible-core exits from the upgrade path without the cache keys
        return do_upgrade(p, ctx, &u);
    } else if let Some(deb) = p.str("deb") {
        // ansible-core exits from install_deb without the cache keys
        return install_deb(p, ctx, deb);
    } else if let Some(pkgs) = p.list("package") {
        let pkgs = expand_names(&pkgs, ctx);
        match state.as_str() {
            "absent" => return remove(p, ctx, &pkgs),
            "build-dep" => build_dep(p, ctx, &pkgs).map_err(with_cache)?,
            _ => install(p, ctx, &pkgs, &state).map_err(with_cache)?,
        }
    } else if p.bool("autoremove") || p.bool("autoclean") {
        return cleanup(
            p,
            ctx,
            if p.bool("autoremove") {
                "autoremove"
            } else {
                "autoclean"
            },
        );
    } else {
        res(false)
    };
    r.insert("cache_updated".into(), json!(updated_cache));
    r.insert("cache_update_time".into(), json!(cache_update_time));
    Ok(r)
}

fn common_flags(p: &Params, c: &mut Vec<String>) {
    if p.bool("force") {
        c.push("--force-yes".into());
    }
    if p.bool("allow_unauthenticated") {
        c.push("--allow-unauthenticated".into());
    }
    if p.bool("allow_downgrade") {
        c.push("--allow-downgrades".into());
    }
    if p.bool("allow_change_held_packages") {
        c.push("--allow-change-held-packages".into());
    }
}

fn install(p: &Params, ctx: &ModuleContext, pkgs: &[String], state: &str) -> MResult<ModuleResult> {
    let mut todo: Vec<String> = Vec::new();
    for pk in pkgs {
        let (name, op, ver) = split_spec(pk);
        let inst = installed_version(&name, ctx);
        let cand = candidate(&name, ctx);
        if inst.is_none() && cand.is_none() {
            let providers = run(
                &["apt-cache".into(), "showpkg".into(), name.clone()],
                ENV,
                None,
                ctx,
            )
            .map(|o| {
                o.stdout
                    .split("Reverse Provides:")
                    .nth(1)
                    .map(|t| t.lines().filter(|l| !l.trim().is_empty()).count())
                    .unwrap_or(0)
            })
            .unwrap_or(0);
            if providers == 0 {
                return Err(Failure::new(format!(
                    "No package matching '{name}' is available"
                )));
            }
            todo.push(pk.clone());
            continue;
        }
        match (op, ver) {
            (Some(op), Some(v)) => {
                let ok = match (&inst, op) {
                    (Some(iv), "=") => fnmatch(&v, iv),
                    (Some(iv), _) => vercmp(iv, "ge", &v),
                    (None, _) => false,
                };
                if !ok {
                    if op == "=" && !v.contains('*') && !known_versions(&name, ctx).contains(&v) {
                        return Err(Failure::new(format!(
                            "no available installation candidate for {pk}"
                        )));
                    }
                    if op == ">=" {
                        todo.push(name.clone());
                    } else {
                        todo.push(pk.clone());
                    }
                }
            }
            _ => {
                let need_it = match &inst {
                    None => true,
                    Some(iv) => state == "latest" && cand.as_ref().is_some_and(|c| c != iv),
                };
                if need_it {
                    todo.push(name.clone());
                }
            }
        }
    }
    if todo.is_empty() && state != "fixed" {
        return Ok(res(false));
    }
    let mut c = apt_get(p, ctx)?;
    c.push("-y".into());
    c.extend(dpkg_opts(p));
    if p.bool("only_upgrade") {
        c.push("--only-upgrade".into());
    }
    if state == "fixed" {
        c.push("--fix-broken".into());
    }
    common_flags(p, &mut c);
    if p.bool("fail_on_autoremove") {
        c.push("--no-remove".into());
    }
    if p.bool("autoremove") {
        c.push("--auto-remove".into());
    }
    if ctx.check_mode {
        c.push("--simulate".into());
    }
    if let Some(rel) = p.str("default_release") {
        c.push("-t".into());
        c.push(rel.into());
    }
    match p.get("install_recommends").and_then(|v| v.as_bool()) {
        Some(true) => c.extend(["-o".into(), "APT::Install-Recommends=yes".into()]),
        Some(false) => c.extend(["-o".into(), "APT::Install-Recommends=no".into()]),
        None => {}
    }
    c.push("install".into());
    c.extend(todo.iter().cloned());
    let o = run_apt_get(&c, p, ctx)?;
    if o.rc != 0 {
        return Err(cmd_failure(
            format!("'{}' failed: {}", c.join(" "), o.stderr),
            &o,
        ));
    }
    let changed = !todo.is_empty() || !o.stdout.contains(APT_GET_ZERO);
    let mut r = res(changed);
    put_output(&mut r, &o);
    r.insert("diff".into(), diff_of(ctx, &o));
    Ok(r)
}

fn diff_of(ctx: &ModuleContext, o: &Out) -> serde_json::Value {
    if ctx.diff {
        parse_diff(&o.stdout)
    } else {
        json!({})
    }
}

/// apt-get's plan as ansible-core shows it: after "Reading state information..." (or
/// aptitude's "Resolving dependencies...") up to the "N upgraded" summary line.
fn parse_diff(out: &str) -> serde_json::Value {
    let lines: Vec<&str> = out.lines().collect();
    let start = lines
        .iter()
        .position(|l| *l == "Resolving dependencies...")
        .or_else(|| {
            lines
                .iter()
                .position(|l| *l == "Reading state information...")
        })
        .map(|i| i + 1)
        .unwrap_or(0);
    let summary = regex::Regex::new(r"^[0-9]+ (packages )?upgraded").expect("pattern");
    let end = lines
        .iter()
        .position(|l| summary.is_match(l))
        .map(|i| i + 1)
        .unwrap_or(lines.len());
    let shown = if start < end {
        &lines[start..end]
    } else {
        &[][..]
    };
    json!({"prepared": shown.join("\n")})
}

fn remove(p: &Params, ctx: &ModuleContext, pkgs: &[String]) -> MResult<ModuleResult> {
    let purge = p.bool("purge");
    let mut todo = Vec::new();
    for pk in pkgs {
        let (name, _, ver) = split_spec(pk);
        let Some((st, iv)) = dpkg_status(&name, ctx) else {
            continue;
        };
        let c = st.chars().nth(1).unwrap_or('n');
        let present = match c {
            'n' => false,
            'c' => purge,
            _ => true,
        };
        if present && ver.as_ref().is_none_or(|v| fnmatch(v, &iv)) {
            todo.push(name);
        }
    }
    if todo.is_empty() {
        return Ok(res(false));
    }
    let mut c = apt_get(p, ctx)?;
    c.extend(["-q".into(), "-y".into()]);
    c.extend(dpkg_opts(p));
    if purge {
        c.push("--purge".into());
    }
    if p.bool("force") {
        c.push("--force-yes".into());
    }
    if p.bool("autoremove") {
        c.push("--auto-remove".into());
    }
    if ctx.check_mode {
        c.push("--simulate".into());
    }
    c.push("remove".into());
    c.extend(todo);
    let o = run_apt_get(&c, p, ctx)?;
    if o.rc != 0 {
        return Err(cmd_failure(
            format!("'apt-get remove {}' failed: {}", pkgs.join(" "), o.stderr),
            &o,
        ));
    }
    let mut r = res(true);
    put_output(&mut r, &o);
    r.insert("diff".into(), diff_of(ctx, &o));
    Ok(r)
}

fn build_dep(p: &Params, ctx: &ModuleContext, pkgs: &[String]) -> MResult<ModuleResult> {
    let mut c = apt_get(p, ctx)?;
    c.push("-y".into());
    c.extend(dpkg_opts(p));
    common_flags(p, &mut c);
    if ctx.check_mode {
        c.push("--simulate".into());
    }
    c.push("build-dep".into());
    c.extend(pkgs.iter().cloned());
    let o = run_apt_get(&c, p, ctx)?;
    if o.rc != 0 {
        return Err(cmd_failure(
            format!("'{}' failed: {}", c.join(" "), o.stderr),
            &o,
        ));
    }
    let mut r = res(!o.stdout.contains(APT_GET_ZERO));
    put_output(&mut r, &o);
    r.insert("diff".into(), diff_of(ctx, &o));
    Ok(r)
}

fn do_upgrade(p: &Params, ctx: &ModuleContext, mode: &str) -> MResult<ModuleResult> {
    let mut c = apt_get(p, ctx)?;
    c.push("-y".into());
    c.extend(dpkg_opts(p));
    common_flags(p, &mut c);
    if p.bool("autoremove") {
        c.push("--auto-remove".into());
    }
    if ctx.check_mode {
        c.push("--simulate".into());
    }
    match mode {
        "dist" | "full" => c.push("dist-upgrade".into()),
        _ => {
            c.push("upgrade".into());
            c.push("--with-new-pkgs".into());
        }
    }
    let o = run_apt_get(&c, p, ctx)?;
    if o.rc != 0 {
        return Err(
            cmd_failure(format!("'{}' failed: {}", c.join(" "), o.stderr), &o)
                .with("msg", format!("'{}' failed: {}", c.join(" "), o.stderr)),
        );
    }
    let changed = !o.stdout.contains(APT_GET_ZERO);
    let mut r = res(changed);
    r.insert("msg".into(), json!(o.stdout));
    put_output(&mut r, &o);
    r.insert("diff".into(), diff_of(ctx, &o));
    Ok(r)
}

fn cleanup(p: &Params, ctx: &ModuleContext, op: &str) -> MResult<ModuleResult> {
    let mut c = apt_get(p, ctx)?;
    c.push("-y".into());
    c.extend(dpkg_opts(p));
    if p.bool("purge") {
        c.push("--purge".into());
    }
    if ctx.check_mode {
        c.push("--simulate".into());
    }
    c.push(op.into());
    let o = run_apt_get(&c, p, ctx)?;
    if o.rc != 0 {
        return Err(cmd_failure(
            format!("'apt-get {op}' failed: {}", o.stderr),
            &o,
        ));
    }
    let changed = op == "autoremove"
        && !o
            .stdout
            .contains("\n0 upgraded, 0 newly installed, 0 to remove");
    let mut r = res(changed);
    put_output(&mut r, &o);
    r.insert("diff".into(), diff_of(ctx, &o));
    Ok(r)
}

fn install_deb(p: &Params, ctx: &ModuleContext, deb: &str) -> MResult<ModuleResult> {
    if !Path::new(deb).is_file() {
        return Err(Failure::new(format!(
            "Unable to install package: {deb} does not exist or is not a file"
        )));
    }
    let o = run(
        &[
            "dpkg-deb".into(),
            "-f".into(),
            deb.into(),
            "Package".into(),
            "Version".into(),
        ],
        ENV,
        None,
        ctx,
    )?;
    if o.rc != 0 {
        return Err(cmd_failure(
            format!("Unable to install package: {}", o.stderr.trim()),
            &o,
        ));
    }
    let mut name = String::new();
    let mut ver = String::new();
    for line in o.stdout.lines() {
        if let Some(v) = line.strip_prefix("Package:") {
            name = v.trim().into();
        } else if let Some(v) = line.strip_prefix("Version:") {
            ver = v.trim().into();
        }
    }
    if installed_version(&name, ctx).as_deref() == Some(ver.as_str()) && !p.bool("force") {
        let mut r = res(false);
        for k in ["stdout", "stderr", "diff"] {
            r.insert(k.into(), json!(""));
        }
        return Ok(r);
    }
    if ctx.check_mode {
        // as ansible-core: dpkg simulates the installation
        let mut c = vec!["dpkg".to_string()];
        c.extend(
            p.str("dpkg_options")
                .unwrap_or("force-confdef,force-confold")
                .split(',')
                .map(|o| format!("--{o}")),
        );
        c.extend(["--simulate".into(), "-i".into(), deb.into()]);
        let o = run(&c, ENV, None, ctx)?;
        if o.rc != 0 {
            return Err(cmd_failure(format!("{} failed", c.join(" ")), &o));
        }
        let mut r = res(true);
        put_output(&mut r, &o);
        r.insert("diff".into(), parse_diff(&o.stdout));
        return Ok(r);
    }
    // apt-get installs a local .deb with its dependencies resolved from the cache
    let abs = crate::util::abspath(deb).display().to_string();
    let mut c = apt_get(p, ctx)?;
    c.push("-y".into());
    c.extend(dpkg_opts(p));
    common_flags(p, &mut c);
    if p.bool("force") {
        c.push("--reinstall".into());
    }
    c.push("install".into());
    c.push(abs);
    let o = run_apt_get(&c, p, ctx)?;
    if o.rc != 0 {
        return Err(cmd_failure(format!("{} failed", c.join(" ")), &o));
    }
    let mut r = res(true);
    put_output(&mut r, &o);
    // ansible-core shows dpkg's output as the diff whether or not diff mode is on
    r.insert("diff".into(), parse_diff(&o.stdout));
    Ok(r)
}

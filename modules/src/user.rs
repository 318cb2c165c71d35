//! `user`: useradd / usermod / userdel, supplementary groups, password hashes from
//! /etc/shadow, and `generate_ssh_key` through ssh-keygen.

use crate::args::{b, i, l, p, s, Params, Spec, Type};
use crate::sysutil::{cmd_failure, module, need, res, run, Out};
use crate::util::{group_gid, group_name, passwd_by_name, Failure, MResult};
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::json;
use std::path::{Path, PathBuf};

fn spec() -> Spec {
    Spec::new(vec![
        s("state")
            .default("present")
            .choices(&["absent", "present"]),
        s("name").required().aliases(&["user"]),
        i("uid"),
        b("non_unique").default(false),
        s("group"),
        l("groups").elements(Type::Str),
        s("comment"),
        p("home"),
        s("shell"),
        s("password"),
        b("password_lock"),
        b("force").default(false),
        b("remove").default(false),
        b("create_home").default(true).aliases(&["createhome"]),
        s("skeleton"),
        b("system").default(false),
        b("move_home").default(false),
        b("append").default(false),
        b("generate_ssh_key"),
        i("ssh_key_bits").default(0),
        s("ssh_key_type").default("rsa"),
        p("ssh_key_file"),
        s("ssh_key_comment"),
        s("ssh_key_passphrase"),
        s("update_password")
            .default("always")
            .choices(&["always", "on_create"]),
        r_expires(),
        s("password_expire_max"),
        s("password_expire_min"),
        s("password_expire_warn"),
        s("login_class"),
        b("local").default(false),
        s("profile"),
        s("authorization"),
        s("role"),
        s("umask"),
        b("hidden"),
        s("seuser"),
        s("uid_min"),
        s("uid_max"),
        s("password_expire_account_disable"),
    ])
}

fn r_expires() -> crate::args::Opt {
    crate::args::Opt::new("expires", Type::Float)
}

/// Supplementary groups of a user (from /etc/group), sorted.
fn current_groups(user: &str) -> Vec<String> {
    let text = std::fs::read_to_string("/etc/group").unwrap_or_default();
    let mut v: Vec<String> = text
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 4 && f[3].split(',').any(|m| m == user)).then(|| f[0].to_string())
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

fn shadow_hash(user: &str) -> Option<String> {
    let text = std::fs::read_to_string("/etc/shadow").ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next() == Some(user)).then(|| f.next().unwrap_or("").to_string())
    })
}

/// Ansible's warning check: does the password look like a crypt hash?
fn looks_hashed(pw: &str) -> bool {
    let parts: Vec<&str> = pw.split('$').collect();
    if pw == "*" || pw == "!" || pw.starts_with('!') {
        return true;
    }
    if parts.len() < 4 || !parts[0].is_empty() {
        return false;
    }
    let last = parts[parts.len() - 1];
    let ok_chars = last
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '/');
    let len = match parts[1] {
        "1" => 22,
        "5" => 43,
        "6" => 86,
        "y" | "2a" | "2b" | "2y" => return ok_chars,
        _ => return ok_chars,
    };
    ok_chars && last.len() == len
}

fn groups_param(p: &Params) -> Option<Vec<String>> {
    p.list("groups").map(|g| {
        g.iter()
            .flat_map(|x| x.split(','))
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect()
    })
}

fn check_groups(gs: &[String]) -> MResult<()> {
    for g in gs {
        if crate::util::resolve_gid(g)
            .filter(|id| group_name(*id).is_some())
            .is_none()
        {
            return Err(Failure::new(format!("Group {g} does not exist")));
        }
    }
    Ok(())
}

fn run_or_fail(c: &[String], ctx: &ModuleContext, name: &str) -> MResult<Out> {
    let o = run(c, &[], None, ctx)?;
    if o.rc != 0 {
        return Err(cmd_failure(o.stderr.trim().to_string(), &o).with("name", name));
    }
    Ok(o)
}

/// `expires` (epoch seconds, float) as useradd/usermod's `-e YYYY-MM-DD`; a negative
/// value clears the expiry.
fn expires_arg(p: &Params) -> Option<String> {
    let e = p.get("expires")?.as_f64()?;
    if e < 0.0 {
        return Some(String::new());
    }
    Some(
        crate::util::LocalTime::at(e as i64, 0)
            .utc()
            .format("%Y-%m-%d"),
    )
}

/// The account expiry in /etc/shadow as YYYY-MM-DD ("" when none).
fn shadow_expiry(user: &str) -> String {
    let text = std::fs::read_to_string("/etc/shadow").unwrap_or_default();
    text.lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&user)).then(|| f.get(7).copied().unwrap_or("").to_string())
        })
        .and_then(|d| d.parse::<i64>().ok())
        .map(|days| {
            crate::util::LocalTime::at(days * 86400, 0)
                .utc()
                .format("%Y-%m-%d")
        })
        .unwrap_or_default()
}

/// password_expire_max/min/warn with chage, when they differ from /etc/shadow.
fn chage(p: &Params, ctx: &ModuleContext, name: &str) -> MResult<bool> {
    let text = std::fs::read_to_string("/etc/shadow").unwrap_or_default();
    let f: Vec<String> = text
        .lines()
        .find(|l| l.split(':').next() == Some(name))
        .map(|l| l.split(':').map(str::to_string).collect())
        .unwrap_or_default();
    let mut c = vec![need("chage")?];
    for (opt, flag, idx) in [
        ("password_expire_min", "-m", 3),
        ("password_expire_max", "-M", 4),
        ("password_expire_warn", "-W", 5),
    ] {
        if let Some(v) = p.str(opt) {
            if f.get(idx).map(String::as_str) != Some(v) {
                c.extend([flag.to_string(), v.to_string()]);
            }
        }
    }
    if c.len() == 1 {
        return Ok(false);
    }
    if !ctx.check_mode {
        c.push(name.to_string());
        run_or_fail(&c, ctx, name)?;
    }
    Ok(true)
}

pub fn run_module(args: &Args, ctx: &ModuleContext, m: &str) -> ModuleResult {
    module(spec(), args, ctx, m, body)
}

fn body(p: &Params, ctx: &ModuleContext) -> MResult<ModuleResult> {
    let name = p.str("name").unwrap_or("").to_string();
    let state = p.str("state").unwrap_or("present");
    if p.bool("local") {
        return Err(Failure::new(
            "local=true (luseradd/lusermod) is not available natively in play",
        ));
    }
    let exists = passwd_by_name(&name).is_some();
    let mut warnings: Vec<String> = Vec::new();
    if let Some(pw) = p.str("password") {
        if !looks_hashed(pw) {
            warnings.push("The input password appears not to have been hashed. The 'password' argument must be encrypted for this module to work properly.".into());
        }
    }
    let mut r = res(false);
    r.insert("name".into(), json!(name));
    r.insert("state".into(), json!(state));
    if state == "absent" {
        if exists {
            if ctx.check_mode {
                // ansible-core exits with `changed` alone here
                return Ok(res(true));
            }
            r.insert("changed".into(), json!(true));
            r.insert("force".into(), json!(p.bool("force")));
            r.insert("remove".into(), json!(p.bool("remove")));
            if !ctx.check_mode {
                let mut c = vec![need("userdel")?];
                if p.bool("force") {
                    c.push("-f".into());
                }
                if p.bool("remove") {
                    c.push("-r".into());
                }
                c.push(name.clone());
                let o = run(&c, &[], None, ctx)?;
                // userdel -r exits 12 when only the mail spool is missing
                if o.rc != 0 && !(o.rc == 12 && passwd_by_name(&name).is_none()) {
                    return Err(cmd_failure(o.stderr.trim().to_string(), &o).with("name", name));
                }
                if !o.stdout.is_empty() {
                    r.insert("stdout".into(), json!(o.stdout));
                }
                if !o.stderr.is_empty() {
                    r.insert("stderr".into(), json!(o.stderr));
                    r.insert(
                        "stderr_lines".into(),
                        serde_json::Value::Array(crate::util::splitlines(&o.stderr)),
                    );
                }
            }
        }
        return Ok(r);
    }
    let groups = groups_param(p);
    if let Some(g) = &groups {
        check_groups(g)?;
    }
    if let Some(g) = p.str("group") {
        if crate::util::resolve_gid(g).and_then(group_name).is_none() {
            return Err(Failure::new(format!("Group {g} does not exist")));
        }
    }
    if !exists {
        r.insert("changed".into(), json!(true));
        if ctx.check_mode {
            let mut r = res(true);
            if !warnings.is_empty() {
                r.insert("warnings".into(), json!(warnings));
            }
            return Ok(r);
        }
        let mut c = vec![need("useradd")?];
        if let Some(u) = p.int("uid") {
            c.extend(["-u".into(), u.to_string()]);
            if p.bool("non_unique") {
                c.push("-o".into());
            }
        }
        if let Some(g) = p.str("group") {
            c.extend(["-g".into(), g.into()]);
        } else if group_gid(&name).is_some() {
            c.push("-N".into());
        }
        if let Some(g) = &groups {
            if !g.is_empty() {
                c.extend(["-G".into(), g.join(",")]);
            }
        }
        if let Some(x) = p.str("comment") {
            c.extend(["-c".into(), x.into()]);
        }
        if let Some(x) = p.str("home") {
            c.extend(["-d".into(), x.into()]);
        }
        if let Some(x) = p.str("shell") {
            c.extend(["-s".into(), x.into()]);
        }
        if let Some(x) = p.str("password") {
            c.extend(["-p".into(), x.into()]);
        }
        if p.bool("system") {
            c.push("-r".into());
        }
        if let Some(x) = p.str("uid_min") {
            c.extend(["-K".into(), format!("UID_MIN={x}")]);
        }
        if let Some(e) = expires_arg(p) {
            c.extend(["-e".into(), e]);
        }
        if let Some(x) = p.str("seuser") {
            c.extend(["-Z".into(), x.into()]);
        }
        if let Some(x) = p.str("umask") {
            c.extend(["-K".into(), format!("UMASK={x}")]);
        }
        if let Some(x) = p.str("uid_max") {
            c.extend(["-K".into(), format!("UID_MAX={x}")]);
        }
        if p.bool("create_home") {
            c.push("-m".into());
            if let Some(k) = p.str("skeleton") {
                c.extend(["-k".into(), k.into()]);
            }
        } else {
            c.push("-M".into());
        }
        c.push(name.clone());
        let o = run_or_fail(&c, ctx, &name)?;
        chage(p, ctx, &name)?;
        if !o.stdout.is_empty() {
            r.insert("stdout".into(), json!(o.stdout));
        }
        if !o.stderr.is_empty() {
            r.insert("stderr".into(), json!(o.stderr));
        }
        r.insert("system".into(), json!(p.bool("system")));
        r.insert("create_home".into(), json!(p.bool("create_home")));
    } else {
        let (_, uid, gid, home, shell, gecos) = passwd_by_name(&name).expect("exists");
        let mut c = vec![need("usermod")?];
        if let Some(u) = p.int("uid").filter(|u| *u != uid as i64) {
            c.extend(["-u".into(), u.to_string()]);
            if p.bool("non_unique") {
                c.push("-o".into());
            }
        }
        if let Some(g) = p.str("group") {
            if crate::util::resolve_gid(g) != Some(gid) {
                c.extend(["-g".into(), g.into()]);
            }
        }
        if let Some(want) = &groups {
            let cur = current_groups(&name);
            let primary = group_name(gid).unwrap_or_default();
            let want: Vec<String> = want
                .iter()
                .map(|g| {
                    g.parse::<u32>()
                        .ok()
                        .and_then(group_name)
                        .unwrap_or_else(|| g.clone())
                })
                .filter(|g| *g != primary)
                .collect();
            let mut ws = want.clone();
            ws.sort();
            ws.dedup();
            if p.bool("append") {
                if ws.iter().any(|g| !cur.contains(g)) {
                    c.extend(["-a".into(), "-G".into(), ws.join(",")]);
                }
            } else if ws != cur {
                c.extend(["-G".into(), ws.join(",")]);
            }
        }
        if let Some(x) = p.str("comment").filter(|x| *x != gecos) {
            c.extend(["-c".into(), x.into()]);
        }
        if let Some(x) = p.str("home").filter(|x| *x != home) {
            c.extend(["-d".into(), x.into()]);
            if p.bool("move_home") {
                c.push("-m".into());
            }
        }
        if let Some(x) = p.str("shell").filter(|x| *x != shell) {
            c.extend(["-s".into(), x.into()]);
        }
        if let Some(x) = p.str("password") {
            if p.str("update_password") == Some("always")
                && shadow_hash(&name).as_deref() != Some(x)
            {
                c.extend(["-p".into(), x.into()]);
            }
        }
        match p.get("password_lock").and_then(|v| v.as_bool()) {
            Some(true) if !shadow_hash(&name).unwrap_or_default().starts_with('!') => {
                c.push("-L".into())
            }
            Some(false) if shadow_hash(&name).unwrap_or_default().starts_with('!') => {
                c.push("-U".into())
            }
            _ => {}
        }
        if let Some(e) = expires_arg(p) {
            if e != shadow_expiry(&name) {
                c.extend(["-e".into(), e]);
            }
        }
        if c.len() > 1 {
            r.insert("changed".into(), json!(true));
            if !ctx.check_mode {
                c.push(name.clone());
                let o = run_or_fail(&c, ctx, &name)?;
                if !o.stdout.is_empty() {
                    r.insert("stdout".into(), json!(o.stdout));
                }
                if !o.stderr.is_empty() {
                    r.insert("stderr".into(), json!(o.stderr));
                }
            }
        }
        if chage(p, ctx, &name)? {
            r.insert("changed".into(), json!(true));
        }
        r.insert("append".into(), json!(p.bool("append")));
        r.insert("move_home".into(), json!(p.bool("move_home")));
    }
    if p.is_set("password") {
        r.insert("password".into(), json!("NOT_LOGGING_PASSWORD"));
    }
    if let Some((_, uid, gid, home, shell, gecos)) = passwd_by_name(&name) {
        r.insert("uid".into(), json!(uid));
        r.insert("group".into(), json!(gid));
        r.insert("groups".into(), json!(current_groups(&name).join(",")));
        r.insert("comment".into(), json!(gecos));
        r.insert("home".into(), json!(home));
        r.insert("shell".into(), json!(shell));
        if p.bool("generate_ssh_key") {
            ssh_key(p, ctx, (&name, uid, gid, &home), &mut r, &mut warnings)?;
        }
    }
    if !warnings.is_empty() {
        r.insert("warnings".into(), json!(warnings));
    }
    Ok(r)
}

fn ssh_key(
    p: &Params,
    ctx: &ModuleContext,
    (name, uid, gid, home): (&str, u32, u32, &str),
    r: &mut ModuleResult,
    warnings: &mut Vec<String>,
) -> MResult<()> {
    let ktype = p.str("ssh_key_type").unwrap_or("rsa");
    let file = match p.str("ssh_key_file") {
        Some(f) if f.starts_with('/') => PathBuf::from(f),
        Some(f) => Path::new(home).join(f),
        None => Path::new(home).join(".ssh").join(format!("id_{ktype}")),
    };
    let fstr = file.display().to_string();
    let keygen = need("ssh-keygen")?;
    let pub_file = PathBuf::from(format!("{fstr}.pub"));
    // as ansible-core: an existing private or public key is kept unless `force` is set
    let mut generate = true;
    for (path, what) in [(&file, "private"), (&pub_file, "public")] {
        if !path.exists() || !generate {
            continue;
        }
        if p.bool("force") {
            warnings.push(format!(
                "Overwriting existing ssh key {what} file \"{}\"",
                path.display()
            ));
            if !ctx.check_mode {
                let _ = std::fs::remove_file(path);
            }
        } else {
            warnings.push(format!(
                "Found existing ssh key {what} file \"{}\", no force, so skipping ssh-keygen generation",
                path.display()
            ));
            generate = false;
        }
    }
    if generate {
        r.insert("changed".into(), json!(true));
        if ctx.check_mode {
            return Ok(());
        }
        if let Some(dir) = file.parent() {
            if !dir.exists() {
                std::fs::create_dir_all(dir).map_err(|e| {
                    Failure::new(format!("Failed to create {}: {e}", dir.display()))
                })?;
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
                let _ = std::os::unix::fs::chown(dir, Some(uid), Some(gid));
            }
        }
        let host = crate::sysutil::run(&["hostname".into()], &[], None, ctx)
            .map(|o| o.stdout.trim().to_string())
            .unwrap_or_default();
        let comment = p
            .string("ssh_key_comment")
            .unwrap_or_else(|| format!("ansible-generated on {host}"));
        let mut c = vec![keygen.clone(), "-t".into(), ktype.into()];
        if let Some(bits) = p.int("ssh_key_bits").filter(|b| *b > 0) {
            c.extend(["-b".into(), bits.to_string()]);
        }
        c.extend([
            "-C".into(),
            comment,
            "-f".into(),
            fstr.clone(),
            "-N".into(),
            p.string("ssh_key_passphrase").unwrap_or_default(),
            "-q".into(),
        ]);
        let o = run(&c, &[], None, ctx)?;
        if o.rc != 0 {
            return Err(cmd_failure(o.stderr.clone(), &o).with("name", name));
        }
        for f in [file.clone(), PathBuf::from(format!("{fstr}.pub"))] {
            let _ = std::os::unix::fs::chown(&f, Some(uid), Some(gid));
        }
    }
    if let Ok(o) = run(
        &[keygen, "-l".into(), "-f".into(), fstr.clone()],
        &[],
        None,
        ctx,
    ) {
        r.insert("ssh_fingerprint".into(), json!(o.stdout.trim()));
    }
    r.insert("ssh_key_file".into(), json!(fstr));
    if let Ok(pk) = std::fs::read_to_string(format!("{fstr}.pub")) {
        r.insert("ssh_public_key".into(), json!(pk.trim()));
    }
    Ok(())
}

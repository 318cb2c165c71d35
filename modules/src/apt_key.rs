//! `apt_key`: keys in apt's trusted keyrings through apt-key (deprecated upstream but
//! still shipped by Debian 12). Keys come from a local `file`, inline `data`, or a
//! `keyserver`; the id is read from the key with gpg when not given.

use crate::args::{b, p, s, Params, Spec};
use crate::sysutil::{cmd_failure, module, need, res, run};
use crate::util::{Failure, MResult};
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::json;

fn spec() -> Spec {
    Spec::new(vec![
        s("id"),
        s("url"),
        s("data"),
        p("file"),
        p("keyring"),
        b("validate_certs").default(true),
        s("keyserver"),
        s("state")
            .default("present")
            .choices(&["absent", "present"]),
    ])
    .exclusive(&["data", "file", "keyserver", "url"])
}

const ENV: &[(&str, &str)] = &[
    ("LANG", "C"),
    ("LC_ALL", "C"),
    ("APT_KEY_DONT_WARN_ON_DANGEROUS_USAGE", "1"),
];

fn apt_key(p: &Params) -> MResult<Vec<String>> {
    let mut v = vec![need("apt-key")?];
    if let Some(k) = p.str("keyring") {
        v.extend(["--keyring".into(), k.into()]);
    }
    Ok(v)
}

fn all_keys(p: &Params, ctx: &ModuleContext) -> MResult<Vec<String>> {
    let mut c = apt_key(p)?;
    c.extend([
        "adv".into(),
        "--list-public-keys".into(),
        "--keyid-format=long".into(),
    ]);
    let o = run(&c, ENV, None, ctx)?;
    let mut keys = Vec::new();
    for line in o.stdout.lines() {
        if line.starts_with("pub") || line.starts_with("sub") {
            if let Some(id) = line
                .split_whitespace()
                .nth(1)
                .and_then(|t| t.split_once('/'))
                .map(|(_, id)| id.to_uppercase())
            {
                keys.push(id);
            }
        }
    }
    Ok(keys)
}

/// The key id in a key file (first primary key), read with the same gpg command line as
/// ansible-core's (`gpg --with-colons FILE`), so a failure reads alike.
fn id_from_file(path: &str, shown: &str, ctx: &ModuleContext) -> MResult<String> {
    let gpg = need("gpg")?;
    let o = run(&[gpg, "--with-colons".into(), path.into()], ENV, None, ctx)?;
    if o.rc != 0 {
        return Err(
            Failure::new(format!("Unable to extract key from '{shown}'"))
                .with("stdout", o.stdout.clone())
                .with("stderr", o.stderr.clone())
                .with("stdout_lines", json!(crate::util::splitlines(&o.stdout)))
                .with("stderr_lines", json!(crate::util::splitlines(&o.stderr))),
        );
    }
    o.stdout
        .lines()
        .find(|l| l.starts_with("pub:"))
        .and_then(|l| l.split(':').nth(4))
        .map(str::to_uppercase)
        .ok_or_else(|| cmd_failure(format!("Unable to extract key from '{shown}'"), &o))
}

pub fn run_module(args: &Args, ctx: &ModuleContext, m: &str) -> ModuleResult {
    let mut r = module(spec(), args, ctx, m, body);
    crate::apt_repository::deprecated(&mut r, "apt_key");
    r
}

fn body(p: &Params, ctx: &ModuleContext) -> MResult<ModuleResult> {
    if p.is_set("url") {
        return Err(Failure::new(
            "apt_key url= is not available natively; fetch the key with get_url and use file=",
        ));
    }
    let present = p.str("state") == Some("present");
    let tmp = tempfile::NamedTempFile::new().map_err(|e| Failure::new(e.to_string()))?;
    let keyfile = if let Some(d) = p.str("data") {
        std::fs::write(tmp.path(), d).map_err(|e| Failure::new(e.to_string()))?;
        Some(tmp.path().display().to_string())
    } else {
        p.string("file")
    };
    let key_id = match (p.str("id"), &keyfile) {
        (Some(id), _) => {
            // parse_key_id: hexadecimal, an optional 0x, as Python's int(id, 16) reads it
            let up = id.trim().to_uppercase();
            let hex = up.strip_prefix("0X").unwrap_or(&up);
            if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(Failure::new("Invalid key_id").with("id", id));
            }
            hex.to_string()
        }
        (None, Some(f)) => {
            let shown = if p.is_set("data") {
                "inline data"
            } else {
                f.as_str()
            };
            id_from_file(f, shown, ctx)?
        }
        (None, None) => {
            return Err(Failure::new(
                "one of the following is required: id, data, file, keyserver, url",
            ))
        }
    };
    let fp = key_id[key_id.len().saturating_sub(16)..].to_string();
    let short = key_id[key_id.len().saturating_sub(8)..].to_string();
    let before = all_keys(p, ctx)?;
    let has = before.contains(&fp);
    let mut r = res(false);
    r.insert("before".into(), json!(before));
    r.insert("fp".into(), json!(fp));
    r.insert("id".into(), json!(key_id));
    r.insert("key_id".into(), json!(key_id));
    r.insert("short_id".into(), json!(short));
    if has == present {
        return Ok(r);
    }
    r.insert("changed".into(), json!(true));
    if !ctx.check_mode {
        let mut c = apt_key(p)?;
        if present {
            if let Some(ks) = p.str("keyserver") {
                c.extend([
                    "adv".into(),
                    "--no-tty".into(),
                    "--keyserver".into(),
                    ks.into(),
                    "--recv".into(),
                    key_id.clone(),
                ]);
            } else {
                match &keyfile {
                    Some(f) => c.extend(["add".into(), f.clone()]),
                    None => {
                        return Err(Failure::new("No key to add ... how did i get here?!?!")
                            .with("key_id", key_id))
                    }
                }
            }
        } else {
            c.extend(["del".into(), key_id.clone()]);
        }
        let o = run(&c, ENV, None, ctx)?;
        if o.rc != 0 {
            return Err(cmd_failure(
                format!(
                    "error {} key {key_id}",
                    if present { "adding" } else { "removing" }
                ),
                &o,
            ));
        }
        r.insert("after".into(), json!(all_keys(p, ctx)?));
    }
    Ok(r)
}

//! `known_hosts`: add or remove a host key in a known_hosts file. Host lookup is native
//! (what `ssh-keygen -F` does: plain and wildcard patterns, negations, hashed `|1|` names
//! via HMAC-SHA1), so ssh-keygen is not needed on the target. Removing all keys of a host
//! (`state: absent` without `key`) leaves the `.old` copy `ssh-keygen -R` makes.

use crate::args::{b, p, s, Params, Spec};
use crate::util::{atomic_write, Failure, MResult};
use crate::{Args, ModuleContext, ModuleResult};
use base64::Engine;
use serde_json::{json, Map, Value};
use sha1::{Digest, Sha1};
use std::path::Path;

fn spec() -> Spec {
    Spec::new(vec![
        s("name").required().aliases(&["host"]),
        s("key"),
        p("path").default("~/.ssh/known_hosts"),
        b("hash_host").default(false),
        s("state")
            .default("present")
            .choices(&["absent", "present"]),
    ])
}

fn hmac_sha1(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..20].copy_from_slice(&Sha1::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut ipad = [0u8; 64];
    let mut opad = [0u8; 64];
    for i in 0..64 {
        ipad[i] = k[i] ^ 0x36;
        opad[i] = k[i] ^ 0x5c;
    }
    let mut h = Sha1::new();
    h.update(ipad);
    h.update(msg);
    let inner = h.finalize();
    let mut h = Sha1::new();
    h.update(opad);
    h.update(inner);
    h.finalize().to_vec()
}

/// ssh's match_pattern: `*` and `?` are the only wildcards, so `[host]:port` is literal.
fn glob_match(pat: &str, s: &str) -> bool {
    fn go(p: &[char], s: &[char]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some(('*', rest)) => (0..=s.len()).any(|i| go(rest, &s[i..])),
            Some(('?', rest)) => !s.is_empty() && go(rest, &s[1..]),
            Some((c, rest)) => s.first() == Some(c) && go(rest, &s[1..]),
        }
    }
    let (p, s): (Vec<char>, Vec<char>) = (pat.chars().collect(), s.chars().collect());
    go(&p, &s)
}

/// Whether the host field of a known_hosts line names `host` (ssh's match_hostname).
fn host_field_matches(field: &str, host: &str) -> bool {
    if let Some(rest) = field.strip_prefix("|1|") {
        let mut it = rest.split('|');
        let (Some(salt), Some(hash)) = (it.next(), it.next()) else {
            return false;
        };
        let b64 = base64::engine::general_purpose::STANDARD;
        let (Ok(salt), Ok(hash)) = (b64.decode(salt), b64.decode(hash)) else {
            return false;
        };
        return hmac_sha1(&salt, host.as_bytes()) == hash;
    }
    let mut matched = false;
    for pat in field.split(',') {
        let pat = pat.to_lowercase();
        if let Some(neg) = pat.strip_prefix('!') {
            if glob_match(neg, host) {
                return false;
            }
        } else if glob_match(&pat, host) {
            matched = true;
        }
    }
    matched
}

/// `ssh-keygen -F host -f file`: (line number, line) of every entry for host.
fn find_host(text: &str, host: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let t = l.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = t.split_whitespace().collect();
        let field = if f[0].starts_with('@') {
            f.get(1)
        } else {
            f.first()
        };
        if field.is_some_and(|h| host_field_matches(h, host)) {
            out.push((i + 1, l.to_string()));
        }
    }
    out
}

#[derive(PartialEq, Clone)]
struct KeyParts {
    options: Option<String>,
    host: String,
    ktype: String,
    key: String,
}

fn normalize(k: &str) -> Option<KeyParts> {
    let f: Vec<&str> = k.split_whitespace().collect();
    if f.first()?.starts_with('@') {
        Some(KeyParts {
            options: Some(f[0].into()),
            host: f.get(1)?.to_string(),
            ktype: f.get(2)?.to_string(),
            key: f.get(3)?.to_string(),
        })
    } else {
        Some(KeyParts {
            options: None,
            host: f.first()?.to_string(),
            ktype: f.get(1)?.to_string(),
            key: f.get(2)?.to_string(),
        })
    }
}

fn hash_host_key(host: &str, key: &str) -> String {
    let mut salt = [0u8; 20];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = std::io::Read::read_exact(&mut f, &mut salt);
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let hashed = hmac_sha1(&salt, host.as_bytes());
    let mut parts: Vec<String> = key.split_whitespace().map(str::to_string).collect();
    let i = if parts[0].starts_with('@') { 1 } else { 0 };
    parts[i] = format!("|1|{}|{}", b64.encode(salt), b64.encode(hashed));
    parts.join(" ")
}

fn inner(params: &Params, ctx: &ModuleContext) -> MResult<Map<String, Value>> {
    let host = params.string("name").unwrap_or_default().to_lowercase();
    let mut key = params.string("key").filter(|k| !k.is_empty());
    let path = params.string("path").unwrap_or_default();
    let state = params.string("state").unwrap_or_default();
    if key.is_none() && state != "absent" {
        return Err(Failure::new("No key specified when adding a host"));
    }
    if let Some(k) = &key {
        if params.bool("hash_host") {
            key = Some(hash_host_key(&host, k));
        }
    }
    if let Some(k) = key.as_mut() {
        if !k.ends_with('\n') {
            k.push('\n');
        }
    }
    if let Some(k) = &key {
        if regex::Regex::new(r"\S+(\s+)?,(\s+)?")
            .expect("regex")
            .is_match(&host)
        {
            return Err(Failure::new("Comma separated list of names is not supported. Please pass a single name to lookup in the known_hosts file."));
        }
        if find_host(k, &host).is_empty() {
            return Err(Failure::new(
                "Host parameter does not match hashed host field in supplied key",
            )
            .with("rc", 1));
        }
    }
    // search_for_host_key
    let exists = Path::new(&path).exists();
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let (found, replace_or_add, found_line) = if !exists {
        (false, false, None)
    } else {
        let hits = find_host(&text, &host);
        if hits.is_empty() {
            (false, false, None)
        } else if key.is_none() {
            (true, false, None)
        } else {
            let mut new_key = normalize(key.as_deref().unwrap_or(""))
                .ok_or_else(|| Failure::new("Invalid key specified"))?;
            let mut res = (true, true, None);
            for (n, l) in hits {
                let Some(fk) = normalize(&l) else { continue };
                let special = fk
                    .options
                    .as_deref()
                    .is_some_and(|o| o.starts_with("@cert-authority") || o.starts_with("@revoke"));
                if special {
                    if new_key == fk {
                        res = (true, false, Some(n));
                        break;
                    }
                } else {
                    if new_key.host.starts_with("|1|") && fk.host.starts_with("|1|") {
                        new_key.host = fk.host.clone();
                    }
                    if new_key == fk {
                        res = (true, false, Some(n));
                        break;
                    } else if new_key.ktype == fk.ktype {
                        res = (true, true, Some(n));
                        break;
                    }
                }
            }
            res
        }
    };
    // compute_diff
    let mut diff = Map::new();
    diff.insert(
        "before_header".into(),
        json!(if exists { path.as_str() } else { "/dev/null" }),
    );
    diff.insert("after_header".into(), json!(path));
    diff.insert("before".into(), json!(text));
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    if (replace_or_add || state == "absent")
        && found_line.is_some_and(|n| n >= 1 && n <= lines.len())
    {
        lines.remove(found_line.unwrap_or(1) - 1);
    }
    if state == "present" && (replace_or_add || found_line.is_none()) {
        lines.push(key.clone().unwrap_or_default());
    }
    diff.insert("after".into(), json!(lines.concat()));
    let mut r = Map::new();
    r.insert("changed".into(), json!(false));
    r.insert("diff".into(), Value::Object(diff));
    if state == "absent" && found_line.is_none() && key.is_some() {
        return Ok(r);
    }
    if ctx.check_mode {
        r.insert(
            "changed".into(),
            json!(replace_or_add || (state == "present") != found),
        );
        // Ansible exits from inside enforce_state here: no parameters, no path info.
        r.insert("_bare".into(), json!(true));
        return Ok(r);
    }
    let mut cur = text.clone();
    if found && key.is_none() && state == "absent" {
        let hit: Vec<usize> = find_host(&cur, &host).into_iter().map(|x| x.0).collect();
        cur = cur
            .split_inclusive('\n')
            .enumerate()
            .filter(|(i, _)| !hit.contains(&(i + 1)))
            .map(|(_, l)| l)
            .collect();
        // as `ssh-keygen -R`, keep the previous file as <path>.old
        let _ = std::fs::copy(&path, format!("{path}.old"));
        atomic_write(Path::new(&path), cur.as_bytes())
            .map_err(|e| Failure::new(format!("Failed to write to file '{path}': {e}")))?;
        r.insert("changed".into(), json!(true));
    }
    if replace_or_add || found != (state == "present") {
        let mut out = String::new();
        if exists {
            for (i, l) in cur.split_inclusive('\n').enumerate() {
                if found_line == Some(i + 1) && (replace_or_add || state == "absent") {
                    continue;
                }
                out.push_str(l);
            }
        }
        if state == "present" {
            out.push_str(key.as_deref().unwrap_or(""));
        }
        if let Some(dir) = Path::new(&path).parent() {
            if !dir.as_os_str().is_empty() && !dir.exists() {
                return Err(Failure::new(format!("Failed to write to file '{path}'.")));
            }
        }
        atomic_write(Path::new(&path), out.as_bytes())
            .map_err(|e| Failure::new(format!("Failed to write to file '{path}': {e}")))?;
        r.insert("changed".into(), json!(true));
    }
    Ok(r)
}

pub fn run(args: &Args, ctx: &ModuleContext, module: &str) -> ModuleResult {
    let params = match spec().validate(module, args) {
        Ok(p) => p,
        Err(e) => return Failure::new(e).into_result(),
    };
    match inner(&params, ctx) {
        Ok(mut r) => {
            if r.remove("_bare").is_some() {
                return r;
            }
            // The module returns its parameters along with the outcome, and the path's info.
            let mut out = ModuleResult::new();
            for k in ["name", "key", "path", "hash_host", "state"] {
                out.insert(k.into(), params.get(k).cloned().unwrap_or(Value::Null));
            }
            out.append(&mut r);
            crate::util::add_path_info_result(&mut out);
            out
        }
        Err(f) => f.into_result(),
    }
}

//! `ansible.posix.authorized_key`: add or remove SSH public keys in a user's
//! authorized_keys (or `path`), with key options, comments and `exclusive`, rewriting the
//! file the way the module does (keys in their original order; a key without a comment is
//! written with a trailing space, as the module's "%s %s %s" format gives).

use crate::args::{b, p, s, Params, Spec};
use crate::util::{atomic_write, Failure, MResult};
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::{json, Map, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const KEY_TYPES: &[&str] = &[
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "webauthn-sk-ecdsa-sha2-nistp256@openssh.com",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    "sk-ssh-ed25519@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com",
    "ssh-ed25519",
    "ssh-ed25519-cert-v01@openssh.com",
    "ssh-dss",
    "ssh-rsa",
    "ssh-xmss@openssh.com",
    "ssh-xmss-cert-v01@openssh.com",
    "rsa-sha2-256",
    "rsa-sha2-512",
    "ssh-rsa-cert-v01@openssh.com",
    "rsa-sha2-256-cert-v01@openssh.com",
    "rsa-sha2-512-cert-v01@openssh.com",
    "ssh-dss-cert-v01@openssh.com",
];

fn spec() -> Spec {
    Spec::new(vec![
        s("user").required(),
        s("key").required(),
        p("path"),
        b("manage_dir").default(true),
        s("state")
            .default("present")
            .choices(&["absent", "present"]),
        s("key_options"),
        b("exclusive").default(false),
        s("comment"),
        b("validate_certs").default(true),
        b("follow").default(false),
    ])
}

/// One line of an authorized_keys file: a key (options, type, blob, comment) or a line
/// kept as it is (`skipped`).
#[derive(Clone, PartialEq)]
struct Key {
    blob: String,
    ktype: String,
    options: Vec<(String, Option<String>)>,
    comment: String,
    rank: usize,
    raw: Option<String>,
}

impl Key {
    fn same(&self, o: &Key) -> bool {
        self.blob == o.blob
            && self.ktype == o.ktype
            && self.options == o.options
            && self.comment == o.comment
    }
}

fn parse_options(s: &str) -> Vec<(String, Option<String>)> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match quote {
            Some(q) => {
                cur.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c == '"' || c == '\'' => {
                quote = Some(c);
                cur.push(c);
            }
            None if c == ',' => parts.push(std::mem::take(&mut cur)),
            None => cur.push(c),
        }
    }
    if !cur.is_empty() {
        parts.push(cur);
    }
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    for p in parts.into_iter().filter(|p| !p.is_empty()) {
        let (k, v) = match p.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (p, None),
        };
        if let Some(e) = out.iter_mut().find(|(kk, _)| *kk == k) {
            e.1 = v;
        } else {
            out.push((k, v));
        }
    }
    out
}

fn parse_key(raw: &str, rank: usize) -> Option<Key> {
    let raw = raw.replace("\\#", "#");
    let parts: Vec<&str> = raw.split_whitespace().collect();
    if parts.first() == Some(&"#") {
        return Some(Key {
            blob: raw.clone(),
            ktype: "skipped".into(),
            options: Vec::new(),
            comment: String::new(),
            rank,
            raw: Some(raw),
        });
    }
    let ti = parts.iter().position(|p| KEY_TYPES.contains(p))?;
    let options = if ti > 0 {
        parse_options(&parts[..ti].join(" "))
    } else {
        Vec::new()
    };
    let blob = parts.get(ti + 1)?.to_string();
    let comment = parts.get(ti + 2..).map(|c| c.join(" ")).unwrap_or_default();
    Some(Key {
        blob,
        ktype: parts[ti].to_string(),
        options,
        comment,
        rank,
        raw: None,
    })
}

fn serialize(keys: &[Key]) -> String {
    let mut v: Vec<&Key> = keys.iter().collect();
    v.sort_by_key(|k| k.rank);
    let mut out = String::new();
    for k in v {
        if let Some(r) = &k.raw {
            out.push_str(r);
            continue;
        }
        let mut opt = String::new();
        if !k.options.is_empty() {
            opt = k
                .options
                .iter()
                .map(|(a, b)| match b {
                    Some(b) => format!("{a}={b}"),
                    None => a.clone(),
                })
                .collect::<Vec<_>>()
                .join(",");
            opt.push(' ');
        }
        out.push_str(&format!("{opt}{} {} {}\n", k.ktype, k.blob, k.comment));
    }
    out
}

fn inner(params: &Params, ctx: &ModuleContext) -> MResult<Map<String, Value>> {
    let user = params.string("user").unwrap_or_default();
    let mut key = params.string("key").unwrap_or_default();
    let path = params.string("path");
    let state = params.string("state").unwrap_or_default();
    let follow = params.bool("follow");
    if key.starts_with("http") {
        let f = crate::uri::fetch(&crate::uri::Request {
            url: &key,
            method: "GET".into(),
            headers: Vec::new(),
            body: None,
            timeout: 10,
            follow: "urllib2".into(),
            if_modified_since: None,
            force: false,
            user: None,
            password: None,
            force_basic_auth: false,
            agent: "ansible-httpget".into(),
            validate_certs: params.bool("validate_certs"),
            use_proxy: true,
        });
        if f.status != 200 {
            return Err(Failure::new(format!("Error getting key from: {key}")));
        }
        key = String::from_utf8_lossy(&f.body).into_owned();
    }
    if key.starts_with("file") {
        let kp = key
            .strip_prefix("file://")
            .or_else(|| key.strip_prefix("file:"))
            .unwrap_or(&key)
            .to_string();
        if !Path::new(&kp).exists() {
            return Err(Failure::new(format!("Path to a key file not found: {kp}")));
        }
        if !Path::new(&kp).is_file() {
            return Err(Failure::new(format!(
                "Path to a key is a directory and must be a file: {kp}"
            )));
        }
        key = std::fs::read_to_string(&kp)
            .map_err(|e| Failure::new(format!("Failed to read key file {kp} : {e}")))?;
    }
    let new_keys: Vec<&str> = key
        .lines()
        .filter(|s| !s.is_empty() && !s.starts_with('#'))
        .collect();
    let pw = crate::util::passwd_by_name(&user);
    let keysfile = if ctx.check_mode && path.is_some() {
        path.clone().unwrap_or_default()
    } else {
        let Some(pw) = &pw else {
            if ctx.check_mode && path.is_none() {
                return Err(Failure::new(
                    "Either user must exist or you must provide full path to key file in check mode",
                ));
            }
            return Err(Failure::new(format!(
                "Failed to lookup user {user}: \"getpwnam(): name not found: '{user}'\""
            )));
        };
        match &path {
            Some(p) => p.clone(),
            None => format!("{}/.ssh/authorized_keys", pw.3),
        }
    };
    let keysfile = if follow {
        crate::util::realpath(Path::new(&keysfile))
            .display()
            .to_string()
    } else {
        keysfile
    };
    let existing = match std::fs::read_to_string(&keysfile) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            return Err(Failure::new(format!(
                "Permission denied on file or path for authorized keys file: {keysfile}"
            )))
        }
        Err(e) => return Err(Failure::new(e.to_string())),
    };
    let mut existing_keys: Vec<Key> = Vec::new();
    for (rank, line) in existing.split_inclusive('\n').enumerate() {
        let k = parse_key(line, rank).unwrap_or(Key {
            blob: line.to_string(),
            ktype: "skipped".into(),
            options: Vec::new(),
            comment: String::new(),
            rank,
            raw: Some(line.to_string()),
        });
        if let Some(e) = existing_keys.iter_mut().find(|e| e.blob == k.blob) {
            *e = k;
        } else {
            existing_keys.push(k);
        }
    }
    let max_rank = existing_keys.len();
    let mut keys_to_exist: Vec<String> = Vec::new();
    let mut do_write = false;
    for (rank, nk) in new_keys.iter().enumerate() {
        let Some(mut parsed) = parse_key(nk, rank).filter(|k| k.raw.is_none()) else {
            return Err(Failure::new(format!("invalid key specified: {nk}")));
        };
        if let Some(o) = params.str("key_options") {
            parsed.options = parse_options(o);
        }
        if let Some(c) = params.string("comment") {
            parsed.comment = c;
        }
        let mut matched = false;
        let mut non_matching = false;
        if let Some(e) = existing_keys.iter().find(|e| e.blob == parsed.blob) {
            if !parsed.same(e) && state == "present" {
                non_matching = true;
            } else {
                matched = true;
            }
        }
        if state == "present" {
            keys_to_exist.push(parsed.blob.clone());
            if non_matching {
                existing_keys.retain(|e| e.blob != parsed.blob);
                do_write = true;
            }
            if !matched {
                parsed.rank += max_rank;
                existing_keys.push(parsed);
                do_write = true;
            }
        } else if matched {
            existing_keys.retain(|e| e.blob != parsed.blob);
            do_write = true;
        }
    }
    if state == "present" && params.bool("exclusive") {
        let before = existing_keys.len();
        existing_keys.retain(|k| keys_to_exist.contains(&k.blob));
        if existing_keys.len() != before {
            do_write = true;
        }
    }
    let mut r = Map::new();
    for k in [
        "user",
        "key",
        "path",
        "manage_dir",
        "state",
        "key_options",
        "exclusive",
        "comment",
        "validate_certs",
        "follow",
    ] {
        r.insert(k.into(), params.get(k).cloned().unwrap_or(Value::Null));
    }
    r.insert("keyfile".into(), json!(keysfile));
    if do_write {
        let content = serialize(&existing_keys);
        if ctx.diff {
            r.insert(
                "diff".into(),
                json!({"before_header": keysfile, "after_header": keysfile, "before": existing, "after": content}),
            );
        }
        if !ctx.check_mode {
            let pw = pw.ok_or_else(|| Failure::new(format!("Failed to lookup user {user}")))?;
            let sshdir = match &path {
                Some(p) => Path::new(p)
                    .parent()
                    .map(|d| d.to_path_buf())
                    .unwrap_or_default(),
                None => Path::new(&pw.3).join(".ssh"),
            };
            if params.bool("manage_dir") {
                if !sshdir.exists() {
                    std::fs::create_dir(&sshdir).map_err(|e| {
                        Failure::new(format!(
                            "Failed to create directory {} : {e}",
                            sshdir.display()
                        ))
                    })?;
                }
                let _ = std::os::unix::fs::chown(&sshdir, Some(pw.1), Some(pw.2));
                let _ = std::fs::set_permissions(&sshdir, std::fs::Permissions::from_mode(0o700));
            }
            if let Some(base) = Path::new(&keysfile).parent() {
                if !base.exists() {
                    std::fs::create_dir_all(base).map_err(|e| Failure::new(e.to_string()))?;
                }
            }
            atomic_write(Path::new(&keysfile), content.as_bytes())
                .map_err(|e| Failure::new(format!("Failed to write to file {keysfile}: {e}")))?;
            let _ = std::os::unix::fs::chown(&keysfile, Some(pw.1), Some(pw.2));
            let _ = std::fs::set_permissions(&keysfile, std::fs::Permissions::from_mode(0o600));
        }
        r.insert("changed".into(), json!(true));
    } else {
        r.insert("changed".into(), json!(false));
    }
    crate::util::add_path_info_result(&mut r);
    Ok(r)
}

pub fn run(args: &Args, ctx: &ModuleContext, module: &str) -> ModuleResult {
    let params = match spec().validate(module, args) {
        Ok(p) => p,
        Err(e) => return Failure::new(e).into_result(),
    };
    match inner(&params, ctx) {
        Ok(r) => r,
        Err(f) => f.into_result(),
    }
}

//! Connection settings for one host, built the way Ansible's ssh connection plugin and
//! OpenSSH would resolve them: inventory variables first, then the run-wide defaults
//! (ansible.cfg / CLI), then `-o Key=Value` in ansible_ssh_common_args/extra_args, then
//! `~/.ssh/config`.

use super::ssh::ConnError;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Run-wide defaults (ansible.cfg, ANSIBLE_* environment, CLI flags). `None` means unset.
#[derive(Clone, Debug, Default)]
pub struct RunDefaults {
    /// `remote_user` / `-u`.
    pub remote_user: Option<String>,
    /// `private_key_file` / `--private-key`.
    pub private_key_file: Option<PathBuf>,
    /// `host_key_checking` / ANSIBLE_HOST_KEY_CHECKING (Ansible's default is true).
    pub host_key_checking: Option<bool>,
    /// `timeout` / `-T` in seconds (default 10).
    pub timeout: Option<u64>,
    /// `remote_tmp` (default `~/.ansible/tmp`).
    pub remote_tmp: Option<String>,
    /// `ssh_common_args` / `--ssh-common-args`.
    pub ssh_common_args: Option<String>,
    /// `ssh_extra_args` / `--ssh-extra-args`.
    pub ssh_extra_args: Option<String>,
    /// The OpenSSH client config to read; `None` means `~/.ssh/config`.
    pub ssh_config: Option<PathBuf>,
    /// The local file uploaded and run as the agent; `None` means this executable.
    pub agent_binary: Option<PathBuf>,
    /// The ssh-agent socket; `None` means `$SSH_AUTH_SOCK`.
    pub ssh_auth_sock: Option<PathBuf>,
}

/// Everything needed to open one SSH session to one host.
#[derive(Clone, Debug)]
pub struct ConnParams {
    /// The inventory name, used in messages.
    pub inventory_name: String,
    /// The address or name actually dialled (after ansible_host and HostName).
    pub host: String,
    pub port: u16,
    pub user: String,
    /// Private keys to try, in order (explicit ones first, then ~/.ssh/config, then defaults).
    pub identity_files: Vec<PathBuf>,
    /// Whether the identity files were given explicitly (a missing explicit file is reported).
    pub explicit_identities: usize,
    pub password: Option<String>,
    /// false when host key checking is off (StrictHostKeyChecking=no).
    pub host_key_checking: bool,
    /// StrictHostKeyChecking=accept-new: unknown keys are learned, changed keys refused.
    pub accept_new_host_keys: bool,
    pub known_hosts_files: Vec<PathBuf>,
    pub connect_timeout: Duration,
    pub remote_tmp: String,
    /// `user@host:port` of a jump host (ProxyJump), resolved again through ~/.ssh/config.
    pub proxy_jump: Option<String>,
    pub agent_binary: Option<PathBuf>,
    pub ssh_auth_sock: Option<PathBuf>,
    /// The ssh config file used, so a jump host resolves through the same one.
    pub ssh_config: Option<PathBuf>,
}

/// How to start the agent under another user (`become`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BecomeParams {
    /// `sudo` or `su` (others are refused with a clear message).
    pub method: String,
    pub user: String,
    pub password: Option<String>,
    /// `become_flags`, split on whitespace (default `-H -S -n`).
    pub flags: Option<String>,
    /// `become_exe` (default: the method name).
    pub exe: Option<String>,
}

impl std::fmt::Debug for BecomeParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The password never reaches a log or a panic message.
        f.debug_struct("BecomeParams")
            .field("method", &self.method)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "********"))
            .field("flags", &self.flags)
            .field("exe", &self.exe)
            .finish()
    }
}

/// Ansible's truthiness of a variable's value (`yes`, `on`, `1`, true...).
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().map(|f| f != 0.0).unwrap_or(false),
        Value::String(s) => parse_bool(s).unwrap_or(false),
        _ => false,
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" | "t" | "on" | "1" => Some(true),
        "no" | "n" | "false" | "f" | "off" | "0" => Some(false),
        _ => None,
    }
}

fn str_var(vars: &Map<String, Value>, names: &[&str]) -> Option<String> {
    for n in names {
        match vars.get(*n) {
            Some(Value::String(s)) => return Some(s.clone()),
            Some(Value::Number(x)) => return Some(x.to_string()),
            Some(Value::Bool(b)) => return Some(b.to_string()),
            _ => {}
        }
    }
    None
}

/// The home directory of the controller user.
pub fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// Expand a leading `~/` against the controller user's home.
pub fn expand_tilde(p: &str) -> PathBuf {
    if p == "~" {
        home_dir()
    } else if let Some(rest) = p.strip_prefix("~/") {
        home_dir().join(rest)
    } else {
        PathBuf::from(p)
    }
}

fn local_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| {
            // SAFETY: getuid cannot fail; getpwuid returns a static record or NULL.
            unsafe {
                let pw = libc::getpwuid(libc::getuid());
                if pw.is_null() {
                    "root".into()
                } else {
                    std::ffi::CStr::from_ptr((*pw).pw_name)
                        .to_string_lossy()
                        .into_owned()
                }
            }
        })
}

/// The `-o Key=Value` (or `-o Key Value`, `-oKey=Value`) options in an ssh argument string,
/// plus `-p PORT`, `-l USER`, `-i FILE`, `-F FILE` and `-J JUMP`, as lowercase key / value.
pub fn parse_ssh_args(args: &str) -> Vec<(String, String)> {
    let words = shell_words(args);
    let mut out = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        let (flag, inline) = if w.len() > 2 && w.starts_with('-') && !w.starts_with("--") {
            (&w[..2], Some(w[2..].to_string()))
        } else {
            (w.as_str(), None)
        };
        let takes = matches!(flag, "-o" | "-p" | "-l" | "-i" | "-F" | "-J");
        if !takes {
            i += 1;
            continue;
        }
        let val = match inline {
            Some(v) => v,
            None => {
                i += 1;
                match words.get(i) {
                    Some(v) => v.clone(),
                    None => break,
                }
            }
        };
        i += 1;
        match flag {
            "-o" => {
                let (k, v) = match val.find(['=', ' ']) {
                    Some(pos) => (&val[..pos], val[pos + 1..].trim()),
                    None => (val.as_str(), ""),
                };
                out.push((k.trim().to_ascii_lowercase(), v.to_string()));
            }
            "-p" => out.push(("port".into(), val)),
            "-l" => out.push(("user".into(), val)),
            "-i" => out.push(("identityfile".into(), val)),
            "-F" => out.push(("__configfile".into(), val)),
            "-J" => out.push(("proxyjump".into(), val)),
            _ => {}
        }
    }
    out
}

/// Split a string the way a POSIX shell splits words (quotes and backslashes).
fn shell_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut have = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                have = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    cur.push(c);
                }
            }
            '"' => {
                have = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => {
                            if let Some(n) = chars.next() {
                                cur.push(n)
                            }
                        }
                        _ => cur.push(c),
                    }
                }
            }
            '\\' => {
                have = true;
                if let Some(n) = chars.next() {
                    cur.push(n)
                }
            }
            c if c.is_whitespace() => {
                if have {
                    out.push(std::mem::take(&mut cur));
                    have = false;
                }
            }
            c => {
                have = true;
                cur.push(c)
            }
        }
    }
    if have {
        out.push(cur);
    }
    out
}

/// The settings `~/.ssh/config` gives one host: the first value obtained for each keyword
/// wins, as in OpenSSH; IdentityFile and UserKnownHostsFile accumulate.
#[derive(Clone, Debug, Default)]
pub struct SshConfigEntry {
    pub hostname: Option<String>,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity_files: Vec<String>,
    pub known_hosts_files: Vec<String>,
    pub strict_host_key_checking: Option<String>,
    pub proxy_jump: Option<String>,
    pub connect_timeout: Option<u64>,
}

/// `*` and `?` wildcard matching as in ssh_config patterns.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    fn rec(p: &[u8], t: &[u8]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some(b'*') => (0..=t.len()).any(|i| rec(&p[1..], &t[i..])),
            Some(b'?') => !t.is_empty() && rec(&p[1..], &t[1..]),
            Some(c) => {
                t.first().is_some_and(|x| x.eq_ignore_ascii_case(c)) && rec(&p[1..], &t[1..])
            }
        }
    }
    rec(pattern.as_bytes(), text.as_bytes())
}

/// Whether a comma/space separated pattern list (with `!negation`) matches `host`.
pub fn pattern_list_match(patterns: &[&str], host: &str) -> bool {
    let mut matched = false;
    for p in patterns.iter().flat_map(|p| p.split(',')) {
        if p.is_empty() {
            continue;
        }
        if let Some(neg) = p.strip_prefix('!') {
            if wildcard_match(neg, host) {
                return false;
            }
        } else if wildcard_match(p, host) {
            matched = true;
        }
    }
    matched
}

/// Read the entries of an ssh config file (and its `Include`s) that apply to `host`.
pub fn ssh_config_for(path: &Path, host: &str) -> SshConfigEntry {
    let mut e = SshConfigEntry::default();
    read_ssh_config(path, host, &mut e, 0);
    e
}

fn read_ssh_config(path: &Path, host: &str, e: &mut SshConfigEntry, depth: u32) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    let mut active = true;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, rest) = match line.find(|c: char| c.is_whitespace() || c == '=') {
            Some(pos) => (
                &line[..pos],
                line[pos..].trim_start_matches(|c: char| c.is_whitespace() || c == '='),
            ),
            None => (line, ""),
        };
        let key = key.to_ascii_lowercase();
        let words = shell_words(rest);
        match key.as_str() {
            "host" => {
                let ps: Vec<&str> = words.iter().map(|s| s.as_str()).collect();
                active = pattern_list_match(&ps, host);
                continue;
            }
            "match" => {
                // Only `Match all` is understood; other criteria never match.
                active = words
                    .first()
                    .map(|w| w.eq_ignore_ascii_case("all"))
                    .unwrap_or(false);
                continue;
            }
            _ => {}
        }
        if !active {
            continue;
        }
        let first = words.first().cloned();
        match key.as_str() {
            "include" if depth < 8 => {
                for w in &words {
                    let p = expand_tilde(w);
                    let p = if p.is_relative() {
                        home_dir().join(".ssh").join(p)
                    } else {
                        p
                    };
                    let pat = p.to_string_lossy().into_owned();
                    if let Ok(paths) = glob::glob(&pat) {
                        for p in paths.flatten() {
                            read_ssh_config(&p, host, e, depth + 1);
                        }
                    }
                }
            }
            "hostname" if e.hostname.is_none() => {
                e.hostname = first.map(|h| h.replace("%h", host));
            }
            "user" if e.user.is_none() => {
                e.user = first;
            }
            "port" if e.port.is_none() => {
                e.port = first.and_then(|p| p.parse().ok());
            }
            "identityfile" => e.identity_files.extend(first),
            "userknownhostsfile" if e.known_hosts_files.is_empty() => {
                e.known_hosts_files = words.clone();
            }
            "stricthostkeychecking" if e.strict_host_key_checking.is_none() => {
                e.strict_host_key_checking = first;
            }
            "proxyjump" if e.proxy_jump.is_none() => {
                e.proxy_jump = first;
            }
            "connecttimeout" if e.connect_timeout.is_none() => {
                e.connect_timeout = first.and_then(|p| p.parse().ok());
            }
            _ => {}
        }
    }
}

/// `[user@]host[:port]` of a ProxyJump entry (the first hop of a comma list).
pub fn parse_jump(spec: &str) -> (Option<String>, String, Option<u16>) {
    let first = spec.split(',').next().unwrap_or("").trim();
    let first = first.strip_prefix("ssh://").unwrap_or(first);
    let (user, hostport) = match first.rfind('@') {
        Some(p) => (Some(first[..p].to_string()), &first[p + 1..]),
        None => (None, first),
    };
    if let Some(rest) = hostport.strip_prefix('[') {
        if let Some(end) = rest.find(']') {
            let port = rest[end + 1..]
                .strip_prefix(':')
                .and_then(|p| p.parse().ok());
            return (user, rest[..end].to_string(), port);
        }
    }
    match hostport.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (user, h.to_string(), p.parse().ok()),
        _ => (user, hostport.to_string(), None),
    }
}

fn strict_value(v: &str) -> (bool, bool) {
    // (checking on, accept new)
    match v.trim().to_ascii_lowercase().as_str() {
        "no" | "off" | "false" => (false, false),
        "accept-new" => (true, true),
        _ => (true, false),
    }
}

impl ConnParams {
    /// Resolve one host's connection settings from its variables and the run defaults.
    pub fn from_vars(
        inventory_name: &str,
        vars: &Map<String, Value>,
        d: &RunDefaults,
    ) -> Result<ConnParams, ConnError> {
        let mut opts: Vec<(String, String)> = Vec::new();
        for v in [
            str_var(vars, &["ansible_ssh_common_args"]).or_else(|| d.ssh_common_args.clone()),
            str_var(vars, &["ansible_ssh_extra_args"]).or_else(|| d.ssh_extra_args.clone()),
            str_var(vars, &["ansible_ssh_args"]),
        ]
        .into_iter()
        .flatten()
        {
            opts.extend(parse_ssh_args(&v));
        }
        let opt = |k: &str| {
            opts.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };

        let target = str_var(vars, &["ansible_host", "ansible_ssh_host"])
            .unwrap_or_else(|| inventory_name.to_string());
        let config_path = opt("__configfile")
            .map(|p| expand_tilde(&p))
            .or_else(|| d.ssh_config.clone())
            .unwrap_or_else(|| home_dir().join(".ssh").join("config"));
        let cfg = ssh_config_for(&config_path, &target);

        let host = opt("hostname")
            .or(cfg.hostname.clone())
            .unwrap_or_else(|| target.clone());
        let port = match str_var(vars, &["ansible_port", "ansible_ssh_port"]) {
            Some(p) => Some(port_number(&p)?),
            None => None,
        }
        .or_else(|| opt("port").and_then(|p| p.parse().ok()))
        .or(cfg.port)
        .unwrap_or(22);
        let user = str_var(vars, &["ansible_user", "ansible_ssh_user"])
            .or_else(|| d.remote_user.clone())
            .or_else(|| opt("user"))
            .or(cfg.user.clone())
            .unwrap_or_else(local_user);

        let mut identity_files: Vec<PathBuf> = Vec::new();
        if let Some(k) = str_var(
            vars,
            &["ansible_ssh_private_key_file", "ansible_private_key_file"],
        ) {
            identity_files.push(expand_tilde(&k));
        } else if let Some(k) = &d.private_key_file {
            identity_files.push(expand_tilde(&k.to_string_lossy()));
        }
        for (k, v) in &opts {
            if k == "identityfile" {
                identity_files.push(expand_tilde(v));
            }
        }
        let explicit_identities = identity_files.len();
        for f in &cfg.identity_files {
            let f = f
                .replace("%d", &home_dir().to_string_lossy())
                .replace("%u", &local_user())
                .replace("%h", &host)
                .replace("%r", &user);
            identity_files.push(expand_tilde(&f));
        }
        if cfg.identity_files.is_empty() {
            for n in ["id_rsa", "id_ecdsa", "id_ed25519"] {
                identity_files.push(home_dir().join(".ssh").join(n));
            }
        }
        let mut seen = std::collections::HashSet::new();
        identity_files.retain(|p| seen.insert(p.clone()));

        let password = str_var(
            vars,
            &[
                "ansible_password",
                "ansible_ssh_pass",
                "ansible_ssh_password",
            ],
        );

        // host_key_checking = False makes Ansible pass StrictHostKeyChecking=no; otherwise
        // OpenSSH's own settings (-o, then ssh config) decide, defaulting to on.
        let ansible_hkc = vars
            .get("ansible_host_key_checking")
            .or_else(|| vars.get("ansible_ssh_host_key_checking"))
            .map(truthy)
            .or(d.host_key_checking);
        let (host_key_checking, accept_new_host_keys) = if ansible_hkc == Some(false) {
            (false, false)
        } else if let Some(v) = opt("stricthostkeychecking") {
            strict_value(&v)
        } else if let Some(v) = &cfg.strict_host_key_checking {
            strict_value(v)
        } else {
            (true, false)
        };

        let known_hosts_files: Vec<PathBuf> = if let Some(v) = opt("userknownhostsfile") {
            shell_words(&v).iter().map(|p| expand_tilde(p)).collect()
        } else if !cfg.known_hosts_files.is_empty() {
            cfg.known_hosts_files
                .iter()
                .map(|p| expand_tilde(p))
                .collect()
        } else {
            vec![
                home_dir().join(".ssh").join("known_hosts"),
                home_dir().join(".ssh").join("known_hosts2"),
            ]
        };

        let timeout = str_var(vars, &["ansible_timeout", "ansible_ssh_timeout"])
            .and_then(|t| t.parse::<u64>().ok())
            .or_else(|| opt("connecttimeout").and_then(|t| t.parse().ok()))
            .or(d.timeout)
            .or(cfg.connect_timeout)
            .unwrap_or(10);

        let proxy_jump = opt("proxyjump")
            .or(cfg.proxy_jump.clone())
            .filter(|j| !j.eq_ignore_ascii_case("none"));

        let remote_tmp = str_var(vars, &["ansible_remote_tmp"])
            .or_else(|| d.remote_tmp.clone())
            .unwrap_or_else(|| "~/.ansible/tmp".into());

        Ok(ConnParams {
            inventory_name: inventory_name.to_string(),
            host,
            port,
            user,
            identity_files,
            explicit_identities,
            password,
            host_key_checking,
            accept_new_host_keys,
            known_hosts_files,
            connect_timeout: Duration::from_secs(timeout.max(1)),
            remote_tmp,
            proxy_jump,
            agent_binary: d.agent_binary.clone(),
            ssh_auth_sock: d
                .ssh_auth_sock
                .clone()
                .or_else(|| std::env::var_os("SSH_AUTH_SOCK").map(PathBuf::from)),
            ssh_config: Some(config_path),
        })
    }

    /// The settings for the jump host named in `proxy_jump`, resolved through the same
    /// ssh config, with this host's checking and timeout.
    pub fn jump_params(&self) -> Option<Result<ConnParams, ConnError>> {
        let spec = self.proxy_jump.as_ref()?;
        let (user, host, port) = parse_jump(spec);
        let mut vars = Map::new();
        vars.insert("ansible_host".into(), Value::String(host.clone()));
        if let Some(u) = user {
            vars.insert("ansible_user".into(), Value::String(u));
        }
        if let Some(p) = port {
            vars.insert("ansible_port".into(), Value::from(p));
        }
        let d = RunDefaults {
            host_key_checking: Some(self.host_key_checking),
            timeout: Some(self.connect_timeout.as_secs()),
            ssh_config: self.ssh_config.clone(),
            ssh_auth_sock: self.ssh_auth_sock.clone(),
            ..Default::default()
        };
        let mut p = match ConnParams::from_vars(&host, &vars, &d) {
            Ok(p) => p,
            Err(e) => return Some(Err(e)),
        };
        // A jump host listed again as its own jump would loop forever.
        if p.proxy_jump.as_deref() == Some(spec.as_str()) {
            p.proxy_jump = None;
        }
        if self.host_key_checking {
            p.known_hosts_files = self.known_hosts_files.clone();
        }
        // Unlike OpenSSH, the target's keys are also offered to the jump host (after its
        // own), so `--private-key` alone reaches hosts behind a bastion.
        for k in &self.identity_files {
            if !p.identity_files.contains(k) {
                p.identity_files.push(k.clone());
            }
        }
        Some(Ok(p))
    }
}

/// An `ansible_port` or `port` keyword as an integer, as Ansible converts it for every
/// task (whatever the connection); the error is the task's failure.
pub fn port_int(text: &str) -> Result<i64, String> {
    text.trim().parse().map_err(|_| {
        format!(
            "Error processing keyword 'port': The value '{text}' could not be converted to 'int'."
        )
    })
}

/// The TCP port to dial: an integer no port can have is refused the way OpenSSH refuses
/// it, and the host is unreachable.
fn port_number(text: &str) -> Result<u16, ConnError> {
    let n = port_int(text).map_err(ConnError::failed)?;
    match u16::try_from(n) {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(ConnError::ssh(format!(
            "command-line line 0: Bad port '{n}'."
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_args_and_config() {
        let o = parse_ssh_args("-o ProxyJump=bastion -oStrictHostKeyChecking=no -o 'UserKnownHostsFile /tmp/kh' -p 2200");
        assert_eq!(o[0], ("proxyjump".into(), "bastion".into()));
        assert_eq!(o[1], ("stricthostkeychecking".into(), "no".into()));
        assert_eq!(o[2], ("userknownhostsfile".into(), "/tmp/kh".into()));
        assert_eq!(o[3], ("port".into(), "2200".into()));

        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config");
        std::fs::write(
            &cfg,
            "Host web-*  !web-9\n  HostName %h.example\n  Port 2022\n  User deploy\n  IdentityFile ~/.ssh/deploy\nHost *\n  Port 22\n  User other\n  StrictHostKeyChecking accept-new\n",
        )
        .unwrap();
        let d = RunDefaults {
            ssh_config: Some(cfg.clone()),
            ..Default::default()
        };
        let p = ConnParams::from_vars("web-1", &Map::new(), &d).unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.user.as_str()),
            ("web-1.example", 2022, "deploy")
        );
        assert_eq!(p.identity_files, vec![home_dir().join(".ssh/deploy")]);
        assert!(p.host_key_checking && p.accept_new_host_keys);
        let p = ConnParams::from_vars("web-9", &Map::new(), &d).unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.user.as_str()),
            ("web-9", 22, "other")
        );

        let mut vars = Map::new();
        vars.insert("ansible_host".into(), "10.1.1.1".into());
        vars.insert("ansible_port".into(), 2201.into());
        vars.insert("ansible_user".into(), "u".into());
        vars.insert("ansible_host_key_checking".into(), false.into());
        vars.insert(
            "ansible_ssh_common_args".into(),
            "-o ProxyJump=j@jump:2000".into(),
        );
        let p = ConnParams::from_vars("web-1", &vars, &d).unwrap();
        assert_eq!(
            (p.host.as_str(), p.port, p.user.as_str()),
            ("10.1.1.1", 2201, "u")
        );
        assert!(!p.host_key_checking);
        let j = p.jump_params().unwrap().unwrap();
        assert_eq!(
            (j.host.as_str(), j.port, j.user.as_str()),
            ("jump", 2000, "j")
        );
    }

    #[test]
    fn ports() {
        assert_eq!(port_number(" 2222 ").unwrap(), 2222);
        let not_int = port_number("abc").unwrap_err();
        assert!(!not_int.is_unreachable());
        assert!(not_int
            .msg
            .contains("'abc' could not be converted to 'int'"));
        for bad in ["70000", "0", "-5"] {
            let e = port_number(bad).unwrap_err();
            assert!(e.is_unreachable(), "{bad}");
            assert!(e.msg.ends_with(&format!("Bad port '{bad}'.")), "{}", e.msg);
        }
    }

    #[test]
    fn jump_specs() {
        assert_eq!(
            parse_jump("a@b:22"),
            (Some("a".into()), "b".into(), Some(22))
        );
        assert_eq!(parse_jump("b"), (None, "b".into(), None));
        assert_eq!(parse_jump("[::1]:2222,c"), (None, "::1".into(), Some(2222)));
    }
}

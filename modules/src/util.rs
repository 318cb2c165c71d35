//! Helpers shared by modules: failures, users and groups, modes, file attributes,
//! atomic writes, backups, checksums, local time and shell-style word splitting.

use serde_json::{json, Map, Value};
use std::ffi::{CStr, CString};
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A failed module result under construction (`failed: true`, `msg`, extra keys).
#[derive(Debug, Clone)]
pub struct Failure(pub Map<String, Value>);

impl Failure {
    pub fn new(msg: impl Into<String>) -> Failure {
        let mut m = Map::new();
        m.insert("failed".into(), Value::Bool(true));
        m.insert("msg".into(), Value::String(msg.into()));
        Failure(m)
    }
    pub fn with(mut self, k: &str, v: impl Into<Value>) -> Failure {
        self.0.insert(k.into(), v.into());
        self
    }
    pub fn into_result(mut self) -> Map<String, Value> {
        self.0.entry("changed").or_insert(Value::Bool(false));
        self.0
    }
}

pub type MResult<T> = Result<T, Failure>;

fn buf_size() -> usize {
    16384
}

/// Name of the user with this uid.
pub fn user_name(uid: u32) -> Option<String> {
    passwd_by_uid(uid).map(|p| p.0)
}

/// Home directory of the user with this uid.
pub fn user_home_by_uid(uid: u32) -> Option<String> {
    passwd_by_uid(uid).map(|p| p.3)
}

/// Home directory of the named user.
pub fn user_home_by_name(name: &str) -> Option<String> {
    passwd_by_name(name).map(|p| p.3)
}

/// (name, uid, gid, home, shell, gecos)
pub type Passwd = (String, u32, u32, String, String, String);

fn passwd_conv(pw: &libc::passwd) -> Passwd {
    let s = |p: *const libc::c_char| {
        if p.is_null() {
            String::new()
        } else {
            unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
        }
    };
    (
        s(pw.pw_name),
        pw.pw_uid,
        pw.pw_gid,
        s(pw.pw_dir),
        s(pw.pw_shell),
        s(pw.pw_gecos),
    )
}

pub fn passwd_by_uid(uid: u32) -> Option<Passwd> {
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; buf_size()];
    let mut res: *mut libc::passwd = std::ptr::null_mut();
    let rc = unsafe { libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr(), buf.len(), &mut res) };
    if rc != 0 || res.is_null() {
        return None;
    }
    Some(passwd_conv(&pw))
}

pub fn passwd_by_name(name: &str) -> Option<Passwd> {
    let c = CString::new(name).ok()?;
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; buf_size()];
    let mut res: *mut libc::passwd = std::ptr::null_mut();
    let rc =
        unsafe { libc::getpwnam_r(c.as_ptr(), &mut pw, buf.as_mut_ptr(), buf.len(), &mut res) };
    if rc != 0 || res.is_null() {
        return None;
    }
    Some(passwd_conv(&pw))
}

/// Name of the group with this gid.
pub fn group_name(gid: u32) -> Option<String> {
    let mut gr: libc::group = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; buf_size()];
    let mut res: *mut libc::group = std::ptr::null_mut();
    let rc = unsafe { libc::getgrgid_r(gid, &mut gr, buf.as_mut_ptr(), buf.len(), &mut res) };
    if rc != 0 || res.is_null() {
        return None;
    }
    Some(
        unsafe { CStr::from_ptr(gr.gr_name) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// Gid of the named group.
pub fn group_gid(name: &str) -> Option<u32> {
    let c = CString::new(name).ok()?;
    let mut gr: libc::group = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; buf_size()];
    let mut res: *mut libc::group = std::ptr::null_mut();
    let rc =
        unsafe { libc::getgrnam_r(c.as_ptr(), &mut gr, buf.as_mut_ptr(), buf.len(), &mut res) };
    if rc != 0 || res.is_null() {
        return None;
    }
    Some(gr.gr_gid)
}

/// Resolve an `owner` value (name or numeric id) as Ansible does.
pub fn resolve_uid(owner: &str) -> Option<u32> {
    match owner.parse::<u32>() {
        Ok(n) => Some(n),
        Err(_) => passwd_by_name(owner).map(|p| p.1),
    }
}

/// Resolve a `group` value (name or numeric id) as Ansible does.
pub fn resolve_gid(group: &str) -> Option<u32> {
    match group.parse::<u32>() {
        Ok(n) => Some(n),
        Err(_) => group_gid(group),
    }
}

/// The process umask.
pub fn umask() -> u32 {
    unsafe {
        let m = libc::umask(0o022);
        libc::umask(m);
        m as u32
    }
}

/// `'0%03o' % mode` as Ansible prints modes.
pub fn mode_str(mode: u32) -> String {
    format!("0{:03o}", mode & 0o7777)
}

/// Turn a `mode` argument (int, octal string or symbolic string) into permission bits,
/// given the current st_mode of the path (for symbolic modes).
/// Errors carry Ansible's `details` text.
pub fn parse_mode(v: &Value, cur_st_mode: u32) -> Result<u32, (String, String)> {
    let mode: i64 = match v {
        Value::Number(n) => n.as_i64().unwrap_or(-1),
        Value::String(s) => match i64::from_str_radix(s.strip_prefix("0o").unwrap_or(s), 8) {
            Ok(n) if !s.is_empty() && !s.starts_with('+') && !s.starts_with('-') => n,
            _ => match symbolic_mode(cur_st_mode, s) {
                Ok(m) => m as i64,
                Err(e) => return Err(("mode must be in octal or symbolic form".into(), e)),
            },
        },
        other => {
            return Err((
                "mode must be in octal or symbolic form".into(),
                format!(
                    "bad symbolic permission for mode: {}",
                    crate::args::py_str(other)
                ),
            ))
        }
    };
    if !(0..=0o7777).contains(&mode) {
        return Err((
            "Invalid mode supplied, only permission info is allowed".into(),
            mode.to_string(),
        ));
    }
    Ok(mode as u32)
}

/// Ansible's `_symbolic_mode_to_octal`.
pub fn symbolic_mode(st_mode: u32, symbolic: &str) -> Result<u32, String> {
    let is_dir = st_mode & libc::S_IFMT == libc::S_IFDIR;
    let mut new_mode = st_mode & 0o7777;
    for part in symbolic.split(',') {
        let bad = || format!("bad symbolic permission for mode: {part}");
        let pieces: Vec<&str> = part.split(['+', '=', '-']).collect();
        let opers: Vec<char> = part
            .chars()
            .filter(|c| matches!(c, '+' | '=' | '-'))
            .collect();
        let mut users = pieces[0].to_string();
        let use_umask = users.is_empty();
        if users == "a" || users.is_empty() {
            users = "ugo".into();
        }
        if !users.chars().all(|c| matches!(c, 'u' | 'g' | 'o')) || users.is_empty() {
            return Err(bad());
        }
        for (idx, perms) in pieces[1..].iter().enumerate() {
            if !perms.chars().all(|c| "rwxXstugo".contains(c)) {
                return Err(bad());
            }
            for user in users.chars() {
                let apply = perms_for(user, perms, new_mode, is_dir, use_umask);
                new_mode = match opers[idx] {
                    '=' => {
                        let mask = match user {
                            'u' => 0o4700,
                            'g' => 0o2070,
                            _ => 0o1007,
                        };
                        (new_mode & (mask ^ 0o7777)) | apply
                    }
                    '+' => new_mode | apply,
                    _ => new_mode - (new_mode & apply),
                };
            }
        }
    }
    Ok(new_mode)
}

fn perms_for(user: char, perms: &str, prev: u32, is_dir: bool, use_umask: bool) -> u32 {
    let rev_umask = umask() ^ 0o7777;
    let x_ok = is_dir || prev & 0o111 > 0;
    let um = |bit: u32| if use_umask { rev_umask & bit } else { bit };
    let mut m = 0;
    for p in perms.chars() {
        m |= match (user, p) {
            ('u', 'r') => um(0o400),
            ('u', 'w') => um(0o200),
            ('u', 'x') => um(0o100),
            ('u', 's') => 0o4000,
            ('u', 'u') => prev & 0o700,
            ('u', 'g') => (prev & 0o070) << 3,
            ('u', 'o') => (prev & 0o007) << 6,
            ('u', 'X') => u32::from(x_ok) * 0o100,
            ('g', 'r') => um(0o040),
            ('g', 'w') => um(0o020),
            ('g', 'x') => um(0o010),
            ('g', 's') => 0o2000,
            ('g', 'u') => (prev & 0o700) >> 3,
            ('g', 'g') => prev & 0o070,
            ('g', 'o') => (prev & 0o007) << 3,
            ('g', 'X') => u32::from(x_ok) * 0o010,
            ('o', 'r') => um(0o004),
            ('o', 'w') => um(0o002),
            ('o', 'x') => um(0o001),
            ('o', 't') => 0o1000,
            ('o', 'u') => (prev & 0o700) >> 6,
            ('o', 'g') => (prev & 0o070) >> 3,
            ('o', 'o') => prev & 0o007,
            ('o', 'X') => u32::from(x_ok),
            _ => 0,
        };
    }
    m
}

/// The `owner`/`group`/`mode` part of a file module's arguments.
#[derive(Clone, Debug, Default)]
pub struct FileAttrs {
    pub mode: Option<Value>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

impl FileAttrs {
    pub fn from_params(p: &crate::args::Params) -> FileAttrs {
        FileAttrs {
            mode: p.get("mode").cloned(),
            owner: p.string("owner"),
            group: p.string("group"),
        }
    }
}

/// Diff accumulator with `before` and `after` maps.
#[derive(Clone, Debug, Default)]
pub struct AttrDiff {
    pub before: Map<String, Value>,
    pub after: Map<String, Value>,
}

/// Ansible's `set_fs_attributes_if_different`: owner, group, then mode. Returns whether
/// anything changed (or would change, in check mode).
pub fn apply_attrs(
    path: &Path,
    fa: &FileAttrs,
    follow: bool,
    check: bool,
    diff: Option<&mut AttrDiff>,
    pstr: &str,
) -> MResult<bool> {
    let mut changed = false;
    let mut scratch = AttrDiff::default();
    let diff = diff.unwrap_or(&mut scratch);
    let meta = |p: &Path| {
        if follow {
            fs::metadata(p)
        } else {
            fs::symlink_metadata(p)
        }
    };
    let md = match meta(path) {
        Ok(m) => m,
        Err(_) if check => {
            return Ok(fa.mode.is_some() || fa.owner.is_some() || fa.group.is_some())
        }
        Err(e) => return Err(Failure::new(format!("{}: {}", pstr, e))),
    };
    let cpath =
        CString::new(path.as_os_str().as_encoded_bytes()).map_err(|_| Failure::new("bad path"))?;
    if let Some(owner) = &fa.owner {
        let uid = resolve_uid(owner).ok_or_else(|| {
            Failure::new(format!("chown failed: failed to look up user {owner}")).with("path", pstr)
        })?;
        if md.uid() != uid {
            diff.before.insert("owner".into(), json!(md.uid()));
            diff.after.insert("owner".into(), json!(uid));
            changed = true;
            if !check {
                let rc = unsafe {
                    if follow {
                        libc::chown(cpath.as_ptr(), uid, u32::MAX)
                    } else {
                        libc::lchown(cpath.as_ptr(), uid, u32::MAX)
                    }
                };
                if rc != 0 {
                    return Err(Failure::new("chown failed")
                        .with("path", pstr)
                        .with("details", std::io::Error::last_os_error().to_string()));
                }
            }
        }
    }
    if let Some(group) = &fa.group {
        let gid = resolve_gid(group).ok_or_else(|| {
            Failure::new(format!("chgrp failed: failed to look up group {group}"))
                .with("path", pstr)
        })?;
        if md.gid() != gid {
            diff.before.insert("group".into(), json!(md.gid()));
            diff.after.insert("group".into(), json!(gid));
            changed = true;
            if !check {
                let rc = unsafe {
                    if follow {
                        libc::chown(cpath.as_ptr(), u32::MAX, gid)
                    } else {
                        libc::lchown(cpath.as_ptr(), u32::MAX, gid)
                    }
                };
                if rc != 0 {
                    return Err(Failure::new("chgrp failed")
                        .with("path", pstr)
                        .with("details", std::io::Error::last_os_error().to_string()));
                }
            }
        }
    }
    if let Some(mv) = &fa.mode {
        let md = meta(path).unwrap_or(md);
        let mode = parse_mode(mv, md.mode()).map_err(|(msg, details)| {
            Failure::new(msg)
                .with("path", pstr)
                .with("details", details)
        })?;
        let prev = md.mode() & 0o7777;
        let is_link = md.file_type().is_symlink();
        if prev != mode && !is_link {
            diff.before.insert("mode".into(), json!(mode_str(prev)));
            diff.after.insert("mode".into(), json!(mode_str(mode)));
            changed = true;
            if !check {
                fs::set_permissions(path, fs::Permissions::from_mode(mode))
                    .map_err(|e| Failure::new(format!("chmod failed: {e}")).with("path", pstr))?;
            }
        }
    }
    Ok(changed)
}

/// Ansible's `add_path_info`: uid, gid, owner, group, mode, state, size of an existing path.
pub fn add_path_info(r: &mut Map<String, Value>, path: &Path) {
    if fs::metadata(path).is_err() {
        return;
    }
    let Ok(lmd) = fs::symlink_metadata(path) else {
        return;
    };
    r.insert("uid".into(), json!(lmd.uid()));
    r.insert("gid".into(), json!(lmd.gid()));
    r.insert(
        "owner".into(),
        json!(user_name(lmd.uid()).unwrap_or_else(|| lmd.uid().to_string())),
    );
    r.insert(
        "group".into(),
        json!(group_name(lmd.gid()).unwrap_or_else(|| lmd.gid().to_string())),
    );
    r.insert("mode".into(), json!(mode_str(lmd.mode())));
    let state = if lmd.file_type().is_symlink() {
        "link"
    } else if lmd.is_dir() {
        "directory"
    } else if lmd.nlink() > 1 {
        "hard"
    } else {
        "file"
    };
    r.insert("state".into(), json!(state));
    r.insert("size".into(), json!(lmd.size()));
}

fn rand_suffix() -> String {
    let mut b = [0u8; 8];
    if let Ok(mut f) = fs::File::open("/dev/urandom") {
        let _ = f.read_exact(&mut b);
    }
    hex::encode(b)
}

/// Write `data` to `dest` atomically: a temporary file in the destination directory,
/// fsync, then rename. A replaced file keeps its mode, owner and group; a new file gets
/// 0666 & ~umask, as Ansible's `atomic_move`.
pub fn atomic_write(dest: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let base = dest
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".ansible_tmp{}{}", rand_suffix(), base));
    let res = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        match fs::metadata(dest) {
            Ok(md) => {
                f.set_permissions(fs::Permissions::from_mode(md.mode() & 0o7777))?;
                let _ = std::os::unix::fs::fchown(&f, Some(md.uid()), Some(md.gid()));
            }
            Err(_) => {
                f.set_permissions(fs::Permissions::from_mode(0o666 & !umask()))?;
            }
        }
        drop(f);
        fs::rename(&tmp, dest)?;
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res
}

/// Ansible's `backup_local`: copy to `<path>.<pid>.<YYYY-MM-DD@HH:MM:SS>~` keeping mode
/// and times. Returns the backup path.
pub fn backup_local(path: &Path) -> std::io::Result<String> {
    let now = LocalTime::now();
    let name = format!(
        "{}.{}.{}~",
        path.display(),
        std::process::id(),
        now.format("%Y-%m-%d@%H:%M:%S")
    );
    fs::copy(path, &name)?;
    let md = fs::metadata(path)?;
    let _ = set_times(
        Path::new(&name),
        md.atime() as f64 + md.atime_nsec() as f64 / 1e9,
        md.mtime() as f64 + md.mtime_nsec() as f64 / 1e9,
    );
    let _ = std::os::unix::fs::chown(&name, Some(md.uid()), Some(md.gid()));
    Ok(name)
}

/// Set atime and mtime (seconds since the epoch).
pub fn set_times(path: &Path, atime: f64, mtime: f64) -> std::io::Result<()> {
    let c = CString::new(path.as_os_str().as_encoded_bytes()).map_err(std::io::Error::other)?;
    let ts = |t: f64| libc::timespec {
        tv_sec: t.floor() as libc::time_t,
        tv_nsec: ((t - t.floor()) * 1e9) as libc::c_long,
    };
    let times = [ts(atime), ts(mtime)];
    let rc = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Hex digest of a file's content with the named algorithm (md5, sha1, sha224, sha256,
/// sha384, sha512).
pub fn file_digest(path: &Path, algo: &str) -> std::io::Result<String> {
    let data = fs::read(path)?;
    Ok(digest(&data, algo))
}

pub fn digest(data: &[u8], algo: &str) -> String {
    use sha2::Digest;
    match algo {
        "md5" => hex::encode(md5::Md5::digest(data)),
        "sha224" => hex::encode(sha2::Sha224::digest(data)),
        "sha256" => hex::encode(sha2::Sha256::digest(data)),
        "sha384" => hex::encode(sha2::Sha384::digest(data)),
        "sha512" => hex::encode(sha2::Sha512::digest(data)),
        _ => hex::encode(sha1::Sha1::digest(data)),
    }
}

/// Seconds since the epoch as a float (`time.time()`).
pub fn now_f64() -> f64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    d.as_secs_f64()
}

/// A broken-down local time (localtime_r) with microseconds.
#[derive(Clone, Copy, Debug)]
pub struct LocalTime {
    pub tm: libc::tm,
    pub micros: u32,
    pub epoch: i64,
}

impl LocalTime {
    pub fn now() -> LocalTime {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Self::at(d.as_secs() as i64, d.subsec_micros())
    }
    pub fn at(secs: i64, micros: u32) -> LocalTime {
        let t = secs as libc::time_t;
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        unsafe { libc::localtime_r(&t, &mut tm) };
        LocalTime {
            tm,
            micros,
            epoch: secs,
        }
    }
    pub fn utc(self) -> LocalTime {
        let t = self.epoch as libc::time_t;
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        unsafe { libc::gmtime_r(&t, &mut tm) };
        LocalTime { tm, ..self }
    }
    /// strftime; `%f` gives microseconds.
    pub fn format(&self, fmt: &str) -> String {
        let fmt = fmt.replace("%f", &format!("{:06}", self.micros));
        let c = CString::new(fmt).unwrap_or_default();
        let mut buf = vec![0u8; 256];
        let n = unsafe {
            libc::strftime(
                buf.as_mut_ptr() as *mut libc::c_char,
                buf.len(),
                c.as_ptr(),
                &self.tm,
            )
        };
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
    /// Python's `str(datetime)`: `2026-11-22 00:14:48.366868`.
    pub fn datetime_str(&self) -> String {
        self.format("%Y-%m-%d %H:%M:%S.%f")
    }
}

/// Python's `str(timedelta)`: `0:00:00.004271`.
pub fn timedelta_str(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    let micros = d.subsec_micros();
    let days = secs / 86400;
    let rem = secs % 86400;
    let base = format!("{}:{:02}:{:02}", rem / 3600, (rem % 3600) / 60, rem % 60);
    let base = if micros > 0 {
        format!("{base}.{micros:06}")
    } else {
        base
    };
    if days > 0 {
        format!("{days} day{}, {base}", if days == 1 { "" } else { "s" })
    } else {
        base
    }
}

/// POSIX shell-style word splitting as Python's `shlex.split`.
pub fn shlex_split(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                        None => return Err("No closing quotation".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(x)
                                if x == '"' || x == '\\' || x == '$' || x == '`' || x == '\n' =>
                            {
                                cur.push(x)
                            }
                            Some(x) => {
                                cur.push('\\');
                                cur.push(x);
                            }
                            None => return Err("No closing quotation".into()),
                        },
                        Some(x) => cur.push(x),
                        None => return Err("No closing quotation".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(x) => cur.push(x),
                    None => return Err("No escaped character".into()),
                }
            }
            '#' if !in_word => {
                // Comment to end of line, as shlex.split(comments=False) would not; Ansible
                // passes comments=False, so '#' is an ordinary character.
                in_word = true;
                cur.push('#');
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// Split text into lines as Python's `str.splitlines()` does for \n, \r\n and \r.
pub fn splitlines(s: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\n' | '\x0b' | '\x0c' | '\x1c' | '\x1d' | '\x1e' | '\u{85}' | '\u{2028}'
            | '\u{2029}' => out.push(Value::String(std::mem::take(&mut cur))),
            '\r' => {
                if it.peek() == Some(&'\n') {
                    it.next();
                }
                out.push(Value::String(std::mem::take(&mut cur)));
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(Value::String(cur));
    }
    out
}

/// Absolute form of a path (relative to the current directory), without resolving links.
pub fn abspath(p: &str) -> PathBuf {
    let pb = PathBuf::from(p);
    if pb.is_absolute() {
        pb
    } else {
        std::env::current_dir().unwrap_or_default().join(pb)
    }
}

/// Run a validation command (`validate` with `%s`) against `tmp`; Ok(()) when it exits 0,
/// else (rc, stdout, stderr).
pub fn run_validate(cmd: &str, tmp: &Path) -> Result<(), (i32, String, String)> {
    let full = cmd.replace("%s", &tmp.display().to_string());
    let argv = shlex_split(&full).map_err(|e| (1, String::new(), e))?;
    if argv.is_empty() {
        return Err((1, String::new(), String::new()));
    }
    match std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .output()
    {
        Ok(o) => {
            let rc = o.status.code().unwrap_or(-1);
            if rc == 0 {
                Ok(())
            } else {
                Err((
                    rc,
                    String::from_utf8_lossy(&o.stdout).into_owned(),
                    String::from_utf8_lossy(&o.stderr).into_owned(),
                ))
            }
        }
        Err(e) => Err((2, String::new(), e.to_string())),
    }
}

/// Ansible's `_return_formatted`: a result with `path` (or `dest`) gets that path's info.
pub fn add_path_info_result(r: &mut Map<String, Value>) {
    let p = r
        .get("path")
        .or_else(|| r.get("dest"))
        .and_then(|v| v.as_str())
        .map(PathBuf::from);
    if let Some(p) = p {
        add_path_info(r, &p);
    }
}

/// Python's `os.path.realpath` (non-strict): resolves every symlink that exists and keeps
/// the components that do not.
pub fn realpath(p: &Path) -> PathBuf {
    let start = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    };
    let mut out = PathBuf::from("/");
    let mut pending: Vec<std::ffi::OsString> = start
        .components()
        .rev()
        .filter_map(|c| match c {
            std::path::Component::Normal(s) => Some(s.to_os_string()),
            std::path::Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    let mut hops = 0;
    while let Some(c) = pending.pop() {
        if c == ".." {
            out.pop();
            continue;
        }
        let next = out.join(&c);
        match fs::read_link(&next) {
            Ok(target) if hops < 40 => {
                hops += 1;
                if target.is_absolute() {
                    out = PathBuf::from("/");
                }
                for comp in target.components().rev() {
                    match comp {
                        std::path::Component::Normal(s) => pending.push(s.to_os_string()),
                        std::path::Component::ParentDir => pending.push("..".into()),
                        _ => {}
                    }
                }
            }
            _ => out = next,
        }
    }
    out
}

/// The C library's text for an I/O error, as Python shows it ("No such file or directory").
pub(crate) fn strerror(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => unsafe {
            std::ffi::CStr::from_ptr(libc::strerror(n))
                .to_string_lossy()
                .into_owned()
        },
        None => e.to_string(),
    }
}

/// An OSError as Python prints it: `[Errno 20] Not a directory: 'path'`, with the path as
/// Python's repr of the str or bytes the call was given.
pub fn os_error(e: &std::io::Error, path_repr: &str) -> String {
    match e.raw_os_error() {
        Some(n) => format!("[Errno {n}] {}: {path_repr}", strerror(e)),
        None => e.to_string(),
    }
}

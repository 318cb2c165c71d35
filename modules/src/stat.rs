//! `stat`: facts about a path, with Ansible's `stat` result keys.

use crate::args::{b, p, s, Spec};
use crate::util::{file_digest, group_name, user_name, Failure};
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::{json, Map, Value};
use std::ffi::CString;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::process::Command;

const ALGOS: &[&str] = &["md5", "sha1", "sha224", "sha256", "sha384", "sha512"];

fn spec() -> Spec {
    Spec::new(vec![
        p("path").required().aliases(&["dest", "name"]),
        b("follow").default(false),
        b("get_checksum").default(true),
        b("get_mime")
            .default(true)
            .aliases(&["mime", "mime_type", "mime-type"]),
        b("get_attributes")
            .default(true)
            .aliases(&["attr", "attributes"]),
        b("get_selinux_context").default(false),
        s("checksum_algorithm")
            .default("sha1")
            .choices(ALGOS)
            .aliases(&["checksum", "checksum_algo"]),
    ])
}

fn ts(secs: i64, nsec: i64) -> Value {
    json!(secs as f64 + nsec as f64 / 1e9)
}

/// `os.access(path, mode)`.
pub fn access(path: &str, mode: i32) -> bool {
    match CString::new(path) {
        Ok(c) => unsafe { libc::access(c.as_ptr(), mode) == 0 },
        Err(_) => false,
    }
}

/// Ansible's `format_attributes` of lsattr flags.
pub fn attr_names(flags: &str) -> Vec<Value> {
    flags
        .chars()
        .filter_map(|c| {
            Some(match c {
                'A' => "noatime",
                'a' => "append",
                'c' => "compressed",
                'C' => "nocow",
                'd' => "nodump",
                'D' => "dirsync",
                'e' => "extents",
                'E' => "encrypted",
                'h' => "blocksize",
                'i' => "immutable",
                'I' => "indexed",
                'j' => "journalled",
                'N' => "inline",
                's' => "zero",
                'S' => "synchronous",
                't' => "notail",
                'T' => "blockroot",
                'u' => "undelete",
                'X' => "compressedraw",
                'Z' => "compresseddirty",
                _ => return None,
            })
        })
        .map(|s| json!(s))
        .collect()
}

fn find_bin(name: &str) -> Option<String> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/sbin", "/usr/sbin", "/usr/local/sbin", "/bin", "/usr/bin"])
        .map(|d| format!("{d}/{name}"))
        .find(|p| access(p, libc::X_OK) && std::path::Path::new(p).is_file());
    found
}

pub fn run(args: &Args, _ctx: &ModuleContext, module: &str) -> ModuleResult {
    let params = match spec().validate(module, args) {
        Ok(p) => p,
        Err(e) => return Failure::new(e).into_result(),
    };
    let path = params.string("path").unwrap_or_default();
    let md = if params.bool("follow") {
        std::fs::metadata(&path)
    } else {
        std::fs::symlink_metadata(&path)
    };
    let mut r = ModuleResult::new();
    r.insert("changed".into(), json!(false));
    let md = match md {
        Ok(m) => m,
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                || e.raw_os_error() == Some(libc::ENOTDIR) =>
        {
            r.insert("stat".into(), json!({"exists": false}));
            return r;
        }
        Err(e) => {
            let msg = e.to_string();
            let msg = msg.split(" (os error").next().unwrap_or(&msg).to_string();
            return Failure::new(msg).into_result();
        }
    };
    let mode = md.mode();
    let ft = md.file_type();
    let mut o = Map::new();
    o.insert("exists".into(), json!(true));
    o.insert("path".into(), json!(path));
    o.insert("mode".into(), json!(format!("{:04o}", mode & 0o7777)));
    o.insert("isdir".into(), json!(ft.is_dir()));
    o.insert("ischr".into(), json!(ft.is_char_device()));
    o.insert("isblk".into(), json!(ft.is_block_device()));
    o.insert("isreg".into(), json!(ft.is_file()));
    o.insert("isfifo".into(), json!(ft.is_fifo()));
    o.insert("islnk".into(), json!(ft.is_symlink()));
    o.insert("issock".into(), json!(ft.is_socket()));
    o.insert("uid".into(), json!(md.uid()));
    o.insert("gid".into(), json!(md.gid()));
    o.insert("size".into(), json!(md.size()));
    o.insert("inode".into(), json!(md.ino()));
    o.insert("dev".into(), json!(md.dev()));
    o.insert("nlink".into(), json!(md.nlink()));
    o.insert("atime".into(), ts(md.atime(), md.atime_nsec()));
    o.insert("mtime".into(), ts(md.mtime(), md.mtime_nsec()));
    o.insert("ctime".into(), ts(md.ctime(), md.ctime_nsec()));
    for (k, bit) in [
        ("wusr", 0o200),
        ("rusr", 0o400),
        ("xusr", 0o100),
        ("wgrp", 0o020),
        ("rgrp", 0o040),
        ("xgrp", 0o010),
        ("woth", 0o002),
        ("roth", 0o004),
        ("xoth", 0o001),
        ("isuid", 0o4000),
        ("isgid", 0o2000),
    ] {
        o.insert(k.into(), json!(mode & bit != 0));
    }
    o.insert("blocks".into(), json!(md.blocks()));
    o.insert("disk_usage_bytes".into(), json!(md.blocks() * 512));
    o.insert("block_size".into(), json!(md.blksize()));
    o.insert("device_type".into(), json!(md.rdev()));
    o.insert("readable".into(), json!(access(&path, libc::R_OK)));
    o.insert("writeable".into(), json!(access(&path, libc::W_OK)));
    o.insert("executable".into(), json!(access(&path, libc::X_OK)));
    if ft.is_symlink() {
        let real = crate::util::realpath(std::path::Path::new(&path))
            .display()
            .to_string();
        o.insert("lnk_source".into(), json!(real));
        o.insert(
            "lnk_target".into(),
            json!(std::fs::read_link(&path)
                .map(|p| p.display().to_string())
                .unwrap_or_default()),
        );
    }
    if let Some(n) = user_name(md.uid()) {
        o.insert("pw_name".into(), json!(n));
    }
    if let Some(n) = group_name(md.gid()) {
        o.insert("gr_name".into(), json!(n));
    }
    if ft.is_file() && access(&path, libc::R_OK) && params.bool("get_checksum") {
        let algo = params
            .string("checksum_algorithm")
            .unwrap_or_else(|| "sha1".into());
        if let Ok(d) = file_digest(std::path::Path::new(&path), &algo) {
            o.insert("checksum".into(), json!(d));
        }
    }
    if params.bool("get_mime") {
        o.insert("mimetype".into(), json!("unknown"));
        o.insert("charset".into(), json!("unknown"));
        if let Some(file) = find_bin("file") {
            if let Ok(out) = Command::new(file)
                .args(["--mime-type", "--mime-encoding", &path])
                .output()
            {
                let out = String::from_utf8_lossy(&out.stdout).to_string();
                if let Some((_, rest)) = out.rsplit_once(':') {
                    if let Some((mt, cs)) = rest.split_once(';') {
                        o.insert("mimetype".into(), json!(mt.trim()));
                        o.insert(
                            "charset".into(),
                            json!(cs.split('=').nth(1).unwrap_or("").trim()),
                        );
                    }
                }
            }
        }
    }
    if params.bool("get_attributes") {
        o.insert("version".into(), Value::Null);
        o.insert("attributes".into(), json!([]));
        o.insert("attr_flags".into(), json!(""));
        if let Some(lsattr) = find_bin("lsattr") {
            if let Ok(out) = Command::new(lsattr).args(["-vd", &path]).output() {
                if out.status.success() {
                    let text = String::from_utf8_lossy(&out.stdout).to_string();
                    let res: Vec<&str> = text.split_whitespace().collect();
                    if res.len() >= 2 {
                        let flags = res[1].replace('-', "");
                        o.insert("version".into(), json!(res[0]));
                        o.insert("attributes".into(), Value::Array(attr_names(&flags)));
                        o.insert("attr_flags".into(), json!(flags));
                    }
                }
            }
        }
    }
    if params.bool("get_selinux_context") {
        // Without SELinux, Ansible's selinux_context() is its initial [None, None, None].
        o.insert("selinux_context".into(), json!([null, null, null]));
    }
    r.insert("stat".into(), Value::Object(o));
    r
}

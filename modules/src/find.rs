//! `find`: list files by name pattern, age, size, content and type, in the directory
//! order `os.walk` gives (files before directories at each level).

use crate::args::{b, i, l, r, s, Params, Spec, Type};
use crate::util::{group_name, user_name, Failure, MResult};
use crate::{Args, ModuleContext, ModuleResult};
use regex::Regex;
use serde_json::{json, Map, Value};
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

fn spec() -> Spec {
    Spec::new(vec![
        l("paths")
            .required()
            .aliases(&["name", "path"])
            .elements(Type::Path),
        l("patterns")
            .default(json!([]))
            .aliases(&["pattern"])
            .elements(Type::Str),
        l("excludes").aliases(&["exclude"]).elements(Type::Str),
        s("contains"),
        b("read_whole_file").default(false),
        s("file_type")
            .default("file")
            .choices(&["any", "directory", "file", "link"]),
        s("age"),
        s("age_stamp")
            .default("mtime")
            .choices(&["atime", "ctime", "mtime"]),
        s("size"),
        b("recurse").default(false),
        b("hidden").default(false),
        b("follow").default(false),
        b("get_checksum").default(false),
        s("checksum_algorithm")
            .default("sha1")
            .choices(&["md5", "sha1", "sha224", "sha256", "sha384", "sha512"])
            .aliases(&["checksum", "checksum_algo"]),
        b("use_regex").default(false),
        i("depth"),
        r("mode"),
        b("exact_mode").default(true),
        s("encoding"),
        i("limit"),
    ])
}

/// Python's `fnmatch.translate`, anchored.
pub(crate) fn fnmatch_re(pat: &str) -> Regex {
    let chars: Vec<char> = pat.chars().collect();
    let mut out = String::from("(?s)^");
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => out.push_str(".*"),
            '?' => out.push('.'),
            '[' => {
                let mut j = i;
                if j < chars.len() && chars[j] == '!' {
                    j += 1;
                }
                if j < chars.len() && chars[j] == ']' {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    out.push_str("\\[");
                } else {
                    let mut stuff: String = chars[i..j].iter().collect();
                    i = j + 1;
                    stuff = stuff.replace('\\', "\\\\");
                    if let Some(rest) = stuff.strip_prefix('!') {
                        stuff = format!("^{rest}");
                    } else if stuff.starts_with('^') {
                        stuff = format!("\\{stuff}");
                    }
                    stuff = stuff.replace('[', "\\[");
                    out.push('[');
                    out.push_str(&stuff);
                    out.push(']');
                }
            }
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out.push('$');
    Regex::new(&out).unwrap_or_else(|_| Regex::new("^$").expect("regex"))
}

struct Filter {
    patterns: Vec<Regex>,
    excludes: Vec<Regex>,
}

impl Filter {
    fn new(p: &Params) -> MResult<Filter> {
        let use_regex = p.bool("use_regex");
        let mut pats = p.list("patterns").unwrap_or_default();
        if pats.is_empty() {
            pats = vec![if use_regex { ".*".into() } else { "*".into() }];
        }
        let comp = |v: Vec<String>| -> MResult<Vec<Regex>> {
            v.iter()
                .map(|x| {
                    if use_regex {
                        Regex::new(&format!("^(?:{x})")).map_err(|e| Failure::new(e.to_string()))
                    } else {
                        Ok(fnmatch_re(x))
                    }
                })
                .collect()
        };
        Ok(Filter {
            patterns: comp(pats)?,
            excludes: comp(p.list("excludes").unwrap_or_default())?,
        })
    }
    fn ok(&self, name: &str) -> bool {
        for p in &self.patterns {
            if p.is_match(name) {
                return !self.excludes.iter().any(|e| e.is_match(name));
            }
        }
        false
    }
}

fn stamp(md: &fs::Metadata, which: &str) -> f64 {
    match which {
        "atime" => md.atime() as f64 + md.atime_nsec() as f64 / 1e9,
        "ctime" => md.ctime() as f64 + md.ctime_nsec() as f64 / 1e9,
        _ => md.mtime() as f64 + md.mtime_nsec() as f64 / 1e9,
    }
}

/// The stat-like keys of one found entry (find's `statinfo`).
pub(crate) fn statinfo(md: &fs::Metadata) -> Map<String, Value> {
    let m = md.mode();
    let ft = md.file_type();
    let mut o = Map::new();
    o.insert("mode".into(), json!(format!("{:04o}", m & 0o7777)));
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
    o.insert("atime".into(), json!(stamp(md, "atime")));
    o.insert("mtime".into(), json!(stamp(md, "mtime")));
    o.insert("ctime".into(), json!(stamp(md, "ctime")));
    o.insert(
        "gr_name".into(),
        json!(group_name(md.gid()).unwrap_or_default()),
    );
    o.insert(
        "pw_name".into(),
        json!(user_name(md.uid()).unwrap_or_default()),
    );
    let bits = [
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
    ];
    for (k, bit) in bits {
        o.insert(k.into(), json!(m & bit != 0));
    }
    o.insert("blocks".into(), json!(md.blocks()));
    o.insert("disk_usage_bytes".into(), json!(md.blocks() * 512));
    o
}

fn parse_unit(v: &str, re: &str, units: &[(&str, i64)]) -> Option<i64> {
    let re = Regex::new(re).expect("regex");
    let lower = v.to_lowercase();
    let c = re.captures(&lower)?;
    let n: i64 = c[1].parse().ok()?;
    let mul = c
        .get(2)
        .and_then(|u| units.iter().find(|(k, _)| *k == u.as_str()))
        .map(|(_, m)| *m)
        .unwrap_or(1);
    Some(n * mul)
}

fn content_ok(path: &Path, pat: &Regex, whole: bool) -> MResult<bool> {
    let Ok(data) = fs::read(path) else {
        return Ok(false);
    };
    let Ok(text) = String::from_utf8(data) else {
        return Err(Failure::new(format!(
            "Failed to decode the file '{}' with encoding: utf-8 (Python default)",
            path.display()
        )));
    };
    if whole {
        return Ok(pat.is_match(&text));
    }
    Ok(text.split_inclusive('\n').any(|l| {
        pat.find(l).is_some_and(|m| m.start() == 0) || pat.find_iter(l).any(|m| m.start() == 0)
    }))
}

fn mode_ok(md: &fs::Metadata, mode: &Option<String>, exact: bool) -> MResult<bool> {
    let Some(mode) = mode else {
        return Ok(true);
    };
    let st = md.mode() & 0o7777;
    let want = match u32::from_str_radix(mode, 8) {
        Ok(m) => m,
        Err(_) => crate::util::symbolic_mode(0, mode).map_err(Failure::new)?,
    } & 0o7777;
    Ok(if exact { st == want } else { st & want != 0 })
}

fn normpath(p: &str) -> String {
    let abs = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !abs {
                    parts.push("..");
                }
            }
            c => parts.push(c),
        }
    }
    let j = parts.join("/");
    if abs {
        format!("/{j}")
    } else if j.is_empty() {
        ".".into()
    } else {
        j
    }
}

fn inner(p: &Params, _ctx: &ModuleContext) -> MResult<Map<String, Value>> {
    let mode = match p.get("mode") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(v) => {
            return Err(Failure::new(format!(
            "argument 'mode' is not a string and conversion is not allowed, value is of type {}",
            crate::args::py_type(v)
        )))
        }
    };
    let age = match p.str("age") {
        None => None,
        Some(a) => Some(
            parse_unit(
                a,
                r"^(-?\d+)(s|m|h|d|w)?$",
                &[
                    ("s", 1),
                    ("m", 60),
                    ("h", 3600),
                    ("d", 86400),
                    ("w", 604800),
                ],
            )
            .ok_or_else(|| Failure::new("failed to process age").with("age", a))?,
        ),
    };
    let size = match p.str("size") {
        None => None,
        Some(a) => Some(
            parse_unit(
                a,
                r"^(-?\d+)(b|k|m|g|t)?$",
                &[
                    ("b", 1),
                    ("k", 1 << 10),
                    ("m", 1 << 20),
                    ("g", 1 << 30),
                    ("t", 1 << 40),
                ],
            )
            .ok_or_else(|| Failure::new("failed to process size").with("size", a))?,
        ),
    };
    let limit = p.int("limit");
    if let Some(l) = limit.filter(|l| *l <= 0) {
        return Err(Failure::new(format!(
            "limit cannot be {l} (use None for unlimited)"
        )));
    }
    let filter = Filter::new(p)?;
    let contains = p
        .str("contains")
        .map(|c| Regex::new(c).map_err(|e| Failure::new(e.to_string())))
        .transpose()?;
    let whole = p.bool("read_whole_file");
    let ftype = p.str("file_type").unwrap_or("file").to_string();
    let age_stamp = p.str("age_stamp").unwrap_or("mtime").to_string();
    let exact = p.bool("exact_mode");
    let hidden = p.bool("hidden");
    let recurse = p.bool("recurse");
    let follow = p.bool("follow");
    let depth = p.int("depth").filter(|d| *d != 0);
    let get_checksum = p.bool("get_checksum");
    let algo = p.str("checksum_algorithm").unwrap_or("sha1").to_string();
    let now = crate::util::now_f64();
    let mut files: Vec<Value> = Vec::new();
    let mut skipped = Map::new();
    let mut warnings: Vec<String> = Vec::new();
    let mut msg = "All paths examined".to_string();
    let mut looked = 0usize;
    let age_ok = |md: &fs::Metadata| match age {
        None => true,
        Some(a) if a >= 0 => now - stamp(md, &age_stamp) >= a.unsigned_abs() as f64,
        Some(a) => now - stamp(md, &age_stamp) <= a.unsigned_abs() as f64,
    };
    let size_ok = |md: &fs::Metadata| match size {
        None => true,
        Some(s) if s >= 0 => md.size() as i64 >= s,
        Some(s) => md.size() as i64 <= s.abs(),
    };
    let hit_limit = |n: usize| limit.is_some_and(|l| n as i64 == l);
    for npath in p.list("paths").unwrap_or_default() {
        if !Path::new(&npath).is_dir() {
            let e = format!("'{npath}' is not a directory");
            warnings.push(format!(
                "Skipped '{npath}' path due to this access issue: {e}\n"
            ));
            skipped.insert(npath.clone(), json!(e));
            continue;
        }
        // os.walk, top-down, breadth of one directory at a time.
        let mut stack: Vec<String> = vec![npath.clone()];
        'walk: while let Some(root) = stack.pop() {
            let rd = match fs::read_dir(&root) {
                Ok(rd) => rd,
                Err(e) => {
                    skipped.insert(
                        root.clone(),
                        json!(format!(
                            "[Errno {}] {}: '{}'",
                            e.raw_os_error().unwrap_or(0),
                            e.kind(),
                            root
                        )),
                    );
                    continue;
                }
            };
            let mut fnames = Vec::new();
            let mut dnames = Vec::new();
            for ent in rd.flatten() {
                let name = ent.file_name().to_string_lossy().into_owned();
                let is_dir = fs::metadata(ent.path())
                    .map(|m| m.is_dir())
                    .unwrap_or(false);
                if is_dir {
                    dnames.push(name);
                } else {
                    fnames.push(name);
                }
            }
            looked += fnames.len() + dnames.len();
            let mut descend: Vec<String> = dnames.clone();
            let all: Vec<String> = fnames.iter().chain(dnames.iter()).cloned().collect();
            for obj in all {
                let fsname = normpath(&format!("{root}/{obj}"));
                if let Some(d) = depth {
                    let wpath = format!("{}/", npath.trim_end_matches('/'));
                    let dd =
                        fsname.matches('/').count() as i64 - wpath.matches('/').count() as i64 + 1;
                    if dd > d {
                        descend.clear();
                        continue;
                    }
                }
                if obj.starts_with('.') && !hidden {
                    continue;
                }
                let md = match fs::symlink_metadata(&fsname) {
                    Ok(m) => m,
                    Err(e) => {
                        warnings.push(format!("Skipped entry '{fsname}' due to access issue."));
                        skipped.insert(fsname.clone(), json!(e.to_string()));
                        continue;
                    }
                };
                let ft = md.file_type();
                let mut r = Map::new();
                r.insert("path".into(), json!(fsname));
                let common = filter.ok(&obj) && age_ok(&md) && mode_ok(&md, &mode, exact)?;
                match ftype.as_str() {
                    "any" if common => {
                        r.extend(statinfo(&md));
                        if ft.is_file() && get_checksum {
                            r.insert(
                                "checksum".into(),
                                json!(crate::util::file_digest(Path::new(&fsname), &algo)
                                    .unwrap_or_default()),
                            );
                        }
                        if !ft.is_file() || size_ok(&md) {
                            files.push(Value::Object(r));
                        }
                    }
                    "directory" if ft.is_dir() && common => {
                        r.extend(statinfo(&md));
                        files.push(Value::Object(r));
                    }
                    "file" if ft.is_file() => {
                        let c = match &contains {
                            Some(re) if filter.ok(&obj) && age_ok(&md) && size_ok(&md) => {
                                content_ok(Path::new(&fsname), re, whole)?
                            }
                            Some(_) => false,
                            None => true,
                        };
                        if common && size_ok(&md) && c {
                            r.extend(statinfo(&md));
                            if get_checksum {
                                r.insert(
                                    "checksum".into(),
                                    json!(crate::util::file_digest(Path::new(&fsname), &algo)
                                        .unwrap_or_default()),
                                );
                            }
                            files.push(Value::Object(r));
                        }
                    }
                    "link" if ft.is_symlink() && common => {
                        r.extend(statinfo(&md));
                        files.push(Value::Object(r));
                    }
                    _ => {}
                }
                if hit_limit(files.len()) {
                    msg = "Limit of matches reached".into();
                    break;
                }
            }
            if !recurse || hit_limit(files.len()) {
                break 'walk;
            }
            for d in descend.iter().rev() {
                let full = format!("{root}/{d}");
                if !follow && Path::new(&full).is_symlink() {
                    continue;
                }
                stack.push(full);
            }
        }
    }
    if !warnings.is_empty() {
        msg = "Not all paths examined, check warnings for details".into();
    }
    let mut r = Map::new();
    r.insert("changed".into(), json!(false));
    r.insert("examined".into(), json!(looked));
    r.insert("matched".into(), json!(files.len()));
    r.insert("files".into(), Value::Array(files));
    r.insert("msg".into(), json!(msg));
    r.insert("skipped_paths".into(), Value::Object(skipped));
    if !warnings.is_empty() {
        r.insert("warnings".into(), json!(warnings));
    }
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

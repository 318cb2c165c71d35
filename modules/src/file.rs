//! `file`: state file/directory/link/hard/touch/absent, attributes and timestamps.

use crate::args::{b, file_common, p, s, Spec};
use crate::util::{apply_attrs, now_f64, set_times, AttrDiff, Failure, FileAttrs, MResult};
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::{json, Map, Value};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

const STATES: &[&str] = &["absent", "directory", "file", "hard", "link", "touch"];

fn spec() -> Spec {
    let mut opts = vec![
        s("state").choices(STATES),
        p("path").required().aliases(&["dest", "name"]),
        s("_original_basename"),
        b("recurse").default(false),
        b("force").default(false),
        b("follow").default(true),
        b("_diff_peek"),
        p("src"),
        s("modification_time"),
        s("modification_time_format").default("%Y%m%d%H%M.%S"),
        s("access_time"),
        s("access_time_format").default("%Y%m%d%H%M.%S"),
    ];
    opts.extend(file_common());
    Spec::new(opts)
}

/// The state of a path as Ansible's file module sees it (lstat, no following).
pub fn get_state(path: &Path) -> &'static str {
    match fs::symlink_metadata(path) {
        Err(_) => "absent",
        Ok(m) if m.file_type().is_symlink() => "link",
        Ok(m) if m.is_dir() => "directory",
        Ok(m) if m.nlink() > 1 => "hard",
        Ok(_) => "file",
    }
}

/// A requested timestamp: keep, now, or a given time.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Stamp {
    Preserve,
    Now,
    At(f64),
}

fn parse_stamp(v: Option<&str>, fmt: &str, state: &str) -> MResult<Stamp> {
    let v = match v {
        Some(v) => v,
        None if state == "touch" => "now",
        None => "preserve",
    };
    match v {
        "preserve" => Ok(Stamp::Preserve),
        "now" => Ok(Stamp::Now),
        other => {
            let c = std::ffi::CString::new(other).unwrap_or_default();
            let f = std::ffi::CString::new(fmt).unwrap_or_default();
            let mut tm: libc::tm = unsafe { std::mem::zeroed() };
            let end = unsafe { libc::strptime(c.as_ptr(), f.as_ptr(), &mut tm) };
            if end.is_null() || unsafe { *end } != 0 {
                return Err(Failure::new(format!(
                    "Error while obtaining timestamp for time {other} using format {fmt}: time data '{other}' does not match format '{fmt}'"
                )));
            }
            tm.tm_isdst = -1;
            let t = unsafe { libc::mktime(&mut tm) };
            Ok(Stamp::At(t as f64))
        }
    }
}

fn update_times(
    path: &Path,
    mtime: Stamp,
    atime: Stamp,
    check: bool,
    diff: Option<&mut AttrDiff>,
) -> MResult<bool> {
    if mtime == Stamp::Preserve && atime == Stamp::Preserve {
        return Ok(false);
    }
    let md = fs::metadata(path).map_err(|e| {
        Failure::new(format!(
            "Error while updating modification or access time: {e}"
        ))
        .with("path", path.display().to_string())
    })?;
    let prev_m = md.mtime() as f64 + md.mtime_nsec() as f64 / 1e9;
    let prev_a = md.atime() as f64 + md.atime_nsec() as f64 / 1e9;
    let now = now_f64();
    let resolve = |s: Stamp, prev: f64| match s {
        Stamp::Preserve => prev,
        Stamp::Now => now,
        Stamp::At(t) => t,
    };
    let (m, a) = (resolve(mtime, prev_m), resolve(atime, prev_a));
    if !(mtime == Stamp::Now && atime == Stamp::Now) && m == prev_m && a == prev_a {
        return Ok(false);
    }
    if !check {
        // follow the link for utime, as os.utime does
        let target = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        set_times(&target, a, m).map_err(|e| {
            Failure::new(format!(
                "Error while updating modification or access time: {e}"
            ))
            .with("path", path.display().to_string())
        })?;
    }
    if let Some(d) = diff {
        if m != prev_m {
            d.before.insert("mtime".into(), json!(prev_m));
            d.after.insert("mtime".into(), json!(m));
        }
        if a != prev_a {
            d.before.insert("atime".into(), json!(prev_a));
            d.after.insert("atime".into(), json!(a));
        }
    }
    Ok(true)
}

fn initial_diff(path: &str, state: &str, prev: &str) -> AttrDiff {
    let mut d = AttrDiff::default();
    d.before.insert("path".into(), json!(path));
    d.after.insert("path".into(), json!(path));
    if prev != state {
        d.before.insert("state".into(), json!(prev));
        d.after.insert("state".into(), json!(state));
        if state == "absent" && prev == "directory" {
            let mut dirs = Vec::new();
            let mut files = Vec::new();
            walk(Path::new(path), &mut |p, is_dir| {
                if is_dir {
                    dirs.push(json!(p.display().to_string()));
                } else {
                    files.push(json!(p.display().to_string()));
                }
            });
            d.before.insert(
                "path_content".into(),
                json!({"directories": dirs, "files": files}),
            );
        }
    }
    d
}

/// os.walk-like traversal (top-down, not following links), calling f(path, is_dir).
fn walk(root: &Path, f: &mut dyn FnMut(&Path, bool)) {
    let Ok(rd) = fs::read_dir(root) else { return };
    let mut entries: Vec<_> = rd.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    let (dirs, files): (Vec<_>, Vec<_>) = entries
        .into_iter()
        .partition(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false));
    for d in &dirs {
        f(&d.path(), true);
    }
    for x in &files {
        f(&x.path(), false);
    }
    for d in &dirs {
        walk(&d.path(), f);
    }
}

struct Ctx<'a> {
    attrs: FileAttrs,
    follow: bool,
    check: bool,
    mtime: Stamp,
    atime: Stamp,
    _m: &'a str,
}

/// load_file_common_arguments' path: the link target when following an existing link.
fn attr_path(path: &str, follow: bool) -> PathBuf {
    let p = PathBuf::from(path);
    if follow
        && fs::symlink_metadata(&p)
            .map(|m| m.file_type().is_symlink())
            .unwrap_or(false)
    {
        return realpath(&p);
    }
    p
}

/// os.path.realpath: resolves what exists, keeps the rest.
fn realpath(p: &Path) -> PathBuf {
    crate::util::realpath(p)
}

fn set_attrs(c: &Ctx, path: &Path, diff: &mut AttrDiff) -> MResult<bool> {
    let pstr = path.display().to_string();
    let mut changed = apply_attrs(path, &c.attrs, c.follow, c.check, Some(diff), &pstr)?;
    if !(c.check && fs::symlink_metadata(path).is_err()) {
        changed |= update_times(path, c.mtime, c.atime, c.check, Some(diff))?;
    }
    Ok(changed)
}

fn diff_value(d: AttrDiff) -> Value {
    json!({"before": Value::Object(d.before), "after": Value::Object(d.after)})
}

fn ensure_absent(path: &str, check: bool) -> MResult<Map<String, Value>> {
    let prev = get_state(Path::new(path));
    let mut r = Map::new();
    r.insert("path".into(), json!(path));
    if prev == "absent" {
        r.insert("changed".into(), json!(false));
        r.insert("state".into(), json!("absent"));
        return Ok(r);
    }
    let diff = initial_diff(path, "absent", prev);
    if !check {
        if prev == "directory" {
            fs::remove_dir_all(path).map_err(|e| Failure::new(format!("rmtree failed: {e}")))?;
        } else if let Err(e) = fs::remove_file(path) {
            if e.kind() != std::io::ErrorKind::NotFound {
                return Err(Failure::new("Unlinking failed.").with("path", path));
            }
        }
    }
    r.insert("changed".into(), json!(true));
    r.insert("diff".into(), diff_value(diff));
    r.insert("state".into(), json!("absent"));
    Ok(r)
}

fn execute_touch(c: &Ctx, path: &str) -> MResult<Map<String, Value>> {
    let prev = get_state(Path::new(path));
    let mut r = Map::new();
    r.insert("dest".into(), json!(path));
    let mut changed = false;
    if prev == "absent" {
        if c.check {
            r.insert("changed".into(), json!(true));
            return Ok(r);
        }
        fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|_| Failure::new("Error, could not touch target.").with("path", path))?;
        changed = true;
    }
    let mut diff = initial_diff(path, "touch", prev);
    let ap = attr_path(path, c.follow);
    match set_attrs(c, &ap, &mut diff) {
        Ok(ch) => changed |= ch,
        Err(e) => {
            if prev == "absent" {
                let _ = fs::remove_file(path);
            }
            return Err(e);
        }
    }
    r.insert("changed".into(), json!(changed));
    r.insert("diff".into(), diff_value(diff));
    Ok(r)
}

fn ensure_file(c: &Ctx, path: &str) -> MResult<Map<String, Value>> {
    let mut path = path.to_string();
    let mut prev = get_state(Path::new(&path));
    if prev != "file" && c.follow && prev == "link" {
        path = realpath(Path::new(&path)).display().to_string();
        prev = get_state(Path::new(&path));
    }
    if prev != "file" && prev != "hard" {
        return Err(
            Failure::new(format!("file ({path}) is {prev}, cannot continue"))
                .with("path", path.clone())
                .with("state", prev),
        );
    }
    let mut diff = initial_diff(&path, "file", prev);
    let changed = set_attrs(c, &attr_path(&path, c.follow), &mut diff)?;
    let mut r = Map::new();
    r.insert("path".into(), json!(path));
    r.insert("changed".into(), json!(changed));
    r.insert("diff".into(), diff_value(diff));
    Ok(r)
}

fn ensure_directory(c: &Ctx, path: &str, recurse: bool) -> MResult<Map<String, Value>> {
    let mut path = path.to_string();
    let mut prev = get_state(Path::new(&path));
    if c.follow && prev == "link" {
        path = realpath(Path::new(&path)).display().to_string();
        prev = get_state(Path::new(&path));
    }
    let mut changed = false;
    let mut diff = initial_diff(&path, "directory", prev);
    let mut r = Map::new();
    r.insert("path".into(), json!(path));
    if prev == "absent" {
        if c.check {
            r.insert("changed".into(), json!(true));
            r.insert("diff".into(), diff_value(diff));
            return Ok(r);
        }
        let abs = path.starts_with('/');
        let mut cur = String::new();
        for part in path.trim_matches('/').split('/') {
            cur = format!("{cur}/{part}");
            if !abs {
                cur = cur.trim_start_matches('/').to_string();
            }
            if fs::metadata(&cur).is_err() {
                if let Err(e) = fs::create_dir(&cur) {
                    if !(e.kind() == std::io::ErrorKind::AlreadyExists && Path::new(&cur).is_dir())
                    {
                        let e = crate::util::os_error(&e, &format!("'{cur}'"));
                        return Err(Failure::new(format!(
                            "There was an issue creating {cur} as requested: {e}"
                        ))
                        .with("path", path.clone()));
                    }
                }
                changed = true;
                let pstr = cur.clone();
                changed |= apply_attrs(
                    Path::new(&cur),
                    &c.attrs,
                    c.follow,
                    false,
                    Some(&mut diff),
                    &pstr,
                )?;
                changed |=
                    update_times(Path::new(&path), c.mtime, c.atime, false, Some(&mut diff))?;
            }
        }
        r.insert("changed".into(), json!(changed));
        r.insert("diff".into(), diff_value(diff));
        return Ok(r);
    } else if prev != "directory" {
        return Err(
            Failure::new(format!("{path} already exists as a {prev}")).with("path", path.clone())
        );
    }
    changed |= set_attrs(c, Path::new(&path), &mut diff)?;
    if recurse {
        changed |= recursive_set(c, Path::new(&path))?;
    }
    r.insert("changed".into(), json!(changed));
    r.insert("diff".into(), diff_value(diff));
    Ok(r)
}

fn recursive_set(c: &Ctx, root: &Path) -> MResult<bool> {
    let mut paths = Vec::new();
    walk(root, &mut |p, _| paths.push(p.to_path_buf()));
    let mut changed = false;
    for p in paths {
        let is_link = fs::symlink_metadata(&p)
            .map(|m| m.file_type().is_symlink())
            .unwrap_or(false);
        let nofollow = Ctx {
            attrs: c.attrs.clone(),
            follow: false,
            check: c.check,
            mtime: c.mtime,
            atime: c.atime,
            _m: c._m,
        };
        let mut scratch = AttrDiff::default();
        changed |= set_attrs(if is_link { &nofollow } else { c }, &p, &mut scratch)?;
        if is_link && c.follow {
            if let Ok(t) = fs::read_link(&p) {
                let target = p.parent().unwrap_or(Path::new("/")).join(t);
                if target.exists() {
                    if target.is_dir() {
                        changed |= recursive_set(c, &target)?;
                    }
                    changed |= set_attrs(c, &target, &mut scratch)?;
                }
            }
        }
    }
    Ok(changed)
}

fn ensure_symlink(
    c: &Ctx,
    path: &str,
    src: Option<String>,
    force: bool,
) -> MResult<Map<String, Value>> {
    let p = Path::new(path);
    let prev = get_state(p);
    let mut src = src;
    if src.is_none() && c.follow && p.exists() {
        src = fs::read_link(p).ok().map(|t| t.display().to_string());
    }
    let is_link = fs::symlink_metadata(p)
        .map(|m| m.file_type().is_symlink())
        .unwrap_or(false);
    let relpath = if !is_link && p.is_dir() {
        path.to_string()
    } else {
        p.parent()
            .map(|x| x.display().to_string())
            .unwrap_or_default()
    };
    if let Some(s) = &src {
        let absrc = if s.starts_with('/') {
            s.clone()
        } else {
            Path::new(&relpath).join(s).display().to_string()
        };
        if !force && !Path::new(&absrc).exists() {
            return Err(Failure::new(format!("src file does not exist, use 'force=yes' if you really want to create the link: {absrc}"))
                .with("path", path)
                .with("src", s.clone()));
        }
    }
    if prev == "directory" {
        if !force {
            return Err(Failure::new(format!(
                "refusing to convert from {prev} to symlink for {path}"
            ))
            .with("path", path));
        } else if fs::read_dir(p)
            .map(|mut d| d.next().is_some())
            .unwrap_or(false)
        {
            return Err(Failure::new(format!(
                "the directory {path} is not empty, refusing to convert it"
            ))
            .with("path", path));
        }
    } else if (prev == "file" || prev == "hard") && !force {
        return Err(Failure::new(format!(
            "refusing to convert from {prev} to symlink for {path}"
        ))
        .with("path", path));
    }
    let mut diff = initial_diff(path, "link", prev);
    let mut changed = false;
    if prev != "link" {
        if src.is_none() {
            return Err(Failure::new("src is required for creating new symlinks"));
        }
        changed = true;
    } else if let Some(s) = &src {
        let old = fs::read_link(p)
            .map(|t| t.display().to_string())
            .unwrap_or_default();
        if &old != s {
            diff.before.insert("src".into(), json!(old));
            diff.after.insert("src".into(), json!(s));
            changed = true;
        }
    }
    let srcv = src.clone().map(Value::String).unwrap_or(Value::Null);
    if changed && !c.check {
        let s = src.clone().unwrap_or_default();
        if prev != "absent" {
            let tmp = p.parent().unwrap_or(Path::new("/")).join(format!(
                ".{}.{}.tmp",
                std::process::id(),
                now_f64()
            ));
            let res = (|| {
                if prev == "directory" {
                    fs::remove_dir(p)?;
                }
                std::os::unix::fs::symlink(&s, &tmp)?;
                fs::rename(&tmp, p)
            })();
            if let Err(e) = res {
                let _ = fs::remove_file(&tmp);
                return Err(Failure::new(format!("Error while replacing: {e}")).with("path", path));
            }
        } else if let Err(e) = std::os::unix::fs::symlink(&s, p) {
            return Err(Failure::new(format!("Error while linking: {e}")).with("path", path));
        }
    }
    let mut r = Map::new();
    r.insert("dest".into(), json!(path));
    r.insert("src".into(), srcv);
    if c.check && !p.exists() {
        r.insert("changed".into(), json!(changed));
        r.insert("diff".into(), diff_value(diff));
        return Ok(r);
    }
    let ap = attr_path(path, c.follow);
    if c.follow
        && fs::symlink_metadata(p)
            .map(|m| m.file_type().is_symlink())
            .unwrap_or(false)
        && !ap.exists()
    {
        r.insert(
            "warnings".into(),
            json!(["Cannot set fs attributes on a non-existent symlink target. follow should be set to False to avoid this."]),
        );
    } else {
        changed |= set_attrs(c, &ap, &mut diff)?;
    }
    r.insert("changed".into(), json!(changed));
    r.insert("diff".into(), diff_value(diff));
    Ok(r)
}

fn ensure_hardlink(
    c: &Ctx,
    path: &str,
    src: Option<String>,
    force: bool,
) -> MResult<Map<String, Value>> {
    let p = Path::new(path);
    let prev = get_state(p);
    if prev != "hard" && src.is_none() {
        return Err(Failure::new("src is required for creating new hardlinks"));
    }
    if let Some(s) = &src {
        if !Path::new(s).exists() {
            return Err(Failure::new("src does not exist")
                .with("dest", path)
                .with("src", s.clone()));
        }
    }
    let srcv = src.clone().map(Value::String).unwrap_or(Value::Null);
    let mut diff = initial_diff(path, "hard", prev);
    let mut changed = false;
    let ino = |x: &Path| fs::metadata(x).map(|m| (m.dev(), m.ino())).ok();
    match prev {
        "absent" => changed = true,
        "link" => {
            let old = fs::read_link(p)
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            if Some(&old) != src.as_ref() {
                diff.before.insert("src".into(), json!(old));
                diff.after.insert("src".into(), srcv.clone());
                changed = true;
            }
        }
        "hard" => {
            if let Some(s) = &src {
                if ino(p) != ino(Path::new(s)) {
                    changed = true;
                    if !force {
                        return Err(Failure::new(
                            "Cannot link, different hard link exists at destination",
                        )
                        .with("dest", path)
                        .with("src", srcv));
                    }
                }
            }
        }
        "file" => {
            changed = true;
            if !force {
                return Err(
                    Failure::new(format!("Cannot link, {prev} exists at destination"))
                        .with("dest", path)
                        .with("src", srcv),
                );
            }
        }
        _ => {
            changed = true;
            if let Some(s) = &src {
                if ino(p) == ino(Path::new(s)) {
                    let mut r = Map::new();
                    r.insert("path".into(), json!(path));
                    r.insert("changed".into(), json!(false));
                    return Ok(r);
                } else if !force {
                    return Err(Failure::new(
                        "Cannot link: different hard link exists at destination",
                    )
                    .with("dest", path)
                    .with("src", srcv));
                }
            }
        }
    }
    if changed && !c.check {
        let s = src.clone().unwrap_or_default();
        if prev != "absent" {
            let tmp = p.parent().unwrap_or(Path::new("/")).join(format!(
                ".{}.{}.tmp",
                std::process::id(),
                now_f64()
            ));
            let res = (|| {
                if prev == "directory" && p.exists() {
                    let _ = fs::remove_file(p);
                }
                fs::hard_link(&s, &tmp)?;
                fs::rename(&tmp, p)
            })();
            if let Err(e) = res {
                let _ = fs::remove_file(&tmp);
                return Err(Failure::new(format!("Error while replacing: {e}")).with("path", path));
            }
        } else {
            let mut s2 = PathBuf::from(&s);
            if c.follow {
                if let Ok(t) = fs::read_link(&s2) {
                    s2 = t;
                }
            }
            if let Err(e) = fs::hard_link(&s2, p) {
                return Err(Failure::new(format!("Error while linking: {e}")).with("path", path));
            }
        }
    }
    let mut r = Map::new();
    r.insert("dest".into(), json!(path));
    r.insert("src".into(), srcv);
    if c.check && !p.exists() {
        r.insert("changed".into(), json!(changed));
        r.insert("diff".into(), diff_value(diff));
        return Ok(r);
    }
    changed |= set_attrs(c, &attr_path(path, c.follow), &mut diff)?;
    r.insert("changed".into(), json!(changed));
    r.insert("diff".into(), diff_value(diff));
    Ok(r)
}

pub fn run(args: &Args, ctx: &ModuleContext, module: &str) -> ModuleResult {
    let params = match spec().validate(module, args) {
        Ok(p) => p,
        Err(e) => return Failure::new(e).into_result(),
    };
    let res = (|| -> MResult<Map<String, Value>> {
        let mut path = params.string("path").unwrap_or_default();
        let src = params.string("src");
        let mut state = params.string("state");
        if !matches!(state.as_deref(), Some("link") | Some("absent")) && Path::new(&path).is_dir() {
            let base = params
                .string("_original_basename")
                .filter(|s| !s.is_empty())
                .or_else(|| {
                    src.as_ref().and_then(|s| {
                        Path::new(s)
                            .file_name()
                            .map(|f| f.to_string_lossy().into_owned())
                    })
                });
            if let Some(b) = base {
                path = Path::new(&path).join(b).display().to_string();
            }
        }
        // Ansible's first look at the path lets any error but a missing file or a denied
        // permission escape the module (a file where a parent directory should be).
        if let Err(e) = fs::symlink_metadata(&path) {
            use std::io::ErrorKind::{NotFound, PermissionDenied};
            if !matches!(e.kind(), NotFound | PermissionDenied) {
                return Err(Failure::new(format!(
                    "Task failed: Module failed: {}",
                    crate::util::os_error(&e, &format!("b'{path}'"))
                )));
            }
        }
        let prev = get_state(Path::new(&path));
        let recurse = params.bool("recurse");
        if state.is_none() {
            state = Some(
                if prev != "absent" {
                    prev
                } else if recurse {
                    "directory"
                } else {
                    "file"
                }
                .to_string(),
            );
        }
        let state = state.unwrap_or_default();
        if recurse && state != "directory" {
            return Err(
                Failure::new("recurse option requires state to be 'directory'")
                    .with("path", path.clone()),
            );
        }
        if src.is_some() && state != "link" && state != "hard" {
            return Err(
                Failure::new("src option requires state to be 'link' or 'hard'")
                    .with("path", path.clone()),
            );
        }
        let mut warnings = Vec::new();
        if ctx.check_mode && state != "absent" {
            if let Some(o) = params.str("owner") {
                if crate::util::resolve_uid(o)
                    .and_then(crate::util::user_name)
                    .is_none()
                {
                    warnings.push(match o.parse::<u32>() {
                        Ok(_) => format!("failed to look up user with uid {o}. Create user up to this point in real play"),
                        Err(_) => format!("failed to look up user {o}. Create user up to this point in real play"),
                    });
                }
            }
            if let Some(g) = params.str("group") {
                if crate::util::resolve_gid(g)
                    .and_then(crate::util::group_name)
                    .is_none()
                {
                    warnings.push(match g.parse::<u32>() {
                        Ok(_) => format!("failed to look up group with gid {g}. Create group up to this point in real play"),
                        Err(_) => format!("failed to look up group {g}. Create group up to this point in real play"),
                    });
                }
            }
        }
        let c = Ctx {
            attrs: FileAttrs::from_params(&params),
            follow: params.bool("follow"),
            check: ctx.check_mode,
            mtime: parse_stamp(
                params.str("modification_time"),
                params
                    .str("modification_time_format")
                    .unwrap_or("%Y%m%d%H%M.%S"),
                &state,
            )?,
            atime: parse_stamp(
                params.str("access_time"),
                params.str("access_time_format").unwrap_or("%Y%m%d%H%M.%S"),
                &state,
            )?,
            _m: module,
        };
        if params.get("_diff_peek").is_some() {
            let head = fs::read(&path)
                .map(|d| d.iter().take(8192).any(|&b| b == 0))
                .unwrap_or(false);
            let mut r = Map::new();
            r.insert("path".into(), json!(path));
            r.insert("changed".into(), json!(false));
            r.insert("appears_binary".into(), json!(head));
            return Ok(r);
        }
        let force = params.bool("force");
        let res = match state.as_str() {
            "file" => ensure_file(&c, &path),
            "directory" => ensure_directory(&c, &path, recurse),
            "link" => ensure_symlink(&c, &path, src, force),
            "hard" => ensure_hardlink(&c, &path, src, force),
            "touch" => execute_touch(&c, &path),
            _ => ensure_absent(&path, c.check),
        };
        let mut r = match res {
            Ok(r) => r,
            Err(f) if !warnings.is_empty() => return Err(f.with("warnings", json!(warnings))),
            Err(f) => return Err(f),
        };
        if !warnings.is_empty() {
            r.insert("warnings".into(), json!(warnings));
        }
        Ok(r)
    })();
    let mut r = match res {
        Ok(mut r) => {
            if !ctx.diff {
                r.remove("diff");
            }
            r
        }
        Err(f) => f.into_result(),
    };
    crate::util::add_path_info_result(&mut r);
    r
}

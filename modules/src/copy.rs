//! `copy`, the part that runs on the target. The data comes from `content`, from
//! `_play_src` (the controller's local file, base64-encoded) or, like Ansible's module,
//! from `src` as a path on the target (`remote_src`).
//!
//! The result has the shape ansible-playbook reports after its action plugin: when the
//! destination already has the same content only attributes are fixed and the result
//! carries `path`/`checksum`; otherwise the file is written atomically and the result has
//! `src`, `md5sum`, `checksum`, `backup_file`. `diff` is a list, as Ansible's copy gives.

use crate::args::{b, file_common, p, r, s, Spec};
use crate::util::{
    add_path_info_result, apply_attrs, atomic_write, backup_local, digest, splitlines, Failure,
    FileAttrs, MResult,
};
use crate::{Args, ModuleContext, ModuleResult};
use base64::Engine;
use serde_json::{json, Map, Value};
use std::fs;
use std::path::{Path, PathBuf};

/// Ansible's DEFAULT_MAX_FILE_SIZE_FOR_DIFF.
const MAX_DIFF: usize = 104448;

fn spec() -> Spec {
    let mut opts = vec![
        p("src"),
        s("_original_basename"),
        s("content"),
        p("dest").required(),
        b("backup").default(false),
        b("force").default(true),
        s("validate"),
        r("directory_mode"),
        b("remote_src").default(false),
        b("local_follow"),
        s("checksum"),
        b("follow").default(false),
    ];
    opts.extend(file_common());
    Spec::new(opts)
}

fn diff_entry(dest: &str, old: Option<&[u8]>, new: &[u8]) -> Value {
    let mut d = Map::new();
    match old {
        Some(o) => {
            d.insert("before_header".into(), json!(dest));
            if o.len() > MAX_DIFF {
                d.insert("dst_larger".into(), json!(MAX_DIFF));
            } else if o.contains(&0) || std::str::from_utf8(o).is_err() {
                d.insert("dst_binary".into(), json!(1));
            } else {
                d.insert("before".into(), json!(String::from_utf8_lossy(o)));
            }
        }
        None => {
            d.insert("before".into(), json!(""));
        }
    }
    d.insert("after_header".into(), json!(dest));
    if new.len() > MAX_DIFF {
        d.insert("src_larger".into(), json!(MAX_DIFF));
    } else if new.contains(&0) || std::str::from_utf8(new).is_err() {
        d.insert("src_binary".into(), json!(1));
    } else {
        d.insert("after".into(), json!(String::from_utf8_lossy(new)));
    }
    Value::Object(d)
}

pub fn run(args: &Args, ctx: &ModuleContext, module: &str) -> ModuleResult {
    let mut args = args.clone();
    let play_src = args.remove("_play_src");
    let play_src_mode = args.remove("_play_src_mode");
    let params = match spec().validate(module, &args) {
        Ok(p) => p,
        Err(e) => {
            // Ansible's action plugin has already checksummed `content` and adds an empty diff.
            let mut f = Failure::new(e);
            if let Some(c) = args.get("content").and_then(|v| v.as_str()) {
                f = f.with("checksum", digest(c.as_bytes(), "sha1"));
            }
            return f.with("diff", json!([])).into_result();
        }
    };
    let remote_src = params.bool("remote_src");
    // A failure after Ansible's action has checksummed its source carries that checksum.
    let source_sum = match (&play_src, params.str("content")) {
        (Some(ps), _) => base64::engine::general_purpose::STANDARD
            .decode(ps.as_str().unwrap_or_default().as_bytes())
            .ok()
            .map(|d| digest(&d, "sha1")),
        (None, Some(c)) => Some(digest(c.as_bytes(), "sha1")),
        _ => None,
    };
    // The checks Ansible's action plugin makes before any transfer fail without a diff
    // or a checksum.
    const ACTION_ERRORS: &[&str] = &[
        "src and content are mutually exclusive",
        "src (or content) is required",
    ];
    let mut action_error = false;
    let mut r = match run_inner(&params, play_src, play_src_mode, ctx) {
        Ok(r) => r,
        Err(f) => {
            let mut r = f.into_result();
            let m = r.get("msg").and_then(|m| m.as_str()).unwrap_or_default();
            action_error = ACTION_ERRORS.contains(&m);
            let before_transfer = action_error || m == "can not use content with a dir as dest";
            if let Some(sum) = source_sum.filter(|_| !remote_src && !before_transfer) {
                r.entry("checksum").or_insert(json!(sum));
            }
            r
        }
    };
    // With `remote_src` Ansible's action hands the task straight to the module: no diff.
    if remote_src {
        r.remove("diff");
    } else if !r.contains_key("diff") && !action_error {
        r.insert("diff".into(), json!([]));
    }
    add_path_info_result(&mut r);
    r
}

fn run_inner(
    params: &crate::args::Params,
    play_src: Option<Value>,
    play_src_mode: Option<Value>,
    ctx: &ModuleContext,
) -> MResult<Map<String, Value>> {
    let content = params
        .get("content")
        .and_then(|v| v.as_str())
        .map(|s| s.as_bytes().to_vec());
    let src_param = params.string("src");
    if content.is_some() && src_param.is_some() {
        return Err(Failure::new("src and content are mutually exclusive"));
    }
    let mut src_path: Option<String> = None;
    let data: Vec<u8> = if let Some(ps) = play_src {
        let text = ps.as_str().unwrap_or_default();
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(|e| Failure::new(format!("_play_src is not valid base64: {e}")))?
    } else if let Some(c) = content {
        c
    } else if let Some(src) = &src_param {
        if fs::metadata(src).is_err() {
            return Err(Failure::new(format!("Source {src} not found")));
        }
        if !crate::stat::access(src, libc::R_OK) {
            return Err(Failure::new(format!("Source {src} not readable")));
        }
        if Path::new(src).is_dir() {
            if params.bool("remote_src") {
                return copy_remote_dir(params, src, ctx.check_mode);
            }
            return Err(Failure::new(format!(
                "Cannot copy invalid source '{src}': not a file"
            )));
        }
        src_path = Some(src.clone());
        fs::read(src).map_err(|e| Failure::new(format!("Source {src} not readable: {e}")))?
    } else {
        return Err(Failure::new("src (or content) is required"));
    };
    let from_content = params.is_set("content") && src_path.is_none();
    let mut dest = params.string("dest").unwrap_or_default();
    if !dest.contains('/') {
        dest = format!("./{dest}");
    }
    // Ansible's copy action refuses this; the template action (content plus
    // `_original_basename`) writes into the directory instead.
    if from_content
        && !params.is_set("_original_basename")
        && (dest.ends_with('/') || Path::new(&dest).is_dir())
    {
        return Err(Failure::new("can not use content with a dir as dest"));
    }
    let checksum_src = digest(&data, "sha1");
    let md5_src = digest(&data, "md5");
    if let Some(expected) = params.str("checksum") {
        if expected != checksum_src {
            return Err(Failure::new(
                "Copied file does not match the expected checksum. Transfer failed.",
            )
            .with("checksum", checksum_src.clone())
            .with("expected_checksum", expected));
        }
    }
    let basename = params.string("_original_basename").or_else(|| {
        src_path.as_ref().or(src_param.as_ref()).and_then(|s| {
            Path::new(s)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
        })
    });
    let mut changed = false;
    if dest.ends_with('/') {
        if let Some(b) = &basename {
            dest = format!("{dest}{b}");
        }
        let dir = Path::new(&dest)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        if !dir.exists() {
            if ctx.check_mode {
                let mut r = Map::new();
                r.insert(
                    "msg".into(),
                    json!(format!("dest directory {} would be created", dir.display())),
                );
                r.insert("changed".into(), json!(true));
                r.insert("src".into(), json!(src_path));
                return Ok(r);
            }
            fs::create_dir_all(&dir)
                .map_err(|e| Failure::new(format!("Failed to create {}: {e}", dir.display())))?;
            changed = true;
            if let Some(dm) = params.get("directory_mode") {
                let fa = FileAttrs {
                    mode: Some(dm.clone()),
                    owner: params.string("owner"),
                    group: params.string("group"),
                };
                apply_attrs(&dir, &fa, true, false, None, &dir.display().to_string())?;
            }
        }
    }
    if Path::new(&dest).is_dir() {
        let b = basename
            .clone()
            .ok_or_else(|| Failure::new("can not use content with a dir as dest"))?;
        dest = Path::new(&dest).join(b).display().to_string();
    }
    let follow = params.bool("follow");
    let dest_is_link = fs::symlink_metadata(&dest)
        .map(|m| m.file_type().is_symlink())
        .unwrap_or(false);
    let mut old: Option<Vec<u8>> = None;
    if Path::new(&dest).exists() {
        if dest_is_link && follow {
            dest = fs::canonicalize(&dest)
                .map(|p| p.display().to_string())
                .unwrap_or(dest);
        }
        if !params.bool("force") {
            let mut r = Map::new();
            r.insert("msg".into(), json!("file already exists"));
            r.insert("src".into(), json!(src_path));
            r.insert("dest".into(), json!(dest));
            r.insert("changed".into(), json!(false));
            return Ok(r);
        }
        if Path::new(&dest).is_file() {
            old = fs::read(&dest).ok();
        }
    } else {
        let dir = Path::new(&dest)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        if !dir.exists() {
            return Err(Failure::new(format!(
                "Destination directory {} does not exist",
                dir.display()
            )));
        }
    }
    let dir = Path::new(&dest)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    if !crate::stat::access(&dir.display().to_string(), libc::W_OK) && !params.bool("unsafe_writes")
    {
        return Err(Failure::new(format!(
            "Destination {} not writable",
            dir.display()
        )));
    }
    let is_link_now = fs::symlink_metadata(&dest)
        .map(|m| m.file_type().is_symlink())
        .unwrap_or(false);
    let checksum_dest = old.as_deref().map(|o| digest(o, "sha1"));
    let mut attrs = FileAttrs::from_params(params);
    if params.str("mode") == Some("preserve") {
        // The source's mode: the remote file's, or the one the controller sent along.
        attrs.mode = match &src_path {
            Some(sp) => fs::metadata(sp).ok().map(|m| {
                json!(crate::util::mode_str(std::os::unix::fs::MetadataExt::mode(
                    &m
                )))
            }),
            None => play_src_mode.clone(),
        };
    }
    let mut r = Map::new();
    if checksum_dest.as_deref() == Some(checksum_src.as_str()) && !is_link_now {
        // What Ansible's action plugin does then: run `file` for the attributes only.
        let ch = apply_attrs(
            Path::new(&dest),
            &attrs,
            follow,
            ctx.check_mode,
            None,
            &dest,
        )?;
        r.insert("changed".into(), json!(ch || changed));
        r.insert("checksum".into(), json!(checksum_src));
        r.insert("dest".into(), json!(dest));
        if src_path.is_some() {
            // The module's own answer (remote_src): no `file` step in between.
            r.insert("md5sum".into(), json!(md5_src));
            r.insert("src".into(), json!(src_path));
        } else {
            r.insert("path".into(), json!(dest));
        }
        return Ok(r);
    }
    let diff = if ctx.diff {
        json!([diff_entry(&dest, old.as_deref(), &data)])
    } else {
        json!([])
    };
    if ctx.check_mode {
        r.insert("changed".into(), json!(true));
        r.insert("diff".into(), diff);
        return Ok(r);
    }
    // The source as the module sees it: a temporary file on the target.
    let tmpdir = tempfile::Builder::new()
        .prefix("ansible-tmp-")
        .tempdir_in(remote_tmp(ctx))
        .map_err(|e| Failure::new(format!("could not create a temporary directory: {e}")))?;
    // Ansible names the transferred file after the source's extension (the
    // destination's for `content`).
    let ext_from = basename
        .clone()
        .filter(|_| !from_content)
        .unwrap_or_else(|| dest.clone());
    let ext = Path::new(&ext_from)
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let tmp_src = tmpdir.path().join(format!(".source{ext}"));
    let reported_src = src_path
        .clone()
        .unwrap_or_else(|| tmp_src.display().to_string());
    let mut backup_file = None;
    if params.bool("backup") && Path::new(&dest).exists() {
        backup_file = Some(
            backup_local(Path::new(&dest))
                .map_err(|e| Failure::new(format!("Could not make backup of {dest}: {e}")))?,
        );
    }
    if let Some(v) = params.str("validate") {
        fs::write(&tmp_src, &data)
            .map_err(|e| Failure::new(format!("could not write {}: {e}", tmp_src.display())))?;
        let ts = tmp_src.display().to_string();
        apply_attrs(&tmp_src, &attrs, false, false, None, &ts)?;
        if !v.contains("%s") {
            return Err(Failure::new(format!("validate must contain %s: {v}"))
                .with("checksum", checksum_src.clone()));
        }
        if let Err((rc, out, err)) = crate::util::run_validate(v, &tmp_src) {
            return Err(Failure::new("failed to validate")
                .with("checksum", checksum_src.clone())
                .with("exit_status", rc)
                .with("stdout", out.clone())
                .with("stdout_lines", Value::Array(splitlines(&out)))
                .with("stderr", err.clone())
                .with("stderr_lines", Value::Array(splitlines(&err))));
        }
    }
    if is_link_now {
        let _ = fs::remove_file(&dest);
    }
    atomic_write(Path::new(&dest), &data)
        .map_err(|e| Failure::new(format!("Failed to copy '{reported_src}' to '{dest}': {e}")))?;
    let mut fa = attrs;
    if Path::new(&dest).is_dir() {
        if let Some(dm) = params.get("directory_mode") {
            fa.mode = Some(dm.clone());
        }
    }
    apply_attrs(Path::new(&dest), &fa, follow, false, None, &dest)
        .map_err(|f| f.with("checksum", checksum_src.clone()))?;
    r.insert("changed".into(), json!(true));
    r.insert("checksum".into(), json!(checksum_src));
    r.insert("dest".into(), json!(dest));
    r.insert("diff".into(), diff);
    r.insert("md5sum".into(), json!(md5_src));
    r.insert("src".into(), json!(reported_src));
    if let Some(b) = backup_file {
        r.insert("backup_file".into(), json!(b));
    }
    Ok(r)
}

/// Names Python's `filecmp.dircmp` leaves out of a comparison.
const DIRCMP_IGNORES: &[&str] = &[
    "RCS",
    "CVS",
    "tags",
    ".git",
    ".hg",
    ".bzr",
    "_darcs",
    "__pycache__",
];

/// A directory `src` on the target (`remote_src`): the tree is copied the way Ansible's
/// module does it, a new destination as a whole, an existing one by what differs (files
/// whose content differs, entries only in the source, then the common subdirectories).
fn copy_remote_dir(
    params: &crate::args::Params,
    src: &str,
    check: bool,
) -> MResult<Map<String, Value>> {
    let mut dest = params.string("dest").unwrap_or_default();
    let mut changed = false;
    if dest.ends_with('/') {
        let dir = dest.trim_end_matches('/').to_string();
        if !dir.is_empty() && !Path::new(&dir).exists() {
            if check {
                let mut r = Map::new();
                r.insert(
                    "msg".into(),
                    json!(format!("dest directory {dir} would be created")),
                );
                r.insert("changed".into(), json!(true));
                r.insert("src".into(), json!(src));
                return Ok(r);
            }
            fs::create_dir_all(&dir)
                .map_err(|e| Failure::new(format!("Failed to create {dir}: {e}")))?;
            changed = true;
        }
    }
    let base = Path::new(src.trim_end_matches('/'))
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let src_base = if src.ends_with('/') {
        String::new()
    } else {
        base.clone()
    };
    if Path::new(&dest).is_dir() {
        dest = if dest.ends_with('/') {
            format!("{dest}{src_base}")
        } else {
            format!("{dest}/{src_base}")
        };
    }
    if Path::new(&dest).exists() {
        if !params.bool("force") {
            let mut r = Map::new();
            r.insert("msg".into(), json!("file already exists"));
            r.insert("src".into(), json!(src));
            r.insert("dest".into(), json!(dest));
            r.insert("changed".into(), json!(false));
            return Ok(r);
        }
    } else {
        let parent = Path::new(dest.trim_end_matches('/'))
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        if !parent.as_os_str().is_empty() && !parent.exists() {
            return Err(Failure::new(format!(
                "Destination directory {} does not exist",
                parent.display()
            )));
        }
    }
    let owner = params.string("owner");
    let group = params.string("group");
    let chown = FileAttrs {
        mode: None,
        owner,
        group,
    };
    // The tree lands in the given dest itself, or in dest/<name> for a src without `/`.
    let orig_dest = params.string("dest").unwrap_or_default();
    let tree_dest = if src.ends_with('/') {
        PathBuf::from(&orig_dest)
    } else {
        Path::new(&orig_dest).join(&base)
    };
    let src_dir = PathBuf::from(src.trim_end_matches('/'));
    if !tree_dest.exists() {
        if !check {
            copy_tree(&src_dir, &tree_dest)?;
            chown_tree(&tree_dest, &chown, false)?;
        }
        changed = true;
    } else {
        changed |= sync_dir(&src_dir, &tree_dest, &chown, check, true)?;
        changed |= chown_tree(&tree_dest, &chown, check)?;
    }
    let mut fa = FileAttrs::from_params(params);
    if fa.mode.as_ref().and_then(|m| m.as_str()) == Some("preserve") {
        fa.mode = fs::metadata(&src_dir).ok().map(|m| {
            json!(crate::util::mode_str(std::os::unix::fs::MetadataExt::mode(
                &m
            )))
        });
    }
    if Path::new(&dest).is_dir() {
        if let Some(dm) = params.get("directory_mode") {
            fa.mode = Some(dm.clone());
        }
    }
    if Path::new(&dest).exists() || !check {
        changed |= apply_attrs(
            Path::new(&dest),
            &fa,
            params.bool("follow"),
            check,
            None,
            &dest,
        )?;
    }
    let mut r = Map::new();
    r.insert("changed".into(), json!(changed));
    r.insert("checksum".into(), Value::Null);
    r.insert("dest".into(), json!(dest));
    r.insert("md5sum".into(), Value::Null);
    r.insert("src".into(), json!(src));
    Ok(r)
}

fn io_fail(what: &str, p: &Path, e: std::io::Error) -> Failure {
    Failure::new(format!("Failed to {what} {}: {e}", p.display()))
}

/// Copies one entry (file, symlink as a symlink, directory recursively) with its mode.
fn copy_entry(src: &Path, dest: &Path) -> MResult<()> {
    let md = fs::symlink_metadata(src).map_err(|e| io_fail("read", src, e))?;
    if md.file_type().is_symlink() {
        let target = fs::read_link(src).map_err(|e| io_fail("read", src, e))?;
        std::os::unix::fs::symlink(target, dest).map_err(|e| io_fail("create", dest, e))?;
    } else if md.is_dir() {
        copy_tree(src, dest)?;
    } else {
        copy_file_mode(src, dest)?;
    }
    Ok(())
}

/// The content and the permission bits of a regular file, written atomically.
fn copy_file_mode(src: &Path, dest: &Path) -> MResult<()> {
    let data = fs::read(src).map_err(|e| io_fail("read", src, e))?;
    atomic_write(dest, &data).map_err(|e| io_fail("write", dest, e))?;
    let mode = fs::metadata(src)
        .map_err(|e| io_fail("read", src, e))?
        .permissions();
    fs::set_permissions(dest, mode).map_err(|e| io_fail("chmod", dest, e))
}

/// Python's `shutil.copytree(symlinks=True)`: the directories keep their modes too.
fn copy_tree(src: &Path, dest: &Path) -> MResult<()> {
    fs::create_dir_all(dest).map_err(|e| io_fail("create", dest, e))?;
    for name in sorted_names(src)? {
        copy_entry(&src.join(&name), &dest.join(&name))?;
    }
    let mode = fs::metadata(src)
        .map_err(|e| io_fail("read", src, e))?
        .permissions();
    fs::set_permissions(dest, mode).map_err(|e| io_fail("chmod", dest, e))
}

fn sorted_names(dir: &Path) -> MResult<Vec<std::ffi::OsString>> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .map_err(|e| io_fail("read", dir, e))?
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    names.sort();
    Ok(names)
}

/// `filecmp.cmp` as dircmp uses it: the same type, size and mtime count as equal,
/// otherwise the contents decide.
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let (Ok(ma), Ok(mb)) = (fs::metadata(a), fs::metadata(b)) else {
        return false;
    };
    if ma.file_type() != mb.file_type() || ma.size() != mb.size() {
        return false;
    }
    if ma.mtime() == mb.mtime() && ma.mtime_nsec() == mb.mtime_nsec() {
        return true;
    }
    matches!((fs::read(a), fs::read(b)), (Ok(x), Ok(y)) if x == y)
}

/// An existing destination directory brought up to the source: files whose content
/// differs, entries only in the source, then (recursively) the common subdirectories.
fn sync_dir(src: &Path, dest: &Path, chown: &FileAttrs, check: bool, top: bool) -> MResult<bool> {
    let mut changed = false;
    let dest_names: std::collections::BTreeSet<_> = sorted_names(dest)?.into_iter().collect();
    let mut common_dirs = Vec::new();
    for name in sorted_names(src)? {
        if DIRCMP_IGNORES
            .iter()
            .any(|i| name == std::ffi::OsStr::new(i))
        {
            continue;
        }
        let (s, d) = (src.join(&name), dest.join(&name));
        if !dest_names.contains(&name) {
            changed = true;
            if !check {
                copy_entry(&s, &d)?;
                chown_tree(&d, chown, false)?;
            }
            continue;
        }
        let (sd, dd) = (s.is_dir(), d.is_dir());
        if sd && dd {
            common_dirs.push(name);
        } else if !sd && !dd && s.exists() && d.exists() && !same_file(&s, &d) {
            changed = true;
            if !check {
                if fs::symlink_metadata(&s).is_ok_and(|m| m.file_type().is_symlink()) {
                    let target = fs::read_link(&s).map_err(|e| io_fail("read", &s, e))?;
                    let _ = fs::remove_file(&d);
                    std::os::unix::fs::symlink(target, &d).map_err(|e| io_fail("create", &d, e))?;
                } else {
                    copy_file_mode(&s, &d)?;
                }
                apply_attrs(&d, chown, false, false, None, &d.display().to_string())?;
            }
        }
    }
    let _ = top;
    for name in common_dirs {
        changed |= sync_dir(&src.join(&name), &dest.join(&name), chown, check, false)?;
    }
    Ok(changed)
}

/// Owner and group on every entry of a tree (`chown_recursive`).
fn chown_tree(root: &Path, chown: &FileAttrs, check: bool) -> MResult<bool> {
    if chown.owner.is_none() && chown.group.is_none() {
        return Ok(false);
    }
    let mut changed = apply_attrs(root, chown, false, check, None, &root.display().to_string())?;
    if fs::symlink_metadata(root).is_ok_and(|m| m.is_dir()) {
        for name in sorted_names(root)? {
            changed |= chown_tree(&root.join(name), chown, check)?;
        }
    }
    Ok(changed)
}

/// Where the transferred source lives while the module runs: the controller's remote_tmp,
/// else Ansible's default `~/.ansible/tmp` (the path the module reports as `src`), else
/// the system's temporary directory.
pub(crate) fn remote_tmp(ctx: &ModuleContext) -> PathBuf {
    if let Some(t) = &ctx.tmpdir {
        return t.clone();
    }
    if let Some(home) = std::env::var_os("HOME") {
        let dir = Path::new(&home).join(".ansible").join("tmp");
        let made = {
            use std::os::unix::fs::DirBuilderExt;
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
        };
        if made.is_ok() {
            return dir;
        }
    }
    std::env::temp_dir()
}

//! `unarchive`, the part that runs on the target: unpack a tar, tar.gz, tar.bz2, tar.xz or
//! zip archive into an existing directory with the `tar`, `flate2`, `bzip2`, `lzma-rs` and
//! `zip` crates (no tar/unzip binaries needed). The archive is `src` on the target
//! (`remote_src`, or a path the controller already transferred), or `_play_src` (base64)
//! when the controller sends its own file.
//!
//! As Ansible, the archive is first compared with `dest` (every member present with the
//! same type, size and content; tar members also with the same mtime) and only unpacked
//! when something differs. `extract_results.cmd` shows the command Ansible would have run.
//! `extra_opts` is ignored with a warning; URLs in `src` are not fetched here.

use crate::args::{b, file_common, i, l, p, Params, Spec, Type};
use crate::find::fnmatch_re;
use crate::util::{apply_attrs, Failure, FileAttrs, MResult};
use crate::{Args, ModuleContext, ModuleResult};
use base64::Engine;
use serde_json::{json, Map, Value};
use std::fs;
use std::io::{Cursor, Read};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

fn spec() -> Spec {
    let mut opts = vec![
        p("src").required(),
        p("dest").required(),
        b("remote_src").default(false),
        p("creates"),
        b("list_files").default(false),
        b("keep_newer").default(false),
        l("exclude").elements(Type::Str).default(json!([])),
        l("include").elements(Type::Str).default(json!([])),
        l("extra_opts").elements(Type::Str).default(json!([])),
        b("validate_certs").default(true),
        i("io_buffer_size").default(65536),
        b("copy").default(true),
        b("decrypt").default(true),
    ];
    opts.extend(file_common());
    Spec::new(opts).exclusive(&["include", "exclude"])
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Zip,
    Tar,
    Gz,
    Bz2,
    Xz,
}

impl Kind {
    fn handler(self) -> &'static str {
        match self {
            Kind::Zip => "ZipArchive",
            Kind::Tar => "TarArchive",
            Kind::Gz => "TgzArchive",
            Kind::Bz2 => "TarBzipArchive",
            Kind::Xz => "TarXzArchive",
        }
    }
    fn tar_flag(self) -> Option<&'static str> {
        match self {
            Kind::Gz => Some("-z"),
            Kind::Bz2 => Some("-j"),
            Kind::Xz => Some("-J"),
            _ => None,
        }
    }
}

fn detect(src: &Path) -> Option<Kind> {
    let mut head = vec![0u8; 512];
    let n = fs::File::open(src).ok()?.read(&mut head).ok()?;
    let h = &head[..n];
    if h.starts_with(b"PK\x03\x04") || h.starts_with(b"PK\x05\x06") {
        Some(Kind::Zip)
    } else if h.starts_with(b"\x1f\x8b") {
        Some(Kind::Gz)
    } else if h.starts_with(b"BZh") {
        Some(Kind::Bz2)
    } else if h.starts_with(b"\xfd7zXZ\x00") {
        Some(Kind::Xz)
    } else if n >= 262 && &h[257..262] == b"ustar" {
        Some(Kind::Tar)
    } else {
        None
    }
}

/// One archive member, as listed by the archive (directories end with `/`).
struct Member {
    name: String,
    is_dir: bool,
    link: Option<String>,
    /// A tar hard link (`link` names another member).
    hard: bool,
    mode: u32,
    mtime: Option<i64>,
    data: Vec<u8>,
    /// A zip member kept without compression (unzip says "extracting", not "inflating").
    stored: bool,
}

fn tar_reader(src: &Path, kind: Kind) -> MResult<Box<dyn Read>> {
    let f = fs::File::open(src)
        .map_err(|e| Failure::new(format!("Source '{}' not readable, {e}", src.display())))?;
    Ok(match kind {
        Kind::Gz => Box::new(flate2::read::MultiGzDecoder::new(f)),
        Kind::Bz2 => Box::new(bzip2::read::MultiBzDecoder::new(f)),
        Kind::Xz => {
            let mut out = Vec::new();
            lzma_rs::xz_decompress(&mut std::io::BufReader::new(f), &mut out).map_err(|e| {
                Failure::new(format!("failed to decompress {}: {e:?}", src.display()))
            })?;
            Box::new(Cursor::new(out))
        }
        _ => Box::new(f),
    })
}

fn read_members(src: &Path, kind: Kind) -> MResult<Vec<Member>> {
    let bad = |e: String| Failure::new(format!("Failed to read archive {}: {e}", src.display()));
    let mut out = Vec::new();
    if kind == Kind::Zip {
        let f = fs::File::open(src).map_err(|e| bad(e.to_string()))?;
        let mut z = zip::ZipArchive::new(f).map_err(|e| bad(e.to_string()))?;
        for idx in 0..z.len() {
            let mut e = z.by_index(idx).map_err(|e| bad(e.to_string()))?;
            let name = e.name().to_string();
            let is_dir = e.is_dir();
            let stored = e.compression() == zip::CompressionMethod::Stored;
            let mode = e.unix_mode().unwrap_or(if is_dir { 0o755 } else { 0o644 });
            let is_link = mode & 0o170000 == 0o120000;
            let mut data = Vec::new();
            if !is_dir {
                e.read_to_end(&mut data).map_err(|e| bad(e.to_string()))?;
            }
            let mtime = e.last_modified().and_then(|d| {
                let mut tm: libc::tm = unsafe { std::mem::zeroed() };
                tm.tm_year = d.year() as i32 - 1900;
                tm.tm_mon = d.month() as i32 - 1;
                tm.tm_mday = d.day() as i32;
                tm.tm_hour = d.hour() as i32;
                tm.tm_min = d.minute() as i32;
                tm.tm_sec = d.second() as i32;
                tm.tm_isdst = -1;
                let t = unsafe { libc::mktime(&mut tm) };
                (t != -1).then_some(t)
            });
            out.push(Member {
                name,
                is_dir,
                link: is_link.then(|| String::from_utf8_lossy(&data).into_owned()),
                hard: false,
                mode: mode & 0o7777,
                mtime,
                data,
                stored,
            });
        }
        return Ok(out);
    }
    let mut ar = tar::Archive::new(tar_reader(src, kind)?);
    for e in ar.entries().map_err(|e| bad(e.to_string()))? {
        let mut e = e.map_err(|e| bad(e.to_string()))?;
        let et = e.header().entry_type();
        let path = e
            .path()
            .map_err(|e| bad(e.to_string()))?
            .to_string_lossy()
            .into_owned();
        let is_dir = et.is_dir();
        let name = if is_dir && !path.ends_with('/') {
            format!("{path}/")
        } else {
            path
        };
        let link = if et.is_symlink() || et.is_hard_link() {
            e.link_name()
                .ok()
                .flatten()
                .map(|l| l.to_string_lossy().into_owned())
        } else {
            None
        };
        let mode = e.header().mode().unwrap_or(0o644) & 0o7777;
        let mtime = e.header().mtime().ok().map(|t| t as i64);
        let mut data = Vec::new();
        if et.is_file() {
            e.read_to_end(&mut data).map_err(|e| bad(e.to_string()))?;
        }
        if et.is_pax_global_extensions() || et.is_pax_local_extensions() || et.is_gnu_longname() {
            continue;
        }
        out.push(Member {
            name,
            is_dir,
            link,
            hard: et.is_hard_link(),
            mode,
            mtime,
            data,
            stored: false,
        });
    }
    Ok(out)
}

fn safe_join(dest: &Path, name: &str) -> Option<PathBuf> {
    let mut p = dest.to_path_buf();
    for c in Path::new(name).components() {
        match c {
            std::path::Component::Normal(s) => p.push(s),
            std::path::Component::CurDir => {}
            _ => return None,
        }
    }
    Some(p)
}

/// Whether `m` is already in place under `dest` (`None`: yes; `Some(code)`: an
/// rsync-style line for the zip handler's prepared diff).
fn differs(dest: &Path, m: &Member, kind: Kind) -> Option<String> {
    let path = safe_join(dest, &m.name)?;
    let md = fs::symlink_metadata(&path).ok();
    let t = if m.is_dir {
        'd'
    } else if m.link.is_some() {
        'L'
    } else {
        'f'
    };
    let Some(md) = md else {
        return Some(format!(">{t}++++++.?? {}", m.name));
    };
    if m.is_dir {
        return (!md.is_dir()).then(|| format!(">d.T...... {}", m.name));
    }
    if let Some(l) = &m.link {
        if md.file_type().is_symlink() {
            let cur = fs::read_link(&path).ok();
            return (cur.as_deref() != Some(Path::new(l))).then(|| format!("cL+++++++ {}", m.name));
        }
        // a hard link in a tar: in place when the file is there
        if m.hard && md.is_file() {
            return None;
        }
        return Some(format!(">L.T...... {}", m.name));
    }
    if !md.is_file() {
        return Some(format!(">f.T...... {}", m.name));
    }
    if md.size() != m.data.len() as u64 {
        return Some(format!(">f.s...... {}", m.name));
    }
    if fs::read(&path).ok().as_deref() != Some(&m.data[..]) {
        return Some(format!(">fc....... {}", m.name));
    }
    if kind != Kind::Zip {
        if let Some(t) = m.mtime {
            if md.mtime() != t {
                return Some(format!(">f..t..... {}", m.name));
            }
        }
    }
    None
}

fn extract(dest: &Path, members: &[Member], keep_newer: bool) -> MResult<()> {
    let is_root = unsafe { libc::geteuid() } == 0;
    let umask = crate::util::umask();
    for m in members {
        let Some(path) = safe_join(dest, &m.name) else {
            continue;
        };
        let err = |e: std::io::Error| Failure::new(format!("failed to unpack {}: {e}", m.name));
        if m.is_dir {
            fs::create_dir_all(&path).map_err(err)?;
            let mode = if is_root { m.mode } else { m.mode & !umask };
            let _ = fs::set_permissions(&path, fs::Permissions::from_mode(mode));
            continue;
        }
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(err)?;
        }
        if keep_newer {
            if let (Ok(md), Some(t)) = (fs::metadata(&path), m.mtime) {
                if md.mtime() > t {
                    continue;
                }
            }
        }
        if let Some(l) = &m.link {
            let _ = fs::remove_file(&path);
            match safe_join(dest, l).filter(|_| m.hard) {
                Some(target) => fs::hard_link(&target, &path).map_err(err)?,
                None => std::os::unix::fs::symlink(l, &path).map_err(err)?,
            }
            continue;
        }
        if fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            let _ = fs::remove_file(&path);
        }
        fs::write(&path, &m.data).map_err(err)?;
        let mode = if is_root { m.mode } else { m.mode & !umask };
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).map_err(err)?;
        if let Some(t) = m.mtime {
            let _ = crate::util::set_times(&path, t as f64, t as f64);
        }
    }
    Ok(())
}

fn inner(
    params: &Params,
    ctx: &ModuleContext,
    play_src: Option<Vec<u8>>,
) -> MResult<Map<String, Value>> {
    let mut warnings: Vec<String> = Vec::new();
    let dest = params.string("dest").unwrap_or_default();
    if let Some(c) = params.string("creates") {
        if Path::new(&c).exists() {
            let mut r = Map::new();
            r.insert("changed".into(), json!(false));
            r.insert("msg".into(), json!(format!("skipped, since {c} exists")));
            r.insert("skipped".into(), json!(true));
            return Ok(r);
        }
    }
    if !Path::new(&dest).is_dir() {
        return Err(Failure::new(format!(
            "dest '{dest}' must be an existing dir"
        )));
    }
    let mut _tmp_holder = None;
    let src: String = match play_src {
        Some(data) => {
            // Where Ansible's action puts the archive it transfers: <remote_tmp>/.../source.
            let t = tempfile::Builder::new()
                .prefix("ansible-tmp-")
                .tempdir_in(crate::copy::remote_tmp(ctx))
                .map_err(|e| Failure::new(e.to_string()))?;
            let path = t.path().join("source");
            fs::write(&path, data).map_err(|e| Failure::new(e.to_string()))?;
            _tmp_holder = Some(t);
            path.display().to_string()
        }
        None => {
            let s = params.string("src").unwrap_or_default();
            if !Path::new(&s).exists() {
                if s.contains("://") {
                    return Err(Failure::new(format!(
                        "Source '{s}' is a URL, which is not fetched natively; use get_url first"
                    )));
                }
                return Err(Failure::new(if params.bool("remote_src") {
                    format!("Source '{s}' does not exist")
                } else {
                    format!("Source '{s}' failed to transfer")
                }));
            }
            crate::util::abspath(&s).display().to_string()
        }
    };
    match fs::metadata(&src) {
        Ok(m) if m.len() == 0 => {
            return Err(Failure::new(format!(
                "Invalid archive '{src}', the file is 0 bytes"
            )))
        }
        Err(e) => return Err(Failure::new(format!("Source '{src}' not readable, {e}"))),
        _ => {}
    }
    if !params.list("extra_opts").unwrap_or_default().is_empty() {
        warnings.push("extra_opts is not supported natively and was ignored".into());
    }
    let kind = detect(Path::new(&src)).ok_or_else(|| {
        Failure::new(format!(
            "Failed to find handler for \"{src}\". Make sure the required command to extract the file is installed."
        ))
    })?;
    let abs_dest = crate::util::abspath(&dest);
    if !Path::new(&dest).is_absolute() {
        warnings.push(format!(
            "Relative destination path '{dest}' was resolved to absolute path '{}'.",
            abs_dest.display()
        ));
    }
    let mut members = read_members(Path::new(&src), kind)?;
    let inc: Vec<regex::Regex> = params
        .list("include")
        .unwrap_or_default()
        .iter()
        .map(|p| fnmatch_re(p))
        .collect();
    let exc: Vec<regex::Regex> = params
        .list("exclude")
        .unwrap_or_default()
        .iter()
        .map(|p| fnmatch_re(p))
        .collect();
    members.retain(|m| {
        let n = m.name.trim_end_matches('/');
        (inc.is_empty() || inc.iter().any(|r| r.is_match(n))) && !exc.iter().any(|r| r.is_match(n))
    });
    let diffs: Vec<String> = members
        .iter()
        .filter_map(|m| differs(&abs_dest, m, kind))
        .collect();
    let unarchived = diffs.is_empty();
    let mut r = Map::new();
    r.insert("dest".into(), json!(dest));
    r.insert("handler".into(), json!(kind.handler()));
    r.insert("src".into(), json!(src));
    let mut changed;
    if ctx.check_mode && kind != Kind::Zip {
        // Ansible's tar handler cannot tell what it would change.
        let mut r = Map::new();
        r.insert("changed".into(), json!(false));
        r.insert("skipped".into(), json!(true));
        r.insert(
            "msg".into(),
            json!("remote module (ansible.legacy.unarchive) does not support check mode when using gtar"),
        );
        return Ok(r);
    }
    let excludes = params.list("exclude").unwrap_or_default();
    if ctx.check_mode {
        changed = !unarchived;
    } else if unarchived {
        changed = false;
    } else {
        extract(&abs_dest, &members, params.bool("keep_newer"))?;
        let mut out = String::new();
        let cmd: Vec<String> = if kind == Kind::Zip {
            // What unzip prints while it unpacks, member by member.
            out = format!("Archive:  {src}\n");
            for m in &members {
                let at = abs_dest.join(&m.name).display().to_string();
                let at = if m.is_dir && !at.ends_with('/') {
                    format!("{at}/")
                } else {
                    at
                };
                if m.is_dir {
                    out.push_str(&format!("   creating: {at}\n"));
                } else if m.link.is_some() {
                    out.push_str(&format!(
                        "    linking: {at}  -> {}  \n",
                        m.link.as_deref().unwrap_or("")
                    ));
                } else if m.stored {
                    out.push_str(&format!(" extracting: {at}  \n"));
                } else {
                    out.push_str(&format!("  inflating: {at}  \n"));
                }
            }
            let mut c = vec![
                "/usr/bin/unzip".into(),
                "-o".into(),
                src.clone(),
                "-d".into(),
                abs_dest.display().to_string(),
            ];
            if !excludes.is_empty() {
                c.push("-x".into());
                c.extend(excludes.iter().cloned());
            }
            c
        } else {
            let mut c = vec![
                "/usr/bin/tar".to_string(),
                "--extract".into(),
                "-C".into(),
                abs_dest.display().to_string(),
            ];
            if let Some(f) = kind.tar_flag() {
                c.push(f.into());
            }
            c.extend(excludes.iter().map(|e| format!("--exclude={e}")));
            c.push("-f".into());
            c.push(src.clone());
            c
        };
        r.insert(
            "extract_results".into(),
            json!({"cmd": cmd, "err": "", "out": out, "rc": 0}),
        );
        changed = true;
    }
    if kind == Kind::Zip && !diffs.is_empty() {
        let mut prepared = diffs.join("\n");
        prepared.push('\n');
        r.insert("diff".into(), json!({ "prepared": prepared }));
    }
    if !ctx.check_mode {
        let fa = FileAttrs::from_params(params);
        if fa.mode.is_some() || fa.owner.is_some() || fa.group.is_some() {
            let mut tops: Vec<String> = Vec::new();
            for m in &members {
                if let Some(pth) = safe_join(&abs_dest, &m.name) {
                    let ps = pth.display().to_string();
                    if apply_attrs(&pth, &fa, false, false, None, &ps)? {
                        changed = true;
                    }
                }
                if let Some((top, _)) = m.name.split_once('/') {
                    if !tops.contains(&top.to_string()) {
                        tops.push(top.to_string());
                    }
                }
            }
            for t in tops {
                let pth = abs_dest.join(&t);
                let ps = pth.display().to_string();
                if apply_attrs(&pth, &fa, false, false, None, &ps)? {
                    changed = true;
                }
            }
        }
    }
    r.insert("changed".into(), json!(changed));
    if params.bool("list_files") {
        r.insert(
            "files".into(),
            json!(members.iter().map(|m| m.name.clone()).collect::<Vec<_>>()),
        );
    }
    crate::util::add_path_info_result(&mut r);
    if !warnings.is_empty() {
        r.insert("warnings".into(), json!(warnings));
    }
    Ok(r)
}

pub fn run(args: &Args, ctx: &ModuleContext, module: &str) -> ModuleResult {
    let mut args = args.clone();
    let play_src = match args.remove("_play_src") {
        Some(Value::String(b64)) => {
            match base64::engine::general_purpose::STANDARD.decode(b64.as_bytes()) {
                Ok(d) => Some(d),
                Err(e) => {
                    return Failure::new(format!("_play_src is not valid base64: {e}"))
                        .into_result()
                }
            }
        }
        _ => None,
    };
    args.remove("_original_basename");
    let params = match spec().validate(module, &args) {
        Ok(p) => p,
        Err(e) => return Failure::new(e).into_result(),
    };
    match inner(&params, ctx, play_src) {
        Ok(r) => r,
        Err(f) => f.into_result(),
    }
}

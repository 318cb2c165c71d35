//! `assemble`, the remote_src part: concatenate the regular files of a directory (sorted
//! by name, optionally filtered by `regexp` and `ignore_hidden`) with an optional
//! `delimiter` between fragments, and write the result to `dest` when it differs. When
//! `remote_src` is false the controller assembles its own directory and uses `copy`.

use crate::args::{b, file_common, p, s, Params, Spec};
use crate::util::{
    add_path_info_result, apply_attrs, atomic_write, backup_local, digest, Failure, FileAttrs,
    MResult,
};
use crate::{Args, ModuleContext, ModuleResult};
use regex::Regex;
use serde_json::{json, Map, Value};
use std::fs;
use std::path::Path;

fn spec() -> Spec {
    let mut opts = vec![
        p("src").required(),
        s("delimiter"),
        p("dest").required(),
        b("backup").default(false),
        b("remote_src").default(true),
        s("regexp"),
        b("ignore_hidden").default(false),
        s("validate"),
        b("decrypt").default(true),
    ];
    opts.extend(file_common());
    Spec::new(opts)
}

/// Python's `codecs.escape_decode` for the usual escapes.
fn escape_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            let c = b[i + 1];
            i += 2;
            match c {
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'r' => out.push(b'\r'),
                b'\\' => out.push(b'\\'),
                b'\'' => out.push(b'\''),
                b'"' => out.push(b'"'),
                b'a' => out.push(7),
                b'b' => out.push(8),
                b'f' => out.push(12),
                b'v' => out.push(11),
                b'0'..=b'7' => {
                    let mut v = (c - b'0') as u32;
                    let mut n = 1;
                    while n < 3 && i < b.len() && (b'0'..=b'7').contains(&b[i]) {
                        v = v * 8 + (b[i] - b'0') as u32;
                        i += 1;
                        n += 1;
                    }
                    out.push(v as u8);
                }
                b'x' if i + 1 < b.len() => {
                    match u8::from_str_radix(&s[i..i + 2], 16) {
                        Ok(v) => out.push(v),
                        Err(_) => out.extend_from_slice(b"\\x"),
                    }
                    i += 2;
                }
                b'\n' => {}
                other => {
                    out.push(b'\\');
                    out.push(other);
                }
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// The fragments of `src` joined as Ansible joins them (also used by the controller for
/// `remote_src: false`).
pub fn assemble(
    src: &str,
    delimiter: Option<&str>,
    re: Option<&Regex>,
    ignore_hidden: bool,
) -> MResult<Vec<u8>> {
    let mut names: Vec<String> = fs::read_dir(src)
        .map_err(|e| Failure::new(format!("Source ({src}) is not readable: {e}")))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let delim = delimiter.map(escape_decode);
    let mut out = Vec::new();
    let mut delimit_me = false;
    let mut add_newline = false;
    for n in names {
        if re.is_some_and(|r| !r.is_match(&n)) {
            continue;
        }
        let frag = Path::new(src).join(&n);
        if !frag.is_file() || (ignore_hidden && n.starts_with('.')) {
            continue;
        }
        let content =
            fs::read(&frag).map_err(|e| Failure::new(format!("{}: {e}", frag.display())))?;
        if add_newline {
            out.push(b'\n');
        }
        if delimit_me {
            if let Some(d) = delim.as_ref().filter(|d| !d.is_empty()) {
                out.extend_from_slice(d);
                if !d.ends_with(b"\n") {
                    out.push(b'\n');
                }
            }
        }
        out.extend_from_slice(&content);
        delimit_me = true;
        add_newline = !content.ends_with(b"\n");
    }
    Ok(out)
}

fn inner(params: &Params, ctx: &ModuleContext) -> MResult<Map<String, Value>> {
    let src = params.string("src").unwrap_or_default();
    let dest = params.string("dest").unwrap_or_default();
    let mut r = Map::new();
    r.insert("src".into(), json!(src));
    r.insert("dest".into(), json!(dest));
    if !Path::new(&src).exists() {
        return Err(Failure::new(format!("Source ({src}) does not exist")));
    }
    if !Path::new(&src).is_dir() {
        return Err(Failure::new(format!("Source ({src}) is not a directory")));
    }
    let re = params
        .str("regexp")
        .map(|x| {
            Regex::new(x).map_err(|e| Failure::new(format!("Invalid Regexp ({e}) in \"{x}\"")))
        })
        .transpose()?;
    let validate = params.string("validate");
    if let Some(v) = &validate {
        if !v.contains("%s") {
            return Err(Failure::new(format!("validate must contain %s: {v}")));
        }
    }
    let data = assemble(
        &src,
        params.str("delimiter"),
        re.as_ref(),
        params.bool("ignore_hidden"),
    )?;
    let sum = digest(&data, "sha1");
    r.insert("checksum".into(), json!(sum));
    r.insert("md5sum".into(), json!(digest(&data, "md5")));
    let dest_hash = fs::read(&dest).ok().map(|d| digest(&d, "sha1"));
    let mut changed = false;
    if Some(&sum) != dest_hash.as_ref() {
        if let Some(v) = &validate {
            let tmp = tempfile::Builder::new()
                .tempfile_in(
                    ctx.tmpdir
                        .clone()
                        .unwrap_or_else(crate::temp_file::default_tmp),
                )
                .map_err(|e| Failure::new(e.to_string()))?;
            fs::write(tmp.path(), &data).map_err(|e| Failure::new(e.to_string()))?;
            match crate::util::run_validate(v, tmp.path()) {
                Ok(()) => {
                    r.insert(
                        "validation".into(),
                        json!({"rc": 0, "stdout": "", "stderr": ""}),
                    );
                }
                Err((rc, _out, err)) => {
                    return Err(Failure::new(format!(
                        "failed to validate: rc:{rc} error:{err}"
                    )));
                }
            }
        }
        if params.bool("backup") && dest_hash.is_some() {
            let b = backup_local(Path::new(&dest))
                .map_err(|e| Failure::new(format!("Could not make backup of {dest}: {e}")))?;
            r.insert("backup_file".into(), json!(b));
        }
        if !ctx.check_mode {
            atomic_write(Path::new(&dest), &data)
                .map_err(|e| Failure::new(format!("Unable to write {dest}: {e}")))?;
        }
        changed = true;
    }
    let fa = FileAttrs::from_params(params);
    if apply_attrs(Path::new(&dest), &fa, true, ctx.check_mode, None, &dest)? {
        changed = true;
    }
    r.insert("changed".into(), json!(changed));
    r.insert("msg".into(), json!("OK"));
    add_path_info_result(&mut r);
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

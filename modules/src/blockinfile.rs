//! `blockinfile`: insert, update or remove a block of lines between marker lines.
//!
//! Works on bytes like Ansible's module (Python's `splitlines(True)` on the file content).
//! Regular expressions for `insertafter`/`insertbefore` use Rust's `regex` syntax; a
//! pattern with the inline `(?m)` flag is searched in the whole file, as Ansible does.

use crate::args::{b, file_common, p, s, Params, Spec};
use crate::util::{apply_attrs, atomic_write, backup_local, AttrDiff, Failure, FileAttrs, MResult};
use crate::{Args, ModuleContext, ModuleResult};
use regex::bytes::Regex;
use serde_json::{json, Map, Value};
use std::fs;
use std::path::Path;

fn spec() -> Spec {
    let mut opts = vec![
        p("path").required().aliases(&["dest", "destfile", "name"]),
        s("state")
            .default("present")
            .choices(&["absent", "present"]),
        s("marker").default("# {mark} ANSIBLE MANAGED BLOCK"),
        s("block").default("").aliases(&["content"]),
        s("insertafter"),
        s("insertbefore"),
        b("create").default(false),
        b("backup").default(false),
        s("validate"),
        s("marker_begin").default("BEGIN"),
        s("marker_end").default("END"),
        b("append_newline").default(false),
        b("prepend_newline").default(false),
        s("encoding").default("utf-8"),
    ];
    opts.extend(file_common());
    Spec::new(opts).exclusive(&["insertbefore", "insertafter"])
}

/// Python's `bytes.splitlines(keepends=True)` (\n, \r\n, \r).
pub(crate) fn split_keep(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let c = data[i];
        cur.push(c);
        if c == b'\n' {
            out.push(std::mem::take(&mut cur));
        } else if c == b'\r' {
            if data.get(i + 1) == Some(&b'\n') {
                cur.push(b'\n');
                i += 1;
            }
            out.push(std::mem::take(&mut cur));
        }
        i += 1;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

pub(crate) fn compile(re: &str) -> MResult<Regex> {
    Regex::new(re).map_err(|e| Failure::new(format!("Invalid regular expression {re:?}: {e}")))
}

/// Run `validate` (if any) on a temporary copy, then write atomically to the real path.
pub(crate) fn write_changes(
    params: &Params,
    ctx: &ModuleContext,
    data: &[u8],
    dest: &str,
) -> MResult<()> {
    if let Some(v) = params.str("validate") {
        if !v.contains("%s") {
            return Err(Failure::new(format!("validate must contain %s: {v}")));
        }
        let tmp = tempfile::Builder::new()
            .tempfile_in(ctx.tmpdir.clone().unwrap_or_else(std::env::temp_dir))
            .map_err(|e| Failure::new(format!("could not create a temporary file: {e}")))?;
        fs::write(tmp.path(), data).map_err(|e| Failure::new(e.to_string()))?;
        if let Err((rc, _out, err)) = crate::util::run_validate(v, tmp.path()) {
            return Err(Failure::new(format!(
                "failed to validate: rc:{rc} error:{err}"
            )));
        }
    }
    let real = crate::util::realpath(Path::new(dest));
    atomic_write(&real, data).map_err(|e| Failure::new(format!("Unable to write {dest}: {e}")))
}

/// Ansible's `check_file_attrs` of the text modules: apply owner/group/mode and extend
/// the message. Returns (msg, changed, attribute diff with headers).
pub(crate) fn check_attrs(
    params: &Params,
    ctx: &ModuleContext,
    dest: &str,
    changed: bool,
    msg: String,
) -> MResult<(String, bool, Value)> {
    let mut d = AttrDiff::default();
    let mut msg = msg;
    let mut changed = changed;
    let fa = FileAttrs::from_params(params);
    if apply_attrs(
        Path::new(dest),
        &fa,
        false,
        ctx.check_mode,
        Some(&mut d),
        dest,
    )? {
        if changed {
            msg.push_str(" and ");
        }
        changed = true;
        msg.push_str("ownership, perms or SE linux context changed");
    }
    let mut ad = Map::new();
    if !d.before.is_empty() {
        ad.insert("before".into(), Value::Object(d.before));
        ad.insert("after".into(), Value::Object(d.after));
    }
    ad.insert(
        "before_header".into(),
        json!(format!("{dest} (file attributes)")),
    );
    ad.insert(
        "after_header".into(),
        json!(format!("{dest} (file attributes)")),
    );
    Ok((msg, changed, Value::Object(ad)))
}

pub(crate) fn content_diff(dest: &str) -> Map<String, Value> {
    let mut d = Map::new();
    d.insert("before".into(), json!(""));
    d.insert("after".into(), json!(""));
    d.insert("before_header".into(), json!(format!("{dest} (content)")));
    d.insert("after_header".into(), json!(format!("{dest} (content)")));
    d
}

fn has_multiline_flag(re: &str) -> bool {
    Regex::new(r"^\(\?[a-zA-Z]*m")
        .map(|r| r.is_match(re.as_bytes()))
        .unwrap_or(false)
}

fn inner(params: &Params, ctx: &ModuleContext) -> MResult<Map<String, Value>> {
    let path = params.string("path").unwrap_or_default();
    if Path::new(&path).is_dir() {
        return Err(Failure::new(format!("Path {path} is a directory !")).with("rc", 256));
    }
    let exists = Path::new(&path).exists();
    let original: Option<Vec<u8>> = if !exists {
        if !params.bool("create") {
            return Err(Failure::new(format!("Path {path} does not exist !")).with("rc", 257));
        }
        if let Some(dir) = Path::new(&path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            if !dir.exists() && !ctx.check_mode {
                fs::create_dir_all(dir).map_err(|e| {
                    Failure::new(format!("Error creating {} Error code: {e}", dir.display()))
                })?;
            }
        }
        None
    } else {
        Some(fs::read(&path).map_err(|e| Failure::new(format!("Unable to read {path}: {e}")))?)
    };
    let mut lines = original.as_deref().map(split_keep).unwrap_or_default();
    let mut diff = content_diff(&path);
    if ctx.diff {
        if let Some(o) = original.as_ref().filter(|o| !o.is_empty()) {
            diff.insert("before".into(), json!(String::from_utf8_lossy(o)));
        }
    }
    let present = params.str("state") == Some("present");
    if !present && !exists {
        let mut r = Map::new();
        r.insert("changed".into(), json!(false));
        r.insert("msg".into(), json!(format!("File {path} not present")));
        return Ok(r);
    }
    let insertbefore = params.str("insertbefore");
    let mut insertafter = params.str("insertafter");
    if insertbefore.is_none() && insertafter.is_none() {
        insertafter = Some("EOF");
    }
    let insert_pat = match (insertafter, insertbefore) {
        (Some(a), _) if a != "EOF" => Some(a),
        (None, Some(b)) if b != "BOF" => Some(b),
        _ => None,
    };
    let insertre = insert_pat.map(compile).transpose()?;
    let marker = params.str("marker").unwrap_or_default();
    let marker0 = format!(
        "{}\n",
        marker.replace("{mark}", params.str("marker_begin").unwrap_or_default())
    )
    .into_bytes();
    let marker1 = format!(
        "{}\n",
        marker.replace("{mark}", params.str("marker_end").unwrap_or_default())
    )
    .into_bytes();
    let block = params.str("block").unwrap_or_default();
    let blocklines: Vec<Vec<u8>> = if present && !block.is_empty() {
        let mut bl = block.as_bytes().to_vec();
        if !bl.ends_with(b"\n") {
            bl.push(b'\n');
        }
        let mut v = vec![marker0.clone()];
        v.extend(split_keep(&bl));
        v.push(marker1.clone());
        v
    } else {
        Vec::new()
    };
    let (mut n0, mut n1) = (None, None);
    for (i, l) in lines.iter().enumerate() {
        if *l == marker0 {
            n0 = Some(i);
        }
        if *l == marker1 {
            n1 = Some(i);
        }
    }
    let mut pos: usize;
    match (n0, n1) {
        (Some(a), Some(bb)) => {
            if a < bb {
                lines.drain(a..=bb);
                pos = a;
            } else {
                lines.drain(bb..=a);
                pos = bb;
            }
        }
        _ => {
            if let Some(re) = &insertre {
                let orig = original.clone().unwrap_or_default();
                if has_multiline_flag(insert_pat.unwrap_or_default()) {
                    let mut found = None;
                    if let Some(m) = re.find(&orig) {
                        let upto = if insertafter.is_some() {
                            m.end()
                        } else {
                            m.start()
                        };
                        found = Some(orig[..upto].iter().filter(|&&c| c == b'\n').count());
                    }
                    pos = found.unwrap_or(lines.len());
                } else {
                    let mut found = None;
                    for (i, l) in lines.iter().enumerate() {
                        if re.is_match(l) {
                            found = Some(i);
                        }
                    }
                    pos = match found {
                        None => lines.len(),
                        Some(i) if insertafter.is_some() => i + 1,
                        Some(i) => i,
                    };
                }
            } else if insertbefore.is_some() {
                pos = 0;
            } else {
                pos = lines.len();
            }
        }
    }
    if pos > 0 && !lines[pos - 1].ends_with(b"\n") {
        lines[pos - 1].push(b'\n');
    }
    if params.bool("prepend_newline") && present && pos != 0 && lines[pos - 1] != b"\n" {
        lines.insert(pos, b"\n".to_vec());
        pos += 1;
    }
    let nblock = blocklines.len();
    lines.splice(pos..pos, blocklines);
    if params.bool("append_newline") && present {
        let after = pos + nblock;
        if after < lines.len() && lines[after] != b"\n" {
            lines.insert(after, b"\n".to_vec());
        }
    }
    let result: Vec<u8> = lines.concat();
    if ctx.diff {
        diff.insert("after".into(), json!(String::from_utf8_lossy(&result)));
    }
    let (msg, changed) = if original.as_deref() == Some(&result[..]) {
        ("", false)
    } else if original.is_none() {
        ("File created", true)
    } else if nblock == 0 {
        ("Block removed", true)
    } else {
        ("Block inserted", true)
    };
    let mut backup_file = None;
    if changed && !ctx.check_mode {
        if params.bool("backup") && exists {
            backup_file = Some(
                backup_local(Path::new(&path))
                    .map_err(|e| Failure::new(format!("Could not make backup of {path}: {e}")))?,
            );
        }
        write_changes(params, ctx, &result, &path)?;
    }
    let mut r = Map::new();
    if ctx.check_mode && !exists {
        r.insert("changed".into(), json!(changed));
        r.insert("msg".into(), json!(msg));
        r.insert("diff".into(), Value::Object(diff));
        return Ok(r);
    }
    let (msg, changed, attr_diff) = check_attrs(params, ctx, &path, changed, msg.to_string())?;
    r.insert("changed".into(), json!(changed));
    r.insert("msg".into(), json!(msg));
    r.insert("diff".into(), json!([Value::Object(diff), attr_diff]));
    if let Some(b) = backup_file {
        r.insert("backup_file".into(), json!(b));
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

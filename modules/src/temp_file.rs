//! `tempfile`: create a temporary file (mode 0600) or directory (0700) with Python's
//! `mkstemp`/`mkdtemp` naming: prefix, eight random characters, suffix.

use crate::args::{p, s, Spec};
use crate::util::{add_path_info_result, Failure};
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::json;
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;

fn spec() -> Spec {
    Spec::new(vec![
        s("state").default("file").choices(&["file", "directory"]),
        p("path"),
        s("prefix").default("ansible."),
        s("suffix").default(""),
    ])
}

fn random_name() -> String {
    const CH: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789_";
    let mut b = [0u8; 8];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = f.read_exact(&mut b);
    }
    b.iter()
        .map(|x| CH[*x as usize % CH.len()] as char)
        .collect()
}

/// Python's `tempfile.gettempdir()`: TMPDIR, TEMP, TMP, then /tmp.
pub(crate) fn default_tmp() -> PathBuf {
    for v in ["TMPDIR", "TEMP", "TMP"] {
        if let Ok(d) = std::env::var(v) {
            if !d.is_empty() && std::path::Path::new(&d).is_dir() {
                return PathBuf::from(d);
            }
        }
    }
    PathBuf::from("/tmp")
}

fn base_ok(s: &str) -> bool {
    s.is_empty() || !s.contains('/')
}

pub fn run(args: &Args, ctx: &ModuleContext, module: &str) -> ModuleResult {
    let params = match spec().validate(module, args) {
        Ok(p) => p,
        Err(e) => return Failure::new(e).into_result(),
    };
    if ctx.check_mode {
        let mut r = ModuleResult::new();
        r.insert("changed".into(), json!(false));
        r.insert(
            "msg".into(),
            json!("remote module (tempfile) does not support check mode"),
        );
        r.insert("skipped".into(), json!(true));
        return r;
    }
    let prefix = params.string("prefix").unwrap_or_default();
    let suffix = params.string("suffix").unwrap_or_default();
    if !base_ok(&prefix) {
        return Failure::new(format!(
            "prefix must be a valid file name component, got '{prefix}'"
        ))
        .into_result();
    }
    if !base_ok(&suffix) {
        return Failure::new(format!(
            "suffix must be a valid file name component, got '{suffix}'"
        ))
        .into_result();
    }
    let dir = params
        .string("path")
        .map(PathBuf::from)
        .unwrap_or_else(default_tmp);
    let dir = crate::util::abspath(&dir.display().to_string());
    let mut last_err = None;
    for _ in 0..100 {
        let path = dir.join(format!("{prefix}{}{suffix}", random_name()));
        let res = if params.str("state") == Some("directory") {
            std::fs::DirBuilder::new().mode(0o700).create(&path)
        } else {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map(|_| ())
        };
        match res {
            Ok(()) => {
                let mut r = ModuleResult::new();
                r.insert("changed".into(), json!(true));
                r.insert("path".into(), json!(path.display().to_string()));
                add_path_info_result(&mut r);
                return r;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                last_err = Some(format!(
                    "[Errno {}] {}: '{}'",
                    e.raw_os_error().unwrap_or(0),
                    crate::util::strerror(&e),
                    path.display()
                ));
                break;
            }
        }
    }
    Failure::new(last_err.unwrap_or_else(|| "No usable temporary file name found".into()))
        .into_result()
}

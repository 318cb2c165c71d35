//! Helpers shared by the package and system modules: running system tools the way
//! Ansible's `run_command` does, finding binaries as `get_bin_path` does, and the
//! validate-then-run wrapper every module uses.

use crate::args::{Params, Spec};
use crate::util::{splitlines, Failure, MResult};
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A finished process.
#[derive(Clone, Debug, Default)]
pub struct Out {
    pub rc: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Validate `args` against `spec`, then run `body`; a `Failure` becomes the failed result.
pub fn module(
    spec: Spec,
    args: &Args,
    ctx: &ModuleContext,
    name: &str,
    body: impl FnOnce(&Params, &ModuleContext) -> MResult<ModuleResult>,
) -> ModuleResult {
    let p = match spec.validate(name, args) {
        Ok(p) => p,
        Err(e) => return Failure::new(e).into_result(),
    };
    let mut r = match body(&p, ctx) {
        Ok(r) => r,
        Err(f) => f.into_result(),
    };
    if !p.warnings.is_empty() {
        let w = r.entry("warnings").or_insert_with(|| json!([]));
        if let Some(a) = w.as_array_mut() {
            a.extend(p.warnings.iter().map(|s| json!(s)));
        }
    }
    r
}

/// `get_bin_path`: PATH plus the sbin directories.
pub fn which(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return p.is_file().then_some(p);
    }
    let path = std::env::var("PATH").unwrap_or_default();
    let extra = ["/sbin", "/usr/sbin", "/usr/local/sbin", "/bin", "/usr/bin"];
    for d in path.split(':').chain(extra) {
        if d.is_empty() {
            continue;
        }
        let p = PathBuf::from(d).join(name);
        if let Ok(m) = std::fs::metadata(&p) {
            use std::os::unix::fs::PermissionsExt;
            if m.is_file() && m.permissions().mode() & 0o111 != 0 {
                return Some(p);
            }
        }
    }
    None
}

/// `get_bin_path(name, required=True)`.
pub fn need(name: &str) -> MResult<String> {
    which(name).map(|p| p.display().to_string()).ok_or_else(|| {
        // get_bin_path lists PATH and then the sbin directories PATH lacks.
        let mut paths: Vec<String> = std::env::var("PATH")
            .unwrap_or_default()
            .split(':')
            .map(str::to_string)
            .collect();
        for d in ["/sbin", "/usr/sbin", "/usr/local/sbin"] {
            if !paths.iter().any(|p| p == d) && Path::new(d).exists() {
                paths.push(d.to_string());
            }
        }
        Failure::new(format!(
            "Failed to find required executable \"{name}\" in paths: {}",
            paths.join(":")
        ))
    })
}

/// Run a command with the task's environment plus `env`, feeding `stdin`.
pub fn run(
    argv: &[String],
    env: &[(&str, &str)],
    stdin: Option<&str>,
    ctx: &ModuleContext,
) -> MResult<Out> {
    run_in(argv, env, stdin, None, ctx)
}

/// `run` in a working directory.
pub fn run_in(
    argv: &[String],
    env: &[(&str, &str)],
    stdin: Option<&str>,
    cwd: Option<&str>,
    ctx: &ModuleContext,
) -> MResult<Out> {
    let mut c = Command::new(&argv[0]);
    if let Some(d) = cwd {
        c.current_dir(d);
    }
    c.args(&argv[1..]);
    for (k, v) in &ctx.environment {
        c.env(k, v);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().map_err(|e| {
        Failure::new(format!("[Errno {}] {}", e.raw_os_error().unwrap_or(2), e))
            .with("cmd", argv.join(" "))
            .with("rc", e.raw_os_error().unwrap_or(2))
    })?;
    if let Some(data) = stdin {
        let mut si = child.stdin.take().expect("piped stdin");
        let data = data.as_bytes().to_vec();
        std::thread::spawn(move || {
            let _ = si.write_all(&data);
        });
    }
    let o = child
        .wait_with_output()
        .map_err(|e| Failure::new(e.to_string()))?;
    use std::os::unix::process::ExitStatusExt;
    Ok(Out {
        rc: o
            .status
            .code()
            .unwrap_or_else(|| -o.status.signal().unwrap_or(0)),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    })
}

/// `run` with string slices.
pub fn run_s(argv: &[&str], ctx: &ModuleContext) -> MResult<Out> {
    let v: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    run(&v, &[], None, ctx)
}

/// Argument vector from string slices.
pub fn sv(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// A result with `changed`.
pub fn res(changed: bool) -> ModuleResult {
    let mut r = ModuleResult::new();
    r.insert("changed".into(), json!(changed));
    r
}

/// Put `stdout`/`stderr` and their `_lines` into a result.
pub fn put_output(r: &mut ModuleResult, o: &Out) {
    r.insert("stdout".into(), json!(o.stdout));
    r.insert("stdout_lines".into(), Value::Array(splitlines(&o.stdout)));
    r.insert("stderr".into(), json!(o.stderr));
    r.insert("stderr_lines".into(), Value::Array(splitlines(&o.stderr)));
}

/// Whether systemd runs this host (as Ansible's `is_systemd_managed` sees it).
pub fn systemd_running() -> bool {
    std::path::Path::new("/run/systemd/system").is_dir()
}

/// A failure with rc, stdout and stderr of a command.
pub fn cmd_failure(msg: impl Into<String>, o: &Out) -> Failure {
    Failure::new(msg)
        .with("rc", o.rc)
        .with("stdout", o.stdout.clone())
        .with("stderr", o.stderr.clone())
}

/// Python's `shlex.quote`.
pub fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\"'\"'"))
    }
}

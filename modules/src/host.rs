//! The machine a module works on.
//!
//! Modules normally run inside the agent on the target, where the machine is this process's
//! own ([`Local`]). For a target the agent cannot run on (another OS or CPU architecture),
//! the controller runs the modules whose work is no more than the operations below and
//! carries each one out with a plain remote command; [`run_on`] is that entry point and
//! [`AGENTLESS`] lists those modules.

use crate::{Args, ModuleContext, ModuleResult};
use std::io;

/// A finished process.
pub struct Output {
    pub rc: i64,
    pub stdout: String,
    pub stderr: String,
}

/// What a module may ask of the machine it manages.
pub trait Host {
    /// Run `argv` (no shell) in `chdir` with `env` added to the environment, feeding
    /// `stdin`. An error is the spawn's own (no such program: ENOENT; not executable:
    /// EACCES), as `execve` reports it.
    fn exec(
        &self,
        argv: &[String],
        stdin: Option<&[u8]>,
        chdir: Option<&str>,
        env: &[(String, String)],
    ) -> io::Result<Output>;
    /// Whether a path names anything (a dangling link counts); a pattern with `*`, `?`
    /// or `[` is a glob that must match at least one path.
    fn exists(&self, pattern: &str) -> bool;
    fn is_dir(&self, path: &str) -> bool;
    /// A file's bytes; errors carry the OS error (ENOENT, EACCES, EISDIR).
    fn read(&self, path: &str) -> io::Result<Vec<u8>>;
    /// An environment variable of the process running the module.
    fn env_var(&self, name: &str) -> Option<String>;
    /// A user's home directory (`None`: the current user's).
    fn home_dir(&self, user: Option<&str>) -> Option<String>;
}

/// A child's stdout and stderr, read as Ansible's run_command reads them: until both
/// close, or until the child has exited and neither has said anything for a second. A
/// command that leaves a background process holding the pipes (`sleep 10 &`) so returns
/// when the command itself is done; the readers finish whenever that process does.
fn read_until_exit(child: &mut std::process::Child) -> io::Result<(Vec<u8>, Vec<u8>)> {
    use std::io::Read;
    use std::sync::mpsc::{channel, RecvTimeoutError};
    let (tx, rx) = channel::<(bool, Option<Vec<u8>>)>();
    let pipes: [(bool, Option<Box<dyn Read + Send>>); 2] = [
        (
            true,
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ),
        (
            false,
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ),
    ];
    let mut open = 0;
    for (is_out, pipe) in pipes {
        let Some(mut pipe) = pipe else { continue };
        open += 1;
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if tx.send((is_out, Some(buf[..n].to_vec()))).is_err() {
                            return;
                        }
                    }
                }
            }
            let _ = tx.send((is_out, None));
        });
    }
    drop(tx);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    while open > 0 {
        match rx.recv_timeout(std::time::Duration::from_secs(1)) {
            Ok((is_out, Some(d))) => {
                if is_out { &mut out } else { &mut err }.extend_from_slice(&d);
            }
            Ok((_, None)) => open -= 1,
            Err(RecvTimeoutError::Timeout) => {
                if child.try_wait()?.is_some() {
                    break;
                }
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    // The child is gone, so what it wrote is already in the pipes, but a reader thread may
    // not have handed it over yet (Ansible's select loop sees it in the pipe): take what
    // comes until the readers are done or quiet for a moment. A background process that
    // holds the pipes open is not waited for.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    while open > 0 {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left.min(std::time::Duration::from_millis(200))) {
            Ok((is_out, Some(d))) => {
                if is_out { &mut out } else { &mut err }.extend_from_slice(&d);
            }
            Ok((_, None)) => open -= 1,
            Err(_) => break,
        }
    }
    Ok((out, err))
}

/// This machine.
pub struct Local;

impl Host for Local {
    fn exec(
        &self,
        argv: &[String],
        stdin: Option<&[u8]>,
        chdir: Option<&str>,
        env: &[(String, String)],
    ) -> io::Result<Output> {
        use std::io::Write;
        use std::os::unix::process::ExitStatusExt;
        use std::process::{Command, Stdio};
        let mut c = Command::new(&argv[0]);
        c.args(&argv[1..]);
        for (k, v) in env {
            c.env(k, v);
        }
        if let Some(d) = chdir {
            c.current_dir(d);
        }
        c.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c.spawn()?;
        if let Some(data) = stdin {
            let mut si = child.stdin.take().expect("piped stdin");
            let data = data.to_vec();
            std::thread::spawn(move || {
                let _ = si.write_all(&data);
            });
        }
        let (stdout, stderr) = read_until_exit(&mut child)?;
        let status = child.wait()?;
        let rc = match status.code() {
            Some(c) => c as i64,
            None => -(status.signal().unwrap_or(0) as i64),
        };
        Ok(Output {
            rc,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        })
    }

    fn exists(&self, pattern: &str) -> bool {
        if !is_glob(pattern) {
            return std::fs::symlink_metadata(pattern).is_ok();
        }
        let c = match std::ffi::CString::new(pattern) {
            Ok(c) => c,
            Err(_) => return false,
        };
        // SAFETY: glob fills `g`, which globfree releases; no pointer outlives the call.
        let mut g: libc::glob_t = unsafe { std::mem::zeroed() };
        let rc = unsafe { libc::glob(c.as_ptr(), 0, None, &mut g) };
        let found = rc == 0 && g.gl_pathc > 0;
        unsafe { libc::globfree(&mut g) };
        found
    }

    fn is_dir(&self, path: &str) -> bool {
        std::path::Path::new(path).is_dir()
    }

    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn env_var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn home_dir(&self, user: Option<&str>) -> Option<String> {
        match user {
            None => std::env::var("HOME")
                .ok()
                .or_else(|| crate::util::user_home_by_uid(unsafe { libc::getuid() })),
            Some(u) => crate::util::user_home_by_name(u),
        }
    }
}

/// Whether a path is a glob pattern for [`Host::exists`].
pub fn is_glob(p: &str) -> bool {
    p.contains(['*', '?', '['])
}

/// The modules [`run_on`] runs on any [`Host`].
pub const AGENTLESS: &[&str] = &["command", "shell", "raw", "slurp", "ping"];

/// Run a module against `host`, for the modules of [`AGENTLESS`] (`None` for any other).
/// `name` may be the FQCN form.
pub fn run_on(
    host: &dyn Host,
    name: &str,
    args: &Args,
    ctx: &ModuleContext,
) -> Option<ModuleResult> {
    let short = crate::short_name(name);
    let m = ctx.display_name(short);
    let mut r = match short {
        "command" => crate::command::command(host, args, ctx, &m, false),
        "shell" => crate::command::command(host, args, ctx, &m, true),
        "raw" => crate::command::raw(host, args, ctx, &m),
        "slurp" => crate::slurp::run(host, args, ctx, &m),
        "ping" => crate::ping::run(args, ctx, &m),
        _ => return None,
    };
    // As `crate::run` does; none of these modules' failures names a `path` or `dest` for
    // its path description.
    r.entry("changed").or_insert(serde_json::Value::Bool(false));
    Some(r)
}

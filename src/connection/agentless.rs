//! Modules for a target the agent cannot run on (another OS or CPU architecture): the
//! controller runs the modules of [`play_modules::host::AGENTLESS`] itself, and each thing
//! they ask of the machine (run a program, test a path, read a file, an environment
//! variable) is one plain POSIX shell command on the target.

use super::params::{BecomeParams, ConnParams};
use super::ssh::{
    asks_password, become_command, become_failure, become_prompt, runtime, shell_quote, ConnError,
    Session,
};
use play_modules::host::{is_glob, Host, Output};
use russh::ChannelMsg;
use std::cell::OnceCell;
use std::collections::HashMap;
use std::io;

/// The target as [`Host`]: every operation is one command on its own channel of the
/// host's session, under become when the task asks for it.
pub(crate) struct RemoteHost<'a> {
    session: &'a Session,
    params: &'a ConnParams,
    become_as: Option<&'a BecomeParams>,
    /// The environment of a command on the target, read on first use.
    env: OnceCell<HashMap<String, String>>,
    /// Set when the session failed under a module: the task's result is then this error.
    pub(crate) lost: std::cell::RefCell<Option<ConnError>>,
}

/// Marks an `execve`-like failure on stderr: `PLAY_ERRNO <errno>`.
const ERRNO: &str = "PLAY_ERRNO ";

impl<'a> RemoteHost<'a> {
    pub(crate) fn new(
        session: &'a Session,
        params: &'a ConnParams,
        become_as: Option<&'a BecomeParams>,
    ) -> RemoteHost<'a> {
        RemoteHost {
            session,
            params,
            become_as,
            env: OnceCell::new(),
            lost: Default::default(),
        }
    }

    /// Run a script; a lost session is remembered (and reported as an I/O error here).
    fn script(&self, script: &str, stdin: Option<&[u8]>) -> io::Result<(i64, Vec<u8>, Vec<u8>)> {
        let run = run_script(self.session, self.params, self.become_as, script, stdin);
        match runtime().block_on(run) {
            Ok(r) => Ok(r),
            Err(e) => {
                let msg = e.msg.clone();
                self.lost.borrow_mut().get_or_insert(e);
                Err(io::Error::other(msg))
            }
        }
    }

    /// A script's status, with an `execve`-style errno from [`ERRNO`] as the error.
    fn status(&self, script: &str) -> io::Result<(i64, Vec<u8>)> {
        let (rc, out, err) = self.script(script, None)?;
        errno_of(&err).map_or(Ok((rc, out)), |n| Err(io::Error::from_raw_os_error(n)))
    }
}

fn errno_of(stderr: &[u8]) -> Option<i32> {
    let text = String::from_utf8_lossy(stderr);
    text.strip_prefix(ERRNO)?.trim().parse().ok()
}

/// The script that runs `argv` as `execvp` would: the program looked up in `PATH` (after
/// `env` is exported), ENOENT/EACCES reported through [`ERRNO`].
fn exec_script(argv: &[String], chdir: Option<&str>, env: &[(String, String)]) -> String {
    let mut s = String::new();
    if let Some(d) = chdir {
        s += &format!(
            "cd {} 2>/dev/null || {{ echo {ERRNO}2 >&2; exit 127; }}; ",
            shell_quote(d)
        );
    }
    for (k, v) in env {
        s += &format!("{k}={}; export {k}; ", shell_quote(v));
    }
    let prog = shell_quote(&argv[0]);
    s += &format!(
        "p={prog}; case \"$p\" in */*) f=\"$p\";; *) f=; IFS=:; \
         for d in $PATH; do if [ -f \"${{d:-.}}/$p\" ] && [ -x \"${{d:-.}}/$p\" ]; then f=\"${{d:-.}}/$p\"; break; fi; done; \
         unset IFS;; esac; \
         [ -n \"$f\" ] && [ -e \"$f\" ] || {{ echo {ERRNO}2 >&2; exit 127; }}; \
         [ -f \"$f\" ] && [ -x \"$f\" ] || {{ echo {ERRNO}13 >&2; exit 126; }}; exec \"$f\""
    );
    for a in &argv[1..] {
        s.push(' ');
        s += &shell_quote(a);
    }
    s
}

/// A glob pattern as shell words: the wildcards bare, everything else quoted (a bracket
/// expression stays bare only when it holds nothing the shell would read otherwise).
fn glob_words(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let (mut out, mut lit) = (String::new(), String::new());
    let flush = |out: &mut String, lit: &mut String| {
        if !lit.is_empty() {
            out.push_str(&shell_quote(lit));
            lit.clear();
        }
    };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '*' || c == '?' {
            flush(&mut out, &mut lit);
            out.push(c);
        } else if c == '[' {
            let close = chars[i + 1..]
                .iter()
                .skip(1)
                .position(|&x| x == ']')
                .map(|p| i + 2 + p);
            let bare = close.filter(|&e| {
                chars[i + 1..e]
                    .iter()
                    .all(|x| x.is_ascii_alphanumeric() || "!^-._".contains(*x))
            });
            match bare {
                Some(e) => {
                    flush(&mut out, &mut lit);
                    out.extend(&chars[i..=e]);
                    i = e;
                }
                None => lit.push(c),
            }
        } else {
            lit.push(c);
        }
        i += 1;
    }
    flush(&mut out, &mut lit);
    out
}

impl Host for RemoteHost<'_> {
    fn exec(
        &self,
        argv: &[String],
        stdin: Option<&[u8]>,
        chdir: Option<&str>,
        env: &[(String, String)],
    ) -> io::Result<Output> {
        let (rc, out, err) = self.script(&exec_script(argv, chdir, env), stdin)?;
        if let Some(n) = errno_of(&err) {
            return Err(io::Error::from_raw_os_error(n));
        }
        Ok(Output {
            rc,
            stdout: String::from_utf8_lossy(&out).into_owned(),
            stderr: String::from_utf8_lossy(&err).into_owned(),
        })
    }

    fn exists(&self, pattern: &str) -> bool {
        let test = "if [ -e \"$f\" ] || [ -L \"$f\" ]; then exit 0; fi";
        let script = if is_glob(pattern) {
            format!("for f in {}; do {test}; done; exit 1", glob_words(pattern))
        } else {
            format!("f={}; {test}; exit 1", shell_quote(pattern))
        };
        matches!(self.status(&script), Ok((0, _)))
    }

    fn is_dir(&self, path: &str) -> bool {
        matches!(
            self.status(&format!("[ -d {} ]", shell_quote(path))),
            Ok((0, _))
        )
    }

    fn read(&self, path: &str) -> io::Result<Vec<u8>> {
        let f = shell_quote(path);
        let script = format!(
            "f={f}; if [ ! -e \"$f\" ]; then echo {ERRNO}2 >&2; exit 1; fi; \
             if [ -d \"$f\" ]; then echo {ERRNO}21 >&2; exit 1; fi; \
             if [ ! -r \"$f\" ]; then echo {ERRNO}13 >&2; exit 1; fi; exec cat -- \"$f\""
        );
        let (rc, out, err) = self.script(&script, None)?;
        if let Some(n) = errno_of(&err) {
            return Err(io::Error::from_raw_os_error(n));
        }
        if rc != 0 {
            return Err(io::Error::other(
                String::from_utf8_lossy(&err).trim().to_string(),
            ));
        }
        Ok(out)
    }

    fn env_var(&self, name: &str) -> Option<String> {
        let env = self.env.get_or_init(|| match self.status("env") {
            Ok((0, out)) => parse_env(&String::from_utf8_lossy(&out)),
            _ => HashMap::new(),
        });
        env.get(name).cloned()
    }

    fn home_dir(&self, user: Option<&str>) -> Option<String> {
        let Some(user) = user else {
            return self.env_var("HOME");
        };
        // Tilde expansion takes only a bare login name.
        if user.is_empty()
            || !user
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return None;
        }
        match self.status(&format!("printf '%s' ~{user}")) {
            Ok((0, out)) => {
                let home = String::from_utf8_lossy(&out).into_owned();
                (!home.starts_with('~') && !home.is_empty()).then_some(home)
            }
            _ => None,
        }
    }
}

/// `env` output: `NAME=value` lines, where a line without `=` continues the value above.
fn parse_env(text: &str) -> HashMap<String, String> {
    let mut env = HashMap::new();
    let mut last: Option<String> = None;
    for line in text.lines() {
        match line.split_once('=') {
            Some((k, v))
                if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                env.insert(k.to_string(), v.to_string());
                last = Some(k.to_string());
            }
            _ => {
                if let Some(v) = last.as_ref().and_then(|k| env.get_mut(k)) {
                    v.push('\n');
                    v.push_str(line);
                }
            }
        }
    }
    env
}

/// Signal names as SSH reports them, with Linux's numbers (a command killed by one gets
/// `rc` = minus the number, as Ansible's run_command reports it).
fn signal_number(name: &russh::Sig) -> i64 {
    use russh::Sig;
    match name {
        Sig::ABRT => 6,
        Sig::ALRM => 14,
        Sig::FPE => 8,
        Sig::HUP => 1,
        Sig::ILL => 4,
        Sig::INT => 2,
        Sig::KILL => 9,
        Sig::PIPE => 13,
        Sig::QUIT => 3,
        Sig::SEGV => 11,
        Sig::TERM => 15,
        Sig::USR1 => 10,
        Sig::Custom(_) => 0,
    }
}

/// Send a command's whole stdin, then end it.
async fn feed(wr: &russh::ChannelWriteHalf<russh::client::Msg>, stdin: Option<&[u8]>) {
    if let Some(d) = stdin {
        let _ = wr.data_bytes(bytes::Bytes::copy_from_slice(d)).await;
    }
    let _ = wr.eof().await;
}

/// Run a POSIX shell script on its own channel, as the login user or under become, feeding
/// `stdin` once the script runs: its exit code (minus the signal's number when one ended
/// it), stdout and stderr. Become passwords are answered at the prompt, as for the agent.
pub(crate) async fn run_script(
    session: &Session,
    params: &ConnParams,
    become_as: Option<&BecomeParams>,
    script: &str,
    stdin: Option<&[u8]>,
) -> Result<(i64, Vec<u8>, Vec<u8>), ConnError> {
    let prompt = become_prompt();
    let marker = format!("PLAY-BECOME-SUCCESS-{:016x}", rand::random::<u64>());
    let line = match become_as {
        Some(b) => become_command(b, &prompt, &format!("echo {marker}; {script}"))?,
        None => format!("sh -c {}", shell_quote(script)),
    };
    let ch = session
        .channel_open_session()
        .await
        .map_err(|e| ConnError::ssh(format!("cannot open a channel: {e}")))?;
    ch.exec(true, line)
        .await
        .map_err(|e| ConnError::ssh(format!("cannot run the command: {e}")))?;
    let (mut rd, wr) = ch.split();
    // Under become, stdout up to the marker line and stderr until then are the become
    // program's; stdin waits for the marker.
    let mut started = become_as.is_none();
    if started {
        feed(&wr, stdin).await;
    }
    let (mut out, mut err, mut code, mut answered) = (Vec::new(), Vec::new(), None, false);
    while let Some(msg) = rd.wait().await {
        match msg {
            ChannelMsg::Data { data } => {
                out.extend_from_slice(&data);
                if !started {
                    let text = String::from_utf8_lossy(&out).into_owned();
                    if let Some(pos) = text.find(&marker) {
                        let rest = text[pos + marker.len()..].trim_start_matches('\n');
                        out = rest.as_bytes().to_vec();
                        err.clear();
                        started = true;
                        feed(&wr, stdin).await;
                    }
                }
            }
            ChannelMsg::ExtendedData { data, .. } => {
                err.extend_from_slice(&data);
                if let (false, Some(b)) = (started, become_as) {
                    let text = String::from_utf8_lossy(&err).into_owned();
                    if asks_password(&text, &b.method, &prompt) {
                        match (&b.password, answered) {
                            (Some(pw), false) => {
                                answered = true;
                                err.clear();
                                let _ = wr.data(format!("{pw}\n").as_bytes()).await;
                            }
                            (Some(_), true) => {
                                let _ = wr.close().await;
                                return Err(ConnError::failed(format!(
                                    "Incorrect {} password",
                                    b.method
                                )));
                            }
                            (None, _) => {
                                let _ = wr.close().await;
                                return Err(ConnError::failed(format!(
                                    "Missing {} password",
                                    b.method
                                )));
                            }
                        }
                    }
                }
            }
            ChannelMsg::ExitStatus { exit_status } => code = Some(exit_status as i64),
            ChannelMsg::ExitSignal { signal_name, .. } => code = Some(-signal_number(&signal_name)),
            ChannelMsg::Close => break,
            _ => {}
        }
    }
    if let (false, Some(b)) = (started, become_as) {
        let text = String::from_utf8_lossy(&err).into_owned();
        return Err(become_failure(&b.method, text.trim()));
    }
    let code = code.ok_or_else(|| {
        ConnError::unreachable(format!(
            "The SSH session to {} closed during the command",
            params.inventory_name
        ))
    })?;
    Ok((code, out, err))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a script locally with `sh -c`, as the target's shell would.
    fn sh(script: &str) -> (i32, String, String) {
        let o = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .output()
            .unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }

    #[test]
    fn exec_script_finds_programs_like_execvp() {
        let argv = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (rc, out, _) = sh(&exec_script(
            &argv(&["echo", "a b", "it's"]),
            Some("/"),
            &[],
        ));
        assert_eq!((rc, out.as_str()), (0, "a b it's\n"));
        let (rc, out, _) = sh(&exec_script(
            &argv(&["sh", "-c", "echo \"$X\"; pwd"]),
            Some("/tmp"),
            &[("X".into(), "v 'q'".into())],
        ));
        assert_eq!((rc, out.as_str()), (0, "v 'q'\n/tmp\n"));
        // `cd` is a builtin, not a program: execvp does not find it.
        let (_, _, err) = sh(&exec_script(&argv(&["cd"]), None, &[]));
        assert_eq!(errno_of(err.as_bytes()), Some(2));
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("not-executable");
        std::fs::write(&plain, "echo no\n").unwrap();
        let plain = plain.display().to_string();
        let (_, _, err) = sh(&exec_script(&argv(&[plain.as_str()]), None, &[]));
        assert_eq!(errno_of(err.as_bytes()), Some(13));
        let (_, _, err) = sh(&exec_script(&argv(&["/no/such"]), None, &[]));
        assert_eq!(errno_of(err.as_bytes()), Some(2));
        let (_, _, err) = sh(&exec_script(&argv(&["true"]), Some("/no/such/dir"), &[]));
        assert_eq!(errno_of(err.as_bytes()), Some(2));
    }

    #[test]
    fn glob_words_quote_all_but_the_wildcards() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["a b.txt", "a;b.log", "x1", "x2"] {
            std::fs::write(dir.path().join(f), "").unwrap();
        }
        let d = dir.path().display().to_string();
        let matches = |pat: &str| {
            let (_, out, _) = sh(&format!(
                "for f in {}; do [ -e \"$f\" ] && echo \"$f\"; done",
                glob_words(&format!("{d}/{pat}"))
            ));
            out.lines()
                .map(|l| l.rsplit('/').next().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(matches("a b*"), ["a b.txt"]);
        assert_eq!(matches("a;b.*"), ["a;b.log"]);
        assert_eq!(matches("x[0-1]"), ["x1"]);
        assert_eq!(matches("x[!1]"), ["x2"]);
        assert_eq!(matches("x?"), ["x1", "x2"]);
        assert!(matches("$(touch z)*").is_empty());
        assert!(!dir.path().join("z").exists());
    }

    #[test]
    fn env_output_is_parsed_with_continued_values() {
        let env = parse_env("HOME=/root\nMULTI=one\ntwo\nPATH=/bin:/usr/bin\n");
        assert_eq!(env["HOME"], "/root");
        assert_eq!(env["MULTI"], "one\ntwo");
        assert_eq!(env["PATH"], "/bin:/usr/bin");
    }
}

//! `expect`: run a command on a pseudo-terminal and answer its prompts.
//!
//! As Ansible's (pexpect.run): the command is split like a shell word list and run without
//! a shell; the output is read from the terminal and each `responses` key is a regular
//! expression searched from where the last match ended (the earliest match wins, ties go
//! to the first key); a string answer is sent again each time, a list answers successive
//! matches and fails when it runs out. `timeout` bounds the wait for the next prompt or the
//! end of the command. Terminal echo is off unless `echo: true`, so answers (passwords) do
//! not appear in the output. Not supported: Python-only regular expression syntax.

use crate::args::{b, d, p, py_str, py_type, r, s, Spec};
use crate::util::{shlex_split, timedelta_str, Failure, LocalTime};
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::time::{Duration, Instant};

enum Answer {
    Always(String),
    InTurn(Vec<String>, usize),
}

struct Prompt {
    key: String,
    re: regex::bytes::Regex,
    answer: Answer,
}

pub fn run(args: &Args, ctx: &ModuleContext, module: &str) -> ModuleResult {
    let spec = Spec::new(vec![
        s("command").required(),
        p("chdir"),
        p("creates"),
        p("removes"),
        d("responses").required(),
        r("timeout").default(json!(30)),
        b("echo").default(false),
    ]);
    let params = match spec.validate(module, args) {
        Ok(p) => p,
        Err(e) => return Failure::new(e).into_result(),
    };
    if ctx.check_mode {
        let mut r = ModuleResult::new();
        r.insert("changed".into(), json!(false));
        r.insert(
            "msg".into(),
            json!("remote module (expect) does not support check mode"),
        );
        r.insert("skipped".into(), json!(true));
        return r;
    }
    let command = params.string("command").unwrap_or_default();
    let timeout = match params.get("timeout") {
        None | Some(Value::Null) => None,
        Some(v) => match v
            .as_u64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        {
            Some(n) => Some(Duration::from_secs(n)),
            None => {
                return Failure::new(format!(
                    "argument 'timeout' is of type {} and we were unable to convert to int",
                    py_type(v)
                ))
                .into_result()
            }
        },
    };
    let Some(Value::Object(responses)) = params.get("responses").cloned() else {
        return Failure::new("missing required arguments: responses").into_result();
    };
    let mut prompts = Vec::new();
    for (key, value) in responses {
        let re = match regex::bytes::Regex::new(&key) {
            Ok(r) => r,
            Err(e) => {
                return Failure::new(format!("invalid regular expression '{key}': {e}"))
                    .into_result()
            }
        };
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            other => py_str(other),
        };
        let answer = match &value {
            Value::Array(list) => Answer::InTurn(list.iter().map(text).collect(), 0),
            other => Answer::Always(text(other).trim_end_matches('\n').to_string()),
        };
        prompts.push(Prompt { key, re, answer });
    }
    if command.trim().is_empty() {
        return Failure::new("no command given")
            .with("rc", 256)
            .into_result();
    }
    let chdir = params.string("chdir");
    let exists = |p: &str| {
        let path = std::path::Path::new(p);
        match &chdir {
            Some(d) if path.is_relative() => std::path::Path::new(d).join(path).exists(),
            _ => path.exists(),
        }
    };
    let skipped = |stdout: String| {
        let mut r = ModuleResult::new();
        r.insert("cmd".into(), json!(command));
        r.insert("stdout".into(), json!(stdout));
        r.insert("changed".into(), json!(false));
        r.insert("rc".into(), json!(0));
        r
    };
    if let Some(c) = params.string("creates") {
        if exists(&c) {
            return skipped(format!("skipped, since {c} exists"));
        }
    }
    if let Some(rm) = params.string("removes") {
        if !exists(&rm) {
            return skipped(format!("skipped, since {rm} does not exist"));
        }
    }
    let argv = match shlex_split(&command) {
        Ok(a) if !a.is_empty() => a,
        Ok(_) => {
            return Failure::new("no command given")
                .with("rc", 256)
                .into_result()
        }
        Err(e) => return Failure::new(e).into_result(),
    };
    let t0 = Instant::now();
    let start = LocalTime::now();
    let outcome = converse(
        &argv,
        chdir.as_deref(),
        ctx,
        &mut prompts,
        timeout,
        params.bool("echo"),
    );
    let end = LocalTime::now();
    let (out, rc) = match outcome {
        Ok(x) => x,
        Err(Conversation::Failed(msg)) => return Failure::new(msg).into_result(),
        Err(Conversation::NoAnswer(key, last)) => {
            return Failure::new(format!(
                "No remaining responses for '{key}', output was '{}'",
                py_bytes_repr(&last)
            ))
            .into_result()
        }
    };
    let mut r = ModuleResult::new();
    r.insert("cmd".into(), json!(command));
    r.insert(
        "stdout".into(),
        json!(String::from_utf8_lossy(&out).trim_end_matches(['\r', '\n'])),
    );
    if let Some(c) = rc {
        r.insert("rc".into(), json!(c));
    }
    r.insert("start".into(), json!(start.datetime_str()));
    r.insert("end".into(), json!(end.datetime_str()));
    r.insert("delta".into(), json!(timedelta_str(t0.elapsed())));
    r.insert("changed".into(), json!(true));
    match rc {
        None => {
            r.insert("failed".into(), json!(true));
            r.insert("msg".into(), json!("command exceeded timeout"));
        }
        Some(0) => {}
        Some(_) => {
            r.insert("failed".into(), json!(true));
            r.insert("msg".into(), json!("non-zero return code"));
        }
    }
    r
}

enum Conversation {
    Failed(String),
    /// A list of answers ran out: the key and the output from the previous prompt through
    /// this one.
    NoAnswer(String, Vec<u8>),
}

/// Run the command on a new terminal and answer it. Returns the output and the exit code
/// (None when the timeout passed and the command was killed).
fn converse(
    argv: &[String],
    chdir: Option<&str>,
    ctx: &ModuleContext,
    prompts: &mut [Prompt],
    timeout: Option<Duration>,
    echo: bool,
) -> Result<(Vec<u8>, Option<i32>), Conversation> {
    let (master, slave) =
        open_pty(echo).map_err(|e| Conversation::Failed(format!("cannot open a terminal: {e}")))?;
    let mut cmd = std::process::Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    if let Some(d) = chdir {
        cmd.current_dir(d);
    }
    for (k, v) in &ctx.environment {
        cmd.env(k, v);
    }
    let io = |fd: &OwnedFd| fd.try_clone().map(std::process::Stdio::from);
    let fail = |e: std::io::Error| Conversation::Failed(e.to_string());
    cmd.stdin(io(&slave).map_err(fail)?)
        .stdout(io(&slave).map_err(fail)?)
        .stderr(io(&slave).map_err(fail)?);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            libc::ioctl(0, libc::TIOCSCTTY as _, 0);
            Ok(())
        });
    }
    // pexpect words every failure to start the command the same way, whatever the cause.
    let mut child = cmd.spawn().map_err(|_| {
        Conversation::Failed(format!(
            "The command was not found or was not executable: {}.",
            argv[0]
        ))
    })?;
    // The child holds the terminal now: the end of the output is when it lets go.
    drop(cmd);
    drop(slave);
    let mut master = std::fs::File::from(master);
    let mut out = Vec::new();
    let mut searched = 0;
    let mut last_event = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        let wait_ms = match timeout {
            Some(t) => match t.checked_sub(last_event.elapsed()) {
                Some(left) => left.as_millis().min(i32::MAX as u128) as i32,
                None => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Ok((out, None));
                }
            },
            None => -1,
        };
        let mut pfd = libc::pollfd {
            fd: master.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, wait_ms.max(0)) };
        if n == 0 {
            continue; // the timeout check above ends it
        }
        let got = match master.read(&mut buf) {
            Ok(0) | Err(_) => break, // EIO: every holder of the terminal is gone
            Ok(n) => n,
        };
        out.extend_from_slice(&buf[..got]);
        // Answer every prompt now visible, earliest first.
        while let Some((i, end)) = earliest(prompts, &out[searched..]) {
            let segment = out[searched..searched + end].to_vec();
            searched += end;
            last_event = Instant::now();
            let p = &mut prompts[i];
            let text = match &mut p.answer {
                Answer::Always(t) => t.clone(),
                Answer::InTurn(list, next) => match list.get(*next) {
                    Some(t) => {
                        *next += 1;
                        t.clone()
                    }
                    None => {
                        let _ = child.kill();
                        let _ = child.wait();
                        return Err(Conversation::NoAnswer(p.key.clone(), segment));
                    }
                },
            };
            let _ = master.write_all(format!("{text}\n").as_bytes());
        }
    }
    let status = child
        .wait()
        .map_err(|e| Conversation::Failed(e.to_string()))?;
    let rc = status.code().or_else(|| status.signal().map(|s| -s));
    Ok((out, rc))
}

/// The prompt whose match starts first in `text` (ties: the first prompt), and where it ends.
fn earliest(prompts: &[Prompt], text: &[u8]) -> Option<(usize, usize)> {
    prompts
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.re.find(text).map(|m| (m.start(), i, m.end())))
        .min_by_key(|(start, i, _)| (*start, *i))
        .map(|(_, i, end)| (i, end))
}

fn open_pty(echo: bool) -> std::io::Result<(OwnedFd, OwnedFd)> {
    let (mut m, mut s) = (0, 0);
    // SAFETY: openpty writes two descriptors we then own.
    let rc = unsafe {
        libc::openpty(
            &mut m,
            &mut s,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(m), OwnedFd::from_raw_fd(s)) };
    if !echo {
        // SAFETY: termios is plain data, filled by tcgetattr.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(slave.as_raw_fd(), &mut t) == 0 {
                t.c_lflag &= !libc::ECHO;
                libc::tcsetattr(slave.as_raw_fd(), libc::TCSANOW, &t);
            }
        }
    }
    Ok((master, slave))
}

/// Python's repr of a bytes object (`b'Q? '`), as Ansible's message shows the output.
fn py_bytes_repr(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut s = format!("b{quote}");
    for &c in b {
        match c {
            b'\\' => s.push_str("\\\\"),
            b'\t' => s.push_str("\\t"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            c if c as char == quote => {
                s.push('\\');
                s.push(quote);
            }
            0x20..=0x7e => s.push(c as char),
            c => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s.push(quote);
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn bytes_repr() {
        assert_eq!(super::py_bytes_repr(b" Q?"), "b' Q?'");
        assert_eq!(
            super::py_bytes_repr(b"it's\r\n\x01"),
            "b\"it's\\r\\n\\x01\""
        );
        assert_eq!(super::py_bytes_repr(b"a'\"b"), "b'a\\'\"b'");
    }
}

//! `become` to another user on the local connection: the agent (this binary, `__agent`)
//! runs under sudo or su as that user, and modules go to it over its stdin and stdout with
//! the same framed protocol the SSH agents speak. The sudo and su command lines, the prompt
//! and the failure messages are the SSH transport's.

use super::agent::{read_frame, write_frame, Request, Response};
use super::params::BecomeParams;
use super::ssh::{asks_password, become_command, become_failure, become_prompt, shell_quote};
use play_modules::{Args, ModuleContext, ModuleResult};
use std::io::{BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long sudo or su may take to ask for a password or start the agent.
const START_TIMEOUT: Duration = Duration::from_secs(30);

struct Pipes {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

/// One agent running as a become user.
pub struct LocalAgent {
    pipes: Mutex<Pipes>,
    next_id: AtomicU64,
}

impl Drop for LocalAgent {
    fn drop(&mut self) {
        let p = self.pipes.get_mut().unwrap_or_else(|e| e.into_inner());
        // Closing its input ends the agent; it must not outlive the run.
        let _ = p.child.kill();
        let _ = p.child.wait();
    }
}

/// Why the become program ended before the agent started: a password problem in the
/// words the SSH transport uses, anything else as Ansible's local connection says it.
fn ended_early(b: &BecomeParams, stderr: &str) -> String {
    let known = become_failure(&b.method, stderr).msg;
    if !known.starts_with("privilege escalation failed") {
        return known;
    }
    let mut msg = String::from("Premature end of stream waiting for become success");
    if b.password.is_some() {
        msg.push_str(" or become password prompt");
    }
    msg.push('.');
    if !stderr.is_empty() {
        msg.push_str("\n>>> Standard Error\n");
        msg.push_str(stderr);
    }
    msg
}

/// A copy of the agent binary that any user may run: the original may sit where the become user
/// cannot reach it (under /root). Made once per run, in a fresh directory owned by the
/// controller's user and writable by no one else.
fn shared_binary() -> Result<PathBuf, String> {
    static COPY: OnceLock<Result<(tempfile::TempDir, PathBuf), String>> = OnceLock::new();
    let made = COPY.get_or_init(|| {
        use std::os::unix::fs::PermissionsExt;
        let exe = super::agent_install::default_binary().map_err(|e| e.to_string())?;
        let dir = tempfile::Builder::new()
            .prefix("play-become-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let dest = dir.path().join("play");
        std::fs::copy(&exe, &dest).map_err(|e| e.to_string())?;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .map_err(|e| e.to_string())?;
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| e.to_string())?;
        Ok((dir, dest))
    });
    made.as_ref().map(|(_, p)| p.clone()).map_err(Clone::clone)
}

impl LocalAgent {
    /// The shell command line that starts the agent as the become user, with `prompt` as
    /// the password prompt the become program shows.
    pub fn command_line(b: &BecomeParams, prompt: &str) -> Result<String, String> {
        let bin = shared_binary().map_err(|e| format!("cannot prepare the agent: {e}"))?;
        let script = format!("exec {} __agent", shell_quote(&bin.display().to_string()));
        become_command(b, prompt, &script).map_err(|e| e.msg)
    }

    /// Start the agent as the become user, answering the password prompt if one comes.
    pub fn start(b: &BecomeParams) -> Result<LocalAgent, String> {
        let prompt = become_prompt();
        // The prompt the controller waits for must be the one in the command line.
        let line = Self::command_line(b, &prompt)?;
        let mut child = Command::new("/bin/sh")
            .args(["-c", &line])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", b.method))?;
        let mut input = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");

        // The hello frame on stdout means the agent runs; stderr carries prompts and errors.
        let (hello_tx, hello_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut out = BufReader::new(stdout);
            let r = read_frame(&mut out).map(|f| (f, out));
            let _ = hello_tx.send(r);
        });
        let said = Arc::new(Mutex::new(String::new()));
        let said_w = said.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&buf[..n]).to_string();
                said_w
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push_str(&text);
            }
        });
        let start = Instant::now();
        let mut answered = false;
        let fail = |child: &mut Child, e: String| {
            let _ = child.kill();
            let _ = child.wait();
            Err(e)
        };
        loop {
            match hello_rx.recv_timeout(Duration::from_millis(50)) {
                Ok(Ok((Some(_hello), output))) => {
                    return Ok(LocalAgent {
                        pipes: Mutex::new(Pipes {
                            child,
                            input,
                            output,
                        }),
                        next_id: AtomicU64::new(1),
                    })
                }
                Ok(_) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                    // The agent never started: what sudo or su said is why.
                    let _ = child.wait();
                    std::thread::sleep(Duration::from_millis(50));
                    let text = said.lock().unwrap_or_else(|e| e.into_inner()).clone();
                    return Err(ended_early(b, text.trim()));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            let text = said.lock().unwrap_or_else(|e| e.into_inner()).clone();
            if !answered && asks_password(&text, &b.method, &prompt) {
                let Some(pw) = &b.password else {
                    return fail(&mut child, format!("Missing {} password", b.method));
                };
                answered = true;
                if input.write_all(format!("{pw}\n").as_bytes()).is_err() {
                    return fail(&mut child, become_failure(&b.method, &text).msg);
                }
                let _ = input.flush();
            } else if answered && asks_password(&text.replacen(&prompt, "", 1), &b.method, &prompt)
            {
                // Asked again: the password was wrong.
                return fail(&mut child, format!("Incorrect {} password", b.method));
            }
            if start.elapsed() > START_TIMEOUT {
                return fail(
                    &mut child,
                    format!(
                        "Timeout ({}s) waiting for privilege escalation prompt: {}",
                        START_TIMEOUT.as_secs(),
                        text.trim()
                    ),
                );
            }
        }
    }

    /// Run a module as the become user.
    pub fn run_module(&self, name: &str, args: &Args, ctx: &ModuleContext) -> ModuleResult {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let req = Request::Run {
            id,
            module: name.to_string(),
            args: args.clone(),
            ctx: ctx.clone(),
        };
        let mut p = self.pipes.lock().unwrap_or_else(|e| e.into_inner());
        let answer = (|| -> Result<Response, String> {
            let body = serde_json::to_vec(&req).map_err(|e| e.to_string())?;
            write_frame(&mut p.input, &body).map_err(|e| e.to_string())?;
            p.input.flush().map_err(|e| e.to_string())?;
            let frame = read_frame(&mut p.output)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| "the become agent ended".to_string())?;
            serde_json::from_slice(&frame).map_err(|e| e.to_string())
        })();
        match answer {
            Ok(r) => r.result,
            Err(e) => {
                let mut r = ModuleResult::new();
                r.insert("failed".into(), true.into());
                r.insert(
                    "msg".into(),
                    format!("the agent running as the become user failed: {e}").into(),
                );
                r
            }
        }
    }
}

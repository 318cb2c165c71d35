//! Asking for a vault password: without echo on a terminal; from a piped stdin as
//! Python's getpass falls back to, so `echo pw | play --ask-vault-pass` works as with Ansible.

use std::io::{BufRead, Write};

/// Ask once; the answer without surrounding whitespace. `id` names the secret in errors.
pub fn ask(question: &str, id: &str) -> Result<Vec<u8>, String> {
    let mut err = std::io::stderr();
    let _ = write!(err, "{question}");
    let _ = err.flush();
    let tty = unsafe { libc::isatty(0) } == 1;
    let saved = if tty { echo_off() } else { None };
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if let Some(t) = saved {
        // SAFETY: restores the terminal attributes read from fd 0 by echo_off.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &t) };
        let _ = writeln!(err);
    }
    match read {
        Ok(0) | Err(_) => Err(format!("EOFError (ctrl-d) on prompt for ({id})")),
        Ok(_) => {
            let pass = line.trim().as_bytes().to_vec();
            if pass.is_empty() {
                return Err("Invalid vault password was provided".into());
            }
            Ok(pass)
        }
    }
}

/// Turn terminal echo off on fd 0; the previous attributes to restore.
fn echo_off() -> Option<libc::termios> {
    // SAFETY: termios is plain data; tcgetattr fills it for a terminal fd.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(0, &mut t) != 0 {
            return None;
        }
        let saved = t;
        t.c_lflag &= !libc::ECHO;
        libc::tcsetattr(0, libc::TCSANOW, &t);
        Some(saved)
    }
}

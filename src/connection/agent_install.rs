//! Getting the agent running on a target: which local binary is the agent, the bytes sent
//! for it, and the one shell script that starts it. The script execs the installed copy
//! when its sha256 matches; otherwise it asks for the binary on the same channel, checks
//! what arrived and execs it. A cold host therefore costs one exec and one hash, a warm
//! host one exec and one hash too.

use bytes::Bytes;
use sha2::Digest as _;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// The agent program's file name, beside `play`: the module runner alone, a fraction of
/// `play`'s size. `play` itself can serve as the agent too (the fallback when the
/// agent program is not installed beside it).
pub const AGENT_PROGRAM: &str = "play-agent";

/// What the script prints on stdout before the agent's frames start.
pub const START_MARK: &str = "PLAY_AGENT_START\n";
/// What the script prints to ask for the binary: the line goes on with `gzip` or `plain`,
/// the form it wants (it has no gzip to unpack with, or has).
pub const SEND_MARK: &str = "PLAY_AGENT_SEND ";

/// Exit status: the target is not a platform the agent runs on (`PLAY_AGENT_ARCH <uname -sm>`
/// on stderr).
pub const FOREIGN: u32 = 96;
/// Exit status: what arrived does not hash to the expected sha256.
pub const HASH_MISMATCH: u32 = 95;
/// Exit status: the agent could not be written in full (a full or read-only file system
/// under remote_tmp); the partial file is already removed.
pub const WRITE_FAILED: u32 = 93;

const SHA_CMD: &str = "(sha256sum \"$f\" 2>/dev/null || shasum -a 256 \"$f\") | cut -d' ' -f1";

/// The local binary to run as the agent: `play-agent` beside this executable when it is
/// there, else this executable (which serves `__agent` as well).
pub fn default_binary() -> std::io::Result<PathBuf> {
    let me = std::env::current_exe()?;
    let beside = me.with_file_name(AGENT_PROGRAM);
    Ok(if beside.is_file() { beside } else { me })
}

/// The sha256 (hex) of a local file, computed once per path.
pub fn file_sha256(path: &Path) -> std::io::Result<String> {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, String>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(h) = cache.lock().unwrap().get(path) {
        return Ok(h.clone());
    }
    let mut f = std::fs::File::open(path)?;
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    let hex = hex::encode(h.finalize());
    cache
        .lock()
        .unwrap()
        .insert(path.to_path_buf(), hex.clone());
    Ok(hex)
}

/// What is sent for the agent: a file read in slices as it goes out, so a cold host holds
/// a slice in memory rather than the binary.
#[derive(Clone)]
pub struct Body {
    file: Arc<std::fs::File>,
    pub len: u64,
}

/// How much of the body is read and handed to the channel at a time.
pub const SLICE: usize = 64 * 1024;

impl Body {
    /// The slice at `offset` (empty at the end).
    pub fn slice(&self, offset: u64) -> std::io::Result<Bytes> {
        use std::os::unix::fs::FileExt;
        let want = (self.len.saturating_sub(offset) as usize).min(SLICE);
        let mut buf = vec![0u8; want];
        self.file.read_exact_at(&mut buf, offset)?;
        Ok(Bytes::from(buf))
    }
}

/// The agent binary gzipped (fastest level; less than half the bytes, which matters more
/// than the target's `gzip -d`), made the first time a host asks for it, into an unnamed
/// temporary file shared by every host's upload.
fn gzipped(path: &Path, hash: &str) -> Result<Body, String> {
    static CACHE: OnceLock<Mutex<HashMap<PathBuf, Body>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut guard = cache.lock().unwrap();
    if let Some(b) = guard.get(path) {
        return Ok(b.clone());
    }
    let fail = |e: std::io::Error| format!("cannot compress {}: {e}", path.display());
    let mut file = std::fs::File::open(path).map_err(fail)?;
    // One pass: the bytes compressed are the bytes hashed.
    let mut both = HashAndGzip {
        hash: sha2::Sha256::new(),
        gz: flate2::write::GzEncoder::new(
            std::io::BufWriter::new(tempfile::tempfile().map_err(fail)?),
            flate2::Compression::fast(),
        ),
    };
    std::io::copy(&mut file, &mut both).map_err(fail)?;
    check_unchanged(path, hex::encode(both.hash.finalize()), hash)?;
    let out = both
        .gz
        .finish()
        .map_err(fail)?
        .into_inner()
        .map_err(|e| fail(e.into_error()))?;
    let len = out.metadata().map_err(fail)?.len();
    let body = Body {
        file: Arc::new(out),
        len,
    };
    guard.insert(path.to_path_buf(), body.clone());
    Ok(body)
}

/// The agent binary as it is, for a target without gzip (the target checks its hash).
fn plain(path: &Path) -> Result<Body, String> {
    let fail = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let file = std::fs::File::open(path).map_err(fail)?;
    let len = file.metadata().map_err(fail)?.len();
    Ok(Body {
        file: Arc::new(file),
        len,
    })
}

/// The binary must not change while play runs: its hash names the directory it goes to.
fn check_unchanged(path: &Path, now: String, hash: &str) -> Result<(), String> {
    if now == hash {
        return Ok(());
    }
    Err(format!(
        "The agent binary {} changed while play was running (sha256 {now}, expected {hash})",
        path.display()
    ))
}

struct HashAndGzip {
    hash: sha2::Sha256,
    gz: flate2::write::GzEncoder<std::io::BufWriter<std::fs::File>>,
}

impl std::io::Write for HashAndGzip {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.hash.update(buf);
        self.gz.write_all(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.gz.flush()
    }
}

/// What to send for a `SEND_MARK` line: the size line the script reads first, then the
/// binary in the form it asked for.
pub fn send_bytes(path: &Path, hash: &str, form: &str) -> Result<(Bytes, Body), String> {
    let body = if form == "gzip" {
        gzipped(path, hash)?
    } else {
        plain(path)?
    };
    Ok((Bytes::from(format!("{}\n", body.len)), body))
}

/// `uname -sm` of this machine, as the target's is compared with it.
pub fn local_uname() -> String {
    let os = match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "Darwin",
        "freebsd" => "FreeBSD",
        other => other,
    };
    format!("{os} {}", std::env::consts::ARCH)
}

/// Where the script finds and installs the agent.
pub struct Place<'a> {
    /// The directory (a shell expression: `"$HOME"/…` or quoted), named by the hash.
    pub dir: &'a str,
    pub hash: &'a str,
    /// A copy the user may exec as it is (a become user's script is given the login
    /// user's agent, which root, or the same user, can run).
    pub shared: Option<&'a str>,
}

/// The script that starts the agent (a POSIX shell script, run by `sh -c` or by the
/// become program). It prints `START_MARK` right before the agent's frames begin. When no
/// good copy is installed it checks the platform (`FOREIGN`), prints `SEND_MARK` and the
/// form it wants, reads a line with the size and then exactly that many bytes (`read`
/// takes the line a byte at a time, so nothing past it is consumed), checks their hash
/// (`HASH_MISMATCH`) and installs them with a rename, so no half-written agent is ever
/// run or left. The agent runs with the session's umask (files the modules create get
/// the modes Ansible's modules give them); only the install runs under 077. On a TTY the
/// line discipline is made raw first so frames pass unchanged.
pub fn start_script(place: &Place, pty: bool) -> String {
    let (raw, quiet) = if pty {
        ("stty raw -echo 2>/dev/null; ", " 2>/dev/null")
    } else {
        ("", "")
    };
    let Place { dir, hash, shared } = place;
    let run = |f: &str| format!("umask \"$m\"; echo PLAY_AGENT_START; exec {f} __agent{quiet}");
    let shared = shared
        .map(|s| {
            format!(
                "s={}; if [ -x \"$s\" ]; then {}; fi; ",
                super::ssh::shell_quote(s),
                run("\"$s\"")
            )
        })
        .unwrap_or_default();
    format!(
        "{raw}m=$(umask); {shared}umask 077; d={dir}; f=\"$d/play\"; \
         if [ -f \"$f\" ] && [ \"$( {SHA_CMD} )\" = {hash} ]; then {}; fi; \
         u=$(uname -sm); if [ \"$u\" != {uname} ]; then echo \"PLAY_AGENT_ARCH $u\" >&2; exit {FOREIGN}; fi; \
         mkdir -p \"$d\" && chmod 0700 \"$d\" || exit 1; t=\"$d/play.tmp.$$\"; \
         if command -v gzip >/dev/null 2>&1; then echo PLAY_AGENT_SEND gzip; read n; head -c \"$n\" | gzip -dc > \"$t\"; \
         else echo PLAY_AGENT_SEND plain; read n; head -c \"$n\" > \"$t\"; fi || {{ rm -f \"$t\"; exit {WRITE_FAILED}; }}; \
         chmod 0700 \"$t\"; f=\"$t\"; h=$( {SHA_CMD} ); \
         if [ \"$h\" != {hash} ]; then rm -f \"$t\"; echo \"PLAY_AGENT_HASH $h\" >&2; exit {HASH_MISMATCH}; fi; \
         mv -f \"$t\" \"$d/play\"; {}",
        run("\"$f\""),
        run("\"$d/play\""),
        uname = super::ssh::shell_quote(&local_uname()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, Read, Write};
    use std::process::{Command, Stdio};

    /// Run the start script locally with PATH `path`, answering its send request with
    /// `send(form)`. Returns the exit status and what the "agent" (here `echo`-like
    /// stand-in) printed after the start mark.
    fn run(
        script: &str,
        path: &str,
        send: impl Fn(&str) -> Vec<u8>,
    ) -> (i32, Option<String>, String) {
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .env("PATH", path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut stdin = child.stdin.take();
        let mut asked = None;
        let mut after = String::new();
        let mut line = String::new();
        while out.read_line(&mut line).unwrap() > 0 {
            if let Some(form) = line.strip_prefix(SEND_MARK) {
                let form = form.trim().to_string();
                // A script that stops reading early (disk full) closes the pipe: fine.
                let _ = stdin.as_mut().unwrap().write_all(&send(&form));
                asked = Some(form);
            } else if line == START_MARK {
                stdin.take();
                out.read_to_string(&mut after).unwrap();
                break;
            }
            line.clear();
        }
        drop(stdin);
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        let code = child.wait().unwrap().code().unwrap_or(-1);
        (code, asked, format!("{after}{err}"))
    }

    /// A stand-in agent: a script that says which file ran and with what argument.
    fn fake_agent(tag: &str) -> Vec<u8> {
        format!("#!/bin/sh\necho \"{tag} $1\"\n").into_bytes()
    }

    /// An agent file and its hash, and what the controller sends for a form.
    fn agent_file(body: &[u8]) -> (tempfile::NamedTempFile, String) {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(tmp.path(), body).unwrap();
        let hash = file_sha256(tmp.path()).unwrap();
        (tmp, hash)
    }

    fn sent(file: &tempfile::NamedTempFile, hash: &str, form: &str) -> Vec<u8> {
        let (size, body) = send_bytes(file.path(), hash, form).unwrap();
        let mut out = size.to_vec();
        while (out.len() - size.len()) < body.len as usize {
            out.extend_from_slice(&body.slice((out.len() - size.len()) as u64).unwrap());
        }
        out
    }

    /// A PATH holding only the given tools, linked from the real PATH.
    fn only(tools: &[&str], dir: &Path) -> String {
        std::fs::create_dir_all(dir).unwrap();
        let path = std::env::var("PATH").unwrap();
        for tool in tools {
            let found = std::env::split_paths(&path)
                .map(|d| d.join(tool))
                .find(|p| p.exists())
                .unwrap_or_else(|| panic!("no {tool} on PATH"));
            std::os::unix::fs::symlink(found, dir.join(tool)).unwrap();
        }
        dir.display().to_string()
    }

    const TOOLS: &[&str] = &[
        "sh",
        "uname",
        "mkdir",
        "chmod",
        "head",
        "sha256sum",
        "cut",
        "mv",
        "rm",
        "stty",
    ];

    /// A work directory, a stand-in agent saying `tag`, its hash, the install directory
    /// and the start script for it.
    fn fresh(
        tag: &str,
    ) -> (
        tempfile::TempDir,
        tempfile::NamedTempFile,
        String,
        String,
        String,
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let (file, hash) = agent_file(&fake_agent(tag));
        let dir = tmp.path().join("a").display().to_string();
        let place = Place {
            dir: &dir,
            hash: &hash,
            shared: None,
        };
        let script = start_script(&place, false);
        (tmp, file, hash, dir, script)
    }

    #[test]
    fn installs_once_then_execs_the_checked_copy() {
        let (_tmp, file, hash, dir, script) = fresh("installed");
        let path = std::env::var("PATH").unwrap();

        // Cold: asks for the gzipped form, installs it 0700 and runs it.
        let (code, asked, out) = run(&script, &path, |f| sent(&file, &hash, f));
        assert_eq!((code, asked.as_deref()), (0, Some("gzip")), "{out}");
        assert_eq!(out.trim(), "installed __agent");
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(Path::new(&dir)), 0o700);
        assert_eq!(mode(&Path::new(&dir).join("play")), 0o700);

        // Warm: runs the copy without asking.
        let (code, asked, out) = run(&script, &path, |_| panic!("asked again"));
        assert_eq!((code, asked, out.trim()), (0, None, "installed __agent"));

        // A copy that no longer matches its hash is replaced, not run.
        std::fs::write(Path::new(&dir).join("play"), fake_agent("tampered")).unwrap();
        let (code, asked, out) = run(&script, &path, |f| sent(&file, &hash, f));
        assert_eq!((code, asked.as_deref()), (0, Some("gzip")), "{out}");
        assert_eq!(out.trim(), "installed __agent");
    }

    #[test]
    fn plain_form_without_gzip_and_bad_bytes_are_refused() {
        let (tmp, file, hash, dir, script) = fresh("plain");
        let bin = only(TOOLS, &tmp.path().join("bin"));

        let (code, asked, out) = run(&script, &bin, |f| sent(&file, &hash, f));
        assert_eq!((code, asked.as_deref()), (0, Some("plain")), "{out}");
        assert_eq!(out.trim(), "plain __agent");

        // Bytes that do not hash to the expected sha256 are neither installed nor run.
        std::fs::remove_file(Path::new(&dir).join("play")).unwrap();
        let (code, _, out) = run(&script, &bin, |f| {
            let mut b = sent(&file, &hash, f);
            let last = b.len() - 2;
            b[last] ^= 1;
            b
        });
        assert_eq!(code, HASH_MISMATCH as i32, "{out}");
        assert!(out.contains("PLAY_AGENT_HASH"), "{out}");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    }

    #[test]
    fn a_shared_copy_is_run_when_executable() {
        let tmp = tempfile::tempdir().unwrap();
        let shared = tmp.path().join("shared");
        std::fs::write(&shared, fake_agent("shared")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
        let shared = shared.display().to_string();
        let dir = tmp.path().join("a").display().to_string();
        let place = Place {
            dir: &dir,
            hash: "0",
            shared: Some(&shared),
        };
        let path = std::env::var("PATH").unwrap();
        let (code, asked, out) = run(&start_script(&place, false), &path, |_| panic!("asked"));
        assert_eq!((code, asked, out.trim()), (0, None, "shared __agent"));
    }
}

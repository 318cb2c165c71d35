//! Helpers shared by the integration tests (`mod support;` in a test file).
//!
//! Everything here is about running processes and comparing what they leave behind;
//! nothing knows about `play`'s internals.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The repository root (where Cargo.toml lives).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The oracle: `ansible-playbook` from the venv that scripts/venv.sh creates.
/// `PLAY_ANSIBLE_PLAYBOOK` overrides the path.
pub fn ansible_playbook() -> PathBuf {
    match std::env::var_os("PLAY_ANSIBLE_PLAYBOOK") {
        Some(p) => PathBuf::from(p),
        None => repo_root().join(".venv/bin/ansible-playbook"),
    }
}

/// The venv's Python (next to ansible-playbook).
pub fn venv_python() -> PathBuf {
    ansible_playbook().with_file_name("python")
}

/// What a finished (or killed) process left.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Exit code; `None` when killed by a signal or by the timeout.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

/// Run `cmd` with stdin closed, capturing output through files in `capture_dir`
/// (so large outputs cannot deadlock), killing it after `timeout`.
pub fn run_with_timeout(mut cmd: Command, capture_dir: &Path, timeout: Duration) -> Outcome {
    let out_path = capture_dir.join("stdout");
    let err_path = capture_dir.join("stderr");
    let out = fs::File::create(&out_path).expect("create stdout capture");
    let err = fs::File::create(&err_path).expect("create stderr capture");
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Outcome {
                code: None,
                stdout: String::new(),
                stderr: format!("failed to start {:?}: {e}", cmd.get_program()),
                timed_out: false,
            }
        }
    };
    let start = Instant::now();
    let mut timed_out = false;
    let status = loop {
        match child.try_wait().expect("wait for child") {
            Some(s) => break s,
            None if start.elapsed() > timeout => {
                let _ = child.kill();
                timed_out = true;
                break child.wait().expect("wait for killed child");
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    Outcome {
        code: status.code(),
        stdout: String::from_utf8_lossy(&fs::read(&out_path).unwrap_or_default()).into_owned(),
        stderr: String::from_utf8_lossy(&fs::read(&err_path).unwrap_or_default()).into_owned(),
        timed_out,
    }
}

/// Recursively copy a file or directory tree (regular files, dirs and symlinks).
pub fn copy_tree(src: &Path, dst: &Path) -> std::io::Result<()> {
    let meta = fs::symlink_metadata(src)?;
    if meta.file_type().is_symlink() {
        std::os::unix::fs::symlink(fs::read_link(src)?, dst)?;
    } else if meta.is_dir() {
        fs::create_dir_all(dst)?;
        for entry in fs::read_dir(src)? {
            let entry = entry?;
            copy_tree(&entry.path(), &dst.join(entry.file_name()))?;
        }
    } else {
        fs::copy(src, dst)?;
    }
    Ok(())
}

/// One line per entry under `root`: relative path -> "kind mode content".
/// Text content is shown as is (after `scrub`), binary content as its length.
pub fn snapshot_tree(root: &Path, scrub: &dyn Fn(&str) -> String) -> BTreeMap<String, String> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let Ok(meta) = fs::symlink_metadata(&path) else {
                continue;
            };
            let mode = meta.permissions().mode() & 0o7777;
            let desc = if meta.file_type().is_symlink() {
                let target = fs::read_link(&path).map(|t| t.display().to_string());
                format!("link -> {}", scrub(&target.unwrap_or_default()))
            } else if meta.is_dir() {
                stack.push(path.clone());
                format!("dir {mode:04o}")
            } else {
                let bytes = fs::read(&path).unwrap_or_default();
                match String::from_utf8(bytes) {
                    Ok(text) => format!("file {mode:04o} {:?}", scrub(&text)),
                    Err(e) => format!("file {mode:04o} <{} bytes binary>", e.as_bytes().len()),
                }
            };
            out.insert(rel, desc);
        }
    }
    out
}

/// PLAY RECAP lines: host -> "ok=1 changed=0 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0".
pub fn parse_recap(stdout: &str) -> BTreeMap<String, String> {
    let re = regex::Regex::new(
        r"^(\S+)\s+:\s+(ok=\d+)\s+(changed=\d+)\s+(unreachable=\d+)\s+(failed=\d+)\s+(skipped=\d+)\s+(rescued=\d+)\s+(ignored=\d+)",
    )
    .unwrap();
    let mut recap = BTreeMap::new();
    let mut in_recap = false;
    for line in stdout.lines() {
        if line.starts_with("PLAY RECAP") {
            in_recap = true;
            continue;
        }
        if !in_recap {
            continue;
        }
        if let Some(c) = re.captures(line) {
            let counts: Vec<&str> = (2..=8).map(|i| c.get(i).unwrap().as_str()).collect();
            recap.insert(c[1].to_string(), counts.join(" "));
        }
    }
    recap
}

/// A small line diff (longest common subsequence) in `-`/`+` form, for failure reports.
pub fn line_diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    if a.len() * b.len() > 4_000_000 {
        return format!("--- expected\n{expected}\n+++ actual\n{actual}\n");
    }
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push_str(&format!("  {}\n", a[i]));
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push_str(&format!("+ {}\n", b[j]));
            j += 1;
        } else {
            out.push_str(&format!("- {}\n", a[i]));
            i += 1;
        }
    }
    out
}

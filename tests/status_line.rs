//! The live status line: drawn on a terminal (a pty made with script(1)), never when stdout
//! is a pipe or CI is set, where the output must stay exactly Ansible's.

use std::fs;
use std::process::{Command, Stdio};

const PLAYBOOK: &str = "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: Wait a little\n      command: sleep 0.5\n";
const INVENTORY: &str = "a\nb\nc\n[all:vars]\nansible_connection=local\n";

fn setup() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    fs::write(d.path().join("site.yml"), PLAYBOOK).unwrap();
    fs::write(d.path().join("inv"), INVENTORY).unwrap();
    d
}

/// Run play on a pseudo-terminal; what the terminal received.
fn on_tty(dir: &std::path::Path, ci: Option<&str>) -> String {
    let play = env!("CARGO_BIN_EXE_play");
    let mut cmd = Command::new("script");
    cmd.current_dir(dir)
        .args(["-qec", &format!("{play} -i inv site.yml"), "/dev/null"])
        .stdin(Stdio::null())
        .env_remove("CI")
        .env("TERM", "xterm");
    if let Some(v) = ci {
        cmd.env("CI", v);
    }
    let o = cmd.output().expect("script(1) from util-linux");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).to_string()
}

#[test]
fn a_terminal_shows_the_live_line_and_keeps_the_output() {
    let d = setup();
    let out = on_tty(d.path(), None);
    assert!(out.contains("Wait a little: 0/3 hosts done"), "{out}");
    assert!(
        out.contains("Wait a little: 3/3 hosts done, 0 running, 0 failed"),
        "{out}"
    );
    for h in ["a", "b", "c"] {
        assert!(out.contains(&format!("changed: [{h}]")), "{out}");
    }
    assert!(out.contains("PLAY RECAP"), "{out}");
}

#[test]
fn ci_and_pipes_get_ansibles_output_only() {
    let d = setup();
    let out = on_tty(d.path(), Some("true"));
    assert!(!out.contains("hosts done"), "{out}");
    assert!(out.contains("PLAY RECAP"), "{out}");
    let o = Command::new(env!("CARGO_BIN_EXE_play"))
        .current_dir(d.path())
        .args(["-i", "inv", "site.yml"])
        .env_remove("CI")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!out.contains("hosts done"), "{out}");
    assert!(!out.contains('\x1b'), "no escapes on a pipe: {out}");
    assert!(out.contains("changed: [a]"), "{out}");
}

//! `become` to another user on the local connection: the agent runs under sudo or su as
//! that user. As root: to `nobody` by sudo and by su. As an unprivileged user with a sudo
//! password (the SSH harness's test user): the right, a wrong and a missing password.

mod sshd;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

fn as_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

/// A directory anyone may read and write, holding a copy of play and the playbook.
fn shared_dir(playbook: &str) -> tempfile::TempDir {
    let d = tempfile::Builder::new()
        .prefix("play-become-test-")
        .tempdir()
        .unwrap();
    fs::set_permissions(d.path(), fs::Permissions::from_mode(0o777)).unwrap();
    fs::copy(env!("CARGO_BIN_EXE_play"), d.path().join("play")).unwrap();
    fs::set_permissions(d.path().join("play"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(d.path().join("site.yml"), playbook).unwrap();
    d
}

fn run(cmd: &mut Command) -> (i32, String) {
    let o = cmd.stdin(Stdio::null()).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr),
    )
}

#[test]
fn root_becomes_nobody_by_sudo_and_su() {
    if !as_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let d = shared_dir(
        r#"- hosts: localhost
  gather_facts: false
  tasks:
    - command: id -un
      become: true
      become_user: nobody
      register: by_sudo
    - command: id -un
      become: true
      become_user: nobody
      become_method: su
      become_flags: "-s /bin/sh"
      register: by_su
    - copy:
        content: "written as nobody\n"
        dest: "{{ dir }}/mine.txt"
      become: true
      become_user: nobody
    - copy:
        content: "{{ by_sudo.stdout }} {{ by_su.stdout }}"
        dest: "{{ dir }}/who.txt"
"#,
    );
    let dir = d.path().display().to_string();
    let (code, out) = run(Command::new(d.path().join("play"))
        .current_dir(d.path())
        .args(["-i", "localhost,", "-c", "local", "site.yml", "-e"])
        .arg(format!("dir={dir}")));
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        fs::read_to_string(d.path().join("who.txt")).unwrap(),
        "nobody nobody"
    );
    let owner = {
        use std::os::unix::fs::MetadataExt;
        fs::metadata(d.path().join("mine.txt")).unwrap().uid()
    };
    let nobody = String::from_utf8(
        Command::new("id")
            .args(["-u", "nobody"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(owner.to_string(), nobody.trim());
}

#[test]
fn a_user_becomes_root_with_the_sudo_password() {
    if !as_root() {
        eprintln!("skipped: needs root to make the test user");
        return;
    }
    let (user, password) = sshd::test_user();
    let d = shared_dir(
        r#"- hosts: localhost
  gather_facts: false
  tasks:
    - command: id -un
      become: true
      register: who
    - copy:
        content: "{{ who.stdout }}"
        dest: "{{ dir }}/who-{{ tag }}.txt"
"#,
    );
    let dir = d.path().display().to_string();
    let play_as = |tag: &str, extra: &str| {
        let line = format!(
            "cd {dir} && ./play -i localhost, -c local site.yml -e dir={dir} -e tag={tag} {extra}"
        );
        run(Command::new("su").args(["-s", "/bin/sh", &user, "-c", &line]))
    };
    let (code, out) = play_as("right", &format!("-e ansible_become_password={password}"));
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        fs::read_to_string(d.path().join("who-right.txt")).unwrap(),
        "root"
    );
    let (code, out) = play_as("wrong", "-e ansible_become_password=not-it");
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("Incorrect sudo password"), "{out}");
    let (code, out) = play_as("missing", "");
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("Missing sudo password"), "{out}");
}

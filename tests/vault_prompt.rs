//! `--ask-vault-pass` and `--vault-id label@prompt` read the password from a piped stdin
//! (as Python's getpass falls back to without a terminal), and end with Ansible's error
//! when stdin has nothing. The differential harness cannot feed stdin, so these run `play`
//! (and `ansible-playbook` when the venv is present) directly.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use support::*;

// `ansible-vault encrypt_string` of `hunter2` with the password `secret1`.
const PLAYBOOK: &str = r#"- hosts: localhost
  gather_facts: false
  vars:
    pw: !vault |
          $ANSIBLE_VAULT;1.1;AES256
          62356139616532346633323533663735643235316436386239353230653763616139323530656532
          6662653536616337313563613564653333326131613438370a363662386432636262373462393534
          37646335373930363663306664613832313433653330323735666532366238353461663431363034
          3437333831383533660a313531623862336566343431653038663263633362656238323139616366
          6235
  tasks:
    - debug: msg="got {{ pw }}"
"#;

fn run(bin: &std::path::Path, args: &[&str], stdin: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.yml"), PLAYBOOK).unwrap();
    let mut child = Command::new(bin)
        .args(args)
        .arg("p.yml")
        .current_dir(dir.path())
        .env("ANSIBLE_LOCALHOST_WARNING", "false")
        .env("ANSIBLE_INVENTORY_UNPARSED_WARNING", "false")
        .env("ANSIBLE_PYTHON_INTERPRETER", venv_python())
        .env("ANSIBLE_NOCOLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

fn binaries() -> Vec<std::path::PathBuf> {
    let mut out = vec![std::path::PathBuf::from(env!("CARGO_BIN_EXE_play"))];
    if ansible_playbook().exists() {
        out.push(ansible_playbook());
    }
    out
}

#[test]
fn ask_vault_pass_reads_a_piped_password() {
    for bin in binaries() {
        let (code, text) = run(&bin, &["--ask-vault-pass"], "secret1\n");
        assert_eq!(code, Some(0), "{}: {text}", bin.display());
        assert!(
            text.contains("\"msg\": \"got hunter2\""),
            "{}: {text}",
            bin.display()
        );
        assert!(
            text.contains("Vault password: "),
            "{}: {text}",
            bin.display()
        );
    }
}

#[test]
fn a_labelled_prompt_names_its_identity() {
    for bin in binaries() {
        let (code, text) = run(&bin, &["--vault-id", "dev@prompt"], "secret1\n");
        assert_eq!(code, Some(0), "{}: {text}", bin.display());
        assert!(
            text.contains("Vault password (dev): "),
            "{}: {text}",
            bin.display()
        );
    }
}

#[test]
fn an_empty_stdin_is_an_error_before_the_run() {
    for bin in binaries() {
        let (code, text) = run(&bin, &["--ask-vault-pass"], "");
        assert_eq!(code, Some(1), "{}: {text}", bin.display());
        assert!(
            text.contains("[ERROR]: EOFError (ctrl-d) on prompt for (default)"),
            "{}: {text}",
            bin.display()
        );
        assert!(!text.contains("PLAY ["), "{}: {text}", bin.display());
    }
}

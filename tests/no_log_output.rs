//! What `no_log` hides in the output at high verbosity, where the differential harness
//! cannot compare stdout (ansible-playbook's -vvv lines are Python's own): the result shown
//! with each retry is censored like the final one.

use std::process::Command;

#[test]
fn retry_results_are_censored_under_no_log() {
    let dir = tempfile::tempdir().unwrap();
    let playbook = dir.path().join("site.yml");
    std::fs::write(
        &playbook,
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: echo secretvalue\n      register: r\n      until: r.stdout == 'x'\n      retries: 1\n      delay: 0\n      no_log: true\n      ignore_errors: true\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_play"))
        .arg(&playbook)
        .arg("-vvv")
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("FAILED - RETRYING"), "{stdout}");
    assert!(!stdout.contains("secretvalue\""), "{stdout}");
    let retry = stdout.split("FAILED - RETRYING").nth(1).unwrap_or_default();
    assert!(retry.contains("\"censored\""), "{stdout}");
}

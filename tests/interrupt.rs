//! Ctrl-C in the middle of a task: `play` stops at once as ansible-playbook does (`User
//! interrupted execution`, exit 99, no later task), and nothing of the run goes on, on
//! the controller (local tasks) or on SSH targets (the agent and the commands it started).

mod sshd;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A task that runs long and then leaves a file, then one that would run after it.
const PLAYBOOK: &str = r#"- hosts: all
  gather_facts: false
  tasks:
    - shell: sleep 300; touch {{ out }}/{{ inventory_hostname }}.late
    - file: { path: "{{ out }}/{{ inventory_hostname }}.next", state: touch }
"#;

/// The processes whose command line mentions `dir`: the run's agents (under a remote_tmp
/// there) and the commands its tasks started (they name files there). Orphans count: a
/// process whose session has gone is still found.
fn processes_of(dir: &Path) -> Vec<(u32, String)> {
    let mark = dir.display().to_string();
    let me = std::process::id();
    fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|&p| p != me)
        .filter_map(|p| {
            let cmd = fs::read_to_string(format!("/proc/{p}/cmdline"))
                .ok()?
                .replace('\0', " ");
            cmd.contains(&mark).then_some((p, cmd))
        })
        .collect()
}

/// Run PLAYBOOK on `hosts` hosts of `inventory`, SIGINT `play` once every host runs the
/// long command, and check what the issue asks: a prompt exit 99 with Ansible's message,
/// no later task, and no process of the run left.
fn interrupt_mid_task(dir: &Path, inventory: &Path, hosts: usize) {
    fs::write(dir.join("site.yml"), PLAYBOOK).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_play"))
        .current_dir(dir)
        .arg("-i")
        .arg(inventory)
        .args(["site.yml", "-e"])
        .arg(format!("out={}", dir.display()))
        .env_remove("ANSIBLE_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let long_commands = || {
        processes_of(dir)
            .iter()
            .filter(|(_, c)| c.contains("sleep 300;"))
            .count()
    };
    let t = Instant::now();
    while long_commands() < hosts {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "{:?}",
            processes_of(dir)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // SAFETY: signalling the child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let t = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if t.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("play still running 20 s after Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(99), "{text}");
    assert!(
        text.contains("[ERROR]: User interrupted execution"),
        "{text}"
    );
    assert!(!text.contains("PLAY RECAP"), "{text}");
    let t = Instant::now();
    while !processes_of(dir).is_empty() && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(processes_of(dir).is_empty(), "{:?}", processes_of(dir));
    let files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".late") || n.ends_with(".next"))
        .collect();
    assert!(files.is_empty(), "{files:?}\n{text}");
}

#[test]
fn ctrl_c_mid_task_stops_local_commands() {
    let d = tempfile::tempdir().unwrap();
    let inv = d.path().join("hosts.ini");
    fs::write(&inv, "controller ansible_connection=local\n").unwrap();
    interrupt_mid_task(d.path(), &inv, 1);
}

#[test]
fn ctrl_c_mid_task_leaves_nothing_on_ssh_targets() {
    let fleet = sshd::Fleet::start(2);
    let d = tempfile::tempdir().unwrap();
    let mut lines = String::new();
    for i in 0..2 {
        let remote_tmp = d.path().join(format!("remote-tmp-{i}"));
        lines.push_str(&format!(
            "{} ansible_remote_tmp={}\n",
            fleet.inventory_line(i, &format!("target{i}")),
            remote_tmp.display()
        ));
    }
    let inv = d.path().join("hosts.ini");
    fs::write(&inv, lines).unwrap();
    interrupt_mid_task(d.path(), &inv, 2);
}

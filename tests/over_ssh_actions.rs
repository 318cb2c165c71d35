//! Actions that need a real remote host, against a loopback sshd: wait_for_connection,
//! reboot (with the reboot simulated: a boot time command whose answer changes), and async
//! jobs run by the uploaded agent.

mod sshd;

use std::fs;
use std::process::{Command, Stdio};

fn inventory(fleet: &sshd::Fleet, dir: &std::path::Path) -> std::path::PathBuf {
    let mut line = fleet.inventory_line(0, "target");
    let remote_tmp = dir.join("remote-tmp");
    line.push_str(&format!(" ansible_remote_tmp={}", remote_tmp.display()));
    let p = dir.join("hosts.ini");
    fs::write(&p, format!("{line}\n")).unwrap();
    p
}

fn play(dir: &std::path::Path, inv: &std::path::Path, playbook: &str) -> (i32, String) {
    fs::write(dir.join("site.yml"), playbook).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_play"))
        .current_dir(dir)
        .arg("-i")
        .arg(inv)
        .args(["site.yml", "-e"])
        .arg(format!("out={}", dir.display()))
        .env_remove("ANSIBLE_CONFIG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr),
    )
}

fn json(dir: &std::path::Path, name: &str) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(dir.join(name)).unwrap()).unwrap()
}

#[test]
fn reboot_waits_for_a_new_boot_and_wait_for_connection_reconnects() {
    let fleet = sshd::Fleet::start(1);
    let d = tempfile::tempdir().unwrap();
    let inv = inventory(&fleet, d.path());
    let (code, out) = play(
        d.path(),
        &inv,
        r#"- hosts: target
  gather_facts: false
  tasks:
    - wait_for_connection:
        timeout: 20
      register: waited
    - name: A reboot whose boot id changes every time it is read
      reboot:
        reboot_command: "true"
        boot_time_command: date +%s%N
        reboot_timeout: 30
      register: rebooted
    - name: A reboot that never happens
      reboot:
        reboot_command: "true"
        reboot_timeout: 2
      register: stuck
      ignore_errors: true
    - name: A reboot command that fails
      reboot:
        reboot_command: "echo no; exit 3"
      register: refused
      ignore_errors: true
    - copy:
        dest: "{{ out }}/r.json"
        content: "{{ {'waited': waited, 'rebooted': rebooted, 'stuck': stuck, 'refused': refused} | to_json }}"
      delegate_to: localhost
"#,
    );
    assert_eq!(code, 0, "{out}");
    let r = json(d.path(), "r.json");
    assert_eq!(r["waited"]["changed"], false, "{r}");
    assert!(r["waited"].get("failed").is_none_or(|f| f == false), "{r}");
    assert_eq!(r["rebooted"]["rebooted"], true, "{r}");
    assert_eq!(r["rebooted"]["changed"], true, "{r}");
    assert_eq!(r["stuck"]["failed"], true, "{r}");
    assert_eq!(
        r["stuck"]["msg"], "Timed out waiting for last boot time check (timeout=2)",
        "{r}"
    );
    assert_eq!(r["refused"]["failed"], true, "{r}");
    assert_eq!(r["refused"]["rebooted"], false, "{r}");
    assert!(
        r["refused"]["msg"]
            .as_str()
            .unwrap()
            .starts_with("Reboot command failed. Error was: 'no"),
        "{r}"
    );
}

#[test]
fn async_jobs_run_in_the_agent_on_the_target() {
    let fleet = sshd::Fleet::start(1);
    let d = tempfile::tempdir().unwrap();
    let inv = inventory(&fleet, d.path());
    let (code, out) = play(
        d.path(),
        &inv,
        r#"- hosts: target
  gather_facts: false
  tasks:
    - command: echo polled
      async: 20
      poll: 1
      register: polled
    - shell: sleep 1; echo later
      async: 20
      poll: 0
      register: started
    - async_status:
        jid: "{{ started.ansible_job_id }}"
      register: job
      until: job.finished
      retries: 20
      delay: 1
    - command: sleep 10
      async: 1
      poll: 1
      register: slow
      ignore_errors: true
    - copy:
        dest: "{{ out }}/a.json"
        content: "{{ {'polled': polled, 'started': started, 'job': job, 'slow': slow} | to_json }}"
      delegate_to: localhost
"#,
    );
    assert_eq!(code, 0, "{out}");
    let r = json(d.path(), "a.json");
    assert_eq!(r["polled"]["stdout"], "polled", "{r}");
    assert_eq!(r["polled"]["finished"], true, "{r}");
    assert_eq!(r["started"]["finished"], false, "{r}");
    assert_eq!(r["job"]["stdout"], "later", "{r}");
    assert_eq!(
        r["job"]["ansible_job_id"], r["started"]["ansible_job_id"],
        "{r}"
    );
}

#[test]
fn a_task_that_times_out_stops_its_module_on_the_target() {
    let fleet = sshd::Fleet::start(1);
    let d = tempfile::tempdir().unwrap();
    let inv = inventory(&fleet, d.path());
    let marker = d.path().join("after-sleep");
    // Without the stop, the next task would wait for the agent until the sleep ends (a
    // minute) and the marker would be written then; the run is given 40 s.
    fs::write(
        d.path().join("site.yml"),
        r#"- hosts: target
  gather_facts: false
  tasks:
    - shell: sleep 60; touch {{ marker }}
      timeout: 2
      register: slow
      ignore_errors: true
    - shell: "ps -eo args | grep -c '^sleep 60$' || true"
      register: left
    - copy:
        dest: "{{ out }}/t.json"
        content: "{{ {'slow': slow, 'left': left.stdout} | to_json }}"
      delegate_to: localhost
"#,
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_play"))
        .current_dir(d.path())
        .arg("-i")
        .arg(&inv)
        .args(["site.yml", "-e"])
        .arg(format!(
            "out={} marker={}",
            d.path().display(),
            marker.display()
        ))
        .env_remove("ANSIBLE_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the run did not end after the timed-out task");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    assert_eq!(status.code(), Some(0), "{out}");
    let r = json(d.path(), "t.json");
    assert_eq!(
        r["slow"]["msg"], "Task failed: Timed out after 2 second(s).",
        "{r}"
    );
    assert_eq!(r["left"], "0", "the module's sleep is still running: {r}");
    assert!(!marker.exists());
}

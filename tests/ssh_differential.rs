//! The differential suite over real SSH: a chosen part of tests/diff/ (the cases whose
//! modules touch the target), a chosen part of the module matrix of tests/diff_modules/
//! (all of it with PLAY_SSH_MODULES=all), plus the SSH fault cases in tests/diff_ssh/ run through
//! `ansible-playbook` and through `play` against the same sshd hosts (tests/sshd: one
//! sshd per loopback address, throwaway host keys, a test client key, a known_hosts file).
//! The cases, options and comparisons are those of tests/differential.rs; only the
//! transport differs: no `-c local`, and an inventory that points at the sshd hosts.
//!
//! Inventories:
//!   - a case without one gets `inventory.ssh`: `localhost` reached over SSH (host 0);
//!   - in a case's INI inventory, each `ansible_connection=local` becomes the SSH
//!     variables of the next host (round robin), so `h1`, `h2`, `h3` are three hosts;
//!   - tests/diff_ssh cases write placeholders that are filled in: `@SSH0@`..`@SSH2@`
//!     (all connection variables of host N), `@ADDR0@`..`@ADDR2@`, `@PORT@`, `@KEY@`,
//!     `@KNOWN_HOSTS@`, `@CHANGED_KNOWN_HOSTS@` (other keys for every host),
//!     `@EMPTY_KNOWN_HOSTS@`, `@SUDO_USER@`/`@SUDO_PASSWORD@` (a user whose sudo asks
//!     for its password), `@TTY_USER@` (a user whose sudo wants a TTY),
//!     `@SU_USER@`/`@SU_PASSWORD@` (a user to `su` to), `@FLEET@` (the fleet's directory),
//!     `@FOREIGN0@` (the connection variables of a host whose `uname` says FreeBSD arm64,
//!     which the agent refuses).
//!
//! The users exist only while the test runs: made at its start, removed at its end.
//! tests/diff_ssh/KNOWN_GAPS lists the cases (of both directories) that differ today.
//! PLAY_DIFF_FILTER, PLAY_DIFF_JOBS, PLAY_DIFF_SHOW_GAPS, PLAY_DIFF_BIN and
//! PLAY_SKIP_DIFFERENTIAL work as in tests/differential.rs; PLAY_SSH_DIFF_CASES=a,b runs
//! those cases of tests/diff instead of the chosen list (to try more of the corpus).

mod diffcore;
mod sshd;
mod support;

use std::path::Path;
use std::process::{Command, Stdio};

/// Cases of the module matrix (tests/diff_modules) run over SSH by default: the modules
/// whose work crosses the connection (controller files sent, target files fetched, jobs
/// polled, output streamed, the raw shell path). The rest of the matrix touches only the
/// target, which the local run covers; PLAY_SSH_MODULES=all runs every case (on the last
/// such run, recorded in tests/diff_modules/README.md, every case of the matrix agreed
/// over SSH but one flaky async_status result).
const MODULE_CASES: &[&str] = &[
    "assemble",
    "async_status",
    "command",
    "fetch",
    "ping",
    "raw",
    "slurp",
    "stat",
    "template",
];

/// Cases of tests/diff/ that reach the target: commands, files, templates, facts, loops,
/// handlers, delegation, run_once, several hosts, failures and unreachable hosts.
const CASES: &[&str] = &[
    "any_errors_fatal",
    "block_rescue",
    "check_mode_cli",
    "command_args",
    "command_failure",
    "command_not_found",
    "command_stdin_strip",
    "copy_backup_dest_dir",
    "copy_content",
    "copy_src",
    "delegate_facts",
    "delegate_to_localhost",
    "diff_mode_copy",
    "exit_some_hosts_failed",
    "exit_unreachable",
    "facts_setup_subset",
    "file_absent_tree",
    "file_missing_fails",
    "file_states",
    "flush_handlers",
    "handler_listen",
    "ignore_unreachable",
    "lineinfile",
    "max_fail_percentage",
    "notify_handler",
    "register_loop_results",
    "role_files_copy",
    "role_templates",
    "run_once",
    "serial_number",
    "setup_filter",
    "stat_module",
    "strategy_free",
    "task_environment",
    "template_module",
];

/// The users the cases log in as or become: (name, password, sudoers line).
struct Users {
    names: Vec<String>,
}

const SUDO_USER: (&str, &str) = ("playdiff-sudo", "Sudo-Pw-4821");
const TTY_USER: (&str, &str) = ("playdiff-tty", "Tty-Pw-9134");
const SU_USER: (&str, &str) = ("playdiff-su", "Su-Pw-7702");

fn sh(cmd: &mut Command) -> bool {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn ensure_package(bin: &str, pkg: &str) {
    if !Path::new(bin).exists() {
        let ok = sh(Command::new("apt-get")
            .args(["install", "-y", "-qq", pkg])
            .env("DEBIAN_FRONTEND", "noninteractive"));
        assert!(ok && Path::new(bin).exists(), "cannot install {pkg}");
    }
}

impl Users {
    /// Make the test users (removing leftovers of an interrupted run first).
    fn create() -> Users {
        ensure_package("/usr/bin/sudo", "sudo");
        // Ansible hands its module files to an unprivileged become user through ACLs.
        ensure_package("/usr/bin/setfacl", "acl");
        let mut users = Users { names: Vec::new() };
        for (name, pw, sudoers) in [
            (SUDO_USER.0, SUDO_USER.1, "ALL=(ALL:ALL) ALL"),
            (TTY_USER.0, TTY_USER.1, "ALL=(ALL:ALL) NOPASSWD: ALL"),
            (SU_USER.0, SU_USER.1, ""),
        ] {
            remove_user(name);
            assert!(
                sh(Command::new("useradd").args(["-m", "-s", "/bin/sh", name])),
                "useradd {name} failed"
            );
            users.names.push(name.to_string());
            let mut c = Command::new("chpasswd")
                .stdin(Stdio::piped())
                .spawn()
                .expect("chpasswd");
            {
                use std::io::Write;
                let mut stdin = c.stdin.take().unwrap();
                writeln!(stdin, "{name}:{pw}").unwrap();
            }
            assert!(c.wait().unwrap().success(), "chpasswd {name} failed");
            if !sudoers.is_empty() {
                let mut rule = format!("{name} {sudoers}\n");
                if name == TTY_USER.0 {
                    rule = format!("Defaults:{name} requiretty\n{rule}");
                }
                std::fs::write(sudoers_file(name), rule).unwrap();
            }
        }
        users
    }
}

fn sudoers_file(name: &str) -> String {
    format!("/etc/sudoers.d/{}", name.replace('-', "_"))
}

fn remove_user(name: &str) {
    let _ = std::fs::remove_file(sudoers_file(name));
    if sh(Command::new("id").arg(name)) {
        // Processes left by a case (an agent that outlived its session) would block userdel.
        let _ = sh(Command::new("pkill").args(["-KILL", "-u", name]));
        let _ = sh(Command::new("userdel").args(["-r", "-f", name]));
    }
}

impl Drop for Users {
    fn drop(&mut self) {
        for n in &self.names {
            remove_user(n);
        }
    }
}

#[test]
fn ssh_differential() {
    if !diffcore::oracle_present("ssh differential") {
        return;
    }
    let fleet = sshd::Fleet::start(3);
    let foreign = sshd::Fleet::start_foreign(1);
    let _users = Users::create();
    let fleet_dir = fleet.dir().to_path_buf();
    // sshd reads the authorized keys as the logging-in user: the test users need to reach
    // them (the private keys stay 0600, read by the controller as root).
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fleet_dir, std::fs::Permissions::from_mode(0o711)).unwrap();
    let changed_kh = fleet_dir.join("changed_known_hosts");
    let mut changed = String::new();
    for (i, h) in fleet.hosts.iter().enumerate() {
        let k = fleet_dir.join(format!("other_host_key_{i}"));
        sshd::keygen(&k, "ed25519");
        let public = std::fs::read_to_string(k.with_extension("pub")).unwrap();
        let public: Vec<&str> = public.split_whitespace().take(2).collect();
        changed += &format!("[{}]:{} {}\n", h.addr, h.port, public.join(" "));
    }
    std::fs::write(&changed_kh, changed).unwrap();
    let empty_kh = fleet_dir.join("empty_known_hosts");
    std::fs::write(&empty_kh, "").unwrap();

    let host_vars = |i: usize| -> String {
        let h = &fleet.hosts[i % fleet.hosts.len()];
        format!(
            "ansible_connection=ssh ansible_host={} ansible_port={} ansible_user={} \
             ansible_ssh_private_key_file={} ansible_ssh_common_args='-o UserKnownHostsFile={}'",
            h.addr,
            h.port,
            fleet.user,
            fleet.client_key.display(),
            fleet.known_hosts.display()
        )
    };
    let foreign_vars = format!(
        "ansible_connection=ssh ansible_host={} ansible_port={} ansible_user={} \
         ansible_ssh_private_key_file={} ansible_ssh_common_args='-o UserKnownHostsFile={}'",
        foreign.hosts[0].addr,
        foreign.hosts[0].port,
        foreign.user,
        foreign.client_key.display(),
        foreign.known_hosts.display()
    );
    let fill = |text: &str| -> String {
        let mut t = text.replace("@FOREIGN0@", &foreign_vars);
        for i in 0..fleet.hosts.len() {
            t = t
                .replace(&format!("@SSH{i}@"), &host_vars(i))
                .replace(&format!("@ADDR{i}@"), &fleet.hosts[i].addr);
        }
        t.replace("@PORT@", &sshd::PORT.to_string())
            .replace("@KEY@", &fleet.client_key.display().to_string())
            .replace("@KNOWN_HOSTS@", &fleet.known_hosts.display().to_string())
            .replace("@CHANGED_KNOWN_HOSTS@", &changed_kh.display().to_string())
            .replace("@EMPTY_KNOWN_HOSTS@", &empty_kh.display().to_string())
            .replace("@SUDO_USER@", SUDO_USER.0)
            .replace("@SUDO_PASSWORD@", SUDO_USER.1)
            .replace("@TTY_USER@", TTY_USER.0)
            .replace("@SU_USER@", SU_USER.0)
            .replace("@SU_PASSWORD@", SU_USER.1)
            .replace("@FLEET@", &fleet_dir.display().to_string())
    };
    let transport = |case: &diffcore::Case, work: &Path, cmd: &mut Command| -> Option<String> {
        // The targets are this machine, whose python runs Ansible's modules. Ansible's
        // ControlPersist masters are private to one run (a master opened with the right
        // known_hosts would serve a case that expects a host key failure) and end with
        // the fleet's sshds.
        let control_dir = work.parent().unwrap().join("cp");
        std::fs::create_dir_all(&control_dir).unwrap();
        cmd.env("ANSIBLE_PYTHON_INTERPRETER", "/usr/bin/python3")
            .env("ANSIBLE_SSH_CONTROL_PATH_DIR", &control_dir);
        match &case.opts.inventory {
            Some(inv) => {
                let path = work.join(inv);
                let text = std::fs::read_to_string(&path).unwrap();
                let mut next = 0;
                let mut out = String::new();
                for line in text.lines() {
                    let mut line = line.to_string();
                    if line.contains("ansible_connection=local") {
                        line = line.replace("ansible_connection=local", &host_vars(next));
                        next += 1;
                    }
                    out += &fill(&line);
                    out.push('\n');
                }
                std::fs::write(&path, out).unwrap();
                None
            }
            None => {
                std::fs::write(
                    work.join("inventory.ssh"),
                    format!("localhost {}\n", host_vars(0)),
                )
                .unwrap();
                Some("inventory.ssh".into())
            }
        }
    };

    let root = support::repo_root();
    let chosen: Vec<String> = match std::env::var("PLAY_SSH_DIFF_CASES") {
        Ok(list) => list.split(',').map(|s| s.trim().to_string()).collect(),
        Err(_) => CASES.iter().map(|s| s.to_string()).collect(),
    };
    let mut cases: Vec<diffcore::Case> = diffcore::load_cases(&root.join("tests/diff"))
        .into_iter()
        .filter(|c| chosen.contains(&c.name))
        .collect();
    for name in &chosen {
        assert!(
            cases.iter().any(|c| c.name == *name),
            "ssh_differential: {name} is not a case in tests/diff"
        );
    }
    if std::env::var_os("PLAY_SSH_DIFF_CASES").is_none() {
        let all = std::env::var("PLAY_SSH_MODULES").as_deref() == Ok("all");
        cases.extend(
            diffcore::load_cases(&root.join("tests/diff_modules"))
                .into_iter()
                .filter(|c| all || MODULE_CASES.contains(&c.name.as_str())),
        );
    }
    cases.extend(diffcore::load_cases(&root.join("tests/diff_ssh")));
    diffcore::run_suite(&diffcore::Suite {
        label: "ssh differential",
        cases,
        gaps_file: root.join("tests/diff_ssh/KNOWN_GAPS"),
        transport: &transport,
        scrub: vec![(fleet_dir.display().to_string(), "<fleet>".into())],
    });
    drop(fleet);
    drop(foreign);
}

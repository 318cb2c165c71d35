//! The SSH transport against real sshd hosts (tests/sshd): connect, run modules through the
//! agent, reuse of the uploaded agent, host key checking, unreachable hosts, bad keys, an
//! agent killed mid-session, and a remote_tmp that is unwritable or full.

mod sshd;

use play::connection::params::{ConnParams, RunDefaults};
use play::connection::ssh::SshConnection;
use play_modules::ModuleContext;
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};

/// A private copy of the play binary for this fleet, so a rebuild of target/debug/play by a
/// concurrent cargo run cannot change the agent under a test.
fn agent_copy(fleet: &sshd::Fleet) -> std::path::PathBuf {
    let dst = fleet.dir().join("play-agent-binary");
    if !dst.exists() {
        let tmp = fleet.dir().join("play-agent-binary.tmp");
        std::fs::copy(env!("CARGO_BIN_EXE_play-agent"), &tmp).unwrap();
        std::fs::rename(&tmp, &dst).unwrap();
    }
    dst
}

fn defaults(fleet: &sshd::Fleet, tag: &str) -> RunDefaults {
    RunDefaults {
        remote_tmp: Some(
            fleet
                .dir()
                .join(format!("remote-tmp-{tag}"))
                .to_string_lossy()
                .into_owned(),
        ),
        agent_binary: Some(agent_copy(fleet)),
        ssh_config: Some(fleet.dir().join("no-ssh-config")),
        ssh_auth_sock: None,
        ..Default::default()
    }
}

fn params(fleet: &sshd::Fleet, i: usize, tag: &str) -> ConnParams {
    let mut p = ConnParams::from_vars(
        &format!("host{i}"),
        &fleet.host_vars(i),
        &defaults(fleet, tag),
    )
    .unwrap();
    p.ssh_auth_sock = None;
    p
}

/// Whether a process runs (a zombie waiting for its reaper does not count).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(st) => {
            st.rsplit_once(')')
                .and_then(|x| x.1.split_whitespace().next())
                != Some("Z")
        }
        Err(_) => false,
    }
}

fn args(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

#[test]
fn modules_run_through_the_agent_and_the_agent_is_reused() {
    let fleet = sshd::Fleet::start(2);
    for i in 0..2 {
        let p = params(&fleet, i, "shared");
        let c = SshConnection::connect(&p).unwrap_or_else(|e| panic!("connect: {e}"));
        // Host 0 uploads; host 1 shares the same machine and remote_tmp, so it finds it.
        assert_eq!(c.uploaded_agent(), i == 0, "host {i}");
        let ctx = ModuleContext::default();
        let r = c.run_module("ping", &Map::new(), &ctx).unwrap();
        assert_eq!(r["ping"], "pong");
        let r = c
            .run_module(
                "command",
                &args(json!({"_raw_params": "echo hi from $0"})),
                &ctx,
            )
            .unwrap();
        assert_eq!(r["stdout"], "hi from $0", "{r:?}");
        assert_eq!(r["rc"], 0);
        let r = c
            .run_module(
                "shell",
                &args(json!({"_raw_params": "echo $((6*7)); exit 3"})),
                &ctx,
            )
            .unwrap();
        assert_eq!(
            (
                r["stdout"].as_str(),
                r["rc"].as_i64(),
                r["failed"].as_bool()
            ),
            (Some("42"), Some(3), Some(true))
        );
        let r = c.run_module("setup", &Map::new(), &ctx).unwrap();
        assert_eq!(r["ansible_facts"]["system"], "Linux", "{r:?}");
        // put and fetch round trip
        let f = fleet.dir().join(format!("put-{i}.txt"));
        let r = c
            .put_file(None, &f.to_string_lossy(), Some(0o600), b"payload\n")
            .unwrap();
        assert_eq!(r["changed"], true);
        let r = c.fetch_file(None, &f.to_string_lossy()).unwrap();
        assert_eq!(r["content"], "cGF5bG9hZAo=");
        // The agent lives in a private directory named by the binary's hash.
        let dir = c.agent_dir();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{dir}");
        c.close();
    }
    // A new connection to the first host does not upload again either.
    let c = SshConnection::connect(&params(&fleet, 0, "shared")).unwrap();
    assert!(!c.uploaded_agent());
    c.close();
}

#[test]
fn every_key_type_authenticates() {
    let fleet = sshd::Fleet::start(1);
    for key in [&fleet.rsa_key, &fleet.ecdsa_key, &fleet.client_key] {
        let mut vars = fleet.host_vars(0);
        vars.insert(
            "ansible_ssh_private_key_file".into(),
            key.to_string_lossy().into_owned().into(),
        );
        let mut p = ConnParams::from_vars("h", &vars, &defaults(&fleet, "keys")).unwrap();
        p.ssh_auth_sock = None;
        let c = SshConnection::connect(&p).unwrap_or_else(|e| panic!("{}: {e}", key.display()));
        assert_eq!(
            c.run_module("ping", &Map::new(), &ModuleContext::default())
                .unwrap()["ping"],
            "pong"
        );
    }
}

#[test]
fn keys_from_ssh_agent_authenticate() {
    let fleet = sshd::Fleet::start(1);
    let sock = fleet.dir().join("agent.sock");
    let out = std::process::Command::new("ssh-agent")
        .arg("-a")
        .arg(&sock)
        .arg("-s")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let pid: i32 = text
        .split("SSH_AGENT_PID=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    struct KillOnDrop(i32);
    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            // SAFETY: the ssh-agent this test started.
            unsafe { libc::kill(self.0, libc::SIGTERM) };
        }
    }
    let _agent = KillOnDrop(pid);
    let st = std::process::Command::new("ssh-add")
        .arg(&fleet.ecdsa_key)
        .env("SSH_AUTH_SOCK", &sock)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let mut vars = fleet.host_vars(0);
    vars.remove("ansible_ssh_private_key_file");
    let mut d = defaults(&fleet, "agent");
    d.ssh_auth_sock = Some(sock.clone());
    let mut p = ConnParams::from_vars("h", &vars, &d).unwrap();
    p.identity_files.clear();
    let c = SshConnection::connect(&p).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        c.run_module("ping", &Map::new(), &ModuleContext::default())
            .unwrap()["ping"],
        "pong"
    );
}

#[test]
fn unknown_and_changed_host_keys_are_refused() {
    let fleet = sshd::Fleet::start(1);
    let h = &fleet.hosts[0];
    // Unknown: an empty known_hosts with checking on.
    let empty = fleet.dir().join("empty_known_hosts");
    std::fs::write(&empty, "").unwrap();
    let mut p = params(&fleet, 0, "hk");
    p.known_hosts_files = vec![empty.clone()];
    let e = SshConnection::connect(&p).expect_err("unknown host key accepted");
    assert!(e.is_unreachable());
    assert!(e.msg.contains(&format!("[{}]:{}", h.addr, h.port)), "{e}");
    assert!(
        e.msg.contains("SHA256:") && e.msg.contains("Host key verification failed"),
        "{e}"
    );

    // The same with checking off connects.
    p.host_key_checking = false;
    SshConnection::connect(&p)
        .unwrap_or_else(|e| panic!("{e}"))
        .close();

    // Changed: known_hosts records another ed25519 key for this host.
    let other = fleet.dir().join("other_host_key");
    sshd::keygen(&other, "ed25519");
    let other_pub = std::fs::read_to_string(other.with_extension("pub")).unwrap();
    let kh = fleet.dir().join("changed_known_hosts");
    std::fs::write(&kh, format!("[{}]:{} {}", h.addr, h.port, other_pub)).unwrap();
    let mut p = params(&fleet, 0, "hk");
    p.known_hosts_files = vec![kh.clone()];
    let e = SshConnection::connect(&p).expect_err("changed host key accepted");
    assert!(
        e.msg.contains("REMOTE HOST IDENTIFICATION HAS CHANGED"),
        "{e}"
    );
    assert!(e.msg.contains(&format!("{}:1", kh.display())), "{e}");
}

#[test]
fn down_host_and_wrong_port_fail_fast_with_a_clear_message() {
    let mut fleet = sshd::Fleet::start(1);
    let mut p = params(&fleet, 0, "down");
    p.port = 2223;
    p.connect_timeout = Duration::from_secs(3);
    let t = Instant::now();
    let e = SshConnection::connect(&p).expect_err("wrong port connected");
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(
        e.msg,
        format!("Failed to connect to the host via ssh: ssh: connect to host {} port 2223: Connection refused", p.host)
    );
    assert!(e.is_unreachable());

    fleet.hosts[0].kill();
    let mut p = params(&fleet, 0, "down");
    p.connect_timeout = Duration::from_secs(3);
    let e = SshConnection::connect(&p).expect_err("down host connected");
    assert!(e.msg.contains("Connection refused"), "{e}");

    // A silent host (a listener that never speaks SSH) hits the connect timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut p = params(&fleet, 0, "down");
    p.host = "127.0.0.1".into();
    p.port = silent.local_addr().unwrap().port();
    p.connect_timeout = Duration::from_secs(2);
    let t = Instant::now();
    let e = SshConnection::connect(&p).expect_err("silent host connected");
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    assert!(e.msg.contains("Connection timed out"), "{e}");
}

#[test]
fn bad_private_keys_are_refused() {
    let fleet = sshd::Fleet::start(1);
    let garbage = fleet.dir().join("garbage_key");
    std::fs::write(
        &garbage,
        "-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n-----END OPENSSH PRIVATE KEY-----\n",
    )
    .unwrap();
    for (key, extra) in [
        (&garbage, Some("invalid format")),
        (&fleet.stranger_key, None),
    ] {
        let mut p = params(&fleet, 0, "badkey");
        p.identity_files = vec![key.clone()];
        let e = SshConnection::connect(&p).expect_err("bad key accepted");
        assert!(e.is_unreachable());
        assert!(
            e.msg.contains(&format!(
                "root@{}: Permission denied (publickey,password).",
                p.host
            )),
            "{e}"
        );
        if let Some(x) = extra {
            assert!(e.msg.contains(x), "{e}");
        }
    }
}

#[test]
fn an_agent_killed_mid_session_is_an_error_not_a_hang() {
    let fleet = sshd::Fleet::start(1);
    let c = SshConnection::connect(&params(&fleet, 0, "kill")).unwrap();
    let pid = c.agent_pid().expect("agent pid");
    assert!(pid > 0);
    // SAFETY: the agent process this test started (same machine).
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    let t = Instant::now();
    let e = c
        .run_module("ping", &Map::new(), &ModuleContext::default())
        .expect_err("dead agent answered");
    assert!(t.elapsed() < Duration::from_secs(10));
    assert!(e.is_unreachable());
    assert!(e.msg.contains("host0") && e.msg.contains("agent"), "{e}");

    // A module that takes a while, with the agent killed while it runs.
    let c = SshConnection::connect(&params(&fleet, 0, "kill")).unwrap();
    let pid = c.agent_pid().unwrap();
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        // SAFETY: as above.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    });
    let e = c
        .run_module(
            "command",
            &args(json!({"_raw_params": "sleep 30"})),
            &ModuleContext::default(),
        )
        .expect_err("killed agent answered");
    killer.join().unwrap();
    assert!(e.msg.contains("signal") || e.msg.contains("exit"), "{e}");
}

#[test]
fn become_via_sudo_runs_the_agent_as_the_target_user() {
    if !std::path::Path::new("/usr/bin/sudo").exists() {
        let ok = std::process::Command::new("apt-get")
            .args(["install", "-y", "-qq", "sudo"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "cannot install sudo");
    }
    let fleet = sshd::Fleet::start(1);
    let c = SshConnection::connect(&params(&fleet, 0, "become")).unwrap();
    let b = play::connection::params::BecomeParams {
        method: "sudo".into(),
        user: "root".into(),
        password: None,
        flags: None,
        exe: None,
    };
    let r = c
        .run_module_as(
            Some(&b),
            "command",
            &args(json!({"_raw_params": "id -u"})),
            &ModuleContext::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r["stdout"], "0", "{r:?}");
    let mut su = b.clone();
    su.method = "doas".into();
    let e = c
        .run_module_as(Some(&su), "ping", &Map::new(), &ModuleContext::default())
        .err()
        .unwrap();
    assert!(!e.is_unreachable() && e.msg.contains("doas"), "{e}");
}

#[test]
fn ssh_config_and_proxy_jump() {
    let fleet = sshd::Fleet::start(2);
    let (jump, target) = (&fleet.hosts[0], &fleet.hosts[1]);
    let cfg = fleet.dir().join("ssh_config");
    std::fs::write(
        &cfg,
        format!(
            "Host behind-*\n  HostName {}\n  Port {}\n  User root\n  IdentityFile {}\n  UserKnownHostsFile {}\n  ProxyJump root@{}:{}\n",
            target.addr,
            target.port,
            fleet.client_key.display(),
            fleet.known_hosts.display(),
            jump.addr,
            jump.port
        ),
    )
    .unwrap();
    let mut d = defaults(&fleet, "jump");
    d.ssh_config = Some(cfg);
    let mut p = ConnParams::from_vars("behind-1", &Map::new(), &d).unwrap();
    p.ssh_auth_sock = None;
    assert_eq!(p.host, target.addr);
    assert_eq!(
        p.proxy_jump.as_deref(),
        Some(format!("root@{}:{}", jump.addr, jump.port).as_str())
    );
    let c = SshConnection::connect(&p).unwrap_or_else(|e| panic!("{e}"));
    let r = c
        .run_module(
            "shell",
            &args(json!({"_raw_params": "echo $SSH_CONNECTION"})),
            &ModuleContext::default(),
        )
        .unwrap();
    // The target saw the connection come from the jump host's side of loopback, and the
    // server address is the target's.
    let conn = r["stdout"].as_str().unwrap().to_string();
    assert!(
        conn.contains(&format!("{} {}", target.addr, target.port)),
        "{conn}"
    );
    c.close();

    // With the jump host down, the error names it.
    let jump_addr = jump.addr.clone();
    let mut fleet = fleet;
    fleet.hosts[0].kill();
    let e = SshConnection::connect(&p).expect_err("jump host down");
    assert!(e.is_unreachable());
    assert!(
        e.msg.contains(&format!("through jump host {jump_addr}"))
            && e.msg.contains("Connection refused"),
        "{e}"
    );
}

#[test]
fn password_login_and_sudo_passwords() {
    let (user, pw) = sshd::test_user();
    let fleet = sshd::Fleet::start(1);
    let mut vars = fleet.host_vars(0);
    vars.insert("ansible_user".into(), user.clone().into());
    vars.remove("ansible_ssh_private_key_file");
    vars.insert("ansible_password".into(), "wrong-password".into());
    // The agent goes under a directory the test user can write.
    let tmp = fleet.dir().join("user-tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    std::process::Command::new("chown")
        .arg(&user)
        .arg(&tmp)
        .status()
        .unwrap();
    std::process::Command::new("chmod")
        .arg("a+x")
        .arg(fleet.dir())
        .status()
        .unwrap();
    let mut d = defaults(&fleet, "pw");
    d.remote_tmp = Some(tmp.to_string_lossy().into_owned());
    let mut p = ConnParams::from_vars("pwhost", &vars, &d).unwrap();
    p.identity_files.clear();
    p.ssh_auth_sock = None;
    let e = SshConnection::connect(&p).expect_err("wrong password accepted");
    assert!(e.is_unreachable());
    assert!(
        e.msg.ends_with(&format!(
            "{user}@{}: Permission denied (publickey,password).",
            p.host
        )),
        "{e}"
    );

    p.password = Some(pw.clone());
    let c = SshConnection::connect(&p).unwrap_or_else(|e| panic!("{e}"));
    let ctx = ModuleContext::default();
    let r = c
        .run_module("command", &args(json!({"_raw_params": "id -un"})), &ctx)
        .unwrap();
    assert_eq!(r["stdout"], user.as_str());

    let mut b = play::connection::params::BecomeParams {
        method: "sudo".into(),
        user: "root".into(),
        password: None,
        flags: None,
        exe: None,
    };
    let t = Instant::now();
    let e = c
        .run_module_as(Some(&b), "ping", &Map::new(), &ctx)
        .expect_err("sudo without password");
    assert_eq!(
        (e.msg.as_str(), e.is_unreachable()),
        ("Missing sudo password", false)
    );
    b.password = Some("not-it".into());
    let e = c
        .run_module_as(Some(&b), "ping", &Map::new(), &ctx)
        .expect_err("wrong sudo password");
    assert_eq!(
        (e.msg.as_str(), e.is_unreachable()),
        ("Incorrect sudo password", false)
    );
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    b.password = Some(pw.clone());
    let r = c
        .run_module_as(
            Some(&b),
            "command",
            &args(json!({"_raw_params": "id -u"})),
            &ctx,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r["stdout"], "0", "{r:?}");
    // The plain agent is still there and still the login user.
    let r = c
        .run_module("command", &args(json!({"_raw_params": "id -un"})), &ctx)
        .unwrap();
    assert_eq!(r["stdout"], user.as_str());
}

#[test]
fn sshd_killed_mid_session_is_unreachable_and_leaves_nothing_running() {
    let mut fleet = sshd::Fleet::start(2);
    let a = SshConnection::connect(&params(&fleet, 0, "sshdkill")).unwrap();
    let b = SshConnection::connect(&params(&fleet, 1, "sshdkill")).unwrap();
    let pid = a.agent_pid().unwrap();
    let ctx = ModuleContext::default();
    assert_eq!(
        a.run_module("ping", &Map::new(), &ctx).unwrap()["ping"],
        "pong"
    );
    fleet.hosts[0].kill();
    let t = Instant::now();
    let e = a
        .run_module("ping", &Map::new(), &ctx)
        .expect_err("host 0 is down");
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
    assert!(e.is_unreachable(), "{e}");
    // The other host goes on.
    assert_eq!(
        b.run_module("ping", &Map::new(), &ctx).unwrap()["ping"],
        "pong"
    );
    // The killed host's agent is gone.
    assert!(!alive(pid), "{pid}");
    // Closing everything leaves no agent of this fleet behind.
    let pid_b = b.agent_pid().unwrap();
    b.close();
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid_b) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !std::path::Path::new(&format!("/proc/{pid_b}")).exists(),
        "agent left running after close"
    );
}

#[test]
fn a_session_dropped_between_tasks_is_reopened() {
    let mut fleet = sshd::Fleet::start(1);
    let c = SshConnection::connect(&params(&fleet, 0, "reopen")).unwrap();
    let ctx = ModuleContext::default();
    let first = c.agent_pid().unwrap();
    // Kill only the session processes (the listener stays): the connection drops.
    let listener = fleet.hosts[0].pid().unwrap();
    for p in sshd::descendants(listener) {
        // SAFETY: processes of this test's sshd.
        unsafe { libc::kill(p as i32, libc::SIGKILL) };
    }
    // The first call after the drop may see the dying session; the next one is served by
    // a new session and a new agent.
    let deadline = Instant::now() + Duration::from_secs(10);
    let r = loop {
        match c.run_module("ping", &Map::new(), &ctx) {
            Ok(r) => break r,
            Err(e) => {
                assert!(e.is_unreachable());
                assert!(Instant::now() < deadline, "never reopened: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    };
    assert_eq!(r["ping"], "pong");
    assert_ne!(c.agent_pid().unwrap(), first);
    // With the host gone for good, the retries are bounded and the error is clear.
    fleet.hosts[0].kill();
    let t = Instant::now();
    let mut last = None;
    for _ in 0..3 {
        last = c.run_module("ping", &Map::new(), &ctx).err();
    }
    assert!(t.elapsed() < Duration::from_secs(20));
    let e = last.expect("host is down");
    assert!(e.msg.contains("Connection refused"), "{e}");
}

#[test]
fn an_unwritable_remote_tmp_is_reported() {
    let fleet = sshd::Fleet::start(1);
    let mut p = params(&fleet, 0, "ro");
    p.remote_tmp = "/proc/play-remote-tmp".into();
    let e = SshConnection::connect(&p).expect_err("agent placed under /proc");
    assert!(e.is_unreachable());
    assert!(
        e.msg.starts_with("Failed to create temporary directory."),
        "{e}"
    );
    assert!(e.msg.contains("/proc/play-remote-tmp"), "{e}");
}

/// A small tmpfs mounted for one test, unmounted (lazily, in case a process still has it
/// open) however the test ends.
struct SmallFs(std::path::PathBuf);

impl SmallFs {
    /// None where mounting is not allowed (not root, or no CAP_SYS_ADMIN in a container).
    fn mount(at: std::path::PathBuf, size: &str) -> Option<SmallFs> {
        std::fs::create_dir_all(&at).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallFs(at))
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[test]
fn a_full_remote_tmp_is_reported_and_leaves_no_partial_agent() {
    let fleet = sshd::Fleet::start(1);
    let root = fleet.dir().join("full-remote-tmp");
    let Some(fs) = SmallFs::mount(root.clone(), "256k") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root)");
        return;
    };
    let mut p = params(&fleet, 0, "full");
    p.remote_tmp = root.join("tmp").to_string_lossy().into_owned();
    let t = Instant::now();
    let e = SshConnection::connect(&p).expect_err("the agent does not fit in 256 KiB");
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
    assert!(e.is_unreachable(), "{e}");
    assert!(e.msg.starts_with("Failed to write the play agent"), "{e}");
    assert!(e.msg.contains("No space left on device"), "{e}");
    assert!(e.msg.contains("host0"), "{e}");
    // Nothing half-written stays behind: the agent directory holds no file at all.
    let left: Vec<_> = walkdir(&fs.0);
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Every regular file under `dir`.
fn walkdir(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walkdir(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
#[ignore = "measures round trips; run by hand"]
fn round_trip_timing() {
    let fleet = sshd::Fleet::start(1);
    let c = SshConnection::connect(&params(&fleet, 0, "timing")).unwrap();
    let ctx = ModuleContext::default();
    let t = Instant::now();
    for _ in 0..200 {
        c.run_module("ping", &Map::new(), &ctx).unwrap();
    }
    eprintln!("ping round trip: {:?}", t.elapsed() / 200);
    let t = Instant::now();
    for _ in 0..50 {
        c.run_module("command", &args(json!({"_raw_params": "true"})), &ctx)
            .unwrap();
    }
    eprintln!("command round trip: {:?}", t.elapsed() / 50);
    let t = Instant::now();
    let c2 = SshConnection::connect(&params(&fleet, 0, "timing")).unwrap();
    eprintln!("connect with the agent in place: {:?}", t.elapsed());
    c2.close();
}

#[test]
fn a_target_the_agent_cannot_run_on_gets_modules_through_plain_commands() {
    let fleet = sshd::Fleet::start_foreign(1);
    let p = params(&fleet, 0, "foreign");
    let c = SshConnection::connect(&p).unwrap_or_else(|e| panic!("connect: {e}"));
    assert!(!c.uploaded_agent());
    // Nothing was written: the platform check comes before the upload.
    assert!(
        !std::path::Path::new(&c.agent_dir()).exists(),
        "{}",
        c.agent_dir()
    );
    let ctx = ModuleContext::default();
    let r = c.run_module("ping", &Map::new(), &ctx).unwrap();
    assert_eq!(r["ping"], "pong");
    let warning = r["warnings"][0].as_str().unwrap_or_default();
    assert!(
        warning.contains("cannot run on host0 (FreeBSD arm64)")
            && warning.contains("plain remote commands"),
        "{r:?}"
    );
    // Later results carry no warning.
    let file = fleet.dir().join("data file");
    std::fs::write(&file, b"\x00\x01 bytes\n").unwrap();
    let r = c
        .run_module(
            "shell",
            &args(json!({
                "_raw_params": "cat \"$F\"; echo \"$PWD\" >&2; exit 3",
                "chdir": fleet.dir(),
                "stdin": "ignored",
            })),
            &ModuleContext {
                environment: vec![("F".into(), file.display().to_string())],
                ..Default::default()
            },
        )
        .unwrap();
    assert!(r.get("warnings").is_none(), "{r:?}");
    assert_eq!(
        (r["rc"].as_i64(), r["failed"].as_bool()),
        (Some(3), Some(true)),
        "{r:?}"
    );
    assert_eq!(r["stdout"], "\u{0}\u{1} bytes");
    assert_eq!(r["stderr"], fleet.dir().display().to_string());
    let r = c
        .run_module(
            "command",
            &args(json!({"argv": ["cat"], "stdin": "fed in", "creates": "/no/such/*"})),
            &ctx,
        )
        .unwrap();
    assert_eq!(
        (r["stdout"].as_str(), r["changed"].as_bool()),
        (Some("fed in"), Some(true))
    );
    let r = c
        .run_module(
            "command",
            &args(json!({"_raw_params": "echo not run", "creates": format!("{}/data*", fleet.dir().display())})),
            &ctx,
        )
        .unwrap();
    assert_eq!(r["changed"], false, "{r:?}");
    assert!(
        r["msg"]
            .as_str()
            .unwrap()
            .starts_with("Did not run command since"),
        "{r:?}"
    );
    let r = c
        .run_module(
            "command",
            &args(json!({"_raw_params": "/no/such/program"})),
            &ctx,
        )
        .unwrap();
    assert_eq!(
        (r["rc"].as_i64(), r["msg"].as_str()),
        (Some(2), Some("Error executing command."))
    );
    let r = c
        .run_module("slurp", &args(json!({"src": file})), &ctx)
        .unwrap();
    assert_eq!(r["content"], "AAEgYnl0ZXMK", "{r:?}");
    let r = c
        .run_module("slurp", &args(json!({"src": fleet.dir()})), &ctx)
        .unwrap();
    assert!(
        r["msg"]
            .as_str()
            .unwrap()
            .starts_with("Source is a directory"),
        "{r:?}"
    );
    // A module that needs the agent fails the task, naming itself, the host and why.
    let e = c
        .run_module(
            "file",
            &args(json!({"path": file, "state": "absent"})),
            &ctx,
        )
        .expect_err("file without the agent");
    assert!(!e.is_unreachable());
    assert!(
        e.msg.starts_with(
            "The module file needs the play agent, which cannot run on host0 (FreeBSD arm64"
        ),
        "{e}"
    );
    assert!(file.exists());
    c.close();
}

//! A throwaway fleet of real OpenSSH servers for tests: one `sshd` per loopback address
//! (127.0.0.2, 127.0.0.3, ...) on a fixed high port, each with its own host key, all
//! accepting one client key made for the test. Every sshd is stopped by PID (its whole
//! process group) when the [`Fleet`] is dropped, also on panic.
//!
//! Use from a test file with `mod sshd;` (this file is `tests/sshd/mod.rs`).
//! Needs root (sshd must switch users) and `/usr/sbin/sshd`, which is installed from
//! Debian's `openssh-server` package when missing.
#![allow(dead_code)]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The port every test sshd listens on.
pub const PORT: u16 = 2222;
const SSHD: &str = "/usr/sbin/sshd";

/// One running sshd.
pub struct Sshd {
    pub addr: String,
    pub port: u16,
    /// The host's public key, `ssh-ed25519 AAAA...`.
    pub host_key_pub: String,
    pub dir: PathBuf,
    child: Option<Child>,
}

impl Sshd {
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Kill this sshd, its per-connection processes and everything they started (the
    /// sessions call setsid, so a process group is not enough): a host going down.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let pid = c.id();
            let mut all = descendants(pid);
            all.push(pid);
            for p in all {
                // SAFETY: signalling processes this harness's sshd started.
                unsafe {
                    libc::kill(p as i32, libc::SIGKILL);
                }
            }
            let _ = c.wait();
        }
    }

    /// The `known_hosts` line for this host.
    pub fn known_hosts_line(&self) -> String {
        format!("[{}]:{} {}", self.addr, self.port, self.host_key_pub)
    }
}

/// Every process below `root` (by parent pid, from /proc).
pub fn descendants(root: u32) -> Vec<u32> {
    let mut parent = std::collections::HashMap::new();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
                continue;
            };
            // pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
            let Some(rest) = stat.rsplit_once(')').map(|x| x.1) else {
                continue;
            };
            if let Some(ppid) = rest
                .split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u32>().ok())
            {
                parent.insert(pid, ppid);
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for (&c, &pp) in &parent {
            if pp == p && !out.contains(&c) {
                out.push(c);
                frontier.push(c);
            }
        }
    }
    out
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.kill();
    }
}

/// N sshd hosts, a client key they all accept and a known_hosts file naming them.
pub struct Fleet {
    pub hosts: Vec<Sshd>,
    /// The ed25519 client key (also authorized: `rsa_key`, `ecdsa_key`).
    pub client_key: PathBuf,
    pub rsa_key: PathBuf,
    pub ecdsa_key: PathBuf,
    /// A key the servers do not accept.
    pub stranger_key: PathBuf,
    pub known_hosts: PathBuf,
    pub user: String,
    // Last, so the servers are stopped before their files go.
    pub tmp: tempfile::TempDir,
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Make an unencrypted key pair at `path` (`path.pub` beside it).
pub fn keygen(path: &Path, kind: &str) {
    let mut c = Command::new("ssh-keygen");
    c.args(["-q", "-t", kind, "-N", "", "-C", "play-test", "-f"])
        .arg(path);
    if kind == "rsa" {
        c.args(["-b", "2048"]);
    }
    run(&mut c);
}

fn ensure_sshd() {
    static ONCE: Mutex<bool> = Mutex::new(false);
    let mut done = ONCE.lock().unwrap_or_else(|e| e.into_inner());
    if *done {
        return;
    }
    // SAFETY: geteuid cannot fail.
    assert_eq!(unsafe { libc::geteuid() }, 0, "the sshd harness needs root");
    if !Path::new(SSHD).exists() {
        let _ = Command::new("apt-get").arg("update").arg("-qq").status();
        let ok = Command::new("apt-get")
            .args(["install", "-y", "-qq", "openssh-server", "openssh-client"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(
            ok && Path::new(SSHD).exists(),
            "cannot install openssh-server"
        );
    }
    // sshd's privilege separation directory.
    let _ = std::fs::create_dir_all("/run/sshd");
    *done = true;
}

/// A local account for password and become tests: `(name, password)`. Created once per
/// machine (useradd -m), its password set on every call, and allowed to run anything as
/// root through sudo *with* its password (so `-n` fails and a wrong password is refused).
/// Installs sudo from Debian's packages when missing.
pub fn test_user() -> (String, String) {
    static ONCE: Mutex<bool> = Mutex::new(false);
    let mut done = ONCE.lock().unwrap_or_else(|e| e.into_inner());
    let (user, pw) = ("playtest".to_string(), "Play-Test-Pw1".to_string());
    if *done {
        return (user, pw);
    }
    if !Path::new("/usr/bin/sudo").exists() {
        let ok = Command::new("apt-get")
            .args(["install", "-y", "-qq", "sudo"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "cannot install sudo");
    }
    let exists = Command::new("id")
        .arg(&user)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !exists {
        run(Command::new("useradd").args(["-m", "-s", "/bin/sh", &user]));
    }
    let mut c = Command::new("chpasswd")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        c.stdin
            .take()
            .unwrap()
            .write_all(format!("{user}:{pw}\n").as_bytes())
            .unwrap();
    }
    assert!(c.wait().unwrap().success(), "chpasswd failed");
    std::fs::write(
        format!("/etc/sudoers.d/{user}"),
        format!("{user} ALL=(ALL:ALL) ALL\n"),
    )
    .unwrap();
    *done = true;
    (user, pw)
}

/// The next loopback address to try (127.0.0.2 upwards), shared by every fleet in the process.
static NEXT: AtomicU32 = AtomicU32::new(2);

impl Fleet {
    /// Start `n` sshd hosts. Panics with sshd's own message if one cannot start.
    pub fn start(n: usize) -> Fleet {
        Fleet::start_with(n, |_| String::new())
    }

    /// Start `n` hosts whose sessions see a `uname` that reports FreeBSD on arm64: targets
    /// the agent refuses to run on, for the controller-side fallback.
    #[allow(dead_code)]
    pub fn start_foreign(n: usize) -> Fleet {
        Fleet::start_with(n, |dir| {
            let bin = dir.join("foreign-bin");
            std::fs::create_dir_all(&bin).unwrap();
            let uname = bin.join("uname");
            std::fs::write(
                &uname,
                "#!/bin/sh\nif [ \"$1\" = -sm ]; then echo 'FreeBSD arm64'; else exec /bin/uname \"$@\"; fi\n",
            )
            .unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&uname, std::fs::Permissions::from_mode(0o755)).unwrap();
            format!(
                "SetEnv PATH={}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n",
                bin.display()
            )
        })
    }

    /// Start `n` hosts with `extra` (given the fleet's directory) added to each sshd_config.
    fn start_with(n: usize, extra: impl Fn(&Path) -> String) -> Fleet {
        ensure_sshd();
        let tmp = tempfile::Builder::new()
            .prefix("play-sshd-")
            .tempdir()
            .unwrap();
        let d = tmp.path();
        let client_key = d.join("id_ed25519");
        let rsa_key = d.join("id_rsa");
        let ecdsa_key = d.join("id_ecdsa");
        let stranger_key = d.join("id_stranger");
        keygen(&client_key, "ed25519");
        keygen(&rsa_key, "rsa");
        keygen(&ecdsa_key, "ecdsa");
        keygen(&stranger_key, "ed25519");
        let mut auth = String::new();
        for k in [&client_key, &rsa_key, &ecdsa_key] {
            auth += &std::fs::read_to_string(k.with_extension("pub")).unwrap();
        }
        // .with_extension on "id_ed25519" gives "id_ed25519.pub".
        std::fs::write(d.join("authorized_keys"), auth).unwrap();
        let extra = extra(d);

        let mut hosts = Vec::new();
        while hosts.len() < n {
            let octet = NEXT.fetch_add(1, Ordering::SeqCst);
            assert!(octet < 250, "no free loopback address for sshd");
            let addr = format!("127.0.0.{octet}");
            // Someone else's server on this address: take the next one.
            if std::net::TcpListener::bind((addr.as_str(), PORT)).is_err() {
                continue;
            }
            if let Some(h) = Sshd::start(d, &addr, PORT, &extra) {
                hosts.push(h);
            }
        }
        let known_hosts = d.join("known_hosts");
        let lines: Vec<String> = hosts.iter().map(|h| h.known_hosts_line()).collect();
        std::fs::write(&known_hosts, lines.join("\n") + "\n").unwrap();
        Fleet {
            hosts,
            client_key,
            rsa_key,
            ecdsa_key,
            stranger_key,
            known_hosts,
            user: "root".into(),
            tmp,
        }
    }

    pub fn dir(&self) -> &Path {
        self.tmp.path()
    }

    /// Inventory variables that reach host `i` with the test key and known_hosts.
    pub fn host_vars(&self, i: usize) -> serde_json::Map<String, serde_json::Value> {
        let h = &self.hosts[i];
        let mut m = serde_json::Map::new();
        m.insert("ansible_host".into(), h.addr.clone().into());
        m.insert("ansible_port".into(), h.port.into());
        m.insert("ansible_user".into(), self.user.clone().into());
        m.insert(
            "ansible_ssh_private_key_file".into(),
            self.client_key.to_string_lossy().into_owned().into(),
        );
        m.insert(
            "ansible_ssh_common_args".into(),
            format!("-o UserKnownHostsFile={}", self.known_hosts.display()).into(),
        );
        m
    }
}

impl Sshd {
    fn start(root: &Path, addr: &str, port: u16, extra: &str) -> Option<Sshd> {
        let dir = root.join(addr);
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("ssh_host_ed25519_key");
        keygen(&key, "ed25519");
        let pubkey = std::fs::read_to_string(dir.join("ssh_host_ed25519_key.pub")).unwrap();
        let host_key_pub = pubkey
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        let cfg = dir.join("sshd_config");
        std::fs::write(
            &cfg,
            format!(
                "ListenAddress {addr}:{port}\nHostKey {}\nPidFile none\nAuthorizedKeysFile {}\n\
                 StrictModes no\nUsePAM no\nPermitRootLogin yes\nPasswordAuthentication yes\n\
                 KbdInteractiveAuthentication no\nLogLevel ERROR\nMaxStartups 200\nMaxSessions 100\n\
                 Subsystem sftp internal-sftp\n{extra}",
                key.display(),
                root.join("authorized_keys").display()
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("sshd.log")).unwrap();
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new(SSHD);
        cmd.arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .process_group(0);
        // If the test process dies without running Drop (SIGKILL, a timeout), sshd goes
        // with it. The signal follows the spawning thread: a fleet lives on one test thread.
        // SAFETY: prctl is async-signal-safe and touches only the child.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd.spawn().expect("cannot start sshd");
        let mut h = Sshd {
            addr: addr.to_string(),
            port,
            host_key_pub,
            dir: dir.clone(),
            child: Some(child),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(st) = h.child.as_mut().unwrap().try_wait().unwrap() {
                h.child = None;
                let log = std::fs::read_to_string(dir.join("sshd.log")).unwrap_or_default();
                if log.contains("Address already in use") {
                    return None;
                }
                panic!("sshd on {addr}:{port} exited ({st}): {log}");
            }
            if TcpStream::connect_timeout(
                &format!("{addr}:{port}").parse().unwrap(),
                Duration::from_millis(200),
            )
            .is_ok()
            {
                return Some(h);
            }
            assert!(
                Instant::now() < deadline,
                "sshd on {addr}:{port} did not start listening"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Fleet {
    /// An INI inventory line naming host `i` as `name`, with the variables that reach it.
    #[allow(dead_code)] // not every test file that includes this module uses it
    pub fn inventory_line(&self, i: usize, name: &str) -> String {
        let mut line = name.to_string();
        for (k, v) in self.host_vars(i) {
            let v = v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
            line.push_str(&format!(" {k}='{v}'"));
        }
        line
    }
}

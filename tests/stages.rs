//! Stage-split roles and checkpoints, end to end through the `play` binary with the local
//! connection: which stages run on a first run and a re-run, what the checkpoint local facts
//! hold, forcing, the plan, and the faults (corrupt checkpoint, unwritable fact_path, a broken
//! stage file, a failed or killed install).
//!
//! The fixture is tests/stages/: role `svcone` (main.yml imports its install stage and
//! includes its configure stage; install includes a templated sub-file) and role `svctwo`
//! (no main.yml: build, install and configure files only). Every task appends a line to
//! `<out>/log/<host>`, and checkpoints go to `<out>/facts/<host>/` (the play's fact_path).

mod sshd;
mod support;

use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use support::repo_root;

struct Out {
    code: i32,
    stdout: String,
}

fn fixture() -> (tempfile::TempDir, PathBuf) {
    let work = tempfile::tempdir().unwrap();
    let tree = work.path().join("tree");
    support::copy_tree(&repo_root().join("tests/stages"), &tree).unwrap();
    (work, tree)
}

fn play(tree: &Path, out: &Path, inventory: &str, args: &[&str]) -> Out {
    let o = command(tree, out, inventory, args).output().unwrap();
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).to_string()
            + &String::from_utf8_lossy(&o.stderr),
    }
}

fn command(tree: &Path, out: &Path, inventory: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_play"));
    cmd.current_dir(tree)
        .env("ANSIBLE_CONFIG", tree.join("none.cfg"))
        .env_remove("ANSIBLE_FACT_PATH")
        .args(["-i", inventory, "site.yml"])
        .arg("-e")
        .arg(format!("out_dir={}", out.display()))
        .args(args)
        .stdin(Stdio::null());
    // A host list names hosts without variables: they are this machine.
    if inventory.ends_with(',') {
        cmd.args(["-c", "local"]);
    }
    cmd
}

/// The run ended with `code` and said `text`.
fn expect_failure(r: &Out, code: i32, text: &str) {
    assert_eq!(r.code, code, "{}", r.stdout);
    assert!(r.stdout.contains(text), "{}", r.stdout);
}

/// hosts.ini in the tree; its path, for `-i`.
fn write_inventory(tree: &Path, text: &str) -> String {
    let inv = tree.join("hosts.ini");
    fs::write(&inv, text).unwrap();
    inv.display().to_string()
}

fn log(out: &Path, host: &str) -> Vec<String> {
    fs::read_to_string(out.join("log").join(host))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn clear_log(out: &Path) {
    let _ = fs::remove_dir_all(out.join("log"));
}

fn checkpoint(out: &Path, host: &str, svc: &str) -> Value {
    let p = out.join("facts").join(host).join(format!("{svc}.fact"));
    serde_json::from_str(&fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p:?}: {e}"))).unwrap()
}

const FIRST_RUN: &[&str] = &[
    "svcone-install",
    "svcone-install-apt",
    "svcone-configure",
    "svctwo-build",
    "svctwo-install-two",
    "svctwo-configure",
];
/// A first run on a host that is not the build host (the build runs once, on localhost).
const TARGET_RUN: &[&str] = &[
    "svcone-install",
    "svcone-install-apt",
    "svcone-configure",
    "svctwo-install-two",
    "svctwo-configure",
];
const CONFIGURE_ONLY: &[&str] = &["svcone-configure", "svctwo-configure"];

#[test]
fn rerun_skips_finished_stages_and_configure_always_runs() {
    let (work, tree) = fixture();
    let out = work.path().join("out");
    let r = play(&tree, &out, "localhost,", &["-e", "stage_version=14.2.0"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(log(&out, "localhost"), FIRST_RUN);

    // The checkpoint: per stage, the version, a fingerprint, the time and play's version.
    let one = checkpoint(&out, "localhost", "svcone");
    assert_eq!(one["install"]["version"], "14.2.0");
    assert!(one["install"]["fingerprint"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert!(one["install"]["completed"].as_str().unwrap().ends_with('Z'));
    assert!(one["install"]["play_version"].is_string());
    assert!(
        one.get("configure").is_none(),
        "configure leaves no checkpoint"
    );
    let two = checkpoint(&out, "localhost", "svctwo");
    assert!(
        two.get("build").is_none(),
        "a build leaves a manifest, not a checkpoint"
    );
    assert_eq!(two["install"]["version"], "14.2.0");
    // The build's manifest describes its artifact, and the stage step put it in place.
    let dir = out.join("artifacts/svctwo/14.2.0");
    let m: Value =
        serde_json::from_str(&fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["service"], "svctwo");
    assert_eq!(m["version"], "14.2.0");
    let a = &m["artifacts"][0];
    assert_eq!(a["path"], "svctwo-app.tar.gz");
    assert_eq!(a["kind"], "tarball");
    let data = fs::read(dir.join("svctwo-app.tar.gz")).unwrap();
    assert_eq!(a["size"], data.len());
    assert_eq!(a["sha256"], sha256_hex(&data));
    assert!(a["os"].is_string() && a["arch"].is_string());
    assert_eq!(
        fs::read(out.join("stage/localhost/svctwo/14.2.0/svctwo-app.tar.gz")).unwrap(),
        data
    );
    assert_eq!(two["install"]["version"], "14.2.0");

    clear_log(&out);
    let r = play(
        &tree,
        &out,
        "localhost,",
        &["-e", "stage_version=14.2.0", "-v"],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(log(&out, "localhost"), CONFIGURE_ONLY);
    assert!(
        r.stdout.contains("stage install done (version 14.2.0"),
        "{}",
        r.stdout
    );
    // Skipped stages count as skipped in the recap: svcone install, svctwo build + install,
    // and the configure lock task whose condition is false.
    let recap = support::parse_recap(&r.stdout);
    assert!(recap["localhost"].contains("skipped=4"), "{recap:?}");

    // A new release runs the checkpointed stages again.
    clear_log(&out);
    let r = play(&tree, &out, "localhost,", &["-e", "stage_version=14.3.0"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(log(&out, "localhost"), FIRST_RUN);
    assert_eq!(
        checkpoint(&out, "localhost", "svcone")["install"]["version"],
        "14.3.0"
    );
}

#[test]
fn version_defaults_to_the_fingerprint_and_follows_the_task_files() {
    let (work, tree) = fixture();
    let out = work.path().join("out");
    assert_eq!(play(&tree, &out, "localhost,", &[]).code, 0);
    let one = checkpoint(&out, "localhost", "svcone");
    assert_eq!(one["install"]["version"], one["install"]["fingerprint"]);
    // The service's own version wins over stage_version.
    clear_log(&out);
    let r = play(
        &tree,
        &out,
        "localhost,",
        &["-e", "svctwo_stage_version=2.0", "-e", "stage_version=9"],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(
        checkpoint(&out, "localhost", "svctwo")["install"]["version"],
        "2.0"
    );
    assert_eq!(
        checkpoint(&out, "localhost", "svcone")["install"]["version"],
        "9"
    );

    // Changing a sub-file of the install stage runs install again; configure files do not
    // count.
    clear_log(&out);
    let args = ["-e", "svctwo_stage_version=2.0", "-e", "stage_version=9"];
    fs::write(
        tree.join("roles/svcone/tasks/svcone_configure.yml"),
        "- name: Configure svcone\n  ansible.builtin.shell: echo svcone-configure >> {{ log }}\n\n",
    )
    .unwrap();
    assert_eq!(play(&tree, &out, "localhost,", &args).code, 0);
    assert_eq!(log(&out, "localhost"), CONFIGURE_ONLY);
    clear_log(&out);
    let sub = tree.join("roles/svcone/tasks/svcone_install_apt.yml");
    let text = fs::read_to_string(&sub).unwrap() + "\n# changed\n";
    fs::write(&sub, text).unwrap();
    let r = play(&tree, &out, "localhost,", &args);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(
        log(&out, "localhost"),
        [
            "svcone-install",
            "svcone-install-apt",
            "svcone-configure",
            "svctwo-configure"
        ]
    );
}

#[test]
fn forcing_and_ignoring_checkpoints() {
    let (work, tree) = fixture();
    let out = work.path().join("out");
    let v = ["-e", "stage_version=1"];
    assert_eq!(play(&tree, &out, "localhost,", &v).code, 0);
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--force-stage", "install"],
            &[
                "svcone-install",
                "svcone-install-apt",
                "svcone-configure",
                "svctwo-install-two",
                "svctwo-configure",
            ],
        ),
        (
            &["--force-stage", "build"],
            &["svcone-configure", "svctwo-build", "svctwo-configure"],
        ),
        (&["--force-stage", "all"], FIRST_RUN),
        // Checkpoints, not pre-built artifacts: the build is not redone.
        (
            &["--ignore-checkpoints"],
            &[
                "svcone-install",
                "svcone-install-apt",
                "svcone-configure",
                "svctwo-install-two",
                "svctwo-configure",
            ],
        ),
        (
            &["-e", "{\"force_stages\": [\"build\"]}"],
            &["svcone-configure", "svctwo-build", "svctwo-configure"],
        ),
        (
            &["-e", "svcone_force_install=true"],
            &[
                "svcone-install",
                "svcone-install-apt",
                "svcone-configure",
                "svctwo-configure",
            ],
        ),
        (&["-e", "svcone_force_install=false"], CONFIGURE_ONLY),
        (&[], CONFIGURE_ONLY),
    ];
    for (extra, want) in cases {
        clear_log(&out);
        let args: Vec<&str> = v.iter().chain(extra.iter()).copied().collect();
        let r = play(&tree, &out, "localhost,", &args);
        assert_eq!(r.code, 0, "{extra:?}: {}", r.stdout);
        assert_eq!(&log(&out, "localhost"), want, "{extra:?}");
    }
}

#[test]
fn list_stages_shows_the_plan_and_changes_nothing() {
    let (work, tree) = fixture();
    let out = work.path().join("out");
    let v = ["-e", "stage_version=1"];
    let r = play(
        &tree,
        &out,
        "localhost,",
        &["--list-stages", "--check", "-e", "stage_version=1"],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(log(&out, "localhost").is_empty());
    assert!(!out.join("facts").exists());
    let line = |stdout: &str, svc: &str, stage: &str| -> String {
        stdout
            .lines()
            .find(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                w.len() > 2 && w[0] == svc && w[1] == stage
            })
            .unwrap_or_else(|| panic!("no {svc} {stage} line in:\n{stdout}"))
            .to_string()
    };
    assert!(line(&r.stdout, "svcone", "install").contains("run   no checkpoint"));
    assert!(line(&r.stdout, "svctwo", "build").contains("run"));
    assert!(line(&r.stdout, "svcone", "configure").contains("configure always runs"));

    assert_eq!(play(&tree, &out, "localhost,", &v).code, 0);
    let r = play(
        &tree,
        &out,
        "localhost,",
        &["--list-stages", "-e", "stage_version=1"],
    );
    assert!(line(&r.stdout, "svcone", "install").contains("skip  stage install done"));
    assert!(line(&r.stdout, "svctwo", "install").contains("skip"));
    let r = play(
        &tree,
        &out,
        "localhost,",
        &["--list-stages", "-e", "stage_version=2"],
    );
    assert!(line(&r.stdout, "svcone", "install")
        .contains("checkpoint is for version 1, this run deploys 2"));
}

#[test]
fn check_mode_writes_no_checkpoint() {
    let (work, tree) = fixture();
    let out = work.path().join("out");
    fs::create_dir_all(out.join("log")).unwrap();
    let r = play(&tree, &out, "localhost,", &["--check"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(!out.join("facts/localhost/svcone.fact").exists());
}

#[test]
fn corrupt_checkpoint_warns_and_runs_the_stage_again() {
    let (work, tree) = fixture();
    let out = work.path().join("out");
    let v = ["-e", "stage_version=1"];
    assert_eq!(play(&tree, &out, "localhost,", &v).code, 0);
    let f = out.join("facts/localhost/svcone.fact");
    for junk in ["{\"install\": {\"version\": ", "[1, 2]", ""] {
        fs::write(&f, junk).unwrap();
        clear_log(&out);
        let r = play(&tree, &out, "localhost,", &v);
        assert_eq!(r.code, 0, "{}", r.stdout);
        assert!(r.stdout.contains("[WARNING]"), "{}", r.stdout);
        assert!(r.stdout.contains("svcone.fact"), "{}", r.stdout);
        assert_eq!(
            log(&out, "localhost")[..2],
            ["svcone-install", "svcone-install-apt"]
        );
        // Rewritten whole.
        assert_eq!(
            checkpoint(&out, "localhost", "svcone")["install"]["version"],
            "1"
        );
    }
}

#[test]
fn unwritable_fact_path_fails_the_host_naming_the_path() {
    let (work, tree) = fixture();
    let out = work.path().join("out");
    fs::create_dir_all(&out).unwrap();
    // A regular file where the fact directory should be: no one can create it.
    fs::write(out.join("facts"), "not a directory").unwrap();
    let r = play(&tree, &out, "localhost,", &[]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    let path = out.join("facts/localhost");
    assert!(
        r.stdout.contains(&path.display().to_string()),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("fatal: [localhost]"), "{}", r.stdout);
}

/// The fingerprint as documented in src/stages/checkpoint.rs: sha256 over each stage file's
/// name and contents, in name order.
fn sha256_hex(data: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(data))
}

fn fingerprint(files: &[PathBuf]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for f in files {
        h.update(f.file_name().unwrap().to_string_lossy().as_bytes());
        h.update([0]);
        h.update(fs::read(f).unwrap());
        h.update([0]);
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

#[test]
fn a_broken_stage_file_is_reported_only_when_its_stage_runs() {
    let (work, tree) = fixture();
    let out = work.path().join("out");
    let v = ["-e", "stage_version=1"];
    // svcone_install_source.yml is not YAML at all; runs that never include it are clean.
    assert_eq!(play(&tree, &out, "localhost,", &v).code, 0);
    let r = play(
        &tree,
        &out,
        "localhost,",
        &[
            "-e",
            "stage_version=1",
            "-e",
            "pkg_kind=source",
            "--force-stage",
            "install",
        ],
    );
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout.contains("svcone_install_source.yml:"),
        "{}",
        r.stdout
    );

    // A broken build file: version 1 is built already (its manifest is in the store), so the
    // file is never read; forcing the build reads it and names it.
    let f = tree.join("roles/svctwo/tasks/svctwo_build.yml");
    fs::write(&f, "- name: broken\n  shell: [unclosed\n").unwrap();
    assert_eq!(play(&tree, &out, "localhost,", &v).code, 0);
    let r = play(
        &tree,
        &out,
        "localhost,",
        &["-e", "stage_version=1", "--force-stage", "build"],
    );
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(r.stdout.contains("svctwo_build.yml:"), "{}", r.stdout);

    // A broken install file whose checkpoint matches it is skipped and never parsed.
    let f = tree.join("roles/svcone/tasks/svcone_install.yml");
    fs::write(&f, "- name: broken\n  shell: [unclosed\n").unwrap();
    let cp_path = out.join("facts/localhost/svcone.fact");
    let mut cp = checkpoint(&out, "localhost", "svcone");
    let files: Vec<PathBuf> = [
        "svcone_install.yml",
        "svcone_install_apt.yml",
        "svcone_install_source.yml",
    ]
    .iter()
    .map(|n| tree.join("roles/svcone/tasks").join(n))
    .collect();
    cp["install"]["fingerprint"] = Value::String(fingerprint(&files));
    fs::write(&cp_path, serde_json::to_string(&cp).unwrap()).unwrap();
    clear_log(&out);
    let r = play(&tree, &out, "localhost,", &v);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(log(&out, "localhost"), CONFIGURE_ONLY);
}

#[test]
fn a_failed_install_leaves_no_checkpoint_and_runs_again() {
    let (work, tree) = fixture();
    let out = work.path().join("out");
    let r = play(
        &tree,
        &out,
        "localhost,",
        &["-e", "stage_version=1", "-e", "svcone_install_fail=true"],
    );
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(!out.join("facts/localhost/svcone.fact").exists());
    clear_log(&out);
    let r = play(&tree, &out, "localhost,", &["-e", "stage_version=1"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(log(&out, "localhost"), FIRST_RUN);
}

#[test]
fn killed_mid_install_the_rerun_redoes_only_the_interrupted_stage() {
    let (work, tree) = fixture();
    let out = work.path().join("out");
    let inv = write_inventory(
        &tree,
        "[all]\nh1\nh2 svcone_install_sleep=30\nh3\n\n[all:vars]\nansible_connection=local\n",
    );
    let args = ["-e", "stage_version=1", "--forks", "3"];
    let mut child = command(&tree, &out, &inv, &args)
        .env("ANSIBLE_STRATEGY", "free")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until h2 is inside its install stage (h1 and h3 have finished everything).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let done = ["h1", "h3"]
            .iter()
            .all(|h| log(&out, h).len() == TARGET_RUN.len());
        if done && log(&out, "h2").contains(&"svcone-install-apt".to_string()) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the run never got there"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    for h in ["h1", "h3"] {
        assert_eq!(checkpoint(&out, h, "svcone")["install"]["version"], "1");
    }
    assert!(!out.join("facts/h2/svcone.fact").exists());

    clear_log(&out);
    let r = play(
        &tree,
        &out,
        &inv,
        &["-e", "stage_version=1", "-e", "svcone_install_sleep=0"],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
    for h in ["h1", "h3"] {
        assert_eq!(log(&out, h), CONFIGURE_ONLY, "{h}");
    }
    assert_eq!(log(&out, "h2"), TARGET_RUN);
    assert!(log(&out, "localhost").is_empty(), "the build is not redone");
    // The end state equals a clean run's: every host has every checkpoint.
    for h in ["h1", "h2", "h3"] {
        let two = checkpoint(&out, h, "svctwo");
        assert_eq!(two["install"]["version"], "1");
        assert_eq!(checkpoint(&out, h, "svcone")["install"]["version"], "1");
    }
}

#[test]
fn staged_runs_install_in_parallel_and_configure_one_host_at_a_time() {
    let (work, tree) = fixture();
    let out = work.path().join("out");
    let inv = write_inventory(
        &tree,
        "[all]\nh1\nh2\nh3\n\n[all:vars]\nansible_connection=local\n",
    );
    let args = [
        "-e",
        "stage_version=1",
        "-e",
        "barrier_hosts=3",
        "-e",
        "configure_lock=true",
        "--forks",
        "3",
    ];
    // In Ansible's order the install barrier still passes (linear runs each task on every
    // host at once) but configure overlaps; by stage, install overlaps and configure is serial.
    let staged: Vec<&str> = args.iter().copied().chain(["--staged"]).collect();
    let r = play(&tree, &out, &inv, &staged);
    assert_eq!(r.code, 0, "{}", r.stdout);
    for h in ["h1", "h2", "h3"] {
        assert_eq!(
            log(&out, h),
            [
                "svcone-install",
                "svcone-install-apt",
                "svctwo-install-two",
                "svcone-configure",
                "svctwo-configure"
            ],
            "{h}"
        );
    }
    assert_eq!(
        log(&out, "localhost"),
        ["svctwo-build"],
        "built once, on the controller"
    );
    // In Ansible's order the configure lock collides: linear runs each task on all hosts
    // at once.
    let _ = fs::remove_dir_all(&out);
    let r = play(&tree, &out, &inv, &args);
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout.contains("another host is configuring"),
        "{}",
        r.stdout
    );

    // The same play in Ansible's order with the serial install barrier: one host at a time
    // cannot pass it (play_configure_serial has no effect without --staged).
    let _ = fs::remove_dir_all(&out);
    let serial_play = tree.join("serial.yml");
    let site = fs::read_to_string(tree.join("site.yml")).unwrap();
    fs::write(
        &serial_play,
        site.replace("gather_facts: false", "gather_facts: false\n  serial: 1"),
    )
    .unwrap();
    let mut cmd = command(&tree, &out, &inv, &args);
    cmd.arg("serial.yml");
    let o = cmd.output().unwrap();
    assert_ne!(
        o.status.code(),
        Some(0),
        "the barrier needs parallel installs"
    );
}

#[test]
fn play_staged_var_and_configure_serial_batches() {
    let (work, tree) = fixture();
    let out = work.path().join("out");
    let inv = write_inventory(
        &tree,
        "[all]\nh1\nh2\nh3\nh4\n\n[all:vars]\nansible_connection=local\n",
    );
    let r = play(
        &tree,
        &out,
        &inv,
        &[
            "-e",
            "play_staged=true",
            "-e",
            "barrier_hosts=4",
            "-e",
            "play_configure_serial=2",
            "-v",
            "--forks",
            "4",
        ],
    );
    expect_failure(&r, 0, "staged: configure on h1, h2");
    assert!(
        r.stdout.contains("staged: configure on h3, h4"),
        "{}",
        r.stdout
    );
}

/// Serve a directory over HTTP/1.0 on loopback until the test ends (GET only; 404 when
/// missing), standing in for a regional artifact server.
fn serve(root: PathBuf) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut line = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).map(|n| n == 0).unwrap_or(true) || h == "\r\n" {
                    break;
                }
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            let file = root.join(path.trim_start_matches('/'));
            let _ = match fs::read(&file) {
                Ok(body) if !path.contains("..") => {
                    let head = format!(
                        "HTTP/1.0 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    stream
                        .write_all(head.as_bytes())
                        .and_then(|_| stream.write_all(&body))
                }
                _ => stream.write_all(
                    b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                ),
            };
        }
    });
    format!("http://{addr}")
}

#[test]
fn prebuilt_artifacts_from_a_directory_or_an_http_store() {
    let (work, tree) = fixture();
    let out = work.path().join("out");
    let v = ["-e", "stage_version=3.0"];
    assert_eq!(play(&tree, &out, "localhost,", &v).code, 0);
    let store = out.join("artifacts");

    // Another deployment (fresh hosts, same store): nothing is built, everything is staged.
    let other = work.path().join("other");
    let args = [
        "-v",
        "-e",
        "stage_version=3.0",
        "-e",
        &format!("artifact_store={}", store.display()),
    ];
    let r = play(&tree, &other, "localhost,", &args);
    expect_failure(&r, 0, "pre-built artifacts");
    assert!(!log(&other, "localhost").contains(&"svctwo-build".to_string()));
    let staged = other.join("stage/localhost/svctwo/3.0/svctwo-app.tar.gz");
    assert_eq!(
        fs::read(&staged).unwrap(),
        fs::read(store.join("svctwo/3.0/svctwo-app.tar.gz")).unwrap()
    );

    // A region served over HTTP: the manifest and the artifacts come from the URL.
    let url = serve(store.clone());
    let region = work.path().join("region");
    let args = [
        "-v",
        "-e",
        "stage_version=3.0",
        "-e",
        &format!("artifact_store_url={url}"),
    ];
    let r = play(&tree, &region, "localhost,", &args);
    expect_failure(&r, 0, &format!("pre-built artifacts: {url}/svctwo/3.0"));
    let staged = region.join("stage/localhost/svctwo/3.0/svctwo-app.tar.gz");
    assert_eq!(
        fs::read(&staged).unwrap(),
        fs::read(store.join("svctwo/3.0/svctwo-app.tar.gz")).unwrap()
    );
    // A version the HTTP store does not have cannot be built into it.
    let args = [
        "-e",
        "stage_version=4.0",
        "-e",
        &format!("artifact_store_url={url}"),
    ];
    let r = play(&tree, &work.path().join("r2"), "localhost,", &args);
    expect_failure(&r, 2, "cannot write to an HTTP artifact store");
}

#[test]
fn a_missing_artifact_store_fails_clearly() {
    let (work, tree) = fixture();
    let out = work.path().join("out");
    // Nothing listens on port 9 (discard) on loopback.
    let r = play(
        &tree,
        &out,
        "localhost,",
        &["-e", "artifact_store_url=http://127.0.0.1:9/store"],
    );
    expect_failure(
        &r,
        2,
        "the artifact store http://127.0.0.1:9/store cannot be reached",
    );
    // A directory store that cannot be created.
    fs::create_dir_all(&out).unwrap();
    fs::write(out.join("blocker"), "a file").unwrap();
    let store = out.join("blocker/store");
    let r = play(
        &tree,
        &out,
        "localhost,",
        &["-e", &format!("artifact_store={}", store.display())],
    );
    expect_failure(&r, 2, "cannot create the artifact store");
}

#[test]
fn an_artifact_that_does_not_match_its_manifest_fails_that_host_only() {
    let (work, tree) = fixture();
    let out = work.path().join("out");
    let inv = write_inventory(
        &tree,
        "[all]\nh1\nh2\n\n[all:vars]\nansible_connection=local\n",
    );
    let v = ["-e", "stage_version=1"];
    assert_eq!(play(&tree, &out, &inv, &v).code, 0);
    // The store's copy is damaged after the build; h2 has lost its staged copy.
    fs::write(
        out.join("artifacts/svctwo/1/svctwo-app.tar.gz"),
        "tampered\n",
    )
    .unwrap();
    let staged_h2 = out.join("stage/h2/svctwo/1/svctwo-app.tar.gz");
    fs::remove_file(&staged_h2).unwrap();
    let r = play(
        &tree,
        &out,
        &inv,
        &["-e", "stage_version=1", "--force-stage", "install"],
    );
    expect_failure(&r, 2, "does not match its manifest");
    let recap = support::parse_recap(&r.stdout);
    assert!(recap["h2"].contains("failed=1"), "{recap:?}");
    // h1 still has the right copy: it is not sent again, and h1 goes on.
    assert!(recap["h1"].contains("failed=0"), "{recap:?}");
    assert!(!staged_h2.exists(), "nothing half-written");
    let dir = out.join("stage/h2/svctwo/1");
    let leftovers: Vec<_> = fs::read_dir(&dir).map(|d| d.count()).into_iter().collect();
    assert_eq!(leftovers, [0]);
}

#[test]
fn developer_mode_builds_in_line_on_every_host() {
    let (work, tree) = fixture();
    let out = work.path().join("out");
    let inv = write_inventory(
        &tree,
        "[all]\nh1\nh2\n\n[all:vars]\nansible_connection=local\n",
    );
    let args = ["-e", "stage_version=1", "-e", "developer_mode=true"];
    let r = play(&tree, &out, &inv, &args);
    assert_eq!(r.code, 0, "{}", r.stdout);
    for h in ["h1", "h2"] {
        assert!(log(&out, h).contains(&"svctwo-build".to_string()), "{h}");
        assert!(out.join(format!("devbuild/{h}/svctwo-app.tar.gz")).exists());
        // In-line builds are checkpointed per host like the other stages.
        assert_eq!(checkpoint(&out, h, "svctwo")["build"]["version"], "1");
    }
    assert!(!out.join("artifacts/svctwo/1/manifest.json").exists());
    clear_log(&out);
    assert_eq!(play(&tree, &out, &inv, &args).code, 0);
    for h in ["h1", "h2"] {
        assert_eq!(log(&out, h), CONFIGURE_ONLY, "{h}");
    }
}

#[test]
fn a_remote_build_host_builds_and_its_artifacts_reach_the_store() {
    let (work, tree) = fixture();
    let out = work.path().join("out");
    let fleet = sshd::Fleet::start(1);
    let builder = fleet.inventory_line(0, "builder");
    let inv = write_inventory(
        &tree,
        &format!(
            "[build_hosts]\n{builder}\n\n[targets]\nh1 ansible_connection=local\nh2 ansible_connection=local\n"
        ),
    );
    let remote_root = out.join("remote-build");
    let args = [
        "-e",
        "stage_version=5",
        "-e",
        "target_hosts=targets",
        "-e",
        &format!("play_build_root={}", remote_root.display()),
    ];
    let r = play(&tree, &out, &inv, &args);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(log(&out, "builder"), ["svctwo-build"]);
    // Built over SSH into the build host's directory, then brought into the store.
    let built = fs::read(remote_root.join("svctwo/5/svctwo-app.tar.gz")).unwrap();
    let stored = out.join("artifacts/svctwo/5");
    assert_eq!(fs::read(stored.join("svctwo-app.tar.gz")).unwrap(), built);
    let m: Value =
        serde_json::from_str(&fs::read_to_string(stored.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["artifacts"][0]["sha256"], sha256_hex(&built));
    for h in ["h1", "h2"] {
        assert_eq!(
            fs::read(out.join(format!("stage/{h}/svctwo/5/svctwo-app.tar.gz"))).unwrap(),
            built
        );
    }
}

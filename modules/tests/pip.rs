//! pip into a fresh venv: install, again (unchanged), pinned version, check mode, absent.
//! Oracle (ansible-core 2.21.5): keys changed, cmd, name, requirements, state, stderr,
//! stdout, version, virtualenv; `cmd` is [<venv>/bin/pip3, install, six].

mod common;
use common::*;
use serde_json::json;

const KEYS: &[&str] = &[
    "changed",
    "cmd",
    "name",
    "requirements",
    "state",
    "stderr",
    "stderr_lines",
    "stdout",
    "stdout_lines",
    "version",
    "virtualenv",
];

#[test]
fn venv_install_cycle() {
    if !std::path::Path::new("/usr/bin/python3").exists() {
        return;
    }
    let d = tmp();
    let venv = d.path().join("venv");
    let v = venv.display().to_string();
    let vc = "/usr/bin/python3 -m venv";
    // check mode with no venv: would change, creates nothing
    let r = run(
        "pip",
        json!({"name": "six", "virtualenv": v, "virtualenv_command": vc}),
        &check(),
    );
    assert!(changed(&r), "{r:?}");
    assert!(!venv.exists());

    let r = run(
        "pip",
        json!({"name": "six", "virtualenv": v, "virtualenv_command": vc}),
        &ctx(),
    );
    assert!(changed(&r) && !failed(&r), "{r:?}");
    assert_keys(&r, KEYS);
    assert_eq!(r["cmd"], json!([format!("{v}/bin/pip3"), "install", "six"]));
    assert_eq!(r["name"], json!(["six"]));
    assert!(venv.join("bin/activate").exists());

    let r = run("pip", json!({"name": ["six"], "virtualenv": v}), &ctx());
    assert!(!changed(&r) && !failed(&r), "{r:?}");
    assert!(r["stdout"]
        .as_str()
        .unwrap()
        .contains("Requirement already satisfied"));

    // check mode: present is satisfied, a different pin is not
    let r = run("pip", json!({"name": "six", "virtualenv": v}), &check());
    assert!(!changed(&r), "{r:?}");
    let r = run(
        "pip",
        json!({"name": "six==1.16.0", "virtualenv": v}),
        &check(),
    );
    assert!(changed(&r), "{r:?}");

    let r = run(
        "pip",
        json!({"name": "six", "version": "1.16.0", "virtualenv": v}),
        &ctx(),
    );
    assert!(changed(&r) && !failed(&r), "{r:?}");
    assert_eq!(
        r["cmd"],
        json!([format!("{v}/bin/pip3"), "install", "six==1.16.0"])
    );

    let r = run(
        "pip",
        json!({"name": "six", "state": "absent", "virtualenv": v}),
        &ctx(),
    );
    assert!(changed(&r), "{r:?}");
    assert_eq!(
        r["cmd"],
        json!([format!("{v}/bin/pip3"), "uninstall", "-y", "six"])
    );
    let r = run(
        "pip",
        json!({"name": "six", "state": "absent", "virtualenv": v}),
        &ctx(),
    );
    assert!(!changed(&r) && !failed(&r), "{r:?}");

    // requirements file: changed decided by the package list before/after
    let req = d.path().join("req.txt");
    std::fs::write(&req, "six\n").unwrap();
    let r = run("pip", json!({"requirements": req, "virtualenv": v}), &ctx());
    assert!(changed(&r), "{r:?}");
    let r = run("pip", json!({"requirements": req, "virtualenv": v}), &ctx());
    assert!(!changed(&r), "{r:?}");
}

#[test]
fn argument_errors() {
    let r = run("pip", json!({"state": "present"}), &ctx());
    assert_eq!(
        msg(&r),
        "one of the following is required: name, requirements"
    );
    let r = run("pip", json!({"name": "a", "requirements": "r.txt"}), &ctx());
    assert_eq!(
        msg(&r),
        "parameters are mutually exclusive: name|requirements"
    );
    let r = run(
        "pip",
        json!({"name": "a", "state": "latest", "version": "1"}),
        &ctx(),
    );
    assert!(failed(&r));
    let r = run(
        "pip",
        json!({"name": "six", "virtualenv": "/nonexistent-play-venv", "virtualenv_command": "play-no-such-virtualenv"}),
        &ctx(),
    );
    assert!(failed(&r));
    assert!(
        msg(&r).contains("Failed to find required executable"),
        "{r:?}"
    );
}

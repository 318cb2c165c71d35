//! package (dispatch to apt), package_facts, and the rpm-family modules on Debian.

mod common;
use common::*;
use serde_json::json;

#[test]
fn package_dispatches_to_apt() {
    let r = run(
        "package",
        json!({"name": "play-no-such-pkg-zz", "state": "present"}),
        &ctx(),
    );
    assert_eq!(
        msg(&r),
        "No package matching 'play-no-such-pkg-zz' is available"
    );
    // bash is installed: present is unchanged, with apt's keys
    let r = run(
        "ansible.builtin.package",
        json!({"name": "bash", "state": "present", "use": "apt"}),
        &ctx(),
    );
    assert!(!changed(&r) && !failed(&r), "{r:?}");
    assert_keys(&r, &["cache_update_time", "cache_updated", "changed"]);
    // oracle: package absent of a package not installed -> changed false
    let r = run(
        "package",
        json!({"name": "play-no-such-pkg-zz", "state": "absent"}),
        &ctx(),
    );
    assert!(!changed(&r) && !failed(&r), "{r:?}");
    let r = run(
        "package",
        json!({"name": "bash", "state": "present", "use": "nosuchmgr"}),
        &ctx(),
    );
    assert!(failed(&r));
}

#[test]
fn package_facts_lists_dpkg_packages() {
    let r = run("package_facts", json!({}), &ctx());
    assert!(!failed(&r), "{r:?}");
    let bash = &r["ansible_facts"]["packages"]["bash"][0];
    assert_eq!(bash["name"], json!("bash"));
    assert_eq!(bash["source"], json!("apt"));
    assert_eq!(bash["category"], json!("shells"));
    assert!(bash["version"].as_str().is_some_and(|v| !v.is_empty()));
    let r = run("package_facts", json!({"manager": ["rpm"]}), &ctx());
    assert!(failed(&r));
}

#[test]
fn rpm_family_fails_as_ansibles_does_on_debian() {
    if std::path::Path::new("/usr/bin/dnf").exists() {
        return;
    }
    // oracle: the dnf action cannot pick a backend on an apt host
    for m in ["dnf", "yum", "ansible.builtin.dnf"] {
        let r = run(m, json!({"name": "hello"}), &ctx());
        assert!(failed(&r));
        assert_eq!(
            r["msg"][0],
            json!("Could not detect which major revision of dnf is in use, which is required to determine module backend."),
            "{r:?}"
        );
        assert_eq!(r["ansible_facts"]["pkg_mgr"], json!("apt"));
    }
    let r = run("rpm_key", json!({"key": "/tmp/x"}), &ctx());
    assert!(failed(&r));
    assert!(
        msg(&r).starts_with("Failed to find required executable \"rpm\" in paths: "),
        "{r:?}"
    );
}

/// package_facts against the oracle on this host: `ansible -m package_facts` from the
/// project's venv (ansible-core 2.21.5 with python3-apt), or a dump of its result named
/// by PLAY_PACKAGE_FACTS_ORACLE. Every package the oracle lists must match exactly.
#[test]
fn package_facts_matches_oracle() {
    let want: serde_json::Value = match std::env::var("PLAY_PACKAGE_FACTS_ORACLE") {
        Ok(path) => serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap(),
        Err(_) => {
            let ansible =
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/ansible");
            if !ansible.exists()
                || !std::path::Path::new("/usr/lib/python3/dist-packages/apt").exists()
            {
                return;
            }
            let o = std::process::Command::new(ansible)
                .args([
                    "localhost",
                    "-c",
                    "local",
                    "-i",
                    "localhost,",
                    "-m",
                    "package_facts",
                ])
                .env("ANSIBLE_LOAD_CALLBACK_PLUGINS", "1")
                .env("ANSIBLE_STDOUT_CALLBACK", "json")
                .env("ANSIBLE_PYTHON_INTERPRETER", "/usr/bin/python3")
                .output()
                .unwrap();
            let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("oracle json");
            v["plays"][0]["tasks"][0]["hosts"]["localhost"].clone()
        }
    };
    let r = run("package_facts", json!({}), &ctx());
    let ours = r["ansible_facts"]["packages"].as_object().unwrap();
    let theirs = want["ansible_facts"]["packages"].as_object().unwrap();
    let diffs: Vec<String> = theirs
        .iter()
        .filter(|(k, v)| ours.get(*k).is_some_and(|o| o != *v))
        .map(|(k, v)| format!("{k}: ours {} theirs {v}", ours[k]))
        .take(10)
        .collect();
    assert!(diffs.is_empty(), "{diffs:#?}");
    let missing: Vec<&String> = theirs.keys().filter(|k| !ours.contains_key(*k)).collect();
    assert!(missing.is_empty(), "{missing:?}");
}

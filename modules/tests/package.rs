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
fn rpm_family_is_not_available_on_debian() {
    if std::path::Path::new("/usr/bin/dnf").exists() {
        return;
    }
    for m in ["dnf", "yum", "ansible.builtin.dnf"] {
        let r = run(m, json!({"name": "hello"}), &ctx());
        assert!(failed(&r));
        assert!(msg(&r).contains("not available on this host"), "{r:?}");
        assert_eq!(r["ansible_facts"]["pkg_mgr"], json!("apt"));
    }
    let r = run("rpm_key", json!({"key": "/tmp/x"}), &ctx());
    assert!(msg(&r).contains("not available on this host"), "{r:?}");
}

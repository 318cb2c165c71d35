//! apt: install and remove the tiny real package `sl`, check mode, cache handling.
//! Oracle values from ansible-core 2.21.5 (apt: name=hello, registered).

mod common;
use common::*;
use serde_json::json;

fn dpkg_installed(name: &str) -> bool {
    std::process::Command::new("dpkg-query")
        .args(["-W", "-f=${db:Status-Abbrev}", name])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).starts_with("ii"))
        .unwrap_or(false)
}

#[test]
fn install_remove_check_cycle() {
    if std::process::Command::new("apt-get")
        .arg("-v")
        .output()
        .is_err()
    {
        return;
    }
    let pkg = "sl";
    // start from absent
    run(
        "apt",
        json!({"name": pkg, "state": "absent", "purge": true}),
        &ctx(),
    );
    assert!(!dpkg_installed(pkg));

    // check mode: reports the change, installs nothing
    let r = run("apt", json!({"name": [pkg]}), &check());
    assert!(changed(&r), "{r:?}");
    assert!(!failed(&r));
    assert_keys(
        &r,
        &[
            "cache_update_time",
            "cache_updated",
            "changed",
            "diff",
            "stderr",
            "stderr_lines",
            "stdout",
            "stdout_lines",
        ],
    );
    assert!(r["stdout"].as_str().unwrap().contains("Inst sl "));
    assert!(!dpkg_installed(pkg));

    // install
    let r = run(
        "apt",
        json!({"name": pkg, "state": "present", "install_recommends": false}),
        &ctx(),
    );
    assert!(changed(&r) && !failed(&r), "{r:?}");
    assert_eq!(r["cache_updated"], json!(false));
    assert!(dpkg_installed(pkg));

    // again: unchanged, oracle keys
    let r = run("ansible.builtin.apt", json!({"pkg": pkg}), &ctx());
    assert!(!changed(&r), "{r:?}");
    assert_keys(&r, &["cache_update_time", "cache_updated", "changed"]);
    let r = run("apt", json!({"name": pkg, "state": "latest"}), &ctx());
    assert!(!changed(&r), "{r:?}");

    // check-mode removal leaves it installed
    let r = run("apt", json!({"name": pkg, "state": "absent"}), &check());
    assert!(changed(&r));
    assert!(dpkg_installed(pkg));

    // remove
    let r = run("apt", json!({"name": pkg, "state": "absent"}), &ctx());
    assert!(changed(&r) && !failed(&r), "{r:?}");
    assert_keys(
        &r,
        &[
            "changed",
            "diff",
            "stderr",
            "stderr_lines",
            "stdout",
            "stdout_lines",
        ],
    );
    assert!(!dpkg_installed(pkg));
    let r = run(
        "apt",
        json!({"name": pkg, "state": "absent", "purge": true}),
        &ctx(),
    );
    assert_keys(&r, &["changed"]);
    assert!(!changed(&r));
}

#[test]
fn missing_package_and_bad_args() {
    let r = run("apt", json!({"name": "play-no-such-pkg-zz"}), &ctx());
    assert!(failed(&r));
    assert_eq!(
        msg(&r),
        "No package matching 'play-no-such-pkg-zz' is available"
    );
    let r = run("apt", json!({"name": "sl", "bogus": 1}), &ctx());
    assert!(msg(&r).starts_with("Unsupported parameters for (apt) module: bogus. Supported parameters include: allow_change_held_packages, allow_downgrade, allow_unauthenticated, auto_install_module_deps, autoclean, autoremove, cache_valid_time, clean, deb, default_release, dpkg_options, fail_on_autoremove, force, force_apt_get, install_recommends, lock_timeout, only_upgrade, package, policy_rc_d, purge, state, update_cache, update_cache_retries, update_cache_retry_max_delay, upgrade (allow-downgrade, allow-downgrades, allow-unauthenticated, allow_downgrades, default-release, install-recommends, name, pkg, update-cache)."), "{}", msg(&r));
    // oracle: an unknown version, with the cache keys
    let r = run("apt", json!({"name": "sl=9.9.9-play"}), &ctx());
    assert_eq!(
        msg(&r),
        "no available installation candidate for sl=9.9.9-play"
    );
    assert_eq!(r["cache_updated"], json!(false));
    assert!(r["cache_update_time"].is_i64());
    // oracle: upgrade in check mode -> changed, diff, msg, stderr, stdout (no cache keys)
    let r = run("apt", json!({"upgrade": "dist"}), &check());
    assert!(!failed(&r), "{r:?}");
    assert!(r.get("cache_updated").is_none());
    assert_eq!(r["msg"], r["stdout"]);
    // oracle: booleans with defaults satisfy required_one_of, so nothing to do
    let r = run("apt", json!({"state": "present"}), &ctx());
    assert_keys(&r, &["cache_update_time", "cache_updated", "changed"]);
    assert!(!changed(&r));
    let r = run("apt", json!({"name": "sl", "deb": "/x.deb"}), &ctx());
    assert_eq!(
        msg(&r),
        "parameters are mutually exclusive: deb|package|upgrade"
    );
}

#[test]
fn cache_valid_time_skips_update() {
    // a cache younger than ten years is not refreshed (oracle: changed false, cache_updated false)
    let r = run(
        "apt",
        json!({"update_cache": true, "cache_valid_time": 315360000}),
        &ctx(),
    );
    assert_keys(&r, &["cache_update_time", "cache_updated", "changed"]);
    assert_eq!(r["cache_updated"], json!(false));
    assert!(!changed(&r));
    // check mode with a forced update: reported, not run
    let r = run("apt", json!({"update_cache": true}), &check());
    assert_eq!(r["cache_updated"], json!(true));
    assert!(changed(&r));
}

#[test]
fn deb_file_install() {
    if unsafe { libc::getuid() } != 0 {
        return;
    }
    let d = tmp();
    let ok = std::process::Command::new("apt-get")
        .args(["download", "-q", "cowsay"])
        .current_dir(d.path())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        return;
    }
    let deb = std::fs::read_dir(d.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .unwrap();
    run(
        "apt",
        json!({"name": "cowsay", "state": "absent", "purge": true}),
        &ctx(),
    );
    let r = run("apt", json!({"deb": deb}), &check());
    let dep = "libtext-charwidth-perl";
    let dep_before = dpkg_installed(dep);
    assert!(changed(&r), "{r:?}");
    assert!(!dpkg_installed("cowsay"));
    let r = run("apt", json!({"deb": deb}), &ctx());
    assert!(changed(&r) && !failed(&r), "{r:?}");
    assert!(dpkg_installed("cowsay"));
    let r = run("apt", json!({"deb": deb}), &ctx());
    assert!(!changed(&r), "{r:?}");
    let r = run(
        "apt",
        json!({"name": "cowsay", "state": "absent", "purge": true}),
        &ctx(),
    );
    assert!(changed(&r));
    assert!(!dpkg_installed("cowsay"));
    if !dep_before {
        run(
            "apt",
            json!({"name": dep, "state": "absent", "purge": true}),
            &ctx(),
        );
        assert!(!dpkg_installed(dep));
    }
    let r = run("apt", json!({"deb": "/nonexistent/play.deb"}), &ctx());
    assert!(failed(&r));
}

//! hostname, timezone, locale_gen, modprobe, alternatives: check mode against the live
//! host (nothing changes), plus a real alternatives round trip on a private name.
//! Oracle results (ansible-core 2.21.5, community.general) in check mode:
//! hostname -> name, ansible_facts, diff "hostname = old\n" -> "hostname = new\n";
//! timezone -> diff {before: {name}, after: {name}} even without --diff;
//! locale_gen -> changed false in check mode, mechanism glibc, ubuntu_mode false.

mod common;
use common::*;
use serde_json::json;

fn hostname() -> String {
    String::from_utf8(
        std::process::Command::new("hostname")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string()
}

#[test]
fn hostname_check_mode() {
    let before = hostname();
    let r = run("hostname", json!({"name": "play-test-host"}), &check());
    assert!(changed(&r), "{r:?}");
    assert_eq!(r["name"], json!("play-test-host"));
    assert_eq!(
        r["ansible_facts"]["ansible_hostname"],
        json!("play-test-host")
    );
    assert_eq!(r["ansible_facts"]["ansible_domain"], json!(""));
    assert_eq!(r["diff"]["after"], json!("hostname = play-test-host\n"));
    assert_eq!(r["diff"]["before"], json!(format!("hostname = {before}\n")));
    assert_eq!(hostname(), before);
}

#[test]
fn timezone_check_mode() {
    if !std::path::Path::new("/usr/share/zoneinfo/Europe/Paris").exists() {
        return;
    }
    let before = std::fs::read_link("/etc/localtime").ok();
    let cur = run("timezone", json!({"name": "Etc/UTC"}), &check());
    let cur_name = cur["diff"]["before"]["name"].clone();
    let other = if cur_name == json!("Europe/Paris") {
        "Asia/Tokyo"
    } else {
        "Europe/Paris"
    };
    let r = run(
        "community.general.timezone",
        json!({"name": other}),
        &check(),
    );
    assert!(changed(&r), "{r:?}");
    assert_eq!(
        r["diff"],
        json!({"before": {"name": cur_name}, "after": {"name": other}})
    );
    assert_eq!(std::fs::read_link("/etc/localtime").ok(), before);
    let r = run("timezone", json!({"name": cur_name}), &check());
    assert!(!changed(&r));
    let r = run("timezone", json!({"name": "Nowhere/Nope"}), &check());
    assert_eq!(
        msg(&r),
        "Error message:\ngiven timezone \"Nowhere/Nope\" is not available"
    );
}

#[test]
fn locale_gen_check_mode() {
    if !std::path::Path::new("/etc/locale.gen").exists() {
        return;
    }
    let before = std::fs::read_to_string("/etc/locale.gen").unwrap();
    let r = run("locale_gen", json!({"name": "de_DE.UTF-8"}), &check());
    assert_eq!(
        r,
        args(
            json!({"changed": false, "mechanism": "glibc", "name": ["de_DE.UTF-8"], "ubuntu_mode": false})
        )
    );
    assert_eq!(std::fs::read_to_string("/etc/locale.gen").unwrap(), before);
    let r = run("locale_gen", json!({"name": "xx_NOPE.UTF-8"}), &check());
    assert_eq!(
        msg(&r),
        "The following locales you have entered are not available on your system: xx_NOPE.UTF-8"
    );
}

#[test]
fn modprobe_check_mode() {
    let r = run("modprobe", json!({"name": "dummy"}), &check());
    if std::process::Command::new("sh")
        .args(["-c", "command -v modprobe || test -x /sbin/modprobe"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
    {
        assert!(!failed(&r), "{r:?}");
        assert_eq!(r["name"], json!("dummy"));
        assert_eq!(r["params"], json!(""));
    } else {
        // oracle on this host: modprobe is not installed
        assert!(
            msg(&r).starts_with("Failed to find required executable \"modprobe\""),
            "{r:?}"
        );
    }
}

#[test]
fn alternatives_round_trip() {
    if unsafe { libc::getuid() } != 0
        || !std::path::Path::new("/usr/bin/update-alternatives").exists()
    {
        return;
    }
    let name = "play-test-alt";
    let link = "/usr/local/bin/play-test-alt";
    let _ = std::process::Command::new("update-alternatives")
        .args(["--remove-all", name])
        .output();
    let r = run(
        "alternatives",
        json!({"name": name, "path": "/bin/true", "link": link}),
        &check(),
    );
    assert!(changed(&r));
    assert!(std::fs::symlink_metadata(link).is_err());
    let r = run(
        "community.general.alternatives",
        json!({"name": name, "path": "/bin/true", "link": link}),
        &ctx(),
    );
    assert!(changed(&r), "{r:?}");
    assert_eq!(msg(&r), format!("Install alternative '/bin/true' for '{name}'. Set alternative '/bin/true' for '{name}'."));
    assert_eq!(
        std::fs::canonicalize(link).unwrap(),
        std::fs::canonicalize("/bin/true").unwrap()
    );
    let r = run(
        "alternatives",
        json!({"name": name, "path": "/bin/true", "link": link}),
        &ctx(),
    );
    assert_eq!(
        r,
        args(json!({"changed": false, "msg": "", "diff": {"before": {}, "after": {}}}))
    );
    let r = run(
        "alternatives",
        json!({"name": name, "path": "/bin/play-nope", "link": link}),
        &ctx(),
    );
    assert_eq!(msg(&r), "Specified path /bin/play-nope does not exist");
    let r = run(
        "alternatives",
        json!({"name": name, "path": "/bin/true", "state": "absent"}),
        &ctx(),
    );
    assert!(changed(&r));
    let _ = std::process::Command::new("update-alternatives")
        .args(["--remove-all", name])
        .output();
    assert!(std::fs::symlink_metadata(link).is_err());
}

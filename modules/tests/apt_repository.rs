//! apt_repository, deb822_repository and apt_key against private directories: the
//! sources directories come from apt's configuration, redirected with APT_CONFIG in
//! the task environment; apt_key uses a keyring file in a temp dir.
//! Oracle (ansible-core 2.21.5) results for the same arguments are quoted below.

mod common;
use common::*;
use play_modules::{ModuleContext, ModuleResult};
use serde_json::{json, Value};

/// Runs apt_repository or apt_key and strips the deprecation every result of theirs
/// carries (ansible-core's plugin routing deprecates both), after checking it.
fn run(name: &str, a: Value, c: &ModuleContext) -> ModuleResult {
    let mut r = common::run(name, a, c);
    if name == "apt_repository" || name == "apt_key" {
        let d = r.remove("deprecations").expect("deprecations");
        assert_eq!(
            d[0]["msg"],
            json!(format!(
                "{name} has been deprecated. Use deb822_repository instead."
            ))
        );
        assert_eq!(d[0]["version"], json!("2.25"));
    }
    r
}

fn apt_ctx(d: &std::path::Path, check: bool) -> ModuleContext {
    let conf = d.join("apt.conf");
    std::fs::create_dir_all(d.join("sources.list.d")).unwrap();
    std::fs::write(
        &conf,
        format!(
            "Dir::Etc::sourceparts \"{0}/sources.list.d\";\nDir::Etc::sourcelist \"{0}/sources.list\";\n",
            d.display()
        ),
    )
    .unwrap();
    ModuleContext {
        check_mode: check,
        environment: vec![("APT_CONFIG".into(), conf.display().to_string())],
        ..Default::default()
    }
}

#[test]
fn apt_repository_lines() {
    let d = tmp();
    let c = apt_ctx(d.path(), false);
    let repo = "deb http://example.invalid/debian bookworm main";
    let list = d.path().join("sources.list.d/play-test-repo.list");
    let r = run(
        "apt_repository",
        json!({"repo": repo, "filename": "play-test-repo", "update_cache": false}),
        &apt_ctx(d.path(), true),
    );
    assert!(changed(&r));
    assert!(!list.exists());
    // oracle: changed, diff [], repo, sources_added [path], sources_removed [], state
    let r = run(
        "apt_repository",
        json!({"repo": repo, "filename": "play-test-repo", "update_cache": false}),
        &c,
    );
    assert_eq!(
        r,
        args(
            json!({"changed": true, "diff": [], "repo": repo, "sources_added": [list.display().to_string()], "sources_removed": [], "state": "present"})
        )
    );
    assert_eq!(std::fs::read_to_string(&list).unwrap(), format!("{repo}\n"));
    let r = run(
        "apt_repository",
        json!({"repo": format!("deb  http://example.invalid/debian   bookworm main"), "update_cache": false}),
        &c,
    );
    assert!(!changed(&r), "{r:?}");
    // default file name from the URI, as Ansible suggests it
    let r = run(
        "apt_repository",
        json!({"repo": "deb [arch=amd64] https://user:pw@pkgs.example.invalid/repo stable main", "update_cache": false}),
        &c,
    );
    assert_eq!(
        r["sources_added"],
        json!([d
            .path()
            .join("sources.list.d/pkgs_example_invalid_repo.list")
            .display()
            .to_string()])
    );
    let r = run(
        "apt_repository",
        json!({"repo": repo, "state": "absent", "update_cache": false}),
        &c,
    );
    assert_eq!(r["sources_removed"], json!([list.display().to_string()]));
    assert!(changed(&r));
    assert!(!list.exists());
    let r = run(
        "apt_repository",
        json!({"repo": repo, "state": "absent", "update_cache": false}),
        &c,
    );
    assert!(!changed(&r));
}

#[test]
fn deb822_sources_file() {
    let d = tmp();
    let c = apt_ctx(d.path(), false);
    let a = json!({"name": "play-test", "uris": "http://example.invalid/debian", "suites": "bookworm", "components": ["main", "contrib"], "types": "deb", "enabled": true, "architectures": "amd64"});
    let dest = d.path().join("sources.list.d/play-test.sources");
    let text = "Architectures: amd64\nComponents: main contrib\nEnabled: yes\nX-Repolib-Name: play-test\nSuites: bookworm\nTypes: deb\nURIs: http://example.invalid/debian\n";
    let r = run("deb822_repository", a.clone(), &apt_ctx(d.path(), true));
    assert_eq!(
        r,
        args(
            json!({"changed": true, "dest": dest.display().to_string(), "key_filename": null, "repo": text})
        )
    );
    let r = run("deb822_repository", a.clone(), &c);
    assert!(changed(&r));
    assert_eq!(r["mode"], json!("0644"));
    assert_eq!(r["state"], json!("file"));
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), text);
    let r = run("deb822_repository", a.clone(), &c);
    assert!(!changed(&r));
    let r = run(
        "deb822_repository",
        json!({"name": "play-test", "state": "absent"}),
        &c,
    );
    assert_eq!(
        r,
        args(
            json!({"changed": true, "dest": dest.display().to_string(), "key_filename": "/etc/apt/keyrings/play-test.gpg", "repo": null})
        )
    );
    assert!(!dest.exists());
    // check mode default types
    let r = run(
        "deb822_repository",
        json!({"name": "play-test", "uris": "http://example.invalid/debian", "suites": "bookworm", "components": "main"}),
        &apt_ctx(d.path(), true),
    );
    assert_eq!(r["repo"], json!("Components: main\nX-Repolib-Name: play-test\nSuites: bookworm\nTypes: deb\nURIs: http://example.invalid/debian\n"));
}

#[test]
fn apt_key_local_file() {
    if std::process::Command::new("apt-key")
        .arg("--help")
        .output()
        .is_err()
        || std::process::Command::new("gpg")
            .arg("--version")
            .output()
            .is_err()
    {
        return;
    }
    let d = tmp();
    let home = d.path().join("gpg");
    std::fs::create_dir(&home).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o700)).unwrap();
    let gpg = |args: &[&str]| {
        std::process::Command::new("gpg")
            .arg("--homedir")
            .arg(&home)
            .args(["--batch", "--passphrase", ""])
            .args(args)
            .output()
            .unwrap()
    };
    assert!(gpg(&[
        "--quick-gen-key",
        "Play Test <play-test@example.invalid>",
        "ed25519",
        "sign",
        "never"
    ])
    .status
    .success());
    let key = d.path().join("key.asc");
    std::fs::write(
        &key,
        gpg(&["--export", "--armor", "play-test@example.invalid"]).stdout,
    )
    .unwrap();
    let keyring = d.path().join("kr.gpg").display().to_string();
    let colons = String::from_utf8(
        gpg(&["--with-colons", "--list-keys", "play-test@example.invalid"]).stdout,
    )
    .unwrap();
    let long = colons
        .lines()
        .find(|l| l.starts_with("pub:"))
        .unwrap()
        .split(':')
        .nth(4)
        .unwrap()
        .to_string();
    let fpr = colons
        .lines()
        .find(|l| l.starts_with("fpr:"))
        .unwrap()
        .split(':')
        .nth(9)
        .unwrap()
        .to_string();

    let r = run(
        "apt_key",
        json!({"file": key, "keyring": keyring}),
        &check(),
    );
    assert!(changed(&r));
    // oracle: after [id], before [], changed, fp, id, key_id (the 16-hex id), short_id
    let r = run("apt_key", json!({"file": key, "keyring": keyring}), &ctx());
    assert_eq!(
        r,
        args(
            json!({"after": [long], "before": [], "changed": true, "fp": long, "id": long, "key_id": long, "short_id": &long[8..]})
        )
    );
    let r = run("apt_key", json!({"file": key, "keyring": keyring}), &ctx());
    assert_eq!(
        r,
        args(
            json!({"before": [long], "changed": false, "fp": long, "id": long, "key_id": long, "short_id": &long[8..]})
        )
    );
    let r = run(
        "apt_key",
        json!({"id": fpr, "keyring": keyring, "state": "absent"}),
        &ctx(),
    );
    assert_eq!(
        r,
        args(
            json!({"after": [], "before": [long], "changed": true, "fp": long, "id": fpr, "key_id": fpr, "short_id": &long[8..]})
        )
    );
    let r = run("apt_key", json!({"name": "x"}), &ctx());
    assert_eq!(msg(&r), "Unsupported parameters for (apt_key) module: name. Supported parameters include: data, file, id, keyring, keyserver, state, url, validate_certs.");
}

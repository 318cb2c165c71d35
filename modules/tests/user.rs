//! user and group: create, again, modify, ssh key, remove; check mode. Oracle keys from
//! ansible-core 2.21.5 runs with the same arguments.

mod common;
use common::*;
use serde_json::json;

fn cleanup() {
    let _ = std::process::Command::new("userdel")
        .args(["-r", "play-test-user"])
        .output();
    let _ = std::process::Command::new("groupdel")
        .arg("play-test-user")
        .output();
}

#[test]
fn user_lifecycle() {
    if unsafe { libc::getuid() } != 0 {
        return;
    }
    cleanup();
    let r = run("user", json!({"name": "play-test-user"}), &check());
    assert_eq!(r, args(json!({"changed": true})));
    assert!(play_modules::util::passwd_by_name("play-test-user").is_none());

    let hash = "$6$saltsalt$".to_string() + &"a".repeat(86);
    let r = run(
        "user",
        json!({"name": "play-test-user", "shell": "/bin/sh", "groups": ["users"], "password": hash}),
        &ctx(),
    );
    assert!(changed(&r) && !failed(&r), "{r:?}");
    assert_keys(
        &r,
        &[
            "changed",
            "comment",
            "create_home",
            "group",
            "groups",
            "home",
            "name",
            "password",
            "shell",
            "state",
            "system",
            "uid",
        ],
    );
    assert_eq!(r["groups"], json!("users"));
    assert_eq!(r["password"], json!("NOT_LOGGING_PASSWORD"));
    assert_eq!(r["home"], json!("/home/play-test-user"));
    assert!(std::path::Path::new("/home/play-test-user").is_dir());

    let r = run(
        "user",
        json!({"name": "play-test-user", "shell": "/bin/sh", "password": hash}),
        &ctx(),
    );
    assert!(!changed(&r), "{r:?}");
    assert_keys(
        &r,
        &[
            "append",
            "changed",
            "comment",
            "group",
            "groups",
            "home",
            "move_home",
            "name",
            "password",
            "shell",
            "state",
            "uid",
        ],
    );

    let r = run(
        "user",
        json!({"name": "play-test-user", "shell": "/bin/bash", "groups": "audio", "append": true, "comment": "hi"}),
        &check(),
    );
    assert!(changed(&r));
    assert_eq!(
        play_modules::util::passwd_by_name("play-test-user")
            .unwrap()
            .4,
        "/bin/sh"
    );
    let r = run(
        "user",
        json!({"name": "play-test-user", "shell": "/bin/bash", "groups": "audio", "append": true, "comment": "hi"}),
        &ctx(),
    );
    assert!(changed(&r), "{r:?}");
    assert_eq!(r["groups"], json!("audio,users"));
    assert_eq!(r["comment"], json!("hi"));
    let r = run(
        "user",
        json!({"name": "play-test-user", "groups": ["users"]}),
        &ctx(),
    );
    assert!(changed(&r));
    assert_eq!(r["groups"], json!("users"));

    // expiry and password ageing
    let r = run(
        "user",
        json!({"name": "play-test-user", "expires": 1893456000, "password_expire_max": "90"}),
        &ctx(),
    );
    assert!(changed(&r), "{r:?}");
    let shadow = std::fs::read_to_string("/etc/shadow").unwrap();
    let line = shadow
        .lines()
        .find(|l| l.starts_with("play-test-user:"))
        .unwrap();
    let f: Vec<&str> = line.split(':').collect();
    assert_eq!(f[4], "90");
    assert_eq!(f[7], (1893456000 / 86400).to_string());
    let r = run(
        "user",
        json!({"name": "play-test-user", "expires": 1893456000, "password_expire_max": "90"}),
        &ctx(),
    );
    assert!(!changed(&r), "{r:?}");
    let r = run(
        "user",
        json!({"name": "play-test-user", "password": "plain"}),
        &check(),
    );
    assert_eq!(r["warnings"][0], json!("The input password appears not to have been hashed. The 'password' argument must be encrypted for this module to work properly."));

    let r = run(
        "user",
        json!({"name": "play-test-user", "generate_ssh_key": true, "ssh_key_type": "ed25519"}),
        &ctx(),
    );
    assert!(changed(&r), "{r:?}");
    assert_eq!(
        r["ssh_key_file"],
        json!("/home/play-test-user/.ssh/id_ed25519")
    );
    assert!(r["ssh_public_key"]
        .as_str()
        .unwrap()
        .starts_with("ssh-ed25519 "));
    let r = run(
        "user",
        json!({"name": "play-test-user", "generate_ssh_key": true, "ssh_key_type": "ed25519"}),
        &ctx(),
    );
    assert!(!changed(&r), "{r:?}");

    let r = run(
        "user",
        json!({"name": "play-test-user", "groups": ["play-no-such-group"]}),
        &ctx(),
    );
    assert_eq!(msg(&r), "Group play-no-such-group does not exist");

    let r = run(
        "user",
        json!({"name": "play-test-user", "state": "absent", "remove": true}),
        &ctx(),
    );
    assert!(changed(&r), "{r:?}");
    assert_eq!(r["force"], json!(false));
    assert_eq!(r["remove"], json!(true));
    assert!(!std::path::Path::new("/home/play-test-user").exists());
    let r = run(
        "user",
        json!({"name": "play-test-user", "state": "absent"}),
        &ctx(),
    );
    assert_eq!(
        r,
        args(json!({"changed": false, "name": "play-test-user", "state": "absent"}))
    );
    cleanup();
}

#[test]
fn group_lifecycle() {
    if unsafe { libc::getuid() } != 0 {
        return;
    }
    let _ = std::process::Command::new("groupdel")
        .arg("play-test-group")
        .output();
    let r = run(
        "group",
        json!({"name": "play-test-group", "gid": 4321}),
        &check(),
    );
    assert!(changed(&r));
    assert!(play_modules::util::group_gid("play-test-group").is_none());
    let r = run(
        "group",
        json!({"name": "play-test-group", "gid": 4321}),
        &ctx(),
    );
    assert_eq!(
        r,
        args(
            json!({"changed": true, "gid": 4321, "name": "play-test-group", "state": "present", "system": false})
        )
    );
    let r = run("group", json!({"name": "play-test-group"}), &ctx());
    assert_eq!(
        r,
        args(
            json!({"changed": false, "gid": 4321, "name": "play-test-group", "state": "present", "system": false})
        )
    );
    let r = run(
        "group",
        json!({"name": "play-test-group", "gid": 4322}),
        &ctx(),
    );
    assert!(changed(&r));
    assert_eq!(r["gid"], json!(4322));
    let r = run(
        "group",
        json!({"name": "play-test-group", "state": "absent"}),
        &ctx(),
    );
    assert_eq!(
        r,
        args(json!({"changed": true, "name": "play-test-group", "state": "absent"}))
    );
    let r = run(
        "group",
        json!({"name": "play-test-group", "state": "absent"}),
        &ctx(),
    );
    assert_eq!(
        r,
        args(json!({"changed": false, "name": "play-test-group", "state": "absent"}))
    );
}

//! ansible.posix.authorized_key with `path` to a temporary file (user root's entry is only
//! used for ownership). Oracle values from ansible-core 2.21.5 + ansible.posix (`ansible
//! localhost -c local -m ansible.posix.authorized_key -a '<json>'`, json callback) in this
//! order on a file starting "# mine\nssh-rsa AAAAB3Nza old@x\n"; contents read with cat -A.

mod common;
use common::*;
use serde_json::{json, Value};

const K: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

fn me() -> String {
    play_modules::util::user_name(unsafe { libc::geteuid() }).unwrap()
}

#[test]
fn authorized_key_sequence() {
    let d = tmp();
    let f = p(&d, "ak");
    std::fs::write(&f, "# mine\nssh-rsa AAAAB3Nza old@x\n").unwrap();
    let user = me();
    // --diff: {"changed": true, "comment": null, "diff": {"after": "...\nssh-ed25519 AAAA... \n", ...}, "exclusive": false,
    //  "follow": false, "gid", "group", "key": K, "key_options": null, "keyfile": F, "manage_dir": true, "mode": "0600",
    //  "owner", "path": F, "size": 113, "state": "file", "uid", "user": "root", "validate_certs": true}
    let r = run(
        "ansible.posix.authorized_key",
        json!({"user": user, "key": K, "path": f}),
        &diff(),
    );
    assert_keys(
        &r,
        &[
            "changed",
            "comment",
            "diff",
            "exclusive",
            "follow",
            "gid",
            "group",
            "key",
            "key_options",
            "keyfile",
            "manage_dir",
            "mode",
            "owner",
            "path",
            "size",
            "state",
            "uid",
            "user",
            "validate_certs",
        ],
    );
    let after = format!("# mine\nssh-rsa AAAAB3Nza old@x\n{K} \n");
    assert_eq!(
        r["diff"],
        json!({"after": after, "after_header": f, "before": "# mine\nssh-rsa AAAAB3Nza old@x\n", "before_header": f})
    );
    assert_eq!(r["mode"], json!("0600"));
    assert_eq!(r["size"], json!(113));
    assert_eq!(r["comment"], Value::Null);
    assert_eq!(std::fs::read_to_string(&f).unwrap(), after);
    let r = run(
        "authorized_key",
        json!({"user": user, "key": K, "path": f}),
        &ctx(),
    );
    assert!(!changed(&r));
    // options and comment rewrite the line: size 140
    let r = run(
        "authorized_key",
        json!({"user": user, "key": K, "path": f, "key_options": "no-pty,from=\"10.0.0.1\"", "comment": "me@h"}),
        &ctx(),
    );
    assert!(changed(&r));
    assert_eq!(r["size"], json!(140));
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        format!("# mine\nssh-rsa AAAAB3Nza old@x\nno-pty,from=\"10.0.0.1\" {K} me@h\n")
    );
    // exclusive in check mode: changed (the comment line and the rsa key would go)
    let r = run(
        "authorized_key",
        json!({"user": user, "key": K, "path": f, "exclusive": true}),
        &check(),
    );
    assert!(changed(&r));
    assert_eq!(r["size"], json!(140));
    // absent removes the key whatever its options: size 31
    let r = run(
        "authorized_key",
        json!({"user": user, "key": K, "path": f, "state": "absent"}),
        &ctx(),
    );
    assert!(changed(&r));
    assert_eq!(r["size"], json!(31));
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        "# mine\nssh-rsa AAAAB3Nza old@x\n"
    );
    // {"failed": true, "msg": "invalid key specified: garbage"}
    let r = run(
        "authorized_key",
        json!({"user": user, "key": "garbage", "path": f}),
        &ctx(),
    );
    assert_eq!(msg(&r), "invalid key specified: garbage");
}

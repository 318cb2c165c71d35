//! known_hosts on a temporary path. Oracle values from ansible-core 2.21.5 (`ansible
//! localhost -c local -m known_hosts -a '<json>'`, json callback) in this order on a file
//! starting "other ssh-rsa AAAAB3NzaC1yc2E\n". Note the oracle's quirks kept here: the
//! result carries the parameters and the path's info (so `state` reads "file"), and check
//! mode returns only `changed` and `diff`.

mod common;
use common::*;
use serde_json::{json, Value};

const K1: &str = "host1.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
const K2: &str = "host1.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBBBqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

#[test]
fn known_hosts_sequence() {
    let d = tmp();
    let f = p(&d, "kh");
    std::fs::write(&f, "other ssh-rsa AAAAB3NzaC1yc2E\n").unwrap();
    let before = "other ssh-rsa AAAAB3NzaC1yc2E\n";
    let after = format!("{before}{K1}\n");
    let r = run(
        "known_hosts",
        json!({"name": "host1.example", "key": K1, "path": f}),
        &diff(),
    );
    assert_keys(
        &r,
        &[
            "changed",
            "diff",
            "gid",
            "group",
            "hash_host",
            "key",
            "mode",
            "name",
            "owner",
            "path",
            "size",
            "state",
            "uid",
        ],
    );
    assert!(changed(&r));
    assert_eq!(
        r["diff"],
        json!({"after": after, "after_header": f, "before": before, "before_header": f})
    );
    assert_eq!(r["key"], json!(K1));
    assert_eq!(r["state"], json!("file"));
    assert_eq!(r["size"], json!(125));
    let r = run(
        "known_hosts",
        json!({"name": "host1.example", "key": K1, "path": f}),
        &ctx(),
    );
    assert!(!changed(&r));
    // --check with another key of the same type: {"changed": true, "diff": {... replaced ...}} only
    let r = run(
        "known_hosts",
        json!({"name": "host1.example", "key": K2, "path": f}),
        &check(),
    );
    assert_keys(&r, &["changed", "diff"]);
    assert!(changed(&r));
    assert_eq!(r["diff"]["after"], json!(format!("{before}{K2}\n")));
    // {"failed": true, "msg": "Host parameter does not match hashed host field in supplied key", "rc": 1}
    let r = run(
        "known_hosts",
        json!({"name": "host2.example", "key": K2, "path": f}),
        &ctx(),
    );
    assert_eq!(
        msg(&r),
        "Host parameter does not match hashed host field in supplied key"
    );
    assert_eq!(r["rc"], json!(1));
    // absent without key: changed, key null, size 30, file keeps the other line (and a .old copy)
    let r = run(
        "known_hosts",
        json!({"name": "host1.example", "state": "absent", "path": f}),
        &ctx(),
    );
    assert!(changed(&r));
    assert_eq!(r["key"], Value::Null);
    assert_eq!(r["size"], json!(30));
    assert_eq!(std::fs::read_to_string(&f).unwrap(), before);
    assert!(std::path::Path::new(&format!("{f}.old")).exists());
    // hashed entries are found by name: with hash_host again it is unchanged; the plain
    // key replaces the hashed line (oracle: True, False, True)
    let r = run(
        "known_hosts",
        json!({"name": "host1.example", "key": K1, "path": f, "hash_host": true}),
        &ctx(),
    );
    assert!(changed(&r));
    let text = std::fs::read_to_string(&f).unwrap();
    assert!(text.lines().nth(1).unwrap().starts_with("|1|"), "{text}");
    let r = run(
        "known_hosts",
        json!({"name": "host1.example", "key": K1, "path": f, "hash_host": true}),
        &ctx(),
    );
    assert!(!changed(&r), "{r:?}");
    let r = run(
        "known_hosts",
        json!({"name": "host1.example", "key": K1, "path": f}),
        &ctx(),
    );
    assert!(changed(&r), "{r:?}");
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        format!("{before}{K1}\n")
    );
}

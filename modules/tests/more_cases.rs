//! Further cases checked against ansible-core 2.21.5 (playbook tasks q1..q10 registered
//! and dumped with `to_nice_json`; paths adapted to a temporary directory).

mod common;
use common::*;
use serde_json::json;

#[test]
fn copy_into_directories() {
    let d = tmp();
    let dir = format!("{}/", d.path().display());
    // q1 (copy: src=/etc/hostname dest=DIR/): {"changed": true, "checksum": ..., "dest": "DIR/hostname", "diff": [],
    //  "md5sum": ..., "src": "<remote tmp>/.source", ...path info}
    let r = run(
        "copy",
        json!({"_play_src": "aGkK", "_original_basename": "hostname", "dest": dir}),
        &ctx(),
    );
    assert_keys(
        &r,
        &[
            "changed", "checksum", "dest", "diff", "gid", "group", "md5sum", "mode", "owner",
            "size", "src", "state", "uid",
        ],
    );
    assert_eq!(r["dest"], json!(p(&d, "hostname")));
    assert!(r["src"].as_str().unwrap().ends_with("/.source"));
    // q2 (dest=DIR/new/ that does not exist): created, dest "DIR/new/hostname"
    let r = run(
        "copy",
        json!({"_play_src": "aGkK", "_original_basename": "hostname", "dest": format!("{dir}new/")}),
        &ctx(),
    );
    assert!(changed(&r));
    assert_eq!(r["dest"], json!(p(&d, "new/hostname")));
    assert_eq!(
        std::fs::read_to_string(p(&d, "new/hostname")).unwrap(),
        "hi\n"
    );
}

#[test]
fn copy_chown_failure_after_write() {
    let d = tmp();
    let g = p(&d, "g");
    // q6: {"changed": false, "checksum": "11f6ad8ec52a2984abaafd7c3b516503785c2072", "diff": [], "failed": true,
    //  "msg": "chown failed: failed to look up user nosuchuser", "path": G, ...path info (size 1)}
    let r = run(
        "copy",
        json!({"content": "x", "dest": g, "owner": "nosuchuser"}),
        &ctx(),
    );
    assert_keys(
        &r,
        &[
            "changed", "checksum", "diff", "failed", "gid", "group", "mode", "msg", "owner",
            "path", "size", "state", "uid",
        ],
    );
    assert_eq!(msg(&r), "chown failed: failed to look up user nosuchuser");
    assert_eq!(
        r["checksum"],
        json!("11f6ad8ec52a2984abaafd7c3b516503785c2072")
    );
    assert_eq!(r["size"], json!(1));
    // q8 (check mode, no diff): {"changed": true, "diff": []}
    let r = run("copy", json!({"content": "y", "dest": g}), &check());
    assert_keys(&r, &["changed", "diff"]);
    assert_eq!(r["diff"], json!([]));
}

#[test]
fn file_check_mode_and_conflicts() {
    let d = tmp();
    let f = p(&d, "f");
    std::fs::write(&f, "hi\n").unwrap();
    std::fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    // q3 (mode=0600, check, diff): {"changed": true, "diff": {"after": {"mode": "0600", "path": F}, "before":
    //  {"mode": "0644", "path": F}}, "mode": "0644", "path": F, ...path info}
    let r = run("file", json!({"path": f, "mode": "0600"}), &check_diff());
    assert_keys(
        &r,
        &[
            "changed", "diff", "gid", "group", "mode", "owner", "path", "size", "state", "uid",
        ],
    );
    assert_eq!(
        r["diff"],
        json!({"after": {"mode": "0600", "path": f}, "before": {"mode": "0644", "path": f}})
    );
    assert_eq!(r["mode"], json!("0644"));
    assert_eq!(mode_of(&f), 0o644);
    // q4: {"changed": false, "failed": true, "msg": "F already exists as a file", "path": F, ...path info}
    let r = run("file", json!({"path": f, "state": "directory"}), &ctx());
    assert_keys(
        &r,
        &[
            "changed", "failed", "gid", "group", "mode", "msg", "owner", "path", "size", "state",
            "uid",
        ],
    );
    assert_eq!(msg(&r), format!("{f} already exists as a file"));
    // q7 (owner=nosuchuser, check): failed "chown failed: ...", with the check-mode warning
    let r = run(
        "file",
        json!({"path": f, "owner": "nosuchuser", "mode": "0600"}),
        &check(),
    );
    assert_eq!(msg(&r), "chown failed: failed to look up user nosuchuser");
    assert_eq!(
        r["warnings"],
        json!(["failed to look up user nosuchuser. Create user up to this point in real play"])
    );
    // q10 (state=link force=yes over a file): {"changed": true, "dest": F, "src": S, "state": "link", "mode": "0777", ...}
    let s = p(&d, "new");
    std::fs::create_dir(&s).unwrap(); // in the oracle run, q2 had created it
    let r = run(
        "file",
        json!({"path": f, "state": "link", "src": s, "force": true}),
        &ctx(),
    );
    assert_keys(
        &r,
        &[
            "changed", "dest", "gid", "group", "mode", "owner", "size", "src", "state", "uid",
        ],
    );
    assert_eq!(r["state"], json!("link"));
    assert_eq!(r["size"], json!(s.len()));
}

#[test]
fn command_syntax_error_and_stat_algorithms() {
    // q5 (cmd: echo 'unclosed): {"changed": false, "failed": true, "msg": "Task failed: Module failed: No closing quotation"}
    let r = run("command", json!({"cmd": "echo 'unclosed"}), &ctx());
    assert_keys(&r, &["changed", "failed", "msg"]);
    assert_eq!(msg(&r), "Task failed: Module failed: No closing quotation");
    // q9 (stat checksum_algorithm=sha256 of "hi\n")
    let d = tmp();
    let f = p(&d, "f");
    std::fs::write(&f, "hi\n").unwrap();
    let r = run(
        "stat",
        json!({"path": f, "checksum_algorithm": "sha256"}),
        &ctx(),
    );
    assert_eq!(
        r["stat"]["checksum"],
        json!("98ea6e4f216f2fb4b69fff9b3a44842c38686ca685f3f55dc48c5d3fb1107be4")
    );
}

//! copy (remote part). Oracle values from ansible-core 2.21.5: `copy: content=... dest=...`
//! tasks registered and dumped with `to_nice_json` (c1..c8, e1, e4, e5).

mod common;
use base64::Engine;
use common::*;
use serde_json::json;
use std::os::unix::fs::MetadataExt;

const INFO: &[&str] = &["gid", "group", "mode", "owner", "size", "state", "uid"];

#[test]
fn content_written_then_unchanged() {
    let d = tmp();
    let dest = p(&d, "a.txt");
    // oracle c1: {"changed": true, "checksum": "f572d396fae9206628714fb2ce00f72e94f2258f", "dest": D, "diff": [],
    //  "gid": 0, "group": "root", "md5sum": "b1946ac92492d2347c6235b4d2611184", "mode": "0644", "owner": "root",
    //  "size": 6, "src": "<remote tmp>/.source.txt", "state": "file", "uid": 0}
    let r = run(
        "copy",
        json!({"content": "hello\n", "dest": dest, "mode": 420}),
        &ctx(),
    );
    assert_keys(
        &r,
        &[
            INFO,
            &["changed", "checksum", "dest", "diff", "md5sum", "src"],
        ]
        .concat(),
    );
    assert!(changed(&r));
    assert_eq!(
        r["checksum"],
        json!("f572d396fae9206628714fb2ce00f72e94f2258f")
    );
    assert_eq!(r["md5sum"], json!("b1946ac92492d2347c6235b4d2611184"));
    assert_eq!(r["mode"], json!("0644"));
    assert_eq!(r["size"], json!(6));
    assert_eq!(r["diff"], json!([]));
    assert!(r["src"].as_str().unwrap().ends_with("/.source.txt"));
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), "hello\n");
    // oracle c2: {"changed": false, "checksum": ..., "dest": D, "diff": [], ...info, "path": D}
    let r = run(
        "copy",
        json!({"content": "hello\n", "dest": dest, "mode": "0644"}),
        &ctx(),
    );
    assert_keys(
        &r,
        &[INFO, &["changed", "checksum", "dest", "diff", "path"]].concat(),
    );
    assert!(!changed(&r));
    // only the mode differs: changed, content untouched
    let r = run(
        "copy",
        json!({"content": "hello\n", "dest": dest, "mode": "0600"}),
        &ctx(),
    );
    assert!(changed(&r));
    assert_eq!(mode_of(&dest), 0o600);
}

#[test]
fn backup_and_diff_and_kept_mode() {
    let d = tmp();
    let dest = p(&d, "a.txt");
    std::fs::write(&dest, "hello\n").unwrap();
    std::fs::set_permissions(&dest, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
    // oracle c3 (backup=yes, diff): {"backup_file": "D.8932.2026-11-22@00:14:42~", "changed": true, "checksum":
    //  "0d2aae7d156d796b97ae11b4dba506a55f54a75e", "dest": D, "diff": [{"after": "hello2\n", "after_header": D,
    //  "before": "hello\n", "before_header": D}], "md5sum": "a10edbbb8f28f8e98ee6b649ea2556f4", "size": 7, "src", ...info}
    let r = run(
        "copy",
        json!({"content": "hello2\n", "dest": dest, "backup": "yes"}),
        &diff(),
    );
    assert_keys(
        &r,
        &[
            INFO,
            &[
                "backup_file",
                "changed",
                "checksum",
                "dest",
                "diff",
                "md5sum",
                "src",
            ],
        ]
        .concat(),
    );
    assert_eq!(
        r["checksum"],
        json!("0d2aae7d156d796b97ae11b4dba506a55f54a75e")
    );
    assert_eq!(
        r["diff"],
        json!([{"after": "hello2\n", "after_header": dest, "before": "hello\n", "before_header": dest}])
    );
    let bf = r["backup_file"].as_str().unwrap();
    let re = regex::Regex::new(r"^.*/a\.txt\.\d+\.\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d~$").unwrap();
    assert!(re.is_match(bf), "{bf}");
    assert_eq!(std::fs::read_to_string(bf).unwrap(), "hello\n");
    // the replaced file keeps its mode
    assert_eq!(mode_of(&dest), 0o640);
    assert_eq!(r["mode"], json!("0640"));
}

#[test]
fn check_mode_reports_and_changes_nothing() {
    let d = tmp();
    let dest = p(&d, "c.txt");
    // oracle c4 (check, diff): {"changed": true, "diff": [{"after": "hi", "after_header": D, "before": ""}]}
    let r = run(
        "copy",
        json!({"content": "hi", "dest": dest}),
        &check_diff(),
    );
    assert_keys(&r, &["changed", "diff"]);
    assert_eq!(
        r["diff"],
        json!([{"after": "hi", "after_header": dest, "before": ""}])
    );
    assert!(!std::path::Path::new(&dest).exists());
}

#[test]
fn errors() {
    let d = tmp();
    let dest = p(&d, "c.txt");
    // oracle e4: {"changed": false, "failed": true, "msg": "src and content are mutually exclusive"}
    let r = run(
        "copy",
        json!({"content": "x", "src": "/etc/hosts", "dest": dest}),
        &ctx(),
    );
    assert_keys(&r, &["changed", "failed", "msg"]);
    assert_eq!(msg(&r), "src and content are mutually exclusive");
    // oracle e5: {"changed": false, "failed": true, "msg": "src (or content) is required"}
    let r = run("copy", json!({"dest": dest}), &ctx());
    assert_keys(&r, &["changed", "failed", "msg"]);
    assert_eq!(msg(&r), "src (or content) is required");
    // oracle c7/c8: "can not use content with a dir as dest"
    let r = run(
        "copy",
        json!({"content": "hi", "dest": format!("{}/", d.path().display())}),
        &ctx(),
    );
    assert_eq!(msg(&r), "can not use content with a dir as dest");
    // oracle c5: {"changed": false, "checksum": "c22b5f9178342609428d6f51b2c5af4c0bde6a42", "diff": [], "exit_status": 1,
    //  "failed": true, "msg": "failed to validate", "stderr": "", "stderr_lines": [], "stdout": "", "stdout_lines": []}
    let r = run(
        "copy",
        json!({"content": "hi", "dest": dest, "validate": "false %s"}),
        &ctx(),
    );
    assert_keys(
        &r,
        &[
            "changed",
            "checksum",
            "diff",
            "exit_status",
            "failed",
            "msg",
            "stderr",
            "stderr_lines",
            "stdout",
            "stdout_lines",
        ],
    );
    assert_eq!(msg(&r), "failed to validate");
    assert_eq!(
        r["checksum"],
        json!("c22b5f9178342609428d6f51b2c5af4c0bde6a42")
    );
    assert!(!std::path::Path::new(&dest).exists());
    // oracle c6: {"changed": false, "checksum": ..., "diff": [], "failed": true, "msg": "validate must contain %s: cat"}
    let r = run(
        "copy",
        json!({"content": "hi", "dest": dest, "validate": "cat"}),
        &ctx(),
    );
    assert_keys(&r, &["changed", "checksum", "diff", "failed", "msg"]);
    assert_eq!(msg(&r), "validate must contain %s: cat");
    // oracle e1: unknown argument; checksum and diff from the action plugin
    let r = run(
        "copy",
        json!({"content": "x", "dest": dest, "foo": 1}),
        &ctx(),
    );
    assert_keys(&r, &["changed", "checksum", "diff", "failed", "msg"]);
    assert_eq!(
        r["checksum"],
        json!("11f6ad8ec52a2984abaafd7c3b516503785c2072")
    );
    // destination directory missing
    let r = run(
        "copy",
        json!({"content": "x", "dest": p(&d, "no/such/file")}),
        &ctx(),
    );
    assert_eq!(
        msg(&r),
        format!("Destination directory {} does not exist", p(&d, "no/such"))
    );
    // bad mode
    let r = run(
        "copy",
        json!({"content": "x", "dest": dest, "mode": "bogus"}),
        &ctx(),
    );
    assert_eq!(msg(&r), "mode must be in octal or symbolic form");
}

#[test]
fn content_with_original_basename_goes_into_a_directory() {
    // what the template action sends: rendered content plus the template's basename
    let d = tmp();
    let r = run(
        "copy",
        json!({"content": "x", "_original_basename": "conf.j2", "dest": d.path()}),
        &ctx(),
    );
    assert!(changed(&r), "{r:?}");
    assert_eq!(r["dest"], json!(p(&d, "conf.j2")));
}

#[test]
fn mode_preserve() {
    let d = tmp();
    let src = p(&d, "src");
    std::fs::write(&src, "x").unwrap();
    std::fs::set_permissions(&src, std::os::unix::fs::PermissionsExt::from_mode(0o751)).unwrap();
    let dest = p(&d, "dest");
    let r = run(
        "copy",
        json!({"src": src, "remote_src": true, "dest": dest, "mode": "preserve"}),
        &ctx(),
    );
    assert!(changed(&r), "{r:?}");
    assert_eq!(mode_of(&dest), 0o751);
    let dest2 = p(&d, "dest2");
    let r = run(
        "copy",
        json!({"_play_src": "eA==", "_play_src_mode": "0700", "dest": dest2, "mode": "preserve"}),
        &ctx(),
    );
    assert!(changed(&r), "{r:?}");
    assert_eq!(mode_of(&dest2), 0o700);
}

#[test]
fn validate_passes() {
    let d = tmp();
    let dest = p(&d, "v.txt");
    let r = run(
        "copy",
        json!({"content": "ok\n", "dest": dest, "validate": "grep -q ok %s"}),
        &ctx(),
    );
    assert!(changed(&r) && !failed(&r), "{r:?}");
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), "ok\n");
}

#[test]
fn controller_file_into_directory_and_remote_src() {
    let d = tmp();
    let data = b"\x00\x01binary";
    let b64 = base64::engine::general_purpose::STANDARD.encode(data);
    let dir = format!("{}/", p(&d, "newdir"));
    let r = run(
        "copy",
        json!({"_play_src": b64, "_original_basename": "blob.bin", "dest": dir, "mode": "0600"}),
        &diff(),
    );
    assert!(changed(&r), "{r:?}");
    let dest = p(&d, "newdir/blob.bin");
    assert_eq!(r["dest"], json!(dest));
    assert_eq!(std::fs::read(&dest).unwrap(), data);
    assert_eq!(mode_of(&dest), 0o600);
    assert_eq!(r["diff"][0]["src_binary"], json!(1));
    // remote_src: src is a path on the target
    let dest2 = p(&d, "copy2");
    let r = run(
        "copy",
        json!({"src": dest, "remote_src": true, "dest": dest2}),
        &ctx(),
    );
    assert!(changed(&r));
    assert_eq!(r["src"], json!(dest));
    assert_eq!(std::fs::read(&dest2).unwrap(), data);
    let r = run(
        "copy",
        json!({"src": dest, "remote_src": true, "dest": dest2}),
        &ctx(),
    );
    assert!(!changed(&r));
    // force=no leaves an existing file alone
    let r = run(
        "copy",
        json!({"content": "other", "dest": dest2, "force": false}),
        &ctx(),
    );
    assert!(!changed(&r));
    assert_eq!(std::fs::read(&dest2).unwrap(), data);
    // checksum mismatch
    let r = run(
        "copy",
        json!({"content": "x", "dest": dest2, "checksum": "0000"}),
        &ctx(),
    );
    assert_eq!(
        msg(&r),
        "Copied file does not match the expected checksum. Transfer failed."
    );
    let _ = std::fs::metadata(&dest2).unwrap().ino();
}

#[test]
fn replaces_a_symlink_unless_follow() {
    let d = tmp();
    let target = p(&d, "target");
    std::fs::write(&target, "old").unwrap();
    let lnk = p(&d, "lnk");
    std::os::unix::fs::symlink(&target, &lnk).unwrap();
    let r = run(
        "copy",
        json!({"content": "new", "dest": lnk, "follow": true}),
        &ctx(),
    );
    assert!(changed(&r));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
    assert!(std::fs::symlink_metadata(&lnk)
        .unwrap()
        .file_type()
        .is_symlink());
    let r = run("copy", json!({"content": "newer", "dest": lnk}), &ctx());
    assert!(changed(&r));
    assert!(!std::fs::symlink_metadata(&lnk)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
}

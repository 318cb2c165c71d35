//! file. Oracle values from ansible-core 2.21.5: a playbook of `file:` tasks with
//! `register:` and `diff: true`, results dumped with `to_nice_json` (paths adapted).

mod common;
use common::*;
use serde_json::json;

const INFO: &[&str] = &["gid", "group", "mode", "owner", "size", "state", "uid"];

#[test]
fn directory_created_then_unchanged() {
    let d = tmp();
    let path = p(&d, "sub");
    // oracle f3 (state=directory mode=u=rwx,g=rx,o=, diff): {"changed": true, "diff": {"after":
    //  {"mode": "0750", "path": P, "state": "directory"}, "before": {"mode": "0755", "path": P,
    //  "state": "absent"}}, "gid", "group", "mode": "0750", "owner", "path", "size", "state": "directory", "uid"}
    let r = run(
        "file",
        json!({"path": path, "state": "directory", "mode": "u=rwx,g=rx,o="}),
        &diff(),
    );
    assert_keys(&r, &[INFO, &["changed", "diff", "path"]].concat());
    assert!(changed(&r));
    assert_eq!(r["mode"], json!("0750"));
    assert_eq!(r["state"], json!("directory"));
    assert_eq!(r["diff"]["before"]["state"], json!("absent"));
    assert_eq!(
        r["diff"]["after"],
        json!({"mode": "0750", "path": path, "state": "directory"})
    );
    assert_eq!(mode_of(&path), 0o750);
    // oracle f4: unchanged, same keys without diff
    let r = run("file", json!({"path": path, "state": "directory"}), &ctx());
    assert_keys(&r, &[INFO, &["changed", "path"]].concat());
    assert!(!changed(&r));
    // nested creation (mkdir -p)
    let deep = p(&d, "a/b/c");
    let r = run(
        "file",
        json!({"path": deep, "state": "directory", "mode": "0700"}),
        &ctx(),
    );
    assert!(changed(&r));
    assert_eq!(mode_of(&deep), 0o700);
    assert_eq!(mode_of(&p(&d, "a")), 0o700);
}

#[test]
fn directory_check_mode_changes_nothing() {
    let d = tmp();
    let path = p(&d, "sub");
    let r = run(
        "file",
        json!({"path": path, "state": "directory"}),
        &check(),
    );
    assert!(changed(&r));
    assert!(!std::path::Path::new(&path).exists());
}

#[test]
fn touch_and_modes() {
    let d = tmp();
    let path = p(&d, "t");
    // oracle f1 (touch mode=0600, diff): {"changed": true, "dest": P, "diff": {"after": {"atime": F,
    //  "mode": "0600", "mtime": F, "path": P, "state": "touch"}, "before": {"atime": F, "mode": "0644",
    //  "mtime": F, "path": P, "state": "absent"}}, "gid", "group", "mode": "0600", "owner", "size": 0, "state": "file", "uid"}
    let r = run(
        "file",
        json!({"path": path, "state": "touch", "mode": 384}),
        &diff(),
    );
    assert_keys(&r, &[INFO, &["changed", "dest", "diff"]].concat());
    assert!(changed(&r));
    assert_eq!(r["state"], json!("file"));
    assert_eq!(r["size"], json!(0));
    let after = r["diff"]["after"].as_object().unwrap();
    assert_eq!(
        keys(after),
        set(&["atime", "mode", "mtime", "path", "state"])
    );
    assert!(after["atime"].is_f64());
    assert_eq!(r["diff"]["before"]["state"], json!("absent"));
    assert_eq!(mode_of(&path), 0o600);
    // oracle f2: touching again is changed (times), no diff without diff mode
    let r = run("file", json!({"path": path, "state": "touch"}), &ctx());
    assert!(changed(&r));
    assert!(!r.contains_key("diff"));
    // oracle f12 (mode=0600 on a 0644 file, diff): {"changed": true, "diff": {"after": {"mode": "0600", "path": P},
    //  "before": {"mode": "0644", "path": P}}, ...info, "path"}
    let f = p(&d, "a.txt");
    std::fs::write(&f, "x").unwrap();
    std::fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let r = run("file", json!({"path": f, "mode": "0600"}), &diff());
    assert_keys(&r, &[INFO, &["changed", "diff", "path"]].concat());
    assert_eq!(
        r["diff"],
        json!({"after": {"mode": "0600", "path": f}, "before": {"mode": "0644", "path": f}})
    );
    let r = run("file", json!({"path": f, "mode": "0600"}), &ctx());
    assert!(!changed(&r));
    // symbolic modes relative to the current one
    let r = run("file", json!({"path": f, "mode": "g+r,o+r"}), &ctx());
    assert!(changed(&r));
    assert_eq!(mode_of(&f), 0o644);
    let r = run("file", json!({"path": f, "mode": "a-w,u+x"}), &ctx());
    assert!(changed(&r));
    assert_eq!(mode_of(&f), 0o544);
}

#[test]
fn touch_check_mode() {
    let d = tmp();
    let path = p(&d, "t");
    let r = run("file", json!({"path": path, "state": "touch"}), &check());
    assert!(changed(&r));
    assert!(!std::path::Path::new(&path).exists());
}

#[test]
fn bad_mode_fails_with_path_info() {
    let d = tmp();
    let f = p(&d, "a.txt");
    std::fs::write(&f, "1234567").unwrap();
    // oracle f11: {"changed": false, "details": "bad symbolic permission for mode: bogus", "failed": true,
    //  "gid", "group", "mode": "0644", "msg": "mode must be in octal or symbolic form", "owner", "path", "size": 7, "state": "file", "uid"}
    let r = run("file", json!({"path": f, "mode": "bogus"}), &ctx());
    assert_keys(
        &r,
        &[INFO, &["changed", "details", "failed", "msg", "path"]].concat(),
    );
    assert_eq!(msg(&r), "mode must be in octal or symbolic form");
    assert_eq!(
        r["details"],
        json!("bad symbolic permission for mode: bogus")
    );
    // oracle f9: mode=999 -> same msg, details "bad symbolic permission for mode: 999"
    let r = run("file", json!({"path": f, "mode": "999"}), &ctx());
    assert_eq!(r["details"], json!("bad symbolic permission for mode: 999"));
}

#[test]
fn missing_file_and_unknown_owner() {
    let d = tmp();
    // oracle f6: {"changed": false, "failed": true, "msg": "file (P) is absent, cannot continue", "path": P, "state": "absent"}
    let nope = p(&d, "nope");
    let r = run("file", json!({"path": nope, "state": "file"}), &ctx());
    assert_keys(&r, &["changed", "failed", "msg", "path", "state"]);
    assert_eq!(msg(&r), format!("file ({nope}) is absent, cannot continue"));
    // oracle f13: msg "chown failed: failed to look up user nosuchuser" with path info
    let f = p(&d, "a");
    std::fs::write(&f, "").unwrap();
    let r = run("file", json!({"path": f, "owner": "nosuchuser"}), &ctx());
    assert_keys(&r, &[INFO, &["changed", "failed", "msg", "path"]].concat());
    assert_eq!(msg(&r), "chown failed: failed to look up user nosuchuser");
    // oracle f10: recurse with state=file
    let r = run(
        "file",
        json!({"path": d.path(), "recurse": true, "state": "file"}),
        &ctx(),
    );
    assert_eq!(msg(&r), "recurse option requires state to be 'directory'");
    // oracle f15: link without src
    let r = run(
        "file",
        json!({"path": p(&d, "x1"), "state": "link"}),
        &ctx(),
    );
    assert_keys(&r, &["changed", "failed", "msg"]);
    assert_eq!(msg(&r), "src is required for creating new symlinks");
}

#[test]
fn links() {
    let d = tmp();
    let target = p(&d, "t");
    std::fs::write(&target, "").unwrap();
    let lnk = p(&d, "lnk");
    // oracle f5 (link, diff): {"changed": true, "dest": L, "diff": {"after": {"path": L, "state": "link"},
    //  "before": {"path": L, "state": "absent"}}, "gid", "group", "mode": "0777", "owner", "size": 15, "src": T, "state": "link", "uid"}
    let r = run(
        "file",
        json!({"path": lnk, "src": target, "state": "link"}),
        &diff(),
    );
    assert_keys(&r, &[INFO, &["changed", "dest", "diff", "src"]].concat());
    assert_eq!(r["state"], json!("link"));
    assert_eq!(r["mode"], json!("0777"));
    assert_eq!(r["size"], json!(target.len()));
    assert_eq!(
        r["diff"],
        json!({"after": {"path": lnk, "state": "link"}, "before": {"path": lnk, "state": "absent"}})
    );
    assert_eq!(
        std::fs::read_link(&lnk).unwrap().display().to_string(),
        target
    );
    let r = run(
        "file",
        json!({"path": lnk, "src": target, "state": "link"}),
        &ctx(),
    );
    assert!(!changed(&r));
    // retarget
    let t2 = p(&d, "t2");
    std::fs::write(&t2, "").unwrap();
    let r = run(
        "file",
        json!({"path": lnk, "src": t2, "state": "link"}),
        &diff(),
    );
    assert!(changed(&r));
    assert_eq!(r["diff"]["before"]["src"], json!(target));
    // refusing to replace a file without force
    let r = run(
        "file",
        json!({"path": t2, "src": target, "state": "link"}),
        &ctx(),
    );
    assert_eq!(
        msg(&r),
        format!("refusing to convert from file to symlink for {t2}")
    );
    // missing src without force
    let r = run(
        "file",
        json!({"path": p(&d, "l2"), "src": p(&d, "missing"), "state": "link"}),
        &ctx(),
    );
    assert!(msg(&r).starts_with(
        "src file does not exist, use 'force=yes' if you really want to create the link: "
    ));
    // oracle f14 hard link: {"changed": true, "dest": H, "src": A, "state": "hard", ...info}
    let hl = p(&d, "hl");
    let r = run(
        "file",
        json!({"path": hl, "src": target, "state": "hard"}),
        &ctx(),
    );
    assert_keys(&r, &[INFO, &["changed", "dest", "src"]].concat());
    assert_eq!(r["state"], json!("hard"));
    let r = run(
        "file",
        json!({"path": hl, "src": target, "state": "hard"}),
        &ctx(),
    );
    assert!(!changed(&r));
}

#[test]
fn absent() {
    let d = tmp();
    let f = p(&d, "t");
    std::fs::write(&f, "").unwrap();
    // oracle f7: {"changed": true, "diff": {"after": {"path": P, "state": "absent"}, "before": {"path": P, "state": "file"}}, "path": P, "state": "absent"}
    let r = run("file", json!({"path": f, "state": "absent"}), &diff());
    assert_keys(&r, &["changed", "diff", "path", "state"]);
    assert_eq!(
        r["diff"],
        json!({"after": {"path": f, "state": "absent"}, "before": {"path": f, "state": "file"}})
    );
    assert!(!std::path::Path::new(&f).exists());
    // oracle f8: {"changed": false, "path": P, "state": "absent"}
    let r = run("file", json!({"path": f, "state": "absent"}), &ctx());
    assert_keys(&r, &["changed", "path", "state"]);
    assert!(!changed(&r));
    // a directory tree, in check mode first
    let sub = p(&d, "sub");
    std::fs::create_dir_all(format!("{sub}/x")).unwrap();
    std::fs::write(format!("{sub}/x/f"), "").unwrap();
    let r = run(
        "file",
        json!({"path": sub, "state": "absent"}),
        &check_diff(),
    );
    assert!(changed(&r));
    assert_eq!(
        r["diff"]["before"]["path_content"],
        json!({"directories": [format!("{sub}/x")], "files": [format!("{sub}/x/f")]})
    );
    assert!(std::path::Path::new(&sub).exists());
    let r = run("file", json!({"path": sub, "state": "absent"}), &ctx());
    assert!(changed(&r));
    assert!(!std::path::Path::new(&sub).exists());
}

#[test]
fn recurse_sets_modes_below() {
    let d = tmp();
    let top = p(&d, "top");
    std::fs::create_dir_all(format!("{top}/a/b")).unwrap();
    std::fs::write(format!("{top}/a/b/f"), "").unwrap();
    let r = run(
        "file",
        json!({"path": top, "state": "directory", "recurse": true, "mode": "u=rwX,g=rX,o="}),
        &ctx(),
    );
    assert!(changed(&r));
    assert_eq!(mode_of(&format!("{top}/a/b")), 0o750);
    assert_eq!(mode_of(&format!("{top}/a/b/f")), 0o640);
    let r = run(
        "file",
        json!({"path": top, "state": "directory", "recurse": true, "mode": "u=rwX,g=rX,o="}),
        &ctx(),
    );
    assert!(!changed(&r));
}

#[test]
fn timestamps() {
    let d = tmp();
    let f = p(&d, "f");
    std::fs::write(&f, "").unwrap();
    let r = run(
        "file",
        json!({"path": f, "state": "file", "modification_time": "202001021304.05", "access_time": "preserve"}),
        &ctx(),
    );
    assert!(changed(&r));
    use std::os::unix::fs::MetadataExt;
    let md = std::fs::metadata(&f).unwrap();
    let lt = play_modules::util::LocalTime::at(md.mtime(), 0);
    assert_eq!(lt.format("%Y%m%d%H%M.%S"), "202001021304.05");
    let r = run(
        "file",
        json!({"path": f, "state": "file", "modification_time": "202001021304.05"}),
        &ctx(),
    );
    assert!(!changed(&r));
    let r = run(
        "file",
        json!({"path": f, "modification_time": "garbage"}),
        &ctx(),
    );
    assert!(msg(&r).starts_with(
        "Error while obtaining timestamp for time garbage using format %Y%m%d%H%M.%S"
    ));
}

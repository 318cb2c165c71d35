//! find, tempfile and getent. Oracle values from ansible-core 2.21.5 with
//! `ansible localhost -c local -m <module> -a '<json>'` through the json callback, on the
//! same tree as `tree()` builds (file lists reduced to their paths; the order inside one
//! directory is readdir's, so multi-file results are compared sorted).

mod common;
use common::*;
use serde_json::{json, Value};

fn tree(d: &tempfile::TempDir) -> String {
    let root = d.path().join("w2");
    std::fs::create_dir_all(root.join("sub/.hid")).unwrap();
    std::fs::create_dir_all(root.join(".h")).unwrap();
    std::fs::write(root.join("a.conf"), "hello\n").unwrap();
    std::fs::write(root.join("b.txt"), "x hello\n").unwrap();
    std::fs::write(root.join("sub/c.conf"), "abc").unwrap();
    std::fs::write(root.join(".h/d.conf"), "1\n").unwrap();
    std::fs::write(root.join("sub/.hid/e.conf"), "1\n").unwrap();
    std::os::unix::fs::symlink("a.conf", root.join("l.conf")).unwrap();
    root.display().to_string()
}

fn paths(r: &play_modules::ModuleResult) -> Vec<String> {
    let mut v: Vec<String> = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn find_cases() {
    let d = tmp();
    let w = tree(&d);
    // {"changed": false, "examined": 5, "files": [a.conf], "matched": 1, "msg": "All paths examined", "skipped_paths": {}}
    let r = run("find", json!({"paths": w, "patterns": "*.conf"}), &ctx());
    assert_keys(
        &r,
        &[
            "changed",
            "examined",
            "files",
            "matched",
            "msg",
            "skipped_paths",
        ],
    );
    assert_eq!(paths(&r), vec![format!("{w}/a.conf")]);
    assert_eq!(r["examined"], json!(5));
    assert_eq!(r["matched"], json!(1));
    assert_eq!(msg(&r), "All paths examined");
    // recurse + hidden: examined 9, a.conf, .h/d.conf, sub/c.conf, sub/.hid/e.conf
    let r = run(
        "find",
        json!({"paths": w, "patterns": "*.conf", "recurse": true, "hidden": true}),
        &ctx(),
    );
    assert_eq!(r["examined"], json!(9));
    assert_eq!(
        paths(&r),
        vec![
            format!("{w}/.h/d.conf"),
            format!("{w}/a.conf"),
            format!("{w}/sub/.hid/e.conf"),
            format!("{w}/sub/c.conf")
        ]
    );
    // contains matches at the start of a line only (re.match): a.conf, not b.txt
    let r = run(
        "find",
        json!({"paths": w, "contains": "hello", "recurse": true}),
        &ctx(),
    );
    assert_eq!(paths(&r), vec![format!("{w}/a.conf")]);
    // any type, excludes, size -3: l.conf (link) and sub (directory)
    let r = run(
        "find",
        json!({"paths": w, "file_type": "any", "excludes": "*.txt", "size": "-3"}),
        &ctx(),
    );
    assert_eq!(paths(&r), vec![format!("{w}/l.conf"), format!("{w}/sub")]);
    // links by regex, with a missing path: warning and skipped_paths
    let nope = format!("{w}/../nope");
    let r = run(
        "find",
        json!({"paths": [w, nope], "file_type": "link", "use_regex": true, "patterns": "^l\\."}),
        &ctx(),
    );
    assert_eq!(
        msg(&r),
        "Not all paths examined, check warnings for details"
    );
    assert_eq!(
        r["skipped_paths"],
        json!({nope.clone(): format!("'{nope}' is not a directory")})
    );
    assert_eq!(
        r["warnings"],
        json!([format!(
            "Skipped '{nope}' path due to this access issue: '{nope}' is not a directory\n"
        )])
    );
    let f = &r["files"][0];
    let mut ks: Vec<&String> = f.as_object().unwrap().keys().collect();
    ks.sort();
    assert_eq!(
        ks,
        vec![
            "atime",
            "blocks",
            "ctime",
            "dev",
            "disk_usage_bytes",
            "gid",
            "gr_name",
            "inode",
            "isblk",
            "ischr",
            "isdir",
            "isfifo",
            "isgid",
            "islnk",
            "isreg",
            "issock",
            "isuid",
            "mode",
            "mtime",
            "nlink",
            "path",
            "pw_name",
            "rgrp",
            "roth",
            "rusr",
            "size",
            "uid",
            "wgrp",
            "woth",
            "wusr",
            "xgrp",
            "xoth",
            "xusr"
        ]
    );
    assert_eq!(f["islnk"], json!(true));
    assert_eq!(f["mode"], json!("0777"));
    assert_eq!(f["size"], json!(6));
    // {"age": "zz", "failed": true, "msg": "failed to process age"}
    let r = run("find", json!({"paths": w, "age": "zz"}), &ctx());
    assert!(failed(&r));
    assert_eq!(msg(&r), "failed to process age");
    assert_eq!(r["age"], json!("zz"));
}

#[test]
fn tempfile_cases() {
    let d = tmp();
    // {"changed": true, "gid", "group", "mode": "0600", "owner", "path": "/tmp/ansible.1ou38hpcx",
    //  "size": 0, "state": "file", "uid"}
    let r = run(
        "tempfile",
        json!({"suffix": "x", "path": d.path().display().to_string()}),
        &ctx(),
    );
    assert_keys(
        &r,
        &[
            "changed", "gid", "group", "mode", "owner", "path", "size", "state", "uid",
        ],
    );
    let path = r["path"].as_str().unwrap();
    let base = std::path::Path::new(path)
        .file_name()
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        base.starts_with("ansible.") && base.ends_with('x') && base.len() == 17,
        "{base}"
    );
    assert_eq!(r["mode"], json!("0600"));
    assert_eq!(r["state"], json!("file"));
    let r = run(
        "tempfile",
        json!({"state": "directory", "prefix": "p_", "path": d.path().display().to_string()}),
        &ctx(),
    );
    assert_eq!(r["state"], json!("directory"));
    assert_eq!(r["mode"], json!("0700"));
    // --check: {"changed": false, "msg": "remote module (tempfile) does not support check mode", "skipped": true}
    let r = run("tempfile", json!({"state": "directory"}), &check());
    assert_eq!(r["skipped"], json!(true));
    assert_eq!(
        msg(&r),
        "remote module (tempfile) does not support check mode"
    );
    let r = run("tempfile", json!({"prefix": "a/b"}), &ctx());
    assert_eq!(
        msg(&r),
        "prefix must be a valid file name component, got 'a/b'"
    );
}

#[test]
fn getent_cases() {
    // {"ansible_facts": {"getent_passwd": {"root": ["x", "0", "0", "root", "/root", SHELL]}}, "changed": false}
    let r = run(
        "getent",
        json!({"database": "passwd", "key": "root"}),
        &ctx(),
    );
    assert_keys(&r, &["ansible_facts", "changed"]);
    let root = &r["ansible_facts"]["getent_passwd"]["root"];
    assert_eq!(
        root.as_array().unwrap()[..5],
        [
            json!("x"),
            json!("0"),
            json!("0"),
            json!("root"),
            json!("/root")
        ]
    );
    // fail_key false: {"ansible_facts": {"getent_passwd": {"nosuch": null}}, "changed": false,
    //  "msg": "One or more supplied key could not be found in the database."}
    let r = run(
        "getent",
        json!({"database": "passwd", "key": "nosuchuser", "fail_key": false}),
        &ctx(),
    );
    assert_eq!(
        r["ansible_facts"],
        json!({"getent_passwd": {"nosuchuser": Value::Null}})
    );
    assert_eq!(
        msg(&r),
        "One or more supplied key could not be found in the database."
    );
    let r = run(
        "getent",
        json!({"database": "passwd", "key": "nosuchuser"}),
        &ctx(),
    );
    assert!(failed(&r));
    // hosts split on whitespace: {"getent_hosts": {"127.0.0.1": ["localhost"]}} here
    let r = run(
        "getent",
        json!({"database": "hosts", "key": "localhost"}),
        &ctx(),
    );
    let h = r["ansible_facts"]["getent_hosts"].as_object().unwrap();
    assert!(h
        .values()
        .any(|v| v.as_array().unwrap().contains(&json!("localhost"))));
}

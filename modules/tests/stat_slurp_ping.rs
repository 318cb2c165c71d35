//! stat, slurp, ping. Oracle values from ansible-core 2.21.5 (`stat: path=...`,
//! `slurp: src=...`, `ping:` registered and dumped with `to_nice_json`).

mod common;
use common::*;
use serde_json::json;

/// oracle s1 (a regular file): the keys of `stat`.
const STAT_KEYS: &[&str] = &[
    "atime",
    "attr_flags",
    "attributes",
    "block_size",
    "blocks",
    "charset",
    "checksum",
    "ctime",
    "dev",
    "device_type",
    "disk_usage_bytes",
    "executable",
    "exists",
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
    "mimetype",
    "mode",
    "mtime",
    "nlink",
    "path",
    "pw_name",
    "readable",
    "rgrp",
    "roth",
    "rusr",
    "size",
    "uid",
    "version",
    "wgrp",
    "woth",
    "writeable",
    "wusr",
    "xgrp",
    "xoth",
    "xusr",
];

#[test]
fn stat_regular_file() {
    let d = tmp();
    let f = p(&d, "a.txt");
    std::fs::write(&f, "hello2\n").unwrap();
    std::fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let r = run("stat", json!({"path": f}), &ctx());
    assert_keys(&r, &["changed", "stat"]);
    let s = r["stat"].as_object().unwrap();
    assert_eq!(keys(s), set(STAT_KEYS));
    // oracle s1 values
    assert_eq!(
        s["checksum"],
        json!("0d2aae7d156d796b97ae11b4dba506a55f54a75e")
    );
    assert_eq!(s["mode"], json!("0644"));
    assert_eq!(s["size"], json!(7));
    assert_eq!(s["isreg"], json!(true));
    assert_eq!(s["isdir"], json!(false));
    assert_eq!(s["exists"], json!(true));
    assert_eq!(s["mimetype"], json!("text/plain"));
    assert_eq!(s["charset"], json!("us-ascii"));
    assert_eq!(s["rusr"], json!(true));
    assert_eq!(s["xusr"], json!(false));
    assert!(s["mtime"].is_f64() && s["atime"].is_f64() && s["ctime"].is_f64());
    assert!(s["inode"].is_u64() && s["dev"].is_u64());
    assert_eq!(s["path"], json!(f));
    // other algorithms
    let r = run(
        "stat",
        json!({"path": f, "checksum_algorithm": "sha256", "get_mime": false}),
        &ctx(),
    );
    assert_eq!(r["stat"]["checksum"].as_str().unwrap().len(), 64);
    assert!(!r["stat"].as_object().unwrap().contains_key("mimetype"));
    let r = run("stat", json!({"path": f, "get_checksum": false}), &ctx());
    assert!(!r["stat"].as_object().unwrap().contains_key("checksum"));
}

#[test]
fn stat_link_dir_missing() {
    let d = tmp();
    let t = p(&d, "t");
    let lnk = p(&d, "lnk");
    std::os::unix::fs::symlink(&t, &lnk).unwrap();
    // oracle s2 (dangling link): no checksum, "islnk": true, "lnk_source": T, "lnk_target": T, "mode": "0777",
    //  "readable": false, "version": null, "attributes": [], "attr_flags": "", "mimetype": "unknown",
    //  "charset": "unknown" (`file` prints no charset for a symlink)
    let r = run("stat", json!({"path": lnk}), &ctx());
    let s = r["stat"].as_object().unwrap();
    let mut want: Vec<&str> = STAT_KEYS
        .iter()
        .copied()
        .filter(|k| *k != "checksum")
        .collect();
    want.extend(["lnk_source", "lnk_target"]);
    assert_eq!(keys(s), set(&want));
    assert_eq!(s["islnk"], json!(true));
    assert_eq!(s["lnk_source"], json!(t));
    assert_eq!(s["lnk_target"], json!(t));
    assert_eq!(s["mode"], json!("0777"));
    assert_eq!(s["readable"], json!(false));
    assert_eq!(s["version"], json!(null));
    assert_eq!(s["attributes"], json!([]));
    assert_eq!(s["mimetype"], json!("unknown"));
    assert_eq!(s["charset"], json!("unknown"));
    // oracle s3: {"changed": false, "stat": {"exists": false}}
    let r = run("stat", json!({"path": p(&d, "nope")}), &ctx());
    assert_eq!(r["stat"], json!({"exists": false}));
    assert!(!changed(&r));
    // oracle s4: a directory: "isdir": true, "mimetype": "inode/directory", "charset": "binary", no checksum
    let r = run("stat", json!({"path": d.path()}), &ctx());
    assert_eq!(r["stat"]["isdir"], json!(true));
    assert_eq!(r["stat"]["mimetype"], json!("inode/directory"));
    assert_eq!(r["stat"]["charset"], json!("binary"));
    assert!(!r["stat"].as_object().unwrap().contains_key("checksum"));
    // follow
    std::fs::write(&t, "x").unwrap();
    let r = run("stat", json!({"path": lnk, "follow": true}), &ctx());
    assert_eq!(r["stat"]["isreg"], json!(true));
    assert_eq!(r["stat"]["islnk"], json!(false));
    // bad algorithm
    let r = run(
        "stat",
        json!({"path": lnk, "checksum_algorithm": "crc"}),
        &ctx(),
    );
    assert_eq!(msg(&r), "value of checksum_algorithm must be one of: md5, sha1, sha224, sha256, sha384, sha512, got: crc");
}

#[test]
fn slurp() {
    let d = tmp();
    let f = p(&d, "a.txt");
    std::fs::write(&f, "hello2\n").unwrap();
    // oracle sl1: {"changed": false, "content": "aGVsbG8yCg==", "encoding": "base64", "source": P}
    let r = run("slurp", json!({"src": f}), &ctx());
    assert_keys(&r, &["changed", "content", "encoding", "source"]);
    assert_eq!(r["content"], json!("aGVsbG8yCg=="));
    assert_eq!(r["encoding"], json!("base64"));
    assert_eq!(r["source"], json!(f));
    let r = run("slurp", json!({"path": f}), &ctx());
    assert_eq!(r["content"], json!("aGVsbG8yCg=="));
    // oracle sl2: {"changed": false, "failed": true, "msg": "File not found: P"}
    let nope = p(&d, "nope");
    let r = run("slurp", json!({"src": nope}), &ctx());
    assert_keys(&r, &["changed", "failed", "msg"]);
    assert_eq!(msg(&r), format!("File not found: {nope}"));
    let r = run("slurp", json!({"src": d.path()}), &ctx());
    assert_eq!(
        msg(&r),
        format!(
            "Source is a directory and must be a file: {}",
            d.path().display()
        )
    );
}

#[test]
fn ping() {
    // oracle p1: {"changed": false, "ping": "pong"}
    let r = run("ping", json!({}), &ctx());
    assert_keys(&r, &["changed", "ping"]);
    assert_eq!(r["ping"], json!("pong"));
    let r = run("ping", json!({"data": "hi"}), &check());
    assert_eq!(r["ping"], json!("hi"));
    // oracle p2 (data=crash): {"changed": false, "exception": "...", "failed": true, "msg": "Task failed: Module failed: boom"}
    let r = run("ping", json!({"data": "crash"}), &ctx());
    assert!(failed(&r));
    assert_eq!(msg(&r), "Task failed: Module failed: boom");
    let r = run("ping", json!({"bogus": 1}), &ctx());
    assert_eq!(
        msg(&r),
        "Unsupported parameters for (ping) module: bogus. Supported parameters include: data."
    );
}

#[test]
fn unknown_module_fails() {
    let r = run("no_such_module", json!({}), &ctx());
    assert!(failed(&r));
    assert!(play_modules::names().contains(&"copy"));
    for n in play_modules::names() {
        // every listed name is routed (none answers "not available natively")
        let r = run(n, json!({"_definitely_unknown": 1}), &check());
        assert!(!msg(&r).contains("not available natively"), "{n}");
    }
}

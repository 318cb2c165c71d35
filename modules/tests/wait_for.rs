//! wait_for against a TCP listener the test opens and files it writes. Oracle values from
//! ansible-core 2.21.5 (`ansible localhost -c local -m wait_for -a '<json>'`, json callback).

mod common;
use common::*;
use serde_json::json;
use std::io::Write;

#[test]
fn wait_for_path_and_regex() {
    let d = tmp();
    let f = p(&d, "wf.txt");
    std::fs::write(&f, "ready ver=12\n").unwrap();
    // {"changed": false, "elapsed": 0, "gid", "group", "match_groupdict": {"v": "12"}, "match_groups": ["12"],
    //  "mode", "owner", "path": F, "port": null, "search_regex": "ver=(?P<v>\\d+)", "size": 13, "state": "file", "uid"}
    let r = run(
        "wait_for",
        json!({"path": f, "search_regex": "ver=(?P<v>\\d+)", "timeout": 2}),
        &ctx(),
    );
    assert_keys(
        &r,
        &[
            "changed",
            "elapsed",
            "gid",
            "group",
            "match_groupdict",
            "match_groups",
            "mode",
            "owner",
            "path",
            "port",
            "search_regex",
            "size",
            "state",
            "uid",
        ],
    );
    assert_eq!(r["match_groupdict"], json!({"v": "12"}));
    assert_eq!(r["match_groups"], json!(["12"]));
    assert_eq!(r["state"], json!("file"));
    assert_eq!(r["size"], json!(13));
    // a file that appears after a while
    let g = p(&d, "later.txt");
    let g2 = g.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(1500));
        std::fs::write(g2, "x").unwrap();
    });
    let r = run("wait_for", json!({"path": g, "timeout": 10}), &ctx());
    t.join().unwrap();
    assert!(!failed(&r), "{r:?}");
    // absent: the file is removed after a while
    let g3 = g.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(1500));
        std::fs::remove_file(g3).unwrap();
    });
    let r = run(
        "wait_for",
        json!({"path": g, "state": "absent", "timeout": 10}),
        &ctx(),
    );
    t.join().unwrap();
    assert!(!failed(&r), "{r:?}");
    // {"failed": true, "msg": "Timeout when waiting for file F"}
    let r = run(
        "wait_for",
        json!({"path": p(&d, "never"), "timeout": 1}),
        &ctx(),
    );
    assert_eq!(
        msg(&r),
        format!("Timeout when waiting for file {}", p(&d, "never"))
    );
    let r = run("wait_for", json!({"path": f, "port": 22}), &ctx());
    assert_eq!(
        msg(&r),
        "port and path parameter can not both be passed to wait_for"
    );
}

#[test]
fn wait_for_port() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let _ = s.write_all(b"SSH-2.0-test\r\n");
        }
    });
    // {"changed": false, "elapsed": 0, "match_groupdict": {}, "match_groups": [], "path": null, "port": P,
    //  "search_regex": null, "state": "started"}
    let r = run("wait_for", json!({"port": port, "timeout": 5}), &ctx());
    assert_keys(
        &r,
        &[
            "changed",
            "elapsed",
            "match_groupdict",
            "match_groups",
            "path",
            "port",
            "search_regex",
            "state",
        ],
    );
    assert_eq!(r["state"], json!("started"));
    assert_eq!(r["port"], json!(port));
    let r = run(
        "wait_for",
        json!({"port": port, "search_regex": "OpenSSH|SSH-2", "timeout": 5}),
        &ctx(),
    );
    assert!(!failed(&r), "{r:?}");
    // {"changed": false, "elapsed": 1, "failed": true, "msg": "Timeout when waiting for 127.0.0.1:1"}
    let r = run("wait_for", json!({"port": 1, "timeout": 1}), &ctx());
    assert_keys(&r, &["changed", "elapsed", "failed", "msg"]);
    assert_eq!(msg(&r), "Timeout when waiting for 127.0.0.1:1");
    // stopped on a closed port: {"state": "stopped", "port": 1, ...}
    let r = run(
        "wait_for",
        json!({"port": 1, "timeout": 1, "state": "stopped"}),
        &ctx(),
    );
    assert_eq!(r["state"], json!("stopped"));
    assert!(!failed(&r));
    let r = run("wait_for", json!({"port": 1}), &check());
    assert_eq!(r["skipped"], json!(true));
}

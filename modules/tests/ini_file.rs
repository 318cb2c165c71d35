//! community.general.ini_file. Oracle values from ansible-core 2.21.5 with
//! community.general, each task run in this order with `ansible localhost -c local -m
//! community.general.ini_file -a '<json>'` through the json callback, on a file starting
//! "[s]\n# k = 1\nother=2\n\n[t]\nk=3\n"; the final file read back with cat.

mod common;
use common::*;
use serde_json::json;

#[test]
fn ini_sequence() {
    let d = tmp();
    let f = p(&d, "i.ini");
    std::fs::write(&f, "[s]\n# k = 1\nother=2\n\n[t]\nk=3\n").unwrap();
    // --diff: {"changed": true, "diff": {"after": "[s]\nk = 5\nother=2\n\n[t]\nk=3\n", ...},
    //  "gid", "group", "mode", "msg": "option changed", "owner", "path", "size": 27, "state", "uid"}
    let r = run(
        "community.general.ini_file",
        json!({"path": f, "section": "s", "option": "k", "value": "5"}),
        &diff(),
    );
    assert_keys(
        &r,
        &[
            "changed", "diff", "gid", "group", "mode", "msg", "owner", "path", "size", "state",
            "uid",
        ],
    );
    assert_eq!(msg(&r), "option changed");
    assert_eq!(r["size"], json!(27));
    assert_eq!(
        r["diff"],
        json!({"after": "[s]\nk = 5\nother=2\n\n[t]\nk=3\n", "after_header": format!("{f} (content)"),
               "before": "[s]\n# k = 1\nother=2\n\n[t]\nk=3\n", "before_header": format!("{f} (content)")})
    );
    // again: "OK", unchanged
    let r = run(
        "ini_file",
        json!({"path": f, "section": "s", "option": "k", "value": "5"}),
        &ctx(),
    );
    assert!(!changed(&r));
    assert_eq!(msg(&r), "OK");
    // new section: "section and option added", size 35
    let r = run(
        "ini_file",
        json!({"path": f, "section": "u", "option": "z", "value": "1", "no_extra_spaces": true}),
        &ctx(),
    );
    assert_eq!(msg(&r), "section and option added");
    assert_eq!(r["size"], json!(35));
    // values: "option added", size 43
    let r = run(
        "ini_file",
        json!({"path": f, "section": "t", "option": "k", "values": ["a", "b"]}),
        &ctx(),
    );
    assert_eq!(msg(&r), "option added");
    assert_eq!(r["size"], json!(43));
    // section absent in check mode: "section removed", nothing written
    let r = run(
        "ini_file",
        json!({"path": f, "section": "t", "state": "absent"}),
        &check(),
    );
    assert!(changed(&r));
    assert_eq!(msg(&r), "section removed");
    assert_eq!(r["size"], json!(43));
    // option absent: "option changed", 35
    let r = run(
        "ini_file",
        json!({"path": f, "section": "s", "option": "other", "state": "absent"}),
        &ctx(),
    );
    assert_eq!(msg(&r), "option changed");
    assert_eq!(r["size"], json!(35));
    // allow_no_value: "option added", 40
    let r = run(
        "ini_file",
        json!({"path": f, "section": "s", "option": "flag", "allow_no_value": true}),
        &ctx(),
    );
    assert_eq!(msg(&r), "option added");
    assert_eq!(r["size"], json!(40));
    let r = run(
        "ini_file",
        json!({"path": f, "section": "s", "option": "x"}),
        &ctx(),
    );
    assert!(failed(&r));
    assert_eq!(
        msg(&r),
        "Parameter 'value(s)' must be defined if state=present and allow_no_value=False."
    );
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        "[s]\nk = 5\nflag\n\n[t]\nk = a\nk = b\n[u]\nz=1\n"
    );
}

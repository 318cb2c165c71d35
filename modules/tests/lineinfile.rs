//! lineinfile. Oracle values from ansible-core 2.21.5: a playbook running l1..l20 in
//! sequence on a file starting as "a=1\nb=2\n# c=3\n", each registered and dumped with
//! `to_nice_json`; the final file content came from `slurp`.

mod common;
use common::*;
use serde_json::{json, Value};

fn empty_diff(f: &str) -> Value {
    json!([
        {"after": "", "after_header": format!("{f} (content)"), "before": "", "before_header": format!("{f} (content)")},
        {"after_header": format!("{f} (file attributes)"), "before_header": format!("{f} (file attributes)")}
    ])
}

#[test]
fn oracle_sequence() {
    let d = tmp();
    let f = p(&d, "l.txt");
    std::fs::write(&f, "a=1\nb=2\n# c=3\n").unwrap();
    // l1 (diff): {"backup": "", "changed": true, "diff": [{"after": "a=1\nb=2\n# c=3\nd=4\n", "after_header": "F (content)",
    //  "before": "a=1\nb=2\n# c=3\n", "before_header": "F (content)"}, {"after_header": "F (file attributes)",
    //  "before_header": "F (file attributes)"}], "msg": "line added"}
    let r = run("lineinfile", json!({"path": f, "line": "d=4"}), &diff());
    assert_keys(&r, &["backup", "changed", "diff", "msg"]);
    assert_eq!(msg(&r), "line added");
    assert_eq!(r["backup"], json!(""));
    assert_eq!(r["diff"][0]["before"], json!("a=1\nb=2\n# c=3\n"));
    assert_eq!(r["diff"][0]["after"], json!("a=1\nb=2\n# c=3\nd=4\n"));
    assert_eq!(
        r["diff"][1],
        json!({"after_header": format!("{f} (file attributes)"), "before_header": format!("{f} (file attributes)")})
    );
    // l2: {"backup": "", "changed": false, "diff": <empty>, "msg": ""}
    let r = run("lineinfile", json!({"path": f, "line": "d=4"}), &ctx());
    assert!(!changed(&r));
    assert_eq!(msg(&r), "");
    assert_eq!(r["diff"], empty_diff(&f));
    // l3 (diff): "line replaced"
    let r = run(
        "lineinfile",
        json!({"path": f, "regexp": "^b=", "line": "b=5"}),
        &diff(),
    );
    assert_eq!(msg(&r), "line replaced");
    assert_eq!(r["diff"][0]["after"], json!("a=1\nb=5\n# c=3\nd=4\n"));
    // l4 (absent, diff): {"found": 1, "msg": "1 line(s) removed", "changed": true, ...}
    let r = run(
        "lineinfile",
        json!({"path": f, "regexp": "^a=", "state": "absent"}),
        &diff(),
    );
    assert_keys(&r, &["backup", "changed", "diff", "found", "msg"]);
    assert_eq!(r["found"], json!(1));
    assert_eq!(msg(&r), "1 line(s) removed");
    // l5 BOF
    let r = run(
        "lineinfile",
        json!({"path": f, "line": "top", "insertbefore": "BOF"}),
        &ctx(),
    );
    assert_eq!(msg(&r), "line added");
    // l6 backrefs: "line replaced"; l7 backrefs without match: unchanged, msg ""
    let r = run(
        "lineinfile",
        json!({"path": f, "regexp": "^# c=(.*)$", "line": "c=\\1", "backrefs": "yes"}),
        &ctx(),
    );
    assert_eq!(msg(&r), "line replaced");
    let r = run(
        "lineinfile",
        json!({"path": f, "regexp": "^zzz(.*)$", "line": "c=\\1", "backrefs": "yes"}),
        &ctx(),
    );
    assert!(!changed(&r));
    assert_eq!(r["diff"], empty_diff(&f));
    // l10 insertafter a regexp
    let r = run(
        "lineinfile",
        json!({"path": f, "line": "after-b", "insertafter": "^b="}),
        &ctx(),
    );
    assert_eq!(msg(&r), "line added");
    // l11 search_string + backup: "line replaced", backup is a path
    let r = run(
        "lineinfile",
        json!({"path": f, "search_string": "d=4", "line": "d=6", "backup": "yes"}),
        &ctx(),
    );
    assert_eq!(msg(&r), "line replaced");
    let backup = r["backup"].as_str().unwrap().to_string();
    assert!(backup.starts_with(&format!("{f}.")) && backup.ends_with('~'));
    assert!(std::fs::read_to_string(&backup).unwrap().contains("d=4"));
    // l12 check mode: "line added", changed, file untouched
    let before = std::fs::read_to_string(&f).unwrap();
    let r = run("lineinfile", json!({"path": f, "line": "q"}), &check());
    assert!(changed(&r));
    assert_eq!(msg(&r), "line added");
    assert_eq!(std::fs::read_to_string(&f).unwrap(), before);
    // l17 absent, nothing found: {"found": 0, "msg": "", "changed": false}
    let r = run(
        "lineinfile",
        json!({"path": f, "search_string": "nomatch", "state": "absent"}),
        &ctx(),
    );
    assert_eq!(r["found"], json!(0));
    assert!(!changed(&r));
    // l18 validate passes; l19 validate fails: "failed to validate: rc:1 error:"
    let r = run(
        "lineinfile",
        json!({"path": f, "line": "v", "validate": "grep -q top %s"}),
        &ctx(),
    );
    assert_eq!(msg(&r), "line added");
    let r = run(
        "lineinfile",
        json!({"path": f, "line": "w", "validate": "false %s"}),
        &ctx(),
    );
    assert_keys(&r, &["changed", "failed", "msg"]);
    assert_eq!(msg(&r), "failed to validate: rc:1 error:");
    // l20: regexp matching a line already right: unchanged
    let r = run(
        "lineinfile",
        json!({"path": f, "regexp": "^b=", "line": "b=5"}),
        &ctx(),
    );
    assert!(!changed(&r));
    // the final file, as slurped from the oracle: "top\nb=5\nafter-b\nc=3\nd=6\nv\n"
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        "top\nb=5\nafter-b\nc=3\nd=6\nv\n"
    );
}

#[test]
fn errors() {
    let d = tmp();
    let f = p(&d, "l.txt");
    std::fs::write(&f, "x\n").unwrap();
    // l8: {"changed": false, "failed": true, "msg": "Destination F does not exist !", "rc": 257}
    let nofile = p(&d, "nofile");
    let r = run("lineinfile", json!({"path": nofile, "line": "x"}), &ctx());
    assert_keys(&r, &["changed", "failed", "msg", "rc"]);
    assert_eq!(msg(&r), format!("Destination {nofile} does not exist !"));
    assert_eq!(r["rc"], json!(257));
    // l13
    let r = run("lineinfile", json!({"path": f, "state": "absent"}), &ctx());
    assert_eq!(
        msg(&r),
        "one of line, search_string, or regexp is required with state=absent"
    );
    // l16
    let r = run(
        "lineinfile",
        json!({"path": f, "regexp": "^b=", "backrefs": "yes"}),
        &ctx(),
    );
    assert_eq!(msg(&r), "line is required with state=present");
    let r = run(
        "lineinfile",
        json!({"path": f, "line": "x", "backrefs": true}),
        &ctx(),
    );
    assert_eq!(msg(&r), "regexp is required with backrefs=true");
    let r = run("lineinfile", json!({"path": d.path(), "line": "x"}), &ctx());
    assert_eq!(
        msg(&r),
        format!("Path {} is a directory !", d.path().display())
    );
    let r = run(
        "lineinfile",
        json!({"path": f, "line": "x", "state": "maybe"}),
        &ctx(),
    );
    assert_eq!(
        msg(&r),
        "value of state must be one of: absent, present, got: maybe"
    );
    // absent on a missing file
    let r = run(
        "lineinfile",
        json!({"path": nofile, "line": "x", "state": "absent"}),
        &ctx(),
    );
    assert_eq!(msg(&r), "file not present");
    assert!(!changed(&r));
}

#[test]
fn create_with_mode() {
    let d = tmp();
    let f = p(&d, "sub/new.txt");
    // l9 (create=yes mode=0600, diff): {"backup": "", "changed": true, "diff": [{"after": "x\n", "before": "", ...},
    //  {"after": {"mode": "0600"}, "after_header": "F (file attributes)", "before": {"mode": "0644"},
    //  "before_header": "F (file attributes)"}], "msg": "line added and ownership, perms or SE linux context changed"}
    let r = run(
        "lineinfile",
        json!({"path": f, "line": "x", "create": "yes", "mode": "0600"}),
        &diff(),
    );
    assert_eq!(
        msg(&r),
        "line added and ownership, perms or SE linux context changed"
    );
    assert_eq!(r["diff"][0]["after"], json!("x\n"));
    assert_eq!(r["diff"][1]["after"], json!({"mode": "0600"}));
    assert_eq!(r["diff"][1]["before"], json!({"mode": "0644"}));
    assert_eq!(mode_of(&f), 0o600);
    // check mode on a missing file: diff is a dict, nothing created
    let g = p(&d, "other.txt");
    let r = run(
        "lineinfile",
        json!({"path": g, "line": "x", "create": true}),
        &check_diff(),
    );
    assert!(changed(&r));
    assert!(r["diff"].is_object());
    assert!(!std::path::Path::new(&g).exists());
}

#[test]
fn insert_positions_and_firstmatch() {
    let d = tmp();
    let f = p(&d, "l.txt");
    std::fs::write(&f, "[a]\nk=1\n[b]\nk=2\n").unwrap();
    let r = run(
        "lineinfile",
        json!({"path": f, "line": "new", "insertafter": "^\\[", "firstmatch": true}),
        &ctx(),
    );
    assert_eq!(msg(&r), "line added");
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        "[a]\nnew\nk=1\n[b]\nk=2\n"
    );
    let r = run(
        "lineinfile",
        json!({"path": f, "line": "before-b", "insertbefore": "^\\[b\\]"}),
        &ctx(),
    );
    assert!(changed(&r));
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        "[a]\nnew\nk=1\nbefore-b\n[b]\nk=2\n"
    );
    // the last match wins without firstmatch
    let r = run(
        "lineinfile",
        json!({"path": f, "regexp": "^k=", "line": "k=9"}),
        &ctx(),
    );
    assert!(changed(&r));
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        "[a]\nnew\nk=1\nbefore-b\n[b]\nk=9\n"
    );
    // a file without a final newline gets one before the appended line
    let g = p(&d, "nonl.txt");
    std::fs::write(&g, "a").unwrap();
    run("lineinfile", json!({"path": g, "line": "b"}), &ctx());
    assert_eq!(std::fs::read_to_string(&g).unwrap(), "a\nb\n");
    // named groups in backrefs
    let r = run(
        "lineinfile",
        json!({"path": g, "regexp": "^(?P<x>b)$", "line": "\\g<x>\\g<x>", "backrefs": true}),
        &ctx(),
    );
    assert!(changed(&r));
    assert_eq!(std::fs::read_to_string(&g).unwrap(), "a\nbb\n");
    // an existing file keeps its mode when rewritten
    std::fs::set_permissions(&g, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
    run("lineinfile", json!({"path": g, "line": "c"}), &ctx());
    assert_eq!(mode_of(&g), 0o640);
}

//! blockinfile and replace. Oracle values from ansible-core 2.21.5, each task run with
//! `ansible localhost -c local -m blockinfile -a '<json>'` (plus --check/--diff as noted)
//! through the json stdout callback, in the order of the test, on a file starting "a\nb\n".

mod common;
use common::*;
use serde_json::json;

#[test]
fn blockinfile_sequence() {
    let d = tmp();
    let f = p(&d, "b.txt");
    std::fs::write(&f, "a\nb\n").unwrap();
    // --diff: {"changed": true, "diff": [{"after": "a\n# BEGIN ANSIBLE MANAGED BLOCK\nx\ny\n# END
    //  ANSIBLE MANAGED BLOCK\nb\n", ... "before": "a\nb\n"}, {attr headers}], "msg": "Block inserted"}
    let r = run(
        "blockinfile",
        json!({"path": f, "block": "x\ny", "insertbefore": "^b"}),
        &diff(),
    );
    assert_keys(&r, &["changed", "diff", "msg"]);
    assert_eq!(msg(&r), "Block inserted");
    let after = "a\n# BEGIN ANSIBLE MANAGED BLOCK\nx\ny\n# END ANSIBLE MANAGED BLOCK\nb\n";
    assert_eq!(
        r["diff"],
        json!([
            {"after": after, "after_header": format!("{f} (content)"), "before": "a\nb\n", "before_header": format!("{f} (content)")},
            {"after_header": format!("{f} (file attributes)"), "before_header": format!("{f} (file attributes)")}
        ])
    );
    assert_eq!(std::fs::read_to_string(&f).unwrap(), after);
    // again: {"changed": false, "diff": [<empty before/after>, ...], "msg": ""}
    let r = run(
        "blockinfile",
        json!({"path": f, "block": "x\ny", "insertbefore": "^b"}),
        &ctx(),
    );
    assert!(!changed(&r));
    assert_eq!(msg(&r), "");
    assert_eq!(r["diff"][0]["before"], json!(""));
    // another marker appends at EOF: "Block inserted"
    let r = run(
        "blockinfile",
        json!({"path": f, "block": "z", "marker": "## {mark} M"}),
        &ctx(),
    );
    assert_eq!(msg(&r), "Block inserted");
    // absent in check+diff mode: "Block removed", before has both blocks, after only the ## one
    let r = run(
        "blockinfile",
        json!({"path": f, "state": "absent"}),
        &check_diff(),
    );
    assert!(changed(&r));
    assert_eq!(msg(&r), "Block removed");
    assert_eq!(
        r["diff"][0]["after"],
        json!("a\nb\n## BEGIN M\nz\n## END M\n")
    );
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        format!("{after}## BEGIN M\nz\n## END M\n")
    );
    let r = run("blockinfile", json!({"path": f, "state": "absent"}), &ctx());
    assert_eq!(msg(&r), "Block removed");
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        "a\nb\n## BEGIN M\nz\n## END M\n"
    );
}

#[test]
fn blockinfile_create_and_errors() {
    let d = tmp();
    let f = p(&d, "new.txt");
    // --check: {"changed": true, "diff": {<empty content diff, a dict>}, "msg": "File created"}
    let r = run(
        "blockinfile",
        json!({"path": f, "block": "q", "create": true, "mode": "0640"}),
        &check(),
    );
    assert_keys(&r, &["changed", "diff", "msg"]);
    assert!(r["diff"].is_object());
    assert_eq!(msg(&r), "File created");
    assert!(!std::path::Path::new(&f).exists());
    // real: "File created and ownership, perms or SE linux context changed", attr diff mode
    let r = run(
        "blockinfile",
        json!({"path": f, "block": "q", "create": true, "mode": "0640"}),
        &ctx(),
    );
    assert_eq!(
        msg(&r),
        "File created and ownership, perms or SE linux context changed"
    );
    assert_eq!(r["diff"][1]["after"], json!({"mode": "0640"}));
    assert_eq!(mode_of(&f), 0o640);
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        "# BEGIN ANSIBLE MANAGED BLOCK\nq\n# END ANSIBLE MANAGED BLOCK\n"
    );
    // {"failed": true, "msg": "Path .../nope.txt does not exist !", "rc": 257}
    let n = p(&d, "nope.txt");
    let r = run("blockinfile", json!({"path": n, "block": "q"}), &ctx());
    assert!(failed(&r));
    assert_eq!(msg(&r), format!("Path {n} does not exist !"));
    assert_eq!(r["rc"], json!(257));
    let r = run(
        "blockinfile",
        json!({"path": n, "block": "q", "bogus": 1}),
        &ctx(),
    );
    assert_eq!(msg(&r), "Unsupported parameters for (blockinfile) module: bogus. Supported parameters include: append_newline, attributes, backup, block, create, encoding, group, insertafter, insertbefore, marker, marker_begin, marker_end, mode, owner, path, prepend_newline, selevel, serole, setype, seuser, state, unsafe_writes, validate (attr, content, dest, destfile, name).");
}

#[test]
fn replace_sequence() {
    let d = tmp();
    let f = p(&d, "r.txt");
    std::fs::write(&f, "port=80\nhost=a\nport=81\n").unwrap();
    // --diff: {"changed": true, "diff": {"after": "port=800\nhost=a\nport=810\n", "after_header": F,
    //  "before": "port=80\nhost=a\nport=81\n", "before_header": F}, "msg": "2 replacements made", "rc": 0}
    let r = run(
        "replace",
        json!({"path": f, "regexp": "^port=(\\d+)$", "replace": "port=\\g<1>0"}),
        &diff(),
    );
    assert_keys(&r, &["changed", "diff", "msg", "rc"]);
    assert_eq!(msg(&r), "2 replacements made");
    assert_eq!(
        r["diff"],
        json!({"after": "port=800\nhost=a\nport=810\n", "after_header": f, "before": "port=80\nhost=a\nport=81\n", "before_header": f})
    );
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        "port=800\nhost=a\nport=810\n"
    );
    // same text back: {"changed": false, "msg": "", "rc": 0}
    let r = run(
        "replace",
        json!({"path": f, "regexp": "^port=(\\d+)$", "replace": "port=\\g<1>"}),
        &ctx(),
    );
    assert_keys(&r, &["changed", "msg", "rc"]);
    assert!(!changed(&r));
    // after= in check mode: {"changed": true, "msg": "1 replacements made", "rc": 0}
    let r = run(
        "replace",
        json!({"path": f, "regexp": "host", "replace": "h", "after": "port=800"}),
        &check(),
    );
    assert_eq!(msg(&r), "1 replacements made");
    assert!(std::fs::read_to_string(&f).unwrap().contains("host"));
    let r = run(
        "replace",
        json!({"path": f, "regexp": "host", "replace": "h", "after": "zzz"}),
        &ctx(),
    );
    assert!(!changed(&r));
    assert_eq!(
        msg(&r),
        "Pattern for before/after params did not match the given file: zzz(?P<subsection>.*)"
    );
    let n = p(&d, "nope");
    let r = run("replace", json!({"path": n, "regexp": "x"}), &ctx());
    assert!(failed(&r));
    assert_eq!(msg(&r), format!("Path {n} does not exist !"));
    assert_eq!(r["rc"], json!(257));
}

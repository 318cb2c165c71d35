//! config_template: overrides merged into rendered content, then written like copy.
//! Oracle: ansible-core 2.21.5 with the `ansible-config-template` 2.1.1 action plugin from
//! PyPI (patched locally only to import under ansible-core 2.21: a distutils shim, and its
//! YAML dumper based on yaml.SafeDumper with the data converted to plain types), run as
//! `ansible localhost -c local -m config_template -a '<json>'`; files read with cat -A.

mod common;
use common::*;
use serde_json::json;

#[test]
fn config_template_ini() {
    let d = tmp();
    let f = p(&d, "c.ini");
    let content = "# top\n[DEFAULT]\ndebug = False\n\n[foo]\nbar = baz ; c\n# note: x\nk = 1\nk = 2\nflag\n\n[section1]\noption1 = value1\noption2 = value2\n";
    let args = json!({"content": content, "dest": f, "config_type": "ini",
        "config_overrides": {"hello": {"cruel": "world"},
                             "section1": {"option1": "value2", "option3": ["a", "b"], "multi": {"x": null, "y": null}},
                             "top": "level", "debug": true}});
    // {"changed": true, "checksum": "746d0aca9ff2e6927c9bb047d1f330323b4b8009", "dest", "gid", "group",
    //  "md5sum": "bff0334a905859967e830591b1d904fd", "mode", "owner", "size": 184, "src", "state", "uid"}
    let r = run("config_template", args.clone(), &ctx());
    assert!(changed(&r), "{r:?}");
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        "[DEFAULT]\ntop = level\ndebug = True\n\n[foo]\nbar = baz\n# note = x\nk = 1\nk = 2\nflag\n\n[section1]\noption2 = value2\noption1 = value2\noption3 = a,b\nmulti = x\nmulti = y\n\n[hello]\ncruel = world\n\n"
    );
    assert_eq!(
        r["checksum"],
        json!("746d0aca9ff2e6927c9bb047d1f330323b4b8009")
    );
    assert_eq!(r["size"], json!(184));
    let r = run("config_template", args, &ctx());
    assert!(!changed(&r));
    let r = run(
        "config_template",
        json!({"content": "x", "dest": f, "config_type": "toml"}),
        &ctx(),
    );
    assert_eq!(
        msg(&r),
        "No valid [ config_type ] was provided. Valid options are ini, yaml, or json."
    );
}

#[test]
fn config_template_json_yaml() {
    let d = tmp();
    let f = p(&d, "c.json");
    // {"changed": true, "checksum": "695325844e9518625e5e3febb47f6594887f4826", "size": 187, ...}
    let r = run(
        "config_template",
        json!({"content": "{\"a\": {\"b\": [1, 2]}, \"c\": \"x\", \"u\": \"\\u00e9\"}", "dest": f, "config_type": "json",
               "config_overrides": {"a": {"b": [3], "n": "p,q"}, "d": {"e": true}}}),
        &ctx(),
    );
    assert!(changed(&r));
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        "{\n    \"a\": {\n        \"b\": [\n            3\n        ],\n        \"n\": [\n            \"p\",\n            \"q\"\n        ]\n    },\n    \"c\": \"x\",\n    \"d\": {\n        \"e\": true\n    },\n    \"u\": \"\\u00e9\"\n}"
    );
    assert_eq!(
        r["checksum"],
        json!("695325844e9518625e5e3febb47f6594887f4826")
    );
    // yaml: checksum 5753a5798d4f49059521d125e4d6d9a4c930e397, size 156
    let y = p(&d, "c.yml");
    let r = run(
        "config_template",
        json!({"content": "a:\n  b:\n  - 1\n  - 2\nc: x\nz: \"yes\"\nlist:\n- k: v\n  j: w\n", "dest": y, "config_type": "yaml",
               "config_overrides": {"a": {"b": [3], "n": "p,q"},
                                    "d": {"e": true, "s": "it's: x", "empty": "", "num": "012", "multi": "l1\nl2"}}}),
        &ctx(),
    );
    assert!(changed(&r));
    assert_eq!(
        std::fs::read_to_string(&y).unwrap(),
        "a:\n  b:\n    - 3\n  n:\n    - p\n    - q\nc: x\nd:\n  e: true\n  empty: ''\n  multi:\n    - l1\n    - l2\n  num: '012'\n  s: 'it''s: x'\nlist:\n  - j: w\n    k: v\nz: 'yes'\n"
    );
    assert_eq!(
        r["checksum"],
        json!("5753a5798d4f49059521d125e4d6d9a4c930e397")
    );
    // list_extend: true extends: "a:\n  b:\n    - 1\n    - 3\n"
    let y2 = p(&d, "c2.yml");
    let r = run(
        "config_template",
        json!({"content": "a:\n  b:\n  - 1\n", "dest": y2, "config_type": "yaml", "list_extend": true,
               "config_overrides": {"a": {"b": [3]}}}),
        &check(),
    );
    assert!(changed(&r));
    assert!(!std::path::Path::new(&y2).exists());
    run(
        "config_template",
        json!({"content": "a:\n  b:\n  - 1\n", "dest": y2, "config_type": "yaml", "list_extend": true,
               "config_overrides": {"a": {"b": [3]}}}),
        &ctx(),
    );
    assert_eq!(
        std::fs::read_to_string(&y2).unwrap(),
        "a:\n  b:\n    - 1\n    - 3\n"
    );
}

//! Argument validation: type conversions and Ansible's error wording.
//!
//! Expected messages were obtained from ansible-core 2.21.5 (`/work/main/.venv`) by running
//! the task in a playbook with `ignore_errors: true`, `register: r` and dumping `r` with
//! `to_nice_json`, e.g. `copy: content=x dest=/tmp/x foo=1`.

mod common;
use common::*;
use play_modules::args::{b, i, l, p, s, Spec, Type};
use serde_json::json;

#[test]
fn unsupported_parameter_lists_supported_ones_with_aliases() {
    // oracle (copy: content="x" dest=... foo=1):
    let want = "Unsupported parameters for (ansible.legacy.copy) module: foo. Supported parameters include: _original_basename, attributes, backup, checksum, content, dest, directory_mode, follow, force, group, local_follow, mode, owner, remote_src, selevel, serole, setype, seuser, src, unsafe_writes, validate (attr).";
    let r = run(
        "copy",
        json!({"content": "x", "dest": "/tmp/nowhere/x", "foo": 1}),
        &ctx(),
    );
    assert!(failed(&r));
    assert_eq!(msg(&r), want);
    // copy always runs as ansible.legacy.copy (its action plugin); modules without an action
    // plugin use the name the task wrote. oracle (stat: path=/etc/hosts bogus=1):
    let want = "Unsupported parameters for (stat) module: bogus. Supported parameters include: checksum_algorithm, follow, get_attributes, get_checksum, get_mime, get_selinux_context, path (attr, attributes, checksum, checksum_algo, dest, mime, mime-type, mime_type, name).";
    let r = run("stat", json!({"path": "/etc/hosts", "bogus": 1}), &ctx());
    assert_eq!(msg(&r), want);
    let c = play_modules::ModuleContext {
        module_name: Some("ansible.builtin.stat".into()),
        ..Default::default()
    };
    let r = run("stat", json!({"path": "/etc/hosts", "bogus": 1}), &c);
    assert!(msg(&r).starts_with("Unsupported parameters for (ansible.builtin.stat) module: bogus."));
    // oracle (shell: echo hi, args: {foo: 1}): shell runs the command module
    let want = "Unsupported parameters for (ansible.legacy.command) module: foo. Supported parameters include: _raw_params, _uses_shell, argv, chdir, cmd, creates, executable, expand_argument_vars, removes, stdin, stdin_add_newline, strip_empty_ends.";
    let r = run("shell", json!({"_raw_params": "echo hi", "foo": 1}), &ctx());
    assert_eq!(msg(&r), want);
}

#[test]
fn choices_required_and_exclusive_messages() {
    // oracle: file: path=/x state=bogus
    let r = run("file", json!({"path": "/tmp/x", "state": "bogus"}), &ctx());
    assert_eq!(
        msg(&r),
        "value of state must be one of: absent, directory, file, hard, link, touch, got: bogus"
    );
    // oracle: file: state=touch
    let r = run("file", json!({"state": "touch"}), &ctx());
    assert_eq!(msg(&r), "missing required arguments: path");
    // oracle: command with argv and cmd
    let r = run(
        "command",
        json!({"argv": ["echo", "a"], "cmd": "echo b"}),
        &ctx(),
    );
    assert_eq!(
        msg(&r),
        "parameters are mutually exclusive: _raw_params|cmd|argv"
    );
    // oracle: lineinfile regexp + search_string; insertafter + insertbefore
    let r = run(
        "lineinfile",
        json!({"path": "/tmp/x", "regexp": "x", "search_string": "y", "line": "z"}),
        &ctx(),
    );
    assert_eq!(
        msg(&r),
        "parameters are mutually exclusive: regexp|search_string"
    );
    let r = run(
        "lineinfile",
        json!({"path": "/tmp/x", "line": "z", "insertafter": "x", "insertbefore": "y"}),
        &ctx(),
    );
    assert_eq!(
        msg(&r),
        "parameters are mutually exclusive: insertbefore|insertafter"
    );
    assert_eq!(r["changed"], json!(false));
    assert!(failed(&r));
}

#[test]
fn type_conversions() {
    let spec = Spec::new(vec![
        b("flag"),
        b("other"),
        i("count"),
        l("items"),
        l("nums").elements(Type::Str),
        p("where"),
        s("name"),
    ]);
    let v = spec
        .validate(
            "m",
            &args(json!({"flag": "yes", "other": "Off", "count": "42", "items": "a,b,c", "nums": [1, 2], "where": "~/x", "name": 5})),
        )
        .unwrap();
    assert_eq!(v.get("flag"), Some(&json!(true)));
    assert_eq!(v.get("other"), Some(&json!(false)));
    assert_eq!(v.get("count"), Some(&json!(42)));
    assert_eq!(v.get("items"), Some(&json!(["a", "b", "c"])));
    assert_eq!(v.get("nums"), Some(&json!(["1", "2"])));
    let home = std::env::var("HOME").unwrap();
    assert_eq!(v.str("where"), Some(format!("{home}/x").as_str()));
    assert_eq!(v.str("name"), Some("5"));
    for t in ["1", "on", "TRUE", "y", "t"] {
        assert_eq!(
            spec.validate("m", &args(json!({"flag": t})))
                .unwrap()
                .get("flag"),
            Some(&json!(true)),
            "{t}"
        );
    }
    for t in ["0", "no", "false", "n", "f", "off"] {
        assert_eq!(
            spec.validate("m", &args(json!({"flag": t})))
                .unwrap()
                .get("flag"),
            Some(&json!(false)),
            "{t}"
        );
    }
    // int from "1.0" works in Ansible (Decimal), "1.5" and "abc" do not
    assert_eq!(
        spec.validate("m", &args(json!({"count": "1.0"})))
            .unwrap()
            .get("count"),
        Some(&json!(1))
    );
    let e = spec
        .validate("m", &args(json!({"count": "abc"})))
        .unwrap_err();
    assert_eq!(e, "argument 'count' is of type str and we were unable to convert to int: \"'abc'\" cannot be converted to an int");
    let e = spec
        .validate("m", &args(json!({"flag": "maybe"})))
        .unwrap_err();
    assert!(e.starts_with("argument 'flag' is of type str and we were unable to convert to bool: The value 'maybe' is not a valid boolean."), "{e}");
    // unset options are present as null
    let v = spec.validate("m", &args(json!({}))).unwrap();
    assert_eq!(v.map.get("flag"), Some(&json!(null)));
}

#[test]
fn aliases_and_defaults() {
    let spec = Spec::new(vec![
        p("path").required().aliases(&["dest", "name"]),
        s("state")
            .default("present")
            .choices(&["present", "absent"]),
    ]);
    let v = spec.validate("m", &args(json!({"dest": "/a"}))).unwrap();
    assert_eq!(v.str("path"), Some("/a"));
    assert_eq!(v.str("state"), Some("present"));
    // a YAML boolean given to a str option with choices maps back when unambiguous
    let spec2 = Spec::new(vec![s("x").choices(&["yes", "no", "maybe"])]);
    assert_eq!(
        spec2
            .validate("m", &args(json!({"x": true})))
            .unwrap()
            .str("x"),
        Some("yes")
    );
}

#[test]
fn required_one_of_together_if() {
    let spec = Spec::new(vec![s("a"), s("b"), s("c"), s("state")])
        .one_of(&["a", "b"])
        .together(&["b", "c"])
        .required_if("state", "on", &["a"], false);
    // required_together is checked before required_one_of, as in ansible-core
    assert_eq!(
        spec.validate("m", &args(json!({"c": "1"}))).unwrap_err(),
        "parameters are required together: b, c"
    );
    assert_eq!(
        spec.validate("m", &args(json!({}))).unwrap_err(),
        "one of the following is required: a, b"
    );
    assert_eq!(
        spec.validate("m", &args(json!({"b": "1"}))).unwrap_err(),
        "parameters are required together: b, c"
    );
    assert_eq!(
        spec.validate("m", &args(json!({"b": "1", "c": "2", "state": "on"})))
            .unwrap_err(),
        "state is on but all of the following are missing: a"
    );
    assert!(spec.validate("m", &args(json!({"a": "1"}))).is_ok());
}

#[test]
fn internal_ansible_keys_are_ignored() {
    let r = run(
        "ping",
        json!({"_ansible_check_mode": false, "_ansible_verbosity": 0}),
        &ctx(),
    );
    assert_eq!(r["ping"], json!("pong"));
}

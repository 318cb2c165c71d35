//! command, shell, raw. Oracle values from ansible-core 2.21.5, registered results dumped
//! with `to_nice_json` (playbook tasks `command: echo hi there`, `command: /bin/false`,
//! `shell: echo $HOME; echo err >&2; exit 3`, `raw: echo raw`, ...).

mod common;
use common::*;
use serde_json::json;

const CMD_KEYS: &[&str] = &[
    "changed",
    "cmd",
    "delta",
    "end",
    "msg",
    "rc",
    "start",
    "stderr",
    "stderr_lines",
    "stdout",
    "stdout_lines",
];

fn is_datetime(v: &serde_json::Value) -> bool {
    // "2026-11-22 00:14:48.366868"
    let s = v.as_str().unwrap_or("");
    s.len() == 26 && &s[4..5] == "-" && &s[10..11] == " " && &s[19..20] == "."
}

#[test]
fn command_runs_and_reports_like_ansible() {
    // oracle k1: {"changed": true, "cmd": ["echo", "hi", "there"], "delta": "0:00:00.007026",
    //  "end": "...", "msg": "", "rc": 0, "start": "...", "stderr": "", "stderr_lines": [],
    //  "stdout": "hi there", "stdout_lines": ["hi there"]}
    let r = run("command", json!({"_raw_params": "echo hi there"}), &ctx());
    assert_keys(&r, CMD_KEYS);
    assert_eq!(r["cmd"], json!(["echo", "hi", "there"]));
    assert_eq!(r["stdout"], json!("hi there"));
    assert_eq!(r["stdout_lines"], json!(["hi there"]));
    assert_eq!(r["rc"], json!(0));
    assert_eq!(r["msg"], json!(""));
    assert!(changed(&r));
    assert!(is_datetime(&r["start"]) && is_datetime(&r["end"]));
    assert!(r["delta"].as_str().unwrap().starts_with("0:00:0"));
}

#[test]
fn command_nonzero_rc_fails() {
    // oracle k2: msg "The command exited with a non-zero return code.", rc 1, changed true, failed
    let r = run("command", json!({"_raw_params": "/bin/false"}), &ctx());
    assert_keys(&r, &[CMD_KEYS, &["failed"]].concat());
    assert!(failed(&r) && changed(&r));
    assert_eq!(r["rc"], json!(1));
    assert_eq!(msg(&r), "The command exited with a non-zero return code.");
}

#[test]
fn command_stdin_and_argv() {
    // oracle k3: cmd: cat, stdin: abc -> stdout "abc", cmd ["cat"]
    let r = run("command", json!({"cmd": "cat", "stdin": "abc"}), &ctx());
    assert_eq!(r["stdout"], json!("abc"));
    assert_eq!(r["cmd"], json!(["cat"]));
    let r = run(
        "command",
        json!({"cmd": "cat", "stdin": "abc", "stdin_add_newline": false, "strip_empty_ends": false}),
        &ctx(),
    );
    assert_eq!(r["stdout"], json!("abc"));
    let r = run(
        "command",
        json!({"cmd": "cat", "stdin": "abc", "strip_empty_ends": false}),
        &ctx(),
    );
    assert_eq!(r["stdout"], json!("abc\n"));
    let r = run(
        "command",
        json!({"argv": ["printf", "%s|", "a b", "c"]}),
        &ctx(),
    );
    assert_eq!(r["stdout"], json!("a b|c|"));
    assert_eq!(r["cmd"], json!(["printf", "%s|", "a b", "c"]));
    // quoting as shlex does
    let r = run(
        "command",
        json!({"_raw_params": "printf '%s-' \"x y\" z"}),
        &ctx(),
    );
    assert_eq!(r["stdout"], json!("x y-z-"));
}

#[test]
fn command_creates_removes_and_chdir() {
    // oracle k4: {"changed": false, "cmd": ["echo", "x"], "delta": null, "end": null,
    //  "msg": "Did not run command since '/etc/hosts' exists", "rc": 0, "start": null,
    //  "stdout": "skipped, since /etc/hosts exists", "stdout_lines": [...], "stderr": "", ...}
    let r = run(
        "command",
        json!({"_raw_params": "echo x", "creates": "/etc/hosts"}),
        &ctx(),
    );
    assert_keys(&r, CMD_KEYS);
    assert!(!changed(&r));
    assert_eq!(msg(&r), "Did not run command since '/etc/hosts' exists");
    assert_eq!(r["stdout"], json!("skipped, since /etc/hosts exists"));
    assert_eq!(r["start"], json!(null));
    assert_eq!(r["rc"], json!(0));
    let r = run(
        "command",
        json!({"_raw_params": "echo x", "removes": "/nonexistent/zzz"}),
        &ctx(),
    );
    assert_eq!(
        msg(&r),
        "Did not run command since '/nonexistent/zzz' does not exist"
    );
    let r = run(
        "command",
        json!({"_raw_params": "echo x", "creates": "/etc/host*"}),
        &ctx(),
    );
    assert!(!changed(&r), "creates takes a glob");
    let r = run(
        "command",
        json!({"_raw_params": "pwd", "chdir": "/tmp"}),
        &ctx(),
    );
    assert_eq!(r["stdout"], json!("/tmp"));
    let r = run(
        "command",
        json!({"_raw_params": "pwd", "chdir": "/nonexistent/dir"}),
        &ctx(),
    );
    assert!(failed(&r));
    assert_eq!(msg(&r), "Unable to change directory before execution.");
}

#[test]
fn command_check_mode_skips() {
    // oracle k7 (check_mode): {"changed": false, "cmd": ["echo", "a"], "delta": null, "end": null,
    //  "msg": "Command would have run if not in check mode", "rc": 0, "skipped": true, "start": null,
    //  "stderr": "", "stderr_lines": [], "stdout": "", "stdout_lines": []}
    let r = run(
        "command",
        json!({"_raw_params": "echo a", "chdir": "/tmp"}),
        &check(),
    );
    assert_keys(&r, &[CMD_KEYS, &["skipped"]].concat());
    assert_eq!(r["skipped"], json!(true));
    assert!(!changed(&r));
    assert_eq!(msg(&r), "Command would have run if not in check mode");
    assert_eq!(r["stdout"], json!(""));
    // with creates given, check mode reports the change instead
    let d = tmp();
    let r = run(
        "command",
        json!({"_raw_params": "touch x", "creates": p(&d, "x")}),
        &check(),
    );
    assert!(changed(&r));
    assert!(!r.contains_key("skipped"));
}

#[test]
fn command_missing_binary() {
    // oracle k5: {"changed": false, "cmd": "/nonexistent/bin", "failed": true,
    //  "msg": "Error executing command.", "rc": 2, "stderr": "", "stderr_lines": [], "stdout": "", "stdout_lines": []}
    let r = run(
        "command",
        json!({"_raw_params": "/nonexistent/bin"}),
        &ctx(),
    );
    assert_keys(
        &r,
        &[
            "changed",
            "cmd",
            "failed",
            "msg",
            "rc",
            "stderr",
            "stderr_lines",
            "stdout",
            "stdout_lines",
        ],
    );
    assert_eq!(r["cmd"], json!("/nonexistent/bin"));
    assert_eq!(r["rc"], json!(2));
    assert_eq!(msg(&r), "Error executing command.");
}

#[test]
fn command_requires_a_command() {
    let r = run("command", json!({"chdir": "/tmp"}), &ctx());
    assert_eq!(
        msg(&r),
        "one of the following is required: _raw_params, cmd, argv"
    );
}

#[test]
fn shell_uses_sh() {
    // oracle h1: {"changed": true, "cmd": "echo $HOME; echo err >&2; exit 3", "failed": true,
    //  "msg": "The command exited with a non-zero return code.", "rc": 3, "stderr": "err",
    //  "stderr_lines": ["err"], "stdout": "/root", "stdout_lines": ["/root"], start/end/delta}
    let r = run(
        "shell",
        json!({"_raw_params": "echo $HOME; echo err >&2; exit 3"}),
        &ctx(),
    );
    assert_keys(&r, &[CMD_KEYS, &["failed"]].concat());
    assert_eq!(r["cmd"], json!("echo $HOME; echo err >&2; exit 3"));
    assert_eq!(r["rc"], json!(3));
    assert_eq!(r["stderr"], json!("err"));
    assert_eq!(r["stdout"], json!(std::env::var("HOME").unwrap()));
    let r = run(
        "shell",
        json!({"_raw_params": "echo $0", "executable": "/bin/bash"}),
        &ctx(),
    );
    assert_eq!(r["stdout"], json!("/bin/bash"));
    // the task environment reaches the command
    let c = play_modules::ModuleContext {
        environment: vec![("PLAY_X".into(), "42".into())],
        ..Default::default()
    };
    let r = run("shell", json!({"_raw_params": "echo $PLAY_X"}), &c);
    assert_eq!(r["stdout"], json!("42"));
}

#[test]
fn raw_keeps_output_untrimmed() {
    // oracle r1: {"changed": true, "rc": 0, "stderr": "", "stderr_lines": [], "stdout": "raw\n", "stdout_lines": ["raw"]}
    let r = run("raw", json!({"_raw_params": "echo raw"}), &ctx());
    assert_keys(
        &r,
        &[
            "changed",
            "rc",
            "stderr",
            "stderr_lines",
            "stdout",
            "stdout_lines",
        ],
    );
    assert_eq!(r["stdout"], json!("raw\n"));
    assert_eq!(r["stdout_lines"], json!(["raw"]));
    assert!(changed(&r));
    // oracle r2: {"changed": true, "failed": true, "msg": "non-zero return code", "rc": 2, ...}
    let r = run("raw", json!({"_raw_params": "exit 2"}), &ctx());
    assert_keys(
        &r,
        &[
            "changed",
            "failed",
            "msg",
            "rc",
            "stderr",
            "stderr_lines",
            "stdout",
            "stdout_lines",
        ],
    );
    assert_eq!(msg(&r), "non-zero return code");
    assert_eq!(r["rc"], json!(2));
    // check mode: Ansible's raw action only says skipped
    let r = run("raw", json!({"_raw_params": "echo raw"}), &check());
    assert_eq!(r["skipped"], json!(true));
    assert!(!changed(&r));
}

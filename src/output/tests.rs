//! Event sequences fed to the callbacks, compared with what ansible-playbook 2.21.5 printed
//! for the playbooks quoted in each test (stdout not a terminal, so 79 columns, no colour).

use super::default::DefaultCallback;
use super::display::Capture;
use super::json::JsonCallback;
use super::*;
use serde_json::json;

/// A callback writing into buffers, with the events it was fed.
struct Harness<C> {
    cb: C,
    out: Capture,
    err: Capture,
}

fn default_cb(opts: OutputOptions) -> Harness<DefaultCallback> {
    let (out, err) = (Capture::new(), Capture::new());
    let cb = DefaultCallback::with_writers(opts, Box::new(out.clone()), Box::new(err.clone()));
    Harness { cb, out, err }
}

fn verbose(v: u8) -> OutputOptions {
    OutputOptions {
        verbosity: v,
        ..Default::default()
    }
}

fn task(name: &str, action: &str, path: &str) -> TaskInfo {
    TaskInfo {
        name: name.into(),
        action: action.into(),
        path: path.into(),
        ..Default::default()
    }
}

fn res(host: &str, status: Status, v: Value) -> RunnerResult {
    RunnerResult {
        host: host.into(),
        delegated_to: None,
        status,
        result: v.as_object().cloned().unwrap_or_default(),
        item: None,
        ignored: false,
    }
}

fn play(name: &str) -> PlayInfo {
    PlayInfo {
        name: name.into(),
        hosts_pattern: name.into(),
        strategy: "linear".into(),
        ..Default::default()
    }
}

fn stats(hosts: &[(&str, [u32; 7])]) -> Stats {
    let mut s = Stats::default();
    for (h, [ok, changed, unreachable, failures, skipped, rescued, ignored]) in hosts {
        s.hosts.insert(
            h.to_string(),
            HostStats {
                ok: *ok,
                changed: *changed,
                unreachable: *unreachable,
                failures: *failures,
                skipped: *skipped,
                rescued: *rescued,
                ignored: *ignored,
            },
        );
    }
    s
}

const ERR_FALSE: &str =
    "Task failed: Module failed: The command exited with a non-zero return code.\n\
Origin: /tmp/outcb.k7/p1.yml:17:7\n\n15       loop: [1, 2]\n16       when: item == 2\n\
17     - name: fail ignored\n         ^ column 7\n";

/// Feeds the events of this playbook (p1.yml), as the engine would send them:
///
/// ```yaml
/// - name: First play
///   hosts: localhost
///   gather_facts: false
///   tasks:
///     - name: say hi
///       debug: {msg: hello}
///     - name: cmd
///       command: echo hi
///     - name: skip me
///       debug: msg=x
///       when: false
///     - name: loop skip
///       debug: msg={{item}}
///       loop: [1, 2]
///       when: item == 2
///     - name: fail ignored
///       command: /bin/false
///       ignore_errors: true
///     - name: nolog loop
///       command: echo {{item}}
///       loop: [1]
///       no_log: true
/// ```
fn feed_p1<C: Callback>(cb: &mut C, times: [(&str, &str, &str); 2]) {
    let p = "/tmp/outcb.k7/p1.yml";
    cb.play_start_info(&play("First play"));

    let t = task("say hi", "debug", &format!("{p}:5"));
    cb.task_start(&t);
    cb.runner_result(
        &t,
        &res(
            "localhost",
            Status::Ok,
            json!({"msg": "hello", "_ansible_verbose_always": true, "changed": false}),
        ),
    );

    let t = task("cmd", "command", &format!("{p}:8"));
    cb.task_start(&t);
    let (delta, end, start) = times[0];
    cb.runner_result(
        &t,
        &res(
            "localhost",
            Status::Changed,
            json!({"changed": true, "cmd": ["echo", "hi"], "delta": delta, "end": end, "msg": "", "rc": 0,
                   "start": start, "stderr": "", "stderr_lines": [], "stdout": "hi", "stdout_lines": ["hi"],
                   "invocation": {"module_args": {"_raw_params": "echo hi"}}, "_ansible_no_log": false}),
        ),
    );

    let t = task("skip me", "debug", &format!("{p}:10"));
    cb.task_start(&t);
    cb.runner_result(
        &t,
        &res(
            "localhost",
            Status::Skipped,
            json!({"changed": false, "false_condition": false,
             "skip_reason": "Conditional result was False", "skipped": true}),
        ),
    );

    let mut t = task("loop skip", "debug", &format!("{p}:13"));
    t.is_loop = true;
    cb.task_start(&t);
    let i1 = json!({"_ansible_item_label": 1, "ansible_loop_var": "item", "changed": false,
                    "false_condition": "item == 2", "item": 1, "skip_reason": "Conditional result was False", "skipped": true});
    let i2 = json!({"_ansible_item_label": 2, "_ansible_verbose_always": true, "ansible_loop_var": "item",
                    "changed": false, "item": 2, "msg": 2});
    cb.item_result(&t, &res("localhost", Status::Skipped, i1.clone()));
    cb.item_result(&t, &res("localhost", Status::Ok, i2.clone()));
    cb.runner_result(
        &t,
        &res(
            "localhost",
            Status::Ok,
            json!({"changed": false, "msg": "All items completed", "results": [i1, i2]}),
        ),
    );

    let t = task("fail ignored", "command", &format!("{p}:17"));
    cb.task_start(&t);
    let (delta, end, start) = times[1];
    let mut r = res(
        "localhost",
        Status::Failed,
        json!({"changed": true, "cmd": ["/bin/false"], "delta": delta, "end": end,
               "msg": "The command exited with a non-zero return code.", "rc": 1, "start": start, "stderr": "",
               "stderr_lines": [], "stdout": "", "stdout_lines": [], "failed": true,
               "exception": "(traceback unavailable)", ERROR_TEXT_KEY: ERR_FALSE}),
    );
    r.result.shift_remove("failed");
    r.ignored = true;
    cb.runner_result(&t, &r);

    let mut t = task("nolog loop", "command", &format!("{p}:20"));
    t.is_loop = true;
    t.no_log = true;
    cb.task_start(&t);
    let censored = json!({"_ansible_no_log": true, "changed": true,
        "censored": "the output has been hidden due to the fact that 'no_log: true' was specified for this result"});
    cb.item_result(&t, &res("localhost", Status::Changed, censored.clone()));
    cb.runner_result(
        &t,
        &res(
            "localhost",
            Status::Changed,
            json!({"changed": true, "results": [censored]}),
        ),
    );

    cb.stats(&stats(&[("localhost", [5, 3, 0, 0, 1, 0, 1])]));
}

#[test]
fn p1_default_verbosity() {
    let mut h = default_cb(OutputOptions::default());
    feed_p1(
        &mut h.cb,
        [
            (
                "0:00:00.004106",
                "2026-11-22 00:15:20.070970",
                "2026-11-22 00:15:20.066864",
            ),
            (
                "0:00:00.003931",
                "2026-11-22 00:15:15.344007",
                "2026-11-22 00:15:15.340076",
            ),
        ],
    );
    let want = r#"
PLAY [First play] **************************************************************

TASK [say hi] ******************************************************************
ok: [localhost] => {
    "msg": "hello"
}

TASK [cmd] *********************************************************************
changed: [localhost]

TASK [skip me] *****************************************************************
skipping: [localhost]

TASK [loop skip] ***************************************************************
skipping: [localhost] => (item=1) 
ok: [localhost] => (item=2) => {
    "msg": 2
}

TASK [fail ignored] ************************************************************
[ERROR]: Task failed: Module failed: The command exited with a non-zero return code.
Origin: /tmp/outcb.k7/p1.yml:17:7

15       loop: [1, 2]
16       when: item == 2
17     - name: fail ignored
         ^ column 7

fatal: [localhost]: FAILED! => {"changed": true, "cmd": ["/bin/false"], "delta": "0:00:00.003931", "end": "2026-11-22 00:15:15.344007", "msg": "The command exited with a non-zero return code.", "rc": 1, "start": "2026-11-22 00:15:15.340076", "stderr": "", "stderr_lines": [], "stdout": "", "stdout_lines": []}
...ignoring

TASK [nolog loop] **************************************************************
changed: [localhost] => (item=(censored due to no_log))

PLAY RECAP *********************************************************************
localhost                  : ok=5    changed=3    unreachable=0    failed=0    skipped=1    rescued=0    ignored=1   

"#;
    assert_eq!(h.out.text(), want);
    assert_eq!(h.err.text(), "");
}

#[test]
fn p1_verbose_and_vv() {
    // `ansible-playbook p1.yml -v` (minus the CLI's "No config file found" line).
    let mut h = default_cb(verbose(1));
    let times = [
        (
            "0:00:00.003992",
            "2026-11-22 00:15:16.984834",
            "2026-11-22 00:15:16.980842",
        ),
        (
            "0:00:00.003899",
            "2026-11-22 00:15:17.337574",
            "2026-11-22 00:15:17.333675",
        ),
    ];
    feed_p1(&mut h.cb, times);
    let out = h.out.text();
    for line in [
        "changed: [localhost] => {\"changed\": true, \"cmd\": [\"echo\", \"hi\"], \"delta\": \"0:00:00.003992\", \"end\": \"2026-11-22 00:15:16.984834\", \"msg\": \"\", \"rc\": 0, \"start\": \"2026-11-22 00:15:16.980842\", \"stderr\": \"\", \"stderr_lines\": [], \"stdout\": \"hi\", \"stdout_lines\": [\"hi\"]}\n",
        "TASK [skip me] *****************************************************************\nskipping: [localhost] => {\"false_condition\": false}\n",
        "skipping: [localhost] => (item=1)  => {\"false_condition\": \"item == 2\", \"item\": 1}\nok: [localhost] => (item=2) => {\n    \"msg\": 2\n}\n",
        "changed: [localhost] => (item=(censored due to no_log)) => {\"censored\": \"the output has been hidden due to the fact that 'no_log: true' was specified for this result\", \"changed\": true}\n",
    ] {
        assert!(out.contains(line), "missing {line:?} in\n{out}");
    }

    // -vv adds the PLAYBOOK banner and a `task path:` line under each banner.
    let mut h = default_cb(verbose(2));
    h.cb.playbook_start("/tmp/outcb.k7/p1.yml");
    h.cb.verbose(2, "1 plays in p1.yml");
    feed_p1(&mut h.cb, times);
    let out = h.out.text();
    assert!(out.starts_with(
        "\nPLAYBOOK: p1.yml ***************************************************************\n1 plays in p1.yml\n\nPLAY [First play] **************************************************************\n\nTASK [say hi] ******************************************************************\ntask path: /tmp/outcb.k7/p1.yml:5\nok: [localhost] => {\n"
    ), "{out}");
}

#[test]
fn p1_vvv_indents_everything() {
    // `ansible-playbook p1.yml -vvv`: every dump indented; debug still narrowed.
    let mut h = default_cb(verbose(3));
    feed_p1(
        &mut h.cb,
        [
            (
                "0:00:00.004296",
                "2026-11-22 00:15:21.610275",
                "2026-11-22 00:15:21.605979",
            ),
            (
                "0:00:00.003936",
                "2026-11-22 00:15:21.920932",
                "2026-11-22 00:15:21.916996",
            ),
        ],
    );
    let out = h.out.text();
    assert!(out.contains("TASK [skip me] *****************************************************************\ntask path: /tmp/outcb.k7/p1.yml:10\nskipping: [localhost] => {\n    \"false_condition\": false\n}\n"), "{out}");
    assert!(out.contains("skipping: [localhost] => (item=1)  => {\n    \"false_condition\": \"item == 2\",\n    \"item\": 1\n}\n"));
    assert!(out.contains("changed: [localhost] => (item=(censored due to no_log)) => {\n    \"censored\": \"the output has been hidden due to the fact that 'no_log: true' was specified for this result\",\n    \"changed\": true\n}\n"));
    // invocation is kept from -vvv on.
    assert!(out.contains("    \"invocation\": {\n        \"module_args\": {\n            \"_raw_params\": \"echo hi\"\n        }\n    },\n"));
}

/// p2.yml on an inventory with `localhost` (local) and `down` (127.0.0.1:1):
///
/// ```yaml
/// - name: Second
///   hosts: web
///   gather_facts: false
///   tasks:
///     - {name: ping, ping: }
///     - {name: notify, command: echo x, notify: hdl}
///     - include_tasks: inc.yml
///     - include_tasks: inc.yml
///       loop: [a, b]
///     - name: retry
///       command: /bin/false
///       register: r
///       until: r.rc == 0
///       retries: 2
///       delay: 0
///       ignore_errors: true
///     - {name: deleg, command: echo d, delegate_to: 127.0.0.1}
///     - block:
///         - fail: msg=inblock
///       rescue:
///         - debug: msg=rescued
///   handlers:
///     - {name: hdl, debug: msg=handled}
/// - hosts: nomatch
///   tasks:
///     - debug: msg=x
/// ```
#[test]
fn p2_unreachable_includes_retries_delegation_handlers() {
    let mut h = default_cb(OutputOptions::default());
    let cb = &mut h.cb;
    let p = "/tmp/outcb.k7/p2.yml";
    cb.play_start_info(&play("Second"));

    let t = task("ping", "ping", &format!("{p}:5"));
    cb.task_start(&t);
    let msg = "Task failed: Failed to connect to the host via ssh: ssh: connect to host 127.0.0.1 port 1: Connection refused";
    let err = format!("{msg}\nOrigin: {p}:5:7\n\n3   gather_facts: false\n4   tasks:\n5     - name: ping\n        ^ column 7\n");
    cb.runner_result(
        &t,
        &res(
            "down",
            Status::Unreachable,
            json!({"changed": false, "msg": msg, "unreachable": true, ERROR_TEXT_KEY: err}),
        ),
    );
    cb.runner_result(
        &t,
        &res(
            "localhost",
            Status::Ok,
            json!({"changed": false, "ping": "pong"}),
        ),
    );

    let t = task("notify", "command", &format!("{p}:7"));
    cb.task_start(&t);
    cb.runner_result(
        &t,
        &res("localhost", Status::Changed, json!({"changed": true})),
    );
    cb.handler_notified("hdl", "localhost"); // shown only from -vv on

    let t = task("include_tasks", "include_tasks", &format!("{p}:10"));
    cb.task_start(&t);
    cb.runner_result(
        &t,
        &res("localhost", Status::Ok, json!({"include": "inc.yml"})),
    );
    cb.include("/tmp/outcb.k7/inc.yml", &["localhost".into()], None);
    let d = task("debug", "debug", "/tmp/outcb.k7/inc.yml:1");
    cb.task_start(&d);
    cb.runner_result(
        &d,
        &res(
            "localhost",
            Status::Ok,
            json!({"msg": "inc none", "_ansible_verbose_always": true}),
        ),
    );

    let mut t = task("include_tasks", "include_tasks", &format!("{p}:11"));
    t.is_loop = true;
    cb.task_start(&t);
    cb.include(
        "/tmp/outcb.k7/inc.yml",
        &["localhost".into()],
        Some(&json!("a")),
    );
    cb.include(
        "/tmp/outcb.k7/inc.yml",
        &["localhost".into()],
        Some(&json!("b")),
    );
    for m in ["inc a", "inc b"] {
        cb.task_start(&d);
        cb.runner_result(
            &d,
            &res(
                "localhost",
                Status::Ok,
                json!({"msg": m, "_ansible_verbose_always": true}),
            ),
        );
    }

    let t = task("retry", "command", &format!("{p}:13"));
    cb.task_start(&t);
    cb.retry(&t, "localhost", 1, &Map::new());
    cb.retry(&t, "localhost", 0, &Map::new());
    let err = format!(
        "Task failed: Module failed: The command exited with a non-zero return code.\nOrigin: {p}:13:7\n\n11     - include_tasks: inc.yml\n12       loop: [a, b]\n13     - name: retry\n         ^ column 7\n"
    );
    let mut r = res(
        "localhost",
        Status::Failed,
        json!({"attempts": 2, "changed": true, "cmd": ["/bin/false"], "delta": "0:00:00.003438",
               "end": "2026-11-22 00:15:42.389484", "msg": "The command exited with a non-zero return code.",
               "rc": 1, "start": "2026-11-22 00:15:42.386046", "stderr": "", "stderr_lines": [], "stdout": "",
               "stdout_lines": [], ERROR_TEXT_KEY: err}),
    );
    r.ignored = true;
    cb.runner_result(&t, &r);

    let t = task("deleg", "command", &format!("{p}:20"));
    cb.task_start(&t);
    let mut r = res("localhost", Status::Changed, json!({"changed": true}));
    r.delegated_to = Some("127.0.0.1".into());
    cb.runner_result(&t, &r);

    let t = task("fail", "fail", &format!("{p}:24"));
    cb.task_start(&t);
    let err = format!("Task failed: Action failed: inblock\nOrigin: {p}:24:11\n\n22       delegate_to: 127.0.0.1\n23     - block:\n24         - fail: msg=inblock\n             ^ column 11\n");
    cb.runner_result(
        &t,
        &res(
            "localhost",
            Status::Failed,
            json!({"changed": false, "msg": "inblock", ERROR_TEXT_KEY: err}),
        ),
    );
    let t = task("debug", "debug", &format!("{p}:26"));
    cb.task_start(&t);
    cb.runner_result(
        &t,
        &res(
            "localhost",
            Status::Ok,
            json!({"msg": "rescued", "_ansible_verbose_always": true}),
        ),
    );

    let mut t = task("hdl", "debug", &format!("{p}:30"));
    t.is_handler = true;
    cb.handler_task_start(&t);
    cb.runner_result(
        &t,
        &res(
            "localhost",
            Status::Ok,
            json!({"msg": "handled", "_ansible_verbose_always": true}),
        ),
    );

    cb.warning("Could not match supplied host pattern, ignoring: nomatch");
    cb.play_start_info(&play("nomatch"));
    cb.no_hosts_matched();
    cb.stats(&stats(&[
        ("localhost", [13, 3, 0, 0, 0, 1, 1]),
        ("down", [0, 0, 1, 0, 0, 0, 0]),
    ]));

    let want = r#"
PLAY [Second] ******************************************************************

TASK [ping] ********************************************************************
[ERROR]: Task failed: Failed to connect to the host via ssh: ssh: connect to host 127.0.0.1 port 1: Connection refused
Origin: /tmp/outcb.k7/p2.yml:5:7

3   gather_facts: false
4   tasks:
5     - name: ping
        ^ column 7

fatal: [down]: UNREACHABLE! => {"changed": false, "msg": "Task failed: Failed to connect to the host via ssh: ssh: connect to host 127.0.0.1 port 1: Connection refused", "unreachable": true}
ok: [localhost]

TASK [notify] ******************************************************************
changed: [localhost]

TASK [include_tasks] ***********************************************************
included: /tmp/outcb.k7/inc.yml for localhost

TASK [debug] *******************************************************************
ok: [localhost] => {
    "msg": "inc none"
}

TASK [include_tasks] ***********************************************************
included: /tmp/outcb.k7/inc.yml for localhost => (item=a)
included: /tmp/outcb.k7/inc.yml for localhost => (item=b)

TASK [debug] *******************************************************************
ok: [localhost] => {
    "msg": "inc a"
}

TASK [debug] *******************************************************************
ok: [localhost] => {
    "msg": "inc b"
}

TASK [retry] *******************************************************************
FAILED - RETRYING: [localhost]: retry (1 retries left).
FAILED - RETRYING: [localhost]: retry (0 retries left).
[ERROR]: Task failed: Module failed: The command exited with a non-zero return code.
Origin: /tmp/outcb.k7/p2.yml:13:7

11     - include_tasks: inc.yml
12       loop: [a, b]
13     - name: retry
         ^ column 7

fatal: [localhost]: FAILED! => {"attempts": 2, "changed": true, "cmd": ["/bin/false"], "delta": "0:00:00.003438", "end": "2026-11-22 00:15:42.389484", "msg": "The command exited with a non-zero return code.", "rc": 1, "start": "2026-11-22 00:15:42.386046", "stderr": "", "stderr_lines": [], "stdout": "", "stdout_lines": []}
...ignoring

TASK [deleg] *******************************************************************
changed: [localhost -> 127.0.0.1]

TASK [fail] ********************************************************************
[ERROR]: Task failed: Action failed: inblock
Origin: /tmp/outcb.k7/p2.yml:24:11

22       delegate_to: 127.0.0.1
23     - block:
24         - fail: msg=inblock
             ^ column 11

fatal: [localhost]: FAILED! => {"changed": false, "msg": "inblock"}

TASK [debug] *******************************************************************
ok: [localhost] => {
    "msg": "rescued"
}

RUNNING HANDLER [hdl] **********************************************************
ok: [localhost] => {
    "msg": "handled"
}

PLAY [nomatch] *****************************************************************
skipping: no hosts matched

PLAY RECAP *********************************************************************
down                       : ok=0    changed=0    unreachable=1    failed=0    skipped=0    rescued=0    ignored=0   
localhost                  : ok=13   changed=3    unreachable=0    failed=0    skipped=0    rescued=1    ignored=1   

"#;
    assert_eq!(h.out.text(), want);
    assert_eq!(
        h.err.text(),
        "[WARNING]: Could not match supplied host pattern, ignoring: nomatch\n"
    );
}

/// p4.yml with ANSIBLE_DISPLAY_SKIPPED_HOSTS=false ANSIBLE_DISPLAY_OK_HOSTS=false: banners
/// appear only above a result that is shown.
#[test]
fn hidden_ok_and_skipped_make_banners_lazy() {
    let mut h = default_cb(OutputOptions {
        display_ok_hosts: false,
        display_skipped_hosts: false,
        ..Default::default()
    });
    let cb = &mut h.cb;
    let p = "/tmp/outcb.k7/p4.yml";
    cb.play_start_info(&play("localhost"));
    let t = task("say", "debug", &format!("{p}:4"));
    cb.task_start(&t);
    cb.runner_result(
        &t,
        &res(
            "localhost",
            Status::Ok,
            json!({"msg": "x", "_ansible_verbose_always": true}),
        ),
    );
    let t = task("skipped only", "debug", &format!("{p}:11"));
    cb.task_start(&t);
    cb.runner_result(
        &t,
        &res("localhost", Status::Skipped, json!({"skipped": true})),
    );
    let mut t = task("changed item only", "debug", &format!("{p}:19"));
    t.is_loop = true;
    cb.task_start(&t);
    let i1 = json!({"msg": "x", "item": 1, "changed": false, "_ansible_verbose_always": true});
    let i2 = json!({"msg": "x", "item": 2, "changed": true, "_ansible_verbose_always": true});
    cb.item_result(&t, &res("localhost", Status::Ok, i1.clone()));
    cb.item_result(&t, &res("localhost", Status::Changed, i2.clone()));
    cb.runner_result(
        &t,
        &res(
            "localhost",
            Status::Changed,
            json!({"changed": true, "results": [i1, i2]}),
        ),
    );
    cb.stats(&stats(&[("localhost", [8, 1, 0, 0, 2, 0, 1])]));
    assert_eq!(
        h.out.text(),
        r#"
PLAY [localhost] ***************************************************************

TASK [changed item only] *******************************************************
changed: [localhost] => (item=2) => {
    "msg": "x"
}

PLAY RECAP *********************************************************************
localhost                  : ok=8    changed=1    unreachable=0    failed=0    skipped=2    rescued=0    ignored=1   

"#
    );
}

/// p3.yml with --check --diff, ANSIBLE_CHECK_MODE_MARKERS=1 and ANSIBLE_SHOW_CUSTOM_STATS=1:
/// a copy (diff of file text), a loop of copies (one diff per item) and set_stats.
#[test]
fn check_mode_diff_and_custom_stats() {
    let opts = OutputOptions {
        check_mode_markers: true,
        show_custom_stats: true,
        diff: true,
        ..Default::default()
    };
    let mut h = default_cb(opts.clone());
    let x = CallbackExtras {
        check: true,
        ..Default::default()
    };
    let d = super::display::Display::new(Box::new(h.out.clone()), Box::new(h.err.clone()));
    h.cb = DefaultCallback::with_display(opts, x, d);
    let cb = &mut h.cb;
    cb.playbook_start("p3.yml");
    cb.play_start_info(&PlayInfo {
        check_mode: true,
        ..play("localhost")
    });
    let mut t = task("copy", "copy", "/tmp/outcb.k7/p3.yml:4");
    t.check_mode = true;
    cb.task_start(&t);
    let r = res(
        "localhost",
        Status::Changed,
        json!({"changed": true, "diff": {"before": "line1\nline2\nline3\n", "after": "line1\nlineX\nline3\nnew",
               "before_header": "/tmp/outcb.k7/dst.txt", "after_header": "/tmp/outcb.k7/dst.txt"}}),
    );
    cb.file_diff(&t, &r);
    cb.runner_result(&t, &r);
    let mut t = task("copy", "copy", "/tmp/outcb.k7/p3.yml:10");
    t.check_mode = true;
    t.is_loop = true;
    cb.task_start(&t);
    let mut items = Vec::new();
    for n in [1, 2] {
        let mut r = res(
            "localhost",
            Status::Changed,
            json!({"changed": true, "item": n, "diff": {"before": "", "after": format!("c{n}\n"),
                   "after_header": format!("/tmp/outcb.k7/l{n}.txt")}}),
        );
        r.item = Some(json!(n));
        cb.file_diff(&t, &r);
        cb.item_result(&t, &r);
        items.push(Value::Object(r.result));
    }
    cb.runner_result(
        &t,
        &res(
            "localhost",
            Status::Changed,
            json!({"changed": true, "results": items}),
        ),
    );
    cb.custom_stats(
        json!({"localhost": {"bar": [1, 2]}, "_run": {"foo": 1}})
            .as_object()
            .unwrap(),
    );
    cb.stats(&stats(&[("localhost", [5, 3, 0, 0, 0, 0, 0])]));
    assert_eq!(
        h.out.text(),
        "
DRY RUN ************************************************************************

PLAY [localhost] [CHECK MODE] **************************************************

TASK [copy] [CHECK MODE] *******************************************************
--- before: /tmp/outcb.k7/dst.txt
+++ after: /tmp/outcb.k7/dst.txt
@@ -1,3 +1,4 @@
 line1
-line2
+lineX
 line3
+new
\\ No newline at end of file

changed: [localhost]

TASK [copy] [CHECK MODE] *******************************************************
--- before
+++ after: /tmp/outcb.k7/l1.txt
@@ -0,0 +1 @@
+c1

changed: [localhost] => (item=1)
--- before
+++ after: /tmp/outcb.k7/l2.txt
@@ -0,0 +1 @@
+c2

changed: [localhost] => (item=2)

PLAY RECAP *********************************************************************
localhost                  : ok=5    changed=3    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0   


CUSTOM STATS: ******************************************************************
\tlocalhost: { \"bar\": [  1,  2 ]}

\tRUN: { \"foo\": 1}


DRY RUN ************************************************************************
"
    );
}

#[test]
fn recap_in_colour_pads_the_coloured_host() {
    // Checked against ansible.utils.color.hostcolor/colorize with ANSIBLE_COLOR on.
    // On a terminal (colours on), hostcolor pads the escape-wrapped name to 37 characters and
    // non-zero counters are coloured.
    let mut h = default_cb(OutputOptions::default());
    let (out, err) = (h.out.clone(), h.err.clone());
    let mut d = super::display::Display::new(Box::new(out), Box::new(err));
    d.color = true;
    h.cb = DefaultCallback::with_display(OutputOptions::default(), CallbackExtras::default(), d);
    h.cb.stats(&stats(&[("web1", [2, 1, 0, 0, 0, 0, 0])]));
    assert_eq!(
        h.out.text(),
        "\nPLAY RECAP *********************************************************************\n\
         \x1b[0;33mweb1\x1b[0m                       : \x1b[0;32mok=2   \x1b[0m \x1b[0;33mchanged=1   \x1b[0m unreachable=0    failed=0    skipped=0    rescued=0    ignored=0   \n\n"
    );
}

#[test]
fn no_more_hosts_and_failed_items_and_all_skipped_loop() {
    let mut h = default_cb(OutputOptions::default());
    let cb = &mut h.cb;
    cb.play_start_info(&play("p"));
    let mut t = task("fail item", "command", "x.yml:1");
    t.is_loop = true;
    cb.task_start(&t);
    let mut r = res(
        "localhost",
        Status::Failed,
        json!({"ansible_loop_var": "item", "item": "/bin/false", "rc": 1, "changed": true}),
    );
    r.item = Some(json!("/bin/false"));
    cb.item_result(&t, &r);
    let mut agg = res(
        "localhost",
        Status::Failed,
        json!({"changed": true, "failed": true, "msg": "One or more items failed", "results": []}),
    );
    agg.ignored = true;
    cb.runner_result(&t, &agg);
    let mut t = task("all skipped", "command", "x.yml:5");
    t.is_loop = true;
    cb.task_start(&t);
    cb.item_result(
        &t,
        &res(
            "localhost",
            Status::Skipped,
            json!({"item": 1, "skipped": true}),
        ),
    );
    cb.runner_result(
        &t,
        &res(
            "localhost",
            Status::Skipped,
            json!({"skipped": true, "results": [], "msg": "All items skipped"}),
        ),
    );
    cb.no_hosts_remaining();
    assert_eq!(
        h.out.text(),
        "\nPLAY [p] ***********************************************************************\n\n\
         TASK [fail item] ***************************************************************\n\
         failed: [localhost] (item=/bin/false) => {\"ansible_loop_var\": \"item\", \"changed\": true, \"item\": \"/bin/false\", \"rc\": 1}\n\
         ...ignoring\n\n\
         TASK [all skipped] *************************************************************\n\
         skipping: [localhost] => (item=1) \n\
         skipping: [localhost]\n\n\
         NO MORE HOSTS LEFT *************************************************************\n"
    );
}

#[test]
fn roles_prefix_task_names() {
    let mut h = default_cb(OutputOptions::default());
    let mut t = task("role task", "debug", "roles/r1/tasks/main.yml:1");
    t.role = Some("r1".into());
    h.cb.play_start_info(&play("p"));
    h.cb.task_start(&t);
    h.cb.retry(&t, "h1", 3, &Map::new());
    assert!(h.out.text().ends_with(
        "TASK [r1 : role task] **********************************************************\nFAILED - RETRYING: [h1]: r1 : role task (3 retries left).\n"
    ));
}

/// The json callback for p1.yml: `ANSIBLE_STDOUT_CALLBACK=json ansible-playbook p1.yml`, with
/// the ids and times replaced by fixed ones.
#[test]
fn json_callback_structure() {
    let (out, err) = (Capture::new(), Capture::new());
    let mut cb = JsonCallback::with_writers(
        OutputOptions::default(),
        Box::new(out.clone()),
        Box::new(err.clone()),
    );
    let mut n = 0;
    let mut ids = 0;
    cb.set_sources(
        Box::new(move || {
            n += 1;
            format!("T{n}")
        }),
        Box::new(move || {
            ids += 1;
            format!("id-{ids}")
        }),
    );
    cb.play_start_info(&PlayInfo {
        path: "/tmp/p.yml:1".into(),
        ..play("First play")
    });
    let t = task("say hi", "debug", "/tmp/p.yml:5");
    cb.task_start(&t);
    cb.runner_result(
        &t,
        &res(
            "localhost",
            Status::Ok,
            json!({"msg": "héllo", "_ansible_verbose_always": true, "changed": false}),
        ),
    );
    let t = task("skip me", "debug", "/tmp/p.yml:10");
    cb.task_start(&t);
    cb.runner_result(
        &t,
        &res(
            "localhost",
            Status::Skipped,
            json!({"changed": false, "skip_reason": "Conditional result was False"}),
        ),
    );
    let t = task("fail", "fail", "/tmp/p.yml:12");
    cb.task_start(&t);
    cb.runner_result(
        &t,
        &res(
            "localhost",
            Status::Failed,
            json!({"changed": false, "msg": "boom", ERROR_TEXT_KEY: "Task failed"}),
        ),
    );
    cb.stats(&stats(&[("localhost", [1, 0, 0, 1, 1, 0, 0])]));
    let want = r#"{
    "custom_stats": {},
    "global_custom_stats": {},
    "plays": [
        {
            "play": {
                "duration": {
                    "end": "T7",
                    "start": "T1"
                },
                "id": "id-1",
                "name": "First play",
                "path": "/tmp/p.yml:1"
            },
            "tasks": [
                {
                    "hosts": {
                        "localhost": {
                            "_ansible_verbose_always": true,
                            "action": "debug",
                            "changed": false,
                            "msg": "h\u00e9llo"
                        }
                    },
                    "task": {
                        "duration": {
                            "end": "T3",
                            "start": "T2"
                        },
                        "id": "id-2",
                        "name": "say hi",
                        "path": "/tmp/p.yml:5"
                    }
                },
                {
                    "hosts": {
                        "localhost": {
                            "action": "debug",
                            "changed": false,
                            "skip_reason": "Conditional result was False",
                            "skipped": true
                        }
                    },
                    "task": {
                        "duration": {
                            "end": "T5",
                            "start": "T4"
                        },
                        "id": "id-3",
                        "name": "skip me",
                        "path": "/tmp/p.yml:10"
                    }
                },
                {
                    "hosts": {
                        "localhost": {
                            "action": "fail",
                            "changed": false,
                            "failed": true,
                            "msg": "boom"
                        }
                    },
                    "task": {
                        "duration": {
                            "end": "T7",
                            "start": "T6"
                        },
                        "id": "id-4",
                        "name": "fail",
                        "path": "/tmp/p.yml:12"
                    }
                }
            ]
        }
    ],
    "stats": {
        "localhost": {
            "changed": 0,
            "failures": 1,
            "ignored": 0,
            "ok": 1,
            "rescued": 0,
            "skipped": 1,
            "unreachable": 0
        }
    }
}
"#;
    assert_eq!(out.text(), want);
}

#[test]
fn json_timestamps_and_ids() {
    use std::time::{Duration, UNIX_EPOCH};
    // python3: datetime.datetime.utcfromtimestamp(1795306475.043203).isoformat() + 'Z'
    let t = UNIX_EPOCH + Duration::from_micros(1_795_306_475_043_203);
    assert_eq!(json::utc_timestamp(t), "2026-11-22T00:14:35.043203Z");
    assert_eq!(
        json::utc_timestamp(UNIX_EPOCH + Duration::from_secs(951_782_400)),
        "2000-02-29T00:00:00Z"
    );
    let id = json::uuid4();
    assert_eq!(id.len(), 36);
    assert_eq!(&id[14..15], "4");
    assert_ne!(id, json::uuid4());
}

//! cron with a cron_file in a temp dir: jobs, special times, disabled jobs, env lines,
//! removal, check mode and diff.

mod common;
use common::*;
use serde_json::json;

#[test]
fn cron_file_jobs_and_envs() {
    let d = tmp();
    let f = d.path().join("play-test");
    let fs = f.display().to_string();
    let r = run(
        "cron",
        json!({"name": "job1", "minute": "5", "job": "echo hi", "cron_file": fs, "user": "root"}),
        &check(),
    );
    assert!(changed(&r), "{r:?}");
    assert!(!f.exists());
    let r = run(
        "cron",
        json!({"name": "job1", "minute": "5", "job": "echo hi", "cron_file": fs, "user": "root"}),
        &ctx(),
    );
    assert_eq!(
        r,
        args(json!({"changed": true, "envs": [], "jobs": ["job1"]}))
    );
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        "#Ansible: job1\n5 * * * * root echo hi\n"
    );
    let r = run(
        "cron",
        json!({"name": "job1", "minute": "5", "job": "echo hi", "cron_file": fs, "user": "root"}),
        &ctx(),
    );
    assert!(!changed(&r));
    let r = run(
        "cron",
        json!({"name": "job2", "special_time": "reboot", "job": "echo b", "cron_file": fs, "user": "root", "disabled": true}),
        &ctx(),
    );
    assert_eq!(r["jobs"], json!(["job1", "job2"]));
    let r = run(
        "cron",
        json!({"name": "PATH", "env": true, "job": "/bin", "cron_file": fs, "user": "root"}),
        &diff(),
    );
    assert_eq!(r["envs"], json!(["PATH"]));
    assert_eq!(r["diff"]["after"], json!("PATH=\"/bin\"\n#Ansible: job1\n5 * * * * root echo hi\n#Ansible: job2\n#@reboot root echo b\n"));
    let r = run(
        "cron",
        json!({"name": "job1", "minute": "7", "job": "echo hi", "cron_file": fs, "user": "root"}),
        &ctx(),
    );
    assert!(changed(&r));
    assert!(std::fs::read_to_string(&f)
        .unwrap()
        .contains("\n7 * * * * root echo hi\n"));
    let r = run(
        "cron",
        json!({"name": "job1", "state": "absent", "cron_file": fs}),
        &ctx(),
    );
    assert_eq!(
        r,
        args(json!({"changed": true, "envs": ["PATH"], "jobs": ["job2"]}))
    );
    let r = run(
        "cron",
        json!({"name": "job1", "state": "absent", "cron_file": fs}),
        &ctx(),
    );
    assert!(!changed(&r));
    let r = run(
        "cron",
        json!({"name": "job3", "job": "x", "cron_file": fs}),
        &ctx(),
    );
    assert_eq!(
        msg(&r),
        "To use cron_file=... parameter you must specify user=... as well"
    );
    let r = run("cron", json!({"state": "absent", "cron_file": fs}), &ctx());
    assert!(changed(&r));
    assert!(!f.exists());
    let r = run("cron", json!({"name": "x", "bogus": 1}), &ctx());
    assert_eq!(msg(&r), "Unsupported parameters for (cron) module: bogus. Supported parameters include: backup, cron_file, day, disabled, env, hour, insertafter, insertbefore, job, minute, month, name, special_time, state, user, weekday (dom, dow, value).");
}

#[test]
fn user_crontab_needs_crontab() {
    if play_modules::run(
        "command",
        &args(json!({"_raw_params": "which crontab"})),
        &ctx(),
    )["rc"]
        == json!(0)
    {
        return;
    }
    let r = run("cron", json!({"name": "job9", "job": "echo"}), &ctx());
    assert!(
        msg(&r).starts_with("Failed to find required executable \"crontab\""),
        "{r:?}"
    );
}

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
        args(json!({"changed": true, "cron_file": fs, "envs": [], "jobs": ["job1"]}))
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
        args(json!({"changed": true, "cron_file": fs, "envs": ["PATH"], "jobs": ["job2"]}))
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
    // oracle: name is required, even to remove
    let r = run("cron", json!({"state": "absent", "cron_file": fs}), &ctx());
    assert_eq!(msg(&r), "missing required arguments: name");
    let r = run(
        "cron",
        json!({"name": "PATH", "env": true, "state": "absent", "cron_file": fs}),
        &ctx(),
    );
    assert!(changed(&r));
    // the last job out takes the file with it: {changed, cron_file, state, diff}
    let r = run(
        "cron",
        json!({"name": "job2", "state": "absent", "cron_file": fs}),
        &ctx(),
    );
    assert_eq!(
        r,
        args(json!({"changed": true, "cron_file": fs, "diff": {}, "state": "absent"}))
    );
    assert!(!f.exists());
    let r = run("cron", json!({"name": "x", "bogus": 1}), &ctx());
    assert_eq!(msg(&r), "Unsupported parameters for (cron) module: bogus. Supported parameters include: backup, cron_file, day, disabled, env, hour, insertafter, insertbefore, job, minute, month, name, special_time, state, user, weekday (dom, dow, value).");
}

#[test]
fn user_crontab_in_check_mode() {
    let have_crontab = play_modules::run(
        "command",
        &args(json!({"_raw_params": "which crontab"})),
        &ctx(),
    )["rc"]
        == json!(0);
    let r = run(
        "cron",
        json!({"name": "play-test-job9", "job": "echo", "user": "root"}),
        &check_diff(),
    );
    if !have_crontab {
        assert!(
            msg(&r).starts_with("Failed to find required executable \"crontab\""),
            "{r:?}"
        );
        return;
    }
    // check mode reports the new job with the user's header and changes nothing
    assert!(changed(&r), "{r:?}");
    assert_eq!(
        r["diff"]["after_header"],
        json!("crontab for user \"root\"")
    );
    assert!(r["diff"]["after"]
        .as_str()
        .unwrap()
        .ends_with("#Ansible: play-test-job9\n* * * * * echo\n"));
    let listed = play_modules::run(
        "command",
        &args(json!({"_raw_params": "crontab -l -u root"})),
        &ctx(),
    );
    assert!(!listed["stdout"]
        .as_str()
        .unwrap_or("")
        .contains("play-test-job9"));
}

//! service / sysvinit / systemd / service_facts on a host without systemd as PID 1,
//! with a real init script. Oracle results (ansible-core 2.21.5) on this host:
//! service started -> {changed, name, state: started}; restarted+enabled -> state
//! "started", enabled true; sysvinit -> status.{enabled,<state>}.{changed,rc,stderr,stdout};
//! systemd state change -> "Service is in unknown state"; service_facts -> sysv entries.

mod common;
use common::*;
use serde_json::json;

const SCRIPT: &str = r#"#!/bin/sh
### BEGIN INIT INFO
# Provides:          play-test-svc
# Required-Start:
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: play test service
### END INIT INFO
PIDF=/tmp/play-test-svc.pid
case "$1" in
  start) [ -f $PIDF ] && kill -0 $(cat $PIDF) 2>/dev/null && exit 0; (sleep 100000 >/dev/null 2>&1 & echo $! > $PIDF); echo started;;
  stop) [ -f $PIDF ] && kill $(cat $PIDF) 2>/dev/null; rm -f $PIDF; echo stopped;;
  restart) $0 stop; $0 start;;
  status) [ -f $PIDF ] && kill -0 $(cat $PIDF) 2>/dev/null && { echo running; exit 0; }; echo "not running"; exit 3;;
  *) echo "Usage: $0 {start|stop|restart|status}"; exit 1;;
esac
"#;

fn running() -> bool {
    std::process::Command::new("/etc/init.d/play-test-svc")
        .arg("status")
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn s_links() -> bool {
    std::fs::read_dir("/etc/rc2.d").unwrap().flatten().any(|e| {
        let n = e.file_name().to_string_lossy().into_owned();
        n.starts_with('S') && n.ends_with("play-test-svc")
    })
}

#[test]
fn sysv_services() {
    if unsafe { libc::getuid() } != 0
        || std::path::Path::new("/run/systemd/system").exists()
        || !std::path::Path::new("/usr/sbin/update-rc.d").exists()
    {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::write("/etc/init.d/play-test-svc", SCRIPT).unwrap();
    std::fs::set_permissions(
        "/etc/init.d/play-test-svc",
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let _ = std::process::Command::new("/etc/init.d/play-test-svc")
        .arg("stop")
        .output();

    let r = run(
        "service",
        json!({"name": "play-test-svc", "state": "started"}),
        &check(),
    );
    assert!(changed(&r));
    assert!(!running());
    let r = run(
        "service",
        json!({"name": "play-test-svc", "state": "started"}),
        &ctx(),
    );
    assert_eq!(
        r,
        args(json!({"changed": true, "name": "play-test-svc", "state": "started"}))
    );
    assert!(running());
    let r = run(
        "ansible.builtin.service",
        json!({"name": "play-test-svc", "state": "started"}),
        &ctx(),
    );
    assert_eq!(
        r,
        args(json!({"changed": false, "name": "play-test-svc", "state": "started"}))
    );

    let r = run(
        "service",
        json!({"name": "play-test-svc", "state": "restarted", "enabled": true}),
        &ctx(),
    );
    assert_eq!(
        r,
        args(
            json!({"changed": true, "enabled": true, "name": "play-test-svc", "state": "started"})
        )
    );
    assert!(s_links());
    let r = run(
        "service",
        json!({"name": "play-test-svc", "enabled": true}),
        &ctx(),
    );
    assert_eq!(
        r,
        args(json!({"changed": false, "enabled": true, "name": "play-test-svc"}))
    );

    let facts = run("service_facts", json!({}), &ctx());
    assert_eq!(
        facts["ansible_facts"]["services"]["play-test-svc"],
        json!({"name": "play-test-svc", "source": "sysv", "state": "running"})
    );

    let r = run(
        "service",
        json!({"name": "play-test-svc", "state": "stopped", "enabled": false}),
        &ctx(),
    );
    assert_eq!(
        r,
        args(
            json!({"changed": true, "enabled": false, "name": "play-test-svc", "state": "stopped"})
        )
    );
    assert!(!running());
    assert!(!s_links());

    let r = run(
        "sysvinit",
        json!({"name": "play-test-svc", "state": "started"}),
        &ctx(),
    );
    assert!(changed(&r));
    assert_eq!(
        r["status"]["started"],
        json!({"changed": true, "rc": 0, "stderr": "", "stdout": "started\n"})
    );
    assert_eq!(
        r["status"]["enabled"],
        json!({"changed": false, "rc": null, "stderr": null, "stdout": null})
    );
    let r = run(
        "sysvinit",
        json!({"name": "play-test-svc", "state": "stopped"}),
        &ctx(),
    );
    assert_eq!(r["status"]["stopped"]["stdout"], json!("stopped\n"));
    assert!(!running());

    let r = run(
        "systemd",
        json!({"name": "play-test-svc", "state": "started"}),
        &ctx(),
    );
    assert_eq!(msg(&r), "Service is in unknown state");
    assert_eq!(r["status"], json!({}));

    let r = run(
        "service",
        json!({"name": "play-no-such-svc", "state": "started"}),
        &ctx(),
    );
    assert_eq!(
        msg(&r),
        "Could not find the requested service play-no-such-svc: host"
    );
    let r = run("service", json!({"name": "play-test-svc"}), &ctx());
    assert_eq!(msg(&r), "one of the following is required: state, enabled");

    let _ = std::process::Command::new("update-rc.d")
        .args(["-f", "play-test-svc", "remove"])
        .output();
    let _ = std::fs::remove_file("/etc/init.d/play-test-svc");
}

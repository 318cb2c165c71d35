//! ansible.posix.sysctl on a temporary sysctl_file with reload=false (the tests never
//! touch the running kernel). Oracle values from ansible-core 2.21.5 + ansible.posix:
//! `ansible localhost -c local -m ansible.posix.sysctl -a '<json>'`, json callback, in this
//! order on the same starting file; file contents read back with cat.

mod common;
use common::*;
use serde_json::json;

#[test]
fn sysctl_file_sequence() {
    let d = tmp();
    let f = p(&d, "s.conf");
    std::fs::write(
        &f,
        "# c\nvm.swappiness = 10\nkernel.x=1\nvm.swappiness=20\n",
    )
    .unwrap();
    let a = |name: &str, value: &str| json!({"name": name, "value": value, "sysctl_file": f, "reload": false});
    // --check: {"changed": true}, file untouched
    let r = run("ansible.posix.sysctl", a("vm.swappiness", "30"), &check());
    assert_keys(&r, &["changed"]);
    assert!(changed(&r));
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        "# c\nvm.swappiness = 10\nkernel.x=1\nvm.swappiness=20\n"
    );
    // {"changed": true}; duplicates collapse, spaces around = go
    assert!(changed(&run("sysctl", a("vm.swappiness", "30"), &ctx())));
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        "# c\nvm.swappiness=30\nkernel.x=1\n"
    );
    assert!(!changed(&run("sysctl", a("vm.swappiness", "30"), &ctx())));
    // "yes" is written as 1
    assert!(changed(&run("sysctl", a("net.new", "yes"), &ctx())));
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        "# c\nvm.swappiness=30\nkernel.x=1\nnet.new=1\n"
    );
    let r = run(
        "sysctl",
        json!({"name": "kernel.x", "state": "absent", "sysctl_file": f, "reload": false}),
        &ctx(),
    );
    assert!(changed(&r));
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        "# c\nvm.swappiness=30\nnet.new=1\n"
    );
    // {"failed": true, "msg": "state is present but all of the following are missing: value"}
    let r = run(
        "sysctl",
        json!({"name": "kernel.x", "sysctl_file": f, "reload": false}),
        &ctx(),
    );
    assert_eq!(
        msg(&r),
        "state is present but all of the following are missing: value"
    );
    // {"failed": true, "msg": "value cannot be blank"}
    let r = run("sysctl", a("kernel.x", ""), &ctx());
    assert_eq!(msg(&r), "value cannot be blank");
    // sysctl_set in check mode compares with the running value (vm.swappiness is 60 here,
    // the oracle said changed: true); nothing is set in check mode.
    let cur = std::fs::read_to_string("/proc/sys/vm/swappiness").unwrap();
    let other = if cur.trim() == "30" { "31" } else { "30" };
    let mut args = a("vm.swappiness", other);
    args["sysctl_set"] = json!(true);
    std::fs::write(&f, format!("vm.swappiness={other}\n")).unwrap();
    assert!(changed(&run("sysctl", args, &check())));
    assert_eq!(
        std::fs::read_to_string("/proc/sys/vm/swappiness").unwrap(),
        cur
    );
}

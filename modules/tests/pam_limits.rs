//! community.general.pam_limits on a temporary dest. Oracle values from ansible-core
//! 2.21.5 + community.general: `ansible localhost -c local -m community.general.pam_limits
//! -a '<json>'`, json callback, in this order on the same starting file. The blank line
//! after a rewritten commented entry is the module's own behaviour (the old comment keeps
//! its newline).

mod common;
use common::*;
use serde_json::json;

#[test]
fn pam_limits_sequence() {
    let d = tmp();
    let f = p(&d, "l.conf");
    std::fs::write(&f, "# hdr\n* soft nofile 1024 # keep\n@g hard nproc 10\n").unwrap();
    let a = |dom: &str, t: &str, item: &str, v: &str| json!({"domain": dom, "limit_type": t, "limit_item": item, "value": v, "dest": f});
    let after1 = "# hdr\n*\tsoft\tnofile\t4096\t# keep\n\n@g hard nproc 10\n";
    let r = run(
        "community.general.pam_limits",
        a("*", "soft", "nofile", "4096"),
        &ctx(),
    );
    assert_keys(&r, &["changed", "diff", "msg"]);
    assert!(changed(&r));
    assert_eq!(msg(&r), "*\tsoft\tnofile\t4096\t# keep\n\n");
    assert_eq!(
        r["diff"],
        json!({"after": after1, "before": "# hdr\n* soft nofile 1024 # keep\n@g hard nproc 10\n"})
    );
    let r = run("pam_limits", a("*", "soft", "nofile", "4096"), &ctx());
    assert!(!changed(&r));
    assert_eq!(msg(&r), "*\tsoft\tnofile\t4096\t# keep\n");
    // use_max keeps the larger existing value: unchanged, msg is the line
    let mut m = a("@g", "hard", "nproc", "5");
    m["use_max"] = json!(true);
    let r = run("pam_limits", m, &ctx());
    assert!(!changed(&r));
    assert_eq!(msg(&r), "@g hard nproc 10\n");
    // --check with a comment: changed, msg "joe\t-\tnice\t-5\t#c1\n", file untouched
    let mut c = a("joe", "-", "nice", "-5");
    c["comment"] = json!("c1");
    let r = run("pam_limits", c, &check());
    assert!(changed(&r));
    assert_eq!(msg(&r), "joe\t-\tnice\t-5\t#c1\n");
    assert_eq!(std::fs::read_to_string(&f).unwrap(), after1);
    let r = run("pam_limits", a("joe", "-", "nofile", "abc"), &ctx());
    assert_eq!(msg(&r), " Value of 'abc' for item 'nofile' is invalid. Value must either be 'unlimited', 'infinity' or -1, all of which indicate no limit, or a limit of 0 or larger. Refer to the limits.conf(5) manual pages for more details.");
    let nd = p(&d, "new/l.conf");
    let r = run(
        "pam_limits",
        json!({"domain": "joe", "limit_type": "-", "limit_item": "nofile", "value": "1", "dest": nd}),
        &ctx(),
    );
    assert_eq!(
        msg(&r),
        format!(
            "directory {} is not writable (check presence, access rights, use sudo)",
            p(&d, "new")
        )
    );
    let n2 = p(&d, "l2.conf");
    let r = run(
        "pam_limits",
        json!({"domain": "joe", "limit_type": "-", "limit_item": "nofile", "value": "1", "dest": n2}),
        &ctx(),
    );
    assert_eq!(
        r["diff"],
        json!({"after": "joe\t-\tnofile\t1\n", "before": ""})
    );
    assert_eq!(std::fs::read_to_string(&n2).unwrap(), "joe\t-\tnofile\t1\n");
}

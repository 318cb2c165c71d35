//! debconf and dpkg_selections. Oracle (ansible-core 2.21.5):
//! `debconf: name=tzdata question=tzdata/Areas vtype=select value=Europe` in check mode
//! gives changed, current {q: v}, previous {q: old}, msg "", diff {}; without a
//! question: changed false, current = every setting of the package.

mod common;
use common::*;
use serde_json::json;

#[test]
fn debconf_read_and_check_mode_set() {
    if std::process::Command::new("debconf-show")
        .arg("tzdata")
        .output()
        .map(|o| o.stdout.is_empty())
        .unwrap_or(true)
    {
        return;
    }
    let r = run("debconf", json!({"name": "tzdata"}), &ctx());
    assert!(!changed(&r), "{r:?}");
    assert_keys(&r, &["changed", "current", "msg"]);
    let areas = r["current"]["tzdata/Areas"]
        .as_str()
        .expect("tzdata/Areas")
        .to_string();
    let other = if areas == "Europe" { "Asia" } else { "Europe" };
    let r = run(
        "debconf",
        json!({"name": "tzdata", "question": "tzdata/Areas", "vtype": "select", "value": other}),
        &check_diff(),
    );
    assert!(changed(&r), "{r:?}");
    assert_keys(&r, &["changed", "current", "diff", "msg", "previous"]);
    assert_eq!(r["previous"], json!({"tzdata/Areas": areas}));
    assert_eq!(r["current"], json!({"tzdata/Areas": other}));
    assert_eq!(r["diff"]["before"], json!({"tzdata/Areas": areas}));
    // nothing written in check mode
    let r = run(
        "debconf",
        json!({"pkg": "tzdata", "question": "tzdata/Areas", "vtype": "select", "value": areas}),
        &ctx(),
    );
    assert!(!changed(&r), "{r:?}");
}

#[test]
fn debconf_arguments() {
    let r = run(
        "debconf",
        json!({"name": "tzdata", "question": "tzdata/Areas"}),
        &ctx(),
    );
    assert_eq!(
        msg(&r),
        "parameters are required together: question, vtype, value"
    );
    let r = run(
        "debconf",
        json!({"name": "tzdata", "question": "q", "vtype": "nope", "value": "x"}),
        &ctx(),
    );
    assert!(
        msg(&r).starts_with("value of vtype must be one of: boolean, error, multiselect"),
        "{}",
        msg(&r)
    );
}

#[test]
fn dpkg_selections_hold_in_check_mode() {
    let r = run(
        "dpkg_selections",
        json!({"name": "bash", "selection": "hold"}),
        &check(),
    );
    assert!(changed(&r), "{r:?}");
    assert_eq!(r["before"], json!("install"));
    assert_eq!(r["after"], json!("hold"));
    let r = run(
        "dpkg_selections",
        json!({"name": "bash", "selection": "install"}),
        &ctx(),
    );
    assert!(!changed(&r) && !failed(&r), "{r:?}");
    let r = run(
        "dpkg_selections",
        json!({"name": "play-no-such-pkg", "selection": "hold"}),
        &ctx(),
    );
    assert_eq!(
        msg(&r),
        "Failed to find package 'play-no-such-pkg' to perform selection 'hold'."
    );
}

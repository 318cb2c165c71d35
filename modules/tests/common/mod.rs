//! Helpers shared by the module tests.
#![allow(dead_code)]

use play_modules::{Args, ModuleContext, ModuleResult};
use serde_json::Value;
use std::collections::BTreeSet;

pub fn args(v: Value) -> Args {
    v.as_object().expect("object").clone()
}

pub fn ctx() -> ModuleContext {
    ModuleContext::default()
}

pub fn check() -> ModuleContext {
    ModuleContext {
        check_mode: true,
        ..Default::default()
    }
}

pub fn diff() -> ModuleContext {
    ModuleContext {
        diff: true,
        ..Default::default()
    }
}

pub fn check_diff() -> ModuleContext {
    ModuleContext {
        check_mode: true,
        diff: true,
        ..Default::default()
    }
}

pub fn run(name: &str, a: Value, c: &ModuleContext) -> ModuleResult {
    play_modules::run(name, &args(a), c)
}

/// The result's keys, without `failed: false` (which Ansible's registered results carry
/// and our module results may omit) and `invocation`.
pub fn keys(r: &ModuleResult) -> BTreeSet<String> {
    r.keys()
        .filter(|k| {
            k.as_str() != "invocation" && !(k.as_str() == "failed" && r[*k] == Value::Bool(false))
        })
        .cloned()
        .collect()
}

pub fn set(ks: &[&str]) -> BTreeSet<String> {
    ks.iter().map(|s| s.to_string()).collect()
}

pub fn assert_keys(r: &ModuleResult, expected: &[&str]) {
    assert_eq!(
        keys(r),
        set(expected),
        "result: {}",
        serde_json::to_string_pretty(r).unwrap()
    );
}

pub fn failed(r: &ModuleResult) -> bool {
    r.get("failed") == Some(&Value::Bool(true))
}

pub fn changed(r: &ModuleResult) -> bool {
    r.get("changed") == Some(&Value::Bool(true))
}

pub fn msg(r: &ModuleResult) -> &str {
    r.get("msg").and_then(|m| m.as_str()).unwrap_or("")
}

pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

pub fn p(d: &tempfile::TempDir, name: &str) -> String {
    d.path().join(name).display().to_string()
}

pub fn mode_of(path: &str) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

//! `package`: the generic package module. Ansible's action plugin picks the backend from
//! `use` (or the host's `pkg_mgr` fact) and runs that module with the remaining
//! arguments; here the choice is made on the target when `use` is `auto`.

use crate::sysutil::which;
use crate::util::Failure;
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::Value;

/// The package manager of this host, as `ansible_pkg_mgr` names it.
pub fn detect_pkg_mgr() -> Option<&'static str> {
    [
        ("apt-get", "apt"),
        ("dnf5", "dnf5"),
        ("dnf", "dnf"),
        ("yum", "yum"),
        ("zypper", "zypper"),
        ("apk", "apk"),
        ("pacman", "pacman"),
    ]
    .iter()
    .find(|(bin, _)| which(bin).is_some())
    .map(|(_, m)| *m)
}

pub fn run(args: &Args, ctx: &ModuleContext, _m: &str) -> ModuleResult {
    let mut rest = args.clone();
    let want = rest
        .remove("use")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| "auto".into());
    let backend = if want == "auto" {
        match detect_pkg_mgr() {
            Some(b) => b.to_string(),
            None => {
                return Failure::new(
                    "Could not detect which package manager to use. Try gathering facts or setting the \"use\" option.",
                )
                .into_result()
            }
        }
    } else {
        want
    };
    let short = backend
        .strip_prefix("ansible.builtin.")
        .or_else(|| backend.strip_prefix("ansible.legacy."))
        .unwrap_or(&backend)
        .to_string();
    if short == "package" || !crate::names().contains(&short.as_str()) {
        return Failure::new(format!(
            "Could not find a matching action for the \"{short}\" package manager."
        ))
        .into_result();
    }
    let sub = ModuleContext {
        module_name: Some(format!("ansible.legacy.{short}")),
        ..ctx.clone()
    };
    let mut r = crate::run(&short, &rest, &sub);
    r.entry("changed").or_insert(Value::Bool(false));
    r
}

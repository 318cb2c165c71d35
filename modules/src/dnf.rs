//! `dnf` and `yum` (yum is dnf in ansible-core): on hosts without dnf they fail with a
//! clear message instead of trying anything.

use crate::sysutil::which;
use crate::util::Failure;
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::json;

pub fn run(_args: &Args, _ctx: &ModuleContext, m: &str) -> ModuleResult {
    let short = m.rsplit('.').next().unwrap_or(m);
    let mut f = if which("dnf").is_some() || which("dnf5").is_some() {
        Failure::new(format!(
            "The {short} module is not available natively in play; dnf hosts are not supported yet"
        ))
    } else {
        Failure::new(format!(
            "The {short} module is not available on this host: dnf is not installed{}",
            match crate::package::detect_pkg_mgr() {
                Some(p) => format!(" (this host's package manager is {p})"),
                None => String::new(),
            }
        ))
    };
    if let Some(pm) = crate::package::detect_pkg_mgr() {
        f = f.with("ansible_facts", json!({"pkg_mgr": pm}));
    }
    f.into_result()
}

//! `rpm_key`: needs rpm; on hosts without it, fails as Ansible's does (rpm not found),
//! saying the module is not available on this host.

use crate::args::{b, s, Spec};
use crate::sysutil::{module, which};
use crate::util::Failure;
use crate::{Args, ModuleContext, ModuleResult};

fn spec() -> Spec {
    Spec::new(vec![
        s("key").required(),
        s("state")
            .default("present")
            .choices(&["absent", "present"]),
        b("validate_certs").default(true),
        s("fingerprint"),
    ])
}

pub fn run(args: &Args, ctx: &ModuleContext, m: &str) -> ModuleResult {
    module(spec(), args, ctx, m, |_p, _c| {
        if which("rpm").is_none() {
            return Err(Failure::new(format!(
                "The rpm_key module is not available on this host: Failed to find required executable \"rpm\" in paths: {}",
                std::env::var("PATH").unwrap_or_default()
            )));
        }
        Err(Failure::new(
            "The rpm_key module is not available natively in play on rpm hosts yet",
        ))
    })
}

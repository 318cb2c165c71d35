//! `rpm_key`: needs rpm; on hosts without it, fails as Ansible's does (rpm not found).

use crate::args::{b, s, Spec};
use crate::sysutil::{module, need};
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
        need("rpm")?;
        Err(Failure::new(
            "The rpm_key module is not available natively in play on rpm hosts yet",
        ))
    })
}

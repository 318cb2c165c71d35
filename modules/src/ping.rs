//! `ping`: returns `pong` (or `data`); `data=crash` fails as Ansible's raises.

use crate::args::{s, Spec};
use crate::util::Failure;
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::json;

pub fn run(args: &Args, _ctx: &ModuleContext, module: &str) -> ModuleResult {
    let params = match Spec::new(vec![s("data").default("pong")]).validate(module, args) {
        Ok(p) => p,
        Err(e) => return Failure::new(e).into_result(),
    };
    let data = params.string("data").unwrap_or_default();
    if data == "crash" {
        return Failure::new("Task failed: Module failed: boom")
            .with("exception", "Exception: boom")
            .into_result();
    }
    let mut r = ModuleResult::new();
    r.insert("changed".into(), json!(false));
    r.insert("ping".into(), json!(data));
    r
}

//! `connection: local`: the module runs in the controller's process.

use play_modules::{Args, ModuleContext, ModuleResult};

/// Run a native module here and return its Ansible-shaped result.
pub fn run_module(
    name: &str,
    args: &serde_json::Map<String, serde_json::Value>,
    ctx: &ModuleContext,
) -> ModuleResult {
    let args: Args = args.clone();
    play_modules::run(name, &args, ctx)
}

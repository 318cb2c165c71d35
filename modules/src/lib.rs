//! Native implementations of Ansible modules. This crate is the code that runs on the target
//! (inside the agent, or in-process for `connection: local`); it knows nothing of playbooks.
//!
//! Every module takes Ansible's arguments as a JSON object and returns Ansible's result
//! object (`changed`, `failed`, `msg`, `rc`, `diff`, ...).

use serde_json::{Map, Value};
use std::path::PathBuf;

pub mod args;

/// A module's arguments, already templated by the controller.
pub type Args = Map<String, Value>;
/// A module's result, shaped as Ansible's.
pub type ModuleResult = Map<String, Value>;

/// What the controller tells a module besides its arguments.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct ModuleContext {
    pub check_mode: bool,
    pub diff: bool,
    /// The task's `environment:` on top of the agent's own.
    pub environment: Vec<(String, String)>,
    /// A private directory for temporary files (remote_tmp).
    pub tmpdir: Option<PathBuf>,
    /// Where local facts live (fact_path), for `setup`.
    pub fact_path: Option<PathBuf>,
}

/// Run a module by its short name (`copy`, not `ansible.builtin.copy`).
/// Unknown names give a failed result, never a panic.
pub fn run(name: &str, args: &Args, ctx: &ModuleContext) -> ModuleResult {
    let mut r = ModuleResult::new();
    r.insert("failed".into(), Value::Bool(true));
    r.insert("msg".into(), Value::String(format!("The module {name} is not available natively")));
    let _ = (args, ctx);
    r
}

/// The short names of every module this crate implements.
pub fn names() -> &'static [&'static str] {
    &[]
}

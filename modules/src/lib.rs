//! Native implementations of Ansible modules. This crate is the code that runs on the target
//! (inside the agent, or in-process for `connection: local`); it knows nothing of playbooks.
//!
//! Every module takes Ansible's arguments as a JSON object and returns Ansible's result
//! object (`changed`, `failed`, `msg`, `rc`, `diff`, ...).
//!
//! The registry is [`run`]: one line per module, each pointing at a function in the
//! module's own file. Arguments are validated by [`args::Spec`] with ansible-core's
//! conversions and error messages.
//!
//! Conventions between the controller and these modules:
//! - free-form arguments arrive as `_raw_params` (`command: echo hi`), as Ansible's do;
//!   `shell` is `command` with `_uses_shell` implied;
//! - `copy` takes the controller's file as `_play_src` (base64) with `_original_basename`;
//!   `content` with `_original_basename` (what `template` sends) may target a directory;
//!   `mode: preserve` uses `_play_src_mode` (the source's mode, e.g. "0755") when given;
//! - `setup` returns facts in `ansible_facts` *without* the `ansible_` prefix;
//! - keys starting with `_ansible_` are ignored;
//! - results carry Ansible's keys as the registered variable shows them (e.g. copy's
//!   `diff` is a list, command's `stdout_lines` are included).

use serde_json::{Map, Value};
use std::path::PathBuf;

pub mod args;
pub mod command;
pub mod copy;
pub mod file;
pub mod host;
pub mod lineinfile;
pub mod ping;
pub mod setup;
pub mod slurp;
pub mod stat;
pub mod util;
// package and system modules
pub mod alternatives;
pub mod apt;
pub mod apt_key;
pub mod apt_repository;
pub mod cron;
pub mod deb822_repository;
pub mod debconf;
pub mod dnf;
pub mod dpkg_selections;
pub mod git;
pub mod group;
pub mod hostname;
pub mod iptables;
pub mod locale_gen;
pub mod modprobe;
pub mod mount;
pub mod package;
pub mod package_facts;
pub mod pip;
pub mod rpm_key;
pub mod service;
pub mod service_facts;
pub mod systemd;
pub mod sysutil;
pub mod timezone;
pub mod user;
// end package and system modules
// text, network and archive modules (blockinfile .. config_template)
pub mod assemble;
pub mod async_job;
pub mod authorized_key;
pub mod blockinfile;
pub mod config_template;
pub mod expect;
pub mod find;
pub mod get_url;
pub mod getent;
pub mod ini_file;
pub mod known_hosts;
pub mod pam_limits;
pub mod replace;
pub mod sysctl;
pub mod temp_file;
pub mod unarchive;
pub mod uri;
pub mod wait_for;

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
    /// The host's `ansible_python_interpreter`, for `setup`'s `python` facts (the Python
    /// Ansible would run its modules with; play's modules need none).
    #[serde(default)]
    pub python_interpreter: Option<String>,
    /// The module name as the task wrote it (`stat`, `ansible.builtin.stat`), for argument
    /// errors ("Unsupported parameters for (stat) module"). When unset, the short name is
    /// used. copy, assemble, unarchive, uri, command and shell always report
    /// `ansible.legacy.<module>` (`.command` for shell), as their action plugins do.
    #[serde(default)]
    pub module_name: Option<String>,
}

impl ModuleContext {
    /// The name in "Unsupported parameters for (NAME) module": modules behind an action
    /// plugin are run as `ansible.legacy.<module>` (shell runs command); the others under
    /// the name the task used.
    pub(crate) fn display_name(&self, name: &str) -> String {
        match name {
            "copy" => "ansible.legacy.copy".into(),
            "assemble" => "ansible.legacy.assemble".into(),
            "unarchive" => "ansible.legacy.unarchive".into(),
            "uri" => "ansible.legacy.uri".into(),
            "command" | "shell" => "ansible.legacy.command".into(),
            _ => self.module_name.clone().unwrap_or_else(|| name.to_string()),
        }
    }
}

/// A module name without the `ansible.builtin.`/`ansible.legacy.` prefix.
pub fn short_name(name: &str) -> &str {
    name.strip_prefix("ansible.builtin.")
        .or_else(|| name.strip_prefix("ansible.legacy."))
        .unwrap_or(name)
}

/// Run a module by its short name (`copy`, not `ansible.builtin.copy`).
/// Unknown names give a failed result, never a panic.
pub fn run(name: &str, args: &Args, ctx: &ModuleContext) -> ModuleResult {
    let short = short_name(name);
    let m = ctx.display_name(short);
    let local = &host::Local;
    let mut r = match short {
        "command" => command::command(local, args, ctx, &m, false),
        "shell" => command::command(local, args, ctx, &m, true),
        "raw" => command::raw(local, args, ctx, &m),
        "stat" => stat::run(args, ctx, &m),
        "file" => file::run(args, ctx, &m),
        "copy" => copy::run(args, ctx, &m),
        "lineinfile" => lineinfile::run(args, ctx, &m),
        "slurp" => slurp::run(local, args, ctx, &m),
        "async_status" => async_job::status(args, ctx, &m),
        "expect" => expect::run(args, ctx, &m),
        "async_wrapper" => async_job::wrapper(args, ctx),
        "ping" => ping::run(args, ctx, &m),
        "setup" | "gather_facts" => setup::run(args, ctx, &m),
        // package and system modules
        "apt" => apt::run_apt(args, ctx, &m),
        "apt_key" => apt_key::run_module(args, ctx, &m),
        "apt_repository" => apt_repository::run_module(args, ctx, &m),
        "deb822_repository" => deb822_repository::run_module(args, ctx, &m),
        "debconf" => debconf::run_module(args, ctx, &m),
        "dnf" | "dnf5" | "yum" => dnf::run(args, ctx, &m),
        "dpkg_selections" => dpkg_selections::run_module(args, ctx, &m),
        "package" => package::run(args, ctx, &m),
        "package_facts" => package_facts::run_module(args, ctx, &m),
        "pip" => pip::run_module(args, ctx, &m),
        "rpm_key" => rpm_key::run(args, ctx, &m),
        "group" => group::run_module(args, ctx, &m),
        "user" => user::run_module(args, ctx, &m),
        "cron" => cron::run_module(args, ctx, &m),
        "git" => git::run_module(args, ctx, &m),
        "hostname" => hostname::run_module(args, ctx, &m),
        "iptables" => iptables::run_module(args, ctx, &m),
        "mount" | "ansible.posix.mount" => mount::run_module(args, ctx, &m),
        "timezone" | "community.general.timezone" => timezone::run_module(args, ctx, &m),
        "locale_gen" | "community.general.locale_gen" => locale_gen::run_module(args, ctx, &m),
        "modprobe" | "community.general.modprobe" => modprobe::run_module(args, ctx, &m),
        "alternatives" | "community.general.alternatives" => {
            alternatives::run_module(args, ctx, &m)
        }
        "service" => service::run_service(args, ctx, &m),
        "sysvinit" => service::run_sysvinit(args, ctx, &m),
        "service_facts" => service_facts::run_module(args, ctx, &m),
        "systemd" | "systemd_service" => systemd::run_module(args, ctx, &m),
        // end package and system modules
        // text, network and archive modules (blockinfile .. config_template)
        "blockinfile" => blockinfile::run(args, ctx, &m),
        "replace" => replace::run(args, ctx, &m),
        "ini_file" | "community.general.ini_file" => ini_file::run(args, ctx, &m),
        "find" => find::run(args, ctx, &m),
        "tempfile" => temp_file::run(args, ctx, &m),
        "getent" => getent::run(args, ctx, &m),
        "uri" => uri::run(args, ctx, &m),
        "get_url" => get_url::run(args, ctx, &m),
        "wait_for" => wait_for::run(args, ctx, &m),
        "sysctl" | "ansible.posix.sysctl" => sysctl::run(args, ctx, &m),
        "pam_limits" | "community.general.pam_limits" => pam_limits::run(args, ctx, &m),
        "unarchive" => unarchive::run(args, ctx, &m),
        "assemble" => assemble::run(args, ctx, &m),
        "known_hosts" => known_hosts::run(args, ctx, &m),
        "authorized_key" | "ansible.posix.authorized_key" => authorized_key::run(args, ctx, &m),
        "config_template" | "openstack.config_template.config_template" => {
            config_template::run(args, ctx, &m)
        }
        // end text, network and archive modules
        _ => {
            let mut r = ModuleResult::new();
            r.insert("failed".into(), Value::Bool(true));
            r.insert(
                "msg".into(),
                Value::String(format!("The module {name} is not available natively")),
            );
            r
        }
    };
    r.entry("changed").or_insert(Value::Bool(false));
    // Ansible's fail_json describes the `path` (or `dest`) it names, whichever module failed.
    if r.get("failed") == Some(&Value::Bool(true)) {
        util::add_path_info_result(&mut r);
    }
    r
}

/// The short names of every module this crate implements.
pub fn names() -> &'static [&'static str] {
    &[
        // package and system modules
        "apt",
        "apt_key",
        "apt_repository",
        "deb822_repository",
        "debconf",
        "dnf",
        "dnf5",
        "dpkg_selections",
        "package",
        "package_facts",
        "pip",
        "rpm_key",
        "yum",
        "group",
        "user",
        "cron",
        "git",
        "hostname",
        "iptables",
        "mount",
        "ansible.posix.mount",
        "timezone",
        "locale_gen",
        "modprobe",
        "alternatives",
        "service",
        "sysvinit",
        "service_facts",
        "systemd",
        "systemd_service",
        // end package and system modules
        "async_status",
        "command",
        "expect",
        "copy",
        "file",
        "lineinfile",
        "ping",
        "raw",
        "setup",
        "shell",
        "slurp",
        "stat",
        // text, network and archive modules (blockinfile .. config_template)
        "blockinfile",
        "replace",
        "ini_file",
        "community.general.ini_file",
        "find",
        "tempfile",
        "getent",
        "uri",
        "get_url",
        "wait_for",
        "sysctl",
        "ansible.posix.sysctl",
        "pam_limits",
        "community.general.pam_limits",
        "unarchive",
        "assemble",
        "known_hosts",
        "authorized_key",
        "ansible.posix.authorized_key",
        "config_template",
        "openstack.config_template.config_template",
    ]
}

//! Output callbacks. The engine reports what happens through [`Callback`]; the default
//! callback prints what ansible-playbook's default stdout callback prints, the json callback
//! collects Ansible's json structure and prints it at the end.
//!
//! What the callbacks read from a result map, as Ansible's results carry it:
//! - `changed`, and for debug `_ansible_verbose_always: true` (that is what makes
//!   `ok: [h] => {"msg": ...}` appear without -v; debug results are narrowed to `msg`, or to
//!   the variable for `var:`);
//! - `_ansible_no_log: true` on censored results (item label `(censored due to no_log)`),
//!   `_ansible_item_label` for `loop_control.label`;
//! - `warnings` (list of strings) and `deprecations` (strings or `{msg: ...}`), shown on
//!   stderr as `[WARNING]: ...` / `[DEPRECATION WARNING]: ...`;
//! - [`ERROR_TEXT_KEY`]: the `[ERROR]: ...` report above a `fatal:` line;
//! - `diff` (shown through [`Callback::file_diff`]), `invocation` (shown from -vvv on).
//!
//! Every `_ansible_*` key is left out of the `=> {...}` dumps; the json callback keeps them
//! (as Ansible's does) except [`ERROR_TEXT_KEY`].

use serde_json::{Map, Value};

pub mod default;
pub mod diff;
pub mod display;
pub mod dump;
pub mod json;
pub mod lists;
pub mod pyjson;
pub mod status;
#[cfg(test)]
mod tests;

/// Key under which the engine puts, in a failed or unreachable result, the error report the
/// default callback prints as `[ERROR]: <text>` just before the `fatal:` line, e.g.
/// `Task failed: Module failed: <msg>\nOrigin: <file>:<line>:<col>\n\n<source excerpt>`.
/// Like every `_ansible_*` key it is never shown in dumps or registered variables.
pub const ERROR_TEXT_KEY: &str = "_ansible_error_text";

/// A play as the callbacks know it (see [`Callback::play_start_info`]).
#[derive(Clone, Debug, Default)]
pub struct PlayInfo {
    /// `play.get_name()`: the name, or the host patterns joined with `,` when unnamed.
    pub name: String,
    pub hosts_pattern: String,
    pub check_mode: bool,
    /// `file:line` of the play (the json callback's `play.path`).
    pub path: String,
    /// The strategy plugin name (`linear`, `free`, `host_pinned`, ...).
    pub strategy: String,
}

/// What a host's task came to, as the default callback distinguishes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    Changed,
    Failed,
    Skipped,
    Unreachable,
}

/// The task as the output knows it.
#[derive(Clone, Debug, Default)]
pub struct TaskInfo {
    /// The name as Ansible shows it: the task's templated name, or the action when it has none.
    pub name: String,
    /// `role_name : ` prefix source; empty outside roles.
    pub role: Option<String>,
    /// The action (module) name as written, e.g. `ansible.builtin.debug` or `debug`.
    pub action: String,
    pub is_handler: bool,
    /// file:line of the task, for `-vv` (`task path: ...`).
    pub path: String,
    pub no_log: bool,
    /// True when the task has a loop: per-item results are reported through `item_result`.
    pub is_loop: bool,
    /// The task runs in check mode (`[CHECK MODE]` in its banner with `check_mode_markers`).
    pub check_mode: bool,
}

/// One host's result for a task (or for one loop item).
#[derive(Clone, Debug)]
pub struct RunnerResult {
    pub host: String,
    /// Set when the task ran delegated (`delegate_to`): shown as `[host -> other]`.
    pub delegated_to: Option<String>,
    pub status: Status,
    /// The module's result as Ansible returns it: `changed`, `msg`, `rc`, `results` for loops, ...
    pub result: Map<String, Value>,
    /// The loop item (already reduced to its label), when this is a per-item result.
    pub item: Option<Value>,
    /// The failure was ignored (`ignore_errors`): the default callback prints `...ignoring`.
    pub ignored: bool,
}

/// Per-host counters for the PLAY RECAP.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostStats {
    pub ok: u32,
    pub changed: u32,
    pub unreachable: u32,
    pub failures: u32,
    pub skipped: u32,
    pub rescued: u32,
    pub ignored: u32,
}

/// The recap: hosts in the order Ansible prints them (sorted by name).
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub hosts: indexmap::IndexMap<String, HostStats>,
}

/// Events in the order the engine emits them; names follow Ansible's callback API.
pub trait Callback: Send {
    fn playbook_start(&mut self, _playbook: &str) {}
    fn play_start(&mut self, _name: &str, _hosts_pattern: &str, _check_mode: bool) {}
    /// Like [`Callback::play_start`] with everything the callbacks can use (path, strategy);
    /// the engine should call this one. By default it forwards to `play_start`.
    fn play_start_info(&mut self, play: &PlayInfo) {
        self.play_start(&play.name, &play.hosts_pattern, play.check_mode)
    }
    fn no_hosts_matched(&mut self) {}
    fn no_hosts_remaining(&mut self) {}
    fn task_start(&mut self, _task: &TaskInfo) {}
    fn handler_task_start(&mut self, _task: &TaskInfo) {}
    /// A host's final result for a task (for a loop: the aggregate with `results`).
    fn runner_result(&mut self, _task: &TaskInfo, _result: &RunnerResult) {}
    /// One loop item's result.
    fn item_result(&mut self, _task: &TaskInfo, _result: &RunnerResult) {}
    /// A host starts the task (Ansible's `v2_runner_on_start`).
    fn runner_start(&mut self, _task: &TaskInfo, _host: &str) {}
    /// In diff mode (`--diff` or the task's `diff: true`), before `runner_result` of a
    /// non-loop ok/changed result and before `item_result` of each ok/changed loop item
    /// whose result has a `diff`.
    fn file_diff(&mut self, _task: &TaskInfo, _result: &RunnerResult) {}
    /// A handler was notified for a host (`NOTIFIED HANDLER h for host` at -vv).
    fn handler_notified(&mut self, _handler: &str, _host: &str) {}
    /// A retry of an `until` loop: `FAILED - RETRYING: [host]: name (N retries left).`
    fn retry(
        &mut self,
        _task: &TaskInfo,
        _host: &str,
        _retries_left: u32,
        _result: &Map<String, Value>,
    ) {
    }
    /// `included: <file> for host1, host2` (with the item when the include loops).
    fn include(&mut self, _file: &str, _hosts: &[String], _item: Option<&Value>) {}
    fn warning(&mut self, _msg: &str) {}
    fn deprecation(&mut self, _msg: &str) {}
    /// A message shown at a verbosity level (like Ansible's display.vvv).
    fn verbose(&mut self, _level: u8, _msg: &str) {}
    /// A fatal error that ends the run ("ERROR! ..."), before or during execution.
    fn error(&mut self, _msg: &str) {}
    /// `set_stats` data, sent just before `stats`: host name -> data, and `_run` for the
    /// data that is not per host.
    fn custom_stats(&mut self, _custom: &Map<String, Value>) {}
    fn stats(&mut self, _stats: &Stats) {}
}

/// Options the callbacks read from the command line and ansible.cfg.
#[derive(Clone, Debug)]
pub struct OutputOptions {
    pub verbosity: u8,
    pub display_skipped_hosts: bool,
    pub display_ok_hosts: bool,
    pub show_custom_stats: bool,
    pub check_mode_markers: bool,
    pub diff: bool,
}

impl Default for OutputOptions {
    fn default() -> Self {
        OutputOptions {
            verbosity: 0,
            display_skipped_hosts: true,
            display_ok_hosts: true,
            show_custom_stats: false,
            check_mode_markers: false,
            diff: false,
        }
    }
}

/// Further callback settings (ansible.cfg / ANSIBLE_* and --check), kept apart from
/// [`OutputOptions`] so code that builds that struct field by field keeps compiling.
#[derive(Clone, Debug)]
pub struct CallbackExtras {
    /// `--check`: with `check_mode_markers`, the `DRY RUN` banners.
    pub check: bool,
    /// `display_failed_stderr`: failures and unreachables on stderr.
    pub display_failed_stderr: bool,
    /// `display_included_hosts`: the `included: ...` lines.
    pub display_included_hosts: bool,
    /// `show_task_path_on_failure`: `task path:` before a failure below -vv.
    pub show_task_path_on_failure: bool,
    /// `show_per_host_start`: ` [started TASK: name on host]` lines.
    pub show_per_host_start: bool,
    /// The json callback's `json_indent` (ANSIBLE_JSON_INDENT); <= 0 means one line.
    pub json_indent: i64,
}

impl Default for CallbackExtras {
    fn default() -> Self {
        CallbackExtras {
            check: false,
            display_failed_stderr: false,
            display_included_hosts: true,
            show_task_path_on_failure: false,
            show_per_host_start: false,
            json_indent: 4,
        }
    }
}

/// The callback named by `stdout_callback` (ansible.cfg / ANSIBLE_STDOUT_CALLBACK).
pub fn by_name(name: &str, opts: OutputOptions) -> Option<Box<dyn Callback>> {
    by_name_with(name, opts, CallbackExtras::default())
}

/// [`by_name`] with the further settings.
pub fn by_name_with(
    name: &str,
    opts: OutputOptions,
    extras: CallbackExtras,
) -> Option<Box<dyn Callback>> {
    let short = name
        .trim_start_matches("ansible.builtin.")
        .trim_start_matches("ansible.posix.");
    match short {
        "default" => {
            status::enable();
            Some(Box::new(default::DefaultCallback::with_display(
                opts,
                extras,
                display::Display::stdio().with_live_status(),
            )))
        }
        "json" => Some(Box::new(json::JsonCallback::with_display(
            opts,
            extras,
            display::Display::stdio(),
        ))),
        _ => None,
    }
}

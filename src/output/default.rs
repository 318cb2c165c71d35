//! The default stdout callback: ansible-playbook's human output.

use super::display::{stringc, Color, Display, Sink};
use super::dump::{self, clean_results, dump_results, item_label, run_is_verbose, truthy};
use super::{
    diff, Callback, CallbackExtras, HostStats, OutputOptions, PlayInfo, RunnerResult, Stats,
    Status, TaskInfo, ERROR_TEXT_KEY,
};
use serde_json::{Map, Value};

pub struct DefaultCallback {
    opts: OutputOptions,
    x: CallbackExtras,
    d: Display,
    /// The strategy of the current play runs hosts freely (`free`, `host_pinned`).
    free: bool,
    /// The task of the last `task_start`/`handler_task_start`, and a counter that tells
    /// two starts of equal-looking tasks apart.
    current: Option<(u64, TaskKey)>,
    seq: u64,
    /// The task name cached at its start (None under free strategies).
    last_task_name: Option<String>,
    /// The task whose banner was printed last.
    last_banner: Option<(u64, TaskKey)>,
    custom: Map<String, Value>,
}

/// What identifies a task for banner purposes.
#[derive(Clone, Debug, PartialEq, Eq)]
struct TaskKey {
    name: String,
    path: String,
    handler: bool,
}

fn key(t: &TaskInfo) -> TaskKey {
    TaskKey {
        name: display_name(t),
        path: t.path.clone(),
        handler: t.is_handler,
    }
}

/// `task.get_name()`: `role : name` inside a role.
fn display_name(t: &TaskInfo) -> String {
    let name = t.name.trim();
    match t.role.as_deref() {
        Some(r) if !r.is_empty() && !name.starts_with(&format!("{r} : ")) => {
            format!("{r} : {name}")
        }
        _ => name.to_string(),
    }
}

/// `host_label`: `host -> delegate` for delegated tasks.
fn host_label(r: &RunnerResult) -> String {
    match &r.delegated_to {
        Some(d) if d != &r.host => format!("{} -> {}", r.host, d),
        _ => r.host.clone(),
    }
}

fn is_changed(r: &RunnerResult) -> bool {
    match r.result.get("changed") {
        Some(v) => truthy(Some(v)),
        None => r.status == Status::Changed,
    }
}

impl DefaultCallback {
    /// Writing to the real stdout/stderr.
    pub fn new(opts: OutputOptions) -> Self {
        Self::with_display(opts, CallbackExtras::default(), Display::stdio())
    }

    /// Writing to the given sinks (no colour, 79 columns): for tests and embedding.
    pub fn with_writers(opts: OutputOptions, out: Sink, err: Sink) -> Self {
        Self::with_display(opts, CallbackExtras::default(), Display::new(out, err))
    }

    pub fn with_display(opts: OutputOptions, x: CallbackExtras, d: Display) -> Self {
        DefaultCallback {
            opts,
            x,
            d,
            free: false,
            current: None,
            seq: 0,
            last_task_name: None,
            last_banner: None,
            custom: Map::new(),
        }
    }

    fn v(&self) -> u8 {
        self.opts.verbosity
    }

    /// Loader warnings queued in [`crate::diag`] are shown at the next event.
    fn flush_diag(&mut self) {
        for w in crate::diag::drain() {
            self.d.warning(&w);
        }
    }

    fn task_id(&self, t: &TaskInfo) -> (u64, TaskKey) {
        let k = key(t);
        match &self.current {
            Some((n, ck)) if *ck == k => (*n, k),
            _ => (0, k),
        }
    }

    fn ensure_banner(&mut self, t: &TaskInfo) {
        if self.last_banner.as_ref() != Some(&self.task_id(t)) {
            self.print_task_banner(t);
        }
    }

    fn print_task_banner(&mut self, t: &TaskInfo) {
        let id = self.task_id(t);
        let prefix = if t.is_handler {
            "RUNNING HANDLER"
        } else {
            "TASK"
        };
        let name = match (&self.last_task_name, id.0) {
            (Some(n), s) if s != 0 => n.clone(),
            _ => display_name(t),
        };
        let check = if t.check_mode && self.opts.check_mode_markers {
            " [CHECK MODE]"
        } else {
            ""
        };
        self.d.banner(&format!("{prefix} [{name}]{check}"), None);
        if self.v() >= 2 {
            self.print_task_path(t);
        }
        self.last_banner = Some(id);
    }

    fn print_task_path(&mut self, t: &TaskInfo) {
        if !t.path.is_empty() {
            self.d
                .display(&format!("task path: {}", t.path), Some(Color::Debug), false);
        }
    }

    fn task_start_common(&mut self, t: &TaskInfo) {
        self.flush_diag();
        self.seq += 1;
        self.current = Some((self.seq, key(t)));
        if self.free {
            self.last_task_name = None;
        } else {
            self.last_task_name = Some(display_name(t));
            if self.opts.display_skipped_hosts && self.opts.display_ok_hosts {
                self.print_task_banner(t);
            }
        }
    }

    /// `_handle_warnings_and_exception`: the result's warnings and deprecations (stderr) and
    /// the error report of a failure (`[ERROR]: ...`, stdout unless display_failed_stderr).
    fn handle_warnings_and_exception(&mut self, result: &Map<String, Value>) {
        if let Some(Value::Array(ws)) = result.get("warnings") {
            for w in ws {
                self.d.warning(&message_text(w));
            }
        }
        if let Some(Value::Array(ds)) = result.get("deprecations") {
            for dep in ds {
                self.d.deprecation(&deprecation_text(dep));
            }
        }
        if let Some(Value::String(e)) = result.get(ERROR_TEXT_KEY) {
            let stderr = self.x.display_failed_stderr;
            self.d.error(e, stderr);
        }
    }

    fn cleaned(&self, t: &TaskInfo, r: &RunnerResult) -> Map<String, Value> {
        let mut res = r.result.clone();
        clean_results(&mut res, &t.action);
        res
    }

    fn dump(&self, res: &Map<String, Value>) -> String {
        dump_results(res, self.v(), None, false)
    }

    fn on_failed(&mut self, t: &TaskInfo, r: &RunnerResult) {
        self.ensure_banner(t);
        self.handle_warnings_and_exception(&r.result);
        let res = self.cleaned(t, r);
        if !(t.is_loop && res.contains_key("results")) {
            if self.v() < 2 && self.x.show_task_path_on_failure {
                self.print_task_path(t);
            }
            let msg = format!("fatal: [{}]: FAILED! => {}", host_label(r), self.dump(&res));
            let stderr = self.x.display_failed_stderr;
            self.d.display(&msg, Some(Color::Error), stderr);
        }
        if r.ignored {
            self.d.display("...ignoring", Some(Color::Skip), false);
        }
    }

    fn on_ok(&mut self, t: &TaskInfo, r: &RunnerResult) {
        if dump::is_include_action(&t.action) {
            self.ensure_banner(t);
            return;
        }
        let (msg, color) = if is_changed(r) {
            (format!("changed: [{}]", host_label(r)), Color::Changed)
        } else {
            if !self.opts.display_ok_hosts {
                return;
            }
            (format!("ok: [{}]", host_label(r)), Color::Ok)
        };
        self.ensure_banner(t);
        self.handle_warnings_and_exception(&r.result);
        if t.is_loop && r.result.contains_key("results") {
            return;
        }
        let res = self.cleaned(t, r);
        let msg = if run_is_verbose(&res, self.v(), 0) {
            format!("{msg} => {}", self.dump(&res))
        } else {
            msg
        };
        self.d.display(&msg, Some(color), false);
    }

    fn on_skipped(&mut self, t: &TaskInfo, r: &RunnerResult) {
        if !self.opts.display_skipped_hosts {
            return;
        }
        let mut res = self.cleaned(t, r);
        self.ensure_banner(t);
        self.handle_warnings_and_exception(&r.result);
        if t.is_loop {
            res.shift_remove("results");
        }
        // The registered result says `skipped`; the line already does.
        res.shift_remove("skipped");
        let mut msg = format!("skipping: [{}]", r.host);
        if run_is_verbose(&res, self.v(), 0) {
            msg = format!("{msg} => {}", self.dump(&res));
        }
        self.d.display(&msg, Some(Color::Skip), false);
    }

    fn on_unreachable(&mut self, t: &TaskInfo, r: &RunnerResult) {
        self.ensure_banner(t);
        self.handle_warnings_and_exception(&r.result);
        let msg = format!(
            "fatal: [{}]: UNREACHABLE! => {}",
            host_label(r),
            self.dump(&r.result)
        );
        let stderr = self.x.display_failed_stderr;
        self.d.display(&msg, Some(Color::Unreachable), stderr);
        if r.ignored {
            self.d.display("...ignoring", Some(Color::Skip), false);
        }
    }

    fn recap_line(&self, host: &str, s: &HostStats) -> String {
        let color = self.d.color;
        let colorize = |lead: &str, num: u32, c: Color| {
            let s = format!("{lead}={num:<4}");
            if num != 0 && color {
                stringc(&s, c, true)
            } else {
                s
            }
        };
        let host = if color {
            let c = if s.failures != 0 || s.unreachable != 0 {
                Color::Error
            } else if s.changed != 0 {
                Color::Changed
            } else {
                Color::Ok
            };
            format!("{:<37}", stringc(host, c, true))
        } else {
            format!("{host:<26}")
        };
        format!(
            "{} : {} {} {} {} {} {} {}",
            host,
            colorize("ok", s.ok, Color::Ok),
            colorize("changed", s.changed, Color::Changed),
            colorize("unreachable", s.unreachable, Color::Unreachable),
            colorize("failed", s.failures, Color::Error),
            colorize("skipped", s.skipped, Color::Skip),
            colorize("rescued", s.rescued, Color::Ok),
            colorize("ignored", s.ignored, Color::Warn),
        )
    }
}

/// A warning/deprecation entry: a string, or a mapping with `msg`.
/// A result's deprecation as Ansible shows it: the message, then when the feature goes
/// (`This feature will be removed from ansible-core version 2.23.`).
fn deprecation_text(v: &Value) -> String {
    let msg = message_text(v);
    let version = v.get("version").and_then(Value::as_str);
    let owner = match v.get("collection_name").and_then(Value::as_str) {
        Some("ansible.builtin") | None => "ansible-core".to_string(),
        Some(c) => c.to_string(),
    };
    match version {
        Some(ver) => format!("{msg} This feature will be removed from {owner} version {ver}."),
        None => msg,
    }
}

fn message_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(m) => m
            .get("msg")
            .map(message_text)
            .unwrap_or_else(|| super::pyjson::py_str(v)),
        other => super::pyjson::py_str(other),
    }
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

impl Callback for DefaultCallback {
    fn playbook_start(&mut self, playbook: &str) {
        self.flush_diag();
        if self.v() > 1 {
            self.d
                .banner(&format!("PLAYBOOK: {}", basename(playbook)), None);
        }
        if self.x.check && self.opts.check_mode_markers {
            self.d.banner("DRY RUN", None);
        }
    }

    fn play_start(&mut self, name: &str, _hosts_pattern: &str, check_mode: bool) {
        self.flush_diag();
        let name = name.trim();
        let check = if check_mode && self.opts.check_mode_markers {
            " [CHECK MODE]"
        } else {
            ""
        };
        let msg = if name.is_empty() {
            format!("PLAY{check}")
        } else {
            format!("PLAY [{name}]{check}")
        };
        self.d.banner(&msg, None);
    }

    fn play_start_info(&mut self, play: &PlayInfo) {
        let s = play
            .strategy
            .trim_start_matches("ansible.builtin.")
            .trim_start_matches("ansible.legacy.");
        self.free = matches!(s, "free" | "host_pinned");
        self.play_start(&play.name, &play.hosts_pattern, play.check_mode);
    }

    fn no_hosts_matched(&mut self) {
        self.flush_diag();
        self.d
            .display("skipping: no hosts matched", Some(Color::Skip), false);
    }

    fn no_hosts_remaining(&mut self) {
        self.flush_diag();
        self.d.banner("NO MORE HOSTS LEFT", None);
    }

    fn task_start(&mut self, task: &TaskInfo) {
        self.task_start_common(task);
    }

    fn handler_task_start(&mut self, task: &TaskInfo) {
        self.task_start_common(task);
    }

    fn runner_start(&mut self, task: &TaskInfo, host: &str) {
        if self.x.show_per_host_start {
            let msg = format!(" [started TASK: {} on {}]", display_name(task), host);
            self.d.display(&msg, Some(Color::Ok), false);
        }
    }

    fn runner_result(&mut self, task: &TaskInfo, result: &RunnerResult) {
        self.flush_diag();
        match result.status {
            Status::Failed => self.on_failed(task, result),
            Status::Unreachable => self.on_unreachable(task, result),
            Status::Skipped => self.on_skipped(task, result),
            Status::Ok | Status::Changed => self.on_ok(task, result),
        }
    }

    fn item_result(&mut self, task: &TaskInfo, r: &RunnerResult) {
        self.flush_diag();
        let label = item_label(&r.result, r.item.as_ref(), false);
        match r.status {
            Status::Failed | Status::Unreachable => {
                self.ensure_banner(task);
                self.handle_warnings_and_exception(&r.result);
                let res = self.cleaned(task, r);
                let msg = format!(
                    "failed: [{}] (item={}) => {}",
                    host_label(r),
                    label,
                    self.dump(&res)
                );
                let stderr = self.x.display_failed_stderr;
                self.d.display(&msg, Some(Color::Error), stderr);
            }
            Status::Skipped => {
                if !self.opts.display_skipped_hosts {
                    return;
                }
                self.ensure_banner(task);
                self.handle_warnings_and_exception(&r.result);
                let mut res = self.cleaned(task, r);
                res.shift_remove("skipped");
                // The trailing space before " => " is Ansible's.
                let mut msg = format!("skipping: [{}] => (item={}) ", r.host, label);
                if run_is_verbose(&res, self.v(), 0) {
                    msg = format!("{msg} => {}", self.dump(&res));
                }
                self.d.display(&msg, Some(Color::Skip), false);
            }
            Status::Ok | Status::Changed => {
                if dump::is_include_action(&task.action) {
                    return;
                }
                let (word, color) = if is_changed(r) {
                    ("changed", Color::Changed)
                } else {
                    if !self.opts.display_ok_hosts {
                        return;
                    }
                    ("ok", Color::Ok)
                };
                self.ensure_banner(task);
                self.handle_warnings_and_exception(&r.result);
                let res = self.cleaned(task, r);
                let mut msg = format!("{}: [{}] => (item={})", word, host_label(r), label);
                if run_is_verbose(&res, self.v(), 0) {
                    msg = format!("{msg} => {}", self.dump(&res));
                }
                self.d.display(&msg, Some(color), false);
            }
        }
    }

    fn file_diff(&mut self, task: &TaskInfo, r: &RunnerResult) {
        let show = |res: &Map<String, Value>| truthy(res.get("diff")) && truthy(res.get("changed"));
        let mut texts = Vec::new();
        match r.result.get("results") {
            Some(Value::Array(items)) if task.is_loop => {
                for item in items.iter().filter_map(Value::as_object) {
                    if show(item) {
                        texts.push(diff::get_diff(&item["diff"], self.d.color));
                    }
                }
            }
            _ => {
                if show(&r.result) {
                    texts.push(diff::get_diff(&r.result["diff"], self.d.color));
                }
            }
        }
        for text in texts.into_iter().filter(|t| !t.is_empty()) {
            self.ensure_banner(task);
            self.d.display(&text, None, false);
        }
    }

    fn retry(
        &mut self,
        task: &TaskInfo,
        host: &str,
        retries_left: u32,
        result: &Map<String, Value>,
    ) {
        self.flush_diag();
        let mut msg = format!(
            "FAILED - RETRYING: [{}]: {} ({} retries left).",
            host,
            display_name(task),
            retries_left
        );
        if run_is_verbose(result, self.v(), 2) {
            msg.push_str(&format!("Result was: {}", self.dump(result)));
        }
        self.d.display(&msg, Some(Color::Debug), false);
    }

    fn include(&mut self, file: &str, hosts: &[String], item: Option<&Value>) {
        self.flush_diag();
        if let Some((_, k)) = &self.current {
            // An include's own "ok" prints only the banner (needed when banners are lazy).
            let t = TaskInfo {
                name: k.name.clone(),
                path: k.path.clone(),
                is_handler: k.handler,
                ..Default::default()
            };
            if self.last_banner.as_ref() != self.current.as_ref() {
                self.print_task_banner(&t);
            }
        }
        if !self.x.display_included_hosts {
            return;
        }
        let mut msg = format!("included: {} for {}", file, hosts.join(", "));
        if truthy(item) {
            msg.push_str(&format!(
                " => (item={})",
                super::pyjson::py_str(item.unwrap_or(&Value::Null))
            ));
        }
        self.d.display(&msg, Some(Color::Included), false);
    }

    fn handler_notified(&mut self, handler: &str, host: &str) {
        if self.v() > 1 {
            self.d.display(
                &format!("NOTIFIED HANDLER {handler} for {host}"),
                Some(Color::Verbose),
                false,
            );
        }
    }

    fn warning(&mut self, msg: &str) {
        self.flush_diag();
        self.d.warning(msg);
    }

    fn deprecation(&mut self, msg: &str) {
        self.flush_diag();
        self.d.deprecation(msg);
    }

    fn verbose(&mut self, level: u8, msg: &str) {
        if self.v() >= level {
            self.d.display(msg, Some(Color::Verbose), false);
        }
    }

    fn error(&mut self, msg: &str) {
        self.flush_diag();
        self.d.error(msg, true);
    }

    fn custom_stats(&mut self, custom: &Map<String, Value>) {
        self.custom = custom.clone();
    }

    fn stats(&mut self, stats: &Stats) {
        self.flush_diag();
        self.d.banner("PLAY RECAP", None);
        let mut hosts: Vec<(&String, &HostStats)> = stats.hosts.iter().collect();
        hosts.sort_by(|a, b| a.0.cmp(b.0));
        for (h, s) in hosts {
            let line = self.recap_line(h, s);
            self.d.display(&line, None, false);
        }
        self.d.out("");
        if !self.custom.is_empty() && self.opts.show_custom_stats {
            self.d.banner("CUSTOM STATS: ", None);
            let mut keys: Vec<&String> = self.custom.keys().filter(|k| *k != "_run").collect();
            keys.sort();
            let lines: Vec<String> = keys
                .iter()
                .map(|k| {
                    format!(
                        "\t{}: {}",
                        k,
                        dump::dump_value(&self.custom[*k], Some(1)).replace('\n', "")
                    )
                })
                .collect();
            for l in lines {
                self.d.out(&l);
            }
            if let Some(run) = self.custom.get("_run") {
                let l = format!(
                    "\tRUN: {}",
                    dump::dump_value(run, Some(1)).replace('\n', "")
                );
                self.d.out("");
                self.d.out(&l);
            }
            self.d.out("");
        }
        if self.x.check && self.opts.check_mode_markers {
            self.d.banner("DRY RUN", None);
        }
    }
}

//! The json stdout callback: Ansible's `json` callback structure, printed at the end.
//!
//! `{"custom_stats", "global_custom_stats", "plays": [{"play": {duration, id, name, path},
//! "tasks": [{"hosts": {host: result}, "task": {duration, id, name, path}}]}], "stats"}`,
//! keys sorted, indented by `json_indent` (4), non-ASCII escaped.

use super::display::{Display, Sink};
use super::{
    pyjson, Callback, CallbackExtras, OutputOptions, PlayInfo, RunnerResult, Stats, Status,
    TaskInfo, ERROR_TEXT_KEY,
};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

pub struct JsonCallback {
    opts: OutputOptions,
    x: CallbackExtras,
    d: Display,
    plays: Vec<Value>,
    /// Whether the play's strategy reports tasks in lock step (linear): then tasks are
    /// recorded at task start, otherwise one entry per host as each host starts.
    lockstep: bool,
    /// Per-host task entries of non-lockstep plays: (host, task path, task name) -> index.
    pending: HashMap<(String, String, String), usize>,
    custom: Map<String, Value>,
    clock: Box<dyn FnMut() -> String + Send>,
    ids: Box<dyn FnMut() -> String + Send>,
}

/// `datetime.utcnow().isoformat() + "Z"`: microseconds, omitted when zero (as Python does).
pub fn utc_timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let micros = d.subsec_micros();
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        year,
        month,
        day,
        sod / 3600,
        (sod % 3600) / 60,
        sod % 60
    );
    if micros == 0 {
        format!("{base}Z")
    } else {
        format!("{base}.{micros:06}Z")
    }
}

/// A random (version 4) UUID.
pub fn uuid4() -> String {
    let mut n: u128 = rand::random();
    n = (n & !(0xF << 76)) | (0x4 << 76);
    n = (n & !(0x3 << 62)) | (0x2 << 62);
    let h = format!("{n:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

impl JsonCallback {
    pub fn new(opts: OutputOptions) -> Self {
        Self::with_display(opts, CallbackExtras::default(), Display::stdio())
    }

    /// Writing to the given sinks: for tests and embedding.
    pub fn with_writers(opts: OutputOptions, out: Sink, err: Sink) -> Self {
        Self::with_display(opts, CallbackExtras::default(), Display::new(out, err))
    }

    pub fn with_display(opts: OutputOptions, x: CallbackExtras, d: Display) -> Self {
        JsonCallback {
            opts,
            x,
            d,
            plays: Vec::new(),
            lockstep: true,
            pending: HashMap::new(),
            custom: Map::new(),
            clock: Box::new(|| utc_timestamp(SystemTime::now())),
            ids: Box::new(uuid4),
        }
    }

    /// Replace the clock and id source (tests use fixed ones).
    pub fn set_sources(
        &mut self,
        clock: Box<dyn FnMut() -> String + Send>,
        ids: Box<dyn FnMut() -> String + Send>,
    ) {
        self.clock = clock;
        self.ids = ids;
    }

    fn flush_diag(&mut self) {
        for w in crate::diag::drain() {
            self.d.warning(&w);
        }
    }

    fn new_play(&mut self, name: &str, path: &str) {
        let start = (self.clock)();
        let id = (self.ids)();
        self.plays.push(json!({
            "play": {"name": name, "id": id, "path": path, "duration": {"start": start}},
            "tasks": [],
        }));
        self.pending.clear();
    }

    /// Appends a task entry to the current play; returns its index.
    fn new_task(&mut self, task: &TaskInfo) -> Option<usize> {
        let start = (self.clock)();
        let id = (self.ids)();
        let entry = json!({
            "task": {"name": task_name(task), "id": id, "path": task.path, "duration": {"start": start}},
            "hosts": {},
        });
        let tasks = self.plays.last_mut()?.get_mut("tasks")?.as_array_mut()?;
        tasks.push(entry);
        Some(tasks.len() - 1)
    }

    fn record(&mut self, task: &TaskInfo, r: &RunnerResult) {
        let mut res = r.result.clone();
        res.shift_remove(ERROR_TEXT_KEY);
        match r.status {
            Status::Failed => {
                res.insert("failed".into(), Value::Bool(true));
            }
            Status::Skipped => {
                res.insert("skipped".into(), Value::Bool(true));
            }
            _ => {}
        }
        res.insert("action".into(), Value::String(task.action.clone()));
        let key = (r.host.clone(), task.path.clone(), task_name(task));
        let pending = if self.lockstep {
            None
        } else {
            self.pending.remove(&key)
        };
        let end = (self.clock)();
        let Some(play) = self.plays.last_mut() else {
            return;
        };
        if let Some(d) = play
            .pointer_mut("/play/duration")
            .and_then(Value::as_object_mut)
        {
            d.insert("end".into(), Value::String(end.clone()));
        }
        let Some(tasks) = play.get_mut("tasks").and_then(Value::as_array_mut) else {
            return;
        };
        let entry = match pending {
            Some(i) => tasks.get_mut(i),
            None => tasks.last_mut(),
        };
        let Some(entry) = entry else { return };
        if let Some(h) = entry.get_mut("hosts").and_then(Value::as_object_mut) {
            h.insert(r.host.clone(), Value::Object(res));
        }
        if let Some(d) = entry
            .pointer_mut("/task/duration")
            .and_then(Value::as_object_mut)
        {
            d.insert("end".into(), Value::String(end));
        }
    }
}

/// `task.get_name()`: `role : name` inside a role.
fn task_name(t: &TaskInfo) -> String {
    match t.role.as_deref() {
        Some(r) if !r.is_empty() && !t.name.starts_with(&format!("{r} : ")) => {
            format!("{r} : {}", t.name)
        }
        _ => t.name.clone(),
    }
}

impl Callback for JsonCallback {
    fn play_start(&mut self, name: &str, _hosts_pattern: &str, _check_mode: bool) {
        self.flush_diag();
        self.lockstep = true;
        self.new_play(name, "");
    }

    fn play_start_info(&mut self, play: &PlayInfo) {
        self.flush_diag();
        let s = play
            .strategy
            .trim_start_matches("ansible.builtin.")
            .trim_start_matches("ansible.legacy.");
        self.lockstep = matches!(s, "" | "linear" | "debug");
        self.new_play(&play.name, &play.path);
    }

    fn task_start(&mut self, task: &TaskInfo) {
        self.flush_diag();
        if self.lockstep {
            self.new_task(task);
        }
    }

    fn handler_task_start(&mut self, task: &TaskInfo) {
        self.task_start(task);
    }

    fn runner_start(&mut self, task: &TaskInfo, host: &str) {
        if self.lockstep {
            return;
        }
        if let Some(i) = self.new_task(task) {
            self.pending
                .insert((host.to_string(), task.path.clone(), task_name(task)), i);
        }
    }

    fn runner_result(&mut self, task: &TaskInfo, result: &RunnerResult) {
        self.flush_diag();
        self.record(task, result);
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
        if self.opts.verbosity >= level {
            self.d
                .display(msg, Some(super::display::Color::Verbose), false);
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
        let mut hosts: Vec<_> = stats.hosts.iter().collect();
        hosts.sort_by(|a, b| a.0.cmp(b.0));
        let mut summary = Map::new();
        for (h, s) in hosts {
            summary.insert(
                h.clone(),
                json!({"ok": s.ok, "failures": s.failures, "unreachable": s.unreachable, "changed": s.changed,
                       "skipped": s.skipped, "rescued": s.rescued, "ignored": s.ignored}),
            );
        }
        let mut custom = Map::new();
        let mut global = Map::new();
        if self.opts.show_custom_stats && !self.custom.is_empty() {
            custom = self.custom.clone();
            if let Some(Value::Object(run)) = custom.shift_remove("_run") {
                global = run;
            }
        }
        let output = json!({
            "plays": std::mem::take(&mut self.plays),
            "stats": summary,
            "custom_stats": custom,
            "global_custom_stats": global,
        });
        let indent = usize::try_from(self.x.json_indent).ok().filter(|n| *n > 0);
        let text = pyjson::ascii_escape(&pyjson::dumps(&output, indent, true));
        self.d.out(&text);
    }
}

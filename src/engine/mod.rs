//! Running plays: host selection and serial batches, the linear and free strategies, blocks
//! with rescue/always, dynamic includes, loops, handlers, failure accounting and the recap.

mod actions;
mod artifacts;
mod async_task;
mod connect;
pub mod fact_cache;
mod hostvars;
mod loops;
mod meta;
mod play;
mod reconnect;
mod registered;
mod scope;
mod stage_plan;
mod staged;
mod stages;
mod task;
mod walk;

pub use actions::VARIABLE_PARAMS;
pub use play::run_playbooks;
pub use walk::tags_match;

use crate::inventory::Inventory;
use crate::output::{Callback, HostStats, Stats};
use crate::yaml::Mapping;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

/// What the command line and ansible.cfg decide for the whole run.
#[derive(Clone, Debug)]
pub struct Options {
    pub check: bool,
    pub diff: bool,
    pub verbosity: u8,
    pub forks: usize,
    pub tags: Vec<String>,
    pub skip_tags: Vec<String>,
    pub limit: Vec<String>,
    pub extra_vars: Mapping,
    pub start_at_task: Option<String>,
    pub force_handlers: bool,
    /// Notifying a handler that does not exist stops the run (else: a warning).
    pub error_on_missing_handler: bool,
    pub connection: Option<String>,
    pub remote_user: Option<String>,
    pub become_: bool,
    pub become_user: Option<String>,
    pub become_method: Option<String>,
    /// The become password given at the `-K` prompt.
    pub become_password: Option<String>,
    /// `become_allow_same_user`: become even when the become user is the one we run as.
    pub become_allow_same_user: bool,
    /// `no_log` of ansible.cfg (ANSIBLE_NO_LOG): censor tasks that do not say otherwise.
    pub no_log: bool,
    pub any_errors_fatal: bool,
    pub gathering: String,
    /// The strategy of plays that name none (ansible.cfg `strategy`, ANSIBLE_STRATEGY).
    pub strategy: Option<String>,
    pub fact_path: Option<PathBuf>,
    pub hash_merge: bool,
    pub roles_path: Vec<PathBuf>,
    /// Where collections are installed (each holds `ansible_collections/<ns>/<name>/`).
    pub collections_path: Vec<PathBuf>,
    pub step: bool,
    pub flush_cache: bool,
    /// The `jsonfile` fact cache; `None` keeps facts in memory for the run only.
    pub fact_cache: Option<Arc<fact_cache::FactCache>>,
    pub config_file: Option<PathBuf>,
    pub inventory_sources: Vec<String>,
    /// Stages forced to run (`--force-stage`: build, stage, install or all).
    pub force_stages: Vec<String>,
    pub ignore_checkpoints: bool,
    /// `--list-stages`: print the stage plan instead of running.
    pub list_stages: bool,
    /// `--staged`: run every play by stage.
    pub staged: bool,
    /// SSH defaults from ansible.cfg and the command line.
    pub ssh: crate::connection::params::RunDefaults,
    /// The connection settings of the run as the variables a task sees when nothing
    /// else sets them (Ansible's play context: `ansible_connection`, `ansible_timeout`,
    /// `ansible_user` from `-u`, ...).
    pub connection_vars: Arc<serde_json::Map<String, serde_json::Value>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            check: false,
            diff: false,
            verbosity: 0,
            forks: 5,
            tags: vec!["all".into()],
            skip_tags: Vec::new(),
            limit: Vec::new(),
            extra_vars: Mapping::default(),
            start_at_task: None,
            force_handlers: false,
            error_on_missing_handler: true,
            connection: None,
            remote_user: None,
            become_: false,
            become_user: None,
            become_method: None,
            become_password: None,
            become_allow_same_user: false,
            no_log: false,
            any_errors_fatal: false,
            gathering: "implicit".into(),
            strategy: None,
            fact_path: None,
            hash_merge: false,
            roles_path: Vec::new(),
            collections_path: Vec::new(),
            step: false,
            flush_cache: false,
            fact_cache: None,
            config_file: None,
            inventory_sources: Vec::new(),
            force_stages: Vec::new(),
            ignore_checkpoints: false,
            list_stages: false,
            staged: false,
            ssh: Default::default(),
            connection_vars: Default::default(),
        }
    }
}

/// What persists for a host across the plays of a run.
#[derive(Clone, Debug, Default)]
pub struct HostState {
    /// `ansible_facts` (setup, set_fact cacheable, include_vars' facts go elsewhere).
    pub facts: Map<String, Value>,
    /// Registered results and `set_fact` values.
    pub vars: Map<String, Value>,
    /// `include_vars` results (raw, templated lazily like file vars).
    pub include_vars: Mapping,
    /// Facts whose name carries no `ansible_` prefix in the fact cache (`set_fact:
    /// cacheable`, `module_setup`): also visible as variables under that bare name.
    pub bare_facts: HashSet<String>,
}

/// The fact that marks a host's facts as gathered (`gathering = smart` skips the host).
pub const GATHERED: &str = "_ansible_facts_gathered";

impl HostState {
    /// The facts as the cache stores them.
    fn cache_entry(&self) -> Map<String, Value> {
        let mut out = Map::new();
        for (k, v) in &self.facts {
            let key = if self.bare_facts.contains(k) || k.starts_with("ansible_") {
                k.clone()
            } else {
                format!("ansible_{k}")
            };
            out.insert(key, v.clone());
        }
        out
    }

    pub fn facts_gathered(&self) -> bool {
        self.facts.get(GATHERED).is_some_and(task::truthy)
    }

    /// A host's state from its cache entry.
    fn from_cache(entry: Map<String, Value>) -> HostState {
        let mut hs = HostState::default();
        for (k, v) in entry {
            match k.strip_prefix("ansible_") {
                Some(name) => {
                    hs.facts.insert(name.to_string(), v);
                }
                None => {
                    hs.bare_facts.insert(k.clone());
                    hs.facts.insert(k, v);
                }
            }
        }
        hs
    }
}

/// Shared state of a run, used by every host's worker.
pub struct Run {
    pub opts: Options,
    pub inventory: RwLock<Inventory>,
    pub hosts: Mutex<HashMap<String, HostState>>,
    pub callback: Mutex<Box<dyn Callback>>,
    pub stats: Mutex<Stats>,
    /// Hosts that failed or were unreachable: left out of later plays.
    pub failed: Mutex<HashSet<String>>,
    pub unreachable: Mutex<HashSet<String>>,
    /// The last play was cut short by its max_fail_percentage: the run's exit code is then
    /// the failed hosts' one, even when a host was unreachable (as ansible-playbook).
    pub max_fail_broke: std::sync::atomic::AtomicBool,
    pub loader: crate::playbook::Loader,
    /// `set_stats` data.
    pub custom_stats: Mutex<Map<String, Value>>,
    /// Each SSH host's connection (and agent), kept for the whole run.
    pub conns: Mutex<HashMap<String, connect::Slot>>,
    /// Agents running as become users on the local connection, by become settings.
    pub local_agents: Mutex<HashMap<String, Arc<crate::connection::local_become::LocalAgent>>>,
    /// Stage checkpoints read and stages under way, per host and service.
    pub stages: stages::State,
}

impl Run {
    pub fn new(
        opts: Options,
        inventory: Inventory,
        callback: Box<dyn Callback>,
        loader: crate::playbook::Loader,
    ) -> Arc<Run> {
        // --flush-cache: every inventory host's cache entry goes before anything reads it.
        if let (true, Some(cache)) = (opts.flush_cache, &opts.fact_cache) {
            for h in inventory.hosts.keys() {
                cache.delete(h);
            }
        }
        Arc::new(Run {
            opts,
            inventory: RwLock::new(inventory),
            hosts: Mutex::new(HashMap::new()),
            callback: Mutex::new(callback),
            stats: Mutex::new(Stats::default()),
            failed: Mutex::new(HashSet::new()),
            unreachable: Mutex::new(HashSet::new()),
            max_fail_broke: Default::default(),
            loader,
            custom_stats: Mutex::new(Map::new()),
            conns: Mutex::new(HashMap::new()),
            local_agents: Mutex::new(HashMap::new()),
            stages: Default::default(),
        })
    }

    pub fn cb(&self) -> std::sync::MutexGuard<'_, Box<dyn Callback>> {
        let mut cb = self.callback.lock().unwrap_or_else(|e| e.into_inner());
        for w in crate::diag::drain() {
            cb.warning(&w);
        }
        cb
    }

    pub fn stat(&self, host: &str, f: impl FnOnce(&mut HostStats)) {
        let mut st = self.stats.lock().unwrap();
        f(st.hosts.entry(host.to_string()).or_default());
    }

    /// A host's state; the first use of a host reads its fact cache entry.
    pub fn host_state<R>(&self, host: &str, f: impl FnOnce(&mut HostState) -> R) -> R {
        let mut hs = self.hosts.lock().unwrap();
        let state = hs
            .entry(host.to_string())
            .or_insert_with(|| self.cached_state(host));
        f(state)
    }

    fn cached_state(&self, host: &str) -> HostState {
        let Some(cache) = &self.opts.fact_cache else {
            return HostState::default();
        };
        match cache.get(host) {
            Ok(Some(entry)) => HostState::from_cache(entry),
            Ok(None) => HostState::default(),
            Err(e) => {
                crate::diag::warn(e);
                HostState::default()
            }
        }
    }

    /// Read the cache entries of a play's hosts before their first task. A corrupt entry
    /// is removed and ends the run, as with Ansible.
    pub fn load_cached_facts(&self, hosts: &[String]) -> Result<(), String> {
        let Some(cache) = &self.opts.fact_cache else {
            return Ok(());
        };
        let mut states = self.hosts.lock().unwrap();
        for h in hosts {
            if !states.contains_key(h) {
                let hs = match cache.get(h)? {
                    Some(entry) => HostState::from_cache(entry),
                    None => HostState::default(),
                };
                states.insert(h.clone(), hs);
            }
        }
        Ok(())
    }

    /// Change a host's facts, then write them to the fact cache.
    pub fn update_facts<R>(&self, host: &str, f: impl FnOnce(&mut HostState) -> R) -> R {
        let Some(cache) = &self.opts.fact_cache else {
            return self.host_state(host, f);
        };
        let (r, entry) = self.host_state(host, |hs| {
            let r = f(hs);
            (r, hs.cache_entry())
        });
        if let Err(e) = cache.set(host, &entry) {
            crate::diag::warn(e);
        }
        r
    }

    /// `meta: clear_facts`: the facts and the cache entry go.
    pub fn clear_facts(&self, host: &str) {
        self.host_state(host, |hs| {
            hs.facts.clear();
            hs.bare_facts.clear();
        });
        if let Some(cache) = &self.opts.fact_cache {
            cache.delete(host);
        }
    }
}

/// Exit codes as ansible-playbook returns them.
pub mod exit {
    pub const OK: i32 = 0;
    pub const ERROR: i32 = 1;
    pub const FAILED: i32 = 2;
    pub const UNREACHABLE: i32 = 4;
    pub const PARSE_ERROR: i32 = 4;
    pub const BAD_OPTIONS: i32 = 5;
    pub const INTERRUPTED: i32 = 99;
    pub const UNEXPECTED: i32 = 250;
}

/// Ctrl-C (SIGINT) and SIGTERM: the run stops at once and exits as ansible-playbook does.
pub mod interrupt {
    use std::sync::atomic::{AtomicBool, Ordering};

    static INTERRUPTED: AtomicBool = AtomicBool::new(false);

    extern "C" fn on_signal(_: libc::c_int) {
        INTERRUPTED.store(true, Ordering::SeqCst);
    }

    /// Catch SIGINT and SIGTERM so the run can end cleanly.
    pub fn install() {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe {
            libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
            libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
        }
    }

    pub fn requested() -> bool {
        INTERRUPTED.load(Ordering::SeqCst)
    }

    /// SIGTERM to the processes the run started here (the commands of local tasks, the
    /// local become agents), as a terminal's Ctrl-C would reach them; a signal sent to
    /// `play` alone must not leave them running. Processes in a session of their own (async
    /// jobs, meant to outlive the run) are left alone.
    fn stop_descendants() {
        let me = std::process::id();
        // pid -> (parent, session), from /proc/<pid>/stat: "pid (comm) state ppid pgrp session ..."
        let mut procs = std::collections::HashMap::new();
        for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // comm may hold spaces and parentheses: the fields start after the last ')'
            let fields: Vec<&str> = stat
                .rsplit_once(')')
                .map(|x| x.1.split_whitespace().collect())
                .unwrap_or_default();
            if let (Some(ppid), Some(sid)) = (fields.get(1), fields.get(3)) {
                if let (Ok(ppid), Ok(sid)) = (ppid.parse::<u32>(), sid.parse::<u32>()) {
                    procs.insert(pid, (ppid, sid));
                }
            }
        }
        let Some(&(_, my_session)) = procs.get(&me) else {
            return;
        };
        let mut frontier = vec![me];
        while let Some(parent) = frontier.pop() {
            for (&pid, &(ppid, sid)) in &procs {
                if ppid == parent && sid == my_session {
                    frontier.push(pid);
                    // SAFETY: a signal to a process this run started.
                    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
                }
            }
        }
    }

    /// Stop the run at once when interrupted, as ansible-playbook does: say so and exit
    /// with 99 without waiting for the tasks under way (no recap). Exiting closes every SSH
    /// session and agent pipe, and an agent whose controller is gone stops the module it
    /// was running (connection::agent), so nothing of the run goes on on the targets.
    pub fn watch(run: &std::sync::Arc<super::Run>) {
        let run = std::sync::Arc::downgrade(run);
        std::thread::spawn(move || loop {
            std::thread::sleep(std::time::Duration::from_millis(50));
            let Some(run) = run.upgrade() else { return };
            if requested() {
                stop_descendants();
                crate::output::status::finish();
                run.cb().error("User interrupted execution");
                use std::io::Write;
                let _ = std::io::stdout().flush();
                let _ = std::io::stderr().flush();
                std::process::exit(super::exit::INTERRUPTED);
            }
        });
    }
}

/// What `ansible_playbook_python` names: `play` runs no Python, so it is the python3 a
/// controller-side command would find on PATH (roles run it for pip and the like).
pub fn playbook_python() -> &'static str {
    static PYTHON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PYTHON.get_or_init(|| {
        std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|d| d.join("python3"))
            .find(|p| p.is_file())
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "/usr/bin/python3".to_string())
    })
}

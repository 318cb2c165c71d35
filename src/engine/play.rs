//! Plays: which hosts, in which batches, the play's variables, fact gathering, the three
//! sections with their handler flushes, and the recap.

use super::scope::Scope;
use super::walk::{flush_handlers, run_items};
use super::{exit, Run};
use crate::error::{Error, Result};
use crate::playbook::{scalar_string, Item, Play, Playbook, Role, Task};
use crate::template::Context;
use crate::vars::{Layer, Vars};
use crate::yaml::{Kind, Mapping, Node};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};

/// Everything a play's tasks share.
#[derive(Debug)]
pub struct PlayCtx {
    pub run: Arc<Run>,
    pub play: Arc<Play>,
    pub extra_vars: Arc<Mapping>,
    pub play_vars: Arc<Mapping>,
    pub vars_files: Vec<Arc<Mapping>>,
    pub roles: Vec<Arc<Role>>,
    /// Roles brought in by include_role with `public: true`.
    pub dynamic_roles: Mutex<Vec<Arc<Role>>>,
    /// Roles expanded in this play so far, static and included.
    pub seen_roles: Mutex<std::collections::HashSet<String>>,
    pub magic_common: Map<String, Value>,
    /// The `groups` magic variable and the inventory generation it was made from.
    pub groups: Mutex<(u64, Arc<Value>)>,
    pub batch: Mutex<Vec<String>>,
    pub inv_vars: Mutex<HashMap<String, Arc<Mapping>>>,
    pub me: Mutex<Weak<PlayCtx>>,
    /// Handlers of the play in order, with the scope they run in.
    pub handlers: Mutex<Vec<(Arc<Task>, Arc<Scope>)>>,
    /// handler index -> hosts that notified it, in notification order.
    pub notified: Mutex<HashMap<usize, Vec<String>>>,
    /// Notifications of ordinary tasks, (host, handler index) in order: -vv announces
    /// them when the host's handlers are flushed (`NOTIFIED HANDLER h for host`).
    pub saved: Mutex<Vec<(String, usize)>>,
    /// Hosts that left the play with `meta: end_host`.
    pub ended: Mutex<HashSet<String>>,
    /// Hosts whose failure in this play is final (no rescue or always left to run, or made
    /// failed by any_errors_fatal): what max_fail_percentage counts.
    pub failed_for_good: Mutex<HashSet<String>>,
    /// The play runs each host on its own (free, host_pinned): max_fail_percentage does
    /// not apply.
    pub hosts_independent: AtomicBool,
    /// `meta: end_play` / `end_batch`.
    pub end_play: AtomicBool,
    pub end_batch: AtomicBool,
    pub root: Arc<Scope>,
    /// `--start-at-task`: still looking for the task to start at.
    pub starting: AtomicBool,
    /// Every host the play's pattern matched, failed ones from earlier plays included.
    pub pattern_hosts: Vec<String>,
    /// The last failed task and result of each host, for `ansible_failed_task`/`_result`.
    pub failures: Mutex<HashMap<String, (Value, Value)>>,
    /// How many times `meta: clear_host_errors` has run: a block's `always` that saw it
    /// must not put its hosts' earlier failures back.
    pub errors_cleared: AtomicU64,
    /// Hosts failed because another host failed (any_errors_fatal, run_once): they enter
    /// rescue without counting as failed or rescued.
    pub failed_by_others: Mutex<HashSet<String>>,
    /// `meta: end_role`: host -> the roles it left early (by identity); the rest of such a
    /// role is skipped for the host until the role's block ends.
    pub ended_roles: Mutex<HashMap<String, Vec<usize>>>,
    /// (role identity, host) for roles in which a task ran (ok, changed or failed).
    pub role_ran: Mutex<HashSet<(usize, String)>>,
    /// (role dedupe key, host) for roles that completed on a host: not run there again.
    pub roles_completed: Mutex<HashSet<(String, String)>>,
    /// Hosts running each throttled task now (by the task's position), and the signal a
    /// host waiting for a slot sleeps on.
    pub throttled: Mutex<HashMap<String, usize>>,
    pub throttle_freed: Condvar,
}

/// A host's place among those running a throttled task; given back when dropped.
pub struct ThrottleSlot<'a> {
    ctx: &'a PlayCtx,
    key: String,
}

impl Drop for ThrottleSlot<'_> {
    fn drop(&mut self) {
        let mut running = self.ctx.throttled.lock().unwrap();
        if let Some(n) = running.get_mut(&self.key) {
            *n = n.saturating_sub(1);
        }
        self.ctx.throttle_freed.notify_all();
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Run")
    }
}

impl PlayCtx {
    /// The vars load-time templates see in tasks loaded while the play runs.
    pub fn load_vars(&self) -> Arc<crate::yaml::Mapping> {
        Arc::new(self.play.kw.vars.clone())
    }

    /// Whether `t` is one of the play's handlers.
    pub fn is_handler(&self, t: &Task) -> bool {
        self.handlers
            .lock()
            .unwrap()
            .iter()
            .any(|(h, _)| std::ptr::eq(Arc::as_ptr(h), t))
    }

    /// Hosts of the batch still running: not failed, unreachable or ended.
    pub fn active(&self, hosts: &[String]) -> Vec<String> {
        let failed = self.run.failed.lock().unwrap();
        let unreachable = self.run.unreachable.lock().unwrap();
        let ended = self.ended.lock().unwrap();
        let ended_roles = self.ended_roles.lock().unwrap();
        hosts
            .iter()
            .filter(|h| !failed.contains(*h) && !unreachable.contains(*h) && !ended.contains(*h))
            .filter(|h| ended_roles.get(*h).is_none_or(|r| r.is_empty()))
            .cloned()
            .collect()
    }

    /// `meta: end_role` for a host: the rest of this role is skipped there.
    pub fn end_role(&self, host: &str, role: &Arc<Role>) {
        let id = Arc::as_ptr(role) as usize;
        self.ended_roles
            .lock()
            .unwrap()
            .entry(host.to_string())
            .or_default()
            .push(id);
    }

    /// A role's block finished: hosts that ended it early go on after it.
    pub fn role_done(&self, role: &Arc<Role>) {
        let id = Arc::as_ptr(role) as usize;
        for ids in self.ended_roles.lock().unwrap().values_mut() {
            ids.retain(|r| *r != id);
        }
    }

    /// Wait until fewer than `limit` hosts run the task `key`, then take a place.
    pub fn throttle_slot(&self, key: &str, limit: usize) -> ThrottleSlot<'_> {
        let mut running = self.throttled.lock().unwrap();
        while running.get(key).copied().unwrap_or(0) >= limit.max(1) {
            running = self.throttle_freed.wait(running).unwrap();
        }
        *running.entry(key.to_string()).or_default() += 1;
        ThrottleSlot {
            ctx: self,
            key: key.to_string(),
        }
    }

    /// A task of this role ran on the host (not skipped, not unreachable).
    pub fn mark_role_ran(&self, role: &Arc<Role>, host: &str) {
        let id = Arc::as_ptr(role) as usize;
        self.role_ran.lock().unwrap().insert((id, host.to_string()));
    }

    /// Of these hosts, those where a role with this key has not completed yet.
    pub fn role_pending(&self, key: &str, hosts: &[String]) -> Vec<String> {
        let done = self.roles_completed.lock().unwrap();
        hosts
            .iter()
            .filter(|h| !done.contains(&(key.to_string(), h.to_string())))
            .cloned()
            .collect()
    }

    /// The role's block was walked: hosts where one of its tasks ran have completed it.
    pub fn role_completed(&self, role: &Arc<Role>, key: &str, hosts: &[String]) {
        let id = Arc::as_ptr(role) as usize;
        let ran = self.role_ran.lock().unwrap();
        let mut done = self.roles_completed.lock().unwrap();
        for h in hosts {
            if ran.contains(&(id, h.clone())) {
                done.insert((key.to_string(), h.clone()));
            }
        }
    }

    /// Fail hosts on another host's behalf: no result, no count in the recap.
    pub fn fail_quietly(&self, hosts: &[String]) {
        self.failed_for_good
            .lock()
            .unwrap()
            .extend(hosts.iter().cloned());
        let mut failed = self.run.failed.lock().unwrap();
        let mut by_others = self.failed_by_others.lock().unwrap();
        for h in hosts {
            if failed.insert(h.clone()) {
                by_others.insert(h.clone());
            }
        }
    }

    pub fn record_failure(&self, host: &str, task: &Task, result: &Map<String, Value>) {
        let name = task
            .name
            .as_ref()
            .and_then(scalar_string)
            .unwrap_or_default();
        let t = json!({"name": name, "action": task.action_written, "path": format!("{}:{}", task.span.file, task.span.line)});
        let r = Value::Object(super::registered::registered(result));
        self.failures
            .lock()
            .unwrap()
            .insert(host.to_string(), (t, r));
    }

    pub fn last_failure(&self, host: &str) -> Option<(Value, Value)> {
        self.failures.lock().unwrap().get(host).cloned()
    }

    /// A context for templating at play level (no task), for the play's own keywords.
    pub fn play_context(self: &Arc<Self>, host: &str) -> Arc<Context> {
        Context::new(Arc::new(self.vars_for(host, Some(&self.root), None, None)))
    }
}

/// Run every play of every playbook; returns ansible-playbook's exit code.
pub fn run_playbooks(run: &Arc<Run>, playbooks: &[Playbook]) -> i32 {
    for pb in playbooks {
        {
            let mut cb = run.cb();
            cb.playbook_start(&pb.path.display().to_string());
            let file = pb
                .path
                .file_name()
                .map(|f| f.to_string_lossy().to_string())
                .unwrap_or_default();
            cb.verbose(2, &format!("{} plays in {}", pb.plays.len(), file));
        }
        for play in &pb.plays {
            match run_play(run, play, pb) {
                Ok(PlayOutcome::Continue) => {}
                Ok(PlayOutcome::Stop) => {
                    finish(run);
                    return result_code(run);
                }
                Err(e) => {
                    run.cb().error(&e.report());
                    return if super::interrupt::requested() {
                        exit::INTERRUPTED
                    } else if e.stops_run {
                        exit::PARSE_ERROR
                    } else {
                        exit::ERROR
                    };
                }
            }
        }
    }
    if run.opts.list_stages {
        // A plan, not a run: no recap.
        run.conns.lock().unwrap().clear();
        return exit::OK;
    }
    finish(run);
    result_code(run)
}

fn finish(run: &Arc<Run>) {
    crate::output::status::finish();
    // Every agent ends with its session.
    run.conns.lock().unwrap().clear();
    run.local_agents.lock().unwrap().clear();
    let mut stats = run.stats.lock().unwrap().clone();
    stats.hosts.sort_keys();
    let custom = run.custom_stats.lock().unwrap().clone();
    let mut cb = run.cb();
    if !custom.is_empty() {
        let mut m = Map::new();
        m.insert("_run".into(), Value::Object(custom));
        cb.custom_stats(&m);
    }
    cb.stats(&stats);
}

/// Hosts still failed or unreachable at the end decide the code (`clear_host_errors`
/// forgives), as in ansible-playbook: an unreachable host outweighs a failed one, unless
/// the last play stopped on its max_fail_percentage.
fn result_code(run: &Arc<Run>) -> i32 {
    let failed = !run.failed.lock().unwrap().is_empty();
    if failed && run.max_fail_broke.load(Ordering::Relaxed) {
        exit::FAILED
    } else if !run.unreachable.lock().unwrap().is_empty() {
        exit::UNREACHABLE
    } else if failed {
        exit::FAILED
    } else {
        exit::OK
    }
}

enum PlayOutcome {
    Continue,
    Stop,
}

fn hosts_pattern(node: &Node, ctx: &Arc<Context>) -> Result<String> {
    let v = ctx.template_node(node)?;
    Ok(match v {
        Value::Array(a) => a
            .iter()
            .map(|x| match x {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(","),
        Value::String(s) => s,
        other => other.to_string(),
    })
}

fn run_play(run: &Arc<Run>, play: &Play, pb: &Playbook) -> Result<PlayOutcome> {
    run.max_fail_broke.store(false, Ordering::Relaxed);
    // Variables known before any host: extra vars and play vars (for the name and hosts).
    let extra_vars = Arc::new(run.opts.extra_vars.clone());
    let mut pv = play.kw.vars.clone();
    // vars_prompt without a terminal: the default is the answer (extra vars skip the prompt).
    if let Some(prompts) = play.vars_prompt.as_ref().and_then(Node::as_seq) {
        for p in prompts {
            let (Some(name), default) = (p.get("name").and_then(scalar_string), p.get("default"))
            else {
                continue;
            };
            if run.opts.extra_vars.get(&name).is_some() {
                continue;
            }
            let value = default
                .cloned()
                .unwrap_or_else(|| Node::string("", p.span.clone()));
            pv.insert(name, p.span.clone(), value);
        }
    }
    let play_vars = Arc::new(pv);
    let mut pre = Vars::new();
    pre.push_lower(Layer::Nodes(extra_vars.clone()));
    pre.push_lower(Layer::Nodes(play_vars.clone()));
    let pre_ctx = Context::new(Arc::new(pre));
    let pattern = hosts_pattern(&play.hosts, &pre_ctx).map_err(|e| e.or_at(&play.hosts.span))?;
    let name = match &play.name {
        Some(n) => match pre_ctx.template_node(n) {
            Ok(Value::String(s)) => s,
            Ok(other) => crate::template::to_python_str(&other),
            Err(_) => scalar_string(n).unwrap_or_default(),
        },
        None => pattern.clone(),
    };

    let mut hosts = {
        let inv = run.inventory.read().unwrap();
        let (mut hs, warnings) = inv
            .select_with_warnings(&pattern)
            .map_err(|e| Error::at(e.to_string(), &play.hosts.span))?;
        for w in warnings {
            crate::diag::warn(w);
        }
        if !run.opts.limit.is_empty() {
            let mut allowed = HashSet::new();
            for l in &run.opts.limit {
                for h in inv.select(l).map_err(|e| Error::new(e.to_string()))? {
                    allowed.insert(h);
                }
            }
            hs.retain(|h| allowed.contains(h));
        }
        hs
    };
    let pattern_hosts = hosts.clone();
    {
        let failed = run.failed.lock().unwrap();
        let unreachable = run.unreachable.lock().unwrap();
        hosts.retain(|h| !failed.contains(h) && !unreachable.contains(h));
    }
    if let Some(order) = &play.order {
        match scalar_string(order).as_deref() {
            Some("sorted") => hosts.sort(),
            Some("reverse_sorted") => {
                hosts.sort();
                hosts.reverse()
            }
            Some("reverse_inventory") => hosts.reverse(),
            Some("shuffle") => {
                use rand::seq::SliceRandom;
                hosts.shuffle(&mut rand::rng());
            }
            _ => {}
        }
    }

    let check_mode = run.opts.check;
    let strategy = play
        .strategy
        .as_ref()
        .and_then(scalar_string)
        .or_else(|| run.opts.strategy.clone())
        .unwrap_or_else(|| "linear".into());
    let info = crate::output::PlayInfo {
        name: name.clone(),
        hosts_pattern: pattern.clone(),
        check_mode,
        path: format!("{}:{}", play.span.file, play.span.line),
        strategy,
    };
    if hosts.is_empty() {
        run.cb().play_start_info(&info);
        run.cb().no_hosts_matched();
        return Ok(PlayOutcome::Continue);
    }

    let vars_files = load_vars_files(play, &pre_ctx)?;
    let mut magic = Map::new();
    magic.insert("playbook_dir".into(), json!(pb.dir.display().to_string()));
    magic.insert("ansible_play_name".into(), json!(name));
    magic.insert("ansible_play_hosts_all".into(), json!(hosts));
    magic.insert("ansible_check_mode".into(), json!(check_mode));
    magic.insert("ansible_diff_mode".into(), json!(run.opts.diff));
    magic.insert("ansible_forks".into(), json!(run.opts.forks));
    magic.insert(
        "ansible_playbook_python".into(),
        json!(crate::engine::playbook_python()),
    );
    magic.insert("ansible_verbosity".into(), json!(run.opts.verbosity));
    magic.insert("ansible_run_tags".into(), json!(run.opts.tags));
    magic.insert("ansible_skip_tags".into(), json!(run.opts.skip_tags));
    magic.insert(
        "ansible_version".into(),
        json!({"full": "2.21.5", "major": 2, "minor": 21, "revision": 5, "string": "2.21.5"}),
    );
    magic.insert(
        "ansible_role_names".into(),
        json!(play
            .role_list
            .iter()
            .map(|r| r.name.clone())
            .collect::<Vec<_>>()),
    );
    magic.insert("ansible_dependent_role_names".into(), json!([]));
    magic.insert("omit".into(), json!(super::hostvars::OMIT));
    if let Some(cfg) = &run.opts.config_file {
        magic.insert(
            "ansible_config_file".into(),
            json!(cfg.display().to_string()),
        );
    }

    let mut root_kw = play.kw.clone();
    root_kw.vars = Mapping::default();
    let root = Scope::root(root_kw);
    let handlers = flatten_handlers(&play.handlers, &root);
    let ctx = Arc::new(PlayCtx {
        run: run.clone(),
        play: Arc::new(play.clone()),
        extra_vars,
        play_vars,
        vars_files,
        roles: play.role_list.clone(),
        dynamic_roles: Mutex::new(Vec::new()),
        seen_roles: Mutex::new(play.seen_roles.clone()),
        magic_common: magic,
        groups: Mutex::new((u64::MAX, Arc::new(Value::Null))),
        batch: Mutex::new(hosts.clone()),
        inv_vars: Mutex::new(HashMap::new()),
        me: Mutex::new(Weak::new()),
        handlers: Mutex::new(handlers),
        notified: Mutex::new(HashMap::new()),
        saved: Mutex::new(Vec::new()),
        ended: Mutex::new(HashSet::new()),
        failed_for_good: Mutex::new(HashSet::new()),
        hosts_independent: AtomicBool::new(false),
        end_play: AtomicBool::new(false),
        end_batch: AtomicBool::new(false),
        root: root.clone(),
        starting: AtomicBool::new(run.opts.start_at_task.is_some()),
        failures: Mutex::new(HashMap::new()),
        errors_cleared: AtomicU64::new(0),
        failed_by_others: Mutex::new(HashSet::new()),
        ended_roles: Mutex::new(HashMap::new()),
        role_ran: Mutex::new(HashSet::new()),
        roles_completed: Mutex::new(HashSet::new()),
        throttled: Mutex::new(HashMap::new()),
        throttle_freed: Condvar::new(),
        pattern_hosts,
    });
    *ctx.me.lock().unwrap() = Arc::downgrade(&ctx);

    if run.opts.list_stages {
        super::stage_plan::print(&ctx, play, &hosts, &name)?;
        return Ok(PlayOutcome::Continue);
    }
    let batches = serial_batches(&ctx, play.serial.as_ref(), &hosts)?;
    for batch in batches {
        // Each serial batch is announced as the play again, as Ansible does.
        run.cb().play_start_info(&info);
        run.load_cached_facts(&batch).map_err(Error::new)?;
        *ctx.batch.lock().unwrap() = batch.clone();
        ctx.end_batch.store(false, Ordering::SeqCst);
        run_batch(&ctx, play, &batch)?;
        if ctx.end_play.load(Ordering::SeqCst) {
            break;
        }
        // A batch where every host failed ends the play (and the run).
        if ctx.active(&batch).is_empty()
            && !batch.iter().all(|h| ctx.ended.lock().unwrap().contains(h))
        {
            return Ok(PlayOutcome::Stop);
        }
    }
    Ok(PlayOutcome::Continue)
}

fn run_batch(ctx: &Arc<PlayCtx>, play: &Play, batch: &[String]) -> Result<()> {
    gather_facts(ctx, play, batch)?;
    if super::staged::enabled(ctx, &batch[0]) {
        run_sections(ctx, std::slice::from_ref(&play.pre_tasks), batch)?;
        let main = [play.roles.clone(), play.tasks.clone()].concat();
        super::staged::run(ctx, &main, batch)?;
        return run_sections(
            ctx,
            std::slice::from_ref(&play.post_tasks),
            &ctx.active(batch),
        );
    }
    let sections: [Vec<Item>; 3] = [
        play.pre_tasks.clone(),
        [play.roles.clone(), play.tasks.clone()].concat(),
        play.post_tasks.clone(),
    ];
    let strategy = match &play.strategy {
        Some(n) => match ctx.play_context(&batch[0]).template_node(n)? {
            Value::String(s) => s,
            other => crate::template::to_python_str(&other),
        },
        None => ctx
            .run
            .opts
            .strategy
            .clone()
            .unwrap_or_else(|| "linear".into()),
    };
    match strategy.rsplit('.').next().unwrap_or("linear") {
        "linear" | "debug" => run_sections(ctx, &sections, batch),
        // Free and host_pinned: every host walks the play on its own, up to forks at once.
        "free" | "host_pinned" => run_free(ctx, &sections, batch),
        other => Err(Error::at(
            format!("Invalid play strategy specified: {other}"),
            &play.span,
        )),
    }
}

/// Every host walks the sections on its own, up to forks hosts at once (the free strategy).
pub(super) fn run_free(ctx: &Arc<PlayCtx>, sections: &[Vec<Item>], batch: &[String]) -> Result<()> {
    ctx.hosts_independent.store(true, Ordering::Relaxed);
    if ctx.play.max_fail_percentage.is_some() {
        ctx.run.cb().warning(
            "Using max_fail_percentage with the free strategy is not supported, as tasks are executed independently on each host",
        );
    }
    let forks = ctx.run.opts.forks.max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let errors = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..forks.min(batch.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= batch.len() {
                    break;
                }
                if let Err(e) = run_sections(ctx, sections, std::slice::from_ref(&batch[i])) {
                    errors.lock().unwrap().push(e);
                }
            });
        }
    });
    match errors.into_inner().unwrap().into_iter().next() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The sections one after the other for the hosts together (the linear strategy), each
/// followed by a handler flush.
pub(super) fn run_sections(
    ctx: &Arc<PlayCtx>,
    sections: &[Vec<Item>],
    batch: &[String],
) -> Result<()> {
    for items in sections.iter() {
        if ctx.end_play.load(Ordering::SeqCst) || ctx.end_batch.load(Ordering::SeqCst) {
            break;
        }
        run_items(ctx, items, &ctx.root, batch)?;
        for host in ctx.active(batch) {
            super::task::announce_notified(ctx, &host);
        }
        flush_handlers(ctx, batch)?;
        if ctx.active(batch).is_empty() {
            break;
        }
    }
    Ok(())
}

fn gather_facts(ctx: &Arc<PlayCtx>, play: &Play, batch: &[String]) -> Result<()> {
    let gather = match &play.gather_facts {
        Some(n) => match &n.kind {
            Kind::Bool(b) => *b,
            _ => {
                let c = ctx.play_context(&batch[0]);
                crate::engine::task::truthy(&c.template_node(n)?)
            }
        },
        None => ctx.run.opts.gathering != "explicit",
    };
    if !gather {
        return Ok(());
    }
    let mut args = Mapping::default();
    let span = play.span.clone();
    if let Some(gs) = &play.gather_subset {
        args.insert("gather_subset".into(), span.clone(), gs.clone());
    }
    if let Some(fp) = &play.fact_path {
        args.insert("fact_path".into(), span.clone(), fp.clone());
    }
    let mut task = Task::synthetic("Gathering Facts", "setup", args, span, None);
    task.action_written = "gather_facts".into();
    let task = Arc::new(task);
    let mut hosts = ctx.active(batch);
    if ctx.run.opts.gathering == "smart" {
        // Hosts whose facts were gathered already (this run, or the fact cache) skip it.
        hosts.retain(|h| !ctx.run.host_state(h, |hs| hs.facts_gathered()));
        if hosts.is_empty() {
            return Ok(());
        }
    }
    super::task::run_task(ctx, &task, &ctx.root, &hosts, false)?;
    Ok(())
}

fn flatten_handlers(items: &[Item], root: &Arc<Scope>) -> Vec<(Arc<Task>, Arc<Scope>)> {
    let mut out = Vec::new();
    fn walk(items: &[Item], scope: &Arc<Scope>, out: &mut Vec<(Arc<Task>, Arc<Scope>)>) {
        for it in items {
            match it {
                Item::Task(t) => out.push((t.clone(), scope.clone())),
                Item::Block(b) => {
                    let s = scope.child(b.kw.clone(), b.role.clone());
                    walk(&b.block, &s, out);
                }
            }
        }
    }
    // Role handlers run in their role's scope.
    for it in items {
        match it {
            Item::Task(t) => {
                let s = match &t.role {
                    Some(r) => root.child(Default::default(), Some(r.clone())),
                    None => root.clone(),
                };
                out.push((t.clone(), s));
            }
            Item::Block(_) => walk(std::slice::from_ref(it), root, &mut out),
        }
    }
    out
}

fn load_vars_files(play: &Play, ctx: &Arc<Context>) -> Result<Vec<Arc<Mapping>>> {
    let mut out = Vec::new();
    for vf in &play.vars_files {
        // A list entry means: the first of these files that exists.
        let candidates: Vec<Node> = match &vf.kind {
            Kind::Seq(items) => items.clone(),
            _ => vec![vf.clone()],
        };
        let mut loaded = false;
        let mut tried = Vec::new();
        for c in &candidates {
            let name = match ctx.template_node(c).map_err(|e| e.or_at(&c.span))? {
                Value::String(s) => s,
                other => other.to_string(),
            };
            // A relative name is looked for in the play's vars/ directory first, as
            // Ansible's search for vars files does.
            let p = if std::path::Path::new(&name).is_absolute() {
                name.clone().into()
            } else {
                let in_vars = play.dir.join("vars").join(&name);
                if !name.starts_with("vars/") && in_vars.is_file() {
                    in_vars
                } else {
                    play.dir.join(&name)
                }
            };
            if p.is_file() {
                let vars = crate::playbook::load_vars(&p).map_err(|e| {
                    if e.general {
                        Error::new(format!(
                            "Invalid vars_files file '{}': {}",
                            p.display(),
                            e.msg
                        ))
                        .general()
                    } else {
                        e
                    }
                })?;
                out.push(Arc::new(vars));
                loaded = true;
                break;
            }
            tried.push(p.display().to_string());
        }
        if !loaded {
            return Err(Error::at(
                format!("vars file {} was not found", tried.join(", ")),
                &vf.span,
            ));
        }
    }
    Ok(out)
}

/// Split hosts into `serial` batches (a number, a percentage, or a list of them; the last
/// size repeats).
pub(super) fn serial_batches(
    ctx: &Arc<PlayCtx>,
    serial: Option<&Node>,
    hosts: &[String],
) -> Result<Vec<Vec<String>>> {
    let Some(serial) = serial else {
        return Ok(vec![hosts.to_vec()]);
    };
    let c = ctx.play_context(&hosts[0]);
    let v = c.template_node(serial)?;
    let sizes: Vec<Value> = match v {
        Value::Array(a) => a,
        other => vec![other],
    };
    let total = hosts.len();
    let size_of = |v: &Value| -> Result<usize> {
        let n = match v {
            Value::Number(n) => n.as_f64().unwrap_or(0.0) as usize,
            Value::String(s) => {
                if let Some(p) = s.trim().strip_suffix('%') {
                    let pct: f64 = p.trim().parse().map_err(|_| {
                        Error::at(format!("invalid serial value: {s}"), &serial.span)
                    })?;
                    ((total as f64) * pct / 100.0) as usize
                } else {
                    s.trim().parse().map_err(|_| {
                        Error::at(format!("invalid serial value: {s}"), &serial.span)
                    })?
                }
            }
            _ => 0,
        };
        Ok(if n == 0 { total } else { n.max(1) })
    };
    let mut out = Vec::new();
    let mut i = 0;
    let mut idx = 0;
    while i < total {
        let n = size_of(&sizes[idx.min(sizes.len() - 1)])?;
        out.push(hosts[i..(i + n).min(total)].to_vec());
        i += n;
        idx += 1;
    }
    Ok(out)
}

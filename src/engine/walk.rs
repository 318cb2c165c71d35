//! Walking task lists for a set of hosts in lockstep (the linear strategy): blocks with
//! rescue and always, tag selection, `--start-at-task`, dynamic includes, handler flushes.

use super::play::PlayCtx;
use super::scope::Scope;
use super::task::{self, run_task};
use crate::error::{Error, Result};
use crate::output::ERROR_TEXT_KEY;
use crate::playbook::{scalar_string, Block, Ctx, Item, Keywords, PlayAcc, RoleSpec, Task};
use crate::template::Context;
use crate::yaml::Node;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

pub fn run_items(
    ctx: &Arc<PlayCtx>,
    items: &[Item],
    scope: &Arc<Scope>,
    hosts: &[String],
) -> Result<()> {
    for item in items {
        if super::interrupt::requested() {
            return Err(Error::new("User interrupted execution"));
        }
        if ctx.end_play.load(Ordering::SeqCst) || ctx.end_batch.load(Ordering::SeqCst) {
            return Ok(());
        }
        let active = ctx.active(hosts);
        if active.is_empty() {
            return Ok(());
        }
        match item {
            Item::Task(t) => run_task_item(ctx, t, scope, &active)?,
            Item::Block(b) => run_block(ctx, b, scope, &active)?,
        }
    }
    Ok(())
}

fn run_block(
    ctx: &Arc<PlayCtx>,
    b: &Arc<Block>,
    scope: &Arc<Scope>,
    hosts: &[String],
) -> Result<()> {
    if let Some(sref) = &b.stage {
        return run_stage_block(ctx, b, sref, scope, hosts);
    }
    // A role that already completed on a host is not run there again.
    let pending;
    let hosts = match &b.dedupe_key {
        Some(key) => {
            pending = ctx.role_pending(key, hosts);
            if pending.is_empty() {
                return Ok(());
            }
            &pending[..]
        }
        None => hosts,
    };
    let r = run_block_sections(ctx, b, scope, hosts);
    if let (Some(role), true) = (&b.role, b.is_role) {
        ctx.role_done(role);
        if let Some(key) = &b.dedupe_key {
            ctx.role_completed(role, key, hosts);
        }
        super::stages::close_role(ctx, role, hosts)?;
    }
    r
}

/// A role's imported stage file: decided per host (the import's condition, then the
/// checkpoint), read only if it runs somewhere.
fn run_stage_block(
    ctx: &Arc<PlayCtx>,
    b: &Arc<Block>,
    sref: &Arc<crate::playbook::StageRef>,
    scope: &Arc<Scope>,
    hosts: &[String],
) -> Result<()> {
    let s = scope.child(b.kw.clone(), b.role.clone());
    let conds = s.conditions();
    let mut selected = Vec::new();
    for h in hosts {
        let c = Context::new(Arc::new(ctx.vars_for(h, Some(&s), None, None)));
        if task::eval_conditions(&c, &conds, "when")?.is_none() {
            selected.push(h.clone());
        }
    }
    if selected.is_empty() {
        return Ok(());
    }
    let run_on = super::stages::enter(ctx, sref, &s, &selected, None)?;
    if run_on.is_empty() {
        return Ok(());
    }
    let lctx = Ctx {
        dir: sref.path.parent().map(Into::into).unwrap_or_default(),
        play_dir: ctx.play.dir.clone(),
        role: Some(sref.role.clone()),
        handlers: false,
        vars: ctx.load_vars(),
        in_handler: false,
    };
    match ctx
        .run
        .loader
        .load_task_file(&sref.path, &lctx, &mut PlayAcc::default(), &b.span)
    {
        Ok(items) => {
            let r = run_items(ctx, &items, &s, &run_on);
            super::stages::leave(ctx, sref)?;
            r
        }
        Err(e) => {
            super::stages::leave(ctx, sref)?;
            Err(e)
        }
    }
}

fn run_block_sections(
    ctx: &Arc<PlayCtx>,
    b: &Arc<Block>,
    scope: &Arc<Scope>,
    hosts: &[String],
) -> Result<()> {
    let s = match (&b.role, b.is_role) {
        (Some(role), true) if !role.params.is_empty() => Arc::new(Scope {
            parent: Some(scope.clone()),
            kw: b.kw.clone(),
            role: Some(role.clone()),
            params: Some(role.params.clone()),
            inherit_conditions: true,
            handler: false,
            guarded: false,
        }),
        _ => scope.child(b.kw.clone(), b.role.clone()),
    };
    if b.rescue.is_empty() && b.always.is_empty() {
        return run_items(ctx, &b.block, &s, hosts);
    }
    run_items(ctx, &b.block, &s.guard(), hosts)?;
    let run = &ctx.run;
    let failed_now: Vec<String> = {
        let failed = run.failed.lock().unwrap();
        hosts
            .iter()
            .filter(|h| failed.contains(*h))
            .cloned()
            .collect()
    };
    if !b.rescue.is_empty() && !failed_now.is_empty() {
        for h in &failed_now {
            run.failed.lock().unwrap().remove(h);
            if ctx.failed_by_others.lock().unwrap().remove(h) {
                continue;
            }
            run.stat(h, |st| {
                st.failures = st.failures.saturating_sub(1);
                st.rescued += 1;
            });
            let last = ctx.last_failure(h);
            run.host_state(h, |hs| {
                if let Some((t, r)) = last {
                    hs.vars.insert("ansible_failed_task".into(), t);
                    hs.vars.insert("ansible_failed_result".into(), r);
                }
            });
        }
        let rescue_scope = if b.always.is_empty() {
            s.clone()
        } else {
            s.guard()
        };
        run_items(ctx, &b.rescue, &rescue_scope, &failed_now)?;
    }
    if !b.always.is_empty() {
        let still_failed: Vec<String> = {
            let failed = run.failed.lock().unwrap();
            hosts
                .iter()
                .filter(|h| failed.contains(*h))
                .cloned()
                .collect()
        };
        for h in &still_failed {
            run.failed.lock().unwrap().remove(h);
        }
        let cleared = ctx.errors_cleared.load(Ordering::SeqCst);
        let r = run_items(ctx, &b.always, &s, hosts);
        if ctx.errors_cleared.load(Ordering::SeqCst) == cleared {
            let mut failed = run.failed.lock().unwrap();
            for h in still_failed {
                failed.insert(h);
            }
        }
        r?;
    }
    Ok(())
}

/// Whether the task's tags select it under `--tags` / `--skip-tags`.
pub fn tags_select(ctx: &Arc<PlayCtx>, tags: &HashSet<String>) -> bool {
    tags_match(tags, &ctx.run.opts.tags, &ctx.run.opts.skip_tags)
}

/// Ansible's tag selection: `--tags` (with `all`, `tagged`, `untagged`, `always`, `never`)
/// then `--skip-tags`.
pub fn tags_match(tags: &HashSet<String>, only: &[String], skip: &[String]) -> bool {
    let only: HashSet<&str> = only.iter().map(String::as_str).collect();
    let skip: HashSet<&str> = skip.iter().map(String::as_str).collect();
    let has = |t: &str| tags.contains(t);
    let selected = has("always")
        || (only.contains("all") && !has("never"))
        || tags.iter().any(|t| only.contains(t.as_str()))
        || (only.contains("tagged") && !tags.is_empty() && !has("never"))
        || (only.contains("untagged") && tags.is_empty());
    let skipped = if skip.contains("all") {
        !has("always") || skip.contains("always")
    } else {
        tags.iter().any(|t| skip.contains(t.as_str()))
            || (skip.contains("tagged") && !tags.is_empty())
            || (skip.contains("untagged") && tags.is_empty())
    };
    selected && !skipped
}

/// The effective tags of a task: its own and those its levels pass down.
pub fn effective_tags(
    ctx: &Arc<PlayCtx>,
    task: &Task,
    scope: &Arc<Scope>,
    host: &str,
) -> HashSet<String> {
    let mut nodes: Vec<Node> = task.kw.tags.clone();
    nodes.extend(scope.tags());
    let mut out = HashSet::new();
    let mut c: Option<Arc<Context>> = None;
    for n in nodes {
        match scalar_string(&n) {
            Some(s) if crate::template::is_template(&s) => {
                let cx = c.get_or_insert_with(|| ctx.play_context(host));
                match cx.template_node(&n) {
                    Ok(Value::String(s)) => {
                        out.insert(s);
                    }
                    Ok(Value::Array(a)) => out.extend(a.into_iter().map(|v| task::value_str(&v))),
                    Ok(other) => {
                        out.insert(task::value_str(&other));
                    }
                    Err(_) => {
                        out.insert(s);
                    }
                }
            }
            Some(s) => {
                out.insert(s);
            }
            None => {}
        }
    }
    out
}

fn run_task_item(
    ctx: &Arc<PlayCtx>,
    t: &Arc<Task>,
    scope: &Arc<Scope>,
    hosts: &[String],
) -> Result<()> {
    let tags = effective_tags(ctx, t, scope, &hosts[0]);
    if !tags_select(ctx, &tags) {
        return Ok(());
    }
    if ctx.starting.load(Ordering::SeqCst) {
        let want = ctx.run.opts.start_at_task.clone().unwrap_or_default();
        let name = t.name.as_ref().and_then(scalar_string).unwrap_or_default();
        let role_name = t
            .role
            .as_ref()
            .map(|r| format!("{} : {}", r.name, name))
            .unwrap_or_default();
        if name != want && role_name != want {
            return Ok(());
        }
        ctx.starting.store(false, Ordering::SeqCst);
    }
    match t.action.as_str() {
        "include_tasks" | "include_role" => include(ctx, t, scope, hosts),
        "meta" => super::meta::run_meta(ctx, t, scope, hosts, scope.in_handler()),
        _ => run_task(ctx, t, scope, hosts, scope.in_handler()),
    }
}

/// What an include resolved to for one host (and loop item).
struct IncludeTarget {
    key: String,
    item_vars: Option<serde_json::Map<String, Value>>,
    hosts: Vec<String>,
}

/// Evaluate an include for each host: condition, loop, templated arguments. Returns the
/// resolved argument mappings grouped by (arguments, item).
fn resolve_include(
    ctx: &Arc<PlayCtx>,
    t: &Arc<Task>,
    scope: &Arc<Scope>,
    hosts: &[String],
) -> Result<Vec<(IncludeTarget, serde_json::Map<String, Value>)>> {
    let mut groups: Vec<(IncludeTarget, serde_json::Map<String, Value>)> = Vec::new();
    let mut skipped = Vec::new();
    if ctx.is_handler(t) || scope.in_handler() {
        task::handler_banner(ctx, t, scope, hosts);
    } else {
        task::banner(ctx, t, scope, hosts);
    }
    for h in hosts {
        let runs = task::include_runs(ctx, t, scope, h)?;
        register_include(ctx, t, h, &runs);
        match runs {
            task::IncludeRuns::Skipped(result) => skipped.push((h.clone(), result)),
            task::IncludeRuns::Failed(result) => {
                task::report_single(ctx, t, scope, h, result, false)
            }
            task::IncludeRuns::Run(list) => {
                for (args, item_vars) in list {
                    let key = format!(
                        "{}|{}",
                        Value::Object(args.clone()),
                        item_vars
                            .as_ref()
                            .map(|m| Value::Object(m.clone()).to_string())
                            .unwrap_or_default()
                    );
                    match groups.iter_mut().find(|(g, _)| g.key == key) {
                        Some((g, _)) => g.hosts.push(h.clone()),
                        None => groups.push((
                            IncludeTarget {
                                key,
                                item_vars,
                                hosts: vec![h.clone()],
                            },
                            args,
                        )),
                    }
                }
            }
        }
    }
    if !skipped.is_empty() {
        for (h, r) in skipped {
            task::report_single(ctx, t, scope, &h, r, true);
        }
    }
    Ok(groups)
}

/// What an include registers, as Ansible's: its skip or failure, else `changed: false`
/// (one such result per item of a loop, with the item's loop variables).
fn register_include(ctx: &Arc<PlayCtx>, t: &Task, host: &str, runs: &task::IncludeRuns) {
    let Some(reg) = &t.register else { return };
    let ran = || {
        let mut r = serde_json::Map::new();
        r.insert("changed".into(), Value::Bool(false));
        r.insert("failed".into(), Value::Bool(false));
        r
    };
    let value = match runs {
        task::IncludeRuns::Skipped(r) | task::IncludeRuns::Failed(r) => {
            super::registered::registered(r)
        }
        task::IncludeRuns::Run(list) if t.loop_.is_some() => {
            let results = list
                .iter()
                .map(|(_, item_vars)| {
                    let mut r = ran();
                    let vars = item_vars.clone().unwrap_or_default();
                    // Ansible's order: the names of the loop variables, then their values.
                    let names = ["ansible_loop_var", "ansible_index_var"];
                    for k in names {
                        if let Some(v) = vars.get(k) {
                            r.insert(k.into(), v.clone());
                        }
                    }
                    for k in names {
                        if let Some(name) = vars.get(k).and_then(Value::as_str) {
                            if let Some(v) = vars.get(name) {
                                r.insert(name.into(), v.clone());
                            }
                        }
                    }
                    Value::Object(r)
                })
                .collect();
            let mut r = ran();
            r.insert("msg".into(), Value::String("All items completed".into()));
            r.insert("results".into(), Value::Array(results));
            r
        }
        task::IncludeRuns::Run(_) => ran(),
    };
    ctx.run.host_state(host, |hs| {
        hs.vars.insert(reg.clone(), Value::Object(value));
    });
}

/// An include decided for some hosts, with what it brings in: a task file (read now, or
/// when its stage runs for a stage file) or a role's block.
struct LoadedInclude {
    target: IncludeTarget,
    body: IncludeBody,
}

enum IncludeBody {
    Tasks {
        path: std::path::PathBuf,
        lctx: Ctx,
        boundary: Option<Arc<crate::playbook::StageRef>>,
        items: Option<Vec<Item>>,
    },
    Role {
        item: Item,
        role: Option<Arc<crate::playbook::Role>>,
    },
}

/// `include_tasks` / `include_role`: decide it per host, read what it brings in (a file
/// that fails to load fails its hosts, and under any_errors_fatal the batch, before any
/// included task runs), then run the included tasks.
fn include(ctx: &Arc<PlayCtx>, t: &Arc<Task>, scope: &Arc<Scope>, hosts: &[String]) -> Result<()> {
    let groups = resolve_include(ctx, t, scope, hosts)?;
    let mut loaded = Vec::new();
    for (target, args) in groups {
        let body = if t.action == "include_role" {
            load_included_role(ctx, t, scope, &target, &args)?
        } else {
            load_included_tasks(ctx, t, scope, &target, &args)?
        };
        if let Some(body) = body {
            loaded.push(LoadedInclude { target, body });
        }
    }
    task::fail_batch_if_fatal(ctx, t, scope, hosts, false);
    let ready: Vec<LoadedInclude> = loaded
        .into_iter()
        .filter_map(|inc| {
            let hosts = ctx.active(&inc.target.hosts);
            (!hosts.is_empty()).then(|| LoadedInclude {
                target: IncludeTarget {
                    hosts,
                    ..inc.target
                },
                body: inc.body,
            })
        })
        .collect();
    // As Ansible does, every file or role the include brings in (one per loop item) is
    // announced before any of them runs; a stage file is announced when its stage starts.
    for inc in &ready {
        match &inc.body {
            IncludeBody::Tasks {
                path,
                boundary: None,
                ..
            } => announce_include(ctx, &path.display().to_string(), &inc.target),
            IncludeBody::Role { role, .. } => {
                let name = role.as_ref().map(|r| r.name.clone()).unwrap_or_default();
                announce_include(ctx, &name, &inc.target)
            }
            IncludeBody::Tasks { .. } => {}
        }
    }
    for inc in ready {
        let target = inc.target;
        match inc.body {
            IncludeBody::Tasks {
                path,
                lctx,
                boundary,
                items,
            } => run_included_tasks(ctx, t, scope, target, &path, &lctx, boundary, items)?,
            IncludeBody::Role { item, role } => {
                run_included_role(ctx, t, scope, target, item, role)?
            }
        }
    }
    Ok(())
}

/// Fail the hosts of an include whose file or role could not be loaded: the result
/// carries the loader's message (the [ERROR] line adds where it happened). A parse error
/// in what was read (YAML, an invalid task) stops the run instead, as in Ansible.
fn report_load_error(
    ctx: &Arc<PlayCtx>,
    t: &Arc<Task>,
    scope: &Arc<Scope>,
    hosts: &[String],
    e: &Error,
) -> Result<()> {
    if !e.general {
        return Err(Error {
            stops_run: true,
            ..e.clone()
        });
    }
    for h in hosts {
        let mut r = serde_json::Map::new();
        r.insert("changed".into(), json!(false));
        r.insert("failed".into(), json!(true));
        r.insert("msg".into(), json!(e.msg));
        r.insert(ERROR_TEXT_KEY.into(), json!(e.report().trim_end()));
        task::report_unignorable(ctx, t, scope, h, r);
    }
    Ok(())
}

/// Read an included task file, unless it is a stage file (read when its stage runs).
fn load_included_tasks(
    ctx: &Arc<PlayCtx>,
    t: &Arc<Task>,
    scope: &Arc<Scope>,
    target: &IncludeTarget,
    args: &serde_json::Map<String, Value>,
) -> Result<Option<IncludeBody>> {
    let file = args
        .get("file")
        .or_else(|| args.get("_raw_params"))
        .map(task::value_str)
        .unwrap_or_default();
    let lctx = include_ctx(ctx, t);
    let path = ctx.run.loader.task_file_path(&file, &lctx);
    let boundary = crate::playbook::stage_boundary(&path, &t.span, &lctx);
    let items = if boundary.is_some() {
        None
    } else {
        match ctx
            .run
            .loader
            .load_task_file(&path, &lctx, &mut PlayAcc::default(), &t.span)
        {
            Ok(items) => Some(items),
            Err(e) => {
                report_load_error(ctx, t, scope, &target.hosts, &e)?;
                return Ok(None);
            }
        }
    };
    Ok(Some(IncludeBody::Tasks {
        path,
        lctx,
        boundary,
        items,
    }))
}

#[allow(clippy::too_many_arguments)]
fn run_included_tasks(
    ctx: &Arc<PlayCtx>,
    t: &Arc<Task>,
    scope: &Arc<Scope>,
    target: IncludeTarget,
    path: &std::path::Path,
    lctx: &Ctx,
    boundary: Option<Arc<crate::playbook::StageRef>>,
    items: Option<Vec<Item>>,
) -> Result<()> {
    let mut target = target;
    if let Some(sref) = &boundary {
        target.hosts = super::stages::enter(ctx, sref, scope, &target.hosts, Some(t))?;
        if target.hosts.is_empty() {
            return Ok(());
        }
    }
    let leave = |ctx: &Arc<PlayCtx>| match &boundary {
        Some(sref) => super::stages::leave(ctx, sref),
        None => Ok(()),
    };
    let items = match items {
        Some(items) => items,
        None => match ctx
            .run
            .loader
            .load_task_file(path, lctx, &mut PlayAcc::default(), &t.span)
        {
            Ok(items) => items,
            Err(e) => {
                report_load_error(ctx, t, scope, &target.hosts, &e)?;
                return leave(ctx);
            }
        },
    };
    if boundary.is_some() {
        announce_include(ctx, &path.display().to_string(), &target);
    }
    let child = include_scope(ctx, scope, t, target.item_vars, None);
    let r = run_items(ctx, &items, &child, &target.hosts);
    leave(ctx)?;
    r
}

/// `included: NAME for HOSTS`, counted as ok for each host (as Ansible's recap does).
fn announce_include(ctx: &Arc<PlayCtx>, name: &str, target: &IncludeTarget) {
    let item_label = target
        .item_vars
        .as_ref()
        .and_then(|m| m.get("__label").cloned());
    ctx.run
        .cb()
        .include(name, &target.hosts, item_label.as_ref());
    task::count_included(ctx, &target.hosts);
}

/// What the loader needs to find and read an include's file: relative to the including
/// file, in its role.
pub fn include_ctx(ctx: &Arc<PlayCtx>, t: &Task) -> Ctx {
    Ctx {
        dir: t
            .span
            .file
            .rsplit_once('/')
            .map(|(d, _)| d.into())
            .unwrap_or_default(),
        play_dir: ctx.play.dir.clone(),
        role: t.role.clone(),
        // A handler's include is read as a handlers list (its role's handlers/ directory
        // first; blocks only at the top).
        handlers: ctx.is_handler(t),
        vars: ctx.load_vars(),
        in_handler: false,
    }
}

/// The level an include creates: its vars, its `apply` keywords, the loop variables.
fn include_scope(
    ctx: &Arc<PlayCtx>,
    scope: &Arc<Scope>,
    t: &Task,
    item_vars: Option<serde_json::Map<String, Value>>,
    role: Option<Arc<crate::playbook::Role>>,
) -> Arc<Scope> {
    let handler = ctx.is_handler(t);
    let kw: Keywords = t.apply.as_deref().cloned().unwrap_or_default();
    // The include's vars and loop variables are Ansible's "include params": above
    // set_fact and include_vars for everything the include brings in.
    let mut params = t.kw.vars.clone();
    for (k, v) in item_vars.unwrap_or_default() {
        if k != "__label" {
            params.insert(k, t.span.clone(), Node::from_data(&v, &t.span));
        }
    }
    let params = (!params.is_empty()).then_some(params);
    let role = role.or_else(|| scope.role.clone());
    Arc::new(Scope {
        parent: Some(scope.clone()),
        kw,
        role,
        params,
        inherit_conditions: false,
        handler,
        guarded: false,
    })
}

/// Load an included role's block; its handlers join the play's.
fn load_included_role(
    ctx: &Arc<PlayCtx>,
    t: &Arc<Task>,
    scope: &Arc<Scope>,
    target: &IncludeTarget,
    args: &serde_json::Map<String, Value>,
) -> Result<Option<IncludeBody>> {
    let get = |k: &str| args.get(k).map(task::value_str);
    let Some(name) = get("name").or_else(|| get("role")) else {
        return Err(Error::at(
            "'name' is a required field for include_role.",
            &t.span,
        ));
    };
    let public = args.get("public").map(task::truthy).unwrap_or(false);
    let spec = RoleSpec::from_args(name, get, public, Keywords::default(), &t.span);
    let lctx = Ctx {
        dir: ctx.play.dir.clone(),
        play_dir: ctx.play.dir.clone(),
        role: t.role.clone(),
        handlers: false,
        vars: ctx.load_vars(),
        in_handler: ctx.is_handler(t),
    };
    let mut acc = PlayAcc {
        seen_roles: ctx.seen_roles.lock().unwrap().clone(),
        ..Default::default()
    };
    let dedupe = crate::playbook::Dedupe::unless_allowed(args.get("allow_duplicates").cloned());
    let loaded = ctx.run.loader.role_block(spec, &lctx, &mut acc, dedupe);
    ctx.seen_roles
        .lock()
        .unwrap()
        .extend(acc.seen_roles.iter().cloned());
    let item = match loaded {
        Ok(Some(item)) => item,
        Ok(None) => return Ok(None),
        Err(e) => {
            report_load_error(ctx, t, scope, &target.hosts, &e)?;
            return Ok(None);
        }
    };
    if public {
        ctx.dynamic_roles
            .lock()
            .unwrap()
            .extend(acc.roles.iter().cloned());
    }
    // The included role's handlers join the play's, in its role's scope.
    if !acc.handlers.is_empty() {
        let mut hs = ctx.handlers.lock().unwrap();
        for h in &acc.handlers {
            if let crate::playbook::Item::Task(t) = h {
                if hs.iter().any(|(x, _)| x.span == t.span) {
                    continue;
                }
                let s = ctx.root.child(Default::default(), t.role.clone());
                hs.push((t.clone(), s));
            }
        }
    }
    let role = match &item {
        Item::Block(b) => b.role.clone(),
        _ => None,
    };
    Ok(Some(IncludeBody::Role { item, role }))
}

fn run_included_role(
    ctx: &Arc<PlayCtx>,
    t: &Arc<Task>,
    scope: &Arc<Scope>,
    target: IncludeTarget,
    item: Item,
    role: Option<Arc<crate::playbook::Role>>,
) -> Result<()> {
    let child = include_scope(ctx, scope, t, target.item_vars, role);
    run_items(ctx, std::slice::from_ref(&item), &child, &target.hosts)
}

/// Run every notified handler, in the order handlers are defined, for the hosts that
/// notified it.
pub fn flush_handlers(ctx: &Arc<PlayCtx>, hosts: &[String]) -> Result<()> {
    // The play keyword, when set, overrides --force-handlers and the configuration.
    let force = ctx
        .play
        .force_handlers
        .as_ref()
        .map(|n| task::truthy(&n.to_json()))
        .unwrap_or(ctx.run.opts.force_handlers);
    let handlers = ctx.handlers.lock().unwrap().clone();
    for (i, (handler, scope)) in handlers.iter().enumerate() {
        let notified: Vec<String> = {
            let mut n = ctx.notified.lock().unwrap();
            let Some(list) = n.get_mut(&i) else { continue };
            let eligible: Vec<String> = if force {
                let unreachable = ctx.run.unreachable.lock().unwrap();
                list.iter()
                    .filter(|h| hosts.contains(h) && !unreachable.contains(*h))
                    .cloned()
                    .collect()
            } else {
                let active = ctx.active(hosts);
                list.iter()
                    .filter(|h| active.contains(h))
                    .cloned()
                    .collect()
            };
            list.retain(|h| !eligible.contains(h));
            eligible
        };
        if notified.is_empty() {
            continue;
        }
        if force {
            // Forced handlers run on hosts that failed as well.
            let mut failed = ctx.run.failed.lock().unwrap();
            let was: Vec<String> = notified
                .iter()
                .filter(|h| failed.contains(*h))
                .cloned()
                .collect();
            for h in &was {
                failed.remove(h);
            }
            drop(failed);
            let r = run_handler(ctx, handler, scope, &notified);
            let mut failed = ctx.run.failed.lock().unwrap();
            for h in was {
                failed.insert(h);
            }
            r?;
        } else {
            run_handler(ctx, handler, scope, &notified)?;
        }
    }
    Ok(())
}

/// One notified handler; a handler that is an include brings in its tasks for those hosts.
fn run_handler(
    ctx: &Arc<PlayCtx>,
    handler: &Arc<Task>,
    scope: &Arc<Scope>,
    hosts: &[String],
) -> Result<()> {
    match handler.action.as_str() {
        "include_tasks" | "include_role" => include(ctx, handler, scope, hosts),
        "meta" => super::meta::run_meta(ctx, handler, scope, hosts, true),
        _ => run_task(ctx, handler, scope, hosts, true),
    }
}

//! `meta` tasks: actions on the play's run rather than on a host. Each prints its banner,
//! says what it did at -vv (`META: ...`) and, when its condition is false, shows a skip
//! that the recap does not count, as Ansible's strategies do.

use super::play::PlayCtx;
use super::scope::Scope;
use super::task;
use super::walk::flush_handlers;
use crate::error::{Error, Result};
use crate::output::{RunnerResult, Status};
use crate::playbook::{scalar_string, Task};
use crate::template::Context;
use serde_json::{json, Map};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Meta actions that run for each host; the others run once, for the first host, and act
/// on the whole play.
const PER_HOST: &[&str] = &[
    "noop",
    "reset_connection",
    "end_host",
    "role_complete",
    "flush_handlers",
    "end_role",
];

/// Actions whose `when` Ansible ignores (with a warning).
const UNCONDITIONAL: &[&str] = &["noop", "refresh_inventory", "reset_connection"];

pub fn meta_name(t: &Task) -> Option<String> {
    t.args.get("_raw_params").and_then(scalar_string)
}

pub fn run_meta(
    ctx: &Arc<PlayCtx>,
    t: &Arc<Task>,
    scope: &Arc<Scope>,
    hosts: &[String],
    is_handler: bool,
) -> Result<()> {
    let action = meta_name(t).unwrap_or_default();
    if is_handler && action == "flush_handlers" {
        return Err(Error::at(
            "flush_handlers cannot be used as a handler",
            &t.span,
        ));
    }
    if action == "role_complete" {
        return Ok(());
    }
    let targets = if PER_HOST.contains(&action.as_str()) {
        hosts
    } else {
        &hosts[..hosts.len().min(1)]
    };
    let mut flush = Vec::new();
    for host in targets {
        if is_handler {
            task::handler_banner(ctx, t, scope, std::slice::from_ref(host));
        } else {
            task::banner(ctx, t, scope, std::slice::from_ref(host));
        }
        if UNCONDITIONAL.contains(&action.as_str()) && !t.kw.when.is_empty() {
            ctx.run
                .cb()
                .warning(&format!("{action} task does not support when conditional"));
        }
        let selected = UNCONDITIONAL.contains(&action.as_str()) || condition(ctx, t, scope, host)?;
        let outcome = if selected {
            apply(ctx, t, &action, host, hosts, &mut flush)?
        } else {
            Outcome::Skipped(skip_reason(t, &action, host))
        };
        report(ctx, t, scope, host, &action, outcome);
    }
    if !flush.is_empty() {
        flush_handlers(ctx, &ctx.active(&flush))?;
    }
    Ok(())
}

enum Outcome {
    Done(String),
    Skipped(String),
}

/// The meta task's own condition and those of the levels around it, for one host.
fn condition(ctx: &Arc<PlayCtx>, t: &Task, scope: &Arc<Scope>, host: &str) -> Result<bool> {
    let mut conds = scope.conditions();
    conds.extend(t.kw.when.iter().cloned());
    if conds.is_empty() {
        return Ok(true);
    }
    let c = Context::new(Arc::new(ctx.vars_for(host, Some(scope), Some(&t.kw), None)));
    Ok(task::eval_conditions(&c, &conds, "when")?.is_none())
}

/// Do what the action asks; the message is what -vv shows.
fn apply(
    ctx: &Arc<PlayCtx>,
    t: &Task,
    action: &str,
    host: &str,
    hosts: &[String],
    flush: &mut Vec<String>,
) -> Result<Outcome> {
    let run = &ctx.run;
    let msg = match action {
        "noop" => "noop".to_string(),
        "flush_handlers" => {
            task::announce_notified(ctx, host);
            flush.push(host.to_string());
            format!("triggered running handlers for {host}")
        }
        "refresh_inventory" => {
            let warnings = run
                .inventory
                .write()
                .unwrap()
                .refresh()
                .map_err(|e| Error::at(e.0, &t.span))?;
            for w in warnings {
                crate::diag::warn(w);
            }
            // Hosts the inventory no longer has take no further part in the play.
            let gone: Vec<String> = {
                let inv = run.inventory.read().unwrap();
                ctx.batch
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|h| !inv.hosts.contains_key(*h) && !inv.is_implicit_localhost(h))
                    .cloned()
                    .collect()
            };
            ctx.ended.lock().unwrap().extend(gone);
            "inventory successfully refreshed".into()
        }
        "reset_connection" => {
            super::connect::forget(ctx, host);
            "reset connection".into()
        }
        "clear_facts" => {
            for h in &ctx.pattern_hosts {
                run.clear_facts(h);
            }
            "facts cleared".into()
        }
        "clear_host_errors" => {
            ctx.errors_cleared.fetch_add(1, Ordering::SeqCst);
            let mut for_good = ctx.failed_for_good.lock().unwrap();
            let mut failed = run.failed.lock().unwrap();
            let mut unreachable = run.unreachable.lock().unwrap();
            for h in hosts.iter().chain(ctx.pattern_hosts.iter()) {
                failed.remove(h);
                for_good.remove(h);
                unreachable.remove(h);
            }
            "cleared host errors".into()
        }
        "end_batch" => {
            ctx.end_batch.store(true, Ordering::SeqCst);
            "ending batch".into()
        }
        "end_play" => {
            ctx.end_play.store(true, Ordering::SeqCst);
            "ending play".into()
        }
        "end_host" => {
            ctx.ended.lock().unwrap().insert(host.to_string());
            format!("ending play for {host}")
        }
        "end_role" => {
            let role = t.role.as_ref().ok_or_else(|| {
                Error::at("Cannot execute 'end_role' from outside of a role", &t.span)
            })?;
            ctx.end_role(host, role);
            format!("ending role {} for {host}", role.name)
        }
        other => {
            return Err(Error::at(
                format!("invalid meta action requested: {other}"),
                &t.span,
            ))
        }
    };
    Ok(Outcome::Done(msg))
}

/// Why a meta action whose condition is false did nothing.
fn skip_reason(t: &Task, action: &str, host: &str) -> String {
    let head = format!("{action} conditional evaluated to False");
    let role = t.role.as_ref().map(|r| r.name.as_str()).unwrap_or_default();
    match action {
        "flush_handlers" => format!("{head}, not running handlers for {host}"),
        "clear_facts" => format!("{head}, not clearing facts and fact cache for {host}"),
        "clear_host_errors" => format!("{head}, not clearing host error state for {host}"),
        "end_batch" => format!("{head}, continuing current batch"),
        "end_play" => format!("{head}, continuing play"),
        "end_host" => format!("{head}, continuing execution for {host}"),
        "end_role" => format!("{head}, continuing role {role} for {host}"),
        _ => head,
    }
}

/// `META: ...` at -vv; a skip is shown as a skipped result but not counted.
fn report(
    ctx: &Arc<PlayCtx>,
    t: &Arc<Task>,
    scope: &Arc<Scope>,
    host: &str,
    action: &str,
    outcome: Outcome,
) {
    let mut cb = ctx.run.cb();
    match outcome {
        Outcome::Done(msg) => cb.verbose(2, &format!("META: {msg}")),
        Outcome::Skipped(reason) => {
            cb.verbose(2, &format!("META: {reason}"));
            // end_host keeps its historical message; the others repeat the action.
            let msg = if action == "end_host" {
                format!("end_host conditional evaluated to false, continuing execution for {host}")
            } else {
                action.to_string()
            };
            let mut result = Map::new();
            result.insert("changed".into(), json!(false));
            result.insert("msg".into(), json!(msg));
            result.insert("skip_reason".into(), json!(reason));
            result.insert("skipped".into(), json!(true));
            let info = task::task_info(ctx, t, scope, Some(host), false);
            cb.runner_result(
                &info,
                &RunnerResult {
                    host: host.to_string(),
                    delegated_to: None,
                    status: Status::Skipped,
                    result,
                    item: None,
                    ignored: false,
                },
            );
        }
    }
}

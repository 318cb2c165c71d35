//! `--list-stages`: for every host of a play and every stage boundary its roles reach, whether
//! the stage would run or be skipped, and why. Nothing on the hosts changes: checkpoints are
//! only read.

use super::play::PlayCtx;
use super::scope::Scope;
use super::task::{self, value_str};
use crate::error::Result;
use crate::playbook::{stage_boundary, Item, Play, StageRef};
use crate::stages::Decision;
use crate::template::Context;
use std::collections::HashSet;
use std::sync::Arc;

/// One boundary as the walk finds it for a host.
struct Found {
    sref: Arc<StageRef>,
    scope: Arc<Scope>,
    /// Set when the import's or include's condition is false on the host.
    condition_false: Option<String>,
}

pub fn print(ctx: &Arc<PlayCtx>, play: &Play, hosts: &[String], name: &str) -> Result<()> {
    let mut out = format!("\nplay: {name}\n");
    let sections = [&play.pre_tasks, &play.roles, &play.tasks, &play.post_tasks];
    for host in hosts {
        out.push_str(&format!("  {host}\n"));
        let mut found = Vec::new();
        let mut seen_roles = HashSet::new();
        for items in sections {
            walk(ctx, items, &ctx.root, host, &mut found, &mut seen_roles)?;
        }
        if found.is_empty() {
            out.push_str("    (no stage-split roles)\n");
        }
        for f in found {
            let file = f
                .sref
                .path
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let (what, why) = match f.condition_false {
                Some(cond) => ("skip", format!("condition is false: {cond}")),
                None => match super::stages::plan(ctx, &f.sref, &f.scope, host)? {
                    Some(Decision::Run(r)) => ("run", r),
                    Some(Decision::Skip(r)) => ("skip", r),
                    None => ("unknown", "host unreachable".to_string()),
                },
            };
            out.push_str(&format!(
                "    {:<16} {:<10} {:<5} {} ({file})\n",
                f.sref.file.svc, f.sref.file.stage, what, why
            ));
        }
    }
    print!("{out}");
    Ok(())
}

fn walk(
    ctx: &Arc<PlayCtx>,
    items: &[Item],
    scope: &Arc<Scope>,
    host: &str,
    found: &mut Vec<Found>,
    seen_roles: &mut HashSet<String>,
) -> Result<()> {
    for item in items {
        match item {
            // A role repeated in roles: is planned once (a plain run skips the repeat once it
            // has completed on the host).
            Item::Block(b)
                if b.dedupe_key
                    .as_ref()
                    .is_some_and(|k| !seen_roles.insert(k.clone())) => {}
            Item::Block(b) => {
                let s = scope.child(b.kw.clone(), b.role.clone());
                if let Some(sref) = &b.stage {
                    found.push(Found {
                        sref: sref.clone(),
                        condition_false: false_condition(ctx, &s, &s.conditions(), host),
                        scope: s,
                    });
                    continue;
                }
                for list in [&b.block, &b.rescue, &b.always] {
                    walk(ctx, list, &s, host, found, seen_roles)?;
                }
            }
            Item::Task(t) if t.action == "include_tasks" && t.role.is_some() => {
                let c = Context::new(Arc::new(ctx.vars_for(host, Some(scope), Some(&t.kw), None)));
                let Some(raw) = t.args.get("file").or_else(|| t.args.get("_raw_params")) else {
                    continue;
                };
                // A name that cannot be worked out before the play runs is left out.
                let Ok(file) = c.template_node(raw).map(|v| value_str(&v)) else {
                    continue;
                };
                let lctx = super::walk::include_ctx(ctx, t);
                let path = ctx.run.loader.task_file_path(&file, &lctx);
                if let Some(sref) = stage_boundary(&path, &t.span, &lctx) {
                    let mut conds = scope.conditions();
                    conds.extend(t.kw.when.iter().cloned());
                    found.push(Found {
                        sref,
                        condition_false: false_condition(ctx, scope, &conds, host),
                        scope: scope.clone(),
                    });
                }
            }
            Item::Task(_) => {}
        }
    }
    Ok(())
}

/// The first false condition on the host, if any (an error counts as not false: the run
/// would report it).
fn false_condition(
    ctx: &Arc<PlayCtx>,
    scope: &Arc<Scope>,
    conds: &[crate::yaml::Node],
    host: &str,
) -> Option<String> {
    let c = Context::new(Arc::new(ctx.vars_for(host, Some(scope), None, None)));
    match task::eval_conditions(&c, conds, "when") {
        Ok(Some(v)) => Some(value_str(&v)),
        _ => None,
    }
}

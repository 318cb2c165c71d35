//! Running a play by stage (`--staged`, or `play_staged: true` in the play's vars): build
//! first, then stage and install of every role on every host in parallel (each host walks
//! its own tasks, up to forks hosts at once), then configure of every role in serial batches
//! (`play_configure_serial`, default 1) so only one batch of hosts is disturbed at a time.
//!
//! A role is cut at its stage boundaries; tasks before its first boundary go with that first
//! stage, tasks after a boundary go with it. A role without stage files runs whole in the
//! configure phase, as do the play's own `tasks:`.

use super::play::{run_free, run_sections, serial_batches, PlayCtx};
use crate::error::Result;
use crate::playbook::{Block, Item};
use crate::stages::{names, Stage};
use crate::yaml::Node;
use std::collections::HashSet;
use std::sync::Arc;

/// Whether the play runs by stage.
pub fn enabled(ctx: &Arc<PlayCtx>, host: &str) -> bool {
    if ctx.run.opts.staged {
        return true;
    }
    ctx.play_context(host)
        .resolve("play_staged")
        .and_then(|v| crate::template::from_mj(&v).ok())
        .map(|v| super::task::truthy(&v))
        .unwrap_or(false)
}

/// The roles-and-tasks section of a play, by stage, after pre_tasks and before post_tasks.
pub fn run(ctx: &Arc<PlayCtx>, items: &[Item], batch: &[String]) -> Result<()> {
    let phases = split(items);
    let verbose = |msg: String| ctx.run.cb().verbose(1, &msg);
    let build = &phases[Stage::Build as usize];
    if !build.is_empty() {
        verbose(format!("staged: build for {} host(s)", batch.len()));
        run_sections(ctx, std::slice::from_ref(build), batch)?;
    }
    let parallel: Vec<Item> = [
        phases[Stage::Stage as usize].clone(),
        phases[Stage::Install as usize].clone(),
    ]
    .concat();
    if !parallel.is_empty() {
        let hosts = ctx.active(batch);
        verbose(format!(
            "staged: stage and install on {} host(s) in parallel",
            hosts.len()
        ));
        run_free(ctx, std::slice::from_ref(&parallel), &hosts)?;
    }
    let configure = &phases[Stage::Configure as usize];
    if !configure.is_empty() {
        let hosts = ctx.active(batch);
        if hosts.is_empty() {
            return Ok(());
        }
        let serial = configure_serial(ctx, &hosts[0]);
        for group in serial_batches(ctx, Some(&serial), &hosts)? {
            let group = ctx.active(&group);
            if group.is_empty() {
                continue;
            }
            verbose(format!("staged: configure on {}", group.join(", ")));
            run_sections(ctx, std::slice::from_ref(configure), &group)?;
        }
    }
    Ok(())
}

/// `play_configure_serial` (the forms `serial` takes), 1 when unset.
fn configure_serial(ctx: &Arc<PlayCtx>, host: &str) -> Node {
    let span = crate::yaml::Span::synthetic("play_configure_serial");
    ctx.play_context(host)
        .resolve("play_configure_serial")
        .and_then(|v| crate::template::from_mj(&v).ok())
        .filter(|v| !v.is_null())
        .map(|v| Node::from_data(&v, &span))
        .unwrap_or_else(|| Node::from_data(&serde_json::json!(1), &span))
}

/// The section's items by stage, in play order within each stage.
/// A role repeated in the play runs once here (its parts run stage by stage, so whether
/// it completed cannot be decided per part).
pub fn split(items: &[Item]) -> [Vec<Item>; 4] {
    let mut out: [Vec<Item>; 4] = Default::default();
    let mut seen = HashSet::new();
    for item in items {
        match item {
            Item::Block(b) if b.is_role => {
                for (i, part) in split_role(b, &mut seen).into_iter().enumerate() {
                    out[i].extend(part);
                }
            }
            other => out[Stage::Configure as usize].push(other.clone()),
        }
    }
    out
}

/// A role block cut into its stages, each part still a block of the role (so its keywords,
/// variables and checkpoint closing apply to each part). Dependencies are cut the same way.
fn split_role(b: &Arc<Block>, seen: &mut HashSet<String>) -> [Vec<Item>; 4] {
    let mut parts: [Vec<Item>; 4] = Default::default();
    if let Some(key) = &b.dedupe_key {
        if !seen.insert(key.clone()) {
            return parts;
        }
    }
    let mut pending = Vec::new();
    let mut current: Option<Stage> = None;
    for item in &b.block {
        if let Item::Block(dep) = item {
            if dep.is_role {
                for (i, part) in split_role(dep, seen).into_iter().enumerate() {
                    parts[i].extend(part);
                }
                continue;
            }
        }
        match stage_of(item) {
            Some(s) => {
                current = Some(s);
                parts[s as usize].append(&mut pending);
                parts[s as usize].push(item.clone());
            }
            None => match current {
                Some(s) => parts[s as usize].push(item.clone()),
                None => pending.push(item.clone()),
            },
        }
    }
    parts[Stage::Configure as usize].append(&mut pending);
    parts.map(|items| {
        if items.is_empty() {
            return Vec::new();
        }
        vec![Item::Block(Arc::new(Block {
            block: items,
            dedupe_key: None,
            ..(**b).clone()
        }))]
    })
}

/// The stage a role's item opens: an imported stage file, or an include whose file name (even
/// templated) is a stage file's.
fn stage_of(item: &Item) -> Option<Stage> {
    match item {
        Item::Block(b) => b.stage.as_ref().map(|s| s.file.stage),
        Item::Task(t) if t.action == "include_tasks" => {
            let raw = t.args.get("file").or_else(|| t.args.get("_raw_params"))?;
            names::parse_templated(&crate::playbook::scalar_string(raw)?)
        }
        Item::Task(_) => None,
    }
}

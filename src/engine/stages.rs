//! Stage boundaries at run time: whether a role's stage runs on each host (its checkpoint
//! local fact, the version this run deploys, forcing), and the checkpoint a finished stage
//! leaves on the host.

use super::actions::{module_named, Call};
use super::artifacts;
use super::play::PlayCtx;
use super::scope::Scope;
use super::task::{self, truthy, value_str};
use crate::error::Result;
use crate::playbook::{Role, StageRef, Task};
use crate::stages::checkpoint::{self, Unreadable};
use crate::stages::manifest::Manifest;
use crate::stages::{Checkpoints, Decision, Stage, Want};
use crate::template::Context;
use crate::yaml::Mapping;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Where checkpoint files go when neither the play nor ansible.cfg says.
const DEFAULT_FACT_PATH: &str = "/etc/ansible/facts.d";

type HostSvc = (String, String);
type HostResult = Result<Map<String, Value>>;

/// What the run knows of stages, per host and service.
#[derive(Default)]
pub struct State {
    /// Checkpoint files as read from the hosts (and as written since).
    files: Mutex<HashMap<HostSvc, Result<Checkpoints, Unreadable>>>,
    /// The stage that runs on a host and has not finished yet.
    open: Mutex<HashMap<HostSvc, Open>>,
    /// Builds of this run, per service and version: under way, or what became of them.
    built: Mutex<HashMap<(String, String), Build>>,
    /// Signalled when a build finishes (hosts of a free strategy wait for it).
    build_done: std::sync::Condvar,
    /// Hosts whose artifacts for a service were staged in this run.
    staged: Mutex<HashSet<HostSvc>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Build {
    Running,
    Done(&'static str),
}

impl std::fmt::Display for Build {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Build::Running => f.write_str("under way"),
            Build::Done(what) => f.write_str(what),
        }
    }
}

#[derive(Clone)]
struct Open {
    stage: Stage,
    version: String,
    fingerprint: String,
    sref: Arc<StageRef>,
    scope: Arc<Scope>,
    /// For a build without developer_mode: where its artifacts are, for the manifest.
    manifest_dir: Option<PathBuf>,
    /// For a build on a host other than the controller: where it left its artifacts there.
    remote_build_dir: Option<PathBuf>,
}

/// Decide a stage boundary for each host; returns the hosts on which the stage runs. The
/// hosts that skip it get a `skipping` line with the reason (under `reporter`, the include
/// task, when the boundary is an include; under a task named for the stage otherwise).
pub fn enter(
    ctx: &Arc<PlayCtx>,
    sref: &Arc<StageRef>,
    scope: &Arc<Scope>,
    hosts: &[String],
    reporter: Option<&Arc<Task>>,
) -> Result<Vec<String>> {
    let Some(first) = hosts.first() else {
        return Ok(Vec::new());
    };
    let svc = &sref.file.svc;
    let stage = sref.file.stage;
    let files = checkpoint::stage_files(&sref.role.path.join("tasks"), svc, stage);
    let fingerprint = checkpoint::fingerprint(&files);
    let c0 = Context::new(Arc::new(ctx.vars_for(first, Some(scope), None, None)));
    let developer = artifacts::developer_mode(&c0);
    if stage == Stage::Build && !developer {
        return build_once(ctx, sref, scope, hosts, reporter, &c0, &fingerprint);
    }
    let mut run_on = Vec::new();
    let mut skipped: Vec<(String, String)> = Vec::new();
    let mut to_stage: Vec<String> = Vec::new();
    let mut failed: Vec<(String, String)> = Vec::new();
    for host in hosts {
        let key = (host.clone(), svc.clone());
        // A stage that is already running on the host (pre_install then install) goes on.
        let continuing = {
            let open = ctx.run.stages.open.lock().unwrap();
            open.get(&key).map(|o| o.stage == stage)
        };
        if continuing == Some(true) {
            run_on.push(host.clone());
            continue;
        }
        // Another stage of the service finished here: record it before this one starts.
        close(ctx, host, svc)?;
        if !ctx.active(std::slice::from_ref(host)).contains(host) {
            continue;
        }
        let Some((decision, want)) = decide(ctx, sref, scope, host, &fingerprint)? else {
            continue; // unreachable: reported by read
        };
        ctx.run.cb().verbose(
            2,
            &format!(
                "stage {stage} of {svc} on {host}: {} ({})",
                if decision.skips() { "skipped" } else { "runs" },
                decision.reason()
            ),
        );
        // Stage and install read the build's artifacts: the stage step brings them first.
        let needs_artifacts = matches!(stage, Stage::Stage | Stage::Install) && !developer;
        if needs_artifacts {
            match artifacts_for(ctx, scope, host, svc, &want.version) {
                Err(msg) => {
                    failed.push((host.clone(), msg));
                    continue;
                }
                Ok(Some(_)) if !decision.skips() => {
                    let first_time = ctx.run.stages.staged.lock().unwrap().insert(key.clone());
                    if first_time {
                        to_stage.push(host.clone());
                    }
                }
                Ok(_) => {}
            }
        }
        match decision {
            Decision::Skip(reason) => skipped.push((host.clone(), reason)),
            Decision::Run(_) => {
                if stage.checkpointed() {
                    ctx.run.stages.open.lock().unwrap().insert(
                        key,
                        Open {
                            stage,
                            version: want.version,
                            fingerprint: want.fingerprint,
                            sref: sref.clone(),
                            scope: scope.clone(),
                            manifest_dir: None,
                            remote_build_dir: None,
                        },
                    );
                }
                run_on.push(host.clone());
            }
        }
    }
    report_skips(ctx, sref, scope, reporter, skipped);
    if !failed.is_empty() {
        let t = artifacts::stage_step_task(sref);
        let names: Vec<String> = failed.iter().map(|(h, _)| h.clone()).collect();
        task::banner(ctx, &t, scope, &names);
        for (host, msg) in failed {
            task::report_single(ctx, &t, scope, &host, failure(msg), false);
        }
    }
    if !to_stage.is_empty() {
        let ok = stage_step(ctx, sref, scope, &to_stage)?;
        run_on.retain(|h| !to_stage.contains(h) || ok.contains(h));
    }
    Ok(run_on)
}

/// A `skipping` line per host, with the reason.
fn report_skips(
    ctx: &Arc<PlayCtx>,
    sref: &StageRef,
    scope: &Arc<Scope>,
    reporter: Option<&Arc<Task>>,
    skipped: Vec<(String, String)>,
) {
    if skipped.is_empty() {
        return;
    }
    let t = match reporter {
        Some(t) => t.clone(),
        None => {
            let t = stage_task(sref, "include_tasks");
            let names: Vec<String> = skipped.iter().map(|(h, _)| h.clone()).collect();
            task::banner(ctx, &t, scope, &names);
            t
        }
    };
    for (host, reason) in skipped {
        let mut r = Map::new();
        r.insert("changed".into(), json!(false));
        r.insert("skipped".into(), json!(true));
        r.insert("skip_reason".into(), json!(reason));
        task::report_single(ctx, &t, scope, &host, r, true);
    }
}

fn failure(msg: String) -> Map<String, Value> {
    let mut r = Map::new();
    r.insert("changed".into(), json!(false));
    r.insert("failed".into(), json!(true));
    r.insert("msg".into(), json!(msg));
    r
}

/// The build stage without developer_mode: once per service and version, on the build host,
/// unless the store already has the version's manifest (pre-built artifacts).
fn build_once(
    ctx: &Arc<PlayCtx>,
    sref: &Arc<StageRef>,
    scope: &Arc<Scope>,
    hosts: &[String],
    reporter: Option<&Arc<Task>>,
    c: &Arc<Context>,
    fingerprint: &str,
) -> Result<Vec<String>> {
    let svc = &sref.file.svc;
    let version = version(c, svc).unwrap_or_else(|| fingerprint.to_string());
    let key = (svc.clone(), version.clone());
    let skip_all = |reason: String| {
        let list = hosts.iter().map(|h| (h.clone(), reason.clone())).collect();
        report_skips(ctx, sref, scope, reporter, list);
        Ok(Vec::new())
    };
    {
        // One build per service and version: hosts walking on their own wait for it.
        let mut built = ctx.run.stages.built.lock().unwrap();
        while built.get(&key) == Some(&Build::Running) {
            built = ctx.run.stages.build_done.wait(built).unwrap();
        }
        if let Some(done) = built.get(&key).copied() {
            drop(built);
            return skip_all(format!(
                "build of {svc} {version} {done} earlier in this run"
            ));
        }
        built.insert(key.clone(), Build::Running);
    }
    let finish = |what: &'static str| {
        let mut built = ctx.run.stages.built.lock().unwrap();
        built.insert(key.clone(), Build::Done(what));
        ctx.run.stages.build_done.notify_all();
    };
    let store = artifacts::Store::of(ctx, c);
    let where_ = store.describe(svc, &version);
    let forced = forced(ctx, c, svc, Stage::Build);
    let fail_all = |msg: String| -> Result<Vec<String>> {
        finish("failed");
        let t = artifacts::stage_step_task(sref);
        task::banner(ctx, &t, scope, hosts);
        for h in hosts {
            task::report_single(ctx, &t, scope, h, failure(msg.clone()), false);
        }
        Ok(Vec::new())
    };
    if let artifacts::Store::Dir(d) = &store {
        if let Err(e) = std::fs::create_dir_all(d.join(svc).join(&version)) {
            return fail_all(format!("cannot create the artifact store at {where_}: {e}"));
        }
    }
    match store.manifest(svc, &version) {
        Err(msg) => return fail_all(msg),
        Ok(Some(_)) if forced.is_none() => {
            finish("found pre-built");
            return skip_all(format!(
                "pre-built artifacts: {where_}/{}",
                crate::stages::manifest::FILE
            ));
        }
        Ok(_) => {}
    }
    let artifacts::Store::Dir(root) = &store else {
        return fail_all(format!(
            "no manifest for {svc} {version} at {where_}, and a build cannot write to an HTTP artifact store: build into a directory store and publish it"
        ));
    };
    let dir = root.join(svc).join(&version);
    let bh = artifacts::build_host(ctx);
    // A build host other than the controller builds into a directory of its own; its
    // artifacts are brought into the store when the build finishes.
    let remote_dir = if artifacts::is_local(ctx, &bh, scope) {
        None
    } else {
        let bc = Context::new(Arc::new(ctx.vars_for(&bh, Some(scope), None, None)));
        let r = artifacts::remote_build_dir(&bc, svc, &version);
        let t = artifacts::stage_step_task(sref);
        if let Err(msg) = artifacts::make_remote_dir(ctx, &t, scope, &bh, &r)? {
            return fail_all(msg);
        }
        Some(r)
    };
    let build_dir = remote_dir.clone().unwrap_or_else(|| dir.clone());
    ctx.run.cb().verbose(
        2,
        &format!(
            "stage build of {svc} on {bh}: runs once, into {}",
            build_dir.display()
        ),
    );
    ctx.run.host_state(&bh, |hs| {
        hs.vars.insert(
            "play_artifact_dir".into(),
            json!(build_dir.display().to_string()),
        );
    });
    ctx.run.stages.open.lock().unwrap().insert(
        (bh.clone(), svc.clone()),
        Open {
            stage: Stage::Build,
            version,
            fingerprint: fingerprint.to_string(),
            sref: sref.clone(),
            scope: scope.clone(),
            manifest_dir: Some(dir),
            remote_build_dir: remote_dir,
        },
    );
    Ok(vec![bh])
}

/// The manifest this host's stage and install read, if the service was built. Sets
/// `play_stage_dir` and `play_manifest` for the host's tasks.
fn artifacts_for(
    ctx: &Arc<PlayCtx>,
    scope: &Arc<Scope>,
    host: &str,
    svc: &str,
    version: &str,
) -> std::result::Result<Option<Manifest>, String> {
    let c = Context::new(Arc::new(ctx.vars_for(host, Some(scope), None, None)));
    let store = artifacts::Store::of(ctx, &c);
    let found = match store.manifest(svc, version) {
        Ok(m) => m,
        // No store and nothing built: a role without a build stage.
        Err(_) if matches!(&store, artifacts::Store::Dir(d) if !d.exists()) => None,
        Err(e) => return Err(e),
    };
    let built = ctx
        .run
        .stages
        .built
        .lock()
        .unwrap()
        .get(&(svc.to_string(), version.to_string()))
        .copied();
    let Some(m) = found else {
        return match built {
            Some(_) => Err(format!(
                "no manifest for {svc} {version} at {}: its build did not finish",
                store.describe(svc, version)
            )),
            None => Ok(None),
        };
    };
    let dir = artifacts::stage_dir(&c, svc, version);
    ctx.run.host_state(host, |hs| {
        hs.vars
            .insert("play_stage_dir".into(), json!(dir.display().to_string()));
        hs.vars.insert(
            "play_manifest".into(),
            serde_json::to_value(&m).unwrap_or(Value::Null),
        );
    });
    Ok(Some(m))
}

/// The stage step on these hosts, in parallel (up to forks at once). Returns the hosts on
/// which every artifact is in place.
fn stage_step(
    ctx: &Arc<PlayCtx>,
    sref: &Arc<StageRef>,
    scope: &Arc<Scope>,
    hosts: &[String],
) -> Result<Vec<String>> {
    let t = artifacts::stage_step_task(sref);
    task::banner(ctx, &t, scope, hosts);
    let results: Mutex<Vec<(String, HostResult)>> = Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..ctx.run.opts.forks.max(1).min(hosts.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(host) = hosts.get(i) else { break };
                let c = Context::new(Arc::new(ctx.vars_for(host, Some(scope), None, None)));
                let svc = &sref.file.svc;
                let r = (|| {
                    let version = version(&c, svc).unwrap_or_default();
                    let store = artifacts::Store::of(ctx, &c);
                    let m = match artifacts_for(ctx, scope, host, svc, &version) {
                        Ok(Some(m)) => m,
                        Ok(None) => return Ok(failure(format!("no manifest for {svc}"))),
                        Err(e) => return Ok(failure(e)),
                    };
                    artifacts::stage_on_host(ctx, &t, scope, host, &store, &m)
                })();
                results.lock().unwrap().push((host.clone(), r));
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(h, _)| hosts.iter().position(|x| x == h));
    let mut ok = Vec::new();
    for (host, r) in results {
        let r = r?;
        if r.get("failed").map(truthy) != Some(true) {
            ok.push(host.clone());
        }
        task::report_single(ctx, &t, scope, &host, r, false);
    }
    Ok(ok)
}

/// Whether a stage runs on a host, and what it would record; `None` when the host could not
/// be reached to read its checkpoint (the failure is reported).
fn decide(
    ctx: &Arc<PlayCtx>,
    sref: &StageRef,
    scope: &Arc<Scope>,
    host: &str,
    fingerprint: &str,
) -> Result<Option<(Decision, Want)>> {
    let stage = sref.file.stage;
    let svc = &sref.file.svc;
    let c = Context::new(Arc::new(ctx.vars_for(host, Some(scope), None, None)));
    let want = Want {
        version: version(&c, svc).unwrap_or_else(|| fingerprint.to_string()),
        fingerprint: fingerprint.to_string(),
        forced: forced(ctx, &c, svc, stage),
        ignore_checkpoints: ctx.run.opts.ignore_checkpoints,
    };
    // Read even when forced: writing this stage's checkpoint keeps the others in the file.
    let found = if stage.checkpointed() {
        match read(ctx, sref, scope, host)? {
            Some(found) => found,
            None => return Ok(None),
        }
    } else {
        Ok(Checkpoints::default())
    };
    Ok(Some((checkpoint::decide(stage, &found, &want), want)))
}

/// What `--list-stages` shows for one boundary on one host.
pub fn plan(
    ctx: &Arc<PlayCtx>,
    sref: &StageRef,
    scope: &Arc<Scope>,
    host: &str,
) -> Result<Option<Decision>> {
    let files = checkpoint::stage_files(
        &sref.role.path.join("tasks"),
        &sref.file.svc,
        sref.file.stage,
    );
    let fingerprint = checkpoint::fingerprint(&files);
    Ok(decide(ctx, sref, scope, host, &fingerprint)?.map(|(d, _)| d))
}

/// A stage boundary's tasks have run (or stopped with an error): a build is finished there
/// and then, so that the hosts waiting for its artifacts can go on.
pub fn leave(ctx: &Arc<PlayCtx>, sref: &StageRef) -> Result<()> {
    if sref.file.stage != Stage::Build {
        return Ok(());
    }
    let keys: Vec<HostSvc> = {
        let open = ctx.run.stages.open.lock().unwrap();
        open.iter()
            .filter(|(k, o)| k.1 == sref.file.svc && o.manifest_dir.is_some())
            .map(|(k, _)| k.clone())
            .collect()
    };
    for (host, svc) in keys {
        close(ctx, &host, &svc)?;
    }
    Ok(())
}

/// A role ended on these hosts: its stages that ran there are finished.
pub fn close_role(ctx: &Arc<PlayCtx>, role: &Arc<Role>, hosts: &[String]) -> Result<()> {
    let keys: Vec<HostSvc> = {
        let open = ctx.run.stages.open.lock().unwrap();
        open.iter()
            .filter(|(k, o)| o.sref.role.path == role.path && hosts.contains(&k.0))
            .map(|(k, _)| k.clone())
            .collect()
    };
    for (host, svc) in keys {
        close(ctx, &host, &svc)?;
    }
    Ok(())
}

/// Finish the stage open on a host for a service: when the host came through it without
/// failing, write the checkpoint.
fn close(ctx: &Arc<PlayCtx>, host: &str, svc: &str) -> Result<()> {
    let key = (host.to_string(), svc.to_string());
    let Some(open) = ctx.run.stages.open.lock().unwrap().remove(&key) else {
        return Ok(());
    };
    let run = &ctx.run;
    let finished = ctx.active(&[host.to_string()]).contains(&key.0);
    if let Some(dir) = &open.manifest_dir {
        return close_build(ctx, &open, host, svc, dir, finished);
    }
    if run.opts.check || !finished {
        return Ok(());
    }
    let mut doc = match run.stages.files.lock().unwrap().get(&key) {
        Some(Ok(c)) => c.clone(),
        _ => Checkpoints::default(),
    };
    let completed = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    doc.set(open.stage, &open.version, &open.fingerprint, &completed);
    let dir = fact_path(ctx, host)?;
    let dest = dir.join(format!("{svc}.fact"));
    let t = stage_task(&open.sref, "copy");
    let c = Context::new(Arc::new(ctx.vars_for(host, Some(&open.scope), None, None)));
    let call = || Call {
        ctx,
        task: &t,
        scope: &open.scope,
        host,
        c: &c,
    };
    let mut mkdir = Map::new();
    mkdir.insert("path".into(), json!(dir.display().to_string()));
    mkdir.insert("state".into(), json!("directory"));
    mkdir.insert("mode".into(), json!("0755"));
    let mut r = module_named(call(), "file", mkdir)?;
    if !failed(&r) {
        let mut write = Map::new();
        write.insert("content".into(), json!(doc.to_text()));
        write.insert("dest".into(), json!(dest.display().to_string()));
        write.insert("mode".into(), json!("0644"));
        r = module_named(call(), "copy", write)?;
    }
    if failed(&r) {
        let why = r.get("msg").map(value_str).unwrap_or_default();
        let mut out = Map::new();
        out.insert("changed".into(), json!(false));
        out.insert("failed".into(), json!(true));
        out.insert(
            "msg".into(),
            json!(format!(
                "could not write the checkpoint of stage {} of {svc} to {}: {why}",
                open.stage,
                dest.display()
            )),
        );
        task::banner(ctx, &t, &open.scope, &[host.to_string()]);
        task::report_single(ctx, &t, &open.scope, host, out, false);
        return Ok(());
    }
    run.host_state(host, |hs| {
        if let Some(Value::Object(local)) = hs.facts.get_mut("local") {
            local.insert(svc.to_string(), Value::Object(doc.doc.clone()));
        }
    });
    run.stages.files.lock().unwrap().insert(key, Ok(doc));
    Ok(())
}

/// A build finished on the build host: describe its artifacts in the manifest.
fn close_build(
    ctx: &Arc<PlayCtx>,
    open: &Open,
    host: &str,
    svc: &str,
    dir: &std::path::Path,
    finished: bool,
) -> Result<()> {
    let key = (svc.to_string(), open.version.clone());
    let finish = |what: &'static str| {
        let mut built = ctx.run.stages.built.lock().unwrap();
        built.insert(key.clone(), Build::Done(what));
        ctx.run.stages.build_done.notify_all();
    };
    if !finished || ctx.run.opts.check {
        finish(if finished { "checked" } else { "failed" });
        return Ok(());
    }
    if let Some(remote) = &open.remote_build_dir {
        let t = artifacts::stage_step_task(&open.sref);
        if let Err(msg) = artifacts::collect_remote(ctx, &t, &open.scope, host, remote, dir)? {
            finish("failed");
            task::banner(ctx, &t, &open.scope, &[host.to_string()]);
            task::report_single(ctx, &t, &open.scope, host, failure(msg), false);
            return Ok(());
        }
    }
    match artifacts::write_manifest(ctx, host, dir, svc, &open.version) {
        Ok(m) => {
            finish("ran");
            ctx.run.cb().verbose(
                1,
                &format!(
                    "build of {svc} {}: {} artifact(s), manifest in {}",
                    open.version,
                    m.artifacts.len(),
                    dir.display()
                ),
            );
            Ok(())
        }
        Err(msg) => {
            finish("failed");
            let t = artifacts::stage_step_task(&open.sref);
            task::banner(ctx, &t, &open.scope, &[host.to_string()]);
            task::report_single(ctx, &t, &open.scope, host, failure(msg), false);
            Ok(())
        }
    }
}

/// The host's checkpoint file for the stage's service, read once per run. `None` when the
/// host could not be reached (the failure is reported).
fn read(
    ctx: &Arc<PlayCtx>,
    sref: &StageRef,
    scope: &Arc<Scope>,
    host: &str,
) -> Result<Option<Result<Checkpoints, Unreadable>>> {
    let key = (host.to_string(), sref.file.svc.clone());
    if let Some(found) = ctx.run.stages.files.lock().unwrap().get(&key) {
        return Ok(Some(found.clone()));
    }
    let path = fact_path(ctx, host)?.join(format!("{}.fact", sref.file.svc));
    let t = stage_task(sref, "slurp");
    let c = Context::new(Arc::new(ctx.vars_for(host, Some(scope), None, None)));
    let mut args = Map::new();
    args.insert("src".into(), json!(path.display().to_string()));
    let r = module_named(
        Call {
            ctx,
            task: &t,
            scope,
            host,
            c: &c,
        },
        "slurp",
        args,
    )?;
    if r.get("unreachable").map(truthy) == Some(true) {
        task::banner(ctx, &t, scope, &[host.to_string()]);
        task::report_single(ctx, &t, scope, host, r, false);
        return Ok(None);
    }
    let found = if failed(&r) {
        let msg = r.get("msg").map(value_str).unwrap_or_default();
        if msg.contains("not found") || msg.contains("No such file") {
            Ok(Checkpoints::default())
        } else {
            Err(Unreadable(msg))
        }
    } else {
        let text = r
            .get("content")
            .and_then(Value::as_str)
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .map(|b| String::from_utf8_lossy(&b).to_string())
            .unwrap_or_default();
        Checkpoints::parse(&text)
    };
    if let Err(Unreadable(why)) = &found {
        crate::diag::warn(format!(
            "{host}: ignoring the checkpoint file {}: {why}; its stages run again",
            path.display()
        ));
    }
    ctx.run
        .stages
        .files
        .lock()
        .unwrap()
        .insert(key, found.clone());
    Ok(Some(found))
}

/// The version this run deploys for a service: `<svc>_stage_version`, else `stage_version`.
fn version(c: &Arc<Context>, svc: &str) -> Option<String> {
    for name in [format!("{svc}_stage_version"), "stage_version".to_string()] {
        if let Some(v) = c.resolve(&name) {
            if let Ok(j) = crate::template::from_mj(&v) {
                if !j.is_null() {
                    return Some(value_str(&j));
                }
            }
        }
    }
    None
}

/// Why a stage must run whatever its checkpoint says: `--force-stage`, the `force_stages`
/// list, or `<svc>_force_<stage>`.
fn forced(ctx: &Arc<PlayCtx>, c: &Arc<Context>, svc: &str, stage: Stage) -> Option<String> {
    let names = |list: &[String]| list.iter().any(|s| s == stage.name() || s == "all");
    if names(&ctx.run.opts.force_stages) {
        return Some(format!("--force-stage {stage}"));
    }
    let var = |name: &str| {
        c.resolve(name)
            .and_then(|v| crate::template::from_mj(&v).ok())
            .filter(|v| !v.is_null())
    };
    if let Some(v) = var("force_stages") {
        let list: Vec<String> = match v {
            Value::Array(a) => a.iter().map(value_str).collect(),
            other => vec![value_str(&other)],
        };
        if names(&list) {
            return Some("force_stages".into());
        }
    }
    let own = format!("{svc}_force_{stage}");
    if var(&own).map(|v| truthy(&v)) == Some(true) {
        return Some(own);
    }
    None
}

/// The checkpoint directory on a host: the play's `fact_path` (templated for the host), else
/// ansible.cfg's, else Ansible's default.
fn fact_path(ctx: &Arc<PlayCtx>, host: &str) -> Result<PathBuf> {
    if let Some(n) = &ctx.play.fact_path {
        let v = ctx.play_context(host).template_node(n)?;
        return Ok(PathBuf::from(value_str(&v)));
    }
    Ok(ctx
        .run
        .opts
        .fact_path
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_FACT_PATH)))
}

/// The task a stage's own reports appear under, in the role's name.
fn stage_task(sref: &StageRef, action: &str) -> Arc<Task> {
    let file = sref
        .path
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_default();
    let span = crate::yaml::Span::new(Arc::from(sref.path.to_string_lossy().as_ref()), 1, 1);
    let name = format!("stage {} of {} ({file})", sref.file.stage, sref.file.svc);
    Arc::new(Task::synthetic(
        &name,
        action,
        Mapping::default(),
        span,
        Some(sref.role.clone()),
    ))
}

fn failed(r: &Map<String, Value>) -> bool {
    r.get("failed").map(truthy) == Some(true)
}

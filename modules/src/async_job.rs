//! Async tasks (`async:`/`poll:`) and `async_status`, on the target.
//!
//! `async_wrapper` writes the job (module, arguments, context, time limit) to
//! `<async_dir>/<jid>.job`, marks `<async_dir>/<jid>` as started and starts the agent binary
//! again as `__async <async_dir> <jid>` in a session of its own, so the job outlives the
//! connection. That process runs the module and replaces the results file with the module's
//! result (atomically), or, when the time limit passes first, with a failure, and then ends
//! itself and what the module started. `async_status` reads the results file.

use crate::args::{s, Spec};
use crate::util::Failure;
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Ansible's default async_dir.
fn async_dir(args: &Args) -> PathBuf {
    let given = args
        .get("_async_dir")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| "~/.ansible_async".into());
    PathBuf::from(crate::args::expand_user(&given))
}

fn job_paths(dir: &Path, jid: &str) -> (PathBuf, PathBuf) {
    (dir.join(jid), dir.join(format!("{jid}.job")))
}

/// Write a private (0600) file so that readers see the old contents or the new, never a
/// part: job files hold the module's arguments.
fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, data)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

fn valid_jid(jid: &str) -> bool {
    !jid.is_empty()
        && jid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-')
        && !jid.starts_with('.')
}

/// Start a module as a background job.
pub fn wrapper(args: &Args, ctx: &ModuleContext) -> ModuleResult {
    let jid = args.get("jid").and_then(Value::as_str).unwrap_or_default();
    if !valid_jid(jid) {
        return Failure::new(format!("invalid job id '{jid}'")).into_result();
    }
    let dir = async_dir(args);
    let (results, job) = job_paths(&dir, jid);
    let spec = json!({
        "module": args.get("module").cloned().unwrap_or(Value::Null),
        "module_args": args.get("module_args").cloned().unwrap_or_else(|| json!({})),
        "context": serde_json::to_value(ctx).unwrap_or(Value::Null),
        "time_limit": args.get("time_limit").and_then(Value::as_u64).unwrap_or(0),
    });
    let started = json!({"started": true, "finished": false, "ansible_job_id": jid});
    let prepare = || -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        write_atomic(&job, spec.to_string().as_bytes())?;
        write_atomic(&results, started.to_string().as_bytes())
    };
    if let Err(e) = prepare() {
        return Failure::new(format!(
            "could not create the async job in {}: {e}",
            dir.display()
        ))
        .into_result();
    }
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => return Failure::new(format!("cannot start the async job: {e}")).into_result(),
    };
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("__async")
        .arg(&dir)
        .arg(jid)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    // A session of its own: the job survives the end of the connection that started it.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    match cmd.spawn() {
        // Reaped by a thread while this process lives, by init after.
        Ok(mut child) => {
            std::thread::spawn(move || child.wait());
        }
        Err(e) => {
            return Failure::new(format!("cannot start the async job: {e}")).into_result();
        }
    }
    let mut r = ModuleResult::new();
    r.insert("ansible_job_id".into(), json!(jid));
    r.insert("changed".into(), json!(true));
    r.insert("finished".into(), json!(false));
    r.insert("results_file".into(), json!(results.display().to_string()));
    r.insert("started".into(), json!(true));
    r
}

/// `__async <dir> <jid>`: run the job, write its result, within its time limit.
pub fn run_job(dir: &Path, jid: &str) -> i32 {
    if !valid_jid(jid) {
        return 2;
    }
    let (results, job) = job_paths(dir, jid);
    let spec: Value = match std::fs::read_to_string(&job)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
    {
        Some(v) => v,
        None => return 2,
    };
    let _ = std::fs::remove_file(&job);
    let limit = spec["time_limit"].as_u64().unwrap_or(0);
    if limit > 0 {
        let (results, jid) = (results.clone(), jid.to_string());
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(limit));
            let mut r = ModuleResult::new();
            r.insert("changed".into(), json!(false));
            r.insert("failed".into(), json!(true));
            r.insert("msg".into(), json!("Timeout exceeded"));
            r.insert("child_pid".into(), json!(std::process::id()));
            finish_job(&results, &jid, r);
            // The job's whole session: the module and whatever it started.
            unsafe { libc::kill(0, libc::SIGKILL) };
        });
    }
    let module = spec["module"].as_str().unwrap_or_default().to_string();
    let args: Args = spec["module_args"].as_object().cloned().unwrap_or_default();
    let ctx: ModuleContext = serde_json::from_value(spec["context"].clone()).unwrap_or_default();
    finish_job(&results, jid, crate::run(&module, &args, &ctx));
    0
}

fn finish_job(results: &Path, jid: &str, mut r: ModuleResult) {
    r.insert("ansible_job_id".into(), json!(jid));
    r.insert("finished".into(), json!(true));
    r.insert("started".into(), json!(true));
    let _ = write_atomic(results, Value::Object(r).to_string().as_bytes());
}

/// `async_status`: a job's state, or its result once it has finished.
pub fn status(args: &Args, _ctx: &ModuleContext, module: &str) -> ModuleResult {
    let spec = Spec::new(vec![
        s("jid").required(),
        s("mode").choices(&["status", "cleanup"]).default("status"),
        s("_async_dir"),
    ]);
    let params = match spec.validate(module, args) {
        Ok(p) => p,
        Err(e) => return Failure::new(e).into_result(),
    };
    let jid = params.string("jid").unwrap_or_default();
    let dir = async_dir(args);
    let (results, _) = job_paths(&dir, &jid);
    let results_file = results.display().to_string();
    let cleanup = params.string("mode").as_deref() == Some("cleanup");
    // What Ansible's async_status action starts from before it merges the module's answer.
    let mut r = ModuleResult::new();
    r.insert("started".into(), json!(!cleanup));
    r.insert("finished".into(), json!(false));
    for k in ["stdout", "stderr"] {
        r.insert(k.into(), json!(""));
        r.insert(format!("{k}_lines"), json!([]));
    }
    r.insert("ansible_job_id".into(), json!(jid));
    r.insert(
        if cleanup { "erased" } else { "results_file" }.into(),
        json!(results_file),
    );
    let text = if valid_jid(&jid) {
        std::fs::read_to_string(&results).ok()
    } else {
        None
    };
    let Some(text) = text else {
        r.insert("changed".into(), json!(false));
        r.insert("failed".into(), json!(true));
        r.insert("started".into(), json!(true));
        r.insert("finished".into(), json!(true));
        r.insert("msg".into(), json!("could not find job"));
        return r;
    };
    if cleanup {
        let _ = std::fs::remove_file(&results);
        r.insert("changed".into(), json!(false));
        return r;
    }
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(job)) => {
            if job.get("finished").and_then(Value::as_bool) != Some(true) {
                r.insert("changed".into(), json!(false));
            }
            r.extend(job);
        }
        // Written atomically, so this is not a job's file at all.
        _ => {
            r.insert("failed".into(), json!(true));
            r.insert("finished".into(), json!(true));
            r.insert("msg".into(), json!("Could not parse job output"));
        }
    }
    r.insert("ansible_job_id".into(), json!(jid));
    r.insert("results_file".into(), json!(results_file));
    r.insert("started".into(), json!(true));
    r
}

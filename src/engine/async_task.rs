//! `async:` and `poll:` on a task: the module runs as a background job on the target (the
//! async_wrapper module), and the controller polls it with async_status every `poll`
//! seconds until it finishes or `async` seconds pass; with `poll: 0` the task returns at
//! once with the job's id, for a later `async_status`.

use super::connect::{run_module, Route};
use super::play::PlayCtx;
use super::task::truthy;
use play_modules::{ModuleContext, ModuleResult};
use rand::Rng;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn run(
    ctx: &Arc<PlayCtx>,
    route: &Route,
    name: &str,
    args: &Map<String, Value>,
    mctx: &ModuleContext,
    limit: u64,
    poll: u64,
) -> ModuleResult {
    let jid = format!(
        "j{}.{}",
        rand::rng().random_range(100_000_000_000u64..1_000_000_000_000),
        std::process::id()
    );
    let mut w = Map::new();
    w.insert("jid".into(), json!(jid));
    w.insert("time_limit".into(), json!(limit));
    w.insert("module".into(), json!(name));
    w.insert("module_args".into(), Value::Object(args.clone()));
    let started = run_module(ctx, route, "async_wrapper", &w, mctx);
    if poll == 0 || started.get("failed").map(truthy) == Some(true) {
        return started;
    }
    let mut q = Map::new();
    q.insert("jid".into(), json!(jid));
    let deadline = Instant::now() + Duration::from_secs(limit);
    loop {
        std::thread::sleep(Duration::from_secs(poll));
        let r = run_module(ctx, route, "async_status", &q, &ModuleContext::default());
        let finished = r.get("finished").map(truthy) == Some(true);
        let broken = r.get("unreachable").map(truthy) == Some(true);
        if finished || broken {
            return r;
        }
        if Instant::now() >= deadline {
            // The job enforces its own time limit and says so ("Timeout exceeded"); give it
            // a moment to, so the answer does not depend on which clock ticked first.
            let grace = Instant::now() + Duration::from_secs(3);
            let mut r = r;
            while Instant::now() < grace {
                std::thread::sleep(Duration::from_millis(200));
                let again = run_module(ctx, route, "async_status", &q, &ModuleContext::default());
                if again.get("finished").map(truthy) == Some(true) {
                    return again;
                }
                r = again;
            }
            r.insert("failed".into(), json!(true));
            r.insert(
                "msg".into(),
                json!(format!(
                    "async task did not complete within the requested time - {limit}s"
                )),
            );
            return r;
        }
    }
}

//! One task on a set of hosts: conditions, loops, `until` retries, the action, `changed_when`
//! and `failed_when`, registering, notifying, and the accounting the recap shows.

use super::actions;
use super::play::PlayCtx;
use super::scope::Scope;
use crate::error::{Error, Result};
use crate::output::{RunnerResult, Status, TaskInfo, ERROR_TEXT_KEY};
use crate::playbook::{scalar_string, LoopKind, Task};
use crate::template::Context;
use crate::yaml::{Kind, Node};
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Python's truthiness for data.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().map(|f| f != 0.0).unwrap_or(false),
        Value::String(s) => {
            let l = s.trim().to_ascii_lowercase();
            !(l.is_empty() || l == "false" || l == "no" || l == "off" || l == "0" || l == "n")
        }
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

/// A value as text (strings as they are, other values as Python prints them).
pub fn value_str(v: &Value) -> String {
    crate::template::to_python_str(v)
}

use play_modules::args::py_type;

/// Evaluate conditions; `Ok(None)` when all hold, `Ok(Some(cond))` naming the first false one.
pub fn eval_conditions(c: &Arc<Context>, conds: &[Node], what: &str) -> Result<Option<Value>> {
    for cond in conds {
        let (ok, shown) = eval_condition(c, cond, what)?;
        if !ok {
            return Ok(Some(shown));
        }
    }
    Ok(None)
}

fn eval_condition(c: &Arc<Context>, cond: &Node, what: &str) -> Result<(bool, Value)> {
    // assert evaluates its `that` itself: its errors carry no keyword prefix.
    let fail = |msg: String| match what {
        "assert" => Error::at(msg, &cond.span),
        _ => Error::at(format!("A '{what}' expression failed: {msg}"), &cond.span),
    };
    match &cond.kind {
        Kind::Bool(b) => Ok((*b, json!(b))),
        Kind::Unsafe(s) => Err(fail(format!("Conditional is marked as unsafe, and cannot be evaluated: untrusted template or expression '{s}'"))),
        // Ansible strips a conditional before evaluating it; nothing left is an error.
        Kind::Str(s) if s.trim().is_empty() => {
            Err(fail("Empty conditional expressions are not allowed.".into()))
        }
        Kind::Null if what == "assert" => {
            Err(fail("Empty conditional expressions are not allowed.".into()))
        }
        Kind::Str(written) => {
            // Ansible strips a conditional first: surrounding whitespace never matters.
            let s = written.trim();
            let whole = all_template(s);
            let v = if whole {
                deprecate(CONDITIONAL_AS_TEMPLATE);
                let v = c.template_str(s).map_err(|e| fail(conditional_error(e.msg)))?;
                if v.is_string() && !single_expression(s) {
                    // Text the template put together is not the playbook's own: Ansible
                    // will not evaluate it as an expression.
                    return Err(fail(
                        "Encountered untrusted template or expression.".into(),
                    ));
                }
                v
            } else {
                let expr = template_expression_literals(c, s)
                    .map_err(|e| fail(conditional_error(e.msg)))?;
                let mv = c.eval_expr(&expr).map_err(|e| fail(conditional_error(e.msg)))?;
                if mv.is_undefined() {
                    return Err(fail(format!("Error while evaluating conditional: '{}' is undefined", s.trim())));
                }
                crate::template::from_mj(&mv).map_err(fail)?
            };
            match v {
                // Ansible reports a whole-template conditional by its value, an
                // expression as written.
                Value::Bool(b) if whole => Ok((b, json!(b))),
                Value::Bool(b) => Ok((b, json!(written))),
                other => Err(fail(format!(
                    "Conditional result ({}) was derived from value of type '{}' at '{}'. Conditionals must have a boolean result.",
                    if truthy(&other) { "True" } else { "False" },
                    py_type(&other),
                    cond.span
                ))),
            }
        }
        Kind::Null => Ok((true, Value::Null)),
        _ => Err(fail("Conditional expressions must be strings.".into())),
    }
}

const CONDITIONAL_AS_TEMPLATE: &str =
    "Conditionals should not be surrounded by templating delimiters such as {{ }} or {% %}.";

thread_local! {
    /// Deprecations met while this thread works on one host's task (or loop item): the
    /// task result carries them, as Ansible's does, and the output shows them.
    static DEPRECATIONS: std::cell::RefCell<Vec<Value>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Note a deprecated feature of ansible-core (removed in 2.23) for the current result.
fn deprecate(msg: &str) {
    let d = json!({
        "msg": msg,
        "collection_name": "ansible.builtin",
        "version": "2.23",
        "deprecator": {"resolved_name": "ansible.builtin", "type": null},
    });
    DEPRECATIONS.with(|v| v.borrow_mut().push(d));
}

fn take_deprecations() -> Vec<Value> {
    DEPRECATIONS.with(|v| std::mem::take(&mut *v.borrow_mut()))
}

/// Add deprecations to a result's own.
fn attach_deprecations(r: &mut Map<String, Value>, deps: Vec<Value>) {
    if deps.is_empty() {
        return;
    }
    match r.get_mut("deprecations") {
        Some(Value::Array(a)) => a.extend(deps),
        _ => {
            r.insert("deprecations".into(), Value::Array(deps));
        }
    }
}

/// A conditional written as one template (`"{{ x == 1 }}"`) rather than an expression.
fn all_template(s: &str) -> bool {
    (s.starts_with("{{") || s.starts_with("{%")) && (s.ends_with("}}") || s.ends_with("%}"))
}

/// A template that is one `{{ expression }}` and nothing else.
fn single_expression(s: &str) -> bool {
    crate::template::literals::print_tag_end(s) == Some(s.len())
}

/// A conditional expression's string literals that hold template syntax
/// (`x == "{{ y }}"`) are templated before the expression is evaluated, as Ansible does
/// for the literals of a playbook's own conditionals.
fn template_expression_literals(c: &Arc<Context>, expr: &str) -> Result<String> {
    if !crate::template::is_template(expr) {
        return Ok(expr.to_string());
    }
    let mut err = None;
    let out = crate::template::literals::map_expression_literals(expr, &mut |lit| {
        if err.is_some() || !crate::template::is_template(lit) {
            return None;
        }
        match c.template_str(lit) {
            Ok(v) => Some(value_str(&v)),
            Err(e) => {
                err = Some(e);
                None
            }
        }
    });
    match err {
        Some(e) => Err(e),
        None => Ok(out.unwrap_or_else(|| expr.to_string())),
    }
}

/// A conditional's error as Ansible words it: plugin failures and rendering errors as they
/// are, other errors (undefined values) under "Error while evaluating conditional".
fn conditional_error(msg: String) -> String {
    let as_is = [
        "Error rendering ",
        "The filter plugin ",
        "The test plugin ",
        "The lookup plugin ",
    ];
    if as_is.iter().any(|p| msg.starts_with(p)) {
        msg
    } else {
        format!("Error while evaluating conditional: {msg}")
    }
}

/// The name the output shows for a task.
pub fn display_name(
    ctx: &Arc<PlayCtx>,
    task: &Task,
    scope: &Arc<Scope>,
    host: Option<&str>,
) -> String {
    match &task.name {
        Some(n) => match scalar_string(n) {
            Some(s) if crate::template::is_template(&s) => {
                let Some(h) = host else { return s };
                let c = Context::new(Arc::new(ctx.vars_for(h, Some(scope), Some(&task.kw), None)));
                match c.template_str(&s) {
                    Ok(v) => value_str(&v),
                    Err(_) => s,
                }
            }
            Some(s) => s,
            None => task.action_written.clone(),
        },
        // An unnamed include_role shows the role it includes.
        None if task.action == "include_role" || task.action == "import_role" => {
            match task
                .args
                .get("name")
                .or_else(|| task.args.get("role"))
                .and_then(scalar_string)
            {
                Some(r) => format!("{} : {}", task.action_written, r),
                None => task.action_written.clone(),
            }
        }
        None => task.action_written.clone(),
    }
}

pub fn task_info(
    ctx: &Arc<PlayCtx>,
    task: &Task,
    scope: &Arc<Scope>,
    host: Option<&str>,
    is_handler: bool,
) -> TaskInfo {
    TaskInfo {
        name: display_name(ctx, task, scope, host),
        role: task.role.as_ref().map(|r| r.name.clone()),
        action: task.action_written.clone(),
        is_handler,
        path: format!("{}:{}", task.span.file, task.span.line),
        no_log: no_log_for(ctx, task, scope, host),
        is_loop: task.loop_.is_some(),
        check_mode: ctx.run.opts.check,
    }
}

/// Whether a task's results are censored on `host`: its `no_log` (or an enclosing level's),
/// templated with the host's variables, else the `no_log` setting of ansible.cfg.
fn no_log_for(ctx: &Arc<PlayCtx>, task: &Task, scope: &Arc<Scope>, host: Option<&str>) -> bool {
    let Some(node) = scope.keyword(task.kw.no_log.as_deref(), |k| k.no_log.as_deref()) else {
        return ctx.run.opts.no_log;
    };
    let Some(host) = host else {
        return truthy(&node.to_json());
    };
    let c = Context::new(Arc::new(ctx.vars_for(
        host,
        Some(scope),
        Some(&task.kw),
        None,
    )));
    no_log_in(ctx, task, scope, &c)
}

/// `no_log` templated in a given context (a loop item's: it may name the item).
fn no_log_in(ctx: &Arc<PlayCtx>, task: &Task, scope: &Arc<Scope>, c: &Arc<Context>) -> bool {
    let Some(node) = scope.keyword(task.kw.no_log.as_deref(), |k| k.no_log.as_deref()) else {
        return ctx.run.opts.no_log;
    };
    // A template that fails to decide hides the output rather than risk showing it.
    c.template_node(node).map(|v| truthy(&v)).unwrap_or(true)
}

/// What one host's run of a task produced, reported once every host is done.
struct HostOutcome {
    host: String,
    items: Vec<RunnerResult>,
    retries: Vec<(u32, Map<String, Value>)>,
    result: Map<String, Value>,
    status: Status,
    ignored: bool,
    delegated_to: Option<String>,
}

/// Run a task on hosts (in parallel up to forks/throttle) and report the results.
pub fn run_task(
    ctx: &Arc<PlayCtx>,
    task: &Arc<Task>,
    scope: &Arc<Scope>,
    hosts: &[String],
    is_handler: bool,
) -> Result<()> {
    let hosts = ctx.active(hosts);
    if hosts.is_empty() {
        return Ok(());
    }
    let info = task_info(ctx, task, scope, Some(&hosts[0]), is_handler);
    {
        let mut cb = ctx.run.cb();
        if is_handler {
            cb.handler_task_start(&info);
        } else {
            cb.task_start(&info);
        }
    }
    // run_once is templated with the first host's variables.
    let run_once = scope
        .keyword(task.kw.run_once.as_deref(), |k| k.run_once.as_deref())
        .map(|n| {
            let c = Context::new(Arc::new(ctx.vars_for(
                &hosts[0],
                Some(scope),
                Some(&task.kw),
                None,
            )));
            c.template_node(n).map(|v| truthy(&v)).unwrap_or(false)
        })
        .unwrap_or(false)
        || matches!(task.action.as_str(), "add_host");
    // add_host bypasses the host loop: it runs once, for the first host.
    let targets: Vec<String> = if run_once {
        vec![hosts[0].clone()]
    } else {
        hosts.clone()
    };
    let limit = {
        // Templated with the first host's variables; a value that is no integer stops the
        // run, as in Ansible's strategies.
        let throttle = match scope.keyword(task.kw.throttle.as_deref(), |k| k.throttle.as_deref()) {
            None => 0,
            Some(n) => {
                let c = Context::new(Arc::new(ctx.vars_for(
                    &hosts[0],
                    Some(scope),
                    Some(&task.kw),
                    None,
                )));
                let bad = |m: String| {
                    Error::at(
                        format!("Failed to convert the throttle value to an integer: {m}"),
                        &n.span,
                    )
                    .general()
                };
                match c.template_node(n).map_err(|e| bad(e.msg))? {
                    Value::Number(x) if x.is_u64() => x.as_u64().unwrap_or(0) as usize,
                    Value::Number(x) if x.is_i64() => 0,
                    Value::Number(x) => x.as_f64().unwrap_or(0.0).max(0.0) as usize,
                    Value::Bool(b) => b as usize,
                    Value::String(t) => match t.trim().parse::<i64>() {
                        Ok(v) => v.max(0) as usize,
                        Err(_) => {
                            return Err(bad(format!(
                                "invalid literal for int() with base 10: {}",
                                crate::template::python_repr(&Value::String(t))
                            )))
                        }
                    },
                    other => {
                        return Err(bad(format!(
                            "int() argument must be a string, a bytes-like object or a real number, not '{}'",
                            py_type(&other)
                        )))
                    }
                }
            }
        };
        let forks = ctx.run.opts.forks.max(1);
        if throttle > 0 {
            throttle.min(forks)
        } else {
            forks
        }
    };
    // Hosts walking the play on their own (free strategy) share the task's throttle.
    let gate = (limit < ctx.run.opts.forks.max(1)).then(|| {
        let key = format!("{}:{}:{}", task.span.file, task.span.line, task.span.col);
        (key, limit)
    });
    crate::output::status::task(&info.name, targets.len());
    let outcomes = parallel(&targets, limit, |h| {
        let _slot = gate.as_ref().map(|(key, n)| ctx.throttle_slot(key, *n));
        crate::output::status::host_started();
        let o = run_on_host(ctx, task, scope, h, &info);
        // Registered here rather than where it ran: a result that comes after its time
        // limit is not the task's result.
        register_result(ctx, task, h, &o.result);
        crate::output::status::host_finished(matches!(
            o.status,
            Status::Failed | Status::Unreachable
        ));
        o
    });
    let mut outcomes = outcomes;
    if run_once && targets.len() == 1 && hosts.len() > 1 {
        // The one result stands for every host of the batch (registered on each).
        let first = outcomes[0].result.clone();
        if task.action == "set_fact" {
            if let Some(Value::Object(facts)) = first.get("ansible_facts") {
                for h in &hosts[1..] {
                    ctx.run.host_state(h, |hs| {
                        for (k, v) in facts {
                            hs.vars.insert(k.clone(), v.clone());
                        }
                    });
                }
            }
        }
        if let Some(reg) = &task.register {
            for h in &hosts[1..] {
                ctx.run.host_state(h, |hs| {
                    hs.vars.insert(
                        reg.clone(),
                        Value::Object(super::registered::registered(&first)),
                    );
                });
            }
        }
        let _ = &mut outcomes;
    }
    for o in outcomes {
        account(ctx, task, scope, &info, o)?;
    }
    fail_batch_if_fatal(ctx, task, scope, &hosts, run_once);
    if let Some(mfp) = ctx
        .play
        .max_fail_percentage
        .as_ref()
        .filter(|_| !ctx.hosts_independent.load(Ordering::Relaxed))
    {
        if let Some(pct) = mfp
            .to_json()
            .as_f64()
            .or_else(|| scalar_string(mfp).and_then(|s| s.trim_end_matches('%').parse().ok()))
        {
            let batch = ctx.batch.lock().unwrap().clone();
            let failed = ctx.failed_for_good.lock().unwrap();
            let n = batch.iter().filter(|h| failed.contains(*h)).count();
            if !batch.is_empty() && (n as f64) * 100.0 / (batch.len() as f64) > pct {
                drop(failed);
                ctx.run.max_fail_broke.store(true, Ordering::Relaxed);
                // Ansible announces it twice: the percentage passed, then every host failed.
                let mut cb = ctx.run.cb();
                cb.no_hosts_remaining();
                cb.no_hosts_remaining();
                drop(cb);
                let mut ended = ctx.ended.lock().unwrap();
                for h in batch {
                    ended.insert(h);
                }
            }
        }
    }
    Ok(())
}

/// any_errors_fatal (and a failed run_once task): when one of `hosts` failed this task,
/// every host of the batch fails, and leaves through its blocks' rescue and always.
pub fn fail_batch_if_fatal(
    ctx: &Arc<PlayCtx>,
    task: &Task,
    scope: &Arc<Scope>,
    hosts: &[String],
    run_once: bool,
) {
    let aef = scope
        .keyword(task.kw.any_errors_fatal.as_deref(), |k| {
            k.any_errors_fatal.as_deref()
        })
        .map(|n| truthy(&n.to_json()))
        .unwrap_or(ctx.run.opts.any_errors_fatal);
    if !(aef || run_once) {
        return;
    }
    let failed_now = {
        let failed = ctx.run.failed.lock().unwrap();
        hosts.iter().any(|h| failed.contains(h))
    };
    if failed_now {
        let batch = ctx.batch.lock().unwrap().clone();
        ctx.fail_quietly(&ctx.active(&batch));
    }
}

/// Run `f` for every host with at most `limit` at once; results in host order.
fn parallel<F>(hosts: &[String], limit: usize, f: F) -> Vec<HostOutcome>
where
    F: Fn(&str) -> HostOutcome + Sync,
{
    if hosts.len() == 1 || limit <= 1 {
        return hosts.iter().map(|h| f(h)).collect();
    }
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<HostOutcome>>> =
        Mutex::new((0..hosts.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..limit.min(hosts.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= hosts.len() {
                    break;
                }
                let o = f(&hosts[i]);
                slots.lock().unwrap()[i] = Some(o);
            });
        }
    });
    slots.into_inner().unwrap().into_iter().flatten().collect()
}

/// Report and count one host's outcome.
fn account(
    ctx: &Arc<PlayCtx>,
    task: &Arc<Task>,
    scope: &Arc<Scope>,
    info: &TaskInfo,
    o: HostOutcome,
) -> Result<()> {
    let run = &ctx.run;
    if let Some(role) = &task.role {
        if !matches!(o.status, Status::Skipped | Status::Unreachable) {
            ctx.mark_role_ran(role, &o.host);
        }
    }
    let changed = o.result.get("changed").map(truthy).unwrap_or(false);
    if changed && matches!(o.status, Status::Changed | Status::Ok) {
        notify(ctx, task, scope, &o.host)?;
    }
    {
        // A loop is censored when any of its items is (each item decides for itself).
        let item_no_log = |i: &RunnerResult| {
            i.result
                .get("_ansible_no_log")
                .map(truthy)
                .unwrap_or(info.no_log)
        };
        let no_log = if o.items.is_empty() {
            no_log_for(ctx, task, scope, Some(&o.host))
        } else {
            o.items.iter().any(item_no_log)
        };
        let host_info;
        let info = if info.no_log == no_log {
            info
        } else {
            host_info = TaskInfo {
                no_log: !info.no_log,
                ..info.clone()
            };
            &host_info
        };
        let mut shown = if info.no_log {
            censor(&o.result)
        } else {
            o.result.clone()
        };
        // A loop's errors are its items' (as Ansible reports each item's exception), and
        // retries that ran out without an error have none to report.
        let exhausted = o.result.contains_key("attempts") && !o.result.contains_key("exception");
        if matches!(o.status, Status::Failed | Status::Unreachable)
            && o.items.is_empty()
            && !exhausted
            && !shown.contains_key(ERROR_TEXT_KEY)
        {
            shown.insert(ERROR_TEXT_KEY.into(), json!(error_text(task, &o.result)));
        }
        let mut cb = run.cb();
        for (left, r) in &o.retries {
            if info.no_log {
                cb.retry(info, &o.host, *left, &censor(r));
            } else {
                cb.retry(info, &o.host, *left, r);
            }
        }
        for item in &o.items {
            let mut item = item.clone();
            let item_info = TaskInfo {
                no_log: item_no_log(&item),
                ..info.clone()
            };
            let err = matches!(item.status, Status::Failed | Status::Unreachable)
                .then(|| error_text(task, &item.result));
            if item_info.no_log {
                item.result = censor(&item.result);
            }
            if let Some(err) = err {
                item.result
                    .entry(ERROR_TEXT_KEY)
                    .or_insert_with(|| json!(err));
            }
            if run.opts.diff && matches!(item.status, Status::Ok | Status::Changed) {
                cb.file_diff(&item_info, &item);
            }
            cb.item_result(&item_info, &item);
        }
        let rr = RunnerResult {
            host: o.host.clone(),
            delegated_to: o.delegated_to.clone(),
            status: o.status,
            result: shown,
            item: None,
            ignored: o.ignored,
        };
        if run.opts.diff && matches!(o.status, Status::Ok | Status::Changed) && o.items.is_empty() {
            cb.file_diff(info, &rr);
        }
        cb.runner_result(info, &rr);
    }
    match o.status {
        Status::Skipped => run.stat(&o.host, |s| s.skipped += 1),
        Status::Unreachable => {
            if o.ignored {
                run.stat(&o.host, |s| {
                    s.ok += 1;
                    s.ignored += 1
                });
            } else {
                run.stat(&o.host, |s| s.unreachable += 1);
                run.unreachable.lock().unwrap().insert(o.host.clone());
            }
        }
        Status::Failed => {
            if o.ignored {
                run.stat(&o.host, |s| {
                    s.ok += 1;
                    s.ignored += 1;
                    if changed {
                        s.changed += 1;
                    }
                });
            } else {
                run.stat(&o.host, |s| s.failures += 1);
                run.failed.lock().unwrap().insert(o.host.clone());
                if scope.failure_is_final() {
                    ctx.failed_for_good.lock().unwrap().insert(o.host.clone());
                }
                ctx.record_failure(&o.host, task, &o.result);
            }
        }
        Status::Ok | Status::Changed => run.stat(&o.host, |s| {
            s.ok += 1;
            if changed {
                s.changed += 1;
            }
        }),
    }
    Ok(())
}

/// What the output may show of a `no_log` result: the keys Ansible preserves, and a
/// loop's items, each censored.
fn censor(r: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("censored".into(), json!("the output has been hidden due to the fact that 'no_log: true' was specified for this result"));
    for k in [
        "attempts",
        "changed",
        "deprecations",
        "exception",
        "retries",
        "warnings",
    ] {
        if let Some(v) = r.get(k) {
            out.insert(k.into(), v.clone());
        }
    }
    if let Some(Value::Array(items)) = r.get("results") {
        let censored = items
            .iter()
            .map(|i| match i {
                Value::Object(m) => {
                    let mut c = censor(m);
                    // An item censored only because its loop is says nothing of no_log.
                    if !m.get("_ansible_no_log").is_some_and(truthy) {
                        c.shift_remove("_ansible_no_log");
                    }
                    Value::Object(c)
                }
                other => other.clone(),
            })
            .collect();
        out.insert("results".into(), Value::Array(censored));
    }
    out.insert("_ansible_no_log".into(), json!(true));
    out
}

/// The message of the exception behind a failed result, when it is not the result's `msg`
/// (a `failed_when` that failed a task whose result has a `msg` of its own).
pub(super) const EXCEPTION_MSG_KEY: &str = "_ansible_exception_msg";

/// The `[ERROR]: ...` report Ansible prints above a `fatal:` line (not censored by
/// `no_log`: Ansible shows the error's message there).
fn error_text(task: &Task, r: &Map<String, Value>) -> String {
    let msg = r
        .get(EXCEPTION_MSG_KEY)
        .or_else(|| r.get("msg"))
        .map(value_str)
        .unwrap_or_default();
    let head = if msg.starts_with("Task failed:") {
        msg
    } else if r.contains_key("unreachable") {
        format!("Task failed: {msg}")
    } else if crate::playbook::is_controller_action(&task.action)
        || matches!(task.action.as_str(), "reboot" | "wait_for_connection")
    {
        // Failures the action plugin itself reports, not a module's.
        format!("Task failed: Action failed: {msg}")
    } else {
        format!("Task failed: Module failed: {msg}")
    };
    crate::error::Error::at(head, &task.span).report()
}

fn notify(ctx: &Arc<PlayCtx>, task: &Task, scope: &Arc<Scope>, host: &str) -> Result<()> {
    let inherited;
    let names: &[Node] = if task.notify.is_empty() {
        match scope.keyword(None, |k| k.notify.as_deref()) {
            Some(n) => {
                inherited = crate::playbook::as_list(n);
                &inherited
            }
            None => return Ok(()),
        }
    } else {
        &task.notify
    };
    let c = Context::new(Arc::new(ctx.vars_for(
        host,
        Some(scope),
        Some(&task.kw),
        None,
    )));
    let handlers = ctx.handlers.lock().unwrap().clone();
    // Handler names may be templates (listen topics may not): resolved for this host.
    let handler_names: Vec<Option<String>> = handlers
        .iter()
        .map(|(h, hscope)| {
            let raw = h.name.as_ref()?;
            let name = scalar_string(raw)?;
            if !crate::template::is_template(&name) {
                return Some(name);
            }
            let hc = Context::new(Arc::new(ctx.vars_for(
                host,
                Some(hscope),
                Some(&h.kw),
                None,
            )));
            match hc.template_node(raw) {
                Ok(v) => Some(value_str(&v)),
                Err(e) => {
                    if h.listen.is_empty() {
                        crate::diag::warn(format!(
                            "Handler '{name}' is unusable because it has no listen topics and the name could not be templated (host-specific variables are not supported in handler names). The error: {}",
                            e.msg
                        ));
                    }
                    None
                }
            }
        })
        .collect();
    // A notify entry may template to a list of names.
    let mut notifications = Vec::new();
    for n in names {
        match c.template_node(n) {
            Ok(Value::Array(items)) => notifications.extend(items.iter().map(value_str)),
            Ok(v) => notifications.push(value_str(&v)),
            Err(_) => notifications.push(scalar_string(n).unwrap_or_default()),
        }
    }
    // A handler's notifications reach their handlers at once (announced now at -vv);
    // a task's are saved, and announced when the host's handlers are flushed.
    let from_handler = scope.in_handler() || ctx.is_handler(task);
    // Only -vv shows where notifications go.
    let announce = ctx.run.opts.verbosity >= 2;
    for name in notifications {
        let chosen = handlers_for(&handlers, &handler_names, &name);
        if chosen.is_empty() {
            let msg = format!(
                "The requested handler '{name}' was not found in either the main handlers list nor in the listening handlers list"
            );
            if ctx.run.opts.error_on_missing_handler {
                return Err(Error::new(msg));
            }
            crate::diag::warn(msg);
        } else if !from_handler {
            ctx.run.cb().verbose(
                2,
                &format!("Notification for handler {name} has been saved."),
            );
        }
        let mut notified = ctx.notified.lock().unwrap();
        for i in chosen {
            let list = notified.entry(i).or_default();
            if list.iter().any(|x| x == host) {
                continue;
            }
            list.push(host.to_string());
            if !announce {
                continue;
            }
            if from_handler {
                ctx.run
                    .cb()
                    .handler_notified(&handler_name(&handlers[i].0), host);
            } else {
                ctx.saved.lock().unwrap().push((host.to_string(), i));
            }
        }
    }
    Ok(())
}

/// A handler's name as Ansible's notification messages give it: `role : name` for a
/// role's handler, the action when it has no name.
fn handler_name(h: &Task) -> String {
    let own = h
        .name
        .as_ref()
        .and_then(scalar_string)
        .unwrap_or_else(|| h.action_written.clone());
    match &h.role {
        Some(r) => format!("{} : {own}", r.name),
        None => own,
    }
}

/// Announce (at -vv) the notifications `host` saved that are still pending, as its
/// handlers are about to be flushed.
pub fn announce_notified(ctx: &Arc<PlayCtx>, host: &str) {
    let mine: Vec<usize> = {
        let mut saved = ctx.saved.lock().unwrap();
        let mine = saved
            .iter()
            .filter(|(h, _)| h == host)
            .map(|(_, i)| *i)
            .collect();
        saved.retain(|(h, _)| h != host);
        mine
    };
    if mine.is_empty() {
        return;
    }
    let names: Vec<String> = {
        let handlers = ctx.handlers.lock().unwrap();
        let notified = ctx.notified.lock().unwrap();
        mine.into_iter()
            .filter(|i| {
                notified
                    .get(i)
                    .is_some_and(|hosts| hosts.iter().any(|h| h == host))
            })
            .filter_map(|i| handlers.get(i).map(|(h, _)| handler_name(h)))
            .collect()
    };
    for name in names {
        ctx.run.cb().handler_notified(&name, host);
    }
}

/// The handlers a notification reaches, as indexes into `handlers`, as Ansible searches
/// them: the handlers of the last role (or of the play, which comes after its roles) win
/// over earlier ones; one handler by name (the first of that group, also as `role :
/// name`), then every handler listening to it, one per name.
fn handlers_for(
    handlers: &[(Arc<Task>, Arc<Scope>)],
    names: &[Option<String>],
    notification: &str,
) -> Vec<usize> {
    // Groups of consecutive handlers of one role (or of the play), last group first.
    let mut order: Vec<usize> = Vec::with_capacity(handlers.len());
    let same_group = |a: &Task, b: &Task| match (&a.role, &b.role) {
        (Some(x), Some(y)) => Arc::ptr_eq(x, y),
        (None, None) => true,
        _ => false,
    };
    let mut end = handlers.len();
    while end > 0 {
        let mut start = end - 1;
        while start > 0 && same_group(&handlers[start - 1].0, &handlers[end - 1].0) {
            start -= 1;
        }
        order.extend(start..end);
        end = start;
    }
    let mut chosen = Vec::new();
    if let Some(&i) = order.iter().find(|&&i| {
        let h = &handlers[i].0;
        names[i].as_ref().is_some_and(|hname| {
            hname == notification
                || h.role
                    .as_ref()
                    .is_some_and(|r| role_prefixed(r, hname, notification))
        })
    }) {
        chosen.push(i);
    }
    let mut seen_names = std::collections::HashSet::new();
    for &i in &order {
        let h = &handlers[i].0;
        // A role's handler also listens as `role : topic`.
        let listens = h.listen.iter().filter_map(scalar_string).any(|topic| {
            topic == notification
                || h.role
                    .as_ref()
                    .is_some_and(|r| role_prefixed(r, &topic, notification))
        });
        if !listens {
            continue;
        }
        if let Some(hname) = &names[i] {
            if !seen_names.insert(hname) {
                continue;
            }
        }
        if !chosen.contains(&i) {
            chosen.push(i);
        }
    }
    chosen
}

/// Whether `notification` is `role : what`, the role named with or without its collection.
fn role_prefixed(role: &crate::playbook::Role, what: &str, notification: &str) -> bool {
    notification
        .strip_suffix(what)
        .and_then(|head| head.strip_suffix(" : "))
        .is_some_and(|r| r == role.name || r == role.short_name())
}

fn status_of(r: &Map<String, Value>) -> Status {
    if r.get("unreachable").map(truthy).unwrap_or(false) {
        Status::Unreachable
    } else if r.get("failed").map(truthy).unwrap_or(false) {
        Status::Failed
    } else if r.get("skipped").map(truthy).unwrap_or(false) {
        Status::Skipped
    } else if r.get("changed").map(truthy).unwrap_or(false) {
        Status::Changed
    } else {
        Status::Ok
    }
}

/// Ansible warns on every result of a task whose `args` is a template.
fn warn_args_splat(task: &Task, r: &mut Map<String, Value>) {
    if task.args.get(actions::VARIABLE_PARAMS).is_none() && !actions::splats_raw_params(task) {
        return;
    }
    const WARNING: &str = "Using a template for task args is unsafe in some situations (see https://docs.ansible.com/ansible/devel/reference_appendices/faq.html#argsplat-unsafe).";
    match r.get_mut("warnings") {
        Some(Value::Array(w)) => w.push(json!(WARNING)),
        _ => {
            r.insert("warnings".into(), json!([WARNING]));
        }
    }
}

/// The result of a task whose action raised an error (Ansible's keys, in its order).
pub(super) fn task_failed(msg: String) -> Map<String, Value> {
    let mut r = Map::new();
    r.insert("changed".into(), json!(false));
    r.insert("failed".into(), json!(true));
    r.insert("exception".into(), json!("(traceback unavailable)"));
    r.insert("msg".into(), json!(msg));
    r
}

fn skipped_result(cond: Value) -> Map<String, Value> {
    let mut r = Map::new();
    r.insert("changed".into(), json!(false));
    r.insert("false_condition".into(), cond);
    r.insert("skip_reason".into(), json!("Conditional result was False"));
    r.insert("skipped".into(), json!(true));
    r
}

/// Ansible's strict `boolean()`: its spellings of true and false, nothing else.
fn strict_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_f64() {
            Some(1.0) => Some(true),
            Some(0.0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.to_lowercase().as_str() {
            "y" | "yes" | "on" | "1" | "true" | "t" => Some(true),
            "n" | "no" | "off" | "0" | "false" | "f" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn bool_kw(c: &Arc<Context>, n: Option<&Node>, default: bool) -> Result<bool> {
    match n {
        None => Ok(default),
        Some(n) => Ok(truthy(&c.template_node(n)?)),
    }
}

fn run_on_host(
    ctx: &Arc<PlayCtx>,
    task: &Arc<Task>,
    scope: &Arc<Scope>,
    host: &str,
    info: &TaskInfo,
) -> HostOutcome {
    let mut out = HostOutcome {
        host: host.to_string(),
        items: Vec::new(),
        retries: Vec::new(),
        result: Map::new(),
        status: Status::Ok,
        ignored: false,
        delegated_to: None,
    };
    let base = Context::new(Arc::new(ctx.vars_for(
        host,
        Some(scope),
        Some(&task.kw),
        None,
    )));
    // The task's own boolean keywords take only Ansible's boolean spellings.
    let mut kw_error = None;
    for (name, kw) in [("diff", &task.kw.diff), ("check_mode", &task.kw.check_mode)] {
        let Some(n) = kw else { continue };
        let msg = match base.template_node(n) {
            Err(e) => e.msg,
            Ok(v) if strict_bool(&v).is_none() => format!(
                "The value {} could not be converted to 'bool'.",
                crate::template::python_repr(&v)
            ),
            Ok(_) => continue,
        };
        kw_error = Some(task_failed(format!(
            "Task failed: Error processing keyword '{name}': {msg}"
        )));
        break;
    }
    let ignore_errors = bool_kw(
        &base,
        scope.keyword(task.kw.ignore_errors.as_deref(), |k| {
            k.ignore_errors.as_deref()
        }),
        false,
    )
    .unwrap_or(false);
    let ignore_unreachable = bool_kw(
        &base,
        scope.keyword(task.kw.ignore_unreachable.as_deref(), |k| {
            k.ignore_unreachable.as_deref()
        }),
        false,
    )
    .unwrap_or(false);
    let mut conds = scope.conditions();
    conds.extend(task.kw.when.iter().cloned());
    if let Some(d) = scope.keyword(task.kw.delegate_to.as_deref(), |k| k.delegate_to.as_deref()) {
        if let Ok(v) = base.template_node(d) {
            let name = value_str(&v);
            if !name.is_empty() && name != "None" {
                out.delegated_to = Some(delegate_display(ctx, &name));
            }
        }
    }

    let result = if let Some(r) = kw_error {
        r
    } else if task.loop_.is_some() {
        run_loop(ctx, task, scope, host, &conds, &mut out, info)
    } else {
        take_deprecations();
        let mut r = match eval_conditions(&base, &conds, "when") {
            Err(e) => task_failed(format!("Task failed: {}", e.msg)),
            Ok(Some(cond)) => skipped_result(cond),
            Ok(None) => run_with_retries(ctx, task, scope, host, None, &mut out.retries),
        };
        attach_deprecations(&mut r, take_deprecations());
        r
    };
    out.status = status_of(&result);
    out.ignored = match out.status {
        Status::Failed => ignore_errors || (task.loop_.is_some() && out.ignored),
        Status::Unreachable => ignore_unreachable,
        _ => false,
    };
    out.result = result;
    out
}

/// `register`: the host's result (internal keys dropped, `failed` always present) becomes a
/// variable of the host.
fn register_result(ctx: &Arc<PlayCtx>, task: &Task, host: &str, result: &Map<String, Value>) {
    let Some(reg) = &task.register else { return };
    let reg_val = super::registered::registered(result);
    ctx.run.host_state(host, |hs| {
        hs.vars.insert(reg.clone(), Value::Object(reg_val));
    });
}

/// The loop variables for item `i` of `items`.
fn loop_layer(
    task: &Task,
    c: &Arc<Context>,
    items: &[Value],
    i: usize,
) -> Result<(Map<String, Value>, String, Option<String>)> {
    // Only the keys that shape the loop are read here: `label` and `break_when` refer to
    // the item and are templated per item.
    let mut lc = Map::new();
    if let Some(m) = task.loop_control.as_ref().and_then(Node::as_map) {
        for key in ["loop_var", "index_var", "extended", "extended_allitems"] {
            if let Some(n) = m.get(key) {
                lc.insert(key.into(), c.template_node(n)?);
            }
        }
    }
    let loop_var = lc
        .get("loop_var")
        .map(value_str)
        .unwrap_or_else(|| "item".into());
    let index_var = lc.get("index_var").map(value_str);
    let mut m = Map::new();
    m.insert(loop_var.clone(), items[i].clone());
    m.insert("ansible_loop_var".into(), json!(loop_var));
    if let Some(iv) = &index_var {
        m.insert(iv.clone(), json!(i));
        m.insert("ansible_index_var".into(), json!(iv));
    }
    if lc.get("extended").map(truthy).unwrap_or(false) {
        let n = items.len();
        let mut l = Map::new();
        if lc.get("extended_allitems").map(truthy).unwrap_or(true) {
            l.insert("allitems".into(), json!(items));
        }
        l.insert("index".into(), json!(i + 1));
        l.insert("index0".into(), json!(i));
        l.insert("revindex".into(), json!(n - i));
        l.insert("revindex0".into(), json!(n - i - 1));
        l.insert("first".into(), json!(i == 0));
        l.insert("last".into(), json!(i + 1 == n));
        l.insert("length".into(), json!(n));
        if i > 0 {
            l.insert("previtem".into(), items[i - 1].clone());
        }
        if i + 1 < n {
            l.insert("nextitem".into(), items[i + 1].clone());
        }
        m.insert("ansible_loop".into(), Value::Object(l));
    }
    Ok((m, loop_var, index_var))
}

/// How the output names a delegate: its `ansible_host` when set, else its name.
fn delegate_display(ctx: &Arc<PlayCtx>, name: &str) -> String {
    let c = Context::new(Arc::new(ctx.vars_for(name, None, None, None)));
    match c.resolve("ansible_host") {
        Some(v) if !v.is_undefined() && !v.is_none() => v.to_string(),
        _ => name.to_string(),
    }
}

/// The items a task loops over.
pub fn loop_items(task: &Task, c: &Arc<Context>) -> Result<Vec<Value>> {
    let node = task.loop_.as_ref().expect("loop");
    let terms = c.template_node(node).map_err(|e| e.or_at(&node.span))?;
    match &task.loop_kind {
        Some(LoopKind::With(lookup)) => super::loops::with_lookup(lookup, terms, c).map_err(|e| e.or_at(&node.span)),
        _ => match terms {
            Value::Array(a) => Ok(a),
            other => Err(Error::at(
                format!(
                    "Invalid data passed to 'loop', it requires a list, got this instead: {}. Hint: If you passed a list/dict of just one element, try adding wantlist=True to your lookup invocation or use q/query instead of lookup.",
                    value_str(&other)
                ),
                &node.span,
            )),
        },
    }
}

fn run_loop(
    ctx: &Arc<PlayCtx>,
    task: &Arc<Task>,
    scope: &Arc<Scope>,
    host: &str,
    conds: &[Node],
    out: &mut HostOutcome,
    _info: &TaskInfo,
) -> Map<String, Value> {
    let base = Context::new(Arc::new(ctx.vars_for(
        host,
        Some(scope),
        Some(&task.kw),
        None,
    )));
    let items = match loop_items(task, &base) {
        Ok(items) => items,
        Err(e) => return loop_error_result(&e, &base, conds),
    };
    if items.is_empty() {
        let mut r = Map::new();
        r.insert("changed".into(), json!(false));
        r.insert("results".into(), json!([]));
        r.insert("skip_reason".into(), json!("No items in the list"));
        r.insert("skipped".into(), json!(true));
        r.insert("skipped_reason".into(), json!("No items in the list"));
        return r;
    }
    let mut results = Vec::new();
    let mut any_changed = false;
    let mut any_failed = false;
    let mut all_skipped = true;
    let mut pause = 0f64;
    for i in 0..items.len() {
        let (lvars, _loop_var, _) = match loop_layer(task, &base, &items, i) {
            Ok(x) => x,
            Err(e) => return task_failed(format!("Task failed: {}", e.msg)),
        };
        let c = Context::new(Arc::new(ctx.vars_for(
            host,
            Some(scope),
            Some(&task.kw),
            Some(lvars.clone()),
        )));
        let lc = item_loop_control(task, &c);
        if let Some(p) = lc.get("pause").and_then(Value::as_f64) {
            pause = p;
        }
        take_deprecations();
        let mut r = match eval_conditions(&c, conds, "when") {
            Err(e) => task_failed(format!("Task failed: {}", e.msg)),
            Ok(Some(cond)) => skipped_result(cond),
            Ok(None) => run_with_retries(
                ctx,
                task,
                scope,
                host,
                Some(lvars.clone()),
                &mut out.retries,
            ),
        };
        attach_deprecations(&mut r, take_deprecations());
        for (k, v) in &lvars {
            if k != "ansible_loop" {
                r.insert(k.clone(), v.clone());
            }
        }
        if lc.get("extended").map(truthy).unwrap_or(false) {
            if let Some(l) = lvars.get("ansible_loop") {
                r.insert("ansible_loop".into(), l.clone());
            }
        }
        if !r.contains_key("failed") {
            r.insert("failed".into(), json!(false));
        }
        if !r.contains_key("changed") {
            r.insert("changed".into(), json!(false));
        }
        r.insert(
            "_ansible_no_log".into(),
            json!(no_log_in(ctx, task, scope, &c)),
        );
        let label = match item_label(ctx, task, scope, host, &lvars, &r) {
            Some(Ok(l)) => {
                r.insert("_ansible_item_label".into(), l.clone());
                l
            }
            Some(Err(warning)) => {
                add_warning(&mut r, warning);
                items[i].clone()
            }
            None => items[i].clone(),
        };
        let st = status_of(&r);
        // ignore_errors is decided per item; the task's failure is ignored when any item's
        // says so (as ansible-core does).
        out.ignored |= bool_kw(
            &c,
            scope.keyword(task.kw.ignore_errors.as_deref(), |k| {
                k.ignore_errors.as_deref()
            }),
            false,
        )
        .unwrap_or(false);
        any_changed |= r.get("changed").map(truthy).unwrap_or(false);
        any_failed |= st == Status::Failed;
        all_skipped &= st == Status::Skipped;
        out.items.push(RunnerResult {
            host: host.to_string(),
            delegated_to: None,
            status: st,
            result: r.clone(),
            item: Some(label),
            ignored: false,
        });
        results.push(Value::Object(r));
        if pause > 0.0 && i + 1 < items.len() {
            std::thread::sleep(std::time::Duration::from_secs_f64(pause));
        }
        if let Some(bw) = lc.get("break_when") {
            let conds: Vec<Node> = match bw {
                Value::Array(a) => a
                    .iter()
                    .map(|v| Node::string(value_str(v), task.span.clone()))
                    .collect(),
                v => vec![Node::string(value_str(v), task.span.clone())],
            };
            let mut lv = lvars.clone();
            if let Some(reg) = &task.register {
                lv.insert(reg.clone(), results.last().cloned().unwrap_or(Value::Null));
            }
            let c2 = Context::new(Arc::new(ctx.vars_for(
                host,
                Some(scope),
                Some(&task.kw),
                Some(lv),
            )));
            if let Ok(None) = eval_conditions(&c2, &conds, "break_when") {
                break;
            }
        }
    }
    let mut r = Map::new();
    r.insert("changed".into(), json!(any_changed));
    if any_failed {
        r.insert("failed".into(), json!(true));
        r.insert("msg".into(), json!("One or more items failed"));
    } else {
        r.insert("msg".into(), json!("All items completed"));
    }
    // The items' warnings are the loop's too, as Ansible gathers them.
    let warnings: Vec<Value> = results
        .iter()
        .filter_map(|r| r.get("warnings").and_then(Value::as_array))
        .flatten()
        .cloned()
        .collect();
    if !warnings.is_empty() {
        r.insert("warnings".into(), Value::Array(warnings));
    }
    let deprecations: Vec<Value> = results
        .iter()
        .filter_map(|r| r.get("deprecations").and_then(Value::as_array))
        .flatten()
        .cloned()
        .collect();
    attach_deprecations(&mut r, deprecations);
    r.insert("results".into(), Value::Array(results));
    if all_skipped {
        r.insert("skipped".into(), json!(true));
        r.insert("msg".into(), json!("All items skipped"));
    }
    r
}

/// The task's `loop_control` for one item, without `label` (templated after the item ran).
/// A key that fails to template is left out, so the others still apply.
fn item_loop_control(task: &Task, c: &Arc<Context>) -> Map<String, Value> {
    let mut lc = Map::new();
    if let Some(m) = task.loop_control.as_ref().and_then(Node::as_map) {
        for (k, n) in m.iter() {
            if k == "label" {
                continue;
            }
            if let Ok(v) = c.template_node(n) {
                lc.insert(k.clone(), v);
            }
        }
    }
    lc
}

/// The `loop_control.label` of an item, templated with the item's own result registered
/// (as Ansible does); an error is a warning and the item shows as itself.
fn item_label(
    ctx: &Arc<PlayCtx>,
    task: &Task,
    scope: &Arc<Scope>,
    host: &str,
    lvars: &Map<String, Value>,
    r: &Map<String, Value>,
) -> Option<std::result::Result<Value, String>> {
    let node = task.loop_control.as_ref()?.as_map()?.get("label")?;
    let mut lv = lvars.clone();
    if let Some(reg) = &task.register {
        lv.insert(reg.clone(), Value::Object(super::registered::registered(r)));
    }
    let c = Context::new(Arc::new(ctx.vars_for(
        host,
        Some(scope),
        Some(&task.kw),
        Some(lv),
    )));
    Some(
        c.template_node(node)
            .map_err(|e| format!("Failed to template loop_control label: {}", e.msg)),
    )
}

/// Append a warning to a result's `warnings`.
fn add_warning(r: &mut Map<String, Value>, warning: String) {
    match r.get_mut("warnings") {
        Some(Value::Array(list)) => list.push(json!(warning)),
        _ => {
            r.insert("warnings".into(), json!([warning]));
        }
    }
}

/// The action once, or until `until` holds.
fn run_with_retries(
    ctx: &Arc<PlayCtx>,
    task: &Arc<Task>,
    scope: &Arc<Scope>,
    host: &str,
    loop_vars: Option<Map<String, Value>>,
    retries_out: &mut Vec<(u32, Map<String, Value>)>,
) -> Map<String, Value> {
    let c = Context::new(Arc::new(ctx.vars_for(
        host,
        Some(scope),
        Some(&task.kw),
        loop_vars.clone(),
    )));
    // As Ansible: `retries` (3 with only `until`) more runs after the first; `retries`
    // without `until` retries until the task does not fail; `retries: 0` runs once.
    let retries = match &task.retries {
        Some(n) => c
            .template_node(n)
            .ok()
            .and_then(|v| v.as_i64().or_else(|| value_str(&v).parse().ok()))
            .unwrap_or(3)
            .max(0) as u64,
        None if task.until.is_some() => 3,
        None => 0,
    };
    if retries == 0 {
        return run_once(ctx, task, scope, host, &c, loop_vars).0;
    }
    let delay = match &task.delay {
        Some(n) => c
            .template_node(n)
            .ok()
            .and_then(|v| v.as_f64().or_else(|| value_str(&v).parse().ok()))
            .unwrap_or(5.0),
        None => 5.0,
    };
    let runs = retries + 1;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (mut r, raised) = run_once(ctx, task, scope, host, &c, loop_vars.clone());
        if raised {
            return r;
        }
        r.insert("attempts".into(), json!(attempt));
        let done = match until_holds(ctx, task, scope, host, &loop_vars, &r) {
            Ok(done) => done,
            Err(e) => return task_failed(format!("Task failed: {}", e.msg)),
        };
        // `until` only ends the retries: a failed result that satisfies it stays failed,
        // as in Ansible.
        if done {
            return r;
        }
        if attempt == runs {
            // Ansible counts the retries, not the runs, in the exhausted result.
            r.insert("attempts".into(), json!(retries));
            r.insert("failed".into(), json!(true));
            return r;
        }
        let mut shown = r;
        shown.insert("attempts".into(), json!(attempt + 1));
        shown.insert("retries".into(), json!(runs));
        retries_out.push(((runs - attempt - 1) as u32, shown));
        if delay > 0.0 {
            std::thread::sleep(std::time::Duration::from_secs_f64(delay));
        }
    }
}

/// Whether a task's `until` holds for result `r` (registered under the task's name);
/// without `until`, whether the task did not fail.
fn until_holds(
    ctx: &Arc<PlayCtx>,
    task: &Task,
    scope: &Arc<Scope>,
    host: &str,
    loop_vars: &Option<Map<String, Value>>,
    r: &Map<String, Value>,
) -> Result<bool> {
    let Some(until) = &task.until else {
        return Ok(!r.get("failed").is_some_and(truthy));
    };
    let mut lv = loop_vars.clone().unwrap_or_default();
    lv.insert(
        task.register
            .clone()
            .unwrap_or_else(|| "__until_result".into()),
        Value::Object(super::registered::registered(r)),
    );
    let uc = Context::new(Arc::new(ctx.vars_for(
        host,
        Some(scope),
        Some(&task.kw),
        Some(lv),
    )));
    Ok(eval_conditions(&uc, std::slice::from_ref(until), "until")?.is_none())
}

/// A task whose action name is a template (`action: {module: "{{ m }}"}`), with the name
/// resolved for this host. Only modules and the controller actions that run per host
/// can be chosen this way; includes, imports and meta are decided before any host runs.
fn resolve_action(task: &Arc<Task>, c: &Arc<Context>) -> std::result::Result<Arc<Task>, String> {
    let written = match c.template_str(&task.action_written) {
        Ok(v) => value_str(&v),
        Err(e) => return Err(e.msg),
    };
    let short = crate::playbook::canonical_action(&written).to_string();
    let per_host = !short.starts_with("include_")
        && !short.starts_with("import_")
        && short != "meta"
        && crate::playbook::action_kind(&short).is_some();
    if !per_host {
        return Err(format!(
            "Cannot resolve '{written}' to an action or module."
        ));
    }
    let mut t = (**task).clone();
    t.action = short;
    t.action_written = written;
    Ok(Arc::new(t))
}

/// The `timeout` keyword (the task's own or an enclosing block's or play's), in seconds;
/// `None` for none (unset, zero or not a number).
fn task_timeout(task: &Task, scope: &Arc<Scope>, c: &Arc<Context>) -> Result<Option<u64>> {
    let Some(n) = scope.keyword(task.kw.timeout.as_deref(), |k| k.timeout.as_deref()) else {
        return Ok(None);
    };
    let v = c.template_node(n)?;
    let secs = v.as_u64().or_else(|| value_str(&v).trim().parse().ok());
    Ok(secs.filter(|s| *s > 0))
}

/// Run the action, giving up after the task's `timeout` as Ansible does: the attempt
/// fails with a `timedout` result. Over SSH the module is stopped on the target; an action
/// running in this process finishes in the background (its result is dropped). Neither
/// undoes anything, as Ansible does not.
fn execute_within_timeout(
    ctx: &Arc<PlayCtx>,
    task: &Arc<Task>,
    scope: &Arc<Scope>,
    host: &str,
    c: &Arc<Context>,
) -> Result<Map<String, Value>> {
    let Some(secs) = task_timeout(task, scope, c)? else {
        return actions::execute(ctx, task, scope, host, c);
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let (ctx2, task2, scope2, host2, c2) = (
        ctx.clone(),
        task.clone(),
        scope.clone(),
        host.to_string(),
        c.clone(),
    );
    let token = Arc::new(crate::connection::cancel::Cancel::default());
    let token2 = token.clone();
    std::thread::spawn(move || {
        let r = crate::connection::cancel::with(token2, || {
            actions::execute(&ctx2, &task2, &scope2, &host2, &c2)
        });
        let _ = tx.send(r);
    });
    match rx.recv_timeout(std::time::Duration::from_secs(secs)) {
        Ok(r) => r,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            // Over SSH the module is stopped on the target and the host's connection is
            // free for the next task at once.
            token.fire();
            Ok(timed_out(secs))
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            Err(Error::new("the task's action ended without a result"))
        }
    }
}

/// Ansible's result for an attempt that ran out of time.
fn timed_out(secs: u64) -> Map<String, Value> {
    let mut r = task_failed(format!("Task failed: Timed out after {secs} second(s)."));
    r.insert(
        "timedout".into(),
        json!({
            "frame": "Configure `DISPLAY_TRACEBACK` to see a traceback on timeout errors.",
            "period": secs,
        }),
    );
    r
}

/// The action, then `failed_when` and `changed_when`; true with the result when the action
/// raised an error instead (Ansible applies neither condition, nor `until`, to those).
fn run_once(
    ctx: &Arc<PlayCtx>,
    task: &Arc<Task>,
    scope: &Arc<Scope>,
    host: &str,
    c: &Arc<Context>,
    loop_vars: Option<Map<String, Value>>,
) -> (Map<String, Value>, bool) {
    let resolved;
    let task = if crate::template::is_template(&task.action_written) {
        match resolve_action(task, c) {
            Ok(t) => {
                resolved = t;
                &resolved
            }
            Err(msg) => return (task_failed(format!("Task failed: {msg}")), true),
        }
    } else {
        task
    };
    let mut r = match execute_within_timeout(ctx, task, scope, host, c) {
        Ok(r) => r,
        Err(e) => {
            let mut r = task_failed(format!("Task failed: {}", e.msg));
            warn_args_splat(task, &mut r);
            return (r, true);
        }
    };
    if r.remove(super::connect::RAISED).is_some() {
        r.insert("exception".into(), json!("(traceback unavailable)"));
        return (r, true);
    }
    warn_args_splat(task, &mut r);
    if !r.contains_key("changed") {
        r.insert("changed".into(), json!(false));
    }
    // Every task result with stdout/stderr carries them split into lines as well.
    for (text, lines) in [("stdout", "stdout_lines"), ("stderr", "stderr_lines")] {
        if r.contains_key(text) && !r.contains_key(lines) {
            let t = r.get(text).and_then(Value::as_str).unwrap_or_default();
            let split = play_modules::util::splitlines(t);
            r.insert(lines.into(), Value::Array(split));
        }
    }
    // Tracebacks are not shown (Ansible's default display_traceback): only the placeholder.
    if r.get("failed").map(truthy) == Some(true) || r.contains_key("exception") {
        r.insert("exception".into(), json!("(traceback unavailable)"));
    }
    let module_failed = r.get("failed").map(truthy) == Some(true)
        && !crate::playbook::is_controller_action(&task.action);
    // A message Ansible made from the exception follows the exception when it is replaced.
    let msg_from_exception = r
        .get("msg")
        .and_then(Value::as_str)
        .is_some_and(|m| m.starts_with("Task failed: "));
    if task.failed_when.is_empty() && task.changed_when.is_empty() {
        return (r, false);
    }
    let mut lv = loop_vars.unwrap_or_default();
    if let Some(reg) = &task.register {
        lv.insert(
            reg.clone(),
            Value::Object(super::registered::registered(&r)),
        );
    }
    let pc = Context::new(Arc::new(ctx.vars_for(
        host,
        Some(scope),
        Some(&task.kw),
        Some(lv),
    )));
    // As Ansible's task result does it: an error in changed_when fails the task and skips
    // failed_when; failed_when moves any earlier exception aside, whatever its outcome.
    let placeholder = json!("(traceback unavailable)");
    let mut reason = None;
    let inner = |e: Error, what: &str| {
        let prefix = format!("A '{what}' expression failed: ");
        e.msg.strip_prefix(&prefix).unwrap_or(&e.msg).to_string()
    };
    let mut changed_when_failed = false;
    if !task.changed_when.is_empty() {
        match any_condition(&pc, &task.changed_when, "changed_when") {
            Ok(b) => {
                r.insert("changed".into(), json!(b));
                r.insert("changed_when_result".into(), json!(b));
            }
            Err(e) => {
                let m = inner(e, "changed_when");
                if let Some(x) = r.get("exception").cloned() {
                    r.insert("changed_when_suppressed_exception".into(), x);
                }
                r.insert("changed_when_result".into(), json!(m));
                r.insert("failed".into(), json!(true));
                r.insert("exception".into(), placeholder.clone());
                reason = Some(format!("A 'changed_when' expression failed: {m}"));
                changed_when_failed = true;
            }
        }
    }
    if !task.failed_when.is_empty() && !changed_when_failed {
        if let Some(x) = r.remove("exception") {
            r.insert("failed_when_suppressed_exception".into(), x);
        }
        match any_condition(&pc, &task.failed_when, "failed_when") {
            Ok(b) => {
                r.insert("failed_when_result".into(), json!(b));
                r.insert("failed".into(), json!(b));
                if b {
                    r.insert("exception".into(), placeholder.clone());
                    reason = Some("A 'failed_when' expression evaluated to 'True'.".into());
                }
            }
            Err(e) => {
                let m = inner(e, "failed_when");
                r.insert("failed_when_result".into(), json!(m));
                r.insert("failed".into(), json!(true));
                r.insert("exception".into(), placeholder.clone());
                reason = Some(format!("A 'failed_when' expression failed: {m}"));
            }
        }
    }
    if let Some(reason) = reason {
        let label = if module_failed {
            "Module failed"
        } else {
            "Action failed"
        };
        let text = format!("Task failed: {label}: {reason}");
        if msg_from_exception || !r.get("msg").is_some_and(truthy) {
            r.insert("msg".into(), json!(text));
        }
        // The error report names the condition even where the result keeps its own msg.
        r.insert(EXCEPTION_MSG_KEY.into(), json!(text));
    }
    (r, false)
}

/// `changed_when`/`failed_when` lists are true when every condition is (an AND, as `when`).
fn any_condition(c: &Arc<Context>, conds: &[Node], what: &str) -> Result<bool> {
    Ok(eval_conditions(c, conds, what)?.is_none())
}

/// An include's templated arguments, and the loop variables when it loops.
pub type IncludeRun = (Map<String, Value>, Option<Map<String, Value>>);

/// How an include resolved on one host.
pub enum IncludeRuns {
    Skipped(Map<String, Value>),
    Failed(Map<String, Value>),
    /// Once per item (or once without a loop).
    Run(Vec<IncludeRun>),
}

/// Conditions, loop and arguments of an include for one host, before anything is read.
pub fn include_runs(
    ctx: &Arc<PlayCtx>,
    t: &Arc<Task>,
    scope: &Arc<Scope>,
    host: &str,
) -> Result<IncludeRuns> {
    let base = Context::new(Arc::new(ctx.vars_for(host, Some(scope), Some(&t.kw), None)));
    let mut conds = scope.conditions();
    conds.extend(t.kw.when.iter().cloned());
    let template_args = |c: &Arc<Context>| -> Result<Map<String, Value>> {
        let mut m = Map::new();
        for (k, v) in t.args.iter() {
            m.insert(k.clone(), c.template_node(v)?);
        }
        Ok(m)
    };
    if t.loop_.is_none() {
        return Ok(match eval_conditions(&base, &conds, "when") {
            Err(e) => IncludeRuns::Failed(task_failed(format!("Task failed: {}", e.msg))),
            Ok(Some(cond)) => IncludeRuns::Skipped(skipped_result(cond)),
            Ok(None) => match template_args(&base) {
                Ok(a) => IncludeRuns::Run(vec![(a, None)]),
                Err(e) => IncludeRuns::Failed(task_failed(format!("Task failed: {}", e.msg))),
            },
        });
    }
    let items = match loop_items(t, &base) {
        Ok(i) => i,
        Err(e) => {
            let r = loop_error_result(&e, &base, &conds);
            return Ok(if r.contains_key("skipped") {
                IncludeRuns::Skipped(r)
            } else {
                IncludeRuns::Failed(r)
            });
        }
    };
    let mut runs = Vec::new();
    for i in 0..items.len() {
        let (mut lvars, _, _) = loop_layer(t, &base, &items, i)?;
        let c = Context::new(Arc::new(ctx.vars_for(
            host,
            Some(scope),
            Some(&t.kw),
            Some(lvars.clone()),
        )));
        if let Ok(None) = eval_conditions(&c, &conds, "when") {
            let args = template_args(&c)?;
            let lc = t
                .loop_control
                .as_ref()
                .and_then(|n| c.template_node(n).ok())
                .and_then(|v| v.as_object().cloned())
                .unwrap_or_default();
            lvars.insert(
                "__label".into(),
                lc.get("label").cloned().unwrap_or_else(|| items[i].clone()),
            );
            runs.push((args, Some(lvars)));
        }
    }
    if runs.is_empty() {
        return Ok(IncludeRuns::Skipped(skipped_result(json!(false))));
    }
    Ok(IncludeRuns::Run(runs))
}

/// The result of a task whose loop could not be templated. An undefined value in the loop
/// waits for the condition: a task that would be skipped anyway is skipped, as Ansible
/// defers the loop's error.
fn loop_error_result(e: &Error, base: &Arc<Context>, conds: &[Node]) -> Map<String, Value> {
    if e.msg.starts_with("The lookup plugin ") {
        return task_failed(e.msg.clone());
    }
    let undefined = e.msg.contains("is undefined") || e.msg.contains("has no attribute");
    if undefined {
        if let Ok(Some(cond)) = eval_conditions(base, conds, "when") {
            return skipped_result(cond);
        }
    }
    task_failed(format!("Task failed: {}", e.msg))
}

/// Report a result for one host outside `run_task` (includes that were skipped or failed).
pub fn report_single(
    ctx: &Arc<PlayCtx>,
    t: &Arc<Task>,
    scope: &Arc<Scope>,
    host: &str,
    result: Map<String, Value>,
    _skipped: bool,
) {
    report_result(ctx, t, scope, host, result, true);
}

/// The task's `ignore_errors` (its own or inherited) for a host.
fn ignores_errors(ctx: &Arc<PlayCtx>, t: &Task, scope: &Arc<Scope>, host: &str) -> bool {
    let c = Context::new(Arc::new(ctx.vars_for(host, Some(scope), Some(&t.kw), None)));
    bool_kw(
        &c,
        scope.keyword(t.kw.ignore_errors.as_deref(), |k| {
            k.ignore_errors.as_deref()
        }),
        false,
    )
    .unwrap_or(false)
}

/// A failure the task's `ignore_errors` cannot ignore (an include that could not be
/// loaded), as in Ansible, where it fails the host outside the task's own result.
pub fn report_unignorable(
    ctx: &Arc<PlayCtx>,
    t: &Arc<Task>,
    scope: &Arc<Scope>,
    host: &str,
    result: Map<String, Value>,
) {
    report_result(ctx, t, scope, host, result, false);
}

fn report_result(
    ctx: &Arc<PlayCtx>,
    t: &Arc<Task>,
    scope: &Arc<Scope>,
    host: &str,
    result: Map<String, Value>,
    ignorable: bool,
) {
    let info = task_info(ctx, t, scope, Some(host), false);
    let status = status_of(&result);
    let ignore = match status {
        Status::Failed if ignorable => ignores_errors(ctx, t, scope, host),
        _ => false,
    };
    let _ = account(
        ctx,
        t,
        scope,
        &info,
        HostOutcome {
            host: host.to_string(),
            items: Vec::new(),
            retries: Vec::new(),
            result,
            status,
            ignored: ignore,
            delegated_to: None,
        },
    );
}

/// Print the task banner for an include (its results come from the include logic).
pub fn banner(ctx: &Arc<PlayCtx>, t: &Arc<Task>, scope: &Arc<Scope>, hosts: &[String]) {
    let info = task_info(ctx, t, scope, hosts.first().map(String::as_str), false);
    ctx.run.cb().task_start(&info);
}

/// The `RUNNING HANDLER [...]` banner.
pub fn handler_banner(ctx: &Arc<PlayCtx>, t: &Arc<Task>, scope: &Arc<Scope>, hosts: &[String]) {
    let info = task_info(ctx, t, scope, hosts.first().map(String::as_str), true);
    ctx.run.cb().handler_task_start(&info);
}

/// Count an include that ran as ok for each host (as Ansible's recap does).
pub fn count_included(ctx: &Arc<PlayCtx>, hosts: &[String]) {
    for h in hosts {
        ctx.run.stat(h, |s| s.ok += 1);
    }
}

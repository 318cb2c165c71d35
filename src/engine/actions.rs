//! Actions the controller runs itself (debug, set_fact, assert, fail, pause, include_vars,
//! add_host, group_by, set_stats), the controller half of `template` and `copy`, and the
//! hand-off of modules to the target.

use super::hostvars::OMIT;
use super::play::PlayCtx;
use super::scope::Scope;
use super::task::{eval_conditions, truthy, value_str};
use crate::error::{Error, Result};
use crate::playbook::{scalar_string, Task};
use crate::template::Context;
use crate::yaml::{Kind, Mapping, Node};
use base64::Engine;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Run the task's action for one host and return its result.
/// Actions whose Ansible action plugin refuses `async:` (only plain modules, command/shell,
/// package managers, service and uri take it).
const NO_ASYNC: &[&str] = &[
    "add_host",
    "assemble",
    "assert",
    "async_status",
    "copy",
    "debug",
    "fail",
    "fetch",
    "group_by",
    "include_vars",
    "pause",
    "raw",
    "reboot",
    "script",
    "set_fact",
    "set_stats",
    "template",
    "unarchive",
    "wait_for_connection",
];

pub fn execute(
    ctx: &Arc<PlayCtx>,
    task: &Arc<Task>,
    scope: &Arc<Scope>,
    host: &str,
    c: &Arc<Context>,
) -> Result<Map<String, Value>> {
    let call = Call {
        ctx,
        task,
        scope,
        host,
        c,
    };
    if NO_ASYNC.contains(&task.action.as_str()) {
        if let Some(n) = &task.async_ {
            if value_str(&c.template_node(n)?).parse::<u64>().unwrap_or(0) > 0 {
                return Ok(failed(json!(format!(
                    "This action ({}) does not support async.",
                    task.action
                ))));
            }
        }
    }
    check_port(ctx, task, scope, c)?;
    if let Some(raw) = task.args.get("_raw_params").and_then(scalar_string) {
        if !crate::playbook::accepts_raw_params(&task.action) && !possibly_all_template(&raw) {
            return Err(Error::new(format!(
                "Action '{}' does not support raw params.",
                qualified(&task.action_written)
            )));
        }
    }
    if let Some(r) = unknown_args(task, c)? {
        return Ok(r);
    }
    match task.action.as_str() {
        "debug" => debug(ctx, task, c),
        "set_fact" => set_fact(ctx, task, scope, host, c),
        "assert" => assert(task, c),
        "fail" => {
            let args = template_args(task, c)?;
            let msg = args
                .get("msg")
                .cloned()
                .unwrap_or_else(|| json!("Failed as requested from task"));
            Ok(failed(msg))
        }
        "pause" => pause(task, c),
        "include_vars" => include_vars(ctx, task, scope, host, c),
        "add_host" => add_host(ctx, task, c),
        "group_by" => group_by(ctx, task, host, c),
        "set_stats" => set_stats(ctx, task, c),
        "meta" => Ok(Map::new()),
        "template" => template(call, "copy"),
        "config_template" => template(call, "config_template"),
        "copy" => copy(call),
        "unarchive" => unarchive(call),
        "assemble" => assemble(call),
        "fetch" => fetch(call),
        "script" => script(call),
        "wait_for_connection" => super::reconnect::wait_for_connection(call),
        "reboot" => super::reconnect::reboot(call),
        _ => module(call, template_args(task, c)?),
    }
}

/// Ansible converts the connection's port to an integer for every task, whatever its
/// action or connection: a port that is no integer fails the task. The port is the
/// delegate's for a delegated task.
fn check_port(ctx: &Arc<PlayCtx>, task: &Task, scope: &Arc<Scope>, c: &Arc<Context>) -> Result<()> {
    let delegate_vars;
    let vars = match delegate_target(task, scope, c)? {
        Some(d) => {
            delegate_vars = Context::new(Arc::new(ctx.vars_for(&d, None, None, None)));
            &delegate_vars
        }
        None => c,
    };
    let var = ["ansible_port", "ansible_ssh_port"].iter().find_map(|n| {
        vars.resolve(n)
            .filter(|v| !v.is_none() && !v.is_undefined())
    });
    let port = match var {
        Some(v) => Some(value_str(
            &crate::template::from_mj(&v).map_err(Error::new)?,
        )),
        None => keyword_string(
            c,
            scope.keyword(task.kw.port.as_deref(), |k| k.port.as_deref()),
        )?,
    };
    match port {
        Some(p) => crate::connection::params::port_int(&p)
            .map(drop)
            .map_err(Error::new),
        None => Ok(()),
    }
}

/// The host a delegated task runs on (`delegate_to`, templated); `None` when not delegated.
fn delegate_target(task: &Task, scope: &Arc<Scope>, c: &Arc<Context>) -> Result<Option<String>> {
    match scope.keyword(task.kw.delegate_to.as_deref(), |k| k.delegate_to.as_deref()) {
        Some(d) => Ok(Some(value_str(&c.template_node(d)?))),
        None => Ok(None),
    }
}

/// A failure raised by the action itself (Ansible's AnsibleActionFail/AnsibleError): the
/// error report says "Task failed: {msg}" whatever `msg` says.
pub(super) fn raised(msg: String, report: String) -> Map<String, Value> {
    let mut r = super::task::task_failed(msg);
    r.insert(super::task::EXCEPTION_MSG_KEY.into(), json!(report));
    r
}

/// ActionBase.run's check: arguments the action does not know fail the task.
pub(super) fn invalid_options<'a>(
    task: &Task,
    keys: impl Iterator<Item = &'a String>,
    valid: &[&str],
) -> Option<Map<String, Value>> {
    let bad: Vec<&str> = keys
        .map(String::as_str)
        .filter(|k| !valid.contains(k))
        .collect();
    if bad.is_empty() {
        return None;
    }
    let msg = format!(
        "Invalid options for {}: {}",
        task.action_written,
        bad.join(",")
    );
    Some(raised(msg.clone(), format!("Task failed: {msg}")))
}

/// The arguments of the controller actions that check them before anything else, against
/// ActionBase's list of valid arguments or against their argument spec (then with the
/// spec's list of supported parameters as Ansible words it).
fn unknown_args(task: &Task, c: &Arc<Context>) -> Result<Option<Map<String, Value>>> {
    let (valid, spec): (&[&str], Option<&str>) = match task.action.as_str() {
        "fail" => (&["msg"], None),
        "set_stats" => (&["aggregate", "data", "per_host"], None),
        "group_by" => (&["key", "parents"], None),
        "debug" => (&["msg", "var", "verbosity"], Some("msg, var, verbosity")),
        "assert" => (
            &["fail_msg", "msg", "quiet", "success_msg", "that"],
            Some("fail_msg, quiet, success_msg, that (msg)"),
        ),
        "pause" => (
            &["echo", "minutes", "prompt", "seconds"],
            Some("echo, minutes, prompt, seconds"),
        ),
        _ => return Ok(None),
    };
    let splat = splat_args(task, c)?;
    let args = merged_args(task, c)?;
    let mut keys: Vec<String> = splat
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let splatted = splats_raw_params(task);
    for k in args.entries.keys() {
        // A splat's template is not an argument of its own.
        let splat_text = splatted && k == "_raw_params";
        if !splat_text && !keys.contains(k) {
            keys.push(k.clone());
        }
    }
    let Some(spec) = spec else {
        return Ok(invalid_options(task, keys.iter(), valid));
    };
    let mut bad: Vec<&str> = keys
        .iter()
        .map(String::as_str)
        .filter(|k| !valid.contains(k))
        .collect();
    if bad.is_empty() {
        return Ok(None);
    }
    bad.sort_unstable();
    let msg = format!(
        "Unsupported parameters for ({}) module: {}. Supported parameters include: {spec}.",
        task.action,
        bad.join(", ")
    );
    Ok(Some(raised(msg.clone(), format!("Task failed: {msg}"))))
}

/// One task on one host: what every action that reaches the target works with.
#[derive(Clone, Copy)]
pub struct Call<'a> {
    pub ctx: &'a Arc<PlayCtx>,
    pub task: &'a Arc<Task>,
    pub scope: &'a Arc<Scope>,
    pub host: &'a str,
    pub c: &'a Arc<Context>,
}

/// A keyword's templated value as a string; `None` when unset, empty or `None`.
fn keyword_string(c: &Arc<Context>, n: Option<&Node>) -> Result<Option<String>> {
    Ok(match n {
        Some(n) => Some(value_str(&c.template_node(n)?)).filter(|s| s != "None" && !s.is_empty()),
        None => None,
    })
}

/// The task's connection keywords (its own or the nearest enclosing level's).
pub fn conn_keywords(
    task: &Task,
    scope: &Arc<Scope>,
    c: &Arc<Context>,
) -> Result<super::connect::ConnKeywords> {
    let kw = |own: Option<&Node>, level: fn(&crate::playbook::Keywords) -> Option<&Node>| {
        keyword_string(c, scope.keyword(own, level))
    };
    Ok(super::connect::ConnKeywords {
        connection: kw(task.kw.connection.as_deref(), |k| k.connection.as_deref())?,
        remote_user: kw(task.kw.remote_user.as_deref(), |k| k.remote_user.as_deref())?,
        port: kw(task.kw.port.as_deref(), |k| k.port.as_deref())?,
    })
}

fn failed(msg: Value) -> Map<String, Value> {
    let mut r = Map::new();
    r.insert("changed".into(), json!(false));
    r.insert("failed".into(), json!(true));
    r.insert("msg".into(), msg);
    r
}

/// Arguments given as one template that yields a mapping (`assert: "{{ item }}"`), the
/// "args splat" Ansible accepts for actions without free-form text. The task's other
/// arguments (`args:` and k=v) lie above it: callers merge them over the splat.
fn splat_args(task: &Task, c: &Arc<Context>) -> Result<Option<Map<String, Value>>> {
    // add_host, group_by and set_fact take free-form text too, and a mapping from it as
    // their arguments.
    if crate::playbook::FREE_FORM.contains(&task.action.as_str()) {
        return Ok(None);
    }
    match task.args.get("_raw_params") {
        Some(raw) if raw.as_str().is_some_and(crate::template::is_template) => {
            match c.template_node(raw)? {
                Value::Object(m) => Ok(Some(m)),
                _ => Ok(None),
            }
        }
        _ => Ok(None),
    }
}

/// The key under which the loader keeps `args: '{{ expr }}'` (Ansible's own name for it).
pub const VARIABLE_PARAMS: &str = "_variable_params";

/// The task's arguments with an `args: '{{ expr }}'` splat templated and merged under the
/// task's own arguments (which win), as Ansible's task finalization does. The splat must
/// give a mapping (or omit, for none); its `omit` values are dropped. Its values are data:
/// strings stay plain text, the way they come out of the template.
fn merged_args<'a>(task: &'a Task, c: &Arc<Context>) -> Result<std::borrow::Cow<'a, Mapping>> {
    let Some(expr) = task.args.get(VARIABLE_PARAMS) else {
        return Ok(std::borrow::Cow::Borrowed(&task.args));
    };
    let fail = |why: String| {
        Error::at(
            format!(
                "Finalization of task args for '{}' failed: {why}",
                qualified(&task.action_written)
            ),
            &expr.span,
        )
    };
    let splat = match c.template_node(expr).map_err(|e| fail(e.msg))? {
        Value::Object(m) => m,
        Value::String(s) if s == OMIT => Map::new(),
        other => {
            return Err(fail(format!(
                "Task args must resolve to a 'dict' not '{}'.",
                play_modules::args::py_type(&other)
            )))
        }
    };
    let mut out = Mapping::default();
    for (k, v) in splat {
        if v.as_str() == Some(OMIT) {
            continue;
        }
        let node = match v {
            Value::String(s) => Node::string(s, expr.span.clone()),
            other => Node::from_data(&strip_omit(other), &expr.span),
        };
        out.insert(k, expr.span.clone(), node);
    }
    for (k, e) in &task.args.entries {
        if k != VARIABLE_PARAMS {
            out.entries.insert(k.clone(), e.clone());
        }
    }
    Ok(std::borrow::Cow::Owned(out))
}

/// The task's arguments templated for this host, with `omit` removed.
pub fn template_args(task: &Task, c: &Arc<Context>) -> Result<Map<String, Value>> {
    let splat = splat_args(task, c)?;
    let mut out: Map<String, Value> = match &splat {
        Some(m) => m
            .iter()
            .filter(|(_, v)| v.as_str() != Some(OMIT))
            .map(|(k, v)| (k.clone(), strip_omit(v.clone())))
            .collect(),
        None => Map::new(),
    };
    let args = merged_args(task, c)?;
    for (k, v) in args.iter() {
        if splat.is_some() && k == "_raw_params" {
            continue;
        }
        let val = c.template_node(v).map_err(|e| {
            Error::at(
                format!("Finalization of task args for '{}' failed: Error while resolving value for '{k}': {}", qualified(&task.action_written), e.msg),
                &v.span,
            )
        })?;
        if val.as_str() == Some(OMIT) {
            continue;
        }
        out.insert(k.clone(), strip_omit(val));
    }
    Ok(out)
}

fn qualified(action: &str) -> String {
    if action.contains('.') {
        action.to_string()
    } else {
        format!("ansible.builtin.{action}")
    }
}

fn strip_omit(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| v.as_str() != Some(OMIT))
                .map(|(k, v)| (k, strip_omit(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(
            a.into_iter()
                .filter(|v| v.as_str() != Some(OMIT))
                .map(strip_omit)
                .collect(),
        ),
        other => other,
    }
}

fn debug(ctx: &Arc<PlayCtx>, task: &Task, c: &Arc<Context>) -> Result<Map<String, Value>> {
    let mut args = merged_args(task, c)?;
    if let Some(splat) = splat_args(task, c)? {
        // Splatted values arrive templated: they are data, not templates any more.
        let mut own = args.into_owned();
        own.entries.shift_remove("_raw_params");
        for (k, v) in splat {
            if own.get(&k).is_none() {
                let node = match v {
                    Value::String(s) => Node::new(Kind::Unsafe(s), task.span.clone()),
                    other => Node::from_data(&other, &task.span),
                };
                own.insert(k, task.span.clone(), node);
            }
        }
        args = std::borrow::Cow::Owned(own);
    }
    if args.get("msg").is_some() && args.get("var").is_some() {
        return Ok(failed(json!("parameters are mutually exclusive: msg|var")));
    }
    let verbosity = match args.get("verbosity") {
        Some(n) => c
            .template_node(n)?
            .as_u64()
            .or_else(|| scalar_string(n).and_then(|s| s.parse().ok()))
            .unwrap_or(0),
        None => 0,
    };
    let mut r = Map::new();
    if (ctx.run.opts.verbosity as u64) < verbosity {
        r.insert(
            "skipped_reason".into(),
            json!("Verbosity threshold not met."),
        );
        r.insert("skipped".into(), json!(true));
        return Ok(r);
    }
    // The argument is templated like any other (its errors fail the task); an omitted one
    // is no argument at all.
    let var_arg = match args.get("var") {
        Some(var) => {
            if matches!(var.kind, Kind::Unsafe(_)) {
                // `!unsafe` text is data, never an expression to evaluate.
                let name = scalar_string(var).unwrap_or_default();
                return Ok(failed(json!(format!(
                    "Task failed: Syntax error in template: untrusted template or expression '{name}'"
                ))));
            }
            let value = c.template_node(var).map_err(|e| {
                Error::at(
                    format!("Finalization of task args for '{}' failed: Error while resolving value for 'var': {}", qualified(&task.action_written), e.msg),
                    &var.span,
                )
            })?;
            (value.as_str() != Some(OMIT)).then_some((var, value))
        }
        None => None,
    };
    if let Some((var, var_value)) = var_arg {
        // Its text is then evaluated as an expression: an undefined result is shown as a
        // marker with a warning, any other error fails the task.
        // `var` must be a string: Ansible's argument check converts nothing.
        let name = match var_value {
            Value::String(s) => s,
            other => {
                return Ok(failed(json!(format!(
                    "argument 'var' is of type {} and we were unable to convert to _check_type_str_no_conversion: '{}' is not a string and conversion is not allowed",
                    play_modules::args::py_type(&other),
                    crate::template::python_repr(&other)
                ))))
            }
        };
        let undefined_marker = |msg: &str, r: &mut Map<String, Value>| {
            r.insert(
                "warnings".into(),
                json!([format!("Encountered 1 template error.\nerror 1 - {msg}")]),
            );
            json!(format!("<< error 1 - {msg} >>"))
        };
        let var_error = |e: Error| Error {
            msg: format!("Error while resolving `var` expression: {}", e.msg),
            span: Some(var.span.clone()),
            ..e
        };
        let value = match c.eval_expr(&name) {
            Ok(v) if !v.is_undefined() => crate::template::from_mj(&v).map_err(Error::new)?,
            Ok(_) => match c.template_str(&format!("{{{{ {name} }}}}")) {
                Ok(v) => v,
                Err(e) => undefined_marker(&e.msg, &mut r),
            },
            Err(e) if e.msg.starts_with(UNDECRYPTABLE) => {
                return Err(Error {
                    msg: format!(
                        "Error while resolving `var` expression: Error rendering expression: {}",
                        e.msg
                    ),
                    span: Some(var.span.clone()),
                    ..e
                })
            }
            Err(e) if is_undefined_message(&e.msg) => undefined_marker(&e.msg, &mut r),
            Err(e) => return Err(var_error(e)),
        };
        let value = if value.as_str() == Some(OMIT) {
            r.insert(
                "warnings".into(),
                json!(["The result of the `var` expression could not be omitted; a placeholder was used instead."]),
            );
            json!("<<Omit>>")
        } else {
            value
        };
        r.insert(name, value);
    } else {
        let msg = match args.get("msg") {
            Some(n) => c.template_node(n).map_err(|e| {
                Error::at(
                    format!("Finalization of task args for '{}' failed: Error while resolving value for 'msg': {}", qualified(&task.action_written), e.msg),
                    &n.span,
                )
            })?,
            None => json!("Hello world!"),
        };
        r.insert("msg".into(), msg);
    }
    r.insert("changed".into(), json!(false));
    r.insert("_ansible_verbose_always".into(), json!(true));
    Ok(r)
}

/// Facts of `setup` that Ansible names without the `ansible_` prefix.
fn setup_bare_fact(name: &str) -> bool {
    matches!(
        name,
        "gather_subset" | "module_setup" | "discovered_interpreter_python"
    )
}

/// How a `!vault` value that cannot be decrypted reports itself when used.
const UNDECRYPTABLE: &str = "Attempt to use undecryptable variable";

/// The host whose facts a task sets: the delegate with `delegate_facts`, else the host.
fn fact_host(task: &Task, scope: &Arc<Scope>, host: &str, c: &Arc<Context>) -> Result<String> {
    let delegate_facts = match scope.keyword(task.kw.delegate_facts.as_deref(), |k| {
        k.delegate_facts.as_deref()
    }) {
        Some(n) => truthy(&c.template_node(n)?),
        None => false,
    };
    if delegate_facts {
        if let Some(d) = delegate_target(task, scope, c)? {
            return Ok(d);
        }
    }
    Ok(host.to_string())
}

fn set_fact(
    ctx: &Arc<PlayCtx>,
    task: &Task,
    scope: &Arc<Scope>,
    host: &str,
    c: &Arc<Context>,
) -> Result<Map<String, Value>> {
    let args = template_args(task, c)?;
    let cacheable = args.get("cacheable").map(truthy).unwrap_or(false);
    let mut facts = Map::new();
    for (k, v) in args {
        if k == "cacheable" {
            continue;
        }
        // set_fact is the one action whose keys are templated (dynamic variable names).
        let name = if crate::template::is_template(&k) {
            c.template_str(&k)?
        } else {
            Value::String(k.clone())
        };
        let name = valid_variable_name(&name).map_err(|m| match task.args.entries.get(&k) {
            Some(e) => Error::at(m, &e.key_span),
            None => Error::new(m),
        })?;
        // k=v strings stay strings except Ansible's boolean spellings.
        let v = match (&v, task.args.get(&k).map(|n| &n.kind)) {
            (Value::String(s), Some(Kind::Str(_))) if task_is_kv(task) => {
                match s.to_ascii_lowercase().as_str() {
                    "true" | "yes" => json!(true),
                    "false" | "no" => json!(false),
                    _ => v,
                }
            }
            _ => v,
        };
        facts.insert(name, v);
    }
    if facts.is_empty() {
        let msg =
            "No key/value pairs provided, at least one is required for this action to succeed";
        return Ok(raised(msg.into(), format!("Task failed: {msg}")));
    }
    let host = fact_host(task, scope, host, c)?;
    let store = |hs: &mut super::HostState| {
        for (k, v) in &facts {
            hs.vars.insert(k.clone(), v.clone());
            if cacheable {
                hs.facts.insert(k.clone(), v.clone());
                hs.bare_facts.insert(k.clone());
            }
        }
    };
    if cacheable {
        ctx.run.update_facts(&host, store);
    } else {
        ctx.run.host_state(&host, store);
    }
    let mut r = Map::new();
    r.insert("ansible_facts".into(), Value::Object(facts));
    r.insert("changed".into(), json!(false));
    Ok(r)
}

/// A variable name as Ansible accepts one (a Python identifier in ASCII, not a Jinja
/// constant), or the error Ansible gives for it.
pub fn valid_variable_name(name: &Value) -> std::result::Result<String, String> {
    if let Value::String(s) = name {
        let mut chars = s.chars();
        let ident = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        let keyword = matches!(
            s.as_str(),
            "true" | "false" | "none" | "True" | "False" | "None" | "not"
        );
        if ident && !keyword {
            return Ok(s.clone());
        }
    }
    let mut desc = match name {
        Value::Array(_) | Value::Object(_) => "name".to_string(),
        other => format!(
            "name {}",
            crate::template::python_repr(&Value::String(crate::template::to_python_str(other)))
        ),
    };
    if !name.is_string() {
        let ty = match name {
            Value::Null => "NoneType",
            Value::Bool(_) => "bool",
            Value::Number(n) if n.is_f64() => "float",
            Value::Number(_) => "int",
            Value::Array(_) => "list",
            Value::Object(_) => "dict",
            Value::String(_) => "str",
        };
        desc.push_str(&format!(" of type '{ty}'"));
    }
    Err(format!("Invalid variable {desc}."))
}

/// The wording of an undefined value (a missing variable, attribute or key).
fn is_undefined_message(msg: &str) -> bool {
    msg.ends_with(" is undefined") || msg.contains("' has no attribute ")
}

fn task_is_kv(task: &Task) -> bool {
    task.args
        .entries
        .values()
        .all(|e| e.key_span == e.value.span)
}

/// Whether the task's free-form text is one template that gives its arguments (an args
/// splat: `debug: "{{ args }}"`).
pub(super) fn splats_raw_params(task: &Task) -> bool {
    !crate::playbook::accepts_raw_params(&task.action)
        && task
            .args
            .get("_raw_params")
            .and_then(scalar_string)
            .is_some_and(|raw| possibly_all_template(&raw))
}

/// Ansible's cheap test for a string that is one template and nothing else.
fn possibly_all_template(s: &str) -> bool {
    (s.starts_with("{{") || s.starts_with("{%")) && (s.ends_with("}}") || s.ends_with("%}"))
}

/// A `that` written as one template (`that: "{{ checks }}"`): when it gives a list, that
/// list holds the conditionals; anything else (or an error) leaves `that` to be evaluated
/// as the conditional itself, as Ansible's assert does.
fn that_from_template(c: &Arc<Context>, that: &Node) -> Vec<Node> {
    match c.template_node(that) {
        Ok(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Node::string(s, that.span.clone()),
                other => Node::from_data(&other, &that.span),
            })
            .collect(),
        _ => vec![that.clone()],
    }
}

fn assert(task: &Task, c: &Arc<Context>) -> Result<Map<String, Value>> {
    // Splatted arguments arrive templated: their `that` strings are still expressions.
    let splat: Option<Mapping> = splat_args(task, c)?.map(|m| {
        let mut out = Mapping::default();
        for (k, v) in m {
            let node = match v {
                Value::String(s) => Node::string(s, task.span.clone()),
                Value::Array(a) => Node::new(
                    Kind::Seq(
                        a.iter()
                            .map(|x| match x {
                                Value::String(s) => Node::string(s.clone(), task.span.clone()),
                                other => Node::from_data(other, &task.span),
                            })
                            .collect(),
                    ),
                    task.span.clone(),
                ),
                other => Node::from_data(&other, &task.span),
            };
            out.insert(k, task.span.clone(), node);
        }
        out
    });
    let merged = merged_args(task, c)?;
    let with_splat = splat.map(|mut s| {
        for (k, e) in &merged.entries {
            if k != "_raw_params" {
                s.entries.insert(k.clone(), e.clone());
            }
        }
        s
    });
    let args = with_splat.as_ref().unwrap_or(&merged);
    // A missing `that` fails argument validation: a plain failed result.
    let Some(that) = args.get("that") else {
        return Ok(failed(json!("missing required arguments: that")));
    };
    let conds: Vec<Node> = match &that.kind {
        Kind::Seq(items) => items.clone(),
        Kind::Str(s) if possibly_all_template(s) => that_from_template(c, that),
        _ => vec![that.clone()],
    };
    let quiet = args
        .get("quiet")
        .map(|n| truthy(&n.to_json()))
        .unwrap_or(false);
    for cond in &conds {
        let false_cond = eval_conditions(c, std::slice::from_ref(cond), "assert")?;
        if false_cond.is_some() {
            let msg = match args.get("fail_msg").or_else(|| args.get("msg")) {
                Some(n) => c.template_node(n)?,
                None => json!("Assertion failed"),
            };
            let mut r = Map::new();
            r.insert("assertion".into(), cond.to_json());
            r.insert("changed".into(), json!(false));
            r.insert("evaluated_to".into(), json!(false));
            r.insert("failed".into(), json!(true));
            r.insert("msg".into(), msg);
            // Not quiet: the failure is shown in full too, as Ansible's assert marks it.
            if !quiet {
                r.insert("_ansible_verbose_always".into(), json!(true));
            }
            return Ok(r);
        }
    }
    let mut r = Map::new();
    r.insert("changed".into(), json!(false));
    let msg = match args.get("success_msg") {
        Some(n) => c.template_node(n)?,
        None => json!("All assertions passed"),
    };
    r.insert("msg".into(), msg);
    if !quiet {
        r.insert("_ansible_verbose_always".into(), json!(true));
    }
    Ok(r)
}

fn pause(task: &Task, c: &Arc<Context>) -> Result<Map<String, Value>> {
    let args = template_args(task, c)?;
    let num = |k: &str| {
        args.get(k)
            .and_then(|v| v.as_f64().or_else(|| value_str(v).parse().ok()))
    };
    let secs = num("seconds")
        .or_else(|| num("minutes").map(|m| m * 60.0))
        .unwrap_or(0.0);
    let start = chrono_now();
    let began = std::time::Instant::now();
    if secs > 0.0 {
        std::thread::sleep(std::time::Duration::from_secs_f64(secs));
    }
    // Ansible reports the measured pause, rounded to hundredths.
    let secs = (began.elapsed().as_secs_f64() * 100.0).round() / 100.0;
    let mut r = Map::new();
    r.insert("changed".into(), json!(false));
    r.insert("delta".into(), json!(secs as i64));
    r.insert("echo".into(), json!(true));
    r.insert("rc".into(), json!(0));
    r.insert("start".into(), json!(start));
    r.insert("stderr".into(), json!(""));
    r.insert(
        "stdout".into(),
        json!(format!(
            "Paused for {} seconds",
            if secs.fract() == 0.0 {
                format!("{:.1}", secs)
            } else {
                secs.to_string()
            }
        )),
    );
    r.insert("stop".into(), json!(chrono_now()));
    r.insert("user_input".into(), json!(""));
    Ok(r)
}

fn chrono_now() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}.{:06}", d.as_secs(), d.subsec_micros())
}

/// Directories a relative file of this task is looked up in: the role's `<sub>/` and root,
/// the task file's directory and its `<sub>/`, the playbook directory and its `<sub>/`.
pub fn search_dirs(ctx: &Arc<PlayCtx>, task: &Task, sub: &str) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(r) = &task.role {
        dirs.push(r.path.join(sub));
        dirs.push(r.path.clone());
        dirs.push(r.path.join("tasks"));
    }
    if let Some((d, _)) = task.span.file.rsplit_once('/') {
        let d = PathBuf::from(d);
        dirs.push(d.join(sub));
        dirs.push(d);
    }
    dirs.push(ctx.play.dir.join(sub));
    dirs.push(ctx.play.dir.clone());
    dirs
}

pub fn find_file(ctx: &Arc<PlayCtx>, task: &Task, sub: &str, name: &str) -> Option<PathBuf> {
    let p = Path::new(name);
    if p.is_absolute() {
        return p.exists().then(|| p.to_path_buf());
    }
    search_dirs(ctx, task, sub)
        .into_iter()
        .map(|d| d.join(name))
        .find(|p| p.exists())
}

/// Ansible's message for a controller file that is not found: the candidates it tried, in
/// the order its `path_dwim_relative_stack` tries them (the `<sub>/` level is left out when
/// the name already starts with it).
pub fn not_found_msg(ctx: &Arc<PlayCtx>, task: &Task, sub: &str, name: &str) -> String {
    if name.starts_with('/') || name.starts_with('~') {
        return format!("Could not find or access '{name}' on the Ansible Controller.");
    }
    let under_sub = name.split('/').next() == Some(sub);
    let mut stack: Vec<PathBuf> = Vec::new();
    if let Some(r) = &task.role {
        stack.push(r.path.clone());
    }
    if let Some((d, _)) = task.span.file.rsplit_once('/') {
        let d = PathBuf::from(d);
        if !stack.contains(&d) {
            stack.push(d);
        }
    }
    stack.push(ctx.play.dir.clone());
    let mut searched = Vec::new();
    for dir in stack {
        if !under_sub {
            searched.push(dir.join(sub).join(name));
        }
        searched.push(dir.join(name));
    }
    let listed: Vec<String> = searched
        .iter()
        .map(|p| format!("\t{}", p.display()))
        .collect();
    format!(
        "Could not find or access '{name}'\nSearched in:\n{} on the Ansible Controller.",
        listed.join("\n")
    )
}

fn include_vars(
    ctx: &Arc<PlayCtx>,
    task: &Task,
    _scope: &Arc<Scope>,
    host: &str,
    c: &Arc<Context>,
) -> Result<Map<String, Value>> {
    let args = template_args(task, c)?;
    let name = args.get("name").map(value_str);
    const FILE_ARGS: &[&str] = &["file", "_raw_params"];
    const DIR_ARGS: &[&str] = &[
        "dir",
        "depth",
        "files_matching",
        "ignore_files",
        "extensions",
        "ignore_unknown_extensions",
    ];
    let (mut dirs, mut file_args) = (0, 0);
    for k in args.keys() {
        if DIR_ARGS.contains(&k.as_str()) {
            dirs += 1;
        } else if FILE_ARGS.contains(&k.as_str()) {
            file_args += 1;
        } else if k != "name" && k != "hash_behaviour" {
            return Err(Error::new(format!(
                "{k} is not a valid option in include_vars"
            )));
        }
    }
    if dirs > 0 && file_args > 0 {
        return Err(Error::new(
            "You are mixing file only and dir only arguments, these are incompatible",
        ));
    }
    let list_option = |key: &str, default: Vec<String>| -> Result<Vec<String>> {
        match args.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Array(a)) => Ok(a.iter().map(value_str).collect()),
            // A string is split on whitespace (deprecated upstream, still accepted).
            Some(Value::String(s)) if key == "ignore_files" => {
                Ok(s.split_whitespace().map(str::to_string).collect())
            }
            Some(_) => Err(Error::new(format!("The '{key}' option must be a list."))),
        }
    };
    let exts = list_option(
        "extensions",
        vec!["yaml".into(), "yml".into(), "json".into()],
    )?;
    let ignore = list_option("ignore_files", Vec::new())?;
    // Failures past the argument checks are results: `message` says what went wrong.
    let mut files: Vec<PathBuf> = Vec::new();
    let failure = |message: String, files: &[PathBuf]| {
        let mut r = Map::new();
        r.insert("ansible_facts".into(), json!({}));
        r.insert("ansible_included_var_files".into(), path_list(files));
        r.insert("changed".into(), json!(false));
        r.insert("failed".into(), json!(true));
        r.insert("message".into(), json!(message));
        r.insert(
            "msg".into(),
            json!("Task failed: Action failed: Unknown error."),
        );
        r
    };
    if let Some(dir) = args.get("dir").map(value_str) {
        // A relative dir is the role's vars/ (or below it), else next to the task's file.
        let d = match &task.role {
            Some(r) if dir.split('/').next() == Some("vars") && r.path.join(&dir).exists() => {
                r.path.join(&dir)
            }
            Some(r) if !dir.starts_with('/') => r.path.join("vars").join(&dir),
            _ => {
                let base = task
                    .span
                    .file
                    .rsplit_once('/')
                    .map(|(d, _)| PathBuf::from(d))
                    .unwrap_or_else(|| ctx.play.dir.clone());
                base.join(&dir)
            }
        };
        if !d.exists() {
            return Ok(failure(
                format!("{} directory does not exist", d.display()),
                &[],
            ));
        }
        if !d.is_dir() {
            return Ok(failure(format!("{} is not a directory", d.display()), &[]));
        }
        let matcher = args
            .get("files_matching")
            .map(value_str)
            .map(|p| regex::Regex::new(&p))
            .transpose()
            .map_err(|e| Error::new(e.to_string()))?;
        let depth = args
            .get("depth")
            .and_then(|v| v.as_u64().or_else(|| value_str(v).parse().ok()))
            .unwrap_or(0) as usize;
        let ignore_unknown = args
            .get("ignore_unknown_extensions")
            .map(truthy)
            .unwrap_or(false);
        // os.walk sorted by directory path, files sorted within each directory.
        let mut walk: Vec<(PathBuf, usize)> = vec![(d.clone(), 1)];
        let mut i = 0;
        while i < walk.len() {
            let (dir, level) = walk[i].clone();
            if let Ok(rd) = std::fs::read_dir(&dir) {
                for e in rd.flatten() {
                    if e.path().is_dir() {
                        walk.push((e.path(), level + 1));
                    }
                }
            }
            i += 1;
        }
        walk.sort();
        for (dir, level) in walk {
            if depth != 0 && level > depth {
                continue;
            }
            let mut names: Vec<String> = std::fs::read_dir(&dir)
                .map_err(|e| Error::new(e.to_string()))?
                .flatten()
                .filter(|e| !e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            for fname in names {
                if let Some(m) = &matcher {
                    if !m.is_match(&fname) {
                        continue;
                    }
                }
                // Each ignore_files entry is a regular expression matched at the name's end.
                let mut ignored = false;
                for g in &ignore {
                    let re = crate::template::filters::py_regex(&format!("(?:{g})$"), false, false)
                        .map_err(|_| Error::new(format!("Invalid regular expression: '{g}'")))?;
                    ignored |= re.is_match(&fname);
                }
                if ignored {
                    continue;
                }
                let p = dir.join(&fname);
                // Python's os.path.splitext: leading dots are not an extension.
                let ext = match fname.rfind('.') {
                    Some(i) if !fname[..i].trim_start_matches('.').is_empty() => &fname[i + 1..],
                    _ => "",
                };
                let valid = exts.iter().any(|x| x == ext);
                if !valid {
                    if ignore_unknown {
                        continue;
                    }
                    return Ok(failure(
                        format!(
                            "'{}' does not have a valid extension: {}",
                            p.display(),
                            exts.join(", ")
                        ),
                        &files,
                    ));
                }
                files.push(p);
            }
        }
    } else {
        // Free-form text loses its trailing newlines (a `>` block).
        let f = match (args.get("file"), args.get("_raw_params")) {
            (Some(v), _) if !v.is_null() => value_str(v),
            (_, Some(v)) if !v.is_null() => value_str(v).trim_end_matches('\n').to_string(),
            _ => String::new(),
        };
        if f.is_empty() {
            let mut r = failure("Could not find file on the Ansible Controller.".into(), &[]);
            r.insert(
                "warnings".into(),
                json!(["Invalid request to find a file that matches a \"null\" value"]),
            );
            return Ok(r);
        }
        match find_file(ctx, task, "vars", &f) {
            Some(p) => files.push(p),
            None => return Ok(failure(not_found_msg(ctx, task, "vars", &f), &[])),
        }
    }
    let mut loaded = Mapping::default();
    for f in &files {
        let m = crate::playbook::load_vars(f)?;
        for (k, e) in m.entries {
            loaded.entries.insert(k, e);
        }
    }
    // hash_behaviour: merge combines what is loaded into the variables it replaces.
    let merge_arg = args.get("hash_behaviour").map(value_str);
    if merge_arg.as_deref() == Some("merge") && !ctx.run.opts.hash_merge {
        let mut existing = Mapping::default();
        for k in loaded.keys() {
            if let Some(v) = c.resolve(k).and_then(|v| crate::template::from_mj(&v).ok()) {
                existing.insert(
                    k.clone(),
                    task.span.clone(),
                    Node::from_data(&v, &task.span),
                );
            }
        }
        crate::inventory::combine_vars(&mut existing, &loaded, true);
        loaded = existing;
    }
    let facts_json: Map<String, Value> = loaded
        .iter()
        .map(|(k, v)| (k.clone(), v.to_json()))
        .collect();
    let (stored, shown) = match &name {
        Some(n) => {
            let mut m = Mapping::default();
            m.insert(
                n.clone(),
                task.span.clone(),
                Node::new(Kind::Map(loaded), task.span.clone()),
            );
            let mut shown = Map::new();
            shown.insert(n.clone(), Value::Object(facts_json));
            (m, shown)
        }
        None => (loaded, facts_json),
    };
    ctx.run.host_state(host, |hs| {
        for (k, e) in stored.entries {
            // set_fact and registered values stay above these, whatever the order.
            hs.include_vars.entries.insert(k, e);
        }
    });
    let mut r = Map::new();
    r.insert("ansible_facts".into(), Value::Object(shown));
    r.insert("ansible_included_var_files".into(), path_list(&files));
    r.insert("changed".into(), json!(false));
    Ok(r)
}

/// Paths as the JSON list of strings a result carries.
fn path_list(files: &[PathBuf]) -> Value {
    json!(files
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>())
}

fn list_arg(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a.iter().map(value_str).collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect(),
        Some(other) => vec![value_str(other)],
        None => Vec::new(),
    }
}

fn add_host(ctx: &Arc<PlayCtx>, task: &Task, c: &Arc<Context>) -> Result<Map<String, Value>> {
    let args = template_args(task, c)?;
    let name = args
        .get("name")
        .or_else(|| args.get("hostname"))
        .or_else(|| args.get("host"))
        .map(value_str)
        .ok_or_else(|| Error::at("name or hostname arg needs to be provided", &task.span))?;
    let groups = list_arg(
        args.get("groups")
            .or_else(|| args.get("group"))
            .or_else(|| args.get("groupname")),
    );
    let (host_name, port) = match name.rsplit_once(':') {
        Some((h, p)) if p.parse::<u16>().is_ok() && !h.contains(':') => {
            (h.to_string(), Some(p.to_string()))
        }
        _ => (name.clone(), None),
    };
    let mut vars = Mapping::default();
    let mut shown = Map::new();
    for (k, v) in &args {
        if matches!(
            k.as_str(),
            "name" | "hostname" | "host" | "groups" | "group" | "groupname"
        ) {
            continue;
        }
        vars.insert(k.clone(), task.span.clone(), Node::from_data(v, &task.span));
        shown.insert(k.clone(), v.clone());
    }
    // Ansible's add_host gives a `host:port` name the port as ansible_ssh_port.
    if let Some(p) = port {
        vars.insert(
            "ansible_ssh_port".into(),
            task.span.clone(),
            Node::from_data(&json!(p.parse::<i64>().unwrap_or(22)), &task.span),
        );
        shown.insert(
            "ansible_ssh_port".into(),
            json!(p.parse::<i64>().unwrap_or(22)),
        );
    }
    // Changed when the host is new, joins a group, or gets a variable's value changed.
    let changed = {
        let inv = ctx.run.inventory.read().unwrap();
        match inv.hosts.get(&host_name) {
            None => true,
            Some(h) => {
                groups
                    .iter()
                    .any(|g| !inv.group_hosts(g).contains(&host_name))
                    || shown
                        .iter()
                        .any(|(k, v)| h.vars.get(k).map(|n| n.to_json()).as_ref() != Some(v))
            }
        }
    };
    ctx.run
        .inventory
        .write()
        .unwrap()
        .add_host(&host_name, &groups, vars);
    ctx.invalidate_inventory();
    let mut r = Map::new();
    r.insert(
        "add_host".into(),
        json!({"host_name": host_name, "groups": groups, "host_vars": shown}),
    );
    r.insert("changed".into(), json!(changed));
    Ok(r)
}

fn group_by(
    ctx: &Arc<PlayCtx>,
    task: &Task,
    host: &str,
    c: &Arc<Context>,
) -> Result<Map<String, Value>> {
    let args = template_args(task, c)?;
    let key = args.get("key").map(value_str).ok_or_else(|| {
        Error::at(
            "the 'key' param is required when using group_by",
            &task.span,
        )
    })?;
    let key = key.replace(|ch: char| !(ch.is_alphanumeric() || ch == '_'), "_");
    let parents = {
        let p = list_arg(args.get("parents"));
        if p.is_empty() {
            vec!["all".to_string()]
        } else {
            p
        }
    };
    let existed = ctx
        .run
        .inventory
        .read()
        .unwrap()
        .group_names(host)
        .contains(&key);
    ctx.run
        .inventory
        .write()
        .unwrap()
        .add_to_group(host, &key, &parents);
    ctx.invalidate_inventory();
    let mut r = Map::new();
    r.insert("add_group".into(), json!(key));
    r.insert("changed".into(), json!(!existed));
    r.insert("parent_groups".into(), json!(parents));
    Ok(r)
}

fn set_stats(ctx: &Arc<PlayCtx>, task: &Task, c: &Arc<Context>) -> Result<Map<String, Value>> {
    let args = template_args(task, c)?;
    let data = args
        .get("data")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let aggregate = args.get("aggregate").map(truthy).unwrap_or(true);
    let mut stats = ctx.run.custom_stats.lock().unwrap();
    for (k, v) in &data {
        match (stats.get_mut(k), aggregate) {
            (Some(existing), true) => crate::vars::merge::merge_into(existing, v),
            _ => {
                stats.insert(k.clone(), v.clone());
            }
        }
    }
    let mut r = Map::new();
    r.insert("ansible_stats".into(), json!({"aggregate": aggregate, "data": data, "per_host": args.get("per_host").map(truthy).unwrap_or(false)}));
    r.insert("changed".into(), json!(false));
    Ok(r)
}

/// `template` (and `config_template`): render on the controller, then write on the target
/// through the module named `writer` (`copy`, or `config_template` which merges overrides).
fn template(call: Call, writer: &str) -> Result<Map<String, Value>> {
    let Call {
        ctx, task, host, c, ..
    } = call;
    let mut args = template_args(task, c)?;
    if args.get("newline_sequence").is_some_and(|v| !v.is_null()) {
        // Written with backslashes, as people often do, the sequence is unescaped first.
        let nl = match value_str(&args["newline_sequence"]).as_str() {
            "\\n" => "\n".to_string(),
            "\\r" => "\r".to_string(),
            "\\r\\n" => "\r\n".to_string(),
            other => other.to_string(),
        };
        args.insert("newline_sequence".into(), json!(nl));
    }
    if args.get("state").is_some_and(|v| !v.is_null()) {
        return Ok(failed(json!("'state' cannot be specified on a template")));
    }
    let Some(src) = args.remove("src").map(|v| value_str(&v)) else {
        return Ok(failed(json!("src and dest are required")));
    };
    if !args.contains_key("dest") {
        return Ok(failed(json!("src and dest are required")));
    }
    if let Some(nl) = args.get("newline_sequence").map(value_str) {
        if !["\n", "\r", "\r\n"].contains(&nl.as_str()) {
            // Ansible's message, as its error display leaves it (trailing whitespace cut).
            return Ok(failed(json!(
                "newline_sequence needs to be one of: \n, \r or"
            )));
        }
    }
    let Some(path) = find_file(ctx, task, "templates", &src) else {
        return Ok(failed(json!(not_found_msg(ctx, task, "templates", &src))));
    };
    if args.get("mode").map(value_str).as_deref() == Some("preserve") {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(md) = std::fs::metadata(&path) {
            let mode = md.permissions().mode() & 0o7777;
            args.insert("mode".into(), json!(format!("0{mode:03o}")));
        }
    }
    let source = crate::vault::read_file(&path).map_err(Error::new)?;
    let source = String::from_utf8(source)
        .map_err(|e| Error::new(format!("Could not read {}: {e}", path.display())))?;
    let opts = crate::template::TemplateOptions {
        trim_blocks: args
            .remove("trim_blocks")
            .map(|v| truthy(&v))
            .unwrap_or(true),
        lstrip_blocks: args
            .remove("lstrip_blocks")
            .map(|v| truthy(&v))
            .unwrap_or(false),
        newline_sequence: args
            .remove("newline_sequence")
            .map(|v| value_str(&v))
            .unwrap_or_else(|| "\n".into()),
        variable_start_string: args.remove("variable_start_string").map(|v| value_str(&v)),
        variable_end_string: args.remove("variable_end_string").map(|v| value_str(&v)),
        block_start_string: args.remove("block_start_string").map(|v| value_str(&v)),
        block_end_string: args.remove("block_end_string").map(|v| value_str(&v)),
        comment_start_string: args.remove("comment_start_string").map(|v| value_str(&v)),
        comment_end_string: args.remove("comment_end_string").map(|v| value_str(&v)),
    };
    args.remove("output_encoding");
    let mut tvars = Map::new();
    tvars.insert("template_host".into(), json!(host));
    tvars.insert("template_path".into(), json!(path.display().to_string()));
    tvars.insert(
        "template_fullpath".into(),
        json!(path.display().to_string()),
    );
    tvars.insert(
        "template_destpath".into(),
        args.get("dest").cloned().unwrap_or(Value::Null),
    );
    tvars.insert("template_uid".into(), json!(whoami()));
    tvars.insert("ansible_managed".into(), json!("Ansible managed"));
    let mut vars = (*c.vars).clone();
    vars.push_higher(crate::vars::Layer::data(tvars));
    let tc = Context::new(Arc::new(vars));
    // Ansible leaves a file without any Jinja start sequence as it is (newline_sequence
    // included): it is not a template at all.
    let starts = [
        opts.variable_start_string.as_deref().unwrap_or("{{"),
        opts.block_start_string.as_deref().unwrap_or("{%"),
        opts.comment_start_string.as_deref().unwrap_or("{#"),
    ];
    let rendered = if starts.iter().any(|s| source.contains(s)) {
        tc.render_file(&path.display().to_string(), &source, &opts)
            .map_err(|e| Error::at(e.msg, &task.span))?
    } else {
        source.clone()
    };
    args.insert("content".into(), json!(rendered));
    args.insert(
        "_original_basename".into(),
        json!(path
            .file_name()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default()),
    );
    let basename = path
        .file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut r = module_named(call, writer, args)?;
    if writer != "copy" && !r.contains_key("src") && r.get("failed").map(truthy) != Some(true) {
        r.insert("src".into(), json!(path.display().to_string()));
    }
    // Ansible renders into a controller temp file and copies that, so its diff names the
    // temp file as the new side; the same form keeps --diff output identical.
    let diffs = match r.get_mut("diff") {
        Some(Value::Array(a)) => a.iter_mut().collect(),
        Some(d @ Value::Object(_)) => vec![d],
        _ => Vec::new(),
    };
    for d in diffs {
        if let Some(h) = d.get_mut("after_header") {
            *h = json!(rendered_temp_path(&basename));
        }
    }
    Ok(r)
}

/// Where Ansible's template action would keep a rendered template on the controller:
/// `<local_tmp>/ansible-local-<pid><random>/tmp<random>/<template name>`.
fn rendered_temp_path(basename: &str) -> String {
    use rand::distr::{Alphanumeric, SampleString};
    static RUN_DIR: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let base = std::env::var("ANSIBLE_LOCAL_TEMP").unwrap_or_else(|_| {
            format!(
                "{}/.ansible/tmp",
                std::env::var("HOME").unwrap_or_else(|_| "/root".into())
            )
        });
        let tag = Alphanumeric
            .sample_string(&mut rand::rng(), 8)
            .to_lowercase();
        format!("{base}/ansible-local-{}{tag}", std::process::id())
    });
    let tag = Alphanumeric
        .sample_string(&mut rand::rng(), 8)
        .to_lowercase();
    format!("{}/tmp{tag}/{basename}", *RUN_DIR)
}

/// `unarchive` with an archive on the controller: its bytes travel with the request.
fn unarchive(call: Call) -> Result<Map<String, Value>> {
    let Call { ctx, task, c, .. } = call;
    let mut args = template_args(task, c)?;
    let remote_src = args.get("remote_src").map(truthy).unwrap_or(false)
        || args.get("copy").map(|v| !truthy(v)).unwrap_or(false);
    let src = args.get("src").map(value_str).unwrap_or_default();
    if !remote_src && !src.contains("://") {
        let Some(path) = find_file(ctx, task, "files", &src) else {
            return Ok(failed(json!(format!(
                "Could not find or access '{src}' on the Ansible Controller."
            ))));
        };
        let data = std::fs::read(&path)
            .map_err(|e| Error::new(format!("Could not read {}: {e}", path.display())))?;
        attach_source(
            &mut args,
            &data,
            path.file_name().map(|n| n.to_string_lossy()).as_deref(),
        );
    }
    module_named(call, "unarchive", args)
}

/// `fetch`: read the file on the target, write it under `dest` on the controller
/// (`dest/<host>/<path>`, or `dest` itself with `flat`).
fn fetch(call: Call) -> Result<Map<String, Value>> {
    let Call {
        ctx, task, host, c, ..
    } = call;
    use sha1::Digest;
    if check_mode_of(call)? {
        let mut r = Map::new();
        r.insert("changed".into(), json!(false));
        r.insert("skipped".into(), json!(true));
        r.insert(
            "msg".into(),
            json!("check mode not (yet) supported for this module"),
        );
        return Ok(r);
    }
    let args = template_args(task, c)?;
    let (Some(src), Some(dest)) = (
        args.get("src").map(value_str),
        args.get("dest").map(value_str),
    ) else {
        return Ok(failed(json!("src and dest are required")));
    };
    let flat = args.get("flat").map(truthy).unwrap_or(false);
    let fail_on_missing = args.get("fail_on_missing").map(truthy).unwrap_or(true);
    let validate = args.get("validate_checksum").map(truthy).unwrap_or(true);
    let mut sargs = Map::new();
    sargs.insert("src".into(), json!(src));
    let slurped = module_named(call, "slurp", sargs)?;
    if slurped.get("failed").map(truthy) == Some(true) {
        let msg = slurped.get("msg").map(value_str).unwrap_or_default();
        let mut r = Map::new();
        if msg.to_lowercase().starts_with("source is a directory") {
            // What Ansible's action answers after its stat of the source.
            let mut m = "remote file is a directory, fetch cannot work on directories".to_string();
            if fail_on_missing {
                r.insert("changed".into(), json!(false));
                r.insert("failed".into(), json!(true));
            } else {
                m.push_str(", not transferring, ignored");
            }
            r.insert("msg".into(), json!(m));
            return Ok(r);
        }
        if fail_on_missing {
            r = slurped;
        } else {
            r.insert("changed".into(), json!(false));
            r.insert("file".into(), json!(src));
        }
        if msg.contains("not found") || msg.contains("No such file") {
            r.insert(
                "msg".into(),
                json!("the remote file does not exist, not transferring, ignored"),
            );
        }
        return Ok(r);
    }
    let data = base64::engine::general_purpose::STANDARD
        .decode(slurped.get("content").map(value_str).unwrap_or_default())
        .map_err(|e| Error::new(format!("fetch: bad content from the target: {e}")))?;
    let local = |p: PathBuf| {
        if p.is_absolute() {
            p
        } else {
            ctx.play.dir.join(p)
        }
    };
    let target = if flat {
        let mut p = local(PathBuf::from(crate::cli::config::expand_user(&dest)));
        if p.is_dir() && !dest.ends_with('/') {
            return Ok(failed(json!("dest is an existing directory, use a trailing slash if you want to fetch src into that directory")));
        }
        if dest.ends_with('/') {
            p = p.join(Path::new(&src).file_name().unwrap_or_default());
            if p.is_dir() {
                return Ok(failed(json!(format!("calculated dest '{}' is an existing directory, use another path that does not point to an existing directory", p.display()))));
            }
        }
        p
    } else {
        local(PathBuf::from(crate::cli::config::expand_user(&dest)))
            .join(host)
            .join(src.trim_start_matches('/'))
    };
    let checksum = hex::encode(sha1::Sha1::digest(&data));
    let md5 = |d: &[u8]| hex::encode(<md5::Md5 as md5::Digest>::digest(d));
    let before = std::fs::read(&target).ok();
    let mut r = Map::new();
    if before
        .as_deref()
        .is_some_and(|b| hex::encode(sha1::Sha1::digest(b)) == checksum)
    {
        r.insert("changed".into(), json!(false));
        r.insert("checksum".into(), json!(checksum));
        r.insert("dest".into(), json!(target.display().to_string()));
        r.insert("file".into(), json!(src));
        r.insert("md5sum".into(), json!(md5(&data)));
        return Ok(r);
    }
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::new(format!("Could not create {}: {e}", parent.display())))?;
    }
    write_with_umask(&target, &data)
        .map_err(|e| Error::new(format!("Failed to fetch the file: {e}")))?;
    let written = std::fs::read(&target).unwrap_or_default();
    let new_sum = hex::encode(sha1::Sha1::digest(&written));
    if validate && new_sum != checksum {
        r.insert("failed".into(), json!(true));
        r.insert("msg".into(), json!("checksum mismatch"));
    } else {
        r.insert("changed".into(), json!(true));
    }
    r.insert("checksum".into(), json!(new_sum));
    r.insert("dest".into(), json!(target.display().to_string()));
    r.insert("file".into(), json!(src));
    r.insert("md5sum".into(), json!(md5(&written)));
    r.insert("remote_checksum".into(), json!(checksum));
    r.insert("remote_md5sum".into(), Value::Null);
    Ok(r)
}

/// A file written as Python's `open(dest, 'wb')` leaves it (mode 0666 less the umask), but
/// atomically: a new file beside it, then renamed over it.
fn write_with_umask(dest: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = dest.parent().unwrap_or(Path::new("."));
    let name = dest.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(
        ".{name}.{}.{:x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o666)
        .open(&tmp)?;
    let done = f.write_all(data).and_then(|_| f.sync_all());
    if let Err(e) = done.and_then(|_| std::fs::rename(&tmp, dest)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(())
}

/// `script`: the controller's script is put on the target, run there, and removed.
fn script(call: Call) -> Result<Map<String, Value>> {
    let Call { ctx, task, c, .. } = call;
    let args = template_args(task, c)?;
    // The options of Ansible's script action, checked as its argument spec checks them.
    const OPTIONS: [&str; 6] = [
        "_raw_params",
        "chdir",
        "cmd",
        "creates",
        "executable",
        "removes",
    ];
    let mut unknown: Vec<&str> = args
        .keys()
        .map(String::as_str)
        .filter(|k| !OPTIONS.contains(k))
        .collect();
    if !unknown.is_empty() {
        unknown.sort();
        return Ok(failed(json!(format!(
            "Unsupported parameters for (script) module: {}. Supported parameters include: {}.",
            unknown.join(", "),
            OPTIONS.join(", ")
        ))));
    }
    let given = |k: &str| args.get(k).filter(|v| !v.is_null()).map(value_str);
    let raw = match (given("_raw_params"), given("cmd")) {
        (Some(_), Some(_)) => {
            return Ok(failed(json!(
                "parameters are mutually exclusive: _raw_params|cmd"
            )))
        }
        (None, None) => {
            return Ok(failed(json!(
                "one of the following is required: _raw_params, cmd"
            )))
        }
        (Some(r), None) | (None, Some(r)) => r,
    };
    // creates/removes are decided on the target before the script is even looked up.
    for (key, exists_means_skip) in [("creates", true), ("removes", false)] {
        if let Some(p) = given(key).filter(|p| !p.is_empty()) {
            let mut st = Map::new();
            st.insert("path".into(), json!(p));
            let r = module_named(call, "stat", st)?;
            let exists = r
                .get("stat")
                .and_then(|s| s.get("exists"))
                .map(truthy)
                .unwrap_or(false);
            if exists == exists_means_skip {
                let mut out = Map::new();
                out.insert("changed".into(), json!(false));
                out.insert("skipped".into(), json!(true));
                out.insert(
                    "msg".into(),
                    json!(if exists_means_skip {
                        format!("{p} exists, matching creates option")
                    } else {
                        format!("{p} does not exist, matching removes option")
                    }),
                );
                return Ok(out);
            }
        }
    }
    if let Some(d) = given("chdir").filter(|d| !d.is_empty()) {
        if !d.starts_with('/') {
            return Ok(failed(json!(format!(
                "chdir {d} must be an absolute path for a Unix-aware remote node"
            ))));
        }
    }
    let words = crate::playbook::split_args(raw.trim());
    let Some(first) = words.first() else {
        return Ok(failed(json!("script requires a script path")));
    };
    let Some(path) = find_file(ctx, task, "files", first) else {
        return Ok(failed(json!(not_found_msg(ctx, task, "files", first))));
    };
    if check_mode_of(call)? {
        let mut out = Map::new();
        if given("creates").is_some_and(|p| !p.is_empty())
            || given("removes").is_some_and(|p| !p.is_empty())
        {
            // The creates/removes test above already says the script would run.
            out.insert("changed".into(), json!(true));
        } else {
            // A script may decide `changed` itself, so check mode cannot guess.
            out.insert("changed".into(), json!(false));
            out.insert("skipped".into(), json!(true));
            out.insert(
                "msg".into(),
                json!("Check mode is not supported for this task."),
            );
        }
        return Ok(out);
    }
    let data = copy_source(&path, true)?;
    let remote = format!(
        "/tmp/.play-script-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    );
    let mut put = Map::new();
    put.insert("dest".into(), json!(remote));
    put.insert("mode".into(), json!("0700"));
    attach_source(&mut put, &data, None);
    let r = module_named(call, "copy", put)?;
    if r.get("failed").map(truthy) == Some(true) {
        return Ok(r);
    }
    let mut cmd = Map::new();
    let rest = words[1..].join(" ");
    let line = match given("executable") {
        Some(exe) => format!("{exe} {remote} {rest}"),
        None => format!("{remote} {rest}"),
    };
    cmd.insert("_raw_params".into(), json!(line.trim()));
    cmd.insert("_uses_shell".into(), json!(true));
    // A script's output is returned as it was written, trailing newline included.
    cmd.insert("strip_empty_ends".into(), json!(false));
    if let Some(d) = args.get("chdir") {
        cmd.insert("chdir".into(), d.clone());
    }
    cmd.insert("_play_tty".into(), json!(true));
    let mut out = module_named(call, "command", cmd.clone())?;
    // On the local connection other hosts' threads fork while this script is written: a
    // child that has not exec'd yet still holds the file open for writing and the kernel
    // refuses to run it (ETXTBSY). That passes in moments, so try again briefly.
    for _ in 0..20 {
        if !text_file_busy(&out) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        out = module_named(call, "command", cmd.clone())?;
    }
    let mut rm = Map::new();
    rm.insert("path".into(), json!(remote));
    rm.insert("state".into(), json!("absent"));
    let _ = module_named(call, "file", rm);
    out.remove("cmd");
    out.remove("start");
    out.remove("end");
    out.remove("delta");
    out.remove("msg");
    if out.get("rc").and_then(Value::as_i64).unwrap_or(0) != 0 {
        out.insert("failed".into(), json!(true));
        out.insert("msg".into(), json!("non-zero return code"));
    }
    out.insert("changed".into(), json!(true));
    Ok(out)
}

/// The shell could not run the script because it was still open for writing somewhere.
fn text_file_busy(r: &Map<String, Value>) -> bool {
    r.get("rc").and_then(Value::as_i64) == Some(126)
        && r.get("stderr")
            .and_then(Value::as_str)
            .is_some_and(|e| e.contains("Text file busy"))
}

fn whoami() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "root".into())
}

/// `assemble` with `remote_src: false`: the fragments are joined on the controller and the
/// result goes to the target through `copy`, as Ansible's action does.
fn assemble(call: Call) -> Result<Map<String, Value>> {
    let Call { ctx, task, .. } = call;
    let mut args = template_args(task, call.c)?;
    let remote_src = args.get("remote_src").map(truthy).unwrap_or(true);
    let (Some(src), true) = (args.get("src").map(value_str), args.contains_key("dest")) else {
        return Ok(failed(json!("src and dest are required")));
    };
    if remote_src {
        return module(call, args);
    }
    let Some(dir) = find_file(ctx, task, "files", &src) else {
        return Ok(failed(json!(not_found_msg(ctx, task, "files", &src))));
    };
    if !dir.is_dir() {
        return Ok(failed(json!(format!(
            "Source ({}) is not a directory",
            dir.display()
        ))));
    }
    let re = match args.get("regexp").map(value_str) {
        Some(r) => match regex::Regex::new(&r) {
            Ok(re) => Some(re),
            Err(e) => return Ok(failed(json!(format!("Invalid Regexp ({e}) in \"{r}\"")))),
        },
        None => None,
    };
    let data = play_modules::assemble::assemble(
        &dir.display().to_string(),
        args.get("delimiter").map(value_str).as_deref(),
        re.as_ref(),
        args.get("ignore_hidden").map(truthy).unwrap_or(false),
    );
    let data = match data {
        Ok(d) => d,
        Err(f) => return Ok(f.into_result()),
    };
    for opt in [
        "src",
        "remote_src",
        "regexp",
        "delimiter",
        "ignore_hidden",
        "decrypt",
    ] {
        args.remove(opt);
    }
    attach_source(&mut args, &data, None);
    let mut r = module_named(call, "copy", args)?;
    // Ansible's action adds a diff only when it made one.
    if r.get("diff")
        .is_some_and(|d| d.as_array().is_some_and(|a| a.is_empty()))
    {
        r.remove("diff");
    }
    Ok(r)
}

/// `copy`: a `src` on the controller is read here and sent with the request.
fn copy(call: Call) -> Result<Map<String, Value>> {
    let Call { ctx, task, c, .. } = call;
    let mut args = template_args(task, c)?;
    let remote_src = args.get("remote_src").map(truthy).unwrap_or(false);
    // The checks Ansible's action makes before it looks at any file.
    let set = |k: &str| args.get(k).is_some_and(|v| !v.is_null());
    let given = |k: &str| {
        args.get(k)
            .is_some_and(|v| !v.is_null() && !value_str(v).is_empty())
    };
    let precheck = if !given("src") && !set("content") {
        Some("src (or content) is required")
    } else if !given("dest") {
        Some("dest is required")
    } else if given("src") && set("content") {
        Some("src and content are mutually exclusive")
    } else if set("content")
        && args
            .get("dest")
            .map(value_str)
            .is_some_and(|d| d.ends_with('/'))
    {
        Some("can not use content with a dir as dest")
    } else {
        None
    };
    if let Some(msg) = precheck {
        return Ok(failed(json!(msg)));
    }
    if let (Some(src), false) = (args.get("src").map(value_str), remote_src) {
        let Some(path) = find_file(ctx, task, "files", &src) else {
            return Ok(failed(json!(format!(
                "Unexpected AnsibleActionFail error: {}",
                not_found_msg(ctx, task, "files", &src)
            ))));
        };
        let decrypt = take_decrypt(&mut args);
        if path.is_dir() {
            return copy_dir(call, &path, args, decrypt);
        }
        let data = copy_source(&path, decrypt)?;
        args.remove("src");
        preserve_mode(&mut args, &path);
        attach_source(
            &mut args,
            &data,
            path.file_name().map(|n| n.to_string_lossy()).as_deref(),
        );
        let r = module_named(call, "copy", args)?;
        return Ok(kept_existing(r, &path.display().to_string()));
    }
    let content = !remote_src && set("content");
    let r = module_named(call, "copy", args)?;
    Ok(if content {
        // Ansible wrote the content to a temporary file on the controller first.
        kept_existing(r, rendered_temp_path("").trim_end_matches('/'))
    } else {
        r
    })
}

/// `force: false` with an existing dest: Ansible's action stops before running a module
/// and reports only the dest and its own source.
fn kept_existing(r: Map<String, Value>, src: &str) -> Map<String, Value> {
    if r.get("msg").and_then(Value::as_str) != Some("file already exists")
        || r.get("failed").map(truthy) == Some(true)
    {
        return r;
    }
    let mut out = Map::new();
    out.insert("changed".into(), json!(false));
    out.insert("dest".into(), r.get("dest").cloned().unwrap_or(Value::Null));
    out.insert("src".into(), json!(src));
    out
}

/// `decrypt` (default true): whether a vaulted source is decrypted on the controller. It is
/// an option of the action, not of the module on the target.
fn take_decrypt(args: &mut Map<String, Value>) -> bool {
    args.remove("decrypt").map(|v| truthy(&v)).unwrap_or(true)
}

/// A `copy` source's bytes: decrypted when vaulted, unless `decrypt: false`.
fn copy_source(path: &Path, decrypt: bool) -> Result<Vec<u8>> {
    if !decrypt {
        return std::fs::read(path)
            .map_err(|e| Error::new(format!("Could not read {}: {e}", path.display())));
    }
    crate::vault::read_file(path).map_err(|m| {
        Error::new(if m == crate::vault::NO_SECRETS {
            format!(
                "A vault password or secret must be specified to decrypt {}",
                path.display()
            )
        } else {
            m
        })
    })
}

/// A directory `src`: each file is copied with its relative path (the directory itself too,
/// unless `src` ends with `/`); the result is the last file's, with `changed` if any file
/// changed (as Ansible reports directory copies).
fn copy_dir(
    call: Call,
    dir: &Path,
    args: Map<String, Value>,
    decrypt: bool,
) -> Result<Map<String, Value>> {
    let contents_only = args
        .get("src")
        .map(value_str)
        .is_some_and(|s| s.ends_with('/'));
    let dest = args.get("dest").map(value_str).unwrap_or_default();
    let base = if contents_only {
        PathBuf::from(&dest)
    } else {
        PathBuf::from(&dest).join(dir.file_name().unwrap_or_default())
    };
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&d)
            .map_err(|e| Error::new(e.to_string()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    let mut changed = false;
    let mut last = Map::new();
    let nfiles = files.len();
    for f in files {
        let rel = f.strip_prefix(dir).unwrap_or(&f);
        let target = base.join(rel);
        if let Some(parent) = target.parent() {
            let mut fargs = Map::new();
            fargs.insert("path".into(), json!(parent.display().to_string()));
            fargs.insert("state".into(), json!("directory"));
            if let Some(m) = args.get("directory_mode") {
                fargs.insert("mode".into(), m.clone());
            }
            let r = module_named(call, "file", fargs)?;
            if r.get("failed").map(truthy) == Some(true) {
                return Ok(r);
            }
            changed |= r.get("changed").map(truthy).unwrap_or(false);
            // In check mode a new directory is not made: the file in it would be new.
            if r.get("changed").map(truthy).unwrap_or(false) && check_mode_of(call)? {
                changed = true;
                last = Map::new();
                last.insert("changed".into(), json!(true));
                continue;
            }
        }
        let mut fargs = args.clone();
        fargs.remove("src");
        fargs.remove("directory_mode");
        fargs.insert("dest".into(), json!(target.display().to_string()));
        preserve_mode(&mut fargs, &f);
        attach_source(&mut fargs, &copy_source(&f, decrypt)?, None);
        let r = module_named(call, "copy", fargs)?;
        if r.get("failed").map(truthy) == Some(true) {
            return Ok(r);
        }
        changed |= r.get("changed").map(truthy).unwrap_or(false);
        last = r;
    }
    // Ansible's action reports a single file's own result; for several, only where the
    // tree went (dest always with a trailing slash) and whether anything changed.
    if nfiles == 1 {
        last.insert("changed".into(), json!(changed));
        return Ok(last);
    }
    let mut src = dir.display().to_string();
    if contents_only && !src.ends_with('/') {
        src.push('/');
    }
    let dest = if dest.ends_with('/') {
        dest
    } else {
        format!("{dest}/")
    };
    let mut r = Map::new();
    r.insert("changed".into(), json!(changed));
    r.insert("dest".into(), json!(dest));
    r.insert("src".into(), json!(src));
    Ok(r)
}

/// The task's `check_mode` keyword (its own or inherited), else the command line's.
pub(super) fn check_mode_of(call: Call) -> Result<bool> {
    let Call {
        ctx,
        task,
        scope,
        c,
        ..
    } = call;
    Ok(
        match scope.keyword(task.kw.check_mode.as_deref(), |k| k.check_mode.as_deref()) {
            Some(n) => truthy(&c.template_node(n)?),
            None => ctx.run.opts.check,
        },
    )
}

/// `mode: preserve` with a controller source: the module on the target gets the local
/// file's mode along with its bytes.
fn preserve_mode(args: &mut Map<String, Value>, path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if args.get("mode").map(value_str).as_deref() != Some("preserve") {
        return;
    }
    if let Ok(md) = std::fs::metadata(path) {
        let mode = md.permissions().mode() & 0o7777;
        args.insert("_play_src_mode".into(), json!(format!("0{mode:03o}")));
    }
}

fn module(call: Call, args: Map<String, Value>) -> Result<Map<String, Value>> {
    let Call { task, .. } = call;
    let name = task.action.clone();
    module_named(call, &name, args)
}

/// Give a module that writes files (copy, unarchive) the controller's bytes to write, and
/// the name they came under.
pub(super) fn attach_source(args: &mut Map<String, Value>, data: &[u8], basename: Option<&str>) {
    args.insert(
        "_play_src".into(),
        json!(base64::engine::general_purpose::STANDARD.encode(data)),
    );
    if let Some(name) = basename {
        args.insert("_original_basename".into(), json!(name));
    }
}

/// Hand a module to the host's connection.
pub(super) fn module_named(
    call: Call,
    name: &str,
    mut args: Map<String, Value>,
) -> Result<Map<String, Value>> {
    let Call {
        ctx,
        task,
        scope,
        host,
        c,
    } = call;
    apply_module_defaults(task, scope, c, name, &mut args)?;
    let check_mode = check_mode_of(call)?;
    let diff = match scope.keyword(task.kw.diff.as_deref(), |k| k.diff.as_deref()) {
        Some(n) => truthy(&c.template_node(n)?),
        None => ctx.run.opts.diff,
    };
    let mut environment = Vec::new();
    for s in scope.iter().collect::<Vec<_>>().into_iter().rev() {
        for e in &s.kw.environment {
            env_into(c, e, &mut environment)?;
        }
    }
    for e in &task.kw.environment {
        env_into(c, e, &mut environment)?;
    }
    let fact_path = match name {
        "setup" => args
            .get("fact_path")
            .map(value_str)
            .map(PathBuf::from)
            .or_else(|| ctx.run.opts.fact_path.clone()),
        _ => None,
    };
    let python_interpreter = match name {
        "setup" => c
            .resolve("ansible_python_interpreter")
            .and_then(|v| crate::template::from_mj(&v).ok())
            .filter(|v| !v.is_null())
            .map(|v| value_str(&v)),
        _ => None,
    };
    let mctx = play_modules::ModuleContext {
        check_mode,
        diff,
        environment,
        tmpdir: None,
        fact_path,
        python_interpreter,
        // Argument errors name the module as the task wrote it (`ansible.posix.sysctl`).
        module_name: (name == task.action).then(|| task.action_written.clone()),
    };
    let target = delegate_target(task, scope, c)?.unwrap_or_else(|| host.to_string());
    let kw_str = |n: Option<&Node>| keyword_string(c, n);
    let become_on = match scope.keyword(task.kw.become_.as_deref(), |k| k.become_.as_deref()) {
        Some(n) => truthy(&c.template_node(n)?),
        None => ctx.run.opts.become_,
    };
    let mut route = super::connect::route(ctx, &target, c, conn_keywords(task, scope, c)?);
    let become_ = super::connect::become_params(
        become_on,
        kw_str(scope.keyword(task.kw.become_user.as_deref(), |k| k.become_user.as_deref()))?
            .or_else(|| ctx.run.opts.become_user.clone()),
        kw_str(scope.keyword(task.kw.become_method.as_deref(), |k| {
            k.become_method.as_deref()
        }))?
        .or_else(|| ctx.run.opts.become_method.clone()),
        kw_str(scope.keyword(task.kw.become_flags.as_deref(), |k| {
            k.become_flags.as_deref()
        }))?,
        &route.vars,
        ctx.run.opts.become_password.as_deref(),
    );
    super::connect::set_become(ctx, &mut route, become_);
    let async_limit = match &task.async_ {
        Some(n) => value_str(&c.template_node(n)?).parse::<u64>().unwrap_or(0),
        None => 0,
    };
    // `raw`, and the command `script` runs, go to an SSH host as Ansible sends them: a
    // command line on a TTY, not a module.
    let tty_line = match name {
        "raw" if !check_mode => args.get("_raw_params").map(value_str).map(|cmd| {
            match args.get("executable").map(value_str) {
                Some(exe) => format!("{exe} -c {}", crate::connection::ssh::shell_quote(&cmd)),
                None => cmd,
            }
        }),
        _ if args.remove("_play_tty").is_some() => {
            let mut line = args.get("_raw_params").map(value_str).unwrap_or_default();
            if !mctx.environment.is_empty() {
                let env: Vec<String> = mctx
                    .environment
                    .iter()
                    .map(|(k, v)| format!("{k}={}", crate::connection::ssh::shell_quote(v)))
                    .collect();
                line = format!("{} {line}", env.join(" "));
            }
            if let Some(d) = args.get("chdir").map(value_str) {
                line = format!("cd {} && {line}", crate::connection::ssh::shell_quote(&d));
            }
            Some(line)
        }
        _ => None,
    };
    // In check mode too the module runs as a job, told to change nothing, as Ansible runs it.
    let mut r = if async_limit > 0 {
        let poll = match &task.poll {
            Some(n) => value_str(&c.template_node(n)?).parse::<u64>().unwrap_or(15),
            None => 15,
        };
        super::async_task::run(ctx, &route, name, &args, &mctx, async_limit, poll)
    } else if let Some(r) = tty_line.and_then(|l| super::connect::run_on_tty(ctx, &route, &l)) {
        r
    } else {
        super::connect::run_module(ctx, &route, name, &args, &mctx)
    };
    // Facts a module returns (setup, package_facts, service_facts, ...) join the host's
    // facts, without their `ansible_` prefix.
    if let Some(Value::Object(facts)) = r.get("ansible_facts") {
        let facts = facts.clone();
        let host = fact_host(task, scope, host, c)?;
        let gathering = task.action_written.ends_with("gather_facts");
        ctx.run.update_facts(&host, |hs| {
            for (k, v) in &facts {
                match k.strip_prefix("ansible_") {
                    Some(name) => {
                        hs.facts.insert(name.to_string(), v.clone());
                    }
                    None => {
                        // The native setup names its facts without the prefix Ansible's
                        // has; other modules' unprefixed facts (`packages`) are bare.
                        if name != "setup" || setup_bare_fact(k) {
                            hs.bare_facts.insert(k.clone());
                        }
                        hs.facts.insert(k.clone(), v.clone());
                    }
                }
            }
            if gathering {
                hs.facts.insert(super::GATHERED.into(), json!(true));
                hs.bare_facts.insert(super::GATHERED.into());
            }
        });
        if name == "setup" {
            // The registered setup result names facts with the prefix, as Ansible's does.
            let shown: Map<String, Value> = facts
                .into_iter()
                .map(|(k, v)| match k.as_str() {
                    _ if setup_bare_fact(&k) => (k, v),
                    _ if k.starts_with("ansible_") => (k, v),
                    _ => (format!("ansible_{k}"), v),
                })
                .collect();
            r.insert("ansible_facts".into(), Value::Object(shown));
        }
    }
    r.remove("_ansible_verbose_override");
    if check_mode && !r.contains_key("skipped") && r.get("failed").map(truthy) != Some(true) {
        r.entry("changed").or_insert(json!(false));
    }
    Ok(r)
}

fn env_into(c: &Arc<Context>, e: &Node, out: &mut Vec<(String, String)>) -> Result<()> {
    if let Value::Object(m) = c.template_node(e)? {
        for (k, v) in m {
            out.retain(|(x, _)| x != &k);
            out.push((k, value_str(&v)));
        }
    }
    Ok(())
}

fn apply_module_defaults(
    task: &Task,
    scope: &Arc<Scope>,
    c: &Arc<Context>,
    name: &str,
    args: &mut Map<String, Value>,
) -> Result<()> {
    let mut levels: Vec<&Node> = Vec::new();
    if let Some(n) = &task.kw.module_defaults {
        levels.push(n);
    }
    for s in scope.iter() {
        if let Some(n) = &s.kw.module_defaults {
            levels.push(n);
        }
    }
    for n in levels {
        let defaults = match c.template_node(n)? {
            Value::Object(m) => vec![Value::Object(m)],
            Value::Array(a) => a,
            _ => continue,
        };
        for d in defaults {
            let Value::Object(d) = d else { continue };
            for (k, v) in d {
                if crate::playbook::canonical_action(&k) == name {
                    if let Value::Object(dv) = v {
                        for (ak, av) in dv {
                            args.entry(ak).or_insert(av);
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

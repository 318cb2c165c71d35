//! Which transport reaches a host, and the one SSH connection (with its agent) each host
//! keeps for the whole run.

use super::play::PlayCtx;
use super::task::value_str;
use crate::connection::params::{BecomeParams, ConnParams};
use crate::connection::ssh::{ConnError, SshConnection};
use crate::template::Context;
use play_modules::{ModuleContext, ModuleResult};
use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex};

/// Host variables the transport reads.
const CONNECTION_VARS: &[&str] = &[
    "ansible_host",
    "ansible_ssh_host",
    "ansible_port",
    "ansible_ssh_port",
    "ansible_user",
    "ansible_ssh_user",
    "ansible_ssh_private_key_file",
    "ansible_private_key_file",
    "ansible_password",
    "ansible_ssh_pass",
    "ansible_ssh_password",
    "ansible_ssh_common_args",
    "ansible_ssh_extra_args",
    "ansible_host_key_checking",
    "ansible_ssh_host_key_checking",
    "ansible_remote_tmp",
    "ansible_timeout",
    "ansible_ssh_timeout",
    "ansible_become",
    "ansible_become_user",
    "ansible_become_method",
    "ansible_become_password",
    "ansible_become_pass",
    "ansible_sudo_pass",
    "ansible_become_exe",
    "ansible_become_flags",
    "ansible_connection",
];

/// One host's connection slot: filled on first use, emptied by `reset_connection`.
pub type Slot = Arc<Mutex<Option<Arc<SshConnection>>>>;

/// How a task's module reaches its host.
pub struct Route {
    pub transport: String,
    pub host: String,
    pub vars: Map<String, Value>,
    pub become_: Option<BecomeParams>,
}

/// The connection keywords of a task (its own, or its block's, role's or play's),
/// templated.
#[derive(Default)]
pub struct ConnKeywords {
    pub connection: Option<String>,
    pub remote_user: Option<String>,
    pub port: Option<String>,
}

/// Work out the transport and the connection variables for a task on `target` (the host,
/// or its delegate), with `c` the task's templating context; `set_become` adds become.
/// As in Ansible, a connection variable (`ansible_user`, `ansible_port`) wins over the
/// keyword (`remote_user`, `port`), which wins over the command line and ansible.cfg.
pub fn route(ctx: &Arc<PlayCtx>, target: &str, c: &Arc<Context>, kw: ConnKeywords) -> Route {
    // The task's own host reads them with the task's variables (a task's `vars` may set
    // `ansible_become_exe`, say); a delegate from its own host variables.
    let own_host = c
        .resolve("inventory_hostname")
        .and_then(|v| crate::template::from_mj(&v).ok())
        .is_some_and(|h| h.as_str() == Some(target));
    let tc = if own_host {
        c.clone()
    } else {
        Context::new(Arc::new(ctx.vars_for(target, None, None, None)))
    };
    let mut vars = Map::new();
    for name in CONNECTION_VARS {
        if let Some(v) = tc.resolve(name) {
            if let Ok(j) = crate::template::from_mj(&v) {
                if !j.is_null() {
                    vars.insert((*name).to_string(), j);
                }
            }
        }
    }
    for (keyword, names) in [
        (kw.remote_user, ["ansible_user", "ansible_ssh_user"]),
        (kw.port, ["ansible_port", "ansible_ssh_port"]),
    ] {
        if let Some(v) = keyword {
            if !names.iter().any(|n| vars.contains_key(*n)) {
                vars.insert(names[0].to_string(), Value::String(v));
            }
        }
    }
    let transport = vars
        .get("ansible_connection")
        .map(value_str)
        .or(kw.connection)
        .or_else(|| ctx.run.opts.connection.clone())
        .unwrap_or_else(|| "ssh".into());
    let transport = match transport.rsplit('.').next().unwrap_or("ssh") {
        "smart" | "paramiko" | "paramiko_ssh" => "ssh".to_string(),
        other => other.to_string(),
    };
    Route {
        transport,
        host: target.to_string(),
        vars,
        become_: None,
    }
}

/// Set the route's become settings. Over SSH, as in Ansible, become is left out when the
/// configured remote user (`ansible_user`, `remote_user`, `-u`) is the become user, unless
/// `become_allow_same_user` says to become anyway; with no remote user configured, become
/// runs.
pub fn set_become(ctx: &Arc<PlayCtx>, route: &mut Route, become_: Option<BecomeParams>) {
    let remote_user = ["ansible_user", "ansible_ssh_user"]
        .iter()
        .find_map(|k| route.vars.get(*k).map(value_str))
        .or_else(|| ctx.run.opts.ssh.remote_user.clone());
    let same_user = |b: &BecomeParams| remote_user.as_deref() == Some(b.user.as_str());
    route.become_ = become_.filter(|b| {
        route.transport != "ssh" || ctx.run.opts.become_allow_same_user || !same_user(b)
    });
}

/// Become settings from the task's resolved keywords (or the command line) and the
/// host's variables. As in Ansible, the `ansible_become*` variables win over the keywords.
pub fn become_params(
    enabled: bool,
    user: Option<String>,
    method: Option<String>,
    flags: Option<String>,
    vars: &Map<String, Value>,
    cli_password: Option<&str>,
) -> Option<BecomeParams> {
    let enabled = vars
        .get("ansible_become")
        .map(crate::connection::params::truthy)
        .unwrap_or(enabled);
    if !enabled {
        return None;
    }
    let var = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| vars.get(*n).filter(|v| !v.is_null()).map(value_str))
    };
    Some(BecomeParams {
        method: var(&["ansible_become_method"])
            .or(method)
            .unwrap_or_else(|| "sudo".into()),
        user: var(&["ansible_become_user"])
            .or(user)
            .unwrap_or_else(|| "root".into()),
        password: var(&[
            "ansible_become_password",
            "ansible_become_pass",
            "ansible_sudo_pass",
        ])
        .or_else(|| cli_password.map(str::to_string)),
        flags: var(&["ansible_become_flags"]).or(flags),
        exe: var(&["ansible_become_exe"]),
    })
}

fn unreachable(msg: String) -> ModuleResult {
    let mut r = Map::new();
    r.insert("changed".into(), json!(false));
    r.insert("msg".into(), json!(format!("Task failed: {msg}")));
    r.insert("unreachable".into(), json!(true));
    r
}

/// Marks a result made from an error the connection raised (the module never ran): as in
/// Ansible, `failed_when`, `changed_when` and `until` do not apply to it.
pub const RAISED: &str = "_play_raised";

fn failed(msg: String) -> ModuleResult {
    let mut r = Map::new();
    r.insert("changed".into(), json!(false));
    r.insert("failed".into(), json!(true));
    r.insert("msg".into(), json!(msg));
    r.insert(RAISED.into(), json!(true));
    r
}

/// The task's result when the connection, not the module, failed: an unreachable host
/// loses its session (the next task opens a new one); Ansible reports the connection's
/// other refusals (a wrong become password, a bad `port`) as the task's failure.
fn connection_failure(ctx: &Arc<PlayCtx>, route: &Route, e: ConnError) -> ModuleResult {
    if e.is_unreachable() {
        forget(ctx, &route.host);
        unreachable(e.msg)
    } else {
        failed(format!("Task failed: {}", e.msg))
    }
}

/// Run a module over the route: in this process for `local`, through the host's agent for
/// `ssh`.
pub fn run_module(
    ctx: &Arc<PlayCtx>,
    route: &Route,
    name: &str,
    args: &Map<String, Value>,
    mctx: &ModuleContext,
) -> ModuleResult {
    match route.transport.as_str() {
        "local" => match &route.become_ {
            Some(b) if become_needed(ctx, b) => match local_agent(ctx, route, b) {
                Ok(agent) => agent.run_module(name, args, mctx),
                Err(msg) => failed(format!("Task failed: {msg}")),
            },
            _ => crate::connection::local::run_module(name, args, mctx),
        },
        "ssh" => {
            match connection(ctx, route)
                .and_then(|conn| conn.run_module_as(route.become_.as_ref(), name, args, mctx))
            {
                Ok(r) => r,
                Err(e) => connection_failure(ctx, route, e),
            }
        }
        other => failed(format!(
            "the connection plugin '{other}' is not available in play (local and ssh are)"
        )),
    }
}

/// Run a command line the way Ansible's ssh connection runs `raw` and `script`: on a
/// channel with a TTY, so the output is the terminal's (stdout and stderr merged, CRLF
/// line ends) and stderr holds only OpenSSH's closing line. `None` when the route is not
/// an SSH one: the caller runs the command through the local module.
pub fn run_on_tty(ctx: &Arc<PlayCtx>, route: &Route, cmd: &str) -> Option<ModuleResult> {
    if route.transport != "ssh" {
        return None;
    }
    let (rc, out) =
        match connection(ctx, route).and_then(|conn| conn.exec_tty(route.become_.as_ref(), cmd)) {
            Ok(x) => x,
            Err(e) => return Some(connection_failure(ctx, route, e)),
        };
    let stdout = String::from_utf8_lossy(&out).into_owned();
    // OpenSSH's words when a multiplexed -tt session ends (Ansible's default ssh_args
    // turn ControlMaster on); the name is the one given to ssh, ansible_host.
    let shown_host = route
        .vars
        .get("ansible_host")
        .or_else(|| route.vars.get("ansible_ssh_host"))
        .map(value_str)
        .unwrap_or_else(|| route.host.clone());
    let stderr = format!("Shared connection to {shown_host} closed.\r\n");
    let lines = |s: &str| Value::Array(play_modules::util::splitlines(s));
    let mut r = Map::new();
    r.insert("changed".into(), json!(true));
    r.insert("rc".into(), json!(rc));
    r.insert("stdout_lines".into(), lines(&stdout));
    r.insert("stdout".into(), json!(stdout));
    r.insert("stderr_lines".into(), lines(&stderr));
    r.insert("stderr".into(), json!(stderr));
    if rc != 0 {
        r.insert("failed".into(), json!(true));
        r.insert("msg".into(), json!("non-zero return code"));
    }
    Some(r)
}

/// The local agent running as the become user, started on first use.
fn local_agent(
    ctx: &Arc<PlayCtx>,
    route: &Route,
    b: &BecomeParams,
) -> Result<Arc<crate::connection::local_become::LocalAgent>, String> {
    use crate::connection::local_become::LocalAgent;
    let key = format!("{}\0{}\0{:?}\0{:?}", b.method, b.user, b.flags, b.exe);
    let mut agents = ctx.run.local_agents.lock().unwrap();
    if let Some(a) = agents.get(&key) {
        return Ok(a.clone());
    }
    // -vvv shows the become command line, as Ansible shows each command it runs.
    if let Ok(line) = LocalAgent::command_line(b, &crate::connection::ssh::become_prompt()) {
        let addr = route
            .vars
            .get("ansible_host")
            .map(value_str)
            .unwrap_or_else(|| route.host.clone());
        let shown = crate::connection::ssh::shell_quote(&line);
        ctx.run
            .cb()
            .verbose(3, &format!("<{addr}> EXEC /bin/sh -c {shown}"));
    }
    let a = Arc::new(LocalAgent::start(b)?);
    agents.insert(key, a.clone());
    Ok(a)
}

/// Whether become on the local connection has to switch users: as in Ansible, not when
/// the become user is the one play runs as (whatever `ansible_user` says), unless
/// `become_allow_same_user` says to become anyway.
fn become_needed(ctx: &Arc<PlayCtx>, b: &BecomeParams) -> bool {
    ctx.run.opts.become_allow_same_user || !becomes_self(b)
}

/// Becoming the user we already are needs no switch (root to root, the common local case).
fn becomes_self(b: &BecomeParams) -> bool {
    let me = unsafe { libc::geteuid() };
    (b.user == "root" && me == 0) || std::env::var("USER").map(|u| u == b.user).unwrap_or(false)
}

fn connection(ctx: &Arc<PlayCtx>, route: &Route) -> Result<Arc<SshConnection>, ConnError> {
    let slot = {
        let mut conns = ctx.run.conns.lock().unwrap();
        conns.entry(route.host.clone()).or_default().clone()
    };
    let mut g = slot.lock().unwrap();
    let params = ConnParams::from_vars(&route.host, &route.vars, &ctx.run.opts.ssh)?;
    if let Some(c) = g.as_ref() {
        // A task that reaches the host as another user (its `remote_user`), or at another
        // address, gets a session of its own; it replaces the host's current one.
        let p = c.params();
        if (&p.user, &p.host, p.port) == (&params.user, &params.host, params.port) {
            return Ok(c.clone());
        }
    }
    let c = Arc::new(SshConnection::connect(&params)?);
    *g = Some(c.clone());
    Ok(c)
}

/// Drop a host's connection (it will be opened again on next use).
pub fn forget(ctx: &Arc<PlayCtx>, host: &str) {
    let slot = ctx.run.conns.lock().unwrap().get(host).cloned();
    if let Some(slot) = slot {
        // Dropping the last handle ends the agent and the session.
        slot.lock().unwrap().take();
    }
}

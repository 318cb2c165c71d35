//! `command`, `shell` and `raw`.

use crate::args::{b, l, p, s, Spec, Type};
use crate::host::Host;
use crate::util::{shlex_split, splitlines, timedelta_str, LocalTime};
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::{json, Value};

fn spec() -> Spec {
    Spec::new(vec![
        s("_raw_params"),
        b("_uses_shell").default(false),
        s("cmd"),
        l("argv").elements(Type::Str),
        p("chdir"),
        s("executable"),
        b("expand_argument_vars").default(true),
        p("creates"),
        p("removes"),
        s("stdin"),
        b("stdin_add_newline").default(true),
        b("strip_empty_ends").default(true),
    ])
    .one_of(&["_raw_params", "cmd", "argv"])
    .exclusive(&["_raw_params", "cmd", "argv"])
}

/// What to execute.
enum Cmd {
    Argv(Vec<String>),
    Shell(String),
}

fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\"'\"'"))
    }
}

/// `command` (and `shell`, which is `command` with `_uses_shell=true`).
pub fn command(
    host: &dyn Host,
    args: &Args,
    ctx: &ModuleContext,
    module: &str,
    force_shell: bool,
) -> ModuleResult {
    // shell runs command's code but refuses command's own option, as Ansible's shell
    // action does before calling the module (naming the action as the task wrote it).
    if force_shell && args.contains_key("expand_argument_vars") {
        let name = ctx.module_name.as_deref().unwrap_or("shell");
        return crate::util::Failure::new(format!(
            "Unsupported parameters for ({name}) module: expand_argument_vars"
        ))
        .into_result();
    }
    let params = match spec().validate_on(host, module, args) {
        Ok(p) => p,
        Err(e) => return crate::util::Failure::new(e).into_result(),
    };
    let shell = force_shell || params.bool("_uses_shell");
    // Ansible's command module ignores `executable` (only shell honours it) and says so.
    let ignored_exe = params.string("executable").filter(|_| !shell);
    let executable = params.string("executable").filter(|_| shell);
    let raw = params
        .string("_raw_params")
        .filter(|s| !s.is_empty())
        .or_else(|| params.string("cmd"));
    let mut r = ModuleResult::new();
    r.insert("changed".into(), json!(false));
    r.insert("stdout".into(), json!(""));
    r.insert("stderr".into(), json!(""));
    r.insert("rc".into(), Value::Null);
    r.insert("cmd".into(), Value::Null);
    r.insert("start".into(), Value::Null);
    r.insert("end".into(), Value::Null);
    r.insert("delta".into(), Value::Null);
    r.insert("msg".into(), json!(""));
    if let Some(exe) = &ignored_exe {
        r.insert("warnings".into(), json!([executable_warning(exe)]));
    }
    let cmd = match (shell, raw) {
        (true, Some(s)) => Cmd::Shell(s),
        (true, None) => Cmd::Shell(
            params
                .list("argv")
                .unwrap_or_default()
                .iter()
                .map(|a| quote(a))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        (false, Some(s)) => match shlex_split(&s) {
            Ok(v) => Cmd::Argv(v),
            Err(e) => {
                return crate::util::Failure::new(format!("Task failed: Module failed: {e}"))
                    .into_result()
            }
        },
        (false, None) => Cmd::Argv(params.list("argv").unwrap_or_default()),
    };
    r.insert(
        "cmd".into(),
        match &cmd {
            Cmd::Argv(v) => json!(v),
            Cmd::Shell(s) => json!(s),
        },
    );
    let chdir = params.string("chdir");
    if let Some(d) = &chdir {
        if !host.is_dir(d) {
            r.insert(
                "msg".into(),
                json!("Unable to change directory before execution."),
            );
            // Ansible's result for this failure carries no rc at all (not even null).
            r.remove("rc");
            r.insert("failed".into(), json!(true));
            return finish(r, params.bool("strip_empty_ends"));
        }
    }
    let base = |p: &str| match &chdir {
        Some(d) if !p.starts_with('/') => format!("{d}/{p}"),
        _ => p.to_string(),
    };
    let shoulda = if ctx.check_mode { "Would" } else { "Did" };
    if let Some(c) = params.string("creates") {
        if host.exists(&base(&c)) {
            r.insert(
                "msg".into(),
                json!(format!("{shoulda} not run command since '{c}' exists")),
            );
            r.insert("stdout".into(), json!(format!("skipped, since {c} exists")));
            r.insert("rc".into(), json!(0));
            return finish(r, params.bool("strip_empty_ends"));
        }
    }
    if let Some(c) = params.string("removes") {
        if !host.exists(&base(&c)) {
            r.insert(
                "msg".into(),
                json!(format!(
                    "{shoulda} not run command since '{c}' does not exist"
                )),
            );
            r.insert(
                "stdout".into(),
                json!(format!("skipped, since {c} does not exist")),
            );
            r.insert("rc".into(), json!(0));
            return finish(r, params.bool("strip_empty_ends"));
        }
    }
    r.insert("changed".into(), json!(true));
    if ctx.check_mode {
        r.insert("rc".into(), json!(0));
        r.insert(
            "msg".into(),
            json!("Command would have run if not in check mode"),
        );
        if params.get("creates").is_none() && params.get("removes").is_none() {
            r.insert("skipped".into(), json!(true));
            r.insert("changed".into(), json!(false));
        }
        return finish(r, params.bool("strip_empty_ends"));
    }
    let argv: Vec<String> = match &cmd {
        Cmd::Shell(s) => vec![
            executable.clone().unwrap_or_else(|| "/bin/sh".into()),
            "-c".into(),
            s.clone(),
        ],
        Cmd::Argv(v) => {
            if params.bool("expand_argument_vars") {
                v.iter()
                    .map(|a| crate::args::expand_path_with_env(host, &ctx.environment, a))
                    .collect()
            } else {
                v.clone()
            }
        }
    };
    if argv.is_empty() {
        r.insert("rc".into(), json!(256));
        r.insert("msg".into(), json!("no command given"));
        r.insert("failed".into(), json!(true));
        r.insert("changed".into(), json!(false));
        return finish(r, params.bool("strip_empty_ends"));
    }
    let stdin = params.string("stdin").map(|s| {
        if params.bool("stdin_add_newline") {
            s + "\n"
        } else {
            s
        }
    });
    let t0 = std::time::Instant::now();
    let start = LocalTime::now();
    match host.exec(
        &argv,
        stdin.as_deref().map(|s| s.as_bytes()),
        chdir.as_deref(),
        &ctx.environment,
    ) {
        Ok(out) => {
            let dt = t0.elapsed();
            let end = LocalTime::now();
            r.insert("start".into(), json!(start.datetime_str()));
            r.insert("end".into(), json!(end.datetime_str()));
            r.insert("delta".into(), json!(timedelta_str(dt)));
            r.insert("rc".into(), json!(out.rc));
            r.insert("stdout".into(), json!(out.stdout));
            r.insert("stderr".into(), json!(out.stderr));
            if out.rc != 0 {
                r.insert(
                    "msg".into(),
                    json!("The command exited with a non-zero return code."),
                );
                r.insert("failed".into(), json!(true));
            }
        }
        Err(e) => {
            // Ansible's run_command: fail_json(rc=..., msg="Error executing command.")
            let mut f = ModuleResult::new();
            f.insert("changed".into(), json!(false));
            f.insert(
                "cmd".into(),
                json!(match &cmd {
                    Cmd::Argv(v) => v.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" "),
                    // Ansible reports the shell command as run_command re-splits it:
                    // with an explicit executable as `exe -c 'cmd'`, else the words of
                    // the command line itself.
                    Cmd::Shell(s) => {
                        let words = match &executable {
                            Some(exe) => vec![exe.clone(), "-c".into(), s.clone()],
                            None => shlex_split(s).unwrap_or_else(|_| vec![s.clone()]),
                        };
                        words.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
                    }
                }),
            );
            f.insert("failed".into(), json!(true));
            f.insert("msg".into(), json!("Error executing command."));
            f.insert("rc".into(), json!(e.raw_os_error().unwrap_or(2)));
            f.insert("stderr".into(), json!(""));
            f.insert("stderr_lines".into(), json!([]));
            f.insert("stdout".into(), json!(""));
            f.insert("stdout_lines".into(), json!([]));
            if let Some(w) = r.get("warnings") {
                f.insert("warnings".into(), w.clone());
            }
            return f;
        }
    }
    finish(r, params.bool("strip_empty_ends"))
}

fn executable_warning(exe: &str) -> String {
    format!(
        "As of Ansible 2.4, the parameter 'executable' is no longer supported with the \
         'command' module. Not using '{exe}'."
    )
}

fn finish(mut r: ModuleResult, strip: bool) -> ModuleResult {
    for k in ["stdout", "stderr"] {
        let mut s = r.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
        if strip {
            s = s.trim_end_matches(['\r', '\n']).to_string();
        }
        r.insert(format!("{k}_lines"), Value::Array(splitlines(&s)));
        r.insert(k.into(), json!(s));
    }
    r
}

/// `raw`: run the string through the shell with no module trimmings.
pub fn raw(host: &dyn Host, args: &Args, ctx: &ModuleContext, module: &str) -> ModuleResult {
    let spec = Spec::new(vec![s("_raw_params"), s("executable")]).one_of(&["_raw_params"]);
    let params = match spec.validate_on(host, module, args) {
        Ok(p) => p,
        Err(e) => return crate::util::Failure::new(e).into_result(),
    };
    let cmd = params.string("_raw_params").unwrap_or_default();
    let mut r = ModuleResult::new();
    if ctx.check_mode {
        r.insert("changed".into(), json!(false));
        r.insert("skipped".into(), json!(true));
        return r;
    }
    let exe = params
        .string("executable")
        .unwrap_or_else(|| "/bin/sh".into());
    match host.exec(&[exe, "-c".into(), cmd], None, None, &ctx.environment) {
        Ok(out) => {
            r.insert("changed".into(), json!(true));
            r.insert("rc".into(), json!(out.rc));
            r.insert("stderr".into(), json!(out.stderr));
            r.insert("stderr_lines".into(), Value::Array(splitlines(&out.stderr)));
            r.insert("stdout".into(), json!(out.stdout));
            r.insert("stdout_lines".into(), Value::Array(splitlines(&out.stdout)));
            if out.rc != 0 {
                r.insert("failed".into(), json!(true));
                r.insert("msg".into(), json!("non-zero return code"));
            }
        }
        Err(e) => {
            r.insert("changed".into(), json!(false));
            r.insert("failed".into(), json!(true));
            r.insert("rc".into(), json!(127));
            r.insert("msg".into(), json!(e.to_string()));
        }
    }
    r
}

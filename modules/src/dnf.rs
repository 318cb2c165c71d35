//! `dnf`, `yum` and `dnf5` on hosts without dnf, where they fail as ansible-core's do:
//! the dnf action (which `yum` is) cannot pick a backend when the host's package
//! manager is not a dnf one; `dnf5` asks dnf to install its Python bindings, which fails
//! when there is no dnf. Hosts with dnf are not supported yet and say so.

use crate::args::{b, i, l, r, s, Spec, Type};
use crate::sysutil::which;
use crate::util::Failure;
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::json;

/// ansible-core's `yumdnf_argument_spec` plus dnf5's `auto_install_module_deps`: the dnf5
/// module validates its arguments before it looks for its Python bindings.
fn dnf5_spec() -> Spec {
    let list = |name: &'static str| l(name).elements(Type::Str).default(json!([]));
    Spec::new(vec![
        b("allow_downgrade").default(false),
        b("allowerasing").default(false),
        b("autoremove").default(false),
        b("best"),
        b("bugfix").default(false),
        b("cacheonly").default(false),
        s("conf_file"),
        s("disable_excludes"),
        b("disable_gpg_check").default(false),
        list("disable_plugin"),
        list("disablerepo"),
        b("download_only").default(false),
        s("download_dir"),
        list("enable_plugin"),
        list("enablerepo"),
        list("exclude"),
        s("installroot").default("/"),
        b("install_weak_deps").default(true),
        s("list"),
        list("name").aliases(&["pkg"]),
        b("nobest"),
        r("releasever"),
        b("security").default(false),
        b("skip_broken").default(false),
        s("state").choices(&["absent", "installed", "latest", "present", "removed"]),
        b("update_cache").default(false).aliases(&["expire-cache"]),
        b("update_only").default(false),
        b("validate_certs").default(true),
        b("sslverify").default(true),
        i("lock_timeout").default(30),
        b("auto_install_module_deps").default(true),
    ])
    .one_of(&["name", "list", "update_cache"])
    .exclusive(&["name", "list"])
    .exclusive(&["best", "nobest"])
}

/// The backends ansible-core's dnf action accepts.
const VALID_BACKENDS: &[&str] = &["yum", "yum4", "dnf", "dnf4", "dnf5"];

pub fn run(args: &Args, ctx: &ModuleContext, m: &str) -> ModuleResult {
    let short = m.rsplit('.').next().unwrap_or(m);
    let have_dnf = which("dnf").is_some() || which("dnf5").is_some();
    let unsupported = || {
        Failure::new(format!(
            "The {short} module is not available natively in play; dnf hosts are not supported yet"
        ))
        .into_result()
    };
    if short == "dnf5" {
        if let Err(e) = dnf5_spec().validate(m, args) {
            return Failure::new(e).into_result();
        }
        return dnf5(ctx).unwrap_or_else(unsupported);
    }
    if args.contains_key("use") && args.contains_key("use_backend") {
        return Failure::new("parameters are mutually exclusive: ('use', 'use_backend')")
            .into_result();
    }
    let backend = args
        .get("use")
        .or_else(|| args.get("use_backend"))
        .and_then(|v| v.as_str())
        .unwrap_or("auto");
    if matches!(backend, "yum" | "auto") {
        let pm = crate::package::detect_pkg_mgr();
        if !pm.is_some_and(|p| VALID_BACKENDS.contains(&p)) {
            let mut f = Failure(serde_json::Map::new());
            f.0.insert("failed".into(), json!(true));
            f.0.insert(
                "msg".into(),
                json!([
                    "Could not detect which major revision of dnf is in use, which is required to determine module backend.",
                    "You should manually specify use_backend to tell the module whether to use the dnf4 or dnf5 backend})"
                ]),
            );
            if let Some(pm) = pm {
                f = f.with("ansible_facts", json!({"pkg_mgr": pm}));
            }
            return f.into_result();
        }
    }
    if backend == "dnf5" {
        return dnf5(ctx).unwrap_or_else(unsupported);
    }
    if have_dnf {
        return unsupported();
    }
    Failure::new(format!(
        "The {short} module is not available on this host: dnf is not installed{}",
        match crate::package::detect_pkg_mgr() {
            Some(p) => format!(" (this host's package manager is {p})"),
            None => String::new(),
        }
    ))
    .into_result()
}

/// The dnf5 module's first step on a host without its bindings: refused in check mode,
/// otherwise `dnf install -y python3-libdnf5`, which cannot run without dnf. None when dnf
/// exists (not supported yet).
fn dnf5(ctx: &ModuleContext) -> Option<ModuleResult> {
    if ctx.check_mode {
        return Some(
            Failure::new(
                "python3-libdnf5 must be installed to use check mode. If run normally this module can auto-install it, see the auto_install_module_deps option.",
            )
            .into_result(),
        );
    }
    if which("dnf").is_some() {
        return None;
    }
    Some(
        Failure::new("Error executing command.")
            .with("cmd", "dnf install -y python3-libdnf5")
            .with("rc", 2)
            .with("stdout", "")
            .with("stderr", "")
            .with("stdout_lines", json!([]))
            .with("stderr_lines", json!([]))
            .into_result(),
    )
}

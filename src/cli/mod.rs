//! The front end: ansible-playbook's command line and configuration, turned into a run.

mod args;
pub mod config;

pub use args::Args;
use clap::Parser;
use config::{to_bool, Config};

use crate::engine::{exit, Options, Run};
use crate::error::{Error, Result};
use crate::inventory::Inventory;
use crate::output::OutputOptions;
use crate::playbook::{Loader, RoleSearch};
use crate::yaml::{self, Kind, Mapping, Node, Span};
use std::path::{Path, PathBuf};

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Run `play` with the process's arguments; returns the exit code.
pub fn main() -> i32 {
    let args = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            use clap::error::ErrorKind;
            let code = match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
                _ => 2,
            };
            let _ = e.print();
            return code;
        }
    };
    let cfg = Config::load();
    if args.version {
        println!("play {VERSION} (ansible-playbook [core 2.21.5] compatible)");
        println!(
            "  config file = {}",
            cfg.file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "None".into())
        );
        return 0;
    }
    if args.playbooks.is_empty() {
        eprintln!("usage: play [options] playbook.yml [playbook2 ...]\nplay: error: the following arguments are required: playbook");
        return 2;
    }
    // A bug must not look like a failed host: report it as Ansible reports an unexpected
    // exception, with its own exit code.
    std::panic::set_hook(Box::new(|info| {
        eprintln!("[ERROR]: Unexpected Exception, this is probably a bug: {info}");
    }));
    match std::panic::catch_unwind(|| run(&args, &cfg)) {
        Ok(Ok(code)) => code,
        Ok(Err((e, code))) => {
            eprintln!("[ERROR]: {}", e.report().trim_end());
            code
        }
        Err(_) => exit::UNEXPECTED,
    }
}

fn err<T>(e: Error, code: i32) -> std::result::Result<T, (Error, i32)> {
    Err((e, code))
}

fn run(args: &Args, cfg: &Config) -> std::result::Result<i32, (Error, i32)> {
    if args.forks == Some(0) {
        eprintln!("usage: play [-h] [--version] [-v] ...\nplay: error: argument -f/--forks: The number of processes (--forks) must be >= 1");
        return Ok(2);
    }
    // Vault secrets come first: inventories, vars files and -e @file may be vaulted.
    if let Err(e) = vault_secrets(args, cfg) {
        flush_warnings();
        return err(Error::new(e), exit::ERROR);
    }

    let opts = options(args, cfg).map_err(|e| {
        let code = if e.general {
            exit::ERROR
        } else {
            exit::PARSE_ERROR
        };
        (e, code)
    })?;
    let verbosity = args.verbose;
    let out_opts = OutputOptions {
        verbosity,
        display_skipped_hosts: cfg
            .bool("defaults", "display_skipped_hosts")
            .unwrap_or(true),
        display_ok_hosts: cfg.bool("defaults", "display_ok_hosts").unwrap_or(true),
        show_custom_stats: cfg.bool("defaults", "show_custom_stats").unwrap_or(false),
        check_mode_markers: cfg.bool("defaults", "check_mode_markers").unwrap_or(false),
        diff: args.diff,
    };
    crate::output::display::show_deprecations(
        cfg.bool("defaults", "deprecation_warnings").unwrap_or(true),
    );
    let callback_name = cfg
        .defaults("stdout_callback")
        .unwrap_or_else(|| "default".into());
    let Some(callback) = crate::output::by_name(&callback_name, out_opts) else {
        return err(
            Error::new(format!(
                "Invalid callback for stdout specified: {callback_name}"
            )),
            exit::ERROR,
        );
    };

    // Inventory.
    let load_opts = crate::inventory::LoadOptions {
        hash_merge: opts.hash_merge,
        unparsed_is_failed: cfg.bool("inventory", "unparsed_is_failed").unwrap_or(false),
        any_unparsed_is_failed: cfg
            .bool("inventory", "any_unparsed_is_failed")
            .unwrap_or(false),
    };
    let (inventory, warnings) = Inventory::load_with(&opts.inventory_sources, &load_opts)
        .map_err(|e| (Error::new(e.to_string()), exit::ERROR))?;
    for w in warnings {
        crate::diag::warn(w);
    }
    if inventory.hosts.is_empty() {
        crate::diag::warn("provided hosts list is empty, only localhost is available. Note that the implicit localhost does not match 'all'");
    }

    // Playbooks.
    let loader = Loader::new(
        RoleSearch {
            roles_path: opts.roles_path.clone(),
            collections_path: opts.collections_path.clone(),
        },
        opts.extra_vars.clone(),
    );
    let mut playbooks = Vec::new();
    for p in &args.playbooks {
        let path = PathBuf::from(p);
        if !path.exists() {
            return err(
                Error::new(format!("the playbook: {p} could not be found")),
                exit::ERROR,
            );
        }
        if !path.is_file() {
            return err(
                Error::new(format!("the playbook: {p} does not appear to be a file")),
                exit::ERROR,
            );
        }
        match loader.load_playbook(&path) {
            Ok(pb) => playbooks.push(pb),
            Err(e) => {
                flush_warnings();
                let code = if e.general {
                    exit::ERROR
                } else {
                    exit::PARSE_ERROR
                };
                return err(e, code);
            }
        }
    }
    flush_warnings_later();

    if args.syntax_check {
        for p in &args.playbooks {
            println!("\nplaybook: {p}");
        }
        return Ok(exit::OK);
    }
    if args.list_hosts || args.list_tasks || args.list_tags {
        return Ok(list(args, &opts, &inventory, &playbooks));
    }

    if verbosity >= 1 {
        match &cfg.file {
            Some(f) => println!("Using {} as config file", f.display()),
            None => println!("No config file found; using defaults"),
        }
    }
    crate::engine::interrupt::install();
    let run = Run::new(opts, inventory, callback, loader);
    crate::engine::interrupt::watch(&run);
    Ok(crate::engine::run_playbooks(&run, &playbooks))
}

/// Read the vault secrets named by the command line and ansible.cfg, and install them.
fn vault_secrets(args: &Args, cfg: &Config) -> std::result::Result<(), String> {
    use crate::vault::secrets::{load, Sources};
    let list = |v: Option<String>| -> Vec<String> {
        v.map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
    };
    let mut sources = Sources {
        vault_ids: list(cfg.defaults("vault_identity_list")),
        password_files: args
            .vault_password_file
            .iter()
            .map(|f| config::expand_user(f))
            .collect(),
        ask: args.ask_vault_pass,
    };
    sources
        .vault_ids
        .extend(args.vault_id.iter().map(|id| match id.split_once('@') {
            Some((label, src)) => format!("{label}@{}", config::expand_user(src)),
            None => config::expand_user(id),
        }));
    if let Some(f) = cfg
        .defaults("vault_password_file")
        .filter(|f| !f.is_empty())
    {
        sources
            .password_files
            .push(cfg.path(&f).display().to_string());
    }
    let secrets = load(&sources, &mut |w| crate::diag::warn(w))?;
    crate::vault::install(secrets);
    Ok(())
}

fn flush_warnings() {
    for w in crate::diag::drain() {
        eprintln!("[WARNING]: {w}");
    }
}

/// Warnings queued while loading are shown by the callback at its first event.
fn flush_warnings_later() {}

fn list(
    args: &Args,
    opts: &Options,
    inventory: &Inventory,
    playbooks: &[crate::playbook::Playbook],
) -> i32 {
    use crate::output::lists::{list_playbook, ListPlay, ListWhat};
    use crate::playbook::scalar_string;
    let what = ListWhat {
        hosts: args.list_hosts,
        tasks: args.list_tasks,
        tags: args.list_tags,
    };
    let mut out = String::new();
    for (pb, given) in playbooks.iter().zip(&args.playbooks) {
        let mut plays = Vec::new();
        for play in &pb.plays {
            let patterns: Vec<String> = match &play.hosts.kind {
                Kind::Seq(items) => items.iter().filter_map(scalar_string).collect(),
                _ => vec![scalar_string(&play.hosts).unwrap_or_default()],
            };
            let pattern = patterns.join(",");
            let name = play
                .name
                .as_ref()
                .and_then(scalar_string)
                .unwrap_or_else(|| pattern.clone());
            let mut hosts = inventory.select(&pattern).unwrap_or_default();
            if !opts.limit.is_empty() {
                let mut allowed = std::collections::HashSet::new();
                for l in &opts.limit {
                    allowed.extend(inventory.select(l).unwrap_or_default());
                }
                hosts.retain(|h| allowed.contains(h));
            }
            let play_tags: Vec<String> = play.kw.tags.iter().filter_map(scalar_string).collect();
            let mut tasks = Vec::new();
            for section in [&play.pre_tasks, &play.roles, &play.tasks, &play.post_tasks] {
                list_items(section, &[], &play_tags, opts, args.list_tasks, &mut tasks);
            }
            plays.push(ListPlay {
                name,
                patterns,
                tags: play_tags,
                hosts,
                tasks,
            });
        }
        out.push_str(&list_playbook(given, &plays, what));
    }
    print!("{out}");
    exit::OK
}

/// Tasks as `--list-tasks` shows them: static imports expanded, tag selection applied.
/// `--list-tags` shows the tags of every task (`filter` off); `--list-tasks` only the
/// tasks the tags select.
fn list_items(
    items: &[crate::playbook::Item],
    inherited: &[String],
    play_tags: &[String],
    opts: &Options,
    filter: bool,
    out: &mut Vec<crate::output::lists::ListTask>,
) {
    use crate::playbook::{scalar_string, Item};
    for it in items {
        match it {
            Item::Task(t) => {
                if t.action == "meta" {
                    continue;
                }
                let mut tags: Vec<String> = inherited.to_vec();
                tags.extend(t.kw.tags.iter().filter_map(scalar_string));
                let mut all: std::collections::HashSet<String> = tags.iter().cloned().collect();
                all.extend(play_tags.iter().cloned());
                if filter && !crate::engine::tags_match(&all, &opts.tags, &opts.skip_tags) {
                    continue;
                }
                let name = t
                    .name
                    .as_ref()
                    .and_then(scalar_string)
                    .unwrap_or_else(|| t.action_written.clone());
                let name = match &t.role {
                    Some(r) => format!("{} : {}", r.name, name),
                    None => name,
                };
                tags.sort();
                tags.dedup();
                out.push(crate::output::lists::ListTask { name, tags });
            }
            Item::Block(b) => {
                let mut tags = inherited.to_vec();
                tags.extend(b.kw.tags.iter().filter_map(scalar_string));
                list_items(&b.block, &tags, play_tags, opts, filter, out);
                list_items(&b.rescue, &tags, play_tags, opts, filter, out);
                list_items(&b.always, &tags, play_tags, opts, filter, out);
            }
        }
    }
}

fn split_list(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

fn options(args: &Args, cfg: &Config) -> Result<Options> {
    let mut o = Options {
        check: args.check,
        diff: args.diff,
        verbosity: args.verbose,
        ..Default::default()
    };
    o.forks = match args
        .forks
        .or_else(|| cfg.defaults("forks").and_then(|f| f.parse().ok()))
    {
        Some(0) => return Err(Error::new("The number of processes (--forks) must be >= 1")),
        Some(f) => f,
        None => 5,
    };
    let tags = split_list(&args.tags);
    o.tags = if tags.is_empty() {
        vec!["all".into()]
    } else {
        tags
    };
    o.skip_tags = split_list(&args.skip_tags);
    o.limit = Vec::new();
    for l in &args.limit {
        if let Some(file) = l.strip_prefix('@') {
            let text = std::fs::read_to_string(file).map_err(|e| {
                Error::new(format!("Unable to find limit file '{file}': {e}")).general()
            })?;
            o.limit.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
        } else {
            o.limit.push(l.clone());
        }
    }
    o.extra_vars = extra_vars(&args.extra_vars)?;
    o.start_at_task = args.start_at_task.clone();
    o.force_handlers =
        args.force_handlers || cfg.bool("defaults", "force_handlers").unwrap_or(false);
    o.error_on_missing_handler = cfg
        .bool("defaults", "error_on_missing_handler")
        .unwrap_or(true);
    o.connection = args
        .connection
        .clone()
        .or_else(|| cfg.defaults("transport"));
    o.remote_user = args.user.clone().or_else(|| cfg.defaults("remote_user"));
    o.become_ = args.become_ || cfg.bool("privilege_escalation", "become").unwrap_or(false);
    o.become_user = args
        .become_user
        .clone()
        .or_else(|| cfg.get("privilege_escalation", "become_user"));
    o.become_method = args
        .become_method
        .clone()
        .or_else(|| cfg.get("privilege_escalation", "become_method"));
    if args.ask_become_pass || cfg.bool("privilege_escalation", "become_ask_pass") == Some(true) {
        o.become_password = Some(read_secret("BECOME password: ").map_err(Error::new)?);
    }
    o.become_allow_same_user = cfg
        .bool("privilege_escalation", "become_allow_same_user")
        .unwrap_or(false);
    o.any_errors_fatal = cfg.bool("defaults", "any_errors_fatal").unwrap_or(false);
    o.no_log = cfg.bool("defaults", "no_log").unwrap_or(false);
    o.gathering = cfg
        .defaults("gathering")
        .unwrap_or_else(|| "implicit".into());
    o.strategy = cfg.defaults("strategy");
    o.fact_path = cfg.defaults("fact_path").map(|p| cfg.path(&p));
    o.hash_merge = cfg
        .defaults("hash_behaviour")
        .map(|h| h == "merge")
        .unwrap_or(false);
    o.roles_path = match cfg.defaults("roles_path") {
        Some(p) => cfg.path_list(&p),
        None => {
            let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
            vec![
                PathBuf::from(format!("{home}/.ansible/roles")),
                PathBuf::from("/usr/share/ansible/roles"),
                PathBuf::from("/etc/ansible/roles"),
            ]
        }
    };
    o.collections_path = match cfg
        .defaults("collections_path")
        .or_else(|| cfg.defaults("collections_paths"))
    {
        Some(p) => cfg.path_list(&p),
        None => {
            let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
            vec![
                PathBuf::from(format!("{home}/.ansible/collections")),
                PathBuf::from("/usr/share/ansible/collections"),
            ]
        }
    };
    o.step = args.step;
    o.flush_cache = args.flush_cache;
    o.force_stages = args.force_stage.clone();
    o.ignore_checkpoints = args.ignore_checkpoints;
    o.list_stages = args.list_stages;
    o.staged = args.staged;
    o.fact_cache = fact_cache(cfg).map(std::sync::Arc::new);
    o.config_file = cfg.file.clone();
    o.inventory_sources = if args.inventory.is_empty() {
        match cfg.defaults("inventory") {
            Some(inv) => inv
                .split(',')
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .map(|s| cfg.path(s).display().to_string())
                .collect(),
            // The built-in default source is skipped quietly when it does not exist.
            None if Path::new("/etc/ansible/hosts").exists() => vec!["/etc/ansible/hosts".into()],
            None => Vec::new(),
        }
    } else {
        args.inventory
            .iter()
            .map(|s| config::expand_user(s))
            .collect()
    };
    o.ssh = crate::connection::params::RunDefaults {
        remote_user: o.remote_user.clone(),
        private_key_file: args
            .private_key
            .clone()
            .or_else(|| cfg.defaults("private_key_file"))
            .map(|p| cfg.path(&p)),
        host_key_checking: cfg.defaults("host_key_checking").map(|v| to_bool(&v)),
        timeout: args
            .timeout
            .or_else(|| cfg.defaults("timeout").and_then(|t| t.parse().ok())),
        remote_tmp: cfg.defaults("remote_tmp"),
        ssh_common_args: args
            .ssh_common_args
            .clone()
            .or_else(|| cfg.get("ssh_connection", "ssh_common_args")),
        ssh_extra_args: args
            .ssh_extra_args
            .clone()
            .or_else(|| cfg.get("ssh_connection", "ssh_extra_args")),
        ..Default::default()
    };
    o.connection_vars = std::sync::Arc::new(connection_vars(&o, cfg));
    Ok(o)
}

/// The fact cache ansible.cfg asks for. Only `jsonfile` persists; a plugin that cannot be
/// used is a warning and facts stay in memory, as with Ansible.
fn fact_cache(cfg: &Config) -> Option<crate::engine::fact_cache::FactCache> {
    use crate::engine::fact_cache::{FactCache, FactCacheOptions};
    let plugin = cfg.defaults("fact_caching")?;
    let name = plugin
        .trim()
        .trim_start_matches("ansible.builtin.")
        .trim_start_matches("ansible.legacy.");
    match name {
        "" | "memory" => return None,
        "jsonfile" => {}
        _ => {
            crate::diag::warn(format!(
                "Unable to load the cache plugin '{}'.",
                plugin.trim()
            ));
            return None;
        }
    }
    let Some(dir) = cfg
        .defaults("fact_caching_connection")
        .filter(|d| !d.trim().is_empty())
    else {
        crate::diag::warn("Required config '_uri' for 'jsonfile' cache plugin not provided.");
        return None;
    };
    let timeout = cfg
        .defaults("fact_caching_timeout")
        .and_then(|t| t.trim().parse::<f64>().ok())
        .map(|t| t.max(0.0) as u64)
        .unwrap_or(86400);
    let opts = FactCacheOptions {
        dir: cfg.path(dir.trim()),
        prefix: cfg.defaults("fact_caching_prefix").unwrap_or_default(),
        timeout,
    };
    match FactCache::open(opts) {
        Ok(c) => Some(c),
        Err(e) => {
            crate::diag::warn(e);
            None
        }
    }
}

/// `-e` values: `@file`, a YAML/JSON mapping, or `k=v` pairs; later ones override.
fn extra_vars(values: &[String]) -> Result<Mapping> {
    let mut out = Mapping::default();
    for (i, v) in values.iter().enumerate() {
        let name = format!("<extra vars #{}>", i + 1);
        let doc: Node = if let Some(file) = v.strip_prefix('@') {
            let path = Path::new(file);
            if !path.exists() {
                return Err(Error::new(format!(
                    "Unable to retrieve file contents\nCould not find or access '{file}'"
                ))
                .general());
            }
            let docs = yaml::load_file(path).map_err(Error::from)?;
            docs.into_iter()
                .next()
                .unwrap_or_else(|| Node::null(Span::synthetic(file)))
        } else if v.trim_start().starts_with('{') || v.trim_start().starts_with('[') {
            let docs = yaml::load_str(v, &name).map_err(|e| Error::new(format!("Invalid extra vars data supplied. '{v}' could not be made into a dictionary: {}", e.message)))?;
            docs.into_iter()
                .next()
                .unwrap_or_else(|| Node::null(Span::synthetic(&name)))
        } else {
            let span = Span::synthetic(&name);
            let mut m = Mapping::default();
            for (k, val) in crate::playbook::parse_kv(v, false, &[]) {
                m.insert(k, span.clone(), Node::string(val, span.clone()));
            }
            Node::new(Kind::Map(m), span)
        };
        match doc.kind {
            Kind::Map(m) => {
                for (k, e) in m.entries {
                    out.entries.insert(k, e);
                }
            }
            Kind::Null => {}
            _ => {
                return Err(Error::new(format!(
                    "Invalid extra vars data supplied. '{v}' could not be made into a dictionary"
                )))
            }
        }
    }
    Ok(out)
}

/// Ask for a secret as Ansible's getpass does: on the terminal without echo, or as one
/// line of standard input when there is no terminal.
fn read_secret(prompt: &str) -> Result<String, String> {
    if std::fs::File::open("/dev/tty").is_ok() {
        return rpassword::prompt_password(prompt)
            .map_err(|e| format!("cannot read the password from the terminal: {e}"));
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// The run's connection settings as the variables Ansible's play context gives a task
/// that sets none of its own: each under its names, only when it has a value.
fn connection_vars(
    o: &Options,
    cfg: &config::Config,
) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::json;
    let timeout = o.ssh.timeout.unwrap_or(10);
    let pipelining = cfg
        .bool("ssh_connection", "pipelining")
        .or_else(|| cfg.bool("connection", "pipelining"))
        .unwrap_or(false);
    let settings = [
        (
            Some(json!(o.connection.clone().unwrap_or_else(|| "ssh".into()))),
            &["ansible_connection"][..],
        ),
        (
            Some(json!(cfg
                .defaults("module_compression")
                .unwrap_or_else(|| "ZIP_DEFLATED".into()))),
            &["ansible_module_compression"],
        ),
        (
            Some(json!(cfg
                .defaults("executable")
                .unwrap_or_else(|| "/bin/sh".into()))),
            &["ansible_shell_executable"],
        ),
        (
            o.remote_user.clone().map(|u| json!(u)),
            &[
                "ansible_user",
                "ansible_ssh_user",
                "ansible_connection_user",
            ],
        ),
        (
            cfg.defaults("remote_port")
                .and_then(|p| p.parse::<u64>().ok())
                .map(|p| json!(p)),
            &["ansible_port", "ansible_ssh_port"],
        ),
        (
            Some(json!(pipelining)),
            &["ansible_pipelining", "ansible_ssh_pipelining"],
        ),
        (
            Some(json!(timeout)),
            &["ansible_timeout", "ansible_ssh_timeout"],
        ),
        (
            o.ssh
                .private_key_file
                .as_ref()
                .map(|p| json!(p.display().to_string())),
            &["ansible_private_key_file", "ansible_ssh_private_key_file"],
        ),
    ];
    let mut m = serde_json::Map::new();
    for (value, names) in settings {
        if let Some(v) = value {
            for n in names {
                m.insert((*n).to_string(), v.clone());
            }
        }
    }
    m
}

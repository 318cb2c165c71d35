use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::support::*;
use serde_json::Value;

const DEFAULT_COMPARE: &[&str] = &["exit", "recap", "json", "files"];
const VOLATILE_KEYS: &[&str] = &[
    "start", "end", "delta", "atime", "mtime", "ctime", "inode", "dev",
];
/// Keys dropped from dumped JSON: `invocation` echoes the module's arguments with every
/// default filled in, which `play` does not do (README, "Known differences").
const DROPPED_KEYS: &[&str] = &["invocation"];

pub struct Case {
    pub name: String,
    /// File or directory to copy into the working copy.
    pub source: PathBuf,
    /// Playbook path relative to the working copy.
    pub playbook: String,
    pub opts: Opts,
}

#[derive(Default, Clone)]
pub struct Opts {
    pub args: Vec<String>,
    pub inventory: Option<String>,
    pub env: Vec<(String, String)>,
    pub compare: Option<Vec<String>>,
    pub timeout: Option<u64>,
    /// Cases naming the same lock never run at once (they share machine state such as
    /// the dpkg database), not even from two test processes.
    pub lock: Option<String>,
}

/// Everything one run produced, normalised.
struct Observed {
    code: Option<i32>,
    timed_out: bool,
    recap: BTreeMap<String, String>,
    out_files: BTreeMap<String, String>,
    work_files: BTreeMap<String, String>,
    stdout: String,
    raw_output: String,
}

fn parse_opts(text: &str, name: &str) -> Opts {
    let mut opts = Opts::default();
    for line in text.lines() {
        let Some(rest) = line.trim_start().strip_prefix("# play-diff:") else {
            continue;
        };
        for item in rest.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) = item.split_once('=').unwrap_or((item, ""));
            let value = value.trim();
            match key.trim() {
                "args" => opts.args.extend(value.split_whitespace().map(String::from)),
                "inventory" => opts.inventory = Some(value.to_string()),
                "playbook" => {} // read by load_cases
                "env" => {
                    for kv in value.split_whitespace() {
                        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                        opts.env.push((k.to_string(), v.to_string()));
                    }
                }
                "compare" => {
                    opts.compare = Some(value.split(',').map(|s| s.trim().to_string()).collect())
                }
                "timeout" => opts.timeout = Some(value.parse().expect("timeout= takes seconds")),
                "lock" => opts.lock = Some(value.to_string()),
                other => panic!("case {name}: unknown play-diff option {other:?}"),
            }
        }
    }
    for what in opts.compare.iter().flatten() {
        assert!(
            ["exit", "recap", "json", "files", "stdout", "error"].contains(&what.as_str()),
            "case {name}: unknown compare= item {what:?}"
        );
    }
    opts
}

fn header_value(text: &str, key: &str) -> Option<String> {
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix("# play-diff:"))
        .flat_map(|rest| rest.split(';'))
        .filter_map(|item| item.trim().split_once('='))
        .find(|(k, _)| k.trim() == key)
        .map(|(_, v)| v.trim().to_string())
}

/// Every case under `dir` (files `*.yml` and directories), sorted by name.
pub fn load_cases(dir: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let file_name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            let site = path.join("site.yml");
            let text = fs::read_to_string(&site).unwrap_or_default();
            let playbook = header_value(&text, "playbook").unwrap_or_else(|| "site.yml".into());
            let pb_text = fs::read_to_string(path.join(&playbook))
                .unwrap_or_else(|e| panic!("case {file_name}: cannot read {playbook}: {e}"));
            let mut opts = parse_opts(&pb_text, &file_name);
            if opts.inventory.is_none() && path.join("inventory").exists() {
                opts.inventory = Some("inventory".into());
            }
            cases.push(Case {
                name: file_name,
                source: path,
                playbook,
                opts,
            });
        } else if let Some(stem) = file_name.strip_suffix(".yml") {
            let text = fs::read_to_string(&path).unwrap();
            let opts = parse_opts(&text, stem);
            cases.push(Case {
                name: stem.to_string(),
                source: path,
                playbook: file_name.clone(),
                opts,
            });
        }
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

/// `name: reason` lines of a known-gaps file.
pub fn load_known_gaps(file: &Path) -> BTreeMap<String, String> {
    let text = fs::read_to_string(file).unwrap_or_default();
    let shown = file
        .strip_prefix(repo_root())
        .unwrap_or(file)
        .display()
        .to_string();
    let mut gaps = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, reason) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("{shown}:{}: expected `name: reason`", i + 1));
        assert!(
            !reason.trim().is_empty(),
            "{shown}:{}: a reason is required",
            i + 1
        );
        gaps.insert(name.trim().to_string(), reason.trim().to_string());
    }
    gaps
}

struct Scrubber {
    work: String,
    out: String,
    extra: Vec<(String, String)>,
    ansible_tmp: regex::Regex,
}

impl Scrubber {
    fn new(work: &Path, out: &Path, extra: &[(String, String)]) -> Self {
        Scrubber {
            work: work.display().to_string(),
            out: out.display().to_string(),
            extra: extra.to_vec(),
            ansible_tmp: regex::Regex::new(r#"/[^\s"',]*/\.ansible/tmp/[^\s"',]*"#).unwrap(),
        }
    }
    fn text(&self, s: &str) -> String {
        let mut s = s.replace(&self.work, "<work>").replace(&self.out, "<out>");
        for (from, to) in &self.extra {
            s = s.replace(from.as_str(), to);
        }
        self.ansible_tmp
            .replace_all(&s, "<ansible-tmp>")
            .into_owned()
    }
    fn json(&self, v: &mut Value) {
        match v {
            Value::String(s) => *s = self.text(s),
            Value::Array(items) => items.iter_mut().for_each(|i| self.json(i)),
            Value::Object(map) => {
                map.retain(|k, _| !DROPPED_KEYS.contains(&k.as_str()));
                for (k, item) in map.iter_mut() {
                    if VOLATILE_KEYS.contains(&k.as_str()) {
                        *item = Value::String("<volatile>".into());
                    } else {
                        self.json(item);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Stdout without what differs legitimately between two correct runs.
fn normalise_stdout(s: &str) -> String {
    let mut out = String::new();
    let mut skipping_warning = false;
    for line in s.lines() {
        // Warnings, and at -vv the version banner (paths of the installation) and the
        // callback plugins Ansible passes over.
        if line.starts_with("[WARNING]")
            || line.starts_with("[DEPRECATION WARNING]")
            || line.starts_with("ansible-playbook [core ")
        {
            skipping_warning = true;
            continue;
        }
        if line.starts_with("Skipping callback '") {
            continue;
        }
        // their continuation lines are indented
        if skipping_warning && line.starts_with(' ') {
            continue;
        }
        skipping_warning = false;
        out.push_str(line.trim_end_matches(['*', ' ']));
        out.push('\n');
    }
    out
}

fn run_once(suite: &Suite, case: &Case, program: &Path, scratch: &Path) -> Observed {
    let work = scratch.join("work");
    let out = scratch.join("out");
    fs::create_dir_all(&out).unwrap();
    if case.source.is_dir() {
        copy_tree(&case.source, &work).unwrap();
    } else {
        fs::create_dir_all(&work).unwrap();
        fs::copy(&case.source, work.join(&case.playbook)).unwrap();
    }
    let mut cmd = Command::new(program);
    cmd.current_dir(&work);
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("ANSIBLE_") {
            cmd.env_remove(&k);
        }
    }
    cmd.env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_LOCALHOST_WARNING", "false")
        .env("ANSIBLE_INVENTORY_UNPARSED_WARNING", "false")
        .env("ANSIBLE_RETRY_FILES_ENABLED", "false")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("LC_ALL", "C.UTF-8");
    cmd.arg(&case.playbook);
    let inventory = (suite.transport)(case, &work, &mut cmd);
    for (k, v) in &case.opts.env {
        cmd.env(k, v);
    }
    if let Some(inv) = inventory.or_else(|| case.opts.inventory.clone()) {
        cmd.arg("-i").arg(inv);
    }
    cmd.arg("-e").arg(format!("out_dir={}", out.display()));
    cmd.args(&case.opts.args);
    let timeout = Duration::from_secs(case.opts.timeout.unwrap_or(120));
    let o = run_with_timeout(cmd, scratch, timeout);

    let scrub = Scrubber::new(&work, &out, &suite.scrub);
    let mut out_files = BTreeMap::new();
    for (rel, desc) in snapshot_tree(&out, &|s| s.to_string()) {
        let path = out.join(&rel);
        if !path.is_file() {
            out_files.insert(rel, desc);
            continue;
        }
        let text = String::from_utf8_lossy(&fs::read(&path).unwrap()).into_owned();
        let shown = match serde_json::from_str::<Value>(&text) {
            Ok(mut v) => {
                scrub.json(&mut v);
                serde_json::to_string_pretty(&v).unwrap()
            }
            Err(_) => scrub.text(&text),
        };
        out_files.insert(rel, shown);
    }
    Observed {
        code: o.code,
        timed_out: o.timed_out,
        recap: parse_recap(&o.stdout),
        out_files,
        work_files: snapshot_tree(&work, &|s| scrub.text(s)),
        stdout: normalise_stdout(&scrub.text(&o.stdout)),
        raw_output: format!("{}\n{}", scrub.text(&o.stdout), scrub.text(&o.stderr)),
    }
}

fn show_map(m: &BTreeMap<String, String>) -> String {
    m.iter().map(|(k, v)| format!("{k}: {v}\n")).collect()
}

/// Compare two runs; an empty list means they agree.
fn compare(case: &Case, want: &Observed, got: &Observed) -> Vec<String> {
    let items: Vec<String> = match &case.opts.compare {
        Some(c) => c.clone(),
        None => DEFAULT_COMPARE.iter().map(|s| s.to_string()).collect(),
    };
    let origin = regex::Regex::new(r"Origin: (?:<work>/)?(\S+?):(\d+)(?::\d+)?").unwrap();
    let mut problems = Vec::new();
    if got.timed_out {
        problems.push("play timed out".to_string());
    }
    for item in &items {
        match item.as_str() {
            "exit" if want.code != got.code => problems.push(format!(
                "exit code: ansible {:?}, play {:?}",
                want.code, got.code
            )),
            "recap" if want.recap != got.recap => problems.push(format!(
                "recap differs:\n{}",
                line_diff(&show_map(&want.recap), &show_map(&got.recap))
            )),
            "json" if want.out_files != got.out_files => {
                let names: BTreeSet<&String> =
                    want.out_files.keys().chain(got.out_files.keys()).collect();
                for name in names {
                    let (a, b) = (want.out_files.get(name), got.out_files.get(name));
                    if a != b {
                        problems.push(format!(
                            "out_dir/{name} differs:\n{}",
                            line_diff(a.map_or("<missing>", |s| s), b.map_or("<missing>", |s| s))
                        ));
                    }
                }
            }
            "files" if want.work_files != got.work_files => problems.push(format!(
                "files left in the working copy differ:\n{}",
                line_diff(&show_map(&want.work_files), &show_map(&got.work_files))
            )),
            "stdout" if want.stdout != got.stdout => problems.push(format!(
                "stdout differs:\n{}",
                line_diff(&want.stdout, &got.stdout)
            )),
            "error" => match origin.captures(&want.raw_output) {
                None => problems
                    .push("compare=error but ansible reported no `Origin: file:line`".into()),
                Some(c) => {
                    let needle = format!("{}:{}", &c[1], &c[2]);
                    if !got.raw_output.contains(&needle) {
                        problems.push(format!("play's error output does not name {needle}"));
                    }
                }
            },
            _ => {}
        }
    }
    if !problems.is_empty() {
        let tail: String = {
            let lines: Vec<&str> = got.raw_output.lines().collect();
            lines[lines.len().saturating_sub(15)..].join("\n")
        };
        problems.push(format!("play's output (last lines):\n{tail}"));
    }
    problems
}

/// Decides how a run reaches its hosts: called with the working copy in place and the
/// command holding the program and the playbook; adds the transport's arguments and
/// environment, and returns the inventory to pass instead of the case's own (if any).
pub type Transport<'a> = dyn Fn(&Case, &Path, &mut Command) -> Option<String> + Sync + 'a;

/// One differential suite: cases, the known-gaps file, the transport.
pub struct Suite<'a> {
    /// Used in progress lines and messages ("differential", "ssh differential").
    pub label: &'a str,
    pub cases: Vec<Case>,
    pub gaps_file: PathBuf,
    pub transport: &'a Transport<'a>,
    /// More `(text, placeholder)` replacements for every compared string.
    pub scrub: Vec<(String, String)>,
}

/// Whether the oracle is there; `false` means skip (PLAY_SKIP_DIFFERENTIAL=1), and a
/// missing oracle without it is a failure.
pub fn oracle_present(label: &str) -> bool {
    let oracle = ansible_playbook();
    if oracle.exists() {
        return true;
    }
    if std::env::var("PLAY_SKIP_DIFFERENTIAL").as_deref() == Ok("1") {
        eprintln!(
            "{label}: skipped (no {}; PLAY_SKIP_DIFFERENTIAL=1)",
            oracle.display()
        );
        return false;
    }
    panic!(
        "{label}: the oracle {} is missing. Run scripts/venv.sh (or scripts/test.sh) to \
         create ./.venv with ansible==14.5.0, or set PLAY_SKIP_DIFFERENTIAL=1 to skip.",
        oracle.display()
    );
}

/// An exclusive flock on /tmp/play-diff-<name>.lock, held until the file is dropped.
fn machine_lock(name: &str) -> fs::File {
    use std::os::fd::AsRawFd;
    let path = std::env::temp_dir().join(format!("play-diff-{name}.lock"));
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    // SAFETY: flock on a descriptor this function owns; it blocks until the lock is free.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(rc, 0, "flock {}", path.display());
    file
}

/// Run every selected case of `suite` through the oracle and the subject, print a table,
/// and fail on an unexpected failure or on a listed gap that passes.
pub fn run_suite(suite: &Suite) {
    let oracle = ansible_playbook();
    let label = suite.label;
    let subject = std::env::var_os("PLAY_DIFF_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_play")));
    let filter = std::env::var("PLAY_DIFF_FILTER").ok();
    let jobs: usize = std::env::var("PLAY_DIFF_JOBS")
        .ok()
        .and_then(|j| j.parse().ok())
        .unwrap_or(2)
        .max(1);
    let gaps = load_known_gaps(&suite.gaps_file);
    let gaps_name = suite
        .gaps_file
        .strip_prefix(repo_root())
        .unwrap_or(&suite.gaps_file)
        .display()
        .to_string();
    for name in gaps.keys() {
        assert!(
            suite.cases.iter().any(|c| &c.name == name),
            "{gaps_name} names {name:?}, which is not a case"
        );
    }
    let cases: Vec<&Case> = suite
        .cases
        .iter()
        .filter(|c| {
            filter
                .as_ref()
                .is_none_or(|f| f.split(',').any(|f| c.name.contains(f.trim())))
        })
        .collect();
    if cases.is_empty() {
        // A filter meant for another suite of the same binary selects nothing here.
        assert!(filter.is_some(), "no {label} cases in the corpus");
        eprintln!("{label}: no case matches PLAY_DIFF_FILTER");
        return;
    }

    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(String, Vec<String>)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs.min(cases.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(case) = cases.get(i) else { break };
                let _lock = case.opts.lock.as_deref().map(machine_lock);
                let began = std::time::Instant::now();
                let scratch = tempfile::tempdir().unwrap();
                let (a, b) = (scratch.path().join("ansible"), scratch.path().join("play"));
                fs::create_dir_all(&a).unwrap();
                fs::create_dir_all(&b).unwrap();
                let want = run_once(suite, case, &oracle, &a);
                let oracle_time = began.elapsed();
                let mut problems = Vec::new();
                if want.timed_out {
                    problems.push("ansible-playbook itself timed out".to_string());
                }
                let got = run_once(suite, case, &subject, &b);
                problems.extend(compare(case, &want, &got));
                let mut results = results.lock().unwrap();
                eprintln!(
                    "{label} [{}/{}] {} {} (ansible {:.1}s, play {:.1}s)",
                    results.len() + 1,
                    cases.len(),
                    case.name,
                    if problems.is_empty() { "ok" } else { "differs" },
                    oracle_time.as_secs_f64(),
                    (began.elapsed() - oracle_time).as_secs_f64()
                );
                results.push((case.name.clone(), problems));
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by(|a, b| a.0.cmp(&b.0));

    let mut table = String::new();
    let mut details = String::new();
    let (mut unexpected_fail, mut unexpected_pass, mut passed) = (Vec::new(), Vec::new(), 0);
    for (name, problems) in &results {
        let known = gaps.contains_key(name);
        let status = match (problems.is_empty(), known) {
            (true, false) => {
                passed += 1;
                "pass".to_string()
            }
            (true, true) => {
                unexpected_pass.push(name.clone());
                format!("PASS (listed in {gaps_name}: remove it)")
            }
            (false, true) => "known gap".to_string(),
            (false, false) => {
                unexpected_fail.push(name.clone());
                "FAIL".to_string()
            }
        };
        table.push_str(&format!("  {name:<40} {status}\n"));
        if !problems.is_empty() && !known {
            details.push_str(&format!("\n=== {name} ===\n{}\n", problems.join("\n")));
        }
    }
    eprintln!(
        "{label} results ({} cases, {passed} pass, {} known gaps):\n{table}",
        results.len(),
        results.iter().filter(|(n, _)| gaps.contains_key(n)).count()
    );
    if !details.is_empty() {
        eprintln!("{details}");
    }
    if std::env::var("PLAY_DIFF_SHOW_GAPS").as_deref() == Ok("1") {
        for (name, problems) in &results {
            if !problems.is_empty() && gaps.contains_key(name) {
                eprintln!("\n=== {name} (known gap) ===\n{}", problems.join("\n"));
            }
        }
    }
    assert!(
        unexpected_fail.is_empty() && unexpected_pass.is_empty(),
        "{label}: {} unexpected failures {:?}; {} listed in {gaps_name} but passing {:?}",
        unexpected_fail.len(),
        unexpected_fail,
        unexpected_pass.len(),
        unexpected_pass
    );
}

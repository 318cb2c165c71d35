//! Differential tests: every playbook under tests/diff/ runs through the real
//! `ansible-playbook` (the oracle, from ./.venv) and through `play`, each in its own fresh
//! copy of the case, and the two runs must agree.
//!
//! The same runs cover the module matrix in tests/diff_modules/ (its own KNOWN_GAPS).
//!
//! A case is `tests/diff/<name>.yml` or a directory `tests/diff/<name>/` holding `site.yml`
//! (plus whatever inventory, roles, files it needs). Both runs get
//! `-c local -e out_dir=<fresh dir>`; an `inventory` file in the case is passed with `-i`.
//!
//! Options live in header comments of the playbook, `;`-separated, several lines allowed:
//!   # play-diff: args=--check --diff; compare=exit,recap,stdout; timeout=60
//!   args=...       extra command-line arguments (split on whitespace)
//!   inventory=F    inventory file in the case (default: `inventory` if present)
//!   playbook=F     playbook of a directory case (default: site.yml)
//!   env=K=V K2=V2  extra environment for both runs
//!   compare=...    what must agree (default exit,recap,json,files):
//!                  exit   the exit code
//!                  recap  PLAY RECAP counts per host
//!                  json   every file written under out_dir (JSON compared as data)
//!                  files  the files left in the working copy (path, mode, content)
//!                  stdout stdout without warnings and header padding
//!                  error  the first `Origin: file:line` Ansible reports must appear
//!                         (as `file:line`) in play's output
//!   timeout=S      per-run timeout in seconds (default 120)
//!   lock=NAME      cases naming the same lock never run at once (shared machine state)
//!
//! Normalisation (the whole list): in JSON, the values of the keys start, end, delta,
//! atime, mtime, ctime, inode and dev become "<volatile>" and `invocation` is dropped; in every string the working
//! copy path becomes <work>, out_dir becomes <out>, and paths under ~/.ansible/tmp become
//! <ansible-tmp>. Stdout drops warnings, the -vv version banner and "Skipping callback"
//! lines.
//!
//! tests/diff/KNOWN_GAPS lists `name: reason` for cases that fail today. The test fails
//! when an unlisted case fails or a listed case passes. Environment knobs:
//!   PLAY_SKIP_DIFFERENTIAL=1  skip when the venv is missing (otherwise that is a failure)
//!   PLAY_DIFF_FILTER=a,b      only cases whose name contains `a` or `b`
//!   PLAY_DIFF_JOBS=N          parallel cases (default 2)
//!   PLAY_DIFF_BIN=path        binary under test instead of `play` (pointing it at
//!                             ansible-playbook checks that the corpus is deterministic)

mod diffcore;
mod support;

use std::process::Command;

/// Runs one corpus directory of tests/ with the local connection. The suites of this
/// binary take turns: each already runs PLAY_DIFF_JOBS cases at once.
fn run_local(label: &str, corpus: &str) {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    if !diffcore::oracle_present(label) {
        return;
    }
    let local = |_: &diffcore::Case, _: &std::path::Path, cmd: &mut Command| {
        cmd.env("ANSIBLE_PYTHON_INTERPRETER", support::venv_python())
            .arg("-c")
            .arg("local");
        None
    };
    let dir = support::repo_root().join("tests").join(corpus);
    diffcore::run_suite(&diffcore::Suite {
        label,
        cases: diffcore::load_cases(&dir),
        gaps_file: dir.join("KNOWN_GAPS"),
        transport: &local,
        scrub: Vec::new(),
    });
}

#[test]
fn differential() {
    run_local("differential", "diff");
}

/// The module matrix (tests/diff_modules/README.md): one case per native module.
#[test]
fn module_differential() {
    run_local("module differential", "diff_modules");
}

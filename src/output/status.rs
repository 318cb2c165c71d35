//! The live status line: on a terminal, the last line of the screen shows the task under way
//! and how many hosts are done, running and failed, redrawn as hosts finish. It is never
//! drawn when stdout is not a terminal, when `CI` is set, or for machine-readable callbacks,
//! so logs and pipes get exactly Ansible's output.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

struct Live {
    bar: ProgressBar,
    task: Mutex<String>,
    total: AtomicUsize,
    running: AtomicUsize,
    done: AtomicUsize,
    failed: AtomicUsize,
}

static LIVE: OnceLock<Option<Live>> = OnceLock::new();

/// Turn the line on if stdout is a terminal and this is not CI. Called once, by the default
/// callback; without it every function here does nothing.
pub fn enable() {
    LIVE.get_or_init(|| {
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false");
        if ci || !std::io::stdout().is_terminal() {
            return None;
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stdout());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Some(Live {
            bar,
            task: Mutex::new(String::new()),
            total: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
        })
    });
}

fn live() -> Option<&'static Live> {
    LIVE.get().and_then(Option::as_ref)
}

/// The text of the line (also what the tests look for).
pub fn line(task: &str, total: usize, done: usize, running: usize, failed: usize) -> String {
    format!("{task}: {done}/{total} hosts done, {running} running, {failed} failed")
}

fn redraw(l: &Live) {
    let task = l.task.lock().unwrap_or_else(|e| e.into_inner()).clone();
    l.bar.set_message(line(
        &task,
        l.total.load(Ordering::SeqCst),
        l.done.load(Ordering::SeqCst),
        l.running.load(Ordering::SeqCst),
        l.failed.load(Ordering::SeqCst),
    ));
}

/// A task starts on `hosts` hosts.
pub fn task(name: &str, hosts: usize) {
    if let Some(l) = live() {
        *l.task.lock().unwrap_or_else(|e| e.into_inner()) = name.to_string();
        l.total.store(hosts, Ordering::SeqCst);
        l.done.store(0, Ordering::SeqCst);
        l.failed.store(0, Ordering::SeqCst);
        redraw(l);
    }
}

pub fn host_started() {
    if let Some(l) = live() {
        l.running.fetch_add(1, Ordering::SeqCst);
        redraw(l);
    }
}

pub fn host_finished(failed: bool) {
    if let Some(l) = live() {
        let _ = l
            .running
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        l.done.fetch_add(1, Ordering::SeqCst);
        if failed {
            l.failed.fetch_add(1, Ordering::SeqCst);
        }
        redraw(l);
    }
}

/// Write to the screen with the line out of the way (it is drawn again after).
pub fn suspend<R>(f: impl FnOnce() -> R) -> R {
    match live() {
        Some(l) => l.bar.suspend(f),
        None => f(),
    }
}

/// The run is over: take the line off the screen.
pub fn finish() {
    if let Some(l) = live() {
        l.bar.finish_and_clear();
    }
}

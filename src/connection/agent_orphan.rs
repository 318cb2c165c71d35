//! What an agent does when its controller goes away (Ctrl-C, a killed `play`, a dropped
//! connection): its request stream ends, and the module it is running is stopped with
//! everything it started, so nothing of the run goes on on the target. Async jobs are not
//! touched: they run in sessions of their own, made to outlive the controller.
//!
//! The agent leads a process group of its own; the commands its modules run stay in it.
//! When the stream ends mid-request the group gets SIGTERM (the way a terminal's Ctrl-C
//! reaches a foreground job), which the agent itself passes over, and after a grace period
//! whatever is left gets SIGKILL.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long the module's processes get to end after SIGTERM.
const GRACE: Duration = Duration::from_secs(5);

/// Whether a request is being handled.
static BUSY: AtomicBool = AtomicBool::new(false);
/// Whether the controller is gone: no request may start any more.
static GONE: AtomicBool = AtomicBool::new(false);

/// SIGTERM: the one the agent sends its own group passes over it; from anyone else it
/// ends the agent, and takes the module's processes with it.
extern "C" fn on_term(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo with SA_SIGINFO; getpid, kill and _exit are
    // async-signal-safe, and the group is the agent's own (lead_group installs this).
    unsafe {
        if info.is_null() || (*info).si_pid() != libc::getpid() {
            libc::kill(0, libc::SIGTERM);
            libc::_exit(128 + libc::SIGTERM);
        }
    }
}

/// Make the agent the leader of a process group of its own, and let SIGTERM sent to that
/// group pass over the agent. Returns whether the group is the agent's alone to signal.
pub fn lead_group() -> bool {
    // SAFETY: setpgid/getpgrp/getpid/sigaction on this process; the handler only calls
    // async-signal-safe functions, and exec resets it to the default in the children.
    unsafe {
        // A session leader (the agent sshd started) fails with EPERM and leads its group
        // already.
        libc::setpgid(0, 0);
        if libc::getpgrp() != libc::getpid() {
            return false;
        }
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_term as *const () as libc::sighandler_t;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
        libc::sigaction(libc::SIGTERM, &action, std::ptr::null_mut());
    }
    true
}

/// Run `handle` for one request unless the controller is gone (then `None`).
pub fn serving<T>(handle: impl FnOnce() -> T) -> Option<T> {
    BUSY.store(true, Ordering::SeqCst);
    if GONE.load(Ordering::SeqCst) {
        BUSY.store(false, Ordering::SeqCst);
        return None;
    }
    let out = handle();
    BUSY.store(false, Ordering::SeqCst);
    Some(out)
}

/// The request stream has ended: stop the request under way, if any, and its processes.
/// `own_group` is what [`lead_group`] answered.
pub fn controller_gone(own_group: bool) {
    GONE.store(true, Ordering::SeqCst);
    if !BUSY.load(Ordering::SeqCst) || !own_group {
        return;
    }
    // SAFETY: signalling this agent's own process group (checked by lead_group).
    unsafe { libc::kill(0, libc::SIGTERM) };
    let deadline = Instant::now() + GRACE;
    while BUSY.load(Ordering::SeqCst) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if BUSY.load(Ordering::SeqCst) {
        // SAFETY: as above; this ends the agent too, which has no one left to answer.
        unsafe { libc::kill(0, libc::SIGKILL) };
    }
}

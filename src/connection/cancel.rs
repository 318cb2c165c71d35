//! Giving up on a request under way: the engine's `timeout` keyword abandons an action
//! running on a thread of its own, and the SSH transport must then stop waiting for the
//! agent and stop the module on the target (the agent stops its module's processes when
//! its request stream ends). The action's thread carries the token; the transport reads it.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Set once, when the action is abandoned.
#[derive(Default)]
pub struct Cancel {
    fired: AtomicBool,
    notify: tokio::sync::Notify,
}

impl Cancel {
    pub fn fire(&self) {
        self.fired.store(true, Ordering::SeqCst);
        // A stored permit wakes a waiter that starts waiting later, too.
        self.notify.notify_one();
    }

    pub fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }

    /// Resolves once fired.
    pub async fn wait(&self) {
        while !self.fired() {
            self.notify.notified().await;
        }
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<Cancel>>> = const { RefCell::new(None) };
}

/// Run `f` with `token` as this thread's cancellation token.
pub fn with<T>(token: Arc<Cancel>, f: impl FnOnce() -> T) -> T {
    CURRENT.with(|c| *c.borrow_mut() = Some(token));
    let out = f();
    CURRENT.with(|c| *c.borrow_mut() = None);
    out
}

/// Resolves when this thread's token fires; never when it has none.
pub async fn requested(token: Option<Arc<Cancel>>) {
    match token {
        Some(t) => t.wait().await,
        None => std::future::pending().await,
    }
}

/// This thread's token.
pub fn current() -> Option<Arc<Cancel>> {
    CURRENT.with(|c| c.borrow().clone())
}

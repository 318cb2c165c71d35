//! Warnings raised deep in loaders (duplicate YAML keys, unparsed inventory sources) are
//! collected here and shown by the output callback at the next opportunity, in order.

use std::sync::Mutex;

static WARNINGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Queue a warning for display (`[WARNING]: ...`).
pub fn warn(msg: impl Into<String>) {
    WARNINGS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(msg.into());
}

/// Take every queued warning, oldest first.
pub fn drain() -> Vec<String> {
    std::mem::take(&mut *WARNINGS.lock().unwrap_or_else(|e| e.into_inner()))
}

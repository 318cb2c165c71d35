//! The json stdout callback: Ansible's `json` callback structure, printed at the end.

use super::{Callback, OutputOptions};

pub struct JsonCallback {
    #[allow(dead_code)]
    opts: OutputOptions,
}

impl JsonCallback {
    pub fn new(opts: OutputOptions) -> Self {
        JsonCallback { opts }
    }
}

impl Callback for JsonCallback {}

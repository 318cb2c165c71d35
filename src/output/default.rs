//! The default stdout callback: ansible-playbook's human output.

use super::{Callback, OutputOptions};

pub struct DefaultCallback {
    #[allow(dead_code)]
    opts: OutputOptions,
}

impl DefaultCallback {
    pub fn new(opts: OutputOptions) -> Self {
        DefaultCallback { opts }
    }
}

impl Callback for DefaultCallback {}

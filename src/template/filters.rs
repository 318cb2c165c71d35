//! Ansible's filters (ansible.builtin and the common ones roles use), one small function each.

use minijinja::Environment;

pub fn register(_env: &mut Environment<'static>) {}

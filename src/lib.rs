//! `play`: a drop-in runner for Ansible playbooks with native modules.

pub mod diag;
pub mod inventory;
pub mod output;
pub mod template;
pub mod yaml;

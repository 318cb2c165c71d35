//! `play`: a drop-in runner for Ansible playbooks with native modules.

pub mod cli;
pub mod connection;
pub mod diag;
pub mod engine;
pub mod error;
pub mod inventory;
pub mod output;
pub mod playbook;
pub mod stages;
pub mod template;
pub mod vars;
pub mod vault;
pub mod yaml;

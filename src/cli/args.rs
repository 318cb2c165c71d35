//! ansible-playbook's command line.

use clap::{ArgAction, Parser};

#[derive(Parser, Debug, Default)]
#[command(
    name = "play",
    about = "Runs Ansible playbooks, executing the defined tasks on the targeted hosts.",
    disable_version_flag = true
)]
pub struct Args {
    /// Playbook(s)
    #[arg(value_name = "playbook")]
    pub playbooks: Vec<String>,
    /// show program's version number, config file location, module search path and exit
    #[arg(long)]
    pub version: bool,
    /// specify inventory host path or comma separated host list
    #[arg(short = 'i', long = "inventory", alias = "inventory-file", value_name = "INVENTORY", action = ArgAction::Append)]
    pub inventory: Vec<String>,
    /// further limit selected hosts to an additional pattern
    #[arg(short = 'l', long = "limit", value_name = "SUBSET", action = ArgAction::Append)]
    pub limit: Vec<String>,
    /// only run plays and tasks tagged with these values
    #[arg(short = 't', long = "tags", action = ArgAction::Append)]
    pub tags: Vec<String>,
    /// only run plays and tasks whose tags do not match these values
    #[arg(long = "skip-tags", action = ArgAction::Append)]
    pub skip_tags: Vec<String>,
    /// set additional variables as key=value or YAML/JSON, if filename prepend with @
    #[arg(short = 'e', long = "extra-vars", value_name = "EXTRA_VARS", action = ArgAction::Append)]
    pub extra_vars: Vec<String>,
    /// don't make any changes; instead, try to predict some of the changes that may occur
    #[arg(short = 'C', long = "check")]
    pub check: bool,
    /// when changing (small) files and templates, show the differences in those files
    #[arg(short = 'D', long = "diff")]
    pub diff: bool,
    /// Causes Ansible to print more debug messages
    #[arg(short = 'v', long = "verbose", action = ArgAction::Count)]
    pub verbose: u8,
    /// specify number of parallel processes to use
    #[arg(short = 'f', long = "forks")]
    pub forks: Option<usize>,
    /// connection type to use
    #[arg(short = 'c', long = "connection")]
    pub connection: Option<String>,
    /// connect as this user
    #[arg(short = 'u', long = "user")]
    pub user: Option<String>,
    /// run operations with become (does not imply password prompting)
    #[arg(short = 'b', long = "become")]
    pub become_: bool,
    /// run operations as this user
    #[arg(long = "become-user")]
    pub become_user: Option<String>,
    /// privilege escalation method to use
    #[arg(long = "become-method")]
    pub become_method: Option<String>,
    /// ask for privilege escalation password
    #[arg(short = 'K', long = "ask-become-pass")]
    pub ask_become_pass: bool,
    /// ask for connection password
    #[arg(short = 'k', long = "ask-pass")]
    pub ask_pass: bool,
    /// use this file to authenticate the connection
    #[arg(long = "private-key", alias = "key-file")]
    pub private_key: Option<String>,
    /// override the connection timeout in seconds
    #[arg(short = 'T', long = "timeout")]
    pub timeout: Option<u64>,
    /// specify common arguments to pass to sftp/scp/ssh
    #[arg(long = "ssh-common-args")]
    pub ssh_common_args: Option<String>,
    /// specify extra arguments to pass to ssh only
    #[arg(long = "ssh-extra-args")]
    pub ssh_extra_args: Option<String>,
    /// outputs a list of matching hosts; does not execute anything else
    #[arg(long = "list-hosts")]
    pub list_hosts: bool,
    /// list all tasks that would be executed
    #[arg(long = "list-tasks")]
    pub list_tasks: bool,
    /// list all available tags
    #[arg(long = "list-tags")]
    pub list_tags: bool,
    /// perform a syntax check on the playbook, but do not execute it
    #[arg(long = "syntax-check")]
    pub syntax_check: bool,
    /// show, for every host and service, which stages will run or be skipped and why
    #[arg(long = "list-stages")]
    pub list_stages: bool,
    /// run a stage even if its checkpoint says it is done (build, stage, install or all)
    #[arg(long = "force-stage", action = ArgAction::Append, value_parser = ["build", "stage", "install", "all"])]
    pub force_stage: Vec<String>,
    /// run every stage whatever the checkpoints on the hosts say
    #[arg(long = "ignore-checkpoints")]
    pub ignore_checkpoints: bool,
    /// run plays by stage: build once, stage and install in parallel, configure in serial
    #[arg(long = "staged")]
    pub staged: bool,
    /// start the playbook at the task matching this name
    #[arg(long = "start-at-task")]
    pub start_at_task: Option<String>,
    /// one-step-at-a-time: confirm each task before running
    #[arg(long = "step")]
    pub step: bool,
    /// clear the fact cache for every host in inventory
    #[arg(long = "flush-cache")]
    pub flush_cache: bool,
    /// run handlers even if a task fails
    #[arg(long = "force-handlers")]
    pub force_handlers: bool,
    /// vault password file
    #[arg(long = "vault-password-file", alias = "vault-pass-file", action = ArgAction::Append)]
    pub vault_password_file: Vec<String>,
    /// the vault identity to use
    #[arg(long = "vault-id", action = ArgAction::Append)]
    pub vault_id: Vec<String>,
    /// ask for vault password
    #[arg(short = 'J', long = "ask-vault-pass", alias = "ask-vault-password")]
    pub ask_vault_pass: bool,
    /// prepend colon-separated path(s) to module library
    #[arg(short = 'M', long = "module-path")]
    pub module_path: Option<String>,
}

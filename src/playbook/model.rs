//! Plays, blocks and tasks as loaded: raw (untemplated) nodes with their positions.

use super::roles::Role;
use crate::stages::StageFile;
use crate::yaml::{Mapping, Node, Span};
use std::path::PathBuf;
use std::sync::Arc;

/// Keywords that every level (play, role, block, include, task) may set and that the
/// levels below inherit.
#[derive(Clone, Debug, Default)]
pub struct Keywords {
    pub when: Vec<Node>,
    pub tags: Vec<Node>,
    pub vars: Mapping,
    pub environment: Vec<Node>,
    pub become_: Option<Box<Node>>,
    pub become_user: Option<Box<Node>>,
    pub become_method: Option<Box<Node>>,
    pub become_flags: Option<Box<Node>>,
    pub ignore_errors: Option<Box<Node>>,
    pub ignore_unreachable: Option<Box<Node>>,
    pub no_log: Option<Box<Node>>,
    pub check_mode: Option<Box<Node>>,
    pub diff: Option<Box<Node>>,
    pub any_errors_fatal: Option<Box<Node>>,
    pub throttle: Option<Box<Node>>,
    pub run_once: Option<Box<Node>>,
    pub delegate_to: Option<Box<Node>>,
    pub delegate_facts: Option<Box<Node>>,
    pub connection: Option<Box<Node>>,
    pub remote_user: Option<Box<Node>>,
    pub port: Option<Box<Node>>,
    pub module_defaults: Option<Box<Node>>,
    pub collections: Option<Box<Node>>,
    pub timeout: Option<Box<Node>>,
    pub debugger: Option<Box<Node>>,
    /// A block's `notify`, inherited by its tasks that name no handlers of their own.
    pub notify: Option<Box<Node>>,
}

/// Where a task or block sits: the role it came from, if any.
#[derive(Clone, Debug)]
pub struct Origin {
    pub role: Option<Arc<Role>>,
}

#[derive(Clone, Debug)]
pub enum Item {
    Task(Arc<Task>),
    Block(Arc<Block>),
}

impl Item {
    pub fn span(&self) -> &Span {
        match self {
            Item::Task(t) => &t.span,
            Item::Block(b) => &b.span,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Block {
    pub name: Option<Node>,
    pub block: Vec<Item>,
    pub rescue: Vec<Item>,
    pub always: Vec<Item>,
    pub kw: Keywords,
    pub span: Span,
    pub role: Option<Arc<Role>>,
    /// Set for the implicit block that stands for a role (`roles:`, `import_role`): its
    /// keywords are the role's, and tasks inside report the role's name.
    pub is_role: bool,
    /// Set for a role's import of a stage file: the block's tasks are read from the file
    /// only when the stage runs on some host.
    pub stage: Option<Arc<StageRef>>,
    /// For a role of `roles:` or a dependency (without allow_duplicates): its identity
    /// (path, tasks file, parameters). It runs for a host only until it has completed
    /// there once in the play, as Ansible deduplicates roles.
    pub dedupe_key: Option<String>,
}

/// A stage boundary: where a role imports or includes one of its stage files.
#[derive(Debug)]
pub struct StageRef {
    pub file: StageFile,
    pub path: PathBuf,
    pub role: Arc<Role>,
}

#[derive(Clone, Debug)]
pub enum LoopKind {
    /// `loop:` — a list.
    Loop,
    /// `with_<lookup>:` — the lookup's results.
    With(String),
}

#[derive(Clone, Debug)]
pub struct Task {
    pub name: Option<Node>,
    /// The action as written (`ansible.builtin.copy`), for display.
    pub action_written: String,
    /// The canonical short action (`copy`).
    pub action: String,
    /// Module arguments: a mapping (free-form text is under `_raw_params`).
    pub args: Mapping,
    pub kw: Keywords,
    pub loop_kind: Option<LoopKind>,
    pub loop_: Option<Node>,
    pub loop_control: Option<Node>,
    pub register: Option<String>,
    pub changed_when: Vec<Node>,
    pub failed_when: Vec<Node>,
    pub until: Option<Node>,
    pub retries: Option<Node>,
    pub delay: Option<Node>,
    pub notify: Vec<Node>,
    /// Handlers only: extra topics this handler listens to.
    pub listen: Vec<Node>,
    pub async_: Option<Node>,
    pub poll: Option<Node>,
    pub span: Span,
    pub role: Option<Arc<Role>>,
    /// For `import_*`/`include_*` with `apply:`: keywords to put on the included tasks.
    pub apply: Option<Box<Keywords>>,
}

impl Task {
    /// A task the runner makes itself (fact gathering, stage checkpoints): no keywords, no
    /// loop, the given arguments.
    pub fn synthetic(
        name: &str,
        action: &str,
        args: Mapping,
        span: Span,
        role: Option<Arc<Role>>,
    ) -> Task {
        Task {
            name: Some(Node::string(name, span.clone())),
            action_written: action.to_string(),
            action: crate::playbook::canonical_action(action).to_string(),
            args,
            kw: Keywords::default(),
            loop_kind: None,
            loop_: None,
            loop_control: None,
            register: None,
            changed_when: Vec::new(),
            failed_when: Vec::new(),
            until: None,
            retries: None,
            delay: None,
            notify: Vec::new(),
            listen: Vec::new(),
            async_: None,
            poll: None,
            span,
            role,
            apply: None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Play {
    pub name: Option<Node>,
    pub hosts: Node,
    pub kw: Keywords,
    pub vars_files: Vec<Node>,
    pub vars_prompt: Option<Node>,
    pub gather_facts: Option<Node>,
    pub gather_subset: Option<Node>,
    pub pre_tasks: Vec<Item>,
    /// `roles:` already expanded to role blocks, then `tasks:`.
    pub roles: Vec<Item>,
    pub tasks: Vec<Item>,
    pub post_tasks: Vec<Item>,
    /// Play handlers, then the handlers of every role the play uses.
    pub handlers: Vec<Item>,
    pub serial: Option<Node>,
    pub strategy: Option<Node>,
    pub order: Option<Node>,
    pub max_fail_percentage: Option<Node>,
    pub force_handlers: Option<Node>,
    pub fact_path: Option<Node>,
    pub span: Span,
    /// The directory of the playbook file the play came from.
    pub dir: PathBuf,
    /// Roles the play imports statically, in order (for their defaults and vars).
    pub role_list: Vec<Arc<Role>>,
    /// The roles its static expansion met (what include_role's dependencies dedupe against).
    pub seen_roles: std::collections::HashSet<String>,
}

#[derive(Clone, Debug)]
pub struct Playbook {
    pub path: PathBuf,
    pub dir: PathBuf,
    pub plays: Vec<Play>,
}

//! The playbook model (plays, blocks, tasks, roles, handlers) and its loader, with Ansible's
//! keyword validation and static expansion of `import_*`.

mod actions;
mod kv;
mod load;
mod model;
mod roles;

pub use actions::{
    accepts_raw_params, action_kind, canonical_action, is_controller_action, ActionKind, FREE_FORM,
};
pub use kv::{parse_kv, split_args};
pub use load::{
    as_list, load_playbook, load_task_file, load_vars, scalar_string, stage_boundary, Ctx, Dedupe,
    LoadError, Loader, PlayAcc, RoleSpec,
};
pub use model::*;
pub use roles::{Role, RoleSearch};

//! The chain of levels a task sits in (play, role, block, import, include), innermost first:
//! what a task inherits comes from walking it outward.

use crate::playbook::{Keywords, Role};
use crate::yaml::{Mapping, Node};
use std::sync::Arc;

#[derive(Debug)]
pub struct Scope {
    pub parent: Option<Arc<Scope>>,
    pub kw: Keywords,
    pub role: Option<Arc<Role>>,
    /// Role parameters and include_role vars (precedence above set_fact).
    pub params: Option<Mapping>,
    /// False for the level an `include_*` creates: the include's `when` and `tags` stay on
    /// the include, only its vars (and `apply`) reach the included tasks; the conditions of
    /// the levels around it were decided when the include ran.
    pub inherit_conditions: bool,
    /// The level a handler's include creates: the tasks below run as handlers.
    pub handler: bool,
    /// A level with nothing of its own around a block's tasks (or its rescue) whose block
    /// has a rescue or always section still to come: a failure below is not yet final.
    pub guarded: bool,
}

impl Scope {
    pub fn root(kw: Keywords) -> Arc<Scope> {
        Arc::new(Scope {
            parent: None,
            kw,
            role: None,
            params: None,
            inherit_conditions: true,
            handler: false,
            guarded: false,
        })
    }

    pub fn child(self: &Arc<Self>, kw: Keywords, role: Option<Arc<Role>>) -> Arc<Scope> {
        let role = role.or_else(|| self.role.clone());
        Arc::new(Scope {
            parent: Some(self.clone()),
            kw,
            role,
            params: None,
            inherit_conditions: true,
            handler: false,
            guarded: false,
        })
    }

    /// The level for a block's section whose failures a later section (rescue, always)
    /// still handles.
    pub fn guard(self: &Arc<Self>) -> Arc<Scope> {
        Arc::new(Scope {
            parent: Some(self.clone()),
            kw: Keywords::default(),
            role: self.role.clone(),
            params: None,
            inherit_conditions: true,
            handler: false,
            guarded: true,
        })
    }

    /// Whether a failure here is final for the host: no enclosing block has a rescue or
    /// always section left to run (Ansible counts only those towards max_fail_percentage).
    pub fn failure_is_final(self: &Arc<Self>) -> bool {
        !self.iter().any(|s| s.guarded)
    }

    /// Whether tasks at this level were brought in by a handler (and so are handlers).
    pub fn in_handler(self: &Arc<Self>) -> bool {
        self.iter().any(|s| s.handler)
    }

    pub fn iter(self: &Arc<Self>) -> impl Iterator<Item = &Scope> {
        let mut cur: Option<&Scope> = Some(self.as_ref());
        std::iter::from_fn(move || {
            let s = cur?;
            cur = s.parent.as_deref();
            Some(s)
        })
    }

    /// The innermost value of a keyword, looking outward from the task's own.
    pub fn keyword<'a>(
        self: &'a Arc<Self>,
        own: Option<&'a Node>,
        get: fn(&Keywords) -> Option<&Node>,
    ) -> Option<&'a Node> {
        own.or_else(|| self.iter().find_map(|s| get(&s.kw)))
    }

    /// Conditions of every enclosing level that passes them down, outermost first.
    pub fn conditions(self: &Arc<Self>) -> Vec<Node> {
        let mut levels = Vec::new();
        for s in self.iter() {
            levels.push(s.kw.when.clone());
            if !s.inherit_conditions {
                break;
            }
        }
        levels.into_iter().rev().flatten().collect()
    }

    /// Tags of every enclosing level. An include's own tags are not among them (they stay
    /// on the include), but the levels around the include (its blocks, role, play) pass
    /// theirs on to what it includes.
    pub fn tags(self: &Arc<Self>) -> Vec<Node> {
        self.iter()
            .flat_map(|s| s.kw.tags.iter().cloned())
            .collect()
    }
}

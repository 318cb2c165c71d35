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
        })
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

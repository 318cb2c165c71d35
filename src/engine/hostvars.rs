//! Building the variables a template sees for one host at one task, layer by layer in
//! Ansible's precedence order (highest first).

use super::play::PlayCtx;
use super::scope::Scope;
use crate::playbook::Role;
use crate::vars::{HostVarsSource, Layer, Vars};
use crate::yaml::Mapping;
use serde_json::{json, Map, Value};
use std::collections::HashSet;
use std::sync::Arc;

/// The value of `omit`: arguments equal to it are dropped.
pub const OMIT: &str = "__omit_place_holder__5b3fd3fb8f4dd3b0d6c3c2c2b5a5f3d9ee1b4b77";

/// The distinct roles of a scope's levels, innermost first.
fn role_chain(scope: &Arc<Scope>) -> Vec<Arc<Role>> {
    let mut out: Vec<Arc<Role>> = Vec::new();
    for frame in scope.iter() {
        if let Some(r) = &frame.role {
            if !out.iter().any(|x| Arc::ptr_eq(x, r)) {
                out.push(r.clone());
            }
        }
    }
    out
}

impl PlayCtx {
    /// Variables for `host` at a task inside `scope`, with the task's own vars and the
    /// current loop variables.
    pub fn vars_for(
        self: &Arc<Self>,
        host: &str,
        scope: Option<&Arc<Scope>>,
        task: Option<&crate::playbook::Keywords>,
        loop_vars: Option<Map<String, Value>>,
    ) -> Vars {
        let run = &self.run;
        let mut v = Vars::new();
        v.hostvars = Some(self.clone() as Arc<dyn HostVarsSource>);
        v.merge = run.opts.hash_merge;

        // Magic variables.
        let mut magic = self.magic_common.clone();
        let (groups, inv_dir, inv_file, implicit_localhost) = {
            let inv = run.inventory.read().unwrap();
            // `groups` follows the inventory as add_host and group_by change it.
            let all_groups = {
                let mut cached = self.groups.lock().unwrap();
                if cached.0 != inv.generation {
                    *cached = (inv.generation, Arc::new(json!(inv.groups_map())));
                }
                cached.1.clone()
            };
            magic.insert("groups".into(), (*all_groups).clone());
            let h = inv.hosts.get(host);
            let src = h.and_then(|h| h.source.clone());
            (
                inv.group_names(host),
                src.as_ref()
                    .and_then(|p| p.parent().map(|d| d.display().to_string())),
                src.as_ref().map(|p| p.display().to_string()),
                inv.is_implicit_localhost(host),
            )
        };
        magic.insert("inventory_hostname".into(), json!(host));
        magic.insert(
            "inventory_hostname_short".into(),
            json!(host.split('.').next().unwrap_or(host)),
        );
        magic.insert("group_names".into(), json!(groups));
        magic.insert(
            "inventory_dir".into(),
            inv_dir.map(Value::String).unwrap_or(Value::Null),
        );
        magic.insert(
            "inventory_file".into(),
            inv_file.map(Value::String).unwrap_or(Value::Null),
        );
        let batch = self.batch.lock().unwrap().clone();
        let active: Vec<String> = {
            let failed = run.failed.lock().unwrap();
            let unreachable = run.unreachable.lock().unwrap();
            batch
                .iter()
                .filter(|h| !failed.contains(*h) && !unreachable.contains(*h))
                .cloned()
                .collect()
        };
        magic.insert("ansible_play_batch".into(), json!(active));
        magic.insert("ansible_play_hosts".into(), json!(active));
        magic.insert("play_hosts".into(), json!(active));
        let role = scope.and_then(|s| s.role.clone());
        let mut search = Vec::new();
        if let Some(r) = &role {
            magic.insert("role_name".into(), json!(r.name));
            magic.insert("role_path".into(), json!(r.path.display().to_string()));
            magic.insert("ansible_role_name".into(), json!(r.name));
            search.push(r.path.display().to_string());
            // The directory of the role's task files comes next, as Ansible adds the
            // task's own directory.
            search.push(r.path.join("tasks").display().to_string());
        }
        search.push(self.play.dir.display().to_string());
        magic.insert("ansible_search_path".into(), json!(search));
        v.push_lower(Layer::data(magic));

        v.push_lower(Layer::Nodes(self.extra_vars.clone()));
        if let Some(l) = loop_vars {
            v.push_lower(Layer::data(l));
        }
        if let Some(s) = scope {
            for frame in s.iter() {
                if let Some(p) = &frame.params {
                    v.push_lower(Layer::nodes(p.clone()));
                }
            }
        }
        let (facts, bare_facts, host_vars, include_vars) = run.host_state(host, |hs| {
            (
                hs.facts.clone(),
                hs.bare_facts.clone(),
                hs.vars.clone(),
                hs.include_vars.clone(),
            )
        });
        v.push_lower(Layer::data(host_vars));
        if !include_vars.is_empty() {
            v.push_lower(Layer::nodes(include_vars));
        }
        if let Some(tv) = task.map(|k| &k.vars) {
            if !tv.is_empty() {
                v.push_lower(Layer::nodes(tv.clone()));
            }
        }
        if let Some(s) = scope {
            for frame in s.iter() {
                if !frame.kw.vars.is_empty() {
                    v.push_lower(Layer::nodes(frame.kw.vars.clone()));
                }
            }
        }
        // The task's role, then the roles it sits in (that depend on it or include it),
        // innermost first: Ansible's dependency chain.
        let chain = scope.map(role_chain).unwrap_or_default();
        for r in &chain {
            v.push_lower(Layer::nodes(r.vars.clone()));
        }
        for r in self.roles.iter().rev() {
            if r.public
                && role
                    .as_ref()
                    .map(|cur| !Arc::ptr_eq(cur, r))
                    .unwrap_or(true)
            {
                v.push_lower(Layer::nodes(r.vars.clone()));
            }
        }
        for vf in self.vars_files.iter().rev() {
            v.push_lower(Layer::Nodes(vf.clone()));
        }
        v.push_lower(Layer::Nodes(self.play_vars.clone()));
        v.push_lower(Layer::data(fact_layer(facts, &bare_facts)));
        v.push_lower(Layer::Nodes(self.inventory_vars(host)));
        if implicit_localhost {
            // Ansible gives the implicit localhost the controller's own interpreter.
            let mut m = Map::new();
            m.insert(
                "ansible_python_interpreter".into(),
                json!(crate::engine::playbook_python()),
            );
            v.push_lower(Layer::data(m));
        }
        for r in &chain {
            v.push_lower(Layer::nodes(r.defaults.clone()));
        }
        for r in self.roles.iter().rev() {
            if r.public
                && role
                    .as_ref()
                    .map(|cur| !Arc::ptr_eq(cur, r))
                    .unwrap_or(true)
            {
                v.push_lower(Layer::nodes(r.defaults.clone()));
            }
        }
        for r in self.dynamic_roles.lock().unwrap().iter().rev() {
            v.push_lower(Layer::nodes(r.vars.clone()));
            v.push_lower(Layer::nodes(r.defaults.clone()));
        }
        // A task sees its connection settings as variables when nothing else sets them
        // (Ansible's play context fills them in); hostvars do not.
        if let Some(s) = scope {
            let shown = v.layers.len();
            let keywords = connection_keywords(task, s);
            if !keywords.is_empty() {
                v.push_lower(Layer::nodes(keywords));
            }
            v.push_lower(Layer::Data(run.opts.connection_vars.clone()));
            let mut conn = Map::new();
            let implicit = run.inventory.read().unwrap().is_implicit_localhost(host);
            let addr = match self.inventory_vars(host).get("ansible_host") {
                Some(n) => n.to_json(),
                None if implicit => json!("127.0.0.1"),
                None => json!(host),
            };
            conn.insert("ansible_host".into(), addr.clone());
            conn.insert("ansible_ssh_host".into(), addr);
            v.push_lower(Layer::data(conn));
            v.context_only = v.layers.len() - shown;
        }
        v
    }

    fn inventory_vars(&self, host: &str) -> Arc<Mapping> {
        if let Some(m) = self.inv_vars.lock().unwrap().get(host) {
            return m.clone();
        }
        let m = {
            let inv = self.run.inventory.read().unwrap();
            match inv.host_vars(host, Some(&self.play.dir)) {
                Ok(m) => m,
                Err(e) => {
                    crate::diag::warn(e.to_string());
                    Mapping::default()
                }
            }
        };
        let m = Arc::new(m);
        self.inv_vars
            .lock()
            .unwrap()
            .insert(host.to_string(), m.clone());
        m
    }

    /// Forget cached inventory variables (after add_host or refresh_inventory).
    pub fn invalidate_inventory(&self) {
        self.inv_vars.lock().unwrap().clear();
    }
}

/// The connection keywords of the levels around a task as the variables Ansible's play
/// context gives them (`remote_user` as `ansible_user`, ...), templated when used.
fn connection_keywords(task: Option<&crate::playbook::Keywords>, scope: &Arc<Scope>) -> Mapping {
    let mut m = Mapping::default();
    type Get = fn(&crate::playbook::Keywords) -> Option<&crate::yaml::Node>;
    let pairs: [(Get, &[&str]); 3] = [
        (
            |k| k.remote_user.as_deref(),
            &[
                "ansible_user",
                "ansible_ssh_user",
                "ansible_connection_user",
            ],
        ),
        (|k| k.port.as_deref(), &["ansible_port", "ansible_ssh_port"]),
        (|k| k.connection.as_deref(), &["ansible_connection"]),
    ];
    for (get, names) in pairs {
        if let Some(n) = scope.keyword(task.and_then(get), get) {
            for name in names {
                m.insert((*name).to_string(), n.span.clone(), n.clone());
            }
        }
    }
    m
}

/// Facts as variables: `ansible_facts` whole, and each fact as `ansible_<name>` (a bare
/// fact, such as a cacheable `set_fact`, under its own name).
fn fact_layer(facts: Map<String, Value>, bare: &HashSet<String>) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in &facts {
        // The gathered mark shows in `ansible_facts` only, as in Ansible.
        if k == super::GATHERED {
            continue;
        }
        let name = if k.starts_with("ansible_") || bare.contains(k) {
            k.clone()
        } else {
            format!("ansible_{k}")
        };
        out.insert(name, v.clone());
    }
    out.insert("ansible_facts".into(), Value::Object(facts));
    out
}

impl HostVarsSource for PlayCtx {
    fn host_vars(&self, host: &str) -> Option<Arc<Vars>> {
        let me = self.me.lock().unwrap().upgrade()?;
        {
            let inv = self.run.inventory.read().unwrap();
            if !inv.hosts.contains_key(host) && !inv.is_implicit_localhost(host) {
                return None;
            }
        }
        Some(Arc::new(me.vars_for(host, None, None, None)))
    }
    fn host_names(&self) -> Vec<String> {
        self.run
            .inventory
            .read()
            .unwrap()
            .hosts
            .keys()
            .cloned()
            .collect()
    }
}

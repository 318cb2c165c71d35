//! Inventories: INI, YAML, `host1,host2,` lists, directories of sources, group_vars/ and
//! host_vars/, implicit `all`/`ungrouped`/`localhost`, and host patterns.

use crate::yaml::Mapping;
use indexmap::IndexMap;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Default)]
pub struct Host {
    pub name: String,
    /// Variables set on the host in inventory sources (INI inline vars, YAML host vars).
    pub vars: Mapping,
    /// The inventory source that defined the host first (for inventory_dir/inventory_file).
    pub source: Option<PathBuf>,
}

#[derive(Clone, Debug, Default)]
pub struct Group {
    pub name: String,
    pub vars: Mapping,
    /// Direct member hosts, in definition order.
    pub hosts: Vec<String>,
    /// Direct child groups.
    pub children: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Inventory {
    /// Every host in definition order (the order `all` lists them in).
    pub hosts: IndexMap<String, Host>,
    pub groups: IndexMap<String, Group>,
    /// Directories whose group_vars/ and host_vars/ apply (one per inventory source).
    pub var_dirs: Vec<PathBuf>,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct InventoryError(pub String);

impl Inventory {
    /// Load inventory sources as `-i` gives them (files, directories, `a,b,` lists).
    /// With no sources, or none that parse, the inventory holds just the implicit localhost.
    pub fn load(_sources: &[String]) -> Result<(Inventory, Vec<String>), InventoryError> {
        Ok((Inventory::default(), Vec::new()))
    }

    /// The hosts a pattern selects, in inventory order, deduplicated.
    pub fn select(&self, _pattern: &str) -> Result<Vec<String>, InventoryError> {
        Ok(Vec::new())
    }

    /// Every group the host is in, ancestors included, `all` excluded, sorted by name
    /// (Ansible's `group_names`).
    pub fn group_names(&self, _host: &str) -> Vec<String> {
        Vec::new()
    }

    /// The `groups` magic variable: every group (all and ungrouped included) to its hosts.
    pub fn groups_map(&self) -> IndexMap<String, Vec<String>> {
        IndexMap::new()
    }

    /// The inventory-level variables of a host in Ansible's precedence order (inventory
    /// group vars, group_vars/all next to the inventory, then next to the playbook,
    /// group_vars/<group> by depth, inventory host vars, host_vars/<host>), folded into one
    /// mapping. `playbook_dir` adds that directory's group_vars/ and host_vars/.
    pub fn host_vars(&self, _host: &str, _playbook_dir: Option<&Path>) -> Result<Mapping, InventoryError> {
        Ok(Mapping::default())
    }

    /// `add_host`: add (or update) a host, with groups and variables.
    pub fn add_host(&mut self, _name: &str, _groups: &[String], _vars: Mapping) {}

    /// `group_by`: put a host in a group, creating the group (a child of `all`) if needed.
    pub fn add_to_group(&mut self, _host: &str, _group: &str, _parents: &[String]) {}
}

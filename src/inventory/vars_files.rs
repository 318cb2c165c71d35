//! group_vars/ and host_vars/ (the `host_group_vars` vars plugin) and the order in which
//! Ansible folds inventory variables for a host.

use super::{combine_vars, Inventory, InventoryError};
use crate::yaml::{Kind, Mapping, Node, Span};
use std::path::{Path, PathBuf};

const EXTS: [&str; 3] = [".yml", ".yaml", ".json"];

/// `find_vars_files(dir, name)`: `<dir>/<name>` (a file, or a directory read recursively
/// in sorted order), else the first of `<name>.yml`, `.yaml`, `.json`.
pub fn find_vars_files(dir: &Path, name: &str) -> Vec<PathBuf> {
    let base = dir.join(name);
    for ext in [""].iter().chain(EXTS.iter()) {
        let full = PathBuf::from(format!("{}{}", base.display(), ext));
        if full.exists() {
            if full.is_dir() {
                let mut found = Vec::new();
                dir_vars_files(&full, &mut found);
                return found;
            }
            return vec![full];
        }
    }
    Vec::new()
}

fn dir_vars_files(dir: &Path, found: &mut Vec<PathBuf>) {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => return,
    };
    names.sort();
    for n in names {
        if n.starts_with('.') || n.ends_with('~') {
            continue;
        }
        let full = dir.join(&n);
        let ext = Path::new(&n)
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy()))
            .unwrap_or_default();
        if full.is_dir() && ext.is_empty() {
            dir_vars_files(&full, found);
        } else if full.is_file() && (ext.is_empty() || EXTS.contains(&ext.as_str())) {
            found.push(full);
        }
    }
}

/// Load one vars file: a mapping, or nothing for an empty file.
pub fn load_vars_file(path: &Path) -> Result<Option<Mapping>, InventoryError> {
    let docs = crate::yaml::load_file(path)
        .map_err(|e| InventoryError(format!("{} ({})", e.message, e.span)))?;
    let Some(doc) = docs.into_iter().next() else {
        return Ok(None);
    };
    match doc.kind {
        Kind::Null => Ok(None),
        Kind::Map(m) if m.is_empty() => Ok(None),
        Kind::Map(m) => Ok(Some(m)),
        Kind::Bool(false) => Ok(None),
        Kind::Str(ref s) if s.is_empty() => Ok(None),
        Kind::Seq(ref s) if s.is_empty() => Ok(None),
        _ => Err(InventoryError(format!(
            // The value is not shown: it may be a vault's plaintext.
            "Could not process '{}': failed to combine variables, expected dicts but got a 'dict' and a '{}'.",
            path.display(),
            doc.type_name(),
        ))),
    }
}

/// Which vars directory: `group_vars` or `host_vars`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind2 {
    Group,
    Host,
}

impl Kind2 {
    fn subdir(self) -> &'static str {
        match self {
            Kind2::Group => "group_vars",
            Kind2::Host => "host_vars",
        }
    }
}

impl Inventory {
    /// The variables `<dir>/group_vars/<name>` or `<dir>/host_vars/<name>` give
    /// (several files combined in order), cached for the inventory's lifetime.
    fn dir_vars(&self, dir: &Path, kind: Kind2, name: &str) -> Result<Mapping, InventoryError> {
        let key = (dir.to_path_buf(), kind.subdir(), name.to_string());
        if let Some(cached) = self.vars_cache.get(&key) {
            return Ok(cached.clone().unwrap_or_default());
        }
        Ok(read_dir_vars(dir, kind, name, self.hash_merge)?.unwrap_or_default())
    }

    fn cache_dir_vars(
        &mut self,
        dir: &Path,
        kind: Kind2,
        name: &str,
    ) -> Result<Mapping, InventoryError> {
        let key = (dir.to_path_buf(), kind.subdir(), name.to_string());
        if !self.vars_cache.contains_key(&key) {
            let v = read_dir_vars(dir, kind, name, self.hash_merge)?;
            self.vars_cache.insert(key.clone(), v);
        }
        Ok(self.vars_cache[&key].clone().unwrap_or_default())
    }

    /// `_plugins_inventory(entities)`: for each inventory var dir in order, every entity.
    fn inventory_dir_vars(&self, kind: Kind2, names: &[String]) -> Result<Mapping, InventoryError> {
        let mut data = Mapping::default();
        for dir in &self.var_dirs {
            for n in names {
                combine_vars(&mut data, &self.dir_vars(dir, kind, n)?, self.hash_merge);
            }
        }
        Ok(data)
    }

    fn playbook_dir_vars(
        &self,
        dir: Option<&Path>,
        kind: Kind2,
        names: &[String],
    ) -> Result<Mapping, InventoryError> {
        let mut data = Mapping::default();
        if let Some(dir) = dir {
            let real = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
            for n in names {
                combine_vars(&mut data, &self.dir_vars(&real, kind, n)?, self.hash_merge);
            }
        }
        Ok(data)
    }

    /// After parsing: fold inventory-adjacent group_vars/host_vars into each group's and
    /// host's own variables, as `parse_sources` does.
    pub(super) fn fold_inventory_vars_files(&mut self) -> Result<(), InventoryError> {
        let dirs: Vec<PathBuf> = self
            .var_dirs
            .iter()
            .map(|d| std::fs::canonicalize(d).unwrap_or_else(|_| d.clone()))
            .collect();
        self.var_dirs = dirs.clone();
        let merge = self.hash_merge;
        let groups: Vec<String> = self.groups.keys().cloned().collect();
        for g in groups {
            let mut data = Mapping::default();
            for d in &dirs {
                combine_vars(&mut data, &self.cache_dir_vars(d, Kind2::Group, &g)?, merge);
            }
            combine_vars(&mut self.groups[&g].vars, &data, merge);
        }
        let hosts: Vec<String> = self.hosts.keys().cloned().collect();
        for h in hosts {
            let mut data = Mapping::default();
            for d in &dirs {
                combine_vars(&mut data, &self.cache_dir_vars(d, Kind2::Host, &h)?, merge);
            }
            combine_vars(&mut self.hosts[&h].vars, &data, merge);
        }
        Ok(())
    }

    /// The inventory-level variables of a host in Ansible's precedence order (inventory
    /// group vars, group_vars/all next to the inventory, then next to the playbook,
    /// group_vars/<group> by depth, inventory host vars, host_vars/<host>), folded into one
    /// mapping. `playbook_dir` adds that directory's group_vars/ and host_vars/.
    ///
    /// The layers, lowest first, are VariableManager's: `all`'s vars; every other group of
    /// the host sorted by (depth, priority, name); inventory group_vars/all; playbook
    /// group_vars/all; inventory group_vars/<group>; playbook group_vars/<group>; the
    /// host's vars; inventory host_vars/<host>; playbook host_vars/<host>. Magic variables
    /// (inventory_hostname, group_names, groups) are not included.
    pub fn host_vars(
        &self,
        host: &str,
        playbook_dir: Option<&Path>,
    ) -> Result<Mapping, InventoryError> {
        let merge = self.hash_merge;
        let mut data = Mapping::default();
        let all = vec!["all".to_string()];
        let host_groups: Vec<String> = if self.hosts.contains_key(host) {
            self.sort_groups(self.host_groups(host).into_iter().filter(|g| g != "all"))
        } else {
            Vec::new()
        };
        if let Some(g) = self.groups.get("all") {
            combine_vars(&mut data, &g.vars, merge);
        }
        let mut groups_inventory = Mapping::default();
        for g in &host_groups {
            if let Some(grp) = self.groups.get(g) {
                combine_vars(&mut groups_inventory, &grp.vars, merge);
            }
        }
        combine_vars(&mut data, &groups_inventory, merge);
        combine_vars(
            &mut data,
            &self.inventory_dir_vars(Kind2::Group, &all)?,
            merge,
        );
        combine_vars(
            &mut data,
            &self.playbook_dir_vars(playbook_dir, Kind2::Group, &all)?,
            merge,
        );
        combine_vars(
            &mut data,
            &self.inventory_dir_vars(Kind2::Group, &host_groups)?,
            merge,
        );
        combine_vars(
            &mut data,
            &self.playbook_dir_vars(playbook_dir, Kind2::Group, &host_groups)?,
            merge,
        );
        let name = vec![host.to_string()];
        match self.hosts.get(host) {
            Some(h) => combine_vars(&mut data, &h.vars, merge),
            None if super::LOCALHOST.contains(&host) => {
                let span = Span::synthetic("implicit localhost");
                let mut implicit = Mapping::default();
                implicit.insert(
                    "inventory_file".into(),
                    span.clone(),
                    Node::null(span.clone()),
                );
                implicit.insert(
                    "inventory_dir".into(),
                    span.clone(),
                    Node::null(span.clone()),
                );
                implicit.insert(
                    "ansible_connection".into(),
                    span.clone(),
                    Node::new(Kind::Unsafe("local".into()), span),
                );
                combine_vars(&mut data, &implicit, merge);
            }
            None => return Err(InventoryError(format!("Unknown host: {host}"))),
        }
        combine_vars(
            &mut data,
            &self.inventory_dir_vars(Kind2::Host, &name)?,
            merge,
        );
        combine_vars(
            &mut data,
            &self.playbook_dir_vars(playbook_dir, Kind2::Host, &name)?,
            merge,
        );
        Ok(data)
    }
}

fn read_dir_vars(
    dir: &Path,
    kind: Kind2,
    name: &str,
    merge: bool,
) -> Result<Option<Mapping>, InventoryError> {
    if name.starts_with('/') {
        return Ok(None);
    }
    let sub = dir.join(kind.subdir());
    if !sub.exists() {
        return Ok(None);
    }
    if !sub.is_dir() {
        crate::diag::warn(format!(
            "Found {} that is not a directory, skipping: {}",
            kind.subdir(),
            sub.display()
        ));
        return Ok(None);
    }
    let files = find_vars_files(&sub, name);
    if files.is_empty() {
        return Ok(None);
    }
    let mut data = Mapping::default();
    for f in files {
        if let Some(m) = load_vars_file(&f)? {
            combine_vars(&mut data, &m, merge);
        }
    }
    Ok(Some(data))
}

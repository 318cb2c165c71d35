//! Inventories: INI, YAML, `host1,host2,` lists, directories of sources, group_vars/ and
//! host_vars/, implicit `all`/`ungrouped`/`localhost`, and host patterns.
//!
//! The model follows ansible-core's `InventoryData`: groups hold their direct hosts and
//! child groups; ancestors, depth and `ungrouped` membership are derived from that.
//! Sources are parsed in `-i` order straight into one inventory (a source that fails half
//! way keeps what it added before the failure, as Ansible does).

pub mod address;
mod ini;
mod patterns;
pub mod pyliteral;
pub mod vars_files;
mod yaml_src;

pub use patterns::{read_limit_file, split_host_pattern};

use crate::yaml::{Kind, Mapping, Node, Span};
use indexmap::{IndexMap, IndexSet};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Host names that get an implicit host when a pattern names them and the inventory does not.
pub const LOCALHOST: [&str; 3] = ["127.0.0.1", "localhost", "::1"];

#[derive(Clone, Debug, Default)]
pub struct Host {
    pub name: String,
    /// Variables set on the host in inventory sources (INI inline vars, YAML host vars,
    /// `ansible_port` from `host:port`, `inventory_file`/`inventory_dir`), with the
    /// inventory-adjacent host_vars/ files folded in on top, as Ansible stores them.
    pub vars: Mapping,
    /// The inventory source that defined the host first (for inventory_dir/inventory_file).
    pub source: Option<PathBuf>,
}

#[derive(Clone, Debug)]
pub struct Group {
    pub name: String,
    /// Group variables from inventory sources, inventory-adjacent group_vars/ folded in.
    pub vars: Mapping,
    /// Direct member hosts, in definition order.
    pub hosts: Vec<String>,
    /// Direct child groups.
    pub children: Vec<String>,
    /// `ansible_group_priority` (default 1): orders groups of equal depth.
    pub priority: i64,
}

impl Default for Group {
    fn default() -> Self {
        Group {
            name: String::new(),
            vars: Mapping::default(),
            hosts: Vec::new(),
            children: Vec::new(),
            priority: 1,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Inventory {
    /// Bumped by every change after loading (add_host, group_by, refresh), so that what is
    /// derived from the inventory can tell it is stale.
    pub generation: u64,
    /// Every host in definition order (the implicit localhost is not here).
    pub hosts: IndexMap<String, Host>,
    pub groups: IndexMap<String, Group>,
    /// Directories whose group_vars/ and host_vars/ apply (one per inventory source that
    /// is a path, in `-i` order; duplicates kept, as Ansible applies them per source).
    pub var_dirs: Vec<PathBuf>,
    /// `hash_behaviour = merge`: dictionaries from different layers merge recursively
    /// instead of the later one replacing the earlier.
    pub hash_merge: bool,
    /// The sources that parsed (files, files inside directories, host lists), in order.
    pub processed_sources: Vec<String>,
    /// Warnings collected while loading (returned by `load`).
    warnings: Vec<String>,
    /// Parsed vars files (group_vars/ and host_vars/ lookups), by directory/kind/name.
    vars_cache: HashMap<(PathBuf, &'static str, String), Option<Mapping>>,
    /// The sources and options it was loaded from, for `meta: refresh_inventory`.
    sources: Vec<String>,
    load_opts: LoadOptions,
    /// add_host and group_by changes, replayed in order after a refresh.
    dynamic: Vec<DynamicChange>,
}

/// A change a play made to the inventory (kept across `meta: refresh_inventory`).
#[derive(Clone, Debug)]
enum DynamicChange {
    AddHost {
        name: String,
        groups: Vec<String>,
        vars: Mapping,
    },
    Group {
        host: String,
        group: String,
        parents: Vec<String>,
    },
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct InventoryError(pub String);

/// How to load: the ansible.cfg settings that change inventory parsing.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// `hash_behaviour = merge`.
    pub hash_merge: bool,
    /// `[inventory] unparsed_is_failed`: no source parsed is an error, not a warning.
    pub unparsed_is_failed: bool,
    /// `[inventory] any_unparsed_is_failed`: any source that fails is an error.
    pub any_unparsed_is_failed: bool,
}

/// Combine two variable mappings the way `combine_vars` does.
pub fn combine_vars(into: &mut Mapping, other: &Mapping, merge: bool) {
    for (k, e) in &other.entries {
        if merge {
            if let (Some(old), Kind::Map(new)) = (into.entries.get_mut(k), &e.value.kind) {
                if let Kind::Map(oldm) = &mut old.value.kind {
                    combine_vars(oldm, new, true);
                    continue;
                }
            }
        }
        into.insert(k.clone(), e.key_span.clone(), e.value.clone());
    }
}

/// Python's `set_variable` on a host or group: a dict over a dict combines by hash_behaviour.
fn set_var(vars: &mut Mapping, key: &str, span: Span, value: Node, merge: bool) {
    if let (Some(old), Kind::Map(new)) = (vars.entries.get_mut(key), &value.kind) {
        if let Kind::Map(oldm) = &mut old.value.kind {
            if merge {
                combine_vars(oldm, new, true);
            } else {
                old.value = value;
            }
            return;
        }
    }
    vars.insert(key.to_string(), span, value);
}

/// Does a group name hold characters Ansible calls invalid (`^[\d\W]|[^\w]`)? Such names
/// are kept as written (TRANSFORM_INVALID_GROUP_CHARS=never) but warned about.
pub fn has_invalid_group_chars(name: &str) -> bool {
    name.chars()
        .enumerate()
        .any(|(i, c)| !(c.is_alphanumeric() || c == '_') || (i == 0 && c.is_numeric()))
}

/// `unfrackpath(follow=False)`: ~ and $VARS expanded, made absolute and normalised.
fn unfrack(source: &str) -> PathBuf {
    let mut s = source.to_string();
    if let Some(rest) = s.strip_prefix('~') {
        if rest.is_empty() || rest.starts_with('/') {
            if let Ok(home) = std::env::var("HOME") {
                s = format!("{home}{rest}");
            }
        }
    }
    let p = PathBuf::from(&s);
    let abs = if p.is_absolute() {
        p
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    };
    let mut out = PathBuf::new();
    for comp in abs.components() {
        match comp {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c.as_os_str()),
        }
    }
    out
}

/// Ansible's `basedir()` of a source: the directory itself, or the file's directory.
fn basedir(source: &Path) -> Option<PathBuf> {
    if source.is_dir() {
        Some(source.to_path_buf())
    } else if source.is_file() {
        source.parent().map(Path::to_path_buf)
    } else {
        None
    }
}

/// Files a directory source skips: hidden, group_vars/host_vars/vars_plugins, and
/// `INVENTORY_IGNORE_EXTS` (the rejected extensions plus .orig .cfg .retry).
pub fn ignored_in_dir(name: &str) -> bool {
    const EXTS: [&str; 12] = [
        ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg",
        ".retry",
    ];
    name.starts_with('.')
        || matches!(name, "host_vars" | "group_vars" | "vars_plugins")
        || EXTS.iter().any(|e| name.ends_with(e))
}

impl Inventory {
    /// An inventory with just `all` and `ungrouped` (a child of `all`).
    pub fn empty() -> Inventory {
        let mut inv = Inventory::default();
        inv.add_group("all");
        inv.add_group("ungrouped");
        inv.add_child("all", "ungrouped").expect("fresh groups");
        inv
    }

    /// Load inventory sources as `-i` gives them (files, directories, `a,b,` lists).
    /// With no sources, or none that parse, the inventory holds just the implicit localhost.
    /// Returns the inventory and the warnings Ansible would print while loading (unparsable
    /// sources, "No inventory was parsed…", YAML structure warnings), in order and with
    /// Ansible's wording, for the caller to show (e.g. through `crate::diag::warn`).
    pub fn load(sources: &[String]) -> Result<(Inventory, Vec<String>), InventoryError> {
        Self::load_with(sources, &LoadOptions::default())
    }

    /// [`Inventory::load`] with ansible.cfg settings.
    pub fn load_with(
        sources: &[String],
        opts: &LoadOptions,
    ) -> Result<(Inventory, Vec<String>), InventoryError> {
        let mut inv = Inventory::empty();
        inv.hash_merge = opts.hash_merge;
        let mut processed = Vec::new();
        let mut parsed_any = false;
        let mut resolved = Vec::new();
        for source in sources {
            if source.is_empty() {
                continue;
            }
            let src = if source.contains(',') {
                source.clone()
            } else {
                unfrack(source).display().to_string()
            };
            if inv.parse_source(&src, opts, &mut processed)? {
                parsed_any = true;
            }
            resolved.push(src);
        }
        if parsed_any {
            inv.reconcile();
        } else if opts.unparsed_is_failed {
            return Err(InventoryError(
                "No inventory was parsed, please check your configuration and options.".into(),
            ));
        } else {
            inv.warnings
                .push("No inventory was parsed, only implicit localhost is available".into());
        }
        for src in &resolved {
            if src.contains(',') && !Path::new(src).exists() {
                continue;
            }
            let p = PathBuf::from(src);
            let dir = if p.is_dir() {
                p
            } else {
                p.parent().map(Path::to_path_buf).unwrap_or_default()
            };
            inv.var_dirs.push(dir);
        }
        inv.fold_inventory_vars_files()?;
        inv.processed_sources = processed;
        inv.sources = sources.to_vec();
        inv.load_opts = opts.clone();
        let warnings = std::mem::take(&mut inv.warnings);
        Ok((inv, warnings))
    }

    /// `meta: refresh_inventory`: read the sources again (they may have changed), then
    /// replay the hosts and groups the run added. Returns the loading warnings.
    pub fn refresh(&mut self) -> Result<Vec<String>, InventoryError> {
        let (mut fresh, warnings) = Self::load_with(&self.sources, &self.load_opts)?;
        for change in std::mem::take(&mut self.dynamic) {
            match change {
                DynamicChange::AddHost { name, groups, vars } => {
                    fresh.add_host(&name, &groups, vars)
                }
                DynamicChange::Group {
                    host,
                    group,
                    parents,
                } => fresh.add_to_group(&host, &group, &parents),
            }
        }
        fresh.generation = self.generation + 1;
        *self = fresh;
        Ok(warnings)
    }

    /// Parse one source (recursing into directories); true when something parsed it.
    fn parse_source(
        &mut self,
        source: &str,
        opts: &LoadOptions,
        processed: &mut Vec<String>,
    ) -> Result<bool, InventoryError> {
        let path = Path::new(source);
        let mut parsed = false;
        if path.is_dir() {
            let mut names: Vec<String> = match std::fs::read_dir(path) {
                Ok(rd) => rd
                    .filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect(),
                Err(_) => Vec::new(),
            };
            names.sort();
            for name in names {
                if ignored_in_dir(&name) {
                    continue;
                }
                let full = path.join(&name).display().to_string();
                if self.parse_source(&full, opts, processed)? {
                    parsed = true;
                }
            }
            if parsed {
                return Ok(true);
            }
        } else {
            let mut failures: Vec<(String, String)> = Vec::new();
            let exists = path.exists();
            let readable = exists && std::fs::File::open(path).is_ok();
            if !exists && source.contains(',') {
                self.parse_host_list(source);
                parsed = true;
            } else if readable && path.is_file() {
                let ext = path
                    .extension()
                    .map(|e| format!(".{}", e.to_string_lossy()))
                    .unwrap_or_default();
                let executable = {
                    use std::os::unix::fs::PermissionsExt;
                    path.metadata()
                        .map(|m| m.permissions().mode() & 0o111 != 0)
                        .unwrap_or(false)
                };
                if executable {
                    failures.push((
                        "script".into(),
                        "inventory scripts are not supported by play".into(),
                    ));
                }
                if !parsed && (ext == ".yml" || ext == ".yaml") {
                    // The `auto` plugin wants a `plugin:` key; a plain YAML inventory is not one.
                    if let Some(msg) = yaml_src::auto_plugin_failure(path) {
                        failures.push(("auto".into(), msg));
                    }
                }
                if !parsed && (ext.is_empty() || ext == ".yml" || ext == ".yaml" || ext == ".json")
                {
                    match yaml_src::parse(self, path) {
                        Ok(()) => parsed = true,
                        Err(e) => failures.push(("yaml".into(), e)),
                    }
                }
                if !parsed && ext != ".toml" {
                    match ini::parse(self, path) {
                        Ok(()) => parsed = true,
                        Err(e) => {
                            failures.push(("ini".into(), format!("Failed to parse inventory: {e}")))
                        }
                    }
                }
                if !parsed && ext == ".toml" {
                    failures.push((
                        "toml".into(),
                        "TOML inventories are not supported by play".into(),
                    ));
                }
            }
            if parsed {
                processed.push(source.to_string());
                return Ok(true);
            }
            for (plugin, msg) in &failures {
                self.warnings.push(format!(
                    "Failed to parse inventory with '{plugin}' plugin: {msg}"
                ));
            }
        }
        if opts.any_unparsed_is_failed {
            return Err(InventoryError(format!(
                "Completely failed to parse inventory source {source}"
            )));
        }
        self.warnings
            .push(format!("Unable to parse {source} as an inventory source"));
        Ok(false)
    }

    fn parse_host_list(&mut self, list: &str) {
        for h in list.split(',') {
            let h = h.trim();
            if h.is_empty() {
                continue;
            }
            let (host, port) = match address::parse_address(h, false) {
                Ok(x) => x,
                Err(_) => (h.to_string(), None),
            };
            if !self.hosts.contains_key(&host) {
                self.add_host_entry(&host, Some("ungrouped"), port, Some(list));
            }
        }
    }

    // ---- the InventoryData operations the parsers use ----

    /// Add a group if missing; returns its name.
    pub(crate) fn add_group(&mut self, name: &str) -> String {
        if !self.groups.contains_key(name) {
            if has_invalid_group_chars(name) {
                self.warnings.push(
                    "Invalid characters were found in group names but not replaced, use -vvvv to see details".into(),
                );
            }
            self.groups.insert(
                name.to_string(),
                Group {
                    name: name.to_string(),
                    ..Group::default()
                },
            );
        }
        name.to_string()
    }

    /// `InventoryData.add_host`: create the host if new (recording its source and port),
    /// then add it to `group`.
    pub(crate) fn add_host_entry(
        &mut self,
        name: &str,
        group: Option<&str>,
        port: Option<u32>,
        source: Option<&str>,
    ) {
        if !self.hosts.contains_key(name) {
            let mut host = Host {
                name: name.to_string(),
                ..Host::default()
            };
            let span = Span::synthetic("inventory");
            if let Some(p) = port.filter(|p| *p != 0) {
                host.vars.insert(
                    "ansible_port".into(),
                    span.clone(),
                    Node::new(Kind::Int(p as i64), span.clone()),
                );
            }
            let (file, dir) = match source {
                Some(s) => {
                    let dir = basedir(Path::new(s)).map(|d| d.display().to_string());
                    (Node::new(Kind::Unsafe(s.to_string()), span.clone()), dir)
                }
                None => (Node::null(span.clone()), None),
            };
            host.vars
                .insert("inventory_file".into(), span.clone(), file);
            let dir = match dir {
                Some(d) => Node::new(Kind::Unsafe(d), span.clone()),
                None => Node::null(span.clone()),
            };
            host.vars.insert("inventory_dir".into(), span.clone(), dir);
            host.source = source.map(PathBuf::from);
            self.hosts.insert(name.to_string(), host);
        }
        if let Some(g) = group {
            if let Some(group) = self.groups.get_mut(g) {
                if !group.hosts.iter().any(|h| h == name) {
                    group.hosts.push(name.to_string());
                }
            }
        }
    }

    /// `InventoryData.add_child`: a group or host becomes a member of `group`.
    pub(crate) fn add_child(&mut self, group: &str, child: &str) -> Result<(), String> {
        if !self.groups.contains_key(group) {
            return Err(format!("{group} is not a known group"));
        }
        if self.groups.contains_key(child) {
            if group == child {
                return Err("can't add group to itself".into());
            }
            if self.groups[group].children.iter().any(|c| c == child) {
                return Ok(());
            }
            if self.ancestors(group).contains(child) {
                return Err(format!(
                    "Adding group '{child}' as child to '{group}' creates a recursive dependency loop."
                ));
            }
            self.groups[group].children.push(child.to_string());
            Ok(())
        } else if self.hosts.contains_key(child) {
            let g = &mut self.groups[group];
            if !g.hosts.iter().any(|h| h == child) {
                g.hosts.push(child.to_string());
            }
            Ok(())
        } else {
            Err(format!("{child} is not a known host nor group"))
        }
    }

    /// `set_variable` on a group or host (`ansible_group_priority` sets the priority).
    pub(crate) fn set_variable(
        &mut self,
        entity: &str,
        key: &str,
        span: Span,
        value: Node,
    ) -> Result<(), String> {
        let merge = self.hash_merge;
        if let Some(g) = self.groups.get_mut(entity) {
            if key == "ansible_group_priority" {
                let prio = match &value.kind {
                    Kind::Int(i) => Some(*i),
                    Kind::Bool(b) => Some(*b as i64),
                    Kind::Float(f) => Some(f.trunc() as i64),
                    Kind::Str(s) | Kind::Unsafe(s) => s.trim().parse::<i64>().ok(),
                    _ => None,
                };
                match prio {
                    Some(p) => g.priority = p,
                    None => self.warnings.push(format!(
                        "Invalid priority value '{}' for group '{}'.Setting priority to default value.",
                        display_value(&value),
                        g.name
                    )),
                }
            } else {
                set_var(&mut g.vars, key, span, value, merge);
            }
            Ok(())
        } else if let Some(h) = self.hosts.get_mut(entity) {
            set_var(&mut h.vars, key, span, value, merge);
            Ok(())
        } else {
            Err(format!("Could not identify group or host named {entity}"))
        }
    }

    /// Ansible's post-parse rules: orphan groups become children of `all`; hosts in no
    /// group but `all` go to `ungrouped`, hosts in other groups leave it.
    fn reconcile(&mut self) {
        self.reconcile_with(true)
    }

    fn reconcile_with(&mut self, warn: bool) {
        self.generation += 1;
        let names: Vec<String> = self.groups.keys().cloned().collect();
        for g in &names {
            if g != "all" && self.parents(g).is_empty() {
                let _ = self.add_child("all", g);
            }
        }
        let hosts: Vec<String> = self.hosts.keys().cloned().collect();
        for h in &hosts {
            let groups = self.host_groups(h);
            let in_ungrouped = groups.contains("ungrouped");
            let others = groups.iter().any(|g| g != "all" && g != "ungrouped");
            if in_ungrouped {
                if others {
                    self.groups["ungrouped"].hosts.retain(|x| x != h);
                }
            } else if !others {
                let _ = self.add_child("ungrouped", h);
            }
        }
        for h in hosts.iter().filter(|_| warn) {
            if self.groups.contains_key(h) {
                self.warnings
                    .push(format!("Found both group and host with same name: {h}"));
            }
        }
    }

    /// Direct parents of a group, in group definition order.
    pub fn parents(&self, group: &str) -> Vec<String> {
        self.groups
            .values()
            .filter(|g| g.children.iter().any(|c| c == group))
            .map(|g| g.name.clone())
            .collect()
    }

    /// Every ancestor of a group (not the group itself).
    pub fn ancestors(&self, group: &str) -> IndexSet<String> {
        let mut seen = IndexSet::new();
        let mut todo = self.parents(group);
        while let Some(g) = todo.pop() {
            if seen.insert(g.clone()) {
                todo.extend(self.parents(&g));
            }
        }
        seen
    }

    /// A group's depth: the longest path from a root group (`all` is 0).
    pub fn depth(&self, group: &str) -> usize {
        fn go(inv: &Inventory, g: &str, seen: &mut Vec<String>) -> usize {
            if seen.iter().any(|s| s == g) {
                return 0;
            }
            seen.push(g.to_string());
            let d = inv
                .parents(g)
                .iter()
                .map(|p| go(inv, p, seen) + 1)
                .max()
                .unwrap_or(0);
            seen.pop();
            d
        }
        go(self, group, &mut Vec::new())
    }

    /// Every group a host is in: direct groups and their ancestors (`all` included).
    pub fn host_groups(&self, host: &str) -> IndexSet<String> {
        let mut out = IndexSet::new();
        for g in self.groups.values() {
            if g.hosts.iter().any(|h| h == host) {
                for a in self.ancestors(&g.name) {
                    out.insert(a);
                }
                out.insert(g.name.clone());
            }
        }
        out
    }

    /// The hosts of a group and its descendants, in Ansible's order (the group's own
    /// hosts, then breadth first through the children), deduplicated.
    pub fn group_hosts(&self, group: &str) -> Vec<String> {
        let Some(g) = self.groups.get(group) else {
            return Vec::new();
        };
        let mut order: Vec<&str> = vec![&g.name];
        let mut seen: IndexSet<&str> = IndexSet::new();
        seen.insert(&g.name);
        let mut frontier: Vec<&str> = Vec::new();
        for c in &g.children {
            if seen.insert(c) {
                order.push(c);
                frontier.push(c);
            }
        }
        while !frontier.is_empty() {
            let mut next = Vec::new();
            for f in &frontier {
                if let Some(fg) = self.groups.get(*f) {
                    for c in &fg.children {
                        if seen.insert(c) {
                            order.push(c);
                            next.push(c.as_str());
                        }
                    }
                }
            }
            frontier = next;
        }
        let mut hosts: IndexSet<String> = IndexSet::new();
        for name in order {
            if let Some(grp) = self.groups.get(name) {
                for h in &grp.hosts {
                    hosts.insert(h.clone());
                }
            }
        }
        hosts.into_iter().collect()
    }

    /// Groups sorted as Ansible applies their variables: depth, priority, name.
    pub fn sort_groups(&self, groups: impl IntoIterator<Item = String>) -> Vec<String> {
        let mut v: Vec<(usize, i64, String)> = groups
            .into_iter()
            .map(|g| {
                (
                    self.depth(&g),
                    self.groups.get(&g).map(|x| x.priority).unwrap_or(1),
                    g,
                )
            })
            .collect();
        v.sort();
        v.into_iter().map(|(_, _, g)| g).collect()
    }

    /// The hosts a pattern selects, in inventory order, deduplicated.
    pub fn select(&self, pattern: &str) -> Result<Vec<String>, InventoryError> {
        self.select_with_warnings(pattern).map(|(hosts, _)| hosts)
    }

    /// Every group the host is in, ancestors included, `all` excluded, sorted by name
    /// (Ansible's `group_names`).
    pub fn group_names(&self, host: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .host_groups(host)
            .into_iter()
            .filter(|g| g != "all")
            .collect();
        v.sort();
        v
    }

    /// The `groups` magic variable: every group (all and ungrouped included) to its hosts.
    pub fn groups_map(&self) -> IndexMap<String, Vec<String>> {
        self.groups
            .keys()
            .map(|g| (g.clone(), self.group_hosts(g)))
            .collect()
    }

    /// Is `name` the implicit localhost (named by a pattern, absent from the inventory)?
    pub fn is_implicit_localhost(&self, name: &str) -> bool {
        LOCALHOST.contains(&name) && !self.hosts.contains_key(name)
    }

    /// `add_host`: add (or update) a host, with groups and variables.
    /// A new host goes into `all`; its variables are combined over the old ones by
    /// hash_behaviour; each named group is created if needed (a child of `all`).
    pub fn add_host(&mut self, name: &str, groups: &[String], vars: Mapping) {
        self.dynamic.push(DynamicChange::AddHost {
            name: name.to_string(),
            groups: groups.to_vec(),
            vars: vars.clone(),
        });
        if !self.hosts.contains_key(name) {
            self.add_host_entry(name, Some("all"), None, None);
        }
        let merge = self.hash_merge;
        if let Some(h) = self.hosts.get_mut(name) {
            combine_vars(&mut h.vars, &vars, merge);
        }
        for g in groups {
            self.add_group(g);
            let _ = self.add_child(g, name);
        }
        self.reconcile_with(false);
    }

    /// `group_by`: put a host in a group, creating the group (a child of `all`) if needed.
    /// `parents` are created the same way and get the group as a child.
    /// A host that is not in the inventory (other than the implicit localhost) is ignored.
    pub fn add_to_group(&mut self, host: &str, group: &str, parents: &[String]) {
        if !self.hosts.contains_key(host) {
            if !LOCALHOST.contains(&host) {
                return;
            }
            // The implicit localhost becomes a real host, keeping its defaults.
            self.add_host_entry(host, None, None, None);
            let span = Span::synthetic("inventory");
            let _ = self.set_variable(
                host,
                "ansible_connection",
                span.clone(),
                Node::string("local", span),
            );
        }
        self.dynamic.push(DynamicChange::Group {
            host: host.to_string(),
            group: group.to_string(),
            parents: parents.to_vec(),
        });
        self.add_group(group);
        for p in parents {
            self.add_group(p);
            let _ = self.add_child(p, group);
        }
        let _ = self.add_child(group, host);
        self.reconcile_with(false);
    }
}

/// A value as Python would print it in a message.
fn display_value(n: &Node) -> String {
    match &n.kind {
        Kind::Str(s) | Kind::Unsafe(s) | Kind::Vault(s) => s.clone(),
        Kind::Null => "None".into(),
        _ => n.to_json().to_string(),
    }
}

#[cfg(test)]
mod tests;

/// Every string made of up to `n` of `parts` (inputs for tests that compare two readings).
#[cfg(test)]
fn joined_up_to(parts: &[&str], n: usize) -> Vec<String> {
    let mut all = vec![String::new()];
    let mut last = vec![String::new()];
    for _ in 0..n {
        last = last
            .iter()
            .flat_map(|s| parts.iter().map(move |p| format!("{s}{p}")))
            .collect();
        all.extend(last.iter().cloned());
    }
    all
}

/// Variables `ansible-inventory` strips from `_meta.hostvars` that we can produce.
const INTERNAL_VARS: [&str; 2] = ["inventory_dir", "inventory_file"];

impl Inventory {
    /// The inventory as `ansible-inventory --list` prints it (for differential tests and
    /// a future `--list`): every group reachable from `all` with its direct `hosts` and
    /// `children` (empty keys and empty groups left out), and `_meta.hostvars` with each
    /// host's merged inventory variables.
    pub fn to_list_json(
        &self,
        playbook_dir: Option<&Path>,
    ) -> Result<serde_json::Value, InventoryError> {
        use serde_json::{json, Map, Value};
        let hosts = self.group_hosts("all");
        let available: IndexSet<&String> = hosts.iter().collect();
        let mut out = Map::new();
        let mut seen: IndexSet<String> = IndexSet::new();
        fn format_group(
            inv: &Inventory,
            name: &str,
            avail: &IndexSet<&String>,
            seen: &mut IndexSet<String>,
            out: &mut Map<String, Value>,
        ) {
            let g = &inv.groups[name];
            let mut entry = Map::new();
            if name != "all" {
                let hs: Vec<Value> = g
                    .hosts
                    .iter()
                    .filter(|h| avail.contains(h))
                    .map(|h| json!(h))
                    .collect();
                if !hs.is_empty() {
                    entry.insert("hosts".into(), Value::Array(hs));
                }
            }
            let mut children = Vec::new();
            for c in &g.children {
                children.push(json!(c));
                if !seen.contains(c) {
                    format_group(inv, c, avail, seen, out);
                    seen.insert(c.clone());
                }
            }
            if !children.is_empty() {
                entry.insert("children".into(), Value::Array(children));
            }
            if !entry.is_empty() {
                out.insert(name.to_string(), Value::Object(entry));
            }
        }
        format_group(self, "all", &available, &mut seen, &mut out);
        let mut hostvars = Map::new();
        for h in &hosts {
            let mut vars = match self.host_vars(h, playbook_dir)?.to_json_value() {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            for k in INTERNAL_VARS {
                vars.remove(k);
            }
            if !vars.is_empty() {
                hostvars.insert(h.clone(), Value::Object(vars));
            }
        }
        out.insert("_meta".into(), json!({ "hostvars": hostvars }));
        Ok(Value::Object(out))
    }
}

trait MappingJson {
    fn to_json_value(&self) -> serde_json::Value;
}

impl MappingJson for Mapping {
    fn to_json_value(&self) -> serde_json::Value {
        serde_json::Value::Object(self.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
    }
}

//! Roles: where they are found, and what a role directory holds.

use crate::error::{Error, Result};
use crate::yaml::{self, Mapping, Node, Span};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One use of a role in a play: its directory, its parameters and the files it was asked
/// to take its tasks, vars, defaults and handlers from.
#[derive(Debug)]
pub struct Role {
    pub name: String,
    pub path: PathBuf,
    /// Role parameters (`- role: x` with extra keys, include_role's vars are separate).
    pub params: Mapping,
    pub defaults: Mapping,
    pub vars: Mapping,
    pub allow_duplicates: bool,
    /// `meta/main.yml` dependencies, as written.
    pub dependencies: Vec<Node>,
    /// Whether this role's vars and defaults are visible outside it (static roles, and
    /// include_role with `public: true`).
    pub public: bool,
}

/// Where roles are looked up: `roles/` next to the playbook, then roles_path, then the
/// playbook directory itself.
#[derive(Clone, Debug, Default)]
pub struct RoleSearch {
    pub roles_path: Vec<PathBuf>,
    pub collections_path: Vec<PathBuf>,
}

impl RoleSearch {
    pub fn find(
        &self,
        name: &str,
        playbook_dir: &Path,
        from_role: Option<&Path>,
        span: &Span,
    ) -> Result<PathBuf> {
        let direct = Path::new(name);
        if name.contains('/') || direct.is_absolute() {
            let p = if direct.is_absolute() {
                direct.to_path_buf()
            } else {
                playbook_dir.join(direct)
            };
            if p.is_dir() {
                return Ok(real_path(p));
            }
        }
        if let Some(p) = self.collection_role(name, playbook_dir) {
            return Ok(real_path(p));
        }
        // A collection-qualified name whose collection is not installed resolves to its
        // last component in the role search path.
        let short = name
            .rsplit('.')
            .next()
            .filter(|_| name.matches('.').count() >= 2)
            .unwrap_or(name);
        let mut tried = Vec::new();
        let mut candidates = vec![playbook_dir.join("roles")];
        if let Some(r) = from_role {
            if let Some(parent) = r.parent() {
                candidates.push(parent.to_path_buf());
            }
        }
        candidates.extend(self.roles_path.iter().cloned());
        candidates.push(playbook_dir.to_path_buf());
        for dir in candidates {
            let p = dir.join(short);
            if p.is_dir() {
                return Ok(real_path(p));
            }
            tried.push(dir.display().to_string());
        }
        Err(Error::at(
            format!("The role '{name}' was not found in: {}", tried.join(":")),
            span,
        )
        .general())
    }

    /// `ns.collection.role` in an installed collection: the playbook's own `collections/`
    /// directory first, then the collections path.
    fn collection_role(&self, name: &str, playbook_dir: &Path) -> Option<PathBuf> {
        let mut parts = name.splitn(3, '.');
        let (ns, coll, role) = (parts.next()?, parts.next()?, parts.next()?);
        if name.contains('/') || role.contains('.') {
            return None;
        }
        std::iter::once(playbook_dir.join("collections"))
            .chain(self.collections_path.iter().cloned())
            .map(|base| {
                base.join("ansible_collections")
                    .join(ns)
                    .join(coll)
                    .join("roles")
                    .join(role)
            })
            .find(|p| p.is_dir())
    }
}

/// A role's path as Ansible keeps it (`role_path`): absolute, with symlinks resolved.
fn real_path(p: PathBuf) -> PathBuf {
    std::fs::canonicalize(&p).unwrap_or(p)
}

/// The first existing `<dir>/<base>{,.yml,.yaml,.json}`, or the files of `<dir>/<base>/`.
pub fn find_vars_file(dir: &Path, base: &str) -> Vec<PathBuf> {
    for ext in ["", ".yml", ".yaml", ".json"] {
        let p = dir.join(format!("{base}{ext}"));
        if p.is_file() {
            return vec![p];
        }
    }
    let d = dir.join(base);
    if d.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&d)
            .map(|rd| {
                rd.filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.is_file())
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        return files;
    }
    Vec::new()
}

/// Load a vars file (or directory) into one mapping; later files override earlier ones.
pub fn load_vars_files(files: &[PathBuf]) -> Result<Mapping> {
    let mut out = Mapping::default();
    for f in files {
        let docs = yaml::load_file(f)?;
        for doc in docs {
            match doc.kind {
                yaml::Kind::Map(m) => {
                    for (k, e) in m.entries {
                        out.entries.insert(k, e);
                    }
                }
                yaml::Kind::Null => {}
                _ => {
                    return Err(Error::at(
                        format!(
                            "vars file {} was not found or is not a dictionary",
                            f.display()
                        ),
                        &doc.span,
                    ))
                }
            }
        }
    }
    Ok(out)
}

impl Role {
    pub fn load(
        name: &str,
        path: PathBuf,
        params: Mapping,
        vars_from: &str,
        defaults_from: &str,
        public: bool,
    ) -> Result<Arc<Role>> {
        let defaults = load_vars_files(&find_vars_file(&path.join("defaults"), defaults_from))?;
        let vars = load_vars_files(&find_vars_file(&path.join("vars"), vars_from))?;
        let mut allow_duplicates = false;
        let mut dependencies = Vec::new();
        let meta = find_vars_file(&path.join("meta"), "main");
        if let Some(f) = meta.first() {
            for doc in yaml::load_file(f)? {
                if let Some(m) = doc.as_map() {
                    if let Some(b) = m.get("allow_duplicates").and_then(Node::as_bool) {
                        allow_duplicates = b;
                    }
                    if let Some(deps) = m.get("dependencies").and_then(Node::as_seq) {
                        dependencies = deps.to_vec();
                    }
                }
            }
        }
        Ok(Arc::new(Role {
            name: name.to_string(),
            path,
            params,
            defaults,
            vars,
            allow_duplicates,
            dependencies,
            public,
        }))
    }

    /// The name without its collection (`ns.coll.role` is `role`), as Ansible also
    /// matches a collection role's handlers and listen topics.
    pub fn short_name(&self) -> &str {
        match self.name.splitn(3, '.').nth(2) {
            Some(role) if !self.name.contains('/') && !role.contains('.') => role,
            _ => &self.name,
        }
    }

    /// `tasks/<base>` (main by default) if it exists.
    pub fn tasks_file(&self, base: &str) -> Option<PathBuf> {
        find_vars_file(&self.path.join("tasks"), base)
            .into_iter()
            .next()
    }
    pub fn handlers_file(&self, base: &str) -> Option<PathBuf> {
        find_vars_file(&self.path.join("handlers"), base)
            .into_iter()
            .next()
    }
}

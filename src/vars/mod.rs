//! Variables in Ansible's precedence order. A [`Vars`] is a stack of layers looked up from
//! the highest down; values from playbook files stay raw (templated on first use, against the
//! same host's variables), values from modules and `set_fact` are plain data.

use crate::yaml::{Mapping, Node};
use serde_json::{Map, Value};
use std::sync::Arc;

pub mod merge;

/// One precedence level.
#[derive(Clone, Debug)]
pub enum Layer {
    /// Raw values from playbook files, inventories, the command line: templated lazily.
    Nodes(Arc<Mapping>),
    /// Data from modules, facts and `set_fact`: never templated again.
    Data(Arc<Map<String, Value>>),
}

impl Layer {
    pub fn nodes(m: Mapping) -> Layer {
        Layer::Nodes(Arc::new(m))
    }
    pub fn data(m: Map<String, Value>) -> Layer {
        Layer::Data(Arc::new(m))
    }
    fn contains(&self, name: &str) -> bool {
        match self {
            Layer::Nodes(m) => m.entries.contains_key(name),
            Layer::Data(m) => m.contains_key(name),
        }
    }
    fn keys(&self) -> Vec<String> {
        match self {
            Layer::Nodes(m) => m.keys().cloned().collect(),
            Layer::Data(m) => m.keys().cloned().collect(),
        }
    }
}

/// What a name resolves to before templating.
pub enum Raw<'a> {
    Node(&'a Node),
    Data(&'a Value),
}

/// Another host's variables, for `hostvars`.
pub trait HostVarsSource: Send + Sync + std::fmt::Debug {
    fn host_vars(&self, host: &str) -> Option<Arc<Vars>>;
    fn host_names(&self) -> Vec<String>;
}

/// The variables one template sees: layers from highest to lowest precedence.
#[derive(Clone, Debug, Default)]
pub struct Vars {
    /// Highest first.
    pub layers: Vec<Layer>,
    pub hostvars: Option<Arc<dyn HostVarsSource>>,
    /// `hash_behaviour = merge`: a dictionary defined at several levels is merged.
    pub merge: bool,
    /// How many of the lowest layers a task sees but the `vars` dictionary does not show
    /// (the connection settings Ansible's play context fills in).
    pub context_only: usize,
}

impl Vars {
    pub fn new() -> Self {
        Vars::default()
    }
    /// Add a layer below every layer already present.
    pub fn push_lower(&mut self, layer: Layer) {
        self.layers.push(layer);
    }
    /// Add a layer above every layer already present.
    pub fn push_higher(&mut self, layer: Layer) {
        self.layers.insert(0, layer);
    }

    pub fn raw(&self, name: &str) -> Option<Raw<'_>> {
        for l in &self.layers {
            match l {
                Layer::Nodes(m) => {
                    if let Some(n) = m.get(name) {
                        return Some(Raw::Node(n));
                    }
                }
                Layer::Data(m) => {
                    if let Some(v) = m.get(name) {
                        return Some(Raw::Data(v));
                    }
                }
            }
        }
        None
    }

    /// Every definition of a name, highest layer first (for `hash_behaviour = merge`).
    pub fn all_raw(&self, name: &str) -> Vec<Raw<'_>> {
        let mut out = Vec::new();
        for l in &self.layers {
            match l {
                Layer::Nodes(m) => {
                    if let Some(n) = m.get(name) {
                        out.push(Raw::Node(n));
                    }
                }
                Layer::Data(m) => {
                    if let Some(v) = m.get(name) {
                        out.push(Raw::Data(v));
                    }
                }
            }
        }
        out
    }

    pub fn contains(&self, name: &str) -> bool {
        self.layers.iter().any(|l| l.contains(name))
    }

    fn in_vars_layers(&self) -> &[Layer] {
        &self.layers[..self.layers.len().saturating_sub(self.context_only)]
    }

    /// Whether the `vars` dictionary shows the name.
    pub fn in_vars(&self, name: &str) -> bool {
        self.in_vars_layers().iter().any(|l| l.contains(name))
    }

    /// Every name the `vars` dictionary shows, highest layer first, without duplicates.
    pub fn names(&self) -> Vec<String> {
        let mut seen = indexmap::IndexSet::new();
        for l in self.in_vars_layers() {
            for k in l.keys() {
                seen.insert(k);
            }
        }
        seen.into_iter().collect()
    }
}

/// Template a string with only load-time variables (extra vars): import names, role names.
pub fn template_static(s: &str, vars: &Mapping) -> crate::error::Result<String> {
    let mut v = Vars::new();
    v.push_lower(Layer::nodes(vars.clone()));
    let ctx = crate::template::Context::new(Arc::new(v));
    let out = ctx.template_str(s)?;
    Ok(match out {
        Value::String(s) => s,
        other => crate::template::to_python_str(&other),
    })
}

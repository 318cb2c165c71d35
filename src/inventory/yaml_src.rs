//! YAML inventories (`all:` / `children:` / `hosts:` / `vars:`), as ansible-core's `yaml`
//! inventory plugin reads them.

use super::address::expand_hostpattern;
use super::Inventory;
use crate::yaml::{Kind, Node};
use std::path::Path;

/// The first document of a YAML file (None for an empty file).
pub fn load_first(path: &Path) -> Result<Option<Node>, String> {
    let docs = crate::yaml::load_file(path).map_err(|e| {
        if e.span.is_synthetic() {
            e.message.clone()
        } else {
            format!("YAML parsing failed: {} ({})", e.message, e.span)
        }
    })?;
    Ok(docs.into_iter().next())
}

/// Why the `auto` plugin declines a `.yml`/`.yaml` file: it is not an inventory plugin
/// configuration (or names a plugin play does not have).
pub fn auto_plugin_failure(path: &Path) -> Option<String> {
    match load_first(path) {
        Err(e) => Some(e),
        Ok(doc) => match doc
            .as_ref()
            .and_then(|d| d.get("plugin"))
            .and_then(Node::as_str)
        {
            Some(name) => Some(format!(
                "inventory config '{}' specifies unknown plugin '{name}'",
                path.display()
            )),
            None => Some(format!(
                "no root 'plugin' key found, '{}' is not a valid YAML inventory plugin config file",
                path.display()
            )),
        },
    }
}

fn py_type(n: &Node) -> &'static str {
    match n.type_name() {
        "str" => "<class 'str'>",
        "int" => "<class 'int'>",
        "float" => "<class 'float'>",
        "bool" => "<class 'bool'>",
        "list" => "<class 'list'>",
        "dict" => "<class 'dict'>",
        _ => "<class 'NoneType'>",
    }
}

pub fn parse(inv: &mut Inventory, path: &Path) -> Result<(), String> {
    let data = load_first(path)?;
    let Some(data) = data.filter(|d| !is_empty(d)) else {
        return Err("Parsed empty YAML file".into());
    };
    let Some(map) = data.as_map() else {
        return Err(format!(
            "YAML inventory has invalid structure, it should be a dictionary, got: {}",
            py_type(&data)
        ));
    };
    if map.get("plugin").is_some_and(|p| !is_empty(p)) {
        return Err("Plugin configuration YAML file, not YAML inventory".into());
    }
    let source = path.display().to_string();
    for (name, value) in map.iter() {
        parse_group(inv, name, value, &source)?;
    }
    Ok(())
}

/// Python truthiness of a loaded value (`if not data`).
fn is_empty(n: &Node) -> bool {
    match &n.kind {
        Kind::Null => true,
        Kind::Bool(b) => !b,
        Kind::Int(i) => *i == 0,
        Kind::Float(f) => *f == 0.0,
        Kind::Str(s) | Kind::Unsafe(s) | Kind::Vault(s) => s.is_empty(),
        Kind::Seq(s) => s.is_empty(),
        Kind::Map(m) => m.is_empty(),
    }
}

fn parse_group(
    inv: &mut Inventory,
    group: &str,
    data: &Node,
    source: &str,
) -> Result<String, String> {
    if !matches!(data.kind, Kind::Map(_) | Kind::Null) {
        inv.warnings.push(format!(
            "Skipping '{group}' as this is not a valid group definition"
        ));
        return Ok(group.to_string());
    }
    if group.is_empty() {
        return Err(format!(
            "Unable to add group {group}: Invalid empty/false group name provided: {group}"
        ));
    }
    inv.add_group(group);
    let Some(map) = data.as_map() else {
        return Ok(group.to_string());
    };
    // A string section is shorthand for a one-key mapping.
    let section = |key: &str| -> Result<Option<Node>, String> {
        match map.get(key) {
            None => Ok(None),
            Some(n) => match &n.kind {
                Kind::Str(s) | Kind::Unsafe(s) => {
                    let mut m = crate::yaml::Mapping::default();
                    m.insert(s.clone(), n.span.clone(), Node::null(n.span.clone()));
                    Ok(Some(Node::new(Kind::Map(m), n.span.clone())))
                }
                Kind::Map(_) | Kind::Null => Ok(Some(n.clone())),
                _ => Err(format!(
                    "Invalid \"{key}\" entry for \"{group}\" group, requires a dictionary, found \"{}\" instead.",
                    py_type(n)
                )),
            },
        }
    };
    let mut sections = std::collections::HashMap::new();
    for key in ["vars", "children", "hosts"] {
        if let Some(n) = section(key)? {
            sections.insert(key, n);
        }
    }
    for (key, raw) in map.iter() {
        let value = sections.get(key.as_str()).unwrap_or(raw);
        let Some(entries) = value.as_map() else {
            if !value.is_null() {
                inv.warnings.push(format!(
                    "Skipping key ({key}) in group ({group}) as it is not a mapping, it is a {}",
                    py_type(value)
                ));
            }
            continue;
        };
        match key.as_str() {
            "vars" => {
                for (var, e) in &entries.entries {
                    inv.set_variable(group, var, e.key_span.clone(), e.value.clone())?;
                }
            }
            "children" => {
                for (sub, v) in entries.iter() {
                    let sub = parse_group(inv, sub, v, source)?;
                    inv.add_child(group, &sub)?;
                }
            }
            "hosts" => {
                for (pattern, hv) in entries.iter() {
                    let (names, port) = expand_hostpattern(pattern)?;
                    let vars = match &hv.kind {
                        Kind::Map(m) => Some(m),
                        _ if is_empty(hv) => None,
                        _ => {
                            return Err(format!(
                                "Invalid data from file, expected dictionary and got:\n\n{}",
                                super::display_value(hv)
                            ))
                        }
                    };
                    for name in &names {
                        inv.add_host_entry(name, Some(group), port, Some(source));
                        if let Some(vars) = vars {
                            for (k, e) in &vars.entries {
                                inv.set_variable(name, k, e.key_span.clone(), e.value.clone())?;
                            }
                        }
                    }
                }
            }
            _ => inv.warnings.push(format!(
                "Skipping unexpected key ({key}) in group ({group}), only \"vars\", \"children\" and \"hosts\" are valid"
            )),
        }
    }
    Ok(group.to_string())
}

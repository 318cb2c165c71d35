//! INI inventories, read as ansible-core's `ini` inventory plugin reads them.

use super::address::expand_hostpattern;
use super::pyliteral::{ini_value, shlex_split};
use super::Inventory;
use crate::yaml::Span;
use indexmap::IndexMap;
use std::path::Path;
use std::sync::Arc;

// The two line shapes below are ansible-core's regular expressions
// `^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$` and `^([^:\]\s]+)\s*(?:#.*)?$`, read by hand:
// compiled, their Unicode classes held 0.4 MB of the controller's heap.

/// A group name: up to a colon, a bracket or white space.
fn group_name(s: &str) -> (&str, &str) {
    let end = s
        .find(|c: char| c == ':' || c == ']' || c.is_whitespace())
        .unwrap_or(s.len());
    s.split_at(end)
}

/// Nothing but white space and a comment.
fn only_comment(rest: &str) -> bool {
    let rest = rest.trim_start();
    rest.is_empty() || rest.starts_with('#')
}

/// `[group]` or `[group:state]`, with an optional comment after it.
fn section(line: &str) -> Option<(&str, Option<&str>)> {
    let (name, rest) = group_name(line.strip_prefix('[')?);
    if name.is_empty() {
        return None;
    }
    let (state, rest) = match rest.strip_prefix(':') {
        Some(after) => {
            let end = after
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if end == 0 {
                return None;
            }
            (Some(&after[..end]), &after[end..])
        }
        None => (None, rest),
    };
    only_comment(rest.strip_prefix(']')?).then_some((name, state))
}

/// A child group's line: its name, with an optional comment after it.
fn child_group(line: &str) -> Option<&str> {
    let (name, rest) = group_name(line);
    if !name.is_empty() && only_comment(rest) {
        return Some(name);
    }
    // Otherwise the last `#` in the name starts the comment (the expression backtracks).
    name.rfind('#').filter(|&p| p > 0).map(|p| &name[..p])
}

enum Pending {
    Vars { line: u32 },
    Children { line: u32, parents: Vec<String> },
}

/// Parse an INI file into the inventory. The error is the message Ansible shows after
/// "Failed to parse inventory: ".
pub fn parse(inv: &mut Inventory, path: &Path) -> Result<(), String> {
    let bytes = crate::vault::read_file(path)?;
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            // Non-UTF-8 bytes are tolerated in comment lines only.
            let bytes = e.into_bytes();
            let mut out = String::new();
            for line in bytes.split(|b| *b == b'\n') {
                if matches!(line.first(), Some(b'#' | b';')) {
                    out.push('\n');
                } else {
                    out.push_str(std::str::from_utf8(line).map_err(|e| e.to_string())?);
                    out.push('\n');
                }
            }
            out
        }
    };
    let file: Arc<str> = Arc::from(path.display().to_string().as_str());
    let source = path.display().to_string();
    parse_str(inv, &text, &file, &source)
}

pub fn parse_str(
    inv: &mut Inventory,
    text: &str,
    file: &Arc<str>,
    source: &str,
) -> Result<(), String> {
    let mut pending: IndexMap<String, Pending> = IndexMap::new();
    let mut group = "ungrouped".to_string();
    let mut state = "hosts".to_string();
    for (idx, raw) in text.lines().enumerate() {
        let lineno = idx as u32 + 1;
        let line = raw.trim();
        let indent = (raw.len() - raw.trim_start().len()) as u32;
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some((name, kind)) = section(line) {
            group = name.to_string();
            state = kind.unwrap_or("hosts").to_string();
            if !matches!(state.as_str(), "hosts" | "children" | "vars") {
                return Err(format!(
                    "Section [{}:{}] has unknown type: {}",
                    name, state, state
                ));
            }
            if !inv.groups.contains_key(&group) {
                if state == "vars" && !pending.contains_key(&group) {
                    pending.insert(group.clone(), Pending::Vars { line: lineno });
                }
                inv.add_group(&group);
            }
            if state != "vars" {
                match pending.get(&group) {
                    Some(Pending::Children { .. }) => {
                        add_pending_children(inv, &group, &mut pending)?
                    }
                    Some(Pending::Vars { .. }) => {
                        pending.shift_remove(&group);
                    }
                    None => {}
                }
            }
            continue;
        } else if line.starts_with('[') && line.ends_with(']') {
            return Err(format!(
                "Invalid section entry: '{line}'. Please make sure that there are no spaces in the section entry, and that there are no other invalid characters"
            ));
        }
        match state.as_str() {
            "hosts" => {
                let tokens = shlex_split(line)
                    .map_err(|e| format!("Error parsing host definition '{line}': {e}"))?;
                let Some(first) = tokens.first() else {
                    continue;
                };
                let (names, port) = expand_hostpattern(first)?;
                if first.trim().ends_with(':') && port.is_none() {
                    return Err(format!(
                        "Invalid host pattern '{first}' supplied, ending in ':' is not allowed, this character is reserved to provide a port."
                    ));
                }
                if names.iter().any(|n| n.trim() == "---") {
                    return Err(format!(
                        "Invalid host pattern '{first}' supplied, '---' is normally a sign this is a YAML file."
                    ));
                }
                let mut vars = Vec::new();
                for t in &tokens[1..] {
                    let Some((k, v)) = t.split_once('=') else {
                        return Err(format!(
                            "Expected key=value host variable assignment, got: {t}"
                        ));
                    };
                    let col = raw
                        .find(&format!("{k}="))
                        .map(|c| c as u32 + 1)
                        .unwrap_or(indent + 1);
                    let span = Span::new(file.clone(), lineno, col);
                    vars.push((
                        k.to_string(),
                        span.clone(),
                        ini_value(
                            v,
                            &Span::new(file.clone(), lineno, col + k.len() as u32 + 1),
                        ),
                    ));
                }
                for name in &names {
                    inv.add_host_entry(name, Some(&group), port, Some(source));
                    for (k, span, v) in &vars {
                        inv.set_variable(name, k, span.clone(), v.clone())?;
                    }
                }
            }
            "vars" => {
                let Some((k, v)) = line.split_once('=') else {
                    return Err(format!("Expected key=value, got: {line}"));
                };
                let (k, v) = (k.trim(), v.trim());
                let vcol = raw.len() - raw[raw.find('=').unwrap_or(0) + 1..].trim_start().len();
                let kspan = Span::new(file.clone(), lineno, indent + 1);
                let value = ini_value(v, &Span::new(file.clone(), lineno, vcol as u32 + 1));
                inv.set_variable(&group, k, kspan, value)?;
            }
            _ => {
                let Some(child) = child_group(line) else {
                    return Err(format!("Expected group name, got: {line}"));
                };
                let child = child.to_string();
                if !inv.groups.contains_key(&child) {
                    match pending.get_mut(&child) {
                        Some(Pending::Children { parents, .. }) => parents.push(group.clone()),
                        Some(Pending::Vars { .. }) => {}
                        None => {
                            pending.insert(
                                child,
                                Pending::Children {
                                    line: lineno,
                                    parents: vec![group.clone()],
                                },
                            );
                        }
                    }
                } else {
                    inv.add_child(&group, &child)?;
                }
            }
        }
    }
    if let Some((name, decl)) = pending.first() {
        return Err(match decl {
            Pending::Vars { line } => {
                format!(
                    "Section [{name}:vars] not valid for undefined group '{name}'. (line {line})"
                )
            }
            Pending::Children { line, parents } => format!(
                "Section [{}:children] includes undefined group '{name}'. (line {line})",
                parents.last().map(String::as_str).unwrap_or("")
            ),
        });
    }
    Ok(())
}

fn add_pending_children(
    inv: &mut Inventory,
    group: &str,
    pending: &mut IndexMap<String, Pending>,
) -> Result<(), String> {
    let parents = match pending.get(group) {
        Some(Pending::Children { parents, .. }) => parents.clone(),
        _ => Vec::new(),
    };
    for parent in parents {
        inv.add_child(&parent, group)?;
        if matches!(pending.get(&parent), Some(Pending::Children { .. })) {
            add_pending_children(inv, &parent, pending)?;
        }
    }
    pending.shift_remove(group);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-read shapes agree with ansible-core's expressions on every line built
    /// from the characters that matter.
    #[test]
    fn line_shapes_match_ansible_cores_expressions() {
        let sect = regex::Regex::new(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$").unwrap();
        let child = regex::Regex::new(r"^([^:\]\s]+)\s*(?:#.*)?$").unwrap();
        let parts = [
            "[", "]", ":", "a", "vars", "_", " ", "\t", "#", "x#", "é", "-", "\u{a0}",
        ];
        let lines = super::super::joined_up_to(&parts, 5);
        for line in &lines {
            let want = sect
                .captures(line)
                .map(|c| (c.get(1).unwrap().as_str(), c.get(2).map(|m| m.as_str())));
            assert_eq!(section(line), want, "section {line:?}");
            let want = child.captures(line).map(|c| c.get(1).unwrap().as_str());
            assert_eq!(child_group(line), want, "child group {line:?}");
        }
    }
}

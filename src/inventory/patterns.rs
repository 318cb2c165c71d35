//! Host patterns as ansible-core's InventoryManager evaluates them: `all`, `*`, `a:b`,
//! `a,b`, `a:&b`, `a:!b`, globs, `~regex`, subscripts `g[0]`, `g[-1]`, `g[1:3]`, `g[2:]`,
//! `--limit` subsets and `@retry` files.

use super::address::parse_address;
use super::{Inventory, InventoryError, LOCALHOST};
use indexmap::IndexSet;
use regex::Regex;
use std::path::Path;
use std::sync::OnceLock;

/// `split_host_pattern`: commas split; without commas, a single host/address stays whole
/// and anything else splits on `:` outside brackets.
pub fn split_host_pattern(pattern: &str) -> Vec<String> {
    let parts: Vec<String> = if pattern.contains(',') {
        pattern.split(',').map(str::to_string).collect()
    } else if parse_address(pattern, true).is_ok() {
        vec![pattern.to_string()]
    } else {
        static R: OnceLock<Regex> = OnceLock::new();
        let re = R.get_or_init(|| Regex::new(r"(?:[^\s:\[\]]|\[[^\]]*\])+").unwrap());
        re.find_iter(pattern)
            .map(|m| m.as_str().to_string())
            .collect()
    };
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// `order_patterns`: plain terms, then `&` terms, then `!` terms (`all` if no plain term).
fn order_patterns(patterns: &[String]) -> Vec<String> {
    let (mut regular, mut inter, mut excl) = (Vec::new(), Vec::new(), Vec::new());
    for p in patterns.iter().filter(|p| !p.is_empty()) {
        if p.starts_with('!') {
            excl.push(p.clone());
        } else if p.starts_with('&') {
            inter.push(p.clone());
        } else {
            regular.push(p.clone());
        }
    }
    if regular.is_empty() {
        regular.push("all".into());
    }
    regular.extend(inter);
    regular.extend(excl);
    regular
}

/// Read a `--limit @file` (a retry file): one pattern per line.
pub fn read_limit_file(path: &Path) -> Result<Vec<String>, InventoryError> {
    if !path.exists() {
        return Err(InventoryError(format!(
            "Unable to find limit file {}",
            path.display()
        )));
    }
    if !path.is_file() {
        return Err(InventoryError(format!(
            "Limit starting with \"@\" must be a file, not a directory: {}",
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| InventoryError(format!("{}: {e}", path.display())))?;
    Ok(text.split('\n').map(|l| l.trim().to_string()).collect())
}

/// Python's `fnmatch.translate`, anchored.
fn glob_to_regex(pat: &str) -> String {
    let chars: Vec<char> = pat.chars().collect();
    let mut out = String::from("^(?s:");
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => {
                while i < chars.len() && chars[i] == '*' {
                    i += 1;
                }
                out.push_str(".*");
            }
            '?' => out.push('.'),
            '[' => {
                let mut j = i;
                if j < chars.len() && chars[j] == '!' {
                    j += 1;
                }
                if j < chars.len() && chars[j] == ']' {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    out.push_str("\\[");
                } else {
                    let mut inner: String = chars[i..j].iter().collect();
                    i = j + 1;
                    let neg = inner.starts_with('!');
                    if neg {
                        inner.remove(0);
                    }
                    let mut class = String::new();
                    for ch in inner.chars() {
                        if matches!(ch, '\\' | '[' | ']' | '&' | '~' | '|' | '^') {
                            class.push('\\');
                        }
                        class.push(ch);
                    }
                    if class.is_empty() {
                        out.push_str(if neg { "." } else { "[^\\s\\S]" });
                    } else {
                        out.push('[');
                        if neg {
                            out.push('^');
                        }
                        out.push_str(&class);
                        out.push(']');
                    }
                }
            }
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out.push_str(")$");
    out
}

fn subscript_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| Regex::new(r"^(?s)(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$").unwrap())
}

enum Subscript {
    Index(i64),
    Range(i64, i64),
}

impl Inventory {
    /// The hosts a pattern selects, plus the warnings Ansible prints while evaluating it
    /// ("Could not match supplied host pattern, ignoring: x", the `[x-y]` deprecation).
    pub fn select_with_warnings(
        &self,
        pattern: &str,
    ) -> Result<(Vec<String>, Vec<String>), InventoryError> {
        let mut warnings = Vec::new();
        let hosts = self.evaluate_patterns(&split_host_pattern(pattern), &mut warnings)?;
        Ok((hosts, warnings))
    }

    /// `--limit`: the hosts `pattern` selects that are also in the subset `limit`
    /// (a pattern, possibly with `@file` terms naming retry files).
    pub fn select_limited(
        &self,
        pattern: &str,
        limit: Option<&str>,
    ) -> Result<Vec<String>, InventoryError> {
        let mut warnings = Vec::new();
        let hosts = self.evaluate_patterns(&split_host_pattern(pattern), &mut warnings)?;
        let Some(limit) = limit else { return Ok(hosts) };
        let subset = self.limit_hosts(limit, &mut warnings)?;
        Ok(hosts.into_iter().filter(|h| subset.contains(h)).collect())
    }

    /// The set of hosts a `--limit` value allows (with `@file` terms read).
    pub fn limit_hosts(
        &self,
        limit: &str,
        warnings: &mut Vec<String>,
    ) -> Result<IndexSet<String>, InventoryError> {
        let mut terms = Vec::new();
        for x in split_host_pattern(limit) {
            if let Some(file) = x.strip_prefix('@') {
                terms.extend(read_limit_file(Path::new(file))?);
            } else {
                terms.push(x);
            }
        }
        Ok(self
            .evaluate_patterns(&terms, warnings)?
            .into_iter()
            .collect())
    }

    /// `_evaluate_patterns`: apply already-split terms in Ansible's order.
    pub fn evaluate_patterns(
        &self,
        patterns: &[String],
        warnings: &mut Vec<String>,
    ) -> Result<Vec<String>, InventoryError> {
        let mut hosts: Vec<String> = Vec::new();
        for p in order_patterns(patterns) {
            if self.hosts.contains_key(&p) {
                hosts.push(p);
                continue;
            }
            let that = self.match_one_pattern(&p, warnings)?;
            if p.starts_with('!') {
                let that: IndexSet<&String> = that.iter().collect();
                hosts.retain(|h| !that.contains(h));
            } else if p.starts_with('&') {
                let that: IndexSet<&String> = that.iter().collect();
                hosts.retain(|h| that.contains(h));
            } else {
                let existing: IndexSet<String> = hosts.iter().cloned().collect();
                hosts.extend(that.into_iter().filter(|h| !existing.contains(h)));
            }
        }
        let dedup: IndexSet<String> = hosts.into_iter().collect();
        Ok(dedup.into_iter().collect())
    }

    fn match_one_pattern(
        &self,
        pattern: &str,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<String>, InventoryError> {
        let pattern = pattern.strip_prefix(['&', '!']).unwrap_or(pattern);
        if pattern.is_empty() {
            return Ok(Vec::new());
        }
        let (expr, sub) = split_subscript(pattern, warnings);
        let hosts = self.enumerate_matches(&expr, warnings)?;
        apply_subscript(hosts, sub).ok_or_else(|| {
            InventoryError(format!(
                "No hosts matched the subscripted pattern '{pattern}'"
            ))
        })
    }

    fn enumerate_matches(
        &self,
        pattern: &str,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<String>, InventoryError> {
        let re = if let Some(rx) = pattern.strip_prefix('~') {
            Regex::new(&format!("^(?:{rx})"))
        } else {
            Regex::new(&glob_to_regex(pattern))
        }
        .map_err(|_| InventoryError(format!("Invalid host list pattern: {pattern}")))?;
        let mut results: Vec<String> = Vec::new();
        let groups: Vec<&String> = self.groups.keys().filter(|g| re.is_match(g)).collect();
        for g in &groups {
            results.extend(self.group_hosts(g));
        }
        if groups.is_empty() || pattern.starts_with('~') || pattern.contains(['.', '?', '*', '[']) {
            results.extend(self.hosts.keys().filter(|h| re.is_match(h)).cloned());
        }
        if results.is_empty() && LOCALHOST.contains(&pattern) {
            // The first localhost-like host of the inventory stands in for all of them.
            let explicit = self.hosts.keys().find(|h| LOCALHOST.contains(&h.as_str()));
            results.push(explicit.cloned().unwrap_or_else(|| pattern.to_string()));
        }
        if results.is_empty() && groups.is_empty() && pattern != "all" {
            warnings.push(format!(
                "Could not match supplied host pattern, ignoring: {pattern}"
            ));
        }
        Ok(results)
    }
}

fn split_subscript(pattern: &str, warnings: &mut Vec<String>) -> (String, Option<Subscript>) {
    if pattern.starts_with('~') {
        return (pattern.to_string(), None);
    }
    let Some(c) = subscript_re().captures(pattern) else {
        return (pattern.to_string(), None);
    };
    let expr = c[1].to_string();
    if let Some(idx) = c.get(2) {
        return (expr, idx.as_str().parse().ok().map(Subscript::Index));
    }
    let start: i64 = c[3].parse().unwrap_or(0);
    let end: i64 = if c[5].is_empty() {
        -1
    } else {
        c[5].parse().unwrap_or(-1)
    };
    if &c[4] == "-" {
        warnings
            .push("Use [x:y] inclusive subscripts instead of [x-y] which has been removed".into());
    }
    (expr, Some(Subscript::Range(start, end)))
}

/// `_apply_subscript`; None where Python raises IndexError.
fn apply_subscript(hosts: Vec<String>, sub: Option<Subscript>) -> Option<Vec<String>> {
    let Some(sub) = sub else { return Some(hosts) };
    if hosts.is_empty() {
        return Some(hosts);
    }
    let len = hosts.len() as i64;
    let index = |i: i64| -> Option<usize> {
        let j = if i < 0 { len + i } else { i };
        (0..len).contains(&j).then_some(j as usize)
    };
    match sub {
        Subscript::Index(i) | Subscript::Range(i, 0) => index(i).map(|j| vec![hosts[j].clone()]),
        Subscript::Range(start, end) => {
            let end = if end == -1 { len - 1 } else { end };
            // Python slice hosts[start:end + 1], clamped.
            let clamp = |x: i64| -> usize {
                let x = if x < 0 { (len + x).max(0) } else { x.min(len) };
                x as usize
            };
            let (a, b) = (clamp(start), clamp(end + 1));
            Some(if a < b {
                hosts[a..b].to_vec()
            } else {
                Vec::new()
            })
        }
    }
}

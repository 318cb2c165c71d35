//! ansible.cfg (found as Ansible finds it) and the ANSIBLE_* environment variables.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Settings read from ansible.cfg, by `section.key`.
#[derive(Debug, Default, Clone)]
pub struct Config {
    pub file: Option<PathBuf>,
    values: HashMap<String, String>,
}

/// (environment variable, section, key) for the settings `play` reads.
const SETTINGS: &[(&str, &str, &str)] = &[
    ("ANSIBLE_INVENTORY", "defaults", "inventory"),
    ("ANSIBLE_ROLES_PATH", "defaults", "roles_path"),
    ("ANSIBLE_COLLECTIONS_PATH", "defaults", "collections_path"),
    ("ANSIBLE_COLLECTIONS_PATHS", "defaults", "collections_paths"),
    ("ANSIBLE_FORKS", "defaults", "forks"),
    ("ANSIBLE_REMOTE_USER", "defaults", "remote_user"),
    ("ANSIBLE_HOST_KEY_CHECKING", "defaults", "host_key_checking"),
    ("ANSIBLE_GATHERING", "defaults", "gathering"),
    ("ANSIBLE_STRATEGY", "defaults", "strategy"),
    ("ANSIBLE_FACT_PATH", "defaults", "fact_path"),
    (
        "ANSIBLE_RETRY_FILES_ENABLED",
        "defaults",
        "retry_files_enabled",
    ),
    ("ANSIBLE_STDOUT_CALLBACK", "defaults", "stdout_callback"),
    ("ANSIBLE_HASH_BEHAVIOUR", "defaults", "hash_behaviour"),
    ("ANSIBLE_TIMEOUT", "defaults", "timeout"),
    ("ANSIBLE_REMOTE_PORT", "defaults", "remote_port"),
    ("ANSIBLE_EXECUTABLE", "defaults", "executable"),
    (
        "ANSIBLE_MODULE_COMPRESSION",
        "defaults",
        "module_compression",
    ),
    ("ANSIBLE_PRIVATE_KEY_FILE", "defaults", "private_key_file"),
    ("ANSIBLE_ANY_ERRORS_FATAL", "defaults", "any_errors_fatal"),
    ("ANSIBLE_FORCE_HANDLERS", "defaults", "force_handlers"),
    (
        "ANSIBLE_ERROR_ON_MISSING_HANDLER",
        "defaults",
        "error_on_missing_handler",
    ),
    (
        "ANSIBLE_DISPLAY_SKIPPED_HOSTS",
        "defaults",
        "display_skipped_hosts",
    ),
    ("ANSIBLE_DISPLAY_OK_HOSTS", "defaults", "display_ok_hosts"),
    (
        "ANSIBLE_DEPRECATION_WARNINGS",
        "defaults",
        "deprecation_warnings",
    ),
    ("ANSIBLE_BECOME", "privilege_escalation", "become"),
    ("ANSIBLE_BECOME_USER", "privilege_escalation", "become_user"),
    (
        "ANSIBLE_BECOME_METHOD",
        "privilege_escalation",
        "become_method",
    ),
    (
        "ANSIBLE_BECOME_ASK_PASS",
        "privilege_escalation",
        "become_ask_pass",
    ),
    (
        "ANSIBLE_BECOME_FLAGS",
        "privilege_escalation",
        "become_flags",
    ),
    (
        "ANSIBLE_BECOME_ALLOW_SAME_USER",
        "privilege_escalation",
        "become_allow_same_user",
    ),
    ("ANSIBLE_NO_LOG", "defaults", "no_log"),
    ("ANSIBLE_REMOTE_TMP", "defaults", "remote_tmp"),
    ("ANSIBLE_TRANSPORT", "defaults", "transport"),
    ("ANSIBLE_CACHE_PLUGIN", "defaults", "fact_caching"),
    (
        "ANSIBLE_CACHE_PLUGIN_CONNECTION",
        "defaults",
        "fact_caching_connection",
    ),
    (
        "ANSIBLE_CACHE_PLUGIN_PREFIX",
        "defaults",
        "fact_caching_prefix",
    ),
    (
        "ANSIBLE_CACHE_PLUGIN_TIMEOUT",
        "defaults",
        "fact_caching_timeout",
    ),
    (
        "ANSIBLE_VAULT_PASSWORD_FILE",
        "defaults",
        "vault_password_file",
    ),
    (
        "ANSIBLE_VAULT_IDENTITY_LIST",
        "defaults",
        "vault_identity_list",
    ),
    (
        "ANSIBLE_CHECK_MODE_MARKERS",
        "defaults",
        "check_mode_markers",
    ),
    ("ANSIBLE_SHOW_CUSTOM_STATS", "defaults", "show_custom_stats"),
    ("ANSIBLE_PIPELINING", "ssh_connection", "pipelining"),
    (
        "ANSIBLE_INVENTORY_UNPARSED_FAILED",
        "inventory",
        "unparsed_is_failed",
    ),
    (
        "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED",
        "inventory",
        "any_unparsed_is_failed",
    ),
];

impl Config {
    /// Find and read ansible.cfg: $ANSIBLE_CONFIG, ./ansible.cfg, ~/.ansible.cfg,
    /// /etc/ansible/ansible.cfg — the first that exists.
    pub fn load() -> Config {
        let mut candidates: Vec<PathBuf> = Vec::new();
        if let Ok(p) = std::env::var("ANSIBLE_CONFIG") {
            let p = PathBuf::from(p);
            candidates.push(if p.is_dir() { p.join("ansible.cfg") } else { p });
        }
        if let Ok(cwd) = std::env::current_dir() {
            candidates.push(cwd.join("ansible.cfg"));
        }
        if let Some(home) = std::env::var_os("HOME") {
            candidates.push(PathBuf::from(home).join(".ansible.cfg"));
        }
        candidates.push(PathBuf::from("/etc/ansible/ansible.cfg"));
        for c in candidates {
            if c.is_file() {
                if let Ok(text) = std::fs::read_to_string(&c) {
                    let mut cfg = Config::parse(&text);
                    cfg.file = Some(c);
                    return cfg;
                }
            }
        }
        Config::default()
    }

    /// INI as Python's configparser reads it: sections, `key = value` or `key: value`,
    /// `#`/`;` comment lines, indented continuation lines.
    pub fn parse(text: &str) -> Config {
        let mut values = HashMap::new();
        let mut section = String::new();
        let mut last_key: Option<String> = None;
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            if line.starts_with(char::is_whitespace) {
                if let Some(k) = &last_key {
                    let v: &mut String = values.entry(k.clone()).or_default();
                    v.push('\n');
                    v.push_str(trimmed);
                    continue;
                }
            }
            if let Some(s) = trimmed.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
                section = s.trim().to_string();
                last_key = None;
                continue;
            }
            let pos = trimmed.find(['=', ':']);
            if let Some(p) = pos {
                let k = trimmed[..p].trim().to_ascii_lowercase();
                let mut v = trimmed[p + 1..].trim().to_string();
                if let Some(i) = v.find(" ;").or_else(|| v.find(" #")) {
                    v.truncate(i);
                    v = v.trim().to_string();
                }
                let key = format!("{section}.{k}");
                values.insert(key.clone(), v);
                last_key = Some(key);
            }
        }
        Config { file: None, values }
    }

    /// A setting: the environment variable wins over the file.
    pub fn get(&self, section: &str, key: &str) -> Option<String> {
        if let Some((env, _, _)) = SETTINGS.iter().find(|(_, s, k)| *s == section && *k == key) {
            if let Ok(v) = std::env::var(env) {
                return Some(v);
            }
        }
        self.values.get(&format!("{section}.{key}")).cloned()
    }

    pub fn defaults(&self, key: &str) -> Option<String> {
        self.get("defaults", key)
    }

    pub fn bool(&self, section: &str, key: &str) -> Option<bool> {
        self.get(section, key).map(|v| to_bool(&v))
    }

    /// A path setting: `~` expanded, relative to the config file's directory.
    pub fn path(&self, value: &str) -> PathBuf {
        let expanded = expand_user(value);
        let p = Path::new(&expanded);
        if p.is_absolute() {
            return p.to_path_buf();
        }
        match &self.file {
            Some(f) => f.parent().unwrap_or(Path::new(".")).join(p),
            None => p.to_path_buf(),
        }
    }

    /// A `:`-separated path list setting.
    pub fn path_list(&self, value: &str) -> Vec<PathBuf> {
        value
            .split([':', ','])
            .filter(|s| !s.trim().is_empty())
            .map(|s| self.path(s.trim()))
            .collect()
    }
}

/// Ansible's boolean spellings for settings.
pub fn to_bool(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "yes" | "on" | "y" | "t"
    )
}

pub fn expand_user(p: &str) -> String {
    if let Some(rest) = p.strip_prefix('~') {
        if rest.is_empty() || rest.starts_with('/') {
            if let Some(home) = std::env::var_os("HOME") {
                return format!("{}{}", home.to_string_lossy(), rest);
            }
        }
    }
    p.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sections_and_comments() {
        let c = Config::parse("[defaults]\n# c\nforks = 10 ; x\nroles_path: a:b\n[privilege_escalation]\nbecome=True\n");
        assert_eq!(c.values["defaults.forks"], "10");
        assert_eq!(c.values["defaults.roles_path"], "a:b");
        assert_eq!(c.values["privilege_escalation.become"], "True");
    }
}

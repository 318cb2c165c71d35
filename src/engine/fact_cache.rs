//! The `jsonfile` fact cache, in ansible-core's on-disk format, so `play` and
//! `ansible-playbook` read each other's caches.
//!
//! One file per host in `fact_caching_connection`, named `<prefix>s1_<host>` (`s1_` is
//! the cache schema, the host name is replaced by a SHA-256 prefix when it holds a path
//! character). The file is `{"__payload__": "<facts as JSON text>"}`; Ansible tags values
//! inside the payload (`{"__ansible_type": "_AnsibleTaggedStr", "value": ..., "tags": ...}`),
//! which reading unwraps and writing never produces. A file older than
//! `fact_caching_timeout` seconds (0: never) counts as absent.

use crate::output::pyjson;
use serde_json::{json, Map, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// The schema prefix ansible-core puts before every cache key.
const SCHEMA: &str = "s1_";
const PAYLOAD: &str = "__payload__";

/// The cache settings (ansible.cfg `fact_caching*`, ANSIBLE_CACHE_PLUGIN*).
#[derive(Clone, Debug)]
pub struct FactCacheOptions {
    pub dir: PathBuf,
    pub prefix: String,
    /// Seconds; 0 keeps entries forever.
    pub timeout: u64,
}

#[derive(Debug)]
pub struct FactCache {
    opts: FactCacheOptions,
}

impl FactCache {
    /// Open the cache directory, creating it when missing. Errors are Ansible's wording.
    pub fn open(opts: FactCacheOptions) -> Result<FactCache, String> {
        let dir = &opts.dir;
        if !dir.exists() {
            std::fs::create_dir_all(dir).map_err(|_| {
                format!(
                    "Error in 'jsonfile' cache plugin while trying to create cache dir '{}'.",
                    dir.display()
                )
            })?;
        } else if !writable_dir(dir) {
            return Err(format!(
                "'jsonfile' cache, configured path ({}) does not have necessary permissions (rwx), disabling plugin",
                dir.display()
            ));
        }
        Ok(FactCache { opts })
    }

    fn file(&self, host: &str) -> PathBuf {
        let key = format!("{SCHEMA}{host}");
        let unsafe_key =
            ['/', '<', '>', '|'].iter().any(|c| key.contains(*c)) || key.contains("..");
        let safe = if unsafe_key {
            use sha2::Digest;
            let digest = hex::encode(sha2::Sha256::digest(key.as_bytes()));
            digest[..key.len().clamp(12, digest.len())].to_string()
        } else {
            key
        };
        self.opts.dir.join(format!("{}{safe}", self.opts.prefix))
    }

    fn expired(&self, path: &Path) -> bool {
        if self.opts.timeout == 0 {
            return false;
        }
        let age = std::fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .unwrap_or_default();
        age > Duration::from_secs(self.opts.timeout)
    }

    /// A host's cached facts (keys as Ansible stores them: `ansible_*` for gathered facts,
    /// bare names for `set_fact: cacheable`). `Err` for a corrupt file, which is removed.
    pub fn get(&self, host: &str) -> Result<Option<Map<String, Value>>, String> {
        let path = self.file(host);
        if !path.is_file() || self.expired(&path) {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "Error while accessing the cache file '{}': {e}",
                path.display()
            )
        })?;
        match decode(&text) {
            Some(facts) => Ok(Some(facts)),
            None => {
                let _ = std::fs::remove_file(&path);
                Err(format!(
                    "The cache file {} was corrupt, or did not otherwise contain valid data. It has been removed, so you can re-run your command now.",
                    path.display()
                ))
            }
        }
    }

    /// Replace a host's entry, atomically (a temporary file in the same directory, renamed).
    pub fn set(&self, host: &str, facts: &Map<String, Value>) -> Result<(), String> {
        let path = self.file(host);
        let payload =
            pyjson::ascii_escape(&pyjson::dumps(&Value::Object(facts.clone()), None, false));
        let text = pyjson::ascii_escape(&pyjson::dumps(&json!({ PAYLOAD: payload }), None, false));
        let fail = |e: std::io::Error| {
            format!(
                "Error in 'jsonfile' cache plugin while trying to write to '{}': {e}",
                path.display()
            )
        };
        let mut tmp = tempfile::NamedTempFile::new_in(&self.opts.dir).map_err(fail)?;
        tmp.write_all(text.as_bytes()).map_err(fail)?;
        tmp.persist(&path).map_err(|e| fail(e.error))?;
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644));
        Ok(())
    }

    pub fn delete(&self, host: &str) {
        let _ = std::fs::remove_file(self.file(host));
    }
}

fn writable_dir(dir: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: access() only reads the NUL-terminated path.
    unsafe { libc::access(c.as_ptr(), libc::R_OK | libc::W_OK | libc::X_OK) == 0 }
}

/// The facts of a cache file: the payload's JSON with Ansible's value tags removed.
fn decode(text: &str) -> Option<Map<String, Value>> {
    let outer: Value = serde_json::from_str(text).ok()?;
    let payload = outer.get(PAYLOAD)?.as_str()?;
    match untag(serde_json::from_str(payload).ok()?) {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// Ansible's tagged values (`_AnsibleTagged*` with `value` and `tags`) become their value;
/// an encrypted string becomes its plaintext when a vault secret opens it, its vault text
/// otherwise.
fn untag(v: Value) -> Value {
    match v {
        Value::Object(mut m) if m.contains_key("__ansible_type") => {
            if let Some(inner) = m.remove("value") {
                return untag(inner);
            }
            if let Some(Value::String(c)) = m.remove("ciphertext") {
                return Value::String(crate::vault::decrypt_text(&c).unwrap_or(c));
            }
            Value::Object(m)
        }
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (k, untag(v))).collect()),
        Value::Array(a) => Value::Array(a.into_iter().map(untag).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(dir: &Path, prefix: &str, timeout: u64) -> FactCache {
        FactCache::open(FactCacheOptions {
            dir: dir.to_path_buf(),
            prefix: prefix.into(),
            timeout,
        })
        .unwrap()
    }

    #[test]
    fn reads_a_file_written_by_ansible() {
        // Shape of ansible-core 2.21's jsonfile entry after `set_fact: cacheable=yes`.
        let d = tempfile::tempdir().unwrap();
        let payload = r#"{"ansible_system": "Linux", "_ansible_facts_gathered": true, "c1": {"value": "cached", "tags": [{"path": "/p.yml", "line_num": 5, "col_num": 23, "__ansible_type": "Origin"}, {"__ansible_type": "TrustedAsTemplate"}], "__ansible_type": "_AnsibleTaggedStr"}, "n": {"value": {"a": {"value": 1, "tags": [], "__ansible_type": "_AnsibleTaggedInt"}}, "tags": [], "__ansible_type": "_AnsibleTaggedDict"}}"#;
        std::fs::write(
            d.path().join("pre_s1_web1"),
            serde_json::to_string(&json!({ "__payload__": payload })).unwrap(),
        )
        .unwrap();
        let got = cache(d.path(), "pre_", 0).get("web1").unwrap().unwrap();
        assert_eq!(
            Value::Object(got),
            json!({"ansible_system": "Linux", "_ansible_facts_gathered": true, "c1": "cached", "n": {"a": 1}})
        );
    }

    #[test]
    fn writes_what_it_reads_with_python_separators() {
        let d = tempfile::tempdir().unwrap();
        let c = cache(d.path(), "", 86400);
        let facts = json!({"ansible_hostname": "héte", "c1": [1, true]});
        c.set("web1", facts.as_object().unwrap()).unwrap();
        let text = std::fs::read_to_string(d.path().join("s1_web1")).unwrap();
        assert_eq!(
            text,
            r#"{"__payload__": "{\"ansible_hostname\": \"h\\u00e9te\", \"c1\": [1, true]}"}"#
        );
        assert_eq!(Value::Object(c.get("web1").unwrap().unwrap()), facts);
        c.delete("web1");
        assert_eq!(c.get("web1").unwrap(), None);
    }

    #[test]
    fn path_characters_are_hashed_and_stale_entries_ignored() {
        let d = tempfile::tempdir().unwrap();
        let c = cache(d.path(), "", 1);
        let name = c
            .file("a/b")
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        assert_eq!(name.len(), 12);
        assert!(name.chars().all(|ch| ch.is_ascii_hexdigit()));
        c.set("old", &Map::new()).unwrap();
        let past = SystemTime::now() - Duration::from_secs(10);
        let f = std::fs::File::options()
            .write(true)
            .open(c.file("old"))
            .unwrap();
        f.set_modified(past).unwrap();
        assert_eq!(c.get("old").unwrap(), None);
    }

    #[test]
    fn a_corrupt_file_is_an_error_and_removed() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("s1_h"), "not json").unwrap();
        let c = cache(d.path(), "", 0);
        assert!(c.get("h").unwrap_err().contains("was corrupt"));
        assert!(!d.path().join("s1_h").exists());
    }
}

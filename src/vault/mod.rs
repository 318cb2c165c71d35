//! Ansible Vault: the secrets given on the command line and in ansible.cfg, and decryption
//! of vault texts (`!vault` scalars, whole vaulted files) with them.
//!
//! The secrets are set once, before anything is loaded, and read from everywhere that
//! loads files or renders values, as Ansible's own loader does. Decryption is lazy for
//! `!vault` scalars (a value never used needs no secret) and eager for whole files.

mod envelope;
pub mod prompt;
pub mod secrets;

pub use envelope::is_encrypted;
use envelope::{Envelope, Failure};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

/// One vault secret: the identity it was given under and the password bytes.
#[derive(Clone)]
pub struct Secret {
    pub id: String,
    password: Vec<u8>,
}

impl Secret {
    pub fn new(id: impl Into<String>, password: Vec<u8>) -> Secret {
        Secret {
            id: id.into(),
            password,
        }
    }
}

/// The password never shows in debug output.
impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({})", self.id)
    }
}

static SECRETS: RwLock<Vec<Secret>> = RwLock::new(Vec::new());
/// Plaintexts already opened, by vault text: key derivation costs 10000 rounds and the same
/// value is rendered once per host and task.
static OPENED: Mutex<Option<HashMap<String, Arc<[u8]>>>> = Mutex::new(None);
/// Files whose text on disk is a vault: their plaintext must not appear in error excerpts.
static VAULTED_FILES: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);
/// The plaintexts of the `!vault` values used so far, for the `vault_encrypted` test.
static VAULT_VALUES: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// Make these the secrets every later decryption uses.
pub fn install(secrets: Vec<Secret>) {
    *SECRETS.write().unwrap_or_else(|e| e.into_inner()) = secrets;
    if let Ok(mut o) = OPENED.lock() {
        *o = None;
    }
}

/// Decrypt a vault text with the installed secrets. The error is Ansible's wording.
pub fn decrypt(text: &str) -> Result<Arc<[u8]>, String> {
    if let Some(p) = OPENED
        .lock()
        .ok()
        .and_then(|o| o.as_ref().and_then(|m| m.get(text).cloned()))
    {
        return Ok(p);
    }
    let secrets = SECRETS.read().unwrap_or_else(|e| e.into_inner()).clone();
    let plain: Arc<[u8]> = open_with(text, &secrets)?.into();
    if let Ok(mut o) = OPENED.lock() {
        o.get_or_insert_with(HashMap::new)
            .insert(text.to_string(), plain.clone());
    }
    Ok(plain)
}

/// Try each secret in the order given (the header's label only names the intended one;
/// it is not authenticated, so Ansible tries them all).
fn open_with(text: &str, secrets: &[Secret]) -> Result<Vec<u8>, String> {
    let env = Envelope::parse(text).map_err(message)?;
    if env.cipher != "AES256" {
        return Err(message(Failure::Cipher(format!(
            "Cipher '{}' could not be found.",
            env.cipher
        ))));
    }
    if secrets.is_empty() {
        return Err(NO_SECRETS.into());
    }
    let preferred = secrets.iter().filter(|s| Some(&s.id) == env.label.as_ref());
    let others = secrets.iter().filter(|s| Some(&s.id) != env.label.as_ref());
    for s in preferred.chain(others) {
        match env.open(&s.password) {
            Ok(p) => return Ok(p),
            Err(Failure::WrongSecret) => continue,
            Err(f) => return Err(message(f)),
        }
    }
    Err("Decryption failed (no vault secrets were found that could decrypt).".into())
}

fn message(f: Failure) -> String {
    match f {
        Failure::Format(m) | Failure::Cipher(m) => m,
        Failure::WrongSecret => {
            "Decryption failed (no vault secrets were found that could decrypt).".into()
        }
    }
}

/// Decrypt a vault text that must hold UTF-8 (a `!vault` value, a vaulted YAML file).
pub fn decrypt_text(text: &str) -> Result<String, String> {
    let plain = decrypt(text)?;
    String::from_utf8(plain.to_vec()).map_err(|_| "Vault plaintext is not valid UTF-8.".into())
}

/// The plaintext of a `!vault` value as templates see it. Ansible's decrypted value stays
/// marked as vaulted wherever it is passed on; play's template values carry no marks, so
/// the text itself is remembered: `vault_encrypted` holds for a string with the text of a
/// vault value used in this run (a plain string that happens to equal a secret would count
/// too, where Ansible would tell them apart).
pub fn open_value(text: &str) -> Result<String, String> {
    let plain = decrypt_text(text)?;
    if let Ok(mut v) = VAULT_VALUES.lock() {
        v.get_or_insert_with(HashSet::new).insert(plain.clone());
    }
    Ok(plain)
}

/// Whether a string is the plaintext of a `!vault` value (see [`open_value`]).
pub fn is_vault_value(s: &str) -> bool {
    VAULT_VALUES
        .lock()
        .ok()
        .is_some_and(|v| v.as_ref().is_some_and(|set| set.contains(s)))
}

/// The error text when no secret is installed at all.
pub const NO_SECRETS: &str = "Attempting to decrypt but no vault secrets found.";

/// A file on the controller as actions send it (`copy`, `template`, `script` sources):
/// decrypted when it is a vault. The error is Ansible's wording.
pub fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    let data =
        std::fs::read(path).map_err(|e| format!("Could not read {}: {e}", path.display()))?;
    if !is_encrypted(&data) {
        return Ok(data);
    }
    mark_vaulted_file(path);
    let text = String::from_utf8_lossy(&data);
    decrypt(&text).map(|p| p.to_vec())
}

/// Remember that a file on disk is a vault, so excerpts of it are never shown.
pub fn mark_vaulted_file(path: &Path) {
    if let Ok(mut v) = VAULTED_FILES.lock() {
        v.get_or_insert_with(HashSet::new)
            .insert(path.to_path_buf());
    }
}

pub fn is_vaulted_file(path: &Path) -> bool {
    VAULTED_FILES
        .lock()
        .ok()
        .is_some_and(|v| v.as_ref().is_some_and(|s| s.contains(path)))
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::envelope::tests::V12;

    #[test]
    fn no_secrets_and_wrong_secrets_have_ansibles_messages() {
        assert_eq!(
            open_with(V12, &[]).unwrap_err(),
            "Attempting to decrypt but no vault secrets found."
        );
        let wrong = [Secret::new("lbl", b"nope".to_vec())];
        assert_eq!(
            open_with(V12, &wrong).unwrap_err(),
            "Decryption failed (no vault secrets were found that could decrypt)."
        );
    }

    #[test]
    fn every_secret_is_tried_whatever_its_label() {
        let s = [
            Secret::new("default", b"nope".to_vec()),
            Secret::new("other", b"secret2".to_vec()),
        ];
        assert_eq!(open_with(V12, &s).unwrap(), b"two");
    }

    #[test]
    fn debug_output_hides_the_password() {
        let s = Secret::new("dev", b"hunter2".to_vec());
        assert_eq!(format!("{s:?}"), "Secret(dev)");
    }
}

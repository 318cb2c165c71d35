//! Where vault secrets come from: `--vault-id label@source`, `--vault-password-file`,
//! `--ask-vault-pass`, and ansible.cfg's `vault_identity_list` / `vault_password_file`.
//!
//! A source is `prompt` (ask on the terminal), an executable (its stdout is the password;
//! a name ending in `-client` is also given `--vault-id <label>`), or a plain file (its
//! content, stripped). A source that cannot be read is a warning while another one works,
//! as in Ansible; when none works the last problem is the error.

use super::Secret;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The identity secrets get when none is given.
pub const DEFAULT_ID: &str = "default";

/// Everything that names a secret, in the order Ansible considers them.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    /// ansible.cfg `vault_identity_list` (or ANSIBLE_VAULT_IDENTITY_LIST), then `--vault-id`.
    pub vault_ids: Vec<String>,
    /// `--vault-password-file`, then ansible.cfg `vault_password_file`.
    pub password_files: Vec<String>,
    pub ask: bool,
}

impl Sources {
    /// `label@source` slugs, as Ansible builds them: identities first, then password files
    /// under the default identity, then the `--ask-vault-pass` prompt.
    fn slugs(&self) -> Vec<String> {
        let mut out = self.vault_ids.clone();
        out.extend(
            self.password_files
                .iter()
                .map(|f| format!("{DEFAULT_ID}@{f}")),
        );
        if self.ask {
            out.push(format!("{DEFAULT_ID}@prompt_ask_vault_pass"));
        }
        out
    }
}

/// Read every secret. Warnings go to `warn`; the error is the message to show.
pub fn load(sources: &Sources, warn: &mut dyn FnMut(String)) -> Result<Vec<Secret>, String> {
    let mut secrets: Vec<Secret> = Vec::new();
    let mut last_error: Option<String> = None;
    for slug in sources.slugs() {
        let (label, value) = match slug.split_once('@') {
            Some((l, v)) => (Some(l.to_string()), v.to_string()),
            None => (None, slug.clone()),
        };
        let shown = label.clone().unwrap_or_else(|| "None".into());
        if value == "prompt" || value == "prompt_ask_vault_pass" {
            let id = label.clone().unwrap_or_else(|| DEFAULT_ID.into());
            let question = if value == "prompt" {
                format!("Vault password ({id}): ")
            } else {
                "Vault password: ".to_string()
            };
            match super::prompt::ask(&question, &id) {
                Ok(p) => secrets.push(Secret::new(id, p)),
                Err(e) => {
                    warn(format!("Error in vault password prompt ({shown}): {e}"));
                    return Err(e);
                }
            }
            continue;
        }
        let path = absolute(&value);
        if !path.exists() {
            let e = format!("The vault password file {} was not found", path.display());
            warn(format!("Error getting vault password file ({shown}): {e}"));
            last_error = Some(e);
            continue;
        }
        if path.is_dir() {
            let e = format!(
                "The vault password file provided '{}' can not be a directory",
                path.display()
            );
            warn(format!("Error getting vault password file ({shown}): {e}"));
            last_error = Some(e);
            continue;
        }
        let read = if is_executable(&path) {
            from_script(&path, label.as_deref())
        } else {
            from_file(&path, &secrets)
        };
        match read {
            Ok(p) => secrets.push(Secret::new(label.unwrap_or_else(|| DEFAULT_ID.into()), p)),
            Err(e) => {
                warn(format!(
                    "Error in vault password file loading ({shown}): {e}"
                ));
                last_error = Some(e);
            }
        }
    }
    match last_error {
        Some(e) if secrets.is_empty() => Err(e),
        _ => Ok(secrets),
    }
}

fn absolute(p: &str) -> PathBuf {
    let p = PathBuf::from(p);
    if p.is_absolute() {
        p
    } else {
        std::env::current_dir().unwrap_or_default().join(p)
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

/// A plain password file: its content without surrounding whitespace. The file may itself
/// be a vault opened by a secret read before it.
fn from_file(path: &Path, earlier: &[Secret]) -> Result<Vec<u8>, String> {
    let data = std::fs::read(path)
        .map_err(|_| format!("Could not read vault password file '{}'.", path.display()))?;
    let mut pass = data.trim_ascii().to_vec();
    if super::is_encrypted(&pass) {
        let text = String::from_utf8_lossy(&pass).into_owned();
        pass = super::open_with(&text, earlier)?;
    }
    let pass = strip_newlines(&pass);
    if pass.is_empty() {
        return Err(format!(
            "Invalid vault password was provided from file ({})",
            path.display()
        ));
    }
    Ok(pass.to_vec())
}

/// An executable: its stdout, without surrounding line breaks.
fn from_script(path: &Path, label: Option<&str>) -> Result<Vec<u8>, String> {
    let client = path
        .file_stem()
        .is_some_and(|s| s.to_string_lossy().ends_with("-client"));
    let mut cmd = Command::new(path);
    cmd.stdout(Stdio::piped()).stdin(Stdio::inherit());
    if client {
        cmd.stderr(Stdio::piped());
        if let Some(l) = label {
            cmd.args(["--vault-id", l]);
        }
    }
    let kind = if client { "client script" } else { "script" };
    let out = cmd.output().map_err(|e| {
        format!(
            "Problem running vault password {kind} {} ({e}). If this is not a script, remove the executable bit from the file.",
            path.display()
        )
    })?;
    if !out.status.success() {
        let rc = out.status.code().unwrap_or(-1);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        return Err(if client && rc == 2 {
            format!(
                "Vault password client script {} did not find a secret for vault-id={}: {stderr}",
                path.display(),
                label.unwrap_or("None")
            )
        } else {
            format!(
                "Vault password {kind} {} returned non-zero ({rc}): {stderr}",
                path.display()
            )
        });
    }
    let pass = strip_newlines(&out.stdout);
    if pass.is_empty() {
        return Err(format!(
            "Invalid vault password was provided from script ({})",
            path.display()
        ));
    }
    Ok(pass.to_vec())
}

fn strip_newlines(b: &[u8]) -> &[u8] {
    let is_nl = |c: &u8| *c == b'\r' || *c == b'\n';
    let start = b.iter().position(|c| !is_nl(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !is_nl(c)).map_or(start, |e| e + 1);
    &b[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn write(dir: &Path, name: &str, text: &str, mode: u32) -> String {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p.display().to_string()
    }

    #[test]
    fn files_scripts_and_labels() {
        let d = tempfile::tempdir().unwrap();
        let plain = write(d.path(), "pw", "  secret1 \n", 0o600);
        let script = write(d.path(), "pw.sh", "#!/bin/sh\necho secret2\n", 0o700);
        let client = write(
            d.path(),
            "pw-client.sh",
            "#!/bin/sh\n[ \"$1\" = --vault-id ] && echo \"pw-$2\"\n",
            0o700,
        );
        let src = Sources {
            vault_ids: vec![format!("dev@{script}"), format!("ops@{client}")],
            password_files: vec![plain],
            ask: false,
        };
        let got = load(&src, &mut |w| panic!("{w}")).unwrap();
        let got: Vec<(String, Vec<u8>)> = got.into_iter().map(|s| (s.id, s.password)).collect();
        assert_eq!(
            got,
            vec![
                ("dev".into(), b"secret2".to_vec()),
                ("ops".into(), b"pw-ops".to_vec()),
                ("default".into(), b"secret1".to_vec()),
            ]
        );
    }

    #[test]
    fn a_missing_file_warns_while_another_works_and_fails_alone() {
        let d = tempfile::tempdir().unwrap();
        let good = write(d.path(), "pw", "x\n", 0o600);
        let missing = d.path().join("nope").display().to_string();
        let mut warnings = Vec::new();
        let src = Sources {
            password_files: vec![missing.clone(), good],
            ..Default::default()
        };
        assert_eq!(load(&src, &mut |w| warnings.push(w)).unwrap().len(), 1);
        assert_eq!(
            warnings,
            vec![format!(
                "Error getting vault password file (default): The vault password file {missing} was not found"
            )]
        );
        let src = Sources {
            password_files: vec![missing.clone()],
            ..Default::default()
        };
        assert_eq!(
            load(&src, &mut |_| {}).unwrap_err(),
            format!("The vault password file {missing} was not found")
        );
    }

    #[test]
    fn an_empty_password_file_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let empty = write(d.path(), "pw", "\n\n", 0o600);
        let src = Sources {
            password_files: vec![empty.clone()],
            ..Default::default()
        };
        assert_eq!(
            load(&src, &mut |_| {}).unwrap_err(),
            format!("Invalid vault password was provided from file ({empty})")
        );
    }
}

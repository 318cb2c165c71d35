//! Checkpoint local facts: what a finished stage leaves on a host, and whether a stage may be
//! skipped because of it.
//!
//! The file is `<fact_path>/<svc>.fact`, JSON, so plain Ansible reads it as
//! `ansible_local.<svc>`: `{"install": {"version": "14.2.0", "fingerprint": "sha256:...",
//! "completed": "2026-11-22T03:50:00Z", "play_version": "0.1.0"}, ...}`.

use super::names::Stage;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// What one stage recorded when it finished.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub version: String,
    pub fingerprint: String,
    pub completed: String,
}

/// A service's checkpoint file as read from a host.
#[derive(Clone, Debug, Default)]
pub struct Checkpoints {
    /// The whole JSON object, kept so that writing one stage keeps the others (and anything
    /// a role added itself).
    pub doc: Map<String, Value>,
}

/// Why a checkpoint file could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unreadable(pub String);

impl Checkpoints {
    /// Parse the file's text. A file that is not a JSON object is reported, and treated as
    /// holding no checkpoints (the stages run again).
    pub fn parse(text: &str) -> Result<Checkpoints, Unreadable> {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(doc)) => Ok(Checkpoints { doc }),
            Ok(other) => Err(Unreadable(format!(
                "expected a JSON object, found {}",
                type_name(&other)
            ))),
            Err(e) => Err(Unreadable(format!("not valid JSON: {e}"))),
        }
    }

    pub fn get(&self, stage: Stage) -> Option<Record> {
        let m = self.doc.get(stage.name())?.as_object()?;
        let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
        Some(Record {
            version: s("version")?,
            fingerprint: s("fingerprint")?,
            completed: s("completed").unwrap_or_default(),
        })
    }

    /// Record a finished stage.
    pub fn set(&mut self, stage: Stage, version: &str, fingerprint: &str, completed: &str) {
        self.doc.insert(
            stage.name().to_string(),
            json!({
                "version": version,
                "fingerprint": fingerprint,
                "completed": completed,
                "play_version": env!("CARGO_PKG_VERSION"),
            }),
        );
    }

    pub fn to_text(&self) -> String {
        let mut s = serde_json::to_string_pretty(&Value::Object(self.doc.clone()))
            .unwrap_or_else(|_| "{}".into());
        s.push('\n');
        s
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The task files of one stage of a service in a role's tasks/ directory: the stage files
/// themselves and their sub-files, sorted by name.
pub fn stage_files(tasks_dir: &Path, svc: &str, stage: Stage) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(tasks_dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .filter(|p| {
                    let name = p.file_name().map(|n| n.to_string_lossy().to_string());
                    name.and_then(|n| super::names::parse(&n))
                        .map(|f| f.svc == svc && f.stage == stage)
                        .unwrap_or(false)
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// A fingerprint of a stage's task files: any change to their names or contents changes it.
pub fn fingerprint(files: &[PathBuf]) -> String {
    let mut h = Sha256::new();
    for f in files {
        let name = f.file_name().map(|n| n.to_string_lossy().to_string());
        h.update(name.unwrap_or_default().as_bytes());
        h.update([0]);
        h.update(std::fs::read(f).unwrap_or_default());
        h.update([0]);
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// What a host wants of a stage this run.
#[derive(Clone, Debug)]
pub struct Want {
    pub version: String,
    pub fingerprint: String,
    /// Why the stage is forced to run, if it is.
    pub forced: Option<String>,
    pub ignore_checkpoints: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Run(String),
    Skip(String),
}

impl Decision {
    pub fn skips(&self) -> bool {
        matches!(self, Decision::Skip(_))
    }
    pub fn reason(&self) -> &str {
        match self {
            Decision::Run(r) | Decision::Skip(r) => r,
        }
    }
}

/// Whether a stage runs on a host, given what its checkpoint file holds.
pub fn decide(stage: Stage, found: &Result<Checkpoints, Unreadable>, want: &Want) -> Decision {
    if !stage.checkpointed() {
        return Decision::Run("configure always runs".into());
    }
    if let Some(why) = &want.forced {
        return Decision::Run(format!("forced ({why})"));
    }
    if want.ignore_checkpoints {
        return Decision::Run("checkpoints ignored (--ignore-checkpoints)".into());
    }
    let cps = match found {
        Ok(c) => c,
        Err(Unreadable(why)) => {
            return Decision::Run(format!("checkpoint file unreadable ({why})"));
        }
    };
    let Some(rec) = cps.get(stage) else {
        return Decision::Run("no checkpoint".into());
    };
    if rec.version != want.version {
        return Decision::Run(format!(
            "checkpoint is for version {}, this run deploys {}",
            rec.version, want.version
        ));
    }
    if rec.fingerprint != want.fingerprint {
        return Decision::Run("task files changed since the checkpoint".into());
    }
    Decision::Skip(format!(
        "stage {stage} done (version {}, completed {})",
        rec.version, rec.completed
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(v: &str) -> Want {
        Want {
            version: v.into(),
            fingerprint: "sha256:f".into(),
            forced: None,
            ignore_checkpoints: false,
        }
    }

    #[test]
    fn round_trip_and_decisions() {
        let mut c = Checkpoints::parse(r#"{"own_key": 1}"#).unwrap();
        c.set(Stage::Install, "1.0", "sha256:f", "2026-01-01T00:00:00Z");
        let c = Checkpoints::parse(&c.to_text()).unwrap();
        assert_eq!(c.doc["own_key"], json!(1));
        let found = Ok(c);
        assert!(decide(Stage::Install, &found, &want("1.0")).skips());
        assert!(!decide(Stage::Install, &found, &want("1.1")).skips());
        assert!(!decide(Stage::Build, &found, &want("1.0")).skips());
        assert!(!decide(Stage::Configure, &found, &want("1.0")).skips());
        let mut w = want("1.0");
        w.fingerprint = "sha256:g".into();
        assert!(!decide(Stage::Install, &found, &w).skips());
        let mut w = want("1.0");
        w.forced = Some("--force-stage install".into());
        assert!(!decide(Stage::Install, &found, &w).skips());
        let mut w = want("1.0");
        w.ignore_checkpoints = true;
        assert!(!decide(Stage::Install, &found, &w).skips());
    }

    #[test]
    fn corrupt_files_run_the_stage() {
        for text in ["{not json", "[1, 2]", "\"x\"", ""] {
            let found = Checkpoints::parse(text);
            assert!(found.is_err(), "{text}");
            assert!(!decide(Stage::Install, &found, &want("1")).skips());
        }
        // A stage entry of the wrong shape is no checkpoint.
        let found = Checkpoints::parse(r#"{"install": "done"}"#);
        assert!(!decide(Stage::Install, &found, &want("1")).skips());
    }

    #[test]
    fn fingerprint_follows_contents() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("app_install.yml"), "- debug: msg=a\n").unwrap();
        std::fs::write(d.path().join("app_install_apt.yml"), "- debug: msg=b\n").unwrap();
        std::fs::write(d.path().join("app_configure.yml"), "- debug: msg=c\n").unwrap();
        std::fs::write(d.path().join("other_install.yml"), "- debug: msg=d\n").unwrap();
        let files = stage_files(d.path(), "app", Stage::Install);
        assert_eq!(files.len(), 2);
        let before = fingerprint(&files);
        std::fs::write(d.path().join("app_configure.yml"), "- debug: msg=C\n").unwrap();
        assert_eq!(
            before,
            fingerprint(&stage_files(d.path(), "app", Stage::Install))
        );
        std::fs::write(d.path().join("app_install_apt.yml"), "- debug: msg=B\n").unwrap();
        assert_ne!(
            before,
            fingerprint(&stage_files(d.path(), "app", Stage::Install))
        );
    }
}

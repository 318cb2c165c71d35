//! Build artifacts: the build stage runs once per service and version on the build host and
//! leaves a manifest in the artifact store; the stage step copies the manifest's artifacts to
//! every host, verified by sha256, before the host's stage or install tasks run.
//!
//! Variables: `artifact_store` (a directory, default `artifacts/` next to the playbook) or
//! `artifact_store_url` (an HTTP server serving such a directory), `play_stage_root` (default
//! /var/cache/play/stage), `developer_mode` (build in-line on every host, no manifest). For
//! the role's tasks `play` sets `play_artifact_dir` (during build, on the build host),
//! `play_stage_dir` and `play_manifest` (from the stage step on).

use super::actions::{module_named, Call};
use super::play::PlayCtx;
use super::scope::Scope;
use super::task::{truthy, value_str};
use crate::error::Result;
use crate::playbook::{StageRef, Task};
use crate::stages::manifest::{self, Manifest};
use crate::template::Context;
use base64::Engine as _;
use serde_json::{json, Map, Value};
use sha1::Digest as _;
use std::path::PathBuf;
use std::sync::Arc;

const DEFAULT_STAGE_ROOT: &str = "/var/cache/play/stage";
const DEFAULT_BUILD_ROOT: &str = "/var/cache/play/build";

/// Where a run's artifacts live.
#[derive(Clone, Debug)]
pub enum Store {
    Dir(PathBuf),
    Url(String),
}

impl Store {
    pub fn of(ctx: &Arc<PlayCtx>, c: &Arc<Context>) -> Store {
        if let Some(url) = var(c, "artifact_store_url") {
            return Store::Url(url.trim_end_matches('/').to_string());
        }
        let dir = var(c, "artifact_store")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("artifacts"));
        Store::Dir(if dir.is_absolute() {
            dir
        } else {
            ctx.play.dir.join(dir)
        })
    }

    pub fn describe(&self, svc: &str, version: &str) -> String {
        match self {
            Store::Dir(d) => d.join(svc).join(version).display().to_string(),
            Store::Url(u) => format!("{u}/{svc}/{version}"),
        }
    }

    /// The manifest of a service's version, if the store has one.
    pub fn manifest(
        &self,
        svc: &str,
        version: &str,
    ) -> std::result::Result<Option<Manifest>, String> {
        let text = match self {
            Store::Dir(d) => {
                if !d.is_dir() {
                    return Err(format!("the artifact store {} does not exist", d.display()));
                }
                let p = d.join(svc).join(version).join(manifest::FILE);
                match std::fs::read_to_string(&p) {
                    Ok(t) => t,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(format!("{}: {e}", p.display())),
                }
            }
            Store::Url(u) => {
                let url = format!("{u}/{svc}/{version}/{}", manifest::FILE);
                let mut args = Map::new();
                args.insert("url".into(), json!(url));
                args.insert("return_content".into(), json!(true));
                args.insert("status_code".into(), json!([200, 404]));
                let r = crate::connection::local::run_module("uri", &args, &Default::default());
                if r.get("failed").map(truthy) == Some(true) {
                    let msg = r.get("msg").map(value_str).unwrap_or_default();
                    return Err(format!("the artifact store {u} cannot be reached: {msg}"));
                }
                if r.get("status").and_then(Value::as_i64) == Some(404) {
                    return Ok(None);
                }
                r.get("content").map(value_str).unwrap_or_default()
            }
        };
        Manifest::parse(&text)
            .map(Some)
            .map_err(|e| format!("the manifest of {svc} {version} is unusable: {e}"))
    }
}

fn var(c: &Arc<Context>, name: &str) -> Option<String> {
    c.resolve(name)
        .and_then(|v| crate::template::from_mj(&v).ok())
        .filter(|v| !v.is_null())
        .map(|v| value_str(&v))
        .filter(|s| !s.is_empty())
}

pub fn developer_mode(c: &Arc<Context>) -> bool {
    c.resolve("developer_mode")
        .and_then(|v| crate::template::from_mj(&v).ok())
        .map(|v| truthy(&v))
        .unwrap_or(false)
}

/// The host a service's build runs on: the first of `build_hosts`, else the controller.
pub fn build_host(ctx: &Arc<PlayCtx>) -> String {
    let inv = ctx.run.inventory.read().unwrap();
    inv.select("build_hosts")
        .ok()
        .and_then(|hs| hs.into_iter().next())
        .unwrap_or_else(|| "localhost".to_string())
}

/// The build host's OS and architecture, for the manifest: its facts when gathered, else
/// the controller's.
pub fn platform(ctx: &Arc<PlayCtx>, host: &str) -> (String, String) {
    ctx.run.host_state(host, |hs| {
        let f = |k: &str| hs.facts.get(k).map(value_str);
        (
            f("system")
                .map(|s| s.to_lowercase())
                .unwrap_or_else(|| std::env::consts::OS.to_string()),
            f("architecture").unwrap_or_else(|| std::env::consts::ARCH.to_string()),
        )
    })
}

/// After a successful build: describe what the build left in the version's directory.
pub fn write_manifest(
    ctx: &Arc<PlayCtx>,
    build_host: &str,
    dir: &std::path::Path,
    svc: &str,
    version: &str,
) -> std::result::Result<Manifest, String> {
    let (os, arch) = platform(ctx, build_host);
    let created = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let m = Manifest::scan(dir, svc, version, &os, &arch, &created)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    m.write(dir)
        .map_err(|e| format!("writing {}: {e}", dir.join(manifest::FILE).display()))?;
    Ok(m)
}

/// Whether a host is reached in this process (the local connection).
pub fn is_local(ctx: &Arc<PlayCtx>, host: &str, scope: &Arc<Scope>) -> bool {
    let c = Context::new(Arc::new(ctx.vars_for(host, Some(scope), None, None)));
    super::connect::route(ctx, host, &c, Default::default()).transport == "local"
}

/// `<root>/<svc>/<version>`, the root from a variable or its default.
fn version_dir(
    c: &Arc<Context>,
    root_var: &str,
    default: &str,
    svc: &str,
    version: &str,
) -> PathBuf {
    PathBuf::from(var(c, root_var).unwrap_or_else(|| default.into()))
        .join(svc)
        .join(version)
}

/// Where a build host other than the controller builds (`play_build_root`).
pub fn remote_build_dir(c: &Arc<Context>, svc: &str, version: &str) -> PathBuf {
    version_dir(c, "play_build_root", DEFAULT_BUILD_ROOT, svc, version)
}

pub fn make_remote_dir(
    ctx: &Arc<PlayCtx>,
    task: &Arc<Task>,
    scope: &Arc<Scope>,
    host: &str,
    dir: &std::path::Path,
) -> Result<std::result::Result<(), String>> {
    let c = Context::new(Arc::new(ctx.vars_for(host, Some(scope), None, None)));
    let mut mk = Map::new();
    mk.insert("path".into(), json!(dir.display().to_string()));
    mk.insert("state".into(), json!("directory"));
    let r = module_named(
        Call {
            ctx,
            task,
            scope,
            host,
            c: &c,
        },
        "file",
        mk,
    )?;
    Ok(match r.get("failed").map(truthy) {
        Some(true) => Err(format!(
            "cannot create the build directory {} on {host}: {}",
            dir.display(),
            r.get("msg").map(value_str).unwrap_or_default()
        )),
        _ => Ok(()),
    })
}

/// Bring what a remote build left in `remote` into the store directory `local`, each file
/// written atomically.
pub fn collect_remote(
    ctx: &Arc<PlayCtx>,
    task: &Arc<Task>,
    scope: &Arc<Scope>,
    host: &str,
    remote: &std::path::Path,
    local: &std::path::Path,
) -> Result<std::result::Result<usize, String>> {
    let c = Context::new(Arc::new(ctx.vars_for(host, Some(scope), None, None)));
    let call = || Call {
        ctx,
        task,
        scope,
        host,
        c: &c,
    };
    let mut find = Map::new();
    find.insert("paths".into(), json!(remote.display().to_string()));
    find.insert("recurse".into(), json!(true));
    find.insert("file_type".into(), json!("file"));
    find.insert("hidden".into(), json!(true));
    let r = module_named(call(), "find", find)?;
    if r.get("failed").map(truthy) == Some(true) {
        return Ok(Err(format!(
            "listing the build's artifacts in {} on {host}: {}",
            remote.display(),
            r.get("msg").map(value_str).unwrap_or_default()
        )));
    }
    let files: Vec<String> = r
        .get("files")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|f| f.get("path").map(value_str))
                .collect()
        })
        .unwrap_or_default();
    for f in &files {
        let rel = std::path::Path::new(f).strip_prefix(remote).map_err(|_| {
            crate::error::Error::new(format!("{f} is outside {}", remote.display()))
        })?;
        let mut slurp = Map::new();
        slurp.insert("src".into(), json!(f));
        let r = module_named(call(), "slurp", slurp)?;
        let data = r
            .get("content")
            .and_then(Value::as_str)
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok());
        let Some(data) = data else {
            return Ok(Err(format!(
                "fetching artifact {f} from {host}: {}",
                r.get("msg").map(value_str).unwrap_or_default()
            )));
        };
        let dest = local.join(rel);
        let write = || -> std::io::Result<()> {
            let dir = dest.parent().unwrap_or(local);
            std::fs::create_dir_all(dir)?;
            let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
            std::io::Write::write_all(&mut tmp, &data)?;
            tmp.persist(&dest).map_err(|e| e.error)?;
            Ok(())
        };
        if let Err(e) = write() {
            return Ok(Err(format!("writing {}: {e}", dest.display())));
        }
    }
    Ok(Ok(files.len()))
}

/// The stage directory of a service's version on a host.
pub fn stage_dir(c: &Arc<Context>, svc: &str, version: &str) -> PathBuf {
    version_dir(c, "play_stage_root", DEFAULT_STAGE_ROOT, svc, version)
}

/// Copy every artifact of the manifest to the host's stage directory, skipping those already
/// there with the right sha256. Returns the task result (failed when an artifact does not
/// match its manifest or cannot be written; nothing is left half-written: the copy and
/// get_url modules write to a temporary file and rename).
pub fn stage_on_host(
    ctx: &Arc<PlayCtx>,
    task: &Arc<Task>,
    scope: &Arc<Scope>,
    host: &str,
    store: &Store,
    m: &Manifest,
) -> Result<Map<String, Value>> {
    let c = Context::new(Arc::new(ctx.vars_for(host, Some(scope), None, None)));
    let dir = stage_dir(&c, &m.service, &m.version);
    let call = || Call {
        ctx,
        task,
        scope,
        host,
        c: &c,
    };
    let mut staged = Vec::new();
    let mut changed = false;
    let fail = |msg: String| {
        let mut r = Map::new();
        r.insert("changed".into(), json!(false));
        r.insert("failed".into(), json!(true));
        r.insert("msg".into(), json!(msg));
        r
    };
    for a in &m.artifacts {
        let dest = dir.join(&a.path);
        let parent = dest.parent().unwrap_or(&dir).display().to_string();
        let mut st = Map::new();
        st.insert("path".into(), json!(dest.display().to_string()));
        st.insert("checksum_algorithm".into(), json!("sha256"));
        let present = module_named(call(), "stat", st)?;
        let have = present
            .get("stat")
            .and_then(|s| s.get("checksum"))
            .map(value_str);
        if have.as_deref() == Some(a.sha256.as_str()) {
            staged.push(json!({"path": a.path, "changed": false}));
            continue;
        }
        let mut mk = Map::new();
        mk.insert("path".into(), json!(parent));
        mk.insert("state".into(), json!("directory"));
        let r = module_named(call(), "file", mk)?;
        if r.get("failed").map(truthy) == Some(true) {
            return Ok(fail(format!(
                "cannot create {parent}: {}",
                r.get("msg").map(value_str).unwrap_or_default()
            )));
        }
        let r = match store {
            Store::Dir(root) => {
                let src = root.join(&m.service).join(&m.version).join(&a.path);
                let data = match std::fs::read(&src) {
                    Ok(d) => d,
                    Err(e) => {
                        return Ok(fail(format!(
                            "artifact {} is missing from the store: {}: {e}",
                            a.path,
                            src.display()
                        )))
                    }
                };
                let sum = hex::encode(sha2::Sha256::digest(&data));
                if sum != a.sha256 {
                    return Ok(fail(format!(
                        "artifact {} does not match its manifest: sha256 {sum} in the store, {} in the manifest",
                        a.path, a.sha256
                    )));
                }
                let mut cp = Map::new();
                super::actions::attach_source(&mut cp, &data, Some(&a.name));
                cp.insert("dest".into(), json!(dest.display().to_string()));
                cp.insert("mode".into(), json!("0644"));
                cp.insert(
                    "checksum".into(),
                    json!(hex::encode(sha1::Sha1::digest(&data))),
                );
                module_named(call(), "copy", cp)?
            }
            Store::Url(u) => {
                let mut get = Map::new();
                get.insert(
                    "url".into(),
                    json!(format!("{u}/{}/{}/{}", m.service, m.version, a.path)),
                );
                get.insert("dest".into(), json!(dest.display().to_string()));
                get.insert("checksum".into(), json!(format!("sha256:{}", a.sha256)));
                get.insert("mode".into(), json!("0644"));
                module_named(call(), "get_url", get)?
            }
        };
        if r.get("failed").map(truthy) == Some(true) {
            return Ok(fail(format!(
                "staging artifact {} to {}: {}",
                a.path,
                dest.display(),
                r.get("msg").map(value_str).unwrap_or_default()
            )));
        }
        changed = true;
        staged.push(json!({"path": a.path, "changed": true}));
    }
    ctx.run.host_state(host, |hs| {
        hs.vars
            .insert("play_stage_dir".into(), json!(dir.display().to_string()));
        hs.vars.insert(
            "play_manifest".into(),
            serde_json::to_value(m).unwrap_or(Value::Null),
        );
    });
    let mut r = Map::new();
    r.insert("changed".into(), json!(changed));
    r.insert("stage_dir".into(), json!(dir.display().to_string()));
    r.insert("artifacts".into(), Value::Array(staged));
    Ok(r)
}

/// The task the stage step reports under.
pub fn stage_step_task(sref: &StageRef) -> Arc<Task> {
    let span = crate::yaml::Span::new(Arc::from(sref.path.to_string_lossy().as_ref()), 1, 1);
    Arc::new(Task::synthetic(
        &format!("stage artifacts of {}", sref.file.svc),
        "copy",
        crate::yaml::Mapping::default(),
        span,
        Some(sref.role.clone()),
    ))
}

//! `apt_repository`: one-line `deb`/`deb-src` entries in sources.list and
//! sources.list.d/*.list. The directories come from apt's configuration
//! (`apt-config`), so APT_CONFIG in the task environment redirects them, as it does
//! for python-apt.

use crate::args::{b, i, r, s, Params, Spec};
use crate::sysutil::{module, res, run};
use crate::util::{atomic_write, Failure, MResult};
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn spec() -> Spec {
    Spec::new(vec![
        s("repo").required(),
        s("state")
            .default("present")
            .choices(&["absent", "present"]),
        r("mode"),
        b("update_cache").default(true).aliases(&["update-cache"]),
        i("update_cache_retries").default(5),
        i("update_cache_retry_max_delay").default(12),
        s("filename"),
        b("install_python_apt").default(true),
        b("validate_certs").default(true),
        s("codename"),
    ])
}

/// A directory or file from apt's configuration (`Dir::Etc::sourceparts` etc.).
pub(crate) fn apt_dir(key: &str, kind: &str, fallback: &str, ctx: &ModuleContext) -> PathBuf {
    run(
        &[
            "apt-config".into(),
            "shell".into(),
            "X".into(),
            format!("{key}/{kind}"),
        ],
        &[],
        None,
        ctx,
    )
    .ok()
    .and_then(|o| {
        let v = o
            .stdout
            .trim()
            .strip_prefix("X=")?
            .trim_matches('\'')
            .to_string();
        (!v.is_empty()).then_some(v)
    })
    .map(|v| PathBuf::from(v.trim_end_matches('/')))
    .unwrap_or_else(|| PathBuf::from(fallback))
}

fn norm(line: &str) -> Option<String> {
    let l = line.split('#').next().unwrap_or("").trim();
    let first = l.split_whitespace().next()?;
    if first != "deb" && first != "deb-src" {
        return None;
    }
    Some(l.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn suggest_filename(repo: &str) -> String {
    let mut line = String::new();
    let mut depth = 0;
    for c in repo.chars() {
        match c {
            '[' => depth += 1,
            ']' if depth > 0 => depth -= 1,
            _ if depth == 0 => line.push(c),
            _ => {}
        }
    }
    let re = regex::Regex::new(r"\w+://").expect("regex");
    let line = re.replace_all(&line, "").to_string();
    let parts: Vec<&str> = line
        .split_whitespace()
        .filter(|p| *p != "deb" && *p != "deb-src")
        .collect();
    let first = parts.first().copied().unwrap_or("");
    let first = first.rsplit_once('@').map(|(_, h)| h).unwrap_or(first);
    let cleaned: String = first
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
        .collect();
    format!(
        "{}.list",
        cleaned.split_whitespace().collect::<Vec<_>>().join("_")
    )
}

fn source_files(ctx: &ModuleContext) -> (PathBuf, Vec<PathBuf>) {
    let parts = apt_dir("Dir::Etc::sourceparts", "d", "/etc/apt/sources.list.d", ctx);
    let main = apt_dir("Dir::Etc::sourcelist", "f", "/etc/apt/sources.list", ctx);
    let mut files = vec![main];
    if let Ok(rd) = std::fs::read_dir(&parts) {
        let mut v: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "list"))
            .collect();
        v.sort();
        files.extend(v);
    }
    (parts, files)
}

pub fn run_module(args: &Args, ctx: &ModuleContext, m: &str) -> ModuleResult {
    let mut r = module(spec(), args, ctx, m, body);
    deprecated(&mut r, "apt_repository");
    r
}

/// ansible-core's plugin routing marks apt_repository and apt_key deprecated: every
/// result of theirs, failures included, carries the notice.
pub(crate) fn deprecated(r: &mut ModuleResult, module: &str) {
    r.insert(
        "deprecations".into(),
        json!([{
            "collection_name": "ansible.builtin",
            "deprecator": {"resolved_name": "ansible.builtin", "type": null},
            "msg": format!("{module} has been deprecated. Use deb822_repository instead."),
            "version": "2.25"
        }]),
    );
}

fn body(p: &Params, ctx: &ModuleContext) -> MResult<ModuleResult> {
    let repo = p.str("repo").unwrap_or("").to_string();
    if repo.is_empty() {
        return Err(Failure::new(
            "Please set argument 'repo' to a non-empty value",
        ));
    }
    if repo.starts_with("ppa:") {
        return Err(Failure::new(
            "PPA repositories are only supported on Ubuntu hosts",
        ));
    }
    let want =
        norm(&repo).ok_or_else(|| Failure::new(format!("Invalid repository string: {repo}")))?;
    let present = p.str("state") == Some("present");
    let (parts, files) = source_files(ctx);
    let mut added = Vec::new();
    let mut removed = Vec::new();
    // (file, content before if it existed, content after if it still exists)
    let mut touched: Vec<(String, Option<String>, Option<String>)> = Vec::new();
    if present {
        let exists = files.iter().any(|f| {
            std::fs::read_to_string(f)
                .unwrap_or_default()
                .lines()
                .any(|l| norm(l).as_deref() == Some(want.as_str()))
        });
        if !exists {
            let fname = match p.str("filename") {
                Some(f) => format!("{f}.list"),
                None => suggest_filename(&repo),
            };
            let path = parts.join(fname);
            let before = std::fs::read_to_string(&path).ok();
            let mut text = before.clone().unwrap_or_default();
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&want);
            text.push('\n');
            let new = !path.exists();
            if new {
                added.push(path.display().to_string());
            }
            touched.push((path.display().to_string(), before, Some(text.clone())));
            if !ctx.check_mode {
                atomic_write(&path, text.as_bytes()).map_err(|e| {
                    Failure::new(format!("Failed to write {}: {e}", path.display()))
                })?;
                let mode = match p.get("mode") {
                    Some(m) => {
                        crate::util::parse_mode(m, 0o100644).map_err(|(m, _)| Failure::new(m))?
                    }
                    None => 0o644,
                };
                if new || p.is_set("mode") {
                    use std::os::unix::fs::PermissionsExt;
                    let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode));
                }
            }
        }
    } else {
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            if !text
                .lines()
                .any(|l| norm(l).as_deref() == Some(want.as_str()))
            {
                continue;
            }
            let kept: Vec<&str> = text
                .lines()
                .filter(|l| norm(l).as_deref() != Some(want.as_str()))
                .collect();
            let gone = kept.iter().all(|l| l.trim().is_empty())
                && f.extension().is_some_and(|e| e == "list")
                && f.parent() == Some(parts.as_path());
            let after = (!gone).then(|| kept.join("\n") + "\n");
            if gone {
                removed.push(f.display().to_string());
            }
            touched.push((f.display().to_string(), Some(text.clone()), after));
            if ctx.check_mode {
                continue;
            }
            if gone {
                std::fs::remove_file(f)
                    .map_err(|e| Failure::new(format!("Failed to remove {}: {e}", f.display())))?;
            } else {
                atomic_write(Path::new(f), (kept.join("\n") + "\n").as_bytes())
                    .map_err(|e| Failure::new(format!("Failed to write {}: {e}", f.display())))?;
            }
        }
    }
    let changed = !touched.is_empty();
    if changed && !ctx.check_mode && p.bool("update_cache") {
        let o = run(
            &["apt-get".into(), "update".into()],
            crate::apt::ENV,
            None,
            ctx,
        )?;
        if o.rc != 0 {
            return Err(Failure::new(format!(
                "Failed to update apt cache: {}",
                o.stderr.trim()
            )));
        }
    }
    let mut r = res(changed);
    r.insert("repo".into(), json!(repo));
    r.insert("state".into(), json!(p.str("state")));
    r.insert("sources_added".into(), json!(added));
    r.insert("sources_removed".into(), json!(removed));
    // as ansible-core: the diff shows only files that appear or disappear
    let diff: Vec<Value> = if ctx.diff {
        touched
            .iter()
            .filter(|(f, _, _)| added.contains(f) || removed.contains(f))
            .map(|(f, before, after)| {
                json!({
                    "before": before.clone().unwrap_or_default(),
                    "after": after.clone().unwrap_or_default(),
                    "before_header": if before.is_some() { f.as_str() } else { "/dev/null" },
                    "after_header": if after.is_some() { f.as_str() } else { "/dev/null" },
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    r.insert("diff".into(), json!(diff));
    Ok(r)
}

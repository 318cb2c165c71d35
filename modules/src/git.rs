//! `git`: clone, update and switch versions through the git CLI. Result keys as
//! Ansible's: `before` (null on clone), `after`, `changed`, and `remote_url_changed` for
//! an existing checkout.

use crate::args::{b, i, l, p, s, Params, Spec, Type};
use crate::sysutil::{module, res, run_in, which, Out};
use crate::util::{Failure, MResult};
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::{json, Value};
use std::path::Path;

fn spec() -> Spec {
    Spec::new(vec![
        p("dest"),
        s("repo").required().aliases(&["name"]),
        s("version").default("HEAD"),
        s("remote").default("origin"),
        s("refspec"),
        s("reference"),
        b("force").default(false),
        i("depth"),
        b("clone").default(true),
        b("update").default(true),
        b("verify_commit").default(false),
        l("gpg_allowlist").elements(Type::Str).default(json!([])),
        b("accept_hostkey").default(false),
        b("accept_newhostkey").default(false),
        p("key_file"),
        s("ssh_opts"),
        p("executable"),
        b("bare").default(false),
        r_umask(),
        b("recursive").default(true),
        b("single_branch").default(false),
        b("track_submodules").default(false),
        p("archive"),
        s("archive_prefix"),
        p("separate_git_dir"),
    ])
    .exclusive(&["separate_git_dir", "bare"])
    .exclusive(&["accept_hostkey", "accept_newhostkey"])
    .required_by("archive_prefix", &["archive"])
}

fn r_umask() -> crate::args::Opt {
    crate::args::Opt::new("umask", Type::Raw)
}

struct Git<'a> {
    bin: String,
    env: Vec<(&'static str, String)>,
    ctx: &'a ModuleContext,
}

impl Git<'_> {
    fn run(&self, args: &[&str], cwd: Option<&str>) -> MResult<Out> {
        let mut v = vec![self.bin.clone()];
        v.extend(args.iter().map(|s| s.to_string()));
        let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run_in(&v, &env, None, cwd, self.ctx)
    }
    fn must(&self, args: &[&str], cwd: Option<&str>, msg: &str) -> MResult<Out> {
        let o = self.run(args, cwd)?;
        if o.rc != 0 {
            let cmd = format!("{} {}", self.bin, args.join(" "));
            return Err(command_failure(msg, cmd, &o));
        }
        Ok(o)
    }
}

/// A failed git command as Ansible's module reports it: the command and all its output.
fn command_failure(msg: &str, cmd: String, o: &Out) -> Failure {
    Failure::new(msg.to_string())
        .with("cmd", cmd)
        .with("rc", o.rc)
        .with("stdout", o.stdout.clone())
        .with(
            "stdout_lines",
            Value::Array(crate::util::splitlines(&o.stdout)),
        )
        .with("stderr", o.stderr.clone())
        .with(
            "stderr_lines",
            Value::Array(crate::util::splitlines(&o.stderr)),
        )
}

/// (sha, kind) of `version` on the remote: kind is "head", "branch", "tag" or "sha".
fn remote_ref(g: &Git, repo: &str, version: &str) -> MResult<(Option<String>, &'static str)> {
    let first = |o: &Out| {
        o.stdout
            .lines()
            .next()
            .and_then(|l| l.split_whitespace().next())
            .map(str::to_string)
    };
    // Ansible's first look at the remote asks whether the version is a branch; when the
    // remote cannot be read, that command and git's own words are the failure.
    let heads = format!("refs/heads/{version}");
    let o = g.run(&["ls-remote", repo, "-h", &heads], None)?;
    if o.rc != 0 {
        let cmd = format!("{} ls-remote {repo} -h {heads}", g.bin);
        return Err(command_failure(o.stderr.trim_end(), cmd, &o));
    }
    if version == "HEAD" {
        let o = g.must(
            &["ls-remote", repo, "HEAD"],
            None,
            &format!("Failed to get remote HEAD of {repo}"),
        )?;
        return Ok((first(&o), "head"));
    }
    if let Some(s) = first(&o) {
        return Ok((Some(s), "branch"));
    }
    let o = g.run(
        &["ls-remote", repo, &format!("refs/tags/{version}^{{}}")],
        None,
    )?;
    if let Some(s) = first(&o) {
        return Ok((Some(s), "tag"));
    }
    let o = g.run(&["ls-remote", repo, &format!("refs/tags/{version}")], None)?;
    if let Some(s) = first(&o) {
        return Ok((Some(s), "tag"));
    }
    Ok((Some(version.to_string()), "sha"))
}

pub fn run_module(args: &Args, ctx: &ModuleContext, m: &str) -> ModuleResult {
    module(spec(), args, ctx, m, body)
}

fn body(p: &Params, ctx: &ModuleContext) -> MResult<ModuleResult> {
    let bin = match p.str("executable") {
        Some(e) => e.to_string(),
        None => which("git")
            .map(|x| x.display().to_string())
            .ok_or_else(|| {
                Failure::new(format!(
                    "Failed to find required executable \"git\" in paths: {}",
                    std::env::var("PATH").unwrap_or_default()
                ))
            })?,
    };
    let mut env = vec![("LANG", "C".to_string()), ("LC_ALL", "C".to_string())];
    let mut ssh = Vec::new();
    if let Some(k) = p.str("key_file") {
        ssh.push(format!("-i {k} -o IdentitiesOnly=yes"));
    }
    if p.bool("accept_hostkey") {
        ssh.push("-o StrictHostKeyChecking=no".into());
    }
    if p.bool("accept_newhostkey") {
        ssh.push("-o StrictHostKeyChecking=accept-new".into());
    }
    if let Some(o) = p.str("ssh_opts") {
        ssh.push(o.into());
    }
    if !ssh.is_empty() {
        env.push(("GIT_SSH_COMMAND", format!("ssh {}", ssh.join(" "))));
    }
    let g = Git { bin, env, ctx };
    let repo = p.str("repo").unwrap_or("").to_string();
    let version = p.str("version").unwrap_or("HEAD").to_string();
    let remote = p.str("remote").unwrap_or("origin").to_string();
    let Some(dest) = p.string("dest") else {
        if p.bool("clone") {
            return Err(Failure::new(
                "the destination directory must be specified unless clone=no",
            ));
        }
        let (sha, _) = remote_ref(&g, &repo, &version)?;
        let mut r = res(false);
        r.insert("after".into(), json!(sha));
        r.insert("before".into(), Value::Null);
        return Ok(r);
    };
    let bare = p.bool("bare");
    let gitdir_exists = if bare {
        Path::new(&dest).join("HEAD").exists()
    } else {
        Path::new(&dest).join(".git").exists()
    };
    let mut r = res(false);
    if !gitdir_exists {
        if !p.bool("clone") {
            r.insert("before".into(), Value::Null);
            r.insert("after".into(), Value::Null);
            return Ok(r);
        }
        let (remote_sha, kind) = remote_ref(&g, &repo, &version)?;
        if ctx.check_mode {
            r.insert("changed".into(), json!(true));
            r.insert("before".into(), Value::Null);
            if ctx.diff {
                r.insert("diff".into(), newly_checked_out(remote_sha.as_deref()));
            }
            r.insert("after".into(), json!(remote_sha));
            return Ok(r);
        }
        if let Some(parent) = Path::new(&dest).parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        let mut args: Vec<String> = vec!["clone".into()];
        if bare {
            args.push("--bare".into());
        } else {
            args.extend(["--origin".into(), remote.clone()]);
        }
        if let Some(d) = p.int("depth") {
            if matches!(kind, "head" | "branch" | "tag") {
                args.extend(["--depth".into(), d.to_string()]);
                if kind != "head" {
                    args.extend(["--branch".into(), version.clone()]);
                }
            }
        }
        if p.bool("single_branch") {
            args.push("--single-branch".into());
        }
        if let Some(rf) = p.str("reference") {
            args.extend(["--reference".into(), rf.into()]);
        }
        if let Some(sd) = p.str("separate_git_dir") {
            args.push(format!("--separate-git-dir={sd}"));
        }
        args.push(repo.clone());
        args.push(dest.clone());
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        g.must(&a, None, "Failed to clone")?;
        if !bare && version != "HEAD" {
            g.must(
                &["checkout", "--force", &version],
                Some(&dest),
                &format!("Failed to checkout {version}"),
            )?;
        }
        if !bare && p.bool("recursive") && Path::new(&dest).join(".gitmodules").exists() {
            g.must(
                &["submodule", "update", "--init", "--recursive"],
                Some(&dest),
                "Failed to init/update submodules",
            )?;
        }
        let after = g.must(&["rev-parse", "HEAD"], Some(&dest), "Failed to read HEAD")?;
        r.insert("changed".into(), json!(true));
        r.insert("before".into(), Value::Null);
        if ctx.diff {
            r.insert("diff".into(), newly_checked_out(Some(after.stdout.trim())));
        }
        r.insert("after".into(), json!(after.stdout.trim()));
        return Ok(r);
    }
    // existing checkout
    let before = g
        .run(&["rev-parse", "HEAD"], Some(&dest))?
        .stdout
        .trim()
        .to_string();
    let cur_url = g
        .run(
            &["config", "--get", &format!("remote.{remote}.url")],
            Some(&dest),
        )?
        .stdout
        .trim()
        .to_string();
    let url_changed = cur_url != repo;
    if url_changed && !ctx.check_mode && !bare {
        g.must(
            &["remote", "set-url", &remote, &repo],
            Some(&dest),
            "Failed to update remote url",
        )?;
    }
    r.insert("before".into(), json!(before));
    r.insert("remote_url_changed".into(), json!(url_changed));
    let local_mods = !bare
        && !g
            .run(
                &["status", "--porcelain", "--untracked-files=no"],
                Some(&dest),
            )?
            .stdout
            .trim()
            .is_empty();
    if local_mods && !p.bool("force") {
        return Err(Failure::new(format!(
            "Local modifications exist in the destination: {dest} (force=no)."
        ))
        .with("before", before.clone()));
    }
    if local_mods && !ctx.check_mode {
        r.insert(
            "msg".into(),
            json!(format!(
                "Local modifications exist in the destination: {dest}"
            )),
        );
    }
    if !p.bool("update") {
        r.insert("after".into(), json!(before));
        return Ok(r);
    }
    let (remote_sha, kind) = remote_ref(&g, &repo, &version)?;
    if remote_sha.as_deref() == Some(before.as_str()) && !local_mods {
        r.insert("after".into(), json!(before));
        return Ok(r);
    }
    let mut fetch: Vec<String> = vec!["fetch".into()];
    if let Some(d) = p.int("depth") {
        fetch.extend(["--depth".into(), d.to_string()]);
    }
    fetch.extend([
        remote.clone(),
        "+refs/heads/*:refs/remotes/".to_string() + &remote + "/*",
        "+refs/tags/*:refs/tags/*".into(),
    ]);
    if let Some(rs) = p.str("refspec") {
        fetch.push(rs.into());
    }
    let a: Vec<&str> = fetch.iter().map(String::as_str).collect();
    let fetch_all = || {
        g.must(
            &a,
            Some(&dest),
            &format!(
                "Failed to download remote objects and refs:  {}",
                fetch.join(" ")
            ),
        )
    };
    if ctx.check_mode {
        r.insert("changed".into(), json!(true));
        // As Ansible does, the diff of a check fetches what it compares.
        if ctx.diff {
            if let Some(after) = remote_sha.as_deref().filter(|a| *a != before) {
                fetch_all()?;
                r.insert("diff".into(), diff_between(&g, &dest, &before, after)?);
            }
        }
        r.insert("after".into(), json!(remote_sha));
        return Ok(r);
    }
    fetch_all()?;
    if !bare {
        let branch = match kind {
            "head" => {
                let o = g.run(
                    &["symbolic-ref", &format!("refs/remotes/{remote}/HEAD")],
                    Some(&dest),
                )?;
                let head = o.stdout.trim().rsplit('/').next().unwrap_or("").to_string();
                if head.is_empty() {
                    let o = g.run(&["ls-remote", "--symref", &repo, "HEAD"], None)?;
                    o.stdout
                        .lines()
                        .find_map(|l| l.strip_prefix("ref: refs/heads/"))
                        .and_then(|l| l.split_whitespace().next())
                        .map(str::to_string)
                } else {
                    Some(head)
                }
            }
            "branch" => Some(version.clone()),
            _ => None,
        };
        match branch {
            Some(b) => {
                let o = g.run(&["checkout", "--force", &b], Some(&dest))?;
                if o.rc != 0 {
                    g.must(
                        &["checkout", "--force", "-B", &b, &format!("{remote}/{b}")],
                        Some(&dest),
                        &format!("Failed to checkout branch {b}"),
                    )?;
                }
                g.must(
                    &["reset", "--hard", &format!("{remote}/{b}"), "--"],
                    Some(&dest),
                    &format!("Failed to checkout branch {b}"),
                )?;
            }
            None => {
                g.must(
                    &["checkout", "--force", &version],
                    Some(&dest),
                    &format!("Failed to checkout {version}"),
                )?;
            }
        }
        if p.bool("recursive") && Path::new(&dest).join(".gitmodules").exists() {
            g.must(
                &["submodule", "update", "--init", "--recursive"],
                Some(&dest),
                "Failed to init/update submodules",
            )?;
        }
    }
    let after = g
        .run(&["rev-parse", "HEAD"], Some(&dest))?
        .stdout
        .trim()
        .to_string();
    r.insert("changed".into(), json!(after != before || local_mods));
    if ctx.diff && after != before {
        r.insert("diff".into(), diff_between(&g, &dest, &before, &after)?);
    }
    r.insert("after".into(), json!(after));
    Ok(r)
}

fn newly_checked_out(after: Option<&str>) -> Value {
    json!({"prepared": format!(">> Newly checked out {}", after.unwrap_or("None"))})
}

/// Ansible's `prepared` diff between two commits of a checkout.
fn diff_between(g: &Git, dest: &str, before: &str, after: &str) -> MResult<Value> {
    let o = g.run(&["diff", before, after], Some(dest))?;
    let text = if o.rc == 0 && !o.stdout.is_empty() {
        o.stdout
    } else if o.rc == 0 {
        format!(">> No visual differences between {before} and {after}")
    } else if !o.stderr.is_empty() {
        format!(
            ">> Failed to get proper diff between {before} and {after}:\n>> {}",
            o.stderr
        )
    } else {
        format!(">> Failed to get proper diff between {before} and {after}")
    };
    Ok(json!({ "prepared": text }))
}

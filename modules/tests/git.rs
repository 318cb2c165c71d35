//! git from a local bare repository. Oracle (ansible-core 2.21.5): clone ->
//! {after, before: null, changed: true}; again -> {after, before, changed: false,
//! remote_url_changed: false}; version: <tag> -> changed, after = tagged commit;
//! unknown version -> "Failed to checkout nosuch" with cmd, rc, stdout, stderr.

mod common;
use common::*;
use serde_json::json;
use std::process::Command;

fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .args([
            "-c",
            "user.email=t@example.com",
            "-c",
            "user.name=t",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

#[test]
fn clone_update_version() {
    if Command::new("git").arg("--version").output().is_err() {
        return;
    }
    let d = tmp();
    let src = d.path().join("src");
    std::fs::create_dir(&src).unwrap();
    git(&src, &["init", "-q"]);
    std::fs::write(src.join("a"), "1").unwrap();
    git(&src, &["add", "a"]);
    git(&src, &["commit", "-q", "-m", "one"]);
    git(&src, &["tag", "v1"]);
    std::fs::write(src.join("a"), "2").unwrap();
    git(&src, &["commit", "-q", "-am", "two"]);
    let first = git(&src, &["rev-parse", "HEAD~1"]);
    let second = git(&src, &["rev-parse", "HEAD"]);
    git(d.path(), &["clone", "-q", "--bare", "src", "bare.git"]);
    let repo = d.path().join("bare.git").display().to_string();
    let dest = d.path().join("work").display().to_string();

    let r = run("git", json!({"repo": repo, "dest": dest}), &check());
    assert_eq!(
        r,
        args(json!({"after": second, "before": null, "changed": true}))
    );
    assert!(!std::path::Path::new(&dest).exists());

    let r = run("git", json!({"repo": repo, "dest": dest}), &ctx());
    assert_eq!(
        r,
        args(json!({"after": second, "before": null, "changed": true}))
    );
    assert_eq!(std::fs::read_to_string(format!("{dest}/a")).unwrap(), "2");

    let r = run(
        "ansible.builtin.git",
        json!({"repo": repo, "dest": dest}),
        &ctx(),
    );
    assert_eq!(
        r,
        args(
            json!({"after": second, "before": second, "changed": false, "remote_url_changed": false})
        )
    );

    let r = run(
        "git",
        json!({"repo": repo, "dest": dest, "version": "v1"}),
        &check(),
    );
    assert!(changed(&r));
    assert_eq!(r["after"], json!(first));
    let r = run(
        "git",
        json!({"repo": repo, "dest": dest, "version": "v1"}),
        &ctx(),
    );
    assert_eq!(
        r,
        args(
            json!({"after": first, "before": second, "changed": true, "remote_url_changed": false})
        )
    );
    assert_eq!(std::fs::read_to_string(format!("{dest}/a")).unwrap(), "1");

    // back to the branch head
    let r = run(
        "git",
        json!({"repo": repo, "dest": dest, "version": "main"}),
        &ctx(),
    );
    assert_eq!(r["after"], json!(second));
    assert!(changed(&r));

    let r = run(
        "git",
        json!({"repo": repo, "dest": dest, "version": "nosuch"}),
        &ctx(),
    );
    assert_eq!(msg(&r), "Failed to checkout nosuch");
    assert_eq!(r["rc"], json!(1));

    // local modifications
    std::fs::write(format!("{dest}/a"), "dirty").unwrap();
    let r = run("git", json!({"repo": repo, "dest": dest}), &ctx());
    assert_eq!(
        msg(&r),
        format!("Local modifications exist in the destination: {dest} (force=no).")
    );
    let r = run(
        "git",
        json!({"repo": repo, "dest": dest, "force": true}),
        &ctx(),
    );
    assert!(changed(&r), "{r:?}");
    assert_eq!(std::fs::read_to_string(format!("{dest}/a")).unwrap(), "2");

    // depth 1 clone of the head
    let shallow = d.path().join("shallow").display().to_string();
    let r = run(
        "git",
        json!({"repo": format!("file://{repo}"), "dest": shallow, "depth": 1}),
        &ctx(),
    );
    assert_eq!(r["after"], json!(second));
    assert_eq!(
        git(
            std::path::Path::new(&shallow),
            &["rev-list", "--count", "HEAD"]
        ),
        "1"
    );

    let r = run(
        "git",
        json!({"repo": repo, "dest": dest, "bogus": 1}),
        &ctx(),
    );
    assert!(msg(&r).starts_with("Unsupported parameters for (git) module: bogus. Supported parameters include: accept_hostkey, accept_newhostkey, archive, archive_prefix, bare, clone, depth, dest, executable, force, gpg_allowlist, key_file, recursive, reference, refspec, remote, repo, separate_git_dir, single_branch, ssh_opts, track_submodules, umask, update, verify_commit, version (name)."));
}

//! `mount` (ansible.posix): fstab entries and mounting through mount/umount.

use crate::args::{b, p, s, Params, Spec};
use crate::sysutil::{module, need, res, run};
use crate::util::{atomic_write, Failure, MResult};
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::json;
use std::path::Path;

fn spec() -> Spec {
    Spec::new(vec![
        p("path").required().aliases(&["name"]),
        s("src"),
        s("fstype"),
        s("opts"),
        b("opts_no_log").default(false),
        s("dump").default("0"),
        s("passno").default("0"),
        s("state").required().choices(&[
            "absent",
            "absent_from_fstab",
            "mounted",
            "present",
            "unmounted",
            "remounted",
            "ephemeral",
        ]),
        p("fstab"),
        b("boot").default(true),
        b("backup").default(false),
    ])
    .required_if("state", "mounted", &["src", "fstype"], false)
    .required_if("state", "present", &["src", "fstype"], false)
    .required_if("state", "ephemeral", &["src", "fstype"], false)
}

fn esc(s: &str) -> String {
    s.replace(' ', "\\040")
        .replace('\t', "\\011")
        .replace('\n', "\\012")
}

fn unesc(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

fn is_mounted(path: &str) -> bool {
    std::fs::read_to_string("/proc/mounts")
        .unwrap_or_default()
        .lines()
        .any(|l| l.split_whitespace().nth(1).map(unesc).as_deref() == Some(path))
}

fn opts_of(p: &Params) -> String {
    let mut o = p.string("opts").unwrap_or_else(|| "defaults".into());
    if !p.bool("boot") && !o.split(',').any(|x| x == "noauto") {
        o = if o == "defaults" {
            "noauto".into()
        } else {
            format!("{o},noauto")
        };
    }
    o
}

/// Add or update the fstab entry; returns whether the file changed.
fn set_entry(p: &Params, fstab: &str, check: bool, backup: &mut String) -> MResult<bool> {
    let name = p.str("path").unwrap_or("");
    let line = format!(
        "{} {} {} {} {} {}",
        esc(p.str("src").unwrap_or("")),
        esc(name),
        esc(p.str("fstype").unwrap_or("")),
        esc(&opts_of(p)),
        p.str("dump").unwrap_or("0"),
        p.str("passno").unwrap_or("0")
    );
    let text = std::fs::read_to_string(fstab).unwrap_or_default();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut found = false;
    let mut changed = false;
    for l in lines.iter_mut() {
        let f: Vec<&str> = l.split_whitespace().collect();
        if l.trim_start().starts_with('#') || f.len() < 4 || unesc(f[1]) != name {
            continue;
        }
        found = true;
        let cur = format!(
            "{} {} {} {} {} {}",
            f[0],
            f[1],
            f[2],
            f[3],
            f.get(4).unwrap_or(&"0"),
            f.get(5).unwrap_or(&"0")
        );
        if cur != line {
            *l = line.clone();
            changed = true;
        }
    }
    if !found {
        lines.push(line);
        changed = true;
    }
    if changed && !check {
        write(fstab, &lines, p.bool("backup"), backup)?;
    }
    Ok(changed)
}

fn write(fstab: &str, lines: &[String], do_backup: bool, backup: &mut String) -> MResult<()> {
    if do_backup && Path::new(fstab).exists() {
        *backup = crate::util::backup_local(Path::new(fstab)).unwrap_or_default();
    }
    let mut t = lines.join("\n");
    if !t.is_empty() {
        t.push('\n');
    }
    atomic_write(Path::new(fstab), t.as_bytes())
        .map_err(|e| Failure::new(format!("Failed to write {fstab}: {e}")))
}

fn unset_entry(p: &Params, fstab: &str, check: bool, backup: &mut String) -> MResult<bool> {
    let name = p.str("path").unwrap_or("");
    let text = std::fs::read_to_string(fstab).unwrap_or_default();
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let kept: Vec<String> = lines
        .iter()
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            l.trim_start().starts_with('#') || f.len() < 2 || unesc(f[1]) != name
        })
        .cloned()
        .collect();
    let changed = kept.len() != lines.len();
    if changed && !check {
        write(fstab, &kept, p.bool("backup"), backup)?;
    }
    Ok(changed)
}

fn mount_cmd(args: &[String], ctx: &ModuleContext) -> MResult<()> {
    let o = run(args, &[], None, ctx)?;
    if o.rc != 0 {
        return Err(Failure::new(format!(
            "Error mounting {}: {}",
            args.last().cloned().unwrap_or_default(),
            o.stderr.trim()
        )));
    }
    Ok(())
}

pub fn run_module(args: &Args, ctx: &ModuleContext, m: &str) -> ModuleResult {
    module(spec(), args, ctx, m, |p, ctx| {
        let name = p.str("path").unwrap_or("").to_string();
        let fstab = p.string("fstab").unwrap_or_else(|| "/etc/fstab".into());
        let state = p.str("state").unwrap_or("");
        let check = ctx.check_mode;
        let mut backup = String::new();
        let mut changed = false;
        if state != "ephemeral" && !Path::new(&fstab).exists() {
            // as ansible.posix: a missing fstab (and its directory) is created first,
            // check mode or not
            if let Some(dir) = Path::new(&fstab).parent().filter(|d| !d.exists()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| Failure::new(format!("Failed to open {fstab} due to {e}")))?;
            }
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&fstab)
                .map_err(|e| match e.kind() {
                    std::io::ErrorKind::PermissionDenied => {
                        Failure::new(format!("Failed to open {fstab} due to permission issue"))
                    }
                    _ => Failure::new(format!("Failed to open {fstab} due to {e}")),
                })?;
        }
        let mounted = is_mounted(&name);
        match state {
            "present" => changed = set_entry(p, &fstab, check, &mut backup)?,
            "absent" | "absent_from_fstab" => {
                changed = unset_entry(p, &fstab, check, &mut backup)?;
                if state == "absent" && mounted {
                    changed = true;
                    if !check {
                        mount_cmd(&[need("umount")?, name.clone()], ctx)?;
                    }
                }
                if state == "absent" && Path::new(&name).is_dir() && !check {
                    let _ = std::fs::remove_dir(&name);
                }
            }
            "unmounted" if mounted => {
                changed = true;
                if !check {
                    mount_cmd(&[need("umount")?, name.clone()], ctx)?;
                }
            }
            "mounted" | "ephemeral" => {
                if state == "mounted" {
                    changed = set_entry(p, &fstab, check, &mut backup)?;
                }
                if !Path::new(&name).exists() && !check {
                    std::fs::create_dir_all(&name)
                        .map_err(|e| Failure::new(format!("Error making dir {name}: {e}")))?;
                }
                if !mounted {
                    changed = true;
                    if !check {
                        let mut c = vec![need("mount")?];
                        if state == "ephemeral" {
                            c.extend([
                                "-t".into(),
                                p.str("fstype").unwrap_or("").into(),
                                "-o".into(),
                                opts_of(p),
                                p.str("src").unwrap_or("").into(),
                            ]);
                        } else if fstab != "/etc/fstab" {
                            c.extend(["-T".into(), fstab.clone()]);
                        }
                        c.push(name.clone());
                        mount_cmd(&c, ctx)?;
                    }
                } else if changed && state == "mounted" && !check {
                    let mut c = vec![need("mount")?, "-o".into(), "remount".into()];
                    c.push(name.clone());
                    mount_cmd(&c, ctx)?;
                }
            }
            "remounted" => {
                changed = true;
                if !check {
                    let mut c = vec![need("mount")?, "-o".into(), "remount".into()];
                    if let Some(o) = p.str("opts") {
                        c[2] = format!("remount,{o}");
                    }
                    c.push(name.clone());
                    mount_cmd(&c, ctx)?;
                }
            }
            _ => {}
        }
        let mut r = res(changed);
        r.insert("name".into(), json!(name));
        for k in ["src", "fstype"] {
            if let Some(v) = p.str(k) {
                r.insert(k.into(), json!(v));
            }
        }
        r.insert("opts".into(), json!(opts_of(p)));
        r.insert("dump".into(), json!(p.str("dump")));
        r.insert("passno".into(), json!(p.str("passno")));
        r.insert("fstab".into(), json!(fstab));
        r.insert(
            "boot".into(),
            json!(if p.bool("boot") { "yes" } else { "no" }),
        );
        r.insert("backup_file".into(), json!(backup));
        Ok(r)
    })
}

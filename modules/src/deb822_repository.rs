//! `deb822_repository`: a `<name>.sources` file in deb822 format. Fields are written in
//! the order of their option names, `name` as X-Repolib-Name, lists space-separated,
//! booleans as yes/no, as ansible-core's module renders them.

use crate::args::{b, l, r, s, Params, Spec, Type};
use crate::sysutil::{module, res};
use crate::util::{atomic_write, Failure, MResult};
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::{json, Value};
use std::path::Path;

fn spec() -> Spec {
    Spec::new(vec![
        b("allow_downgrade_to_insecure"),
        b("allow_insecure"),
        b("allow_weak"),
        l("architectures").elements(Type::Str),
        b("by_hash"),
        b("check_date"),
        b("check_valid_until"),
        l("components").elements(Type::Str),
        i_("date_max_future"),
        b("enabled"),
        l("exclude").elements(Type::Str),
        l("include").elements(Type::Str),
        s("inrelease_path"),
        l("languages").elements(Type::Str),
        s("name").required(),
        b("pdiffs"),
        s("signed_by"),
        l("suites").elements(Type::Str),
        l("targets").elements(Type::Str),
        b("trusted"),
        l("types")
            .elements(Type::Str)
            .default(json!(["deb"]))
            .choices(&["deb", "deb-src"]),
        l("uris").elements(Type::Str),
        r("mode").default("0644"),
        s("state")
            .default("present")
            .choices(&["present", "absent"]),
        b("install_python_debian").default(false),
    ])
}

fn i_(n: &'static str) -> crate::args::Opt {
    crate::args::Opt::new(n, Type::Int)
}

fn field(key: &str) -> String {
    match key {
        "name" => "X-Repolib-Name".into(),
        "uris" => "URIs".into(),
        "inrelease_path" => "InRelease-Path".into(),
        "pdiffs" => "PDiffs".into(),
        other => other
            .split('_')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("-"),
    }
}

fn file_stem(name: &str) -> String {
    name.to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn render(p: &Params) -> String {
    let mut keys: Vec<&str> = vec![
        "allow_downgrade_to_insecure",
        "allow_insecure",
        "allow_weak",
        "architectures",
        "by_hash",
        "check_date",
        "check_valid_until",
        "components",
        "date_max_future",
        "enabled",
        "exclude",
        "include",
        "inrelease_path",
        "languages",
        "name",
        "pdiffs",
        "signed_by",
        "suites",
        "targets",
        "trusted",
        "types",
        "uris",
    ];
    keys.sort();
    let mut out = String::new();
    for k in keys {
        let Some(v) = p.get(k) else { continue };
        let text = match v {
            Value::Bool(b) => (if *b { "yes" } else { "no" }).to_string(),
            Value::Array(a) => a
                .iter()
                .map(crate::args::py_str)
                .collect::<Vec<_>>()
                .join(" "),
            Value::String(s) if k == "signed_by" && s.contains('\n') => {
                // inline key: continuation lines indented, blank lines as " ."
                s.trim_end()
                    .lines()
                    .enumerate()
                    .map(|(i, l)| {
                        if i == 0 {
                            l.to_string()
                        } else if l.trim().is_empty() {
                            " .".to_string()
                        } else {
                            format!(" {l}")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            }
            other => crate::args::py_str(other),
        };
        out.push_str(&format!("{}: {}\n", field(k), text));
    }
    out
}

pub fn run_module(args: &Args, ctx: &ModuleContext, m: &str) -> ModuleResult {
    module(spec(), args, ctx, m, body)
}

fn body(p: &Params, ctx: &ModuleContext) -> MResult<ModuleResult> {
    let name = p.str("name").unwrap_or("").to_string();
    let dir = crate::apt_repository::apt_dir(
        "Dir::Etc::sourceparts",
        "d",
        "/etc/apt/sources.list.d",
        ctx,
    );
    let dest = dir.join(format!("{}.sources", file_stem(&name)));
    let mut r = res(false);
    r.insert("dest".into(), json!(dest.display().to_string()));
    if p.str("state") == Some("absent") {
        let key = format!("/etc/apt/keyrings/{}.gpg", file_stem(&name));
        let changed = dest.exists();
        if changed && !ctx.check_mode {
            std::fs::remove_file(&dest)
                .map_err(|e| Failure::new(format!("Failed to remove {}: {e}", dest.display())))?;
        }
        r.insert("changed".into(), json!(changed));
        r.insert("key_filename".into(), json!(key));
        r.insert("repo".into(), Value::Null);
        add_dest_info(&mut r, &dest);
        return Ok(r);
    }
    if let Some(sb) = p.str("signed_by") {
        if sb.starts_with("http://") || sb.starts_with("https://") {
            return Err(Failure::new(
                "signed_by as a URL is not supported natively; download the key with get_url and give its path",
            ));
        }
    }
    let text = render(p);
    let cur = std::fs::read_to_string(&dest).ok();
    let mode = crate::util::parse_mode(p.get("mode").unwrap_or(&json!("0644")), 0o100644)
        .map_err(|(m, d)| Failure::new(m).with("details", d))?;
    let mut changed = cur.as_deref() != Some(text.as_str());
    if !changed {
        use std::os::unix::fs::MetadataExt;
        changed = std::fs::metadata(&dest)
            .map(|m| m.mode() & 0o7777 != mode)
            .unwrap_or(true);
    }
    if changed && !ctx.check_mode {
        let _ = std::fs::create_dir_all(&dir);
        atomic_write(&dest, text.as_bytes())
            .map_err(|e| Failure::new(format!("Failed to write {}: {e}", dest.display())))?;
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(mode));
    }
    r.insert("changed".into(), json!(changed));
    r.insert("key_filename".into(), Value::Null);
    r.insert("repo".into(), json!(text));
    add_dest_info(&mut r, &dest);
    Ok(r)
}

/// AnsibleModule's exit_json adds the file's attributes when `dest` exists (in check
/// mode too: then they are those of the file as it is).
fn add_dest_info(r: &mut ModuleResult, dest: &Path) {
    if dest.exists() {
        crate::util::add_path_info(r, dest);
        r.remove("path");
    }
}

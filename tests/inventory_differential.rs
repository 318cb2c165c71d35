//! Differential tests: our inventory against ansible-core's on the same files.
//!
//! For each inventory written to a temp dir, `ansible-inventory --list` (groups, children,
//! direct hosts and the merged `_meta.hostvars`) must equal `Inventory::to_list_json`, and
//! for a table of host patterns (and `--limit` values) ansible-core's InventoryManager
//! (`list_hosts` after `subset`, what `ansible PATTERN --list-hosts` prints) must select
//! the same hosts in the same order as `Inventory::select_limited`, or fail where we fail.
//! Skipped (with a note) when .venv/bin/ansible-inventory is not installed.

use play::inventory::{Inventory, LoadOptions};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

fn venv_bin(name: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".venv/bin")
        .join(name);
    p.exists().then_some(p)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

fn ansible_env(cmd: &mut Command, work: &Path, merge: bool) {
    let cfg = write(work, ".ansible-test/ansible.cfg", "[defaults]\n");
    cmd.current_dir(work)
        .env("ANSIBLE_CONFIG", cfg)
        .env("ANSIBLE_HOME", work.join(".ansible-test"))
        .env("ANSIBLE_LOCAL_TEMP", work.join(".ansible-test/tmp"))
        .env("PYTHONHASHSEED", "0")
        .env("ANSIBLE_NOCOLOR", "1");
    if merge {
        cmd.env("ANSIBLE_HASH_BEHAVIOUR", "merge");
    }
}

/// `ansible-inventory --list`, minus the `profile` marker.
fn ansible_list(
    work: &Path,
    sources: &[String],
    playbook_dir: Option<&Path>,
    merge: bool,
) -> Value {
    let mut cmd = Command::new(venv_bin("ansible-inventory").unwrap());
    for s in sources {
        cmd.arg("-i").arg(s);
    }
    cmd.arg("--list");
    if let Some(pb) = playbook_dir {
        cmd.arg("--playbook-dir").arg(pb);
    }
    ansible_env(&mut cmd, work, merge);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "ansible-inventory failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["_meta"].as_object_mut().unwrap().remove("profile");
    v
}

const PATTERN_SCRIPT: &str = r#"
import sys, json
from ansible.parsing.dataloader import DataLoader
from ansible.inventory.manager import InventoryManager
spec = json.load(open(sys.argv[1]))
inv = InventoryManager(loader=DataLoader(), sources=spec["sources"])
out = []
for p, limit in spec["patterns"]:
    try:
        inv.subset(limit)
        out.append([h if isinstance(h, str) else h.name for h in inv.list_hosts(p)])
    except Exception as e:
        out.append({"error": str(e)})
print(json.dumps(out))
"#;

/// Host selection by ansible-core for each (pattern, limit).
fn ansible_patterns(work: &Path, sources: &[String], table: &[(&str, Option<&str>)]) -> Vec<Value> {
    let script = write(work, ".ansible-test/patterns.py", PATTERN_SCRIPT);
    let spec = json!({"sources": sources, "patterns": table});
    let spec_path = write(work, ".ansible-test/spec.json", &spec.to_string());
    let mut cmd = Command::new(venv_bin("python").unwrap());
    cmd.arg(script).arg(spec_path);
    ansible_env(&mut cmd, work, false);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "pattern script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Vec<Value>>(&out.stdout).unwrap()
}

/// Paths where two JSON values differ, with both sides.
fn json_diff(path: &str, ours: &Value, theirs: &Value) -> Vec<String> {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter()
                .flat_map(|k| {
                    let p = format!("{path}/{k}");
                    match (a.get(k), b.get(k)) {
                        (Some(x), Some(y)) => json_diff(&p, x, y),
                        (x, y) => vec![format!("{p}: ours {x:?} ansible {y:?}")],
                    }
                })
                .collect()
        }
        _ if ours == theirs => Vec::new(),
        _ => vec![format!("{path}: ours {ours} ansible {theirs}")],
    }
}

struct Case<'a> {
    name: &'a str,
    sources: Vec<String>,
    playbook_dir: Option<PathBuf>,
    merge: bool,
    patterns: &'a [(&'a str, Option<&'a str>)],
}

fn check(work: &Path, case: Case) {
    let opts = LoadOptions {
        hash_merge: case.merge,
        ..LoadOptions::default()
    };
    let (inv, _warnings) = Inventory::load_with(&case.sources, &opts).unwrap();
    let ours = inv.to_list_json(case.playbook_dir.as_deref()).unwrap();
    let theirs = ansible_list(
        work,
        &case.sources,
        case.playbook_dir.as_deref(),
        case.merge,
    );
    let diff = json_diff("", &ours, &theirs);
    assert!(
        diff.is_empty(),
        "case {}: --list differs (ours vs ansible):\n{}",
        case.name,
        diff.join("\n")
    );
    if case.patterns.is_empty() {
        return;
    }
    let expected = ansible_patterns(work, &case.sources, case.patterns);
    for ((pattern, limit), want) in case.patterns.iter().zip(expected) {
        let got = match inv.select_limited(pattern, *limit) {
            Ok(hosts) => json!(hosts),
            Err(e) => json!({"error": e.to_string()}),
        };
        assert_eq!(
            got, want,
            "case {}: pattern {pattern:?} limit {limit:?}",
            case.name
        );
    }
}

macro_rules! need_ansible {
    () => {
        if venv_bin("ansible-inventory").is_none() {
            eprintln!(
                "skipping: .venv/bin/ansible-inventory not found (install ansible-core into .venv)"
            );
            return;
        }
    };
}

const INI: &str = r#"# comment
loose1 a=1 b="x y" c='[1,2]' d=True e=0x10 f=1.5 g=yes h={'k':1} i="{'k': [1, None]}"
loose2:2200 # trailing comment
[web]
web[01:03]:2222 role=web
db-[a:c]
[web:vars]
gv1=1
gv2="quoted"
gv3 = hello world
gv4=[1, 'a']
shared=web
[prod:children]
web
[prod:vars]
gv1=prod
shared=prod
only_prod = 42
[misc]
x[1:10:4]
localhost ansible_connection=local
[misc:vars]
shared=misc
ansible_group_priority=10
[empty]
[web]
loose1
[db-servers]
db-a
[kids]  # section, then a comment
_svc
10.1.2.3
host_
hôte.example
[grand:children]   # children, commented
kids # a child, commented
db-servers#the # starts a comment here
"#;

const PATTERNS: &[(&str, Option<&str>)] = &[
    ("all", None),
    ("*", None),
    ("web", None),
    ("web:misc", None),
    ("web,misc", None),
    ("prod:&misc", None),
    ("prod:!web0*", None),
    ("!web", None),
    ("&web", None),
    ("web*", None),
    ("db-*:x1", None),
    ("~x[15]", None),
    ("~^web0[12]$", None),
    ("web[0]", None),
    ("web[-1]", None),
    ("web[1:3]", None),
    ("web[5:]", None),
    ("web[1-2]", None),
    ("web[99]", None),
    ("web01", None),
    ("web01:2222", None),
    ("ungrouped", None),
    ("localhost", None),
    ("127.0.0.1", None),
    ("nothing", None),
    ("nothing:web01", None),
    ("db_servers", None),
    ("~(", None),
    ("all", Some("web[0:1]")),
    ("prod", Some("!web02,misc")),
    ("all", Some("nothing")),
];

#[test]
fn ini_inventory_matches_ansible() {
    need_ansible!();
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "hosts.ini", INI);
    let case = Case {
        name: "ini",
        sources: vec![p.display().to_string()],
        playbook_dir: None,
        merge: false,
        patterns: PATTERNS,
    };
    check(d.path(), case);
}

#[test]
fn host_lists_and_several_sources_match_ansible() {
    need_ansible!();
    let d = tempfile::tempdir().unwrap();
    let a = write(d.path(), "a.ini", "[a]\nh1 x=1\nh2\n[b:children]\na\n");
    let b = write(d.path(), "b.ini", "[a]\nh3\nh1 x=2\n[c]\nh2\n");
    check(
        d.path(),
        Case {
            name: "lists",
            sources: vec![
                "z1,z2:2022, 10.0.0.1 ,".into(),
                a.display().to_string(),
                b.display().to_string(),
            ],
            playbook_dir: None,
            merge: false,
            patterns: &[
                ("all", None),
                ("a", None),
                ("b:!c", None),
                ("z*", None),
                ("10.0.0.1", None),
            ],
        },
    );
}

#[test]
fn unparsable_sources_match_ansible() {
    need_ansible!();
    let d = tempfile::tempdir().unwrap();
    let bad = write(d.path(), "bad.ini", "h1\n[g:vars]\nno_equals_here\n");
    let missing = d.path().join("missing.ini");
    check(
        d.path(),
        Case {
            name: "unparsable",
            sources: vec![bad.display().to_string(), missing.display().to_string()],
            playbook_dir: None,
            merge: false,
            patterns: &[("all", None), ("localhost", None), ("h1", None)],
        },
    );
}

fn vars_tree(root: &Path) -> (PathBuf, PathBuf) {
    let inv = root.join("inv");
    write(&inv, "hosts.ini", "[web]\nweb01 hv=file_host d={'a':1,'b':{'x':1}}\nweb02\n[db]\ndb01\n[prod:children]\nweb\ndb\n[prod:vars]\nlevel=prod_file\n[web:vars]\nlevel=web_file\nprio=web\n[db:vars]\nprio=db\n[all:vars]\nlevel=all_file\nonly_all=1\n");
    write(
        &inv,
        "group_vars/all.yml",
        "level: inv_gv_all\ninv_all: yes\nd: {a: 0, c: 3}\n",
    );
    write(
        &inv,
        "group_vars/web/10-main.yml",
        "level: inv_gv_web\nweb_list: [1, 2]\nd: {b: {y: 2}}\n",
    );
    write(&inv, "group_vars/web/20-more.yaml", "web_more: 0644\n");
    write(&inv, "group_vars/web/ignored.txt", "level: never\n");
    write(
        &inv,
        "group_vars/prod.json",
        "{\"prod_json\": true, \"level\": \"inv_gv_prod\"}",
    );
    write(
        &inv,
        "group_vars/db",
        "ansible_group_priority: 5\nprio_from_file: 1\n",
    );
    write(&inv, "host_vars/web01.yml", "hv: inv_hv\n");
    write(
        &inv,
        "host_vars/db01/main.yml",
        "hv: inv_hv_db\nlevel: inv_hv_db\n",
    );
    let pb = root.join("pb");
    write(&pb, "group_vars/all.yml", "level: pb_gv_all\npb_all: 1\n");
    write(&pb, "group_vars/web.yml", "pb_web: 1\nd: {c: 4}\n");
    write(&pb, "host_vars/web02.yml", "level: pb_hv\n");
    (inv.join("hosts.ini"), pb)
}

#[test]
fn group_vars_and_host_vars_precedence_match_ansible() {
    need_ansible!();
    let d = tempfile::tempdir().unwrap();
    let (hosts, pb) = vars_tree(d.path());
    let src = vec![hosts.display().to_string()];
    check(
        d.path(),
        Case {
            name: "vars",
            sources: src.clone(),
            playbook_dir: None,
            merge: false,
            patterns: &[],
        },
    );
    check(
        d.path(),
        Case {
            name: "vars+pb",
            sources: src.clone(),
            playbook_dir: Some(pb.clone()),
            merge: false,
            patterns: &[],
        },
    );
    check(
        d.path(),
        Case {
            name: "vars+pb merge",
            sources: src,
            playbook_dir: Some(pb),
            merge: true,
            patterns: &[],
        },
    );
}

const YAML_INV: &str = r#"
all:
  vars:
    top: 1
    nested: {a: 1}
  hosts:
    solo:
      ansible_host: 10.0.0.9
  children:
    web:
      hosts:
        web[1:3].example.com:
          http_port: 8080
        web9.example.com:2222:
      vars:
        nested: {b: 2}
        enabled: yes
      children:
        canary:
          hosts:
            web1.example.com:
    db:
      hosts:
        db1: ~
        db2: {}
    empty_group:
    weird-name:
      hosts: {wn1: null}
other:
  hosts: single_host
"#;

#[test]
fn yaml_inventory_matches_ansible() {
    need_ansible!();
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "inv.yml", YAML_INV);
    check(
        d.path(),
        Case {
            name: "yaml",
            sources: vec![p.display().to_string()],
            playbook_dir: None,
            merge: false,
            patterns: &[
                ("all", None),
                ("web", None),
                ("web:!canary", None),
                ("*.example.com", None),
                ("ungrouped", None),
                ("solo", None),
                ("other:db", None),
                ("weird-name", None),
            ],
        },
    );
}

#[test]
fn directory_source_matches_ansible() {
    need_ansible!();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().join("invdir");
    write(&dir, "01-base.ini", "[app]\napp1\napp2\n");
    write(
        &dir,
        "02-more.yml",
        "app:\n  hosts:\n    app3:\n  vars:\n    tier: app\n",
    );
    write(&dir, "03-plain", "[cache]\ncache1\n");
    write(&dir, "skip.cfg", "[skipped]\nnope1\n");
    write(&dir, "skip.retry", "nope2\n");
    write(&dir, "skip~", "[skipped]\nnope3\n");
    write(&dir, ".hidden", "[skipped]\nnope4\n");
    write(&dir, "group_vars/app.yml", "from_dir_gv: 1\n");
    write(&dir, "host_vars/cache1", "from_dir_hv: 1\n");
    check(
        d.path(),
        Case {
            name: "dir",
            sources: vec![dir.display().to_string()],
            playbook_dir: None,
            merge: false,
            patterns: &[
                ("all", None),
                ("app", None),
                ("nope*", None),
                ("app[-1]", None),
            ],
        },
    );
}

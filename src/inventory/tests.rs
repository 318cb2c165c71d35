//! Unit tests for inventory parsing, patterns and variable precedence.

use super::*;
use serde_json::json;
use std::fs;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(&p, text).unwrap();
    p
}

fn load(paths: &[&Path]) -> Inventory {
    let srcs: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    Inventory::load(&srcs).unwrap().0
}

fn vars(inv: &Inventory, host: &str) -> serde_json::Value {
    let mut v = inv.host_vars(host, None).unwrap().to_json_value();
    let m = v.as_object_mut().unwrap();
    m.remove("inventory_file");
    m.remove("inventory_dir");
    v
}

const INI: &str = "\
# comment
loose1 a=1 b=\"x y\" c='[1,2]' d=True e=0x10 h={'k':1}
[web]
web[01:03]:2222 role=web
db-[a:c]
[web:vars]
gv1=1
gv3 = hello world
[prod:children]
web
[prod:vars]
gv1=prod
only=prod
[misc]
x[1:10:4]
localhost
";

#[test]
fn ini_groups_hosts_and_vars() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "hosts.ini", INI);
    let inv = load(&[&p]);
    assert_eq!(
        inv.groups["web"].hosts,
        ["web01", "web02", "web03", "db-a", "db-b", "db-c"]
    );
    assert_eq!(inv.groups["prod"].children, ["web"]);
    assert_eq!(inv.groups["misc"].hosts, ["x1", "x5", "x9", "localhost"]);
    assert_eq!(inv.groups["ungrouped"].hosts, ["loose1"]);
    assert_eq!(inv.groups["all"].children, ["ungrouped", "prod", "misc"]);
    assert_eq!(
        vars(&inv, "loose1"),
        json!({"a": 1, "b": "x y", "c": [1, 2], "d": true, "e": 16, "h": "{k:1}"})
    );
    assert_eq!(
        vars(&inv, "web02"),
        json!({"ansible_port": 2222, "role": "web", "gv1": 1, "gv3": "hello world", "only": "prod"})
    );
    assert_eq!(inv.group_names("web01"), ["prod", "web"]);
    let hv = inv.host_vars("web01", None).unwrap();
    assert_eq!(
        hv.get("inventory_file").unwrap().as_str(),
        Some(p.to_str().unwrap())
    );
    assert_eq!(
        hv.get("inventory_dir").unwrap().as_str(),
        Some(d.path().to_str().unwrap())
    );
    // positions are kept
    let role = inv.hosts["web01"].vars.get("role").unwrap();
    assert_eq!((role.span.line, role.span.col), (4, 22));
}

#[test]
fn ini_errors_are_warnings_and_keep_partial_state() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "bad.ini", "h1\n[g:vars]\nnovalue\n");
    let inv = load(&[&p]);
    assert!(inv.hosts.contains_key("h1"));
    let p2 = write(d.path(), "bad2.ini", "[p:children]\nmissing\n");
    let (inv2, w) = Inventory::load(&[p2.display().to_string()]).unwrap();
    assert!(inv2.hosts.is_empty());
    assert!(
        w.iter()
            .any(|m| m.contains("Section [p:children] includes undefined group 'missing'")),
        "{w:?}"
    );
    assert!(w.iter().any(|m| m.starts_with("Unable to parse ")), "{w:?}");
}

#[test]
fn host_lists_and_patterns() {
    let (inv, w) = Inventory::load(&["h1,h2:2200, 10.0.0.1".to_string()]).unwrap();
    assert!(w.is_empty(), "{w:?}");
    assert_eq!(inv.processed_sources, ["h1,h2:2200, 10.0.0.1"]);
    assert_eq!(inv.select("all").unwrap(), ["h1", "h2", "10.0.0.1"]);
    assert_eq!(vars(&inv, "h2"), json!({"ansible_port": 2200}));
    assert_eq!(inv.select("localhost").unwrap(), ["localhost"]);
    assert!(inv.is_implicit_localhost("localhost"));
    assert_eq!(
        vars(&inv, "localhost")["ansible_connection"],
        json!("local")
    );
    assert!(inv.group_names("localhost").is_empty());
}

#[test]
fn pattern_language() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "hosts.ini", INI);
    let inv = load(&[&p]);
    let s = |p: &str| inv.select(p).unwrap();
    assert_eq!(s("web[0]"), ["web01"]);
    assert_eq!(s("web[-1]"), ["db-c"]);
    assert_eq!(s("web[1:3]"), ["web02", "web03", "db-a"]);
    assert_eq!(s("web[4:]"), ["db-b", "db-c"]);
    assert_eq!(s("web:&db-*"), ["db-a", "db-b", "db-c"]);
    assert_eq!(s("prod:!web0*"), ["db-a", "db-b", "db-c"]);
    assert_eq!(s("!web,misc"), ["x1", "x5", "x9", "localhost"]);
    assert_eq!(s("~x[15]"), ["x1", "x5"]);
    assert_eq!(s("x9:loose1"), ["x9", "loose1"]);
    assert_eq!(s("nothing"), Vec::<String>::new());
    let (_, w) = inv.select_with_warnings("nothing").unwrap();
    assert_eq!(
        w,
        ["Could not match supplied host pattern, ignoring: nothing"]
    );
    assert!(inv.select("web[10]").is_err());
    assert!(inv.select("~(").is_err());
    assert_eq!(
        inv.select_limited("all", Some("web[0],x1")).unwrap(),
        ["x1", "web01"]
    );
    let retry = write(d.path(), "site.retry", "x5\nloose1\n");
    let lim = format!("@{}", retry.display());
    assert_eq!(
        inv.select_limited("all", Some(&lim)).unwrap(),
        ["loose1", "x5"]
    );
    assert!(inv
        .select_limited("all", Some("@/nonexistent/file"))
        .is_err());
}

#[test]
fn add_host_and_group_by() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "hosts.ini", INI);
    let mut inv = load(&[&p]);
    let mut m = Mapping::default();
    m.insert(
        "v".into(),
        Span::synthetic("t"),
        Node::string("1", Span::synthetic("t")),
    );
    inv.add_host("new1", &["newg".to_string()], m);
    assert_eq!(inv.select("newg").unwrap(), ["new1"]);
    assert!(inv.groups["all"].children.contains(&"newg".to_string()));
    assert_eq!(vars(&inv, "new1")["v"], json!("1"));
    inv.add_to_group("loose1", "os_linux", &["linux".to_string()]);
    assert_eq!(inv.group_names("loose1"), ["linux", "os_linux"]);
    assert!(inv.groups["ungrouped"].hosts.is_empty());
    assert!(inv.groups["all"].children.contains(&"linux".to_string()));
    assert!(!inv.groups["all"].children.contains(&"os_linux".to_string()));
    assert_eq!(inv.groups_map()["linux"], ["loose1"]);
}

#[test]
fn directory_sources_skip_ignored_files() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "inv/a.ini", "[a]\nh1\n");
    write(d.path(), "inv/b.cfg", "[b]\nh2\n");
    write(d.path(), "inv/c~", "[c]\nh3\n");
    write(d.path(), "inv/group_vars/a", "");
    let inv = load(&[&d.path().join("inv")]);
    assert_eq!(inv.select("all").unwrap(), ["h1"]);
    assert_eq!(
        inv.var_dirs,
        [fs::canonicalize(d.path().join("inv")).unwrap()]
    );
}

//! setup. Oracle: `ansible localhost -m setup` (ansible-core 2.21.5) on this Debian 12
//! machine; fact names below are Ansible's with the `ansible_` prefix removed. Values that
//! depend on the host are checked against the same sources Ansible reads (uname, /proc,
//! /etc/os-release, the password database) and by type.

mod common;
use common::*;
use serde_json::{json, Map, Value};

fn facts(a: Value) -> Map<String, Value> {
    let r = run("setup", a, &ctx());
    assert!(!failed(&r), "{r:?}");
    assert!(!changed(&r));
    r["ansible_facts"].as_object().unwrap().clone()
}

fn sh(cmd: &str) -> String {
    let o = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).trim_end().to_string()
}

#[test]
fn gather_all_has_ansibles_names_and_types() {
    let f = facts(json!({}));
    // oracle (ansible_* keys and their JSON types on this host)
    let strings = [
        "architecture",
        "distribution",
        "distribution_major_version",
        "distribution_release",
        "distribution_version",
        "domain",
        "fqdn",
        "hostname",
        "kernel",
        "kernel_version",
        "machine",
        "nodename",
        "os_family",
        "pkg_mgr",
        "service_mgr",
        "system",
        "user_dir",
        "user_gecos",
        "user_id",
        "user_shell",
        "userspace_bits",
    ];
    for k in strings {
        assert!(
            f.get(k).is_some_and(|v| v.is_string()),
            "{k}: {:?}",
            f.get(k)
        );
    }
    let ints = [
        "user_uid",
        "user_gid",
        "real_user_id",
        "effective_user_id",
        "real_group_id",
        "effective_group_id",
        "processor_vcpus",
        "processor_count",
        "processor_cores",
        "processor_threads_per_core",
        "processor_nproc",
        "memtotal_mb",
        "memfree_mb",
        "swaptotal_mb",
        "swapfree_mb",
        "uptime_seconds",
    ];
    for k in ints {
        assert!(
            f.get(k).is_some_and(|v| v.is_i64() || v.is_u64()),
            "{k}: {:?}",
            f.get(k)
        );
    }
    for k in [
        "env",
        "date_time",
        "local",
        "dns",
        "lsb",
        "memory_mb",
        "apparmor",
        "selinux",
        "cmdline",
        "proc_cmdline",
    ] {
        assert!(f.get(k).is_some_and(|v| v.is_object()), "{k}");
    }
    assert!(f["processor"].is_array());
    assert_eq!(f["gather_subset"], json!(["all"]));
    assert_eq!(f["module_setup"], json!(true));
    // `python` describes the interpreter Ansible would use (asked of it, when there is one);
    // play's modules run none, so there is no python_version of the module's own.
    assert!(!f.contains_key("python_version"));
    if let Some(py) = f.get("python") {
        assert_eq!(py["version"]["major"], json!(3), "{py}");
        assert!(
            py["executable"].is_string() && py["version_info"].is_array(),
            "{py}"
        );
    }
    // values from the sources Ansible reads
    assert_eq!(f["system"], json!(sh("uname -s")));
    assert_eq!(f["kernel"], json!(sh("uname -r")));
    assert_eq!(f["kernel_version"], json!(sh("uname -v")));
    assert_eq!(f["machine"], json!(sh("uname -m")));
    assert_eq!(f["nodename"], json!(sh("uname -n")));
    assert_eq!(f["user_uid"], json!(sh("id -u").parse::<u64>().unwrap()));
    assert_eq!(f["env"]["PATH"], json!(std::env::var("PATH").unwrap()));
    assert_eq!(
        f["processor_nproc"],
        json!(sh("nproc").parse::<u64>().unwrap())
    );
    let memtotal_kb: u64 = sh("awk '/^MemTotal:/ {print $2}' /proc/meminfo")
        .parse()
        .unwrap();
    assert_eq!(f["memtotal_mb"], json!(memtotal_kb / 1024));
}

#[test]
fn debian_distribution_facts() {
    let osr = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    if !osr.contains("ID=debian") {
        return; // the recorded oracle values are for Debian
    }
    let f = facts(json!({"gather_subset": "min"}));
    // oracle: distribution "Debian", distribution_version "12.11" (from /etc/debian_version),
    // distribution_major_version "12", distribution_minor_version "11", distribution_release "bookworm",
    // os_family "Debian", pkg_mgr "apt", distribution_file_path "/etc/os-release", distribution_file_variety "Debian"
    let dv = std::fs::read_to_string("/etc/debian_version")
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(f["distribution"], json!("Debian"));
    assert_eq!(f["distribution_version"], json!(dv));
    assert_eq!(
        f["distribution_major_version"],
        json!(dv.split('.').next().unwrap())
    );
    assert_eq!(f["os_family"], json!("Debian"));
    assert_eq!(f["pkg_mgr"], json!("apt"));
    assert_eq!(f["distribution_file_path"], json!("/etc/os-release"));
    let codename = osr
        .lines()
        .find_map(|l| l.strip_prefix("VERSION_CODENAME="))
        .unwrap()
        .trim_matches('"');
    assert_eq!(f["distribution_release"], json!(codename));
    // min does not include hardware
    assert!(!f.contains_key("memtotal_mb"));
}

#[test]
fn date_time_has_all_of_ansibles_keys() {
    let f = facts(json!({"gather_subset": ["!all", "date_time"], "filter": "ansible_date_time"}));
    let dt = f["date_time"].as_object().unwrap();
    // oracle ansible_date_time keys (all values are strings)
    assert_eq!(
        keys(dt),
        set(&[
            "date",
            "day",
            "epoch",
            "epoch_int",
            "hour",
            "iso8601",
            "iso8601_basic",
            "iso8601_basic_short",
            "iso8601_micro",
            "minute",
            "month",
            "second",
            "time",
            "tz",
            "tz_dst",
            "tz_offset",
            "weekday",
            "weekday_number",
            "weeknumber",
            "year",
        ])
    );
    assert!(dt.values().all(|v| v.is_string()));
    // oracle shapes: "iso8601": "2026-11-22T00:20:42Z", "iso8601_basic": "20261122T002042897480",
    // "iso8601_micro": "2026-11-22T00:20:42.897480Z", "tz_offset": "+0000", "weekday": "Sunday"
    let re = |p: &str, k: &str| {
        assert!(
            regex::Regex::new(p)
                .unwrap()
                .is_match(dt[k].as_str().unwrap()),
            "{k}: {}",
            dt[k]
        )
    };
    re(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", "iso8601");
    re(r"^\d{8}T\d{12}$", "iso8601_basic");
    re(r"^\d{8}T\d{6}$", "iso8601_basic_short");
    re(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$", "iso8601_micro");
    re(r"^[+-]\d{4}$", "tz_offset");
    re(r"^[A-Z][a-z]+day$", "weekday");
    re(r"^\d+$", "epoch");
    assert_eq!(dt["epoch"], dt["epoch_int"]);
    // the filter keeps only the matching fact
    assert_eq!(keys(&f), set(&["date_time"]));
}

#[test]
fn local_facts_json_ini_and_executables() {
    let d = tmp();
    let fp = d.path();
    std::fs::write(
        fp.join("ini.fact"),
        "[General]\nFooBar = Baz Qux\nnum=3\n[other]\nx: y\n",
    )
    .unwrap();
    std::fs::write(fp.join("js.fact"), r#"{"a": [1, 2], "b": {"c": true}}"#).unwrap();
    std::fs::write(fp.join("exe.fact"), "#!/bin/sh\necho '{\"exe\": 1}'\n").unwrap();
    std::fs::write(fp.join("bad.fact"), "garbage without section\n").unwrap();
    std::fs::write(fp.join("fail.fact"), "#!/bin/sh\nexit 3\n").unwrap();
    std::fs::write(fp.join("ignored.txt"), "{}").unwrap();
    for x in ["exe.fact", "fail.fact"] {
        std::fs::set_permissions(
            fp.join(x),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
    }
    // oracle: ansible localhost -m setup -a "gather_subset=!all,local fact_path=DIR filter=ansible_local"
    let want = json!({
        "bad": format!("error loading facts as JSON or ini - please check content: {}/bad.fact", fp.display()),
        "exe": {"exe": 1},
        "fail": format!("Failure executing fact script ({}/fail.fact), rc: 3, err: ", fp.display()),
        "ini": {"General": {"foobar": "Baz Qux", "num": "3"}, "other": {"x": "y"}},
        "js": {"a": [1, 2], "b": {"c": true}},
    });
    let r = run(
        "setup",
        json!({"gather_subset": "!all,local", "fact_path": fp, "filter": "ansible_local"}),
        &ctx(),
    );
    assert_eq!(r["ansible_facts"], json!({"local": want}));
    // the two broken facts are also warnings (oracle printed both as [WARNING])
    assert_eq!(r["warnings"].as_array().unwrap().len(), 2);
    // the context's fact_path is used when the task gives none
    let c = play_modules::ModuleContext {
        fact_path: Some(fp.to_path_buf()),
        ..Default::default()
    };
    let r = run(
        "setup",
        json!({"gather_subset": ["!all"], "filter": ["local"]}),
        &c,
    );
    assert_eq!(
        r["ansible_facts"]["local"]["js"],
        json!({"a": [1, 2], "b": {"c": true}})
    );
    // a missing fact_path gives an empty dict
    let f =
        facts(json!({"gather_subset": "!all", "fact_path": fp.join("nope"), "filter": "local"}));
    assert_eq!(f["local"], json!({}));
}

#[test]
fn subsets_and_filters() {
    // oracle (gather_subset=!all filter=ansible_*): the min facts, no hardware, no gather_subset key
    let f = facts(json!({"gather_subset": "!all", "filter": "ansible_*"}));
    assert!(
        f.contains_key("distribution") && f.contains_key("user_id") && f.contains_key("date_time")
    );
    assert!(!f.contains_key("memtotal_mb") && !f.contains_key("processor"));
    assert!(!f.contains_key("gather_subset") && !f.contains_key("module_setup"));
    // hardware only (plus min)
    let f = facts(json!({"gather_subset": ["hardware"]}));
    assert!(f.contains_key("memtotal_mb") && f.contains_key("distribution"));
    // !min,!all leaves almost nothing
    let f = facts(json!({"gather_subset": ["!all", "!min"]}));
    assert_eq!(keys(&f), set(&["gather_subset", "module_setup"]));
    // fnmatch patterns with and without the prefix
    let f = facts(json!({"filter": ["distribution_*", "ansible_os_fam?ly", "*_mb"]}));
    assert!(
        f.contains_key("distribution_version")
            && f.contains_key("os_family")
            && f.contains_key("memtotal_mb")
    );
    assert!(!f.contains_key("distribution") && !f.contains_key("env"));
    // unknown subset
    let r = run("setup", json!({"gather_subset": ["bogus"]}), &ctx());
    assert!(failed(&r));
    // oracle (setup: gather_subset=bogus), the full message:
    assert_eq!(msg(&r), "Bad subset 'bogus' given to Ansible. gather_subset options allowed: all, all_ipv4_addresses, all_ipv6_addresses, apparmor, architecture, caps, chroot, cmdline, date_time, default_ipv4, default_ipv6, devices, distribution, distribution_major_version, distribution_release, distribution_version, dns, effective_group_ids, effective_user_id, env, facter, fibre_channel_wwn, fips, hardware, interfaces, is_chroot, iscsi, kernel, kernel_version, loadavg, local, lsb, machine, machine_id, mounts, network, nvme, ohai, os_family, pkg_mgr, platform, processor, processor_cores, processor_count, python, python_version, real_user_id, selinux, service_mgr, ssh_host_key_dsa_public, ssh_host_key_ecdsa_public, ssh_host_key_ed25519_public, ssh_host_key_rsa_public, ssh_host_pub_keys, ssh_pub_keys, system, system_capabilities, system_capabilities_enforced, systemd, user, user_dir, user_gecos, user_gid, user_id, user_shell, user_uid, virtual, virtualization_role, virtualization_tech_guest, virtualization_tech_host, virtualization_type");
    // a fact name works as a subset
    let f = facts(json!({"gather_subset": ["!all", "!min", "kernel"]}));
    assert!(f.contains_key("kernel") && !f.contains_key("env"));
}

#[test]
fn ini_parser_details() {
    use play_modules::setup::parse_ini;
    let m =
        parse_ini("[DEFAULT]\nShared = 1\n[a]\nKey = v\n  continued\n; comment\n[b]\n").unwrap();
    assert_eq!(
        Value::Object(m),
        json!({"a": {"key": "v\ncontinued", "shared": "1"}, "b": {"shared": "1"}})
    );
    assert!(parse_ini("no header\n").is_none());
    assert!(parse_ini("[a]\nnovalue\n").is_none());
}

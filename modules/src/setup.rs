//! `setup`: gather facts about the target, without Python.
//!
//! Facts are returned inside `ansible_facts` under Ansible's names *without* the
//! `ansible_` prefix (`distribution`, `date_time`, `local`, ...); the controller adds the
//! prefixed top-level variables. `filter` patterns match either form, as Ansible's do.
//!
//! Collectors: platform, distribution, user, env, date_time, pkg_mgr, service_mgr,
//! local, dns, lsb, cmdline, selinux/apparmor/fips status (the `min` subset) and the
//! hardware facts read from /proc (processor, memory, uptime, loadavg).

use crate::args::{i, l, p, Spec, Type};
use crate::util::{passwd_by_uid, Failure, LocalTime};
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::{json, Map, Value};
use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

const MIN: &[&str] = &[
    "apparmor",
    "caps",
    "cmdline",
    "date_time",
    "distribution",
    "dns",
    "env",
    "fips",
    "local",
    "lsb",
    "pkg_mgr",
    "platform",
    "python",
    "selinux",
    "service_mgr",
    "ssh_pub_keys",
    "user",
];
/// The subset names ansible-core 2.21 accepts, as its error message lists them. Names of
/// collectors this crate does not have (network, virtual, ...) are accepted and gather nothing.
const SUBSETS_ALLOWED: &str = "all_ipv4_addresses, all_ipv6_addresses, apparmor, architecture, caps, chroot, cmdline, date_time, default_ipv4, default_ipv6, devices, distribution, distribution_major_version, distribution_release, distribution_version, dns, effective_group_ids, effective_user_id, env, facter, fibre_channel_wwn, fips, hardware, interfaces, is_chroot, iscsi, kernel, kernel_version, loadavg, local, lsb, machine, machine_id, mounts, network, nvme, ohai, os_family, pkg_mgr, platform, processor, processor_cores, processor_count, python, python_version, real_user_id, selinux, service_mgr, ssh_host_key_dsa_public, ssh_host_key_ecdsa_public, ssh_host_key_ed25519_public, ssh_host_key_rsa_public, ssh_host_pub_keys, ssh_pub_keys, system, system_capabilities, system_capabilities_enforced, systemd, user, user_dir, user_gecos, user_gid, user_id, user_shell, user_uid, virtual, virtualization_role, virtualization_tech_guest, virtualization_tech_host, virtualization_type";
const HARDWARE: &[&str] = &["hardware"];
const OTHER: &[&str] = &["loadavg", "chroot", "network", "virtual"];

fn spec() -> Spec {
    Spec::new(vec![
        l("gather_subset")
            .default(json!(["all"]))
            .elements(Type::Str),
        i("gather_timeout").default(10),
        l("filter").default(json!([])).elements(Type::Str),
        p("fact_path").default("/etc/ansible/facts.d"),
    ])
}

fn read(p: &str) -> Option<String> {
    fs::read_to_string(p).ok()
}

fn uname() -> (String, String, String, String, String) {
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    unsafe { libc::uname(&mut u) };
    let s = |a: &[libc::c_char]| {
        unsafe { std::ffi::CStr::from_ptr(a.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    };
    (
        s(&u.sysname),
        s(&u.nodename),
        s(&u.release),
        s(&u.version),
        s(&u.machine),
    )
}

/// Python's socket.getfqdn() for this host (without the aliases).
pub(crate) fn getfqdn(host: &str) -> String {
    use std::ffi::CString;
    let Ok(c) = CString::new(host) else {
        return host.to_string();
    };
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = libc::AF_UNSPEC;
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    if unsafe { libc::getaddrinfo(c.as_ptr(), std::ptr::null(), &hints, &mut res) } != 0
        || res.is_null()
    {
        return host.to_string();
    }
    let mut buf = vec![0 as libc::c_char; 1025];
    let rc = unsafe {
        let ai = &*res;
        libc::getnameinfo(
            ai.ai_addr,
            ai.ai_addrlen,
            buf.as_mut_ptr(),
            buf.len() as u32,
            std::ptr::null_mut(),
            0,
            libc::NI_NAMEREQD,
        )
    };
    unsafe { libc::freeaddrinfo(res) };
    if rc != 0 {
        return host.to_string();
    }
    unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

fn platform(f: &mut Map<String, Value>) {
    let (sys, node, release, version, machine) = uname();
    f.insert("system".into(), json!(sys));
    f.insert("kernel".into(), json!(release));
    f.insert("kernel_version".into(), json!(version));
    f.insert("machine".into(), json!(machine));
    f.insert("python_version".into(), Value::Null);
    let fqdn = getfqdn(&node);
    f.insert("fqdn".into(), json!(fqdn));
    f.insert(
        "hostname".into(),
        json!(node.split('.').next().unwrap_or("")),
    );
    f.insert("nodename".into(), json!(node));
    f.insert(
        "domain".into(),
        json!(fqdn.split('.').skip(1).collect::<Vec<_>>().join(".")),
    );
    let arch = match machine.as_str() {
        "i386" | "i486" | "i586" | "i686" => "i386".to_string(),
        m => m.to_string(),
    };
    f.insert("architecture".into(), json!(arch));
    f.insert(
        "userspace_bits".into(),
        json!(if cfg!(target_pointer_width = "64") {
            "64"
        } else {
            "32"
        }),
    );
    f.insert(
        "userspace_architecture".into(),
        json!(
            if machine == "x86_64" && cfg!(target_pointer_width = "32") {
                "i386".into()
            } else {
                machine.clone()
            }
        ),
    );
    if let Some(id) = read("/etc/machine-id").or_else(|| read("/var/lib/dbus/machine-id")) {
        f.insert("machine_id".into(), json!(id.trim()));
    }
    f.remove("python_version");
}

/// What the `python` collector reports, asked of the interpreter itself.
const PYTHON_PROBE: &str = "import json, sys\n\
try:\n    import ssl; ssl.create_default_context; ssl.SSLContext; has_ssl = True\n\
except Exception:\n    has_ssl = False\n\
v = sys.version_info\n\
print(json.dumps({'version': {'major': v[0], 'minor': v[1], 'micro': v[2], \
'releaselevel': v[3], 'serial': v[4]}, 'version_info': list(v), \
'executable': sys.executable, 'has_sslcontext': has_ssl, \
'type': getattr(getattr(sys, 'implementation', None), 'name', None)}))";

/// Where Ansible's interpreter discovery looks when no interpreter is configured.
const PYTHON_FALLBACK: &[&str] = &[
    "python3.14",
    "python3.13",
    "python3.12",
    "python3.11",
    "python3.10",
    "python3.9",
    "python3.8",
    "/usr/bin/python3",
    "/usr/libexec/platform-python",
];

/// The `python` fact: Ansible reports the interpreter its setup module ran under; play's
/// setup needs none, so it asks the configured interpreter (else the first one discovery
/// would find) about itself. No usable Python means no fact rather than a failure.
fn python_facts(configured: Option<&str>) -> Option<Value> {
    let configured = configured.filter(|p| !p.is_empty() && !p.starts_with("auto"));
    let candidates: Vec<&str> = match configured {
        Some(p) => vec![p],
        None => PYTHON_FALLBACK.to_vec(),
    };
    candidates.into_iter().find_map(|exe| {
        let out = std::process::Command::new(exe)
            .args(["-c", PYTHON_PROBE])
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())?;
        serde_json::from_slice(&out.stdout).ok()
    })
}

/// Parse /etc/os-release style KEY=value lines.
fn os_release() -> Map<String, Value> {
    let mut m = Map::new();
    let text = read("/etc/os-release")
        .or_else(|| read("/usr/lib/os-release"))
        .unwrap_or_default();
    for line in text.lines() {
        if let Some((k, v)) = line.split_once('=') {
            let v = v.trim();
            let v = crate::util::shlex_split(v)
                .ok()
                .and_then(|w| w.into_iter().next())
                .unwrap_or_else(|| v.trim_matches('"').to_string());
            m.insert(k.trim().to_string(), json!(v));
        }
    }
    m
}

fn os_family(dist: &str) -> &str {
    match dist {
        "RedHat"
        | "Fedora"
        | "CentOS"
        | "Scientific"
        | "SLC"
        | "Ascendos"
        | "CloudLinux"
        | "PSBM"
        | "OracleLinux"
        | "OVS"
        | "OEL"
        | "Amazon"
        | "Virtuozzo"
        | "XenServer"
        | "Alibaba"
        | "EulerOS"
        | "openEuler"
        | "AlmaLinux"
        | "Rocky"
        | "TencentOS"
        | "EuroLinux"
        | "Kylin Linux Advanced Server"
        | "MIRACLE" => "RedHat",
        "Ubuntu" | "Debian" | "Raspbian" | "Neon" | "KDE neon" | "Linux Mint" | "SteamOS"
        | "Devuan" | "Kali" | "Cumulus Linux" | "Pop!_OS" | "Parrot" | "Pardus GNU/Linux"
        | "Uos" | "Deepin" | "OSMC" | "Linux Lite" => "Debian",
        "SLES"
        | "SLED"
        | "SUSE Linux Enterprise Server"
        | "openSUSE"
        | "openSUSE Leap"
        | "openSUSE Tumbleweed"
        | "SLES_SAP"
        | "SUSE_LINUX" => "Suse",
        "Archlinux" | "Antergos" | "Manjaro" => "Archlinux",
        "Alpine" => "Alpine",
        "Gentoo" | "Funtoo" => "Gentoo",
        "Mandriva" | "Mandrake" | "Mageia" => "Mandrake",
        "FreeBSD" | "TrueOS" => "FreeBSD",
        "Void" => "Void",
        other => other,
    }
}

fn distribution(f: &mut Map<String, Value>) {
    let (sys, ..) = uname();
    if sys != "Linux" {
        f.insert("distribution".into(), json!(sys));
        f.insert("distribution_version".into(), json!(""));
        f.insert("distribution_release".into(), json!(""));
        f.insert("distribution_major_version".into(), json!(""));
        f.insert("os_family".into(), json!(sys));
        return;
    }
    let osr = os_release();
    let get = |k: &str| {
        osr.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    let id = get("ID");
    let name = match id.as_str() {
        "debian" => "Debian".to_string(),
        "ubuntu" => "Ubuntu".into(),
        "rhel" | "redhat" => "RedHat".into(),
        "centos" => "CentOS".into(),
        "fedora" => "Fedora".into(),
        "rocky" => "Rocky".into(),
        "almalinux" => "AlmaLinux".into(),
        "ol" => "OracleLinux".into(),
        "amzn" => "Amazon".into(),
        "sles" => "SLES".into(),
        "sles_sap" => "SLES_SAP".into(),
        "opensuse-leap" => "openSUSE Leap".into(),
        "opensuse-tumbleweed" => "openSUSE Tumbleweed".into(),
        "arch" => "Archlinux".into(),
        "alpine" => "Alpine".into(),
        "gentoo" => "Gentoo".into(),
        "linuxmint" => "Linux Mint".into(),
        "raspbian" => "Raspbian".into(),
        "kali" => "Kali".into(),
        "devuan" => "Devuan".into(),
        "pop" => "Pop!_OS".into(),
        "void" => "Void".into(),
        "" => "Linux".into(),
        other => {
            let mut c = other.chars();
            c.next()
                .map(|x| x.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        }
    };
    let mut version = get("VERSION_ID");
    let mut release = get("VERSION_CODENAME");
    if release.is_empty() {
        release = get("UBUNTU_CODENAME");
    }
    if name == "Debian" {
        if let Some(dv) = read("/etc/debian_version") {
            let dv = dv.trim();
            if dv.chars().next().is_some_and(|c| c.is_ascii_digit()) || version.is_empty() {
                version = dv.to_string();
            }
        }
    }
    if name == "Alpine" {
        if let Some(v) = read("/etc/alpine-release") {
            version = v.trim().to_string();
        }
    }
    if release.is_empty() {
        release = "NA".into();
    }
    let major = version.split('.').next().unwrap_or("").to_string();
    f.insert("distribution".into(), json!(name));
    f.insert(
        "distribution_version".into(),
        json!(if version.is_empty() {
            "NA".to_string()
        } else {
            version.clone()
        }),
    );
    f.insert(
        "distribution_major_version".into(),
        json!(if major.is_empty() {
            "NA".to_string()
        } else {
            major
        }),
    );
    if let Some((_, minor)) = version.split_once('.') {
        f.insert(
            "distribution_minor_version".into(),
            json!(minor.split('.').next().unwrap_or("")),
        );
    }
    f.insert("distribution_release".into(), json!(release));
    f.insert("os_family".into(), json!(os_family(&name)));
    if Path::new("/etc/os-release").exists() {
        f.insert("distribution_file_path".into(), json!("/etc/os-release"));
        f.insert("distribution_file_parsed".into(), json!(true));
        if name == "Debian" || os_family(&name) == "Debian" {
            f.insert("distribution_file_variety".into(), json!("Debian"));
        }
    }
}

fn lsb(f: &mut Map<String, Value>) {
    let mut m = Map::new();
    if let Some(t) = read("/etc/lsb-release") {
        for line in t.lines() {
            if let Some((k, v)) = line.split_once('=') {
                let v = v.trim().trim_matches('"').to_string();
                match k.trim() {
                    "DISTRIB_ID" => m.insert("id".into(), json!(v)),
                    "DISTRIB_RELEASE" => m.insert("release".into(), json!(v)),
                    "DISTRIB_DESCRIPTION" => m.insert("description".into(), json!(v)),
                    "DISTRIB_CODENAME" => m.insert("codename".into(), json!(v)),
                    _ => None,
                };
            }
        }
    } else if let Ok(out) = std::process::Command::new("lsb_release").arg("-a").output() {
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some((k, v)) = line.split_once(':') {
                let v = v.trim().to_string();
                match k.trim() {
                    "Distributor ID" => m.insert("id".into(), json!(v)),
                    "Release" => m.insert("release".into(), json!(v)),
                    "Description" => m.insert("description".into(), json!(v)),
                    "Codename" => m.insert("codename".into(), json!(v)),
                    _ => None,
                };
            }
        }
    }
    if let Some(r) = m
        .get("release")
        .and_then(|v| v.as_str())
        .map(|s| s.split('.').next().unwrap_or("").to_string())
    {
        m.insert("major_release".into(), json!(r));
    }
    f.insert("lsb".into(), Value::Object(m));
}

fn user(f: &mut Map<String, Value>) {
    let uid = unsafe { libc::getuid() };
    let euid = unsafe { libc::geteuid() };
    let gid = unsafe { libc::getgid() };
    let egid = unsafe { libc::getegid() };
    let pw = passwd_by_uid(euid);
    // getpass.getuser(): LOGNAME, USER, LNAME, USERNAME, then the password database.
    let user_id = ["LOGNAME", "USER", "LNAME", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .or_else(|| passwd_by_uid(uid).map(|p| p.0))
        .unwrap_or_else(|| uid.to_string());
    let named = crate::util::passwd_by_name(&user_id).or(pw);
    f.insert("user_id".into(), json!(user_id));
    if let Some((_, puid, pgid, dir, shell, gecos)) = named {
        f.insert("user_uid".into(), json!(puid));
        f.insert("user_gid".into(), json!(pgid));
        f.insert("user_gecos".into(), json!(gecos));
        f.insert("user_dir".into(), json!(dir));
        f.insert("user_shell".into(), json!(shell));
    }
    f.insert("real_user_id".into(), json!(uid));
    f.insert("effective_user_id".into(), json!(euid));
    f.insert("real_group_id".into(), json!(gid));
    f.insert("effective_group_id".into(), json!(egid));
}

fn env(f: &mut Map<String, Value>, ctx: &ModuleContext) {
    let mut m = Map::new();
    let mut vars: Vec<(String, String)> = std::env::vars().collect();
    vars.extend(ctx.environment.iter().cloned());
    for (k, v) in vars {
        m.insert(k, json!(v));
    }
    f.insert("env".into(), Value::Object(m));
}

/// Ansible's date_time facts.
pub fn date_time() -> Value {
    let now = LocalTime::now();
    let utc = now.utc();
    let tzname1 = unsafe {
        libc_tzset();
        let p = *tzname_ptr().add(1);
        if p.is_null() {
            String::new()
        } else {
            std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    };
    json!({
        "year": now.format("%Y"),
        "month": now.format("%m"),
        "weekday": now.format("%A"),
        "weekday_number": now.format("%w"),
        "weeknumber": now.format("%W"),
        "day": now.format("%d"),
        "hour": now.format("%H"),
        "minute": now.format("%M"),
        "second": now.format("%S"),
        "epoch": now.epoch.to_string(),
        "epoch_int": now.epoch.to_string(),
        "date": now.format("%Y-%m-%d"),
        "time": now.format("%H:%M:%S"),
        "iso8601_micro": utc.format("%Y-%m-%dT%H:%M:%S.%fZ"),
        "iso8601": utc.format("%Y-%m-%dT%H:%M:%SZ"),
        "iso8601_basic": now.format("%Y%m%dT%H%M%S%f"),
        "iso8601_basic_short": now.format("%Y%m%dT%H%M%S"),
        "tz": now.format("%Z"),
        "tz_dst": tzname1,
        "tz_offset": now.format("%z"),
    })
}

extern "C" {
    #[link_name = "tzset"]
    fn libc_tzset();
    #[link_name = "tzname"]
    static mut TZNAME: [*const libc::c_char; 2];
}

unsafe fn tzname_ptr() -> *const *const libc::c_char {
    std::ptr::addr_of!(TZNAME) as *const *const libc::c_char
}

fn pkg_mgr(f: &mut Map<String, Value>) {
    const PKG_MGRS: &[(&str, &str)] = &[
        ("/usr/bin/rpm-ostree", "atomic_container"),
        ("/usr/bin/yum", "dnf"),
        ("/usr/bin/dnf-3", "dnf"),
        ("/usr/bin/dnf5", "dnf5"),
        ("/usr/bin/apt-get", "apt"),
        ("/usr/bin/zypper", "zypper"),
        ("/usr/sbin/urpmi", "urpmi"),
        ("/usr/bin/pacman", "pacman"),
        ("/bin/opkg", "opkg"),
        ("/usr/pkg/bin/pkgin", "pkgin"),
        ("/opt/local/bin/pkgin", "pkgin"),
        ("/opt/tools/bin/pkgin", "pkgin"),
        ("/opt/local/bin/port", "macports"),
        ("/usr/local/bin/brew", "homebrew"),
        ("/opt/homebrew/bin/brew", "homebrew"),
        ("/sbin/apk", "apk"),
        ("/usr/sbin/pkg", "pkgng"),
        ("/usr/sbin/swlist", "swdepot"),
        ("/usr/bin/emerge", "portage"),
        ("/usr/sbin/pkgadd", "svr4pkg"),
        ("/usr/bin/pkg", "pkg5"),
        ("/usr/bin/xbps-install", "xbps"),
        ("/usr/local/sbin/pkg", "pkgng"),
        ("/usr/bin/swupd", "swupd"),
        ("/usr/sbin/sorcery", "sorcery"),
    ];
    let mut name = "unknown".to_string();
    for (p, n) in PKG_MGRS {
        if Path::new(p).exists() {
            name = n.to_string();
        }
    }
    let family = f
        .get("os_family")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string();
    if family == "RedHat" {
        name = "unknown".into();
        if Path::new("/run/ostree-booted").exists() {
            name = "atomic_container".into();
        } else {
            for b in ["/usr/bin/dnf", "/usr/bin/microdnf"] {
                if Path::new(b).exists() {
                    let real = fs::canonicalize(b)
                        .map(|p| p.display().to_string())
                        .unwrap_or_default();
                    name = if real == "/usr/bin/dnf5" {
                        "dnf5"
                    } else {
                        "dnf"
                    }
                    .into();
                    break;
                }
            }
        }
    } else if family == "Debian" && name != "apt" {
        name = "apt".into();
    } else if family == "Altlinux" && name == "apt" {
        name = "apt_rpm".into();
    }
    f.insert("pkg_mgr".into(), json!(name));
}

fn service_mgr(f: &mut Map<String, Value>) {
    let mut proc1 = read("/proc/1/comm").map(|s| s.trim().to_string());
    if let Some(p) = &proc1 {
        if p == "init" || p.ends_with("sh") || p.is_empty() {
            proc1 = None;
        }
    }
    let name = match proc1.as_deref() {
        Some("runit-init") => "runit".to_string(),
        Some("svscan") => "svc".to_string(),
        Some("openrc-init") => "openrc".to_string(),
        Some(p) => p.to_string(),
        None => {
            if Path::new("/run/systemd/system").exists() || Path::new("/dev/.run/systemd").exists()
            {
                "systemd".into()
            } else if Path::new("/sbin/openrc").exists() {
                "openrc".into()
            } else if Path::new("/etc/init.d").exists() {
                "sysvinit".into()
            } else {
                "service".into()
            }
        }
    };
    f.insert("service_mgr".into(), json!(name));
}

fn dns(f: &mut Map<String, Value>) {
    let mut m = Map::new();
    if let Some(t) = read("/etc/resolv.conf") {
        let mut ns = Vec::new();
        for line in t.lines() {
            let w: Vec<&str> = line.split_whitespace().collect();
            if w.is_empty() || w[0].starts_with('#') || w[0].starts_with(';') {
                continue;
            }
            match w[0] {
                "nameserver" if w.len() > 1 => ns.push(json!(w[1])),
                "domain" if w.len() > 1 => {
                    m.insert("domain".into(), json!(w[1]));
                }
                "search" => {
                    m.insert("search".into(), json!(w[1..]));
                }
                "sortlist" => {
                    m.insert("sortlist".into(), json!(w[1..]));
                }
                "options" => {
                    let mut o = Map::new();
                    for opt in &w[1..] {
                        match opt.split_once(':') {
                            Some((k, v)) => o.insert(k.into(), json!(v)),
                            None => o.insert(opt.to_string(), json!(true)),
                        };
                    }
                    m.insert("options".into(), Value::Object(o));
                }
                _ => {}
            }
        }
        if !ns.is_empty() {
            m.insert("nameservers".into(), Value::Array(ns));
        }
    }
    f.insert("dns".into(), Value::Object(m));
}

fn cmdline(f: &mut Map<String, Value>) {
    let Some(t) = read("/proc/cmdline") else {
        return;
    };
    let words = crate::util::shlex_split(t.trim()).unwrap_or_default();
    let mut cl = Map::new();
    let mut pcl = Map::new();
    for w in words {
        let (k, v) = match w.split_once('=') {
            Some((k, v)) => (k.to_string(), json!(v)),
            None => (w.clone(), json!(true)),
        };
        cl.insert(k.clone(), v.clone());
        match pcl.get_mut(&k) {
            Some(Value::Array(a)) => a.push(v),
            Some(old) => *old = json!([old.clone(), v]),
            None => {
                pcl.insert(k, v);
            }
        }
    }
    f.insert("cmdline".into(), Value::Object(cl));
    f.insert("proc_cmdline".into(), Value::Object(pcl));
}

/// The caps collector: `capsh --print`'s "Current:" line, read as Ansible reads it (the
/// text after the first `=`, split at commas).
fn caps(f: &mut Map<String, Value>) {
    let mut enforced = json!("N/A");
    let mut list = json!("N/A");
    let out = crate::sysutil::which("capsh").and_then(|capsh| {
        std::process::Command::new(capsh)
            .arg("--print")
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
    });
    if let Some(o) = out.filter(|o| o.status.success()) {
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        let mut state = "NA";
        let mut caps: Vec<String> = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("Current:") {
                if rest.split(':').next().unwrap_or("").trim() == "=ep" {
                    state = "False";
                } else {
                    state = "True";
                    caps = line
                        .split('=')
                        .nth(1)
                        .unwrap_or("")
                        .split(',')
                        .map(|c| c.trim().to_string())
                        .collect();
                }
            }
        }
        enforced = json!(state);
        list = json!(caps);
    }
    f.insert("system_capabilities_enforced".into(), enforced);
    f.insert("system_capabilities".into(), list);
}

fn security(f: &mut Map<String, Value>) {
    let apparmor = if Path::new("/sys/kernel/security/apparmor").exists() {
        "enabled"
    } else {
        "disabled"
    };
    f.insert("apparmor".into(), json!({"status": apparmor}));
    let selinux = if Path::new("/sys/fs/selinux/enforce").exists() {
        "enabled"
    } else {
        "disabled"
    };
    f.insert("selinux".into(), json!({"status": selinux}));
    f.insert("selinux_python_present".into(), json!(false));
    let fips = read("/proc/sys/crypto/fips_enabled")
        .map(|s| s.trim() == "1")
        .unwrap_or(false);
    f.insert("fips".into(), json!(fips));
}

fn hardware(f: &mut Map<String, Value>) {
    // /proc/cpuinfo as Ansible's LinuxHardware.get_cpu_facts (x86 and generic cases).
    if let Some(t) = read("/proc/cpuinfo") {
        let mut processor = Vec::new();
        let mut physids = BTreeSet::new();
        let mut cores_per_phys: std::collections::BTreeMap<String, i64> = Default::default();
        let mut siblings_per_phys: std::collections::BTreeMap<String, i64> = Default::default();
        let mut cur_phys = String::from("0");
        let mut i = 0i64;
        for line in t.lines() {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let (k, v) = (k.trim(), v.trim());
            match k {
                "processor" => {
                    processor.push(json!(i.to_string()));
                    i += 1;
                }
                "vendor_id" | "model name" | "Processor" | "vendor" | "cpu" => {
                    processor.push(json!(v))
                }
                "physical id" => {
                    cur_phys = v.to_string();
                    physids.insert(v.to_string());
                }
                "core id" => {}
                "cpu cores" => {
                    cores_per_phys.insert(cur_phys.clone(), v.parse().unwrap_or(1));
                }
                "siblings" => {
                    siblings_per_phys.insert(cur_phys.clone(), v.parse().unwrap_or(1));
                }
                _ => {}
            }
        }
        let count = if physids.is_empty() {
            i
        } else {
            physids.len() as i64
        };
        let cores = cores_per_phys.values().next().copied().unwrap_or(1);
        let siblings = siblings_per_phys.values().next().copied().unwrap_or(cores);
        let threads = if cores > 0 {
            (siblings / cores).max(1)
        } else {
            1
        };
        f.insert("processor".into(), Value::Array(processor));
        f.insert("processor_count".into(), json!(count));
        f.insert("processor_cores".into(), json!(cores));
        f.insert("processor_threads_per_core".into(), json!(threads));
        f.insert("processor_vcpus".into(), json!(threads * cores * count));
        let nproc = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
        f.insert("processor_nproc".into(), json!(nproc));
    }
    if let Some(t) = read("/proc/meminfo") {
        let mut mem: std::collections::HashMap<String, i64> = Default::default();
        for line in t.lines() {
            if let Some((k, v)) = line.split_once(':') {
                let kb: i64 = v
                    .split_whitespace()
                    .next()
                    .and_then(|x| x.parse().ok())
                    .unwrap_or(0);
                mem.insert(k.trim().to_string(), kb / 1024);
            }
        }
        let g = |k: &str| mem.get(k).copied().unwrap_or(0);
        f.insert("memtotal_mb".into(), json!(g("MemTotal")));
        f.insert("memfree_mb".into(), json!(g("MemFree")));
        f.insert("swaptotal_mb".into(), json!(g("SwapTotal")));
        f.insert("swapfree_mb".into(), json!(g("SwapFree")));
        let nocache_free = g("MemFree") + g("Buffers") + g("Cached");
        f.insert(
            "memory_mb".into(),
            json!({
                "real": {"total": g("MemTotal"), "used": g("MemTotal") - g("MemFree"), "free": g("MemFree")},
                "nocache": {"free": nocache_free, "used": g("MemTotal") - nocache_free},
                "swap": {"total": g("SwapTotal"), "free": g("SwapFree"), "used": g("SwapTotal") - g("SwapFree"), "cached": g("SwapCached")},
            }),
        );
    }
    if let Some(t) = read("/proc/uptime") {
        if let Some(secs) = t
            .split_whitespace()
            .next()
            .and_then(|x| x.parse::<f64>().ok())
        {
            f.insert("uptime_seconds".into(), json!(secs as i64));
        }
    }
}

/// The host's public SSH keys (Ansible's ssh_pub_keys collector).
fn ssh_pub_keys(f: &mut Map<String, Value>) {
    for dir in ["/etc/ssh", "/etc/openssh", "/etc"] {
        let mut found = false;
        for algo in ["dsa", "rsa", "ecdsa", "ed25519"] {
            if let Some(t) = read(&format!("{dir}/ssh_host_{algo}_key.pub")) {
                let w: Vec<&str> = t.split_whitespace().collect();
                if w.len() >= 2 {
                    f.insert(format!("ssh_host_key_{algo}_public"), json!(w[1]));
                    f.insert(format!("ssh_host_key_{algo}_public_keytype"), json!(w[0]));
                    found = true;
                }
            }
        }
        if found {
            break;
        }
    }
}

fn loadavg(f: &mut Map<String, Value>) {
    let mut l = [0f64; 3];
    if unsafe { libc::getloadavg(l.as_mut_ptr(), 3) } == 3 {
        f.insert(
            "loadavg".into(),
            json!({"1m": l[0], "5m": l[1], "15m": l[2]}),
        );
    }
}

/// Python's configparser, as Ansible's local facts read it: sections become dicts,
/// option names are lower-cased, values are strings, DEFAULT is merged into every section.
pub fn parse_ini(text: &str) -> Option<Map<String, Value>> {
    let mut sections: Vec<(String, Map<String, Value>)> = Vec::new();
    let mut defaults = Map::new();
    let mut cur: Option<usize> = None; // None before any section; usize::MAX for DEFAULT
    let mut in_default = false;
    let mut last_key: Option<String> = None;
    for raw in text.lines() {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            last_key = None;
            continue;
        }
        if trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        // continuation line
        if raw.starts_with([' ', '\t']) {
            if let Some(k) = &last_key {
                let target = if in_default {
                    Some(&mut defaults)
                } else {
                    cur.map(|i| &mut sections[i].1)
                };
                if let Some(Value::String(s)) = target.and_then(|m| m.get_mut(k)) {
                    s.push('\n');
                    s.push_str(trimmed);
                    continue;
                }
            }
        }
        if trimmed.starts_with('[') && trimmed.ends_with(']') {
            let name = trimmed[1..trimmed.len() - 1].to_string();
            last_key = None;
            if name == "DEFAULT" {
                in_default = true;
                continue;
            }
            in_default = false;
            match sections.iter().position(|(n, _)| *n == name) {
                Some(_) => return None, // DuplicateSectionError
                None => {
                    sections.push((name, Map::new()));
                    cur = Some(sections.len() - 1);
                }
            }
            continue;
        }
        if cur.is_none() && !in_default {
            return None; // MissingSectionHeaderError
        }
        let pos = trimmed.find(['=', ':']);
        let (k, v) = match pos {
            Some(p) => (
                trimmed[..p].trim().to_lowercase(),
                trimmed[p + 1..].trim().to_string(),
            ),
            None => return None, // ParsingError (allow_no_value is off)
        };
        let target = if in_default {
            &mut defaults
        } else {
            &mut sections[cur.unwrap_or(0)].1
        };
        if target.contains_key(&k) {
            return None; // DuplicateOptionError
        }
        target.insert(k.clone(), json!(v));
        last_key = Some(k);
    }
    let mut out = Map::new();
    for (name, mut opts) in sections {
        for (k, v) in &defaults {
            opts.entry(k.clone()).or_insert(v.clone());
        }
        out.insert(name, Value::Object(opts));
    }
    Some(out)
}

fn local(f: &mut Map<String, Value>, fact_path: &str, warnings: &mut Vec<Value>) {
    let mut local = Map::new();
    let dir = Path::new(fact_path);
    if fact_path.is_empty() || !dir.exists() {
        f.insert("local".into(), Value::Object(local));
        return;
    }
    let mut files: Vec<_> = fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().ends_with(".fact"))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    for fpath in files {
        let fname = fpath.display().to_string();
        let base = fpath
            .file_name()
            .map(|n| n.to_string_lossy().replace(".fact", ""))
            .unwrap_or_default();
        let md = match fs::metadata(&fpath) {
            Ok(m) => m,
            Err(e) => {
                let msg = format!("Could not stat fact ({fname}): {e}");
                warnings.push(json!(msg));
                local.insert(base, json!(msg));
                continue;
            }
        };
        use std::os::unix::fs::MetadataExt;
        let out: Vec<u8> = if md.mode() & 0o100 != 0 {
            match std::process::Command::new(&fpath).output() {
                Ok(o) if o.status.success() => o.stdout,
                Ok(o) => {
                    let msg = format!(
                        "Failure executing fact script ({fname}), rc: {}, err: {}",
                        o.status.code().unwrap_or(-1),
                        String::from_utf8_lossy(&o.stderr)
                    );
                    warnings.push(json!(msg));
                    local.insert(base, json!(msg));
                    continue;
                }
                Err(e) => {
                    let msg = format!("Could not execute fact script ({fname}): {e}");
                    warnings.push(json!(msg));
                    local.insert(base, json!(msg));
                    continue;
                }
            }
        } else {
            fs::read(&fpath).unwrap_or_default()
        };
        let Ok(text) = String::from_utf8(out) else {
            let msg = format!("error loading fact - output of running \"{fname}\" was not utf-8");
            warnings.push(json!(msg));
            local.insert(base, json!(msg));
            continue;
        };
        let fact = match serde_json::from_str::<Value>(&text) {
            Ok(v) => v,
            Err(_) => match parse_ini(&text) {
                Some(m) => Value::Object(m),
                None => {
                    let msg = format!(
                        "error loading facts as JSON or ini - please check content: {fname}"
                    );
                    warnings.push(json!(msg));
                    json!(msg)
                }
            },
        };
        local.insert(base, fact);
    }
    f.insert("local".into(), Value::Object(local));
}

/// Shell-style pattern match (fnmatch.fnmatch on POSIX: case-sensitive).
pub fn fnmatch(name: &str, pat: &str) -> bool {
    fn m(n: &[char], p: &[char]) -> bool {
        if p.is_empty() {
            return n.is_empty();
        }
        match p[0] {
            '*' => (0..=n.len()).any(|i| m(&n[i..], &p[1..])),
            '?' => !n.is_empty() && m(&n[1..], &p[1..]),
            '[' => {
                let Some(end) = p.iter().skip(2).position(|&c| c == ']').map(|e| e + 2) else {
                    return !n.is_empty() && n[0] == '[' && m(&n[1..], &p[1..]);
                };
                if n.is_empty() {
                    return false;
                }
                let set = &p[1..end];
                let (neg, set) = if set.first() == Some(&'!') {
                    (true, &set[1..])
                } else {
                    (false, set)
                };
                let mut hit = false;
                let mut i = 0;
                while i < set.len() {
                    if i + 2 < set.len() && set[i + 1] == '-' {
                        if set[i] <= n[0] && n[0] <= set[i + 2] {
                            hit = true;
                        }
                        i += 3;
                    } else {
                        if set[i] == n[0] {
                            hit = true;
                        }
                        i += 1;
                    }
                }
                hit != neg && m(&n[1..], &p[end + 1..])
            }
            c => !n.is_empty() && n[0] == c && m(&n[1..], &p[1..]),
        }
    }
    let n: Vec<char> = name.chars().collect();
    let p: Vec<char> = pat.chars().collect();
    m(&n, &p)
}

/// Which collectors a gather_subset selects (Ansible's get_collector_names, for the
/// collectors this crate has). Returns an error message for unknown subsets.
pub fn select_subsets(subset: &[String]) -> Result<BTreeSet<&'static str>, String> {
    let all: Vec<&'static str> = MIN.iter().chain(HARDWARE).chain(OTHER).copied().collect();
    let groups = |name: &str| -> Option<Vec<&'static str>> {
        match name {
            "all" => Some(all.clone()),
            "min" => Some(MIN.to_vec()),
            // fact names Ansible accepts as subsets, mapped to the collector that gathers them
            "architecture" | "kernel" | "kernel_version" | "machine" | "machine_id" | "system" => {
                Some(vec!["platform"])
            }
            "distribution_major_version"
            | "distribution_release"
            | "distribution_version"
            | "os_family" => Some(vec!["distribution"]),
            "user_dir"
            | "user_gecos"
            | "user_gid"
            | "user_id"
            | "user_shell"
            | "user_uid"
            | "effective_group_ids"
            | "effective_user_id"
            | "real_user_id" => Some(vec!["user"]),
            "processor" | "processor_cores" | "processor_count" | "devices" | "mounts" => {
                Some(vec!["hardware"])
            }
            "ssh_host_key_dsa_public"
            | "ssh_host_key_ecdsa_public"
            | "ssh_host_key_ed25519_public"
            | "ssh_host_key_rsa_public"
            | "ssh_host_pub_keys" => Some(vec!["ssh_pub_keys"]),
            "is_chroot" => Some(vec!["chroot"]),
            n if SUBSETS_ALLOWED.split(", ").any(|x| x == n) => Some(
                all.iter()
                    .find(|x| **x == n)
                    .map(|x| vec![*x])
                    .unwrap_or_default(),
            ),
            _ => None,
        }
    };
    // ansible-core's get_collector_names: 'min' always comes first; explicit additions
    // survive exclusions; '!all' excludes everything but min.
    let mut add: BTreeSet<&'static str> = MIN.iter().copied().collect();
    let mut exclude: BTreeSet<&'static str> = BTreeSet::new();
    let mut explicit: BTreeSet<&'static str> = BTreeSet::new();
    for s in subset {
        let s = s.trim();
        match s {
            "min" => continue,
            "all" => {
                add.extend(all.iter().copied());
                continue;
            }
            "!min" => {
                exclude.extend(MIN.iter().copied());
                continue;
            }
            "!all" => {
                exclude.extend(all.iter().copied().filter(|c| !MIN.contains(c)));
                continue;
            }
            _ => {}
        }
        if let Some(name) = s.strip_prefix('!') {
            exclude.extend(groups(name).unwrap_or_default());
            continue;
        }
        let Some(members) = groups(s) else {
            return Err(format!("Bad subset '{s}' given to Ansible. gather_subset options allowed: all, {SUBSETS_ALLOWED}"));
        };
        explicit.extend(members.iter().copied());
        add.extend(members);
    }
    let drop: BTreeSet<&'static str> = exclude.difference(&explicit).copied().collect();
    Ok(add.difference(&drop).copied().collect())
}

pub fn run(args: &Args, ctx: &ModuleContext, module: &str) -> ModuleResult {
    let params = match spec().validate(module, args) {
        Ok(p) => p,
        Err(e) => return Failure::new(e).into_result(),
    };
    let subset = params
        .list("gather_subset")
        .unwrap_or_else(|| vec!["all".into()]);
    let sel = match select_subsets(&subset) {
        Ok(s) => s,
        Err(e) => return Failure::new(e).into_result(),
    };
    let fact_path = ctx
        .fact_path
        .as_ref()
        .map(|p| p.display().to_string())
        .filter(|_| !args.contains_key("fact_path"))
        .or_else(|| params.string("fact_path"))
        .unwrap_or_else(|| "/etc/ansible/facts.d".into());
    let mut f = Map::new();
    let mut warnings = Vec::new();
    if sel.contains("platform") {
        platform(&mut f);
    }
    if sel.contains("distribution") || sel.contains("pkg_mgr") {
        distribution(&mut f);
    }
    if sel.contains("lsb") {
        lsb(&mut f);
    }
    if sel.contains("user") {
        user(&mut f);
    }
    if sel.contains("env") {
        env(&mut f, ctx);
    }
    if sel.contains("date_time") {
        f.insert("date_time".into(), date_time());
    }
    if sel.contains("pkg_mgr") {
        pkg_mgr(&mut f);
    }
    if sel.contains("service_mgr") {
        service_mgr(&mut f);
    }
    if sel.contains("dns") {
        dns(&mut f);
    }
    if sel.contains("cmdline") {
        cmdline(&mut f);
    }
    if sel.contains("selinux") || sel.contains("apparmor") || sel.contains("fips") {
        security(&mut f);
    }
    if sel.contains("caps") {
        caps(&mut f);
    }
    if sel.contains("hardware") {
        hardware(&mut f);
    }
    if sel.contains("loadavg") {
        loadavg(&mut f);
    }
    if sel.contains("python") {
        if let Some(py) = python_facts(ctx.python_interpreter.as_deref()) {
            f.insert("python".into(), py);
        }
    }
    if sel.contains("chroot") {
        let root = fs::metadata("/").ok();
        let init_root = fs::metadata("/proc/1/root/.").ok();
        use std::os::unix::fs::MetadataExt;
        let is_chroot = match (root, init_root) {
            (Some(a), Some(b)) => a.ino() != b.ino() || a.dev() != b.dev(),
            _ => false,
        };
        f.insert("is_chroot".into(), json!(is_chroot));
    }
    if sel.contains("ssh_pub_keys") {
        ssh_pub_keys(&mut f);
    }
    if sel.contains("local") {
        local(&mut f, &fact_path, &mut warnings);
    }
    f.insert("gather_subset".into(), json!(subset));
    f.insert("module_setup".into(), json!(true));
    let filters = params.list("filter").unwrap_or_default();
    if !(filters.is_empty() || filters.len() == 1 && filters[0] == "*") {
        f = f
            .into_iter()
            .filter(|(k, _)| {
                // Facts are matched under their `ansible_` names; gather_subset and
                // module_setup have no such name.
                let name = if k == "gather_subset" || k == "module_setup" {
                    k.clone()
                } else {
                    format!("ansible_{k}")
                };
                filters.iter().any(|pat| {
                    pat.is_empty()
                        || fnmatch(&name, pat)
                        || (!pat.starts_with("ansible_")
                            && !pat.starts_with("facter")
                            && !pat.starts_with("ohai")
                            && fnmatch(&name, &format!("ansible_{pat}")))
                })
            })
            .collect();
    }
    let mut r = ModuleResult::new();
    r.insert("ansible_facts".into(), Value::Object(f));
    r.insert("changed".into(), json!(false));
    if !warnings.is_empty() {
        r.insert("warnings".into(), Value::Array(warnings));
    }
    r
}

//! `wait_for`: wait for a TCP port to accept connections (or stop, or drain), for a file
//! to appear (optionally containing `search_regex`) or disappear, or just sleep.

use crate::args::{i, l, p, s, Params, Spec, Type};
use crate::util::{add_path_info_result, Failure, MResult};
use crate::{Args, ModuleContext, ModuleResult};
use regex::bytes::Regex;
use serde_json::{json, Map, Value};
use std::io::Read;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::{Duration, Instant};

const STATES: &[(&str, &str)] = &[
    ("ESTABLISHED", "01"),
    ("SYN_SENT", "02"),
    ("SYN_RECV", "03"),
    ("FIN_WAIT1", "04"),
    ("FIN_WAIT2", "05"),
    ("TIME_WAIT", "06"),
];

fn spec() -> Spec {
    Spec::new(vec![
        s("host").default("127.0.0.1"),
        i("timeout").default(300),
        i("connect_timeout").default(5),
        i("delay").default(0),
        i("port"),
        l("active_connection_states")
            .elements(Type::Str)
            .default(json!([
                "ESTABLISHED",
                "FIN_WAIT1",
                "FIN_WAIT2",
                "SYN_RECV",
                "SYN_SENT",
                "TIME_WAIT"
            ])),
        p("path"),
        s("search_regex"),
        s("state")
            .default("started")
            .choices(&["absent", "drained", "present", "started", "stopped"]),
        l("exclude_hosts").elements(Type::Str),
        i("sleep").default(1),
        s("msg"),
    ])
}

fn connect(host: &str, port: u16, timeout: Duration) -> Option<TcpStream> {
    let addrs = (host, port).to_socket_addrs().ok()?;
    for a in addrs {
        if let Ok(s) = TcpStream::connect_timeout(&a, timeout.max(Duration::from_millis(100))) {
            return Some(s);
        }
    }
    None
}

/// Connections to or from local `port` in one of `states`, from /proc/net/tcp{,6}.
fn active_connections(port: u16, states: &[String], exclude: &[String]) -> usize {
    let codes: Vec<&str> = STATES
        .iter()
        .filter(|(n, _)| states.iter().any(|s| s == n))
        .map(|(_, c)| *c)
        .collect();
    let mut n = 0;
    for f in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 4 {
                continue;
            }
            let (local, remote, st) = (cols[1], cols[2], cols[3]);
            let lport = local
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if lport != Some(port) || !codes.contains(&st) {
                continue;
            }
            let rhost = remote.split(':').next().unwrap_or("");
            if rhost.len() == 8 {
                if let Ok(v) = u32::from_str_radix(rhost, 16) {
                    let ip = std::net::Ipv4Addr::from(v.swap_bytes()).to_string();
                    if exclude.contains(&ip) {
                        continue;
                    }
                }
            }
            n += 1;
        }
    }
    n
}

fn inner(params: &Params) -> MResult<Map<String, Value>> {
    let host = params.string("host").unwrap_or_default();
    let timeout = params.int("timeout").unwrap_or(300).max(0) as u64;
    let connect_timeout = params.int("connect_timeout").unwrap_or(5).max(0) as u64;
    let delay = params.int("delay").unwrap_or(0).max(0) as u64;
    let port = params.int("port").filter(|p| *p != 0);
    let path = params.string("path");
    let state = params.string("state").unwrap_or_default();
    let search = params.string("search_regex");
    let user_msg = params.string("msg");
    let sleep = Duration::from_secs(params.int("sleep").unwrap_or(1).max(0) as u64);
    let re = search
        .as_ref()
        .map(|r| Regex::new(&format!("(?m){r}")))
        .transpose()
        .map_err(|e| Failure::new(format!("Invalid regular expression: {e}")))?;
    if port.is_some() && path.is_some() {
        return Err(
            Failure::new("port and path parameter can not both be passed to wait_for")
                .with("elapsed", 0),
        );
    }
    if path.is_some() && state == "stopped" {
        return Err(Failure::new(
            "state=stopped should only be used for checking a port in the wait_for module",
        )
        .with("elapsed", 0));
    }
    if path.is_some() && state == "drained" {
        return Err(Failure::new(
            "state=drained should only be used for checking a port in the wait_for module",
        )
        .with("elapsed", 0));
    }
    let exclude = params.list("exclude_hosts");
    if exclude.is_some() && state != "drained" {
        return Err(
            Failure::new("exclude_hosts should only be with state=drained").with("elapsed", 0),
        );
    }
    let states = params.list("active_connection_states").unwrap_or_default();
    for st in &states {
        if !STATES.iter().any(|(n, _)| n == st) {
            return Err(
                Failure::new(format!("unknown active_connection_state ({st}) defined"))
                    .with("elapsed", 0),
            );
        }
    }
    let start = Instant::now();
    let end = start + Duration::from_secs(timeout);
    let elapsed = || start.elapsed().as_secs();
    let fail = |m: String| Failure::new(user_msg.clone().unwrap_or(m)).with("elapsed", elapsed());
    std::thread::sleep(Duration::from_secs(delay));
    let mut groups: Vec<Value> = Vec::new();
    let mut groupdict = Map::new();
    let port16 = port.map(|p| p as u16);
    if port.is_none() && path.is_none() && state != "drained" {
        std::thread::sleep(Duration::from_secs(timeout));
    } else if state == "absent" || state == "stopped" {
        loop {
            if Instant::now() >= end {
                return Err(match (&path, port16) {
                    (_, Some(pt)) => fail(format!("Timeout when waiting for {host}:{pt} to stop.")),
                    (Some(p), _) => fail(format!("Timeout when waiting for {p} to be absent.")),
                    _ => fail(String::new()),
                });
            }
            if let Some(p) = &path {
                if !Path::new(p).exists() && !Path::new(p).is_symlink() {
                    break;
                }
            } else if let Some(pt) = port16 {
                match connect(&host, pt, Duration::from_secs(connect_timeout)) {
                    Some(s) => {
                        let _ = s.shutdown(std::net::Shutdown::Both);
                    }
                    None => break,
                }
            }
            std::thread::sleep(sleep);
        }
    } else if state == "started" || state == "present" {
        loop {
            if Instant::now() >= end {
                return Err(match (&path, port16, &search) {
                    (_, Some(pt), Some(sr)) => fail(format!(
                        "Timeout when waiting for search string {sr} in {host}:{pt}"
                    )),
                    (_, Some(pt), None) => fail(format!("Timeout when waiting for {host}:{pt}")),
                    (Some(p), _, Some(sr)) => fail(format!(
                        "Timeout when waiting for search string {sr} in {p}"
                    )),
                    (Some(p), _, None) => fail(format!("Timeout when waiting for file {p}")),
                    _ => fail(String::new()),
                });
            }
            if let Some(p) = &path {
                match std::fs::metadata(p) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(fail(format!(
                            "Failed to stat {p}, {}",
                            crate::util::strerror(&e)
                        )));
                    }
                    Err(_) => {}
                    Ok(_) => {
                        let Some(re) = &re else { break };
                        if let Ok(data) = std::fs::read(p) {
                            if let Some(c) = re.captures(&data) {
                                for (idx, g) in c.iter().enumerate().skip(1) {
                                    groups.push(
                                        g.map(|m| json!(String::from_utf8_lossy(m.as_bytes())))
                                            .unwrap_or(Value::Null),
                                    );
                                    let _ = idx;
                                }
                                for name in re.capture_names().flatten() {
                                    groupdict.insert(
                                        name.to_string(),
                                        c.name(name)
                                            .map(|m| json!(String::from_utf8_lossy(m.as_bytes())))
                                            .unwrap_or(Value::Null),
                                    );
                                }
                                break;
                            }
                        }
                    }
                }
            } else if let Some(pt) = port16 {
                let left = end.saturating_duration_since(Instant::now());
                let left = Duration::from_secs(left.as_secs_f64().ceil() as u64);
                let ct = Duration::from_secs(connect_timeout).min(left);
                if let Some(mut s) = connect(&host, pt, ct) {
                    match &re {
                        None => {
                            let _ = s.shutdown(std::net::Shutdown::Both);
                            break;
                        }
                        Some(re) => {
                            let mut data = Vec::new();
                            let mut matched = false;
                            while Instant::now() < end {
                                let left = end.saturating_duration_since(Instant::now());
                                let _ =
                                    s.set_read_timeout(Some(left.max(Duration::from_millis(10))));
                                let mut buf = [0u8; 1024];
                                match s.read(&mut buf) {
                                    Ok(0) => break,
                                    Ok(n) => {
                                        data.extend_from_slice(&buf[..n]);
                                        if re.is_match(&data) {
                                            matched = true;
                                            break;
                                        }
                                    }
                                    Err(e)
                                        if e.kind() == std::io::ErrorKind::WouldBlock
                                            || e.kind() == std::io::ErrorKind::TimedOut =>
                                    {
                                        continue
                                    }
                                    Err(_) => break,
                                }
                            }
                            let _ = s.shutdown(std::net::Shutdown::Both);
                            if matched {
                                break;
                            }
                        }
                    }
                }
            }
            std::thread::sleep(sleep);
        }
    } else if state == "drained" {
        let ex = exclude.unwrap_or_default();
        loop {
            if Instant::now() >= end {
                return Err(fail(format!(
                    "Timeout when waiting for {host}:{} to drain",
                    port.map(|p| p.to_string()).unwrap_or_else(|| "None".into())
                )));
            }
            if active_connections(port16.unwrap_or(0), &states, &ex) == 0 {
                break;
            }
            std::thread::sleep(sleep);
        }
    }
    let mut r = Map::new();
    r.insert("changed".into(), json!(false));
    r.insert("elapsed".into(), json!(elapsed()));
    r.insert("match_groupdict".into(), Value::Object(groupdict));
    r.insert("match_groups".into(), Value::Array(groups));
    r.insert("path".into(), json!(path));
    r.insert("port".into(), json!(port));
    r.insert("search_regex".into(), json!(search));
    r.insert("state".into(), json!(state));
    add_path_info_result(&mut r);
    Ok(r)
}

pub fn run(args: &Args, ctx: &ModuleContext, module: &str) -> ModuleResult {
    let params = match spec().validate(module, args) {
        Ok(p) => p,
        Err(e) => return Failure::new(e).into_result(),
    };
    if ctx.check_mode {
        let mut r = ModuleResult::new();
        r.insert("changed".into(), json!(false));
        r.insert(
            "msg".into(),
            json!("remote module (wait_for) does not support check mode"),
        );
        r.insert("skipped".into(), json!(true));
        return r;
    }
    match inner(&params) {
        Ok(r) => r,
        Err(f) => f.into_result(),
    }
}

//! `iptables`: rules, policies, flushing and user chains through iptables/ip6tables.
//! The rule is built in the same order as ansible-core builds it, so `rule` in the
//! result and the `-C` existence check match Ansible's.

use crate::args::{b, d, l, s, Params, Spec, Type};
use crate::sysutil::{cmd_failure, module, need, res, run};
use crate::util::{Failure, MResult};
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::{json, Value};
use std::collections::HashSet;

fn spec() -> Spec {
    Spec::new(vec![
        s("table")
            .default("filter")
            .choices(&["filter", "nat", "mangle", "raw", "security"]),
        s("state")
            .default("present")
            .choices(&["absent", "present"]),
        s("action").default("append").choices(&["append", "insert"]),
        s("ip_version")
            .default("ipv4")
            .choices(&["ipv4", "ipv6", "both"]),
        s("chain"),
        s("rule_num"),
        s("protocol"),
        s("wait"),
        s("source"),
        s("to_source"),
        s("destination"),
        s("to_destination"),
        l("match").elements(Type::Str).default(json!([])),
        d("tcp_flags"),
        s("jump"),
        s("gateway"),
        s("log_prefix"),
        s("log_level").choices(&[
            "0", "1", "2", "3", "4", "5", "6", "7", "emerg", "alert", "crit", "error", "warning",
            "notice", "info", "debug",
        ]),
        s("goto"),
        s("in_interface"),
        s("out_interface"),
        s("fragment"),
        s("set_counters"),
        s("source_port"),
        s("destination_port"),
        l("destination_ports")
            .elements(Type::Str)
            .default(json!([])),
        s("to_ports"),
        s("set_dscp_mark"),
        s("set_dscp_mark_class"),
        s("comment"),
        l("ctstate").elements(Type::Str).default(json!([])),
        s("src_range"),
        s("dst_range"),
        s("match_set"),
        s("match_set_flags").choices(&["src", "dst", "src,dst", "dst,src", "src,src", "dst,dst"]),
        s("limit"),
        s("limit_burst"),
        s("uid_owner"),
        s("gid_owner"),
        s("reject_with"),
        s("icmp_type"),
        s("syn")
            .default("ignore")
            .choices(&["ignore", "match", "negate"]),
        b("flush").default(false),
        s("policy").choices(&["ACCEPT", "DROP", "QUEUE", "RETURN"]),
        b("chain_management").default(false),
        b("numeric").default(false),
    ])
    .exclusive(&["set_dscp_mark", "set_dscp_mark_class"])
    .exclusive(&["flush", "policy"])
    .required_by("set_dscp_mark", &["jump"])
    .required_by("set_dscp_mark_class", &["jump"])
    .required_if("jump", "TEE", &["gateway"], false)
    .required_if("jump", "tee", &["gateway"], false)
    .required_if("flush", false, &["chain"], false)
}

struct Rule {
    v: Vec<String>,
    ext: HashSet<String>,
}

impl Rule {
    fn param(&mut self, val: Option<&str>, flag: &str) {
        if let Some(x) = val {
            match x.strip_prefix('!') {
                Some(rest) => self.v.extend(["!".into(), flag.into(), rest.into()]),
                None => self.v.extend([flag.into(), x.into()]),
            }
        }
    }
    fn csv(&mut self, vals: &[String], flag: &str) {
        if !vals.is_empty() {
            self.v.extend([flag.into(), vals.join(",")]);
        }
    }
    fn matcher(&mut self, cond: bool, m: &str) {
        if cond && !self.ext.contains(m) {
            self.v.extend(["-m".into(), m.into()]);
            self.ext.insert(m.into());
        }
    }
    fn flag(&mut self, val: Option<&str>, flag: &str, negatable: bool) {
        match val {
            Some("match") => self.v.push(flag.into()),
            Some("negate") if negatable => self.v.extend(["!".into(), flag.into()]),
            _ => {}
        }
    }
    fn jump(&mut self, cond: bool, target: &str) {
        if cond {
            self.v.extend(["-j".into(), target.into()]);
        }
    }
}

/// The rule arguments for validated parameters, in ansible-core's order.
pub fn construct_rule(p: &Params) -> Vec<String> {
    let list = |k: &str| p.list(k).unwrap_or_default();
    let matches = list("match");
    let mut r = Rule {
        v: vec![],
        ext: matches.iter().cloned().collect(),
    };
    r.param(p.str("protocol"), "-p");
    r.param(p.str("source"), "-s");
    r.param(p.str("destination"), "-d");
    for m in &matches {
        r.param(Some(m), "-m");
    }
    if let Some(Value::Object(tf)) = p.get("tcp_flags") {
        let join = |k: &str| {
            tf.get(k).and_then(|v| v.as_array()).map(|a| {
                a.iter()
                    .map(crate::args::py_str)
                    .collect::<Vec<_>>()
                    .join(",")
            })
        };
        if let (Some(f), Some(s)) = (join("flags"), join("flags_set")) {
            r.v.extend(["--tcp-flags".into(), f, s]);
        }
    }
    let jump = p.str("jump");
    r.param(jump, "-j");
    if jump.is_some_and(|j| j.eq_ignore_ascii_case("tee")) {
        r.param(p.str("gateway"), "--gateway");
    }
    r.param(p.str("log_prefix"), "--log-prefix");
    r.param(p.str("log_level"), "--log-level");
    r.param(p.str("to_destination"), "--to-destination");
    let dports = list("destination_ports");
    r.matcher(!dports.is_empty(), "multiport");
    r.csv(&dports, "--dports");
    r.param(p.str("to_source"), "--to-source");
    r.param(p.str("goto"), "-g");
    r.param(p.str("in_interface"), "-i");
    r.param(p.str("out_interface"), "-o");
    r.param(p.str("fragment"), "-f");
    r.param(p.str("set_counters"), "-c");
    r.param(p.str("source_port"), "--source-port");
    r.param(p.str("destination_port"), "--destination-port");
    r.param(p.str("to_ports"), "--to-ports");
    let not_dscp = !jump.is_some_and(|j| j.eq_ignore_ascii_case("dscp"));
    r.param(p.str("set_dscp_mark"), "--set-dscp");
    r.jump(p.is_set("set_dscp_mark") && not_dscp, "DSCP");
    r.param(p.str("set_dscp_mark_class"), "--set-dscp-class");
    r.jump(p.is_set("set_dscp_mark_class") && not_dscp, "DSCP");
    r.flag(p.str("syn"), "--syn", true);
    let ct = list("ctstate");
    if matches.iter().any(|m| m == "conntrack") {
        r.csv(&ct, "--ctstate");
    } else if matches.iter().any(|m| m == "state") {
        r.csv(&ct, "--state");
    } else if !ct.is_empty() {
        r.matcher(true, "conntrack");
        r.csv(&ct, "--ctstate");
    }
    let (sr, dr) = (p.str("src_range"), p.str("dst_range"));
    if !matches.iter().any(|m| m == "iprange") {
        r.matcher(sr.is_some() || dr.is_some(), "iprange");
    }
    r.param(sr, "--src-range");
    r.param(dr, "--dst-range");
    if p.is_set("match_set") || matches.iter().any(|m| m == "set") {
        r.matcher(p.is_set("match_set"), "set");
        r.param(p.str("match_set"), "--match-set");
        if let Some(f) = p.str("match_set_flags") {
            r.v.push(f.into());
        }
    }
    r.matcher(p.is_set("limit") || p.is_set("limit_burst"), "limit");
    r.param(p.str("limit"), "--limit");
    r.param(p.str("limit_burst"), "--limit-burst");
    for (k, flag) in [("uid_owner", "--uid-owner"), ("gid_owner", "--gid-owner")] {
        r.matcher(p.is_set(k), "owner");
        r.flag(p.str(k), flag, true);
        r.param(p.str(k), flag);
    }
    if jump.is_none() {
        r.jump(p.is_set("reject_with"), "REJECT");
        r.jump(p.is_set("set_dscp_mark_class"), "DSCP");
        r.jump(p.is_set("set_dscp_mark"), "DSCP");
    }
    r.param(p.str("reject_with"), "--reject-with");
    let icmp_flag = match p.str("ip_version") {
        Some("ipv6") => "--icmpv6-type",
        Some("both") => "--icmp-type --icmpv6-type",
        _ => "--icmp-type",
    };
    r.param(p.str("icmp_type"), icmp_flag);
    r.matcher(p.is_set("comment"), "comment");
    r.param(p.str("comment"), "--comment");
    r.v
}

/// Validate arguments and build the rule (for tests and callers that only need it).
pub fn rule_for(args: &Args) -> Result<Vec<String>, String> {
    spec()
        .validate("iptables", args)
        .map(|p| construct_rule(&p))
}

pub fn run_module(args: &Args, ctx: &ModuleContext, m: &str) -> ModuleResult {
    module(spec(), args, ctx, m, body)
}

fn base(bin: &str, p: &Params, action: &str) -> Vec<String> {
    let mut c = vec![
        bin.to_string(),
        "-t".into(),
        p.str("table").unwrap_or("filter").into(),
        action.into(),
        p.str("chain").unwrap_or("").into(),
    ];
    if action == "-I" {
        if let Some(n) = p.str("rule_num") {
            c.push(n.into());
        }
    }
    if let Some(w) = p.str("wait") {
        c.extend(["-w".into(), w.into()]);
    }
    c
}

fn body(p: &Params, ctx: &ModuleContext) -> MResult<ModuleResult> {
    let mut params = p.clone();
    if (p.is_set("log_prefix") || p.is_set("log_level")) && p.str("jump") != Some("LOG") {
        if p.is_set("jump") {
            return Err(Failure::new(
                "Logging options can only be used with the LOG jump target.",
            ));
        }
        params.map.insert("jump".into(), json!("LOG"));
    }
    let rule = construct_rule(p);
    let mut r = res(false);
    r.insert("ip_version".into(), json!(p.str("ip_version")));
    r.insert("table".into(), json!(p.str("table")));
    r.insert("chain".into(), json!(p.get("chain")));
    r.insert("flush".into(), json!(p.bool("flush")));
    r.insert("rule".into(), json!(rule.join(" ")));
    r.insert("state".into(), json!(p.str("state")));
    r.insert("chain_management".into(), json!(p.bool("chain_management")));
    r.insert("wait".into(), json!(p.get("wait")));
    let bins: Vec<&str> = match p.str("ip_version") {
        Some("both") => vec!["iptables", "ip6tables"],
        Some("ipv6") => vec!["ip6tables"],
        _ => vec!["iptables"],
    };
    let bins: Vec<String> = bins.iter().map(|b| need(b)).collect::<MResult<_>>()?;
    let p = &params;
    let rule = construct_rule(p);
    let must = |c: Vec<String>| -> MResult<String> {
        let o = run(&c, &[], None, ctx)?;
        if o.rc != 0 {
            return Err(cmd_failure(o.stderr.clone(), &o).with("cmd", c.join(" ")));
        }
        Ok(o.stdout)
    };
    let mut changed = false;
    for bin in &bins {
        if p.bool("flush") {
            changed = true;
            if !ctx.check_mode {
                must(base(bin, p, "-F"))?;
            }
        } else if let Some(policy) = p.str("policy") {
            let mut c = base(bin, p, "-L");
            if p.bool("numeric") {
                c.push("--numeric".into());
            }
            let out = must(c)?;
            let head = out.lines().next().unwrap_or("");
            let cur = head
                .split_once("(policy ")
                .and_then(|(_, t)| t.split(|c: char| !c.is_ascii_uppercase()).next())
                .filter(|s| !s.is_empty())
                .ok_or_else(|| Failure::new("Can't detect current policy"))?;
            if cur != policy {
                changed = true;
                if !ctx.check_mode {
                    let mut c = base(bin, p, "-P");
                    c.push(policy.into());
                    must(c)?;
                }
            }
        } else if rule.is_empty() {
            let mut c = base(bin, p, "-L");
            if p.bool("numeric") {
                c.push("--numeric".into());
            }
            let present = run(&c, &[], None, ctx)?.rc == 0;
            let want = p.str("state") == Some("present");
            if present != want {
                changed = true;
                if p.bool("chain_management") && !ctx.check_mode {
                    must(base(bin, p, if want { "-N" } else { "-X" }))?;
                }
            }
        } else {
            let mut c = base(bin, p, "-C");
            c.extend(rule.iter().cloned());
            let present = run(&c, &[], None, ctx)?.rc == 0;
            let want = p.str("state") == Some("present");
            if present != want {
                changed = true;
                if !ctx.check_mode {
                    let action = if !want {
                        "-D"
                    } else if p.str("action") == Some("insert") {
                        "-I"
                    } else {
                        "-A"
                    };
                    let mut c = base(bin, p, action);
                    c.extend(rule.iter().cloned());
                    must(c)?;
                }
            }
        }
    }
    r.insert("changed".into(), json!(changed));
    Ok(r)
}

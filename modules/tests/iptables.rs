//! iptables: the rule as ansible-core builds it (expected strings computed with
//! ansible.modules.iptables.construct_rule from ansible-core 2.21.5 on the same
//! parameters), and check mode when iptables is installed.

mod common;
use common::*;
use serde_json::json;

fn rule(a: serde_json::Value) -> String {
    let mut a = a;
    a["chain"] = json!("INPUT");
    play_modules::iptables::rule_for(&args(a))
        .unwrap()
        .join(" ")
}

#[test]
fn rules_as_ansible_builds_them() {
    assert_eq!(
        rule(
            json!({"protocol": "tcp", "destination_ports": ["80", "443", "8081:8083"], "jump": "ACCEPT"})
        ),
        "-p tcp -j ACCEPT -m multiport --dports 80,443,8081:8083"
    );
    assert_eq!(rule(json!({"protocol": "tcp", "source": "!10.0.0.0/8", "destination_port": "22", "ctstate": ["NEW", "ESTABLISHED"], "jump": "ACCEPT", "comment": "ssh in"})), "-p tcp ! -s 10.0.0.0/8 -j ACCEPT --destination-port 22 -m conntrack --ctstate NEW,ESTABLISHED -m comment --comment ssh in");
    assert_eq!(rule(json!({"protocol": "tcp", "match": ["state"], "ctstate": ["NEW"], "syn": "match", "in_interface": "eth0", "limit": "5/min", "limit_burst": "10", "jump": "LOG", "log_prefix": "x: "})), "-p tcp -m state -j LOG --log-prefix x:  -i eth0 --syn --state NEW -m limit --limit 5/min --limit-burst 10");
    assert_eq!(rule(json!({"protocol": "icmp", "icmp_type": "echo-request", "reject_with": "icmp-host-prohibited", "src_range": "10.0.0.1-10.0.0.9", "uid_owner": "!1000"})), "-p icmp -m iprange --src-range 10.0.0.1-10.0.0.9 -m owner ! --uid-owner 1000 -j REJECT --reject-with icmp-host-prohibited --icmp-type echo-request");
    assert_eq!(
        rule(
            json!({"protocol": "tcp", "tcp_flags": {"flags": ["ALL"], "flags_set": ["ACK", "RST"]}, "match_set": "admins", "match_set_flags": "src", "jump": "DROP"})
        ),
        "-p tcp --tcp-flags ALL ACK,RST -j DROP -m set --match-set admins src"
    );
}

#[test]
fn arguments_and_check_mode() {
    // oracle: no chain and no flush
    let r = run("iptables", json!({}), &check());
    assert_eq!(
        msg(&r),
        "flush is False but all of the following are missing: chain"
    );
    let r = run(
        "iptables",
        json!({"chain": "INPUT", "flush": true, "policy": "DROP"}),
        &check(),
    );
    assert_eq!(msg(&r), "parameters are mutually exclusive: flush|policy");
    let have = std::process::Command::new("sh")
        .args(["-c", "command -v iptables || test -x /usr/sbin/iptables"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let r = run(
        "iptables",
        json!({"chain": "INPUT", "protocol": "tcp", "destination_port": "65001", "jump": "ACCEPT", "comment": "play-test"}),
        &check(),
    );
    if !have {
        assert!(
            msg(&r).starts_with("Failed to find required executable \"iptables\""),
            "{r:?}"
        );
        return;
    }
    if failed(&r) {
        // no permission to read the tables in this environment
        return;
    }
    assert!(changed(&r), "{r:?}");
    assert_eq!(
        r["rule"],
        json!("-p tcp -j ACCEPT --destination-port 65001 -m comment --comment play-test")
    );
    assert_eq!(r["table"], json!("filter"));
    assert_eq!(r["chain"], json!("INPUT"));
}

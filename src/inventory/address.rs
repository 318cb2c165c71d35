//! Host addresses with optional ports (`host:2222`, `[::1]:22`) and host ranges
//! (`web[01:10]`, `db-[a:c]`, `x[1:10:2]`), as Ansible's `parse_address` and
//! `expand_hostname_range` read them.

use regex::Regex;
use std::sync::OnceLock;

struct Patterns {
    bracketed_hostport: Regex,
    hostport: Regex,
    ipv4: Regex,
    ipv6: Regex,
    hostname: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let numeric_range = r"\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]";
        let hex_range = r"\[(?:[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\]";
        let alnum_range = r"\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]";
        let i6 = format!("(?:[0-9a-f]{{1,4}}|{hex_range})");
        let i4 = format!("(?:[01]?[0-9]{{1,2}}|2[0-4][0-9]|25[0-5]|{numeric_range})");
        // Python's label ends with a (?<![_-]) lookbehind; spelled out without it here.
        let r = alnum_range;
        let label = format!(r"(?:(?:[^\W_]|{r})|(?:\w|{r})(?:[\w-]|{r})*(?:[^\W_]|{r}))");
        let ipv6 = [
            format!("(?:{i6}:){{7}}{i6}"),
            format!("(?:{i6}:){{1,6}}:"),
            format!("(?:{i6}:)(?::{i6}){{1,6}}"),
            format!("(?:{i6}:){{2}}(?::{i6}){{1,5}}"),
            format!("(?:{i6}:){{3}}(?::{i6}){{1,4}}"),
            format!("(?:{i6}:){{4}}(?::{i6}){{1,3}}"),
            format!("(?:{i6}:){{5}}(?::{i6}){{1,2}}"),
            format!("(?:{i6}:){{6}}(?::{i6})"),
            format!(":(?::{i6}){{1,6}}"),
            format!("{i6}?::"),
            format!(r"(?:0:){{6}}(?:{i6}\.){{3}}{i6}"),
            format!(r"::(?:ffff:)?(?:{i6}\.){{3}}{i6}"),
            format!(r"(?:0:){{5}}ffff:(?:{i6}\.){{3}}{i6}"),
        ]
        .join("|");
        Patterns {
            bracketed_hostport: Regex::new(r"^\[(.+)\]:([0-9]+)$").unwrap(),
            hostport: Regex::new(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$").unwrap(),
            ipv4: Regex::new(&format!(r"(?i)^(?:{i4}\.){{3}}{i4}$")).unwrap(),
            ipv6: Regex::new(&format!("(?i)^(?:{ipv6})$")).unwrap(),
            hostname: Regex::new(&format!(r"(?i)^{label}(?:\.{label})*$")).unwrap(),
        }
    })
}

/// A DNS name of ASCII labels (letters, digits, `-` and `_`, starting with no `-` and ending
/// in a letter or digit): a valid address with no port, which most inventories hold, told
/// without building the expressions (compiled, they held 0.4 MB of the controller's heap).
fn plain_hostname(s: &str) -> bool {
    s.split('.').all(|label| {
        let b = label.as_bytes();
        match (b.first(), b.last()) {
            (Some(&first), Some(&last)) => {
                (first.is_ascii_alphanumeric() || first == b'_')
                    && last.is_ascii_alphanumeric()
                    && b.iter()
                        .all(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
            }
            _ => false,
        }
    })
}

/// `parse_address`: split off a port and check the rest is a hostname or an address.
pub fn parse_address(address: &str, allow_ranges: bool) -> Result<(String, Option<u32>), String> {
    if plain_hostname(address) {
        return Ok((address.to_string(), None));
    }
    let p = patterns();
    let mut address = address.to_string();
    let mut port = None;
    for re in [&p.bracketed_hostport, &p.hostport] {
        if let Some(c) = re.captures(&address) {
            let host = c[1].to_string();
            port = Some(
                c[2].parse::<u64>()
                    .map_err(|e| e.to_string())?
                    .min(u32::MAX as u64) as u32,
            );
            address = host;
        }
    }
    if !(p.ipv4.is_match(&address) || p.ipv6.is_match(&address) || p.hostname.is_match(&address)) {
        return Err(format!("Not a valid network hostname: {address}"));
    }
    if !allow_ranges && address.contains('[') {
        return Err("Detected range in host but was asked to ignore ranges".into());
    }
    Ok((address, port))
}

/// The base inventory plugin's `_expand_hostpattern`: names and the port that applies to all.
pub fn expand_hostpattern(pattern: &str) -> Result<(Vec<String>, Option<u32>), String> {
    let (host, port) = match parse_address(pattern, true) {
        Ok(x) => x,
        Err(_) => (pattern.to_string(), None),
    };
    let names = if host.contains('[') {
        expand_hostname_range(&host)?
    } else {
        vec![host]
    };
    Ok((names, port))
}

const ASCII_LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn py_int(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let clean = t.replace('_', "");
    clean
        .parse::<i64>()
        .map_err(|_| format!("invalid literal for int() with base 10: '{s}'"))
}

/// `expand_hostname_range`: every name a `head[beg:end(:step)]tail` line stands for.
pub fn expand_hostname_range(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    if line.is_empty() {
        return Ok(out);
    }
    let replaced = line.replacen('[', "|", 1).replacen(']', "|", 1);
    let parts: Vec<&str> = replaced.split('|').collect();
    if parts.len() < 3 {
        return Err(format!(
            "not enough values to unpack (expected 3, got {})",
            parts.len()
        ));
    }
    if parts.len() > 3 {
        return Err("too many values to unpack (expected 3)".into());
    }
    let (head, nrange, tail) = (parts[0], parts[1], parts[2]);
    let bounds: Vec<&str> = nrange.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err("host range must be begin:end or begin:end:step".into());
    }
    let beg = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    let step = if bounds.len() == 3 { bounds[2] } else { "1" };
    if end.is_empty() {
        return Err("host range must specify end value".into());
    }
    let width = if beg.starts_with('0') && beg.len() > 1 {
        if beg.len() != end.len() {
            return Err("host range must specify equal-length begin and end formats".into());
        }
        Some(beg.len())
    } else {
        None
    };
    let fill = |s: String| match width {
        Some(w) if s.len() < w => {
            // str.zfill: pad after a sign
            if let Some(rest) = s.strip_prefix('-') {
                format!("-{}{}", "0".repeat(w - s.len()), rest)
            } else {
                format!("{}{}", "0".repeat(w - s.len()), s)
            }
        }
        _ => s,
    };
    let mut seq: Vec<String> = Vec::new();
    let alpha = match (
        ASCII_LETTERS.find(beg),
        ASCII_LETTERS.find(end),
        step.trim().parse::<i64>(),
    ) {
        (Some(b), Some(e), Ok(st)) if st > 0 => {
            if b > e {
                return Err("host range must have begin <= end".into());
            }
            let letters: Vec<char> = ASCII_LETTERS.chars().collect();
            seq.extend(
                letters[b..=e]
                    .iter()
                    .step_by(st as usize)
                    .map(|c| c.to_string()),
            );
            true
        }
        (Some(b), Some(e), _) if b > e => return Err("host range must have begin <= end".into()),
        _ => false,
    };
    if !alpha {
        let (b, e, st) = (py_int(beg)?, py_int(end)?, py_int(step)?);
        if st == 0 {
            return Err("range() arg 3 must not be zero".into());
        }
        let mut i = b;
        while (st > 0 && i < e + 1) || (st < 0 && i > e + 1) {
            seq.push(i.to_string());
            i += st;
        }
    }
    for item in seq {
        let name = format!("{head}{}{tail}", fill(item));
        if name.contains('[') {
            out.extend(expand_hostname_range(&name)?);
        } else {
            out.push(name);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_ports() {
        assert_eq!(
            parse_address("web01:2222", true).unwrap(),
            ("web01".into(), Some(2222))
        );
        assert_eq!(
            parse_address("[::1]:22", true).unwrap(),
            ("::1".into(), Some(22))
        );
        assert_eq!(
            parse_address("10.0.0.1", false).unwrap(),
            ("10.0.0.1".into(), None)
        );
        assert_eq!(
            parse_address("fe80::1", false).unwrap(),
            ("fe80::1".into(), None)
        );
        assert_eq!(
            parse_address("web[01:03]:22", true).unwrap(),
            ("web[01:03]".into(), Some(22))
        );
        assert!(parse_address("web[01:03]", false).is_err());
        assert!(parse_address("bad-", true).is_err());
        assert!(parse_address("x_", true).is_err());
        assert!(parse_address("_x", true).is_ok());
        assert!(parse_address("a b", true).is_err());
        assert!(parse_address("x", true).is_ok());
    }

    /// Every name the shortcut takes, the hostname expression takes too.
    #[test]
    fn plain_hostnames_are_hostnames() {
        let names = super::super::joined_up_to(&["a", "Z", "0", "_", "-", ".", "é", ":", "["], 6);
        let mut plain = 0;
        for name in &names {
            if plain_hostname(name) {
                plain += 1;
                assert!(patterns().hostname.is_match(name), "{name:?}");
            }
        }
        assert!(plain > 1000);
        assert!(!plain_hostname("") && !plain_hostname("a..b") && !plain_hostname("-a"));
    }

    #[test]
    fn ranges() {
        assert_eq!(
            expand_hostname_range("web[01:03]").unwrap(),
            ["web01", "web02", "web03"]
        );
        assert_eq!(
            expand_hostname_range("db-[a:c]").unwrap(),
            ["db-a", "db-b", "db-c"]
        );
        assert_eq!(
            expand_hostname_range("x[1:10:4]").unwrap(),
            ["x1", "x5", "x9"]
        );
        assert_eq!(
            expand_hostname_range("h[1:2]-[a:b]").unwrap(),
            ["h1-a", "h1-b", "h2-a", "h2-b"]
        );
        assert_eq!(expand_hostname_range("n[:2]").unwrap(), ["n0", "n1", "n2"]);
        assert!(expand_hostname_range("w[01:100]").is_err());
        assert!(expand_hostname_range("w[1:]").is_err());
        assert!(expand_hostname_range("[x").is_err());
        assert_eq!(
            expand_hostpattern("web[1:2]:2222").unwrap(),
            (vec!["web1".into(), "web2".into()], Some(2222))
        );
    }
}

//! YAML 1.1 implicit scalar resolution, as PyYAML's resolver does it.
//!
//! PyYAML (which Ansible uses) decides the type of an untagged plain scalar with a fixed
//! table of regular expressions, tried in registration order: bool, float, int, merge,
//! null, timestamp, value. The matchers below follow those expressions character for
//! character (hand-written, so no regex engine is needed on the hot path), and the
//! constructors follow PyYAML's `SafeConstructor` (`construct_yaml_int` and friends),
//! including their leniency when a tag is explicit (`!!int "0x1f"` is 31).
//!
//! Timestamps (`2001-12-14`, `2001-12-14 21:59:43.10 -5`) are recognised but kept as the
//! string written in the file: PyYAML would build a `datetime`, which Ansible mostly
//! renders back as text, and our node model has no date type.

use super::node::Kind;

/// The implicit tag PyYAML's resolver gives a plain scalar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImplicitTag {
    Bool,
    Float,
    Int,
    /// `<<`: a merge key.
    Merge,
    Null,
    Timestamp,
    /// `=`: PyYAML's "value" tag; a string as a mapping key, an error anywhere else.
    Value,
    Str,
}

/// Resolve an untagged plain scalar to its YAML 1.1 type.
///
/// The few inputs PyYAML resolves but then cannot construct (`0b_`, `0x_`) come back as
/// strings here; the loader reports them as errors instead, see [`resolve_implicit`].
pub fn resolve_plain_scalar(text: &str) -> Kind {
    resolve_implicit(text).unwrap_or_else(|_| Kind::Str(text.to_string()))
}

/// Resolve and construct a plain scalar, with PyYAML's construction errors.
/// Merge and value keys resolve to strings (the loader handles them as keys).
pub fn resolve_implicit(text: &str) -> Result<Kind, String> {
    match implicit_tag(text) {
        ImplicitTag::Bool => construct_bool(text),
        ImplicitTag::Float => construct_float(text),
        ImplicitTag::Int => construct_int(text),
        ImplicitTag::Null => Ok(Kind::Null),
        ImplicitTag::Merge | ImplicitTag::Value | ImplicitTag::Timestamp | ImplicitTag::Str => {
            Ok(Kind::Str(text.to_string()))
        }
    }
}

/// Which implicit tag PyYAML's resolver picks for `text`.
///
/// Like Python's `re` without MULTILINE, the `$` anchor also matches before one final
/// newline, which matters only when re-resolving quoted or block text (`!unsafe |`).
pub fn implicit_tag(text: &str) -> ImplicitTag {
    let t = text.strip_suffix('\n').unwrap_or(text);
    if is_bool(t) {
        ImplicitTag::Bool
    } else if is_float(t) {
        ImplicitTag::Float
    } else if is_int(t) {
        ImplicitTag::Int
    } else if t == "<<" {
        ImplicitTag::Merge
    } else if is_null(t) {
        ImplicitTag::Null
    } else if is_timestamp(t) {
        ImplicitTag::Timestamp
    } else if t == "=" {
        ImplicitTag::Value
    } else {
        ImplicitTag::Str
    }
}

fn is_bool(t: &str) -> bool {
    matches!(
        t,
        "yes"
            | "Yes"
            | "YES"
            | "no"
            | "No"
            | "NO"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
    )
}

fn is_null(t: &str) -> bool {
    matches!(t, "" | "~" | "null" | "Null" | "NULL")
}

/// A tiny cursor over ASCII bytes for the hand-written matchers.
struct Cur<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Cur<'a> {
    fn new(s: &'a str) -> Self {
        Cur {
            b: s.as_bytes(),
            i: 0,
        }
    }
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn eat_if(&mut self, f: impl Fn(u8) -> bool) -> bool {
        match self.peek() {
            Some(c) if f(c) => {
                self.i += 1;
                true
            }
            _ => false,
        }
    }
    /// Zero or more; returns how many.
    fn many(&mut self, f: impl Fn(u8) -> bool) -> usize {
        let start = self.i;
        while self.eat_if(&f) {}
        self.i - start
    }
    fn sign(&mut self) {
        let _ = self.eat(b'-') || self.eat(b'+');
    }
    fn done(&self) -> bool {
        self.i == self.b.len()
    }
}

fn digit(c: u8) -> bool {
    c.is_ascii_digit()
}
fn digit_(c: u8) -> bool {
    c.is_ascii_digit() || c == b'_'
}

/// `(?::[0-5]?[0-9])+` — at least one sexagesimal group.
fn sexagesimal_groups(c: &mut Cur) -> bool {
    let mut n = 0;
    loop {
        let save = c.i;
        if !c.eat(b':') {
            break;
        }
        // [0-5]?[0-9]: one digit, or two digits with the first in 0-5.
        let d1 = c.peek();
        let d2 = c.b.get(c.i + 1).copied();
        match (d1, d2) {
            (Some(a), Some(b)) if (b'0'..=b'5').contains(&a) && digit(b) => c.i += 2,
            (Some(a), _) if digit(a) => c.i += 1,
            _ => {
                c.i = save;
                break;
            }
        }
        n += 1;
    }
    n > 0
}

fn is_float(t: &str) -> bool {
    // [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
    let exponent = |c: &mut Cur| {
        let save = c.i;
        if c.eat_if(|x| x == b'e' || x == b'E')
            && c.eat_if(|x| x == b'-' || x == b'+')
            && c.many(digit) > 0
        {
            return;
        }
        c.i = save;
    };
    {
        let mut c = Cur::new(t);
        c.sign();
        if c.eat_if(digit) {
            c.many(digit_);
            if c.eat(b'.') {
                c.many(digit_);
                exponent(&mut c);
                if c.done() {
                    return true;
                }
            }
        }
    }
    // \.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
    {
        let mut c = Cur::new(t);
        if c.eat(b'.') && c.eat_if(digit) {
            c.many(digit_);
            exponent(&mut c);
            if c.done() {
                return true;
            }
        }
    }
    // [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
    {
        let mut c = Cur::new(t);
        c.sign();
        if c.eat_if(digit) {
            c.many(digit_);
            if sexagesimal_groups(&mut c) && c.eat(b'.') {
                c.many(digit_);
                if c.done() {
                    return true;
                }
            }
        }
    }
    // [-+]?\.(?:inf|Inf|INF) | \.(?:nan|NaN|NAN)
    let unsigned = t.strip_prefix(['-', '+']).unwrap_or(t);
    matches!(unsigned, ".inf" | ".Inf" | ".INF") || matches!(t, ".nan" | ".NaN" | ".NAN")
}

fn is_int(t: &str) -> bool {
    let body = t.strip_prefix(['-', '+']).unwrap_or(t);
    let b = body.as_bytes();
    if b.is_empty() {
        return false;
    }
    // 0b[0-1_]+
    if let Some(r) = body.strip_prefix("0b") {
        return !r.is_empty() && r.bytes().all(|c| c == b'0' || c == b'1' || c == b'_');
    }
    // 0x[0-9a-fA-F_]+
    if let Some(r) = body.strip_prefix("0x") {
        return !r.is_empty() && r.bytes().all(|c| c.is_ascii_hexdigit() || c == b'_');
    }
    // 0[0-7_]+ | 0
    if b[0] == b'0' {
        return b[1..]
            .iter()
            .all(|&c| (b'0'..=b'7').contains(&c) || c == b'_');
    }
    // [1-9][0-9_]* | [1-9][0-9_]*(?::[0-5]?[0-9])+
    let mut c = Cur::new(body);
    if !c.eat_if(|x| (b'1'..=b'9').contains(&x)) {
        return false;
    }
    c.many(digit_);
    if c.done() {
        return true;
    }
    sexagesimal_groups(&mut c) && c.done()
}

fn is_timestamp(t: &str) -> bool {
    let b = t.as_bytes();
    let mut c = Cur::new(t);
    let d = |c: &mut Cur, n: usize| (0..n).all(|_| c.eat_if(digit));
    // [0-9]{4}-[0-9]{2}-[0-9]{2}
    if b.len() == 10
        && d(&mut c, 4)
        && c.eat(b'-')
        && d(&mut c, 2)
        && c.eat(b'-')
        && d(&mut c, 2)
        && c.done()
    {
        return true;
    }
    let mut c = Cur::new(t);
    let d12 = |c: &mut Cur| {
        if !c.eat_if(digit) {
            return false;
        }
        c.eat_if(digit);
        true
    };
    if !(d(&mut c, 4) && c.eat(b'-') && d12(&mut c) && c.eat(b'-') && d12(&mut c)) {
        return false;
    }
    // (?:[Tt]|[ \t]+)
    if !(c.eat_if(|x| x == b'T' || x == b't') || c.many(|x| x == b' ' || x == b'\t') > 0) {
        return false;
    }
    // [0-9][0-9]?:[0-9][0-9]:[0-9][0-9]
    if !(d12(&mut c) && c.eat(b':') && d(&mut c, 2) && c.eat(b':') && d(&mut c, 2)) {
        return false;
    }
    // (?:\.[0-9]*)?
    if c.eat(b'.') {
        c.many(digit);
    }
    if c.done() {
        return true;
    }
    // (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?
    c.many(|x| x == b' ' || x == b'\t');
    if c.eat(b'Z') {
        return c.done();
    }
    if !(c.eat_if(|x| x == b'-' || x == b'+') && d12(&mut c)) {
        return false;
    }
    if c.eat(b':') && !d(&mut c, 2) {
        return false;
    }
    c.done()
}

/// PyYAML's `construct_yaml_bool`: only the six words, in any case.
pub fn construct_bool(text: &str) -> Result<Kind, String> {
    match text.to_lowercase().as_str() {
        "yes" | "true" | "on" => Ok(Kind::Bool(true)),
        "no" | "false" | "off" => Ok(Kind::Bool(false)),
        _ => Err(format!("invalid boolean value {}", py_repr_str(text))),
    }
}

/// PyYAML's `construct_yaml_int`: underscores dropped, `0b`, `0x`, leading-0 octal,
/// sexagesimal `a:b:c`, then Python's `int()`. Integers beyond i64 become floats.
pub fn construct_int(text: &str) -> Result<Kind, String> {
    let mut v: String = text.replace('_', "");
    if v.is_empty() {
        return Err("invalid literal for int() with base 10: ''".into());
    }
    let neg = v.starts_with('-');
    if v.starts_with(['-', '+']) {
        v.remove(0);
    }
    let r = if v == "0" {
        Ok(Num::I(0))
    } else if let Some(r) = v.strip_prefix("0b") {
        py_int(r, 2)
    } else if let Some(r) = v.strip_prefix("0x") {
        py_int(r, 16)
    } else if v.starts_with('0') {
        py_int(&v, 8)
    } else if v.contains(':') {
        let mut total = Num::I(0);
        for part in v.split(':') {
            total = total.mul_add(60, py_int(part, 10)?);
        }
        Ok(total)
    } else {
        py_int(&v, 10)
    };
    r.map(|n| n.negate_if(neg).into_kind())
}

/// PyYAML's `construct_yaml_float`: underscores dropped, lower-cased, `.inf`, `.nan`,
/// sexagesimal, then Python's `float()`.
pub fn construct_float(text: &str) -> Result<Kind, String> {
    let mut v = text.replace('_', "").to_lowercase();
    if v.is_empty() {
        return Err("could not convert string to float: ''".into());
    }
    let neg = v.starts_with('-');
    if v.starts_with(['-', '+']) {
        v.remove(0);
    }
    let sign = if neg { -1.0 } else { 1.0 };
    let f = if v == ".inf" {
        f64::INFINITY
    } else if v == ".nan" {
        return Ok(Kind::Float(f64::NAN));
    } else if v.contains(':') {
        let mut total = 0.0;
        for part in v.split(':') {
            total = total * 60.0 + py_float(part)?;
        }
        total
    } else {
        py_float(&v)?
    };
    Ok(Kind::Float(sign * f))
}

#[derive(Clone, Copy)]
enum Num {
    I(i64),
    F(f64),
}

impl Num {
    fn as_f64(self) -> f64 {
        match self {
            Num::I(i) => i as f64,
            Num::F(f) => f,
        }
    }
    fn mul_add(self, m: i64, add: Num) -> Num {
        if let (Num::I(a), Num::I(b)) = (self, add) {
            if let Some(r) = a.checked_mul(m).and_then(|x| x.checked_add(b)) {
                return Num::I(r);
            }
        }
        Num::F(self.as_f64() * m as f64 + add.as_f64())
    }
    fn negate_if(self, neg: bool) -> Num {
        if !neg {
            return self;
        }
        match self {
            Num::I(i) => i.checked_neg().map(Num::I).unwrap_or(Num::F(-(i as f64))),
            Num::F(f) => Num::F(-f),
        }
    }
    fn into_kind(self) -> Kind {
        match self {
            Num::I(i) => Kind::Int(i),
            Num::F(f) => Kind::Float(f),
        }
    }
}

/// Python's `int(s, base)` for the bases PyYAML uses: surrounding whitespace and a sign
/// allowed, a matching `0b`/`0o`/`0x` prefix allowed for bases other than 10.
fn py_int(s: &str, base: u32) -> Result<Num, String> {
    let err = || {
        format!(
            "invalid literal for int() with base {base}: {}",
            py_repr_str(s)
        )
    };
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let lower = t.to_ascii_lowercase();
    let digits = match base {
        2 => lower.strip_prefix("0b").unwrap_or(&lower),
        8 => lower.strip_prefix("0o").unwrap_or(&lower),
        16 => lower.strip_prefix("0x").unwrap_or(&lower),
        _ => &lower,
    };
    if digits.is_empty() {
        return Err(err());
    }
    let mut n = Num::I(0);
    for ch in digits.chars() {
        let d = ch.to_digit(base).ok_or_else(err)?;
        n = n.mul_add(base as i64, Num::I(d as i64));
    }
    Ok(n.negate_if(neg))
}

/// Python's `float(s)` for what PyYAML hands it (underscores already removed).
fn py_float(s: &str) -> Result<f64, String> {
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let ok_chars = t
        .bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'));
    let named = {
        let u = t.trim_start_matches(['+', '-']).to_ascii_lowercase();
        matches!(u.as_str(), "inf" | "infinity" | "nan")
    };
    if !(ok_chars || named) {
        return Err(format!(
            "could not convert string to float: {}",
            py_repr_str(s)
        ));
    }
    t.parse::<f64>()
        .map_err(|_| format!("could not convert string to float: {}", py_repr_str(s)))
}

/// A string as Python's `repr()` shows it (enough for messages: quotes and escapes).
pub fn py_repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// A float as Python's `repr()`/`str()` shows it: shortest round-trip digits, `.0` on
/// integral values, exponent form below 1e-4 and from 1e16 up, `inf`, `-inf`, `nan`.
pub fn py_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "1.2345e-5".
    let sci = format!("{f:e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let s = format!("{f}");
        if s.contains('.') {
            s
        } else {
            format!("{s}.0")
        }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> Kind {
        resolve_plain_scalar(s)
    }

    #[test]
    fn booleans_follow_yaml_1_1() {
        for t in [
            "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON",
        ] {
            assert_eq!(k(t), Kind::Bool(true), "{t}");
        }
        for t in [
            "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF",
        ] {
            assert_eq!(k(t), Kind::Bool(false), "{t}");
        }
        for t in ["y", "n", "Y", "N", "yEs", "tRue", "oN", "nO "] {
            assert_eq!(k(t), Kind::Str(t.into()), "{t}");
        }
    }

    #[test]
    fn nulls() {
        for t in ["", "~", "null", "Null", "NULL"] {
            assert_eq!(k(t), Kind::Null, "{t}");
        }
        for t in ["nULL", "none", "None", "~~"] {
            assert_eq!(k(t), Kind::Str(t.into()), "{t}");
        }
    }

    #[test]
    fn ints() {
        let cases: &[(&str, i64)] = &[
            ("0", 0),
            ("-0", 0),
            ("+12", 12),
            ("1_000", 1000),
            ("1__0", 10),
            ("0644", 420),
            ("00", 0),
            ("0_", 0),
            ("-017", -15),
            ("0b1010", 10),
            ("-0b1_1", -3),
            ("0x1f", 31),
            ("0xFF", 255),
            ("-0x1F", -31),
            ("190:20:30", 685230),
            ("1_0:3", 603),
            ("-1:30", -90),
            ("9223372036854775807", i64::MAX),
        ];
        for (t, v) in cases {
            assert_eq!(k(t), Kind::Int(*v), "{t}");
        }
        for t in [
            "09", "0o17", "0X1F", "_1", "1:60", "0:30", "1,000", "0b2", "12 ", "1e3", "0x", "0b",
        ] {
            assert_eq!(k(t), Kind::Str(t.into()), "{t}");
        }
        // Resolved as int by the regex but not constructible: PyYAML raises.
        assert!(resolve_implicit("0b_").is_err());
        assert!(resolve_implicit("0x_").is_err());
        // Beyond i64: Python keeps a big int; we keep the magnitude as a float.
        assert_eq!(
            k("12345678901234567890123"),
            Kind::Float(1.2345678901234568e22)
        );
    }

    #[test]
    fn floats() {
        let cases: &[(&str, f64)] = &[
            ("1.5", 1.5),
            ("1.", 1.0),
            ("0.", 0.0),
            (".5", 0.5),
            ("-1.5", -1.5),
            ("+1.5", 1.5),
            ("1_000.5", 1000.5),
            ("1.0e+3", 1000.0),
            ("1.0E-3", 0.001),
            (".5e+1", 5.0),
            ("08.5", 8.5),
            ("190:20:30.5", 685230.5),
            ("-1:30.", -90.0),
            (".inf", f64::INFINITY),
            ("-.Inf", f64::NEG_INFINITY),
            ("+.INF", f64::INFINITY),
        ];
        for (t, v) in cases {
            assert_eq!(k(t), Kind::Float(*v), "{t}");
        }
        assert!(matches!(k(".nan"), Kind::Float(f) if f.is_nan()));
        assert!(matches!(k(".NaN"), Kind::Float(f) if f.is_nan()));
        for t in [
            "1e3",
            "1.0e3",
            "-.5",
            "+.nan",
            "1.5.",
            "inf",
            "nan",
            ".infinity",
            "1.0e+",
            ". ",
            ".",
        ] {
            assert_eq!(k(t), Kind::Str(t.into()), "{t}");
        }
    }

    #[test]
    fn timestamps_and_specials_stay_strings() {
        for t in [
            "2001-12-14",
            "2001-12-14t21:59:43.10-05:00",
            "2001-12-14 21:59:43.10 -5",
            "2001-1-1 1:02:03Z",
        ] {
            assert_eq!(implicit_tag(t), ImplicitTag::Timestamp, "{t}");
            assert_eq!(k(t), Kind::Str(t.into()));
        }
        assert_eq!(implicit_tag("2001-12-1"), ImplicitTag::Str);
        assert_eq!(implicit_tag("<<"), ImplicitTag::Merge);
        assert_eq!(implicit_tag("="), ImplicitTag::Value);
        // Python's `$` matches before a final newline.
        assert_eq!(implicit_tag("yes\n"), ImplicitTag::Bool);
        assert_eq!(implicit_tag("yes\n\n"), ImplicitTag::Str);
    }

    #[test]
    fn explicit_constructors_are_lenient_like_pyyaml() {
        assert_eq!(construct_int("0x1f"), Ok(Kind::Int(31)));
        assert_eq!(construct_int("123\n"), Ok(Kind::Int(123)));
        assert_eq!(construct_int("0o17"), Ok(Kind::Int(15)));
        assert!(construct_int("1.5").is_err());
        assert_eq!(construct_float("1e3"), Ok(Kind::Float(1000.0)));
        assert_eq!(construct_float("12"), Ok(Kind::Float(12.0)));
        assert!(construct_float("abc").is_err());
        assert_eq!(construct_bool("YeS"), Ok(Kind::Bool(true)));
        assert!(construct_bool("maybe").is_err());
        assert!(construct_bool("yes\n").is_err());
    }

    #[test]
    fn python_float_repr() {
        assert_eq!(py_float_repr(1.5), "1.5");
        assert_eq!(py_float_repr(1000.0), "1000.0");
        assert_eq!(py_float_repr(1e16), "1e+16");
        assert_eq!(py_float_repr(1.5e-5), "1.5e-05");
        assert_eq!(py_float_repr(0.0001), "0.0001");
        assert_eq!(py_float_repr(f64::NEG_INFINITY), "-inf");
        assert_eq!(py_float_repr(0.1 + 0.2), "0.30000000000000004");
    }
}

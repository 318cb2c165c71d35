//! The pieces of Python that INI inventories depend on: `shlex.split(line, comments=True)`
//! for host lines and `ast.literal_eval` for variable values.

use crate::yaml::{Kind, Mapping, Node, Span};

/// `shlex.split(s, comments=True)` in POSIX mode.
pub fn shlex_split(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    let mut token = String::new();
    let mut in_token = false; // a token (possibly empty, from quotes) is being built
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_token {
                    out.push(std::mem::take(&mut token));
                    in_token = false;
                }
            }
            '#' => {
                break;
            }
            '\\' => match chars.next() {
                Some(n) => {
                    token.push(n);
                    in_token = true;
                }
                None => return Err("No escaped character".into()),
            },
            '\'' => {
                in_token = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(n) => token.push(n),
                        None => return Err("No closing quotation".into()),
                    }
                }
            }
            '"' => {
                in_token = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(n @ ('"' | '\\')) => token.push(n),
                            Some(n) => {
                                token.push('\\');
                                token.push(n);
                            }
                            None => return Err("No escaped character".into()),
                        },
                        Some(n) => token.push(n),
                        None => return Err("No closing quotation".into()),
                    }
                }
            }
            c => {
                token.push(c);
                in_token = true;
            }
        }
    }
    if in_token {
        out.push(token);
    }
    Ok(out)
}

/// An INI value as Ansible's INI plugin types it: `ast.literal_eval` when that succeeds,
/// the text as written otherwise. Complex numbers and `...` stay text.
pub fn ini_value(text: &str, span: &Span) -> Node {
    match literal_eval(text, span) {
        Some(node) => node,
        None => Node::string(text, span.clone()),
    }
}

/// `ast.literal_eval`: None when Python would raise.
pub fn literal_eval(text: &str, span: &Span) -> Option<Node> {
    let src = text.trim_start_matches([' ', '\t']);
    let mut p = Parser {
        s: src.as_bytes(),
        src,
        pos: 0,
    };
    let v = p.top()?;
    p.skip_ws();
    if p.pos != p.s.len() {
        return None;
    }
    Some(v.into_node(span))
}

#[derive(Debug, Clone)]
enum Py {
    None,
    Bool(bool),
    Int(i128),
    Float(f64),
    Complex(String),
    Str(String),
    Bytes(String),
    Ellipsis,
    List(Vec<Py>),
    Dict(Vec<(Py, Py)>),
}

impl Py {
    fn into_node(self, span: &Span) -> Node {
        let kind = match self {
            Py::None => Kind::Null,
            Py::Bool(b) => Kind::Bool(b),
            Py::Int(i) => match i64::try_from(i) {
                Ok(i) => Kind::Int(i),
                Err(_) => Kind::Str(i.to_string()),
            },
            Py::Float(f) => Kind::Float(f),
            Py::Complex(s) => Kind::Str(s),
            Py::Str(s) | Py::Bytes(s) => Kind::Str(s),
            Py::Ellipsis => Kind::Str("...".into()),
            Py::List(items) => Kind::Seq(items.into_iter().map(|x| x.into_node(span)).collect()),
            Py::Dict(items) => {
                let mut m = Mapping::default();
                for (k, v) in items {
                    m.insert(k.py_str(), span.clone(), v.into_node(span));
                }
                Kind::Map(m)
            }
        };
        Node::new(kind, span.clone())
    }

    /// Python's `str()` of a value used as a dict key.
    fn py_str(&self) -> String {
        match self {
            Py::None => "None".into(),
            Py::Bool(true) => "True".into(),
            Py::Bool(false) => "False".into(),
            Py::Int(i) => i.to_string(),
            Py::Float(f) => format_float(*f),
            Py::Complex(s) | Py::Str(s) | Py::Bytes(s) => s.clone(),
            Py::Ellipsis => "Ellipsis".into(),
            Py::List(items) => format!(
                "({})",
                items.iter().map(Py::py_str).collect::<Vec<_>>().join(", ")
            ),
            Py::Dict(_) => "{...}".into(),
        }
    }
}

fn format_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if c == b' ' || c == b'\t' || c == b'\x0c' {
                self.pos += 1;
            } else if c == b'#' {
                self.pos = self.s.len();
            } else {
                break;
            }
        }
    }

    /// Inside brackets newlines are insignificant too.
    fn skip_ws_nl(&mut self) {
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b'\n' | b'\r') => self.pos += 1,
                _ => break,
            }
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// The top level of an `eval`: an expression or a bare tuple `1, 2`.
    fn top(&mut self) -> Option<Py> {
        self.skip_ws();
        let first = self.expr(false)?;
        self.skip_ws();
        if self.peek() != Some(b',') {
            return Some(first);
        }
        let mut items = vec![first];
        while self.eat(b',') {
            self.skip_ws();
            if self.pos == self.s.len() {
                break;
            }
            items.push(self.expr(false)?);
            self.skip_ws();
        }
        Some(Py::List(items))
    }

    /// A literal, with unary +/- and `real +/- complex`.
    fn expr(&mut self, nl: bool) -> Option<Py> {
        let left = self.unary(nl)?;
        let save = self.pos;
        if nl {
            self.skip_ws_nl()
        } else {
            self.skip_ws()
        }
        if let Some(op @ (b'+' | b'-')) = self.peek() {
            self.pos += 1;
            if nl {
                self.skip_ws_nl()
            } else {
                self.skip_ws()
            }
            let right = self.unary(nl)?;
            return match (&left, &right) {
                (Py::Int(_) | Py::Float(_), Py::Complex(r)) => Some(Py::Complex(format!(
                    "({}{}{})",
                    left.py_str(),
                    op as char,
                    r
                ))),
                _ => None,
            };
        }
        self.pos = save;
        Some(left)
    }

    fn unary(&mut self, nl: bool) -> Option<Py> {
        if let Some(op @ (b'+' | b'-')) = self.peek() {
            self.pos += 1;
            if nl {
                self.skip_ws_nl()
            } else {
                self.skip_ws()
            }
            let v = self.unary(nl)?;
            return match (op, v) {
                (b'+', v @ (Py::Int(_) | Py::Float(_) | Py::Complex(_))) => Some(v),
                (b'-', Py::Int(i)) => Some(Py::Int(-i)),
                (b'-', Py::Float(f)) => Some(Py::Float(-f)),
                (b'-', Py::Complex(s)) => Some(Py::Complex(format!("-{s}"))),
                _ => None,
            };
        }
        self.atom()
    }

    fn atom(&mut self) -> Option<Py> {
        let c = self.peek()?;
        match c {
            b'[' => {
                self.pos += 1;
                let items = self.items(b']')?;
                Some(Py::List(items))
            }
            b'(' => {
                self.pos += 1;
                self.skip_ws_nl();
                if self.eat(b')') {
                    return Some(Py::List(Vec::new()));
                }
                let first = self.expr(true)?;
                self.skip_ws_nl();
                if self.eat(b')') {
                    return Some(first);
                }
                if !self.eat(b',') {
                    return None;
                }
                let mut items = vec![first];
                items.extend(self.items(b')')?);
                Some(Py::List(items))
            }
            b'{' => {
                self.pos += 1;
                self.skip_ws_nl();
                if self.eat(b'}') {
                    return Some(Py::Dict(Vec::new()));
                }
                let first = self.expr(true)?;
                self.skip_ws_nl();
                if self.eat(b':') {
                    self.skip_ws_nl();
                    let v = self.expr(true)?;
                    let mut pairs = vec![(first, v)];
                    loop {
                        self.skip_ws_nl();
                        if self.eat(b'}') {
                            break;
                        }
                        if !self.eat(b',') {
                            return None;
                        }
                        self.skip_ws_nl();
                        if self.eat(b'}') {
                            break;
                        }
                        let k = self.expr(true)?;
                        self.skip_ws_nl();
                        if !self.eat(b':') {
                            return None;
                        }
                        self.skip_ws_nl();
                        let v = self.expr(true)?;
                        pairs.push((k, v));
                    }
                    // Later duplicate keys win, at the first key's position.
                    let mut out: Vec<(Py, Py)> = Vec::new();
                    for (k, v) in pairs {
                        let key = k.py_str();
                        if let Some(slot) = out.iter_mut().find(|(ok, _)| ok.py_str() == key) {
                            slot.1 = v;
                        } else {
                            out.push((k, v));
                        }
                    }
                    Some(Py::Dict(out))
                } else {
                    // a set: a list for our purposes
                    let mut items = vec![first];
                    self.skip_ws_nl();
                    if !self.eat(b'}') {
                        if !self.eat(b',') {
                            return None;
                        }
                        items.extend(self.items(b'}')?);
                    }
                    Some(Py::List(items))
                }
            }
            b'\'' | b'"' => self.strings(),
            b'0'..=b'9' | b'.' => {
                if self.s[self.pos..].starts_with(b"...") {
                    self.pos += 3;
                    return Some(Py::Ellipsis);
                }
                self.number()
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = self.pos;
                while let Some(c) = self.peek() {
                    if c.is_ascii_alphanumeric() || c == b'_' {
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
                let word = &self.src[start..self.pos];
                // string prefixes
                if let Some(b'\'' | b'"') = self.peek() {
                    let lower = word.to_ascii_lowercase();
                    if matches!(lower.as_str(), "r" | "u" | "b" | "br" | "rb") {
                        self.pos = start;
                        return self.strings();
                    }
                    return None;
                }
                match word {
                    "None" => Some(Py::None),
                    "True" => Some(Py::Bool(true)),
                    "False" => Some(Py::Bool(false)),
                    "set" => {
                        self.skip_ws();
                        if self.eat(b'(') {
                            self.skip_ws_nl();
                            if self.eat(b')') {
                                return Some(Py::List(Vec::new()));
                            }
                        }
                        None
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Comma-separated expressions up to `close` (the opening bracket already eaten).
    fn items(&mut self, close: u8) -> Option<Vec<Py>> {
        let mut items = Vec::new();
        loop {
            self.skip_ws_nl();
            if self.eat(close) {
                return Some(items);
            }
            items.push(self.expr(true)?);
            self.skip_ws_nl();
            if self.eat(close) {
                return Some(items);
            }
            if !self.eat(b',') {
                return None;
            }
        }
    }

    fn number(&mut self) -> Option<Py> {
        let start = self.pos;
        let rest = &self.src[start..];
        let lower = rest.to_ascii_lowercase();
        for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
            if lower.starts_with(prefix) {
                let digits: String = rest[2..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                self.pos += 2 + digits.len();
                let clean = underscores(&digits)?;
                return i128::from_str_radix(&clean, radix).ok().map(Py::Int);
            }
        }
        // decimal int or float, optional exponent, optional j
        let b = self.s;
        let mut i = self.pos;
        let mut is_float = false;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
        if i < b.len() && b[i] == b'.' {
            is_float = true;
            i += 1;
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
                i += 1;
            }
        }
        if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            let mut j = i + 1;
            if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
                j += 1;
            }
            if j < b.len() && b[j].is_ascii_digit() {
                is_float = true;
                i = j;
                while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
                    i += 1;
                }
            }
        }
        let text = &self.src[start..i];
        if text == "." || text.is_empty() {
            return None;
        }
        if i < b.len() && (b[i] == b'j' || b[i] == b'J') {
            i += 1;
            self.pos = i;
            let clean = underscores(text)?;
            let f: f64 = clean.parse().ok()?;
            return Some(Py::Complex(format!("{}j", format_complex_part(f))));
        }
        // a name character straight after a number is a syntax error
        if i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
            return None;
        }
        self.pos = i;
        let clean = underscores(text)?;
        if is_float {
            clean.parse::<f64>().ok().map(Py::Float)
        } else {
            if clean.len() > 1 && clean.starts_with('0') && clean.bytes().any(|c| c != b'0') {
                return None; // leading zeros in a decimal literal
            }
            match clean.parse::<i128>() {
                Ok(n) => Some(Py::Int(n)),
                Err(_) => clean.parse::<f64>().ok().map(|_| Py::Str(clean.clone())),
            }
        }
    }

    /// One or more adjacent string literals, concatenated.
    fn strings(&mut self) -> Option<Py> {
        let mut out = String::new();
        let mut bytes = None;
        loop {
            let save = self.pos;
            let (s, is_bytes) = match self.string() {
                Some(x) => x,
                None => {
                    bytes?;
                    self.pos = save;
                    break;
                }
            };
            match bytes {
                None => bytes = Some(is_bytes),
                Some(b) if b != is_bytes => return None,
                _ => {}
            }
            out.push_str(&s);
            let save = self.pos;
            self.skip_ws();
            let next = self.peek();
            let starts_string = matches!(next, Some(b'\'' | b'"'))
                || (matches!(next, Some(c) if c.is_ascii_alphabetic()) && {
                    let rest = &self.s[self.pos..];
                    let n = rest.iter().take_while(|c| c.is_ascii_alphabetic()).count();
                    n <= 2 && matches!(rest.get(n), Some(b'\'' | b'"'))
                });
            if !starts_string {
                self.pos = save;
                break;
            }
        }
        Some(if bytes == Some(true) {
            Py::Bytes(out)
        } else {
            Py::Str(out)
        })
    }

    fn string(&mut self) -> Option<(String, bool)> {
        let mut raw = false;
        let mut is_bytes = false;
        while let Some(c) = self.peek() {
            match c.to_ascii_lowercase() {
                b'r' => raw = true,
                b'b' => is_bytes = true,
                b'u' => {}
                b'\'' | b'"' => break,
                _ => return None,
            }
            self.pos += 1;
        }
        let q = self.peek()?;
        if q != b'\'' && q != b'"' {
            return None;
        }
        let triple = self.s[self.pos..].starts_with(&[q, q, q]);
        self.pos += if triple { 3 } else { 1 };
        let mut out = String::new();
        let rest = &self.src[self.pos..];
        let mut it = rest.char_indices().peekable();
        while let Some((i, c)) = it.next() {
            if c as u32 == q as u32 {
                if !triple {
                    self.pos += i + 1;
                    return Some((out, is_bytes));
                }
                if rest[i..].starts_with(&[q as char; 3][..].iter().collect::<String>()) {
                    self.pos += i + 3;
                    return Some((out, is_bytes));
                }
                out.push(c);
            } else if c == '\n' && !triple {
                return None;
            } else if c == '\\' {
                let (_, n) = it.next()?;
                if raw {
                    out.push('\\');
                    out.push(n);
                    continue;
                }
                match n {
                    '\n' => {}
                    '\\' => out.push('\\'),
                    '\'' => out.push('\''),
                    '"' => out.push('"'),
                    'a' => out.push('\x07'),
                    'b' => out.push('\x08'),
                    'f' => out.push('\x0c'),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'v' => out.push('\x0b'),
                    '0'..='7' => {
                        let mut v = n.to_digit(8)?;
                        for _ in 0..2 {
                            match it.peek() {
                                Some((_, d @ '0'..='7')) => {
                                    v = v * 8 + d.to_digit(8)?;
                                    it.next();
                                }
                                _ => break,
                            }
                        }
                        out.push(char::from_u32(v)?);
                    }
                    'x' | 'u' | 'U' if !(is_bytes && n != 'x') => {
                        let len = match n {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let mut hex = String::new();
                        for _ in 0..len {
                            let (_, d) = it.next()?;
                            hex.push(d);
                        }
                        let v = u32::from_str_radix(&hex, 16).ok()?;
                        out.push(char::from_u32(v)?);
                    }
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
            } else {
                out.push(c);
            }
        }
        None
    }
}

fn underscores(s: &str) -> Option<String> {
    if s.starts_with('_')
        || s.ends_with('_')
        || s.contains("__")
        || s.contains("_.")
        || s.contains("._")
    {
        return None;
    }
    Some(s.replace('_', ""))
}

fn format_complex_part(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(s: &str) -> serde_json::Value {
        ini_value(s, &Span::synthetic("t")).to_json()
    }

    #[test]
    fn shlex_like_python() {
        assert_eq!(
            shlex_split(r#"h a=1 b="x y" c='[1,2]' # tail"#).unwrap(),
            vec!["h", "a=1", "b=x y", "c=[1,2]"]
        );
        assert_eq!(shlex_split(r#"a=b#c d"#).unwrap(), vec!["a=b"]);
        assert_eq!(
            shlex_split(r#"x="a\"b\n" y=''"#).unwrap(),
            vec![r#"x=a"b\n"#, "y="]
        );
        assert_eq!(shlex_split(r"x=a\ b").unwrap(), vec!["x=a b"]);
        assert!(shlex_split("x='open").is_err());
    }

    #[test]
    fn literal_eval_types() {
        use serde_json::json;
        assert_eq!(ev("1"), json!(1));
        assert_eq!(ev("-1"), json!(-1));
        assert_eq!(ev("0x10"), json!(16));
        assert_eq!(ev("1_000"), json!(1000));
        assert_eq!(ev("1.5"), json!(1.5));
        assert_eq!(ev("1e3"), json!(1000.0));
        assert_eq!(ev("True"), json!(true));
        assert_eq!(ev("None"), json!(null));
        assert_eq!(ev("yes"), json!("yes"));
        assert_eq!(ev("true"), json!("true"));
        assert_eq!(ev("010"), json!("010"));
        assert_eq!(ev("00"), json!(0));
        assert_eq!(ev("'a' \"b\""), json!("ab"));
        assert_eq!(ev("[1, 'a', (2, 3)]"), json!([1, "a", [2, 3]]));
        assert_eq!(ev("{'k': 1, 2: [None]}"), json!({"k": 1, "2": [null]}));
        assert_eq!(ev("{k:1}"), json!("{k:1}"));
        assert_eq!(ev("1, 2"), json!([1, 2]));
        assert_eq!(ev("1 # comment"), json!(1));
        assert_eq!(ev("hello world"), json!("hello world"));
        assert_eq!(ev("1j"), json!("1j"));
        assert_eq!(ev("..."), json!("..."));
        assert_eq!(ev("'a\\tb'"), json!("a\tb"));
        assert_eq!(ev("/usr/bin/python3"), json!("/usr/bin/python3"));
        assert_eq!(ev("1.2.3.4"), json!("1.2.3.4"));
        assert_eq!(ev("{1, 2}"), json!([1, 2]));
        assert_eq!(ev("[1,]"), json!([1]));
        assert_eq!(ev("[1,,]"), json!("[1,,]"));
    }
}

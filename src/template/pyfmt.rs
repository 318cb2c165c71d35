//! Python's text forms of data, as Ansible users see them: `str()`/`repr()`, `json.dumps`
//! and PyYAML's `yaml.dump` (the emitter's scalar styles, indentation and line folding).

use minijinja::value::{Value, ValueKind};

/// Python's `repr()` of a float.
pub fn float_repr(f: f64) -> String {
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
    // Shortest round-trip digits, then Python's layout rules.
    let e = format!("{:e}", f); // like 1.5e-7 or -1e16
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if neg { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let n = digits.len() as i32;
        if exp >= 0 {
            let int_len = exp + 1;
            if n <= int_len {
                format!("{sign}{}{}.0", digits, "0".repeat((int_len - n) as usize))
            } else {
                format!(
                    "{sign}{}.{}",
                    &digits[..int_len as usize],
                    &digits[int_len as usize..]
                )
            }
        } else {
            format!("{sign}0.{}{}", "0".repeat((-exp - 1) as usize), digits)
        }
    } else {
        let m = if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits
        };
        let es = if exp < 0 { '-' } else { '+' };
        format!("{sign}{m}e{es}{:02}", exp.abs())
    }
}

/// The number as Python prints it (ints exactly, floats with `repr`).
pub fn number_str(v: &Value) -> String {
    if v.is_integer() {
        v.to_string()
    } else {
        f64::try_from(v.clone())
            .map(float_repr)
            .unwrap_or_else(|_| v.to_string())
    }
}

/// Python's `repr()` of a string: single quotes unless the text holds `'` and no `"`.
pub fn str_repr(s: &str) -> String {
    let q = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == q => {
                out.push('\\');
                out.push(c)
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if (0x80..0xa0).contains(&(c as u32)) => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

/// Python's `repr()` of a value (lists and dicts as Python prints them).
pub fn repr(v: &Value) -> String {
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => "None".into(),
        ValueKind::Bool => if v.is_true() { "True" } else { "False" }.into(),
        ValueKind::Number => number_str(v),
        ValueKind::String => str_repr(v.as_str().unwrap_or_default()),
        ValueKind::Map => {
            let items: Vec<String> = v
                .try_iter()
                .map(|it| {
                    it.map(|k| {
                        let val = v.get_item(&k).unwrap_or_default();
                        format!("{}: {}", repr(&k), repr(&val))
                    })
                    .collect()
                })
                .unwrap_or_default();
            format!("{{{}}}", items.join(", "))
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<String> = v
                .try_iter()
                .map(|it| it.map(|x| repr(&x)).collect())
                .unwrap_or_default();
            format!("[{}]", items.join(", "))
        }
        _ => v.to_string(),
    }
}

/// Python's `str()` of a value: strings as they are, everything else as `repr()`.
pub fn to_str(v: &Value) -> String {
    match v.kind() {
        ValueKind::String => v.as_str().unwrap_or_default().to_string(),
        _ => repr(v),
    }
}

/// Whether Python's `sorted()` accepts these keys: strings with strings, numbers and
/// booleans with each other; PyYAML leaves a mapping it cannot sort in its own order.
fn python_sortable(keys: &[Value]) -> bool {
    if keys.len() < 2 {
        return true;
    }
    keys.iter().all(|k| k.kind() == ValueKind::String)
        || keys
            .iter()
            .all(|k| matches!(k.kind(), ValueKind::Number | ValueKind::Bool))
}

/// `json.dumps` options.
#[derive(Clone, Copy)]
pub struct JsonOpts {
    pub indent: Option<usize>,
    pub sort_keys: bool,
    pub ensure_ascii: bool,
}

/// Python's `json.dumps(v)`: `", "`/`": "` separators (`","` between items when indenting).
pub fn json_dumps(v: &Value, opts: JsonOpts) -> String {
    let mut out = String::new();
    json_write(&mut out, v, opts, 0);
    out
}

fn json_str(out: &mut String, s: &str, ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if ascii && (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for u in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{:04x}", u));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn json_write(out: &mut String, v: &Value, o: JsonOpts, level: usize) {
    let nl = |out: &mut String, lvl: usize| {
        if let Some(n) = o.indent {
            out.push('\n');
            out.push_str(&" ".repeat(n * lvl));
        }
    };
    let sep = if o.indent.is_some() { "," } else { ", " };
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => out.push_str("null"),
        ValueKind::Bool => out.push_str(if v.is_true() { "true" } else { "false" }),
        ValueKind::Number => {
            if v.is_integer() {
                out.push_str(&v.to_string())
            } else {
                let f = f64::try_from(v.clone()).unwrap_or(f64::NAN);
                if f.is_nan() {
                    out.push_str("NaN")
                } else if f.is_infinite() {
                    out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" })
                } else {
                    out.push_str(&float_repr(f))
                }
            }
        }
        ValueKind::String => json_str(out, v.as_str().unwrap_or_default(), o.ensure_ascii),
        ValueKind::Map => {
            let mut keys: Vec<Value> = v.try_iter().map(|i| i.collect()).unwrap_or_default();
            if keys.is_empty() {
                out.push_str("{}");
                return;
            }
            if o.sort_keys {
                keys.sort_by_key(|a| a.to_string());
            }
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                nl(out, level + 1);
                let ks = match k.kind() {
                    ValueKind::String => k.as_str().unwrap_or_default().to_string(),
                    ValueKind::None => "null".into(),
                    ValueKind::Bool => if k.is_true() { "true" } else { "false" }.into(),
                    _ => number_str(k),
                };
                json_str(out, &ks, o.ensure_ascii);
                out.push_str(": ");
                json_write(out, &v.get_item(k).unwrap_or_default(), o, level + 1);
            }
            nl(out, level);
            out.push('}');
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let items: Vec<Value> = v.try_iter().map(|i| i.collect()).unwrap_or_default();
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                nl(out, level + 1);
                json_write(out, x, o, level + 1);
            }
            nl(out, level);
            out.push(']');
        }
        _ => json_str(out, &v.to_string(), o.ensure_ascii),
    }
}

// ---------------------------------------------------------------------------------------
// PyYAML's emitter (yaml.dump with sort_keys=True, allow_unicode=True, width 80).

/// `yaml.dump` options as Ansible's `to_yaml`/`to_nice_yaml` pass them.
#[derive(Clone, Copy)]
pub struct YamlOpts {
    pub indent: usize,
    /// `None`: collections of scalars in flow style (PyYAML's default); `Some(false)`: block.
    pub default_flow_style: Option<bool>,
    pub width: usize,
    pub sort_keys: bool,
}

/// PyYAML's `yaml.dump(v)` text.
pub fn yaml_dump(v: &Value, opts: YamlOpts) -> String {
    let best_indent = if (2..10).contains(&opts.indent) {
        opts.indent
    } else {
        2
    };
    let mut e = YamlEmitter {
        out: String::new(),
        best_indent,
        best_width: if opts.width > 2 * best_indent {
            opts.width
        } else {
            80
        },
        opts,
        indent: None,
        indents: vec![],
        column: 0,
        whitespace: true,
        indention: true,
        open_ended: false,
        flow_level: 0,
    };
    e.node(v, true, false, false, false);
    // document end
    // (Ansible's dumper ends an open plain root scalar without PyYAML's `...` marker.)
    e.write_indent();
    e.out
}

struct YamlEmitter {
    out: String,
    opts: YamlOpts,
    best_indent: usize,
    best_width: usize,
    indent: Option<usize>,
    indents: Vec<Option<usize>>,
    column: usize,
    whitespace: bool,
    indention: bool,
    open_ended: bool,
    flow_level: usize,
}

const BREAKS: &[char] = &['\n', '\u{85}', '\u{2028}', '\u{2029}'];
fn is_ws0(c: char) -> bool {
    matches!(
        c,
        '\0' | ' ' | '\t' | '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

struct Analysis {
    empty: bool,
    multiline: bool,
    allow_flow_plain: bool,
    allow_block_plain: bool,
    allow_single_quoted: bool,
}

fn analyze_scalar(s: &str) -> Analysis {
    if s.is_empty() {
        return Analysis {
            empty: true,
            multiline: false,
            allow_flow_plain: false,
            allow_block_plain: true,
            allow_single_quoted: true,
        };
    }
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    let (mut block_ind, mut flow_ind) = (false, false);
    let (mut line_breaks, mut special) = (false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    if s.starts_with("---") || s.starts_with("...") {
        block_ind = true;
        flow_ind = true;
    }
    let mut preceded_ws = true;
    let mut followed_ws = n == 1 || is_ws0(chars[1]);
    let (mut prev_space, mut prev_break) = (false, false);
    for (i, &ch) in chars.iter().enumerate() {
        if i == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(ch) {
                flow_ind = true;
                block_ind = true;
            }
            if ch == '?' || ch == ':' {
                flow_ind = true;
                if followed_ws {
                    block_ind = true;
                }
            }
            if ch == '-' && followed_ws {
                flow_ind = true;
                block_ind = true;
            }
        } else {
            if ",?[]{}".contains(ch) {
                flow_ind = true;
            }
            if ch == ':' {
                flow_ind = true;
                if followed_ws {
                    block_ind = true;
                }
            }
            if ch == '#' && preceded_ws {
                flow_ind = true;
                block_ind = true;
            }
        }
        if BREAKS.contains(&ch) {
            line_breaks = true;
        }
        if !(ch == '\n' || (' '..='~').contains(&ch)) {
            let u = ch as u32;
            let printable = (u == 0x85
                || (0xA0..=0xD7FF).contains(&u)
                || (0xE000..=0xFFFD).contains(&u)
                || (0x10000..0x10FFFF).contains(&u))
                && u != 0xFEFF;
            if !printable {
                special = true;
            }
        }
        if ch == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i == n - 1 {
                trailing_space = true;
            }
            if prev_break {
                break_space = true;
            }
            prev_space = true;
            prev_break = false;
        } else if BREAKS.contains(&ch) {
            if i == 0 {
                leading_break = true;
            }
            if i == n - 1 {
                trailing_break = true;
            }
            if prev_space {
                space_break = true;
            }
            prev_space = false;
            prev_break = true;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_ws = is_ws0(ch);
        followed_ws = i + 2 >= n || is_ws0(chars[i + 2]);
    }
    let mut a = Analysis {
        empty: false,
        multiline: line_breaks,
        allow_flow_plain: true,
        allow_block_plain: true,
        allow_single_quoted: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.allow_flow_plain = false;
        a.allow_block_plain = false;
    }
    if break_space {
        a.allow_flow_plain = false;
        a.allow_block_plain = false;
        a.allow_single_quoted = false;
    }
    if space_break || special {
        a.allow_flow_plain = false;
        a.allow_block_plain = false;
        a.allow_single_quoted = false;
    }
    if line_breaks {
        a.allow_flow_plain = false;
        a.allow_block_plain = false;
    }
    if flow_ind {
        a.allow_flow_plain = false;
    }
    if block_ind {
        a.allow_block_plain = false;
    }
    a
}

/// True when PyYAML's YAML 1.1 resolver reads this plain scalar as a string.
pub fn resolves_as_str(s: &str) -> bool {
    use std::sync::OnceLock;
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(concat!(
            r"^(?:",
            r"yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF",
            r"|[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?",
            r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
            r"|[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+",
            r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+",
            r"|<<|~|null|Null|NULL|=|",
            r"|[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]",
            r"|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?",
            r")$"
        ))
        .expect("resolver regex")
    });
    !re.is_match(s)
}

impl YamlEmitter {
    fn write(&mut self, s: &str) {
        self.column += s.chars().count();
        self.out.push_str(s);
    }
    fn write_line_break(&mut self) {
        self.out.push('\n');
        self.whitespace = true;
        self.indention = true;
        self.column = 0;
    }
    fn write_indent(&mut self) {
        let indent = self.indent.unwrap_or(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.write_line_break();
        }
        if self.column < indent {
            self.whitespace = true;
            let pad = " ".repeat(indent - self.column);
            self.write(&pad);
        }
    }
    fn write_indicator(&mut self, ind: &str, need_ws: bool, whitespace: bool, indention: bool) {
        let data = if self.whitespace || !need_ws {
            ind.to_string()
        } else {
            format!(" {ind}")
        };
        self.whitespace = whitespace;
        self.indention = self.indention && indention;
        self.open_ended = false;
        self.write(&data);
    }
    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        match self.indent {
            None => self.indent = Some(if flow { self.best_indent } else { 0 }),
            Some(i) if !indentless => self.indent = Some(i + self.best_indent),
            _ => {}
        }
    }
    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().flatten();
    }

    fn is_collection(v: &Value) -> bool {
        matches!(
            v.kind(),
            ValueKind::Map | ValueKind::Seq | ValueKind::Iterable
        )
    }

    fn items(v: &Value) -> Vec<Value> {
        v.try_iter().map(|i| i.collect()).unwrap_or_default()
    }

    fn map_keys(&self, v: &Value) -> Vec<Value> {
        let mut keys = Self::items(v);
        if self.opts.sort_keys && python_sortable(&keys) {
            keys.sort();
        }
        keys
    }

    /// PyYAML's representer decides flow style per collection.
    fn flow_style(&self, v: &Value) -> bool {
        match self.opts.default_flow_style {
            Some(f) => f,
            None => {
                if v.kind() == ValueKind::Map {
                    Self::items(v).iter().all(|k| {
                        !Self::is_collection(k)
                            && !Self::is_collection(&v.get_item(k).unwrap_or_default())
                    })
                } else {
                    Self::items(v).iter().all(|x| !Self::is_collection(x))
                }
            }
        }
    }

    fn node(&mut self, v: &Value, root: bool, _seq: bool, mapping: bool, simple_key: bool) {
        match v.kind() {
            ValueKind::Map => {
                let keys = self.map_keys(v);
                if self.flow_level > 0 || self.flow_style(v) || keys.is_empty() {
                    self.write_indicator("{", true, true, false);
                    self.flow_level += 1;
                    self.increase_indent(true, false);
                    for (i, k) in keys.iter().enumerate() {
                        if i > 0 {
                            self.write_indicator(",", false, false, false);
                        }
                        if self.column > self.best_width {
                            self.write_indent();
                        }
                        self.node(k, false, false, true, true);
                        self.write_indicator(":", false, false, false);
                        self.node(
                            &v.get_item(k).unwrap_or_default(),
                            false,
                            false,
                            true,
                            false,
                        );
                    }
                    self.pop_indent();
                    self.flow_level -= 1;
                    self.write_indicator("}", false, false, false);
                } else {
                    self.increase_indent(false, false);
                    for k in keys.iter() {
                        self.write_indent();
                        self.node(k, false, false, true, true);
                        self.write_indicator(":", false, false, false);
                        self.node(
                            &v.get_item(k).unwrap_or_default(),
                            false,
                            false,
                            true,
                            false,
                        );
                    }
                    self.pop_indent();
                }
            }
            ValueKind::Seq | ValueKind::Iterable => {
                let items = Self::items(v);
                if self.flow_level > 0 || self.flow_style(v) || items.is_empty() {
                    self.write_indicator("[", true, true, false);
                    self.flow_level += 1;
                    self.increase_indent(true, false);
                    for (i, x) in items.iter().enumerate() {
                        if i > 0 {
                            self.write_indicator(",", false, false, false);
                        }
                        if self.column > self.best_width {
                            self.write_indent();
                        }
                        self.node(x, false, true, false, false);
                    }
                    self.pop_indent();
                    self.flow_level -= 1;
                    self.write_indicator("]", false, false, false);
                } else {
                    let indentless = mapping && !self.indention;
                    self.increase_indent(false, indentless);
                    for x in items.iter() {
                        self.write_indent();
                        self.write_indicator("-", true, false, true);
                        self.node(x, false, true, false, false);
                    }
                    self.pop_indent();
                }
            }
            _ => {
                let (text, is_str) = match v.kind() {
                    ValueKind::None | ValueKind::Undefined => ("null".to_string(), false),
                    ValueKind::Bool => (
                        if v.is_true() { "true" } else { "false" }.to_string(),
                        false,
                    ),
                    ValueKind::Number => {
                        if v.is_integer() {
                            (v.to_string(), false)
                        } else {
                            let f = f64::try_from(v.clone()).unwrap_or(f64::NAN);
                            let t = if f.is_nan() {
                                ".nan".to_string()
                            } else if f.is_infinite() {
                                if f > 0.0 { ".inf" } else { "-.inf" }.to_string()
                            } else {
                                let r = float_repr(f).to_lowercase();
                                if !r.contains('.') && r.contains('e') {
                                    r.replacen('e', ".0e", 1)
                                } else {
                                    r
                                }
                            };
                            (t, false)
                        }
                    }
                    ValueKind::String => (v.as_str().unwrap_or_default().to_string(), true),
                    _ => (v.to_string(), true),
                };
                self.increase_indent(true, false);
                self.scalar(&text, !is_str || resolves_as_str(&text), root, simple_key);
                self.pop_indent();
            }
        }
    }

    fn scalar(&mut self, text: &str, implicit_plain: bool, root: bool, simple_key: bool) {
        let a = analyze_scalar(text);
        let plain_ok = implicit_plain
            && !(simple_key && (a.empty || a.multiline))
            && ((self.flow_level > 0 && a.allow_flow_plain)
                || (self.flow_level == 0 && a.allow_block_plain));
        let split = !simple_key;
        if plain_ok {
            self.write_plain(text, split, root);
        } else if a.allow_single_quoted && !(simple_key && a.multiline) {
            self.write_single_quoted(text, split);
        } else {
            self.write_double_quoted(text, split);
        }
    }

    fn write_plain(&mut self, text: &str, split: bool, root: bool) {
        if root {
            self.open_ended = true;
        }
        if text.is_empty() {
            return;
        }
        if !self.whitespace {
            self.write(" ");
        }
        self.whitespace = false;
        self.indention = false;
        let chars: Vec<char> = text.chars().collect();
        let (mut spaces, mut breaks) = (false, false);
        let (mut start, mut end) = (0usize, 0usize);
        while end <= chars.len() {
            let ch = chars.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end && self.column > self.best_width && split {
                        self.write_indent();
                        self.whitespace = false;
                        self.indention = false;
                    } else {
                        let s: String = chars[start..end].iter().collect();
                        self.write(&s);
                    }
                    start = end;
                }
            } else if breaks {
                if ch.is_none_or(|c| !BREAKS.contains(&c)) {
                    if chars[start] == '\n' {
                        self.write_line_break();
                    }
                    for &br in &chars[start..end] {
                        if br == '\n' {
                            self.write_line_break();
                        } else {
                            self.out.push(br);
                            self.column = 0;
                        }
                    }
                    self.write_indent();
                    self.whitespace = false;
                    self.indention = false;
                    start = end;
                }
            } else if ch.is_none_or(|c| c == ' ' || BREAKS.contains(&c)) {
                let s: String = chars[start..end].iter().collect();
                self.write(&s);
                start = end;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
                breaks = BREAKS.contains(&c);
            }
            end += 1;
        }
    }

    fn write_single_quoted(&mut self, text: &str, split: bool) {
        self.write_indicator("'", true, false, false);
        let chars: Vec<char> = text.chars().collect();
        let (mut spaces, mut breaks) = (false, false);
        let (mut start, mut end) = (0usize, 0usize);
        while end <= chars.len() {
            let ch = chars.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end
                        && self.column > self.best_width
                        && split
                        && start != 0
                        && end != chars.len()
                    {
                        self.write_indent();
                    } else {
                        let s: String = chars[start..end].iter().collect();
                        self.write(&s);
                    }
                    start = end;
                }
            } else if breaks {
                if ch.is_none_or(|c| !BREAKS.contains(&c)) {
                    if chars[start] == '\n' {
                        self.write_line_break();
                    }
                    for &br in &chars[start..end] {
                        if br == '\n' {
                            self.write_line_break();
                        } else {
                            self.out.push(br);
                            self.column = 0;
                        }
                    }
                    self.write_indent();
                    start = end;
                }
            } else if ch.is_none_or(|c| c == ' ' || c == '\'' || BREAKS.contains(&c)) && start < end
            {
                let s: String = chars[start..end].iter().collect();
                self.write(&s);
                start = end;
            }
            if ch == Some('\'') {
                self.write("''");
                start = end + 1;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
                breaks = BREAKS.contains(&c);
            }
            end += 1;
        }
        self.write_indicator("'", false, false, false);
    }

    fn write_double_quoted(&mut self, text: &str, split: bool) {
        self.write_indicator("\"", true, false, false);
        let chars: Vec<char> = text.chars().collect();
        let (mut start, mut end) = (0usize, 0usize);
        while end <= chars.len() {
            let ch = chars.get(end).copied();
            let needs_escape = match ch {
                None => true,
                Some(c) => {
                    let u = c as u32;
                    "\"\\\u{85}\u{2028}\u{2029}\u{FEFF}".contains(c)
                        || !((0x20..=0x7E).contains(&u)
                            || (0xA0..=0xD7FF).contains(&u)
                            || (0xE000..=0xFFFD).contains(&u))
                }
            };
            if needs_escape {
                if start < end {
                    let s: String = chars[start..end].iter().collect();
                    self.write(&s);
                    start = end;
                }
                if let Some(c) = ch {
                    let esc = match c {
                        '\0' => "0".to_string(),
                        '\u{7}' => "a".into(),
                        '\u{8}' => "b".into(),
                        '\t' => "t".into(),
                        '\n' => "n".into(),
                        '\u{b}' => "v".into(),
                        '\u{c}' => "f".into(),
                        '\r' => "r".into(),
                        '\u{1b}' => "e".into(),
                        '"' => "\"".into(),
                        '\\' => "\\".into(),
                        '\u{85}' => "N".into(),
                        '\u{a0}' => "_".into(),
                        '\u{2028}' => "L".into(),
                        '\u{2029}' => "P".into(),
                        c if (c as u32) <= 0xFF => format!("x{:02X}", c as u32),
                        c if (c as u32) <= 0xFFFF => format!("u{:04X}", c as u32),
                        c => format!("U{:08X}", c as u32),
                    };
                    self.write(&format!("\\{esc}"));
                    start = end + 1;
                }
            }
            if end > 0
                && end + 1 < chars.len()
                && (ch == Some(' ') || start >= end)
                && self.column + end.saturating_sub(start) > self.best_width
                && split
            {
                let s: String = chars[start.min(end)..end].iter().collect();
                if start < end {
                    start = end;
                }
                self.write(&format!("{s}\\"));
                self.write_indent();
                self.whitespace = false;
                self.indention = false;
                if chars.get(start) == Some(&' ') {
                    self.write("\\");
                }
            }
            end += 1;
        }
        self.write_indicator("\"", false, false, false);
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn floats_print_like_python() {
        assert_eq!(float_repr(2.0), "2.0");
        assert_eq!(float_repr(0.1), "0.1");
        assert_eq!(float_repr(1e16), "1e+16");
        assert_eq!(float_repr(1.5e-7), "1.5e-07");
        assert_eq!(float_repr(123456.789), "123456.789");
        assert_eq!(float_repr(0.0001), "0.0001");
    }

    #[test]
    fn yaml_matches_pyyaml() {
        let v = Value::from(minijinja::value::Serde(
            serde_json::json!({"b": 1, "a": [1, 2], "c": {"d": "x y"},
            "e": [{"f": 1, "g": [1]}], "h": []}),
        ));
        let nice = YamlOpts {
            indent: 4,
            default_flow_style: Some(false),
            width: 80,
            sort_keys: true,
        };
        assert_eq!(
            yaml_dump(&v, nice),
            "a:\n- 1\n- 2\nb: 1\nc:\n    d: x y\ne:\n-   f: 1\n    g:\n    - 1\nh: []\n"
        );
        let terse = YamlOpts {
            indent: 2,
            default_flow_style: None,
            width: 80,
            sort_keys: true,
        };
        let v = Value::from(minijinja::value::Serde(
            serde_json::json!({"b": 1, "a": [1, 2]}),
        ));
        assert_eq!(yaml_dump(&v, terse), "a: [1, 2]\nb: 1\n");
        assert_eq!(yaml_dump(&Value::from("abc"), terse), "abc\n");
        assert_eq!(yaml_dump(&Value::from("yes"), terse), "'yes'\n");
    }
}

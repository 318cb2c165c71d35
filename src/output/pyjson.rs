//! Python-compatible text forms of JSON values, as the callbacks print them.
//!
//! Ansible dumps results with `json.dumps(..., indent=?, sort_keys=True, ensure_ascii=False)`
//! and shows loop items with Python's `str()`; both differ from serde_json's formatting in
//! small ways (separators, float forms, `True`/`None`), so they are written out here.

use serde_json::{Map, Number, Value};

/// `json.dumps(value, indent=indent, sort_keys=sort_keys, ensure_ascii=False)`.
///
/// Without an indent the separators are `", "` and `": "`; with one, `","` and `": "`,
/// and empty containers stay `[]`/`{}` as in Python.
pub fn dumps(value: &Value, indent: Option<usize>, sort_keys: bool) -> String {
    let mut out = String::new();
    write_value(&mut out, value, indent, sort_keys, 0);
    out
}

fn write_value(out: &mut String, value: &Value, indent: Option<usize>, sort: bool, level: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => out.push_str(&number(n)),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                separator(out, i, indent, level + 1);
                write_value(out, item, indent, sort, level + 1);
            }
            close(out, indent, level);
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (k, v)) in entries(map, sort).into_iter().enumerate() {
                separator(out, i, indent, level + 1);
                write_string(out, k);
                out.push_str(": ");
                write_value(out, v, indent, sort, level + 1);
            }
            close(out, indent, level);
            out.push('}');
        }
    }
}

/// `json.dumps`' default `ensure_ascii=True`: non-ASCII characters become `\uXXXX`
/// (surrogate pairs above the BMP). They only occur inside strings, so escaping the
/// finished text is the same as escaping while writing.
pub fn ascii_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for unit in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{:04x}", unit));
            }
        }
    }
    out
}

/// A map's entries, sorted by key (code point order, like Python) when asked.
pub(crate) fn entries(map: &Map<String, Value>, sort: bool) -> Vec<(&String, &Value)> {
    let mut v: Vec<_> = map.iter().collect();
    if sort {
        v.sort_by(|a, b| a.0.cmp(b.0));
    }
    v
}

fn separator(out: &mut String, i: usize, indent: Option<usize>, level: usize) {
    match indent {
        Some(n) => {
            if i > 0 {
                out.push(',');
            }
            out.push('\n');
            out.push_str(&" ".repeat(n * level));
        }
        None => {
            if i > 0 {
                out.push_str(", ");
            }
        }
    }
}

fn close(out: &mut String, indent: Option<usize>, level: usize) {
    if let Some(n) = indent {
        out.push('\n');
        out.push_str(&" ".repeat(n * level));
    }
}

/// A JSON string literal as Python writes it with `ensure_ascii=False`.
fn write_string(out: &mut String, s: &str) {
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
            c => out.push(c),
        }
    }
    out.push('"');
}

fn number(n: &Number) -> String {
    if n.is_f64() {
        n.as_f64().map(py_float).unwrap_or_else(|| n.to_string())
    } else {
        n.to_string()
    }
}

/// Python's `repr(float)`: shortest round-trip digits, scientific notation below 1e-4 and
/// from 1e16 on (`1e-05`, `1e+16`), otherwise positional with at least one decimal.
pub fn py_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    if f == 0.0 {
        return if f.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    // `{:e}` gives the shortest round-trip digits: "1.2345e-5".
    let sci = format!("{:e}", f);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let sign = if neg { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let n = digits.len() as i32;
        let body = if exp >= n - 1 {
            format!("{}{}.0", digits, "0".repeat((exp - (n - 1)) as usize))
        } else if exp >= 0 {
            let (a, b) = digits.split_at((exp + 1) as usize);
            format!("{a}.{b}")
        } else {
            format!("0.{}{}", "0".repeat((-exp - 1) as usize), digits)
        };
        format!("{sign}{body}")
    } else {
        let (first, rest) = digits.split_at(1);
        let m = if rest.is_empty() {
            first.to_string()
        } else {
            format!("{first}.{rest}")
        };
        let es = if exp < 0 { '-' } else { '+' };
        format!("{sign}{m}e{es}{:02}", exp.abs())
    }
}

/// Python's `str(value)` for what a loop item label can be: strings bare, everything else
/// as Python's `repr` of the equivalent object (`{'a': 1}`, `[1, True, None]`).
pub fn py_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

/// Python's `repr()` of the object a JSON value maps to.
pub fn py_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => number(n),
        Value::String(s) => py_repr_str(s),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(py_repr).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", py_repr_str(k), py_repr(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

/// Python's `repr(str)`: the one implementation lives with the template layer's Python
/// formatting.
pub fn py_repr_str(s: &str) -> String {
    crate::template::filters::pyfmt::str_repr(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compact_and_indented_match_python() {
        // python3 -c 'import json; print(json.dumps({"b": [1, {}], "a": "é\n", "c": []}, sort_keys=True, ensure_ascii=False))'
        let v = json!({"b": [1, {}], "a": "é\n", "c": []});
        assert_eq!(
            dumps(&v, None, true),
            r#"{"a": "é\n", "b": [1, {}], "c": []}"#
        );
        assert_eq!(
            dumps(&v, Some(4), true),
            "{\n    \"a\": \"é\\n\",\n    \"b\": [\n        1,\n        {}\n    ],\n    \"c\": []\n}"
        );
        assert_eq!(dumps(&json!("\u{1}\"\\"), None, true), r#""\u0001\"\\""#);
    }

    #[test]
    fn floats_like_python_repr() {
        assert_eq!(py_float(1.5), "1.5");
        assert_eq!(py_float(1.0), "1.0");
        assert_eq!(py_float(100.0), "100.0");
        assert_eq!(py_float(0.0001), "0.0001");
        assert_eq!(py_float(0.00001), "1e-05");
        assert_eq!(py_float(1e16), "1e+16");
        assert_eq!(py_float(1.5e16), "1.5e+16");
        assert_eq!(py_float(123456789012345.6), "123456789012345.6");
        assert_eq!(py_float(-0.25), "-0.25");
    }

    #[test]
    fn item_labels_like_python_str() {
        // From `loop: [{a: 1, b: "x'y"}, [1, true, null], 1.5, "é", yes]` with ansible-playbook:
        // (item={'a': 1, 'b': "x'y"}), (item=[1, True, None]), (item=1.5), (item=é), (item=True)
        assert_eq!(
            py_str(&json!({"a": 1, "b": "x'y"})),
            r#"{'a': 1, 'b': "x'y"}"#
        );
        assert_eq!(py_str(&json!([1, true, null])), "[1, True, None]");
        assert_eq!(py_str(&json!(1.5)), "1.5");
        assert_eq!(py_str(&json!("é")), "é");
        assert_eq!(py_str(&json!(true)), "True");
    }
}

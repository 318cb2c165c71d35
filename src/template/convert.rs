//! Conversions between our data (serde_json values) and minijinja values.

use crate::yaml::{Kind, Node, ScalarKey};
use minijinja::value::{Value as MjValue, ValueKind};
use serde_json::{Map, Value};

pub fn to_mj(v: &Value) -> MjValue {
    match v {
        Value::Null => MjValue::from(()),
        Value::Bool(b) => MjValue::from(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => MjValue::from(i),
            None => match n.as_u64() {
                Some(u) => MjValue::from(u),
                None => MjValue::from(n.as_f64().unwrap_or(0.0)),
            },
        },
        Value::String(s) => MjValue::from(s.as_str()),
        Value::Array(a) => MjValue::from(a.iter().map(to_mj).collect::<Vec<_>>()),
        Value::Object(m) => {
            MjValue::from_pairs(m.iter().map(|(k, v)| (MjValue::from(k.as_str()), to_mj(v))))
        }
    }
}

/// A YAML node as a template value, untemplated: non-string mapping keys keep their type
/// (`{1: a, yes: b}` has an int and a bool key, as in Ansible).
pub fn node_to_mj(n: &Node) -> MjValue {
    match &n.kind {
        Kind::Seq(items) => MjValue::from(items.iter().map(node_to_mj).collect::<Vec<_>>()),
        Kind::Map(m) => MjValue::from_pairs(
            m.typed_iter()
                .map(|(k, typed, v)| (key_to_mj(k, typed), node_to_mj(v))),
        ),
        _ => to_mj(&n.to_json()),
    }
}

/// A mapping key as a template value.
pub fn key_to_mj(k: &str, typed: Option<&ScalarKey>) -> MjValue {
    match typed {
        None => MjValue::from(k),
        Some(ScalarKey::Null) => MjValue::from(()),
        Some(ScalarKey::Bool(b)) => MjValue::from(*b),
        Some(ScalarKey::Int(i)) => MjValue::from(*i),
        Some(ScalarKey::Float(f)) => MjValue::from(*f),
    }
}

/// A minijinja value as data. Undefined becomes null; non-string map keys become strings.
pub fn from_mj(v: &MjValue) -> Result<Value, String> {
    Ok(match v.kind() {
        ValueKind::Undefined | ValueKind::None => Value::Null,
        ValueKind::Bool => Value::Bool(v.is_true()),
        ValueKind::Number => {
            if let Some(i) = v.as_i64() {
                Value::from(i)
            } else {
                let f: f64 = f64::try_from(v.clone()).map_err(|e| e.to_string())?;
                serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .unwrap_or(Value::Null)
            }
        }
        ValueKind::String => Value::String(v.as_str().unwrap_or_default().to_string()),
        ValueKind::Bytes => {
            Value::String(String::from_utf8_lossy(v.as_bytes().unwrap_or_default()).into_owned())
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let mut out = Vec::new();
            for item in v.try_iter().map_err(|e| e.to_string())? {
                out.push(from_mj(&item)?);
            }
            Value::Array(out)
        }
        ValueKind::Map => {
            let mut out = Map::new();
            for key in v.try_iter().map_err(|e| e.to_string())? {
                let val = v.get_item(&key).map_err(|e| e.to_string())?;
                // Non-string keys as Python's json.dumps writes them.
                let k = match key.kind() {
                    ValueKind::String => key.as_str().unwrap_or_default().to_string(),
                    ValueKind::None | ValueKind::Undefined => "null".into(),
                    ValueKind::Bool => if key.is_true() { "true" } else { "false" }.into(),
                    ValueKind::Number => super::filters::pyfmt::number_str(&key),
                    _ => key.to_string(),
                };
                out.insert(k, from_mj(&val)?);
            }
            Value::Object(out)
        }
        ValueKind::Plain => Value::String(v.to_string()),
        ValueKind::Invalid => return Err(v.to_string()),
        _ => Value::String(v.to_string()),
    })
}

/// How Python's `str()` shows a value: what a mixed template prints for it.
pub fn to_python_str(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::String(s) => s.clone(),
        other => python_repr(other),
    }
}

/// Python's `repr()` of data (lists and dicts print their items this way).
pub fn python_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => {
            if n.is_f64() {
                let f = n.as_f64().unwrap_or(0.0);
                if f.fract() == 0.0 && f.abs() < 1e16 {
                    format!("{f:.1}")
                } else {
                    format!("{f}")
                }
            } else {
                n.to_string()
            }
        }
        Value::String(s) => super::filters::pyfmt::str_repr(s),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(python_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!(
                    "{}: {}",
                    python_repr(&Value::String(k.clone())),
                    python_repr(v)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

//! `with_<lookup>` loops: the lookup's results are the items.

use crate::error::{Error, Result};
use crate::template::Context;
use crate::vars::{Layer, Vars};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Items of `with_<name>: terms`, through the lookup plugin of that name (as
/// `query(name, *terms)`).
pub fn with_lookup(name: &str, terms: Value, c: &Arc<Context>) -> Result<Vec<Value>> {
    let args: Vec<Value> = match (name, terms) {
        // with_items and friends take the list itself as the terms.
        (_, Value::Array(a)) => a,
        (_, other) => vec![other],
    };
    let mut layer = Map::new();
    layer.insert("__play_terms".into(), Value::Array(args.clone()));
    let mut vars: Vars = (*c.vars).clone();
    vars.push_higher(Layer::data(layer));
    let lc = Context::new(Arc::new(vars));
    let call_args = (0..args.len())
        .map(|i| format!("__play_terms[{i}]"))
        .collect::<Vec<_>>()
        .join(", ");
    let sep = if call_args.is_empty() { "" } else { ", " };
    let expr = format!("query('{name}'{sep}{call_args})");
    // Ansible reports the lookup's own failure, with nothing around it.
    let v = lc.eval_expr(&expr)?;
    match crate::template::from_mj(&v).map_err(Error::new)? {
        Value::Array(a) => Ok(a),
        Value::Null => Ok(Vec::new()),
        other => Ok(vec![other]),
    }
}

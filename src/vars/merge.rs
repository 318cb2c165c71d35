//! Recursive dictionary merge, as `hash_behaviour = merge` and `combine(recursive=True)` do.

use serde_json::Value;

/// Merge `b` into `a`: mappings merge key by key, anything else from `b` replaces.
pub fn merge_into(a: &mut Value, b: &Value) {
    match (a, b) {
        (Value::Object(am), Value::Object(bm)) => {
            for (k, bv) in bm {
                match am.get_mut(k) {
                    Some(av) => merge_into(av, bv),
                    None => {
                        am.insert(k.clone(), bv.clone());
                    }
                }
            }
        }
        (a, b) => *a = b.clone(),
    }
}

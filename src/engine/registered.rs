//! A task result as a registered variable holds it. Ansible exports its own keys first, in
//! a fixed order (changed and failed always), then the module's keys in the module's
//! order, then the lines it split from stdout and stderr, then a loop's results. Internal
//! keys (`_ansible_*`, `_play_*`) are not part of it.

use serde_json::{Map, Value};

/// Ansible's keys, in the order it exports them; the names of the loop variables come
/// after `ansible_index_var` (see `registered`).
const LEADING: &[&str] = &[
    "changed",
    "failed",
    "unreachable",
    "skipped",
    "warnings",
    "deprecations",
    "ansible_facts",
    "async_result",
    "exception",
    "finished",
    "msg",
    "rc",
    "module_stderr",
    "module_stdout",
    "attempts",
    "retries",
    "diff",
    "ansible_stats",
    "ansible_job_id",
    "skip_reason",
    "skipped_reason",
    "false_condition",
    "changed_when_result",
    "failed_when_result",
    "break_when_result",
    "ansible_loop_var",
    "ansible_index_var",
];

fn internal(key: &str) -> bool {
    key.starts_with("_ansible_") || key.starts_with("_play_")
}

/// The registered form of a task result (and of each of its loop results).
pub fn registered(r: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("changed".into(), Value::Bool(false));
    out.insert("failed".into(), Value::Bool(false));
    let place = |out: &mut Map<String, Value>, key: &str| {
        if let Some(v) = r.get(key) {
            // Ansible reports `unreachable` and `skipped` only when they are true.
            if !(matches!(key, "unreachable" | "skipped") && v == &Value::Bool(false)) {
                out.insert(key.to_string(), v.clone());
            }
        }
    };
    for key in LEADING {
        place(&mut out, key);
    }
    // The loop item and index under their variables' names, then the extended loop data.
    for name_key in ["ansible_loop_var", "ansible_index_var"] {
        if let Some(name) = r.get(name_key).and_then(Value::as_str) {
            place(&mut out, name);
        }
    }
    place(&mut out, "ansible_loop");
    const TRAILING: &[&str] = &["stdout_lines", "stderr_lines", "results"];
    for (k, v) in r {
        let placed = out.contains_key(k) || LEADING.contains(&k.as_str());
        if !internal(k) && !placed && !TRAILING.contains(&k.as_str()) {
            out.insert(k.clone(), v.clone());
        }
    }
    for key in &TRAILING[..2] {
        place(&mut out, key);
    }
    if let Some(results) = r.get("results") {
        let results = match results {
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| match item {
                        Value::Object(m) if m.contains_key("ansible_loop_var") => {
                            Value::Object(registered(m))
                        }
                        other => other.clone(),
                    })
                    .collect(),
            ),
            other => other.clone(),
        };
        out.insert("results".into(), results);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(v: &Map<String, Value>) -> Vec<&str> {
        v.keys().map(String::as_str).collect()
    }

    #[test]
    fn ansible_keys_first_then_the_module_s() {
        let r = json!({"changed": true, "stdout": "hi", "stderr": "", "rc": 0, "cmd": ["echo"],
            "msg": "", "stdout_lines": ["hi"], "stderr_lines": [], "_ansible_no_log": false});
        let r = registered(r.as_object().unwrap());
        assert_eq!(
            keys(&r),
            [
                "changed",
                "failed",
                "msg",
                "rc",
                "stdout",
                "stderr",
                "cmd",
                "stdout_lines",
                "stderr_lines"
            ]
        );
    }

    #[test]
    fn loop_items_carry_their_variables_names() {
        let r = json!({"changed": false, "msg": "All items completed", "skipped": false,
            "results": [{"msg": "x", "changed": false, "item": 1, "ansible_loop_var": "item", "failed": false}]});
        let r = registered(r.as_object().unwrap());
        assert_eq!(keys(&r), ["changed", "failed", "msg", "results"]);
        let item = r["results"][0].as_object().unwrap();
        assert_eq!(
            keys(item),
            ["changed", "failed", "msg", "ansible_loop_var", "item"]
        );
    }
}

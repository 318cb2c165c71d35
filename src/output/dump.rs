//! How a result is reduced and written after `=>`: internal keys stripped, `invocation` and
//! `diff` hidden below -vvv, debug's result narrowed to what it prints, JSON sorted by key.

use super::pyjson;
use serde_json::{Map, Value};

/// Actions whose results the callback narrows like `debug`'s.
pub fn is_debug_action(action: &str) -> bool {
    matches!(
        action,
        "debug" | "ansible.builtin.debug" | "ansible.legacy.debug"
    )
}

/// Actions that include other tasks: their own "ok" is not printed.
pub fn is_include_action(action: &str) -> bool {
    let short = action
        .strip_prefix("ansible.builtin.")
        .or_else(|| action.strip_prefix("ansible.legacy."))
        .unwrap_or(action);
    matches!(short, "include_tasks" | "include_role" | "include")
}

/// Python truthiness of a JSON value.
pub fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().map(|f| f != 0.0).unwrap_or(true),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

/// `strip_internal_keys`: remove every `_ansible_*` key, at any depth.
pub fn strip_internal_keys(v: &mut Value) {
    match v {
        Value::Object(map) => strip_internal_map(map),
        Value::Array(items) => items.iter_mut().for_each(strip_internal_keys),
        _ => {}
    }
}

pub fn strip_internal_map(map: &mut Map<String, Value>) {
    map.retain(|k, _| !k.starts_with("_ansible_"));
    for v in map.values_mut() {
        strip_internal_keys(v);
    }
}

/// `_clean_results` for debug: with a `msg`, only `msg` (and internal keys) remain;
/// otherwise the bookkeeping keys are dropped so only the variable shows.
pub fn clean_results(result: &mut Map<String, Value>, action: &str) {
    if !is_debug_action(action) {
        return;
    }
    if result.contains_key("msg") {
        result.retain(|k, _| {
            matches!(
                k.as_str(),
                "msg" | "exception" | "warnings" | "deprecations"
            ) || k.starts_with("_ansible_")
        });
    } else {
        for k in [
            "changed",
            "failed",
            "skipped",
            "invocation",
            "skip_reason",
            "ansible_loop_var",
            "ansible_index_var",
            "ansible_loop",
        ] {
            result.shift_remove(k);
        }
    }
}

/// `_dump_results`: the JSON text after `=>`.
///
/// Indented by 4 when the result asks to be shown verbosely (`_ansible_verbose_always`, as
/// debug's results do) or at -vvv and above; otherwise on one line.
pub fn dump_results(
    result: &Map<String, Value>,
    verbosity: u8,
    indent: Option<usize>,
    keep_invocation: bool,
) -> String {
    let indent = match indent {
        Some(n) if n > 0 => Some(n),
        _ if truthy(result.get("_ansible_verbose_always")) || verbosity > 2 => Some(4),
        _ => None,
    };
    let mut abridged = result.clone();
    strip_internal_map(&mut abridged);
    if !keep_invocation && verbosity < 3 {
        abridged.shift_remove("invocation");
    }
    if verbosity < 3 {
        abridged.shift_remove("diff");
    }
    // Ansible carries `failed` as the result's status, not as a key it shows.
    for k in [
        "failed",
        "exception",
        "warnings",
        "deprecations",
        super::ERROR_TEXT_KEY,
    ] {
        abridged.shift_remove(k);
    }
    pyjson::dumps(&Value::Object(abridged), indent, true)
}

/// Dump of any value (custom stats) with the same rules.
pub fn dump_value(v: &Value, indent: Option<usize>) -> String {
    let mut v = v.clone();
    strip_internal_keys(&mut v);
    pyjson::dumps(&v, indent, true)
}

/// `_get_item_label`: the censored marker under no_log, else `_ansible_item_label`, else the
/// item; as Python's `str()` would print it.
pub fn item_label(result: &Map<String, Value>, item: Option<&Value>, no_log: bool) -> String {
    if no_log || truthy(result.get("_ansible_no_log")) {
        return "(censored due to no_log)".into();
    }
    let v = result
        .get("_ansible_item_label")
        .or(item)
        .or_else(|| result.get("item"))
        .cloned()
        .unwrap_or(Value::Null);
    pyjson::py_str(&v)
}

/// `_run_is_verbose`: -v or more, or a result that asks to be shown, unless it opts out.
pub fn run_is_verbose(result: &Map<String, Value>, verbosity: u8, above: u8) -> bool {
    (verbosity > above || result.get("_ansible_verbose_always") == Some(&Value::Bool(true)))
        && result.get("_ansible_verbose_override") != Some(&Value::Bool(true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn compact_dump_strips_and_sorts() {
        // `command: /bin/false` with ignore_errors, default verbosity:
        // fatal: [localhost]: FAILED! => {"changed": true, "cmd": ["/bin/false"], "msg": "...", "rc": 1}
        let r = obj(
            json!({"rc": 1, "msg": "m", "cmd": ["/bin/false"], "changed": true,
            "exception": "(traceback unavailable)", "invocation": {"module_args": {}},
            "_ansible_no_log": false, "warnings": ["w"], "diff": {"before": ""}}),
        );
        assert_eq!(
            dump_results(&r, 0, None, false),
            r#"{"changed": true, "cmd": ["/bin/false"], "msg": "m", "rc": 1}"#
        );
        // At -vvv, invocation and diff stay and the dump is indented.
        assert_eq!(
            dump_results(&r, 3, None, false),
            "{\n    \"changed\": true,\n    \"cmd\": [\n        \"/bin/false\"\n    ],\n    \"diff\": {\n        \"before\": \"\"\n    },\n    \"invocation\": {\n        \"module_args\": {}\n    },\n    \"msg\": \"m\",\n    \"rc\": 1\n}"
        );
    }

    #[test]
    fn debug_results_narrowed() {
        let mut r = obj(
            json!({"msg": "hello", "changed": false, "_ansible_verbose_always": true, "failed": false}),
        );
        clean_results(&mut r, "ansible.builtin.debug");
        // `debug: msg=hello` prints: ok: [localhost] => {\n    "msg": "hello"\n}
        assert_eq!(
            dump_results(&r, 0, None, false),
            "{\n    \"msg\": \"hello\"\n}"
        );
        let mut r = obj(
            json!({"foo": 1, "changed": false, "_ansible_verbose_always": true, "ansible_loop_var": "item"}),
        );
        clean_results(&mut r, "debug");
        assert_eq!(dump_results(&r, 0, None, false), "{\n    \"foo\": 1\n}");
    }

    #[test]
    fn labels() {
        let r = obj(json!({"_ansible_item_label": 1, "item": {"n": 1}}));
        assert_eq!(item_label(&r, None, false), "1");
        let r = obj(json!({"_ansible_no_log": true, "item": 1}));
        assert_eq!(item_label(&r, None, false), "(censored due to no_log)");
        assert_eq!(
            item_label(&Map::new(), Some(&json!({"n": 1})), false),
            "{'n': 1}"
        );
    }
}

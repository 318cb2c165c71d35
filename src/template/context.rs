//! The lazy, per-host variable context that templates render against. A variable's raw value
//! is templated the first time a template reads it, against the same context, with cycle
//! detection; results are cached for the life of the context (one task on one host).

use super::convert::{from_mj, key_to_mj, node_to_mj, to_mj};
use super::literals::{self, Origin};
use super::undefined;
use super::{CHAIN_ENV, ENV};
use crate::error::{Error, Result};
use crate::vars::{HostVarsSource, Raw, Vars};
use crate::yaml::{Kind, Node};
use minijinja::value::{DynObject, Enumerator, Object, ObjectRepr, Value as MjValue};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
struct State {
    cache: HashMap<String, MjValue>,
    resolving: Vec<String>,
    /// The first error met while resolving a variable (it cannot travel through minijinja's
    /// lookup, so it waits here for the render to fail).
    error: Option<Error>,
    /// The last name looked up and not found, for "'x' is undefined".
    last_undefined: Option<String>,
    /// A variable whose template met an undefined value is itself undefined (a default
    /// applies to it); this is why, for the message when nothing does.
    undefined_error: Option<Error>,
}

#[derive(Debug)]
pub struct Context {
    pub vars: Arc<Vars>,
    state: Mutex<State>,
}

impl Context {
    pub fn new(vars: Arc<Vars>) -> Arc<Context> {
        Arc::new(Context {
            vars,
            state: Mutex::new(State::default()),
        })
    }

    fn as_value(self: &Arc<Self>) -> MjValue {
        MjValue::from_dyn_object(DynObject::from(self.clone()))
    }

    /// A variable's value, templated. `None` when undefined (or when resolving failed; the
    /// error is kept for the render that asked).
    pub fn resolve(self: &Arc<Self>, name: &str) -> Option<MjValue> {
        {
            let st = self.state.lock().unwrap();
            if let Some(v) = st.cache.get(name) {
                return Some(v.clone());
            }
        }
        match name {
            "vars" => {
                return Some(MjValue::from_dyn_object(DynObject::from(Arc::new(
                    VarsProxy(self.clone()),
                ))))
            }
            "hostvars" => {
                if let Some(src) = &self.vars.hostvars {
                    return Some(MjValue::from_dyn_object(DynObject::from(Arc::new(
                        HostVarsObj(src.clone()),
                    ))));
                }
            }
            _ => {}
        }
        if self.vars.merge {
            if let Some(v) = self.resolve_merged(name) {
                self.state
                    .lock()
                    .unwrap()
                    .cache
                    .insert(name.to_string(), v.clone());
                return Some(v);
            }
        }
        let raw = self.vars.raw(name);
        let value = match raw {
            None => {
                // minijinja asks the context before its globals: a function name
                // (`lookup`, `undef`) is not an undefined variable of the template.
                if !is_global(name) {
                    self.state.lock().unwrap().last_undefined = Some(name.to_string());
                }
                return None;
            }
            Some(Raw::Data(v)) => to_mj(v),
            Some(Raw::Node(n)) => {
                if !n.has_template() && !n.has_vault() {
                    node_to_mj(n)
                } else {
                    {
                        let mut st = self.state.lock().unwrap();
                        if st.resolving.iter().any(|r| r == name) {
                            if st.error.is_none() {
                                st.error = Some(Error::new(format!(
                                    "Recursive loop detected in template: variable '{name}' refers to itself (through {})",
                                    st.resolving.join(" -> ")
                                )));
                            }
                            return None;
                        }
                        st.resolving.push(name.to_string());
                    }
                    let r = self.template_node_mj(n);
                    let mut st = self.state.lock().unwrap();
                    st.resolving.pop();
                    match r {
                        Ok(v) => v,
                        // A value that is `undef(hint)` is undefined, with the hint as its
                        // message.
                        Err(e)
                            if is_undefined_message(&e.msg)
                                || undefined::undef_hint().as_deref() == Some(e.msg.as_str()) =>
                        {
                            if st.undefined_error.is_none() {
                                st.undefined_error = Some(e);
                            }
                            return None;
                        }
                        Err(e) => {
                            if st.error.is_none() {
                                st.error = Some(e);
                            }
                            return None;
                        }
                    }
                }
            }
        };
        self.state
            .lock()
            .unwrap()
            .cache
            .insert(name.to_string(), value.clone());
        Some(value)
    }

    /// With `hash_behaviour = merge`: when the name is a dictionary at more than one level,
    /// the levels merge recursively (higher wins). `None` to fall back to plain lookup.
    fn resolve_merged(self: &Arc<Self>, name: &str) -> Option<MjValue> {
        let raws = self.vars.all_raw(name);
        if raws.len() < 2 {
            return None;
        }
        {
            let mut st = self.state.lock().unwrap();
            if st.resolving.iter().any(|r| r == name) {
                return None;
            }
            st.resolving.push(name.to_string());
        }
        let mut values = Vec::new();
        let mut ok = true;
        for r in raws.iter().rev() {
            match r {
                Raw::Data(v) => values.push((*v).clone()),
                Raw::Node(n) => match self.template_node(n) {
                    Ok(v) => values.push(v),
                    Err(_) => ok = false,
                },
            }
        }
        self.state.lock().unwrap().resolving.pop();
        if !ok {
            return None;
        }
        if !values.iter().all(Value::is_object) {
            return None;
        }
        let mut acc = Value::Object(serde_json::Map::new());
        for v in &values {
            crate::vars::merge::merge_into(&mut acc, v);
        }
        Some(to_mj(&acc))
    }

    fn take_error(self: &Arc<Self>, e: minijinja::Error, source: &str) -> Error {
        let (undefined, inner_undefined) = {
            let mut st = self.state.lock().unwrap();
            if let Some(inner) = st.error.take() {
                return inner;
            }
            (st.last_undefined.take(), st.undefined_error.take())
        };
        if e.kind() == minijinja::ErrorKind::UndefinedError {
            if let Some(inner) = inner_undefined {
                return inner;
            }
            if let Some(h) = undefined::undef_hint() {
                return Error::new(h);
            }
            // The failing expression first: an earlier, harmless undefined name may have
            // left its mark.
            let failed = e
                .range()
                .and_then(|r| e.template_source().and_then(|src| src.get(r)));
            if let Some(m) = failed.and_then(|t| undefined::chain_failure(self, t, true)) {
                return Error::new(m);
            }
            if undefined.is_none() {
                // A step inside a chain, else a missing last step that was printed.
                let m = undefined::chain_failure(self, source, true)
                    .or_else(|| undefined::chain_failure(self, source, false));
                if let Some(m) = m {
                    return Error::new(m);
                }
            }
        }
        Error::new(describe(&e, undefined.as_deref(), source))
    }

    /// An error met while resolving a variable that the render went on without (a value
    /// used inside a list literal or a filter reads as undefined to minijinja): the render
    /// must still fail with it.
    fn pending(&self) -> Result<()> {
        match self.state.lock().unwrap().error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn clear_marks(&self) {
        undefined::clear_undef_hint();
        let mut st = self.state.lock().unwrap();
        st.last_undefined = None;
    }

    /// Template a raw node: strings with template syntax are rendered, `!unsafe` strings and
    /// everything else are taken as written.
    pub fn template_node(self: &Arc<Self>, node: &Node) -> Result<Value> {
        match &node.kind {
            Kind::Str(s) if super::is_template(s) => {
                self.template_str(s).map_err(|e| e.or_at(&node.span))
            }
            Kind::Vault(text) => match crate::vault::open_value(text) {
                // Vault plaintext is data: never templated, as in Ansible.
                Ok(plain) => Ok(Value::String(plain)),
                Err(m) => Err(Error::at(
                    format!("Attempt to use undecryptable variable: {m}"),
                    &node.span,
                )),
            },
            Kind::Seq(items) if node.has_template() || node.has_vault() => items
                .iter()
                .map(|n| self.template_node(n))
                .collect::<Result<Vec<_>>>()
                .map(Value::Array),
            Kind::Map(m) if node.has_template() || node.has_vault() => {
                let mut out = serde_json::Map::new();
                for (k, v) in m.iter() {
                    let key = if super::is_template(k) {
                        match self.template_str(k)? {
                            Value::String(s) => s,
                            other => super::to_python_str(&other),
                        }
                    } else {
                        k.clone()
                    };
                    out.insert(key, self.template_node(v)?);
                }
                Ok(Value::Object(out))
            }
            _ => Ok(node.to_json()),
        }
    }

    /// [`Context::template_node`] as a template value: non-string mapping keys keep their
    /// type.
    fn template_node_mj(self: &Arc<Self>, node: &Node) -> Result<MjValue> {
        match &node.kind {
            Kind::Seq(items) if node.has_template() || node.has_vault() => items
                .iter()
                .map(|n| self.template_node_mj(n))
                .collect::<Result<Vec<_>>>()
                .map(MjValue::from),
            Kind::Map(m) if node.has_template() || node.has_vault() => {
                let mut out = Vec::with_capacity(m.len());
                // Ansible leaves the keys of a variable's dictionary as written.
                for (k, typed, v) in m.typed_iter() {
                    out.push((key_to_mj(k, typed), self.template_node_mj(v)?));
                }
                Ok(MjValue::from_pairs(out))
            }
            Kind::Str(_) | Kind::Vault(_) => self.template_node(node).map(|v| to_mj(&v)),
            _ => Ok(node_to_mj(node)),
        }
    }

    /// Template a string. A string that is exactly one `{{ expression }}` gives the
    /// expression's native value; anything else renders to a string.
    pub fn template_str(self: &Arc<Self>, s: &str) -> Result<Value> {
        if !super::is_template(s) {
            return Ok(Value::String(s.to_string()));
        }
        self.clear_marks();
        let prepared = literals::prepare(s, Origin::Playbook);
        if let Some(expr) = single_expression(&prepared) {
            let compiled = ENV
                .compile_expression(expr)
                .map_err(|e| Error::new(describe(&e, None, s)))?;
            let first = compiled.eval(self.as_value());
            let v = self
                .chained(expr, first, || {
                    CHAIN_ENV.compile_expression(expr)?.eval(self.as_value())
                })
                .map_err(|e| self.take_error(e, s))?;
            if v.is_undefined() {
                let (inner, name) = {
                    let mut st = self.state.lock().unwrap();
                    let inner = st.error.take().or_else(|| st.undefined_error.take());
                    (inner, st.last_undefined.take())
                };
                if let Some(inner) = inner {
                    return Err(inner);
                }
                if let Some(h) = undefined::undef_hint() {
                    return Err(Error::new(h));
                }
                if let Some(m) = undefined::chain_failure(self, expr, false) {
                    return Err(Error::new(m));
                }
                return Err(Error::new(match name {
                    Some(n) => format!("'{n}' is undefined"),
                    None => format!("The expression '{}' is undefined", expr.trim()),
                }));
            }
            self.pending()?;
            return from_mj(&v).map_err(Error::new);
        }
        let first = ENV.render_str(&prepared, self.as_value());
        let out = self
            .chained(&prepared, first, || {
                CHAIN_ENV.render_str(&prepared, self.as_value())
            })
            .map_err(|e| self.take_error(e, s))?;
        self.pending()?;
        Ok(Value::String(keep_trailing_newlines(s, out)))
    }

    /// Evaluate a bare expression (`when:`, `changed_when:`, `until:`), native result.
    pub fn eval_expr(self: &Arc<Self>, expr: &str) -> Result<MjValue> {
        self.clear_marks();
        let prepared = literals::prepare_expression(expr);
        let compiled = ENV
            .compile_expression(&prepared)
            .map_err(|e| Error::new(describe(&e, None, expr)))?;
        let first = compiled.eval(self.as_value());
        let v = self
            .chained(&prepared, first, || {
                CHAIN_ENV
                    .compile_expression(&prepared)?
                    .eval(self.as_value())
            })
            .map_err(|e| self.take_error(e, expr))?;
        self.pending()?;
        Ok(v)
    }

    /// Ansible's undefined values chain: `undefined_var.attr | default('x')` and
    /// `foo.missing.deeper is defined` work, while using the undefined value fails. A
    /// template that failed on an undefined value and asks for a default or tests
    /// definedness is evaluated again with chaining; if that fails too, or leaves an
    /// undefined result, the first error stands.
    fn chained<T: ChainResult>(
        &self,
        source: &str,
        first: std::result::Result<T, minijinja::Error>,
        again: impl FnOnce() -> std::result::Result<T, minijinja::Error>,
    ) -> std::result::Result<T, minijinja::Error> {
        let e = match first {
            Ok(v) => {
                if !v.is_undefined_result() {
                    self.state.lock().unwrap().undefined_error = None;
                }
                return Ok(v);
            }
            Err(e) => e,
        };
        let retry = e.kind() == minijinja::ErrorKind::UndefinedError
            && ASKS_FOR_UNDEFINED.is_match(source)
            && self.state.lock().unwrap().error.is_none();
        if !retry {
            return Err(e);
        }
        let mark = self.state.lock().unwrap().last_undefined.clone();
        match again() {
            Ok(v) if !v.is_undefined_result() => {
                self.state.lock().unwrap().undefined_error = None;
                Ok(v)
            }
            _ => {
                let mut st = self.state.lock().unwrap();
                st.error = None;
                st.last_undefined = mark;
                Err(e)
            }
        }
    }

    /// Render a template file's text (the `template` module, `lookup('template')`).
    pub fn render_text(self: &Arc<Self>, name: &str, source: &str) -> Result<String> {
        self.clear_marks();
        let prepared = literals::prepare(source, Origin::File);
        let first = ENV.render_named_str(name, &prepared, self.as_value());
        let out = self
            .chained(&prepared, first, || {
                CHAIN_ENV.render_named_str(name, &prepared, self.as_value())
            })
            .map_err(|e| self.take_error(e, source))?;
        self.pending()?;
        Ok(out)
    }
}

impl Context {
    /// Render a template file with the `template` module's options.
    pub fn render_file(
        self: &Arc<Self>,
        name: &str,
        source: &str,
        opts: &super::TemplateOptions,
    ) -> Result<String> {
        self.clear_marks();
        let owned;
        let env = if opts.is_default_syntax() {
            &*super::FILE_ENV
        } else {
            owned = super::file_environment(opts).map_err(|e| Error::new(e.to_string()))?;
            &owned
        };
        // Custom delimiters would need their own scanner; those templates keep minijinja's
        // reading of literals.
        let prepared = if opts.is_default_syntax() {
            literals::prepare(source, Origin::File)
        } else {
            std::borrow::Cow::Borrowed(source)
        };
        let first = env.render_named_str(name, &prepared, self.as_value());
        let out = self
            .chained(&prepared, first, || {
                if opts.is_default_syntax() {
                    super::CHAIN_FILE_ENV.render_named_str(name, &prepared, self.as_value())
                } else {
                    let env = super::chaining(super::file_environment(opts)?);
                    env.render_named_str(name, &prepared, self.as_value())
                }
            })
            .map_err(|e| self.take_error(e, source))?;
        self.pending()?;
        let out = keep_trailing_newlines(source, out);
        Ok(match opts.newline_sequence.as_str() {
            "\\n" | "\n" => out,
            "\\r\\n" | "\r\n" => out.replace('\n', "\r\n"),
            "\\r" | "\r" => out.replace('\n', "\r"),
            other => out.replace('\n', other),
        })
    }
}

impl Object for Context {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }
    fn get_value(self: &Arc<Self>, key: &MjValue) -> Option<MjValue> {
        self.resolve(key.as_str()?)
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let names: Vec<MjValue> = self.vars.names().into_iter().map(MjValue::from).collect();
        Enumerator::Iter(Box::new(names.into_iter()))
    }
}

/// The messages of a lookup that found nothing: Ansible treats a variable whose template
/// failed this way as undefined.
/// Whether a name is one of the template environment's global functions.
fn is_global(name: &str) -> bool {
    static GLOBALS: std::sync::LazyLock<std::collections::HashSet<String>> =
        std::sync::LazyLock::new(|| ENV.globals().map(|(k, _)| k.to_string()).collect());
    GLOBALS.contains(name)
}

fn is_undefined_message(msg: &str) -> bool {
    msg.ends_with(" is undefined")
        || (msg.starts_with("object of type '") && msg.contains("' has no attribute "))
}

/// A default filter or a definedness test: what makes a template worth evaluating again
/// with chained undefined values.
static ASKS_FOR_UNDEFINED: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r"\|\s*(?:ansible\.builtin\.)?(?:default|d)\b|\bis\s+(?:not\s+)?(?:un)?defined\b",
    )
    .expect("valid regex")
});

/// True when a template that failed on an undefined value is worth evaluating again with
/// chained undefined values.
pub(crate) fn asks_for_undefined(source: &str) -> bool {
    ASKS_FOR_UNDEFINED.is_match(source)
}

/// What a chained evaluation gave: an undefined expression result is not an answer.
trait ChainResult {
    fn is_undefined_result(&self) -> bool;
}

impl ChainResult for MjValue {
    fn is_undefined_result(&self) -> bool {
        self.is_undefined()
    }
}

impl ChainResult for String {
    fn is_undefined_result(&self) -> bool {
        false
    }
}

/// The `vars` magic variable: every variable of the context, by name.
#[derive(Debug)]
struct VarsProxy(Arc<Context>);

/// Variables `resolve` makes itself rather than finding in a layer; `vars` shows them too.
const SHOWN_BY_RESOLVE: [&str; 2] = ["vars", "hostvars"];

impl Object for VarsProxy {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }
    fn get_value(self: &Arc<Self>, key: &MjValue) -> Option<MjValue> {
        let name = key.as_str()?;
        if !SHOWN_BY_RESOLVE.contains(&name) && !self.0.vars.in_vars(name) {
            return None;
        }
        self.0.resolve(name)
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut names = self.0.vars.names();
        for special in SHOWN_BY_RESOLVE {
            if self.0.resolve(special).is_some() && !names.iter().any(|n| n == special) {
                names.push(special.to_string());
            }
        }
        let names: Vec<MjValue> = names.into_iter().map(MjValue::from).collect();
        Enumerator::Iter(Box::new(names.into_iter()))
    }
}

/// `hostvars`: every host's variables, each a lazy context of its own.
#[derive(Debug)]
struct HostVarsObj(Arc<dyn HostVarsSource>);

impl Object for HostVarsObj {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }
    fn get_value(self: &Arc<Self>, key: &MjValue) -> Option<MjValue> {
        let vars = self.0.host_vars(key.as_str()?)?;
        Some(Context::new(vars).as_value())
    }
    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let names: Vec<MjValue> = self.0.host_names().into_iter().map(MjValue::from).collect();
        Enumerator::Iter(Box::new(names.into_iter()))
    }
}

/// Ansible gives a rendered template at least as many trailing newlines as its source had
/// (a block tag's `trim_blocks` may have eaten the last one).
fn keep_trailing_newlines(source: &str, mut out: String) -> String {
    let count = |s: &str| s.len() - s.trim_end_matches('\n').len();
    let (want, have) = (count(source), count(&out));
    if want > have {
        out.push_str(&"\n".repeat(want - have));
    }
    out
}

/// The inside of a string that is exactly one `{{ ... }}`.
fn single_expression(s: &str) -> Option<&str> {
    if literals::print_tag_end(s)? != s.len() {
        return None;
    }
    let inner = &s[2..s.len() - 2];
    let inner = inner.strip_prefix('-').unwrap_or(inner);
    let inner = inner.strip_suffix('-').unwrap_or(inner);
    Some(inner)
}

/// minijinja's error in Ansible's words where they differ.
fn describe(e: &minijinja::Error, undefined: Option<&str>, source: &str) -> String {
    use minijinja::ErrorKind::*;
    if let Some(m) = super::filters::mandatory_message(e) {
        return m;
    }
    match e.kind() {
        UndefinedError => match undefined {
            Some(n) => format!("'{n}' is undefined"),
            None => match e.detail() {
                Some(d) => d.to_string(),
                None => format!("undefined value in template: {source}"),
            },
        },
        SyntaxError => format!(
            "Syntax error in template: {}",
            e.detail().unwrap_or("invalid syntax")
        ),
        _ => match e.detail() {
            Some(d) => match python_arithmetic_error(d) {
                Some(m) => format!(
                    "Error rendering {}: {m}",
                    if super::is_template(source) {
                        "template"
                    } else {
                        "expression"
                    }
                ),
                None => d.to_string(),
            },
            None => e.to_string(),
        },
    }
}

/// Python's ZeroDivisionError text for minijinja's "unable to calculate a / 0".
fn python_arithmetic_error(detail: &str) -> Option<String> {
    let calc = detail.strip_prefix("unable to calculate ")?;
    let mut parts = calc.split(' ');
    let (lhs, op, rhs) = (parts.next()?, parts.next()?, parts.next()?);
    if rhs.parse::<f64>().ok()? != 0.0 {
        return None;
    }
    let float = lhs.contains(['.', 'e', 'n', 'i']) || rhs.contains(['.', 'e']);
    Some(
        match (op, float) {
            ("/", false) => "division by zero",
            ("/", true) => "float division by zero",
            ("//", false) => "integer division or modulo by zero",
            ("//", true) => "float floor division by zero",
            ("%", false) => "integer modulo by zero",
            ("%", true) => "float modulo",
            _ => return None,
        }
        .to_string(),
    )
}

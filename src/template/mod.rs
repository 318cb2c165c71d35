//! Jinja templating through minijinja: Ansible's filters, tests and lookups, and the lazy,
//! per-host variable context.

mod context;
mod convert;
mod dates;
pub mod filters;
pub mod literals;
pub mod lookups;
pub mod tests;
mod undefined;

pub use context::Context;
pub use convert::{from_mj, python_repr, to_mj, to_python_str};

use minijinja::Environment;
use std::sync::LazyLock;

/// The one environment every template renders in.
pub static ENV: LazyLock<Environment<'static>> = LazyLock::new(new_environment);

/// [`ENV`] with Ansible's chaining of undefined values: `undefined.attr` is undefined
/// again instead of an error. Used only to evaluate again a template that failed on an
/// undefined value and asks for a default or tests definedness.
pub static CHAIN_ENV: LazyLock<Environment<'static>> =
    LazyLock::new(|| chaining(new_environment()));

/// The environment the `template` module renders files in: Ansible's template defaults
/// (trim_blocks on, trailing newline kept).
pub static FILE_ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    file_environment(&TemplateOptions::default()).expect("default syntax is valid")
});

/// [`FILE_ENV`] with chaining of undefined values (see [`CHAIN_ENV`]).
pub static CHAIN_FILE_ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    chaining(file_environment(&TemplateOptions::default()).expect("default syntax is valid"))
});

/// An environment whose undefined values chain through attribute and item lookups; every
/// other use of an undefined value (printing it included) still fails.
pub fn chaining(mut env: Environment<'static>) -> Environment<'static> {
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    env.set_formatter(|out, state, value| {
        if value.is_undefined() {
            return Err(minijinja::Error::new(
                minijinja::ErrorKind::UndefinedError,
                "undefined value printed",
            ));
        }
        python_formatter(out, state, value)
    });
    env
}

/// The `template` module's rendering options.
#[derive(Clone, Debug)]
pub struct TemplateOptions {
    pub trim_blocks: bool,
    pub lstrip_blocks: bool,
    pub newline_sequence: String,
    pub variable_start_string: Option<String>,
    pub variable_end_string: Option<String>,
    pub block_start_string: Option<String>,
    pub block_end_string: Option<String>,
    pub comment_start_string: Option<String>,
    pub comment_end_string: Option<String>,
}

impl Default for TemplateOptions {
    fn default() -> Self {
        TemplateOptions {
            trim_blocks: true,
            lstrip_blocks: false,
            newline_sequence: "\n".into(),
            variable_start_string: None,
            variable_end_string: None,
            block_start_string: None,
            block_end_string: None,
            comment_start_string: None,
            comment_end_string: None,
        }
    }
}

impl TemplateOptions {
    fn is_default_syntax(&self) -> bool {
        self.trim_blocks
            && !self.lstrip_blocks
            && self.variable_start_string.is_none()
            && self.variable_end_string.is_none()
            && self.block_start_string.is_none()
            && self.block_end_string.is_none()
            && self.comment_start_string.is_none()
            && self.comment_end_string.is_none()
    }
}

/// An environment for template files with the given syntax options.
pub fn file_environment(o: &TemplateOptions) -> Result<Environment<'static>, minijinja::Error> {
    let mut env = new_environment();
    let mut b = minijinja::syntax::SyntaxConfig::builder();
    if let (Some(s), Some(e)) = (&o.variable_start_string, &o.variable_end_string) {
        b.variable_delimiters(s.clone(), e.clone());
    } else if let Some(s) = &o.variable_start_string {
        b.variable_delimiters(s.clone(), "}}");
    } else if let Some(e) = &o.variable_end_string {
        b.variable_delimiters("{{", e.clone());
    }
    if o.block_start_string.is_some() || o.block_end_string.is_some() {
        b.block_delimiters(
            o.block_start_string.clone().unwrap_or_else(|| "{%".into()),
            o.block_end_string.clone().unwrap_or_else(|| "%}".into()),
        );
    }
    if o.comment_start_string.is_some() || o.comment_end_string.is_some() {
        b.comment_delimiters(
            o.comment_start_string
                .clone()
                .unwrap_or_else(|| "{#".into()),
            o.comment_end_string.clone().unwrap_or_else(|| "#}".into()),
        );
    }
    b.trim_blocks(o.trim_blocks)
        .lstrip_blocks(o.lstrip_blocks)
        .keep_trailing_newline(true);
    env.set_syntax(b.build()?);
    Ok(env)
}

/// Python methods on values (`'a,b'.split(',')`, `d.items()`, `l.index(x)`): minijinja-contrib's
/// set, plus the list and string methods roles use that it lacks.
fn python_method(
    state: &mut minijinja::State,
    value: &minijinja::Value,
    method: &str,
    args: &[minijinja::Value],
) -> Result<minijinja::Value, minijinja::Error> {
    use minijinja::value::{Value, ValueKind};
    use minijinja::{Error, ErrorKind};
    let seq = || -> Result<Vec<Value>, Error> { Ok(value.try_iter()?.collect()) };
    match (value.kind(), method, args) {
        (ValueKind::Seq, "index", [x, ..]) => match seq()?.iter().position(|v| v == x) {
            Some(i) => Ok(Value::from(i)),
            None => Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("{x} is not in list"),
            )),
        },
        (ValueKind::Seq, "count", [x]) => {
            Ok(Value::from(seq()?.iter().filter(|v| *v == x).count()))
        }
        (ValueKind::String, "index", [x, ..]) => {
            let (s, needle) = (
                value.as_str().unwrap_or_default(),
                x.as_str().unwrap_or_default(),
            );
            match s.find(needle) {
                Some(i) => Ok(Value::from(s[..i].chars().count())),
                None => Err(Error::new(
                    ErrorKind::InvalidOperation,
                    "substring not found",
                )),
            }
        }
        (ValueKind::String, "zfill", [w]) => {
            let s = value.as_str().unwrap_or_default();
            let width = w.as_usize().unwrap_or(0);
            let n = s.chars().count();
            if n >= width {
                return Ok(Value::from(s));
            }
            let (sign, rest) = match s.chars().next() {
                Some(c @ ('-' | '+')) => (c.to_string(), &s[1..]),
                _ => (String::new(), s),
            };
            Ok(Value::from(format!(
                "{sign}{}{rest}",
                "0".repeat(width - n)
            )))
        }
        _ => minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args),
    }
}

/// Evaluate `expr` as the inside of a playbook's `{{ expr }}` against a plain context:
/// literals read as Ansible reads them there, undefined values chained where a default or
/// a definedness test asks for it. (Variables templated on demand need a [`Context`].)
pub fn eval_playbook_expression(
    expr: &str,
    ctx: minijinja::Value,
) -> Result<minijinja::Value, minijinja::Error> {
    let wrapped = format!("{{{{ {expr} }}}}");
    let prepared = literals::prepare(&wrapped, literals::Origin::Playbook);
    let inner = prepared
        .strip_prefix("{{")
        .and_then(|s| s.strip_suffix("}}"))
        .unwrap_or(expr);
    let first = ENV
        .compile_expression(inner)
        .and_then(|e| e.eval(ctx.clone()));
    match first {
        Err(e)
            if e.kind() == minijinja::ErrorKind::UndefinedError
                && context::asks_for_undefined(inner) =>
        {
            match CHAIN_ENV
                .compile_expression(inner)
                .and_then(|c| c.eval(ctx))
            {
                Ok(v) if !v.is_undefined() => Ok(v),
                _ => Err(e),
            }
        }
        other => other,
    }
}

/// True when a string holds template syntax and must be rendered.
pub fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// Python's str() of lists, dicts, None and booleans, as Jinja in Ansible prints them.
fn python_formatter(
    out: &mut minijinja::Output,
    state: &mut minijinja::State,
    value: &minijinja::Value,
) -> Result<(), minijinja::Error> {
    use minijinja::value::ValueKind;
    match value.kind() {
        ValueKind::None | ValueKind::Bool | ValueKind::Seq | ValueKind::Map => out
            .write_str(&filters::pyfmt::to_str(value))
            .map_err(|_| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "write failed")),
        _ => minijinja::escape_formatter(out, state, value),
    }
}

/// The environment every template is rendered in: Jinja defaults as Ansible sets them
/// (no autoescape, keep_trailing_newline off, undefined is an error when used),
/// Python string/list/dict methods, and Ansible's filters, tests and lookups.
pub fn new_environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    // Ansible keeps a template string's trailing newline (a YAML `|` block ends with one).
    if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
        .keep_trailing_newline(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    env.set_unknown_method_callback(python_method);
    env.set_formatter(python_formatter);
    filters::register(&mut env);
    dates::register(&mut env);
    tests::register(&mut env);
    lookups::register(&mut env);
    env
}

//! Jinja templating through minijinja: Ansible's filters, tests and lookups, and the lazy,
//! per-host variable context.

pub mod filters;
pub mod lookups;
pub mod tests;

use minijinja::Environment;

/// True when a string holds template syntax and must be rendered.
pub fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// The environment every template is rendered in: Jinja defaults as Ansible sets them
/// (no autoescape, keep_trailing_newline off, undefined is an error when used),
/// Python string/list/dict methods, and Ansible's filters, tests and lookups.
pub fn new_environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    filters::register(&mut env);
    tests::register(&mut env);
    lookups::register(&mut env);
    env
}

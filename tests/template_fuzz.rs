//! A bounded-time mutation fuzzer for the template layer: rendering a template or
//! evaluating an expression with Ansible's filters, tests and lookups must never panic
//! (errors are fine).
//!
//! Starts from Ansible-style templates and expressions, applies random character, token
//! and splice mutations, and runs each inside `catch_unwind`. How long and from which seed:
//! `fuzz_budget` (a random 15 s locally, a fixed replay under CI).
//! A panic fails the test with the input and the seed.
//!
//! Lookups that touch the machine (pipe, lines, password, file writes) are kept out of
//! the corpus and are unreachable by mutation of names alone only in the sense that the
//! token list does not offer them.

use minijinja::value::{Serde, Value};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::panic::{catch_unwind, AssertUnwindSafe};

mod fuzz_budget;

const EXPRS: &[&str] = &[
    "xs | sort(reverse=true) | join(',')",
    "d | dict2items | items2dict",
    "users | map(attribute='name') | list | unique",
    "users | selectattr('age', 'gt', 26) | map(attribute='name') | first",
    "s | regex_replace('o', '0') | upper",
    "s | regex_search('(W)(o)', '\\\\1', '\\\\2')",
    "s | regex_findall('[a-z]+')",
    "nested | combine({'a': {'l': [2]}}, recursive=true, list_merge='append_rp')",
    "[1, [2, [3]]] | flatten(levels=1)",
    "xs | zip_longest(['a'], fillvalue=0) | list",
    "xs | product(xs) | list | length",
    "d | to_nice_yaml(indent=2)",
    "users | to_yaml",
    "users | to_nice_json",
    "d | to_json(sort_keys=true)",
    "'{\"a\": 1}' | from_json",
    "s | b64encode | b64decode",
    "s | hash('sha256')",
    "'pw' | password_hash('sha256', 'salt', rounds=1000)",
    "ver is version('1.2.9', '>', version_type='semver')",
    "ver is version('1.0a1', '<', version_type='pep440')",
    "ver is version('1.2', 'ge', strict=true)",
    "url | urlsplit('hostname')",
    "path | splitext | first | basename",
    "['/a', 'b'] | path_join | relpath('/')",
    "59 | random(seed='h1')",
    "xs | shuffle(seed=3)",
    "'x' | to_uuid",
    "s | comment('cblock')",
    "n | ternary(1, 2, 3)",
    "'3.5' | float | round(1, 'ceil') | int",
    "s | split(' ', 1) | last | length",
    "lookup('items', xs)",
    "query('sequence', 'start=1 end=5 stride=2 format=h%02d')",
    "lookup('sequence', '1-3')",
    "lookup('together', xs, ['a'])",
    "lookup('nested', xs, ['a'])",
    "lookup('subelements', users, 'groups')",
    "lookup('dict', d, wantlist=True)",
    "lookup('vars', 's', default=1)",
    "lookup('env', 'HOME')",
    "lookup('first_found', ['nope'], errors='ignore')",
    "res is succeeded and res is not changed",
    "xs is subset([1, 2, 3, 4]) and s is match('H')",
    "undefined_x | default(s) | mandatory",
    "dict(xs | zip(xs))",
    "users | groupby('age') | list",
    "d | dictsort(by='value', reverse=true)",
];

const TEMPLATES: &[&str] = &[
    "{{ s | lower }} and {{ xs | sum }}",
    "{% for u in users | sort(attribute='age') %}{{ u.name }}={{ u.groups | join(',') }};{% endfor %}",
    "{% if ver is version('1.0', '>') %}new{% else %}old{% endif %}",
    "{{ d | to_nice_yaml }}{# comment #}",
    "{% set x = xs | map('string') | list %}{{ x | to_json }}",
    "{{ lookup('items', xs) }} {{ q('sequence', 'count=2') }}",
    "{{ '%s-%d' | format(s, 3) }}",
];

const TOKENS: &[&str] = &[
    "|",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "'",
    "\"",
    ",",
    ".",
    "=",
    " ",
    "\\",
    "%",
    "~",
    "-",
    "+",
    "*",
    "/",
    "{{",
    "}}",
    "{%",
    "%}",
    "none",
    "true",
    "0",
    "-1",
    "99999999999999999999",
    "1e308",
    "''",
    "[]",
    "{}",
    "xs",
    "d",
    "s",
    "n",
    "users",
    "undefined_x",
    "| default",
    "| int",
    "| float",
    "| string",
    "| bool",
    "| list",
    "| first",
    "| last",
    "| sort",
    "| unique",
    "| flatten",
    "| to_yaml",
    "| to_json",
    "| from_json",
    "| regex_replace('(', ')')",
    "| regex_search('[')",
    "| combine",
    "| password_hash",
    "| random",
    "| shuffle",
    "| round(-3)",
    "| pow(9999)",
    "| log(0)",
    "| root(0)",
    "| urlsplit",
    "| comment('bogus')",
    "| version_compare",
    " is version('x', 'ne')",
    " is version('1', 'lt', version_type='semver')",
    " is changed",
    " is subset(s)",
    "| zip(n)",
    "| product(xs, repeat=3)",
    "| items2dict",
    "| dict2items",
    "| to_uuid(namespace='zz')",
    "lookup('sequence', 'end=-5')",
    "lookup('sequence', 'count=3 end=2')",
    "lookup('nope')",
    "lookup('vars')",
    "lookup('items')",
    "q('list')",
    "é",
    "\u{0}",
    "\n",
];

fn vars() -> Value {
    Value::from(Serde(serde_json::json!({
        "xs": [3, 1, 2],
        "d": {"b": 2, "a": 1},
        "nested": {"a": {"x": 1, "l": [1]}, "k": "v"},
        "s": "Hello World",
        "n": null,
        "ver": "1.2.10",
        "path": "/etc/app/site.conf",
        "url": "https://u:p@Example.com:8443/p?q=1#f",
        "res": {"changed": false, "failed": false},
        "users": [
            {"name": "bob", "age": 30, "groups": ["a", "b"]},
            {"name": "alice", "age": 25, "groups": ["c"]}
        ]
    })))
}

fn mutate(rng: &mut StdRng, input: &str) -> String {
    let mut chars: Vec<char> = input.chars().collect();
    for _ in 0..rng.random_range(1..4) {
        let pos = if chars.is_empty() {
            0
        } else {
            rng.random_range(0..=chars.len())
        };
        match rng.random_range(0..5) {
            0 if !chars.is_empty() => {
                let end = (pos + rng.random_range(1..6)).min(chars.len());
                chars.drain(pos.min(chars.len())..end);
            }
            1 => {
                let t = TOKENS[rng.random_range(0..TOKENS.len())];
                chars.splice(pos..pos, t.chars());
            }
            2 if !chars.is_empty() => {
                let i = rng.random_range(0..chars.len());
                chars[i] = TOKENS[rng.random_range(0..TOKENS.len())]
                    .chars()
                    .next()
                    .unwrap_or(' ');
            }
            3 => {
                let other = EXPRS[rng.random_range(0..EXPRS.len())];
                let o: Vec<char> = other.chars().collect();
                let start = rng.random_range(0..o.len());
                let end = rng.random_range(start..=o.len());
                chars.splice(pos..pos, o[start..end].iter().copied());
            }
            _ => {
                let t = TOKENS[rng.random_range(0..TOKENS.len())];
                chars.extend(t.chars());
            }
        }
    }
    chars.into_iter().collect()
}

/// True when the input holds a run of five or more digits, or `**` (a power).
fn has_long_number(s: &str) -> bool {
    s.contains("**")
        || s.as_bytes()
            .windows(5)
            .any(|w| w.iter().all(u8::is_ascii_digit))
}

#[test]
fn templates_never_panic() {
    let mut budget = fuzz_budget::Budget::from_env("template fuzz", 7942917018436849598, 15_000);
    let seed = budget.seed;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut env = play::template::new_environment();
    let ctx = vars();
    // The fuzzer looks for panics, not for templates that are merely expensive: bound the
    // work one input may do (mutations easily write nested loops over huge ranges).
    env.set_fuel(Some(200_000));
    // The corpus itself must evaluate (errors allowed only for mutated inputs).
    for e in EXPRS {
        let r = env.compile_expression(e).and_then(|x| x.eval(ctx.clone()));
        assert!(r.is_ok(), "corpus expression fails: {e}: {:?}", r.err());
    }
    let mut runs = 0u64;
    while budget.more() {
        let as_template = rng.random_bool(0.3);
        let base = if as_template {
            TEMPLATES[rng.random_range(0..TEMPLATES.len())]
        } else {
            EXPRS[rng.random_range(0..EXPRS.len())]
        };
        let mut input = base.to_string();
        for _ in 0..rng.random_range(1..4) {
            input = mutate(&mut rng, &input);
        }
        // Huge numbers (repeat counts, hash rounds, string repetition) make inputs that
        // only cost time or memory; they are out of this fuzzer's scope.
        if has_long_number(&input) {
            continue;
        }
        let r = catch_unwind(AssertUnwindSafe(|| {
            if as_template {
                let _ = env.render_str(&input, ctx.clone());
            } else if let Ok(e) = env.compile_expression(&input) {
                let _ = e.eval(ctx.clone());
            }
        }));
        if r.is_err() {
            panic!("template layer panicked (seed {seed}, run {runs}) on input:\n{input:?}");
        }
        runs += 1;
    }
    println!("{runs} inputs, no panic");
}

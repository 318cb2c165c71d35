//! A bounded-time mutation fuzzer for the YAML loader: `load_str` must never panic.
//!
//! Starts from playbook-like YAML, applies random byte and token mutations, and loads each
//! result inside `catch_unwind`. How long and from which seed: `fuzz_budget` (a random
//! 15 s locally, a fixed replay under CI).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::panic::{catch_unwind, AssertUnwindSafe};

mod fuzz_budget;

const CORPUS: &[&str] = &[
    "- hosts: all\n  gather_facts: no\n  vars:\n    mode: 0644\n    enabled: yes\n  tasks:\n    - name: copy a file\n      copy:\n        src: a.txt\n        dest: /tmp/a.txt\n        mode: \"{{ mode }}\"\n      when: enabled\n",
    "defaults: &defaults\n  user: root\n  port: 22\nweb:\n  <<: *defaults\n  port: 8080\ndb:\n  <<: [*defaults, {user: pg}]\n",
    "---\n- name: block\n  block:\n    - shell: |\n        echo hi\n        exit 0\n      register: out\n  rescue:\n    - debug: msg={{ out.stdout }}\n  always:\n    - debug:\n        msg: >-\n          folded\n          text\n...\n--- 3\n",
    "secret: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  62313365396662343061393464336163383764373764613633653634306231386433626436623361\nraw: !unsafe '{{ not templated }}'\nlist: !unsafe [a, '{{ b }}', {c: d}]\n",
    "x: [1, 2.5, .inf, -.Inf, .nan, 0x1F, 0b101, 0o7, 017, 190:20:30, 1_000, 1e3, 1.0e+3, ~, null, true, Off, y]\ny: {a: 1, ? b : 2, \"c\": 'd', 1: one, null: none}\n",
    "all:\n  hosts:\n    web1: {ansible_host: 10.0.0.1}\n    web2:\n  children:\n    db:\n      hosts:\n        db1:\n      vars:\n        ansible_user: \"admin\"  # comment\n",
    "- include_tasks: \"{{ item }}.yml\"\n  loop:\n    - one\n    - two\n  loop_control:\n    loop_var: item\n- import_role: name=common\n- set_fact:\n    a: !!str 12\n    b: !!int \"42\"\n    c: !!float '1'\n    d: !!binary aGVsbG8=\n    e: !!set {x, y}\n    f: !!omap [{a: 1}]\n",
    "%YAML 1.1\n%TAG !e! tag:example.com,2000:\n--- &root\nkey: value\nanchored: &a [x, y]\nagain: *a\n\"quoted \\u00e9 \\t key\": 'single ''quoted'''\n",
];

const CHARS: &[&str] = &[
    ":", "-", " ", "\n", "\t", "\"", "'", "{", "}", "[", "]", "&", "*", "!", "|", ">", "#", "<",
    "%", "?", ",", "\\", "é", "\0", "\r", "@", "`", "=", "~", ".",
];

const TOKENS: &[&str] = &[
    "<<: *a\n",
    "&a ",
    "*a",
    "*zz",
    "!unsafe ",
    "!vault ",
    "!vault-encrypted ",
    "!!str ",
    "!!int ",
    "!!float ",
    "!!bool ",
    "!!null ",
    "!!binary ",
    "!!set ",
    "!!omap ",
    "!!pairs ",
    "!!map ",
    "!!seq ",
    "!!merge ",
    "!foo ",
    "! ",
    "!<tag:yaml.org,2002:str> ",
    "---\n",
    "...\n",
    "%YAML 1.1\n",
    "%TAG ! x\n",
    "? ",
    ": ",
    "- ",
    "{{ x }}",
    "|-\n",
    ">+2\n",
    "|9\n",
    "\r\n",
    "\u{feff}",
    "0x_",
    "0b_",
    "1:2:3.5",
    ".inf",
    "=",
    "<<",
    "[[[[",
    "]]]]",
    "{{{{",
    "}}}}",
    "'''",
    "\"\\x",
    "\"\\u12",
    "\\N",
    "#",
    "    ",
    "\n\n\n",
];

fn mutate(rng: &mut StdRng, seed_text: &str) -> Vec<u8> {
    let mut b = seed_text.as_bytes().to_vec();
    let rounds = rng.random_range(1..=6);
    for _ in 0..rounds {
        let len = b.len();
        let pos = if len == 0 {
            0
        } else {
            rng.random_range(0..=len)
        };
        match rng.random_range(0..8) {
            0 if len > 0 => {
                let p = pos.min(len - 1);
                b[p] = rng.random();
            }
            1 if len > 0 => {
                let p = pos.min(len - 1);
                let c = CHARS[rng.random_range(0..CHARS.len())].as_bytes();
                b.splice(p..p + 1, c.iter().copied());
            }
            2 => {
                let t = TOKENS[rng.random_range(0..TOKENS.len())].as_bytes();
                b.splice(pos..pos, t.iter().copied());
            }
            3 if len > 0 => {
                let end = (pos + rng.random_range(1..32)).min(len);
                b.drain(pos.min(end)..end);
            }
            4 if len > 0 => {
                // Duplicate a slice, sometimes many times (deep or wide structures).
                let end = (pos + rng.random_range(1..64)).min(len);
                let piece = b[pos.min(end)..end].to_vec();
                let times = if rng.random_range(0..10) == 0 {
                    rng.random_range(2..200)
                } else {
                    1
                };
                for _ in 0..times {
                    b.splice(end..end, piece.iter().copied());
                }
            }
            5 => {
                // Splice in part of another corpus entry.
                let other = CORPUS[rng.random_range(0..CORPUS.len())].as_bytes();
                let s = rng.random_range(0..other.len());
                let e = (s + rng.random_range(1..80)).min(other.len());
                b.splice(pos..pos, other[s..e].iter().copied());
            }
            6 => {
                // Change indentation of a line.
                let line_start = b[..pos]
                    .iter()
                    .rposition(|&c| c == b'\n')
                    .map_or(0, |i| i + 1);
                if rng.random() {
                    b.splice(
                        line_start..line_start,
                        std::iter::repeat_n(b' ', rng.random_range(1..5)),
                    );
                } else {
                    let n = b[line_start..]
                        .iter()
                        .take_while(|&&c| c == b' ')
                        .count()
                        .min(rng.random_range(1..5));
                    b.drain(line_start..line_start + n);
                }
            }
            _ => {
                let t = TOKENS[rng.random_range(0..TOKENS.len())].as_bytes();
                let at = b[..pos]
                    .iter()
                    .rposition(|&c| c == b'\n')
                    .map_or(0, |i| i + 1);
                b.splice(at..at, t.iter().copied());
            }
        }
    }
    b
}

#[test]
fn yaml_loader_never_panics_on_mutated_playbooks() {
    let mut budget = fuzz_budget::Budget::from_env("yaml fuzz", 1, 300_000);
    let seed = budget.seed;
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut runs, mut ok, mut errors) = (0u64, 0u64, 0u64);

    // The unmutated corpus must load (the mutations start from valid YAML).
    for text in CORPUS {
        if let Err(e) = play::yaml::load_str(text, "corpus.yml") {
            panic!(
                "corpus entry does not load: {} at {}\n{text}",
                e.message, e.span
            );
        }
    }

    while budget.more() {
        let base = CORPUS[rng.random_range(0..CORPUS.len())];
        let bytes = mutate(&mut rng, base);
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let result = catch_unwind(AssertUnwindSafe(|| play::yaml::load_str(&text, "fuzz.yml")));
        runs += 1;
        match result {
            Ok(Ok(_)) => ok += 1,
            Ok(Err(e)) => {
                errors += 1;
                assert!(
                    !e.message.is_empty(),
                    "empty error message for input {text:?}"
                );
                assert!(
                    e.span.line >= 1,
                    "error without a line ({}) for input {text:?}",
                    e.message
                );
            }
            Err(_) => panic!("load_str panicked (seed {seed}, run {runs}) on input:\n{text:?}"),
        }
    }
    let _ = play::diag::drain();
    println!("yaml fuzz: {runs} inputs, {ok} loaded, {errors} rejected");
    assert!(runs > 0);
}

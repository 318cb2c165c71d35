//! `key=value` argument strings (`copy: src=a dest="b c"`), split the way Ansible splits them:
//! quotes group, backslash escapes, and text that is not `k=v` stays free-form.

use indexmap::IndexMap;

/// Split a string into words on whitespace, keeping quoted sections (and `{{ }}`/`{% %}`
/// blocks) together, as Ansible's split_args does.
pub fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut depth_jinja = 0i32;
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut has = false;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if quote.is_none() && depth_jinja == 0 && c.is_whitespace() {
            if has {
                out.push(std::mem::take(&mut cur));
                has = false;
            }
            // Ansible keeps newlines inside free-form text; plain spaces separate words.
            i += 1;
            continue;
        }
        has = true;
        if c == '\\' && quote.is_some() {
            if let Some(n) = next {
                cur.push(c);
                cur.push(n);
                i += 2;
                continue;
            }
        }
        if (c == '{' && (next == Some('{') || next == Some('%'))) && quote.is_none() {
            depth_jinja += 1;
            cur.push(c);
            cur.push(next.unwrap());
            i += 2;
            continue;
        }
        if ((c == '}' && next == Some('}')) || (c == '%' && next == Some('}')))
            && depth_jinja > 0
            && quote.is_none()
        {
            depth_jinja -= 1;
            cur.push(c);
            cur.push('}');
            i += 2;
            continue;
        }
        match quote {
            Some(q) if c == q => quote = None,
            None if (c == '"' || c == '\'') && depth_jinja == 0 => quote = Some(c),
            _ => {}
        }
        cur.push(c);
        i += 1;
    }
    if has {
        out.push(cur);
    }
    out
}

/// Split the way Ansible's split_args does for `k=v` strings: words separated by single
/// spaces, quoted and `{{ }}`/`{% %}`/`{# #}` sections kept whole, and the original
/// spacing and newlines carried on the words (extra spaces and a line's newline stay on the
/// word before them), so that [`join_params`] gives back the original text.
fn split_params(args: &str) -> Vec<String> {
    let mut params: Vec<String> = Vec::new();
    let mut quote: Option<char> = None;
    let (mut print, mut block, mut comment) = (0i64, 0i64, 0i64);
    let lines: Vec<&str> = args.split('\n').collect();
    for (li, line) in lines.iter().enumerate() {
        let mut continued = false;
        for (ti, token) in line.split(' ').enumerate() {
            if token.is_empty() && ti != 0 {
                if params.is_empty() {
                    params.push(String::new());
                }
                params.last_mut().unwrap().push(' ');
                continue;
            }
            if token == "\\" && quote.is_none() {
                continued = true;
                continue;
            }
            let was_quoted = quote.is_some();
            quote = quote_state(token, quote);
            let quoted = quote.is_some();
            let in_jinja = print != 0 || block != 0 || comment != 0;
            let mut appended = false;
            if quoted && !was_quoted && !in_jinja {
                params.push(token.to_string());
                appended = true;
            } else if in_jinja || quoted || was_quoted {
                let last = match params.last_mut() {
                    Some(l) => l,
                    None => {
                        params.push(String::new());
                        params.last_mut().unwrap()
                    }
                };
                if ti > 0 && !(ti == 0 && was_quoted) {
                    last.push(' ');
                }
                last.push_str(token);
                appended = true;
            }
            for (depth, open, close) in [
                (&mut print, "{{", "}}"),
                (&mut block, "{%", "%}"),
                (&mut comment, "{#", "#}"),
            ] {
                let before = *depth;
                let (o, c) = (token.matches(open).count(), token.matches(close).count());
                if o != c {
                    *depth = (*depth + o as i64 - c as i64).max(0);
                }
                if *depth != before && !appended {
                    params.push(token.to_string());
                    appended = true;
                }
            }
            if print == 0 && block == 0 && comment == 0 && !quoted && !appended && !token.is_empty()
            {
                params.push(token.to_string());
            }
        }
        if lines.len() > 1 && li != lines.len() - 1 && !continued {
            if params.is_empty() {
                params.push(String::new());
            }
            params.last_mut().unwrap().push('\n');
        }
    }
    params
}

/// The quote open after `token`, given the one open before it (a backslash escapes a quote).
fn quote_state(token: &str, mut quote: Option<char>) -> Option<char> {
    let mut prev = None;
    for c in token.chars() {
        if (c == '"' || c == '\'') && prev != Some('\\') {
            match quote {
                Some(q) if q == c => quote = None,
                Some(_) => {}
                None => quote = Some(c),
            }
        }
        prev = Some(c);
    }
    quote
}

/// Words back into text: a space between words, none after a word ending in a newline.
fn join_params(words: &[String]) -> String {
    let mut out = String::new();
    for w in words {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// A `k=v` value: quotes removed, then Python's string escapes decoded (`\n`, `\t`,
/// `\xNN`, `\uNNNN`, ...), as Ansible decodes them.
fn unquote(s: &str) -> String {
    let b = s.as_bytes();
    let inner = if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        &s[1..s.len() - 1]
    } else {
        s
    };
    decode_escapes(inner)
}

fn decode_escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(&n) = it.peek() else {
            out.push(c);
            break;
        };
        let simple = match n {
            'n' => Some('\n'),
            't' => Some('\t'),
            'r' => Some('\r'),
            '\\' => Some('\\'),
            '\'' => Some('\''),
            '"' => Some('"'),
            'a' => Some('\x07'),
            'b' => Some('\x08'),
            'f' => Some('\x0c'),
            'v' => Some('\x0b'),
            '0' => Some('\0'),
            _ => None,
        };
        if let Some(ch) = simple {
            it.next();
            out.push(ch);
            continue;
        }
        let width = match n {
            'x' => 2,
            'u' => 4,
            'U' => 8,
            _ => 0,
        };
        if width > 0 {
            let rest: String = it.clone().skip(1).take(width).collect();
            if rest.len() == width {
                if let Some(ch) = u32::from_str_radix(&rest, 16).ok().and_then(char::from_u32) {
                    for _ in 0..=width {
                        it.next();
                    }
                    out.push(ch);
                    continue;
                }
            }
        }
        // Unknown escapes stay as written, as in Python.
        out.push(c);
    }
    out
}

/// Parse `k=v` pairs. With `free_form`, words that are not `k=v` (and `k=v` pairs whose key
/// is not one of `free_form_keys`) are joined into `_raw_params`.
pub fn parse_kv(s: &str, free_form: bool, free_form_keys: &[&str]) -> IndexMap<String, String> {
    let mut out = IndexMap::new();
    let mut raw: Vec<String> = Vec::new();
    for param in split_params(s) {
        let word = param.trim();
        let eq = find_unquoted_eq(word);
        match eq {
            Some(pos) if !free_form || free_form_keys.contains(&&word[..pos]) => {
                let k = word[..pos].trim().to_string();
                let v = unquote(word[pos + 1..].trim());
                out.insert(k, v);
            }
            // A word whose only `=` are escaped is free text with the escapes removed.
            None if word.contains("\\=") => raw.push(param.replace("\\=", "=")),
            _ => raw.push(param),
        }
    }
    if !raw.is_empty() {
        out.insert("_raw_params".to_string(), join_params(&raw));
    }
    out
}

/// Where a word splits into key and value, as Ansible's parse_kv finds it: the first `=`
/// after the first character that no backslash escapes. The key may be anything, a
/// template included (`set_fact: "{{ name }}=value"`).
fn find_unquoted_eq(word: &str) -> Option<usize> {
    let bytes = word.as_bytes();
    (1..bytes.len()).find(|&i| bytes[i] == b'=' && bytes[i - 1] != b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_and_quotes() {
        let m = parse_kv(r#"src=a dest="b c" mode=0644"#, false, &[]);
        assert_eq!(m["src"], "a");
        assert_eq!(m["dest"], "b c");
        assert_eq!(m["mode"], "0644");
    }

    #[test]
    fn free_form_keeps_text() {
        let m = parse_kv("echo hello=1 chdir=/tmp", true, &["chdir", "creates"]);
        assert_eq!(m["_raw_params"], "echo hello=1");
        assert_eq!(m["chdir"], "/tmp");
    }

    #[test]
    fn escapes_are_decoded() {
        let m = parse_kv(r#"content="a\nb\tc" other=x\ny path=C:\q"#, false, &[]);
        assert_eq!(m["content"], "a\nb\tc");
        assert_eq!(m["other"], "x\ny");
        assert_eq!(m["path"], "C:\\q");
    }

    #[test]
    fn free_form_text_keeps_its_spacing_and_newlines() {
        for text in [
            "set -e\nx=5\necho $((x * 2))\n",
            "echo  a   b\n  echo 'c   d'\n\necho e",
            "echo \"{{ a  }}\"  x",
        ] {
            assert_eq!(parse_kv(text, true, &["chdir"])["_raw_params"], text);
        }
        let m = parse_kv("echo  hi  chdir=/tmp", true, &["chdir"]);
        assert_eq!(m["_raw_params"], "echo  hi ");
        assert_eq!(m["chdir"], "/tmp");
    }

    #[test]
    fn jinja_stays_whole() {
        let m = parse_kv(
            r#"msg="{{ a }} b" var={{ x | default('y z') }}"#,
            false,
            &[],
        );
        assert_eq!(m["msg"], "{{ a }} b");
        assert_eq!(m["var"], "{{ x | default('y z') }}");
    }

    #[test]
    fn keys_split_at_the_first_unescaped_equals() {
        let m = parse_kv("{{ item[1] + item[0]|string }}=set", false, &[]);
        assert_eq!(m["{{ item[1] + item[0]|string }}"], "set");
        let m = parse_kv(r"a\=b", false, &[]);
        assert_eq!(m["_raw_params"], "a=b");
        let m = parse_kv("=x", false, &[]);
        assert_eq!(m["_raw_params"], "=x");
    }
}

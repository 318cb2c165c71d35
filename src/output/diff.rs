//! The `--diff` text: Ansible builds it with Python's `difflib.unified_diff`, whose matching
//! (`SequenceMatcher`, with its "popular line" heuristic) differs from Myers diffs in which
//! lines it pairs up. To print the same hunks byte for byte, that algorithm is followed here.

use super::display::{stringc, Color};
use super::pyjson;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Lines of context around changes (`DIFF_CONTEXT`, default 3).
pub const DIFF_CONTEXT: usize = 3;

/// The text the default callback prints for a result's `diff` (a mapping or a list of them):
/// binary/size notes, a unified diff of `before`/`after`, and any `prepared` text.
pub fn get_diff(diff: &Value, color: bool) -> String {
    let list: Vec<&Value> = match diff {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut ret = String::new();
    for d in list {
        let Some(d) = d.as_object() else { continue };
        if d.contains_key("dst_binary") {
            ret.push_str("diff skipped: destination file appears to be binary\n");
        }
        if d.contains_key("src_binary") {
            ret.push_str("diff skipped: source file appears to be binary\n");
        }
        if let Some(n) = d.get("dst_larger") {
            ret.push_str(&format!(
                "diff skipped: destination file size is greater than {}\n",
                int_text(n)
            ));
        }
        if let Some(n) = d.get("src_larger") {
            ret.push_str(&format!(
                "diff skipped: source file size is greater than {}\n",
                int_text(n)
            ));
        }
        if let (Some(before), Some(after)) = (d.get("before"), d.get("after")) {
            let before = side_text(before);
            let after = side_text(after);
            let before_header = header(d, "before");
            let after_header = header(d, "after");
            let a = lines_for_diff(&before);
            let b = lines_for_diff(&after);
            let lines = unified_diff(&a, &b, &before_header, &after_header, DIFF_CONTEXT);
            let has_diff = !lines.is_empty();
            for line in lines {
                let c = if line.starts_with('+') {
                    Some(Color::DiffAdd)
                } else if line.starts_with('-') {
                    Some(Color::DiffRemove)
                } else if line.starts_with("@@") {
                    Some(Color::DiffLines)
                } else {
                    None
                };
                match c {
                    Some(c) => ret.push_str(&stringc(&line, c, color)),
                    None => ret.push_str(&line),
                }
            }
            if has_diff {
                ret.push('\n');
            }
        }
        if let Some(p) = d.get("prepared") {
            ret.push_str(&pyjson::py_str(p));
        }
    }
    ret
}

fn int_text(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        other => pyjson::py_str(other),
    }
}

fn header(d: &Map<String, Value>, side: &str) -> String {
    match d.get(&format!("{side}_header")) {
        Some(h) => format!("{side}: {}", pyjson::py_str(h)),
        None => side.to_string(),
    }
}

/// A mapping is shown as sorted, indented JSON plus a newline; null as empty text.
fn side_text(v: &Value) -> String {
    match v {
        Value::Object(_) => pyjson::ascii_escape(&pyjson::dumps(v, Some(4), true)) + "\n",
        Value::Null => String::new(),
        other => pyjson::py_str(other),
    }
}

/// Python's `str.splitlines(True)`, then the marker Ansible appends to a last line that
/// has no newline.
fn lines_for_diff(text: &str) -> Vec<String> {
    let mut lines = splitlines_keepends(text);
    if let Some(last) = lines.last_mut() {
        if !last.ends_with('\n') {
            last.push_str("\n\\ No newline at end of file\n");
        }
    }
    lines
}

/// `str.splitlines(keepends=True)` with Python's set of line boundaries.
pub fn splitlines_keepends(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        cur.push(c);
        let boundary = match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    cur.push('\n');
                    chars.next();
                }
                true
            }
            '\n' | '\u{b}' | '\u{c}' | '\u{1c}' | '\u{1d}' | '\u{1e}' | '\u{85}' | '\u{2028}'
            | '\u{2029}' => true,
            _ => false,
        };
        if boundary {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `difflib.unified_diff(a, b, fromfile, tofile, '', '', n)` with `lineterm='\n'`.
pub fn unified_diff(
    a: &[String],
    b: &[String],
    fromfile: &str,
    tofile: &str,
    n: usize,
) -> Vec<String> {
    let mut out = Vec::new();
    let matcher = SequenceMatcher::new(a, b);
    for group in matcher.grouped_opcodes(n) {
        if out.is_empty() {
            out.push(format!("--- {fromfile}\n"));
            out.push(format!("+++ {tofile}\n"));
        }
        let first = group[0];
        let last = group[group.len() - 1];
        out.push(format!(
            "@@ -{} +{} @@\n",
            format_range(first.1, last.2),
            format_range(first.3, last.4)
        ));
        for (tag, i1, i2, j1, j2) in group {
            if tag == Tag::Equal {
                for line in &a[i1..i2] {
                    out.push(format!(" {line}"));
                }
                continue;
            }
            if matches!(tag, Tag::Replace | Tag::Delete) {
                for line in &a[i1..i2] {
                    out.push(format!("-{line}"));
                }
            }
            if matches!(tag, Tag::Replace | Tag::Insert) {
                for line in &b[j1..j2] {
                    out.push(format!("+{line}"));
                }
            }
        }
    }
    out
}

fn format_range(start: usize, stop: usize) -> String {
    let mut beginning = start + 1;
    let length = stop - start;
    if length == 1 {
        return beginning.to_string();
    }
    if length == 0 {
        beginning -= 1;
    }
    format!("{beginning},{length}")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tag {
    Replace,
    Delete,
    Insert,
    Equal,
}

type Opcode = (Tag, usize, usize, usize, usize);

/// difflib's `SequenceMatcher` without a junk function (autojunk on).
struct SequenceMatcher<'a> {
    a: &'a [String],
    b: &'a [String],
    b2j: HashMap<&'a str, Vec<usize>>,
}

impl<'a> SequenceMatcher<'a> {
    fn new(a: &'a [String], b: &'a [String]) -> Self {
        let mut b2j: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, line) in b.iter().enumerate() {
            b2j.entry(line.as_str()).or_default().push(i);
        }
        // autojunk: in sequences of 200+ items, items seen more than 1% of the time are
        // "popular" and not used as match anchors.
        let n = b.len();
        if n >= 200 {
            let ntest = n / 100 + 1;
            b2j.retain(|_, idxs| idxs.len() <= ntest);
        }
        SequenceMatcher { a, b, b2j }
    }

    fn find_longest_match(
        &self,
        alo: usize,
        ahi: usize,
        blo: usize,
        bhi: usize,
    ) -> (usize, usize, usize) {
        let (a, b) = (self.a, self.b);
        let (mut besti, mut bestj, mut bestsize) = (alo, blo, 0usize);
        let mut j2len: HashMap<usize, usize> = HashMap::new();
        for (i, line) in a.iter().enumerate().take(ahi).skip(alo) {
            let mut newj2len: HashMap<usize, usize> = HashMap::new();
            if let Some(js) = self.b2j.get(line.as_str()) {
                for &j in js {
                    if j < blo {
                        continue;
                    }
                    if j >= bhi {
                        break;
                    }
                    let k = if j > 0 {
                        j2len.get(&(j - 1)).copied().unwrap_or(0)
                    } else {
                        0
                    } + 1;
                    newj2len.insert(j, k);
                    if k > bestsize {
                        besti = i + 1 - k;
                        bestj = j + 1 - k;
                        bestsize = k;
                    }
                }
            }
            j2len = newj2len;
        }
        // Extend the match with equal (popular) lines on both sides.
        while besti > alo && bestj > blo && a[besti - 1] == b[bestj - 1] {
            besti -= 1;
            bestj -= 1;
            bestsize += 1;
        }
        while besti + bestsize < ahi
            && bestj + bestsize < bhi
            && a[besti + bestsize] == b[bestj + bestsize]
        {
            bestsize += 1;
        }
        (besti, bestj, bestsize)
    }

    fn matching_blocks(&self) -> Vec<(usize, usize, usize)> {
        let (la, lb) = (self.a.len(), self.b.len());
        let mut queue = vec![(0, la, 0, lb)];
        let mut blocks = Vec::new();
        while let Some((alo, ahi, blo, bhi)) = queue.pop() {
            let (i, j, k) = self.find_longest_match(alo, ahi, blo, bhi);
            if k > 0 {
                blocks.push((i, j, k));
                if alo < i && blo < j {
                    queue.push((alo, i, blo, j));
                }
                if i + k < ahi && j + k < bhi {
                    queue.push((i + k, ahi, j + k, bhi));
                }
            }
        }
        blocks.sort();
        let (mut i1, mut j1, mut k1) = (0, 0, 0);
        let mut out = Vec::new();
        for (i2, j2, k2) in blocks {
            if i1 + k1 == i2 && j1 + k1 == j2 {
                k1 += k2;
            } else {
                if k1 > 0 {
                    out.push((i1, j1, k1));
                }
                (i1, j1, k1) = (i2, j2, k2);
            }
        }
        if k1 > 0 {
            out.push((i1, j1, k1));
        }
        out.push((la, lb, 0));
        out
    }

    fn opcodes(&self) -> Vec<Opcode> {
        let (mut i, mut j) = (0, 0);
        let mut answer = Vec::new();
        for (ai, bj, size) in self.matching_blocks() {
            let tag = if i < ai && j < bj {
                Some(Tag::Replace)
            } else if i < ai {
                Some(Tag::Delete)
            } else if j < bj {
                Some(Tag::Insert)
            } else {
                None
            };
            if let Some(tag) = tag {
                answer.push((tag, i, ai, j, bj));
            }
            i = ai + size;
            j = bj + size;
            if size > 0 {
                answer.push((Tag::Equal, ai, i, bj, j));
            }
        }
        answer
    }

    fn grouped_opcodes(&self, n: usize) -> Vec<Vec<Opcode>> {
        let mut codes = self.opcodes();
        if codes.is_empty() {
            codes.push((Tag::Equal, 0, 1, 0, 1));
        }
        if codes[0].0 == Tag::Equal {
            let (t, i1, i2, j1, j2) = codes[0];
            codes[0] = (
                t,
                i1.max(i2.saturating_sub(n)),
                i2,
                j1.max(j2.saturating_sub(n)),
                j2,
            );
        }
        let last = codes.len() - 1;
        if codes[last].0 == Tag::Equal {
            let (t, i1, i2, j1, j2) = codes[last];
            codes[last] = (t, i1, i2.min(i1 + n), j1, j2.min(j1 + n));
        }
        let nn = n + n;
        let mut groups = Vec::new();
        let mut group = Vec::new();
        for (tag, mut i1, i2, mut j1, j2) in codes {
            if tag == Tag::Equal && i2 - i1 > nn {
                group.push((tag, i1, i2.min(i1 + n), j1, j2.min(j1 + n)));
                groups.push(std::mem::take(&mut group));
                i1 = i1.max(i2.saturating_sub(n));
                j1 = j1.max(j2.saturating_sub(n));
            }
            group.push((tag, i1, i2, j1, j2));
        }
        let only_equal = group.len() == 1 && group[0].0 == Tag::Equal;
        if !group.is_empty() && !only_equal {
            groups.push(group);
        }
        groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn copy_content_diff_matches_ansible() {
        // copy: dest=dst.txt content="line1\nlineX\nline3\nnew" over "line1\nline2\nline3\n",
        // run with --check --diff (ansible-playbook 2.21.5).
        let d = json!({"before": "line1\nline2\nline3\n", "after": "line1\nlineX\nline3\nnew",
                       "before_header": "/tmp/outcb.k7/dst.txt", "after_header": "/tmp/outcb.k7/dst.txt"});
        assert_eq!(
            get_diff(&d, false),
            "--- before: /tmp/outcb.k7/dst.txt\n+++ after: /tmp/outcb.k7/dst.txt\n@@ -1,3 +1,4 @@\n \
             line1\n-line2\n+lineX\n line3\n+new\n\\ No newline at end of file\n\n"
        );
    }

    #[test]
    fn mapping_sides_are_json() {
        // file: path=/tmp/outcb.k7/newdir state=directory with --check --diff.
        let d = json!({"before": {"path": "/tmp/outcb.k7/newdir", "state": "absent"},
                       "after": {"path": "/tmp/outcb.k7/newdir", "state": "directory"}});
        assert_eq!(
            get_diff(&d, false),
            "--- before\n+++ after\n@@ -1,4 +1,4 @@\n {\n     \"path\": \"/tmp/outcb.k7/newdir\",\n\
             -    \"state\": \"absent\"\n+    \"state\": \"directory\"\n }\n\n"
        );
    }

    #[test]
    fn new_file_and_no_change() {
        // copy: dest=l1.txt content="c1\n" (file absent) with --check --diff.
        let d = json!({"before": "", "after": "c1\n", "after_header": "/tmp/outcb.k7/l1.txt"});
        assert_eq!(
            get_diff(&d, false),
            "--- before\n+++ after: /tmp/outcb.k7/l1.txt\n@@ -0,0 +1 @@\n+c1\n\n"
        );
        assert_eq!(
            get_diff(&json!({"before": "same\n", "after": "same\n"}), false),
            ""
        );
        assert_eq!(
            get_diff(&json!([{"dst_binary": 1}, {"prepared": "x\n"}]), false),
            "diff skipped: destination file appears to be binary\nx\n"
        );
    }

    #[test]
    fn hunks_split_like_difflib() {
        // python3 -c 'import difflib,sys; a=[f"{i}\n" for i in range(20)]; b=list(a); b[2]="x\n"; b[15]="y\n";
        //             sys.stdout.writelines(difflib.unified_diff(a,b,"before","after",n=3))'
        let a: Vec<String> = (0..20).map(|i| format!("{i}\n")).collect();
        let mut b = a.clone();
        b[2] = "x\n".into();
        b[15] = "y\n".into();
        let out = unified_diff(&a, &b, "before", "after", 3).concat();
        assert_eq!(
            out,
            "--- before\n+++ after\n@@ -1,6 +1,6 @@\n 0\n 1\n-2\n+x\n 3\n 4\n 5\n\
             @@ -13,7 +13,7 @@\n 12\n 13\n 14\n-15\n+y\n 16\n 17\n 18\n"
        );
    }
}

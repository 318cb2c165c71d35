//! What Ansible's `Display` does for the callbacks: stdout/stderr sinks, banners padded with
//! `*` to the screen width, colours on a terminal, `[WARNING]:`/`[ERROR]:` prefixes and
//! de-duplication of repeated warnings.

use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

/// Ansible's colour settings (`COLOR_*` defaults) as SGR codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Color {
    Changed,
    Debug,
    Deprecate,
    DiffAdd,
    DiffLines,
    DiffRemove,
    Error,
    Included,
    Ok,
    Skip,
    Unreachable,
    Verbose,
    Warn,
}

impl Color {
    pub fn code(self) -> &'static str {
        match self {
            Color::Changed => "0;33",
            Color::Debug => "1;30",
            Color::Deprecate => "0;35",
            Color::DiffAdd | Color::Ok => "0;32",
            Color::DiffLines | Color::Included | Color::Skip => "0;36",
            Color::DiffRemove | Color::Error => "0;31",
            Color::Unreachable => "1;31",
            Color::Verbose => "0;34",
            Color::Warn => "1;35",
        }
    }
}

/// `stringc`: every line of `text` wrapped in the colour's escape codes (when enabled).
pub fn stringc(text: &str, color: Color, enabled: bool) -> String {
    if !enabled {
        return text.to_string();
    }
    text.split('\n')
        .map(|t| format!("\x1b[{}m{}\x1b[0m", color.code(), t))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Columns a string takes on screen (East Asian wide characters count 2, combining marks 0).
pub fn text_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

fn char_width(c: char) -> usize {
    let u = c as u32;
    let zero = matches!(u, 0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05BD | 0x0610..=0x061A
        | 0x064B..=0x065F | 0x200B..=0x200F | 0x20D0..=0x20FF | 0xFE00..=0xFE0F | 0xFE20..=0xFE2F);
    if zero {
        return 0;
    }
    let wide = matches!(u, 0x1100..=0x115F | 0x231A..=0x231B | 0x2329..=0x232A | 0x2E80..=0x303E
        | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xA960..=0xA97F
        | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE10..=0xFE19 | 0xFE30..=0xFE6F | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6 | 0x1F300..=0x1F64F | 0x1F900..=0x1F9FF | 0x20000..=0x3FFFD);
    if wide {
        2
    } else {
        1
    }
}

/// `format_event`'s ending: the message stripped, then a blank line after a multi-line
/// message (an `Origin:` excerpt, chained causes), none after a one-line one.
pub fn format_event(msg: &str) -> String {
    let m = msg.trim();
    if m.contains('\n') {
        format!("{m}\n\n")
    } else {
        format!("{m}\n")
    }
}

/// A writer the tests (or an embedding program) can read back: clones share one buffer.
#[derive(Clone, Default)]
pub struct Capture(pub Arc<Mutex<Vec<u8>>>);

impl Capture {
    pub fn new() -> Self {
        Self::default()
    }
    /// Everything written so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub type Sink = Box<dyn Write + Send>;

/// The screen as the callbacks see it.
pub struct Display {
    out: Sink,
    err: Sink,
    /// Banner width: `max(79, terminal columns - 1)`; 79 when stdout is not a terminal.
    pub columns: usize,
    /// ANSI colours (a terminal, or ANSIBLE_FORCE_COLOR; never with ANSIBLE_NOCOLOR/NO_COLOR).
    pub color: bool,
    warned: HashSet<String>,
    deprecated: HashSet<String>,
    errors: HashSet<String>,
    /// Writes step around the live status line (output::status).
    live_status: bool,
}

static SHOW_DEPRECATIONS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// The `deprecation_warnings` setting: whether deprecation warnings are shown at all.
pub fn show_deprecations(on: bool) {
    SHOW_DEPRECATIONS.store(on, std::sync::atomic::Ordering::Relaxed);
}

fn env_true(name: &str) -> bool {
    std::env::var(name)
        .map(|v| {
            matches!(
                v.to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on" | "y" | "t"
            )
        })
        .unwrap_or(false)
}

fn terminal_columns() -> usize {
    // SAFETY: TIOCGWINSZ fills a winsize struct we own; failure leaves it zeroed.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::ioctl(1, libc::TIOCGWINSZ, &mut ws) };
    if rc == 0 {
        ws.ws_col as usize
    } else {
        0
    }
}

impl Display {
    /// Real stdout/stderr, with the width and colour rules Ansible applies to them.
    pub fn stdio() -> Self {
        let tty = std::io::stdout().is_terminal();
        let tty_cols = if tty { terminal_columns() } else { 0 };
        let mut color = tty && std::env::var("TERM").map(|t| t != "dumb").unwrap_or(true);
        if env_true("ANSIBLE_NOCOLOR") || std::env::var_os("NO_COLOR").is_some() {
            color = false;
        }
        if env_true("ANSIBLE_FORCE_COLOR") {
            color = true;
        }
        let mut d = Display::new(Box::new(std::io::stdout()), Box::new(std::io::stderr()));
        d.columns = 79.max(tty_cols.saturating_sub(1));
        d.color = color;
        d
    }

    /// Given sinks, 79 columns, no colour: what Ansible prints when not on a terminal.
    pub fn new(out: Sink, err: Sink) -> Self {
        Display {
            out,
            err,
            columns: 79,
            color: false,
            warned: HashSet::new(),
            deprecated: HashSet::new(),
            errors: HashSet::new(),
            live_status: false,
        }
    }

    /// Real stdout shared with the live status line: every write clears it first.
    pub fn with_live_status(mut self) -> Self {
        self.live_status = true;
        self
    }

    /// `Display.display`: one message plus a newline (a message that already ends in one
    /// gets no second), coloured line by line.
    pub fn display(&mut self, msg: &str, color: Option<Color>, stderr: bool) {
        let msg = msg.replace("\r\n", "\n");
        let body = msg.strip_suffix('\n').unwrap_or(&msg);
        let mut text = match color {
            Some(c) => stringc(body, c, self.color),
            None => body.to_string(),
        };
        text.push('\n');
        let sink = if stderr { &mut self.err } else { &mut self.out };
        let mut write = || {
            // A closed pipe (`| head`) must not abort the run.
            let _ = sink.write_all(text.as_bytes());
            let _ = sink.flush();
        };
        if self.live_status {
            super::status::suspend(write);
        } else {
            write();
        }
    }

    pub fn out(&mut self, msg: &str) {
        self.display(msg, None, false);
    }

    /// `Display.banner`: a blank line, then the message and a row of `*` to the width.
    pub fn banner(&mut self, msg: &str, color: Option<Color>) {
        let msg = msg.trim();
        let width = text_width(msg);
        let stars = match self.columns.checked_sub(width) {
            Some(n) if n > 3 => n,
            _ => 3,
        };
        self.display(&format!("\n{} {}", msg, "*".repeat(stars)), color, false);
    }

    /// `[WARNING]: msg` on stderr, once per distinct message.
    pub fn warning(&mut self, msg: &str) {
        let text = format!("[WARNING]: {}", format_event(msg));
        if self.warned.insert(text.clone()) {
            self.display(&text, Some(Color::Warn), true);
        }
    }

    /// `[DEPRECATION WARNING]: msg` on stderr, once, after the hint that they can be disabled
    /// (none with deprecation_warnings off).
    pub fn deprecation(&mut self, msg: &str) {
        if !SHOW_DEPRECATIONS.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        self.warning("Deprecation warnings can be disabled by setting `deprecation_warnings=False` in ansible.cfg.");
        let text = format!("[DEPRECATION WARNING]: {}", format_event(msg));
        if self.deprecated.insert(text.clone()) {
            self.display(&text, Some(Color::Deprecate), true);
        }
    }

    /// `[ERROR]: msg`, once per distinct message; on stderr unless a task failure is being
    /// reported on stdout.
    pub fn error(&mut self, msg: &str, stderr: bool) {
        let text = format!("[ERROR]: {}", format_event(msg));
        if self.errors.insert(text.clone()) {
            self.display(&text, Some(Color::Error), stderr);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture() -> (Display, Capture, Capture) {
        let (o, e) = (Capture::new(), Capture::new());
        (Display::new(Box::new(o.clone()), Box::new(e.clone())), o, e)
    }

    #[test]
    fn banners_pad_to_79_columns() {
        let (mut d, o, _) = capture();
        d.banner("PLAY RECAP", None);
        // ansible-playbook, stdout not a terminal: "PLAY RECAP" + 69 stars.
        assert_eq!(o.text(), format!("\nPLAY RECAP {}\n", "*".repeat(69)));
    }

    #[test]
    fn long_and_wide_banners() {
        let (mut d, o, _) = capture();
        // name: "A very long task name that goes past the width of the terminal banner line for sure yes"
        d.banner("TASK [A very long task name that goes past the width of the terminal banner line for sure yes]", None);
        // name: "ünïcødé 名前" -> 60 stars (the two CJK characters take two columns each).
        d.banner("TASK [ünïcødé 名前]", None);
        assert_eq!(
            o.text(),
            format!(
                "\nTASK [A very long task name that goes past the width of the terminal banner line for sure yes] ***\n\nTASK [ünïcødé 名前] {}\n",
                "*".repeat(60)
            )
        );
    }

    #[test]
    fn warnings_go_to_stderr_once() {
        let (mut d, o, e) = capture();
        d.warning("x");
        d.warning("x");
        d.deprecation("old");
        d.deprecation("old");
        assert_eq!(o.text(), "");
        assert_eq!(
            e.text(),
            "[WARNING]: x\n[WARNING]: Deprecation warnings can be disabled by setting `deprecation_warnings=False` in ansible.cfg.\n[DEPRECATION WARNING]: old\n"
        );
    }

    #[test]
    fn multi_line_messages_end_with_a_blank_line() {
        let (mut d, o, e) = capture();
        // `debug: var=nope` (undefined): the warning ends with its excerpt and a blank line.
        d.warning("Encountered 1 template error.\nerror 1 - 'nope' is undefined\nOrigin: /tmp/outcb.k7/p4.yml:24:14\n\n24       debug: var=nope\n                ^ column 14\n");
        d.error("Task failed: Action failed: boom", false);
        assert_eq!(
            e.text(),
            "[WARNING]: Encountered 1 template error.\nerror 1 - 'nope' is undefined\nOrigin: /tmp/outcb.k7/p4.yml:24:14\n\n24       debug: var=nope\n                ^ column 14\n\n"
        );
        assert_eq!(o.text(), "[ERROR]: Task failed: Action failed: boom\n");
    }

    #[test]
    fn colours_wrap_each_line() {
        assert_eq!(
            stringc("a\nb", Color::Ok, true),
            "\x1b[0;32ma\x1b[0m\n\x1b[0;32mb\x1b[0m"
        );
        assert_eq!(stringc("a", Color::Ok, false), "a");
    }
}

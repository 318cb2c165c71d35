//! The agent protocol. The target side is `play-agent __agent` (or `play __agent`): it reads
//! frames (a u32 big-endian length, then that many bytes of JSON) from stdin and answers
//! each with one frame on stdout, until EOF. The first frame it writes, unasked, is a hello
//! (`{"hello": "play-agent", "version": ..., "pid": ...}`) so the controller knows it started.
//!
//! Requests are [`Request`]s; every response is `{"id": N, "result": {...}}` where the result
//! is a module result object (`failed`/`msg` on errors).

use base64::Engine as _;
use play_modules::{Args, ModuleContext, ModuleResult};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::io::{Read, Write};

/// Frames larger than this are refused (a corrupt length must not allocate gigabytes).
pub const MAX_FRAME: usize = 1 << 30;

/// One request to the agent.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// Run a native module.
    Run {
        id: u64,
        module: String,
        args: Args,
        #[serde(default)]
        ctx: ModuleContext,
    },
    /// Write a file (atomically: a temporary file in the same directory, then rename).
    Put {
        id: u64,
        path: String,
        /// Permission bits; `None` keeps an existing file's mode, and gives a new file
        /// 0666 less the agent's umask.
        #[serde(default)]
        mode: Option<u32>,
        /// The content, base64.
        data: String,
    },
    /// Read a file; the result carries `content` (base64) and `size`.
    Fetch { id: u64, path: String },
}

impl Request {
    pub fn id(&self) -> u64 {
        match self {
            Request::Run { id, .. } | Request::Put { id, .. } | Request::Fetch { id, .. } => *id,
        }
    }
}

/// One response from the agent.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Response {
    pub id: u64,
    pub result: ModuleResult,
}

/// Write one frame.
pub fn write_frame<W: Write>(w: &mut W, payload: &[u8]) -> std::io::Result<()> {
    let len = u32::try_from(payload.len())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "frame too large"))?;
    w.write_all(&len.to_be_bytes())?;
    w.write_all(payload)?;
    w.flush()
}

/// Read one frame; `Ok(None)` at a clean EOF before a frame starts.
pub fn read_frame<R: Read>(r: &mut R) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        let n = r.read(&mut len[got..])?;
        if n == 0 {
            if got == 0 {
                return Ok(None);
            }
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        got += n;
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("frame of {len} bytes refused"),
        ));
    }
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf)?;
    Ok(Some(buf))
}

/// Splits a byte stream into frames (the controller side, fed from SSH channel data).
#[derive(Default)]
pub struct FrameBuffer {
    buf: Vec<u8>,
}

impl FrameBuffer {
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete frame, if one is buffered.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, String> {
        if self.buf.len() < 4 {
            return Ok(None);
        }
        let len = u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]) as usize;
        if len > MAX_FRAME {
            return Err(format!("agent sent a frame of {len} bytes"));
        }
        if self.buf.len() < 4 + len {
            return Ok(None);
        }
        let frame = self.buf[4..4 + len].to_vec();
        self.buf.drain(..4 + len);
        Ok(Some(frame))
    }

    /// Bytes received that are not (yet) a whole frame.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }
}

/// Encode a frame into bytes (length prefix + payload).
pub fn encode_frame(payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(payload.len() + 4);
    v.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    v.extend_from_slice(payload);
    v
}

fn failed(msg: impl Into<String>) -> ModuleResult {
    let mut r = Map::new();
    r.insert("failed".into(), Value::Bool(true));
    r.insert("msg".into(), Value::String(msg.into()));
    r
}

/// Handle one request (the target side), never panicking out.
pub fn handle(req: Request) -> Response {
    let id = req.id();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match req {
        Request::Run {
            module, args, ctx, ..
        } => play_modules::run(&module, &args, &ctx),
        Request::Put {
            path, mode, data, ..
        } => put_file(&path, mode, &data),
        Request::Fetch { path, .. } => fetch_file(&path),
    }))
    .unwrap_or_else(|e| {
        let what = e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".into());
        failed(format!(
            "The agent failed while running the request: {what}"
        ))
    });
    Response { id, result }
}

fn put_file(path: &str, mode: Option<u32>, data: &str) -> ModuleResult {
    use std::os::unix::fs::PermissionsExt;
    let bytes = match base64::engine::general_purpose::STANDARD.decode(data) {
        Ok(b) => b,
        Err(e) => return failed(format!("invalid base64 content for {path}: {e}")),
    };
    let target = std::path::Path::new(path);
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let existing_mode = std::fs::metadata(target)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777);
    let mut tmp = match tempfile::Builder::new()
        .prefix(".play-put-")
        .tempfile_in(dir)
    {
        Ok(t) => t,
        Err(e) => {
            return failed(format!(
                "Could not create a temporary file in {}: {e}",
                dir.display()
            ))
        }
    };
    if let Err(e) = tmp.write_all(&bytes).and_then(|_| tmp.as_file().sync_all()) {
        return failed(format!("Could not write {path}: {e}"));
    }
    // SAFETY: umask only reads and restores this process's mask (the agent is single-threaded).
    let default_mode = unsafe {
        let m = libc::umask(0o022);
        libc::umask(m);
        0o666 & !(m as u32)
    };
    if let Some(m) = mode.or(existing_mode).or(Some(default_mode)) {
        if let Err(e) = std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(m)) {
            return failed(format!("Could not set the mode of {path}: {e}"));
        }
    }
    if let Err(e) = tmp.persist(target) {
        return failed(format!("Could not replace {path}: {}", e.error));
    }
    let mut r = Map::new();
    r.insert("changed".into(), Value::Bool(true));
    r.insert("dest".into(), Value::String(path.to_string()));
    r.insert("size".into(), Value::from(bytes.len()));
    r
}

fn fetch_file(path: &str) -> ModuleResult {
    match std::fs::read(path) {
        Ok(b) => {
            let mut r = Map::new();
            r.insert("changed".into(), Value::Bool(false));
            r.insert("size".into(), Value::from(b.len()));
            r.insert(
                "content".into(),
                Value::String(base64::engine::general_purpose::STANDARD.encode(&b)),
            );
            r.insert("encoding".into(), Value::String("base64".into()));
            r.insert("source".into(), Value::String(path.to_string()));
            r
        }
        Err(e) => failed(format!("Could not read {path}: {e}")),
    }
}

/// Take the real stdin/stdout for the protocol and point fds 0 and 1 elsewhere, so neither a
/// module nor a child it runs can read a request or write into the frame stream.
fn private_stdio() -> std::io::Result<(std::fs::File, std::fs::File)> {
    use std::os::fd::FromRawFd;
    // SAFETY: plain fd juggling on fds this process owns; every result is checked.
    unsafe {
        let inp = libc::fcntl(0, libc::F_DUPFD_CLOEXEC, 3);
        let out = libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 3);
        if inp < 0 || out < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
        if null < 0 || libc::dup2(null, 0) < 0 || libc::dup2(2, 1) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        libc::close(null);
        Ok((
            std::fs::File::from_raw_fd(inp),
            std::fs::File::from_raw_fd(out),
        ))
    }
}

/// The target-side entry points, shared by `play` and `play-agent`: `__agent` (the request
/// loop) and `__async <async_dir> <jid>` (an async task's job, started by the
/// async_wrapper module). `None` when the arguments name neither.
pub fn subcommand(args: &[std::ffi::OsString]) -> Option<i32> {
    match args.get(1).and_then(|a| a.to_str()) {
        Some("__agent") => Some(serve()),
        Some("__async") if args.len() == 4 => Some(play_modules::async_job::run_job(
            std::path::Path::new(&args[2]),
            &args[3].to_string_lossy(),
        )),
        _ => None,
    }
}

/// The agent's main loop (`play __agent`). Returns the process exit code.
pub fn serve() -> i32 {
    let (input, output) = match private_stdio() {
        Ok(x) => x,
        Err(e) => {
            eprintln!("play agent: cannot set up stdio: {e}");
            return 1;
        }
    };
    let own_group = super::agent_orphan::lead_group();
    // Requests are read on a thread of their own so that the end of the stream is seen
    // while a module runs: the controller is gone and the module is stopped.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut input = std::io::BufReader::new(input);
        loop {
            let next = read_frame(&mut input);
            let end = !matches!(next, Ok(Some(_)));
            if end {
                super::agent_orphan::controller_gone(own_group);
            }
            if tx.send(next).is_err() || end {
                return;
            }
        }
    });
    serve_frames(rx.into_iter(), output)
}

/// The loop on any reader and writer (tests drive it through pipes).
pub fn serve_on<R: Read, W: Write>(input: R, output: W) -> i32 {
    let mut input = std::io::BufReader::new(input);
    let frames = std::iter::from_fn(move || Some(read_frame(&mut input)));
    serve_frames(frames, output)
}

/// Answer each request frame until the stream ends (`Ok(None)`).
fn serve_frames<W: Write>(
    frames: impl Iterator<Item = std::io::Result<Option<Vec<u8>>>>,
    output: W,
) -> i32 {
    let mut output = std::io::BufWriter::new(output);
    let hello = serde_json::json!({
        "hello": "play-agent",
        "version": env!("CARGO_PKG_VERSION"),
        "pid": std::process::id(),
        // Where it runs from: an agent started for a become user runs the same file
        // when that user may.
        "exe": std::env::current_exe().ok().map(|p| p.display().to_string()),
        // SAFETY: getuid/geteuid cannot fail.
        "uid": unsafe { libc::geteuid() },
    });
    if write_frame(&mut output, hello.to_string().as_bytes()).is_err() {
        return 1;
    }
    for next in frames {
        let frame = match next {
            Ok(Some(f)) => f,
            Ok(None) => return 0,
            Err(e) => {
                eprintln!("play agent: {e}");
                return 1;
            }
        };
        let Some(resp) = super::agent_orphan::serving(|| respond(&frame)) else {
            return 0;
        };
        let bytes = serde_json::to_vec(&resp)
            .unwrap_or_else(|_| b"{\"id\":0,\"result\":{\"failed\":true}}".to_vec());
        if write_frame(&mut output, &bytes).is_err() {
            return 1;
        }
    }
    0
}

/// The response to one request frame.
fn respond(frame: &[u8]) -> Response {
    match serde_json::from_slice::<Request>(frame) {
        Ok(req) => handle(req),
        Err(e) => {
            let id = serde_json::from_slice::<Value>(frame)
                .ok()
                .and_then(|v| v.get("id").and_then(Value::as_u64))
                .unwrap_or(0);
            Response {
                id,
                result: failed(format!("The agent could not read the request: {e}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_through_the_loop() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x.txt");
        let reqs = [
            Request::Run {
                id: 1,
                module: "ping".into(),
                args: Map::new(),
                ctx: ModuleContext::default(),
            },
            Request::Put {
                id: 2,
                path: f.to_string_lossy().into_owned(),
                mode: Some(0o640),
                data: base64::engine::general_purpose::STANDARD.encode(b"hello"),
            },
            Request::Fetch {
                id: 3,
                path: f.to_string_lossy().into_owned(),
            },
        ];
        let mut input = Vec::new();
        for r in &reqs {
            input.extend(encode_frame(&serde_json::to_vec(r).unwrap()));
        }
        input.extend(encode_frame(b"{\"id\": 9, \"op\": \"bogus\"}"));
        let mut out = Vec::new();
        assert_eq!(serve_on(&input[..], &mut out), 0);
        let mut fb = FrameBuffer::default();
        fb.push(&out);
        let hello: Value = serde_json::from_slice(&fb.next_frame().unwrap().unwrap()).unwrap();
        assert_eq!(hello["hello"], "play-agent");
        let mut resps = Vec::new();
        while let Some(fr) = fb.next_frame().unwrap() {
            resps.push(serde_json::from_slice::<Response>(&fr).unwrap());
        }
        assert_eq!(resps.len(), 4);
        assert_eq!(resps[0].result["ping"], "pong");
        assert_eq!(resps[1].result["changed"], true);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert_eq!(resps[2].result["content"], "aGVsbG8=");
        assert_eq!(
            (resps[3].id, &resps[3].result["failed"]),
            (9, &Value::Bool(true))
        );
    }
}

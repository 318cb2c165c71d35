//! The SSH transport: one russh session per host for the whole run, the agent (this very
//! binary) uploaded once per version into a private directory under remote_tmp, started in
//! one exec channel and kept; every module call is one framed request and one response.
//!
//! The API is blocking (the engine is threaded): every call runs on one shared tokio
//! runtime. Calls on one connection are serialized by a mutex.

use super::agent::{encode_frame, FrameBuffer, Request, Response};
use super::agent_install::{
    file_sha256, local_uname, send_bytes, start_script, Place, FOREIGN, HASH_MISMATCH, SEND_MARK,
    START_MARK, WRITE_FAILED,
};
use super::cancel;
use super::params::{BecomeParams, ConnParams};
use super::socket::SshSocket;
use super::upload::Written;
use bytes::Bytes;
use play_modules::{Args, ModuleContext, ModuleResult};
use russh::client::{self, Handle};
use russh::keys::{Algorithm, HashAlg, PrivateKeyWithHashAlg, PublicKey};
use russh::ChannelMsg;
use sha1::Digest as _;
use std::collections::HashMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// Why a connection or an agent call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnErrorKind {
    /// The host could not be reached or the session/agent was lost: Ansible's UNREACHABLE.
    Unreachable,
    /// The task fails but the host stays reachable (a wrong become password, for instance).
    Failed,
}

/// An error with Ansible's wording, to be reported for the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnError {
    pub kind: ConnErrorKind,
    pub msg: String,
}

impl ConnError {
    pub(crate) fn unreachable(msg: impl Into<String>) -> ConnError {
        ConnError {
            kind: ConnErrorKind::Unreachable,
            msg: msg.into(),
        }
    }
    pub(crate) fn ssh(msg: impl AsRef<str>) -> ConnError {
        ConnError::unreachable(format!(
            "Failed to connect to the host via ssh: {}",
            msg.as_ref()
        ))
    }
    pub(crate) fn failed(msg: impl Into<String>) -> ConnError {
        ConnError {
            kind: ConnErrorKind::Failed,
            msg: msg.into(),
        }
    }
    /// Whether the engine should mark the host UNREACHABLE (otherwise the task FAILED).
    pub fn is_unreachable(&self) -> bool {
        self.kind == ConnErrorKind::Unreachable
    }
}

impl std::fmt::Display for ConnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for ConnError {}

/// The runtime every connection runs on.
pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("play-ssh")
            .enable_all()
            .build()
            .expect("cannot start the tokio runtime for SSH")
    })
}

// ---------------------------------------------------------------------------------------
// known_hosts

/// What known_hosts says about a host's key.
#[derive(Debug, PartialEq, Eq)]
pub enum HostKeyStatus {
    Known,
    Unknown,
    /// A key of the same type is recorded and differs: (file, line).
    Changed(PathBuf, usize),
    /// The key is marked @revoked: (file, line).
    Revoked(PathBuf, usize),
}

fn hmac_sha1(key: &[u8], data: &[u8]) -> [u8; 20] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..20].copy_from_slice(&sha1::Sha1::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = sha1::Sha1::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(data);
    let mut outer = sha1::Sha1::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

fn known_host_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

fn host_entry_matches(patterns: &str, name: &str) -> bool {
    use base64::Engine as _;
    if let Some(rest) = patterns.strip_prefix("|1|") {
        let mut parts = rest.split('|');
        let b64 = base64::engine::general_purpose::STANDARD;
        let (Some(Ok(salt)), Some(Ok(hash))) = (
            parts.next().map(|s| b64.decode(s)),
            parts.next().map(|s| b64.decode(s)),
        ) else {
            return false;
        };
        return hmac_sha1(&salt, name.as_bytes())[..] == hash[..];
    }
    let ps: Vec<&str> = vec![patterns];
    super::params::pattern_list_match(&ps, name)
}

fn alg_family(a: &Algorithm) -> String {
    match a {
        Algorithm::Rsa { .. } => "ssh-rsa".into(),
        other => other.as_str().to_string(),
    }
}

/// The (file, line, key) entries of known_hosts files recorded for `host`:`port`.
fn known_keys(files: &[PathBuf], host: &str, port: u16) -> Vec<(PathBuf, usize, bool, PublicKey)> {
    let name = known_host_name(host, port);
    let mut out = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut words = line.split_whitespace();
            let mut first = words.next().unwrap_or("");
            let mut revoked = false;
            if first.starts_with('@') {
                if first == "@revoked" {
                    revoked = true;
                } else {
                    continue; // @cert-authority: certificates are not offered.
                }
                first = words.next().unwrap_or("");
            }
            let (Some(_alg), Some(b64)) = (words.next(), words.next()) else {
                continue;
            };
            if !host_entry_matches(first, &name) {
                continue;
            }
            if let Ok(k) = russh::keys::parse_public_key_base64(b64) {
                out.push((f.clone(), i + 1, revoked, k));
            }
        }
    }
    out
}

/// Check a server key against known_hosts as OpenSSH does.
pub fn check_host_key(files: &[PathBuf], host: &str, port: u16, key: &PublicKey) -> HostKeyStatus {
    let entries = known_keys(files, host, port);
    for (f, line, revoked, k) in &entries {
        if *revoked && k.key_data() == key.key_data() {
            return HostKeyStatus::Revoked(f.clone(), *line);
        }
    }
    if entries
        .iter()
        .any(|(_, _, r, k)| !r && k.key_data() == key.key_data())
    {
        return HostKeyStatus::Known;
    }
    let fam = alg_family(&key.algorithm());
    if let Some((f, line, _, _)) = entries
        .iter()
        .find(|(_, _, r, k)| !r && alg_family(&k.algorithm()) == fam)
    {
        return HostKeyStatus::Changed(f.clone(), *line);
    }
    HostKeyStatus::Unknown
}

fn key_type_name(key: &PublicKey) -> &'static str {
    match key.algorithm() {
        Algorithm::Ed25519 => "ED25519",
        Algorithm::Ecdsa { .. } => "ECDSA",
        Algorithm::Rsa { .. } => "RSA",
        Algorithm::Dsa => "DSA",
        _ => "host",
    }
}

pub(crate) struct ClientHandler {
    host: String,
    port: u16,
    checking: bool,
    accept_new: bool,
    known_hosts: Vec<PathBuf>,
    /// Why the key was refused, for the error message.
    verdict: Arc<Mutex<Option<String>>>,
}

impl client::Handler for ClientHandler {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let key = match key {
            russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } => key.clone(),
            russh::keys::PublicKeyOrCertificate::Certificate(c) => {
                PublicKey::from(c.public_key().clone())
            }
        };
        if !self.checking {
            return Ok(true);
        }
        let fp = key.fingerprint(HashAlg::Sha256);
        let kt = key_type_name(&key);
        let name = known_host_name(&self.host, self.port);
        let refuse = |msg: String| {
            *self.verdict.lock().unwrap() = Some(msg);
            Ok(false)
        };
        match check_host_key(&self.known_hosts, &self.host, self.port, &key) {
            HostKeyStatus::Known => Ok(true),
            HostKeyStatus::Unknown if self.accept_new => {
                if let Some(f) = self.known_hosts.first() {
                    if let Some(dir) = f.parent() {
                        let _ = std::fs::create_dir_all(dir);
                    }
                    if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(f) {
                        let _ = writeln!(file, "{name} {}", key.to_openssh().unwrap_or_default());
                    }
                }
                Ok(true)
            }
            HostKeyStatus::Unknown => refuse(format!(
                "No {kt} host key is known for {name} and you have requested strict checking. \
                 The {kt} key fingerprint is {fp}. Host key verification failed. \
                 (Add the key to {} or turn host_key_checking off.)",
                self.known_hosts.first().map(|p| p.display().to_string()).unwrap_or_default()
            )),
            HostKeyStatus::Changed(f, line) => refuse(format!(
                "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n\
                 @    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\n\
                 @@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\n\
                 IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\n\
                 The fingerprint for the {kt} key sent by the remote host {name} is\n{fp}.\n\
                 Offending {kt} key in {}:{line}\n\
                 Host key for {name} has changed and you have requested strict checking.\n\
                 Host key verification failed.",
                f.display()
            )),
            HostKeyStatus::Revoked(f, line) => refuse(format!(
                "The {kt} host key for {name} ({fp}) is marked as revoked in {}:{line}. Host key verification failed.",
                f.display()
            )),
        }
    }
}

/// Quote a string for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// A remote path for the shell, with a leading `~` expanded by the target's shell.
fn remote_path_expr(p: &str) -> String {
    if p == "~" {
        "\"$HOME\"".into()
    } else if let Some(rest) = p.strip_prefix("~/") {
        format!("\"$HOME\"/{}", shell_quote(rest))
    } else {
        shell_quote(p)
    }
}

/// How many times a dropped session is opened again before the host is unreachable.
pub const REOPEN_TRIES: u32 = 2;

/// The sudo prompt marker the controller waits for.
pub(crate) fn become_prompt() -> String {
    format!(
        "[sudo via play, key={:016x}] password:",
        rand::random::<u64>()
    )
}

/// The command line that runs `script` (a POSIX shell script) as the become user:
/// `sudo [flags] -u USER sh -c SCRIPT` or `su [flags] USER -c SCRIPT`.
pub(crate) fn become_command(
    b: &BecomeParams,
    prompt: &str,
    script: &str,
) -> Result<String, ConnError> {
    match b.method.as_str() {
        "sudo" => {
            let exe = b.exe.clone().unwrap_or_else(|| "sudo".into());
            let flags = b.flags.clone().unwrap_or_else(|| "-H -S -n".into());
            let mut words: Vec<String> = flags.split_whitespace().map(str::to_string).collect();
            if b.password.is_some() {
                words.retain(|w| w != "-n");
                if !words.iter().any(|w| w == "-S") {
                    words.push("-S".into());
                }
                words.push("-p".into());
                words.push(shell_quote(prompt));
            }
            Ok(format!(
                "{exe} {} -u {} sh -c {}",
                words.join(" "),
                shell_quote(&b.user),
                shell_quote(script)
            ))
        }
        // su reads the password from standard input when there is no terminal and prompts
        // on standard error, so it needs no TTY.
        "su" => {
            let exe = b.exe.clone().unwrap_or_else(|| "su".into());
            let flags = b.flags.clone().unwrap_or_default();
            Ok(format!(
                "{exe} {flags} {} -c {}",
                shell_quote(&b.user),
                shell_quote(script)
            ))
        }
        other => Err(ConnError::failed(format!(
            "The become method '{other}' is not supported over SSH by play yet (sudo and su are)"
        ))),
    }
}

/// Whether the become program is asking for a password: our own sudo prompt, or su's
/// (which cannot be chosen: `Password:` in the target's language).
pub(crate) fn asks_password(text: &str, method: &str, prompt: &str) -> bool {
    if method == "sudo" {
        return text.contains(prompt);
    }
    let t = text.trim_end().to_lowercase();
    t.ends_with(':')
        && [
            "password",
            "passwort",
            "mot de passe",
            "contraseña",
            "senha",
            "пароль",
            "密码",
        ]
        .iter()
        .any(|w| t.contains(w))
}

// ---------------------------------------------------------------------------------------
// sessions

pub(crate) type Session = Handle<ClientHandler>;

fn tcp_error(host: &str, port: u16, e: &std::io::Error) -> ConnError {
    let why = match e.kind() {
        std::io::ErrorKind::ConnectionRefused => "Connection refused".to_string(),
        std::io::ErrorKind::TimedOut => "Connection timed out".to_string(),
        std::io::ErrorKind::HostUnreachable => "No route to host".to_string(),
        std::io::ErrorKind::NetworkUnreachable => "Network is unreachable".to_string(),
        _ => e.to_string(),
    };
    ConnError::ssh(format!("ssh: connect to host {host} port {port}: {why}"))
}

fn client_config(p: &ConnParams) -> client::Config {
    let mut preferred = russh::Preferred::default();
    // Offer first the key types known_hosts holds for this host, as OpenSSH does, so a host
    // with several keys is checked against the one recorded.
    if p.host_key_checking {
        let known: Vec<String> = known_keys(&p.known_hosts_files, &p.host, p.port)
            .iter()
            .map(|(_, _, _, k)| alg_family(&k.algorithm()))
            .collect();
        if !known.is_empty() {
            let mut keys: Vec<Algorithm> = preferred.key.to_vec();
            keys.sort_by_key(|a| !known.contains(&alg_family(a)));
            preferred.key = keys.into();
        }
    }
    client::Config {
        preferred,
        inactivity_timeout: None,
        keepalive_interval: Some(Duration::from_secs(15)),
        keepalive_max: 3,
        nodelay: true,
        ..Default::default()
    }
}

/// A session and the jump host sessions it runs through (kept alive with it).
struct Opened {
    session: Session,
    jumps: Vec<Session>,
    /// What the socket to the first hop has written (the agent upload paces itself by it).
    written: Arc<Written>,
}

fn open_session(
    p: &ConnParams,
    depth: u32,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Opened, ConnError>> + Send + '_>> {
    Box::pin(async move {
        let verdict = Arc::new(Mutex::new(None));
        let handler = ClientHandler {
            host: p.host.clone(),
            port: p.port,
            checking: p.host_key_checking,
            accept_new: p.accept_new_host_keys,
            known_hosts: p.known_hosts_files.clone(),
            verdict: verdict.clone(),
        };
        let config = Arc::new(client_config(p));
        let mut jumps = Vec::new();
        let written;
        let result = match p.jump_params() {
            Some(jp) if depth < 8 => {
                let jp = jp?;
                let mut jump = open_session(&jp, depth + 1).await.map_err(|e| {
                    ConnError::ssh(format!(
                        "through jump host {}: {}",
                        jp.host,
                        e.msg
                            .trim_start_matches("Failed to connect to the host via ssh: ")
                    ))
                })?;
                let ch = jump
                    .session
                    .channel_open_direct_tcpip(p.host.clone(), p.port as u32, "127.0.0.1", 0)
                    .await
                    .map_err(|e| {
                        ConnError::ssh(format!(
                            "channel to {}:{} through jump host {} failed: {e}",
                            p.host, p.port, jp.host
                        ))
                    })?;
                jumps.append(&mut jump.jumps);
                jumps.push(jump.session);
                // Bytes have left the controller only once the first hop's socket took
                // them (the jump session queues what goes through it as any session does).
                written = jump.written;
                client::connect_stream(config, ch.into_stream(), handler).await
            }
            _ => {
                let addrs: Vec<_> = match tokio::net::lookup_host((p.host.as_str(), p.port)).await {
                    Ok(a) => a.collect(),
                    Err(_) => {
                        return Err(ConnError::ssh(format!(
                            "ssh: Could not resolve hostname {}: Name or service not known",
                            p.host
                        )))
                    }
                };
                let mut last = None;
                let mut stream = None;
                for a in addrs {
                    match tokio::net::TcpStream::connect(a).await {
                        Ok(s) => {
                            stream = Some(s);
                            break;
                        }
                        Err(e) => last = Some(e),
                    }
                }
                let Some(stream) = stream else {
                    let e = last.unwrap_or_else(|| std::io::Error::other("no address"));
                    return Err(tcp_error(&p.host, p.port, &e));
                };
                let (stream, w) = SshSocket::new(stream);
                written = w;
                client::connect_stream(config, stream, handler).await
            }
        };
        let mut session = match result {
            Ok(s) => s,
            Err(e) => {
                if let Some(v) = verdict.lock().unwrap().take() {
                    return Err(ConnError::ssh(v));
                }
                return Err(ConnError::ssh(format!(
                    "kex_exchange_identification with {} port {}: {e}",
                    p.host, p.port
                )));
            }
        };
        authenticate(&mut session, p).await?;
        Ok(Opened {
            session,
            jumps,
            written,
        })
    })
}

async fn authenticate(s: &mut Session, p: &ConnParams) -> Result<(), ConnError> {
    use russh::client::AuthResult;
    let user = p.user.clone();
    let mut notes: Vec<String> = Vec::new();
    let mut methods: Option<Vec<String>> = None;
    fn note(methods: &mut Option<Vec<String>>, r: &AuthResult) {
        if let AuthResult::Failure {
            remaining_methods, ..
        } = r
        {
            if methods.is_none() {
                *methods = Some(
                    remaining_methods
                        .iter()
                        .map(|m| <&str>::from(m).to_string())
                        .collect(),
                );
            }
        }
    }
    let err = |e: russh::Error| ConnError::ssh(format!("authentication as {}: {e}", p.user));

    for (i, f) in p.identity_files.iter().enumerate() {
        if !f.exists() {
            if i < p.explicit_identities {
                notes.push(format!(
                    "Warning: Identity file {} not accessible: No such file or directory.",
                    f.display()
                ));
            }
            continue;
        }
        let key = match russh::keys::load_secret_key(f, None) {
            Ok(k) => k,
            Err(e) => {
                let why = if e.to_string().to_lowercase().contains("encrypt")
                    || matches!(e, russh::keys::Error::KeyIsEncrypted)
                {
                    "incorrect passphrase supplied to decrypt private key".to_string()
                } else {
                    "invalid format".to_string()
                };
                notes.push(format!("Load key \"{}\": {why}", f.display()));
                continue;
            }
        };
        let hash = if key.algorithm().is_rsa() {
            s.best_supported_rsa_hash()
                .await
                .ok()
                .flatten()
                .flatten()
                .or(Some(HashAlg::Sha256))
        } else {
            None
        };
        let r = s
            .authenticate_publickey(
                user.clone(),
                PrivateKeyWithHashAlg::new(Arc::new(key), hash),
            )
            .await
            .map_err(err)?;
        if r.success() {
            return Ok(());
        }
        note(&mut methods, &r);
    }

    if let Some(sock) = &p.ssh_auth_sock {
        if let Ok(mut agent) = russh::keys::agent::client::AgentClient::connect_uds(sock).await {
            let ids = agent.request_identities().await.unwrap_or_default();
            for id in ids {
                let russh::keys::agent::AgentIdentity::PublicKey { key, .. } = id else {
                    continue;
                };
                let hash = if key.algorithm().is_rsa() {
                    s.best_supported_rsa_hash()
                        .await
                        .ok()
                        .flatten()
                        .flatten()
                        .or(Some(HashAlg::Sha256))
                } else {
                    None
                };
                match s
                    .authenticate_publickey_with(user.clone(), key, hash, &mut agent)
                    .await
                {
                    Ok(r) if r.success() => return Ok(()),
                    Ok(r) => note(&mut methods, &r),
                    Err(_) => continue,
                }
            }
        }
    }

    if let Some(pw) = &p.password {
        let allowed = methods
            .as_ref()
            .map(|m| m.iter().any(|x| x == "password"))
            .unwrap_or(true);
        if allowed {
            let r = s
                .authenticate_password(user.clone(), pw.clone())
                .await
                .map_err(err)?;
            if r.success() {
                return Ok(());
            }
            note(&mut methods, &r);
        }
    }

    if methods.is_none() {
        if let Ok(r) = s.authenticate_none(user.clone()).await {
            if r.success() {
                return Ok(());
            }
            note(&mut methods, &r);
        }
    }
    let list = methods.unwrap_or_default().join(",");
    notes.push(format!(
        "{}@{}: Permission denied ({list}).",
        p.user, p.host
    ));
    Err(ConnError::ssh(notes.join("\r\n")))
}

/// A running agent on one exec channel.
struct AgentChan {
    reader: AgentReader,
    wr: russh::ChannelWriteHalf<client::Msg>,
    next_id: u64,
    pid: u32,
    /// The agent binary's path on the target.
    exe: Option<String>,
    /// Set once the channel is gone; later calls fail at once with this.
    dead: Option<String>,
}

/// The reading side of an agent channel: frames from stdout, the tail of stderr.
struct AgentReader {
    rd: russh::ChannelReadHalf,
    buf: FrameBuffer,
    stderr: Vec<u8>,
}

/// Send the agent binary the start script asked for: its size line, then the body slice
/// by slice. A failed read or send just stops: the script then exits, and its status
/// says why.
async fn send_agent(
    written: &Written,
    wr: &russh::ChannelWriteHalf<client::Msg>,
    size: Bytes,
    body: super::agent_install::Body,
) {
    if wr.data_bytes(size).await.is_err() {
        return;
    }
    let len = body.len;
    super::upload::paced(&AgentUpload { written, wr, body }, len).await;
}

/// The agent's bytes on their way through an exec channel.
struct AgentUpload<'a> {
    written: &'a Written,
    wr: &'a russh::ChannelWriteHalf<client::Msg>,
    body: super::agent_install::Body,
}

impl super::upload::Link for AgentUpload<'_> {
    async fn send(&self, offset: u64) -> Result<u64, ()> {
        let slice = self.body.slice(offset).map_err(|_| ())?;
        let n = slice.len() as u64;
        self.wr.data_bytes(slice).await.map_err(|_| ())?;
        Ok(n)
    }
    fn written(&self) -> &Written {
        self.written
    }
}

/// Where `needle` first occurs in `hay`.
fn find_bytes(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Keep the last 16 KiB of the agent's stderr, for messages.
fn push_tail(buf: &mut Vec<u8>, data: &[u8]) {
    buf.extend_from_slice(data);
    if buf.len() > 16384 {
        let cut = buf.len() - 16384;
        buf.drain(..cut);
    }
}

impl AgentReader {
    /// Read until one whole frame arrives. Also watches stderr for a sudo prompt when
    /// `prompt` is given (returning `Err(PROMPT)` so the caller can answer it).
    async fn read_frame(&mut self, prompt: Option<&str>) -> Result<Vec<u8>, AgentEnd> {
        let mut exit: Option<String> = None;
        loop {
            match self.buf.next_frame() {
                Ok(Some(f)) => return Ok(f),
                Ok(None) => {}
                Err(e) => return Err(AgentEnd::Ended(e)),
            }
            if let Some(p) = prompt {
                let text = String::from_utf8_lossy(&self.stderr);
                if text.contains(p) {
                    self.stderr.clear();
                    return Err(AgentEnd::Prompt);
                }
            }
            match self.rd.wait().await {
                Some(ChannelMsg::Data { data }) => self.buf.push(&data),
                Some(ChannelMsg::ExtendedData { data, .. }) => push_tail(&mut self.stderr, &data),
                Some(ChannelMsg::ExitStatus { exit_status }) => {
                    exit = Some(format!("exit status {exit_status}"))
                }
                Some(ChannelMsg::ExitSignal { signal_name, .. }) => {
                    exit = Some(format!("killed by signal {signal_name:?}"))
                }
                Some(ChannelMsg::Close) | None => {
                    let why = exit.unwrap_or_else(|| "the SSH session was closed".into());
                    return Err(AgentEnd::Ended(why));
                }
                Some(_) => {}
            }
        }
    }

    fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).trim().to_string()
    }
}

impl AgentChan {
    fn new(ch: russh::Channel<client::Msg>) -> AgentChan {
        let (rd, wr) = ch.split();
        AgentChan {
            reader: AgentReader {
                rd,
                buf: FrameBuffer::default(),
                stderr: Vec::new(),
            },
            wr,
            next_id: 1,
            pid: 0,
            exe: None,
            dead: None,
        }
    }

    fn stderr_text(&self) -> String {
        self.reader.stderr_text()
    }

    /// Check the agent's hello frame and take its pid and path.
    fn greet(&mut self, hello: &[u8]) -> Result<(), ConnError> {
        let v: serde_json::Value = serde_json::from_slice(hello)
            .map_err(|e| ConnError::unreachable(format!("The agent sent a bad greeting: {e}")))?;
        if v.get("hello").and_then(|h| h.as_str()) != Some("play-agent") {
            return Err(ConnError::unreachable(format!(
                "The agent sent a bad greeting: {v}"
            )));
        }
        self.pid = v.get("pid").and_then(|p| p.as_u64()).unwrap_or(0) as u32;
        self.exe = v.get("exe").and_then(|p| p.as_str()).map(str::to_string);
        self.reader.stderr.clear();
        Ok(())
    }
}

enum AgentEnd {
    Prompt,
    Ended(String),
}

/// The internal verdict of a sudo that wants a TTY (the caller retries on one).
const NEEDS_TTY: &str = "sudo needs a TTY";

/// What a become program that exited before the agent started means, in Ansible's words.
pub(crate) fn become_failure(method: &str, out: &str) -> ConnError {
    let low = out.to_lowercase();
    if low.contains("must have a tty") || low.contains("no tty present") {
        return ConnError::failed(NEEDS_TTY);
    }
    if low.contains("password is required") {
        return ConnError::failed(format!("Missing {method} password"));
    }
    if low.contains("incorrect password")
        || low.contains("sorry, try again")
        || low.contains("authentication failure")
    {
        return ConnError::failed(format!("Incorrect {method} password"));
    }
    ConnError::failed(format!("privilege escalation failed: {out}"))
}

/// The open session, or the error for a closed one.
fn open_session_of<'a>(inner: &'a Inner, p: &ConnParams) -> Result<&'a Session, ConnError> {
    opened_of(inner, p).map(|o| &o.session)
}

fn opened_of<'a>(inner: &'a Inner, p: &ConnParams) -> Result<&'a Opened, ConnError> {
    match &inner.session {
        Some(o) if !o.session.is_closed() => Ok(o),
        _ => Err(ConnError::ssh(format!(
            "the SSH session to {} is closed",
            p.host
        ))),
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct BecomeKey(String, String, Option<String>, Option<String>);

fn become_key(b: Option<&BecomeParams>) -> Option<BecomeKey> {
    b.map(|b| {
        BecomeKey(
            b.method.clone(),
            b.user.clone(),
            b.flags.clone(),
            b.exe.clone(),
        )
    })
}

struct Inner {
    session: Option<Opened>,
    agents: HashMap<Option<BecomeKey>, AgentChan>,
    /// Where the login user's agent runs from (its hello says), for become agents.
    login_agent_path: Option<String>,
    /// The target's `uname -sm` when the agent cannot run there: modules then run from the
    /// controller through plain commands (connection::agentless).
    foreign: Option<String>,
}

/// One SSH session to one host, with its agent(s).
pub struct SshConnection {
    params: ConnParams,
    agent_binary: PathBuf,
    agent_hash: String,
    inner: Mutex<Inner>,
    uploaded: std::sync::atomic::AtomicBool,
    /// Whether the warning about running without the agent was given.
    warned_agentless: std::sync::atomic::AtomicBool,
}

impl SshConnection {
    /// Open the session, authenticate, check the host key, make sure the agent is on the
    /// target (uploading it if missing) and start it. Blocking.
    pub fn connect(p: &ConnParams) -> Result<SshConnection, ConnError> {
        let agent_binary = match &p.agent_binary {
            Some(b) => b.clone(),
            None => super::agent_install::default_binary()
                .map_err(|e| ConnError::unreachable(format!("cannot find the play binary: {e}")))?,
        };
        let agent_hash = file_sha256(&agent_binary).map_err(|e| {
            ConnError::unreachable(format!(
                "cannot read the agent binary {}: {e}",
                agent_binary.display()
            ))
        })?;
        let c = SshConnection {
            params: p.clone(),
            agent_binary,
            agent_hash,
            inner: Mutex::new(Inner {
                session: None,
                agents: HashMap::new(),
                login_agent_path: None,
                foreign: None,
            }),
            uploaded: false.into(),
            warned_agentless: false.into(),
        };
        {
            let mut inner = c.inner.lock().unwrap();
            runtime().block_on(async {
                let opened = tokio::time::timeout(p.connect_timeout, open_session(p, 0))
                    .await
                    .map_err(|_| {
                        ConnError::ssh(format!(
                            "ssh: connect to host {} port {}: Connection timed out",
                            p.host, p.port
                        ))
                    })??;
                inner.session = Some(opened);
                c.ensure_agent(&mut inner, None).await
            })?;
        }
        Ok(c)
    }

    /// The settings this connection was opened with.
    pub fn params(&self) -> &ConnParams {
        &self.params
    }

    /// Whether this connection had to upload the agent (false when a previous run left it).
    pub fn uploaded_agent(&self) -> bool {
        self.uploaded.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The process id of the plain (non-become) agent on the target.
    pub fn agent_pid(&self) -> Option<u32> {
        self.inner.lock().unwrap().agents.get(&None).map(|a| a.pid)
    }

    /// Run a shell command line on its own channel with a TTY, as `ssh -tt host CMD` does
    /// (Ansible runs `raw` and `script` that way), under `become` when given: the output
    /// is what the terminal shows, stdout and stderr together with CRLF line ends, less
    /// the become program's prompt. Returns the exit code and the output.
    pub fn exec_tty(
        &self,
        become_as: Option<&BecomeParams>,
        cmd: &str,
    ) -> Result<(i64, Vec<u8>), ConnError> {
        let prompt = become_prompt();
        let marker = format!("PLAY-BECOME-SUCCESS-{:016x}", rand::random::<u64>());
        let line = match become_as {
            Some(b) => become_command(b, &prompt, &format!("echo {marker}; {cmd}"))?,
            None => cmd.to_string(),
        };
        let mut inner = self.inner.lock().unwrap();
        runtime().block_on(async {
            self.reopen_if_dropped(&mut inner).await?;
            let session = open_session_of(&inner, &self.params)?;
            let ch = session
                .channel_open_session()
                .await
                .map_err(|e| ConnError::ssh(format!("cannot open a channel: {e}")))?;
            ch.request_pty(true, "xterm", 80, 24, 0, 0, &[])
                .await
                .map_err(|e| ConnError::ssh(format!("cannot allocate a TTY: {e}")))?;
            ch.exec(true, line)
                .await
                .map_err(|e| ConnError::ssh(format!("cannot run the command: {e}")))?;
            let (mut rd, wr) = ch.split();
            // Under become, everything up to the marker line is the become program's.
            let mut before: Option<Vec<u8>> = become_as.map(|_| Vec::new());
            let (mut out, mut code, mut answered) = (Vec::new(), None, false);
            while let Some(msg) = rd.wait().await {
                match msg {
                    ChannelMsg::Data { data } | ChannelMsg::ExtendedData { data, .. } => {
                        match before.as_mut() {
                            None => out.extend_from_slice(&data),
                            Some(pre) => pre.extend_from_slice(&data),
                        }
                    }
                    ChannelMsg::ExitStatus { exit_status } => code = Some(exit_status as i64),
                    // A command killed by a signal: the shell's convention.
                    ChannelMsg::ExitSignal { .. } if code.is_none() => code = Some(-1),
                    ChannelMsg::Close => break,
                    _ => {}
                }
                let (Some(pre), Some(b)) = (before.as_mut(), become_as) else {
                    continue;
                };
                let text = String::from_utf8_lossy(pre).into_owned();
                if let Some(pos) = text.find(&marker) {
                    let rest = text[pos + marker.len()..].trim_start_matches(['\r', '\n']);
                    out.extend_from_slice(rest.as_bytes());
                    before = None;
                } else if asks_password(&text, &b.method, &prompt) {
                    let method = &b.method;
                    match (&b.password, answered) {
                        (Some(pw), false) => {
                            answered = true;
                            pre.clear();
                            let _ = wr.data(format!("{pw}\n").as_bytes()).await;
                        }
                        (Some(_), true) => {
                            let _ = wr.close().await;
                            return Err(ConnError::failed(format!("Incorrect {method} password")));
                        }
                        (None, _) => {
                            let _ = wr.close().await;
                            return Err(ConnError::failed(format!("Missing {method} password")));
                        }
                    }
                }
            }
            if let (Some(pre), Some(b)) = (before, become_as) {
                let text = String::from_utf8_lossy(&pre).into_owned();
                return Err(become_failure(&b.method, text.trim()));
            }
            let code = code.ok_or_else(|| {
                ConnError::ssh(format!(
                    "the SSH session to {} closed during the command",
                    self.params.host
                ))
            })?;
            Ok((code, out))
        })
    }

    /// The remote directory holding the agent (shell form, `~` unexpanded).
    pub fn agent_dir(&self) -> String {
        format!(
            "{}/play-agent-{}",
            self.params.remote_tmp.trim_end_matches('/'),
            self.agent_hash
        )
    }

    async fn ensure_agent(
        &self,
        inner: &mut Inner,
        become_as: Option<&BecomeParams>,
    ) -> Result<(), ConnError> {
        let key = become_key(become_as);
        if inner.foreign.is_some() || inner.agents.get(&key).is_some_and(|a| a.dead.is_none()) {
            return Ok(());
        }
        inner.agents.remove(&key);
        if become_as.is_some() {
            // The login user's agent comes first: it puts the binary in place and says
            // where it is.
            Box::pin(self.ensure_agent(inner, None)).await?;
            if inner.foreign.is_some() {
                return Ok(());
            }
        }
        let agent = match self.start_agent(inner, become_as, false).await {
            Err(e) if e.msg == NEEDS_TTY => self.start_agent(inner, become_as, true).await,
            other => other,
        }?;
        if let Some(agent) = agent {
            if become_as.is_none() {
                inner.login_agent_path = agent.exe.clone();
            }
            inner.agents.insert(key, agent);
        }
        Ok(())
    }

    /// Start an agent on one exec channel, as the login user or (with `b`) as the become
    /// user on a TTY when `pty`: run the start script, answer the password prompt, send
    /// the binary when the script asks for it, and wait for the agent's hello. `None`
    /// when the target is not a platform the agent runs on (`inner.foreign` then says
    /// which). Failures are Ansible's messages; `NEEDS_TTY` asks the caller to try again
    /// on a TTY.
    async fn start_agent(
        &self,
        inner: &mut Inner,
        b: Option<&BecomeParams>,
        pty: bool,
    ) -> Result<Option<AgentChan>, ConnError> {
        let opened = opened_of(inner, &self.params)?;
        let (session, written) = (&opened.session, &*opened.written);
        let shared = match b {
            Some(_) => Some(inner.login_agent_path.clone().ok_or_else(|| {
                ConnError::unreachable("The agent did not say where it runs from")
            })?),
            None => None,
        };
        let dir = remote_path_expr(&self.agent_dir());
        let place = Place {
            dir: &dir,
            hash: &self.agent_hash,
            shared: shared.as_deref(),
        };
        let script = start_script(&place, pty);
        let prompt = become_prompt();
        let cmd = match b {
            Some(b) => become_command(b, &prompt, &script)?,
            None => format!("sh -c {}", shell_quote(&script)),
        };
        let ch = session
            .channel_open_session()
            .await
            .map_err(|e| ConnError::ssh(format!("cannot open a channel: {e}")))?;
        if pty {
            ch.request_pty(true, "dumb", 0, 0, 0, 0, &[])
                .await
                .map_err(|e| ConnError::ssh(format!("cannot allocate a TTY: {e}")))?;
        }
        ch.exec(true, cmd.as_str())
            .await
            .map_err(|e| ConnError::ssh(format!("cannot start the agent: {e}")))?;
        let mut agent = AgentChan::new(ch);
        let limit = self.params.connect_timeout + Duration::from_secs(20);
        let mut answered = false;
        let mut code = None;
        let mut sent = false;
        // Everything before the start mark: sudo/su prompts and messages (on a TTY they
        // share stdout with the agent), and the request for the binary.
        let mut pre: Vec<u8> = Vec::new();
        let started = tokio::time::timeout(limit, async {
            let (reader, wr) = (&mut agent.reader, &agent.wr);
            // The binary is sent while the output is read: a script that stops reading
            // early (a full disk) exits, and its status says why.
            let mut sending: Option<
                std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>>,
            > = None;
            loop {
                if let Some(pos) = find_bytes(&pre, START_MARK.as_bytes()) {
                    reader.buf.push(&pre[pos + START_MARK.len()..]);
                    return Ok(true);
                }
                if let Some(pos) = find_bytes(&pre, SEND_MARK.as_bytes()) {
                    if let Some(end) = pre[pos..].iter().position(|&c| c == b'\n') {
                        let form = String::from_utf8_lossy(&pre[pos + SEND_MARK.len()..pos + end])
                            .trim()
                            .to_string();
                        pre.drain(..pos + end + 1);
                        let (size, body) = send_bytes(&self.agent_binary, &self.agent_hash, &form)
                            .map_err(ConnError::unreachable)?;
                        sending = Some(Box::pin(send_agent(written, wr, size, body)));
                        sent = true;
                        continue;
                    }
                }
                if let Some(b) = b {
                    let err = String::from_utf8_lossy(&reader.stderr).into_owned();
                    let out = String::from_utf8_lossy(&pre).into_owned();
                    let shown = if pty { &out } else { &err };
                    if asks_password(shown, &b.method, &prompt) {
                        match (&b.password, answered) {
                            (Some(pw), false) => {
                                answered = true;
                                if pty {
                                    pre.clear();
                                } else {
                                    reader.stderr.clear();
                                }
                                let line = format!("{pw}\n");
                                let _ = wr.data(line.as_bytes()).await;
                            }
                            (Some(_), true) => {
                                return Err(ConnError::failed(format!(
                                    "Incorrect {} password",
                                    b.method
                                )))
                            }
                            (None, _) => {
                                return Err(ConnError::failed(format!(
                                    "Missing {} password",
                                    b.method
                                )))
                            }
                        }
                    }
                }
                let msg = match sending.as_mut() {
                    Some(send) => tokio::select! {
                        _ = send => {
                            sending = None;
                            continue;
                        }
                        m = reader.rd.wait() => m,
                    },
                    None => reader.rd.wait().await,
                };
                match msg {
                    Some(ChannelMsg::Data { data }) => pre.extend_from_slice(&data),
                    Some(ChannelMsg::ExtendedData { data, .. }) => {
                        push_tail(&mut reader.stderr, &data)
                    }
                    Some(ChannelMsg::ExitStatus { exit_status }) => code = Some(exit_status),
                    Some(ChannelMsg::Close) | None => return Ok(false),
                    Some(_) => {}
                }
            }
        })
        .await;
        let host = &self.params.inventory_name;
        match started {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => {
                let err = agent.stderr_text();
                return match (code, b) {
                    (Some(FOREIGN), _) => {
                        let uname = err.trim_start_matches("PLAY_AGENT_ARCH ").trim();
                        inner.foreign = Some(uname.to_string());
                        Ok(None)
                    }
                    (Some(WRITE_FAILED), _) => Err(ConnError::unreachable(format!(
                        "Failed to write the play agent ({} bytes) to {} on {host}: {err}. Free some space there or point \
                         remote_tmp (ansible.cfg, ANSIBLE_REMOTE_TMP or ansible_remote_tmp) at a file system with room",
                        std::fs::metadata(&self.agent_binary).map(|m| m.len()).unwrap_or(0),
                        self.agent_dir(),
                    ))),
                    (Some(HASH_MISMATCH), _) => Err(ConnError::unreachable(format!(
                        "The agent uploaded to {} on {host} does not have the expected sha256 {} ({err})",
                        self.agent_dir(),
                        self.agent_hash
                    ))),
                    (_, Some(b)) => {
                        let all = format!("{}\n{}", String::from_utf8_lossy(&pre), err);
                        Err(become_failure(&b.method, all.trim()))
                    }
                    (other, None) => Err(ConnError::unreachable(format!(
                        "Failed to create temporary directory. In some cases, you may have been able to authenticate and did not have \
                         permissions on the target directory. Consider changing the remote tmp path in ansible.cfg to a path rooted in \
                         \"/tmp\". Failed command was: {cmd}, exited with result {}, stderr output: {err}",
                        other.map(|c| c.to_string()).unwrap_or_else(|| "unknown".into())
                    ))),
                };
            }
            Ok(Err(e)) => {
                let _ = agent.wr.close().await;
                return Err(e);
            }
            Err(_) => {
                let _ = agent.wr.close().await;
                return Err(match b {
                    Some(_) => ConnError::failed(format!(
                        "Timeout ({}s) waiting for privilege escalation prompt: {}",
                        limit.as_secs(),
                        agent.stderr_text()
                    )),
                    None => ConnError::unreachable(
                        "Timed out waiting for the agent to start on the target",
                    ),
                });
            }
        }
        if sent && b.is_none() {
            self.uploaded
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let hello = match tokio::time::timeout(limit, agent.reader.read_frame(None)).await {
            Ok(Ok(f)) => f,
            Ok(Err(AgentEnd::Ended(why))) => {
                let err = agent.stderr_text();
                return Err(match b {
                    Some(_) => {
                        ConnError::failed(format!("privilege escalation failed ({why}): {err}"))
                    }
                    None => ConnError::unreachable(format!(
                        "The agent on {host} did not start ({why}): {err}"
                    )),
                });
            }
            Ok(Err(AgentEnd::Prompt)) => unreachable!("no prompt is watched"),
            Err(_) => {
                let _ = agent.wr.close().await;
                return Err(match b {
                    Some(_) => ConnError::failed(
                        "Timed out waiting for the agent to start as the become user",
                    ),
                    None => ConnError::unreachable(
                        "Timed out waiting for the agent to start on the target",
                    ),
                });
            }
        };
        agent.greet(&hello)?;
        Ok(Some(agent))
    }

    /// Send one request to the agent (started under `become` when given) and wait for its
    /// response.
    pub fn request(
        &self,
        become_as: Option<&BecomeParams>,
        req: impl FnOnce(u64) -> Request,
    ) -> Result<ModuleResult, ConnError> {
        let mut inner = self.inner.lock().unwrap();
        runtime().block_on(async {
            self.reopen_if_dropped(&mut inner).await?;
            self.ensure_agent(&mut inner, become_as).await?;
            if let Some(uname) = &inner.foreign {
                return Err(ConnError::failed(format!(
                    "This needs the play agent, which cannot run on {} ({uname})",
                    self.params.inventory_name
                )));
            }
            let agent = inner
                .agents
                .get_mut(&become_key(become_as))
                .expect("agent started above");
            let id = agent.next_id;
            agent.next_id += 1;
            let req = req(id);
            let payload = serde_json::to_vec(&req)
                .map_err(|e| ConnError::failed(format!("cannot encode the request: {e}")))?;
            let host = self.params.inventory_name.clone();
            let lost = |agent: &mut AgentChan, why: String| {
                let err = agent.stderr_text();
                let msg = if err.is_empty() {
                    format!("The agent on {host} stopped during the task ({why})")
                } else {
                    format!("The agent on {host} stopped during the task ({why}): {err}")
                };
                agent.dead = Some(msg.clone());
                ConnError::unreachable(msg)
            };
            // Write and read at once: an agent that dies while a large request is sent
            // must end the call, not leave the write waiting for window forever.
            let bytes = Bytes::from(encode_frame(&payload));
            let got = {
                let (reader, wr) = (&mut agent.reader, &agent.wr);
                let write = wr.data_bytes(bytes);
                let read = reader.read_frame(None);
                let cancelled = cancel::requested(cancel::current());
                tokio::pin!(write, read, cancelled);
                let mut written = false;
                loop {
                    tokio::select! {
                        _ = &mut write, if !written => written = true,
                        r = &mut read => break Some(r),
                        _ = &mut cancelled => break None,
                    }
                }
            };
            let Some(got) = got else {
                // The task ran out of time: the end of the agent's request stream stops
                // the module and what it started; the next request starts a new agent.
                agent.dead = Some(format!("The agent on {host} was stopped with its task"));
                let _ = agent.wr.eof().await;
                let _ = agent.wr.close().await;
                return Err(ConnError::failed("the task was abandoned"));
            };
            let frame = match got {
                Ok(f) => f,
                Err(AgentEnd::Ended(why)) => return Err(lost(agent, why)),
                Err(AgentEnd::Prompt) => return Err(lost(agent, "unexpected prompt".into())),
            };
            let resp: Response = serde_json::from_slice(&frame)
                .map_err(|e| lost(agent, format!("bad response: {e}")))?;
            if resp.id != id {
                return Err(lost(agent, format!("response {} to request {id}", resp.id)));
            }
            Ok(resp.result)
        })
    }

    /// Run a native module through the agent (one round trip).
    pub fn run_module(
        &self,
        name: &str,
        args: &Args,
        ctx: &ModuleContext,
    ) -> Result<ModuleResult, ConnError> {
        self.run_module_as(None, name, args, ctx)
    }

    /// Run a native module through the agent started under `become` (started on first use).
    pub fn run_module_as(
        &self,
        become_as: Option<&BecomeParams>,
        name: &str,
        args: &Args,
        ctx: &ModuleContext,
    ) -> Result<ModuleResult, ConnError> {
        if let Some(r) = self.run_agentless(become_as, name, args, ctx)? {
            return Ok(r);
        }
        self.request(become_as, |id| Request::Run {
            id,
            module: name.to_string(),
            args: args.clone(),
            ctx: ctx.clone(),
        })
    }

    /// On a target the agent cannot run on, run the module from here through plain remote
    /// commands (`None`: the target has the agent). A module that needs the agent fails,
    /// saying so; the first result on the host carries a warning about the fallback.
    fn run_agentless(
        &self,
        become_as: Option<&BecomeParams>,
        name: &str,
        args: &Args,
        ctx: &ModuleContext,
    ) -> Result<Option<ModuleResult>, ConnError> {
        let mut inner = self.inner.lock().unwrap();
        runtime().block_on(async {
            self.reopen_if_dropped(&mut inner).await?;
            self.ensure_agent(&mut inner, None).await
        })?;
        let Some(uname) = inner.foreign.clone() else {
            return Ok(None);
        };
        let session = open_session_of(&inner, &self.params)?;
        let host = super::agentless::RemoteHost::new(session, &self.params, become_as);
        let Some(mut r) = play_modules::host::run_on(&host, name, args, ctx) else {
            return Err(ConnError::failed(format!(
                "The module {name} needs the play agent, which cannot run on {} ({uname}; the agent is built for {}). \
                 Without it, play runs only {} (and fetch, through slurp) besides the tasks the controller runs itself.",
                self.params.inventory_name,
                local_uname(),
                play_modules::host::AGENTLESS.join(", ")
            )));
        };
        if let Some(e) = host.lost.into_inner() {
            return Err(e);
        }
        if !self
            .warned_agentless
            .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            let warning = format!(
                "The play agent ({}) cannot run on {} ({uname}): modules run from the controller through plain remote commands instead, which only {} (and fetch) can do.",
                local_uname(),
                self.params.inventory_name,
                play_modules::host::AGENTLESS.join(", ")
            );
            match r.get_mut("warnings").and_then(|w| w.as_array_mut()) {
                Some(list) => list.push(warning.into()),
                None => {
                    r.insert("warnings".into(), serde_json::json!([warning]));
                }
            }
        }
        Ok(Some(r))
    }

    /// Write a file on the target atomically.
    pub fn put_file(
        &self,
        become_as: Option<&BecomeParams>,
        path: &str,
        mode: Option<u32>,
        data: &[u8],
    ) -> Result<ModuleResult, ConnError> {
        use base64::Engine as _;
        let data = base64::engine::general_purpose::STANDARD.encode(data);
        self.request(become_as, |id| Request::Put {
            id,
            path: path.to_string(),
            mode,
            data,
        })
    }

    /// Read a file from the target (`content` is base64 in the result).
    pub fn fetch_file(
        &self,
        become_as: Option<&BecomeParams>,
        path: &str,
    ) -> Result<ModuleResult, ConnError> {
        self.request(become_as, |id| Request::Fetch {
            id,
            path: path.to_string(),
        })
    }

    /// A session that dropped between two requests (sshd restarted, network blip) is
    /// opened again, at most [`REOPEN_TRIES`] times; the agents start afresh on it.
    async fn reopen_if_dropped(&self, inner: &mut Inner) -> Result<(), ConnError> {
        if inner
            .session
            .as_ref()
            .is_some_and(|o| !o.session.is_closed())
        {
            return Ok(());
        }
        inner.agents.clear();
        inner.session = None;
        let mut last = None;
        for attempt in 0..REOPEN_TRIES {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(500 * attempt as u64)).await;
            }
            match tokio::time::timeout(self.params.connect_timeout, open_session(&self.params, 0))
                .await
            {
                Ok(Ok(o)) => {
                    inner.session = Some(o);
                    return Ok(());
                }
                Ok(Err(e)) => last = Some(e),
                Err(_) => {
                    last = Some(ConnError::ssh(format!(
                        "ssh: connect to host {} port {}: Connection timed out",
                        self.params.host, self.params.port
                    )))
                }
            }
        }
        Err(last.expect("at least one attempt"))
    }

    /// Close the agents and the session, then open them again (`meta: reset_connection`).
    pub fn reconnect(&self) -> Result<(), ConnError> {
        self.shutdown();
        let mut inner = self.inner.lock().unwrap();
        runtime().block_on(async {
            let opened =
                tokio::time::timeout(self.params.connect_timeout, open_session(&self.params, 0))
                    .await
                    .map_err(|_| {
                        ConnError::ssh(format!(
                            "ssh: connect to host {} port {}: Connection timed out",
                            self.params.host, self.params.port
                        ))
                    })??;
            inner.session = Some(opened);
            self.ensure_agent(&mut inner, None).await
        })
    }

    fn shutdown(&self) {
        let mut inner = self.inner.lock().unwrap();
        let agents: Vec<AgentChan> = inner.agents.drain().map(|(_, a)| a).collect();
        let session = inner.session.take();
        runtime().block_on(async move {
            for mut a in agents {
                let _ = a.wr.eof().await;
                // Give the agent a moment to exit on EOF; never wait long.
                let _ = tokio::time::timeout(Duration::from_secs(2), async {
                    while let Some(m) = a.reader.rd.wait().await {
                        if matches!(m, ChannelMsg::Close) {
                            break;
                        }
                    }
                })
                .await;
            }
            if let Some(o) = session {
                let _ = o
                    .session
                    .disconnect(russh::Disconnect::ByApplication, "", "en")
                    .await;
                for j in o.jumps.into_iter().rev() {
                    let _ = j
                        .disconnect(russh::Disconnect::ByApplication, "", "en")
                        .await;
                }
            }
        });
    }

    /// End the agents (EOF) and the session.
    pub fn close(self) {
        self.shutdown();
    }
}

impl std::fmt::Debug for SshConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshConnection")
            .field("host", &self.params.inventory_name)
            .field(
                "addr",
                &format!(
                    "{}@{}:{}",
                    self.params.user, self.params.host, self.params.port
                ),
            )
            .finish()
    }
}

impl Drop for SshConnection {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc2202() {
        assert_eq!(
            hex::encode(hmac_sha1(&[0x0b; 20], b"Hi There")),
            "b617318655057264e28bc0b6fb378c8ef146be00"
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("a b'c"), "'a b'\\''c'");
        assert_eq!(
            remote_path_expr("~/.ansible/tmp/x"),
            "\"$HOME\"/.ansible/tmp/x"
        );
        let b = BecomeParams {
            method: "sudo".into(),
            user: "root".into(),
            password: Some("x".into()),
            flags: None,
            exe: None,
        };
        assert_eq!(
            become_command(&b, "P:", "id").unwrap(),
            "sudo -H -S -p P: -u root sh -c id"
        );
        let su = BecomeParams {
            method: "su".into(),
            user: "app user".into(),
            ..b.clone()
        };
        assert_eq!(
            become_command(&su, "P:", "echo hi").unwrap(),
            "su  'app user' -c 'echo hi'"
        );
        assert!(asks_password("Password: ", "su", "P:"));
        assert!(!asks_password("P:", "su", "P:"));
        assert!(asks_password("xx P:", "sudo", "P:"));
        assert_eq!(
            become_failure("su", "su: Authentication failure").msg,
            "Incorrect su password"
        );
        assert_eq!(
            become_failure("sudo", "sudo: sorry, you must have a tty to run sudo").msg,
            NEEDS_TTY
        );
    }

    fn ed25519_b64(fill: u8) -> String {
        use base64::Engine as _;
        let mut blob = vec![0, 0, 0, 11];
        blob.extend_from_slice(b"ssh-ed25519");
        blob.extend_from_slice(&[0, 0, 0, 32]);
        blob.extend_from_slice(&[fill; 32]);
        base64::engine::general_purpose::STANDARD.encode(blob)
    }

    #[test]
    fn known_hosts_lookup() {
        let dir = tempfile::tempdir().unwrap();
        let kh = dir.path().join("known_hosts");
        let (k1, k2) = (ed25519_b64(1), ed25519_b64(2));
        let key = russh::keys::parse_public_key_base64(&k1).unwrap();
        let key2 = russh::keys::parse_public_key_base64(&k2).unwrap();
        std::fs::write(
            &kh,
            format!("# c\nother ssh-ed25519 {k1}\n[127.0.0.*]:2222,![127.0.0.9]:2222 ssh-ed25519 {k1}\n"),
        )
        .unwrap();
        let files = vec![kh.clone()];
        assert_eq!(
            check_host_key(&files, "127.0.0.5", 2222, &key),
            HostKeyStatus::Known
        );
        assert_eq!(
            check_host_key(&files, "127.0.0.9", 2222, &key),
            HostKeyStatus::Unknown
        );
        assert_eq!(
            check_host_key(&files, "127.0.0.5", 22, &key),
            HostKeyStatus::Unknown
        );
        assert_eq!(
            check_host_key(&files, "other", 22, &key2),
            HostKeyStatus::Changed(kh.clone(), 2)
        );
        // A hashed entry (ssh-keygen -H form) for "hashed".
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let salt = [7u8; 20];
        let h = hmac_sha1(&salt, b"hashed");
        std::fs::write(
            &kh,
            format!(
                "|1|{}|{} ssh-ed25519 {k2}\n",
                b64.encode(salt),
                b64.encode(h)
            ),
        )
        .unwrap();
        assert_eq!(
            check_host_key(&files, "hashed", 22, &key2),
            HostKeyStatus::Known
        );
        assert_eq!(
            check_host_key(&files, "hashed", 22, &key),
            HostKeyStatus::Changed(kh.clone(), 1)
        );
    }
}

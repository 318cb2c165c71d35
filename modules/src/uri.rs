//! `uri`: talk to an HTTP(S) endpoint, with Ansible's result shape (response headers as
//! lowercase keys with `_` for `-`, `status`, `msg` "OK (N bytes)", `json` for JSON
//! content types, `content` with `return_content`). Also holds the HTTP fetcher that
//! `get_url` shares: ureq for the transport, redirects followed here so that Ansible's
//! `follow_redirects` policies (safe, all, none, urllib2) and `redirected` are exact.
//!
//! `validate_certs: false` accepts any server certificate (TLS signatures are still
//! checked). `http_proxy`/`https_proxy` from the environment are used when `use_proxy`.
//!
//! Not supported: `unix_socket`, client certificates, GSSAPI, `ciphers`, `use_netrc`,
//! `no_proxy`, form-multipart bodies.

use crate::args::{b, file_common, i, l, p, r, s, Params, Spec, Type};
use crate::util::{apply_attrs, atomic_write, digest, Failure, FileAttrs, MResult};
use crate::{Args, ModuleContext, ModuleResult};
use base64::Engine;
use serde_json::{json, Map, Value};
use std::io::Read;
use std::path::Path;
use std::time::Duration;

/// Ansible's `url_argument_spec()`.
pub(crate) fn url_opts() -> Vec<crate::args::Opt> {
    vec![
        s("url"),
        b("force").default(false),
        s("http_agent").default("ansible-httpget"),
        b("use_proxy").default(true),
        b("validate_certs").default(true),
        s("url_username"),
        s("url_password"),
        b("force_basic_auth").default(false),
        p("client_cert"),
        p("client_key"),
        b("use_gssapi").default(false),
    ]
}

fn spec() -> Spec {
    let mut opts = url_opts();
    for o in opts.iter_mut() {
        if o.name == "url" {
            o.required = true;
        }
        if o.name == "url_username" {
            o.aliases = &["user"];
        }
        if o.name == "url_password" {
            o.aliases = &["password"];
        }
    }
    opts.extend(vec![
        s("follow_redirects")
            .default("safe")
            .choices(&["all", "no", "none", "safe", "urllib2", "yes"]),
        p("dest"),
        r("body"),
        s("body_format").default("raw").choices(&[
            "form-urlencoded",
            "json",
            "raw",
            "form-multipart",
        ]),
        p("src"),
        s("method").default("GET"),
        b("return_content").default(false),
        p("creates"),
        p("removes"),
        l("status_code").elements(Type::Int).default(json!([200])),
        i("timeout").default(30),
        d_headers(),
        p("unix_socket"),
        b("remote_src").default(false),
        p("ca_path"),
        l("unredirected_headers")
            .elements(Type::Str)
            .default(json!([])),
        b("decompress").default(true),
        l("ciphers").elements(Type::Str),
        b("use_netrc").default(true),
    ]);
    opts.extend(file_common());
    Spec::new(opts).exclusive(&["body", "src"])
}

fn d_headers() -> crate::args::Opt {
    crate::args::d("headers").default(json!({}))
}

/// Python's `json.dumps` with default separators and `ensure_ascii`.
pub(crate) fn py_json(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => if *b { "true" } else { "false" }.into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let mut o = String::from("\"");
            for c in s.chars() {
                match c {
                    '"' => o.push_str("\\\""),
                    '\\' => o.push_str("\\\\"),
                    '\n' => o.push_str("\\n"),
                    '\r' => o.push_str("\\r"),
                    '\t' => o.push_str("\\t"),
                    '\x08' => o.push_str("\\b"),
                    '\x0c' => o.push_str("\\f"),
                    c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                        let mut buf = [0u16; 2];
                        for u in c.encode_utf16(&mut buf) {
                            o.push_str(&format!("\\u{:04x}", u));
                        }
                    }
                    c => o.push(c),
                }
            }
            o.push('"');
            o
        }
        Value::Array(a) => format!("[{}]", a.iter().map(py_json).collect::<Vec<_>>().join(", ")),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", py_json(&Value::String(k.clone())), py_json(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Python's `quote_plus`.
pub(crate) fn quote_plus(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                o.push(b as char)
            }
            b' ' => o.push('+'),
            b => o.push_str(&format!("%{b:02X}")),
        }
    }
    o
}

fn form_urlencoded(body: &Value) -> String {
    let pairs: Vec<(String, Value)> = match body {
        Value::String(s) => return s.clone(),
        Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        Value::Array(a) => a
            .iter()
            .filter_map(|e| match e {
                Value::Array(kv) if kv.len() == 2 => {
                    Some((crate::args::py_str(&kv[0]), kv[1].clone()))
                }
                _ => None,
            })
            .collect(),
        other => return crate::args::py_str(other),
    };
    let mut out = Vec::new();
    for (k, v) in pairs {
        let vals = match v {
            Value::Array(a) => a,
            other => vec![other],
        };
        for v in vals {
            if v.is_null() {
                continue;
            }
            out.push(format!(
                "{}={}",
                quote_plus(&k),
                quote_plus(&crate::args::py_str(&v))
            ));
        }
    }
    out.join("&")
}

/// What a fetch returned, in the shape of Ansible's `fetch_url` info.
pub(crate) struct Fetched {
    /// HTTP status, or -1 when no response came back.
    pub status: i64,
    pub msg: String,
    /// The final URL after redirects.
    pub url: String,
    /// Response headers, names lowercased, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// True when the response is a success (urllib did not raise).
    pub ok: bool,
}

pub(crate) struct Request<'a> {
    pub url: &'a str,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub timeout: u64,
    /// "all", "none", "safe" or "urllib2".
    pub follow: String,
    pub if_modified_since: Option<i64>,
    pub force: bool,
    pub user: Option<String>,
    pub password: Option<String>,
    pub force_basic_auth: bool,
    pub agent: String,
    pub validate_certs: bool,
    pub use_proxy: bool,
}

/// A certificate verifier for `validate_certs: false`: any certificate is accepted.
#[derive(Debug)]
struct NoVerify(std::sync::Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn insecure_tls() -> std::sync::Arc<rustls::ClientConfig> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("tls versions")
        .dangerous()
        .with_custom_certificate_verifier(std::sync::Arc::new(NoVerify(provider)))
        .with_no_client_auth();
    std::sync::Arc::new(cfg)
}

/// The proxy from the environment for this URL, as urllib's `getproxies()`.
fn env_proxy(url: &str) -> Option<ureq::Proxy> {
    let scheme = url.split("://").next().unwrap_or("http").to_lowercase();
    let var = format!("{scheme}_proxy");
    let v = std::env::var(&var)
        .or_else(|_| std::env::var(var.to_uppercase()))
        .ok()
        .filter(|v| !v.is_empty())?;
    ureq::Proxy::new(v).ok()
}

fn http_date(t: i64) -> String {
    let lt = crate::util::LocalTime::at(t, 0).utc();
    lt.format("%a, %d %b %Y %H:%M:%S GMT")
}

fn join_url(base: &str, loc: &str) -> String {
    if loc.contains("://") {
        return loc.to_string();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
    let host_end = rest.find('/').unwrap_or(rest.len());
    let host = &rest[..host_end];
    if let Some(stripped) = loc.strip_prefix("//") {
        return format!("{scheme}://{stripped}");
    }
    if loc.starts_with('/') {
        return format!("{scheme}://{host}{loc}");
    }
    let path = &rest[host_end..];
    let dir = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "/",
    };
    format!("{scheme}://{host}{dir}{loc}")
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "",
    }
}

fn io_errno(e: &(dyn std::error::Error + 'static)) -> Option<std::io::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cur {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            return Some(std::io::Error::new(io.kind(), io.to_string())).map(|x| {
                match io.raw_os_error() {
                    Some(n) => std::io::Error::from_raw_os_error(n),
                    None => x,
                }
            });
        }
        cur = c.source();
    }
    None
}

/// Fetch a URL (http, https or file) as Ansible's `fetch_url` does.
pub(crate) fn fetch(req: &Request) -> Fetched {
    if let Some(path) = req.url.strip_prefix("file://") {
        return match std::fs::read(path) {
            Ok(data) => Fetched {
                status: 200,
                msg: format!("OK ({} bytes)", data.len()),
                url: req.url.to_string(),
                headers: vec![("content-length".into(), data.len().to_string())],
                body: data,
                ok: true,
            },
            Err(e) => Fetched {
                status: -1,
                msg: format!(
                    "Request failed: <urlopen error [Errno {}] {}: '{}'>",
                    e.raw_os_error().unwrap_or(0),
                    crate::util::strerror(&e),
                    path
                ),
                url: req.url.to_string(),
                headers: Vec::new(),
                body: Vec::new(),
                ok: false,
            },
        };
    }
    let mut builder = ureq::AgentBuilder::new()
        .redirects(0)
        .timeout_connect(Duration::from_secs(req.timeout.max(1)))
        .timeout(Duration::from_secs(req.timeout.max(1)));
    if !req.validate_certs {
        builder = builder.tls_config(insecure_tls());
    }
    if req.use_proxy {
        if let Some(p) = env_proxy(req.url) {
            builder = builder.proxy(p);
        }
    }
    let agent = builder.build();
    let mut url = req.url.to_string();
    let mut method = req.method.clone();
    let mut body = req.body.clone();
    for _ in 0..11 {
        let mut rq = agent.request(&method, &url);
        rq = rq.set("User-Agent", &req.agent);
        rq = rq.set("Accept-Encoding", "identity");
        if let Some(t) = req.if_modified_since.filter(|_| !req.force) {
            rq = rq.set("If-Modified-Since", &http_date(t));
        }
        if req.force {
            rq = rq.set("cache-control", "no-cache");
        }
        if req.force_basic_auth || req.user.is_some() {
            if let Some(u) = &req.user {
                let cred = format!("{}:{}", u, req.password.clone().unwrap_or_default());
                rq = rq.set(
                    "Authorization",
                    &format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD.encode(cred)
                    ),
                );
            }
        }
        for (k, v) in &req.headers {
            rq = rq.set(k, v);
        }
        let res = match &body {
            Some(b) => rq.send_bytes(b),
            None => rq.call(),
        };
        let (resp, ok) = match res {
            Ok(r) => (r, true),
            Err(ureq::Error::Status(_, r)) => (r, false),
            Err(ureq::Error::Transport(t)) => {
                let msg = match io_errno(&t) {
                    Some(io) if io.raw_os_error().is_some() => format!(
                        "Request failed: <urlopen error [Errno {}] {}>",
                        io.raw_os_error().unwrap_or(0),
                        crate::util::strerror(&io)
                    ),
                    _ => format!("Request failed: <urlopen error {t}>"),
                };
                return Fetched {
                    status: -1,
                    msg,
                    url,
                    headers: Vec::new(),
                    body: Vec::new(),
                    ok: false,
                };
            }
        };
        let status = resp.status();
        let text = resp.status_text().to_string();
        let text = if text.is_empty() {
            reason(status).to_string()
        } else {
            text
        };
        let mut headers = Vec::new();
        for n in resp.headers_names() {
            let vals = resp.all(&n);
            headers.push((n.to_lowercase(), vals.join(", ")));
        }
        let location = resp.header("location").map(str::to_string);
        let is_redirect = matches!(status, 301 | 302 | 303 | 307 | 308);
        if is_redirect {
            if let Some(loc) = &location {
                let get_like = method == "GET" || method == "HEAD";
                let follow = match req.follow.as_str() {
                    "all" => true,
                    "safe" => get_like,
                    "urllib2" => get_like || ((301..=303).contains(&status) && method == "POST"),
                    _ => false,
                };
                if follow {
                    url = join_url(&url, loc);
                    if !get_like && (301..=303).contains(&status) && req.follow != "all" {
                        method = "GET".into();
                        body = None;
                    }
                    continue;
                }
            }
        }
        let mut data = Vec::new();
        let _ = resp.into_reader().take(1 << 34).read_to_end(&mut data);
        let clen = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| "unknown".into());
        let success = ok && !is_redirect && status < 300;
        let msg = if success {
            format!("OK ({clen} bytes)")
        } else {
            format!("HTTP Error {status}: {text}")
        };
        return Fetched {
            status: status as i64,
            msg,
            url,
            headers,
            body: data,
            ok: success,
        };
    }
    Fetched {
        status: -1,
        msg: "Request failed: <urlopen error too many redirects>".into(),
        url,
        headers: Vec::new(),
        body: Vec::new(),
        ok: false,
    }
}

/// Explicit `headers:` from a dict argument, values as Python's str().
pub(crate) fn header_list(v: Option<&Value>) -> Vec<(String, String)> {
    match v {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| (k.clone(), crate::args::py_str(v)))
            .collect(),
        _ => Vec::new(),
    }
}

fn inner(params: &Params, ctx: &ModuleContext) -> MResult<Map<String, Value>> {
    let url = params.string("url").unwrap_or_default();
    let method = params.string("method").unwrap_or_default().to_uppercase();
    if method.is_empty() || !method.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(Failure::new(
            "Parameter 'method' needs to be a single word in uppercase, like GET or POST.",
        ));
    }
    let fmt = params
        .string("body_format")
        .unwrap_or_default()
        .to_lowercase();
    let mut headers = header_list(params.get("headers"));
    let has_ct = headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    let body_v = params.get("body").cloned().unwrap_or(Value::Null);
    let mut body: Option<Vec<u8>> = match fmt.as_str() {
        "json" => {
            if !has_ct {
                headers.push(("Content-Type".into(), "application/json".into()));
            }
            if body_v.is_null() && params.get("body").is_none() {
                None
            } else {
                Some(match &body_v {
                    Value::String(s) => s.clone().into_bytes(),
                    v => py_json(v).into_bytes(),
                })
            }
        }
        "form-urlencoded" => {
            if !has_ct {
                headers.push((
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                ));
            }
            if body_v.is_null() {
                None
            } else {
                Some(form_urlencoded(&body_v).into_bytes())
            }
        }
        "form-multipart" => {
            return Err(Failure::new(
                "failed to parse body as form-multipart: not supported natively",
            ))
        }
        _ => match &body_v {
            Value::Null => None,
            Value::String(s) => Some(s.clone().into_bytes()),
            v => Some(crate::args::py_str(v).into_bytes()),
        },
    };
    if let Some(src) = params.string("src") {
        body = Some(std::fs::read(&src).map_err(|_| {
            Failure::new(format!("Unable to open source file {src}")).with("elapsed", 0)
        })?);
    }
    // urllib labels any request body it sends without a Content-Type as a form.
    if body.is_some()
        && !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        headers.push((
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
    }
    if let Some(c) = params.string("creates") {
        if Path::new(&c).exists() {
            let mut r = Map::new();
            r.insert(
                "stdout".into(),
                json!(format!("skipped, since '{c}' exists")),
            );
            r.insert("changed".into(), json!(false));
            return Ok(r);
        }
    }
    if let Some(c) = params.string("removes") {
        if !Path::new(&c).exists() {
            let mut r = Map::new();
            r.insert(
                "stdout".into(),
                json!(format!("skipped, since '{c}' does not exist")),
            );
            r.insert("changed".into(), json!(false));
            return Ok(r);
        }
    }
    let status_code: Vec<i64> = match params.get("status_code") {
        Some(Value::Array(a)) => a.iter().filter_map(|v| v.as_i64()).collect(),
        _ => vec![200],
    };
    let dest = params.string("dest");
    let follow = match params.str("follow_redirects").unwrap_or("safe") {
        "yes" => "all",
        "no" => "none",
        o => o,
    }
    .to_string();
    let ims = dest
        .as_ref()
        .filter(|d| Path::new(d).is_file())
        .and_then(|d| std::fs::metadata(d).ok())
        .map(|m| std::os::unix::fs::MetadataExt::mtime(&m));
    let start = std::time::Instant::now();
    let f = fetch(&Request {
        url: &url,
        method: method.clone(),
        headers,
        body,
        timeout: params.int("timeout").unwrap_or(30).max(1) as u64,
        follow,
        if_modified_since: ims,
        force: params.bool("force"),
        user: params.string("url_username"),
        password: params.string("url_password"),
        force_basic_auth: params.bool("force_basic_auth"),
        agent: params.string("http_agent").unwrap_or_default(),
        validate_certs: params.bool("validate_certs"),
        use_proxy: params.bool("use_proxy"),
    });
    let elapsed = start.elapsed().as_secs();
    let ctype = f
        .headers
        .iter()
        .find(|(k, _)| k == "content-type")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| "application/octet-stream".into());
    let main = ctype.split(';').next().unwrap_or("").trim().to_lowercase();
    let sub = main.split('/').nth(1).unwrap_or("").to_string();
    let sub = sub.rsplit('+').next().unwrap_or("").to_string();
    let maybe_json = f.status != -1 && ["json", "javascript"].contains(&sub.as_str());
    let mut resp = Map::new();
    resp.insert("redirected".into(), json!(f.url != url));
    for (k, v) in &f.headers {
        resp.insert(k.replace('-', "_"), json!(v));
    }
    resp.insert("msg".into(), json!(f.msg));
    resp.insert("url".into(), json!(f.url));
    resp.insert("status".into(), json!(f.status));
    if f.ok {
        resp.insert("cookies".into(), json!({}));
        resp.insert("cookies_string".into(), json!(""));
    }
    resp.insert("elapsed".into(), json!(elapsed));
    resp.insert("changed".into(), json!(false));
    if let Some(loc) = resp
        .get("location")
        .and_then(|v| v.as_str())
        .map(str::to_string)
    {
        resp.insert("location".into(), json!(join_url(&url, &loc)));
    }
    if f.status != -1 {
        if let Some(d) = dest.clone() {
            let mut d2 = d.clone();
            if Path::new(&d).is_dir() {
                let name = f
                    .url
                    .split('?')
                    .next()
                    .and_then(|u| u.rsplit('/').next())
                    .filter(|s| !s.is_empty())
                    .unwrap_or("index.html")
                    .to_string();
                d2 = Path::new(&d).join(name).display().to_string();
            }
            if status_code.contains(&f.status) && f.status != 304 {
                let cur = std::fs::read(&d2).ok();
                let mut changed = true;
                if cur.as_deref().map(|c| digest(c, "sha1")) != Some(digest(&f.body, "sha1")) {
                    atomic_write(Path::new(&d2), &f.body)
                        .map_err(|e| Failure::new(format!("failed to copy to {d2}: {e}")))?;
                }
                let fa = FileAttrs::from_params(params);
                if apply_attrs(Path::new(&d2), &fa, true, ctx.check_mode, None, &d2)? {
                    changed = true;
                }
                resp.insert("changed".into(), json!(changed));
            }
            resp.insert("path".into(), json!(d2));
            // exit_json adds the file's attributes for `path`.
            crate::util::add_path_info_result(&mut resp);
        }
    }
    let content = String::from_utf8_lossy(&f.body).into_owned();
    if maybe_json {
        if let Ok(js) = serde_json::from_str::<Value>(&content) {
            resp.insert("json".into(), js);
        }
    }
    let return_content = params.bool("return_content");
    // An HTTP error keeps the body it was read with as `body`, unless the content is
    // returned anyway (JSON, return_content, or an unexpected status).
    if !f.ok
        && f.status != -1
        && !(maybe_json || return_content || !status_code.contains(&f.status))
    {
        resp.insert("body".into(), json!(content));
    }
    if !status_code.contains(&f.status) {
        let m = format!(
            "Status code was {} and not [{}]: {}",
            f.status,
            status_code
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            f.msg
        );
        resp.insert("msg".into(), json!(m));
        resp.insert("failed".into(), json!(true));
        if return_content {
            resp.insert("content".into(), json!(content));
        }
        return Ok(resp);
    }
    if return_content {
        resp.insert("content".into(), json!(content));
    }
    Ok(resp)
}

pub fn run(args: &Args, ctx: &ModuleContext, module: &str) -> ModuleResult {
    let params = match spec().validate(module, args) {
        Ok(p) => p,
        Err(e) => return Failure::new(e).into_result(),
    };
    if ctx.check_mode {
        let mut r = ModuleResult::new();
        r.insert("changed".into(), json!(false));
        r.insert(
            "msg".into(),
            // Ansible's uri action plugin refuses check mode before the module runs.
            json!("This action (uri) does not support check mode."),
        );
        r.insert("skipped".into(), json!(true));
        return r;
    }
    match inner(&params, ctx) {
        Ok(r) => r,
        Err(f) => f.into_result(),
    }
}

//! uri and get_url against a small HTTP server the test starts on 127.0.0.1. The oracle
//! values come from ansible-core 2.21.5 (`ansible localhost -c local -m uri -a '<json>'`,
//! json callback) against a Python http.server with the same routes: /echo answers a JSON
//! description of the request, /status/N answers N, /redir answers 302 to /echo, /f.txt
//! serves "hello world\n".

mod common;
use common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;

fn serve() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            std::thread::spawn(move || {
                let mut rd = BufReader::new(s.try_clone().unwrap());
                let mut line = String::new();
                if rd.read_line(&mut line).is_err() {
                    return;
                }
                let parts: Vec<String> = line.split_whitespace().map(str::to_string).collect();
                let (method, path) = (parts[0].clone(), parts[1].clone());
                let mut headers = Vec::new();
                loop {
                    let mut h = String::new();
                    rd.read_line(&mut h).unwrap();
                    let h = h.trim_end().to_string();
                    if h.is_empty() {
                        break;
                    }
                    let (k, v) = h.split_once(':').unwrap();
                    headers.push((k.trim().to_lowercase(), v.trim().to_string()));
                }
                let get = |n: &str| {
                    headers
                        .iter()
                        .find(|(k, _)| k == n)
                        .map(|(_, v)| Value::String(v.clone()))
                        .unwrap_or(Value::Null)
                };
                let n: usize = get("content-length")
                    .as_str()
                    .map(|v| v.parse().unwrap())
                    .unwrap_or(0);
                let mut body = vec![0u8; n];
                rd.read_exact(&mut body).unwrap();
                let (code, reason, extra, out): (u16, &str, String, Vec<u8>) = if let Some(c) =
                    path.strip_prefix("/status/")
                {
                    (c.parse().unwrap(), "Not Found", String::new(), Vec::new())
                } else if path.starts_with("/redir") {
                    (302, "Found", "Location: /echo\r\n".into(), Vec::new())
                } else if path == "/f.txt" {
                    (200, "OK", String::new(), b"hello world\n".to_vec())
                } else {
                    let o = json!({"method": method, "path": path, "body": String::from_utf8_lossy(&body),
                                       "ctype": get("content-type"), "x": get("x-test")});
                    (
                        200,
                        "OK",
                        "Content-Type: application/json\r\n".into(),
                        o.to_string().into_bytes(),
                    )
                };
                let head = format!(
                    "HTTP/1.0 {code} {reason}\r\nServer: test\r\n{extra}Content-Length: {}\r\n\r\n",
                    out.len()
                );
                let _ = s.write_all(head.as_bytes());
                if method != "HEAD" {
                    let _ = s.write_all(&out);
                }
            });
        }
    });
    port
}

#[test]
fn uri_cases() {
    let port = serve();
    let base = format!("http://127.0.0.1:{port}");
    // {"changed": false, "content_length": "72", "content_type": "application/json", "cookies": {},
    //  "cookies_string": "", "date": ..., "elapsed": 0, "json": {"body": "", "ctype": null, "method": "GET",
    //  "path": "/echo", "x": null}, "msg": "OK (72 bytes)", "redirected": false, "server": ..., "status": 200, "url": URL}
    let r = run("uri", json!({"url": format!("{base}/echo")}), &ctx());
    assert_keys(
        &r,
        &[
            "changed",
            "content_length",
            "content_type",
            "cookies",
            "cookies_string",
            "elapsed",
            "json",
            "msg",
            "redirected",
            "server",
            "status",
            "url",
        ],
    );
    assert_eq!(r["status"], json!(200));
    assert_eq!(r["json"]["method"], json!("GET"));
    assert_eq!(r["json"]["ctype"], Value::Null);
    assert_eq!(
        msg(&r),
        format!("OK ({} bytes)", r["content_length"].as_str().unwrap())
    );
    assert_eq!(r["redirected"], json!(false));
    // POST json with a header and return_content: the server saw body "{\"a\": 1}" (Python's
    // json.dumps spacing), content type application/json, X-Test "t"; result has "content".
    let r = run(
        "uri",
        json!({"url": format!("{base}/echo"), "method": "POST", "body_format": "json", "body": {"a": 1},
               "return_content": true, "headers": {"X-Test": "t"}}),
        &ctx(),
    );
    assert_eq!(
        r["json"],
        json!({"body": "{\"a\": 1}", "ctype": "application/json", "method": "POST", "path": "/echo", "x": "t"})
    );
    assert!(r["content"].as_str().unwrap().contains("\"method\""));
    // {"failed": true, "msg": "Status code was 404 and not [200]: HTTP Error 404: Not Found", "status": 404,
    //  "content_length": "0", "redirected": false, ...} (no cookies keys)
    let r = run("uri", json!({"url": format!("{base}/status/404")}), &ctx());
    assert!(failed(&r));
    assert_eq!(
        msg(&r),
        "Status code was 404 and not [200]: HTTP Error 404: Not Found"
    );
    assert_eq!(r["status"], json!(404));
    assert!(!r.contains_key("cookies"));
    // POST is not redirected under follow_redirects=safe: {"location": "http://127.0.0.1:PORT/echo",
    //  "msg": "Status code was 302 and not [200, 201]: HTTP Error 302: Found", "status": 302}
    let r = run(
        "uri",
        json!({"url": format!("{base}/redir"), "body_format": "form-urlencoded", "body": {"a": "b c"},
               "method": "POST", "status_code": [200, 201]}),
        &ctx(),
    );
    assert_eq!(
        msg(&r),
        "Status code was 302 and not [200, 201]: HTTP Error 302: Found"
    );
    assert_eq!(r["location"], json!(format!("{base}/echo")));
    // GET follows: redirected true, url is the final one
    let r = run("uri", json!({"url": format!("{base}/redir")}), &ctx());
    assert_eq!(r["redirected"], json!(true));
    assert_eq!(r["url"], json!(format!("{base}/echo")));
    // form body as the server sees it: "a=b+c"
    let r = run(
        "uri",
        json!({"url": format!("{base}/echo"), "body_format": "form-urlencoded", "body": {"a": "b c"}, "method": "PUT"}),
        &ctx(),
    );
    assert_eq!(r["json"]["body"], json!("a=b+c"));
    assert_eq!(
        r["json"]["ctype"],
        json!("application/x-www-form-urlencoded")
    );
    // {"elapsed": 0, "failed": true, "msg": "Status code was -1 and not [200]: Request failed:
    //  <urlopen error [Errno 111] Connection refused>", "redirected": false, "status": -1, "url": ...}
    let r = run("uri", json!({"url": "http://127.0.0.1:1/x"}), &ctx());
    assert_keys(
        &r,
        &[
            "changed",
            "elapsed",
            "failed",
            "msg",
            "redirected",
            "status",
            "url",
        ],
    );
    assert_eq!(
        msg(&r),
        "Status code was -1 and not [200]: Request failed: <urlopen error [Errno 111] Connection refused>"
    );
    // check mode: {"changed": false, "msg": "remote module (uri) does not support check mode", "skipped": true}
    let r = run("uri", json!({"url": "http://127.0.0.1:1/x"}), &check());
    assert_eq!(r["skipped"], json!(true));
}

#[test]
fn get_url_cases() {
    let port = serve();
    let url = format!("http://127.0.0.1:{port}/f.txt");
    let d = tmp();
    let dir = format!("{}/", d.path().display());
    // first: {"changed": true, "checksum_dest": null, "checksum_src": "22596363b3de40b06f981fb85d82312e8c0ed511",
    //  "dest": DIR/f.txt, "elapsed": 0, "gid", "group", "md5sum": "6f5902ac237024bdd0c176cb93063dc4", "mode",
    //  "msg": "OK (12 bytes)", "owner", "size": 12, "src": TMP, "state": "file", "status_code": 200, "uid", "url"}
    let r = run("get_url", json!({"url": url, "dest": dir}), &ctx());
    assert_keys(
        &r,
        &[
            "changed",
            "checksum_dest",
            "checksum_src",
            "dest",
            "elapsed",
            "gid",
            "group",
            "md5sum",
            "mode",
            "msg",
            "owner",
            "size",
            "src",
            "state",
            "status_code",
            "uid",
            "url",
        ],
    );
    assert!(changed(&r));
    assert_eq!(r["checksum_dest"], Value::Null);
    assert_eq!(
        r["checksum_src"],
        json!("22596363b3de40b06f981fb85d82312e8c0ed511")
    );
    assert_eq!(r["md5sum"], json!("6f5902ac237024bdd0c176cb93063dc4"));
    assert_eq!(r["dest"], json!(format!("{dir}f.txt")));
    assert_eq!(msg(&r), "OK (12 bytes)");
    assert_eq!(r["size"], json!(12));
    // second: unchanged, checksum_dest equals checksum_src
    let r = run("get_url", json!({"url": url, "dest": dir}), &ctx());
    assert!(!changed(&r));
    assert_eq!(r["checksum_dest"], r["checksum_src"]);
    // check mode (HEAD): {"changed": true, "checksum_dest": null, "checksum_src":
    //  "da39a3ee5e6b4b0d3255bfef95601890afd80709", "dest", "elapsed", "msg": "OK (12 bytes)", "src", "url"}
    let g = format!("{dir}g.txt");
    let r = run(
        "get_url",
        json!({"url": url, "dest": g,
               "checksum": "sha256:a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447"}),
        &check(),
    );
    assert_keys(
        &r,
        &[
            "changed",
            "checksum_dest",
            "checksum_src",
            "dest",
            "elapsed",
            "msg",
            "src",
            "url",
        ],
    );
    assert_eq!(
        r["checksum_src"],
        json!("da39a3ee5e6b4b0d3255bfef95601890afd80709")
    );
    assert!(changed(&r));
    assert!(!std::path::Path::new(&g).exists());
    // with the right checksum, a second run does not download: "file already exists"
    let args = json!({"url": url, "dest": g,
        "checksum": "sha256:a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447"});
    assert!(changed(&run("get_url", args.clone(), &ctx())));
    let r = run("get_url", args, &ctx());
    assert_eq!(msg(&r), "file already exists");
    // a wrong checksum fails after the download
    let r = run(
        "get_url",
        json!({"url": url, "dest": format!("{dir}h.txt"), "checksum": "sha1:0000"}),
        &ctx(),
    );
    assert!(failed(&r));
    assert!(
        msg(&r).contains("did not match 0000; it was 22596363b3de40b06f981fb85d82312e8c0ed511.")
    );
    // {"dest", "elapsed": 0, "failed": true, "msg": "Request failed", "response": "HTTP Error 404: File not found",
    //  "status_code": 404, "url"} (the reason text is the server's)
    let r = run(
        "get_url",
        json!({"url": format!("http://127.0.0.1:{port}/status/404"), "dest": format!("{dir}n.txt")}),
        &ctx(),
    );
    assert_keys(
        &r,
        &[
            "changed",
            "dest",
            "elapsed",
            "failed",
            "msg",
            "response",
            "status_code",
            "url",
        ],
    );
    assert_eq!(msg(&r), "Request failed");
    assert_eq!(r["response"], json!("HTTP Error 404: Not Found"));
    // file:// URLs
    let src = format!("{dir}g.txt");
    let r = run(
        "get_url",
        json!({"url": format!("file://{src}"), "dest": format!("{dir}copy.txt")}),
        &ctx(),
    );
    assert!(changed(&r), "{r:?}");
    assert_eq!(
        std::fs::read_to_string(format!("{dir}copy.txt")).unwrap(),
        "hello world\n"
    );
}

/// https with a self-signed certificate from `openssl s_server` (openssl is on the test
/// hosts). Oracle: {"status": -1, "msg": "Status code was -1 and not [200]: Request failed:
/// <urlopen error [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed
/// certificate (_ssl.c:1000)>"} by default; {"status": 200, "msg": "OK (unknown bytes)"}
/// with validate_certs: false. Our failure text names rustls' error instead of OpenSSL's.
#[test]
fn uri_https_validate_certs() {
    let d = tmp();
    let (key, cert) = (p(&d, "k.pem"), p(&d, "c.pem"));
    let ok = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-days",
            "1",
        ])
        .args(["-keyout", &key, "-out", &cert])
        .output()
        .expect("openssl")
        .status
        .success();
    assert!(ok);
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut srv = std::process::Command::new("openssl")
        .args([
            "s_server",
            "-www",
            "-quiet",
            "-accept",
            &port.to_string(),
            "-cert",
            &cert,
            "-key",
            &key,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("https://127.0.0.1:{port}/");
    let mut up = false;
    for _ in 0..50 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let strict = run("uri", json!({"url": url}), &ctx());
    let loose = run("uri", json!({"url": url, "validate_certs": false}), &ctx());
    srv.kill().unwrap();
    let _ = srv.wait();
    assert!(up);
    assert!(failed(&strict));
    assert_eq!(strict["status"], json!(-1));
    assert!(
        msg(&strict)
            .starts_with("Status code was -1 and not [200]: Request failed: <urlopen error"),
        "{strict:?}"
    );
    assert!(!failed(&loose), "{loose:?}");
    assert_eq!(loose["status"], json!(200));
    assert_eq!(msg(&loose), "OK (unknown bytes)");
}

//! `get_url`: download a file over HTTP(S) or from a file:// URL to `dest` (a file or a
//! directory), with `checksum` (`algo:hex` or `algo:URL of a checksum file`), `force`,
//! `backup`, `headers`, `timeout`, and If-Modified-Since when the file exists.
//!
//! Not supported: `ciphers`, `use_netrc`, client certificates, `no_proxy`.

use crate::args::{b, file_common, i, l, p, s, Params, Spec, Type};
use crate::uri::{fetch, header_list, url_opts, Fetched, Request};
use crate::util::{
    add_path_info_result, apply_attrs, atomic_write, backup_local, digest, Failure, FileAttrs,
    MResult,
};
use crate::{Args, ModuleContext, ModuleResult};
use serde_json::{json, Map, Value};
use std::path::Path;

fn spec() -> Spec {
    let mut opts = url_opts();
    for o in opts.iter_mut() {
        if o.name == "url_username" {
            o.aliases = &["username"];
        }
        if o.name == "url_password" {
            o.aliases = &["password"];
        }
        // `thirsty` is an alias of uri's force only.
        if o.name == "force" {
            o.aliases = &[];
        }
    }
    opts.retain(|o| o.name != "url");
    opts.extend(vec![
        s("url").required(),
        p("dest").required(),
        b("backup").default(false),
        s("checksum").default(""),
        i("timeout").default(10),
        crate::args::d("headers"),
        p("tmp_dest"),
        l("unredirected_headers")
            .elements(Type::Str)
            .default(json!([])),
        b("decompress").default(true),
        l("ciphers").elements(Type::Str),
        b("use_netrc").default(true),
    ]);
    opts.extend(file_common());
    Spec::new(opts)
}

/// The algorithms `digest` computes.
const HASH_ALGORITHMS: &[&str] = &["md5", "sha1", "sha224", "sha256", "sha384", "sha512"];

/// Ansible's failure for a checksum algorithm it cannot compute, naming the file it tried.
fn hash_algorithm_known(path: &str, algorithm: &str) -> MResult<()> {
    if HASH_ALGORITHMS.contains(&algorithm) {
        return Ok(());
    }
    Err(Failure::new(format!(
        "Could not hash file '{path}' with algorithm '{algorithm}'. Available algorithms: {}",
        HASH_ALGORITHMS.join(", ")
    )))
}

/// A private directory for this task under `~/.ansible/tmp` (Ansible's remote_tmp).
fn remote_tmp_dir() -> std::io::Result<tempfile::TempDir> {
    use std::os::unix::fs::DirBuilderExt;
    let base = std::path::PathBuf::from(crate::args::expand_user("~/.ansible/tmp"));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&base)?;
    tempfile::Builder::new()
        .prefix("ansible-tmp-")
        .tempdir_in(&base)
}

/// The last path component of a URL (`url_filename`), or index.html.
fn url_filename(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or("");
    let after_host = path.split_once("://").map(|x| x.1).unwrap_or(path);
    let p = after_host.find('/').map(|i| &after_host[i..]).unwrap_or("");
    let name = p.rsplit('/').next().unwrap_or("");
    if name.is_empty() {
        "index.html".into()
    } else {
        name.to_string()
    }
}

fn disposition_filename(f: &Fetched) -> Option<String> {
    let cd = f
        .headers
        .iter()
        .find(|(k, _)| k == "content-disposition")?
        .1
        .clone();
    let i = cd.find("filename=")?;
    let v = cd[i + 9..].split(';').next()?.trim().trim_matches('"');
    let base = v.rsplit('/').next()?.to_string();
    (!base.is_empty()).then_some(base)
}

fn request<'a>(
    params: &Params,
    url: &'a str,
    method: &str,
    ims: Option<i64>,
    force: bool,
) -> Request<'a> {
    Request {
        url,
        method: method.into(),
        headers: header_list(params.get("headers")),
        body: None,
        timeout: params.int("timeout").unwrap_or(10).max(1) as u64,
        follow: "urllib2".into(),
        if_modified_since: ims,
        force,
        user: params.string("url_username"),
        password: params.string("url_password"),
        force_basic_auth: params.bool("force_basic_auth"),
        agent: params.string("http_agent").unwrap_or_default(),
        validate_certs: params.bool("validate_certs"),
        use_proxy: params.bool("use_proxy"),
    }
}

fn inner(params: &Params, ctx: &ModuleContext) -> MResult<Map<String, Value>> {
    let url = params.string("url").unwrap_or_default();
    let mut dest = params.string("dest").unwrap_or_default();
    let mut force = params.bool("force");
    let mut r = Map::new();
    r.insert("changed".into(), json!(false));
    r.insert("checksum_dest".into(), Value::Null);
    r.insert("checksum_src".into(), Value::Null);
    r.insert("dest".into(), json!(dest));
    r.insert("elapsed".into(), json!(0));
    r.insert("url".into(), json!(url));
    let fail = |r: &Map<String, Value>, msg: String| {
        let mut f = Failure::new(msg);
        for (k, v) in r {
            if k != "changed" {
                f = f.with(k, v.clone());
            }
        }
        f
    };
    let dest_is_dir = Path::new(&dest).is_dir();
    let mut algorithm = String::new();
    let mut checksum = String::new();
    let cs = params.string("checksum").unwrap_or_default();
    if !cs.is_empty() {
        let Some((a, c)) = cs.split_once(':') else {
            return Err(fail(
                &r,
                "The checksum parameter has to be in format <algorithm>:<checksum>".into(),
            ));
        };
        algorithm = a.to_string();
        checksum = c.to_string();
        if checksum.contains("://") {
            let f = fetch(&request(params, &checksum, "GET", None, true));
            if !f.ok {
                return Err(Failure::new("Request failed")
                    .with("status_code", f.status)
                    .with("response", f.msg)
                    .with("url", checksum.clone())
                    .with("dest", dest.clone()));
            }
            let text = String::from_utf8_lossy(&f.body).into_owned();
            let filename = url_filename(&url);
            let mut found = None;
            for line in text.lines() {
                let parts: Vec<&str> = line.split_whitespace().collect();
                match parts.as_slice() {
                    [c] if found.is_none() => found = Some(c.to_string()),
                    [c, n, ..] => {
                        let n = n.trim_start_matches('*').trim_start_matches("./");
                        if n == filename {
                            found = Some(c.to_string());
                            break;
                        }
                    }
                    _ => {}
                }
            }
            checksum = found.ok_or_else(|| {
                Failure::new(format!(
                    "Unable to find a checksum for file '{filename}' in '{cs_url}'",
                    cs_url = c
                ))
            })?;
        }
        checksum = checksum
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == '_')
            .collect::<String>()
            .to_lowercase();
        if checksum.is_empty() || !checksum.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(fail(&r, "The checksum format is invalid".into()));
        }
    }
    let mut ims = None;
    if !dest_is_dir && Path::new(&dest).exists() {
        let mut mismatch = false;
        if !force && !checksum.is_empty() {
            hash_algorithm_known(&dest, &algorithm)?;
            let d = crate::util::file_digest(Path::new(&dest), &algorithm).unwrap_or_default();
            mismatch = d != checksum;
        }
        if !force && !checksum.is_empty() && !mismatch {
            let fa = FileAttrs::from_params(params);
            let ch = apply_attrs(Path::new(&dest), &fa, true, ctx.check_mode, None, &dest)?;
            r.insert("changed".into(), json!(ch));
            r.insert(
                "msg".into(),
                json!(if ch {
                    "file already exists but file attributes changed"
                } else {
                    "file already exists"
                }),
            );
            add_path_info_result(&mut r);
            return Ok(r);
        }
        ims = std::fs::metadata(&dest)
            .ok()
            .map(|m| std::os::unix::fs::MetadataExt::mtime(&m));
        if mismatch {
            force = true;
        }
    }
    let start = std::time::Instant::now();
    let method = if ctx.check_mode { "HEAD" } else { "GET" };
    let f = fetch(&request(params, &url, method, ims, force));
    let elapsed = start.elapsed().as_secs();
    if f.status == 304 {
        let mut r = Map::new();
        r.insert("url".into(), json!(url));
        r.insert("dest".into(), json!(dest));
        r.insert("changed".into(), json!(false));
        r.insert("msg".into(), json!(f.msg));
        r.insert("status_code".into(), json!(304));
        r.insert("elapsed".into(), json!(elapsed));
        return Ok(r);
    }
    if f.status == -1 {
        return Err(Failure::new(f.msg)
            .with("url", url.clone())
            .with("dest", dest.clone())
            .with("elapsed", elapsed));
    }
    if !f.ok && !url.starts_with("file:/") {
        return Err(Failure::new("Request failed")
            .with("status_code", f.status)
            .with("response", f.msg)
            .with("url", url.clone())
            .with("dest", dest.clone())
            .with("elapsed", elapsed));
    }
    r.insert("elapsed".into(), json!(elapsed));
    // Without tmp_dest the download goes where Ansible's goes: a private directory of the
    // task under remote_tmp (~/.ansible/tmp), removed with the temporary file.
    let task_tmp = match params
        .string("tmp_dest")
        .or_else(|| ctx.tmpdir.as_ref().map(|d| d.display().to_string()))
    {
        Some(_) => None,
        None => Some(
            remote_tmp_dir()
                .map_err(|e| fail(&r, format!("failed to create temporary content file: {e}")))?,
        ),
    };
    let tmpdir = params
        .string("tmp_dest")
        .map(std::path::PathBuf::from)
        .or_else(|| ctx.tmpdir.clone())
        .or_else(|| task_tmp.as_ref().map(|d| d.path().to_path_buf()))
        .unwrap_or_else(crate::temp_file::default_tmp);
    let tmp = tempfile::Builder::new()
        .prefix("tmp")
        .tempfile_in(&tmpdir)
        .map_err(|e| fail(&r, format!("failed to create temporary content file: {e}")))?;
    std::fs::write(tmp.path(), &f.body).map_err(|e| fail(&r, e.to_string()))?;
    r.insert("src".into(), json!(tmp.path().display().to_string()));
    if dest_is_dir {
        let name = disposition_filename(&f).unwrap_or_else(|| url_filename(&f.url));
        dest = Path::new(&dest).join(name).display().to_string();
        r.insert("dest".into(), json!(dest));
    }
    let data = if ctx.check_mode {
        Vec::new()
    } else {
        f.body.clone()
    };
    let csrc = digest(&data, "sha1");
    r.insert("checksum_src".into(), json!(csrc));
    if Path::new(&dest).exists() {
        let d = crate::util::file_digest(Path::new(&dest), "sha1")
            .map_err(|_| fail(&r, format!("Destination {dest} is not readable")))?;
        r.insert("checksum_dest".into(), json!(d));
    } else {
        let parent = Path::new(&dest)
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        if !Path::new(&parent).exists() {
            return Err(fail(&r, format!("Destination {parent} does not exist")));
        }
    }
    if ctx.check_mode {
        let ch = r.get("checksum_src") != r.get("checksum_dest");
        r.insert("changed".into(), json!(ch));
        r.insert("msg".into(), json!(f.msg));
        return Ok(r);
    }
    if !checksum.is_empty() {
        hash_algorithm_known(&tmp.path().display().to_string(), &algorithm)?;
        let got = digest(&data, &algorithm);
        if got != checksum {
            return Err(fail(
                &r,
                format!(
                    "The checksum for {} did not match {checksum}; it was {got}.",
                    tmp.path().display()
                ),
            ));
        }
    }
    let mut changed = false;
    if r.get("checksum_src") != r.get("checksum_dest") {
        if params.bool("backup") && Path::new(&dest).exists() {
            let b = backup_local(Path::new(&dest))
                .map_err(|e| fail(&r, format!("Could not make backup of {dest}: {e}")))?;
            r.insert("backup_file".into(), json!(b));
        }
        atomic_write(Path::new(&dest), &data).map_err(|e| {
            fail(
                &r,
                format!("failed to copy {} to {dest}: {e}", tmp.path().display()),
            )
        })?;
        changed = true;
    }
    let fa = FileAttrs::from_params(params);
    if apply_attrs(Path::new(&dest), &fa, true, false, None, &dest)? {
        changed = true;
    }
    r.insert("changed".into(), json!(changed));
    r.insert(
        "md5sum".into(),
        json!(crate::util::file_digest(Path::new(&dest), "md5").unwrap_or_default()),
    );
    r.insert("msg".into(), json!(f.msg));
    r.insert("status_code".into(), json!(f.status));
    // exit_json adds the path info of `dest`.
    add_path_info_result(&mut r);
    Ok(r)
}

pub fn run(args: &Args, ctx: &ModuleContext, module: &str) -> ModuleResult {
    let params = match spec().validate(module, args) {
        Ok(p) => p,
        Err(e) => return Failure::new(e).into_result(),
    };
    match inner(&params, ctx) {
        Ok(r) => r,
        Err(f) => f.into_result(),
    }
}

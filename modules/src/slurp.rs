//! `slurp`: a file's content, base64-encoded.

use crate::args::{b, p, Spec};
use crate::host::Host;
use crate::util::Failure;
use crate::{Args, ModuleContext, ModuleResult};
use base64::Engine;
use serde_json::json;

pub fn run(host: &dyn Host, args: &Args, _ctx: &ModuleContext, module: &str) -> ModuleResult {
    let spec = Spec::new(vec![
        p("src").required().aliases(&["path"]),
        b("armor").default(true),
    ]);
    let params = match spec.validate_on(host, module, args) {
        Ok(p) => p,
        Err(e) => return Failure::new(e).into_result(),
    };
    let src = params.string("src").unwrap_or_default();
    let data = match host.read(&src) {
        Ok(d) => d,
        Err(e) => {
            let msg = match e.raw_os_error() {
                Some(libc::ENOENT) => format!("File not found: {src}"),
                Some(libc::EACCES) => format!("File is not readable: {src}"),
                Some(libc::EISDIR) => format!("Source is a directory and must be a file: {src}"),
                _ => "Unable to slurp file: {source}".to_string(),
            };
            return Failure::new(msg).into_result();
        }
    };
    let mut r = ModuleResult::new();
    r.insert("changed".into(), json!(false));
    if params.bool("armor") {
        r.insert(
            "content".into(),
            json!(base64::engine::general_purpose::STANDARD.encode(&data)),
        );
        r.insert("encoding".into(), json!("base64"));
    } else {
        r.insert("content".into(), json!(String::from_utf8_lossy(&data)));
        r.insert("encoding".into(), json!("utf-8"));
    }
    r.insert("source".into(), json!(src));
    r
}

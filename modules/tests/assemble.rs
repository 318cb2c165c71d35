//! assemble with remote_src. Oracle values from ansible-core 2.21.5 (`ansible localhost
//! -c local -m assemble -a '<json>'`, json callback) on fragments 01 "one", 02 "two\n" and
//! a hidden .h "h\n"; the output file read back with `cat -A`.

mod common;
use common::*;
use serde_json::json;

#[test]
fn assemble_sequence() {
    let d = tmp();
    let frag = p(&d, "frag");
    std::fs::create_dir(&frag).unwrap();
    std::fs::write(format!("{frag}/01"), "one").unwrap();
    std::fs::write(format!("{frag}/02"), "two\n").unwrap();
    std::fs::write(format!("{frag}/.h"), "h\n").unwrap();
    let out = p(&d, "out");
    let a = json!({"src": frag, "dest": out, "remote_src": true, "delimiter": "### x", "ignore_hidden": true});
    // {"changed": true, "checksum": "8c8dff2057c3e67583db3e1e9e167316d20c4fa4", "dest", "gid", "group",
    //  "md5sum": "1faa1048a53c9b5d4c390ac77fa1bdc9", "mode", "msg": "OK", "owner", "size": 14, "src", "state": "file", "uid"}
    let r = run("assemble", a.clone(), &ctx());
    assert_keys(
        &r,
        &[
            "changed", "checksum", "dest", "gid", "group", "md5sum", "mode", "msg", "owner",
            "size", "src", "state", "uid",
        ],
    );
    assert!(changed(&r));
    assert_eq!(
        r["checksum"],
        json!("8c8dff2057c3e67583db3e1e9e167316d20c4fa4")
    );
    assert_eq!(r["md5sum"], json!("1faa1048a53c9b5d4c390ac77fa1bdc9"));
    assert_eq!(r["size"], json!(14));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "one\n### x\ntwo\n");
    let r = run("assemble", a, &ctx());
    assert!(!changed(&r));
    assert_eq!(msg(&r), "OK");
    // --check with regexp (hidden file included): {"changed": true, "checksum":
    //  "c708d7ef841f7e1748436b8ef5670d0b2de1a227", "dest", "md5sum": "2094b601daac3d68f5aed51d3c20f7cd", "msg": "OK", "src"}
    let out2 = p(&d, "out2");
    let r = run(
        "assemble",
        json!({"src": frag, "dest": out2, "remote_src": true, "regexp": "^0"}),
        &check(),
    );
    assert_keys(&r, &["changed", "checksum", "dest", "md5sum", "msg", "src"]);
    assert_eq!(
        r["checksum"],
        json!("c708d7ef841f7e1748436b8ef5670d0b2de1a227")
    );
    assert!(!std::path::Path::new(&out2).exists());
    let nope = p(&d, "nope");
    let r = run(
        "assemble",
        json!({"src": nope, "dest": out2, "remote_src": true}),
        &ctx(),
    );
    assert_eq!(msg(&r), format!("Source ({nope}) does not exist"));
}

//! unarchive with remote_src and with `_play_src`. Oracle values from ansible-core 2.21.5
//! (`ansible localhost -c local -m unarchive -a '<json>'`, json callback) on archives of
//! the same tree (a.txt, d/, d/b.txt) made by `tar czf` and `zip -r`; here the archives are
//! built with the tar/flate2/bzip2/lzma-rs/zip crates in that member order.

mod common;
use common::*;
use serde_json::json;
use std::io::Write;

fn tar_bytes() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(2);
    h.set_mode(0o644);
    h.set_mtime(1_700_000_000);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h.clone(), "a.txt", &b"a\n"[..]).unwrap();
    let mut dh = tar::Header::new_gnu();
    dh.set_size(0);
    dh.set_mode(0o755);
    dh.set_mtime(1_700_000_000);
    dh.set_entry_type(tar::EntryType::Directory);
    b.append_data(&mut dh, "d/", std::io::empty()).unwrap();
    b.append_data(&mut h, "d/b.txt", &b"b\n"[..]).unwrap();
    b.into_inner().unwrap()
}

fn zip_bytes() -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default().unix_permissions(0o644);
    z.start_file("a.txt", o).unwrap();
    z.write_all(b"a\n").unwrap();
    z.add_directory("d/", o).unwrap();
    z.start_file("d/b.txt", o).unwrap();
    z.write_all(b"b\n").unwrap();
    z.finish().unwrap().into_inner()
}

#[test]
fn unarchive_tgz_sequence() {
    let d = tmp();
    let tgz = p(&d, "t.tgz");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(&tar_bytes()).unwrap();
    std::fs::write(&tgz, e.finish().unwrap()).unwrap();
    let out = p(&d, "out");
    std::fs::create_dir(&out).unwrap();
    // {"changed": true, "dest": OUT, "extract_results": {"cmd": ["/usr/bin/tar", "--extract", "-C", OUT, "-z", "-f", SRC],
    //  "err": "", "out": "", "rc": 0}, "files": ["a.txt", "d/", "d/b.txt"], "gid", "group", "handler": "TgzArchive",
    //  "mode": "0755", "owner", "size", "src": SRC, "state": "directory", "uid"}
    let r = run(
        "unarchive",
        json!({"src": tgz, "dest": out, "remote_src": true, "list_files": true}),
        &ctx(),
    );
    assert_keys(
        &r,
        &[
            "changed",
            "dest",
            "extract_results",
            "files",
            "gid",
            "group",
            "handler",
            "mode",
            "owner",
            "size",
            "src",
            "state",
            "uid",
        ],
    );
    assert!(changed(&r));
    assert_eq!(r["handler"], json!("TgzArchive"));
    assert_eq!(r["files"], json!(["a.txt", "d/", "d/b.txt"]));
    assert_eq!(
        r["extract_results"],
        json!({"cmd": ["/usr/bin/tar", "--extract", "-C", out, "-z", "-f", tgz], "err": "", "out": "", "rc": 0})
    );
    assert_eq!(r["state"], json!("directory"));
    assert_eq!(
        std::fs::read_to_string(format!("{out}/d/b.txt")).unwrap(),
        "b\n"
    );
    // second run: {"changed": false, "dest", "handler": "TgzArchive", "src", + path info}, no extract_results
    let r = run(
        "unarchive",
        json!({"src": tgz, "dest": out, "remote_src": true}),
        &ctx(),
    );
    assert!(!changed(&r));
    assert!(!r.contains_key("extract_results"));
    // a changed member makes it unpack again
    std::fs::write(format!("{out}/a.txt"), "changed\n").unwrap();
    let r = run(
        "unarchive",
        json!({"src": tgz, "dest": out, "remote_src": true}),
        &check(),
    );
    // oracle: the gtar handler cannot tell in check mode, so the task is skipped
    assert_keys(&r, &["changed", "msg", "skipped"]);
    assert_eq!(
        msg(&r),
        "remote module (ansible.legacy.unarchive) does not support check mode when using gtar"
    );
    assert_eq!(
        std::fs::read_to_string(format!("{out}/a.txt")).unwrap(),
        "changed\n"
    );
    let r = run(
        "unarchive",
        json!({"src": tgz, "dest": out, "remote_src": true}),
        &ctx(),
    );
    assert!(changed(&r));
    assert_eq!(
        std::fs::read_to_string(format!("{out}/a.txt")).unwrap(),
        "a\n"
    );
    // creates: {"changed": false, "msg": "skipped, since OUT/a.txt exists", "skipped": true}
    let r = run(
        "unarchive",
        json!({"src": tgz, "dest": out, "remote_src": true, "creates": format!("{out}/a.txt")}),
        &ctx(),
    );
    assert_keys(&r, &["changed", "msg", "skipped"]);
    assert_eq!(msg(&r), format!("skipped, since {out}/a.txt exists"));
    // {"failed": true, "msg": "dest '.../nope' must be an existing dir"}
    let nope = p(&d, "nope");
    let r = run(
        "unarchive",
        json!({"src": tgz, "dest": nope, "remote_src": true}),
        &ctx(),
    );
    assert_eq!(msg(&r), format!("dest '{nope}' must be an existing dir"));
}

#[test]
fn unarchive_zip_and_other_formats() {
    let d = tmp();
    let z = p(&d, "z.zip");
    std::fs::write(&z, zip_bytes()).unwrap();
    let out = p(&d, "out2");
    std::fs::create_dir(&out).unwrap();
    // --check: {"changed": true, "diff": {"prepared": ">f++++++.?? a.txt\n>d++++++.?? d/\n>f++++++.?? d/b.txt\n"},
    //  "handler": "ZipArchive", ...}
    let r = run(
        "unarchive",
        json!({"src": z, "dest": out, "remote_src": true}),
        &check(),
    );
    assert!(changed(&r));
    assert_eq!(r["handler"], json!("ZipArchive"));
    assert_eq!(
        r["diff"],
        json!({"prepared": ">f++++++.?? a.txt\n>d++++++.?? d/\n>f++++++.?? d/b.txt\n"})
    );
    assert!(!std::path::Path::new(&format!("{out}/a.txt")).exists());
    let r = run(
        "unarchive",
        json!({"src": z, "dest": out, "remote_src": true}),
        &ctx(),
    );
    assert!(changed(&r));
    assert_eq!(
        std::fs::read_to_string(format!("{out}/d/b.txt")).unwrap(),
        "b\n"
    );
    let r = run(
        "unarchive",
        json!({"src": z, "dest": out, "remote_src": true}),
        &ctx(),
    );
    assert!(!changed(&r), "{r:?}");
    // tar.bz2 and tar.xz, and the controller's copy as _play_src
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    bz.write_all(&tar_bytes()).unwrap();
    let bzd = bz.finish().unwrap();
    let mut xz = Vec::new();
    lzma_rs::xz_compress(&mut std::io::Cursor::new(tar_bytes()), &mut xz).unwrap();
    for (name, data, handler) in [
        ("t.tar.bz2", bzd.clone(), "TarBzipArchive"),
        ("t.tar.xz", xz, "TarXzArchive"),
        ("t.tar", tar_bytes(), "TarArchive"),
    ] {
        let f = p(&d, name);
        std::fs::write(&f, data).unwrap();
        let o = p(&d, &format!("o-{name}"));
        std::fs::create_dir(&o).unwrap();
        let r = run(
            "unarchive",
            json!({"src": f, "dest": o, "remote_src": true}),
            &ctx(),
        );
        assert_eq!(r["handler"], json!(handler), "{r:?}");
        assert!(changed(&r));
        assert_eq!(
            std::fs::read_to_string(format!("{o}/a.txt")).unwrap(),
            "a\n"
        );
    }
    use base64::Engine;
    let o = p(&d, "o-ctl");
    std::fs::create_dir(&o).unwrap();
    let r = run(
        "unarchive",
        json!({"src": "files/t.tar.bz2", "dest": o, "_play_src": base64::engine::general_purpose::STANDARD.encode(&bzd),
               "extra_opts": ["--strip-components=1"]}),
        &ctx(),
    );
    assert!(changed(&r), "{r:?}");
    assert_eq!(
        r["warnings"],
        json!(["extra_opts is not supported natively and was ignored"])
    );
    assert_eq!(
        std::fs::read_to_string(format!("{o}/d/b.txt")).unwrap(),
        "b\n"
    );
}

//! mount (ansible.posix) against an fstab in a temp dir, states present/absent.
//! Oracle (ansible.posix via ansible-core 2.21.5): present -> keys backup_file, boot
//! ("yes"), changed, dump, fstab, fstype, name, opts ("defaults"), passno, src and the
//! line "/dev/sdz1 /mnt/play ext4 defaults 0 0"; absent -> same keys without src/fstype.

mod common;
use common::*;
use serde_json::json;

#[test]
fn fstab_present_absent() {
    let d = tmp();
    let fstab = d.path().join("fstab");
    std::fs::write(&fstab, "# comment\nproc /proc proc defaults 0 0\n").unwrap();
    let f = fstab.display().to_string();
    let a = json!({"path": "/mnt/play-test", "src": "/dev/sdz1", "fstype": "ext4", "state": "present", "fstab": f});
    let r = run("mount", a.clone(), &check());
    assert!(changed(&r));
    assert_eq!(
        std::fs::read_to_string(&fstab).unwrap(),
        "# comment\nproc /proc proc defaults 0 0\n"
    );
    let r = run("ansible.posix.mount", a.clone(), &ctx());
    assert_eq!(
        r,
        args(
            json!({"backup_file": "", "boot": "yes", "changed": true, "dump": "0", "fstab": f, "fstype": "ext4", "name": "/mnt/play-test", "opts": "defaults", "passno": "0", "src": "/dev/sdz1"})
        )
    );
    assert_eq!(
        std::fs::read_to_string(&fstab).unwrap(),
        "# comment\nproc /proc proc defaults 0 0\n/dev/sdz1 /mnt/play-test ext4 defaults 0 0\n"
    );
    let r = run("mount", a.clone(), &ctx());
    assert!(!changed(&r));
    let r = run(
        "mount",
        json!({"path": "/mnt/play-test", "src": "/dev/sdz1", "fstype": "ext4", "opts": "ro,noatime", "state": "present", "fstab": f}),
        &ctx(),
    );
    assert!(changed(&r));
    assert!(std::fs::read_to_string(&fstab)
        .unwrap()
        .ends_with("/dev/sdz1 /mnt/play-test ext4 ro,noatime 0 0\n"));
    let r = run(
        "mount",
        json!({"path": "/mnt/play-test", "state": "absent", "fstab": f}),
        &ctx(),
    );
    assert_eq!(
        r,
        args(
            json!({"backup_file": "", "boot": "yes", "changed": true, "dump": "0", "fstab": f, "name": "/mnt/play-test", "opts": "defaults", "passno": "0"})
        )
    );
    assert_eq!(
        std::fs::read_to_string(&fstab).unwrap(),
        "# comment\nproc /proc proc defaults 0 0\n"
    );
    let r = run(
        "mount",
        json!({"path": "/mnt/play-test", "state": "absent", "fstab": f}),
        &ctx(),
    );
    assert!(!changed(&r));
    let r = run(
        "mount",
        json!({"path": "/mnt/play-test", "state": "present", "fstab": f}),
        &ctx(),
    );
    assert_eq!(
        msg(&r),
        "state is present but all of the following are missing: src, fstype"
    );
}

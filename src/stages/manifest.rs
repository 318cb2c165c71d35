//! The build manifest: what a service's build stage produced for one version, so that later
//! runs (and other regions) can stage the same artifacts without building again.
//!
//! `<store>/<svc>/<version>/manifest.json`:
//! `{"service": "app", "version": "1.0.0", "created": "...", "play_version": "0.1.0",
//!   "artifacts": [{"name", "kind", "path", "size", "sha256", "os", "arch"}, ...]}`

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

pub const FILE: &str = "manifest.json";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    pub name: String,
    pub kind: String,
    /// Relative to the version's directory in the store, `/`-separated.
    pub path: String,
    pub size: u64,
    pub sha256: String,
    pub os: String,
    pub arch: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub service: String,
    pub version: String,
    pub created: String,
    pub play_version: String,
    pub artifacts: Vec<Artifact>,
}

/// The kind of an artifact, from its name: what install tasks usually do with it differs.
pub fn kind_of(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    let tarball = [".tar.gz", ".tgz", ".tar.xz", ".tar.bz2", ".tar", ".tar.zst"]
        .iter()
        .any(|e| lower.ends_with(e));
    if lower.ends_with(".whl") {
        "wheel"
    } else if lower.ends_with(".deb") {
        "deb"
    } else if tarball && lower.contains("venv") {
        "venv-tarball"
    } else if tarball && lower.contains("rootfs") {
        "rootfs-tarball"
    } else if tarball {
        "tarball"
    } else if lower.ends_with(".zip") {
        "archive"
    } else {
        "file"
    }
}

/// sha256 of a file, streamed.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

impl Manifest {
    /// Describe every file under `dir` (the manifest itself excepted).
    pub fn scan(
        dir: &Path,
        service: &str,
        version: &str,
        os: &str,
        arch: &str,
        created: &str,
    ) -> std::io::Result<Manifest> {
        let mut files = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d)? {
                let p = e?.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p != dir.join(FILE) && !is_temp(&p) {
                    files.push(p);
                }
            }
        }
        files.sort();
        let mut artifacts = Vec::new();
        for p in files {
            let rel: PathBuf = p.strip_prefix(dir).unwrap_or(&p).to_path_buf();
            let path = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().to_string())
                .collect::<Vec<_>>()
                .join("/");
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            artifacts.push(Artifact {
                kind: kind_of(&name).to_string(),
                name,
                path,
                size: std::fs::metadata(&p)?.len(),
                sha256: sha256_file(&p)?,
                os: os.to_string(),
                arch: arch.to_string(),
            });
        }
        Ok(Manifest {
            service: service.to_string(),
            version: version.to_string(),
            created: created.to_string(),
            play_version: env!("CARGO_PKG_VERSION").to_string(),
            artifacts,
        })
    }

    pub fn parse(text: &str) -> Result<Manifest, String> {
        let m: Manifest = serde_json::from_str(text).map_err(|e| e.to_string())?;
        for a in &m.artifacts {
            let unsafe_path = a.path.is_empty()
                || a.path.starts_with('/')
                || a.path.split('/').any(|c| c == ".." || c.is_empty());
            if unsafe_path {
                return Err(format!(
                    "artifact path '{}' must be relative, without '..'",
                    a.path
                ));
            }
        }
        Ok(m)
    }

    /// Write `<dir>/manifest.json` atomically: a reader sees the old file or the whole new one.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        let mut text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        text.push('\n');
        std::io::Write::write_all(&mut tmp, text.as_bytes())?;
        tmp.as_file().sync_all()?;
        tmp.persist(dir.join(FILE)).map_err(|e| e.error)?;
        Ok(())
    }
}

/// Temporary files of tools still writing (and our own) are not artifacts.
fn is_temp(p: &Path) -> bool {
    p.file_name()
        .map(|n| n.to_string_lossy().starts_with(".tmp"))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_write_parse() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("app-venv.tar.gz"), b"venv").unwrap();
        std::fs::create_dir(d.path().join("wheels")).unwrap();
        std::fs::write(d.path().join("wheels/x-1.0-py3-none-any.whl"), b"w").unwrap();
        let m = Manifest::scan(d.path(), "app", "1.0", "linux", "x86_64", "t").unwrap();
        assert_eq!(m.artifacts.len(), 2);
        assert_eq!(m.artifacts[0].kind, "venv-tarball");
        assert_eq!(m.artifacts[1].path, "wheels/x-1.0-py3-none-any.whl");
        assert_eq!(m.artifacts[1].kind, "wheel");
        assert_eq!(m.artifacts[0].sha256, hex::encode(Sha256::digest(b"venv")));
        m.write(d.path()).unwrap();
        let again = Manifest::scan(d.path(), "app", "1.0", "linux", "x86_64", "t").unwrap();
        assert_eq!(again.artifacts.len(), 2, "the manifest is not an artifact");
        let text = std::fs::read_to_string(d.path().join(FILE)).unwrap();
        assert_eq!(Manifest::parse(&text).unwrap(), m);
    }

    #[test]
    fn unsafe_paths_are_refused() {
        let m = |p: &str| {
            format!(
                r#"{{"service":"a","version":"1","created":"","play_version":"","artifacts":[{{"name":"x","kind":"file","path":"{p}","size":1,"sha256":"","os":"","arch":""}}]}}"#
            )
        };
        assert!(Manifest::parse(&m("ok/x")).is_ok());
        for bad in ["/etc/passwd", "../x", "a/../../x", ""] {
            assert!(Manifest::parse(&m(bad)).is_err(), "{bad}");
        }
        assert!(Manifest::parse("{").is_err());
    }

    #[test]
    fn kinds() {
        assert_eq!(kind_of("nginx_1.22.deb"), "deb");
        assert_eq!(kind_of("rootfs.tar.xz"), "rootfs-tarball");
        assert_eq!(kind_of("src.tgz"), "tarball");
        assert_eq!(kind_of("notes.txt"), "file");
    }
}

//! `airlock verify` and the bundle reader against damaged bundles: a flipped
//! byte, truncation, hostile entry names, an unknown format version.

use crate::support::*;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A small signed bundle from a local OCI layout (no registry needed).
/// Returns the runner, the bundle and the trusted public key.
fn small_bundle(dir: &Path) -> (Airlock, PathBuf, String) {
    let mut layout = LayoutBuilder::new(&dir.join("img"));
    let img =
        layout.image("amd64", &[layer(&[("data", &vec![1u8; 50_000], 0o644)]), layer(&[("more", b"more", 0o644)])]);
    layout.tag(&img, "1.0");
    std::fs::write(dir.join("cm.yaml"), "kind: ConfigMap\n".repeat(100)).unwrap();
    let spec =
        write_spec(dir, "components:\n  - name: a\n    images: [\"oci-layout:./img:1.0\"]\n    manifests: [cm.yaml]\n");
    let airlock = Airlock::new();
    let bundle = dir.join("b.airlock");
    let public = airlock.create_signed(&spec, &bundle);
    (airlock, bundle, public.to_str().unwrap().to_string())
}

/// (name, data offset, size) of every tar entry.
fn entries(bundle: &Path) -> Vec<(String, u64, u64)> {
    let mut archive = tar::Archive::new(std::fs::File::open(bundle).unwrap());
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.path().unwrap().to_string_lossy().into_owned(), e.raw_file_position(), e.size())
        })
        .collect()
}

/// Rewrites a bundle entry by entry, letting `edit` change names and data.
fn rebuild(src: &Path, dst: &Path, edit: impl Fn(&str, Vec<u8>) -> (String, Vec<u8>)) {
    let mut archive = tar::Archive::new(std::fs::File::open(src).unwrap());
    let mut out = tar::Builder::new(std::fs::File::create(dst).unwrap());
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        let (name, data) = edit(&name, data);
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        // Written raw so that hostile names (`../x`, `/x`) get through.
        let raw = &mut h.as_old_mut().name;
        raw.fill(0);
        raw[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        out.append(&h, data.as_slice()).unwrap();
    }
    out.finish().unwrap();
}

#[test]
fn a_flipped_byte_in_any_blob_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (airlock, bundle, public) = small_bundle(dir.path());
    airlock.ok(&["verify", bundle.to_str().unwrap(), "--key", &public]);
    let original = std::fs::read(&bundle).unwrap();
    let blobs: Vec<_> = entries(&bundle).into_iter().filter(|(n, _, _)| n.starts_with("blobs/")).collect();
    assert!(blobs.len() >= 5, "{blobs:?}");
    for (name, offset, size) in blobs {
        let mut damaged = original.clone();
        damaged[(offset + size / 2) as usize] ^= 0x40;
        let path = dir.path().join("damaged.airlock");
        std::fs::write(&path, &damaged).unwrap();
        let err = airlock.fails_with(BAD_BUNDLE, &["verify", path.to_str().unwrap(), "--key", &public]);
        assert!(err.contains(&name), "verify did not name {name}:\n{err}");
        // inspect reads only the head, which is intact.
        airlock.ok(&["inspect", path.to_str().unwrap()]);
    }
}

#[test]
fn truncation_anywhere_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (airlock, bundle, public) = small_bundle(dir.path());
    let original = std::fs::read(&bundle).unwrap();
    let path = dir.path().join("cut.airlock");
    for cut in [100, 600, 20_000, original.len() / 2, original.len() - 1536] {
        std::fs::write(&path, &original[..cut]).unwrap();
        let err = airlock.fails_with(BAD_BUNDLE, &["verify", path.to_str().unwrap(), "--key", &public]);
        assert!(err.contains("truncated") || err.contains("not an airlock bundle"), "cut at {cut}: {err}");
    }
    std::fs::write(&path, b"").unwrap();
    assert!(airlock.fails_with(BAD_BUNDLE, &["verify", path.to_str().unwrap(), "--key", &public]).contains("empty"));
    let err =
        airlock.fails_with(USAGE, &["verify", dir.path().join("absent.airlock").to_str().unwrap(), "--key", &public]);
    assert!(err.contains("absent.airlock"), "{err}");
}

#[test]
fn hostile_entry_names_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (airlock, bundle, public) = small_bundle(dir.path());
    for (evil, reason) in [("../escape", "`..`"), ("/etc/passwd", "absolute"), ("blobs/../../x", "`..`")] {
        let path = dir.path().join("evil.airlock");
        rebuild(
            &bundle,
            &path,
            |name, data| {
                if name == "oci-layout" {
                    (evil.to_string(), data)
                } else {
                    (name.to_string(), data)
                }
            },
        );
        let err = airlock.fails_with(BAD_BUNDLE, &["verify", path.to_str().unwrap(), "--key", &public]);
        assert!(err.contains(evil) && err.contains(reason), "{evil}: {err}");
    }
    // An extra, unlisted blob is refused too.
    let path = dir.path().join("extra.airlock");
    rebuild(&bundle, &path, |name, data| {
        if name == "oci-layout" {
            (format!("blobs/sha256/{}", "a".repeat(64)), data)
        } else {
            (name.to_string(), data)
        }
    });
    let err = airlock.fails_with(BAD_BUNDLE, &["verify", path.to_str().unwrap(), "--key", &public]);
    assert!(err.contains("not listed"), "{err}");
}

#[test]
fn unknown_format_version_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let (airlock, bundle, _public) = small_bundle(dir.path());
    let path = dir.path().join("v2.airlock");
    rebuild(&bundle, &path, |name, data| {
        if name == "airlock/bundle.json" {
            let text = String::from_utf8(data).unwrap().replacen("\"format\": 1", "\"format\": 2", 1);
            (name.to_string(), text.into_bytes())
        } else {
            (name.to_string(), data)
        }
    });
    for cmd in ["inspect", "verify"] {
        let err =
            airlock.fails(&[cmd, path.to_str().unwrap(), "--allow-unsigned"][..if cmd == "inspect" { 2 } else { 3 }]);
        assert!(err.contains("format 2") && err.contains("format 1"), "{cmd}: {err}");
    }
    // Not a bundle at all.
    let path = dir.path().join("plain.tar");
    rebuild(&bundle, &path, |name, data| {
        (if name == "airlock/bundle.json" { "README".to_string() } else { name.to_string() }, data)
    });
    assert!(airlock.fails_with(BAD_BUNDLE, &["inspect", path.to_str().unwrap()]).contains("not an airlock bundle"));
}

#[test]
fn inspect_reads_only_the_head() {
    let dir = tempfile::tempdir().unwrap();
    let (airlock, bundle, public) = small_bundle(dir.path());
    // Zero everything after the head: inspect must not notice, verify must.
    let head_end = entries(&bundle)
        .iter()
        .find(|(n, _, _)| n == "airlock/signature.sigstore.json")
        .map(|(_, o, s)| o + s)
        .unwrap();
    let mut bytes = std::fs::read(&bundle).unwrap();
    for b in &mut bytes[head_end as usize..] {
        *b = 0;
    }
    std::fs::write(&bundle, &bytes).unwrap();
    let text = airlock.ok(&["inspect", bundle.to_str().unwrap()]);
    assert!(text.contains("test 1.0.0") && text.contains("localhost/img:1.0"), "{text}");
    airlock.fails_with(BAD_BUNDLE, &["verify", bundle.to_str().unwrap(), "--key", &public]);
}

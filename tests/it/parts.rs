//! Split bundles: parts read in place by every reading command, with the
//! same results as the whole bundle, and damaged parts named.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Split {
    dir: tempfile::TempDir,
    airlock: Airlock,
    bundle: PathBuf,
    public: PathBuf,
    parts: PathBuf,
    count: usize,
    hello_digest: String,
    big: Built,
}

/// A signed bundle of three images (one with a 6 MB layer, one stored
/// zstd-compressed), split into parts of at most 1 MiB.
fn split_bundle() -> Split {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let hello_digest = demo_image(&d.join("hello"));
    let mut layout = LayoutBuilder::new(&d.join("img"));
    let big = layout.image("amd64", &[layer(&[("data/noise.bin", &noise(6 << 20, 0), 0o644)])]);
    layout.tag(&big, "big");
    docker_archive(&d.join("hello"), "1.0.0", &d.join("plain.tar"), "example.com/plain:1");
    let spec = write_spec(
        d,
        "components:\n  - name: a\n    images: [\"oci-layout:./hello:1.0.0\", \"oci-layout:./img:big\", \"docker-archive:./plain.tar\"]\n",
    );
    let airlock = Airlock::new();
    let bundle = d.join("s.airlock");
    let public = airlock.create_signed(&spec, &bundle);
    let parts = d.join("usb");
    let out =
        airlock.ok(&["split", bundle.to_str().unwrap(), "--max-part-size", "1MiB", "-o", parts.to_str().unwrap()]);
    assert!(out.contains("split into"), "{out}");
    let count = std::fs::read_dir(&parts).unwrap().count();
    Split { dir, airlock, bundle, public, parts, count, hello_digest, big }
}

/// `install SOURCE --k3s --root ROOT` for amd64, trusting `key`.
fn install_args<'a>(source: &'a Path, root: &'a Path, key: &'a str) -> Vec<&'a str> {
    let (source, root) = (source.to_str().unwrap(), root.to_str().unwrap());
    vec!["install", source, "--k3s", "--root", root, "--platform", "linux/amd64", "--key", key]
}

fn part(s: &Split, index: usize) -> PathBuf {
    let width = s.count.to_string().len().max(3);
    s.parts.join(format!("s.airlock.part-{index:0width$}-of-{:0width$}", s.count))
}

fn files_under(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.strip_prefix(root).unwrap().display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn parts_read_in_place_like_the_whole_bundle() {
    if missing_tool("skopeo") || missing_tool("docker-registry") {
        return;
    }
    let s = split_bundle();
    assert!(s.count >= 7, "a 6 MB layer in 1 MiB parts makes several parts, got {}", s.count);
    let key = s.public.to_str().unwrap();
    let first = part(&s, 1);
    // Every part is at most 1 MiB plus its header.
    for e in std::fs::read_dir(&s.parts).unwrap() {
        assert!(e.unwrap().metadata().unwrap().len() <= (1 << 20) + 1024);
    }

    // verify and inspect, from the directory and from the first part.
    for source in [&s.parts, &first] {
        s.airlock.ok(&["verify", source.to_str().unwrap(), "--key", key]);
        assert_eq!(s.airlock.inspect(source)["manifestDigest"], s.airlock.inspect(&s.bundle)["manifestDigest"]);
    }

    // serve from the parts: skopeo pulls byte-identical manifests and whole images.
    let served = s.airlock.serve(&s.parts, &["--key", key]);
    for (name, digest) in [("hello:1.0.0", s.hello_digest.as_str()), ("img:big", s.big.digest.as_str())] {
        let out = Command::new("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false", &format!("docker://{}/{name}", served.address)])
            .output()
            .unwrap();
        assert_eq!(format!("sha256:{}", sha256_hex(&out.stdout)), digest, "{name}");
    }
    for name in ["img:big", "plain:1"] {
        let dest = s.dir.path().join(format!("pulled-{}", name.replace(':', "-")));
        run_ok(Command::new("skopeo").args([
            "copy",
            "--quiet",
            "--src-tls-verify=false",
            &format!("docker://{}/{name}", served.address),
            &format!("oci:{}:x", dest.display()),
        ]));
    }

    // push from the parts: the registry gets the same digests as from the whole bundle.
    let registry = Registry::plain();
    let host = format!("{}/fromparts", registry.host);
    s.airlock.ok(&["push", s.parts.to_str().unwrap(), "--registry", &host, "--plain-http", "--key", key]);
    assert_eq!(registry.manifest_digest("fromparts/img:big"), s.big.digest);
    assert_eq!(registry.manifest_digest("fromparts/hello:1.0.0"), s.hello_digest);

    // install onto a K3s node root: the same files as from the whole bundle.
    let install = |source: &Path, root: &Path| s.airlock.ok(&install_args(source, root, key));
    let (from_parts, from_whole) = (s.dir.path().join("node-parts"), s.dir.path().join("node-whole"));
    install(&s.parts, &from_parts);
    install(&s.bundle, &from_whole);
    let (a, b) = (files_under(&from_parts), files_under(&from_whole));
    assert!(a.len() > 2);
    assert_eq!(a.iter().map(|f| &f.0).collect::<Vec<_>>(), b.iter().map(|f| &f.0).collect::<Vec<_>>());
    assert!(a.iter().zip(&b).all(|(x, y)| x.1 == y.1), "installed files differ between parts and whole bundle");
}

#[test]
fn a_damaged_part_is_named_and_nothing_is_installed() {
    let s = split_bundle();
    let key = s.public.to_str().unwrap();
    let fresh = |name: &str| {
        let copy = s.dir.path().join(name);
        run_ok(Command::new("cp").arg("-r").arg(&s.parts).arg(&copy));
        copy
    };
    let name = |i: usize| part(&s, i).file_name().unwrap().to_str().unwrap().to_string();

    let missing = fresh("missing");
    std::fs::remove_file(missing.join(name(2))).unwrap();
    let err = s.airlock.fails_with(BAD_BUNDLE, &["verify", missing.to_str().unwrap(), "--key", key]);
    assert!(
        err.contains(&format!("part 2 of {}", s.count)) && err.contains(&name(2)) && err.contains("missing"),
        "{err}"
    );

    let truncated = fresh("truncated");
    let f = std::fs::OpenOptions::new().write(true).open(truncated.join(name(3))).unwrap();
    f.set_len(f.metadata().unwrap().len() - 100).unwrap();
    let err = s.airlock.fails_with(BAD_BUNDLE, &["inspect", truncated.to_str().unwrap()]);
    assert!(err.contains("truncated") && err.contains(&name(3)), "{err}");

    let corrupt = fresh("corrupt");
    let path = corrupt.join(name(4));
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() - 10;
    bytes[at] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    let err = s.airlock.fails_with(BAD_BUNDLE, &["verify", corrupt.to_str().unwrap(), "--key", key]);
    assert!(err.contains(&name(4)) && err.contains("corrupt"), "{err}");
    let root = s.dir.path().join("node");
    let err = s.airlock.fails_with(BAD_BUNDLE, &install_args(&corrupt, &root, key));
    assert!(err.contains("corrupt") || err.contains("digest"), "{err}");
    assert!(!root.exists() || files_under(&root).is_empty(), "nothing may be installed from a corrupt part");

    let duplicate = fresh("duplicate");
    std::fs::copy(duplicate.join(name(2)), duplicate.join(format!("copy-of-{}", name(2)))).unwrap();
    let err = s.airlock.fails_with(BAD_BUNDLE, &["verify", duplicate.to_str().unwrap(), "--key", key]);
    assert!(err.contains("again") && err.contains(&name(2)), "{err}");

    let swapped = fresh("swapped");
    std::fs::rename(swapped.join(name(5)), swapped.join("tmp")).unwrap();
    std::fs::rename(swapped.join(name(6)), swapped.join(name(5))).unwrap();
    std::fs::rename(swapped.join("tmp"), swapped.join(name(6))).unwrap();
    let err = s.airlock.fails_with(BAD_BUNDLE, &["verify", swapped.to_str().unwrap(), "--key", key]);
    assert!(err.contains("under another part's name"), "{err}");

    // The whole bundle and intact parts are untouched by all this.
    s.airlock.ok(&["verify", s.parts.to_str().unwrap(), "--key", key]);
}

fn copy_report(airlock: &Airlock, from: &Path, to: &Path) -> serde_json::Value {
    serde_json::from_str(&airlock.ok(&["copy", from.to_str().unwrap(), to.to_str().unwrap(), "--json"])).unwrap()
}

#[test]
fn an_interrupted_copy_resumes_writing_only_what_is_missing() {
    let s = split_bundle();
    let key = s.public.to_str().unwrap();
    let total: u64 = std::fs::read_dir(&s.parts).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
    let stick = s.dir.path().join("stick");

    // The process dies (abort, as a kill or a pulled plug) after 40% of the bytes.
    let cut = total * 2 / 5;
    let out = s
        .airlock
        .cmd()
        .args(["copy", s.parts.to_str().unwrap(), stick.to_str().unwrap()])
        .env("AIRLOCK_FAULT_ABORT_AFTER_BYTES", cut.to_string())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let names: Vec<String> =
        std::fs::read_dir(&stick).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().any(|n| n.ends_with(".partial")), "{names:?}");
    // What is on the stick is not mistaken for a whole bundle.
    let err = s.airlock.fails_with(BAD_BUNDLE, &["verify", stick.to_str().unwrap(), "--key", key]);
    assert!(err.contains("missing"), "{err}");

    // Rerun: everything already there is reused, only the rest is written.
    let report = copy_report(&s.airlock, &s.parts, &stick);
    assert_eq!(report["totalBytes"].as_u64(), Some(total));
    assert_eq!(report["reusedBytes"].as_u64(), Some(cut), "{report}");
    assert_eq!(report["writtenBytes"].as_u64(), Some(total - cut), "{report}");
    s.airlock.ok(&["verify", stick.to_str().unwrap(), "--key", key]);
    assert!(std::fs::read_dir(&stick).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".partial")));

    // A byte gone bad on the stick: found by comparison, rewritten from there on.
    let third = stick.join(part(&s, 3).file_name().unwrap());
    let mut bytes = std::fs::read(&third).unwrap();
    let len = bytes.len();
    bytes[len / 2] ^= 1;
    std::fs::write(&third, bytes).unwrap();
    let report = copy_report(&s.airlock, &s.parts, &stick);
    let written = report["writtenBytes"].as_u64().unwrap();
    assert!(written > 0 && written < len as u64, "{report}");
    s.airlock.ok(&["verify", stick.to_str().unwrap(), "--key", key]);

    // A whole bundle copies the same way, and back again.
    let back = s.dir.path().join("back");
    let report = copy_report(&s.airlock, &s.bundle, &back);
    assert_eq!(report["writtenBytes"], report["totalBytes"]);
    assert_eq!(std::fs::read(back.join("s.airlock")).unwrap(), std::fs::read(&s.bundle).unwrap());
    let again = copy_report(&s.airlock, &s.bundle, &back);
    assert_eq!(again["writtenBytes"].as_u64(), Some(0), "{again}");
}

#[test]
fn copy_refuses_a_corrupt_source_and_leaves_no_finished_name() {
    let s = split_bundle();
    let bad = s.dir.path().join("bad");
    run_ok(Command::new("cp").arg("-r").arg(&s.parts).arg(&bad));
    let fifth = bad.join(part(&s, 5).file_name().unwrap());
    let mut bytes = std::fs::read(&fifth).unwrap();
    bytes[2000] ^= 0x55;
    std::fs::write(&fifth, bytes).unwrap();
    let stick = s.dir.path().join("stick");
    let err = s.airlock.fails_with(BAD_BUNDLE, &["copy", bad.to_str().unwrap(), stick.to_str().unwrap()]);
    assert!(err.contains("corrupt"), "{err}");
    // Parts after the bad one were never finished under their own names.
    assert!(!stick.join(part(&s, s.count).file_name().unwrap()).exists());
    // Cutting them again checks them too: no fresh checksums over bad bytes.
    let recut = s.dir.path().join("recut");
    let err = s.airlock.fails_with(
        BAD_BUNDLE,
        &["split", bad.to_str().unwrap(), "--max-part-size", "2MiB", "-o", recut.to_str().unwrap()],
    );
    assert!(
        err.contains("corrupt") && err.contains(&fifth.file_name().unwrap().to_string_lossy().into_owned()),
        "{err}"
    );
}

#[test]
fn create_writes_parts_directly_identical_to_split() {
    let s = split_bundle();
    let spec = s.dir.path().join("airlock.yaml");
    let whole = s.dir.path().join("unsigned/u.airlock");
    let direct = s.dir.path().join("direct/u.airlock");
    std::fs::create_dir_all(whole.parent().unwrap()).unwrap();
    std::fs::create_dir_all(direct.parent().unwrap()).unwrap();
    s.airlock.ok(&["create", spec.to_str().unwrap(), "-o", whole.to_str().unwrap()]);
    let report: serde_json::Value = serde_json::from_str(&s.airlock.ok(&[
        "create",
        spec.to_str().unwrap(),
        "-o",
        direct.to_str().unwrap(),
        "--max-part-size",
        "1MiB",
        "--json",
    ]))
    .unwrap();
    let count = report["parts"].as_u64().unwrap() as usize;
    assert!(count >= 7, "{report}");
    // No whole-size file was left beside the parts.
    let names: Vec<String> = std::fs::read_dir(direct.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), count, "{names:?}");
    assert!(names.iter().all(|n| n.starts_with("u.airlock.part-")), "{names:?}");
    // The same bytes as splitting the whole bundle afterwards.
    let split_dir = s.dir.path().join("split");
    let (w, d) = (whole.to_str().unwrap(), split_dir.to_str().unwrap());
    let split: serde_json::Value =
        serde_json::from_str(&s.airlock.ok(&["split", w, "--max-part-size", "1MiB", "-o", d, "--json"])).unwrap();
    // `split --json`: the parts in order.
    assert_eq!(
        (&split["bundle"], &split["directory"], &split["maxPartSize"]),
        (&w.into(), &d.into(), &(1 << 20).into())
    );
    assert_eq!(split["bundleBytes"].as_u64(), Some(std::fs::metadata(&whole).unwrap().len()));
    let parts: Vec<PathBuf> = split["parts"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().into()).collect();
    let listed: Vec<String> = parts.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    let mut sorted_names = names.clone();
    sorted_names.sort();
    assert_eq!(listed, sorted_names);
    // Each part holds at most 1 MiB of the bundle after its 1 KiB header.
    let held: Vec<u64> = parts.iter().map(|p| std::fs::metadata(p).unwrap().len() - 1024).collect();
    assert!(parts.iter().all(|p| p.starts_with(&split_dir)) && held.iter().all(|&n| n <= 1 << 20), "{held:?}");
    assert_eq!(held.iter().sum::<u64>(), std::fs::metadata(&whole).unwrap().len());
    for name in &names {
        assert!(
            std::fs::read(direct.parent().unwrap().join(name)).unwrap() == std::fs::read(split_dir.join(name)).unwrap(),
            "{name} differs"
        );
    }
    s.airlock.ok(&["verify", direct.parent().unwrap().to_str().unwrap(), "--allow-unsigned"]);
    // Signing a split bundle rewrites the slot in its first part and that part's checksum.
    let (key, public) = s.airlock.keypair(s.dir.path(), "late");
    s.airlock.ok(&["sign", direct.parent().unwrap().to_str().unwrap(), "--key", key.to_str().unwrap()]);
    s.airlock.ok(&["verify", direct.parent().unwrap().to_str().unwrap(), "--key", public.to_str().unwrap()]);
}

/// Fast incompressible bytes (xorshift), for a bundle big enough to kill a
/// copy in the middle of.
fn fast_noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

#[test]
fn a_copy_killed_by_its_pid_resumes_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // One 40 MB layer, gzip'd without compression (quick to make here).
    let mut tar = tar::Builder::new(flate2::GzBuilder::new().mtime(0).write(Vec::new(), flate2::Compression::none()));
    let data = fast_noise(40 << 20);
    let mut h = tar::Header::new_ustar();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut h, "noise.bin", data.as_slice()).unwrap();
    let big_layer = tar.into_inner().unwrap().finish().unwrap();
    let mut layout = LayoutBuilder::new(&d.join("img"));
    let image = layout.image("amd64", &[big_layer]);
    layout.tag(&image, "big");
    let spec = write_spec(d, "components:\n  - name: a\n    images: [\"oci-layout:./img:big\"]\n");
    let airlock = Airlock::new();
    let bundle = d.join("k.airlock");
    airlock.ok(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()]);
    let total = std::fs::metadata(&bundle).unwrap().len();

    let stick = d.join("stick");
    let partial = stick.join("k.airlock.partial");
    let mut child = airlock.cmd().args(["copy", bundle.to_str().unwrap(), stick.to_str().unwrap()]).spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let written = std::fs::metadata(&partial).map(|m| m.len()).unwrap_or(0);
        if written >= 4 << 20 || child.try_wait().unwrap().is_some() || std::time::Instant::now() > deadline {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the copy finished before it could be killed; make the bundle bigger");
    let at_kill = std::fs::metadata(&partial).unwrap().len();
    assert!(at_kill > 0 && at_kill < total, "{at_kill} of {total}");
    assert!(!stick.join("k.airlock").exists(), "an unfinished copy never takes the final name");

    let report: serde_json::Value =
        serde_json::from_str(&airlock.ok(&["copy", bundle.to_str().unwrap(), stick.to_str().unwrap(), "--json"]))
            .unwrap();
    assert_eq!(report["reusedBytes"].as_u64(), Some(at_kill), "{report}");
    assert_eq!(report["writtenBytes"].as_u64(), Some(total - at_kill), "{report}");
    assert!(std::fs::read(stick.join("k.airlock")).unwrap() == std::fs::read(&bundle).unwrap());
}

/// A stick without room for the bundle is refused before anything is
/// written, by copy and by split (a small tmpfs in the test's own mount
/// namespace, `unshare -m`).
#[test]
fn copy_onto_a_full_stick_is_refused_before_writing() {
    if missing_tool("unshare") || !Command::new("unshare").args(["-m", "true"]).status().is_ok_and(|s| s.success()) {
        assert!(std::env::var_os("CI").is_none(), "unshare -m is not permitted");
        return;
    }
    let s = split_bundle();
    let mnt = s.dir.path().join("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    let script = format!(
        "mount -t tmpfs -o size=2m tmpfs {mnt} || exit 90\n{bin} copy {parts} {mnt}/stick\nstatus=$?\n{bin} split {parts} --max-part-size 1MiB -o {mnt}/stick 2>&1 | grep -q 'not enough space' || status=91\necho \"files: $(find {mnt} | wc -l)\"\nexit $status\n",
        mnt = mnt.display(),
        bin = env!("CARGO_BIN_EXE_airlock"),
        parts = s.parts.display(),
    );
    let out = Command::new("unshare").args(["-m", "bash", "-c", &script]).env("NO_COLOR", "1").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(90), "{err}");
    assert_ne!(out.status.code(), Some(91), "split did not refuse: {err}");
    assert!(!out.status.success() && err.contains("not enough space") && err.contains("nothing was written"), "{err}");
    // Only the mount point itself: no stick directory, no partial file.
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "files: 1", "{err}");
}

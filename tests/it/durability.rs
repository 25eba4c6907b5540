//! Crash safety at power loss: a rename puts a result in place only once
//! the directory holding the new name is synced (until then a power loss
//! may undo it). Seen with strace on `create` (whole and in parts; not
//! its cache, which is not a durable store), `split`, `copy` (a whole bundle and parts, fresh and
//! again), `export --oci-layout`, and `install`, `upgrade` and `rollback
//! --k3s` onto a node root: on every thread, every rename into the test's
//! directories is followed by an fsync of the directory it went to (and of
//! the one it left, if another), and every directory made there that
//! stays by an fsync of its parent. A directory fsync that fails (injected
//! by strace) fails the command, naming the directory.
//!
//! strace is required, never skipped: scripts/install-deps.sh installs it.

use crate::support::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The system calls traced: renames, directories made, syncs.
const TRACED: &str = "trace=/^(rename|renameat|renameat2|mkdir|mkdirat|fsync|fdatasync)$";

pub(crate) fn require_strace() {
    let works = Command::new("strace").args(["-qq", "-e", "trace=none", "true"]).output();
    match works {
        Err(e) => panic!("strace is not installed ({e}): run scripts/install-deps.sh (CI installs it)"),
        Ok(out) => assert!(
            out.status.success(),
            "strace cannot trace here (ptrace refused?): {}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// `airlock ARGS` (with the test's environment) under `strace OPTIONS`.
pub(crate) fn under_strace(airlock: &Airlock, options: &[&str], args: &[&str]) -> Output {
    let inner = airlock.cmd();
    let mut cmd = Command::new("strace");
    cmd.args(options).arg("--").arg(inner.get_program()).args(args);
    for (key, value) in inner.get_envs() {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    cmd.output().unwrap_or_else(|e| panic!("cannot run strace: {e}"))
}

#[derive(Debug)]
enum Call {
    Rename { from: PathBuf, to: PathBuf },
    Mkdir(PathBuf),
    Sync(PathBuf),
}

/// The top-level arguments of a traced call, split at commas outside
/// strings and `<path>` annotations.
fn split_args(args: &str) -> Vec<String> {
    let (mut out, mut current) = (Vec::new(), String::new());
    let (mut quoted, mut escaped, mut angle) = (false, false, 0);
    for c in args.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle += 1,
            '>' if !quoted && angle > 0 => angle -= 1,
            ',' if !quoted && angle == 0 => {
                out.push(current.trim().to_string());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    out.push(current.trim().to_string());
    out
}

/// The path a `"string"` argument names.
fn string_arg(arg: &str) -> Option<String> {
    let inner = arg.strip_prefix('"')?.strip_suffix('"')?;
    Some(inner.replace("\\\"", "\"").replace("\\\\", "\\"))
}

/// The path `-y` prints for a descriptor: `5</dir>`, `AT_FDCWD</cwd>`.
fn fd_path(arg: &str) -> Option<PathBuf> {
    let start = arg.find('<')?;
    Some(PathBuf::from(arg[start + 1..].strip_suffix('>')?))
}

/// `name` as seen from the directory descriptor `dirfd` (when relative).
fn at(dirfd: Option<&String>, name: &str) -> PathBuf {
    match dirfd.and_then(|d| fd_path(d)) {
        Some(dir) if !name.starts_with('/') => dir.join(name),
        _ => PathBuf::from(name),
    }
}

/// A successful traced call of interest, from one line of strace's log.
fn parse(line: &str) -> Option<Call> {
    let open = line.find('(')?;
    let name = &line[..open];
    // `CALL(ARGS)<padding> = RESULT`
    let (args, result) = line[open + 1..].rsplit_once(" = ")?;
    let args = args.trim_end().strip_suffix(')')?;
    if !result.trim_start().starts_with('0') {
        return None;
    }
    let args = split_args(args);
    let text = |i: usize| args.get(i).and_then(|a| string_arg(a));
    Some(match name {
        "rename" => Call::Rename { from: text(0)?.into(), to: text(1)?.into() },
        "renameat" | "renameat2" => Call::Rename { from: at(args.first(), &text(1)?), to: at(args.get(2), &text(3)?) },
        "mkdir" => Call::Mkdir(text(0)?.into()),
        "mkdirat" => Call::Mkdir(at(args.first(), &text(1)?)),
        "fsync" | "fdatasync" => Call::Sync(fd_path(args.first()?)?),
        _ => return None,
    })
}

/// A path with its directory resolved as `-y` prints descriptors' paths.
fn real(path: &Path) -> PathBuf {
    match (path.parent().and_then(|p| p.canonicalize().ok()), path.file_name()) {
        (Some(dir), Some(name)) => dir.join(name),
        _ => path.to_path_buf(),
    }
}

fn parent(path: &Path) -> PathBuf {
    real(path).parent().expect("a path with a directory").to_path_buf()
}

/// Runs `airlock ARGS` under strace, one log per thread, and checks that
/// every rename into `roots` is followed, on its thread, by a sync of the
/// directory it went to (and of the one it left, if another), and every
/// directory made under `roots` (and still there) by a sync of its parent.
/// Returns the renames' destinations.
fn durably(airlock: &Airlock, logs: &Path, roots: &[&Path], args: &[&str]) -> BTreeSet<PathBuf> {
    std::fs::create_dir_all(logs).unwrap();
    let log = logs.join("thread");
    let options = ["-ff", "-qq", "-y", "-s", "4096", "-e", "signal=none", "-e", TRACED, "-o", log.to_str().unwrap()];
    let out = under_strace(airlock, &options, args);
    assert!(out.status.success(), "airlock {args:?} failed under strace:\n{}", String::from_utf8_lossy(&out.stderr));
    let roots: Vec<PathBuf> = roots.iter().map(|r| r.canonicalize().unwrap()).collect();
    let inside = |p: &Path| roots.iter().any(|r| p.starts_with(r));
    let (mut renamed, mut missing) = (BTreeSet::new(), Vec::new());
    for entry in std::fs::read_dir(logs).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let calls: Vec<(usize, &str, Call)> =
            text.lines().enumerate().filter_map(|(n, line)| Some((n + 1, line, parse(line)?))).collect();
        let synced_after =
            |i: usize, dir: &Path| calls[i + 1..].iter().any(|(_, _, c)| matches!(c, Call::Sync(d) if d == dir));
        for (i, (n, line, call)) in calls.iter().enumerate() {
            let needed = match call {
                Call::Rename { from, to } if inside(&real(to)) => {
                    renamed.insert(real(to));
                    let mut dirs = vec![parent(to)];
                    if parent(from) != parent(to) {
                        dirs.push(parent(from));
                    }
                    dirs
                }
                Call::Mkdir(dir) if inside(&real(dir)) && dir.is_dir() => vec![parent(dir)],
                _ => continue,
            };
            for dir in needed.iter().filter(|d| !synced_after(i, d)) {
                missing.push(format!("{}:{n}: {line}\n    (no fsync of {} after it)", path.display(), dir.display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "airlock {args:?} left {} change(s) a power loss may undo:\n{}",
        missing.len(),
        missing.join("\n")
    );
    renamed
}

/// A bundle spec `site` VERSION for the node: one image (with `payload`
/// and incompressible bytes enough for several 64 KiB parts), a chart, a
/// manifest and a file.
fn site_spec(d: &Path, version: &str, payload: &str) -> PathBuf {
    let mut layout = LayoutBuilder::new(&d.join(format!("image-{payload}")));
    let noise = noise(300 << 10, payload.len() as u8);
    let image = layout.image("amd64", &[layer(&[("hello", payload.as_bytes(), 0o755), ("noise", &noise, 0o644)])]);
    layout.tag(&image, "1");
    let chart = d.join("chart-web");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(chart.join("Chart.yaml"), "apiVersion: v2\nname: web\nversion: 0.1.0\n").unwrap();
    std::fs::write(chart.join("templates/cm.yaml"), format!("kind: ConfigMap\n# {payload}\n")).unwrap();
    std::fs::write(d.join("ns.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata: {name: apps}\n").unwrap();
    std::fs::write(d.join(format!("k3s-{payload}")), format!("#!/bin/sh\necho k3s {payload}\n")).unwrap();
    let spec = d.join(format!("airlock-{payload}.yaml"));
    std::fs::write(
        &spec,
        format!(
            "apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {{name: site, version: {version}}}\ncomponents:\n  - name: app\n    images: [\"oci-layout:./image-{payload}:1\"]\n    charts: [{{name: web, path: ./chart-web, namespace: apps}}]\n    manifests: [ns.yaml]\n    files: [{{source: k3s-{payload}, target: /usr/local/bin/k3s, mode: \"0755\"}}]\n"
        ),
    )
    .unwrap();
    spec
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The files directly in `dir`.
fn files_in(dir: &Path) -> BTreeSet<PathBuf> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect()
}

#[test]
fn create_split_copy_and_export_sync_every_directory_they_rename_into() {
    require_strace();
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().canonicalize().unwrap();
    let d = base.as_path();
    let airlock = Airlock::new();
    let spec = site_spec(d, "1.0.0", "v1");
    let logs = d.join("logs");
    let mut run = 0;
    let mut traced = |roots: &[&Path], args: &[&str]| {
        run += 1;
        durably(&airlock, &logs.join(run.to_string()), roots, args)
    };

    // A whole bundle, every blob through an empty cache first (the cache,
    // in the airlock's home, is not a durable store: not checked).
    let bundle = d.join("site.airlock");
    let renamed = traced(&[d], &["create", s(&spec), "-o", s(&bundle)]);
    assert!(renamed.contains(&bundle), "{renamed:?}");

    // Straight into parts.
    let direct = d.join("direct");
    std::fs::create_dir(&direct).unwrap();
    let renamed =
        traced(&[d], &["create", s(&spec), "-o", s(&direct.join("site.airlock")), "--max-part-size", "64KiB"]);
    assert!(renamed.len() > 2 && renamed.iter().all(|p| p.starts_with(&direct)), "{renamed:?}");

    // Cut into parts, in a directory split makes.
    let parts = d.join("usb/parts");
    let renamed = traced(&[d], &["split", s(&bundle), "--max-part-size", "64KiB", "-o", s(&parts)]);
    assert!(files_in(&parts).len() > 2 && files_in(&parts).is_subset(&renamed), "{renamed:?}");

    // Copied whole and as parts, into directories copy makes; then again
    // over the finished copies (compared, renamed aside and back).
    for (source, dest) in [(&bundle, d.join("stick/whole")), (&parts, d.join("stick/parts"))] {
        for _ in 0..2 {
            let renamed = traced(&[d], &["copy", s(source), s(&dest)]);
            assert!(!files_in(&dest).is_empty() && files_in(&dest).is_subset(&renamed), "{renamed:?}");
        }
    }

    // An image taken out into an OCI layout.
    let image = airlock.inspect(&bundle)["components"][0]["images"][0]["digest"].as_str().unwrap().to_string();
    let layout = d.join("export/layout");
    let renamed = traced(&[d], &["export", s(&bundle), &image, "--oci-layout", s(&layout), "--allow-unsigned"]);
    assert!(renamed.iter().any(|p| p.starts_with(layout.join("blobs/sha256"))), "{renamed:?}");
}

/// `VERB BUNDLE --k3s --root ROOT` for an amd64 node, unsigned.
fn node_args<'a>(verb: &'a str, bundle: &'a Path, root: &'a Path) -> Vec<&'a str> {
    vec![verb, s(bundle), "--k3s", "--root", s(root), "--platform", "linux/amd64", "--allow-unsigned"]
}

/// Two versions of bundle `site`, created without tracing.
fn two_versions(airlock: &Airlock, d: &Path) -> (PathBuf, PathBuf) {
    let [v1, v2] = [("1.0.0", "v1"), ("1.1.0", "v2")].map(|(version, payload)| {
        let bundle = d.join(format!("site-{version}.airlock"));
        airlock.ok(&["create", s(&site_spec(d, version, payload)), "-o", s(&bundle)]);
        bundle
    });
    (v1, v2)
}

#[test]
fn install_upgrade_and_rollback_on_a_node_sync_every_directory_they_rename_into() {
    require_strace();
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().canonicalize().unwrap();
    let d = base.as_path();
    let airlock = Airlock::new();
    let (v1, v2) = two_versions(&airlock, d);
    let logs = d.join("logs");
    // A node root made by the install, a level below one that exists.
    let root = d.join("node/root");
    let manifests = root.join("var/lib/rancher/k3s/server/manifests");
    let state = root.join("var/lib/airlock/site");

    let renamed = durably(&airlock, &logs.join("install"), &[d], &node_args("install", &v1, &root));
    assert!(renamed.contains(&state.join("revision-000001.json")), "{renamed:?}");
    assert!(renamed.iter().any(|p| p.starts_with(&manifests)), "{renamed:?}");
    assert!(renamed.contains(&root.join("usr/local/bin/k3s")), "{renamed:?}");
    assert!(renamed.iter().any(|p| p.starts_with(state.join("objects"))), "{renamed:?}");

    let renamed = durably(&airlock, &logs.join("upgrade"), &[d], &node_args("upgrade", &v2, &root));
    assert!(renamed.contains(&state.join("revision-000002.json")), "{renamed:?}");
    assert!(renamed.contains(&root.join("usr/local/bin/k3s")), "{renamed:?}");

    let rollback = ["rollback", "site", "--k3s", "--root", s(&root)];
    let renamed = durably(&airlock, &logs.join("rollback"), &[d], &rollback);
    assert!(renamed.contains(&state.join("revision-000003.json")), "{renamed:?}");
    assert!(renamed.contains(&root.join("usr/local/bin/k3s")), "{renamed:?}");
}

/// strace fails every fsync of `dir` with EIO while `airlock ARGS` runs.
fn with_dir_sync_failing(airlock: &Airlock, dir: &Path, args: &[&str]) -> Output {
    let options = ["-f", "-qq", "-o", "/dev/null", "-e", "trace=fsync", "-e", "inject=fsync:error=EIO", "-P", s(dir)];
    under_strace(airlock, &options, args)
}

#[test]
fn a_directory_that_cannot_be_synced_fails_the_command_naming_it() {
    require_strace();
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().canonicalize().unwrap();
    let d = base.as_path();
    let airlock = Airlock::new();
    let (v1, v2) = two_versions(&airlock, d);
    let root = d.join("node");
    airlock.ok(&node_args("install", &v1, &root));

    // The upgrade's first file renamed into the manifests directory.
    let manifests = root.join("var/lib/rancher/k3s/server/manifests");
    let out = with_dir_sync_failing(&airlock, &manifests, &node_args("upgrade", &v2, &root));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(FAILURE), "{err}");
    assert!(err.contains(&format!("cannot sync directory {}", manifests.display())), "{err}");
    assert!(err.contains("Input/output error"), "{err}");
    // Not recorded: a rerun finishes the upgrade.
    airlock.ok(&node_args("upgrade", &v2, &root));
    let history = airlock.ok(&["history", "site", "--k3s", "--root", s(&root)]);
    assert_eq!(history.lines().filter(|l| l.contains("1.1.0")).count(), 1, "{history}");

    // A bundle created into a directory that cannot be synced.
    let out_dir = d.join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let spec = d.join("airlock-v1.yaml");
    let out = with_dir_sync_failing(&airlock, &out_dir, &["create", s(&spec), "-o", s(&out_dir.join("site.airlock"))]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains(&format!("cannot sync directory {}", out_dir.display())), "{err}");
}

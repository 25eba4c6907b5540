//! The main failures, whole: the exact stderr (error, causes, hints) and
//! exit code of each, pinned as insta snapshots (`snapshots/`), so that a
//! change to any message, hint or code shows in review. Temp paths, digests,
//! key ids and ports are filtered out of the text.

use crate::support::*;
use std::path::Path;

/// Exit code and stderr of `airlock ARGS`, filtered for a snapshot.
fn failure(airlock: &Airlock, dir: &Path, args: &[&str]) -> String {
    let out = airlock.run(args);
    assert!(!out.status.success(), "airlock {args:?} should have failed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let filtered = stderr.replace(dir.to_str().unwrap(), "[DIR]");
    let filtered = filtered.replace(airlock.home.path().to_str().unwrap(), "[HOME]");
    let filtered = regex::Regex::new(r"[0-9a-f]{64}").unwrap().replace_all(&filtered, "[HEX]");
    let filtered = regex::Regex::new(r"\b[0-9a-f]{12}\b").unwrap().replace_all(&filtered, "[KEY ID]");
    let filtered = regex::Regex::new(r"127\.0\.0\.1:\d+").unwrap().replace_all(&filtered, "127.0.0.1:[PORT]");
    format!("exit code: {}\n{filtered}", out.status.code().unwrap_or(-1))
}

/// A small signed bundle of one image and one manifest, and the key that
/// signed it.
fn signed_bundle(airlock: &Airlock, dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let mut layout = LayoutBuilder::new(&dir.join("img"));
    let image = layout.image("amd64", &[layer(&[("data", b"data", 0o644)])]);
    layout.tag(&image, "1.0");
    std::fs::write(dir.join("cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n").unwrap();
    let spec = write_spec(
        dir,
        "components:\n  - name: app\n    images: [\"oci-layout:./img:1.0\"]\n    manifests: [cm.yaml]\n",
    );
    let bundle = dir.join("app.airlock");
    let public = airlock.create_signed(&spec, &bundle);
    (bundle, public)
}

#[test]
fn a_damaged_bundle_exits_3_and_says_to_copy_it_again() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let airlock = Airlock::new();
    let (bundle, public) = signed_bundle(&airlock, d);
    let (b, k) = (bundle.to_str().unwrap(), public.to_str().unwrap());
    // The last byte of the manifest blob's data, flipped.
    let mut bytes = std::fs::read(&bundle).unwrap();
    let at = bytes.windows(13).rposition(|w| w == b"kind: ConfigM").unwrap();
    bytes[at] ^= 1;
    std::fs::write(&bundle, &bytes).unwrap();
    insta::assert_snapshot!("flipped_byte", failure(&airlock, d, &["verify", b, "--key", k]));
    // Cut short.
    std::fs::write(&bundle, &bytes[..bytes.len() / 2]).unwrap();
    insta::assert_snapshot!("truncated", failure(&airlock, d, &["verify", b, "--key", k]));
}

#[test]
fn signatures_that_do_not_hold_exit_3_and_missing_keys_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let airlock = Airlock::new();
    let (bundle, _) = signed_bundle(&airlock, d);
    let (_, other) = airlock.keypair(d, "other");
    let b = bundle.to_str().unwrap();
    insta::assert_snapshot!("wrong_key", failure(&airlock, d, &["verify", b, "--key", other.to_str().unwrap()]));
    insta::assert_snapshot!("no_key", failure(&airlock, d, &["export", b, "--images-tar", "x.tar"]));
    let unsigned = d.join("unsigned.airlock");
    airlock.ok(&["create", d.join("airlock.yaml").to_str().unwrap(), "-o", unsigned.to_str().unwrap()]);
    let args = ["push", unsigned.to_str().unwrap(), "--registry", "127.0.0.1:1/x", "--key", other.to_str().unwrap()];
    insta::assert_snapshot!("unsigned", failure(&airlock, d, &args));
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let airlock = Airlock::new();
    let missing = d.join("typo.airlock");
    insta::assert_snapshot!("no_such_bundle", failure(&airlock, d, &["inspect", missing.to_str().unwrap()]));
    let args = ["install", missing.to_str().unwrap(), "--k3s", "--wait"];
    insta::assert_snapshot!("flag_for_the_other_target", failure(&airlock, d, &args));
    insta::assert_snapshot!("no_cluster", failure(&airlock, d, &["history", "app"]));
}

#[test]
fn what_cannot_be_reached_exits_1_with_what_to_check() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let airlock = Airlock::new();
    let (bundle, public) = signed_bundle(&airlock, d);
    let (b, k) = (bundle.to_str().unwrap(), public.to_str().unwrap());
    // Nothing listens on port 1 of the loopback address.
    let args = ["push", b, "--registry", "127.0.0.1:1/mirror", "--plain-http", "--key", k];
    insta::assert_snapshot!("registry_down", failure(&airlock, d, &args));
    let kubeconfig = d.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts: [{name: c, context: {cluster: c, user: u}}]\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1', insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: t}}]\n",
    )
    .unwrap();
    let args = ["install", b, "--key", k, "--kubeconfig", kubeconfig.to_str().unwrap()];
    insta::assert_snapshot!("cluster_down", failure(&airlock, d, &args));
}

#[test]
fn a_spec_error_names_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let spec = write_spec(d, "components:\n  - name: app\n    imagez: [redis:7]\n");
    let airlock = Airlock::new();
    let out = d.join("out.airlock");
    let args = ["create", spec.to_str().unwrap(), "-o", out.to_str().unwrap()];
    insta::assert_snapshot!("spec_unknown_field", failure(&airlock, d, &args));
}

//! Bundle signatures against the real cosign v3 (built from its module by
//! scripts/build-tools.sh), run inside `unshare -n` so it can never reach
//! its TUF repository or a transparency log: cosign verifies what airlock
//! signs, with the exact commands docs/signing.md gives, and airlock
//! verifies what cosign signs, with keys from either.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn built_cosign() -> Option<PathBuf> {
    let cosign = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools/bin/cosign");
    if cosign.exists() {
        return Some(cosign);
    }
    assert!(std::env::var_os("CI").is_none(), "cosign is not built: run scripts/build-tools.sh cosign");
    eprintln!("skipping: cosign is not built (scripts/build-tools.sh cosign)");
    None
}

/// Runs cosign in `dir` with only loopback, its home inside `dir`.
fn cosign(cosign: &Path, dir: &Path, args: &[&str]) -> Output {
    let home = dir.join("cosign-home");
    std::fs::create_dir_all(&home).unwrap();
    Command::new("unshare")
        .arg("-n")
        .arg(cosign)
        .args(args)
        .current_dir(dir)
        .env("HOME", &home)
        .env("COSIGN_PASSWORD", "cosign-password")
        .env("TUF_ROOT", home.join("tuf"))
        .output()
        .unwrap()
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `tar -xOf BUNDLE ENTRY > dir/NAME`, as the docs tell users to.
fn extract(bundle: &Path, entry: &str, dir: &Path, name: &str) -> PathBuf {
    let out = Command::new("tar").args(["-xOf", bundle.to_str().unwrap(), entry]).output().unwrap();
    assert!(out.status.success(), "tar cannot extract {entry}");
    let path = dir.join(name);
    std::fs::write(&path, out.stdout).unwrap();
    path
}

fn small_bundle(airlock: &Airlock, dir: &Path, content: &[u8]) -> PathBuf {
    let mut layout = LayoutBuilder::new(&dir.join("img"));
    let img = layout.image("amd64", &[layer(&[("f", content, 0o644)])]);
    layout.tag(&img, "1.0");
    let spec = write_spec(dir, "components:\n  - name: a\n    images: [\"oci-layout:./img:1.0\"]\n");
    let bundle = dir.join("app.airlock");
    airlock.ok(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()]);
    bundle
}

fn verify_blob(cosign_bin: &Path, dir: &Path, public: &Path, sig: &str, blob: &str) -> Output {
    let key = public.to_str().unwrap();
    cosign(cosign_bin, dir, &["verify-blob", "--key", key, "--bundle", sig, "--insecure-ignore-tlog", blob])
}

#[test]
fn cosign_verifies_the_sigstore_signature_airlock_writes() {
    let Some(cosign_bin) = built_cosign() else { return };
    if missing_tool("unshare") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let airlock = Airlock::new();
    let mut layout = LayoutBuilder::new(&d.join("img"));
    let img = layout.image("amd64", &[layer(&[("f", b"x", 0o644)])]);
    layout.tag(&img, "1.0");
    let spec = write_spec(d, "components:\n  - name: a\n    images: [\"oci-layout:./img:1.0\"]\n");
    let bundle = d.join("signed.airlock");
    let public = airlock.create_signed(&spec, &bundle);

    // The documented commands, byte for byte what a user types.
    extract(&bundle, "airlock/bundle.json", d, "bundle.json");
    extract(&bundle, "airlock/signature.sigstore.json", d, "signature.sigstore.json");
    let out = verify_blob(&cosign_bin, d, &public, "signature.sigstore.json", "bundle.json");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("Verified OK"), "{text}");

    // cosign refuses a changed manifest and another key, so the check can fail.
    std::fs::write(d.join("changed.json"), [std::fs::read(d.join("bundle.json")).unwrap(), b" ".to_vec()].concat())
        .unwrap();
    assert!(!verify_blob(&cosign_bin, d, &public, "signature.sigstore.json", "changed.json").status.success());
    let other = d.join("other");
    std::fs::create_dir(&other).unwrap();
    let (other_key, other_pub) = airlock.keypair(&other, "other");
    assert!(!verify_blob(&cosign_bin, d, &other_pub, "signature.sigstore.json", "bundle.json").status.success());

    // `airlock sign` with another key rewrites the entry in place: it now
    // holds the newest signature, and airlock still trusts either key.
    let mut sign = airlock.cmd();
    sign.args(["sign", bundle.to_str().unwrap(), "--key", other_key.to_str().unwrap()]);
    ok(sign.output().unwrap(), "airlock sign");
    extract(&bundle, "airlock/signature.sigstore.json", d, "signature2.sigstore.json");
    ok(verify_blob(&cosign_bin, d, &other_pub, "signature2.sigstore.json", "bundle.json"), "cosign verify-blob");
    for key in [&public, &other_pub] {
        airlock.ok(&["verify", bundle.to_str().unwrap(), "--key", key.to_str().unwrap()]);
    }
}

#[test]
fn airlock_trusts_what_cosign_signs_with_its_own_keys() {
    let Some(cosign_bin) = built_cosign() else { return };
    if missing_tool("unshare") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let airlock = Airlock::new();
    ok(cosign(&cosign_bin, d, &["generate-key-pair"]), "cosign generate-key-pair");
    let (key, public) = (d.join("cosign.key"), d.join("cosign.pub"));

    // A key cosign v3 generated signs with airlock: both tools accept the result.
    let bundle = small_bundle(&airlock, d, b"signed by airlock");
    let mut sign = airlock.cmd();
    sign.args(["sign", bundle.to_str().unwrap(), "--key", key.to_str().unwrap()])
        .env_remove("AIRLOCK_PASSWORD")
        .env("COSIGN_PASSWORD", "cosign-password");
    ok(sign.output().unwrap(), "airlock sign with a cosign key");
    airlock.ok(&["verify", bundle.to_str().unwrap(), "--key", public.to_str().unwrap()]);
    extract(&bundle, "airlock/bundle.json", d, "bundle.json");
    extract(&bundle, "airlock/signature.sigstore.json", d, "sig.json");
    ok(verify_blob(&cosign_bin, d, &public, "sig.json", "bundle.json"), "cosign verify-blob");

    // A signature cosign makes (as with a KMS key), attached to an unsigned
    // bundle: airlock reads cosign's Sigstore bundle and trusts it.
    let unsigned_dir = d.join("unsigned");
    std::fs::create_dir(&unsigned_dir).unwrap();
    let unsigned = small_bundle(&airlock, &unsigned_dir, b"signed by cosign");
    let err =
        airlock.fails_with(BAD_BUNDLE, &["verify", unsigned.to_str().unwrap(), "--key", public.to_str().unwrap()]);
    assert!(err.contains("not signed"), "{err}");
    extract(&unsigned, "airlock/bundle.json", d, "unsigned.json");
    ok(
        cosign(
            &cosign_bin,
            d,
            &[
                "sign-blob",
                "--key",
                "cosign.key",
                "--bundle",
                "cosign.sigstore.json",
                "--use-signing-config=false",
                "--tlog-upload=false",
                "unsigned.json",
            ],
        ),
        "cosign sign-blob",
    );
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.join("cosign.sigstore.json")).unwrap()).unwrap();
    assert_eq!(written["mediaType"], "application/vnd.dev.sigstore.bundle.v0.3+json", "{written}");
    let attached = airlock.ok(&[
        "sign",
        unsigned.to_str().unwrap(),
        "--sigstore-bundle",
        d.join("cosign.sigstore.json").to_str().unwrap(),
    ]);
    let der = Command::new("openssl")
        .args(["pkey", "-pubin", "-in", "cosign.pub", "-outform", "DER"])
        .current_dir(d)
        .output()
        .unwrap()
        .stdout;
    assert!(attached.contains(&sha256_hex(&der)), "the hint names cosign's key: {attached}");
    airlock.ok(&["verify", unsigned.to_str().unwrap(), "--key", public.to_str().unwrap()]);
    // The entry is cosign's own bundle, which cosign still verifies in place.
    extract(&unsigned, "airlock/signature.sigstore.json", d, "attached.json");
    ok(verify_blob(&cosign_bin, d, &public, "attached.json", "unsigned.json"), "cosign verify-blob of the attached");

    // A signature of other bytes is refused, naming what to sign.
    let err = airlock.fails(&[
        "sign",
        bundle.to_str().unwrap(),
        "--sigstore-bundle",
        d.join("cosign.sigstore.json").to_str().unwrap(),
    ]);
    assert!(err.contains("signs other bytes than the manifest") && err.contains("airlock/bundle.json"), "{err}");
    // And a key that did not sign is not trusted.
    let (_, stranger) = airlock.keypair(&unsigned_dir, "stranger");
    let err =
        airlock.fails_with(BAD_BUNDLE, &["verify", unsigned.to_str().unwrap(), "--key", stranger.to_str().unwrap()]);
    assert!(err.contains("no signature verifies"), "{err}");
}

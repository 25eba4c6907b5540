//! Signed bundles: key generation, signing at create time and in place,
//! mandatory verification, key rotation, and an independent check of the
//! signature with openssl and Python's `cryptography`.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn unsigned_bundle(dir: &Path, airlock: &Airlock) -> PathBuf {
    let mut layout = LayoutBuilder::new(&dir.join("img"));
    let img = layout.image("amd64", &[layer(&[("f", b"signed content", 0o644)])]);
    layout.tag(&img, "1.0");
    let spec = write_spec(dir, "components:\n  - name: a\n    images: [\"oci-layout:./img:1.0\"]\n");
    let bundle = dir.join("u.airlock");
    airlock.ok(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()]);
    bundle
}

/// (data offset, size) of a bundle entry.
fn entry(bundle: &Path, name: &str) -> (usize, usize) {
    let mut archive = tar::Archive::new(std::fs::File::open(bundle).unwrap());
    let found = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap())
        .find(|e| e.path().unwrap().to_string_lossy() == name)
        .map(|e| (e.raw_file_position() as usize, e.size() as usize));
    found.unwrap()
}

fn manifest_and_signatures(bundle: &Path) -> (Vec<u8>, serde_json::Value) {
    let bytes = std::fs::read(bundle).unwrap();
    let (mo, ms) = entry(bundle, "airlock/bundle.json");
    let (so, ss) = entry(bundle, "airlock/signatures.json");
    (bytes[mo..mo + ms].to_vec(), serde_json::from_slice(&bytes[so..so + ss]).unwrap())
}

#[test]
fn sign_in_place_verify_and_rotate_keys() {
    let dir = tempfile::tempdir().unwrap();
    let airlock = Airlock::new();
    let bundle = unsigned_bundle(dir.path(), &airlock);
    let (key1, pub1) = airlock.keypair(dir.path(), "k1");
    // `key generate --json` names the two files and the key id: the
    // sha256 of the public key's DER (as openssl writes it).
    let prefix = dir.path().join("k2");
    let generated = airlock.ok(&["key", "generate", "--output-key-prefix", prefix.to_str().unwrap(), "--json"]);
    let generated: serde_json::Value = serde_json::from_str(&generated).unwrap();
    let (key2, pub2) = (prefix.with_extension("key"), prefix.with_extension("pub"));
    assert_eq!(generated["privateKey"], key2.to_str().unwrap());
    assert_eq!(generated["publicKey"], pub2.to_str().unwrap());
    let der = run_ok(Command::new("openssl").args(["pkey", "-pubin", "-outform", "DER", "-in"]).arg(&pub2)).stdout;
    let key2_id = format!("sha256:{}", sha256_hex(&der));
    assert_eq!(generated["keyId"], key2_id.as_str());
    assert!(key2.is_file() && pub2.is_file());
    let b = bundle.to_str().unwrap();

    // Unsigned: refused with a key, and without any key, unless allowed.
    let err = airlock.fails_with(BAD_BUNDLE, &["verify", b, "--key", pub1.to_str().unwrap()]);
    assert!(err.contains("not signed") && err.contains("airlock sign"), "{err}");
    let err = airlock.fails_with(USAGE, &["verify", b]);
    assert!(err.contains("no trusted key") && err.contains("--allow-unsigned"), "{err}");
    let out = airlock.run(&["verify", b, "--allow-unsigned"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning"), "no warning for --allow-unsigned");

    // Signing in place touches only the two signature slots.
    let before = std::fs::read(&bundle).unwrap();
    airlock.ok(&["sign", b, "--key", key1.to_str().unwrap()]);
    let after = std::fs::read(&bundle).unwrap();
    assert_eq!(before.len(), after.len());
    let slots = [entry(&bundle, "airlock/signatures.json"), entry(&bundle, "airlock/signature.sigstore.json")];
    let changed: Vec<usize> = (0..before.len()).filter(|&i| before[i] != after[i]).collect();
    let in_slots = |i: usize| slots.iter().any(|&(offset, size)| i >= offset && i < offset + size);
    assert!(changed.iter().all(|&i| in_slots(i)), "sign changed bytes outside the slots");
    assert!(changed.iter().any(|&i| i >= slots[1].0), "sign left the Sigstore slot as it was");
    let out = airlock.ok(&["verify", b, "--key", pub1.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["signatureChecked"], true);

    // Wrong key.
    let err = airlock.fails_with(BAD_BUNDLE, &["verify", b, "--key", pub2.to_str().unwrap()]);
    assert!(err.contains("no signature verifies") && err.contains("k2.pub"), "{err}");

    // Rotation: a second signature; either key now suffices, and trusted keys
    // may come from AIRLOCK_TRUSTED_KEYS or the config directory.
    let signed = airlock.ok(&["sign", b, "--key", key2.to_str().unwrap(), "--json"]);
    let signed: serde_json::Value = serde_json::from_str(&signed).unwrap();
    assert_eq!(signed["bundle"], b);
    assert_eq!(signed["keyId"], key2_id.as_str());
    assert_eq!(signed["signatures"], 2);
    assert!(signed["sigstoreBundle"].is_null(), "{signed}");
    let out = airlock.ok(&["verify", b, "--key", pub2.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["signedBy"], key2_id.as_str());
    airlock.ok(&[
        "verify",
        b,
        "--key",
        dir.path().join("nonexistent-but-unused.pub").to_str().unwrap(),
        "--allow-unsigned",
    ]);
    let out = airlock.cmd().env("AIRLOCK_TRUSTED_KEYS", &pub1).args(["verify", b]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let trusted_dir = airlock.home.path().join(".config/airlock/trusted-keys");
    std::fs::create_dir_all(&trusted_dir).unwrap();
    std::fs::copy(&pub2, trusted_dir.join("release.pub")).unwrap();
    airlock.ok(&["verify", b]);
    let inspect = airlock.ok(&["inspect", b]);
    assert!(inspect.matches("sha256:").count() >= 3 && inspect.contains("yes, by key"), "{inspect}");
    // Signing again with the same key replaces its signature.
    airlock.ok(&["sign", b, "--key", key1.to_str().unwrap()]);
    let (_, sigs) = manifest_and_signatures(&bundle);
    assert_eq!(sigs["signatures"].as_array().unwrap().len(), 2);
}

#[test]
fn tampering_with_signature_or_manifest_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let airlock = Airlock::new();
    let (key, public) = airlock.keypair(dir.path(), "release");
    let bundle = unsigned_bundle(dir.path(), &airlock);
    airlock.ok(&["sign", bundle.to_str().unwrap(), "--key", key.to_str().unwrap()]);
    let original = std::fs::read(&bundle).unwrap();
    let damaged = dir.path().join("damaged.airlock");
    let verify_damaged = |bytes: &[u8]| {
        std::fs::write(&damaged, bytes).unwrap();
        airlock.fails_with(BAD_BUNDLE, &["verify", damaged.to_str().unwrap(), "--key", public.to_str().unwrap()])
    };

    // A flipped byte inside the base64 signature: the two slots carry the
    // same signature, so one damaged copy leaves the other to verify, and
    // both damaged are refused.
    let flip = |bytes: &mut Vec<u8>, slot: &str| {
        let (so, size) = entry(&bundle, slot);
        let text = String::from_utf8_lossy(&original[so..so + size]).into_owned();
        let sig_at = so + text.find("\"signature\":\"").unwrap() + 20;
        bytes[sig_at] = if bytes[sig_at] == b'A' { b'B' } else { b'A' };
    };
    let mut bytes = original.clone();
    flip(&mut bytes, "airlock/signatures.json");
    std::fs::write(&damaged, &bytes).unwrap();
    airlock.ok(&["verify", damaged.to_str().unwrap(), "--key", public.to_str().unwrap()]);
    flip(&mut bytes, "airlock/signature.sigstore.json");
    let err = verify_damaged(&bytes);
    assert!(err.contains("no signature verifies"), "{err}");

    // A changed character in the manifest (a size digit, keeping it valid JSON).
    let (mo, ms) = entry(&bundle, "airlock/bundle.json");
    let text = String::from_utf8_lossy(&original[mo..mo + ms]).into_owned();
    let at = mo + text.find("\"createdBy\": \"airlock ").unwrap() + 22;
    let mut bytes = original.clone();
    bytes[at] = b'9';
    let err = verify_damaged(&bytes);
    assert!(err.contains("no signature verifies"), "{err}");
}

#[test]
fn create_signs_and_independent_implementations_accept_the_signature() {
    let dir = tempfile::tempdir().unwrap();
    let airlock = Airlock::new();
    let mut layout = LayoutBuilder::new(&dir.path().join("img"));
    let img = layout.image("amd64", &[layer(&[("f", b"x", 0o644)])]);
    layout.tag(&img, "1.0");
    let spec = write_spec(dir.path(), "components:\n  - name: a\n    images: [\"oci-layout:./img:1.0\"]\n");
    let bundle = dir.path().join("s.airlock");
    let public = airlock.create_signed(&spec, &bundle);
    airlock.ok(&["verify", bundle.to_str().unwrap(), "--key", public.to_str().unwrap()]);

    // Extract what `cosign verify-blob` would be given: the manifest bytes
    // and the base64 signature.
    let (manifest, sigs) = manifest_and_signatures(&bundle);
    let sig_b64 = sigs["signatures"][0]["signature"].as_str().unwrap();
    std::fs::write(dir.path().join("manifest.json"), &manifest).unwrap();
    std::fs::write(dir.path().join("manifest.sig.b64"), sig_b64).unwrap();
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD.decode(sig_b64).unwrap();
    std::fs::write(dir.path().join("manifest.sig"), der).unwrap();

    // openssl: ECDSA over SHA-256 of the manifest.
    let out = Command::new("openssl")
        .args(["dgst", "-sha256", "-verify", public.to_str().unwrap(), "-signature", "manifest.sig", "manifest.json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "openssl rejects the signature: {}", String::from_utf8_lossy(&out.stdout));
    // The key ID is the sha256 of the public key's DER, as openssl computes it.
    let der = Command::new("openssl")
        .args(["pkey", "-pubin", "-in", public.to_str().unwrap(), "-outform", "DER"])
        .output()
        .unwrap();
    assert_eq!(sigs["signatures"][0]["keyId"].as_str().unwrap(), format!("sha256:{}", sha256_hex(&der.stdout)));

    // Python's `cryptography` (from the project venv).
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/venv/bin/python");
    let check = "import base64,sys\nfrom cryptography.hazmat.primitives import hashes, serialization\nfrom cryptography.hazmat.primitives.asymmetric import ec\nkey = serialization.load_pem_public_key(open(sys.argv[1],'rb').read())\nsig = base64.b64decode(open('manifest.sig.b64').read())\nkey.verify(sig, open('manifest.json','rb').read(), ec.ECDSA(hashes.SHA256()))\nprint('ok')\n";
    let has_crypto =
        Command::new(&python).args(["-c", "import cryptography"]).output().is_ok_and(|o| o.status.success());
    if has_crypto {
        let out = Command::new(&python)
            .args(["-c", check, public.to_str().unwrap()])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "cryptography rejects the signature: {}", String::from_utf8_lossy(&out.stderr));
        // And it rejects a modified manifest, so the check can fail.
        std::fs::write(dir.path().join("manifest.json"), [&manifest[..], b" "].concat()).unwrap();
        let out = Command::new(&python)
            .args(["-c", check, public.to_str().unwrap()])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(!out.status.success());
    } else {
        assert!(std::env::var_os("CI").is_none(), "target/venv lacks cryptography; run scripts/install-deps.sh");
    }
}

#[test]
fn key_errors_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    let airlock = Airlock::new();
    let (key, _) = airlock.keypair(dir.path(), "release");
    // Never overwrite a key.
    let err = airlock.fails(&["key", "generate", "--output-key-prefix", dir.path().join("release").to_str().unwrap()]);
    assert!(err.contains("already exists"), "{err}");
    let bundle = unsigned_bundle(dir.path(), &airlock);
    let before = std::fs::read(&bundle).unwrap();
    let out = airlock
        .cmd()
        .env("AIRLOCK_PASSWORD", "wrong")
        .args(["sign", bundle.to_str().unwrap(), "--key", key.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("wrong password") && err.contains("release.key"), "{err}");
    assert_eq!(before, std::fs::read(&bundle).unwrap(), "a failed sign changed the bundle");
    // Create with a wrong password: fails, and leaves no bundle.
    let spec = bundle.with_file_name("airlock.yaml");
    let out_path = bundle.with_file_name("wrong-pw.airlock");
    let out = airlock
        .cmd()
        .env("AIRLOCK_PASSWORD", "wrong")
        .args(["create", spec.to_str().unwrap(), "-o", out_path.to_str().unwrap(), "--sign-key", key.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("wrong password"), "{err}");
    assert!(!out_path.exists());
    crate::create::assert_no_partial_files(dir.path());
    // No password source at all (no env, no terminal).
    let out = airlock
        .cmd()
        .env_remove("AIRLOCK_PASSWORD")
        .args(["sign", bundle.to_str().unwrap(), "--key", key.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("AIRLOCK_PASSWORD"));
    // A public key that is not PEM.
    std::fs::write(dir.path().join("junk.pub"), "not a key").unwrap();
    let err = airlock.fails_with(
        USAGE,
        &["verify", bundle.to_str().unwrap(), "--key", dir.path().join("junk.pub").to_str().unwrap()],
    );
    assert!(err.contains("junk.pub") && err.contains("not a PEM public key"), "{err}");
}

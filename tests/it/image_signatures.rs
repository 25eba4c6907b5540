//! `verify: {key}` on an image: create checks the image's cosign signature
//! in a real docker-registry. The signature is made here with the `sigstore`
//! crate (simple-signing payload, pushed as the `sha256-<digest>.sig` tag).

use crate::support::*;
use base64::Engine;
use sigstore::crypto::signing_key::SigStoreKeyPair;
use sigstore::crypto::SigningScheme;
use std::path::Path;

/// Pushes a cosign signature for `digest` under `repo`, signed by `key`.
fn push_signature(
    registry: &Registry,
    work: &Path,
    repo: &str,
    digest: &str,
    signed_digest: &str,
    key: &Path,
    tamper: bool,
) {
    let payload = serde_json::to_vec(&serde_json::json!({
        "critical": {
            "identity": {"docker-reference": format!("{}/{repo}", registry.host)},
            "image": {"docker-manifest-digest": signed_digest},
            "type": "cosign container image signature"
        },
        "optional": null
    }))
    .unwrap();
    let pem = std::fs::read(key).unwrap();
    let pair = SigStoreKeyPair::from_encrypted_pem(&pem, b"test-password").unwrap();
    let signer = pair.to_sigstore_signer(&SigningScheme::ECDSA_P256_SHA256_ASN1).unwrap();
    let mut der = signer.sign(&payload).unwrap();
    if tamper {
        let last = der.len() - 1;
        der[last] ^= 1;
    }
    let signature = base64::engine::general_purpose::STANDARD.encode(der);

    let dir = work.join(format!("sig-{}", &digest[7..19]));
    let _ = std::fs::remove_dir_all(&dir);
    let mut layout = LayoutBuilder::new(&dir);
    let mut layer = layout.blob(&payload);
    layer["mediaType"] = "application/vnd.dev.cosign.simplesigning.v1+json".into();
    layer["annotations"] = serde_json::json!({"dev.cosignproject.cosign/signature": signature});
    let config = serde_json::json!({"architecture": "", "os": "", "config": {}, "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]}});
    let mut config_desc = layout.blob(&serde_json::to_vec(&config).unwrap());
    config_desc["mediaType"] = "application/vnd.oci.image.config.v1+json".into();
    let manifest = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": config_desc, "layers": [layer]});
    let bytes = serde_json::to_vec(&manifest).unwrap();
    let d = layout.blob(&bytes);
    let tag = format!("sha256-{}.sig", &digest[7..]);
    layout.tag(&Built { digest: d["digest"].as_str().unwrap().to_string(), bytes }, &tag);
    registry.push_layout(&dir, &tag, &format!("{repo}:{tag}"));
}

#[test]
fn create_checks_cosign_signatures_of_images() {
    if missing_tool("docker-registry") || missing_tool("skopeo") {
        return;
    }
    let registry = Registry::plain();
    let work = tempfile::tempdir().unwrap();
    let airlock = Airlock::new();
    let (key, public) = airlock.keypair(work.path(), "upstream");
    let (other_key, other_public) = airlock.keypair(work.path(), "other");

    let mut layout = LayoutBuilder::new(&work.path().join("img"));
    let signed = layout.image("amd64", &[layer(&[("f", b"signed image", 0o644)])]);
    let unsigned = layout.image("amd64", &[layer(&[("f", b"unsigned image", 0o644)])]);
    layout.tag(&signed, "signed");
    layout.tag(&unsigned, "unsigned");
    registry.push_layout(&layout.dir, "signed", "team/app:1.0");
    registry.push_layout(&layout.dir, "unsigned", "team/bare:1.0");
    push_signature(&registry, work.path(), "team/app", &signed.digest, &signed.digest, &key, false);

    let spec_with = |image: &str, key: &Path| {
        write_spec(
            work.path(),
            &format!(
                "components:\n  - name: a\n    images:\n      - {{ref: \"{}/{image}\", verify: {{key: {}}}}}\n",
                registry.host,
                key.display()
            ),
        )
    };
    let create = |spec: &Path| {
        airlock.run(&[
            "create",
            spec.to_str().unwrap(),
            "-o",
            work.path().join("s.airlock").to_str().unwrap(),
            "--plain-http",
        ])
    };

    // Right key: accepted, and the signature artifact travels in the bundle.
    let out = create(&spec_with("team/app:1.0", &public));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bundle = work.path().join("s.airlock");
    airlock.ok(&["verify", bundle.to_str().unwrap(), "--allow-unsigned"]);
    let v: serde_json::Value =
        serde_json::from_str(&airlock.ok(&["inspect", bundle.to_str().unwrap(), "--json"])).unwrap();
    let sig = &v["components"][0]["images"][0]["signatures"][0];
    assert_eq!(sig["tag"].as_str().unwrap(), format!("sha256-{}.sig", &signed.digest[7..]));
    let sig_digest = sig["digest"].as_str().unwrap();
    assert!(v["blobs"].as_array().unwrap().iter().any(|b| b["digest"] == sig_digest));

    // Wrong key: refused, naming the image and the key.
    let out = create(&spec_with("team/app:1.0", &other_public));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("team/app:1.0") && err.contains("other.pub") && err.contains("refusing"),
        "{err}"
    );

    // No signature at all.
    let out = create(&spec_with("team/bare:1.0", &public));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("no cosign signature"), "{err}");

    // A valid signature for another digest, placed under this image's tag.
    push_signature(&registry, work.path(), "team/bare", &unsigned.digest, &signed.digest, &key, false);
    let out = create(&spec_with("team/bare:1.0", &public));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("is for") && err.contains(&unsigned.digest), "{err}");

    // A tampered signature, and one by an untrusted key, are refused too.
    for (signer, tamper) in [(&key, true), (&other_key, false)] {
        push_signature(&registry, work.path(), "team/bare", &unsigned.digest, &unsigned.digest, signer, tamper);
        let out = create(&spec_with("team/bare:1.0", &public));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains("no cosign signature of image"), "{err}");
    }
    // Sanity: the same untampered signature by the trusted key is accepted.
    push_signature(&registry, work.path(), "team/bare", &unsigned.digest, &unsigned.digest, &key, false);
    let out = create(&spec_with("team/bare:1.0", &public));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    crate::create::assert_no_partial_files(work.path());
}

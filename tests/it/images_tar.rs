//! `export --images-tar`: the tarball K3s imports from its air-gap images
//! directory, imported by a real containerd exactly as K3s does
//! (`ctr -n k8s.io images import`), then run with runc.

use crate::support::*;

#[test]
fn containerd_imports_the_images_tar_under_the_original_names() {
    if missing_tool("containerd") || missing_tool("ctr") || missing_tool("skopeo") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    demo_image(&d.join("hello"));
    let mut layout = LayoutBuilder::new(&d.join("img"));
    let (amd, _, _) = layout.two_platforms("quay.io/team/multi:2.0");
    // An uncompressed layer, stored zstd in the bundle, decoded into the tar.
    let archive = d.join("plain.tar");
    docker_archive(&d.join("hello"), "1.0.0", &archive, "docker.io/library/plain:1");
    let spec = write_spec(
        d,
        "components:\n  - name: a\n    images: [\"oci-layout:./hello:1.0.0\", \"oci-layout:./img:quay.io/team/multi:2.0\", \"docker-archive:./plain.tar\"]\n",
    );
    let airlock = Airlock::new();
    let bundle = d.join("k.airlock");
    let public = airlock.create_signed(&spec, &bundle);
    let tarball = d.join("images.tar");
    // Like push and install, export takes nothing out of a bundle it does
    // not trust.
    let err =
        airlock.fails_with(USAGE, &["export", bundle.to_str().unwrap(), "--images-tar", tarball.to_str().unwrap()]);
    assert!(err.contains("no trusted key") && err.contains("--key"), "{err}");
    assert!(!tarball.exists());
    let exported = airlock.ok(&[
        "export",
        bundle.to_str().unwrap(),
        "--images-tar",
        tarball.to_str().unwrap(),
        "--platform",
        "linux/amd64",
        "--key",
        public.to_str().unwrap(),
        "--json",
    ]);
    // `export --json`: the tarball, its images and digest, and the key
    // that signed the bundle.
    let exported: serde_json::Value = serde_json::from_str(&exported).unwrap();
    let written = std::fs::read(&tarball).unwrap();
    let signer = airlock.inspect(&bundle)["signatures"][0]["keyId"].clone();
    assert!(signer.as_str().is_some_and(|id| id.starts_with("sha256:")), "{signer}");
    assert_eq!(
        (&exported["format"], &exported["path"], &exported["platform"]),
        (&"images-tar".into(), &tarball.to_str().unwrap().into(), &"linux/amd64".into())
    );
    assert_eq!(exported["bytes"].as_u64(), Some(written.len() as u64));
    assert_eq!(exported["digest"], format!("sha256:{}", sha256_hex(&written)));
    assert_eq!((&exported["signatureChecked"], &exported["signedBy"]), (&true.into(), &signer));
    let mut images: Vec<&str> = exported["images"].as_array().unwrap().iter().map(|i| i.as_str().unwrap()).collect();
    images.sort();
    assert_eq!(images, ["docker.io/library/plain:1", "localhost/hello:1.0.0", "quay.io/team/multi:2.0"], "{exported}");

    let containerd = Containerd::start();
    let out = containerd.ctr(&["-n", "k8s.io", "images", "import", tarball.to_str().unwrap()]);
    assert!(out.status.success(), "import: {}", String::from_utf8_lossy(&out.stderr));
    let out = containerd.ctr(&["-n", "k8s.io", "images", "ls"]);
    let listing = String::from_utf8_lossy(&out.stdout);
    for name in ["localhost/hello:1.0.0", "quay.io/team/multi:2.0", "docker.io/library/plain:1"] {
        assert!(listing.lines().any(|l| l.starts_with(&format!("{name} "))), "{name} missing:\n{listing}");
    }
    // The multi-platform image is imported as its amd64 manifest.
    assert!(listing.contains(&amd.digest), "{listing}");

    if std::path::Path::new("/bin/busybox").exists() {
        let out =
            containerd.ctr(&["-n", "k8s.io", "run", "--rm", "docker.io/library/plain:1", "airlock-tar-test", "/hello"]);
        assert!(out.status.success(), "ctr run: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "hello from the airlock demo image");
    }

    // A platform the bundle does not carry: refused, naming what it has.
    let err = airlock.fails(&[
        "export",
        bundle.to_str().unwrap(),
        "--images-tar",
        d.join("x.tar").to_str().unwrap(),
        "--platform",
        "linux/s390x",
        "--key",
        public.to_str().unwrap(),
    ]);
    assert!(
        err.contains("linux/s390x") && err.contains("localhost/hello:1.0.0") && err.contains("linux/amd64"),
        "{err}"
    );
    assert!(!d.join("x.tar").exists());
}

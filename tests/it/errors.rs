//! Bad input (to `create` mostly; also a missing bundle and a bad
//! --ca-file): each failure is one clear error that names the spec line,
//! the file, the image or the registry, and leaves no output behind.

use crate::support::*;

#[track_caller]
fn create(airlock: &Airlock, spec: &std::path::Path, extra: &[&str]) -> String {
    create_failing_with(FAILURE, airlock, spec, extra)
}

/// A create that must fail with exit code `code`; returns its stderr.
#[track_caller]
fn create_failing_with(code: i32, airlock: &Airlock, spec: &std::path::Path, extra: &[&str]) -> String {
    let out = spec.parent().unwrap().join("out.airlock");
    let mut args = vec!["create", spec.to_str().unwrap(), "-o", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let err = airlock.fails_with(code, &args);
    assert!(!out.exists(), "a failed create left {out:?}");
    crate::create::assert_no_partial_files(spec.parent().unwrap());
    err
}

#[test]
fn malformed_yaml_and_unknown_fields_give_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let airlock = Airlock::new();
    let spec = write_spec(dir.path(), "components:\n  - name: a\n    imagez: [x]\n");
    let err = create(&airlock, &spec, &[]);
    assert!(err.contains("airlock.yaml:6:5:") && err.contains("imagez"), "{err}");
    let spec = write_spec(dir.path(), "components:\n  - name: a\n    images: [x\n");
    let err = create(&airlock, &spec, &[]);
    assert!(err.contains("airlock.yaml:"), "{err}");
    std::fs::write(&spec, "apiVersion: airlock.dev/v1\nkind: Bundle\n").unwrap();
    let err = create(&airlock, &spec, &[]);
    assert!(err.contains("metadata") || err.contains("missing"), "{err}");
    let err = airlock.fails(&["create", dir.path().join("nope.yaml").to_str().unwrap()]);
    assert!(err.contains("nope.yaml"), "{err}");
}

#[test]
fn missing_image_names_image_and_registry() {
    if missing_tool("docker-registry") {
        return;
    }
    let registry = Registry::plain();
    let dir = tempfile::tempdir().unwrap();
    let spec = write_spec(
        dir.path(),
        &format!("components:\n  - name: a\n    images:\n      - {}/no/such:1.0\n", registry.host),
    );
    let err = create(&Airlock::new(), &spec, &["--plain-http"]);
    assert!(
        err.contains("airlock.yaml:7:")
            && err.contains("no/such:1.0")
            && err.contains("not found")
            && err.contains(&registry.host),
        "{err}"
    );
}

#[test]
fn registry_down_is_reported_after_bounded_retries() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let spec = write_spec(dir.path(), &format!("components:\n  - name: a\n    images: [\"127.0.0.1:{port}/x/y:1\"]\n"));
    let start = std::time::Instant::now();
    let err = create(&Airlock::new(), &spec, &["--plain-http"]);
    assert!(err.contains("cannot reach registry") && err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(err.contains("hint:"), "{err}");
    assert!(start.elapsed().as_secs() < 30, "retries are not bounded");
}

#[test]
fn missing_local_layout_tag_lists_what_exists() {
    let dir = tempfile::tempdir().unwrap();
    let mut layout = LayoutBuilder::new(&dir.path().join("img"));
    let img = layout.image("amd64", &[layer(&[("f", b"x", 0o644)])]);
    layout.tag(&img, "1.0");
    let spec = write_spec(dir.path(), "components:\n  - name: a\n    images: [\"oci-layout:./img:2.0\"]\n");
    let err = create(&Airlock::new(), &spec, &[]);
    assert!(err.contains("airlock.yaml:6:") && err.contains("2.0") && err.contains("1.0"), "{err}");
}

/// A bundle path with nothing there: every command that reads a bundle
/// says so in one error, naming the path.
#[test]
fn missing_bundle_path_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let airlock = Airlock::new();
    let path = dir.path().join("typo.airlock");
    let p = path.to_str().unwrap();
    for args in [
        vec!["verify", p],
        vec!["inspect", p],
        vec!["push", p, "--registry", "127.0.0.1:1/x", "--allow-unsigned"],
        vec!["serve", p, "--listen", "127.0.0.1:0", "--allow-unsigned"],
    ] {
        let err = airlock.fails_with(USAGE, &args);
        assert!(
            err.contains("there is no bundle at") && err.contains(p) && err.contains("hint: check the path"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn ca_file_that_is_no_certificate_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let spec = write_spec(dir.path(), "components:\n  - name: a\n    images: [\"127.0.0.1:1/x/y:1\"]\n");
    let not_pem = dir.path().join("ca.txt");
    std::fs::write(&not_pem, "not a certificate\n").unwrap();
    let err = create_failing_with(USAGE, &Airlock::new(), &spec, &["--ca-file", not_pem.to_str().unwrap()]);
    assert!(err.contains("cannot use") && err.contains("ca.txt") && err.contains("as a CA certificate"), "{err}");
    let missing = dir.path().join("missing.pem");
    let err = create_failing_with(USAGE, &Airlock::new(), &spec, &["--ca-file", missing.to_str().unwrap()]);
    assert!(err.contains("missing.pem") && err.contains("as a CA certificate"), "{err}");
}

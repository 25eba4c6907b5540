//! `airlock create` against a real docker-registry, cross-checked with skopeo.

use crate::support::*;
use std::process::Command;

/// Two images sharing a base layer, plus a two-platform index.
struct Fixture {
    _dir: tempfile::TempDir,
    registry: Registry,
    app_digest: String,
    tool_digest: String,
    multi_digest: String,
    base_layer: String,
}

fn fixture(registry: Registry) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut layout = LayoutBuilder::new(&dir.path().join("layout"));
    let base = layer(&[("etc/os-release", b"NAME=test\n", 0o644), ("bin/hello", b"#!/bin/sh\necho hello\n", 0o755)]);
    let base_layer = format!("sha256:{}", sha256_hex(&base));
    let app = layout.image("amd64", &[base.clone(), layer(&[("app/data", &vec![7u8; 200_000], 0o644)])]);
    let tool = layout.image("amd64", &[base.clone(), layer(&[("tool/bin", b"tool", 0o755)])]);
    let arm = layout.image("arm64", &[layer(&[("arm/only", b"arm64 content", 0o644)])]);
    let multi = layout.index(&[(&app, "amd64"), (&arm, "arm64")]);
    layout.tag(&app, "app");
    layout.tag(&tool, "tool");
    layout.tag(&multi, "multi");
    for (tag, repo) in [("app", "team/app:1.0"), ("tool", "team/tool:2.0"), ("multi", "team/multi:3.0")] {
        registry.push_layout(&layout.dir, tag, repo);
    }
    Fixture {
        app_digest: app.digest,
        tool_digest: tool.digest,
        multi_digest: multi.digest,
        base_layer,
        registry,
        _dir: dir,
    }
}

fn spec_for(dir: &std::path::Path, host: &str, extra: &str) -> std::path::PathBuf {
    write_spec(
        dir,
        &format!("{extra}components:\n  - name: main\n    images:\n      - {host}/team/app:1.0\n      - {host}/team/tool:2.0\n      - {host}/team/multi:3.0\n"),
    )
}

#[test]
fn plain_registry_round_trip_with_skopeo_cross_check() {
    if missing_tool("docker-registry") || missing_tool("skopeo") {
        return;
    }
    let f = fixture(Registry::plain());
    let host = f.registry.host.clone();
    // The registry serves exactly what we built.
    assert_eq!(f.registry.manifest_digest("team/app:1.0"), f.app_digest);

    let work = tempfile::tempdir().unwrap();
    let spec = spec_for(work.path(), &host, "platforms: [linux/amd64]\n");
    let airlock = Airlock::new();
    let out = work.path().join("b.airlock");
    airlock.ok(&["create", spec.to_str().unwrap(), "-o", out.to_str().unwrap(), "--plain-http"]);

    let inspect: serde_json::Value =
        serde_json::from_str(&airlock.ok(&["inspect", out.to_str().unwrap(), "--json"])).unwrap();
    let images = inspect["components"][0]["images"].as_array().unwrap();
    let digest_of = |name: &str| {
        images.iter().find(|i| i["reference"].as_str().unwrap().ends_with(name)).unwrap()["digest"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(digest_of("team/app:1.0"), f.app_digest);
    assert_eq!(digest_of("team/tool:2.0"), f.tool_digest);
    assert_eq!(digest_of("team/multi:3.0"), f.multi_digest);
    // Platform filter: arm64 left out but recorded.
    let multi = images.iter().find(|i| i["reference"].as_str().unwrap().ends_with("multi:3.0")).unwrap();
    assert_eq!(multi["platforms"].as_array().unwrap().len(), 1);
    assert_eq!(multi["omitted"][0]["platform"], "linux/arm64");
    // Shared base layer stored once.
    let blobs = inspect["blobs"].as_array().unwrap();
    assert_eq!(blobs.iter().filter(|b| b["digest"] == f.base_layer.as_str()).count(), 1);
    assert!(inspect["totalSize"].as_u64().unwrap() > inspect["uniqueSize"].as_u64().unwrap());

    airlock.ok(&["verify", out.to_str().unwrap(), "--allow-unsigned"]);

    // Take each image out again and let skopeo check it.
    for (name, digest) in [("team/app:1.0", &f.app_digest), ("team/multi:3.0", &f.multi_digest)] {
        let layout = work.path().join(format!("export-{}", name.replace(['/', ':'], "-")));
        let reference = format!("{host}/{name}");
        let exported = airlock.ok(&[
            "export",
            out.to_str().unwrap(),
            &reference,
            "--oci-layout",
            layout.to_str().unwrap(),
            "--allow-unsigned",
            "--json",
        ]);
        let tag = name.rsplit(':').next().unwrap();
        // `export --json`: what was written where, and that no signature
        // was checked (--allow-unsigned).
        let exported: serde_json::Value = serde_json::from_str(&exported).unwrap();
        let blobs = std::fs::read_dir(layout.join("blobs/sha256")).unwrap().count();
        assert_eq!(
            exported,
            serde_json::json!({"format": "oci-layout", "path": layout, "reference": reference, "digest": digest,
                "refName": tag, "blobs": blobs, "signatureChecked": false, "signedBy": null})
        );
        let raw = Command::new("skopeo")
            .args(["inspect", "--raw", &format!("oci:{}:{tag}", layout.display())])
            .output()
            .unwrap();
        assert!(raw.status.success(), "{}", String::from_utf8_lossy(&raw.stderr));
        assert_eq!(&format!("sha256:{}", sha256_hex(&raw.stdout)), digest);
        let copy_dir = work.path().join(format!("copy-{tag}"));
        let copy = Command::new("skopeo")
            .args([
                "copy",
                "--quiet",
                "--override-arch",
                "amd64",
                &format!("oci:{}:{tag}", layout.display()),
                &format!("dir:{}", copy_dir.display()),
            ])
            .output()
            .unwrap();
        assert!(copy.status.success(), "skopeo copy: {}", String::from_utf8_lossy(&copy.stderr));
    }
}

#[test]
fn tls_registry_with_ca_file_and_docker_config_and_determinism() {
    if missing_tool("docker-registry") || missing_tool("skopeo") || missing_tool("htpasswd") {
        return;
    }
    let f = fixture(Registry::tls());
    let host = f.registry.host.clone();
    let tls = f.registry.tls.as_ref().unwrap();
    let work = tempfile::tempdir().unwrap();
    let spec = spec_for(work.path(), &host, "");
    let ca = tls.ca.to_str().unwrap();

    // Credentials from flags.
    let airlock = Airlock::new();
    let a = work.path().join("a.airlock");
    airlock.ok(&[
        "create",
        spec.to_str().unwrap(),
        "-o",
        a.to_str().unwrap(),
        "--ca-file",
        ca,
        "--username",
        &tls.user,
        "--password",
        &tls.password,
    ]);

    // Credentials from docker config.json, with a fresh cache: byte-identical result.
    let airlock2 = Airlock::new();
    let docker = airlock2.home.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    let auth = base64_encode(format!("{}:{}", tls.user, tls.password).as_bytes());
    std::fs::write(docker.join("config.json"), format!(r#"{{"auths":{{"{host}":{{"auth":"{auth}"}}}}}}"#)).unwrap();
    let b = work.path().join("b.airlock");
    airlock2.ok(&["create", spec.to_str().unwrap(), "-o", b.to_str().unwrap(), "--ca-file", ca]);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap(), "two creates from the same inputs differ");

    // No platform filter: both platforms of the index are carried.
    let inspect: serde_json::Value =
        serde_json::from_str(&airlock.ok(&["inspect", a.to_str().unwrap(), "--json"])).unwrap();
    let multi = inspect["components"][0]["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["reference"].as_str().unwrap().ends_with("multi:3.0"))
        .unwrap()
        .clone();
    assert_eq!(multi["platforms"].as_array().unwrap().len(), 2);
    airlock.ok(&["verify", b.to_str().unwrap(), "--allow-unsigned"]);

    // Without the CA: a clear pointer to --ca-file.
    let err = Airlock::new().fails(&[
        "create",
        spec.to_str().unwrap(),
        "-o",
        work.path().join("c.airlock").to_str().unwrap(),
        "--username",
        &tls.user,
        "--password",
        &tls.password,
    ]);
    assert!(err.contains("--ca-file"), "{err}");
    // Wrong password: names the registry, says unauthorized.
    let err = Airlock::new().fails(&[
        "create",
        spec.to_str().unwrap(),
        "-o",
        work.path().join("d.airlock").to_str().unwrap(),
        "--ca-file",
        ca,
        "--username",
        &tls.user,
        "--password",
        "wrong",
    ]);
    assert!(err.contains(&host) && err.contains("unauthorized"), "{err}");
    assert!(!work.path().join("d.airlock").exists());
    assert_no_partial_files(work.path());
}

pub fn assert_no_partial_files(dir: &std::path::Path) {
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".airlock-partial"))
        .collect();
    assert!(leftovers.is_empty(), "partial files left: {leftovers:?}");
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn local_sources_charts_files_and_docs() {
    if missing_tool("skopeo") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    let mut layout = LayoutBuilder::new(&d.join("images/web"));
    let img = layout.image("amd64", &[layer(&[("index.html", b"<h1>hi</h1>", 0o644)])]);
    layout.tag(&img, "1.0.0");
    // A docker archive made by skopeo from that layout.
    let archive = d.join("images/web.tar");
    docker_archive(&layout.dir, "1.0.0", &archive, "example.com/web:1.0.0");
    std::fs::create_dir_all(d.join("chart/templates")).unwrap();
    std::fs::write(d.join("chart/Chart.yaml"), "apiVersion: v2\nname: web\nversion: 0.3.0\nappVersion: 1.0.0\n")
        .unwrap();
    std::fs::write(d.join("chart/values.yaml"), "replicas: 1\n").unwrap();
    std::fs::write(d.join("chart/templates/cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\n")
        .unwrap();
    std::fs::write(d.join("values-prod.yaml"), "replicas: 3\n").unwrap();
    std::fs::create_dir_all(d.join("manifests")).unwrap();
    std::fs::write(d.join("manifests/a.yaml"), "kind: Namespace\n".repeat(50)).unwrap();
    std::fs::write(d.join("manifests/b.yaml"), "kind: ServiceAccount\n").unwrap();
    std::fs::write(d.join("crd.yaml"), "kind: CustomResourceDefinition\n").unwrap();
    std::fs::write(d.join("tool.sh"), "#!/bin/sh\necho tool\n").unwrap();
    let tool_sha = sha256_hex(b"#!/bin/sh\necho tool\n");
    let spec = write_spec(
        d,
        &format!(
            "components:\n  - name: web\n    images: [\"oci-layout:./images/web:1.0.0\", \"docker-archive:./images/web.tar\"]\n    charts:\n      - {{name: web, path: ./chart, namespace: web, valuesFiles: [values-prod.yaml], values: {{replicas: 5}}}}\n    crds: [crd.yaml]\n    manifests: [\"manifests/*.yaml\"]\n    files:\n      - {{source: tool.sh, target: /usr/local/bin/tool, mode: \"0755\", sha256: {tool_sha}}}\n  - name: extras\n    required: false\n    manifests: [manifests/b.yaml]\n"
        ),
    );
    let airlock = Airlock::new();
    let bundle = d.join("web.airlock");
    airlock.ok(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()]);
    airlock.ok(&["verify", bundle.to_str().unwrap(), "--allow-unsigned"]);
    let v: serde_json::Value =
        serde_json::from_str(&airlock.ok(&["inspect", bundle.to_str().unwrap(), "--json"])).unwrap();
    let web = &v["components"][0];
    assert_eq!(web["images"][0]["reference"], "localhost/web:1.0.0");
    assert_eq!(web["images"][0]["digest"], img.digest.as_str());
    assert_eq!(web["images"][1]["reference"], "example.com/web:1.0.0");
    assert_eq!(web["charts"][0]["chartName"], "web");
    assert_eq!(web["charts"][0]["version"], "0.3.0");
    assert_eq!(web["charts"][0]["values"]["replicas"], 5);
    assert_eq!(web["manifests"].as_array().unwrap().len(), 2);
    assert_eq!(web["files"][0]["mode"], "0755");
    assert_eq!(v["components"][1]["required"], false);
    // Compressible YAML is stored compressed; gzip layers are not recompressed.
    let blobs = v["blobs"].as_array().unwrap();
    let a_yaml = web["manifests"][0]["digest"].as_str().unwrap();
    assert_eq!(blobs.iter().find(|b| b["digest"] == a_yaml).unwrap()["encoding"], "zstd");
    assert!(blobs
        .iter()
        .filter(|b| b["mediaType"].as_str().unwrap().ends_with("tar+gzip"))
        .all(|b| b.get("encoding").is_none()));
    // The docker-archive image round-trips through export + skopeo.
    let out_layout = d.join("out");
    airlock.ok(&[
        "export",
        bundle.to_str().unwrap(),
        "example.com/web:1.0.0",
        "--oci-layout",
        out_layout.to_str().unwrap(),
        "--allow-unsigned",
    ]);
    let st = Command::new("skopeo").args(["inspect", &format!("oci:{}:1.0.0", out_layout.display())]).output().unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));

    // A file whose pinned sha256 does not match is refused, naming the line.
    let bad = std::fs::read_to_string(&spec).unwrap().replace(&tool_sha, &"0".repeat(64));
    std::fs::write(&spec, bad).unwrap();
    let err = airlock.fails(&["create", spec.to_str().unwrap(), "-o", d.join("bad.airlock").to_str().unwrap()]);
    assert!(err.contains("airlock.yaml:12:") && err.contains("tool.sh") && err.contains("digest"), "{err}");
    assert!(!d.join("bad.airlock").exists());
}

#[test]
fn cached_blobs_are_not_downloaded_again_and_transient_outages_are_retried() {
    if missing_tool("docker-registry") || missing_tool("skopeo") {
        return;
    }
    let mut f = fixture(Registry::plain());
    let host = f.registry.host.clone();
    let work = tempfile::tempdir().unwrap();
    let spec = spec_for(work.path(), &host, "platforms: [linux/amd64]\n");
    let airlock = Airlock::new();
    let create = |out: &str| -> serde_json::Value {
        let out = work.path().join(out);
        serde_json::from_str(&airlock.ok(&[
            "create",
            spec.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--plain-http",
            "--json",
        ]))
        .unwrap()
    };
    let first = create("1.airlock");
    assert!(first["downloadedBytes"].as_u64().unwrap() > 1000, "{first}");
    let second = create("2.airlock");
    assert_eq!(second["downloadedBytes"], 0, "{second}");
    assert_eq!(
        std::fs::read(work.path().join("1.airlock")).unwrap(),
        std::fs::read(work.path().join("2.airlock")).unwrap()
    );

    // The registry is down when create starts and comes back 500 ms later:
    // the bounded retries (after 200 ms and 800 ms more) ride it out.
    f.registry.stop();
    let mut child = Airlock::new()
        .cmd()
        .args(["create", spec.to_str().unwrap(), "-o", work.path().join("3.airlock").to_str().unwrap(), "--plain-http"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    f.registry.restart();
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(status.success(), "create did not survive a short outage: {err}");
}

#[test]
fn no_cache_keeps_no_blob_and_writes_the_same_bundle() {
    if missing_tool("docker-registry") || missing_tool("skopeo") {
        return;
    }
    let mut f = fixture(Registry::plain());
    let work = tempfile::tempdir().unwrap();
    let spec = spec_for(work.path(), &f.registry.host, "platforms: [linux/amd64]\n");
    let airlock = Airlock::new();
    let create = |out: &str, extra: &[&str]| -> serde_json::Value {
        let out = work.path().join(out);
        let mut args = vec!["create", spec.to_str().unwrap(), "-o", out.to_str().unwrap(), "--plain-http", "--json"];
        args.extend(extra);
        serde_json::from_str(&airlock.ok(&args)).unwrap()
    };
    // Renames traced: whatever enters a cache (the temporary one included)
    // is renamed into it, and no layer may be.
    crate::durability::require_strace();
    let log = work.path().join("renames.log");
    let out = crate::durability::under_strace(
        &airlock,
        &["-f", "-qq", "-e", "trace=rename,renameat,renameat2", "-o", log.to_str().unwrap()],
        &[
            "create",
            spec.to_str().unwrap(),
            "-o",
            work.path().join("nc.airlock").to_str().unwrap(),
            "--plain-http",
            "--json",
            "--no-cache",
        ],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let uncached: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let renames = std::fs::read_to_string(&log).unwrap();
    assert!(renames.contains(".airlock-create-"), "manifests pass through the temporary cache: {renames}");
    let layer_hex = f.base_layer.trim_start_matches("sha256:");
    assert!(!renames.contains(layer_hex), "a layer was written to a cache as well as the bundle: {renames}");
    assert!(!airlock.cache_dir().exists(), "--no-cache made {}", airlock.cache_dir().display());
    let again = create("nc2.airlock", &["--no-cache"]);
    assert_eq!(again["downloadedBytes"], uncached["downloadedBytes"], "nothing kept, so everything again: {again}");
    let cached = create("c.airlock", &[]);
    assert_eq!(cached["downloadedBytes"], uncached["downloadedBytes"]);
    assert!(airlock.cache_dir().join("blobs/sha256").join(layer_hex).is_file(), "without --no-cache layers are kept");
    let bytes = |name: &str| std::fs::read(work.path().join(name)).unwrap();
    assert!(bytes("nc.airlock") == bytes("c.airlock"), "--no-cache changed the bundle");
    airlock.ok(&["verify", work.path().join("nc.airlock").to_str().unwrap(), "--allow-unsigned"]);

    // A create that fails leaves neither its bundle nor its temporary cache.
    f.registry.stop();
    let err = airlock.fails(&[
        "create",
        spec.to_str().unwrap(),
        "-o",
        work.path().join("down.airlock").to_str().unwrap(),
        "--plain-http",
        "--no-cache",
    ]);
    assert!(err.contains(&f.registry.host), "{err}");
    let leftovers: Vec<_> = std::fs::read_dir(work.path())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.starts_with(".airlock") || n == "down.airlock")
        .collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
}

/// Layout blobs go from the layout into the bundle without a cache copy,
/// and are still checked: a layer changed on disk after the layout was
/// written is refused, naming its file, and nothing is left behind.
#[test]
fn layout_blobs_are_copied_once_and_checked() {
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    let mut layout = LayoutBuilder::new(&d.join("images/web"));
    let big = layer(&[("data.bin", &vec![9u8; 300_000], 0o644)]);
    let big_hex = sha256_hex(&big);
    let img = layout.image("amd64", &[big]);
    layout.tag(&img, "1.0.0");
    let spec = write_spec(d, "components:\n  - name: web\n    images: [\"oci-layout:./images/web:1.0.0\"]\n");
    let airlock = Airlock::new();
    let bundle = d.join("web.airlock");
    airlock.ok(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()]);
    airlock.ok(&["verify", bundle.to_str().unwrap(), "--allow-unsigned"]);
    assert!(!airlock.cache_dir().join("blobs/sha256").join(&big_hex).exists(), "a gzip layer was copied to the cache");
    // The bundle and its parts are made as any file is (0666 less the
    // umask), not 0600 as the temp files they start as.
    let parts = d.join("parts");
    airlock.ok(&["split", bundle.to_str().unwrap(), "--max-part-size", "100000", "-o", parts.to_str().unwrap()]);
    let umask = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Umask:").map(|m| u32::from_str_radix(m.trim(), 8).unwrap()))
        .unwrap();
    let first_part = std::fs::read_dir(&parts).unwrap().next().unwrap().unwrap().path();
    for file in [&bundle, &first_part] {
        let mode = std::os::unix::fs::PermissionsExt::mode(&file.metadata().unwrap().permissions()) & 0o777;
        assert_eq!(mode, 0o666 & !umask, "{}: mode {mode:o}", file.display());
    }
    std::fs::remove_file(&bundle).unwrap();

    let blob = layout.dir.join("blobs/sha256").join(&big_hex);
    let mut bytes = std::fs::read(&blob).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&blob, &bytes).unwrap();
    let err = airlock.fails(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()]);
    assert!(err.contains(&big_hex) && err.contains("hashes to"), "{err}");
    assert!(!bundle.exists());
    assert_no_partial_files(d);
}

#[test]
fn kustomizations_are_rendered_at_create_time() {
    let Some(kubectl) = venv_kubectl() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    std::fs::create_dir_all(d.join("deploy/base")).unwrap();
    std::fs::create_dir_all(d.join("deploy/prod")).unwrap();
    std::fs::write(
        d.join("deploy/base/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  level: debug\n",
    )
    .unwrap();
    std::fs::write(d.join("deploy/base/kustomization.yaml"), "resources: [cm.yaml]\n").unwrap();
    std::fs::write(
        d.join("deploy/prod/kustomization.yaml"),
        "resources: [../base]\nnamePrefix: prod-\nnamespace: shop\n",
    )
    .unwrap();
    let spec = write_spec(d, "components:\n  - name: a\n    kustomizations: [deploy/prod]\n");
    let airlock = Airlock::new();
    let bundle = d.join("k.airlock");
    let out = airlock
        .cmd()
        .env("AIRLOCK_KUBECTL", &kubectl)
        .args(["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value =
        serde_json::from_str(&airlock.ok(&["inspect", bundle.to_str().unwrap(), "--json"])).unwrap();
    let doc = &v["components"][0]["manifests"][0];
    assert_eq!(doc["source"], "kustomize:deploy/prod");
    // The rendered YAML is in the bundle, byte-equal to kubectl's own output.
    let expected = std::process::Command::new(&kubectl)
        .args(["kustomize", d.join("deploy/prod").to_str().unwrap()])
        .output()
        .unwrap()
        .stdout;
    assert!(String::from_utf8_lossy(&expected).contains("name: prod-settings"));
    assert_eq!(doc["digest"].as_str().unwrap(), format!("sha256:{}", sha256_hex(&expected)));
    // A broken kustomization names the spec line and kubectl's complaint.
    std::fs::write(d.join("deploy/prod/kustomization.yaml"), "resources: [../missing]\n").unwrap();
    let out = airlock
        .cmd()
        .env("AIRLOCK_KUBECTL", &kubectl)
        .args(["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("airlock.yaml:6:") && err.contains("missing"), "{err}");
}

//! `airlock create --registry-mirror` (and a registries config's `mirrors:`)
//! against real docker-registries on loopback standing in for pull-through
//! caches; and scripts/standin-images.sh, whose stand-ins are bundled
//! through such a mirror under their original names.

use crate::support::*;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// A two-platform image and a one-platform image in an OCI layout, tagged
/// `multi` and `single`.
struct Images {
    _dir: tempfile::TempDir,
    layout: std::path::PathBuf,
    multi: String,
    single: String,
}

fn images() -> Images {
    let dir = tempfile::tempdir().unwrap();
    let mut layout = LayoutBuilder::new(&dir.path().join("layout"));
    let (_, _, multi) = layout.two_platforms("multi");
    let single = layout.image("amd64", &[layer(&[("bin/tool", b"tool", 0o755)])]);
    layout.tag(&single, "single");
    Images { layout: layout.dir.clone(), multi: multi.digest, single: single.digest, _dir: dir }
}

fn reference_digests(inspect: &serde_json::Value) -> Vec<(String, String)> {
    let images = inspect["components"][0]["images"].as_array().unwrap();
    images.iter().map(|i| (i["reference"].as_str().unwrap().into(), i["digest"].as_str().unwrap().into())).collect()
}

/// A port that counts the connections it gets (from a source airlock must
/// not contact) and closes each at once, so a wrong contact fails fast.
struct Watched {
    host: String,
    count: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Watched {
    fn new() -> Watched {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let host = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
        let (count, stop) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
        let (c, s) = (count.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok(_) => {
                        c.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
                }
            }
        });
        Watched { host, count, stop }
    }
    fn host(&self) -> String {
        self.host.clone()
    }
    fn connections(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

#[test]
fn images_created_through_a_mirror_keep_their_names_and_push_as_before() {
    if missing_tool("docker-registry") || missing_tool("skopeo") {
        return;
    }
    let imgs = images();
    let mirror = Registry::plain();
    mirror.push_layout(&imgs.layout, "multi", "docker.io/library/x:1");
    mirror.push_layout(&imgs.layout, "single", "docker.io/team/y:2");
    let work = tempfile::tempdir().unwrap();
    // Short, full and legacy spellings of Docker Hub all go to its mirror.
    let spec = write_spec(
        work.path(),
        "components:\n  - name: main\n    images:\n      - x:1\n      - index.docker.io/team/y:2\n",
    );
    let airlock = Airlock::new();
    let bundle = work.path().join("b.airlock");
    let mirror_flag = format!("docker.io={}/docker.io", mirror.host);
    let out = airlock.run(&[
        "create",
        spec.to_str().unwrap(),
        "-o",
        bundle.to_str().unwrap(),
        "--plain-http",
        "--registry-mirror",
        &mirror_flag,
    ]);
    assert!(out.status.success(), "{}\nmirror log:\n{}", String::from_utf8_lossy(&out.stderr), mirror.log());
    let inspect = airlock.inspect(&bundle);
    assert_eq!(
        reference_digests(&inspect),
        vec![
            ("docker.io/library/x:1".to_string(), imgs.multi.clone()),
            ("docker.io/team/y:2".to_string(), imgs.single.clone())
        ]
    );
    let multi = &inspect["components"][0]["images"][0];
    assert_eq!(multi["platforms"].as_array().unwrap().len(), 2, "{multi}");
    assert_eq!(multi["source"], "x:1");
    airlock.ok(&["verify", bundle.to_str().unwrap(), "--allow-unsigned"]);

    // Pushed where the original name puts it, digests unchanged.
    let site = Registry::plain();
    let dest = format!("{}/site", site.host);
    let b = bundle.to_str().unwrap();
    airlock.ok(&["push", b, "--registry", &dest, "--plain-http", "--allow-unsigned"]);
    assert_eq!(site.manifest_digest("site/library/x:1"), imgs.multi);
    assert_eq!(site.manifest_digest("site/team/y:2"), imgs.single);
    // And taken out under the original name.
    let layout = work.path().join("x");
    let l = layout.to_str().unwrap();
    airlock.ok(&["export", b, "docker.io/library/x:1", "--oci-layout", l, "--allow-unsigned"]);
}

#[test]
fn mirrors_are_tried_in_order_with_tls_and_credentials_from_the_registries_config() {
    if missing_tool("docker-registry") || missing_tool("skopeo") || missing_tool("htpasswd") {
        return;
    }
    let imgs = images();
    let empty = Registry::plain();
    let holding = Registry::tls();
    holding.push_layout(&imgs.layout, "single", "quay/team/tool:3");
    let tls = holding.tls.as_ref().unwrap();
    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("registries.yaml");
    std::fs::write(
        &config,
        format!(
            "mirrors:\n  quay.io: ['{empty}/quay', '{holding}/quay']\nregistries:\n  '{empty}': {{insecure: true}}\n  '{holding}': {{caFile: '{ca}', username: {user}, password: {password}}}\n",
            empty = empty.host,
            holding = holding.host,
            ca = tls.ca.display(),
            user = tls.user,
            password = tls.password
        ),
    )
    .unwrap();
    let spec = write_spec(work.path(), "components:\n  - name: main\n    images:\n      - quay.io/team/tool:3\n");
    let airlock = Airlock::new();
    let bundle = work.path().join("b.airlock");
    let (s, b, c) = (spec.to_str().unwrap(), bundle.to_str().unwrap(), config.to_str().unwrap());
    airlock.ok(&["create", s, "-o", b, "--registry-config", c]);
    assert_eq!(reference_digests(&airlock.inspect(&bundle)), vec![("quay.io/team/tool:3".to_string(), imgs.single)]);

    // A flag for the source replaces the config's list: the first mirror
    // alone lacks the image.
    let only_empty = format!("quay.io={}/quay", empty.host);
    let err = airlock.fails(&["create", s, "-o", b, "--registry-config", c, "--registry-mirror", &only_empty]);
    assert!(err.contains(&format!("{}/quay/team/tool:3: not found there", empty.host)), "{err}");
    assert!(!err.contains(&holding.host), "{err}");
    // Wrong credentials for a mirror are said as for any registry.
    std::fs::write(&config, std::fs::read_to_string(&config).unwrap().replace(&tls.password, "wrong")).unwrap();
    let err = airlock.fails(&["create", s, "-o", b, "--registry-config", c]);
    assert!(err.contains(&format!("{}/quay/team/tool:3: refused access (unauthorized)", holding.host)), "{err}");
}

#[test]
fn no_mirror_having_the_image_names_it_and_every_mirror_and_the_source_is_never_contacted() {
    if missing_tool("docker-registry") || missing_tool("skopeo") {
        return;
    }
    let imgs = images();
    let source = Watched::new();
    let mirror = Registry::plain();
    let dead = format!("127.0.0.1:{}", free_port());
    let work = tempfile::tempdir().unwrap();
    let image = format!("{}/team/app:1", source.host());
    // registry.invalid cannot resolve: only its mirror can give its image.
    let spec = write_spec(
        work.path(),
        &format!("components:\n  - name: main\n    images:\n      - {image}\n      - registry.invalid/x/y:2\n"),
    );
    let airlock = Airlock::new();
    let bundle = work.path().join("b.airlock");
    let flags = [
        format!("{}={}/src", source.host(), mirror.host),
        format!("{}={dead}", source.host()),
        format!("registry.invalid={}/invalid", mirror.host),
    ];
    let mut args = vec!["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap(), "--plain-http"];
    for flag in &flags {
        args.extend(["--registry-mirror", flag.as_str()]);
    }
    mirror.push_layout(&imgs.layout, "single", "invalid/x/y:2");
    let err = airlock.fails(&args);
    assert!(err.contains(&format!("cannot bundle image `{image}`")), "{err}");
    assert!(err.contains(&format!("no mirror of {} has {image}", source.host())), "{err}");
    assert!(err.contains(&format!("  - {}/src/team/app:1: not found there", mirror.host)), "{err}");
    assert!(err.contains(&format!("  - {dead}/team/app:1: does not answer")), "{err}");
    assert!(err.contains(&format!("--registry-mirror {}={}", source.host(), source.host())), "{err}");
    assert!(!bundle.exists());
    assert_eq!(source.connections(), 0, "the source was contacted");

    // Once the first mirror has it, the unreachable second is not needed.
    mirror.push_layout(&imgs.layout, "multi", "src/team/app:1");
    airlock.ok(&args);
    assert_eq!(
        reference_digests(&airlock.inspect(&bundle)),
        vec![(image, imgs.multi), ("registry.invalid/x/y:2".to_string(), imgs.single)]
    );
    assert_eq!(source.connections(), 0, "the source was contacted");

    // A mirror that is not SOURCE=HOST[/PREFIX] is a usage error.
    let err = airlock.fails_with(USAGE, &["create", "x.yaml", "--registry-mirror", "docker.io"]);
    assert!(err.contains("is not a registry mirror"), "{err}");
}

#[test]
fn standin_images_are_bundled_through_a_mirror_for_both_platforms() {
    if missing_tool("docker-registry") || missing_tool("skopeo") {
        return;
    }
    let registry = Registry::plain();
    let work = tempfile::tempdir().unwrap();
    let list = work.path().join("images.txt");
    std::fs::write(
        &list,
        "# two stand-ins\nredis:7.2-alpine\nquay.io/team/api:1.4 port=9000 /api/v1/health  # probed\n",
    )
    .unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/standin-images.sh");
    let run = || {
        let mut cmd = Command::new("bash");
        // No download in tests: without a cached arm64 busybox the script
        // falls back, saying so.
        cmd.arg(&script).args(["--plain-http", &registry.host, list.to_str().unwrap()]);
        cmd.env("STANDIN_NO_DOWNLOAD", "1").env("STANDIN_CACHE", work.path().join("cache"));
        let out = run_ok(&mut cmd);
        String::from_utf8(out.stdout).unwrap()
    };
    let first = run();
    assert!(first.contains("stand-ins: 2 pushed, 0 already there"), "{first}");
    let again = run();
    assert!(again.contains("stand-ins: 0 pushed, 2 already there"), "{again}");

    let spec = write_spec(
        work.path(),
        "components:\n  - name: main\n    images:\n      - docker.io/library/redis:7.2-alpine\n      - quay.io/team/api:1.4\n",
    );
    let airlock = Airlock::new();
    let bundle = work.path().join("b.airlock");
    let hub = format!("docker.io={}/docker.io", registry.host);
    let quay = format!("quay.io={}/quay.io", registry.host);
    let (s, b) = (spec.to_str().unwrap(), bundle.to_str().unwrap());
    airlock.ok(&["create", s, "-o", b, "--plain-http", "--registry-mirror", &hub, "--registry-mirror", &quay]);
    let inspect = airlock.inspect(&bundle);
    let images = inspect["components"][0]["images"].as_array().unwrap();
    let names: Vec<_> = images.iter().map(|i| i["reference"].as_str().unwrap()).collect();
    assert_eq!(names, ["docker.io/library/redis:7.2-alpine", "quay.io/team/api:1.4"]);
    for image in images {
        let platforms: Vec<_> = image["platforms"].as_array().unwrap().iter().map(|p| p["platform"].clone()).collect();
        assert_eq!(platforms, ["linux/amd64", "linux/arm64"], "{image}");
    }
    // The stand-in serves its probe path on the port asked for.
    let raw = run_ok(Command::new("skopeo").args([
        "inspect",
        "--config",
        "--override-arch",
        "amd64",
        "--tls-verify=false",
        &format!("docker://{}/quay.io/team/api:1.4", registry.host),
    ]));
    let config: serde_json::Value = serde_json::from_slice(&raw.stdout).unwrap();
    assert_eq!(config["config"]["Cmd"], serde_json::json!(["/bin/busybox", "httpd", "-f", "-p", "9000", "-h", "/www"]));
    let layout = work.path().join("api");
    airlock.ok(&["export", b, "quay.io/team/api:1.4", "--oci-layout", layout.to_str().unwrap(), "--allow-unsigned"]);
    let www = layout_files(&layout);
    assert!(www.iter().any(|f| f == "www/api/v1/health"), "{www:?}");
}

/// The paths in every layer of the amd64 image of a one-image OCI layout.
fn layout_files(layout: &Path) -> Vec<String> {
    let read = |digest: &str| std::fs::read(layout.join("blobs/sha256").join(digest.trim_start_matches("sha256:")));
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let mut top: serde_json::Value =
        serde_json::from_slice(&read(index["manifests"][0]["digest"].as_str().unwrap()).unwrap()).unwrap();
    if let Some(children) = top["manifests"].as_array() {
        let amd = children.iter().find(|c| c["platform"]["architecture"] == "amd64").unwrap();
        top = serde_json::from_slice(&read(amd["digest"].as_str().unwrap()).unwrap()).unwrap();
    }
    let mut files = Vec::new();
    for layer in top["layers"].as_array().unwrap() {
        let bytes = read(layer["digest"].as_str().unwrap()).unwrap();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes.as_slice()));
        for entry in archive.entries().unwrap() {
            let path = entry.unwrap().path().unwrap().to_string_lossy().trim_start_matches("./").to_string();
            files.push(path);
        }
    }
    files
}

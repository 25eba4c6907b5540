//! `airlock push` into a real docker-registry (TLS + htpasswd, and plain
//! HTTP), cross-checked with skopeo.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Source {
    _dir: tempfile::TempDir,
    bundle: PathBuf,
    public: PathBuf,
    app: Built,
    multi: Built,
    chart_tgz_digest: String,
}

/// A signed bundle: two images sharing a base layer, a two-platform index,
/// and a chart; all from local layouts, named as if from upstream registries.
fn source_bundle(airlock: &Airlock, layers: usize) -> Source {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut layout = LayoutBuilder::new(&d.join("img"));
    let base = layer(&[("etc/os-release", b"NAME=test\n", 0o644)]);
    let mut app_layers = vec![base.clone()];
    for i in 0..layers {
        // Incompressible content so sizes are real.
        let noise: Vec<u8> =
            (0..200_000u32).map(|x| (x.wrapping_mul(2654435761).wrapping_add(i as u32 * 7919) >> 13) as u8).collect();
        app_layers.push(layer(&[(&format!("data/{i}"), &noise, 0o644)]));
    }
    let app = layout.image("amd64", &app_layers);
    let tool = layout.image("amd64", &[base.clone(), layer(&[("tool", b"tool", 0o755)])]);
    let arm = layout.image("arm64", &[layer(&[("arm", b"arm", 0o644)])]);
    let multi = layout.index(&[(&tool, "amd64"), (&arm, "arm64")]);
    layout.tag(&app, "docker.io/team/app:1.0");
    layout.tag(&multi, "quay.io/team/multi:2.0");
    std::fs::create_dir_all(d.join("chart/templates")).unwrap();
    std::fs::write(d.join("chart/Chart.yaml"), "apiVersion: v2\nname: web\nversion: 1.2.3+build.4\n").unwrap();
    std::fs::write(d.join("chart/templates/cm.yaml"), "kind: ConfigMap\n").unwrap();
    let spec = write_spec(
        d,
        "components:\n  - name: a\n    images: [\"oci-layout:./img:docker.io/team/app:1.0\", \"oci-layout:./img:quay.io/team/multi:2.0\"]\n    charts: [{name: web, path: ./chart}]\n",
    );
    let bundle = d.join("src.airlock");
    let public = airlock.create_signed(&spec, &bundle);
    let v = airlock.inspect(&bundle);
    let chart_tgz_digest = v["components"][0]["charts"][0]["archiveDigest"].as_str().unwrap().to_string();
    Source { _dir: dir, bundle, public, app, multi, chart_tgz_digest }
}

fn registry_flags(registry: &Registry) -> Vec<String> {
    match &registry.tls {
        Some(t) => vec![
            "--ca-file".into(),
            t.ca.display().to_string(),
            "--username".into(),
            t.user.clone(),
            "--password".into(),
            t.password.clone(),
        ],
        None => vec!["--plain-http".into()],
    }
}

fn push(airlock: &Airlock, src: &Source, registry: &Registry, extra: &[&str]) -> std::process::Output {
    airlock.cmd().args(push_args(src, registry)).args(extra).output().unwrap()
}

/// `push BUNDLE --registry HOST/mirror --json`, with the registry's flags and the key.
fn push_args(src: &Source, registry: &Registry) -> Vec<String> {
    let dest = format!("{}/mirror", registry.host);
    let mut args: Vec<String> =
        vec!["push".into(), src.bundle.display().to_string(), "--registry".into(), dest, "--json".into()];
    args.extend(registry_flags(registry));
    args.extend(["--key".to_string(), src.public.display().to_string()]);
    args
}

/// `push BUNDLE --registry DEST --plain-http --key KEY`.
fn plain_push<'a>(bundle: &'a Path, dest: &'a str, key: &'a Path) -> Vec<&'a str> {
    vec!["push", bundle.to_str().unwrap(), "--registry", dest, "--plain-http", "--key", key.to_str().unwrap()]
}

fn push_ok(airlock: &Airlock, src: &Source, registry: &Registry, extra: &[&str]) -> serde_json::Value {
    let out = push(airlock, src, registry, extra);
    assert!(
        out.status.success(),
        "push failed: {}\nregistry log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        registry.log()
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn push_to_tls_registry_preserves_digests() {
    if missing_tool("docker-registry") || missing_tool("skopeo") || missing_tool("htpasswd") {
        return;
    }
    let airlock = Airlock::new();
    let src = source_bundle(&airlock, 2);
    let registry = Registry::tls();
    let reloc = src.bundle.with_file_name("reloc.json");
    let report = push_ok(&airlock, &src, &registry, &["--relocation-out", reloc.to_str().unwrap()]);
    assert_eq!(report["images"], 2);
    assert_eq!(report["charts"], 1);
    // docker-registry refuses a wrong digest, so airlock leaves the check to it.
    assert_eq!(report["digestCheck"], "registry", "{report}");
    // The shared base layer is uploaded once and mounted into the other repository.
    assert_eq!(report["mounted"], 1, "{report}");

    assert_eq!(registry.manifest_digest("mirror/team/app:1.0"), src.app.digest);
    assert_eq!(registry.manifest_digest("mirror/team/multi:2.0"), src.multi.digest);
    let relocations: serde_json::Value = serde_json::from_slice(&std::fs::read(&reloc).unwrap()).unwrap();
    assert_eq!(
        relocations["docker.io/team/app:1.0"].as_str().unwrap(),
        format!("{}/mirror/team/app:1.0@{}", registry.host, src.app.digest)
    );
    // Chart: Helm's naming (PREFIX/NAME, `+` -> `_`) and media types.
    let chart_ref = relocations["charts/web:1.2.3+build.4"].as_str().unwrap();
    assert!(chart_ref.starts_with(&format!("{}/mirror/web:1.2.3_build.4@", registry.host)), "{chart_ref}");
    let mut cmd = Command::new("skopeo");
    cmd.args(["inspect", "--raw"]).args(registry.skopeo_src_flags().iter().map(|f| f.replace("--src-", "--")));
    let raw = cmd.arg(format!("docker://{}/mirror/web:1.2.3_build.4", registry.host)).output().unwrap();
    let chart_manifest: serde_json::Value = serde_json::from_slice(&raw.stdout).unwrap();
    assert_eq!(chart_manifest["config"]["mediaType"], "application/vnd.cncf.helm.config.v1+json");
    assert_eq!(chart_manifest["layers"][0]["mediaType"], "application/vnd.cncf.helm.chart.content.v1.tar+gzip");
    assert_eq!(chart_manifest["layers"][0]["digest"].as_str().unwrap(), src.chart_tgz_digest);

    // skopeo copies the pushed images back out, every platform of the index.
    let out_dir = src.bundle.with_file_name("copied");
    let mut copy = Command::new("skopeo");
    copy.args(["copy", "--all", "--quiet"]).args(registry.skopeo_src_flags());
    copy.arg(format!("docker://{}/mirror/team/multi:2.0", registry.host)).arg(format!("oci:{}:m", out_dir.display()));
    let out = copy.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // A second push sends nothing.
    let again = push_ok(&airlock, &src, &registry, &[]);
    assert_eq!(again["uploaded"], 0, "{again}");

    // Wrong password and unknown CA: one clear error each.
    let bad = Airlock::new();
    let dest = format!("{}/mirror", registry.host);
    let tls = registry.tls.as_ref().unwrap();
    let b = src.bundle.to_str().unwrap();
    let k = src.public.to_str().unwrap();
    let ca = tls.ca.to_str().unwrap();
    let err = bad.fails(&[
        "push",
        b,
        "--registry",
        &dest,
        "--key",
        k,
        "--ca-file",
        ca,
        "--username",
        "tester",
        "--password",
        "nope",
    ]);
    assert!(err.contains(&registry.host) && err.contains("unauthorized"), "{err}");
    let err = bad.fails(&["push", b, "--registry", &dest, "--key", k, "--username", "tester", "--password", "s3cret"]);
    assert!(err.contains("--ca-file"), "{err}");
    // Plain HTTP asked of a TLS registry, and TLS of a plain one.
    let err = bad.fails(&[plain_push(&src.bundle, &dest, &src.public), vec!["--ca-file", ca]].concat());
    assert!(err.contains(&registry.host) && err.contains("drop --plain-http"), "{err}");
    let plain = Registry::plain();
    let plain_dest = format!("{}/mirror", plain.host);
    let err = bad.fails(&["push", b, "--registry", &plain_dest, "--key", k]);
    assert!(
        err.contains(&plain.host) && err.contains("did not answer in TLS") && err.contains("--plain-http"),
        "{err}"
    );
}

#[test]
fn push_refuses_unsigned_corrupt_and_colliding_bundles() {
    if missing_tool("docker-registry") || missing_tool("skopeo") {
        return;
    }
    let airlock = Airlock::new();
    let src = source_bundle(&airlock, 1);
    let registry = Registry::plain();
    let b = src.bundle.to_str().unwrap();

    // --keep-registry-host puts the source registry into the pushed name.
    let kept = push_ok(&airlock, &src, &registry, &["--keep-registry-host"]);
    assert!(
        kept["relocations"]["docker.io/team/app:1.0"].as_str().unwrap().contains("/mirror/docker.io/team/app:1.0@"),
        "{kept}"
    );

    // Unsigned: refused without --allow-unsigned, before anything is sent.
    let unsigned = src.bundle.with_file_name("unsigned.airlock");
    let mut bytes = std::fs::read(&src.bundle).unwrap();
    let text = String::from_utf8_lossy(&bytes[..40_000]).into_owned();
    let slot = text.find("{\"signatures\":[").unwrap();
    let end = slot + text[slot..].find("]}").unwrap() + 2;
    let empty = b"{\"signatures\":[]}";
    bytes[slot..slot + empty.len()].copy_from_slice(empty);
    for b in &mut bytes[slot + empty.len()..end] {
        *b = b' ';
    }
    // The Sigstore slot (format 1.4) holds the same signature: `{}` there too.
    let text = String::from_utf8_lossy(&bytes[..60_000]).into_owned();
    let sigstore = text.find("{\"mediaType\":\"application/vnd.dev.sigstore.bundle").unwrap();
    let end = sigstore + text[sigstore..].find('\n').unwrap();
    bytes[sigstore..sigstore + 2].copy_from_slice(b"{}");
    for b in &mut bytes[sigstore + 2..end] {
        *b = b' ';
    }
    std::fs::write(&unsigned, &bytes).unwrap();
    let unsigned_dest = format!("{}/unsigned", registry.host);
    let err = airlock.fails_with(BAD_BUNDLE, &plain_push(&unsigned, &unsigned_dest, &src.public));
    assert!(err.contains("not signed"), "{err}");
    let out = airlock.run(&[
        "push",
        unsigned.to_str().unwrap(),
        "--registry",
        &format!("{}/unsigned", registry.host),
        "--plain-http",
        "--allow-unsigned",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning"));

    // A corrupt layer: the push fails naming the blob, and no tag appears.
    // docker-registry checks digests, so it is the registry that finds it.
    let (corrupt, digest) = corrupt_copy(&src);
    let err = airlock.fails_with(BAD_BUNDLE, &plain_push(&corrupt, &format!("{}/corrupt", registry.host), &src.public));
    assert!(
        err.contains("corrupt") && err.contains(&digest[..12]) && err.contains("does not match that digest"),
        "{err}"
    );
    let tags = Command::new("skopeo")
        .args(["list-tags", "--tls-verify=false", &format!("docker://{}/corrupt/team/app", registry.host)])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&tags.stdout).contains("1.0"), "a tag was created from a corrupt bundle");

    // Bad destination.
    let err = airlock.fails_with(USAGE, &["push", b, "--registry", "https://x", "--plain-http", "--allow-unsigned"]);
    assert!(err.contains("HOST[:PORT][/PREFIX]"), "{err}");
}

/// A copy of the source bundle with one byte of its largest blob flipped,
/// and that blob's hex digest.
fn corrupt_copy(src: &Source) -> (PathBuf, String) {
    let mut archive = tar::Archive::new(std::fs::File::open(&src.bundle).unwrap());
    let biggest = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| (e.path().unwrap().to_string_lossy().into_owned(), e.raw_file_position(), e.size()))
        .filter(|(name, _, _)| name.starts_with("blobs/"))
        .max_by_key(|(_, _, size)| *size)
        .unwrap();
    let mut bytes = std::fs::read(&src.bundle).unwrap();
    bytes[(biggest.1 + biggest.2 / 2) as usize] ^= 0xff;
    let corrupt = src.bundle.with_file_name("corrupt.airlock");
    std::fs::write(&corrupt, &bytes).unwrap();
    (corrupt, biggest.0.trim_start_matches("blobs/sha256/").to_string())
}

/// airlock leaves the digest check to a registry only after seeing it
/// refuse a wrong digest. Against a FAKE registry that stores whatever it
/// is sent, airlock hashes every byte itself: a clean bundle arrives intact,
/// and a corrupt one is refused, naming the blob, with nothing tagged.
#[test]
fn push_checks_digests_itself_when_the_registry_does_not() {
    let airlock = Airlock::new();
    let src = source_bundle(&airlock, 1);
    let push_to = |bundle: &Path, lax: &crate::lax_registry::LaxRegistry, prefix: &str| {
        let dest = format!("{}/{prefix}", lax.host);
        airlock.run(&[plain_push(bundle, &dest, &src.public), vec!["--json"]].concat())
    };

    let lax = crate::lax_registry::LaxRegistry::start();
    let out = push_to(&src.bundle, &lax, "clean");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["digestCheck"], "airlock", "{report}");
    {
        let stored = lax.stored.lock().unwrap();
        assert!(stored.manifests.contains_key("clean/team/app:1.0"), "{:?}", stored.manifests.keys());
        for (digest, content) in &stored.blobs {
            // The probe's bytes are kept under a made-up digest; every other
            // blob arrived intact.
            if content.starts_with(b"airlock: a probe") {
                continue;
            }
            assert_eq!(format!("sha256:{}", sha256_hex(content)), *digest);
        }
    }

    // A fresh registry: the first one already holds the intact blob, and
    // a blob the registry has is not sent again.
    let (corrupt, digest) = corrupt_copy(&src);
    let lax = crate::lax_registry::LaxRegistry::start();
    let out = push_to(&corrupt, &lax, "corrupt");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a corrupt bundle was pushed to a registry that does not check digests: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(err.contains("corrupt") && err.contains(&digest[..12]) && err.contains("hashes to"), "{err}");
    let stored = lax.stored.lock().unwrap();
    assert!(!stored.manifests.keys().any(|k| k.starts_with("corrupt/")), "{:?}", stored.manifests.keys());
}

/// Every request costs a registry (with htpasswd auth, a bcrypt check), and
/// until the tags are checked no upload starts. A push asks for each tag
/// once, with one GET (not a HEAD and then a GET), and does not ask again
/// before tagging; a re-push of an unchanged bundle is those GETs alone.
/// Against the FAKE registry, which logs every request.
#[test]
fn push_asks_for_each_tag_once() {
    let airlock = Airlock::new();
    let src = source_bundle(&airlock, 1);
    let lax = crate::lax_registry::LaxRegistry::start();
    let dest = format!("{}/once", lax.host);
    let push = || {
        let out = airlock.run(&plain_push(&src.bundle, &dest, &src.public));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        std::mem::take(&mut lax.stored.lock().unwrap().requests)
    };
    let tags = [
        "/v2/once/team/app/manifests/1.0",
        "/v2/once/team/multi/manifests/2.0",
        "/v2/once/web/manifests/1.2.3_build.4",
    ];

    let first = push();
    let on_manifests: Vec<&String> = first.iter().filter(|r| r.contains("/manifests/")).collect();
    assert!(!on_manifests.iter().any(|r| r.starts_with("HEAD ")), "{on_manifests:#?}");
    for tag in tags {
        for method in ["GET", "PUT"] {
            let count = first.iter().filter(|r| **r == format!("{method} {tag}")).count();
            assert_eq!(count, 1, "{method} {tag} sent {count} times: {on_manifests:#?}");
        }
    }

    let mut again = push();
    again.sort();
    let mut expected: Vec<String> = tags.iter().map(|t| format!("GET {t}")).collect();
    expected.sort();
    assert_eq!(again, expected, "a re-push of an unchanged bundle");
}

/// A registry whose disk fills up mid-push: one error that says so and
/// names the registry; once it has room again, a rerun sends only what is
/// missing. The registry's storage is a small tmpfs in a mount namespace of
/// the test's own (`unshare -m`), with the registry started inside it.
#[test]
fn push_into_a_full_registry_says_so_and_resumes_once_there_is_room() {
    if missing_tool("docker-registry")
        || missing_tool("unshare")
        || !Command::new("unshare").args(["-m", "true"]).status().is_ok_and(|s| s.success())
    {
        assert!(std::env::var_os("CI").is_none(), "docker-registry or unshare -m is missing");
        return;
    }
    let airlock = Airlock::new();
    let src = source_bundle(&airlock, 40);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (mnt, port) = (d.join("mnt"), free_port());
    std::fs::create_dir_all(&mnt).unwrap();
    std::fs::write(
        d.join("config.yml"),
        format!(
            "version: 0.1\nlog: {{level: error}}\nstorage: {{filesystem: {{rootdirectory: {}/data}}}}\nhttp: {{addr: 127.0.0.1:{port}}}\n",
            mnt.display()
        ),
    )
    .unwrap();
    let push = format!(
        "{bin} push {bundle} --registry 127.0.0.1:{port}/full --plain-http --key {key} --json",
        bin = env!("CARGO_BIN_EXE_airlock"),
        bundle = src.bundle.display(),
        key = src.public.display(),
    );
    let script = format!(
        "mount -t tmpfs -o size=160k tmpfs {mnt} || exit 90
docker-registry serve {d}/config.yml >/dev/null 2>&1 &
registry=$!
for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && break; sleep 0.05; done
{push} >/dev/null 2>{d}/first.err; echo $? > {d}/first.status
mount -o remount,size=64m {mnt}
{push} >{d}/second.json 2>{d}/second.err; echo $? > {d}/second.status
kill $registry; wait $registry
exit 0
",
        mnt = mnt.display(),
        d = d.display(),
    );
    let out = Command::new("unshare").args(["-m", "bash", "-c", &script]).env("NO_COLOR", "1").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let read = |name: &str| std::fs::read_to_string(d.join(name)).unwrap();
    let err = read("first.err");
    assert_ne!(read("first.status").trim(), "0", "a push into a full registry succeeded");
    assert!(err.contains("out of disk space") && err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert_eq!(err.matches("error").count(), 1, "{err}");
    assert_eq!(read("second.status").trim(), "0", "{}", read("second.err"));
    let report: serde_json::Value = serde_json::from_str(&read("second.json")).unwrap();
    assert!(report["skipped"].as_u64().unwrap() >= 1, "the rerun sent everything again: {report}");
}

#[test]
fn colliding_names_need_keep_registry_host() {
    if missing_tool("docker-registry") {
        return;
    }
    let airlock = Airlock::new();
    let dir = tempfile::tempdir().unwrap();
    let mut layout = LayoutBuilder::new(&dir.path().join("img"));
    let a = layout.image("amd64", &[layer(&[("a", b"a", 0o644)])]);
    let b = layout.image("amd64", &[layer(&[("b", b"b", 0o644)])]);
    layout.tag(&a, "docker.io/x/y:1");
    layout.tag(&b, "quay.io/x/y:2");
    let spec = write_spec(dir.path(), "components:\n  - name: a\n    images: [\"oci-layout:./img:docker.io/x/y:1\", \"oci-layout:./img:quay.io/x/y:2\"]\n");
    let bundle = dir.path().join("c.airlock");
    airlock.ok(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()]);
    let registry = Registry::plain();
    let args = ["push", bundle.to_str().unwrap(), "--registry", &registry.host, "--plain-http", "--allow-unsigned"];
    let err = airlock.fails_with(USAGE, &args);
    assert!(
        err.contains("docker.io/x/y") && err.contains("quay.io/x/y") && err.contains("--keep-registry-host"),
        "{err}"
    );
    let out = airlock.run(&[&args[..], &["--keep-registry-host"]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Counts blobs the registry has stored.
fn stored_blobs(registry: &Registry) -> usize {
    let dir = registry.dir.path().join("data/docker/registry/v2/blobs/sha256");
    let mut n = 0;
    if let Ok(prefixes) = std::fs::read_dir(&dir) {
        for p in prefixes.flatten() {
            n += std::fs::read_dir(p.path())
                .map(|e| e.flatten().filter(|b| b.path().join("data").exists()).count())
                .unwrap_or(0);
        }
    }
    n
}

#[test]
fn interrupted_push_resumes_with_only_missing_blobs() {
    if missing_tool("docker-registry") {
        return;
    }
    let airlock = Airlock::new();
    let src = source_bundle(&airlock, 40);
    let mut registry = Registry::plain();
    let dest = format!("{}/mirror", registry.host);
    let mut child = airlock
        .cmd()
        .args(plain_push(&src.bundle, &dest, &src.public))
        .args(["--concurrency", "1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Stop the registry (by its PID) once some blobs are in.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while stored_blobs(&registry) < 8 {
        assert!(std::time::Instant::now() < deadline, "push made no progress");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    registry.stop();
    let status = child.wait().unwrap();
    assert!(!status.success(), "push should fail while the registry is down");
    let before = stored_blobs(&registry);
    registry.restart();
    let report = push_ok(&airlock, &src, &registry, &[]);
    let uploaded = report["uploaded"].as_u64().unwrap() as usize;
    let present = report["skipped"].as_u64().unwrap() as usize;
    assert!(before >= 8 && present >= before - 1, "before={before} report={report}");
    assert_eq!(
        uploaded + present + report["mounted"].as_u64().unwrap() as usize,
        total_blob_placements(&src.bundle, &airlock),
        "{report}"
    );
    assert_eq!(registry.manifest_digest("mirror/team/app:1.0"), src.app.digest);
}

/// (blob, repository) pairs a full push needs.
fn total_blob_placements(bundle: &Path, airlock: &Airlock) -> usize {
    let registry = Registry::plain();
    let report: serde_json::Value = serde_json::from_str(&airlock.ok(&[
        "push",
        bundle.to_str().unwrap(),
        "--registry",
        &registry.host,
        "--plain-http",
        "--allow-unsigned",
        "--json",
    ]))
    .unwrap();
    (report["uploaded"].as_u64().unwrap() + report["mounted"].as_u64().unwrap() + report["skipped"].as_u64().unwrap())
        as usize
}

#[test]
fn platform_filtered_index_is_pushed_as_a_filtered_index() {
    if missing_tool("docker-registry") {
        return;
    }
    let airlock = Airlock::new();
    let dir = tempfile::tempdir().unwrap();
    let mut layout = LayoutBuilder::new(&dir.path().join("img"));
    let (amd, _, index) = layout.two_platforms("example.com/multi:1");
    let spec = write_spec(
        dir.path(),
        "platforms: [linux/amd64]\ncomponents:\n  - name: a\n    images: [\"oci-layout:./img:example.com/multi:1\"]\n",
    );
    let bundle = dir.path().join("f.airlock");
    airlock.ok(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()]);
    let registry = Registry::plain();
    let out = airlock.run(&[
        "push",
        bundle.to_str().unwrap(),
        "--registry",
        &registry.host,
        "--plain-http",
        "--allow-unsigned",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The tag gets the index filtered to the carried platform, recorded in the bundle.
    let v = airlock.inspect(&bundle);
    let filtered = v["components"][0]["images"][0]["filteredIndex"].as_str().unwrap().to_string();
    assert_eq!(v["components"][0]["images"][0]["digest"], index.digest.as_str());
    assert_eq!(registry.manifest_digest("multi:1"), filtered);
    let raw = std::process::Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false", &format!("docker://{}/multi:1", registry.host)])
        .output()
        .unwrap();
    let pushed: serde_json::Value = serde_json::from_slice(&raw.stdout).unwrap();
    assert_eq!(pushed["manifests"].as_array().unwrap().len(), 1);
    assert_eq!(pushed["manifests"][0]["digest"], amd.digest.as_str());
}

/// Air-gap proof: the push runs in a network namespace holding only a
/// loopback interface, with the registry started inside the same namespace.
#[test]
fn push_works_inside_an_air_gap() {
    if missing_tool("docker-registry") || missing_tool("unshare") || missing_tool("ip") {
        return;
    }
    let probe = Command::new("unshare").args(["-n", "true"]).output().unwrap();
    if !probe.status.success() {
        assert!(
            std::env::var_os("CI").is_none(),
            "unshare -n is not permitted: {}",
            String::from_utf8_lossy(&probe.stderr)
        );
        eprintln!("skipping: unshare -n not permitted here");
        return;
    }
    let airlock = Airlock::new();
    let src = source_bundle(&airlock, 1);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    std::fs::write(
        dir.path().join("config.yml"),
        format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        ),
    )
    .unwrap();
    let script = format!(
        r#"set -u
ip link set lo up
# Nothing but loopback exists here.
[ "$(ip -o link show | grep -vc ' lo:')" = 0 ] || {{ echo "more than loopback"; exit 90; }}
docker-registry serve {cfg} >/dev/null 2>&1 &
reg=$!
for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && break; sleep 0.05; done
{airlock} push {bundle} --registry 127.0.0.1:{port}/site --plain-http --key {key} --json
rc=$?
skopeo inspect --raw --tls-verify=false docker://127.0.0.1:{port}/site/team/app:1.0 | sha256sum
kill $reg
exit $rc
"#,
        cfg = dir.path().join("config.yml").display(),
        airlock = env!("CARGO_BIN_EXE_airlock"),
        bundle = src.bundle.display(),
        key = src.public.display(),
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["-n", "bash", "-c", &script])
        .env("AIRLOCK_CACHE_DIR", airlock.cache_dir())
        .env("HOME", airlock.home.path())
        .env("NO_COLOR", "1");
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "air-gapped push failed: {stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(&src.app.digest[7..]), "pushed digest differs: {stdout}");
}

/// The key paths of a YAML value, with the names of registries (keys under
/// `mirrors`, `configs`, `rewrite`) replaced by `*`.
fn key_paths(value: &serde_json::Value, prefix: &str, out: &mut std::collections::BTreeSet<String>) {
    if let Some(map) = value.as_object() {
        let wildcard = ["mirrors", "configs", "rewrite"].iter().any(|k| prefix.ends_with(k));
        for (key, child) in map {
            let path = format!("{prefix}/{}", if wildcard { "*" } else { key });
            out.insert(path.clone());
            key_paths(child, &path, out);
        }
    }
}

/// `install --k3s --registry`: a registries.yaml that K3s's documented
/// schema allows, merged with the node's own entries, whose mirrors and
/// rewrites lead to where `airlock push` put each image (checked by pulling
/// the manifest through them with skopeo).
#[test]
fn node_registries_yaml_leads_to_the_pushed_images() {
    let airlock = Airlock::new();
    let src = source_bundle(&airlock, 1);
    let registry = Registry::tls();
    let tls = registry.tls.as_ref().unwrap();
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata/real/k3s/registries");
    let mut allowed = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(&shared).into_iter().flatten().flatten() {
        let doc: serde_json::Value = serde_saphyr::from_str(&std::fs::read_to_string(entry.path()).unwrap()).unwrap();
        key_paths(&doc, "", &mut allowed);
    }
    if allowed.is_empty() {
        assert!(std::env::var_os("CI").is_none(), "shared/testdata is missing");
    }

    for keep_host in [false, true] {
        let extra: &[&str] = if keep_host { &["--keep-registry-host"] } else { &[] };
        push_ok(&airlock, &src, &registry, extra);
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("etc/rancher/k3s/registries.yaml");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, "mirrors:\n  registry.local:\n    endpoint: [\"https://registry.local:5000\"]\n")
            .unwrap();
        let mut args = vec![
            "install",
            src.bundle.to_str().unwrap(),
            "--k3s",
            "--root",
            root.path().to_str().unwrap(),
            "--key",
            src.public.to_str().unwrap(),
        ];
        let dest = format!("{}/mirror", registry.host);
        let ca = tls.ca.to_str().unwrap();
        args.extend(["--registry", &dest, "--registry-ca-file", ca, "--username", &tls.user]);
        // The second time the password comes on stdin, as
        // `docker login --password-stdin` takes it.
        let stdin = format!("{}\n", tls.password);
        let stdin = if keep_host {
            args.push("--password-stdin");
            Some(stdin.as_str())
        } else {
            args.extend(["--password", &tls.password]);
            None
        };
        args.extend(extra);
        let mut cmd = airlock.cmd();
        cmd.args(&args);
        let out = crate::credentials::run(cmd, stdin);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(!root.path().join("var/lib/rancher/k3s/agent/images").exists(), "no tarball when a registry is used");

        let doc: serde_json::Value = serde_saphyr::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let mut paths = std::collections::BTreeSet::new();
        key_paths(&doc, "", &mut paths);
        if !allowed.is_empty() {
            let unknown: Vec<_> = paths.difference(&allowed).collect();
            assert!(unknown.is_empty(), "not in K3s's registries.yaml schema: {unknown:?}");
        }
        assert_eq!(doc["mirrors"]["registry.local"]["endpoint"][0], "https://registry.local:5000", "entry kept");
        let config = &doc["configs"][&registry.host];
        assert_eq!(config["tls"]["ca_file"], ca);
        for (image, digest) in
            [("docker.io/team/app:1.0", &src.app.digest), ("quay.io/team/multi:2.0", &src.multi.digest)]
        {
            let (source_registry, path) = image.split_once('/').unwrap();
            let (repository, tag) = path.rsplit_once(':').unwrap();
            let mirror = &doc["mirrors"][source_registry];
            let endpoint = mirror["endpoint"][0].as_str().unwrap().strip_prefix("https://").unwrap();
            let replacement = mirror["rewrite"]["^(.*)$"].as_str().expect("a rewrite into the prefix");
            let rewritten = replacement.replace("$1", repository);
            let out = Command::new("skopeo")
                .args(["inspect", "--raw"])
                .args(
                    registry
                        .skopeo_src_flags()
                        .iter()
                        .filter(|f| f.starts_with("--src-cert-dir"))
                        .map(|f| f.replace("--src-", "--")),
                )
                .arg(format!(
                    "--creds={}:{}",
                    config["auth"]["username"].as_str().unwrap(),
                    config["auth"]["password"].as_str().unwrap()
                ))
                .arg(format!("docker://{endpoint}/{rewritten}:{tag}"))
                .output()
                .unwrap();
            assert!(out.status.success(), "{image} via the mirror: {}", String::from_utf8_lossy(&out.stderr));
            assert_eq!(&format!("sha256:{}", sha256_hex(&out.stdout)), digest, "{image}");
        }
    }
}

/// Bearer-token auth (docker-registry `auth: token`, tokens from a small
/// token server): push into it, create from it, and a wrong password fails
/// naming the registry.
#[test]
fn bearer_token_registry_push_and_create() {
    let Some(registry) = Registry::token() else {
        assert!(std::env::var_os("CI").is_none(), "the test venv is missing");
        return;
    };
    let airlock = Airlock::new();
    let src = source_bundle(&airlock, 1);
    let dest = format!("{}/mirror", registry.host);
    let push = |password: &str| {
        airlock.run(&[
            "push",
            src.bundle.to_str().unwrap(),
            "--registry",
            &dest,
            "--plain-http",
            "--username",
            "tester",
            "--password",
            password,
            "--key",
            src.public.to_str().unwrap(),
        ])
    };
    let out = push("wrong");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains(&registry.host), "{err}");
    let out = push("s3cret");
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stderr), registry.log());
    let inspect = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false", "--creds", "tester:s3cret"])
        .arg(format!("docker://{dest}/team/app:1.0"))
        .output()
        .unwrap();
    assert!(inspect.status.success(), "{}", String::from_utf8_lossy(&inspect.stderr));
    assert_eq!(format!("sha256:{}", sha256_hex(&inspect.stdout)), src.app.digest);

    // And back out: create pulls through the same token flow.
    let dir = tempfile::tempdir().unwrap();
    let spec = write_spec(dir.path(), &format!("components:\n  - name: a\n    images: [\"{dest}/team/multi:2.0\"]\n"));
    let bundle = dir.path().join("b.airlock");
    airlock.ok(&[
        "create",
        spec.to_str().unwrap(),
        "-o",
        bundle.to_str().unwrap(),
        "--plain-http",
        "--username",
        "tester",
        "--password",
        "s3cret",
    ]);
    let v = airlock.inspect(&bundle);
    assert_eq!(v["components"][0]["images"][0]["digest"], src.multi.digest.as_str());
}

/// `--debug`: the libraries' logs on stderr (the registry requests among
/// them), and stdout still only the report; `AIRLOCK_LOG=trace` gives
/// every level. Neither ever shows the password, the Basic credential made
/// of it, nor (from a token registry) a bearer token.
#[test]
fn debug_logs_show_the_requests_and_never_the_credentials() {
    if missing_tool("docker-registry") || missing_tool("skopeo") || missing_tool("htpasswd") {
        return;
    }
    use base64::Engine as _;
    let registry = Registry::tls();
    let tls = registry.tls.as_ref().unwrap();
    let airlock = Airlock::new();
    let src = source_bundle(&airlock, 1);
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", tls.user, tls.password));
    let no_secret = |log: &str| {
        for secret in [tls.password.as_str(), &basic, "eyJ"] {
            assert!(!log.contains(secret), "`{secret}` in the log:\n{log}");
        }
    };

    let out = push(&airlock, &src, &registry, &["--debug"]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is the report alone");
    assert!(report["uploaded"].as_u64() > Some(0), "{report}");
    let host = &registry.host;
    for line in [
        format!("DEBUG oci_client::client: url=\"https://{host}/v2/\""),
        format!("begin_push_monolithical_session url=\"https://{host}/v2/mirror/team/app/blobs/uploads/\""),
        format!("push manifest url=\"https://{host}/v2/mirror/team/app/manifests/"),
        format!("DEBUG hyper_util::client::legacy::connect::http: connecting to {host}"),
    ] {
        assert!(log.contains(&line), "no `{line}` in:\n{log}");
    }
    assert!(log.contains("Using HTTP basic authentication"), "{log}");
    // airlock's own first line: its command line, the password masked.
    let command = format!("DEBUG airlock: airlock {} push {}", env!("CARGO_PKG_VERSION"), src.bundle.display());
    let command_line = log.lines().find(|l| l.contains(&command)).unwrap_or_else(|| panic!("no `{command}`:\n{log}"));
    assert!(command_line.contains(&format!("--username {} --password <redacted> --key", tls.user)), "{command_line}");
    no_secret(&log);

    let out = airlock.cmd().env("AIRLOCK_LOG", "trace").args(push_args(&src, &registry)).output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && log.contains(" TRACE "), "{log}");
    no_secret(&log);

    // Without --debug, no log at all.
    let out = push(&airlock, &src, &registry, &[]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !log.contains("DEBUG") && !log.contains("oci_client"), "{log}");

    // Bearer tokens from a token server: never shown.
    let Some(registry) = Registry::token() else { return };
    let dest = format!("{}/mirror", registry.host);
    let b = src.bundle.to_str().unwrap();
    let args = ["push", b, "--registry", &dest, "--plain-http", "--username", "tester", "--password", "s3cret"];
    let out = airlock
        .cmd()
        .env("AIRLOCK_LOG", "trace")
        .args(args)
        .args(["--key", src.public.to_str().unwrap()])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && log.contains("Inserting token"), "{log}");
    for secret in ["s3cret", "eyJ"] {
        assert!(!log.contains(secret), "`{secret}` in the log:\n{log}");
    }
}

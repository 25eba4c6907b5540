//! Image signatures and attestations as OCI 1.1 referrers, made by the real
//! cosign v3 (`cosign sign --key`, `cosign attest --key --type spdxjson`)
//! in the CNCF distribution v3 registry: `verify:` accepts them at create,
//! `referrers: true` carries them in the bundle, `push` writes them back
//! (into distribution v3 and Debian's docker-registry 2.8, neither of which
//! has the referrers API: both get the `sha256-<hex>` tag fallback, as
//! cosign itself writes there), `serve` answers the referrers API, and
//! cosign verifies the copies.
//!
//! cosign only ever runs inside `unshare -n` (loopback only): a second
//! process of the registry serves the same storage on the same address in
//! that namespace (`in_air_gap`), so cosign reaches nothing else.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SIGSTORE_BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
const SPDX: &str = "https://spdx.dev/Document";
const COSIGN_FLAGS: &str =
    "--use-signing-config=false --tlog-upload=false --allow-http-registry --allow-insecure-registry -y";
const VERIFY_FLAGS: &str = "--insecure-ignore-tlog --allow-http-registry --allow-insecure-registry";
const ACCEPT: &str = "Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json";

fn built(name: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/tools/bin").join(name);
    if path.exists() {
        return Some(path);
    }
    assert!(std::env::var_os("CI").is_none(), "{name} is not built: run scripts/build-tools.sh");
    eprintln!("skipping: {name} is not built (scripts/build-tools.sh)");
    None
}

/// Whether this test can run: the tools are there and `unshare -n` is
/// allowed (CI must have all of it).
fn can_run() -> bool {
    if ["unshare", "ip", "curl", "skopeo", "docker-registry"].iter().any(|t| missing_tool(t)) {
        return false;
    }
    if !Command::new("unshare").args(["-n", "true"]).status().is_ok_and(|s| s.success()) {
        assert!(std::env::var_os("CI").is_none(), "unshare -n is not permitted");
        eprintln!("skipping: unshare -n is not permitted");
        return false;
    }
    true
}

/// Runs `script` (bash, `set -e`) in a network namespace of its own with
/// only loopback, while `server` (a shell command) serves on 127.0.0.1:`port`
/// there; it is killed by its PID at the end. Waits for the port a bounded
/// time. cosign's home, password and TUF root are in `work`.
fn in_air_gap(work: &Path, server: &str, port: &str, script: &str) -> Output {
    let home = work.join("cosign-home");
    std::fs::create_dir_all(&home).unwrap();
    let whole = format!(
        "set -e\nip link set lo up\n[ \"$(ip -o link show | grep -vc ' lo:')\" = 0 ] || exit 90\n\
         {server} >>{log} 2>&1 &\npid=$!\ntrap 'kill $pid; wait $pid 2>/dev/null || true' EXIT\nup=\n\
         for i in $(seq 400); do if (echo > /dev/tcp/127.0.0.1/{port}) 2>/dev/null; then up=1; break; fi; sleep 0.05; done\n\
         [ -n \"$up\" ] || exit 91\n{script}\n",
        log = work.join("air-gap-server.log").display()
    );
    Command::new("unshare")
        .args(["-n", "bash", "-c", &whole])
        .current_dir(work)
        .env("HOME", &home)
        .env("COSIGN_PASSWORD", "cosign-password")
        .env("TUF_ROOT", home.join("tuf"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// cosign with no server at all, in a namespace of its own.
fn cosign_offline(work: &Path, cosign: &Path, args: &[&str]) -> Output {
    let home = work.join("cosign-home");
    std::fs::create_dir_all(&home).unwrap();
    Command::new("unshare")
        .arg("-n")
        .arg(cosign)
        .args(args)
        .current_dir(work)
        .env("HOME", &home)
        .env("COSIGN_PASSWORD", "cosign-password")
        .env("TUF_ROOT", home.join("tuf"))
        .output()
        .unwrap()
}

#[track_caller]
fn ok(out: Output, what: &str) -> String {
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{what} failed ({:?}): {text}", out.status.code());
    text
}

/// The shell command that serves `registry`'s storage as it does (its
/// config, so the same address), with `binary`.
fn same_registry(binary: &Path, registry: &Registry) -> (String, String) {
    let config = registry.dir.path().join("config.yml");
    let port = registry.host.rsplit_once(':').unwrap().1.to_string();
    (format!("{} serve {}", binary.display(), config.display()), port)
}

/// An HTTP request with curl: (status, body, response headers lowercased).
fn http(method: &str, url: &str, headers: &[&str], body: Option<&[u8]>) -> (u16, Vec<u8>, String) {
    let dir = tempfile::tempdir().unwrap();
    let (out_file, header_file) = (dir.path().join("body"), dir.path().join("headers"));
    let mut cmd = Command::new("curl");
    cmd.args(["-s", "-X", method, "-o", out_file.to_str().unwrap(), "-D", header_file.to_str().unwrap()]);
    cmd.args(["-w", "%{http_code}", url]);
    for h in headers {
        cmd.args(["-H", h]);
    }
    if let Some(body) = body {
        let in_file = dir.path().join("in");
        std::fs::write(&in_file, body).unwrap();
        cmd.arg("--data-binary").arg(format!("@{}", in_file.display()));
    }
    let out = cmd.output().unwrap();
    let status = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0);
    let headers = std::fs::read_to_string(&header_file).unwrap_or_default().to_ascii_lowercase();
    (status, std::fs::read(&out_file).unwrap_or_default(), headers)
}

/// GET of a manifest or index by tag or digest: (status, body).
fn get_manifest(host: &str, repo: &str, reference: &str) -> (u16, Vec<u8>) {
    let (status, body, _) = http("GET", &format!("http://{host}/v2/{repo}/manifests/{reference}"), &[ACCEPT], None);
    (status, body)
}

/// The referrers tag-schema index of `digest` in `repo`.
fn fallback_index(host: &str, repo: &str, digest: &str) -> serde_json::Value {
    let (status, body) = get_manifest(host, repo, &format!("sha256-{}", &digest[7..]));
    assert_eq!(status, 200, "no referrers tag for {digest} in {repo}: {}", String::from_utf8_lossy(&body));
    json(&body)
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(bytes)))
}

/// The digests an index lists.
fn listed(index: &serde_json::Value) -> Vec<String> {
    let mut all: Vec<String> = index["manifests"]
        .as_array()
        .unwrap_or(&vec![])
        .iter()
        .map(|m| m["digest"].as_str().unwrap().to_string())
        .collect();
    all.sort();
    all
}

/// A source registry (distribution v3) holding `team/app:1.0`, signed and
/// attested by cosign v3 with `cosign.key`, `team/other:1.0`, signed too,
/// and `team/third:1.0`, not signed.
struct Source {
    work: tempfile::TempDir,
    airlock: Airlock,
    cosign: PathBuf,
    distribution: PathBuf,
    registry: Registry,
    app: Built,
    other: Built,
    third: Built,
    public: PathBuf,
}

impl Source {
    fn new() -> Option<Source> {
        if !can_run() {
            return None;
        }
        let (cosign, distribution) = (built("cosign")?, built("distribution-registry")?);
        let registry = Registry::distribution()?;
        let work = tempfile::tempdir().unwrap();
        let w = work.path();
        let mut layout = LayoutBuilder::new(&w.join("img"));
        let images: Vec<Built> = ["app", "other", "third"]
            .iter()
            .map(|name| {
                let image = layout.image("amd64", &[layer(&[("f", format!("{name} image").as_bytes(), 0o644)])]);
                layout.tag(&image, name);
                registry.push_layout(&layout.dir, name, &format!("team/{name}:1.0"));
                image
            })
            .collect();
        let [app, other, third]: [Built; 3] = images.try_into().ok().unwrap();
        ok(cosign_offline(w, &cosign, &["generate-key-pair"]), "cosign generate-key-pair");
        std::fs::write(
            w.join("sbom.spdx.json"),
            r#"{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"app","dataLicense":"CC0-1.0","documentNamespace":"https://example.com/app","creationInfo":{"created":"2026-01-01T00:00:00Z","creators":["Tool: airlock-tests"]},"packages":[]}"#,
        )
        .unwrap();
        let (server, port) = same_registry(&distribution, &registry);
        let c = cosign.display();
        let (host, a, o) = (&registry.host, &app.digest, &other.digest);
        ok(
            in_air_gap(
                w,
                &server,
                &port,
                &format!(
                    "{c} sign --key cosign.key {COSIGN_FLAGS} {host}/team/app@{a}\n\
                     {c} attest --key cosign.key {COSIGN_FLAGS} --predicate sbom.spdx.json --type spdxjson {host}/team/app@{a}\n\
                     {c} sign --key cosign.key {COSIGN_FLAGS} {host}/team/other@{o}\n"
                ),
            ),
            "cosign sign and attest",
        );
        let public = w.join("cosign.pub");
        Some(Source { work, airlock: Airlock::new(), cosign, distribution, registry, app, other, third, public })
    }

    fn spec(&self, image: &str, verify: Option<&Path>, referrers: bool) -> PathBuf {
        let mut entry = format!("{{ref: \"{}/{image}\"", self.registry.host);
        if let Some(key) = verify {
            entry.push_str(&format!(", verify: {{key: {}}}", key.display()));
        }
        if referrers {
            entry.push_str(", referrers: true");
        }
        write_spec(self.work.path(), &format!("components:\n  - name: a\n    images:\n      - {entry}}}\n"))
    }

    fn create(&self, spec: &Path, bundle: &str) -> Output {
        let out = self.work.path().join(bundle);
        self.airlock.run(&["create", spec.to_str().unwrap(), "-o", out.to_str().unwrap(), "--plain-http"])
    }

    fn bundle(&self, name: &str) -> PathBuf {
        self.work.path().join(name)
    }

    /// cosign's key ID as airlock records it.
    fn key_id(&self) -> String {
        let der = Command::new("openssl")
            .args(["pkey", "-pubin", "-in", self.public.to_str().unwrap(), "-outform", "DER"])
            .output()
            .unwrap()
            .stdout;
        format!("sha256:{}", sha256_hex(&der))
    }

    /// `cosign verify --key` and `cosign verify-attestation --type
    /// spdxjson` of `image` at `host`, in the air gap with `server`.
    fn cosign_verifies(&self, server: &str, port: &str, image: &str, key: &Path, attestation: bool) -> String {
        let c = self.cosign.display();
        let k = key.display();
        let mut script = format!("{c} verify --key {k} {VERIFY_FLAGS} {image}\n");
        if attestation {
            script.push_str(&format!("{c} verify-attestation --key {k} --type spdxjson {VERIFY_FLAGS} {image}\n"));
        }
        ok(in_air_gap(self.work.path(), server, port, &script), &format!("cosign verify of {image}"))
    }
}

/// What the bundle records of an image's referrers: their digests, sorted.
fn carried_by(inspect: &serde_json::Value) -> Vec<String> {
    let mut all: Vec<String> = inspect["components"][0]["images"][0]["referrers"]
        .as_array()
        .unwrap_or(&vec![])
        .iter()
        .map(|r| r["digest"].as_str().unwrap().to_string())
        .collect();
    all.sort();
    all
}

/// Puts team/other's cosign signature (valid, by the trusted key, for
/// team/other's digest) among team/third's referrers: its manifest again
/// with team/third as `subject`, and the tag-schema index listing it.
fn misplace_signature(src: &Source) {
    let host = &src.registry.host;
    let index = fallback_index(host, "team/other", &src.other.digest);
    let signature = index["manifests"][0]["digest"].as_str().unwrap();
    let (status, body) = get_manifest(host, "team/other", signature);
    assert_eq!(status, 200);
    let mut manifest = json(&body);
    manifest["subject"] = serde_json::json!({
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": src.third.digest, "size": src.third.bytes.len(),
    });
    for blob in std::iter::once(&manifest["config"]).chain(manifest["layers"].as_array().unwrap()) {
        let digest = blob["digest"].as_str().unwrap();
        let url = format!("http://{host}/v2/team/third/blobs/uploads/?mount={digest}&from=team/other");
        let (status, _, _) = http("POST", &url, &[], None);
        assert_eq!(status, 201, "mount of {digest}");
    }
    let bytes = serde_json::to_vec(&manifest).unwrap();
    let digest = format!("sha256:{}", sha256_hex(&bytes));
    let put = |reference: &str, media_type: &str, body: &[u8]| {
        let url = format!("http://{host}/v2/team/third/manifests/{reference}");
        let (status, answer, _) = http("PUT", &url, &[&format!("Content-Type: {media_type}")], Some(body));
        assert_eq!(status, 201, "{}", String::from_utf8_lossy(&answer));
    };
    put(&digest, "application/vnd.oci.image.manifest.v1+json", &bytes);
    let index = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest,
                       "size": bytes.len(), "artifactType": SIGSTORE_BUNDLE}],
    });
    let tag = format!("sha256-{}", &src.third.digest[7..]);
    put(&tag, "application/vnd.oci.image.index.v1+json", &serde_json::to_vec(&index).unwrap());
}

#[test]
fn create_checks_cosign_v3_signatures_stored_as_referrers() {
    let Some(src) = Source::new() else { return };
    let a = &src.airlock;

    // The trusted key: accepted. The signature travels as a referrer (the
    // attestation does not, without `referrers: true`).
    ok(src.create(&src.spec("team/app:1.0", Some(&src.public), false), "app.airlock"), "create");
    let bundle = src.bundle("app.airlock");
    a.ok(&["verify", bundle.to_str().unwrap(), "--allow-unsigned"]);
    let v = a.inspect(&bundle);
    let image = &v["components"][0]["images"][0];
    assert!(image.get("signatures").is_none(), "{image}");
    assert_eq!(v["referrerCount"], 1, "{image}");
    let signature = &image["referrers"][0];
    assert_eq!(signature["subject"], src.app.digest.as_str());
    assert_eq!(signature["artifactType"], SIGSTORE_BUNDLE);
    assert_eq!(signature["annotations"]["dev.sigstore.bundle.predicateType"], "https://sigstore.dev/cosign/sign/v1");
    assert_eq!(signature["keyId"], src.key_id().as_str());
    // Its manifest and the blobs it names are bundle blobs.
    let blobs: Vec<&str> = v["blobs"].as_array().unwrap().iter().map(|b| b["digest"].as_str().unwrap()).collect();
    let digest = signature["digest"].as_str().unwrap();
    let out = Command::new("tar")
        .args(["-xOf", bundle.to_str().unwrap(), &format!("blobs/sha256/{}", &digest[7..])])
        .output()
        .unwrap();
    let manifest = json(&out.stdout);
    assert_eq!(format!("sha256:{}", sha256_hex(&out.stdout)), digest);
    assert_eq!(manifest["subject"]["digest"], src.app.digest.as_str());
    assert_eq!(manifest["layers"][0]["mediaType"], SIGSTORE_BUNDLE);
    for d in [digest, manifest["config"]["digest"].as_str().unwrap(), manifest["layers"][0]["digest"].as_str().unwrap()]
    {
        assert!(blobs.contains(&d), "{d} is not a bundle blob");
    }
    let human = a.ok(&["inspect", bundle.to_str().unwrap()]);
    assert!(human.contains("(cosign signature verified at create)"), "{human}");

    // Another key: refused, naming the image and the key.
    let (_, stranger) = a.keypair(src.work.path(), "stranger");
    let out = src.create(&src.spec("team/app:1.0", Some(&stranger), false), "x.airlock");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("no cosign signature of image") && err.contains("team/app:1.0") && err.contains("stranger.pub"),
        "{err}"
    );

    // No signature in either form.
    let out = src.create(&src.spec("team/third:1.0", Some(&src.public), false), "x.airlock");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("has no cosign signature"), "{err}");

    // A valid signature of another image, listed among this one's referrers.
    misplace_signature(&src);
    let out = src.create(&src.spec("team/third:1.0", Some(&src.public), false), "x.airlock");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains(&format!("is for {}", src.other.digest)) && err.contains(&src.third.digest), "{err}");
    assert!(!src.bundle("x.airlock").exists());
    crate::create::assert_no_partial_files(src.work.path());
}

#[test]
fn referrers_travel_in_the_bundle_and_are_pushed_back() {
    let Some(src) = Source::new() else { return };
    let Some(target) = Registry::distribution() else { return };
    let a = &src.airlock;
    ok(src.create(&src.spec("team/app:1.0", Some(&src.public), true), "app.airlock"), "create with referrers");
    let bundle = src.bundle("app.airlock");
    let b = bundle.to_str().unwrap();
    let v = a.inspect(&bundle);
    assert_eq!(v["referrerCount"], 2, "{v}");
    let referrers = v["components"][0]["images"][0]["referrers"].as_array().unwrap();
    let predicates: Vec<&str> =
        referrers.iter().map(|r| r["annotations"]["dev.sigstore.bundle.predicateType"].as_str().unwrap()).collect();
    assert!(
        predicates.contains(&SPDX) && predicates.contains(&"https://sigstore.dev/cosign/sign/v1"),
        "{predicates:?}"
    );
    assert_eq!(referrers.iter().filter(|r| r.get("keyId").is_some()).count(), 1, "only the signature was verified");
    let carried = carried_by(&v);
    let human = a.ok(&["inspect", b]);
    assert!(human.contains("referrers: 2"), "{human}");
    assert!(
        human.contains("cosign signature, verified at create") && human.contains(&format!("attestation {SPDX}")),
        "{human}"
    );
    a.ok(&["verify", b, "--allow-unsigned"]);

    let push = |registry: &Registry| -> serde_json::Value {
        let dest = format!("{}/mirror", registry.host);
        json(a.ok(&["push", b, "--registry", &dest, "--plain-http", "--allow-unsigned", "--json"]).as_bytes())
    };
    // Into distribution v3.
    let report = push(&target);
    let url = format!("http://{}/v2/mirror/team/app/referrers/{}", target.host, src.app.digest);
    let (status, body, _) = http("GET", &url, &[], None);
    if status == 200 {
        assert_eq!(listed(&json(&body)), carried);
        assert_eq!(report["referrerTags"], 0, "{report}");
    } else {
        // distribution v3.1.2 has no referrers API (404): the tag schema.
        assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
        assert_eq!(report["referrerTags"], 1, "{report}");
        assert_eq!(listed(&fallback_index(&target.host, "mirror/team/app", &src.app.digest)), carried);
    }
    let (server, port) = same_registry(&src.distribution, &target);
    let pushed = format!("{}/mirror/team/app@{}", target.host, src.app.digest);
    src.cosign_verifies(&server, &port, &pushed, &src.public, true);
    // Pushed again: nothing to send, nothing to tag.
    let again = push(&target);
    assert_eq!((again["manifests"].as_u64(), again["referrerTags"].as_u64()), (Some(0), Some(0)), "{again}");

    // Into docker-registry 2.8, where cosign (another key) signed the image
    // before: the tag index gains the bundle's referrers and keeps cosign's.
    let old = Registry::plain();
    old.push_layout(&src.work.path().join("img"), "app", "mirror/team/app:1.0");
    let site = src.work.path().join("site");
    std::fs::create_dir_all(&site).unwrap();
    ok(cosign_offline(&site, &src.cosign, &["generate-key-pair"]), "cosign generate-key-pair");
    // (cosign's check can fail: that key signed nothing in distribution.)
    let c = src.cosign.display();
    let k = site.join("cosign.pub");
    let refused = in_air_gap(
        src.work.path(),
        &server,
        &port,
        &format!("{c} verify --key {} {VERIFY_FLAGS} {pushed}", k.display()),
    );
    assert!(!refused.status.success(), "cosign verified with a key that signed nothing");
    let (old_server, old_port) = same_registry(Path::new("docker-registry"), &old);
    let signed_there = format!("{}/mirror/team/app@{}", old.host, src.app.digest);
    ok(
        in_air_gap(
            src.work.path(),
            &old_server,
            &old_port,
            &format!("{c} sign --key site/cosign.key {COSIGN_FLAGS} {signed_there}"),
        ),
        "cosign sign in the target",
    );
    let before = listed(&fallback_index(&old.host, "mirror/team/app", &src.app.digest));
    assert_eq!(before.len(), 1);
    let report = push(&old);
    assert_eq!(report["referrerTags"], 1, "{report}");
    let after = listed(&fallback_index(&old.host, "mirror/team/app", &src.app.digest));
    let mut want: Vec<String> = before.iter().chain(&carried).cloned().collect();
    want.sort();
    assert_eq!(after, want);
    src.cosign_verifies(&old_server, &old_port, &signed_there, &src.public, true);
    src.cosign_verifies(&old_server, &old_port, &signed_there, &site.join("cosign.pub"), false);
}

#[test]
fn serve_answers_the_referrers_api() {
    let Some(src) = Source::new() else { return };
    let a = &src.airlock;
    ok(src.create(&src.spec("team/app:1.0", Some(&src.public), true), "app.airlock"), "create with referrers");
    let bundle = src.bundle("app.airlock");
    let carried = carried_by(&a.inspect(&bundle));
    let served = a.serve(&bundle, &["--allow-unsigned"]);
    let url = format!("http://{}/v2/team/app/referrers/{}", served.address, src.app.digest);

    let (status, body, headers) = http("GET", &url, &[], None);
    assert_eq!(status, 200);
    assert!(headers.contains("content-type: application/vnd.oci.image.index.v1+json"), "{headers}");
    let index = json(&body);
    assert_eq!(listed(&index), carried);
    for entry in index["manifests"].as_array().unwrap() {
        assert_eq!(entry["artifactType"], SIGSTORE_BUNDLE, "{entry}");
        assert!(entry["annotations"]["dev.sigstore.bundle.predicateType"].is_string(), "{entry}");
    }
    // The artifactType filter, said to be applied.
    let (_, body, headers) =
        http("GET", &format!("{url}?artifactType=application%2Fvnd.dev.sigstore.bundle.v0.3%2Bjson"), &[], None);
    assert_eq!(listed(&json(&body)), carried);
    assert!(headers.contains("oci-filters-applied: artifacttype"), "{headers}");
    let (_, body, _) = http("GET", &format!("{url}?artifactType=application%2Fspdx%2Bjson"), &[], None);
    assert!(listed(&json(&body)).is_empty());
    // None for a manifest without referrers; a malformed digest is refused.
    let none = format!("http://{}/v2/team/app/referrers/sha256:{}", served.address, "0".repeat(64));
    let (status, body, _) = http("GET", &none, &[], None);
    assert_eq!((status, listed(&json(&body)).len()), (200, 0));
    let (status, _, _) = http("GET", &format!("http://{}/v2/team/app/referrers/sha256:zz", served.address), &[], None);
    assert_eq!(status, 400);

    // airlock reads referrers through the API too: a bundle made from the
    // served one carries the same, its signature verified again.
    let spec = write_spec(
        src.work.path(),
        &format!(
            "components:\n  - name: a\n    images:\n      - {{ref: \"{}/team/app:1.0\", verify: {{key: {}}}, referrers: true}}\n",
            served.address,
            src.public.display()
        ),
    );
    ok(src.create(&spec, "again.airlock"), "create from airlock serve");
    let again = a.inspect(&src.bundle("again.airlock"));
    assert_eq!(carried_by(&again), carried);
    let keyed = again["components"][0]["images"][0]["referrers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["keyId"].is_string())
        .count();
    assert_eq!(keyed, 1);

    // cosign v3 verifies the signature and the attestation through it.
    let port = free_port().to_string();
    let server = format!(
        "{} serve {} --listen 127.0.0.1:{port} --allow-unsigned",
        env!("CARGO_BIN_EXE_airlock"),
        bundle.display()
    );
    let image = format!("127.0.0.1:{port}/team/app@{}", src.app.digest);
    src.cosign_verifies(&server, &port, &image, &src.public, true);
}

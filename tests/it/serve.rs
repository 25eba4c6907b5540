//! `airlock serve`: a bundle served as a read-only registry, pulled by
//! skopeo and by containerd (whose image then runs under runc).

use crate::support::*;
use std::process::Command;

struct Fixture {
    _dir: tempfile::TempDir,
    airlock: Airlock,
    bundle: std::path::PathBuf,
    public: std::path::PathBuf,
    hello_digest: String,
    multi: Built,
    plain_layer: String,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let hello_digest = demo_image(&d.join("hello"));
    let mut layout = LayoutBuilder::new(&d.join("img"));
    let (_, _, multi) = layout.two_platforms("multi");
    // A docker archive with an uncompressed layer: stored zstd-compressed,
    // so serving it exercises decoding (and ranges within it).
    let archive = d.join("plain.tar");
    docker_archive(&d.join("hello"), "1.0.0", &archive, "example.com/plain:1");
    let spec = write_spec(
        d,
        "components:\n  - name: a\n    images: [\"oci-layout:./hello:1.0.0\", \"oci-layout:./img:multi\", \"docker-archive:./plain.tar\"]\n",
    );
    let airlock = Airlock::new();
    let bundle = d.join("s.airlock");
    let public = airlock.create_signed(&spec, &bundle);
    let v = airlock.inspect(&bundle);
    let plain_layer = v["blobs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["encoding"] == "zstd" && b["mediaType"].as_str().unwrap().contains("layer"))
        .expect("an uncompressed layer stored as zstd")["digest"]
        .as_str()
        .unwrap()
        .to_string();
    Fixture { _dir: dir, airlock, bundle, public, hello_digest, multi, plain_layer }
}

fn curl(args: &[&str]) -> (String, Vec<u8>) {
    // `-I` prints the headers itself; otherwise `-D -` puts them before the body.
    let dump: &[&str] = if args.contains(&"-I") { &["-s"] } else { &["-s", "-D", "-"] };
    let out = Command::new("curl").args(dump).args(args).output().unwrap();
    let text = out.stdout;
    let split = text.windows(4).position(|w| w == b"\r\n\r\n").map_or(text.len(), |p| p + 4);
    (String::from_utf8_lossy(&text[..split]).to_ascii_lowercase(), text[split..].to_vec())
}

#[test]
fn skopeo_pulls_every_image_and_the_api_is_read_only() {
    if missing_tool("skopeo") || missing_tool("curl") {
        return;
    }
    let f = fixture();
    let served = f.airlock.serve(&f.bundle, &["--key", f.public.to_str().unwrap()]);
    let base = format!("http://{}", served.address);
    for (name, digest) in [("hello:1.0.0", f.hello_digest.as_str()), ("img:multi", f.multi.digest.as_str())] {
        let out = Command::new("skopeo")
            .args(["inspect", "--raw", "--tls-verify=false", &format!("docker://{}/{name}", served.address)])
            .output()
            .unwrap();
        assert_eq!(format!("sha256:{}", sha256_hex(&out.stdout)), digest, "{name}");
        let dest = f.bundle.with_file_name(format!("copy-{}", name.replace(':', "-")));
        let out = Command::new("skopeo")
            .args([
                "copy",
                "--all",
                "--quiet",
                "--src-tls-verify=false",
                &format!("docker://{}/{name}", served.address),
                &format!("oci:{}:x", dest.display()),
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let out = Command::new("skopeo")
        .args([
            "copy",
            "--quiet",
            "--src-tls-verify=false",
            &format!("docker://{}/plain:1", served.address),
            &format!("dir:{}", f.bundle.with_file_name("plain-copy").display()),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Catalog and tags.
    let (_, body) = curl(&[&format!("{base}/v2/_catalog")]);
    let catalog: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(catalog["repositories"], serde_json::json!(["hello", "img", "plain"]));
    let (_, body) = curl(&[&format!("{base}/v2/img/tags/list")]);
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&body).unwrap()["tags"], serde_json::json!(["multi"]));
    // HEAD of a manifest: headers without a body.
    let (headers, body) = curl(&[
        "-I",
        "-H",
        "Accept: application/vnd.oci.image.index.v1+json",
        &format!("{base}/v2/img/manifests/multi"),
    ]);
    assert!(
        headers.contains(&format!("docker-content-digest: {}", f.multi.digest))
            && headers.contains("application/vnd.oci.image.index.v1+json"),
        "{headers}"
    );
    assert!(body.is_empty());
    // Ranges, on a blob stored compressed.
    let (_, full) = curl(&[&format!("{base}/v2/plain/blobs/{}", f.plain_layer)]);
    assert_eq!(format!("sha256:{}", sha256_hex(&full)), f.plain_layer);
    let (headers, part) = curl(&["-r", "1000-1999", &format!("{base}/v2/plain/blobs/{}", f.plain_layer)]);
    assert!(
        headers.starts_with("http/1.1 206")
            && headers.contains(&format!("content-range: bytes 1000-1999/{}", full.len())),
        "{headers}"
    );
    assert_eq!(part, full[1000..2000]);
    // Writes are refused; unknown things are 404.
    for (method, path) in [
        ("PUT", "/v2/hello/manifests/x"),
        ("POST", "/v2/hello/blobs/uploads/"),
        ("DELETE", "/v2/hello/manifests/1.0.0"),
    ] {
        let (headers, _) = curl(&["-X", method, &format!("{base}{path}")]);
        assert!(headers.starts_with("http/1.1 405"), "{method} {path}: {headers}");
    }
    let (headers, _) = curl(&[&format!("{base}/v2/hello/manifests/9.9")]);
    assert!(headers.starts_with("http/1.1 404"), "{headers}");
    let (headers, _) = curl(&[&format!("{base}/v2/hello/blobs/sha256:{}", "0".repeat(64))]);
    assert!(headers.starts_with("http/1.1 404"), "{headers}");
}

#[test]
fn containerd_pulls_from_serve_and_the_image_runs() {
    if missing_tool("containerd") || missing_tool("ctr") || missing_tool("runc") || missing_tool("skopeo") {
        return;
    }
    let f = fixture();
    let served = f.airlock.serve(&f.bundle, &["--key", f.public.to_str().unwrap()]);
    let containerd = Containerd::start();
    let image = format!("{}/hello:1.0.0", served.address);
    let out = containerd.ctr(&["images", "pull", "--plain-http", &image]);
    assert!(
        out.status.success(),
        "ctr pull: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let out = containerd.ctr(&["images", "ls", "-q"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(&image));
    if !std::path::Path::new("/bin/busybox").exists() {
        assert!(std::env::var_os("CI").is_none(), "busybox-static is missing; run scripts/install-deps.sh");
        return;
    }
    let out = containerd.ctr(&["run", "--rm", &image, "airlock-serve-test", "/hello"]);
    assert!(out.status.success(), "ctr run: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "hello from the airlock demo image");
}

#[test]
fn serve_refuses_an_untrusted_bundle() {
    let f = fixture();
    let (_, other) = f.airlock.keypair(f.bundle.parent().unwrap(), "other");
    let err = f.airlock.fails_with(
        BAD_BUNDLE,
        &["serve", f.bundle.to_str().unwrap(), "--key", other.to_str().unwrap(), "--listen", "127.0.0.1:0"],
    );
    assert!(err.contains("no signature verifies"), "{err}");

    // A port something else holds: one error saying what to do.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let err = f.airlock.fails(&["serve", f.bundle.to_str().unwrap(), "--allow-unsigned", "--listen", &address]);
    assert!(err.contains(&address) && err.contains("choose another port"), "{err}");
}

#[test]
fn serve_over_tls() {
    if missing_tool("skopeo") || missing_tool("openssl") {
        return;
    }
    let f = fixture();
    let certs = tempfile::tempdir().unwrap();
    make_ca_and_cert(certs.path());
    let served = f.airlock.serve(
        &f.bundle,
        &[
            "--key",
            f.public.to_str().unwrap(),
            "--tls-cert",
            certs.path().join("server.crt").to_str().unwrap(),
            "--tls-key",
            certs.path().join("server.key").to_str().unwrap(),
        ],
    );
    let ca_dir = certs.path().join("ca");
    std::fs::create_dir_all(&ca_dir).unwrap();
    std::fs::copy(certs.path().join("ca.crt"), ca_dir.join("ca.crt")).unwrap();
    let out = Command::new("skopeo")
        .args([
            "inspect",
            "--raw",
            &format!("--cert-dir={}", ca_dir.display()),
            &format!("docker://{}/hello:1.0.0", served.address),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(format!("sha256:{}", sha256_hex(&out.stdout)), f.hello_digest);
    // Without the CA, the client refuses: TLS is real.
    let out = Command::new("skopeo")
        .args(["inspect", "--raw", &format!("docker://{}/hello:1.0.0", served.address)])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

/// `--htpasswd`: every request needs a user's Basic credentials (a 401
/// with a Basic challenge otherwise), clients that give them pull as
/// before, and writes are still refused to users who are let in.
#[test]
fn serve_with_htpasswd_needs_basic_auth_and_stays_read_only() {
    if missing_tool("skopeo") || missing_tool("curl") || missing_tool("htpasswd") {
        return;
    }
    let f = fixture();
    let users = f.bundle.with_file_name("htpasswd");
    let out = Command::new("htpasswd").args(["-Bbn", "alice", "wonder land"]).output().unwrap();
    std::fs::write(&users, out.stdout).unwrap();
    let served =
        f.airlock.serve(&f.bundle, &["--key", f.public.to_str().unwrap(), "--htpasswd", users.to_str().unwrap()]);
    let base = format!("http://{}", served.address);
    for auth in [&[][..], &["-u", "alice:wrong"], &["-u", "bob:wonder land"]] {
        for path in ["/v2/", "/v2/hello/manifests/1.0.0", "/v2/_catalog", "/v2/nothing/here", "/elsewhere"] {
            let url = format!("{base}{path}");
            let (headers, _) = curl(&[auth, &[url.as_str()][..]].concat());
            assert!(headers.starts_with("http/1.1 401"), "{auth:?} {path}: {headers}");
            assert!(headers.contains("www-authenticate: basic realm=\"airlock\""), "{headers}");
        }
    }
    let alice = ["-u", "alice:wonder land"];
    let catalog = format!("{base}/v2/_catalog");
    let (headers, body) = curl(&[&alice[..], &[catalog.as_str()]].concat());
    assert!(headers.starts_with("http/1.1 200"), "{headers}");
    assert_eq!(serde_json::from_slice::<serde_json::Value>(&body).unwrap()["repositories"][0], "hello");
    for (method, path) in [
        ("PUT", "/v2/hello/manifests/x"),
        ("POST", "/v2/hello/blobs/uploads/"),
        ("DELETE", "/v2/hello/manifests/1.0.0"),
    ] {
        let url = format!("{base}{path}");
        let (headers, _) = curl(&[&alice[..], &["-X", method, url.as_str()]].concat());
        assert!(headers.starts_with("http/1.1 405"), "{method} {path}: {headers}");
        let (headers, _) = curl(&["-X", method, &url]);
        assert!(headers.starts_with("http/1.1 401"), "{method} {path}: {headers}");
    }
    // A real client answers the challenge.
    let inspect = |creds: Option<&str>| {
        let mut cmd = Command::new("skopeo");
        cmd.args(["inspect", "--raw", "--tls-verify=false"]);
        if let Some(c) = creds {
            cmd.args(["--creds", c]);
        }
        cmd.arg(format!("docker://{}/hello:1.0.0", served.address)).output().unwrap()
    };
    let out = inspect(Some("alice:wonder land"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(format!("sha256:{}", sha256_hex(&out.stdout)), f.hello_digest);
    assert!(!inspect(None).status.success());
    assert!(!inspect(Some("alice:nope")).status.success());
}

#[test]
fn serve_refuses_an_htpasswd_file_it_cannot_check() {
    if missing_tool("htpasswd") {
        return;
    }
    let f = fixture();
    let users = f.bundle.with_file_name("htpasswd");
    let entry = |flag: &str, user: &str| {
        let out = Command::new("htpasswd").args([flag, user, "password"]).output().unwrap().stdout;
        String::from_utf8(out).unwrap().trim().to_string()
    };
    std::fs::write(&users, format!("{}\n{}\n", entry("-Bbn", "alice"), entry("-mbn", "bob"))).unwrap();
    let serve = |file: &std::path::Path| {
        f.airlock.fails_with(
            USAGE,
            &[
                "serve",
                f.bundle.to_str().unwrap(),
                "--allow-unsigned",
                "--listen",
                "127.0.0.1:0",
                "--htpasswd",
                file.to_str().unwrap(),
            ],
        )
    };
    let err = serve(&users);
    assert!(
        err.contains(&format!("{}, line 2: the password of user bob is an MD5 (apr1) hash", users.display()))
            && err.contains("htpasswd -B"),
        "{err}"
    );
    let err = serve(&f.bundle.with_file_name("no-such-file"));
    assert!(err.contains("cannot read the htpasswd file") && err.contains("No such file"), "{err}");
}

/// A client that opens a TLS connection and sends nothing is closed once
/// the handshake timeout passes, and the server goes on serving others.
#[test]
fn serve_closes_a_silent_tls_client() {
    if missing_tool("openssl") || missing_tool("curl") {
        return;
    }
    use std::io::Read;
    use std::time::{Duration, Instant};
    let f = fixture();
    let certs = tempfile::tempdir().unwrap();
    make_ca_and_cert(certs.path());
    let served = f.airlock.serve(
        &f.bundle,
        &[
            "--key",
            f.public.to_str().unwrap(),
            "--tls-cert",
            certs.path().join("server.crt").to_str().unwrap(),
            "--tls-key",
            certs.path().join("server.key").to_str().unwrap(),
            "--tls-handshake-timeout",
            "1s",
        ],
    );
    let mut silent = std::net::TcpStream::connect(&served.address).unwrap();
    // Bounded: a server that never closes fails the test after 20 s.
    silent.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 16];
    let closed = match silent.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    };
    let waited = start.elapsed();
    assert!(closed, "the server kept the connection open ({waited:?})");
    assert!(waited >= Duration::from_millis(900) && waited < Duration::from_secs(10), "{waited:?}");
    let (headers, _) =
        curl(&["--cacert", certs.path().join("ca.crt").to_str().unwrap(), &format!("https://{}/v2/", served.address)]);
    assert!(headers.starts_with("http/1.1 200"), "{headers}");
}

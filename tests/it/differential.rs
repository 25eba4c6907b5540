//! Differential bundles: 1.1 made against 1.0 carries only what changed,
//! pushes onto a registry holding 1.0 to the same images as the full 1.1,
//! upgrades a K3s node holding 1.0 to the same files as the full 1.1, and
//! is refused where the base's blobs are missing.

use crate::support::*;
use std::path::Path;
use std::process::Command;

fn spec(dir: &Path, name: &str, version: &str, tag: &str) -> std::path::PathBuf {
    let path = dir.join(format!("{name}-{version}.yaml"));
    std::fs::write(
        &path,
        format!(
            "apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {{name: {name}, version: {version}}}\ncomponents:\n  - name: a\n    images: [\"oci-layout:./l:{tag}\", \"oci-layout:./l:base\"]\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn a_differential_bundle_carries_only_new_blobs_and_pushes_onto_its_base() {
    if missing_tool("docker-registry") || missing_tool("skopeo") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut layout = LayoutBuilder::new(&d.join("l"));
    let shared = layer(&[("big.bin", &noise(2 << 20, 1), 0o644)]);
    let app10 = layout.image("amd64", &[shared.clone(), layer(&[("version", b"1.0", 0o644)])]);
    let changed = layer(&[("version", b"1.1", 0o644), ("new.bin", &noise(300_000, 2), 0o644)]);
    let app11 = layout.image("amd64", &[shared.clone(), changed.clone()]);
    let base = layout.image("amd64", &[layer(&[("base.bin", &noise(500_000, 3), 0o644)])]);
    layout.tag(&app10, "app-1.0");
    layout.tag(&app11, "app-1.1");
    layout.tag(&base, "base");

    let airlock = Airlock::new();
    let (v10, v11) = (d.join("v10.airlock"), d.join("v11.airlock"));
    airlock.ok(&["create", spec(d, "shop", "1.0.0", "app-1.0").to_str().unwrap(), "-o", v10.to_str().unwrap()]);
    let spec11 = spec(d, "shop", "1.1.0", "app-1.1");
    airlock.ok(&["create", spec11.to_str().unwrap(), "-o", v11.to_str().unwrap()]);
    // 1.1 made against a base given by `flag`: the bundle's bytes.
    let differential = |name: &str, flag: &str, base: &Path| {
        let out = d.join(name);
        airlock.ok(&["create", spec11.to_str().unwrap(), "-o", out.to_str().unwrap(), flag, base.to_str().unwrap()]);
        std::fs::read(&out).unwrap()
    };
    let diff = d.join("diff.airlock");
    let diff_bytes = differential("diff.airlock", "--since", &v10);
    // Against `inspect --json` output alone (the old bundle need not be at
    // hand), named *.json or under any name with --since-inspect: the same bundle.
    let inspected = d.join("v10.json");
    std::fs::write(&inspected, airlock.ok(&["inspect", v10.to_str().unwrap(), "--json"])).unwrap();
    assert!(differential("diff-json.airlock", "--since", &inspected) == diff_bytes);
    let renamed = d.join("site-has.txt");
    std::fs::copy(&inspected, &renamed).unwrap();
    assert!(differential("diff-inspect.airlock", "--since-inspect", &renamed) == diff_bytes);

    // It carries the changed layer, the new config and manifest, nothing else.
    let v = airlock.inspect(&diff);
    let carried: Vec<&serde_json::Value> =
        v["blobs"].as_array().unwrap().iter().filter(|b| b["inBase"] != true).collect();
    assert_eq!(carried.len(), 3, "{carried:?}");
    assert!(carried.iter().any(|b| b["digest"] == format!("sha256:{}", sha256_hex(&changed))));
    assert_eq!(v["base"]["version"], "1.0.0");
    let new_bytes: u64 = carried.iter().map(|b| b["size"].as_u64().unwrap()).sum();
    let diff_size = std::fs::metadata(&diff).unwrap().len();
    let full_size = std::fs::metadata(&v11).unwrap().len();
    eprintln!("differential {diff_size} bytes for {new_bytes} bytes of new blobs; full bundle {full_size} bytes");
    assert!(diff_size < new_bytes + 48 * 1024, "{diff_size} vs {new_bytes}");
    let human = airlock.ok(&["inspect", diff.to_str().unwrap()]);
    assert!(human.contains("differential:") && human.contains("shop 1.0.0"), "{human}");
    let verified = airlock.ok(&["verify", diff.to_str().unwrap(), "--allow-unsigned"]);
    assert!(verified.contains("left to the base bundle"), "{verified}");
    // With the base at hand, what is left to it is checked there.
    let verified = airlock.ok(&["verify", diff.to_str().unwrap(), "--allow-unsigned", "--base", v10.to_str().unwrap()]);
    assert!(verified.contains("blobs left to the base") && verified.contains("checked there too"), "{verified}");
    let err = airlock
        .fails_with(USAGE, &["verify", diff.to_str().unwrap(), "--allow-unsigned", "--base", v11.to_str().unwrap()]);
    assert!(err.contains("is not the base of"), "{err}");
    // A base whose blob was damaged (its head intact) is caught.
    let mut damaged = std::fs::read(&v10).unwrap();
    let at = damaged.windows(64).position(|w| w == &shared[4096..4160]).expect("the shared layer in 1.0");
    damaged[at] ^= 1;
    let damaged_v10 = d.join("v10-damaged.airlock");
    std::fs::write(&damaged_v10, damaged).unwrap();
    let err =
        airlock.fails(&["verify", diff.to_str().unwrap(), "--allow-unsigned", "--base", damaged_v10.to_str().unwrap()]);
    assert!(err.contains(&sha256_hex(&shared)) && err.contains("v10-damaged.airlock"), "{err}");

    // Onto a registry holding 1.0: the same image digests as pushing the full 1.1.
    let with_base = Registry::plain();
    let target = format!("{}/shop", with_base.host);
    airlock.ok(&["push", v10.to_str().unwrap(), "--registry", &target, "--plain-http", "--allow-unsigned"]);
    airlock.ok(&["push", diff.to_str().unwrap(), "--registry", &target, "--plain-http", "--allow-unsigned"]);
    let full = Registry::plain();
    let full_target = format!("{}/shop", full.host);
    airlock.ok(&["push", v11.to_str().unwrap(), "--registry", &full_target, "--plain-http", "--allow-unsigned"]);
    for image in ["shop/l:app-1.1", "shop/l:base"] {
        assert_eq!(with_base.manifest_digest(image), full.manifest_digest(image), "{image}");
    }
    assert_eq!(with_base.manifest_digest("shop/l:app-1.1"), app11.digest);
    // Against what the registry holds (no old bundle at hand at all).
    let diff_reg = d.join("diff-reg.airlock");
    airlock.ok(&[
        "create",
        spec11.to_str().unwrap(),
        "-o",
        diff_reg.to_str().unwrap(),
        "--since-registry",
        &target,
        "--plain-http",
    ]);
    let v = airlock.inspect(&diff_reg);
    let left: Vec<&serde_json::Value> = v["blobs"].as_array().unwrap().iter().filter(|b| b["inBase"] == true).collect();
    assert!(left.iter().any(|b| b["digest"] == format!("sha256:{}", sha256_hex(&shared))), "{v}");
    assert!(v["blobs"].as_array().unwrap().len() - left.len() <= 4, "{v}");
    assert_eq!(v["base"]["registry"], target.as_str());
    airlock.ok(&["push", diff_reg.to_str().unwrap(), "--registry", &target, "--plain-http", "--allow-unsigned"]);
    assert_eq!(with_base.manifest_digest("shop/l:app-1.1"), app11.digest);

    // Every blob of it is really there: skopeo copies it out whole.
    run_ok(Command::new("skopeo").args([
        "copy",
        "--quiet",
        "--src-tls-verify=false",
        &format!("docker://{}/shop/l:app-1.1", with_base.host),
        &format!("oci:{}:x", d.join("out").display()),
    ]));

    // Into an empty registry: refused, naming what is missing, nothing tagged.
    let empty = Registry::plain();
    let err = airlock.fails_with(
        USAGE,
        &[
            "push",
            diff.to_str().unwrap(),
            "--registry",
            &format!("{}/shop", empty.host),
            "--plain-http",
            "--allow-unsigned",
        ],
    );
    assert!(
        err.contains("differential bundle leaves to its base bundle shop 1.0.0")
            && err.contains(&format!("sha256:{}", sha256_hex(&shared))),
        "{err}"
    );
    let tags = Command::new("skopeo")
        .args(["list-tags", "--tls-verify=false", &format!("docker://{}/shop/l", empty.host)])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&tags.stdout).contains("app-1.1"));
    // With 1.0 at hand (--base), what the registry lacks comes from it.
    let empty_target = format!("{}/shop", empty.host);
    let push_with_base = |base: &Path| {
        let args = ["--registry", &empty_target, "--plain-http", "--allow-unsigned", "--base", base.to_str().unwrap()];
        airlock.run(&[&["push", diff.to_str().unwrap()][..], &args].concat())
    };
    let err = String::from_utf8(push_with_base(&v11).stderr).unwrap();
    assert!(err.contains("is not the base of") && err.contains("shop 1.1.0") && err.contains("shop 1.0.0"), "{err}");
    assert!(push_with_base(&v10).status.success());
    for image in ["shop/l:app-1.1", "shop/l:base"] {
        assert_eq!(empty.manifest_digest(image), full.manifest_digest(image), "{image}");
    }

    // A K3s node that never had 1.0 lacks the shared layer: refused, naming it, before anything is written.
    let root = d.join("node");
    let err = airlock.fails_with(
        USAGE,
        &["install", diff.to_str().unwrap(), "--k3s", "--root", root.to_str().unwrap(), "--allow-unsigned"],
    );
    assert!(err.contains("are not on this node") && err.contains(&sha256_hex(&shared)), "{err}");
    assert!(err.contains("--base"), "{err}");
    assert!(!root.exists());
    // With 1.0's bundle at hand it installs: the images tarball is the one
    // the full 1.1 gives.
    let k3s = |bundle: &Path, root: &Path, extra: &[&str]| {
        let args = ["install", bundle.to_str().unwrap(), "--k3s", "--root", root.to_str().unwrap(), "--allow-unsigned"];
        airlock.ok(&[&args[..], extra].concat());
    };
    k3s(&diff, &root, &["--base", v10.to_str().unwrap()]);
    let full_root = d.join("node-full");
    k3s(&v11, &full_root, &[]);
    let images = |root: &Path| {
        let dir = root.join("var/lib/rancher/k3s/agent/images");
        let mut files: Vec<(std::ffi::OsString, Vec<u8>)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap())
            .map(|e| (e.file_name(), std::fs::read(e.path()).unwrap()))
            .collect();
        files.sort();
        files
    };
    assert!(!images(&root).is_empty() && images(&root) == images(&full_root));
    // Serving one alone would answer with holes: refused too.
    let err =
        airlock.fails_with(USAGE, &["serve", diff.to_str().unwrap(), "--listen", "127.0.0.1:0", "--allow-unsigned"]);
    assert!(err.contains("differential bundle") && err.contains("--base") && err.contains("shop 1.0.0"), "{err}");
    let serve_on_v10 = |bundle: &Path| {
        let base = v10.to_str().unwrap();
        airlock.fails_with(
            USAGE,
            &["serve", bundle.to_str().unwrap(), "--listen", "127.0.0.1:0", "--allow-unsigned", "--base", base],
        )
    };
    let err = serve_on_v10(&v11);
    assert!(err.contains("is not a differential bundle, so it needs no --base"), "{err}");
    let err = serve_on_v10(&diff_reg);
    assert!(err.contains("was made against what registry") && err.contains("push it to that registry"), "{err}");
    // With its base it serves 1.1 whole: the manifest as the full 1.1 has
    // it, and the shared layer (from 1.0), in full and by range.
    let served = airlock.serve(&diff, &["--allow-unsigned", "--base", v10.to_str().unwrap()]);
    let pulled = d.join("pulled");
    run_ok(Command::new("skopeo").args([
        "copy",
        "--quiet",
        "--src-tls-verify=false",
        &format!("docker://{}/l:app-1.1", served.address),
        &format!("oci:{}:x", pulled.display()),
    ]));
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(pulled.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["manifests"][0]["digest"], app11.digest.as_str());
    assert_eq!(std::fs::read(pulled.join("blobs/sha256").join(sha256_hex(&shared))).unwrap(), shared);
    let shared_url = format!("http://{}/v2/l/blobs/sha256:{}", served.address, sha256_hex(&shared));
    let ranged = run_ok(Command::new("curl").args(["-sf", "-r", "100-199", &shared_url])).stdout;
    assert_eq!(ranged, shared[100..200]);
}

/// 1.0 and 1.1 of an edge bundle: 1.1 changes one layer of the app image;
/// a multi-platform image, a chart with a values file, a manifest and a
/// file are the same in both, so the differential bundle leaves them all
/// to 1.0.
fn edge_versions(d: &Path, airlock: &Airlock) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf, Vec<u8>) {
    let mut layout = LayoutBuilder::new(&d.join("l"));
    let shared = layer(&[("big.bin", &noise(1 << 20, 4), 0o644)]);
    let app10 = layout.image("amd64", &[shared.clone(), layer(&[("version", b"1.0", 0o644)])]);
    let app11 = layout.image("amd64", &[shared.clone(), layer(&[("version", b"1.1", 0o644)])]);
    layout.tag(&app10, "app-1.0");
    layout.tag(&app11, "app-1.1");
    layout.two_platforms("multi");
    std::fs::create_dir_all(d.join("chart/templates")).unwrap();
    std::fs::write(d.join("chart/Chart.yaml"), "apiVersion: v2\nname: web\nversion: 0.1.0\n").unwrap();
    std::fs::write(d.join("chart/templates/cm.yaml"), "kind: ConfigMap\n").unwrap();
    std::fs::write(d.join("site.yaml"), "replicas: 2\n").unwrap();
    std::fs::write(d.join("ns.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata: {name: edge}\n").unwrap();
    std::fs::write(d.join("tool.sh"), "#!/bin/sh\necho tool\n").unwrap();
    let mut bundles = Vec::new();
    for (version, tag) in [("1.0.0", "app-1.0"), ("1.1.0", "app-1.1")] {
        let spec = d.join(format!("edge-{version}.yaml"));
        std::fs::write(
            &spec,
            format!(
                "apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {{name: edge, version: {version}}}\ncomponents:\n  - name: a\n    images: [\"oci-layout:./l:{tag}\", \"oci-layout:./l:multi\"]\n    charts: [{{name: web, path: ./chart, namespace: edge, valuesFiles: [site.yaml]}}]\n    manifests: [ns.yaml]\n    files: [{{source: tool.sh, target: /usr/local/bin/tool, mode: \"0755\"}}]\n"
            ),
        )
        .unwrap();
        let bundle = d.join(format!("edge-{version}.airlock"));
        airlock.ok(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()]);
        bundles.push((spec, bundle));
    }
    let diff = d.join("edge-1.1.0-since-1.0.0.airlock");
    let (spec11, v11) = bundles.pop().unwrap();
    let (_, v10) = bundles.pop().unwrap();
    airlock.ok(&["create", spec11.to_str().unwrap(), "-o", diff.to_str().unwrap(), "--since", v10.to_str().unwrap()]);
    (v10, v11, diff, shared)
}

#[test]
fn a_differential_bundle_upgrades_a_k3s_node_from_what_it_kept() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let airlock = Airlock::new();
    let (v10, v11, diff, shared) = edge_versions(d, &airlock);
    let v = airlock.inspect(&diff);
    let left = v["blobs"].as_array().unwrap().iter().filter(|b| b["inBase"] == true).count();
    assert!(left >= 8, "chart, values, manifest, file, index and its images, shared layer: {v}");
    let k3s = |verb: &str, bundle: &Path, root: &Path| {
        let args = [verb, bundle.to_str().unwrap(), "--k3s", "--root", root.to_str().unwrap()];
        airlock.cmd().args(args).args(["--platform", "linux/amd64", "--allow-unsigned"]).output().unwrap()
    };
    let ok = |verb: &str, bundle: &Path, root: &Path| {
        let out = k3s(verb, bundle, root);
        assert!(out.status.success(), "{verb} {}: {}", bundle.display(), String::from_utf8_lossy(&out.stderr));
    };

    // The same files, byte for byte (images tarball included), as upgrading with the full 1.1.
    let (with_diff, with_full) = (d.join("node-diff"), d.join("node-full"));
    for root in [&with_diff, &with_full] {
        ok("install", &v10, root);
    }
    ok("upgrade", &diff, &with_diff);
    ok("upgrade", &v11, &with_full);
    let files = snapshot(&with_diff);
    assert_eq!(files, snapshot(&with_full));
    assert!(files.keys().any(|f| f.ends_with("agent/images/airlock-edge.tar")), "{files:?}");
    assert!(files.keys().any(|f| f.ends_with("airlock-edge-20-chart-web.yaml")), "{files:?}");
    // And it rolls back like any upgrade.
    let after_10 = {
        let root = d.join("node-10");
        ok("install", &v10, &root);
        snapshot(&root)
    };
    let out =
        airlock.cmd().args(["rollback", "edge", "--k3s", "--root", with_diff.to_str().unwrap()]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(snapshot(&with_diff), after_10);

    // A node without 1.0: every missing blob is named, nothing is written.
    // Charts and values are carried even when unchanged, so they are not missing.
    let empty = d.join("node-empty");
    let out = k3s("install", &diff, &empty);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    for needle in [sha256_hex(&shared).as_str(), "file /usr/local/bin/tool", "edge 1.0.0"] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
    assert!(!err.contains("chart web") && !err.contains("values file"), "{err}");
    assert!(!empty.exists());

    // A stored copy that changed on the node is caught as it is read; nothing changes.
    let damaged = d.join("node-damaged");
    ok("install", &v10, &damaged);
    let before = snapshot(&damaged);
    let tool = format!("sha256:{}", sha256_hex(b"#!/bin/sh\necho tool\n"));
    let object = damaged.join("var/lib/airlock/edge/objects").join(&tool["sha256:".len()..]);
    // A new file in its place: the stored copy is hard-linked to the installed one.
    std::fs::remove_file(&object).unwrap();
    std::fs::write(&object, "#!/bin/sh\necho changed\n").unwrap();
    let out = k3s("upgrade", &diff, &damaged);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains(&format!("should hold {tool}")), "{err}");
    assert_eq!(snapshot(&damaged), before);

    // The same for a layer read from the images tarball the node kept (the
    // tarball writer leaves that check to the node reader).
    let damaged = d.join("node-damaged-layer");
    ok("install", &v10, &damaged);
    let layer = format!("sha256:{}", sha256_hex(&shared));
    let entry = format!("blobs/sha256/{}", sha256_hex(&shared));
    let mut flipped = 0;
    for object in std::fs::read_dir(damaged.join("var/lib/airlock/edge/objects")).unwrap() {
        let object = object.unwrap().path();
        let Ok(mut archive) = std::fs::File::open(&object).map(tar::Archive::new) else { continue };
        let Ok(entries) = archive.entries() else { continue };
        let at = entries
            .flatten()
            .find(|e| e.path().is_ok_and(|p| p.to_str() == Some(entry.as_str())))
            .map(|e| e.raw_file_position() + e.size() / 2);
        if let Some(at) = at {
            let mut bytes = std::fs::read(&object).unwrap();
            bytes[at as usize] ^= 0xff;
            std::fs::write(&object, bytes).unwrap();
            flipped += 1;
        }
    }
    assert_eq!(flipped, 1, "the node keeps the shared layer in one stored images tarball");
    let before = snapshot(&damaged);
    let out = k3s("upgrade", &diff, &damaged);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains(&format!("should hold {layer}")), "{err}");
    assert!(err.contains("upgrade with the full bundle"), "{err}");
    assert_eq!(snapshot(&damaged), before);
}

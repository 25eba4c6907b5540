//! `install --k3s --root DIR`: the files K3s's air-gap contract expects,
//! checked against helm-controller's own HelmChart CRD, the images tarball
//! imported by a real containerd, idempotence, and refusals that write
//! nothing.

use crate::support::*;
use std::path::{Path, PathBuf};

const MANIFESTS: &str = "var/lib/rancher/k3s/server/manifests";

struct Node {
    dir: tempfile::TempDir,
    airlock: Airlock,
    bundle: PathBuf,
    public: PathBuf,
}

fn node_bundle() -> Node {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    demo_image(&d.join("hello"));
    std::fs::create_dir_all(d.join("chart/templates")).unwrap();
    std::fs::write(d.join("chart/Chart.yaml"), "apiVersion: v2\nname: web\nversion: 0.2.0\n").unwrap();
    std::fs::write(d.join("chart/values.yaml"), "replicas: 1\nimage: {tag: a}\n").unwrap();
    std::fs::write(d.join("chart/templates/cm.yaml"), "kind: ConfigMap\n").unwrap();
    std::fs::write(d.join("site.yaml"), "image: {tag: b, pullPolicy: Never}\nreplicas: 2\n").unwrap();
    std::fs::write(d.join("crd.yaml"), "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n")
        .unwrap();
    std::fs::write(d.join("ns.yaml"), "apiVersion: v1\nkind: Namespace\nmetadata: {name: web}\n").unwrap();
    std::fs::write(d.join("k3s"), "#!/bin/sh\necho placeholder k3s\n").unwrap();
    let spec = write_spec(
        d,
        "components:\n  - name: app\n    images: [\"oci-layout:./hello:1.0.0\"]\n    charts: [{name: web, path: ./chart, namespace: web, valuesFiles: [site.yaml], values: {replicas: 3}}]\n    crds: [crd.yaml]\n    manifests: [ns.yaml]\n    files: [{source: k3s, target: /usr/local/bin/k3s, mode: \"0755\"}]\n  - name: extras\n    required: false\n    files: [{source: ns.yaml, target: /etc/extra.yaml}]\n",
    );
    let airlock = Airlock::new();
    let bundle = d.join("node.airlock");
    let public = airlock.create_signed(&spec, &bundle);
    Node { dir, airlock, bundle, public }
}

fn install(n: &Node, root: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "install",
        n.bundle.to_str().unwrap(),
        "--k3s",
        "--root",
        root.to_str().unwrap(),
        "--platform",
        "linux/amd64",
    ];
    args.extend_from_slice(extra);
    n.airlock.run(&args)
}

fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(entries) = std::fs::read_dir(&d) {
            for e in entries.flatten() {
                if e.path().is_dir() {
                    stack.push(e.path());
                } else {
                    out.push(e.path());
                }
            }
        }
    }
    out.sort();
    out
}

#[test]
fn install_lays_down_what_k3s_expects() {
    let n = node_bundle();
    let root = n.dir.path().join("node");
    let out = install(&n, &root, &["--key", n.public.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Files, with their modes.
    use std::os::unix::fs::PermissionsExt;
    let k3s = root.join("usr/local/bin/k3s");
    assert_eq!(std::fs::read_to_string(&k3s).unwrap(), "#!/bin/sh\necho placeholder k3s\n");
    assert_eq!(std::fs::metadata(&k3s).unwrap().permissions().mode() & 0o7777, 0o755);
    assert!(root.join("etc/extra.yaml").exists(), "optional component installed by default");

    // CRDs sort before manifests, which sort before charts.
    let mut manifests: Vec<String> = std::fs::read_dir(root.join(MANIFESTS))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    manifests.sort();
    assert_eq!(
        manifests,
        ["airlock-test-00-crds-app-0.yaml", "airlock-test-10-app-0.yaml", "airlock-test-20-chart-web.yaml"]
    );

    // The HelmChart: only fields helm-controller's CRD defines; chartContent
    // decodes to the bundled chart archive byte for byte; values merged.
    let text = std::fs::read_to_string(root.join(MANIFESTS).join("airlock-test-20-chart-web.yaml")).unwrap();
    let chart: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(chart["apiVersion"], "helm.cattle.io/v1");
    assert_eq!(chart["kind"], "HelmChart");
    let crd_text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/testdata/real/k3s/helm-controller/crds/helm.cattle.io_helmcharts.yaml"),
    );
    if let Ok(crd_text) = crd_text {
        let crd: serde_json::Value = serde_saphyr::from_str(&crd_text).unwrap();
        let props = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
        for (key, value) in chart["spec"].as_object().unwrap() {
            let schema = &props[key];
            assert!(!schema.is_null(), "spec.{key} is not in the HelmChart CRD");
            let expected = schema["type"].as_str().unwrap();
            let actual = if value.is_string() {
                "string"
            } else if value.is_boolean() {
                "boolean"
            } else {
                "other"
            };
            assert_eq!(expected, actual, "spec.{key}");
        }
    } else {
        assert!(std::env::var_os("CI").is_none(), "shared/testdata is missing");
    }
    use base64::Engine;
    let archive =
        base64::engine::general_purpose::STANDARD.decode(chart["spec"]["chartContent"].as_str().unwrap()).unwrap();
    let v = n.airlock.inspect(&n.bundle);
    assert_eq!(
        format!("sha256:{}", sha256_hex(&archive)),
        v["components"][0]["charts"][0]["archiveDigest"].as_str().unwrap()
    );
    assert_eq!(chart["spec"]["targetNamespace"], "web");
    assert_eq!(chart["spec"]["createNamespace"], true);
    let values: serde_json::Value = serde_saphyr::from_str(chart["spec"]["valuesContent"].as_str().unwrap()).unwrap();
    assert_eq!(values, serde_json::json!({"image": {"tag": "b", "pullPolicy": "Never"}, "replicas": 3}));

    // Installing again changes nothing; one revision is recorded.
    let before: Vec<(PathBuf, std::time::SystemTime)> = files_under(&root)
        .into_iter()
        .map(|p| (p.clone(), std::fs::metadata(&p).unwrap().modified().unwrap()))
        .collect();
    let out = install(&n, &root, &["--key", n.public.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 changed"), "{}", String::from_utf8_lossy(&out.stdout));
    let after: Vec<(PathBuf, std::time::SystemTime)> = files_under(&root)
        .into_iter()
        .map(|p| (p.clone(), std::fs::metadata(&p).unwrap().modified().unwrap()))
        .collect();
    assert_eq!(before, after);
    let history = n.airlock.ok(&["history", "test", "--k3s", "--root", root.to_str().unwrap()]);
    assert_eq!(history.lines().count(), 1, "{history}");

    // The site's values, keyed by chart name, go over the bundle's in
    // valuesContent, as K3s's Helm takes them.
    let chart_name = v["components"][0]["charts"][0]["name"].as_str().unwrap().to_string();
    let (replicas, tag) = (format!("{chart_name}.replicas=5"), format!("{chart_name}.image.tag=0755"));
    let key = ["--key", n.public.to_str().unwrap()];
    let out = install(&n, &root, &[&key[..], &["--set", &replicas, "--set-string", &tag]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let chart: serde_json::Value = serde_saphyr::from_str(
        &std::fs::read_to_string(root.join(MANIFESTS).join(format!("airlock-test-20-chart-{chart_name}.yaml")))
            .unwrap(),
    )
    .unwrap();
    let values: serde_json::Value = serde_saphyr::from_str(chart["spec"]["valuesContent"].as_str().unwrap()).unwrap();
    assert_eq!(values, serde_json::json!({"image": {"tag": "0755", "pullPolicy": "Never"}, "replicas": 5}));
    let out = install(&n, &root, &[&key[..], &["--set", "nochart.replicas=5"]].concat());
    assert_eq!(out.status.code(), Some(USAGE), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("its charts: {chart_name}")));

    // The images tarball is what containerd imports under the original names.
    if missing_tool("containerd") || missing_tool("ctr") {
        return;
    }
    let containerd = Containerd::start();
    let tarball = root.join("var/lib/rancher/k3s/agent/images/airlock-test.tar");
    let out = containerd.ctr(&["-n", "k8s.io", "images", "import", tarball.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = containerd.ctr(&["-n", "k8s.io", "images", "ls", "-q"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "localhost/hello:1.0.0");
    if Path::new("/bin/busybox").exists() {
        let out =
            containerd.ctr(&["-n", "k8s.io", "run", "--rm", "localhost/hello:1.0.0", "airlock-node-test", "/hello"]);
        assert!(out.status.success(), "ctr run: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "hello from the airlock demo image");
    }
}

#[test]
fn refused_installs_write_nothing() {
    let n = node_bundle();
    let root = n.dir.path().join("node");
    // No trusted key.
    let out = install(&n, &root, &[]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("no trusted key"));
    // Wrong architecture.
    let out = n.airlock.run(&[
        "install",
        n.bundle.to_str().unwrap(),
        "--k3s",
        "--root",
        root.to_str().unwrap(),
        "--platform",
        "linux/arm64",
        "--key",
        n.public.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("linux/arm64") && err.contains("localhost/hello:1.0.0"), "{err}");
    // A corrupt bundle.
    let mut archive = tar::Archive::new(std::fs::File::open(&n.bundle).unwrap());
    let (offset, size) = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().unwrap().starts_with("blobs"))
        .map(|e| (e.raw_file_position(), e.size()))
        .max_by_key(|(_, size)| *size)
        .unwrap();
    let mut bytes = std::fs::read(&n.bundle).unwrap();
    bytes[(offset + size / 2) as usize] ^= 0x55;
    let corrupt = n.dir.path().join("corrupt.airlock");
    std::fs::write(&corrupt, &bytes).unwrap();
    let out = n.airlock.run(&[
        "install",
        corrupt.to_str().unwrap(),
        "--k3s",
        "--root",
        root.to_str().unwrap(),
        "--key",
        n.public.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("nothing was installed"), "{err}");
    // A required component cannot be skipped.
    let out = install(&n, &root, &["--key", n.public.to_str().unwrap(), "--skip", "app"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("required"));
    assert!(files_under(&root).is_empty(), "refused installs wrote {:?}", files_under(&root));
    // Skipping the optional component leaves its file out.
    let out = install(&n, &root, &["--key", n.public.to_str().unwrap(), "--skip", "extras"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!root.join("etc/extra.yaml").exists());
}

/// Air-gap proof: the whole install runs in a network namespace that has
/// only a loopback interface.
#[test]
fn install_runs_inside_an_air_gap() {
    if missing_tool("unshare") || missing_tool("ip") {
        return;
    }
    if !std::process::Command::new("unshare").args(["-n", "true"]).status().is_ok_and(|s| s.success()) {
        assert!(std::env::var_os("CI").is_none(), "unshare -n is not permitted");
        return;
    }
    let n = node_bundle();
    let root = n.dir.path().join("node");
    let script = format!(
        "[ \"$(ip -o link show | grep -vc ' lo:')\" = 0 ] || exit 90\n{} install {} --k3s --root {} --platform linux/amd64 --key {}\n",
        env!("CARGO_BIN_EXE_airlock"),
        n.bundle.display(),
        root.display(),
        n.public.display()
    );
    let out = std::process::Command::new("unshare")
        .args(["-n", "bash", "-c", &script])
        .env("HOME", n.airlock.home.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(root.join("var/lib/rancher/k3s/agent/images/airlock-test.tar").exists());
    assert!(root.join("usr/local/bin/k3s").exists());
}

/// A bundle carrying k3s and charts needs K3s's helm job image to install
/// the charts offline: create warns until the bundle has it.
#[test]
fn create_warns_when_the_helm_job_image_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut layout = LayoutBuilder::new(&d.join("img"));
    let image = layout.image("amd64", &[layer(&[("helm", b"helm job", 0o755)])]);
    layout.tag(&image, "docker.io/rancher/klipper-helm:v0.9.3-build20241008");
    std::fs::create_dir_all(d.join("chart/templates")).unwrap();
    std::fs::write(d.join("chart/Chart.yaml"), "apiVersion: v2\nname: web\nversion: 0.2.0\n").unwrap();
    std::fs::write(d.join("chart/templates/cm.yaml"), "kind: ConfigMap\n").unwrap();
    std::fs::write(d.join("k3s"), "placeholder\n").unwrap();
    let airlock = Airlock::new();
    for (images, warned) in
        [("[]", true), ("[\"oci-layout:./img:docker.io/rancher/klipper-helm:v0.9.3-build20241008\"]", false)]
    {
        let spec = write_spec(
            d,
            &format!("components:\n  - name: app\n    images: {images}\n    charts: [{{name: web, path: ./chart}}]\n    files: [{{source: k3s, target: /usr/local/bin/k3s, mode: \"0755\"}}]\n"),
        );
        let out = airlock.run(&["create", spec.to_str().unwrap(), "-o", d.join("b.airlock").to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert_eq!(err.contains("rancher/klipper-helm"), warned, "{err}");
    }
}

/// `--run-installer` runs the bundled K3s install script the air-gap way,
/// into the root; a failing script is reported with what to rerun.
#[test]
fn run_installer_runs_the_bundled_script_offline() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("k3s"), "placeholder\n").unwrap();
    std::fs::write(
        d.join("install.sh"),
        "#!/bin/sh\n[ -x \"$INSTALL_K3S_BIN_DIR/k3s\" ] || exit 3\necho \"skip-download=$INSTALL_K3S_SKIP_DOWNLOAD skip-start=$INSTALL_K3S_SKIP_START\" > \"$INSTALL_K3S_BIN_DIR/installer.log\"\n[ -z \"$FAIL\" ] || exit 7\n",
    )
    .unwrap();
    let spec = write_spec(
        d,
        "components:\n  - name: k3s\n    files:\n      - {source: k3s, target: /usr/local/bin/k3s, mode: \"0755\"}\n      - {source: install.sh, target: /usr/local/bin/k3s-install.sh, mode: \"0755\"}\n",
    );
    let airlock = Airlock::new();
    let bundle = d.join("k3s.airlock");
    airlock.ok(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()]);
    let root = d.join("node");
    let args = ["install", bundle.to_str().unwrap(), "--k3s", "--root", root.to_str().unwrap(), "--allow-unsigned"];
    airlock.ok(&[&args[..], &["--run-installer"]].concat());
    assert_eq!(
        std::fs::read_to_string(root.join("usr/local/bin/installer.log")).unwrap(),
        "skip-download=true skip-start=true\n"
    );
    let out = airlock.cmd().args(args).arg("--run-installer").env("FAIL", "1").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("exit status: 7") && err.contains("INSTALL_K3S_SKIP_DOWNLOAD=true sh"),
        "{err}"
    );

    // A bundle without a script: refused before anything is written.
    let spec = write_spec(d, "components:\n  - name: k3s\n    files: [{source: k3s, target: /usr/local/bin/k3s}]\n");
    let bare = d.join("bare.airlock");
    airlock.ok(&["create", spec.to_str().unwrap(), "-o", bare.to_str().unwrap()]);
    let empty = d.join("empty");
    let err = airlock.fails(&[
        "install",
        bare.to_str().unwrap(),
        "--k3s",
        "--root",
        empty.to_str().unwrap(),
        "--allow-unsigned",
        "--run-installer",
    ]);
    assert!(err.contains("no K3s install script"), "{err}");
    assert!(!empty.exists());

    // A relative --root is taken from the working directory.
    let out = airlock
        .cmd()
        .current_dir(d)
        .args(["install", "bare.airlock", "--k3s", "--root", "relative-node", "--allow-unsigned"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(d.join("relative-node/usr/local/bin/k3s").is_file());
}

/// A node without room, or with a read-only filesystem, is refused before
/// anything is written. Each case mounts a small tmpfs inside its own mount
/// namespace (`unshare -m`), so nothing outside the test sees it.
#[test]
fn full_or_read_only_disks_are_refused_before_writing() {
    if missing_tool("unshare")
        || !std::process::Command::new("unshare").args(["-m", "true"]).status().is_ok_and(|s| s.success())
    {
        assert!(std::env::var_os("CI").is_none(), "unshare -m is not permitted");
        return;
    }
    let n = node_bundle();
    let mnt = n.dir.path().join("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    for (options, expected) in [("size=2m", "not enough disk space"), ("size=64m,ro", "cannot write under")] {
        let script = format!(
            "mount -t tmpfs -o {options} tmpfs {mnt} || exit 90\n{bin} install {bundle} --k3s --root {mnt}/node --platform linux/amd64 --key {key}\nstatus=$?\necho \"files: $(find {mnt} -type f | wc -l)\"\nexit $status\n",
            mnt = mnt.display(),
            bin = env!("CARGO_BIN_EXE_airlock"),
            bundle = n.bundle.display(),
            key = n.public.display(),
        );
        let out = std::process::Command::new("unshare")
            .args(["-m", "bash", "-c", &script])
            .env("HOME", n.airlock.home.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(90), "{err}");
        assert!(!out.status.success() && err.contains(expected), "{options}: {err}");
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "files: 0", "{options}: {err}");
    }
}

/// On a K3s node, which renders the charts itself, an image that only the
/// site's values make a chart run, and that the bundle does not carry, is
/// refused before anything is written, naming the chart, image and value;
/// preflight checks that cannot run (no cluster on the node yet) are said.
#[test]
fn an_image_the_site_switches_on_must_be_carried() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    demo_image(&d.join("hello"));
    std::fs::create_dir_all(d.join("chart/templates")).unwrap();
    std::fs::write(d.join("chart/Chart.yaml"), "apiVersion: v2\nname: web\nversion: 0.1.0\n").unwrap();
    std::fs::write(
        d.join("chart/templates/pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec: {containers: [{name: web, image: {{ .Values.image | default \"localhost/hello:1.0.0\" | quote }}}]}\n",
    )
    .unwrap();
    let spec = write_spec(
        d,
        "components:\n  - name: app\n    images: [\"oci-layout:./hello:1.0.0\"]\n    charts: [{name: web, path: ./chart, images: explicit}]\npreflight: [{kubeVersion: \">=1.20\", strict: true}]\n",
    );
    let airlock = Airlock::new();
    let bundle = d.join("web.airlock");
    airlock.ok(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()]);
    let root = d.join("root");
    let install = |extra: &[&str]| {
        let mut args = vec!["install", bundle.to_str().unwrap(), "--k3s", "--root", root.to_str().unwrap()];
        args.extend(["--platform", "linux/amd64", "--allow-unsigned"]);
        args.extend_from_slice(extra);
        airlock.run(&args)
    };
    let out = install(&["--set", "web.image=redis:7.2"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(USAGE), "{err}");
    assert!(
        err.contains("chart web would run image redis:7.2, which the bundle does not carry")
            && err.contains("asked for by image in the site's values"),
        "{err}"
    );
    assert!(!root.join("var/lib/rancher").exists(), "nothing written");
    // The image the bundle carries, named by a site value: installed. The
    // node has no cluster yet, so its preflight checks cannot run: said.
    let out = install(&["--set", "web.image=localhost/hello:1.0.0"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("preflight checks were not run: the node has no cluster yet"), "{err}");
}

/// A node records what the site gave each revision (its values and
/// environment), as a cluster does: installing or upgrading again without
/// values keeps them; `--reset-values` drops them; `history --values`
/// shows them.
#[test]
fn a_node_keeps_the_values_the_site_gave() {
    let n = node_bundle();
    let root = n.dir.path().join("node");
    let values_content = || {
        let text = std::fs::read_to_string(root.join(MANIFESTS).join("airlock-test-20-chart-web.yaml")).unwrap();
        let chart: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        serde_saphyr::from_str::<serde_json::Value>(chart["spec"]["valuesContent"].as_str().unwrap()).unwrap()
    };
    let ok = |extra: &[&str]| {
        let out = install(&n, &root, &[&["--key", n.public.to_str().unwrap()], extra].concat());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    ok(&["--set", "web.owner=site"]);
    assert_eq!(values_content()["owner"], "site");
    let shown = n.airlock.ok(&["history", "test", "--k3s", "--root", root.to_str().unwrap(), "--values", "1"]);
    assert!(shown.contains("owner: site"), "{shown}");
    // The same bundle again, nothing given: kept, so nothing changes.
    ok(&[]);
    assert_eq!(values_content()["owner"], "site");
    let history = n.airlock.ok(&["history", "test", "--k3s", "--root", root.to_str().unwrap()]);
    assert_eq!(history.lines().count(), 1, "{history}");
    // --reset-values: the bundle's own again, as a new revision.
    ok(&["--reset-values"]);
    assert_eq!(values_content().get("owner"), None);
    let history = n.airlock.ok(&["history", "test", "--k3s", "--root", root.to_str().unwrap()]);
    assert_eq!(history.lines().count(), 2, "{history}");
}

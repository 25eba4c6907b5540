//! Charts from a classic Helm repository (served by a real HTTP server on a
//! loopback port) and from an OCI registry (a real docker-registry).

use crate::support::*;
use std::process::Command;

fn chart_tgz(name: &str, version: &str) -> Vec<u8> {
    let chart_yaml = format!("apiVersion: v2\nname: {name}\nversion: {version}\n");
    layer(&[
        (&format!("{name}/Chart.yaml"), chart_yaml.as_bytes(), 0o644),
        (&format!("{name}/values.yaml"), b"replicas: 1\n", 0o644),
        (&format!("{name}/templates/cm.yaml"), b"kind: ConfigMap\n", 0o644),
    ])
}

#[test]
fn chart_from_helm_repository_is_pinned_and_checked() {
    let repo = tempfile::tempdir().unwrap();
    let tgz = chart_tgz("redis", "23.1.1");
    std::fs::create_dir_all(repo.path().join("charts")).unwrap();
    std::fs::write(repo.path().join("charts/redis-23.1.1.tgz"), &tgz).unwrap();
    let index = |digest: &str| {
        format!(
            "apiVersion: v1\nentries:\n  redis:\n    - version: 23.1.1\n      urls: [charts/redis-23.1.1.tgz]\n      digest: {digest}\n    - version: 22.0.0\n      urls: [charts/redis-22.0.0.tgz]\n"
        )
    };
    std::fs::write(repo.path().join("index.yaml"), index(&sha256_hex(&tgz))).unwrap();
    let server = HttpServer::serve_dir(repo.path());

    let work = tempfile::tempdir().unwrap();
    let spec = write_spec(
        work.path(),
        &format!("components:\n  - name: a\n    charts:\n      - {{name: cache, chart: redis, repo: {}, version: 23.1.1, namespace: data}}\n", server.url),
    );
    let airlock = Airlock::new();
    let bundle = work.path().join("r.airlock");
    airlock.ok(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()]);
    airlock.ok(&["verify", bundle.to_str().unwrap(), "--allow-unsigned"]);
    let v: serde_json::Value =
        serde_json::from_str(&airlock.ok(&["inspect", bundle.to_str().unwrap(), "--json"])).unwrap();
    let chart = &v["components"][0]["charts"][0];
    assert_eq!(chart["name"], "cache");
    assert_eq!(chart["chartName"], "redis");
    assert_eq!(chart["version"], "23.1.1");
    // The archive is carried byte for byte.
    assert_eq!(chart["archiveDigest"].as_str().unwrap(), format!("sha256:{}", sha256_hex(&tgz)));

    // A version the repository lacks: names what it has.
    let bad = std::fs::read_to_string(&spec).unwrap().replace("23.1.1", "9.9.9");
    std::fs::write(&spec, bad).unwrap();
    let err = airlock.fails(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()]);
    assert!(err.contains("airlock.yaml:7:") && err.contains("9.9.9") && err.contains("23.1.1, 22.0.0"), "{err}");

    // An archive that does not match the index digest is refused.
    let spec_text = std::fs::read_to_string(&spec).unwrap().replace("9.9.9", "23.1.1");
    std::fs::write(&spec, spec_text).unwrap();
    std::fs::write(repo.path().join("index.yaml"), index(&"0".repeat(64))).unwrap();
    let err = Airlock::new().fails(&[
        "create",
        spec.to_str().unwrap(),
        "-o",
        work.path().join("x.airlock").to_str().unwrap(),
    ]);
    assert!(err.contains("does not match the digest"), "{err}");
}

/// A chart repository server that logs who asked for what, and with
/// `login` ("user:password") refuses requests without it.
fn serve_repo(dir: &std::path::Path, log: &std::path::Path, login: Option<&str>) -> HttpServer {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/chart_repo_server.py");
    let mut command = Command::new("python3");
    command.arg(script).arg(dir).arg("0").arg(log).args(login);
    HttpServer::start(command)
}

#[test]
fn chart_repository_with_a_login() {
    let work = tempfile::tempdir().unwrap();
    // The repository needs a login; one of its charts lives on another,
    // open host (as archives on a CDN do).
    let (repo_dir, cdn_dir) = (work.path().join("repo"), work.path().join("cdn"));
    std::fs::create_dir_all(repo_dir.join("charts")).unwrap();
    std::fs::create_dir_all(&cdn_dir).unwrap();
    let (secure, elsewhere) = (chart_tgz("secure", "1.0.0"), chart_tgz("elsewhere", "2.0.0"));
    std::fs::write(repo_dir.join("charts/secure-1.0.0.tgz"), &secure).unwrap();
    std::fs::write(cdn_dir.join("elsewhere-2.0.0.tgz"), &elsewhere).unwrap();
    let (repo_log, cdn_log) = (work.path().join("repo.log"), work.path().join("cdn.log"));
    let cdn = serve_repo(&cdn_dir, &cdn_log, None);
    let repo = serve_repo(&repo_dir, &repo_log, Some("builder:s3cret"));
    std::fs::write(
        repo_dir.join("index.yaml"),
        format!(
            "apiVersion: v1\nentries:\n  secure:\n    - {{version: 1.0.0, urls: [charts/secure-1.0.0.tgz], digest: {}}}\n  elsewhere:\n    - {{version: 2.0.0, urls: ['{}/elsewhere-2.0.0.tgz'], digest: {}}}\n",
            sha256_hex(&secure),
            cdn.url,
            sha256_hex(&elsewhere)
        ),
    )
    .unwrap();
    let spec = write_spec(
        work.path(),
        &format!(
            "components:\n  - name: a\n    charts:\n      - {{name: secure, repo: {0}, version: 1.0.0}}\n      - {{name: elsewhere, repo: {0}, version: 2.0.0}}\n",
            repo.url
        ),
    );
    let airlock = Airlock::new();
    let bundle = work.path().join("s.airlock");
    let create = |airlock: &Airlock, extra: &[&str]| {
        let mut args = vec!["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()];
        args.extend_from_slice(extra);
        airlock.run(&args)
    };
    let stderr = |out: std::process::Output| {
        assert!(!out.status.success());
        String::from_utf8(out.stderr).unwrap()
    };
    let clear_logs = || {
        let _ = std::fs::remove_file(&repo_log);
        let _ = std::fs::remove_file(&cdn_log);
    };
    let log = |path: &std::path::Path| std::fs::read_to_string(path).unwrap_or_default();

    // No credentials: one error that says how to give them.
    let err = stderr(create(&airlock, &[]));
    assert!(
        err.contains(&format!("chart repository {} refused {}/index.yaml (HTTP 401)", repo.url, repo.url))
            && err.contains("helm repo add NAME")
            && err.contains("--registry-config"),
        "{err}"
    );
    assert!(!bundle.exists());

    // As `helm repo add --username` leaves them: sent to the repository's
    // own origin only, not to the archive host.
    let helm_dir = airlock.cache_dir().parent().unwrap().join(".config/helm");
    std::fs::create_dir_all(&helm_dir).unwrap();
    let helm_repos = |password: &str, pass_all: bool| {
        std::fs::write(
            helm_dir.join("repositories.yaml"),
            format!(
                "apiVersion: \"\"\ngenerated: \"0001-01-01T00:00:00Z\"\nrepositories:\n- caFile: \"\"\n  certFile: \"\"\n  insecure_skip_tls_verify: false\n  keyFile: \"\"\n  name: private\n  pass_credentials_all: {pass_all}\n  password: {password}\n  url: {}/\n  username: builder\n",
                repo.url
            ),
        )
        .unwrap()
    };
    helm_repos("s3cret", false);
    clear_logs();
    assert!(create(&airlock, &[]).status.success());
    assert!(
        log(&repo_log).lines().all(|l| l.ends_with(" builder")) && log(&repo_log).contains("/charts/secure-1.0.0.tgz")
    );
    assert_eq!(log(&cdn_log), "/elsewhere-2.0.0.tgz -\n");
    let v = airlock.inspect(&bundle);
    assert_eq!(v["components"][0]["charts"][0]["archiveDigest"], format!("sha256:{}", sha256_hex(&secure)));
    assert_eq!(v["components"][0]["charts"][1]["archiveDigest"], format!("sha256:{}", sha256_hex(&elsewhere)));

    // pass_credentials_all sends them to the archive host too.
    helm_repos("s3cret", true);
    clear_logs();
    assert!(create(&airlock, &[]).status.success());
    assert_eq!(log(&cdn_log), "/elsewhere-2.0.0.tgz builder\n");

    // A wrong password names the file it came from.
    helm_repos("wrong", false);
    let err = stderr(create(&airlock, &[]));
    assert!(
        err.contains("HTTP 401")
            && err
                .contains(&format!("check the credentials for it in {}", helm_dir.join("repositories.yaml").display())),
        "{err}"
    );

    // --registry-config, by host, wins over Helm's file.
    let host = repo.url.trim_start_matches("http://");
    let config = work.path().join("registries.yaml");
    std::fs::write(
        &config,
        format!("registries:\n  '{host}':\n    username: builder\n    passwordEnv: CHART_PASSWORD\n"),
    )
    .unwrap();
    let out = airlock
        .cmd()
        .args([
            "create",
            spec.to_str().unwrap(),
            "-o",
            bundle.to_str().unwrap(),
            "--registry-config",
            config.to_str().unwrap(),
        ])
        .env("CHART_PASSWORD", "s3cret")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn chart_from_oci_registry_keeps_its_manifest_digest() {
    if missing_tool("docker-registry") || missing_tool("skopeo") {
        return;
    }
    let registry = Registry::plain();
    let dir = tempfile::tempdir().unwrap();
    let tgz = chart_tgz("cnpg", "0.29.0");
    let built = push_chart_archive(&registry, &tgz, "cnpg", "0.29.0", "charts/cnpg:0.29.0", dir.path());

    let work = tempfile::tempdir().unwrap();
    let spec = write_spec(
        work.path(),
        &format!("components:\n  - name: a\n    charts:\n      - {{name: cnpg, oci: oci://{}/charts/cnpg, version: 0.29.0}}\n", registry.host),
    );
    let airlock = Airlock::new();
    let bundle = work.path().join("c.airlock");
    airlock.ok(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap(), "--plain-http"]);
    airlock.ok(&["verify", bundle.to_str().unwrap(), "--allow-unsigned"]);
    let v: serde_json::Value =
        serde_json::from_str(&airlock.ok(&["inspect", bundle.to_str().unwrap(), "--json"])).unwrap();
    let chart = &v["components"][0]["charts"][0];
    assert_eq!(chart["digest"].as_str().unwrap(), built.digest);
    assert_eq!(chart["archiveDigest"].as_str().unwrap(), format!("sha256:{}", sha256_hex(&tgz)));
}

/// A chart whose pod templates run two images from the registry, one set
/// by values and one fixed in a CronJob's initContainers.
fn chart_running_images(dir: &std::path::Path) {
    let templates = dir.join("templates");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(dir.join("Chart.yaml"), "apiVersion: v2\nname: runner\nversion: 0.1.0\n").unwrap();
    std::fs::write(dir.join("values.yaml"), "image: unset/app:0\nregistry: unset\n").unwrap();
    std::fs::write(
        templates.join("deploy.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: {{ .Release.Name }}}\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: {{ .Values.image | quote }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: not-an-image}\ndata: {image: \"ignored/by-discovery:1\"}\n---\napiVersion: example.com/v1\nkind: Agent\nmetadata: {name: agent}\nspec: {flavour: \"ignored:2\", sidecar: {baseImage: '{{ .Values.registry }}/ops/agent:1.0.0'}}\n",
    )
    .unwrap();
    std::fs::write(
        templates.join("cron.yaml"),
        "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: job}\nspec:\n  schedule: '@daily'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          initContainers: [{name: init, image: '{{ .Values.registry }}/tools/init:1.0.0'}]\n          containers: [{name: app, image: {{ .Values.image | quote }}}]\n",
    )
    .unwrap();
}

#[test]
fn create_bundles_the_images_a_chart_runs() {
    if missing_tool("docker-registry") || missing_tool("skopeo") {
        return;
    }
    let registry = Registry::plain();
    let dir = tempfile::tempdir().unwrap();
    crate::support::demo_image(&dir.path().join("hello"));
    registry.push_layout(&dir.path().join("hello"), "1.0.0", "apps/web:1.0.0");
    registry.push_layout(&dir.path().join("hello"), "1.0.0", "tools/init:1.0.0");
    registry.push_layout(&dir.path().join("hello"), "1.0.0", "ops/agent:1.0.0");
    chart_running_images(&dir.path().join("runner"));

    let airlock = Airlock::new();
    let chart_entry = |extra: &str| {
        format!(
            "components:\n  - name: a\n    charts:\n      - name: web\n        path: {}\n        values: {{image: '{host}/apps/web:1.0.0', registry: '{host}'}}\n{extra}",
            dir.path().join("runner").display(),
            host = registry.host
        )
    };
    let spec = write_spec(dir.path(), &chart_entry(""));
    let bundle = dir.path().join("d.airlock");
    airlock.ok(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap(), "--plain-http"]);
    let v: serde_json::Value =
        serde_json::from_str(&airlock.ok(&["inspect", bundle.to_str().unwrap(), "--json"])).unwrap();
    let images = v["components"][0]["images"].as_array().unwrap();
    let mut found: Vec<(String, Vec<String>)> = images
        .iter()
        .map(|i| {
            let charts = i["charts"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
            (i["reference"].as_str().unwrap().to_string(), charts)
        })
        .collect();
    found.sort();
    let web = vec!["web".to_string()];
    assert_eq!(
        found,
        vec![
            (format!("{}/apps/web:1.0.0", registry.host), web.clone()),
            // An operator's custom resource names it in an image field.
            (format!("{}/ops/agent:1.0.0", registry.host), web.clone()),
            (format!("{}/tools/init:1.0.0", registry.host), web.clone()),
        ]
    );
    let human = airlock.ok(&["inspect", bundle.to_str().unwrap()]);
    assert!(human.contains("(run by chart web)"), "{human}");
    airlock.ok(&["verify", bundle.to_str().unwrap(), "--allow-unsigned"]);

    // `images: explicit`: only what the spec lists.
    let spec = write_spec(dir.path(), &chart_entry("        images: explicit\n"));
    airlock.ok(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap(), "--plain-http"]);
    let v: serde_json::Value =
        serde_json::from_str(&airlock.ok(&["inspect", bundle.to_str().unwrap(), "--json"])).unwrap();
    assert_eq!(v["components"][0]["images"].as_array().map(Vec::len), Some(0));

    // A chart that cannot render stops create, naming the spec line and the way out.
    std::fs::write(
        dir.path().join("runner/templates/bad.yaml"),
        "{{ required \"set image.pullSecret\" .Values.nope }}\n",
    )
    .unwrap();
    let spec = write_spec(dir.path(), &chart_entry(""));
    let out = airlock.run(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap(), "--plain-http"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("airlock.yaml:") && err.contains("images: explicit") && err.contains("set image.pullSecret"),
        "{err}"
    );
}

/// `create` renders each chart with every environment's values too, so an
/// image only an environment switches on is bundled (said as run by the
/// chart in that environment); and objects of APIs Kubernetes removed
/// (a PodSecurityPolicy, in a chart and in a manifest) are warned of,
/// naming the file, the object and what replaces it.
#[test]
fn create_finds_environment_images_and_removed_apis() {
    if missing_tool("docker-registry") || missing_tool("skopeo") {
        return;
    }
    let registry = Registry::plain();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    crate::support::demo_image(&d.join("hello"));
    registry.push_layout(&d.join("hello"), "1.0.0", "apps/web:1.0.0");
    registry.push_layout(&d.join("hello"), "1.0.0", "ops/exporter:1.0.0");
    std::fs::create_dir_all(d.join("chart/templates")).unwrap();
    std::fs::write(d.join("chart/Chart.yaml"), "apiVersion: v2\nname: web\nversion: 0.1.0\n").unwrap();
    std::fs::write(d.join("chart/values.yaml"), "metrics: false\n").unwrap();
    std::fs::write(
        d.join("chart/templates/deploy.yaml"),
        format!("apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  template:\n    spec:\n      containers:\n        - {{name: app, image: {host}/apps/web:1.0.0}}\n        {{{{- if .Values.metrics }}}}\n        - {{name: metrics, image: {host}/ops/exporter:1.0.0}}\n        {{{{- end }}}}\n", host = registry.host),
    )
    .unwrap();
    let psp = "apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata: {name: old-psp}\nspec: {}\n";
    std::fs::write(d.join("chart/templates/psp.yaml"), psp).unwrap();
    std::fs::write(d.join("psp.yaml"), psp.replace("old-psp", "manifest-psp")).unwrap();
    let spec = write_spec(
        d,
        "components:\n  - name: a\n    charts: [{name: web, path: ./chart}]\n    manifests: [psp.yaml]\nenvironments:\n  dev: {}\n  prod: {charts: {web: {values: {metrics: true}}}}\n",
    );
    let bundle = d.join("e.airlock");
    let airlock = Airlock::new();
    let out = airlock.run(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap(), "--plain-http"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("chart web (web/templates/psp.yaml): PodSecurityPolicy old-psp: PodSecurityPolicy (policy/v1beta1) was removed in Kubernetes 1.25"),
        "{err}"
    );
    assert!(
        err.contains("psp.yaml: PodSecurityPolicy manifest-psp: PodSecurityPolicy (policy/v1beta1) was removed"),
        "{err}"
    );
    assert!(err.contains("pod-security.kubernetes.io/enforce"), "{err}");
    let v: serde_json::Value =
        serde_json::from_str(&airlock.ok(&["inspect", bundle.to_str().unwrap(), "--json"])).unwrap();
    let mut references: Vec<&str> =
        v["components"][0]["images"].as_array().unwrap().iter().map(|i| i["reference"].as_str().unwrap()).collect();
    references.sort();
    assert_eq!(
        references,
        [format!("{}/apps/web:1.0.0", registry.host), format!("{}/ops/exporter:1.0.0", registry.host)]
    );
}

/// Pushes a chart archive to `registry` as a Helm OCI artifact at
/// `repo_tag`, laid out by hand and copied with skopeo.
fn push_chart_archive(
    registry: &Registry,
    tgz: &[u8],
    name: &str,
    version: &str,
    repo_tag: &str,
    work: &std::path::Path,
) -> Built {
    let mut layout = LayoutBuilder::new(&work.join(format!("layout-{name}-{version}")));
    let mut config = layout.blob(format!(r#"{{"name":"{name}","version":"{version}","apiVersion":"v2"}}"#).as_bytes());
    config["mediaType"] = "application/vnd.cncf.helm.config.v1+json".into();
    let mut content = layout.blob(tgz);
    content["mediaType"] = "application/vnd.cncf.helm.chart.content.v1.tar+gzip".into();
    let manifest = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": config, "layers": [content]});
    let bytes = serde_json::to_vec(&manifest).unwrap();
    let d = layout.blob(&bytes);
    let built = Built { digest: d["digest"].as_str().unwrap().to_string(), bytes };
    layout.tag(&built, version);
    registry.push_layout(&layout.dir, version, repo_tag);
    built
}

/// Pushes a chart directory (tar'ed as `helm package` would) to `registry`.
fn push_chart(registry: &Registry, chart_dir: &std::path::Path, repo_tag: &str, work: &std::path::Path) {
    let tgz = work.join("chart.tgz");
    let parent = chart_dir.parent().unwrap();
    let name = chart_dir.file_name().unwrap().to_str().unwrap();
    run_ok(Command::new("tar").arg("czf").arg(&tgz).arg("-C").arg(parent).arg(name));
    let meta = std::fs::read_to_string(chart_dir.join("Chart.yaml")).unwrap();
    let version = meta.lines().find_map(|l| l.strip_prefix("version: ")).unwrap().trim();
    push_chart_archive(registry, &std::fs::read(&tgz).unwrap(), name, version, repo_tag, work);
}

#[test]
fn create_vendors_dependencies_so_the_bundled_chart_renders_offline() {
    if missing_tool("docker-registry") || missing_tool("skopeo") {
        return;
    }
    let Some(real) = real_charts() else { return };
    let registry = Registry::plain();
    let work = tempfile::tempdir().unwrap();
    // The real `common` library chart, served by a local registry in place
    // of the one redis names (registry-1.docker.io, out of reach here).
    run_ok(Command::new("cp").arg("-r").arg(real.join("common")).arg(work.path()));
    push_chart(&registry, &work.path().join("common"), "bitnamicharts/common:2.31.10", work.path());
    run_ok(Command::new("cp").arg("-r").arg(real.join("redis")).arg(work.path()));
    let redis = work.path().join("redis");
    let point_here = |file: &str, from: &str, to: &str| {
        let text = std::fs::read_to_string(redis.join(file)).unwrap();
        let text = text
            .replace("oci://registry-1.docker.io/bitnamicharts", &format!("oci://{}/bitnamicharts", registry.host))
            .replace(from, to);
        std::fs::write(redis.join(file), text).unwrap();
    };
    point_here("Chart.yaml", "", "");
    point_here("Chart.lock", "version: 2.31.4", "version: 2.31.10");

    let airlock = Airlock::new();
    let spec = write_spec(
        work.path(),
        &format!(
            "components:\n  - name: a\n    charts:\n      - {{name: cache, path: {}, images: explicit}}\n",
            redis.display()
        ),
    );
    let bundle = work.path().join("r.airlock");
    airlock.ok(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap(), "--plain-http"]);
    let v: serde_json::Value =
        serde_json::from_str(&airlock.ok(&["inspect", bundle.to_str().unwrap(), "--json"])).unwrap();
    let archive_digest = v["components"][0]["charts"][0]["archiveDigest"].as_str().unwrap();
    let archive = airlock.cache_dir().join("blobs/sha256").join(archive_digest.trim_start_matches("sha256:"));

    // The bundled archive holds charts/common-2.31.10.tgz and renders alone,
    // exactly as the chart with `common` copied in by hand does.
    let listing = run_ok(Command::new("tar").arg("tzf").arg(&archive));
    assert!(String::from_utf8_lossy(&listing.stdout).contains("redis/charts/common-2.31.10.tgz"));
    // A fixed password: the chart would otherwise make a random one each time.
    let fixed = ["--json", "--set", "auth.password=fixed"];
    let from_bundle = airlock.ok(&[&["template", archive.to_str().unwrap()][..], &fixed[..]].concat());
    std::fs::create_dir_all(redis.join("charts")).unwrap();
    run_ok(Command::new("cp").arg("-r").arg(work.path().join("common")).arg(redis.join("charts")));
    let by_hand = airlock.ok(&[&["template", redis.to_str().unwrap()][..], &fixed[..]].concat());
    let a: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&from_bundle).unwrap();
    let b: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&by_hand).unwrap();
    assert!(a.len() > 5);
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (path, text) in &a {
        assert!(*text == b[path], "{path} differs between the bundled chart and the chart with common copied in");
    }
    std::fs::remove_dir_all(redis.join("charts")).unwrap();

    // A lock that disagrees with Chart.yaml, and a range nothing pins.
    point_here("Chart.lock", "version: 2.31.10", "version: 3.0.0");
    let out = airlock.run(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap(), "--plain-http"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Chart.lock is out of sync with Chart.yaml") && err.contains("helm dependency update"),
        "{err}"
    );
    std::fs::remove_file(redis.join("Chart.lock")).unwrap();
    let out = airlock.run(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap(), "--plain-http"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs Chart.lock to pin it") && err.contains("common"), "{err}");
}

#[test]
fn dependencies_from_a_helm_repository_and_a_path_are_vendored() {
    let repo = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(repo.path().join("charts")).unwrap();
    let mut entries = String::new();
    for version in ["0.1.0", "0.2.3", "0.3.0"] {
        let tgz = chart_tgz("sub", version);
        std::fs::write(repo.path().join(format!("charts/sub-{version}.tgz")), &tgz).unwrap();
        entries.push_str(&format!(
            "    - version: {version}\n      urls: [charts/sub-{version}.tgz]\n      digest: {}\n",
            sha256_hex(&tgz)
        ));
    }
    std::fs::write(repo.path().join("index.yaml"), format!("apiVersion: v1\nentries:\n  sub:\n{entries}")).unwrap();
    let server = HttpServer::serve_dir(repo.path());

    let work = tempfile::tempdir().unwrap();
    let local = work.path().join("local");
    std::fs::create_dir_all(local.join("templates")).unwrap();
    std::fs::write(local.join("Chart.yaml"), "apiVersion: v2\nname: local\nversion: 1.0.0\n").unwrap();
    std::fs::write(local.join("templates/cm.yaml"), "kind: ConfigMap\nmetadata: {name: from-local}\n").unwrap();
    let parent = work.path().join("parent");
    std::fs::create_dir_all(parent.join("templates")).unwrap();
    std::fs::write(
        parent.join("Chart.yaml"),
        format!(
            "apiVersion: v2\nname: parent\nversion: 1.0.0\ndependencies:\n  - {{name: sub, version: ~0.2.0, repository: '{}'}}\n  - {{name: local, version: 1.0.0, repository: 'file://../local'}}\n",
            server.url
        ),
    )
    .unwrap();
    let spec = write_spec(work.path(), "components:\n  - name: a\n    charts:\n      - {name: p, path: ./parent}\n");
    let airlock = Airlock::new();
    let bundle = work.path().join("p.airlock");
    airlock.ok(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()]);
    let v: serde_json::Value =
        serde_json::from_str(&airlock.ok(&["inspect", bundle.to_str().unwrap(), "--json"])).unwrap();
    let digest =
        v["components"][0]["charts"][0]["archiveDigest"].as_str().unwrap().trim_start_matches("sha256:").to_string();
    let archive = airlock.cache_dir().join("blobs/sha256").join(digest);
    let listing = String::from_utf8(run_ok(Command::new("tar").arg("tzf").arg(&archive)).stdout).unwrap();
    // The highest version in the range, and the path dependency, packed in.
    assert!(listing.contains("parent/charts/sub-0.2.3.tgz"), "{listing}");
    assert!(listing.contains("parent/charts/local-1.0.0.tgz"), "{listing}");
    let rendered = airlock.ok(&["template", archive.to_str().unwrap()]);
    assert!(
        rendered.contains("# Source: parent/charts/local/templates/cm.yaml") && rendered.contains("from-local"),
        "{rendered}"
    );
    assert!(rendered.contains("# Source: parent/charts/sub/templates/cm.yaml"), "{rendered}");

    // A range the repository cannot satisfy names what it has.
    let yaml = std::fs::read_to_string(parent.join("Chart.yaml")).unwrap().replace("~0.2.0", "^1.0.0");
    std::fs::write(parent.join("Chart.yaml"), yaml).unwrap();
    let err = airlock.fails(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()]);
    assert!(err.contains("no sub matching ^1.0.0") && err.contains("0.1.0, 0.2.3, 0.3.0"), "{err}");
}

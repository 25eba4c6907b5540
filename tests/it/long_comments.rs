//! `airlock create` over files with long blocks of commented-out YAML, as
//! people leave them (switched-off components, old dependencies,
//! repositories and registries), also between a key and its value on later
//! lines: the spec, a chart directory's Chart.yaml, a Helm repository's
//! index.yaml and the Chart.yaml inside its archive, Helm's
//! repositories.yaml and `--registry-config`. Helm, kubectl and every YAML
//! tool read them; so does airlock, with the same errors as without them.

use crate::support::*;

/// `n` commented-out list entries at `indent`, three lines each.
fn commented(indent: &str, n: usize) -> String {
    (0..n)
        .map(|i| format!("{indent}# - name: old{i}\n{indent}#   version: 1.{i}.0\n{indent}#   enabled: false  # kept for later\n"))
        .collect()
}

fn chart_yaml(name: &str, version: &str, dependencies: &str) -> String {
    format!(
        "apiVersion: v2\nname: {name}\ndescription: A chart\ntype: application\nversion: {version}\nappVersion: \"1.0\"\nmaintainers:\n{}  - name: me\n{}{dependencies}",
        commented("  ", 40),
        commented("", 40),
    )
}

#[test]
fn create_reads_files_with_long_comment_blocks() {
    // A Helm repository whose index.yaml, and the Chart.yaml in its archive,
    // hold long comment blocks.
    let repo = tempfile::tempdir().unwrap();
    let cache_tgz = layer(&[
        ("cache/Chart.yaml", chart_yaml("cache", "23.1.1", "").as_bytes(), 0o644),
        ("cache/templates/cm.yaml", b"kind: ConfigMap\nmetadata: {name: cache}\n", 0o644),
    ]);
    std::fs::create_dir_all(repo.path().join("charts")).unwrap();
    std::fs::write(repo.path().join("charts/cache-23.1.1.tgz"), &cache_tgz).unwrap();
    std::fs::write(
        repo.path().join("index.yaml"),
        format!(
            "apiVersion: v1\nentries:\n{}  cache:\n{}    - version: 23.1.1\n      urls:\n{}        - charts/cache-23.1.1.tgz\n      digest: {}\n{}generated: \"2026-01-01T00:00:00Z\"\n",
            commented("  ", 40),
            commented("    ", 40),
            commented("        ", 40),
            sha256_hex(&cache_tgz),
            commented("", 40),
        ),
    )
    .unwrap();
    let server = HttpServer::serve_dir(repo.path());

    // A chart directory whose Chart.yaml lists a dependency after a long
    // block of commented-out ones.
    let work = tempfile::tempdir().unwrap();
    let local = work.path().join("local");
    std::fs::create_dir_all(local.join("templates")).unwrap();
    std::fs::write(local.join("Chart.yaml"), chart_yaml("local", "1.0.0", "")).unwrap();
    std::fs::write(local.join("templates/cm.yaml"), "kind: ConfigMap\nmetadata: {name: from-local}\n").unwrap();
    let web = work.path().join("web");
    std::fs::create_dir_all(web.join("templates")).unwrap();
    let dependencies = format!(
        "dependencies:\n{}  - name: local\n{}    version: 1.0.0\n    repository: file://../local\n",
        commented("", 40),
        commented("    ", 40)
    );
    std::fs::write(web.join("Chart.yaml"), chart_yaml("web", "1.2.0", &dependencies)).unwrap();
    std::fs::write(web.join("templates/cm.yaml"), "kind: ConfigMap\nmetadata: {name: web}\n").unwrap();

    // Helm's repositories.yaml (read when present) and --registry-config.
    let airlock = Airlock::new();
    let helm_dir = airlock.home.path().join(".config/helm");
    std::fs::create_dir_all(&helm_dir).unwrap();
    std::fs::write(
        helm_dir.join("repositories.yaml"),
        format!(
            "apiVersion: \"\"\nrepositories:\n{}- name: other\n{}  url: https://charts.example/\n  username: u\n  password: p\n{}",
            commented("", 40),
            commented("  ", 40),
            commented("", 40),
        ),
    )
    .unwrap();
    let config = work.path().join("registries.yaml");
    std::fs::write(
        &config,
        format!(
            "registries:\n{}  registry.example:\n{}    username: u\n    password: p\n{}",
            commented("  ", 40),
            commented("    ", 40),
            commented("", 40),
        ),
    )
    .unwrap();

    // The spec: components and charts switched off in long blocks.
    let spec_text = format!(
        "apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata:\n{}  name: demo\n  version: 1.0.0\ncomponents:\n{}  - name: app\n    charts:\n{}      - name: web\n{}        path: ./web\n      - name: cache\n        repo: {}\n        version: 23.1.1\n{}",
        commented("  ", 40),
        commented("  ", 40),
        commented("      ", 40),
        commented("        ", 40),
        server.url,
        commented("", 40),
    );
    let spec = work.path().join("airlock.yaml");
    std::fs::write(&spec, &spec_text).unwrap();
    let bundle = work.path().join("demo.airlock");
    let (spec_arg, bundle_arg) = (spec.to_str().unwrap(), bundle.to_str().unwrap());
    airlock.ok(&["create", spec_arg, "-o", bundle_arg, "--registry-config", config.to_str().unwrap()]);

    let v = airlock.inspect(&bundle);
    let charts = v["components"][0]["charts"].as_array().unwrap();
    let charts: Vec<_> = charts.iter().map(|c| (c["name"].as_str().unwrap(), c["version"].as_str().unwrap())).collect();
    assert_eq!(charts, [("web", "1.2.0"), ("cache", "23.1.1")]);
    let cache = &v["components"][0]["charts"][1];
    assert_eq!(cache["archiveDigest"].as_str().unwrap(), format!("sha256:{}", sha256_hex(&cache_tgz)));

    // A mistake after the comments: named at its own line and column.
    std::fs::write(&spec, spec_text.replace("        path: ./web", "        paht: ./web")).unwrap();
    let line = spec_text.lines().position(|l| l == "        path: ./web").unwrap() + 1;
    let err = airlock.fails(&["create", spec_arg, "-o", bundle_arg]);
    assert!(err.contains(&format!("airlock.yaml:{line}:9:")) && err.contains("paht"), "{err}");
}

//! `inspect --html`: the page renders in headless Chromium (Debian's, run
//! inside `unshare -n` so that a page reaching for the network would show
//! it), logs nothing to the console, and every figure in it matches
//! `inspect --json`; with `--diff OLD` it lists what changed.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    let path = PathBuf::from("/usr/bin/chromium");
    if path.exists() {
        return Some(path);
    }
    assert!(std::env::var_os("CI").is_none(), "chromium is not installed: run scripts/install-deps.sh");
    eprintln!("skipping: chromium is not installed (scripts/install-deps.sh)");
    None
}

fn release(d: &Path, airlock: &Airlock, version: &str, chart_version: &str, payload: &[u8]) -> PathBuf {
    let dir = d.join(version);
    std::fs::create_dir_all(dir.join("chart/templates")).unwrap();
    let mut layout = LayoutBuilder::new(&dir.join("img"));
    let amd = layout.image("amd64", &[layer(&[("app", payload, 0o755), ("noise", &noise(40_000, 3), 0o644)])]);
    let arm = layout.image("arm64", &[layer(&[("app", payload, 0o755)])]);
    let index = layout.index(&[(&amd, "amd64"), (&arm, "arm64")]);
    layout.tag(&index, "1");
    std::fs::write(dir.join("chart/Chart.yaml"), format!("apiVersion: v2\nname: web\nversion: {chart_version}\n"))
        .unwrap();
    std::fs::write(
        dir.join("chart/templates/deploy.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers: [{name: web, image: \"localhost/img:1\"}]\n",
    )
    .unwrap();
    std::fs::write(dir.join("motd"), payload).unwrap();
    let spec = write_spec(
        &dir,
        "components:\n  - name: app\n    description: \"the <app> & its chart\"\n    images: [\"oci-layout:./img:1\"]\n    charts: [{name: web, path: ./chart, namespace: shop}]\n    files: [{source: motd, target: /etc/motd, mode: \"0644\"}]\n",
    );
    let text = std::fs::read_to_string(&spec).unwrap().replace("version: 1.0.0", &format!("version: {version}"));
    std::fs::write(&spec, text).unwrap();
    let bundle = d.join(format!("app-{version}.airlock"));
    airlock.ok(&["create", spec.to_str().unwrap(), "-o", bundle.to_str().unwrap()]);
    bundle
}

#[test]
fn the_html_report_renders_offline_and_matches_the_json() {
    let Some(chromium) = chromium() else { return };
    if missing_tool("unshare") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let airlock = Airlock::new();
    let old = release(d, &airlock, "1.0.0", "0.1.0", b"one");
    let new = release(d, &airlock, "1.1.0", "0.2.0", b"two");
    let page = d.join("report.html");
    airlock.ok(&["inspect", new.to_str().unwrap(), "--html", page.to_str().unwrap(), "--diff", old.to_str().unwrap()]);
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: nothing is fetched, no script runs.
    for outside in ["<script", "src=\"http", "href=\"http", "@import", "url("] {
        assert!(!html.contains(outside), "the page has `{outside}`");
    }
    // Text from the bundle is escaped, not markup.
    assert!(html.contains("the &lt;app&gt; &amp; its chart"), "{html}");

    let profile = d.join("profile");
    let shot = d.join("report.png");
    let out = Command::new("unshare")
        .arg("-n")
        .arg(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1200,1600",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "chromium failed: {log}");
    let png = std::fs::read(&shot).expect("chromium wrote no screenshot");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "an empty screenshot: {} bytes", png.len());
    let out = Command::new("unshare")
        .arg("-n")
        .arg(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    let log = format!("{log}{}", String::from_utf8_lossy(&out.stderr));
    // The page said nothing to the console, and broke no policy of its own.
    for line in log.lines() {
        assert!(!line.contains("CONSOLE") && !line.contains("Refused to"), "console: {line}");
    }

    // Every figure of the page, as the browser parsed it, is the JSON's.
    let json = airlock.inspect(&new);
    let field = |name: &str, attr: &str| -> Vec<u64> {
        let needle = format!("data-field=\"{name}\" data-{attr}=\"");
        dom.match_indices(&needle)
            .map(|(at, _)| {
                let rest = &dom[at + needle.len()..];
                rest[..rest.find('"').unwrap()].parse().unwrap()
            })
            .collect()
    };
    for (name, key) in [("totalSize", "totalSize"), ("uniqueSize", "uniqueSize"), ("storedSize", "storedSize")] {
        assert_eq!(field(name, "bytes"), vec![json[key].as_u64().unwrap()], "{name}");
    }
    assert_eq!(field("blobCount", "count"), vec![json["blobCount"].as_u64().unwrap()]);
    let images: Vec<u64> =
        json["components"][0]["images"].as_array().unwrap().iter().map(|i| i["size"].as_u64().unwrap()).collect();
    assert_eq!(field("imageSize", "bytes"), images);
    assert_eq!(field("chartCount", "count"), vec![1]);
    assert!(dom.contains("linux/amd64, linux/arm64"), "platforms: {dom}");
    assert!(dom.contains("localhost/img:1"), "the chart's images");
    // The changes against the old bundle.
    assert!(dom.contains("Changes from test 1.0.0"), "{dom}");
    assert!(dom.contains("web 0.1.0 → 0.2.0"), "{dom}");
    assert!(dom.contains("<code>/etc/motd</code>"), "{dom}");
}

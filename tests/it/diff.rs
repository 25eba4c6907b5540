//! `airlock diff OLD NEW`: two releases of one application, built from
//! specs that differ in every way a release can (an image's tag and another
//! image added, a chart's version and templates, an environment's values,
//! a CRD's schema, a file, the signer), compared as a reviewer would, in
//! human output and JSON; and a differential bundle against its base.

use crate::support::*;
use std::path::{Path, PathBuf};

struct Release<'a> {
    version: &'a str,
    /// Tags of image `app` and, when given, an extra image `tool`.
    app_tag: &'a str,
    tool: bool,
    chart_version: &'a str,
    replicas_in_prod: u32,
    /// The CRD's one field's type.
    crd_field_type: &'a str,
    file: &'a str,
}

fn build(d: &Path, airlock: &Airlock, r: &Release, key: &Path) -> PathBuf {
    let dir = d.join(r.version);
    std::fs::create_dir_all(dir.join("chart/templates")).unwrap();
    let mut layout = LayoutBuilder::new(&dir.join("img"));
    let app = layout.image("amd64", &[layer(&[("app", r.app_tag.as_bytes(), 0o755)])]);
    layout.tag(&app, r.app_tag);
    let tool = layout.image("amd64", &[layer(&[("tool", b"tool", 0o755)])]);
    layout.tag(&tool, "1");
    std::fs::write(dir.join("chart/Chart.yaml"), format!("apiVersion: v2\nname: web\nversion: {}\n", r.chart_version))
        .unwrap();
    std::fs::write(dir.join("chart/values.yaml"), "replicas: 1\n").unwrap();
    std::fs::write(
        dir.join("chart/templates/deploy.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: {{ .Values.replicas }}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("chart/templates/secret.yaml"),
        format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: web}}\nstringData: {{token: {}}}\n", r.version),
    )
    .unwrap();
    if r.tool {
        std::fs::write(
            dir.join("chart/templates/cm.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: tool}\n",
        )
        .unwrap();
    }
    std::fs::write(dir.join("prod.yaml"), format!("replicas: {}\n", r.replicas_in_prod)).unwrap();
    std::fs::write(
        dir.join("crd.yaml"),
        format!(
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {{name: widgets.example.com}}\nspec:\n  group: example.com\n  names: {{kind: Widget, plural: widgets}}\n  scope: Namespaced\n  versions:\n    - name: v1\n      served: true\n      storage: true\n      schema:\n        openAPIV3Schema:\n          type: object\n          properties:\n            size: {{type: {}}}\n",
            r.crd_field_type
        ),
    )
    .unwrap();
    std::fs::write(dir.join("motd"), r.file).unwrap();
    let images = if r.tool {
        format!("[\"oci-layout:./img:{}\", \"oci-layout:./img:1\"]", r.app_tag)
    } else {
        format!("[\"oci-layout:./img:{}\"]", r.app_tag)
    };
    let spec = dir.join("airlock.yaml");
    std::fs::write(
        &spec,
        format!(
            "apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {{name: shop, version: {}}}\ncomponents:\n  - name: app\n    images: {images}\n    charts: [{{name: web, path: ./chart, namespace: shop}}]\n    crds: [crd.yaml]\n    files: [{{source: motd, target: /etc/motd, mode: \"0644\"}}]\nenvironments:\n  prod:\n    charts:\n      web: {{valuesFiles: [prod.yaml]}}\n",
            r.version
        ),
    )
    .unwrap();
    let bundle = d.join(format!("shop-{}.airlock", r.version));
    airlock.ok(&[
        "create",
        spec.to_str().unwrap(),
        "-o",
        bundle.to_str().unwrap(),
        "--sign-key",
        key.to_str().unwrap(),
    ]);
    bundle
}

#[test]
fn diff_shows_what_a_release_changes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let airlock = Airlock::new();
    let (key1, _) = airlock.keypair(d, "k1");
    let (key2, _) = airlock.keypair(d, "k2");
    let old = Release {
        version: "1.0.0",
        app_tag: "1.0",
        tool: false,
        chart_version: "0.1.0",
        replicas_in_prod: 2,
        crd_field_type: "integer",
        file: "hello\n",
    };
    let new = Release {
        version: "1.1.0",
        app_tag: "1.1",
        tool: true,
        chart_version: "0.2.0",
        replicas_in_prod: 3,
        crd_field_type: "string",
        file: "hello again\n",
    };
    let (old_bundle, new_bundle) = (build(d, &airlock, &old, &key1), build(d, &airlock, &new, &key2));
    let (o, n) = (old_bundle.to_str().unwrap(), new_bundle.to_str().unwrap());

    let text = airlock.ok(&["diff", o, n, "--env", "prod"]);
    for expected in [
        "~ localhost/img:1.0 -> localhost/img:1.1",
        "+ localhost/img:1 (",
        "~ web 0.1.0 -> 0.2.0 (content changed)",
        "objects of chart web:",
        "+ ConfigMap shop/tool",
        "~ Deployment shop/web",
        "spec.replicas: 2 -> 3",
        "~ Secret shop/web",
        "~ widgets.example.com (SCHEMA CHANGED in v1)",
        "~ /etc/motd",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
    // A Secret's values are never printed.
    assert!(!text.contains("1.1.0\n") && !text.contains("token: 1.0.0"), "{text}");
    assert!(text.contains("+ key sha256:") && text.contains("- key sha256:"), "{text}");

    // JSON: the same facts, machine-readable.
    let json: serde_json::Value =
        serde_json::from_str(&airlock.ok(&["diff", o, n, "--env", "prod", "--json"])).unwrap();
    assert_eq!(json["charts"][0]["oldVersion"], "0.1.0");
    assert_eq!(json["charts"][0]["newVersion"], "0.2.0");
    assert_eq!(json["crds"][0]["schemaChanged"][0], "v1");
    let images = json["images"].as_array().unwrap();
    assert_eq!(images.len(), 2, "{json}");
    let deployment =
        json["objects"][0]["changes"].as_array().unwrap().iter().find(|c| c["object"] == "Deployment shop/web");
    assert_eq!(deployment.unwrap()["fields"][0]["after"], 3, "{json}");

    // Without the environment, replicas are the chart's own on both sides.
    let text = airlock.ok(&["diff", o, n]);
    assert!(!text.contains("spec.replicas"), "{text}");

    // A bundle against itself: nothing to review.
    let text = airlock.ok(&["diff", o, o]);
    assert!(text.contains("no differences"), "{text}");

    // An environment neither has is a usage error naming it.
    let err = airlock.fails_with(USAGE, &["diff", o, n, "--env", "staging"]);
    assert!(err.contains("--env staging") && err.contains("prod"), "{err}");

    // A differential bundle reads what it leaves out from its base.
    let delta = d.join("delta.airlock");
    let spec = d.join("1.1.0/airlock.yaml");
    airlock.ok(&["create", spec.to_str().unwrap(), "-o", delta.to_str().unwrap(), "--since", o]);
    let text = airlock.ok(&["diff", o, delta.to_str().unwrap(), "--env", "prod"]);
    assert!(text.contains("spec.replicas: 2 -> 3") && text.contains("SCHEMA CHANGED"), "{text}");
}

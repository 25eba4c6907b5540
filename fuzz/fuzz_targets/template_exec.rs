//! The template executor: the input is parsed as one template file (the
//! text after a first NUL byte, if any, is a second file, for `define`,
//! `include` and `template` across files), then run with values shaped as
//! Helm's (`.Values`, `.Release`, `.Chart`, `.Capabilities`).
#![no_main]

use airlock::fuzzing::{read_values, TemplateSet, Value};
use libfuzzer_sys::fuzz_target;

const VALUES: &str = "replicaCount: 2\nimage: {repository: nginx, tag: \"1.25\", pullPolicy: IfNotPresent}\n\
service: {type: ClusterIP, port: 80}\nlabels: {app: web, tier: front}\nlist: [1, two, 3.5, true, null]\n\
enabled: true\nname: fuzz\nnested: {a: {b: {c: deep}}}\nempty: {}\n";

fn data() -> Value {
    let mut top = airlock::fuzzing::Map::new();
    top.insert("Values".into(), Value::map(read_values(VALUES).expect("values parse")));
    let release = read_values("Name: rel\nNamespace: default\nService: Helm\nIsInstall: true\nIsUpgrade: false\nRevision: 1\n")
        .expect("release parses");
    top.insert("Release".into(), Value::map(release));
    let chart = read_values("Name: fuzz\nVersion: 0.1.0\nAppVersion: \"1.0\"\n").expect("chart parses");
    top.insert("Chart".into(), Value::map(chart));
    let caps = read_values("KubeVersion: {Version: v1.33.0, Major: \"1\", Minor: \"33\"}\n").expect("caps parse");
    top.insert("Capabilities".into(), Value::map(caps));
    top.insert("Template".into(), Value::map(read_values("Name: templates/a.yaml\nBasePath: templates\n").expect("t")));
    Value::map(top)
}

fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes);
    let (first, second) = text.split_once('\0').unwrap_or((&text, ""));
    let mut set = TemplateSet::default();
    if set.add_file("templates/a.yaml", first).is_err() {
        return;
    }
    if !second.is_empty() && set.add_file("templates/_helpers.tpl", second).is_err() {
        return;
    }
    let data = data();
    if let Err(e) = set.execute("templates/a.yaml", &data) {
        let _ = e.to_string();
    }
});

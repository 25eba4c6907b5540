//! `airlock template` against the real `helm template` (Helm v4.3.2, built
//! by `scripts/build-tools.sh` into target/tools/bin), text for text:
//! values read as Helm reads them (sigs.k8s.io/yaml over go-yaml v2, YAML
//! 1.1: `0755` is 493, `y`, `yes` and `on` are true, keys made strings,
//! every number a float64; every YAML document of values.yaml and of a
//! `-f` file), values coalesced as Helm v4 coalesces them (`null` in a
//! chart's defaults and in the user's, through subcharts, globals and
//! import-values), and the text laid out as Helm prints it (the blank line
//! after a template that ends in a newline). The one difference allowed is
//! airlock's own `# Hook: EVENTS` line under a hook's `# Source:`.
//!
//! (The conformance script compares the same charts with helm-python-sdk as
//! data; this checks the text, `-f` files PyYAML would type differently,
//! several YAML documents in a values file, and `--set`.)

#![allow(clippy::print_stderr, clippy::print_stdout)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn helm() -> Option<PathBuf> {
    let helm = root().join("target/tools/bin/helm");
    if helm.exists() {
        Some(helm)
    } else if std::env::var_os("CI").is_some() {
        panic!("helm is not built: run scripts/build-tools.sh helm")
    } else {
        eprintln!("skipping: helm is not built (scripts/build-tools.sh helm)");
        None
    }
}

fn run(command: &mut Command) -> Output {
    command.output().unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"))
}

/// Both renders of `chart` with the same arguments (`-f`, `--set`):
/// Helm's and airlock's output (trailing whitespace trimmed, airlock's
/// `# Hook:` lines left out), or their failure.
fn both(helm: &Path, chart: &Path, args: &[&str]) -> (Result<String, String>, Result<String, String>) {
    let result = |out: Output| {
        if out.status.success() {
            Ok(String::from_utf8(out.stdout).unwrap().trim_end().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    };
    let theirs = run(Command::new(helm).args(["template", "rel"]).arg(chart).args(["--namespace", "ns"]).args(args));
    let ours = run(Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(["--quiet", "template"])
        .arg(chart)
        .args(["--name", "rel", "--namespace", "ns"])
        .args(args));
    let without_hook_lines = |text: String| {
        let mut kept: Vec<&str> = Vec::new();
        for line in text.lines() {
            if line.starts_with("# Hook: ") && kept.last().is_some_and(|l| l.starts_with("# Source: ")) {
                continue;
            }
            kept.push(line);
        }
        kept.join("\n")
    };
    (result(theirs), result(ours).map(without_hook_lines))
}

fn assert_same(helm: &Path, chart: &Path, args: &[&str]) -> String {
    match both(helm, chart, args) {
        (Ok(theirs), Ok(ours)) => {
            if theirs != ours {
                let line = theirs
                    .lines()
                    .zip(ours.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or_else(|| theirs.lines().count().min(ours.lines().count()));
                panic!(
                    "{chart:?} {args:?}: airlock's text differs from Helm's at line {}:\n  helm:    {:?}\n  airlock: {:?}",
                    line + 1,
                    theirs.lines().nth(line),
                    ours.lines().nth(line)
                );
            }
            ours
        }
        (theirs, ours) => panic!("{args:?}: helm {theirs:?}\nairlock {ours:?}"),
    }
}

/// Both refuse to render, airlock with Helm's message (its `Error: ` line).
fn assert_both_refuse(helm: &Path, chart: &Path, args: &[&str]) -> String {
    match both(helm, chart, args) {
        (Err(theirs), Err(ours)) => {
            let message = theirs.lines().rev().find_map(|l| l.strip_prefix("Error: ")).unwrap_or_default().to_string();
            assert!(!message.is_empty() && ours.contains(&message), "{args:?}: helm {theirs:?}\nairlock {ours:?}");
            message
        }
        (theirs, ours) => panic!("{args:?}: helm {theirs:?}\nairlock {ours:?}"),
    }
}

/// A chart in `dir` whose templates print their `.Values` as JSON.
fn values_chart(dir: &Path, name: &str, values: &str) -> PathBuf {
    let chart = dir.join(name);
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(chart.join("Chart.yaml"), format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\n")).unwrap();
    std::fs::write(chart.join("templates/cm.yaml"), "data: {{ toJson .Values | quote }}\n").unwrap();
    std::fs::write(chart.join("values.yaml"), values).unwrap();
    chart
}

#[test]
fn values_read_as_yaml_1_1_render_as_helm_renders_them() {
    let Some(helm) = helm() else { return };
    let chart = root().join("tests/fixtures/charts/yaml11");
    let out = assert_same(&helm, &chart, &[]);
    // The chart's own values.yaml, read as Helm reads it.
    for line in [
        r#"  mode: "493""#,
        r#"  modePlusOne: "494""#,
        r#"  "booleans.true": "bool true""#,
        r#"  "intKeys.1": "string one""#,
        r#"  "intKeys.493": "string octal key""#,
        r#"  "ints.big": "float64 1e+06""#,
        r#"  "ints.thousand": "float64 1000""#,
        r#"  "ints.hex": "float64 31""#,
        r#"  "strings.date": "string 2015-01-01""#,
        r#"  nulls: "[null,null,null,null,null,\"nULL\"]""#,
        r#"  octal: "{\"a\":493}""#,
    ] {
        assert!(out.lines().any(|l| l == line), "{line:?} missing from:\n{out}");
    }

    // A values file given with -f, with what PyYAML would read otherwise.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("more.yaml");
    std::fs::write(
        &file,
        "mode: 0o600\nbooleans: {y: n}\nuser:\n  y: y\n  N: N\n  bin: 0b1010\n  octal: 0644\n  sep: 1_0\n  date: 2016-02-29\n  1: one\n  true: on\nstrings:\n  quoted: \"0755\"\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let out = assert_same(&helm, &chart, &["-f", file]);
    assert!(out.contains(r#"  mode: "384""#), "{out}");
    assert!(out.contains(r#"  "user.bin": "float64 10""#), "{out}");
    let conformance = root().join("tests/conformance/yaml11/user.yaml");
    assert_same(&helm, &chart, &["-f", conformance.to_str().unwrap(), "-f", file]);

    // --set has its own typing (Helm's strvals): 0755 and yes stay strings.
    // (Top-level, as typeOf says `int` for Helm's int64: a known difference.)
    let out = assert_same(&helm, &chart, &["-f", file, "--set", "mode=0755,flag=yes,big=1000000,user.on=off"]);
    assert!(out.contains(r#"  mode: "0755""#) && out.contains(r#"  "user.on": "string off""#), "{out}");
    assert!(out.contains(r#"\"big\":1000000"#) && out.contains(r#"\"flag\":\"yes\""#), "{out}");
}

#[test]
fn values_files_of_several_documents_and_values_helm_refuses() {
    let Some(helm) = helm() else { return };
    let dir = tempfile::tempdir().unwrap();
    let several = "a: 0755\n--- # the second\nb: {c: y}\n---\n---\nb: {d: off}\na: 1_0\n";
    let chart = values_chart(dir.path(), "docs", several);
    let out = assert_same(&helm, &chart, &[]);
    assert!(out.contains(r#"data: "{\"a\":10,\"b\":{\"c\":true,\"d\":false}}""#), "{out}");

    // A -f file's documents are merged the same way, every one of them.
    let chart = values_chart(dir.path(), "plain", "a: 1\nb: {c: 1, e: 5}\n");
    let file = dir.path().join("several.yaml");
    std::fs::write(&file, several).unwrap();
    let file = file.to_str().unwrap();
    let out = assert_same(&helm, &chart, &["-f", file]);
    assert!(out.contains(r#"data: "{\"a\":10,\"b\":{\"c\":true,\"d\":false,\"e\":5}}""#), "{out}");

    // What sigs.k8s.io/yaml cannot turn into JSON, both refuse, in
    // values.yaml or in a -f file.
    for text in ["a: .inf\n", "a: .NaN\n", "~: x\n", "a: 1\n---x\n", "a: 1\n---\n- 1\n"] {
        let chart = values_chart(dir.path(), "refused", text);
        match both(&helm, &chart, &[]) {
            (Err(_), Err(_)) => {}
            (theirs, ours) => panic!("{text:?}: helm {theirs:?}\nairlock {ours:?}"),
        }
        std::fs::write(file, text).unwrap();
        let plain = dir.path().join("plain");
        match both(&helm, &plain, &["-f", file]) {
            (Err(_), Err(_)) => {}
            (theirs, ours) => panic!("-f {text:?}: helm {theirs:?}\nairlock {ours:?}"),
        }
    }
}

/// `null` as Helm v4 coalesces it: dropped from a chart's defaults (nested
/// ones too), deleting a default the user's `null` meets, kept where the
/// user gives it for a key without a default; the parent's defaults for a
/// subchart merged into the user's values for it with their nulls; globals
/// whose nested tables the parent shares with its subcharts; and, for a
/// chart that lists its dependencies, defaults merged with the subcharts'
/// (import-values), nulls and all, before the user's values meet them.
#[test]
fn nulls_coalesce_as_helm_coalesces_them() {
    let Some(helm) = helm() else { return };
    // The conformance chart, which lists its dependencies.
    let chart = root().join("tests/fixtures/charts/nulls");
    let out = assert_same(&helm, &chart, &[]);
    assert!(out.contains(r#"\"nested\":{\"deeper\":{\"kept\":2},\"kept\":1,\"list\":[null,1]}"#), "{out}");
    assert!(!out.contains(r#"\"dropped\""#), "{out}");
    let user = root().join("tests/conformance/nulls/user.yaml");
    let out = assert_same(&helm, &chart, &["-f", user.to_str().unwrap()]);
    assert!(out.contains(r#"values: "{\"added\":null,"#), "{out}");
    assert!(out.contains(r#"\"table\":{\"unset\":null},\"user\":1}"#), "{out}");
    let out = assert_same(&helm, &chart, &["--set", "sub.own=null,other=null,global.deep.t.fromSub=null"]);
    assert!(out.contains("name: rel-sub-none"), "{out}");

    // The same values in a chart that lists no dependencies.
    let dir = tempfile::tempdir().unwrap();
    let parent_values = "a: ~\nb: {c: ~, d: 1}\nglobal: {g: ~, h: 1, deep: {t: {x: 1}}, k: {m: 1}}\n\
                         s: {x: ~, p: {q: ~}}\nk: 1\n";
    let chart = values_chart(dir.path(), "parent", parent_values);
    values_chart(
        &chart.join("charts"),
        "s",
        "global: {h: ~, i: ~, j: 2, deep: {t: {w: 2}}, k: {z: 3}}\nx: 1\nb: {c: ~, d: 1}\np: {q: 1, r: ~}\n",
    );
    let out = assert_same(&helm, &chart, &[]);
    assert!(out.contains(r#"data: "{\"b\":{\"d\":1},\"global\":{\"deep\":{\"t\":{\"w\":2,\"x\":1}},"#), "{out}");
    let file = dir.path().join("user.yaml");
    for user in [
        "s: {u: 1}\n",
        "s: {u: 1, b: {c: ~}, x: ~}\nglobal: {i: ~, deep: {t: ~}}\nb: {c: ~, e: ~}\na: ~\nnew: ~\n",
        "s: {p: ~, b: {d: ~}}\nb: ~\nglobal: ~\n",
    ] {
        std::fs::write(&file, user).unwrap();
        assert_same(&helm, &chart, &["-f", file.to_str().unwrap()]);
    }
    // ... and one that does: the subchart's own null `b.c` now survives,
    // merged into the parent's defaults by import-values' processing.
    let listed =
        std::fs::read_to_string(chart.join("Chart.yaml")).unwrap() + "dependencies:\n- name: s\n  version: 0.1.0\n";
    std::fs::write(chart.join("Chart.yaml"), listed).unwrap();
    let out = assert_same(&helm, &chart, &["-f", file.to_str().unwrap()]);
    assert!(out.contains(r#"\"b\":{\"c\":null},"#), "{out}");

    // A subchart's values that are not a map: Helm refuses them, when it
    // processes the dependencies if they are listed.
    let message = assert_both_refuse(&helm, &chart, &["--set", "s=1"]);
    assert_eq!(message, "chart dependencies processing failed: type mismatch on s: %!t(int64=1)");
    std::fs::write(chart.join("values.yaml"), "s:\n  # nothing set\n").unwrap();
    assert_both_refuse(&helm, &chart, &[]);
    let unlisted = values_chart(dir.path(), "unlisted", "k: 1\n");
    values_chart(&unlisted.join("charts"), "s", "x: 1\n");
    let message = assert_both_refuse(&helm, &unlisted, &["--set", "s={a,b}"]);
    assert_eq!(message, "type mismatch on s: [%!t(string=a) %!t(string=b)]");
    assert_both_refuse(&helm, &unlisted, &["--set", "s=null"]);
    assert_same(&helm, &unlisted, &["--set", "s.x=null"]);
}

/// The text is laid out as Helm v4 prints it: a manifest keeps the
/// whitespace its template ended in (a blank line before the next `---`),
/// but for the last one before the hooks.
#[test]
fn manifests_are_laid_out_as_helm_prints_them() {
    let Some(helm) = helm() else { return };
    let dir = tempfile::tempdir().unwrap();
    let chart = values_chart(dir.path(), "layout", "a: 1\n");
    let templates = chart.join("templates");
    let write = |name: &str, text: &str| std::fs::write(templates.join(name), text).unwrap();
    write("a.yaml", "kind: ConfigMap\na: 1\n---\nkind: ConfigMap\nb: 2   \n\n\n---   \nkind: ConfigMap\nc: 3\n");
    write("b.yaml", "kind: Secret\nx: 1");
    write("c.yaml", "\n\n---\n# only a comment\n---\n\n");
    write("d.yaml", "kind: Service\n---kind: Service\nd: 4\n  \n");
    let out = assert_same(&helm, &chart, &[]);
    assert!(out.contains("b: 2   \n\n\n\n---\n"), "{out}");
    // Hooks come after the other manifests, the last of which is trimmed.
    write("h.yaml", "kind: Job\nmetadata:\n  annotations:\n    helm.sh/hook: pre-install\n\n");
    write("i.yaml", "kind: Job\nmetadata:\n  annotations:\n    helm.sh/hook: post-install\n");
    assert_same(&helm, &chart, &[]);

    // Real charts from shared/testdata, with their defaults.
    let real = root().join("../shared/testdata/real/charts");
    if !real.is_dir() {
        assert!(std::env::var_os("CI").is_none(), "shared/testdata/real/charts is missing");
        eprintln!("skipping the real charts: shared/testdata/real/charts is not there");
        return;
    }
    for name in ["traefik", "cert-manager"] {
        assert_same(&helm, &real.join(name), &[]);
    }
}

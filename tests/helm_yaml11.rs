//! `airlock template` against the real `helm template` (Helm v4.3.2, built
//! by `scripts/build-tools.sh` into target/tools/bin) on values read as
//! Helm reads them: sigs.k8s.io/yaml over go-yaml v2, YAML 1.1 (`0755` is
//! 493, `y`, `yes` and `on` are true, keys made strings), every number a
//! float64. The text must be Helm's, but for one known difference: Helm
//! keeps a blank line after a template whose text ends in a newline, where
//! airlock does not.
//!
//! (The conformance script compares the same chart with helm-python-sdk as
//! data; this checks the text, `-f` files PyYAML would type differently,
//! several YAML documents in values.yaml, and `--set`.)

#![allow(clippy::print_stderr)]

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
/// Helm's and airlock's output, or their failure.
fn both(helm: &Path, chart: &Path, args: &[&str]) -> (Result<String, String>, Result<String, String>) {
    let result = |out: Output| {
        if out.status.success() {
            Ok(String::from_utf8(out.stdout).unwrap())
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
    (result(theirs).map(|text| text.replace("\n\n---\n", "\n---\n").trim_end().to_string()), result(ours))
}

fn assert_same(helm: &Path, chart: &Path, args: &[&str]) -> String {
    match both(helm, chart, args) {
        (Ok(theirs), Ok(ours)) => {
            let ours = ours.trim_end().to_string();
            if theirs != ours {
                let line = theirs.lines().zip(ours.lines()).position(|(a, b)| a != b).unwrap_or(0);
                panic!(
                    "{args:?}: airlock's text differs from Helm's at line {}:\n  helm:    {:?}\n  airlock: {:?}",
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
fn a_values_yaml_of_several_documents_and_values_helm_refuses() {
    let Some(helm) = helm() else { return };
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("docs");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(chart.join("Chart.yaml"), "apiVersion: v2\nname: docs\nversion: 0.1.0\n").unwrap();
    std::fs::write(chart.join("templates/cm.yaml"), "data: {{ toJson .Values | quote }}\n").unwrap();
    let values = |text: &str| std::fs::write(chart.join("values.yaml"), text).unwrap();

    values("a: 0755\n--- # the second\nb: {c: y}\n---\n---\nb: {d: off}\na: 1_0\n");
    let out = assert_same(&helm, &chart, &[]);
    assert!(out.contains(r#"data: "{\"a\":10,\"b\":{\"c\":true,\"d\":false}}""#), "{out}");

    // What sigs.k8s.io/yaml cannot turn into JSON, both refuse.
    for text in ["a: .inf\n", "a: .NaN\n", "~: x\n", "a: 1\n---x\n", "a: 1\n---\n- 1\n"] {
        values(text);
        match both(&helm, &chart, &[]) {
            (Err(_), Err(_)) => {}
            (theirs, ours) => panic!("{text:?}: helm {theirs:?}\nairlock {ours:?}"),
        }
    }
}

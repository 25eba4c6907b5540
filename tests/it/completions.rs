//! `airlock completions SHELL` and `airlock man`, generated from the clap
//! definitions: scripts the shells accept (bash sourced and asked to
//! complete; zsh and fish parse-checked where installed) and manual pages
//! `man` renders without a warning.

use crate::support::*;
use std::process::Command;

/// The commands `airlock --help` lists.
fn commands(airlock: &Airlock) -> Vec<String> {
    let help = airlock.ok(&["--help"]);
    let listed = help.split_once("Commands:\n").map(|(_, rest)| rest).unwrap_or_else(|| panic!("{help}"));
    let names: Vec<String> = listed
        .lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect();
    for name in ["create", "diff", "verify", "install", "completions", "man"] {
        assert!(names.iter().any(|n| n == name), "{name} not in {names:?}");
    }
    names
}

/// Whether a shell that install-deps.sh does not install is here.
fn installed(tool: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().is_ok_and(|o| o.status.success())
}

/// What bash's completion offers for `words` (the last one being typed),
/// with the script sourced as a user's shell sources it.
fn bash_completes(script: &std::path::Path, words: &[&str]) -> Vec<String> {
    let array: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source '{}' && COMP_WORDS=({}) && COMP_CWORD={} && COMP_LINE='{}' && COMP_POINT=${{#COMP_LINE}} && _airlock airlock '{}' '{}' && printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        array.join(" "),
        words.len() - 1,
        words.join(" "),
        words[words.len() - 1],
        words[words.len() - 2],
    );
    let out = run_ok(Command::new("bash").args(["--norc", "-c", &program]));
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect()
}

#[test]
fn bash_completion_is_valid_and_completes_commands_and_options() {
    let airlock = Airlock::new();
    let dir = tempfile::tempdir().unwrap();
    let script = airlock.ok(&["completions", "bash"]);
    for name in commands(&airlock) {
        assert!(script.contains(&format!("airlock,{name})")), "no {name} in the script");
    }
    let path = dir.path().join("airlock.bash");
    std::fs::write(&path, &script).unwrap();
    run_ok(Command::new("bash").arg("-n").arg(&path));
    let out = run_ok(
        Command::new("bash").arg("--norc").arg("-c").arg(format!("source '{}' && complete -p airlock", path.display())),
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("-F _airlock airlock"));
    assert_eq!(bash_completes(&path, &["airlock", "ver"]), ["verify"]);
    let mut diff_or_debug = bash_completes(&path, &["airlock", "d"]);
    diff_or_debug.sort();
    assert_eq!(diff_or_debug, ["diff"]);
    assert_eq!(bash_completes(&path, &["airlock", "push", "b.airlock", "--reg"]), ["--registry", "--registry-config"]);
    assert!(bash_completes(&path, &["airlock", "key", ""]).contains(&"generate".to_string()));
    // A shell that is not one is a usage error naming those there are.
    let err = airlock.fails_with(USAGE, &["completions", "tcsh"]);
    assert!(err.contains("bash") && err.contains("zsh") && err.contains("fish"), "{err}");
}

#[test]
fn zsh_and_fish_completions_name_every_command() {
    let airlock = Airlock::new();
    let dir = tempfile::tempdir().unwrap();
    let names = commands(&airlock);
    let zsh = airlock.ok(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef airlock\n"), "{zsh}");
    let fish = airlock.ok(&["completions", "fish"]);
    for name in &names {
        assert!(zsh.contains(&format!("'{name}:")), "zsh: no {name}");
        assert!(fish.contains(&format!("-a \"{name}\"")), "fish: no {name}");
    }
    assert!(fish.contains("__fish_airlock_using_subcommand push") && fish.contains("-l registry"), "{fish}");
    for (shell, script) in [("zsh", &zsh), ("fish", &fish)] {
        if installed(shell) {
            let path = dir.path().join(format!("airlock.{shell}"));
            std::fs::write(&path, script).unwrap();
            run_ok(Command::new(shell).arg("-n").arg(&path));
            if shell == "fish" {
                // fish completes a command line by itself.
                let program = format!("source '{}'; complete -C 'airlock ver'", path.display());
                let out = run_ok(Command::new("fish").args(["--no-config", "-c", &program]));
                assert!(String::from_utf8_lossy(&out.stdout).starts_with("verify\t"), "{out:?}");
            }
        } else {
            eprintln!("not checking the {shell} script's syntax: {shell} is not installed");
        }
    }
}

#[test]
fn man_pages_render_for_airlock_and_every_command() {
    let airlock = Airlock::new();
    let names = commands(&airlock);
    let page = airlock.ok(&["man"]);
    assert!(page.lines().any(|l| l.starts_with(".TH airlock 1 ")), "{page}");
    assert!(page.contains(".SH SYNOPSIS") && page.contains("airlock\\-create(1)"), "{page}");
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man1");
    let listed = airlock.ok(&["man", "--dir", pages.to_str().unwrap()]);
    let mut expected: Vec<String> = names.iter().map(|n| format!("airlock-{n}.1")).collect();
    expected.extend(["airlock.1".to_string(), "airlock-key-generate.1".to_string()]);
    expected.sort();
    let mut written: Vec<String> =
        std::fs::read_dir(&pages).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    written.sort();
    assert_eq!(written, expected);
    assert_eq!(listed.lines().count(), written.len(), "{listed}");
    if !installed("man") {
        eprintln!("not rendering the pages: man is not installed");
        return;
    }
    let render = |path: &std::path::Path| {
        let out = run_ok(Command::new("man").args(["--warnings", "-l"]).arg(path).env("MANWIDTH", "100"));
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(warnings.is_empty(), "{}: {warnings}", path.display());
        String::from_utf8(out.stdout).unwrap()
    };
    let text = render(&pages.join("airlock.1"));
    assert!(text.contains("NAME") && text.contains("airlock - Carry Kubernetes applications"), "{text}");
    assert!(text.contains("--debug") && text.contains("airlock-verify(1)"), "{text}");
    let text = render(&pages.join("airlock-push.1"));
    assert!(text.contains("airlock-push - Push every image") && text.contains("--registry <REGISTRY>"), "{text}");
    let text = render(&pages.join("airlock-key-generate.1"));
    assert!(text.contains("--output-key-prefix") && text.contains("--json"), "{text}");
    for name in &written {
        render(&pages.join(name));
    }
}

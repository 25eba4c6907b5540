//! The one output channel: data to stdout, everything else to stderr,
//! progress bars only on a terminal, plain lines otherwise, nothing at all
//! with `--quiet`. `NO_COLOR` is honoured. Ops report progress through
//! `Progress`; only the CLI writes results.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

#[derive(Clone)]
pub struct Printer {
    pub quiet: bool,
    pub color: bool,
    pub tty: bool,
}

impl Printer {
    pub fn new(quiet: bool) -> Self {
        let tty = std::io::stderr().is_terminal();
        let color = tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Printer { quiet, color, tty }
    }

    /// Data for scripts and people: always printed.
    pub fn data(&self, text: &str) {
        use std::io::Write;
        // A closed pipe (`airlock inspect x | head`) is not an error.
        let _ = writeln!(std::io::stdout().lock(), "{text}");
    }

    /// Status lines on stderr.
    pub fn status(&self, label: &str, text: &str) {
        if !self.quiet {
            if self.color {
                eprintln!("\x1b[1;32m{label:>10}\x1b[0m {text}");
            } else {
                eprintln!("{label:>10} {text}");
            }
        }
    }

    pub fn warn(&self, text: &str) {
        if self.color {
            eprintln!("\x1b[1;33mwarning\x1b[0m: {text}");
        } else {
            eprintln!("warning: {text}");
        }
    }

    pub fn error(&self, err: &anyhow::Error) {
        let (prefix, cause, hint) = if self.color {
            ("\x1b[1;31merror\x1b[0m", "\x1b[1mCaused by\x1b[0m", "\x1b[1;36mhint\x1b[0m")
        } else {
            ("error", "Caused by", "hint")
        };
        eprintln!("{prefix}: {err}");
        let mut last = err.to_string();
        for source in err.chain().skip(1) {
            let text = source.to_string();
            if !last.contains(&text) {
                eprintln!("  {cause}: {text}");
            }
            last = text;
        }
        for h in crate::diagnosis::diagnose(err).hints {
            eprintln!("{hint}: {h}");
        }
    }

    pub fn progress(&self) -> Progress {
        let multi = MultiProgress::with_draw_target(if self.tty && !self.quiet {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        Progress { multi, printer: self.clone() }
    }
}

/// Progress reporting handed to ops.
#[derive(Clone)]
pub struct Progress {
    multi: MultiProgress,
    printer: Printer,
}

impl Progress {
    pub fn bar(&self, label: &str, total_bytes: u64) -> Bar {
        let bar = self.multi.add(ProgressBar::new(total_bytes));
        bar.set_style(
            ProgressStyle::with_template("{prefix:>30.bold} [{bar:30}] {binary_bytes:>10}/{binary_total_bytes:<10} {binary_bytes_per_sec:>12} {eta:>4}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(truncate(label, 30));
        Bar { bar, printer: self.printer.clone() }
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let tail: String = s.chars().rev().take(n - 1).collect::<Vec<_>>().into_iter().rev().collect();
        format!("…{tail}")
    }
}

#[derive(Clone)]
pub struct Bar {
    bar: ProgressBar,
    printer: Printer,
}

impl Bar {
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    /// Ends the bar; without a terminal, prints one plain line instead.
    pub fn finish(&self, label: &str, text: &str) {
        self.bar.finish_and_clear();
        self.printer.status(label, text);
    }
}

pub fn human_bytes(n: u64) -> String {
    indicatif::BinaryBytes(n).to_string()
}

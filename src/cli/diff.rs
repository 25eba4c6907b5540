//! `airlock diff OLD NEW`: calls `ops::diff::diff` and prints what the new
//! bundle changes (or JSON). Exit code 0 whether or not they differ.

use super::shared::values::ValuesArgs;
use crate::destination::cluster::diff::describe;
use crate::ops::diff::{diff, BundleDiff, DiffOptions, Kind};
use crate::output::{human_bytes, Printer};
use anyhow::Result;
use std::fmt::Write;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// The bundle installed now, or an earlier one (a file or its parts).
    old: PathBuf,
    /// The bundle to review.
    new: PathBuf,
    /// Render both bundles' charts in this environment (as `install --env`).
    #[arg(long)]
    env: Option<String>,
    #[command(flatten)]
    values: ValuesArgs,
    /// Print the differences as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, printer: &Printer) -> Result<()> {
    let options = DiffOptions { old: args.old, new: args.new, environment: args.env, values: args.values.given() };
    let report = diff(&options)?;
    if args.json {
        printer.data(&serde_json::to_string_pretty(&report)?);
    } else {
        printer.data(render(&report).trim_end());
    }
    Ok(())
}

fn mark(kind: Kind) -> &'static str {
    match kind {
        Kind::Added => "+",
        Kind::Removed => "-",
        Kind::Changed => "~",
    }
}

fn render(d: &BundleDiff) -> String {
    let mut out = String::new();
    let side = |s: &crate::ops::diff::Side| {
        format!("{} {} ({}, manifest {})", s.name, s.version, s.path.display(), s.manifest_digest)
    };
    let _ = writeln!(out, "old: {}", side(&d.old));
    let _ = writeln!(out, "new: {}", side(&d.new));
    if let Some(env) = &d.environment {
        let _ = writeln!(out, "charts rendered in environment {env}");
    }
    if d.is_empty() {
        let _ = writeln!(out, "\nno differences in images, charts, objects, CRDs, files or signers");
        return out;
    }
    if !d.images.is_empty() {
        let _ = writeln!(out, "\nimages:");
        for c in &d.images {
            let line = match (&c.old, &c.new) {
                (Some(o), Some(n)) if o.reference == n.reference => {
                    format!("{} (digest {} -> {})", n.reference, &o.digest.hex()[..12], &n.digest.hex()[..12])
                }
                (Some(o), Some(n)) => format!("{} -> {} ({})", o.reference, n.reference, human_bytes(n.size)),
                (None, Some(n)) if n.platforms.is_empty() => format!("{} ({})", n.reference, human_bytes(n.size)),
                (None, Some(n)) => format!("{} ({}, {})", n.reference, human_bytes(n.size), n.platforms.join(", ")),
                (Some(o), None) => o.reference.clone(),
                (None, None) => c.repository.clone(),
            };
            let _ = writeln!(out, "  {} {line}", mark(c.kind));
        }
    }
    if !d.charts.is_empty() {
        let _ = writeln!(out, "\ncharts:");
        for c in &d.charts {
            let versions = match (&c.old_version, &c.new_version) {
                (Some(o), Some(n)) if o != n => format!(" {o} -> {n}"),
                (Some(v), _) | (_, Some(v)) => format!(" {v}"),
                _ => String::new(),
            };
            let mut what = Vec::new();
            if c.content_changed {
                what.push("content");
            }
            if c.values_changed {
                what.push("bundled values");
            }
            let what = if what.is_empty() { String::new() } else { format!(" ({} changed)", what.join(", ")) };
            let _ = writeln!(out, "  {} {}{versions}{what}", mark(c.kind), c.name);
        }
    }
    for chart in &d.objects {
        let _ = writeln!(out, "\nobjects of chart {}:", chart.chart);
        if let Some(note) = &chart.note {
            let _ = writeln!(out, "  (not compared: {note})");
        }
        for c in &chart.changes {
            let _ = writeln!(out, "  {} {}", mark(c.kind), c.object);
            for field in &c.fields {
                let _ = writeln!(out, "      {}", describe(field));
            }
        }
    }
    if !d.crds.is_empty() {
        let _ = writeln!(out, "\nCRDs:");
        for c in &d.crds {
            let mut what = Vec::new();
            if !c.versions_added.is_empty() {
                what.push(format!("versions added: {}", c.versions_added.join(", ")));
            }
            if !c.versions_removed.is_empty() {
                what.push(format!("versions REMOVED: {}", c.versions_removed.join(", ")));
            }
            if !c.schema_changed.is_empty() {
                what.push(format!("SCHEMA CHANGED in {}", c.schema_changed.join(", ")));
            }
            if !c.other_fields.is_empty() {
                what.push(format!("changed: {}", c.other_fields.join(", ")));
            }
            let what = if what.is_empty() { String::new() } else { format!(" ({})", what.join("; ")) };
            let _ = writeln!(out, "  {} {}{what}", mark(c.kind), c.name);
        }
    }
    if !d.files.is_empty() {
        let _ = writeln!(out, "\nfiles:");
        for c in &d.files {
            let detail = match (&c.old, &c.new) {
                (Some(o), Some(n)) if o.mode != n.mode && o.digest == n.digest => {
                    format!(" (mode {} -> {})", o.mode, n.mode)
                }
                (_, Some(n)) => format!(" ({}, {})", human_bytes(n.size), n.mode),
                _ => String::new(),
            };
            let _ = writeln!(out, "  {} {}{detail}", mark(c.kind), c.target);
        }
    }
    if !d.signers_added.is_empty() || !d.signers_removed.is_empty() {
        let _ = writeln!(out, "\nsigners:");
        for k in &d.signers_added {
            let _ = writeln!(out, "  + key {k}");
        }
        for k in &d.signers_removed {
            let _ = writeln!(out, "  - key {k}");
        }
    }
    out
}

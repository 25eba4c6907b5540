//! `airlock inspect BUNDLE`: calls `ops::inspect::inspect` (the head only)
//! and prints the summary (or JSON).

use crate::ops::inspect::{inspect, InspectReport};
use crate::output::{human_bytes, Printer};
use anyhow::{Context, Result};
use std::fmt::Write;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    bundle: PathBuf,
    /// Print the full report as JSON.
    #[arg(long)]
    json: bool,
    /// Also write the report as one self-contained HTML page (no script,
    /// no network) for a browser on an air-gapped desktop.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// With --html: add what this bundle changes against OLD (as `airlock diff OLD BUNDLE`).
    #[arg(long, value_name = "OLD", requires = "html")]
    diff: Option<PathBuf>,
    /// With --diff: render the charts in this environment.
    #[arg(long, requires = "diff")]
    env: Option<String>,
}

pub fn run(args: Args, printer: &Printer) -> Result<()> {
    let report = inspect(&args.bundle)?;
    if let Some(file) = &args.html {
        let diff = match &args.diff {
            Some(old) => Some(crate::ops::diff::diff(&crate::ops::diff::DiffOptions {
                old: old.clone(),
                new: args.bundle.clone(),
                environment: args.env.clone(),
                values: Default::default(),
            })?),
            None => None,
        };
        let page = super::inspect_html::page(&report, diff.as_ref());
        crate::atomic_file::write(file, page.as_bytes(), 0o644)
            .with_context(|| format!("cannot write {}", file.display()))?;
        printer.status("Wrote", &file.display().to_string());
    }
    if args.json {
        printer.data(&serde_json::to_string_pretty(&report)?);
    } else {
        printer.data(render(&report).trim_end());
    }
    Ok(())
}

fn render(r: &InspectReport) -> String {
    let m = &r.manifest;
    let mut out = String::new();
    let _ = writeln!(out, "{} {}", m.metadata.name, m.metadata.version);
    if let Some(d) = &m.metadata.description {
        let _ = writeln!(out, "  {d}");
    }
    let _ = writeln!(out, "format:    {}.{} ({})", m.format, m.format_minor, m.created_by);
    let _ = writeln!(out, "manifest:  {}", r.manifest_digest);
    if let Some(base) = &m.base {
        let left: Vec<_> = m.blobs.iter().filter(|b| b.in_base).collect();
        let bytes: u64 = left.iter().map(|b| b.size).sum();
        let _ = writeln!(
            out,
            "differential: {} blobs ({}) left to base {}{}; the target must hold them",
            left.len(),
            human_bytes(bytes),
            base.describe(),
            base.manifest_digest.as_ref().map(|d| format!(" (manifest {d})")).unwrap_or_default()
        );
    }
    let signers: Vec<&str> = r.signatures.iter().map(|s| s.key_id.as_str()).collect();
    let signed = if signers.is_empty() { "no".to_string() } else { format!("yes, by key {}", signers.join(", ")) };
    let _ = writeln!(out, "signed:    {signed} (checked by `airlock verify`, not here)");
    if !m.platforms.is_empty() {
        let _ = writeln!(out, "platforms: {}", m.platforms.join(", "));
    }
    let _ = writeln!(
        out,
        "size:      {} total, {} unique in {} blobs, {} stored",
        human_bytes(r.total_size),
        human_bytes(r.unique_size),
        r.blob_count,
        human_bytes(r.stored_size)
    );
    if r.referrer_count > 0 {
        let _ = writeln!(out, "referrers: {} (signatures, attestations, SBOMs of the images)", r.referrer_count);
    }
    for c in &m.components {
        let _ = writeln!(out, "\ncomponent {}{}", c.name, if c.required { "" } else { " (optional)" });
        for i in &c.images {
            let platforms: Vec<&str> = i.platforms.iter().map(|p| p.platform.as_str()).collect();
            let platforms = if platforms.is_empty() { String::new() } else { format!(" [{}]", platforms.join(", ")) };
            let verified = !i.signatures.is_empty() || i.referrers.iter().any(|r| r.key_id.is_some());
            let cosign = if verified { "  (cosign signature verified at create)" } else { "" };
            let charts =
                if i.charts.is_empty() { String::new() } else { format!("  (run by chart {})", i.charts.join(", ")) };
            let _ = writeln!(
                out,
                "  image    {}@{}  {}{}{cosign}{charts}",
                i.reference,
                i.digest,
                human_bytes(i.size),
                platforms
            );
            for referrer in &i.referrers {
                let of = if referrer.subject == i.digest { String::new() } else { format!(" of {}", referrer.subject) };
                let verified = if referrer.key_id.is_some() { ", verified at create" } else { "" };
                let _ = writeln!(out, "    referrer {}  {}{of}{verified}", referrer.digest, referrer.kind());
            }
        }
        for ch in &c.charts {
            let ns = ch.namespace.as_deref().map(|n| format!(" -n {n}")).unwrap_or_default();
            let _ = writeln!(
                out,
                "  chart    {} ({} {}){}  {}",
                ch.name,
                ch.chart_name,
                ch.version,
                ns,
                human_bytes(ch.size)
            );
        }
        for d in &c.crds {
            let _ = writeln!(out, "  crds     {}  {}", d.name, human_bytes(d.size));
        }
        for d in &c.manifests {
            let _ = writeln!(out, "  manifest {}  {}", d.name, human_bytes(d.size));
        }
        for f in &c.files {
            let _ = writeln!(out, "  file     {} ({})  {}", f.target, f.mode, human_bytes(f.size));
        }
    }
    for (name, environment) in &m.environments {
        let about = environment.description.as_deref().map(|d| format!("  {d}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "
environment {name} (install --env {name}){about}"
        );
        for (chart, values) in &environment.charts {
            let files: Vec<&str> = values.values_files.iter().map(|f| f.name.as_str()).collect();
            let inline = if values.values.is_some() { " and inline values" } else { "" };
            let from = if files.is_empty() { String::new() } else { format!(" from {}", files.join(", ")) };
            let _ = writeln!(out, "  chart    {chart}: values{from}{inline}");
        }
        for (component, documents) in &environment.components {
            for d in documents {
                let _ = writeln!(out, "  manifest {} (adds to component {component})  {}", d.name, human_bytes(d.size));
            }
        }
    }
    out
}

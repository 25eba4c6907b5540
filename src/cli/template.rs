//! `airlock template CHART`: calls `ops::template::template` and prints the
//! rendered manifests, as `helm template` does.

use crate::chart::manifests;
use crate::chart::render::RenderOptions;
use crate::cli::shared::values::ValuesArgs;
use crate::ops::template::{template, TemplateOptions};
use crate::output::Printer;
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// A chart directory or .tgz archive.
    chart: PathBuf,
    #[command(flatten)]
    values: ValuesArgs,
    /// Release name.
    #[arg(long, default_value = "release-name")]
    name: String,
    /// Release namespace.
    #[arg(long, short = 'n', default_value = "default")]
    namespace: String,
    /// Kubernetes version for .Capabilities and kubeVersion checks.
    #[arg(long, default_value = crate::chart::render::DEFAULT_KUBE_VERSION)]
    kube_version: String,
    /// Extra API versions for .Capabilities.APIVersions.Has.
    #[arg(long = "api-versions", short = 'a')]
    api_versions: Vec<String>,
    /// Print the chart's crds/ files first.
    #[arg(long)]
    include_crds: bool,
    /// Print a JSON object of template path -> rendered text instead.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, printer: &Printer) -> Result<()> {
    let options = TemplateOptions {
        chart: args.chart,
        values: args.values.given(),
        render: RenderOptions {
            release_name: args.name,
            namespace: args.namespace,
            kube_version: args.kube_version,
            api_versions: args.api_versions,
            ..RenderOptions::default()
        },
    };
    let rendered = template(&options)?;
    if args.json {
        printer.data(&serde_json::to_string_pretty(&rendered.manifests)?);
        return Ok(());
    }
    let mut out = String::new();
    if args.include_crds {
        for (path, text) in &rendered.crds {
            out.push_str(&format!("---\n# Source: {path}\n{}\n", text.trim_end()));
        }
    }
    // As `helm template` prints a release: manifests in install order, then
    // the hooks, each marked with its events.
    let (regular, hooks) = manifests::sort(&rendered);
    for m in &regular {
        out.push_str(&format!("---\n# Source: {}\n{}\n", m.source, m.text));
    }
    for m in &hooks {
        out.push_str(&format!("---\n# Source: {}\n# Hook: {}\n{}\n", m.source, m.hook_events.join(","), m.text));
    }
    printer.data(out.trim_end());
    Ok(())
}

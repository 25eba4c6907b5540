//! `airlock history NAME`: calls `ops::history::history` for a K3s node
//! (`--k3s`) or a cluster, and prints the revisions (or JSON).

use super::shared::target::SelectionArgs;
use crate::destination::cluster::kubeconfig::Selection;
use crate::ops::destination::{Node, Target};
use crate::ops::history::{history, HistoryOptions};
use crate::output::Printer;
use anyhow::Result;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Bundle name (metadata.name).
    name: String,
    /// List the revisions installed on this K3s node (instead of in a cluster).
    #[arg(long, conflicts_with_all = ["kubeconfig", "context"])]
    k3s: bool,
    /// With --k3s: make every path relative to this directory.
    #[arg(long, default_value = "/", conflicts_with_all = ["kubeconfig", "context"])]
    root: PathBuf,
    #[command(flatten)]
    cluster: SelectionArgs,
    /// Print the revisions as JSON.
    #[arg(long)]
    json: bool,
    /// Print what revision REV was given instead: its environment and the
    /// site's values (YAML, keyed by chart), as `helm get values` does.
    #[arg(long, value_name = "REV", conflicts_with = "json")]
    values: Option<u32>,
}

pub fn run(args: Args, printer: &Printer) -> Result<()> {
    let target = if args.k3s {
        Target::Node(Node { root: args.root, api: Selection::default() })
    } else if args.root != std::path::Path::new("/") {
        usage!("--root applies to --k3s; a cluster is reached through its kubeconfig alone");
    } else {
        Target::Cluster(args.cluster.selection())
    };
    let lines = history(&HistoryOptions { name: args.name, target })?;
    if args.json {
        printer.data(&serde_json::to_string_pretty(&lines)?);
        return Ok(());
    }
    if let Some(wanted) = args.values {
        let Some(line) = lines.iter().find(|l| l.revision == wanted) else {
            let recorded: Vec<String> = lines.iter().map(|l| l.revision.to_string()).collect();
            usage!("revision {wanted} is not recorded; recorded: {}", recorded.join(", "));
        };
        let mut given = serde_json::json!({
            "environment": line.environment,
            "values": line.site_values.clone().unwrap_or(serde_json::json!({})),
        });
        if !line.values_secrets.is_empty() {
            given["valuesSecrets"] = serde_json::json!(line.values_secrets);
        }
        printer.data(serde_saphyr::to_string(&given)?.trim_end());
        return Ok(());
    }
    for r in lines {
        let time = r.time.map(|t| format!("{t}  ")).unwrap_or_default();
        let count = match (r.files, r.objects) {
            (Some(files), _) => format!("{files} files"),
            (_, Some(objects)) => format!("{objects} objects"),
            _ => String::new(),
        };
        let failed = r.failed.map(|why| format!("  failed: {why}")).unwrap_or_default();
        let helm: Vec<String> =
            r.helm.iter().map(|h| format!("{} r{} in {}", h.name, h.revision, h.namespace)).collect();
        let helm = if helm.is_empty() { String::new() } else { format!("  helm: {}", helm.join(", ")) };
        let helm = match &r.environment {
            Some(environment) => format!("  env: {environment}{helm}"),
            None => helm,
        };
        printer.data(&format!(
            "{:>4}  {:<14} {} {}  {time}{}  {count}{helm}{failed}",
            r.revision, r.action, r.name, r.version, r.manifest_digest
        ));
    }
    Ok(())
}

//! `airlock serve BUNDLE`: calls `ops::serve::serve` and prints where the
//! read-only registry listens and what it serves.

use super::shared::trust::TrustArgs;
use crate::ops::serve::{serve, ServeOptions};
use crate::output::Printer;
use anyhow::Result;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    bundle: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:5000")]
    listen: SocketAddr,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// Private key (PEM) for --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// For a differential bundle: the full bundle it was made against,
    /// which serves the blobs it left out.
    #[arg(long, value_name = "BUNDLE")]
    base: Option<PathBuf>,
    #[command(flatten)]
    trust: TrustArgs,
}

pub fn run(args: Args, printer: &Printer) -> Result<()> {
    let scheme = if args.tls_cert.is_some() { "https" } else { "http" };
    let options = ServeOptions {
        bundle: args.bundle.clone(),
        listen: args.listen,
        tls: args.tls_cert.zip(args.tls_key),
        base: args.base,
        trust: args.trust.options(),
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(serve(options, |serving| {
        super::shared::trust::report(printer, &args.bundle, &serving.verdict);
        for repo in &serving.repositories {
            printer.status("Serving", repo);
        }
        printer.data(&format!(
            "serving {} on {scheme}://{} (read-only; Ctrl-C stops)",
            args.bundle.display(),
            serving.address
        ));
    }))
}

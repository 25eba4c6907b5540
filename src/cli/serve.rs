//! `airlock serve BUNDLE`: calls `ops::serve::serve` and prints where the
//! read-only registry listens and what it serves.

use super::shared::trust::TrustArgs;
use crate::ops::serve::{serve, ServeOptions};
use crate::output::Printer;
use anyhow::Result;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

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
    /// How long a client has to finish its TLS handshake before its
    /// connection is closed.
    #[arg(
        long,
        requires = "tls_cert",
        value_name = "DURATION",
        value_parser = humantime::parse_duration,
        default_value = "10s"
    )]
    tls_handshake_timeout: Duration,
    /// Require Basic auth from every request: users and bcrypt passwords
    /// as `htpasswd -B` writes them (use with --tls-cert: Basic auth sends
    /// the password with each request).
    #[arg(long, value_name = "FILE")]
    htpasswd: Option<PathBuf>,
    /// For a differential bundle: the full bundle it was made against,
    /// which serves the blobs it left out.
    #[arg(long, value_name = "BUNDLE")]
    base: Option<PathBuf>,
    #[command(flatten)]
    trust: TrustArgs,
}

pub fn run(args: Args, printer: &Printer) -> Result<()> {
    let scheme = if args.tls_cert.is_some() { "https" } else { "http" };
    let auth = args.htpasswd.is_some();
    let options = ServeOptions {
        bundle: args.bundle.clone(),
        listen: args.listen,
        tls: args.tls_cert.zip(args.tls_key),
        handshake_timeout: args.tls_handshake_timeout,
        htpasswd: args.htpasswd,
        base: args.base,
        trust: args.trust.options(),
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(serve(options, |serving| {
        super::shared::trust::report(printer, &args.bundle, &serving.verdict);
        for repo in &serving.repositories {
            printer.status("Serving", repo);
        }
        let access = if auth { "read-only, Basic auth" } else { "read-only" };
        printer.data(&format!(
            "serving {} on {scheme}://{} ({access}; Ctrl-C stops)",
            args.bundle.display(),
            serving.address
        ));
    }))
}

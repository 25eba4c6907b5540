//! `airlock serve`: check the bundle's signature, then serve it as a
//! read-only registry until interrupted.

use crate::oci::registry::error_chain;
use crate::serve::htpasswd::Htpasswd;
use crate::serve::{router, tls, Catalog};
use crate::sign::trust::{TrustOptions, Verdict};
use crate::sign::trusted;
use anyhow::Result;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub struct ServeOptions {
    pub bundle: PathBuf,
    pub listen: SocketAddr,
    pub tls: Option<(PathBuf, PathBuf)>,
    /// How long a TLS client has for its handshake.
    pub handshake_timeout: Duration,
    /// Users (bcrypt htpasswd) whose Basic credentials every request needs.
    pub htpasswd: Option<PathBuf>,
    /// The full bundle a differential one was made against.
    pub base: Option<PathBuf>,
    pub trust: TrustOptions,
}

pub struct Serving {
    pub verdict: Verdict,
    pub address: SocketAddr,
    pub repositories: Vec<String>,
}

/// Binds, reports through `on_ready`, then serves until Ctrl-C / SIGTERM.
pub async fn serve(options: ServeOptions, on_ready: impl FnOnce(&Serving)) -> Result<()> {
    // The users first: a bad file should not wait for the bundle's check.
    let users = match options.htpasswd.as_deref() {
        // The user's to fix (exit code 2), with the whole cause in one line.
        Some(path) => Some(Arc::new(Htpasswd::load(path).map_err(|e| crate::diagnosis::Usage(error_chain(&e)))?)),
        None => None,
    };
    let trusted = trusted::open(&options.bundle, options.base.as_deref(), &options.trust)?;
    if let (Some(wanted), None) = (&trusted.reader.head.manifest.base, &options.base) {
        usage!(
            "{} is a differential bundle: it leaves blobs to its base {}; to serve it, give that bundle with --base, or serve the full bundle",
            options.bundle.display(),
            wanted.describe()
        );
    }
    let (catalog, verdict) = (Arc::new(Catalog::new(trusted.reader)), trusted.verdict);
    let listener = tokio::net::TcpListener::bind(options.listen).await.map_err(|e| {
        let what_to_do = match e.kind() {
            std::io::ErrorKind::AddrInUse => "; something else listens there: choose another port with --listen",
            std::io::ErrorKind::PermissionDenied => "; ports below 1024 need root: choose another with --listen",
            _ => "",
        };
        anyhow::anyhow!("cannot listen on {}: {e}{what_to_do}", options.listen)
    })?;
    let serving = Serving {
        verdict,
        address: listener.local_addr()?,
        repositories: catalog
            .repositories()
            .flat_map(|(repo, tags)| tags.keys().map(move |t| format!("{repo}:{t}")))
            .collect(),
    };
    let app = router(catalog, users);
    let acceptor = options.tls.as_ref().map(|(cert, key)| tls::acceptor(cert, key)).transpose()?;
    on_ready(&serving);
    let shutdown = async {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("signal handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    };
    match acceptor {
        Some(acceptor) => {
            tokio::select! {
                r = tls::serve(listener, acceptor, app, options.handshake_timeout) => r?,
                _ = shutdown => {}
            }
        }
        None => axum::serve(listener, app).with_graceful_shutdown(shutdown).await?,
    }
    Ok(())
}

//! What a failure means to whoever ran airlock: the exit code a script can
//! act on, and the hints (what to do next) printed after the error chain.
//! Error types stay plain data that say what happened; the advice for each
//! domain's errors is collected here, one file per domain (`bundle`,
//! `cluster`, `registry`), so it reads the same however deep the error.
//!
//! Exit codes (documented in the README):
//! - 0: success;
//! - 1: airlock could not do its work (a registry or cluster out of reach,
//!   a refusal, a full disk, a failed hook...);
//! - 2: usage: a flag, argument or file given is wrong or missing (clap's
//!   own errors exit 2 too);
//! - 3: the bundle is damaged, or its signature is missing or does not
//!   verify: get the bundle again from its source.

mod bundle;
mod cluster;
mod registry;

/// A wrong use of the command line found after clap parsed it (flags that
/// cannot go together, a flag that has no meaning for the target).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

pub const FAILURE: i32 = 1;
pub const USAGE: i32 = 2;
pub const BAD_BUNDLE: i32 = 3;

/// How a domain classifies one of its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// The bundle, or its signature, is bad.
    Bundle,
    /// What was asked is wrong.
    Usage,
    /// Anything else: the work could not be done.
    Work,
}

pub struct Diagnosis {
    pub exit_code: i32,
    /// What to do next, most specific first, each said once.
    pub hints: Vec<String>,
}

/// Reads every cause of `err` (a wrapper that forwards to an inner error
/// is looked through), for the exit code and the hints.
pub fn diagnose(err: &anyhow::Error) -> Diagnosis {
    let mut fault = None;
    let mut hints: Vec<String> = Vec::new();
    for cause in err.chain() {
        for (found, hint) in bundle::diagnose(cause)
            .into_iter()
            .chain(cluster::diagnose(cause))
            .chain(registry::diagnose(cause))
            .chain(cause.downcast_ref::<Usage>().map(|_| (Fault::Usage, None)))
        {
            // The outermost classified cause decides the exit code.
            fault.get_or_insert(found);
            if let Some(hint) = hint.filter(|h| !hints.contains(h)) {
                hints.push(hint);
            }
        }
    }
    let exit_code = match fault {
        Some(Fault::Bundle) => BAD_BUNDLE,
        Some(Fault::Usage) => USAGE,
        Some(Fault::Work) | None => FAILURE,
    };
    Diagnosis { exit_code, hints }
}

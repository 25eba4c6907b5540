//! Hints: what to do next for well-known failures, printed after the error
//! chain. Kept apart so error types stay plain data.

use crate::bundle::BundleError;
use crate::oci::registry::RegistryError;

pub fn for_error(err: &anyhow::Error) -> Option<String> {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<RegistryError>() {
            return match e {
                RegistryError::Unreachable { .. } => Some("check that the registry is running and reachable from this host; for a plain-HTTP registry pass `--plain-http`".into()),
                _ => None,
            };
        }
        if let Some(BundleError::DigestMismatch { .. } | BundleError::Truncated { .. }) =
            cause.downcast_ref::<BundleError>()
        {
            return Some(
                "the bundle was damaged in transit; copy it again from the source and rerun `airlock verify`".into(),
            );
        }
    }
    None
}

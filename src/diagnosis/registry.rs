//! Registries: what to do when one cannot be reached, refuses, or holds
//! something else than asked for.

use super::Fault;
use crate::destination::registry::PushError;
use crate::oci::registry::RegistryError;
use crate::oci::resolve::ResolveError;
use crate::sign::image::ImageSignatureError;

pub(super) fn diagnose(cause: &(dyn std::error::Error + 'static)) -> Option<(Fault, Option<String>)> {
    match cause.downcast_ref::<PushError>() {
        Some(PushError::Registry(e)) => return Some(of_registry(e)),
        Some(PushError::Corrupt { .. }) => return Some((Fault::Bundle, None)),
        Some(PushError::BadDestination(_) | PushError::Collision { .. } | PushError::MissingBaseBlobs { .. }) => {
            return Some((Fault::Usage, None))
        }
        // Its cause (a damaged bundle) classifies it.
        Some(PushError::Bundle(..)) => return None,
        Some(_) => return Some((Fault::Work, None)),
        None => {}
    }
    // Wrappers that show the registry's error as their own.
    if let Some(ImageSignatureError::Registry(e)) = cause.downcast_ref::<ImageSignatureError>() {
        return Some(of_registry(e));
    }
    if let Some(ResolveError::Source(e)) = cause.downcast_ref::<ResolveError<RegistryError>>() {
        return Some(of_registry(e));
    }
    cause.downcast_ref::<RegistryError>().map(of_registry)
}

fn of_registry(e: &RegistryError) -> (Fault, Option<String>) {
    let hint = match e {
        RegistryError::NotFound { .. } => Some("check the image's name and tag".to_string()),
        RegistryError::Unauthorized { registry, .. } => {
            Some(format!("check --username/--password, --registry-config or `docker login {registry}`"))
        }
        RegistryError::Unreachable { .. } => {
            Some("check the registry's address, and that it is running and reachable from this host".into())
        }
        RegistryError::UntrustedCertificate { .. } => {
            Some("pass its CA with --ca-file, or --plain-http if it serves plain HTTP".into())
        }
        RegistryError::NotTls { .. } => Some("pass --plain-http if it serves plain HTTP, or check its port".into()),
        RegistryError::WantsTls { .. } => {
            Some("drop --plain-http (and pass --ca-file if a private CA signed its certificate)".into())
        }
        RegistryError::NoSpace { .. } => {
            Some("free space on the registry's storage and push again: what it already holds is not sent again".into())
        }
        RegistryError::CaFile { .. } | RegistryError::NotPem { .. } => {
            Some("give a PEM file (-----BEGIN CERTIFICATE-----)".into())
        }
        _ => None,
    };
    let fault = match e {
        RegistryError::CaFile { .. }
        | RegistryError::NotPem { .. }
        | RegistryError::Config { .. }
        | RegistryError::ConfigIo { .. } => Fault::Usage,
        _ => Fault::Work,
    };
    (fault, hint)
}

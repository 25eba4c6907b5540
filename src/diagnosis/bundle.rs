//! Bundles, their bases and their signatures: which failures mean the
//! bundle is bad (exit 3), which mean it was named wrongly (exit 2), and
//! what to do about each.

use super::Fault;
use crate::bundle::base::BaseError;
use crate::bundle::BundleError;
use crate::destination::k3s::images::ImagesTarError;
use crate::destination::k3s::InstallError;

const DAMAGED: &str =
    "the bundle was damaged in transit or on its medium: copy it again from its source, then rerun `airlock verify`";
use crate::sign::trust::TrustError;
use crate::sign::trusted::OpenError;
use crate::sign::SignError;

pub(super) fn diagnose(cause: &(dyn std::error::Error + 'static)) -> Option<(Fault, Option<String>)> {
    if let Some(e) = cause.downcast_ref::<OpenError>() {
        return match e {
            OpenError::Bundle(e) => Some(of_bundle(e)),
            OpenError::Base(e) => Some(of_base(e)),
            OpenError::Trust(e) => Some(of_trust(e)),
            OpenError::NoSuchComponent { .. } | OpenError::RequiredComponent { .. } => Some((
                Fault::Usage,
                Some("`airlock inspect BUNDLE` lists its components and which are optional".into()),
            )),
        };
    }
    if let Some(e) = cause.downcast_ref::<BundleError>() {
        return Some(of_bundle(e));
    }
    if let Some(e) = cause.downcast_ref::<BaseError>() {
        return Some(of_base(e));
    }
    if let Some(e) = cause.downcast_ref::<TrustError>() {
        return Some(of_trust(e));
    }
    match cause.downcast_ref::<InstallError>() {
        Some(InstallError::Bundle(e)) => return Some(of_bundle(e)),
        // Its message says what to do (for a differential bundle too).
        Some(InstallError::Images(ImagesTarError::Corrupt { .. })) => return Some((Fault::Bundle, None)),
        Some(e) => return Some(of_node_install(e)),
        None => {}
    }
    if let Some(ImagesTarError::Corrupt { .. }) = cause.downcast_ref::<ImagesTarError>() {
        return Some((Fault::Bundle, None));
    }
    cause.downcast_ref::<SignError>().map(of_key)
}

fn of_bundle(e: &BundleError) -> (Fault, Option<String>) {
    match e {
        BundleError::NotFound { .. } => (
            Fault::Usage,
            Some("check the path: a bundle is one .airlock file, or a directory holding its parts".into()),
        ),
        BundleError::UnsupportedFormat { found, .. } => {
            (Fault::Work, Some(format!("use an airlock release that reads bundle format {found}")))
        }
        BundleError::NoSpace { .. } => (Fault::Work, Some("free some space, or write to a larger medium".into())),
        BundleError::Io { .. } => (Fault::Work, None),
        BundleError::InBase { .. } => (
            Fault::Usage,
            Some("give the full bundle it was made against with --base (push, serve, install and upgrade take it), or use the full bundle of this version".into()),
        ),
        BundleError::NoBundleIn { .. } => (Fault::Usage, None),
        BundleError::ChangedWhileVerified { .. } => (
            Fault::Work,
            Some("something wrote to the bundle while it was read (a copy still running?): let it finish, then rerun".into()),
        ),
        // Its reason says what to do (a part named wrongly, given twice).
        BundleError::InParts { .. } | BundleError::NotABundle { .. } => (Fault::Bundle, None),
        BundleError::Truncated { .. }
        | BundleError::DigestMismatch { .. }
        | BundleError::BadEntry { .. }
        | BundleError::MissingReference { .. }
        | BundleError::MissingBlob { .. }
        | BundleError::CorruptPart(_) => (Fault::Bundle, Some(DAMAGED.into())),
    }
}

fn of_base(e: &BaseError) -> (Fault, Option<String>) {
    match e {
        BaseError::Bundle(e) => of_bundle(e),
        _ => (Fault::Usage, None),
    }
}

fn of_trust(e: &TrustError) -> (Fault, Option<String>) {
    match e {
        TrustError::NoTrustedKeys { .. } => (
            Fault::Usage,
            Some("pass `--key PUB` (or set AIRLOCK_TRUSTED_KEYS), or `--allow-unsigned` to skip the signature check".into()),
        ),
        TrustError::Unsigned { .. } => {
            (Fault::Bundle, Some("sign it with `airlock sign --key KEY`, or pass `--allow-unsigned`".into()))
        }
        TrustError::BadSignature { .. } => (
            Fault::Bundle,
            Some("the bundle was altered, or signed with another key: get it again from its source, or trust the key it was signed with (--key)".into()),
        ),
        TrustError::Key(e) => of_key(e),
        TrustError::Dir { .. } => (Fault::Usage, None),
    }
}

/// A K3s node install: what to do when the node refuses.
fn of_node_install(e: &InstallError) -> (Fault, Option<String>) {
    match e {
        InstallError::AlreadyInstalled { .. } => (Fault::Work, Some("use `airlock upgrade` to replace it".into())),
        InstallError::NotInstalled { .. } => (Fault::Work, Some("use `airlock install` first".into())),
        InstallError::NoSpace { .. } => (Fault::Work, Some("free some space, or install elsewhere with --root".into())),
        InstallError::NotWritable { .. } => {
            (Fault::Work, Some("run as a user who can write there, or choose another --root".into()))
        }
        _ => (Fault::Work, None),
    }
}

/// A key named on the command line that cannot be used is a usage error.
fn of_key(e: &SignError) -> (Fault, Option<String>) {
    match e {
        SignError::Generate(_) | SignError::Sign(_) => (Fault::Work, None),
        _ => (Fault::Usage, None),
    }
}

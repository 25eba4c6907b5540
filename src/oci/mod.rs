//! Images and OCI content: digests, media types, manifests, references, and
//! the sources images are read from (registries, OCI layouts, docker
//! archives). Knows nothing about bundles or specs.

pub mod credentials;
pub mod digest;
pub mod layout;
pub mod manifest;
pub mod media;
pub mod mirror;
pub mod registry;
pub mod resolve;
pub mod source;

//! Targets a bundle is installed into. `registry`: a private OCI registry.
//! Targets read bundles through `bundle::reader` and never write to them.

pub mod registry;

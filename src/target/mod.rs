//! Targets a bundle is installed into. `registry`: a private OCI registry;
//! `k3s`: an edge K3s node.
//! Targets read bundles through `bundle::reader` and never write to them.

pub mod k3s;
pub mod registry;

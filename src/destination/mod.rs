//! Targets a bundle is installed into. `registry`: a private OCI registry;
//! `k3s`: an edge K3s node; `cluster`: a Kubernetes API server; `kube`: the
//! vocabulary of Kubernetes objects that `k3s` and `cluster` share;
//! `removed_apis`: the APIs Kubernetes removed, and their replacements;
//! `site`: the values and environment the site chooses.
//! Targets read bundles through `bundle::reader` and never write to them.

pub mod cluster;
pub mod k3s;
pub mod kube;
pub mod registry;
pub mod removed_apis;
pub mod site;

//! airlock carries Kubernetes applications across an air gap.
//!
//! Architecture, outside in:
//! - `cli`: clap definitions; each command fills an options struct, calls one
//!   op and prints its report through `output::Printer`.
//! - `ops`: one module per verb (create, inspect, verify, export, key,
//!   sign, push, serve, copy, split, template; and the install verbs
//!   install/upgrade, rollback, uninstall, history, test, each over one
//!   `ops::destination::Target`: a K3s node or a cluster); the only layer
//!   that adds `anyhow` context. An op never calls another op.
//! - domain modules, each with its own `thiserror` error type:
//!   `bundle_spec` (airlock.yaml), `oci` (digests, manifests, the registry protocol,
//!   local image sources), `chart` (Helm charts as OCI artifacts, Helm
//!   repositories, and the Helm-compatible engine: `chart::template` for Go
//!   templates and Sprig, `load`/`values`/`render` for Helm's rules, image
//!   discovery, dependencies), `bundle` (the file format: writer, reader,
//!   verifier, signature slot, parts, verified copy), `sign` (keys,
//!   signatures, trust, image signatures, and `sign::trusted`: the one way
//!   a bundle is opened to act on it), `destination` (where bundles are
//!   installed: a `registry`, `k3s` nodes and a `cluster` through its API,
//!   side by side on the shared Kubernetes floor `kube`, each owning its
//!   engine), `serve`
//!   (a read-only registry over a bundle), `cache` (content-addressed blobs),
//!   `yaml11` (YAML read as Helm and kubectl read it: YAML 1.1 typing
//!   through sigs.k8s.io/yaml, for chart values and objects sent to a cluster).
//!
//! No global state (but `logging`'s subscriber, installed once by
//! `--debug`); async (tokio) only where I/O is concurrent (registries).
//!
//! Only `cli` and `output` are public (for `main.rs`): every other module is
//! the crate's own, so the compiler reports what nothing uses.

mod atomic_file;
mod bundle;
mod bundle_spec;
mod cache;
mod chart;
pub mod cli;
mod destination;
mod diagnosis;
mod disk;
mod logging;
mod oci;
mod ops;
pub mod output;
mod serve;
mod sign;
mod writeback;
mod yaml11;

/// The entry points the fuzz targets in `fuzz/` drive (see
/// docs/fuzzing.md). Built only with the `fuzzing` feature, which nothing
/// but `fuzz/Cargo.toml` turns on: not an API, and without it every module
/// stays private so the compiler keeps reporting dead code.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::bundle::parts::Source;
    pub use crate::bundle::reader::{parse_header, parse_manifest, read_head, BundleReader};
    pub use crate::bundle::verify::verify_stream;
    pub use crate::bundle_spec::load as load_spec;
    pub use crate::chart::load::from_archive;
    pub use crate::chart::render::{render, RenderOptions};
    pub use crate::chart::template::{Map, TemplateSet, Value};
    pub use crate::chart::values::{apply_set, read_values};
}

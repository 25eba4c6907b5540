//! airlock carries Kubernetes applications across an air gap.
//!
//! Architecture, outside in:
//! - `cli`: clap definitions; each command fills an options struct, calls one
//!   op and prints its report through `output::Printer`.
//! - `ops`: one module per command (create, inspect, verify, export, key,
//!   sign, push, serve, install (with upgrade and rollback; `install_cluster`
//!   for a cluster through its API), template, split, copy); the only layer
//!   that adds `anyhow` context.
//! - domain modules, each with its own `thiserror` error type:
//!   `bundle_spec` (airlock.yaml), `oci` (digests, manifests, the registry protocol,
//!   local image sources), `chart` (Helm charts as OCI artifacts, Helm
//!   repositories, and the Helm-compatible engine: `chart::template` for Go
//!   templates and Sprig, `load`/`values`/`render` for Helm's rules, image
//!   discovery, dependencies), `bundle` (the file format: writer, reader,
//!   verifier, signature slot, parts, verified copy), `sign` (keys, signatures, trust, image signatures),
//!   `destination` (where bundles are installed: `registry`, `k3s` nodes, and
//!   a `cluster` through its API), `serve`
//!   (a read-only registry over a bundle), `cache` (content-addressed blobs),
//!   `yaml11` (YAML read as Helm and kubectl read it: YAML 1.1 typing
//!   through sigs.k8s.io/yaml, for chart values and objects sent to a cluster).
//!
//! No global state; async (tokio) only where I/O is concurrent (registries).

pub mod atomic_file;
pub mod bundle;
pub mod bundle_spec;
pub mod cache;
pub mod chart;
pub mod cli;
pub mod destination;
pub mod disk;
pub mod hint;
pub mod oci;
pub mod ops;
pub mod output;
pub mod serve;
pub mod sign;
pub mod writeback;
pub mod yaml11;

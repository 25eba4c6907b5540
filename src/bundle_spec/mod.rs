//! The `airlock.yaml` spec: its model, loading, and validation. Every error
//! names the spec file, line and column. Paths in the spec are relative to
//! the spec file. This module reads the spec file only; it never touches
//! registries or other files the spec names.

mod model;
mod validate;

pub use validate::{load, Chart, ChartOrigin, Component, Environment, FileItem, Image, Located, Spec};

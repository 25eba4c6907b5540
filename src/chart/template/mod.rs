//! A Go `text/template` engine with the Sprig and Helm functions charts
//! use, so airlock renders charts as Helm does with nothing but its own
//! binary inside the air gap.
//!
//! Written here rather than taken from a crate: the Go-template crates
//! (gtmpl and its forks) cannot give `include` and `tpl` access to the
//! template set, print numbers as Go does, or report Go's positions.
//! This module knows templates and values only; charts, values files and
//! Helm's render rules are in `chart::render`.
//!
//! Source flows as in Go's text/template: `lex` cuts it into items, `parse`
//! builds the `node` tree (with `literal` decoding strings and numbers),
//! `exec` runs it, calling `funcs`, over `value`s.

pub mod convert;
mod exec;
mod funcs;
mod lex;
mod literal;
mod node;
mod parse;
pub mod semver;
#[cfg(test)]
mod tests;
pub mod value;

pub use exec::{ClusterLookup, TemplateSet};
pub use value::{str_field, Map, Object, Value};

//! YAML read as Helm and kubectl read it: sigs.k8s.io/yaml v1.6 over
//! go-yaml v2 (go.yaml.in/yaml/v2 v2.4, which Helm v4 links), that is YAML
//! 1.1 typing of plain scalars. So `0755` is the octal 493, `on`, `yes` and
//! `y` are true, `1_000` is 1000, and mapping keys that are numbers or
//! booleans become strings (`1`, `true`).
//!
//! Two readings, as sigs.k8s.io/yaml has them:
//! - [`documents`]: `YAMLToJSON`, the JSON text a YAML stream becomes (read
//!   back here as serde_json reads it): the objects airlock sends to a
//!   Kubernetes API server, and what K3s read from a manifest file.
//! - [`unmarshal`]: `Unmarshal` into `interface{}` (or a map of them), which
//!   goes through that JSON and encoding/json, so every number is a
//!   float64: Helm's values files, `Chart.yaml`, `Chart.lock`, and the
//!   `fromYaml`/`fromYamlArray` template functions. Only the first
//!   document is read, as go-yaml's `Unmarshal` reads it.
//!
//! Not for airlock's own files (the spec), which are YAML 1.2 through
//! serde-saphyr: those are read with [`saphyr::from_str`], serde-saphyr on
//! the same parser with the same setting as here (no comment events, so a
//! long block of comments reads as none).
//!
//! The typing is written by hand because no Rust crate types scalars as
//! go-yaml v2 does (the Rust YAML crates follow YAML 1.2's core schema,
//! where `0755` is 755 and `yes` a string). The parsing is not: it is the
//! parser serde-saphyr is built on (granit-parser, which serde-saphyr
//! re-exports), whose events give each scalar's text, style and tag. The
//! rules follow go-yaml v2's `resolve.go` and `decode.go` and
//! sigs.k8s.io/yaml's `yaml.go`, named where each applies:
//! - `tree`: parser events into each document's nodes;
//! - `decode`: aliases, merge keys, mapping keys, nodes into JSON values;
//! - `resolve`: YAML 1.1 typing of scalars;
//! - `scalar`: a typed scalar as encoding/json and strconv write it.

mod decode;
mod resolve;
pub mod saphyr;
mod scalar;
#[cfg(test)]
mod tests;
mod tree;

use resolve::{implicit, is_timestamp};
use scalar::Scalar;
use serde_json::Value;
use tree::read;

/// Every document of a YAML stream as `YAMLToJSON` makes it, an empty
/// document as null. An integral float is the integer encoding/json writes
/// for it (`1.0` is 1, as the API server reads it). Errors name the line.
pub fn documents(text: &str) -> Result<Vec<Value>, String> {
    read(text, Numbers::JsonText, usize::MAX)
}

/// The first document of a YAML stream as sigs.k8s.io/yaml's `Unmarshal`
/// decodes it into `interface{}`: `YAMLToJSON`, then encoding/json, so
/// every number is a float64 (9007199254740993 is 9007199254740992, `-0.0`
/// stays negative zero). Null when the stream holds no document; later
/// documents are not read. Errors name the line.
pub fn unmarshal(text: &str) -> Result<Value, String> {
    Ok(read(text, Numbers::Float64, 1)?.pop().unwrap_or(Value::Null))
}

/// How numbers come out of a document.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
enum Numbers {
    /// As in the JSON text encoding/json writes, read back by serde_json:
    /// integers as integers, integral floats below 1e21 as integers.
    #[default]
    JsonText,
    /// As encoding/json decodes that text into `interface{}`: float64.
    Float64,
}

/// Whether go-yaml v2 resolves a plain (unquoted, untagged) scalar with
/// this text to a string: not a boolean, null, number or timestamp
/// (`0755`, `yes`, `1_000`, `2015-01-01` are not). Its encoder writes a
/// string plain only then (sigs.k8s.io/yaml's `Marshal`, Helm's `toYaml`).
pub fn resolves_to_string(text: &str) -> bool {
    matches!(implicit(text), Scalar::Str(_)) && !is_timestamp(text)
}

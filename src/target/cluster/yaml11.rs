//! The objects airlock sends to a Kubernetes API server are read from YAML
//! as Helm and kubectl read them: YAML 1.1 typing, sigs.k8s.io/yaml's
//! `YAMLToJSON` (`0755` is 493). The reader lives in [`crate::yaml11`],
//! shared with the chart engine (values files, `fromYaml`).

pub use crate::yaml11::documents;

//! What several subcommands share: the flags that choose a target,
//! trust, registries, sizes and values (`target`, `trust`, `registry`,
//! `size`, `values`) and how the install verbs' reports are printed
//! (`reports`, and as JSON `install_json`). Subcommand files import from here, never from each other.

pub mod install_json;
pub mod registry;
pub mod reports;
pub mod size;
pub mod target;
pub mod trust;
pub mod values;

//! What several subcommands share: the flags that choose a target and
//! trust (`target`, `trust`) and how the install verbs' reports are printed
//! (`reports`). Subcommand files import from here, never from each other.

pub mod reports;
pub mod target;
pub mod trust;

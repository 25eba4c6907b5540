//! Operations: one module per command. Each takes an options struct and
//! returns a report; none prints (progress goes through `output::Progress`).

pub mod copy;
pub mod create;
pub mod export;
pub mod inspect;
pub mod install;
pub mod install_cluster;
pub mod key;
pub mod push;
pub mod serve;
pub mod sign;
pub mod split;
pub mod template;
pub mod verify;

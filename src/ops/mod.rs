//! Operations: one module per command. Each takes an options struct and
//! returns a report; none prints (progress goes through `output::Progress`).

/// Refuses what was asked as a usage error (exit code 2): what the
/// command was given cannot work, whatever the site does.
macro_rules! usage {
    ($($arg:tt)*) => {
        return Err(crate::diagnosis::Usage(format!($($arg)*)).into())
    };
}

pub mod copy;
pub mod create;
pub mod destination;
pub mod diff;
pub mod export;
pub mod history;
pub mod inspect;
pub mod install;
pub mod key;
pub mod lint;
pub mod preflight;
pub mod push;
pub mod rollback;
pub mod serve;
pub mod sign;
pub mod split;
pub mod template;
pub mod test;
pub mod uninstall;
pub mod verify;

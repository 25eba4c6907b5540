//! Integration tests: the airlock binary against real components (Debian's
//! docker-registry, skopeo). One module per command.

mod create;
mod errors;
mod support;
mod verify;

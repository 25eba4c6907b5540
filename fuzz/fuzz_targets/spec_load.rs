//! The `airlock.yaml` loader (`bundle_spec::load`) on arbitrary bytes:
//! parsing, validation and error positions. The spec is written to a file
//! in a temporary directory made once per process.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;

fn spec_path() -> &'static PathBuf {
    common::scratch_path("airlock.yaml")
}

fuzz_target!(|data: &[u8]| {
    let path = spec_path();
    std::fs::write(path, data).expect("write spec");
    if let Err(e) = airlock::fuzzing::load_spec(path) {
        // Every error must render as a message.
        let _ = e.to_string();
    }
});

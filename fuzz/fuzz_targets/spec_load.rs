//! The `airlock.yaml` loader (`bundle_spec::load`) on arbitrary bytes:
//! parsing, validation and error positions. The spec is written to a file
//! in a temporary directory made once per process.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

fn spec_path() -> &'static PathBuf {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("airlock.yaml");
        (dir, path)
    });
    path
}

fuzz_target!(|data: &[u8]| {
    let path = spec_path();
    std::fs::write(path, data).expect("write spec");
    if let Err(e) = airlock::fuzzing::load_spec(path) {
        // Every error must render as a message.
        let _ = e.to_string();
    }
});

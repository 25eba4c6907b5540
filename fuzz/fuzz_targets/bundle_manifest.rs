//! The bundle manifest parser (`reader::parse_manifest`: format version
//! first, then strict format-1 JSON) and the tar header check
//! (`reader::parse_header`) on the input's first 512 bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.airlock");
    if let Ok(manifest) = airlock::fuzzing::parse_manifest(path, data) {
        let _ = (manifest.unique_size(), manifest.stored_size());
        for blob in &manifest.blobs {
            let _ = manifest.find_blob(&blob.digest);
        }
    }
    if let Some(block) = data.first_chunk::<512>() {
        let _ = airlock::fuzzing::parse_header(path, block, 0);
    }
});

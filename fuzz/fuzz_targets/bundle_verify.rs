//! `verify::verify_stream` (what `verify` does on parts and on a stream)
//! over the input as a byte slice: tar walk, manifest, every entry's size,
//! encoding and digest, the OCI references at the end. Tar header
//! checksums are made right first (see `common`).
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let mut data = data.to_vec();
    common::fix_tar_checksums(&mut data);
    let mut progress = |_: u64| {};
    if let Err(e) = airlock::fuzzing::verify_stream(&data[..], Path::new("fuzz.airlock"), &mut progress) {
        let _ = e.to_string();
    }
});

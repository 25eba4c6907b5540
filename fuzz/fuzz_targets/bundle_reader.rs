//! Reading a bundle file in place: `read_head` (the first two tar entries,
//! the manifest and signatures) and `BundleReader::open` (the walk over
//! every tar header), then each listed blob opened at its offset and read
//! (at most 1 MiB of each, decoded). The bundle is written to a file in a
//! temporary directory made once per process, with the checksums of its
//! tar headers made right (see `common`), so mutations reach the code
//! behind the checksum check.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use std::io::Read;
use std::path::PathBuf;

fn bundle_path() -> &'static PathBuf {
    common::scratch_path("fuzz.airlock")
}

fuzz_target!(|data: &[u8]| {
    let path = bundle_path();
    let mut data = data.to_vec();
    common::fix_tar_checksums(&mut data);
    std::fs::write(path, &data).expect("write bundle");
    if let Err(e) = airlock::fuzzing::read_head(path) {
        let _ = e.to_string();
        return;
    }
    let reader = match airlock::fuzzing::BundleReader::open(path) {
        Ok(reader) => reader,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let _ = reader.entry_spans();
    let digests: Vec<_> = reader.head.manifest.blobs.iter().map(|b| b.digest.clone()).collect();
    for digest in digests.iter().take(64) {
        let _ = reader.locate(digest);
        if let Ok(blob) = reader.open_blob_checked(digest) {
            let _ = std::io::copy(&mut blob.take(1 << 20), &mut std::io::sink());
        }
    }
});

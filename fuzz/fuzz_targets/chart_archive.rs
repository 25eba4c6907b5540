//! Loading a chart archive (`chart::load::from_archive`: gzip, tar,
//! Chart.yaml, values.yaml, subcharts under charts/, archives included),
//! then rendering what loads with Helm's rules and no user values. An
//! input that is not gzip is gzipped first, so the fuzzer mutates the tar
//! inside rather than compressed bytes (with its tar header checksums
//! made right, see `common`).
#![no_main]

mod common;

use airlock::fuzzing::{from_archive, render, Map, RenderOptions};
use libfuzzer_sys::fuzz_target;
use std::io::Write;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let gzipped;
    let archive = if data.starts_with(&[0x1f, 0x8b]) {
        data
    } else {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut tar = data.to_vec();
        common::fix_tar_checksums(&mut tar);
        gz.write_all(&tar).expect("gzip in memory");
        gzipped = gz.finish().expect("gzip in memory");
        &gzipped
    };
    let chart = match from_archive(Path::new("fuzz.tgz"), archive) {
        Ok(chart) => chart,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    if let Err(e) = render(&chart, Map::new(), &RenderOptions::default()) {
        let _ = e.to_string();
    }
});

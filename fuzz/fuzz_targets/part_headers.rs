//! A split bundle's parts: the input is cut at each `\n%%PART%%\n` into up
//! to four files named as parts (`fuzz.airlock.part-00I-of-00N`), each
//! meant to start with its 1 KiB JSON header. `Source::open` reads and
//! cross-checks the headers (from the directory and from the first part);
//! what opens is read through (`PartsReader`, which checks each part's
//! sha256) and walked as a bundle (`BundleReader::open`).
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use std::io::Read;
use std::path::PathBuf;

const SEPARATOR: &[u8] = b"\n%%PART%%\n";

fn dir() -> &'static PathBuf {
    common::scratch_path("parts")
}

fn split(data: &[u8]) -> Vec<&[u8]> {
    let mut pieces = Vec::new();
    let mut rest = data;
    while pieces.len() < 3 {
        match rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
            Some(i) => {
                pieces.push(&rest[..i]);
                rest = &rest[i + SEPARATOR.len()..];
            }
            None => break,
        }
    }
    pieces.push(rest);
    pieces
}

fuzz_target!(|data: &[u8]| {
    let dir = dir();
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("parts dir");
    let pieces = split(data);
    let count = pieces.len();
    let mut first = None;
    for (i, piece) in pieces.iter().enumerate() {
        let path = dir.join(format!("fuzz.airlock.part-{:03}-of-{count:03}", i + 1));
        std::fs::write(&path, piece).expect("write part");
        first.get_or_insert(path);
    }
    let first = first.expect("at least one piece");
    for path in [dir, &first] {
        let source = match airlock::fuzzing::Source::open(path) {
            Ok(source) => source,
            Err(e) => {
                let _ = e.to_string();
                continue;
            }
        };
        let _ = source.len();
        let _ = source.parts_holding(0, 4096);
        if let Ok(mut reader) = source.reader() {
            let _ = std::io::copy(&mut (&mut reader).take(16 << 20), &mut std::io::sink());
        }
    }
    if let Err(e) = airlock::fuzzing::BundleReader::open(dir) {
        let _ = e.to_string();
    }
});

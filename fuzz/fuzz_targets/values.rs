//! Values files and `--set`: the input up to its first NUL byte is read as
//! a values file (`read_values`: documents, YAML 1.1 typing, merging); each
//! further NUL-separated piece is applied as a `--set` argument (as
//! `--set-string` when it starts with `s:`).
#![no_main]

use airlock::fuzzing::{apply_set, read_values, Map, Value};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut pieces = text.split('\0');
    let file = pieces.next().unwrap_or_default();
    let mut values = match read_values(file) {
        Ok(values) => values,
        Err(_) => Map::new(),
    };
    for arg in pieces {
        let (arg, strings) = match arg.strip_prefix("s:") {
            Some(rest) => (rest, true),
            None => (arg, false),
        };
        let _ = apply_set(&mut values, arg, strings);
    }
    let _ = Value::map(values).go_string();
});

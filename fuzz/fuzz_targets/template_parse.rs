//! The Go template lexer and parser (`TemplateSet::add_file`) on arbitrary
//! text: actions, pipelines, literals, comments, trim markers, control
//! structures and `define`s.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let src = String::from_utf8_lossy(data);
    let mut set = airlock::fuzzing::TemplateSet::default();
    if let Err(e) = set.add_file("templates/fuzz.yaml", &src) {
        let _ = e.to_string();
    }
});

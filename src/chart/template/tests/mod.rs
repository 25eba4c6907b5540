//! Table-driven tests of the engine as a whole: template text in, the tree
//! or the error out (`parse`), and template text with data in, the output
//! or the error out (`exec`, `escapes`). Every expected value is what Go's
//! text/template with Helm's function map gives; none needs Go or Helm to
//! run.

mod escapes;
mod exec;
mod funcs;
mod limits;
mod parse;

use super::convert::from_json;
use super::TemplateSet;

/// `src` rendered as the file `t` with `data` (JSON; "" for nil): the
/// output, or `ERR ` and the error.
fn render(src: &str, data: &str) -> String {
    let data = if data.is_empty() { Default::default() } else { from_json(data).expect("test data is JSON") };
    let mut set = TemplateSet::default();
    let result = set.add_file("t", src).and_then(|()| set.execute("t", &data));
    match result {
        Ok(out) => out,
        Err(e) => format!("ERR {}", e.message),
    }
}

/// Runs a table of (template, data, expected) and reports every mismatch.
fn check_renders(cases: &[(&str, &str, &str)]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|&(src, data, want)| {
            let got = render(src, data);
            (got != want).then(|| format!("{src:?} with {data:?}\n  want {want:?}\n  got  {got:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "{} of {} cases differ:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

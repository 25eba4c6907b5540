//! The limits that keep a template from crashing or exhausting the
//! machine (docs/fuzzing.md): how deep actions nest when parsed, how deep
//! execution nests (recursion inside ifs), how many steps it takes, how
//! much output it makes, and how much one function call may make. Each
//! gives an error naming the template; none is reached by a real chart.

use super::super::exec::{MAX_NESTING, MAX_STEPS};
use super::super::funcs::{MAX_ELEMENTS, MAX_STRING};
use super::super::parse::MAX_NESTING as MAX_PARSE_NESTING;
use super::render;

/// `render`, on a thread with a 32 MiB stack: the deepest recursion the
/// limits allow takes under 4 MiB in a release build, about four times
/// that in a debug one.
fn render_deep(src: &str) -> String {
    let src = src.to_string();
    std::thread::Builder::new()
        .stack_size(32 << 20)
        .spawn(move || render(&src, ""))
        .expect("thread starts")
        .join()
        .expect("renders without a panic")
}

/// Ifs, ranges, withs, `else if` chains, defines and parentheses nest up
/// to `parse::MAX_NESTING` deep; one more is a parse error at the action
/// that goes too deep (the probes once overflowed the stack at a few
/// thousand levels in a release build, a few hundred in a debug one).
#[test]
fn actions_nested_past_the_limit_are_a_parse_error() {
    let n = MAX_PARSE_NESTING;
    let ifs = |n: usize| format!("{}x{}", "{{if 1}}".repeat(n), "{{end}}".repeat(n));
    assert_eq!(render(&ifs(n), ""), "x");
    let too_deep = "nested more than 100 deep (if, range, with, else if, define, block and parentheses together); \
                    flatten the template";
    assert_eq!(render(&ifs(n + 1), ""), format!("ERR parse error at (t:1:800): {too_deep}"));
    assert_eq!(render(&ifs(200_000), ""), format!("ERR parse error at (t:1:800): {too_deep}"));
    let parens = |n: usize| format!("{{{{{}1{}}}}}", "(".repeat(n), ")".repeat(n));
    assert_eq!(render(&parens(n), ""), "1");
    assert_eq!(render(&parens(n + 1), ""), format!("ERR parse error at (t:1:102): {too_deep}"));
    assert!(render(&parens(100_000), "").ends_with(too_deep));
    // Each link of an `else if` chain is one level (it is an if inside
    // the else), as are define bodies.
    let chain = |n: usize| format!("{{{{if 0}}}}{}{{{{else}}}}y{{{{end}}}}", "{{else if 0}}".repeat(n));
    assert_eq!(render(&chain(n - 1), ""), "y");
    assert!(render(&chain(n), "").ends_with(too_deep));
    let define = format!(r#"{{{{define "d"}}}}{}{{{{end}}}}"#, ifs(n));
    assert!(render(&define, "").ends_with(too_deep));
}

/// A define that calls itself stops at Helm's depth, 1000 calls, with
/// Helm's message; one that calls itself inside ifs stops when calls and
/// bodies together nest `exec::MAX_NESTING` deep (found probing: 30 ifs
/// round an `include` overflowed the stack before 1000 calls).
#[test]
fn recursion_stops_with_an_error_not_a_stack_overflow() {
    let recursion = render_deep(r#"{{define "a"}}{{include "a" .}}{{end}}{{include "a" .}}"#);
    assert!(recursion.ends_with("rendering template has a nested reference name: a: unable to execute template"));
    let template = render_deep(r#"{{define "a"}}{{template "a" .}}{{end}}{{template "a" .}}"#);
    assert_eq!(template, "ERR rendering template has a nested reference name: a: unable to execute template");
    let inside_ifs = format!(
        r#"{{{{define "a"}}}}{}{{{{include "a" .}}}}{}{{{{end}}}}{{{{include "a" .}}}}"#,
        "{{if 1}}".repeat(30),
        "{{end}}".repeat(30)
    );
    let nested = format!(
        "template: t: executing \"a\": templates and their if, with and range bodies nest more than {MAX_NESTING} \
         deep (a template that calls itself?)"
    );
    assert!(render_deep(&inside_ifs).ends_with(&nested), "{}", render_deep(&inside_ifs));
    let tpl = render_deep(r#"{{define "a"}}{{if 1}}{{tpl "{{include \"a\" .}}" .}}{{end}}{{end}}{{include "a" .}}"#);
    // Through `tpl`, each round is two calls (`include`, `tpl`): Helm's
    // depth is reached first.
    assert!(tpl
        .ends_with("error calling tpl: rendering template has a nested reference name: t: unable to execute template"));
}

/// What one call may make: `until`, `untilStep` and `seq` at most
/// `MAX_ELEMENTS` numbers, `rand*` as many characters, `range` over an
/// int as many times round; `repeat`, `indent` and `nindent` at most
/// `MAX_STRING` bytes; a printf width past a million is Go's
/// `%!(NOVERB)`. Found probing (`until 100000000000` took 23 GB before
/// the kernel killed it; `repeat` and `range` that large aborted) and on
/// reading (`untilStep` stepping past the end of int64 overflowed).
#[test]
fn what_one_call_may_make_is_bounded() {
    let err = |src: &str| render(src, "");
    assert_eq!(
        err("{{until 100000000000}}"),
        r#"ERR template: t:1:2: executing "t" at <until 100000000000>: error calling until: 100000000000 numbers, more than the 1048576 a template may make"#
    );
    assert_eq!(err(&format!("{{{{until {MAX_ELEMENTS} | len}}}}")), "1048576");
    assert!(err("{{untilStep 0 100000000000 2}}")
        .ends_with("50000000000 numbers, more than the 1048576 a template may make"));
    assert_eq!(
        err("{{untilStep 9223372036854775800 9223372036854775807 5}}"),
        "[9223372036854775800 9223372036854775805]"
    );
    assert_eq!(
        err("{{untilStep -9223372036854775800 -9223372036854775808 -5}}"),
        "[-9223372036854775800 -9223372036854775805]"
    );
    assert!(err("{{seq 100000000000}}").ends_with("100000000000 numbers, more than the 1048576 a template may make"));
    assert_eq!(err("{{seq 9223372036854775806 9223372036854775807}}"), "9223372036854775806 9223372036854775807");
    assert!(err("{{randAlpha 100000000000}}")
        .ends_with("100000000000 characters, more than the 1048576 a template may make"));
    assert_eq!(
        err("{{range 100000000000}}{{end}}"),
        r#"ERR template: t:1:8: executing "t" at <100000000000>: range over 100000000000: more than 1048576 times round"#
    );
    let too_long = format!("more than the {} MiB a string may have", MAX_STRING >> 20);
    assert!(
        err("{{repeat 100000000000 \"x\"}}").ends_with(&format!("the result would be 100000000000 bytes, {too_long}"))
    );
    let huge = err("{{repeat 9223372036854775807 \"xyz\"}}");
    assert!(huge.ends_with(&format!("the result would be {too_long}")), "{huge}");
    assert!(err("{{indent 100000000000 \"a\\nb\"}}")
        .ends_with(&format!("the result would be 200000000003 bytes, {too_long}")));
    assert!(err("{{nindent 100000000000 \"a\"}}").contains("error calling nindent: the result would be"));
    assert_eq!(err("{{printf \"%99999999999d|%d\" 1 2}}"), "%!(NOVERB)%!(EXTRA int=1, int=2)");
    assert_eq!(err("{{printf \"%.99999999999f|%d\" 1.5 2}}"), "%!(NOVERB)%!(EXTRA float64=1.5, int=2)");
    assert_eq!(err("{{printf \"%5d|%.2f\" 1 2.0}}"), "    1|2.00");
}

/// Loops in loops end after `MAX_STEPS` steps, output past `MAX_STRING`
/// ends the execution, and so does a string that doubles past it.
#[test]
fn steps_output_and_strings_are_bounded() {
    let steps = render("{{range until 1000000}}{{range until 1000000}}{{end}}{{end}}", "");
    assert_eq!(
        steps,
        format!(
            "ERR template: t: executing \"t\": more than {MAX_STEPS} steps (actions run, and times round a range); \
             a loop that does not end?"
        )
    );
    let output = render("{{range until 100}}{{repeat 1048576 \"x\"}}{{end}}", "");
    assert_eq!(output, "ERR template: t: executing \"t\": the output is more than 64 MiB");
    let doubling = render("{{$s := repeat 1048576 \"x\"}}{{range until 10}}{{$s = cat $s $s}}{{end}}", "");
    assert!(
        doubling.ends_with("error calling cat: the result is 67108927 bytes, more than the 64 MiB a string may have")
    );
}

/// Dicts and lists a template builds nest at most `MAX_VALUE_NESTING`
/// deep: `$d = dict "a" $d` 100,000 times once overflowed the stack when
/// `$d` was printed, converted or dropped; now the call that would go one
/// deeper is an error. Shared parts count once (a wide value sharing one
/// dict everywhere is cheap to measure).
#[test]
fn values_nested_past_the_limit_are_an_error() {
    use super::super::funcs::MAX_VALUE_NESTING;
    let chain = |n: usize| format!("{{{{$d := dict}}}}{{{{range until {n}}}}}{{{{$d = dict \"a\" $d}}}}{{{{end}}}}ok");
    assert_eq!(render_deep(&chain(MAX_VALUE_NESTING - 1)), "ok");
    let err = render_deep(&chain(100_000));
    assert!(
        err.starts_with("ERR") && err.contains("dict would make a dict or list nested more than 1000 deep"),
        "{err}"
    );
    let lists = render_deep("{{$l := list}}{{range until 5000}}{{$l = list $l}}{{end}}{{len $l}}");
    assert!(lists.contains("list would make a dict or list nested more than 1000 deep"), "{lists}");
    let shared = "{{$s := dict \"x\" 1}}{{$l := list}}{{range until 2000}}{{$l = append $l $s}}{{end}}{{len $l}}";
    assert_eq!(render_deep(shared), "2000");
}

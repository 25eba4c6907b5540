//! The functions every template leans on: and/or (which stop at the first
//! value that decides), the comparisons (Go's rules: an int never equals a
//! float64, so `eq .Values.n 1` fails in Helm), printf and print, index,
//! slice (Sprig's, as Helm has it) and len.

use super::check_renders;

/// (template, data as JSON ("" for none), output or `ERR ` and the error)
const AND_OR: &[(&str, &str, &str)] = &[
    (r#"{{ and 1 0 2 }} {{ and 1 2 }} {{ or 0 "" "x" }} {{ or 0 false }} {{ not 0 }}"#, "", "0 2 x false true"),
    (r#"{{ or 1 (fail "boom") }} {{ and 0 (fail "boom") }}"#, "", "1 0"),
    ("{{ and .missing .missing.x }}", "{}", "<no value>"),
    // `fail` reads as Helm shows it, not as text/template does
    // (`executing "t" at <fail "boom">: error calling fail: boom`).
    (r#"{{ and 1 (fail "boom") }}"#, "", "ERR execution error at (t:1:10): boom"),
    ("{{ 0 | and 1 }}", "", "0"),
];

const COMPARISONS: &[(&str, &str, &str)] = &[
    (
        r#"{{ eq 1 2 1 }} {{ eq "a" "b" "c" }} {{ ne 1 2 }} {{ lt 1 2 }} {{ le 2 2 }} {{ gt "b" "a" }} {{ ge 1 2 }}"#,
        "",
        "true false true true true true false",
    ),
    (
        "{{ lt 1 2.5 }}",
        "",
        r#"ERR template: t:1:3: executing "t" at <lt 1 2.5>: error calling lt: incompatible types for comparison: int and float64"#,
    ),
    (
        "{{ lt .n 2 }}",
        r#"{"n": 1}"#,
        r#"ERR template: t:1:3: executing "t" at <lt .n 2>: error calling lt: incompatible types for comparison: float64 and int"#,
    ),
    (
        "{{ eq .n 1 }}",
        r#"{"n": 1}"#,
        r#"ERR template: t:1:3: executing "t" at <eq .n 1>: error calling eq: incompatible types for comparison: float64 and int"#,
    ),
    ("{{ lt 1 (int64 2) }} {{ eq (int64 3) 3 }}", "", "true true"),
    (r#"{{ eq .a .b }} {{ eq .a "y" }}"#, r#"{"a": "x", "b": "x"}"#, "true false"),
    (
        r#"{{ eq "a" 1 }}"#,
        "",
        r#"ERR template: t:1:3: executing "t" at <eq "a" 1>: error calling eq: incompatible types for comparison: string and int"#,
    ),
    (
        "{{ lt true false }}",
        "",
        r#"ERR template: t:1:3: executing "t" at <lt true false>: error calling lt: invalid type for comparison"#,
    ),
    (
        "{{ eq (list 1) (list 1) }}",
        "",
        r#"ERR template: t:1:3: executing "t" at <eq (list 1) (list 1)>: error calling eq: non-comparable type [%!s(int=1)]: []interface {}"#,
    ),
    (
        "{{ eq 1 }}",
        "",
        r#"ERR template: t:1:3: executing "t" at <eq 1>: error calling eq: missing argument for comparison"#,
    ),
];

const PRINTING: &[(&str, &str, &str)] = &[
    (
        r#"{{ printf "%d %5.2f %s %q %v %x %05d %-4s| %t %%" 42 3.14159 "s" "q" (list 1 2) 255 7 "ab" true }}"#,
        "",
        r#"42  3.14 s "q" [1 2] ff 00007 ab  | true %"#,
    ),
    (
        r#"{{ printf "%d" 1.5 }} {{ printf "%s" 1 }} {{ printf "%v %v" 1 }} {{ printf "%d" .n }}"#,
        r#"{"n": 3}"#,
        "%!d(float64=1.5) %!s(int=1) 1 %!v(MISSING) %!d(float64=3)",
    ),
    (
        r#"{{ printf "%T %T %T %T %T" 1 "a" 1.5 .m .l }}"#,
        r#"{"m": {}, "l": []}"#,
        "int string float64 map[string]interface {} []interface {}",
    ),
    (r#"{{ print 1 2 "a" "b" 3 }}|{{ println 1 "a" }}|"#, "", "1 2ab3|1 a\n|"),
    (
        r#"{{ printf "%6.2f|%-6d|%+d|%x|%X|%o|%b|%e|%g" 3.14159 42 5 "hi" 255 8 5 1234.5678 0.000012 }}"#,
        "",
        "  3.14|42    |+5|6869|FF|10|101|1.234568e+03|1.2e-05",
    ),
    (r#"{{ printf "%v %v" .m .f }}"#, r#"{"m": {"b": [1, 2], "a": "x"}, "f": 0.1}"#, "map[a:x b:[1 2]] 0.1"),
];

const INDEXING: &[(&str, &str, &str)] = &[
    (
        r#"{{ index .l 1 }} {{ index .m "k" }} {{ index . "m" "k" }} {{ index .ll 1 0 }}"#,
        r#"{"l": ["a", "b"], "m": {"k": "v"}, "ll": [[1], [2]]}"#,
        "b v v 2",
    ),
    (
        "{{ index .l 5 }}",
        r#"{"l": ["a"]}"#,
        r#"ERR template: t:1:3: executing "t" at <index .l 5>: error calling index: index out of range: 5"#,
    ),
    (
        r#"{{ index .l "x" }}"#,
        r#"{"l": ["a"]}"#,
        r#"ERR template: t:1:3: executing "t" at <index .l "x">: error calling index: cannot index slice/array with type string"#,
    ),
    (r#"{{ index "abc" 1 }}"#, "", "98"),
    // Sprig's slice replaces Go's: lists only, and an empty one gives nil.
    (
        "{{ slice .l 1 }} {{ slice .l 1 2 }} {{ slice .l }} [{{ slice .e }}]",
        r#"{"l": ["a", "b", "c"], "e": []}"#,
        "[b c] [b] [a b c] [<no value>]",
    ),
    (
        r#"{{ slice "abc" 1 2 }}"#,
        "",
        r#"ERR template: t:1:3: executing "t" at <slice "abc" 1 2>: error calling slice: list should be type of slice or array but string"#,
    ),
    (
        "{{ slice .l 2 1 }}",
        r#"{"l": ["a", "b", "c"]}"#,
        r#"ERR template: t:1:3: executing "t" at <slice .l 2 1>: error calling slice: reflect.Value.Slice: slice index out of bounds"#,
    ),
    (r#"{{ len .l }} {{ len .m }} {{ len "héllo" }}"#, r#"{"l": [1, 2], "m": {"a": 1}}"#, "2 1 6"),
    ("{{ len 3 }}", "", r#"ERR template: t:1:3: executing "t" at <len 3>: error calling len: len of type int"#),
    (
        "{{ len .missing }}",
        "{}",
        r#"ERR template: t:1:3: executing "t" at <len .missing>: error calling len: len of nil pointer"#,
    ),
];

const CALLS: &[(&str, &str, &str)] = &[
    // Go fails at parse time: `template: t:1: function "nosuch" not defined`.
    ("{{ nosuch 1 }}", "", r#"ERR template: t:1:3: executing "t" at <nosuch 1>: function "nosuch" not defined"#),
    ("{{ add 1 2 }} {{ add .n 1 }} {{ div 7 2 }} {{ sub 1 3 }} {{ mul 2 .f }}", r#"{"n": 1, "f": 1.5}"#, "3 2 3 -2 2"),
    (r#"{{ "a,b" | splitList "," | join "+" }}"#, "", "a+b"),
];

#[test]
fn and_or_short_circuit() {
    check_renders(AND_OR);
}

#[test]
fn comparisons_follow_go_types() {
    check_renders(COMPARISONS);
}

#[test]
fn printf_verbs_and_print_spacing() {
    check_renders(PRINTING);
}

#[test]
fn index_slice_and_len() {
    check_renders(INDEXING);
}

#[test]
fn function_calls() {
    check_renders(CALLS);
}

/// Inputs `cargo fuzz run template_exec` found (docs/fuzzing.md): each once
/// panicked (a RefCell borrowed twice) or would have overflowed the stack
/// printing a dict that holds itself. Go's text/template overflows its
/// stack on the second and third (Helm dies); airlock says why.
const FOUND_BY_FUZZING: &[(&str, &str, &str)] = &[
    ("{{$d := dict}}{{set $d $d}}", "", "map[map[]:<nil>]"),
    ("{{$d := dict}}{{unset $d $d}}", "", "map[]"),
    (
        r#"{{$d := dict}}{{$_ := set $d "k" $d}}{{$d}}"#,
        "",
        r#"ERR template: t:1:22: executing "t" at <set $d "k" $d>: error calling set: set would put a dict inside itself"#,
    ),
    (
        r#"{{$d := dict}}{{$_ := set $d "k" (list 1 (dict "in" $d))}}"#,
        "",
        r#"ERR template: t:1:22: executing "t" at <set $d "k" (list 1 (dict "in" $d))>: error calling set: set would put a dict inside itself"#,
    ),
    (
        r#"{{$d := dict "a" 1}}{{$_ := merge $d (dict "b" $d)}}"#,
        "",
        r#"ERR template: t:1:28: executing "t" at <merge $d (dict "b" $d)>: error calling merge: merge would put a dict inside itself"#,
    ),
    (r#"{{$s := dict "x" 1}}{{$d := dict "a" $s "b" $s}}{{$_ := set $d "c" $s}}{{len $d}}"#, "", "3"),
];

#[test]
fn inputs_found_by_fuzzing() {
    check_renders(FOUND_BY_FUZZING);
}

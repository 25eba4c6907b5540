//! Running templates: actions and pipelines, variables and their scopes,
//! if/with/range (maps in key order, ints as Go 1.22 ranges them,
//! break/continue), define/template/block/include, trim markers and
//! comments, and nil and missing keys. A missing key prints `<no value>`
//! here as in Go with Helm's `missingkey=zero`; Helm's renderer (and ours,
//! `chart::render`) then blanks `<no value>` in the output.

use super::check_renders;

/// (template, data as JSON ("" for none), output or `ERR ` and the error)
const ACTIONS: &[(&str, &str, &str)] = &[
    // Numbers from data are float64, as Helm's values are.
    ("{{ .a }} {{ .b }} {{ .c }}", r#"{"a": 1, "b": 1.5, "c": 1000000}"#, "1 1.5 1e+06"),
    ("{{ .a.b.c }}", r#"{"a": {"b": {"c": "deep"}}}"#, "deep"),
    ("{{ . }}", r#"{"b": 2, "a": [1, "x", null, true]}"#, "map[a:[1 x <nil> true] b:2]"),
    (r#"{{ "x" | printf "%s-%s" "y" }}"#, "", "y-x"),
    ("{{ .a | upper | repeat 2 }}", r#"{"a": "ab"}"#, "ABAB"),
    ("{{ list 1 2 3 | len }}", "", "3"),
    // Go points at the chain's last argument: `t:1:13: ... at <3>`.
    (
        "{{ (list 1 2 3).x }}",
        "",
        r#"ERR template: t:1:15: executing "t" at <(list 1 2 3).x>: can't evaluate field x in type []interface {}"#,
    ),
    // Go shows the field alone: `at <.a>`.
    (
        "{{ .a 1 }}",
        r#"{"a": 1}"#,
        r#"ERR template: t:1:3: executing "t" at <.a 1>: a is not a method but has arguments"#,
    ),
    // Go: `at <1>: can't give argument to non-function 1`.
    ("{{ 1 2 }}", "", r#"ERR template: t:1:3: executing "t" at <1 2>: can't give argument to non-function"#),
    // A value out of a map has the static type interface {}.
    (
        "{{ .a.b }}",
        r#"{"a": "str"}"#,
        r#"ERR template: t:1:5: executing "t" at <.a.b>: can't evaluate field b in type interface {}"#,
    ),
    // An integer literal is an int; `.`, an exponent or `p` make a float64.
    (
        "{{ 1.0 }} {{ 1e6 }} {{ -0x10 }} {{ 0b101 }} {{ 0o17 }} {{ 1_000 }} {{ .5 }} {{ 0x1p4 }}",
        "",
        "1 1e+06 -16 5 15 1000 0.5 16",
    ),
    (
        "{{ typeOf 1 }} {{ typeOf 1.0 }} {{ typeOf 0x1p4 }} {{ typeOf 'a' }} {{ typeOf .n }}",
        r#"{"n": 1}"#,
        "int float64 float64 int float64",
    ),
    // Go fails only when it runs: `executing "t" at <18446744073709551615>: ... overflows int`.
    ("{{ 18446744073709551615 }}", "", "ERR parse error at (t:1:3): 18446744073709551615 overflows int"),
];

const VARIABLES: &[(&str, &str, &str)] = &[
    ("{{ $x := 1 }}{{ $x = 2 }}{{ $x }}", "", "2"),
    ("{{ with .b }}{{ $.a }}{{ . }}{{ end }}", r#"{"a": "A", "b": "B"}"#, "AB"),
    ("{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ $x }}{{ end }}{{ $x }}", "", "21"),
    ("{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}", "", "2"),
    ("{{ $x := 0 }}{{ range list 1 2 }}{{ $x = . }}{{ end }}{{ $x }}", "", "2"),
    ("{{ with $v := .a }}{{ $v }}{{ . }}{{ end }}", r#"{"a": "A"}"#, "AA"),
    ("{{ if $v := .a }}{{ $v }}{{ else }}{{ $v }}!{{ end }}", r#"{"a": 0}"#, "0!"),
    ("{{ range list 1 2 }}{{ $y := . }}{{ $y }}{{ end }}", "", "12"),
    (r#"{{ define "a" }}{{ $ }}{{ end }}{{ template "a" 5 }}"#, "", "5"),
    // A nil a variable holds has no fields, and no error either.
    ("{{ $x := .missing }}[{{ $x.y }}]", "{}", "[<no value>]"),
    ("{{ $x = 1 }}", "", r#"ERR template: t:1:8: executing "t" at <1>: undefined variable: $x"#),
];

const CONDITIONALS: &[(&str, &str, &str)] = &[
    (
        "{{ if eq .a 1 }}one{{ else if eq .a 2 }}two{{ else }}other{{ end }}",
        r#"{"a": "2"}"#,
        r#"ERR template: t:1:6: executing "t" at <eq .a 1>: error calling eq: incompatible types for comparison: string and int"#,
    ),
    // The data's 2 is a float64, the literal an int: Go refuses to compare them.
    (
        "{{ if eq .a 1 }}one{{ else if eq .a 2 }}two{{ else }}other{{ end }}",
        r#"{"a": 2}"#,
        r#"ERR template: t:1:6: executing "t" at <eq .a 1>: error calling eq: incompatible types for comparison: float64 and int"#,
    ),
    ("{{ with .a }}a={{ . }}{{ else with .b }}b={{ . }}{{ else }}none{{ end }}", r#"{"b": "B"}"#, "b=B"),
    ("{{ with .a }}a={{ . }}{{ else with .b }}b={{ . }}{{ else }}none{{ end }}", "{}", "none"),
    ("{{ with .missing }}x{{ else }}{{ . }}{{ end }}", r#"{"k": 1}"#, "map[k:1]"),
    (
        r#"{{ if 0 }}a{{ end }}{{ if "" }}b{{ end }}{{ if list }}c{{ end }}{{ if dict }}d{{ end }}{{ if 0.0 }}e{{ end }}{{ if "0" }}f{{ end }}{{ if .z }}g{{ end }}{{ if .e }}h{{ end }}"#,
        r#"{"z": false, "e": {}}"#,
        "f",
    ),
];

const RANGES: &[(&str, &str, &str)] = &[
    (r#"{{ range $i, $v := list "a" "b" }}{{ $i }}={{ $v }};{{ end }}"#, "", "0=a;1=b;"),
    ("{{ range $v := .l }}{{ $v }},{{ end }}", r#"{"l": ["x", 2, null]}"#, "x,2,<no value>,"),
    // Keys in byte order, as Go's fmtsort orders strings.
    ("{{ range $k, $v := . }}{{ $k }}={{ $v }},{{ end }}", r#"{"b": 2, "a": 1, "c": 3, "B": 0}"#, "B=0,a=1,b=2,c=3,"),
    ("{{ range . }}{{ . }}{{ end }}", r#"{"b": 2, "a": 1}"#, "12"),
    ("{{ range 3 }}{{ . }}{{ end }}", "", "012"),
    ("{{ range $i := 3 }}{{ $i }}{{ end }}|{{ range 0 }}x{{ else }}none{{ end }}", "", "012|none"),
    ("{{ range $i, $v := 3 }}{{ end }}", "", r#"ERR template: t:1:19: executing "t" at <3>: can't use 3 to iterate over more than one variable"#),
    ("{{ range .l }}x{{ else }}empty{{ end }}", r#"{"l": []}"#, "empty"),
    ("{{ range .missing }}x{{ else }}none{{ end }}", "{}", "none"),
    ("{{ range .s }}{{ . }}{{ end }}", r#"{"s": "abc"}"#, r#"ERR template: t:1:9: executing "t" at <.s>: range can't iterate over abc"#),
    // Only an int ranges as a count; the data's 3 is a float64.
    ("{{ range .n }}{{ . }}{{ end }}", r#"{"n": 3}"#, r#"ERR template: t:1:9: executing "t" at <.n>: range can't iterate over 3"#),
    ("{{ range list 1 2 3 4 5 }}{{ if eq . 2 }}{{ continue }}{{ end }}{{ if eq . 4 }}{{ break }}{{ end }}{{ . }}{{ end }}", "", "13"),
    (r#"{{ range list 1 2 }}{{ range list "a" "b" }}{{ if eq . "b" }}{{ break }}{{ end }}{{ . }}{{ end }}{{ . }}{{ end }}"#, "", "a1a2"),
    ("{{ range .l }}{{ $.name }}{{ . }} {{ end }}", r#"{"name": "n", "l": [1, 2]}"#, "n1 n2 "),
    // `=` in range assigns the outer variable on each pass.
    ("{{ $i := 9 }}{{ range $i = list 1 2 }}{{ end }}{{ $i }}", "", "2"),
];

const TEMPLATES: &[(&str, &str, &str)] = &[
    (r#"{{ define "a" }}[{{ . }}]{{ end }}{{ template "a" 1 }}{{ template "a" }}"#, "", "[1][<no value>]"),
    (r#"{{ define "a" }}x{{ . }}{{ end }}{{ include "a" 2 | upper }}"#, "", "X2"),
    (r#"{{ block "b" . }}default {{ . }}{{ end }}"#, r#""d""#, "default d"),
    (
        r#"{{ template "nope" . }}"#,
        "",
        r#"ERR template: t:1:12: executing "t" at <{{template "nope" .}}>: template "nope" not defined"#,
    ),
    (
        r#"{{ define "r" }}{{ if gt . 0 }}{{ . }}{{ template "r" (sub . 1) }}{{ end }}{{ end }}{{ template "r" 3 }}"#,
        "",
        "321",
    ),
    (r#"{{ define "a" }}x{{ end }}{{ define "a" }}  {{ end }}{{ template "a" }}"#, "", "x"),
    (r#"{{ define "a" }} {{ end }}{{ define "a" }}y{{ end }}{{ template "a" }}"#, "", "y"),
    (
        r#"{{ include "nope" . }}"#,
        "",
        r#"ERR template: t:1:3: executing "t" at <include "nope" .>: error calling include: template: no template "nope" associated with template "t""#,
    ),
];

const TRIMMING: &[(&str, &str, &str)] = &[
    ("a  {{- 1 -}}  b", "", "a1b"),
    ("a\n{{- /* c */ -}}\nb", "", "ab"),
    ("{{ 1 }} {{- 2 }} {{-3}}", "", "12 -3"),
    ("x {{/* c */}} y", "", "x  y"),
    ("a\t\r\n {{- \"b\" -}} \n\tc", "", "abc"),
    ("{{ \"a\" -}}\n{{ \"b\" }}", "", "ab"),
];

const NILS: &[(&str, &str, &str)] = &[
    ("{{ nil }}", "", r#"ERR template: t:1:3: executing "t" at <nil>: nil is not a command"#),
    (r#"{{ print nil }} {{ printf "%v" nil }}"#, "", "<nil> <nil>"),
    ("{{ if nil }}y{{ else }}n{{ end }}", "", r#"ERR template: t:1:6: executing "t" at <nil>: nil is not a command"#),
    (r#"{{ default "d" nil }} {{ default "d" .missing }}"#, "{}", "d d"),
    ("{{ .missing }}", "{}", "<no value>"),
    (
        "{{ .missing.x }}",
        "{}",
        r#"ERR template: t:1:11: executing "t" at <.missing.x>: nil pointer evaluating interface {}.x"#,
    ),
    (
        "{{ .a.missing.x }}",
        r#"{"a": {}}"#,
        r#"ERR template: t:1:5: executing "t" at <.a.missing.x>: nil pointer evaluating interface {}.x"#,
    ),
    (
        r#"{{ index . "missing" }} {{ printf "%v" .missing }} {{ .missing | printf "%v" }}"#,
        "{}",
        "<no value> <nil> <nil>",
    ),
    ("{{ .a }}", r#"{"a": null}"#, "<no value>"),
    ("{{ eq .missing nil }}", "{}", "true"),
    ("{{ .x }}", "null", "<no value>"),
];

#[test]
fn actions_and_pipelines() {
    check_renders(ACTIONS);
}

#[test]
fn variables_live_until_the_end_of_their_control() {
    check_renders(VARIABLES);
}

#[test]
fn if_and_with_with_their_else_chains() {
    check_renders(CONDITIONALS);
}

#[test]
fn range_over_lists_maps_and_ints() {
    check_renders(RANGES);
}

#[test]
fn define_template_block_and_include() {
    check_renders(TEMPLATES);
}

#[test]
fn trim_markers_and_comments() {
    check_renders(TRIMMING);
}

#[test]
fn nil_and_missing_keys() {
    check_renders(NILS);
}

//! Lexing and parsing: what each source lexes into, and which sources
//! parse, or the error and the line:column it is reported at. Go reports a
//! parse error's line only (`template: t:1: ...`); the messages are Go's,
//! the column is ours.

use super::super::lex::{Lexer, Tok};
use super::super::parse::parse;

/// Items as `kind@offset` (text items with their text).
fn items(src: &str) -> Vec<String> {
    let mut lexer = Lexer::new(src);
    let mut out = Vec::new();
    loop {
        let item = lexer.next_item().expect("lexes");
        let text = &src[item.pos..item.end];
        out.push(match item.tok {
            Tok::Eof => return out,
            Tok::Text => format!("{text:?}@{}", item.pos),
            Tok::Keyword(_) => format!("{text}@{}", item.pos),
            other => format!("{other:?}@{}", item.pos),
        });
    }
}

#[test]
fn items_carry_their_byte_offsets_and_trim_markers_trim_the_text() {
    let cases: &[(&str, &[&str])] = &[
        ("a {{ .x }}", &[r#""a "@0"#, "LeftDelim@2", "Space@4", "Field@5", "Space@7", "RightDelim@8"]),
        (
            "a \n{{- .x.y | f 1 -}}\n b",
            &[
                r#""a"@0"#,
                "LeftDelim@3",
                "Field@7",
                "Field@9",
                "Space@11",
                "Pipe@12",
                "Space@13",
                "Ident@14",
                "Space@15",
                "Number@16",
                "RightDelim@19",
                r#""b"@23"#,
            ],
        ),
        (
            "{{if $x}}{{end}}",
            &["LeftDelim@0", "if@2", "Space@4", "Variable@5", "RightDelim@7", "LeftDelim@9", "end@11", "RightDelim@14"],
        ),
        ("x{{/* c */}}y", &[r#""x"@0"#, r#""y"@12"#]),
        ("é {{- /* c */ -}} ü", &[r#""é"@0"#, r#""ü"@19"#]),
        (
            "{{ $ := 'a' }}",
            &[
                "LeftDelim@0",
                "Space@2",
                "Variable@3",
                "Space@4",
                "Declare@5",
                "Space@7",
                "CharConstant@8",
                "Space@11",
                "RightDelim@12",
            ],
        ),
        (
            "{{ `}}` \"}}\" }}",
            &["LeftDelim@0", "Space@2", "RawString@3", "Space@7", "String@8", "Space@12", "RightDelim@13"],
        ),
        ("{{-3}}", &["LeftDelim@0", "Number@2", "RightDelim@4"]),
        (
            "{{ (a) , }}",
            &[
                "LeftDelim@0",
                "Space@2",
                "LeftParen@3",
                "Ident@4",
                "RightParen@5",
                "Space@6",
                "Char@7",
                "Space@8",
                "RightDelim@9",
            ],
        ),
    ];
    for (src, want) in cases {
        assert_eq!(items(src), *want, "{src:?}");
    }
}

/// (source, `ok` or `LINE:COL: message`)
const CASES: &[(&str, &str)] = &[
    // accepted
    ("plain text, no actions", "ok"),
    ("{{ .a.b }} {{ $.a }} {{ . }}", "ok"),
    ("{{- .a -}} {{/* c */}} {{- /* c */ -}}", "ok"),
    ("{{ 1 }}{{/* a\nmultiline comment */}}", "ok"),
    ("{{ $x := 1 }}{{ $x = 2 }}{{ $x }}", "ok"),
    ("{{ $ := 1 }}", "ok"),
    ("{{ range $i, $v := . }}{{ $i }}{{ $v }}{{ end }}", "ok"),
    ("{{ range $i = . }}{{ end }}", "ok"),
    ("{{ if 1 }}a{{ else if 2 }}b{{ else if 3 }}c{{ else }}d{{ end }}", "ok"),
    ("{{ with 1 }}a{{ else with 2 }}b{{ end }}", "ok"),
    ("{{ if $x := 1 }}{{ else }}{{ $x }}{{ end }}", "ok"),
    (r#"{{ define "a" }}x{{ end }}{{ template "a" . }}{{ template `a` }}"#, "ok"),
    (r#"{{ define "a" }}x{{ end }}{{ define "a" }} {{ end }}"#, "ok"),
    (r#"{{ template "a" 1 | printf "%d" }}"#, "ok"),
    (r#"{{ block "b" . }}x{{ end }}"#, "ok"),
    ("{{ range . }}{{ if . }}{{ break }}{{ end }}{{ with . }}{{ continue }}{{ end }}{{ end }}", "ok"),
    (r#"{{ define "a" }}{{ range . }}{{ continue }}{{ end }}{{ end }}"#, "ok"),
    ("{{ (1) }}{{ (.a).b }}{{ (list 1 2) | len }}{{ ($x := 1) }}{{ $x }}", "ok"),
    // Go accepts a pipeline that ends in `|`.
    ("{{ . | }}", "ok"),
    ("{{ 'a' }}{{ 1_000 }}{{ 0x1F }}{{ 1e3 }}{{ -2 }}{{ +3 }}{{ 0x1p-2 }}{{ .5 }}", "ok"),
    (r#"{{ "}}" }}{{ `{{` }}"#, "ok"),
    ("{{-3}}", "ok"),
    ("{{ été }}", "ok"),
    // Not a function is a run-time error here (Go: at parse time).
    (r#"{{ "abcdefghijklmn" "x" }}"#, "ok"),
    // the lexer's errors
    ("{{ .a", "1:5: unclosed action"),
    ("{{ /* c */ }}", r#"1:3: unexpected "/" in command"#),
    ("{{/* c", "1:0: unclosed comment"),
    ("{{/* c */ x}}", "1:9: comment ends before closing delimiter"),
    (r#"{{ "abc }}"#, "1:3: unterminated quoted string"),
    ("{{ \"abc\ndef\" }}", "1:3: unterminated quoted string"),
    ("{{ `abc }}", "1:3: unterminated raw quoted string"),
    ("{{ 'a }}", "1:3: unterminated character constant"),
    ("{{ 1x }}", r#"1:3: bad number syntax: "1x""#),
    ("{{ @ }}", r#"1:3: unexpected "@" in command"#),
    ("{{ € }}", "1:3: unrecognized character in action: U+20AC '€'"),
    ("{{ \x01 }}", "1:3: unrecognized character in action: U+0001"),
    ("{{ . ) }}", "1:5: unexpected right paren"),
    ("{{ (1 }}", "1:3: unclosed left paren"),
    (r#"{{ .a"x" }}"#, r#"1:5: bad character U+0022 '"'"#),
    ("{{ x: }}", "1:4: expected :="),
    ("{{ 1+2i }}", "1:3: complex constant 1+2i is not supported"),
    // structure
    ("{{ if 1 }}", "1:10: unexpected EOF: {{if}} without {{end}}"),
    ("{{ if 1 }}{{ else }}", "1:20: unexpected EOF: {{if}} without {{end}}"),
    ("{{ range . }}{{ else }}{{ else }}{{ end }}", "1:23: expected end; found {{else}}"),
    ("{{ if 1 }}{{ else if 2 }}{{ end }}{{ end }}", "1:34: unexpected {{end}}"),
    ("{{ end }}", "1:0: unexpected {{end}}"),
    ("{{ else }}", "1:0: unexpected {{else}}"),
    ("a\nb {{ end }}", "2:2: unexpected {{end}}"),
    ("{{ end x }}", r#"1:7: unexpected "x" in end"#),
    (r#"{{ end "abcdefghijklmn" }}"#, r#"1:7: unexpected "\"abcdefghi"... in end"#),
    ("{{ if 1 }}{{ else x }}{{ end }}", r#"1:18: unexpected "x" in else"#),
    ("{{ with 1 }}{{ else if 2 }}{{ end }}", "1:20: unexpected <if> in input"),
    ("{{ if 1 }}{{ else with 2 }}{{ end }}", "1:18: unexpected <with> in input"),
    ("{{ range 1 }}{{ else if 2 }}{{ end }}", "1:21: unexpected <if> in input"),
    ("{{ break }}", "1:3: {{break}} outside {{range}}"),
    ("{{ range . }}{{ continue 1 }}{{ end }}", r#"1:25: unexpected "1" in {{continue}}"#),
    (r#"{{ range . }}{{ define "a" }}{{ break }}{{ end }}{{ end }}"#, "1:16: unexpected <define> in command"),
    (r#"{{ if 1 }}{{ define "a" }}{{ end }}{{ end }}"#, "1:13: unexpected <define> in command"),
    // define, template, block
    (r#"{{ define "a" }}x{{ end }}{{ define "a" }}y{{ end }}"#, r#"1:26: multiple definition of template "a""#),
    (r#"{{ define "a" }}"#, r#"1:0: unexpected EOF in define "a""#),
    (r#"{{ define "a" }}{{ else }}{{ end }}"#, "1:16: unexpected {{else}} in define clause"),
    ("{{ define x }}{{ end }}", r#"1:10: unexpected "x" in define clause"#),
    (r#"{{ define "a" x }}{{ end }}"#, r#"1:14: unexpected "x" in define clause"#),
    ("{{ template x }}", r#"1:12: unexpected "x" in template clause"#),
    (r#"{{ block "b" }}x{{ end }}"#, "1:0: missing value for block clause"),
    // pipelines and operands
    ("{{ if }}{{ end }}", "1:0: missing value for if"),
    ("{{ }}", "1:0: missing value for command"),
    ("{{ () }}", "1:4: missing value for parenthesized pipeline"),
    ("{{ 1 | 2 }}", "1:7: non executable command in pipeline stage 2"),
    (r#"{{ . | "a" }}"#, "1:7: non executable command in pipeline stage 2"),
    ("{{ $a, $b := 1 }}", "1:5: too many declarations in command"),
    ("{{ range $a, $b, $c := . }}{{ end }}", "1:15: too many declarations in range"),
    ("{{ range $a, 1 }}{{ end }}", "1:11: range can only initialize variables"),
    ("{{ true.x }}", r#"1:7: unexpected . after term "true""#),
    ("{{ ..x }}", r#"1:4: unexpected . after term ".""#),
    (r#"{{ "a".b }}"#, r#"1:6: unexpected . after term "\"a\"""#),
    ("{{ 1 := 2 }}", r#"1:5: unexpected ":=" in operand"#),
    // variables: declared before use, alive until the end of their control
    ("{{ $x }}", r#"1:3: undefined variable "$x""#),
    ("{{ $x.y := 1 }}", r#"1:3: undefined variable "$x""#),
    ("{{ if 1 }}{{ $x := 1 }}{{ end }}{{ $x }}", r#"1:35: undefined variable "$x""#),
    ("{{ with $x := 1 }}{{ end }}{{ $x }}", r#"1:30: undefined variable "$x""#),
    ("{{ range $i, $v := . }}{{ $i }}{{ end }}{{ $v }}", r#"1:43: undefined variable "$v""#),
    (r#"{{ define "a" }}{{ $x }}{{ end }}"#, r#"1:19: undefined variable "$x""#),
    (r#"{{ $x := 1 }}{{ define "a" }}{{ $x }}{{ end }}"#, r#"1:32: undefined variable "$x""#),
    // numbers
    ("{{ 99999999999999999999 }}", r#"1:3: integer overflow: "99999999999999999999""#),
    ("{{ 089 }}", r#"1:3: integer overflow: "089""#),
    ("{{ 0x1.8 }}", r#"1:3: illegal number syntax: "0x1.8""#),
    ("{{ + }}", r#"1:3: illegal number syntax: "+""#),
];

#[test]
fn sources_parse_or_fail_as_in_go() {
    let failures: Vec<String> = CASES
        .iter()
        .filter_map(|&(src, want)| {
            let got = match parse(src) {
                Ok(_) => "ok".to_string(),
                Err(e) => {
                    let (line, col) = super::super::node::line_col(src, e.offset);
                    format!("{line}:{col}: {}", e.message)
                }
            };
            (got != want).then(|| format!("{src:?}\n  want {want:?}\n  got  {got:?}"))
        })
        .collect();
    assert!(failures.is_empty(), "{} of {} cases differ:\n{}", failures.len(), CASES.len(), failures.join("\n"));
}

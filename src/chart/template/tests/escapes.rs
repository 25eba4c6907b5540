//! String literals accept what Go's strconv.Unquote accepts (octal, `\x`,
//! `\u`, `\U`, the named escapes, `\"` in strings and `\'` in character
//! constants only, raw strings with carriage returns dropped), character
//! constants are ints, and number literals read as Go reads them.
//!
//! Go's strings are bytes; ours are UTF-8. Escaped bytes that form UTF-8
//! (`"\xc3\xa9"`) are that text; a byte that does not (`"\xff"`) becomes
//! U+FFFD (see `literal::unquote_string`), so its `len` is 3 where Go's is 1.

use super::super::literal::{number, unquote_char, unquote_string};
use super::super::value::Value;
use super::check_renders;

/// (template, data as JSON ("" for none), output or `ERR ` and the error)
const ESCAPES: &[(&str, &str, &str)] = &[
    (r#"{{ printf "\033[0;32m%s\033[0m" . }}"#, r#""ok""#, "\x1b[0;32mok\x1b[0m"),
    (r#"{{ "\x41\x62" }}|{{ "\u00e9" }}|{{ "\U0001F600" }}|{{ "\101\142" }}"#, "", "Ab|é|😀|Ab"),
    (r#"{{ "\a\b\f\n\r\t\v\\\"" | printf "%q" }}"#, "", r#""\a\b\f\n\r\t\v\\\"""#),
    (r#"{{ "a\tb\nc" }}"#, "", "a\tb\nc"),
    (r#"{{ "\"" }}{{ `\"` }}"#, "", r#""\""#),
    // Escaped bytes that make UTF-8 together are that character.
    (r#"{{ "\xc3\xa9" }}|{{ "\303\251" }}|{{ "\000" | len }}"#, "", "é|é|1"),
    // Go: the byte 0xff, and len 1; here U+FFFD, len 3.
    (r#"{{ "\xff" }}|{{ "\377" | len }}"#, "", "\u{fffd}|3"),
    // Go: the two bytes join into "é" in the output; here each literal is
    // read alone.
    (r#"{{ print "\xc3" "\xa9" }}"#, "", "\u{fffd}\u{fffd}"),
    ("{{ `raw \\n \"q\" {{ }}` }}", "", r#"raw \n "q" {{ }}"#),
    ("{{ `a\r\nb` }}|{{ `multi\nline` }}", "", "a\nb|multi\nline"),
    (r#"{{ define "a\tb" }}x{{ end }}{{ template "a\x09b" }}"#, "", "x"),
    // Character constants are ints; `\x` and octal give the byte's value.
    (
        r"{{ 'a' }} {{ '\n' }} {{ '\'' }} {{ '\x41' }} {{ '\101' }} {{ '\u00e9' }} {{ '\U0001F600' }} {{ 'é' }} {{ '\xff' }} {{ '\\' }} {{ '\t' }}",
        "",
        "97 10 39 65 65 233 128512 233 255 92 9",
    ),
    ("{{ printf `%c%c` 'h' 'é' }}", "", "hé"),
    // What Go refuses (Go says "invalid syntax" alone; the rest is ours).
    (r#"{{ "\'" }}"#, "", r"ERR parse error at (t:1:3): invalid syntax: unknown escape sequence \'"),
    (r#"{{ '\"' }}"#, "", r#"ERR parse error at (t:1:3): invalid syntax: unknown escape sequence \""#),
    (r#"{{ "\400" }}"#, "", r"ERR parse error at (t:1:3): invalid syntax: bad octal escape \400"),
    (r#"{{ "\08" }}"#, "", r"ERR parse error at (t:1:3): invalid syntax: bad octal escape \08"),
    (r#"{{ "\1" }}"#, "", r"ERR parse error at (t:1:3): invalid syntax: bad octal escape \1"),
    (r#"{{ "\x4" }}"#, "", r"ERR parse error at (t:1:3): invalid syntax: bad escape \x4"),
    (r#"{{ "\xg0" }}"#, "", r"ERR parse error at (t:1:3): invalid syntax: bad escape \xg0"),
    (r#"{{ "\u00e" }}"#, "", r"ERR parse error at (t:1:3): invalid syntax: bad escape \u00e"),
    (r#"{{ "\uD800" }}"#, "", r"ERR parse error at (t:1:3): invalid syntax: bad escape \uD800"),
    (r#"{{ "\U00110000" }}"#, "", r"ERR parse error at (t:1:3): invalid syntax: bad escape \U00110000"),
    (r#"{{ "\q" }}"#, "", r"ERR parse error at (t:1:3): invalid syntax: unknown escape sequence \q"),
    (r#"{{ "\ " }}"#, "", r"ERR parse error at (t:1:3): invalid syntax: unknown escape sequence \ "),
    ("{{ '' }}", "", "ERR parse error at (t:1:3): invalid syntax"),
    ("{{ 'ab' }}", "", "ERR parse error at (t:1:3): malformed character constant: 'ab'"),
    ("{{ printf '%c' }}", "", "ERR parse error at (t:1:10): malformed character constant: '%c'"),
];

#[test]
fn string_and_character_escapes() {
    check_renders(ESCAPES);
}

#[test]
fn literals_decode_alone() {
    assert_eq!(unquote_string(r#""\033[0m""#), Ok("\x1b[0m".to_string()));
    assert_eq!(unquote_string("`a\\n\r`"), Ok("a\\n".to_string()));
    assert_eq!(unquote_string(r#""\xe2\x82\xac""#), Ok("€".to_string()));
    assert_eq!(unquote_string(r#""\xe2\x82""#), Ok("\u{fffd}".to_string()));
    assert_eq!(unquote_char(r"'\377'"), Ok(255));
    assert_eq!(unquote_char(r"'\u2318'"), Ok(0x2318));
    assert!(unquote_char(r"'\400'").is_err());
    assert!(unquote_string(r#""\'""#).is_err());
}

#[test]
fn numbers_read_as_go_reads_them() {
    let cases: &[(&str, Result<Value, &str>)] = &[
        ("42", Ok(Value::Int(42))),
        ("-7", Ok(Value::Int(-7))),
        ("+7", Ok(Value::Int(7))),
        ("0x1F", Ok(Value::Int(31))),
        ("0X1e", Ok(Value::Int(30))),
        ("0o17", Ok(Value::Int(15))),
        ("017", Ok(Value::Int(15))),
        ("0b101", Ok(Value::Int(5))),
        ("1_000_000", Ok(Value::Int(1_000_000))),
        ("-9223372036854775808", Ok(Value::Int(i64::MIN))),
        ("1.0", Ok(Value::Float(1.0))),
        (".5", Ok(Value::Float(0.5))),
        ("1e3", Ok(Value::Float(1000.0))),
        ("1.5E-3", Ok(Value::Float(0.0015))),
        ("0x1p4", Ok(Value::Float(16.0))),
        ("0x1.8p1", Ok(Value::Float(3.0))),
        ("1_0.5", Ok(Value::Float(10.5))),
        ("9223372036854775808", Err("9223372036854775808 overflows int")),
        ("99999999999999999999", Err(r#"integer overflow: "99999999999999999999""#)),
        ("089", Err(r#"integer overflow: "089""#)),
        ("0x1.8", Err(r#"illegal number syntax: "0x1.8""#)),
        ("1__0", Err(r#"illegal number syntax: "1__0""#)),
        ("1_", Err(r#"illegal number syntax: "1_""#)),
        ("2i", Err("complex constant 2i is not supported")),
    ];
    for (text, want) in cases {
        assert_eq!(number(text), want.clone().map_err(str::to_string), "{text}");
    }
}

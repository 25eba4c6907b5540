//! The unit tests of `crate::yaml11`: each reading checked against what
//! sigs.k8s.io/yaml over go-yaml v2 (and Helm) make of the same text.

use super::decode::{Decoder, MAX_DEPTH, WANT_MAP};
use super::scalar::float_key;
use super::tree::Node;
use super::*;
use serde_json::json;
use std::rc::Rc;

fn one(text: &str) -> Value {
    let mut docs = documents(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
    assert_eq!(docs.len(), 1, "{text:?}");
    docs.remove(0)
}

/// The value of `v: SCALAR`, as sigs.k8s.io/yaml v1.6.0's YAMLToJSON
/// (over go.yaml.in/yaml/v2 v2.4.4) makes it.
#[test]
fn plain_scalars_are_typed_as_yaml_1_1() {
    let table: &[(&str, Value)] = &[
        // The redis chart's case: a leading 0 is octal.
        ("0755", json!(493)),
        ("0644", json!(420)),
        ("0", json!(0)),
        ("00", json!(0)),
        ("-0755", json!(-493)),
        ("+0755", json!(493)),
        // Not octal digits: no integer, but YAML's float shape, in decimal.
        ("08", json!(8)),
        ("09", json!(9)),
        ("0778", json!(778)),
        ("0o755", json!(493)),
        ("0O17", json!(15)),
        ("0o8", json!("0o8")),
        ("0x1F", json!(31)),
        ("0X1f", json!(31)),
        ("-0x10", json!(-16)),
        ("0x", json!("0x")),
        ("0xG", json!("0xG")),
        ("0b101", json!(5)),
        ("-0b101", json!(-5)),
        ("0b-101", json!(-5)),
        ("0b2", json!("0b2")),
        ("1_000", json!(1000)),
        ("0x_0A_74_AE", json!(685230)),
        ("1__0", json!(10)),
        ("1_", json!(1)),
        ("_1", json!("_1")),
        ("+685_230", json!(685230)),
        ("12", json!(12)),
        ("-12", json!(-12)),
        ("9223372036854775807", json!(9223372036854775807i64)),
        ("-9223372036854775808", json!(-9223372036854775808i64)),
        ("9223372036854775808", json!(9223372036854775808u64)),
        ("18446744073709551615", json!(18446744073709551615u64)),
        ("0xFFFFFFFFFFFFFFFF", json!(18446744073709551615u64)),
        // Beyond uint64: a decimal is a float, a signed one too, hexadecimal a string.
        ("18446744073709551616", json!(18446744073709551616.0)),
        ("+9223372036854775808", json!(9223372036854776000u64)),
        // encoding/json's digits for an integral float: the shortest, then zeros.
        ("1.0975482392613602e+17", json!(109754823926136020i64)),
        ("-1.2323797981906885e18", json!(-1232379798190688500i64)),
        ("0x10000000000000000", json!("0x10000000000000000")),
        ("1.5", json!(1.5)),
        ("1.0", json!(1)),
        ("-1.", json!(-1)),
        (".5", json!(0.5)),
        ("-.5", json!(-0.5)),
        ("+.5", json!(0.5)),
        (".1_5", json!(0.15)),
        ("._5", json!("._5")),
        ("1e3", json!(1000)),
        ("6.8523e+5", json!(685230)),
        ("685.230_15e+03", json!(685230.15)),
        ("1.5e-7", json!(1.5e-7)),
        ("1e400", json!("1e400")),
        ("1e", json!("1e")),
        ("1.2.3", json!("1.2.3")),
        ("1:1", json!("1:1")),
        ("2015-01-01", json!("2015-01-01")),
        ("2001-12-14t21:59:43.10-05:00", json!("2001-12-14t21:59:43.10-05:00")),
        ("50cent", json!("50cent")),
        ("+", json!("+")),
        ("-b_c", json!("-b_c")),
        ("inf", json!("inf")),
        ("+inf", json!("+inf")),
        ("nan", json!("nan")),
        ("infinity", json!("infinity")),
        (".iNf", json!(".iNf")),
        // Booleans: YAML 1.1's, only these spellings.
        ("y", json!(true)),
        ("Y", json!(true)),
        ("yes", json!(true)),
        ("Yes", json!(true)),
        ("YES", json!(true)),
        ("on", json!(true)),
        ("On", json!(true)),
        ("ON", json!(true)),
        ("true", json!(true)),
        ("True", json!(true)),
        ("TRUE", json!(true)),
        ("n", json!(false)),
        ("N", json!(false)),
        ("no", json!(false)),
        ("No", json!(false)),
        ("NO", json!(false)),
        ("off", json!(false)),
        ("Off", json!(false)),
        ("OFF", json!(false)),
        ("false", json!(false)),
        ("False", json!(false)),
        ("FALSE", json!(false)),
        ("yES", json!("yES")),
        ("oN", json!("oN")),
        ("tRUE", json!("tRUE")),
        ("yes please", json!("yes please")),
        // Nulls.
        ("~", Value::Null),
        ("null", Value::Null),
        ("Null", Value::Null),
        ("NULL", Value::Null),
        ("", Value::Null),
        ("nULL", json!("nULL")),
        ("<<", json!("<<")),
        ("hello world", json!("hello world")),
    ];
    for (scalar, expected) in table {
        assert_eq!(one(&format!("v: {scalar}\n"))["v"], *expected, "v: {scalar}");
    }
}

#[test]
fn quoted_and_block_scalars_stay_strings() {
    let doc = one("a: '0755'\nb: \"yes\"\nc: 'null'\nd: \"1.5\"\ne: |\n  0755\nf: >-\n  on\ng: ''\n");
    assert_eq!(doc, json!({"a": "0755", "b": "yes", "c": "null", "d": "1.5", "e": "0755\n", "f": "on", "g": ""}));
}

#[test]
fn tags_decide_as_go_yaml_v2_does() {
    let doc = one("a: !!str 0755\nb: !!int \"0755\"\nc: !!float 1\nd: !!bool \"yes\"\ne: !!null ''\nf: ! 12\ng: !custom 12\nh: !!binary aGVsbG8=\ni: !!timestamp 2015-01-01\n");
    assert_eq!(
        doc,
        json!({"a": "0755", "b": 493, "c": 1, "d": true, "e": null, "f": "12", "g": "12", "h": "hello", "i": "2015-01-01"})
    );
    assert_eq!(documents("v: !!int 1.5\n").unwrap_err(), "line 1: cannot decode !!float `1.5` as a !!int");
    assert_eq!(
        documents("v: !!float 18446744073709551615\n").unwrap_err(),
        "line 1: cannot decode !!int `18446744073709551615` as a !!float"
    );
    assert!(documents("v: !!timestamp soon\n").is_err());
    assert!(documents("v: !!binary '*'\n").is_err());
}

#[test]
fn nan_and_infinity_are_refused_by_line() {
    for (scalar, what) in
        [(".nan", "NaN"), (".NaN", "NaN"), (".inf", "infinite"), ("-.Inf", "infinite"), ("+.INF", "infinite")]
    {
        let err = documents(&format!("a: 1\nv: {scalar}\n")).unwrap_err();
        assert!(err.starts_with("line 2: "), "{err}");
        assert!(err.contains(&format!("`{scalar}` is a YAML float that is {what}")), "{err}");
    }
    // Quoted, they are strings.
    assert_eq!(one("v: '.nan'\n"), json!({"v": ".nan"}));
}

#[test]
fn keys_become_strings_as_sigs_k8s_io_yaml_writes_them() {
    let doc = one(
        "1: int\n0755: octal\n0x1F: hex\ntrue: bool\non: yes\nno: n\n1.5: float\n1e3: e3\n0.1: tenth\n1e10: big\n3.14159265358979: pi\n123456789.0: long\n.inf: inf\n-.Inf: neginf\n.nan: nan\n-0.0: negzero\n0.00001: small\n08: eight\n\"1\": string\n",
    );
    let keys: Vec<&str> = doc.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "1",
            "493",
            "31",
            "true",
            "false",
            "1.5",
            "1000",
            "0.1",
            "1e+10",
            "3.1415927",
            "1.2345679e+08",
            ".inf",
            "-.inf",
            ".nan",
            "-0",
            "1e-05",
            "8",
        ]
    );
    // `true` and `on` are the same key, and `1` and "1": the later value stays.
    assert_eq!(doc["true"], json!(true));
    assert_eq!(doc["1"], json!("string"));
    assert_eq!(doc["false"], json!(false));
}

#[test]
fn keys_json_cannot_carry_are_refused() {
    let err = documents("a: 1\n~: nothing\n").unwrap_err();
    assert_eq!(err, "line 2: a mapping key is null (`~`), which sigs.k8s.io/yaml refuses; quote it or give it a name");
    assert!(documents("? \n: empty\n").unwrap_err().contains("a mapping key is null"));
    assert!(documents("18446744073709551615: big\n").unwrap_err().contains("beyond int64"));
    assert!(documents("? [a, b]\n: list\n").unwrap_err().contains("itself a sequence or mapping"));
    assert_eq!(one("'~': quoted\n"), json!({"~": "quoted"}));
}

#[test]
fn streams_of_documents() {
    let docs = documents("a: 1\n---\n---\n# only a comment\n---\nb: 0755\n...\n--- 12\n").unwrap();
    assert_eq!(docs, [json!({"a": 1}), Value::Null, Value::Null, json!({"b": 493}), json!(12)]);
    assert_eq!(documents("").unwrap(), Vec::<Value>::new());
    assert!(documents("a: [1, 2\n").unwrap_err().contains("line"));
}

#[test]
fn anchors_aliases_and_merge_keys() {
    let doc = one(
        "base: &base {mode: 0755, name: x}\nlist: &l [a, *base]\ncopy: *l\nmerged:\n  name: before\n  <<: *base\n  extra: 1\nafter:\n  <<: [{a: 1, b: 1}, {a: 2, c: 2}]\n  c: 3\nscalar: &s 0x10\nuse: *s\n*s : aliased key\n",
    );
    assert_eq!(doc["base"], json!({"mode": 493, "name": "x"}));
    assert_eq!(doc["copy"], json!(["a", {"mode": 493, "name": "x"}]));
    // go-yaml v2: the merged map replaces keys written before `<<`.
    assert_eq!(doc["merged"], json!({"name": "x", "mode": 493, "extra": 1}));
    // Earlier maps of a merged sequence win; later explicit keys win over them.
    assert_eq!(doc["after"], json!({"a": 1, "b": 1, "c": 3}));
    assert_eq!(doc["use"], json!(16));
    assert_eq!(doc["16"], json!("aliased key"));
    // A quoted `<<` is an ordinary key.
    assert_eq!(one("'<<': {a: 1}\n"), json!({"<<": {"a": 1}}));
    assert_eq!(documents("<<: 1\n").unwrap_err(), WANT_MAP);
    assert_eq!(documents("<<: [{a: 1}, 2]\n").unwrap_err(), WANT_MAP);
    assert!(documents("a: &a [*a]\n").unwrap_err().contains("refers to the value it is part of"));
    // Anchors do not cross documents.
    assert!(documents("a: &x 1\n---\nb: *x\n").is_err());
}

#[test]
fn alias_bombs_stop() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let p = i - 1;
        text.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
    }
    assert_eq!(documents(&text).unwrap_err(), "the document contains excessive aliasing");
    // A few aliases are fine.
    text.truncate(text.find("a3:").unwrap());
    assert!(documents(&text).is_ok());
}

#[test]
fn nesting_deeper_than_the_limit_stops() {
    // Aliases can nest values deeper than the parser's own limits let
    // text nest; the decoder stops at MAX_DEPTH either way.
    let nested = |depth: usize| {
        let mut node = Node::Scalar { text: "x".into(), plain: true, tag: None, line: 1 };
        for _ in 0..depth {
            node = Node::Sequence { items: vec![Rc::new(node)], line: 1 };
        }
        Decoder::default().value(&node, 0)
    };
    assert_eq!(nested(MAX_DEPTH + 1).unwrap_err(), format!("values are nested more than {MAX_DEPTH} deep"));
    assert!(nested(MAX_DEPTH).is_ok());
}

#[test]
fn the_redis_chart_volume() {
    let text = "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: redis-master\nspec:\n  template:\n    spec:\n      volumes:\n        - name: start-scripts\n          configMap:\n            name: redis-scripts\n            defaultMode: 0755\n        - name: health\n          configMap:\n            name: redis-health\n            defaultMode: 0755\n";
    let doc = one(text);
    let volumes = &doc["spec"]["template"]["spec"]["volumes"];
    assert_eq!(volumes[0]["configMap"]["defaultMode"], json!(493));
    assert_eq!(volumes[1]["configMap"]["defaultMode"], json!(493));
    assert_eq!(
        serde_json::to_string(&volumes[1]["configMap"]).unwrap(),
        r#"{"name":"redis-health","defaultMode":493}"#
    );
}

#[test]
fn go_float_formatting_of_keys() {
    for (f, expected) in [
        (0.0, "0"),
        (100000.0, "100000"),
        (1_000_000.0, "1e+06"),
        (1234567.0, "1.234567e+06"),
        (0.0001, "0.0001"),
        (0.00012, "0.00012"),
        (1.0e-5, "1e-05"),
        (-2.5, "-2.5"),
        (16777217.0, "1.6777216e+07"),
        (3.4e38, "3.4e+38"),
        (1e39, ".inf"),
        (-1e39, "-.inf"),
        (1.0e-45, "1e-45"),
        // Ties between two shortest spellings go to the even digit, as in Go.
        (211329.62196920672, "211329.62"),
        (-2271516.270073587, "-2.2715162e+06"),
        (379106.1226603631, "379106.12"),
    ] {
        assert_eq!(float_key(f), expected, "{f}");
    }
}

/// sigs.k8s.io/yaml's Unmarshal into `interface{}` (Helm's values,
/// `fromYaml`): the same typing, every number a float64.
#[test]
fn unmarshal_makes_every_number_a_float64() {
    let doc = unmarshal(
        "mode: 0755\nflag: yes\nsep: 1_000\nhex: 0x1F\nnone: ~\none: 1.0\nnegzero: -0.0\nbig: 9007199254740993\nmax: 18446744073709551615\nhalf: .5\n1: int key\non: bool key\n",
    )
    .unwrap();
    let number = |key: &str| match &doc[key] {
        Value::Number(n) => {
            assert!(n.is_f64(), "{key} is not a float64: {n}");
            n.as_f64().unwrap()
        }
        other => panic!("{key}: {other}"),
    };
    assert_eq!(number("mode"), 493.0);
    assert_eq!(number("sep"), 1000.0);
    assert_eq!(number("hex"), 31.0);
    assert_eq!(number("one"), 1.0);
    assert!(number("negzero") == 0.0 && number("negzero").is_sign_negative());
    // encoding/json reads the integer's text to the nearest float64.
    assert_eq!(number("big"), 9007199254740992.0);
    assert_eq!(number("max"), 18446744073709551615u64 as f64);
    assert_eq!(number("half"), 0.5);
    assert_eq!(doc["flag"], json!(true));
    assert_eq!(doc["none"], Value::Null);
    assert_eq!(doc["1"], json!("int key"));
    assert_eq!(doc["true"], json!("bool key"));
    // `documents` keeps integers (the API server's reading).
    assert!(documents("mode: 0755\n").unwrap()[0]["mode"].is_i64());
}

#[test]
fn unmarshal_reads_the_first_document_only() {
    assert_eq!(unmarshal("a: 0755\n---\nb: [\n").unwrap(), json!({"a": 493.0}));
    assert_eq!(unmarshal("--- 0x10\n--- 2\n").unwrap(), json!(16.0));
    assert_eq!(unmarshal("---\n---\na: 1\n").unwrap(), Value::Null);
    assert_eq!(unmarshal("").unwrap(), Value::Null);
    assert_eq!(unmarshal("# only a comment\n").unwrap(), Value::Null);
    assert_eq!(unmarshal("- on\n- off\n").unwrap(), json!([true, false]));
    assert!(unmarshal("a: [1\n").unwrap_err().contains("line"));
    assert!(unmarshal("a: .inf\n").unwrap_err().contains("infinite"));
    assert!(unmarshal("~: x\n").unwrap_err().contains("a mapping key is null"));
}

/// What go-yaml v2's encoder writes plain (a string that reads back as
/// a string) and what it quotes, as Helm v4.3.2's toYaml showed it.
#[test]
fn which_plain_scalars_resolve_to_strings() {
    for plain in [
        "hello",
        "0o8",
        "yES",
        ".iNf",
        "_1",
        "1e400",
        "<<",
        "-",
        "0x",
        "1.2.3",
        "2015-02-30",
        "2015-02-29",
        "2015-13-01",
        "2015-0-01",
        "2015-12-01T25:00:00Z",
        "10000-01-01",
        "2001-12-14 21:59:43.10 -5",
        ".5e400",
        "NaN",
        "Infinity",
        "inf",
        "0x1p-2",
        "1:20",
        "2015-01-01T00:00:00+25:00",
    ] {
        assert!(resolves_to_string(plain), "{plain} should stay a plain string");
    }
    for typed in [
        "2015-01-01",
        "2015-1-2",
        "2016-02-29",
        "2001-12-14t21:59:43.10-05:00",
        "2001-12-14 21:59:43.10",
        "2001-12-14T21:59:43,5Z",
        "2015-01-01T00:00:00+24:00",
        "0b-101",
        "+.5",
        "1_",
        "12e3",
        "0755",
        "08",
        "+0b1",
        "0b1_0",
        "yes",
        "Off",
        "~",
        "",
        "null",
        ".inf",
        "-.Inf",
        ".NaN",
        "0x1F",
        "-12",
    ] {
        assert!(!resolves_to_string(typed), "{typed} should resolve to another type");
    }
}

/// Comments are skipped however many stand together, as go-yaml reads
/// them: a chart's values.yaml often holds long commented-out blocks, and
/// granit-parser, asked for comment events, buffers those after a `key:`
/// while it looks ahead for the value and stops at 96 ("too many buffered
/// comments while looking ahead"). Every place a comment can stand here.
#[test]
fn long_comment_blocks_are_skipped() {
    let block = |indent: &str, n: usize| -> String {
        (0..n).map(|i| format!("{indent}# key{i}: value  # an old setting\n")).collect()
    };
    let mut text = String::from("# header\na: 1\n");
    text += &block("", 300);
    text += "nested:\n  b: 2\n";
    text += &block("  ", 200);
    text += &block("", 200);
    text += "  c: 0755\n";
    text += &block("    ", 150);
    text += "deep:\n";
    text += &block("  ", 150);
    text += "  e: f\nnone:\n";
    text += &block("", 150);
    text += "list:\n";
    text += &block("", 150);
    text += "  - on\n";
    text += &block("  ", 150);
    text += "  - x\nflow: {\n";
    text += &block("  ", 150);
    text += "  k: v,\n";
    text += &block("  ", 150);
    text += "  l: [1,\n";
    text += &block("", 150);
    text += "   2]}\nlast: y\n";
    text += &block("", 500);
    let expected = json!({"a": 1, "nested": {"b": 2, "c": 493}, "list": [true, "x"], "flow": {"k": "v", "l": [1, 2]}, "last": true, "deep": {"e": "f"}, "none": null});
    assert_eq!(one(&text), expected);
    assert_eq!(unmarshal(&text).unwrap()["nested"]["c"], json!(493.0));

    // Between documents and before the first too.
    let stream = format!("{}a: 1\n{}---\n{}b: 2\n{}", block("", 200), block("", 200), block("", 200), block("", 200));
    assert_eq!(documents(&stream).unwrap(), [json!({"a": 1}), json!({"b": 2})]);
    // A stream of comments only holds no document.
    assert_eq!(documents(&block("", 300)).unwrap(), Vec::<Value>::new());
    assert_eq!(unmarshal(&block("", 300)).unwrap(), Value::Null);
    // A `#` that follows no blank starts no comment.
    assert_eq!(one("a: b#c\n"), json!({"a": "b#c"}));
}

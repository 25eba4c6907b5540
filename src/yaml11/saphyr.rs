//! The typed reading of YAML files through serde-saphyr (YAML 1.2, into
//! serde types, `Spanned` and `deny_unknown_fields` honoured): airlock's
//! spec, a chart's `Chart.yaml` when it is bundled, a Helm repository's
//! `index.yaml`, Helm's `repositories.yaml` and `--registry-config`. Read a
//! file through [`from_str`] here, not `serde_saphyr::from_str`.
//!
//! It is here, beside `tree`, because both run the same parser
//! (granit-parser) and need the same setting: no comment events. With them
//! on (serde-saphyr's default), the parser buffers the comments that follow
//! a key with no value on its line (`key:`, then the comments, then the
//! nested mapping or list on later lines) while it looks ahead for the
//! value, and serde-saphyr's default budget lets it buffer 32
//! (`Budget::max_buffered_comment_events`): past that the file is refused
//! with "too many buffered comments while looking ahead", where Helm,
//! kubectl and every other YAML tool read it. airlock reads no comment
//! (no `Commented` values), so it asks for none; comments are still skipped
//! and checked as YAML syntax, and everything else (typing, budget, errors
//! with their line and column, spans) is serde-saphyr's default.

use serde::Deserialize;

/// `serde_saphyr::from_str`, with serde-saphyr's default options but no
/// comment events: a long block of comments anywhere reads as none.
pub fn from_str<'de, T: Deserialize<'de>>(text: &'de str) -> Result<T, serde_saphyr::Error> {
    serde_saphyr::from_str_with_options(text, serde_saphyr::options! { emit_comments: false })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_saphyr::Spanned;
    use std::collections::BTreeMap;

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct File {
        image: Spanned<BTreeMap<String, String>>,
        #[serde(default)]
        ports: Vec<Spanned<u16>>,
    }

    /// Comments are skipped however many stand together, at every place a
    /// comment can stand, where serde-saphyr's defaults stop at 32 buffered
    /// ones; spans, errors and their places are those of the default
    /// reading.
    #[test]
    fn long_comment_blocks_are_skipped() {
        let block = |indent: &str, n: usize| -> String {
            (0..n).map(|i| format!("{indent}# key{i}: value  # an old setting\n")).collect()
        };
        let text = |n: usize| {
            format!(
                "# header\n{}image:\n{}  repository: x  # trailing\n{}  tag: \"1.0\"\n{}ports:\n{}  - 80\n{}  - 443\n{}",
                block("", n),
                block("  ", n),
                block("", n),
                block("    ", n),
                block("", n),
                block("  ", n),
                block("", n),
            )
        };
        let line_of = |text: &str, what: &str| text.lines().position(|l| l.contains(what)).unwrap() + 1;
        let short = text(0);
        let by_default: File = serde_saphyr::from_str(&short).unwrap();
        let long = text(300);
        let err = serde_saphyr::from_str::<File>(&long).unwrap_err().to_string();
        assert!(err.contains("too many buffered comments while looking ahead"), "{err}");

        for text in [&short, &long] {
            let file: File = from_str(text).unwrap();
            assert_eq!(file.image.value, by_default.image.value);
            assert_eq!(file.image.referenced.line() as usize, line_of(text, "repository"));
            let ports: Vec<_> = file.ports.iter().map(|p| (p.value, p.referenced.line() as usize)).collect();
            assert_eq!(ports, [(80, line_of(text, "- 80")), (443, line_of(text, "- 443"))]);
            assert_eq!(file.ports[1].referenced.column(), by_default.ports[1].referenced.column());
        }

        // Errors: the default's message, on the line the mistake is on.
        for (from, to, at) in [
            ("  tag: \"1.0\"", "  tag: [1.0", "[1.0"),
            ("ports:", "portz:", "portz"),
            ("  - 443", "  - 70000", "70000"),
        ] {
            let error = |text: &str| {
                let e = from_str::<File>(&text.replace(from, to)).unwrap_err();
                let location = e.location().unwrap();
                (location.line() as usize, location.column(), e.without_snippet().to_string())
            };
            let default = serde_saphyr::from_str::<File>(&short.replace(from, to)).unwrap_err();
            let (line, column, message) = error(&short);
            assert_eq!(message, default.without_snippet().to_string());
            assert_eq!(line, line_of(&short.replace(from, to), at), "{message}");
            let (long_line, long_column, _) = error(&long);
            assert_eq!((long_line, long_column), (line_of(&long.replace(from, to), at), column));
        }
    }
}

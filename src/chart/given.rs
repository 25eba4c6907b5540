//! Values given on the command line, in Helm's forms: `-f` files merged in
//! order, then `--set-json`, `--set`, `--set-string`, `--set-file` and
//! `--set-literal`, in that order, as Helm v4 layers them
//! (`values.Options.MergeValues`). It reads the files it is pointed at;
//! what the keys mean (a chart's values, or a bundle's values keyed by
//! chart name) is its caller's.

use super::template::convert::from_json;
use super::template::{Map, Value};
use super::values::{self, merge_maps, parse_path, set_path, split_key_value};
use std::path::PathBuf;

/// The values a command was given, unread.
#[derive(Debug, Clone, Default)]
pub struct GivenValues {
    pub files: Vec<PathBuf>,
    pub set: Vec<String>,
    pub set_string: Vec<String>,
    /// `key=path`: the file's text, as a string.
    pub set_file: Vec<String>,
    /// `key=JSON`: the value as JSON reads.
    pub set_json: Vec<String>,
    /// `key=text`: the text as it is (no `,` splitting, no escapes).
    pub set_literal: Vec<String>,
}

impl GivenValues {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
            && self.set.is_empty()
            && self.set_string.is_empty()
            && self.set_file.is_empty()
            && self.set_json.is_empty()
            && self.set_literal.is_empty()
    }

    /// The values, layered as Helm layers them; an error names the flag and
    /// its argument, or the file.
    pub fn read(&self) -> Result<Map, String> {
        let mut user = Map::new();
        for file in &self.files {
            let text = read_text(file).map_err(|e| format!("cannot read values file {}: {e}", file.display()))?;
            let read =
                values::read_values(&text).map_err(|e| format!("cannot read values file {}: {e}", file.display()))?;
            merge_maps(&mut user, &read);
        }
        let bad = |flag: &str, arg: &str, why: String| format!("{flag} {arg:?}: {why}");
        for arg in &self.set_json {
            let (key, json) = key_and_value(arg).map_err(|why| bad("--set-json", arg, why))?;
            let value = from_json(&json).map_err(|why| bad("--set-json", arg, format!("not JSON: {why}")))?;
            set_key(&mut user, &key, value).map_err(|why| bad("--set-json", arg, why))?;
        }
        for (flag, list, strings) in [("--set", &self.set, false), ("--set-string", &self.set_string, true)] {
            for arg in list {
                values::apply_set(&mut user, arg, strings).map_err(|why| bad(flag, arg, why))?;
            }
        }
        for arg in &self.set_file {
            let (key, path) = key_and_value(arg).map_err(|why| bad("--set-file", arg, why))?;
            let text = read_text(std::path::Path::new(&path))
                .map_err(|e| bad("--set-file", arg, format!("cannot read {path}: {e}")))?;
            set_key(&mut user, &key, Value::from(text.as_str())).map_err(|why| bad("--set-file", arg, why))?;
        }
        for arg in &self.set_literal {
            let (key, text) = key_and_value(arg).map_err(|why| bad("--set-literal", arg, why))?;
            set_key(&mut user, &key, Value::from(text.as_str())).map_err(|why| bad("--set-literal", arg, why))?;
        }
        Ok(user)
    }
}

/// A file's text, if it is no larger than `values::MAX_VALUES_SIZE` (checked
/// before reading, so a huge file is not read into memory).
pub(crate) fn read_text(path: &std::path::Path) -> Result<String, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let size = file.metadata().map_err(|e| e.to_string())?.len();
    if size > values::MAX_VALUES_SIZE as u64 {
        return Err(values::too_large(size));
    }
    let mut text = String::new();
    file.take(values::MAX_VALUES_SIZE as u64 + 1).read_to_string(&mut text).map_err(|e| e.to_string())?;
    if text.len() > values::MAX_VALUES_SIZE {
        return Err(values::too_large(text.len() as u64));
    }
    Ok(text)
}

/// `key=value`, split at the first `=` that is not escaped.
fn key_and_value(arg: &str) -> Result<(String, String), String> {
    split_key_value(arg).ok_or_else(|| "no value (use key=value)".to_string())
}

fn set_key(values: &mut Map, key: &str, value: Value) -> Result<(), String> {
    set_path(values, &parse_path(key)?, value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::template::convert::to_json;

    fn json(map: Map) -> serde_json::Value {
        serde_json::from_str(&to_json(&Value::map(map))).unwrap()
    }

    #[test]
    fn every_form_is_layered_as_helm_layers_them() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("site.yaml");
        std::fs::write(&file, "web: {replicas: 1, name: a}\n").unwrap();
        let cert = dir.path().join("ca.pem");
        std::fs::write(&cert, "-----BEGIN-----\nx,y\n").unwrap();
        let given = GivenValues {
            files: vec![file],
            // --set wins over --set-json, --set-string over --set.
            set_json: vec![r#"web.tls={"on":true,"ports":[443]}"#.into(), "web.replicas=5".into()],
            set: vec!["web.replicas=3,web.tag=0755".into()],
            set_string: vec!["web.tag=1.10".into()],
            set_file: vec![format!("web.ca={}", cert.display())],
            set_literal: vec!["web.args=--a=b,c\\d".into()],
        };
        assert_eq!(
            json(given.read().unwrap()),
            serde_json::json!({"web": {"replicas": 3, "name": "a", "tag": "1.10", "tls": {"on": true, "ports": [443]},
                "ca": "-----BEGIN-----\nx,y\n", "args": "--a=b,c\\d"}})
        );
        let bad = GivenValues { set_json: vec!["web.x={".into()], ..Default::default() };
        assert!(bad.read().unwrap_err().starts_with("--set-json \"web.x={\": not JSON"));
        let missing = GivenValues { set_file: vec!["web.ca=/nonexistent".into()], ..Default::default() };
        assert!(missing.read().unwrap_err().contains("cannot read /nonexistent"));
    }

    /// A values file, or a `--set-file` file, past `MAX_VALUES_SIZE` is
    /// refused by its size, naming it, without being read.
    #[test]
    fn files_past_the_values_size_limit_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.yaml");
        let size = values::MAX_VALUES_SIZE as u64 + 1;
        std::fs::File::create(&big).unwrap().set_len(size).unwrap();
        let given = GivenValues { files: vec![big.clone()], ..Default::default() };
        let err = given.read().unwrap_err();
        let want = format!("cannot read values file {}: it is {size} bytes, more than the 16 MiB", big.display());
        assert!(err.starts_with(&want), "{err}");
        let given = GivenValues { set_file: vec![format!("a={}", big.display())], ..Default::default() };
        assert!(given.read().unwrap_err().contains(&format!("it is {size} bytes")));
    }
}

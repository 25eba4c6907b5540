//! `values.schema.json` checks, as Helm makes them before rendering: each
//! chart's schema against that chart's share of the values, every failure
//! listed under the chart's name with its JSON pointer, and, when the
//! layers of user values are known, the one that set it.

use super::load::Chart;
use super::template::convert::to_json;
use super::template::{Map, Value};

/// Checks `values` (the coalesced values of `chart`) against the schemas of
/// the chart and its subcharts. The error lists every failure, each with
/// the last of `layers` (name, user values) that set it.
pub fn validate(chart: &Chart, values: &Map, layers: &[(String, Map)]) -> Result<(), String> {
    let mut report = String::new();
    check(chart, values, &[], layers, &mut report)?;
    if report.is_empty() {
        Ok(())
    } else {
        Err(format!("values don't meet the specifications of the schema(s) in the following chart(s):\n{report}"))
    }
}

/// ` (set by LAYER)` for the last layer that holds the value at `pointer`
/// under `prefix` (a subchart's path), ` (the chart's default)` when none
/// does; nothing when no layers are known.
fn set_by(prefix: &[String], pointer: &str, layers: &[(String, Map)]) -> String {
    if layers.is_empty() {
        return String::new();
    }
    let steps: Vec<String> = prefix
        .iter()
        .cloned()
        .chain(pointer.split('/').skip(1).map(|s| s.replace("~1", "/").replace("~0", "~")))
        .collect();
    let holds = |map: &Map| {
        let mut current = Value::map(map.clone());
        for step in &steps {
            let next = match &current {
                Value::Map(m) => m.borrow().get(step).cloned(),
                Value::List(l) => step.parse::<usize>().ok().and_then(|i| l.get(i).cloned()),
                _ => None,
            };
            match next {
                Some(value) => current = value,
                None => return false,
            }
        }
        true
    };
    match layers.iter().rev().find(|(_, map)| holds(map)) {
        Some((name, _)) => format!(" (set by {name})"),
        None => " (the chart's default)".into(),
    }
}

fn check(
    chart: &Chart,
    values: &Map,
    prefix: &[String],
    layers: &[(String, Map)],
    report: &mut String,
) -> Result<(), String> {
    if let Some(schema) = chart.files.get("values.schema.json") {
        let schema: serde_json::Value = serde_json::from_slice(schema)
            .map_err(|e| format!("chart {}: values.schema.json is not valid JSON: {e}", chart.name))?;
        let validator = jsonschema::validator_for(&schema)
            .map_err(|e| format!("chart {}: values.schema.json is not a valid schema: {e}", chart.name))?;
        let instance: serde_json::Value =
            serde_json::from_str(&to_json(&Value::map(values.clone()))).expect("to_json writes valid JSON");
        let failures: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| {
                let pointer = e.instance_path().to_string();
                format!("- at '{pointer}': {e}{}", set_by(prefix, &pointer, layers))
            })
            .collect();
        if !failures.is_empty() {
            report.push_str(&format!("{}:\n{}\n", chart.name, failures.join("\n")));
        }
    }
    for sub in &chart.subcharts {
        let sub_values = match values.get(&sub.name) {
            Some(Value::Map(m)) => m.borrow().clone(),
            _ => Map::new(),
        };
        let prefix: Vec<String> = prefix.iter().cloned().chain([sub.name.clone()]).collect();
        check(sub, &sub_values, &prefix, layers, report)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::template::convert::from_json;

    fn map(json: &str) -> Map {
        match from_json(json).unwrap() {
            Value::Map(m) => m.borrow().clone(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn a_failure_names_the_layer_that_set_the_value() {
        let layers = vec![
            ("the bundle's values".to_string(), map(r#"{"replicas": 2, "db": {"port": 1}}"#)),
            ("the site's values".to_string(), map(r#"{"replicas": 0, "list": [{"a/b": 1}]}"#)),
        ];
        assert_eq!(set_by(&[], "/replicas", &layers), " (set by the site's values)");
        assert_eq!(set_by(&[], "/db/port", &layers), " (set by the bundle's values)");
        assert_eq!(set_by(&[], "/list/0/a~1b", &layers), " (set by the site's values)");
        assert_eq!(set_by(&[], "/image", &layers), " (the chart's default)");
        // A subchart's pointer is under its name in the parent's values.
        let sub = vec![("the site's values".to_string(), map(r#"{"redis": {"port": "x"}}"#))];
        assert_eq!(set_by(&["redis".to_string()], "/port", &sub), " (set by the site's values)");
        assert_eq!(set_by(&[], "/replicas", &[]), "");
    }
}

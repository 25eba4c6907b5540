//! `values.schema.json` checks, as Helm makes them before rendering: each
//! chart's schema against that chart's share of the values, every failure
//! listed under the chart's name with its JSON pointer.

use super::load::Chart;
use super::template::convert::to_json;
use super::template::{Map, Value};

/// Checks `values` (the coalesced values of `chart`) against the schemas of
/// the chart and its subcharts. The error lists every failure.
pub fn validate(chart: &Chart, values: &Map) -> Result<(), String> {
    let mut report = String::new();
    check(chart, values, &mut report)?;
    if report.is_empty() {
        Ok(())
    } else {
        Err(format!("values don't meet the specifications of the schema(s) in the following chart(s):\n{report}"))
    }
}

fn check(chart: &Chart, values: &Map, report: &mut String) -> Result<(), String> {
    if let Some(schema) = chart.files.get("values.schema.json") {
        let schema: serde_json::Value = serde_json::from_slice(schema)
            .map_err(|e| format!("chart {}: values.schema.json is not valid JSON: {e}", chart.name))?;
        let validator = jsonschema::validator_for(&schema)
            .map_err(|e| format!("chart {}: values.schema.json is not a valid schema: {e}", chart.name))?;
        let instance: serde_json::Value =
            serde_json::from_str(&to_json(&Value::map(values.clone()))).expect("to_json writes valid JSON");
        let failures: Vec<String> =
            validator.iter_errors(&instance).map(|e| format!("- at '{}': {e}", e.instance_path())).collect();
        if !failures.is_empty() {
            report.push_str(&format!("{}:\n{}\n", chart.name, failures.join("\n")));
        }
    }
    for sub in &chart.subcharts {
        let sub_values = match values.get(&sub.name) {
            Some(Value::Map(m)) => m.borrow().clone(),
            _ => Map::new(),
        };
        check(sub, &sub_values, report)?;
    }
    Ok(())
}

//! What the site chose at install, beside the bundle: one of the bundle's
//! environments, and values of its own keyed by chart name. Both K3s and
//! cluster installs layer them over each chart's own values here, in
//! Helm's order (the bundle's values files and inline values, then the
//! environment's, then the site's); applying the result is theirs.

use crate::bundle::format::{ChartRecord, DocumentRecord, EnvironmentRecord};
use crate::bundle::reader::BundleReader;
use crate::chart::template::convert::from_json;
use crate::chart::template::{Map, Value};
use crate::chart::values;

/// The site's choice for one run.
#[derive(Clone, Copy)]
pub struct SiteChoice<'a> {
    /// The environment picked (`--env`), with its name.
    pub environment: Option<(&'a str, &'a EnvironmentRecord)>,
    /// Values given (`-f`, `--set`), keyed by chart name.
    pub values: &'a Map,
    /// Values read from the cluster's Secrets (`--values-secret`), keyed
    /// by chart name, with the Secrets named; layered under those given.
    pub from_secrets: Option<(&'a [String], &'a Map)>,
}

impl SiteChoice<'_> {
    /// `chart`'s user values in their layers, in order, each named for
    /// messages (a schema failure names the layer that set a value).
    pub fn layers(&self, reader: &BundleReader, chart: &ChartRecord) -> Result<Vec<(String, Map)>, String> {
        let bundle = user_values(reader, &chart.values_files, chart.values.as_ref())?;
        let mut layers = vec![(format!("the bundle's values for chart {}", chart.name), bundle)];
        if let Some((name, environment)) = self.environment {
            if let Some(given) = environment.charts.get(&chart.name) {
                let values = user_values(reader, &given.values_files, given.values.as_ref())?;
                layers.push((format!("environment {name}'s values"), values));
            }
        }
        if let Some((secrets, Value::Map(given))) = self.from_secrets.and_then(|(s, v)| Some((s, v.get(&chart.name)?)))
        {
            layers.push((format!("the values in Secret {}", secrets.join(", ")), given.borrow().clone()));
        }
        if let Some(Value::Map(given)) = self.values.get(&chart.name) {
            layers.push(("the site's values (-f, --set)".to_string(), given.borrow().clone()));
        }
        Ok(layers)
    }

    /// `chart`'s user values, layered.
    pub fn merged(&self, reader: &BundleReader, chart: &ChartRecord) -> Result<Map, String> {
        let merged = merge_layers(&self.layers(reader, chart)?);
        missing_required(chart, &merged)?;
        Ok(merged)
    }
}

/// The values the bundle marks secret in the charts of `components`, as
/// `CHART.path`: recorded so that nothing prints them.
pub fn secret_value_paths(components: &[&crate::bundle::format::Component]) -> Vec<String> {
    let charts = components.iter().flat_map(|c| &c.charts);
    charts.flat_map(|chart| chart.secret_values.iter().map(move |path| format!("{}.{path}", chart.name))).collect()
}

/// Layers of values merged in order, later ones winning, as Helm merges
/// `-f` files.
pub fn merge_layers(layers: &[(String, Map)]) -> Map {
    let mut merged = Map::new();
    for (_, layer) in layers {
        values::merge_maps(&mut merged, layer);
    }
    merged
}

/// Refuses `merged` (a chart's user values, layered) when it lacks a
/// value the bundle requires the site to give (`requiredValues`).
pub fn missing_required(chart: &ChartRecord, merged: &Map) -> Result<(), String> {
    let missing: Vec<&str> = chart
        .required_values
        .iter()
        .filter(|path| {
            let mut current = Value::map(merged.clone());
            for key in path.split('.') {
                let next = match &current {
                    Value::Map(m) => m.borrow().get(key).cloned(),
                    _ => None,
                };
                match next {
                    Some(Value::Nil) | None => return true,
                    Some(value) => current = value,
                }
            }
            false
        })
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let example = missing.iter().map(|path| format!("--set {}.{path}=...", chart.name)).collect::<Vec<_>>();
    Err(format!(
        "the bundle requires the site to give {} (give {} or a values file -f, keyed by chart name)",
        missing.join(", "),
        example.join(" ")
    ))
}

/// Values files read from the bundle (as Helm reads `-f` files), then
/// inline values.
fn user_values(
    reader: &BundleReader,
    files: &[DocumentRecord],
    inline: Option<&serde_json::Value>,
) -> Result<Map, String> {
    let mut texts = Vec::new();
    for file in files {
        let bytes = reader.read_blob(&file.digest).map_err(|e| {
            format!("cannot read values file {} from the bundle: {}", file.name, crate::oci::registry::error_chain(&e))
        })?;
        let text = String::from_utf8(bytes).map_err(|_| format!("values file {} is not UTF-8", file.name))?;
        texts.push((file.name.clone(), text));
    }
    values::user_values(texts, inline)
}

/// Values recorded as JSON, as the chart engine's map.
pub fn from_recorded(json: &serde_json::Value) -> Map {
    match from_json(&json.to_string()) {
        Ok(Value::Map(map)) => map.borrow().clone(),
        _ => Map::new(),
    }
}

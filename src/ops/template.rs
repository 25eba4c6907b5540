//! `airlock template`: render a chart as `helm template` does, offline.

use crate::chart::render::{render, RenderOptions, Rendered};
use crate::chart::template::Map;
use crate::chart::{load, values};
use anyhow::{Context, Result};
use std::path::PathBuf;

pub struct TemplateOptions {
    pub chart: PathBuf,
    pub values_files: Vec<PathBuf>,
    pub set: Vec<String>,
    pub set_string: Vec<String>,
    pub render: RenderOptions,
}

/// Loads the chart, merges the values as Helm does (files in order, then
/// --set, then --set-string) and renders.
pub fn template(options: &TemplateOptions) -> Result<Rendered> {
    let chart = load::load(&options.chart)?;
    let mut user = Map::new();
    for file in &options.values_files {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("cannot read values file {}", file.display()))?;
        // Every YAML document of the file, as Helm v4 reads it.
        let values = values::read_values(&text)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("cannot read values file {}", file.display()))?;
        values::merge_maps(&mut user, &values);
    }
    for (list, strings) in [(&options.set, false), (&options.set_string, true)] {
        for arg in list {
            values::apply_set(&mut user, arg, strings)
                .map_err(anyhow::Error::msg)
                .with_context(|| format!("bad --set {arg:?}"))?;
        }
    }
    render(&chart, user, &options.render).with_context(|| format!("cannot render chart {}", options.chart.display()))
}

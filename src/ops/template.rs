//! `airlock template`: render a chart as `helm template` does, offline.

use crate::chart::given::GivenValues;
use crate::chart::load;
use crate::chart::render::{render, RenderOptions, Rendered};
use crate::diagnosis::Usage;
use anyhow::{Context, Result};
use std::path::PathBuf;

pub struct TemplateOptions {
    pub chart: PathBuf,
    pub values: GivenValues,
    pub render: RenderOptions,
}

/// Loads the chart, layers the values given as Helm does, and renders.
pub fn template(options: &TemplateOptions) -> Result<Rendered> {
    let chart = load::load(&options.chart)?;
    let user = options.values.read().map_err(Usage)?;
    render(&chart, user, &options.render).with_context(|| format!("cannot render chart {}", options.chart.display()))
}

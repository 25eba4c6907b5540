//! Image discovery for `create`: each chart is rendered with the values the
//! spec gives it (as `helm template` would, offline), and the images its pod
//! templates run join the component's images, unless the chart entry says
//! `images: explicit`.

use crate::bundle::format::ChartRecord;
use crate::bundle_spec::{Chart, Image, Located, Spec};
use crate::cache::Cache;
use crate::chart::images::find_images;
use crate::chart::render::{render, RenderOptions};
use crate::chart::{load, values};
use crate::oci::source::{parse_reference, ImageSource};
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// Per component: full image reference -> the charts that run it.
pub type ChartsByImage = BTreeMap<String, Vec<String>>;

/// What rendering the charts found, per component.
pub struct Discovered {
    pub charts_by_image: ChartsByImage,
    /// Images no spec entry gave, to be resolved and bundled too.
    pub extra: Vec<Located<Image>>,
}

/// Renders the gathered charts of every component and lists the images
/// they run that are not already among `known` (the full references of the
/// component's resolved images).
pub fn discover_images(
    spec: &Spec,
    charts: &[Vec<ChartRecord>],
    known: &[Vec<String>],
    cache: &Cache,
) -> Result<Vec<Discovered>> {
    let mut all = Vec::new();
    for (index, records) in charts.iter().enumerate() {
        let mut by_image = ChartsByImage::new();
        let component = &spec.components[index];
        let mut added: Vec<Located<Image>> = Vec::new();
        let mut seen: Vec<String> = known[index].clone();
        for (at, record) in component.charts.iter().zip(records) {
            if !at.value.discover_images {
                continue;
            }
            let context = || {
                format!(
                    "{}:{}:{}: cannot render chart `{}` to find the images it runs (to list them by hand instead, set `images: explicit` on the chart)",
                    spec.path.display(),
                    at.line,
                    at.column,
                    at.text
                )
            };
            for image in chart_images(&at.value, record, cache).with_context(context)? {
                let reference = parse_reference(&image)
                    .map_err(anyhow::Error::msg)
                    .with_context(|| format!("chart `{}` runs an image airlock cannot parse", at.value.name))
                    .with_context(context)?;
                let whole = reference.whole();
                let charts = by_image.entry(whole.clone()).or_default();
                if !charts.contains(&at.value.name) {
                    charts.push(at.value.name.clone());
                }
                if !seen.contains(&whole) {
                    seen.push(whole.clone());
                    added.push(Located {
                        value: Image { source: ImageSource::Registry(reference), verify_key: None },
                        text: format!("{image} (run by chart {})", at.value.name),
                        line: at.line,
                        column: at.column,
                    });
                }
            }
        }
        all.push(Discovered { charts_by_image: by_image, extra: added });
    }
    Ok(all)
}

fn chart_images(chart: &Chart, record: &ChartRecord, cache: &Cache) -> Result<Vec<String>> {
    let archive = cache.read(&record.archive_digest)?;
    let loaded = load::from_archive(Path::new(&chart.name), &archive)?;
    let mut files = Vec::new();
    for file in &chart.values_files {
        let text = std::fs::read_to_string(&file.value)
            .with_context(|| format!("cannot read values file {}", file.value.display()))?;
        files.push((file.value.display().to_string(), text));
    }
    let user = values::user_values(files, chart.values.as_ref()).map_err(anyhow::Error::msg)?;
    let options = RenderOptions {
        release_name: chart.name.clone(),
        namespace: chart.namespace.clone().unwrap_or_else(|| "default".into()),
        ..RenderOptions::default()
    };
    let rendered = render(&loaded, user, &options)?;
    Ok(find_images(&rendered).into_iter().map(|f| f.reference).collect())
}

//! Image discovery for `create`: each chart is rendered with the values the
//! spec gives it (as `helm template` would, offline), and again with each
//! environment's values for it layered over those (an environment may
//! switch on what runs more images), and the images its pod templates run
//! join the component's images, unless the chart entry says `images:
//! explicit`.

use crate::bundle::format::ChartRecord;
use crate::bundle_spec::{Chart, Environment, Image, Located, Spec};
use crate::cache::Cache;
use crate::chart::images::find_images;
use crate::chart::render::{render, RenderOptions};
use crate::chart::template::Map;
use crate::chart::{load, values};
use crate::destination::removed_apis::in_yaml;
use crate::oci::source::{parse_reference, ImageSource};
use anyhow::{Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Per component: full image reference -> the charts that run it.
pub type ChartsByImage = BTreeMap<String, Vec<String>>;

/// What rendering the charts found, per component.
pub struct Discovered {
    pub charts_by_image: ChartsByImage,
    /// Images no spec entry gave, to be resolved and bundled too.
    pub extra: Vec<Located<Image>>,
    /// Objects the charts render with APIs Kubernetes removed, said with
    /// their replacement.
    pub removed_apis: Vec<String>,
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
        let mut removed_apis = Vec::new();
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
            let found = chart_images(&at.value, record, cache, &spec.environments).with_context(context)?;
            for (template, gone) in found.removed_apis {
                let line = format!("chart {} ({template}): {gone}", at.value.name);
                if !removed_apis.contains(&line) {
                    removed_apis.push(line);
                }
            }
            for (image, environment) in found.images {
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
                        value: Image { source: ImageSource::Registry(reference), verify_key: None, referrers: false },
                        text: match environment {
                            None => format!("{image} (run by chart {})", at.value.name),
                            Some(env) => format!("{image} (run by chart {} in environment {env})", at.value.name),
                        },
                        line: at.line,
                        column: at.column,
                    });
                }
            }
        }
        all.push(Discovered { charts_by_image: by_image, extra: added, removed_apis });
    }
    Ok(all)
}

/// What rendering a chart found.
pub struct ChartFindings {
    /// The images it runs with the spec's values, then those that only an
    /// environment's values make it run, with that environment's name.
    pub images: Vec<(String, Option<String>)>,
    /// Objects of removed APIs: the template, and what was removed.
    pub removed_apis: Vec<(String, String)>,
}

fn chart_images(
    chart: &Chart,
    record: &ChartRecord,
    cache: &Cache,
    environments: &[Environment],
) -> Result<ChartFindings> {
    let archive = cache.read(&record.archive_digest)?;
    let loaded = load::from_archive(Path::new(&chart.name), &archive)?;
    chart_findings(chart, &loaded, environments)
}

/// Renders `loaded` (the spec's chart `chart`) with the spec's values and
/// with each environment's layered over them (also `lint`'s check).
pub fn chart_findings(chart: &Chart, loaded: &load::Chart, environments: &[Environment]) -> Result<ChartFindings> {
    let base = user_values(&chart.values_files, chart.values.as_ref())?;
    let mut layered = vec![(None, base.clone())];
    for environment in environments {
        let Some((_, files, inline)) = environment.charts.iter().find(|(name, _, _)| name == &chart.name) else {
            continue;
        };
        let mut merged = base.clone();
        values::merge_maps(&mut merged, &user_values(files, inline.as_ref())?);
        layered.push((Some(environment.name.clone()), merged));
    }
    let options = RenderOptions {
        release_name: chart.name.clone(),
        namespace: chart.namespace.clone().unwrap_or_else(|| "default".into()),
        ..RenderOptions::default()
    };
    let mut images: Vec<(String, Option<String>)> = Vec::new();
    let mut removed_apis = Vec::new();
    for (environment, user) in layered {
        let rendered = render(loaded, user, &options).with_context(|| match &environment {
            Some(name) => format!("with environment {name}'s values"),
            None => "with the spec's values".to_string(),
        })?;
        for found in find_images(&rendered) {
            if !images.iter().any(|(image, _)| image == &found.reference) {
                images.push((found.reference, environment.clone()));
            }
        }
        for (template, text) in &rendered.manifests {
            removed_apis.extend(in_yaml(text).into_iter().map(|gone| (template.clone(), gone)));
        }
    }
    Ok(ChartFindings { images, removed_apis })
}

/// Values files (read from disk) then inline values, as `-f` then `--set`.
fn user_values(files: &[Located<PathBuf>], inline: Option<&serde_json::Value>) -> Result<Map> {
    let mut texts = Vec::new();
    for file in files {
        // Size-checked before it is read, as every values file is.
        let text = crate::chart::given::read_text(&file.value)
            .map_err(|e| anyhow::anyhow!("cannot read values file {}: {e}", file.value.display()))?;
        texts.push((file.value.display().to_string(), text));
    }
    values::user_values(texts, inline).map_err(anyhow::Error::msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A spec's values file past the values limit is refused by its size,
    /// before it is read (a sparse 17 MiB file here), naming the file.
    #[test]
    fn a_values_file_past_the_limit_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge-values.yaml");
        std::fs::File::create(&path).unwrap().set_len(17 << 20).unwrap();
        let file = Located { value: path.clone(), text: "huge-values.yaml".into(), line: 3, column: 7 };
        let err = user_values(&[file], None).unwrap_err().to_string();
        assert!(err.contains("huge-values.yaml") && err.contains("more than the 16 MiB"), "{err}");
    }
}

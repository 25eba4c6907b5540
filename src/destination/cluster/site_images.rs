//! Images that the site's choice (its values, or an environment) makes a
//! chart run that the bundle does not carry: refused before anything is
//! applied, as nothing in the site could pull them. Renders charts for
//! that check only; what is applied is `objects`'.

use super::objects::{chart_namespace, load_chart};
use super::ClusterError;
use crate::bundle::format::{ChartRecord, Component, ImageRecord};
use crate::bundle::reader::BundleReader;
use crate::chart::images::find_images;
use crate::chart::load;
use crate::chart::render::{render, RenderOptions};
use crate::chart::template::Map;
use crate::destination::site::{merge_layers, SiteChoice};

/// For a K3s node, where K3s renders the charts itself: renders each chart
/// as it would be (the default Kubernetes version, the site's choice) and
/// refuses, as `images_switched_on` does, an image only the site's or the
/// environment's values make it run that the bundle does not carry.
pub fn check_site_images(
    reader: &BundleReader,
    components: &[&Component],
    site: SiteChoice,
) -> Result<(), ClusterError> {
    let carried: Vec<&ImageRecord> = components.iter().flat_map(|c| &c.images).collect();
    for chart in components.iter().flat_map(|c| &c.charts) {
        let layers =
            site.layers(reader, chart).map_err(|detail| ClusterError::Values { chart: chart.name.clone(), detail })?;
        if layers.len() < 2 {
            continue;
        }
        let loaded = load_chart(reader, chart)?;
        let config = merge_layers(&layers);
        let options = RenderOptions {
            release_name: chart.name.clone(),
            namespace: chart_namespace(chart),
            layers,
            ..RenderOptions::default()
        };
        let rendered = render(&loaded, config, &options)
            .map_err(|e| ClusterError::Render { chart: chart.name.clone(), source: Box::new(e) })?;
        images_switched_on(&carried, chart, &loaded, &rendered, &options)?;
    }
    Ok(())
}

/// Refuses an image that the chart runs only with the environment's or the
/// site's values, when the bundle does not carry it: nothing in the site
/// could pull it. (Images the bundle's own values run that it does not
/// carry were the release engineer's choice, and are said as a warning.)
/// The values that most likely asked for it are those whose text is part
/// of its reference (`image.tag: "2.0"`).
pub(super) fn images_switched_on(
    carried: &[&ImageRecord],
    chart: &ChartRecord,
    loaded: &load::Chart,
    rendered: &crate::chart::render::Rendered,
    options: &RenderOptions,
) -> Result<(), ClusterError> {
    let missing: Vec<String> = find_images(rendered)
        .into_iter()
        .map(|found| found.reference)
        .filter(|image| !super::relocate::carries(carried, image))
        .collect();
    if missing.is_empty() || options.layers.len() < 2 {
        return Ok(());
    }
    let (bundle, site) = options.layers.split_first().expect("at least two layers");
    let mut own = options.clone();
    own.layers = vec![bundle.clone()];
    let without = render(loaded, bundle.1.clone(), &own).map(|r| find_images(&r)).unwrap_or_default();
    let Some(image) = missing.iter().find(|image| !without.iter().any(|found| found.reference == **image)) else {
        return Ok(());
    };
    let mut asking = Vec::new();
    for (layer, values) in site {
        leaves_in(values, "", &mut |key, text| {
            if text.len() > 1 && image.contains(text) {
                asking.push(format!("{key} in {layer}"));
            }
        });
    }
    let by = match asking.is_empty() {
        true => site.iter().map(|(layer, _)| layer.clone()).collect::<Vec<_>>().join(" and "),
        false => asking.join(", "),
    };
    Err(ClusterError::ImageNotCarried { chart: chart.name.clone(), image: image.clone(), by })
}

/// Calls `found(key path, text)` for each text or number leaf of `values`.
fn leaves_in(values: &Map, prefix: &str, found: &mut dyn FnMut(&str, &str)) {
    for (key, value) in values {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        match value {
            crate::chart::template::Value::Map(inner) => leaves_in(&inner.borrow(), &path, found),
            crate::chart::template::Value::Str(text) => found(&path, text),
            crate::chart::template::Value::Int(n) => found(&path, &n.to_string()),
            _ => {}
        }
    }
}

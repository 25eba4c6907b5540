//! `airlock lint SPEC`: checks a spec as `create` would meet it, without
//! pulling anything or writing a bundle: the spec itself (syntax, fields,
//! names: what loading it checks, with file, line and column), every path it
//! names (images' layouts and archives, verify keys, CRDs, manifests'
//! patterns, kustomizations, files, values files), and every chart from a
//! directory rendered with the spec's values and with each environment's,
//! the images it runs parsed and APIs Kubernetes removed reported. Charts
//! from a repository or registry are not fetched (that is create's network
//! step): lint says so.

use crate::bundle_spec::{ChartOrigin, Located, Spec};
use crate::chart::load;
use crate::oci::layout::OciLayout;
use crate::oci::source::{parse_reference, ImageSource};
use anyhow::Result;
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub severity: Severity,
    /// `airlock.yaml:12:9`: the spec entry it is about.
    pub location: String,
    pub message: String,
}

#[derive(Serialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct LintReport {
    pub spec: PathBuf,
    pub findings: Vec<Finding>,
    /// Charts rendered (each with the spec's values and every environment's).
    pub charts_rendered: usize,
    /// Image references checked, from the spec and from rendered charts.
    pub images_checked: usize,
    pub paths_checked: usize,
}

impl LintReport {
    pub fn errors(&self) -> usize {
        self.findings.iter().filter(|f| f.severity == Severity::Error).count()
    }
}

struct Linter<'a> {
    spec: &'a Spec,
    report: LintReport,
}

impl Linter<'_> {
    fn at<T>(&self, entry: &Located<T>) -> String {
        format!("{}:{}:{}", self.spec.path.display(), entry.line, entry.column)
    }

    fn add<T>(&mut self, severity: Severity, entry: &Located<T>, message: String) {
        let location = self.at(entry);
        self.report.findings.push(Finding { severity, location, message });
    }

    fn path(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.spec.dir.join(path)
        }
    }

    /// A file the entry names must be there.
    fn file<T>(&mut self, entry: &Located<T>, path: &Path, what: &str) {
        self.report.paths_checked += 1;
        let full = self.path(path);
        if !full.exists() {
            self.add(Severity::Error, entry, format!("{what} {} does not exist", full.display()));
        }
    }
}

pub fn lint(spec_path: &Path) -> Result<LintReport> {
    // A spec that does not load is one error with its line: returned as is.
    let spec = crate::bundle_spec::load(spec_path)?;
    let mut l = Linter { spec: &spec, report: LintReport { spec: spec_path.to_path_buf(), ..Default::default() } };
    for component in &spec.components {
        for image in &component.images {
            l.report.images_checked += 1;
            match &image.value.source {
                ImageSource::Registry(_) => {}
                ImageSource::OciLayout { dir, tag } => {
                    l.report.paths_checked += 1;
                    if let Err(e) = (OciLayout { dir: l.path(dir) }).select(tag.as_deref()) {
                        l.add(Severity::Error, image, format!("{e}"));
                    }
                }
                ImageSource::DockerArchive { file, .. } => l.file(image, file, "docker archive"),
            }
            if let Some(key) = &image.value.verify_key {
                l.report.paths_checked += 1;
                if let Err(e) = crate::sign::PublicKey::load(&l.path(key)) {
                    l.add(Severity::Error, image, format!("its verify key: {e}"));
                }
            }
        }
        for crd in &component.crds {
            l.file(crd, &crd.value, "CRD file");
        }
        for kustomization in &component.kustomizations {
            l.file(kustomization, &kustomization.value, "kustomization");
        }
        for file in &component.files {
            l.file(file, &file.value.source, "file");
        }
        for pattern in &component.manifests {
            l.report.paths_checked += 1;
            let matched = glob::glob(&pattern.value).map(|paths| paths.count()).unwrap_or(0);
            if matched == 0 {
                l.add(Severity::Error, pattern, format!("no file matches `{}`", pattern.text));
            }
        }
        for chart in &component.charts {
            for values in &chart.value.values_files {
                l.file(values, &values.value, "values file");
            }
            match &chart.value.origin {
                ChartOrigin::Path(dir) => {
                    let dir = l.path(dir);
                    lint_chart(&mut l, chart, &dir)
                }
                ChartOrigin::Repo { .. } | ChartOrigin::Oci { .. } => l.add(
                    Severity::Warning,
                    chart,
                    format!(
                        "chart `{}` is not rendered: it comes from a repository or registry, which lint does not contact (create does)",
                        chart.value.name
                    ),
                ),
            }
        }
    }
    for environment in &spec.environments {
        let files = environment.charts.iter().flat_map(|(_, files, _)| files);
        let kustomizations = environment.components.iter().flat_map(|(_, files)| files);
        for file in files.chain(kustomizations).collect::<Vec<_>>() {
            l.file(file, &file.value, &format!("environment {}'s file", environment.name));
        }
    }
    Ok(l.report)
}

/// Renders a chart from its directory in every environment; its images must
/// parse, and removed APIs are said.
fn lint_chart(l: &mut Linter, chart: &Located<crate::bundle_spec::Chart>, dir: &Path) {
    l.report.paths_checked += 1;
    let loaded = match load::load(dir) {
        Ok(loaded) => loaded,
        Err(e) => return l.add(Severity::Error, chart, format!("chart `{}` cannot be loaded: {e}", chart.value.name)),
    };
    if !chart.value.discover_images {
        return;
    }
    let findings = match crate::ops::create::discover::chart_findings(&chart.value, &loaded, &l.spec.environments) {
        Ok(findings) => findings,
        Err(e) => return l.add(Severity::Error, chart, format!("chart `{}` does not render: {e:#}", chart.value.name)),
    };
    l.report.charts_rendered += 1;
    for (image, environment) in &findings.images {
        l.report.images_checked += 1;
        if let Err(e) = parse_reference(image) {
            let with = environment.as_deref().map(|e| format!(" in environment {e}")).unwrap_or_default();
            l.add(
                Severity::Error,
                chart,
                format!(
                    "chart `{}` runs image `{image}`{with}, which is not an image reference: {e}",
                    chart.value.name
                ),
            );
        }
    }
    for (template, gone) in &findings.removed_apis {
        l.add(Severity::Warning, chart, format!("chart `{}` ({template}): {gone}", chart.value.name));
    }
}

//! Loads `airlock.yaml` and turns the user's model into a checked `Spec`:
//! references parsed, paths made absolute, modes and digests validated, with
//! the line and column of every value kept for later errors.

use super::model::{ChartSpec, FileSpec, SpecFile};
use crate::oci::digest::Digest;
use crate::oci::manifest::Platform;
use crate::oci::source::ImageSource;
use crate::yaml11::saphyr;
use serde_saphyr::Spanned;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read spec {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid { path: PathBuf, line: u64, column: u64, message: String },
    #[error("{path}: {message}")]
    Syntax { path: PathBuf, message: String },
}

/// A value with the place in the spec it came from.
#[derive(Clone, Debug)]
pub struct Located<T> {
    pub value: T,
    /// The spec entry as written, for messages and provenance.
    pub text: String,
    pub line: u64,
    pub column: u64,
}

#[derive(Debug)]
pub struct Spec {
    pub path: PathBuf,
    pub dir: PathBuf,
    pub digest: Digest,
    pub name: String,
    pub version: String,
    pub description: Option<String>,
    pub platforms: Vec<Platform>,
    pub components: Vec<Component>,
    pub environments: Vec<Environment>,
    pub preflight: Vec<crate::bundle::format::PreflightCheck>,
}

/// A named set of chart values, picked at install (`--env`).
#[derive(Debug)]
pub struct Environment {
    pub name: String,
    pub description: Option<String>,
    /// By chart name, in name order: its values files, then inline values.
    pub charts: Vec<(String, Vec<Located<PathBuf>>, Option<serde_json::Value>)>,
    /// By component name, in name order: the kustomizations it adds.
    pub components: Vec<(String, Vec<Located<PathBuf>>)>,
}

#[derive(Debug)]
pub struct Component {
    pub name: String,
    pub description: Option<String>,
    pub required: bool,
    pub images: Vec<Located<Image>>,
    pub charts: Vec<Located<Chart>>,
    pub crds: Vec<Located<PathBuf>>,
    /// Glob patterns, already joined to the spec directory.
    pub manifests: Vec<Located<String>>,
    pub kustomizations: Vec<Located<PathBuf>>,
    pub files: Vec<Located<FileItem>>,
}

#[derive(Debug, Clone)]
pub struct Image {
    pub source: ImageSource,
    /// Public key that must verify the image's cosign signature.
    pub verify_key: Option<PathBuf>,
    /// Carry the image's referrers (signatures, attestations, SBOMs).
    pub referrers: bool,
}

#[derive(Debug, Clone)]
pub enum ChartOrigin {
    Path(PathBuf),
    Repo { url: String, chart: String, version: String },
    Oci { reference: String, version: String },
}

#[derive(Debug, Clone)]
pub struct Chart {
    pub name: String,
    pub origin: ChartOrigin,
    pub namespace: Option<String>,
    pub values_files: Vec<Located<PathBuf>>,
    pub values: Option<serde_json::Value>,
    /// Dotted paths of values the site must give at install.
    pub required_values: Vec<String>,
    /// Dotted paths of values that are secrets.
    pub secret_values: Vec<String>,
    /// Render the chart at create time and bundle the images it runs.
    pub discover_images: bool,
}

#[derive(Debug, Clone)]
pub struct FileItem {
    pub source: PathBuf,
    pub target: String,
    pub mode: u32,
    pub sha256: Option<Digest>,
}

struct Checker<'a> {
    path: &'a Path,
    dir: &'a Path,
}

impl Checker<'_> {
    fn err<T>(&self, at: &Spanned<T>, message: impl Into<String>) -> SpecError {
        SpecError::Invalid {
            path: self.path.to_path_buf(),
            line: at.referenced.line(),
            column: at.referenced.column(),
            message: message.into(),
        }
    }

    fn locate<T, U>(&self, at: &Spanned<T>, value: U, text: String) -> Located<U> {
        Located { value, text, line: at.referenced.line(), column: at.referenced.column() }
    }

    fn path(&self, at: &Spanned<String>) -> Result<Located<PathBuf>, SpecError> {
        if at.value.trim().is_empty() {
            return Err(self.err(at, "path is empty"));
        }
        Ok(self.locate(at, self.dir.join(&at.value), at.value.clone()))
    }
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

pub fn load(path: &Path) -> Result<Spec, SpecError> {
    let bytes = std::fs::read(path).map_err(|source| SpecError::Io { path: path.into(), source })?;
    let text = String::from_utf8(bytes.clone())
        .map_err(|_| SpecError::Syntax { path: path.into(), message: "the spec is not UTF-8 text".into() })?;
    let file: SpecFile = saphyr::from_str(&text).map_err(|e| syntax_error(path, &e))?;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let c = Checker { path, dir: &dir };

    if file.api_version.value != "airlock.dev/v1" {
        return Err(c.err(
            &file.api_version,
            format!("apiVersion `{}` is not supported; use `airlock.dev/v1`", file.api_version.value),
        ));
    }
    if file.kind.value != "Bundle" {
        return Err(c.err(&file.kind, format!("kind `{}` is not supported; use `Bundle`", file.kind.value)));
    }
    let name = &file.metadata.name;
    if !is_dns_label(&name.value) {
        return Err(c.err(
            name,
            format!(
                "metadata.name `{}` must be lowercase letters, digits, `-` and `.` (it names files and releases)",
                name.value
            ),
        ));
    }
    let version = &file.metadata.version;
    if version.value.trim().is_empty() || version.value.contains(char::is_whitespace) || version.value.contains('/') {
        return Err(c.err(version, "metadata.version must be a non-empty version without spaces or `/`"));
    }
    let mut platforms = Vec::new();
    for p in &file.platforms {
        platforms.push(
            Platform::parse(&p.value)
                .ok_or_else(|| c.err(p, format!("platform `{}` is not `os/arch[/variant]`", p.value)))?,
        );
    }
    if file.components.value.is_empty() {
        return Err(c.err(&file.components, "a bundle needs at least one component"));
    }
    let mut names = BTreeSet::new();
    let mut components = Vec::new();
    for comp in &file.components.value {
        if !is_dns_label(&comp.name.value) {
            return Err(c.err(
                &comp.name,
                format!("component name `{}` must be lowercase letters, digits and `-`", comp.name.value),
            ));
        }
        if !names.insert(comp.name.value.clone()) {
            return Err(c.err(&comp.name, format!("component `{}` is defined twice", comp.name.value)));
        }
        let mut images = Vec::new();
        for image in &comp.images {
            let entry = &image.value;
            let source = ImageSource::parse(&entry.reference, &dir).map_err(|m| c.err(image, m))?;
            let verify_key = entry.verify.as_ref().map(|v| dir.join(&v.key));
            if verify_key.is_some() && !matches!(source, ImageSource::Registry(_)) {
                return Err(c.err(image, "`verify` applies to registry images only (signatures live in the registry)"));
            }
            if entry.referrers && !matches!(source, ImageSource::Registry(_)) {
                return Err(
                    c.err(image, "`referrers` applies to registry images only (referrers live in the registry)")
                );
            }
            let referrers = entry.referrers;
            images.push(c.locate(image, Image { source, verify_key, referrers }, entry.reference.clone()));
        }
        let mut charts = Vec::new();
        for chart in &comp.charts {
            charts.push(c.locate(chart, check_chart(&c, &chart.value)?, chart.value.name.value.clone()));
        }
        let mut release_names = BTreeSet::new();
        for chart in &charts {
            if !release_names.insert(chart.value.name.clone()) {
                return Err(SpecError::Invalid {
                    path: path.into(),
                    line: chart.line,
                    column: chart.column,
                    message: format!("chart `{}` appears twice in component `{}`", chart.value.name, comp.name.value),
                });
            }
        }
        let mut files = Vec::new();
        let mut targets = BTreeSet::new();
        for f in &comp.files {
            let item = check_file(&c, &f.value)?;
            if !targets.insert(item.target.clone()) {
                return Err(c.err(&f.value.target, format!("two files have target {}", item.target)));
            }
            files.push(c.locate(f, item, f.value.source.value.clone()));
        }
        components.push(Component {
            name: comp.name.value.clone(),
            description: comp.description.clone(),
            required: comp.required,
            images,
            charts,
            crds: comp.crds.iter().map(|p| c.path(p)).collect::<Result<_, _>>()?,
            manifests: comp
                .manifests
                .iter()
                .map(|p| {
                    c.path(p).map(|l| Located {
                        value: l.value.to_string_lossy().into_owned(),
                        text: l.text,
                        line: l.line,
                        column: l.column,
                    })
                })
                .collect::<Result<_, _>>()?,
            kustomizations: comp.kustomizations.iter().map(|p| c.path(p)).collect::<Result<_, _>>()?,
            files,
        });
    }
    let environments = check_environments(&c, &file, &components)?;
    let mut preflight = Vec::new();
    for check in &file.preflight {
        crate::destination::cluster::preflight::check_spec(&check.value).map_err(|message| c.err(check, message))?;
        if let Some(when) = &check.value.when {
            let chart = when.split_once('.').map(|(chart, _)| chart).unwrap_or_default();
            if !components.iter().flat_map(|c| &c.charts).any(|at| at.value.name == chart) {
                return Err(c.err(check, format!("`when: {when}` is not CHART.path naming one of the bundle's charts")));
            }
        }
        preflight.push(check.value.clone());
    }
    Ok(Spec {
        path: path.to_path_buf(),
        dir: dir.clone(),
        digest: Digest::of(&bytes),
        name: name.value.clone(),
        version: version.value.clone(),
        description: file.metadata.description.clone(),
        platforms,
        components,
        environments,
        preflight,
    })
}

/// Each environment's name, and the charts its values are for: every one
/// must be a chart of the bundle.
fn check_environments(c: &Checker, file: &SpecFile, components: &[Component]) -> Result<Vec<Environment>, SpecError> {
    let charts: Vec<&str> = components.iter().flat_map(|c| &c.charts).map(|c| c.value.name.as_str()).collect();
    let mut environments = Vec::new();
    for (name, environment) in &file.environments {
        if !is_dns_label(name) {
            return Err(c.err(
                environment,
                format!("environment name `{name}` must be lowercase letters, digits and `-` (it is given as --env)"),
            ));
        }
        let mut chart_values = Vec::new();
        for (chart, values) in &environment.value.charts {
            if !charts.contains(&chart.as_str()) {
                return Err(c.err(
                    values,
                    format!(
                        "environment `{name}` gives values for chart `{chart}`, which no component has (charts: {})",
                        charts.join(", ")
                    ),
                ));
            }
            let files = values.value.values_files.iter().map(|f| c.path(f)).collect::<Result<_, _>>()?;
            chart_values.push((chart.clone(), files, values.value.values.clone()));
        }
        let mut additions = Vec::new();
        for (component, added) in &environment.value.components {
            if !components.iter().any(|c| &c.name == component) {
                let names: Vec<&str> = components.iter().map(|c| c.name.as_str()).collect();
                return Err(c.err(
                    added,
                    format!("environment `{name}` adds to component `{component}`, which the bundle does not have (components: {})", names.join(", ")),
                ));
            }
            let kustomizations = added.value.kustomizations.iter().map(|p| c.path(p)).collect::<Result<_, _>>()?;
            additions.push((component.clone(), kustomizations));
        }
        environments.push(Environment {
            name: name.clone(),
            description: environment.value.description.clone(),
            charts: chart_values,
            components: additions,
        });
    }
    Ok(environments)
}

/// Dotted paths of values (`ingress.host`), each checked.
fn dotted_paths(c: &Checker, paths: &[Spanned<String>]) -> Result<Vec<String>, SpecError> {
    let mut checked = Vec::new();
    for path in paths {
        if path.value.is_empty() || path.value.split('.').any(str::is_empty) {
            return Err(c.err(path, format!("`{}` is not a dotted path of values (`ingress.host`)", path.value)));
        }
        checked.push(path.value.clone());
    }
    Ok(checked)
}

fn check_chart(c: &Checker, chart: &ChartSpec) -> Result<Chart, SpecError> {
    if !is_dns_label(&chart.name.value) {
        return Err(c.err(
            &chart.name,
            format!("chart name `{}` must be a valid release name (lowercase, digits, `-`)", chart.name.value),
        ));
    }
    let version = || {
        chart.version.as_ref().map(|v| v.value.clone()).ok_or_else(|| {
            c.err(
                &chart.name,
                format!("chart `{}` needs a `version` (charts from repositories are pinned)", chart.name.value),
            )
        })
    };
    let origin = match (&chart.path, &chart.repo, &chart.oci) {
        (Some(p), None, None) => {
            if chart.chart.is_some() {
                return Err(c.err(&chart.name, "`chart` applies to `repo` charts only"));
            }
            ChartOrigin::Path(c.path(p)?.value)
        }
        (None, Some(repo), None) => {
            if !(repo.value.starts_with("https://") || repo.value.starts_with("http://")) {
                return Err(
                    c.err(repo, "repo must be an http(s) URL of a Helm repository; use `oci:` for OCI registries")
                );
            }
            let name = chart.chart.as_ref().map_or_else(|| chart.name.value.clone(), |n| n.value.clone());
            ChartOrigin::Repo { url: repo.value.trim_end_matches('/').to_string(), chart: name, version: version()? }
        }
        (None, None, Some(oci)) => {
            let Some(rest) = oci.value.strip_prefix("oci://") else {
                return Err(c.err(oci, "oci must start with `oci://`"));
            };
            crate::oci::source::parse_reference(rest).map_err(|m| c.err(oci, m))?;
            ChartOrigin::Oci { reference: rest.to_string(), version: version()? }
        }
        _ => {
            return Err(c.err(
                &chart.name,
                format!("chart `{}` needs exactly one of `path`, `repo` or `oci`", chart.name.value),
            ))
        }
    };
    let namespace = match &chart.namespace {
        Some(ns) if !is_dns_label(&ns.value) || ns.value.contains('.') => {
            return Err(c.err(ns, format!("namespace `{}` is not a valid Kubernetes namespace", ns.value)))
        }
        Some(ns) => Some(ns.value.clone()),
        None => None,
    };
    if let Some(values) = &chart.values {
        if !values.is_object() {
            return Err(c.err(&chart.name, "chart `values` must be a mapping"));
        }
    }
    let discover_images = match &chart.images {
        None => true,
        Some(mode) if mode.value == "discover" => true,
        Some(mode) if mode.value == "explicit" => false,
        Some(mode) => return Err(c.err(mode, format!("images must be `discover` or `explicit`, not `{}`", mode.value))),
    };
    Ok(Chart {
        name: chart.name.value.clone(),
        origin,
        namespace,
        values_files: chart.values_files.iter().map(|p| c.path(p)).collect::<Result<_, _>>()?,
        values: chart.values.clone(),
        required_values: dotted_paths(c, &chart.required_values)?,
        secret_values: dotted_paths(c, &chart.secret_values)?,
        discover_images,
    })
}

fn check_file(c: &Checker, f: &FileSpec) -> Result<FileItem, SpecError> {
    let target = &f.target.value;
    if !target.starts_with('/') || target.split('/').any(|p| p == ".." || p == ".") || target.ends_with('/') {
        return Err(c.err(&f.target, format!("target `{target}` must be an absolute file path without `.` or `..`")));
    }
    let mode = match &f.mode {
        Some(m) => u32::from_str_radix(m.value.trim_start_matches("0o"), 8)
            .ok()
            .filter(|v| *v <= 0o7777)
            .ok_or_else(|| c.err(m, format!("mode `{}` is not an octal permission like \"0755\"", m.value)))?,
        None => 0o644,
    };
    let sha256 = match &f.sha256 {
        Some(s) => {
            let text = s.value.strip_prefix("sha256:").unwrap_or(&s.value);
            Some(
                Digest::from_hex(&text.to_ascii_lowercase())
                    .map_err(|_| c.err(s, "sha256 must be 64 hex characters"))?,
            )
        }
        None => None,
    };
    Ok(FileItem { source: c.path(&f.source)?.value, target: target.clone(), mode, sha256 })
}

fn syntax_error(path: &Path, e: &serde_saphyr::Error) -> SpecError {
    let text = e.without_snippet().to_string();
    let message = text.lines().next().unwrap_or("invalid YAML").to_string();
    match e.location() {
        Some(loc) if loc.line() > 0 => {
            // The library prefixes "line L column C: "; we put the location
            // in front of the file name instead, compiler-style.
            let message = message
                .split_once(": ")
                .filter(|(head, _)| head.starts_with("line "))
                .map_or(message.clone(), |(_, rest)| rest.to_string());
            let suffix = format!(" at line {}, column {}", loc.line(), loc.column());
            let message = message.strip_suffix(&suffix).map_or(message.clone(), str::to_string);
            SpecError::Invalid { path: path.into(), line: loc.line(), column: loc.column(), message }
        }
        _ => SpecError::Syntax { path: path.into(), message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<Spec, SpecError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("airlock.yaml");
        std::fs::write(&path, text).unwrap();
        load(&path)
    }

    const GOOD: &str = "apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata: {name: demo, version: 1.0.0}\ncomponents:\n  - name: app\n    images: [redis:7]\n";

    #[test]
    fn loads_minimal_spec() {
        let spec = load_text(GOOD).unwrap();
        assert_eq!(spec.name, "demo");
        assert_eq!(spec.components[0].images[0].line, 6);
    }

    #[test]
    fn unknown_field_has_line_and_column() {
        let err = load_text(&GOOD.replace("    images:", "    imagez:")).unwrap_err();
        match err {
            SpecError::Invalid { line, message, .. } => {
                assert_eq!(line, 6, "{message}");
                assert!(message.contains("imagez"), "{message}");
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn image_mappings_keep_precise_errors() {
        let spec = load_text(&GOOD.replace("[redis:7]", "[{ref: redis:7, verify: {key: k.pub}}]")).unwrap();
        assert!(spec.components[0].images[0].value.verify_key.as_ref().unwrap().ends_with("k.pub"));
        let e = load_text(&GOOD.replace("[redis:7]", "[{ref: redis:7, verfy: {key: k.pub}}]")).unwrap_err().to_string();
        assert!(e.contains(":6:") && e.contains("verfy"), "{e}");
    }

    #[test]
    fn referrers_are_asked_for_registry_images_only() {
        let spec = load_text(&GOOD.replace("[redis:7]", "[{ref: redis:7, referrers: true}, redis:6]")).unwrap();
        let images = &spec.components[0].images;
        assert!(images[0].value.referrers && !images[1].value.referrers);
        let e = load_text(&GOOD.replace("[redis:7]", "[{ref: \"oci-layout:./img:1\", referrers: true}]")).unwrap_err();
        assert!(e.to_string().contains("`referrers` applies to registry images only"), "{e}");
    }

    #[test]
    fn malformed_yaml_has_line() {
        let err = load_text("apiVersion: airlock.dev/v1\nkind: [Bundle\n").unwrap_err().to_string();
        assert!(err.contains("airlock.yaml:"), "{err}");
    }

    #[test]
    fn bad_values_point_at_their_line() {
        let e = load_text(&GOOD.replace("redis:7", "\"https://x/y\"")).unwrap_err().to_string();
        assert!(e.contains(":6:"), "{e}");
        let e = load_text(&GOOD.replace("name: app", "name: App")).unwrap_err().to_string();
        assert!(e.contains(":5:"), "{e}");
        let e = load_text(&format!("{GOOD}    files: [{{source: a, target: rel/path}}]\n")).unwrap_err().to_string();
        assert!(e.contains(":7:") && e.contains("absolute"), "{e}");
        let e =
            load_text(&format!("{GOOD}    charts: [{{name: x, repo: https://c.example}}]\n")).unwrap_err().to_string();
        assert!(e.contains("version"), "{e}");
        let e = load_text(&GOOD.replace("airlock.dev/v1", "airlock.dev/v9")).unwrap_err().to_string();
        assert!(e.contains(":1:"), "{e}");
    }

    /// A spec with long commented-out blocks (components switched off, old
    /// images), also between a key and its value on later lines, loads as
    /// the same spec without them does: values, lines and columns, and
    /// errors (syntax, unknown field, bad value) with their line and column
    /// moved down by the comment lines above them.
    #[test]
    fn long_commented_out_blocks_keep_lines_and_errors() {
        let block = |indent: &str, n: usize| -> String {
            (0..n).map(|i| format!("{indent}# - name: old{i}  # switched off\n")).collect()
        };
        let spec = |n: usize| {
            format!(
                "apiVersion: airlock.dev/v1\nkind: Bundle\nmetadata:\n{}  name: demo\n  version: 1.0.0\n{}platforms:\n{}  - linux/amd64\ncomponents:\n{}  - name: app\n    images:\n{}      - redis:7\n{}    charts:\n{}      - name: web\n{}        repo: https://charts.example\n        version: 1.0.0\n{}",
                block("  ", n),
                block("", n),
                block("  ", n),
                block("  ", 3 * n),
                block("      ", n),
                block("", n),
                block("      ", n),
                block("        ", n),
                block("", n),
            )
        };
        let line_of = |text: &str, what: &str| text.lines().position(|l| l.contains(what)).unwrap() as u64 + 1;
        let (short, long) = (spec(0), spec(150));
        for text in [&short, &long] {
            let loaded = load_text(text).unwrap();
            assert_eq!((loaded.name.as_str(), loaded.version.as_str()), ("demo", "1.0.0"));
            assert_eq!(loaded.platforms.len(), 1);
            let component = &loaded.components[0];
            assert_eq!(component.name, "app");
            let image = &component.images[0];
            assert_eq!((image.text.as_str(), image.line, image.column), ("redis:7", line_of(text, "redis:7"), 9));
            let chart = &component.charts[0];
            assert_eq!((chart.value.name.as_str(), chart.line, chart.column), ("web", line_of(text, "name: web"), 9));
        }

        // The same mistakes in both: the same message and column, on the
        // line the mistake is on.
        for (from, to, at) in [
            ("      - redis:7", "      - {ref: redis:7, verfy: {key: k.pub}}", "verfy"),
            ("        version: 1.0.0", "        versoin: 1.0.0", "versoin"),
            ("      - redis:7", "      - \"https://x/y\"", "https://x/y"),
            ("  - linux/amd64", "  - os: linux: amd64", "os: linux"),
        ] {
            let error = |text: &str| match load_text(&text.replace(from, to)).unwrap_err() {
                SpecError::Invalid { line, column, message, .. } => (line, column, message),
                other => panic!("{other}"),
            };
            let (short_line, short_column, short_message) = error(&short);
            let (long_line, long_column, long_message) = error(&long);
            assert_eq!(short_line, line_of(&short.replace(from, to), at), "{short_message}");
            assert_eq!(long_line, line_of(&long.replace(from, to), at), "{long_message}");
            assert_eq!((long_column, long_message), (short_column, short_message));
        }
    }
}

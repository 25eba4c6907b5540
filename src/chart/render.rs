//! Rendering a chart as `helm template` does (Helm v4): dependencies
//! enabled by `condition`/`tags` and renamed by `alias`, values coalesced,
//! every template of the chart tree in one set (deeper charts parsed first
//! so a parent's defines win), partials (`_*`) and library charts' manifests
//! not rendered, `<no value>` blanked, NOTES.txt kept apart, `crds/` passed
//! through untouched.
//!
//! `.Capabilities` defaults to what Helm v4.2 reports offline (Kubernetes
//! v1.36.0 and its built-in API versions).

use super::load::Chart;
use super::template::semver;
use super::template::{str_field, ClusterLookup, Map, Object, TemplateSet, Value};
use super::values;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

pub const DEFAULT_KUBE_VERSION: &str = "v1.36.0";

/// The API versions Helm v4.2 assumes without a cluster.
const DEFAULT_API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1beta2",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha2",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
];

#[derive(Debug, Clone)]
pub struct RenderOptions {
    pub release_name: String,
    pub namespace: String,
    /// `v1.33.0` or `1.33`.
    pub kube_version: String,
    /// Extra API versions for `.Capabilities.APIVersions.Has`.
    pub api_versions: Vec<String>,
    pub is_upgrade: bool,
    pub revision: i64,
    /// Who gave which of the user values, in the order they were layered
    /// (`the site's values`, ...): a schema failure names the last that
    /// set the value it is about.
    pub layers: Vec<(String, Map)>,
    /// The cluster `lookup` reads, when rendering to install into one.
    pub cluster: Option<ClusterLookup>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            release_name: "release-name".into(),
            namespace: "default".into(),
            kube_version: DEFAULT_KUBE_VERSION.into(),
            api_versions: Vec::new(),
            is_upgrade: false,
            revision: 1,
            layers: Vec::new(),
            cluster: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("chart {chart} requires kubeVersion {wanted}, which is incompatible with Kubernetes {actual} (set --kube-version)")]
    KubeVersion { chart: String, wanted: String, actual: String },
    #[error("{0}")]
    Template(String),
    #[error("{0}")]
    Values(String),
    #[error("chart {chart}: dependency {dependency} ({version} from {repository}) is in Chart.yaml but not in charts/; `airlock create` fetches it into the bundle, or run `helm dependency build`")]
    MissingDependency { chart: String, dependency: String, version: String, repository: String },
}

/// What a render gives: manifests by template path (empty ones included,
/// as Helm returns them), NOTES.txt, and the chart's `crds/` files.
#[derive(Debug, Default)]
pub struct Rendered {
    pub manifests: BTreeMap<String, String>,
    pub notes: Option<String>,
    pub crds: Vec<(String, String)>,
}

/// Renders `chart` with the user's values (already merged from -f/--set).
pub fn render(chart: &Chart, user_values: Map, options: &RenderOptions) -> Result<Rendered, RenderError> {
    let kube = normalize_kube_version(&options.kube_version);
    let wanted = chart.meta_str("kubeVersion");
    if !wanted.is_empty() && !semver::satisfies(&wanted, &kube).unwrap_or(false) {
        return Err(RenderError::KubeVersion { chart: chart.name.clone(), wanted, actual: kube });
    }
    check_dependencies_present(chart)?;
    // Helm's ProcessDependencies, whose failures it reports as such.
    let dependency_error = |e: String| RenderError::Values(format!("chart dependencies processing failed: {e}"));
    let mut chart = if has_dependencies(chart) {
        let all_values = values::coalesce(chart, &user_values).map_err(dependency_error)?;
        enabled_dependencies(chart, &all_values, "")
    } else {
        chart.clone()
    };
    import_values(&mut chart).map_err(dependency_error)?;
    let values = values::coalesce(&chart, &user_values).map_err(RenderError::Values)?;
    super::schema::validate(&chart, &values, &options.layers).map_err(RenderError::Values)?;

    let capabilities = capabilities(&kube, &options.api_versions);
    let release = release(options);
    let mut jobs = Vec::new();
    let context = Context { release: &release, capabilities: &capabilities };
    collect(&chart, &chart.name, &Value::map(values), true, &context, &mut jobs);
    // Helm parses deeper paths first, then by name descending, so that the
    // last definition of a shared name is the parent's.
    jobs.sort_by(|a, b| {
        let (da, db) = (a.path.matches('/').count(), b.path.matches('/').count());
        db.cmp(&da).then_with(|| b.path.cmp(&a.path))
    });
    let mut set = TemplateSet::default();
    set.cluster = options.cluster.clone();
    for job in &jobs {
        set.add_file(&job.path, &job.source).map_err(|e| RenderError::Template(e.message))?;
    }
    let mut rendered = Rendered::default();
    for job in &jobs {
        let base = job.path.rsplit('/').next().unwrap_or("");
        if base.starts_with('_') {
            continue;
        }
        let data = template_data(job, &capabilities, &release);
        let text = set.execute(&job.path, &data).map_err(|e| RenderError::Template(e.message))?;
        let text = text.replace("<no value>", "");
        if base == "NOTES.txt" {
            if job.is_root {
                rendered.notes = Some(text);
            }
            continue;
        }
        rendered.manifests.insert(job.path.clone(), text);
    }
    collect_crds(&chart, &chart.name, &mut rendered.crds);
    Ok(rendered)
}

fn normalize_kube_version(v: &str) -> String {
    let v = v.trim().trim_start_matches('v');
    let parts = v.split('.').count();
    let full = if parts == 2 { format!("{v}.0") } else { v.to_string() };
    format!("v{full}")
}

/// One template to parse (and maybe render) with its chart's context.
struct Job {
    path: String,
    source: String,
    is_root: bool,
    chart: Value,
    files: Rc<Files>,
    values: Value,
    base_path: String,
    subcharts: Value,
}

/// What every template of a release shares.
struct Context<'a> {
    release: &'a Value,
    capabilities: &'a Value,
}

fn sub_values(values: &Value, name: &str) -> Value {
    match values {
        Value::Map(m) => m.borrow().get(name).cloned().unwrap_or_else(|| Value::map(Map::new())),
        _ => Value::map(Map::new()),
    }
}

/// Queues the templates of `chart` and its subcharts, and returns the data
/// the chart's templates see, which its parent shows as `.Subcharts.NAME`.
/// Built once per chart, bottom up.
fn collect(
    chart: &Chart,
    full_path: &str,
    values: &Value,
    is_root: bool,
    context: &Context,
    jobs: &mut Vec<Job>,
) -> Value {
    let mut subcharts = Map::new();
    for sub in &chart.subcharts {
        let data = collect(
            sub,
            &format!("{full_path}/charts/{}", sub.name),
            &sub_values(values, &sub.name),
            false,
            context,
            jobs,
        );
        subcharts.insert(sub.name.clone(), data);
    }
    let subcharts = Value::map(subcharts);
    let files = Rc::new(Files::of(chart));
    let chart_value = chart_metadata(chart, is_root);
    let base_path = format!("{full_path}/templates");
    for (path, data) in chart.templates() {
        // A library chart contributes its defines only.
        let partial = path.rsplit('/').next().unwrap_or("").starts_with('_');
        if chart.is_library() && !partial {
            continue;
        }
        jobs.push(Job {
            path: format!("{full_path}/{path}"),
            source: String::from_utf8_lossy(data).into_owned(),
            is_root,
            chart: chart_value.clone(),
            files: files.clone(),
            values: values.clone(),
            base_path: base_path.clone(),
            subcharts: subcharts.clone(),
        });
    }
    let mut template = Map::new();
    template.insert("BasePath".into(), Value::from(base_path));
    template.insert("Name".into(), Value::from(""));
    let mut data = Map::new();
    data.insert("Values".into(), values.clone());
    data.insert("Chart".into(), chart_value);
    data.insert("Release".into(), context.release.clone());
    data.insert("Capabilities".into(), context.capabilities.clone());
    data.insert("Files".into(), Value::Object(files));
    data.insert("Template".into(), Value::map(template));
    data.insert("Subcharts".into(), subcharts);
    Value::map(data)
}

fn template_data(job: &Job, capabilities: &Value, release: &Value) -> Value {
    let mut template = Map::new();
    template.insert("Name".into(), Value::from(job.path.as_str()));
    template.insert("BasePath".into(), Value::from(job.base_path.as_str()));
    let mut data = Map::new();
    data.insert("Values".into(), job.values.clone());
    data.insert("Chart".into(), job.chart.clone());
    data.insert("Release".into(), release.clone());
    data.insert("Capabilities".into(), capabilities.clone());
    data.insert("Files".into(), Value::Object(job.files.clone()));
    data.insert("Template".into(), Value::map(template));
    data.insert("Subcharts".into(), job.subcharts.clone());
    Value::map(data)
}

fn release(o: &RenderOptions) -> Value {
    let mut m = Map::new();
    m.insert("Name".into(), Value::from(o.release_name.as_str()));
    m.insert("Namespace".into(), Value::from(o.namespace.as_str()));
    m.insert("IsInstall".into(), Value::Bool(!o.is_upgrade));
    m.insert("IsUpgrade".into(), Value::Bool(o.is_upgrade));
    m.insert("Revision".into(), Value::Int(o.revision));
    m.insert("Service".into(), Value::from("Helm"));
    Value::map(m)
}

fn capabilities(kube: &str, extra: &[String]) -> Value {
    let version = semver::Version::parse(kube).ok();
    let mut kv = Map::new();
    kv.insert("Version".into(), Value::from(kube));
    kv.insert("GitVersion".into(), Value::from(kube));
    kv.insert("Major".into(), Value::from(version.as_ref().map_or(String::new(), |v| v.major.to_string())));
    kv.insert("Minor".into(), Value::from(version.as_ref().map_or(String::new(), |v| v.minor.to_string())));
    let mut apis: Vec<String> = DEFAULT_API_VERSIONS.iter().map(|s| s.to_string()).collect();
    apis.extend(extra.iter().cloned());
    let mut helm = Map::new();
    helm.insert("Version".into(), Value::from("v4.2"));
    let mut caps = Map::new();
    caps.insert("KubeVersion".into(), Value::Object(Rc::new(KubeVersion(Value::map(kv), kube.to_string()))));
    caps.insert("APIVersions".into(), Value::Object(Rc::new(ApiVersions(apis))));
    caps.insert("HelmVersion".into(), Value::map(helm));
    Value::map(caps)
}

/// Helm v4's `.Chart`: the metadata with Go's field names and zero values.
fn chart_metadata(chart: &Chart, is_root: bool) -> Value {
    let m = &chart.metadata;
    let get = |k: &str| m.get(k).cloned().unwrap_or_default();
    let text = |k: &str| Value::from(chart.meta_str(k));
    let list = |k: &str| match get(k) {
        v @ Value::List(_) => v,
        _ => Value::list(Vec::new()),
    };
    let mut out = Map::new();
    out.insert("Name".into(), Value::from(chart.name.as_str()));
    out.insert("Version".into(), text("version"));
    out.insert("APIVersion".into(), text("apiVersion"));
    out.insert("AppVersion".into(), text("appVersion"));
    out.insert("Description".into(), text("description"));
    out.insert("Home".into(), text("home"));
    out.insert("Icon".into(), text("icon"));
    out.insert("KubeVersion".into(), text("kubeVersion"));
    out.insert("Type".into(), text("type"));
    out.insert("Condition".into(), text("condition"));
    out.insert("Tags".into(), text("tags"));
    out.insert("Deprecated".into(), Value::Bool(get("deprecated").truthy()));
    out.insert("Annotations".into(), get("annotations"));
    out.insert("Keywords".into(), list("keywords"));
    out.insert("Maintainers".into(), list("maintainers"));
    out.insert("Sources".into(), list("sources"));
    out.insert("Dependencies".into(), dependencies_value(&list("dependencies")));
    out.insert("IsRoot".into(), Value::Bool(is_root));
    Value::map(out)
}

/// Helm's CheckDependencies: every declared dependency must be in charts/.
fn check_dependencies_present(chart: &Chart) -> Result<(), RenderError> {
    if let Some(Value::List(deps)) = chart.metadata.get("dependencies") {
        for dep in deps.iter() {
            let Value::Map(dep) = dep else { continue };
            let dep = dep.borrow();
            let text = |k: &str| str_field(&dep, k);
            if !chart.subcharts.iter().any(|s| s.name == text("name")) {
                return Err(RenderError::MissingDependency {
                    chart: chart.name.clone(),
                    dependency: text("name"),
                    version: text("version"),
                    repository: text("repository"),
                });
            }
        }
    }
    chart.subcharts.iter().try_for_each(check_dependencies_present)
}

/// Dependencies as Helm v4 shows them in `.Chart.Dependencies`: Go's field
/// names, the alias as the name, import-values in their long form.
fn dependencies_value(deps: &Value) -> Value {
    let Value::List(deps) = deps else { return Value::list(Vec::new()) };
    let converted = deps.iter().filter_map(|d| match d {
        Value::Map(m) => {
            let m = m.borrow();
            let text = |k: &str| Value::from(str_field(&m, k));
            let alias = m.get("alias").and_then(Value::as_str).unwrap_or_default().to_string();
            let name = if alias.is_empty() { text("name") } else { Value::from(alias.clone()) };
            let imports: Vec<Value> = match m.get("import-values") {
                Some(Value::List(l)) => l
                    .iter()
                    .map(|i| match i {
                        Value::Str(s) => {
                            let mut pair = Map::new();
                            pair.insert("child".into(), Value::from(format!("exports.{s}")));
                            pair.insert("parent".into(), Value::from("."));
                            Value::map(pair)
                        }
                        other => other.clone(),
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let mut out = Map::new();
            out.insert("Name".into(), name);
            out.insert("Alias".into(), Value::from(alias));
            out.insert("Version".into(), text("version"));
            out.insert("Repository".into(), text("repository"));
            out.insert("Condition".into(), text("condition"));
            out.insert("Enabled".into(), Value::Bool(true));
            out.insert("Tags".into(), m.get("tags").cloned().unwrap_or_else(|| Value::list(Vec::new())));
            out.insert("ImportValues".into(), Value::list(imports));
            Some(Value::map(out))
        }
        _ => None,
    });
    Value::list(converted.collect())
}

fn collect_crds(chart: &Chart, full_path: &str, out: &mut Vec<(String, String)>) {
    for (path, data) in &chart.files {
        if path.starts_with("crds/") && (path.ends_with(".yaml") || path.ends_with(".yml") || path.ends_with(".json")) {
            out.push((format!("{full_path}/{path}"), String::from_utf8_lossy(data).into_owned()));
        }
    }
    for sub in &chart.subcharts {
        collect_crds(sub, &format!("{full_path}/charts/{}", sub.name), out);
    }
}

/// The chart tree with disabled dependencies removed and aliases applied
/// (Helm's processDependencyEnabled). `path` is this chart's value path.
fn enabled_dependencies(chart: &Chart, values: &Map, path: &str) -> Chart {
    let deps: Vec<Map> = match chart.metadata.get("dependencies") {
        Some(Value::List(l)) => l
            .iter()
            .filter_map(|d| match d {
                Value::Map(m) => Some(m.borrow().clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut kept: Vec<Chart> = Vec::new();
    let mut kept_deps: Vec<Value> = Vec::new();
    // Subcharts no dependency names are always kept.
    for sub in &chart.subcharts {
        if !deps.iter().any(|d| str_field(d, "name") == sub.name) {
            kept.push(sub.clone());
        }
    }
    let tags = match lookup_path(values, "tags") {
        Some(Value::Map(m)) => m.borrow().clone(),
        _ => Map::new(),
    };
    for dep in &deps {
        let name = str_field(dep, "name");
        let Some(sub) = chart.subcharts.iter().find(|s| s.name == name) else { continue };
        let mut enabled = true;
        if let Some(Value::List(dep_tags)) = dep.get("tags") {
            let states: Vec<bool> = dep_tags
                .iter()
                .filter_map(|t| match tags.get(&t.go_string_inner()) {
                    Some(Value::Bool(b)) => Some(*b),
                    _ => None,
                })
                .collect();
            if !states.is_empty() && !states.contains(&true) {
                enabled = false;
            }
        }
        let condition = str_field(dep, "condition");
        for c in condition.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            if let Some(Value::Bool(b)) = lookup_path(values, &format!("{path}{c}")) {
                enabled = b;
                break;
            }
        }
        if !enabled {
            continue;
        }
        let mut sub = sub.clone();
        let alias = str_field(dep, "alias");
        if !alias.is_empty() {
            sub.name = alias;
        }
        kept.push(sub);
        kept_deps.push(Value::map(dep.clone()));
    }
    let mut out = chart.clone();
    // Helm drops disabled dependencies from the metadata too.
    if !deps.is_empty() {
        out.metadata.insert("dependencies".into(), Value::list(kept_deps));
    }
    out.subcharts = kept
        .iter()
        .map(|sub| {
            if has_dependencies(sub) {
                enabled_dependencies(sub, values, &format!("{path}{}.", sub.name))
            } else {
                sub.clone()
            }
        })
        .collect();
    out
}

/// Whether Chart.yaml (or a v1 chart's requirements.yaml) lists
/// dependencies: Helm processes those of no other chart (not even the
/// aliases and conditions of its subcharts' own dependencies).
fn has_dependencies(chart: &Chart) -> bool {
    matches!(chart.metadata.get("dependencies"), Some(Value::List(_)))
}

/// Helm v4's processDependencyImportValues, children first. For a chart
/// whose dependencies (those still enabled) are listed, its defaults become
/// its values merged with all its subcharts' (Helm's MergeValues: `null`s
/// kept, `global` passed down), with each dependency's `import-values`
/// (`exports.NAME` for a plain name, or `{child, parent}`) merged below
/// them. Tables are shared as Helm shares them (see `values`).
fn import_values(chart: &mut Chart) -> Result<(), String> {
    for sub in &mut chart.subcharts {
        import_values(sub)?;
    }
    let deps = match chart.metadata.get("dependencies") {
        // Helm's list of the enabled ones is nil when none is left.
        Some(Value::List(l)) if !l.is_empty() => l.clone(),
        _ => return Ok(()),
    };
    let merged = Rc::new(RefCell::new(values::merge_values(chart, &Map::new())?));
    let imported = Rc::new(RefCell::new(Map::new()));
    for dep in deps.iter() {
        let Value::Map(dep) = dep else { continue };
        let dep = dep.borrow();
        let name = match (dep.get("alias"), dep.get("name")) {
            (Some(Value::Str(a)), _) if !a.is_empty() => a.to_string(),
            (_, Some(name)) => name.go_string_inner(),
            _ => continue,
        };
        let Some(Value::List(imports)) = dep.get("import-values") else { continue };
        for import in imports.iter() {
            let (child, parent) = match import {
                Value::Str(s) => (format!("exports.{s}"), ".".to_string()),
                Value::Map(m) => {
                    // fmt's %v: a missing key is `<nil>`.
                    let m = m.borrow();
                    let text = |k: &str| m.get(k).map(Value::go_string_inner).unwrap_or_else(|| "<nil>".into());
                    (text("child"), text("parent"))
                }
                _ => continue,
            };
            let Some(table) = table_at(&merged, &format!("{name}.{child}")) else { continue };
            let placed = if parent == "." { table } else { path_to_map(&parent, table) };
            values::coalesce_tables(&imported, &placed, true);
        }
    }
    let defaults = Rc::new(RefCell::new(merged.borrow().iter().map(|(k, v)| (k.clone(), v.deep_copy())).collect()));
    values::coalesce_tables(&defaults, &imported, true);
    chart.values = defaults.borrow().clone();
    Ok(())
}

/// Helm's Values.Table: the map at a dotted path (`a.b.c`), itself (a fresh
/// one when empty, as AsMap gives); None where a step is missing or not a
/// map.
fn table_at(values: &Rc<RefCell<Map>>, path: &str) -> Option<Rc<RefCell<Map>>> {
    let mut current = values.clone();
    for key in path.split('.') {
        let next = match current.borrow().get(key) {
            Some(Value::Map(m)) => m.clone(),
            _ => return None,
        };
        current = next;
    }
    if current.borrow().is_empty() {
        return Some(Rc::new(RefCell::new(Map::new())));
    }
    Some(current)
}

/// `a.b` and a table -> `{a: {b: table}}`.
fn path_to_map(path: &str, table: Rc<RefCell<Map>>) -> Rc<RefCell<Map>> {
    let mut table = table;
    for key in path.split('.').rev() {
        let mut m = Map::new();
        m.insert(key.to_string(), Value::Map(table));
        table = Rc::new(RefCell::new(m));
    }
    table
}

/// The value at a dotted path (`a.b.c`) of a values map.
fn lookup_path(values: &Map, path: &str) -> Option<Value> {
    let (first, rest) = path.split_once('.').unwrap_or((path, ""));
    values.get(first)?.at(rest.split('.').filter(|p| !p.is_empty()))
}

/// `.Capabilities.KubeVersion`: prints as its version, has fields.
#[derive(Debug)]
struct KubeVersion(Value, String);

impl Object for KubeVersion {
    fn type_name(&self) -> &'static str {
        "*common.KubeVersion"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match &self.0 {
            Value::Map(m) => m.borrow().get(name).cloned(),
            _ => None,
        }
    }
    fn call(&self, name: &str, _args: &[Value]) -> Option<Result<Value, String>> {
        (name == "String").then(|| Ok(Value::from(self.1.as_str())))
    }
    fn display(&self) -> String {
        self.1.clone()
    }
}

/// `.Capabilities.APIVersions` with its `Has` method.
#[derive(Debug)]
struct ApiVersions(Vec<String>);

impl Object for ApiVersions {
    fn type_name(&self) -> &'static str {
        "common.VersionSet"
    }
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        (name == "Has").then(|| {
            let wanted = args.first().map(Value::go_string_inner).unwrap_or_default();
            Ok(Value::Bool(self.0.contains(&wanted)))
        })
    }
    fn display(&self) -> String {
        format!("[{}]", self.0.join(" "))
    }
}

/// `.Files`: the chart's non-template files.
#[derive(Debug)]
struct Files(BTreeMap<String, Vec<u8>>);

impl Files {
    fn of(chart: &Chart) -> Files {
        let special = |p: &str| {
            p.starts_with("templates/")
                || matches!(
                    p,
                    "values.yaml" | "values.schema.json" | "Chart.lock" | "requirements.yaml" | "requirements.lock"
                )
        };
        Files(chart.files.iter().filter(|(p, _)| !special(p)).map(|(p, d)| (p.clone(), d.clone())).collect())
    }

    fn text(&self, path: &str) -> String {
        self.0.get(path).map(|d| String::from_utf8_lossy(d).into_owned()).unwrap_or_default()
    }
}

impl Object for Files {
    fn type_name(&self) -> &'static str {
        "files"
    }
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let arg = || args.first().map(Value::go_string_inner).unwrap_or_default();
        use base64::Engine as _;
        Some(Ok(match name {
            "Get" => Value::from(self.text(&arg())),
            "GetBytes" => Value::from(self.text(&arg())),
            "Lines" => {
                let text = self.text(&arg());
                Value::list(text.split('\n').map(Value::from).collect())
            }
            "Glob" => {
                let pattern = match glob::Pattern::new(&arg()) {
                    Ok(p) => p,
                    Err(e) => return Some(Err(e.to_string())),
                };
                let options = glob::MatchOptions { require_literal_separator: true, ..Default::default() };
                let matched = self
                    .0
                    .iter()
                    .filter(|(p, _)| pattern.matches_with(p, options))
                    .map(|(p, d)| (p.clone(), d.clone()));
                Value::Object(Rc::new(Files(matched.collect())))
            }
            "AsConfig" | "AsSecrets" => {
                let mut m = Map::new();
                for (path, data) in &self.0 {
                    let base = path.rsplit('/').next().unwrap_or(path).to_string();
                    let text = if name == "AsSecrets" {
                        base64::engine::general_purpose::STANDARD.encode(data)
                    } else {
                        String::from_utf8_lossy(data).into_owned()
                    };
                    m.insert(base, Value::from(text));
                }
                Value::from(super::template::convert::to_yaml(&Value::map(m)))
            }
            _ => return None,
        }))
    }
    fn display(&self) -> String {
        "map[]".into()
    }
    fn entries(&self) -> Option<Vec<(String, Value)>> {
        Some(self.0.iter().map(|(p, d)| (p.clone(), Value::from(String::from_utf8_lossy(d).into_owned()))).collect())
    }
}

/// Helm v4's split of rendered text into manifests (releaseutil's
/// SplitManifests): a `---` at the start of a line ends a document (spaces
/// and tabs after it go with it, whatever else follows starts the next);
/// documents of nothing but whitespace are dropped, the others lose their
/// leading whitespace but keep their trailing whitespace, which Helm
/// prints (the blank line after a template that ends in a newline).
pub fn split_manifests(text: &str) -> Vec<String> {
    static SEPARATOR: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"(?m)^---[ \t]*").expect("valid pattern"));
    SEPARATOR.split(text.trim_start()).filter(|d| !d.trim().is_empty()).map(|d| d.trim_start().to_string()).collect()
}

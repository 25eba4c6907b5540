//! What a bundle asks of a cluster, as objects: its CRDs, its manifests and
//! its charts rendered offline (as `helm install` would, hooks apart), each
//! parsed into JSON, with the images they run moved to the private registry
//! `airlock push` put them in, split into what is applied first
//! (Namespaces, CRDs) and the rest in Helm's install order.
//! Reads the bundle and renders; talks to the cluster only through the
//! charts' `lookup` (`Renders::cluster`), which reads.

use super::helm::{self, HelmChart, HelmRef};
use super::hooks::Hook;
use super::lifecycle::Renders;
use super::relocate::{kinds_with_pull_secrets, name_pull_secret_in_spec, pull_secret, relocate_images, Relocation};
use super::{Capabilities, ClusterError};
use crate::bundle::format::{ChartRecord, Component, ImageRecord};
use crate::bundle::reader::BundleReader;
use crate::chart::render::{render, RenderOptions};
use crate::chart::{load, manifests};
use crate::destination::site::SiteChoice;
use serde_json::Value;

/// One object to apply.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DesiredObject {
    pub body: Value,
    /// The namespace of a namespaced object whose body names none: its
    /// chart's namespace; for manifests, none (the kubeconfig's namespace).
    pub default_namespace: Option<String>,
    /// Where it came from, for messages (`chart redis`, `manifests app.yaml`).
    pub origin: String,
}

impl DesiredObject {
    fn text(&self, path: &[&str]) -> &str {
        path.iter().try_fold(&self.body, |v, key| v.get(key)).and_then(Value::as_str).unwrap_or_default()
    }
    pub fn api_version(&self) -> &str {
        self.text(&["apiVersion"])
    }
    pub fn kind(&self) -> &str {
        self.text(&["kind"])
    }
    pub fn name(&self) -> &str {
        self.text(&["metadata", "name"])
    }
    /// The namespace the body names, if any.
    pub fn namespace(&self) -> Option<&str> {
        Some(self.text(&["metadata", "namespace"])).filter(|ns| !ns.is_empty())
    }
    /// Whether its kind is one of `kinds` (group, kind).
    pub fn is_of(&self, kinds: &[(String, String)]) -> bool {
        let group = self.api_version().rsplit_once('/').map_or("", |(group, _)| group);
        kinds.iter().any(|(g, k)| g == group && k == self.kind())
    }

    pub fn is_crd(&self) -> bool {
        self.kind() == "CustomResourceDefinition" && self.api_version().starts_with("apiextensions.k8s.io/")
    }
    /// `Deployment web (from chart web)`, for messages.
    pub fn describe(&self) -> String {
        format!("{} {} (from {})", self.kind(), self.name(), self.origin)
    }
}

/// Everything a bundle's chosen components ask of the cluster.
#[derive(Debug, Default)]
pub struct Desired {
    /// Namespaces and CRDs: applied first, then the CRDs are waited for.
    pub first: Vec<DesiredObject>,
    /// The rest, in Helm's install order (unknown kinds last, by name).
    pub then: Vec<DesiredObject>,
    /// Chart hooks, run at their events rather than applied with the rest.
    pub hooks: Vec<Hook>,
    /// Chart hooks of events airlock never runs (Helm 2's `crd-install`, say).
    pub hooks_left_out: Vec<String>,
    /// Images the objects run that the bundle does not carry, left as
    /// they are (only looked for when images are moved to a registry).
    pub foreign_images: Vec<String>,
    /// Carried images named in containers' arguments or environment, moved.
    pub images_in_arguments: usize,
    /// Fields outside pod specs whose carried image was moved
    /// (`Prometheus k8s: spec.image`).
    pub images_in_fields: Vec<String>,
    /// With credentials: of those objects, the ones with no
    /// `spec.imagePullSecrets` to name the pull secret in.
    pub without_pull_secret: Vec<String>,
    /// Charts' namespaces, made unless the bundle declares them itself.
    implied_namespaces: Vec<DesiredObject>,
    /// Each chart's Helm release record, written pending before it is
    /// applied and deployed after.
    pub helm: Vec<HelmChart>,
    /// In a rollback: the Helm release revisions to restore.
    pub helm_rollback: Vec<HelmRef>,
    /// The values the site gave, keyed by chart (JSON), for the record.
    pub site_values: Option<Value>,
    /// The bundle's environment installed, for the record.
    pub environment: Option<String>,
    /// The values that are secrets (`CHART.path`), never printed.
    pub secret_values: Vec<String>,
    /// The Secrets site values were read from (`NAMESPACE/NAME:KEY`).
    pub values_secrets: Vec<String>,
}

impl Desired {
    pub fn all(&self) -> impl Iterator<Item = &DesiredObject> {
        self.first.iter().chain(&self.then)
    }

    /// The kinds the bundle's own CRDs define, as (group, kind): served
    /// only once those are applied.
    pub fn bundled_kinds(&self) -> Vec<(String, String)> {
        let text = |crd: &DesiredObject, path: &str| {
            crd.body.pointer(path).and_then(Value::as_str).unwrap_or_default().to_string()
        };
        self.first
            .iter()
            .filter(|o| o.is_crd())
            .map(|crd| (text(crd, "/spec/group"), text(crd, "/spec/names/kind")))
            .collect()
    }
}

/// Parses a YAML document set into objects (a `List` gives its items),
/// typed as Helm and kubectl type them (`yaml11`: `0755` is 493).
/// Every document must be an object with apiVersion, kind and metadata.name.
pub fn parse_documents(text: &str, origin: &str) -> Result<Vec<Value>, ClusterError> {
    let bad = |detail: String| ClusterError::BadDocument { origin: origin.to_string(), detail };
    let docs = crate::yaml11::documents(text).map_err(bad)?;
    let mut out = Vec::new();
    let mut queue: std::collections::VecDeque<(usize, Value)> =
        docs.into_iter().enumerate().map(|(i, d)| (i + 1, d)).collect();
    while let Some((number, doc)) = queue.pop_front() {
        if doc.is_null() {
            continue;
        }
        let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
        if kind == "List" {
            for item in doc.get("items").and_then(Value::as_array).cloned().unwrap_or_default() {
                queue.push_back((number, item));
            }
            continue;
        }
        let has = |path: &[&str]| {
            path.iter().try_fold(&doc, |v, key| v.get(key)).and_then(Value::as_str).is_some_and(|s| !s.is_empty())
        };
        for (path, field) in
            [(&["apiVersion"][..], "apiVersion"), (&["kind"][..], "kind"), (&["metadata", "name"][..], "metadata.name")]
        {
            if !has(path) {
                return Err(bad(format!("document {number} has no {field}")));
            }
        }
        out.push(doc);
    }
    Ok(out)
}

/// What every chart of a run renders with.
struct ChartContext<'a> {
    reader: &'a BundleReader,
    cluster: &'a Capabilities,
    renders: &'a Renders,
    relocation: Option<&'a Relocation<'a>>,
    site: SiteChoice<'a>,
    /// The images the bundle carries for the components installed.
    carried: Vec<&'a ImageRecord>,
}

/// A bundled chart, loaded from its archive in the bundle.
pub(crate) fn load_chart(reader: &BundleReader, chart: &ChartRecord) -> Result<load::Chart, ClusterError> {
    let archive = reader.read_blob(&chart.archive_digest).map_err(|e| ClusterError::BundleBlob {
        what: format!("the archive of chart {}", chart.name),
        source: Box::new(e),
    })?;
    load::from_archive(std::path::Path::new(&chart.name), &archive)
        .map_err(|e| ClusterError::ChartLoad { chart: chart.name.clone(), source: Box::new(e) })
}

/// What one chart renders to, as Helm installs it into `namespace`.
fn chart_objects(context: &ChartContext, chart: &ChartRecord, desired: &mut Desired) -> Result<(), ClusterError> {
    let ChartContext { reader, cluster, renders, relocation, site, .. } = *context;
    let loaded = load_chart(reader, chart)?;
    if !helm::valid_release_name(&chart.name) {
        return Err(ClusterError::Values {
            chart: chart.name.clone(),
            detail: "its name cannot be a Helm release name (at most 53 characters: lowercase letters, digits, `-` and `.`); name the chart so in the bundle's spec".into(),
        });
    }
    let namespace = chart_namespace(chart);
    let rendered_as = renders.of(&namespace, &chart.name);
    let layers =
        site.layers(reader, chart).map_err(|detail| ClusterError::Values { chart: chart.name.clone(), detail })?;
    let config = crate::destination::site::merge_layers(&layers);
    crate::destination::site::missing_required(chart, &config)
        .map_err(|detail| ClusterError::Values { chart: chart.name.clone(), detail })?;
    let options = RenderOptions {
        release_name: chart.name.clone(),
        namespace: namespace.clone(),
        kube_version: cluster.kube_version.clone(),
        api_versions: cluster.api_versions.clone(),
        is_upgrade: rendered_as.is_upgrade,
        revision: i64::from(rendered_as.revision),
        layers,
        cluster: renders.cluster.clone(),
    };
    let rendered = render(&loaded, config.clone(), &options)
        .map_err(|e| ClusterError::Render { chart: chart.name.clone(), source: Box::new(e) })?;
    super::site_images::images_switched_on(&context.carried, chart, &loaded, &rendered, &options)?;
    let chart_origin = format!("chart {}", chart.name);
    // Each object names its template (`chart web, web/templates/cm.yaml`),
    // so a refusal points at the file to fix.
    let object =
        |body: Value, origin: String| DesiredObject { body, default_namespace: Some(namespace.clone()), origin };
    // Like K3s's createNamespace: the chart's namespace is made if needed.
    if namespace != "default" {
        desired.implied_namespaces.push(object(
            serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}),
            chart_origin.clone(),
        ));
    }
    for (path, text) in &rendered.crds {
        let origin = format!("{chart_origin}, {path}");
        for body in parse_documents(text, &origin)? {
            desired.first.push(object(body, origin.clone()));
        }
    }
    let (regular, hooks) = manifests::sort(&rendered);
    let mut helm_manifest = String::new();
    for manifest in regular {
        let origin = format!("{chart_origin}, {}", manifest.source);
        let bodies = parse_documents(&manifest.text, &origin)?;
        // Helm's record holds the objects as applied: with their images
        // moved, what `helm rollback` applies is what runs here.
        let text = match relocation.map(|r| moved_documents(&bodies, r)) {
            Some(Some(moved)) => moved.trim_end().to_string(),
            _ => manifest.text.clone(),
        };
        helm_manifest.push_str(&format!("---\n# Source: {}\n{}\n", manifest.source, text));
        for mut body in bodies {
            owned_by_helm_release(&mut body, &chart.name, &namespace);
            desired.then.push(object(body, origin.clone()));
        }
    }
    let mut helm_hooks = Vec::new();
    for hook in hooks {
        let origin = format!("{chart_origin}, {}", hook.source);
        for body in parse_documents(&hook.text, &origin)? {
            let mut hook = Hook::new(object(body, origin.clone()), hook.hook_events.clone());
            let mut recorded = hook.clone();
            hook.events = events_for_the_run(&hook.events, rendered_as.is_upgrade, renders.run_is_upgrade);
            if let Some(relocation) = relocation {
                relocate_images(&mut recorded.object.body, relocation);
            }
            helm_hooks.push(helm::hook_record(&recorded, &hook_source(&origin)));
            if recorded.is_run() {
                desired.hooks.push(hook);
            } else {
                desired.hooks_left_out.push(recorded.describe());
            }
        }
    }
    desired.helm.push(HelmChart {
        name: chart.name.clone(),
        namespace: namespace.clone(),
        chart: helm::chart_record(&loaded),
        config: helm::values_json(&config),
        manifest: helm_manifest,
        hooks: helm_hooks,
        notes: rendered.notes.clone().unwrap_or_default(),
    });
    Ok(())
}

/// A hook's events as the run calls them: a chart's release is installed
/// or upgraded on its own account, as Helm would (a chart new in an
/// upgrade of the bundle runs its install hooks, not its upgrade ones),
/// while the run calls every chart's hooks by its own action.
fn events_for_the_run(events: &[String], chart_upgraded: bool, run_upgrades: bool) -> Vec<String> {
    if chart_upgraded == run_upgrades {
        return events.to_vec();
    }
    let action = |upgrade: bool| if upgrade { "upgrade" } else { "install" };
    let (chart, run, other) = (action(chart_upgraded), action(run_upgrades), action(!chart_upgraded));
    events
        .iter()
        .filter_map(|event| match event.split_once('-') {
            Some((when @ ("pre" | "post"), what)) if what == chart => Some(format!("{when}-{run}")),
            Some(("pre" | "post", what)) if what == other => None,
            _ => Some(event.clone()),
        })
        .collect()
}

#[cfg(test)]
#[test]
fn a_charts_hooks_follow_its_own_release() {
    let events = |list: &[&str]| list.iter().map(|e| e.to_string()).collect::<Vec<_>>();
    let all = events(&["pre-install", "post-install", "pre-upgrade", "pre-rollback", "test"]);
    // As the run goes: nothing changes.
    assert_eq!(events_for_the_run(&all, false, false), all);
    assert_eq!(events_for_the_run(&all, true, true), all);
    // New in an upgrade of the bundle: its install hooks run, called as the run's.
    assert_eq!(events_for_the_run(&all, false, true), events(&["pre-upgrade", "post-upgrade", "pre-rollback", "test"]));
    // Installed already (by Helm), the bundle installed: its upgrade hooks.
    assert_eq!(events_for_the_run(&all, true, false), events(&["pre-install", "pre-rollback", "test"]));
}

/// The namespace a chart installs into (Helm's `default` when none is said).
pub fn chart_namespace(chart: &ChartRecord) -> String {
    chart.namespace.clone().unwrap_or_else(|| "default".into())
}

/// A template's documents with their images moved, as YAML; None when
/// none moved (the rendered text stays as it was).
fn moved_documents(bodies: &[Value], relocation: &Relocation) -> Option<String> {
    let mut moved = bodies.to_vec();
    // Every document is moved, so no short-circuiting `any`.
    let moved_any: Vec<bool> = moved.iter_mut().map(|body| relocate_images(body, relocation).any).collect();
    let any = moved_any.contains(&true);
    let yaml: Vec<String> = moved.iter().map(|body| serde_saphyr::to_string(body).unwrap_or_default()).collect();
    any.then(|| yaml.join("---\n"))
}

/// The template an object's origin names (`chart app, app/templates/x.yaml`).
fn hook_source(origin: &str) -> String {
    origin.split_once(", ").map_or(origin, |(_, path)| path).to_string()
}

/// What Helm checks before it takes an object over, and stamps on every
/// object of a release it applies: with these, `helm upgrade` and `helm
/// uninstall` treat the object as the release's own.
fn owned_by_helm_release(body: &mut Value, release: &str, namespace: &str) {
    let Some(metadata) = body.get_mut("metadata").and_then(Value::as_object_mut) else { return };
    let labels = metadata.entry("labels").or_insert_with(|| serde_json::json!({}));
    if labels.is_null() {
        *labels = serde_json::json!({});
    }
    if let Some(labels) = labels.as_object_mut() {
        labels.insert("app.kubernetes.io/managed-by".into(), "Helm".into());
    }
    let annotations = metadata.entry("annotations").or_insert_with(|| serde_json::json!({}));
    if annotations.is_null() {
        *annotations = serde_json::json!({});
    }
    if let Some(annotations) = annotations.as_object_mut() {
        annotations.insert("meta.helm.sh/release-name".into(), release.into());
        annotations.insert("meta.helm.sh/release-namespace".into(), namespace.into());
    }
}

/// Everything `components` ask of the cluster whose `.Capabilities`
/// charts see; with `relocation`, images the bundle carries are rewritten
/// to where they were pushed.
pub fn desired(
    reader: &BundleReader,
    components: &[&Component],
    cluster: &Capabilities,
    relocation: Option<&Relocation>,
    renders: &Renders,
    site: SiteChoice,
) -> Result<Desired, ClusterError> {
    let mut desired = Desired::default();
    if !site.values.is_empty() {
        desired.site_values = Some(helm::values_json(site.values));
    }
    desired.environment = site.environment.map(|(name, _)| name.to_string());
    desired.values_secrets = site.from_secrets.map(|(secrets, _)| secrets.to_vec()).unwrap_or_default();
    desired.secret_values = crate::destination::site::secret_value_paths(components);
    for component in components {
        for doc in &component.crds {
            let text = document_text(reader, &doc.digest, &doc.name)?;
            for body in parse_documents(&text, &format!("crds {}", doc.name))? {
                let origin = format!("crds {} (component {})", doc.name, component.name);
                desired.first.push(DesiredObject { body, default_namespace: None, origin });
            }
        }
        for doc in &component.manifests {
            let text = document_text(reader, &doc.digest, &doc.name)?;
            for body in parse_documents(&text, &format!("manifests {}", doc.name))? {
                let origin = format!("manifests {} (component {})", doc.name, component.name);
                desired.then.push(DesiredObject { body, default_namespace: None, origin });
            }
        }
        // What the environment picked adds to the component (its overlays).
        let (environment, added) = match site.environment {
            Some((name, environment)) => (name, environment.components.get(&component.name)),
            None => ("", None),
        };
        for doc in added.into_iter().flatten() {
            let text = document_text(reader, &doc.digest, &doc.name)?;
            for body in parse_documents(&text, &format!("manifests {}", doc.name))? {
                let origin = format!("environment {environment}: {} (component {})", doc.name, component.name);
                desired.then.push(DesiredObject { body, default_namespace: None, origin });
            }
        }
    }
    // The bundle's own CRDs will be served by the time charts are applied,
    // so charts render as if they were (Helm installs CRDs before rendering).
    let mut cluster = cluster.clone();
    for crd in desired.first.iter().filter(|o| o.is_crd()) {
        let group = crd.body.pointer("/spec/group").and_then(Value::as_str).unwrap_or_default();
        for version in crd.body.pointer("/spec/versions").and_then(Value::as_array).into_iter().flatten() {
            if let Some(v) = version.get("name").and_then(Value::as_str) {
                cluster.api_versions.push(format!("{group}/{v}"));
                if let Some(kind) = crd.body.pointer("/spec/names/kind").and_then(Value::as_str) {
                    cluster.api_versions.push(format!("{group}/{v}/{kind}"));
                }
            }
        }
    }
    let carried = components.iter().flat_map(|c| &c.images).collect();
    let context = ChartContext { reader, cluster: &cluster, renders, relocation, site, carried };
    for chart in components.iter().flat_map(|c| &c.charts) {
        chart_objects(&context, chart, &mut desired)?;
    }
    // Namespaces and CRDs wherever they were declared come first.
    let (early, rest): (Vec<_>, Vec<_>) =
        std::mem::take(&mut desired.then).into_iter().partition(|o| o.kind() == "Namespace" || o.is_crd());
    desired.first.extend(early);
    desired.then = rest;
    for implied in std::mem::take(&mut desired.implied_namespaces) {
        if !desired.first.iter().any(|o| o.kind() == "Namespace" && o.name() == implied.name()) {
            desired.first.push(implied);
        }
    }
    if let Some(relocation) = relocation {
        relocate(&mut desired, relocation);
    }
    desired.first.sort_by(|a, b| (a.is_crd(), a.name()).cmp(&(b.is_crd(), b.name())));
    desired.then.sort_by(|a, b| manifests::rank(a.kind()).cmp(&manifests::rank(b.kind())));
    dedup(&mut desired.first)?;
    dedup(&mut desired.then)?;
    Ok(desired)
}

/// Moves the images of every object and hook; with credentials, adds a pull
/// secret to each namespace whose pods now pull from the registry.
fn relocate(desired: &mut Desired, relocation: &Relocation) {
    // The namespaces pods land in: the body's, else the object's default
    // (None: the cluster's default namespace).
    let mut pulling: Vec<Option<String>> = Vec::new();
    let with_pull_secrets: Vec<(String, String)> =
        desired.first.iter().filter(|o| o.is_crd()).flat_map(|crd| kinds_with_pull_secrets(&crd.body)).collect();
    let hooks = desired.hooks.iter_mut().map(|h| &mut h.object);
    for object in desired.first.iter_mut().chain(desired.then.iter_mut()).chain(hooks) {
        let moved = relocate_images(&mut object.body, relocation);
        desired.images_in_arguments += moved.in_arguments;
        let (kind, name) = (object.kind().to_string(), object.name().to_string());
        desired.images_in_fields.extend(moved.in_fields.iter().map(|path| format!("{kind} {name}: {path}")));
        if !moved.in_fields.is_empty() && relocation.credentials.is_some() {
            let declared = with_pull_secrets.iter().any(|(v, k)| *v == object.api_version() && *k == kind);
            if !name_pull_secret_in_spec(&mut object.body, declared, relocation) {
                desired.without_pull_secret.push(format!("{kind} {name}"));
            }
        }
        for image in moved.foreign {
            if !desired.foreign_images.contains(&image) {
                desired.foreign_images.push(image);
            }
        }
        let place = object.namespace().map(str::to_string).or_else(|| object.default_namespace.clone());
        if moved.any && !pulling.contains(&place) {
            pulling.push(place);
        }
    }
    for namespace in pulling {
        if let Some(body) = pull_secret(relocation, namespace.as_deref()) {
            let origin = "the registry credentials (--username)".to_string();
            desired.then.push(DesiredObject { body, default_namespace: namespace, origin });
        }
    }
}

/// Drops repeats of an object declared twice alike. Declared twice
/// differently is an error: one field manager applying two versions would
/// keep only the last one's fields, whichever that happened to be.
fn dedup(objects: &mut Vec<DesiredObject>) -> Result<(), ClusterError> {
    let identity = |o: &DesiredObject| {
        let group = o.api_version().rsplit_once('/').map_or("", |(g, _)| g).to_string();
        let namespace = o.namespace().map(str::to_string).or_else(|| o.default_namespace.clone());
        (group, o.kind().to_string(), namespace, o.name().to_string())
    };
    let mut kept: Vec<DesiredObject> = Vec::with_capacity(objects.len());
    for object in objects.drain(..) {
        match kept.iter().find(|k| identity(k) == identity(&object)) {
            Some(first) if first.body == object.body => {}
            Some(first) => {
                return Err(ClusterError::Duplicate {
                    object: format!("{} {}", object.kind(), object.name()),
                    first: first.origin.clone(),
                    second: object.origin.clone(),
                })
            }
            None => kept.push(object),
        }
    }
    *objects = kept;
    Ok(())
}

fn document_text(
    reader: &BundleReader,
    digest: &crate::oci::digest::Digest,
    name: &str,
) -> Result<String, ClusterError> {
    let bytes = reader
        .read_blob(digest)
        .map_err(|e| ClusterError::BundleBlob { what: name.to_string(), source: Box::new(e) })?;
    String::from_utf8(bytes)
        .map_err(|_| ClusterError::BadDocument { origin: name.to_string(), detail: "not UTF-8".into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_checked_and_lists_unrolled() {
        let text = "apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n---\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: b}\n";
        let objects = parse_documents(text, "m.yaml").unwrap();
        assert_eq!(objects.len(), 2);
        let err = parse_documents("apiVersion: v1\nkind: ConfigMap\n---\nkind: Secret\n", "m.yaml").unwrap_err();
        assert_eq!(err.to_string(), "m.yaml: document 1 has no metadata.name");
        let hints = crate::diagnosis::diagnose(&anyhow::Error::from(err)).hints;
        assert_eq!(hints, ["fix the document and create the bundle again"]);
    }

    #[test]
    fn an_object_declared_twice() {
        let object = |origin: &str, data: &str| DesiredObject {
            body: serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": data}}),
            default_namespace: Some("web".into()),
            origin: origin.into(),
        };
        let mut alike = vec![object("chart web", "1"), object("manifests m.yaml", "1")];
        dedup(&mut alike).unwrap();
        assert_eq!(alike.len(), 1);
        let mut different = vec![object("chart web", "1"), object("manifests m.yaml", "2")];
        assert_eq!(
            dedup(&mut different).unwrap_err().to_string(),
            "ConfigMap a is declared twice, differently: in chart web and in manifests m.yaml"
        );
        // The same name in another namespace is another object.
        let mut other = object("manifests m.yaml", "2");
        other.default_namespace = Some("db".into());
        let mut two = vec![object("chart web", "1"), other];
        dedup(&mut two).unwrap();
        assert_eq!(two.len(), 2);
    }
}

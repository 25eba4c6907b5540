//! The objects behind two bundles' charts and CRDs, compared: each chart is
//! rendered as an install would render it (its values, the environment's,
//! the site's; Kubernetes at airlock's default version, no cluster to look
//! up), objects are matched by kind, namespace and name, and each pair is
//! compared field by field as `install --dry-run` compares (Secrets' values
//! never shown). CRDs, from components and charts' `crds/`, are matched by
//! name and their schemas compared per version.

use super::Kind;
use crate::bundle::format::{ChartRecord, DocumentRecord};
use crate::bundle::reader::BundleReader;
use crate::chart::manifests;
use crate::chart::render::{render, RenderOptions};
use crate::chart::template::Map;
use crate::destination::cluster::diff::{compare, Change, FieldChange};
use crate::destination::cluster::objects::{chart_namespace, load_chart, parse_documents};
use crate::destination::site::{merge_layers, SiteChoice};
use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ChartObjects {
    pub chart: String,
    pub changes: Vec<ObjectChange>,
    /// Why a side could not be rendered (values it needs, say).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ObjectChange {
    pub kind: Kind,
    /// `Deployment penguin/api`.
    pub object: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct CrdChange {
    pub kind: Kind,
    pub name: String,
    pub versions_added: Vec<String>,
    pub versions_removed: Vec<String>,
    /// Versions present in both whose `schema.openAPIV3Schema` differs.
    pub schema_changed: Vec<String>,
    /// Anything else in the CRD that differs (scope, names, served...).
    pub other_fields: Vec<String>,
}

/// How both sides are rendered.
pub struct Renders<'a> {
    pub environment: Option<&'a str>,
    /// The site's values, keyed by chart name.
    pub site_values: &'a Map,
}

/// What one side's chart renders to: objects by key, CRDs by name.
#[derive(Default)]
struct Side {
    objects: BTreeMap<String, Value>,
    crds: BTreeMap<String, Value>,
}

impl Renders<'_> {
    /// Per chart in either bundle, the objects that differ; and the CRDs.
    pub fn compare(&self, old: &BundleReader, new: &BundleReader) -> Result<(Vec<ChartObjects>, Vec<CrdChange>)> {
        let charts = |r: &BundleReader| -> BTreeMap<String, ChartRecord> {
            r.head.manifest.charts().map(|c| (c.name.clone(), c.clone())).collect()
        };
        let (before, after) = (charts(old), charts(new));
        let names: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
        let (mut old_crds, mut new_crds) = (component_crds(old)?, component_crds(new)?);
        let mut out = Vec::new();
        for name in names {
            let mut notes = Vec::new();
            let mut side = |reader: &BundleReader,
                            chart: Option<&ChartRecord>,
                            which: &str,
                            crds: &mut BTreeMap<String, Value>| {
                let Some(chart) = chart else { return Side::default() };
                match self.render(reader, chart) {
                    Ok(side) => {
                        crds.extend(side.crds.iter().map(|(k, v)| (k.clone(), v.clone())));
                        side
                    }
                    Err(e) => {
                        notes.push(format!("the {which} bundle's chart cannot be rendered: {e:#}"));
                        Side::default()
                    }
                }
            };
            let o = side(old, before.get(name), "old", &mut old_crds);
            let n = side(new, after.get(name), "new", &mut new_crds);
            let note = (!notes.is_empty()).then(|| {
                format!("{}; give the site's values as install takes them (-f, --set, --env)", notes.join("; "))
            });
            let changes = match note {
                // A side that did not render would show all objects as added or removed.
                Some(_) => Vec::new(),
                None => object_changes(&o.objects, &n.objects),
            };
            if !changes.is_empty() || note.is_some() {
                out.push(ChartObjects { chart: name.clone(), changes, note });
            }
        }
        Ok((out, crd_changes(&old_crds, &new_crds)))
    }

    fn render(&self, reader: &BundleReader, chart: &ChartRecord) -> Result<Side> {
        let environment = self.environment.and_then(|name| Some((name, reader.head.manifest.environments.get(name)?)));
        let site = SiteChoice { environment, values: self.site_values, from_secrets: None };
        let layers = site.layers(reader, chart).map_err(anyhow::Error::msg)?;
        let config = merge_layers(&layers);
        crate::destination::site::missing_required(chart, &config).map_err(anyhow::Error::msg)?;
        let loaded = load_chart(reader, chart)?;
        let namespace = chart_namespace(chart);
        let options = RenderOptions {
            release_name: chart.name.clone(),
            namespace: namespace.clone(),
            layers,
            ..Default::default()
        };
        let rendered = render(&loaded, config, &options)?;
        let mut side = Side::default();
        for (path, text) in &rendered.crds {
            for body in parse_documents(text, path)? {
                side.crds.insert(object_name(&body), body);
            }
        }
        let (regular, hooks) = manifests::sort(&rendered);
        for manifest in regular.iter().chain(&hooks) {
            for body in parse_documents(&manifest.text, &manifest.source)? {
                side.objects.insert(object_key(&body, &namespace), body);
            }
        }
        Ok(side)
    }
}

/// `Kind namespace/name`, or `Kind name` for what names no namespace and
/// is cluster-scoped by its kind; the chart's namespace otherwise.
fn object_key(body: &Value, chart_namespace: &str) -> String {
    let kind = body["kind"].as_str().unwrap_or("?");
    let name = object_name(body);
    const CLUSTER_SCOPED: [&str; 10] = [
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PersistentVolume",
        "StorageClass",
        "PriorityClass",
        "IngressClass",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    ];
    match body["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None if CLUSTER_SCOPED.contains(&kind) => format!("{kind} {name}"),
        None => format!("{kind} {chart_namespace}/{name}"),
    }
}

fn object_name(body: &Value) -> String {
    body["metadata"]["name"].as_str().unwrap_or("?").to_string()
}

fn object_changes(before: &BTreeMap<String, Value>, after: &BTreeMap<String, Value>) -> Vec<ObjectChange> {
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter_map(|key| {
            let (kind, fields) = match (before.get(key), after.get(key)) {
                (Some(_), None) => (Kind::Removed, Vec::new()),
                (None, Some(_)) => (Kind::Added, Vec::new()),
                (Some(o), Some(n)) => match compare(Some(o), n) {
                    Change::Changed(fields) => (Kind::Changed, fields),
                    _ => return None,
                },
                (None, None) => return None,
            };
            Some(ObjectChange { kind, object: key.clone(), fields })
        })
        .collect()
}

/// The CRDs a bundle's components carry as documents, by name.
fn component_crds(reader: &BundleReader) -> Result<BTreeMap<String, Value>> {
    let documents: Vec<&DocumentRecord> = reader.head.manifest.components.iter().flat_map(|c| &c.crds).collect();
    let mut crds = BTreeMap::new();
    for doc in documents {
        let bytes = reader.read_blob(&doc.digest).with_context(|| format!("cannot read CRD file {}", doc.source))?;
        for body in parse_documents(&String::from_utf8_lossy(&bytes), &doc.source)? {
            if body["kind"] == "CustomResourceDefinition" {
                crds.insert(object_name(&body), body);
            }
        }
    }
    Ok(crds)
}

fn crd_changes(before: &BTreeMap<String, Value>, after: &BTreeMap<String, Value>) -> Vec<CrdChange> {
    let names: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    names
        .into_iter()
        .filter_map(|name| {
            let (o, n) = (before.get(name), after.get(name));
            let versions = |crd: Option<&Value>| -> BTreeMap<String, Value> {
                let list = crd.and_then(|c| c["spec"]["versions"].as_array().cloned()).unwrap_or_default();
                list.into_iter().map(|v| (v["name"].as_str().unwrap_or("?").to_string(), v)).collect()
            };
            let (ov, nv) = (versions(o), versions(n));
            let schema_changed: Vec<String> = ov
                .iter()
                .filter(|(v, body)| nv.get(*v).is_some_and(|other| other["schema"] != body["schema"]))
                .map(|(v, _)| v.clone())
                .collect();
            let without_versions = |crd: &Value| {
                let mut crd = crd.clone();
                if let Some(spec) = crd["spec"].as_object_mut() {
                    spec.remove("versions");
                }
                crd
            };
            let mut other_fields: Vec<String> = match (o, n) {
                (Some(o), Some(n)) => match compare(Some(&without_versions(o)), &without_versions(n)) {
                    Change::Changed(fields) => fields.into_iter().map(|f| f.path).collect(),
                    _ => Vec::new(),
                },
                _ => Vec::new(),
            };
            // Served or storage flags and printer columns of a version.
            for (v, body) in &ov {
                if let Some(other) = nv.get(v) {
                    let strip = |b: &Value| {
                        let mut b = b.clone();
                        b.as_object_mut().map(|m| m.remove("schema"));
                        b
                    };
                    if strip(body) != strip(other) {
                        other_fields.push(format!("spec.versions[{v}]"));
                    }
                }
            }
            let kind = match (o, n) {
                (Some(_), None) => Kind::Removed,
                (None, Some(_)) => Kind::Added,
                _ if schema_changed.is_empty() && other_fields.is_empty() && ov.keys().eq(nv.keys()) => return None,
                _ => Kind::Changed,
            };
            Some(CrdChange {
                kind,
                name: name.clone(),
                versions_added: nv.keys().filter(|v| o.is_some() && !ov.contains_key(*v)).cloned().collect(),
                versions_removed: ov.keys().filter(|v| n.is_some() && !nv.contains_key(*v)).cloned().collect(),
                schema_changed,
                other_fields,
            })
        })
        .collect()
}

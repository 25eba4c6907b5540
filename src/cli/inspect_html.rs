//! `inspect --html FILE`: the inspect report as one self-contained HTML page
//! for an operator's browser on an air-gapped desktop: no script, no
//! network, no external asset (styles inline, the size picture an inline
//! SVG). Every figure the JSON report has is also in the page as a
//! `data-bytes`/`data-count` attribute, so a test can hold the two equal.
//!
//! Written with `format!` and an escaping function rather than a template
//! crate: one fixed page, a few loops, and the escaping is the only rule.

use crate::bundle::format::Component;
use crate::destination::cluster::diff::describe;
use crate::ops::diff::{BundleDiff, Kind};
use crate::ops::inspect::InspectReport;
use crate::output::human_bytes;
use std::collections::BTreeMap;
use std::fmt::Write;

/// HTML-escapes text for element content and quoted attributes.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn bytes_cell(field: &str, n: u64) -> String {
    format!(r#"<td class="num" data-field="{field}" data-bytes="{n}">{}</td>"#, esc(&human_bytes(n)))
}

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:72em;color:#1b1f24;padding:0 1em}\
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #d0d7de;padding-bottom:.2em;margin-top:1.6em}\
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{text-align:left;padding:.25em .6em;border-bottom:1px solid #eaeef2;vertical-align:top}\
th{background:#f6f8fa}td.num{text-align:right;white-space:nowrap}code{font:12px ui-monospace,monospace;word-break:break-all}\
.muted{color:#57606a}.ok{color:#1a7f37}.warn{color:#9a6700}.added{color:#1a7f37}.removed{color:#cf222e}.changed{color:#9a6700}\
.legend span{display:inline-block;margin-right:1.2em}.legend i{display:inline-block;width:.9em;height:.9em;margin-right:.3em;vertical-align:-.1em}";

/// What each kind of content is drawn in.
const COLOURS: [(&str, &str); 4] =
    [("image", "#0969da"), ("chart", "#8250df"), ("document", "#bf8700"), ("file", "#1a7f37")];

fn colour(kind: &str) -> &'static str {
    COLOURS.iter().find(|(k, _)| *k == kind).map(|(_, c)| *c).unwrap_or("#57606a")
}

/// The page for `report`, with `diff` (against another bundle) when given.
pub fn page(report: &InspectReport, diff: Option<&BundleDiff>) -> String {
    let m = &report.manifest;
    let mut out = String::new();
    let title = format!("{} {}", m.metadata.name, m.metadata.version);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\
         <title>{t} - airlock bundle</title><style>{STYLE}</style></head><body>\n<h1>{t}</h1>\n",
        t = esc(&title)
    );
    if let Some(d) = &m.metadata.description {
        let _ = writeln!(out, "<p>{}</p>", esc(d));
    }
    summary(&mut out, report);
    size_picture(&mut out, report);
    for c in &m.components {
        component(&mut out, c);
    }
    environments(&mut out, report);
    if let Some(d) = diff {
        diff_section(&mut out, d);
    }
    let _ = writeln!(
        out,
        "<p class=\"muted\">Made by <code>airlock inspect --html</code> from the bundle's head; signatures are checked by <code>airlock verify</code>, not here.</p>\n</body></html>"
    );
    out
}

fn summary(out: &mut String, r: &InspectReport) {
    let m = &r.manifest;
    let signed = if r.signatures.is_empty() {
        "<span class=\"warn\">not signed</span>".to_string()
    } else {
        let keys: Vec<String> = r.signatures.iter().map(|s| format!("<code>{}</code>", esc(&s.key_id))).collect();
        format!("<span class=\"ok\">signed</span> by key {}", keys.join(", "))
    };
    let _ = writeln!(out, "<h2>Bundle</h2>\n<table>");
    let row = |out: &mut String, k: &str, v: String| {
        let _ = writeln!(out, "<tr><th>{k}</th><td>{v}</td></tr>");
    };
    row(out, "manifest", format!("<code data-field=\"manifestDigest\">{}</code>", esc(&r.manifest_digest.to_string())));
    row(out, "format", format!("{}.{} ({})", m.format, m.format_minor, esc(&m.created_by)));
    row(out, "signature", signed);
    if !m.platforms.is_empty() {
        row(out, "platforms", esc(&m.platforms.join(", ")));
    }
    if let Some(base) = &m.base {
        row(out, "differential", format!("leaves blobs to {}; the target must hold them", esc(&base.describe())));
    }
    let _ = writeln!(out, "</table>\n<table><tr><th>total</th><th>unique</th><th>stored</th><th>blobs</th><th>images</th><th>charts</th></tr><tr>");
    out.push_str(&bytes_cell("totalSize", r.total_size));
    out.push_str(&bytes_cell("uniqueSize", r.unique_size));
    out.push_str(&bytes_cell("storedSize", r.stored_size));
    let _ = write!(out, r#"<td class="num" data-field="blobCount" data-count="{0}">{0}</td>"#, r.blob_count);
    let images = m.images().count();
    let charts = m.charts().count();
    let _ = write!(out, r#"<td class="num" data-field="imageCount" data-count="{images}">{images}</td>"#);
    let _ =
        writeln!(out, r#"<td class="num" data-field="chartCount" data-count="{charts}">{charts}</td></tr></table>"#);
}

/// One piece of a component's bar: its kind, name and size.
type Segment<'a> = (&'a str, String, u64);

/// A horizontal bar per component, its segments the component's images,
/// charts, documents and files, widths by size.
fn size_picture(out: &mut String, r: &InspectReport) {
    let m = &r.manifest;
    let parts: Vec<(String, Vec<Segment>)> = m
        .components
        .iter()
        .map(|c| {
            let mut items: Vec<(&str, String, u64)> = Vec::new();
            items.extend(c.images.iter().map(|i| ("image", i.reference.clone(), i.size)));
            items.extend(c.charts.iter().map(|ch| ("chart", ch.name.clone(), ch.size)));
            items.extend(c.crds.iter().chain(&c.manifests).map(|d| ("document", d.name.clone(), d.size)));
            items.extend(c.files.iter().map(|f| ("file", f.target.clone(), f.size)));
            (c.name.clone(), items)
        })
        .collect();
    let largest = parts.iter().map(|(_, items)| items.iter().map(|i| i.2).sum::<u64>()).max().unwrap_or(0).max(1);
    let (width, label_width, bar_height) = (720.0_f64, 160.0_f64, 22.0_f64);
    let height = parts.len() as f64 * (bar_height + 8.0) + 8.0;
    let _ = writeln!(out, "<h2>Size</h2>");
    let _ = writeln!(
        out,
        "<svg role=\"img\" aria-label=\"size of each component\" width=\"{}\" height=\"{height}\" viewBox=\"0 0 {} {height}\" xmlns=\"http://www.w3.org/2000/svg\">",
        width + label_width + 90.0,
        width + label_width + 90.0
    );
    for (row, (name, items)) in parts.iter().enumerate() {
        let y = 8.0 + row as f64 * (bar_height + 8.0);
        let _ = writeln!(out, "<text x=\"0\" y=\"{}\" font-size=\"13\">{}</text>", y + 15.0, esc(name));
        let mut x = label_width;
        let total: u64 = items.iter().map(|i| i.2).sum();
        for (kind, label, size) in items {
            let w = (*size as f64 / largest as f64 * width).max(if *size > 0 { 1.0 } else { 0.0 });
            let _ = writeln!(
                out,
                "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"{bar_height}\" fill=\"{}\" stroke=\"#fff\"><title>{} {} ({})</title></rect>",
                colour(kind),
                kind,
                esc(label),
                esc(&human_bytes(*size))
            );
            x += w;
        }
        let _ = writeln!(
            out,
            "<text x=\"{:.1}\" y=\"{}\" font-size=\"12\" fill=\"#57606a\">{}</text>",
            x + 6.0,
            y + 15.0,
            esc(&human_bytes(total))
        );
    }
    let _ = writeln!(out, "</svg>");
    let legend: Vec<String> =
        COLOURS.iter().map(|(k, c)| format!("<span><i style=\"background:{c}\"></i>{k}</span>")).collect();
    let _ = writeln!(out, "<p class=\"legend muted\">{} (hover a segment for its name and size)</p>", legend.join(""));
}

fn component(out: &mut String, c: &Component) {
    let optional = if c.required { "" } else { " <span class=\"muted\">(optional)</span>" };
    let _ = writeln!(out, "<h2>Component {}{optional}</h2>", esc(&c.name));
    if let Some(d) = &c.description {
        let _ = writeln!(out, "<p>{}</p>", esc(d));
    }
    if !c.images.is_empty() {
        let _ = writeln!(
            out,
            "<table><tr><th>image</th><th>platforms</th><th>size</th><th>run by chart</th><th>signature</th></tr>"
        );
        for i in &c.images {
            let platforms: Vec<&str> = i.platforms.iter().map(|p| p.platform.as_str()).collect();
            let verified = !i.signatures.is_empty() || i.referrers.iter().any(|r| r.key_id.is_some());
            let _ = writeln!(
                out,
                "<tr data-image=\"{}\"><td>{}<br><code>{}</code></td><td>{}</td>{}<td>{}</td><td>{}</td></tr>",
                esc(&i.reference),
                esc(&i.reference),
                esc(&i.digest.to_string()),
                esc(&platforms.join(", ")),
                bytes_cell("imageSize", i.size),
                esc(&i.charts.join(", ")),
                if verified { "<span class=\"ok\">cosign, verified at create</span>" } else { "" }
            );
        }
        let _ = writeln!(out, "</table>");
    }
    if !c.charts.is_empty() {
        // Which images each chart runs, from the images' side.
        let mut runs: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for i in &c.images {
            for chart in &i.charts {
                runs.entry(chart.as_str()).or_default().push(i.reference.as_str());
            }
        }
        let _ = writeln!(
            out,
            "<table><tr><th>chart</th><th>version</th><th>namespace</th><th>size</th><th>images it runs</th></tr>"
        );
        for ch in &c.charts {
            let _ = writeln!(
                out,
                "<tr data-chart=\"{}\"><td>{} <span class=\"muted\">({})</span></td><td>{}</td><td>{}</td>{}<td>{}</td></tr>",
                esc(&ch.name),
                esc(&ch.name),
                esc(&ch.chart_name),
                esc(&ch.version),
                esc(ch.namespace.as_deref().unwrap_or("default")),
                bytes_cell("chartSize", ch.size),
                esc(&runs.get(ch.name.as_str()).map(|r| r.join(", ")).unwrap_or_default())
            );
        }
        let _ = writeln!(out, "</table>");
    }
    let documents: Vec<(&str, &crate::bundle::format::DocumentRecord)> =
        c.crds.iter().map(|d| ("CRDs", d)).chain(c.manifests.iter().map(|d| ("manifest", d))).collect();
    if !documents.is_empty() || !c.files.is_empty() {
        let _ = writeln!(out, "<table><tr><th>kind</th><th>name</th><th>size</th></tr>");
        for (kind, d) in documents {
            let _ = writeln!(
                out,
                "<tr><td>{kind}</td><td>{}</td>{}</tr>",
                esc(&d.name),
                bytes_cell("documentSize", d.size)
            );
        }
        for f in &c.files {
            let _ = writeln!(
                out,
                "<tr><td>file</td><td><code>{}</code> ({})</td>{}</tr>",
                esc(&f.target),
                esc(&f.mode),
                bytes_cell("fileSize", f.size)
            );
        }
        let _ = writeln!(out, "</table>");
    }
}

fn environments(out: &mut String, r: &InspectReport) {
    let envs = &r.manifest.environments;
    if envs.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "<h2>Environments</h2>\n<table><tr><th>environment</th><th>about</th><th>charts given values</th></tr>"
    );
    for (name, e) in envs {
        let charts: Vec<&str> = e.charts.keys().map(String::as_str).collect();
        let _ = writeln!(
            out,
            "<tr><td><code>install --env {}</code></td><td>{}</td><td>{}</td></tr>",
            esc(name),
            esc(e.description.as_deref().unwrap_or("")),
            esc(&charts.join(", "))
        );
    }
    let _ = writeln!(out, "</table>");
}

fn kind_class(kind: Kind) -> (&'static str, &'static str) {
    match kind {
        Kind::Added => ("added", "+"),
        Kind::Removed => ("removed", "-"),
        Kind::Changed => ("changed", "~"),
    }
}

fn diff_section(out: &mut String, d: &BundleDiff) {
    let _ = writeln!(
        out,
        "<h2>Changes from {} {}</h2>\n<p class=\"muted\">against <code>{}</code> (manifest <code>{}</code>){}</p>",
        esc(&d.old.name),
        esc(&d.old.version),
        esc(&d.old.path.display().to_string()),
        esc(&d.old.manifest_digest.to_string()),
        d.environment.as_deref().map(|e| format!("; charts rendered in environment {}", esc(e))).unwrap_or_default()
    );
    if d.is_empty() {
        let _ = writeln!(out, "<p>No differences in images, charts, objects, CRDs, files or signers.</p>");
        return;
    }
    let mut list = |title: &str, lines: Vec<(Kind, String)>| {
        if lines.is_empty() {
            return;
        }
        let _ = writeln!(out, "<h3>{title}</h3>\n<ul data-diff=\"{}\">", esc(title));
        for (kind, text) in lines {
            let (class, mark) = kind_class(kind);
            let _ = writeln!(out, "<li class=\"{class}\">{mark} {text}</li>");
        }
        let _ = writeln!(out, "</ul>");
    };
    list(
        "images",
        d.images
            .iter()
            .map(|c| {
                let text = match (&c.old, &c.new) {
                    (Some(o), Some(n)) => format!("{} &rarr; {}", esc(&o.reference), esc(&n.reference)),
                    (Some(o), None) => esc(&o.reference),
                    (None, Some(n)) => esc(&n.reference),
                    (None, None) => esc(&c.repository),
                };
                (c.kind, text)
            })
            .collect(),
    );
    list(
        "charts",
        d.charts
            .iter()
            .map(|c| {
                let versions = match (&c.old_version, &c.new_version) {
                    (Some(o), Some(n)) if o != n => format!(" {} &rarr; {}", esc(o), esc(n)),
                    (Some(v), _) | (_, Some(v)) => format!(" {}", esc(v)),
                    _ => String::new(),
                };
                (c.kind, format!("{}{versions}", esc(&c.name)))
            })
            .collect(),
    );
    for chart in &d.objects {
        let mut lines: Vec<(Kind, String)> = chart
            .changes
            .iter()
            .map(|c| {
                let fields: Vec<String> =
                    c.fields.iter().map(|f| format!("<br><code>{}</code>", esc(&describe(f)))).collect();
                (c.kind, format!("{}{}", esc(&c.object), fields.join("")))
            })
            .collect();
        if let Some(note) = &chart.note {
            lines.push((Kind::Changed, format!("not compared: {}", esc(note))));
        }
        list(&format!("objects of chart {}", chart.chart), lines);
    }
    list(
        "CRDs",
        d.crds
            .iter()
            .map(|c| {
                let flag = if c.schema_changed.is_empty() {
                    String::new()
                } else {
                    format!(" <strong>schema changed in {}</strong>", esc(&c.schema_changed.join(", ")))
                };
                (c.kind, format!("{}{flag}", esc(&c.name)))
            })
            .collect(),
    );
    list("files", d.files.iter().map(|c| (c.kind, format!("<code>{}</code>", esc(&c.target)))).collect());
    let signers: Vec<(Kind, String)> = d
        .signers_added
        .iter()
        .map(|k| (Kind::Added, format!("key <code>{}</code>", esc(k))))
        .chain(d.signers_removed.iter().map(|k| (Kind::Removed, format!("key <code>{}</code>", esc(k)))))
        .collect();
    list("signers", signers);
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn text_from_the_bundle_cannot_become_markup() {
        assert_eq!(
            esc(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }
}

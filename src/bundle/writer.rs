//! Writes a bundle in one sequential pass: manifest, signature slot, OCI
//! layout files, then every blob in digest order. Output goes to a temp file
//! beside the destination and is renamed only when complete, so a failed or
//! interrupted create leaves nothing behind.
//!
//! Headers are normalised (mtime 0, uid/gid 0, mode 0644) and entries sorted,
//! so the same inputs give byte-identical bundles.

use super::format::{self, BlobRecord, BundleManifest, Signatures};
use super::{io_err, Result};
use crate::oci::media;
use serde_json::json;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// Where the writer finds each blob's stored form (compressed or not).
pub trait BlobSource {
    fn open_stored(&self, blob: &BlobRecord) -> std::io::Result<(PathBuf, File)>;
}

pub struct WriteReport {
    pub bytes_written: u64,
}

pub fn manifest_bytes(manifest: &BundleManifest) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(manifest).expect("manifest serializes");
    bytes.push(b'\n');
    bytes
}

/// The signature slot content, padded with spaces to its fixed size.
pub fn signature_slot(signatures: &Signatures) -> Option<Vec<u8>> {
    let mut bytes = serde_json::to_vec(signatures).expect("signatures serialize");
    if bytes.len() as u64 >= format::SIGNATURES_SLOT_SIZE {
        return None;
    }
    bytes.resize(format::SIGNATURES_SLOT_SIZE as usize - 1, b' ');
    bytes.push(b'\n');
    Some(bytes)
}

/// OCI `index.json` naming every image and chart by its full reference, so an
/// extracted bundle is browsable with OCI tools.
fn oci_index(manifest: &BundleManifest) -> Vec<u8> {
    let mut entries = Vec::new();
    for image in manifest.images() {
        entries.push(json!({
            "mediaType": image.media_type,
            "digest": image.digest,
            "size": manifest.find_blob(&image.digest).map_or(0, |b| b.size),
            "annotations": {
                "org.opencontainers.image.ref.name": image.reference,
                "io.containerd.image.name": image.reference,
            }
        }));
    }
    for chart in manifest.charts() {
        entries.push(json!({
            "mediaType": media::OCI_MANIFEST,
            "digest": chart.digest,
            "size": manifest.find_blob(&chart.digest).map_or(0, |b| b.size),
            "annotations": {
                "org.opencontainers.image.ref.name": format!("charts/{}:{}", chart.chart_name, chart.version),
            }
        }));
    }
    let mut bytes = serde_json::to_vec_pretty(&json!({
        "schemaVersion": 2,
        "mediaType": media::OCI_INDEX,
        "manifests": entries,
    }))
    .expect("index serializes");
    bytes.push(b'\n');
    bytes
}

fn header(name: &str, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_path(name)
        .expect("bundle entry names are short ASCII");
    h.set_size(size);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    h
}

/// Counts bytes so the caller can report progress and totals.
struct CountingWriter<W> {
    inner: W,
    count: u64,
    on_progress: Box<dyn FnMut(u64)>,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        (self.on_progress)(n as u64);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

pub fn write_bundle(
    out: &Path,
    manifest: &BundleManifest,
    blobs: &dyn BlobSource,
    on_progress: Box<dyn FnMut(u64)>,
) -> Result<WriteReport> {
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".airlock-partial-")
        .tempfile_in(&dir)
        .map_err(io_err(&dir))?;
    let tmp_path = tmp.path().to_path_buf();
    let file = tmp.as_file().try_clone().map_err(io_err(&tmp_path))?;
    let counting = CountingWriter {
        inner: BufWriter::with_capacity(1 << 20, file),
        count: 0,
        on_progress,
    };
    let mut builder = tar::Builder::new(counting);
    let append = |builder: &mut tar::Builder<_>, name: &str, size: u64, data: &mut dyn Read| {
        builder
            .append(&header(name, size), data)
            .map_err(io_err(&tmp_path))
    };

    let manifest_json = manifest_bytes(manifest);
    append(
        &mut builder,
        format::MANIFEST_ENTRY,
        manifest_json.len() as u64,
        &mut &manifest_json[..],
    )?;
    let slot = signature_slot(&Signatures::default()).expect("empty slot fits");
    append(
        &mut builder,
        format::SIGNATURES_ENTRY,
        slot.len() as u64,
        &mut &slot[..],
    )?;
    let layout = br#"{"imageLayoutVersion":"1.0.0"}"#;
    append(
        &mut builder,
        format::OCI_LAYOUT_ENTRY,
        layout.len() as u64,
        &mut &layout[..],
    )?;
    let index = oci_index(manifest);
    append(
        &mut builder,
        format::OCI_INDEX_ENTRY,
        index.len() as u64,
        &mut &index[..],
    )?;

    for blob in &manifest.blobs {
        let (path, file) = blobs
            .open_stored(blob)
            .map_err(|e| super::BundleError::Io {
                path: PathBuf::from(blob.digest.to_string()),
                source: e,
            })?;
        let actual_size = file.metadata().map_err(io_err(&path))?.len();
        if actual_size != blob.stored_size {
            return Err(super::BundleError::Io {
                path,
                source: std::io::Error::other(format!(
                    "cached blob {} changed size ({} bytes, expected {}); clear the airlock cache",
                    blob.digest, actual_size, blob.stored_size
                )),
            });
        }
        let name = format::blob_entry_name(&blob.digest, blob.encoding);
        // `take` guards against a cache file that grew after it was measured:
        // the header's size must be exactly what follows it.
        let mut limited = file.take(blob.stored_size);
        builder
            .append(&header(&name, blob.stored_size), &mut limited)
            .map_err(io_err(&path))?;
    }
    let counting = builder.into_inner().map_err(io_err(&tmp_path))?;
    let bytes_written = counting.count;
    let buffered = counting.inner;
    let file = buffered.into_inner().map_err(|e| super::BundleError::Io {
        path: tmp_path.clone(),
        source: e.into_error(),
    })?;
    file.sync_all().map_err(io_err(&tmp_path))?;
    tmp.persist(out).map_err(|e| super::BundleError::Io {
        path: out.to_path_buf(),
        source: e.error,
    })?;
    Ok(WriteReport { bytes_written })
}

//! Writes a bundle. The layout of the whole file is fixed before any blob is
//! written: manifest, signature slot, OCI layout files, then every blob in
//! digest order, each behind its tar header. Blobs are then copied into their
//! slots in any order (as downloads finish, concurrently), so `create`
//! overlaps downloading and writing while the result stays byte-identical to
//! a sequential write of the same inputs.
//!
//! Output goes to a temp file beside the destination, is fsynced, and is
//! renamed only when every slot is filled: a failed or interrupted create
//! leaves nothing behind (a killed process may leave `.airlock-partial-*`).
//!
//! Headers are normalised (mtime 0, uid/gid 0, mode 0644) and entries sorted,
//! so the same inputs give byte-identical bundles.

use super::format::{self, BlobRecord, BundleManifest, Signatures};
use super::{io_err, padded, parts, BundleError, Result};
use crate::oci::digest::Digest;
use crate::oci::media;
use serde_json::json;
use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

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

/// The Sigstore entry's content, padded with spaces to its fixed size.
pub fn sigstore_slot(json: &[u8]) -> Option<Vec<u8>> {
    if json.len() as u64 >= format::SIGSTORE_SLOT_SIZE {
        return None;
    }
    let mut bytes = json.to_vec();
    bytes.resize(format::SIGSTORE_SLOT_SIZE as usize - 1, b' ');
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

fn header(name: &str, size: u64) -> [u8; 512] {
    let mut h = tar::Header::new_gnu();
    h.set_path(name).expect("bundle entry names are short ASCII");
    h.set_size(size);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    *h.as_bytes()
}

struct Slot {
    offset: u64,
    size: u64,
    filled: bool,
}

/// Writes one blob's bytes, in order, into its slot.
pub struct SlotCursor {
    writer: Arc<BundleWriter>,
    digest: Digest,
    offset: u64,
    size: u64,
    pos: u64,
}

impl SlotCursor {
    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        if self.pos + bytes.len() as u64 > self.size {
            return Err(self.wrong_size(self.pos + bytes.len() as u64));
        }
        self.writer.sink.write_all_at(bytes, self.offset + self.pos).map_err(io_err(&self.writer.out))?;
        self.pos += bytes.len() as u64;
        Ok(())
    }

    fn wrong_size(&self, got: u64) -> BundleError {
        BundleError::Io {
            path: self.writer.out.clone(),
            source: std::io::Error::other(format!(
                "blob {} has at least {got} bytes, but {} were announced",
                self.digest, self.size
            )),
        }
    }

    /// Marks the slot filled; fails if fewer bytes than announced arrived.
    pub fn complete(self) -> Result<()> {
        if self.pos != self.size {
            return Err(self.wrong_size(self.pos));
        }
        let mut slots = self.writer.slots.lock().expect("slot table");
        if let Some(slot) = slots.get_mut(&self.digest) {
            if !slot.filled {
                slot.filled = true;
                self.writer.unfilled.fetch_sub(1, Ordering::SeqCst);
            }
        }
        Ok(())
    }
}

/// A bundle being written: its head is in place, its blob slots are filled
/// by `fill` from any thread, `finish` checks, syncs and renames.
/// Where the bundle's bytes go while it is written: one temp file, or one
/// temp file per part (each with room for its header).
enum Sink {
    Whole(tempfile::NamedTempFile),
    Parts(Vec<PartFile>),
}

struct PartFile {
    tmp: tempfile::NamedTempFile,
    offset: u64,
    length: u64,
}

impl Sink {
    fn write_all_at(&self, bytes: &[u8], offset: u64) -> std::io::Result<()> {
        match self {
            Sink::Whole(tmp) => tmp.as_file().write_all_at(bytes, offset),
            Sink::Parts(parts) => {
                for part in parts {
                    if let Some((piece, at)) = parts::piece_in_part(part.offset, part.length, offset, bytes) {
                        part.tmp.as_file().write_all_at(piece, at)?;
                    }
                }
                Ok(())
            }
        }
    }
}

pub struct BundleWriter {
    sink: Sink,
    out: PathBuf,
    /// With parts: the manifest digest and the largest part size.
    parts: Option<(Digest, u64)>,
    slots: Mutex<HashMap<Digest, Slot>>,
    unfilled: AtomicUsize,
    total_len: u64,
}

impl BundleWriter {
    /// Lays the bundle out; with `max_part_size`, straight into parts named
    /// `OUT.part-NNN-of-MMM` beside `out`, with no whole-size staging file.
    pub fn create_with_parts(
        out: &Path,
        manifest: &BundleManifest,
        signatures: &Signatures,
        sigstore: &[u8],
        max_part_size: Option<u64>,
    ) -> Result<Self> {
        let dir = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut head = Vec::new();
        let mut spans = Vec::new();
        let mut push = |name: &str, data: &[u8]| {
            let start = head.len() as u64;
            head.extend_from_slice(&header(name, data.len() as u64));
            head.extend_from_slice(data);
            head.resize(padded(head.len() as u64) as usize, 0);
            spans.push((start, head.len() as u64));
        };
        let manifest_json = manifest_bytes(manifest);
        push(format::MANIFEST_ENTRY, &manifest_json);
        let slot = signature_slot(signatures).ok_or_else(|| BundleError::NotABundle {
            path: out.to_path_buf(),
            reason: "too many signatures for the signature slot".into(),
        })?;
        push(format::SIGNATURES_ENTRY, &slot);
        let sigstore_slot = sigstore_slot(sigstore).ok_or_else(|| BundleError::NotABundle {
            path: out.to_path_buf(),
            reason: "the Sigstore signature does not fit its slot".into(),
        })?;
        push(format::SIGSTORE_ENTRY, &sigstore_slot);
        push(format::OCI_LAYOUT_ENTRY, br#"{"imageLayoutVersion":"1.0.0"}"#);
        push(format::OCI_INDEX_ENTRY, &oci_index(manifest));

        let mut offset = head.len() as u64;
        let mut slots = HashMap::with_capacity(manifest.blobs.len());
        let mut blob_headers = Vec::with_capacity(manifest.blobs.len());
        // Blobs left to a base bundle have no entry.
        for blob in manifest.blobs.iter().filter(|b| !b.in_base) {
            let name = format::blob_entry_name(&blob.digest, blob.encoding);
            blob_headers.push((offset, header(&name, blob.stored_size)));
            slots.insert(blob.digest.clone(), Slot { offset: offset + 512, size: blob.stored_size, filled: false });
            spans.push((offset, offset + 512 + padded(blob.stored_size)));
            offset += 512 + padded(blob.stored_size);
        }
        let total_len = offset + 1024;

        let new_tmp = || crate::atomic_file::result_temp_in(&dir, ".airlock-partial-").map_err(io_err(&dir));
        let sink = match max_part_size {
            None => {
                let tmp = new_tmp()?;
                tmp.as_file().set_len(total_len).map_err(io_err(tmp.path()))?;
                Sink::Whole(tmp)
            }
            Some(max) => {
                let mut files = Vec::new();
                for (part_offset, length) in parts::plan_cuts(&spans, total_len, max) {
                    let tmp = new_tmp()?;
                    tmp.as_file().set_len(parts::PART_HEADER_SIZE + length).map_err(io_err(tmp.path()))?;
                    files.push(PartFile { tmp, offset: part_offset, length });
                }
                Sink::Parts(files)
            }
        };
        sink.write_all_at(&head, 0).map_err(io_err(out))?;
        for (at, h) in &blob_headers {
            sink.write_all_at(h, *at).map_err(io_err(out))?;
        }
        Ok(BundleWriter {
            sink,
            out: out.to_path_buf(),
            parts: max_part_size.map(|m| (Digest::of(&manifest_json), m)),
            unfilled: AtomicUsize::new(slots.len()),
            slots: Mutex::new(slots),
            total_len,
        })
    }

    pub fn cursor(self: &Arc<Self>, digest: &Digest) -> Result<SlotCursor> {
        let slots = self.slots.lock().expect("slot table");
        let slot = slots
            .get(digest)
            .ok_or_else(|| BundleError::MissingBlob { path: self.out.clone(), digest: digest.clone() })?;
        Ok(SlotCursor {
            writer: Arc::clone(self),
            digest: digest.clone(),
            offset: slot.offset,
            size: slot.size,
            pos: 0,
        })
    }

    pub fn is_filled(&self, digest: &Digest) -> bool {
        self.slots.lock().expect("slot table").get(digest).is_some_and(|s| s.filled)
    }

    /// Copies a blob's stored form from a file into its slot.
    pub fn fill(self: &Arc<Self>, blob: &BlobRecord, source: &Path, on_progress: &dyn Fn(u64)) -> Result<()> {
        if self.is_filled(&blob.digest) {
            return Ok(());
        }
        let mut file = File::open(source).map_err(io_err(source))?;
        self.fill_from(blob, &mut file, source, on_progress)
    }

    /// Copies a blob's stored form from `reader` (which reads `source`)
    /// into its slot; the slot counts as filled only once the reader ends
    /// without error, so a reader that checks a digest can refuse it.
    pub fn fill_from(
        self: &Arc<Self>,
        blob: &BlobRecord,
        reader: &mut dyn Read,
        source: &Path,
        on_progress: &dyn Fn(u64),
    ) -> Result<()> {
        let mut cursor = self.cursor(&blob.digest)?;
        let mut buf = vec![0u8; (1 << 20).min(blob.stored_size.max(1) as usize)];
        loop {
            let n = reader.read(&mut buf).map_err(io_err(source))?;
            if n == 0 {
                break;
            }
            cursor.write(&buf[..n])?;
            on_progress(n as u64);
        }
        cursor.complete()
    }

    /// Checks every slot is filled, syncs and renames into place.
    /// Syncs and renames into place; returns the bundle's size and the files
    /// written. With parts, each part's slice is read back once to hash it
    /// for its header.
    pub fn finish(self) -> Result<(u64, Vec<PathBuf>)> {
        let unfilled = self.unfilled.load(Ordering::SeqCst);
        if unfilled > 0 {
            let slots = self.slots.lock().expect("slot table");
            let digest = slots.iter().find(|(_, s)| !s.filled).map(|(d, _)| d.clone()).expect("an unfilled slot");
            return Err(BundleError::MissingBlob { path: self.out.clone(), digest });
        }
        let total = self.total_len;
        let mut written = Vec::new();
        match self.sink {
            Sink::Whole(tmp) => {
                let path = tmp.path().to_path_buf();
                tmp.as_file().sync_all().map_err(io_err(&path))?;
                crate::atomic_file::persist_durably(tmp, &self.out).map_err(io_err(&self.out))?;
                written.push(self.out.clone());
            }
            Sink::Parts(files) => {
                let (bundle, _) = self.parts.expect("parts sink has part settings");
                let stem = self.out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let count = files.len() as u32;
                for (i, part) in files.into_iter().enumerate() {
                    let file = part.tmp.as_file();
                    let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
                    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
                    std::io::Seek::seek(&mut reader, std::io::SeekFrom::Start(parts::PART_HEADER_SIZE))
                        .map_err(io_err(part.tmp.path()))?;
                    std::io::copy(&mut reader.take(part.length), &mut hasher).map_err(io_err(part.tmp.path()))?;
                    let header = parts::PartHeader {
                        airlock_part: 1,
                        bundle: bundle.clone(),
                        bundle_size: total,
                        index: i as u32 + 1,
                        count,
                        offset: part.offset,
                        length: part.length,
                        sha256: hex::encode(sha2::Digest::finalize(hasher)),
                    };
                    file.write_all_at(&parts::encode_header(&header), 0).map_err(io_err(part.tmp.path()))?;
                    file.sync_all().map_err(io_err(part.tmp.path()))?;
                    let target = self.out.with_file_name(parts::part_name(&stem, i as u32 + 1, count));
                    crate::atomic_file::persist_durably(part.tmp, &target).map_err(io_err(&target))?;
                    written.push(target);
                }
            }
        }
        Ok((total, written))
    }
}

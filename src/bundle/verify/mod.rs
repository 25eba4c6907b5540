//! Streaming verification: one sequential pass over the bundle that hashes
//! every blob (decoding compressed ones), checks it against the manifest, and
//! then checks that every OCI manifest and index refers only to blobs that are
//! present. Reads from any `Read`, so it works on a pipe as well as a file.
//!
//! The tar stream is walked by hand rather than with the `tar` crate's reader:
//! airlock writes only plain entries, and a strict walk rejects GNU/PAX
//! extensions, links and odd paths outright instead of interpreting them.

mod parallel;

use super::format::{self, BundleManifest, Encoding};
use super::reader::{parse_header, parse_manifest};
use super::{io_err, BundleError, Result};
use crate::oci::digest::Digest;
use crate::oci::media;
use sha2::{Digest as _, Sha256};
use std::collections::{HashMap, HashSet};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Clone)]
pub struct VerifyReport {
    pub blobs: usize,
    /// Decoded bytes hashed.
    pub bytes: u64,
    /// Bytes read from the bundle.
    pub stored_bytes: u64,
    pub manifest_digest: Option<Digest>,
    /// Blobs a differential bundle leaves to its base (listed, not carried).
    pub in_base: usize,
}

/// The largest manifest or index blob whose references are checked in memory.
const MAX_OCI_MANIFEST: u64 = 4 << 20;
const BUF: usize = 1 << 20;

struct Stream<'a, R> {
    inner: R,
    pos: u64,
    path: &'a Path,
    on_progress: &'a mut dyn FnMut(u64),
}

impl<R: Read> Stream<'_, R> {
    fn truncated(&self, detail: String) -> BundleError {
        BundleError::Truncated { path: self.path.to_path_buf(), detail }
    }

    /// Fills `buf` completely, or returns false at a clean EOF before any byte.
    fn read_block(&mut self, buf: &mut [u8]) -> Result<bool> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.inner.read(&mut buf[filled..]) {
                Ok(0) if filled == 0 => return Ok(false),
                Ok(0) => return Err(self.truncated(format!("the file ends inside a tar header at byte {}", self.pos))),
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_err(self.path)(e)),
            }
        }
        self.pos += buf.len() as u64;
        Ok(true)
    }

    /// Streams `size` bytes of entry data into `sink`, then skips the padding.
    fn copy_entry(&mut self, name: &str, size: u64, sink: &mut dyn Write, buf: &mut [u8]) -> Result<()> {
        let mut left = size;
        while left > 0 {
            let want = left.min(buf.len() as u64) as usize;
            let n = match self.inner.read(&mut buf[..want]) {
                Ok(0) => return Err(self.truncated(format!("the file ends inside entry `{name}`"))),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io_err(self.path)(e)),
            };
            sink.write_all(&buf[..n]).map_err(|e| self.corrupt(name, e))?;
            left -= n as u64;
            self.pos += n as u64;
            (self.on_progress)(n as u64);
        }
        let pad = (512 - size % 512) % 512;
        let mut padding = [0u8; 512];
        self.inner
            .read_exact(&mut padding[..pad as usize])
            .map_err(|_| self.truncated(format!("the file ends after entry `{name}`")))?;
        self.pos += pad;
        Ok(())
    }

    fn corrupt(&self, name: &str, e: io::Error) -> BundleError {
        BundleError::BadEntry {
            path: self.path.to_path_buf(),
            entry: name.to_string(),
            reason: format!("its content cannot be decoded: {e}"),
        }
    }

    fn next_header(&mut self) -> Result<Option<(String, u64)>> {
        let mut block = [0u8; 512];
        let at = self.pos;
        if !self.read_block(&mut block)? {
            return Ok(None);
        }
        let Some((name, size)) = parse_header(self.path, &block, at)? else { return Ok(None) };
        check_entry_name(self.path, &name)?;
        Ok(Some((name, size)))
    }
}

/// Rejects anything that could escape a directory if someone extracted the
/// bundle with `tar`, before the name is compared with expected entries.
fn check_entry_name(path: &Path, name: &str) -> Result<()> {
    let reason = if name.starts_with('/') {
        Some("absolute path")
    } else if name.split('/').any(|c| c == ".." || c == ".") {
        Some("`.` or `..` path component")
    } else if name.contains('\\') || name.is_empty() {
        Some("unexpected characters in path")
    } else {
        None
    };
    match reason {
        Some(r) => Err(BundleError::BadEntry { path: path.to_path_buf(), entry: name.to_string(), reason: r.into() }),
        None => Ok(()),
    }
}

/// Hashes decoded content and, when asked, keeps a copy.
/// Where a blob's hash is computed: large blobs on a helper thread, so that
/// reading (and, in `copy`, writing) overlaps hashing.
enum BlobHasher {
    Inline(Sha256),
    Background(super::parts::BackgroundSha256),
}

impl BlobHasher {
    fn for_size(size: u64) -> Self {
        match size > 4 << 20 {
            true => BlobHasher::Background(Default::default()),
            false => BlobHasher::Inline(Sha256::new()),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            BlobHasher::Inline(h) => h.update(bytes),
            BlobHasher::Background(h) => h.update(bytes),
        }
    }

    fn finish(self) -> Digest {
        match self {
            BlobHasher::Inline(h) => Digest::from_hasher(h),
            BlobHasher::Background(h) => Digest::from_hex(&h.finish()).expect("a sha256 in hex"),
        }
    }
}

struct BlobSink {
    hasher: BlobHasher,
    size: u64,
    keep: Option<Vec<u8>>,
}

impl Write for BlobSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.hasher.update(buf);
        self.size += buf.len() as u64;
        if let Some(k) = self.keep.as_mut() {
            k.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Verifies a bundle file, or all its parts (each part's own sha256 too).
/// A corrupt blob in a split bundle is reported with the part(s) holding it.
/// Checks every byte of the bundle, and that the manifest streamed is the
/// one in `head` (whose signature the caller checked).
pub fn verify_against_head(
    path: &Path,
    head: &super::reader::BundleHead,
    on_progress: &mut dyn FnMut(u64),
) -> Result<VerifyReport> {
    let report = verify_file(path, on_progress)?;
    if report.manifest_digest.as_ref() != Some(&Digest::of(&head.manifest_bytes)) {
        return Err(BundleError::ChangedWhileVerified { path: path.to_path_buf() });
    }
    Ok(report)
}

pub fn verify_file(path: &Path, on_progress: &mut dyn FnMut(u64)) -> Result<VerifyReport> {
    let source = super::parts::Source::open(path)?;
    if let super::parts::Source::Whole(file) = &source {
        return parallel::verify_whole_file(file, on_progress);
    }
    match verify_stream(source.reader()?, source.path(), on_progress) {
        Err(BundleError::DigestMismatch { path, entry, expected, actual }) => {
            let parts = super::reader::BundleReader::open(source.path())
                .ok()
                .and_then(|r| r.locate(&expected).ok().map(|(loc, _)| source.parts_holding(loc.offset, loc.size)))
                .unwrap_or_default();
            let error = BundleError::DigestMismatch { path, entry, expected, actual };
            Err(match parts.is_empty() {
                true => error,
                false => BundleError::InParts { parts: parts.join(", "), source: Box::new(error) },
            })
        }
        other => other,
    }
}

pub fn verify_stream(reader: impl Read, path: &Path, on_progress: &mut dyn FnMut(u64)) -> Result<VerifyReport> {
    let mut s = Stream { inner: reader, pos: 0, path, on_progress };
    let mut buf = vec![0u8; BUF];

    let first = s.next_header()?;
    let size = Checklist::manifest_entry_size(path, first)?;
    let mut manifest_bytes = Vec::with_capacity(size as usize);
    s.copy_entry(format::MANIFEST_ENTRY, size, &mut manifest_bytes, &mut buf)?;
    let manifest = parse_manifest(path, &manifest_bytes)?;
    let mut checklist = Checklist::new(path, &manifest);
    let mut report = checklist.empty_report(&manifest_bytes);

    while let Some((name, size)) = s.next_header()? {
        let (index, keep) = match checklist.admit(&name, size)? {
            Admitted::Fixed => {
                s.copy_entry(&name, size, &mut io::sink(), &mut buf)?;
                continue;
            }
            Admitted::Blob { index, keep } => (index, keep),
        };
        let record = &manifest.blobs[index];
        let mut sink = BlobSink { hasher: BlobHasher::for_size(record.size), size: 0, keep: keep.then(Vec::new) };
        match record.encoding {
            Encoding::Identity => s.copy_entry(&name, size, &mut sink, &mut buf)?,
            Encoding::Zstd => {
                let mut decoder = zstd::stream::write::Decoder::new(&mut sink).map_err(io_err(path))?;
                s.copy_entry(&name, size, &mut decoder, &mut buf)?;
                decoder.flush().map_err(|e| s.corrupt(&name, e))?;
            }
        }
        let digest = sink.hasher.finish();
        checklist.hashed(&mut report, index, &name, digest, sink.size, sink.keep)?;
    }
    checklist.finish(report)
}

/// The small entries every bundle has besides its manifest and blobs (the
/// Sigstore one from format 1.4 on).
const FIXED_ENTRIES: [&str; 4] =
    [format::SIGNATURES_ENTRY, format::SIGSTORE_ENTRY, format::OCI_LAYOUT_ENTRY, format::OCI_INDEX_ENTRY];

/// Whether an entry is one of the fixed small ones or a listed blob.
enum Admitted {
    Fixed,
    /// `keep`: an OCI manifest or index, whose references are checked at the end.
    Blob {
        index: usize,
        keep: bool,
    },
}

/// What the bundle manifest promises, checked entry by entry: every entry
/// listed, none twice, sizes as recorded, digests as recorded, nothing
/// missing at the end. Shared by the streaming and the parallel walks.
struct Checklist<'m> {
    path: &'m Path,
    manifest: &'m BundleManifest,
    /// Blobs a differential bundle leaves to its base have no entry.
    expected: HashMap<String, usize>,
    seen_fixed: HashSet<&'static str>,
    seen_blobs: Vec<bool>,
    oci_manifests: Vec<(usize, Vec<u8>)>,
}

impl<'m> Checklist<'m> {
    /// The first entry must be the bundle manifest, of a sane size.
    fn manifest_entry_size(path: &Path, first: Option<(String, u64)>) -> Result<u64> {
        let not_bundle = |reason: String| BundleError::NotABundle { path: path.to_path_buf(), reason };
        let (name, size) = first.ok_or_else(|| not_bundle("it is empty".into()))?;
        if name != format::MANIFEST_ENTRY {
            return Err(not_bundle(format!("its first entry is `{name}`, not `{}`", format::MANIFEST_ENTRY)));
        }
        if size > format::MAX_MANIFEST_SIZE {
            return Err(not_bundle(format!(
                "its manifest claims {size} bytes, more than the {} MiB any bundle's manifest may have",
                format::MAX_MANIFEST_SIZE >> 20
            )));
        }
        Ok(size)
    }

    fn new(path: &'m Path, manifest: &'m BundleManifest) -> Self {
        let expected = manifest
            .blobs
            .iter()
            .enumerate()
            .filter(|(_, b)| !b.in_base)
            .map(|(i, b)| (format::blob_entry_name(&b.digest, b.encoding), i))
            .collect();
        Checklist {
            path,
            manifest,
            expected,
            seen_fixed: HashSet::new(),
            seen_blobs: manifest.blobs.iter().map(|b| b.in_base).collect(),
            oci_manifests: Vec::new(),
        }
    }

    fn empty_report(&self, manifest_bytes: &[u8]) -> VerifyReport {
        VerifyReport {
            manifest_digest: Some(Digest::of(manifest_bytes)),
            in_base: self.manifest.blobs.iter().filter(|b| b.in_base).count(),
            ..Default::default()
        }
    }

    /// Checks an entry's name and size before its content is read.
    fn admit(&mut self, name: &str, size: u64) -> Result<Admitted> {
        let bad = |reason: String| BundleError::BadEntry { path: self.path.into(), entry: name.into(), reason };
        let fixed = FIXED_ENTRIES.into_iter().find(|f| *f == name);
        if let Some(fixed) = fixed {
            if !self.seen_fixed.insert(fixed) || size > format::MAX_MANIFEST_SIZE {
                return Err(bad("duplicate or oversized".into()));
            }
            return Ok(Admitted::Fixed);
        }
        let Some(&index) = self.expected.get(name) else {
            return Err(bad("it is not listed in the bundle manifest".into()));
        };
        let record = &self.manifest.blobs[index];
        if self.seen_blobs[index] {
            return Err(bad("it appears twice".into()));
        }
        if size != record.stored_size {
            return Err(bad(format!("it holds {size} bytes but the manifest says {}", record.stored_size)));
        }
        self.seen_blobs[index] = true;
        let keep = (media::is_index(&record.media_type) || media::is_manifest(&record.media_type))
            && record.size <= MAX_OCI_MANIFEST;
        Ok(Admitted::Blob { index, keep })
    }

    /// Checks a blob's content once hashed (`size`: decoded bytes).
    fn hashed(
        &mut self,
        report: &mut VerifyReport,
        index: usize,
        name: &str,
        actual: Digest,
        size: u64,
        kept: Option<Vec<u8>>,
    ) -> Result<()> {
        let record = &self.manifest.blobs[index];
        if actual != record.digest || size != record.size {
            return Err(BundleError::DigestMismatch {
                path: self.path.into(),
                entry: name.into(),
                expected: record.digest.clone(),
                actual,
            });
        }
        report.blobs += 1;
        report.bytes += record.size;
        report.stored_bytes += record.stored_size;
        if let Some(bytes) = kept {
            self.oci_manifests.push((index, bytes));
        }
        Ok(())
    }

    /// After the last entry: nothing promised is missing, and every OCI
    /// manifest refers only to blobs that are present.
    fn finish(self, report: VerifyReport) -> Result<VerifyReport> {
        let path = self.path;
        let sigstore_due = self.manifest.format_minor >= format::SIGSTORE_SINCE_MINOR;
        for fixed in FIXED_ENTRIES.into_iter().filter(|f| sigstore_due || *f != format::SIGSTORE_ENTRY) {
            if !self.seen_fixed.contains(fixed) {
                return Err(BundleError::Truncated {
                    path: path.into(),
                    detail: format!("entry `{fixed}` is missing"),
                });
            }
        }
        if let Some(i) = self.seen_blobs.iter().position(|seen| !seen) {
            let missing = self.seen_blobs.iter().filter(|seen| !**seen).count();
            return Err(BundleError::Truncated {
                path: path.into(),
                detail: format!(
                    "{missing} of {} blobs are missing, the first being {}",
                    self.manifest.blobs.len() - report.in_base,
                    self.manifest.blobs[i].digest
                ),
            });
        }
        check_references(path, self.manifest, &self.oci_manifests)?;
        Ok(report)
    }
}

/// Every digest an OCI manifest or index names must be in the bundle, except
/// platform manifests the platform filter left out on purpose.
fn check_references(path: &Path, manifest: &BundleManifest, oci_manifests: &[(usize, Vec<u8>)]) -> Result<()> {
    let omitted: HashSet<&Digest> = manifest.images().flat_map(|i| i.omitted.iter().map(|p| &p.digest)).collect();
    let missing = |referrer: String, digest: &Digest| BundleError::MissingReference {
        path: PathBuf::from(path),
        referrer,
        digest: digest.clone(),
    };
    for image in manifest.images() {
        if manifest.find_blob(&image.digest).is_none() {
            return Err(missing(format!("image {}", image.reference), &image.digest));
        }
    }
    for chart in manifest.charts() {
        for d in [&chart.digest, &chart.archive_digest] {
            if manifest.find_blob(d).is_none() {
                return Err(missing(format!("chart {}", chart.name), d));
            }
        }
    }
    for (index, bytes) in oci_manifests {
        let record = &manifest.blobs[*index];
        let referrer =
            format!("{} {}", if media::is_index(&record.media_type) { "index" } else { "manifest" }, record.digest);
        for digest in crate::oci::manifest::referenced_digests(bytes).map_err(|reason| BundleError::BadEntry {
            path: path.into(),
            entry: format::blob_entry_name(&record.digest, record.encoding),
            reason,
        })? {
            if manifest.find_blob(&digest).is_none() && !omitted.contains(&digest) {
                return Err(missing(referrer, &digest));
            }
        }
    }
    Ok(())
}

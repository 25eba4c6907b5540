//! Reads a bundle in place. `read_head` reads only the first two tar entries
//! (manifest and signatures), so `inspect` costs kilobytes whatever the
//! bundle's size. `BundleReader` builds a table of entry offsets by walking
//! tar headers with seeks (no data is read) and opens blobs at their offsets.

use super::format::{self, BlobRecord, BundleManifest, Encoding, Signatures};
use super::parts::{Source, SourceReader};
use super::{io_err, padded, BundleError, Result};
use crate::oci::digest::Digest;
use std::collections::HashMap;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

pub struct BundleHead {
    pub manifest: BundleManifest,
    /// The manifest exactly as stored: what signatures cover.
    pub manifest_bytes: Vec<u8>,
    pub signatures: Signatures,
    /// The Sigstore bundle entry's bytes, padding trimmed (format 1.4 on).
    pub sigstore: Option<Vec<u8>>,
}

const BLOCK: u64 = 512;

/// One tar entry: where its data starts and how long it is.
#[derive(Clone, Copy, Debug)]
pub struct EntryLocation {
    pub offset: u64,
    pub size: u64,
}

/// No entry is larger (2^56 bytes, 64 PiB): offset arithmetic on entry sizes
/// up to this bound cannot overflow a u64.
const MAX_ENTRY_SIZE: u64 = 1 << 56;

/// Parses and checks one tar header block: `None` for an end-of-archive
/// block; an error for a bad checksum or anything but a regular file.
#[doc(hidden)]
pub fn parse_header(path: &Path, block: &[u8; 512], at: u64) -> Result<Option<(String, u64)>> {
    if block.iter().all(|&b| b == 0) {
        return Ok(None);
    }
    let header = tar::Header::from_byte_slice(block);
    let bad = |reason: String| BundleError::NotABundle { path: path.to_path_buf(), reason };
    let stored_sum = header.cksum().map_err(|_| bad(format!("corrupt tar header at byte {at}")))?;
    let computed: u32 = block
        .iter()
        .enumerate()
        .map(|(i, &b)| if (148..156).contains(&i) { u32::from(b' ') } else { u32::from(b) })
        .sum();
    if stored_sum != computed {
        return Err(bad(format!("corrupt tar header at byte {at} (checksum mismatch)")));
    }
    let name = String::from_utf8_lossy(&header.path_bytes()).into_owned();
    if header.entry_type() != tar::EntryType::Regular {
        return Err(BundleError::BadEntry {
            path: path.to_path_buf(),
            entry: name,
            reason: "only regular files may appear".into(),
        });
    }
    let size = header.entry_size().map_err(|_| bad(format!("corrupt size in tar header at byte {at}")))?;
    // A base-256 size field can say up to 2^64 - 1; offsets computed from
    // such a size would overflow (found by `cargo fuzz run bundle_reader`).
    if size > MAX_ENTRY_SIZE {
        return Err(bad(format!(
            "the tar header at byte {at} gives entry `{name}` {size} bytes, more than any bundle holds"
        )));
    }
    Ok(Some((name, size)))
}

/// Reads one entry header at `pos`, returning its name and data location.
fn read_entry_at(file: &mut (impl Read + Seek), path: &Path, pos: u64) -> Result<Option<(String, EntryLocation)>> {
    let mut block = [0u8; 512];
    file.seek(SeekFrom::Start(pos)).map_err(io_err(path))?;
    match file.read_exact(&mut block) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && pos == 0 => {
            return Err(BundleError::NotABundle {
                path: path.to_path_buf(),
                reason: "it is empty or shorter than one tar header".into(),
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            return Err(BundleError::Truncated {
                path: path.to_path_buf(),
                detail: format!("the file ends inside a tar header at byte {pos}"),
            })
        }
        Err(e) => return Err(io_err(path)(e)),
    }
    Ok(parse_header(path, &block, pos)?.map(|(name, size)| (name, EntryLocation { offset: pos + BLOCK, size })))
}

fn read_exact_entry(file: &mut (impl Read + Seek), path: &Path, loc: EntryLocation, what: &str) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; loc.size as usize];
    file.seek(SeekFrom::Start(loc.offset)).map_err(io_err(path))?;
    file.read_exact(&mut buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            BundleError::Truncated { path: path.to_path_buf(), detail: format!("the file ends inside {what}") }
        }
        _ => io_err(path)(e),
    })?;
    Ok(buf)
}

/// Checks the format version before strict parsing, so a newer bundle gets
/// "upgrade airlock" rather than a confusing field error.
pub fn parse_manifest(path: &Path, bytes: &[u8]) -> Result<BundleManifest> {
    let not_bundle = |reason: String| BundleError::NotABundle { path: path.to_path_buf(), reason };
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| not_bundle(format!("its manifest is not valid JSON ({e})")))?;
    let found = value
        .get("format")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| not_bundle("its manifest has no `format` version".into()))?;
    if found != u64::from(format::FORMAT_MAJOR) {
        return Err(BundleError::UnsupportedFormat {
            path: path.to_path_buf(),
            found: u32::try_from(found).unwrap_or(u32::MAX),
            supported: format::FORMAT_MAJOR,
        });
    }
    let manifest: BundleManifest =
        serde_json::from_value(value).map_err(|e| not_bundle(format!("its manifest does not match format 1 ({e})")))?;
    if !manifest.blobs.windows(2).all(|w| w[0].digest < w[1].digest) {
        return Err(not_bundle("its blob list is not sorted and unique".into()));
    }
    Ok(manifest)
}

/// Reads the manifest and signatures of a bundle (a file, one of its
/// parts, or the directory of its parts).
pub fn read_head(path: &Path) -> Result<BundleHead> {
    let source = Source::open(path)?;
    read_head_from(&mut source.reader()?, source.path())
}

fn read_head_from(file: &mut (impl Read + Seek), path: &Path) -> Result<BundleHead> {
    let not_bundle = |reason: String| BundleError::NotABundle { path: path.to_path_buf(), reason };
    let (name, loc) = read_entry_at(file, path, 0)?.ok_or_else(|| not_bundle("it is empty".into()))?;
    if name != format::MANIFEST_ENTRY {
        return Err(not_bundle(format!("its first entry is `{name}`, not `{}`", format::MANIFEST_ENTRY)));
    }
    if loc.size > format::MAX_MANIFEST_SIZE {
        return Err(not_bundle(format!(
            "its manifest claims {} bytes, more than the {} MiB any bundle's manifest may have",
            loc.size,
            format::MAX_MANIFEST_SIZE >> 20
        )));
    }
    let manifest_bytes = read_exact_entry(file, path, loc, "the bundle manifest")?;
    let manifest = parse_manifest(path, &manifest_bytes)?;
    let next = loc.offset + padded(loc.size);
    let (name, sig_loc) =
        read_entry_at(file, path, next)?.ok_or_else(|| not_bundle("it has no signatures entry".into()))?;
    if name != format::SIGNATURES_ENTRY || sig_loc.size != format::SIGNATURES_SLOT_SIZE {
        return Err(not_bundle(format!("its second entry is `{name}`, not the signatures slot")));
    }
    let sig_bytes = read_exact_entry(file, path, sig_loc, "the signatures entry")?;
    let signatures = serde_json::from_slice(&sig_bytes)
        .map_err(|e| not_bundle(format!("its signatures entry is not valid JSON ({e})")))?;
    let next = sig_loc.offset + padded(sig_loc.size);
    let sigstore = match read_entry_at(file, path, next)? {
        Some((name, loc)) if name == format::SIGSTORE_ENTRY => {
            if loc.size != format::SIGSTORE_SLOT_SIZE {
                return Err(not_bundle(format!("its entry `{name}` is not the fixed-size Sigstore slot")));
            }
            let bytes = read_exact_entry(file, path, loc, "the Sigstore signature entry")?;
            Some(bytes.trim_ascii_end().to_vec())
        }
        _ if manifest.format_minor >= format::SIGSTORE_SINCE_MINOR => {
            return Err(not_bundle(format!("its third entry is not `{}`", format::SIGSTORE_ENTRY)));
        }
        _ => None,
    };
    Ok(BundleHead { manifest, manifest_bytes, signatures, sigstore })
}

/// Where the blobs a differential bundle leaves to its base come from when
/// installing it (a K3s node's stored content, say). What `open` returns
/// must already be checked against the digest as it is read.
pub trait BaseBlobs: Send + Sync {
    /// The blob's content, or None when this source does not hold it.
    fn open(&self, digest: &Digest) -> Option<std::io::Result<Box<dyn Read + Send>>>;
    /// Whether `open` would find the blob.
    fn holds(&self, digest: &Digest) -> bool;
}

/// Random access to the blobs of a bundle (a file or its parts).
pub struct BundleReader {
    source: Source,
    pub head: BundleHead,
    entries: HashMap<String, EntryLocation>,
    base_blobs: Option<Box<dyn BaseBlobs>>,
}

impl BundleReader {
    pub fn open(path: &Path) -> Result<Self> {
        let source = Source::open(path)?;
        let path = source.path().to_path_buf();
        let path = path.as_path();
        let mut file = source.reader()?;
        let head = read_head_from(&mut file, path)?;
        let file_len = source.len()?;
        let mut entries = HashMap::new();
        let mut pos = 0;
        while let Some((name, loc)) = read_entry_at(&mut file, path, pos)? {
            if loc.offset + loc.size > file_len {
                return Err(BundleError::Truncated {
                    path: path.to_path_buf(),
                    detail: format!("entry `{name}` needs {} bytes but the file ends first", loc.size),
                });
            }
            pos = loc.offset + padded(loc.size);
            entries.insert(name, loc);
            if pos >= file_len {
                break;
            }
        }
        Ok(BundleReader { source, head, entries, base_blobs: None })
    }

    /// Blobs left to the base are read from `base` from now on.
    pub fn with_base_blobs(mut self, base: Box<dyn BaseBlobs>) -> Self {
        self.base_blobs = Some(base);
        self
    }

    /// The base blobs given with `with_base_blobs`, taken out.
    pub fn take_base_blobs(&mut self) -> Option<Box<dyn BaseBlobs>> {
        self.base_blobs.take()
    }

    /// Whether a blob the bundle leaves to its base can be read from the
    /// base given with `with_base_blobs`.
    pub fn base_holds(&self, digest: &Digest) -> bool {
        self.base_blobs.as_ref().is_some_and(|b| b.holds(digest))
    }

    /// The bundle file, or its first part.
    pub fn path(&self) -> &Path {
        self.source.path()
    }

    /// Where the bundle's bytes are (a file, or parts).
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Every tar entry as (offset of its header, end of its padded data),
    /// in file order: where parts may be cut.
    pub fn entry_spans(&self) -> Vec<(u64, u64)> {
        let mut spans: Vec<(u64, u64)> =
            self.entries.values().map(|l| (l.offset - BLOCK, l.offset + padded(l.size))).collect();
        spans.sort_unstable();
        spans
    }

    /// `length` stored bytes from `offset` in the bundle.
    pub fn open_range(&self, offset: u64, length: u64) -> Result<Box<dyn std::io::BufRead + Send>> {
        const BUFFER: usize = 256 * 1024;
        let mut source = self.source.reader()?;
        source.seek(SeekFrom::Start(offset)).map_err(io_err(self.path()))?;
        // A plain file goes out as itself: std reads a File into buffers
        // without zeroing them first, which SourceReader cannot offer on
        // stable Rust (zeroing cost push and serve ~8% of their CPU).
        Ok(match source {
            SourceReader::Whole(file) => Box::new(BufReader::with_capacity(BUFFER, file.take(length))),
            parts => Box::new(BufReader::with_capacity(BUFFER, parts.take(length))),
        })
    }

    fn blob_record(&self, digest: &Digest) -> Result<&BlobRecord> {
        self.head
            .manifest
            .find_blob(digest)
            .ok_or_else(|| BundleError::MissingBlob { path: self.path().to_path_buf(), digest: digest.clone() })
    }

    /// Where a blob's stored bytes lie in the bundle file.
    pub fn locate(&self, digest: &Digest) -> Result<(EntryLocation, &BlobRecord)> {
        let record = self.blob_record(digest)?;
        if record.in_base {
            let base = self.head.manifest.base.as_ref();
            return Err(BundleError::InBase {
                path: self.path().to_path_buf(),
                digest: digest.clone(),
                base: base.map_or_else(String::new, |b| b.describe()),
            });
        }
        let name = format::blob_entry_name(digest, record.encoding);
        let loc = *self
            .entries
            .get(&name)
            .ok_or_else(|| BundleError::MissingBlob { path: self.path().to_path_buf(), digest: digest.clone() })?;
        Ok((loc, record))
    }

    /// Opens a blob's decoded content. Digests are not checked here: callers
    /// that need that (export) hash what they read.
    pub fn open_blob(&self, digest: &Digest) -> Result<Box<dyn Read + Send>> {
        let from_base = self.blob_record(digest)?.in_base.then(|| self.base_blobs.as_ref()?.open(digest)).flatten();
        if let Some(opened) = from_base {
            return opened.map_err(io_err(self.path()));
        }
        let (loc, record) = self.locate(digest)?;
        let raw = self.open_range(loc.offset, loc.size)?;
        Ok(match record.encoding {
            Encoding::Identity => Box::new(raw),
            Encoding::Zstd => Box::new(zstd::Decoder::with_buffer(raw).map_err(io_err(self.path()))?),
        })
    }

    /// `open_blob`, but the reader fails at the blob's end (InvalidData,
    /// saying where the bytes came from) when they do not hash to `digest`.
    /// Blobs from the base are checked so already; they are not hashed twice.
    pub fn open_blob_checked(&self, digest: &Digest) -> Result<Box<dyn Read + Send>> {
        let blob = self.open_blob(digest)?;
        if self.blob_record(digest)?.in_base {
            return Ok(blob);
        }
        let origin = format!("blob {digest} in {}", self.path().display());
        Ok(Box::new(crate::oci::digest::CheckedReader::new(blob, digest.clone(), origin)))
    }

    pub fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.open_blob(digest)?.read_to_end(&mut out).map_err(io_err(self.path()))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `cargo fuzz run bundle_reader` found a header whose base-256 size
    /// overflowed the offset arithmetic (a panic in debug builds, a wrapped
    /// offset in release).
    #[test]
    fn an_entry_size_near_2_pow_64_is_refused_not_added() {
        let dir = tempfile::tempdir().unwrap();
        for size in [u64::MAX, u64::MAX - 100, MAX_ENTRY_SIZE + 1] {
            let mut header = tar::Header::new_gnu();
            header.set_path("airlock/bundle.json").unwrap();
            header.set_entry_type(tar::EntryType::Regular);
            header.set_size(size);
            header.set_cksum();
            let path = dir.path().join("huge.airlock");
            let mut bytes = header.as_bytes().to_vec();
            bytes.resize(4096, 0);
            std::fs::write(&path, &bytes).unwrap();
            let err = BundleReader::open(&path).err().expect("refused").to_string();
            assert!(err.contains("more than any bundle holds") && err.contains("huge.airlock"), "{size}: {err}");
        }
    }

    /// A manifest over the 64 MiB limit is refused by its size, before it is
    /// read, by the reader and by both verify walks, each saying so.
    #[test]
    fn a_manifest_over_the_limit_is_refused_by_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let mut header = tar::Header::new_gnu();
        header.set_path(format::MANIFEST_ENTRY).unwrap();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(format::MAX_MANIFEST_SIZE + 1);
        header.set_cksum();
        let path = dir.path().join("fat.airlock");
        let mut bytes = header.as_bytes().to_vec();
        // The file holds the whole claimed entry: refused by its size, not
        // as truncated.
        bytes.resize(512 + format::MAX_MANIFEST_SIZE as usize + 2048, b'{');
        std::fs::write(&path, &bytes).unwrap();
        let errors = [
            BundleReader::open(&path).err().expect("reader refuses").to_string(),
            crate::bundle::verify::verify_file(&path, &mut |_| {}).unwrap_err().to_string(),
            crate::bundle::verify::verify_stream(&bytes[..], &path, &mut |_| {}).unwrap_err().to_string(),
        ];
        for err in errors {
            assert!(err.contains("fat.airlock") && err.contains("more than the 64 MiB"), "{err}");
        }
    }
}

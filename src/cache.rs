//! The local content-addressed blob cache (`~/.cache/airlock` by default).
//!
//! Every blob `create` gathers lands here first, verified against its digest,
//! so a second `create` downloads nothing it already has. The cache also keeps
//! the zstd-compressed form of compressible blobs. It must never hold a blob
//! whose content does not match its name: writes go to a temp file that is
//! renamed only after the digest checks out.
//!
//! The cache is not a durable store: its renames are not followed by a
//! directory fsync (unlike every result airlock puts in place, see
//! `atomic_file`). A power loss may lose the newest entries, which the next
//! `create` downloads again; a directory fsync per blob cost 0.08 s of
//! syscalls per 300 small images here (`strace -c`: 1,810 fsyncs), and
//! milliseconds each on disks with slower flushes.

use crate::oci::digest::{Digest, HashingReader};
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cannot use cache directory {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("content does not match its digest: expected {expected}, got {actual}")]
    DigestMismatch { expected: Digest, actual: Digest },
}

#[derive(Clone, Debug)]
pub struct Cache {
    root: PathBuf,
}

/// zstd level for stored blobs: level 3 keeps pace with the disk while still
/// shrinking uncompressed layers and YAML by 3-10x.
const ZSTD_LEVEL: i32 = 3;

impl Cache {
    /// `AIRLOCK_CACHE_DIR`, else `$XDG_CACHE_HOME/airlock`, else `~/.cache/airlock`.
    pub fn default_root() -> PathBuf {
        if let Some(dir) = std::env::var_os("AIRLOCK_CACHE_DIR") {
            return PathBuf::from(dir);
        }
        if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
            return PathBuf::from(dir).join("airlock");
        }
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
        home.join(".cache").join("airlock")
    }

    pub fn open(root: impl Into<PathBuf>) -> Result<Self, CacheError> {
        let root = root.into();
        for sub in ["blobs/sha256", "zstd/sha256", "tmp"] {
            let dir = root.join(sub);
            fs::create_dir_all(&dir).map_err(|source| CacheError::Io { path: dir, source })?;
        }
        Ok(Cache { root })
    }

    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("blobs/sha256").join(digest.hex())
    }

    fn zstd_path(&self, digest: &Digest) -> PathBuf {
        self.root.join("zstd/sha256").join(digest.hex())
    }

    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    pub fn contains(&self, digest: &Digest) -> bool {
        self.blob_path(digest).is_file()
    }

    fn io_err(&self, path: &Path, source: io::Error) -> CacheError {
        CacheError::Io { path: path.to_path_buf(), source }
    }

    /// Stores bytes and returns their digest.
    pub fn insert_bytes(&self, bytes: &[u8]) -> Result<Digest, CacheError> {
        let digest = Digest::of(bytes);
        if !self.contains(&digest) {
            self.insert_reader(bytes, Some(&digest))?;
        }
        Ok(digest)
    }

    /// Streams a reader into the cache, checking it against `expected` when
    /// given. Returns the digest and size.
    pub fn insert_reader(&self, reader: impl Read, expected: Option<&Digest>) -> Result<(Digest, u64), CacheError> {
        let tmp_dir = self.tmp_dir();
        let mut tmp = tempfile::NamedTempFile::new_in(&tmp_dir).map_err(|e| self.io_err(&tmp_dir, e))?;
        let mut hashing = HashingReader::new(reader);
        io::copy(&mut hashing, tmp.as_file_mut()).map_err(|e| self.io_err(tmp.path(), e))?;
        let (digest, size) = hashing.finish();
        if let Some(expected) = expected {
            if *expected != digest {
                return Err(CacheError::DigestMismatch { expected: expected.clone(), actual: digest });
            }
        }
        let dest = self.blob_path(&digest);
        tmp.persist(&dest).map_err(|e| self.io_err(&dest, e.error))?;
        Ok((digest, size))
    }

    /// Moves a temp file (created in `tmp_dir`) whose content the caller has
    /// already hashed and found equal to `digest` into place.
    pub fn adopt_verified(&self, tmp: tempfile::NamedTempFile, digest: &Digest) -> Result<(), CacheError> {
        let dest = self.blob_path(digest);
        tmp.persist(&dest).map_err(|e| self.io_err(&dest, e.error))?;
        Ok(())
    }

    /// A writer for a blob whose content the caller verifies while writing
    /// (a registry stream checked against its digest); `commit` moves it
    /// into place.
    pub fn writer(&self, digest: &Digest) -> Result<CacheWriter, CacheError> {
        let tmp_dir = self.tmp_dir();
        let tmp = tempfile::NamedTempFile::new_in(&tmp_dir).map_err(|e| self.io_err(&tmp_dir, e))?;
        Ok(CacheWriter {
            file: io::BufWriter::with_capacity(256 << 10, tmp),
            digest: digest.clone(),
            cache: self.clone(),
        })
    }

    /// Returns the path of the zstd form of a cached blob, creating it if
    /// needed, or `None` when compression does not pay (stored size would not
    /// be at least 5% smaller).
    pub fn zstd_form(&self, digest: &Digest) -> Result<Option<(PathBuf, u64)>, CacheError> {
        let path = self.zstd_path(digest);
        let skip_marker = path.with_extension("incompressible");
        if let Ok(meta) = fs::metadata(&path) {
            return Ok(Some((path, meta.len())));
        }
        if skip_marker.exists() {
            return Ok(None);
        }
        let source_path = self.blob_path(digest);
        let mut source = fs::File::open(&source_path).map_err(|e| self.io_err(&source_path, e))?;
        let raw_size = source.metadata().map_err(|e| self.io_err(&source_path, e))?.len();
        let tmp_dir = self.tmp_dir();
        let tmp = tempfile::NamedTempFile::new_in(&tmp_dir).map_err(|e| self.io_err(&tmp_dir, e))?;
        let mut encoder = zstd::Encoder::new(tmp, ZSTD_LEVEL).map_err(|e| self.io_err(&path, e))?;
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
        if raw_size > 4 << 20 {
            encoder.multithread(workers).map_err(|e| self.io_err(&path, e))?;
        }
        encoder.include_checksum(false).map_err(|e| self.io_err(&path, e))?;
        encoder.include_contentsize(true).map_err(|e| self.io_err(&path, e))?;
        encoder.set_pledged_src_size(Some(raw_size)).map_err(|e| self.io_err(&path, e))?;
        io::copy(&mut source, &mut encoder).map_err(|e| self.io_err(&path, e))?;
        let mut tmp = encoder.finish().map_err(|e| self.io_err(&path, e))?;
        tmp.flush().map_err(|e| self.io_err(&path, e))?;
        let stored = tmp.as_file().metadata().map_err(|e| self.io_err(&path, e))?.len();
        if stored.saturating_mul(100) > raw_size.saturating_mul(95) {
            fs::write(&skip_marker, b"").map_err(|e| self.io_err(&skip_marker, e))?;
            return Ok(None);
        }
        tmp.persist(&path).map_err(|e| self.io_err(&path, e.error))?;
        Ok(Some((path, stored)))
    }

    pub fn read(&self, digest: &Digest) -> Result<Vec<u8>, CacheError> {
        let path = self.blob_path(digest);
        fs::read(&path).map_err(|e| self.io_err(&path, e))
    }
}

pub struct CacheWriter {
    file: io::BufWriter<tempfile::NamedTempFile>,
    digest: Digest,
    cache: Cache,
}

impl CacheWriter {
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes)
    }

    /// Call only once the content is known to match the digest.
    pub fn commit(self) -> Result<(), CacheError> {
        let tmp = self
            .file
            .into_inner()
            .map_err(|e| CacheError::Io { path: self.cache.tmp_dir(), source: e.into_error() })?;
        self.cache.adopt_verified(tmp, &self.digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_rejects_wrong_digest_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        let wrong = Digest::of(b"other");
        let err = cache.insert_reader(&b"content"[..], Some(&wrong)).unwrap_err();
        assert!(matches!(err, CacheError::DigestMismatch { .. }));
        assert!(!cache.contains(&wrong));
        assert!(!cache.contains(&Digest::of(b"content")));
        assert_eq!(fs::read_dir(cache.tmp_dir()).unwrap().count(), 0);
    }

    #[test]
    fn compresses_only_when_it_pays() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path()).unwrap();
        let text = "kind: ConfigMap\n".repeat(1000);
        let d = cache.insert_bytes(text.as_bytes()).unwrap();
        let (path, size) = cache.zstd_form(&d).unwrap().expect("yaml compresses");
        assert!(size < text.len() as u64 / 10);
        let back = zstd::decode_all(fs::File::open(path).unwrap()).unwrap();
        assert_eq!(back, text.as_bytes());
        // Pseudo-random bytes do not compress.
        let mut x: u64 = 0x9E3779B97F4A7C15;
        let noise: Vec<u8> = (0..100_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let d = cache.insert_bytes(&noise).unwrap();
        assert!(cache.zstd_form(&d).unwrap().is_none());
    }
}

//! Verifying a whole bundle file on every core. The tar headers are walked
//! first (a 512-byte read per entry, data skipped) and every entry checked
//! against the manifest; then the blobs are hashed by one worker per core,
//! largest first, each reading its blobs with positioned reads into a buffer
//! small enough to stay in the core's cache. SHA-256 of one blob is
//! sequential, so a bundle of one huge layer still hashes at one core's
//! speed; bundles of several layers (the usual case) use them all.
//!
//! Only for a whole bundle in a regular file: a pipe has no positions, and
//! parts are checked by the streaming walk, which also hashes every part.
//! Reads with `pread`, not `mmap`: this crate forbids `unsafe`, and a mapped
//! file shrinking under us (a stick pulled out) would kill the process
//! with SIGBUS instead of a clear error.

use super::{check_entry_name, Admitted, BlobHasher, BlobSink, Checklist, VerifyReport};
use crate::bundle::format::Encoding;
use crate::bundle::reader::{parse_header, parse_manifest};
use crate::bundle::{io_err, BundleError, Result};
use crate::oci::digest::Digest;
use sha2::{Digest as _, Sha256};
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Per-worker read size: large enough that a read costs little next to
/// hashing it, small enough to stay in a core's L2 cache between the
/// kernel's copy and the hash reading it.
const READ: usize = 256 << 10;

/// A blob entry found by the header walk, to be hashed.
struct Job {
    name: String,
    index: usize,
    keep: bool,
    offset: u64,
    size: u64,
    encoding: Encoding,
}

/// What a worker found for one blob.
struct Hashed {
    index: usize,
    name: String,
    offset: u64,
    digest: Digest,
    size: u64,
    kept: Option<Vec<u8>>,
}

/// How many workers to use: one per core, as the machine reports it.
pub fn workers() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

pub fn verify_whole_file(path: &Path, on_progress: &mut dyn FnMut(u64)) -> Result<VerifyReport> {
    let file = File::open(path).map_err(io_err(path))?;
    let len = file.metadata().map_err(io_err(path))?.len();
    let mut walk = Walk { file: &file, path, len, pos: 0 };

    let size = Checklist::manifest_entry_size(path, walk.next_header()?)?;
    let manifest_bytes = walk.read_entry(size)?;
    let manifest = parse_manifest(path, &manifest_bytes)?;
    let mut checklist = Checklist::new(path, &manifest);
    let mut report = checklist.empty_report(&manifest_bytes);

    let mut jobs = Vec::new();
    while let Some((name, size)) = walk.next_header()? {
        match checklist.admit(&name, size)? {
            Admitted::Fixed => {
                walk.read_entry(size)?;
            }
            Admitted::Blob { index, keep } => {
                jobs.push(Job { name, index, keep, offset: walk.pos, size, encoding: manifest.blobs[index].encoding });
                walk.skip_entry(size)?;
            }
        }
    }
    // Largest first, so that the last blob to start is a small one and the
    // workers finish together.
    jobs.sort_by_key(|j| std::cmp::Reverse(j.size));
    let blob_bytes: u64 = jobs.iter().map(|j| j.size).sum();
    // Headers, padding and the small fixed entries, counted up front.
    on_progress(len - blob_bytes);
    let mut hashed = hash_all(&file, path, jobs, on_progress)?;
    // In file order, so that reports and errors do not depend on scheduling.
    hashed.sort_by_key(|h| h.offset);
    for h in hashed {
        checklist.hashed(&mut report, h.index, &h.name, h.digest, h.size, h.kept)?;
    }
    checklist.finish(report)
}

/// The header walk: positions only, never the data of blobs.
struct Walk<'a> {
    file: &'a File,
    path: &'a Path,
    len: u64,
    pos: u64,
}

impl Walk<'_> {
    fn truncated(&self, detail: String) -> BundleError {
        BundleError::Truncated { path: self.path.to_path_buf(), detail }
    }

    fn next_header(&mut self) -> Result<Option<(String, u64)>> {
        if self.pos == self.len {
            return Ok(None);
        }
        if self.pos + 512 > self.len {
            return Err(self.truncated(format!("the file ends inside a tar header at byte {}", self.pos)));
        }
        let mut block = [0u8; 512];
        self.file.read_exact_at(&mut block, self.pos).map_err(io_err(self.path))?;
        let Some((name, size)) = parse_header(self.path, &block, self.pos)? else { return Ok(None) };
        check_entry_name(self.path, &name)?;
        self.pos += 512;
        self.check_fits(&name, size)?;
        Ok(Some((name, size)))
    }

    /// The entry's data and padding must lie inside the file.
    fn check_fits(&self, name: &str, size: u64) -> Result<()> {
        let padded = size.div_ceil(512) * 512;
        if self.pos.saturating_add(size) > self.len {
            return Err(self.truncated(format!("the file ends inside entry `{name}`")));
        }
        if self.pos + padded > self.len {
            return Err(self.truncated(format!("the file ends after entry `{name}`")));
        }
        Ok(())
    }

    fn read_entry(&mut self, size: u64) -> Result<Vec<u8>> {
        let mut bytes = vec![0u8; size as usize];
        self.file.read_exact_at(&mut bytes, self.pos).map_err(io_err(self.path))?;
        self.skip_entry(size)?;
        Ok(bytes)
    }

    fn skip_entry(&mut self, size: u64) -> Result<()> {
        self.pos += size.div_ceil(512) * 512;
        Ok(())
    }
}

/// Hashes every job on `workers()` threads; this thread reports progress.
/// Stops at the first failure and returns it.
fn hash_all(file: &File, path: &Path, jobs: Vec<Job>, on_progress: &mut dyn FnMut(u64)) -> Result<Vec<Hashed>> {
    let next = AtomicUsize::new(0);
    let done_bytes = AtomicU64::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Hashed>> = Mutex::new(Vec::with_capacity(jobs.len()));
    let first_error: Mutex<Option<(u64, BundleError)>> = Mutex::new(None);
    let count = workers().min(jobs.len()).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..count)
            .map(|_| {
                scope.spawn(|| {
                    let mut buf = vec![0u8; READ];
                    while !failed.load(Ordering::Relaxed) {
                        let Some(job) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) else { break };
                        match hash_job(file, path, job, &mut buf, &done_bytes) {
                            Ok(h) => results.lock().expect("results lock").push(h),
                            Err(e) => {
                                failed.store(true, Ordering::Relaxed);
                                let mut slot = first_error.lock().expect("error lock");
                                if slot.as_ref().is_none_or(|(at, _)| job.offset < *at) {
                                    *slot = Some((job.offset, e));
                                }
                            }
                        }
                    }
                })
            })
            .collect();
        let mut reported = 0;
        loop {
            let finished = handles.iter().all(|h| h.is_finished());
            let now = done_bytes.load(Ordering::Relaxed);
            if now > reported {
                on_progress(now - reported);
                reported = now;
            }
            if finished {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    if let Some((_, e)) = first_error.into_inner().expect("error lock") {
        return Err(e);
    }
    Ok(results.into_inner().expect("results lock"))
}

/// Hashes one blob's decoded content; `done` counts stored bytes read.
fn hash_job(file: &File, path: &Path, job: &Job, buf: &mut [u8], done: &AtomicU64) -> Result<Hashed> {
    let mut sink = BlobSink { hasher: BlobHasher::Inline(Sha256::new()), size: 0, keep: job.keep.then(Vec::new) };
    match job.encoding {
        Encoding::Identity => read_range(file, path, job, buf, done, &mut sink)?,
        Encoding::Zstd => {
            let mut decoder = zstd::stream::write::Decoder::new(&mut sink).map_err(io_err(path))?;
            read_range(file, path, job, buf, done, &mut decoder)?;
            decoder.flush().map_err(|e| undecodable(path, job, e))?;
        }
    }
    Ok(Hashed {
        index: job.index,
        name: job.name.clone(),
        offset: job.offset,
        digest: sink.hasher.finish(),
        size: sink.size,
        kept: sink.keep,
    })
}

/// Feeds the job's stored bytes to `sink`. A sink's write error is the
/// content failing to decode; a read error is the file's.
fn read_range(
    file: &File,
    path: &Path,
    job: &Job,
    buf: &mut [u8],
    done: &AtomicU64,
    sink: &mut dyn Write,
) -> Result<()> {
    let mut at = job.offset;
    let end = job.offset + job.size;
    while at < end {
        let want = (end - at).min(buf.len() as u64) as usize;
        let n = match file.read_at(&mut buf[..want], at) {
            Ok(0) => {
                return Err(BundleError::Truncated {
                    path: path.to_path_buf(),
                    detail: format!("the file ends inside entry `{}`", job.name),
                })
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io_err(path)(e)),
        };
        sink.write_all(&buf[..n]).map_err(|e| undecodable(path, job, e))?;
        at += n as u64;
        done.fetch_add(n as u64, Ordering::Relaxed);
    }
    Ok(())
}

fn undecodable(path: &Path, job: &Job, e: io::Error) -> BundleError {
    BundleError::BadEntry {
        path: path.to_path_buf(),
        entry: job.name.clone(),
        reason: format!("its content cannot be decoded: {e}"),
    }
}

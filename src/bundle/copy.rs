//! Copying a bundle, or its parts, to removable media (or back) in one pass
//! that also verifies it: a whole bundle's bytes feed the bundle verifier
//! (every blob digest) while they are written; parts are checked against
//! the sha256 in their headers, two parts at a time (hashing one stream is
//! bound to one core). An interrupted copy resumes: what the destination
//! already holds is read and compared, and only bytes from the first
//! difference on are written. Files are written as `NAME.partial`, synced,
//! and renamed to `NAME` once complete and verified, so a finished name
//! always holds a whole file.

use super::parts::{pass_hashed, CorruptPart, Part, Source, PART_HEADER_SIZE};
use super::verify::{verify_stream, VerifyReport};
use super::{io_err, Result};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

#[derive(Debug, Default, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CopyReport {
    pub files: Vec<PathBuf>,
    /// Bytes of the bundle's files (headers of parts included).
    pub total_bytes: u64,
    /// Bytes found already right at the destination and not written again.
    pub reused_bytes: u64,
    pub written_bytes: u64,
    #[serde(skip)]
    pub verify: VerifyReport,
}

/// What every destination file adds to, from any thread.
struct Tally<'a> {
    reused: AtomicU64,
    written: AtomicU64,
    /// A test hook: `AIRLOCK_FAULT_ABORT_AFTER_BYTES=N` aborts the process
    /// once N bytes have been written, as a pulled plug or a kill would.
    /// Writes then take turns, so that exactly N bytes are on disk.
    abort_after: Option<u64>,
    turns: Mutex<()>,
    progress: &'a (dyn Fn(u64) + Sync),
}

impl Tally<'_> {
    fn progress(&self, n: u64) {
        (self.progress)(n);
    }
}

pub fn copy(source: &Source, dest_dir: &Path, on_progress: &(dyn Fn(u64) + Sync)) -> Result<CopyReport> {
    let files = files_and_sizes(source)?;
    check_space(&files, dest_dir)?;
    crate::atomic_file::create_dir_all_durably(dest_dir).map_err(io_err(dest_dir))?;
    let tally = Tally {
        reused: AtomicU64::new(0),
        written: AtomicU64::new(0),
        abort_after: std::env::var("AIRLOCK_FAULT_ABORT_AFTER_BYTES").ok().and_then(|v| v.parse().ok()),
        turns: Mutex::new(()),
        progress: on_progress,
    };
    let (written, verify) = match source {
        Source::Whole(path) => {
            let final_path = copy_name(dest_dir, path);
            let mut tee =
                Tee { inner: source.reader()?, dest: Dest::open(&final_path, &tally).map_err(io_err(&final_path))? };
            // A whole bundle has no checksum of its own, so its blobs are
            // checked against their digests as they pass.
            let verify = verify_stream(&mut tee, source.path(), &mut |n| tally.progress(n))?;
            // The verifier stops at the end-of-archive blocks; copy what follows too.
            std::io::copy(&mut tee, &mut std::io::sink()).map_err(io_err(source.path()))?;
            tee.dest.finish()?;
            (vec![final_path], verify)
        }
        Source::Parts(parts) => (copy_parts(parts, dest_dir, &tally)?, VerifyReport::default()),
    };
    Ok(CopyReport {
        files: written,
        total_bytes: files.iter().map(|(_, size)| size).sum(),
        reused_bytes: tally.reused.into_inner(),
        written_bytes: tally.written.into_inner(),
        verify,
    })
}

/// Each file the copy reads, with its size (a part's header included).
fn files_and_sizes(source: &Source) -> Result<Vec<(PathBuf, u64)>> {
    Ok(match source {
        Source::Whole(path) => vec![(path.clone(), source.len()?)],
        Source::Parts(parts) => parts.iter().map(|p| (p.path.clone(), PART_HEADER_SIZE + p.header.length)).collect(),
    })
}

/// Fails, before anything is written, when `dest_dir` lacks room for what
/// an earlier run has not already put there.
fn check_space(files: &[(PathBuf, u64)], dest_dir: &Path) -> Result<()> {
    let needed: u64 = files
        .iter()
        .map(|(path, size)| {
            let there = copy_name(dest_dir, path);
            let present = [partial_path(&there), there].iter().filter_map(|p| p.metadata().ok()).map(|m| m.len()).max();
            size.saturating_sub(present.unwrap_or(0))
        })
        .sum();
    super::ensure_room(dest_dir, needed)
}

/// Copies the parts two at a time (see `two_at_a_time`).
fn copy_parts(parts: &[Part], dest_dir: &Path, tally: &Tally<'_>) -> Result<Vec<PathBuf>> {
    super::parts::two_at_a_time(parts.len(), |i| copy_part(&parts[i], dest_dir, tally))?;
    Ok(parts.iter().map(|p| copy_name(dest_dir, &p.path)).collect())
}

/// One part, header and all, its content checked against the sha256 in
/// its header before it takes its name.
fn copy_part(part: &Part, dest_dir: &Path, tally: &Tally<'_>) -> Result<()> {
    let final_path = copy_name(dest_dir, &part.path);
    let mut dest = Dest::open(&final_path, tally).map_err(io_err(&final_path))?;
    let mut file = File::open(&part.path).map_err(io_err(&part.path))?;
    let mut header = vec![0u8; PART_HEADER_SIZE as usize];
    file.read_exact(&mut header).map_err(io_err(&part.path))?;
    dest.put(&header).map_err(io_err(&dest.path))?;
    let ends_early = |e: std::io::Error| {
        let detail = format!("{} ends early: {e}", part.path.display());
        io_err(&part.path)(std::io::Error::new(e.kind(), detail))
    };
    let actual = pass_hashed(&mut file, part.header.length, ends_early, |chunk| {
        dest.put(chunk).map_err(io_err(&dest.path))?;
        tally.progress(chunk.len() as u64);
        Ok(())
    })?;
    if actual != part.header.sha256 {
        return Err(super::BundleError::CorruptPart(CorruptPart {
            path: part.path.clone(),
            index: part.header.index,
            count: part.header.count,
            actual,
            expected: part.header.sha256.clone(),
        }));
    }
    dest.finish()
}

/// Where the copy of `source_file` goes: the same name in `dest_dir`.
fn copy_name(dest_dir: &Path, source_file: &Path) -> PathBuf {
    dest_dir.join(source_file.file_name().unwrap_or_default())
}

fn partial_path(final_path: &Path) -> PathBuf {
    let mut name = final_path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    final_path.with_file_name(name)
}

/// A destination file being filled: compared with what an earlier run left
/// there, then written from the first difference on.
struct Dest<'a> {
    final_path: PathBuf,
    path: PathBuf,
    file: File,
    /// Bytes of the existing file still to compare before writing.
    comparing: u64,
    /// Position in the file.
    at: u64,
    /// Past the compared bytes: the rest was cut off, writes follow on.
    writing: bool,
    writeback: crate::writeback::Writeback,
    tally: &'a Tally<'a>,
}

impl<'a> Dest<'a> {
    /// An existing complete or partial copy is kept for comparison.
    fn open(final_path: &Path, tally: &'a Tally<'a>) -> std::io::Result<Self> {
        let partial = partial_path(final_path);
        // A finished file from an earlier run is compared like a partial one.
        if !partial.exists() && final_path.exists() {
            std::fs::rename(final_path, &partial)?;
        }
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&partial)?;
        let comparing = file.metadata()?.len();
        Ok(Dest {
            final_path: final_path.to_path_buf(),
            path: partial,
            file,
            comparing,
            at: 0,
            writing: false,
            writeback: Default::default(),
            tally,
        })
    }

    /// Compares `bytes` with what the file holds at `at`, and writes from
    /// the first difference on (cutting the old rest off once).
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let mut same = 0;
        if self.comparing > 0 {
            let n = (self.comparing as usize).min(bytes.len());
            let mut existing = vec![0u8; n];
            self.file.seek(SeekFrom::Start(self.at))?;
            self.file.read_exact(&mut existing)?;
            same = existing.iter().zip(bytes).take_while(|(a, b)| a == b).count();
            self.comparing = if same < n { 0 } else { self.comparing - same as u64 };
            self.tally.reused.fetch_add(same as u64, Ordering::Relaxed);
            self.at += same as u64;
        }
        if same == bytes.len() {
            return Ok(());
        }
        if !self.writing {
            self.file.set_len(self.at)?;
            self.file.seek(SeekFrom::Start(self.at))?;
            self.writing = true;
        }
        let rest = &bytes[same..];
        let _turn = self.tally.abort_after.map(|limit| {
            let turn = self.tally.turns.lock().expect("turns");
            let before = self.tally.written.load(Ordering::Relaxed);
            if before + rest.len() as u64 >= limit {
                let _ = self.file.write_all(&rest[..(limit - before.min(limit)) as usize]);
                let _ = self.file.sync_all();
                std::process::abort();
            }
            turn
        });
        self.file.write_all(rest)?;
        self.tally.written.fetch_add(rest.len() as u64, Ordering::Relaxed);
        self.at += rest.len() as u64;
        self.writeback.wrote(&self.file, self.at);
        Ok(())
    }

    /// Cuts off anything longer from an earlier run, syncs, and takes the
    /// final name (durably: the directory is synced too).
    fn finish(self) -> Result<()> {
        self.file.set_len(self.at).map_err(io_err(&self.path))?;
        self.file.sync_all().map_err(io_err(&self.path))?;
        crate::atomic_file::rename_durably(&self.path, &self.final_path).map_err(io_err(&self.final_path))
    }
}

/// A whole bundle's bytes, written to `dest` as they are read.
struct Tee<'a> {
    inner: super::parts::SourceReader,
    dest: Dest<'a>,
}

impl Read for Tee<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.dest.put(&buf[..n])?;
        Ok(n)
    }
}

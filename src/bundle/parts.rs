//! A bundle's bytes as stored: one file, or parts for media with a file size
//! limit (`NAME.airlock.part-001-of-N`). Each part is a 1 KiB header (JSON,
//! space-padded: the bundle's manifest digest and size, the part's index,
//! count, offset, length and sha256) followed by one slice of the bundle;
//! cuts fall between tar entries where the size allows, so a part holds
//! whole blobs. Readers see one byte space (`Source::reader`, Read + Seek)
//! and never reassemble a copy; a missing, extra, misnamed, truncated or
//! corrupt part is an error that names it.
//!
//! This module does not interpret the tar stream beyond choosing cut points.

use super::{io_err, BundleError, Result};
use crate::oci::digest::Digest;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Size of the header at the start of every part.
pub const PART_HEADER_SIZE: u64 = 1024;
/// Parts smaller than this would be mostly header and bookkeeping.
pub const MIN_PART_SIZE: u64 = 64 * 1024;
const MAGIC: &str = "airlockPart";

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PartHeader {
    /// Always 1: the part format version (also the magic key).
    pub airlock_part: u32,
    /// Digest of the bundle manifest: which bundle the part belongs to.
    pub bundle: Digest,
    pub bundle_size: u64,
    /// 1-based.
    pub index: u32,
    pub count: u32,
    /// Where the part's slice starts in the bundle.
    pub offset: u64,
    pub length: u64,
    /// sha256 of the slice.
    pub sha256: String,
}

/// The file name of part `index` of `count` for a bundle named `stem`.
pub fn part_name(stem: &str, index: u32, count: u32) -> String {
    let width = count.to_string().len().max(3);
    format!("{stem}.part-{index:0width$}-of-{count:0width$}")
}

pub(crate) fn encode_header(header: &PartHeader) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(header).expect("headers serialize");
    assert!(bytes.len() < PART_HEADER_SIZE as usize, "part header fits its slot");
    bytes.resize(PART_HEADER_SIZE as usize - 1, b' ');
    bytes.push(b'\n');
    bytes
}

/// Reads a part's header, or None when the file is not a part.
fn read_header(path: &Path) -> Result<Option<PartHeader>> {
    let mut file = File::open(path).map_err(io_err(path))?;
    let mut buf = vec![0u8; PART_HEADER_SIZE as usize];
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]).map_err(io_err(path))? {
            0 => break,
            n => filled += n,
        }
    }
    let text = &buf[..filled];
    if !text.starts_with(format!("{{\"{MAGIC}\"").as_bytes()) {
        return Ok(None);
    }
    let bad = |reason: String| BundleError::NotABundle { path: path.to_path_buf(), reason };
    if filled < buf.len() {
        return Err(bad("it is a bundle part cut short inside its header; copy it again".into()));
    }
    serde_json::from_slice(text.trim_ascii_end())
        .map(Some)
        .map_err(|e| bad(format!("its part header is corrupt ({e}); copy it again")))
}

#[derive(Debug, Clone)]
pub struct Part {
    pub path: PathBuf,
    pub header: PartHeader,
}

/// Where a bundle's bytes are.
#[derive(Debug, Clone)]
pub enum Source {
    Whole(PathBuf),
    Parts(Vec<Part>),
}

impl Source {
    /// A bundle file, a part of a split bundle, or the directory holding
    /// the parts. Parts are checked for completeness and order here.
    pub fn open(path: &Path) -> Result<Source> {
        if !path.exists() {
            return Err(BundleError::NotFound { path: path.to_path_buf() });
        }
        if path.is_dir() {
            return Self::from_dir(path, None).or_else(|e| match single_bundle_in(path) {
                Some(bundle) => Ok(Source::Whole(bundle)),
                None => Err(e),
            });
        }
        match read_header(path)? {
            None => Ok(Source::Whole(path.to_path_buf())),
            Some(header) => {
                let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
                Self::from_dir(dir, Some(&header.bundle))
            }
        }
    }

    fn from_dir(dir: &Path, bundle: Option<&Digest>) -> Result<Source> {
        let mut found: Vec<Part> = Vec::new();
        let entries = std::fs::read_dir(dir).map_err(io_err(dir))?;
        for entry in entries {
            let path = entry.map_err(io_err(dir))?.path();
            // `.partial` files are copies in progress (`airlock copy`).
            if !path.is_file() || path.extension().is_some_and(|e| e == "partial") {
                continue;
            }
            if let Some(header) = read_header(&path)? {
                found.push(Part { path, header });
            }
        }
        let not_found = || BundleError::NoBundleIn {
            path: dir.to_path_buf(),
            reason: "it holds no bundle parts (files named NAME.airlock.part-NNN-of-MMM) and no single NAME.airlock"
                .into(),
        };
        let bundle = match bundle {
            Some(b) => b.clone(),
            None => {
                let first = found.first().ok_or_else(not_found)?.header.bundle.clone();
                if let Some(other) = found.iter().find(|p| p.header.bundle != first) {
                    return Err(BundleError::NoBundleIn {
                        path: dir.to_path_buf(),
                        reason: format!(
                            "it holds parts of more than one bundle ({} is of another); name one of the parts instead",
                            other.path.display()
                        ),
                    });
                }
                first
            }
        };
        found.retain(|p| p.header.bundle == bundle);
        found.sort_by(|a, b| a.header.index.cmp(&b.header.index).then_with(|| a.path.cmp(&b.path)));
        let count = found.first().ok_or_else(not_found)?.header.count;
        let bad = |path: &Path, reason: String| BundleError::NotABundle { path: path.to_path_buf(), reason };
        for pair in found.windows(2) {
            if pair[0].header.index == pair[1].header.index {
                return Err(bad(
                    &pair[1].path,
                    format!(
                        "it is part {} of {count} again, as is {}; remove one of them",
                        pair[1].header.index,
                        pair[0].path.display()
                    ),
                ));
            }
        }
        let mut offset = 0;
        for (i, part) in found.iter().enumerate() {
            let want = i as u32 + 1;
            let h = &part.header;
            if h.index != want {
                let name = part_name(&part_stem(&part.path), want, count);
                return Err(bad(dir, missing_part(dir, &name, want, count)));
            }
            if h.count != count || h.offset != offset || h.bundle_size != found[0].header.bundle_size {
                return Err(bad(&part.path, "its header disagrees with the other parts; copy it again".into()));
            }
            let name = part.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let expected_suffix = part_name("", want, count);
            if !name.ends_with(&expected_suffix) {
                return Err(bad(&part.path, format!("it holds part {want} of {count} under another part's name; rename it to end in `{expected_suffix}`")));
            }
            let len = std::fs::metadata(&part.path).map_err(io_err(&part.path))?.len();
            if len != PART_HEADER_SIZE + h.length {
                return Err(BundleError::Truncated {
                    path: part.path.clone(),
                    detail: format!(
                        "part {want} of {count} has {len} bytes, its header says {}",
                        PART_HEADER_SIZE + h.length
                    ),
                });
            }
            offset += h.length;
        }
        if found.len() < count as usize {
            let last = found.last().expect("not empty");
            let want = found.len() as u32 + 1;
            return Err(bad(dir, missing_part(dir, &part_name(&part_stem(&last.path), want, count), want, count)));
        }
        if offset != found[0].header.bundle_size {
            return Err(bad(dir, "its parts do not add up to the bundle's size; copy them again".into()));
        }
        Ok(Source::Parts(found))
    }

    /// A path to name in messages: the file, or the first part.
    pub fn path(&self) -> &Path {
        match self {
            Source::Whole(p) => p,
            Source::Parts(parts) => &parts[0].path,
        }
    }

    /// Names of the parts holding bytes `offset..offset+size` (none for a
    /// whole bundle).
    pub fn parts_holding(&self, offset: u64, size: u64) -> Vec<String> {
        let Source::Parts(parts) = self else { return Vec::new() };
        parts
            .iter()
            .filter(|p| offset < p.header.offset + p.header.length && offset + size > p.header.offset)
            .map(|p| p.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
            .collect()
    }

    pub fn len(&self) -> Result<u64> {
        match self {
            Source::Whole(p) => Ok(std::fs::metadata(p).map_err(io_err(p))?.len()),
            Source::Parts(parts) => Ok(parts[0].header.bundle_size),
        }
    }

    /// Reads the bundle's bytes from the start; reading all of it straight
    /// through also checks every part's sha256.
    pub fn reader(&self) -> Result<SourceReader> {
        Ok(match self {
            Source::Whole(p) => SourceReader::Whole(File::open(p).map_err(io_err(p))?),
            Source::Parts(parts) => SourceReader::Parts(PartsReader {
                parts: parts.clone(),
                pos: 0,
                open: None,
                hashing: Some((0, BackgroundSha256::new())),
            }),
        })
    }
}

/// The one `*.airlock` file in `dir`, if there is exactly one (a stick
/// holding a whole bundle rather than parts).
fn single_bundle_in(dir: &Path) -> Option<PathBuf> {
    let mut found = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "airlock"));
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

fn missing_part(dir: &Path, name: &str, index: u32, count: u32) -> String {
    if dir.join(format!("{name}.partial")).exists() {
        format!("part {index} of {count} ({name}) is missing: its copy was interrupted ({name}.partial); run `airlock copy` again")
    } else {
        format!("part {index} of {count} ({name}) is missing; copy it next to the others")
    }
}

/// The piece of `bytes` (meant for bundle offset `offset`) that falls in a
/// part holding `part_length` bytes from `part_offset`, and where that piece
/// goes in the part's file (after its header). None if they do not meet.
pub(crate) fn piece_in_part(part_offset: u64, part_length: u64, offset: u64, bytes: &[u8]) -> Option<(&[u8], u64)> {
    let end = offset + bytes.len() as u64;
    let (start, stop) = (offset.max(part_offset), end.min(part_offset + part_length));
    (start < stop)
        .then(|| (&bytes[(start - offset) as usize..(stop - offset) as usize], PART_HEADER_SIZE + start - part_offset))
}

/// Overwrites `bytes` at `offset` of the bundle in place: in the file, or in
/// the parts that hold that range, whose sha256 headers are then rewritten.
/// Each file is synced. (Used for the signature slot, near the start.)
pub fn write_in_place(source: &Source, offset: u64, bytes: &[u8]) -> Result<()> {
    use std::os::unix::fs::FileExt;
    match source {
        Source::Whole(path) => {
            let file = std::fs::OpenOptions::new().write(true).open(path).map_err(io_err(path))?;
            file.write_all_at(bytes, offset).map_err(io_err(path))?;
            file.sync_all().map_err(io_err(path))
        }
        Source::Parts(parts) => {
            for part in parts {
                let h = &part.header;
                let Some((piece, at)) = piece_in_part(h.offset, h.length, offset, bytes) else { continue };
                let path = &part.path;
                let file = std::fs::OpenOptions::new().read(true).write(true).open(path).map_err(io_err(path))?;
                file.write_all_at(piece, at).map_err(io_err(path))?;
                let mut hasher = Sha256::new();
                let mut reader = std::io::BufReader::new(&file);
                reader.seek(SeekFrom::Start(PART_HEADER_SIZE)).map_err(io_err(path))?;
                std::io::copy(&mut reader.take(h.length), &mut hasher).map_err(io_err(path))?;
                let header = PartHeader { sha256: hex::encode(hasher.finalize()), ..h.clone() };
                file.write_all_at(&encode_header(&header), 0).map_err(io_err(path))?;
                file.sync_all().map_err(io_err(path))?;
            }
            Ok(())
        }
    }
}

/// `NAME.airlock` of `NAME.airlock.part-001-of-003`.
fn part_stem(path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    name.rsplit_once(".part-").map_or(name.clone(), |(stem, _)| stem.to_string())
}

pub enum SourceReader {
    Whole(File),
    Parts(PartsReader),
}

impl Read for SourceReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            SourceReader::Whole(f) => f.read(buf),
            SourceReader::Parts(p) => p.read(buf),
        }
    }
}

impl Seek for SourceReader {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        match self {
            SourceReader::Whole(f) => f.seek(to),
            SourceReader::Parts(p) => p.seek(to),
        }
    }
}

/// sha256 on a helper thread, so hashing overlaps the reads and writes of
/// a split or copy (on two cores this is most of their cost otherwise).
pub struct BackgroundSha256 {
    chunks: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    /// Buffers the worker is done with, to be filled again: fresh multi-MiB
    /// allocations would cost a page fault per 4 KiB each time.
    spent: std::sync::mpsc::Receiver<Vec<u8>>,
    worker: Option<std::thread::JoinHandle<String>>,
}

impl BackgroundSha256 {
    pub fn new() -> Self {
        // Two chunks queued (8 MiB with pass_hashed's 4 MiB chunks) keep the
        // hasher fed; eight let a starved hasher hold 36 MiB per stream (78
        // MiB peak RSS splitting a 5 GB bundle two parts at a time, under
        // load: bench/scale.sh --large).
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(2);
        let (spent_tx, spent) = std::sync::mpsc::channel::<Vec<u8>>();
        let worker = std::thread::spawn(move || {
            let mut hasher = Sha256::new();
            for chunk in rx {
                hasher.update(&chunk);
                let _ = spent_tx.send(chunk);
            }
            hex::encode(hasher.finalize())
        });
        BackgroundSha256 { chunks: Some(tx), spent, worker: Some(worker) }
    }

    /// A buffer of `len` bytes to fill and pass to `update_owned`, reused
    /// when the worker has one back.
    pub fn buffer(&self, len: usize) -> Vec<u8> {
        let mut buf = self.spent.try_recv().unwrap_or_default();
        buf.resize(len, 0);
        buf
    }

    pub fn update(&mut self, bytes: &[u8]) {
        let mut buf = self.buffer(0);
        buf.extend_from_slice(bytes);
        self.update_owned(buf);
    }

    /// `update` without a copy, for a buffer the caller is done with.
    pub fn update_owned(&mut self, bytes: Vec<u8>) {
        if let Some(tx) = &self.chunks {
            // A send fails only if the worker died, which finish() reports.
            let _ = tx.send(bytes);
        }
    }

    /// The hex digest of everything passed to `update`.
    pub fn finish(mut self) -> String {
        self.chunks.take();
        self.worker.take().expect("finished once").join().expect("the hashing thread does not panic")
    }
}

/// Dropped unfinished (a read failed part way), the worker is told to stop
/// and waited for, rather than left running detached: the fuzzer's leak
/// check once caught such a thread's buffers still alive after the input
/// that started it (`part_headers`, docs/fuzzing.md).
impl Drop for BackgroundSha256 {
    fn drop(&mut self) {
        self.chunks.take();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

impl Default for BackgroundSha256 {
    fn default() -> Self {
        Self::new()
    }
}

/// A part whose content does not hash to what its header says.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{} (part {index} of {count}) is corrupt: its content hashes to {actual}, its header says {expected}; copy it again", path.display())]
pub struct CorruptPart {
    pub path: PathBuf,
    pub index: u32,
    pub count: u32,
    pub actual: String,
    pub expected: String,
}

pub struct PartsReader {
    parts: Vec<Part>,
    pos: u64,
    /// The open part: its index and file, positioned at `pos`.
    open: Option<(usize, File)>,
    /// While reading straight from the start: the part being hashed.
    hashing: Option<(usize, BackgroundSha256)>,
}

impl PartsReader {
    fn part_at(&self, pos: u64) -> Option<usize> {
        self.parts.iter().position(|p| pos >= p.header.offset && pos < p.header.offset + p.header.length)
    }
}

impl Read for PartsReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let Some(index) = self.part_at(self.pos) else { return Ok(0) };
        let part = &self.parts[index];
        if self.open.as_ref().is_none_or(|(i, _)| *i != index) {
            let mut file = File::open(&part.path)?;
            file.seek(SeekFrom::Start(PART_HEADER_SIZE + self.pos - part.header.offset))?;
            self.open = Some((index, file));
        }
        let left = part.header.offset + part.header.length - self.pos;
        let want = buf.len().min(left as usize);
        let (_, file) = self.open.as_mut().expect("opened above");
        let n = file.read(&mut buf[..want])?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("{} ends early", part.path.display()),
            ));
        }
        if let Some((hashed, hasher)) = &mut self.hashing {
            if *hashed == index {
                hasher.update(&buf[..n]);
                if n as u64 == left {
                    let actual = std::mem::take(hasher).finish();
                    if actual != part.header.sha256 {
                        return Err(std::io::Error::other(CorruptPart {
                            path: part.path.clone(),
                            index: part.header.index,
                            count: part.header.count,
                            actual,
                            expected: part.header.sha256.clone(),
                        }));
                    }
                    *hashed += 1;
                }
            }
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for PartsReader {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let total = self.parts.last().map_or(0, |p| p.header.offset + p.header.length);
        let new = match to {
            SeekFrom::Start(n) => n as i128,
            SeekFrom::End(n) => total as i128 + n as i128,
            SeekFrom::Current(n) => self.pos as i128 + n as i128,
        };
        if new < 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start"));
        }
        if new as u64 != self.pos {
            // Random access: part checksums are checked only on a straight read.
            self.hashing = None;
            self.open = None;
            self.pos = new as u64;
        }
        Ok(self.pos)
    }
}

/// Cut points for parts of at most `max` bytes: tar entry boundaries where
/// an entry fits, inside an entry only when it alone is larger than `max`.
/// `entries` are (offset of the header, end of the padded data).
pub fn plan_cuts(entries: &[(u64, u64)], total: u64, max: u64) -> Vec<(u64, u64)> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut end = 0;
    let mut boundaries: Vec<u64> = entries.iter().map(|(_, e)| *e).collect();
    boundaries.push(total);
    for b in boundaries {
        while b - start > max {
            if end > start {
                parts.push((start, end - start));
                start = end;
            } else {
                parts.push((start, max));
                start += max;
                end = start;
            }
        }
        end = b;
    }
    if end > start {
        parts.push((start, end - start));
    }
    parts
}

/// Writes the bundle read from `source` as the parts `cuts` (offset and
/// length each, from `plan_cuts`; each part adds the 1 KiB header) into
/// `dir`; returns the part paths. A part is written
/// to a temp name, synced and renamed. From a whole bundle two parts are
/// written at a time: hashing one stream is bound to one core, and hashing
/// is most of the work (measured with bench/split_copy.sh).
pub fn split(
    source: &Source,
    cuts: &[(u64, u64)],
    bundle: &Digest,
    stem: &str,
    dir: &Path,
    on_bytes: &(dyn Fn(u64) + Sync),
) -> Result<Vec<PathBuf>> {
    let total = source.len()?;
    let count = cuts.len() as u32;
    let paths: Vec<PathBuf> = (1..=count).map(|index| dir.join(part_name(stem, index, count))).collect();
    let header = |i: usize| PartHeader {
        airlock_part: 1,
        bundle: bundle.clone(),
        bundle_size: total,
        index: i as u32 + 1,
        count,
        offset: cuts[i].0,
        length: cuts[i].1,
        sha256: String::new(),
    };
    match source {
        Source::Whole(_) => two_at_a_time(cuts.len(), |i| {
            let mut reader = source.reader()?;
            reader.seek(SeekFrom::Start(cuts[i].0)).map_err(io_err(source.path()))?;
            write_part(&mut reader, source, header(i), &paths[i], on_bytes)
        })?,
        // Parts being cut again are read straight through, one reader, so
        // that every one of them is checked against its own sha256.
        Source::Parts(_) => {
            let mut reader = source.reader()?;
            for (i, path) in paths.iter().enumerate() {
                write_part(&mut reader, source, header(i), path, on_bytes)?;
            }
        }
    }
    Ok(paths)
}

/// Runs `job(0..count)` on two threads (one where there is one core). The
/// first failure stops the other thread from starting another job, and is
/// returned.
pub(super) fn two_at_a_time(count: usize, job: impl Fn(usize) -> Result<()> + Sync) -> Result<()> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let (next, failed) = (AtomicUsize::new(0), AtomicBool::new(false));
    let work = || -> Result<()> {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= count || failed.load(Ordering::Relaxed) {
                return Ok(());
            }
            job(i).inspect_err(|_| failed.store(true, Ordering::Relaxed))?;
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 2);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads).map(|_| scope.spawn(work)).collect();
        handles.into_iter().map(|h| h.join().expect("a worker does not panic")).collect::<Result<Vec<()>>>()
    })?;
    Ok(())
}

/// Passes `length` bytes of `reader` to `write`, in chunks of 4 MiB hashed
/// on a helper thread as they go; returns their sha256 in hex. A failed
/// read is reported through `read_failed`.
pub(super) fn pass_hashed(
    reader: &mut impl Read,
    length: u64,
    read_failed: impl Fn(std::io::Error) -> BundleError,
    mut write: impl FnMut(&[u8]) -> Result<()>,
) -> Result<String> {
    const CHUNK: usize = 4 << 20;
    let mut hasher = BackgroundSha256::new();
    let mut left = length;
    while left > 0 {
        let want = CHUNK.min(left as usize);
        let mut chunk = hasher.buffer(want);
        reader.read_exact(&mut chunk).map_err(&read_failed)?;
        write(&chunk)?;
        hasher.update_owned(chunk);
        left -= want as u64;
    }
    Ok(hasher.finish())
}

/// One part: `header`'s range of the bundle, read from `reader` (placed at
/// its start) and hashed as it is written; the header (with that hash)
/// goes in last.
fn write_part(
    reader: &mut SourceReader,
    source: &Source,
    mut header: PartHeader,
    path: &Path,
    on_bytes: &dyn Fn(u64),
) -> Result<()> {
    let dir = path.parent().expect("a part path");
    let tmp = crate::atomic_file::result_temp_in(dir, ".airlock-part-").map_err(io_err(dir))?;
    let mut file = tmp.as_file();
    file.write_all(&vec![b' '; PART_HEADER_SIZE as usize]).map_err(io_err(path))?;
    let mut writeback = crate::writeback::Writeback::default();
    let mut end = PART_HEADER_SIZE;
    header.sha256 = pass_hashed(
        reader,
        header.length,
        |e| io_err(source.path())(e),
        |chunk| {
            file.write_all(chunk).map_err(io_err(path))?;
            end += chunk.len() as u64;
            writeback.wrote(file, end);
            on_bytes(chunk.len() as u64);
            Ok(())
        },
    )?;
    file.seek(SeekFrom::Start(0)).map_err(io_err(path))?;
    file.write_all(&encode_header(&header)).map_err(io_err(path))?;
    file.sync_all().map_err(io_err(path))?;
    crate::atomic_file::persist_durably(tmp, path).map_err(io_err(path))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::plan_cuts;

    #[test]
    fn cuts_fall_between_entries_unless_one_is_too_big() {
        // Entries end at 100, 250, 300, 1000; the archive ends at 1024.
        let entries = [(0, 100), (100, 250), (250, 300), (300, 1000)];
        assert_eq!(plan_cuts(&entries, 1024, 300), vec![(0, 300), (300, 300), (600, 300), (900, 124)]);
        assert_eq!(plan_cuts(&entries, 1024, 2000), vec![(0, 1024)]);
        assert_eq!(plan_cuts(&entries, 1024, 260), vec![(0, 250), (250, 50), (300, 260), (560, 260), (820, 204)]);
    }
}

//! Copying a bundle, or its parts, to removable media (or back) in one pass
//! that also verifies it: a whole bundle's bytes feed the bundle verifier
//! (every blob digest) while they are written; parts are checked against
//! the sha256 in their headers. An interrupted copy resumes: what the
//! destination already holds is read and compared, and only bytes from the
//! first difference on are written. Files are written as `NAME.partial`,
//! synced, and renamed to `NAME` once complete, so a finished name always
//! holds a whole file.

use super::parts::{Source, PART_HEADER_SIZE};
use super::verify::{verify_stream, VerifyReport};
use super::{io_err, Result};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

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

/// One destination file: where its bytes start in the bundle's stream.
struct Target {
    final_path: PathBuf,
    /// Bytes before the stream's bytes (a part's header), written first.
    header: Vec<u8>,
    stream_offset: u64,
    stream_length: u64,
}

/// A test hook: `AIRLOCK_FAULT_ABORT_AFTER_BYTES=N` aborts the process once
/// N bytes have been written, as a pulled plug or a kill would.
fn abort_after() -> Option<u64> {
    std::env::var("AIRLOCK_FAULT_ABORT_AFTER_BYTES").ok().and_then(|v| v.parse().ok())
}

pub fn copy(source: &Source, dest_dir: &Path, on_progress: &mut dyn FnMut(u64)) -> Result<CopyReport> {
    std::fs::create_dir_all(dest_dir).map_err(io_err(dest_dir))?;

    let targets: Vec<Target> = match &source {
        Source::Whole(path) => vec![Target {
            final_path: dest_dir.join(path.file_name().unwrap_or_default()),
            header: Vec::new(),
            stream_offset: 0,
            stream_length: source.len()?,
        }],
        Source::Parts(parts) => parts
            .iter()
            .map(|p| -> Result<Target> {
                let mut header = vec![0u8; PART_HEADER_SIZE as usize];
                File::open(&p.path).and_then(|mut f| f.read_exact(&mut header)).map_err(io_err(&p.path))?;
                Ok(Target {
                    final_path: dest_dir.join(p.path.file_name().unwrap_or_default()),
                    header,
                    stream_offset: p.header.offset,
                    stream_length: p.header.length,
                })
            })
            .collect::<Result<_>>()?,
    };
    let total_bytes = targets.iter().map(|t| t.header.len() as u64 + t.stream_length).sum();
    let mut tee = Tee {
        inner: source.reader()?,
        targets,
        current: None,
        pos: 0,
        report: CopyReport { total_bytes, ..Default::default() },
        abort_after: abort_after(),
    };
    // Parts carry their own sha256, checked as they are read: that is the
    // check of every byte here (one hash, not two). A whole bundle has no
    // such checksum, so its blobs are checked against their digests.
    let verify = match &source {
        Source::Parts(_) => {
            let mut buf = vec![0u8; 1 << 20];
            loop {
                match tee.read(&mut buf).map_err(io_err(source.path()))? {
                    0 => break,
                    n => on_progress(n as u64),
                }
            }
            VerifyReport::default()
        }
        Source::Whole(_) => verify_stream(&mut tee, source.path(), on_progress)?,
    };
    // The verifier stops at the end-of-archive blocks; copy what follows too.
    std::io::copy(&mut tee, &mut std::io::sink()).map_err(io_err(source.path()))?;
    tee.finish_current()?;
    File::open(dest_dir).and_then(|d| d.sync_all()).map_err(io_err(dest_dir))?;
    let mut report = tee.report;
    report.files = tee.targets.iter().map(|t| t.final_path.clone()).collect();
    report.verify = verify;
    Ok(report)
}

fn partial_path(final_path: &Path) -> PathBuf {
    let mut name = final_path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    final_path.with_file_name(name)
}

/// The destination file being filled.
struct Open {
    index: usize,
    file: File,
    path: PathBuf,
    /// Bytes of the existing file still to compare before writing.
    comparing: u64,
    /// Position in the file.
    at: u64,
}

struct Tee {
    inner: super::parts::SourceReader,
    targets: Vec<Target>,
    current: Option<Open>,
    pos: u64,
    report: CopyReport,
    abort_after: Option<u64>,
}

impl Tee {
    fn target_at(&self, pos: u64) -> Option<usize> {
        self.targets.iter().position(|t| pos >= t.stream_offset && pos < t.stream_offset + t.stream_length)
    }

    /// Opens target `index` at its start: an existing complete or partial
    /// copy is kept for comparison, then its header is checked or written.
    fn open_target(&mut self, index: usize) -> std::io::Result<()> {
        let target = &self.targets[index];
        let partial = partial_path(&target.final_path);
        // A finished file from an earlier run is compared like a partial one.
        if !partial.exists() && target.final_path.exists() {
            std::fs::rename(&target.final_path, &partial)?;
        }
        let file = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&partial)?;
        let existing = file.metadata()?.len();
        let mut open = Open { index, file, path: partial, comparing: existing, at: 0 };
        let header = target.header.clone();
        Self::put(&mut open, &header, &mut self.report, self.abort_after)?;
        self.current = Some(open);
        Ok(())
    }

    /// Compares `bytes` with what the file holds at `open.at`, and writes
    /// from the first difference on (cutting the old rest off).
    fn put(open: &mut Open, bytes: &[u8], report: &mut CopyReport, abort_after: Option<u64>) -> std::io::Result<()> {
        let mut same = 0;
        if open.comparing > 0 {
            let n = (open.comparing as usize).min(bytes.len());
            let mut existing = vec![0u8; n];
            open.file.seek(SeekFrom::Start(open.at))?;
            open.file.read_exact(&mut existing)?;
            same = existing.iter().zip(bytes).take_while(|(a, b)| a == b).count();
            open.comparing -= same as u64;
            if same < n {
                open.comparing = 0;
            }
            report.reused_bytes += same as u64;
            open.at += same as u64;
        }
        if same < bytes.len() {
            if open.comparing == 0 {
                open.file.set_len(open.at)?;
            }
            open.file.seek(SeekFrom::Start(open.at))?;
            let rest = &bytes[same..];
            if let Some(limit) = abort_after {
                if report.written_bytes + rest.len() as u64 >= limit {
                    let cut = (limit - report.written_bytes.min(limit)) as usize;
                    open.file.write_all(&rest[..cut.min(rest.len())])?;
                    open.file.sync_all()?;
                    std::process::abort();
                }
            }
            open.file.write_all(rest)?;
            open.at += rest.len() as u64;
            report.written_bytes += rest.len() as u64;
        }
        Ok(())
    }

    fn finish_current(&mut self) -> Result<()> {
        if let Some(open) = self.current.take() {
            let target = &self.targets[open.index];
            open.file.set_len(open.at).map_err(io_err(&open.path))?;
            open.file.sync_all().map_err(io_err(&open.path))?;
            std::fs::rename(&open.path, &target.final_path).map_err(io_err(&target.final_path))?;
        }
        Ok(())
    }
}

impl Read for Tee {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let Some(index) = self.target_at(self.pos) else {
            return Ok(0);
        };
        if self.current.as_ref().is_none_or(|o| o.index != index) {
            self.finish_current().map_err(std::io::Error::other)?;
            self.open_target(index)?;
        }
        let target = &self.targets[index];
        let left = target.stream_offset + target.stream_length - self.pos;
        let want = buf.len().min(left as usize);
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Ok(0);
        }
        let open = self.current.as_mut().expect("opened above");
        Self::put(open, &buf[..n], &mut self.report, self.abort_after)?;
        self.pos += n as u64;
        Ok(n)
    }
}

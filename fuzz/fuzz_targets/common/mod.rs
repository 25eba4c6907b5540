//! Helpers shared by the fuzz targets.

use std::path::PathBuf;
use std::sync::OnceLock;

/// `name` in a temporary directory made once per process (each target is
/// a process of its own), removed when the process ends: the file a target
/// writes its input to.
#[allow(dead_code)]
pub fn scratch_path(name: &str) -> &'static PathBuf {
    static DIR: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, path) = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(name);
        (dir, path)
    });
    path
}

/// Rewrites the checksum of every tar header in `data`, walking the
/// archive as a reader would (a header, its data rounded up to 512-byte
/// blocks, the next header), so that mutated headers get past the checksum
/// check to the code behind it. Stops at an all-zero block, at the end, or
/// at a size that points past the end.
#[allow(dead_code)]
pub fn fix_tar_checksums(data: &mut [u8]) {
    let mut pos = 0usize;
    while let Some(block) = data.get_mut(pos..pos.saturating_add(512)) {
        if block.iter().all(|&b| b == 0) {
            return;
        }
        block[148..156].fill(b' ');
        let sum: u32 = block.iter().map(|&b| u32::from(b)).sum();
        block[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        let Some(size) = tar_size(&block[124..136]) else { return };
        let Some(next) = size.div_ceil(512).checked_mul(512).and_then(|s| s.checked_add(pos as u64 + 512)) else {
            return;
        };
        match usize::try_from(next) {
            Ok(next) if next <= data.len() => pos = next,
            _ => return,
        }
    }
}

/// A tar size field: octal text, or base-256 when the high bit is set.
fn tar_size(field: &[u8]) -> Option<u64> {
    if field[0] & 0x80 != 0 {
        let mut n: u64 = 0;
        for &b in &field[4..] {
            n = (n << 8) | u64::from(b);
        }
        return Some(n);
    }
    let text = std::str::from_utf8(field).ok()?;
    let digits = text.trim_matches(|c: char| c == ' ' || c == '\0');
    if digits.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(digits, 8).ok()
}

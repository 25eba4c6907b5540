//! Starting disk writeback while a large file is still being written, so
//! the fsync that makes it durable at its end finds little left to do.
//! `split` and `copy` fsync each part before naming it; without this the
//! whole part was written back at that moment, stalling reading and hashing
//! (measured with bench/split_copy.sh). Only starts writeback: it neither
//! waits for it nor reports errors, which the final fsync still does.
//!
//! The call is `posix_fadvise(DONTNEED)`: on Linux it starts writeback of
//! the range's dirty pages without waiting and drops the pages already
//! clean. (`sync_file_range` would be the direct call, but rustix does not
//! offer it and this crate forbids `unsafe`.) Dropping them also keeps a
//! multi-gigabyte copy from pushing everything else out of the page cache.

use rustix::fs::{fadvise, Advice};
use std::fs::File;
use std::num::NonZeroU64;

/// Writeback is started once this many bytes wait.
const STEP: u64 = 8 << 20;

#[derive(Default)]
pub struct Writeback {
    started_to: u64,
}

impl Writeback {
    /// Notes that `file` now holds data up to `end`.
    pub fn wrote(&mut self, file: &File, end: u64) {
        if end < self.started_to + STEP {
            return;
        }
        let _ = fadvise(file, self.started_to, NonZeroU64::new(end - self.started_to), Advice::DontNeed);
        self.started_to = end;
    }
}

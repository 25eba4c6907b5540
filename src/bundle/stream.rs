//! A blob's bytes as an async stream for an HTTP body (push uploads, serve
//! downloads), read on a blocking thread in buffers of up to 512 KiB that are
//! handed on as they are (no copy, no zeroing). Callers choose the reader
//! and check what passes; this knows nothing about HTTP or registries.

use std::io::Read;

/// Reads what `open` gives until its end. `check` sees every chunk
/// (`Some`) and then the end (`None`); an error from it, from `open` or
/// from a read ends the stream with that error.
pub fn read_in_background(
    open: impl FnOnce() -> std::io::Result<Box<dyn Read + Send>> + Send + 'static,
    mut check: impl FnMut(Option<&[u8]>) -> std::io::Result<()> + Send + 'static,
) -> impl futures_util::Stream<Item = std::io::Result<bytes::Bytes>> + Send + 'static {
    // What one stream holds is about four chunks (queued, in hand, being
    // read): with 8 uploads at once that is 16 MiB. 1 MiB chunks and a
    // queue of 4 cost push 56 MiB of RSS for no measurable speed.
    const CHUNK: u64 = 1 << 19;
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<bytes::Bytes>>(2);
    tokio::task::spawn_blocking(move || {
        let result = (|| -> std::io::Result<()> {
            let mut reader = open()?;
            loop {
                let mut buf = Vec::with_capacity(CHUNK as usize);
                // read_to_end fills spare capacity without zeroing it first.
                (&mut reader).take(CHUNK).read_to_end(&mut buf)?;
                if buf.is_empty() {
                    return check(None);
                }
                check(Some(&buf))?;
                if tx.blocking_send(Ok(bytes::Bytes::from(buf))).is_err() {
                    return Ok(()); // the receiver is gone
                }
            }
        })();
        if let Err(e) = result {
            let _ = tx.blocking_send(Err(e));
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) })
}

//! Capturing a script's stdout and stderr into the run log: secret values
//! masked, total size capped, and the pipes always drained so a chatty script
//! never blocks on a full pipe.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

pub use crate::secrets::Masker;

/// Shared state of the two pipe readers writing into one log.
#[derive(Debug)]
pub struct LogSink<W> {
    pub writer: W,
    pub written: u64,
    pub dropped: u64,
    pub cap: u64,
    /// The last stderr lines (masked), for error messages.
    pub stderr_tail: std::collections::VecDeque<String>,
}

pub type SharedSink<W> = Arc<Mutex<LogSink<W>>>;

/// Longest piece of a line we buffer before writing it out in parts.
const MAX_PIECE: usize = 64 * 1024;

/// Reads one pipe to its end, writing masked lines to the sink.
pub async fn pump<R, W>(mut reader: R, sink: SharedSink<W>, masker: Masker, prefix: &'static str)
where
    R: AsyncRead + Unpin,
    W: std::io::Write,
{
    let mut pending: Vec<u8> = Vec::with_capacity(8192);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        pending.extend_from_slice(&chunk[..n]);
        // Emit every complete line; keep the rest for the next read.
        let mut start = 0;
        while let Some(pos) = pending[start..].iter().position(|b| *b == b'\n') {
            let end = start + pos + 1;
            emit(&sink, &masker, prefix, &pending[start..end]);
            start = end;
        }
        pending.drain(..start);
        // A very long line is written in pieces: masked first, then all but
        // the last (longest secret - 1) bytes go out, so a secret cut by the
        // end of what was read so far is still whole when it is masked.
        if pending.len() > MAX_PIECE {
            let masked = masker.mask(&String::from_utf8_lossy(&pending)).into_bytes();
            let keep = masker.longest().saturating_sub(1);
            let cut = floor_char_boundary(&masked, masked.len() - keep.min(masked.len()));
            emit(&sink, &masker, prefix, &masked[..cut]);
            pending = masked[cut..].to_vec();
        }
    }
    if !pending.is_empty() {
        emit(&sink, &masker, prefix, &pending);
    }
}

fn floor_char_boundary(bytes: &[u8], mut i: usize) -> usize {
    while i > 0 && i < bytes.len() && (bytes[i] & 0b1100_0000) == 0b1000_0000 {
        i -= 1;
    }
    i
}

fn emit<W: std::io::Write>(sink: &SharedSink<W>, masker: &Masker, prefix: &str, bytes: &[u8]) {
    let text = masker.mask(&String::from_utf8_lossy(bytes));
    let Ok(mut s) = sink.lock() else { return };
    if prefix == "[stderr] " {
        let line = text.trim_end().to_string();
        if !line.is_empty() {
            if s.stderr_tail.len() == 20 {
                s.stderr_tail.pop_front();
            }
            s.stderr_tail.push_back(line);
        }
    }
    let size = (prefix.len() + text.len()) as u64;
    if s.written + size > s.cap {
        s.dropped += text.len() as u64;
        return;
    }
    s.written += size;
    let _ = s.writer.write_all(prefix.as_bytes());
    let _ = s.writer.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = s.writer.write_all(b"\n");
    }
}

/// Writes all of `data` to a child's stdin and closes it; a script that
/// never reads stdin (or exits early) is not an error.
pub async fn feed_stdin<W: AsyncWrite + Unpin>(mut stdin: W, data: Vec<u8>) {
    let _ = stdin.write_all(&data).await;
    let _ = stdin.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::MASK;

    #[test]
    fn secrets_are_masked_raw_and_json_escaped() {
        let m = Masker::new(["p\"w/1".to_string(), "tok".to_string()]);
        assert_eq!(
            m.mask(r#"a p"w/1 b "p\"w/1" tok"#),
            format!("a {MASK} b \"{MASK}\" {MASK}")
        );
    }

    #[test]
    fn a_short_secret_is_masked_as_a_word_only() {
        let m = Masker::new(["a".to_string(), "p-1".to_string()]);
        let text = "password a loaded; data is safe; p-1 used, p-10 not";
        assert_eq!(
            m.mask(text),
            format!("password {MASK} loaded; data is safe; {MASK} used, p-10 not")
        );
        // The mask is the same whatever the secret's length.
        let long = Masker::new(["a-much-longer-secret".to_string()]);
        assert_eq!(long.mask("x a-much-longer-secret y"), format!("x {MASK} y"));
    }

    #[tokio::test]
    async fn long_lines_are_split_without_leaking_a_secret() {
        let secret = "S3CRET-VALUE".to_string();
        let masker = Masker::new([secret.clone()]);
        let mut line = "x".repeat(MAX_PIECE + 5);
        line.push_str(&secret);
        line.push_str(&"y".repeat(MAX_PIECE));
        let sink = Arc::new(Mutex::new(LogSink {
            writer: Vec::new(),
            written: 0,
            dropped: 0,
            cap: u64::MAX,
            stderr_tail: Default::default(),
        }));
        pump(line.as_bytes(), sink.clone(), masker, "").await;
        let out = String::from_utf8(sink.lock().unwrap().writer.clone()).unwrap();
        assert!(!out.contains(&secret));
        assert!(out.contains(MASK));
    }
}

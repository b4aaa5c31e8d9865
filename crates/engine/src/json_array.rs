//! Streaming a top-level JSON array element by element, in bounded memory.
//!
//! A script's output can hold millions of records. We read the file in
//! chunks and find each element's bytes with a small scanner (strings,
//! escapes and nesting depth only; inside an object 64 bytes at a time, see
//! [`Structure`]); the caller parses each element on its own, which is
//! several times faster than parsing from a reader.

use std::io::Read;

/// Why the output file is not a JSON array of records.
#[derive(Debug, thiserror::Error)]
pub enum ArrayError {
    #[error("the output file is empty; a JSON array of records is expected")]
    Empty,
    #[error("the output file does not start with '[' (found '{0}'); a JSON array of records is expected")]
    NotAnArray(char),
    #[error("the output file ends inside record {0}; the JSON array is incomplete")]
    Truncated(u64),
    #[error("unexpected '{found}' after record {record}; records must be separated by commas")]
    Separator { record: u64, found: char },
    #[error("unexpected text after the closing ']'")]
    TrailingText,
    #[error("cannot read the output file: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Debug)]
pub struct ArrayReader<R> {
    reader: R,
    /// Read bytes are `buf[..end]`; the rest is room for the next read,
    /// kept initialized so that a read does not zero it first.
    buf: Vec<u8>,
    end: usize,
    /// Start of unconsumed bytes in `buf`.
    pos: usize,
    eof: bool,
    started: bool,
    finished: bool,
    /// Elements returned so far.
    count: u64,
    /// Every byte goes through the byte-wise scanner (tests compare the two).
    bytewise: bool,
}

const CHUNK: usize = 1 << 20;

impl<R: Read> ArrayReader<R> {
    pub fn new(reader: R) -> Self {
        ArrayReader {
            reader,
            buf: Vec::new(),
            end: 0,
            pos: 0,
            eof: false,
            started: false,
            finished: false,
            count: 0,
            bytewise: false,
        }
    }

    /// Reads more bytes, dropping consumed ones. Returns false at end of file.
    fn fill(&mut self) -> Result<bool, ArrayError> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        // Grows only for an element larger than what the buffer holds.
        if self.buf.len() < self.end + CHUNK {
            self.buf.resize(self.end + CHUNK, 0);
        }
        let n = loop {
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        };
        self.end += n;
        if n == 0 {
            self.eof = true;
        }
        Ok(n > 0)
    }

    /// Skips whitespace; returns the next byte without consuming it.
    fn peek_significant(&mut self) -> Result<Option<u8>, ArrayError> {
        loop {
            while self.pos < self.end {
                let b = self.buf[self.pos];
                // A UTF-8 byte order mark before the array is tolerated.
                if !self.started && self.buf[self.pos..self.end].starts_with(&[0xEF, 0xBB, 0xBF]) {
                    self.pos += 3;
                    continue;
                }
                if b.is_ascii_whitespace() {
                    self.pos += 1;
                } else {
                    return Ok(Some(b));
                }
            }
            if !self.fill()? {
                return Ok(None);
            }
        }
    }

    /// The next element's bytes, or `None` after the closing bracket.
    pub fn next_element(&mut self) -> Result<Option<&[u8]>, ArrayError> {
        if self.finished {
            return Ok(None);
        }
        if !self.started {
            match self.peek_significant()? {
                None => return Err(ArrayError::Empty),
                Some(b'[') => {
                    self.pos += 1;
                    self.started = true;
                }
                Some(b) => return Err(ArrayError::NotAnArray(b as char)),
            }
        } else {
            match self.peek_significant()? {
                Some(b',') => self.pos += 1,
                Some(b']') => return self.finish(),
                Some(b) => {
                    return Err(ArrayError::Separator {
                        record: self.count,
                        found: b as char,
                    })
                }
                None => return Err(ArrayError::Truncated(self.count)),
            }
        }
        match self.peek_significant()? {
            Some(b']') if self.count == 0 => return self.finish(),
            None => return Err(ArrayError::Truncated(self.count + 1)),
            _ => {}
        }
        // Scan one value: track strings and nesting; a scalar ends at , ] or whitespace.
        let mut start = self.pos;
        let mut i = start;
        let mut at = Structure::default();
        // A block that is not plain JSON sends the rest of the element byte by byte.
        let mut bytewise = self.bytewise;
        loop {
            // Inside an object or array, 64 bytes at a time (most of the work of a big output).
            if at.depth > 0 && !bytewise && self.end - i >= BLOCK {
                let (used, end) = at.blocks(&self.buf[i..self.end]);
                i += used;
                if end {
                    break;
                }
                // Fewer than 64 bytes left (read more, or finish byte by byte), or an odd block.
                bytewise = self.end - i >= BLOCK;
            }
            if i >= self.end {
                let consumed = i - start;
                // fill() moves unconsumed bytes to the front; keep our offsets relative.
                self.pos = start;
                if !self.fill()? {
                    if at.depth == 0 && !at.in_string && consumed > 0 {
                        break;
                    }
                    return Err(ArrayError::Truncated(self.count + 1));
                }
                start = self.pos;
                i = start + consumed;
                continue;
            }
            let b = self.buf[i];
            if at.in_string {
                if at.escaped {
                    at.escaped = false;
                } else if b == b'\\' {
                    at.escaped = true;
                } else if b == b'"' {
                    at.in_string = false;
                    if at.depth == 0 {
                        i += 1;
                        break;
                    }
                } else {
                    // A string the blocks did not cover: jump to the next quote or backslash.
                    match memchr::memchr2(b'"', b'\\', &self.buf[i..self.end]) {
                        Some(n) => i += n,
                        None => i = self.end,
                    }
                    continue;
                }
            } else {
                match b {
                    b'"' => at.in_string = true,
                    b'{' | b'[' => at.depth += 1,
                    b'}' | b']' if at.depth > 0 => {
                        at.depth -= 1;
                        if at.depth == 0 {
                            i += 1;
                            break;
                        }
                    }
                    b',' | b']' | b' ' | b'\n' | b'\r' | b'\t' if at.depth == 0 => break,
                    _ => {}
                }
            }
            i += 1;
        }
        let begin = self.pos;
        self.pos = i;
        self.count += 1;
        Ok(Some(&self.buf[begin..i]))
    }

    fn finish(&mut self) -> Result<Option<&[u8]>, ArrayError> {
        self.pos += 1;
        self.finished = true;
        if self.peek_significant()?.is_some() {
            return Err(ArrayError::TrailingText);
        }
        Ok(None)
    }
}

/// Bytes [`Structure::blocks`] looks at together.
const BLOCK: usize = 64;

/// Where the scan of an element stands after a byte: nesting depth, and
/// whether the byte is inside a string, and escaped by a backslash.
#[derive(Debug, Clone, Copy, Default)]
struct Structure {
    depth: i64,
    in_string: bool,
    escaped: bool,
}

impl Structure {
    /// Scans whole 64-byte blocks of `bytes`, where a byte-wise scan
    /// would stand at `self`, until the element closes: (bytes used, closed).
    /// Each block is reduced to bit masks (SIMD compares: quotes,
    /// backslashes, opening and closing brackets); which bytes lie inside
    /// strings is a running XOR of the unescaped quotes, so only the few
    /// brackets outside strings are looked at one by one. A block with a
    /// backslash outside a string (not JSON) is left unused: the byte-wise
    /// scan decides what such a text is, as it always did.
    fn blocks(&mut self, bytes: &[u8]) -> (usize, bool) {
        let mut used = 0;
        for block in bytes.chunks_exact(BLOCK) {
            let [quotes, backslashes, opens, closes] = classes(block);
            let mut escaped_next = self.escaped;
            let escaped = escaped_bytes(backslashes, &mut escaped_next);
            let carry = if self.in_string { u64::MAX } else { 0 };
            let inside = prefix_xor(quotes & !escaped) ^ carry;
            if backslashes & !inside != 0 {
                return (used, false);
            }
            // Only brackets outside strings count.
            let mut rest = (opens | closes) & !inside;
            while rest != 0 {
                let at = rest.trailing_zeros();
                if opens & (1 << at) != 0 {
                    self.depth += 1;
                } else {
                    self.depth -= 1;
                    if self.depth == 0 {
                        return (used + at as usize + 1, true);
                    }
                }
                rest &= rest - 1;
            }
            self.in_string = inside >> 63 == 1;
            self.escaped = escaped_next;
            used += BLOCK;
        }
        (used, false)
    }
}

/// Bit i set where byte i of the block is a quote; a backslash; `{` or `[`; `}` or `]`.
fn classes(block: &[u8]) -> [u64; 4] {
    use wide::u8x16;
    let mut masks = [0u64; 4];
    for (k, lane) in block.chunks_exact(16).enumerate() {
        let bytes: [u8; 16] = lane.try_into().unwrap_or_default();
        let v = u8x16::from(bytes);
        // `{` and `[` differ in the 0x20 bit alone, as do `}` and `]`.
        let folded = v | u8x16::splat(0x20);
        let found = [
            v.simd_eq(u8x16::splat(b'"')),
            v.simd_eq(u8x16::splat(b'\\')),
            folded.simd_eq(u8x16::splat(b'{')),
            folded.simd_eq(u8x16::splat(b'}')),
        ];
        for (mask, f) in masks.iter_mut().zip(found) {
            *mask |= u64::from(f.to_bitmask()) << (16 * k);
        }
    }
    masks
}

/// The bytes escaped by a backslash, left to right: a backslash that is not
/// itself escaped escapes the byte after it. `carry`: the block's first byte
/// is escaped (on entry), the next block's is (on return). Backslashes are
/// rare, so they are walked one by one.
fn escaped_bytes(backslashes: u64, carry: &mut bool) -> u64 {
    let mut escaped = 0u64;
    let mut rest = backslashes;
    if *carry {
        escaped |= 1;
        rest &= !1;
    }
    *carry = false;
    while rest != 0 {
        let at = rest.trailing_zeros();
        rest &= rest - 1;
        if at == 63 {
            *carry = true;
        } else {
            escaped |= 1 << (at + 1);
            rest &= !(1 << (at + 1));
        }
    }
    escaped
}

/// Bit i is the XOR of bits 0..=i: set from an opening quote up to the byte
/// before its closing one.
fn prefix_xor(mut x: u64) -> u64 {
    for shift in [1, 2, 4, 8, 16, 32] {
        x ^= x << shift;
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str) -> Result<Vec<String>, ArrayError> {
        let mut r = ArrayReader::new(text.as_bytes());
        let mut out = Vec::new();
        while let Some(e) = r.next_element()? {
            out.push(String::from_utf8(e.to_vec()).unwrap());
        }
        Ok(out)
    }

    #[test]
    fn elements_are_split_with_strings_and_nesting_respected() {
        let v = all("\u{feff} [ {\"a\": \"x],}\\\"\"}, {\"b\": [1, {\"c\": 2}]} , 3, \"s\" ]\n").unwrap();
        assert_eq!(v, [r#"{"a": "x],}\""}"#, r#"{"b": [1, {"c": 2}]}"#, "3", "\"s\""]);
        assert!(all("[]").unwrap().is_empty());
    }

    #[test]
    fn broken_arrays_say_what_is_wrong() {
        assert!(matches!(all(""), Err(ArrayError::Empty)));
        assert!(matches!(all("{\"a\": 1}"), Err(ArrayError::NotAnArray('{'))));
        assert!(matches!(
            all("[{\"a\": 1}, {\"b\": "),
            Err(ArrayError::Truncated(2))
        ));
        assert!(matches!(
            all("[{} {}]"),
            Err(ArrayError::Separator {
                record: 1,
                found: '{'
            })
        ));
        assert!(matches!(all("[{}] x"), Err(ArrayError::TrailingText)));
    }

    /// A reader that hands out a few bytes per call, so that reads end anywhere.
    struct Trickle<'a> {
        text: &'a [u8],
        sizes: std::iter::Cycle<std::iter::Copied<std::slice::Iter<'a, usize>>>,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.sizes.next().unwrap_or(1).min(buf.len()).min(self.text.len());
            buf[..n].copy_from_slice(&self.text[..n]);
            self.text = &self.text[n..];
            Ok(n)
        }
    }

    /// Every element and the final error, as text.
    fn outcome(text: &[u8], sizes: &[usize], bytewise: bool) -> (Vec<Vec<u8>>, String) {
        let mut r = ArrayReader::new(Trickle {
            text,
            sizes: sizes.iter().copied().cycle(),
        });
        r.bytewise = bytewise;
        let mut out = Vec::new();
        loop {
            match r.next_element() {
                Ok(Some(e)) => out.push(e.to_vec()),
                Ok(None) => return (out, String::new()),
                Err(e) => return (out, e.to_string()),
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// The 64-byte blocks find the same elements (and the same errors) as
        /// the byte-wise scan, for any text: quotes, backslash runs and
        /// brackets across block and read boundaries, broken JSON included.
        #[test]
        fn blocks_split_as_bytes_do(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just("\"".to_string()),
                    proptest::strategy::Just("\\".to_string()),
                    proptest::strategy::Just("{".to_string()),
                    proptest::strategy::Just("}".to_string()),
                    proptest::strategy::Just("[".to_string()),
                    proptest::strategy::Just("]".to_string()),
                    proptest::strategy::Just(", ".to_string()),
                    proptest::strategy::Just("{\"k\": \"v\\\\\"\"}, ".to_string()),
                    "[a-z:é ]{1,70}",
                ],
                0..120,
            ),
            sizes in proptest::collection::vec(1usize..200, 1..8),
        ) {
            let text = format!("[{}", parts.concat());
            proptest::prop_assert_eq!(
                outcome(text.as_bytes(), &sizes, false),
                outcome(text.as_bytes(), &sizes, true)
            );
            let closed = format!("[{}]", parts.concat());
            proptest::prop_assert_eq!(
                outcome(closed.as_bytes(), &sizes, false),
                outcome(closed.as_bytes(), &sizes, true)
            );
        }
    }

    #[test]
    fn escapes_and_brackets_in_long_strings_do_not_end_an_element() {
        // Runs of backslashes that end on each side of a 64-byte boundary.
        for pad in 0..70 {
            for run in 1..5 {
                let value = format!("{}{}\"}}]", "x".repeat(pad), "\\".repeat(run));
                let element = format!("{{\"a\": \"{value}\", \"b\": [1, {{\"c\": \"]}}\"}}]}}");
                let text = format!("[{element}, {{\"d\": 2}}]");
                let (blocks, error) = outcome(text.as_bytes(), &[1 << 20], false);
                assert_eq!(
                    (&blocks, &error),
                    (&outcome(text.as_bytes(), &[1 << 20], true).0, &error),
                    "pad {pad} run {run}"
                );
                if run % 2 == 0 {
                    // An even run escapes nothing: the quote after it ends the string.
                    continue;
                }
                assert_eq!((blocks.len(), error.as_str()), (2, ""), "pad {pad} run {run}");
                assert_eq!(blocks[0], element.as_bytes(), "pad {pad} run {run}");
            }
        }
    }

    #[test]
    fn elements_larger_than_a_chunk_are_read_whole() {
        let big = format!("[{{\"v\": \"{}\"}}, {{}}]", "x".repeat(3 * CHUNK));
        let v = all(&big).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].len(), 3 * CHUNK + 9);
    }
}

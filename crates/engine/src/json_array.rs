//! Streaming a top-level JSON array element by element, in bounded memory.
//!
//! A script's output can hold millions of records. We read the file in
//! chunks, find each element's bytes with a small scanner (strings, escapes
//! and nesting depth only), and hand each element to `serde_json::from_slice`,
//! which is several times faster than parsing from a reader.

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
    buf: Vec<u8>,
    /// Start of unconsumed bytes in `buf`.
    pos: usize,
    eof: bool,
    started: bool,
    finished: bool,
    /// Elements returned so far.
    count: u64,
}

const CHUNK: usize = 1 << 20;

impl<R: Read> ArrayReader<R> {
    pub fn new(reader: R) -> Self {
        ArrayReader {
            reader,
            buf: Vec::with_capacity(CHUNK * 2),
            pos: 0,
            eof: false,
            started: false,
            finished: false,
            count: 0,
        }
    }

    /// Reads more bytes, dropping consumed ones. Returns false at end of file.
    fn fill(&mut self) -> Result<bool, ArrayError> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        let old = self.buf.len();
        self.buf.resize(old + CHUNK, 0);
        let n = loop {
            match self.reader.read(&mut self.buf[old..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        };
        self.buf.truncate(old + n);
        if n == 0 {
            self.eof = true;
        }
        Ok(n > 0)
    }

    /// Skips whitespace; returns the next byte without consuming it.
    fn peek_significant(&mut self) -> Result<Option<u8>, ArrayError> {
        loop {
            while self.pos < self.buf.len() {
                let b = self.buf[self.pos];
                // A UTF-8 byte order mark before the array is tolerated.
                if !self.started && self.buf[self.pos..].starts_with(&[0xEF, 0xBB, 0xBF]) {
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
        let mut depth: i64 = 0;
        let mut in_string = false;
        let mut escaped = false;
        loop {
            if i >= self.buf.len() {
                let consumed = i - start;
                // fill() moves unconsumed bytes to the front; keep our offsets relative.
                self.pos = start;
                if !self.fill()? {
                    if depth == 0 && !in_string && consumed > 0 {
                        break;
                    }
                    return Err(ArrayError::Truncated(self.count + 1));
                }
                start = self.pos;
                i = start + consumed;
                continue;
            }
            let b = self.buf[i];
            if in_string {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                    if depth == 0 {
                        i += 1;
                        break;
                    }
                } else {
                    // Most of a record is string content: jump to the next quote or backslash.
                    match memchr::memchr2(b'"', b'\\', &self.buf[i..]) {
                        Some(n) => i += n,
                        None => i = self.buf.len(),
                    }
                    continue;
                }
            } else {
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth > 0 => {
                        depth -= 1;
                        if depth == 0 {
                            i += 1;
                            break;
                        }
                    }
                    b',' | b']' | b' ' | b'\n' | b'\r' | b'\t' if depth == 0 => break,
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

    #[test]
    fn elements_larger_than_a_chunk_are_read_whole() {
        let big = format!("[{{\"v\": \"{}\"}}, {{}}]", "x".repeat(3 * CHUNK));
        let v = all(&big).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].len(), 3 * CHUNK + 9);
    }
}

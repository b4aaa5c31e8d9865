//! JSON with comments: users paste parameter blocks from documentation that
//! carry `//` and `/* */` comments and trailing commas. We strip both (never
//! inside strings) and hand the rest to `serde_json`, so everything stored is
//! clean JSON and every other syntax error is still reported with its line.

/// Parses JSONC text into a value.
pub fn parse(text: &str) -> Result<serde_json::Value, serde_json::Error> {
    serde_json::from_str(&strip(text))
}

/// Files saved by Windows editors often start with a byte-order mark, which
/// JSON does not allow; it carries no meaning in UTF-8, so it is skipped.
fn without_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// Parses JSONC text into any deserializable type.
pub fn from_str<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    serde_json::from_str(&strip(text))
}

/// Removes comments and trailing commas. Comment bytes become spaces (newlines
/// kept), so line and column numbers in later errors still point at the input.
pub fn strip(text: &str) -> String {
    let bytes = without_bom(text).as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    let mut in_string = false;
    // Index in `out` of a comma that may turn out to be trailing.
    let mut pending_comma: Option<usize> = None;
    // Last byte that was neither whitespace nor comment: a comma right after
    // `[`, `{` or another comma is an error, not a trailing comma.
    let mut last_significant = b' ';
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            out.push(b);
            if b == b'\\' && i + 1 < bytes.len() {
                out.push(bytes[i + 1]);
                i += 2;
                continue;
            }
            if b == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        match b {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    out.push(b' ');
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                out.extend_from_slice(b"  ");
                i += 2;
                while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                    out.push(if bytes[i] == b'\n' { b'\n' } else { b' ' });
                    i += 1;
                }
                if i < bytes.len() {
                    out.extend_from_slice(b"  ");
                    i += 2;
                }
            }
            b',' => {
                if !matches!(last_significant, b'[' | b'{' | b',') {
                    pending_comma = Some(out.len());
                }
                last_significant = b;
                out.push(b);
                i += 1;
            }
            b'}' | b']' => {
                if let Some(pos) = pending_comma.take() {
                    out[pos] = b' ';
                }
                last_significant = b;
                out.push(b);
                i += 1;
            }
            b' ' | b'\t' | b'\r' | b'\n' => {
                out.push(b);
                i += 1;
            }
            _ => {
                if b == b'"' {
                    in_string = true;
                }
                pending_comma = None;
                last_significant = b;
                out.push(b);
                i += 1;
            }
        }
    }
    // Only ASCII bytes were replaced by ASCII bytes, so UTF-8 is intact.
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_byte_order_mark_is_accepted() {
        let v = parse("\u{feff}{\"name\": \"HR\", // note\n}").unwrap();
        assert_eq!(v, json!({"name": "HR"}));
        // Only at the start: inside a value it is text.
        assert_eq!(parse("[\"\u{feff}x\"]").unwrap(), json!(["\u{feff}x"]));
    }

    #[test]
    fn comments_and_trailing_commas_are_accepted() {
        let text = r#"{
            // the API root
            "url": "https://x.example/a//b", /* block */
            "list": [1, 2, ],
            "s": "quote \" // not a comment",
        }"#;
        assert_eq!(
            parse(text).unwrap(),
            json!({"url": "https://x.example/a//b", "list": [1, 2], "s": "quote \" // not a comment"})
        );
    }

    #[test]
    fn a_real_syntax_error_keeps_its_line() {
        let err = parse("{\n// c\n\"a\": 1\n\"b\": 2}").unwrap_err();
        assert_eq!(err.line(), 4);
    }

    #[test]
    fn a_lone_comma_is_still_an_error() {
        assert!(parse("[,]").is_err());
    }
}

//! Masking secret values in text: run logs, script files, the engine log.

use super::MASK;

/// Replaces every secret value in text with the mask.
///
/// The mask never depends on the secret (always [`MASK`], whatever its
/// length). A secret shorter than [`TOKEN_ONLY_BELOW`] characters is masked
/// only where it stands as a word of its own: masked everywhere, a one-letter
/// secret would blank every occurrence of that letter, wrecking the log and
/// showing exactly which letter it is.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    /// Masked wherever they occur; longest first.
    needles: Vec<String>,
    /// Short secrets, masked only between non-word characters.
    words: Vec<String>,
}

/// Secrets shorter than this (in characters) are masked as whole words only.
pub const TOKEN_ONLY_BELOW: usize = 8;

impl Masker {
    pub fn new(values: impl IntoIterator<Item = String>) -> Self {
        let mut needles: Vec<String> = Vec::new();
        let mut words: Vec<String> = Vec::new();
        for v in values.into_iter().filter(|v| !v.is_empty()) {
            // The JSON-escaped form too: scripts often print json.dumps(parameters).
            let escaped = serde_json::to_string(&v).unwrap_or_default();
            let escaped = escaped.trim_matches('"').to_string();
            for form in [escaped, v] {
                if form.is_empty() {
                    continue;
                }
                if form.chars().count() < TOKEN_ONLY_BELOW {
                    words.push(form);
                } else {
                    needles.push(form);
                }
            }
        }
        // Longest first, so a secret containing another is masked whole.
        for list in [&mut needles, &mut words] {
            list.sort_by_key(|n| std::cmp::Reverse(n.len()));
            list.dedup();
        }
        Masker { needles, words }
    }

    /// Secrets among the string values of a JSON value (e.g. a connector's secret parameters).
    pub fn from_json_values<'a>(values: impl IntoIterator<Item = &'a serde_json::Value>) -> Self {
        Masker::new(secret_texts(values))
    }

    pub fn is_empty(&self) -> bool {
        self.needles.is_empty() && self.words.is_empty()
    }

    pub fn longest(&self) -> usize {
        let longest = |l: &[String]| l.first().map(|n| n.len()).unwrap_or(0);
        // One more byte for a short secret: the character after it decides.
        longest(&self.needles).max(longest(&self.words) + 4)
    }

    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for n in &self.needles {
            if out.contains(n.as_str()) {
                out = out.replace(n.as_str(), MASK);
            }
        }
        for w in &self.words {
            if out.contains(w.as_str()) {
                out = mask_word(&out, w);
            }
        }
        out
    }

    /// A card's value with the secrets masked in its text, and in each text
    /// of its list (a number or a flag holds none): what a journal or a
    /// review shows of a value a load writes.
    pub fn mask_value(&self, value: serde_json::Value) -> serde_json::Value {
        match value {
            serde_json::Value::String(s) if !self.is_empty() => serde_json::Value::String(self.mask(&s)),
            serde_json::Value::Array(items) if !self.is_empty() => {
                serde_json::Value::Array(items.into_iter().map(|v| self.mask_value(v)).collect())
            }
            other => other,
        }
    }

    /// Masks a file in place (a script's own log or error file). Returns whether anything changed.
    pub fn mask_file(&self, path: &std::path::Path) -> std::io::Result<bool> {
        if self.is_empty() {
            return Ok(false);
        }
        let Ok(mut file) = crate::platform::open_regular(path) else {
            return Ok(false);
        };
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut bytes)?;
        let text = String::from_utf8_lossy(&bytes);
        let masked = self.mask(&text);
        if masked != text {
            let tmp = path.with_extension("masking");
            std::fs::write(&tmp, masked.as_bytes())?;
            std::fs::rename(&tmp, path)?;
            return Ok(true);
        }
        Ok(false)
    }
}

/// The texts a masker masks for these secret values: every string and scalar inside them.
pub fn secret_texts<'a>(values: impl IntoIterator<Item = &'a serde_json::Value>) -> Vec<String> {
    let mut out = Vec::new();
    for v in values {
        collect_strings(v, &mut out);
    }
    out
}

fn collect_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        serde_json::Value::Object(m) => m.values().for_each(|x| collect_strings(x, out)),
        other => out.push(other.to_string()),
    }
}

/// `text` with every whole-word occurrence of `word` masked: the characters
/// on either side (if any) are not letters, digits or `_`.
fn mask_word(text: &str, word: &str) -> String {
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let (first, last) = (word.chars().next(), word.chars().last());
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (at, _) in text.match_indices(word) {
        if at < copied {
            continue; // overlaps the previous occurrence
        }
        let before = text[..at].chars().last();
        let after = text[at + word.len()..].chars().next();
        // Only a word character next to a word character joins them into one word.
        let joined = (is_word(first) && is_word(before)) || (is_word(last) && is_word(after));
        if !joined {
            out.push_str(&text[copied..at]);
            out.push_str(MASK);
            copied = at + word.len();
        }
    }
    out.push_str(&text[copied..]);
    out
}

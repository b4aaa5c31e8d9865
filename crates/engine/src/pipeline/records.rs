//! Turning one output element into the values a task maps, and validating it
//! (the validate stage, docs/architecture.md). Only mapped attributes are materialized; everything
//! else in a record is skipped without allocating.

use crate::model::hr::CaseFacts;
use std::fmt;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::model::{Task, Template};

/// What a task needs from each record, prepared once per run.
#[derive(Debug)]
pub struct RecordShape {
    /// Per slot: source name, target attribute, multi-value?, allowed values.
    columns: Vec<Column>,
    id_slot: usize,
    /// What every card ends with: `,"attr":"task id"` and `,"attr":"data
    /// source type"` for the attributes the task names (written once here).
    suffix: Vec<u8>,
    /// Slot groups of which at least one must hold a value.
    required: Vec<Vec<usize>>,
    /// `"<object id attribute>":`, where [`RecordShape::quick_key`] looks first.
    id_pattern: memchr::memmem::Finder<'static>,
    /// Seeds [`RecordShape::record_hash`]: a digest of all of the above.
    record_seed: u64,
}

#[derive(Debug)]
struct Column {
    source: String,
    target: String,
    /// `"target":` as JSON, written before each value.
    key_prefix: Vec<u8>,
    multi_value: bool,
    static_values: Vec<String>,
}

/// Per-thread memory of where mapped attributes sit in a record. Records of
/// one output nearly always list their attributes in the same order, so the
/// key at position i is first compared with what was there last time.
#[derive(Debug, Default)]
pub struct CardScratch {
    hints: Vec<Hint>,
}

#[derive(Debug, Clone)]
enum Hint {
    Unknown,
    Mapped(usize),
    Unmapped(Box<str>),
}

/// A valid record: its object key and the card values as compact JSON.
#[derive(Debug)]
pub struct CardData<'a> {
    pub key: String,
    pub json: &'a [u8],
}

/// Why a record was blocked: the engine's words, and the same as facts a
/// report words in the connector's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    pub key: Option<String>,
    pub reason: String,
    pub facts: CaseFacts,
}

impl RecordShape {
    pub fn new(task: &Task, template: &Template, data_source_type: &str) -> Self {
        let mut columns: Vec<Column> = Vec::new();
        for m in &task.mappings {
            let attr = template.attribute(&m.target);
            let mut key_prefix = serde_json::to_vec(&m.target).unwrap_or_default();
            key_prefix.push(b':');
            columns.push(Column {
                source: m.source.clone(),
                target: m.target.clone(),
                key_prefix,
                multi_value: attr.is_some_and(|a| a.multi_value),
                static_values: attr.map(|a| a.static_values.clone()).unwrap_or_default(),
            });
        }
        let id_source = task.object_id_attribute.clone().unwrap_or_default();
        let id_slot = columns.iter().position(|c| c.source == id_source).unwrap_or(0);
        let mut suffix = Vec::new();
        for (attribute, value) in [
            (&task.task_id_attribute, task.id.as_str()),
            (&task.data_source_type_attribute, data_source_type),
        ] {
            if let Some(a) = attribute {
                suffix.push(b',');
                write_pair(&mut suffix, a, &Value::String(value.to_string()));
            }
        }
        let mut id_pattern = serde_json::to_vec(&id_source).unwrap_or_default();
        id_pattern.push(b':');
        RecordShape {
            columns,
            id_slot,
            suffix,
            required: Vec::new(),
            id_pattern: memchr::memmem::Finder::new(&id_pattern).into_owned(),
            record_seed: 0,
        }
        .sealed()
    }

    /// The shape with its [`RecordShape::record_seed`] set: a digest of
    /// everything that decides the card made of a record, and of the
    /// engine's version (a newer one may make cards differently).
    fn sealed(mut self) -> Self {
        let digest = format!(
            "{:?}",
            (
                env!("CARGO_PKG_VERSION"),
                &self.columns,
                self.id_slot,
                &self.suffix,
                &self.required
            )
        );
        self.record_seed = xxhash_rust::xxh3::xxh3_64(digest.as_bytes());
        self
    }

    /// The hash the cache knows a record by: of its bytes exactly as the
    /// source wrote them, seeded by the shape, so that another mapping,
    /// template or task never finds a card made under this one. Never 0
    /// (the cache's "not known").
    pub fn record_hash(&self, element: &[u8]) -> u64 {
        match xxhash_rust::xxh3::xxh3_64_with_seed(element, self.record_seed) {
            0 => 1,
            h => h,
        }
    }

    /// The object key of a usual record, found without reading the rest of
    /// it: after the first `"<id attribute>":`, a string without escapes or
    /// a number. Only for looking the record up in the cache's record
    /// index, whose hashes are of whole records the full reading accepted
    /// under this shape: a key misread here (a nested object's id, say)
    /// finds no record with these bytes and the record is read in full. So
    /// this needs to be fast, not complete; `false` when it cannot tell.
    pub fn quick_key(&self, element: &[u8], key: &mut String) -> bool {
        key.clear();
        let Some(at) = self.id_pattern.find(element) else {
            return false;
        };
        let mut i = at + self.id_pattern.needle().len();
        while element.get(i) == Some(&b' ') {
            i += 1;
        }
        let text = match element.get(i) {
            Some(b'"') => {
                let rest = &element[i + 1..];
                match memchr::memchr2(b'"', b'\\', rest) {
                    Some(end) if rest[end] == b'"' => &rest[..end],
                    _ => return false,
                }
            }
            Some(b'-' | b'0'..=b'9') => {
                let rest = &element[i..];
                let end = rest
                    .iter()
                    .position(|b| matches!(b, b',' | b'}' | b' ' | b'\n' | b'\r' | b'\t'))
                    .unwrap_or(rest.len());
                match std::str::from_utf8(&rest[..end]) {
                    Ok(number) => {
                        numeric_key(number, key);
                        return true;
                    }
                    Err(_) => return false,
                }
            }
            _ => return false,
        };
        match std::str::from_utf8(text) {
            Ok(k) => {
                key.push_str(k);
                true
            }
            Err(_) => false,
        }
    }

    /// This shape, also blocking records without a value for one of each
    /// group of target attributes (groups the task does not map are skipped).
    pub fn requiring(mut self, groups: &[Vec<String>]) -> Self {
        self.required = groups
            .iter()
            .map(|g| {
                self.columns
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| g.contains(&c.target))
                    .map(|(i, _)| i)
                    .collect::<Vec<_>>()
            })
            .filter(|slots| !slots.is_empty())
            .collect();
        self.sealed()
    }

    /// The target attribute that the object id maps to: cards are found by it.
    pub fn key_attribute(&self) -> &str {
        &self.columns[self.id_slot].target
    }

    /// `(attributeName, multivalue)` for the script's `data_extraction_attributes`.
    pub fn extraction_attributes(&self) -> Vec<(String, bool)> {
        self.columns
            .iter()
            .map(|c| (c.source.clone(), c.multi_value))
            .collect()
    }

    /// Parses and validates one element. On success the card JSON is written
    /// into `out` and the object key into `key` (both cleared first; reused
    /// between records). Values are borrowed as raw JSON text and copied
    /// through, not parsed and re-encoded.
    pub fn card(
        &self,
        element: &[u8],
        out: &mut Vec<u8>,
        key: &mut String,
        scratch: &mut CardScratch,
    ) -> Result<(), Blocked> {
        // No allocation per record for the usual handful of mapped attributes.
        let mut on_stack: [Option<&str>; 32] = [None; 32];
        let mut on_heap;
        let values: &mut [Option<&str>] = if self.columns.len() <= on_stack.len() {
            &mut on_stack[..self.columns.len()]
        } else {
            on_heap = vec![None; self.columns.len()];
            &mut on_heap
        };
        // Validated as UTF-8 once, here (SIMD): parsing from a str does not check every string again.
        let Ok(text) = simdutf8::basic::from_utf8(element) else {
            return Err(Blocked {
                key: None,
                reason: "the record is not valid UTF-8 text".into(),
                facts: CaseFacts::new("blocked_not_utf8", &[]),
            });
        };
        // The usual record is read by `flat_fields`; anything else by serde,
        // which also words what is wrong.
        let mut duplicate = None;
        let parsed = match self.flat_fields(text, values, &mut scratch.hints) {
            Some(()) => Ok(()),
            None => {
                values.fill(None);
                let mut de = serde_json::Deserializer::from_str(text);
                RecordSeed {
                    shape: self,
                    values: &mut *values,
                    hints: &mut scratch.hints,
                    duplicate: &mut duplicate,
                }
                .deserialize(&mut de)
            }
        };
        if let Some(slot) = duplicate {
            // Which of the two values was meant cannot be known: keep neither.
            return Err(Blocked {
                key: None,
                reason: format!(
                    "attribute '{}' appears more than once in the record",
                    self.columns[slot].source
                ),
                facts: CaseFacts::new(
                    "blocked_attribute_twice",
                    &[("attribute", self.columns[slot].source.clone())],
                ),
            });
        }
        if let Err(e) = parsed {
            let (reason, facts) = if e.classify() == serde_json::error::Category::Data {
                (
                    "the record is not a JSON object".to_string(),
                    CaseFacts::new("blocked_not_an_object", &[]),
                )
            } else {
                (
                    format!("invalid JSON: {e}"),
                    CaseFacts::new("blocked_invalid_json", &[("error", e.to_string())]),
                )
            };
            return Err(Blocked {
                key: None,
                reason,
                facts,
            });
        }
        let id_source = &self.columns[self.id_slot].source;
        key.clear();
        match values[self.id_slot].map(|r| (r, r.as_bytes()[0])) {
            // Usually plain text between the quotes: copied into the reused buffer.
            Some((raw, b'"')) if !raw.contains('\\') => key.push_str(&raw[1..raw.len() - 1]),
            Some((raw, b'"')) => {
                if let Ok(s) = serde_json::from_str::<String>(raw) {
                    key.push_str(&s);
                }
            }
            Some((raw, b'-' | b'0'..=b'9')) => numeric_key(raw, key),
            Some((_, b'n')) | None => {
                return Err(Blocked {
                    key: None,
                    reason: format!("the object id '{id_source}' is missing"),
                    facts: CaseFacts::new("blocked_id_missing", &[("attribute", id_source.clone())]),
                })
            }
            Some((raw, _)) => {
                return Err(Blocked {
                    key: None,
                    reason: format!(
                        "the object id '{id_source}' must be a non-empty string or a number, not {}",
                        kind(raw.as_bytes()[0])
                    ),
                    facts: CaseFacts::new("blocked_id_not_text", &[("attribute", id_source.clone())]),
                })
            }
        };
        if key.trim().is_empty() {
            return Err(Blocked {
                key: None,
                reason: format!("the object id '{id_source}' is empty"),
                facts: CaseFacts::new("blocked_id_empty", &[("attribute", id_source.clone())]),
            });
        }
        let key = &*key;
        let block = |reason: String, facts: CaseFacts| Blocked {
            key: Some(key.to_string()),
            reason,
            facts,
        };
        for group in &self.required {
            let has_value = |slot: &usize| {
                values[*slot].is_some_and(|r| {
                    !matches!(r, "null" | "\"\"" | "[]") && !r.trim_matches('"').trim().is_empty()
                })
            };
            if !group.iter().any(has_value) {
                let names: Vec<String> = group
                    .iter()
                    .map(|s| {
                        format!(
                            "'{}' (column '{}')",
                            self.columns[*s].target, self.columns[*s].source
                        )
                    })
                    .collect();
                let listed = group
                    .iter()
                    .map(|s| self.columns[*s].target.clone())
                    .collect::<Vec<_>>()
                    .join(" / ");
                return Err(block(
                    format!("mandatory attribute {} has no value", names.join(" or ")),
                    CaseFacts::new("blocked_mandatory_empty", &[("attributes", listed)]),
                ));
            }
        }
        out.clear();
        out.push(b'{');
        for (i, (column, value)) in self.columns.iter().zip(values.iter()).enumerate() {
            let Some(raw) = *value else {
                return Err(block(
                    format!("attribute '{}' is missing", column.source),
                    CaseFacts::new(
                        "blocked_attribute_missing",
                        &[("attribute", column.source.clone())],
                    ),
                ));
            };
            // A pretty-printed list spans lines; cards are stored compact (one line each).
            let compacted;
            let raw = if raw.starts_with('[') && raw.bytes().any(|b| b == b'\n' || b == b'\r') {
                compacted = serde_json::from_str::<Value>(raw)
                    .map(|v| v.to_string())
                    .unwrap_or_default();
                compacted.as_str()
            } else {
                raw
            };
            let first = raw.as_bytes()[0];
            if !column.static_values.is_empty() {
                let allowed = match first {
                    b'n' => true,
                    b'"' => serde_json::from_str::<String>(raw)
                        .is_ok_and(|s| s.is_empty() || column.static_values.contains(&s)),
                    _ => false,
                };
                if !allowed {
                    let shown = serde_json::from_str::<String>(raw).unwrap_or_else(|_| raw.to_string());
                    return Err(block(
                        format!(
                            "'{shown}' is not an allowed value of '{}' (allowed: {})",
                            column.target,
                            column.static_values.join(", ")
                        ),
                        CaseFacts::new(
                            "blocked_value_not_allowed",
                            &[
                                ("value", shown.clone()),
                                ("attribute", column.target.clone()),
                                ("allowed", column.static_values.join(", ")),
                            ],
                        ),
                    ));
                }
            }
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&column.key_prefix);
            match (column.multi_value, first) {
                (true, b'[') => out.extend_from_slice(raw.as_bytes()),
                (true, b'n') => out.extend_from_slice(b"[]"),
                (true, _) => {
                    out.push(b'[');
                    out.extend_from_slice(raw.as_bytes());
                    out.push(b']');
                }
                (false, b'[') => {
                    return Err(block(
                        format!(
                            "attribute '{}' holds a list, but '{}' is not a multi-value attribute",
                            column.source, column.target
                        ),
                        CaseFacts::new(
                            "blocked_list_not_multi_value",
                            &[
                                ("attribute", column.source.clone()),
                                ("target", column.target.clone()),
                            ],
                        ),
                    ))
                }
                (false, b'{') => {
                    return Err(block(
                        format!(
                            "attribute '{}' holds an object; a plain value is expected",
                            column.source
                        ),
                        CaseFacts::new("blocked_object_value", &[("attribute", column.source.clone())]),
                    ))
                }
                (false, _) => out.extend_from_slice(raw.as_bytes()),
            }
        }
        out.extend_from_slice(&self.suffix);
        out.push(b'}');
        Ok(())
    }
}

impl RecordShape {
    /// The slot of the attribute named `key`, the `index`th of its record
    /// (`None`: not mapped). Records of one output nearly always list their
    /// attributes in the same order: the name at `index` last time is tried first.
    fn slot_of(&self, index: usize, key: &str, hints: &mut Vec<Hint>) -> Option<usize> {
        let columns = &self.columns;
        if hints.len() <= index {
            hints.push(Hint::Unknown);
        }
        match &hints[index] {
            Hint::Mapped(s) if same(&columns[*s].source, key) => Some(*s),
            Hint::Unmapped(k) if same(k, key) => None,
            _ => {
                // A handful of mapped attributes: a linear scan beats hashing every key.
                let found = columns.iter().position(|c| c.source == key);
                hints[index] = match found {
                    Some(s) => Hint::Mapped(s),
                    None => Hint::Unmapped(key.into()),
                };
                found
            }
        }
    }

    /// The mapped values of the usual record, read without serde's
    /// machinery (most of the time of a big output went there): an object
    /// whose values are strings without escapes, numbers, booleans and nulls,
    /// each attribute once. `None` for anything else — lists, objects,
    /// escapes, an attribute twice, text that is not JSON — which serde then
    /// reads, and words when it is wrong. What this accepts, serde accepts
    /// with the same values (a test holds the two side by side).
    fn flat_fields<'t>(
        &self,
        text: &'t str,
        values: &mut [Option<&'t str>],
        hints: &mut Vec<Hint>,
    ) -> Option<()> {
        let b = text.as_bytes();
        let mut i = skip_ws(b, 0);
        if b.get(i) != Some(&b'{') {
            return None;
        }
        i = skip_ws(b, i + 1);
        if b.get(i) == Some(&b'}') {
            return (i + 1 == b.len()).then_some(());
        }
        let mut index = 0;
        loop {
            if b.get(i) != Some(&b'"') {
                return None;
            }
            let key_end = string_end(b, i + 1)?;
            let key = &text[i + 1..key_end];
            i = skip_ws(b, key_end + 1);
            if b.get(i) != Some(&b':') {
                return None;
            }
            let start = skip_ws(b, i + 1);
            let end = match b.get(start)? {
                b'"' => string_end(b, start + 1)? + 1,
                b'-' | b'0'..=b'9' => number_end(b, start)?,
                b't' => literal_end(b, start, b"true")?,
                b'f' => literal_end(b, start, b"false")?,
                b'n' => literal_end(b, start, b"null")?,
                _ => return None,
            };
            match self.slot_of(index, key, hints) {
                Some(slot) if values[slot].is_some() => return None,
                Some(slot) => values[slot] = Some(&text[start..end]),
                None => {}
            }
            index += 1;
            i = skip_ws(b, end);
            match b.get(i)? {
                b',' => i = skip_ws(b, i + 1),
                b'}' => return (i + 1 == b.len()).then_some(()),
                _ => return None,
            }
        }
    }
}

/// The first byte at or after `i` that is not JSON whitespace.
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\n' | b'\r' | b'\t')) {
        i += 1;
    }
    i
}

/// Where the string whose text starts at `i` closes: `None` at a backslash
/// or a control character (serde reads those), or without a closing quote.
fn string_end(b: &[u8], mut i: usize) -> Option<usize> {
    // Eight bytes at a time (most strings of a record are longer than a few).
    while let Some(chunk) = b.get(i..i + 8) {
        let found = special_bytes(u64::from_le_bytes(chunk.try_into().ok()?));
        if found != 0 {
            let at = i + (found.trailing_zeros() / 8) as usize;
            return (b[at] == b'"').then_some(at);
        }
        i += 8;
    }
    loop {
        match *b.get(i)? {
            b'"' => return Some(i),
            b'\\' | 0..=0x1f => return None,
            _ => i += 1,
        }
    }
}

/// The high bit of each byte of `x` (eight bytes, the first lowest) that is
/// a quote, a backslash or a control character. Exact up to the first such
/// byte; past it a borrow may mark more, so only the lowest mark is used.
fn special_bytes(x: u64) -> u64 {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |v: u64| v.wrapping_sub(LOW) & !v;
    let quote = zero(x ^ (LOW * u64::from(b'"')));
    let backslash = zero(x ^ (LOW * u64::from(b'\\')));
    let control = x.wrapping_sub(LOW * 0x20);
    (quote | backslash | control) & !x & HIGH
}

/// The end of a number as JSON writes one (`-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`).
fn number_end(b: &[u8], mut i: usize) -> Option<usize> {
    let digits = |mut i: usize| {
        let from = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        (i > from).then_some(i)
    };
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    i = match b.get(i)? {
        b'0' => i + 1,
        b'1'..=b'9' => digits(i)?,
        _ => return None,
    };
    if b.get(i) == Some(&b'.') {
        i = digits(i + 1)?;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        i = digits(i)?;
    }
    Some(i)
}

fn literal_end(b: &[u8], i: usize, literal: &[u8]) -> Option<usize> {
    b[i..].starts_with(literal).then_some(i + literal.len())
}

/// The key of a numeric object id: its value, not its spelling, so `1`,
/// `1.0`, `1e0` and `10E-1` are one record (pandas turns integer columns into
/// floats as soon as one value is missing, and a script's ids change
/// spelling from one run to the next). An integral value is written as an
/// integer (`1`, `-7`, `100000000000000000000`); any other as the shortest
/// decimal that reads back as the same double (`1.5`, `0.1`). A number and a
/// string are one key when the string is exactly that text (`7` and `"7"`),
/// but strings are never reinterpreted as numbers: `"007"`, `"7.0"` and `"7"`
/// stay three ids, because leading zeros and spellings carry meaning in
/// employee numbers and other text ids.
pub(crate) fn numeric_key(raw: &str, key: &mut String) {
    use std::fmt::Write as _;
    // JSON integers have no leading zeros: their text already is the value
    // (and stays exact beyond what a double holds).
    if !raw.contains(['.', 'e', 'E']) {
        key.push_str(if raw == "-0" { "0" } else { raw });
        return;
    }
    match raw.parse::<f64>() {
        Ok(v) if v.is_finite() => {
            let v = if v == 0.0 { 0.0 } else { v };
            // `Display` for f64 never uses an exponent and prints integral values without ".0".
            let _ = write!(key, "{v}");
        }
        // Beyond a double's range: keep the text.
        _ => key.push_str(raw),
    }
}

fn write_pair(out: &mut Vec<u8>, key: &str, value: &Value) {
    let _ = serde_json::to_writer(&mut *out, key);
    out.push(b':');
    let _ = serde_json::to_writer(&mut *out, value);
}

fn kind(first: u8) -> &'static str {
    match first {
        b't' | b'f' => "a boolean",
        b'[' => "a list",
        b'{' => "an object",
        _ => "an empty value",
    }
}

struct RecordSeed<'a, 'de> {
    shape: &'a RecordShape,
    values: &'a mut [Option<&'de str>],
    hints: &'a mut Vec<Hint>,
    /// Set to the slot of a mapped attribute the record names twice.
    duplicate: &'a mut Option<usize>,
}

impl<'de> DeserializeSeed<'de> for RecordSeed<'_, 'de> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut index = 0;
        while let Some(JsonStr(key)) = map.next_key::<JsonStr<'de>>()? {
            let slot = self.shape.slot_of(index, &key, self.hints);
            index += 1;
            match slot {
                Some(slot) if self.values[slot].is_some() => {
                    *self.duplicate = Some(slot);
                    return Err(serde::de::Error::custom("duplicate attribute"));
                }
                Some(slot) => self.values[slot] = Some(map.next_value::<&RawValue>()?.get()),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// Whether two attribute names are the same. Names are short: compared
/// here byte by byte, not by a call to `memcmp` (measured as a fifth of
/// parsing when every record's names were compared that way).
#[inline]
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

/// A JSON string borrowed from its text when it has no escapes. (A
/// `Cow<str>` always deserializes owned: for attribute names that was one
/// allocation per attribute of every record, measured as the largest cost
/// after parsing itself.)
pub(crate) struct JsonStr<'de>(pub std::borrow::Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for JsonStr<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Name;
        impl<'de> Visitor<'de> for Name {
            type Value = JsonStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(JsonStr(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(JsonStr(std::borrow::Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(Name)
    }
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            Some(k) => write!(f, "{k}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn shape() -> RecordShape {
        let task: Task = serde_json::from_value(serde_json::json!({
            "id": "t1", "connector_id": "c1", "connector_name": "C", "name": "Load", "usage": "scheduled",
            "enabled": true, "schedule": "0 0 * * * *", "timezone": "UTC", "run_type": "full",
            "mappings_type": "generic", "object_id_attribute": "id", "target_template": "person",
            "target_folder": "persons", "task_id_attribute": "taskid", "data_source_type_attribute": null,
            "mappings": [{"source": "id", "target": "employee_id"}, {"source": "name", "target": "last_name"},
                         {"source": "n", "target": "number"}],
            "failure": null, "removal": null, "limits": {}, "heartbeat_timeout": 300, "max_runtime": null,
            "references": [], "created_at": "x", "updated_at": "x"
        }))
        .unwrap();
        let template: Template = serde_json::from_value(serde_json::json!({
            "code": "person", "name": "Person", "attributes": [
                {"code": "employee_id"}, {"code": "last_name"}, {"code": "number"}, {"code": "taskid"}]
        }))
        .unwrap();
        RecordShape::new(&task, &template, "python_script")
    }

    /// The values serde reads from `text`, or why it would not.
    fn by_serde<'t>(shape: &RecordShape, text: &'t str) -> Result<Vec<Option<&'t str>>, String> {
        let mut values = vec![None; 3];
        let mut duplicate = None;
        let mut de = serde_json::Deserializer::from_str(text);
        RecordSeed {
            shape,
            values: &mut values,
            hints: &mut Vec::new(),
            duplicate: &mut duplicate,
        }
        .deserialize(&mut de)
        .map_err(|e| e.to_string())?;
        Ok(values)
    }

    fn by_flat<'t>(
        shape: &RecordShape,
        text: &'t str,
        hints: &mut Vec<Hint>,
    ) -> Option<Vec<Option<&'t str>>> {
        let mut values = vec![None; 3];
        shape.flat_fields(text, &mut values, hints).map(|()| values)
    }

    #[test]
    fn the_usual_records_are_read_without_serde_and_as_serde_reads_them() {
        let shape = shape();
        let mut hints = Vec::new();
        for text in [
            r#"{"id":"emp-1","name":"Zoë","n":12,"other":null}"#,
            "{ \"id\" : 7 ,\n\t\"n\": -0.5e+3, \"name\": \"\", \"x\": true, \"y\": false }",
            r#"{"other": "a", "id": "2"}"#,
            r#"{"id": "a rather long value, ÿ and ü included, past eight bytes", "name": "Ölund-Ärjäng"}"#,
            "{}",
        ] {
            let flat = by_flat(&shape, text, &mut hints).unwrap_or_else(|| panic!("not read: {text}"));
            assert_eq!(Ok(flat), by_serde(&shape, text), "{text}");
        }
        // Lists, objects, escapes, an attribute twice, broken JSON: left to serde.
        for text in [
            r#"{"id":"1","name":["a"]}"#,
            r#"{"id":"1","o":{"a":1}}"#,
            r#"{"id":"a\"b"}"#,
            r#"{"id":"1","id":"2"}"#,
            r#"{"id":"1","n":01}"#,
            r#"{"id":"1","n":1.}"#,
            r#"{"id":"1",}"#,
            r#"{"id":"1"} x"#,
            "{\"id\":\"a\u{1}\"}",
            "{\"id\":\"twelve bytes\u{1f} then more\"}",
            r#"{"id":"twenty bytes of text\" then more"}"#,
            r#"["id"]"#,
        ] {
            assert_eq!(by_flat(&shape, text, &mut hints), None, "{text}");
        }
    }

    /// Records as outputs hold them, and broken in the ways they break.
    fn recordish() -> impl Strategy<Value = String> {
        let value = prop_oneof![
            Just("null".to_string()),
            Just("true".to_string()),
            Just("fals".to_string()),
            "-?[0-9]{0,3}(\\.[0-9]{0,2})?([eE][-+]?[0-9]{0,2})?",
            "\"[a-z \\\\\"\u{1}é]{0,8}\"",
            "\\[[0-9, ]{0,5}\\]",
            "\\{\"a\": ?[0-9]\\}",
        ];
        let pair = ("id|name|n|other|x", "[ \n]{0,2}", value);
        proptest::collection::vec(pair, 0..6).prop_flat_map(|pairs| {
            let body: Vec<String> = pairs
                .into_iter()
                .map(|(k, ws, v)| format!("\"{k}\"{ws}:{ws}{v}"))
                .collect();
            ("[ ]{0,1}", "(,|, |,,)", "[ }x]{0,1}")
                .prop_map(move |(lead, sep, tail)| format!("{lead}{{{}}}{}", body.join(&sep), tail.trim()))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        /// Whatever the flat reader accepts, serde accepts, with the same values.
        #[test]
        fn the_flat_reader_accepts_only_what_serde_reads_the_same(text in recordish()) {
            let shape = shape();
            if let Some(flat) = by_flat(&shape, &text, &mut Vec::new()) {
                prop_assert_eq!(Ok(flat), by_serde(&shape, &text), "{}", text);
            }
        }
    }

    fn key(raw: &str) -> String {
        let mut k = String::new();
        numeric_key(raw, &mut k);
        k
    }

    #[test]
    fn numbers_are_keyed_by_value() {
        for same in ["1", "1.0", "1e0", "1E0", "10e-1", "0.1e1", "1.000"] {
            assert_eq!(key(same), "1", "{same}");
        }
        assert_eq!(key("-0"), "0");
        assert_eq!(key("-0.0"), "0");
        assert_eq!(key("-7.0"), "-7");
        assert_eq!(key("1.5"), "1.5");
        assert_eq!(key("0.1"), "0.1");
        assert_eq!(key("1e20"), "100000000000000000000");
        assert_eq!(key("100000000000000000000"), "100000000000000000000");
        // Integers beyond a double stay exact.
        assert_eq!(key("12345678901234567891"), "12345678901234567891");
        assert_ne!(key("1.5"), key("1"));
    }

    #[test]
    fn the_quick_key_is_the_full_readings_key_of_usual_records_and_gives_up_on_the_rest() {
        let shape = shape();
        let (mut card, mut key, mut quick) = (Vec::new(), String::new(), String::new());
        for text in [
            r#"{"id":"emp-1","name":"Zoë","n":12}"#,
            r#"{"name":"x","n":1,"id":"last"}"#,
            r#"{"id": "spaced","name":"x","n":1}"#,
            r#"{"id":42,"name":"x","n":1}"#,
            r#"{"id":-1.50,"name":"x","n":1}"#,
            r#"{"id":"Zoë ☃","name":"x","n":1}"#,
        ] {
            shape
                .card(text.as_bytes(), &mut card, &mut key, &mut CardScratch::default())
                .unwrap();
            assert!(shape.quick_key(text.as_bytes(), &mut quick), "{text}");
            assert_eq!(quick, key, "{text}");
        }
        for text in [
            r#"{"id":"a\"b","name":"x","n":1}"#,
            r#"{"name":"x","n":1}"#,
            r#"{"id":null,"name":"x","n":1}"#,
            r#"{"id":["a"],"name":"x","n":1}"#,
            r#"{"id" :"a","name":"x","n":1}"#,
        ] {
            assert!(!shape.quick_key(text.as_bytes(), &mut quick), "{text}");
        }
        // A nested id is found first: misread, and harmless (see `quick_key`).
        assert!(shape.quick_key(br#"{"boss":{"id":"b"},"id":"e"}"#, &mut quick));
        assert_eq!(quick, "b");
    }

    #[test]
    fn a_record_hashes_differently_under_another_shape() {
        let record = br#"{"id":"emp-1","name":"Zoe!","n":12}"#;
        let (one, other) = (shape(), shape().requiring(&[vec!["last_name".to_string()]]));
        assert_eq!(one.record_hash(record), shape().record_hash(record));
        assert_ne!(one.record_hash(record), other.record_hash(record));
        assert_ne!(
            one.record_hash(record),
            one.record_hash(br#"{"id":"emp-1","name":"Zoe","n":12}"#)
        );
    }
}

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
        RecordShape {
            columns,
            id_slot,
            suffix,
            required: Vec::new(),
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
        self
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
        let mut on_stack: [Option<&RawValue>; 32] = [None; 32];
        let mut on_heap;
        let values: &mut [Option<&RawValue>] = if self.columns.len() <= on_stack.len() {
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
        let mut de = serde_json::Deserializer::from_str(text);
        let mut duplicate = None;
        let parsed = RecordSeed {
            shape: self,
            values: &mut *values,
            hints: &mut scratch.hints,
            duplicate: &mut duplicate,
        }
        .deserialize(&mut de);
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
        match values[self.id_slot].map(|r| (r.get(), r.get().as_bytes()[0])) {
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
                    !matches!(r.get(), "null" | "\"\"" | "[]") && !r.get().trim_matches('"').trim().is_empty()
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
            let Some(raw) = value.map(|r| r.get()) else {
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
    values: &'a mut [Option<&'de RawValue>],
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
        let columns = &self.shape.columns;
        let mut index = 0;
        while let Some(JsonStr(key)) = map.next_key::<JsonStr<'de>>()? {
            if self.hints.len() <= index {
                self.hints.push(Hint::Unknown);
            }
            let slot = match &self.hints[index] {
                Hint::Mapped(s) if same(&columns[*s].source, &key) => Some(*s),
                Hint::Unmapped(k) if same(k, &key) => None,
                _ => {
                    // A handful of mapped attributes: a linear scan beats hashing every key.
                    let found = columns.iter().position(|c| c.source == key.as_ref());
                    self.hints[index] = match found {
                        Some(s) => Hint::Mapped(s),
                        None => Hint::Unmapped(key.as_ref().into()),
                    };
                    found
                }
            };
            index += 1;
            match slot {
                Some(slot) if self.values[slot].is_some() => {
                    *self.duplicate = Some(slot);
                    return Err(serde::de::Error::custom("duplicate attribute"));
                }
                Some(slot) => self.values[slot] = Some(map.next_value()?),
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
    use super::numeric_key;

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
}

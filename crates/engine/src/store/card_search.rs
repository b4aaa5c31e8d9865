//! The Data tab's search (and `datacards list --search`), run inside SQLite
//! over every card of a template: a Rust function of the search's
//! connection tells whether a card's values hold the text, so no card that
//! does not is read out of the store, and case is folded for every letter
//! (SQLite's own `lower` folds ASCII only).

use std::path::PathBuf;

use rusqlite::functions::FunctionFlags;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::runs::{CARD_LISTING, CARD_LISTING_BY_ID};
use super::{Datacard, Store};
use crate::error::{EngineError, Result};

/// What a search finds: a card whose id is the text, or one of whose values
/// holds it, in any case. Field names do not count (every card has them).
#[derive(Debug, Clone)]
pub struct CardSearch {
    lower: String,
    id: Option<i64>,
}

impl CardSearch {
    pub fn new(text: &str) -> CardSearch {
        let text = text.trim();
        CardSearch {
            lower: text.to_lowercase(),
            id: text.parse().ok(),
        }
    }

    /// Do card values `data` (a JSON object) hold the text? A value that is
    /// a list holds it when one of its items does. Read in place: no value
    /// is copied out of the text unless it has escapes (a search SQLite
    /// cannot narrow reads every card this way).
    pub fn holds(&self, data: &str) -> bool {
        let mut json = serde_json::Deserializer::from_str(data);
        serde::de::DeserializeSeed::deserialize(Holds(&self.lower), &mut json).unwrap_or(false)
    }

    /// Text that the card's stored JSON holds, its ASCII letters in lower
    /// case, whenever the search finds it: the search's longest run of
    /// characters that JSON text keeps as they are (a letter beyond ASCII,
    /// a quote, a backslash or a slash may be stored as an escape). SQLite
    /// rules out most cards with it (LIKE, which folds ASCII letters' case)
    /// before the card is parsed.
    fn rough(&self) -> Option<String> {
        let may_be_escaped = |c: char| !c.is_ascii() || c.is_ascii_control() || matches!(c, '"' | '\\' | '/');
        self.lower
            .split(may_be_escaped)
            .max_by_key(|run| run.len())
            .filter(|run| !run.is_empty())
            .map(str::to_string)
    }
}

impl Store {
    /// Up to `limit` cards with an id above `after` that `search` finds, in
    /// id order: one page of a search through all of a template's cards.
    pub async fn find_datacards_after(
        &self,
        template: &str,
        folder: Option<&str>,
        search: &CardSearch,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Datacard>> {
        let file = self.dir.join(super::cards::CARDS_FILE);
        let (template, folder, search) = (template.to_string(), folder.map(str::to_string), search.clone());
        tokio::task::spawn_blocking(move || find(file, &template, folder.as_deref(), search, after, limit))
            .await
            .map_err(|e| EngineError::Internal(format!("the search stopped: {e}")))?
    }
}

/// A template with at least one card in this many of the store's is searched by id.
const BY_ID_SHARE: i64 = 4;

fn find(
    file: PathBuf,
    template: &str,
    folder: Option<&str>,
    search: CardSearch,
    after: i64,
    limit: u32,
) -> Result<Vec<Datacard>> {
    let conn = super::bulk::open_existing(&file, super::BUSY_TIMEOUT).map_err(EngineError::CardStore)?;
    conn.pragma_update(None, "query_only", true)
        .map_err(EngineError::CardStore)?;
    // LIKE folds ASCII letters' case as it goes (instr over lower() copied every card first: 3x slower).
    let like = search.rough().map(|text| format!("%{}%", like_escaped(&text)));
    let (rough, id) = (like, search.id);
    conn.create_scalar_function(
        "card_holds",
        1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        move |ctx| {
            let data = ctx
                .get_raw(0)
                .as_str()
                .map_err(|e| rusqlite::Error::UserFunctionError(e.into()))?;
            Ok(search.holds(data))
        },
    )
    .map_err(EngineError::CardStore)?;
    // The overlay's ids and the cards from one snapshot.
    conn.execute_batch("BEGIN").map_err(EngineError::CardStore)?;
    let overlaid: std::collections::HashSet<i64> = conn
        .prepare("SELECT id FROM card_overlay")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(EngineError::CardStore)?;
    conn.create_scalar_function(
        "card_overlaid",
        1,
        FunctionFlags::SQLITE_DETERMINISTIC,
        move |ctx| Ok(overlaid.contains(&ctx.get::<i64>(0)?)),
    )
    .map_err(EngineError::CardStore)?;
    // A template that holds a good part of the store is searched in id order
    // through the table, stopping once the page is full: through its index
    // SQLite read every card of it and sorted those found for every page (a
    // text in most of a million cards: 1.9 s a page of 2,000).
    let (template_cards, cards): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT count(*) FROM datacards WHERE template = (SELECT id FROM card_names WHERE name = ?1)),
                    (SELECT count(*) FROM datacards)",
            [template],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(EngineError::CardStore)?;
    let listing = if template_cards.saturating_mul(BY_ID_SHARE) >= cards {
        CARD_LISTING_BY_ID
    } else {
        CARD_LISTING
    };
    let mut statement = conn
        .prepare(&format!(
            // The first condition reads the card's row only, so SQLite weighs it before
            // looking for the card in the overlay: most cards are neither there nor found.
            "{listing}
               AND (?4 IS NULL OR d.id = ?5 OR card_overlaid(d.id) OR d.row_data LIKE ?4 ESCAPE '\\')
               AND (d.id = ?5 OR ((?4 IS NULL OR d.data LIKE ?4 ESCAPE '\\') AND card_holds(d.data)))
             ORDER BY d.id LIMIT ?6"
        ))
        .map_err(EngineError::CardStore)?;
    let rows = statement
        .query_map(
            rusqlite::params![template, folder, after, rough, id, limit],
            |r| {
                let data: String = r.get(3)?;
                Ok(Datacard::listed(
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    &data,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .map_err(EngineError::CardStore)?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(EngineError::CardStore)
}

/// Whether any value of a JSON value (an object's values, a list's items,
/// the text of a number or a truth value) holds `.0`, a lower-case text.
struct Holds<'a>(&'a str);

impl Holds<'_> {
    fn text(&self, value: &str) -> bool {
        let wanted = self.0;
        if value.is_ascii() {
            // Lower case of ASCII text is ASCII: compared as it stands, nothing copied.
            wanted.is_ascii() && holds_ignoring_ascii_case(value.as_bytes(), wanted.as_bytes())
        } else {
            value.to_lowercase().contains(wanted)
        }
    }
}

/// Whether `hay` holds `wanted` with ASCII letters in any case: compared only
/// where its first byte is, in either case (found with SIMD); a search that
/// reads every card of a million compares every value of each.
fn holds_ignoring_ascii_case(hay: &[u8], wanted: &[u8]) -> bool {
    let Some((&first, _)) = wanted.split_first() else {
        return true;
    };
    let Some(last_start) = hay.len().checked_sub(wanted.len()) else {
        return false;
    };
    memchr::memchr2_iter(
        first.to_ascii_lowercase(),
        first.to_ascii_uppercase(),
        &hay[..=last_start],
    )
    .any(|at| hay[at..at + wanted.len()].eq_ignore_ascii_case(wanted))
}

impl<'de> DeserializeSeed<'de> for Holds<'_> {
    type Value = bool;

    fn deserialize<D: serde::Deserializer<'de>>(self, de: D) -> std::result::Result<bool, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Holds<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("card values")
    }

    fn visit_str<E>(self, v: &str) -> std::result::Result<bool, E> {
        Ok(self.text(v))
    }

    fn visit_bool<E>(self, v: bool) -> std::result::Result<bool, E> {
        Ok(self.text(if v { "true" } else { "false" }))
    }

    fn visit_i64<E>(self, v: i64) -> std::result::Result<bool, E> {
        Ok(self.text(&v.to_string()))
    }

    fn visit_u64<E>(self, v: u64) -> std::result::Result<bool, E> {
        Ok(self.text(&v.to_string()))
    }

    fn visit_f64<E>(self, v: f64) -> std::result::Result<bool, E> {
        Ok(self.text(&serde_json::Value::from(v).to_string()))
    }

    fn visit_unit<E>(self) -> std::result::Result<bool, E> {
        Ok(false)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> std::result::Result<bool, A::Error> {
        let mut found = false;
        while let Some(holds) = items.next_element_seed(Holds(self.0))? {
            found |= holds;
        }
        Ok(found)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut fields: A) -> std::result::Result<bool, A::Error> {
        let mut found = false;
        while fields.next_key::<IgnoredAny>()?.is_some() {
            found |= fields.next_value_seed(Holds(self.0))?;
        }
        Ok(found)
    }
}

/// `text` for a LIKE pattern that matches it literally: its `%`, `_` and
/// backslashes escaped (the query's ESCAPE character is the backslash).
fn like_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::CardSearch;

    #[test]
    fn a_search_holds_values_in_any_case_not_field_names() {
        let card = r#"{"last_name": "\u00c4ij\u00e4l\u00e4", "city": "Espoo", "groups": ["Admins"], "age": 42, "x": null, "on": true}   "#;
        for found in ["äijälä", "ÄIJÄLÄ", "jäl", "espoo", "ESP", "admins", "42", "true"] {
            assert!(CardSearch::new(found).holds(card), "{found}");
        }
        for not in ["last_name", "city", "null", "Turku", "\"admins\"", "[\"admins"] {
            assert!(!CardSearch::new(not).holds(card), "{not}");
        }
    }

    #[test]
    fn the_rough_text_is_in_the_stored_json_of_every_card_found() {
        assert_eq!(CardSearch::new("Espoo").rough().as_deref(), Some("espoo"));
        // "ä" may be stored as \u00e4: only the ASCII run must be there as typed.
        assert_eq!(CardSearch::new("Äijälä").rough().as_deref(), Some("ij"));
        assert_eq!(CardSearch::new("ää").rough(), None);
        assert_eq!(
            CardSearch::new("ou=people/x").rough().as_deref(),
            Some("ou=people")
        );
    }

    #[test]
    fn a_value_holds_the_text_in_any_case_wherever_it_is() {
        let naive = |hay: &str, wanted: &str| {
            wanted.is_empty()
                || hay
                    .as_bytes()
                    .windows(wanted.len())
                    .any(|w| w.eq_ignore_ascii_case(wanted.as_bytes()))
        };
        let values = [
            "",
            "a",
            "A",
            "ab",
            "xAbAb",
            "sales-EAST-7",
            "7",
            "aaaB",
            "Ba",
            "no",
        ];
        let wanted = [
            "",
            "a",
            "ab",
            "aab",
            "east-7",
            "b",
            "7",
            "ba",
            "abab",
            "nothing here",
        ];
        for hay in values {
            for w in wanted {
                assert_eq!(
                    super::holds_ignoring_ascii_case(hay.as_bytes(), w.as_bytes()),
                    naive(hay, w),
                    "{hay:?} {w:?}"
                );
            }
        }
    }

    #[test]
    fn like_patterns_match_the_text_literally() {
        assert_eq!(super::like_escaped(r"50%_off\"), r"50\%\_off\\");
    }
}

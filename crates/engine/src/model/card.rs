//! What a load writes into a target, as plain data: a card to write, what
//! became of it, and which cards a full run may mark removed.

/// A card found for an object id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardRef {
    pub id: i64,
}

/// What happened when one record was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    Created(CardRef),
    Updated(CardRef),
    /// Updated a card that carried another task's id.
    TakenOver(CardRef),
}

/// One record to write.
#[derive(Debug)]
pub struct CardWrite<'a> {
    pub template: &'a str,
    pub folder: &'a str,
    pub key_attribute: &'a str,
    pub key: &'a str,
    /// The card id the task's cache remembers, tried first.
    pub known_card: Option<i64>,
    pub task_id: &'a str,
    /// Card values as a JSON object (compact).
    pub data: &'a str,
}

/// Cards a full run may mark removed.
#[derive(Debug)]
pub struct RemovalQuery<'a> {
    pub template: &'a str,
    pub task_id: &'a str,
    pub status_attribute: &'a str,
    pub removed_value: &'a str,
}

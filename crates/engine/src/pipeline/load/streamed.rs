//! The streamed driver: a run without limits has no guard to wait for, so
//! its changes go into the load transaction while pass one is still
//! reading, and the two use both cores.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use super::super::cache::{self, Slots};
use super::super::changes::{parse_change, written, Change};
use super::super::plan::{open_output, plan_changes};
use super::super::records::RecordShape;
use super::super::report::record_extract;
use super::super::sink::Sink;
use super::super::{Halt, RunInputs};
use super::LoadCore;
use crate::model::{Run, RunStatus};
use crate::targets::Upsert;

/// Loads while pass one reads.
pub(in crate::pipeline) struct Streamed<'a> {
    pub(in crate::pipeline) inputs: &'a RunInputs,
    pub(in crate::pipeline) shape: &'a RecordShape,
    pub(in crate::pipeline) stopped: &'a AtomicBool,
    /// How long the source took, and when it started (for the extract stage's report).
    pub(in crate::pipeline) script: (Duration, Instant),
}

impl Streamed<'_> {
    /// Validates, compares and loads `output` in one pass. An id found
    /// repeated later takes back the card its first record created, before
    /// the commit. A card its first record *updated* cannot be taken back
    /// that way: then everything is rolled back and `None` returned, and the
    /// caller runs the two-pass way (rare: repeated ids whose first record
    /// changed a card).
    pub(in crate::pipeline) fn load(
        &self,
        output: &Path,
        slots: Slots,
        mut run: Run,
    ) -> Result<Option<Run>, Halt> {
        let inputs = self.inputs;
        // Opened before the transaction: nothing that could wait on a script happens inside it.
        let output = open_output(output)?;
        let mut core = LoadCore::open(inputs, self.shape.key_attribute(), self.stopped)?;
        core.begin(&run.id)?;
        let (to_loader, from_pass_one) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
        let (plan, loaded) = std::thread::scope(|scope| {
            let core = &mut core;
            let loader = scope.spawn(move || -> Result<Outcomes, Halt> {
                let damaged = || Halt::load(RunStatus::Failed, "a change line is damaged");
                let (mut made, mut odd) = (Vec::new(), Vec::new());
                for lines in from_pass_one {
                    // Whole batches are checked at once (SIMD): pass one wrote them from valid text.
                    let lines = simdutf8::basic::from_utf8(&lines).map_err(|_| damaged())?;
                    let mut changes = Vec::new();
                    for line in lines.split('\n').filter(|l| !l.is_empty()) {
                        let (known, change) = line.split_once('\t').ok_or_else(damaged)?;
                        let (key, data) = parse_change(change).ok_or_else(damaged)?;
                        changes.push(Change {
                            id: cache::key_hash(&key),
                            known: known.parse().ok(),
                            key,
                            data,
                        });
                    }
                    let outcomes = core.write(&changes)?;
                    for (c, &outcome) in changes.iter().zip(outcomes) {
                        match Made::new(c.id, outcome) {
                            Some(m) => made.push(m),
                            None => odd.push((c.id, outcome)),
                        }
                    }
                }
                Ok((made, odd))
            });
            let sink = Sink::Stream {
                to_loader,
                pending: Vec::new(),
            };
            let plan = plan_changes(output, &inputs.dir, self.shape, slots, sink, &inputs.progress);
            let loaded = loader
                .join()
                .unwrap_or_else(|_| Err(Halt::load(RunStatus::Failed, "the load stopped unexpectedly")));
            (plan, loaded)
        });
        // A stopped or failed loader explains a pass one that ended early; an
        // invalid output explains a loader that was cut off.
        let (mut plan, loaded) = match (plan, loaded) {
            (Ok(plan), Ok(loaded)) => (plan, loaded),
            (Err(halt), Ok(_)) | (_, Err(halt)) => {
                core.rollback();
                return Err(halt);
            }
        };
        let mut counts = plan.counts.clone();
        let (made, odd) = loaded;
        for (id, outcome) in made.into_iter().map(Made::read).chain(odd) {
            let slot = plan.slots.get_mut(&id).filter(|s| s.loadable());
            match (slot, outcome) {
                (Some(slot), outcome) => written(&mut counts, slot, outcome),
                // Its id turned up again later: all its records are blocked.
                (None, Upsert::Created(c)) => core.take_back(c)?,
                (None, Upsert::Failed | Upsert::Unchanged(_)) => {}
                (None, Upsert::Updated(_) | Upsert::TakenOver(_)) => {
                    core.rollback();
                    return Ok(None);
                }
            }
        }
        // Which of the task's cards were not fetched is known only now.
        let query = core.removal_query(&run);
        let candidates = core.removal_candidates(query.as_ref(), &plan.slots)?;
        let (script_time, script_started) = self.script;
        record_extract(
            &mut run,
            &plan.counts,
            script_time,
            script_started.elapsed() - script_time,
        );
        core.mark_removals(query.as_ref(), &candidates, &mut counts)?;
        core.commit(&plan, counts, run).map(Some)
    }
}

/// What the load did to each id: packed, and the few whose card id does not pack.
type Outcomes = (Vec<Made>, Vec<(u64, Upsert)>);

/// What the load did to one id, kept until pass one has finished (a million
/// of them on a first load): 16 bytes, the kind of write in the top two bits
/// of the card id, where an id and an [`Upsert`] side by side take 24. The
/// fourth kind is shared: a failure has no card (0), an unchanged card has
/// one (card ids start at 1).
#[derive(Debug, Clone, Copy)]
struct Made {
    id: u64,
    outcome: u64,
}

/// Card ids up to this leave the top two bits free.
const CARD_BITS: u64 = (1 << 62) - 1;

impl Made {
    /// `None` for a card id the top bits cannot be added to (not positive or
    /// beyond 2^62: not seen in practice; the caller keeps such an outcome as it is).
    fn new(id: u64, outcome: Upsert) -> Option<Made> {
        let (kind, card) = match outcome {
            Upsert::Created(c) => (0, c.id),
            Upsert::Updated(c) => (1, c.id),
            Upsert::TakenOver(c) => (2, c.id),
            Upsert::Unchanged(c) => (3, c.id),
            Upsert::Failed => (3, 0),
        };
        let failed = outcome == Upsert::Failed;
        let card = u64::try_from(card)
            .ok()
            .filter(|&c| c <= CARD_BITS && (failed || c > 0))?;
        Some(Made {
            id,
            outcome: kind << 62 | card,
        })
    }

    fn read(self) -> (u64, Upsert) {
        let card = crate::targets::CardRef {
            id: (self.outcome & CARD_BITS) as i64,
        };
        let outcome = match self.outcome >> 62 {
            0 => Upsert::Created(card),
            1 => Upsert::Updated(card),
            2 => Upsert::TakenOver(card),
            _ if card.id > 0 => Upsert::Unchanged(card),
            _ => Upsert::Failed,
        };
        (self.id, outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::Made;
    use crate::targets::CardRef;
    use crate::targets::Upsert;

    #[test]
    fn an_outcome_reads_back_as_written_and_odd_card_ids_are_left_to_the_caller() {
        for outcome in [
            Upsert::Created(CardRef { id: 1 }),
            Upsert::Updated(CardRef { id: (1 << 62) - 1 }),
            Upsert::TakenOver(CardRef { id: 77 }),
            Upsert::Unchanged(CardRef { id: 1 }),
            Upsert::Unchanged(CardRef { id: (1 << 62) - 1 }),
            Upsert::Failed,
        ] {
            assert_eq!(Made::new(9, outcome).unwrap().read(), (9, outcome));
        }
        assert!(Made::new(9, Upsert::Created(CardRef { id: 1 << 62 })).is_none());
        assert!(Made::new(9, Upsert::Updated(CardRef { id: -1 })).is_none());
        assert!(Made::new(9, Upsert::Unchanged(CardRef { id: 0 })).is_none());
    }
}

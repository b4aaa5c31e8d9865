//! The two-pass driver: a task with limits has pass one spill its changes;
//! the guard decides on the plan's numbers, then this reads the spill into
//! the load transaction. With `on_limit: hold_excess` the part of the plan
//! that took it over the update limit is held for a person instead.

use std::borrow::Cow;
use std::collections::HashSet;
use std::io::BufReader;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use super::super::changes::{next_lines, parse_change, written, Change};
use super::super::guard::{self, Excess};
use super::super::held::HeldChanges;
use super::super::plan::Plan;
use super::super::records::RecordShape;
use super::super::{cache, Halt, RunInputs, SPILL};
use super::{Candidates, LoadCore};
use crate::model::{Run, RunStatus};
use crate::targets::Foreseen;

/// Guards, then loads the spill.
pub(in crate::pipeline) struct TwoPass<'a> {
    pub(in crate::pipeline) inputs: &'a RunInputs,
    pub(in crate::pipeline) shape: &'a RecordShape,
    pub(in crate::pipeline) stopped: &'a AtomicBool,
}

impl TwoPass<'_> {
    /// Guard, load and commit, on the target's own connection (blocking).
    pub(in crate::pipeline) fn load(&self, mut plan: Plan, run: Run) -> Result<Run, Halt> {
        let (inputs, task) = (self.inputs, &self.inputs.task);
        let mut core = LoadCore::open(inputs, self.shape.key_attribute(), self.stopped)?;
        let query = core.removal_query(&run);
        let mut candidates = core.removal_candidates(query.as_ref(), &plan.slots)?;

        // ---- guard ----
        let mut planned = guard::Planned {
            valid: plan.counts.valid,
            held: inputs.source.rows_held(&inputs.dir),
            creates: plan.creates,
            updates: plan.updates,
            removals: candidates.len() as u64,
        };
        // Pass one plans every record its cache does not know as a new card:
        // after a cache clear (every night by default, and at each start)
        // that is every record. Over the update limit, those are counted by
        // what they would do to the cards instead, as the load will find them.
        let mut changing = HashSet::new();
        if plan.creates > 0 && guard::over_update_limit(&task.limits, &planned, inputs.approved) {
            let (same, changes) = foresee_unknown(&mut core, &plan, &mut changing)?;
            plan.creates -= same + changes;
            plan.updates += changes;
            (planned.creates, planned.updates) = (plan.creates, plan.updates);
        }
        // `on_limit: hold_excess`: the rest loads; what took the run over the limit waits for a person.
        let excess = guard::excess(&task.limits, &planned, inputs.approved);
        let held_removals = match excess {
            Some(_) => std::mem::take(&mut candidates),
            None => Vec::new(),
        };
        let mut held_changes = match excess {
            Some(Excess::ChangesAndRemovals) => Some(HeldChanges::create(&inputs.dir)?),
            _ => None,
        };
        if excess.is_none() {
            self.refuse_over_limits(&planned, &plan, &candidates)?;
        }

        // ---- load ----
        core.begin(&run.id)?;
        let mut spill = Spill::open(inputs)?;
        let mut counts = plan.counts.clone();
        while let Some(lines) = spill.next_batch()? {
            let mut changes = Vec::new();
            for line in lines {
                let (key, data, id) = spilled(line)?;
                let Some(slot) = plan.slots.get(&id).filter(|s| s.loadable()) else {
                    continue;
                };
                let changes_card = slot.changed() || changing.contains(&id);
                if let Some(held) = held_changes.as_mut().filter(|_| changes_card) {
                    held.hold(id, slot.card, slot.new_hash, line)?;
                    continue;
                }
                changes.push(Change {
                    id,
                    known: slot.cached.then_some(slot.card),
                    key,
                    data,
                });
            }
            let outcomes = match core.write(&changes) {
                Ok(outcomes) => outcomes,
                Err(halt) => {
                    core.rollback();
                    return Err(halt);
                }
            };
            for (change, outcome) in changes.iter().zip(outcomes) {
                if let Some(slot) = plan.slots.get_mut(&change.id) {
                    written(&mut counts, slot, *outcome);
                }
            }
        }
        if let Some(excess) = excess {
            let held_updates = match held_changes {
                Some(held) => held.finish()?,
                None => Vec::new(),
            };
            counts.held = self.keep_held(excess, &mut plan, &held_removals, &held_updates)?;
        }
        core.mark_removals(query.as_ref(), &candidates, &mut counts)?;
        core.commit(&plan, counts, run)
    }

    /// Refuses a plan over the task's limits (the manual's behaviour),
    /// leaving the plan a person may approve in the run's folder.
    fn refuse_over_limits(
        &self,
        planned: &guard::Planned,
        plan: &Plan,
        candidates: &Candidates,
    ) -> Result<(), Halt> {
        let inputs = self.inputs;
        let Some((case, reason, facts)) = guard::refusal_case(&inputs.task.limits, planned, inputs.approved)
        else {
            return Ok(());
        };
        let plan_file = crate::run_folder::PlanFile {
            reason: reason.clone(),
            // Which limit refused: what approving can help with (Engine::interruption_help).
            limit: case.as_str().into(),
            new: plan.creates,
            changed: plan.updates,
            removals: candidates.len() as u64,
            removed_object_ids: candidates.iter().take(10_000).map(|(_, k)| k.clone()).collect(),
            changes_file: SPILL.into(),
        };
        let _ = plan_file.write(&inputs.dir);
        Err(Halt {
            case: Some(case),
            facts: Some(facts),
            ..Halt::load(RunStatus::Interrupted, reason)
        })
    }

    /// Keeps what the run held in its folder (`held.json`) and leaves the
    /// held cards' cache entries as they were; returns how many were held.
    fn keep_held(
        &self,
        excess: Excess,
        plan: &mut Plan,
        held_removals: &Candidates,
        held_updates: &[u64],
    ) -> Result<u64, Halt> {
        let inputs = self.inputs;
        // The cache keeps what the held cards held before: until a person
        // applies them, the next run plans them again (and a card whose
        // removal is held is still there, as the cache knew it).
        for id in held_updates {
            if let Some(slot) = plan.slots.get_mut(id) {
                slot.new_hash = slot.cached_hash;
                // Not the record the card holds: the next run must read it again.
                (slot.new_record, slot.same_record) = (0, false);
            }
        }
        for (_, key) in held_removals {
            if let Some(slot) = plan.slots.get_mut(&cache::key_hash(key)) {
                slot.held = true;
            }
        }
        let limit = inputs.task.limits.update_limit.unwrap_or_default();
        let total = plan.creates + plan.updates + held_removals.len() as u64;
        let held_what = crate::run_folder::held_what(held_updates.len() as u64, held_removals.len() as u64);
        let reason = format!(
            "{held_what} would take the run's {total} changes over the update limit of {limit}; \
             they are held until a person approves them{}",
            match (excess, plan.creates) {
                (Excess::Removals, _) | (_, 0) => String::new(),
                (_, 1) => " (the new card was loaded)".into(),
                (_, n) => format!(" (the {n} new cards were loaded)"),
            },
        );
        crate::run_folder::HeldFile {
            reason,
            removals: held_removals
                .iter()
                .map(|(card, key)| (card.id, key.clone()))
                .collect(),
            updates: held_updates.len() as u64,
            applied_by: None,
        }
        .write(&inputs.dir)
        .map_err(|e| Halt::io("cannot keep what the run held in", &inputs.dir, e))?;
        plan.held_updates = held_updates.len() as u64;
        Ok(held_removals.len() as u64 + plan.held_updates)
    }
}

/// The spill pass one wrote, read a batch of whole lines at a time.
struct Spill {
    reader: BufReader<std::fs::File>,
    path: PathBuf,
    batch: Vec<u8>,
}

impl Spill {
    fn open(inputs: &RunInputs) -> Result<Spill, Halt> {
        let path = inputs.dir.join(SPILL);
        let file = std::fs::File::open(&path).map_err(|e| Halt::io("cannot read", &path, e))?;
        Ok(Spill {
            reader: BufReader::with_capacity(1 << 20, file),
            path,
            batch: Vec::with_capacity(1 << 20),
        })
    }

    /// The next batch's change lines, `None` at the end.
    fn next_batch(&mut self) -> Result<Option<impl Iterator<Item = &str>>, Halt> {
        if !next_lines(&mut self.reader, &mut self.batch)
            .map_err(|e| Halt::io("cannot read", &self.path, e))?
        {
            return Ok(None);
        }
        let lines = simdutf8::basic::from_utf8(&self.batch).map_err(|_| damaged())?;
        Ok(Some(lines.split('\n').filter(|l| !l.is_empty())))
    }
}

/// A change line of the spill: its object key, its card values and the key's hash.
fn spilled(line: &str) -> Result<(Cow<'_, str>, &str, u64), Halt> {
    let (key, data) = parse_change(line).ok_or_else(damaged)?;
    let id = cache::key_hash(&key);
    Ok((key, data, id))
}

fn damaged() -> Halt {
    Halt::load(RunStatus::Failed, "the change file is damaged")
}

/// Reads the spill for the records the cache did not know and asks the
/// target what writing them would do (nothing is written): how many would
/// leave their card as it is and how many would change one; `changing`
/// gets the ids of the latter.
fn foresee_unknown(
    core: &mut LoadCore,
    plan: &Plan,
    changing: &mut HashSet<u64>,
) -> Result<(u64, u64), Halt> {
    let mut spill = Spill::open(core.inputs)?;
    let (mut same, mut changes) = (0, 0);
    while let Some(lines) = spill.next_batch()? {
        let mut unknown = Vec::new();
        for line in lines {
            let (key, data, id) = spilled(line)?;
            if plan.slots.get(&id).is_some_and(|s| s.loadable() && !s.cached) {
                unknown.push(Change {
                    id,
                    known: None,
                    key,
                    data,
                });
            }
        }
        for (change, foreseen) in unknown.iter().zip(core.foresee(&unknown)?) {
            match foreseen {
                Foreseen::New => {}
                Foreseen::Same => same += 1,
                Foreseen::Changes => {
                    changes += 1;
                    changing.insert(change.id);
                }
            }
        }
    }
    Ok((same, changes))
}

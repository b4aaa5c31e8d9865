import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, errorMessage } from "../api";
import type { InterruptionHelp, PlannedCard, RunCounts } from "../bindings";
import { cardText, changesText, count as formatCount, fieldValuesText, plural } from "../format";
import { Modal } from "./Modal";
import { invalidate, queryKeys, runKeys } from "../queryKeys";

/**
 * The review each kind of help offers: its button's words, and the start of
 * the accessible name of an alert's button (`Review and approve alert 7`).
 * None for a run that only needs fixing.
 */
export const REVIEWS: Partial<Record<InterruptionHelp, { button: string; name: string }>> = {
  approve_plan: { button: "Review and approve…", name: "Review and approve" },
  apply_held: { button: "Review held changes…", name: "Review held changes of" },
  review_plan: { button: "Review…", name: "Review" },
};

/**
 * What an interrupted or holding run would write, then Approve and run (the
 * update limit lifted once) or Apply held changes. Opened from its alert or
 * from the run's detail; approving or applying marks the run's alerts seen
 * (the engine does, wherever it was asked from).
 */
export function ApproveRun({
  runId,
  task,
  help,
  onClose,
}: {
  runId: string;
  task: string;
  help: InterruptionHelp;
  onClose: () => void;
}) {
  const client = useQueryClient();
  const plan = useQuery({ queryKey: queryKeys.runs.plannedChanges(runId), queryFn: () => api.plannedChanges(runId) });
  const held = help === "apply_held";
  const approve = useMutation({
    // Held changes are applied as they were kept; an interrupted run's task runs again.
    mutationFn: () => (held ? api.applyHeld(runId) : api.approveRun(runId)),
    onSettled: () => invalidate(client, ...runKeys()),
  });
  const p = plan.data;
  const approvable = p?.help === "approve_plan" || p?.help === "apply_held";
  const count = (n: number | null) => (n === null ? "not planned" : formatCount(n));
  // Changed cards named: a held run names its first 200 (the first 50 field by field); an interrupted one shows the first 50.
  const listed = p ? Math.max(p.changed_object_ids.length, p.changed_cards.length) : 0;
  return (
    <Modal
      label={held ? "Apply held changes" : help === "review_plan" ? "Review interrupted run" : "Approve interrupted run"}
      heading={`${held ? "Held changes of" : help === "review_plan" ? "Review" : "Approve"} ${task}`}
      wide
    >
      {plan.isPending && <p>Reading the plan…</p>}
      {plan.error && <div className="banner error">{errorMessage(plan.error)}</div>}
      {p && (
        <section aria-label="Planned changes">
          <p>
            {held ? "The run loaded its other changes and held these: " : "The run stopped before loading: "}
            <strong>{p.reason}</strong>
          </p>
          <dl className="counts" data-testid="planned-counts">
            {/* New cards are never held: the run loaded them. */}
            {!held && (
              <>
                <dt>New</dt>
                <dd>{count(p.new)}</dd>
              </>
            )}
            <dt>Changed</dt>
            <dd>{count(p.changed)}</dd>
            <dt>Marked removed</dt>
            <dd>{count(p.removals)}</dd>
          </dl>
          {p.cards_unread && (
            <div className="banner warning" data-testid="cards-unread">
              The cards could not be read from the target, so only their keys are listed: {p.cards_unread}
            </div>
          )}
          {p.new_cards.length > 0 && (
            <>
              <h3>
                Would be created{p.new !== null && p.new > p.new_cards.length ? ` (the first ${p.new_cards.length})` : ""}
              </h3>
              {/* Whom: a file whose ids changed format plans the same people as new (and the old ones as removed). */}
              <ul className="undo-plan" data-testid="planned-new">
                {p.new_cards.map((c) => (
                  <li key={c.object_id}>
                    {c.object_id}
                    {c.values.length > 0 && ` (${fieldValuesText(c.values)})`}
                  </li>
                ))}
              </ul>
            </>
          )}
          {(p.changed_object_ids.length > 0 || p.changed_cards.length > 0) && (
            <>
              <h3>
                {held ? "Held, to be changed as the source says" : "Would be changed as the source says"}
                {p.changed !== null && p.changed > listed ? ` (the first ${listed})` : ""}
              </h3>
              {/* Field by field, as the undo plan reads: what applying writes over what the card holds now. */}
              <PlannedList cards={p.changed_cards} ids={p.changed_object_ids} testId="planned-changed" />
            </>
          )}
          {p.removed_object_ids.length > 0 && (
            <>
              <h3>{held ? "Held, to be marked removed" : "Would be marked removed"}{p.removals !== null && p.removals > p.removed_object_ids.length ? ` (the first ${p.removed_object_ids.length})` : ""}</h3>
              {/* Whose cards they are, not only their keys: a truncated file reads as a list of names. */}
              <PlannedList cards={p.removed_cards} ids={p.removed_object_ids} testId="planned-removals" />
            </>
          )}
          {held ? (
            <p className="hint">Applying writes these cards now, once, as a run of its own (it can be undone).</p>
          ) : approvable ? (
            <p className="hint">Approving runs the task again now, with the update limit lifted for that one run.</p>
          ) : (
            <p className="hint" data-testid="not-approvable">
              Approving cannot help: the minimum row count is never lifted. Deliver the whole file, or lower the
              connector&apos;s minimum_row_count, then run the task again.
            </p>
          )}
        </section>
      )}
      {approve.error && <div className="banner error">{errorMessage(approve.error)}</div>}
      {approve.data && (
        <div className="banner notice" role="status">
          {held
            ? `Applied: run ${approve.data.id.slice(0, 8)} ${appliedWords(approve.data.counts)}.`
            : `Approved: run ${approve.data.id.slice(0, 8)} started.`}
        </div>
      )}
      <div className="actions">
        <button type="button" onClick={onClose}>
          {approve.data ? "Close" : "Cancel"}
        </button>
        {!approve.data && approvable && (
          <button type="button" className="danger" disabled={!p || approve.isPending} onClick={() => approve.mutate()}>
            {held ? "Apply held changes" : "Approve and run"}
          </button>
        )}
      </div>
    </Modal>
  );
}

/** What a run that applied held changes did, in words. */
function appliedWords(counts: RunCounts): string {
  const parts = [];
  if (counts.updated > 0) parts.push(`changed ${plural(counts.updated, "card")}`);
  if (counts.created > 0) parts.push(`created ${plural(counts.created, "card")}`);
  if (counts.removed > 0 || parts.length === 0) parts.push(`marked ${plural(counts.removed, "card")} removed`);
  return parts.join(" and ");
}

/** The first cards a plan writes, each on its line; then the ids of the rest (all ids when the cards could not be read). */
function PlannedList({ cards, ids, testId }: { cards: PlannedCard[]; ids: string[]; testId: string }) {
  if (cards.length === 0) {
    return (
      <pre className="log" data-testid={testId}>
        {ids.join("\n")}
      </pre>
    );
  }
  return (
    <ul className="undo-plan" data-testid={testId}>
      {cards.map((c) => (
        <PlannedCardItem key={c.card_id} card={c} />
      ))}
      {ids.length > cards.length && (
        <li>
          … and {ids.length - cards.length} more: {ids.slice(cards.length).join(", ")}
        </li>
      )}
    </ul>
  );
}

/** `E-1 (card 12: last_name Smith, first_name Ann) — status: Active → Removed`: whose card, and what it becomes. */
function PlannedCardItem({ card }: { card: PlannedCard }) {
  return (
    <li>
      {cardText(card)}
      {card.changes.length === 0
        ? ": holds these values already"
        : changesText(card.changes)}
    </li>
  );
}

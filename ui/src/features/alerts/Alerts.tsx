import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, errorMessage } from "../../api";
import type { Alert, RunCounts } from "../../bindings";
import { useAlertNotifications } from "../../notify";
import { plural, valueText, when } from "../../format";
import { invalidate, queryKeys, runKeys } from "../../queryKeys";

export const alertsQuery = { queryKey: queryKeys.alerts(), queryFn: () => api.listAlerts(200), refetchInterval: 15_000 };

/**
 * The top bar's `Alerts` button: how many alerts a user must still look at
 * (the unacknowledged ones, in every environment type), coloured by the most
 * severe of them (critical red, warning amber); and the list it opens.
 */
export function AlertsButton() {
  const alerts = useQuery(alertsQuery);
  const [open, setOpen] = useState(false);
  useAlertNotifications(alerts.data);
  const unseen = (alerts.data ?? []).filter((a) => !a.acknowledged);
  const critical = unseen.filter((a) => a.severity === "critical").length;
  const tone = critical > 0 ? "critical" : unseen.length > 0 ? "warning" : "";
  return (
    <>
      <button
        type="button"
        className={tone ? `alerts ${tone}` : "alerts"}
        aria-label="Alerts"
        aria-describedby="alerts-count"
        aria-expanded={open}
        onClick={() => setOpen((o) => !o)}
      >
        Alerts{" "}
        <span
          id="alerts-count"
          className="badge"
          data-testid="alerts-count"
          title={`${unseen.length} unacknowledged: ${critical} critical, ${unseen.length - critical} warnings`}
        >
          {unseen.length}
        </span>
      </button>
      {open && <AlertsList onClose={() => setOpen(false)} />}
    </>
  );
}

export function AlertsList({ onClose }: { onClose: () => void }) {
  const client = useQueryClient();
  const alerts = useQuery(alertsQuery);
  const ack = useMutation({
    mutationFn: (id: number) => api.acknowledgeAlert(id),
    onSettled: () => client.invalidateQueries({ queryKey: queryKeys.alerts() }),
  });
  const [reviewing, setReviewing] = useState<Alert | null>(null);
  const list = alerts.data ?? [];
  return (
    <div className="alerts-panel" role="dialog" aria-label="Alerts list">
      <div className="editor-bar">
        <h2>Alerts</h2>
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      {(alerts.error ?? ack.error) && <div className="banner error">{errorMessage(alerts.error ?? ack.error)}</div>}
      {list.length === 0 ? (
        <p className="empty">No alerts: failed scheduled runs, failed event invocations and interrupted runs appear here.</p>
      ) : (
        <table className="grid" aria-label="Alerts">
          <thead>
            <tr>
              <th>Time</th>
              <th>Severity</th>
              <th>Task</th>
              <th>Status</th>
              <th>Message</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((a) => (
              <tr key={a.id} data-testid="alert-row" className={a.acknowledged ? "" : "bad"}>
                <td>{when(a.created_at)}</td>
                <td>{a.severity}</td>
                <td>{a.task}</td>
                <td>{a.status}</td>
                <td>{a.message}</td>
                <td className="actions-inline">
                  {/* The engine's one rule: approving helps only an update-limit trip; a
                      minimum-row trip can be reviewed; anything else needs fixing first. */}
                  {a.help === "approve_plan" && a.run_id && !a.acknowledged && (
                    <button type="button" aria-label={`Review and approve alert ${a.id}`} onClick={() => setReviewing(a)}>
                      Review and approve…
                    </button>
                  )}
                  {a.help === "apply_held" && a.run_id && !a.acknowledged && (
                    <button type="button" aria-label={`Review held changes of alert ${a.id}`} onClick={() => setReviewing(a)}>
                      Review held changes…
                    </button>
                  )}
                  {a.help === "review_plan" && a.run_id && !a.acknowledged && (
                    <button type="button" aria-label={`Review alert ${a.id}`} onClick={() => setReviewing(a)}>
                      Review…
                    </button>
                  )}
                  {a.acknowledged ? (
                    "seen"
                  ) : (
                    <button type="button" aria-label={`Acknowledge alert ${a.id}`} onClick={() => ack.mutate(a.id)}>
                      Acknowledge
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {reviewing?.run_id && <ApproveRun alert={reviewing} runId={reviewing.run_id} onClose={() => setReviewing(null)} />}
    </div>
  );
}

/** An interrupted run's planned changes, then Approve and run (the limits that stopped it lifted once). */
function ApproveRun({ alert, runId, onClose }: { alert: Alert; runId: string; onClose: () => void }) {
  const client = useQueryClient();
  const plan = useQuery({ queryKey: queryKeys.runs.plannedChanges(runId), queryFn: () => api.plannedChanges(runId) });
  const held = alert.help === "apply_held";
  const approve = useMutation({
    mutationFn: async () => {
      // Held changes are applied as they were kept; an interrupted run's task runs again.
      const run = held ? await api.applyHeld(runId) : await api.approveRun(runId);
      await api.acknowledgeAlert(alert.id);
      return run;
    },
    onSettled: () => invalidate(client, ...runKeys()),
  });
  const p = plan.data;
  const approvable = p?.help === "approve_plan" || p?.help === "apply_held";
  const count = (n: number | null) => (n === null ? "not planned" : n.toLocaleString());
  // Changed cards named: a held run names its first 200 (the first 50 field by field); an interrupted one shows the first 50.
  const listed = p ? Math.max(p.changed_object_ids.length, p.changed_cards.length) : 0;
  return (
    <div className="backdrop">
      <div
        role="dialog"
        aria-modal="true"
        aria-label={held ? "Apply held changes" : alert.help === "review_plan" ? "Review interrupted run" : "Approve interrupted run"}
        className="dialog wide-dialog"
      >
        <h2>
          {held ? "Held changes of" : alert.help === "review_plan" ? "Review" : "Approve"} {alert.task}
        </h2>
        {plan.isPending && <p>Reading the plan…</p>}
        {plan.error && <div className="banner error">{errorMessage(plan.error)}</div>}
        {p && (
          <section aria-label="Planned changes">
            <p>
              {held ? "The run loaded its other changes and held these: " : "The run stopped before loading: "}
              <strong>{p.reason}</strong>
            </p>
            <dl className="detail-grid" data-testid="planned-counts">
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
            {(p.changed_object_ids.length > 0 || p.changed_cards.length > 0) && (
              <>
                <h3>
                  {held ? "Held, to be changed as the source says" : "Would be changed as the source says"}
                  {p.changed !== null && p.changed > listed ? ` (the first ${listed})` : ""}
                </h3>
                {p.changed_cards.length > 0 ? (
                  // Field by field, as the undo plan reads: what applying writes over what the card holds now.
                  <ul className="undo-plan" data-testid="planned-changed">
                    {p.changed_cards.map((c) => (
                      <li key={c.card_id}>
                        {c.object_id} (card {c.card_id})
                        {c.changes.length === 0
                          ? ": holds these values already"
                          : c.changes.map((f) => ` — ${f.field}: ${valueText(f.from)} → ${valueText(f.to)}`).join("")}
                      </li>
                    ))}
                    {p.changed_object_ids.length > p.changed_cards.length && (
                      <li>
                        … and {p.changed_object_ids.length - p.changed_cards.length} more:{" "}
                        {p.changed_object_ids.slice(p.changed_cards.length).join(", ")}
                      </li>
                    )}
                  </ul>
                ) : (
                  <pre className="log" data-testid="planned-changed">{p.changed_object_ids.join("\n")}</pre>
                )}
              </>
            )}
            {p.removed_object_ids.length > 0 && (
              <>
                <h3>{held ? "Held, to be marked removed" : "Would be marked removed"}{p.removals !== null && p.removals > p.removed_object_ids.length ? ` (the first ${p.removed_object_ids.length})` : ""}</h3>
                <pre className="log" data-testid="planned-removals">{p.removed_object_ids.join("\n")}</pre>
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
      </div>
    </div>
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

import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, errorMessage } from "../../api";
import type { Alert } from "../../bindings";
import { ApproveRun, REVIEWS } from "../../components/ApproveRun";
import { useAlertNotifications } from "../../notify";
import { when } from "../../format";
import { queryKeys } from "../../queryKeys";
import type { Screen } from "../../navigation";

/** Opens a run's detail (its log, its files) on the Overview tab. */
type OpenRun = (run: Extract<Screen, { kind: "run" }>) => void;

export const alertsQuery = { queryKey: queryKeys.alerts(), queryFn: () => api.listAlerts(200), refetchInterval: 15_000 };

/**
 * The top bar's `Alerts` button: how many alerts a user must still look at
 * (the unacknowledged ones, in every environment type), coloured by the most
 * severe of them (critical red, warning amber); and the list it opens.
 */
export function AlertsButton({ onOpenRun }: { onOpenRun: OpenRun }) {
  const alerts = useQuery(alertsQuery);
  const [open, setOpen] = useState(false);
  useAlertNotifications(alerts.data);
  const unseen = (alerts.data ?? []).filter((a) => !a.acknowledged);
  const critical = unseen.filter((a) => a.severity === "critical").length;
  const tone = critical > 0 ? "critical" : unseen.length > 0 ? "warning" : "";
  return (
    <>
      {/* The count is drawn over the button's end but is not inside it: the
          button's name stays its visible word, "Alerts", and the count is its
          description. A click on the count reaches the button beneath. */}
      <span className="alerts-control">
        <button
          type="button"
          className={tone ? `alerts ${tone}` : "alerts"}
          aria-describedby="alerts-count"
          aria-expanded={open}
          title={`${unseen.length} unacknowledged: ${critical} critical, ${unseen.length - critical} warnings`}
          onClick={() => setOpen((o) => !o)}
        >
          Alerts
        </button>
        <span id="alerts-count" className="badge" data-testid="alerts-count">
          {unseen.length}
        </span>
      </span>
      {open && (
        <AlertsList
          onClose={() => setOpen(false)}
          onOpenRun={(run) => {
            setOpen(false);
            onOpenRun(run);
          }}
        />
      )}
    </>
  );
}

export function AlertsList({ onClose, onOpenRun }: { onClose: () => void; onOpenRun: OpenRun }) {
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
                <td>
                  <div className="actions-inline wrapping">
                    {/* The engine's one rule: approving helps only an update-limit trip; a
                        minimum-row trip can be reviewed; anything else needs fixing first. */}
                    {a.help && REVIEWS[a.help] && a.run_id && !a.acknowledged && (
                      <button type="button" aria-label={`${REVIEWS[a.help]?.name} alert ${a.id}`} onClick={() => setReviewing(a)}>
                        {REVIEWS[a.help]?.button}
                      </button>
                    )}
                    {/* What happened, in the run's own log and files. */}
                    {a.run_id && a.task_id && (
                      <button
                        type="button"
                        aria-label={`Open run of alert ${a.id}`}
                        onClick={() => a.run_id && a.task_id && onOpenRun({ kind: "run", runId: a.run_id, taskId: a.task_id, taskName: a.task })}
                      >
                        Open run
                      </button>
                    )}
                    {a.acknowledged ? (
                      "seen"
                    ) : (
                      <button type="button" aria-label={`Acknowledge alert ${a.id}`} onClick={() => ack.mutate(a.id)}>
                        Acknowledge
                      </button>
                    )}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {reviewing?.run_id && reviewing.help && (
        <ApproveRun runId={reviewing.run_id} task={reviewing.task} help={reviewing.help} onClose={() => setReviewing(null)} />
      )}
    </div>
  );
}

import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, errorMessage } from "../api";
import { when } from "../tabs/TasksPanel";

export const alertsQuery = { queryKey: ["alerts"], queryFn: () => api.listAlerts(200), refetchInterval: 15_000 };

/** The top bar's `Alerts` button (with the count of unacknowledged critical alerts) and the list it opens. */
export function AlertsButton() {
  const alerts = useQuery(alertsQuery);
  const [open, setOpen] = useState(false);
  const unseen = (alerts.data ?? []).filter((a) => !a.acknowledged);
  const critical = unseen.filter((a) => a.severity === "critical").length;
  return (
    <>
      <button
        type="button"
        className={critical > 0 ? "alerts critical" : "alerts"}
        aria-label="Alerts"
        aria-describedby="alerts-count"
        aria-expanded={open}
        onClick={() => setOpen((o) => !o)}
      >
        Alerts <span id="alerts-count" className="badge" data-testid="alerts-count" title={`${critical} unacknowledged critical, ${unseen.length} unacknowledged in all`}>{critical}</span>
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
    onSettled: () => client.invalidateQueries({ queryKey: ["alerts"] }),
  });
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
    </div>
  );
}

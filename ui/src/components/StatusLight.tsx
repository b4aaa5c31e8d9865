import type { ConnectorStatus } from "../bindings";

/** The words every status light carries (its accessible name and tooltip). */
export const STATUS_TEXT: Record<ConnectorStatus, string> = {
  none: "",
  waiting: "Waiting: no scheduled task has run yet",
  ok: "OK: every scheduled task's last run succeeded",
  warning: "Problem: one of several scheduled tasks failed",
  failed: "Failed: the last run failed",
};

/** The Overview's status column: green, red, orange, a grey clock, or nothing. */
export function StatusLight({ status }: { status: ConnectorStatus }) {
  if (status === "none") return null;
  const text = STATUS_TEXT[status];
  if (status === "waiting") {
    return (
      <span className="clock" role="img" aria-label={text} title={text} data-status={status}>
        ◷
      </span>
    );
  }
  const colour = { ok: "green", warning: "orange", failed: "red" }[status];
  return <span className={`dot ${colour}`} role="img" aria-label={text} title={text} data-status={status} />;
}

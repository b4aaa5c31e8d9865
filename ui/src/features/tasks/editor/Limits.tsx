import type { ConnectorTaskSettings, Limits, OnLimit } from "../../../bindings";
import { Field } from "../../../components/Field";
import { type Part, num } from "./part";

export function LimitsSection({ draft, set, fromConnector }: Part & { fromConnector: ConnectorTaskSettings | null }) {
  const l: Limits = draft.limits ?? { update_limit: null, override_update_limit: false, minimum_row_count: null, on_limit: "interrupt" };
  // What a run does over the limit is the task's own, whoever sets the limit.
  const onLimit = (
    <Field
      label="Over the update limit"
      hint="hold what went over: when removals take a run over the limit, the new and changed cards load and the removals wait for approval from the alert; when changed cards do, the new cards load and the changed cards wait with the removals"
    >
      <select aria-label="Over the update limit" value={l.on_limit ?? "interrupt"} onChange={(e) => set({ limits: { ...l, on_limit: e.target.value as OnLimit } })}>
        <option value="interrupt">Interrupt the run: load nothing until approved</option>
        <option value="hold_excess">Load the rest, hold what went over for approval</option>
      </select>
    </Field>
  );
  if (fromConnector) {
    // An HR task runs with its connector's limits: shown here, set in the connector's block.
    const c = fromConnector.limits;
    return (
      <div className="form" data-testid="limits-from-connector">
        <p className="hint">These limits apply to every run of this task. They are set in {fromConnector.source}.</p>
        <dl className="detail-grid">
          <dt>Update limit</dt>
          <dd>{c.update_limit ?? (fromConnector.run_type === "partial" ? "none" : "none (full runs)")}</dd>
          <dt>Always override the update limit</dt>
          <dd>{c.override_update_limit ? "yes" : "no"}</dd>
          <dt>Minimum row count</dt>
          <dd>{c.minimum_row_count ?? "none"}</dd>
        </dl>
        {onLimit}
      </div>
    );
  }
  return (
    <div className="form">
      <Field label="Update limit" hint="creates + updates + removals a run may make before it waits for approval">
        <input type="number" min={0} aria-label="Update limit" value={l.update_limit ?? ""} onChange={(e) => set({ limits: { ...l, update_limit: num(e.target.value) } })} />
      </Field>
      <Field
        label="Always override the update limit"
        hint="a standing setting: every run goes past the update limit; to let one interrupted run through, approve it from its alert"
      >
        <input type="checkbox" aria-label="Always override the update limit" checked={l.override_update_limit ?? false} onChange={(e) => set({ limits: { ...l, override_update_limit: e.target.checked } })} />
      </Field>
      <Field label="Minimum row count" hint="fewer records than this interrupts the run">
        <input type="number" min={0} aria-label="Minimum row count" value={l.minimum_row_count ?? ""} onChange={(e) => set({ limits: { ...l, minimum_row_count: num(e.target.value) } })} />
      </Field>
      {onLimit}
    </div>
  );
}

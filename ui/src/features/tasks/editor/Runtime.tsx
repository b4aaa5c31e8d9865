import { Field } from "../../../components/Field";
import { type Part, num } from "./part";

export function Runtime({ draft, set }: Part) {
  return (
    <div className="form">
      <Field label="Heartbeat timeout (seconds)" hint="a script silent this long is stopped">
        <input type="number" min={1} aria-label="Heartbeat timeout (seconds)" value={draft.heartbeat_timeout ?? ""} onChange={(e) => set({ heartbeat_timeout: num(e.target.value) })} />
      </Field>
      <Field label="Maximum runtime (seconds)" hint="empty for no limit">
        <input type="number" min={1} aria-label="Maximum runtime (seconds)" value={draft.max_runtime ?? ""} onChange={(e) => set({ max_runtime: num(e.target.value) })} />
      </Field>
      {draft.usage !== "event" && (
        <Field label="Stale after" hint="an alert when no run succeeded for this long, e.g. 26h (m, h or d); empty for none">
          <input aria-label="Stale after" value={draft.stale_after ?? ""} onChange={(e) => set({ stale_after: e.target.value.trim() || null })} />
        </Field>
      )}
    </div>
  );
}

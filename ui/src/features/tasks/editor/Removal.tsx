import { Field } from "../../../components/Field";
import type { Part } from "./part";

export function Removal({ draft, set }: Part) {
  const r = draft.removal;
  return (
    <div className="form">
      <Field label="Mark removed records">
        <input
          type="checkbox"
          aria-label="Mark removed records"
          checked={r != null}
          onChange={(e) => set({ removal: e.target.checked ? { status_attribute: "", removed_value: "" } : null })}
        />
      </Field>
      {r && (
        <>
          <Field label="Status attribute">
            <input aria-label="Status attribute" value={r.status_attribute} onChange={(e) => set({ removal: { ...r, status_attribute: e.target.value } })} />
          </Field>
          <Field label="Removed value">
            <input aria-label="Removed value" value={r.removed_value} onChange={(e) => set({ removal: { ...r, removed_value: e.target.value } })} />
          </Field>
        </>
      )}
    </div>
  );
}

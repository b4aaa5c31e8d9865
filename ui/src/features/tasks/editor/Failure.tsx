import { Field } from "../../../components/Field";
import type { Part } from "./part";

export function Failure({ draft, set }: Part) {
  const f = draft.failure;
  return (
    <div className="form">
      <Field label="Write a failure card">
        <input type="checkbox" aria-label="Write a failure card" checked={f != null} onChange={(e) => set({ failure: e.target.checked ? { template: "", folder: "", attribute: "" } : null })} />
      </Field>
      {f && (
        <>
          <Field label="Failure template">
            <input aria-label="Failure template" value={f.template} onChange={(e) => set({ failure: { ...f, template: e.target.value } })} />
          </Field>
          <Field label="Failure folder">
            <input aria-label="Failure folder" value={f.folder} onChange={(e) => set({ failure: { ...f, folder: e.target.value } })} />
          </Field>
          <Field label="Failure attribute">
            <input aria-label="Failure attribute" value={f.attribute} onChange={(e) => set({ failure: { ...f, attribute: e.target.value } })} />
          </Field>
        </>
      )}
    </div>
  );
}

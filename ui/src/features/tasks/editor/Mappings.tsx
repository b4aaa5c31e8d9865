import { useQuery } from "@tanstack/react-query";
import { api } from "../../../api";
import { MAX_DISPLAY_FIELDS } from "../../../bindings";
import { TemplateOptions } from "../../../components/TemplateOptions";
import { Field } from "../../../components/Field";
import { queryKeys } from "../../../queryKeys";
import type { Part } from "./part";

/** One choice per value a review may show beside a card's key (the engine's limit). */
const DISPLAY_SLOTS = Array.from({ length: MAX_DISPLAY_FIELDS }, (_, i) => i);

export function Mappings({ draft, set, target }: Part & { target: string }) {
  const templates = useQuery({ queryKey: queryKeys.templates(target), queryFn: () => api.listTemplates(target) });
  const folders = useQuery({ queryKey: queryKeys.folders(target), queryFn: () => api.listFolders(target) });
  const template = (templates.data ?? []).find((t) => t.code === draft.target_template);
  const accepting = (folders.data ?? []).filter((f) => !draft.target_template || f.templates.includes(draft.target_template));
  const rows = draft.mappings ?? [];
  const setRow = (i: number, patch: Partial<{ source: string; target: string }>) =>
    set({ mappings: rows.map((m, j) => (j === i ? { ...m, ...patch } : m)) });
  // Up to three, in the order chosen; an emptied choice closes the gap.
  const display = draft.display_fields ?? [];
  const setDisplay = (i: number, code: string) => {
    const chosen = DISPLAY_SLOTS.map((j) => (j === i ? code : (display[j] ?? ""))).filter((c) => c !== "");
    set({ display_fields: chosen.length > 0 ? chosen : null });
  };
  return (
    <div className="form">
      <Field label="Template">
        <select aria-label="Template" value={draft.target_template ?? ""} onChange={(e) => set({ target_template: e.target.value, target_folder: "" })}>
          <TemplateOptions templates={templates.data} />
        </select>
      </Field>
      <Field label="Folder">
        <select aria-label="Folder" value={draft.target_folder ?? ""} onChange={(e) => set({ target_folder: e.target.value })}>
          <option value="">Choose a folder…</option>
          {accepting.map((f) => (
            <option key={f.code} value={f.code}>
              {f.name} ({f.code})
            </option>
          ))}
        </select>
      </Field>
      <div className="wide">
        <table className="grid" aria-label="Mappings">
          <thead>
            <tr>
              <th>Source attribute</th>
              <th>Template attribute</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((m, i) => (
              <tr key={i}>
                <td>
                  <input aria-label={`Source attribute ${i + 1}`} value={m.source} onChange={(e) => setRow(i, { source: e.target.value })} />
                </td>
                <td>
                  <select aria-label={`Template attribute ${i + 1}`} value={m.target} onChange={(e) => setRow(i, { target: e.target.value })}>
                    <option value="">Choose…</option>
                    {(template?.attributes ?? []).map((a) => (
                      <option key={a.code} value={a.code}>
                        {a.code}
                        {a.multi_value ? " (multi-value)" : ""}
                      </option>
                    ))}
                  </select>
                </td>
                <td>
                  <button type="button" aria-label={`Remove mapping ${i + 1}`} onClick={() => set({ mappings: rows.filter((_, j) => j !== i) })}>
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <button type="button" onClick={() => set({ mappings: [...rows, { source: "", target: "" }] })}>
          Add mapping
        </button>
        {!template && <p className="hint">Choose a template to pick its attributes.</p>}
      </div>
      <Field label="Display fields" hint="shown beside a card's key when a plan is reviewed or a run undone, to tell whose card it is; none chosen: the mapped fields, names first">
        <div className="choices">
          {DISPLAY_SLOTS.map((i) => (
            <select key={i} aria-label={`Display field ${i + 1}`} value={display[i] ?? ""} onChange={(e) => setDisplay(i, e.target.value)}>
              <option value="">—</option>
              {/* An attribute chosen in another place is not offered again: it would show once anyway. */}
              {(template?.attributes ?? []).filter((a) => a.code === display[i] || !display.includes(a.code)).map((a) => (
                <option key={a.code} value={a.code}>
                  {a.code}
                </option>
              ))}
            </select>
          ))}
        </div>
      </Field>
    </div>
  );
}

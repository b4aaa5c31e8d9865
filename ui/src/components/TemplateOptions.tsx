import type { Template } from "../bindings";

/** A template picker's options: a prompt, then "Name (code)" per template. */
export function TemplateOptions({ templates }: { templates: Template[] | undefined }) {
  return (
    <>
      <option value="">Choose a template…</option>
      {(templates ?? []).map((t) => (
        <option key={t.code} value={t.code}>
          {t.name} ({t.code})
        </option>
      ))}
    </>
  );
}

/** Schedule presets as cron expressions (seconds first, the engine's format). */
export type Preset = { kind: "hourly" } | { kind: "daily"; time: string } | { kind: "weekly"; day: number; time: string } | { kind: "custom" };

export const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

export function cronOf(p: Preset): string | null {
  const hm = (time: string) => {
    const [h = "0", m = "0"] = time.split(":");
    return `${Number(m)} ${Number(h)}`;
  };
  switch (p.kind) {
    case "hourly":
      return "0 0 * * * *";
    case "daily":
      return `0 ${hm(p.time)} * * *`;
    case "weekly":
      return `0 ${hm(p.time)} * * ${DAYS[p.day]?.slice(0, 3).toUpperCase() ?? "MON"}`;
    case "custom":
      return null;
  }
}

/** Recognises a preset in an expression, so that opening a task shows how it was made. */
export function presetOf(cron: string): Preset {
  const parts = cron.trim().split(/\s+/);
  if (cron.trim() === "0 0 * * * *") return { kind: "hourly" };
  const [s, m, h, dom, mon, dow] = parts;
  const num = (v: string | undefined) => v !== undefined && /^\d+$/.test(v);
  if (parts.length === 6 && s === "0" && num(m) && num(h) && dom === "*" && mon === "*") {
    const time = `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`;
    if (dow === "*") return { kind: "daily", time };
    const day = DAYS.findIndex((d) => d.slice(0, 3).toUpperCase() === dow);
    if (day >= 0) return { kind: "weekly", day, time };
  }
  return { kind: "custom" };
}

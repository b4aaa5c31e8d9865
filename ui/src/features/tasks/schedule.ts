/** Schedule presets as cron expressions (seconds first, the engine's format). */
export type Preset =
  | { kind: "minutes"; every: number }
  | { kind: "hourly" }
  | { kind: "times"; count: number; time: string }
  | { kind: "daily"; time: string }
  | { kind: "weekly"; day: number; time: string }
  | { kind: "custom" };

/** "Every N minutes": the steps that divide an hour evenly. */
export const MINUTE_STEPS = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30];
/** "N times a day": the counts that divide a day into whole hours. */
export const DAILY_COUNTS = [2, 3, 4, 6, 8, 12];

export const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

export function cronOf(p: Preset): string | null {
  const hm = (time: string) => {
    const [h = "0", m = "0"] = time.split(":");
    return `${Number(m)} ${Number(h)}`;
  };
  switch (p.kind) {
    case "minutes":
      return p.every === 1 ? "0 * * * * *" : `0 */${p.every} * * * *`;
    case "hourly":
      return "0 0 * * * *";
    case "times": {
      // Evenly spaced from the first time of day: 4 times from 01:30 is 01:30, 07:30, 13:30 and 19:30.
      const [h = "0", m = "0"] = p.time.split(":");
      const step = 24 / p.count;
      const first = Number(h) % step;
      const hours = Array.from({ length: p.count }, (_, i) => first + i * step);
      return `0 ${Number(m)} ${hours.join(",")} * * *`;
    }
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
  if (cron.trim() === "0 * * * * *") return { kind: "minutes", every: 1 };
  const [s, m, h, dom, mon, dow] = parts;
  const num = (v: string | undefined) => v !== undefined && /^\d+$/.test(v);
  const every = /^\*\/(\d+)$/.exec(m ?? "");
  if (parts.length === 6 && s === "0" && every && h === "*" && dom === "*" && mon === "*" && dow === "*") {
    const n = Number(every[1]);
    if (MINUTE_STEPS.includes(n)) return { kind: "minutes", every: n };
  }
  if (parts.length === 6 && s === "0" && num(m) && /^\d+(,\d+)+$/.test(h ?? "") && dom === "*" && mon === "*" && dow === "*") {
    const hours = (h ?? "").split(",").map(Number);
    const step = 24 / hours.length;
    const even = DAILY_COUNTS.includes(hours.length) && hours.every((x, i) => x === (hours[0] ?? 0) + i * step) && (hours[0] ?? 0) < step;
    if (even) return { kind: "times", count: hours.length, time: `${String(hours[0]).padStart(2, "0")}:${String(m).padStart(2, "0")}` };
  }
  if (parts.length === 6 && s === "0" && num(m) && num(h) && dom === "*" && mon === "*") {
    const time = `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`;
    if (dow === "*") return { kind: "daily", time };
    const day = DAYS.findIndex((d) => d.slice(0, 3).toUpperCase() === dow);
    if (day >= 0) return { kind: "weekly", day, time };
  }
  return { kind: "custom" };
}

// The window's one way into the engine: the commands generated from the Rust
// side (bindings.ts, by tauri-specta), each unwrapped so that it resolves with
// the engine's data or rejects with the one error shape, ErrorBody {code,
// message, remedy}. No command name is written here: a renamed command fails
// the TypeScript build wherever it is used.
import { QueryClient } from "@tanstack/react-query";
import { commands, type ErrorBody } from "./bindings";

type Outcome<T> = { status: "ok"; data: T } | { status: "error"; error: ErrorBody };

/** The data of a command's outcome; commands that cannot fail return theirs as is. */
type Data<R> = [R] extends [{ status: "ok" | "error" }] ? (Extract<R, { status: "ok" }> extends { data: infer D } ? D : never) : R;

type Unwrapped<F> = F extends (...args: infer A) => Promise<infer R> ? (...args: A) => Promise<Data<R>> : never;

export type Api = { [K in keyof typeof commands]: Unwrapped<(typeof commands)[K]> };

function isOutcome(v: unknown): v is Outcome<unknown> {
  return typeof v === "object" && v !== null && "status" in v && (v.status === "ok" || v.status === "error");
}

export const api = Object.fromEntries(
  Object.entries(commands).map(([name, command]) => [
    name,
    async (...args: unknown[]) => {
      const result: unknown = await (command as (...a: unknown[]) => Promise<unknown>)(...args);
      if (!isOutcome(result)) return result;
      if (result.status === "ok") return result.data;
      throw result.error;
    },
  ]),
) as Api;

export function isErrorBody(e: unknown): e is ErrorBody {
  return typeof e === "object" && e !== null && "code" in e && "message" in e;
}

/** The message a person can act on, whatever was thrown. */
export function errorMessage(e: unknown): string {
  if (isErrorBody(e)) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

/** One cache for every tab: data is fetched once and shared, and refreshed on demand. */
export function newQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: { staleTime: 5_000, retry: false, refetchOnWindowFocus: false },
    },
  });
}

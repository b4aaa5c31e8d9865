import type { ReactNode } from "react";
import { render } from "@testing-library/react";
import { QueryClientProvider } from "@tanstack/react-query";
import { mockIPC, clearMocks } from "@tauri-apps/api/mocks";
import { afterEach } from "vitest";
import { cleanup } from "@testing-library/react";
import { newQueryClient } from "../api";
import { forgetRemembered } from "../remembered";

afterEach(() => {
  cleanup();
  clearMocks();
  forgetRemembered();
});

/** Renders with a fresh query cache; `engine` answers the IPC commands by name. */
export function renderWithEngine(ui: ReactNode, engine: Record<string, (args: Record<string, unknown>) => unknown>) {
  mockIPC((cmd, payload) => {
    const answer = engine[cmd];
    if (!answer) throw { code: "unknown_command", message: `the test engine has no ${cmd}`, remedy: null };
    return answer((payload ?? {}) as Record<string, unknown>);
  });
  const client = newQueryClient();
  return { ...render(<QueryClientProvider client={client}>{ui}</QueryClientProvider>), client };
}

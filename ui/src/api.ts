// Typed calls into the desktop shell. Every command returns the engine's data
// or rejects with an ErrorBody {code, message}; the UI branches on `code`.
import { invoke } from "@tauri-apps/api/core";
import type { ApiToken } from "./generated/ApiToken";
import type { ConnectorSummary } from "./generated/ConnectorSummary";
import type { EngineStatus } from "./generated/EngineStatus";
import type { NewApiToken } from "./generated/NewApiToken";
import type { ErrorBody } from "./generated/ErrorBody";
import type { SettingRow } from "./generated/SettingRow";
import type { Settings } from "./generated/Settings";
import type { TargetCheck } from "./generated/TargetCheck";
import type { TargetInfo } from "./generated/TargetInfo";
import type { TargetInput } from "./generated/TargetInput";
import type { TaskSummary } from "./generated/TaskSummary";

function isErrorBody(e: unknown): e is ErrorBody {
  return typeof e === "object" && e !== null && "code" in e && "message" in e;
}

/** The message a person can act on, whatever was thrown. */
export function errorMessage(e: unknown): string {
  if (isErrorBody(e)) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

export const api = {
  engineStatus: () => invoke<EngineStatus>("engine_status"),
  listConnectors: () => invoke<ConnectorSummary[]>("list_connectors"),
  listTasks: (connector: string) => invoke<TaskSummary[]>("list_tasks", { connector }),
  getSettings: () => invoke<Settings>("get_settings"),
  settingsView: () => invoke<SettingRow[]>("settings_view"),
  listTargets: () => invoke<TargetInfo[]>("list_targets"),
  addTarget: (input: TargetInput) => invoke<TargetCheck>("add_target", { input }),
  testTarget: (name: string) => invoke<TargetCheck>("test_target", { name }),
  removeTarget: (name: string) => invoke<TargetInfo>("remove_target", { name }),
  listApiTokens: () => invoke<ApiToken[]>("list_api_tokens"),
  createApiToken: (name: string, tasks: string[]) => invoke<NewApiToken>("create_api_token", { name, tasks }),
  revokeApiToken: (name: string) => invoke<null>("revoke_api_token", { name }),
};

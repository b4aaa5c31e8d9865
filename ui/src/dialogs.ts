// The native file dialogs, in one place. The end-to-end tests cannot drive a
// native dialog through WebDriver, so the shell may hold a one-time answer
// for them (only when started with PROVISIO_TEST_DIALOG_ANSWER; see
// src-tauri/src/commands/test_dialogs.rs); otherwise the real dialog opens.
import { open, save, type OpenDialogOptions, type SaveDialogOptions } from "@tauri-apps/plugin-dialog";
import { api } from "./api";

/** The file the user chose to read, or null when they cancelled. */
export async function chooseFileToOpen(options: Omit<OpenDialogOptions, "multiple" | "directory">): Promise<string | null> {
  const answer = await api.testDialogAnswer();
  if (answer !== null) return answer;
  const chosen = await open({ ...options, multiple: false, directory: false });
  return typeof chosen === "string" ? chosen : null;
}

/** Where the user chose to write, or null when they cancelled. */
export async function chooseFileToSave(options: SaveDialogOptions): Promise<string | null> {
  const answer = await api.testDialogAnswer();
  if (answer !== null) return answer;
  return save(options);
}

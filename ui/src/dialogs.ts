// The native file dialogs, in one place. They are opened by the shell
// (src-tauri/src/commands/files.rs), which remembers what the user chose:
// commands that read or write a file accept only such a path.
import { api } from "./api";

type Filter = { name: string; extensions: string[] };

/** The file the user chose to read, or null when they cancelled. */
export async function chooseFileToOpen(options: { title: string; filters?: Filter[] }): Promise<string | null> {
  return api.chooseFileToOpen(options.title, options.filters ?? []);
}

/** Where the user chose to write, or null when they cancelled. */
export async function chooseFileToSave(options: { title: string; defaultPath?: string; filters?: Filter[] }): Promise<string | null> {
  return api.chooseFileToSave(options.title, options.defaultPath ?? null, options.filters ?? []);
}

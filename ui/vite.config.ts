import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The desktop shell serves ui/dist (tauri.conf.json `frontendDist`); `npm run dev`
// serves the same app on the dev URL for a debug build without `custom-protocol`.
// `npx vitest run` runs the component tests (src/**/*.test.tsx) in jsdom, with
// the IPC answered by Tauri's own mock (@tauri-apps/api/mocks).
export default defineConfig({
  plugins: [react()],
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: { target: "es2022", outDir: "dist", emptyOutDir: true },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
    // The stylesheet goes through CSS handling, so that its `?raw` import is its text (the
    // default blanks every .css import, `?raw` too, and a test of its text would pass on nothing).
    css: { include: [/styles\.css/] },
  },
});

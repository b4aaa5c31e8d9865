import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The desktop shell serves ui/dist (tauri.conf.json `frontendDist`); `npm run dev`
// serves the same app on the dev URL for a debug build without `custom-protocol`.
export default defineConfig({
  plugins: [react()],
  clearScreen: false,
  server: { port: 5173, strictPort: true },
  build: { target: "es2022", outDir: "dist", emptyOutDir: true },
});

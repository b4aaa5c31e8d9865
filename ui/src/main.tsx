import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { QueryClientProvider } from "@tanstack/react-query";
import { App } from "./App";
import { newQueryClient } from "./api";
import { listenToProgress, listenToScheduling } from "./progress";
import "./styles.css";

const client = newQueryClient();
// Progress events arrive from the engine for the whole session.
void listenToProgress(client);
// Who schedules changes when another process ends and this window takes over: the top bar follows at once.
void listenToScheduling(client);

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <QueryClientProvider client={client}>
        <App />
      </QueryClientProvider>
    </StrictMode>,
  );
}

import { useEffect, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { api, errorMessage } from "./api";
import type { ConnectorStatus, SchedulerStatus } from "./bindings";
import { AlertsButton } from "./features/alerts/Alerts";
import { ConnectorEditor } from "./features/connectors/ConnectorEditor";
import { FirstRun } from "./features/first-run/FirstRun";
import { History, RunDetail } from "./features/runs/History";
import type { Screen } from "./navigation";
import { TaskEditor } from "./features/tasks/TaskEditor";
import { AuditTab } from "./features/audit/AuditTab";
import { AuthenticationTab } from "./features/authentication/AuthenticationTab";
import { DataTab } from "./features/data/DataTab";
import { LogsTab } from "./features/logs/LogsTab";
import { ScriptsTab } from "./features/scripts/ScriptsTab";
import { Overview, type Opened } from "./features/connectors/Overview";
import { SettingsTab } from "./features/settings/SettingsTab";
import { queryKeys } from "./queryKeys";
import { TabBar } from "./components/TabBar";

const TABS = ["Overview", "Authentication", "Logs", "Settings", "Scripts", "Data", "Audit"] as const;
type Tab = (typeof TABS)[number];

/** Short status-bar text. */
function schedulerLabel(scheduler: SchedulerStatus | null): string {
  if (scheduler === null) return "Scheduler …";
  switch (scheduler.state) {
    case "running":
      return "Scheduler running";
    case "elsewhere":
      return `Scheduled by another process (pid ${scheduler.pid ?? "unknown"})`;
    case "not_scheduling":
      return "Not scheduling";
  }
}

/** The top bar's Secure access light, from the authentication tasks' latest runs. */
const SECURE_ACCESS_TEXT: Record<ConnectorStatus, string> = {
  none: "not configured",
  waiting: "not run yet",
  ok: "online",
  warning: "some logins not updated",
  failed: "failing",
};
const SECURE_ACCESS_DOT: Record<ConnectorStatus, string> = {
  none: "dot grey",
  waiting: "dot grey",
  ok: "dot green",
  warning: "dot orange",
  failed: "dot red",
};

/** The tooltip: the reason when nobody here schedules. */
function schedulerDetail(scheduler: SchedulerStatus | null): string {
  return scheduler?.state === "not_scheduling" ? scheduler.reason : "";
}

export function App() {
  const [tab, setTab] = useState<Tab>("Overview");
  const [screen, setScreen] = useState<Screen>({ kind: "overview" });
  const [guided, setGuided] = useState(false);
  // The Overview's opened connectors outlive its screen: an editor or a history opened from a task comes back to them.
  const opened = useState<ReadonlySet<string>>(new Set());
  const engine = useQuery({ queryKey: queryKeys.engineStatus(), queryFn: () => api.engineStatus(), refetchInterval: 15_000 });
  const status = engine.data ?? null;
  const statusError = engine.error ? errorMessage(engine.error) : null;

  const env = status?.environment_type ?? null;
  useEffect(() => {
    // The same title the shell gives the native window, kept current after setting changes.
    document.title = env ? `Provisio — ${env.toUpperCase()}` : "Provisio — environment not set";
  }, [env]);
  return (
    <div className={env === "prod" ? "app prod" : "app"}>
      <header className="topbar">
        <span className="brand">Provisio</span>
        <span className="status-item" data-testid="engine-status">
          <span className={statusError ? "dot red" : status ? "dot green" : "dot grey"} />
          Engine {statusError ? "down" : status ? "up" : "starting"}
        </span>
        <span className="status-item" data-testid="scheduler" title={schedulerDetail(status?.scheduler ?? null)}>
          <span className={status?.scheduler?.state === "running" ? "dot green" : status ? "dot orange" : "dot grey"} />
          {schedulerLabel(status?.scheduler ?? null)}
        </span>
        <span className="status-item" data-testid="secure-access" title="from the authentication tasks' latest runs">
          <span className={SECURE_ACCESS_DOT[status?.secure_access ?? "none"]} />
          Secure access: {SECURE_ACCESS_TEXT[status?.secure_access ?? "none"]}
        </span>
        <span className="status-item" data-testid="version">
          Version {status?.version ?? "…"}
        </span>
        <AlertsButton
          onOpenRun={(run) => {
            setTab("Overview");
            setScreen(run);
          }}
        />
        <span className={env === "prod" ? "env env-prod" : "env"} data-testid="environment-type">
          {env ? env.toUpperCase() : "Environment not set"}
        </span>
      </header>
      {statusError && <div className="banner error">{statusError}</div>}
      <TabBar
        tabs={TABS}
        current={tab}
        onChoose={(t) => {
          setTab(t);
          if (t === "Overview") setScreen({ kind: "overview" });
        }}
      />
      <main className="content" role="tabpanel" id="tab-panel" aria-labelledby={`tab-${tab}`}>
        {engine.data && (engine.data.environment_type === null || guided) ? (
          <FirstRun
            onEnvironmentSet={() => setGuided(true)}
            onDone={() => {
              setGuided(false);
              setTab("Overview");
            }}
          />
        ) : (
          tab === "Overview" && <OverviewScreens screen={screen} open={setScreen} opened={opened} />
        )}
        {tab === "Settings" && <SettingsTab />}
        {tab === "Data" && <DataTab />}
        {tab === "Scripts" && <ScriptsTab />}
        {tab === "Logs" && <LogsTab />}
        {tab === "Audit" && <AuditTab />}
        {tab === "Authentication" && (
          <AuthenticationTab
            onNewConnector={() => {
              setTab("Overview");
              setScreen({ kind: "connector", id: null });
            }}
            onHistory={(taskId, taskName) => {
              setTab("Overview");
              setScreen({ kind: "history", taskId, taskName });
            }}
          />
        )}
      </main>
    </div>
  );
}

function OverviewScreens({ screen, open, opened }: { screen: Screen; open: (s: Screen) => void; opened: Opened }) {
  switch (screen.kind) {
    case "overview":
      return <Overview open={open} opened={opened} />;
    case "connector":
      return <ConnectorEditor key={screen.id ?? "new"} id={screen.id} open={open} />;
    case "task":
      return <TaskEditor key={screen.taskId ?? `new-${screen.usage}`} connectorId={screen.connectorId} taskId={screen.taskId} usage={screen.usage} open={open} />;
    case "history":
      return <History taskId={screen.taskId} taskName={screen.taskName} open={open} />;
    case "run":
      return <RunDetail runId={screen.runId} taskId={screen.taskId} taskName={screen.taskName} open={open} />;
  }
}

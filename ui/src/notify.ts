// Desktop notifications for new alerts, through Tauri's notification plugin
// (its script routes the web Notification API to the system's notifications).
import { useEffect, useRef } from "react";
import { isPermissionGranted, requestPermission, sendNotification } from "@tauri-apps/plugin-notification";
import type { Alert } from "./bindings";

let allowed: Promise<boolean> | null = null;

/** Asks once per window; a refusal or a system without notifications only means no notification. */
function permission(): Promise<boolean> {
  allowed ??= (async () => {
    try {
      if (await isPermissionGranted()) return true;
      return (await requestPermission()) === "granted";
    } catch {
      return false;
    }
  })();
  return allowed;
}

/** The notification an alert raises: the task and what happened, the message as its body. */
export function alertNotification(a: Alert): { title: string; body: string } {
  const what =
    a.help === "approve_plan"
      ? "interrupted: waiting for approval"
      : a.help === "review_plan"
        ? "interrupted: too few rows"
        : a.status === "interrupted"
          ? "interrupted: needs fixing"
          : a.status;
  return { title: `${a.severity === "critical" ? "Critical: " : ""}${a.task} ${what}`, body: a.message };
}

/**
 * Notifies each alert that appears after the window opened (the ones already
 * there when it opened are in the list, not re-announced), unacknowledged only.
 */
export function useAlertNotifications(alerts: Alert[] | undefined) {
  const seen = useRef<Set<number> | null>(null);
  useEffect(() => {
    if (!alerts) return;
    if (seen.current === null) {
      seen.current = new Set(alerts.map((a) => a.id));
      return;
    }
    const known = seen.current;
    const fresh = alerts.filter((a) => !known.has(a.id));
    for (const a of fresh) known.add(a.id);
    const toSend = fresh.filter((a) => !a.acknowledged);
    if (toSend.length === 0) return;
    void permission().then((ok) => {
      if (!ok) return;
      for (const a of toSend) {
        try {
          sendNotification(alertNotification(a));
        } catch {
          // No notification service (a headless session): the list and the count still show it.
        }
      }
    });
  }, [alerts]);
}

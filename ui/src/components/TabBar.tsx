import { useRef, type KeyboardEvent } from "react";

/**
 * The window's tabs, as the WAI-ARIA tabs pattern has them: one stop in the
 * tab order (the chosen tab), the arrow keys, Home and End move between
 * tabs and choose them; each tab controls the one panel (`tab-panel`).
 */
export function TabBar<T extends string>({ tabs, current, onChoose }: { tabs: readonly T[]; current: T; onChoose: (tab: T) => void }) {
  const buttons = useRef<(HTMLButtonElement | null)[]>([]);
  const move = (e: KeyboardEvent<HTMLButtonElement>, index: number) => {
    const last = tabs.length - 1;
    const to = { ArrowRight: index === last ? 0 : index + 1, ArrowLeft: index === 0 ? last : index - 1, Home: 0, End: last }[e.key];
    const tab = to === undefined ? undefined : tabs[to];
    if (to === undefined || tab === undefined) return;
    e.preventDefault();
    onChoose(tab);
    buttons.current[to]?.focus();
  };
  return (
    <nav className="tabs" role="tablist" aria-label="Tabs">
      {tabs.map((t, i) => (
        <button
          key={t}
          ref={(b) => {
            buttons.current[i] = b;
          }}
          id={`tab-${t}`}
          role="tab"
          aria-selected={current === t}
          aria-controls="tab-panel"
          tabIndex={current === t ? 0 : -1}
          className={current === t ? "tab active" : "tab"}
          onClick={() => onChoose(t)}
          onKeyDown={(e) => move(e, i)}
        >
          {t}
        </button>
      ))}
    </nav>
  );
}

import type { ReactNode } from "react";
import { createPortal } from "react-dom";

/**
 * A modal dialog over the whole window: its heading (the label unless
 * another is given), then its content. Rendered at the end of the page, not
 * where it is opened, so the box it is opened from cannot clip or scroll it
 * (a review opened from the scrolling alerts panel was cut to the panel).
 */
export function Modal({ label, heading, wide = false, children }: { label: string; heading?: ReactNode; wide?: boolean; children: ReactNode }) {
  return createPortal(
    <div className="backdrop">
      <div role="dialog" aria-modal="true" aria-label={label} className={wide ? "dialog wide-dialog" : "dialog"}>
        <h2>{heading ?? label}</h2>
        {children}
      </div>
    </div>,
    document.body,
  );
}

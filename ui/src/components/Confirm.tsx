import { useEffect, useRef, type ReactNode } from "react";
import { Modal } from "./Modal";

/** A modal question in the window (not a browser prompt): what will happen, then Cancel or the action. */
export function Confirm(props: {
  title: string;
  children: ReactNode;
  action: string;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const cancel = useRef<HTMLButtonElement>(null);
  useEffect(() => cancel.current?.focus(), []);
  return (
    <Modal label={props.title}>
      {props.children}
      <div className="actions">
        <button ref={cancel} type="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="button" className="danger" onClick={props.onConfirm}>
          {props.action}
        </button>
      </div>
    </Modal>
  );
}

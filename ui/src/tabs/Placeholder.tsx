const PLANNED: Record<string, string> = {
  Authentication: "Authentication realms arrive with authentication-capable connectors.",
  Logs: "Log sources and log download arrive with the script host.",
  Scripts: "The script library arrives with the script host.",
  Data: "The data browser for the local datacard store arrives with the pipeline.",
};

export function Placeholder({ name }: { name: string }) {
  return (
    <section>
      <h2>{name}</h2>
      <p className="empty">{PLANNED[name] ?? ""}</p>
    </section>
  );
}

const PLANNED: Record<string, string> = {
  Authentication:
    "No connector here authenticates users yet. Authentication realms arrive with authentication-capable connector types (directory and identity-provider connectors); the Python script and HR file connectors only load data.",
};

export function Placeholder({ name }: { name: string }) {
  return (
    <section>
      <h2>{name}</h2>
      <p className="empty">{PLANNED[name] ?? ""}</p>
    </section>
  );
}

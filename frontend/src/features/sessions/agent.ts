/** A short name for a session's device, from its User-Agent: "Chrome on Linux". */
export function describeAgent(agent: string | null): string {
  if (!agent) return "Unknown device";
  const browser = /(Firefox|Edg|Chrome|Chromium|Safari)\/[\d.]+/.exec(agent)?.[1];
  const system = /(Windows|Mac OS X|Android|iPhone|Linux)/.exec(agent)?.[1];
  if (browser || system) return [browser, system].filter(Boolean).join(" on ");
  return agent.slice(0, 60);
}

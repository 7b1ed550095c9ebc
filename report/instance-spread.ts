// How a run's connections were spread over the instances of a namespace served by several (a cluster of
// the reference on Redis, or a target file listing several endpoints): the steps count each connection
// at the instance it went to, and each scenario's rules as judged across instances when its connections
// reached two or more of them.

export interface InstanceSpreadSummary {
  /** Each instance's URL, with the connections made to it. */
  endpoints: { url: string; connections: number }[];
  /** Scenarios whose connections reached two or more instances of their namespace. */
  scenariosAcross: number;
  /** Scenarios that made only one connection: nothing to spread. */
  scenariosSingle: number;
  /** Rules with at least one scenario across instances. */
  rulesAcross: string[];
  /** Rules whose every scenario ran at one instance (each made one connection at most). */
  rulesAtOne: string[];
}

export class InstanceSpread {
  private readonly connections = new Map<string, number>();
  private readonly across = new Set<string>();
  private readonly atOne = new Set<string>();
  private scenariosAcross = 0;
  private scenariosSingle = 0;

  /** A connection to `url`, one of a namespace's instances. */
  connected(url: string): void {
    this.connections.set(url, (this.connections.get(url) ?? 0) + 1);
  }

  /** A scenario of these rules ended, having connected to this many distinct instances. */
  scenarioEnded(rules: readonly string[], instancesReached: number): void {
    const set = instancesReached >= 2 ? this.across : this.atOne;
    if (instancesReached >= 2) this.scenariosAcross += 1;
    else this.scenariosSingle += 1;
    for (const rule of rules) set.add(rule);
  }

  /** Undefined when no connection went to a namespace of several instances. */
  summary(): InstanceSpreadSummary | undefined {
    if (this.connections.size === 0) return undefined;
    return {
      endpoints: [...this.connections].map(([url, connections]) => ({ url, connections })),
      scenariosAcross: this.scenariosAcross,
      scenariosSingle: this.scenariosSingle,
      rulesAcross: [...this.across].sort(),
      rulesAtOne: [...this.atOne].filter((rule) => !this.across.has(rule)).sort(),
    };
  }
}

/** Two runs' spreads as one (each run of scenarios, a transport or a half of one, keeps a tally of its own). */
export function mergedSpread(a: InstanceSpreadSummary | undefined, b: InstanceSpreadSummary | undefined): InstanceSpreadSummary | undefined {
  if (!a || !b) return a ?? b;
  const connections = new Map<string, number>();
  for (const { url, connections: count } of [...a.endpoints, ...b.endpoints]) connections.set(url, (connections.get(url) ?? 0) + count);
  const rulesAcross = [...new Set([...a.rulesAcross, ...b.rulesAcross])].sort();
  return {
    endpoints: [...connections].map(([url, count]) => ({ url, connections: count })),
    scenariosAcross: a.scenariosAcross + b.scenariosAcross,
    scenariosSingle: a.scenariosSingle + b.scenariosSingle,
    rulesAcross,
    rulesAtOne: [...new Set([...a.rulesAtOne, ...b.rulesAtOne])].filter((rule) => !rulesAcross.includes(rule)).sort(),
  };
}

/** The summary as lines for the console and the Markdown summary. */
export function spreadLines(spread: InstanceSpreadSummary): string[] {
  const total = spread.endpoints.reduce((sum, endpoint) => sum + endpoint.connections, 0);
  return [
    `connections spread over ${spread.endpoints.length} instances: ${spread.endpoints.map((endpoint) => `${endpoint.connections} to ${endpoint.url}`).join(', ')} (${total} in all)`,
    `${spread.scenariosAcross} scenarios had connections at two or more instances, ${spread.scenariosSingle} at one (a single connection); ` +
      `rules judged across instances: ${spread.rulesAcross.length}${spread.rulesAtOne.length ? `; at one only (their scenarios make one connection): ${spread.rulesAtOne.join(', ')}` : ''}`,
  ];
}

/**
 * The chaos phase's fault schedule: `count` infrastructure faults at seeded
 * times, each enabled kind at least once when there are enough faults, and
 * the code that injects each kind into the running stack.
 */
import type { FaultKind } from "./args";
import type { Random } from "./random";
import type { ChaosStack } from "./stack";

export interface PlannedFault {
  atMs: number;
  kind: FaultKind;
  /** How long a killed or stopped component stays down (kills, restarts), ms. */
  downMs: number;
  /** How many SMTP connections or messages a mail fault hits. */
  count: number;
}

export interface InjectedFault extends PlannedFault {
  /** When it was injected, ms after the phase began (faults run one after another). */
  startedMs: number;
  tookMs: number;
  effect: string;
}

export function planFaults(
  random: Random,
  options: { count: number; kinds: readonly FaultKind[]; intervalMs: number },
): PlannedFault[] {
  if (options.kinds.length === 0) return [];
  // Every kind once (in seeded order), then seeded picks.
  const order = [...options.kinds];
  for (let i = order.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const kinds = Array.from({ length: options.count }, (_, i) =>
    i < order.length ? order[i]! : random.pick(options.kinds),
  );
  let at = 0;
  return kinds.map((kind) => {
    at += Math.round(options.intervalMs * (0.5 + random.next()));
    return { atMs: at, kind, downMs: random.int(200, 1500), count: random.int(1, 3) };
  });
}

export async function injectFault(stack: ChaosStack, fault: PlannedFault): Promise<string> {
  const pause = () => new Promise((resolve) => setTimeout(resolve, fault.downMs));
  switch (fault.kind) {
    case "app-kill": {
      const replica = await stack.killApp();
      await pause();
      await stack.startApp(replica);
      return `${replicaLabel(stack, "app", replica)} SIGKILLed, down ${fault.downMs} ms`;
    }
    case "executor-kill": {
      const replica = await stack.killExecutor();
      await pause();
      await stack.startExecutor(replica);
      return `${replicaLabel(stack, "executor", replica)} SIGKILLed, down ${fault.downMs} ms`;
    }
    case "pg-terminate-app":
      return `${await stack.terminateConnections("app")} app connections terminated`;
    case "pg-terminate-executor":
      return `${await stack.terminateConnections("executor")} executor connections terminated`;
    case "pg-restart":
      await stack.restartPostgres(fault.downMs);
      return `PostgreSQL stopped and started, down ${fault.downMs} ms`;
    case "smtp-refuse":
      stack.sink.failNext(fault.count);
      return `next ${fault.count} messages refused (451)`;
    case "smtp-drop":
      stack.smtp.dropNext(fault.count);
      return `next ${fault.count} SMTP connections dropped after the greeting`;
  }
}

function replicaLabel(stack: ChaosStack, role: string, replica: number): string {
  return stack.replicas > 1 ? `${role} ${replica + 1} of ${stack.replicas}` : role;
}

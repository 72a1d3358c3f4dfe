/**
 * The kernel VM scenario: a small real topology, the conditions put on it phase by phase (by the
 * nodes' own agents, through plan.ts), and what is measured after each phase.
 *
 * ```
 *   namespace <backend>-a                      namespace <backend>-b
 *   node a  10.77.0.1  eth0 ══ veth ══ eth0    node b1 10.77.0.11   (delay target)
 *                                             node b2 10.77.0.12   (loss, then rate target)
 *                                             node b3 10.77.0.13   (never impaired)
 * ```
 * Every condition is on a's egress; of the b nodes only b1 holds anything (its side of the cut), so
 * the three can share one namespace and its one agent. One section per backend, each with its own
 * pair of namespaces, so nothing one backend leaves behind can touch the other's numbers.
 *
 *   base       no tree: RTT to b1                               (the emulator's own baseline)
 *   d1..d200   b1 delay 1/10/50/200 ms; b2 loss 1/10/30 %, then rate 1 mbit → added RTT, loss, rate
 *   jitter     b1 delay 20 ms ± 5 ms normal; b2 rate 10 mbit     → spread, rate
 *   untouched  b3 with that tree in place vs the same path with no tree at all, measured AT THE SAME
 *              TIME: a twin pair of namespaces (<backend>-ca/-cb, same addresses, never impaired)
 *              is probed in parallel, so a busy host slows both sides alike. UDP RTT, TCP paced
 *              at 200 Mbit/s, bulk TCP; then the tree's own counters
 *   cut        partition a | b1 on top of the tree               → nothing crosses
 *   heal       heal the lab                                      → RTT back; no qdisc, rule or helper left
 */
import { type Backend, type EgressCondition, PlannedLab, backendProbeSteps, condition, partitionOf } from './plan.js';
import type { VmMeasure, VmSection, VmStep } from './vm/runner.js';

export const ADDR = { a: '10.77.0.1', b1: '10.77.0.11', b2: '10.77.0.12', b3: '10.77.0.13' } as const;
export const SEED = 17;

/** Probe counts and pacing: ≥ 100 RTT probes, ≥ 2000 loss packets, and the whole run in ≤ 3 minutes under TCG. */
export const PACE = {
  rttProbes: 200,
  rttIntervalUs: 2000,
  jitterProbes: 400,
  lossPackets: 4000,
  lossIntervalUs: 500,
  tputWarmupMs: 400,
  /** Rate windows: fitted in parts, the median part counts (a moment of host starvation spoils one part only). */
  tputWindowMs: 3000,
  tputParts: 3,
  /** Untouched destination vs the twin path: probe pairs for RTT, rounds of simultaneous TCP transfers (which side starts first alternates). */
  abRttPairs: 400,
  abRounds: 4,
  abWindowMs: 1000,
  /** Per side, two at once: far below what the emulated CPU carries (~1.5–2 Gbit/s), so only a shaper could hold it back. */
  pacedBps: 200e6,
};

export const DELAYS_MS = [1, 10, 50, 200] as const;
export const LOSSES_PCT = [1, 10, 30] as const;
export const RATES_MBIT = [1, 10] as const;
export const JITTER = { delayMs: 20, jitterMs: 5 } as const;

export type Check =
  | { kind: 'delay'; id: string; base: string; ms: number }
  | { kind: 'jitter'; id: string; base: string; ms: number; jitterMs: number }
  | { kind: 'loss'; id: string; pct: number }
  | { kind: 'rate'; id: string; mbit: number }
  /** One probe stream through a's tree to b3, interleaved with one on the twin pair (no tree). */
  | { kind: 'untouched-rtt'; id: string }
  /** tree: b3 through a's tree; none: the same measurement at the same moment on the twin pair with no tree. */
  | { kind: 'untouched-paced'; tree: string[]; none: string[]; bps: number }
  | { kind: 'untouched-bulk'; tree: string[]; none: string[]; readBack: string }
  | { kind: 'partition'; id: string }
  | { kind: 'heal'; id: string; base: string; readBack: string[] };

export interface BackendScenario {
  backend: Backend;
  section: VmSection;
  checks: Check[];
}

export interface Scenario {
  sections: VmSection[];
  backends: BackendScenario[];
  /** The probe's argv, captured in the first section, for chooseBackend to replay. */
  probe: { ids: Map<string, string> };
}

export async function kernelScenario(backends: readonly Backend[]): Promise<Scenario> {
  const out: BackendScenario[] = [];
  let probeIds = new Map<string, string>();
  for (const [i, backend] of backends.entries()) {
    const nsA = `${backend}-a`;
    const nsB = `${backend}-b`;
    const nsCa = `${backend}-ca`;
    const nsCb = `${backend}-cb`;
    const lab = new PlannedLab(
      {
        nodes: [
          { name: 'a', addresses: [ADDR.a] },
          { name: 'b1', addresses: [ADDR.b1] },
          { name: 'b2', addresses: [ADDR.b2] },
          { name: 'b3', addresses: [ADDR.b3] },
        ],
        nsOf: { a: nsA, b1: nsB, b2: nsB, b3: nsB },
        devices: { a: ['eth0'], b1: ['eth0'], b2: ['eth0'], b3: ['eth0'] },
      },
      backend,
      SEED,
    );
    const steps: VmStep[] = [...topology(nsA, nsB), ...topology(nsCa, nsCb)];
    if (i === 0) {
      const probe = await backendProbeSteps(nsA, 'probe');
      probeIds = probe.ids;
      steps.push(...probe.steps);
    }
    const checks: Check[] = [];
    const id = (phase: string, what: string) => `${backend}:${phase}:${what}`;
    const udp = (mid: string, to: string, count: number, intervalUs: number, timeoutMs: number): VmMeasure => ({
      kind: 'measure', id: mid, ns: nsA, probe: 'udp', to, count, intervalUs, timeoutMs,
    });
    const rtt = (mid: string, to: string, delayMs = 0, count = PACE.rttProbes) => udp(mid, to, count, PACE.rttIntervalUs, 2 * delayMs + 500);
    const tput = (mid: string, to: string, windowMs = PACE.tputWindowMs, parts = PACE.tputParts, paceBps?: number): VmMeasure => ({
      kind: 'measure', id: mid, ns: nsA, probe: 'tput', to, secondsMs: windowMs, warmupMs: PACE.tputWarmupMs, parts, ...(paceBps ? { paceBps } : {}),
    });

    // base: ARP and caches warm, then the emulator's own round trip with no tree at all.
    for (const [n, a] of [['b1', ADDR.b1], ['b2', ADDR.b2], ['b3', ADDR.b3]] as const) steps.push({ ...udp(id('warm', n), a, 20, 2000, 300), once: true });
    steps.push({ ...udp(id('warm', 'twin-b3'), ADDR.b3, 20, 2000, 300), ns: nsCa, once: true });
    const base = id('base', 'rtt-b1');
    steps.push(rtt(base, ADDR.b1));

    // Delay on b1 next to loss (then rate) on b2: the tree always has two impaired classes and b3 in the default one.
    const second = [
      // A count, not a time: a busy host does not change it, so it is never measured again for one.
      ...LOSSES_PCT.map((pct) => ({ cond: { loss: `${pct}%` }, check: { kind: 'loss' as const, pct }, measure: (mid: string): VmMeasure => ({ ...udp(mid, ADDR.b2, PACE.lossPackets, PACE.lossIntervalUs, 300), once: true }) })),
      { cond: { rate: `${RATES_MBIT[0]}mbit` }, check: { kind: 'rate' as const, mbit: RATES_MBIT[0] }, measure: (mid: string) => tput(mid, ADDR.b2) },
    ];
    for (const [k, ms] of DELAYS_MS.entries()) {
      const phase = `d${ms}`;
      const other = second[k]!;
      steps.push(...(await lab.impair([condition('a', 'b1', { delay: `${ms}ms` }), condition('a', 'b2', other.cond)])));
      steps.push(rtt(id(phase, 'delay-b1'), ADDR.b1, ms));
      checks.push({ kind: 'delay', id: id(phase, 'delay-b1'), base, ms });
      const oid = id(phase, `${other.check.kind}-b2`);
      steps.push(other.measure(oid));
      checks.push({ ...other.check, id: oid });
    }

    // jitter and the second rate.
    const full: EgressCondition[] = [
      condition('a', 'b1', { delay: `${JITTER.delayMs}ms`, jitter: `${JITTER.jitterMs}ms`, distribution: 'normal' }),
      condition('a', 'b2', { rate: `${RATES_MBIT[1]}mbit` }),
    ];
    steps.push(...(await lab.impair(full)));
    steps.push(rtt(id('jitter', 'jitter-b1'), ADDR.b1, JITTER.delayMs + 3 * JITTER.jitterMs, PACE.jitterProbes));
    checks.push({ kind: 'jitter', id: id('jitter', 'jitter-b1'), base, ms: JITTER.delayMs, jitterMs: JITTER.jitterMs });
    steps.push(tput(id('jitter', 'rate-b2'), ADDR.b2));
    checks.push({ kind: 'rate', id: id('jitter', 'rate-b2'), mbit: RATES_MBIT[1] });

    // b3, never impaired, with the tree in place vs its twin with no tree at all, side by side.
    const ab = { paced: { tree: [] as string[], none: [] as string[] }, bulk: { tree: [] as string[], none: [] as string[] } };
    const pair = (what: keyof typeof ab, r: number, make: (mid: string) => VmMeasure): VmStep => {
      const tree = make(id(`ab${r}`, `${what}-b3-tree`));
      const none = { ...make(id(`ab${r}`, `${what}-b3-none`)), ns: nsCa };
      ab[what].tree.push(tree.id);
      ab[what].none.push(none.id);
      // Both sides see the same moment of the host: a busy one cancels out, nothing to measure again.
      // The side started first gets a head start on a starved vCPU: it alternates.
      return { kind: 'parallel', measures: r % 2 ? [none, tree] : [tree, none], once: true };
    };
    // RTT: one probe stream to b3 and one on the twin, interleaved packet by packet at random offsets.
    const rttId = id('ab', 'rtt-b3');
    steps.push({ ...rtt(rttId, ADDR.b3, 0, PACE.abRttPairs), twin: { ns: nsCa, to: ADDR.b3 }, once: true });
    for (let r = 0; r < PACE.abRounds; r++) {
      steps.push(
        pair('paced', r, (mid) => tput(mid, ADDR.b3, PACE.abWindowMs, 1, PACE.pacedBps)),
        pair('bulk', r, (mid) => tput(mid, ADDR.b3, PACE.abWindowMs, 1)),
      );
    }
    steps.push(...lab.readBack('a', id('ab', 'tree')));
    checks.push({ kind: 'untouched-rtt', id: rttId });
    checks.push({ kind: 'untouched-paced', ...ab.paced, bps: PACE.pacedBps });
    checks.push({ kind: 'untouched-bulk', ...ab.bulk, readBack: id('ab', 'tree') });

    // A partition on top of the tree, then heal, and what the kernel holds afterwards.
    steps.push(...(await lab.partition(partitionOf(['a'], ['b1']))));
    steps.push({ ...udp(id('cut', 'b1'), ADDR.b1, 100, PACE.rttIntervalUs, 300), once: true });
    checks.push({ kind: 'partition', id: id('cut', 'b1') });
    steps.push(...(await lab.heal()));
    steps.push(rtt(id('heal', 'rtt-b1'), ADDR.b1), ...lab.readBack('a', id('heal', 'a')), ...lab.readBack('b1', id('heal', 'b')));
    checks.push({ kind: 'heal', id: id('heal', 'rtt-b1'), base, readBack: [id('heal', 'a'), id('heal', 'b')] });

    out.push({ backend, section: { name: backend, steps }, checks });
  }
  return { sections: out.map((b) => b.section), backends: out, probe: { ids: probeIds } };
}

/** Two namespaces joined by a veth named eth0 on both sides (as in a container), a with one address, b with three. */
export function topology(nsA: string, nsB: string): VmStep[] {
  const ip = (ns: string | undefined, ...args: string[]): VmStep => (ns ? { kind: 'run', ns, argv: ['ip', ...args] } : { kind: 'run', argv: ['ip', ...args] });
  return [
    ip(undefined, 'netns', 'add', nsA),
    ip(undefined, 'netns', 'add', nsB),
    ip(undefined, 'link', 'add', 'eth0', 'netns', nsA, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', nsB),
    ip(nsA, 'addr', 'add', `${ADDR.a}/24`, 'dev', 'eth0'),
    ...[ADDR.b1, ADDR.b2, ADDR.b3].map((a) => ip(nsB, 'addr', 'add', `${a}/24`, 'dev', 'eth0')),
    ip(nsA, 'link', 'set', 'lo', 'up'),
    ip(nsB, 'link', 'set', 'lo', 'up'),
    ip(nsA, 'link', 'set', 'eth0', 'up'),
    ip(nsB, 'link', 'set', 'eth0', 'up'),
    { kind: 'serve', ns: nsB },
  ];
}

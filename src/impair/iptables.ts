/**
 * iptables(8) in a node's namespace: three acklab chains, hooked once. Each state's rules live in
 * chains of their own generation (`ACKLAB-PART-OUT-7`), reached from the hooked chain by a goto:
 *
 *   switch  one `iptables-restore --noflush` batch that only adds: the new generation's chains,
 *           filled, and a goto to each inserted first in its hooked chain (the old gotos below it
 *           are never reached any more). Adding never waits for the kernel to retire old rules,
 *           so a step switches a node in a couple of milliseconds, all of it at once.
 *   tidy    later, off the clock: each hooked chain holds just the current goto, and the older
 *           generations are deleted (deleting is what waits for the kernel).
 *
 * What a generation holds:
 * ```
 * mangle POSTROUTING ─► ACKLAB-IMPAIR       per impaired destination address, per-peer first, "*" last:
 *     ! -o lo -d <peer>/32 [comment: acklab impair to=n2 delay=50ms …] → CLASSIFY --set-class 1:<minor>
 *                                                         (a rate, or a netem leaf: the stage's tc class)
 *     ! -o lo -d <peer>/32 -m mark ! --mark 0x4acc       → NFQUEUE --queue-num <q>
 *                                                         (userspace backend, packet stage: the helper)
 *     ! -o lo -d <peer>/32                                → RETURN  (so "*" rules never see this peer)
 *     ! -o lo              [comment: acklab impair to=* …] → CLASSIFY / NFQUEUE   ("all egress")
 *
 * filter OUTPUT ─► ACKLAB-PART-OUT     -d <to>/32   [comment: acklab cut n1->n2 drop] → DROP
 * filter INPUT  ─► ACKLAB-PART-IN      -s <from>/32 [comment: acklab cut n1->n2 drop] → DROP
 *     reset style: OUT first answers TCP with REJECT --reject-with tcp-reset; IN lets those RSTs in.
 * ```
 * (A RETURN in a generation's chain returns to the hooked chain's caller: the goto keeps no frame.)
 * The first rule of each destination carries the comment that records the condition (see
 * spec-comment.ts), so read-back comes from the kernel. mangle POSTROUTING sees locally generated
 * and forwarded packets after routing, so the out-device is known. NFQUEUE is used WITHOUT
 * --queue-bypass: a dead helper then drops the destination's traffic (fail closed) instead of
 * silently un-impairing it — and the agent notices the helper's exit at once.
 */
import { ALL_PEERS, type Cut } from '../conditions/index.js';
import { encodeCutComment } from './spec-comment.js';
import { classId } from './tc.js';

export const IMPAIR_CHAIN = 'ACKLAB-IMPAIR';
export const PART_OUT_CHAIN = 'ACKLAB-PART-OUT';
export const PART_IN_CHAIN = 'ACKLAB-PART-IN';
export const ACKLAB_CHAINS = [IMPAIR_CHAIN, PART_OUT_CHAIN, PART_IN_CHAIN] as const;
/** fwmark the helper puts on duplicates it re-sends through a raw socket, so they are not queued again. */
export const HELPER_MARK = '0x4acc';

const ipt = (...args: string[]) => ['iptables', '-w', '5', ...args];

/** The comment of a queue rule that follows its destination's class rule: `acklab queue to=n2`. */
export const QUEUE_NOTE = 'acklab queue';

/** Creates the three chains and hooks them in (each hook first in its base chain). Run once per namespace. */
export function chainSetup(): string[][] {
  return [
    ipt('-t', 'mangle', '-N', IMPAIR_CHAIN),
    ipt('-t', 'mangle', '-A', 'POSTROUTING', '-j', IMPAIR_CHAIN),
    ipt('-N', PART_OUT_CHAIN),
    ipt('-N', PART_IN_CHAIN),
    ipt('-I', 'OUTPUT', '1', '-j', PART_OUT_CHAIN),
    ipt('-I', 'INPUT', '1', '-j', PART_IN_CHAIN),
  ];
}

/** Unhooks and deletes the chains and the given generations' (a heal of a whole lab leaves no trace). Each may fail harmlessly. */
export function chainTeardown(generations: readonly number[] = []): string[][] {
  const gens = (base: string, table: string[]) => generations.flatMap((g) => [ipt(...table, '-F', genChain(base, g)), ipt(...table, '-X', genChain(base, g))]);
  return [
    ipt('-t', 'mangle', '-D', 'POSTROUTING', '-j', IMPAIR_CHAIN),
    ipt('-t', 'mangle', '-F', IMPAIR_CHAIN),
    ipt('-t', 'mangle', '-X', IMPAIR_CHAIN),
    ...gens(IMPAIR_CHAIN, ['-t', 'mangle']),
    ipt('-D', 'OUTPUT', '-j', PART_OUT_CHAIN),
    ipt('-D', 'INPUT', '-j', PART_IN_CHAIN),
    ipt('-F', PART_OUT_CHAIN),
    ipt('-F', PART_IN_CHAIN),
    ipt('-X', PART_OUT_CHAIN),
    ipt('-X', PART_IN_CHAIN),
    ...gens(PART_OUT_CHAIN, []),
    ...gens(PART_IN_CHAIN, []),
  ];
}

/** A generation's chain: `ACKLAB-PART-OUT` + 7 → `ACKLAB-PART-OUT-7` (at most 28 characters up to generation 10^11). */
export const genChain = (base: string, generation: number): string => `${base}-${generation}`;
const GEN_CHAIN = new RegExp(`^(${ACKLAB_CHAINS.join('|')})-(\\d+)$`);

/** The generations whose chains an `iptables-save` shows (a namespace an earlier agent worked in). */
export function savedGenerations(save: string): number[] {
  const gens = new Set<number>();
  for (const l of save.split('\n')) {
    const m = /^:(\S+) /.exec(l);
    const g = m ? GEN_CHAIN.exec(m[1]!) : null;
    if (g) gens.add(Number(g[2]));
  }
  return [...gens].sort((a, b) => a - b);
}

/** The command that applies a batch; the batch itself goes to its stdin. */
export const IPTABLES_RESTORE: readonly string[] = ['iptables-restore', '-w', '5', '--noflush'];

/** One impaired destination as the rules see it. */
export interface RuleDestination {
  /** Peer node name, or '*' for all egress. */
  to: string;
  /** The peer's addresses (ignored for '*'). */
  addresses: string[];
  /** The record written as the first rule's comment. */
  record: string;
  /** tc class minor when the stage has a class (rate, or netem leaf). */
  classMinor?: number;
  /** NFQUEUE number when the helper handles the packet stage. */
  queue?: number;
}

/** A restore-format rule line; arguments with blanks are double-quoted (iptables-restore(8)). */
function line(args: string[]): string {
  return args.map((a) => (/[\s"]/.test(a) ? `"${a.replace(/"/g, '\\"')}"` : a)).join(' ');
}

/** The rules of the ACKLAB-IMPAIR chain, as `-A …` argument lists: per-peer destinations first, "*" last. */
export function impairRules(destinations: readonly RuleDestination[]): string[][] {
  const ordered = [...destinations.filter((d) => d.to !== ALL_PEERS), ...destinations.filter((d) => d.to === ALL_PEERS)];
  const rules: string[][] = [];
  for (const d of ordered) {
    const matches = d.to === ALL_PEERS ? [[]] : d.addresses.map((a) => ['-d', `${a}/32`]);
    for (const m of matches) {
      let record = ['-m', 'comment', '--comment', d.record];
      const base = ['-A', IMPAIR_CHAIN, '!', '-o', 'lo', ...m];
      if (d.classMinor !== undefined) {
        rules.push([...base, ...record, '-j', 'CLASSIFY', '--set-class', classId(d.classMinor)]);
        record = [];
      }
      // The queue rule carries the record when there is no class rule, else a note naming its destination.
      const queueNote = record.length > 0 ? record : ['-m', 'comment', '--comment', `${QUEUE_NOTE} to=${d.to}`];
      if (d.queue !== undefined) rules.push([...base, '-m', 'mark', '!', '--mark', HELPER_MARK, ...queueNote, '-j', 'NFQUEUE', '--queue-num', String(d.queue)]);
      if (d.to !== ALL_PEERS) rules.push([...base, '-j', 'RETURN']);
    }
  }
  return rules;
}

/**
 * The rules for one cut on one side: on the sender (`side: 'from'`) they block packets to the
 * receiver's addresses; on the receiver (`side: 'to'`) packets from the sender's addresses — both,
 * so the cut holds even if one namespace's rules are changed.
 */
export function cutRules(cut: Cut, side: 'from' | 'to', peerAddresses: readonly string[]): string[][] {
  const comment = ['-m', 'comment', '--comment', encodeCutComment(cut)];
  const rules: string[][] = [];
  for (const a of peerAddresses) {
    if (side === 'from') {
      const base = ['-A', PART_OUT_CHAIN, '-d', `${a}/32`];
      // Reset style: the local TCP socket gets a RST at once (iptables-extensions(8) REJECT).
      if (cut.style === 'reset') rules.push([...base, '-p', 'tcp', ...comment, '-j', 'REJECT', '--reject-with', 'tcp-reset']);
      rules.push([...base, ...comment, '-j', 'DROP']);
    } else {
      const base = ['-A', PART_IN_CHAIN, '-s', `${a}/32`];
      if (cut.style === 'reset') rules.push([...base, '-p', 'tcp', '--tcp-flags', 'RST', 'RST', ...comment, '-j', 'RETURN']);
      rules.push([...base, ...comment, '-j', 'DROP']);
    }
  }
  return rules;
}

/**
 * The switch to generation `gen`: its chains declared and filled with the rules (given as `-A
 * <hooked chain> …`), and a goto to each inserted first in its hooked chain. Only adds; one COMMIT
 * per table. `prepared`: the generation's chains are already there (`generationBatch`, run ahead of
 * a timeline step), so the switch is the gotos alone.
 */
export function switchBatch(impair: readonly string[][], cuts: readonly string[][], gen: number, { prepared = false } = {}): string {
  const into = (rules: readonly string[][], base: string) => (prepared ? [] : generationLines(rules, base, gen));
  const hook = (base: string) => `-I ${base} 1 -g ${genChain(base, gen)}`;
  return [
    '*mangle',
    ...into(impair, IMPAIR_CHAIN),
    hook(IMPAIR_CHAIN),
    'COMMIT',
    '*filter',
    ...into(cuts, PART_OUT_CHAIN),
    ...into(cuts, PART_IN_CHAIN),
    hook(PART_OUT_CHAIN),
    hook(PART_IN_CHAIN),
    'COMMIT',
    '',
  ].join('\n');
}

/** Generation `gen`'s chains, declared and filled, reached by nothing yet: what a step prepares ahead of its time. */
export function generationBatch(impair: readonly string[][], cuts: readonly string[][], gen: number): string {
  return [
    '*mangle',
    ...generationLines(impair, IMPAIR_CHAIN, gen),
    'COMMIT',
    '*filter',
    ...generationLines(cuts, PART_OUT_CHAIN, gen),
    ...generationLines(cuts, PART_IN_CHAIN, gen),
    'COMMIT',
    '',
  ].join('\n');
}

function generationLines(rules: readonly string[][], base: string, gen: number): string[] {
  return [`:${genChain(base, gen)} - [0:0]`, ...rules.filter((r) => r[1] === base).map((r) => line([r[0]!, genChain(base, gen), ...r.slice(2)]))];
}

/**
 * After a switch, off the clock: each hooked chain holds only the goto to `current` (or nothing,
 * when null), and the `stale` generations' chains are deleted.
 */
export function tidyBatch(current: number | null, stale: readonly number[]): string {
  const table = (bases: string[]) => [
    ...bases.flatMap((b) => [`:${b} - [0:0]`, ...(current === null ? [] : [`-A ${b} -g ${genChain(b, current)}`])]),
    ...bases.flatMap((b) => stale.flatMap((g) => [`:${genChain(b, g)} - [0:0]`, `-X ${genChain(b, g)}`])),
  ];
  return ['*mangle', ...table([IMPAIR_CHAIN]), 'COMMIT', '*filter', ...table([PART_OUT_CHAIN, PART_IN_CHAIN]), 'COMMIT', ''].join('\n');
}

/**
 * `iptables-save` output as if each hooked chain held its current generation's rules itself: the
 * rules of the generation its first goto names are renamed to it; gotos and the rules of other
 * generations are left out. Read-back and the agent's checks see the rules in force, whatever the
 * generations.
 */
export function effectiveSave(save: string): string[] {
  const lines = save.split('\n');
  const current = new Map<string, string>();
  for (const l of lines) {
    const goto = /^(?:\[\d+:\d+\] )?-A (\S+) -g (\S+)$/.exec(l);
    if (goto && (ACKLAB_CHAINS as readonly string[]).includes(goto[1]!) && !current.has(goto[1]!)) current.set(goto[1]!, goto[2]!);
  }
  const out: string[] = [];
  for (const l of lines) {
    const rule = /^((?:\[\d+:\d+\] )?-A )(\S+)( .*)$/.exec(l);
    const decl = /^:(\S+) /.exec(l);
    const chain = rule?.[2] ?? decl?.[1];
    const gen = chain ? GEN_CHAIN.exec(chain) : null;
    if (gen) {
      // a generation's rules count as its hooked chain's when it is the current one
      if (rule && current.get(gen[1]!) === chain) out.push(`${rule[1]}${gen[1]}${rule[3]}`);
      continue;
    }
    if (rule && current.has(chain!) && / -g /.test(rule[3]!)) continue;
    out.push(l);
  }
  return out;
}

/** Read-back: the whole ruleset with counters, and the kernel's NFQUEUE listeners. */
export const IPTABLES_SAVE: readonly string[] = ['iptables-save', '-c'];
export const NFQUEUE_PROC: readonly string[] = ['cat', '/proc/net/netfilter/nfnetlink_queue'];

/**
 * Runs a script of argv lists and measurements inside a real kernel under qemu, and returns what
 * the VM printed. Generic: it knows namespaces, argv, a probe binary and a console, nothing of acklab.
 *
 *   VmScript  sections of steps; a step runs an argv in a network namespace (strict or tolerant,
 *             optionally capturing its output), spawns a daemon and waits for its pidfile, starts the
 *             probe servers, or measures (udp / tcp-rtt / tput, see vmprobe.c), alone or several at once
 *   → /init   a busybox shell script: mount, insmod, then each section as a shell function; a failed
 *             strict step ends its section (the next one still runs), then the VM powers off
 *   → qemu    `-kernel … -initrd … -serial stdio -no-reboot`; results come back on the console as
 *             lines `@@acklab-vm@@ {json}` (one write(2) each, so kernel messages cannot split them)
 *
 * Bounded: qemu is killed at `timeoutMs`; the temp folder (initrd, compiled binaries) always goes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { type Server, createServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ContentionSampler, childPid } from './contention.js';
import { Initramfs } from './initramfs.js';
import { type KernelTree, moduleBytes, resolveModules } from './kernel.js';

export const VM_PREFIX = '@@acklab-vm@@ ';
/** Where the probe binary lives in the VM (vmprobe.c). */
export const VM_PROBE = '/usr/local/bin/vmprobe';

export type VmStep =
  /** `stdin`: fed to the command (an iptables-restore batch, …); it travels in the image as a file. */
  | { kind: 'run'; ns?: string; argv: readonly string[]; tolerant?: boolean; capture?: string; stdin?: string }
  | { kind: 'spawn'; ns?: string; argv: readonly string[]; readyPidfile: string; timeoutMs?: number }
  | { kind: 'serve'; ns: string }
  | VmMeasure
  /** Measurements run at the same time (an A/B whose two sides see the same moment of the host). */
  | { kind: 'parallel'; measures: VmMeasure[]; once?: boolean };

export interface VmMeasure {
  kind: 'measure';
  id: string;
  ns: string;
  probe: 'udp' | 'tcp-rtt' | 'tput';
  to: string;
  count?: number;
  intervalUs?: number;
  timeoutMs?: number;
  secondsMs?: number;
  warmupMs?: number;
  /** tput only: the sender paces itself at this rate (bit/s) instead of sending flat out. */
  paceBps?: number;
  /** tput only: the window is fitted in this many parts and the median part reported. */
  parts?: number;
  /** udp only: a second stream from this namespace to `twinTo`, interleaved with the first (vmprobe.c). */
  twin?: { ns: string; to: string };
  /** Never measured again for a busy host (warm-ups, or a count that does not depend on timing). */
  once?: boolean;
}

export interface VmSection {
  name: string;
  steps: VmStep[];
}

export interface VmScript {
  sections: VmSection[];
}

export interface VmImage {
  kernel: KernelTree;
  /** Modules to insmod, by name; their dependencies are added, in order. */
  modules: readonly string[];
  /** Command name (argv[0] in the script) → absolute path in the VM. */
  tools: Readonly<Record<string, string>>;
  /** Puts the tools, the probe and anything else into the image. */
  populate(img: Initramfs): void;
}

export interface VmLine {
  id?: string;
  kind: string;
  /** Added on the host: fraction of the time since the previous line that qemu's vCPU waited for a host CPU. */
  hostWait?: number;
  [key: string]: unknown;
}

export interface VmResult {
  lines: VmLine[];
  sections: { name: string; ok: boolean }[];
  /** Every byte the console printed (kernel messages included). */
  console: string;
  accel: string;
  timedOut: boolean;
  exitCode: number | null;
  ms: { image: number; boot: number; total: number };
  initrdBytes: number;
  modules: string[];
  /** Fraction of the run qemu's vCPU thread spent waiting for a host CPU (see contention.ts). */
  hostWait?: number;
  /** Every answer to a guest's "does this measurement count?", in order. */
  verdicts: Verdict[];
  /** What this run made on the host, so a caller can check that none of it is left: qemu's pid (and its wrapper's), the temp folder. */
  pid?: number;
  wrapperPid?: number;
  tmpDir: string;
}

export interface RunOptions {
  timeoutMs: number;
  memoryMb?: number;
  /** Progress (one line per result) while the VM runs. */
  log?: (line: string) => void;
  /**
   * qemu -accel value(s); default tcg. Not kvm by default: where /dev/kvm opens but KVM does not work
   * (this machine: nested, CPUID refused) the guest hangs silently instead of qemu falling back.
   */
  accel?: string[];
  qemu?: string;
  /**
   * Niceness for qemu when running as root (default -20). Under emulation the guest's clocks are
   * the host's: every moment the host gives qemu's CPU to someone else shows up in the guest as
   * latency and lost throughput, so on a busy host the measurements measure the host.
   */
  nice?: number;
  /**
   * Measure again when the host starved qemu's vCPU for more than `maxWait` of a measurement
   * (run-queue delay, contention.ts), up to `attempts` times, redoing at most `budgetMs` per section.
   */
  redo?: { attempts: number; maxWait: number; budgetMs: number };
}

export interface Verdict {
  section: string;
  id: string;
  ms: number;
  wait: number | undefined;
  verdict: 'ok' | 'redo';
  why?: string;
}

const NAME = /^[A-Za-z0-9_.:/#@+-]+$/;
/** Pause before measuring again, counted in the redo budget. */
const SETTLE_MS = 1000;

function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The shell lines for one section: a function whose first failing strict step returns 1.
 * `attempts` > 1: after each measurement the script asks the host whether it counts (vmprobe ask,
 * over the second serial port) and measures again, up to `attempts` times, when the host says it
 * starved the emulator meanwhile.
 */
export function sectionScript(sec: VmSection, index: number, tools: Readonly<Record<string, string>>, attempts = 1): string {
  if (!NAME.test(sec.name)) throw new Error(`section name "${sec.name}" must match ${NAME}`);
  const lines: string[] = [];
  let n = 0;
  const resolve = (argv: readonly string[]): string[] => {
    const [cmd, ...rest] = argv;
    if (!cmd) throw new Error(`empty argv in section ${sec.name}`);
    const abs = cmd.startsWith('/') ? cmd : tools[cmd];
    if (!abs) throw new Error(`no tool "${cmd}" in the VM (known: ${Object.keys(tools).join(', ')}); argv: ${argv.join(' ')}`);
    return [abs, ...rest];
  };
  function nsOpt(ns?: string): string {
    if (ns === undefined) return '';
    if (!NAME.test(ns)) throw new Error(`namespace "${ns}" must match ${NAME}`);
    return ` --ns ${ns}`;
  }
  const retried = (askId: string, body: string[]): string[] =>
    attempts <= 1
      ? body.map((l) => `  ${l}`)
      : [
          '  n=0',
          '  while :; do',
          '    t=$($P now)',
          ...body.map((l) => `    ${l}`),
          '    n=$((n+1))',
          `    last=; [ "$n" -lt ${attempts} ] || last=--last`,
          `    $P ask --section ${sq(sec.name)} --id ${sq(askId)} --since "$t" $last && break`,
          '    [ -z "$last" ] || break',
          // What the last attempt left in a shaper's queue (a second of it at 1 mbit) drains first.
          `    sleep ${SETTLE_MS / 1000}`,
          '  done',
        ];
  const measureLine = (st: VmMeasure): string => {
    if (!NAME.test(st.id)) throw new Error(`measurement id "${st.id}" must match ${NAME}`);
    const opt = (k: string, v: number | undefined) => (v === undefined ? '' : ` --${k} ${Math.round(v)}`);
    return (
      `$P ${st.probe}${nsOpt(st.ns)} --id ${sq(st.id)} --to ${sq(st.to)}` +
      opt('count', st.count) +
      opt('interval-us', st.intervalUs) +
      opt('timeout-ms', st.timeoutMs) +
      opt('seconds-ms', st.secondsMs) +
      opt('warmup-ms', st.warmupMs) +
      opt('pace-bps', st.paceBps) +
      opt('parts', st.parts) +
      (st.twin ? `${nsOpt(st.twin.ns).replace('--ns', '--twin-ns')} --twin-to ${sq(st.twin.to)}` : '')
    );
  };
  for (const st of sec.steps) {
    const id = `${sec.name}#${++n}`;
    switch (st.kind) {
      case 'run': {
        if (st.capture !== undefined && !NAME.test(st.capture)) throw new Error(`capture id "${st.capture}" must match ${NAME}`);
        const stdin = st.stdin !== undefined ? ` --stdin ${stdinPath(index, n)}` : '';
        const flags = `${st.tolerant ? ' --tolerant' : ''}${st.capture !== undefined ? ' --capture' : ''}${stdin}`;
        lines.push(`  $P run${nsOpt(st.ns)} --id ${sq(st.capture ?? id)}${flags} -- ${resolve(st.argv).map(sq).join(' ')} || return 1`);
        break;
      }
      case 'spawn':
        lines.push(
          `  $P spawn${nsOpt(st.ns)} --id ${sq(id)} --ready-pidfile ${sq(st.readyPidfile)} --timeout-ms ${st.timeoutMs ?? 10_000} -- ${resolve(st.argv).map(sq).join(' ')} || return 1`,
        );
        break;
      case 'serve':
        lines.push(`  $P serve${nsOpt(st.ns)} || return 1`);
        break;
      case 'measure':
        lines.push(...(st.once ? [`  ${measureLine(st)} || return 1`] : retried(st.id, [`${measureLine(st)} || return 1`])));
        break;
      case 'parallel': {
        // Each probe prints its own line (one write(2)); a failing one says so in its JSON.
        const body = [...st.measures.map((m) => `${measureLine(m)} &`), 'wait'];
        lines.push(...(st.once ? body.map((l) => `  ${l}`) : retried(st.measures[0]!.id, body)));
        break;
      }
    }
  }
  const fn = `section_${index}`;
  return [
    `${fn}() {`,
    `  emit '{"kind":"section-start","name":"${sec.name}"}'`,
    ...lines,
    '}',
    `if ${fn}; then emit '{"kind":"section","name":"${sec.name}","ok":true}'; else emit '{"kind":"section","name":"${sec.name}","ok":false}'; fi`,
  ].join('\n');
}

/** Where step `step` (1-based) of section `section` finds its stdin in the image. */
export const stdinPath = (section: number, step: number) => `/stdin/${section}-${step}`;

/** The stdin files the script's run steps need, by image path. */
export function stdinFiles(script: VmScript): Map<string, string> {
  const out = new Map<string, string>();
  script.sections.forEach((sec, i) =>
    sec.steps.forEach((st, j) => {
      if (st.kind === 'run' && st.stdin !== undefined) out.set(stdinPath(i, j + 1), st.stdin);
    }),
  );
  return out;
}

/** /init: mounts, modules, the sections, power-off. */
export function initScript(script: VmScript, modules: readonly string[], tools: Readonly<Record<string, string>>, attempts = 1): string {
  const bb = '/bin/busybox';
  return [
    `#!${bb} sh`,
    '# Generated by test/kernel/vm/runner.ts. Real tools by absolute path: busybox applets (ip, tc) shadow PATH.',
    'export PATH=/usr/local/bin:/usr/sbin:/usr/bin',
    `export VMPROBE_PREFIX=${sq(VM_PREFIX)}`,
    `P=${VM_PROBE}`,
    `emit() { echo "$VMPROBE_PREFIX$1"; }`,
    `${bb} mount -t proc proc /proc`,
    `${bb} mount -t sysfs sysfs /sys`,
    `${bb} mount -t devtmpfs devtmpfs /dev`,
    `${bb} mount -t tmpfs tmpfs /run`,
    `${bb} mount -t tmpfs tmpfs /tmp`,
    `emit "{\\"kind\\":\\"boot\\",\\"uptime\\":$(${bb} cut -d' ' -f1 /proc/uptime),\\"kernel\\":\\"$(${bb} uname -r)\\"}"`,
    ...modules.map((m) => `$P run --id ${sq(`insmod:${m}`)} -- ${bb} insmod /lib/modules/vm/${m}.ko || { emit '{"kind":"fatal","what":"insmod ${m}"}'; ${bb} poweroff -f; }`),
    `emit "{\\"kind\\":\\"modules\\",\\"uptime\\":$(${bb} cut -d' ' -f1 /proc/uptime)}"`,
    `${tools.ip ?? '/usr/sbin/ip'} link set lo up`,
    ...script.sections.map((s, i) => sectionScript(s, i, tools, attempts)),
    `emit "{\\"kind\\":\\"done\\",\\"uptime\\":$(${bb} cut -d' ' -f1 /proc/uptime)}"`,
    `${bb} sync`,
    `${bb} poweroff -f`,
    '',
  ].join('\n');
}

export function parseLines(consoleText: string): VmLine[] {
  const out: VmLine[] = [];
  for (const raw of consoleText.split(/\r?\n/)) {
    const i = raw.indexOf(VM_PREFIX);
    if (i < 0) continue;
    try {
      out.push(JSON.parse(raw.slice(i + VM_PREFIX.length)) as VmLine);
    } catch {
      out.push({ kind: 'garbled', text: raw.slice(i) });
    }
  }
  return out;
}

/**
 * Answers the guest's "ask SECTION ID MS" lines: "redo" when qemu's vCPU waited for a host CPU for
 * more than `maxWait` of those last MS (and the section's redo budget allows), else "ok". Every
 * answer is recorded.
 */
async function answerAsks(
  sock: string,
  redo: NonNullable<RunOptions['redo']>,
  waitFraction: (from: number, to: number) => number | undefined,
  verdicts: Verdict[],
  log?: (line: string) => void,
): Promise<Server> {
  const redone = new Map<string, number>();
  const server = createServer((conn) => {
    let buf = '';
    conn.on('data', (d) => {
      buf += d.toString('latin1');
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const m = /^ask (\S+) (\S+) (\d+)( last)?$/.exec(buf.slice(0, i).trim());
        buf = buf.slice(i + 1);
        if (!m) continue;
        const [section, id, ms, last] = [m[1]!, m[2]!, Number(m[3]), m[4] !== undefined];
        const wait = waitFraction(Date.now() - ms, Date.now());
        const busy = wait !== undefined && wait > redo.maxWait;
        const spent = redone.get(section) ?? 0;
        const affordable = spent + ms + SETTLE_MS <= redo.budgetMs;
        const verdict: Verdict['verdict'] = busy && affordable && !last ? 'redo' : 'ok';
        if (verdict === 'redo') {
          redone.set(section, spent + ms + SETTLE_MS);
          log?.(`host: ${id} measured again, qemu waited ${(100 * wait!).toFixed(0)} % of its ${ms} ms for a CPU`);
        }
        const why = !busy ? undefined : last ? 'attempts spent' : affordable ? undefined : 'redo budget spent';
        verdicts.push({ section, id, ms, wait, verdict, ...(why ? { why } : {}) });
        conn.write(`${verdict}\n`);
      }
    });
    conn.on('error', () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(sock, resolve);
  });
  return server;
}

/** qemu and its `timeout` wrapper: the whole process group (it was started detached, so it leads one). */
function killGroup(c: ChildProcess): void {
  try {
    if (c.pid !== undefined) process.kill(-c.pid, 'SIGKILL');
  } catch {
    c.kill('SIGKILL');
  }
}

/** Builds the image, boots it, waits (bounded), and returns what came back on the console. */
export async function runVm(image: VmImage, script: VmScript, opts: RunOptions): Promise<VmResult> {
  const t0 = Date.now();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'acklab-kvm-'));
  let child: ChildProcess | undefined;
  let sampler: ContentionSampler | undefined;
  let askServer: Server | undefined;
  try {
    const mods = resolveModules(image.kernel, image.modules);
    const img = new Initramfs();
    for (const d of ['/proc', '/sys', '/run', '/tmp', '/usr/local/bin']) img.dir(d);
    img.symlink('/var/run', '../run');
    for (const m of mods) img.file(`/usr/lib/modules/vm/${m.name}.ko`, moduleBytes(m.file));
    image.populate(img);
    for (const [at, content] of stdinFiles(script)) img.file(at, content);
    const attempts = opts.redo?.attempts ?? 1;
    img.file('/init', initScript(script, mods.map((m) => m.name), image.tools, attempts), 0o755);
    const initrd = path.join(tmp, 'initrd.cpio');
    const buf = img.toBuffer();
    writeFileSync(initrd, buf);
    const tImage = Date.now();

    const verdicts: Verdict[] = [];
    const askArgs: string[] = [];
    if (attempts > 1) {
      const sock = path.join(tmp, 'ask.sock');
      askServer = await answerAsks(sock, opts.redo!, (from, to) => sampler?.waitFraction(from, to), verdicts, opts.log);
      // The guest's second serial port (ttyS1) is this socket: vmprobe ask writes there.
      askArgs.push('-chardev', `socket,id=ask,path=${sock}`, '-serial', 'chardev:ask');
    }
    const accel = opts.accel ?? ['tcg'];
    const args = [
      '-nodefaults',
      '-no-user-config',
      // Names the threads ("CPU 0/TCG"), so the contention sampler finds the vCPU.
      '-name', 'acklab-kvm,debug-threads=on',
      '-machine', 'pc',
      '-m', String(opts.memoryMb ?? 512),
      '-smp', '1',
      ...accel.flatMap((a) => ['-accel', a]),
      '-display', 'none',
      '-serial', 'stdio',
      ...askArgs,
      '-no-reboot',
      '-kernel', image.kernel.vmlinuz,
      '-initrd', initrd,
      // quiet: only errors reach the console; panic=-1 + -no-reboot: a dead init ends qemu at once.
      '-append', 'console=ttyS0 quiet loglevel=3 panic=-1 mitigations=off tsc=reliable',
    ];
    let text = '';
    let pid: number | undefined;
    let wrapperPid: number | undefined;
    let firstLineAt = 0;
    const tStart = Date.now();
    const arrivals: number[] = [];
    let pending = '';
    const result = await new Promise<{ code: number | null; timedOut: boolean }>((resolve, reject) => {
      const qemu = opts.qemu ?? 'qemu-system-x86_64';
      const nice = opts.nice ?? -20;
      const root = process.getuid?.() === 0 && nice !== 0;
      // `timeout` bounds qemu even if this process dies without its finally (a killed test worker):
      // a qemu left behind would otherwise run until its guest powers off.
      const bound = Math.max(1, Math.ceil((opts.timeoutMs - (Date.now() - t0)) / 1000));
      const argv = ['--kill-after=5', String(bound), ...(root ? ['nice', '-n', String(nice)] : []), qemu, ...args];
      // Its own session, so its own autogroup: with CONFIG_SCHED_AUTOGROUP a niceness only counts inside
      // the session, and the autogroup's own niceness (/proc/PID/autogroup) is what weighs against other sessions.
      const c = spawn('timeout', argv, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      child = c;
      wrapperPid = c.pid;
      if (root && c.pid !== undefined) {
        try {
          writeFileSync(`/proc/${c.pid}/autogroup`, String(nice));
        } catch {
          // no autogroups on this kernel: the plain niceness is all there is
        }
      }
      if (c.pid !== undefined) {
        const wrapper = c.pid;
        sampler = new ContentionSampler(() => (pid ??= childPid(wrapper)));
        sampler.start();
      }
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup(c);
      }, Math.max(1000, opts.timeoutMs - (Date.now() - t0)));
      const onData = (d: Buffer) => {
        const s = d.toString('latin1');
        text += s;
        pending += s;
        const parts = pending.split('\n');
        pending = parts.pop() ?? '';
        for (const p of parts) {
          if (!p.includes(VM_PREFIX)) continue;
          arrivals.push(Date.now());
          if (!firstLineAt) firstLineAt = Date.now();
          opts.log?.(p.slice(p.indexOf(VM_PREFIX) + VM_PREFIX.length).trim());
        }
      };
      c.stdout!.on('data', onData);
      c.stderr!.on('data', (d: Buffer) => (text += d.toString('latin1')));
      c.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      c.on('close', (code) => {
        clearTimeout(timer);
        // 124: `timeout` ended qemu itself (its bound is this timer's, rounded up to a second).
        resolve({ code, timedOut: timedOut || code === 124 || code === 137 });
      });
    });
    child = undefined;
    sampler?.stop();
    const lines = parseLines(text);
    if (sampler && arrivals.length === lines.length) {
      lines.forEach((l, i) => {
        const w = sampler!.waitFraction(i === 0 ? tStart : arrivals[i - 1]!, arrivals[i]!);
        if (w !== undefined) l.hostWait = w;
      });
    }
    const hostWait = sampler?.waitFraction(tStart, Date.now());
    // A measurement the host was asked about: its own window's wait, and how many attempts it took.
    for (const l of lines) {
      if (typeof l.id !== 'string') continue;
      const vs = verdicts.filter((v) => v.id === l.id);
      if (vs.length === 0) continue;
      const last = vs[vs.length - 1]!;
      if (last.wait !== undefined) l.hostWait = last.wait;
      l.attempts = vs.length;
    }
    askServer?.close();
    const sections = lines.filter((l) => l.kind === 'section').map((l) => ({ name: String(l.name), ok: l.ok === true }));
    const accelUsed = accel.join(',');
    return {
      lines,
      sections,
      console: text,
      accel: accelUsed,
      timedOut: result.timedOut,
      exitCode: result.code,
      ms: { image: tImage - t0, boot: firstLineAt ? firstLineAt - tImage : 0, total: Date.now() - t0 },
      initrdBytes: buf.length,
      modules: mods.map((m) => m.name),
      ...(pid !== undefined ? { pid } : {}),
      ...(wrapperPid !== undefined ? { wrapperPid } : {}),
      ...(hostWait !== undefined ? { hostWait } : {}),
      verdicts,
      tmpDir: tmp,
    };
  } finally {
    sampler?.stop();
    askServer?.close();
    if (child && child.exitCode === null) killGroup(child);
    rmSync(tmp, { recursive: true, force: true });
  }
}

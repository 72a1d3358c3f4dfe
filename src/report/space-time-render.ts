/**
 * Draws a space-time diagram (data from space-time.ts) as SVG. The whole renderer is ONE
 * self-contained function with no outside reference: report.html gets its source text
 * (`spaceTimeRendererSource`) inline, so the page re-draws on zoom, paging and resize with exactly
 * the code that drew the first picture in Node — and stays one file that asks nothing of the network.
 *
 * Two vertical scales:
 *   time     height proportional to time (px per ms). A quiet stretch longer than GAP px is drawn
 *            GAP + LOG·ln(its length / GAP) px tall and marked with a break (zig-zag, its real
 *            length in the time column), so a 6 s retransmission and a 1 ms burst fit on one page.
 *   logical  one row per event of a node (Lamport-diagram layout); the real time is printed beside.
 *
 * Labels never overlap: each sits in a lane — the time column, either side of each lifeline (at
 * most half-way to the next one), the fault column on the right — and a lane takes a label only
 * where it has room (a shorter form is tried, else the label is left to the hover text).
 */

/** One lifeline: a node of the run. */
export interface StLifeline {
  name: string;
  /** Second header line: "id 1", "client → server:8888", … */
  note: string;
}

/** One event on a lifeline. Times are ms since the run's t0. */
export interface StEvent {
  /** Lifeline index. */
  n: number;
  /** Position in time: the logged ms, spread inside that ms by causal order (a log has ms resolution). */
  t: number;
  /** The logged time (ms since t0, as logged). */
  ms: number;
  /** Logical row. */
  row: number;
  /** send | recv | ack-send | ack-recv | deliver | note (CSS class and shape). */
  k: string;
  /** Colour index (the message's sender). */
  c: number;
  /** The label where there is room, and the shorter one tried next (both may be ''). */
  label: string;
  short: string;
  /** Hover text. */
  title: string;
  /** Lower is placed first. */
  prio: number;
}

export interface StArrow {
  /** msg | ack | update | greeting (CSS class). */
  k: string;
  /** Event indexes of the send and the receive; `b` null: never received. */
  a: number;
  b: number | null;
  c: number;
  title: string;
  /** Never received: the lifeline it was for, and where it was lost (ms since t0: the cut, or the end of the run). */
  lost?: { n: number; t: number };
}

export interface StBand {
  from: number;
  /** null: to the end. */
  to: number | null;
  text: string;
  cls: string;
  changing: boolean;
}

export interface StMark {
  t: number;
  text: string;
  cls: string;
}

export interface StData {
  lifelines: StLifeline[];
  /** Sorted by t. */
  events: StEvent[];
  arrows: StArrow[];
  bands: StBand[];
  marks: StMark[];
  /** The time span drawn (ms since t0). */
  start: number;
  end: number;
}

export interface StView {
  mode: 'time' | 'logical';
  /** time: px per ms; logical: px per row. */
  zoom: number;
  /** Total width of the SVG (px). */
  width: number;
}

export interface StScale {
  height: number;
  /** y of a time (ms since t0). */
  y(t: number): number;
  /** y of an event. */
  yEvent(e: StEvent): number;
  /** The time at a y (inverse of y). */
  t(y: number): number;
  breaks: { t0: number; t1: number; y0: number; y1: number }[];
}

export interface StRendered {
  svg: string;
  header: string;
  height: number;
  scale: StScale;
}

export interface StRenderer {
  render(data: StData, view: StView): StRendered;
  scale(data: StData, view: Pick<StView, 'mode' | 'zoom'>): StScale;
  defaultZoom(data: StData, mode: StView['mode']): number;
  /** The zoom at which the span [from, to] (ms since t0; whole run when omitted) is `height` px tall. */
  zoomFor(data: StData, mode: StView['mode'], height: number, from?: number, to?: number): number;
  formatMs(ms: number): string;
}

/** The renderer. Self-contained: it must reference nothing outside its own body (its source is inlined in report.html). */
export function createSpaceTimeRenderer(): StRenderer {
  const PALETTE = ['#4c78a8', '#f58518', '#54a24b', '#b279a2', '#e45756', '#72b7b2', '#eeca3b', '#9d755d', '#ff9da6', '#bab0ac'];
  const ACK = '#767676';
  const LOST = '#d62728';
  const FAULT: Record<string, string> = { partition: '#d62728', impair: '#e6830f', process: '#7b4fb0', heal: '#2a7d2a', other: '#555555' };
  const GAP = 40;
  const BUSY = 320;
  const LOG = 10;
  const LEFT = 70;
  const TOP = 10;
  const BOTTOM = 14;
  const FONT = 10;
  const CHAR = 5.7;
  const LINE = 12;
  const HALO = 'stroke="white" stroke-width="3" stroke-linejoin="round" paint-order="stroke"';

  const esc = (s: string) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const r1 = (x: number) => Math.round(x * 10) / 10;
  const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

  function formatMs(ms: number): string {
    const sign = ms < 0 ? '−' : '+';
    const a = Math.abs(ms);
    return a < 1000 ? `${sign}${Math.round(a)} ms` : `${sign}${(a / 1000).toFixed(3)} s`;
  }
  function formatSpan(ms: number): string {
    return ms < 1000 ? `${Math.round(ms)} ms` : ms < 60_000 ? `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  }

  /** Every time something is drawn at (events, band edges, marks, losses), sorted, distinct. */
  function keyTimes(data: StData): number[] {
    const ts = [data.start, data.end];
    for (const e of data.events) ts.push(e.t);
    for (const b of data.bands) {
      ts.push(b.from);
      if (b.to !== null) ts.push(b.to);
    }
    for (const m of data.marks) ts.push(m.t);
    for (const a of data.arrows) if (a.lost) ts.push(a.lost.t);
    const sorted = ts.filter((t) => Number.isFinite(t)).sort((a, b) => a - b);
    return sorted.filter((t, i) => i === 0 || t !== sorted[i - 1]);
  }

  /** Index of the last element of `xs` (sorted) that is ≤ x; −1 when none. */
  function floorIndex(xs: number[], x: number): number {
    let lo = 0;
    let hi = xs.length - 1;
    let ans = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (xs[mid]! <= x) {
        ans = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return ans;
  }

  /** Durations of the received arrows, sorted. */
  function durations(data: StData): number[] {
    return data.arrows.flatMap((a) => (a.b === null ? [] : [data.events[a.b]!.t - data.events[a.a]!.t])).filter((d) => d > 0).sort((a, b) => a - b);
  }

  function timeScale(data: StData, pxPerMs: number): StScale {
    const keys = keyTimes(data);
    // a stretch with a typical message in flight is its latency, not a quiet one: drawn to scale up
    // to BUSY px (a message held up far beyond the typical — a retransmission — does not count)
    const ds = durations(data);
    const typical = ds.length ? 5 * ds[Math.floor(ds.length / 2)]! : 0;
    const inFlight = new Array<number>(keys.length + 1).fill(0);
    for (const a of data.arrows) {
      if (a.b === null) continue;
      const t0 = data.events[a.a]!.t;
      const t1 = data.events[a.b]!.t;
      if (!(t1 > t0) || t1 - t0 > typical) continue;
      inFlight[floorIndex(keys, t0)]! += 1;
      inFlight[floorIndex(keys, t1)]! -= 1;
    }
    const ys = [TOP];
    const breaks: StScale['breaks'] = [];
    // zoomed in far (past 16 px/ms), what counts as long grows with the zoom: a few ms are never "long"
    const grow = Math.max(1, pxPerMs / 16);
    let busy = 0;
    for (let i = 0; i + 1 < keys.length; i++) {
      busy += inFlight[i]!;
      const d = (keys[i + 1]! - keys[i]!) * pxPerMs;
      const limit = (busy > 0 ? BUSY : GAP) * grow;
      const h = d <= limit ? d : limit + LOG * Math.log(d / limit);
      ys.push(ys[i]! + h);
      if (d > 2 * limit) breaks.push({ t0: keys[i]!, t1: keys[i + 1]!, y0: ys[i]!, y1: ys[i + 1]! });
    }
    const y = (t: number) => {
      const i = floorIndex(keys, t);
      if (i < 0) return ys[0]!;
      if (i >= keys.length - 1) return ys[ys.length - 1]!;
      const f = (t - keys[i]!) / (keys[i + 1]! - keys[i]!);
      return ys[i]! + f * (ys[i + 1]! - ys[i]!);
    };
    const t = (yy: number) => {
      const i = floorIndex(ys, yy);
      if (i < 0) return keys[0]!;
      if (i >= ys.length - 1) return keys[keys.length - 1]!;
      const f = ys[i + 1]! === ys[i]! ? 0 : (yy - ys[i]!) / (ys[i + 1]! - ys[i]!);
      return keys[i]! + f * (keys[i + 1]! - keys[i]!);
    };
    return { height: ys[ys.length - 1]! + BOTTOM, y, yEvent: (e) => y(e.t), t, breaks };
  }

  function rowScale(data: StData, rowH: number): StScale {
    const rows = data.events.map((e) => e.row);
    const total = rows.length ? Math.max(...rows) + 1 : 1;
    const byT = [...data.events].sort((a, b) => a.t - b.t || a.row - b.row);
    const ts = byT.map((e) => e.t);
    // a time falls at the top of the row of the first event at or after it
    const y = (t: number) => {
      const i = floorIndex(ts, t - 1e-9) + 1;
      return TOP + (i < byT.length ? byT[i]!.row : total) * rowH;
    };
    const t = (yy: number) => {
      const row = Math.floor((yy - TOP) / rowH);
      const hit = byT.find((e) => e.row >= row);
      return hit ? hit.t : data.end;
    };
    return { height: TOP + total * rowH + BOTTOM, y, yEvent: (e) => TOP + e.row * rowH + rowH / 2, t, breaks: [] };
  }

  function scale(data: StData, view: Pick<StView, 'mode' | 'zoom'>): StScale {
    return view.mode === 'logical' ? rowScale(data, view.zoom) : timeScale(data, view.zoom);
  }

  function defaultZoom(data: StData, mode: StView['mode']): number {
    if (mode === 'logical') return 11;
    // a typical message gets about 28 px, so its slope reads; capped so a 1 ms burst stays compact
    const ds = durations(data);
    const median = ds.length ? ds[Math.floor(ds.length / 2)]! : 10;
    return clamp(28 / median, 0.002, 16);
  }

  function zoomFor(data: StData, mode: StView['mode'], height: number, from?: number, to?: number): number {
    const span = (z: number) => {
      const s = scale(data, { mode, zoom: z });
      return from === undefined || to === undefined ? s.height : s.y(to) - s.y(from);
    };
    let lo = mode === 'logical' ? 0.2 : 1e-5;
    let hi = mode === 'logical' ? 400 : 4000;
    for (let i = 0; i < 48; i++) {
      const mid = Math.sqrt(lo * hi);
      if (span(mid) > height) hi = mid;
      else lo = mid;
    }
    return lo;
  }

  /** Non-overlapping vertical intervals (one lane of labels). */
  function lane() {
    const items: [number, number][] = [];
    return {
      fits(y0: number, y1: number): boolean {
        let lo = 0;
        let hi = items.length;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (items[mid]![0] < y0) lo = mid + 1;
          else hi = mid;
        }
        const prev = items[lo - 1];
        const next = items[lo];
        return !(prev && prev[1] > y0) && !(next && next[0] < y1);
      },
      add(y0: number, y1: number): void {
        let i = 0;
        while (i < items.length && items[i]![0] < y0) i++;
        items.splice(i, 0, [y0, y1]);
      },
    };
  }

  /** Greedy word wrap to at most `max` characters per line. */
  function wrap(text: string, max: number): string[] {
    const lines: string[] = [];
    let line = '';
    for (const word of text.split(/\s+/)) {
      if (line && (line + ' ' + word).length > max) {
        lines.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    if (line) lines.push(line);
    return lines.flatMap((l) => (l.length <= max ? [l] : l.match(new RegExp(`.{1,${Math.max(1, max)}}`, 'g')) ?? [l]));
  }

  function render(data: StData, view: StView): StRendered {
    const n = Math.max(1, data.lifelines.length);
    const right = clamp(Math.round(view.width * 0.17), 110, 230);
    const colW = Math.max(60, (view.width - LEFT - right) / n);
    const width = LEFT + colW * n + right;
    const plotR = LEFT + colW * n;
    const xOf = (i: number) => LEFT + colW * (i + 0.5);
    const sc = scale(data, view);
    const H = sc.height;
    // the drawing's height: the scale's, or more when a fault label near the end needs the room
    let bottom = H;
    const color = (c: number) => PALETTE[((c % PALETTE.length) + PALETTE.length) % PALETTE.length]!;
    const out: string[] = [];
    out.push('<svg HEAD>');
    out.push('<defs>');
    const markers: [string, string, number][] = [...PALETTE.map((c, i): [string, string, number] => [`m${i}`, c, 8]), ['ack', ACK, 7], ['lost', LOST, 7]];
    for (const [id, c, size] of markers) {
      out.push(`<marker id="st-${id}" viewBox="0 0 10 10" refX="9.5" refY="5" markerUnits="userSpaceOnUse" markerWidth="${size}" markerHeight="${size}" orient="auto"><path d="M0,0L10,5L0,10z" fill="${c}"/></marker>`);
    }
    out.push('</defs>');
    out.push('<rect BG/>');

    const timeLane = lane();
    const faultLane = lane();
    const labels: string[] = [];

    // fault bands, shaded across the lifelines; their text in the fault column
    for (const b of data.bands) {
      const y0 = sc.y(b.from);
      const y1 = b.to === null ? H - BOTTOM : sc.y(b.to);
      const c = FAULT[b.cls] ?? FAULT.other!;
      const look = b.changing ? `fill-opacity="0.05" stroke="${c}" stroke-opacity="0.6" stroke-dasharray="3 2"` : 'fill-opacity="0.12"';
      const title = `${b.text}: ${formatMs(b.from)} → ${b.to === null ? 'end of run (never ended)' : formatMs(b.to)}`;
      out.push(`<rect class="band ${esc(b.cls)}${b.changing ? ' changing' : ''}" x="${LEFT}" y="${r1(y0)}" width="${r1(colW * n)}" height="${r1(Math.max(y1 - y0, 1.5))}" fill="${c}" ${look}><title>${esc(title)}</title></rect>`);
      if (!b.changing) out.push(`<rect x="${r1(plotR + 2)}" y="${r1(y0)}" width="3" height="${r1(Math.max(y1 - y0, 1.5))}" fill="${c}" fill-opacity="0.7"/>`);
    }
    // quiet stretches drawn shorter than their time: a zig-zag across, the real length in the time column
    for (const br of sc.breaks) {
      const ym = (br.y0 + br.y1) / 2;
      const zig = (dy: number) => {
        let d = `M${LEFT},${r1(ym + dy - 2)}`;
        for (let x = LEFT, k = 0; x < plotR; x += 8, k++) d += `L${r1(Math.min(x + 8, plotR))},${r1(ym + dy + (k % 2 ? -2 : 2))}`;
        return `<path d="${d}" fill="none" stroke="#999" stroke-width="1"/>`;
      };
      out.push(`<g class="break"><rect x="${LEFT}" y="${r1(ym - 6)}" width="${r1(plotR - LEFT)}" height="12" fill="white" fill-opacity="0.85"/>${zig(-3)}${zig(3)}<title>${esc(`${formatSpan(br.t1 - br.t0)} (${formatMs(br.t0)} → ${formatMs(br.t1)}) drawn shorter than to scale`)}</title></g>`);
      if (timeLane.fits(ym - LINE / 2, ym + LINE / 2)) {
        timeLane.add(ym - LINE / 2, ym + LINE / 2);
        labels.push(`<text class="lbl time gap" x="${LEFT - 6}" y="${r1(ym + 3.5)}" text-anchor="end" fill="#888" font-style="italic">⋯ ${esc(formatSpan(br.t1 - br.t0))}</text>`);
      }
    }
    // lifelines
    data.lifelines.forEach((_, i) => out.push(`<line class="lifeline" x1="${r1(xOf(i))}" x2="${r1(xOf(i))}" y1="0" y2="${r1(H)}" stroke="#444" stroke-width="1.4"/>`));
    // timeline steps: a dashed rule, the step's text in the fault column
    for (const m of data.marks) {
      const y = sc.y(m.t);
      const c = FAULT[m.cls] ?? FAULT.other!;
      out.push(`<line class="mark ${esc(m.cls)}" x1="${LEFT}" x2="${r1(plotR + 6)}" y1="${r1(y)}" y2="${r1(y)}" stroke="${c}" stroke-dasharray="5 3" stroke-width="1.2"><title>${esc(`${m.text} (in force ${formatMs(m.t)})`)}</title></line>`);
    }
    const faultTexts = data.marks.map((m) => ({ t: m.t, text: `${m.text} (in force ${formatMs(m.t)})`, cls: m.cls, bold: m.cls !== 'heal' })).sort((a, b) => a.t - b.t);
    const perLine = Math.max(8, Math.floor((right - 14) / CHAR));
    for (const f of faultTexts) {
      const lines = wrap(f.text, perLine);
      let y0 = sc.y(f.t) - 2;
      // slide down (never up: the label starts at its step) until there is room
      for (let tries = 0; tries < 40 && !faultLane.fits(y0, y0 + lines.length * LINE); tries++) y0 += LINE / 2;
      if (!faultLane.fits(y0, y0 + lines.length * LINE)) continue;
      faultLane.add(y0, y0 + lines.length * LINE);
      bottom = Math.max(bottom, y0 + lines.length * LINE + 4);
      const c = FAULT[f.cls] ?? FAULT.other!;
      labels.push(`<text class="lbl fault" x="${r1(plotR + 10)}" y="${r1(y0 + 9)}" fill="${c}"${f.bold ? ' font-weight="bold"' : ''} ${HALO}>${lines.map((l, i) => `<tspan x="${r1(plotR + 10)}" dy="${i === 0 ? 0 : LINE}">${esc(l)}</tspan>`).join('')}</text>`);
    }

    // arrows: ACKs under messages
    const order = [...data.arrows].sort((a, b) => (a.k === 'ack' ? 0 : 1) - (b.k === 'ack' ? 0 : 1));
    for (const a of order) {
      const s = data.events[a.a]!;
      const x1 = xOf(s.n);
      const y1 = sc.yEvent(s);
      const isAck = a.k === 'ack';
      const c = isAck ? ACK : color(a.c);
      const w = isAck ? 0.9 : 1.5;
      const cls = `arrow ${esc(a.k)}${isAck ? ' ack-part' : ''}`;
      if (a.b !== null) {
        const r = data.events[a.b]!;
        let x2 = xOf(r.n);
        const y2 = sc.yEvent(r);
        // stop at the dot's edge, so the head stays visible
        const dx = x2 - x1;
        const dy = y2 - y1;
        const len = Math.hypot(dx, dy) || 1;
        x2 -= (dx / len) * 3.5;
        const y2e = y2 - (dy / len) * 3.5;
        out.push(`<g class="${cls}"><line x1="${r1(x1)}" y1="${r1(y1)}" x2="${r1(x2)}" y2="${r1(y2e)}" stroke="${c}" stroke-width="${w}" marker-end="url(#st-${isAck ? 'ack' : `m${((a.c % PALETTE.length) + PALETTE.length) % PALETTE.length}`})"/><line class="hit" x1="${r1(x1)}" y1="${r1(y1)}" x2="${r1(x2)}" y2="${r1(y2e)}" stroke="transparent" stroke-width="7"/><title>${esc(a.title)}</title></g>`);
      } else if (a.lost) {
        // never received: its own path, towards its receiver, ends in a cross at the time of the cut
        const span = a.lost.n - s.n;
        const k = Math.abs(span);
        const xl = x1 + Math.sign(span) * (k - 0.5) * colW;
        const yl = Math.max(sc.y(a.lost.t), y1 + 6);
        const ux = xl - x1;
        const uy = yl - y1;
        const ul = Math.hypot(ux, uy) || 1;
        const xe = xl - (ux / ul) * 5;
        const ye = yl - (uy / ul) * 5;
        out.push(`<g class="${cls} lost"><line x1="${r1(x1)}" y1="${r1(y1)}" x2="${r1(xe)}" y2="${r1(ye)}" stroke="${LOST}" stroke-width="${isAck ? 0.9 : 1.3}" stroke-dasharray="4 2"/><path class="cross" d="M${r1(xl - 4)},${r1(yl - 4)}L${r1(xl + 4)},${r1(yl + 4)}M${r1(xl - 4)},${r1(yl + 4)}L${r1(xl + 4)},${r1(yl - 4)}" stroke="${LOST}" stroke-width="1.8"/><line class="hit" x1="${r1(x1)}" y1="${r1(y1)}" x2="${r1(xl)}" y2="${r1(yl)}" stroke="transparent" stroke-width="7"/><title>${esc(a.title)}</title></g>`);
      }
    }

    // events, then their labels where there is room
    const laneW = colW / 2 - 12;
    const sides = data.lifelines.map(() => ({ left: lane(), right: lane() }));
    const eventLabels: { e: StEvent; y: number }[] = [];
    for (const e of data.events) {
      const x = xOf(e.n);
      const y = sc.yEvent(e);
      const c = color(e.c);
      const ack = e.k === 'ack-send' || e.k === 'ack-recv';
      const cls = `ev ${esc(e.k)}${ack ? ' ack-part' : ''}`;
      let shape: string;
      if (e.k === 'send' || e.k === 'update-send') shape = `<circle cx="${r1(x)}" cy="${r1(y)}" r="4" fill="white" stroke="${c}" stroke-width="1.8"/>`;
      else if (e.k === 'deliver') shape = `<circle cx="${r1(x)}" cy="${r1(y)}" r="3.8" fill="${c}" stroke="white" stroke-width="0.8"/>`;
      else if (e.k === 'ack-send') shape = `<rect x="${r1(x - 2.5)}" y="${r1(y - 2.5)}" width="5" height="5" fill="white" stroke="${ACK}" stroke-width="1.2"/>`;
      else if (e.k === 'ack-recv') shape = `<circle cx="${r1(x)}" cy="${r1(y)}" r="2.2" fill="${ACK}"/>`;
      else if (e.k === 'note') shape = `<path d="M${r1(x)},${r1(y - 4.5)}L${r1(x + 4.5)},${r1(y)}L${r1(x)},${r1(y + 4.5)}L${r1(x - 4.5)},${r1(y)}Z" fill="#fff3cd" stroke="#b8860b" stroke-width="1.2"/>`;
      else shape = `<circle cx="${r1(x)}" cy="${r1(y)}" r="2.8" fill="${c}"/>`;
      out.push(`<g class="${cls}">${shape}<title>${esc(e.title)}</title></g>`);
      eventLabels.push({ e, y });
    }
    eventLabels.sort((a, b) => a.e.prio - b.e.prio || a.e.t - b.e.t);
    for (const { e, y } of eventLabels) {
      const prefer: ('left' | 'right')[] = e.k === 'send' || e.k === 'ack-send' || e.k === 'update-send' ? ['left', 'right'] : ['right', 'left'];
      const ack = e.k === 'ack-send' || e.k === 'ack-recv';
      let placed = false;
      for (const text of [e.label, e.short]) {
        if (!text || text.length * CHAR > laneW) continue;
        for (const side of prefer) {
          const l = sides[e.n]![side];
          if (!l.fits(y - LINE / 2, y + LINE / 2)) continue;
          l.add(y - LINE / 2, y + LINE / 2);
          const x = side === 'left' ? xOf(e.n) - 7 : xOf(e.n) + 7;
          labels.push(`<text class="lbl ev-lbl${ack ? ' ack-part' : ''}" x="${r1(x)}" y="${r1(y + 3.5)}" text-anchor="${side === 'left' ? 'end' : 'start'}" fill="${e.k === 'deliver' ? '#222' : ack ? '#666' : color(e.c)}" ${HALO}>${esc(text)}</text>`);
          placed = true;
          break;
        }
        if (placed) break;
      }
    }
    // the time column: the logged time of events where there is room
    const seen = new Set<number>();
    for (const e of [...data.events].sort((a, b) => a.t - b.t)) {
      if (seen.has(e.ms)) continue;
      seen.add(e.ms);
      const y = sc.yEvent(e);
      if (!timeLane.fits(y - LINE / 2 - 1, y + LINE / 2 + 1)) continue;
      timeLane.add(y - LINE / 2 - 1, y + LINE / 2 + 1);
      labels.push(`<text class="lbl time" x="${LEFT - 6}" y="${r1(y + 3.5)}" text-anchor="end" fill="#555">${esc(formatMs(e.ms))}</text>`);
      labels.push(`<line class="tick" x1="${LEFT - 3}" x2="${LEFT}" y1="${r1(y)}" y2="${r1(y)}" stroke="#999"/>`);
    }
    out.push(...labels);
    out.push('</svg>');

    const header: string[] = [];
    header.push(`<svg xmlns="http://www.w3.org/2000/svg" class="space-time-head" width="${r1(width)}" height="34" viewBox="0 0 ${r1(width)} 34" font-family="sans-serif" font-size="${FONT}">`);
    header.push(`<text x="${LEFT - 6}" y="14" text-anchor="end" fill="#555">since t0</text>`);
    header.push(`<text x="${r1(plotR + 10)}" y="14" fill="#555">faults</text>`);
    data.lifelines.forEach((l, i) => {
      const maxChars = Math.max(4, Math.floor((colW - 8) / 7));
      header.push(`<text class="lifeline-name" x="${r1(xOf(i))}" y="14" text-anchor="middle" font-size="12" font-weight="bold">${esc(l.name.length > maxChars ? `${l.name.slice(0, maxChars - 1)}…` : l.name)}<title>${esc(l.name)}</title></text>`);
      if (l.note) {
        const noteChars = Math.max(4, Math.floor((colW - 8) / CHAR));
        header.push(`<text x="${r1(xOf(i))}" y="28" text-anchor="middle" fill="#666">${esc(l.note.length > noteChars ? `${l.note.slice(0, noteChars - 1)}…` : l.note)}</text>`);
      }
    });
    header.push('</svg>');
    out[0] = `<svg xmlns="http://www.w3.org/2000/svg" class="space-time" data-mode="${view.mode}" width="${r1(width)}" height="${r1(bottom)}" viewBox="0 0 ${r1(width)} ${r1(bottom)}" font-family="sans-serif" font-size="${FONT}">`;
    out[out.indexOf('<rect BG/>')] = `<rect class="bg" width="${r1(width)}" height="${r1(bottom)}" fill="white"/>`;
    return { svg: out.join(''), header: header.join(''), height: bottom, scale: sc };
  }

  return { render, scale, defaultZoom, zoomFor, formatMs };
}

/** The renderer's source, for report.html: `(${spaceTimeRendererSource})()` gives the same renderer in a browser. */
export const spaceTimeRendererSource: string = createSpaceTimeRenderer.toString();

/**
 * A tiny traffic tool run INSIDE lab nodes with `node -e` (the node image has Node 18; no extra
 * package): echo/sink/counter servers and clients that print one JSON line. Traffic goes only
 * between the lab's own containers.
 */
export const PROBE_SERVER = String.raw`
const net = require('node:net'), dgram = require('node:dgram');
const udp = dgram.createSocket('udp4'); udp.on('message', (m, r) => udp.send(m, r.port, r.address)); udp.bind(9000);
net.createServer((s) => { s.setNoDelay(true); s.pipe(s); }).listen(9001);
net.createServer((s) => {
  let want = -1, got = 0, head = '';
  s.on('data', (d) => {
    if (want < 0) { head += d.toString('latin1'); const i = head.indexOf('\n'); if (i < 0) return; want = Number(head.slice(0, i)); got = head.length - i - 1; }
    else got += d.length;
    if (got >= want) { s.end('done\n'); }
  });
  s.on('error', () => {});
}).listen(9002);
const counts = {}; const cu = dgram.createSocket('udp4'); cu.on('message', (m, r) => { counts[r.address] = (counts[r.address] || 0) + 1; }); cu.bind(9003);
net.createServer((s) => s.end(JSON.stringify(counts) + '\n')).listen(9004, '127.0.0.1');
`;

export const PROBE_CLIENT = String.raw`
const net = require('node:net'), dgram = require('node:dgram');
const [mode, host, a, b] = process.argv.slice(1);
// Exit only once the line is written: stdout to a pipe is asynchronous, and a long RTT list spans writes.
const out = (o) => { if (o.rtts) o.rtts = o.rtts.map((x) => Math.round(x * 1000) / 1000); process.stdout.write(JSON.stringify(o) + '\n', () => process.exit(0)); };
const now = () => Number(process.hrtime.bigint()) / 1e6;
if (mode === 'udp') {
  const n = Number(a), every = Number(b); const s = dgram.createSocket('udp4'); const sent = new Map(); const rtts = [];
  s.on('message', (m) => { const k = Number(m.toString()); if (sent.has(k)) { rtts.push(now() - sent.get(k)); sent.delete(k); } });
  let i = 0; const t = setInterval(() => { if (i >= n) { clearInterval(t); setTimeout(() => out({ sent: n, received: rtts.length, rtts }), 1500); return; }
    sent.set(i, now()); s.send(String(i++), 9000, host); }, every);
} else if (mode === 'tcprtt') {
  const n = Number(a); const rtts = []; const c = net.connect(9001, host, () => { c.setNoDelay(true); let t0 = now(); c.write('x');
    c.on('data', () => { rtts.push(now() - t0); if (rtts.length >= n) { c.destroy(); out({ rtts }); } else { t0 = now(); c.write('x'); } }); });
  c.on('error', (e) => out({ error: String(e) }));
} else if (mode === 'tput') {
  const bytes = Number(a); const t0 = now(); const c = net.connect(9002, host, () => { c.write(bytes + '\n'); c.end(Buffer.alloc(bytes, 120)); });
  c.on('data', () => { out({ bytes, ms: now() - t0 }); }); c.on('error', (e) => out({ error: String(e) }));
} else if (mode === 'udpsend') {
  const n = Number(a); const s = dgram.createSocket('udp4'); let i = 0;
  const t = setInterval(() => { if (i++ >= n) { clearInterval(t); setTimeout(() => out({ sent: n }), 200); return; } s.send('c', 9003, host); }, 5);
} else if (mode === 'counts') {
  const c = net.connect(9004, '127.0.0.1'); let d = ''; c.on('data', (x) => (d += x)); c.on('end', () => out(JSON.parse(d)));
}
`;

export interface UdpResult { sent: number; received: number; rtts: number[] }

export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
}

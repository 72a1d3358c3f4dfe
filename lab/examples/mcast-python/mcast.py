#!/usr/bin/env python3
"""
mcast-python: totally-ordered multicast with Lamport clocks and ACKs (the course's "Multicast & ACK"
assignment), following acklab's grading contract (lab/examples/README.md). Python 3, standard library
only (asyncio). Configured by the environment: ACKLAB_ID, ACKLAB_LISTEN_PORT, ACKLAB_PEERS, ACKLAB_COUNT,
ACKLAB_INTERVAL_MS, ACKLAB_OUT, ACKLAB_EVENTS (optional), ACKLAB_DURATION_MS (optional).

The algorithm (the textbook one: Tanenbaum & van Steen, "totally ordered multicasting"):
  - Lamport clock: tick before every send (a message or an ack); on every receive,
    clock = max(clock, ts) + 1.
  - A member multicasts each message to every other member. Every receiver multicasts an ACK of it to
    every other member and counts its own ack; a sender's message is its own ack.
  - Each member queues messages ordered by (timestamp, sender id) and delivers the head of the queue
    once EVERY member has acknowledged it.
  Why that is safe: links are TCP (FIFO), and an ack of m is stamped after m was received, so its
  timestamp is larger than m's. Once every member's ack of m is in, every member has already sent us
  everything it stamped before m: nothing can still arrive that belongs in front of m.

Wire protocol (this implementation's choice; the contract leaves it open): one JSON object per line,
and the lower id dials the higher, retrying until the link is up.
  {"type":"hello","id":1,"count":10}          first line each way
  {"type":"msg","ts":7,"sender":1,"seq":3}
  {"type":"ack","ts":9,"from":2,"sender":1,"seq":3}
  {"type":"ping"}                             every second, so silence means a dead or cut-off peer
  {"type":"bye","id":1}                       all delivered: I owe nothing more and need nothing more

Knobs of this implementation (not part of the contract): MCAST_SILENCE_MS (15000: a linked peer that
sends nothing, not even a ping, for this long is lost), MCAST_GRACE_MS (2000: once a peer is lost, stop
when no message or ack has arrived for this long), MCAST_CONNECT_TIMEOUT_MS (120000: give up building
the mesh). Exit: 0 all delivered; 1 error (e.g. mesh incomplete); 2 bad environment; 3 stopped
incomplete (SIGTERM/SIGINT, ACKLAB_DURATION_MS, a peer lost). The last stdout line is a JSON summary.
"""
import asyncio
import bisect
import json
import os
import signal
import sys
import time

EXIT_COMPLETE, EXIT_ERROR, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3
HEARTBEAT_S = 1.0
# A member that is done waits this long for its peers to close first, so it never resets a link that
# still carries data the peer has not read.
LINGER_S = 2.0
HELLO_TIMEOUT_S = 10.0


def now_ms():
    return time.time_ns() // 1_000_000


def say(text):
    print(text, flush=True)


def fmt(ts, sender, seq):
    return f'(ts={ts}, sender={sender}, seq={seq})'


def describe(err):
    return f'{type(err).__name__}: {err}' if str(err) else type(err).__name__


class UsageError(Exception):
    pass


def env_int(env, name, minimum, default=None):
    raw = env.get(name, '').strip()
    if raw == '':
        if default is None:
            raise UsageError(f'{name} is required')
        return default
    try:
        value = int(raw)
    except ValueError:
        raise UsageError(f'{name} must be an integer (got {raw!r})') from None
    if value < minimum:
        raise UsageError(f'{name} must be at least {minimum} (got {value})')
    return value


def parse_peers(raw, self_id):
    """'2@p2:9000,3@p3:9000' -> {2: ('p2', 9000), 3: ('p3', 9000)}; errors name the entry."""
    peers = {}
    for entry in filter(None, (e.strip() for e in raw.split(','))):
        ident, at, address = entry.partition('@')
        host, colon, port = address.rpartition(':')
        if not (at and colon and host and ident.isdigit() and port.isdigit()):
            raise UsageError(f'ACKLAB_PEERS: {entry!r} must look like id@host:port')
        peer, port = int(ident), int(port)
        if peer < 1 or not 1 <= port <= 65535:
            raise UsageError(f'ACKLAB_PEERS: {entry!r}: ids start at 1 and ports are 1-65535')
        if peer == self_id:
            raise UsageError(f'ACKLAB_PEERS: {entry!r} is this member (ACKLAB_ID={self_id}); list only the others')
        if peer in peers:
            raise UsageError(f'ACKLAB_PEERS: id {peer} is listed twice')
        peers[peer] = (host.strip('[]'), port)
    return peers


class Config:
    def __init__(self, env):
        self.id = env_int(env, 'ACKLAB_ID', 1)
        self.port = env_int(env, 'ACKLAB_LISTEN_PORT', 1)
        if self.port > 65535:
            raise UsageError(f'ACKLAB_LISTEN_PORT must be 1-65535 (got {self.port})')
        self.peers = parse_peers(env.get('ACKLAB_PEERS', ''), self.id)
        self.count = env_int(env, 'ACKLAB_COUNT', 1)
        self.interval_s = env_int(env, 'ACKLAB_INTERVAL_MS', 0) / 1000
        self.out = env.get('ACKLAB_OUT', '').strip()
        if not self.out:
            raise UsageError('ACKLAB_OUT is required (the delivered file)')
        self.events = env.get('ACKLAB_EVENTS', '').strip() or None
        duration = env_int(env, 'ACKLAB_DURATION_MS', 1, default=-1)
        self.duration_s = None if duration < 0 else duration / 1000
        self.silence_s = env_int(env, 'MCAST_SILENCE_MS', 1, default=15000) / 1000
        self.grace_s = env_int(env, 'MCAST_GRACE_MS', 1, default=2000) / 1000
        self.connect_timeout_s = env_int(env, 'MCAST_CONNECT_TIMEOUT_MS', 1, default=120000) / 1000


def open_for_writing(path):
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    return open(path, 'w', encoding='utf-8')


def encode(**fields):
    return (json.dumps(fields, separators=(',', ':')) + '\n').encode()


def is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


FIELDS = {
    'hello': ('id', 'count'),
    'msg': ('ts', 'sender', 'seq'),
    'ack': ('ts', 'from', 'sender', 'seq'),
    'ping': (),
    'bye': ('id',),
}


def decode(raw):
    """A wire line -> (message, None) or (None, why it is rejected)."""
    try:
        msg = json.loads(raw)
    except ValueError as err:
        return None, f'not JSON ({err}): {raw[:80]!r}'
    if not isinstance(msg, dict) or msg.get('type') not in FIELDS:
        return None, f'not a message of type {"/".join(FIELDS)}: {raw[:80]!r}'
    for field in FIELDS[msg['type']]:
        if not is_count(msg.get(field)):
            return None, f'{msg["type"]}: field {field!r} must be a non-negative integer (got {msg.get(field)!r})'
    return msg, None


class Link:
    """The TCP link to one peer. Lines sent before it is up wait in `pending`, in order (FIFO holds)."""

    def __init__(self, peer, host, port):
        self.peer, self.host, self.port = peer, host, port
        self.writer = None
        self.pending = []
        self.left = False  # it said bye
        self.lost = None  # why, once lost
        self.heard = time.monotonic()
        self.error = 'not connected yet'
        self.closed = asyncio.Event()  # its reader saw EOF or an error

    @property
    def up(self):
        return self.writer is not None

    def send(self, data):
        if self.lost or self.left:
            return
        if self.writer is None:
            self.pending.append(data)
        elif not self.writer.is_closing():
            self.writer.write(data)


class Member:
    def __init__(self, cfg):
        self.cfg = cfg
        self.members = frozenset([cfg.id, *cfg.peers])
        self.expected = cfg.count * len(self.members)
        self.links = {peer: Link(peer, host, port) for peer, (host, port) in cfg.peers.items()}
        self.clock = 0
        self.queue = []  # (ts, sender, seq), kept sorted: the total order
        self.acks = {}  # (sender, seq) -> ids of the members that acknowledged it
        self.queued_at = {}  # (sender, seq) -> time.monotonic() when it entered the queue
        self.received = {m: set() for m in self.members}
        self.delivered = 0
        self.sent = 0
        self.acks_received = 0
        self.rejected = 0
        self.last_progress = time.monotonic()
        self.reason = None
        self.error = False
        self.finishing = False
        self.tasks = set()  # dialers and timers: cancelled when stopping
        self.readers = set()  # link readers: they run on while the links close
        self.out = open_for_writing(cfg.out)
        self.events = open_for_writing(cfg.events) if cfg.events else None

    # ---- output -------------------------------------------------------------------------------------

    def emit(self, event, **fields):
        if self.events is None:
            return
        self.events.write(json.dumps({'ts': now_ms(), 'event': event, **fields}, separators=(',', ':')) + '\n')
        self.events.flush()

    def reject(self, link, why):
        self.rejected += 1
        say(f'Rejected line from peer {link.peer}: {why}')
        self.emit('rejected_line', peer=str(link.peer), reason=why)

    def finish(self, reason, error=False):
        if self.reason is None:
            self.reason, self.error = reason, error
            self.done.set()

    def spawn(self, coro, tasks=None):
        tasks = self.tasks if tasks is None else tasks
        task = asyncio.ensure_future(coro)
        tasks.add(task)  # asyncio keeps only weak references to tasks
        task.add_done_callback(tasks.discard)

    def broadcast(self, data):
        for link in self.links.values():
            link.send(data)

    # ---- the algorithm ------------------------------------------------------------------------------

    def tick(self):
        self.clock += 1
        return self.clock

    def enqueue(self, ts, sender, seq):
        key = (sender, seq)
        bisect.insort(self.queue, (ts, sender, seq))
        self.queued_at[key] = time.monotonic()
        # The sender's message is its own ack, and we ack what we queue.
        self.acks.setdefault(key, set()).update((sender, self.cfg.id))

    def deliverable(self, key):
        return self.acks[key] >= self.members

    def try_deliver(self):
        while self.queue and not self.finishing:
            ts, sender, seq = self.queue[0]
            key = (sender, seq)
            if not self.deliverable(key):
                return
            self.queue.pop(0)
            del self.queued_at[key]  # its acks stay: a repeated ack is still recognised
            self.delivered += 1
            self.out.write(json.dumps({'lamport': ts, 'sender': sender, 'seq': seq, 'deliveredAt': now_ms()}, separators=(',', ':')) + '\n')
            self.out.flush()
            self.emit('delivered', lamport=ts, sender=sender, seq=seq, position=self.delivered)
            say(f'Delivered {fmt(ts, sender, seq)} #{self.delivered}')
            if self.delivered == self.expected:
                self.finish(f'all {self.expected} messages delivered')

    def on_msg(self, link, msg):
        ts, sender, seq = msg['ts'], msg['sender'], msg['seq']
        if sender != link.peer:
            return self.reject(link, f'msg claims sender {sender} on the link of peer {link.peer}')
        if not 1 <= seq <= self.cfg.count:
            return self.reject(link, f'msg seq {seq} is outside 1..{self.cfg.count}')
        if seq in self.received[sender]:
            return self.reject(link, f'duplicate msg {fmt(ts, sender, seq)}')
        self.clock = max(self.clock, ts) + 1
        self.received[sender].add(seq)
        self.last_progress = time.monotonic()
        self.emit('mcast_received', lamport=ts, sender=sender, seq=seq)
        self.enqueue(ts, sender, seq)
        # Every receiver multicasts its ack, stamped after the receive, so its timestamp is > ts.
        self.broadcast(encode(type='ack', ts=self.tick(), **{'from': self.cfg.id}, sender=sender, seq=seq))
        self.try_deliver()

    def on_ack(self, link, msg):
        ts, source, sender, seq = msg['ts'], msg['from'], msg['sender'], msg['seq']
        if source != link.peer:
            return self.reject(link, f'ack claims to be from {source} on the link of peer {link.peer}')
        if sender not in self.members or sender == source or not 1 <= seq <= self.cfg.count:
            return self.reject(link, f'ack of an unknown message (sender={sender}, seq={seq})')
        key = (sender, seq)
        if source in self.acks.get(key, ()):
            return self.reject(link, f'duplicate ack from {source} of (sender={sender}, seq={seq})')
        self.clock = max(self.clock, ts) + 1
        self.acks_received += 1
        self.last_progress = time.monotonic()
        # An ack may overtake the message it acknowledges (it comes from another member).
        self.acks.setdefault(key, set()).add(source)
        self.emit('mcast_ack', **{'from': source}, sender=sender, seq=seq, lamport=ts)
        self.try_deliver()

    async def multicast(self):
        await self.links_up.wait()
        loop = asyncio.get_running_loop()
        start = loop.time()
        for seq in range(1, self.cfg.count + 1):
            # Once a peer is lost nothing new can be delivered (its ack will never come): stop sending.
            if self.finishing or any(link.lost for link in self.links.values()):
                return
            ts = self.tick()
            self.sent = seq
            self.received[self.cfg.id].add(seq)
            self.enqueue(ts, self.cfg.id, seq)
            # Logged before any socket write, so no receiver's event can be earlier than the send.
            self.emit('mcast_sent', lamport=ts, seq=seq)
            say(f'Multicast {fmt(ts, self.cfg.id, seq)}')
            self.broadcast(encode(type='msg', ts=ts, sender=self.cfg.id, seq=seq))
            self.try_deliver()  # a group of one delivers at once
            if seq < self.cfg.count:
                await asyncio.sleep(max(0.0, start + seq * self.cfg.interval_s - loop.time()))

    # ---- links --------------------------------------------------------------------------------------

    def hello(self):
        return encode(type='hello', id=self.cfg.id, count=self.cfg.count)

    def check_hello(self, raw, expect=None):
        """Returns (peer id, None) or (None, why the connection is refused)."""
        if not raw:
            return None, 'closed before saying hello'
        msg, why = decode(raw.decode('utf-8', 'replace'))
        if why:
            return None, why
        if msg['type'] != 'hello':
            return None, f'expected hello first, got {msg["type"]}'
        peer = msg['id']
        if peer not in self.links:
            return None, f'hello from id {peer}, which is not in ACKLAB_PEERS ({", ".join(map(str, sorted(self.links)))})'
        if expect is not None and peer != expect:
            return None, f'expected member {expect} at this address, but it says it is {peer}'
        if expect is None and peer > self.cfg.id:
            return None, f'member {peer} dialed us, but the lower id dials the higher (we are {self.cfg.id})'
        if self.links[peer].up:
            return None, f'member {peer} is already linked'
        if msg['count'] != self.cfg.count:
            return None, f'member {peer} runs with ACKLAB_COUNT={msg["count"]}, we run with {self.cfg.count}'
        return peer, None

    async def dial(self, link):
        delay = 0.1
        while not self.finishing and not link.up:
            writer = None
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(link.host, link.port), 5)
                writer.write(self.hello())
                peer, why = self.check_hello(await asyncio.wait_for(reader.readline(), HELLO_TIMEOUT_S), expect=link.peer)
                if peer is not None:
                    return self.link_up(link, reader, writer, 'dialed')
                link.error = f'{link.host}:{link.port}: {why}'
                say(f'Refused by {link.host}:{link.port}: {why}')
            except (OSError, asyncio.TimeoutError, ValueError) as err:
                link.error = f'dial {link.host}:{link.port} failed: {describe(err)}'
            if writer is not None:
                writer.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def accept(self, reader, writer):
        address = '%s:%s' % writer.get_extra_info('peername')[:2]
        try:
            peer, why = self.check_hello(await asyncio.wait_for(reader.readline(), HELLO_TIMEOUT_S))
        except (OSError, asyncio.TimeoutError, ValueError) as err:
            peer, why = None, describe(err)
        if peer is None or self.finishing:
            say(f'Refusing connection from {address}: {why or "stopping"}')
            writer.close()
            return
        writer.write(self.hello())
        self.link_up(self.links[peer], reader, writer, 'accepted')

    def link_up(self, link, reader, writer, role):
        address = '%s:%s' % writer.get_extra_info('peername')[:2]
        link.writer, link.heard = writer, time.monotonic()
        for data in link.pending:
            writer.write(data)
        link.pending.clear()
        say(f'Connected to member {link.peer} at {address} ({role})')
        self.emit('peer_connected', peer=link.peer, address=address, role=role)
        self.spawn(self.read(link, reader), self.readers)
        if all(other.up for other in self.links.values()):
            peers = sorted(self.links)
            say(f'Mesh complete: linked to members {", ".join(map(str, peers))}')
            self.emit('mesh_complete', peers=peers)
            self.links_up.set()

    async def read(self, link, reader):
        reason = 'connection closed'
        try:
            while True:
                raw = await reader.readline()
                if not raw.endswith(b'\n'):
                    break  # EOF (a partial last line is dropped: its sender did not finish it)
                link.heard = time.monotonic()
                self.on_line(link, raw.decode('utf-8', 'replace'))
        except (OSError, ValueError) as err:  # ValueError: a line over asyncio's 64 KiB limit
            reason = describe(err)
        link.closed.set()
        if not (self.finishing or link.left or link.lost):
            self.lose(link, f'{reason} without bye')

    def on_line(self, link, raw):
        if link.lost:
            return
        msg, why = decode(raw)
        if why:
            return self.reject(link, why)
        kind = msg['type']
        if kind == 'msg':
            self.on_msg(link, msg)
        elif kind == 'ack':
            self.on_ack(link, msg)
        elif kind == 'bye':
            link.left = True
            self.last_progress = time.monotonic()
            say(f'Member {link.peer} left (bye: it delivered everything)')
            self.emit('peer_left', peer=link.peer)
        elif kind == 'hello':
            self.reject(link, 'unexpected second hello')

    def lose(self, link, reason):
        link.lost = reason
        say(f'Lost member {link.peer}: {reason}')
        self.emit('peer_lost', peer=link.peer, reason=reason)
        if link.writer is not None:
            link.writer.transport.abort()

    async def heartbeat(self):
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            for link in self.links.values():
                if link.up:
                    link.send(encode(type='ping'))

    async def watchdog(self):
        """Silence means lost; once a member is lost, stop when nothing has arrived for the grace period."""
        while True:
            await asyncio.sleep(0.1)
            now = time.monotonic()
            for link in self.links.values():
                if link.up and not (link.left or link.lost) and now - link.heard > self.cfg.silence_s:
                    self.lose(link, f'silent for {round(self.cfg.silence_s * 1000)} ms (not even a ping)')
            lost = sorted(p for p, link in self.links.items() if link.lost)
            if lost and now - self.last_progress > self.cfg.grace_s:
                self.finish(f'member(s) {", ".join(map(str, lost))} lost; nothing arrived for '
                            f'{round(self.cfg.grace_s * 1000)} ms, stopping with what was delivered')

    def connect_timeout(self):
        if self.links_up.is_set():
            return
        missing = [f'{p} ({link.error})' for p, link in sorted(self.links.items()) if not link.up]
        say(f'Error: mesh incomplete after {round(self.cfg.connect_timeout_s * 1000)} ms: no link to member(s) {"; ".join(missing)}')
        self.finish('mesh incomplete', error=True)

    # ---- the run ------------------------------------------------------------------------------------

    async def run(self):
        loop = asyncio.get_running_loop()
        self.done, self.links_up = asyncio.Event(), asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda sig=sig: (say(f'Stopping on {sig.name}'), self.finish(f'stopped by {sig.name}')))
        try:
            server = await asyncio.start_server(self.accept, host=None, port=self.cfg.port)
        except OSError:
            # All interfaces includes IPv6; a host without it still gets every IPv4 address.
            try:
                server = await asyncio.start_server(self.accept, host='0.0.0.0', port=self.cfg.port)
            except OSError as err:
                say(f'Error: cannot listen on port {self.cfg.port}: {describe(err)}')
                return EXIT_ERROR
        say(f'Member {self.cfg.id} listening on port {self.cfg.port}; members {sorted(self.members)}, '
            f'{self.cfg.count} messages each every {round(self.cfg.interval_s * 1000)} ms')
        for peer, link in self.links.items():
            if peer > self.cfg.id:
                self.spawn(self.dial(link))
        if not self.links:
            self.links_up.set()
        self.spawn(self.multicast())
        self.spawn(self.heartbeat())
        self.spawn(self.watchdog())
        loop.call_later(self.cfg.connect_timeout_s, self.connect_timeout)
        if self.cfg.duration_s is not None:
            loop.call_later(self.cfg.duration_s, lambda: self.finish(f'ACKLAB_DURATION_MS={round(self.cfg.duration_s * 1000)} elapsed'))
        await self.done.wait()

        self.finishing = True
        complete = self.delivered == self.expected
        for task in list(self.tasks):
            task.cancel()
        server.close()
        linked = [link for link in self.links.values() if link.up and not link.lost]
        if complete:
            # bye, then FIN after everything we wrote; keep reading until the others close (bounded).
            for link in linked:
                link.send(encode(type='bye', id=self.cfg.id))
            for link in linked:
                try:
                    link.writer.write_eof()
                except OSError:
                    pass
            try:
                await asyncio.wait_for(asyncio.gather(*(link.closed.wait() for link in linked)), LINGER_S)
            except asyncio.TimeoutError:
                pass
        for link in linked:
            link.writer.close()
        self.out.close()
        self.summary()
        if self.events:
            self.events.close()
        if self.error:
            return EXIT_ERROR
        return EXIT_COMPLETE if complete else EXIT_INCOMPLETE

    def summary(self):
        now = time.monotonic()
        pending = [{'lamport': ts, 'sender': s, 'seq': q,
                    'missingAcks': sorted(self.members - self.acks[(s, q)]),
                    'waitingMs': round((now - self.queued_at[(s, q)]) * 1000)} for ts, s, q in self.queue[:20]]
        not_received = {str(m): ranges(sorted(set(range(1, self.cfg.count + 1)) - got))
                        for m, got in sorted(self.received.items()) if len(got) < self.cfg.count}
        say(json.dumps({
            'id': self.cfg.id, 'complete': self.delivered == self.expected, 'reason': self.reason,
            'members': sorted(self.members), 'count': self.cfg.count, 'sent': self.sent,
            'received': sum(len(v) for m, v in self.received.items() if m != self.cfg.id),
            'acksReceived': self.acks_received, 'delivered': self.delivered, 'expected': self.expected,
            'undelivered': self.expected - self.delivered, 'pending': pending, 'notReceived': not_received,
            'peersLost': [{'peer': p, 'reason': link.lost} for p, link in sorted(self.links.items()) if link.lost],
            'rejectedLines': self.rejected,
        }, separators=(',', ':')))


def ranges(numbers):
    """[1, 2, 3, 5, 7, 8] -> '1-3,5,7-8'"""
    parts, i = [], 0
    while i < len(numbers):
        j = i
        while j + 1 < len(numbers) and numbers[j + 1] == numbers[j] + 1:
            j += 1
        parts.append(str(numbers[i]) if i == j else f'{numbers[i]}-{numbers[j]}')
        i = j + 1
    return ','.join(parts)


def main():
    try:
        cfg = Config(os.environ)
        member = Member(cfg)
    except UsageError as err:
        print(f'mcast: {err}\nsee lab/examples/README.md for the environment this program expects', file=sys.stderr)
        return EXIT_USAGE
    except OSError as err:
        print(f'mcast: cannot open an output file: {describe(err)}', file=sys.stderr)
        return EXIT_ERROR
    return asyncio.run(member.run())


if __name__ == '__main__':
    sys.exit(main())

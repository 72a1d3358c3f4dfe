/*
 * vmprobe — the traffic tool of the kernel VM test (test/kernel/), compiled statically on the host
 * and run inside the VM's network namespaces. Busybox ping paces itself at one probe a second and
 * reports loss in whole percent: it cannot count 2000 packets in a few seconds, or time them in µs.
 *
 *   vmprobe serve [--udp-port P] [--tcp-port P]     UDP echo + TCP echo/sink, forks into the background
 *   vmprobe udp     --id ID --to ADDR --count N --interval-us U [--timeout-ms T] [--twin-ns NS --twin-to ADDR]
 *                   open-loop UDP echo probes (seq + send time in each packet): sent, received, RTT
 *                   quantiles; with a twin, a second stream from another namespace, interleaved, and
 *                   the quantiles of the per-pair RTT differences
 *   vmprobe tcp-rtt --id ID --to ADDR --count N [--interval-us U]
 *                   closed-loop 32-byte ping-pong on one TCP_NODELAY connection: RTT quantiles
 *   vmprobe tput    --id ID --to ADDR [--seconds-ms S] [--warmup-ms W] [--parts K] [--pace-bps B]
 *                   TCP transfer (bulk, or paced by the kernel at B bit/s); the SERVER measures what
 *                   arrives in [first byte + W, + S] (median of K parts) and sends it back, so data
 *                   still queued or in flight at the sender is never mistaken for throughput
 *
 *   vmprobe run     --id ID [--tolerant] [--capture] [--stdin FILE] -- ARGV…
 *                   runs ARGV (absolute path; stdin from FILE, e.g. an iptables-restore batch, else
 *                   /dev/null), prints its exit status, time and stderr (and stdout with --capture);
 *                   exits 1 when ARGV fails unless --tolerant
 *   vmprobe spawn   --id ID --ready-pidfile F [--timeout-ms T] -- ARGV…
 *                   starts ARGV in the background and returns once it has written its own pid to F
 *                   (acklab-nfq does so after binding its queue), or fails if it exits first
 *
 *   vmprobe now / ask --section S --id ID --since MS
 *                   asks the host whether the measurement since MS counts (see ask_host)
 *
 * Every mode takes --ns NAME: it first joins the network namespace /run/netns/NAME (setns(2)), which
 * is what `ip netns exec` does minus the remount of /sys.
 * Each mode prints ONE line, `<prefix>{"id":…,…}` (prefix from $VMPROBE_PREFIX), with a single
 * write(2), so it stays whole on a console shared with the kernel. Times are CLOCK_MONOTONIC, in µs.
 * Traffic goes only to the address given, which the test points at its own namespaces.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAGIC 0x61636b6cU /* "ackl": a reply that is not ours is ignored */

struct probe_pkt {
  uint32_t magic;
  uint32_t seq;
  uint64_t sent_ns;
  unsigned char pad[48]; /* 64-byte payload, like the lab benches */
};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t_ns) {
  struct timespec ts = { .tv_sec = (time_t)(t_ns / 1000000000ULL), .tv_nsec = (long)(t_ns % 1000000000ULL) };
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
}

static void die(const char *what) {
  fprintf(stderr, "vmprobe: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void big_buffers(int fd) {
  int sz = 4 << 20;
  /* FORCE variants: root in the VM, so net.core.rmem_max does not cap them. */
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) != 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) != 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
}

/* ---------- output ---------- */

static char out[1 << 16];
static size_t outn;

static void outf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void outf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(out + outn, sizeof out - outn, fmt, ap);
  va_end(ap);
  if (n > 0) outn += (size_t)n < sizeof out - outn ? (size_t)n : sizeof out - outn - 1;
}

static void out_begin(const char *id, const char *kind) {
  const char *prefix = getenv("VMPROBE_PREFIX");
  outn = 0;
  outf("%s{\"id\":\"%s\",\"kind\":\"%s\"", prefix ? prefix : "", id, kind);
}

static void out_end(void) {
  outf("}\n");
  ssize_t off = 0;
  while (off < (ssize_t)outn) {
    ssize_t w = write(1, out + off, outn - (size_t)off);
    if (w < 0) { if (errno == EINTR) continue; break; }
    off += w;
  }
}

/* A JSON string from raw bytes (stderr of a command): quotes, backslashes, control and non-ASCII bytes escaped. */
static void out_jstr(const char *s, size_t n, size_t max) {
  outf("\"");
  size_t shown = n < max ? n : max;
  for (size_t i = 0; i < shown; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch == '"' || ch == '\\') outf("\\%c", ch);
    else if (ch == '\n') outf("\\n");
    else if (ch < 0x20 || ch >= 0x7f) outf("\\u%04x", ch);
    else outf("%c", ch);
  }
  if (shown < n) outf("...(%zu more bytes)", n - shown);
  outf("\"");
}

static void out_str(const char *key, const char *s, size_t n, size_t max) {
  outf(",\"%s\":", key);
  out_jstr(s, n, max);
}

static void out_argv(char **argv) {
  outf(",\"argv\":[");
  for (int i = 0; argv[i]; i++) {
    if (i) outf(",");
    out_jstr(argv[i], strlen(argv[i]), 512);
  }
  outf("]");
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Quantiles of `n` round trips (µs, sorted in place), as JSON fields. */
static void out_rtts(double *r, size_t n) {
  outf(",\"rttUs\":");
  if (n == 0) { outf("null"); return; }
  qsort(r, n, sizeof *r, cmp_double);
  double sum = 0, sq = 0;
  for (size_t i = 0; i < n; i++) sum += r[i];
  double mean = sum / (double)n;
  for (size_t i = 0; i < n; i++) sq += (r[i] - mean) * (r[i] - mean);
  static const double qs[] = { 0.01, 0.05, 0.16, 0.25, 0.5, 0.75, 0.84, 0.95, 0.99 };
  static const char *names[] = { "p1", "p5", "p16", "p25", "p50", "p75", "p84", "p95", "p99" };
  outf("{\"n\":%zu,\"min\":%.1f,\"max\":%.1f,\"mean\":%.1f,\"sd\":%.1f", n, r[0], r[n - 1], mean, n > 1 ? sqrt(sq / (double)(n - 1)) : 0.0);
  for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
    /* Linear interpolation between order statistics (type 7, as R and numpy do). */
    double h = (double)(n - 1) * qs[k];
    size_t lo = (size_t)floor(h), hi = lo + 1 < n ? lo + 1 : lo;
    outf(",\"%s\":%.1f", names[k], r[lo] + (h - (double)lo) * (r[hi] - r[lo]));
  }
  outf("}");
}

/* ---------- server ---------- */

static int bind_udp(int port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) die("udp socket");
  big_buffers(fd);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_ANY) };
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) die("udp bind");
  return fd;
}

/*
 * Replies leave from the address the request was sent to (IP_PKTINFO): the peer namespace has
 * several addresses, and a reply from another one would not match the client's connected socket.
 */
static void serve_udp(int fd) {
  int one = 1;
  if (setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) != 0) die("IP_PKTINFO");
  unsigned char buf[2048];
  char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))];
  for (;;) {
    struct sockaddr_in from;
    struct iovec iov = { .iov_base = buf, .iov_len = sizeof buf };
    struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
    ssize_t n = recvmsg(fd, &m, 0);
    if (n < 0) { if (errno == EINTR) continue; die("udp recvmsg"); }
    struct in_pktinfo *pi = NULL;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) pi = (struct in_pktinfo *)CMSG_DATA(c);
    iov.iov_len = (size_t)n;
    char obuf[CMSG_SPACE(sizeof(struct in_pktinfo))];
    memset(obuf, 0, sizeof obuf);
    struct msghdr r = { .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1 };
    if (pi) {
      r.msg_control = obuf;
      r.msg_controllen = sizeof obuf;
      struct cmsghdr *c = CMSG_FIRSTHDR(&r);
      c->cmsg_level = IPPROTO_IP;
      c->cmsg_type = IP_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
      struct in_pktinfo out = { .ipi_spec_dst = pi->ipi_addr };
      memcpy(CMSG_DATA(c), &out, sizeof out);
    }
    sendmsg(fd, &r, 0);
  }
}

static int read_line(int fd, char *line, size_t cap) {
  size_t n = 0;
  while (n + 1 < cap) {
    ssize_t r = read(fd, line + n, 1);
    if (r <= 0) return -1;
    if (line[n] == '\n') { line[n] = 0; return (int)n; }
    n++;
  }
  return -1;
}

static void write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = write(fd, c, n);
    if (w < 0) { if (errno == EINTR) continue; return; }
    c += w;
    n -= (size_t)w;
  }
}

/* One TCP connection: "E\n" = echo (tcp-rtt), "S <seconds_ms> <warmup_ms>\n" = counting sink (tput). */
static void serve_conn(int c) {
  char line[128];
  int one = 1;
  setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (read_line(c, line, sizeof line) < 0) return;
  static char buf[1 << 16];
  if (line[0] == 'E') {
    for (;;) {
      ssize_t n = read(c, buf, sizeof buf);
      if (n <= 0) return;
      write_all(c, buf, (size_t)n);
    }
  }
  long window_ms = 0, warmup_ms = 0, parts = 1;
  if (sscanf(line, "S %ld %ld %ld", &window_ms, &warmup_ms, &parts) < 2) return;
  if (parts < 1 || parts > 16) parts = 1;
  /*
   * The rate is the least-squares slope of bytes received against time over the reads in the
   * window. htb lets a whole GSO packet through (tens of KB: a fifth of a second at 1 mbit) and
   * then waits until it is paid for, so data arrives in lumps; bytes over a fixed window would be
   * off by up to a lump (a tenth of a 2 s window at 1 mbit). The window is cut into `parts`, each
   * fitted on its own, and the median part is the answer: an emulator starved for a moment by its
   * host spoils one part, not the result.
   */
  struct fit { double n, sx, sy, sxx, sxy, y0; } fits[16];
  memset(fits, 0, sizeof fits);
  uint64_t first = 0, start = 0, end = 0, t_a = 0, last = 0, total = 0, counted = 0, reads = 0;
  uint64_t part_ns = (uint64_t)window_ms * 1000000ULL / (uint64_t)parts;
  for (;;) {
    ssize_t n = read(c, buf, sizeof buf);
    if (n <= 0) break;
    uint64_t t = now_ns();
    if (!first) {
      first = t;
      start = first + (uint64_t)warmup_ms * 1000000ULL;
      end = start + (uint64_t)window_ms * 1000000ULL;
    }
    total += (uint64_t)n;
    if (t >= end) break;
    if (t < start) continue;
    if (!t_a) t_a = t;
    /* y = what had arrived BEFORE this read: a shaper that lets a lump through and then waits until
     * its bytes are paid for puts exactly these points on a line, whatever the lumps' sizes. */
    struct fit *f = &fits[(t - start) / part_ns < (uint64_t)parts ? (t - start) / part_ns : (uint64_t)parts - 1];
    double x = (double)(t - start) / 1e9, y = (double)counted;
    f->n += 1; f->sx += x; f->sy += y; f->sxx += x * x; f->sxy += x * y;
    counted += (uint64_t)n;
    last = t;
    reads++;
  }
  double slopes[16];
  int ns = 0;
  for (long p = 0; p < parts; p++) {
    struct fit *f = &fits[p];
    double den = f->n * f->sxx - f->sx * f->sx;
    if (f->n >= 3 && den > 0) slopes[ns++] = (f->n * f->sxy - f->sx * f->sy) / den; /* bytes per second */
  }
  qsort(slopes, (size_t)ns, sizeof slopes[0], cmp_double);
  double slope = ns == 0 ? 0 : ns % 2 ? slopes[ns / 2] : (slopes[ns / 2 - 1] + slopes[ns / 2]) / 2;
  int mss = 0;
  socklen_t ml = sizeof mss;
  getsockopt(c, IPPROTO_TCP, TCP_MAXSEG, &mss, &ml);
  char rep[512];
  int k = snprintf(rep, sizeof rep, "bytes=%llu us=%.1f total=%llu mss=%d reads=%llu slope=%.1f parts=", (unsigned long long)counted,
                   last > t_a ? (double)(last - t_a) / 1000.0 : 0.0, (unsigned long long)total, mss, (unsigned long long)reads, slope);
  for (int i = 0; i < ns && k < (int)sizeof rep - 32; i++) k += snprintf(rep + k, sizeof rep - (size_t)k, "%s%.0f", i ? "," : "", slopes[i] * 8);
  k += snprintf(rep + k, sizeof rep - (size_t)k, "\n");
  write_all(c, rep, (size_t)k);
  shutdown(c, SHUT_WR);
  /* Keep reading until the client closes: closing with unread data would reset the connection. */
  while (read(c, buf, sizeof buf) > 0) {}
}

static int bind_tcp(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("tcp socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_ANY) };
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0) die("tcp bind");
  if (listen(fd, 16) != 0) die("listen");
  return fd;
}

static void serve_tcp(int fd) {
  signal(SIGCHLD, SIG_IGN); /* no zombies */
  for (;;) {
    int c = accept(fd, NULL, NULL);
    if (c < 0) { if (errno == EINTR) continue; die("accept"); }
    pid_t p = fork();
    if (p == 0) { close(fd); serve_conn(c); _exit(0); }
    close(c);
  }
}

/* ---------- clients ---------- */

static struct sockaddr_in target(const char *addr, int port) {
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
  if (inet_pton(AF_INET, addr, &a.sin_addr) != 1) { fprintf(stderr, "vmprobe: bad address %s\n", addr); exit(2); }
  return a;
}

static void join_netns(const char *ns);

struct udp_side {
  int fd;
  const char *addr;
  double *rtt;        /* by seq; valid where seen[seq] */
  unsigned char *seen;
  size_t received, dups, send_errors;
  long sent;
};

static void udp_side_open(struct udp_side *u, const char *addr, int port, long count) {
  u->fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (u->fd < 0) die("udp socket");
  big_buffers(u->fd);
  struct sockaddr_in to = target(addr, port);
  if (connect(u->fd, (struct sockaddr *)&to, sizeof to) != 0) die("udp connect");
  u->addr = addr;
  u->rtt = calloc((size_t)count, sizeof *u->rtt);
  u->seen = calloc((size_t)count, 1);
  if (!u->rtt || !u->seen) die("calloc");
}

static void udp_side_drain(struct udp_side *u, long count) {
  for (;;) {
    struct probe_pkt p;
    ssize_t n = recv(u->fd, &p, sizeof p, MSG_DONTWAIT);
    if (n < 0) break;
    uint64_t t = now_ns();
    if (n != (ssize_t)sizeof p || p.magic != MAGIC || p.seq >= (uint32_t)count) continue;
    if (u->seen[p.seq]) { u->dups++; continue; }
    u->seen[p.seq] = 1;
    u->rtt[p.seq] = (double)(t - p.sent_ns) / 1000.0;
    u->received++;
  }
}

static void udp_side_out(struct udp_side *u, long count) {
  outf(",\"to\":\"%s\",\"sent\":%ld,\"received\":%zu,\"duplicates\":%zu,\"sendErrors\":%zu", u->addr, u->sent, u->received, u->dups, u->send_errors);
  double *r = malloc(sizeof(double) * (size_t)(count ? count : 1));
  size_t n = 0;
  for (long i = 0; i < count; i++) if (u->seen[i]) r[n++] = u->rtt[i];
  out_rtts(r, n);
  free(r);
}

/*
 * Open-loop UDP echo probes, `count` of them every `interval_us`. With a twin (--twin-ns, --twin-to)
 * a second stream goes from another namespace: probe k of each stream goes out in the k-th
 * interval, half an interval apart, at a random offset and in a random order, so each pair meets
 * the same moment of a busy host and neither stream sits on a fixed phase of a periodic disturbance
 * (the guest's 4 ms tick, under emulation, otherwise delays one stream more than the other). The
 * per-pair differences (primary − twin) are reported too.
 */
static int udp_probe(const char *id, const char *addr, int port, long count, long interval_us, long timeout_ms,
                     const char *twin_ns, const char *twin_addr) {
  struct udp_side side[2];
  memset(side, 0, sizeof side);
  int sides = twin_ns && twin_addr ? 2 : 1;
  udp_side_open(&side[0], addr, port, count);
  if (sides == 2) {
    join_netns(twin_ns); /* the first socket stays in the namespace it was made in */
    udp_side_open(&side[1], twin_addr, port, count);
  }
  long slots = count * sides, slot = 0;
  uint64_t *at = malloc(sizeof(uint64_t) * (size_t)slots);
  unsigned char *who = malloc((size_t)slots);
  if (!at || !who) die("malloc");
  uint64_t interval_ns = (uint64_t)interval_us * 1000ULL, rng = now_ns() | 1;
  for (long k = 0; k < count; k++) {
    if (sides == 1) { at[k] = (uint64_t)k * interval_ns; who[k] = 0; continue; }
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; /* xorshift64 */
    uint64_t offset = rng % (interval_ns / 2 + 1);
    int first = (int)((rng >> 32) & 1);
    at[2 * k] = (uint64_t)k * interval_ns + offset;
    who[2 * k] = (unsigned char)first;
    at[2 * k + 1] = at[2 * k] + interval_ns / 2;
    who[2 * k + 1] = (unsigned char)!first;
  }
  uint64_t t0 = now_ns(), next = t0 + at[0], deadline = 0;
  for (;;) {
    uint64_t now = now_ns();
    if (slot < slots && now >= next) {
      struct udp_side *u = &side[who[slot]];
      struct probe_pkt p = { .magic = MAGIC, .seq = (uint32_t)(slot / sides), .sent_ns = now };
      if (send(u->fd, &p, sizeof p, 0) < 0) u->send_errors++; /* EPERM from a DROP rule, ENOBUFS: counted, not fatal */
      u->sent++;
      slot++;
      if (slot < slots) next = t0 + at[slot];
      if (slot == slots) deadline = now_ns() + (uint64_t)timeout_ms * 1000000ULL;
      continue;
    }
    size_t got = side[0].received + side[1].received;
    if (slot == slots && (got == (size_t)slots || now >= deadline)) break;
    /* ppoll's timeout is in ns (an hrtimer): wake for the next send, or at once when a reply arrives. */
    uint64_t wake = slot < slots ? next : deadline;
    uint64_t wait = wake > now ? wake - now : 0;
    struct timespec ts = { .tv_sec = (time_t)(wait / 1000000000ULL), .tv_nsec = (long)(wait % 1000000000ULL) };
    struct pollfd pfd[2] = { { .fd = side[0].fd, .events = POLLIN }, { .fd = sides == 2 ? side[1].fd : -1, .events = POLLIN } };
    if (ppoll(pfd, 2, &ts, NULL) <= 0) continue;
    for (int k = 0; k < sides; k++) udp_side_drain(&side[k], count);
  }
  double secs = (double)(now_ns() - t0) / 1e9;
  out_begin(id, "udp");
  udp_side_out(&side[0], count);
  outf(",\"seconds\":%.3f", secs);
  if (sides == 2) {
    outf(",\"twin\":{\"ns\":\"%s\"", twin_ns);
    udp_side_out(&side[1], count);
    outf("}");
    double *d = malloc(sizeof(double) * (size_t)count);
    size_t n = 0;
    for (long i = 0; i < count; i++) if (side[0].seen[i] && side[1].seen[i]) d[n++] = side[0].rtt[i] - side[1].rtt[i];
    outf(",\"pairDiffUs\":");
    size_t mark = outn;
    out_rtts(d, n);
    /* out_rtts writes `,"rttUs":{…}`; keep only the object. */
    memmove(out + mark, out + mark + strlen(",\"rttUs\":"), outn - mark - strlen(",\"rttUs\":"));
    outn -= strlen(",\"rttUs\":");
    free(d);
  }
  out_end();
  free(at);
  free(who);
  return 0;
}

static int connect_tcp(const char *addr, int port, int timeout_ms) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("tcp socket");
  struct sockaddr_in to = target(addr, port);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  if (connect(fd, (struct sockaddr *)&to, sizeof to) != 0 && errno != EINPROGRESS) return -1;
  struct pollfd pfd = { .fd = fd, .events = POLLOUT };
  if (poll(&pfd, 1, timeout_ms) <= 0) { close(fd); errno = ETIMEDOUT; return -1; }
  int err = 0;
  socklen_t el = sizeof err;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
  if (err) { close(fd); errno = err; return -1; }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

static int tcp_rtt(const char *id, const char *addr, int port, long count, long interval_us) {
  int fd = connect_tcp(addr, port, 5000);
  out_begin(id, "tcp-rtt");
  outf(",\"to\":\"%s\"", addr);
  if (fd < 0) { outf(",\"error\":\"connect: %s\"", strerror(errno)); out_end(); return 0; }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  write_all(fd, "E\n", 2);
  double *rtt = calloc((size_t)count, sizeof *rtt);
  size_t got = 0;
  char msg[32], back[32];
  memset(msg, 'x', sizeof msg);
  struct timeval tv = { .tv_sec = 5 };
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  for (long i = 0; i < count; i++) {
    uint64_t t = now_ns();
    write_all(fd, msg, sizeof msg);
    size_t n = 0;
    while (n < sizeof back) {
      ssize_t r = read(fd, back + n, sizeof back - n);
      if (r <= 0) goto done;
      n += (size_t)r;
    }
    rtt[got++] = (double)(now_ns() - t) / 1000.0;
    if (interval_us > 0) sleep_until(t + (uint64_t)interval_us * 1000ULL);
  }
done:
  close(fd);
  outf(",\"sent\":%ld,\"received\":%zu", count, got);
  out_rtts(rtt, got);
  out_end();
  return 0;
}

static int tput(const char *id, const char *addr, int port, long seconds_ms, long warmup_ms, long parts, double pace_bps) {
  int fd = connect_tcp(addr, port, 5000);
  out_begin(id, "tput");
  outf(",\"to\":\"%s\"", addr);
  if (fd < 0) { outf(",\"error\":\"connect: %s\"", strerror(errno)); out_end(); return 0; }
  if (pace_bps > 0) {
    /* TCP paces itself at this rate (internal pacing, no fq needed since Linux 4.13); bytes per second. */
    unsigned int rate = (unsigned int)(pace_bps / 8);
    if (setsockopt(fd, SOL_SOCKET, SO_MAX_PACING_RATE, &rate, sizeof rate) != 0) { outf(",\"error\":\"SO_MAX_PACING_RATE: %s\"", strerror(errno)); out_end(); return 0; }
    outf(",\"paceBps\":%.0f", pace_bps);
  }
  char head[64];
  int hn = snprintf(head, sizeof head, "S %ld %ld %ld\n", seconds_ms, warmup_ms, parts);
  write_all(fd, head, (size_t)hn);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  static char buf[1 << 16];
  memset(buf, 'y', sizeof buf);
  char rep[512];
  size_t rn = 0;
  uint64_t give_up = now_ns() + (uint64_t)(seconds_ms + warmup_ms + 10000) * 1000000ULL;
  int writing = 1;
  while (now_ns() < give_up) {
    struct pollfd pfd = { .fd = fd, .events = POLLIN | (writing ? POLLOUT : 0) };
    if (poll(&pfd, 1, 100) <= 0) continue;
    if (pfd.revents & POLLIN) {
      ssize_t r = read(fd, rep + rn, sizeof rep - 1 - rn);
      if (r <= 0) break;
      rn += (size_t)r;
      rep[rn] = 0;
      if (strchr(rep, '\n')) break;
    }
    if (writing && (pfd.revents & POLLOUT)) {
      if (write(fd, buf, sizeof buf) < 0 && errno != EAGAIN && errno != EINTR) writing = 0;
    }
  }
  /* Close with a reset: what is still unsent is dropped instead of draining through the shaper for
   * seconds (at 1 mbit) and sharing the bottleneck with the next measurement. */
  struct linger lg = { .l_onoff = 1, .l_linger = 0 };
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(fd);
  unsigned long long bytes = 0, total = 0, reads = 0;
  double us = 0, slope = 0;
  int mss = 0;
  char partlist[256] = "";
  if (sscanf(rep, "bytes=%llu us=%lf total=%llu mss=%d reads=%llu slope=%lf parts=%255[0-9,]", &bytes, &us, &total, &mss, &reads, &slope, partlist) >= 6 && slope > 0) {
    outf(",\"bytes\":%llu,\"us\":%.1f,\"reads\":%llu,\"totalBytes\":%llu,\"mss\":%d,\"goodputBps\":%.0f,\"partsBps\":[%s]", bytes, us, reads, total, mss, slope * 8, partlist);
  } else {
    outf(",\"error\":\"no report from the sink (got %zu bytes)\"", rn);
  }
  out_end();
  return 0;
}

/* ---------- commands ---------- */

static double ms_since(uint64_t t0) { return (double)(now_ns() - t0) / 1e6; }

static int run_cmd(const char *id, char **argv, int tolerant, int capture, const char *stdin_file) {
  int po[2], pe[2];
  if (pipe(po) != 0 || pipe(pe) != 0) die("pipe");
  uint64_t t0 = now_ns();
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    int in = open(stdin_file ? stdin_file : "/dev/null", O_RDONLY);
    if (in < 0) { fprintf(stderr, "open %s: %s", stdin_file, strerror(errno)); _exit(127); }
    dup2(in, 0);
    dup2(po[1], 1);
    dup2(pe[1], 2);
    close(po[0]); close(pe[0]); close(po[1]); close(pe[1]);
    execv(argv[0], argv);
    fprintf(stderr, "exec %s: %s", argv[0], strerror(errno));
    _exit(127);
  }
  close(po[1]);
  close(pe[1]);
  static char obuf[1 << 15], ebuf[1 << 13];
  size_t on = 0, en = 0;
  struct pollfd p[2] = { { .fd = po[0], .events = POLLIN }, { .fd = pe[0], .events = POLLIN } };
  int open_fds = 2;
  while (open_fds > 0) {
    if (poll(p, 2, -1) < 0) { if (errno == EINTR) continue; break; }
    for (int k = 0; k < 2; k++) {
      if (p[k].fd < 0 || !(p[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char tmp[4096];
      ssize_t r = read(p[k].fd, tmp, sizeof tmp);
      if (r <= 0) { close(p[k].fd); p[k].fd = -1; open_fds--; continue; }
      char *dst = k == 0 ? obuf : ebuf;
      size_t *dn = k == 0 ? &on : &en;
      size_t cap = k == 0 ? sizeof obuf : sizeof ebuf;
      size_t take = (size_t)r < cap - *dn ? (size_t)r : cap - *dn;
      memcpy(dst + *dn, tmp, take);
      *dn += take;
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  out_begin(id, "run");
  outf(",\"rc\":%d,\"ms\":%.1f", rc, ms_since(t0));
  if (rc != 0 || capture) {
    out_argv(argv);
    out_str("stderr", ebuf, en, 2000);
  }
  if (capture) out_str("stdout", obuf, on, sizeof obuf);
  out_end();
  return rc == 0 || tolerant ? 0 : 1;
}

static int pidfile_names(const char *file, pid_t pid) {
  FILE *f = fopen(file, "r");
  if (!f) return 0;
  long v = 0;
  int ok = fscanf(f, "%ld", &v) == 1 && v == (long)pid;
  fclose(f);
  return ok;
}

static int spawn_cmd(const char *id, char **argv, const char *ready, long timeout_ms) {
  uint64_t t0 = now_ns();
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    setsid();
    int nul = open("/dev/null", O_RDWR);
    dup2(nul, 0); dup2(nul, 1); dup2(nul, 2);
    execv(argv[0], argv);
    _exit(127);
  }
  out_begin(id, "spawn");
  outf(",\"pid\":%d", (int)pid);
  const char *error = NULL;
  for (;;) {
    if (pidfile_names(ready, pid)) break;
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) { error = "exited before it was ready"; break; }
    if (ms_since(t0) > (double)timeout_ms) { error = "not ready in time"; kill(pid, SIGKILL); break; }
    usleep(5000);
  }
  outf(",\"ms\":%.1f", ms_since(t0));
  if (error) {
    out_argv(argv);
    outf(",\"error\":\"%s\"", error);
  }
  out_end();
  return error ? 1 : 0;
}

/* ---------- asking the host whether a measurement counts ---------- */

/*
 * Under emulation the guest's clocks are the host's: a moment the host gives qemu's CPU to someone
 * else reaches the guest as latency or lost throughput. Only the host can tell (qemu's vCPU thread's
 * run-queue delay), so after a measurement the script asks it over a second serial port:
 * "ask SECTION ID MS [last]" → "ok" (counts) or "redo" (the host was busy for too much of those MS);
 * on the last attempt the host only records how busy it was.
 * Exit status: 0 ok, 1 redo; no answer counts as ok (the host said nothing against it).
 */
static int ask_host(const char *tty, const char *section, const char *id, long since_ms, long timeout_ms, int last) {
  int fd = open(tty, O_RDWR | O_NOCTTY);
  if (fd < 0) return 0;
  struct termios t;
  if (tcgetattr(fd, &t) == 0) {
    cfmakeraw(&t); /* no echo, no line editing: the host reads exactly what is written */
    tcsetattr(fd, TCSANOW, &t);
  }
  long now = (long)(now_ns() / 1000000ULL);
  char q[256];
  int n = snprintf(q, sizeof q, "ask %s %s %ld%s\n", section, id, now - since_ms, last ? " last" : "");
  write_all(fd, q, (size_t)n);
  char a[64];
  size_t an = 0;
  uint64_t give_up = now_ns() + (uint64_t)timeout_ms * 1000000ULL;
  while (an < sizeof a - 1 && now_ns() < give_up) {
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (poll(&p, 1, 100) <= 0) continue;
    ssize_t r = read(fd, a + an, 1);
    if (r <= 0) break;
    if (a[an] == '\n') break;
    an++;
  }
  a[an] = 0;
  close(fd);
  return strncmp(a, "redo", 4) == 0 ? 1 : 0;
}

static void join_netns(const char *ns) {
  char path[256];
  snprintf(path, sizeof path, "/run/netns/%s", ns);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die(path);
  if (setns(fd, CLONE_NEWNET) != 0) die("setns");
  close(fd);
}

int main(int argc, char **argv) {
  if (argc < 2) goto usage;
  const char *mode = argv[1];
  const char *id = "", *to = NULL, *ns = NULL, *ready = NULL, *twin_ns = NULL, *twin_to = NULL, *tty = NULL, *section = NULL, *stdin_file = NULL;
  long since_ms = 0;
  long count = 100, interval_us = 10000, timeout_ms = 1000, seconds_ms = 3000, warmup_ms = 500;
  double pace_bps = 0;
  long parts = 1;
  int udp_port = 7001, tcp_port = 7002, tolerant = 0, capture = 0, last = 0;
  static const struct option longopts[] = {
    {"id", 1, 0, 'i'}, {"to", 1, 0, 't'}, {"count", 1, 0, 'n'}, {"interval-us", 1, 0, 'u'}, {"timeout-ms", 1, 0, 'T'},
    {"seconds-ms", 1, 0, 's'}, {"warmup-ms", 1, 0, 'w'}, {"udp-port", 1, 0, 'U'}, {"tcp-port", 1, 0, 'P'},
    {"ns", 1, 0, 'N'}, {"tolerant", 0, 0, 'o'}, {"capture", 0, 0, 'c'}, {"ready-pidfile", 1, 0, 'r'}, {"pace-bps", 1, 0, 'p'}, {"parts", 1, 0, 'k'}, {"twin-ns", 1, 0, 'x'}, {"twin-to", 1, 0, 'y'},
    {"since", 1, 0, 'S'}, {"tty", 1, 0, 'Y'}, {"section", 1, 0, 'E'}, {"last", 0, 0, 'L'}, {"stdin", 1, 0, 'I'}, {0, 0, 0, 0}};
  int c;
  optind = 2;
  /* "+": stop at the first non-option, so the ARGV after "--" is left alone. */
  while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
    switch (c) {
      case 'i': id = optarg; break;
      case 't': to = optarg; break;
      case 'n': count = atol(optarg); break;
      case 'u': interval_us = atol(optarg); break;
      case 'T': timeout_ms = atol(optarg); break;
      case 's': seconds_ms = atol(optarg); break;
      case 'w': warmup_ms = atol(optarg); break;
      case 'U': udp_port = atoi(optarg); break;
      case 'P': tcp_port = atoi(optarg); break;
      case 'N': ns = optarg; break;
      case 'o': tolerant = 1; break;
      case 'c': capture = 1; break;
      case 'r': ready = optarg; break;
      case 'p': pace_bps = atof(optarg); break;
      case 'k': parts = atol(optarg); break;
      case 'x': twin_ns = optarg; break;
      case 'y': twin_to = optarg; break;
      case 'S': since_ms = atol(optarg); break;
      case 'Y': tty = optarg; break;
      case 'E': section = optarg; break;
      case 'L': last = 1; break;
      case 'I': stdin_file = optarg; break;
      default: goto usage;
    }
  }
  if (!strcmp(mode, "now")) {
    printf("%llu\n", (unsigned long long)(now_ns() / 1000000ULL));
    return 0;
  }
  if (!strcmp(mode, "ask")) return ask_host(tty ? tty : "/dev/ttyS1", section ? section : "-", id, since_ms, timeout_ms > 1000 ? timeout_ms : 5000, last);
  if (ns) join_netns(ns);
  if (!strcmp(mode, "run") || !strcmp(mode, "spawn")) {
    if (optind >= argc || argv[optind][0] != '/') goto usage;
    if (!strcmp(mode, "run")) return run_cmd(id, argv + optind, tolerant, capture, stdin_file);
    if (!ready) goto usage;
    return spawn_cmd(id, argv + optind, ready, timeout_ms);
  }
  if (!strcmp(mode, "serve")) {
    /* Bound before returning, so a client started next finds them; then served in the background. */
    int u = bind_udp(udp_port), t = bind_tcp(tcp_port);
    if (fork() == 0) { setsid(); close(t); serve_udp(u); }
    if (fork() == 0) { setsid(); close(u); serve_tcp(t); }
    return 0;
  }
  if (!to || count <= 0) goto usage;
  if (!strcmp(mode, "udp")) return udp_probe(id, to, udp_port, count, interval_us, timeout_ms, twin_ns, twin_to);
  if (!strcmp(mode, "tcp-rtt")) return tcp_rtt(id, to, tcp_port, count, interval_us);
  if (!strcmp(mode, "tput")) return tput(id, to, tcp_port, seconds_ms, warmup_ms, parts, pace_bps);
usage:
  fprintf(stderr,
          "usage: vmprobe serve|udp|tcp-rtt|tput [--ns NS] [--id ID] --to ADDR [--count N] [--interval-us U] [--timeout-ms T]\n"
          "                [--twin-ns NS --twin-to ADDR]\n"
          "                [--seconds-ms S] [--warmup-ms W] [--parts K] [--pace-bps B] [--udp-port P] [--tcp-port P]\n"
          "       vmprobe run [--ns NS] --id ID [--tolerant] [--capture] [--stdin FILE] -- /ABS/PATH ARGS...\n"
          "       vmprobe spawn [--ns NS] --id ID --ready-pidfile F [--timeout-ms T] -- /ABS/PATH ARGS...\n"
          "       vmprobe now                                   (monotonic ms)\n"
          "       vmprobe ask --section S --id ID --since MS [--last] [--tty /dev/ttyS1]   (exit 0: the host says it counts; 1: redo)\n");
  return 2;
}

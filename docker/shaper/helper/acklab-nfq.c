/*
 * acklab-nfq — netem in userspace, for kernels without sch_netem.
 *
 * One process serves one NFQUEUE (acklab gives every impaired destination of a node its own
 * queue). For each packet the kernel hands over it decides, like netem(8):
 *   loss       drop with probability p, with netem's correlation (next = (1-c)*U + c*last)
 *   reorder    send at once (no delay) with probability r; the others wait out the delay
 *   delay      hold until now + delay + jitter * D, D from the chosen distribution
 *              (uniform, normal, pareto, paretonormal; unit standard deviation, clipped at 0)
 *   duplicate  re-send a copy through a raw socket (marked, so the rules do not queue it again)
 *   corrupt    flip one random bit after the IP header (the receiver's checksum then fails)
 * Held packets sit in a min-heap by release time (bounded by --limit; beyond it new packets
 * are dropped, as netem's limit does); the verdict NF_ACCEPT is given at release time, so the
 * packet itself stays in the kernel and only its id is held here.
 *
 * Liveness: acklab installs the NFQUEUE rule WITHOUT --queue-bypass, and only after this process
 * has bound the queue (it writes --pidfile then). If it dies, the kernel drops the queue's packets
 * and /proc/net/netfilter/nfnetlink_queue no longer lists the queue: `acklab conditions` reports it.
 *
 * SIGTERM: stop taking packets, release the held ones at their time (at most 2 s), exit.
 * `acklab-nfq --stop PIDFILE` sends SIGTERM to the pid in PIDFILE and waits for it to exit.
 * Every second it writes counters to <pidfile without .pid>.stats.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/netfilter.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

struct held {
  uint64_t release_ns;
  uint64_t seq;      /* FIFO among equal release times */
  uint32_t id;
  uint32_t len;      /* >0: verdict with this (corrupted) payload */
  unsigned char *data;
  uint32_t dup_len;  /* >0: send this copy at release time */
  unsigned char *dup;
};

static struct {
  int queue;
  uint64_t delay_ns, jitter_ns;
  int dist; /* 0 uniform, 1 normal, 2 pareto, 3 paretonormal */
  double loss, loss_corr, duplicate, reorder, corrupt;
  unsigned limit;
  uint32_t mark;
  const char *pidfile, *logfile;
  uint64_t seed;
} opt = { .queue = -1, .dist = 1, .limit = 10000, .mark = 0x4acc };

static struct {
  uint64_t received, accepted, lost, over_limit, duplicated, corrupted, reordered, enobufs;
} st;

static struct held *heap;
static size_t heap_n;
static uint64_t next_seq;
static struct nfq_q_handle *qh;
static int raw_fd = -1;
static volatile sig_atomic_t stopping;
static double loss_last;

/* ---- randomness: xorshift64*, seeded from --seed or the clock ---- */
static uint64_t rng_state;
static double urand(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (double)((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}
static double nrand(void) { /* Box–Muller */
  double u1 = urand(), u2 = urand();
  if (u1 < 1e-12) u1 = 1e-12;
  return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}
static double pareto_unit(void) { /* Pareto, shape 3, scaled to mean 0 and standard deviation 1 */
  double u = urand();
  if (u < 1e-12) u = 1e-12;
  double x = 1.0 / cbrt(u);              /* x_m = 1 */
  return (x - 1.5) / sqrt(0.75);
}
static double dist_sample(void) {
  switch (opt.dist) {
    case 0: return (2.0 * urand() - 1.0) * sqrt(3.0); /* unit sd uniform over ±sqrt(3) */
    case 2: return pareto_unit();
    case 3: return (0.25 * nrand() + 0.75 * pareto_unit()) / sqrt(0.25 * 0.25 + 0.75 * 0.75);
    default: return nrand();
  }
}
/* netem's get_crandom(): correlated uniform in [0,1) */
static double crand(double corr, double *last) {
  double u = urand();
  if (corr <= 0) return u;
  double v = (1.0 - corr) * u + corr * *last;
  *last = v;
  return v;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- min-heap by (release_ns, seq) ---- */
static int before(const struct held *a, const struct held *b) {
  return a->release_ns < b->release_ns || (a->release_ns == b->release_ns && a->seq < b->seq);
}
static void heap_push(struct held h) {
  size_t i = heap_n++;
  heap[i] = h;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!before(&heap[i], &heap[p])) break;
    struct held t = heap[p]; heap[p] = heap[i]; heap[i] = t;
    i = p;
  }
}
static struct held heap_pop(void) {
  struct held top = heap[0];
  heap[0] = heap[--heap_n];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < heap_n && before(&heap[l], &heap[m])) m = l;
    if (r < heap_n && before(&heap[r], &heap[m])) m = r;
    if (m == i) break;
    struct held t = heap[m]; heap[m] = heap[i]; heap[i] = t;
    i = m;
  }
  return top;
}

static void send_duplicate(const unsigned char *pkt, uint32_t len) {
  if (raw_fd < 0 || len < sizeof(struct iphdr)) return;
  const struct iphdr *ip = (const struct iphdr *)pkt;
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = ip->daddr };
  if (sendto(raw_fd, pkt, len, 0, (struct sockaddr *)&to, sizeof to) == (ssize_t)len) st.duplicated++;
}

static void release(struct held *h) {
  nfq_set_verdict(qh, h->id, NF_ACCEPT, h->len, h->len ? h->data : NULL);
  st.accepted++;
  if (h->dup_len) send_duplicate(h->dup, h->dup_len);
  free(h->data);
  free(h->dup);
}

static int on_packet(struct nfq_q_handle *q, struct nfgenmsg *msg, struct nfq_data *nfa, void *arg) {
  (void)msg; (void)arg;
  struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
  if (!ph) return 0;
  uint32_t id = ntohl(ph->packet_id);
  st.received++;
  if (opt.loss > 0 && crand(opt.loss_corr, &loss_last) < opt.loss) {
    st.lost++;
    return nfq_set_verdict(q, id, NF_DROP, 0, NULL);
  }
  unsigned char *payload = NULL;
  int plen = nfq_get_payload(nfa, &payload);
  struct held h = { .id = id, .seq = next_seq++ };
  uint64_t now = now_ns();
  int64_t d = (int64_t)opt.delay_ns;
  if (opt.reorder > 0 && urand() < opt.reorder) {
    d = 0; /* netem: the reordered packets are the ones sent immediately */
    st.reordered++;
  } else if (opt.jitter_ns > 0) {
    d += (int64_t)(dist_sample() * (double)opt.jitter_ns);
    if (d < 0) d = 0;
  }
  h.release_ns = now + (uint64_t)d;
  if (opt.duplicate > 0 && plen > 0 && urand() < opt.duplicate && (h.dup = malloc((size_t)plen))) {
    memcpy(h.dup, payload, (size_t)plen);
    h.dup_len = (uint32_t)plen;
  }
  if (opt.corrupt > 0 && plen > (int)sizeof(struct iphdr) && urand() < opt.corrupt && (h.data = malloc((size_t)plen))) {
    memcpy(h.data, payload, (size_t)plen);
    size_t ihl = (size_t)((struct iphdr *)payload)->ihl * 4;
    if (ihl < (size_t)plen) {
      size_t bit = ihl * 8 + (size_t)(urand() * (double)(((size_t)plen - ihl) * 8));
      h.data[bit / 8] ^= (unsigned char)(1u << (bit % 8));
      h.len = (uint32_t)plen;
      st.corrupted++;
    }
  }
  if (d == 0) {
    release(&h);
    return 0;
  }
  if (heap_n >= opt.limit) {
    st.over_limit++;
    free(h.data);
    free(h.dup);
    return nfq_set_verdict(q, id, NF_DROP, 0, NULL);
  }
  heap_push(h);
  return 0;
}

static void on_term(int sig) { (void)sig; stopping = 1; }

static void write_stats(void) {
  if (!opt.pidfile) return;
  char path[512], tmp[520];
  snprintf(path, sizeof path, "%.*s.stats", (int)(strlen(opt.pidfile) - (strstr(opt.pidfile, ".pid") ? 4 : 0)), opt.pidfile);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) return;
  fprintf(f, "queue=%d received=%llu accepted=%llu lost=%llu over_limit=%llu duplicated=%llu corrupted=%llu reordered=%llu held=%zu enobufs=%llu\n",
          opt.queue, (unsigned long long)st.received, (unsigned long long)st.accepted, (unsigned long long)st.lost,
          (unsigned long long)st.over_limit, (unsigned long long)st.duplicated, (unsigned long long)st.corrupted,
          (unsigned long long)st.reordered, heap_n, (unsigned long long)st.enobufs);
  fclose(f);
  rename(tmp, path);
}

/* Gone, or a zombie waiting for its parent to reap it: either way it no longer holds the queue. */
static int exited(pid_t pid) {
  if (kill(pid, 0) != 0) return 1;
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return 1;
  int zombie = fgets(line, sizeof line, f) && strstr(line, ") Z ");
  fclose(f);
  return zombie;
}

static int stop_other(const char *pidfile) {
  FILE *f = fopen(pidfile, "r");
  if (!f) { fprintf(stderr, "acklab-nfq: no pidfile %s (not running)\n", pidfile); return 0; }
  long pid = 0;
  if (fscanf(f, "%ld", &pid) != 1 || pid <= 1) { fclose(f); fprintf(stderr, "acklab-nfq: bad pidfile %s\n", pidfile); return 1; }
  fclose(f);
  if (kill((pid_t)pid, SIGTERM) != 0) { unlink(pidfile); return 0; }
  for (int i = 0; i < 250; i++) { /* 5 s */
    if (exited((pid_t)pid)) return 0;
    usleep(20000);
  }
  fprintf(stderr, "acklab-nfq: pid %ld did not exit; killing it\n", pid);
  kill((pid_t)pid, SIGKILL);
  unlink(pidfile);
  return 0;
}

static double pct(const char *s, const char *name) {
  char *end;
  double v = strtod(s, &end);
  if (*end || v < 0 || v > 100) { fprintf(stderr, "acklab-nfq: --%s must be 0-100 (got %s)\n", name, s); exit(2); }
  return v / 100.0;
}
static uint64_t usec(const char *s, const char *name) {
  char *end;
  double v = strtod(s, &end);
  if (*end || v < 0) { fprintf(stderr, "acklab-nfq: --%s must be a non-negative number of microseconds (got %s)\n", name, s); exit(2); }
  return (uint64_t)(v * 1000.0);
}

static void usage(void) {
  fprintf(stderr,
          "usage: acklab-nfq --queue N [--delay-us U] [--jitter-us U] [--distribution uniform|normal|pareto|paretonormal]\n"
          "                  [--loss P] [--loss-corr P] [--duplicate P] [--reorder P] [--corrupt P] [--limit N]\n"
          "                  [--mark 0xMARK] [--pidfile F] [--log F] [--seed S]\n"
          "       acklab-nfq --stop PIDFILE\n");
  exit(2);
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {
    {"queue", 1, 0, 'q'}, {"delay-us", 1, 0, 'd'}, {"jitter-us", 1, 0, 'j'}, {"distribution", 1, 0, 'D'},
    {"loss", 1, 0, 'l'}, {"loss-corr", 1, 0, 'L'}, {"duplicate", 1, 0, 'u'}, {"reorder", 1, 0, 'r'},
    {"corrupt", 1, 0, 'c'}, {"limit", 1, 0, 'n'}, {"mark", 1, 0, 'm'}, {"pidfile", 1, 0, 'p'},
    {"log", 1, 0, 'o'}, {"seed", 1, 0, 's'}, {"stop", 1, 0, 'S'}, {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
      case 'q': opt.queue = atoi(optarg); break;
      case 'd': opt.delay_ns = usec(optarg, "delay-us"); break;
      case 'j': opt.jitter_ns = usec(optarg, "jitter-us"); break;
      case 'D':
        if (!strcmp(optarg, "uniform")) opt.dist = 0;
        else if (!strcmp(optarg, "normal")) opt.dist = 1;
        else if (!strcmp(optarg, "pareto")) opt.dist = 2;
        else if (!strcmp(optarg, "paretonormal")) opt.dist = 3;
        else { fprintf(stderr, "acklab-nfq: unknown distribution %s\n", optarg); return 2; }
        break;
      case 'l': opt.loss = pct(optarg, "loss"); break;
      case 'L': opt.loss_corr = pct(optarg, "loss-corr"); break;
      case 'u': opt.duplicate = pct(optarg, "duplicate"); break;
      case 'r': opt.reorder = pct(optarg, "reorder"); break;
      case 'c': opt.corrupt = pct(optarg, "corrupt"); break;
      case 'n': opt.limit = (unsigned)strtoul(optarg, NULL, 10); break;
      case 'm': opt.mark = (uint32_t)strtoul(optarg, NULL, 0); break;
      case 'p': opt.pidfile = optarg; break;
      case 'o': opt.logfile = optarg; break;
      case 's': opt.seed = strtoull(optarg, NULL, 10); break;
      case 'S': return stop_other(optarg);
      default: usage();
    }
  }
  if (opt.queue < 0 || opt.queue > 65535 || opt.limit == 0) usage();
  if (opt.logfile) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s", opt.logfile);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) { *slash = 0; mkdir(dir, 0755); }
    if (!freopen(opt.logfile, "a", stderr)) return 1;
    setvbuf(stderr, NULL, _IOLBF, 0);
  }
  rng_state = opt.seed ? opt.seed : (now_ns() ^ ((uint64_t)getpid() << 32)) | 1;
  heap = calloc(opt.limit, sizeof *heap);
  if (!heap) { fprintf(stderr, "acklab-nfq: out of memory\n"); return 1; }

  struct nfq_handle *h = nfq_open();
  if (!h) { fprintf(stderr, "acklab-nfq: nfq_open: %s\n", strerror(errno)); return 1; }
  nfq_unbind_pf(h, AF_INET); /* harmless on new kernels; needed on old ones */
  if (nfq_bind_pf(h, AF_INET) < 0) { fprintf(stderr, "acklab-nfq: nfq_bind_pf: %s\n", strerror(errno)); return 1; }
  qh = nfq_create_queue(h, (uint16_t)opt.queue, &on_packet, NULL);
  if (!qh) { fprintf(stderr, "acklab-nfq: cannot bind queue %d (another listener?): %s\n", opt.queue, strerror(errno)); return 1; }
  int need_payload = opt.duplicate > 0 || opt.corrupt > 0;
  if (nfq_set_mode(qh, need_payload ? NFQNL_COPY_PACKET : NFQNL_COPY_META, 0xffff) < 0) {
    fprintf(stderr, "acklab-nfq: nfq_set_mode: %s\n", strerror(errno));
    return 1;
  }
  nfq_set_queue_maxlen(qh, opt.limit + 1024);
  int fd = nfq_fd(h);
  nfnl_rcvbufsiz(nfq_nfnlh(h), 16 * 1024 * 1024);
  int one = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);

  if (opt.duplicate > 0) {
    raw_fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    if (raw_fd < 0 || setsockopt(raw_fd, SOL_SOCKET, SO_MARK, &opt.mark, sizeof opt.mark) < 0) {
      fprintf(stderr, "acklab-nfq: raw socket for duplicates: %s\n", strerror(errno));
      return 1;
    }
  }
  /* nice -20 (CAP_SYS_NICE), not SCHED_FIFO: the sidecar's real-time budget is small and kept for
   * the agent's switches; a busy link would spend it and stall both. An agent that started it
   * during a timeline step may itself be SCHED_FIFO, which a child inherits: that is undone first. */
  struct sched_param other = { .sched_priority = 0 };
  sched_setscheduler(0, SCHED_OTHER, &other);
  const char *sched = setpriority(PRIO_PROCESS, 0, -20) == 0 ? "nice -20" : "default priority";

  struct sigaction sa = { .sa_handler = on_term };
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  if (opt.pidfile) {
    FILE *pf = fopen(opt.pidfile, "w");
    if (!pf) { fprintf(stderr, "acklab-nfq: cannot write %s: %s\n", opt.pidfile, strerror(errno)); return 1; }
    fprintf(pf, "%d\n", getpid());
    fclose(pf);
  }
  fprintf(stderr, "acklab-nfq: queue %d bound: delay %lluus jitter %lluus dist %d loss %.4f corr %.4f dup %.4f reorder %.4f corrupt %.4f limit %u (%s)\n",
          opt.queue, (unsigned long long)(opt.delay_ns / 1000), (unsigned long long)(opt.jitter_ns / 1000), opt.dist,
          opt.loss, opt.loss_corr, opt.duplicate, opt.reorder, opt.corrupt, opt.limit, sched);

  static char buf[0x10000 + 4096] __attribute__((aligned));
  uint64_t next_stats = now_ns();
  uint64_t drain_deadline = 0;
  for (;;) {
    uint64_t now = now_ns();
    while (heap_n > 0 && heap[0].release_ns <= now) {
      struct held x = heap_pop();
      release(&x);
    }
    if (now >= next_stats) { write_stats(); next_stats = now + 1000000000ULL; }
    if (stopping) {
      if (!drain_deadline) drain_deadline = now + 2000000000ULL;
      if (heap_n == 0 || now >= drain_deadline) break;
    }
    uint64_t wake = next_stats;
    if (heap_n > 0 && heap[0].release_ns < wake) wake = heap[0].release_ns;
    if (stopping && drain_deadline < wake) wake = drain_deadline;
    uint64_t wait = wake > now ? wake - now : 0;
    struct timespec ts = { .tv_sec = (time_t)(wait / 1000000000ULL), .tv_nsec = (long)(wait % 1000000000ULL) };
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    int pr = ppoll(&pfd, 1, &ts, NULL);
    if (pr < 0 && errno != EINTR) { fprintf(stderr, "acklab-nfq: poll: %s\n", strerror(errno)); break; }
    if (pr > 0 && (pfd.revents & POLLIN)) {
      for (int k = 0; k < 64; k++) { /* take what is ready, then release what is due */
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0) {
          if (errno == ENOBUFS) { st.enobufs++; continue; }
          break;
        }
        nfq_handle_packet(h, buf, (int)n);
      }
    }
  }
  while (heap_n > 0) { struct held x = heap_pop(); release(&x); }
  write_stats();
  fprintf(stderr, "acklab-nfq: queue %d stopping: received %llu lost %llu over_limit %llu\n", opt.queue,
          (unsigned long long)st.received, (unsigned long long)st.lost, (unsigned long long)st.over_limit);
  nfq_destroy_queue(qh);
  nfq_close(h);
  if (opt.pidfile) unlink(opt.pidfile);
  return 0;
}

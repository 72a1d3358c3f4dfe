/*
 * acklab-sched — changes the scheduling policy of processes in its sidecar on request, so that the
 * agent can go to SCHED_FIFO for a timeline step, and back, without starting a process each time.
 *
 * Starting a process (chrt) holds the agent until the child has exec'd; on a loaded machine a child
 * at the default policy may wait hundreds of milliseconds for a CPU, and a step is then late by as
 * much. This process is started once, at SCHED_FIFO (under chrt), and then sleeps in poll(2): a
 * request wakes it at once and costs microseconds of the sidecar's real-time budget.
 *
 * It also raises a process at a given time: the agent asks for it when it arms a step, so that the
 * timer that arms the step runs at real-time priority even when the agent, at the default policy,
 * would wait seconds for a CPU (a starved or throttled machine).
 *
 * Protocol, one request per line on stdin, one answer per line on stdout, in order:
 *   fifo PRIO PID        SCHED_FIFO at PRIO for every thread of process PID, now
 *   other PID            every thread of PID back to SCHED_OTHER, nice unchanged, now
 *   at MS fifo PRIO PID  SCHED_FIFO at PRIO for PID at MS (ms since the epoch, CLOCK_REALTIME);
 *                        at most MAX_TIMED are kept; a time passed already is acted on at once
 *   cancel PID           forgets every timed request for PID
 * answers:
 *   ok
 *   error ERRNO MESSAGE
 * Every thread, not only the one PID names: the agent's main thread waits at times for its others
 * (the JavaScript engine's collector joins its helper threads), and a thread left at the default
 * policy on a starved machine would hold the real-time one for as long as it waits for a CPU.
 * Threads started later inherit the policy of the thread that starts them.
 * A timed request answers `ok` when it is taken; its outcome later is not reported (the agent
 * asks again, `fifo`, when its timer runs). It exits when stdin closes (the agent has gone).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define MAX_TIMED 4096

struct timed {
  long long ms;
  int prio;
  long pid;
};
static struct timed timed[MAX_TIMED];
static int ntimed = 0;

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void answer(int err) {
  if (err == 0) printf("ok\n");
  else printf("error %d %s\n", err, strerror(err));
  fflush(stdout);
}

/* POLICY at PRIO for every thread of process PID; 0, or the errno of the first refusal (ESRCH: no such process). */
static int set_policy(long pid, int policy, int prio) {
  struct sched_param param;
  memset(&param, 0, sizeof param);
  param.sched_priority = prio;
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld/task", pid);
  DIR *dir = opendir(path);
  if (dir == NULL) return sched_setscheduler((pid_t)pid, policy, &param) == 0 ? 0 : errno;
  int err = 0, threads = 0;
  struct dirent *e;
  while ((e = readdir(dir)) != NULL) {
    long tid = strtol(e->d_name, NULL, 10);
    if (tid <= 0) continue;
    threads++;
    /* a thread that has ended meanwhile is no refusal */
    if (sched_setscheduler((pid_t)tid, policy, &param) != 0 && errno != ESRCH && err == 0) err = errno;
  }
  closedir(dir);
  return threads == 0 ? ESRCH : err;
}

static int set_fifo(long pid, int prio) { return set_policy(pid, SCHED_FIFO, prio); }

static int set_other(long pid) { return set_policy(pid, SCHED_OTHER, 0); }

/* Acts on every timed request whose time has come; returns the ms to the next one, or -1. */
static int run_due(void) {
  long long now = now_ms();
  long long next = -1;
  int kept = 0;
  for (int i = 0; i < ntimed; i++) {
    if (timed[i].ms <= now) {
      set_fifo(timed[i].pid, timed[i].prio);
      continue;
    }
    if (next < 0 || timed[i].ms < next) next = timed[i].ms;
    timed[kept++] = timed[i];
  }
  ntimed = kept;
  if (next < 0) return -1;
  return next - now > 60000 ? 60000 : (int)(next - now);
}

static void handle(const char *line) {
  int prio = 0;
  long pid = 0;
  long long ms = 0;
  if (sscanf(line, "at %lld fifo %d %ld", &ms, &prio, &pid) == 3 && pid > 0) {
    if (ntimed >= MAX_TIMED) {
      answer(ENOSPC);
      return;
    }
    timed[ntimed].ms = ms;
    timed[ntimed].prio = prio;
    timed[ntimed].pid = pid;
    ntimed++;
    answer(0);
  } else if (sscanf(line, "cancel %ld", &pid) == 1 && pid > 0) {
    int kept = 0;
    for (int i = 0; i < ntimed; i++)
      if (timed[i].pid != pid) timed[kept++] = timed[i];
    ntimed = kept;
    answer(0);
  } else if (sscanf(line, "fifo %d %ld", &prio, &pid) == 2 && pid > 0) {
    answer(set_fifo(pid, prio));
  } else if (sscanf(line, "other %ld", &pid) == 1 && pid > 0) {
    answer(set_other(pid));
  } else {
    answer(EINVAL);
  }
}

int main(void) {
  char buf[4096];
  size_t used = 0;
  for (;;) {
    struct pollfd in = {.fd = 0, .events = POLLIN};
    int r = poll(&in, 1, run_due());
    if (r < 0 && errno != EINTR) return 1;
    if (r <= 0) continue;
    ssize_t n = read(0, buf + used, sizeof buf - 1 - used);
    if (n <= 0) return 0;
    used += (size_t)n;
    buf[used] = '\0';
    char *start = buf;
    for (char *nl = strchr(start, '\n'); nl != NULL; nl = strchr(start, '\n')) {
      *nl = '\0';
      handle(start);
      start = nl + 1;
    }
    used = strlen(start);
    memmove(buf, start, used);
    if (used == sizeof buf - 1) used = 0; /* a line longer than the buffer: dropped */
  }
}

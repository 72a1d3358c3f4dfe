/*
 * acklab-sched — changes the scheduling policy of processes in its sidecar on request, so that the
 * agent can go to SCHED_FIFO for a timeline step, and back, without starting a process each time.
 *
 * Starting a process (chrt) holds the agent until the child has exec'd; on a loaded machine a child
 * at the default policy may wait hundreds of milliseconds for a CPU, and a step is then late by as
 * much. This process is started once, at SCHED_FIFO (under chrt), and then sleeps in read(2): a
 * request wakes it at once and costs microseconds of the sidecar's real-time budget.
 *
 * Protocol, one request per line on stdin, one answer per line on stdout, in order:
 *   fifo PRIO PID    SCHED_FIFO at PRIO for PID (a thread id: the agent's main thread)
 *   other PID        back to SCHED_OTHER, nice unchanged
 * answers:
 *   ok
 *   error ERRNO MESSAGE
 * It exits when stdin closes (the agent has gone).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

static void answer(int err) {
  if (err == 0) printf("ok\n");
  else printf("error %d %s\n", err, strerror(err));
  fflush(stdout);
}

int main(void) {
  char line[128];
  while (fgets(line, sizeof line, stdin) != NULL) {
    int prio = 0;
    long pid = 0;
    struct sched_param param;
    memset(&param, 0, sizeof param);
    if (sscanf(line, "fifo %d %ld", &prio, &pid) == 2 && pid > 0) {
      param.sched_priority = prio;
      answer(sched_setscheduler((pid_t)pid, SCHED_FIFO, &param) == 0 ? 0 : errno);
    } else if (sscanf(line, "other %ld", &pid) == 1 && pid > 0) {
      param.sched_priority = 0;
      answer(sched_setscheduler((pid_t)pid, SCHED_OTHER, &param) == 0 ? 0 : errno);
    } else {
      answer(EINVAL);
    }
  }
  return 0;
}

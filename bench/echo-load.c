/*
 * Closed-loop ping-pong load generator for bench/echo.ts: N TCP connections to 127.0.0.1:PORT, each
 * sends a 64-byte message and waits for all 64 bytes back before sending the next. One epoll thread,
 * so the generator costs a few microseconds per round trip and the server under test is what is
 * measured (a Node generator costs about as much as a Node server, which would cap any ratio).
 *
 *   echo-load PORT CONNECTIONS SECONDS WARMUP_MS
 *   → prints {"roundTrips":N,"seconds":S,"totalRoundTrips":T} (N in the measured window, T including warm-up)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MSG 64
#define MAXC 1024

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s PORT CONNECTIONS SECONDS WARMUP_MS\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[1]), n = atoi(argv[2]);
  double seconds = atof(argv[3]), warmup = atof(argv[4]) / 1000.0;
  if (n < 1 || n > MAXC || seconds <= 0) {
    fprintf(stderr, "bad arguments\n");
    return 2;
  }
  static int fds[MAXC], got[MAXC];
  char msg[MSG], buf[4096];
  memset(msg, 'a', MSG);
  int ep = epoll_create1(0);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr); /* loopback only, by design */
  for (int i = 0; i < n; i++) {
    fds[i] = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fds[i], (struct sockaddr *)&addr, sizeof addr) != 0) {
      perror("connect");
      return 1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (unsigned)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
  }
  for (int i = 0; i < n; i++) {
    if (write(fds[i], msg, MSG) != MSG) {
      perror("write");
      return 1;
    }
  }
  double start = now(), t0 = start + warmup, end = t0 + seconds;
  long long counted = 0, total = 0;
  struct epoll_event events[MAXC];
  for (;;) {
    double t = now();
    if (t >= end) break;
    int k = epoll_wait(ep, events, MAXC, 100);
    if (k < 0 && errno != EINTR) {
      perror("epoll_wait");
      return 1;
    }
    int counting = now() >= t0;
    for (int e = 0; e < k; e++) {
      int i = (int)events[e].data.u32;
      ssize_t r = read(fds[i], buf, sizeof buf);
      if (r <= 0) {
        fprintf(stderr, "connection %d closed by the server\n", i);
        return 1;
      }
      got[i] += (int)r;
      while (got[i] >= MSG) {
        got[i] -= MSG;
        total++;
        if (counting) counted++;
        if (write(fds[i], msg, MSG) != MSG) {
          perror("write");
          return 1;
        }
      }
    }
  }
  double measured = now() - t0;
  for (int i = 0; i < n; i++) close(fds[i]);
  printf("{\"roundTrips\":%lld,\"seconds\":%.6f,\"totalRoundTrips\":%lld}\n", counted, measured, total);
  return 0;
}

#!/usr/bin/env bash
# Makes sure a Docker engine answers before the lab or the tests need one, and that the host tools
# the lab uses are installed. Called by `make lab`, `make test` and `.ci/run` (through make).
#
#   - `docker info` works (DOCKER_HOST is respected)   → use that engine, touch nothing.
#   - else, Debian/Ubuntu as root                      → apt-get install docker.io, start dockerd in
#     the background (log: $ACKLAB_DOCKERD_LOG), wait until it answers (bounded), say what was done.
#   - else                                             → say what to install/start, exit non-zero.
#
# Host tools installed alongside (Debian/Ubuntu as root, only when missing): debootstrap (to make a
# base image when no registry is reachable) and python3-twisted (interop tests and bench).
#
# Environment (all optional):
#   DOCKER_HOST                    engine address; a unix:// socket is where a started dockerd listens
#   ACKLAB_DOCKERD_LOG             dockerd log file            (default /var/log/acklab/dockerd.log)
#   ACKLAB_DOCKERD_PIDFILE         dockerd pid file            (default /var/run/docker.pid)
#   ACKLAB_DOCKERD_ARGS            extra dockerd arguments, split on blanks (e.g. --data-root DIR);
#                                  not --bridge=none next to another engine: dockerd deletes docker0 then
#   ACKLAB_ENGINE_WAIT_SECONDS     how long to wait for a started dockerd to answer (default 60)
#   ACKLAB_SKIP_HOST_PACKAGES=1    do not install debootstrap / python3-twisted
#   ACKLAB_EXTRA_HOST_PACKAGES     more Debian packages to install when missing, split on blanks
#                                  (`make test` asks for chromium, which the report's browser test drives)
set -euo pipefail

LOG=${ACKLAB_DOCKERD_LOG:-/var/log/acklab/dockerd.log}
PIDFILE=${ACKLAB_DOCKERD_PIDFILE:-/var/run/docker.pid}
WAIT_SECONDS=${ACKLAB_ENGINE_WAIT_SECONDS:-60}
# shellcheck disable=SC2206 # extra packages are split on blanks on purpose
HOST_PACKAGES=(debootstrap python3-twisted ${ACKLAB_EXTRA_HOST_PACKAGES:-})

say() { echo "ensure-engine: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

engine_answers() {
  command -v docker >/dev/null 2>&1 && timeout 15 docker info >/dev/null 2>&1
}

engine_summary() {
  timeout 15 docker version --format 'Docker {{.Server.Version}}, API {{.Server.APIVersion}}' 2>/dev/null || echo "Docker engine"
}

is_debian_root() {
  [ "$(id -u)" = 0 ] || return 1
  command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1 || return 1
  [ -r /etc/os-release ] || return 1
  local id id_like
  id=$(. /etc/os-release && echo "${ID:-}")
  id_like=$(. /etc/os-release && echo "${ID_LIKE:-}")
  case " $id $id_like " in *" debian "* | *" ubuntu "*) return 0 ;; esac
  return 1
}

package_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# Installs the given packages from the distribution, with one `apt-get update`, and says how long it took.
apt_install() {
  local start
  start=$(now)
  say "installing from the distribution: $* (apt-get update + install)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2 \
    || die "apt-get install $* failed"
  say "installed $* in $(elapsed "$start") s"
}

# The unix socket a dockerd we start should listen on, or nothing for dockerd's default.
socket_from_docker_host() {
  case "${DOCKER_HOST:-}" in
    '') echo '' ;;
    unix://*) echo "${DOCKER_HOST#unix://}" ;;
    *) echo 'REMOTE' ;;
  esac
}

pid_is_running_dockerd() {
  local pid=$1
  [[ "$pid" =~ ^[0-9]+$ ]] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]
}

wait_for_engine() {
  local pid=$1 start=$2 deadline
  deadline=$(($(date +%s) + WAIT_SECONDS))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    if engine_answers; then
      say "dockerd (pid $pid) answers after $(elapsed "$start") s: $(engine_summary); log: $LOG"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      say "dockerd (pid $pid) exited; last lines of $LOG:"
      tail -n 20 "$LOG" >&2 || true
      die "dockerd did not start (see $LOG)"
    fi
    sleep 0.5
  done
  say "last lines of $LOG:"
  tail -n 20 "$LOG" >&2 || true
  die "dockerd (pid $pid) did not answer within ${WAIT_SECONDS} s (see $LOG)"
}

start_dockerd() {
  local socket=$1 start pid args=()
  start=$(now)
  if [ -e "$PIDFILE" ]; then
    pid=$(tr -dc '0-9' <"$PIDFILE" || true)
    if pid_is_running_dockerd "$pid"; then
      say "a dockerd (pid $pid, from $PIDFILE) is running but does not answer yet; waiting for it"
      wait_for_engine "$pid" "$start"
      return 0
    fi
    # dockerd refuses to start while its pid file names a live process, and pids get reused.
    say "removing stale pid file $PIDFILE (pid '${pid}' is not a running dockerd)"
    rm -f "$PIDFILE"
  fi
  mkdir -p "$(dirname "$LOG")" "$(dirname "$PIDFILE")"
  args=(--pidfile "$PIDFILE")
  if [ -n "$socket" ]; then
    mkdir -p "$(dirname "$socket")"
    args+=(-H "unix://$socket")
  fi
  # shellcheck disable=SC2206 # extra arguments are split on blanks on purpose
  args+=(${ACKLAB_DOCKERD_ARGS:-})
  # cgroup v1: the engine's containers get a real-time CPU budget to share, so each shaper
  # sidecar's agent can switch a timeline step on the millisecond on a loaded machine.
  local rt=/sys/fs/cgroup/cpu/cpu.rt_runtime_us
  if [ -r "$rt" ] && [ "$(cat "$rt")" -ge 950000 ] 2>/dev/null && [[ " ${args[*]} " != *" --cpu-rt-runtime"* ]]; then
    args+=(--cpu-rt-runtime=950000)
  fi
  say "starting dockerd ${args[*]} in the background; log: $LOG"
  echo "=== $(date -u +%FT%TZ) started by acklab scripts/ensure-engine.sh: dockerd ${args[*]}" >>"$LOG"
  # setsid + nohup: the engine must outlive make and this shell.
  setsid nohup dockerd "${args[@]}" >>"$LOG" 2>&1 </dev/null &
  pid=$!
  wait_for_engine "$pid" "$start"
}

ensure_host_packages() {
  [ "${ACKLAB_SKIP_HOST_PACKAGES:-}" = 1 ] && return 0
  local missing=() pkg
  if is_debian_root; then
    for pkg in "${HOST_PACKAGES[@]}"; do package_installed "$pkg" || missing+=("$pkg"); done
    if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi
  else
    command -v debootstrap >/dev/null 2>&1 \
      || say "note: debootstrap is not installed; it is only needed when no base image can be pulled (install the 'debootstrap' package)"
    python3 -c 'import twisted' >/dev/null 2>&1 \
      || say "note: python3 Twisted is not installed; the Twisted interop tests need it (install 'python3-twisted' or 'pip install twisted')"
  fi
}

main() {
  ensure_host_packages

  if engine_answers; then
    say "engine answers${DOCKER_HOST:+ at $DOCKER_HOST}: $(engine_summary) — using it as it is"
    return 0
  fi

  local socket
  socket=$(socket_from_docker_host)
  if [ "$socket" = REMOTE ]; then
    die "DOCKER_HOST=$DOCKER_HOST does not answer 'docker info'. Start that engine, or unset DOCKER_HOST to use a local one."
  fi

  if ! is_debian_root; then
    say "no Docker engine answers${DOCKER_HOST:+ at $DOCKER_HOST}, and this is not Debian/Ubuntu as root, so acklab will not install one."
    say "Install and start Docker (Docker Engine: https://docs.docker.com/engine/install/, or Docker Desktop,"
    say "or rootless Docker with DOCKER_HOST set), make sure 'docker info' works for this user, then retry."
    exit 1
  fi

  # Any dockerd + docker CLI will do (docker.io, docker-ce); install the distribution's only when absent.
  if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
    apt_install docker.io
  fi
  start_dockerd "$socket"
}

main "$@"

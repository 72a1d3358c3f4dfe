#!/usr/bin/env bash
# Manual check of scripts/ensure-engine.sh's cold path without touching the running engine:
# starts a SECOND dockerd on its own socket, data-root, exec-root and its own bridge interface (no
# iptables), with a fake stale pid file in the way, checks that a second call leaves it alone, then
# stops only the dockerd this check started, by its pid. Needs root on Debian/Ubuntu with docker.io.
#
# Never give the second dockerd --bridge=none: dockerd then DELETES the host's docker0 interface,
# which breaks the running engine's default network.
set -euo pipefail
cd "$(dirname "$0")/.."

DIR=$(mktemp -d /tmp/acklab-engine-check.XXXXXX)
BRIDGE=acklab-etest0
# A private bridge on an address range Docker's default pools do not use.
ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add name "$BRIDGE" type bridge
ip addr replace 10.254.213.1/24 dev "$BRIDGE"
export DOCKER_HOST="unix://$DIR/docker.sock"
export ACKLAB_DOCKERD_LOG="$DIR/dockerd.log"
export ACKLAB_DOCKERD_PIDFILE="$DIR/docker.pid"
export ACKLAB_DOCKERD_ARGS="--data-root $DIR/data --exec-root $DIR/exec --bridge=$BRIDGE --iptables=false --ip-masq=false"
export ACKLAB_SKIP_HOST_PACKAGES=1

started_pid=''
cleanup() {
  if [ -n "$started_pid" ] && kill -0 "$started_pid" 2>/dev/null; then
    kill "$started_pid"
    for _ in $(seq 1 40); do kill -0 "$started_pid" 2>/dev/null || break; sleep 0.25; done
  fi
  ip link del "$BRIDGE" 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT

# A stale pid file naming a live process that is not dockerd (pid 1) must not stop the start.
echo 1 >"$ACKLAB_DOCKERD_PIDFILE"

scripts/ensure-engine.sh
started_pid=$(cat "$ACKLAB_DOCKERD_PIDFILE")
[ "$(cat "/proc/$started_pid/comm")" = dockerd ] || { echo "FAIL: pid file does not name a dockerd"; exit 1; }
docker info --format '{{.DockerRootDir}}' | grep -qx "$DIR/data" || { echo "FAIL: not the test engine"; exit 1; }

out=$(scripts/ensure-engine.sh 2>&1)
echo "$out"
grep -q 'using it as it is' <<<"$out" || { echo "FAIL: second call did not reuse the engine"; exit 1; }
[ "$(cat "$ACKLAB_DOCKERD_PIDFILE")" = "$started_pid" ] || { echo "FAIL: a second dockerd was started"; exit 1; }
echo "OK: cold start with a stale pid file, then reuse (test dockerd pid $started_pid is stopped now)"

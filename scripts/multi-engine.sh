#!/usr/bin/env bash
# Two extra Docker engines on this machine, each in its own network namespace, joined by a Linux
# bridge and formed into a swarm: the test bed of a lab spread over several engines.
#
#   scripts/multi-engine.sh check            exit 0 when this machine can do it, else say why (exit 3)
#   scripts/multi-engine.sh up [ID]          start them; prints shell assignments on stdout:
#                                            ME_ID, ME_A, ME_B (engine addresses), ME_SUBNET, ME_STATE
#   scripts/multi-engine.sh down ID          remove everything `up ID` made (idempotent)
#
# Every name carries ID (default: 6 random hex digits), so runs at the same time never meet:
#   netns ackme-ID-a / ackme-ID-b, bridge ackbr-ID, veths akID{a,b}, state /run/ackme-ID,
#   data /var/lib/ackme-ID, one iptables rule `FORWARD -i ackbr-ID -o ackbr-ID -j ACCEPT`.
# The bridge gets no host address: the engines talk to each other only; acklab reaches them through
# their unix sockets. The /24 on the bridge is picked from 10.200.0.0/16 among those the host does not route.
#
# `ip netns exec` remounts /sys and dockerd then fails ("Devices cgroup isn't mounted"), so each
# dockerd is started with `nsenter --net=` only. The main engine sets FORWARD to DROP and the bridge's
# frames go through iptables (br_netfilter), hence the rule. A failed `up` removes what it made.
set -Eeuo pipefail

say() { echo "multi-engine: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

WAIT_SECONDS=${ACKLAB_ME_WAIT_SECONDS:-60}

names() {
  ID=$1
  NS_A=ackme-$ID-a
  NS_B=ackme-$ID-b
  BR=ackbr-$ID
  STATE=/run/ackme-$ID
  DATA=/var/lib/ackme-$ID
}

cmd_check() {
  local missing=()
  [ "$(id -u)" = 0 ] || { say "needs root (network namespaces, a bridge, iptables, dockerd)"; exit 3; }
  for tool in dockerd docker nsenter ip iptables; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
  [ ${#missing[@]} -eq 0 ] || { say "missing: ${missing[*]}"; exit 3; }
  ip netns list >/dev/null 2>&1 || { say "ip netns does not work here"; exit 3; }
  return 0
}

# A /24 in 10.200.0.0/16 that no host route or address covers.
pick_subnet() {
  local used n
  used=$(ip -4 route show table all 2>/dev/null; ip -4 -o addr show 2>/dev/null)
  for _ in $(seq 1 64); do
    n=$((RANDOM % 250 + 1))
    if ! grep -q "10\.200\.$n\." <<<"$used" && ! grep -qE '(^| )10\.0\.0\.0/8|10\.200\.0\.0/16' <<<"$used"; then
      echo "10.200.$n"
      return 0
    fi
  done
  return 1
}

wait_engine() {
  local sock=$1 log=$2 pid=$3 start=$SECONDS
  until docker -H "unix://$sock" info >/dev/null 2>&1; do
    if [ $((SECONDS - start)) -ge "$WAIT_SECONDS" ] || [ ! -d "/proc/$pid" ]; then
      say "engine at $sock did not answer (waited $((SECONDS - start)) s of ${WAIT_SECONDS}); its log ends:"
      tail -n 20 "$log" >&2 || true
      return 1
    fi
    sleep 0.3
  done
}

start_engine() {
  local which=$1 ns=$2 ip=$3 bip=$4 pool=$5
  local veth=ak$ID$which
  ip netns add "$ns"
  ip link add "$veth" type veth peer name "${veth}p"
  ip link set "${veth}p" netns "$ns"
  ip -n "$ns" link set "${veth}p" name eth0
  ip -n "$ns" addr add "$ip/24" dev eth0
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
  ip link set "$veth" master "$BR" up
  mkdir -p "$STATE/$which" "$DATA/$which"
  # Own data, exec root, socket and pid file; its own containerd (under the exec root). The
  # namespace's docker0 and docker_gwbridge live in the namespace and cannot clash with the host's;
  # the default address pool is moved off the host's 172.17–31 so `docker network ls` of the three
  # engines together never shows one subnet twice (acklab picks lab subnets from all of them).
  nsenter --net="/run/netns/$ns" dockerd \
    --data-root "$DATA/$which" --exec-root "$STATE/$which/x" \
    --host "unix://$STATE/$which/docker.sock" --pidfile "$STATE/$which/dockerd.pid" \
    --bip "$bip" --default-address-pool "base=$pool,size=24" \
    --storage-driver overlay2 --log-level warn \
    >"$STATE/$which/dockerd.log" 2>&1 </dev/null &
  echo $! >"$STATE/$which/nsenter.pid"
}

cmd_up() {
  cmd_check
  names "${1:-$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
  [ ! -e "$STATE" ] || die "$STATE exists: run \`$0 down $ID\` first"
  local net
  net=$(pick_subnet) || die "no free /24 in 10.200.0.0/16"
  trap 'say "up failed; removing what was made"; cmd_down "$ID" >/dev/null 2>&1 || true; exit 1' ERR
  trap 'say "interrupted; removing what was made"; cmd_down "$ID" >/dev/null 2>&1 || true; exit 130' INT TERM
  mkdir -p "$STATE" "$DATA"
  echo "$net" >"$STATE/subnet"
  ip link add "$BR" type bridge
  ip link set "$BR" up
  iptables -I FORWARD -i "$BR" -o "$BR" -j ACCEPT
  local n=${net##*.}
  start_engine a "$NS_A" "$net.11" "10.201.$n.1/24" 10.204.0.0/16
  start_engine b "$NS_B" "$net.12" "10.202.$n.1/24" 10.205.0.0/16
  wait_engine "$STATE/a/docker.sock" "$STATE/a/dockerd.log" "$(cat "$STATE/a/nsenter.pid")"
  wait_engine "$STATE/b/docker.sock" "$STATE/b/dockerd.log" "$(cat "$STATE/b/nsenter.pid")"
  local A=unix://$STATE/a/docker.sock B=unix://$STATE/b/docker.sock token
  docker -H "$A" swarm init --advertise-addr "$net.11" --listen-addr "$net.11:2377" \
    --default-addr-pool "10.203.0.0/16" >/dev/null
  token=$(docker -H "$A" swarm join-token -q worker)
  docker -H "$B" swarm join --advertise-addr "$net.12" --listen-addr "$net.12:2377" --token "$token" "$net.11:2377" >/dev/null
  trap - ERR INT TERM
  say "engines up: a=$A b=$B on $BR ($net.0/24), swarm of 2"
  echo "ME_ID=$ID"
  echo "ME_A=$A"
  echo "ME_B=$B"
  echo "ME_SUBNET=$net.0/24"
  echo "ME_STATE=$STATE"
}

stop_engine() {
  local which=$1 pid
  pid=$(cat "$STATE/$which/dockerd.pid" 2>/dev/null || cat "$STATE/$which/nsenter.pid" 2>/dev/null || true)
  [ -n "$pid" ] || return 0
  # Only that pid, and only when it is the dockerd of this state folder.
  if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$STATE/$which"; then
    local sock=unix://$STATE/$which/docker.sock ids
    ids=$(timeout 20 docker -H "$sock" ps -aq 2>/dev/null || true)
    [ -z "$ids" ] || timeout 60 docker -H "$sock" rm -f $ids >/dev/null 2>&1 || true
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do [ -d "/proc/$pid" ] || break; sleep 0.2; done
    if [ -d "/proc/$pid" ]; then say "dockerd $pid ($which) did not stop in 20 s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; sleep 0.5; fi
  fi
}

cmd_down() {
  [ -n "${1:-}" ] || die "usage: $0 down ID"
  names "$1"
  stop_engine a
  stop_engine b
  # Mounts dockerd left behind (overlay2 layers, its netns files) before the folders go.
  local m
  for m in $(awk -v a="$STATE" -v b="$DATA" '$5 ~ "^"a || $5 ~ "^"b { print $5 }' /proc/self/mountinfo | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
  ip netns del "$NS_A" 2>/dev/null || true
  ip netns del "$NS_B" 2>/dev/null || true
  ip link del "ak${ID}a" 2>/dev/null || true
  ip link del "ak${ID}b" 2>/dev/null || true
  ip link del "$BR" 2>/dev/null || true
  while iptables -D FORWARD -i "$BR" -o "$BR" -j ACCEPT 2>/dev/null; do :; done
  rm -rf "$STATE" "$DATA"
  say "removed engines, namespaces, bridge, rule and data of $ID"
}

case "${1:-}" in
  check) cmd_check && say "ok: root, dockerd, nsenter, ip netns, iptables" ;;
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  *) echo "usage: $0 check | up [ID] | down ID" >&2; exit 2 ;;
esac

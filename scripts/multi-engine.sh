#!/usr/bin/env bash
# Two extra Docker engines on this machine, each in its own network namespace, joined by a Linux
# bridge and formed into a swarm: the test bed of a lab spread over several engines.
#
#   scripts/multi-engine.sh check            exit 0 when this machine can do it, else say why (exit 3)
#   scripts/multi-engine.sh up [ID] [--no-swarm] [--tls] [--ssh]
#                                            start them (in a swarm, unless --no-swarm); prints shell
#                                            assignments on stdout: ME_ID, ME_A, ME_B (engine
#                                            addresses), ME_ADDR_A, ME_ADDR_B (their addresses on the
#                                            bridge), ME_SUBNET, ME_STATE; with --tls also
#                                            ME_B_HTTPS (engine b's API over TLS, https://ADDR_B:2376)
#                                            and ME_CERTS (a DOCKER_CERT_PATH: ca.pem, cert.pem, key.pem);
#                                            with --ssh also ME_B_SSH (ssh://root@ADDR_B: an sshd in
#                                            engine b's namespace), ME_SSH_PATH (a folder to put first
#                                            on PATH: its `ssh` knows b's host key and has the key b
#                                            accepts) and ME_SSH_PATH_WRONG_KEY (same, but it expects
#                                            another host key for b)
#   scripts/multi-engine.sh down ID          remove everything `up ID` made (idempotent)
#
# Every name carries ID (default: 6 random hex digits), so runs at the same time never meet:
#   netns ackme-ID-a / ackme-ID-b, bridge ackbr-ID, veths akID{a,b}, state /run/ackme-ID,
#   data /var/lib/ackme-ID, one iptables rule `FORWARD -i ackbr-ID -o ackbr-ID -j ACCEPT`.
# The bridge gets no host address: the engines talk to each other only; acklab reaches them through
# their unix sockets — and, with --tls, engine b also over https (dockerd --tlsverify on its bridge
# address, with a CA, server and client certificate made for the run), for which the host gets
# ADDR.1 on the bridge; with --ssh, b's API is also behind an sshd (below, make_ssh) on ADDR_B:22, as on
# a remote machine, reached from the host's ADDR.1. The /24 on the bridge is picked from 10.200.0.0/16 among those the host does not route.
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

# Engine b answering on its TLS port, with the client certificate.
wait_tls() {
  local url=$1 start=$SECONDS
  until DOCKER_CERT_PATH=$STATE/tls/client docker -H "tcp://${url#https://}" --tlsverify version >/dev/null 2>&1; do
    if [ $((SECONDS - start)) -ge "$WAIT_SECONDS" ]; then say "engine b did not answer at $url over TLS"; return 1; fi
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
  local tls=()
  if [ "$which" = b ] && [ "$TLS" = 1 ]; then
    tls=(--host "tcp://$ip:2376" --tlsverify --tlscacert "$STATE/tls/ca.pem" --tlscert "$STATE/tls/server-cert.pem" --tlskey "$STATE/tls/server-key.pem")
  fi
  # Own data, exec root, socket and pid file; its own containerd (under the exec root). The
  # namespace's docker0 and docker_gwbridge live in the namespace and cannot clash with the host's;
  # the default address pool is moved off the host's 172.17–31 so `docker network ls` of the three
  # engines together never shows one subnet twice (acklab picks lab subnets from all of them).
  nsenter --net="/run/netns/$ns" dockerd \
    --data-root "$DATA/$which" --exec-root "$STATE/$which/x" \
    --host "unix://$STATE/$which/docker.sock" --pidfile "$STATE/$which/dockerd.pid" \
    --bip "$bip" --default-address-pool "base=$pool,size=24" \
    --storage-driver overlay2 --log-level warn "${tls[@]}" \
    >"$STATE/$which/dockerd.log" 2>&1 </dev/null &
  echo $! >"$STATE/$which/nsenter.pid"
}

# A CA, a server certificate for IP (and the key), and a client certificate, for engine b's TLS API.
make_tls() {
  local ip=$1 d=$STATE/tls
  mkdir -p "$d/client"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=acklab multi-engine test CA" \
    -keyout "$d/ca-key.pem" -out "$d/ca.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$ip" -keyout "$d/server-key.pem" -out "$d/server.csr" 2>/dev/null
  printf 'subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n' "$ip" >"$d/server.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" -CAcreateserial -days 2 \
    -extfile "$d/server.ext" -out "$d/server-cert.pem" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=acklab" -keyout "$d/client/key.pem" -out "$d/client.csr" 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' >"$d/client.ext"
  openssl x509 -req -in "$d/client.csr" -CA "$d/ca.pem" -CAkey "$d/ca-key.pem" -CAcreateserial -days 2 \
    -extfile "$d/client.ext" -out "$d/client/cert.pem" 2>/dev/null
  cp "$d/ca.pem" "$d/client/ca.pem"
}

# An ssh server in engine b's network namespace, as on a remote machine: a container of engine b
# (host network: b's namespace) running sshd from Debian's openssh-server on ADDR_B:22, built on the
# main engine FROM acklab's Debian base and loaded onto b. Keys and known_hosts are made for the run;
# the client side is an `ssh` on ME_SSH_PATH that runs the system ssh with a config of the run's (the
# user's own ~/.ssh stays untouched). The server runs only `docker system dial-stdio` — the command
# the docker CLI and acklab run over ssh — as a socat onto engine b's socket (the image has no docker
# CLI), and refuses any other. The image and the container are marked as no acklab resource (acklab's
# base carries dev.acklab.managed=true), so no lab's cleanup takes them for its own.
SSHD_IMAGE=acklab-test/sshd:bookworm
SSH_BASE=acklab/base-debian:bookworm

make_ssh() {
  local ip=$1 d=$STATE/ssh ssh_bin
  ssh_bin=$(command -v ssh)
  mkdir -p "$d/server" "$d/client" "$d/bin" "$d/bin-wrong-key"
  if ! docker image inspect "$SSHD_IMAGE" >/dev/null 2>&1; then
    docker image inspect "$SSH_BASE" >/dev/null 2>&1 || die "--ssh builds its sshd image FROM $SSH_BASE: run \`npx acklab images\` first"
    say "building $SSHD_IMAGE (openssh-server, socat) on the main engine"
    printf '%s\n' 'ARG BASE' 'FROM ${BASE}' \
      'RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openssh-server socat && rm -rf /var/lib/apt/lists/* /etc/ssh/ssh_host_* && mkdir -p /run/sshd' \
      | docker build -q --label dev.acklab.managed=false --label dev.acklab.role=test --label dev.acklab.test=sshd --build-arg "BASE=$SSH_BASE" -t "$SSHD_IMAGE" - >/dev/null
  fi
  docker save "$SSHD_IMAGE" | docker -H "unix://$STATE/b/docker.sock" load -q >/dev/null
  ssh-keygen -q -t ed25519 -N '' -C "acklab-me-$ID host" -f "$d/server/host_ed25519"
  ssh-keygen -q -t ed25519 -N '' -C "acklab-me-$ID other host" -f "$d/other_host_ed25519"
  ssh-keygen -q -t ed25519 -N '' -C "acklab-me-$ID client" -f "$d/client/id_ed25519"
  cp "$d/client/id_ed25519.pub" "$d/server/authorized_keys"
  cat >"$d/server/sshd_config" <<CONF
ListenAddress $ip
Port 22
HostKey /etc/acklab-ssh/host_ed25519
AuthorizedKeysFile /etc/acklab-ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile none
ForceCommand /etc/acklab-ssh/dial-stdio
CONF
  cat >"$d/server/dial-stdio" <<'CMD'
#!/bin/sh
[ "$SSH_ORIGINAL_COMMAND" = "docker system dial-stdio" ] || { echo "this server runs only: docker system dial-stdio (asked: $SSH_ORIGINAL_COMMAND)" >&2; exit 1; }
exec socat STDIO UNIX-CONNECT:/run/engine.sock
CMD
  chmod 0755 "$d/server/dial-stdio"
  echo "$ip $(cut -d' ' -f1,2 "$d/server/host_ed25519.pub")" >"$d/client/known_hosts"
  echo "$ip $(cut -d' ' -f1,2 "$d/other_host_ed25519.pub")" >"$d/client/known_hosts_wrong_key"
  local which
  for which in bin bin-wrong-key; do
    local hosts=$d/client/known_hosts
    [ "$which" = bin ] || hosts=$d/client/known_hosts_wrong_key
    cat >"$d/$which.config" <<CONF
Host $ip
  User root
  IdentityFile $d/client/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
CONF
    printf '#!/bin/sh\nexec %s -F %s "$@"\n' "$ssh_bin" "$d/$which.config" >"$d/$which/ssh"
    chmod 0755 "$d/$which/ssh"
  done
  docker -H "unix://$STATE/b/docker.sock" run -d --name "acklab-me-$ID-sshd" --network host --label dev.acklab.test=sshd \
    -v "$d/server:/etc/acklab-ssh:ro" -v "$STATE/b/docker.sock:/run/engine.sock" \
    "$SSHD_IMAGE" /usr/sbin/sshd -D -e -f /etc/acklab-ssh/sshd_config >/dev/null
  # Ready when the engine's API answers through it.
  local start=$SECONDS
  until printf 'GET /_ping HTTP/1.0\r\n\r\n' | "$d/bin/ssh" -o BatchMode=yes "$ip" docker system dial-stdio 2>/dev/null | grep -q '^OK'; do
    if [ $((SECONDS - start)) -ge "$WAIT_SECONDS" ]; then
      say "engine b did not answer through ssh at $ip; sshd says:"
      docker -H "unix://$STATE/b/docker.sock" logs --tail 20 "acklab-me-$ID-sshd" >&2 || true
      return 1
    fi
    sleep 0.3
  done
}

cmd_up() {
  cmd_check
  local swarm=1 id="" ssh=0
  TLS=0
  for arg in "$@"; do
    case "$arg" in
      --no-swarm) swarm=0 ;;
      --tls) TLS=1 ;;
      --ssh) ssh=1 ;;
      -*) die "up: unknown option $arg (allowed: --no-swarm, --tls, --ssh)" ;;
      *) id=$arg ;;
    esac
  done
  names "${id:-$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
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
  if [ "$TLS" = 1 ]; then
    command -v openssl >/dev/null 2>&1 || die "--tls needs openssl"
    make_tls "$net.12"
  fi
  if [ "$ssh" = 1 ]; then
    for tool in ssh ssh-keygen; do command -v "$tool" >/dev/null 2>&1 || die "--ssh needs $tool (Debian: openssh-client)"; done
  fi
  [ "$TLS" = 0 ] && [ "$ssh" = 0 ] || ip addr add "$net.1/24" dev "$BR"

  start_engine a "$NS_A" "$net.11" "10.201.$n.1/24" 10.204.0.0/16
  start_engine b "$NS_B" "$net.12" "10.202.$n.1/24" 10.205.0.0/16
  wait_engine "$STATE/a/docker.sock" "$STATE/a/dockerd.log" "$(cat "$STATE/a/nsenter.pid")"
  wait_engine "$STATE/b/docker.sock" "$STATE/b/dockerd.log" "$(cat "$STATE/b/nsenter.pid")"
  [ "$TLS" = 0 ] || wait_tls "https://$net.12:2376"
  [ "$ssh" = 0 ] || make_ssh "$net.12"
  local A=unix://$STATE/a/docker.sock B=unix://$STATE/b/docker.sock token
  if [ "$swarm" = 1 ]; then
    docker -H "$A" swarm init --advertise-addr "$net.11" --listen-addr "$net.11:2377" \
      --default-addr-pool "10.203.0.0/16" >/dev/null
    token=$(docker -H "$A" swarm join-token -q worker)
    docker -H "$B" swarm join --advertise-addr "$net.12" --listen-addr "$net.12:2377" --token "$token" "$net.11:2377" >/dev/null
  fi
  trap - ERR INT TERM
  say "engines up: a=$A b=$B on $BR ($net.0/24), $([ "$swarm" = 1 ] && echo 'swarm of 2' || echo 'in no swarm')"
  echo "ME_ID=$ID"
  echo "ME_A=$A"
  echo "ME_B=$B"
  echo "ME_ADDR_A=$net.11"
  echo "ME_ADDR_B=$net.12"
  if [ "$TLS" = 1 ]; then
    echo "ME_B_HTTPS=https://$net.12:2376"
    echo "ME_CERTS=$STATE/tls/client"
  fi
  if [ "$ssh" = 1 ]; then
    echo "ME_B_SSH=ssh://root@$net.12"
    echo "ME_SSH_PATH=$STATE/ssh/bin"
    echo "ME_SSH_PATH_WRONG_KEY=$STATE/ssh/bin-wrong-key"
  fi
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
  *) echo "usage: $0 check | up [ID] [--no-swarm] [--tls] [--ssh] | down ID" >&2; exit 2 ;;
esac

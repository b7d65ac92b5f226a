#!/usr/bin/env bash
# The real docker-compose.yml (and docker-compose.cluster.yml) under a real Docker engine, end to end.
#
#   deploy/compose-test.sh            (as root; `make test` runs it)
#
# Docker Hub is not assumed reachable: the base images are built here from a debootstrapped Debian and
# cached by content hash in $COMPOSE_TEST_CACHE, outside the checkout. The engine is a dockerd of this
# script's own, run inside a network namespace of its own, so the deployment's ports (8001, 8002) and
# its Redis and PostgreSQL never meet the host's. See deploy/README.md.
#
# Settings (environment):
#   CI=true                  a missing engine is installed (apt), and anything that would skip fails
#   COMPOSE_TEST_INSTALL=1   install a missing engine outside CI too
#   COMPOSE_TEST_ARTICLES    articles posted to the single-Redis deployment (500)
#   COMPOSE_TEST_CACHE       image cache and engine state (/var/cache/wirestream-compose)
#   FRESH=1                  drop that cache first: every image is built again
set -euo pipefail
LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${COMPOSE_TEST_CACHE:-/var/cache/wirestream-compose}
RUNDIR=/run/wirestream-compose
NETNS=wirestream-compose
PROJECT=wirestream-compose-test
ARTICLES=${COMPOSE_TEST_ARTICLES:-500}
VENV_PY=$ROOT/.venv/bin/python
DATA_ROOT=$CACHE/docker
SOCK=$RUNDIR/docker.sock
LOGS=$CACHE/logs
export DOCKER_HOST=unix://$SOCK COMPOSE_HTTP_TIMEOUT=180

say() { printf '%s\n' "$*"; }
die() {
  say "compose test: FAILED: $*" >&2
  exit 1
}

# ------------------------------------------------------------------------------------------------------
# Can it run here? Without an engine it skips, except under CI, which installs one or fails.
skip_or_fail() {
  if [ "${CI:-}" = true ]; then
    die "$* (CI=true: not skipped)"
  fi
  say "compose test: SKIPPED: $*"
  exit 0
}

[ "$(uname -s)" = Linux ] || skip_or_fail "needs Linux (network namespaces)"
[ "$(id -u)" = 0 ] || skip_or_fail "needs root: it runs a dockerd of its own in a network namespace"

declare -A PACKAGE_OF=([dockerd]=docker.io [docker-compose]=docker-compose [debootstrap]=debootstrap
  [iptables]=iptables [nsenter]=util-linux [flock]=util-linux [ip]=iproute2)
missing=()
for tool in "${!PACKAGE_OF[@]}"; do
  command -v "$tool" >/dev/null || missing+=("${PACKAGE_OF[$tool]}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [ "${CI:-}" != true ] && [ "${COMPOSE_TEST_INSTALL:-}" != 1 ]; then
    skip_or_fail "no container engine here (missing packages: ${missing[*]}); COMPOSE_TEST_INSTALL=1 installs them"
  fi
  command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get to install them"
  INSTALLING=1
fi

# The engine's own client: /usr/local/bin may hold a newer docker CLI that speaks another API version.
DOCKER=/usr/bin/docker

# One run at a time: the cache holds one engine's state.
cd "$ROOT"
mkdir -p "$CACHE" "$RUNDIR"
exec 9>"$CACHE/.lock"
if ! flock -n 9; then
  say "waiting for another compose test run to finish"
  flock -w 1800 9 || die "another compose test run held the lock for 30 minutes"
fi

# ------------------------------------------------------------------------------------------------------
# Phases and their wall times.
PHASE=
PHASE_START=
TIMES=()
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
phase() {
  phase_end
  PHASE=$1
  PHASE_START=$(now_ms)
  say "==> [$(date +%T)] $PHASE"
}
phase_end() {
  [ -n "$PHASE" ] || return 0
  local ms=$(($(now_ms) - PHASE_START))
  TIMES+=("$(printf '%-16s %6d.%01ds' "$PHASE" $((ms / 1000)) $((ms % 1000 / 100)))")
  PHASE=
}
RUN_START=$(now_ms)

# wait_for SECONDS WHAT COMMAND...: poll COMMAND until it succeeds; fail once SECONDS have passed.
wait_for() {
  local limit=$1 what=$2
  shift 2
  local deadline=$((SECONDS + limit))
  until "$@"; do
    ((SECONDS < deadline)) || die "not so within ${limit}s: $what"
    sleep 0.5
  done
}

# ------------------------------------------------------------------------------------------------------
# The engine: one dockerd at a time on $DATA_ROOT. Images are built by a daemon in the host's network
# namespace (the builds reach the Debian mirror and PyPI), without a bridge or firewall rules, so it
# touches nothing of the host's network; the deployment runs under a daemon inside $NETNS.
DOCKERD_PID=

dockerd_alive() { [ -n "$DOCKERD_PID" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; }

start_dockerd() { # build | run
  local mode=$1 args=(--data-root "$DATA_ROOT" --exec-root "$RUNDIR/exec" --pidfile "$RUNDIR/dockerd.pid"
    -H "$DOCKER_HOST" --config-file "$RUNDIR/daemon.json")
  local wrap=()
  echo '{}' >"$RUNDIR/daemon.json" # not /etc/docker/daemon.json: a host's settings are not ours
  # No container survives a run (see sweep_containers), so the daemon's network state holds nothing but
  # its default bridge, which belongs to the namespace it was made in: start from none.
  rm -rf "$DATA_ROOT/network"
  if [ "$mode" = build ]; then
    args+=(--bridge=none --iptables=false --ip-masq=false --ip-forward=false)
  else
    wrap=(nsenter "--net=/run/netns/$NETNS") # not `ip netns exec`: it remounts /sys, which runc needs
  fi
  # A session of its own: Ctrl-C reaches this script, whose trap takes the deployment down through the
  # daemon, and not the daemon itself. fd 9 (the lock) is closed: a daemon outliving a run must not hold it.
  setsid "${wrap[@]}" dockerd "${args[@]}" >>"$LOGS/dockerd-$mode.log" 2>&1 9>&- &
  DOCKERD_PID=$!
  wait_for 60 "dockerd ($mode) answers (log: $LOGS/dockerd-$mode.log)" daemon_answers
}

daemon_answers() {
  dockerd_alive || die "dockerd exited: $(tail -3 "$LOGS"/dockerd-*.log)"
  "$DOCKER" version >/dev/null 2>&1
}

stop_pid() { # PID: TERM, and KILL after 60 s
  local pid=$1 deadline=$((SECONDS + 60))
  kill "$pid" 2>/dev/null || return 0
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.2
  done
}

stop_dockerd() {
  if [ -n "$DOCKERD_PID" ]; then
    stop_pid "$DOCKERD_PID"
    wait "$DOCKERD_PID" 2>/dev/null || true
  fi
  DOCKERD_PID=
}

# Containers, networks and volumes left by an interrupted run are removed under the namespaced daemon,
# so that nothing of theirs ever starts in the host's namespace.
sweep_containers() {
  local ids
  mapfile -t ids < <("$DOCKER" ps -aq)
  if [ "${#ids[@]}" -gt 0 ]; then
    say "removing ${#ids[@]} containers left by an earlier run"
    "$DOCKER" rm -fv "${ids[@]}" >/dev/null
  fi
  "$DOCKER" network prune -f >/dev/null
  "$DOCKER" volume prune -f >/dev/null
}

# What an interrupted earlier run may have left: its dockerd (and containerd), mounts, the namespace.
clear_stale() {
  local pidfile pid
  for pidfile in "$RUNDIR/dockerd.pid" "$RUNDIR/exec/containerd/containerd.pid"; do
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if [ -n "$pid" ] && grep -qs "$RUNDIR" "/proc/$pid/cmdline"; then
      say "stopping $(basename "$pidfile" .pid) $pid left by an earlier run"
      stop_pid "$pid"
    fi
  done
  local mount
  awk -v run="$RUNDIR/" -v data="$DATA_ROOT/" 'index($5, run) == 1 || index($5, data) == 1 {print $5}' \
    /proc/self/mountinfo | sort -r | while read -r mount; do
    umount -l "$mount" 2>/dev/null || true
  done
  if ip netns list | grep -qw "^$NETNS"; then
    ip netns del "$NETNS"
  fi
  rm -rf "$RUNDIR/exec" "$SOCK"
}

# ------------------------------------------------------------------------------------------------------
# The deployment under test, through Debian's docker-compose (1.29) against our daemon.
STACK_FILE=
STACK_PROJECT=
POSTER_PID=

compose() {
  timeout 300 docker-compose --project-directory "$ROOT" -p "$STACK_PROJECT" -f "$ROOT/$STACK_FILE" "$@"
}

# Run a command inside the deployment's network namespace, where 127.0.0.1:8001/8002 are its ports.
in_ns() { nsenter "--net=/run/netns/$NETNS" "$@"; }
smoke() { in_ns "$VENV_PY" "$ROOT/deploy/smoke.py" "$@"; }

stack_up() { # FILE PROJECT
  STACK_FILE=$1
  STACK_PROJECT=$2
  compose up -d --no-build >>"$LOGS/$STACK_PROJECT.log" 2>&1 || {
    tail -20 "$LOGS/$STACK_PROJECT.log"
    die "docker-compose -f $STACK_FILE up"
  }
  smoke ready --timeout 180
}

stack_down() {
  [ -n "$STACK_PROJECT" ] || return 0
  compose down -v --remove-orphans --timeout 20 >>"$LOGS/$STACK_PROJECT.log" 2>&1 || true
  STACK_PROJECT=
}

healthy_count() { # SERVICE: how many of its containers report healthy
  local id n=0
  for id in $(compose ps -q "$1"); do
    [ "$("$DOCKER" inspect -f '{{.State.Health.Status}}' "$id" 2>/dev/null)" = healthy ] && n=$((n + 1))
  done
  echo "$n"
}
has_healthy() {
  local n
  n=$(healthy_count "$1")
  [ "${n:-0}" -ge "$2" ]
}

REDIS_CTR=
REDIS_CLI=(redis-cli)
rcli() { "$DOCKER" exec "$REDIS_CTR" "${REDIS_CLI[@]}" "$@"; }

# Entries of $RAW's enrich group pending on the consumer of the container with hostname $1
# (consumers are named <hostname>-<pid>). XPENDING's summary lists "name" then "count" lines.
pending_of() {
  rcli XPENDING "$RAW" enrich | awk -v name="$1-" 'take {print; found=1; exit}
    index($0, name) == 1 {take=1} END {if (!found) print 0}'
}
redis_answers() { [ "$(rcli ping 2>/dev/null)" = PONG ]; }
holds_pending() { [ "$(pending_of "$1")" -gt 0 ]; }

# The pipeline's stream names, as the store reports them (hash-tagged on a cluster).
learn_streams() {
  local lines
  lines=$(smoke streams)
  RAW=$(awk '$2 == "enrich" {print $1}' <<<"$lines")
  ENRICHED=$(awk '$2 == "store" {print $1}' <<<"$lines")
  DEAD=${RAW%:raw}:dead
  if [ -z "$RAW" ] || [ -z "$ENRICHED" ]; then
    die "the store's /v1/stats names no pipeline streams: $lines"
  fi
}

# The end state, asked of Redis itself: no entry pending in either group, no dead letter.
redis_settled() {
  local raw_pending enriched_pending dead
  raw_pending=$(rcli XPENDING "$RAW" enrich | head -1)
  enriched_pending=$(rcli XPENDING "$ENRICHED" store | head -1)
  dead=$(rcli XLEN "$DEAD")
  say "redis: XPENDING $RAW enrich = $raw_pending, XPENDING $ENRICHED store = $enriched_pending, XLEN $DEAD = $dead"
  if [ "$raw_pending" != 0 ] || [ "$enriched_pending" != 0 ] || [ "$dead" != 0 ]; then
    die "entries pending or dead"
  fi
}

# ------------------------------------------------------------------------------------------------------
# Teardown, also on failure or interruption: the deployment, the daemon, the namespace.
teardown() {
  local rc=$? failed_in=$PHASE
  trap - EXIT INT TERM
  set +e
  phase_end
  if [ "$rc" != 0 ] && [ -n "$STACK_PROJECT" ] && dockerd_alive; then
    say "--- state at failure ($STACK_FILE)"
    compose ps 2>&1 | tail -20
    compose logs --no-color --tail=15 2>&1 | tail -80
  fi
  PHASE_START=$(now_ms)
  PHASE=teardown
  [ -n "$POSTER_PID" ] && kill "$POSTER_PID" 2>/dev/null
  if dockerd_alive; then
    stack_down
    sweep_containers
  fi
  stop_dockerd
  clear_stale
  rm -rf "$RUNDIR"
  phase_end
  say "--- wall times"
  printf '%s\n' "${TIMES[@]}"
  local ms=$(($(now_ms) - RUN_START))
  printf '%-16s %6d.%01ds\n' total $((ms / 1000)) $((ms % 1000 / 100))
  if [ "$rc" = 0 ]; then
    say "compose test: passed"
  else
    say "compose test: FAILED in phase ${failed_in:-?} (exit $rc); logs in $LOGS" >&2
  fi
  exit "$rc"
}
trap teardown EXIT
trap 'say "compose test: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

rm -rf "$LOGS"
mkdir -p "$LOGS"

# ======================================================================================================
phase install
if [ -n "${INSTALLING:-}" ]; then
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >>"$LOGS/apt.log" 2>&1
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$LOGS/apt.log" 2>&1 ||
    die "apt-get install ${missing[*]}: $(tail -5 "$LOGS/apt.log")"
fi
[ -x "$VENV_PY" ] || make -C "$ROOT" install >>"$LOGS/install.log" 2>&1 || die "make install"
say "$(dockerd --version); $(docker-compose version --short 2>/dev/null | sed 's/^/docker-compose /')"

clear_stale
if [ "${FRESH:-0}" = 1 ]; then
  say "FRESH=1: dropping the image cache"
  rm -rf "$DATA_ROOT"
fi
# Containers present means an earlier run was interrupted: remove them inside a namespace first.
ip netns add "$NETNS"
ip -n "$NETNS" link set lo up
if [ -n "$(ls -A "$DATA_ROOT/containers" 2>/dev/null)" ]; then
  start_dockerd run
  sweep_containers
  stop_dockerd
fi

# ======================================================================================================
phase base-images
start_dockerd build

# content_hash ITEM...: a short hash of strings and of files (their path in the project and content).
content_hash() {
  local item
  for item; do
    if [ -f "$item" ]; then
      printf '%s\n' "${item#"$ROOT"/}"
      cat "$item"
    else
      printf '%s\n' "$item"
    fi
  done | sha256sum | cut -c1-16
}

has_image() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

# Debian's mirror as apt is configured here (a deb822 source, else a one-line source).
MIRROR=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
MIRROR=${MIRROR:-$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}

DEBIAN_RECIPE="debootstrap --variant=minbase bookworm $MIRROR $(dpkg --print-architecture)"
DEBIAN_IMAGE=wirestream-base/debian:$(content_hash "$DEBIAN_RECIPE")
if has_image "$DEBIAN_IMAGE"; then
  say "cached: $DEBIAN_IMAGE"
else
  rm -rf "$CACHE/rootfs"
  debootstrap --variant=minbase bookworm "$CACHE/rootfs" "$MIRROR" >>"$LOGS/debootstrap.log" 2>&1 ||
    die "debootstrap: $(tail -5 "$LOGS/debootstrap.log")"
  tar -C "$CACHE/rootfs" -c . | "$DOCKER" import - "$DEBIAN_IMAGE" >/dev/null
  rm -rf "$CACHE/rootfs"
  say "built:  $DEBIAN_IMAGE"
fi

# The python stand-in also carries this machine's extra CA certificates: builds reach PyPI through
# whatever proxy this machine uses, and pip inside `docker build` must trust it as the host does.
mapfile -t CA_FILES < <(find /usr/local/share/ca-certificates -type f -name '*.crt' 2>/dev/null | sort)

base_tag() { # NAME: the tag of deploy/images/NAME's image, named by the hash of all that goes into it
  local name=$1 files extra=()
  mapfile -t files < <(find "$ROOT/deploy/images/$name" -type f | sort)
  [ "$name" = python ] && extra=("${CA_FILES[@]}")
  echo "wirestream-base/$name:$(content_hash "$DEBIAN_IMAGE" "${files[@]}" "${extra[@]}")"
}

build_base() { # NAME TAG: build deploy/images/NAME as TAG (run in the background, one per image)
  local name=$1 tag=$2 context=$RUNDIR/context-$1 started=$SECONDS
  rm -rf "$context"
  cp -r "$ROOT/deploy/images/$name" "$context"
  mkdir -p "$context/ca"
  if [ "$name" = python ] && [ "${#CA_FILES[@]}" -gt 0 ]; then
    cp "${CA_FILES[@]}" "$context/ca/"
  fi
  if ! DOCKER_BUILDKIT=0 "$DOCKER" build --network host --force-rm --build-arg "BASE_IMAGE=$DEBIAN_IMAGE" \
    -f "$context/Containerfile" -t "$tag" "$context" >"$LOGS/build-$name.log" 2>&1; then
    say "building $tag failed: $(tail -5 "$LOGS/build-$name.log")" >&2
    return 1
  fi
  rm -rf "$context"
  say "built:  $tag in $((SECONDS - started))s"
}

PYTHON_IMAGE=$(base_tag python)
REDIS_IMAGE=$(base_tag redis)
POSTGRES_IMAGE=$(base_tag postgres)
export PYTHON_IMAGE REDIS_IMAGE POSTGRES_IMAGE
# The three builds are mostly apt downloading and unpacking: they overlap well.
builds=()
for name in python redis postgres; do
  tag_var=${name^^}_IMAGE
  if has_image "${!tag_var}"; then
    say "cached: ${!tag_var}"
  else
    build_base "$name" "${!tag_var}" &
    builds+=($!)
  fi
done
for pid in "${builds[@]}"; do
  wait "$pid" || die "a base image did not build"
done

# Only the current recipes' images are kept.
for repo in debian python redis postgres; do
  "$DOCKER" images --format '{{.Repository}}:{{.Tag}}' "wirestream-base/$repo" |
    { grep -vxF -e "$DEBIAN_IMAGE" -e "$PYTHON_IMAGE" -e "$REDIS_IMAGE" -e "$POSTGRES_IMAGE" || true; } |
    xargs -r "$DOCKER" rmi >/dev/null
done

# ======================================================================================================
phase project-image
# The project's own Dockerfile, on the stand-in python image; its layers stay cached between runs.
DOCKER_BUILDKIT=0 "$DOCKER" build --network host --force-rm --build-arg "PYTHON_IMAGE=$PYTHON_IMAGE" \
  -t wirestream:latest "$ROOT" >"$LOGS/build-project.log" 2>&1 ||
  die "building the project image: $(tail -15 "$LOGS/build-project.log")"
"$DOCKER" image prune -f >/dev/null
say "built:  wirestream:latest ($(grep -c 'Using cache' "$LOGS/build-project.log" || true) steps cached)"
stop_dockerd

# ======================================================================================================
phase engine
start_dockerd run
say "dockerd in network namespace $NETNS: $(in_ns ip -brief address | awk '{print $1}' | paste -sd' ')"

# ======================================================================================================
phase testcontainers
# The test suite's Redis fixture without REDIS_URL: a testcontainers Redis of the local image, on this
# engine. Ryuk (testcontainers' reaper) is off: its image cannot be pulled, and the fixture stops its
# container itself.
TC_SINCE=$(date +%s)
if ! in_ns env -u REDIS_URL TEST_REDIS_IMAGE="$REDIS_IMAGE" TESTCONTAINERS_RYUK_DISABLED=true \
  "$VENV_PY" -m pytest -q -p no:cacheprovider tests/runtime/test_deadletter.py tests/runtime/test_runner.py \
  >"$LOGS/pytest.log" 2>&1; then
  tail -30 "$LOGS/pytest.log"
  die "the tests on a testcontainers Redis"
fi
say "pytest: $(tail -1 "$LOGS/pytest.log")"
started=$("$DOCKER" events --since "$TC_SINCE" --until "$(date +%s)" --filter event=start \
  --filter "image=$REDIS_IMAGE" --format '{{.ID}}' | wc -l)
[ "$started" -ge 1 ] || die "the tests did not start a Redis container (testcontainers not used)"
say "testcontainers started $started Redis container(s) of $REDIS_IMAGE"

# ======================================================================================================
phase compose-up
IDS=$RUNDIR/ids-single
: >"$IDS"
stack_up docker-compose.yml "$PROJECT"
REDIS_CTR=$(compose ps -q redis)
wait_for 120 "2 enrich replicas healthy" has_healthy enrich 2
wait_for 120 "the feeds process healthy" has_healthy feeds 1
"$DOCKER" ps --format '  {{.Names}}: {{.Status}}'

phase seed-and-read
smoke post --ids "$IDS" --seed "$ROOT/seeds" --count "$ARTICLES" --tag "single-$$" --timeout 180
smoke stored --ids "$IDS" --timeout 180
learn_streams

phase scale-and-kill
compose up -d --no-build --no-recreate --scale enrich=3 >>"$LOGS/$PROJECT.log" 2>&1
wait_for 120 "3 enrich replicas healthy" has_healthy enrich 3
VICTIM=$(compose ps -q enrich | tail -1)
VICTIM_HOST=$("$DOCKER" inspect -f '{{.Config.Hostname}}' "$VICTIM")
smoke post --ids "$IDS" --count 300 --tag "kill-$$" --timeout 180 9>&- &
POSTER_PID=$!
wait_for 120 "enrich replica $VICTIM_HOST holds pending entries" holds_pending "$VICTIM_HOST"
HELD=$(pending_of "$VICTIM_HOST")
"$DOCKER" kill -s KILL "$VICTIM" >/dev/null
say "SIGKILLed enrich replica $VICTIM_HOST while XPENDING listed $HELD entries for it" \
  "($("$DOCKER" inspect -f '{{.State.Status}}, exit {{.State.ExitCode}}' "$VICTIM"))"
wait "$POSTER_PID" || die "posting while a replica was killed"
POSTER_PID=
# Its pending entries go to the other replicas once idle for CLAIM_IDLE_MS (30 s by default).
smoke stored --ids "$IDS" --timeout 180
say "pending on the killed replica now: $(pending_of "$VICTIM_HOST")"

phase redis-restart
smoke settled --ids "$IDS" --timeout 120
BEFORE="$(rcli XLEN "$RAW") $(rcli XLEN "$ENRICHED")"
compose restart redis >>"$LOGS/$PROJECT.log" 2>&1
wait_for 60 "redis answers after its restart" redis_answers
AFTER="$(rcli XLEN "$RAW") $(rcli XLEN "$ENRICHED")"
say "stream lengths ($RAW $ENRICHED) before restart: $BEFORE, after: $AFTER; appendonly $(rcli CONFIG GET appendonly | tail -1)"
[ "$BEFORE" = "$AFTER" ] || die "Redis lost stream entries over a restart"
smoke post --ids "$IDS" --count 20 --tag "after-redis-$$" --timeout 120
smoke stored --ids "$IDS" --timeout 120

phase store-restart
compose stop store >>"$LOGS/$PROJECT.log" 2>&1
smoke post --ids "$IDS" --count 20 --tag "store-down-$$" --timeout 60
compose start store >>"$LOGS/$PROJECT.log" 2>&1
smoke ready --timeout 120
smoke stored --ids "$IDS" --timeout 120

phase settle
smoke settled --ids "$IDS" --timeout 120
redis_settled

phase compose-down
stack_down

# ======================================================================================================
# The same pipeline on a Redis Cluster: three masters, three replicas, one node named in REDIS_URL.
phase cluster-up
IDS=$RUNDIR/ids-cluster
: >"$IDS"
stack_up docker-compose.cluster.yml "$PROJECT-cluster"
REDIS_CTR=$(compose ps -q redis-1)
REDIS_CLI=(redis-cli -c) # follows MOVED to the node of each key
wait_for 120 "2 enrich replicas healthy" has_healthy enrich 2
wait_for 120 "the feeds process healthy" has_healthy feeds 1
say "cluster: $(rcli CLUSTER INFO | grep -E 'cluster_(state|size|known_nodes)' | tr -d '\r' | paste -sd' ')"

phase cluster-pipeline
smoke post --ids "$IDS" --seed "$ROOT/seeds" --count 100 --tag "cluster-$$" --timeout 120
smoke stored --ids "$IDS" --timeout 120
learn_streams
# Hash-tagged names ({news}:raw) show that the services found a cluster behind the one node they know.
[[ $RAW == "{"*"}:raw" ]] || die "the services name their streams $RAW on a cluster, not with a hash tag"
smoke settled --ids "$IDS" --timeout 120
redis_settled

phase cluster-down
stack_down

#!/usr/bin/env bash
# Local real stack for assetstream: Apache Kafka (single-node KRaft) + Apicurio Registry (ccompat API).
# Both run as plain JVMs from Maven Central artifacts; no Docker. See stack/README.md.
#
# usage: stack/stack.sh up|down|status|start-broker|stop-broker|restart-broker|kill-broker|start-registry|stop-registry|restart-registry
#
#   up              resolve artifacts (first run), format KRaft storage if needed, start both, wait until ready.
#                   Idempotent: services already running and healthy are left alone.
#   down            stop both (SIGTERM, then SIGKILL) and WIPE the broker data dir (next `up` starts empty,
#                   matching the in-memory registry which loses everything anyway).
#   status          print each service up/down; exit 0 only if both are up.
#   stop-broker / start-broker / restart-broker        broker only, data dir KEPT (fault injection).
#   kill-broker     SIGKILL the broker (crash simulation; data dir kept, next start recovers the logs).
#   stop-registry / start-registry / restart-registry  registry only (in-memory: schemas are lost).
#
# Environment (all optional):
#   KAFKA_PORT (9092)  KAFKA_CONTROLLER_PORT (9093)  REGISTRY_PORT (8081)  REGISTRY_MGMT_PORT (9001)
#   STACK_DIR (<repo>/.stack)  STACK_TIMEOUT (120, seconds to wait for readiness)  STOP_TIMEOUT (30)
#   KAFKA_JAVA_HOME (java 17+, default /usr/lib/jvm/java-17-openjdk-amd64, else JAVA_HOME, else PATH)
#   REGISTRY_JAVA_HOME (java 21+, default /usr/lib/jvm/temurin-25-jdk-amd64)
#   KAFKA_HEAP_OPTS ("-Xms256m -Xmx512m")  REGISTRY_HEAP_OPTS ("-Xms128m -Xmx384m")
#   STACK_MVN_ARGS (extra maven args, e.g. "-o" for offline)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"

APICURIO_VERSION=3.3.3
MAVEN_DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
REGISTRY_PORT="${REGISTRY_PORT:-8081}"
REGISTRY_MGMT_PORT="${REGISTRY_MGMT_PORT:-9001}"
STACK_DIR="${STACK_DIR:-$REPO_ROOT/.stack}"
STACK_TIMEOUT="${STACK_TIMEOUT:-120}"
STOP_TIMEOUT="${STOP_TIMEOUT:-30}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
REGISTRY_HEAP_OPTS="${REGISTRY_HEAP_OPTS:--Xms128m -Xmx384m}"
STACK_MVN_ARGS="${STACK_MVN_ARGS:-}"

K_DIR="$STACK_DIR/kafka"
K_LIB="$K_DIR/lib"
K_DATA="$K_DIR/data"
K_PROPS="$K_DIR/server.properties"
K_LOG="$K_DIR/broker.log"
K_PID="$K_DIR/broker.pid"
R_DIR="$STACK_DIR/registry"
R_APP="$STACK_DIR/apicurio-$APICURIO_VERSION"
R_LOG="$R_DIR/registry.log"
R_PID="$R_DIR/registry.pid"
REGISTRY_URL="http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7"

log() { printf '[stack] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

pick_java() { # $1 = preferred JAVA_HOME; prints java binary
  if [[ -n "$1" && -x "$1/bin/java" ]]; then echo "$1/bin/java"
  elif [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then echo "$JAVA_HOME/bin/java"
  else command -v java || die "no java found"; fi
}
KAFKA_JAVA="$(pick_java "${KAFKA_JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}")"
REGISTRY_JAVA="$(pick_java "${REGISTRY_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}")"

# ---------------------------------------------------------------- process helpers
# pid from file if the process is alive AND its command line matches (guards against pid reuse)
live_pid() { # $1 pidfile, $2 cmdline marker
  local pid
  [[ -f "$1" ]] || return 1
  pid="$(cat "$1" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  local cmdline
  cmdline="$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cmdline" == *"$2"* ]] || return 1
  echo "$pid"
}
broker_pid() { live_pid "$K_PID" "kafka.Kafka"; }
registry_pid() { live_pid "$R_PID" "quarkus-run.jar"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A real Kafka request over bash /dev/tcp: ApiVersions v0 (api_key 18), correlation id 7, client id "s".
# Ready when the response carries correlation id 7 and error_code 0.
broker_api_ok() {
  local resp
  resp="$(timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
    printf "\x00\x00\x00\x0b\x00\x12\x00\x00\x00\x00\x00\x07\x00\x01s" >&3
    head -c 10 <&3 | od -An -tx1' "$KAFKA_PORT" 2>/dev/null)" || return 1
  resp="${resp//[[:space:]]/}"
  [[ "${resp:8:12}" == "000000070000" ]]
}
broker_ready() {
  # KafkaRaftServer logs "Kafka Server started" once the broker is registered, unfenced and serving;
  # then confirm with a real ApiVersions round trip on the client port.
  grep -q "Kafka Server started" "$K_LOG" 2>/dev/null || return 1
  broker_api_ok
}
registry_ready() {
  local body
  body="$(curl -sf --max-time 5 "$REGISTRY_URL/subjects" 2>/dev/null)" || return 1
  [[ "$body" == \[* ]]
}

# Start a detached process in its own session. The subshell execs setsid -> bash -> java, so no
# intermediate shell lingers holding the caller's stdout/stderr; the pid file gets the JVM's pid.
spawn() { # $1 pidfile, $2 logfile, $3 workdir, rest: command
  local pidfile="$1" logfile="$2" workdir="$3"; shift 3
  (
    cd "$workdir" || exit 1
    exec 9>&-   # do not let the JVM inherit the stack lock
    exec setsid bash -c 'echo $$ > "$0"; exec "$@"' "$pidfile" "$@" >>"$logfile" 2>&1 </dev/null
  ) >/dev/null 2>&1 </dev/null &
  local i
  for i in $(seq 1 50); do [[ -s "$pidfile" ]] && return 0; sleep 0.1; done
  die "process did not record its pid in $pidfile"
}

stop_pid() { # $1 name, $2 pid, $3 pidfile
  local name="$1" pid="$2" pidfile="$3" waited=0
  log "stopping $name (pid $pid, SIGTERM)"
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if (( waited >= STOP_TIMEOUT * 10 )); then
      log "$name did not exit after ${STOP_TIMEOUT}s, SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.1; waited=$((waited + 1))
  done
  rm -f "$pidfile"
}

wait_ready() { # $1 name, $2 ready-fn, $3 pid-fn, $4 logfile
  local name="$1" readyfn="$2" pidfn="$3" logfile="$4" start=$SECONDS
  while ! "$readyfn"; do
    if ! "$pidfn" >/dev/null; then
      log "$name process exited during startup; last 50 lines of $logfile:"
      tail -n 50 "$logfile" >&2 || true
      exit 1
    fi
    if (( SECONDS - start >= STACK_TIMEOUT )); then
      log "$name not ready after ${STACK_TIMEOUT}s; last 50 lines of $logfile:"
      tail -n 50 "$logfile" >&2 || true
      exit 1
    fi
    sleep 0.5
  done
  log "$name ready after $((SECONDS - start))s"
}

# ---------------------------------------------------------------- artifacts
MVN_LOG="$STACK_DIR/maven.log"
mvn_run() { # output goes to .stack/maven.log, shown on failure
  command -v mvn >/dev/null || die "maven (mvn) not found"
  # shellcheck disable=SC2086
  if ! mvn -B -Dstyle.color=never $STACK_MVN_ARGS "$@" >>"$MVN_LOG" 2>&1; then
    log "maven failed; last 50 lines of $MVN_LOG:"; tail -n 50 "$MVN_LOG" >&2; return 1
  fi
}

ensure_kafka_artifacts() {
  local stamp="$K_LIB/.resolved" want
  want="$(sha256sum "$SCRIPT_DIR/kafka/pom.xml" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then return 0; fi
  log "resolving Kafka jars via Maven into $K_LIB"
  rm -rf "$K_LIB"; mkdir -p "$K_LIB"
  mvn_run -f "$SCRIPT_DIR/kafka/pom.xml" "$MAVEN_DEP_PLUGIN:copy-dependencies" \
    -DincludeScope=runtime -DoutputDirectory="$K_LIB" || die "maven copy-dependencies failed"
  echo "$want" > "$stamp"
}

ensure_registry_artifacts() {
  [[ -f "$R_APP/.unpacked" && -f "$R_APP/quarkus-run.jar" ]] && return 0
  log "resolving io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all via Maven into $R_APP"
  local dl="$R_APP.download"
  rm -rf "$R_APP" "$dl"; mkdir -p "$R_APP" "$dl"
  # dependency:copy (requiresProject=false) fetches the tarball through ~/.m2; we untar it ourselves.
  # (dependency:unpack would work too, but without a project it writes marker files into a literal
  #  '${project.basedir}/target' dir and skips re-unpacking when they exist.)
  (cd "$STACK_DIR" && mvn_run "$MAVEN_DEP_PLUGIN:copy" \
    -Dartifact="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all" \
    -DoutputDirectory="$dl") || die "maven copy of apicurio failed"
  tar -xzf "$dl/apicurio-registry-app-$APICURIO_VERSION-all.tar.gz" -C "$R_APP" || die "untar of apicurio failed"
  rm -rf "$dl"
  [[ -f "$R_APP/quarkus-run.jar" ]] || die "unpacked apicurio has no quarkus-run.jar"
  touch "$R_APP/.unpacked"
}

# ---------------------------------------------------------------- broker
render_broker_config() {
  mkdir -p "$K_DIR"
  sed -e "s#@KAFKA_PORT@#$KAFKA_PORT#g" \
      -e "s#@CONTROLLER_PORT@#$KAFKA_CONTROLLER_PORT#g" \
      -e "s#@DATA_DIR@#$K_DATA#g" \
      "$SCRIPT_DIR/kafka/server.properties.template" > "$K_PROPS"
}

kafka_java_opts() { # common JVM flags (no heap)
  printf '%s\n' -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true "-Dlog4j2.configurationFile=file:$SCRIPT_DIR/kafka/log4j2.properties"
}

format_storage_if_needed() {
  [[ -f "$K_DATA/meta.properties" ]] && return 0
  local cid opts
  mkdir -p "$K_DATA"
  # random 16-byte cluster id, base64url without padding (what StorageTool random-uuid prints)
  cid="$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | cut -c1-22)"
  mapfile -t opts < <(kafka_java_opts)
  log "formatting KRaft storage in $K_DATA (cluster id $cid)"
  "$KAFKA_JAVA" -Xmx256m "${opts[@]}" -cp "$K_LIB/*" kafka.tools.StorageTool \
    format -t "$cid" -c "$K_PROPS" >>"$K_LOG" 2>&1 \
    || { tail -n 50 "$K_LOG" >&2; die "kafka storage format failed"; }
}

start_broker() {
  if broker_pid >/dev/null; then
    broker_ready || wait_ready broker broker_ready broker_pid "$K_LOG"
    return 0
  fi
  rm -f "$K_PID"
  port_open "$KAFKA_PORT" && die "port $KAFKA_PORT is in use by another process"
  port_open "$KAFKA_CONTROLLER_PORT" && die "port $KAFKA_CONTROLLER_PORT is in use by another process"
  ensure_kafka_artifacts
  render_broker_config
  # fresh log per start: readiness greps it for "Kafka Server started"
  [[ -f "$K_LOG" ]] && mv -f "$K_LOG" "$K_LOG.prev"
  : > "$K_LOG"
  format_storage_if_needed
  local opts heap
  mapfile -t opts < <(kafka_java_opts)
  # shellcheck disable=SC2206
  heap=($KAFKA_HEAP_OPTS)
  log "starting broker on 127.0.0.1:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT)"
  spawn "$K_PID" "$K_LOG" "$K_DIR" "$KAFKA_JAVA" "${heap[@]}" "${opts[@]}" -cp "$K_LIB/*" kafka.Kafka "$K_PROPS"
  wait_ready broker broker_ready broker_pid "$K_LOG"
}

kill_broker() {
  local pid
  if pid="$(broker_pid)"; then
    log "killing broker (pid $pid, SIGKILL)"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$K_PID"
}

stop_broker() {
  local pid
  if pid="$(broker_pid)"; then stop_pid broker "$pid" "$K_PID"; else rm -f "$K_PID"; fi
}

# ---------------------------------------------------------------- registry
start_registry() {
  if registry_pid >/dev/null; then
    registry_ready || wait_ready registry registry_ready registry_pid "$R_LOG"
    return 0
  fi
  rm -f "$R_PID"
  port_open "$REGISTRY_PORT" && die "port $REGISTRY_PORT is in use by another process"
  port_open "$REGISTRY_MGMT_PORT" && die "port $REGISTRY_MGMT_PORT is in use by another process"
  ensure_registry_artifacts
  mkdir -p "$R_DIR"
  [[ -f "$R_LOG" ]] && mv -f "$R_LOG" "$R_LOG.prev"
  : > "$R_LOG"
  local heap
  # shellcheck disable=SC2206
  heap=($REGISTRY_HEAP_OPTS)
  log "starting registry on 127.0.0.1:$REGISTRY_PORT (management $REGISTRY_MGMT_PORT)"
  spawn "$R_PID" "$R_LOG" "$R_APP" "$REGISTRY_JAVA" "${heap[@]}" \
    -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Djava.util.logging.manager=org.jboss.logmanager.LogManager \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$REGISTRY_PORT" \
    -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port="$REGISTRY_MGMT_PORT" \
    -Dapicurio.ccompat.use-canonical-hash=true \
    -Dapicurio.rest.deletion.group.enabled=true \
    -Dapicurio.rest.deletion.artifact.enabled=true \
    -Dapicurio.rest.deletion.artifact-version.enabled=true \
    -Dquarkus.log.level=INFO \
    -jar quarkus-run.jar
  wait_ready registry registry_ready registry_pid "$R_LOG"
}

stop_registry() {
  local pid
  if pid="$(registry_pid)"; then stop_pid registry "$pid" "$R_PID"; else rm -f "$R_PID"; fi
}

# ---------------------------------------------------------------- commands
status() {
  local rc=0 pid
  if pid="$(broker_pid)" && broker_ready; then
    echo "broker:   up   pid $pid  127.0.0.1:$KAFKA_PORT"
  elif pid="$(broker_pid)"; then
    echo "broker:   starting/unhealthy  pid $pid"; rc=1
  else
    echo "broker:   down"; rc=1
  fi
  if pid="$(registry_pid)" && registry_ready; then
    echo "registry: up   pid $pid  $REGISTRY_URL"
  elif pid="$(registry_pid)"; then
    echo "registry: starting/unhealthy  pid $pid"; rc=1
  else
    echo "registry: down"; rc=1
  fi
  return $rc
}

mkdir -p "$STACK_DIR"
cmd="${1:-}"
# serialize concurrent invocations (e.g. parallel test workers calling `up`); status needs no lock
if [[ "$cmd" != status ]] && command -v flock >/dev/null; then
  exec 9>"$STACK_DIR/.lock"
  flock -w $((STACK_TIMEOUT * 2 + 60)) 9 || die "could not acquire $STACK_DIR/.lock"
fi
case "$cmd" in
  up)
    # resolve both first so a cold run downloads before starting any JVM
    if ! broker_pid >/dev/null; then ensure_kafka_artifacts; fi
    if ! registry_pid >/dev/null; then ensure_registry_artifacts; fi
    # both JVMs boot in parallel (2 cores); each waits for its own readiness
    ( start_registry ) & reg_job=$!
    ( start_broker ) & broker_job=$!
    broker_rc=0; wait "$broker_job" || broker_rc=$?
    reg_rc=0; wait "$reg_job" || reg_rc=$?
    (( broker_rc == 0 && reg_rc == 0 )) || { log "up failed (broker rc=$broker_rc, registry rc=$reg_rc)"; exit 1; }
    status
    ;;
  down)
    stop_broker
    stop_registry
    rm -rf "$K_DATA"
    log "stack down (broker data wiped)"
    ;;
  status) status ;;
  start-broker) start_broker ;;
  stop-broker) stop_broker ;;
  restart-broker) stop_broker; start_broker ;;
  kill-broker) kill_broker ;;
  start-registry) start_registry ;;
  stop-registry) stop_registry ;;
  restart-registry) stop_registry; start_registry ;;
  *)
    echo "usage: $0 up|down|status|start-broker|stop-broker|restart-broker|kill-broker|start-registry|stop-registry|restart-registry" >&2
    exit 2
    ;;
esac

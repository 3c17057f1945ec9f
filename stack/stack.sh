#!/usr/bin/env bash
# Local real stack for assetstream: Apache Kafka (single-node KRaft) + Apicurio Registry (ccompat API),
# and, next to it, a three-broker replicated Kafka cluster (cluster-* commands).
# All run as plain JVMs from Maven Central artifacts; no Docker. See stack/README.md.
#
# usage: stack/stack.sh up|down|status|start-broker|stop-broker|restart-broker|kill-broker|start-registry|stop-registry|restart-registry
#        stack/stack.sh cluster-up|cluster-down|cluster-status|cluster-bootstrap
#        stack/stack.sh cluster-stop N|cluster-kill N|cluster-start N      (N = broker 1..3)
#        stack/stack.sh cluster-leader TOPIC PARTITION
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
# Three-broker cluster (independent of the single broker; its own ports and data under $STACK_DIR/cluster/):
#   cluster-up      start the KRaft controller (node 100) and brokers 1,2,3 (rf 3, min.insync.replicas 2), wait
#                   until each broker is ready and all three are registered; also starts the (shared) registry.
#                   Idempotent.
#   cluster-down    stop the four cluster JVMs and WIPE the cluster's data; stops the registry only if
#                   cluster-up started it and the single stack is not in use (no broker, no broker data dir).
#   cluster-status  print each node up/down; exit 0 only if all four are up.
#   cluster-stop N / cluster-kill N (SIGKILL) / cluster-start N (waits until ready)   broker N only, data kept.
#   cluster-leader TOPIC PARTITION   print the node id of the partition's leader (Kafka's TopicCommand).
#   cluster-bootstrap                print the bootstrap servers string.
#
# Environment (all optional):
#   KAFKA_PORT (9092)  KAFKA_CONTROLLER_PORT (9093)  REGISTRY_PORT (8081)  REGISTRY_MGMT_PORT (9001)
#   STACK_DIR (<repo>/.stack)  STACK_TIMEOUT (120, seconds to wait for readiness)  STOP_TIMEOUT (30)
#   KAFKA_JAVA_HOME (java 17+, default /usr/lib/jvm/java-17-openjdk-amd64, else JAVA_HOME, else PATH)
#   REGISTRY_JAVA_HOME (java 21+, default /usr/lib/jvm/temurin-25-jdk-amd64)
#   KAFKA_HEAP_OPTS ("-Xms256m -Xmx512m")  REGISTRY_HEAP_OPTS ("-Xms128m -Xmx384m")
#   STACK_MVN_ARGS (extra maven args, e.g. "-o" for offline)
#   CLUSTER_PORT_BASE (19092: brokers 1,2,3 on BASE, BASE+1, BASE+2)  CLUSTER_CONTROLLER_PORT (BASE+98 = 19190)
#   CLUSTER_HEAP_OPTS ("-Xms128m -Xmx384m", each broker)  CLUSTER_CONTROLLER_HEAP_OPTS ("-Xms64m -Xmx256m")
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
CLUSTER_PORT_BASE="${CLUSTER_PORT_BASE:-19092}"
CLUSTER_CONTROLLER_PORT="${CLUSTER_CONTROLLER_PORT:-$((CLUSTER_PORT_BASE + 98))}"
CLUSTER_HEAP_OPTS="${CLUSTER_HEAP_OPTS:--Xms128m -Xmx384m}"
CLUSTER_CONTROLLER_HEAP_OPTS="${CLUSTER_CONTROLLER_HEAP_OPTS:--Xms64m -Xmx256m}"

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
C_DIR="$STACK_DIR/cluster"          # <node>/{server.properties,data/,node.log,node.pid}, node = controller|broker1..3
C_ID_FILE="$C_DIR/cluster.id"
C_REG_MARK="$C_DIR/.registry-started-by-cluster"
C_CONTROLLER_ID=100
C_BROKERS=(broker1 broker2 broker3)

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
broker_api_ok() { # $1 port (default KAFKA_PORT); controllers answer it too
  local resp
  resp="$(timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
    printf "\x00\x00\x00\x0b\x00\x12\x00\x00\x00\x00\x00\x07\x00\x01s" >&3
    head -c 10 <&3 | od -An -tx1' "${1:-$KAFKA_PORT}" 2>/dev/null)" || return 1
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

wait_ready() { # $1 name, $2 ready-fn, $3 pid-fn, $4 logfile (the fns may carry words: "cluster_node_pid broker1")
  local name="$1" logfile="$4" start=$SECONDS readyfn pidfn
  read -ra readyfn <<<"$2"; read -ra pidfn <<<"$3"
  while ! "${readyfn[@]}"; do
    if ! "${pidfn[@]}" >/dev/null; then
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

kafka_artifacts_current() { # lib/ resolved from the current pom
  local stamp="$K_LIB/.resolved" want
  want="$(sha256sum "$SCRIPT_DIR/kafka/pom.xml" | cut -d' ' -f1)"
  [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]
}

ensure_kafka_artifacts() {
  local stamp="$K_LIB/.resolved" want
  want="$(sha256sum "$SCRIPT_DIR/kafka/pom.xml" | cut -d' ' -f1)"
  if kafka_artifacts_current; then return 0; fi
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

# Formats a KRaft node's storage with a cluster id (StorageTool; a static quorum needs no --standalone).
format_storage() { # $1 properties, $2 log, $3 cluster id, $4 what
  local opts
  mapfile -t opts < <(kafka_java_opts)
  log "formatting $4 storage (cluster id $3)"
  "$KAFKA_JAVA" -Xmx256m "${opts[@]}" -cp "$K_LIB/*" kafka.tools.StorageTool \
    format -t "$3" -c "$1" >>"$2" 2>&1 \
    || { tail -n 50 "$2" >&2; die "kafka storage format of $4 failed"; }
}

format_storage_if_needed() {
  [[ -f "$K_DATA/meta.properties" ]] && return 0
  mkdir -p "$K_DATA"
  # random 16-byte cluster id, base64url without padding (what StorageTool random-uuid prints)
  format_storage "$K_PROPS" "$K_LOG" "$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | cut -c1-22)" "the broker's"
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

# ---------------------------------------------------------------- three-broker cluster
# Nodes: "controller" (node id 100, process.roles=controller) and broker1..broker3 (node ids 1..3).
# The pid check's cmdline marker is "kafka.Kafka <the node's server.properties>", which neither the single
# broker nor another cluster node has.
cluster_node_id() { if [[ "$1" == controller ]]; then echo "$C_CONTROLLER_ID"; else echo "${1#broker}"; fi; }
cluster_node_port() {
  if [[ "$1" == controller ]]; then echo "$CLUSTER_CONTROLLER_PORT"; else echo $((CLUSTER_PORT_BASE + ${1#broker} - 1)); fi
}
cluster_node_pid() { live_pid "$C_DIR/$1/node.pid" "kafka.Kafka $C_DIR/$1/server.properties"; }
cluster_node_ready() { # same test as the single broker's: "Kafka Server started" (controllers log it too) + ApiVersions
  grep -q "Kafka Server started" "$C_DIR/$1/node.log" 2>/dev/null || return 1
  broker_api_ok "$(cluster_node_port "$1")"
}
cluster_bootstrap_all() {
  local n out=()
  for n in "${C_BROKERS[@]}"; do out+=("127.0.0.1:$(cluster_node_port "$n")"); done
  (IFS=,; echo "${out[*]}")
}
cluster_bootstrap_up() { # only the brokers that are running and answer
  local n out=()
  for n in "${C_BROKERS[@]}"; do
    cluster_node_pid "$n" >/dev/null && cluster_node_ready "$n" && out+=("127.0.0.1:$(cluster_node_port "$n")")
  done
  (( ${#out[@]} > 0 )) || return 1
  (IFS=,; echo "${out[*]}")
}
cluster_any_pid() {
  local n
  for n in controller "${C_BROKERS[@]}"; do cluster_node_pid "$n" >/dev/null && return 0; done
  return 1
}

# Number of live (registered, unfenced) brokers in the metadata of the broker on port $1: a Metadata v4
# request (api_key 3) for no topics over bash /dev/tcp; the response starts with size, correlation id 9,
# throttle_time_ms, then the brokers array's length.
broker_count() {
  local resp
  resp="$(timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
    printf "\x00\x00\x00\x10\x00\x03\x00\x04\x00\x00\x00\x09\x00\x01s\x00\x00\x00\x00\x00" >&3
    head -c 16 <&3 | od -An -tx1' "$1" 2>/dev/null)" || return 1
  resp="${resp//[[:space:]]/}"
  [[ "${resp:8:8}" == "00000009" && "${resp:24:8}" =~ ^[0-9a-f]{8}$ ]] || return 1
  echo $((16#${resp:24:8}))
}
cluster_all_registered() { # every broker sees all three
  local n c
  for n in "${C_BROKERS[@]}"; do
    c="$(broker_count "$(cluster_node_port "$n")")" || return 1
    [[ "$c" == "${#C_BROKERS[@]}" ]] || return 1
  done
}
cluster_pids_alive() { # for wait_ready: fail if a broker died meanwhile
  local n
  for n in "${C_BROKERS[@]}"; do cluster_node_pid "$n" >/dev/null || return 1; done
}

render_cluster_config() { # $1 node
  local name="$1" tmpl=cluster-broker
  [[ "$name" == controller ]] && tmpl=cluster-controller
  mkdir -p "$C_DIR/$name"
  sed -e "s#@NODE_ID@#$(cluster_node_id "$name")#g" \
      -e "s#@PORT@#$(cluster_node_port "$name")#g" \
      -e "s#@CONTROLLER_ID@#$C_CONTROLLER_ID#g" \
      -e "s#@CONTROLLER_PORT@#$CLUSTER_CONTROLLER_PORT#g" \
      -e "s#@DATA_DIR@#$C_DIR/$name/data#g" \
      "$SCRIPT_DIR/kafka/$tmpl.properties.template" > "$C_DIR/$name/server.properties"
}

cluster_id() { # one id for all four nodes: kept in cluster.id, else taken from a formatted node, else new
  local f cid=""
  if [[ -s "$C_ID_FILE" ]]; then cat "$C_ID_FILE"; return 0; fi
  for f in "$C_DIR"/*/data/meta.properties; do
    [[ -f "$f" ]] && cid="$(sed -n 's/^cluster\.id=//p' "$f")" && [[ -n "$cid" ]] && break
  done
  [[ -n "$cid" ]] || cid="$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | cut -c1-22)"
  mkdir -p "$C_DIR"; echo "$cid" > "$C_ID_FILE"; echo "$cid"
}

format_cluster_node_if_needed() { # $1 node; $2 cluster id. Brokers are formatted too (meta.properties).
  [[ -f "$C_DIR/$1/data/meta.properties" ]] && return 0
  mkdir -p "$C_DIR/$1/data"
  format_storage "$C_DIR/$1/server.properties" "$C_DIR/$1/node.log" "$2" "cluster $1"
}

# Re-resolving deletes lib/ under any JVM started from it: refuse while one runs.
ensure_kafka_artifacts_idle() {
  kafka_artifacts_current && return 0
  if broker_pid >/dev/null || cluster_any_pid; then
    die "stack/kafka/pom.xml changed, but a Kafka JVM runs on the jars in $K_LIB; stop it (down / cluster-down) first"
  fi
  ensure_kafka_artifacts
}

start_cluster_node() { # $1 node; waits until ready
  local name="$1" dir="$C_DIR/$1" port cid
  port="$(cluster_node_port "$name")"
  if cluster_node_pid "$name" >/dev/null; then
    cluster_node_ready "$name" || wait_ready "cluster $name" "cluster_node_ready $name" "cluster_node_pid $name" "$dir/node.log"
    return 0
  fi
  rm -f "$dir/node.pid"
  port_open "$port" && die "port $port (cluster $name) is in use by another process"
  ensure_kafka_artifacts_idle
  cid="$(cluster_id)"
  render_cluster_config "$name"
  # fresh log per start (readiness greps it); every earlier start's log goes on in node.history.log
  [[ -f "$dir/node.log" ]] && cat "$dir/node.log" >> "$dir/node.history.log"
  : > "$dir/node.log"
  format_cluster_node_if_needed "$name" "$cid"
  local opts heap
  mapfile -t opts < <(kafka_java_opts)
  if [[ "$name" == controller ]]; then
    # shellcheck disable=SC2206
    heap=($CLUSTER_CONTROLLER_HEAP_OPTS)
  else
    # shellcheck disable=SC2206
    heap=($CLUSTER_HEAP_OPTS)
  fi
  log "starting cluster $name (node $(cluster_node_id "$name")) on 127.0.0.1:$port"
  spawn "$dir/node.pid" "$dir/node.log" "$dir" "$KAFKA_JAVA" "${heap[@]}" "${opts[@]}" -cp "$K_LIB/*" \
    kafka.Kafka "$dir/server.properties"
  wait_ready "cluster $name" "cluster_node_ready $name" "cluster_node_pid $name" "$dir/node.log"
}

stop_cluster_node() { # $1 node; SIGTERM (a broker does a controlled shutdown: its leaderships move first)
  local pid
  if pid="$(cluster_node_pid "$1")"; then stop_pid "cluster $1" "$pid" "$C_DIR/$1/node.pid"; else rm -f "$C_DIR/$1/node.pid"; fi
}

kill_cluster_node() { # $1 node; SIGKILL
  local pid
  if pid="$(cluster_node_pid "$1")"; then
    log "killing cluster $1 (pid $pid, SIGKILL)"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$C_DIR/$1/node.pid"
}

cluster_up() {
  ensure_kafka_artifacts_idle
  local reg_was_up=0 n rc=0 pids=()
  if registry_pid >/dev/null; then reg_was_up=1; else ensure_registry_artifacts; fi
  cluster_id >/dev/null   # created once here, before the parallel formats read it
  ( start_registry ) & local reg_job=$!
  # all four in parallel: a broker that comes up before the controller retries until it can register
  for n in controller "${C_BROKERS[@]}"; do ( start_cluster_node "$n" ) & pids+=($!); done
  for n in "${pids[@]}"; do wait "$n" || rc=1; done
  local reg_rc=0; wait "$reg_job" || reg_rc=$?
  (( reg_was_up == 1 || reg_rc != 0 )) || touch "$C_REG_MARK"
  (( rc == 0 && reg_rc == 0 )) || { log "cluster-up failed (nodes rc=$rc, registry rc=$reg_rc)"; exit 1; }
  # "Kafka Server started" means registered and unfenced; this also waits for every broker's metadata to say so
  wait_ready "cluster (3 brokers registered)" cluster_all_registered cluster_pids_alive "$C_DIR/controller/node.log"
  cluster_status
}

cluster_down() {
  local n pids=() j
  # brokers first (in parallel; their controlled shutdown needs the controller), then the controller
  for n in "${C_BROKERS[@]}"; do ( stop_cluster_node "$n" ) & pids+=($!); done
  for j in "${pids[@]}"; do wait "$j" || true; done
  stop_cluster_node controller
  # The registry is shared with the single stack: stopped only if cluster-up started it and the single stack
  # is not in use (its broker is not running and its data dir is gone, i.e. no `up` since the last `down`;
  # a broker that a fault test has just killed keeps its data dir).
  if [[ -f "$C_REG_MARK" ]]; then
    if broker_pid >/dev/null || [[ -d "$K_DATA" ]]; then log "registry left running: the single stack is in use"
    else stop_registry; fi
    rm -f "$C_REG_MARK"
  fi
  for n in controller "${C_BROKERS[@]}"; do rm -rf "${C_DIR:?}/$n/data" "${C_DIR:?}/$n/node.history.log"; done
  rm -f "$C_ID_FILE"
  log "cluster down (cluster data wiped)"
}

cluster_status() {
  local rc=0 pid n c
  for n in controller "${C_BROKERS[@]}"; do
    if pid="$(cluster_node_pid "$n")" && cluster_node_ready "$n"; then
      printf '%-11s up   pid %s  node %s  127.0.0.1:%s\n' "$n:" "$pid" "$(cluster_node_id "$n")" "$(cluster_node_port "$n")"
    elif pid="$(cluster_node_pid "$n")"; then
      printf '%-11s starting/unhealthy  pid %s\n' "$n:" "$pid"; rc=1
    else
      printf '%-11s down\n' "$n:"; rc=1
    fi
  done
  for n in "${C_BROKERS[@]}"; do
    if cluster_node_pid "$n" >/dev/null && c="$(broker_count "$(cluster_node_port "$n")")"; then
      echo "registered: $c broker(s) (metadata of $n)"; break
    fi
  done
  if pid="$(registry_pid)" && registry_ready; then echo "registry:   up   pid $pid  $REGISTRY_URL (shared with the single stack)"
  else echo "registry:   down (not counted in cluster-status)"; fi
  return $rc
}

run_kafka_tool() { # $1 main class, rest: its args. Kafka CLI classes from kafka-tools on the stack's classpath.
  "$KAFKA_JAVA" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    "-Dlog4j2.configurationFile=file:$SCRIPT_DIR/kafka/log4j2-tools.properties" -cp "$K_LIB/*" "$@"
}

cluster_leader() { # $1 topic, $2 partition: print the leader's node id
  local topic="$1" part="$2" bs out leader
  [[ "$part" =~ ^[0-9]+$ ]] || die "partition must be a number, got '$part'"
  kafka_artifacts_current || die "Kafka jars are not resolved (run cluster-up)"
  bs="$(cluster_bootstrap_up)" || die "no cluster broker is up"
  # --topic is a regex for --describe; the exact name is matched below
  out="$(run_kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$bs" --describe --topic "$topic")" \
    || die "TopicCommand --describe failed for topic '$topic'"
  # lines: \tTopic: T\tTopicId: ..\tPartition: P\tLeader: N\tReplicas: ..\tIsr: ..
  leader="$(awk -F'\t' -v t="Topic: $topic" -v p="Partition: $part" '
    { hit = 0; l = "" ; for (i = 1; i <= NF; i++) { if ($i == t) hit++; if ($i == p) hit++; if ($i ~ /^Leader: /) l = substr($i, 9) }
      if (hit == 2) { print l; exit } }' <<<"$out")"
  [[ -n "$leader" ]] || die "topic '$topic' has no partition $part"
  [[ "$leader" =~ ^[0-9]+$ ]] || die "partition $topic-$part has no leader (Leader: $leader)"
  echo "$leader"
}

cluster_broker_arg() { # $1 = N from the command line -> node name
  [[ "${1:-}" =~ ^[1-3]$ ]] || die "broker number must be 1, 2 or 3, got '${1:-}'"
  echo "broker$1"
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
# serialize concurrent invocations (e.g. parallel test workers calling `up`); the read-only ones need no lock
if [[ "$cmd" != status && "$cmd" != cluster-status && "$cmd" != cluster-leader && "$cmd" != cluster-bootstrap ]] \
   && command -v flock >/dev/null; then
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
  cluster-up) cluster_up ;;
  cluster-down) cluster_down ;;
  cluster-status) cluster_status ;;
  cluster-bootstrap) cluster_bootstrap_all ;;
  cluster-stop) node="$(cluster_broker_arg "${2:-}")"; stop_cluster_node "$node" ;;
  cluster-kill) node="$(cluster_broker_arg "${2:-}")"; kill_cluster_node "$node" ;;
  cluster-start) node="$(cluster_broker_arg "${2:-}")"; start_cluster_node controller; start_cluster_node "$node" ;;
  cluster-leader)
    [[ $# -eq 3 ]] || die "usage: $0 cluster-leader TOPIC PARTITION"
    cluster_leader "$2" "$3"
    ;;
  *)
    echo "usage: $0 up|down|status|start-broker|stop-broker|restart-broker|kill-broker|start-registry|stop-registry|restart-registry" >&2
    echo "       $0 cluster-up|cluster-down|cluster-status|cluster-bootstrap|cluster-stop N|cluster-kill N|cluster-start N|cluster-leader TOPIC PARTITION" >&2
    exit 2
    ;;
esac

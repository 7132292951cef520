#!/usr/bin/env bash
# A real Apache Kafka (KRaft) on 127.0.0.1 for development and CI, from Maven Central's jars.
#
#   infra/kafka/kafka.sh fetch            resolve the jars into the cache (once)
#   infra/kafka/kafka.sh up   [--nodes 3] format storage and start; waits until metadata is served
#   infra/kafka/kafka.sh down             stop cleanly (SIGTERM, then wait for controlled shutdown)
#   infra/kafka/kafka.sh status
#   infra/kafka/kafka.sh stop-node N / start-node N   (3-node mode: for failover tests)
#
# Environment: KAFKA_PORT (first client port, default 9092), VIGIL_CACHE (default ~/.cache/vigil),
# VIGIL_KAFKA_DIR (runtime state: data, logs, pids; default $VIGIL_CACHE/kafka-run-$KAFKA_PORT);
# KAFKA_SECURITY / KAFKA_AUTHORIZER: an opt-in SASL_SSL listener and ACLs on it (below).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$HERE/pom.xml")"
CACHE="${VIGIL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil}"
LIBS="$CACHE/kafka-$KAFKA_VERSION/libs"
PORT="${KAFKA_PORT:-9092}"
RUN="${VIGIL_KAFKA_DIR:-$CACHE/kafka-run-$PORT}"
HOST=127.0.0.1

log() { echo "kafka: $*" >&2; }

fetch() {
  if [ -f "$LIBS/.complete" ]; then return; fi
  command -v mvn >/dev/null || { log "Maven (mvn) is required to fetch Kafka $KAFKA_VERSION from Maven Central"; exit 1; }
  log "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central into $LIBS"
  rm -rf "$LIBS"; mkdir -p "$LIBS"
  mvn -q -B -f "$HERE/pom.xml" dependency:copy-dependencies -DoutputDirectory="$LIBS" -DincludeScope=runtime
  touch "$LIBS/.complete"
}

java_run() { java -Xms256m -Xmx${KAFKA_HEAP:-768m} -XX:+UseG1GC -Dlog4j2.configurationFile="$HERE/log4j2.properties" -cp "$LIBS/*" "$@"; }

# Ports for node i (0-based): client PORT+i, controller PORT+100+i.
client_port() { echo $((PORT + $1)); }
ctrl_port() { echo $((PORT + 100 + $1)); }

write_config() { # node-index node-count
  local i=$1 n=$2 dir="$RUN/node$1" voters="" j rf=$(( $2 >= 3 ? 3 : 1 )) isr=$(( $2 >= 3 ? 2 : 1 ))
  for ((j = 0; j < n; j++)); do voters+="${voters:+,}$((j + 1))@$HOST:$(ctrl_port $j)"; done
  # One node: a dynamic quorum bootstrapped by `format --standalone`. Three: a static voter set.
  local quorum="controller.quorum.voters=$voters"
  ((n == 1)) && quorum="controller.quorum.bootstrap.servers=$HOST:$(ctrl_port 0)"
  mkdir -p "$dir/data" "$dir/logs"
  cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=$((i + 1))
$quorum
listeners=PLAINTEXT://$HOST:$(client_port $i),CONTROLLER://$HOST:$(ctrl_port $i)
advertised.listeners=PLAINTEXT://$HOST:$(client_port $i)
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
auto.create.topics.enable=false
num.partitions=3
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$isr
default.replication.factor=$rf
group.initial.rebalance.delay.ms=0
log.segment.bytes=16777216
log.retention.check.interval.ms=60000
log.cleaner.dedupe.buffer.size=8388608
PROPS
  if [ -n "${KAFKA_SECURITY:-}" ]; then secure_config "$i"; fi
  if [ -n "${KAFKA_AUTHORIZER:-}" ]; then authorizer_config "$i"; fi
}

# Opt-in secured listener (KAFKA_SECURITY=sasl_ssl): besides PLAINTEXT on the client port, node i
# also serves SASL_SSL on port KAFKA_PORT+200+i (SCRAM-SHA-512, PLAIN, and OAUTHBEARER with Kafka's
# default validator, which accepts unsigned JWTs: for development only). KAFKA_SECURITY_DIR holds
#   broker.pem  the broker's unencrypted PKCS#8 private key followed by its certificate chain
#   ca.pem      the CA that client certificates must chain to (only read with KAFKA_SSL_CLIENT_AUTH)
#   users       one "name password" per line (letters, digits, . _ - only): SCRAM-SHA-512 users are
#               added when storage is formatted, PLAIN users are listed in the listener's JAAS config
# KAFKA_SSL_CLIENT_AUTH: none (default), requested (a client certificate, when given, must be
# trusted) or required.
secure_port() { echo $((PORT + 200 + $1)); }

# Reads $KAFKA_SECURITY_DIR/users into USER_NAMES / USER_PASSWORDS (validated: they go into configs unquoted).
read_users() {
  local dir="${KAFKA_SECURITY_DIR:?KAFKA_SECURITY=sasl_ssl needs KAFKA_SECURITY_DIR}" name password
  USER_NAMES=(); USER_PASSWORDS=()
  [ -f "$dir/users" ] || { log "$dir/users is missing (one \"name password\" per line)"; exit 2; }
  while read -r name password; do
    [ -z "$name" ] && continue
    if [[ ! "$name$password" =~ ^[A-Za-z0-9._-]+$ ]] || [ -z "$password" ]; then
      log "$dir/users: each line must be \"name password\" of letters, digits, . _ -"; exit 2
    fi
    USER_NAMES+=("$name"); USER_PASSWORDS+=("$password")
  done < "$dir/users"
}

secure_config() { # node-index: adds the SASL_SSL listener to the node's server.properties
  local i=$1 dir="$RUN/node$1" sec="${KAFKA_SECURITY_DIR:-}" plain_users="" k
  [ "$KAFKA_SECURITY" = sasl_ssl ] || { log "KAFKA_SECURITY must be sasl_ssl (or unset), not $KAFKA_SECURITY"; exit 2; }
  [ -f "$sec/broker.pem" ] || { log "KAFKA_SECURITY_DIR=$sec has no broker.pem (key + certificate chain)"; exit 2; }
  read_users
  for k in "${!USER_NAMES[@]}"; do plain_users+=" user_${USER_NAMES[$k]}=\"${USER_PASSWORDS[$k]}\""; done
  sed -i \
    -e "s|^listeners=PLAINTEXT://\([^,]*\),|listeners=PLAINTEXT://\1,SECURE://$HOST:$(secure_port "$i"),|" \
    -e "s|^advertised.listeners=.*|&,SECURE://$HOST:$(secure_port "$i")|" \
    -e "s|^listener.security.protocol.map=.*|&,SECURE:SASL_SSL|" "$dir/server.properties"
  cat >> "$dir/server.properties" <<PROPS
sasl.enabled.mechanisms=SCRAM-SHA-512,PLAIN,OAUTHBEARER
listener.name.secure.ssl.keystore.type=PEM
listener.name.secure.ssl.keystore.location=$sec/broker.pem
listener.name.secure.ssl.client.auth=${KAFKA_SSL_CLIENT_AUTH:-none}
listener.name.secure.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.secure.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required$plain_users;
listener.name.secure.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;
PROPS
  if [ "${KAFKA_SSL_CLIENT_AUTH:-none}" != none ]; then
    printf 'listener.name.secure.ssl.truststore.type=PEM\nlistener.name.secure.ssl.truststore.location=%s\n' "$sec/ca.pem" >> "$dir/server.properties"
  fi
}

# Opt-in ACLs (KAFKA_AUTHORIZER=standard, only with KAFKA_SECURITY=sasl_ssl): KRaft's
# StandardAuthorizer, and whatever no ACL allows is denied (allow.everyone.if.no.acl.found=false).
# Super users, allowed everything without ACLs:
#   User:ANONYMOUS      the principal of every PLAINTEXT connection. The controller and inter-broker
#                       listeners are PLAINTEXT and the broker's own requests to them (registration,
#                       heartbeats, replication) must pass; the PLAINTEXT client port is the same
#                       principal, so it stays unrestricted: only the SASL_SSL listener enforces ACLs.
#   KAFKA_SUPER_USERS   names of the users file, comma-separated (e.g. the admin that creates topics
#                       and ACLs); default none.
authorizer_config() { # node-index
  local dir="$RUN/node$1" supers="User:ANONYMOUS" name names=()
  [ "$KAFKA_AUTHORIZER" = standard ] || { log "KAFKA_AUTHORIZER must be standard (or unset), not $KAFKA_AUTHORIZER"; exit 2; }
  # Without an authenticated listener every client is ANONYMOUS, a super user: ACLs would check nothing.
  [ -n "${KAFKA_SECURITY:-}" ] || { log "KAFKA_AUTHORIZER=standard needs KAFKA_SECURITY=sasl_ssl"; exit 2; }
  IFS=, read -ra names <<<"${KAFKA_SUPER_USERS:-}"
  for name in "${names[@]}"; do
    [ -z "$name" ] && continue
    # A typo would leave the admin without rights and every test failing far from the cause.
    [[ " ${USER_NAMES[*]} " == *" $name "* ]] || { log "KAFKA_SUPER_USERS: $name is not in $KAFKA_SECURITY_DIR/users"; exit 2; }
    supers+=";User:$name"
  done
  cat >> "$dir/server.properties" <<PROPS
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=$supers
allow.everyone.if.no.acl.found=false
PROPS
}

# `format` arguments creating the SCRAM-SHA-512 users (none without KAFKA_SECURITY).
scram_args() {
  SCRAM_ARGS=()
  [ -n "${KAFKA_SECURITY:-}" ] || return 0
  read_users
  local k
  for k in "${!USER_NAMES[@]}"; do
    SCRAM_ARGS+=(--add-scram "SCRAM-SHA-512=[name=${USER_NAMES[$k]},password=${USER_PASSWORDS[$k]}]")
  done
}

start_node() { # node-index
  local i=$1 dir="$RUN/node$1"
  if [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; then log "node $((i + 1)) already running"; return; fi
  LOG_DIR="$dir/logs" nohup java -Xms256m -Xmx${KAFKA_HEAP:-768m} -XX:+UseG1GC \
    -Dkafka.logs.dir="$dir/logs" -Dlog4j2.configurationFile="$HERE/log4j2.properties" \
    -cp "$LIBS/*" kafka.Kafka "$dir/server.properties" > "$dir/logs/stdout.log" 2>&1 &
  echo $! > "$dir/pid"
}

# Waits until the broker answers a metadata request (a real client round-trip, not just an open port).
wait_ready() { # node-count
  local n=$1 deadline=$((SECONDS + ${KAFKA_START_TIMEOUT:-120})) bootstrap="$HOST:$(client_port 0)" expect
  expect=$n
  while ((SECONDS < deadline)); do
    local out
    if out=$(java_run org.apache.kafka.tools.BrokerApiVersionsCommand --bootstrap-server "$bootstrap" 2>/dev/null); then
      local seen; seen=$(grep -c '(id: ' <<<"$out" || true)
      if ((seen >= expect)); then return 0; fi
    fi
    for ((j = 0; j < n; j++)); do
      local p="$RUN/node$j/pid"
      if [ -f "$p" ] && ! kill -0 "$(cat "$p")" 2>/dev/null; then
        log "node $((j + 1)) exited during start; last lines of its log:"; tail -n 30 "$RUN/node$j/logs/stdout.log" >&2; return 1
      fi
    done
    sleep 1
  done
  log "timed out waiting for metadata from $bootstrap"; return 1
}

up() {
  local n=1
  while [ $# -gt 0 ]; do case "$1" in --nodes) n=$2; shift 2 ;; *) log "unknown flag $1"; exit 2 ;; esac; done
  fetch
  local start=$SECONDS cluster_id
  if [ -f "$RUN/nodes" ] && [ "$(cat "$RUN/nodes")" != "$n" ]; then down; rm -rf "$RUN"; fi
  mkdir -p "$RUN"; echo "$n" > "$RUN/nodes"
  if [ ! -f "$RUN/cluster.id" ]; then java_run kafka.tools.StorageTool random-uuid > "$RUN/cluster.id"; fi
  cluster_id=$(cat "$RUN/cluster.id")
  for ((i = 0; i < n; i++)); do
    write_config "$i" "$n"
    if [ ! -f "$RUN/node$i/data/meta.properties" ]; then
      scram_args
      if ((n == 1)); then
        java_run kafka.tools.StorageTool format --standalone -t "$cluster_id" -c "$RUN/node$i/server.properties" "${SCRAM_ARGS[@]}" >/dev/null
      else
        java_run kafka.tools.StorageTool format -t "$cluster_id" -c "$RUN/node$i/server.properties" "${SCRAM_ARGS[@]}" >/dev/null
      fi
    fi
  done
  for ((i = 0; i < n; i++)); do start_node "$i"; done
  wait_ready "$n"
  local servers=""; for ((i = 0; i < n; i++)); do servers+="${servers:+,}$HOST:$(client_port $i)"; done
  echo "$servers" > "$RUN/bootstrap"
  log "up: $n node(s) at $servers in $((SECONDS - start))s (state in $RUN)"
  if [ -n "${KAFKA_SECURITY:-}" ]; then
    local secure=""; for ((i = 0; i < n; i++)); do secure+="${secure:+,}$HOST:$(secure_port $i)"; done
    echo "$secure" > "$RUN/bootstrap-secure"
    log "SASL_SSL listener(s) at $secure"
    if [ -n "${KAFKA_AUTHORIZER:-}" ]; then log "ACLs enforced there (StandardAuthorizer); super users: ${KAFKA_SUPER_USERS:-none}"; fi
  fi
  echo "$servers"
}

signal_node() { # node-index: SIGTERM without waiting (the broker then does a controlled shutdown)
  local p="$RUN/node$1/pid"
  [ -f "$p" ] && kill -TERM "$(cat "$p")" 2>/dev/null || true
}

await_node() { # node-index: wait for exit after signal_node, kill after 30 s
  local p="$RUN/node$1/pid" pid
  [ -f "$p" ] || return 0
  pid=$(cat "$p")
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then log "node $(($1 + 1)) did not stop in 30s; killing"; kill -KILL "$pid"; fi
  rm -f "$p"
}

stop_node() { signal_node "$1"; await_node "$1"; }

down() {
  [ -f "$RUN/nodes" ] || { log "not running ($RUN)"; return 0; }
  local n; n=$(cat "$RUN/nodes")
  # Every node is broker and controller: stopped one after another, the last one would have lost
  # its controller quorum (2 of 3) and could not finish its controlled shutdown. Signalled together,
  # the brokers shut down while all controllers are still up.
  for ((i = 0; i < n; i++)); do signal_node "$i"; done
  for ((i = 0; i < n; i++)); do await_node "$i"; done
  log "down"
  if [ "${1:-}" = "--purge" ]; then rm -rf "$RUN"; fi
}

status() {
  [ -f "$RUN/nodes" ] || { echo "not running"; return 1; }
  local n; n=$(cat "$RUN/nodes") ok=0
  for ((i = 0; i < n; i++)); do
    if [ -f "$RUN/node$i/pid" ] && kill -0 "$(cat "$RUN/node$i/pid")" 2>/dev/null; then echo "node $((i + 1)): up on $HOST:$(client_port $i)"; ok=1
    else echo "node $((i + 1)): down"; fi
  done
  [ $ok = 1 ]
}

cmd="${1:-}"; shift || true
case "$cmd" in
  fetch) fetch ;;
  up) up "$@" ;;
  down) down "$@" ;;
  status) status ;;
  stop-node) stop_node $(($1 - 1)) ;;
  start-node) start_node $(($1 - 1)) ;;
  bootstrap) cat "$RUN/bootstrap" ;;
  *) sed -n '2,12p' "$0"; exit 2 ;;
esac

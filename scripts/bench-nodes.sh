#!/usr/bin/env bash
# Webhook ingest on PostgreSQL with one node and with several: signed Messenger deliveries
# POSTed by `pronto-loadtest webhooks` round-robin over NODES `pronto serve` processes on one
# database (as a load balancer would spread them), closed loop, 1 message per POST; then the
# plain-INSERT ceiling of the same database. Each run starts on a fresh database.
#
#   scripts/bench-nodes.sh                    # 1 node, then 3
#   NODE_COUNTS="1 2 3" DURATION=20 scripts/bench-nodes.sh
#
# Settings (environment): NODE_COUNTS ("1 3"), DURATION (s, 20), CONNECTIONS (32),
# CUSTOMERS (1000), PG_URL (postgres://postgres@127.0.0.1:5432), PORT (first node's, 7321),
# GRAPH_PORT (7320), SKIP_BUILD=1, KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/webhooks-common.sh

NODE_COUNTS=${NODE_COUNTS:-1 3}
DURATION=${DURATION:-20}
CONNECTIONS=${CONNECTIONS:-32}
CUSTOMERS=${CUSTOMERS:-1000}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-7321}
GRAPH_PORT=${GRAPH_PORT:-7320}
TARGET=${CARGO_TARGET_DIR:-target}
PAGE_ID=100000000000001
PAGE_TOKEN=bench-page-token
APP_SECRET=0123456789abcdef0123456789abcdef
EMAIL=bench@example.com

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    cargo build --release --quiet -p pronto -p pronto-loadtest
fi
PRONTO=$TARGET/release/pronto
LOADTEST=$TARGET/release/pronto-loadtest
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-nodes.XXXXXX")
PIDS=()
PG_DB=
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2> /dev/null || true; wait "$pid" 2> /dev/null || true; done
    [ -n "$PG_DB" ] && psql "$PG_URL/postgres" -q -c "DROP DATABASE IF EXISTS $PG_DB" > /dev/null 2>&1 || true
    if [ "${KEEP:-0}" = 1 ]; then echo "== kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

"$LOADTEST" graph --listen "127.0.0.1:$GRAPH_PORT" --page "$PAGE_ID:$PAGE_TOKEN" > "$WORK/graph.log" 2>&1 &
PIDS+=($!)
export PRONTO_META_APP_SECRET=$APP_SECRET
export PRONTO_META_GRAPH_URL=http://127.0.0.1:$GRAPH_PORT
export PRONTO_DATA_DIR=$WORK
export RUST_LOG=${RUST_LOG:-warn}

for NODES in $NODE_COUNTS; do
    PG_DB=bench_nodes_$$_$NODES
    psql "$PG_URL/postgres" -q -c "CREATE DATABASE $PG_DB" > /dev/null
    export DATABASE_URL=$PG_URL/$PG_DB
    echo "bench-password" | "$PRONTO" user add "$EMAIL" --name Bench --admin --workspace Bench > /dev/null
    TOKEN=$("$PRONTO" token add "$EMAIL" --workspace Bench --label bench 2> /dev/null)
    URLS=
    NODE_PIDS=()
    for i in $(seq 1 "$NODES"); do
        port=$((PORT + i - 1))
        PRONTO_LISTEN=127.0.0.1:$port "$PRONTO" serve >> "$WORK/node-$NODES-$i.log" 2>&1 &
        NODE_PIDS+=($!)
        PIDS+=($!)
        if ! wait_for "http://127.0.0.1:$port/healthz" "$!"; then
            echo "bench-nodes: node $i did not start; its log:" >&2
            tail -20 "$WORK/node-$NODES-$i.log" >&2
            exit 1
        fi
        URLS=${URLS:+$URLS,}http://127.0.0.1:$port
    done
    BASE=http://127.0.0.1:$PORT
    create_messenger_inbox bench-nodes
    sleep 2
    echo "== PostgreSQL, $NODES node(s): closed loop, 1 message per POST, ${DURATION} s"
    "$LOADTEST" webhooks --url "$URLS" --secret "$APP_SECRET" --page-id "$PAGE_ID" \
        --connections "$CONNECTIONS" --customers "$CUSTOMERS" --duration "$DURATION" --per-post 1
    # How fast the nodes together take the journal into conversations: the backlog's drain.
    first=$(journal_depth); start=$(date +%s.%N); depth=$first
    while [ "${depth:-0}" != 0 ]; do sleep 0.5; depth=$(journal_depth); done
    echo "   journal: $first deliveries taken in by $NODES node(s) in $(echo "$(date +%s.%N) - $start" | bc -l | cut -c1-6) s"
    for pid in "${NODE_PIDS[@]}"; do kill "$pid" 2> /dev/null || true; wait "$pid" 2> /dev/null || true; done
    psql "$PG_URL/postgres" -q -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" > /dev/null
done
PG_DB=bench_nodes_$$_ceiling
psql "$PG_URL/postgres" -q -c "CREATE DATABASE $PG_DB" > /dev/null
echo "== PostgreSQL ceiling: plain INSERTs"
"$LOADTEST" ceiling --database-url "$PG_URL/$PG_DB" --rows 200000 --batch 100
"$LOADTEST" ceiling --database-url "$PG_URL/$PG_DB" --rows 20000 --batch 1

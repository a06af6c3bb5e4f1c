#!/usr/bin/env bash
# Benchmarks Pronto's Meta webhook ingest: signed Messenger deliveries POSTed to
# /webhooks/meta by `pronto-loadtest webhooks`, against a plain-INSERT ceiling of the same
# database (`pronto-loadtest ceiling`). Meta's Graph API is played by `pronto-loadtest graph`.
#
#   scripts/bench-webhooks.sh                       # SQLite, then PostgreSQL if it is reachable
#   DURATION=10 RATE=2000 scripts/bench-webhooks.sh
#   BACKENDS=sqlite scripts/bench-webhooks.sh
#   BACKENDS=postgres PG_URL=postgres://postgres@127.0.0.1:5432 scripts/bench-webhooks.sh
#
# Runs per backend, each on a fresh database and server:
#   closed   closed loop, 1 message per POST, as fast as the server answers (max rate)
#   batch    closed loop, BATCH messages per POST (Meta batches under load)
#   open     open loop at RATE messages/s, 1 per POST: latency percentiles at a steady rate,
#            and again at OPEN_SHARE % (50) of the closed loop's rate, which the server sustains
#   ceiling  plain multi-row INSERTs of message rows in transactions of CEILING_BATCH, and of 1
# Latency is per POST, from its send (open loop: its due time) to the 200.
#
# Settings (environment): DURATION (s, 30), RATE (5000), BATCH (10), CONNECTIONS (32),
# CUSTOMERS (1000), WARMUP (s, 3), SETTLE (s of pause before each run, 3),
# OPEN_SHARE (%, 50; 0 skips), CEILING_ROWS (200000), CEILING_BATCH (100),
# BACKENDS ("sqlite postgres"; postgres is skipped when unreachable unless asked for alone),
# PG_URL (postgres://postgres@127.0.0.1:5432; a scratch database is created and dropped),
# PORT (7311), GRAPH_PORT (7312), KEEP=1 keeps the work folder (logs, databases),
# CALIBRATE=0 skips the first rows (the generator against `pronto-loadtest sink`, which
# stores nothing: the generator's own limit on this machine).
# PRONTO and LOADTEST name other binaries (e.g. a baseline build); SKIP_BUILD=1 skips cargo.
# The machine is shared: the generator runs on one thread (--threads) beside the server.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/webhooks-common.sh

DURATION=${DURATION:-30}
RATE=${RATE:-5000}
BATCH=${BATCH:-10}
CONNECTIONS=${CONNECTIONS:-32}
CUSTOMERS=${CUSTOMERS:-1000}
WARMUP=${WARMUP:-3}
OPEN_SHARE=${OPEN_SHARE:-50}
SETTLE=${SETTLE:-3}
CEILING_ROWS=${CEILING_ROWS:-200000}
CEILING_BATCH=${CEILING_BATCH:-100}
BACKENDS=${BACKENDS:-sqlite postgres}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-7311}
GRAPH_PORT=${GRAPH_PORT:-7312}
TARGET=${CARGO_TARGET_DIR:-target}

PAGE_ID=100000000000001
PAGE_TOKEN=bench-page-token
APP_SECRET=0123456789abcdef0123456789abcdef
EMAIL=bench@example.com
WORKSPACE=Bench
PASSWORD=bench-password

for tool in curl jq; do
    command -v "$tool" > /dev/null || { echo "bench-webhooks: $tool is needed" >&2; exit 2; }
done

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    echo "== building (release)"
    cargo build --release --quiet -p pronto -p pronto-loadtest
fi
PRONTO=${PRONTO:-$TARGET/release/pronto}
LOADTEST=${LOADTEST:-$TARGET/release/pronto-loadtest}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-webhooks.XXXXXX")
GRAPH_PID=
SERVER_PID=
PG_DB=
cleanup() {
    local pid
    for pid in $SERVER_PID $GRAPH_PID; do
        kill "$pid" 2> /dev/null || true
        wait "$pid" 2> /dev/null || true
    done
    if [ -n "$PG_DB" ]; then
        psql "$PG_URL/postgres" -q -c "DROP DATABASE IF EXISTS $PG_DB" > /dev/null 2>&1 || true
    fi
    if [ "${KEEP:-0}" = 1 ]; then echo "== kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

echo "== Graph API stand-in on 127.0.0.1:$GRAPH_PORT"
"$LOADTEST" graph --listen "127.0.0.1:$GRAPH_PORT" --page "$PAGE_ID:$PAGE_TOKEN" \
    > "$WORK/graph.log" 2>&1 &
GRAPH_PID=$!

export PRONTO_LISTEN=127.0.0.1:$PORT
export PRONTO_META_APP_SECRET=$APP_SECRET
export PRONTO_META_GRAPH_URL=http://127.0.0.1:$GRAPH_PORT
export PRONTO_META_INSTAGRAM_GRAPH_URL=http://127.0.0.1:$GRAPH_PORT
export RUST_LOG=${RUST_LOG:-warn}
BASE=http://127.0.0.1:$PORT

# Starts `pronto serve` on $DATABASE_URL and $PRONTO_DATA_DIR; logs to $1.
start_server() {
    "$PRONTO" serve >> "$1" 2>&1 &
    SERVER_PID=$!
    if ! wait_for "$BASE/healthz" "$SERVER_PID"; then
        echo "bench-webhooks: the server did not start; its log:" >&2
        tail -20 "$1" >&2
        exit 1
    fi
}

stop_server() {
    kill "$SERVER_PID" 2> /dev/null || true
    wait "$SERVER_PID" 2> /dev/null || true
    SERVER_PID=
}

# Creates the admin, their API token and the Messenger inbox of the Page; sets TOKEN.
set_up() {
    echo "$PASSWORD" | "$PRONTO" user add "$EMAIL" --name Bench --admin --workspace "$WORKSPACE" > /dev/null
    TOKEN=$("$PRONTO" token add "$EMAIL" --workspace "$WORKSPACE" --label bench 2> /dev/null)
    start_server "$1"
    create_messenger_inbox bench-webhooks
}

# Runs the generator with "$@" and appends its JSON summary, labelled $1, to $RESULTS.
load() {
    local label=$1
    shift
    # A pause, so that each run starts on a quiet server (and disk).
    sleep "$SETTLE"
    echo "-- $BACKEND $label: $*"
    "$LOADTEST" webhooks --url "$BASE" --secret "$APP_SECRET" --page-id "$PAGE_ID" \
        --connections "$CONNECTIONS" --customers "$CUSTOMERS" --json "$@" > "$WORK/run.out" || true
    grep -v '^{' "$WORK/run.out" || true
    local line
    line=$(grep '^{' "$WORK/run.out" | tail -1)
    if [ -n "$line" ]; then
        echo "$line" | jq -c --arg b "$BACKEND" --arg l "$label" '. + {backend: $b, run: $l}' >> "$RESULTS"
    fi
}

ceiling() {
    local batch=$1 rows=$2
    echo "-- $BACKEND ceiling, transactions of $batch"
    local line
    line=$("$LOADTEST" ceiling --database-url "$CEILING_URL" --rows "$rows" --batch "$batch" --json | tail -1)
    echo "$line" | jq -c --arg b "$BACKEND" '. + {backend: $b}' >> "$CEILINGS"
}

RESULTS=$WORK/results.jsonl
CEILINGS=$WORK/ceilings.jsonl
: > "$RESULTS"
: > "$CEILINGS"

# The generator alone, against a sink that checks signatures and stores nothing: the figures
# below mean something only well under these.
if [ "${CALIBRATE:-1}" = 1 ]; then
    BACKEND=none
    "$LOADTEST" sink --listen "127.0.0.1:$PORT" --secret "$APP_SECRET" > /dev/null &
    SERVER_PID=$!
    wait_for "$BASE/" "$SERVER_PID"
    load sink-closed --duration 5 --per-post 1
    load "sink-open-$RATE" --duration 5 --per-post 1 --rate "$RATE"
    stop_server
fi

# Waits until the webhook journal's processor has taken in every delivery acknowledged so
# far (Pronto answers 200 once a delivery is journaled, and takes it in behind), and prints
# how fast it took the backlog in: the rate at which messages reach conversations and figures.
drained() {
    local depth start now first
    first=$(journal_depth)
    start=$(date +%s.%N)
    depth=$first
    while [ "${depth:-0}" != 0 ]; do
        sleep 0.5
        depth=$(journal_depth)
    done
    now=$(date +%s.%N)
    if [ "${first:-0}" != 0 ]; then
        echo "   journal $1: $first deliveries taken in over $(echo "$now - $start" | bc -l | cut -c1-6) s"
        echo "$first $(echo "$now - $start" | bc -l)" >> "$WORK/drain.txt"
    fi
}

for BACKEND in $BACKENDS; do
    mkdir -p "$WORK/$BACKEND"
    export PRONTO_DATA_DIR=$WORK/$BACKEND
    case $BACKEND in
        sqlite)
            export DATABASE_URL=sqlite://$WORK/$BACKEND/pronto.db
            CEILING_URL=sqlite://$WORK/$BACKEND/ceiling.db
            ;;
        postgres)
            if ! psql "$PG_URL/postgres" -q -c 'SELECT 1' > /dev/null 2>&1; then
                if [ "$BACKENDS" = postgres ]; then
                    echo "bench-webhooks: PostgreSQL is not reachable at $PG_URL" >&2
                    exit 1
                fi
                echo "== PostgreSQL not reachable at $PG_URL: skipped"
                continue
            fi
            PG_DB=pronto_bench_$$
            psql "$PG_URL/postgres" -q -c "CREATE DATABASE $PG_DB" > /dev/null
            export DATABASE_URL=$PG_URL/$PG_DB
            CEILING_URL=$DATABASE_URL
            ;;
        *) echo "bench-webhooks: unknown backend $BACKEND" >&2; exit 2 ;;
    esac
    echo "== $BACKEND: $DATABASE_URL"
    set_up "$WORK/$BACKEND/server.log"
    if [ "$WARMUP" -gt 0 ]; then
        "$LOADTEST" webhooks --url "$BASE" --secret "$APP_SECRET" --page-id "$PAGE_ID" \
            --connections "$CONNECTIONS" --customers "$CUSTOMERS" --duration "$WARMUP" > /dev/null || true
    fi
    drained "after the warm-up"
    # The open loop at RATE on a quiet server (a small database, no backlog), then the rest.
    load "open-$RATE-first" --duration "$DURATION" --per-post 1 --rate "$RATE"
    drained "after open-$RATE-first"
    load closed --duration "$DURATION" --per-post 1
    drained "after closed"
    load "batch-$BATCH" --duration "$DURATION" --per-post "$BATCH"
    drained "after batch-$BATCH"
    # RATE may be more than the server sustains (then its latencies only grow with time): also
    # an open loop at OPEN_SHARE % of the closed loop's maximum, a load it does sustain; first,
    # so that no backlog of the overload is left to slow it.
    if [ "$OPEN_SHARE" -gt 0 ]; then
        max=$(jq -r --arg b "$BACKEND" 'select(.backend == $b and .run == "closed") | .messages_per_second | floor' "$RESULTS")
        share=$(( ${max:-0} * OPEN_SHARE / 100 ))
        if [ "$share" -gt 0 ]; then
            load "open-$share" --duration "$DURATION" --per-post 1 --rate "$share"
            drained "after open-$share"
        fi
    fi
    load "open-$RATE" --duration "$DURATION" --per-post 1 --rate "$RATE"
    drained "after open-$RATE"
    stop_server
    # The ceiling runs alone, as the server did.
    ceiling "$CEILING_BATCH" "$CEILING_ROWS"
    ceiling 1 $((CEILING_ROWS / 20))
    if [ "$BACKEND" = postgres ]; then
        psql "$PG_URL/postgres" -q -c "DROP DATABASE IF EXISTS $PG_DB" > /dev/null
        PG_DB=
    fi
done

echo
echo "== webhooks (messages acknowledged per second; latency per POST, ms)"
{
    echo "backend run msg/s acked sent/due p50 p90 p99 p99.9 max not-200 errors"
    jq -r '[.backend, .run, (.messages_per_second | floor), .acked_messages,
            (if .due_posts then "\(.posts)/\(.due_posts)" else "-" end),
            .latency_ms.p50, .latency_ms.p90, .latency_ms.p99, .latency_ms["p99.9"], .latency_ms.max,
            ([.statuses[]] | add // 0), .transport_errors] | @tsv' "$RESULTS"
} | column -t
echo
echo "== ceiling (plain multi-row INSERTs of message rows)"
{
    echo "backend rows per-transaction rows/s"
    jq -r '[.backend, .rows, .batch, (.rows_per_second | floor)] | @tsv' "$CEILINGS"
} | column -t

#!/usr/bin/env bash
# Crash test of Pronto's Meta webhook ingest: under load, the server is killed with SIGKILL and
# restarted on the same database, and afterwards every message it acknowledged (answered 200)
# must be stored exactly once. The generator keeps sending through the outage: its POSTs fail
# meanwhile (not acknowledged, so no promise was made) and, like Meta, it sends them again
# (same body, same mids) once the server is back, which also checks that a message stored
# just before the kill, but never acknowledged, is not stored twice when it comes again.
#
#   scripts/crash-webhooks.sh                     # SQLite, 2 kills in 20 s at 3,000 messages/s
#   BACKEND=postgres scripts/crash-webhooks.sh
#   KILLS=5 DURATION=40 RATE=5000 PER_POST=10 scripts/crash-webhooks.sh
#
# Settings (environment): BACKEND (sqlite | postgres), DURATION (s, 20), RATE (3000; 0 = as
# fast as possible), PER_POST (1), CONNECTIONS (32), KILLS (2), FIRST_KILL (s, 4), BETWEEN
# (s between a restart and the next kill, 5), DOWN (s the server stays dead, 1), RETRIES (8),
# PG_URL (postgres://postgres@127.0.0.1:5432), PORT (7321), GRAPH_PORT (7322), KEEP=1.
# PRONTO and LOADTEST name other binaries (e.g. a baseline build); SKIP_BUILD=1 skips cargo.
# Exit status: 0 when every acknowledged message is stored exactly once, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/webhooks-common.sh

BACKEND=${BACKEND:-sqlite}
DURATION=${DURATION:-20}
RATE=${RATE:-3000}
PER_POST=${PER_POST:-1}
CONNECTIONS=${CONNECTIONS:-32}
KILLS=${KILLS:-2}
FIRST_KILL=${FIRST_KILL:-4}
BETWEEN=${BETWEEN:-5}
DOWN=${DOWN:-1}
RETRIES=${RETRIES:-8}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
PORT=${PORT:-7321}
GRAPH_PORT=${GRAPH_PORT:-7322}
TARGET=${CARGO_TARGET_DIR:-target}

PAGE_ID=100000000000001
PAGE_TOKEN=crash-page-token
APP_SECRET=0123456789abcdef0123456789abcdef
EMAIL=crash@example.com
WORKSPACE=Crash
PASSWORD=crash-password

command -v curl > /dev/null || { echo "crash-webhooks: curl is needed" >&2; exit 2; }

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    echo "== building (release)"
    cargo build --release --quiet -p pronto -p pronto-loadtest
fi
PRONTO=${PRONTO:-$TARGET/release/pronto}
LOADTEST=${LOADTEST:-$TARGET/release/pronto-loadtest}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/crash-webhooks.XXXXXX")
GRAPH_PID=
SERVER_PID=
LOAD_PID=
PG_DB=
cleanup() {
    local pid
    for pid in $LOAD_PID $SERVER_PID $GRAPH_PID; do
        kill "$pid" 2> /dev/null || true
        wait "$pid" 2> /dev/null || true
    done
    if [ -n "$PG_DB" ]; then
        psql "$PG_URL/postgres" -q -c "DROP DATABASE IF EXISTS $PG_DB" > /dev/null 2>&1 || true
    fi
    if [ "${KEEP:-0}" = 1 ]; then echo "== kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

"$LOADTEST" graph --listen "127.0.0.1:$GRAPH_PORT" --page "$PAGE_ID:$PAGE_TOKEN" \
    > "$WORK/graph.log" 2>&1 &
GRAPH_PID=$!

export PRONTO_LISTEN=127.0.0.1:$PORT
export PRONTO_DATA_DIR=$WORK/data
export PRONTO_META_APP_SECRET=$APP_SECRET
export PRONTO_META_GRAPH_URL=http://127.0.0.1:$GRAPH_PORT
export PRONTO_META_INSTAGRAM_GRAPH_URL=http://127.0.0.1:$GRAPH_PORT
export RUST_LOG=${RUST_LOG:-warn}
BASE=http://127.0.0.1:$PORT
LOG=$WORK/server.log
mkdir -p "$PRONTO_DATA_DIR"

case $BACKEND in
    sqlite) export DATABASE_URL=sqlite://$PRONTO_DATA_DIR/pronto.db ;;
    postgres)
        PG_DB=pronto_crash_$$
        psql "$PG_URL/postgres" -q -c "CREATE DATABASE $PG_DB" > /dev/null
        export DATABASE_URL=$PG_URL/$PG_DB
        ;;
    *) echo "crash-webhooks: BACKEND is sqlite or postgres" >&2; exit 2 ;;
esac

start_server() {
    echo "-- $(date +%T) starting the server" | tee -a "$LOG"
    "$PRONTO" serve >> "$LOG" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 300); do
        curl -s -o /dev/null "$BASE/healthz" && return 0
        kill -0 "$SERVER_PID" 2> /dev/null || break
        sleep 0.05
    done
    echo "crash-webhooks: the server did not start; its log:" >&2
    tail -20 "$LOG" >&2
    exit 1
}

echo "== $BACKEND: $DATABASE_URL"
echo "$PASSWORD" | "$PRONTO" user add "$EMAIL" --name Crash --admin --workspace "$WORKSPACE" > /dev/null
TOKEN=$("$PRONTO" token add "$EMAIL" --workspace "$WORKSPACE" --label crash 2> /dev/null)
start_server
create_messenger_inbox crash-webhooks

ACKED=$WORK/acked.txt
echo "== load: $RATE messages/s ($PER_POST per POST) for $DURATION s, $KILLS kills"
"$LOADTEST" webhooks --url "$BASE" --secret "$APP_SECRET" --page-id "$PAGE_ID" \
    --rate "$RATE" --per-post "$PER_POST" --connections "$CONNECTIONS" --duration "$DURATION" \
    --retries "$RETRIES" --timeout 5 --acked "$ACKED" > "$WORK/load.out" 2>&1 &
LOAD_PID=$!

sleep "$FIRST_KILL"
for kill in $(seq 1 "$KILLS"); do
    before=$(wc -l < "$ACKED" 2> /dev/null || echo 0)
    echo "-- $(date +%T) kill -9 #$kill ($before messages acknowledged so far)" | tee -a "$LOG"
    kill -9 "$SERVER_PID"
    wait "$SERVER_PID" 2> /dev/null || true
    sleep "$DOWN"
    start_server
    if [ "$kill" -lt "$KILLS" ]; then sleep "$BETWEEN"; fi
done

load_status=0
wait "$LOAD_PID" || load_status=$?
LOAD_PID=
cat "$WORK/load.out"
# Every delivery that got a 200 is in the webhook journal at least; wait until the processor
# has taken them all in, then a clean stop, so that the check reads a quiet database.
for _ in $(seq 1 600); do
    depth=$(journal_depth)
    [ "${depth:-1}" = "0" ] && break
    sleep 0.5
done
echo "webhook journal depth before the check: ${depth:-unknown}"
kill "$SERVER_PID"
wait "$SERVER_PID" 2> /dev/null || true
SERVER_PID=

echo "== checking every acknowledged message"
if [ "$load_status" -ne 0 ]; then
    echo "crash-webhooks: the generator failed (status $load_status)" >&2
    exit 1
fi
"$LOADTEST" count --database-url "$DATABASE_URL" --acked "$ACKED"

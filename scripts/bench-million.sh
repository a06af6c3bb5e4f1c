#!/usr/bin/env bash
# A node over a big workspace: seeds it if the database is empty (`pronto demo --conversations
# N --seed-only`, timed, with the loader's peak memory), then starts `pronto serve` three times
# (start-up until "listening", RSS, conversations the live badges hold), reads every view, the
# counts and the responsiveness (`pronto-loadtest reads`), loads the dashboard three times,
# and reports RSS after each.
#
#   scripts/bench-million.sh sqlite:///tmp/m1/pronto.db /tmp/m1
#   scripts/bench-million.sh postgres://postgres@127.0.0.1:5432/pronto_big /tmp/p1
#
# Settings (environment): CONVERSATIONS (1000000), DAYS (730), PORT (8700), SKIP_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
DB=$1
DIR=$2
CONVERSATIONS=${CONVERSATIONS:-1000000}
DAYS=${DAYS:-730}
PORT=${PORT:-8700}
BIN=target/release/pronto
[ "${SKIP_BUILD:-}" = 1 ] || cargo build --release -p pronto -p pronto-loadtest
mkdir -p "$DIR"
export DATABASE_URL="$DB" PRONTO_DATA_DIR="$DIR" PRONTO_LISTEN=127.0.0.1:$PORT PRONTO_LOG=warn
URL=http://127.0.0.1:$PORT

rss() { awk '/^VmRSS/ {print $2 " kB"}' "/proc/$1/status"; }
held() { curl -s "$URL/metrics" | awk '/^pronto_live_conversations/ {print $2}'; }

# Seeding does nothing on a database that holds something already.
/usr/bin/time -f "seeding: %e s, loader peak %M kB" \
  $BIN demo --conversations "$CONVERSATIONS" --days "$DAYS" --seed-only 2>&1 | grep -E "Seeded|seeding:" || true
TOKEN=$($BIN token add anna@demo.pronto --label "bench-$$" | grep -oE 'pronto_[A-Za-z0-9_-]+' | head -1)

LOG=$(mktemp)
for run in 1 2 3; do
  : > "$LOG"
  started=$(date +%s.%N)
  $BIN serve > "$LOG" 2>&1 &
  PID=$!
  until grep -q listening "$LOG"; do
    kill -0 $PID 2>/dev/null || { cat "$LOG"; exit 1; }
    sleep 0.02
  done
  ready=$(date +%s.%N)
  sleep 1
  echo "start $run: $(awk "BEGIN {printf \"%.2f\", $ready - $started}") s, RSS $(rss $PID), conversations held $(held)"
  [ $run = 3 ] || { kill -TERM $PID; wait $PID || true; }
done
target/release/pronto-loadtest reads --url "$URL" --token "$TOKEN" --inbox 1 --samples 200 --depth 100
echo "RSS after the reads: $(rss $PID)"
JAR=$(mktemp)
curl -s -c "$JAR" -H 'content-type: application/json' \
  -d '{"email":"anna@demo.pronto","password":"pronto-demo"}' "$URL/api/v1/session" > /dev/null
for _ in 1 2 3; do
  echo "dashboard: $(curl -s -o /dev/null -w '%{http_code} in %{time_total} s' -b "$JAR" "$URL/dashboard")"
done
echo "RSS after the dashboard: $(rss $PID), conversations held $(held)"
kill -TERM $PID; wait $PID || true
rm -f "$LOG" "$JAR"

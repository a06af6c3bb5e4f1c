#!/usr/bin/env bash
# Benchmarks `pronto badge --json` on a large generated log (10 million events by default) and
# checks its figures against the plain computation. See docs/benchmarks.md.
#
#   scripts/bench-badge.sh                 # 10M events, 1M conversations, 60 days, 5 runs
#   EVENTS=1000000 CONVERSATIONS=100000 RUNS=10 scripts/bench-badge.sh
#   PRONTO=/path/to/older/pronto scripts/bench-badge.sh   # time another build (a baseline)
#
# The log is generated once into bench-data/ (git-ignored) and kept. Timing uses hyperfine when
# it is installed (apt-get install hyperfine), else a loop with /usr/bin/time. Peak RSS is
# measured with /usr/bin/time -v. The check runs the exact reader (serde_json, the whole file
# in memory) and the plain evaluation, and compares every figure (not the forecast).
set -euo pipefail
cd "$(dirname "$0")/.."

EVENTS=${EVENTS:-10000000}
CONVERSATIONS=${CONVERSATIONS:-1000000}
DAYS=${DAYS:-60}
SEED=${SEED:-1}
RUNS=${RUNS:-5}
TARGET=${CARGO_TARGET_DIR:-target}
DATA=bench-data
LOG=$DATA/badge-$EVENTS-$CONVERSATIONS-$DAYS-$SEED.jsonl

echo "== building (release)"
cargo build --release --quiet -p pronto
cargo build --release --quiet -p pronto-badge --example generate_log --example verify_log
PRONTO=${PRONTO:-$TARGET/release/pronto}

mkdir -p "$DATA"
if [ ! -s "$LOG" ]; then
    echo "== generating $LOG"
    "$TARGET/release/examples/generate_log" --events "$EVENTS" --conversations "$CONVERSATIONS" \
        --days "$DAYS" --seed "$SEED" > "$LOG.partial"
    mv "$LOG.partial" "$LOG"
fi
BYTES=$(stat -L -c %s "$LOG")
LINES=$(wc -l < "$LOG")
echo "== $LOG: $BYTES bytes, $LINES lines"

echo "== warming the page cache"
cat "$LOG" > /dev/null
cat "$LOG" > /dev/null

echo "== timing $PRONTO badge $LOG --json ($RUNS runs)"
if command -v hyperfine > /dev/null; then
    hyperfine --warmup 1 --runs "$RUNS" --style basic \
        --export-json "$DATA/bench-badge.hyperfine.json" \
        "$PRONTO badge $LOG --json"
    MEDIAN=$(jq -r '.results[0].median' "$DATA/bench-badge.hyperfine.json")
else
    TIMES=()
    for _ in $(seq "$RUNS"); do
        /usr/bin/time -f "%e" -o "$DATA/bench-badge.time" "$PRONTO" badge "$LOG" --json > /dev/null
        TIMES+=("$(cat "$DATA/bench-badge.time")")
        echo "  ${TIMES[-1]} s"
    done
    MEDIAN=$(printf '%s\n' "${TIMES[@]}" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}')
fi

echo "== peak memory"
/usr/bin/time -v "$PRONTO" badge "$LOG" --json > "$DATA/bench-badge.json" 2> "$DATA/bench-badge.time-v"
RSS_KB=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$DATA/bench-badge.time-v")
grep -E "Elapsed|Maximum resident|User time|System time" "$DATA/bench-badge.time-v" | sed 's/^\s*/  /'

echo "== checking the figures against the plain computation (parse_log + evaluate)"
"$TARGET/release/examples/verify_log" "$LOG" --compare "$DATA/bench-badge.json" > /dev/null

awk -v median="$MEDIAN" -v bytes="$BYTES" -v lines="$LINES" -v rss="$RSS_KB" 'BEGIN {
    printf "== median wall time %.3f s, peak RSS %.0f MiB, %.0f MB/s, %.2f million lines/s\n",
        median, rss / 1024, bytes / median / 1e6, lines / median / 1e6
}'

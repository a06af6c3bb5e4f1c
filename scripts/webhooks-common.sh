# Shared by bench-webhooks.sh, bench-nodes.sh and crash-webhooks.sh (sourced, not run): the
# Messenger inbox they load, the webhook journal's depth, waiting for a server. Expects BASE,
# TOKEN, WORK, PAGE_ID, PAGE_TOKEN.

# Creates the Messenger inbox of the Page through the API; $1 names the calling script.
create_messenger_inbox() {
    local status
    status=$(curl -s -o "$WORK/inbox.json" -w '%{http_code}' -X POST "$BASE/api/v1/inboxes" \
        -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
        -d "{\"name\":\"Messenger\",\"channel\":\"messenger\",\"messenger\":{\"page_id\":\"$PAGE_ID\",\"page_access_token\":\"$PAGE_TOKEN\"}}")
    case $status in
        2*) ;;
        *) echo "$1: creating the inbox answered $status: $(cat "$WORK/inbox.json")" >&2; exit 1 ;;
    esac
}

# Webhook deliveries acknowledged and not yet taken in (empty if /metrics does not answer).
journal_depth() {
    curl -fsS "$BASE/metrics" | awk '/^pronto_webhook_journal_depth /{print $2}'
}

# Waits until $1 answers (any HTTP status) or the process $2 exits.
wait_for() {
    for _ in $(seq 1 200); do
        curl -s -o /dev/null "$1" && return 0
        kill -0 "$2" 2> /dev/null || return 1
        sleep 0.1
    done
    return 1
}

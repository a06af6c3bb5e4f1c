# Shared by bench-webhooks.sh and crash-webhooks.sh (sourced, not run): the Messenger inbox
# they load, and the webhook journal's depth. Expects BASE, TOKEN, WORK, PAGE_ID, PAGE_TOKEN.

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

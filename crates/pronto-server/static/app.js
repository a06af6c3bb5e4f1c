// Pronto's agents' web app: one hand-written ES module, no build step.
// Live updates over SSE (/api/v1/events, the browser resends Last-Event-ID on reconnecting),
// countdowns, keyboard shortcuts and the actions, which call the JSON API with the CSRF token.

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];
const body = document.body;
const t = (key) => body.dataset[key] || key;
const csrf = () => $('meta[name="csrf-token"]')?.content || '';

// The time zone, for the server's rendering: minutes east of UTC.
{
  const tz = String(-new Date().getTimezoneOffset());
  if (!document.cookie.split('; ').includes(`pronto_tz=${tz}`)) {
    document.cookie = `pronto_tz=${tz}; Path=/; Max-Age=31536000; SameSite=Lax`;
    if ($('meta[name="tz"]') && $('meta[name="tz"]').content !== tz) location.reload();
  }
}

// The server's clock vs ours, so countdowns agree with the server's "now".
const skew = Number(body.dataset.now || Date.now()) - Date.now();
const now = () => Date.now() + skew;

function toast(text) {
  const el = $('#toast');
  if (!el) return;
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 6000);
}

async function api(method, path, payload) {
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf(), Accept: 'application/json' },
    body: payload === undefined ? undefined : JSON.stringify(payload),
  });
  let data = null;
  try { data = await response.json(); } catch { /* 204 */ }
  if (!response.ok) {
    const error = new Error(data?.error?.message || response.statusText);
    error.code = data?.error?.code;
    error.status = response.status;
    throw error;
  }
  return data;
}

// Countdowns: "answer within 4:12" (amber under 5 min, red when over), "window closes in 3 h".
function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const [h, min, d] = [t('tUnitH'), t('tUnitMin'), t('tUnitD')];
  if (s < 3600) return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  if (s < 24 * 3600 && Math.floor(s / 60) % 60 !== 0) return `${Math.floor(s / 3600)} ${h} ${Math.floor(s / 60) % 60} ${min}`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)} ${h}`;
  return `${Math.floor(s / 86400)} ${d}`;
}

function tick() {
  const n = now();
  for (const el of $$('[data-countdown]')) {
    const at = Number(el.dataset.at);
    const left = at - n;
    let text; let cls;
    if (el.dataset.countdown === 'answer') {
      if (left >= 0) { text = `${t('tAnswerWithin')} ${duration(left)}`; cls = left < 5 * 60000 ? 'amber' : 'ok'; }
      else { text = `${t('tOverBy')} ${duration(-left)}`; cls = 'red'; }
    } else if (left > 0) { text = `${t('tWindowClosesIn')} ${duration(left)}`; cls = left < 3600000 ? 'amber' : 'calm'; }
    else { text = t('tWindowClosed'); cls = 'red'; }
    if (el.textContent !== text) el.textContent = text;
    el.classList.remove('ok', 'amber', 'red', 'calm');
    el.classList.add(cls);
  }
  for (const el of $$('[data-away-ends]')) {
    const left = Number(el.dataset.awayEnds) - n;
    if (left > 0 && el.textContent.startsWith(t('tAwayResetsIn'))) el.textContent = `${t('tAwayResetsIn')} ${duration(left)}`;
  }
}
setInterval(tick, 1000);
tick();

// Live: refresh the page's live regions from the server when something changes. A region is
// replaced only when the server's rendering of it changed (countdown texts aside, which tick
// here), so focus and selection survive refreshes that change nothing.
const signature = (html) => html
  .replace(/class="countdown [a-z]+"/g, '')
  .replace(/(data-countdown="[^"]*"[^>]*>)[^<]*/g, '$1')
  .replace(/(data-away-ends="[^"]*"[^>]*>)[^<]*/g, '$1');
const served = new Map($$('[data-live]').map((region) => [region.dataset.live, signature(region.innerHTML)]));
// What the live machinery did, for the end-to-end tests to look at.
window.prontoLive = { events: 0, refreshes: 0, replaced: 0, errors: 0 };
let refreshing = false;
let again = false;
async function refresh() {
  if (refreshing) { again = true; return; }
  refreshing = true;
  try {
    window.prontoLive.refreshes += 1;
    const response = await fetch(location.href, { credentials: 'same-origin', headers: { Accept: 'text/html' } });
    window.prontoLive.last = `${response.status} ${response.redirected} ${response.url}`;
    if (response.ok && !response.redirected) {
      const doc = new DOMParser().parseFromString(await response.text(), 'text/html');
      for (const region of $$('[data-live]')) {
        const fresh = doc.querySelector(`[data-live="${region.dataset.live}"]`);
        const seen = fresh && signature(fresh.innerHTML);
        if (fresh && seen !== served.get(region.dataset.live)) {
          served.set(region.dataset.live, seen);
          window.prontoLive.replaced += 1;
          const focusedId = document.activeElement?.closest('[data-id]')?.dataset.id;
          region.innerHTML = fresh.innerHTML;
          if (focusedId) $(`[data-id="${focusedId}"] a`, region)?.focus();
        }
      }
      for (const count of $$('[data-count]')) {
        const fresh = doc.querySelector(`[data-count="${count.dataset.count}"]`);
        if (fresh) count.textContent = fresh.textContent;
      }
      body.dataset.now = doc.body.dataset.now;
      tick();
    }
  } catch { window.prontoLive.errors += 1; /* the next event retries */ }
  refreshing = false;
  if (again) { again = false; setTimeout(refresh, 200); }
}
let pending = null;
// The dashboard recomputes figures and charts: it redraws at most every 5 s, whatever happens.
const onDashboard = Boolean($('[data-live="dashboard"]'));
function soon(event) {
  window.prontoLive.events += 1;
  (window.prontoLive.kinds ||= []).push(event?.type || 'call');
  if (onDashboard) {
    if (!pending) pending = setTimeout(() => { pending = null; refresh(); }, 5000);
    return;
  }
  clearTimeout(pending);
  pending = setTimeout(refresh, 250);
}

function live() {
  if (!$('[data-live]') || !window.EventSource) return;
  const source = new EventSource('/api/v1/events');
  // Browsers keep at most 6 connections to a site over HTTP/1.1: a page left behind (and kept
  // in the back/forward cache) must not hold its stream, or the next page's requests wait.
  addEventListener('pagehide', () => source.close(), { once: true });
  addEventListener('pageshow', (event) => { if (event.persisted) location.reload(); });
  const state = $('#live-state');
  source.addEventListener('ready', () => {
    if (state) state.textContent = '';
    document.documentElement.dataset.liveReady = 'true';
    // After a reconnect the browser sent Last-Event-ID and the server replays what we missed;
    // on the first connection, what changed between the page's rendering and now is caught
    // by one refresh too.
    soon({ type: "ready" });
  });
  source.onerror = () => { if (state) state.textContent = t('tReconnecting'); };
  const conversation = $('[data-conversation]')?.dataset.conversation;
  for (const kind of ['message_created', 'message_updated', 'conversation_updated']) {
    source.addEventListener(kind, (event) => {
      try {
        const data = JSON.parse(event.data);
        if (conversation && String(data.conversation) !== conversation) {
          // Another conversation: nothing on this page changes.
          return;
        }
      } catch { /* refresh anyway */ }
      soon(event);
    });
  }
  for (const kind of ['availability_changed', 'inbox_changed']) source.addEventListener(kind, soon);
  // Figures move with every event and as time passes: only the dashboard shows them.
  source.addEventListener('figures', (event) => { if (onDashboard) soon(event); });
}
live();

// Actions.
const onConversation = () => Boolean($('[data-conversation]'));
const conversationId = () => $('[data-conversation]')?.dataset.conversation || document.activeElement?.closest('[data-id]')?.dataset.id;

async function setStatus(status) {
  const id = conversationId();
  if (!id) return;
  try {
    await api('POST', `/api/v1/conversations/${id}/status`, { status });
    if (status === 'open' || !onConversation()) await refresh();
    else location.href = '/inbox';
  } catch (e) { toast(`${t('tError')} ${e.message}`); }
}

async function assign(assignee) {
  const id = conversationId();
  if (!id) return;
  try { await api('POST', `/api/v1/conversations/${id}/assign`, { assignee }); await refresh(); }
  catch (e) { toast(`${t('tError')} ${e.message}`); }
}

document.addEventListener('click', async (event) => {
  const target = event.target.closest('button, [data-help]');
  if (!target) return;
  if (target.dataset.statusTo) setStatus(target.dataset.statusTo);
  else if (target.hasAttribute('data-assign-me')) assign('me');
  else if (target.hasAttribute('data-help')) $('#help')?.showModal();
  else if (target.dataset.availability) {
    try {
      await api('POST', `/api/v1/inboxes/${target.dataset.availability}/availability`, { status: target.dataset.status });
      await refresh();
    } catch (e) { toast(`${t('tError')} ${e.message}`); }
  }
});

document.addEventListener('change', async (event) => {
  const el = event.target;
  if (el.matches('[data-assign]')) assign(el.value ? Number(el.value) : null);
  else if (el.matches('[data-autosubmit]')) el.form.submit();
  else if (el.matches('[data-template]') && el.value) {
    const box = $('#reply');
    const at = box.selectionStart ?? box.value.length;
    box.value = box.value.slice(0, at) + el.value + box.value.slice(at);
    el.value = '';
    box.focus();
  } else if (el.matches('[data-role-for]')) {
    try { await api('PATCH', `/api/v1/users/${el.dataset.roleFor}`, { role: el.value }); toast('✓'); }
    catch (e) { toast(`${t('tError')} ${e.message}`); location.reload(); }
  } else if (el.matches('[data-channel-select]')) {
    const fields = $('[data-messenger-fields]');
    if (fields) fields.hidden = el.value !== 'messenger';
  }
});

for (const here of $$('[data-here]')) here.value = location.pathname + location.search;

// The composer: Enter sends, Shift+Enter is a new line; a 422 window_closed is said plainly.
const composer = $('[data-composer]');
if (composer) {
  const box = $('#reply', composer);
  const error = $('[data-composer-error]', composer);
  const send = async () => {
    const text = box.value.trim();
    if (!text) return;
    error.hidden = true;
    box.disabled = true;
    try {
      await api('POST', `/api/v1/conversations/${conversationId()}/messages`, { text });
      box.value = '';
      await refresh();
    } catch (e) {
      // One message, not the banner and the error both.
      if (e.code === 'window_closed') $('.alert', composer)?.remove();
      error.textContent = e.code === 'window_closed' ? t('tWindowClosedError') : `${t('tError')} ${e.message}`;
      error.hidden = false;
    } finally {
      box.disabled = false;
      box.focus();
    }
  };
  composer.addEventListener('submit', (event) => { event.preventDefault(); send(); });
  box.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) { event.preventDefault(); send(); }
    if (event.key === 'Escape') box.blur();
  });
}

// Settings forms posted as JSON to the API (Meta's refusals shown as it words them).
for (const form of $$('form[data-api]')) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    let payload = data;
    if (form.dataset.kind === 'inbox') {
      payload = { name: data.name, channel: data.channel };
      if (data.channel === 'messenger') payload.messenger = { page_id: data.page_id, page_access_token: data.page_access_token };
    } else if (form.dataset.kind === 'user') {
      payload = { email: data.email, role: data.role };
      if (data.name) payload.name = data.name;
      if (data.password) payload.password = data.password;
    }
    const error = $('.form-error', form);
    try {
      await api(form.dataset.method || 'POST', form.dataset.api, payload);
      location.reload();
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
    }
  });
}

// Keyboard: j/k move, Enter opens, r reply, e Done, ! Spam, a assign to me, ? the keys.
document.addEventListener('keydown', (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const el = event.target;
  if (el.closest('input, textarea, select, [contenteditable]')) return;
  if ($('#help')?.open) return;
  const rows = $$('[data-rows] .row-link');
  const index = rows.indexOf(document.activeElement);
  switch (event.key) {
    case 'j': case 'k': {
      if (!rows.length) return;
      const next = index < 0 ? 0 : Math.min(rows.length - 1, Math.max(0, index + (event.key === 'j' ? 1 : -1)));
      rows[next].focus();
      rows[next].scrollIntoView({ block: 'nearest' });
      break;
    }
    case 'r': if (composer) { event.preventDefault(); $('#reply').focus(); } break;
    case 'e': setStatus('done'); break;
    case '!': setStatus('spam'); break;
    case 'a': assign('me'); break;
    case '?': $('#help')?.showModal(); break;
    case 'Escape': if (composer) location.href = '/inbox'; break;
    default: return;
  }
});

// Sign-in: after a refusal the page comes back empty; give back the email (and where the
// agent was going), kept for this tab only.
const login = $('form[action="/login"]');
if (login) {
  const email = $('input[name=email]', login);
  const next = $('input[name=next]', login);
  if ($('.alert') && !email.value) {
    email.value = sessionStorage.getItem('pronto_email') || '';
    if (next && next.value === '/inbox') next.value = sessionStorage.getItem('pronto_next') || '/inbox';
    if (email.value) $('input[name=password]', login).focus();
  }
  login.addEventListener('submit', () => {
    sessionStorage.setItem('pronto_email', email.value);
    if (next) sessionStorage.setItem('pronto_next', next.value);
  });
}

// Focus the first row on the inbox, so j/k/Enter work at once.
if (!location.hash) $('[data-rows] .row-link')?.focus({ preventScroll: true });

//! The sign-in page, the inbox, a conversation, the language switch.

use super::i18n::{LANG_COOKIE, Lang, Tr};
use super::{Agent, Layout, clock_duration, html, local_time};
use crate::app::App;
use crate::error::{AppError, AppResult};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use pronto_badge::{Author, Millis, Status};
use pronto_core::store::{
    ConversationCounts, ConversationOrder, ConversationQuery, ConversationSummary, Store,
};
use pronto_core::{ChannelKind, ConversationId, Delivery, Inbox, InboxId, UserId};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;

/// Rows per page of the inbox.
pub const PAGE_ROWS: u32 = 50;

// Sign in.

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    t: Tr,
    css: &'a str,
    js: &'a str,
    error: Option<&'static str>,
    next: String,
    other_lang: &'static str,
    other_lang_name: &'static str,
}

/// The sign-in page: a plain message for a wrong password and for a locked-out account.
pub fn login_page(headers: &HeaderMap, error: Option<&str>, next: Option<&str>) -> Response {
    let t = Tr {
        lang: Lang::from_headers(headers),
    };
    let error = match error {
        Some("rate_limited") => Some("locked_out"),
        Some(_) => Some("wrong_password"),
        None => None,
    };
    let (other_lang, other_lang_name) = match t.lang {
        Lang::En => ("ru", "Русский"),
        Lang::Ru => ("en", "English"),
    };
    html(
        LoginPage {
            t,
            css: &super::assets().css_url,
            js: &super::assets().js_url,
            error,
            next: next.unwrap_or("/inbox").to_owned(),
            other_lang,
            other_lang_name,
        }
        .render(),
    )
}

#[derive(Deserialize)]
pub struct LanguageForm {
    lang: String,
    next: Option<String>,
}

/// Stores the agent's language in a cookie (a year), then goes back.
pub async fn language<S: Store>(
    State(_app): State<Arc<App<S>>>,
    Form(form): Form<LanguageForm>,
) -> Response {
    let lang = Lang::parse(&form.lang).unwrap_or(Lang::En);
    let next = match form.next.as_deref() {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p,
        _ => "/inbox",
    };
    (
        [(
            header::SET_COOKIE,
            format!(
                "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
                lang.code()
            ),
        )],
        Redirect::to(next),
    )
        .into_response()
}

// The inbox.

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum View {
    Unanswered,
    Mine,
    Unassigned,
    Open,
    Done,
    Spam,
}

impl View {
    const ALL: [View; 6] = [
        View::Unanswered,
        View::Mine,
        View::Unassigned,
        View::Open,
        View::Done,
        View::Spam,
    ];

    fn key(self) -> &'static str {
        match self {
            View::Unanswered => "unanswered",
            View::Mine => "mine",
            View::Unassigned => "unassigned",
            View::Open => "open",
            View::Done => "done",
            View::Spam => "spam",
        }
    }

    fn parse(key: Option<&str>) -> View {
        View::ALL
            .into_iter()
            .find(|v| Some(v.key()) == key)
            .unwrap_or(View::Unanswered)
    }

    fn count(self, counts: &ConversationCounts) -> u64 {
        match self {
            View::Unanswered => counts.unanswered,
            View::Mine => counts.mine,
            View::Unassigned => counts.unassigned,
            View::Open => counts.open,
            View::Done => counts.done,
            View::Spam => counts.spam,
        }
    }

    fn query(self, me: UserId) -> ConversationQuery {
        let mut query = ConversationQuery {
            inbox: None,
            status: Some(Status::Open),
            assignee: None,
            waiting: false,
            order: ConversationOrder::Urgency,
            cursor: None,
            limit: PAGE_ROWS,
        };
        match self {
            View::Unanswered => query.waiting = true,
            View::Mine => query.assignee = Some(Some(me)),
            View::Unassigned => query.assignee = Some(None),
            View::Open => {}
            View::Done => {
                query.status = Some(Status::Done);
                query.order = ConversationOrder::Activity;
            }
            View::Spam => {
                query.status = Some(Status::Spam);
                query.order = ConversationOrder::Activity;
            }
        }
        query
    }
}

#[derive(Deserialize)]
pub struct InboxQuery {
    view: Option<String>,
    inbox: Option<String>,
    cursor: Option<String>,
}

pub struct ViewTab {
    pub key: &'static str,
    pub label: &'static str,
    pub count: String,
    pub active: bool,
    pub href: String,
}

pub struct Row {
    pub id: i64,
    pub href: String,
    pub channel: &'static str,
    pub channel_label: &'static str,
    pub inbox: String,
    pub contact: String,
    pub initial: String,
    pub preview: String,
    pub assignee: Option<String>,
    pub when: String,
    /// The countdown: (deadline ms, initial text, css class).
    pub answer_by: Option<Countdown>,
    /// Meta's reply window: (closes at ms, initial text).
    pub window: Option<Countdown>,
    pub waiting_follow_up: bool,
}

pub struct InboxOption {
    /// An inbox's id, or a channel's name (its every inbox).
    pub id: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    layout: Layout,
    tabs: Vec<ViewTab>,
    inboxes: Vec<InboxOption>,
    view: &'static str,
    inbox_filter: String,
    rows: Vec<Row>,
    next: Option<String>,
    paged: bool,
    availability: Vec<super::dashboard::AvailabilityRow>,
}

pub fn channel_label(kind: ChannelKind) -> &'static str {
    match kind {
        ChannelKind::Playground => "Playground",
        ChannelKind::Messenger => "Messenger",
        ChannelKind::Instagram => "Instagram",
        ChannelKind::Email => "Email",
        ChannelKind::Webchat => "Web chat",
        ChannelKind::Api => "API",
    }
}

pub fn channel_key(kind: ChannelKind) -> &'static str {
    match kind {
        ChannelKind::Playground => "playground",
        ChannelKind::Messenger => "messenger",
        ChannelKind::Instagram => "instagram",
        ChannelKind::Email => "email",
        ChannelKind::Webchat => "webchat",
        ChannelKind::Api => "api",
    }
}

fn has_meta_window(kind: ChannelKind) -> bool {
    matches!(kind, ChannelKind::Messenger | ChannelKind::Instagram)
}

/// A live countdown: app.js ticks it from `at` (ms since the epoch).
pub struct Countdown {
    pub at: Millis,
    pub text: String,
    pub class: &'static str,
    /// `answer` (to the response-time target) or `window` (Meta's reply window).
    pub kind: &'static str,
}

/// The answer countdown: time left to the target, amber under 5 minutes, red when over.
pub fn answer_countdown(tr: Tr, deadline: Millis, now: Millis) -> Countdown {
    let left = deadline - now;
    if left >= 0 {
        let class = if left < 5 * 60_000 { "amber" } else { "ok" };
        Countdown {
            at: deadline,
            text: format!("{} {}", tr.s("answer_within"), clock_duration(left, tr)),
            class,
            kind: "answer",
        }
    } else {
        Countdown {
            at: deadline,
            text: format!("{} {}", tr.s("over_by"), clock_duration(-left, tr)),
            class: "red",
            kind: "answer",
        }
    }
}

pub fn window_countdown(tr: Tr, closes: Millis, now: Millis) -> Countdown {
    let left = closes - now;
    if left > 0 {
        let class = if left < 3_600_000 { "amber" } else { "calm" };
        Countdown {
            at: closes,
            text: format!("{} {}", tr.s("window_closes_in"), clock_duration(left, tr)),
            class,
            kind: "window",
        }
    } else {
        Countdown {
            at: closes,
            text: tr.s("window_closed").to_owned(),
            class: "red",
            kind: "window",
        }
    }
}

fn initial(name: &str) -> String {
    name.chars()
        .find(|c| c.is_alphanumeric())
        .map_or_else(|| "?".to_owned(), |c| c.to_uppercase().collect())
}

fn member_names(members: &[pronto_core::Member]) -> HashMap<UserId, String> {
    members
        .iter()
        .map(|m| {
            let name = if m.user.name.trim().is_empty() {
                m.user.email.clone()
            } else {
                m.user.name.clone()
            };
            (m.user.id, name)
        })
        .collect()
}

pub async fn inbox<S: Store>(
    State(app): State<Arc<App<S>>>,
    agent: Agent,
    Query(query): Query<InboxQuery>,
) -> super::WebResult<Response> {
    let ws = agent.caller.workspace;
    let now = app.now();
    let tr = agent.tr;
    let view = View::parse(query.view.as_deref());
    // The filter: an inbox (its id) or a channel (its name).
    let filter = query.inbox.as_deref().unwrap_or("").trim();
    let store = &app.store;
    let inboxes = store.inboxes(ws).await?;
    let (selected, channel_filter): (Vec<InboxId>, Option<ChannelKind>) = if filter.is_empty() {
        (Vec::new(), None)
    } else if let Ok(id) = filter.parse::<i64>() {
        if !inboxes.iter().any(|i| i.id.0 == id) {
            return Err(AppError::not_found("inbox").into());
        }
        (vec![InboxId(id)], None)
    } else {
        let kind: ChannelKind = filter.parse().map_err(|_| AppError::not_found("channel"))?;
        let ids = inboxes
            .iter()
            .filter(|i| i.channel == kind)
            .map(|i| i.id)
            .collect();
        (ids, Some(kind))
    };
    let mut list = view.query(agent.caller.user);
    list.cursor = query.cursor.clone().filter(|c| !c.is_empty());
    let me = agent.caller.user;
    let (members, counts, (items, next_cursor)) = match selected.as_slice() {
        [] if channel_filter.is_some() => (
            store.members(ws).await?,
            ConversationCounts::default(),
            (Vec::new(), None),
        ),
        [] | [_] => {
            list.inbox = selected.first().copied();
            let (members, counts, page) = tokio::try_join!(
                store.members(ws),
                store.conversation_counts(ws, list.inbox, me),
                store.conversations(ws, &list),
            )?;
            (members, counts, (page.items, page.next))
        }
        several => {
            let mut counts = ConversationCounts::default();
            for inbox in several {
                let c = store.conversation_counts(ws, Some(*inbox), me).await?;
                counts.unanswered += c.unanswered;
                counts.mine += c.mine;
                counts.unassigned += c.unassigned;
                counts.open += c.open;
                counts.done += c.done;
                counts.spam += c.spam;
            }
            let merged = merged_page(store, ws, &list, several).await?;
            (store.members(ws).await?, counts, merged)
        }
    };
    let inbox_filter = (!filter.is_empty()).then(|| filter.to_owned());
    let names = member_names(&members);
    let inbox_names: HashMap<InboxId, &Inbox> = inboxes.iter().map(|i| (i.id, i)).collect();
    let max_time = app.rules().max_response_time;
    let rows = items
        .iter()
        .map(|summary| {
            let c = &summary.conversation;
            let open = c.status == Status::Open;
            let answer_by = c
                .urgency
                .waiting_since
                .filter(|_| open)
                .map(|since| answer_countdown(tr, since + max_time, now));
            let window = c
                .urgency
                .reply_window_closes_at
                .filter(|_| {
                    open && has_meta_window(summary.channel) && c.urgency.unanswered_since.is_some()
                })
                .map(|closes| window_countdown(tr, closes, now));
            Row {
                id: c.id.0,
                href: format!("/conversations/{}", c.id.0),
                channel: channel_key(summary.channel),
                channel_label: channel_label(summary.channel),
                inbox: inbox_names
                    .get(&c.inbox)
                    .map_or_else(String::new, |i| i.name.clone()),
                contact: summary.contact_name.clone(),
                initial: initial(&summary.contact_name),
                preview: c.preview.clone(),
                assignee: c.assignee.and_then(|u| names.get(&u).cloned()),
                when: local_time(c.last_activity_at, now, agent.tz, tr.lang),
                answer_by,
                waiting_follow_up: open
                    && c.urgency.waiting_since.is_none()
                    && c.urgency.unanswered_since.is_some(),
                window,
            }
        })
        .collect();
    let filter_param = inbox_filter
        .as_deref()
        .map_or_else(String::new, |f| format!("&inbox={}", super::url_encode(f)));
    let tabs = View::ALL
        .into_iter()
        .map(|v| ViewTab {
            key: v.key(),
            label: tr.s(&format!("view_{}", v.key())),
            count: v.count(&counts).to_string(),
            active: v == view,
            href: format!("/inbox?view={}{filter_param}", v.key()),
        })
        .collect();
    let mut options: Vec<InboxOption> = Vec::new();
    let mut kinds: Vec<ChannelKind> = inboxes.iter().map(|i| i.channel).collect();
    kinds.sort_by_key(|k| channel_key(*k));
    kinds.dedup();
    for kind in kinds {
        let of_kind: Vec<&Inbox> = inboxes.iter().filter(|i| i.channel == kind).collect();
        if of_kind.len() > 1 {
            options.push(InboxOption {
                id: channel_key(kind).to_owned(),
                label: format!("{} · {}", tr.s("all_of_channel"), channel_label(kind)),
                selected: channel_filter == Some(kind),
            });
        }
        for i in of_kind {
            options.push(InboxOption {
                id: i.id.0.to_string(),
                label: format!("{} · {}", i.name, channel_label(i.channel)),
                selected: filter == i.id.0.to_string(),
            });
        }
    }
    let next = next_cursor.map(|cursor| {
        format!(
            "/inbox?view={}{filter_param}&cursor={}",
            view.key(),
            super::url_encode(&cursor)
        )
    });
    let availability = super::dashboard::availability_rows(&app, ws, &inboxes, now, tr).await?;
    let title = tr.s(&format!("view_{}", view.key())).to_owned();
    Ok(html(
        InboxPage {
            layout: Layout::new(&agent, title, "inbox", now),
            tabs,
            inboxes: options,
            view: view.key(),
            inbox_filter: inbox_filter.unwrap_or_default(),
            rows,
            next,
            paged: list.cursor.is_some(),
            availability,
        }
        .render(),
    ))
}

/// One page across several inboxes (a channel's): each inbox's own page, merged in the view's
/// order. The cursor keeps, per inbox, the store's cursor and how many of that page were shown.
async fn merged_page<S: Store>(
    store: &S,
    ws: pronto_core::WorkspaceId,
    list: &ConversationQuery,
    inboxes: &[InboxId],
) -> AppResult<(Vec<ConversationSummary>, Option<String>)> {
    type Parts = Vec<(i64, usize, Option<String>, bool)>;
    let mut parts: Parts = list
        .cursor
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok())
        .filter(|p: &Parts| {
            p.len() == inboxes.len() && p.iter().all(|(i, ..)| inboxes.iter().any(|x| x.0 == *i))
        })
        .unwrap_or_else(|| inboxes.iter().map(|i| (i.0, 0, None, false)).collect());
    let limit = list.limit as usize;
    let mut candidates: Vec<(usize, ConversationSummary)> = Vec::new();
    let mut pages = Vec::new();
    for (n, (inbox, skip, cursor, done)) in parts.iter().enumerate() {
        if *done {
            pages.push((0, None));
            continue;
        }
        let mut query = list.clone();
        query.inbox = Some(InboxId(*inbox));
        query.cursor = cursor.clone();
        query.limit = (limit + skip) as u32;
        let page = store.conversations(ws, &query).await?;
        pages.push((page.items.len(), page.next));
        candidates.extend(page.items.into_iter().skip(*skip).map(|c| (n, c)));
    }
    let key = |c: &ConversationSummary| {
        let conv = &c.conversation;
        match list.order {
            ConversationOrder::Urgency => {
                let (band, at) = pronto_core::store::conversation_rank(
                    conv.status,
                    &conv.urgency,
                    conv.last_activity_at,
                );
                (band as i64, at, conv.id.0)
            }
            ConversationOrder::Activity => (0, -conv.last_activity_at, -conv.id.0),
        }
    };
    candidates.sort_by_key(|(_, c)| key(c));
    candidates.truncate(limit);
    for (n, part) in parts.iter_mut().enumerate() {
        if part.3 {
            continue;
        }
        let taken = candidates.iter().filter(|(i, _)| *i == n).count();
        let (fetched, next) = &pages[n];
        if part.1 + taken >= *fetched {
            match next {
                Some(next) => *part = (part.0, 0, Some(next.clone()), false),
                None => part.3 = true,
            }
        } else {
            part.1 += taken;
        }
    }
    let more = parts.iter().any(|p| !p.3);
    let cursor = more.then(|| serde_json::to_string(&parts).unwrap_or_default());
    Ok((candidates.into_iter().map(|(_, c)| c).collect(), cursor))
}

// A conversation.

pub struct MessageRow {
    pub id: i64,
    pub class: &'static str,
    pub who: String,
    pub automation: bool,
    pub text: String,
    pub when: String,
    pub at: String,
    pub attachments: Vec<AttachmentRow>,
    pub delivery: Option<DeliveryView>,
    pub new_exchange: bool,
}

pub struct DeliveryView {
    pub state: &'static str,
    pub label: &'static str,
    pub reason: String,
}

pub struct AttachmentRow {
    pub url: String,
    pub label: String,
    pub image: bool,
}

pub struct Exchange {
    pub anchor: i64,
    pub when: String,
    pub preview: String,
}

pub struct MemberOption {
    pub id: i64,
    pub name: String,
    pub selected: bool,
}

pub struct TemplateOption {
    pub title: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "conversation.html")]
struct ConversationPage {
    layout: Layout,
    id: i64,
    contact: String,
    initial: String,
    external_id: String,
    inbox: String,
    channel: &'static str,
    channel_label: &'static str,
    status: &'static str,
    status_label: &'static str,
    open: bool,
    assignee: Option<String>,
    messages: Vec<MessageRow>,
    exchanges: Vec<Exchange>,
    members: Vec<MemberOption>,
    templates: Vec<TemplateOption>,
    answer_by: Option<Countdown>,
    window: Option<Countdown>,
    window_closed: bool,
    back: String,
}

pub async fn conversation<S: Store>(
    State(app): State<Arc<App<S>>>,
    agent: Agent,
    Path(id): Path<String>,
) -> super::WebResult<Response> {
    let ws = agent.caller.workspace;
    let id = id
        .parse::<i64>()
        .map(ConversationId)
        .map_err(|_| AppError::not_found("conversation"))?;
    let now = app.now();
    let tr = agent.tr;
    let store = &app.store;
    let (summary, messages, members, templates) = tokio::try_join!(
        store.conversation(ws, id),
        store.messages(ws, id),
        store.members(ws),
        store.templates(ws),
    )?;
    let c = &summary.conversation;
    let (inbox, contact) =
        tokio::try_join!(store.inbox(ws, c.inbox), store.contact(ws, c.contact))?;
    let names = member_names(&members);
    let rules = app.rules();
    let mut rows = Vec::with_capacity(messages.len());
    let mut exchanges = Vec::new();
    let mut last_person: Option<Millis> = None;
    for m in &messages {
        let new_exchange = m.author == Author::Customer
            && last_person.is_none_or(|last| m.at - last >= rules.silence);
        if m.author != Author::Automation {
            last_person = Some(m.at);
        }
        if new_exchange {
            exchanges.push(Exchange {
                anchor: m.id.0,
                when: local_time(m.at, now, agent.tz, tr.lang),
                preview: pronto_core::store::preview(&m.text)
                    .chars()
                    .take(60)
                    .collect(),
            });
        }
        let (class, who) = match m.author {
            Author::Customer => ("customer", summary.contact_name.clone()),
            Author::Agent => (
                "agent",
                m.agent
                    .and_then(|u| names.get(&u).cloned())
                    .unwrap_or_else(|| tr.s("agent").to_owned()),
            ),
            Author::Automation => ("automation", tr.s("automation").to_owned()),
        };
        let delivery = match &m.delivery {
            Delivery::Received => None,
            Delivery::Queued => Some(("queued", String::new())),
            Delivery::Sending => Some(("sending", String::new())),
            Delivery::Sent => Some(("sent", String::new())),
            Delivery::Failed(reason) => Some(("failed", reason.clone())),
        }
        .map(|(state, reason)| DeliveryView {
            state,
            label: tr.s(state),
            reason,
        });

        rows.push(MessageRow {
            id: m.id.0,
            class,
            who,
            automation: m.author == Author::Automation,
            text: m.text.clone(),
            when: local_time(m.at, now, agent.tz, tr.lang),
            at: crate::live::utc(m.at),
            attachments: m
                .attachments
                .iter()
                .map(|a| AttachmentRow {
                    url: a.url.clone(),
                    label: a
                        .name
                        .clone()
                        .unwrap_or_else(|| format!("{} ({})", tr.s("attachment"), a.kind)),
                    image: a.kind == "image",
                })
                .collect(),
            delivery,
            new_exchange,
        });
    }
    let open = c.status == Status::Open;
    let meta = has_meta_window(summary.channel);
    let window = c
        .urgency
        .reply_window_closes_at
        .filter(|_| meta)
        .map(|closes| window_countdown(tr, closes, now));
    let (status, status_label) = match c.status {
        Status::Open => ("open", tr.s("status_open")),
        Status::Done => ("done", tr.s("status_done")),
        Status::Spam => ("spam", tr.s("status_spam")),
    };
    let page = ConversationPage {
        layout: Layout::new(&agent, summary.contact_name.clone(), "inbox", now),
        id: c.id.0,
        contact: summary.contact_name.clone(),
        initial: initial(&summary.contact_name),
        external_id: contact.external_id.clone(),
        inbox: inbox.name.clone(),
        channel: channel_key(summary.channel),
        channel_label: channel_label(summary.channel),
        status,
        status_label,
        open,
        assignee: c.assignee.and_then(|u| names.get(&u).cloned()),
        messages: rows,
        exchanges: if exchanges.len() > 1 {
            exchanges
        } else {
            Vec::new()
        },
        members: members
            .iter()
            .filter(|m| m.user.active)
            .map(|m| MemberOption {
                id: m.user.id.0,
                name: names.get(&m.user.id).cloned().unwrap_or_default(),
                selected: Some(m.user.id) == c.assignee,
            })
            .collect(),
        templates: templates
            .into_iter()
            .map(|t| TemplateOption {
                title: t.title,
                text: t.text,
            })
            .collect(),
        answer_by: c
            .urgency
            .waiting_since
            .filter(|_| open)
            .map(|since| answer_countdown(tr, since + rules.max_response_time, now)),
        window_closed: meta && !c.urgency.reply_window_open(now),
        window,
        back: "/inbox".to_owned(),
    };
    Ok(html(page.render()))
}

//! The badge dashboard: every inbox side by side and a pooled figure (the windowed starts of
//! every inbox taken together, summarized by the contract's rules 7–9), the forecast in one
//! sentence, server-rendered SVG charts and a CSV export; and the availability switches.

use super::charts::{self, Bar};
use super::i18n::{Lang, Tr};
use super::pages::{channel_key, channel_label};
use super::{Agent, Layout, clock_duration, html, local_time};
use crate::app::App;
use crate::error::AppResult;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use pronto_badge::forecast::{BadgeState, Forecast};
use pronto_badge::report::Report;
use pronto_badge::{Author, Basis, Figures, Millis, Rules, Start, Window};
use pronto_core::store::{InboxFact, Store};
use pronto_core::{ChannelKind, ConversationId, Inbox, InboxId, UserId, WorkspaceId};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

pub struct AvailabilityRow {
    pub inbox: i64,
    pub name: String,
    pub away: bool,
    /// "Away resets itself in 11 h" or "Away until 18:00".
    pub note: String,
    /// When the Away ends (ms), for the live countdown.
    pub ends_at: Option<Millis>,
}

pub async fn availability_rows<S: Store>(
    app: &App<S>,
    ws: WorkspaceId,
    inboxes: &[Inbox],
    now: Millis,
    tr: Tr,
) -> AppResult<Vec<AvailabilityRow>> {
    let reset = app.rules().away_reset;
    let mut rows = Vec::with_capacity(inboxes.len());
    for inbox in inboxes {
        let event = app.store.availability(ws, inbox.id).await?;
        let (away, note, ends_at) = match event.as_ref().map(|e| (e.at, &e.fact)) {
            Some((
                at,
                InboxFact::Availability {
                    availability: pronto_badge::Availability::Away { until },
                    ..
                },
            )) => {
                let ends = until.unwrap_or(at + reset);
                if now < ends {
                    let note = match until {
                        None => {
                            format!(
                                "{} {}",
                                tr.s("away_resets_in"),
                                clock_duration(ends - now, tr)
                            )
                        }
                        Some(u) => {
                            format!("{} {}", tr.s("away_until"), local_time(*u, now, 0, tr.lang))
                        }
                    };
                    (true, note, Some(ends))
                } else {
                    (false, String::new(), None)
                }
            }
            _ => (false, String::new(), None),
        };
        rows.push(AvailabilityRow {
            inbox: inbox.id.0,
            name: inbox.name.clone(),
            away,
            note,
            ends_at,
        });
    }
    Ok(rows)
}

/// One column of the dashboard: an inbox, a channel or all of them pooled.
pub struct Card {
    pub title: String,
    pub subtitle: String,
    pub state: &'static str,
    pub state_label: &'static str,
    pub rate: String,
    pub rate_ok: bool,
    pub time: String,
    pub time_ok: bool,
    pub min_rate: String,
    pub max_time: String,
    pub basis: String,
    pub starts: u64,
    pub answered: u64,
    pub pending: u64,
    pub forecast: String,
    pub link: Option<String>,
}

/// Pools the windowed starts of several inboxes: one window of their starts together.
pub fn pooled_window(starts: &[Start], rules: &Rules) -> Window {
    let span = starts
        .iter()
        .map(|s| s.at())
        .fold(None, |acc: Option<(Millis, Millis)>, at| {
            Some(acc.map_or((at, at), |(a, b)| (a.min(at), b.max(at))))
        });
    let times: Vec<Millis> = starts.iter().filter_map(|s| s.response).collect();
    Window::summarize(Basis::Days, span, starts.len() as u64, times, rules)
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_owned(), |r| format!("{:.0}%", r * 100.0))
}

fn human_seconds(seconds: Option<f64>, lang: Lang) -> String {
    let Some(s) = seconds else {
        return "—".to_owned();
    };
    let s = s.round() as i64;
    let (m, h, sec) = match lang {
        Lang::En => ("min", "h", "s"),
        Lang::Ru => ("мин", "ч", "с"),
    };
    if s < 60 {
        format!("{s} {sec}")
    } else if s < 3600 && s % 60 == 0 {
        format!("{} {m}", s / 60)
    } else if s < 3600 {
        format!("{} {m} {:02} {sec}", s / 60, s % 60)
    } else {
        format!("{} {h} {} {m}", s / 3600, (s % 3600) / 60)
    }
}

fn basis_text(tr: Tr, window: &Window, rules: &Rules, tz: i32, now: Millis) -> String {
    let basis = match window.basis {
        Basis::Days => tr.s("basis_days"),
        Basis::LastStarts => tr.s("basis_last"),
    }
    .replace("{n}", &rules.window_days.to_string())
    .replace("{k}", &rules.fallback_starts.to_string());
    match (window.from, window.to) {
        (Some(from), Some(to)) => format!(
            "{basis}: {} – {}",
            local_time(from, now, tz, tr.lang),
            local_time(to, now, tz, tr.lang)
        ),
        _ => basis.to_owned(),
    }
}

/// The forecast in one sentence, in the agent's language.
fn forecast_sentence(tr: Tr, forecast: &Forecast, tz: i32, now: Millis) -> String {
    match tr.lang {
        Lang::En => local_instants(&forecast.summary, tz, now, tr.lang),
        Lang::Ru => match (forecast.state, forecast.absorbable, forecast.to_earn) {
            (BadgeState::Held | BadgeState::AtRisk, Some(a), _) => format!(
                "Значок выдержит ещё {} разговоров без ответа или {} медленных ответов.",
                a.unanswered, a.slow_answers
            ),
            (_, _, Some(earn)) => match earn.fast_answers {
                Some(n) => {
                    let within = (forecast.assumptions.answer_seconds / 60.0).round();
                    let waiting = forecast.deadlines.len();
                    if waiting > 0 {
                        format!(
                            "Чтобы получить значок, ответьте вовремя на {waiting} ждущих разговоров и на следующие {n} новых — в течение {within} мин."
                        )
                    } else {
                        format!(
                            "Ответьте на следующие {n} новых разговоров в течение {within} мин., чтобы получить значок."
                        )
                    }
                }
                None => "Даже быстрые ответы на ближайшие разговоры не вернут значок: нужно время."
                    .to_owned(),
            },
            _ => local_instants(&forecast.summary, tz, now, tr.lang),
        },
    }
}

/// The engine's sentences name instants in UTC (`2026-11-25T11:43:10.255Z`): in the agent's
/// time zone, as the rest of the page.
fn local_instants(text: &str, tz: i32, now: Millis, lang: Lang) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(|c: char| c.is_ascii_digit()) {
        let (before, candidate) = rest.split_at(i);
        out.push_str(before);
        let end = candidate
            .find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | ':' | '.' | 'T' | 'Z')))
            .unwrap_or(candidate.len());
        let token = &candidate[..end];
        // A sentence's full stop may follow the instant.
        let trimmed = token.trim_end_matches('.');
        match pronto_badge::parse_instant(trimmed) {
            Some(at) => {
                out.push_str(&local_time(at, now, tz, lang));
                out.push_str(&token[trimmed.len()..]);
            }
            None => out.push_str(token),
        }
        rest = &candidate[end..];
    }
    out.push_str(rest);
    out
}

/// How figures are shown: the language, the rules, the agent's time zone, now.
#[derive(Clone, Copy)]
struct Look<'a> {
    tr: Tr,
    rules: &'a Rules,
    tz: i32,
    now: Millis,
}

fn card_from_window(
    look: Look<'_>,
    title: String,
    subtitle: String,
    window: &Window,
    pending: u64,
    forecast: Option<&Forecast>,
    link: Option<String>,
) -> Card {
    let Look { tr, rules, tz, now } = look;
    let badge = window.earns_badge(rules);
    let state = forecast.map_or(
        if badge {
            BadgeState::Held
        } else {
            BadgeState::Lost
        },
        |f| f.state,
    );
    let (state, state_label) = match state {
        BadgeState::Held => ("held", tr.s("badge_held")),
        BadgeState::AtRisk => ("at-risk", tr.s("badge_at_risk")),
        BadgeState::Lost => ("lost", tr.s("badge_lost")),
    };
    let rate = window.response_rate();
    let time = window.response_time_seconds();
    let min_rate = rules.min_rate.as_f64();
    let max_time = rules.max_response_time as f64 / 1000.0;
    Card {
        title,
        subtitle,
        state,
        state_label,
        rate: percent(rate),
        rate_ok: window.starts > 0 && rules.min_rate.is_met_by(window.answered, window.starts),
        time: human_seconds(time, tr.lang),
        time_ok: time.is_some_and(|t| t <= max_time),
        min_rate: format!("≥ {:.0}%", min_rate * 100.0),
        max_time: format!("≤ {}", human_seconds(Some(max_time), tr.lang)),
        basis: basis_text(tr, window, rules, tz, now),
        starts: window.starts,
        answered: window.answered,
        pending,
        forecast: forecast.map_or_else(String::new, |f| forecast_sentence(tr, f, tz, now)),
        link,
    }
}

/// Everything the dashboard shows, for the page and the CSV.
pub struct Figuresheet {
    pub cards: Vec<Card>,
    pub pooled: Card,
    pub channels: Vec<Card>,
    pub distribution: String,
    pub per_channel: String,
    pub per_agent: String,
    pub daily_rate: String,
    pub daily_time: String,
    pub daily: Vec<(String, u64, u64, Option<f64>)>,
    pub agents: Vec<(String, u64)>,
    pub evaluated_at: String,
}

#[derive(Deserialize)]
pub struct DashboardQuery {
    inbox: Option<String>,
}

async fn figuresheet<S: Store>(
    app: &App<S>,
    agent: &Agent,
    only: Option<InboxId>,
) -> AppResult<Figuresheet> {
    let ws = agent.caller.workspace;
    let tr = agent.tr;
    let now = app.now();
    let rules = *app.rules();
    let inboxes: Vec<Inbox> = app
        .store
        .inboxes(ws)
        .await?
        .into_iter()
        .filter(|i| only.is_none_or(|id| id == i.id))
        .collect();
    let look = Look {
        tr,
        rules: &rules,
        tz: agent.tz,
        now,
    };
    let mut cards = Vec::new();
    let mut all_starts: Vec<Start> = Vec::new();
    let mut by_channel: BTreeMap<&'static str, (ChannelKind, Vec<Start>, u64)> = BTreeMap::new();
    let mut windowed: Vec<(InboxId, ConversationId, Start)> = Vec::new();
    let mut pending_total = 0;
    for inbox in &inboxes {
        app.live.sync(&app.store, ws, inbox.id).await?;
        let report: Option<Report<Forecast>> = app.live.report(inbox.id, now);
        let Some((figures, starts)) = app.live.windowed_starts(inbox.id, now) else {
            continue;
        };
        let Figures {
            window, pending, ..
        } = figures;
        pending_total += pending;
        cards.push(card_from_window(
            look,
            inbox.name.clone(),
            channel_label(inbox.channel).to_owned(),
            &window,
            pending,
            report.as_ref().map(|r| &r.forecast),
            Some(format!("/dashboard?inbox={}", inbox.id.0)),
        ));
        let entry = by_channel
            .entry(channel_key(inbox.channel))
            .or_insert_with(|| (inbox.channel, Vec::new(), 0));
        entry.2 += pending;
        for (conversation, start) in starts {
            entry.1.push(start);
            all_starts.push(start);
            windowed.push((inbox.id, conversation, start));
        }
    }
    let all_window = pooled_window(&all_starts, &rules);
    let pooled = card_from_window(
        look,
        tr.s("pooled").to_owned(),
        tr.s("pooled_note").to_owned(),
        &all_window,
        pending_total,
        None,
        None,
    );
    let channels: Vec<Card> = by_channel
        .values()
        .map(|(kind, starts, pending)| {
            card_from_window(
                look,
                channel_label(*kind).to_owned(),
                String::new(),
                &pooled_window(starts, &rules),
                *pending,
                None,
                None,
            )
        })
        .collect();

    // The response-time distribution of the pooled window.
    let buckets: [(Millis, &str); 5] = [
        (60_000, "< 1 min"),
        (5 * 60_000, "1–5 min"),
        (15 * 60_000, "5–15 min"),
        (60 * 60_000, "15–60 min"),
        (Millis::MAX, "> 1 h"),
    ];
    let mut counts = [0u64; 6];
    for start in &all_starts {
        match start.response {
            Some(r) => {
                let i = buckets
                    .iter()
                    .position(|(limit, _)| r < *limit)
                    .unwrap_or(4);
                counts[i] += 1;
            }
            None => counts[5] += 1,
        }
    }
    let mut bars: Vec<Bar> = buckets
        .iter()
        .zip(counts)
        .enumerate()
        .map(|(i, ((_, label), n))| Bar {
            label: (*label).to_owned(),
            value: n as f64,
            text: n.to_string(),
            class: if i < 3 { "good" } else { "bad" },
        })
        .collect();
    bars.push(Bar {
        label: tr.s("unanswered_bucket").to_owned(),
        value: counts[5] as f64,
        text: counts[5].to_string(),
        class: "bad",
    });
    let distribution = charts::bars(tr.s("distribution"), &bars, None);
    let per_channel = charts::bars(
        tr.s("per_channel"),
        &channels
            .iter()
            .map(|c| Bar {
                label: c.title.clone(),
                value: c.rate.trim_end_matches('%').parse::<f64>().unwrap_or(0.0),
                text: format!("{} · {}", c.rate, c.time),
                class: if c.rate_ok { "good" } else { "bad" },
            })
            .collect::<Vec<_>>(),
        Some(100.0),
    );

    // Per agent: who sent the first answer of each answered windowed start.
    let agents = per_agent(app, ws, &windowed).await?;
    let per_agent = charts::bars(
        tr.s("per_agent"),
        &agents
            .iter()
            .map(|(name, n)| Bar {
                label: name.clone(),
                value: *n as f64,
                text: n.to_string(),
                class: "good",
            })
            .collect::<Vec<_>>(),
        None,
    );

    // Daily, over the badge's window (30 days): every start, by the local day it began.
    let daily = daily(app, &inboxes, now, agent.tz, &rules);
    let max_s = rules.max_response_time as f64 / 1000.0;
    let daily_rate = charts::daily(
        &format!("{} · {}", tr.s("daily"), tr.s("daily_rate")),
        &daily
            .iter()
            .map(|(day, starts, answered, _)| {
                (
                    day.clone(),
                    (*starts > 0).then(|| *answered as f64 / *starts as f64 * 100.0),
                )
            })
            .collect::<Vec<_>>(),
        100.0,
        rules.min_rate.as_f64() * 100.0,
        "%",
    );
    let daily_time = charts::daily(
        &format!("{} · {}", tr.s("daily"), tr.s("daily_time")),
        &daily
            .iter()
            .map(|(day, _, _, median)| (day.clone(), median.map(|s| s / 60.0)))
            .collect::<Vec<_>>(),
        (daily.iter().filter_map(|d| d.3).fold(max_s, f64::max) / 60.0)
            .ceil()
            .max(1.0),
        max_s / 60.0,
        " min",
    );
    Ok(Figuresheet {
        cards,
        pooled,
        channels,
        distribution,
        per_channel,
        per_agent,
        daily_rate,
        daily_time,
        daily,
        agents,
        evaluated_at: local_time(now, now, agent.tz, tr.lang),
    })
}

async fn per_agent<S: Store>(
    app: &App<S>,
    ws: WorkspaceId,
    windowed: &[(InboxId, ConversationId, Start)],
) -> AppResult<Vec<(String, u64)>> {
    const MOST: usize = 400;
    let members = app.store.members(ws).await?;
    let names: HashMap<UserId, String> = members
        .iter()
        .map(|m| {
            let n = if m.user.name.trim().is_empty() {
                m.user.email.clone()
            } else {
                m.user.name.clone()
            };
            (m.user.id, n)
        })
        .collect();
    let mut by_conversation: HashMap<ConversationId, Vec<Millis>> = HashMap::new();
    for (_, conversation, start) in windowed.iter().rev().take(MOST) {
        if let Some(response) = start.response {
            by_conversation
                .entry(*conversation)
                .or_default()
                .push(start.at() + response);
        }
    }
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for (conversation, answers) in by_conversation {
        let messages = app.store.messages(ws, conversation).await?;
        for at in answers {
            let who = messages
                .iter()
                .find(|m| m.author == Author::Agent && m.at == at)
                .map(|m| {
                    m.agent
                        .and_then(|u| names.get(&u).cloned())
                        .unwrap_or_else(|| "Meta inbox / other".to_owned())
                });
            if let Some(who) = who {
                *counts.entry(who).or_default() += 1;
            }
        }
    }
    let mut counts: Vec<(String, u64)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(counts)
}

/// Each day's settled starts, answered ones and median response time, from the live badges.
fn daily<S: Store>(
    app: &App<S>,
    inboxes: &[Inbox],
    now: Millis,
    tz: i32,
    rules: &Rules,
) -> Vec<(String, u64, u64, Option<f64>)> {
    const DAY: Millis = 86_400_000;
    let offset = i64::from(tz) * 60_000;
    let today = (now + offset).div_euclid(DAY);
    // The live badges hold every start of their window, so the days drawn are the window's.
    let span = i64::from(rules.window_days.clamp(1, 30));
    let first = today - (span - 1);
    let mut days: Vec<(u64, u64, Vec<Millis>)> = vec![(0, 0, Vec::new()); span as usize];
    for inbox in inboxes {
        let starts = app.live.recent_starts(inbox.id, now).unwrap_or_default();
        for start in starts.iter() {
            let day = (start.at() + offset).div_euclid(DAY);
            if day < first || day > today {
                continue;
            }
            let settled = start.is_answered() || now - start.at() >= rules.reply_window;
            if !settled {
                continue;
            }
            let slot = &mut days[(day - first) as usize];
            slot.0 += 1;
            if let Some(r) = start.response {
                slot.1 += 1;
                slot.2.push(r);
            }
        }
    }
    days.into_iter()
        .enumerate()
        .map(|(i, (starts, answered, mut times))| {
            let (_, m, d, _, _) = super::civil((first + i as i64) * DAY - offset, tz);
            times.sort_unstable();
            let median = (!times.is_empty()).then(|| times[times.len() / 2] as f64 / 1000.0);
            (format!("{d:02}.{m:02}"), starts, answered, median)
        })
        .collect()
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    sheet: Figuresheet,
    single: bool,
    csv: String,
    availability: Vec<AvailabilityRow>,
}

pub async fn page<S: Store>(
    State(app): State<Arc<App<S>>>,
    agent: Agent,
    Query(query): Query<DashboardQuery>,
) -> super::WebResult<Response> {
    let only = query
        .inbox
        .as_deref()
        .and_then(|v| v.parse().ok())
        .map(InboxId);
    if let Some(id) = only {
        app.store.inbox(agent.caller.workspace, id).await?;
    }
    let now = app.now();
    let sheet = figuresheet(&app, &agent, only).await?;
    let inboxes: Vec<Inbox> = app
        .store
        .inboxes(agent.caller.workspace)
        .await?
        .into_iter()
        .filter(|i| only.is_none_or(|id| id == i.id))
        .collect();
    let availability =
        availability_rows(&app, agent.caller.workspace, &inboxes, now, agent.tr).await?;
    let csv = only.map_or_else(
        || "/dashboard.csv".to_owned(),
        |id| format!("/dashboard.csv?inbox={}", id.0),
    );
    Ok(html(
        DashboardPage {
            layout: Layout::new(&agent, agent.tr.s("dashboard"), "dashboard", now),
            sheet,
            single: only.is_some(),
            csv,
            availability,
        }
        .render(),
    ))
}

fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// The dashboard's figures as CSV: one row per inbox, channel and the pooled figure, then the
/// daily series and the per-agent counts.
pub async fn csv<S: Store>(
    State(app): State<Arc<App<S>>>,
    agent: Agent,
    Query(query): Query<DashboardQuery>,
) -> super::WebResult<Response> {
    let only = query
        .inbox
        .as_deref()
        .and_then(|v| v.parse().ok())
        .map(InboxId);
    if let Some(id) = only {
        app.store.inbox(agent.caller.workspace, id).await?;
    }
    let sheet = figuresheet(&app, &agent, only).await?;
    let mut out = String::from(
        "kind,name,state,response_rate,response_time,window,starts,answered,pending,forecast\n",
    );
    let mut card_row = |kind: &str, c: &Card| {
        out.push_str(&format!(
            "{kind},{},{},{},{},{},{},{},{},{}\n",
            csv_field(&c.title),
            c.state,
            csv_field(&c.rate),
            csv_field(&c.time),
            csv_field(&c.basis),
            c.starts,
            c.answered,
            c.pending,
            csv_field(&c.forecast)
        ));
    };
    for c in &sheet.cards {
        card_row("inbox", c);
    }
    for c in &sheet.channels {
        card_row("channel", c);
    }
    card_row("pooled", &sheet.pooled);
    out.push_str("\nday,starts,answered,median_response_seconds\n");
    for (day, starts, answered, median) in &sheet.daily {
        out.push_str(&format!(
            "{day},{starts},{answered},{}\n",
            median.map_or_else(String::new, |m| format!("{m:.0}"))
        ));
    }
    out.push_str("\nagent,answered_starts_in_window\n");
    for (name, n) in &sheet.agents {
        out.push_str(&format!("{},{n}\n", csv_field(name)));
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"pronto-figures.csv\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        out,
    )
        .into_response())
}

//! The live badge: its figures (and forecast) always equal `pronto badge` over the inbox's
//! exported log at the same evaluation time, through weeks of simulated traffic (late
//! messages, automation, Done, Spam, Away) and across a restart.

use super::harness::{Backend, TestServer, User};
use pronto_badge::forecast::{ForecastSettings, forecast};
use pronto_badge::report::Report;
use pronto_badge::time::{DAY, HOUR, MINUTE};
use pronto_badge::{Author, ConversationId, Rules, evaluate, parse_instant};
use pronto_core::InboxId;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The API's report and the batch computation over the exported log, at the report's
/// evaluation time.
async fn compare(server: &TestServer<impl Backend>, user: &User, inbox: InboxId) -> Value {
    let (status, live) = server
        .get(
            &format!("/api/v1/inboxes/{inbox}/responsiveness"),
            &user.token,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{live}");
    let export = server
        .client
        .get(format!(
            "{}/api/v1/inboxes/{inbox}/events.jsonl",
            server.url
        ))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), StatusCode::OK);
    let bytes = export.bytes().await.unwrap();
    let log = pronto_badge::jsonl::parse_log(&bytes).expect("the export is a valid log");
    let at = parse_instant(live["evaluated_at"].as_str().unwrap()).unwrap();
    let rules = Rules::default();
    let assessment = evaluate(&log, at, &rules);
    let names = |id: ConversationId| log.conversation_name(id).to_owned();
    let batch_forecast = forecast(
        &assessment.figures,
        &assessment.included,
        &rules,
        &ForecastSettings::default(),
        &names,
    );
    // Through text, as the API's answer came (serde_json parses doubles to within an ulp).
    let batch = Report::new(&assessment.figures, &rules, batch_forecast).to_json();
    let batch: Value = serde_json::from_str(&batch).unwrap();
    assert_eq!(
        live, batch,
        "live figures differ from the batch over the exported log"
    );
    live
}

async fn live_figures_equal_the_batch_over_the_exported_log<S: Backend>() {
    let server = TestServer::<S>::start().await;
    let admin = server.user("ann@example.com", true, "Acme").await;
    let inbox = server.playground(&admin, "Shop").await;
    let workspace = admin.workspace;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut conversations: Vec<i64> = Vec::new();
    let mut checks = 0;
    let steps = 700;
    for step in 0..steps {
        // Mostly minutes apart, sometimes a quiet day.
        let gap = match rng.below(20) {
            0 => DAY + rng.below(6) as i64 * HOUR,
            1..=4 => rng.below(6) as i64 * HOUR,
            _ => (1 + rng.below(40) as i64) * MINUTE,
        };
        server.clock.advance(gap);
        let now = server.clock_now();
        let customer = format!("c{}", rng.below(80));
        match rng.below(100) {
            0..=44 => {
                let id = server
                    .customer_writes(workspace, inbox, &customer, "Hello")
                    .await;
                if !conversations.contains(&id) {
                    conversations.push(id);
                }
            }
            45..=49 => {
                // A message the channel delivers late, up to two hours back.
                let at = now - (1 + rng.below(120) as i64) * MINUTE;
                server
                    .incoming_at(workspace, inbox, &customer, Author::Customer, "late", at)
                    .await;
            }
            50..=57 => {
                server
                    .incoming(
                        workspace,
                        inbox,
                        &customer,
                        Author::Automation,
                        "Thanks for writing!",
                    )
                    .await;
            }
            58..=62 => {
                // A reply made in another app (an echo).
                server
                    .incoming(
                        workspace,
                        inbox,
                        &customer,
                        Author::Agent,
                        "answered elsewhere",
                    )
                    .await;
            }
            63..=86 if !conversations.is_empty() => {
                let id = conversations[rng.below(conversations.len() as u64) as usize];
                let (status, body) = server
                    .post(
                        &format!("/api/v1/conversations/{id}/messages"),
                        &admin.token,
                        json!({"text": "On it"}),
                    )
                    .await;
                assert_eq!(status, StatusCode::ACCEPTED, "{body}");
                server.outbox_drained().await;
            }
            87..=93 if !conversations.is_empty() => {
                let id = conversations[rng.below(conversations.len() as u64) as usize];
                let status = ["done", "done", "done", "spam", "open"][rng.below(5) as usize];
                let (code, body) = server
                    .post(
                        &format!("/api/v1/conversations/{id}/status"),
                        &admin.token,
                        json!({"status": status}),
                    )
                    .await;
                assert_eq!(code, StatusCode::OK, "{body}");
            }
            _ => {
                let request = match rng.below(3) {
                    0 => json!({"status": "away"}),
                    1 => json!({"status": "available"}),
                    _ => {
                        json!({"status": "away", "until": pronto_badge::format_instant(now + (1 + rng.below(10) as i64) * HOUR)})
                    }
                };
                let (code, body) = server
                    .post(
                        &format!("/api/v1/inboxes/{inbox}/availability"),
                        &admin.token,
                        request,
                    )
                    .await;
                assert_eq!(code, StatusCode::OK, "{body}");
            }
        }
        if step % 100 == 99 {
            compare(&server, &admin, inbox).await;
            checks += 1;
        }
    }
    // Time passes with no event: pending starts settle.
    server.clock.advance(DAY + HOUR);
    let before = compare(&server, &admin, inbox).await;
    checks += 1;
    assert!(
        before["window"]["starts"].as_u64().unwrap() >= 10,
        "{before}"
    );
    let excluded = &before["excluded"];
    assert!(
        excluded["done"].as_u64().unwrap() + excluded["spam"].as_u64().unwrap() > 0,
        "{before}"
    );
    assert!(before["excluded"]["away"].as_u64().unwrap() > 0, "{before}");
    assert!(checks >= 8);

    // A restart restores the live badge (from its snapshot, then the events after it).
    let (place, clock, key) = server.stop_for_restart().await;
    let server = TestServer::<S>::start_in(place, clock, key, |s| s).await;
    let snapshot = server.store().snapshot(workspace, inbox).await.unwrap();
    assert!(snapshot.is_some(), "the shutdown saved the live badge");
    let after = compare(&server, &admin, inbox).await;
    assert_eq!(before, after);
    // And it keeps up after the restart, even with a message delivered 10 days late (before
    // what a snapshot keeps in full: the inbox is then rebuilt from its log).
    server.clock.advance(MINUTE);
    server
        .customer_writes(workspace, inbox, "new-after-restart", "Hi again")
        .await;
    compare(&server, &admin, inbox).await;
    let late = server.clock_now() - 10 * DAY;
    server
        .incoming_at(
            workspace,
            inbox,
            "very-late",
            Author::Customer,
            "from last week",
            late,
        )
        .await;
    compare(&server, &admin, inbox).await;
    server.stop().await;
}

async fn the_export_is_the_contracts_json_lines<S: Backend>() {
    let server = TestServer::<S>::start().await;
    let admin = server.user("ann@example.com", true, "Acme").await;
    let inbox = server.playground(&admin, "Shop").await;
    let conversation = server
        .customer_writes(admin.workspace, inbox, "c1", "Hello")
        .await;
    server
        .incoming(admin.workspace, inbox, "c1", Author::Automation, "Thanks!")
        .await;
    server.clock.advance(MINUTE);
    server
        .post(
            &format!("/api/v1/inboxes/{inbox}/availability"),
            &admin.token,
            json!({"status": "away", "until": "2026-11-21T08:00:00Z"}),
        )
        .await;
    server
        .post(
            &format!("/api/v1/conversations/{conversation}/status"),
            &admin.token,
            json!({"status": "done"}),
        )
        .await;
    let export = server
        .client
        .get(format!(
            "{}/api/v1/inboxes/{inbox}/events.jsonl",
            server.url
        ))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert!(
        export.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/jsonl")
    );
    let text = export.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        vec![
            format!(r#"{{"type":"message","conversation":"{conversation}","at":"2026-11-20T09:00:00Z","author":"customer"}}"#),
            format!(r#"{{"type":"message","conversation":"{conversation}","at":"2026-11-20T09:00:00Z","author":"automation"}}"#),
            r#"{"type":"availability","at":"2026-11-20T09:01:00Z","status":"away","until":"2026-11-21T08:00:00Z"}"#.to_owned(),
            format!(r#"{{"type":"status","conversation":"{conversation}","at":"2026-11-20T09:01:00Z","status":"done"}}"#),
        ]
    );
    server.stop().await;
}

/// Two months of a shop whose customers mostly write once: with a short late horizon, saving
/// snapshots lets go of the conversations out of the figures' reach, and memory holds a part
/// of them. Old customers who write again, and old conversations moved to Spam or Done, are
/// read back from the store; the figures equal the batch over the exported log throughout,
/// across a restart, and after a message delivered later than the horizon (a rebuild).
/// Saves the live badges' snapshots, which lets go of the conversations they can do without.
async fn let_go<S: Backend>(server: &TestServer<S>) {
    let app = server.app();
    app.live.save_snapshots(&app.store).await.unwrap();
}

async fn conversations_let_go_come_back_from_the_store<S: Backend>() {
    let server =
        TestServer::<S>::start_with(|s| s.late_horizon(std::time::Duration::from_secs(3600))).await;
    let admin = server.user("ann@example.com", true, "Acme").await;
    let inbox = server.playground(&admin, "Shop").await;
    let workspace = admin.workspace;
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    // (customer, conversation id) in the order they first wrote.
    let mut customers: Vec<(String, i64)> = Vec::new();
    let resident = |server: &TestServer<S>| server.app().live.resident_conversations();
    let mut came_back = 0;
    for day in 0..62 {
        for _ in 0..4 {
            server.clock.advance((1 + rng.below(150) as i64) * MINUTE);
            let name = format!("d{day}-{}", rng.below(1_000_000));
            let id = server
                .customer_writes(workspace, inbox, &name, "Hello")
                .await;
            customers.push((name.clone(), id));
            match rng.below(10) {
                0 => {}
                1 => {
                    server.clock.advance(DAY + HOUR);
                    server
                        .incoming(workspace, inbox, &name, Author::Agent, "late")
                        .await;
                }
                _ => {
                    server.clock.advance((1 + rng.below(30) as i64) * MINUTE);
                    server
                        .incoming(workspace, inbox, &name, Author::Agent, "answer")
                        .await;
                }
            }
        }
        // Now and then a customer from weeks ago, or an old conversation's status.
        if day >= 40 && customers.len() > 100 {
            let (name, id) = customers[rng.below(60) as usize].clone();
            let before = resident(&server);
            if day % 2 == 0 {
                let status = ["spam", "done", "open"][rng.below(3) as usize];
                let (code, body) = server
                    .post(
                        &format!("/api/v1/conversations/{id}/status"),
                        &admin.token,
                        json!({"status": status}),
                    )
                    .await;
                assert_eq!(code, StatusCode::OK, "{body}");
            } else {
                server
                    .customer_writes(workspace, inbox, &name, "Me again")
                    .await;
            }
            compare(&server, &admin, inbox).await;
            if resident(&server) > before {
                came_back += 1;
            }
        }
        if day % 3 == 0 {
            let status = ["away", "available"][rng.below(2) as usize];
            let (code, _) = server
                .post(
                    &format!("/api/v1/inboxes/{inbox}/availability"),
                    &admin.token,
                    json!({ "status": status }),
                )
                .await;
            assert_eq!(code, StatusCode::OK);
        }
        if day % 5 == 4 {
            let_go(&server).await;
            compare(&server, &admin, inbox).await;
        }
    }
    let_go(&server).await;
    let held = resident(&server);
    assert!(
        held < customers.len() * 3 / 4,
        "{held} of {} conversations held",
        customers.len()
    );
    assert!(came_back >= 5, "{came_back} conversations came back");
    let before = compare(&server, &admin, inbox).await;

    let (place, clock, key) = server.stop_for_restart().await;
    let server = TestServer::<S>::start_in(place, clock, key, |s| {
        s.late_horizon(std::time::Duration::from_secs(3600))
    })
    .await;
    assert_eq!(compare(&server, &admin, inbox).await, before);
    assert!(
        resident(&server) <= held + 1,
        "a restart holds what was held"
    );
    // Old customers again after the restart, then a message later than the horizon.
    for (name, _) in customers.iter().take(5) {
        server.clock.advance(MINUTE);
        server
            .customer_writes(workspace, inbox, name, "Still there?")
            .await;
        compare(&server, &admin, inbox).await;
    }
    let late = server.clock_now() - 3 * HOUR;
    let (name, _) = &customers[7];
    server
        .incoming_at(workspace, inbox, name, Author::Agent, "sorry", late)
        .await;
    compare(&server, &admin, inbox).await;
    server.stop().await;
}

/// A channel's backfill takes in the last 30 days newest first (Meta's Conversations API
/// lists by last update), so most of it comes later than the late horizon behind what came
/// before. The first late event costs a rebuild, which widens the inbox's horizon; the rest
/// of the backfill is placed without reading the log again each time.
async fn a_backfill_newest_first_costs_a_few_rebuilds<S: Backend>() {
    let server = TestServer::<S>::start().await;
    let admin = server.user("ann@example.com", true, "Acme").await;
    let inbox = server.playground(&admin, "Shop").await;
    let workspace = admin.workspace;
    let now = server.clock_now();
    let conversations = 300;
    for k in 0..conversations {
        let at = now - k * (30 * DAY / conversations) - HOUR;
        let name = format!("backfilled-{k}");
        server
            .incoming_at(workspace, inbox, &name, Author::Customer, "Hello", at)
            .await;
        if k % 5 != 0 {
            server
                .incoming_at(
                    workspace,
                    inbox,
                    &name,
                    Author::Agent,
                    "Hi",
                    at + 4 * MINUTE,
                )
                .await;
        }
        // Snapshots are saved (and conversations let go) while it runs.
        if k % 50 == 49 {
            let_go(&server).await;
        }
    }
    let rebuilds = server.app().live.rebuilds();
    assert!(rebuilds <= 4, "{rebuilds} rebuilds for one backfill");
    let report = compare(&server, &admin, inbox).await;
    assert!(
        report["window"]["starts"].as_u64().unwrap() > 200,
        "{report}"
    );
    server.stop().await;
}

crate::on_both_stores!(
    a_backfill_newest_first_costs_a_few_rebuilds,
    live_figures_equal_the_batch_over_the_exported_log,
    the_export_is_the_contracts_json_lines,
    conversations_let_go_come_back_from_the_store
);

/// The issue's proof: on the demo data (3,000 conversations over 45 days, three inboxes: one
/// holding the badge comfortably, one holding it, one just losing it), every inbox's live
/// figures equal the batch over its exported log, after agents work and after a restart.
async fn live_figures_equal_the_batch_on_the_demo_data<S: Backend>() {
    let place = S::fresh(super::harness::temp_dir()).await;
    let store = S::open(&place).await;
    let demo = pronto_channels::demo::seed(&store, super::harness::t0(), |_, _| {})
        .await
        .expect("the demo seeds");
    store.close_it().await;
    assert_eq!(demo.conversations, 3_000);
    let server = TestServer::<S>::start_in(
        place,
        std::sync::Arc::new(pronto_server::ManualClock::new(super::harness::t0())),
        pronto_server::crypto::SecretKey::generate(),
        |s| s,
    )
    .await;
    let admin = server
        .user(
            pronto_channels::demo::DEMO_ADMIN_EMAIL,
            true,
            pronto_channels::demo::DEMO_WORKSPACE,
        )
        .await;
    let inboxes = demo.inbox_ids();
    let mut badges = Vec::new();
    for inbox in &inboxes {
        let report = compare(&server, &admin, *inbox).await;
        badges.push(report["badge"].as_bool().unwrap());
    }
    assert!(
        badges.contains(&true) && badges.contains(&false),
        "{badges:?}"
    );

    // Agents work: answer what waits, close a conversation, go away; time passes.
    let (_, waiting) = server
        .get("/api/v1/conversations?waiting=true&limit=20", &admin.token)
        .await;
    for conversation in waiting["items"].as_array().unwrap().iter().take(10) {
        server.clock.advance(2 * MINUTE);
        let id = conversation["id"].as_i64().unwrap();
        let (status, body) = server
            .post(
                &format!("/api/v1/conversations/{id}/messages"),
                &admin.token,
                json!({"text": "Sorry for the wait!"}),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    server.outbox_drained().await;
    server
        .post(
            &format!("/api/v1/inboxes/{}/availability", inboxes[0]),
            &admin.token,
            json!({"status": "away"}),
        )
        .await;
    server.clock.advance(3 * HOUR);
    for inbox in &inboxes {
        compare(&server, &admin, *inbox).await;
    }
    let (place, clock, key) = server.stop_for_restart().await;
    let server = TestServer::<S>::start_in(place, clock, key, |s| s).await;
    for inbox in &inboxes {
        compare(&server, &admin, *inbox).await;
    }
    server.stop().await;
}

crate::on_both_stores!(live_figures_equal_the_batch_on_the_demo_data);

/// The big workspace (`pronto demo --conversations N`): its history is written in bulk and fed
/// to the live badges as it goes, whose snapshots a restart reads. Every inbox's figures equal
/// the batch over its exported log, before and after the restart, and the view counts equal
/// the conversations they count.
async fn the_big_workspace_loads_in_bulk_and_its_figures_hold<
    S: Backend + pronto_core::history::HistoryLoader,
>() {
    let server = TestServer::<S>::start().await;
    let options = pronto_server::demo::BigOptions {
        conversations: 4_000,
        days: 120,
        ..Default::default()
    };
    let demo = pronto_server::demo::prepare_big(server.app(), &options, |_, _| {})
        .await
        .expect("the big workspace seeds")
        .expect("on an empty database");
    assert_eq!(demo.login.as_ref().unwrap().conversations, 4_000);
    // The live badges followed the load from the store, letting go of the months behind
    // (what the last five weeks touched stays: over four months, with volume growing and
    // customers coming back, about half).
    let held = server.app().live.resident_conversations();
    assert!(held < 3_000, "{held} of 4,000 conversations held");
    let admin = server
        .user(
            pronto_channels::demo::DEMO_ADMIN_EMAIL,
            true,
            pronto_channels::demo::DEMO_WORKSPACE,
        )
        .await;
    let mut badges = Vec::new();
    for inbox in &demo.inboxes {
        let report = compare(&server, &admin, *inbox).await;
        assert!(
            report["window"]["starts"].as_u64().unwrap() > 10,
            "{report}"
        );
        badges.push(report["badge"].as_bool().unwrap());
    }
    assert!(badges.contains(&true), "{badges:?}");

    // The counts, folded or not, are those of the rows.
    let store = server.store();
    let ws = admin.workspace;
    let counts = store
        .conversation_counts(ws, None, pronto_core::UserId(admin.id))
        .await
        .unwrap();
    let mut open = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(next) => format!(
                "/api/v1/conversations?status=open&limit=200&cursor={}",
                super::harness::enc(next)
            ),
            None => "/api/v1/conversations?status=open&limit=200".to_owned(),
        };
        let (status, page) = server.get(&path, &admin.token).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        open += page["items"].as_array().unwrap().len() as u64;
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(counts.open, open);
    assert!(
        counts.done > 0 && counts.spam > 0 && counts.unanswered > 0,
        "{counts:?}"
    );

    let (place, clock, key) = server.stop_for_restart().await;
    let server = TestServer::<S>::start_in(place, clock, key, |s| s).await;
    for inbox in &demo.inboxes {
        compare(&server, &admin, *inbox).await;
    }
    server.stop().await;
}

crate::on_both_stores!(the_big_workspace_loads_in_bulk_and_its_figures_hold);

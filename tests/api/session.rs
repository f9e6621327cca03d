//! The opening session (开标会): stages on the server clock with every
//! change logged, the host's controls (pause, resume, extend once, suspend,
//! terminate) for officers and admins only, the minimum of bidders (流标)
//! decrypting nothing, a paused or suspended session surviving SIGKILL with
//! each bid opened exactly once, and `bidroom verify` passing on all of it.

use bidroom::cli::custodian;
use bidroom::domain::event::EventPayload;
use bidroom::verify::Check;
use bidroom::verify::log::LoggedEvent;
use bidroom::verify::session as session_check;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::bids::{register, seal, submit};
use crate::common::{Draft, TestApp, events, parse_time, wait_events, wait_for_state};
use crate::crash::{Node, assert_opened_exactly_once, tender_with_bids, use_node};
use crate::opening::verify;
use crate::support::scratch::Scratch;
use crate::support::wait::poll;

fn of_kind<'a>(ev: &'a [Value], kind: &str) -> Vec<&'a Value> {
    ev.iter().filter(|e| e["type"] == kind).collect()
}

fn stages(ev: &[Value]) -> Vec<String> {
    of_kind(ev, "session.stage").iter().map(|e| e["data"]["stage"].as_str().expect("stage").to_string()).collect()
}

async fn session(app: &TestApp, tender: &str) -> Value {
    app.get_ok(&format!("/api/v1/tenders/{tender}/session")).await
}

async fn control(app: &TestApp, token: Option<&str>, tender: &str, body: Value) -> (StatusCode, Value) {
    app.call(Method::POST, &format!("/api/v1/tenders/{tender}/session"), token, Some(&body)).await
}

async fn host(app: &TestApp, tender: &str, body: Value) -> Value {
    let (s, v) = app.admin(Method::POST, &format!("/api/v1/tenders/{tender}/session"), Some(&body)).await;
    assert_eq!(s, StatusCode::OK, "{body}: {v}");
    v
}

/// `n` bidders submit one bid each.
async fn bids(app: &TestApp, tender: &str, n: usize) {
    for i in 0..n {
        let key = register(app, &format!("Bidder {i}")).await;
        let sealed = seal(app, tender, &key, &format!("{}.00", 100 + i), &[]).await;
        let (s, v) = submit(app, tender, &sealed).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
}

/// A ceiling (最高投标限价) and a reference price (标底) for lot 1.
fn prices() -> Value {
    json!([
        {"lot": "1", "kind": "ceiling", "field": "price", "amount": "101.00"},
        {"lot": "1", "kind": "reference", "field": "price", "amount": "100.50"}
    ])
}

/// Terms out of range or naming what the tender does not have are refused
/// with the field named.
async fn bad_session_terms_are_named(app: TestApp) {
    let bad = [
        (json!({"min_bids": 0}), "session.min_bids"),
        (json!({"announcement_minutes": 0}), "session.announcement_minutes"),
        (json!({"sign_in_minutes": 10_081}), "session.sign_in_minutes"),
        (
            json!({"prices": [{"lot": "9", "kind": "ceiling", "field": "price", "amount": "1"}]}),
            "session.prices[0].lot",
        ),
        (
            json!({"prices": [{"lot": "1", "kind": "ceiling", "field": "days", "amount": "1"}]}),
            "session.prices[0].field",
        ),
        (
            json!({"prices": [{"lot": "1", "kind": "ceiling", "field": "price", "amount": "1.234"}]}),
            "session.prices[0].amount",
        ),
    ];
    for (terms, field) in bad {
        let draft = Draft::on(&app, 3600).await.session(terms.clone()).json();
        let (s, v) = app.admin(Method::POST, "/api/v1/tenders", Some(&draft)).await;
        assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{terms}: {v}");
    }
}

/// The server's defaults (three bidders), a one-minute sign-in lead and a
/// one-minute confirmation: sign-in opens at once, then decryption at the
/// opening time, the 唱标 once the server's shares are in, confirmation
/// after the record; each a logged event at the terms' time.
async fn stages_follow_the_terms_on_server_time(app: TestApp) {
    let draft = Draft::on(&app, 3)
        .await
        .opening_in(5)
        .session(Value::Null)
        .session(json!({"sign_in_minutes": 1, "confirmation_minutes": 1, "prices": prices()}));
    let published = draft.publish(&app).await;
    let tender = published["id"].as_str().expect("id").to_string();
    assert_eq!(published["session"]["min_bids"], 3, "the Chinese rule by default: {published}");
    let opening_at = parse_time(&published["opening_at"]);
    let v = poll("sign-in opens", std::time::Duration::from_secs(10), async || {
        let v = session(&app, &tender).await;
        (v["stage"] == "sign_in").then_some(v)
    })
    .await;
    assert_eq!(parse_time(&v["ends_at"]), opening_at, "{v}");
    assert_eq!(parse_time(&v["started_at"]), opening_at - time::Duration::minutes(1), "{v}");
    let left = v["time_left_ms"].as_i64().expect("time left");
    let now = parse_time(&v["now"]);
    assert_eq!(i128::from(left), (opening_at - now).whole_milliseconds(), "time left on the server clock: {v}");
    bids(&app, &tender, 3).await;

    wait_for_state(&app, &tender, "opened", 30).await;
    let ev = wait_events(&app, &tender, "confirmation", |ev| stages(ev).len() == 4).await;
    assert_eq!(stages(&ev), ["sign_in", "decryption", "announcement", "confirmation"]);
    let kinds: Vec<&str> = ev.iter().map(|e| e["type"].as_str().expect("type")).collect();
    let pos = |k: &str| kinds.iter().position(|x| *x == k).expect(k);
    let stage_at = |s: &str| ev.iter().position(|e| e["type"] == "session.stage" && e["data"]["stage"] == s).expect(s);
    assert!(pos("opening.started") < stage_at("decryption"));
    assert!(stage_at("announcement") < pos("bid.opened"), "bids are read in the 唱标: {kinds:?}");
    assert!(pos("record.published") < stage_at("confirmation"));
    let decryption = &ev[stage_at("decryption")]["data"];
    assert_eq!(parse_time(&decryption["at"]), opening_at);
    let record = &ev[pos("record.published")]["data"];
    let confirmation = &ev[stage_at("confirmation")]["data"];
    assert_eq!(parse_time(&confirmation["ends_at"]), parse_time(&record["published_at"]) + time::Duration::minutes(1));
    // The ceiling and reference are announced as the 唱标 begins; a bid
    // above the ceiling is still read, and marked.
    assert_eq!(ev[stage_at("announcement")]["data"]["prices"], prices());
    let marks: Vec<(String, Value)> = of_kind(&ev, "bid.opened")
        .iter()
        .map(|e| {
            (e["data"]["fields"]["price"].as_str().expect("price").to_string(), e["data"]["above_ceiling"].clone())
        })
        .collect();
    assert_eq!(
        marks,
        [("100.00".into(), json!(false)), ("101.00".into(), json!(false)), ("102.00".into(), json!(true))]
    );
    let v = session(&app, &tender).await;
    assert_eq!((v["stage"].as_str(), v["state"].as_str()), (Some("confirmation"), Some("opened")), "{v}");
    let report = verify(&app, &tender).await;
    assert!(report.passed(), "{report}");
}

/// Two bidders against the default minimum of three: the tender fails
/// (流标) at the opening time; no share is released, no envelope served,
/// nothing opened; staff may then cancel, and verify agrees.
async fn too_few_bidders_fail_and_nothing_is_decrypted(app: TestApp) {
    let tender = Draft::on(&app, 3).await.opening_in(4).session(json!({"min_bids": 3})).published(&app).await;
    bids(&app, &tender, 2).await;
    wait_for_state(&app, &tender, "failed", 30).await;
    let ev = events(&app, &tender).await;
    let failed = of_kind(&ev, "tender.failed");
    assert_eq!(failed.len(), 1, "{ev:?}");
    let d = &failed[0]["data"];
    assert_eq!(
        (d["lots"].clone(), d["min_bids"].clone(), d["whole"].clone()),
        (json!([{"lot": "1", "bidders": 2}]), json!(3), json!(true))
    );
    assert!(d["rule"].as_str().expect("rule").contains("at least 3"), "{d}");
    for kind in ["opening.started", "custodian.released", "bid.opened", "bid.unopened", "record.published"] {
        assert!(of_kind(&ev, kind).is_empty(), "{kind} in a failed tender: {ev:?}");
    }
    assert_eq!(stages(&ev), ["closed"]);
    let (s, v) = app.get(&format!("/api/v1/tenders/{tender}/envelopes")).await;
    assert_eq!(s, StatusCode::CONFLICT, "the envelopes stay sealed: {v}");
    let v = session(&app, &tender).await;
    assert_eq!((v["state"].clone(), v["failed_lots"].clone()), (json!("failed"), json!(["1"])), "{v}");
    let report = verify(&app, &tender).await;
    assert!(report.passed(), "{report}");
    assert!(!report.failed().contains(&Check::MinimumBidders));
    forged_minimum_is_caught(&app, &tender, &ev).await;

    let cancel = json!({"reason": "流标：投标人不足三家，重新招标"});
    let v = app.admin_ok(Method::POST, &format!("/api/v1/tenders/{tender}/cancel"), Some(&cancel)).await;
    assert_eq!(v["state"], "cancelled", "{v}");
}

/// Supervisors and evaluators watch but do not act; anonymous callers are
/// not staff; a session not under way refuses every control; bad bodies
/// are named.
async fn host_controls_are_refused_to_other_roles_and_states(app: TestApp) {
    let tender = Draft::on(&app, 3600).await.published(&app).await;
    let pause = json!({"action": "pause"});
    for role in ["supervisor", "evaluator"] {
        let token = app.staff(role).await;
        let (s, v) = control(&app, Some(&token), &tender, pause.clone()).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{role}: {v}");
        assert!(v["message"].as_str().expect("message").contains("officer or admin"), "{v}");
        let (s, _) = app.call(Method::GET, &format!("/api/v1/tenders/{tender}/session"), Some(&token), None).await;
        assert_eq!(s, StatusCode::OK, "{role} reads the session");
    }
    let (s, v) = control(&app, None, &tender, pause.clone()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    let officer = app.staff("officer").await;
    for body in [pause, json!({"action": "resume"}), json!({"action": "extend", "minutes": 5, "reason": "r"})] {
        let (s, v) = control(&app, Some(&officer), &tender, body.clone()).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("transition_not_allowed")), "{body}: {v}");
    }
    for body in [json!({"action": "dance"}), json!({"action": "extend", "minutes": -1, "reason": "r"}), json!({})] {
        let (s, v) = control(&app, Some(&officer), &tender, body.clone()).await;
        assert!(s.is_client_error() && v["code"].is_string(), "{body}: {s} {v}");
    }
    let ev = events(&app, &tender).await;
    assert!(ev.iter().all(|e| !e["type"].as_str().expect("type").starts_with("session.")), "{ev:?}");
}

/// A committee tender waits in decryption for its notary: the host pauses
/// (the countdown freezes), resumes (the window moves by the time held),
/// extends once with a reason; the notary's release then starts the 唱标.
async fn pause_resume_and_extend_move_the_release_window(app: TestApp) {
    let s = Scratch::new();
    let (notary, token) = s.custodian(&app, "notary").await;
    let custody = json!({"threshold": 2, "custodians": ["server", "notary"], "release_window_minutes": 1});
    let tender = Draft::on(&app, 3).await.opening_in(4).custody(custody).published(&app).await;
    bids(&app, &tender, 1).await;
    let before = poll("decryption", std::time::Duration::from_secs(20), async || {
        let v = session(&app, &tender).await;
        (v["stage"] == "decryption").then_some(v)
    })
    .await;
    let (s1, v) = control(&app, Some("nobody"), &tender, json!({"action": "pause"})).await;
    assert_eq!(s1, StatusCode::UNAUTHORIZED, "{v}");
    let paused = host(&app, &tender, json!({"action": "pause", "notice": "等待公证人到场"})).await;
    assert_eq!((paused["paused"].clone(), paused["notice"].clone()), (json!(true), json!("等待公证人到场")));
    let frozen = paused["time_left_ms"].as_i64().expect("left");
    assert!(frozen > 0 && frozen <= before["time_left_ms"].as_i64().expect("left"), "{paused}");
    // The server clock moves on; the countdown does not.
    let t0 = parse_time(&paused["now"]);
    let later = poll("the clock moves", std::time::Duration::from_secs(5), async || {
        let v = session(&app, &tender).await;
        (parse_time(&v["now"]) > t0 + time::Duration::milliseconds(50)).then_some(v)
    })
    .await;
    assert_eq!(later["time_left_ms"].as_i64(), Some(frozen), "frozen while paused: {later}");
    let (s2, v) = control(&app, None, &tender, json!({"action": "resume"})).await;
    assert_eq!(s2, StatusCode::UNAUTHORIZED, "{v}");
    let (s3, v) = app
        .admin(
            Method::POST,
            &format!("/api/v1/tenders/{tender}/session"),
            Some(&json!({"action": "extend", "minutes": 5, "reason": "x"})),
        )
        .await;
    assert_eq!(s3, StatusCode::CONFLICT, "no extension while held: {v}");

    let resumed = host(&app, &tender, json!({"action": "resume"})).await;
    let ev = events(&app, &tender).await;
    let r = &of_kind(&ev, "session.resumed")[0]["data"];
    let p = &of_kind(&ev, "session.paused")[0]["data"];
    let held = parse_time(&r["at"]) - parse_time(&p["at"]);
    assert_eq!(r["held_ms"].as_i64(), i64::try_from(held.whole_milliseconds()).ok());
    assert_eq!(parse_time(&resumed["ends_at"]), parse_time(&before["ends_at"]) + held, "{resumed}");
    assert_eq!(resumed["release_until"], resumed["ends_at"], "the window is the stage");
    assert_eq!(r["from"], "paused");

    let extended = host(&app, &tender, json!({"action": "extend", "minutes": 5, "reason": "公证人在途"})).await;
    assert_eq!(parse_time(&extended["ends_at"]), parse_time(&resumed["ends_at"]) + time::Duration::minutes(5));
    assert_eq!(extended["extended"], json!(["decryption"]));
    let (s4, v) = app
        .admin(
            Method::POST,
            &format!("/api/v1/tenders/{tender}/session"),
            Some(&json!({"action": "extend", "minutes": 5, "reason": "again"})),
        )
        .await;
    assert_eq!((s4, v["code"].as_str()), (StatusCode::CONFLICT, Some("transition_not_allowed")), "once: {v}");
    assert!(of_kind(&events(&app, &tender).await, "bid.opened").is_empty(), "nothing read in decryption");

    custodian::release(s.release_args(&app, &tender, &notary, &token)).await.expect("notary releases");
    wait_for_state(&app, &tender, "opened", 30).await;
    let ev = events(&app, &tender).await;
    assert_eq!(stages(&ev), ["decryption", "announcement", "closed"]);
    assert_eq!(of_kind(&ev, "bid.opened").len(), 1);
    let report = verify(&app, &tender).await;
    assert!(report.passed(), "{report}");
    forged_stages_are_caught(&ev);
}

/// The events as the verifier reads them.
fn logged(ev: &[Value]) -> Vec<LoggedEvent> {
    ev.iter()
        .map(|e| LoggedEvent {
            seq: e["seq"].as_i64().expect("seq"),
            at: parse_time(&e["at"]),
            payload: EventPayload::from_data(e["type"].as_str().expect("type"), e["data"].clone()).expect("payload"),
            log_index: e["log_index"].as_u64().expect("index"),
        })
        .collect()
}

/// A server that signs lies still fails the session check: each forgery
/// of a real session's events is named.
fn forged_stages_are_caught(ev: &[Value]) {
    let (_, honest) = session_check::stages(&logged(ev));
    assert_eq!(honest, Vec::<String>::new());
    let forge = |f: &dyn Fn(&mut Vec<Value>)| {
        let mut ev = ev.to_vec();
        f(&mut ev);
        session_check::stages(&logged(&ev)).1
    };
    let at = |ev: &[Value], kind: &str| ev.iter().position(|e| e["type"] == kind).expect(kind);
    let frozen = forge(&|ev| {
        let i = at(ev, "session.paused");
        let left = ev[i]["data"]["time_left_ms"].as_i64().expect("left");
        ev[i]["data"]["time_left_ms"] = json!(left + 1000);
    });
    assert!(frozen.iter().any(|p| p.contains("time left")), "{frozen:?}");
    let no_resume = forge(&|ev| {
        ev.remove(at(ev, "session.resumed"));
    });
    assert!(no_resume.iter().any(|p| p.contains("while the session was held")), "{no_resume:?}");
    let longer = forge(&|ev| {
        let i = at(ev, "session.extended");
        ev[i]["data"]["minutes"] = json!(50);
    });
    assert!(longer.iter().any(|p| p.contains("minutes give")), "{longer:?}");
    let early = forge(&|ev| {
        let opened = ev.remove(at(ev, "bid.opened"));
        ev.insert(at(ev, "session.paused"), opened);
    });
    assert!(early.iter().any(|p| p.contains("outside the announcement")), "{early:?}");
    let announced = forge(&|ev| {
        let i = ev.iter().position(|e| e["data"]["stage"] == "announcement").expect("announcement");
        ev[i]["data"]["ends_at"] = json!("2030-01-01T00:00:00Z");
    });
    assert!(announced.iter().any(|p| p.contains("the terms say")), "{announced:?}");
}

/// The host terminates a session under way: nothing more opens, the
/// tender is `terminated`, and staff may cancel it.
async fn terminate_ends_the_session(app: TestApp) {
    let custody = json!({"threshold": 2, "custodians": ["server", "notary"], "release_window_minutes": 1});
    let s = Scratch::new();
    s.custodian(&app, "notary").await;
    let tender = Draft::on(&app, 3).await.opening_in(4).custody(custody).published(&app).await;
    bids(&app, &tender, 1).await;
    wait_for_state(&app, &tender, "opening", 20).await;
    let (st, v) =
        control(&app, Some(&app.staff("supervisor").await), &tender, json!({"action": "terminate", "reason": "x"}))
            .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    let v = host(&app, &tender, json!({"action": "terminate", "reason": "发现串标线索，终止开标"})).await;
    assert_eq!((v["state"].clone(), v["stage"].clone()), (json!("terminated"), json!("closed")), "{v}");
    let ev = events(&app, &tender).await;
    let t = &of_kind(&ev, "session.terminated")[0]["data"];
    assert_eq!((t["stage"].clone(), t["previous_state"].clone()), (json!("decryption"), json!("opening")));
    let (st, _) = control(&app, None, &tender, json!({"action": "resume"})).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, v) =
        app.admin(Method::POST, &format!("/api/v1/tenders/{tender}/session"), Some(&json!({"action": "resume"}))).await;
    assert_eq!(st, StatusCode::CONFLICT, "{v}");
    let report = verify(&app, &tender).await;
    assert!(!report.failed().contains(&Check::SessionStages), "{report}");
    app.admin_ok(Method::POST, &format!("/api/v1/tenders/{tender}/cancel"), Some(&json!({"reason": "终止后取消"})))
        .await;
}

fn count(ev: &[Value], kind: &str) -> usize {
    of_kind(ev, kind).len()
}

/// Kills the real binary while the 唱标 is paused (or suspended) and starts
/// it again: still held, the countdown still frozen, nothing opened
/// meanwhile; after the resumption every bid opens exactly once.
async fn held_session_survives_sigkill(mut app: TestApp, hold: Value) {
    app.stop().await;
    let node = Node::start(&app, 700);
    use_node(&mut app, &node);
    let tender = tender_with_bids(&app, 5).await;
    wait_events(&app, &tender, "two bids read", |ev| count(ev, "bid.opened") >= 2).await;
    let held = host(&app, &tender, hold.clone()).await;
    assert!(held["paused"] == true || held["suspended"] == true, "{held}");
    let opened = count(&events(&app, &tender).await, "bid.opened");
    assert!(opened < 5, "held mid-announcement");
    // A second tender opens after the restart: once it is opened the
    // engine has stepped through the held one too (tenders are stepped in
    // order of opening time), so a bid it wrongly opened would show.
    let witness = tender_with_bids(&app, 1).await;
    node.kill();
    let node = Node::start(&app, 700);
    use_node(&mut app, &node);
    wait_for_state(&app, &witness, "opened", 60).await;
    let ev = events(&app, &tender).await;
    let kinds: Vec<&str> = ev.iter().map(|e| e["type"].as_str().expect("type")).collect();
    assert_eq!(count(&ev, "bid.opened"), opened, "nothing read while held, across the restart: {kinds:?}");
    let again = session(&app, &tender).await;
    assert_eq!(
        (again["paused"].clone(), again["suspended"].clone()),
        (held["paused"].clone(), held["suspended"].clone())
    );
    assert_eq!(again["time_left_ms"], held["time_left_ms"], "frozen across the restart: {again}");
    assert_eq!(again["state"], "opening");
    host(&app, &tender, json!({"action": "resume"})).await;
    wait_for_state(&app, &tender, "opened", 60).await;
    assert_opened_exactly_once(&app, &tender, 5).await;
    let ev = events(&app, &tender).await;
    let kind = if hold["action"] == "pause" { "session.paused" } else { "session.suspended" };
    let from = ev.iter().position(|e| e["type"] == kind).expect("hold");
    let to = ev.iter().position(|e| e["type"] == "session.resumed").expect("resume");
    assert!(ev[from..to].iter().all(|e| e["type"] != "bid.opened"), "nothing read while held: {ev:?}");
    assert_eq!(count(&ev[..from], "bid.opened"), opened, "the hold stopped at a bid boundary");
    drop(node);
}

async fn paused_session_survives_sigkill(app: TestApp) {
    held_session_survives_sigkill(app, json!({"action": "pause"})).await;
}

async fn suspended_session_survives_sigkill(app: TestApp) {
    held_session_survives_sigkill(app, json!({"action": "suspend", "notice": "系统故障，开标暂停，恢复时间另行通知"}))
        .await;
}

/// Forged failures (a count at the minimum, a whole failure of a lot that
/// is not all) and a forged minimum in the terms are named.
async fn forged_minimum_is_caught(app: &TestApp, tender: &str, ev: &[Value]) {
    let close = session_close(ev);
    assert_eq!(session_check::minimum(&logged(ev), &close).1, Vec::<String>::new());
    let forge = |f: &dyn Fn(&mut Vec<Value>)| {
        let mut ev = ev.to_vec();
        f(&mut ev);
        session_check::minimum(&logged(&ev), &close).1
    };
    let i = ev.iter().position(|e| e["type"] == "tender.failed").expect("failed");
    let counted = forge(&|ev| ev[i]["data"]["lots"][0]["bidders"] = json!(3));
    assert!(counted.iter().any(|p| p.contains("only 2 bids stood")), "{counted:?}");
    assert!(counted.iter().any(|p| p.contains("failed with 3 bidders")), "{counted:?}");
    let partial = forge(&|ev| ev[i]["data"]["whole"] = json!(false));
    assert!(partial.iter().any(|p| p.contains("whole = false")), "{partial:?}");
    let lower = forge(&|ev| {
        let p = ev.iter().position(|e| e["type"] == "tender.published").expect("published");
        ev[p]["data"]["tender"]["session"]["min_bids"] = json!(2);
    });
    assert!(lower.iter().any(|p| p.contains("the terms say 2")), "{lower:?}");
    let _ = (app, tender);
}

fn session_close(ev: &[Value]) -> bidroom::verify::close::Close {
    bidroom::verify::close::replay(&logged(ev)).0.expect("a close")
}

/// `bidroom bidder sign-in` signs the room's nonce with the bidder key:
/// the room logs a pseudonym and the count, never the identity; a key the
/// server does not know is refused.
async fn bidder_signs_in_from_the_cli(app: TestApp) {
    let s = Scratch::new();
    let tender = Draft::on(&app, 3600).await.published(&app).await;
    let key = s.bidder(&app, "甲公司").await;
    let args = |key: &std::path::Path| bidroom::cli::sign_in::SignInArgs {
        server: crate::support::scratch::server(&app),
        tender: tender.parse().expect("uuid"),
        key: s.key_args(key),
    };
    let pseudonym = bidroom::cli::sign_in::sign_in(args(&key)).await.expect("sign in");
    assert!(pseudonym.len() == 16 && pseudonym.chars().all(|c| c.is_ascii_hexdigit()), "{pseudonym}");
    let ev = wait_events(&app, &tender, "the sign-in", |ev| !of_kind(ev, "room.signed_in").is_empty()).await;
    let signed = &of_kind(&ev, "room.signed_in")[0]["data"];
    assert_eq!((signed["bidder"].as_str(), signed["signed_in"].as_u64()), (Some(pseudonym.as_str()), Some(1)));
    assert!(!signed.to_string().contains("甲公司"), "no identity before the opening: {signed}");
    let stranger = s.keygen(bidroom::cli::keygen::KindArg::Bidder, "stranger.key").await;
    let err = bidroom::cli::sign_in::sign_in(args(&stranger)).await.expect_err("unknown bidder");
    assert!(format!("{err:#}").contains("sign_in_refused"), "{err:#}");
}

crate::on_both_backends!(
    bidder_signs_in_from_the_cli,
    bad_session_terms_are_named,
    stages_follow_the_terms_on_server_time,
    too_few_bidders_fail_and_nothing_is_decrypted,
    host_controls_are_refused_to_other_roles_and_states,
    pause_resume_and_extend_move_the_release_window,
    terminate_ends_the_session,
    paused_session_survives_sigkill,
    suspended_session_survives_sigkill,
);

/// Log entries of every session kind (and `tender.failed`) as this server
/// writes them, for the golden files of `event_entries.rs`.
async fn capture(app: TestApp) {
    let failed = Draft::on(&app, 3).await.opening_in(4).session(json!({"min_bids": 2})).published(&app).await;
    bids(&app, &failed, 1).await;
    wait_for_state(&app, &failed, "failed", 30).await;
    let s = Scratch::new();
    s.custodian(&app, "notary").await;
    let custody = json!({"threshold": 2, "custodians": ["server", "notary"], "release_window_minutes": 1});
    let held = Draft::on(&app, 3).await.opening_in(4).custody(custody).published(&app).await;
    bids(&app, &held, 1).await;
    wait_for_state(&app, &held, "opening", 20).await;
    host(&app, &held, json!({"action": "pause"})).await;
    host(&app, &held, json!({"action": "resume"})).await;
    host(&app, &held, json!({"action": "extend", "minutes": 5, "reason": "公证人在途"})).await;
    host(&app, &held, json!({"action": "suspend", "notice": "系统故障，开标暂停"})).await;
    host(&app, &held, json!({"action": "terminate", "reason": "终止开标"})).await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/event-entries.new");
    std::fs::create_dir_all(&dir).expect("dir");
    for tender in [&failed, &held] {
        for e in events(&app, tender).await {
            let kind = e["type"].as_str().expect("type");
            if !(kind.starts_with("session.") || kind == "tender.failed") {
                continue;
            }
            let (_, v) = app.get(&format!("/api/v1/log/entries/{}", e["log_index"])).await;
            use base64::Engine as _;
            let bytes =
                base64::engine::general_purpose::STANDARD.decode(v["entry"].as_str().expect("entry")).expect("b64");
            let mut n = 1;
            while dir.join(format!("{kind}.{n}.json")).exists() {
                n += 1;
            }
            std::fs::write(dir.join(format!("{kind}.{n}.json")), bytes).expect("write");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes golden entries of the session kinds; run by name when adding a kind or shape"]
async fn capture_session_entries() {
    crate::support::server::run_sqlite(capture).await
}

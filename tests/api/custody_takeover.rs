//! Nobody takes over a custodian (issue 18, point 0), nor a bidder, a staff
//! account or an admission: registrations never change what exists, a
//! release token is rotated only by the custodian's key, and a release is
//! tied to a proof of that key.

use bidroom::client::Client;
use bidroom::seal::{BidderKey, ChallengePurpose, CustodianSecretKey, answer_challenge, b64, challenge_info, unb64};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{Draft, TestApp, wait_events, wait_for_state};
use crate::support::bids::{custodian, register};
use crate::support::scratch::Scratch;

/// Fetches a challenge for `custodian` and answers it with `key`: the
/// `proof` a release or a rotation carries.
pub async fn answer(
    app: &TestApp,
    id: &str,
    key: &CustodianSecretKey,
    purpose: ChallengePurpose,
    tender: Option<&str>,
) -> Value {
    let tender: Option<Uuid> = tender.map(|t| t.parse().expect("uuid"));
    let body = json!({"purpose": purpose, "tender": tender});
    let (s, ch) = app.call(Method::POST, &format!("/api/v1/custodians/{id}/challenges"), None, Some(&body)).await;
    assert_eq!(s, StatusCode::CREATED, "{ch}");
    let enc = unb64(ch["enc"].as_str().expect("enc")).expect("b64");
    let ct = unb64(ch["ciphertext"].as_str().expect("ct")).expect("b64");
    let nonce = answer_challenge(key, &challenge_info(id, purpose, tender), &enc, &ct).expect("opens with the key");
    json!({"challenge_id": ch["challenge_id"], "response": b64(&nonce)})
}

/// A release body with a made-up proof (for calls refused before it counts).
fn release_body(shares: Value) -> Value {
    json!({"shares": shares, "proof": {"challenge_id": Uuid::new_v4(), "response": b64(&[0u8; 32])}})
}

/// Is `token` a valid release token? (A release on a tender not under
/// opening is refused after the token is checked: 409 then, 401 if not.)
async fn token_works(app: &TestApp, tender: &str, token: &str) -> bool {
    let path = format!("/api/v1/tenders/{tender}/opening/release");
    let (s, v) = app.call(Method::POST, &path, Some(token), Some(&release_body(json!([])))).await;
    match s {
        StatusCode::CONFLICT => true,
        StatusCode::UNAUTHORIZED => false,
        other => panic!("unexpected {other}: {v}"),
    }
}

async fn an_officer_cannot_re_register_a_custodian(app: TestApp) {
    let key = CustodianSecretKey::generate().expect("key");
    let pk = b64(key.public_key().as_bytes());
    let body = json!({"id": "notary", "name": "Notary Wang", "public_key": pk});
    let (s, reg) = app.admin(Method::POST, "/api/v1/custodians", Some(&body)).await;
    assert_eq!(s, StatusCode::CREATED, "{reg}");
    let token = reg["release_token"].as_str().expect("token").to_owned();
    let tender = Draft::on(&app, 3600)
        .await
        .custody(json!({"threshold": 2, "custodians": ["server", "notary"]}))
        .published(&app)
        .await;
    assert!(token_works(&app, &tender, &token).await);

    // The attack: the same id, name and key, all public.
    let officer = app.staff("officer").await;
    let (s, v) = app.call(Method::POST, "/api/v1/custodians", Some(&officer), Some(&body)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("custodian_exists")), "{v}");
    assert!(v.get("release_token").is_none());
    // Nor a new name, nor the key under another id.
    let renamed = json!({"id": "notary", "name": "Someone else", "public_key": pk});
    let (s, v) = app.call(Method::POST, "/api/v1/custodians", Some(&officer), Some(&renamed)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("custodian_exists")), "{v}");
    let other_id = json!({"id": "notary2", "name": "Notary Wang", "public_key": pk});
    let (s, v) = app.admin(Method::POST, "/api/v1/custodians", Some(&other_id)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("custodian_exists")), "{v}");

    assert!(token_works(&app, &tender, &token).await, "the custodian's own token still works");
    let (_, list) = app.get("/api/v1/custodians").await;
    let notary: Vec<&Value> = list.as_array().expect("list").iter().filter(|c| c["id"] == "notary").collect();
    assert_eq!(notary.len(), 1);
    assert_eq!(notary[0]["name"], "Notary Wang");
    assert!(!list.as_array().expect("list").iter().any(|c| c["id"] == "notary2"));
}

async fn only_the_custodians_key_rotates_its_token(app: TestApp) {
    let key = custodian(&app, "notary", "Notary").await;
    let tender = Draft::on(&app, 3600)
        .await
        .custody(json!({"threshold": 2, "custodians": ["server", "notary"]}))
        .published(&app)
        .await;
    let other = Draft::on(&app, 3600).await.published(&app).await;

    // A made-up answer, an answer for another purpose, a challenge of
    // another custodian: all refused, nothing changes.
    let token_path = "/api/v1/custodians/notary/token";
    let bogus = json!({"challenge_id": Uuid::new_v4(), "response": b64(&[1u8; 32])});
    let (s, v) = app.admin(Method::POST, token_path, Some(&bogus)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("bad_proof")), "{v}");
    let release = answer(&app, "notary", &key, ChallengePurpose::Release, Some(&tender)).await;
    let (s, v) = app.call(Method::POST, token_path, None, Some(&release)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("bad_proof")), "{v}");
    let body = json!({"purpose": "rotate"});
    let (s, ch) = app.call(Method::POST, "/api/v1/custodians/notary/challenges", None, Some(&body)).await;
    assert_eq!(s, StatusCode::CREATED, "{ch}");
    let wrong = json!({"challenge_id": ch["challenge_id"], "response": b64(&[2u8; 32])});
    let (s, v) = app.call(Method::POST, token_path, None, Some(&wrong)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("bad_proof")), "a wrong answer: {v}");
    // Another key cannot open it.
    let thief = CustodianSecretKey::generate().expect("key");
    let enc = unb64(ch["enc"].as_str().expect("enc")).expect("b64");
    let ct = unb64(ch["ciphertext"].as_str().expect("ct")).expect("b64");
    let info = challenge_info("notary", ChallengePurpose::Rotate, None);
    assert!(answer_challenge(&thief, &info, &enc, &ct).is_none());

    // The custodian itself: a new token, the old one stops working.
    let client = Client::new(&app.base).expect("client");
    let old = client.rotate_release_token("notary", &key).await.expect("rotate");
    assert!(token_works(&app, &tender, &old).await);
    let proof = answer(&app, "notary", &key, ChallengePurpose::Rotate, None).await;
    let (s, v) = app.call(Method::POST, token_path, None, Some(&proof)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let new = v["release_token"].as_str().expect("token");
    assert!(!token_works(&app, &tender, &old).await, "the old token is revoked");
    assert!(token_works(&app, &tender, new).await);
    let (s, v) = app.call(Method::POST, token_path, None, Some(&proof)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("bad_proof")), "single use: {v}");

    // Each rotation is public in the log of the tender naming the custodian
    // (the client's and this one), with the challenge it answered; refused
    // attempts log nothing. A tender not naming it logs nothing.
    let rotated: Vec<Value> = crate::support::wait::events(&app, &tender)
        .await
        .into_iter()
        .filter(|e| e["type"] == "custodian.token_rotated")
        .collect();
    assert_eq!(rotated.len(), 2, "{rotated:?}");
    assert!(rotated.iter().all(|e| e["data"]["custodian"] == "notary"), "{rotated:?}");
    assert_eq!(rotated[1]["data"]["proof"], proof["challenge_id"], "{rotated:?}");
    let others = crate::support::wait::events(&app, &other).await;
    assert!(!others.iter().any(|e| e["type"] == "custodian.token_rotated"), "{others:?}");

    // Challenges are bounded per custodian.
    let mut limited = None;
    for _ in 0..30 {
        let (s, v) = app.call(Method::POST, "/api/v1/custodians/notary/challenges", None, Some(&body)).await;
        if s != StatusCode::CREATED {
            limited = Some((s, v));
            break;
        }
    }
    let (s, v) = limited.expect("a limit");
    assert_eq!((s, v["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("too_many_challenges")), "{v}");
    let (s, v) = app.call(Method::POST, "/api/v1/custodians/ghost/challenges", None, Some(&body)).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
}

async fn a_release_needs_a_proof_by_the_key(app: TestApp) {
    let s = Scratch::new();
    let (notary_file, token) = s.custodian(&app, "notary").await;
    let key = bidroom::cli::custodian::unlock_custodian(&s.key_args(&notary_file)).await.expect("unlock");
    let custody = json!({"threshold": 2, "custodians": ["server", "notary"], "release_window_minutes": 10});
    let tender = Draft::on(&app, 3).await.opening_in(4).custody(custody).published(&app).await;
    let bidder = s.bidder(&app, "One").await;
    s.seal(&app, &tender, &bidder, "10.00", "one").await.expect("seal");
    wait_for_state(&app, &tender, "opening", 20).await;

    // The token alone (with a made-up proof) records nothing.
    let path = format!("/api/v1/tenders/{tender}/opening/release");
    let (_, env) = app.get(&format!("/api/v1/tenders/{tender}/envelopes")).await;
    let mut forged = vec![2u8];
    forged.extend_from_slice(&[7u8; 32]);
    let shares = json!([{"bid_id": env[0]["bid_id"], "share": b64(&forged)}]);
    let (st, v) = app.call(Method::POST, &path, Some(&token), Some(&release_body(shares.clone()))).await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("bad_proof")), "{v}");
    // A proof for another tender's release is no proof for this one.
    let rotate = answer(&app, "notary", &key, ChallengePurpose::Rotate, None).await;
    let (st, v) = app.call(Method::POST, &path, Some(&token), Some(&json!({"shares": shares, "proof": rotate}))).await;
    assert_eq!((st, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("bad_proof")), "{v}");

    // The CLI fetches a challenge, opens it with the key and releases.
    let released =
        bidroom::cli::custodian::release(s.release_args(&app, &tender, &notary_file, &token)).await.expect("release");
    assert_eq!(released.result.expect("released").accepted, 1);
    wait_for_state(&app, &tender, "opened", 20).await;
    let is_notary = |e: &Value| e["type"] == "custodian.released" && e["data"]["custodian"] == "notary";
    let events = wait_events(&app, &tender, "the notary's release", |ev| ev.iter().any(is_notary)).await;
    let ev = events.iter().filter(|e| is_notary(e)).collect::<Vec<_>>();
    assert_eq!(ev.len(), 1, "the refused releases recorded nothing");
    assert!(ev[0]["data"]["proof"].as_str().is_some_and(|p| p.parse::<Uuid>().is_ok()), "{}", ev[0]);
}

async fn nobody_re_registers_a_bidder(app: TestApp) {
    let key = register(&app, "Acme").await;
    let pk = b64(key.public_key().as_bytes());
    let proof = b64(&key.sign(&bidroom::seal::register_message(key.public_key().as_bytes())).expect("sign"));
    let again = json!({"name": "Not Acme", "public_key": pk, "proof": proof});
    let (s, v) = app.call(Method::POST, "/api/v1/bidders", None, Some(&again)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["name"], "Acme", "a repeated registration changes nothing: {v}");
    let (_, v) = app.get(&format!("/api/v1/bidders/{}", key.public_key().key_id())).await;
    assert_eq!(v["name"], "Acme");
    // Another key cannot register this one (nor claim its id).
    let other = BidderKey::generate().expect("key");
    let forged = b64(&other.sign(&bidroom::seal::register_message(key.public_key().as_bytes())).expect("sign"));
    let body = json!({"name": "Mallory", "public_key": pk, "proof": forged});
    let (s, v) = app.call(Method::POST, "/api/v1/bidders", None, Some(&body)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("bad_signature")), "{v}");
}

async fn nobody_creates_someone_elses_staff_account(app: TestApp) {
    let officer = app.staff("officer").await;
    let body = json!({"name": "Root", "role": "admin"});
    let (s, v) = app.call(Method::POST, "/api/v1/staff", Some(&officer), Some(&body)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "an officer creates no admin: {v}");
    let (_, me) = app.admin(Method::GET, "/api/v1/staff/me", None).await;
    let with_id = json!({"name": "Root", "role": "admin", "id": me["id"]});
    let (s, v) = app.admin(Method::POST, "/api/v1/staff", Some(&with_id)).await;
    assert!(s.is_client_error(), "nobody picks an account id: {s} {v}");
    let one = app.admin_ok(Method::POST, "/api/v1/staff", Some(&json!({"name": "Li", "role": "officer"}))).await;
    let two = app.admin_ok(Method::POST, "/api/v1/staff", Some(&json!({"name": "Li", "role": "officer"}))).await;
    assert_ne!(one["staff"]["id"], two["staff"]["id"], "the same name is a new account");
    assert_ne!(one["token"], two["token"]);
    let (s, first) = app.call(Method::GET, "/api/v1/staff/me", one["token"].as_str(), None).await;
    assert_eq!((s, &first["id"]), (StatusCode::OK, &one["staff"]["id"]), "the first account keeps its token");
}

async fn admissions_are_idempotent_and_only_by_staff_who_may(app: TestApp) {
    let key = register(&app, "Acme").await;
    let mut draft = Draft::on(&app, 3600).await.json();
    draft["registration"] = json!("approved");
    let (s, t) = app.admin(Method::POST, "/api/v1/tenders", Some(&draft)).await;
    assert!(s.is_success(), "{t}");
    let tender = t["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v1/tenders/{tender}/admissions");
    let body = json!({"bidder": key.public_key().key_id()});
    let evaluator = app.staff("evaluator").await;
    let (s, v) = app.call(Method::POST, &path, Some(&evaluator), Some(&body)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, v) = app.call(Method::POST, &path, None, Some(&body)).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    for _ in 0..2 {
        let (s, v) = app.admin(Method::POST, &path, Some(&body)).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    }
    let (s, v) = app.admin(Method::POST, &path, Some(&json!({"bidder": "nobody"}))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
}

crate::on_both_backends!(
    an_officer_cannot_re_register_a_custodian,
    only_the_custodians_key_rotates_its_token,
    a_release_needs_a_proof_by_the_key,
    nobody_re_registers_a_bidder,
    nobody_creates_someone_elses_staff_account,
    admissions_are_idempotent_and_only_by_staff_who_may,
);

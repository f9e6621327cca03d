//! Bidder-held custody (远程解密): the `bidder` custodian slot, the bidder's
//! decryption key bound to its identity, sealing to it, the bidder's signed
//! release during the decryption window, the blame when it does not or
//! sends a bad share, a committee with the bidder as one more share, the
//! refusals, the CLI, and `bidroom verify` on all of it (and on a doctored
//! blame).

use bidroom::cli::bidder_decrypt::{self, DecryptArgs, DecryptionKeyArgs};
use bidroom::cli::keygen::KindArg;
use bidroom::seal::{
    BidSealer, BidderKey, Binding, ChallengePurpose, CustodianSecretKey, Envelope, b64, bidder_release_message,
    decryption_key_message, open_share, unb64,
};
use bidroom::verify::Check;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::{Draft, TestApp, wait_for_state};
use crate::opening::{tamper_entry, verify};
use crate::support::bids::{Sealed, custodian, policy, register, submit};
use crate::support::scratch::{Scratch, server};

/// A bidder with a registered decryption key.
pub(crate) struct Holder {
    pub key: BidderKey,
    pub decryption: CustodianSecretKey,
}

/// Signs and sends a decryption-key statement; returns status and body.
async fn put_key(
    app: &TestApp,
    signer: &BidderKey,
    owner: &BidderKey,
    key: &CustodianSecretKey,
    previous: Option<&CustodianSecretKey>,
) -> (StatusCode, Value) {
    let prev = previous.map(|p| *p.public_key().as_bytes());
    let msg = decryption_key_message(owner.public_key().as_bytes(), key.public_key().as_bytes(), prev.as_ref());
    let body = json!({
        "public_key": b64(key.public_key().as_bytes()),
        "previous": prev.map(|p| b64(&p)),
        "signature": b64(&signer.sign(&msg).expect("sign")),
    });
    let path = format!("/api/v1/bidders/{}/decryption-key", owner.public_key().key_id());
    app.call(Method::PUT, &path, None, Some(&body)).await
}

/// Registers a bidder and its decryption key.
pub(crate) async fn holder(app: &TestApp, name: &str) -> Holder {
    let key = register(app, name).await;
    let decryption = CustodianSecretKey::generate().expect("key");
    let (s, v) = put_key(app, &key, &key, &decryption, None).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    Holder { key, decryption }
}

/// Seals `{"price": price, "days": 90}` with the bidder slot filled by `slot_key`.
pub(crate) async fn seal_to(
    app: &TestApp,
    tender: &str,
    key: &BidderKey,
    slot_key: &CustodianSecretKey,
    price: &str,
) -> Sealed {
    let custody = policy(app, tender).await.with_bidder_key(&slot_key.public_key());
    let bid_id = Uuid::new_v4();
    let sealer = BidSealer::new(Binding::new(tender.parse().expect("uuid"), bid_id), "1", &custody).expect("sealer");
    let form = serde_json::to_vec(&json!({"price": price, "days": 90})).expect("json");
    let sealed = sealer.seal(&form, key, time::OffsetDateTime::now_utc()).expect("seal");
    Sealed {
        bid_id,
        envelope: sealed.envelope,
        signature: sealed.signature.to_vec(),
        form: sealed.form_ciphertext,
        documents: Vec::new(),
    }
}

/// A tender under `custody`, closing in 3 s and opening in 4 s.
pub(crate) async fn tender(app: &TestApp, custody: Value) -> String {
    Draft::on(app, 3).await.opening_in(4).custody(custody).published(app).await
}

/// The served envelope of `bid`.
async fn envelope(app: &TestApp, tender: &str, bid: Uuid) -> Envelope {
    let served = crate::common::poll("the envelopes to be public", std::time::Duration::from_secs(15), async || {
        let (s, v) = app.get(&format!("/api/v1/tenders/{tender}/envelopes")).await;
        (s == StatusCode::OK).then_some(v)
    })
    .await;
    let bid = served.as_array().expect("list").iter().find(|b| b["bid_id"] == bid.to_string()).expect("served bid");
    Envelope::parse(&unb64(bid["envelope"].as_str().expect("envelope")).expect("b64")).expect("parse")
}

/// A release body: `share` signed by `signer` at `signed_at`.
pub(crate) fn release_body(tender: &str, bid: Uuid, share: &[u8; 33], signer: &BidderKey, signed_at: i64) -> Value {
    let msg = bidder_release_message(tender.parse().expect("uuid"), bid, share, signed_at);
    json!({"share": b64(share), "signed_at": signed_at, "signature": b64(&signer.sign(&msg).expect("sign"))})
}

pub(crate) async fn release(app: &TestApp, tender: &str, bid: Uuid, body: &Value) -> (StatusCode, Value) {
    app.call(Method::POST, &format!("/api/v1/tenders/{tender}/bids/{bid}/bidder-release"), None, Some(body)).await
}

/// The bidder's own share of `bid`, opened with its decryption key.
pub(crate) async fn own_share(app: &TestApp, tender: &str, bid: Uuid, h: &Holder) -> [u8; 33] {
    let env = envelope(app, tender, bid).await;
    let index = env.custody.bidder_index().expect("bidder slot");
    open_share(&env, index, &h.decryption).expect("opens").to_bytes().as_ref().try_into().expect("33 bytes")
}

async fn now_secs(app: &TestApp) -> i64 {
    crate::common::server_now(app).await.unix_timestamp()
}

/// The record's row for `bid`.
fn row(record: &Value, bid: Uuid) -> &Value {
    record["rows"].as_array().expect("rows").iter().find(|r| r["bid_id"] == bid.to_string()).expect("row")
}

async fn policy_rules_and_the_reserved_id(app: TestApp) {
    let draft = |custody: Value| Draft::closing_in(time::OffsetDateTime::now_utc(), 3600).custody(custody).json();
    for (custody, why) in [
        (json!({"threshold": 1, "custodians": ["server", "bidder"]}), "k < n with the bidder"),
        (json!({"threshold": 2, "custodians": ["bidder", "bidder"]}), "the bidder twice"),
    ] {
        let (s, v) = app.admin(Method::POST, "/api/v1/tenders", Some(&draft(custody))).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{why}: {v}");
        assert!(v["field"].as_str().unwrap_or_default().starts_with("custody"), "{why}: {v}");
    }
    let body = json!({"id": "bidder", "name": "Mallory", "public_key": b64(CustodianSecretKey::generate().unwrap().public_key().as_bytes())});
    let (s, v) = app.admin(Method::POST, "/api/v1/custodians", Some(&body)).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("id")), "{v}");
    // The published policy names the bidder's slot without a key.
    let t = Draft::on(&app, 3600)
        .await
        .custody(json!({"threshold": 2, "custodians": ["server", "bidder"]}))
        .published(&app)
        .await;
    let (_, custody) = app.get(&format!("/api/v1/tenders/{t}/custody")).await;
    assert_eq!(custody["custodians"][1], json!({"index": 2, "id": "bidder"}), "{custody}");
    assert!(custody["custodians"][0]["public_key"].is_string());
}

async fn only_the_bidder_registers_its_decryption_key(app: TestApp) {
    let alice = register(&app, "Alice").await;
    let mallory = register(&app, "Mallory").await;
    let k1 = CustodianSecretKey::generate().unwrap();
    let k2 = CustodianSecretKey::generate().unwrap();
    let path = format!("/api/v1/bidders/{}/decryption-key", alice.public_key().key_id());
    assert_eq!(app.get(&path).await.0, StatusCode::NOT_FOUND);
    // Mallory cannot bind a key to Alice.
    let (s, v) = put_key(&app, &mallory, &alice, &k1, None).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("bad_signature")), "{v}");
    assert_eq!(app.get(&path).await.0, StatusCode::NOT_FOUND, "nothing was stored");
    let (s, v) = put_key(&app, &alice, &alice, &k1, None).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(put_key(&app, &alice, &alice, &k1, None).await.0, StatusCode::OK, "the same statement again");
    // Replacing names the current key; the first statement replayed cannot roll it back.
    let (s, v) = put_key(&app, &alice, &alice, &k2, None).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("stale_decryption_key")), "{v}");
    assert_eq!(put_key(&app, &alice, &alice, &k2, Some(&k1)).await.0, StatusCode::CREATED);
    let (s, v) = put_key(&app, &alice, &alice, &k1, None).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("stale_decryption_key")), "replay: {v}");
    let (_, v) = app.get(&path).await;
    assert_eq!(v["public_key"], b64(k2.public_key().as_bytes()));
    // Mallory cannot take Alice's key as its own, nor a custodian's.
    let (s, v) = put_key(&app, &mallory, &mallory, &k2, None).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("decryption_key_taken")), "{v}");
    let notary = custodian(&app, "notary", "Notary").await;
    let (s, v) = put_key(&app, &mallory, &mallory, &notary, None).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("public_key")), "{v}");
    // Malformed input.
    let mpath = format!("/api/v1/bidders/{}/decryption-key", mallory.public_key().key_id());
    let (s, v) = app.call(Method::PUT, &mpath, None, Some(&json!({"public_key": "!!", "signature": "AA"}))).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("public_key")), "{v}");
    let (s, v) =
        app.call(Method::PUT, &mpath, None, Some(&json!({"public_key": "AA", "signature": "AA", "x": 1}))).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_field")), "{v}");
    let (s, _) = app
        .call(
            Method::PUT,
            "/api/v1/bidders/0123456789abcdef/decryption-key",
            None,
            Some(&json!({"public_key": b64(k1.public_key().as_bytes()), "signature": "AA"})),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// Server + bidder, 2 of 2: Alice decrypts and her bid opens, Bob does not
/// and Carol sends a bad share (both blamed on the bidder); a committee
/// tender beside it (server, notary, bidder; 3 of 3) where the notary
/// releases for Frank's bid only, so Erin's bid is the notary's fault.
async fn bidder_held_blame_is_right_and_verified(app: TestApp) {
    let two = json!({"threshold": 2, "custodians": ["server", "bidder"], "release_window_minutes": 1});
    let (notary, token) = notary(&app).await;
    let committee = json!({"threshold": 3, "custodians": ["server", "notary", "bidder"], "release_window_minutes": 1});
    let t = tender(&app, two).await;
    let c = tender(&app, committee).await;
    let (alice, bob, carol) = (holder(&app, "Alice").await, holder(&app, "Bob").await, holder(&app, "Carol").await);
    let (erin, frank) = (holder(&app, "Erin").await, holder(&app, "Frank").await);
    // Refused at submission: no decryption key, or sealed to another key.
    let dave = register(&app, "Dave").await;
    let stray = CustodianSecretKey::generate().unwrap();
    let (s, v) = submit(&app, &t, &seal_to(&app, &t, &dave, &stray, "1.00").await).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("no_decryption_key")), "{v}");
    let (s, v) = submit(&app, &t, &seal_to(&app, &t, &alice.key, &stray, "1.00").await).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("policy_mismatch")), "{v}");
    let mut bids = Vec::new();
    for (h, tender, price) in [
        (&alice, &t, "100.00"),
        (&bob, &t, "90.00"),
        (&carol, &t, "95.00"),
        (&erin, &c, "80.00"),
        (&frank, &c, "85.00"),
    ] {
        let sealed = seal_to(&app, tender, &h.key, &h.decryption, price).await;
        let (s, v) = submit(&app, tender, &sealed).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        bids.push(sealed.bid_id);
    }
    let [a, b, cb, e, f] = bids[..] else { unreachable!() };
    // Before the opening there is nothing to release.
    let early = release_body(&t, a, &[2; 33], &alice.key, now_secs(&app).await);
    let (s, v) = release(&app, &t, a, &early).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("not_opening")), "{v}");
    wait_for_state(&app, &t, "opening", 20).await;
    wait_for_state(&app, &c, "opening", 20).await;

    let share = own_share(&app, &t, a, &alice).await;
    let now = now_secs(&app).await;
    // Refusals: another bidder's signature, a stale time, a wrong index, malformed.
    let (s, v) = release(&app, &t, a, &release_body(&t, a, &share, &bob.key, now)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("bad_signature")), "{v}");
    let (s, v) = release(&app, &t, a, &release_body(&t, a, &share, &alice.key, now - 3600)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("stale_release")), "{v}");
    let mut wrong_x = share;
    wrong_x[0] = 1;
    let (s, v) = release(&app, &t, a, &release_body(&t, a, &wrong_x, &alice.key, now)).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("share")), "{v}");
    let (s, v) = release(&app, &t, a, &json!({"share": "***", "signed_at": now, "signature": "AA"})).await;
    assert_eq!((s, v["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("share")), "{v}");
    let (s, v) = release(&app, &t, a, &json!({"share": b64(&share), "signed_at": "soon", "signature": "AA"})).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_field")), "{v}");
    let (s, v) = release(&app, &t, Uuid::new_v4(), &release_body(&t, a, &share, &alice.key, now)).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    // Alice releases; the same request again is a replay.
    let body = release_body(&t, a, &share, &alice.key, now);
    let (s, v) = release(&app, &t, a, &body).await;
    assert_eq!((s, v["good"].as_bool()), (StatusCode::CREATED, Some(true)), "{v}");
    let (s, v) = release(&app, &t, a, &body).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("already_released")), "{v}");
    // Carol sends a share that is not hers to send: x right, y made up.
    let mut bad = [7u8; 33];
    bad[0] = 2;
    let (s, v) = release(&app, &t, cb, &release_body(&t, cb, &bad, &carol.key, now)).await;
    assert_eq!((s, v["good"].as_bool()), (StatusCode::CREATED, Some(false)), "{v}");
    // The committee: Erin and Frank decrypt; the notary releases Frank's only.
    for (bid, h) in [(e, &erin), (f, &frank)] {
        let share = own_share(&app, &c, bid, h).await;
        let (s, v) = release(&app, &c, bid, &release_body(&c, bid, &share, &h.key, now_secs(&app).await)).await;
        assert_eq!((s, v["good"].as_bool()), (StatusCode::CREATED, Some(true)), "{v}");
    }
    let env = envelope(&app, &c, f).await;
    let notary_share = open_share(&env, 2, &notary).expect("notary opens").to_bytes();
    let proof = crate::custody_takeover::answer(&app, "notary", &notary, ChallengePurpose::Release, Some(&c)).await;
    let body = json!({"shares": [{"bid_id": f, "share": b64(notary_share.as_ref())}], "proof": proof});
    let (s, v) =
        app.call(Method::POST, &format!("/api/v1/tenders/{c}/opening/release"), Some(&token), Some(&body)).await;
    assert_eq!((s, v["accepted"].as_u64()), (StatusCode::OK, Some(1)), "{v}");

    // The window ends (one minute after the opening).
    wait_for_state(&app, &t, "opened", 120).await;
    wait_for_state(&app, &c, "opened", 30).await;
    let (_, record) = app.get(&format!("/api/v1/tenders/{t}/record")).await;
    assert_eq!(row(&record, a)["status"], "opened", "{record}");
    assert_eq!(row(&record, a)["fields"]["price"], "100.00");
    for (bid, why) in [(b, "not_released"), (cb, "bad")] {
        let r = row(&record, bid);
        assert_eq!(
            (r["status"].as_str(), r["blame"].as_str(), r["bidder_share"].as_str()),
            (Some("rejected"), Some("bidder"), Some(why)),
            "{r}"
        );
    }
    let (_, record_c) = app.get(&format!("/api/v1/tenders/{c}/record")).await;
    assert_eq!(row(&record_c, f)["status"], "opened", "{record_c}");
    let r = row(&record_c, e);
    assert_eq!((r["status"].as_str(), r["not_released_by"].clone()), (Some("unopened"), json!(["notary"])), "{r}");
    assert!(r.get("bidder_share").is_none(), "{r}");
    // After the window nothing more is taken.
    let late = own_share(&app, &t, b, &bob).await;
    let (s, v) = release(&app, &t, b, &release_body(&t, b, &late, &bob.key, now_secs(&app).await)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("not_opening")), "{v}");
    // The events: the bad share is published with its signature, a good one never.
    let (_, events) = app.get(&format!("/api/v1/tenders/{t}/events")).await;
    let released: Vec<&Value> =
        events["events"].as_array().expect("events").iter().filter(|e| e["type"] == "bidder.released").collect();
    assert_eq!(released.len(), 2, "{released:?}");
    assert!(released.iter().any(|e| e["data"]["good"] == true && e["data"].get("share").is_none()));
    assert!(released.iter().any(|e| e["data"]["good"] == false && e["data"]["share"] == b64(&bad)));

    for tender in [&t, &c] {
        let report = verify(&app, tender).await;
        assert!(report.passed(), "{report}");
    }
    // A doctored blame: Bob's silence recorded as a bad share.
    tamper_entry(&app, &t, "bid.rejected", "\"bidder_share\":\"not_released\"", "\"bidder_share\":\"bad\"").await;
    let report = verify(&app, &t).await;
    assert!(report.failed().contains(&Check::BidderBlame), "{report}");
    // And the committee's: Erin's bid blamed on its bidder instead of the notary.
    tamper_entry(&app, &c, "bid.unopened", "\"not_released_by\":[\"notary\"]", "\"not_released_by\":[\"bidder\"]")
        .await;
    let report = verify(&app, &c).await;
    assert!(report.failed().contains(&Check::UnopenedBlame), "{report}");
}

/// Registers the custodian `notary`: its key and release token.
async fn notary(app: &TestApp) -> (CustodianSecretKey, String) {
    let key = CustodianSecretKey::generate().expect("key");
    let body = json!({"id": "notary", "name": "Notary", "public_key": b64(key.public_key().as_bytes())});
    let (s, v) = app.admin(Method::POST, "/api/v1/custodians", Some(&body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    (key, v["release_token"].as_str().expect("token").to_owned())
}

async fn the_cli_registers_seals_and_decrypts(app: TestApp) {
    let scratch = Scratch::new();
    let key = scratch.bidder(&app, "Cli Co").await;
    let dec = scratch.keygen(KindArg::Decryption, "cli.dec").await;
    let args = DecryptionKeyArgs { server: server(&app), key: scratch.key_args(&key), decryption_key: dec.clone() };
    let registered = bidder_decrypt::register_decryption_key(args.clone()).await.expect("register");
    let again = bidder_decrypt::register_decryption_key(args).await.expect("again");
    assert_eq!(registered, again);
    let t =
        tender(&app, json!({"threshold": 2, "custodians": ["server", "bidder"], "release_window_minutes": 5})).await;
    // Without --decryption-key the CLI refuses before uploading anything.
    let err = scratch.seal(&app, &t, &key, "77.00", "none").await.expect_err("needs the decryption key");
    assert!(format!("{err:#}").contains("--decryption-key"), "{err:#}");
    let form = scratch.write_form("form.json", &json!({"price": "77.00", "days": 30}));
    let mut seal_args = scratch.seal_args(&app, &t, &key, &form, "cli");
    seal_args.decryption_key = Some(dec.clone());
    let sealed = bidroom::cli::seal::run(seal_args).await.expect("seal");
    wait_for_state(&app, &t, "opening", 20).await;
    let decrypt = DecryptArgs {
        server: server(&app),
        tender: t.parse().expect("uuid"),
        key: scratch.key_args(&key),
        decryption_key: dec,
        decryption_passphrase_file: None,
        bid: None,
    };
    let done = bidder_decrypt::decrypt(decrypt).await.expect("decrypt");
    assert_eq!(done.len(), 1);
    assert!(done[0].answer.good);
    assert_eq!(done[0].bid_id, sealed.bid_id);
    // Every share is in, so the bid opens without waiting for the window.
    wait_for_state(&app, &t, "opened", 20).await;
    let (_, record) = app.get(&format!("/api/v1/tenders/{t}/record")).await;
    assert_eq!(row(&record, sealed.bid_id)["fields"]["price"], "77.00", "{record}");
    assert!(verify(&app, &t).await.passed());
}

// The demo's bidder-held step is checked by `opening::demo_runs_a_two_of_three_session`.
crate::on_both_backends!(
    policy_rules_and_the_reserved_id,
    only_the_bidder_registers_its_decryption_key,
    bidder_held_blame_is_right_and_verified,
    the_cli_registers_seals_and_decrypts
);

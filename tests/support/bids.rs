//! Bidders, custodians and sealed bids made by the project's own Rust
//! sealer (as the CLI would), submitted over HTTP.

use bidroom::ledger::Verifier;
use bidroom::seal::{BidSealer, BidderKey, Binding, CustodianSecretKey, CustodyPolicy, b64, register_message};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use super::server::TestApp;

/// A bid ready to upload.
pub struct Sealed {
    pub bid_id: Uuid,
    pub envelope: Vec<u8>,
    pub signature: Vec<u8>,
    pub form: Vec<u8>,
    pub documents: Vec<Vec<u8>>,
}

impl Sealed {
    /// The envelope's hash, as receipts and events name it.
    pub fn envelope_hash(&self) -> String {
        sha256_hex(&self.envelope)
    }
}

/// Hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes))
}

/// Registers a bidder with a fresh key and its proof of possession.
pub async fn register(app: &TestApp, name: &str) -> BidderKey {
    let key = BidderKey::generate().expect("bidder key");
    let pk = key.public_key();
    let proof = key.sign(&register_message(pk.as_bytes())).expect("sign");
    let body = json!({"name": name, "public_key": b64(pk.as_bytes()), "proof": b64(&proof)});
    let (s, v) = app.call(Method::POST, "/api/v1/bidders", None, Some(&body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["id"], pk.key_id());
    key
}

/// Registers a custodian `id` with a fresh key; returns the key.
pub async fn custodian(app: &TestApp, id: &str, name: &str) -> CustodianSecretKey {
    let key = CustodianSecretKey::generate().expect("custodian key");
    let body = json!({"id": id, "name": name, "public_key": b64(key.public_key().as_bytes())});
    let (s, v) = app.admin(Method::POST, "/api/v1/custodians", Some(&body)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    key
}

/// The tender's published custody policy.
pub async fn policy(app: &TestApp, tender: &str) -> CustodyPolicy {
    let resp = app.client.get(app.url(&format!("/api/v1/tenders/{tender}/custody"))).send().await.expect("custody");
    assert_eq!(resp.status(), StatusCode::OK);
    resp.json().await.expect("custody policy")
}

/// Seals a bid for lot 1 with the form `{"price": price, "days": 90}`.
pub async fn seal(app: &TestApp, tender: &str, key: &BidderKey, price: &str, docs: &[&[u8]]) -> Sealed {
    seal_form(app, tender, key, &json!({"price": price, "days": 90}), docs).await
}

/// Seals a bid for lot 1 with `form` and the documents `docs`.
pub async fn seal_form(app: &TestApp, tender: &str, key: &BidderKey, form: &Value, docs: &[&[u8]]) -> Sealed {
    seal_for_lot(app, tender, key, "1", form, docs).await
}

/// Seals a bid for `lot` with `form` and the documents `docs`.
pub async fn seal_for_lot(
    app: &TestApp,
    tender: &str,
    key: &BidderKey,
    lot: &str,
    form: &Value,
    docs: &[&[u8]],
) -> Sealed {
    let tender_id: Uuid = tender.parse().expect("tender uuid");
    let bid_id = Uuid::new_v4();
    let mut sealer = BidSealer::new(Binding::new(tender_id, bid_id), lot, &policy(app, tender).await).expect("sealer");
    let mut documents = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        let mut out = Vec::new();
        sealer.seal_document(&format!("doc{i}.pdf"), "application/pdf", *d, &mut out).expect("seal document");
        documents.push(out);
    }
    let form = serde_json::to_vec(form).expect("form json");
    let sealed = sealer.seal(&form, key, time::OffsetDateTime::now_utc()).expect("seal");
    Sealed {
        bid_id,
        envelope: sealed.envelope,
        signature: sealed.signature.to_vec(),
        form: sealed.form_ciphertext,
        documents,
    }
}

/// The multipart submission of a sealed bid.
pub fn multipart(s: &Sealed) -> Form {
    let mut form = Form::new()
        .part("envelope", Part::bytes(s.envelope.clone()))
        .part("signature", Part::bytes(s.signature.clone()))
        .part("form", Part::bytes(s.form.clone()));
    for d in &s.documents {
        form = form.part("document", Part::bytes(d.clone()));
    }
    form
}

/// Submits a sealed bid in one multipart request; returns status and body.
pub async fn submit(app: &TestApp, tender: &str, s: &Sealed) -> (StatusCode, Value) {
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/tenders/{tender}/bids")))
        .multipart(multipart(s))
        .send()
        .await
        .expect("submit");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The log's verifier key, as the server publishes it.
pub async fn verifier(app: &TestApp) -> Verifier {
    let key = app.client.get(app.url("/log/key")).send().await.expect("log key").text().await.expect("key text");
    Verifier::parse(key.trim()).expect("verifier key")
}

/// The number of standing bids the public sees.
pub async fn bid_count(app: &TestApp, tender: &str) -> u64 {
    let (_, v) = app.get(&format!("/api/v1/tenders/{tender}/bids")).await;
    v["count"].as_u64().expect("count")
}

/// Files under the data directory's `blobs/` and `tmp/`.
pub fn blob_files(app: &TestApp) -> usize {
    fn walk(p: &std::path::Path) -> usize {
        std::fs::read_dir(p)
            .map(|d| d.flatten().map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 }).sum())
            .unwrap_or(0)
    }
    walk(&app.data_dir.path().join("blobs")) + walk(&app.data_dir.path().join("tmp"))
}

/// A stored ciphertext by its hex hash: a file, or (below 64 KiB) a
/// database row. Synchronous for the browser harness, so it needs a
/// multi-threaded runtime to wait for the store on.
pub fn blob(app: &TestApp, hash: &str) -> Vec<u8> {
    let path = app.data_dir.path().join("blobs").join(&hash[..2]).join(hash);
    if let Ok(bytes) = std::fs::read(path) {
        return bytes;
    }
    let hashes = [hash.to_string()];
    let found = tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current().block_on(app.store.small_ciphertexts(&hashes))
    });
    found.expect("small ciphertexts").remove(hash).expect("blob file or database row")
}

/// The server's own custodian key, from its data directory.
pub fn server_custodian_key(app: &TestApp) -> CustodianSecretKey {
    let bytes = std::fs::read(app.data_dir.path().join("custodian-key.bin")).expect("custodian-key.bin");
    CustodianSecretKey::from_bytes(&bytes).expect("32-byte scalar")
}

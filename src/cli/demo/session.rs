//! The demo's opening session: the stage as the room shows it, the host
//! pausing and resuming the decryption, and a second small tender that has
//! fewer bidders than its minimum and fails (流标) without decrypting.

use std::time::Duration;

use anyhow::Context;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use super::bidders::Scratch;
use crate::client::Client;

/// The session terms of the demo tender: sign-in a minute before the
/// opening, the Chinese minimum of three bidders, a ceiling price, and a
/// confirmation stage the host ends once the bidders have answered.
pub fn demo_terms() -> Value {
    json!({
        "sign_in_minutes": 1,
        "min_bids": 3,
        "confirmation_minutes": 10,
        "prices": [
            {"lot": "1", "kind": "ceiling", "field": "price", "amount": "1250000.00"},
            {"lot": "1", "kind": "reference", "field": "price", "amount": "1200000.00"}
        ]
    })
}

/// One line about the session's state.
pub async fn show(client: &Client, token: &str, tender: Uuid) -> anyhow::Result<Value> {
    let v = client.staff_call(Method::GET, &format!("api/v1/tenders/{tender}/session"), token, None).await?;
    let stage = v["stage"].as_str().or(v["next_stage"].as_str().map(|_| "before the session")).unwrap_or("—");
    let left = v["time_left_ms"].as_i64().map(|ms| format!(", {:.1} s left", ms as f64 / 1000.0)).unwrap_or_default();
    let held = if v["paused"] == true {
        " (paused)"
    } else if v["suspended"] == true {
        " (suspended)"
    } else {
        ""
    };
    println!("session: stage {stage}{left}{held}");
    Ok(v)
}

/// The host pauses the decryption, shows the frozen countdown, and resumes.
pub async fn pause_and_resume(client: &Client, token: &str, tender: Uuid) -> anyhow::Result<()> {
    let path = format!("api/v1/tenders/{tender}/session");
    let body = json!({"action": "pause", "notice": "等待公证人到场 waiting for the notary"});
    match client.staff_call(Method::POST, &path, token, Some(&body)).await {
        Ok(v) => println!("the host paused; the countdown stands at {} ms", v["time_left_ms"]),
        // The decryption may already be over (every share in): nothing to hold.
        Err(e) => {
            println!("no pause: {e}");
            return Ok(());
        }
    }
    show(client, token, tender).await?;
    let v = client.staff_call(Method::POST, &path, token, Some(&json!({"action": "resume"}))).await?;
    println!("the host resumed; decryption now ends at {}", v["ends_at"].as_str().unwrap_or("?"));
    Ok(())
}

/// A second tender with one bid against a minimum of three: it fails at
/// its opening time and nothing of it is decrypted.
pub async fn failing_tender(client: &Client, scratch: &Scratch, token: &str) -> anyhow::Result<()> {
    let now = client.server_time().await?;
    let deadline = now + time::Duration::seconds(3);
    let draft = json!({
        "title": "Demo: bus shelter repairs (公交候车亭维修)",
        "reference": format!("DEMO-{}", &Uuid::new_v4().simple().to_string()[..8]),
        "buyer": "City of Example",
        "currency": "CNY",
        "lots": [{"id": "1", "title": "All shelters", "fields": super::demo_fields()}],
        "deadline": super::super::common::rfc3339(deadline),
        "session": {"min_bids": 3, "sign_in_minutes": 0},
    });
    let id = super::publish_draft(client, token, &draft).await?;
    let only = scratch.bidder("孤单工程 Lonely Works", "lonely.key").await?;
    scratch.seal(id, &only, "88000.00", 30, "lonely").await?;
    println!("published tender {id} with one bid; the minimum is three bidders");
    super::wait_for_state(client, id, &["failed"], Duration::from_secs(60)).await?;
    let events = client.staff_call(Method::GET, &format!("api/v1/tenders/{id}/events"), token, None).await?;
    let failed = events["events"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["type"] == "tender.failed"))
        .context("no tender.failed event")?;
    println!("流标: {}", failed["data"]["rule"].as_str().unwrap_or(""));
    for lot in failed["data"]["lots"].as_array().into_iter().flatten() {
        println!("lot {}: {} bidder(s); its bids stay sealed, no share is released", lot["lot"], lot["bidders"]);
    }
    Ok(())
}

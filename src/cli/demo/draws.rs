//! The demo's draws (`docs/DRAWS.md`): the host's secret made here, its
//! commitment in the terms, a K draw and a reference price, revealed after
//! the record and shown with the seed they came from.

use anyhow::Context;
use reqwest::Method;
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::client::Client;
use crate::domain::draw::seed::commitment;

/// A fresh 32-byte host secret.
pub fn secret() -> anyhow::Result<[u8; 32]> {
    let mut s = [0u8; 32];
    SystemRandom::new().fill(&mut s).map_err(|_| anyhow::anyhow!("no randomness for the host's secret"))?;
    Ok(s)
}

/// The draws of the demo tender: K from 0.92…0.98 and 评标基准价 of lot 1.
pub fn terms(secret: &[u8; 32]) -> Value {
    json!({
        "draws": [{ "id": "k", "label": { "zh": "下浮系数", "en": "Coefficient K" }, "type": "value",
                    "values": ["0.92", "0.93", "0.94", "0.95", "0.96", "0.97", "0.98"] }],
        "formulas": [{ "id": "base", "label": { "zh": "评标基准价", "en": "Reference price" }, "lot": "1",
                       "field": "price", "drop_extremes_from": 5,
                       "coefficient": { "draw": "k", "apply": "times" }, "rounding": "half_up" }],
        "commitment": hex::encode(commitment(secret)),
        "reveal_minutes": 30
    })
}

/// The host reveals the secret; prints the results.
pub async fn reveal(client: &Client, token: &str, tender: Uuid, secret: &[u8; 32]) -> anyhow::Result<()> {
    let body = json!({ "secret": hex::encode(secret) });
    let view = client
        .staff_call(Method::POST, &format!("api/v1/tenders/{tender}/draws/reveal"), token, Some(&body))
        .await
        .context("the host could not reveal the draw secret")?;
    let result = view["events"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["type"] == "draw.result"))
        .context("no draw.result after the reveal")?;
    let d = &result["data"];
    println!("host revealed its secret; seed {}", d["seed"].as_str().unwrap_or("?"));
    for r in d["draws"].as_array().into_iter().flatten() {
        println!("draw {}: {}", r["id"].as_str().unwrap_or("?"), r["values"]);
    }
    for p in d["prices"].as_array().into_iter().flatten() {
        println!(
            "reference price {} (lot {}): {} from {} valid price(s)",
            p["id"].as_str().unwrap_or("?"),
            p["lot"].as_str().unwrap_or("?"),
            p["amount"].as_str().unwrap_or("none"),
            p["valid"]
        );
    }
    Ok(())
}

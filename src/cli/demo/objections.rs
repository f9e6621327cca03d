//! The demo's confirmation stage (issue 12): one bidder objects and the host
//! answers on the spot, an announcement, confirmations by all but one
//! bidder, the host ends the session, and the sealed final record.

use std::path::Path;

use anyhow::Context;
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use super::bidders::Scratch;
use crate::client::Client;

/// Signs each bidder in to the room (签到).
pub async fn sign_in(scratch: &Scratch, tender: Uuid, keys: &[&Path]) -> anyhow::Result<()> {
    for key in keys {
        let args = crate::cli::sign_in::SignInArgs { server: scratch.server(), tender, key: scratch.key_args(key) };
        crate::cli::sign_in::sign_in(args).await?;
    }
    Ok(())
}

/// `objector` objects and the host answers; every bidder of `confirming`
/// confirms the record; the host announces and ends the session; prints the
/// final record.
pub async fn run(
    client: &Client,
    scratch: &Scratch,
    token: &str,
    tender: Uuid,
    objector: &Path,
    confirming: &[&Path],
) -> anyhow::Result<Value> {
    let now = client.server_time().await?.unix_timestamp();
    let key = scratch.key_args(objector).unlock_bidder().await?;
    let text = "第二行的工期与我方投标文件不一致，请核实。 The duration read for row 2 differs from our offer.";
    let raised = client.raise_objection(tender, &key, text, false, now).await?;
    let id = raised["id"].as_str().context("the objection has no id")?.to_string();
    println!("异议 objection by Huadong Roads, log index {}: {text}", raised["log_index"]);
    let path = format!("api/v1/tenders/{tender}/session");
    match client.staff_call(Method::POST, &path, token, Some(&json!({"action": "end"}))).await {
        Ok(_) => anyhow::bail!("the session ended while an objection waited"),
        Err(e) => println!("the host cannot end the session yet: {e}"),
    }
    let answer =
        json!({"answer": "经核对，第二行工期与解密后的投标文件一致。 Checked: row 2 matches the decrypted offer."});
    let answered = client
        .staff_call(Method::POST, &format!("api/v1/tenders/{tender}/objections/{id}/answer"), token, Some(&answer))
        .await?;
    println!("the host answered on the spot, log index {}", answered["log_index"]);
    let note = json!({"text": "请各投标人核对开标记录并签字确认。 Bidders, please check the record and confirm it."});
    client.staff_call(Method::POST, &format!("api/v1/tenders/{tender}/announcements"), token, Some(&note)).await?;
    println!("announcement: {}", note["text"].as_str().unwrap_or(""));
    let record = client.staff_call(Method::GET, &format!("api/v1/tenders/{tender}/record"), token, None).await?;
    let hash_hex = record["record_hash"].as_str().context("the record has no hash")?;
    let hash: [u8; 32] = hex::decode(hash_hex)?.try_into().map_err(|_| anyhow::anyhow!("a record hash of 32 bytes"))?;
    for path in confirming {
        let key = scratch.key_args(path).unlock_bidder().await?;
        let v = client.confirm_record(tender, &key, &hash, client.server_time().await?.unix_timestamp()).await?;
        println!(
            "无异议: bidder {} signed record hash {hash_hex}, log index {}",
            key.public_key().key_id(),
            v["log_index"]
        );
    }
    println!("one bidder does nothing: it is recorded as not responding (silence counts as acceptance here)");
    client.staff_call(Method::POST, &path, token, Some(&json!({"action": "end"}))).await?;
    let fin = client.final_record(tender).await?;
    print_final(&fin);
    Ok(fin)
}

fn print_final(fin: &Value) {
    let r = &fin["record"];
    println!(
        "开标记录表 final record {} ({}), sealed hash {}",
        r["reference"].as_str().unwrap_or(""),
        r["title"].as_str().unwrap_or(""),
        fin["final_hash"].as_str().unwrap_or("")
    );
    for a in r["attendance"].as_array().into_iter().flatten() {
        println!(
            "  签到 {} {} at {}",
            a["name"].as_str().unwrap_or("?"),
            a["pseudonym"].as_str().unwrap_or(""),
            a["signed_in_at"].as_str().unwrap_or("")
        );
    }
    for o in r["objections"].as_array().into_iter().flatten() {
        println!("  异议 {}: {}", o["bidder"]["name"].as_str().unwrap_or("?"), o["text"].as_str().unwrap_or(""));
        println!("    答复 {}", o["answer"]["answer"].as_str().unwrap_or("(unanswered)"));
    }
    for x in r["responses"].as_array().into_iter().flatten() {
        println!("  {}: {}", x["name"].as_str().unwrap_or("?"), x["response"].as_str().unwrap_or(""));
    }
    println!(
        "  sealed by log entry {} ({}), checkpoint size {}",
        fin["log_index"],
        fin["entry_url"].as_str().unwrap_or(""),
        fin["tree_size"]
    );
}

//! `bidroom bidder sign-in`: signs in to a tender's live room (签到) with the
//! bidder's identity key. The room's hello carries a fresh nonce; the
//! bidder signs it (`seal::room_sign_in_message`) and the room records the
//! sign-in under a pseudonym. The private key never leaves this machine.

use std::time::Duration;

use anyhow::Context;
use clap::Args;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use super::common::{KeyArgs, ServerArgs};
use crate::seal::{b64, room_sign_in_message, unb64};

/// How long to wait for the room's answers.
const ANSWER: Duration = Duration::from_secs(15);

/// Flags of `bidroom bidder sign-in`.
#[derive(Debug, Clone, Args)]
pub struct SignInArgs {
    /// The server to talk to.
    #[command(flatten)]
    pub server: ServerArgs,
    /// The tender whose room to sign in to.
    #[arg(long)]
    pub tender: Uuid,
    /// The key file and its passphrase.
    #[command(flatten)]
    pub key: KeyArgs,
}

/// Signs in; returns the pseudonym the room shows.
pub async fn sign_in(args: SignInArgs) -> anyhow::Result<String> {
    let client = args.server.client()?;
    let key = args.key.unlock_bidder().await?;
    let mut url = client.base().join(&format!("api/v1/tenders/{}/live", args.tender))?;
    let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
    url.set_scheme(scheme).map_err(|()| anyhow::anyhow!("cannot make a socket address of {url}"))?;
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str()).await.context("cannot open the room's socket")?;
    let hello = next_frame(&mut ws, &["hello"]).await?;
    let nonce: [u8; 32] = hello["nonce"]
        .as_str()
        .and_then(|n| unb64(n).ok())
        .and_then(|n| n.try_into().ok())
        .context("the room's hello has no 32-byte nonce")?;
    let signature = key.sign(&room_sign_in_message(args.tender, &nonce))?;
    let request = json!({"type": "sign_in", "bidder": key.public_key().key_id(), "signature": b64(&signature)});
    ws.send(Message::text(request.to_string())).await.context("cannot send the sign-in")?;
    let answer = next_frame(&mut ws, &["signed_in", "error"]).await?;
    // Best effort: the room keeps the sign-in whether or not the close gets through.
    let _ = ws.close(None).await;
    if answer["type"] == "error" {
        anyhow::bail!(
            "the room refused the sign-in: {} ({})",
            answer["message"].as_str().unwrap_or("no reason"),
            answer["code"].as_str().unwrap_or("error")
        );
    }
    let pseudonym = answer["bidder"].as_str().context("the room's answer names no pseudonym")?.to_string();
    println!("signed in to tender {} as {pseudonym} (the public sees this pseudonym until the opening)", args.tender);
    Ok(pseudonym)
}

/// The next text frame of one of `types`, skipping the others (events,
/// checkpoints, presence), within [`ANSWER`].
async fn next_frame<S>(ws: &mut S, types: &[&str]) -> anyhow::Result<Value>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let deadline = tokio::time::Instant::now() + ANSWER;
    loop {
        let frame = tokio::time::timeout_at(deadline, ws.next())
            .await
            .with_context(|| format!("the room did not answer within {} s", ANSWER.as_secs()))?
            .context("the room closed the socket")??;
        if let Message::Text(text) = frame {
            let v: Value = serde_json::from_str(&text).context("the room sent a frame that is not JSON")?;
            if types.iter().any(|t| v["type"] == *t) {
                return Ok(v);
            }
        }
    }
}

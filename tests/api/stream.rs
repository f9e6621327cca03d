//! The room's video stream: officers set, change and remove it until the
//! record is published; each change of a public tender is a logged event
//! that live viewers get; bad URLs and other roles are refused; the pages'
//! Content-Security-Policy lets only the room show media and frames.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::common::{Draft, TestApp, published_tender};

/// The next live event frame of `kind` on `ws`.
async fn next_event<S>(ws: &mut S, kind: &str) -> Value
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next()).await.expect("frame in time");
        if let Message::Text(t) = msg.expect("open").expect("frame") {
            let v: Value = serde_json::from_str(&t).expect("json");
            if v["type"] == "event" && v["event"]["type"] == kind {
                return v["event"].clone();
            }
        }
    }
}

async fn stream_is_set_changed_and_removed_live(app: TestApp) {
    let id = published_tender(&app, 3600).await;
    let path = format!("/api/v1/tenders/{id}/stream");
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/api/v1/tenders/{id}/live", app.addr))
        .await
        .expect("live socket");

    let video = json!({"url": "https://Video.Example.org/live/room.m3u8", "kind": "video"});
    let (s, v) = app.admin(Method::PUT, &path, Some(&video)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["stream"], json!({"url": "https://video.example.org/live/room.m3u8", "kind": "video"}));
    let ev = next_event(&mut ws, "tender.stream_changed").await;
    assert_eq!(ev["data"], json!({"stream": v["stream"], "previous": null}));
    assert!(ev["log_index"].is_i64() && ev["leaf_hash"].is_string(), "{ev}");
    let (_, entry) = app.get(&format!("/api/v1/log/entries/{}", ev["log_index"])).await;
    assert!(entry["entry"].is_string(), "the change is a log entry: {entry}");

    let embed = json!({"url": "https://player.example.com/embed/42", "kind": "embed"});
    let (s, v) = app.admin(Method::PUT, &path, Some(&embed)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let ev = next_event(&mut ws, "tender.stream_changed").await;
    assert_eq!(ev["data"]["previous"]["kind"], "video");
    let (_, public) = app.get(&format!("/api/v1/tenders/{id}")).await;
    assert_eq!(public["stream"]["kind"], "embed", "the public tender shows it");

    // Unchanged, bad URLs and unknown kinds: 422 naming the field; nothing logged.
    let (s, v) = app.admin(Method::PUT, &path, Some(&embed)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_field")), "{v}");
    for bad in ["http://video.example.org/a.mp4", "https://u:p@video.example.org/a.mp4", "javascript:alert(1)", "room"]
    {
        let (s, v) = app.admin(Method::PUT, &path, Some(&json!({"url": bad, "kind": "video"}))).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
        assert_eq!((v["code"].as_str(), v["field"].as_str()), (Some("invalid_field"), Some("url")), "{bad}: {v}");
    }
    let (s, v) = app.admin(Method::PUT, &path, Some(&json!({"url": "https://a.example/x", "kind": "flash"}))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = app.admin(Method::PUT, &path, Some(&json!({"url": "https://a.example/x"}))).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("missing_field")), "{v}");

    // Who may: officers and admins; a supervisor may not, nobody anonymous.
    let supervisor = app.staff("supervisor").await;
    let (s, v) = app.call(Method::PUT, &path, Some(&supervisor), Some(&video)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{v}");
    let (s, _) = app.call(Method::DELETE, &path, None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let officer = app.staff("officer").await;
    let (s, v) = app.call(Method::DELETE, &path, Some(&officer), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v.get("stream").is_none(), "{v}");
    let ev = next_event(&mut ws, "tender.stream_changed").await;
    assert_eq!(ev["data"]["stream"], Value::Null);

    let (_, events) = app.get(&format!("/api/v1/tenders/{id}/events")).await;
    let changes = events["events"].as_array().expect("events").iter().filter(|e| e["type"] == "tender.stream_changed");
    assert_eq!(changes.count(), 3, "exactly the three changes were logged");

    // Not once the tender is cancelled (nor after the record: domain tests).
    let (s, _) = app.admin(Method::POST, &format!("/api/v1/tenders/{id}/cancel"), Some(&json!({"reason": "x"}))).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = app.admin(Method::PUT, &path, Some(&video)).await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("transition_not_allowed")), "{v}");
}

async fn a_drafts_stream_is_not_public_until_published(app: TestApp) {
    let id = Draft::on(&app, 3600).await.create(&app).await;
    let video = json!({"url": "https://video.example.org/a.mp4", "kind": "video"});
    let (s, v) = app.admin(Method::PUT, &format!("/api/v1/tenders/{id}/stream"), Some(&video)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["last_seq"], 0, "a draft logs nothing");
    let (s, _) = app.get(&format!("/api/v1/tenders/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = app.admin(Method::POST, &format!("/api/v1/tenders/{id}/publish"), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, events) = app.get(&format!("/api/v1/tenders/{id}/events")).await;
    assert_eq!(events["events"][0]["data"]["tender"]["stream"]["url"], "https://video.example.org/a.mp4");
}

async fn only_the_room_page_may_frame_or_play_media(app: TestApp) {
    let id = published_tender(&app, 3600).await;
    let csp = |path: String| {
        let client = app.client.clone();
        let url = app.url(&path);
        async move {
            let r = client.get(url).send().await.expect("page");
            assert_eq!(r.status(), StatusCode::OK);
            r.headers()["content-security-policy"].to_str().expect("ascii").to_string()
        }
    };
    let room = csp(format!("/tenders/{id}")).await;
    assert!(room.contains("frame-src https:;") && room.contains("media-src 'self' blob: https:;"), "{room}");
    assert!(room.contains("script-src 'self';") && room.contains("connect-src 'self';"), "{room}");
    for page in ["/".to_string(), "/staff".into(), format!("/tenders/{id}/bid"), format!("/tenders/{id}/custodian")] {
        let p = csp(page.clone()).await;
        assert!(p.contains("frame-src 'none';") && p.contains("media-src 'none';"), "{page}: {p}");
    }
}

crate::on_both_backends!(
    stream_is_set_changed_and_removed_live,
    a_drafts_stream_is_not_public_until_published,
    only_the_room_page_may_frame_or_play_media,
);

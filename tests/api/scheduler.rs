use reqwest::StatusCode;

use crate::common::{TestApp, parse_time, published_tender, wait_for_state};

async fn closes_exactly_at_the_deadline(app: TestApp) {
    let id = published_tender(&app, 2).await;
    let (_, t) = app.get(&format!("/api/v1/tenders/{id}")).await;
    let deadline = parse_time(&t["deadline"]);
    let closed = wait_for_state(&app, &id, "closed", 10).await;
    assert_eq!(parse_time(&closed["closed_at"]), deadline);
    let (s, v) = app.get(&format!("/api/v1/tenders/{id}/events?after=1")).await;
    assert_eq!(s, StatusCode::OK);
    let ev = &v["events"][0];
    assert_eq!(ev["type"], "tender.closed");
    assert_eq!(parse_time(&ev["data"]["closed_at"]), deadline);
    let processed = parse_time(&ev["data"]["processed_at"]);
    assert!(processed >= deadline, "closed before the deadline: {processed} < {deadline}");
    assert!(processed - deadline < time::Duration::seconds(1), "closed {} late", processed - deadline);
}

async fn catches_up_after_restart(mut app: TestApp) {
    let id = published_tender(&app, 1).await;
    let (_, t) = app.get(&format!("/api/v1/tenders/{id}")).await;
    let deadline = parse_time(&t["deadline"]);
    app.stop().await;
    // Down until well past the deadline (by this machine's clock, which the
    // server's clock is), so the close can only come from the catch-up.
    let late = deadline + time::Duration::milliseconds(1500) - time::OffsetDateTime::now_utc();
    if late.is_positive() {
        tokio::time::sleep(late.unsigned_abs()).await;
    }
    app.start_again().await;
    let closed = wait_for_state(&app, &id, "closed", 10).await;
    assert_eq!(parse_time(&closed["closed_at"]), deadline, "the true deadline is recorded");
    let (_, v) = app.get(&format!("/api/v1/tenders/{id}/events")).await;
    let events = v["events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "closed exactly once: {v}");
    assert!(parse_time(&events[1]["data"]["processed_at"]) - deadline > time::Duration::seconds(1));
}

crate::on_both_backends!(closes_exactly_at_the_deadline, catches_up_after_restart);

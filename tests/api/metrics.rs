//! `--metrics-listen`: Prometheus text on its own listener, scraped during
//! a session, with the figures moving.

use std::time::Duration;

use reqwest::StatusCode;

use crate::common::{Draft, TestApp, wait_for_state};
use crate::support::bids;

fn with_metrics(cfg: &mut bidroom::config::ServeConfig) {
    cfg.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
}

async fn scrape(app: &TestApp) -> String {
    let addr = app.metrics.expect("metrics listener");
    let r = reqwest::get(format!("http://{addr}/metrics")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.unwrap()
}

/// The sum of the samples of `name` whose labels contain every one of `labels`.
fn figure(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.split([' ', '{']).next() == Some(name))
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn figures_move_during_a_session(app: TestApp) {
    let before = scrape(&app).await;
    let tender = Draft::on(&app, 3).await.opening_at_deadline().published(&app).await;
    let key = bids::register(&app, "Metered Ltd").await;
    let sealed = bids::seal(&app, &tender, &key, "100.00", &[]).await;
    let (s, v) = bids::submit(&app, &tender, &sealed).await;
    assert!(s.is_success(), "{s} {v}");
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/api/v1/tenders/{tender}/live", app.addr)).await.unwrap();
    let during = scrape(&app).await;
    assert!(figure(&during, "bidroom_live_viewers", &[]) >= 1.0, "{during}");
    let route = r#"route="/api/v1/tenders/{id}/bids""#;
    assert!(
        figure(&during, "bidroom_http_requests_total", &[route, r#"status="201""#])
            > figure(&before, "bidroom_http_requests_total", &[route, r#"status="201""#]),
        "{during}"
    );
    assert!(figure(&during, "bidroom_http_request_duration_seconds_count", &[route]) >= 1.0, "{during}");
    assert!(figure(&during, "bidroom_commit_batch_size_count", &[]) >= 1.0, "{during}");
    assert!(figure(&during, "bidroom_log_size", &[]) >= 1.0, "{during}");
    // The bid was just appended, so the latest checkpoint is seconds old, not
    // the age of the epoch (a missing or unconverted time would show that).
    let age = figure(&during, "bidroom_log_checkpoint_age_seconds", &[]);
    assert!(during.lines().any(|l| l.starts_with("bidroom_log_checkpoint_age_seconds ")), "{during}");
    assert!((0.0..60.0).contains(&age), "{during}");
    assert!(
        figure(&during, "bidroom_events_total", &[r#"kind="bid.received""#])
            > figure(&before, "bidroom_events_total", &[r#"kind="bid.received""#]),
        "{during}"
    );
    wait_for_state(&app, &tender, "opened", 20).await;
    let after = scrape(&app).await;
    assert!(
        figure(&after, "bidroom_events_total", &[r#"kind="bid.opened""#])
            > figure(&during, "bidroom_events_total", &[r#"kind="bid.opened""#]),
        "{after}"
    );
    assert_eq!(figure(&after, "bidroom_background_tasks_failed", &[]), 0.0);
    // The viewer was sent the opening's frames; openings under way is a gauge.
    assert!(
        figure(&after, "bidroom_live_frames_sent_total", &[]) > figure(&during, "bidroom_live_frames_sent_total", &[]),
        "{after}"
    );
    assert!(after.lines().any(|l| l.starts_with("bidroom_openings_in_progress ")), "{after}");
    // Its leaving is counted, with the reason.
    let gone = figure(&after, "bidroom_live_disconnects_total", &[]);
    let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
    crate::support::wait::poll("the viewer's disconnect in the metrics", Duration::from_secs(20), async || {
        let now = scrape(&app).await;
        (figure(&now, "bidroom_live_disconnects_total", &[]) > gone).then_some(())
    })
    .await;
}

crate::on_both_backends!(with with_metrics: figures_move_during_a_session);

//! The opening's pace is the tender's, not a node's: two `bidroom serve`
//! nodes on one PostgreSQL database with `--opening-pace-ms` open one bid
//! per interval between them, each bid once.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::common::{TestApp, events, wait_for_state};
use crate::crash::{Node, assert_opened_exactly_once, tender_with_bids, use_node};

/// The pace both nodes run with.
const PACE_MS: i128 = 300;
/// Bids in the tender: enough that each node would open several on its own.
const BIDS: usize = 6;
/// Below the pace allowed for clock granularity (microsecond times, and
/// PostgreSQL's clock read once per transaction).
const TOLERANCE_MS: i128 = 2;

/// Two nodes, one tender: consecutive `bid.opened` events, by their logged
/// times, are at least the pace apart, and every bid opened once.
async fn two_nodes_keep_one_pace(mut app: TestApp) {
    app.stop().await;
    let first = Node::start(&app, PACE_MS as u64);
    let second = Node::start(&app, PACE_MS as u64);
    use_node(&mut app, &first);
    let tender = tender_with_bids(&app, BIDS).await;
    wait_for_state(&app, &tender, "opened", 60).await;
    assert_opened_exactly_once(&app, &tender, BIDS).await;
    let times: Vec<OffsetDateTime> = events(&app, &tender)
        .await
        .iter()
        .filter(|e| e["type"] == "bid.opened")
        .map(|e| OffsetDateTime::parse(e["at"].as_str().expect("at"), &Rfc3339).expect("RFC 3339 time"))
        .collect();
    assert_eq!(times.len(), BIDS);
    let gaps: Vec<i128> = times.windows(2).map(|w| (w[1] - w[0]).whole_milliseconds()).collect();
    assert!(
        gaps.iter().all(|g| *g >= PACE_MS - TOLERANCE_MS),
        "bids opened closer than {PACE_MS} ms: gaps {gaps:?} ms"
    );
    // Both nodes serve the same record.
    use_node(&mut app, &second);
    assert_opened_exactly_once(&app, &tender, BIDS).await;
    drop((first, second));
}

crate::on_postgres!(two_nodes_keep_one_pace);

//! `bidroom verify`'s two ties between what is served now and what was
//! logged: the terms (`tender.published` plus amendments) and the bidders
//! the record names (their registrations). Each passes on an honest
//! opening and fails, alone, when the stored copy is changed behind the
//! log's back.

use bidroom::client::Client;
use bidroom::ledger::Verifier;
use bidroom::verify::{Check, Report, Status, verify_tender};
use reqwest::Method;
use serde_json::json;

use crate::common::{Backend, TestApp};
use crate::opening::honest_opening;

async fn verify(app: &TestApp, tender: &str) -> Report {
    let client = Client::new(&app.base).expect("client");
    let verifier = Verifier::parse(&client.log_key().await.expect("log key")).expect("verifier key");
    verify_tender(&client, tender.parse().expect("uuid"), &verifier, None).await
}

/// Runs one statement with two text parameters on the test server's database.
async fn execute(app: &TestApp, sql: &'static str, a: &str, b: &str) -> u64 {
    let (a, b) = (a.to_owned(), b.to_owned());
    match &app.backend {
        Backend::Sqlite => {
            let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(app.data_dir.path().join("bidroom.db"));
            let pool = sqlx::SqlitePool::connect_with(opts).await.expect("open sqlite");
            sqlx::query(sql).bind(a).bind(b).execute(&pool).await.expect("tamper").rows_affected()
        }
        Backend::Postgres { url, schema } => {
            let opts: sqlx::postgres::PgConnectOptions = url.parse().expect("pg url");
            let pool = sqlx::PgPool::connect_with(opts.options([("search_path", schema.as_str())])).await.expect("pg");
            sqlx::query(sql).bind(a).bind(b).execute(&pool).await.expect("tamper").rows_affected()
        }
    }
}

async fn verify_ties_terms_and_bidders_to_the_log(app: TestApp) {
    let (tender, _) = honest_opening(&app).await;
    let report = verify(&app, &tender).await;
    assert!(report.passed(), "{report}");
    for check in [Check::TermsServed, Check::BidderNames] {
        assert_eq!(report.result(check).map(|r| r.status), Some(Status::Passed), "{report}");
    }

    // The stored bidder renamed: the record (logged) still says Beta.
    let n = execute(&app, "UPDATE bidders SET name = $2 WHERE name = $1", "Beta", "Betamax").await;
    assert_eq!(n, 1);
    let report = verify(&app, &tender).await;
    assert_eq!(report.failed(), [Check::BidderNames], "{report}");
    let problems = &report.result(Check::BidderNames).expect("result").problems;
    assert!(problems.iter().any(|p| p.contains("\"Beta\"") && p.contains("\"Betamax\"")), "{problems:?}");
    execute(&app, "UPDATE bidders SET name = $2 WHERE name = $1", "Betamax", "Beta").await;
    assert!(verify(&app, &tender).await.passed());

    // The stored terms changed after publication: the served title is not the logged one.
    let (_, served) = app.get(&format!("/api/v1/tenders/{tender}")).await;
    let title = served["title"].as_str().expect("title").to_owned();
    let sql = "UPDATE tenders SET doc = replace(doc, $1, $2)";
    let n = execute(&app, sql, &format!("\"title\":\"{title}\""), "\"title\":\"Something else\"").await;
    assert!(n >= 1);
    let (_, served) = app.get(&format!("/api/v1/tenders/{tender}")).await;
    assert_eq!(served["title"], "Something else", "the server now serves the changed title");
    let report = verify(&app, &tender).await;
    assert_eq!(report.failed(), [Check::TermsServed], "{report}");
    let problems = &report.result(Check::TermsServed).expect("result").problems;
    assert!(problems.iter().any(|p| p.starts_with("`title`")), "{problems:?}");
}

/// An amendment moves the deadline and opening time: the served terms
/// equal the published ones only with the logged amendment applied.
async fn verify_applies_logged_amendments(app: TestApp) {
    let tender = crate::common::Draft::on(&app, 3600).await.published(&app).await;
    let (_, before) = app.get(&format!("/api/v1/tenders/{tender}")).await;
    let later = crate::common::parse_time(&before["deadline"]) + time::Duration::hours(1);
    let opening = crate::common::parse_time(&before["opening_at"]) + time::Duration::hours(1);
    let body = json!({"deadline": crate::common::rfc3339(later), "opening_at": crate::common::rfc3339(opening), "reason": "a site visit was added"});
    app.admin_ok(Method::POST, &format!("/api/v1/tenders/{tender}/amend"), Some(&body)).await;
    let report = verify(&app, &tender).await;
    assert_eq!(report.result(Check::TermsServed).map(|r| r.status), Some(Status::Passed), "{report}");
    assert!(report.passed(), "{report}");
    // The stored deadline put back to the published one: the log says it moved.
    let (_, after) = app.get(&format!("/api/v1/tenders/{tender}")).await;
    assert_ne!(after["deadline"], before["deadline"]);
    let sql = "UPDATE tenders SET doc = replace(doc, $1, $2)";
    let moved = after["deadline"].as_str().expect("deadline");
    let n =
        execute(&app, sql, &format!("\"deadline\":\"{moved}\""), &format!("\"deadline\":{}", before["deadline"])).await;
    assert!(n >= 1);
    let report = verify(&app, &tender).await;
    assert_eq!(report.failed(), [Check::TermsServed], "{report}");
}

crate::on_both_backends!(verify_ties_terms_and_bidders_to_the_log, verify_applies_logged_amendments);

//! The evidence bundle: `bidroom evidence` downloads one tar file that
//! `bidroom verify --bundle FILE` checks with the same named checks and no
//! server — here after the server is stopped and its data deleted — and
//! any changed member makes it fail: against the manifest, and, with the
//! manifest rewritten to match, against the signed log.

use std::io::Read;

use bidroom::cli::evidence::{self, EvidenceArgs};
use bidroom::cli::verify::{self as verify_cli, VerifyArgs};
use bidroom::ledger::Verifier;
use bidroom::verify::bundle::Bundle;
use bidroom::verify::{Check, Report, verify_tender};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::Digest;

use crate::common::{Backend, TestApp};
use crate::opening::honest_opening;
use crate::support::scratch::{Scratch, server};

/// The members of a tar, in order.
fn members(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut archive = tar::Archive::new(bytes);
    for e in archive.entries().expect("tar") {
        let mut e = e.expect("member");
        let path = e.path().expect("path").to_string_lossy().into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).expect("read");
        out.push((path, data));
    }
    out
}

fn pack(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data) in members {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, path, data.as_slice()).expect("append");
    }
    b.into_inner().expect("tar")
}

/// `members` with `path` changed by `f` and the manifest made to match, as
/// a forger who rewrites the whole file would.
fn forged(members: &[(String, Vec<u8>)], path: &str, f: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = members.to_vec();
    let (_, data) = out.iter_mut().find(|(p, _)| p == path).unwrap_or_else(|| panic!("no member {path}"));
    f(data);
    let (new_len, new_hash) = (data.len(), hex::encode(sha2::Sha256::digest(&*data)));
    let (_, manifest) = out.iter_mut().find(|(p, _)| p == "manifest.json").expect("manifest");
    let mut m: Value = serde_json::from_slice(manifest).expect("manifest json");
    for entry in m["members"].as_array_mut().expect("members") {
        if entry["path"] == path {
            entry["sha256"] = Value::String(new_hash.clone());
            entry["size"] = Value::from(new_len);
        }
    }
    *manifest = serde_json::to_vec(&m).expect("json");
    pack(&out)
}

async fn verify_bytes(bytes: &[u8]) -> Result<Report, String> {
    let bundle = Bundle::read(bytes)?;
    let verifier = Verifier::parse(&bundle.log_key()?).map_err(|e| e.to_string())?;
    Ok(verify_tender(&bundle, bundle.tender, &verifier, None).await)
}

fn replace(from: &str, to: &str) -> impl Fn(&mut Vec<u8>) {
    let (from, to) = (from.to_owned(), to.to_owned());
    move |data: &mut Vec<u8>| {
        let text = String::from_utf8(data.clone()).expect("utf-8");
        assert!(text.contains(&from), "{from} not in {text}");
        *data = text.replacen(&from, &to, 1).into_bytes();
    }
}

async fn a_bundle_verifies_offline_and_fails_when_changed(mut app: TestApp) {
    let (tender, _) = honest_opening(&app).await;
    let s = Scratch::new();
    let out = s.path("evidence.tar");
    let args = EvidenceArgs { server: server(&app), tender: tender.parse().expect("uuid"), out: out.clone() };
    evidence::run(args).await.expect("download the bundle");
    let (status, v) = app.get(&format!("/api/v1/tenders/{}/evidence", uuid::Uuid::new_v4())).await;
    assert_eq!((status, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{v}");

    // The server gone, its data gone.
    app.stop().await;
    for entry in std::fs::read_dir(app.data_dir.path()).expect("data dir") {
        let p = entry.expect("entry").path();
        if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) }.expect("delete");
    }
    if let Backend::Postgres { url, schema } = &app.backend {
        let pool = sqlx::PgPool::connect(url).await.expect("pg");
        // Every table and row gone; the empty schema is left for the harness to drop.
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA \"{schema}\" CASCADE")))
            .execute(&pool)
            .await
            .expect("drop");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\""))).execute(&pool).await.expect("create");
    }

    let args = VerifyArgs {
        server: bidroom::cli::common::ServerArgs { server: String::new() },
        tender: uuid::Uuid::nil(),
        bundle: Some(out.clone()),
        log_key: None,
        checkpoint: None,
        json: false,
    };
    let report = verify_cli::run(args.clone()).await.expect("the bundle verifies offline");
    assert!(report.passed(), "{report}");
    for check in Check::ALL {
        let r = report.result(check).expect("every check reported");
        assert_eq!(r.status, bidroom::verify::Status::Passed, "{check} with no server: {report}");
    }

    let bytes = std::fs::read(&out).expect("bundle");
    let all = members(&bytes);
    assert!(all.iter().any(|(p, _)| p.starts_with("entries/")) && all.iter().any(|(p, _)| p.starts_with("bidders/")));
    // Any member changed by one byte: the manifest no longer matches.
    for (i, (path, data)) in all.iter().enumerate() {
        let mut changed = all.clone();
        let mut d = data.clone();
        let at = d.len() / 2;
        d[at] ^= 0x01;
        changed[i] = (path.clone(), d);
        let err = verify_bytes(&pack(&changed)).await.err();
        assert!(err.is_some(), "changing {path} went unnoticed");
    }
    // A member dropped or added.
    let dropped: Vec<_> = all.iter().filter(|(p, _)| p != "record.json").cloned().collect();
    assert!(verify_bytes(&pack(&dropped)).await.unwrap_err().contains("record.json"));
    let mut added = all.clone();
    added.insert(0, ("extra.json".into(), b"{}".to_vec()));
    assert!(verify_bytes(&pack(&added)).await.unwrap_err().contains("extra.json"));

    // The manifest rewritten to match: the signed log still catches it.
    let title = serde_json::from_slice::<Value>(&all.iter().find(|(p, _)| p == "tender.json").expect("terms").1)
        .expect("json")["title"]
        .as_str()
        .expect("title")
        .to_owned();
    let cases: Vec<(&str, Vec<u8>, Vec<Check>)> = vec![
        ("tender.json", forged(&all, "tender.json", replace(&title, "Another title")), vec![Check::TermsServed]),
        ("record.json", forged(&all, "record.json", replace("90.50", "80.50")), vec![Check::RecordServed]),
        ("bidders", forged(&all, &bidder_member(&all, "Beta"), replace("Beta", "Bet4")), vec![Check::BidderNames]),
        ("log/checkpoint", forged(&all, "log/checkpoint", |d| d[2] ^= 1), vec![Check::CheckpointSignature]),
    ];
    for (what, bytes, expected) in cases {
        let report = verify_bytes(&bytes).await.expect("a well-formed forgery");
        let failed = report.failed();
        assert!(!failed.is_empty() && expected.iter().all(|c| failed.contains(c)), "{what}: {report}");
    }
    // The chain of earlier checkpoints, each consistent with the bundle's.
    let chain = all.iter().filter(|(p, _)| p.starts_with("log/checkpoints/")).count();
    assert!(chain >= 2, "earlier checkpoints in the bundle: {chain}");
    let consistency = report.result(Check::CheckpointConsistency).expect("result");
    assert!(consistency.summary.matches('→').count() > chain, "{}", consistency.summary);
    let proof = all.iter().find(|(p, _)| p.starts_with("proofs/consistency/")).expect("a consistency proof").0.clone();
    let report = verify_bytes(&forged(&all, &proof, replace("\"proof\": [\n    \"", "\"proof\": [\n    \"0"))).await;
    let failed = report.map(|r| r.failed()).unwrap_or_default();
    assert_eq!(failed, [Check::CheckpointConsistency]);
    let entry = all.iter().find(|(p, _)| p.starts_with("entries/")).expect("entry").0.clone();
    let report = verify_bytes(&forged(&all, &entry, |d| d[10] ^= 1)).await.expect("forgery");
    assert!(
        report.failed().contains(&Check::EventEntries) || report.failed().contains(&Check::EventInclusion),
        "{report}"
    );
}

/// The `bidders/…` member whose name is `name`.
fn bidder_member(all: &[(String, Vec<u8>)], name: &str) -> String {
    all.iter()
        .find(|(p, d)| {
            p.starts_with("bidders/") && serde_json::from_slice::<Value>(d).map(|v| v["name"] == name).unwrap_or(false)
        })
        .map(|(p, _)| p.clone())
        .unwrap_or_else(|| panic!("no registration of {name}"))
}

crate::on_both_backends!(a_bundle_verifies_offline_and_fails_when_changed);

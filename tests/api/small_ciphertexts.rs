//! Small ciphertexts live in the database (migration 0013): a bid with a
//! small document creates no file at all, a large document is still a file,
//! and the opening, the public envelopes and `verify` read both.

use bidroom::client::Client;
use bidroom::seal::{Envelope, unb64};
use reqwest::StatusCode;

use crate::common::{Draft, TestApp, wait_for_state};
use crate::opening::verify;
use crate::support::bids::{blob_files, register, seal, submit};

async fn small_ciphertexts_are_rows_large_documents_files(app: TestApp) {
    let tender = Draft::on(&app, 8).await.opening_at_deadline().published(&app).await;
    let key = register(&app, "Small Ltd").await;
    let before = blob_files(&app);
    let small = seal(&app, &tender, &key, "10.00", &[b"a short offer"]).await;
    let (s, v) = submit(&app, &tender, &small).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(blob_files(&app), before, "a small bid writes no file");

    let other = register(&app, "Large Ltd").await;
    let large_doc = vec![5u8; 100_000];
    let large = seal(&app, &tender, &other, "11.00", &[b"cover letter", &large_doc]).await;
    let (s, v) = submit(&app, &tender, &large).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(blob_files(&app), before + 1, "only the document above 64 KiB is a file");

    let hash = |b: &[u8]| hex::encode(ring::digest::digest(&ring::digest::SHA256, b));
    let rows = [&large.envelope, &large.form, &large.documents[0]].map(|b| hash(b));
    let file = hash(&large.documents[1]);
    let mut asked: Vec<String> = rows.to_vec();
    asked.push(file.clone());
    let found = app.store.small_ciphertexts(&asked).await.unwrap();
    for h in &rows {
        assert!(found.contains_key(h), "{h} is a row");
    }
    assert!(!found.contains_key(&file), "the large document is not a row");
    assert_eq!(found[&rows[1]], large.form, "the row holds the exact bytes");

    // The opening engine reads pending bids a page at a time, by log index.
    let id = tender.parse().unwrap();
    let first = app.store.pending_page(id, -1, 1).await.unwrap();
    assert_eq!(first.iter().map(|(b, _)| b.id).collect::<Vec<_>>(), [small.bid_id]);
    let second = app.store.pending_page(id, first[0].0.log_index, 1).await.unwrap();
    assert_eq!(second.iter().map(|(b, _)| b.id).collect::<Vec<_>>(), [large.bid_id]);
    assert!(app.store.pending_page(id, second[0].0.log_index, 1).await.unwrap().is_empty());
    assert_eq!(app.store.pending_page(id, -1, 10).await.unwrap().len(), 2);

    wait_for_state(&app, &tender, "opened", 20).await;
    let served = Client::new(&app.base).unwrap().envelopes(tender.parse().unwrap()).await.unwrap();
    assert_eq!(served.len(), 2);
    for (sent, got) in [(&small, &served[0]), (&large, &served[1])] {
        assert_eq!(unb64(&got.envelope).unwrap(), sent.envelope);
        assert_eq!(unb64(&got.form).unwrap(), sent.form);
        Envelope::parse(&sent.envelope).unwrap();
    }
    let report = verify(&app, &tender).await;
    assert!(report.passed(), "{report}");
}

crate::on_both_backends!(small_ciphertexts_are_rows_large_documents_files);

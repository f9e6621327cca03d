//! `bidroom backup` during a submission load, `bidroom restore` into a
//! fresh directory, a server started on it, and `verify` passing on every
//! tender. SQLite only: on PostgreSQL the database is backed up with
//! `pg_dump` (docs/DEPLOY.md), so there is no PostgreSQL variant.

use bidroom::cli::backup::{BackupArgs, RestoreArgs, backup, restore};
use bidroom::client::Client;
use bidroom::ledger::Verifier;
use bidroom::verify::verify_tender;

use crate::common::{Backend, Draft, TestApp, run_sqlite, wait_for_state};
use crate::support::bids;

async fn submit_several(app: &TestApp, tender: &str, name: &str, n: usize) -> usize {
    let key = bids::register(app, name).await;
    let mut ok = 0;
    for i in 0..n {
        // The first bid of each bidder has a document above 64 KiB (a
        // file); the rest are database rows only.
        let large = vec![1u8; 70_000];
        let docs: Vec<&[u8]> = if i == 0 { vec![b"offer", &large] } else { vec![b"offer"] };
        let sealed = bids::seal(app, tender, &key, &format!("{}.00", 100 + i), &docs).await;
        let (s, v) = bids::submit(app, tender, &sealed).await;
        assert!(s.is_success(), "{s} {v}");
        ok += 1;
    }
    ok
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_under_load_restores_and_verifies() {
    run_sqlite(|app| async move {
        let done = Draft::on(&app, 4).await.opening_at_deadline().published(&app).await;
        submit_several(&app, &done, "Early Ltd", 2).await;
        let open = Draft::on(&app, 12).await.opening_at_deadline().published(&app).await;
        let out = tempfile::tempdir().unwrap();
        let archive = out.path().join("bidroom.tar");
        // Bidders keep submitting while the backup is taken.
        let (taken, counts) = tokio::join!(
            async {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                backup(BackupArgs { data_dir: app.data_dir.path().to_path_buf(), out: archive.clone() }).await.unwrap()
            },
            futures_util::future::join_all(
                ["A Ltd", "B Ltd", "C Ltd"].map(|name| submit_several(&app, &open, name, 4))
            ),
        );
        assert_eq!(counts.iter().sum::<usize>(), 12);
        assert!(taken.blobs >= 1, "{taken:?}");
        assert!(taken.files.iter().any(|f| f == "log-key.pk8"), "{taken:?}");

        let restored_dir = tempfile::tempdir().unwrap();
        let refused =
            restore(RestoreArgs { archive: archive.clone(), data_dir: app.data_dir.path().to_path_buf() }).await;
        assert!(refused.is_err(), "restore refuses a directory that is not empty");
        restore(RestoreArgs { archive, data_dir: restored_dir.path().to_path_buf() }).await.unwrap();
        let restored = TestApp::start(restored_dir, Backend::Sqlite, |cfg| cfg.opening_pace_ms = 0).await;
        let client = Client::new(&restored.base).unwrap();
        let verifier = Verifier::parse(&client.log_key().await.unwrap()).unwrap();
        let original = Client::new(&app.base).unwrap();
        assert_eq!(original.log_key().await.unwrap(), client.log_key().await.unwrap(), "the log key came along");
        for tender in [&done, &open] {
            wait_for_state(&restored, tender, "opened", 30).await;
            let report = verify_tender(&client, tender.parse().unwrap(), &verifier, None).await;
            assert!(report.passed(), "{tender}: {report}");
        }
    })
    .await;
}

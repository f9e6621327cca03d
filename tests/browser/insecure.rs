//! The pages that need WebCrypto (bid, custodian) opened on an origin that
//! is not secure say what is wrong and what to do, in both languages.

use crate::harness::{Browser, INSECURE_HOST, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crypto_pages_on_an_insecure_origin_say_to_use_https() {
    let server = Server::for_browser().await;
    let tender = server.tender("Street lighting", 3600, None).await;
    let id = tender["id"].as_str().expect("id").to_string();
    let base = format!("http://{INSECURE_HOST}:{}", server.addr.port());
    for (lang, expect) in [("en-US", "HTTPS"), ("zh-CN", "当前连接不安全")] {
        let b = Browser::start(&format!("insecure-{lang}"), lang).await;
        for page in ["bid", "custodian"] {
            b.goto(&format!("{base}/tenders/{id}/{page}")).await;
            let text = b.wait_for("document.getElementById('insecure-origin')?.innerText", 20).await;
            let text = text.as_str().expect("text").to_string();
            assert!(text.contains(expect), "{lang} {page}: {text}");
            assert!(
                text.contains(&format!("https://{INSECURE_HOST}")),
                "{lang} {page} names the HTTPS address: {text}"
            );
            b.screenshot(&format!("{page}-insecure")).await;
        }
        // The same page on localhost works as before.
        b.goto(&server.url(&format!("/tenders/{id}/bid"))).await;
        b.wait_for("document.getElementById('generate-key')", 20).await;
    }
}

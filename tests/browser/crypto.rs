//! The browser's crypto against the published vectors and the Rust code:
//! HPKE (tests/vectors), Shamir both ways against vsss-rs, key files both
//! ways, and the PROTOCOL.md worked example's derived keys.

use bidroom::seal::{BidKey, BidderKey, Binding, CustodianSecretKey, KeyFile, Share, combine, form_key, split};
use serde_json::{Value, json};

use crate::harness::{Browser, Server};

const VECTORS: &str = include_str!("../vectors/hpke-p256-sha256-aes256gcm.json");

/// The protocol document, whose worked example the browser must reproduce.
const PROTOCOL: &str = include_str!("../../docs/PROTOCOL.md");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_crypto_matches_vectors_and_rust() {
    let mut server = Server::for_browser().await;
    let b = Browser::start("crypto", "en-US").await;
    b.goto(&server.url("/")).await;
    b.wait_for("document.getElementById('groups')", 20).await;

    // HPKE: every vector, seal with the vector's ephemeral key and open.
    let vectors: Value = serde_json::from_str(VECTORS).expect("vectors");
    let mut all = vec![vectors["rfc9180_a3_base_first"].clone()];
    all.extend(vectors["vectors"].as_array().expect("vectors").iter().cloned());
    let result = b
        .js_async(
            r#"
            const hpke = await import('/assets/js/protocol/hpke.js');
            const { hex, unhex } = await import('/assets/js/protocol/bytes.js');
            const out = [];
            for (const v of args[0]) {
              const eph = await hpke.deriveKeyPair(unhex(v.ikmE));
              const r = await hpke.deriveKeyPair(unhex(v.ikmR));
              if (hex(r.pk) !== v.pkRm) return `pkRm differs for ${v.info}`;
              if (v.pkEm && hex(eph.pk) !== v.pkEm) return 'pkEm differs';
              if (v.skRm && hex(r.sk) !== v.skRm) return 'skRm differs';
              const { enc, ctx } = await hpke.setupBaseS(r.pk, unhex(v.info), v.aead_id, eph);
              if (v.enc && hex(enc) !== v.enc) return 'enc differs';
              const rctx = await hpke.setupBaseR(enc, await hpke.importPrivate(r.sk, r.pk), r.pk, unhex(v.info), v.aead_id);
              for (const e of v.encryptions) {
                const ct = await ctx.seal(unhex(e.aad), unhex(e.pt));
                if (hex(ct) !== e.ct) return `ct differs: ${hex(ct)} != ${e.ct}`;
                if (hex(await rctx.open(unhex(e.aad), ct)) !== e.pt) return 'pt differs';
                out.push(e.ct.slice(0, 8));
              }
            }
            return out.length;
            "#,
            vec![json!(all)],
        )
        .await;
    let expected: usize = all.iter().map(|v| v["encryptions"].as_array().map_or(0, Vec::len)).sum();
    assert_eq!(result, json!(expected), "HPKE vectors in the browser: {result}");

    // Shamir: the browser splits, vsss-rs combines; Rust splits, the browser combines.
    let r = b
        .js_async(
            r#"
            const s = await import('/assets/js/protocol/shamir.js');
            const { hex } = await import('/assets/js/protocol/bytes.js');
            const k = s.newBidKey();
            return { key: hex(k), shares: s.split(k, 3, 5).map(hex) };
            "#,
            vec![],
        )
        .await;
    let shares: Vec<Share> = r["shares"]
        .as_array()
        .expect("shares")
        .iter()
        .map(|h| Share::from_bytes(&hex::decode(h.as_str().expect("hex")).expect("hex")).expect("share"))
        .collect();
    for subset in [&shares[0..3], &shares[2..5], &[shares[0].clone(), shares[2].clone(), shares[4].clone()][..]] {
        assert_eq!(hex::encode(combine(subset).expect("combine").as_bytes()), r["key"], "JS split, Rust combine");
    }
    let key = BidKey::from_bytes(&[7u8; 32]).expect("key");
    let rust_shares: Vec<String> =
        split(&key, 2, 3).expect("split").iter().map(|s| hex::encode(s.to_bytes().as_ref())).collect();
    let combined = b
        .js_async(
            r#"
            const s = await import('/assets/js/protocol/shamir.js');
            const { hex, unhex } = await import('/assets/js/protocol/bytes.js');
            return [hex(s.combine([unhex(args[0][0]), unhex(args[0][2])])), hex(s.combine(args[0].map(unhex)))];
            "#,
            vec![json!(rust_shares)],
        )
        .await;
    assert_eq!(combined, json!([hex::encode([7u8; 32]), hex::encode([7u8; 32])]), "Rust split, JS combine");

    // Key files: browser → Rust and Rust → browser, bidder and custodian.
    let made = b
        .js_async(
            r#"
            const kf = await import('/assets/js/protocol/keyfile.js');
            const { hex } = await import('/assets/js/protocol/bytes.js');
            const k = await kf.generateBidderKey();
            const file = await kf.exportBidderKey(k.privateKey, 'correct horse', 1000);
            const cust = await kf.exportCustodianKey(new Uint8Array(32).fill(9), 'pw', 1000);
            return { file, id: k.id, pub: hex(k.pub), cust };
            "#,
            vec![],
        )
        .await;
    let file = KeyFile::parse(made["file"].as_str().expect("file").as_bytes()).expect("Rust parses the browser's file");
    let key = file.unlock_bidder("correct horse").expect("Rust unlocks the browser's bidder key");
    assert_eq!(hex::encode(key.public_key().as_bytes()), made["pub"]);
    assert_eq!(key.public_key().key_id(), made["id"]);
    assert!(file.unlock_bidder("wrong").is_err());
    let cust = KeyFile::parse(made["cust"].as_str().expect("cust").as_bytes()).expect("parse");
    let ck = cust.unlock_custodian("pw").expect("Rust unlocks the browser's custodian key");
    assert_eq!(ck.to_bytes().as_ref(), &[9u8; 32]);

    let rust_bidder = BidderKey::generate().expect("key");
    let rust_file = String::from_utf8(
        KeyFile::seal_bidder(&rust_bidder, "pass phrase", 1000).expect("seal").to_json().expect("json"),
    )
    .expect("utf8");
    let rust_cust = CustodianSecretKey::generate().expect("key");
    let rust_cust_file =
        String::from_utf8(KeyFile::seal_custodian(&rust_cust, "pw2", 1000).expect("seal").to_json().expect("json"))
            .expect("utf8");
    let opened = b
        .js_async(
            r#"
            const kf = await import('/assets/js/protocol/keyfile.js');
            const { hex, utf8 } = await import('/assets/js/protocol/bytes.js');
            const k = await kf.importBidderKey(args[0], 'pass phrase');
            const sig = await kf.sign(k.privateKey, utf8('hello'));
            let wrong = 'accepted';
            try { await kf.importBidderKey(args[0], 'nope'); } catch (e) { wrong = e instanceof kf.WrongPassphrase ? 'refused' : String(e); }
            const c = await kf.importCustodianKey(args[1], 'pw2');
            return { id: k.id, sig: hex(sig), wrong, cust: hex(c.pub) };
            "#,
            vec![json!(rust_file), json!(rust_cust_file)],
        )
        .await;
    assert_eq!(opened["id"], json!(rust_bidder.public_key().key_id()), "{opened}");
    assert_eq!(opened["wrong"], "refused");
    rust_bidder
        .public_key()
        .verify(b"hello", &hex::decode(opened["sig"].as_str().expect("sig")).expect("hex"))
        .expect("the browser signs with the Rust key");
    assert_eq!(opened["cust"], json!(hex::encode(rust_cust.public_key().as_bytes())));

    // The worked example of docs/PROTOCOL.md.
    let example = b
        .js_async(
            r#"
            const seal = await import('/assets/js/protocol/seal.js');
            const { hex, unhex, concat, label, sha256 } = await import('/assets/js/protocol/bytes.js');
            const K = unhex('0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20');
            const k = await seal.deriveKeys('6f0b8a4e-2c1d-4a5b-9e3f-1a2b3c4d5e6f', '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a', K);
            return [hex(k.form), hex(k.documents), hex(await k.document(0)), hex(k.manifest),
                    hex(await sha256(concat(label('bidroom/v1/key-commitment'), k.t, k.b, K)))];
            "#,
            vec![],
        )
        .await;
    // Checked against the document's lines (which a unit test keeps equal
    // to the Rust code's output) and, for the form key, the Rust code itself.
    let names = ["form_key", "documents_key", "document_key_0", "manifest_key", "key_commitment"];
    for (name, value) in names.iter().zip(example.as_array().expect("five values")) {
        let line = format!("{name} = {}", value.as_str().expect("hex"));
        assert!(PROTOCOL.lines().any(|l| l == line), "the browser's {line} is not in docs/PROTOCOL.md");
    }
    let binding = Binding::new(
        "6f0b8a4e-2c1d-4a5b-9e3f-1a2b3c4d5e6f".parse().expect("uuid"),
        "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a".parse().expect("uuid"),
    );
    let k: Vec<u8> = (1..=32).collect();
    let rust_form_key = form_key(&binding, &BidKey::from_bytes(&k).expect("key")).expect("form key");
    assert_eq!(example[0], json!(hex::encode(rust_form_key.as_bytes())), "the browser's form key is the Rust one");
    b.close().await;
    server.stop().await;
}

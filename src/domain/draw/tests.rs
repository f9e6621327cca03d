//! The vectors of `docs/DRAWS.md`, recomputed.

use serde_json::json;
use uuid::Uuid;

use super::seed::{Stream, commitment, nonce};
use super::*;

fn lots() -> Vec<Lot> {
    serde_json::from_value(json!([{ "id": "1", "title": "Lot 1", "fields": [
        { "key": "price", "label": { "zh": "投标报价", "en": "Price" }, "type": "money", "required": true }
    ]}]))
    .unwrap()
}

/// The example of DRAWS.md: a K draw, a method draw, an order, a formula.
pub(crate) fn example_terms() -> DrawTerms {
    serde_json::from_value(json!({
        "draws": [
            { "id": "k", "label": { "zh": "下浮系数", "en": "Coefficient K" }, "type": "value",
              "values": ["0.92", "0.93", "0.94", "0.95", "0.96", "0.97", "0.98"] },
            { "id": "method", "label": { "zh": "基准价方法", "en": "Method" }, "type": "method",
              "methods": ["A", "B", "C"] },
            { "id": "order", "label": { "zh": "唱标顺序", "en": "Reading order" }, "type": "order",
              "items": ["甲", "乙", "丙", "丁", "戊"] }
        ],
        "formulas": [
            { "id": "base", "label": { "zh": "评标基准价", "en": "Reference price" }, "lot": "1",
              "field": "price", "drop_extremes_from": 5, "coefficient": { "draw": "k", "apply": "times" } }
        ],
        "commitment": hex::encode(commitment(&[0x42; 32]))
    }))
    .unwrap()
}

fn tender() -> Uuid {
    Uuid::parse_str("0192d3a0-0000-7000-8000-000000000001").unwrap()
}

fn bid(i: u8) -> Uuid {
    Uuid::from_bytes([0x01, 0x92, 0xd3, 0xa0, 0, 0, 0x70, 0, 0x80, 0, 0, 0, 0, 0, 0, 0x10 + i])
}

pub(crate) fn example_bids() -> Vec<OpenedBid> {
    ["1000000.00", "980000.50", "1010000.00", "990000.00", "1200000.00"]
        .iter()
        .enumerate()
        .map(|(i, p)| OpenedBid {
            bid_id: bid(i as u8),
            lot: "1".into(),
            form_key: [0x11 * (i as u8 + 1); 32],
            fields: json!({ "price": p }).as_object().unwrap().clone(),
            above_ceiling: None,
        })
        .collect()
}

#[test]
fn example_terms_are_valid() {
    example_terms().validate(&lots()).unwrap();
}

#[test]
fn vectors_of_draws_md() {
    let secret = [0x42; 32];
    assert_eq!(hex::encode(commitment(&secret)), "e1b89a6a5ac99fa5cd85597244a7266d57d4c1e0c5ffb55832e7222248637b06");
    assert_eq!(
        hex::encode(nonce(tender(), bid(0), &[0x11; 32])),
        "9774251efda26646f2e402989abfb8e12594d82656887407b5c524fb61bbe08d"
    );
    let out = outcome(&example_terms(), tender(), 1234, [0xaa; 32], Some(secret), &example_bids());
    assert_eq!(hex::encode(out.seed), "71863b3ee162290e6afcbfeaa64c8855cbd23885d978785b9ed7b5397203d1ee");
    let mut s = Stream::new(&out.seed, 0);
    let first: Vec<u32> = (0..4).map(|_| s.uniform(u32::MAX)).collect();
    assert_eq!(format!("{first:?}"), "[3130204770, 4049900444, 3803155457, 2445085742]");
    let got: Vec<(String, Vec<u32>)> = out.draws.iter().map(|d| (d.id.clone(), d.indices.clone())).collect();
    assert_eq!(format!("{got:?}"), r#"[("k", [0]), ("method", [0]), ("order", [4, 0, 2, 1, 3])]"#);
    assert_eq!(out.prices[0].amount.as_deref(), Some("920000.00"));
    let fallback = outcome(&example_terms(), tender(), 1234, [0xaa; 32], None, &example_bids());
    assert_eq!(hex::encode(fallback.seed), "8c3e4675c2b2a28a70781e07ea1d0c3dfd63745b10b1511ef636134a5cb7bd09");
}

/// The seed's bytes as DRAWS.md lists them, hashed by an independent SHA-256.
#[test]
fn seed_is_the_documented_encoding() {
    use sha2::{Digest as _, Sha256};
    let bids = example_bids();
    let mut m = b"bidroom/v1/draw-seed\0".to_vec();
    m.extend_from_slice(tender().as_bytes());
    m.extend_from_slice(&1234u64.to_be_bytes());
    m.extend_from_slice(&[0xaa; 32]);
    m.push(1);
    m.extend_from_slice(&[0x42; 32]);
    m.extend_from_slice(&5u32.to_be_bytes());
    for b in &bids {
        m.extend_from_slice(&nonce(tender(), b.bid_id, &b.form_key));
    }
    let out = outcome(&example_terms(), tender(), 1234, [0xaa; 32], Some([0x42; 32]), &bids);
    assert_eq!(Sha256::digest(&m).as_slice(), out.seed);
    let mut block = b"bidroom/v1/draw-stream\0".to_vec();
    block.extend_from_slice(&out.seed);
    block.extend_from_slice(&0u32.to_be_bytes());
    block.extend_from_slice(&0u64.to_be_bytes());
    let first = Sha256::digest(&block);
    let x = u32::from_be_bytes([first[0], first[1], first[2], first[3]]);
    // K has 7 values: 2^32 mod 7 = 4, so x is accepted unless x ≥ 2^32 − 4.
    assert_eq!(out.draws[0].indices, vec![x % 7]);
}

#[test]
fn uniform_rejects_the_biased_tail() {
    // n = 2^31 + 1: every x ≥ 2^31 + 1 is rejected, about half of the stream.
    let mut s = Stream::new(&[7; 32], 0);
    for _ in 0..200 {
        assert!(s.uniform((1 << 31) + 1) <= 1 << 31);
    }
    let mut s = Stream::new(&[7; 32], 1);
    let mut p = s.permutation(10);
    p.sort_unstable();
    assert_eq!(p, (0..10).collect::<Vec<_>>());
}

#[test]
fn prices_are_exact_and_rounded_as_stated() {
    let mut f = example_terms().formulas[0].clone();
    f.coefficient = Some(CoefficientRef { draw: "k".into(), apply: Apply::OneMinus });
    f.drop_extremes_from = None;
    // (1.00 + 2.00 + 2.01) / 3 × (1 − 0.03) = 1.619966…
    let r = price::compute(&f, &[100, 200, 201], Some(300));
    assert_eq!((r.amount.as_deref(), r.factor.as_deref()), (Some("1.62"), Some("0.9700")));
    f.rounding = Rounding::Down;
    assert_eq!(price::compute(&f, &[100, 200, 201], Some(300)).amount.as_deref(), Some("1.61"));
    // Exactly half a cent rounds up: 0.01 × 0.5 = 0.005.
    f.coefficient = Some(CoefficientRef { draw: "k".into(), apply: Apply::Times });
    f.rounding = Rounding::HalfUp;
    assert_eq!(price::compute(&f, &[1], Some(5_000)).amount.as_deref(), Some("0.01"));
    assert_eq!(price::compute(&f, &[], Some(5_000)).amount, None);
    assert_eq!(coefficient_units("0.95"), Some(9_500));
    assert_eq!(coefficient_units("10.00001"), None);
    assert_eq!(coefficient_units("11"), None);
    assert_eq!(coefficient_units(".5"), None);
}

#[test]
fn terms_refuse_what_cannot_be_drawn() {
    let lots = lots();
    let mut t = example_terms();
    t.commitment = "00".into();
    assert!(t.validate(&lots).is_err());
    let mut t = example_terms();
    t.formulas[0].coefficient = Some(CoefficientRef { draw: "method".into(), apply: Apply::Times });
    assert!(t.validate(&lots).is_err());
    let mut t = example_terms();
    t.formulas[0].field = "nope".into();
    assert!(t.validate(&lots).is_err());
    let mut t = example_terms();
    t.draws[0].kind = DrawKind::Value { values: vec!["0.9".into(), "abc".into()] };
    assert!(t.validate(&lots).is_err());
    let mut t = example_terms();
    t.draws[2].id = "k".into();
    assert!(t.validate(&lots).is_err());
}

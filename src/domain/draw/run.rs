//! One run of a tender's draws: the seed from its inputs, each draw from
//! its own stream, then the formulas from the opened prices.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::price::{compute, valid_price};
use super::seed::{SeedInputs, Stream, nonce, seed};
use super::{DrawKind, DrawTerms, PriceResult, coefficient_units};

/// An opened bid as the draw reads it, in the record's row order.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenedBid {
    /// The bid.
    pub bid_id: Uuid,
    /// Its lot.
    pub lot: String,
    /// Its published form key.
    pub form_key: [u8; 32],
    /// Its opened record fields.
    pub fields: Map<String, Value>,
    /// Above its lot's ceiling?
    pub above_ceiling: Option<bool>,
}

/// A draw's result, as logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawResult {
    /// The draw's id.
    pub id: String,
    /// The chosen positions in the declared list: one for a value or a
    /// method, the whole permutation for an order.
    pub indices: Vec<u32>,
    /// The chosen choices, in the same order.
    pub values: Vec<String>,
}

/// Everything one run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawOutcome {
    /// The seed.
    pub seed: [u8; 32],
    /// The nonces, in row order, with their bids.
    pub nonces: Vec<(Uuid, [u8; 32])>,
    /// One result per declared draw.
    pub draws: Vec<DrawResult>,
    /// One result per formula.
    pub prices: Vec<PriceResult>,
}

/// Runs `terms` on the inputs: `host_secret` is `None` in the fallback.
pub fn outcome(
    terms: &DrawTerms,
    tender: Uuid,
    record_size: u64,
    record_head: [u8; 32],
    host_secret: Option<[u8; 32]>,
    opened: &[OpenedBid],
) -> DrawOutcome {
    let nonces: Vec<(Uuid, [u8; 32])> =
        opened.iter().map(|b| (b.bid_id, nonce(tender, b.bid_id, &b.form_key))).collect();
    let inputs =
        SeedInputs { tender, record_size, record_head, host_secret, nonces: nonces.iter().map(|n| n.1).collect() };
    let seed = seed(&inputs);
    let draws: Vec<DrawResult> = terms
        .draws
        .iter()
        .enumerate()
        .map(|(i, d)| {
            // At most MAX_DRAWS draws and MAX_CHOICES choices: both fit u32.
            let mut stream = Stream::new(&seed, i as u32);
            let choices = d.kind.choices();
            let indices = match d.kind {
                DrawKind::Order { .. } => stream.permutation(choices.len() as u32),
                _ => vec![stream.uniform(choices.len() as u32)],
            };
            let values = indices.iter().filter_map(|&j| choices.get(j as usize).cloned()).collect();
            DrawResult { id: d.id.clone(), indices, values }
        })
        .collect();
    let drawn = |id: &str| draws.iter().find(|r| r.id == id).and_then(|r| r.values.first());
    let prices = terms
        .formulas
        .iter()
        .map(|f| {
            let prices: Vec<u128> = opened
                .iter()
                .filter(|b| b.lot == f.lot)
                .filter_map(|b| valid_price(f, &b.fields, b.above_ceiling))
                .collect();
            let k = f.coefficient.as_ref().and_then(|c| drawn(&c.draw)).and_then(|v| coefficient_units(v));
            let mut r = compute(f, &prices, k);
            if let Some(g) = &f.when
                && drawn(&g.draw) != Some(&g.method)
            {
                r.amount = None;
                r.note = Some(format!("method {} was not drawn", g.method));
            }
            r
        })
        .collect();
    DrawOutcome { seed, nonces, draws, prices }
}

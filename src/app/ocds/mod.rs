//! Open data: each public tender as an Open Contracting Data Standard 1.1
//! release package, with the bids and bidOpening extensions. Built from the
//! stored terms and the tender's logged events only (no draft, no sealed
//! content: bids appear from the opening on, as the record has them).

mod release;

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

pub use release::{Logged, ocid, release};

use super::error::{AppError, AppResult};
use super::state::AppState;
use super::tenders::visible_tender;
use crate::domain::event::EventPayload;
use crate::domain::{Tender, TenderState};
use crate::store::TenderQuery;

/// The extensions every package declares (their `extension.json`).
pub const EXTENSIONS: [&str; 3] = [
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/v1.1.5/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_location_extension/v1.1.5/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bidOpening_extension/master/extension.json",
];

/// Most releases in one page of `GET /api/v1/ocds/releases`.
pub const MAX_PAGE: i64 = 100;

/// How releases are named and who publishes them.
#[derive(Debug, Clone)]
pub struct OcdsSettings {
    /// The registered ocid prefix, `ocds-` and six characters.
    pub prefix: String,
    /// The publisher's name.
    pub publisher: String,
}

impl OcdsSettings {
    /// Checks the prefix's form: `ocds-` followed by six lower-case letters
    /// or digits, as the Open Contracting Partnership assigns them.
    pub fn new(prefix: &str, publisher: &str) -> AppResult<Self> {
        let tail = prefix.strip_prefix("ocds-").unwrap_or("");
        let ok = tail.len() == 6 && tail.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !ok {
            return Err(AppError::invalid(
                "ocds_prefix",
                format!("the OCDS prefix must be `ocds-` and six lower-case letters or digits, not {prefix:?}"),
            ));
        }
        if publisher.trim().is_empty() {
            return Err(AppError::invalid("ocds_publisher", "the OCDS publisher name must not be empty"));
        }
        Ok(OcdsSettings { prefix: prefix.to_owned(), publisher: publisher.to_owned() })
    }
}

fn time(t: OffsetDateTime) -> Value {
    t.format(&Rfc3339).map(Value::String).unwrap_or(Value::Null)
}

/// A release package around `releases`; `uri` is where it is served.
fn package(settings: &OcdsSettings, uri: String, published: OffsetDateTime, releases: Vec<Value>) -> Value {
    json!({
        "uri": uri,
        "version": "1.1",
        "extensions": EXTENSIONS,
        "publishedDate": time(published),
        "publisher": {"name": settings.publisher},
        "releases": releases,
    })
}

/// The tender's release: its terms and logged events.
async fn tender_release(state: &AppState, tender: &Tender) -> AppResult<(Value, OffsetDateTime)> {
    let events = state.store.events(tender.id, 0, i64::MAX).await?;
    let logged: Vec<Logged> = events
        .into_iter()
        .map(|e| {
            let payload = EventPayload::from_data(&e.kind, e.data).map_err(AppError::internal)?;
            Ok(Logged { seq: e.seq, at: e.at, payload })
        })
        .collect::<AppResult<_>>()?;
    let date = logged.last().map(|e| e.at).or(tender.published_at).unwrap_or(tender.created_at);
    Ok((release(&state.ocds.prefix, tender, &logged), date))
}

/// `GET /api/v1/tenders/{id}/ocds`: a package holding the tender's release.
/// `base` is the server's public origin, e.g. `https://bids.example.org`.
pub async fn tender_package(state: &AppState, id: Uuid, base: &str) -> AppResult<Value> {
    let tender = visible_tender(state, id, None).await?.tender;
    let (release, date) = tender_release(state, &tender).await?;
    Ok(package(&state.ocds, format!("{base}/api/v1/tenders/{id}/ocds"), date, vec![release]))
}

/// `GET /api/v1/ocds/releases`: every public tender's release, newest
/// tender first, `limit` at a time from `offset`; with `since`, only
/// releases dated after it. A tender published meanwhile shifts later
/// pages by one, so a harvester may see a release twice, never miss one.
pub async fn releases(
    state: &AppState,
    since: Option<OffsetDateTime>,
    offset: i64,
    limit: i64,
    base: &str,
) -> AppResult<Value> {
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(AppError::invalid("limit", format!("must be between 1 and {MAX_PAGE}")));
    }
    if offset < 0 {
        return Err(AppError::invalid("offset", "must not be negative"));
    }
    let query = TenderQuery { state: None, include_drafts: false, search: None, limit, offset };
    let tenders = state.store.list_tenders(&query).await?;
    let full = tenders.len() as i64 == limit;
    let mut releases = Vec::new();
    let mut newest = None;
    for stored in tenders {
        if stored.tender.state == TenderState::Draft {
            continue;
        }
        let (release, date) = tender_release(state, &stored.tender).await?;
        if since.is_some_and(|s| date <= s) {
            continue;
        }
        newest = newest.max(Some(date));
        releases.push(release);
    }
    let published = match newest {
        Some(d) => d,
        None => state.store.now().await?,
    };
    let since_q = since.and_then(|s| s.format(&Rfc3339).ok()).map(|s| format!("&since={s}")).unwrap_or_default();
    let uri = format!("{base}/api/v1/ocds/releases?offset={offset}&limit={limit}{since_q}");
    let mut pkg = package(&state.ocds, uri, published, releases);
    // A page as long as the limit may have a next one.
    if full {
        let next = offset.saturating_add(limit);
        pkg["links"] = json!({"next": format!("{base}/api/v1/ocds/releases?offset={next}&limit={limit}{since_q}")});
    }
    Ok(pkg)
}

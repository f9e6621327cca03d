//! Short-lived download links for evaluators. A plain link cannot carry the
//! staff token, and fetching a document into page memory does not scale to
//! large files, so an evaluator asks for a link: an HMAC-signed claim (tender,
//! bid, document, staff account, expiry) that the browser follows to stream
//! the document straight to disk. Following it runs every check of a
//! download again and is logged like any other.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use ring::hmac;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::AppState;
use super::auth::StaffUser;
use super::error::{ApiError, ApiResult};
use super::extract::ApiPath;
use super::opening::{readable, serve_document};
use crate::seal::{b64, unb64};

/// How long a link stays valid: long enough to click, short enough that a
/// link copied out of the browser is useless soon.
pub const LINK_TTL: time::Duration = time::Duration::seconds(60);

/// Domain label under which the link key is derived from the server secret.
const LABEL: &[u8] = b"bidroom/v1/download-link";

/// The server's link-signing key (derived from a secret in the data
/// directory, so every node of a deployment accepts every node's links).
#[derive(Clone)]
pub struct DownloadKey(hmac::Key);

/// What a link grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Claims {
    /// Tender.
    t: Uuid,
    /// Bid.
    b: Uuid,
    /// Document index.
    i: u32,
    /// Staff account.
    s: Uuid,
    /// Expiry, Unix seconds.
    e: i64,
}

impl DownloadKey {
    /// The key for `secret`: HMAC-SHA256(secret, label).
    pub fn derive(secret: &[u8]) -> Self {
        let derived = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), LABEL);
        DownloadKey(hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()))
    }

    /// `base64url(claims JSON) "." base64url(HMAC)`.
    fn sign(&self, claims: &Claims) -> ApiResult<String> {
        let payload = serde_json::to_vec(claims).map_err(ApiError::internal)?;
        Ok(format!("{}.{}", b64(&payload), b64(hmac::sign(&self.0, &payload).as_ref())))
    }

    fn verify(&self, token: &str) -> Option<Claims> {
        let (payload, tag) = token.split_once('.')?;
        let (payload, tag) = (unb64(payload).ok()?, unb64(tag).ok()?);
        hmac::verify(&self.0, &payload, &tag).ok()?;
        serde_json::from_slice(&payload).ok()
    }
}

/// A download link.
#[derive(Serialize, utoipa::ToSchema)]
pub struct DownloadLink {
    /// Path to follow (no credentials needed) before `expires_at`.
    pub url: String,
    /// When the link stops working.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: OffsetDateTime,
}

/// A link to one document, valid for a minute (evaluators, after the opening).
#[utoipa::path(post, path = "/api/v1/tenders/{id}/bids/{bid}/documents/{index}/link", responses((status = 201, body = DownloadLink)), security(("staff" = [])))]
pub async fn create(
    State(state): State<AppState>,
    StaffUser(me): StaffUser,
    ApiPath((id, bid, index)): ApiPath<(Uuid, Uuid, u32)>,
) -> ApiResult<(StatusCode, Json<DownloadLink>)> {
    // A link is issued only for what this evaluator may read now.
    readable(&state, &me, id, bid, index).await?;
    let expires_at = state.store.now().await? + LINK_TTL;
    let claims = Claims { t: id, b: bid, i: index, s: me.id, e: expires_at.unix_timestamp() };
    let url = format!("/api/v1/downloads/{}", state.downloads.sign(&claims)?);
    Ok((StatusCode::CREATED, Json(DownloadLink { url, expires_at })))
}

/// Follows a download link: checks it, then serves the document as the
/// evaluator who asked for it would get it (and logs the download).
#[utoipa::path(get, path = "/api/v1/downloads/{token}", responses((status = 200, content_type = "application/octet-stream"), (status = 403), (status = 410)))]
pub async fn follow(State(state): State<AppState>, Path(token): Path<String>) -> ApiResult<Response> {
    let claims = state.downloads.verify(&token).ok_or_else(|| {
        ApiError::new(StatusCode::FORBIDDEN, "bad_link", "this download link is not valid; ask for a new one")
    })?;
    if state.store.now().await?.unix_timestamp() > claims.e {
        return Err(ApiError::new(
            StatusCode::GONE,
            "link_expired",
            "this download link has expired; ask for a new one",
        ));
    }
    // The account is looked up again: its role now, not when the link was made.
    let me = state
        .store
        .list_staff()
        .await?
        .into_iter()
        .find(|s| s.id == claims.s)
        .ok_or_else(|| ApiError::forbidden("the account this link was made for no longer exists"))?;
    let mut resp = serve_document(&state, &me, claims.t, claims.b, claims.i).await?;
    // The token is in the URL: keep it out of other sites' logs.
    resp.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_verify_only_unaltered() {
        let key = DownloadKey::derive(b"secret");
        let claims = Claims { t: Uuid::nil(), b: Uuid::max(), i: 3, s: Uuid::nil(), e: 1_800_000_000 };
        let token = key.sign(&claims).unwrap();
        assert_eq!(key.verify(&token), Some(claims.clone()));
        assert_eq!(DownloadKey::derive(b"other").verify(&token), None);
        let (payload, tag) = token.split_once('.').unwrap();
        let mut forged = claims;
        forged.i = 4;
        let forged_payload = b64(&serde_json::to_vec(&forged).unwrap());
        assert_eq!(key.verify(&format!("{forged_payload}.{tag}")), None);
        assert_eq!(key.verify(payload), None);
        assert_eq!(key.verify("not.a-token"), None);
    }
}

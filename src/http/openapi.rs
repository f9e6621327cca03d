//! The OpenAPI document, generated from the handlers' annotations.

use axum::Json;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "bidroom", description = "Verifiable digital bid-opening room"),
    paths(
        super::health::time,
        super::tenders::list,
        super::tenders::create,
        super::tenders::get,
        super::tenders::edit,
        super::tenders::publish,
        super::tenders::amend,
        super::tenders::cancel,
        super::tenders::events,
        super::live::live,
        super::staff::create,
        super::staff::list,
        super::staff::me,
        super::registry::register_bidder,
        super::registry::get_bidder,
        super::registry::register_custodian,
        super::registry::list_custodians,
        super::registry::challenge,
        super::registry::rotate_token,
        super::registry::custody,
        super::registry::admit,
        super::bids::submit,
        super::bids::withdraw,
        super::bids::summary,
        super::uploads::create,
        super::uploads::status,
        super::uploads::append,
        super::uploads::commit,
        super::log::checkpoint_json,
        super::log::inclusion,
        super::log::consistency,
        super::log::entry,
        super::opening::envelopes,
        super::opening::release,
        super::opening::record,
        super::export::record_csv,
        super::stream::set,
        super::stream::remove,
        super::session::get,
        super::session::control,
        super::opening::documents,
        super::opening::document,
        super::downloads::create,
        super::downloads::follow,
    ),
    components(schemas(super::error::ErrorBody))
)]
struct ApiDoc;

/// The document as a value.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// `GET /api/v1/openapi.json`.
pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}

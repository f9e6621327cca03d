//! The one tender-draft builder, and the times drafts are made of.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::server::TestApp;

/// A valid tender draft: one lot with a money `price` and an integer
/// `days` field, both required. By default it closes at the deadline given
/// and opens an hour later; the methods change one thing each.
#[derive(Clone, Debug)]
pub struct Draft {
    now: OffsetDateTime,
    deadline: OffsetDateTime,
    opening: Option<OffsetDateTime>,
    title: String,
    custody: Option<Value>,
    limits: Option<Value>,
    session: Value,
}

/// The session terms tests get unless they say otherwise: tests written
/// before sessions open one or two bids and count every event, so no
/// minimum of bidders, no sign-in stage and no confirmation stage. The
/// server's defaults (three bidders, 30 minutes each) are tested on their
/// own by `tests/api/session.rs`.
pub fn plain_session() -> Value {
    serde_json::json!({"min_bids": 1, "sign_in_minutes": 0, "confirmation_minutes": 0})
}

impl Draft {
    /// A draft whose deadline is `secs` seconds after `now` (the server's
    /// clock) and whose opening is an hour after the deadline.
    pub fn closing_in(now: OffsetDateTime, secs: i64) -> Draft {
        let deadline = now + time::Duration::seconds(secs);
        Draft {
            now,
            deadline,
            opening: Some(deadline + time::Duration::hours(1)),
            title: "Road maintenance 2027".to_string(),
            custody: None,
            limits: None,
            session: plain_session(),
        }
    }

    /// [`closing_in`](Self::closing_in) on the server's clock.
    pub async fn on(app: &TestApp, secs: i64) -> Draft {
        Draft::closing_in(server_now(app).await, secs)
    }

    /// Opens `secs` seconds after the draft's `now`.
    pub fn opening_in(mut self, secs: i64) -> Draft {
        self.opening = Some(self.now + time::Duration::seconds(secs));
        self
    }

    /// Leaves `opening_at` out: the server opens at the deadline.
    pub fn opening_at_deadline(mut self) -> Draft {
        self.opening = None;
        self
    }

    /// Another title.
    pub fn title(mut self, title: &str) -> Draft {
        self.title = title.to_string();
        self
    }

    /// A custody policy (`{"threshold", "custodians", ...}`).
    pub fn custody(mut self, custody: Value) -> Draft {
        self.custody = Some(custody);
        self
    }

    /// Per-tender limits (`{"max_documents", "max_bid_bytes"}`).
    pub fn limits(mut self, limits: Value) -> Draft {
        self.limits = Some(limits);
        self
    }

    /// Session terms: each key given replaces the test default's
    /// ([`plain_session`]); `null` leaves the terms out (the server's
    /// defaults).
    pub fn session(mut self, terms: Value) -> Draft {
        match (&mut self.session, terms) {
            (_, Value::Null) => self.session = Value::Null,
            (Value::Object(mine), Value::Object(theirs)) => mine.extend(theirs),
            (_, other) => self.session = other,
        }
        self
    }

    /// The draft as the API takes it, with a fresh unique reference.
    pub fn json(&self) -> Value {
        let mut draft = json!({
            "title": self.title,
            "reference": format!("ZB-{}", uuid::Uuid::new_v4().simple()),
            "description": "Resurfacing of municipal roads",
            "buyer": "City of Example",
            "currency": "CNY",
            "lots": [{"id": "1", "title": "North district", "fields": [
                {"key": "price", "label": {"zh": "投标报价", "en": "Price"}, "type": "money", "required": true},
                {"key": "days", "label": {"zh": "工期", "en": "Duration (days)"}, "type": "integer", "required": true}
            ]}],
            "deadline": rfc3339(self.deadline),
        });
        if let Some(opening) = self.opening {
            draft["opening_at"] = json!(rfc3339(opening));
        }
        if let Some(c) = &self.custody {
            draft["custody"] = c.clone();
        }
        if let Some(l) = &self.limits {
            draft["limits"] = l.clone();
        }
        if !self.session.is_null() {
            draft["session"] = self.session.clone();
        }
        draft
    }

    /// Creates the draft with the admin token; returns its id.
    pub async fn create(&self, app: &TestApp) -> String {
        let (s, v) = app.admin(Method::POST, "/api/v1/tenders", Some(&self.json())).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["id"].as_str().expect("id").to_string()
    }

    /// Creates and publishes the tender; returns it as published.
    pub async fn publish(&self, app: &TestApp) -> Value {
        let id = self.create(app).await;
        let (s, v) = app.admin(Method::POST, &format!("/api/v1/tenders/{id}/publish"), None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }

    /// Creates and publishes the tender; returns its id.
    pub async fn published(&self, app: &TestApp) -> String {
        self.publish(app).await["id"].as_str().expect("id").to_string()
    }
}

/// A valid tender draft whose deadline is `secs` seconds after `now` and
/// whose opening is an hour later (tests of the opening set their own).
pub fn draft_json(now: OffsetDateTime, secs: i64) -> Value {
    Draft::closing_in(now, secs).json()
}

/// Creates and publishes a tender closing `secs` seconds from now; returns its id.
pub async fn published_tender(app: &TestApp, secs: i64) -> String {
    Draft::on(app, secs).await.published(app).await
}

/// RFC 3339, as the API writes times.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).expect("format")
}

/// An RFC 3339 time from a JSON string.
pub fn parse_time(v: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(v.as_str().expect("time string"), &Rfc3339).expect("rfc3339")
}

/// The server's clock.
pub async fn server_now(app: &TestApp) -> OffsetDateTime {
    let (_, v) = app.get("/api/v1/time").await;
    parse_time(&v["now"])
}

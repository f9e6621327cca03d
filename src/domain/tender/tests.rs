use super::*;
use crate::domain::EventKind;
use serde_json::json;
use time::Duration;

/// An event's data as published.
fn data(draft: &EventDraft) -> serde_json::Value {
    draft.payload().to_data().unwrap()
}

fn now() -> OffsetDateTime {
    time::macros::datetime!(2026-11-27 08:00:00 UTC)
}

fn draft() -> TenderDraft {
    serde_json::from_value(json!({
        "title": "Road maintenance 2027",
        "reference": "ZB-2026-0042",
        "buyer": "City of Example",
        "currency": "CNY",
        "lots": [{"id": "1", "title": "North", "fields": [
            {"key": "price", "label": {"zh": "投标报价", "en": "Price"}, "type": "money", "required": true},
            {"key": "days", "label": {"zh": "工期", "en": "Duration"}, "type": "integer"},
            {"key": "start", "label": {"zh": "开工日期", "en": "Start"}, "type": "date"}
        ]}],
        "deadline": "2026-11-27T10:00:00Z"
    }))
    .unwrap()
}

fn keys() -> SealedCustody {
    let pk = crate::seal::CustodianSecretKey::derive_from_ikm(b"server custodian test key material").public_key();
    crate::seal::CustodyPolicy {
        threshold: 1,
        custodians: vec![crate::seal::Custodian { index: 1, id: "server".into(), public_key: Some(pk) }],
    }
}

fn published() -> Tender {
    let mut t = Tender::create(Uuid::nil(), draft(), now()).unwrap();
    t.publish(now(), keys()).unwrap();
    t
}

#[test]
fn create_defaults_opening_to_deadline_and_server_custody() {
    let t = Tender::create(Uuid::nil(), draft(), now()).unwrap();
    assert_eq!(t.state, TenderState::Draft);
    assert_eq!(t.opening_at, t.deadline);
    assert_eq!(t.custody, CustodyPolicy::default());
    assert!(!t.is_public());
}

#[test]
fn create_refuses_past_deadline_and_opening_before_deadline() {
    let mut d = draft();
    d.deadline = now() - Duration::seconds(1);
    assert!(matches!(Tender::create(Uuid::nil(), d, now()), Err(DomainError::TimeInPast { field: "deadline", .. })));
    let mut d = draft();
    d.opening_at = Some(d.deadline - Duration::minutes(1));
    assert_eq!(Tender::create(Uuid::nil(), d, now()), Err(DomainError::OpeningBeforeDeadline));
}

#[test]
fn create_validates_fields() {
    type Mutation = Box<dyn Fn(&mut TenderDraft)>;
    let cases: Vec<(&str, Mutation)> = vec![
        ("title", Box::new(|d| d.title = " ".into())),
        ("currency", Box::new(|d| d.currency = "yuan".into())),
        ("lots", Box::new(|d| d.lots.clear())),
        ("lots[0].fields[0].key", Box::new(|d| d.lots[0].fields[0].key = "Price!".into())),
        ("lots[0].fields[1].key", Box::new(|d| d.lots[0].fields[1].key = "price".into())),
        ("lots[0].fields[0].label", Box::new(|d| d.lots[0].fields[0].label.en = "".into())),
        ("lots[1].id", Box::new(|d| d.lots.push(d.lots[0].clone()))),
        ("custody.threshold", Box::new(|d| d.custody.threshold = 2)),
        ("custody.threshold", Box::new(|d| d.custody.threshold = 0)),
        ("custody.custodians[1]", Box::new(|d| d.custody.custodians.push("server".into()))),
    ];
    for (field, mutate) in cases {
        let mut d = draft();
        mutate(&mut d);
        match Tender::create(Uuid::nil(), d, now()) {
            Err(DomainError::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: expected invalid, got {other:?}"),
        }
    }
}

#[test]
fn edit_only_in_draft() {
    let mut t = Tender::create(Uuid::nil(), draft(), now()).unwrap();
    let mut d = draft();
    d.title = "Renamed".into();
    t.edit(d.clone(), now()).unwrap();
    assert_eq!(t.title, "Renamed");
    t.publish(now(), keys()).unwrap();
    assert!(matches!(t.edit(d, now()), Err(DomainError::Transition { action: "edit", state: "published" })));
}

#[test]
fn publish_emits_event_with_terms_and_only_once() {
    let mut t = Tender::create(Uuid::nil(), draft(), now()).unwrap();
    let ev = t.publish(now(), keys()).unwrap();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].kind(), EventKind::TenderPublished);
    assert_eq!(data(&ev[0])["tender"]["custody"]["threshold"], 1);
    assert_eq!(t.published_at, Some(now()));
    assert!(matches!(t.publish(now(), keys()), Err(DomainError::Transition { action: "publish", .. })));
}

#[test]
fn publish_refused_after_draft_deadline_passed() {
    let mut t = Tender::create(Uuid::nil(), draft(), now()).unwrap();
    let late = t.deadline + Duration::seconds(1);
    assert!(matches!(t.publish(late, keys()), Err(DomainError::TimeInPast { .. })));
    assert_eq!(t.state, TenderState::Draft);
}

#[test]
fn amend_moves_deadline_and_following_opening() {
    let mut t = published();
    let new_deadline = t.deadline + Duration::hours(2);
    let ev = t
        .amend(
            Amendment {
                deadline: Some(new_deadline),
                opening_at: None,
                session: None,
                reason: "clarification issued".into(),
            },
            now(),
        )
        .unwrap();
    assert_eq!(t.deadline, new_deadline);
    assert_eq!(t.opening_at, new_deadline);
    assert_eq!(ev[0].kind(), EventKind::TenderAmended);
    assert_eq!(data(&ev[0])["reason"], "clarification issued");
}

#[test]
fn amend_refusals() {
    let mut t = published();
    let ok_deadline = Some(t.deadline + Duration::hours(1));
    let no_reason = Amendment { deadline: ok_deadline, opening_at: None, session: None, reason: " ".into() };
    assert!(matches!(t.amend(no_reason, now()), Err(DomainError::Invalid { .. })));
    let nothing = Amendment { deadline: None, opening_at: None, session: None, reason: "x".into() };
    assert!(matches!(t.amend(nothing, now()), Err(DomainError::Invalid { .. })));
    let past =
        Amendment { deadline: Some(now() - Duration::hours(1)), opening_at: None, session: None, reason: "x".into() };
    assert!(matches!(t.amend(past, now()), Err(DomainError::TimeInPast { .. })));
    let early = Amendment {
        deadline: None,
        opening_at: Some(t.deadline - Duration::minutes(5)),
        session: None,
        reason: "x".into(),
    };
    assert_eq!(t.amend(early, now()), Err(DomainError::OpeningBeforeDeadline));
    let after = t.deadline + Duration::seconds(1);
    let late =
        Amendment { deadline: Some(after + Duration::hours(1)), opening_at: None, session: None, reason: "x".into() };
    assert!(matches!(t.amend(late, after), Err(DomainError::Transition { action: "amend", .. })));
    let mut d = Tender::create(Uuid::nil(), draft(), now()).unwrap();
    let a = Amendment { deadline: ok_deadline, opening_at: None, session: None, reason: "x".into() };
    assert!(matches!(d.amend(a, now()), Err(DomainError::Transition { action: "amend", state: "draft" })));
}

#[test]
fn close_at_deadline_records_true_deadline() {
    let mut t = published();
    assert!(matches!(t.close(t.deadline - Duration::milliseconds(1), &[]), Err(DomainError::Transition { .. })));
    let late = t.deadline + Duration::hours(3);
    let ev = t.close(late, &[]).unwrap();
    assert_eq!(t.state, TenderState::Closed);
    assert_eq!(t.closed_at, Some(t.deadline));
    assert_eq!(data(&ev[0])["closed_at"], "2026-11-27T10:00:00Z");
    assert!(matches!(t.close(late, &[]), Err(DomainError::Transition { action: "close", state: "closed" })));
}

#[test]
fn cancel_from_each_state() {
    let mut d = Tender::create(Uuid::nil(), draft(), now()).unwrap();
    assert!(d.cancel("no budget".into(), now()).unwrap().is_empty());
    assert_eq!(d.state, TenderState::Cancelled);
    assert!(matches!(d.cancel("again".into(), now()), Err(DomainError::Transition { action: "cancel", .. })));

    let mut p = published();
    let ev = p.cancel("requirements changed".into(), now()).unwrap();
    assert_eq!(ev[0].kind(), EventKind::TenderCancelled);
    assert_eq!(data(&ev[0])["previous_state"], "published");
    assert!(matches!(p.publish(now(), keys()), Err(DomainError::Transition { .. })));
    assert!(matches!(p.close(p.deadline, &[]), Err(DomainError::Transition { .. })));

    let mut c = published();
    c.close(c.deadline, &[]).unwrap();
    assert_eq!(c.cancel("too few bids".into(), now()).unwrap().len(), 1);
    let mut r = published();
    assert!(matches!(r.cancel("".into(), now()), Err(DomainError::Invalid { .. })));
}

#[test]
fn form_validation() {
    let lot = &draft().lots[0];
    let ok = json!({"price": "1234.50", "days": 90, "start": "2027-01-15"});
    lot.validate_form(ok.as_object().unwrap()).unwrap();
    let bad = [
        json!({"days": 90}),
        json!({"price": 1234.5}),
        json!({"price": "-1"}),
        json!({"price": "1.234"}),
        json!({"price": "1", "days": "90"}),
        json!({"price": "1", "start": "2027-02-30"}),
        json!({"price": "1", "colour": "red"}),
    ];
    for b in bad {
        assert!(lot.validate_form(b.as_object().unwrap()).is_err(), "{b}");
    }
}

#[test]
fn publish_freezes_matching_custody_keys_only() {
    let mut t = Tender::create(Uuid::nil(), draft(), now()).unwrap();
    let mut wrong = keys();
    wrong.custodians[0].id = "notary".into();
    assert!(matches!(t.publish(now(), wrong), Err(DomainError::Invalid { .. })));
    let mut wrong_k = keys();
    wrong_k.threshold = 2;
    assert!(t.publish(now(), wrong_k).is_err());
    assert_eq!(t.state, TenderState::Draft);
    t.publish(now(), keys()).unwrap();
    assert_eq!(t.custody_keys, Some(keys()));
}

#[test]
fn stream_is_set_until_the_record_and_logged_once_public() {
    let video = Stream::parse("https://video.example.org/room.m3u8", StreamKind::Video).unwrap();
    let embed = Stream::parse("https://player.example.com/embed/7", StreamKind::Embed).unwrap();
    let mut d = Tender::create(Uuid::nil(), draft(), now()).unwrap();
    assert_eq!(d.set_stream(Some(video.clone())).unwrap(), vec![], "a draft logs nothing");
    d.edit(draft(), now()).unwrap();
    assert_eq!(d.stream, Some(video.clone()), "editing the terms keeps the stream");

    let mut t = published();
    let events = t.set_stream(Some(video.clone())).unwrap();
    assert_eq!(events[0].kind(), EventKind::StreamChanged);
    assert_eq!(data(&events[0]), json!({"stream": {"url": video.url, "kind": "video"}, "previous": null}));
    assert!(matches!(t.set_stream(Some(video.clone())), Err(DomainError::Invalid { .. })), "unchanged");
    let events = t.set_stream(Some(embed.clone())).unwrap();
    assert_eq!(data(&events[0])["previous"]["kind"], "video");
    t.close(now() + Duration::hours(3), &[]).unwrap();
    t.set_stream(None).unwrap();
    assert_eq!(t.stream, None);
    t.start_opening(now() + Duration::hours(3)).unwrap();
    t.set_stream(Some(embed.clone())).unwrap();
    t.publish_record(
        now() + Duration::hours(4),
        RecordSummary { rows: 0, opened: 0, rejected: 0, unopened: 0, warning: None },
    )
    .unwrap();
    assert!(matches!(t.set_stream(None), Err(DomainError::Transition { .. })), "not after the record");

    let mut c = published();
    c.cancel("Budget withdrawn".into(), now()).unwrap();
    assert!(c.set_stream(Some(embed)).is_err());
}

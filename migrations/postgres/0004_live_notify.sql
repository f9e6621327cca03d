-- Live room across nodes: every committed event is announced on the
-- `bidroom_events` channel as "<tender id>:<seq>". NOTIFY inside the
-- inserting transaction is delivered only if, and when, it commits. Each
-- node's listener reads the event itself from the store.
CREATE FUNCTION bidroom_notify_event() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('bidroom_events', NEW.tender_id || ':' || NEW.seq);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION bidroom_notify_event();

-- Tender search looks at the title, reference and buyer only (not at the
-- whole JSON document): the title and buyer get columns of their own,
-- filled from the document for existing tenders.
ALTER TABLE tenders ADD COLUMN title TEXT NOT NULL DEFAULT '';
ALTER TABLE tenders ADD COLUMN buyer TEXT NOT NULL DEFAULT '';
UPDATE tenders SET title = COALESCE((doc::jsonb) ->> 'title', ''), buyer = COALESCE((doc::jsonb) ->> 'buyer', '');

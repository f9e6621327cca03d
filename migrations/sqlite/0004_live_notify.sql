-- PostgreSQL only: NOTIFY for other nodes' live rooms. SQLite runs one process,
-- so this version is a no-op there, keeping both backends' versions aligned.
SELECT 1;

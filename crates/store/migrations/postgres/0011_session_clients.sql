-- Issue #9: the applications a browser session signed in to, so that sign-out can reach each one's
-- front-channel logout URL. Gone with the session.
CREATE TABLE session_clients (
    session_hash TEXT NOT NULL REFERENCES sessions(id_hash) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    PRIMARY KEY (session_hash, client_id)
);

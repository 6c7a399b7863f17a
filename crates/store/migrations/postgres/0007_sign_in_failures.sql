-- Issue #9: failed password sign-ins per key ('account:{tenant}:{upn}', 'address:{ip}') for smart
-- lockout. Not part of the directory; rows are forgotten after a success or when old.
CREATE TABLE sign_in_failures (
    key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL
);

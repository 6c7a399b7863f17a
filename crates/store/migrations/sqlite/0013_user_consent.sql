-- Issue #10: each tenant's user consent setting (Graph's authorizationPolicy): 'low' (Entra's
-- default policy), 'legacy' (any User-type permission of any app) or 'disabled'.
ALTER TABLE tenants ADD COLUMN user_consent TEXT NOT NULL DEFAULT 'low';

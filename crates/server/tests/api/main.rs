//! The integration tests: the real server, started on port 0 against a fresh store, driven over HTTP(S).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin_consent;
mod browser;
mod certificates;
mod cli;
mod consent;
mod federation;
mod graph;
mod helpers;
mod id_tokens;
mod integrity;
mod multi_tenant;
mod nodes;
mod on_behalf_of;
mod protocol;
mod queries;
mod resilience;
mod rotation;
mod sample_api;
mod secrets_in_logs;
mod sign_out;
mod signin;
mod tenants;
mod user_flow_rules;
mod user_tokens;
mod users;

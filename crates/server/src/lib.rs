//! The `gatehouse` server: axum routes for the protocol endpoints and the `/v1.0` Graph API, TLS with a
//! local CA made on first start, the directory watcher that keeps every node's cache fresh, and the
//! command line. Handlers are thin: parse, call one core function, map the result once per surface.

pub mod admission;
pub mod cli;
pub mod federation;
pub mod limit;
pub mod maintenance;
pub mod metrics;
pub mod passwords;
pub mod readiness;
pub mod replay;
pub mod routes;
pub mod run;
pub mod settings;
pub mod sign_in_log;
pub mod state;
pub mod tls;
pub mod watcher;

pub use settings::Settings;
pub use state::AppState;

//! The directory and the authorization rules of Gatehouse: tenants, applications, service principals,
//! client secrets, app-role assignments, signing keys, and the grants that turn them into tokens.
//! Storage is reached only through the async traits in [`store`]; the current time is always an
//! argument. Errors carry their AADSTS code ([`error::CoreError`]) or Graph code
//! ([`admin::AdminError`]) and know nothing of HTTP.

pub mod admin;
pub mod admin_consent;
pub mod audit;
pub mod authorize;
pub mod credentials;
pub mod device;
pub mod directory;
pub mod error;
pub mod first_party;
pub mod flows;
pub mod keys;
pub mod model;
pub mod passwords;
pub mod redirect_uri;
pub mod scope;
pub mod signin;
pub mod signout;
pub mod snapshot;
pub mod store;

pub use directory::Directory;
pub use error::CoreError;
pub use snapshot::Snapshot;

//! Wire types of Gatehouse: what Entra ID's v2.0 (and v1) protocol endpoints and the Microsoft Graph
//! management API send and receive, and nothing else. No I/O, no HTTP framework, no rules: the
//! authorization rules live in `gatehouse-core`; this crate only fixes the shapes that real clients
//! (MSAL, azure-identity, openid-client, Graph SDKs) parse. Shapes follow Entra ID's and Microsoft
//! Graph's published behaviour; the "entra-protocol.md §N" notes on types name the section of the team's
//! protocol notes each shape was taken from, and the interop suite checks them against real clients.

pub mod discovery;
pub mod error;
pub mod graph;
pub mod ids;
pub mod jwk;
pub mod logs;
pub mod tenant;
pub mod timefmt;
pub mod token;
pub mod vocabulary;

pub use ids::{AppId, ObjectId, TenantId};
pub use vocabulary::{PrincipalType, SignInAudience, UserConsent, Version};

/// appId of Microsoft Graph (entra-protocol.md §5.2); Gatehouse's management API answers to it.
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// Identifier URI of Microsoft Graph.
pub const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";

//! The grants of the token endpoint, one module each, and what they share: client authentication and
//! the minting of signed tokens. Each grant is a function of the snapshot, the request and the time.

pub mod assertion;
pub mod client_auth;
pub mod client_credentials;
pub mod mint;

use crate::CoreError;

/// Which token endpoint was called: v1 (`/oauth2/token`, `resource=`) or v2 (`/oauth2/v2.0/token`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    V1,
    V2,
}

/// The grants Gatehouse implements so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    ClientCredentials,
}

impl Grant {
    pub fn parse(grant_type: Option<&str>) -> Result<Self, CoreError> {
        match grant_type {
            None | Some("") => Err(CoreError::MissingParameter { name: "grant_type" }),
            Some("client_credentials") => Ok(Self::ClientCredentials),
            Some(other) => Err(CoreError::UnsupportedGrantType {
                grant_type: other.chars().take(100).collect(),
            }),
        }
    }
}

//! Client authentication at the token endpoint (RFC 6749 §2.3.1, entra-protocol.md §2.0, §2.2):
//! `client_secret` in the body or HTTP Basic, never both; the client id in the body, if given, must
//! agree with the Basic one.

use gatehouse_proto::token::Secret;
use time::OffsetDateTime;

use crate::credentials::{check_secret, SecretCheck};
use crate::model::ApplicationRecord;
use crate::{CoreError, Snapshot};

/// The client and credential a request presents, before they are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedClient {
    pub client_id: String,
    pub secret: Option<Secret>,
}

impl PresentedClient {
    /// Merges the body's `client_id`/`client_secret` with a decoded HTTP Basic pair.
    pub fn from_request(
        form_id: Option<&str>,
        form_secret: Option<&Secret>,
        basic: Option<(String, Secret)>,
    ) -> Result<Self, CoreError> {
        match basic {
            Some((id, secret)) => {
                if form_secret.is_some() {
                    return Err(CoreError::Malformed {
                        detail: "more than one client authentication method",
                    });
                }
                if form_id.is_some_and(|f| f != id) {
                    return Err(CoreError::Malformed {
                        detail: "client_id differs from the Authorization header",
                    });
                }
                Ok(Self {
                    client_id: id,
                    secret: Some(secret),
                })
            }
            None => {
                let id = form_id
                    .filter(|s| !s.is_empty())
                    .ok_or(CoreError::MissingParameter { name: "client_id" })?;
                Ok(Self {
                    client_id: id.to_string(),
                    secret: form_secret.cloned(),
                })
            }
        }
    }

    /// Checks the secret against the application's secrets; returns `azpacr`/`appidacr` ("1" for a secret).
    pub fn authenticate(
        &self,
        snap: &Snapshot,
        app: &ApplicationRecord,
        now: OffsetDateTime,
    ) -> Result<&'static str, CoreError> {
        let Some(secret) = &self.secret else {
            return Err(CoreError::MissingClientCredential);
        };
        match check_secret(secret.expose(), snap.secrets(app.app.id), now) {
            SecretCheck::Valid => Ok("1"),
            SecretCheck::Expired => Err(CoreError::ExpiredClientSecret {
                client_id: self.client_id.clone(),
            }),
            SecretCheck::Invalid => Err(CoreError::InvalidClientSecret {
                client_id: self.client_id.clone(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_and_body_secrets_are_exclusive() {
        let s = Secret::new("x");
        let e =
            PresentedClient::from_request(Some("a"), Some(&s), Some(("a".into(), s.clone()))).unwrap_err();
        assert_eq!(e.aadsts(), 9002313);
        let e = PresentedClient::from_request(Some("b"), None, Some(("a".into(), s.clone()))).unwrap_err();
        assert_eq!(e.aadsts(), 9002313);
        let ok = PresentedClient::from_request(Some("a"), None, Some(("a".into(), s.clone()))).unwrap();
        assert_eq!(ok.client_id, "a");
        assert_eq!(
            PresentedClient::from_request(None, Some(&s), None)
                .unwrap_err()
                .aadsts(),
            900144
        );
    }
}

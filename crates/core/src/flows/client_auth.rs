//! Client authentication at the token endpoint (RFC 6749 §2.3.1, RFC 7523, entra-protocol.md §2.0,
//! §2.2–2.4): `client_secret` in the body or HTTP Basic, or a `client_assertion`; never two at once.
//! The client id in the body, if given, must agree with the Basic one.

use gatehouse_proto::token::Secret;
use time::OffsetDateTime;

use super::assertion::{self, AssertionPolicy, ClientAssertion, ReplayGuard, JWT_BEARER};
use super::IssuerKeys;
use crate::credentials::{check_secret, SecretCheck};
use crate::model::{ApplicationRecord, Tenant};
use crate::{CoreError, Snapshot};

/// The credential a request presents.
#[derive(Debug, Clone)]
pub enum Credential {
    None,
    Secret(Secret),
    /// Signed by the client with a registered certificate's key.
    Certificate(Box<ClientAssertion>),
    /// Issued by an external issuer. `key` is the issuer's RSA key (`n`, `e`) for the assertion's
    /// `kid`, fetched by the server once the assertion matched a registered credential; `None` if it
    /// did not match (the match is then repeated here and reports why).
    Federated {
        assertion: Box<ClientAssertion>,
        key: Option<(Vec<u8>, Vec<u8>)>,
    },
}

/// The client and credential a request presents, before they are checked.
#[derive(Debug, Clone)]
pub struct PresentedClient {
    pub client_id: String,
    pub credential: Credential,
}

/// The client-authentication parameters of a request, as read from the form and the headers.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientParameters<'a> {
    pub client_id: Option<&'a str>,
    pub client_secret: Option<&'a Secret>,
    pub client_assertion: Option<&'a Secret>,
    pub client_assertion_type: Option<&'a str>,
}

/// How the client authenticated: `azpacr`/`appidacr` ("1" secret, "2" certificate or federated) and
/// what must still be recorded before the token goes out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub acr: &'static str,
    pub replay_guard: Option<ReplayGuard>,
}

/// For an assertion from an external issuer that matches one of the client's federated credentials,
/// fetches that issuer's key for the assertion's `kid` into the credential. Authentication then repeats
/// the match and verifies; an assertion that matches nothing makes no request anywhere. Returns
/// whether it asked the issuer.
pub async fn fetch_federated_key(
    snap: &Snapshot,
    issuer_keys: &dyn IssuerKeys,
    client: &mut PresentedClient,
) -> bool {
    let Credential::Federated { assertion, key } = &mut client.credential else {
        return false;
    };
    let app = gatehouse_proto::AppId::parse(&client.client_id).and_then(|id| snap.application(id));
    let Some(app) = app else { return false };
    let Ok(fic) = assertion::matching_federated_credential(snap, app, assertion) else {
        return false;
    };
    let Some(kid) = assertion.key_id() else {
        return false;
    };
    *key = issuer_keys.rsa_key(&fic.issuer, kid).await;
    true
}

impl PresentedClient {
    /// Merges the body's parameters with a decoded HTTP Basic pair.
    pub fn from_request(p: ClientParameters<'_>, basic: Option<(String, Secret)>) -> Result<Self, CoreError> {
        let methods = [
            p.client_secret.is_some(),
            p.client_assertion.is_some(),
            basic.is_some(),
        ];
        if methods.iter().filter(|m| **m).count() > 1 {
            return Err(CoreError::Malformed {
                detail: "more than one client authentication method",
            });
        }
        let (client_id, secret) = match basic {
            Some((id, secret)) => {
                if p.client_id.is_some_and(|f| f != id) {
                    return Err(CoreError::Malformed {
                        detail: "client_id differs from the Authorization header",
                    });
                }
                (id, Some(secret))
            }
            None => {
                let id = p
                    .client_id
                    .filter(|s| !s.is_empty())
                    .ok_or(CoreError::MissingParameter { name: "client_id" })?;
                (id.to_string(), p.client_secret.cloned())
            }
        };
        let credential = match (secret, p.client_assertion) {
            (Some(s), _) => Credential::Secret(s),
            (None, Some(raw)) => {
                match p.client_assertion_type {
                    None | Some("") => {
                        return Err(CoreError::MissingParameter {
                            name: "client_assertion_type",
                        })
                    }
                    Some(JWT_BEARER) => {}
                    Some(_) => {
                        return Err(CoreError::Malformed {
                            detail: "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                        })
                    }
                }
                let a = Box::new(ClientAssertion::parse(raw.expose())?);
                if a.is_self_issued(&client_id) {
                    Credential::Certificate(a)
                } else {
                    Credential::Federated {
                        assertion: a,
                        key: None,
                    }
                }
            }
            (None, None) => Credential::None,
        };
        Ok(Self {
            client_id,
            credential,
        })
    }

    /// Checks the credential against the application's secrets, certificates or federated
    /// credentials.
    pub fn authenticate(
        &self,
        snap: &Snapshot,
        app: &ApplicationRecord,
        tenant: &Tenant,
        base_url: &str,
        policy: &AssertionPolicy,
        now: OffsetDateTime,
    ) -> Result<Authenticated, CoreError> {
        let done = |acr| Authenticated {
            acr,
            replay_guard: None,
        };
        match &self.credential {
            Credential::None => Err(CoreError::MissingClientCredential),
            Credential::Secret(secret) => {
                match check_secret(secret.expose(), snap.secrets(app.app.id), now) {
                    SecretCheck::Valid => Ok(done("1")),
                    SecretCheck::Expired => Err(CoreError::ExpiredClientSecret {
                        client_id: self.client_id.clone(),
                    }),
                    SecretCheck::Invalid => Err(CoreError::InvalidClientSecret {
                        client_id: self.client_id.clone(),
                    }),
                }
            }
            Credential::Certificate(a) => {
                let guard = assertion::check_certificate(snap, app, tenant, a, base_url, policy, now)?;
                Ok(Authenticated {
                    acr: "2",
                    replay_guard: Some(guard),
                })
            }
            Credential::Federated { assertion: a, key } => {
                assertion::matching_federated_credential(snap, app, a)?;
                let (n, e) = key.as_ref().ok_or_else(|| {
                    CoreError::ClientAssertion(crate::error::AssertionFailure::ExternalKeysUnavailable {
                        issuer: a.issuer().unwrap_or_default().to_string(),
                    })
                })?;
                a.verify_external(n, e)?;
                assertion::check_federated_times(a, policy, now)?;
                Ok(done("2"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_authentication_methods_are_exclusive() {
        let s = Secret::new("x");
        let p = |id, secret, assertion| ClientParameters {
            client_id: id,
            client_secret: secret,
            client_assertion: assertion,
            client_assertion_type: Some(JWT_BEARER),
        };
        let basic = || Some(("a".to_string(), s.clone()));
        let e = PresentedClient::from_request(p(Some("a"), Some(&s), None), basic()).unwrap_err();
        assert_eq!(e.aadsts(), 9002313);
        let e = PresentedClient::from_request(p(Some("a"), Some(&s), Some(&s)), None).unwrap_err();
        assert_eq!(e.aadsts(), 9002313);
        let e = PresentedClient::from_request(p(Some("b"), None, None), basic()).unwrap_err();
        assert_eq!(e.aadsts(), 9002313);
        let ok = PresentedClient::from_request(p(Some("a"), None, None), basic()).unwrap();
        assert_eq!(ok.client_id, "a");
        let e = PresentedClient::from_request(p(None, Some(&s), None), None).unwrap_err();
        assert_eq!(e.aadsts(), 900144);
        let mut q = p(Some("a"), None, Some(&s));
        q.client_assertion_type = Some("urn:other");
        assert_eq!(
            PresentedClient::from_request(q, None).unwrap_err().aadsts(),
            9002313
        );
        q.client_assertion_type = None;
        assert_eq!(
            PresentedClient::from_request(q, None).unwrap_err().aadsts(),
            900144
        );
    }
}

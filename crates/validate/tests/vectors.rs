#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The validation checklist against crafted tokens: each attack or mistake is refused with the right
//! error, and the 401/403 split holds.

use gatehouse_jose::jws::{sign_rs256, JwsHeader};
use gatehouse_jose::{b64url, SigningKey};
use gatehouse_validate::{IssuerPolicy, Requirement, StaticKeys, ValidationError, Validator};
use serde_json::json;
use std::sync::Arc;
use time::OffsetDateTime;

const TID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const ISS: &str = "https://localhost:8443/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0";
const AUD: &str = "api://reports";

struct Fixture {
    key: SigningKey,
    keys: StaticKeys,
    now: OffsetDateTime,
}

fn fixture() -> Fixture {
    let key = SigningKey::generate("test", OffsetDateTime::now_utc(), 1).unwrap();
    let keys = StaticKeys::new(vec![
        key.public_jwk(Some("https://localhost:8443/{tenantid}/v2.0".into()))
    ]);
    Fixture {
        key,
        keys,
        now: OffsetDateTime::now_utc(),
    }
}

impl Fixture {
    fn claims(&self) -> serde_json::Value {
        let t = self.now.unix_timestamp();
        json!({"aud": AUD, "iss": ISS, "iat": t - 300, "nbf": t - 300, "exp": t + 3600, "tid": TID,
               "oid": "o", "sub": "o", "roles": ["Reports.Read"], "ver": "2.0"})
    }

    fn sign(&self, claims: &serde_json::Value) -> String {
        sign_rs256(
            &self.key,
            JwsHeader {
                kid: Some(self.key.kid().into()),
                typ: Some("JWT".into()),
                ..Default::default()
            },
            claims,
        )
        .unwrap()
    }

    fn validator(&self) -> Validator {
        Validator::new(ISS.into(), vec![AUD.into()], self.keys.clone())
            .require(Requirement::AnyRole(vec!["Reports.Read".into()]))
    }

    async fn check(&self, token: &str) -> Result<(), ValidationError> {
        self.validator().validate(token, self.now).await.map(|_| ())
    }
}

fn with(mut v: serde_json::Value, k: &str, x: serde_json::Value) -> serde_json::Value {
    v[k] = x;
    v
}

#[tokio::test]
async fn a_good_token_passes() {
    let f = fixture();
    let c = f.validator().validate(&f.sign(&f.claims()), f.now).await.unwrap();
    assert_eq!(c.tid.as_deref(), Some(TID));
}

#[tokio::test]
async fn a_tampered_signature_is_refused() {
    let f = fixture();
    let t = f.sign(&f.claims());
    let (head, sig) = t.rsplit_once('.').unwrap();
    let mut sig = gatehouse_jose::b64url_decode(sig).unwrap();
    sig[10] ^= 0x01;
    assert_eq!(
        f.check(&format!("{head}.{}", b64url(&sig))).await,
        Err(ValidationError::Signature)
    );
    // A payload changed after signing.
    let parts: Vec<&str> = t.split('.').collect();
    let forged = b64url(
        serde_json::to_string(&with(f.claims(), "roles", json!(["Admin"])))
            .unwrap()
            .as_bytes(),
    );
    assert_eq!(
        f.check(&format!("{}.{forged}.{}", parts[0], parts[2])).await,
        Err(ValidationError::Signature)
    );
}

#[tokio::test]
async fn an_unknown_kid_is_refused() {
    let f = fixture();
    let other = SigningKey::generate("other", f.now, 1).unwrap();
    let t = sign_rs256(
        &other,
        JwsHeader {
            kid: Some(other.kid().into()),
            ..Default::default()
        },
        &f.claims(),
    )
    .unwrap();
    assert_eq!(f.check(&t).await, Err(ValidationError::UnknownKey));
    // A foreign key that claims our kid fails on the signature.
    let t = sign_rs256(
        &other,
        JwsHeader {
            kid: Some(f.key.kid().into()),
            ..Default::default()
        },
        &f.claims(),
    )
    .unwrap();
    assert_eq!(f.check(&t).await, Err(ValidationError::Signature));
}

#[tokio::test]
async fn alg_none_and_hs256_with_the_public_key_are_refused() {
    let f = fixture();
    let payload = b64url(serde_json::to_string(&f.claims()).unwrap().as_bytes());
    for alg in ["none", "HS256", "RS512", "PS256"] {
        let header = b64url(format!(r#"{{"alg":"{alg}","kid":"{}"}}"#, f.key.kid()).as_bytes());
        // The "signature" of HS256-with-public-key would be an HMAC keyed with the JWK; any bytes will do,
        // since the algorithm is refused before a key is even chosen.
        for sig in ["", "c2lnbmF0dXJl"] {
            assert_eq!(
                f.check(&format!("{header}.{payload}.{sig}")).await,
                Err(ValidationError::Algorithm),
                "{alg}"
            );
        }
    }
}

#[tokio::test]
async fn wrong_issuer_audience_and_times_are_refused() {
    let f = fixture();
    let t = f.now.unix_timestamp();
    let c = f.claims();
    assert_eq!(
        f.check(&f.sign(&with(c.clone(), "iss", json!("https://evil/x/v2.0"))))
            .await,
        Err(ValidationError::Issuer)
    );
    assert_eq!(
        f.check(&f.sign(&with(c.clone(), "aud", json!("api://other"))))
            .await,
        Err(ValidationError::Audience)
    );
    assert_eq!(
        f.check(&f.sign(&with(c.clone(), "exp", json!(t - 61)))).await,
        Err(ValidationError::Expired)
    );
    assert_eq!(
        f.check(&f.sign(&with(c.clone(), "nbf", json!(t + 120)))).await,
        Err(ValidationError::NotYetValid)
    );
    // Within the skew is fine.
    assert_eq!(
        f.check(&f.sign(&with(c.clone(), "exp", json!(t - 30)))).await,
        Ok(())
    );
    // The key's issuer template must match the token's issuer for its tenant.
    let other_tenant = with(c.clone(), "tid", json!("00000000-0000-0000-0000-000000000001"));
    assert_eq!(
        f.check(&f.sign(&other_tenant)).await,
        Err(ValidationError::Issuer)
    );
}

#[tokio::test]
async fn missing_roles_are_403_and_bad_tokens_401() {
    let f = fixture();
    let e = f
        .check(&f.sign(&with(f.claims(), "roles", json!(["Other"]))))
        .await
        .unwrap_err();
    assert_eq!((e.clone(), e.status()), (ValidationError::Forbidden, 403));
    assert_eq!(f.check("garbage").await.unwrap_err().status(), 401);
    assert_eq!(
        f.check(&"a.".repeat(50_000)).await,
        Err(ValidationError::Malformed)
    );
}

#[tokio::test]
async fn multi_tenant_template_accepts_any_guid_tenant_and_optional_allow_list() {
    let f = fixture();
    let v = |tenants: Option<Vec<String>>| {
        Validator::with_policy(
            IssuerPolicy::Template {
                templates: vec!["https://localhost:8443/{tenantid}/v2.0".into()],
                tenants,
            },
            vec![AUD.into()],
            Arc::new(f.keys.clone()),
        )
    };
    let t = f.sign(&f.claims());
    assert!(v(None).validate(&t, f.now).await.is_ok());
    assert!(v(Some(vec![TID.to_uppercase()]))
        .validate(&t, f.now)
        .await
        .is_ok());
    assert_eq!(
        v(Some(vec!["x".into()])).validate(&t, f.now).await.unwrap_err(),
        ValidationError::Issuer
    );
    let no_guid = with(
        with(f.claims(), "tid", json!("contoso")),
        "iss",
        json!("https://localhost:8443/contoso/v2.0"),
    );
    assert_eq!(
        v(None).validate(&f.sign(&no_guid), f.now).await.unwrap_err(),
        ValidationError::Issuer
    );
}

//! Certificate credentials (`keyCredentials`, entra-protocol.md §5.1): a PATCH replaces the whole
//! collection. Each new entry carries its certificate (base64 of DER, or of PEM text); its thumbprint,
//! dates and display name default from the certificate. Entries naming an existing `keyId` without a
//! `key` keep that credential, since reads never return the key.

use gatehouse_jose::{b64std, b64std_decode, ClientCertificate};
use gatehouse_proto::graph::{KeyCredential, KeyCredentialInput};
use time::OffsetDateTime;
use uuid::Uuid;

use super::AdminError;

/// Graph's limit on certificate credentials per application is larger; this keeps a snapshot small.
const MAX_CERTIFICATES: usize = 20;

/// The new collection for a PATCH, or the first reason it is refused.
pub fn replace(
    existing: &[KeyCredential],
    input: Vec<KeyCredentialInput>,
    now: OffsetDateTime,
) -> Result<Vec<KeyCredential>, AdminError> {
    if input.len() > MAX_CERTIFICATES {
        return Err(bad(format!(
            "An application can hold at most {MAX_CERTIFICATES} key credentials."
        )));
    }
    let mut out: Vec<KeyCredential> = Vec::with_capacity(input.len());
    for k in input {
        let kept = match (&k.key, k.key_id) {
            (None, Some(id)) => Some(existing.iter().find(|e| e.key_id == id).cloned().ok_or_else(|| {
                bad(format!(
                    "No key credential with keyId {id}; a new one needs its 'key'."
                ))
            })?),
            _ => None,
        };
        let credential = match kept {
            Some(c) => c,
            None => new_credential(k, now)?,
        };
        if out
            .iter()
            .any(|c| c.key_id == credential.key_id || c.key == credential.key)
        {
            return Err(bad("The same key credential appears twice.".into()));
        }
        out.push(credential);
    }
    Ok(out)
}

/// A credential from an uploaded certificate; refuses a certificate that is not valid at `now`.
pub fn new_credential(k: KeyCredentialInput, now: OffsetDateTime) -> Result<KeyCredential, AdminError> {
    let type_ = k.type_.unwrap_or_else(|| "AsymmetricX509Cert".into());
    let usage = k.usage.unwrap_or_else(|| "Verify".into());
    if type_ != "AsymmetricX509Cert" || usage != "Verify" {
        return Err(bad(
            "Only key credentials of type 'AsymmetricX509Cert' with usage 'Verify' are supported.".into(),
        ));
    }
    let raw = k
        .key
        .as_deref()
        .and_then(b64std_decode)
        .ok_or_else(|| bad("The key credential's 'key' must be a base64-encoded certificate.".into()))?;
    let cert = ClientCertificate::parse(&raw).map_err(|e| bad(format!("Invalid key credential: {e}.")))?;
    if !cert.is_valid_at(now) {
        return Err(bad(
            "The certificate is expired or not yet valid; upload a certificate that is valid now.".into(),
        ));
    }
    let start = k.start_date_time.unwrap_or(cert.not_before);
    let end = k.end_date_time.unwrap_or(cert.not_after);
    if start < cert.not_before || end > cert.not_after || end <= start {
        return Err(bad(
            "Key credential startDateTime and endDateTime must lie within the certificate's validity.".into(),
        ));
    }
    Ok(KeyCredential {
        custom_key_identifier: Some(k.custom_key_identifier.unwrap_or_else(|| b64std(&cert.sha1))),
        display_name: Some(k.display_name.unwrap_or_else(|| cert.subject.clone())),
        end_date_time: end,
        key: Some(b64std(&cert.der)),
        key_id: k.key_id.unwrap_or_else(Uuid::new_v4),
        start_date_time: start,
        type_,
        usage,
    })
}

/// The Graph view: the key itself is never returned on reads.
pub fn without_keys(creds: &mut [KeyCredential]) {
    for c in creds {
        c.key = None;
    }
}

fn bad(message: String) -> AdminError {
    AdminError::BadRequest(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_jose::SigningKey;

    fn input(der: &[u8]) -> KeyCredentialInput {
        KeyCredentialInput {
            key: Some(b64std(der)),
            ..Default::default()
        }
    }

    #[test]
    fn certificates_are_added_kept_by_key_id_and_refused_when_not_valid_now() {
        let now = OffsetDateTime::now_utc();
        let key = SigningKey::generate("daemon", now - time::Duration::DAY, 1).unwrap();
        let first = replace(&[], vec![input(key.certificate_der())], now).unwrap();
        assert_eq!(first[0].display_name.as_deref(), Some("CN=daemon"));
        let thumb = ClientCertificate::parse(key.certificate_der()).unwrap().sha1;
        assert_eq!(first[0].custom_key_identifier, Some(b64std(&thumb)));

        let keep = KeyCredentialInput {
            key_id: Some(first[0].key_id),
            ..Default::default()
        };
        assert_eq!(replace(&first, vec![keep.clone()], now).unwrap(), first);
        assert!(replace(&first, vec![keep.clone(), input(key.certificate_der())], now).is_err());
        assert!(replace(&first, vec![], now).unwrap().is_empty());

        let future = SigningKey::generate("later", now + time::Duration::DAY, 1).unwrap();
        assert!(replace(&[], vec![input(future.certificate_der())], now).is_err());
        let year_later = now + time::Duration::days(800);
        assert!(replace(&[], vec![input(key.certificate_der())], year_later).is_err());
        assert!(replace(&[], vec![input(b"not a certificate")], now).is_err());
    }
}

//! HTTPS by default: on first start a local CA (`data_dir/tls/ca.pem`, ten years) and a server
//! certificate it signs for localhost, 127.0.0.1, ::1 and the public URL's host (one year, renewed when
//! under 30 days remain). Clients trust `ca.pem`. Private keys are written with mode 0600.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

use crate::settings::write_private;

pub struct ServerCertificate {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    pub ca_path: PathBuf,
}

/// Loads the local CA and a valid server certificate, making whichever is missing or expiring.
pub fn local_ca_certificate(
    data_dir: &Path,
    extra_host: Option<&str>,
    now: OffsetDateTime,
) -> Result<ServerCertificate, String> {
    let dir = data_dir.join("tls");
    let (ca_cert_path, ca_key_path) = (dir.join("ca.pem"), dir.join("ca-key.pem"));
    let (cert_path, key_path) = (dir.join("server.pem"), dir.join("server-key.pem"));
    if !ca_cert_path.exists() || !ca_key_path.exists() {
        let (cert, key) = make_ca(now)?;
        replace(&ca_key_path, key.as_bytes(), true)?;
        replace(&ca_cert_path, cert.as_bytes(), false)?;
        let _ = std::fs::remove_file(&cert_path);
    }
    let hosts = hosts(extra_host);
    if !server_cert_is_current(&cert_path, &hosts, now) || !key_path.exists() {
        let ca_key_pem = read(&ca_key_path)?;
        let ca_cert_pem = read(&ca_cert_path)?;
        let (cert, key) = make_server_cert(&ca_cert_pem, &ca_key_pem, &hosts, now)?;
        replace(&key_path, key.as_bytes(), true)?;
        replace(&cert_path, cert.as_bytes(), false)?;
    }
    Ok(ServerCertificate {
        cert_pem: read(&cert_path)?.into_bytes(),
        key_pem: read(&key_path)?.into_bytes(),
        ca_path: ca_cert_path,
    })
}

fn hosts(extra: Option<&str>) -> Vec<String> {
    let mut h = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    if let Some(e) = extra.filter(|e| !h.iter().any(|x| x == e)) {
        h.push(e.to_string());
    }
    h
}

fn make_ca(now: OffsetDateTime) -> Result<(String, String), String> {
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let mut p = CertificateParams::default();
    p.distinguished_name
        .push(DnType::CommonName, "Gatehouse local CA");
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p.not_before = now - Duration::hours(1);
    p.not_after = now + Duration::days(3650);
    let cert = p.self_signed(&key).map_err(|e| e.to_string())?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn make_server_cert(
    ca_cert_pem: &str,
    ca_key_pem: &str,
    hosts: &[String],
    now: OffsetDateTime,
) -> Result<(String, String), String> {
    let ca_key = KeyPair::from_pem(ca_key_pem).map_err(|e| format!("CA key: {e}"))?;
    let issuer = Issuer::from_ca_cert_pem(ca_cert_pem, ca_key).map_err(|e| format!("CA certificate: {e}"))?;
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let mut p = CertificateParams::new(hosts.to_vec()).map_err(|e| e.to_string())?;
    p.distinguished_name.push(DnType::CommonName, "Gatehouse");
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.not_before = now - Duration::hours(1);
    p.not_after = now + Duration::days(365);
    let cert = p.signed_by(&key, &issuer).map_err(|e| e.to_string())?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// True if the certificate exists, names every host, and has more than 30 days left.
fn server_cert_is_current(path: &Path, hosts: &[String], now: OffsetDateTime) -> bool {
    let Ok(pem) = std::fs::read(path) else {
        return false;
    };
    let Ok((_, parsed)) = x509_parser::pem::parse_x509_pem(&pem) else {
        return false;
    };
    let Ok(cert) = parsed.parse_x509() else {
        return false;
    };
    let not_after = cert.validity().not_after.timestamp();
    if not_after < (now + Duration::days(30)).unix_timestamp() {
        return false;
    }
    let names: Vec<String> = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .map(|n| match n {
                    x509_parser::extensions::GeneralName::DNSName(d) => d.to_string(),
                    x509_parser::extensions::GeneralName::IPAddress(ip) => match ip.len() {
                        4 => std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]).to_string(),
                        16 => <[u8; 16]>::try_from(*ip)
                            .map(|b| std::net::Ipv6Addr::from(b).to_string())
                            .unwrap_or_default(),
                        _ => String::new(),
                    },
                    _ => String::new(),
                })
                .collect()
        })
        .unwrap_or_default();
    hosts.iter().all(|h| names.contains(h))
}

/// Your own `--tls-cert` and `--tls-key`, checked before the server starts: each file holds what
/// its flag says (swapped files are named as such), and the key is the certificate's. Returns the
/// PEM bytes of both.
pub fn own_files(cert: &Path, key: &Path) -> Result<(Vec<u8>, Vec<u8>), String> {
    let read_bytes =
        |p: &Path, flag: &str| std::fs::read(p).map_err(|e| format!("--{flag} {}: {e}", p.display()));
    let (cert_pem, key_pem) = (read_bytes(cert, "tls-cert")?, read_bytes(key, "tls-key")?);
    let certs: Vec<_> = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("--tls-cert {}: not PEM: {e}", cert.display()))?;
    let has_key = |pem: &[u8]| matches!(rustls_pemfile::private_key(&mut &pem[..]), Ok(Some(_)));
    if certs.is_empty() {
        return Err(if has_key(&cert_pem) {
            format!(
                "--tls-cert {} holds a private key, not a certificate: are --tls-cert and --tls-key swapped?",
                cert.display()
            )
        } else {
            format!(
                "--tls-cert {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                cert.display()
            )
        });
    }
    let private = match rustls_pemfile::private_key(&mut key_pem.as_slice()) {
        Ok(Some(k)) => k,
        _ if rustls_pemfile::certs(&mut key_pem.as_slice()).next().is_some() => {
            return Err(format!(
                "--tls-key {} holds a certificate, not a private key: are --tls-cert and --tls-key swapped?",
                key.display()
            ))
        }
        _ => {
            return Err(format!(
                "--tls-key {} holds no PEM private key (-----BEGIN PRIVATE KEY-----)",
                key.display()
            ))
        }
    };
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    let signing = provider
        .key_provider
        .load_private_key(private)
        .map_err(|e| format!("--tls-key {}: {e}", key.display()))?;
    rustls::sign::CertifiedKey::new(certs, signing)
        .keys_match()
        .map_err(|_| {
            format!(
                "--tls-key {} is not the private key of the certificate in --tls-cert {}",
                key.display(),
                cert.display()
            )
        })?;
    Ok((cert_pem, key_pem))
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn replace(path: &Path, bytes: &[u8], private: bool) -> Result<(), String> {
    let _ = std::fs::remove_file(path);
    if private {
        write_private(path, bytes)
    } else {
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
        std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_tls_files_that_are_swapped_mismatched_or_missing_are_named() {
        let dir = std::env::temp_dir().join(format!("gh-tls-{}", uuid::Uuid::new_v4()));
        let one = local_ca_certificate(&dir.join("a"), None, OffsetDateTime::now_utc()).unwrap();
        let two = local_ca_certificate(&dir.join("b"), None, OffsetDateTime::now_utc()).unwrap();
        let write = |name: &str, bytes: &[u8]| {
            let p = dir.join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        };
        let (cert, key) = (write("cert.pem", &one.cert_pem), write("key.pem", &one.key_pem));
        let other_key = write("other.pem", &two.key_pem);
        assert!(own_files(&cert, &key).is_ok());
        let err = own_files(&key, &cert).unwrap_err();
        assert!(
            err.contains("key.pem holds a private key, not a certificate") && err.contains("swapped"),
            "{err}"
        );
        let err = own_files(&cert, &cert).unwrap_err();
        assert!(
            err.contains("--tls-key") && err.contains("holds a certificate, not a private key"),
            "{err}"
        );
        let err = own_files(&cert, &other_key).unwrap_err();
        assert!(
            err.contains("other.pem is not the private key of the certificate in --tls-cert"),
            "{err}"
        );
        let err = own_files(&dir.join("missing.pem"), &key).unwrap_err();
        assert!(
            err.starts_with("--tls-cert ") && err.contains("missing.pem"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_ca_is_made_once_and_the_server_certificate_names_every_host() {
        let dir = std::env::temp_dir().join(format!("gatehouse-tls-{}", uuid::Uuid::new_v4()));
        let now = OffsetDateTime::now_utc();
        let a = local_ca_certificate(&dir, None, now).unwrap();
        let ca = std::fs::read(&a.ca_path).unwrap();
        let b = local_ca_certificate(&dir, None, now).unwrap();
        assert_eq!(a.cert_pem, b.cert_pem, "kept while current");
        assert!(server_cert_is_current(
            &dir.join("tls/server.pem"),
            &hosts(None),
            now
        ));
        let c = local_ca_certificate(&dir, Some("id.example.com"), now).unwrap();
        assert_ne!(a.cert_pem, c.cert_pem, "renewed for a new host");
        assert_eq!(std::fs::read(&c.ca_path).unwrap(), ca, "same CA");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("tls/server-key.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}

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

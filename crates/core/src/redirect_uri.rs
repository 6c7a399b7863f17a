//! A redirect URI an application registers (entra-protocol.md §4.5; RFC 9700 §2.6), parsed once: https,
//! or http only on loopback; custom schemes for native apps, but never script-bearing ones. The
//! authorization flows compare a request's `redirect_uri` against these exactly.

use std::fmt;

/// A redirect URI that passed [`RedirectUri::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RedirectUri(String);

/// Why a value is not a redirect URI; its text is Graph's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a valid redirect URI.")]
pub struct InvalidRedirectUri(pub String);

impl RedirectUri {
    pub fn parse(value: &str) -> Result<Self, InvalidRedirectUri> {
        let bad = || InvalidRedirectUri(value.to_string());
        let parsed = url::Url::parse(value).map_err(|_| bad())?;
        match parsed.scheme() {
            "https" => {}
            "http" if matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")) => {}
            "http" | "javascript" | "data" | "vbscript" | "file" => return Err(bad()),
            _ => {}
        }
        Ok(Self(value.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a web address an application registers (`web.homePageUrl`, `web.logoutUrl`) is refused; its
/// text is Graph's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a valid URL for {1}.")]
pub struct InvalidWebUrl(pub String, pub &'static str);

/// A home page: http or https, never a script-bearing scheme.
pub fn check_home_page(value: &str) -> Result<(), InvalidWebUrl> {
    let bad = || InvalidWebUrl(value.to_string(), "homePageUrl");
    match url::Url::parse(value).map_err(|_| bad())?.scheme() {
        "https" | "http" => Ok(()),
        _ => Err(bad()),
    }
}

/// A front-channel logout URL, which the signed-out page loads in a frame: https, or http on loopback.
pub fn check_logout_url(value: &str) -> Result<(), InvalidWebUrl> {
    let bad = || InvalidWebUrl(value.to_string(), "logoutUrl");
    let parsed = url::Url::parse(value).map_err(|_| bad())?;
    let loopback = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(bad()),
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_are_https_loopback_http_or_a_native_scheme() {
        for ok in [
            "https://app.example.com/cb",
            "http://localhost:5000/cb",
            "http://127.0.0.1/cb",
            "http://[::1]:8080/",
            "msal1234://auth",
        ] {
            assert_eq!(RedirectUri::parse(ok).map(|u| u.to_string()).as_deref(), Ok(ok));
        }
        for bad in [
            "http://app.example.com/cb",
            "JaVaScRiPt:alert(1)",
            "data:text/html,x",
            "file:///etc/passwd",
            "not a uri",
        ] {
            assert_eq!(
                RedirectUri::parse(bad),
                Err(InvalidRedirectUri(bad.to_string())),
                "{bad}"
            );
        }
    }

    #[test]
    fn home_pages_and_logout_urls_are_web_addresses() {
        assert_eq!(check_home_page("http://app.example/"), Ok(()));
        assert_eq!(check_logout_url("https://app.example/out"), Ok(()));
        assert_eq!(check_logout_url("http://localhost:3000/out"), Ok(()));
        for bad in ["JaVaScRiPt:alert(1)", "data:text/html,x", "vbscript:x", "nope"] {
            assert!(check_home_page(bad).is_err(), "{bad}");
            assert!(check_logout_url(bad).is_err(), "{bad}");
        }
        assert!(check_logout_url("http://app.example/out").is_err());
    }
}

//! Sign-out's rules (entra-protocol.md §1.8; OpenID Connect RP-Initiated Logout 1.0 and Front-Channel
//! Logout 1.0): where the browser may be sent afterwards, and the logout URLs of the applications the
//! session signed in to, which the signed-out page loads in hidden frames so that each can end its own
//! session too.

use gatehouse_proto::graph::Application;
use uuid::Uuid;

/// Whether `uri` may be the `post_logout_redirect_uri` of `app`: one of its redirect URIs, or its
/// logout URL, exactly. Anything else is not followed (no open redirector, RFC 9700 §2.1).
pub fn may_return_to(app: &Application, uri: &str) -> bool {
    crate::authorize::registered(app, uri).is_some() || app.web.logout_url.as_deref() == Some(uri)
}

/// A frame the signed-out page loads: the application's front-channel logout URL with the session's
/// issuer and `sid` (Front-Channel Logout 1.0 §2), and its origin for the page's `frame-src`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutFrame {
    pub url: String,
    pub origin: String,
}

/// The frame for `app`, if it registered a logout URL that a page may load: https, or http on loopback.
pub fn front_channel(app: &Application, issuer: &str, sid: Uuid) -> Option<LogoutFrame> {
    let mut url = url::Url::parse(app.web.logout_url.as_deref()?).ok()?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if !(url.scheme() == "https" || (url.scheme() == "http" && loopback)) {
        return None;
    }
    url.query_pairs_mut()
        .append_pair("iss", issuer)
        .append_pair("sid", &sid.to_string());
    Some(LogoutFrame {
        origin: url.origin().ascii_serialization(),
        url: url.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(logout_url: &str) -> Application {
        let mut a = crate::admin::applications::new_application("a", None, time::OffsetDateTime::now_utc());
        a.web.redirect_uris = vec!["https://app.example/cb".into()];
        a.web.logout_url = Some(logout_url.into());
        a
    }

    #[test]
    fn frames_carry_the_issuer_and_sid_and_only_web_urls_are_framed() {
        let sid = Uuid::nil();
        let f = front_channel(&app("https://app.example/logout?x=1"), "https://gh/t/v2.0", sid).unwrap();
        assert_eq!(
            f.url,
            "https://app.example/logout?x=1&iss=https%3A%2F%2Fgh%2Ft%2Fv2.0&sid=00000000-0000-0000-0000-000000000000"
        );
        assert_eq!(f.origin, "https://app.example");
        assert!(front_channel(&app("http://localhost:3000/out"), "i", sid).is_some());
        for bad in [
            "http://app.example/logout",
            "javascript:alert(1)",
            "data:text/html,x",
        ] {
            assert_eq!(front_channel(&app(bad), "i", sid), None, "{bad}");
        }
    }

    #[test]
    fn only_registered_uris_are_returned_to() {
        let a = app("https://app.example/logout");
        assert!(may_return_to(&a, "https://app.example/cb"));
        assert!(may_return_to(&a, "https://app.example/logout"));
        assert!(!may_return_to(&a, "https://app.example/cb?x=1"));
        assert!(!may_return_to(&a, "https://evil.example/"));
    }
}

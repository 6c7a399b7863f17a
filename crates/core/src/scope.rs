//! The `scope` of a client-credentials request: exactly one `{resource}/.default`, with OpenID Connect
//! scopes tolerated and ignored, as Entra does (entra-protocol.md §2.1, §4.1; real-clients.md §0.10).

use crate::CoreError;

const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "offline_access", "email"];

/// The resource named by a `.default` scope, exactly as requested (v1 tokens echo it in `aud`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultScope {
    pub resource: String,
}

impl DefaultScope {
    pub fn parse(scope: &str) -> Result<Self, CoreError> {
        let mut resources = scope
            .split_ascii_whitespace()
            .filter(|s| !OIDC_SCOPES.iter().any(|o| o.eq_ignore_ascii_case(s)));
        let Some(first) = resources.next() else {
            return Err(CoreError::ScopeNotDefault { scope: scope.into() });
        };
        if resources.next().is_some() {
            return Err(CoreError::ScopeSeveralResources);
        }
        let resource = first
            .strip_suffix("/.default")
            .filter(|r| !r.is_empty())
            .ok_or_else(|| CoreError::ScopeNotDefault { scope: first.into() })?;
        Ok(Self {
            resource: resource.into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_scopes_name_their_resource() {
        assert_eq!(
            DefaultScope::parse("https://graph.microsoft.com/.default")
                .unwrap()
                .resource,
            "https://graph.microsoft.com"
        );
        assert_eq!(
            DefaultScope::parse("api://x/.default openid profile offline_access")
                .unwrap()
                .resource,
            "api://x"
        );
        assert_eq!(
            DefaultScope::parse("https://contoso.com//.default")
                .unwrap()
                .resource,
            "https://contoso.com/"
        );
    }

    #[test]
    fn anything_but_one_default_scope_is_refused() {
        assert_eq!(DefaultScope::parse("User.Read").unwrap_err().aadsts(), 1002012);
        assert_eq!(
            DefaultScope::parse("openid profile").unwrap_err().aadsts(),
            1002012
        );
        assert_eq!(DefaultScope::parse("/.default").unwrap_err().aadsts(), 1002012);
        assert_eq!(
            DefaultScope::parse("api://a/.default api://b/.default")
                .unwrap_err()
                .aadsts(),
            70011
        );
    }
}

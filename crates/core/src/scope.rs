//! Scopes: the `scope` parameter as a set (RFC 6749 §3.3), and what a client-credentials request must
//! name in it: exactly one `{resource}/.default`, with OpenID Connect scopes tolerated and ignored, as
//! Entra does (entra-protocol.md §2.1, §4.1; real-clients.md §0.10).

use crate::CoreError;

const OIDC_SCOPES: [&str; 4] = ["openid", "profile", "offline_access", "email"];

/// A `scope` parameter: space-delimited tokens forming a set. The first spelling of each is kept, in
/// the order sent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScopeSet(Vec<String>);

impl ScopeSet {
    pub fn parse(scope: &str) -> Self {
        let mut tokens: Vec<String> = Vec::new();
        for t in scope.split_ascii_whitespace() {
            if !tokens.iter().any(|s| s == t) {
                tokens.push(t.to_string());
            }
        }
        Self(tokens)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// The scopes other than OpenID Connect's own (`openid`, `profile`, `email`, `offline_access`).
    pub fn resource_scopes(&self) -> impl Iterator<Item = &str> {
        self.iter()
            .filter(|s| !OIDC_SCOPES.iter().any(|o| o.eq_ignore_ascii_case(s)))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The resource named by a `.default` scope, exactly as requested (v1 tokens echo it in `aud`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultScope {
    pub resource: String,
}

impl DefaultScope {
    pub fn parse(scope: &str) -> Result<Self, CoreError> {
        let set = ScopeSet::parse(scope);
        let mut resources = set.resource_scopes();
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
    fn a_scope_parameter_is_a_set_in_the_order_sent() {
        let s = ScopeSet::parse("  openid api://x/.default  openid profile ");
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            ["openid", "api://x/.default", "profile"]
        );
        assert_eq!(s.resource_scopes().collect::<Vec<_>>(), ["api://x/.default"]);
        assert!(ScopeSet::parse(" ").is_empty());
        assert_eq!(
            DefaultScope::parse("api://x/.default api://x/.default")
                .unwrap()
                .resource,
            "api://x",
            "a repeated scope is the same scope"
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

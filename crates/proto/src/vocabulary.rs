//! The words of Entra's vocabulary that have a fixed set of values, as types: the v1/v2 dialect,
//! sign-in audiences, principal types. Each is written once here and parsed once at the edge.

use serde::{Deserialize, Serialize};

/// Entra's two dialects (entra-protocol.md §1–§3): an endpoint is v1 (`/oauth2/token`, `resource=`)
/// or v2 (`/oauth2/v2.0/token`, scopes), and so is a token (`ver` "1.0" or "2.0"). The token's follows
/// the resource's `api.requestedAccessTokenVersion`, not the endpoint's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Version {
    V1,
    V2,
}

impl Version {
    /// The token format a resource asks for: v2 only for `requestedAccessTokenVersion: 2` (null, or 1,
    /// gives v1 tokens, as in Entra).
    pub fn of_requested_token(requested_access_token_version: Option<u8>) -> Self {
        match requested_access_token_version {
            Some(2) => Self::V2,
            _ => Self::V1,
        }
    }

    /// The `ver` claim of a token in this format.
    pub fn claim(self) -> &'static str {
        match self {
            Self::V1 => "1.0",
            Self::V2 => "2.0",
        }
    }
}

/// Who may sign in to an application (`signInAudience`, entra-protocol.md §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SignInAudience {
    /// Accounts in this organizational directory only (single tenant): the default.
    AzureADMyOrg,
    /// Accounts in any organizational directory.
    AzureADMultipleOrgs,
    /// Any organizational directory and personal Microsoft accounts.
    #[serde(rename = "AzureADandPersonalMicrosoftAccount")]
    AzureAdAndPersonalMicrosoftAccount,
    /// Personal Microsoft accounts only.
    PersonalMicrosoftAccount,
}

impl SignInAudience {
    pub const ALL: [Self; 4] = [
        Self::AzureADMyOrg,
        Self::AzureADMultipleOrgs,
        Self::AzureAdAndPersonalMicrosoftAccount,
        Self::PersonalMicrosoftAccount,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AzureADMyOrg => "AzureADMyOrg",
            Self::AzureADMultipleOrgs => "AzureADMultipleOrgs",
            Self::AzureAdAndPersonalMicrosoftAccount => "AzureADandPersonalMicrosoftAccount",
            Self::PersonalMicrosoftAccount => "PersonalMicrosoftAccount",
        }
    }

    /// The audience Graph's value names, exactly (Graph's values are case-sensitive).
    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == value)
    }

    pub fn is_single_tenant(self) -> bool {
        self == Self::AzureADMyOrg
    }

    /// Users of any organisation may sign in. `AzureADandPersonalMicrosoftAccount` counts: there are
    /// no personal accounts here, so it means every organisation. `PersonalMicrosoftAccount` does not.
    pub fn is_multi_organization(self) -> bool {
        matches!(
            self,
            Self::AzureADMultipleOrgs | Self::AzureAdAndPersonalMicrosoftAccount
        )
    }
}

/// Whether users may consent to applications themselves (Graph's authorizationPolicy,
/// `permissionGrantPoliciesAssigned`, by Entra's built-in permission grant policy ids).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum UserConsent {
    /// No user consent: every grant needs an administrator.
    Disabled,
    /// Entra's default (`microsoft-user-default-low`): apps of the user's own organisation, and
    /// Microsoft Graph's low-risk permissions for others.
    #[default]
    Low,
    /// `microsoft-user-default-legacy`: any `User`-type permission of any application.
    Legacy,
}

impl UserConsent {
    const LOW: &'static str = "ManagePermissionGrantsForSelf.microsoft-user-default-low";
    const LEGACY: &'static str = "ManagePermissionGrantsForSelf.microsoft-user-default-legacy";

    /// The stored word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disabled => "disabled",
            Self::Low => "low",
            Self::Legacy => "legacy",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Disabled, Self::Low, Self::Legacy]
            .into_iter()
            .find(|c| c.as_str() == value)
    }

    /// Graph's `permissionGrantPoliciesAssigned`.
    pub fn policy_ids(self) -> Vec<String> {
        match self {
            Self::Disabled => vec![],
            Self::Low => vec![Self::LOW.into()],
            Self::Legacy => vec![Self::LEGACY.into()],
        }
    }

    /// Reads Graph's list (ids in any case; other policies, such as a chat's resource-specific ones,
    /// are ignored). The broadest self-consent policy listed wins; none means disabled.
    pub fn from_policy_ids(ids: &[String]) -> Self {
        let has = |id: &str| ids.iter().any(|i| i.eq_ignore_ascii_case(id));
        match (has(Self::LEGACY), has(Self::LOW)) {
            (true, _) => Self::Legacy,
            (false, true) => Self::Low,
            _ => Self::Disabled,
        }
    }
}

/// What kind of principal holds an app role (`principalType` of an appRoleAssignment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PrincipalType {
    User,
    Group,
    ServicePrincipal,
}

impl PrincipalType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Group => "Group",
            Self::ServicePrincipal => "ServicePrincipal",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::User, Self::Group, Self::ServicePrincipal]
            .into_iter()
            .find(|p| p.as_str() == value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audiences_and_principal_types_round_trip_in_graphs_spelling() {
        for a in SignInAudience::ALL {
            let json = serde_json::to_string(&a).unwrap();
            assert_eq!(json, format!("\"{}\"", a.as_str()));
            assert_eq!(SignInAudience::parse(a.as_str()), Some(a));
        }
        assert_eq!(SignInAudience::parse("azureadmyorg"), None);
        assert_eq!(
            PrincipalType::parse("ServicePrincipal"),
            Some(PrincipalType::ServicePrincipal)
        );
        assert_eq!(serde_json::to_string(&PrincipalType::Group).unwrap(), "\"Group\"");
    }

    #[test]
    fn tokens_are_v2_only_when_the_resource_asks_for_2() {
        assert_eq!(Version::of_requested_token(Some(2)), Version::V2);
        assert_eq!(Version::of_requested_token(Some(1)), Version::V1);
        assert_eq!(Version::of_requested_token(None), Version::V1);
        assert_eq!(Version::V2.claim(), "2.0");
    }
}

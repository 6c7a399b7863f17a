//! The `{tenant}` path segment (entra-protocol.md §1.1), parsed once at the edge.

use uuid::Uuid;

/// What a `{tenant}` segment names. Domain names are kept lower-cased: Entra matches them without case,
/// and msal-node lower-cases the whole authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantSegment {
    Id(Uuid),
    Domain(String),
    Common,
    Organizations,
    Consumers,
}

/// A segment that is neither a GUID nor a DNS name: AADSTS900023.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedTenant(pub String);

impl TenantSegment {
    pub fn parse(raw: &str) -> Result<Self, MalformedTenant> {
        let lower = raw.to_ascii_lowercase();
        match lower.as_str() {
            "common" => return Ok(Self::Common),
            "organizations" => return Ok(Self::Organizations),
            "consumers" => return Ok(Self::Consumers),
            _ => {}
        }
        if let Ok(id) = Uuid::parse_str(&lower) {
            if lower.len() == 36 {
                return Ok(Self::Id(id));
            }
        }
        if is_dns_name(&lower) {
            return Ok(Self::Domain(lower));
        }
        Err(MalformedTenant(raw.chars().take(256).collect()))
    }

    /// True for the aliases that are not one tenant (`common`, `organizations`, `consumers`).
    pub fn is_alias(&self) -> bool {
        matches!(self, Self::Common | Self::Organizations | Self::Consumers)
    }

    /// The segment as it appears in URLs of discovery documents for aliases.
    pub fn alias_name(&self) -> Option<&'static str> {
        match self {
            Self::Common => Some("common"),
            Self::Organizations => Some("organizations"),
            Self::Consumers => Some("consumers"),
            _ => None,
        }
    }
}

/// A DNS name as Entra accepts for verified domains: labels of letters, digits and hyphens, at least
/// two labels, none empty or hyphen-edged, 253 characters at most.
pub fn is_dns_name(s: &str) -> bool {
    if s.is_empty() || s.len() > 253 || !s.contains('.') {
        return false;
    }
    s.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_guids_and_domains_are_recognised_without_case() {
        assert_eq!(TenantSegment::parse("Common"), Ok(TenantSegment::Common));
        assert_eq!(
            TenantSegment::parse("organizations"),
            Ok(TenantSegment::Organizations)
        );
        let id = "72F988BF-86F1-41AF-91AB-2D7CD011DB47";
        assert_eq!(
            TenantSegment::parse(id),
            Ok(TenantSegment::Id(Uuid::parse_str(id).unwrap()))
        );
        assert_eq!(
            TenantSegment::parse("Contoso.onMicrosoft.com"),
            Ok(TenantSegment::Domain("contoso.onmicrosoft.com".into()))
        );
    }

    #[test]
    fn malformed_segments_are_rejected() {
        for bad in [
            "",
            "tenant1",
            "a..b",
            "-a.b",
            "a_b.com",
            "x y.com",
            "{72f988bf86f141af91ab2d7cd011db47}",
        ] {
            assert!(TenantSegment::parse(bad).is_err(), "{bad}");
        }
    }
}

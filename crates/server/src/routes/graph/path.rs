//! Graph's URL shapes under `/v1.0`, parsed once: entity sets, entities by id or by the alternate key
//! `(appId='…')`, their actions and navigation properties (entra-protocol.md §5).

use gatehouse_core::admin::applications::AppKey;
use gatehouse_core::admin::assignments::Side;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Applications,
    Application(AppKey),
    AddPassword(AppKey),
    RemovePassword(AppKey),
    FederatedCredentials(AppKey),
    /// By id or by name.
    FederatedCredential(AppKey, String),
    ServicePrincipals,
    ServicePrincipal(AppKey),
    Assignments(Uuid, Side),
    Assignment(Uuid, Side, String),
    Organization,
}

/// Parses the part after `/v1.0/`; `None` for anything Gatehouse does not serve.
pub fn parse(path: &str) -> Option<Target> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (set, alt) = split_key(segs.first()?)?;
    let key = match (alt, segs.get(1)) {
        (Some(app_id), _) => Some(AppKey::AppId(app_id)),
        (None, Some(id)) => Some(AppKey::Id(Uuid::parse_str(id).ok()?)),
        (None, None) => None,
    };
    let rest = if alt.is_some() {
        &segs[1..]
    } else {
        segs.get(2..).unwrap_or(&[])
    };
    match (set, key, rest) {
        ("applications", None, []) => Some(Target::Applications),
        ("applications", Some(k), []) => Some(Target::Application(k)),
        ("applications", Some(k), ["addPassword"]) => Some(Target::AddPassword(k)),
        ("applications", Some(k), ["removePassword"]) => Some(Target::RemovePassword(k)),
        ("applications", Some(k), ["federatedIdentityCredentials"]) => Some(Target::FederatedCredentials(k)),
        ("applications", Some(k), ["federatedIdentityCredentials", f]) if !f.is_empty() => {
            Some(Target::FederatedCredential(k, f.to_string()))
        }
        ("servicePrincipals", None, []) => Some(Target::ServicePrincipals),
        ("servicePrincipals", Some(k), []) => Some(Target::ServicePrincipal(k)),
        ("servicePrincipals", Some(AppKey::Id(id)), [nav, tail @ ..]) => {
            let side = match *nav {
                "appRoleAssignedTo" => Side::Resource,
                "appRoleAssignments" => Side::Principal,
                _ => return None,
            };
            match tail {
                [] => Some(Target::Assignments(id, side)),
                [aid] if !aid.is_empty() => Some(Target::Assignment(id, side, aid.to_string())),
                _ => None,
            }
        }
        ("organization", None, []) => Some(Target::Organization),
        _ => None,
    }
}

/// `applications(appId='…')` → ("applications", Some(appId)); `applications` → ("applications", None).
fn split_key(seg: &str) -> Option<(&str, Option<Uuid>)> {
    match seg.split_once('(') {
        None => Some((seg, None)),
        Some((set, rest)) => {
            let inner = rest.strip_suffix(')')?;
            let value = inner.strip_prefix("appId=")?.trim_matches('\'');
            Some((set, Some(Uuid::parse_str(value).ok()?)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "03ef14b0-ca33-4840-8f4f-d6e91916010e";

    #[test]
    fn entities_are_addressed_by_id_or_app_id() {
        let id = Uuid::parse_str(ID).unwrap();
        assert_eq!(parse("applications"), Some(Target::Applications));
        assert_eq!(
            parse(&format!("applications/{ID}")),
            Some(Target::Application(AppKey::Id(id)))
        );
        assert_eq!(
            parse(&format!("applications(appId='{ID}')")),
            Some(Target::Application(AppKey::AppId(id)))
        );
        assert_eq!(
            parse(&format!("applications(appId='{ID}')/addPassword")),
            Some(Target::AddPassword(AppKey::AppId(id)))
        );
        assert_eq!(
            parse(&format!("applications/{ID}/federatedIdentityCredentials/ci")),
            Some(Target::FederatedCredential(AppKey::Id(id), "ci".into()))
        );
        assert_eq!(
            parse(&format!("servicePrincipals(appId='{ID}')")),
            Some(Target::ServicePrincipal(AppKey::AppId(id)))
        );
        assert_eq!(
            parse(&format!("servicePrincipals/{ID}/appRoleAssignedTo")),
            Some(Target::Assignments(id, Side::Resource))
        );
        assert_eq!(
            parse(&format!("servicePrincipals/{ID}/appRoleAssignments/abc")),
            Some(Target::Assignment(id, Side::Principal, "abc".into()))
        );
    }

    #[test]
    fn unknown_shapes_are_not_served() {
        for p in [
            "users",
            "applications/not-a-guid",
            "applications(displayName='x')",
            "servicePrincipals/x/owners",
            "applications(appId='x')/y/z",
        ] {
            assert_eq!(parse(p), None, "{p}");
        }
    }
}

//! Identifier URIs (App ID URIs): their syntax, and Entra's rule for which values an application of a
//! tenant may claim (entra-protocol.md §4.5; Entra's "Restrictions on identifier URIs").
//!
//! Uniqueness across every application and service principal of the tenant (Microsoft Graph's names
//! included) is not checked here: the store enforces it in the same transaction as the write, because
//! a check made before the write can be raced.
//!
//! What a value may be:
//! - `api://{appId}`, `api://{tenantId}/…`, `api://{anything}/{appId}`: unique by construction;
//! - a URI whose host is a verified domain of the tenant or a subdomain of one (`https://contoso.com/x`,
//!   `https://api.contoso.com`, `api://contoso.com/x`);
//! - for single-tenant applications only, `api://{name}` with a host that is neither a GUID nor a
//!   dotted name (`api://reports`), and `urn:` / `ms-appx:` values, as Entra allows by default. They
//!   resolve only inside the tenant, so they cannot take another tenant's name.
//!
//! Everything else is refused with Graph's `HostNameNotOnVerifiedDomain`. The rule applies to values
//! being added, and to all values when an application becomes multi-tenant, as in Entra; values
//! stored before it existed are kept.

use gatehouse_proto::graph::Application;
use gatehouse_proto::AppId;
use uuid::Uuid;

use super::AdminError;
use crate::model::{name_key, Tenant};

/// Checks the syntax of every value and the policy for every value `after` adds to `before` (all of
/// them when `after` is multi-tenant and `before` was not).
pub fn check(tenant: &Tenant, before: Option<&Application>, after: &Application) -> Result<(), AdminError> {
    let single = after.sign_in_audience.is_single_tenant();
    let was_single = before.is_none_or(|b| b.sign_in_audience.is_single_tenant());
    let kept = |u: &str| {
        (single || !was_single)
            && before.is_some_and(|b| b.identifier_uris.iter().any(|o| name_key(o) == name_key(u)))
    };
    let mut seen = std::collections::HashSet::new();
    for u in &after.identifier_uris {
        check_syntax(u)?;
        if !seen.insert(name_key(u)) {
            return Err(AdminError::BadRequest(format!(
                "The identifier URI '{u}' is listed more than once."
            )));
        }
        if !kept(u) && !allowed(u, after.app_id, tenant, single) {
            return Err(AdminError::HostNameNotOnVerifiedDomain(u.clone()));
        }
    }
    Ok(())
}

fn check_syntax(u: &str) -> Result<(), AdminError> {
    let bad = || AdminError::BadRequest(format!("'{u}' is not a valid identifier URI."));
    if !u.is_ascii() || u.len() > 255 || u.contains(['*', ' ', '?', '#']) {
        return Err(bad());
    }
    let parsed = url::Url::parse(u).map_err(|_| bad())?;
    if !matches!(parsed.scheme(), "api" | "https" | "urn" | "ms-appx") {
        return Err(bad());
    }
    Ok(())
}

fn allowed(u: &str, app_id: AppId, tenant: &Tenant, single_tenant: bool) -> bool {
    let Ok(parsed) = url::Url::parse(u) else {
        return false;
    };
    let host = parsed.host_str().unwrap_or("").to_ascii_lowercase();
    let on_verified_domain = || {
        tenant
            .domains
            .iter()
            .any(|d| host == *d || host.strip_suffix(d.as_str()).is_some_and(|p| p.ends_with('.')))
    };
    match parsed.scheme() {
        "api" => {
            let last_segment = parsed.path().rsplit('/').next().unwrap_or("");
            if AppId::parse(last_segment) == Some(app_id) {
                return true;
            }
            if let Ok(g) = Uuid::parse_str(&host) {
                return g == app_id.0 || g == tenant.id.0;
            }
            if host.contains('.') {
                return on_verified_domain();
            }
            single_tenant && !host.is_empty()
        }
        "https" => on_verified_domain(),
        _ => single_tenant,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::applications::new_application;
    use time::OffsetDateTime;

    fn tenant() -> Tenant {
        Tenant {
            id: gatehouse_proto::TenantId::new(),
            display_name: "t".into(),
            domains: vec!["contoso.example".into(), "gatehouse.local".into()],
            created: OffsetDateTime::now_utc(),
            user_consent: Default::default(),
            users_can_register_apps: true,
        }
    }

    fn with(uris: &[&str], audience: &str) -> Application {
        let mut a = new_application("a", None, OffsetDateTime::now_utc());
        a.identifier_uris = uris.iter().map(|u| u.to_string()).collect();
        a.sign_in_audience = gatehouse_proto::SignInAudience::parse(audience).unwrap();
        a
    }

    fn outcome(t: &Tenant, uri: &str, audience: &str) -> Result<(), AdminError> {
        let mut app = with(&[], audience);
        app.identifier_uris = vec![uri
            .replace("{appId}", &app.app_id.to_string())
            .replace("{tenantId}", &t.id.to_string())];
        check(t, None, &app)
    }

    #[test]
    fn unique_by_construction_and_verified_domains_are_allowed_for_every_audience() {
        let t = tenant();
        for aud in ["AzureADMyOrg", "AzureADMultipleOrgs"] {
            for ok in [
                "api://{appId}",
                "api://{tenantId}/reports",
                "api://reports/{appId}",
                "https://contoso.example/reports",
                "https://api.Contoso.Example",
                "api://contoso.example/reports",
                "https://gatehouse.local",
            ] {
                assert_eq!(outcome(&t, ok, aud), Ok(()), "{ok} {aud}");
            }
        }
    }

    #[test]
    fn graph_and_unverified_hosts_are_refused_with_host_name_not_on_verified_domain() {
        let t = tenant();
        for bad in [
            "https://graph.microsoft.com",
            "https://graph.microsoft.com/",
            "https://evil.example",
            "https://notcontoso.example/x",
            "api://graph.microsoft.com",
            "api://00000003-0000-0000-c000-000000000000",
            "api://00000003-0000-0000-c000-000000000000/x",
        ] {
            assert!(
                matches!(
                    outcome(&t, bad, "AzureADMyOrg"),
                    Err(AdminError::HostNameNotOnVerifiedDomain(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn plain_api_names_are_for_single_tenant_applications_only() {
        let t = tenant();
        assert_eq!(outcome(&t, "api://reports", "AzureADMyOrg"), Ok(()));
        assert_eq!(outcome(&t, "urn:reports", "AzureADMyOrg"), Ok(()));
        assert!(matches!(
            outcome(&t, "api://reports", "AzureADMultipleOrgs"),
            Err(AdminError::HostNameNotOnVerifiedDomain(_))
        ));
    }

    #[test]
    fn becoming_multi_tenant_rechecks_kept_values_but_other_changes_keep_them() {
        let t = tenant();
        let mut before = with(&["api://reports"], "AzureADMyOrg");
        let mut after = before.clone();
        after.sign_in_audience = gatehouse_proto::SignInAudience::AzureADMultipleOrgs;
        assert!(check(&t, Some(&before), &after).is_err());
        // A value stored before the rule existed survives unrelated changes.
        before.identifier_uris = vec!["https://evil.example".into()];
        let mut after = before.clone();
        after.notes = Some("n".into());
        assert_eq!(check(&t, Some(&before), &after), Ok(()));
    }

    #[test]
    fn syntax_and_duplicates_within_one_application_are_bad_requests() {
        let t = tenant();
        for bad in ["not a uri", "http://contoso.example", "api://x/*", "api://ré"] {
            assert!(
                matches!(outcome(&t, bad, "AzureADMyOrg"), Err(AdminError::BadRequest(_))),
                "{bad}"
            );
        }
        let app = with(&["api://a", "API://A/"], "AzureADMyOrg");
        assert!(matches!(check(&t, None, &app), Err(AdminError::BadRequest(_))));
    }
}

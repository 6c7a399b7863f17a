//! Azure's own resources, in every tenant beside Microsoft Graph: Resource Manager, Key Vault, Storage,
//! SQL, Service Bus, Event Hubs, Cosmos DB and App Configuration, under Microsoft's appIds and names,
//! so that `DefaultAzureCredential` and the data-plane SDKs ask Gatehouse for the scopes they ask Entra
//! for (`https://vault.azure.net/.default`, `https://servicebus.azure.net//.default`, …) and get a token
//! a local emulator or API can validate.
//!
//! Like Graph's, each is a service principal with no application in the tenant, so its names cannot be
//! claimed by an application, and the token format follows the resource: v1, as Entra issues for
//! Microsoft's APIs (`aud` is the resource as requested). What they offer is the program's: a tenant
//! made by an earlier version gets the current list when the service principal is read.

use super::graph_resource::microsoft_scope;
use gatehouse_proto::graph::ServicePrincipal;
use gatehouse_proto::{AppId, ObjectId, SignInAudience, TenantId};

/// One of Microsoft's resource applications.
pub struct AzureResource {
    pub app_id: &'static str,
    pub display_name: &'static str,
    /// Its service principal names besides the appId: the resource URIs the SDKs request.
    pub names: &'static [&'static str],
    /// Delegated permissions: (value, id, what the consent page calls it).
    pub scopes: &'static [(&'static str, &'static str, &'static str)],
}

/// Microsoft's appIds and delegated permission ids. Key Vault's, Storage's and Cosmos DB's appIds are
/// in Microsoft's documentation; the others, and the permission ids, are as tenants list them.
/// Cosmos DB offers no delegated permission here: its id could not be confirmed.
pub const AZURE_RESOURCES: &[AzureResource] = &[
    AzureResource {
        app_id: "797f4846-ba00-4fd7-ba43-dac1f8f63013",
        display_name: "Windows Azure Service Management API",
        names: &[
            "https://management.azure.com/",
            "https://management.core.windows.net/",
        ],
        scopes: &[(
            "user_impersonation",
            "41094075-9dad-400e-a0bd-54e686782033",
            "Access Azure Service Management as organization users",
        )],
    },
    AzureResource {
        app_id: "cfa8b339-82a2-471a-a3c9-0fc0be7a4093",
        display_name: "Azure Key Vault",
        names: &["https://vault.azure.net"],
        scopes: &[(
            "user_impersonation",
            "f53da476-18e3-4152-8e01-aec403e6edc0",
            "Have full access to the Azure Key Vault service",
        )],
    },
    AzureResource {
        app_id: "e406a681-f3d4-42a8-90b6-c2b029497af1",
        display_name: "Azure Storage",
        names: &["https://storage.azure.com/"],
        scopes: &[(
            "user_impersonation",
            "03e0da56-190b-40ad-a80c-ea378c433f7f",
            "Access Azure Storage",
        )],
    },
    AzureResource {
        app_id: "022907d3-0f1b-48f7-badc-1ba6abab6d66",
        display_name: "Azure SQL Database",
        names: &["https://database.windows.net/"],
        scopes: &[(
            "user_impersonation",
            "c39ef2d1-04ce-46dc-8b5f-e9a5c60f0fc9",
            "Access Azure SQL DB and Data Warehouse",
        )],
    },
    AzureResource {
        app_id: "80a10ef9-8168-493d-abf9-3297c4ef6e3c",
        display_name: "Microsoft.ServiceBus",
        names: &["https://servicebus.azure.net"],
        scopes: &[(
            "user_impersonation",
            "40e16207-c5fd-4916-8ca4-64565f2367ca",
            "Access Azure Service Bus",
        )],
    },
    AzureResource {
        app_id: "80369ed6-5f11-4dd9-bef3-692475845e77",
        display_name: "Microsoft.EventHubs",
        names: &["https://eventhubs.azure.net"],
        scopes: &[(
            "user_impersonation",
            "7d388411-3845-4cfc-aa69-33192f4b9735",
            "Access Azure Event Hubs",
        )],
    },
    AzureResource {
        app_id: "a232010e-820c-4083-83bb-3ace5fc29d0b",
        display_name: "Azure Cosmos DB",
        names: &["https://cosmos.azure.com"],
        scopes: &[],
    },
    AzureResource {
        app_id: "35ffadb3-7fc1-497e-b61b-381d28e744cc",
        display_name: "Azure App Configuration",
        // The SDKs ask for `https://azconfig.io/.default` for a store under azconfig.io and
        // `https://appconfig.azure.com/.default` otherwise.
        names: &["https://azconfig.io", "https://appconfig.azure.com"],
        scopes: &[
            (
                "KeyValue.Read",
                "8d17f7f7-030c-4b57-8129-cfb5a16433cd",
                "Read key-values in App Configuration",
            ),
            (
                "KeyValue.Write",
                "77967a14-4f88-4960-84da-e8f71f761ac2",
                "Read and write key-values in App Configuration",
            ),
        ],
    },
];

/// The Azure resource with `app_id`, if it is one.
pub fn azure_resource(app_id: AppId) -> Option<&'static AzureResource> {
    AZURE_RESOURCES
        .iter()
        .find(|r| AppId::parse(r.app_id) == Some(app_id))
}

impl AzureResource {
    /// Its service principal in `tenant`.
    pub fn service_principal(&self, id: ObjectId, tenant: TenantId) -> ServicePrincipal {
        let app_id = AppId::parse(self.app_id).unwrap_or_default();
        let mut names = vec![self.app_id.to_string()];
        names.extend(self.names.iter().map(|n| n.to_string()));
        ServicePrincipal {
            id,
            deleted_date_time: None,
            account_enabled: true,
            alternative_names: vec![],
            app_display_name: Some(self.display_name.into()),
            app_id,
            app_owner_organization_id: Some(tenant),
            app_role_assignment_required: false,
            display_name: self.display_name.into(),
            homepage: None,
            logout_url: None,
            reply_urls: vec![],
            service_principal_names: names,
            service_principal_type: "Application".into(),
            sign_in_audience: Some(SignInAudience::AzureADMultipleOrgs),
            tags: vec![],
            app_roles: vec![],
            key_credentials: vec![],
            oauth2_permission_scopes: self
                .scopes
                .iter()
                .map(|(value, id, text)| microsoft_scope(value, id, "User", text))
                .collect(),
            password_credentials: vec![],
        }
    }

    /// A stored service principal with what this version offers: its names, display name and
    /// permissions are the program's; whether it is enabled, and its tags, stay the tenant's.
    pub fn refresh(&self, sp: ServicePrincipal) -> ServicePrincipal {
        let owner = sp.app_owner_organization_id.unwrap_or_default();
        ServicePrincipal {
            account_enabled: sp.account_enabled,
            app_role_assignment_required: sp.app_role_assignment_required,
            tags: sp.tags,
            ..self.service_principal(sp.id, owner)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_resource_has_a_valid_app_id_and_distinct_names() {
        let mut names = std::collections::HashSet::new();
        for r in AZURE_RESOURCES {
            let app_id = AppId::parse(r.app_id).expect(r.app_id);
            assert_eq!(azure_resource(app_id).map(|f| f.app_id), Some(r.app_id));
            for n in r.names {
                assert!(names.insert(crate::model::name_key(n)), "{n} twice");
            }
            for (_, id, _) in r.scopes {
                uuid::Uuid::parse_str(id).expect(id);
            }
        }
        assert!(azure_resource(AppId::new()).is_none());
    }

    #[test]
    fn a_stored_service_principal_gets_the_current_names_and_keeps_its_settings() {
        let vault = &AZURE_RESOURCES[1];
        let mut old = vault.service_principal(ObjectId::new(), TenantId::new());
        old.oauth2_permission_scopes.clear();
        old.service_principal_names.truncate(1);
        old.account_enabled = false;
        let fresh = vault.refresh(old.clone());
        assert_eq!(fresh.id, old.id);
        assert!(!fresh.account_enabled);
        assert_eq!(
            fresh.service_principal_names,
            ["cfa8b339-82a2-471a-a3c9-0fc0be7a4093", "https://vault.azure.net"]
        );
        assert_eq!(fresh.oauth2_permission_scopes[0].value, "user_impersonation");
    }
}

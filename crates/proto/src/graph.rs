//! Microsoft Graph v1.0 resources that Gatehouse serves under `/v1.0` (entra-protocol.md §5):
//! application, servicePrincipal, appRole, appRoleAssignment, passwordCredential, organization, and the
//! Graph error body. Property names and order follow Graph's JSON.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::timefmt::graph_datetime_serde;

/// A Graph entity type served in collections: its OData type name and every property it serialises,
/// which `$select`, `$filter` and `$orderby` may name (anything else is refused, as Graph refuses it).
pub trait Resource: Serialize {
    const TYPE: &'static str;
    const PROPERTIES: &'static [&'static str];
}

/// `api` of an application (§5.1). `requestedAccessTokenVersion` null means v1 tokens (§3.1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiApplication {
    #[serde(default)]
    pub requested_access_token_version: Option<u8>,
    #[serde(default)]
    pub accept_mapped_claims: Option<bool>,
    #[serde(default)]
    pub known_client_applications: Vec<Uuid>,
    #[serde(default)]
    pub oauth2_permission_scopes: Vec<PermissionScope>,
    #[serde(default)]
    pub pre_authorized_applications: Vec<Value>,
}

/// A delegated permission an API exposes (§4.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionScope {
    pub id: Uuid,
    pub value: String,
    #[serde(default = "user_type")]
    pub r#type: String,
    #[serde(default)]
    pub admin_consent_display_name: Option<String>,
    #[serde(default)]
    pub admin_consent_description: Option<String>,
    #[serde(default)]
    pub user_consent_display_name: Option<String>,
    #[serde(default)]
    pub user_consent_description: Option<String>,
    #[serde(default = "yes")]
    pub is_enabled: bool,
}

fn user_type() -> String {
    "User".into()
}

fn yes() -> bool {
    true
}

/// An app role (§4.2): assigned to applications (`roles` in app-only tokens) and/or users.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRole {
    pub allowed_member_types: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    pub id: Uuid,
    #[serde(default = "yes")]
    pub is_enabled: bool,
    #[serde(default)]
    pub origin: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequiredResourceAccess {
    pub resource_app_id: String,
    pub resource_access: Vec<ResourceAccess>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceAccess {
    pub id: Uuid,
    /// `Role` (application permission) or `Scope` (delegated).
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RedirectUris {
    #[serde(default)]
    pub redirect_uris: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebApplication {
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub home_page_url: Option<String>,
    #[serde(default)]
    pub logout_url: Option<String>,
    #[serde(default)]
    pub implicit_grant_settings: ImplicitGrantSettings,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImplicitGrantSettings {
    #[serde(default)]
    pub enable_id_token_issuance: bool,
    #[serde(default)]
    pub enable_access_token_issuance: bool,
}

/// passwordCredential (§5.1, §6). `secretText` is returned once, by addPassword; reads show null.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordCredential {
    pub custom_key_identifier: Option<String>,
    pub display_name: Option<String>,
    #[serde(with = "graph_datetime_serde")]
    pub end_date_time: OffsetDateTime,
    pub hint: Option<String>,
    pub key_id: Uuid,
    pub secret_text: Option<crate::token::Secret>,
    #[serde(with = "graph_datetime_serde")]
    pub start_date_time: OffsetDateTime,
}

/// The `application` resource (§5.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    pub id: crate::ObjectId,
    pub deleted_date_time: Option<String>,
    pub app_id: crate::AppId,
    pub application_template_id: Option<String>,
    pub identifier_uris: Vec<String>,
    #[serde(with = "graph_datetime_serde")]
    pub created_date_time: OffsetDateTime,
    pub description: Option<String>,
    pub display_name: String,
    pub is_fallback_public_client: Option<bool>,
    pub group_membership_claims: Option<String>,
    pub notes: Option<String>,
    pub publisher_domain: Option<String>,
    pub sign_in_audience: crate::SignInAudience,
    pub tags: Vec<String>,
    pub api: ApiApplication,
    pub app_roles: Vec<AppRole>,
    pub public_client: RedirectUris,
    pub key_credentials: Vec<KeyCredential>,
    pub password_credentials: Vec<PasswordCredential>,
    pub required_resource_access: Vec<RequiredResourceAccess>,
    pub spa: RedirectUris,
    pub web: WebApplication,
}

/// The writable properties of an application, as sent to `POST /applications` and `PATCH`. Unknown
/// properties are refused, as Graph refuses them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApplicationInput {
    #[serde(rename = "@odata.type", default)]
    pub odata_type: Option<String>,
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub notes: Option<Option<String>>,
    pub sign_in_audience: Option<String>,
    pub identifier_uris: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    pub is_fallback_public_client: Option<Option<bool>>,
    #[serde(default, deserialize_with = "present")]
    pub group_membership_claims: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub api: Option<ApiApplication>,
    pub app_roles: Option<Vec<AppRole>>,
    pub public_client: Option<RedirectUris>,
    pub required_resource_access: Option<Vec<RequiredResourceAccess>>,
    pub spa: Option<RedirectUris>,
    pub web: Option<WebApplication>,
    /// Refused on create and on PATCH (use addPassword); present so the refusal can name it.
    pub password_credentials: Option<Value>,
    /// Replaces the whole collection, as Graph's PATCH does.
    pub key_credentials: Option<Vec<KeyCredentialInput>>,
}

/// A certificate credential (`keyCredential`). The stored form keeps `key` (base64 DER); Graph shows it
/// as null on reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyCredential {
    /// Base64 of the SHA-1 thumbprint, unless the caller chose another identifier.
    pub custom_key_identifier: Option<String>,
    pub display_name: Option<String>,
    #[serde(with = "graph_datetime_serde")]
    pub end_date_time: OffsetDateTime,
    pub key: Option<String>,
    pub key_id: Uuid,
    #[serde(with = "graph_datetime_serde")]
    pub start_date_time: OffsetDateTime,
    #[serde(rename = "type")]
    pub type_: String,
    pub usage: String,
}

/// A `keyCredential` in a PATCH body. An entry with only the `keyId` of an existing credential keeps it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyCredentialInput {
    pub custom_key_identifier: Option<String>,
    pub display_name: Option<String>,
    pub key: Option<String>,
    pub key_id: Option<Uuid>,
    #[serde(rename = "type")]
    pub type_: Option<String>,
    pub usage: Option<String>,
    #[serde(default, with = "graph_datetime_serde::option")]
    pub start_date_time: Option<OffsetDateTime>,
    #[serde(default, with = "graph_datetime_serde::option")]
    pub end_date_time: Option<OffsetDateTime>,
}

/// `federatedIdentityCredential` (entra-protocol.md §5.1): trust in tokens an external issuer gives
/// one subject, for one audience.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FederatedIdentityCredential {
    pub id: Uuid,
    pub name: String,
    pub issuer: String,
    pub subject: String,
    pub description: Option<String>,
    pub audiences: Vec<String>,
}

/// Body of `POST …/federatedIdentityCredentials` and of its PATCH.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FederatedIdentityCredentialInput {
    #[serde(rename = "@odata.type", default)]
    pub odata_type: Option<String>,
    pub name: Option<String>,
    pub issuer: Option<String>,
    pub subject: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub description: Option<Option<String>>,
    pub audiences: Option<Vec<String>>,
}

/// Reads a nullable property so that "absent" (outer `None`) and "set to null" (`Some(None)`) differ.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// The `servicePrincipal` resource (§5.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    pub id: crate::ObjectId,
    pub deleted_date_time: Option<String>,
    pub account_enabled: bool,
    /// A managed identity's resource id (and `isExplicit=True` for a user-assigned one), as Entra lists.
    #[serde(default)]
    pub alternative_names: Vec<String>,
    pub app_display_name: Option<String>,
    pub app_id: crate::AppId,
    pub app_owner_organization_id: Option<crate::TenantId>,
    pub app_role_assignment_required: bool,
    pub display_name: String,
    pub homepage: Option<String>,
    pub logout_url: Option<String>,
    pub reply_urls: Vec<String>,
    pub service_principal_names: Vec<String>,
    pub service_principal_type: String,
    pub sign_in_audience: Option<crate::SignInAudience>,
    pub tags: Vec<String>,
    pub app_roles: Vec<AppRole>,
    pub key_credentials: Vec<Value>,
    pub oauth2_permission_scopes: Vec<PermissionScope>,
    pub password_credentials: Vec<Value>,
}

/// `POST /servicePrincipals` body: the appId, and optionally a few settable properties.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServicePrincipalInput {
    #[serde(rename = "@odata.type", default)]
    pub odata_type: Option<String>,
    pub app_id: String,
    #[serde(default)]
    pub account_enabled: Option<bool>,
    #[serde(default)]
    pub app_role_assignment_required: Option<bool>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
}

/// `PATCH /servicePrincipals/{id}` body: the properties a tenant sets on its service principal.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServicePrincipalUpdate {
    #[serde(rename = "@odata.type", default)]
    pub odata_type: Option<String>,
    /// "Enabled for users to sign in?": a disabled one gets no tokens.
    #[serde(default)]
    pub account_enabled: Option<bool>,
    /// "Assignment required?": only users assigned an app role may sign in.
    #[serde(default)]
    pub app_role_assignment_required: Option<bool>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
}

impl ServicePrincipalUpdate {
    pub fn apply(&self, sp: &mut ServicePrincipal) {
        if let Some(v) = self.account_enabled {
            sp.account_enabled = v;
        }
        if let Some(v) = self.app_role_assignment_required {
            sp.app_role_assignment_required = v;
        }
        if let Some(tags) = &self.tags {
            sp.tags = tags.clone();
        }
    }
}

/// The `appRoleAssignment` resource (§5.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRoleAssignment {
    pub id: String,
    pub deleted_date_time: Option<String>,
    pub app_role_id: Uuid,
    #[serde(with = "graph_datetime_serde")]
    pub created_date_time: OffsetDateTime,
    pub principal_display_name: Option<String>,
    pub principal_id: crate::ObjectId,
    pub principal_type: crate::PrincipalType,
    pub resource_display_name: Option<String>,
    pub resource_id: crate::ObjectId,
}

/// The `oAuth2PermissionGrant` resource: delegated permissions (`scope`, space-separated) a client
/// service principal may use on a resource, for all users (`AllPrincipals`) or one (`Principal`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuth2PermissionGrant {
    pub id: String,
    pub client_id: crate::ObjectId,
    pub consent_type: String,
    pub principal_id: Option<crate::ObjectId>,
    pub resource_id: crate::ObjectId,
    pub scope: String,
}

/// The `user` resource, with the properties Gatehouse keeps. A password is never returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: crate::ObjectId,
    pub deleted_date_time: Option<String>,
    pub account_enabled: bool,
    pub business_phones: Vec<String>,
    #[serde(with = "graph_datetime_serde")]
    pub created_date_time: OffsetDateTime,
    pub display_name: String,
    pub given_name: Option<String>,
    pub job_title: Option<String>,
    pub mail: Option<String>,
    pub mail_nickname: String,
    pub mobile_phone: Option<String>,
    pub office_location: Option<String>,
    pub preferred_language: Option<String>,
    pub surname: Option<String>,
    pub user_principal_name: String,
    pub user_type: String,
}

/// `passwordProfile` of a user being created or updated.
#[derive(Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordProfile {
    pub password: Option<crate::token::Secret>,
    #[serde(default)]
    pub force_change_password_next_sign_in: Option<bool>,
    #[serde(default)]
    pub force_change_password_next_sign_in_with_mfa: Option<bool>,
}

impl std::fmt::Debug for PasswordProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordProfile")
            .field("password", &self.password.as_ref().map(|_| "…"))
            .field(
                "force_change_password_next_sign_in",
                &self.force_change_password_next_sign_in,
            )
            .finish()
    }
}

/// The writable properties of a user (`POST /users`, `PATCH`). Unknown properties are refused.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserInput {
    #[serde(rename = "@odata.type", default)]
    pub odata_type: Option<String>,
    pub account_enabled: Option<bool>,
    pub display_name: Option<String>,
    pub mail_nickname: Option<String>,
    pub user_principal_name: Option<String>,
    pub password_profile: Option<PasswordProfile>,
    #[serde(default, deserialize_with = "present")]
    pub given_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub surname: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub job_title: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub mail: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub mobile_phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub office_location: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub preferred_language: Option<Option<String>>,
    pub business_phones: Option<Vec<String>>,
    /// Accepted and ignored, as a tenant without licences ignores it.
    #[serde(default)]
    pub usage_location: Option<Value>,
}

/// `POST /oauth2PermissionGrants` body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OAuth2PermissionGrantInput {
    #[serde(rename = "@odata.type", default)]
    pub odata_type: Option<String>,
    pub client_id: crate::ObjectId,
    #[serde(default)]
    pub consent_type: Option<String>,
    #[serde(default)]
    pub principal_id: Option<crate::ObjectId>,
    pub resource_id: crate::ObjectId,
    #[serde(default)]
    pub scope: Option<String>,
    /// Graph ignores these on v1.0; accepted so older clients' bodies parse.
    #[serde(default)]
    pub start_time: Option<Value>,
    #[serde(default)]
    pub expiry_time: Option<Value>,
}

/// `PATCH /oauth2PermissionGrants/{id}` body: only the scope changes.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OAuth2PermissionGrantUpdate {
    pub scope: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRoleAssignmentInput {
    pub principal_id: crate::ObjectId,
    pub resource_id: crate::ObjectId,
    pub app_role_id: Uuid,
}

/// The `unifiedRoleAssignment` resource (`/roleManagement/directory/roleAssignments`): a directory
/// role (`roleDefinitionId`, the built-in role's template id) held by a user, at directory scope `/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnifiedRoleAssignment {
    pub id: String,
    pub principal_id: crate::ObjectId,
    pub role_definition_id: String,
    pub directory_scope_id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnifiedRoleAssignmentInput {
    #[serde(rename = "@odata.type", default)]
    pub odata_type: Option<String>,
    pub principal_id: crate::ObjectId,
    pub role_definition_id: String,
    #[serde(default)]
    pub directory_scope_id: Option<String>,
}

/// The `unifiedRoleDefinition` resource (`/roleManagement/directory/roleDefinitions`): the built-in
/// directory roles Gatehouse knows, under Microsoft's template ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnifiedRoleDefinition {
    pub id: String,
    pub description: String,
    pub display_name: String,
    pub is_built_in: bool,
    pub is_enabled: bool,
    pub template_id: String,
}

/// The `authorizationPolicy` resource (`/policies/authorizationPolicy`): here, whether users may
/// consent to applications themselves, by Entra's permission grant policy ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationPolicy {
    pub id: String,
    pub display_name: String,
    pub description: String,
    /// The same list as `defaultUserRolePermissions.permissionGrantPoliciesAssigned` (Graph keeps both).
    pub permission_grant_policy_ids_assigned_to_default_user_role: Vec<String>,
    pub default_user_role_permissions: DefaultUserRolePermissions,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DefaultUserRolePermissions {
    pub permission_grant_policies_assigned: Vec<String>,
    /// Whether users without a directory role may register applications.
    pub allowed_to_create_apps: bool,
}

/// A PATCH of the authorization policy: either spelling of the list.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationPolicyUpdate {
    #[serde(default)]
    pub permission_grant_policy_ids_assigned_to_default_user_role: Option<Vec<String>>,
    #[serde(default)]
    pub default_user_role_permissions: Option<DefaultUserRolePermissionsUpdate>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DefaultUserRolePermissionsUpdate {
    #[serde(default)]
    pub permission_grant_policies_assigned: Option<Vec<String>>,
    #[serde(default)]
    pub allowed_to_create_apps: Option<bool>,
}

/// `addPassword` body: `{"passwordCredential":{...}}`, all optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddPasswordInput {
    #[serde(default)]
    pub password_credential: Option<PasswordCredentialInput>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordCredentialInput {
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default, with = "graph_datetime_serde::option")]
    pub start_date_time: Option<OffsetDateTime>,
    #[serde(default, with = "graph_datetime_serde::option")]
    pub end_date_time: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemovePasswordInput {
    pub key_id: Uuid,
}

/// The `organization` resource, trimmed to what a tenant has in Gatehouse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: crate::TenantId,
    pub deleted_date_time: Option<String>,
    #[serde(with = "graph_datetime_serde")]
    pub created_date_time: OffsetDateTime,
    pub display_name: String,
    pub tenant_type: String,
    pub verified_domains: Vec<VerifiedDomain>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifiedDomain {
    pub capabilities: String,
    pub is_default: bool,
    pub is_initial: bool,
    pub name: String,
    pub r#type: String,
}

impl Resource for Application {
    const TYPE: &'static str = "microsoft.graph.application";
    const PROPERTIES: &'static [&'static str] = &[
        "id",
        "deletedDateTime",
        "appId",
        "applicationTemplateId",
        "identifierUris",
        "createdDateTime",
        "description",
        "displayName",
        "isFallbackPublicClient",
        "groupMembershipClaims",
        "notes",
        "publisherDomain",
        "signInAudience",
        "tags",
        "api",
        "appRoles",
        "publicClient",
        "keyCredentials",
        "passwordCredentials",
        "requiredResourceAccess",
        "spa",
        "web",
    ];
}

impl Resource for ServicePrincipal {
    const TYPE: &'static str = "microsoft.graph.servicePrincipal";
    const PROPERTIES: &'static [&'static str] = &[
        "id",
        "deletedDateTime",
        "accountEnabled",
        "alternativeNames",
        "appDisplayName",
        "appId",
        "appOwnerOrganizationId",
        "appRoleAssignmentRequired",
        "displayName",
        "homepage",
        "logoutUrl",
        "replyUrls",
        "servicePrincipalNames",
        "servicePrincipalType",
        "signInAudience",
        "tags",
        "appRoles",
        "keyCredentials",
        "oauth2PermissionScopes",
        "passwordCredentials",
    ];
}

impl Resource for AppRoleAssignment {
    const TYPE: &'static str = "microsoft.graph.appRoleAssignment";
    const PROPERTIES: &'static [&'static str] = &[
        "id",
        "deletedDateTime",
        "appRoleId",
        "createdDateTime",
        "principalDisplayName",
        "principalId",
        "principalType",
        "resourceDisplayName",
        "resourceId",
    ];
}

impl Resource for User {
    const TYPE: &'static str = "microsoft.graph.user";
    const PROPERTIES: &'static [&'static str] = &[
        "id",
        "deletedDateTime",
        "accountEnabled",
        "businessPhones",
        "createdDateTime",
        "displayName",
        "givenName",
        "jobTitle",
        "mail",
        "mailNickname",
        "mobilePhone",
        "officeLocation",
        "preferredLanguage",
        "surname",
        "userPrincipalName",
        "userType",
    ];
}

impl Resource for OAuth2PermissionGrant {
    const TYPE: &'static str = "microsoft.graph.oAuth2PermissionGrant";
    const PROPERTIES: &'static [&'static str] = &[
        "id",
        "clientId",
        "consentType",
        "principalId",
        "resourceId",
        "scope",
    ];
}

impl Resource for AuthorizationPolicy {
    const TYPE: &'static str = "microsoft.graph.authorizationPolicy";
    const PROPERTIES: &'static [&'static str] = &[
        "id",
        "displayName",
        "description",
        "permissionGrantPolicyIdsAssignedToDefaultUserRole",
        "defaultUserRolePermissions",
    ];
}

impl Resource for UnifiedRoleAssignment {
    const TYPE: &'static str = "microsoft.graph.unifiedRoleAssignment";
    const PROPERTIES: &'static [&'static str] =
        &["id", "principalId", "roleDefinitionId", "directoryScopeId"];
}

impl Resource for UnifiedRoleDefinition {
    const TYPE: &'static str = "microsoft.graph.unifiedRoleDefinition";
    const PROPERTIES: &'static [&'static str] = &[
        "id",
        "description",
        "displayName",
        "isBuiltIn",
        "isEnabled",
        "templateId",
    ];
}

impl Resource for FederatedIdentityCredential {
    const TYPE: &'static str = "microsoft.graph.federatedIdentityCredential";
    const PROPERTIES: &'static [&'static str] =
        &["id", "name", "issuer", "subject", "description", "audiences"];
}

impl Resource for Organization {
    const TYPE: &'static str = "microsoft.graph.organization";
    const PROPERTIES: &'static [&'static str] = &[
        "id",
        "deletedDateTime",
        "createdDateTime",
        "displayName",
        "tenantType",
        "verifiedDomains",
    ];
}

/// Graph's error envelope: `{"error":{"code","message","innerError":{...}}}`.
#[derive(Debug, Clone, Serialize)]
pub struct GraphErrorBody {
    pub error: GraphErrorDetail,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphErrorDetail {
    pub code: &'static str,
    pub message: String,
    pub inner_error: GraphInnerError,
}

#[derive(Debug, Clone, Serialize)]
pub struct GraphInnerError {
    pub date: String,
    #[serde(rename = "request-id")]
    pub request_id: String,
    #[serde(rename = "client-request-id")]
    pub client_request_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_input_refuses_unknown_properties() {
        let e = serde_json::from_str::<ApplicationInput>(r#"{"displayName":"a","colour":"red"}"#);
        assert!(e.is_err());
        let ok: ApplicationInput = serde_json::from_str(r#"{"displayName":"a","description":null}"#).unwrap();
        assert_eq!(ok.description, Some(None));
    }

    #[test]
    fn password_credential_serialises_dates_as_graph_does() {
        let t = time::macros::datetime!(2024-01-02 03:04:05 UTC);
        let p = PasswordCredential {
            custom_key_identifier: None,
            display_name: None,
            end_date_time: t,
            hint: Some("abc".into()),
            key_id: Uuid::nil(),
            secret_text: None,
            start_date_time: t,
        };
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["endDateTime"], "2024-01-02T03:04:05Z");
        assert_eq!(v["secretText"], Value::Null);
    }
}

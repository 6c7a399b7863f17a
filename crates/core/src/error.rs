//! Every way a protocol request can fail, each with its AADSTS code, its OAuth `error` value and its
//! message, in one place (entra-protocol.md §2.2, §2.11). The HTTP status is chosen by the server.

use gatehouse_proto::error::OAuthError;

use crate::signin::SignInError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoreError {
    #[error("malformed tenant")]
    MalformedTenant { tenant: String },
    #[error("tenant not found")]
    TenantNotFound { tenant: String },
    /// The same, asked for by a discovery document or key set (Entra answers `invalid_tenant` there).
    #[error("tenant not found")]
    TenantMetadataNotFound { tenant: String },
    #[error("no tenant-identifying information")]
    NoTenantForClientCredentials,
    #[error("missing parameter")]
    MissingParameter { name: &'static str },
    #[error("malformed request")]
    Malformed { detail: &'static str },
    #[error("wrong method")]
    PostOnly { method: String },
    #[error("unsupported grant type")]
    UnsupportedGrantType { grant_type: String },
    #[error("application not found")]
    ClientNotFound { client_id: String, tenant: String },
    #[error("application disabled")]
    ClientDisabled { client_id: String },
    #[error("missing client credential")]
    MissingClientCredential,
    #[error("invalid client secret")]
    InvalidClientSecret { client_id: String },
    #[error("expired client secret")]
    ExpiredClientSecret { client_id: String },
    #[error("client assertion refused: {0:?}")]
    ClientAssertion(AssertionFailure),
    #[error("scope missing")]
    ScopeMissing,
    #[error("scope without /.default")]
    ScopeNotDefault { scope: String },
    #[error("scope names several resources")]
    ScopeSeveralResources,
    #[error("resource parameter on v2")]
    ResourceParameterOnV2,
    #[error("resource not found")]
    ResourceNotFound { resource: String, tenant: String },
    #[error("client not assigned to the resource")]
    AssignmentRequired { client_id: String, resource: String },
    /// The request body is larger than the endpoint reads (HTTP 413).
    #[error("request body too large")]
    BodyTooLarge { limit: usize },
    /// The request body paused longer than the server waits (HTTP 408).
    #[error("request body timed out")]
    BodyTimeout,
    /// The application requires users to be assigned (`appRoleAssignmentRequired`) and this one is not.
    #[error("user not assigned to the application")]
    UserNotAssigned { app_name: String },
    /// A delegated permission the resource does not offer, or `.default` beside named permissions.
    #[error("invalid scope")]
    InvalidScope { scope: String },
    /// The user (or an administrator for every user) has not consented to a permission asked for.
    #[error("consent required")]
    ConsentRequired { client_id: String, scope: String },
    /// The user's password sign-in failed.
    #[error("sign-in failed: {0}")]
    SignIn(SignInError),
    /// ROPC on `/common` or `/consumers`.
    #[error("grant not supported on this tenant segment")]
    GrantNeedsTenant,
    /// An unknown refresh token, or one issued to another client.
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    /// A refresh token unused for the idle lifetime, or past its family's absolute end.
    #[error("refresh token expired")]
    RefreshTokenExpired { spa: bool },
    /// A revoked family: sign-out, a password change, an administrator's revocation, or reuse.
    #[error("refresh token revoked")]
    RefreshTokenRevoked,
    /// `/authorize` with a redirect URI the application did not register (an error page).
    #[error("redirect URI mismatch")]
    RedirectUriMismatch { redirect_uri: String, client_id: String },
    /// `/authorize` for an application with no redirect URI (an error page).
    #[error("no redirect URI")]
    NoRedirectUri { client_id: String },
    #[error("invalid parameter")]
    InvalidAuthorizeParameter { name: &'static str },
    #[error("unsupported response type")]
    UnsupportedResponseType { response_type: String },
    /// `id_token` from `/authorize` for an application that does not enable ID-token issuance.
    #[error("response type not enabled")]
    ResponseTypeNotEnabled { response_type: &'static str },
    /// A public client (SPA, mobile or desktop) without a PKCE challenge.
    #[error("PKCE required")]
    PkceRequired,
    /// `prompt=none` without a session.
    #[error("login required")]
    LoginRequired,
    /// The user declined on the consent page.
    #[error("consent declined")]
    ConsentDeclined,
    /// A permission only an administrator can consent to.
    #[error("admin consent required")]
    AdminConsentRequired { client_id: String },
    /// The sign-in pages took too long, or their state was not ours.
    #[error("sign-in flow expired")]
    FlowExpired,
    /// An authorization code that does not exist or was issued to another client or tenant.
    #[error("invalid code")]
    InvalidCode,
    #[error("code expired")]
    CodeExpired,
    #[error("code already redeemed")]
    CodeRedeemed,
    /// Redeemed with another redirect URI than it was issued for.
    #[error("redirect URI differs at redemption")]
    CodeRedirectUriMismatch,
    #[error("PKCE verifier mismatch")]
    PkceMismatch,
    /// A single-page application's code redeemed without an `Origin` header.
    #[error("SPA code without Origin")]
    SpaNeedsOrigin,
    /// A cross-origin redemption of a code that is not a single-page application's.
    #[error("cross-origin redemption of a non-SPA code")]
    CrossOriginNotSpa,
    /// Device flow: the user has not finished yet (RFC 8628 §3.5).
    #[error("authorization pending")]
    AuthorizationPending,
    /// Device flow: polled faster than the interval.
    #[error("slow down")]
    SlowDown,
    #[error("device code expired")]
    DeviceCodeExpired,
    /// Device flow: the user declined.
    #[error("device authorization declined")]
    DeviceDeclined,
    /// Device flow: a device code the store does not know, or another client's.
    #[error("invalid device code")]
    InvalidDeviceCode,
    /// On-behalf-of: the assertion is not a user's access token this cluster issued to the caller.
    #[error("invalid on-behalf-of assertion")]
    OboAssertionInvalid { reason: &'static str },
    /// On-behalf-of: the assertion has expired.
    #[error("on-behalf-of assertion expired")]
    OboAssertionExpired,
    #[error("the directory cannot be reached")]
    Unavailable,
    /// This node is at capacity for this kind of request (admission control): retry shortly.
    #[error("the service is busy")]
    Busy,
    /// This client (or address) sent more requests than its rate limit allows: retry after the wait.
    #[error("too many requests")]
    Throttled { retry_after: std::time::Duration },
    #[error("internal error")]
    Internal,
}

impl CoreError {
    /// The store (or a lock or random source) failed under a request: answered as 503
    /// `temporarily_unavailable`, the cause logged here, since the client is told nothing of it.
    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %cause, "a request met a store failure and is answered 503");
        Self::Unavailable
    }

    pub fn aadsts(&self) -> u32 {
        match self {
            Self::MalformedTenant { .. } => 900023,
            Self::TenantNotFound { .. } | Self::TenantMetadataNotFound { .. } => 90002,
            Self::NoTenantForClientCredentials => 50059,
            Self::MissingParameter { .. } => 900144,
            Self::Malformed { .. } | Self::BodyTooLarge { .. } | Self::BodyTimeout => 9002313,
            Self::PostOnly { .. } => 900561,
            Self::UnsupportedGrantType { .. } => 70003,
            Self::ClientNotFound { .. } => 700016,
            Self::ClientDisabled { .. } => 7000112,
            Self::MissingClientCredential => 7000218,
            Self::InvalidClientSecret { .. } => 7000215,
            Self::ExpiredClientSecret { .. } => 7000222,
            Self::ClientAssertion(f) => f.aadsts(),
            Self::ScopeMissing => 90014,
            Self::ScopeNotDefault { .. } => 1002012,
            Self::ScopeSeveralResources => 70011,
            Self::ResourceParameterOnV2 => 901002,
            Self::ResourceNotFound { .. } => 500011,
            Self::AssignmentRequired { .. } => 501051,
            Self::UserNotAssigned { .. } => 50105,
            Self::InvalidScope { .. } => 70011,
            Self::ConsentRequired { .. } => 65001,
            Self::SignIn(e) => e.aadsts(),
            Self::GrantNeedsTenant => 9001023,
            Self::InvalidRefreshToken => 70000,
            Self::RefreshTokenExpired { spa: false } => 700082,
            Self::RefreshTokenExpired { spa: true } => 700084,
            Self::RefreshTokenRevoked => 50173,
            Self::RedirectUriMismatch { .. } => 50011,
            Self::NoRedirectUri { .. } => 500113,
            Self::InvalidAuthorizeParameter { .. } => 90023,
            Self::UnsupportedResponseType { .. } => 70005,
            Self::ResponseTypeNotEnabled { .. } => 700054,
            Self::PkceRequired => 9002325,
            Self::LoginRequired => 50058,
            Self::ConsentDeclined => 65004,
            Self::AdminConsentRequired { .. } => 90094,
            Self::FlowExpired => 50089,
            Self::InvalidCode => 70000,
            Self::CodeExpired => 70008,
            Self::CodeRedeemed => 54005,
            Self::CodeRedirectUriMismatch => 500112,
            Self::PkceMismatch => 50148,
            Self::SpaNeedsOrigin => 9002327,
            Self::CrossOriginNotSpa => 9002326,
            Self::AuthorizationPending | Self::SlowDown => 70016,
            Self::DeviceCodeExpired => 70020,
            Self::DeviceDeclined => 70019,
            Self::InvalidDeviceCode => 70000,
            Self::OboAssertionInvalid { .. } => 50013,
            Self::OboAssertionExpired => 500133,
            Self::Unavailable | Self::Busy => 90033,
            Self::Throttled { .. } => 90055,
            Self::Internal => 90100,
        }
    }

    pub fn oauth_error(&self) -> OAuthError {
        match self {
            Self::MalformedTenant { .. }
            | Self::TenantNotFound { .. }
            | Self::NoTenantForClientCredentials
            | Self::MissingParameter { .. }
            | Self::Malformed { .. }
            | Self::BodyTooLarge { .. }
            | Self::BodyTimeout
            | Self::PostOnly { .. }
            | Self::ScopeMissing
            | Self::ResourceParameterOnV2 => OAuthError::InvalidRequest,
            Self::TenantMetadataNotFound { .. } => OAuthError::InvalidTenant,
            Self::UnsupportedGrantType { .. } => OAuthError::UnsupportedGrantType,
            Self::ClientNotFound { .. } | Self::ClientDisabled { .. } => OAuthError::UnauthorizedClient,
            Self::MissingClientCredential
            | Self::InvalidClientSecret { .. }
            | Self::ExpiredClientSecret { .. }
            | Self::ClientAssertion(_) => OAuthError::InvalidClient,
            Self::ScopeNotDefault { .. } | Self::ScopeSeveralResources | Self::InvalidScope { .. } => {
                OAuthError::InvalidScope
            }
            Self::ResourceNotFound { .. } => OAuthError::InvalidResource,
            Self::SignIn(SignInError::Unavailable) => OAuthError::TemporarilyUnavailable,
            Self::GrantNeedsTenant
            | Self::RedirectUriMismatch { .. }
            | Self::NoRedirectUri { .. }
            | Self::InvalidAuthorizeParameter { .. }
            | Self::PkceRequired
            | Self::FlowExpired
            | Self::SpaNeedsOrigin
            | Self::CrossOriginNotSpa => OAuthError::InvalidRequest,
            Self::UnsupportedResponseType { .. } | Self::ResponseTypeNotEnabled { .. } => {
                OAuthError::UnsupportedResponseType
            }
            Self::LoginRequired => OAuthError::LoginRequired,
            Self::ConsentDeclined => OAuthError::AccessDenied,
            Self::AdminConsentRequired { .. } => OAuthError::ConsentRequired,
            Self::InvalidCode
            | Self::CodeExpired
            | Self::CodeRedeemed
            | Self::CodeRedirectUriMismatch
            | Self::PkceMismatch
            | Self::InvalidDeviceCode
            | Self::OboAssertionInvalid { .. }
            | Self::OboAssertionExpired => OAuthError::InvalidGrant,
            Self::AuthorizationPending => OAuthError::AuthorizationPending,
            Self::SlowDown => OAuthError::SlowDown,
            Self::DeviceCodeExpired => OAuthError::ExpiredToken,
            Self::DeviceDeclined => OAuthError::AuthorizationDeclined,
            Self::AssignmentRequired { .. }
            | Self::UserNotAssigned { .. }
            | Self::ConsentRequired { .. }
            | Self::SignIn(_)
            | Self::InvalidRefreshToken
            | Self::RefreshTokenExpired { .. }
            | Self::RefreshTokenRevoked => OAuthError::InvalidGrant,
            Self::Unavailable | Self::Busy | Self::Throttled { .. } => OAuthError::TemporarilyUnavailable,
            Self::Internal => OAuthError::ServerError,
        }
    }

    /// The message after `AADSTS{code}: `, in Entra's words where a source gives them.
    pub fn message(&self) -> String {
        match self {
            Self::MalformedTenant { tenant } => format!(
                "Specified tenant identifier '{tenant}' is neither a valid DNS name, nor a valid external domain."
            ),
            Self::TenantNotFound { tenant } | Self::TenantMetadataNotFound { tenant } => format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
            ),
            Self::NoTenantForClientCredentials => "No tenant-identifying information found in either the request or implied by any provided credentials.".into(),
            Self::MissingParameter { name } => {
                format!("The request body must contain the following parameter: '{name}'.")
            }
            Self::Malformed { detail } => format!("Request is malformed or invalid: {detail}"),
            Self::BodyTimeout => {
                "Request is malformed or invalid: the body did not arrive in time.".into()
            }
            Self::BodyTooLarge { limit } => {
                format!("Request is malformed or invalid: the body is larger than {limit} bytes.")
            }
            Self::PostOnly { method } => {
                format!("The endpoint only accepts POST requests. Received a {method} request.")
            }
            Self::UnsupportedGrantType { grant_type } => {
                format!("The app requested an unsupported grant type '{grant_type}'.")
            }
            Self::ClientNotFound { client_id, tenant } => format!(
                "Application with identifier '{client_id}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
            Self::ClientDisabled { client_id } => {
                format!("Application '{client_id}' is disabled.")
            }
            Self::MissingClientCredential => {
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.".into()
            }
            Self::InvalidClientSecret { client_id } => format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
            ),
            Self::ExpiredClientSecret { client_id } => format!(
                "The provided client secret keys for app '{client_id}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds."
            ),
            Self::ClientAssertion(f) => f.message(),
            Self::ScopeMissing => "The required field 'scope' is missing from the credential. Ensure that you have all the necessary parameters for the login request.".into(),
            Self::ScopeNotDefault { scope } => format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
            Self::ScopeSeveralResources => "The provided value for the input parameter 'scope' isn't valid. The scope names more than one resource.".into(),
            Self::ResourceParameterOnV2 => "The 'resource' request parameter isn't supported.".into(),
            Self::ResourceNotFound { resource, tenant } => format!(
                "The resource principal named {resource} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
            ),
            Self::AssignmentRequired { client_id, resource } => format!(
                "Application '{client_id}' is not assigned to a role for the application '{resource}'."
            ),
            Self::UserNotAssigned { app_name } => format!(
                "Your administrator has configured the application {app_name} to block users unless they are specifically granted ('assigned') access to the application. The signed in user is blocked because they are not a direct member of a group with access, nor had access directly assigned by an administrator."
            ),
            Self::InvalidScope { scope } => format!(
                "The provided value for the input parameter 'scope' isn't valid. The scope {scope} isn't valid."
            ),
            Self::ConsentRequired { client_id, scope } => format!(
                "The user or administrator has not consented to use the application with ID '{client_id}' for the scope '{scope}'. Send an interactive authorization request for this user and resource."
            ),
            Self::SignIn(e) => e.to_string(),
            Self::GrantNeedsTenant => "The grant type isn't supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.".into(),
            Self::InvalidRefreshToken => "The provided value for the 'refresh_token' parameter is not valid.".into(),
            Self::RefreshTokenExpired { spa: false } => "The refresh token has expired due to inactivity or reached the end of its lifetime. Send a new interactive authorization request for this user and resource.".into(),
            Self::RefreshTokenExpired { spa: true } => "The refresh token was issued to a single page app (SPA), and therefore has a fixed, limited lifetime of 1.00:00:00, which cannot be extended. It is now expired and a new sign in request must be sent by the SPA to the sign in page.".into(),
            Self::RefreshTokenRevoked => "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password, signed out, or the grant was used twice.".into(),
            Self::RedirectUriMismatch { redirect_uri, client_id } => format!(
                "The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application '{client_id}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal."
            ),
            Self::NoRedirectUri { client_id } => format!("No reply address is registered for the application '{client_id}'."),
            Self::InvalidAuthorizeParameter { name } => format!("The provided value for the input parameter '{name}' is not valid."),
            Self::UnsupportedResponseType { response_type } => format!(
                "The provided value for the input parameter 'response_type' is not allowed for this request. Expected value is 'code', 'id_token' or 'code id_token', but received '{response_type}'."
            ),
            Self::ResponseTypeNotEnabled { response_type } => format!(
                "response_type '{response_type}' is not enabled for the application."
            ),
            Self::PkceRequired => "Proof Key for Code Exchange is required for cross-origin authorization code redemption and for public clients. Send a code_challenge.".into(),
            Self::LoginRequired => "The user needs to sign in, and prompt=none forbids showing a sign-in page.".into(),
            Self::ConsentDeclined => "The resource owner or authorization server denied the request.".into(),
            Self::AdminConsentRequired { client_id } => format!(
                "The application '{client_id}' needs permissions that only an administrator can grant. Ask an administrator to grant consent for this application."
            ),
            Self::FlowExpired => "The sign-in took too long or its state is not valid. Start the sign-in again from the application.".into(),
            Self::InvalidCode => "The provided value for the 'code' parameter is not valid.".into(),
            Self::CodeExpired => "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.".into(),
            Self::CodeRedeemed => "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.".into(),
            Self::CodeRedirectUriMismatch => "The redirect URI provided in the request does not match the one used to obtain the authorization code.".into(),
            Self::PkceMismatch => "The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.".into(),
            Self::SpaNeedsOrigin => "Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.".into(),
            Self::CrossOriginNotSpa => "Cross-origin token redemption is permitted only for the 'Single-Page Application' client-type.".into(),
            Self::AuthorizationPending => "OAuth 2.0 device flow error. Authorization is pending. Continue polling.".into(),
            Self::SlowDown => "OAuth 2.0 device flow error. Polling too often: wait the interval, plus five seconds, between polls.".into(),
            Self::DeviceCodeExpired => "The provided value for the input parameter 'device_code' is not valid. This device code has expired.".into(),
            Self::DeviceDeclined => "The user declined the sign-in on the device page.".into(),
            Self::InvalidDeviceCode => "The provided value for the input parameter 'device_code' is not valid.".into(),
            Self::OboAssertionInvalid { reason } => format!("Assertion failed signature validation. [Reason - {reason}]"),
            Self::OboAssertionExpired => "Assertion is not within its valid time range. Ensure that the access token is not expired before using it for user assertion, or request a new token.".into(),
            Self::Unavailable => "The directory is temporarily unavailable. Retry the request.".into(),
            Self::Busy => "A transient error has occurred: the service is busy. Retry the request after the time in Retry-After.".into(),
            Self::Throttled { .. } => "There are too many incoming requests. Retry the request after the time in Retry-After.".into(),
            Self::Internal => "An internal error occurred.".into(),
        }
    }

    /// The `error` an authorization response carries (RFC 6749 §4.1.2.1, OIDC Core §3.1.2.6): the
    /// token endpoint's value, except where consent or a sign-in is what is missing.
    pub fn authorize_error(&self) -> &'static str {
        match self {
            Self::ConsentRequired { .. } | Self::AdminConsentRequired { .. } => "consent_required",
            Self::UserNotAssigned { .. } => "access_denied",
            e => e.oauth_error().as_str(),
        }
    }

    /// Entra's `suberror`, which MSAL reads to decide whether to show the user a sign-in.
    pub fn suberror(&self) -> Option<&'static str> {
        match self {
            Self::ConsentRequired { .. } => Some("consent_required"),
            Self::SignIn(SignInError::PasswordChangeRequired) => Some("user_password_expired"),
            Self::RefreshTokenExpired { .. } | Self::RefreshTokenRevoked => Some("bad_token"),
            _ => None,
        }
    }
}

/// Why a `client_assertion` (certificate or federated, entra-protocol.md §2.3, §2.4) was refused.
/// Every one is `invalid_client`, HTTP 401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssertionFailure {
    /// Not a signed JWT Gatehouse can read, an algorithm other than RS256/PS256, or a missing claim.
    Malformed(&'static str),
    NoThumbprint,
    KeyNotFound {
        thumbprint: String,
        app_id: String,
    },
    KeyExpired {
        app_id: String,
    },
    BadSignature,
    /// `iss` or `sub` is not the client id.
    WrongSubject,
    WrongAudience,
    OutsideTimeRange(&'static str),
    /// The `jti` was used before (OIDC Core §9). Entra documents no code; 50013 is its "assertion is
    /// invalid" code.
    Replayed,
    FederatedIssuer {
        issuer: String,
    },
    FederatedAudience,
    FederatedSubject {
        subject: String,
    },
    /// The subject matches a credential only when case is ignored (Entra matches case-sensitively).
    FederatedSubjectCase {
        subject: String,
    },
    /// The external issuer's discovery document or keys could not be fetched.
    ExternalKeysUnavailable {
        issuer: String,
    },
}

impl AssertionFailure {
    pub fn aadsts(&self) -> u32 {
        match self {
            Self::Malformed(_) | Self::NoThumbprint => 50027,
            Self::KeyNotFound { .. } | Self::KeyExpired { .. } | Self::BadSignature => 700027,
            Self::WrongSubject => 700021,
            Self::WrongAudience => 700023,
            Self::OutsideTimeRange(_) => 700024,
            Self::Replayed => 50013,
            Self::FederatedIssuer { .. } => 700211,
            Self::FederatedAudience => 700212,
            Self::FederatedSubject { .. } => 700213,
            Self::FederatedSubjectCase { .. } => 7002138,
            Self::ExternalKeysUnavailable { .. } => 50166,
        }
    }

    pub fn message(&self) -> String {
        const FIC_HINT: &str = "Check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation";
        match self {
            Self::Malformed(detail) => format!("Invalid JWT token. {detail}"),
            Self::NoThumbprint => "Invalid JWT token. No certificate thumbprint specified in token header.".into(),
            Self::KeyNotFound { thumbprint, app_id } => format!(
                "Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '{thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{app_id}'.]"
            ),
            Self::KeyExpired { app_id } => format!(
                "Client assertion contains an invalid signature. [Reason - The key used is expired., Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{app_id}'.]"
            ),
            Self::BadSignature => "Client assertion failed signature validation.".into(),
            Self::WrongSubject => "The client assertion's issuer and subject must both be the client_id.".into(),
            Self::WrongAudience => "Client assertion audience claim does not match Realm issuer.".into(),
            Self::OutsideTimeRange(detail) => {
                format!("Client assertion is not within its valid time range. {detail}")
            }
            Self::Replayed => "The client assertion was already used; its jti cannot be presented twice.".into(),
            Self::FederatedIssuer { issuer } => format!(
                "No matching federated identity record found for presented assertion issuer '{issuer}'. {FIC_HINT}"
            ),
            Self::FederatedAudience => {
                format!("No matching federated identity record found for presented assertion audience. {FIC_HINT}")
            }
            Self::FederatedSubject { subject } => format!(
                "No matching federated identity record found for presented assertion subject '{subject}'. {FIC_HINT}"
            ),
            Self::FederatedSubjectCase { subject } => format!(
                "The presented assertion subject '{subject}' matches a federated identity record only when case is ignored; subjects are case-sensitive. {FIC_HINT}"
            ),
            Self::ExternalKeysUnavailable { issuer } => {
                format!("Request to External OIDC endpoint failed: the keys of issuer '{issuer}' could not be fetched.")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_client_authentication_failure_is_invalid_client() {
        for e in [
            CoreError::MissingClientCredential,
            CoreError::InvalidClientSecret {
                client_id: "a".into(),
            },
            CoreError::ExpiredClientSecret {
                client_id: "a".into(),
            },
        ] {
            assert_eq!(e.oauth_error(), OAuthError::InvalidClient, "{e:?}");
        }
        assert_eq!(
            CoreError::ExpiredClientSecret {
                client_id: "a".into()
            }
            .aadsts(),
            7000222
        );
    }
}

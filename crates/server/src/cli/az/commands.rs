//! The `app` and `sp` command lines, as az names their commands and options.

use clap::{Args, Subcommand};

use crate::cli::output::OutputArgs;

/// `gatehouse app …`: the command and how to print its result.
#[derive(Debug, Args)]
pub struct AppArgs {
    #[command(subcommand)]
    pub command: AppCommand,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `gatehouse sp …`: the command and how to print its result.
#[derive(Debug, Args)]
pub struct SpArgs {
    #[command(subcommand)]
    pub command: SpCommand,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Register an application.
    Create {
        /// The application's name.
        #[arg(long)]
        display_name: String,
        #[command(flatten)]
        properties: AppProperties,
    },
    /// Change an application's properties; each option given replaces that property.
    Update {
        #[command(flatten)]
        id: IdArg,
        /// A new name.
        #[arg(long)]
        display_name: Option<String>,
        #[command(flatten)]
        properties: AppProperties,
    },
    /// List the tenant's applications (every page), optionally filtered.
    List(AppListArgs),
    /// Show one application, by appId, object id or identifier URI.
    Show(IdArg),
    /// Delete an application (and its service principal).
    Delete(IdArg),
    /// Client secrets and certificates.
    #[command(subcommand)]
    Credential(CredentialCommand),
    /// Federated identity credentials (workload identity federation).
    #[command(subcommand)]
    FederatedCredential(FederatedCommand),
    /// API permissions the application requests.
    #[command(subcommand)]
    Permission(PermissionCommand),
}

/// The properties `app create` and `app update` set, as az names them.
#[derive(Debug, Args)]
pub struct AppProperties {
    /// Who may sign in: AzureADMyOrg (this tenant), AzureADMultipleOrgs (any tenant), or the
    /// AzureADandPersonalMicrosoftAccount and PersonalMicrosoftAccount forms.
    #[arg(long)]
    pub sign_in_audience: Option<String>,
    /// Identifier URIs (App ID URIs) such as api://my-api; with no value, none.
    #[arg(long, num_args = 0..)]
    pub identifier_uris: Option<Vec<String>>,
    /// App roles: a JSON array of Graph appRole objects, or @file.json.
    #[arg(long)]
    pub app_roles: Option<String>,
    /// Redirect URIs of the web platform; with no value, none.
    #[arg(long, num_args = 0..)]
    pub web_redirect_uris: Option<Vec<String>>,
    /// The web platform's home page.
    #[arg(long)]
    pub web_home_page_url: Option<String>,
    /// Let /authorize send ID tokens itself (response_type id_token and code id_token): true or false.
    #[arg(long)]
    pub enable_id_token_issuance: Option<bool>,
    /// Redirect URIs of the public-client (mobile and desktop) platform; with no value, none.
    #[arg(long, num_args = 0..)]
    pub public_client_redirect_uris: Option<Vec<String>>,
    /// Redirect URIs of the single-page application platform (codes redeemed cross-origin, with PKCE);
    /// with no value, none.
    #[arg(long, num_args = 0..)]
    pub spa_redirect_uris: Option<Vec<String>>,
    /// Allow public client flows (the password grant and the device code without a credential): true or
    /// false.
    #[arg(long)]
    pub is_fallback_public_client: Option<bool>,
    /// The version of access tokens issued for this API: 1 or 2.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=2))]
    pub requested_access_token_version: Option<u8>,
}

#[derive(Debug, Args)]
pub struct AppListArgs {
    /// Only applications whose name starts with this.
    #[arg(long)]
    pub display_name: Option<String>,
    /// Only the application with this appId.
    #[arg(long)]
    pub app_id: Option<String>,
    /// Only the application with this identifier URI.
    #[arg(long)]
    pub identifier_uri: Option<String>,
    /// An OData filter of your own, such as "startswith(displayName,'api')".
    #[arg(long)]
    pub filter: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum CredentialCommand {
    /// Make a new client secret, replacing the existing ones unless --append, and print it once; or,
    /// with --cert or --create-cert, replace (or --append to) the certificates.
    Reset {
        /// The application: appId, object id or identifier URI.
        #[arg(long)]
        id: String,
        /// Keep the existing credentials of that kind instead of replacing them.
        #[arg(long)]
        append: bool,
        /// A name for the new secret.
        #[arg(long)]
        display_name: Option<String>,
        /// Lifetime in years (default 1).
        #[arg(long, default_value_t = 1)]
        years: i64,
        /// A certificate to register: a PEM or DER file (`@file.pem` or `file.pem`).
        #[arg(long, conflicts_with = "create_cert")]
        cert: Option<String>,
        /// Make a self-signed certificate, register it, and write it with its private key (PEM,
        /// mode 0600) to --cert-file or ./gatehouse-<appId>.pem.
        #[arg(long)]
        create_cert: bool,
        /// Where --create-cert writes the certificate and its key.
        #[arg(long, requires = "create_cert")]
        cert_file: Option<std::path::PathBuf>,
    },
    /// List the client secrets (or, with --cert, the certificates): key ids, hints and dates, never
    /// a secret.
    List {
        /// The application: appId, object id or identifier URI.
        #[arg(long)]
        id: String,
        /// List certificates instead of client secrets.
        #[arg(long)]
        cert: bool,
    },
    /// Delete one client secret (or, with --cert, one certificate) by its key id.
    Delete {
        /// The application: appId, object id or identifier URI.
        #[arg(long)]
        id: String,
        /// The credential's keyId, as `credential list` shows it.
        #[arg(long)]
        key_id: String,
        /// The key id is a certificate's.
        #[arg(long)]
        cert: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum FederatedCommand {
    /// Add one: --parameters '{"name","issuer","subject","audiences"?,"description"?}' or @file.json.
    Create {
        /// The application: appId, object id or identifier URI.
        #[arg(long)]
        id: String,
        /// The credential as JSON, or @file.json.
        #[arg(long)]
        parameters: String,
    },
    /// List the application's federated credentials.
    List {
        /// The application: appId, object id or identifier URI.
        #[arg(long)]
        id: String,
    },
    /// Show one, by id or name.
    Show {
        /// The application: appId, object id or identifier URI.
        #[arg(long)]
        id: String,
        /// The federated credential's id or name.
        #[arg(long)]
        federated_credential_id: String,
    },
    /// Delete one, by id or name.
    Delete {
        /// The application: appId, object id or identifier URI.
        #[arg(long)]
        id: String,
        /// The federated credential's id or name.
        #[arg(long)]
        federated_credential_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PermissionCommand {
    /// Request permissions of an API: --api-permissions ID=Role (application) or ID=Scope (delegated).
    /// Each id must be one of the API's app roles or delegated scopes.
    Add {
        /// The application that requests them: appId, object id or identifier URI.
        #[arg(long)]
        id: String,
        /// The API's appId (00000003-0000-0000-c000-000000000000 for Microsoft Graph).
        #[arg(long)]
        api: String,
        /// One or more ID=Role or ID=Scope.
        #[arg(long, num_args = 1.., required = true)]
        api_permissions: Vec<String>,
    },
    /// The permissions the application requests, per API (requiredResourceAccess).
    List(IdArg),
    /// Stop requesting permissions of an API: all of them, or only the ids --api-permissions names.
    Delete {
        /// The application: appId, object id or identifier URI.
        #[arg(long)]
        id: String,
        /// The API's appId.
        #[arg(long)]
        api: String,
        /// Permission ids to remove (default: every permission of that API).
        #[arg(long, num_args = 1..)]
        api_permissions: Vec<String>,
    },
    /// Grant, as an administrator, every permission the application requests: application
    /// permissions as app role assignments, delegated ones as a grant for every user.
    AdminConsent(IdArg),
    /// Grant delegated permissions (scopes) of an API to the application for every user of the
    /// tenant, replacing its earlier grant for that API, as az does.
    Grant {
        /// The application (or its service principal): appId, object id or name.
        #[arg(long)]
        id: String,
        /// The API: its appId, object id or name.
        #[arg(long)]
        api: String,
        /// Scope values the API offers, such as User.Read.
        #[arg(long, num_args = 1.., required = true)]
        scope: Vec<String>,
    },
    /// The application's delegated permission grants.
    ListGrants(IdArg),
}

#[derive(Debug, Subcommand)]
pub enum SpCommand {
    /// Create the service principal of an application in this tenant.
    Create(IdArg),
    /// List the tenant's service principals (every page), optionally filtered.
    List {
        /// Only service principals whose name starts with this.
        #[arg(long)]
        display_name: Option<String>,
        /// Only the service principal with this name (an appId or identifier URI).
        #[arg(long)]
        spn: Option<String>,
        /// An OData filter of your own, such as "appId eq '…'".
        #[arg(long)]
        filter: Option<String>,
    },
    /// Show one service principal, by its application's appId, its object id, or one of its names.
    Show(IdArg),
    /// Delete a service principal (its role assignments go with it).
    Delete(IdArg),
}

#[derive(Debug, Args)]
pub struct IdArg {
    /// appId, object id or identifier URI.
    #[arg(long)]
    pub id: String,
}

/// `gatehouse user …`: the command and how to print its result.
#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(subcommand)]
    pub command: UserCommand,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user with a password (8 to 256 characters, three of: lower, upper, digit, symbol).
    Create {
        /// The user's name, as shown.
        #[arg(long)]
        display_name: String,
        /// alias@domain, in a verified domain of the tenant.
        #[arg(long)]
        user_principal_name: String,
        /// The password (or GATEHOUSE_USER_PASSWORD).
        #[arg(long, env = "GATEHOUSE_USER_PASSWORD", hide_env_values = true)]
        password: String,
        /// The mail alias (default: the principal name's alias).
        #[arg(long)]
        mail_nickname: Option<String>,
        /// The user must choose a new password at the next sign-in.
        #[arg(long)]
        force_change_password_next_sign_in: bool,
    },
    /// List the tenant's users (every page), optionally filtered.
    List {
        /// Only users whose name starts with this.
        #[arg(long)]
        display_name: Option<String>,
        /// Only the user with this principal name.
        #[arg(long)]
        upn: Option<String>,
        /// An OData filter of your own, such as "startswith(userPrincipalName,'a')".
        #[arg(long)]
        filter: Option<String>,
    },
    /// Show one user, by object id or principal name.
    Show(IdArg),
    /// Change a user: each option given replaces that property.
    Update {
        /// Object id or principal name.
        #[arg(long)]
        id: String,
        /// A new name.
        #[arg(long)]
        display_name: Option<String>,
        /// A new password.
        #[arg(long)]
        password: Option<String>,
        /// Whether the user must choose a new password at the next sign-in.
        #[arg(long)]
        force_change_password_next_sign_in: Option<bool>,
        /// Enable (true) or disable (false) the account.
        #[arg(long)]
        account_enabled: Option<bool>,
        /// A new mail alias.
        #[arg(long)]
        mail_nickname: Option<String>,
    },
    /// Delete a user.
    Delete(IdArg),
}

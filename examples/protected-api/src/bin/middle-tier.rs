//! Runs the middle tier: `middle-tier --authority https://localhost:8443/TENANT/v2.0 --audience
//! MIDDLE_APP_ID --client-id MIDDLE_APP_ID --downstream-scope api://reports/access_as_user
//! --downstream-url http://127.0.0.1:5000/me/reports [--ca-file CA.pem] [--listen 127.0.0.1:5001]`, with
//! its client secret in `MIDDLE_TIER_CLIENT_SECRET` (never on the command line, where `ps` shows it).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use gatehouse_example_api::middle_tier::{self, Downstream};
use gatehouse_validate::RemoteKeys;

#[derive(Parser)]
struct Args {
    /// The tenant's v2 authority: its discovery document names the issuer, keys and token endpoint.
    #[arg(long)]
    authority: String,
    /// The middle tier's appId and identifier URIs, the audiences its callers' tokens may name.
    #[arg(long, required = true)]
    audience: Vec<String>,
    /// The middle tier's application (client) id, for the on-behalf-of exchange.
    #[arg(long)]
    client_id: String,
    /// The downstream permission to ask for on the user's behalf.
    #[arg(long)]
    downstream_scope: String,
    /// The downstream route to call with the exchanged token.
    #[arg(long)]
    downstream_url: String,
    /// A CA certificate to trust for the authority (Gatehouse's local CA).
    #[arg(long)]
    ca_file: Option<PathBuf>,
    #[arg(long, default_value = "127.0.0.1:5001")]
    listen: SocketAddr,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let client_secret = std::env::var("MIDDLE_TIER_CLIENT_SECRET")
        .map_err(|_| "set MIDDLE_TIER_CLIENT_SECRET to the middle tier's client secret")?;
    let ca = args.ca_file.map(std::fs::read).transpose()?;
    let keys = RemoteKeys::discover(&args.authority, ca.as_deref()).await?;
    let issuers = gatehouse_example_api::issuers(keys.issuer(), vec![]);
    let mut http = reqwest::Client::builder().timeout(Duration::from_secs(10));
    if let Some(pem) = &ca {
        http = http.add_root_certificate(reqwest::Certificate::from_pem(pem)?);
    }
    let token_endpoint = format!(
        "{}/oauth2/v2.0/token",
        args.authority.trim_end_matches('/').trim_end_matches("/v2.0")
    );
    let downstream = Downstream {
        token_endpoint,
        client_id: args.client_id,
        client_secret,
        scope: args.downstream_scope,
        url: args.downstream_url,
        http: http.build()?,
    };
    let app = middle_tier::router(Arc::new(keys), issuers, args.audience, downstream);
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

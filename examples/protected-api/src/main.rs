//! Runs the sample API: `gatehouse-example-api --authority https://localhost:8443/TENANT/v2.0
//! --audience API_APP_ID [--audience api://reports] [--ca-file CA.pem] [--listen 127.0.0.1:5000]`.
//! A multi-tenant API names `https://localhost:8443/organizations/v2.0` and, optionally, the tenants
//! it serves (`--tenant ID`, repeated).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Parser;
use gatehouse_validate::RemoteKeys;

#[derive(Parser)]
struct Args {
    /// The tenant's v2 authority, whose discovery document names the issuer and the keys.
    #[arg(long)]
    authority: String,
    /// The API's appId and identifier URIs, the audiences its tokens may name.
    #[arg(long, required = true)]
    audience: Vec<String>,
    /// With a multi-tenant authority (`organizations`): accept tokens of only these tenant ids.
    #[arg(long)]
    tenant: Vec<String>,
    /// A CA certificate to trust for the authority (Gatehouse's local CA).
    #[arg(long)]
    ca_file: Option<PathBuf>,
    #[arg(long, default_value = "127.0.0.1:5000")]
    listen: SocketAddr,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let ca = args.ca_file.map(std::fs::read).transpose()?;
    let keys = RemoteKeys::discover(&args.authority, ca.as_deref()).await?;
    let issuers = gatehouse_example_api::issuers(keys.issuer(), args.tenant);
    let app = gatehouse_example_api::router(Arc::new(keys), issuers, args.audience);
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

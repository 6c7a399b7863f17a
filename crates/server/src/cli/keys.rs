//! `gatehouse keys list` and `gatehouse keys rotate [--emergency]`: the operator's view of the signing
//! keys, run against the store (like `init`), not over HTTP. Running nodes see a rotation through
//! their watchers within a second.

use clap::{Args, Subcommand};
use gatehouse_core::keys::{self, KeyRing};
use gatehouse_core::store::Rotation;
use gatehouse_proto::timefmt::graph_datetime;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::{KeyScheduleArgs, StoreArgs};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Every signing key with its state (pending, active, retiring, retired) and activation time.
    List(KeysArgs),
    /// Start a rotation now: a new key is published at once and signs after the pre-publication
    /// period. With --emergency it signs at once and every other key is dropped: tokens they signed
    /// stop verifying everywhere.
    Rotate {
        #[command(flatten)]
        args: KeysArgs,
        /// The new key signs at once and every other key is dropped (for a leaked key).
        #[arg(long)]
        emergency: bool,
    },
}

#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub schedule: KeyScheduleArgs,
}

pub async fn run(cmd: KeysCommand) -> Result<Value, String> {
    let (args, rotate) = match &cmd {
        KeysCommand::List(a) => (a, None),
        KeysCommand::Rotate { args, emergency } => (args, Some(*emergency)),
    };
    let settings = args.store.settings();
    let store = args.store.open().await?;
    let kek = crate::settings::load_kek(&settings.data_dir)?;
    let now = OffsetDateTime::now_utc();
    let result = match rotate {
        None => list(store.as_ref(), &kek, now).await,
        Some(emergency) => {
            let (kid, outcome) = keys::rotate(store.as_ref(), &kek, &args.schedule.policy(), emergency, now)
                .await
                .map_err(|e| e.to_string())?;
            let listed = list(store.as_ref(), &kek, now).await?;
            Ok(json!({
                "kid": kid,
                "added": outcome == Rotation::Added,
                "keys": listed,
            }))
        }
    };
    store.close().await;
    result
}

async fn list(
    store: &dyn gatehouse_core::store::Store,
    kek: &gatehouse_jose::kek::Kek,
    now: OffsetDateTime,
) -> Result<Value, String> {
    let rows = store.list_keys().await.map_err(|e| e.to_string())?;
    let ring = KeyRing::build(&rows, kek, &KeyRing::default());
    let mut out: Vec<Value> = ring
        .states(now)
        .map(|(k, state)| {
            json!({
                "kid": k.key.kid(),
                "state": state,
                "activatesAt": graph_datetime(k.activates),
            })
        })
        .collect();
    out.extend(
        ring.unreadable
            .iter()
            .map(|kid| json!({"kid": kid, "state": "unreadable"})),
    );
    Ok(Value::Array(out))
}

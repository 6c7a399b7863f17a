//! The Graph API verifies tokens with this node's published keys, read from the directory, so a
//! rotation the watcher has seen is seen here too.

use std::sync::Arc;

use gatehouse_core::Directory;
use gatehouse_validate::{KeyFuture, KeySource};

pub struct DirectoryKeys(pub Arc<Directory>);

impl KeySource for DirectoryKeys {
    fn key<'a>(&'a self, kid: &'a str) -> KeyFuture<'a> {
        let found = self
            .0
            .keys()
            .published(time::OffsetDateTime::now_utc())
            .find(|k| k.kid() == kid)
            .map(|k| k.public_jwk(None));
        Box::pin(async move { Ok(found) })
    }
}

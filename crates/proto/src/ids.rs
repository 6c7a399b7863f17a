//! The ids of Entra's vocabulary as distinct types, so that a tenant id, an object id and an appId
//! (which is also the client id) cannot be passed for one another. Each is a GUID on the wire.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! guid_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh random id.
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }

            /// The id a GUID string names, in any of its forms.
            pub fn parse(s: &str) -> Option<Self> {
                Uuid::parse_str(s).ok().map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }
    };
}

guid_type!(
    /// A tenant's id: the `tid` claim and the `{tenant}` of its endpoints.
    TenantId
);
guid_type!(
    /// The id of a directory object (an application object, a service principal, a user): Graph's `id`.
    ObjectId
);
guid_type!(
    /// An application's `appId`: its client id, shared by its application object and its service
    /// principals in every tenant.
    AppId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_guids_on_the_wire() {
        let id = AppId::new();
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{id}\""));
        assert_eq!(AppId::parse(&id.to_string()), Some(id));
        assert_eq!(TenantId::parse("not-a-guid"), None);
    }
}

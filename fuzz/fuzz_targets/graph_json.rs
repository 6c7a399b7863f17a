//! A Graph request body for `POST /v1.0/applications`: Graph's JSON read into the input type, then
//! every rule a create checks without the store.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(input) = serde_json::from_slice::<gatehouse_proto::graph::ApplicationInput>(data) {
        let now = time::OffsetDateTime::UNIX_EPOCH;
        let _ = gatehouse_core::admin::applications::proposed(input, None, now);
    }
});

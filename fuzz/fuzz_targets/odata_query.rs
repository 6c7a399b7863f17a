//! Graph's OData query options (`$filter`, `$select`, `$top`, `$orderby`, `$count`, `$skiptoken`) on
//! `/v1.0/applications`, parsed and applied to a few applications; and the same text as the audit
//! logs' query options.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let now = time::OffsetDateTime::UNIX_EPOCH;
        let items = ["alpha", "beta", "gamma"]
            .iter()
            .map(|name| gatehouse_core::admin::applications::new_application(name, None, now))
            .collect();
        gatehouse_server::routes::graph::fuzz_query(text, items);
    }
});

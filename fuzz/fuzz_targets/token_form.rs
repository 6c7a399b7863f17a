//! The token endpoint's body: a form, read into core's typed request (every grant's parameters and
//! the client's authentication); and the same bytes as a managed-identity request's query.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        gatehouse_server::routes::identity::fuzz_query(text);
    }
    let pairs = url::form_urlencoded::parse(data).into_owned().collect();
    if let Ok(form) = gatehouse_proto::token::TokenForm::from_pairs(pairs) {
        if let Ok(req) = gatehouse_core::flows::TokenRequest::parse(form, None) {
            let _ = (req.client_id(), req.grant_name());
        }
    }
});

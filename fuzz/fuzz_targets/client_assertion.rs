//! A client assertion (`client_assertion`, RFC 7523): the JWS and the claims core reads from it.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = gatehouse_core::flows::assertion::ClientAssertion::parse(text);
    }
});

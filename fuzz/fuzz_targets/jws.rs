//! A compact JWS as any bearer token or assertion arrives: header, payload and signature segments.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = gatehouse_jose::ParsedJws::parse(text);
    }
});

#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| tokenctl_fuzz::harness::callback_request(data));

//! Queue messages are untrusted bytes: decoding must never panic, and what
//! decodes must survive a round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loghaul_model::codec;

fuzz_target!(|data: &[u8]| {
    let _ = codec::peek(data);
    if let Ok(batch) = codec::decode_raw_batch(data) {
        let again = codec::decode_raw_batch(&codec::encode_raw_batch(&batch));
        assert_eq!(again.as_ref(), Ok(&batch));
    }
    if let Ok(batch) = codec::decode_event_batch(data) {
        let again = codec::decode_event_batch(&codec::encode_event_batch(&batch));
        assert_eq!(again.as_ref(), Ok(&batch));
    }
});

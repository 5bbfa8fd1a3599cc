//! The timestamp scanner reads raw bytes at every record's start: it must
//! never panic, never claim more bytes than it was given, and resolve any
//! stamp against any reference time without overflow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loghaul_parser::timestamp::{self, Strftime, Zone};

fuzz_target!(|data: &[u8]| {
    if let Some((stamp, used)) = timestamp::scan(data) {
        assert!(used > 0 && used <= data.len());
        for reference in [0, i64::MIN, i64::MAX, 1_795_334_400_000_000_000] {
            let _ = stamp.resolve(&Zone::Utc, reference);
            let _ = stamp.resolve(&Zone::Fixed(-50_400), reference);
        }
    }
    if let Some(split) = data.iter().position(|byte| *byte == 0) {
        let (format, input) = (&data[..split], &data[split + 1..]);
        if let (Ok(format), Ok(input)) = (std::str::from_utf8(format), std::str::from_utf8(input))
            && let Ok(layout) = Strftime::new(format)
            && let Some(stamp) = layout.parse(input)
        {
            let _ = stamp.resolve(&Zone::Utc, 0);
        }
    }
});

//! What every parser test file checks beside its own assertions.

use loghaul_model::{Event, EventBatch, RawBatch, codec};
use loghaul_parser::Parser;

/// `parse_batch`, after checking that the worker's `parse_batch_encoded`
/// writes exactly the bytes of encoding its events (on a twin, so both
/// start from the same detection state).
pub(crate) fn parse_checked(parser: &mut Parser, batch: &RawBatch) -> Vec<Event> {
    let mut twin = parser.clone();
    let events = parser.parse_batch(batch);
    let encoded = twin.parse_batch_encoded(batch);
    assert_eq!(
        encoded.payload,
        codec::encode_event_batch(&EventBatch {
            events: events.clone()
        }),
        "parse_batch_encoded differs from encoding parse_batch"
    );
    assert_eq!(encoded.events, events.len());
    assert_eq!(
        encoded.parse_errors,
        events
            .iter()
            .filter(|event| event.parse_error.is_some())
            .count()
    );
    events
}

//! The allocator every loghaul binary uses, mimalloc, and its purge delay.
//!
//! The workspace forbids unsafe code; setting a mimalloc option is a call
//! into C, so it lives here, alone.

/// The global allocator to declare in a binary.
pub use mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` in its version 3 option list (version
/// 2 numbers it 16); the test below checks the number by its default.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long mimalloc waits before handing freed memory back, in ms.
pub fn purge_delay_ms() -> std::os::raw::c_long {
    // SAFETY: reads one of mimalloc's options; any thread, any time.
    unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) }
}

/// Hands freed memory back to the system 1 ms after it is freed rather than
/// after mimalloc 3's default of one second. Indexing and the disk queue
/// free and reallocate large buffers at a pace that kept tens of MiB
/// resident for nothing: on `bench compare` (400 MiB access log, `run` on
/// the disk queue) peak RSS was 283 MiB with the default and 222 MiB with
/// 1 ms; the shipper on its disk queue, 66 MiB and 39 MiB (0 ms).
///
/// `MIMALLOC_PURGE_DELAY` in the environment, which mimalloc reads itself,
/// is left to stand.
pub fn return_freed_memory_promptly() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: stores one of mimalloc's options, which it allows at any
    // time from any thread.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 1) };
}

#[cfg(test)]
mod tests {
    /// The option number is the purge delay's: its default is 1000 ms. A
    /// mimalloc whose option list moved fails here, before it is shipped.
    #[test]
    fn the_option_set_is_the_purge_delay() {
        assert_eq!(super::purge_delay_ms(), 1000);
        super::return_freed_memory_promptly();
        assert_eq!(super::purge_delay_ms(), 1);
    }
}

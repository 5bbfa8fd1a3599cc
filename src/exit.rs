//! Maps errors to the exit codes `--help` documents.

/// Bad input: the caller can fix it by changing what they passed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct BadInput(pub(crate) String);

/// 2 for bad input (an invalid config, a missing path), 1 for anything else.
pub(crate) fn code_for(error: &anyhow::Error) -> u8 {
    let bad_input = error.chain().any(|cause| {
        cause
            .downcast_ref::<loghaul_config::ConfigError>()
            .is_some()
            || cause.downcast_ref::<BadInput>().is_some()
    });
    if bad_input { 2 } else { 1 }
}

//! Signals are read here and nowhere else: Ctrl-C or SIGTERM cancels the
//! token that every role was given.

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// A token cancelled on the first Ctrl-C or SIGTERM.
pub(crate) fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        info!("stop requested; draining");
        cancel.cancel();
    });
    token
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = ctrl_c => {}
                _ = terminate.recv() => {}
            }
        }
        Err(error) => {
            warn!(%error, "cannot listen for SIGTERM; Ctrl-C still stops loghaul");
            let _ = ctrl_c.await;
        }
    }
}

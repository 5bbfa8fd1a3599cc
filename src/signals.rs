//! Signals are read here and nowhere else: Ctrl-C or SIGTERM cancels the
//! token that every role was given.

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// A token cancelled on the first Ctrl-C or SIGTERM.
///
/// The handlers are installed before this returns, so a signal that comes
/// right after start-up drains instead of killing the process.
pub(crate) fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    let terminate = signal(SignalKind::terminate());
    let interrupt = signal(SignalKind::interrupt());
    tokio::spawn(async move {
        match (terminate, interrupt) {
            (Ok(mut terminate), Ok(mut interrupt)) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = interrupt.recv() => {}
                }
            }
            (Ok(mut only), Err(error)) | (Err(error), Ok(mut only)) => {
                warn!(%error, "listening for only one of SIGTERM and Ctrl-C");
                only.recv().await;
            }
            (Err(error), Err(_)) => {
                warn!(%error, "cannot listen for signals; stop loghaul with SIGKILL");
                std::future::pending::<()>().await;
            }
        }
        info!("stop requested; draining");
        cancel.cancel();
    });
    token
}

/// What can go wrong on the queue.
#[derive(Debug, Clone, thiserror::Error)]
pub enum QueueError {
    /// The broker cannot be reached or the connection broke.
    #[error("broker connection failed: {0}")]
    Connection(String),
    /// The broker refused the publish because the queue is at its limit
    /// (`reject-publish`); nothing was dropped, try again later.
    #[error("queue {queue} is full: the publish was refused, nothing was dropped")]
    Full {
        /// The queue.
        queue: String,
    },
    /// The batch alone exceeds the queue's byte budget and can never fit.
    #[error("a batch of {bytes} bytes exceeds the byte budget of {budget} bytes")]
    TooLarge {
        /// The batch size.
        bytes: usize,
        /// The budget.
        budget: usize,
    },
    /// No queue is bound for the route (a message would have been dropped).
    #[error("no queue is bound for {route}: the message was not stored")]
    NoRoute {
        /// The route.
        route: String,
    },
    /// The broker did not confirm in time.
    #[error("the broker did not confirm within {seconds:.1}s")]
    ConfirmTimeout {
        /// The limit.
        seconds: f64,
    },
    /// The broker refused an operation (wrong arguments, permissions…).
    #[error("the broker refused: {0}")]
    Refused(String),
}

impl QueueError {
    /// Whether trying the same operation again later can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            QueueError::Connection(_) | QueueError::Full { .. } | QueueError::ConfirmTimeout { .. }
        )
    }
}

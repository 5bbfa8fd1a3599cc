use std::fmt;
use std::time::Duration;

use loghaul_config::QueueConfig;

/// Where a message goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    /// `<prefix>.raw`: raw batches, consumed by every parser.
    Raw,
    /// `<prefix>.events.<k>`: events for indexer shard k.
    Events(u32),
    /// `<prefix>.dead`: messages that could not be decoded.
    Dead,
}

impl fmt::Display for Route {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Route::Raw => formatter.write_str("raw"),
            Route::Events(shard) => write!(formatter, "events shard {shard}"),
            Route::Dead => formatter.write_str("dead letters"),
        }
    }
}

/// The header that carries why a message was dead-lettered.
pub const DEAD_LETTER_REASON_HEADER: &str = "x-loghaul-reason";

/// The header that names the queue a dead letter came from, as
/// [`Route::key`] writes it: where `loghaul dead replay` sends it back.
pub const DEAD_LETTER_ORIGIN_HEADER: &str = "x-loghaul-origin";

impl Route {
    /// A short stable name: `raw`, `events.<k>` or `dead`.
    pub fn key(&self) -> String {
        match self {
            Route::Raw => "raw".into(),
            Route::Events(shard) => format!("events.{shard}"),
            Route::Dead => "dead".into(),
        }
    }

    /// Reads back what [`Route::key`] wrote.
    pub fn from_key(key: &str) -> Option<Route> {
        match key {
            "raw" => Some(Route::Raw),
            "dead" => Some(Route::Dead),
            _ => key.strip_prefix("events.")?.parse().ok().map(Route::Events),
        }
    }
}

/// Names and limits of the queues, shared by both backends.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueSettings {
    /// Prefix of every exchange and queue.
    pub prefix: String,
    /// Number of event shards.
    pub shards: u32,
    /// Unacknowledged deliveries per consumer.
    pub prefetch: u16,
    /// Maximum messages per queue.
    pub max_length: Option<u64>,
    /// Maximum bytes per queue.
    pub max_length_bytes: Option<u64>,
    /// The memory backend's total byte budget.
    pub memory_max_bytes: u64,
    /// How long to wait for publisher confirms.
    pub confirm_timeout: Duration,
    /// First reconnection delay.
    pub reconnect_min: Duration,
    /// Longest reconnection delay.
    pub reconnect_max: Duration,
}

impl QueueSettings {
    /// Settings from the `[queue]` section.
    pub fn from_config(config: &QueueConfig) -> Self {
        QueueSettings {
            prefix: config.prefix.clone(),
            shards: config.shards,
            prefetch: config.prefetch,
            max_length: config.max_length,
            max_length_bytes: config.max_length_bytes.map(|size| size.bytes()),
            memory_max_bytes: config.memory_max_bytes.bytes(),
            confirm_timeout: config.confirm_timeout.0,
            reconnect_min: config.reconnect_min.0,
            reconnect_max: config.reconnect_max.0,
        }
    }

    /// The defaults of `[queue]` with another prefix, for tests.
    pub fn with_prefix(prefix: impl Into<String>) -> Self {
        let mut settings = QueueSettings::from_config(&QueueConfig::default());
        settings.prefix = prefix.into();
        settings
    }

    /// The queue a route leads to.
    pub fn queue_name(&self, route: Route) -> String {
        match route {
            Route::Raw => format!("{}.raw", self.prefix),
            Route::Events(shard) => format!("{}.events.{shard}", self.prefix),
            Route::Dead => format!("{}.dead", self.prefix),
        }
    }

    /// The AMQP exchange and routing key of a route.
    pub fn exchange_and_key(&self, route: Route) -> (String, String) {
        match route {
            Route::Raw => (format!("{}.raw", self.prefix), "raw".into()),
            Route::Events(shard) => (format!("{}.events", self.prefix), shard.to_string()),
            Route::Dead => (format!("{}.dead", self.prefix), String::new()),
        }
    }

    /// Every route that has a queue.
    pub fn routes(&self) -> Vec<Route> {
        let mut routes = vec![Route::Raw, Route::Dead];
        routes.extend((0..self.shards).map(Route::Events));
        routes
    }
}

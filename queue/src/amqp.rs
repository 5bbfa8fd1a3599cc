//! RabbitMQ over AMQP 0-9-1 with lapin.
//!
//! Each publisher and consumer owns its connection, so a broken one is
//! replaced without touching the others. Every (re)connection declares the
//! topology again, which is idempotent:
//!
//! - exchanges `<prefix>.raw` and `<prefix>.events` (direct) and
//!   `<prefix>.dead` (fanout), all durable;
//! - quorum queues `<prefix>.raw`, `<prefix>.events.<k>` and `<prefix>.dead`,
//!   with `x-overflow = reject-publish` so a length limit (from arguments or a
//!   policy) refuses new messages instead of dropping old ones, and a
//!   dead-letter exchange for messages the broker gives up on.
//!
//! Publishing is mandatory and persistent with publisher confirms. When the
//! connection breaks before every confirm has arrived, the whole batch is
//! published again on a new connection after a backoff: a message may arrive
//! twice (the event id deduplicates it downstream), never zero times.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::StreamExt;
use futures_util::future::join_all;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions,
    QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::protocol::{AMQPErrorKind, AMQPHardError, AMQPSoftError};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ErrorKind,
    ExchangeKind,
};
use loghaul_durable::Backoff;
use tracing::{debug, warn};

use crate::{
    AckTag, Broker, Consumer, DEAD_LETTER_ORIGIN_HEADER, DEAD_LETTER_REASON_HEADER, Delivery,
    Headers, Message, Publisher, QueueError, QueueSettings, Route,
};

/// A RabbitMQ broker at one URL.
#[derive(Clone)]
pub struct AmqpBroker {
    url: String,
    settings: QueueSettings,
}

impl AmqpBroker {
    /// A broker at `url` (`amqp://` or `amqps://`). Nothing connects until a
    /// publisher or consumer is used.
    pub fn new(url: &str, settings: QueueSettings) -> Self {
        AmqpBroker {
            url: url.to_owned(),
            settings,
        }
    }

    /// Connects once and declares the topology: a start-up check.
    pub async fn check(&self) -> Result<(), QueueError> {
        let (connection, _channel) = self.open("check").await?;
        let _ = connection.close(200, "check done".into()).await;
        Ok(())
    }

    /// Up to `limit` messages of the dead-letter queue, oldest first, and how
    /// many it holds. They stay in the queue: each is fetched unacknowledged
    /// and all go back, in their order, when the channel closes. (On
    /// RabbitMQ 4, a quorum queue counts that return against its delivery
    /// limit.)
    pub async fn dead_letters(&self, limit: usize) -> Result<(Vec<DeadLetter>, u64), QueueError> {
        let (connection, channel) = self.open("dead-ls").await?;
        let result = fetch_dead(&channel, &self.settings, limit).await;
        let _ = channel.close(200, "listed".into()).await;
        let _ = connection.close(200, "listed".into()).await;
        result.map(|(letters, held)| {
            (
                letters.into_iter().map(|(letter, _)| letter).collect(),
                held,
            )
        })
    }

    /// Takes the dead letters `chosen` picks (at most `limit` are looked at):
    /// with `replay`, each is published to the queue it came from (its
    /// origin header, else its envelope's kind) and then acknowledged;
    /// without, it is only acknowledged (purged). The rest go back. Returns
    /// what was taken.
    pub async fn take_dead_letters(
        &self,
        limit: usize,
        chosen: &dyn Fn(&DeadLetter) -> bool,
        replay: bool,
    ) -> Result<Vec<DeadLetter>, QueueError> {
        let (connection, channel) = self.open("dead-take").await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(classify)?;
        let result = async {
            let (letters, _) = fetch_dead(&channel, &self.settings, limit).await?;
            let mut taken = Vec::new();
            for (letter, tag) in letters {
                if !chosen(&letter) {
                    continue;
                }
                if replay {
                    let route = letter.origin(&self.settings).ok_or_else(|| {
                        QueueError::Refused(format!(
                            "dead letter {} names no queue to go back to",
                            letter.id
                        ))
                    })?;
                    let mut headers = letter.headers.clone();
                    headers.remove(DEAD_LETTER_REASON_HEADER);
                    headers.remove(DEAD_LETTER_ORIGIN_HEADER);
                    let message = Message {
                        payload: letter.payload.clone(),
                        headers,
                    };
                    match publish_once(&channel, &self.settings, route, &[message]).await {
                        Attempt::Done => {}
                        Attempt::Final(error) | Attempt::Broken(error) => return Err(error),
                    }
                }
                channel
                    .basic_ack(tag, BasicAckOptions::default())
                    .await
                    .map_err(classify)?;
                taken.push(letter);
            }
            Ok(taken)
        }
        .await;
        let _ = channel.close(200, "taken".into()).await;
        let _ = connection.close(200, "taken".into()).await;
        result
    }

    async fn open(&self, role: &str) -> Result<(Connection, Channel), QueueError> {
        let properties = ConnectionProperties::default()
            .with_connection_name(format!("loghaul-{role}").as_str().into());
        let connection = Connection::connect(&self.url, properties)
            .await
            .map_err(classify)?;
        let channel = connection.create_channel().await.map_err(classify)?;
        declare_topology(&channel, &self.settings)
            .await
            .map_err(classify)?;
        Ok((connection, channel))
    }
}

fn durable_exchange() -> ExchangeDeclareOptions {
    ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    }
}

fn queue_arguments(settings: &QueueSettings, route: Route) -> FieldTable {
    let mut arguments = FieldTable::default();
    arguments.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    arguments.insert(
        "x-overflow".into(),
        AMQPValue::LongString("reject-publish".into()),
    );
    if route != Route::Dead {
        let (dead_exchange, _) = settings.exchange_and_key(Route::Dead);
        arguments.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(dead_exchange.as_str().into()),
        );
    }
    if let Some(max) = settings.max_length {
        arguments.insert(
            "x-max-length".into(),
            AMQPValue::LongLongInt(max.min(i64::MAX as u64) as i64),
        );
    }
    if let Some(max) = settings.max_length_bytes {
        arguments.insert(
            "x-max-length-bytes".into(),
            AMQPValue::LongLongInt(max.min(i64::MAX as u64) as i64),
        );
    }
    arguments
}

async fn declare_topology(channel: &Channel, settings: &QueueSettings) -> lapin::Result<()> {
    let exchanges = [
        (Route::Raw, ExchangeKind::Direct),
        (Route::Events(0), ExchangeKind::Direct),
        (Route::Dead, ExchangeKind::Fanout),
    ];
    for (route, kind) in exchanges {
        let (exchange, _) = settings.exchange_and_key(route);
        channel
            .exchange_declare(
                exchange.as_str().into(),
                kind,
                durable_exchange(),
                FieldTable::default(),
            )
            .await?;
    }
    for route in settings.routes() {
        let queue = settings.queue_name(route);
        let options = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        channel
            .queue_declare(
                queue.as_str().into(),
                options,
                queue_arguments(settings, route),
            )
            .await?;
        let (exchange, key) = settings.exchange_and_key(route);
        channel
            .queue_bind(
                queue.as_str().into(),
                exchange.as_str().into(),
                key.as_str().into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }
    Ok(())
}

/// Broker refusals that will not change by retrying become
/// [`QueueError::Refused`]; everything else is a connection problem.
/// A message in the dead-letter queue.
#[derive(Clone, Debug)]
pub struct DeadLetter {
    /// The first 12 hex digits of the payload's SHA-256: the same in every
    /// listing, so `show`, `replay` and `purge` can name it.
    pub id: String,
    /// Its headers, the reason and origin among them.
    pub headers: Headers,
    /// The message as it was.
    pub payload: bytes::Bytes,
}

impl DeadLetter {
    fn new(payload: Vec<u8>, headers: Headers) -> Self {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(&payload);
        let id = digest[..6]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        DeadLetter {
            id,
            headers,
            payload: payload.into(),
        }
    }

    /// Why it was dead-lettered.
    pub fn reason(&self) -> &str {
        self.headers
            .get(DEAD_LETTER_REASON_HEADER)
            .map_or("(no reason recorded)", String::as_str)
    }

    /// The queue it came from: its origin header, else what its envelope
    /// holds (a raw batch came from the raw queue; an event batch's shard
    /// is not in its bytes, so it needs the header).
    pub fn origin(&self, settings: &QueueSettings) -> Option<Route> {
        if let Some(route) = self
            .headers
            .get(DEAD_LETTER_ORIGIN_HEADER)
            .and_then(|key| Route::from_key(key))
        {
            return (route != Route::Dead
                && !matches!(route, Route::Events(shard) if shard >= settings.shards))
            .then_some(route);
        }
        self.payload.starts_with(b"LH\x01").then_some(Route::Raw)
    }
}

/// Fetches up to `limit` dead letters unacknowledged, with their delivery
/// tags, and how many the queue held before.
async fn fetch_dead(
    channel: &Channel,
    settings: &QueueSettings,
    limit: usize,
) -> Result<(Vec<(DeadLetter, u64)>, u64), QueueError> {
    let queue = settings.queue_name(Route::Dead);
    let mut letters = Vec::new();
    let mut held = None;
    while letters.len() < limit {
        let Some(message) = channel
            .basic_get(
                queue.as_str().into(),
                lapin::options::BasicGetOptions { no_ack: false },
            )
            .await
            .map_err(classify)?
        else {
            break;
        };
        held.get_or_insert(u64::from(message.message_count) + 1);
        let delivery = message.delivery;
        let headers = headers_of(&delivery.properties);
        letters.push((
            DeadLetter::new(delivery.data, headers),
            delivery.delivery_tag,
        ));
    }
    Ok((letters, held.unwrap_or(0)))
}

fn classify(error: lapin::Error) -> QueueError {
    if let ErrorKind::ProtocolError(amqp_error) = error.kind()
        && let AMQPErrorKind::Soft(AMQPSoftError::PRECONDITIONFAILED | AMQPSoftError::ACCESSREFUSED) =
            amqp_error.kind()
    {
        return QueueError::Refused(error.to_string());
    }
    if let ErrorKind::ProtocolError(amqp_error) = error.kind()
        && let AMQPErrorKind::Hard(AMQPHardError::NOTALLOWED | AMQPHardError::INVALIDPATH) =
            amqp_error.kind()
    {
        return QueueError::Refused(error.to_string());
    }
    QueueError::Connection(error.to_string())
}

fn message_properties(headers: &Headers) -> BasicProperties {
    let mut table = FieldTable::default();
    for (key, value) in headers {
        table.insert(
            key.as_str().into(),
            AMQPValue::LongString(value.as_str().into()),
        );
    }
    BasicProperties::default()
        .with_delivery_mode(2)
        .with_headers(table)
}

fn headers_of(properties: &BasicProperties) -> Headers {
    let mut headers = Headers::new();
    if let Some(table) = properties.headers() {
        for (key, value) in table.inner() {
            let text = match value {
                AMQPValue::LongString(text) => {
                    String::from_utf8_lossy(text.as_bytes()).into_owned()
                }
                AMQPValue::ShortString(text) => text.as_str().to_owned(),
                other => format!("{other:?}"),
            };
            headers.insert(key.as_str().to_owned(), text);
        }
    }
    headers
}

/// Exponential backoff between reconnection attempts.
fn reconnect_backoff(settings: &QueueSettings) -> Backoff {
    Backoff::new(settings.reconnect_min, settings.reconnect_max)
}

/// Publishes with confirms; how one attempt ended.
enum Attempt {
    Done,
    /// Not worth retrying: no route, queue full, refused.
    Final(QueueError),
    /// The connection is unusable; reconnect and publish the batch again.
    Broken(QueueError),
}

async fn publish_once(
    channel: &Channel,
    settings: &QueueSettings,
    route: Route,
    messages: &[Message],
) -> Attempt {
    let (exchange, key) = settings.exchange_and_key(route);
    let options = BasicPublishOptions {
        mandatory: true,
        ..BasicPublishOptions::default()
    };
    let mut confirms = Vec::with_capacity(messages.len());
    for message in messages {
        let published = channel
            .basic_publish(
                exchange.as_str().into(),
                key.as_str().into(),
                options,
                &message.payload,
                message_properties(&message.headers),
            )
            .await;
        match published {
            Ok(confirm) => confirms.push(confirm),
            Err(error) => return Attempt::Broken(classify(error)),
        }
    }
    let Ok(results) = tokio::time::timeout(settings.confirm_timeout, join_all(confirms)).await
    else {
        return Attempt::Broken(QueueError::ConfirmTimeout {
            seconds: settings.confirm_timeout.as_secs_f64(),
        });
    };
    for result in results {
        match result {
            Ok(Confirmation::Ack(None)) => {}
            Ok(Confirmation::Ack(Some(_returned))) => {
                return Attempt::Final(QueueError::NoRoute {
                    route: route.to_string(),
                });
            }
            Ok(Confirmation::Nack(_)) => {
                return Attempt::Final(QueueError::Full {
                    queue: settings.queue_name(route),
                });
            }
            Ok(Confirmation::NotRequested) => {
                return Attempt::Broken(QueueError::Connection(
                    "publisher confirms are off on this channel".into(),
                ));
            }
            Err(error) => return Attempt::Broken(classify(error)),
        }
    }
    Attempt::Done
}

struct AmqpPublisher {
    broker: AmqpBroker,
    link: Option<(Connection, Channel)>,
    backoff: Backoff,
}

impl AmqpPublisher {
    async fn channel(&mut self) -> Result<&Channel, QueueError> {
        if self.link.is_none() {
            let (connection, channel) = self.broker.open("publisher").await?;
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await
                .map_err(classify)?;
            self.link = Some((connection, channel));
        }
        match &self.link {
            Some((_, channel)) => Ok(channel),
            None => Err(QueueError::Connection("no channel".into())),
        }
    }
}

#[async_trait::async_trait]
impl Publisher for AmqpPublisher {
    async fn publish(&mut self, route: Route, messages: &[Message]) -> Result<(), QueueError> {
        loop {
            let settings = self.broker.settings.clone();
            let attempt = match self.channel().await {
                Ok(channel) => publish_once(channel, &settings, route, messages).await,
                Err(error) if error.is_retryable() => Attempt::Broken(error),
                Err(error) => return Err(error),
            };
            match attempt {
                Attempt::Done => {
                    self.backoff.reset();
                    return Ok(());
                }
                Attempt::Final(error) => return Err(error),
                Attempt::Broken(error) => {
                    warn!(%error, route = %route, messages = messages.len(), "publish failed; reconnecting to publish the batch again");
                    self.link = None;
                    tokio::time::sleep(self.backoff.next_delay()).await;
                }
            }
        }
    }
}

struct ConsumerLink {
    connection: Connection,
    channel: Channel,
    stream: lapin::Consumer,
    dead_channel: Option<Channel>,
}

struct AmqpConsumer {
    broker: AmqpBroker,
    route: Route,
    link: Option<ConsumerLink>,
    generation: u64,
    unacked: BTreeSet<u64>,
    backoff: Backoff,
}

impl AmqpConsumer {
    async fn connect(&mut self) -> Result<(), QueueError> {
        static CONSUMER_COUNT: AtomicU64 = AtomicU64::new(0);
        let (connection, channel) = self.broker.open("consumer").await?;
        let settings = &self.broker.settings;
        channel
            .basic_qos(settings.prefetch, BasicQosOptions::default())
            .await
            .map_err(classify)?;
        let tag = format!(
            "loghaul-{}-{}",
            std::process::id(),
            CONSUMER_COUNT.fetch_add(1, Ordering::Relaxed)
        );
        let queue = settings.queue_name(self.route);
        let stream = channel
            .basic_consume(
                queue.as_str().into(),
                tag.as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(classify)?;
        self.generation += 1;
        self.unacked.clear();
        self.link = Some(ConsumerLink {
            connection,
            channel,
            stream,
            dead_channel: None,
        });
        debug!(queue, generation = self.generation, "consuming");
        Ok(())
    }

    fn broken(&mut self, error: &QueueError) {
        warn!(%error, route = %self.route, "consumer connection lost; unacknowledged messages will come again");
        self.link = None;
        self.unacked.clear();
    }
}

#[async_trait::async_trait]
impl Consumer for AmqpConsumer {
    async fn next(&mut self) -> Result<Delivery, QueueError> {
        loop {
            if self.link.is_none() {
                match self.connect().await {
                    Ok(()) => {}
                    Err(error) if error.is_retryable() => {
                        self.broken(&error);
                        tokio::time::sleep(self.backoff.next_delay()).await;
                        continue;
                    }
                    Err(error) => return Err(error),
                }
            }
            let Some(link) = self.link.as_mut() else {
                continue;
            };
            match link.stream.next().await {
                Some(Ok(delivery)) => {
                    self.backoff.reset();
                    self.unacked.insert(delivery.delivery_tag);
                    return Ok(Delivery {
                        headers: headers_of(&delivery.properties),
                        payload: delivery.data.into(),
                        redelivered: delivery.redelivered,
                        tag: AckTag {
                            generation: self.generation,
                            tag: delivery.delivery_tag,
                        },
                    });
                }
                Some(Err(error)) => self.broken(&classify(error)),
                None => self.broken(&QueueError::Connection(
                    "the broker cancelled the consumer".into(),
                )),
            }
            tokio::time::sleep(self.backoff.next_delay()).await;
        }
    }

    async fn ack(&mut self, tags: &[AckTag]) -> Result<(), QueueError> {
        let mut current: Vec<u64> = tags
            .iter()
            .filter(|tag| tag.generation == self.generation)
            .map(|tag| tag.tag)
            .collect();
        current.retain(|tag| self.unacked.contains(tag));
        let (Some(link), Some(&highest)) = (self.link.as_ref(), current.iter().max()) else {
            return Ok(());
        };
        for tag in &current {
            self.unacked.remove(tag);
        }
        // One `multiple` ack covers everything up to the highest tag when no
        // older delivery is still held; otherwise ack each one.
        let covers_all = self.unacked.first().is_none_or(|&oldest| oldest > highest);
        let result = if covers_all {
            link.channel
                .basic_ack(highest, BasicAckOptions { multiple: true })
                .await
        } else {
            let mut outcome = Ok(());
            for tag in current {
                outcome = link
                    .channel
                    .basic_ack(tag, BasicAckOptions { multiple: false })
                    .await;
                if outcome.is_err() {
                    break;
                }
            }
            outcome
        };
        if let Err(error) = result {
            // The broker puts unacknowledged messages back when the channel dies.
            self.broken(&classify(error));
        }
        Ok(())
    }

    async fn dead_letter(&mut self, delivery: Delivery, reason: &str) -> Result<(), QueueError> {
        if delivery.tag.generation != self.generation {
            // Stale: the broker will deliver it again and we will decide again.
            return Ok(());
        }
        let settings = self.broker.settings.clone();
        let Some(link) = self.link.as_mut() else {
            return Ok(());
        };
        if link.dead_channel.is_none() {
            let channel = link.connection.create_channel().await.map_err(classify)?;
            channel
                .confirm_select(ConfirmSelectOptions::default())
                .await
                .map_err(classify)?;
            link.dead_channel = Some(channel);
        }
        let mut headers = delivery.headers.clone();
        headers.insert(DEAD_LETTER_REASON_HEADER.into(), reason.to_owned());
        headers.insert(DEAD_LETTER_ORIGIN_HEADER.into(), self.route.key());
        let message = Message {
            payload: delivery.payload.clone(),
            headers,
        };
        if let Some(channel) = &link.dead_channel {
            match publish_once(channel, &settings, Route::Dead, &[message]).await {
                Attempt::Done => {}
                Attempt::Final(error) => return Err(error),
                Attempt::Broken(error) => {
                    self.broken(&error);
                    return Err(error);
                }
            }
        }
        self.ack(&[delivery.tag]).await
    }
}

#[async_trait::async_trait]
impl Broker for AmqpBroker {
    fn settings(&self) -> &QueueSettings {
        &self.settings
    }

    async fn publisher(&self) -> Result<Box<dyn Publisher>, QueueError> {
        Ok(Box::new(AmqpPublisher {
            broker: self.clone(),
            link: None,
            backoff: reconnect_backoff(&self.settings),
        }))
    }

    async fn consumer(&self, route: Route) -> Result<Box<dyn Consumer>, QueueError> {
        let mut consumer = AmqpConsumer {
            broker: self.clone(),
            route,
            link: None,
            generation: 0,
            unacked: BTreeSet::new(),
            backoff: reconnect_backoff(&self.settings),
        };
        // Register with the broker now, so publishes that follow are shared
        // with this consumer.
        consumer.connect().await?;
        Ok(Box::new(consumer))
    }

    async fn delete_topology(&self) -> Result<(), QueueError> {
        let (connection, channel) = self.open("admin").await?;
        for route in self.settings.routes() {
            let queue = self.settings.queue_name(route);
            channel
                .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
                .await
                .map_err(classify)?;
        }
        for route in [Route::Raw, Route::Events(0), Route::Dead] {
            let (exchange, _) = self.settings.exchange_and_key(route);
            channel
                .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                .await
                .map_err(classify)?;
        }
        let _ = connection.close(200, "done".into()).await;
        Ok(())
    }
}

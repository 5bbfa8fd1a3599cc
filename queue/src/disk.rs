//! The embedded durable backend: the queue contract on local disk, for
//! `loghaul run`, so that a crash of the process loses nothing.
//!
//! Each queue is a directory `<root>/<queue name>/` holding:
//!
//! - segment files `<first sequence, 20 digits>.seg`: records appended in
//!   publish order, each `magic u32 | length u32 | crc32 u32 | sequence u64 |
//!   header bytes length u32 | headers | payload` (little-endian; the CRC
//!   covers everything after it). A segment is closed at [`SEGMENT_BYTES`]
//!   and deleted once every record in it is acknowledged;
//! - `acks`: the sequences acknowledged, 8 bytes each, appended; rewritten
//!   (atomically) without the sequences of deleted segments when it grows.
//!
//! **Confirm.** A publish appends its whole batch with one write and one
//! `fsync` before it returns: a confirmed message survives a crash of the
//! process and of the machine. **Acks** are written but not fsynced: a SIGKILL
//! keeps them (they are in the page cache), a power loss may redeliver a few,
//! which the pipeline deduplicates downstream anyway.
//!
//! **Start.** Segments are read in order; a torn last record (a crash in the
//! middle of a write) is cut off; every record not acknowledged is ready
//! again, flagged `redelivered` (it may have been delivered before the
//! crash). A directory lock (`lock`, `flock`) keeps a second process out.
//!
//! **Bounds.** Each queue holds at most `max_length` messages and
//! `disk_max_bytes / queues` bytes of live segments (or `max_length_bytes`,
//! if smaller); past either a publish is refused with [`QueueError::Full`],
//! never dropped. Like the memory backend, each queue is bounded alone, so a
//! full raw queue never refuses the events that drain it.
//!
//! Payloads stay on disk: the memory held is a few dozen bytes per message
//! (its place in its segment), whatever the queue's size.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use loghaul_durable::{DiskFull, Store};

use tokio::sync::Notify;
use tracing::warn;

use crate::{
    AckTag, Broker, Consumer, DEAD_LETTER_REASON_HEADER, Delivery, Headers, Message, Publisher,
    QueueError, QueueSettings, Route,
};

/// A segment is closed once it holds this many bytes.
pub const SEGMENT_BYTES: u64 = 64 << 20;
const MAGIC: u32 = 0x4c48_5131; // "LHQ1"
const HEADER_BYTES: usize = 4 + 4 + 4 + 8 + 4;

fn io_error(what: &str, path: &Path, error: std::io::Error) -> QueueError {
    QueueError::Refused(format!("{what} {}: {error}", path.display()))
}

/// A write of queue `name` failed: a full disk refuses the publish as
/// `Full` (retryable; counted and warned by `full`), anything else is an
/// error naming the file.
fn write_error(
    name: &str,
    full: &mut DiskFull,
    what: &str,
    path: &Path,
    error: std::io::Error,
) -> QueueError {
    if loghaul_durable::is_full_io(&error) {
        full.hit(&format_args!("{what} {}: {error}", path.display()));
        QueueError::Full {
            queue: format!("{name} (disk full: {})", path.display()),
        }
    } else {
        io_error(what, path, error)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Where one record lies.
#[derive(Clone, Copy, Debug)]
struct Place {
    sequence: u64,
    segment: u64,
    offset: u64,
    length: u32,
    redelivered: bool,
}

struct Segment {
    file: File,
    bytes: u64,
    /// Records of this segment not yet acknowledged.
    live: u64,
}

struct QueueState {
    ready: VecDeque<Place>,
    /// Messages ready or held by a consumer.
    count: u64,
    /// Bytes of live segments on disk.
    bytes: u64,
    next_sequence: u64,
    /// Segments by first sequence; the last is written to.
    segments: BTreeMap<u64, Segment>,
    acks: File,
    /// Bytes of whole ack records in `acks`.
    acks_len: u64,
    /// Acks not written yet (the disk was full): written before the next.
    unwritten_acks: Vec<u8>,
    /// Ack records written since the acks file was last rewritten.
    ack_records: u64,
    /// The pause while the disk is full.
    full: DiskFull,
}

impl QueueState {
    /// Appends `bytes` (whole ack records) after any not written yet. On a
    /// full disk the acknowledgement holds in memory and its bytes wait for
    /// the next write (a crash before that redelivers these messages, which
    /// the indexer's dedup absorbs).
    fn write_acks(&mut self, dir: &Path, bytes: Vec<u8>) -> Result<(), QueueError> {
        let earlier = self.unwritten_acks.len();
        let mut bytes = if earlier == 0 {
            bytes
        } else {
            let mut all = std::mem::take(&mut self.unwritten_acks);
            all.extend_from_slice(&bytes);
            all
        };
        match self.acks.write_all(&bytes) {
            Ok(()) => {
                self.acks_len += bytes.len() as u64;
                self.full.cleared();
                Ok(())
            }
            Err(error) => {
                // Cut a part written, so later acks stay whole records.
                let _ = self.acks.set_len(self.acks_len);
                let path = dir.join("acks");
                if loghaul_durable::is_full_io(&error) {
                    self.full
                        .hit(&format_args!("writing {}: {error}", path.display()));
                    self.unwritten_acks = bytes;
                    Ok(())
                } else {
                    bytes.truncate(earlier);
                    self.unwritten_acks = bytes;
                    Err(io_error("writing", &path, error))
                }
            }
        }
    }
}

struct DiskQueue {
    name: String,
    dir: PathBuf,
    state: Mutex<QueueState>,
    notify: Notify,
    max_bytes: u64,
    _lock: File,
}

fn segment_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("{first:020}.seg"))
}

fn encode_headers(headers: &Headers) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in headers {
        out.extend_from_slice(&(key.len() as u32).to_le_bytes());
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
        out.extend_from_slice(value.as_bytes());
    }
    out
}

fn decode_headers(mut bytes: &[u8]) -> Option<Headers> {
    let mut headers = Headers::new();
    let take = |bytes: &mut &[u8]| -> Option<String> {
        let length = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
        let text = std::str::from_utf8(bytes.get(4..4 + length)?)
            .ok()?
            .to_owned();
        *bytes = &bytes[4 + length..];
        Some(text)
    };
    while !bytes.is_empty() {
        let key = take(&mut bytes)?;
        let value = take(&mut bytes)?;
        headers.insert(key, value);
    }
    Some(headers)
}

fn encode_record(out: &mut Vec<u8>, sequence: u64, message: &Message) {
    let headers = encode_headers(&message.headers);
    let body_length = 8 + 4 + headers.len() + message.payload.len();
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&sequence.to_le_bytes());
    hasher.update(&(headers.len() as u32).to_le_bytes());
    hasher.update(&headers);
    hasher.update(&message.payload);
    out.extend_from_slice(&MAGIC.to_le_bytes());
    out.extend_from_slice(&(body_length as u32).to_le_bytes());
    out.extend_from_slice(&hasher.finalize().to_le_bytes());
    out.extend_from_slice(&sequence.to_le_bytes());
    out.extend_from_slice(&(headers.len() as u32).to_le_bytes());
    out.extend_from_slice(&headers);
    out.extend_from_slice(&message.payload);
}

/// Reads the record at `place`, checking its CRC.
fn read_record(file: &File, place: &Place) -> Result<(Headers, Vec<u8>), String> {
    let mut bytes = vec![0u8; place.length as usize];
    file.read_exact_at(&mut bytes, place.offset)
        .map_err(|error| format!("reading record {}: {error}", place.sequence))?;
    let crc = u32::from_le_bytes(bytes[8..12].try_into().map_err(|_| "short record")?);
    let body = &bytes[12..];
    if crc32fast::hash(body) != crc {
        return Err(format!("record {} fails its CRC", place.sequence));
    }
    let headers_length =
        u32::from_le_bytes(body[8..12].try_into().map_err(|_| "short record")?) as usize;
    let headers = decode_headers(body.get(12..12 + headers_length).ok_or("short record")?)
        .ok_or("bad headers")?;
    Ok((headers, body[12 + headers_length..].to_vec()))
}

/// The records of one segment file: (place, complete); stops at the first
/// torn or corrupt record and returns the length of the good prefix.
fn scan_segment(file: &File, first: u64) -> std::io::Result<(Vec<Place>, u64)> {
    let mut bytes = Vec::new();
    (&*file).read_to_end(&mut bytes)?;
    let mut places = Vec::new();
    let mut at = 0usize;
    while at + HEADER_BYTES <= bytes.len() {
        let magic = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or_default());
        let length = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap_or_default());
        let end = at + 12 + length as usize;
        if magic != MAGIC || length < 12 || end > bytes.len() {
            break;
        }
        let crc = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap_or_default());
        if crc32fast::hash(&bytes[at + 12..end]) != crc {
            break;
        }
        let sequence = u64::from_le_bytes(bytes[at + 12..at + 20].try_into().unwrap_or_default());
        places.push(Place {
            sequence,
            segment: first,
            offset: at as u64,
            length: (end - at) as u32,
            redelivered: true,
        });
        at = end;
    }
    Ok((places, at as u64))
}

impl DiskQueue {
    /// Opens (or creates) the queue in `dir`, recovering what a crash left.
    fn open(name: String, dir: PathBuf, max_bytes: u64) -> Result<Self, QueueError> {
        std::fs::create_dir_all(&dir).map_err(|error| io_error("creating", &dir, error))?;
        let lock_path = dir.join("lock");
        let lock_file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|error| io_error("opening", &lock_path, error))?;
        lock_file.try_lock().map_err(|_| {
            QueueError::Refused(format!(
                "{} is in use by another process (one loghaul run per data_dir)",
                dir.display()
            ))
        })?;
        let acks_path = dir.join("acks");
        let mut acked = std::collections::HashSet::new();
        if let Ok(mut file) = File::open(&acks_path) {
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes)
                .map_err(|error| io_error("reading", &acks_path, error))?;
            // A torn last ack is simply not acknowledged.
            for chunk in bytes.chunks_exact(8) {
                acked.insert(u64::from_le_bytes(chunk.try_into().unwrap_or_default()));
            }
        }
        let mut firsts: Vec<u64> = std::fs::read_dir(&dir)
            .map_err(|error| io_error("listing", &dir, error))?
            .flatten()
            .filter_map(|entry| {
                entry
                    .file_name()
                    .to_str()?
                    .strip_suffix(".seg")?
                    .parse()
                    .ok()
            })
            .collect();
        firsts.sort_unstable();
        let mut segments = BTreeMap::new();
        let mut ready = VecDeque::new();
        let mut next_sequence = 0;
        let mut bytes_total = 0;
        for first in firsts {
            let path = segment_path(&dir, first);
            let file = OpenOptions::new()
                .read(true)
                .append(true)
                .open(&path)
                .map_err(|error| io_error("opening", &path, error))?;
            let (places, good) =
                scan_segment(&file, first).map_err(|error| io_error("reading", &path, error))?;
            let size = file
                .metadata()
                .map_err(|error| io_error("reading", &path, error))?
                .len();
            if good < size {
                // A torn record at the end: a crash mid-write, never confirmed.
                file.set_len(good)
                    .map_err(|error| io_error("truncating", &path, error))?;
                tracing::warn!(segment = %path.display(), dropped_bytes = size - good, "cut a torn record left by a crash (it was never confirmed)");
            }
            let mut live = 0;
            for place in places {
                next_sequence = next_sequence.max(place.sequence + 1);
                if !acked.contains(&place.sequence) {
                    live += 1;
                    ready.push_back(place);
                }
            }
            if live == 0 {
                // Everything in it was acknowledged: its space comes back.
                let _ = std::fs::remove_file(&path);
                continue;
            }
            bytes_total += good;
            segments.insert(
                first,
                Segment {
                    file,
                    bytes: good,
                    live,
                },
            );
        }
        let count = ready.len() as u64;
        // Acks of deleted segments are dropped; those of kept ones stay.
        let (acks, acks_len) = Self::rewrite_acks(&dir, segments.keys().next().copied(), &acked)?;
        let ack_records = acked.len() as u64;
        Ok(DiskQueue {
            name,
            dir,
            state: Mutex::new(QueueState {
                ready,
                count,
                bytes: bytes_total,
                next_sequence,
                segments,
                acks,
                acks_len,
                unwritten_acks: Vec::new(),
                ack_records,
                full: DiskFull::new(Store::Queue),
            }),
            notify: Notify::new(),
            max_bytes,
            _lock: lock_file,
        })
    }

    /// Rewrites `acks` with the acknowledged sequences from `from` (the
    /// first sequence of the oldest kept segment) on: older ones belong to
    /// deleted segments. Atomic; returns the file open for appending and
    /// its length. On a full disk the old file is kept (a superset: acks of
    /// deleted segments are ignored), cut to whole records.
    fn rewrite_acks(
        dir: &Path,
        from: Option<u64>,
        acked: &std::collections::HashSet<u64>,
    ) -> Result<(File, u64), QueueError> {
        let path = dir.join("acks");
        let mut keep: Vec<u64> = acked
            .iter()
            .copied()
            .filter(|sequence| from.is_some_and(|from| *sequence >= from))
            .collect();
        keep.sort_unstable();
        let mut bytes = Vec::with_capacity(keep.len() * 8);
        for sequence in keep {
            bytes.extend_from_slice(&sequence.to_le_bytes());
        }
        match loghaul_durable::write_atomically(&path, &bytes) {
            Ok(()) => {}
            Err(error) if loghaul_durable::is_full_io(&error) => {
                warn!(%error, "disk full: the acks file is compacted at a later start");
            }
            Err(error) => return Err(io_error("writing", &path, error)),
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|error| io_error("opening", &path, error))?;
        let length = file
            .metadata()
            .map_err(|error| io_error("reading", &path, error))?
            .len();
        let whole = length - length % 8;
        if whole != length {
            file.set_len(whole)
                .map_err(|error| io_error("cutting a torn ack in", &path, error))?;
        }
        Ok((file, whole))
    }

    fn enqueue(&self, settings: &QueueSettings, messages: &[Message]) -> Result<(), QueueError> {
        let mut records = Vec::new();
        let mut state = lock(&self.state);
        let first_sequence = state.next_sequence;
        let mut lengths = Vec::with_capacity(messages.len());
        for (index, message) in messages.iter().enumerate() {
            let before = records.len();
            encode_record(&mut records, first_sequence + index as u64, message);
            lengths.push((records.len() - before) as u32);
        }
        let batch_bytes = records.len() as u64;
        let budget = settings
            .max_length_bytes
            .unwrap_or(u64::MAX)
            .min(self.max_bytes);
        // Checked on arrival, as the memory backend does: an empty queue
        // takes any batch whose records each fit.
        if let Some(largest) = lengths
            .iter()
            .map(|length| u64::from(*length))
            .max()
            .filter(|largest| *largest > budget)
        {
            return Err(QueueError::TooLarge {
                bytes: largest as usize,
                budget: budget as usize,
            });
        }
        let over_length = settings
            .max_length
            .is_some_and(|max| state.count + messages.len() as u64 > max);
        // Bytes of live segments include acknowledged records of the
        // segment being written: an empty queue is told by its count.
        if over_length || (state.count > 0 && state.bytes + batch_bytes > budget) {
            return Err(QueueError::Full {
                queue: self.name.clone(),
            });
        }
        // Open a new segment when the current one is full (or none is).
        let current = match state.segments.last_key_value() {
            Some((first, segment)) if segment.bytes < SEGMENT_BYTES => *first,
            last => {
                // A full last segment whose records are all acknowledged
                // was kept only because it was being written: it goes now.
                if let Some((&first, segment)) = last
                    && segment.live == 0
                    && let Some(segment) = state.segments.remove(&first)
                {
                    state.bytes -= segment.bytes;
                    let _ = std::fs::remove_file(segment_path(&self.dir, first));
                }
                let path = segment_path(&self.dir, first_sequence);
                let file = match OpenOptions::new()
                    .create(true)
                    .read(true)
                    .append(true)
                    .open(&path)
                    .and_then(|file| loghaul_durable::sync_dir(&self.dir).map(|()| file))
                {
                    Ok(file) => file,
                    Err(error) => {
                        let _ = std::fs::remove_file(&path);
                        return Err(write_error(
                            &self.name,
                            &mut state.full,
                            "creating",
                            &path,
                            error,
                        ));
                    }
                };
                state.segments.insert(
                    first_sequence,
                    Segment {
                        file,
                        bytes: 0,
                        live: 0,
                    },
                );
                first_sequence
            }
        };
        let path = segment_path(&self.dir, current);
        let inner = &mut *state;
        let segment = inner
            .segments
            .get_mut(&current)
            .ok_or_else(|| QueueError::Refused("segment vanished".into()))?;
        let start = segment.bytes;
        if let Err(error) = segment
            .file
            .write_all(&records)
            .and_then(|()| segment.file.sync_data())
        {
            // Nothing is confirmed: cut whatever part was written, so a
            // retry does not leave a half record behind the next one.
            let _ = segment.file.set_len(start);
            return Err(write_error(
                &self.name,
                &mut inner.full,
                "writing",
                &path,
                error,
            ));
        }
        segment.bytes += batch_bytes;
        segment.live += messages.len() as u64;
        inner.full.cleared();
        if !inner.unwritten_acks.is_empty() {
            // Space is back: the acks a full disk held back go now.
            let _ = inner.write_acks(&self.dir, Vec::new());
        }
        let mut offset = start;
        let mut places = Vec::with_capacity(messages.len());
        for (index, length) in lengths.into_iter().enumerate() {
            places.push(Place {
                sequence: first_sequence + index as u64,
                segment: current,
                offset,
                length,
                redelivered: false,
            });
            offset += u64::from(length);
        }
        state.ready.extend(places);
        state.next_sequence += messages.len() as u64;
        state.count += messages.len() as u64;
        state.bytes += batch_bytes;
        drop(state);
        self.notify.notify_waiters();
        Ok(())
    }

    /// Records `places` as acknowledged and frees the segments they empty.
    fn acknowledge(&self, places: &[Place]) -> Result<(), QueueError> {
        if places.is_empty() {
            return Ok(());
        }
        let mut state = lock(&self.state);
        let mut bytes = Vec::with_capacity(places.len() * 8);
        for place in places {
            bytes.extend_from_slice(&place.sequence.to_le_bytes());
        }
        state.write_acks(&self.dir, bytes)?;
        state.ack_records += places.len() as u64;
        state.count -= places.len() as u64;
        let last = state.segments.last_key_value().map(|(first, _)| *first);
        let mut emptied = Vec::new();
        for place in places {
            if let Some(segment) = state.segments.get_mut(&place.segment) {
                segment.live = segment.live.saturating_sub(1);
                if segment.live == 0 && Some(place.segment) != last {
                    emptied.push(place.segment);
                }
            }
        }
        for first in emptied {
            if let Some(segment) = state.segments.remove(&first) {
                state.bytes -= segment.bytes;
                let _ = std::fs::remove_file(segment_path(&self.dir, first));
            }
        }
        // The last segment, once empty and full, goes too.
        if let Some((first, segment)) = state.segments.last_key_value()
            && segment.live == 0
            && segment.bytes >= SEGMENT_BYTES
        {
            let first = *first;
            if let Some(segment) = state.segments.remove(&first) {
                state.bytes -= segment.bytes;
                let _ = std::fs::remove_file(segment_path(&self.dir, first));
            }
        }
        Ok(())
    }

    fn read(&self, place: &Place) -> Result<(Headers, Vec<u8>), QueueError> {
        let state = lock(&self.state);
        let segment = state.segments.get(&place.segment).ok_or_else(|| {
            QueueError::Refused(format!(
                "{}: segment of record {} is gone",
                self.name, place.sequence
            ))
        })?;
        read_record(&segment.file, place)
            .map_err(|message| QueueError::Refused(format!("{}: {message}", self.name)))
    }
}

/// Queues on local disk (see the module documentation).
pub struct DiskBroker {
    settings: QueueSettings,
    queues: HashMap<Route, Arc<DiskQueue>>,
}

impl DiskBroker {
    /// Opens (or creates) the queues of `settings` under `root`, each bounded
    /// by its share of `disk_max_bytes`, recovering what a crash left.
    pub fn open(
        root: &Path,
        settings: QueueSettings,
        disk_max_bytes: u64,
    ) -> Result<Self, QueueError> {
        let routes = settings.routes();
        let share = disk_max_bytes / routes.len().max(1) as u64;
        let mut queues = HashMap::new();
        for route in routes {
            let name = settings.queue_name(route);
            let queue = DiskQueue::open(name.clone(), root.join(&name), share)?;
            queues.insert(route, Arc::new(queue));
        }
        Ok(DiskBroker { settings, queues })
    }

    fn queue(&self, route: Route) -> Result<Arc<DiskQueue>, QueueError> {
        self.queues
            .get(&route)
            .cloned()
            .ok_or_else(|| QueueError::NoRoute {
                route: route.to_string(),
            })
    }

    /// Messages in the queue behind `route`, ready or held by consumers.
    pub fn depth(&self, route: Route) -> u64 {
        self.queues
            .get(&route)
            .map_or(0, |queue| lock(&queue.state).count)
    }
}

#[async_trait::async_trait]
impl Broker for DiskBroker {
    fn settings(&self) -> &QueueSettings {
        &self.settings
    }

    async fn publisher(&self) -> Result<Box<dyn Publisher>, QueueError> {
        Ok(Box::new(DiskPublisher {
            settings: self.settings.clone(),
            queues: self.queues.clone(),
        }))
    }

    async fn consumer(&self, route: Route) -> Result<Box<dyn Consumer>, QueueError> {
        static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);
        Ok(Box::new(DiskConsumer {
            queue: self.queue(route)?,
            dead: self.queue(Route::Dead)?,
            settings: self.settings.clone(),
            generation: NEXT_GENERATION.fetch_add(1, Ordering::Relaxed),
            next_tag: 1,
            unacked: BTreeMap::new(),
        }))
    }

    async fn delete_topology(&self) -> Result<(), QueueError> {
        for queue in self.queues.values() {
            let mut state = lock(&queue.state);
            state.ready.clear();
            state.segments.clear();
            state.count = 0;
            state.bytes = 0;
            std::fs::remove_dir_all(&queue.dir)
                .map_err(|error| io_error("deleting", &queue.dir, error))?;
        }
        Ok(())
    }
}

struct DiskPublisher {
    settings: QueueSettings,
    queues: HashMap<Route, Arc<DiskQueue>>,
}

#[async_trait::async_trait]
impl Publisher for DiskPublisher {
    async fn publish(&mut self, route: Route, messages: &[Message]) -> Result<(), QueueError> {
        let queue = self
            .queues
            .get(&route)
            .cloned()
            .ok_or_else(|| QueueError::NoRoute {
                route: route.to_string(),
            })?;
        let settings = self.settings.clone();
        let messages = messages.to_vec();
        // The write and fsync block: keep them off the async threads.
        tokio::task::spawn_blocking(move || queue.enqueue(&settings, &messages))
            .await
            .map_err(|error| QueueError::Refused(format!("publish task failed: {error}")))?
    }
}

struct DiskConsumer {
    queue: Arc<DiskQueue>,
    dead: Arc<DiskQueue>,
    settings: QueueSettings,
    generation: u64,
    next_tag: u64,
    unacked: BTreeMap<u64, Place>,
}

impl DiskConsumer {
    fn try_take(&mut self) -> Result<Option<Delivery>, QueueError> {
        if self.unacked.len() >= usize::from(self.settings.prefetch) {
            return Ok(None);
        }
        let Some(place) = lock(&self.queue.state).ready.pop_front() else {
            return Ok(None);
        };
        let (headers, payload) = match self.queue.read(&place) {
            Ok(record) => record,
            Err(error) => {
                lock(&self.queue.state).ready.push_front(place);
                return Err(error);
            }
        };
        let tag = AckTag {
            generation: self.generation,
            tag: self.next_tag,
        };
        self.next_tag += 1;
        self.unacked.insert(tag.tag, place);
        Ok(Some(Delivery {
            payload: payload.into(),
            headers,
            redelivered: place.redelivered,
            tag,
        }))
    }
}

#[async_trait::async_trait]
impl Consumer for DiskConsumer {
    async fn next(&mut self) -> Result<Delivery, QueueError> {
        let queue = self.queue.clone();
        loop {
            let notified = queue.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(delivery) = self.try_take()? {
                return Ok(delivery);
            }
            notified.await;
        }
    }

    async fn ack(&mut self, tags: &[AckTag]) -> Result<(), QueueError> {
        let places: Vec<Place> = tags
            .iter()
            .filter(|tag| tag.generation == self.generation)
            .filter_map(|tag| self.unacked.remove(&tag.tag))
            .collect();
        self.queue.acknowledge(&places)
    }

    async fn dead_letter(&mut self, delivery: Delivery, reason: &str) -> Result<(), QueueError> {
        let mut headers = delivery.headers.clone();
        headers.insert(DEAD_LETTER_REASON_HEADER.into(), reason.into());
        let message = Message {
            payload: delivery.payload.clone(),
            headers,
        };
        self.dead.enqueue(&self.settings, &[message])?;
        self.ack(&[delivery.tag]).await
    }
}

impl Drop for DiskConsumer {
    fn drop(&mut self) {
        if self.unacked.is_empty() {
            return;
        }
        let mut state = lock(&self.queue.state);
        // Back in front, oldest first, flagged, as a broker does on close.
        let mut back: Vec<Place> = std::mem::take(&mut self.unacked).into_values().collect();
        back.sort_by_key(|place| std::cmp::Reverse(place.sequence));
        for mut place in back {
            place.redelivered = true;
            state.ready.push_front(place);
        }
        drop(state);
        self.queue.notify.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn factory(settings: QueueSettings) -> Arc<dyn Broker> {
        let root = std::env::temp_dir().join(format!("loghaul-disk-{}", settings.prefix));
        Arc::new(DiskBroker::open(&root, settings, 64 << 20).expect("open"))
    }

    crate::contract_tests!(factory);

    fn settings(prefix: &str) -> QueueSettings {
        let mut settings = QueueSettings::with_prefix(prefix);
        settings.shards = 1;
        settings.prefetch = 100;
        settings
    }

    fn numbered(range: std::ops::Range<u32>) -> Vec<Message> {
        range
            .map(|n| {
                let mut message = Message::new(n.to_le_bytes().to_vec());
                message.headers.insert("n".into(), n.to_string());
                message
            })
            .collect()
    }

    fn number(delivery: &Delivery) -> u32 {
        u32::from_le_bytes(delivery.payload[..4].try_into().expect("4 bytes"))
    }

    /// What was confirmed survives the process going away without any
    /// goodbye; what was acknowledged does not come back; a torn record a
    /// crash left is cut.
    #[tokio::test]
    async fn confirmed_messages_survive_a_reopen_and_acks_hold() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let broker = DiskBroker::open(dir.path(), settings("crash"), 1 << 20).expect("open");
            let mut publisher = broker.publisher().await.expect("publisher");
            publisher
                .publish(Route::Raw, &numbered(0..10))
                .await
                .expect("publish");
            let mut consumer = broker.consumer(Route::Raw).await.expect("consumer");
            let mut tags = Vec::new();
            for _ in 0..4 {
                tags.push(consumer.next().await.expect("delivery").tag);
            }
            // 0 and 2 acknowledged; 1 and 3 held at the "crash".
            consumer.ack(&[tags[0], tags[2]]).await.expect("ack");
            std::mem::forget(consumer);
            std::mem::forget(broker);
        }
        // A crash in the middle of a write: half a record at the end.
        let queue_dir = dir.path().join("crash.raw");
        let segment = std::fs::read_dir(&queue_dir)
            .expect("dir")
            .flatten()
            .find(|entry| entry.file_name().to_string_lossy().ends_with(".seg"))
            .expect("a segment")
            .path();
        let mut file = OpenOptions::new()
            .append(true)
            .open(&segment)
            .expect("segment");
        file.write_all(&MAGIC.to_le_bytes()).expect("torn");
        file.write_all(&[200, 0, 0, 0, 1, 2]).expect("torn");
        drop(file);
        // The leaked broker still holds its locks, as a dead process would
        // not: new lock files stand for the released ones.
        for entry in std::fs::read_dir(dir.path()).expect("root").flatten() {
            std::fs::remove_file(entry.path().join("lock")).ok();
        }

        let broker = DiskBroker::open(dir.path(), settings("crash"), 1 << 20).expect("reopen");
        assert_eq!(broker.depth(Route::Raw), 8);
        let mut consumer = broker.consumer(Route::Raw).await.expect("consumer");
        let mut seen = Vec::new();
        let mut tags = Vec::new();
        for _ in 0..8 {
            let delivery = consumer.next().await.expect("delivery");
            assert!(delivery.redelivered, "recovered messages are flagged");
            assert_eq!(
                delivery.headers.get("n").map(String::as_str),
                Some(number(&delivery).to_string().as_str())
            );
            seen.push(number(&delivery));
            tags.push(delivery.tag);
        }
        assert_eq!(seen, [1, 3, 4, 5, 6, 7, 8, 9]);
        consumer.ack(&tags).await.expect("ack");
        // New publishes go on after the recovered sequences.
        let mut publisher = broker.publisher().await.expect("publisher");
        publisher
            .publish(Route::Raw, &numbered(10..12))
            .await
            .expect("publish");
        let delivery = consumer.next().await.expect("delivery");
        assert_eq!(number(&delivery), 10);
        assert!(!delivery.redelivered);
    }

    /// A second process on the same directory is refused.
    #[tokio::test]
    async fn one_process_per_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let _first = DiskBroker::open(dir.path(), settings("lock"), 1 << 20).expect("open");
        let second = DiskBroker::open(dir.path(), settings("lock"), 1 << 20);
        assert!(
            matches!(&second, Err(QueueError::Refused(message)) if message.contains("in use")),
            "{:?}",
            second.err()
        );
    }

    /// Fully acknowledged segments are deleted, so the disk bound is about
    /// what is still queued.
    #[tokio::test]
    async fn acknowledged_segments_free_their_space() {
        let dir = tempfile::tempdir().expect("tempdir");
        let broker = DiskBroker::open(dir.path(), settings("space"), 3 << 30).expect("open");
        let mut publisher = broker.publisher().await.expect("publisher");
        let big = Message::new(vec![7u8; 1 << 20]);
        for _ in 0..150 {
            publisher
                .publish(Route::Raw, std::slice::from_ref(&big))
                .await
                .expect("publish");
        }
        let queue_dir = dir.path().join("space.raw");
        let segments = |dir: &Path| {
            std::fs::read_dir(dir)
                .expect("dir")
                .flatten()
                .filter(|entry| entry.file_name().to_string_lossy().ends_with(".seg"))
                .count()
        };
        assert_eq!(segments(&queue_dir), 3, "150 MiB in 64 MiB segments");
        let mut consumer = broker.consumer(Route::Raw).await.expect("consumer");
        for _ in 0..150 {
            let delivery = consumer.next().await.expect("delivery");
            consumer.ack(&[delivery.tag]).await.expect("ack");
        }
        assert_eq!(segments(&queue_dir), 1, "only the open segment is left");
    }
}

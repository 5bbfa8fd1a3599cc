//! Stopping a query's work when its answer is abandoned, and bounding the
//! memory it holds.
//!
//! The API gives each query a [`Control`]: a deadline, a cancellation flag
//! (set when the client goes away or the deadline passes), and a memory
//! budget. A query is wrapped in [`Guarded`], which checks the control at
//! every segment; when a collector drives it, at every block of documents
//! (the inner query keeps its own fast iteration), and when it is a clause
//! inside another query, every [`CHECK_EVERY`] documents of its scorer,
//! ending the segment early once stopped. The searcher then turns the stop
//! into an error instead of returning a partial answer as if it were whole.
//!
//! The budget counts what a query holds that grows with the data: the events
//! of a page or a context (their stored JSON), facet values, and an estimate
//! of the per-segment bitsets that wildcard, regex and range clauses build
//! (one bit per document of the segment, per clause, while the segment is
//! searched). Going over it stops the query with an error that says so.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, TERMINATED};

/// Documents scored between two checks of the control.
pub const CHECK_EVERY: u32 = 4096;

/// Why a query was stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The client went away.
    Cancelled,
    /// The time limit passed.
    TimedOut(Duration),
    /// The memory budget would be exceeded.
    OverBudget {
        /// Bytes the query asked for in all.
        wanted: usize,
        /// The budget.
        limit: usize,
    },
}

impl std::fmt::Display for Stop {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Cancelled => formatter.write_str("the query was cancelled"),
            Stop::TimedOut(limit) => write!(
                formatter,
                "the query ran longer than {:.1} s and was stopped; narrow the time range or the query",
                limit.as_secs_f64()
            ),
            Stop::OverBudget { wanted, limit } => write!(
                formatter,
                "the query needs more than its memory budget ({} MiB of {} MiB); narrow the time range, lower limit, or raise indexer.query_memory",
                wanted.div_ceil(1 << 20),
                limit >> 20
            ),
        }
    }
}

/// The deadline, cancellation flag and memory budget of one query.
#[derive(Debug)]
pub struct Control {
    deadline: Option<(Instant, Duration)>,
    memory_limit: usize,
    memory: AtomicUsize,
    stopped: AtomicBool,
    reason: std::sync::Mutex<Option<Stop>>,
}

impl Control {
    /// No deadline and no budget (the CLI on a local data directory, tests).
    pub fn unlimited() -> Arc<Self> {
        Self::new(None, usize::MAX)
    }

    /// A control that stops the query `timeout` from now, or when it holds
    /// more than `memory_limit` bytes.
    pub fn new(timeout: Option<Duration>, memory_limit: usize) -> Arc<Self> {
        Arc::new(Control {
            deadline: timeout.map(|timeout| (Instant::now() + timeout, timeout)),
            memory_limit,
            memory: AtomicUsize::new(0),
            stopped: AtomicBool::new(false),
            reason: std::sync::Mutex::new(None),
        })
    }

    fn stop(&self, reason: Stop) {
        let mut slot = self
            .reason
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(reason);
        }
        self.stopped.store(true, Ordering::Release);
    }

    /// Stops the query: its client went away.
    pub fn cancel(&self) {
        self.stop(Stop::Cancelled);
    }

    /// Whether the query must stop (checking the deadline too).
    pub fn stopped(&self) -> bool {
        if self.stopped.load(Ordering::Acquire) {
            return true;
        }
        if let Some((deadline, limit)) = self.deadline
            && Instant::now() >= deadline
        {
            self.stop(Stop::TimedOut(limit));
            return true;
        }
        false
    }

    /// `Err` with the reason once the query must stop.
    pub fn check(&self) -> Result<(), Stop> {
        if self.stopped() {
            return Err(self.reason().unwrap_or(Stop::Cancelled));
        }
        Ok(())
    }

    /// Why the query stopped, if it did.
    pub fn reason(&self) -> Option<Stop> {
        self.reason
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Takes `bytes` from the budget for as long as the query runs.
    pub fn charge(&self, bytes: usize) -> Result<(), Stop> {
        let total = self.memory.fetch_add(bytes, Ordering::AcqRel) + bytes;
        if total > self.memory_limit {
            self.stop(Stop::OverBudget {
                wanted: total,
                limit: self.memory_limit,
            });
        }
        self.check()
    }

    /// Gives `bytes` back to the budget.
    pub fn release(&self, bytes: usize) {
        self.memory.fetch_sub(bytes, Ordering::AcqRel);
    }
}

fn stopped_error(control: &Control) -> tantivy::TantivyError {
    tantivy::TantivyError::InternalError(
        control
            .reason()
            .map_or_else(|| "stopped".to_owned(), |reason| reason.to_string()),
    )
}

/// A query whose scorers obey a [`Control`].
#[derive(Debug)]
pub struct Guarded {
    inner: Box<dyn Query>,
    control: Arc<Control>,
    /// Bitsets of one bit per document this query holds while a segment
    /// is searched (one per multi-term clause), as an estimate.
    bitsets: usize,
}

impl Clone for Guarded {
    fn clone(&self) -> Self {
        Guarded {
            inner: self.inner.box_clone(),
            control: self.control.clone(),
            bitsets: self.bitsets,
        }
    }
}

impl Guarded {
    /// Wraps `inner`; `multi_term_clauses` is the number of wildcard, regex
    /// and range clauses in it, each holding a bitset per segment.
    pub fn new(inner: Box<dyn Query>, control: Arc<Control>, multi_term_clauses: usize) -> Self {
        Guarded {
            inner,
            control,
            bitsets: multi_term_clauses,
        }
    }
}

impl Query for Guarded {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        self.control
            .check()
            .map_err(|_| stopped_error(&self.control))?;
        Ok(Box::new(GuardedWeight {
            inner: self.inner.weight(enable_scoring)?,
            control: self.control.clone(),
            bitsets: self.bitsets,
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a tantivy::Term, bool)) {
        self.inner.query_terms(visitor);
    }
}

struct GuardedWeight {
    inner: Box<dyn Weight>,
    control: Arc<Control>,
    bitsets: usize,
}

/// Budget held while one segment is searched; given back on drop.
struct Held {
    control: Arc<Control>,
    bytes: usize,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.control.release(self.bytes);
    }
}

impl GuardedWeight {
    fn enter(&self, reader: &SegmentReader) -> tantivy::Result<Held> {
        let bytes = (reader.max_doc() as usize).div_ceil(8) * self.bitsets;
        let held = Held {
            control: self.control.clone(),
            bytes,
        };
        self.control
            .charge(bytes)
            .map_err(|_| stopped_error(&self.control))?;
        Ok(held)
    }
}

impl Weight for GuardedWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let held = self.enter(reader)?;
        let inner = self.inner.scorer(reader, boost)?;
        self.control
            .check()
            .map_err(|_| stopped_error(&self.control))?;
        Ok(Box::new(GuardedScorer {
            inner,
            control: self.control.clone(),
            countdown: CHECK_EVERY,
            done: false,
            _held: held,
        }))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.inner.explain(reader, doc)
    }

    // The collectors' paths: the inner weight iterates in its own fast way
    // (blocks of documents), and the control is checked once per block.
    fn for_each_no_score(
        &self,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(&[DocId]),
    ) -> tantivy::Result<()> {
        let _held = self.enter(reader)?;
        let control = &self.control;
        self.inner.for_each_no_score(reader, &mut |docs| {
            if !control.stopped() {
                callback(docs);
            }
        })?;
        control.check().map_err(|_| stopped_error(control))
    }

    fn for_each(
        &self,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(DocId, Score),
    ) -> tantivy::Result<()> {
        let _held = self.enter(reader)?;
        let control = &self.control;
        let mut countdown = CHECK_EVERY;
        let mut stopped = false;
        self.inner.for_each(reader, &mut |doc, score| {
            countdown -= 1;
            if countdown == 0 {
                countdown = CHECK_EVERY;
                stopped = control.stopped();
            }
            if !stopped {
                callback(doc, score);
            }
        })?;
        control.check().map_err(|_| stopped_error(control))
    }

    fn for_each_pruning(
        &self,
        threshold: Score,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(DocId, Score) -> Score,
    ) -> tantivy::Result<()> {
        let _held = self.enter(reader)?;
        let control = &self.control;
        let mut countdown = CHECK_EVERY;
        let mut stopped = false;
        self.inner
            .for_each_pruning(threshold, reader, &mut |doc, score| {
                countdown -= 1;
                if countdown == 0 {
                    countdown = CHECK_EVERY;
                    stopped = control.stopped();
                }
                if stopped {
                    // Nothing more is wanted: raise the bar past every score.
                    return Score::MAX;
                }
                callback(doc, score)
            })?;
        control.check().map_err(|_| stopped_error(control))
    }

    fn count(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        // A term's count comes from its document frequency without a scan;
        // keep that, and check the control around it.
        let _held = self.enter(reader)?;
        let count = self.inner.count(reader)?;
        self.control
            .check()
            .map_err(|_| stopped_error(&self.control))?;
        Ok(count)
    }
}

struct GuardedScorer {
    inner: Box<dyn Scorer>,
    control: Arc<Control>,
    countdown: u32,
    done: bool,
    _held: Held,
}

impl GuardedScorer {
    fn tick(&mut self, doc: DocId) -> DocId {
        if doc == TERMINATED {
            return doc;
        }
        self.countdown -= 1;
        if self.countdown == 0 {
            self.countdown = CHECK_EVERY;
            if self.control.stopped() {
                self.done = true;
                return TERMINATED;
            }
        }
        doc
    }
}

impl DocSet for GuardedScorer {
    fn advance(&mut self) -> DocId {
        if self.done {
            return TERMINATED;
        }
        let doc = self.inner.advance();
        self.tick(doc)
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.done {
            return TERMINATED;
        }
        let doc = self.inner.seek(target);
        self.tick(doc)
    }

    fn doc(&self) -> DocId {
        if self.done {
            TERMINATED
        } else {
            self.inner.doc()
        }
    }

    fn size_hint(&self) -> u32 {
        self.inner.size_hint()
    }

    fn cost(&self) -> u64 {
        self.inner.cost()
    }
}

impl Scorer for GuardedScorer {
    fn score(&mut self) -> Score {
        self.inner.score()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_stops_and_says_why() {
        let control = Control::new(Some(Duration::ZERO), usize::MAX);
        assert!(control.stopped());
        assert!(matches!(control.check(), Err(Stop::TimedOut(_))));
    }

    #[test]
    fn the_budget_stops_a_query_that_holds_too_much() {
        let control = Control::new(None, 1000);
        assert!(control.charge(600).is_ok());
        control.release(600);
        assert!(control.charge(900).is_ok());
        let stop = control.charge(200).expect_err("over");
        assert_eq!(
            stop,
            Stop::OverBudget {
                wanted: 1100,
                limit: 1000
            }
        );
        assert!(stop.to_string().contains("memory budget"));
    }

    #[test]
    fn the_first_reason_stays() {
        let control = Control::new(None, 10);
        control.cancel();
        let _ = control.charge(100);
        assert_eq!(control.reason(), Some(Stop::Cancelled));
    }
}

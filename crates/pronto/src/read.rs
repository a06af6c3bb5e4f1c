//! Reading an event log from a file or standard input: streamed in blocks, parsed in parallel.
//!
//! The workers (one per core) take turns reading the next block of the input (4 MB, cut after
//! its last LF; the partial line after it is carried over to the next block), then parse their
//! block alone with the fast line reader of `pronto_badge::jsonl` (which leaves every unusual
//! line to the exact one). Memory stays bounded by one block per worker plus the compact events;
//! the input is never held whole. Conversation names get ids from one interner shared by the
//! workers, in shards locked a block at a time.
//!
//! At the end the blocks are put back in order: line numbers from the count of lines of the
//! blocks before, conversation ids in order of first use, the events grouped by conversation
//! (each group in the contract's order, which spares the evaluation its own grouping). The log
//! holds exactly the events and names that `jsonl::parse_log` reads from the same bytes, in
//! another order; a refused log names its lowest-numbered bad line whichever worker found an
//! error first, with the exact reader's message.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pronto_badge::jsonl::{LineError, LineEvent, parse_line_fast, parse_text_line_fast};
use pronto_badge::{
    Availability, AvailabilityEvent, ConversationEvent, ConversationId, Fact, Log, Millis,
};
use rustc_hash::FxHashMap;
use std::io::{ErrorKind, Read};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError, TryLockError};

/// Where a log comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    Stdin,
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Line(#[from] LineError),
}

/// The size of a block: large enough that reading and handing over cost little, small enough
/// that both workers stay busy and memory stays low.
const BLOCK_SIZE: usize = 4 << 20;

/// Reads the whole log. `progress` asks for a progress bar on stderr.
pub fn read_log(source: &Source, progress: bool) -> Result<Log, ReadError> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 8));
    match source {
        Source::File(path) => {
            let name = path.display().to_string();
            let io = |source| ReadError::Io {
                path: name.clone(),
                source,
            };
            let file = std::fs::File::open(path).map_err(io)?;
            let size = file
                .metadata()
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len());
            let bar = progress_bar(progress, size);
            let log = read_stream(file, &bar, workers, BLOCK_SIZE).map_err(|e| e.named(&name));
            bar.finish_and_clear();
            log
        }
        Source::Stdin => {
            let bar = progress_bar(progress, None);
            let log = read_stream(std::io::stdin(), &bar, workers, BLOCK_SIZE)
                .map_err(|e| e.named("standard input"));
            bar.finish_and_clear();
            log
        }
    }
}

fn progress_bar(shown: bool, size: Option<u64>) -> ProgressBar {
    if !shown {
        return ProgressBar::hidden();
    }
    let target = ProgressDrawTarget::stderr_with_hz(10);
    match size {
        Some(size) => {
            let bar = ProgressBar::with_draw_target(Some(size), target);
            if let Ok(style) = ProgressStyle::with_template(
                "reading {bar:40} {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
            ) {
                bar.set_style(style);
            }
            bar
        }
        None => {
            let bar = ProgressBar::with_draw_target(None, target);
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} reading {bytes} ({bytes_per_sec})")
            {
                bar.set_style(style);
            }
            bar
        }
    }
}

/// A failure of [`read_stream`], before it knows the input's name.
#[derive(Debug)]
pub enum StreamError {
    Io(std::io::Error),
    Line(LineError),
}

impl StreamError {
    fn named(self, name: &str) -> ReadError {
        match self {
            StreamError::Io(source) => ReadError::Io {
                path: name.to_owned(),
                source,
            },
            StreamError::Line(error) => ReadError::Line(error),
        }
    }
}

/// Reads a log from `input` with `workers` threads and blocks of about `block_size` bytes:
/// the events and names of `jsonl::parse_log` on the same bytes (the events grouped by
/// conversation), or the same error.
pub fn read_stream<R: Read + Send>(
    input: R,
    progress: &ProgressBar,
    workers: usize,
    block_size: usize,
) -> Result<Log, StreamError> {
    let shared = Shared {
        input: Mutex::new(Input {
            reader: input,
            carry: Vec::new(),
            next_block: 0,
            finished: false,
            error: None,
        }),
        first_bad_block: AtomicUsize::new(usize::MAX),
        progress,
        block_size: block_size.max(1),
        shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
    };
    let outputs: Vec<WorkerOutput> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers.max(1))
            .map(|_| scope.spawn(|| work(&shared)))
            .collect();
        handles
            .into_iter()
            .map(|handle| match handle.join() {
                Ok(output) => output,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    let input = shared
        .input
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    let shards = shared
        .shards
        .into_iter()
        .map(|shard| shard.into_inner().unwrap_or_else(PoisonError::into_inner))
        .collect();
    assemble(outputs, shards, input.error, workers)
}

struct Shared<'p, R> {
    input: Mutex<Input<R>>,
    /// The lowest index of a block where a bad line was found: no block after it is read.
    first_bad_block: AtomicUsize,
    progress: &'p ProgressBar,
    block_size: usize,
    /// The conversations met so far, shared by the workers, in shards by their names' hash.
    shards: Vec<Mutex<Shard>>,
}

struct Input<R> {
    reader: R,
    /// The partial line after the last LF of the block read last.
    carry: Vec<u8>,
    next_block: usize,
    finished: bool,
    error: Option<std::io::Error>,
}

impl<R: Read> Shared<'_, R> {
    /// Reads the next block into `buffer` (its length is its capacity; it grows only for a line
    /// longer than a block): `(index, length)`, or `None` when there is nothing more to read.
    fn next_block(&self, buffer: &mut Vec<u8>) -> Option<(usize, usize)> {
        let mut input = self.input.lock().unwrap_or_else(PoisonError::into_inner);
        if input.finished || input.next_block > self.first_bad_block.load(Ordering::Relaxed) {
            return None;
        }
        let input = &mut *input;
        let carried = input.carry.len();
        if buffer.len() < self.block_size.max(carried * 2) {
            buffer.resize(self.block_size.max(carried * 2), 0);
        }
        buffer[..carried].copy_from_slice(&input.carry);
        input.carry.clear();
        let mut filled = carried;
        let end = loop {
            if filled == buffer.len() {
                if let Some(last_lf) = memchr::memrchr(b'\n', &buffer[carried..filled]) {
                    let end = carried + last_lf + 1;
                    input.carry.extend_from_slice(&buffer[end..filled]);
                    break end;
                }
                // A line longer than the buffer: make room for more of it.
                let longer = buffer.len() * 2;
                buffer.resize(longer, 0);
            }
            match input.reader.read(&mut buffer[filled..]) {
                Ok(0) => {
                    input.finished = true;
                    break filled;
                }
                Ok(n) => {
                    filled += n;
                    self.progress.inc(n as u64);
                }
                Err(error) if error.kind() == ErrorKind::Interrupted => {}
                Err(error) => {
                    input.error = Some(error);
                    input.finished = true;
                    return None;
                }
            }
        };
        if end == 0 {
            return None;
        }
        let index = input.next_block;
        input.next_block += 1;
        Some((index, end))
    }
}

/// One conversation event as a worker keeps it: 16 bytes.
#[derive(Clone, Copy)]
struct Compact {
    at: Millis,
    /// The conversation: its shard and its id there (see [`Shard::encode`]), then the log's
    /// id.
    conversation: u32,
    /// The line's index within its block.
    line: u32,
}

/// What a worker found in one block.
struct BlockOutput {
    index: usize,
    /// The block's LFs: the lines it holds, but for an unterminated last line.
    lines: u64,
    events: Vec<Compact>,
    facts: Vec<Fact>,
    availability: Vec<(u32, Millis, Availability)>,
    /// The first bad line: its index within the block and what is wrong with it.
    error: Option<(u32, String)>,
}

struct WorkerOutput {
    blocks: Vec<BlockOutput>,
    /// Room for a block's names (a long one as its index in `long_names`), its events with
    /// their names' hashes, and those by shard.
    names: Vec<ShortName>,
    long_names: Vec<String>,
    pending: Vec<(u32, u64)>,
    by_shard: Vec<(u32, u64)>,
}

/// A conversation name of at most 24 bytes, held inline: hashing and comparing it reads no
/// other memory (most names are short, and the interner's lookups are the reader's hot spot).
#[derive(Clone, Copy, PartialEq, Eq)]
struct ShortName {
    words: [u64; 3],
    /// The name's length; `EMPTY` marks an empty slot, `LONG` a name too long to be held.
    len: u32,
    /// The name's id, in the interner's table (0 elsewhere).
    id: u32,
}

impl ShortName {
    const MAX: usize = 24;
    const EMPTY: ShortName = ShortName {
        words: [0; 3],
        len: u32::MAX,
        id: 0,
    };
    const LONG: ShortName = ShortName {
        words: [0; 3],
        len: u32::MAX - 1,
        id: 0,
    };

    /// The name held inline, or `LONG`.
    #[inline]
    fn new(name: &[u8]) -> Self {
        #[inline]
        fn word(bytes: &[u8]) -> u64 {
            match bytes.get(..8) {
                Some(eight) => {
                    let mut w = [0u8; 8];
                    w.copy_from_slice(eight);
                    u64::from_le_bytes(w)
                }
                None => bytes.iter().rev().fold(0, |w, &b| (w << 8) | u64::from(b)),
            }
        }
        if name.len() > Self::MAX {
            return Self::LONG;
        }
        let tail = |from: usize| name.get(from..).unwrap_or_default();
        Self {
            words: [word(name), word(tail(8)), word(tail(16))],
            len: name.len() as u32,
            id: 0,
        }
    }

    fn is_long(&self) -> bool {
        self.len == Self::LONG.len
    }

    #[inline]
    fn same_name(&self, other: &ShortName) -> bool {
        self.words == other.words && self.len == other.len
    }

    #[inline]
    fn hash(&self) -> u64 {
        const K: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut h = (self.words[0] ^ u64::from(self.len)).wrapping_mul(K);
        h = (h.rotate_left(29) ^ self.words[1]).wrapping_mul(K);
        h = (h.rotate_left(29) ^ self.words[2]).wrapping_mul(K);
        h ^ (h >> 29)
    }

    fn to_name(self) -> Box<str> {
        let mut bytes = [0u8; Self::MAX];
        for (i, word) in self.words.iter().enumerate() {
            bytes[i * 8..i * 8 + 8].copy_from_slice(&word.to_le_bytes());
        }
        // The bytes came from a `str`: this is never lossy.
        String::from_utf8_lossy(&bytes[..self.len as usize]).into()
    }
}

/// Short names to ids: open addressing, linear probing, at most half full, each slot one
/// `ShortName` of 32 bytes, so that a lookup mostly reads one cache line.
struct ShortTable {
    slots: Vec<ShortName>,
    len: usize,
}

impl Default for ShortTable {
    fn default() -> Self {
        Self {
            slots: vec![ShortName::EMPTY; 1 << 8],
            len: 0,
        }
    }
}

impl ShortTable {
    #[inline]
    fn get_or_insert(&mut self, key: ShortName, hash: u64, next: u32) -> u32 {
        let mask = self.slots.len() - 1;
        let mut i = hash as usize & mask;
        loop {
            let slot = &mut self.slots[i];
            if slot.same_name(&key) {
                return slot.id;
            }
            if slot.len == ShortName::EMPTY.len {
                *slot = ShortName { id: next, ..key };
                self.len += 1;
                if self.len * 2 > self.slots.len() {
                    self.grow();
                }
                return next;
            }
            i = (i + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let doubled = vec![ShortName::EMPTY; self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, doubled);
        let mask = self.slots.len() - 1;
        for entry in old.into_iter().filter(|e| e.len != ShortName::EMPTY.len) {
            let mut i = entry.hash() as usize & mask;
            while self.slots[i].len != ShortName::EMPTY.len {
                i = (i + 1) & mask;
            }
            self.slots[i] = entry;
        }
    }

    fn entries(&self) -> impl Iterator<Item = &ShortName> {
        self.slots.iter().filter(|e| e.len != ShortName::EMPTY.len)
    }
}

/// How many shards the conversations are spread over (by the top bits of their names' hash),
/// and the bits of a shard's ids.
const SHARD_BITS: u32 = 6;
const SHARDS: usize = 1 << SHARD_BITS;
const ID_BITS: u32 = 32 - SHARD_BITS;

/// The conversations of one shard: their ids there, dense from 0, and where each was met first.
///
/// A worker interns a block's names shard by shard, each shard under its lock once: a shard
/// (a sixty-fourth of the names) stays in the CPU's cache while it is looked up, where one table
/// of a million names would cost a cache miss and a TLB miss for nearly every event.
#[derive(Default)]
struct Shard {
    short: ShortTable,
    long: FxHashMap<Box<str>, u32>,
    /// By id: where the name was met first, as `(block index << 32) | event index in block`
    /// (the lowest position any worker saw, whichever interned it first).
    first_use: Vec<u64>,
}

impl Shard {
    fn len(&self) -> usize {
        self.first_use.len()
    }

    /// A shard's id as a compact event holds it. (Shards hold at most 2^26 ids: the log's ids
    /// are `u32`, 64 times more.)
    fn encode(shard: usize, id: u32) -> u32 {
        ((shard as u32) << ID_BITS) | id
    }

    fn decode(encoded: u32) -> (usize, u32) {
        (
            (encoded >> ID_BITS) as usize,
            encoded & ((1 << ID_BITS) - 1),
        )
    }

    #[inline]
    fn seen_at(&mut self, id: u32, position: u64) -> u32 {
        if id as usize == self.first_use.len() {
            self.first_use.push(position);
        } else if position < self.first_use[id as usize] {
            self.first_use[id as usize] = position;
        }
        id
    }

    /// The id of a short name (not `LONG`) met at `position`.
    #[inline]
    fn intern_short(&mut self, key: ShortName, hash: u64, position: u64) -> Option<u32> {
        let next = self.len() as u32;
        if next >> ID_BITS != 0 {
            return None;
        }
        let id = self.short.get_or_insert(key, hash, next);
        Some(self.seen_at(id, position))
    }

    /// The id of a name met at `position`.
    fn intern_long(&mut self, name: &str, position: u64) -> Option<u32> {
        let id = match self.long.get(name) {
            Some(&id) => id,
            None => {
                let id = self.len() as u32;
                if id >> ID_BITS != 0 {
                    return None;
                }
                self.long.insert(name.into(), id);
                id
            }
        };
        Some(self.seen_at(id, position))
    }
}

/// The shard of a name too long to be a `ShortName`.
fn long_name_shard(name: &str) -> usize {
    let hash = name
        .as_bytes()
        .chunks(ShortName::MAX)
        .fold(0u64, |h, chunk| {
            h.rotate_left(5) ^ ShortName::new(chunk).hash()
        });
    (hash.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - SHARD_BITS)) as usize
}

fn work<R: Read>(shared: &Shared<'_, R>) -> WorkerOutput {
    let mut buffer = Vec::new();
    let mut output = WorkerOutput {
        blocks: Vec::new(),
        names: Vec::new(),
        long_names: Vec::new(),
        pending: Vec::new(),
        by_shard: Vec::new(),
    };
    while let Some((index, end)) = shared.next_block(&mut buffer) {
        let mut text = &buffer[..end];
        if index == 0 {
            text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
        }
        let mut block = parse_block(index, text, &mut output);
        if block.error.is_none() {
            intern_block(&mut block, &mut output, &shared.shards);
        }
        if block.error.is_some() {
            shared.first_bad_block.fetch_min(index, Ordering::Relaxed);
        }
        output.blocks.push(block);
    }
    output
}

/// Parses a block; its conversation events' names are left in `output.names` (and
/// `output.long_names`), one for each, for [`intern_block`].
fn parse_block(index: usize, text: &[u8], output: &mut WorkerOutput) -> BlockOutput {
    let estimate = text.len() / 100;
    let mut block = BlockOutput {
        index,
        lines: 0,
        events: Vec::with_capacity(estimate),
        facts: Vec::with_capacity(estimate),
        availability: Vec::new(),
        error: None,
    };
    let names = &mut output.names;
    names.clear();
    let long_names = &mut output.long_names;
    long_names.clear();
    // Checking a whole block at once is faster than line by line.
    let utf8 = std::str::from_utf8(text).ok();
    let mut line_index: u32 = 0;
    let mut start = 0;
    while start < text.len() {
        let end = match memchr::memchr(b'\n', &text[start..]) {
            Some(lf) => {
                block.lines += 1;
                start + lf
            }
            None => text.len(),
        };
        let parsed = match utf8.and_then(|utf8| utf8.get(start..end)) {
            Some(line) => parse_text_line_fast(line),
            None => parse_line_fast(&text[start..end]),
        };
        start = end + 1;
        match parsed {
            Ok(Some(LineEvent::Conversation {
                at,
                conversation,
                fact,
            })) => {
                let mut name = ShortName::new(conversation.as_bytes());
                if name.is_long() {
                    name.words[0] = long_names.len() as u64;
                    long_names.push(conversation.into_owned());
                }
                names.push(name);
                block.events.push(Compact {
                    at,
                    conversation: 0,
                    line: line_index,
                });
                block.facts.push(fact);
            }
            Ok(Some(LineEvent::Availability { at, availability })) => {
                block.availability.push((line_index, at, availability));
            }
            Ok(None) => {}
            Err(reason) => {
                block.error = Some((line_index, reason));
                return block;
            }
        }
        line_index += 1;
    }
    block
}

/// Gives the events of a parsed block their conversations' ids from the shared shards: the
/// block's names sorted by shard, each shard's looked up under its lock once.
fn intern_block(block: &mut BlockOutput, output: &mut WorkerOutput, shards: &[Mutex<Shard>]) {
    let (names, long_names) = (&output.names, &output.long_names);
    let shard_of = |hash: u64| (hash >> (64 - SHARD_BITS)) as usize;

    // The events with their names' hashes.
    let pending = &mut output.pending;
    pending.clear();
    let mut starts = [0usize; SHARDS + 1];
    for (i, name) in names.iter().enumerate() {
        let hash = if name.is_long() {
            (long_name_shard(&long_names[name.words[0] as usize]) as u64) << (64 - SHARD_BITS)
        } else {
            name.hash()
        };
        pending.push((i as u32, hash));
        starts[shard_of(hash) + 1] += 1;
    }
    for s in 1..=SHARDS {
        starts[s] += starts[s - 1];
    }
    let by_shard = &mut output.by_shard;
    by_shard.clear();
    by_shard.resize(pending.len(), (0, 0));
    let mut next = starts;
    for &(i, hash) in pending.iter() {
        let slot = &mut next[shard_of(hash)];
        by_shard[*slot] = (i, hash);
        *slot += 1;
    }

    // The workers start at different shards, and leave a shard that the other one holds for
    // later: waiting for a lock would waste a core (or worse, wait for a worker the system
    // has put aside).
    let first = block.index.wrapping_mul(23) % SHARDS;
    let names = BlockNames {
        names,
        long_names,
        position: (block.index as u64) << 32,
    };
    let mut later = Vec::new();
    for k in 0..SHARDS {
        let s = (first + k) % SHARDS;
        let events = &by_shard[starts[s]..starts[s + 1]];
        if events.is_empty() {
            continue;
        }
        match shards[s].try_lock() {
            Ok(mut shard) => names.intern(block, &mut shard, s, events),
            Err(TryLockError::Poisoned(poisoned)) => {
                names.intern(block, &mut poisoned.into_inner(), s, events)
            }
            Err(TryLockError::WouldBlock) => later.push(s),
        }
    }
    for s in later {
        let mut shard = shards[s].lock().unwrap_or_else(PoisonError::into_inner);
        names.intern(block, &mut shard, s, &by_shard[starts[s]..starts[s + 1]]);
    }
}

/// The names of a block's conversation events, one for each.
struct BlockNames<'a> {
    names: &'a [ShortName],
    long_names: &'a [String],
    /// The block's index, as positions have it.
    position: u64,
}

impl BlockNames<'_> {
    /// Interns the names of `events` (indices in the block, and their names' hashes), all of
    /// shard `s`.
    fn intern(&self, block: &mut BlockOutput, shard: &mut Shard, s: usize, events: &[(u32, u64)]) {
        // First a load of each slot to be looked up, each independent of the others, so that
        // their cache misses overlap instead of coming one after the other (safe Rust has no
        // prefetch instruction; this is one).
        let slots = &shard.short.slots;
        let mask = slots.len() - 1;
        let touched = events.iter().fold(0u32, |sum, &(_, hash)| {
            sum.wrapping_add(slots[hash as usize & mask].len)
        });
        std::hint::black_box(touched);
        for &(i, hash) in events {
            let (name, position) = (&self.names[i as usize], self.position | u64::from(i));
            let id = if name.is_long() {
                shard.intern_long(&self.long_names[name.words[0] as usize], position)
            } else {
                shard.intern_short(*name, hash, position)
            };
            // More than 2^26 names in a shard: more conversations than a log's ids can number.
            let id = id.expect("fewer than 2^32 conversations");
            block.events[i as usize].conversation = Shard::encode(s, id);
        }
    }
}

/// Puts the workers' blocks together into one log, or names the lowest bad line.
///
/// The log's conversations get ids in order of first use, as `jsonl::parse_log` gives them,
/// and its events are grouped by conversation, each group in the contract's order (so that
/// the evaluation needs no grouping of its own): the events of `parse_log`, in another order.
/// Everything done event by event is done by `threads` threads.
fn assemble(
    outputs: Vec<WorkerOutput>,
    shards: Vec<Shard>,
    io_error: Option<std::io::Error>,
    threads: usize,
) -> Result<Log, StreamError> {
    let mut blocks: Vec<BlockOutput> = outputs
        .into_iter()
        .flat_map(|output| output.blocks)
        .collect();
    blocks.sort_unstable_by_key(|block| block.index);

    // Line numbers: every block before a bad one was read and parsed whole.
    let mut first_lines = Vec::with_capacity(blocks.len());
    let mut first_line = 1u64;
    for block in &blocks {
        if let Some((line, reason)) = &block.error {
            return Err(StreamError::Line(LineError {
                line: first_line + u64::from(*line),
                reason: reason.clone(),
            }));
        }
        first_lines.push(first_line);
        first_line += block.lines;
    }
    if let Some(error) = io_error {
        return Err(StreamError::Io(error));
    }

    // The shards' ids one after the other, then the log's ids, by order of first use.
    let mut bases = Vec::with_capacity(shards.len());
    let mut order: Vec<(u64, u32)> = Vec::new();
    for shard in &shards {
        bases.push(order.len() as u32);
        let base = order.len();
        order.extend(
            (shard.first_use.iter().enumerate()).map(|(id, &first)| (first, (base + id) as u32)),
        );
    }
    order.sort_unstable();
    let mut log_ids = vec![0u32; order.len()];
    for (id, &(_, c)) in order.iter().enumerate() {
        log_ids[c as usize] = id as u32;
    }
    let mut names = Names::default();
    for shard in shards {
        names.add(shard);
    }

    let threads = threads.max(1);
    let share = order.len().div_ceil(threads).max(1);
    let conversation_names: Vec<String> = std::thread::scope(|scope| {
        let names = &names;
        let handles: Vec<_> = order
            .chunks(share)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|&(_, c)| names.name(c))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(join).collect()
    });
    drop((order, names));

    let mut blocks: Vec<Block> = blocks
        .into_iter()
        .zip(first_lines)
        .map(|(output, first_line)| Block { output, first_line })
        .collect();
    let log_id = |encoded: u32| {
        let (shard, id) = Shard::decode(encoded);
        log_ids[(bases[shard] + id) as usize]
    };
    let conversation_events = group_events(&mut blocks, &log_id, conversation_names.len(), threads);
    let mut availability_events = Vec::new();
    for block in &blocks {
        for &(line, at, availability) in &block.output.availability {
            availability_events.push(AvailabilityEvent {
                at,
                seq: block.first_line + u64::from(line),
                availability,
            });
        }
    }
    Ok(Log {
        conversation_events,
        availability_events,
        conversation_names,
    })
}

/// A parsed block and where it stands.
struct Block {
    output: BlockOutput,
    first_line: u64,
}

/// The blocks' conversation events, grouped by conversation (ids ascending), each group in
/// the contract's order: a counting sort, each thread filling the groups of a range of ids.
/// `log_id` gives the log's id of a conversation as the blocks' events have it.
fn group_events(
    blocks: &mut [Block],
    log_id: &(dyn Fn(u32) -> u32 + Sync),
    conversations: usize,
    threads: usize,
) -> Vec<ConversationEvent> {
    // The log's ids in place of the shards', and the events of each conversation counted,
    // each thread over a share of the blocks; meanwhile another makes room for the events.
    let total: usize = blocks.iter().map(|block| block.output.events.len()).sum();
    let share = blocks.len().div_ceil(threads).max(1);
    let (partial, mut events) = std::thread::scope(|scope| {
        let room = scope.spawn(move || vec![PLACEHOLDER; total]);
        let handles: Vec<_> = blocks
            .chunks_mut(share)
            .map(|blocks| {
                scope.spawn(move || {
                    let mut counts = vec![0u32; conversations];
                    for block in blocks {
                        for event in &mut block.output.events {
                            event.conversation = log_id(event.conversation);
                            counts[event.conversation as usize] += 1;
                        }
                    }
                    counts
                })
            })
            .collect();
        let partial: Vec<Vec<u32>> = handles.into_iter().map(join).collect();
        (partial, join(room))
    });
    let mut bounds = Vec::with_capacity(conversations + 1);
    bounds.push(0usize);
    let mut counted = 0;
    for c in 0..conversations {
        counted += partial
            .iter()
            .map(|counts| counts[c] as usize)
            .sum::<usize>();
        bounds.push(counted);
    }
    drop(partial);

    // Ranges of conversations with about as many events each, one per thread, each filling
    // its share of the log's events.
    let mut cuts = vec![0];
    for k in 1..threads {
        let cut = bounds.partition_point(|&b| b < k * total / threads);
        if cut > *cuts.last().unwrap_or(&0) && cut < conversations {
            cuts.push(cut);
        }
    }
    cuts.push(conversations);
    let (blocks, bounds) = (&*blocks, &bounds);
    std::thread::scope(|scope| {
        let mut rest = &mut events[..];
        for range in cuts.windows(2) {
            let (low, high) = (range[0], range[1]);
            let (share, tail) = rest.split_at_mut(bounds[high] - bounds[low]);
            rest = tail;
            scope.spawn(move || fill_groups(blocks, bounds, low..high, share));
        }
    });
    events
}

/// How many conversations share a bucket of the counting sort's first pass.
const BUCKET: usize = 2048;

/// Fills `events` with the events of the `conversations` (a range of the log's ids, `bounds`
/// their groups' bounds in the whole log), grouped, each group in the contract's order.
///
/// Writing each event straight to its group's place would touch a new page for nearly every
/// event (the groups span hundreds of MB): first the events go to buckets of `BUCKET`
/// conversations, each written in sequence, then each bucket is sorted out in the cache.
fn fill_groups(
    blocks: &[Block],
    bounds: &[usize],
    conversations: Range<usize>,
    events: &mut [ConversationEvent],
) {
    let (low, high) = (conversations.start, conversations.end);
    let offset = bounds[low];

    // By bucket, in file order.
    let bucket_bounds: Vec<usize> = (low..high)
        .step_by(BUCKET)
        .chain([high])
        .map(|c| bounds[c] - offset)
        .collect();
    let mut next = bucket_bounds[..bucket_bounds.len() - 1].to_vec();
    let (low32, high32) = (low as u32, high as u32);
    for block in blocks {
        let output = &block.output;
        for (event, &fact) in output.events.iter().zip(&output.facts) {
            if (low32..high32).contains(&event.conversation) {
                let slot = &mut next[(event.conversation - low32) as usize / BUCKET];
                events[*slot] = ConversationEvent {
                    at: event.at,
                    seq: block.first_line + u64::from(event.line),
                    conversation: ConversationId(event.conversation),
                    fact,
                };
                *slot += 1;
            }
        }
    }

    // Each bucket by conversation, still in file order within each; then in the contract's.
    let mut bucket = Vec::new();
    let mut group_next = Vec::with_capacity(BUCKET);
    for (b, w) in bucket_bounds.windows(2).enumerate() {
        let first = low + b * BUCKET;
        let region = &mut events[w[0]..w[1]];
        bucket.clear();
        bucket.extend_from_slice(region);
        group_next.clear();
        group_next.extend((first..(first + BUCKET).min(high)).map(|c| bounds[c] - offset - w[0]));
        for event in &bucket {
            let slot = &mut group_next[event.conversation.0 as usize - first];
            region[*slot] = *event;
            *slot += 1;
        }
        for c in first..(first + BUCKET).min(high) {
            let group = &mut events[bounds[c] - offset..bounds[c + 1] - offset];
            if !group.is_sorted_by_key(ConversationEvent::position) {
                group.sort_unstable_by_key(ConversationEvent::position);
            }
        }
    }
}

const PLACEHOLDER: ConversationEvent = ConversationEvent {
    at: 0,
    seq: 0,
    conversation: ConversationId(0),
    fact: Fact::Message(pronto_badge::Author::Customer),
};

fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// The conversations' names by canonical id, as the interners held them.
#[derive(Default)]
struct Names {
    /// A short name, or `ShortName::LONG`.
    short: Vec<ShortName>,
    long: FxHashMap<u32, Box<str>>,
}

impl Names {
    fn add(&mut self, shard: Shard) {
        let offset = self.short.len();
        self.short.resize(offset + shard.len(), ShortName::LONG);
        for entry in shard.short.entries() {
            self.short[offset + entry.id as usize] = ShortName { id: 0, ..*entry };
        }
        for (name, id) in shard.long {
            self.long.insert((offset + id as usize) as u32, name);
        }
    }

    fn name(&self, c: u32) -> String {
        match self.short.get(c as usize) {
            Some(short) if !short.is_long() => short.to_name().into_string(),
            _ => self
                .long
                .get(&c)
                .map_or_else(String::new, |name| name.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pronto_badge::jsonl::parse_log;

    /// The log read, its events back in file order, after checking that they came grouped by
    /// conversation, each group in the contract's order.
    fn read(bytes: &[u8], workers: usize, block_size: usize) -> Result<Log, String> {
        read_stream(bytes, &ProgressBar::hidden(), workers, block_size)
            .map(in_file_order)
            .map_err(|e| match e {
                StreamError::Io(e) => format!("io: {e}"),
                StreamError::Line(e) => e.to_string(),
            })
    }

    fn in_file_order(mut log: Log) -> Log {
        for pair in log.conversation_events.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            assert!(
                a.conversation < b.conversation
                    || a.conversation == b.conversation && a.position() < b.position(),
                "grouped: {a:?} then {b:?}"
            );
        }
        log.conversation_events.sort_by_key(|e| e.seq);
        log
    }

    fn exact(bytes: &[u8]) -> Result<Log, String> {
        parse_log(bytes).map_err(|e| e.to_string())
    }

    /// Every block size from one byte up, with one to three workers: the exact reader's log.
    fn same_as_exact(bytes: &[u8]) {
        let expected = exact(bytes);
        for workers in 1..=3 {
            for block_size in (1..=bytes.len() + 2).chain([64, 4096]) {
                assert_eq!(
                    read(bytes, workers, block_size),
                    expected,
                    "{workers} workers, blocks of {block_size}"
                );
            }
        }
    }

    const MESSAGE: &str =
        r#"{"type":"message","conversation":"c1","at":"2026-11-01T10:00:00Z","author":"customer"}"#;

    #[test]
    fn reads_like_the_exact_reader_whatever_the_blocks() {
        let text = format!(
            "\u{feff}{MESSAGE}\r\n\n   \r\n{}\n{}\r\n{}",
            MESSAGE.replace("c1", "c2").replace("customer", "agent"),
            r#"{"type":"availability","at":"2026-11-01T19:00:00Z","status":"away"}"#,
            MESSAGE.replace("c1", "c\\u0031").replace("10:00", "09:00"),
        );
        same_as_exact(text.as_bytes());
        let log = read(text.as_bytes(), 2, 7).unwrap();
        assert_eq!(log.conversation_names, ["c1", "c2"]);
        let seqs: Vec<u64> = log.conversation_events.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [1, 4, 6]);
        assert_eq!(log.availability_events[0].seq, 5);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        /// Random logs (many conversations, short and long names, out-of-order lines, blank
        /// lines, CRLF, sometimes a bad line or two), random blocks and workers: the exact
        /// reader's log, or its error.
        #[test]
        fn reads_random_logs_like_the_exact_reader(
            lines in proptest::collection::vec(
                (0u8..12, 0u32..40, 0i64..500, proptest::bool::ANY), 0..120),
            block_size in 1usize..400,
            workers in 1usize..4,
        ) {
            let mut text = String::new();
            for (kind, conversation, minute, crlf) in lines {
                let at = pronto_badge::format_instant(1_790_000_000_000 + minute * 60_000);
                let name = if conversation % 7 == 0 {
                    format!("a-conversation-with-a-rather-long-name-{conversation}")
                } else {
                    format!("c{conversation}")
                };
                let line = match kind {
                    0 => String::new(),
                    1 => "   ".to_owned(),
                    2 if conversation == 3 => "{\"type\":\"message\"}".to_owned(),
                    3 => format!(r#"{{"type":"availability","at":"{at}","status":"away"}}"#),
                    4 => format!(r#"{{"type":"status","conversation":"{name}","at":"{at}","status":"done"}}"#),
                    5 => format!(r#"{{"at":"{at}","author":"agent","conversation":"{name}","type":"message","text":"é\n"}}"#),
                    _ => format!(r#"{{"type":"message","conversation":"{name}","at":"{at}","author":"customer"}}"#),
                };
                text.push_str(&line);
                text.push_str(if crlf { "\r\n" } else { "\n" });
            }
            let bytes = text.as_bytes();
            proptest::prop_assert_eq!(read(bytes, workers, block_size), exact(bytes));
        }
    }

    #[test]
    fn skips_the_bom_only_at_the_start() {
        same_as_exact(format!("\u{feff}{MESSAGE}\n").as_bytes());
        same_as_exact(format!("{MESSAGE}\n\u{feff}{MESSAGE}\n").as_bytes());
        same_as_exact(b"\xEF\xBB\xBF");
        same_as_exact(b"\xEF\xBB");
    }

    #[test]
    fn empty_and_blank_inputs() {
        for text in ["", "\n", "\r\n", "  \n\t\n", "\n\n\n"] {
            same_as_exact(text.as_bytes());
            assert_eq!(read(text.as_bytes(), 2, 1), Ok(Log::default()));
        }
    }

    #[test]
    fn the_lowest_bad_line_wins_whichever_block_fails_first() {
        let mut text = String::new();
        for i in 0..400 {
            let line = match i {
                150 => "{\"type\":\"message\"}".to_owned(),
                151 | 300 | 399 => "not json".to_owned(),
                _ => MESSAGE.replace("c1", &format!("c{}", i % 37)),
            };
            text.push_str(&line);
            text.push('\n');
        }
        let expected = exact(text.as_bytes());
        assert_eq!(
            expected.clone().unwrap_err(),
            "line 151: missing field \"conversation\""
        );
        for workers in 1..=4 {
            for block_size in [1, 50, 100, 1000, 5000, 1 << 20] {
                assert_eq!(read(text.as_bytes(), workers, block_size), expected);
            }
        }
        // A bad last line without LF, and a bad line after many good blocks.
        same_as_exact(format!("{MESSAGE}\n{MESSAGE}\n[1]").as_bytes());
    }

    #[test]
    fn a_line_longer_than_a_block() {
        let long = MESSAGE.replace(
            "\"c1\"",
            &format!("\"c1\",\"text\":\"{}\"", "x".repeat(10_000)),
        );
        let text = format!("{MESSAGE}\n{long}\n{MESSAGE}\n{long}");
        for workers in 1..=2 {
            for block_size in [1, 10, 100, 9_000, 20_000] {
                assert_eq!(
                    read(text.as_bytes(), workers, block_size),
                    exact(text.as_bytes())
                );
            }
        }
    }

    /// A reader that gives a few bytes at a time, as a pipe does, then fails.
    struct Trickle<'a> {
        bytes: &'a [u8],
        step: usize,
        fail_at_end: bool,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.bytes.is_empty() && self.fail_at_end {
                return Err(std::io::Error::other("broken pipe"));
            }
            let n = self.step.min(out.len()).min(self.bytes.len());
            out[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    #[test]
    fn reads_a_trickling_stream_and_reports_its_failure() {
        let text = format!("{MESSAGE}\n{}\n", MESSAGE.replace("c1", "c2")).repeat(50);
        for step in [1, 3, 64] {
            let input = Trickle {
                bytes: text.as_bytes(),
                step,
                fail_at_end: false,
            };
            let log = read_stream(input, &ProgressBar::hidden(), 2, 256)
                .map(in_file_order)
                .map_err(|_| ());
            assert_eq!(log, exact(text.as_bytes()).map_err(|_| ()));
        }
        let failing = Trickle {
            bytes: text.as_bytes(),
            step: 7,
            fail_at_end: true,
        };
        match read_stream(failing, &ProgressBar::hidden(), 2, 256) {
            Err(StreamError::Io(error)) => assert_eq!(error.to_string(), "broken pipe"),
            other => panic!("{:?}", other.map(|_| ())),
        }
    }
}

//! Reading an event log from a file or standard input: streamed in blocks, parsed in parallel.
//!
//! The workers (one per core) take turns reading the next block of the input (a few MB, cut
//! after its last LF; the partial line after it is carried over to the next block), then parse
//! their block alone: the fast line reader of `pronto_badge::jsonl`, each worker giving its own
//! dense ids to the conversations it meets. Memory stays bounded by one block per worker plus
//! the compact events. At the end the blocks are put back in order: line numbers from the
//! count of lines of the blocks before, conversation ids renumbered in order of first use, so
//! that the log is exactly the one `jsonl::parse_log` reads from the same bytes, and a refused
//! log names its lowest-numbered bad line whichever worker found an error first.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pronto_badge::jsonl::{LineError, LineEvent, parse_line_fast, parse_text_line_fast};
use pronto_badge::{
    Availability, AvailabilityEvent, ConversationEvent, ConversationId, Fact, Log, Millis,
};
use rustc_hash::FxHashMap;
use std::io::{ErrorKind, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

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
/// the same log as `jsonl::parse_log` on the same bytes, or the same error.
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
    assemble(outputs, input.error)
}

struct Shared<'p, R> {
    input: Mutex<Input<R>>,
    /// The lowest index of a block where a bad line was found: no block after it is read.
    first_bad_block: AtomicUsize,
    progress: &'p ProgressBar,
    block_size: usize,
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
    /// The worker's own id of the conversation.
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
    /// The worker's own ids of the conversations it met.
    ids: Interner,
    /// Room for a block's names.
    names: Vec<ShortName>,
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

impl ShortTable {
    fn new() -> Self {
        Self {
            slots: vec![ShortName::EMPTY; 1 << 12],
            len: 0,
        }
    }

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

    fn get(&self, key: &ShortName) -> Option<u32> {
        let mask = self.slots.len() - 1;
        let mut i = key.hash() as usize & mask;
        loop {
            let slot = &self.slots[i];
            if slot.same_name(key) {
                return Some(slot.id);
            }
            if slot.len == ShortName::EMPTY.len {
                return None;
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

/// Dense ids for conversation names, from 0 in order of first use.
struct Interner {
    short: ShortTable,
    long: FxHashMap<Box<str>, u32>,
    /// The names met last, by their hash: most events are in a conversation that had one
    /// shortly before, and this small table stays in the CPU's cache when the big one does not.
    recent: Vec<ShortName>,
}

impl Default for Interner {
    fn default() -> Self {
        Self {
            short: ShortTable::new(),
            long: FxHashMap::default(),
            recent: vec![ShortName::EMPTY; Self::RECENT],
        }
    }
}

impl Interner {
    const RECENT: usize = 1 << 14;

    fn len(&self) -> usize {
        self.short.len + self.long.len()
    }

    /// Reads the slots where `names` will be looked up, one independent load each, so that
    /// their cache misses overlap instead of coming one after the other (safe Rust has no
    /// prefetch instruction; this is one).
    #[inline]
    fn touch(&self, names: &[ShortName]) {
        let mask = self.short.slots.len() - 1;
        let mut sum = 0u32;
        for name in names {
            sum = sum.wrapping_add(self.short.slots[name.hash() as usize & mask].len);
        }
        std::hint::black_box(sum);
    }

    /// The id of a short name (not `LONG`).
    #[inline]
    fn intern_short(&mut self, key: ShortName) -> u32 {
        let hash = key.hash();
        let slot = (hash >> 40) as usize & (Self::RECENT - 1);
        if self.recent[slot].same_name(&key) {
            return self.recent[slot].id;
        }
        let next = self.len() as u32;
        let id = self.short.get_or_insert(key, hash, next);
        self.recent[slot] = ShortName { id, ..key };
        id
    }

    fn intern_long(&mut self, name: &str) -> u32 {
        match self.long.get(name) {
            Some(&id) => id,
            None => {
                let id = self.len() as u32;
                self.long.insert(name.into(), id);
                id
            }
        }
    }

    /// The names, by id.
    fn into_names(self) -> Vec<Box<str>> {
        let mut names: Vec<Box<str>> = vec![Box::default(); self.len()];
        for entry in self.short.entries() {
            names[entry.id as usize] = entry.to_name();
        }
        for (name, id) in self.long {
            names[id as usize] = name;
        }
        names
    }
}

fn work<R: Read>(shared: &Shared<'_, R>) -> WorkerOutput {
    let mut buffer = Vec::new();
    let mut output = WorkerOutput {
        blocks: Vec::new(),
        ids: Interner::default(),
        names: Vec::new(),
    };
    while let Some((index, end)) = shared.next_block(&mut buffer) {
        let mut text = &buffer[..end];
        if index == 0 {
            text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
        }
        let block = parse_block(index, text, &mut output);
        if block.error.is_some() {
            shared.first_bad_block.fetch_min(index, Ordering::Relaxed);
        }
        output.blocks.push(block);
    }
    output
}

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
    // The conversations' names, interned once the block is parsed: one after the other, the
    // lookups overlap their cache misses.
    let names = &mut output.names;
    names.clear();
    let mut long_names = Vec::new();
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
                let name = ShortName::new(conversation.as_bytes());
                if name == ShortName::LONG {
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
    let mut long_names = long_names.iter();
    for (events, names) in block.events.chunks_mut(32).zip(names.chunks(32)) {
        output.ids.touch(names);
        for (event, name) in events.iter_mut().zip(names) {
            event.conversation = if *name == ShortName::LONG {
                let name = long_names.next().map_or("", String::as_str);
                output.ids.intern_long(name)
            } else {
                output.ids.intern_short(*name)
            };
        }
    }
    block
}

/// Puts the workers' blocks back in order into one log, or names the lowest bad line.
fn assemble(
    outputs: Vec<WorkerOutput>,
    io_error: Option<std::io::Error>,
) -> Result<Log, StreamError> {
    let mut ids = Vec::with_capacity(outputs.len());
    let mut blocks: Vec<(usize, BlockOutput)> = Vec::new();
    for (worker, output) in outputs.into_iter().enumerate() {
        ids.push(output.ids);
        blocks.extend(output.blocks.into_iter().map(|block| (worker, block)));
    }
    blocks.sort_unstable_by_key(|(_, block)| block.index);

    // Line numbers: every block before a bad one was read and parsed whole.
    let mut first_line = 1u64;
    let mut total_events = 0;
    let mut total_availability = 0;
    for (_, block) in &blocks {
        if let Some((line, reason)) = &block.error {
            return Err(StreamError::Line(LineError {
                line: first_line + u64::from(*line),
                reason: reason.clone(),
            }));
        }
        first_line += block.lines;
        total_events += block.events.len();
        total_availability += block.availability.len();
    }
    if let Some(error) = io_error {
        return Err(StreamError::Io(error));
    }

    let Canonical {
        ids: canonical,
        mut names,
    } = canonical_ids(ids);
    // Each canonical id's id in the log, given in order of first use as `parse_log` does.
    let mut log_ids = vec![u32::MAX; names.len()];
    let mut log = Log {
        conversation_events: Vec::with_capacity(total_events),
        availability_events: Vec::with_capacity(total_availability),
        conversation_names: Vec::new(),
    };
    let mut first_line = 1u64;
    for (worker, block) in blocks {
        let canonical = &canonical[worker];
        for (event, &fact) in block.events.iter().zip(&block.facts) {
            let c = canonical[event.conversation as usize] as usize;
            let mut id = log_ids[c];
            if id == u32::MAX {
                id = log.conversation_names.len() as u32;
                log_ids[c] = id;
                log.conversation_names
                    .push(std::mem::take(&mut names[c]).into_string());
            }
            log.conversation_events.push(ConversationEvent {
                at: event.at,
                seq: first_line + u64::from(event.line),
                conversation: ConversationId(id),
                fact,
            });
        }
        for &(line, at, availability) in &block.availability {
            log.availability_events.push(AvailabilityEvent {
                at,
                seq: first_line + u64::from(line),
                availability,
            });
        }
        first_line += block.lines;
    }
    Ok(log)
}

/// The conversations of all workers: one canonical id for each name.
struct Canonical {
    /// For each worker, the canonical id of each of its own ids.
    ids: Vec<Vec<u32>>,
    /// The names, by canonical id.
    names: Vec<Box<str>>,
}

/// The first worker's ids are canonical; a name it never met gets a new one after them.
fn canonical_ids(mut interners: Vec<Interner>) -> Canonical {
    let mut canonical = Canonical {
        ids: Vec::with_capacity(interners.len()),
        names: Vec::new(),
    };
    if interners.is_empty() {
        return canonical;
    }
    let first = interners.remove(0);
    canonical.ids.push((0..first.len() as u32).collect());
    let mut others = Interner::default();
    for interner in interners {
        let mut ids = vec![0u32; interner.len()];
        for entry in interner.short.entries() {
            let key = ShortName { id: 0, ..*entry };
            ids[entry.id as usize] = match first.short.get(&key) {
                Some(id) => id,
                None => first.len() as u32 + others.intern_short(key),
            };
        }
        for (name, local) in &interner.long {
            ids[*local as usize] = match first.long.get(name) {
                Some(&id) => id,
                None => first.len() as u32 + others.intern_long(name),
            };
        }
        canonical.ids.push(ids);
    }
    canonical.names = first.into_names();
    canonical.names.extend(others.into_names());
    canonical
}

#[cfg(test)]
mod tests {
    use super::*;
    use pronto_badge::jsonl::parse_log;

    fn read(bytes: &[u8], workers: usize, block_size: usize) -> Result<Log, String> {
        read_stream(bytes, &ProgressBar::hidden(), workers, block_size).map_err(|e| match e {
            StreamError::Io(e) => format!("io: {e}"),
            StreamError::Line(e) => e.to_string(),
        })
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
            let log = read_stream(input, &ProgressBar::hidden(), 2, 256).map_err(|_| ());
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

//! The conversation as the client knows it: items in server order, their text, and
//! (only when the app opts in, with a cap) their audio.
//!
//! The model here is transport- and dialect-independent: the engine fills it from
//! `conversation.item.*`, transcript and text events. It exists for two reasons: the app can
//! show the history, and after a reconnect the engine replays its *text* so the model keeps
//! the context (a new server session starts empty).
//!
//! Memory: at most a configured number of items is kept (see [`Conversation`]); text is kept
//! per item (it is small and is what replay needs). Audio is not kept unless
//! [`AudioRetention`] is set, and then only up to its caps; the oldest retained audio is
//! released first.

use std::collections::{HashMap, HashSet, VecDeque};

/// Who produced a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The person talking to the agent.
    User,
    /// The model.
    Assistant,
    /// System instructions added as a message.
    System,
}

/// What an item is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemKind {
    /// A message with text and/or audio content.
    Message {
        /// Its author.
        role: Role,
    },
    /// The model called a tool.
    FunctionCall {
        /// Id the output must reference.
        call_id: String,
        /// Tool name.
        name: String,
        /// Arguments (JSON text).
        arguments: String,
    },
    /// The output of a tool call.
    FunctionCallOutput {
        /// The call answered.
        call_id: String,
        /// The output text.
        output: String,
    },
    /// Any other item type (MCP calls and so on), kept by name for ordering only.
    Other {
        /// The item `type` on the wire.
        item_type: String,
    },
}

/// Progress of an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemStatus {
    /// Still being produced.
    InProgress,
    /// Finished.
    Completed,
    /// Stopped early (cancelled, truncated, or cut by a lost connection).
    Incomplete,
}

/// One conversation item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationItem {
    /// Server id.
    pub id: String,
    /// What the item is.
    pub kind: ItemKind,
    /// Progress.
    pub status: ItemStatus,
    /// Transcript or text content gathered so far.
    pub text: String,
    /// Whether `text` is final (a `done`/`completed` event arrived).
    pub text_final: bool,
    /// Milliseconds of assistant audio received for the item.
    pub audio_received_ms: u64,
    /// Milliseconds of that audio the user heard, once it was truncated.
    pub audio_heard_ms: Option<u64>,
    /// Retained audio (24 kHz mono PCM16), only with [`AudioRetention`].
    pub audio: Vec<i16>,
}

impl ConversationItem {
    /// A new, empty item.
    pub fn new(id: impl Into<String>, kind: ItemKind) -> Self {
        ConversationItem {
            id: id.into(),
            kind,
            status: ItemStatus::InProgress,
            text: String::new(),
            text_final: false,
            audio_received_ms: 0,
            audio_heard_ms: None,
            audio: Vec::new(),
        }
    }

    /// The part of the text the user actually heard.
    ///
    /// After a truncation the server drops the unheard transcript; we do not know word
    /// timings, so we keep the same fraction of the text as of the audio, cut back to a word
    /// boundary. Used for history replay, so the model is not told it said what nobody heard.
    pub fn heard_text(&self) -> &str {
        match (self.audio_heard_ms, self.audio_received_ms) {
            (Some(heard), received) if received > 0 && heard < received => {
                // heard < received, so this is less than the character count.
                let keep_chars = (self.text.chars().count() as u128)
                    .saturating_mul(u128::from(heard))
                    .checked_div(u128::from(received))
                    .unwrap_or(0);
                let keep_chars = usize::try_from(keep_chars).unwrap_or(usize::MAX);
                let cut = self
                    .text
                    .char_indices()
                    .nth(keep_chars)
                    .map_or(self.text.len(), |(i, _)| i);
                let prefix = self.text.get(..cut).unwrap_or("");
                match prefix.rfind(char::is_whitespace) {
                    Some(ws) if cut < self.text.len() => prefix.get(..ws).unwrap_or(""),
                    _ => prefix,
                }
            }
            _ => &self.text,
        }
    }
}

/// Caps on retained assistant audio. Without it (the default) no audio is retained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioRetention {
    /// At most this much audio per item.
    pub max_ms_per_item: u64,
    /// At most this much audio over the whole conversation; older items are released first.
    pub max_total_ms: u64,
}

/// One item of history to re-create on a new connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplayItem {
    /// A text message.
    Message {
        /// Author.
        role: Role,
        /// Text (for the assistant: what the user heard).
        text: String,
    },
    /// A completed tool call.
    FunctionCall {
        /// Call id.
        call_id: String,
        /// Tool name.
        name: String,
        /// Arguments.
        arguments: String,
    },
    /// The output of a tool call.
    FunctionCallOutput {
        /// Call id.
        call_id: String,
        /// Output text.
        output: String,
    },
}

/// How many items a [`Conversation`] keeps unless configured otherwise.
pub const DEFAULT_MAX_CONVERSATION_ITEMS: usize = 512;

/// Items in server order, bounded in number.
///
/// Lookups by item id (or by an alias the server gave a replayed item) go through a hash
/// index and never allocate, so the per-delta path costs O(1) however long the session runs.
/// At most `max_items` items are kept: when one more arrives, the oldest *finished* item
/// (status not `InProgress`) is evicted together with its aliases and retained audio; only
/// when every kept item is still in progress does the oldest one go. Replay after a
/// reconnect therefore always has the most recent turns.
#[derive(Debug)]
pub struct Conversation {
    /// Kept items, oldest first.
    items: VecDeque<ConversationItem>,
    /// Item id → absolute position (`front_position + index in items`).
    index: HashMap<String, u64>,
    /// Absolute position of `items[0]`; grows as the oldest items are evicted.
    front_position: u64,
    max_items: usize,
    retention: Option<AudioRetention>,
    retained_total_samples: u64,
    /// Ids the server gave to items we re-created after a reconnect, mapped to the original.
    aliases: HashMap<String, String>,
    /// Original id → its current alias (only the newest connection's id matters: earlier
    /// server sessions are gone, so their ids can never come back).
    alias_of: HashMap<String, String>,
}

impl Default for Conversation {
    fn default() -> Self {
        Conversation::with_max_items(None, DEFAULT_MAX_CONVERSATION_ITEMS)
    }
}

const SAMPLES_PER_MS: u64 = 24;

/// Samples in `ms` milliseconds at 24 kHz, as a length. The milliseconds come from the
/// server (`audio_end_ms`) or the app (retention caps), so the product saturates instead of
/// overflowing, and a count beyond `usize` (32-bit targets) becomes `usize::MAX`.
fn ms_to_sample_count(ms: u64) -> usize {
    usize::try_from(ms.saturating_mul(SAMPLES_PER_MS)).unwrap_or(usize::MAX)
}

impl Conversation {
    /// An empty conversation with the given audio retention (`None` = keep no audio),
    /// keeping at most [`DEFAULT_MAX_CONVERSATION_ITEMS`] items.
    pub fn new(retention: Option<AudioRetention>) -> Self {
        Conversation::with_max_items(retention, DEFAULT_MAX_CONVERSATION_ITEMS)
    }

    /// An empty conversation keeping at most `max_items` items (at least 1, so the item
    /// being produced can always gather its text).
    pub fn with_max_items(retention: Option<AudioRetention>, max_items: usize) -> Self {
        Conversation {
            items: VecDeque::new(),
            index: HashMap::new(),
            front_position: 0,
            max_items: max_items.max(1),
            retention,
            retained_total_samples: 0,
            aliases: HashMap::new(),
            alias_of: HashMap::new(),
        }
    }

    /// Items in order, oldest kept first.
    pub fn items(&self) -> &VecDeque<ConversationItem> {
        &self.items
    }

    /// Number of items kept.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no item is kept.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The most items kept at once.
    pub fn max_items(&self) -> usize {
        self.max_items
    }

    /// Number of aliases currently recorded (bounded by the number of kept items).
    pub fn alias_count(&self) -> usize {
        self.aliases.len()
    }

    /// Index in `items` of the item with this id or alias. Never allocates.
    fn find(&self, id: &str) -> Option<usize> {
        let id = self.aliases.get(id).map_or(id, String::as_str);
        let position = *self.index.get(id)?;
        usize::try_from(position.checked_sub(self.front_position)?).ok()
    }

    /// Records that the server calls a replayed item `new_id`; events about it update the
    /// original. Ignored when the original is not (or no longer) kept. A newer alias of the
    /// same item replaces the older one.
    pub fn alias(&mut self, new_id: &str, original_id: &str) {
        if !self.index.contains_key(original_id) || new_id == original_id {
            return;
        }
        if let Some(previous_original) = self.aliases.remove(new_id) {
            self.alias_of.remove(&previous_original);
        }
        if let Some(previous_alias) = self
            .alias_of
            .insert(original_id.to_owned(), new_id.to_owned())
        {
            self.aliases.remove(&previous_alias);
        }
        self.aliases
            .insert(new_id.to_owned(), original_id.to_owned());
    }

    /// The item with this id (or alias).
    pub fn get(&self, id: &str) -> Option<&ConversationItem> {
        let i = self.find(id)?;
        self.items.get(i)
    }

    /// Mutable access to the item with this id (or alias).
    pub fn get_mut(&mut self, id: &str) -> Option<&mut ConversationItem> {
        let i = self.find(id)?;
        self.items.get_mut(i)
    }

    /// Inserts an item after `previous_item_id` (`None` = at the end, `"root"` = first).
    /// An item that already exists is updated in place instead (GA sends `added` then `done`).
    /// When the conversation is full, the oldest finished item is evicted first.
    pub fn upsert(&mut self, item: ConversationItem, previous_item_id: Option<&str>) {
        if let Some(existing) = self.get_mut(&item.id) {
            existing.kind = item.kind;
            if item.status != ItemStatus::InProgress {
                existing.status = item.status;
            }
            if existing.text.is_empty() && !item.text.is_empty() {
                existing.text = item.text;
            }
            return;
        }
        while self.items.len() >= self.max_items {
            if !self.evict_one() {
                break;
            }
        }
        let at = match previous_item_id {
            Some("root") => 0,
            Some(prev) => self
                .find(prev)
                .map_or(self.items.len(), |p| p.saturating_add(1)),
            None => self.items.len(),
        };
        self.retained_total_samples = self
            .retained_total_samples
            .saturating_add(item.audio.len() as u64);
        self.insert_at(at, item);
        self.enforce_total_cap();
    }

    fn insert_at(&mut self, at: usize, item: ConversationItem) {
        let id = item.id.clone();
        if at >= self.items.len() {
            let position = self.front_position.saturating_add(self.items.len() as u64);
            self.items.push_back(item);
            self.index.insert(id, position);
        } else if at == 0 && self.front_position > 0 {
            self.front_position = self.front_position.saturating_sub(1);
            self.items.push_front(item);
            self.index.insert(id, self.front_position);
        } else {
            self.items.insert(at, item);
            self.reindex_from(at);
        }
    }

    /// Rewrites the positions of `items[from..]` after an insertion or removal in the middle
    /// (rare: the server nearly always appends).
    fn reindex_from(&mut self, from: usize) {
        for (offset, item) in self.items.iter().enumerate().skip(from) {
            let position = self.front_position.saturating_add(offset as u64);
            match self.index.get_mut(item.id.as_str()) {
                Some(p) => *p = position,
                None => {
                    self.index.insert(item.id.clone(), position);
                }
            }
        }
    }

    /// Evicts the oldest finished item (or, if none is finished, the oldest item).
    fn evict_one(&mut self) -> bool {
        let victim = self
            .items
            .iter()
            .position(|i| i.status != ItemStatus::InProgress)
            .unwrap_or(0);
        if let Some(item) = self.remove_at(victim) {
            tracing::trace!(item_id = %item.id, "conversation full: oldest item evicted");
            true
        } else {
            false
        }
    }

    /// Removes the item at `at` with its index entry, aliases and retained audio.
    fn remove_at(&mut self, at: usize) -> Option<ConversationItem> {
        let item = self.items.remove(at)?;
        self.index.remove(item.id.as_str());
        if let Some(alias) = self.alias_of.remove(item.id.as_str()) {
            self.aliases.remove(&alias);
        }
        self.retained_total_samples = self
            .retained_total_samples
            .saturating_sub(item.audio.len() as u64);
        if at == 0 {
            self.front_position = self.front_position.saturating_add(1);
        } else {
            self.reindex_from(at);
        }
        Some(item)
    }

    /// Removes an item (`conversation.item.deleted`).
    pub fn remove(&mut self, id: &str) -> Option<ConversationItem> {
        let at = self.find(id)?;
        self.remove_at(at)
    }

    /// Appends a transcript or text delta. Returns false when the item is unknown
    /// (the delta is then only reported, not stored).
    pub fn append_text(&mut self, id: &str, delta: &str) -> bool {
        match self.get_mut(id) {
            Some(item) => {
                item.text.push_str(delta);
                true
            }
            None => false,
        }
    }

    /// Sets the final text of an item.
    pub fn finish_text(&mut self, id: &str, text: &str) {
        if let Some(item) = self.get_mut(id) {
            item.text.clear();
            item.text.push_str(text);
            item.text_final = true;
        }
    }

    /// Counts (and, when retention allows, keeps) received assistant audio.
    pub fn add_audio(&mut self, id: &str, samples: &[i16]) {
        let retention = self.retention;
        let Some(item) = self.get_mut(id) else { return };
        let mut added = 0u64;
        if let Some(r) = retention {
            let cap = ms_to_sample_count(r.max_ms_per_item);
            let room = cap.saturating_sub(item.audio.len());
            let take = room.min(samples.len());
            item.audio
                .extend_from_slice(samples.get(..take).unwrap_or(&[]));
            added = take as u64;
        }
        self.retained_total_samples = self.retained_total_samples.saturating_add(added);
        self.enforce_total_cap();
    }

    /// Sets the number of milliseconds of audio received for an item.
    pub fn set_audio_received_ms(&mut self, id: &str, ms: u64) {
        if let Some(item) = self.get_mut(id) {
            item.audio_received_ms = ms;
        }
    }

    /// Records a truncation at `heard_ms`.
    pub fn truncate(&mut self, id: &str, heard_ms: u64) {
        if let Some(item) = self.get_mut(id) {
            item.audio_heard_ms = Some(heard_ms);
            item.status = ItemStatus::Incomplete;
            let keep = ms_to_sample_count(heard_ms);
            if item.audio.len() > keep {
                let dropped = item.audio.len().saturating_sub(keep);
                item.audio.truncate(keep);
                self.retained_total_samples =
                    self.retained_total_samples.saturating_sub(dropped as u64);
            }
        }
    }

    /// Marks every unfinished item incomplete (the connection dropped mid-response).
    pub fn interrupt_in_progress(&mut self) -> Vec<String> {
        let mut cut = Vec::new();
        for item in &mut self.items {
            if item.status == ItemStatus::InProgress {
                item.status = ItemStatus::Incomplete;
                cut.push(item.id.clone());
            }
        }
        cut
    }

    /// Releases the oldest retained audio beyond the total cap.
    fn enforce_total_cap(&mut self) {
        let Some(r) = self.retention else { return };
        let cap = r.max_total_ms.saturating_mul(SAMPLES_PER_MS);
        for item in &mut self.items {
            if self.retained_total_samples <= cap {
                break;
            }
            let n = item.audio.len() as u64;
            if n > 0 {
                item.audio = Vec::new();
                self.retained_total_samples = self.retained_total_samples.saturating_sub(n);
            }
        }
    }

    /// Audio samples currently retained over all items.
    pub fn retained_audio_samples(&self) -> u64 {
        self.retained_total_samples
    }

    /// The text history to re-create on a new connection, oldest first, at most `max_items`
    /// (the most recent ones). Tool calls are replayed only together with their output.
    pub fn replay_history(&self, max_items: usize) -> Vec<(String, ReplayItem)> {
        let mut answered: HashSet<&str> = HashSet::new();
        let mut called: HashSet<&str> = HashSet::new();
        for item in &self.items {
            match &item.kind {
                ItemKind::FunctionCallOutput { call_id, .. } => {
                    answered.insert(call_id.as_str());
                }
                ItemKind::FunctionCall { call_id, .. } => {
                    called.insert(call_id.as_str());
                }
                ItemKind::Message { .. } | ItemKind::Other { .. } => {}
            }
        }
        let mut out: Vec<(String, ReplayItem)> = self
            .items
            .iter()
            .filter_map(|item| {
                let replay = match &item.kind {
                    ItemKind::Message { role } => {
                        let text = match role {
                            Role::Assistant => item.heard_text(),
                            Role::User | Role::System => item.text.as_str(),
                        };
                        if text.trim().is_empty() {
                            return None;
                        }
                        ReplayItem::Message {
                            role: *role,
                            text: text.to_owned(),
                        }
                    }
                    ItemKind::FunctionCall {
                        call_id,
                        name,
                        arguments,
                    } if answered.contains(call_id.as_str()) => ReplayItem::FunctionCall {
                        call_id: call_id.clone(),
                        name: name.clone(),
                        arguments: arguments.clone(),
                    },
                    // An output whose call was evicted would be refused by the server.
                    ItemKind::FunctionCallOutput { call_id, output }
                        if called.contains(call_id.as_str()) =>
                    {
                        ReplayItem::FunctionCallOutput {
                            call_id: call_id.clone(),
                            output: output.clone(),
                        }
                    }
                    ItemKind::FunctionCall { .. }
                    | ItemKind::FunctionCallOutput { .. }
                    | ItemKind::Other { .. } => return None,
                };
                Some((item.id.clone(), replay))
            })
            .collect();
        if out.len() > max_items {
            let excess = out.len().saturating_sub(max_items);
            out.drain(..excess);
            // Never start the replay with an orphaned tool output.
            let orphans = out
                .iter()
                .take_while(|(_, r)| matches!(r, ReplayItem::FunctionCallOutput { .. }))
                .count();
            out.drain(..orphans);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: &str, role: Role, text: &str) -> ConversationItem {
        let mut i = ConversationItem::new(id, ItemKind::Message { role });
        i.text = text.into();
        i.status = ItemStatus::Completed;
        i
    }

    #[test]
    fn items_follow_previous_item_id() {
        let mut c = Conversation::new(None);
        c.upsert(msg("a", Role::User, "1"), None);
        c.upsert(msg("c", Role::User, "3"), Some("a"));
        c.upsert(msg("b", Role::User, "2"), Some("a"));
        c.upsert(msg("z", Role::System, "0"), Some("root"));
        let ids: Vec<&str> = c.items().iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["z", "a", "b", "c"]);
    }

    #[test]
    fn no_audio_is_retained_by_default() {
        let mut c = Conversation::new(None);
        c.upsert(msg("a", Role::Assistant, ""), None);
        c.add_audio("a", &[1; 2400]);
        assert!(c.get("a").unwrap().audio.is_empty());
        assert_eq!(c.retained_audio_samples(), 0);
    }

    #[test]
    fn retained_audio_respects_both_caps() {
        let mut c = Conversation::new(Some(AudioRetention {
            max_ms_per_item: 100,
            max_total_ms: 150,
        }));
        c.upsert(msg("a", Role::Assistant, ""), None);
        c.upsert(msg("b", Role::Assistant, ""), None);
        c.add_audio("a", &[1; 24 * 300]);
        assert_eq!(c.get("a").unwrap().audio.len(), 2400);
        c.add_audio("b", &[2; 24 * 100]);
        // total would be 200 ms > 150 ms: the oldest item's audio is released
        assert!(c.get("a").unwrap().audio.is_empty());
        assert_eq!(c.get("b").unwrap().audio.len(), 2400);
        assert_eq!(c.retained_audio_samples(), 2400);
    }

    #[test]
    fn heard_text_is_cut_at_a_word_boundary() {
        let mut item = msg("a", Role::Assistant, "one two three four");
        item.audio_received_ms = 1000;
        item.audio_heard_ms = Some(500);
        assert_eq!(item.heard_text(), "one two");
        item.audio_heard_ms = Some(1000);
        assert_eq!(item.heard_text(), "one two three four");
    }

    #[test]
    fn replay_keeps_text_and_answered_tool_calls_only() {
        let mut c = Conversation::new(None);
        c.upsert(msg("u1", Role::User, "weather?"), None);
        c.upsert(
            ConversationItem::new(
                "f1",
                ItemKind::FunctionCall {
                    call_id: "c1".into(),
                    name: "w".into(),
                    arguments: "{}".into(),
                },
            ),
            None,
        );
        c.upsert(
            ConversationItem::new(
                "o1",
                ItemKind::FunctionCallOutput {
                    call_id: "c1".into(),
                    output: "sun".into(),
                },
            ),
            None,
        );
        c.upsert(
            ConversationItem::new(
                "f2",
                ItemKind::FunctionCall {
                    call_id: "c2".into(),
                    name: "w".into(),
                    arguments: "{}".into(),
                },
            ),
            None,
        );
        c.upsert(msg("a1", Role::Assistant, "It is sunny"), None);
        c.upsert(msg("u2", Role::User, "  "), None);
        let replay: Vec<String> = c.replay_history(10).into_iter().map(|(id, _)| id).collect();
        assert_eq!(replay, ["u1", "f1", "o1", "a1"]);
        let last_two: Vec<String> = c.replay_history(3).into_iter().map(|(id, _)| id).collect();
        assert_eq!(last_two, ["f1", "o1", "a1"]);
        let last: Vec<String> = c.replay_history(2).into_iter().map(|(id, _)| id).collect();
        assert_eq!(last, ["a1"], "an orphaned output is not replayed first");
    }

    #[test]
    fn aliases_route_events_to_the_original_item() {
        let mut c = Conversation::new(None);
        c.upsert(msg("old", Role::User, "hi"), None);
        c.alias("new", "old");
        assert!(c.append_text("new", "!"));
        assert_eq!(c.get("old").unwrap().text, "hi!");
    }

    /// Every kept item is found under its own id, and the index holds nothing else.
    fn assert_index_consistent(c: &Conversation) {
        assert_eq!(c.index.len(), c.items.len());
        for item in c.items() {
            assert_eq!(
                c.get(&item.id).map(|i| i.id.as_str()),
                Some(item.id.as_str())
            );
        }
        assert!(c.aliases.len() <= c.items.len());
        assert_eq!(c.aliases.len(), c.alias_of.len());
    }

    #[test]
    fn a_long_stream_stays_within_the_cap_and_replays_the_latest_turns() {
        let cap = 64;
        let mut c = Conversation::with_max_items(None, cap);
        for n in 0..100_000u32 {
            let role = if n % 2 == 0 {
                Role::User
            } else {
                Role::Assistant
            };
            let id = format!("item_{n}");
            c.upsert(
                ConversationItem::new(id.clone(), ItemKind::Message { role }),
                None,
            );
            assert!(c.append_text(&id, &format!("turn {n}")));
            c.finish_text(&id, &format!("turn {n}"));
            c.get_mut(&id).unwrap().status = ItemStatus::Completed;
            assert!(c.len() <= cap);
        }
        assert_eq!(c.len(), cap);
        assert_eq!(c.index.len(), cap, "the index is pruned with the items");
        assert!(c.get("item_0").is_none());
        assert!(c.get("item_99935").is_none());
        assert_eq!(c.get("item_99936").unwrap().text, "turn 99936");
        assert_eq!(c.get("item_99999").unwrap().text, "turn 99999");
        let replay = c.replay_history(10);
        let ids: Vec<&str> = replay.iter().map(|(id, _)| id.as_str()).collect();
        let expected: Vec<String> = (99_990..100_000).map(|n| format!("item_{n}")).collect();
        assert_eq!(ids, expected);
        assert_eq!(
            replay.last().map(|(_, r)| r.clone()),
            Some(ReplayItem::Message {
                role: Role::Assistant,
                text: "turn 99999".into()
            })
        );
        assert_index_consistent(&c);
    }

    #[test]
    fn the_oldest_finished_item_goes_before_an_older_one_in_progress() {
        let mut c = Conversation::with_max_items(None, 3);
        let mut pending = msg("pending", Role::User, "");
        pending.status = ItemStatus::InProgress;
        c.upsert(pending, None);
        c.upsert(msg("a", Role::User, "a"), None);
        c.upsert(msg("b", Role::Assistant, "b"), None);
        c.upsert(msg("c", Role::User, "c"), None);
        let ids: Vec<&str> = c.items().iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["pending", "b", "c"]);
        assert!(c.append_text("pending", "still gathering"));
        assert_index_consistent(&c);
        // Only unfinished items left: the oldest goes, so memory stays bounded anyway.
        let mut c = Conversation::with_max_items(None, 2);
        for id in ["x", "y", "z"] {
            c.upsert(
                ConversationItem::new(id, ItemKind::Message { role: Role::User }),
                None,
            );
        }
        let ids: Vec<&str> = c.items().iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["y", "z"]);
        assert_index_consistent(&c);
    }

    #[test]
    fn lookups_stay_right_after_insertions_removals_and_evictions_anywhere() {
        let mut c = Conversation::with_max_items(None, 5);
        c.upsert(msg("a", Role::User, "a"), None);
        c.upsert(msg("c", Role::User, "c"), None);
        c.upsert(msg("b", Role::User, "b"), Some("a"));
        c.upsert(msg("r", Role::System, "r"), Some("root"));
        c.upsert(msg("d", Role::User, "d"), Some("c"));
        assert_index_consistent(&c);
        c.upsert(msg("e", Role::User, "e"), None); // evicts "r" at the front
        c.upsert(msg("q", Role::System, "q"), Some("root")); // evicts "a", goes first
        let ids: Vec<&str> = c.items().iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, ["q", "b", "c", "d", "e"]);
        assert_index_consistent(&c);
        assert_eq!(c.remove("c").map(|i| i.id), Some("c".into()));
        assert!(c.get("c").is_none());
        assert_index_consistent(&c);
        c.upsert(msg("f", Role::User, "f"), Some("unknown_after_eviction"));
        assert_eq!(c.items().back().map(|i| i.id.as_str()), Some("f"));
        assert_eq!(c.get("d").unwrap().text, "d");
        assert_index_consistent(&c);
    }

    #[test]
    fn aliases_are_pruned_with_their_items_and_replaced_on_each_reconnect() {
        let mut c = Conversation::with_max_items(None, 2);
        c.upsert(msg("old", Role::User, "hi"), None);
        c.alias("new_1", "old");
        c.alias("new_2", "old");
        assert_eq!(
            c.alias_count(),
            1,
            "only the newest connection's id is kept"
        );
        assert!(c.get("new_1").is_none());
        assert!(c.append_text("new_2", "!"));
        c.alias("ghost", "never_seen");
        assert_eq!(c.alias_count(), 1);
        c.upsert(msg("x", Role::User, "x"), None);
        c.upsert(msg("y", Role::User, "y"), None); // evicts "old"
        assert!(c.get("old").is_none());
        assert!(c.get("new_2").is_none());
        assert_eq!(c.alias_count(), 0);
        c.alias("x_new", "x");
        assert_eq!(c.remove("x_new").map(|i| i.id), Some("x".into()));
        assert_eq!(c.alias_count(), 0);
        assert_index_consistent(&c);
    }

    #[test]
    fn an_output_whose_call_was_evicted_is_not_replayed() {
        let mut c = Conversation::with_max_items(None, 3);
        let mut call = ConversationItem::new(
            "f1",
            ItemKind::FunctionCall {
                call_id: "c1".into(),
                name: "w".into(),
                arguments: "{}".into(),
            },
        );
        call.status = ItemStatus::Completed;
        c.upsert(call, None);
        let mut output = ConversationItem::new(
            "o1",
            ItemKind::FunctionCallOutput {
                call_id: "c1".into(),
                output: "sun".into(),
            },
        );
        output.status = ItemStatus::Completed;
        c.upsert(output, None);
        c.upsert(msg("a1", Role::Assistant, "sunny"), None);
        let ids: Vec<String> = c.replay_history(10).into_iter().map(|(id, _)| id).collect();
        assert_eq!(ids, ["f1", "o1", "a1"]);
        c.upsert(msg("u2", Role::User, "thanks"), None); // evicts f1
        let ids: Vec<String> = c.replay_history(10).into_iter().map(|(id, _)| id).collect();
        assert_eq!(ids, ["a1", "u2"]);
    }

    #[test]
    fn evicted_items_release_their_retained_audio() {
        let mut c = Conversation::with_max_items(
            Some(AudioRetention {
                max_ms_per_item: 1000,
                max_total_ms: 10_000,
            }),
            2,
        );
        c.upsert(msg("a", Role::Assistant, ""), None);
        c.add_audio("a", &[1; 2400]);
        c.upsert(msg("b", Role::Assistant, ""), None);
        c.add_audio("b", &[1; 4800]);
        assert_eq!(c.retained_audio_samples(), 7200);
        c.upsert(msg("c", Role::Assistant, ""), None);
        assert_eq!(c.retained_audio_samples(), 4800);
        c.remove("b");
        assert_eq!(c.retained_audio_samples(), 0);
    }

    #[test]
    fn a_zero_cap_still_keeps_the_current_item() {
        let mut c = Conversation::with_max_items(None, 0);
        assert_eq!(c.max_items(), 1);
        c.upsert(msg("a", Role::User, "a"), None);
        c.upsert(
            ConversationItem::new(
                "b",
                ItemKind::Message {
                    role: Role::Assistant,
                },
            ),
            None,
        );
        assert!(c.append_text("b", "hello"));
        assert_eq!(c.len(), 1);
        assert_index_consistent(&c);
    }
}

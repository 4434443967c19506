//! The conversation as the client knows it: items in server order, their text, and
//! (only when the app opts in, with a cap) their audio.
//!
//! The model here is transport- and dialect-independent: the engine fills it from
//! `conversation.item.*`, transcript and text events. It exists for two reasons: the app can
//! show the history, and after a reconnect the engine replays its *text* so the model keeps
//! the context (a new server session starts empty).
//!
//! Memory: text is kept per item (it is small and is what replay needs). Audio is not kept
//! unless [`AudioRetention`] is set, and then only up to its caps; the oldest retained audio
//! is released first.

use std::collections::HashMap;

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
                let keep_chars = (self.text.chars().count() as u128 * u128::from(heard)
                    / u128::from(received)) as usize;
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

/// Items in server order.
#[derive(Debug, Default)]
pub struct Conversation {
    items: Vec<ConversationItem>,
    retention: Option<AudioRetention>,
    retained_total_samples: u64,
    /// Ids the server gave to items we re-created after a reconnect, mapped to the original.
    aliases: HashMap<String, String>,
}

const SAMPLES_PER_MS: u64 = 24;

/// Samples in `ms` milliseconds at 24 kHz, as a length. The milliseconds come from the
/// server (`audio_end_ms`) or the app (retention caps), so the product saturates instead of
/// overflowing, and a count beyond `usize` (32-bit targets) becomes `usize::MAX`.
fn ms_to_sample_count(ms: u64) -> usize {
    usize::try_from(ms.saturating_mul(SAMPLES_PER_MS)).unwrap_or(usize::MAX)
}

impl Conversation {
    /// An empty conversation with the given audio retention (`None` = keep no audio).
    pub fn new(retention: Option<AudioRetention>) -> Self {
        Conversation {
            retention,
            ..Conversation::default()
        }
    }

    /// Items in order.
    pub fn items(&self) -> &[ConversationItem] {
        &self.items
    }

    fn resolve<'a>(&'a self, id: &'a str) -> &'a str {
        self.aliases.get(id).map_or(id, String::as_str)
    }

    /// Records that the server calls a replayed item `new_id`; events about it update the original.
    pub fn alias(&mut self, new_id: &str, original_id: &str) {
        self.aliases
            .insert(new_id.to_owned(), original_id.to_owned());
    }

    /// The item with this id (or alias).
    pub fn get(&self, id: &str) -> Option<&ConversationItem> {
        let id = self.resolve(id);
        self.items.iter().rev().find(|i| i.id == id)
    }

    /// Mutable access to the item with this id (or alias).
    pub fn get_mut(&mut self, id: &str) -> Option<&mut ConversationItem> {
        let id = self.resolve(id).to_owned();
        self.items.iter_mut().rev().find(|i| i.id == id)
    }

    /// Inserts an item after `previous_item_id` (`None` = at the end, `"root"` = first).
    /// An item that already exists is updated in place instead (GA sends `added` then `done`).
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
        let position = match previous_item_id {
            Some("root") => 0,
            Some(prev) => {
                let prev = self.resolve(prev).to_owned();
                self.items
                    .iter()
                    .position(|i| i.id == prev)
                    .map_or(self.items.len(), |p| p + 1)
            }
            None => self.items.len(),
        };
        self.items.insert(position, item);
    }

    /// Removes an item (`conversation.item.deleted`).
    pub fn remove(&mut self, id: &str) -> Option<ConversationItem> {
        let id = self.resolve(id).to_owned();
        let pos = self.items.iter().position(|i| i.id == id)?;
        let item = self.items.remove(pos);
        self.retained_total_samples = self
            .retained_total_samples
            .saturating_sub(item.audio.len() as u64);
        Some(item)
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
                let dropped = item.audio.len() - keep;
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
        let answered: Vec<&str> = self
            .items
            .iter()
            .filter_map(|i| match &i.kind {
                ItemKind::FunctionCallOutput { call_id, .. } => Some(call_id.as_str()),
                _ => None,
            })
            .collect();
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
                    } if answered.contains(&call_id.as_str()) => ReplayItem::FunctionCall {
                        call_id: call_id.clone(),
                        name: name.clone(),
                        arguments: arguments.clone(),
                    },
                    ItemKind::FunctionCallOutput { call_id, output } => {
                        ReplayItem::FunctionCallOutput {
                            call_id: call_id.clone(),
                            output: output.clone(),
                        }
                    }
                    ItemKind::FunctionCall { .. } | ItemKind::Other { .. } => return None,
                };
                Some((item.id.clone(), replay))
            })
            .collect();
        if out.len() > max_items {
            out.drain(..out.len() - max_items);
            // Never start the replay with an orphaned tool output.
            while matches!(
                out.first(),
                Some((_, ReplayItem::FunctionCallOutput { .. }))
            ) {
                out.remove(0);
            }
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
}

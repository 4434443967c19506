//! The server-side conversation: ordered items with `previous_item_id` placement, and the
//! audio kept for them under a per-session budget.

/// Where `conversation.item.create` puts a new item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Placement {
    /// At the end (no `previous_item_id`).
    End,
    /// At the start (`previous_item_id: "root"`).
    Root,
    /// Right after this item.
    After(String),
}

impl Placement {
    pub(crate) fn from_previous_item_id(previous: Option<&str>) -> Self {
        match previous {
            None => Self::End,
            Some("root") => Self::Root,
            Some(id) => Self::After(id.to_owned()),
        }
    }
}

/// One stored item plus the audio it carries (if still within budget).
#[derive(Debug, Clone)]
pub(crate) struct Entry<T> {
    pub(crate) id: String,
    pub(crate) item: T,
    /// PCM16 24 kHz audio of the item (user input or assistant output); `None` once the
    /// audio budget dropped it.
    pub(crate) audio: Option<Vec<i16>>,
    /// Samples of audio the item has (kept when the samples themselves are dropped), for
    /// validating truncation.
    pub(crate) audio_len: usize,
}

impl<T> Entry<T> {
    pub(crate) fn new(id: String, item: T, audio: Option<Vec<i16>>) -> Self {
        let audio_len = audio.as_ref().map_or(0, Vec::len);
        Self {
            id,
            item,
            audio,
            audio_len,
        }
    }
}

/// Ordered conversation items.
#[derive(Debug)]
pub(crate) struct Conversation<T> {
    entries: Vec<Entry<T>>,
    audio_budget_samples: usize,
}

impl<T> Conversation<T> {
    pub(crate) fn new(audio_budget_samples: usize) -> Self {
        Self {
            entries: Vec::new(),
            audio_budget_samples,
        }
    }

    /// Inserts and returns the id of the item now before it (`None` at the start).
    /// Fails (returning the item) when the anchor item does not exist.
    pub(crate) fn insert(
        &mut self,
        entry: Entry<T>,
        placement: &Placement,
    ) -> Result<Option<String>, Entry<T>> {
        let index = match placement {
            Placement::End => self.entries.len(),
            Placement::Root => 0,
            Placement::After(id) => match self.position(id) {
                Some(i) => i + 1,
                None => return Err(entry),
            },
        };
        let previous = index.checked_sub(1).map(|i| self.entries[i].id.clone());
        self.entries.insert(index, entry);
        self.enforce_audio_budget();
        Ok(previous)
    }

    pub(crate) fn position(&self, id: &str) -> Option<usize> {
        self.entries.iter().position(|e| e.id == id)
    }

    pub(crate) fn get(&self, id: &str) -> Option<&Entry<T>> {
        self.entries.iter().find(|e| e.id == id)
    }

    pub(crate) fn get_mut(&mut self, id: &str) -> Option<&mut Entry<T>> {
        self.entries.iter_mut().find(|e| e.id == id)
    }

    pub(crate) fn remove(&mut self, id: &str) -> Option<Entry<T>> {
        let index = self.position(id)?;
        Some(self.entries.remove(index))
    }

    pub(crate) fn last_id(&self) -> Option<&str> {
        self.entries.last().map(|e| e.id.as_str())
    }

    pub(crate) fn entries(&self) -> &[Entry<T>] {
        &self.entries
    }

    /// Drops stored audio, oldest first, until the total fits the budget. Items stay.
    pub(crate) fn enforce_audio_budget(&mut self) {
        let mut total: usize = self
            .entries
            .iter()
            .filter_map(|e| e.audio.as_ref())
            .map(Vec::len)
            .sum();
        for entry in &mut self.entries {
            if total <= self.audio_budget_samples {
                break;
            }
            if let Some(audio) = entry.audio.take() {
                total -= audio.len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, audio: usize) -> Entry<()> {
        Entry::new(id.to_owned(), (), (audio > 0).then(|| vec![0; audio]))
    }

    fn ids(c: &Conversation<()>) -> Vec<&str> {
        c.entries().iter().map(|e| e.id.as_str()).collect()
    }

    #[test]
    fn placement_rules() {
        let mut c = Conversation::new(100);
        assert_eq!(c.insert(entry("a", 0), &Placement::End).unwrap(), None);
        assert_eq!(
            c.insert(entry("b", 0), &Placement::End).unwrap(),
            Some("a".into())
        );
        assert_eq!(c.insert(entry("r", 0), &Placement::Root).unwrap(), None);
        assert_eq!(
            c.insert(entry("x", 0), &Placement::After("a".into()))
                .unwrap(),
            Some("a".into())
        );
        assert_eq!(ids(&c), vec!["r", "a", "x", "b"]);
        assert!(
            c.insert(entry("y", 0), &Placement::After("nope".into()))
                .is_err()
        );
        assert!(c.remove("x").is_some());
        assert!(c.remove("x").is_none());
        assert_eq!(c.last_id(), Some("b"));
    }

    #[test]
    fn audio_budget_drops_oldest_audio_first() {
        let mut c = Conversation::new(10);
        c.insert(entry("a", 6), &Placement::End).unwrap();
        c.insert(entry("b", 6), &Placement::End).unwrap();
        assert!(c.get("a").unwrap().audio.is_none());
        assert_eq!(c.get("b").unwrap().audio.as_ref().unwrap().len(), 6);
        assert_eq!(c.entries().len(), 2);
    }
}

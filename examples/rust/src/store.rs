//! An in-memory item store (a to-do list) and the tools a voice agent uses on it:
//! `create_item`, `update_item`, `search_items`.
//!
//! The handlers get the model's arguments as JSON text. They validate them and answer with
//! JSON the model can read — including errors (an `Err` becomes `{"error": "…"}`), because a bad argument
//! is something the model should hear about and correct, not a crash.

use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use serde_json::json;
use voicewire::protocol::session::Tool;
use voicewire::{FnToolHandler, SessionOptions, ToolCall};

/// One item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// `item-1`, `item-2`, …
    pub id: String,
    /// What it is.
    pub title: String,
    /// Free-form notes.
    pub notes: String,
    /// Whether it is done.
    pub done: bool,
}

/// The store, shared by the tool handlers.
#[derive(Debug, Clone, Default)]
pub struct ItemStore {
    items: Arc<Mutex<Vec<Item>>>,
}

#[derive(Deserialize)]
struct CreateArgs {
    title: String,
    #[serde(default)]
    notes: String,
}

#[derive(Deserialize)]
struct UpdateArgs {
    id: String,
    title: Option<String>,
    notes: Option<String>,
    done: Option<bool>,
}

#[derive(Deserialize)]
struct SearchArgs {
    query: String,
}

fn parse<T: for<'de> Deserialize<'de>>(call: &ToolCall) -> Result<T, String> {
    // An `Err` reaches the model as `{"error": "…"}` (the registry wraps it).
    serde_json::from_str(&call.arguments)
        .map_err(|e| format!("invalid arguments for {}: {e}", call.name))
}

impl ItemStore {
    /// A snapshot of every item.
    pub fn items(&self) -> Vec<Item> {
        self.items
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Adds an item; returns it.
    pub fn create(&self, title: &str, notes: &str) -> Item {
        let mut items = self.items.lock().unwrap_or_else(PoisonError::into_inner);
        let item = Item {
            id: format!("item-{}", items.len() + 1),
            title: title.to_owned(),
            notes: notes.to_owned(),
            done: false,
        };
        items.push(item.clone());
        item
    }

    /// Changes the given fields of an item; `None` when there is no such item.
    pub fn update(
        &self,
        id: &str,
        title: Option<String>,
        notes: Option<String>,
        done: Option<bool>,
    ) -> Option<Item> {
        let mut items = self.items.lock().unwrap_or_else(PoisonError::into_inner);
        let item = items.iter_mut().find(|i| i.id == id)?;
        if let Some(title) = title {
            item.title = title;
        }
        if let Some(notes) = notes {
            item.notes = notes;
        }
        if let Some(done) = done {
            item.done = done;
        }
        Some(item.clone())
    }

    /// Items whose title or notes contain `query` (case-insensitive).
    pub fn search(&self, query: &str) -> Vec<Item> {
        let q = query.to_lowercase();
        self.items()
            .into_iter()
            .filter(|i| i.title.to_lowercase().contains(&q) || i.notes.to_lowercase().contains(&q))
            .collect()
    }

    /// The tool declarations for the session configuration (JSON Schemas of the arguments).
    pub fn tool_declarations() -> Vec<Tool> {
        vec![
            Tool::function(
                "create_item",
                "Add an item to the user's list.",
                json!({"type":"object","properties":{
                    "title":{"type":"string"},"notes":{"type":"string"}},
                    "required":["title"]}),
            ),
            Tool::function(
                "update_item",
                "Change an item: its title, notes, or whether it is done.",
                json!({"type":"object","properties":{
                    "id":{"type":"string"},"title":{"type":"string"},
                    "notes":{"type":"string"},"done":{"type":"boolean"}},
                    "required":["id"]}),
            ),
            Tool::function(
                "search_items",
                "Find items whose title or notes contain the query.",
                json!({"type":"object","properties":{"query":{"type":"string"}},
                    "required":["query"]}),
            ),
        ]
    }

    /// Registers the three handlers on `options`.
    pub fn register(&self, options: SessionOptions) -> SessionOptions {
        let (create, update, search) = (self.clone(), self.clone(), self.clone());
        options
            .tool(
                "create_item",
                Arc::new(FnToolHandler(move |call: ToolCall| {
                    let store = create.clone();
                    async move {
                        let args: CreateArgs = parse(&call)?;
                        let item = store.create(&args.title, &args.notes);
                        Ok::<_, String>(json!({ "created": item }).to_string())
                    }
                })),
            )
            .tool(
                "update_item",
                Arc::new(FnToolHandler(move |call: ToolCall| {
                    let store = update.clone();
                    async move {
                        let args: UpdateArgs = parse(&call)?;
                        Ok::<_, String>(
                            match store.update(&args.id, args.title, args.notes, args.done) {
                                Some(item) => json!({ "updated": item }),
                                None => json!({ "error": format!("no item {}", args.id) }),
                            }
                            .to_string(),
                        )
                    }
                })),
            )
            .tool(
                "search_items",
                Arc::new(FnToolHandler(move |call: ToolCall| {
                    let store = search.clone();
                    async move {
                        let args: SearchArgs = parse(&call)?;
                        Ok::<_, String>(json!({ "items": store.search(&args.query) }).to_string())
                    }
                })),
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_update_search() {
        let s = ItemStore::default();
        let a = s.create("Buy milk", "2 litres");
        s.create("Call Ana", "");
        assert_eq!(a.id, "item-1");
        let u = s.update("item-1", None, None, Some(true)).unwrap();
        assert!(u.done);
        assert!(s.update("item-9", None, None, Some(true)).is_none());
        assert_eq!(s.search("MILK"), vec![u]);
        assert_eq!(s.search("litres").len(), 1);
        assert!(s.search("bread").is_empty());
    }
}

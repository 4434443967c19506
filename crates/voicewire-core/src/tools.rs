//! Tool-call bookkeeping: gather streamed arguments, hand out complete calls, and decide when
//! the outputs go back and the model is asked to continue.
//!
//! Rules (PROTOCOL.md §4):
//! - A call is complete at `response.function_call_arguments.done`; the arguments deltas
//!   before it are gathered so a missing `done` field (the beta dialect has no `name`) is
//!   filled from `response.output_item.added`.
//! - Outputs are held until the response that asked for them is done (sending items or
//!   `response.create` while it is active gets `conversation_already_has_active_response`).
//! - Once every call of a response has an output, the outputs go out as
//!   `function_call_output` items followed by exactly one `response.create`. Parallel calls
//!   therefore produce one continuation, not one per call.
//! - If the response was cancelled (the user interrupted), outputs still go out, so the
//!   model's context has no dangling call, but no `response.create` follows: the user's new
//!   turn gets the next response.

use std::collections::HashMap;

/// Tool calls whose arguments are gathered at once; more are handed out from their `done`.
const PARTIAL_CALLS_MAX: usize = 64;

/// A complete tool call, ready for the application or a registered handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    /// Id to answer with (`call_id`).
    pub call_id: String,
    /// Function name.
    pub name: String,
    /// Arguments as the JSON text the model produced (may be invalid JSON; the handler decides).
    pub arguments: String,
    /// The conversation item that carries the call.
    pub item_id: String,
    /// The response that produced the call.
    pub response_id: Option<String>,
}

/// What the engine must send as a result of a tool-call step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolStep {
    /// Send a `function_call_output` item.
    SendOutput {
        /// The call answered.
        call_id: String,
        /// The output text.
        output: String,
    },
    /// Every call of the response is answered: ask the model to continue.
    RequestResponse,
    /// Re-create the call item first: the connection that made it is gone, and the new
    /// server session must see the call before its output.
    RecreateCall(ToolCall),
}

#[derive(Debug, Default)]
struct PartialCall {
    name: Option<String>,
    item_id: String,
    response_id: Option<String>,
    arguments: String,
}

#[derive(Debug)]
struct ResponseCalls {
    response_id: Option<String>,
    call_ids: Vec<String>,
    calls: Vec<ToolCall>,
    orphaned: bool,
    outputs: HashMap<String, String>,
    sent: Vec<String>,
    response_done: bool,
    cancelled: bool,
}

impl ResponseCalls {
    fn all_answered(&self) -> bool {
        self.call_ids
            .iter()
            .all(|c| self.outputs.contains_key(c) || self.sent.contains(c))
    }
}

/// Tracks tool calls across responses.
#[derive(Debug, Default)]
pub struct ToolCallTracker {
    partial: HashMap<String, PartialCall>,
    groups: Vec<ResponseCalls>,
}

impl ToolCallTracker {
    /// A function-call item appeared in a response (`response.output_item.added`).
    pub fn call_started(
        &mut self,
        call_id: &str,
        name: Option<&str>,
        item_id: &str,
        response_id: Option<&str>,
    ) {
        if !self.partial.contains_key(call_id) && self.partial.len() >= PARTIAL_CALLS_MAX {
            tracing::warn!(
                call_id,
                "too many tool calls streaming at once; not gathered"
            );
            return;
        }
        let entry = self.partial.entry(call_id.to_owned()).or_default();
        if let Some(name) = name.filter(|n| !n.is_empty()) {
            entry.name = Some(name.to_owned());
        }
        entry.item_id = item_id.to_owned();
        entry.response_id = response_id.map(str::to_owned);
    }

    /// A piece of the arguments arrived.
    pub fn arguments_delta(
        &mut self,
        call_id: &str,
        item_id: &str,
        response_id: Option<&str>,
        delta: &str,
    ) {
        // The hot path (one call per delta) looks up without allocating a key.
        if let Some(entry) = self.partial.get_mut(call_id) {
            entry.arguments.push_str(delta);
            return;
        }
        if self.partial.len() >= PARTIAL_CALLS_MAX {
            // Only a misbehaving server opens this many calls at once; the `done` event
            // carries the full arguments anyway.
            tracing::warn!(
                call_id,
                "too many tool calls streaming at once; deltas not gathered"
            );
            return;
        }
        self.partial.insert(
            call_id.to_owned(),
            PartialCall {
                item_id: item_id.to_owned(),
                response_id: response_id.map(str::to_owned),
                arguments: delta.to_owned(),
                ..PartialCall::default()
            },
        );
    }

    /// The arguments are complete: returns the call to hand out.
    ///
    /// `arguments` from the `done` event wins over the gathered deltas (it is authoritative);
    /// `name` falls back to the one seen when the item was added.
    pub fn arguments_done(
        &mut self,
        call_id: &str,
        name: Option<&str>,
        arguments: Option<&str>,
        item_id: &str,
        response_id: Option<&str>,
    ) -> ToolCall {
        let partial = self.partial.remove(call_id).unwrap_or_default();
        let call = ToolCall {
            call_id: call_id.to_owned(),
            name: name
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .or(partial.name)
                .unwrap_or_default(),
            arguments: arguments.map(str::to_owned).unwrap_or(partial.arguments),
            item_id: if item_id.is_empty() {
                partial.item_id
            } else {
                item_id.to_owned()
            },
            response_id: response_id.map(str::to_owned).or(partial.response_id),
        };
        let group_index = match self
            .groups
            .iter()
            .position(|g| g.response_id == call.response_id && !g.response_done)
        {
            Some(i) => i,
            None => {
                self.groups.push(ResponseCalls {
                    response_id: call.response_id.clone(),
                    call_ids: Vec::new(),
                    calls: Vec::new(),
                    orphaned: false,
                    outputs: HashMap::new(),
                    sent: Vec::new(),
                    response_done: false,
                    cancelled: false,
                });
                self.groups.len().saturating_sub(1)
            }
        };
        if let Some(group) = self.groups.get_mut(group_index) {
            group.call_ids.push(call.call_id.clone());
            group.calls.push(call.clone());
        }
        call
    }

    /// A response finished; returns what to send now.
    pub fn response_done(&mut self, response_id: Option<&str>, cancelled: bool) -> Vec<ToolStep> {
        let Some(index) = self
            .groups
            .iter()
            .position(|g| !g.response_done && g.response_id.as_deref() == response_id)
        else {
            return Vec::new();
        };
        if let Some(group) = self.groups.get_mut(index) {
            group.response_done = true;
            group.cancelled = cancelled;
        }
        self.drain_group(index)
    }

    /// The application (or a handler) answered a call; returns what to send now.
    pub fn submit_output(&mut self, call_id: &str, output: String) -> Option<Vec<ToolStep>> {
        let index = self.groups.iter().position(|g| {
            g.call_ids.iter().any(|c| c == call_id) && !g.sent.iter().any(|c| c == call_id)
        })?;
        let group = self.groups.get_mut(index)?;
        if group.outputs.contains_key(call_id) {
            return None;
        }
        group.outputs.insert(call_id.to_owned(), output);
        Some(self.drain_group(index))
    }

    /// Calls that have been handed out and not answered yet.
    pub fn pending_call_ids(&self) -> Vec<String> {
        self.groups
            .iter()
            .flat_map(|g| {
                g.call_ids
                    .iter()
                    .filter(|c| !g.outputs.contains_key(*c) && !g.sent.contains(c))
                    .cloned()
            })
            .collect()
    }

    /// Whether `call_id` is waiting for an output.
    pub fn is_pending(&self, call_id: &str) -> bool {
        self.pending_call_ids().iter().any(|c| c == call_id)
    }

    /// Forget calls whose arguments were still streaming (the connection dropped mid-call).
    pub fn drop_partial(&mut self) {
        self.partial.clear();
    }

    /// The connection was lost. Calls already handed out are still owed an answer, but the
    /// new server session never saw them: each output will be preceded by the call item,
    /// and once all are answered the model is asked to continue. Returns what can be sent
    /// now (outputs that were waiting for their response to finish).
    pub fn connection_lost(&mut self) -> Vec<ToolStep> {
        self.partial.clear();
        let mut steps = Vec::new();
        for group in &mut self.groups {
            group.orphaned = true;
            group.response_done = true;
            group.cancelled = false;
        }
        let mut index = 0;
        while index < self.groups.len() {
            let before = self.groups.len();
            steps.extend(self.drain_group(index));
            if self.groups.len() == before {
                index = index.saturating_add(1);
            }
        }
        steps
    }

    /// Sends the held outputs of a finished response, and asks for a continuation once all
    /// of its calls are answered.
    fn drain_group(&mut self, index: usize) -> Vec<ToolStep> {
        let mut steps = Vec::new();
        let Some(group) = self.groups.get_mut(index) else {
            return steps;
        };
        if !group.response_done {
            return steps;
        }
        // Send outputs in the order the model made the calls.
        for call_id in group.call_ids.clone() {
            if let Some(output) = group.outputs.remove(&call_id) {
                group.sent.push(call_id.clone());
                if group.orphaned
                    && let Some(call) = group.calls.iter().find(|c| c.call_id == call_id)
                {
                    steps.push(ToolStep::RecreateCall(call.clone()));
                }
                steps.push(ToolStep::SendOutput { call_id, output });
            }
        }
        if group.all_answered() {
            if !group.cancelled {
                steps.push(ToolStep::RequestResponse);
            }
            self.groups.remove(index);
        }
        steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(t: &mut ToolCallTracker, id: &str, resp: &str) -> ToolCall {
        t.call_started(id, Some("get_weather"), &format!("item_{id}"), Some(resp));
        t.arguments_delta(id, &format!("item_{id}"), Some(resp), "{\"city\":");
        t.arguments_delta(id, &format!("item_{id}"), Some(resp), "\"Paris\"}");
        t.arguments_done(id, None, None, &format!("item_{id}"), Some(resp))
    }

    #[test]
    fn arguments_are_gathered_and_name_is_remembered() {
        let mut t = ToolCallTracker::default();
        let c = call(&mut t, "call_1", "resp_1");
        assert_eq!(c.name, "get_weather");
        assert_eq!(c.arguments, "{\"city\":\"Paris\"}");
        assert_eq!(c.response_id.as_deref(), Some("resp_1"));
    }

    #[test]
    fn streaming_calls_are_bounded_and_done_still_hands_out_the_call() {
        let mut t = ToolCallTracker::default();
        for n in 0..10_000 {
            t.arguments_delta(&format!("c{n}"), "item", Some("r"), "{");
        }
        assert_eq!(t.partial.len(), PARTIAL_CALLS_MAX);
        t.call_started("late", Some("lookup"), "item_late", Some("r"));
        assert!(!t.partial.contains_key("late"));
        let call = t.arguments_done(
            "late",
            Some("lookup"),
            Some("{\"q\":1}"),
            "item_late",
            Some("r"),
        );
        assert_eq!(call.arguments, "{\"q\":1}");
        assert_eq!(call.name, "lookup");
        let first = t.arguments_done("c0", Some("f"), None, "item", Some("r"));
        assert_eq!(
            first.arguments, "{",
            "gathered deltas are used when done has none"
        );
        t.arguments_delta("c0", "item", Some("r"), "}");
        assert_eq!(t.partial.len(), PARTIAL_CALLS_MAX);
    }

    #[test]
    fn output_before_response_done_waits() {
        let mut t = ToolCallTracker::default();
        call(&mut t, "call_1", "resp_1");
        assert_eq!(t.submit_output("call_1", "sunny".into()), Some(vec![]));
        let steps = t.response_done(Some("resp_1"), false);
        assert_eq!(
            steps,
            vec![
                ToolStep::SendOutput {
                    call_id: "call_1".into(),
                    output: "sunny".into()
                },
                ToolStep::RequestResponse
            ]
        );
        assert!(t.pending_call_ids().is_empty());
    }

    #[test]
    fn parallel_calls_give_one_response_create() {
        let mut t = ToolCallTracker::default();
        call(&mut t, "a", "resp_1");
        call(&mut t, "b", "resp_1");
        assert!(t.response_done(Some("resp_1"), false).is_empty());
        assert_eq!(
            t.submit_output("b", "B".into()),
            Some(vec![ToolStep::SendOutput {
                call_id: "b".into(),
                output: "B".into()
            }])
        );
        assert_eq!(t.pending_call_ids(), vec!["a".to_string()]);
        assert_eq!(
            t.submit_output("a", "A".into()),
            Some(vec![
                ToolStep::SendOutput {
                    call_id: "a".into(),
                    output: "A".into()
                },
                ToolStep::RequestResponse
            ])
        );
    }

    #[test]
    fn unknown_or_duplicate_outputs_are_refused() {
        let mut t = ToolCallTracker::default();
        assert_eq!(t.submit_output("nope", "x".into()), None);
        call(&mut t, "a", "resp_1");
        assert!(t.submit_output("a", "1".into()).is_some());
        assert_eq!(t.submit_output("a", "2".into()), None);
    }

    #[test]
    fn calls_owed_across_a_lost_connection_are_recreated_before_their_output() {
        let mut t = ToolCallTracker::default();
        let a = call(&mut t, "a", "resp_1");
        call(&mut t, "b", "resp_1");
        t.submit_output("a", "A".into());
        // The response never finished on the old connection.
        let steps = t.connection_lost();
        assert_eq!(
            steps,
            vec![
                ToolStep::RecreateCall(a),
                ToolStep::SendOutput {
                    call_id: "a".into(),
                    output: "A".into()
                }
            ]
        );
        let steps = t.submit_output("b", "B".into()).unwrap();
        assert!(matches!(steps[0], ToolStep::RecreateCall(ref c) if c.call_id == "b"));
        assert_eq!(
            steps[1],
            ToolStep::SendOutput {
                call_id: "b".into(),
                output: "B".into()
            }
        );
        assert_eq!(steps[2], ToolStep::RequestResponse);
        assert!(t.pending_call_ids().is_empty());
    }

    #[test]
    fn cancelled_response_sends_outputs_without_continuing() {
        let mut t = ToolCallTracker::default();
        call(&mut t, "a", "resp_1");
        t.response_done(Some("resp_1"), true);
        assert_eq!(
            t.submit_output("a", "A".into()),
            Some(vec![ToolStep::SendOutput {
                call_id: "a".into(),
                output: "A".into()
            }])
        );
    }
}

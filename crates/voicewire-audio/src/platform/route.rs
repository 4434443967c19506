//! Output routes and the route state machine.
//!
//! Phones move audio between the earpiece, the loudspeaker, wired and Bluetooth headsets on
//! their own: a headset is plugged in, a car connects, another app overrides the output. The
//! user may also pick a route. [`RouteMachine`] keeps the two in agreement with one pure
//! function, [`RouteMachine::handle`]: an input (the OS reported a route, the user selected a
//! route, applying a route failed) goes in; the new state, the platform actions to carry out
//! and the events to tell the app come out. No I/O, no clock, no platform types.
//!
//! ```text
//!                 select(kind)                      OS reports current != wanted
//!   ┌──────┐  ───────────────────▶  ┌─────────────┐ ──────────────────────────▶ re-apply
//!   │ Auto │                        │ Chosen(kind)│    (at most `max_reapply` times)
//!   └──────┘  ◀───────────────────  └─────────────┘
//!     ▲  select(Auto) / chosen route disappeared / apply failed / a headset was connected
//!     │
//!     └─ Auto applies the policy's choice: Bluetooth > Wired > the built-in default
//!        (speaker unless the policy says earpiece) whenever the OS lands on the built-in
//!        route the policy did not ask for (iOS voice chat falls back to the receiver).
//! ```
//!
//! Rules, in order:
//! 1. A newly connected headset (wired or Bluetooth) wins: the choice goes back to `Auto`,
//!    whose first preference is that headset. People plug in headphones to use them.
//! 2. A chosen route that disappears drops the choice back to `Auto`
//!    ([`RouteEvent::ChosenRouteLost`]).
//! 3. While a chosen route is available but the OS reports another one (an override from
//!    elsewhere, a category change), the choice is re-applied, but at most
//!    [`RoutePolicy::max_reapply`] times per choice so we never fight the OS in a loop.

use std::fmt;

/// The kinds of output route an app can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RouteKind {
    /// The phone's receiver, held to the ear ("earpiece"; iOS calls it the receiver).
    Earpiece,
    /// The built-in loudspeaker.
    Speaker,
    /// A wired headset or headphones (3.5 mm, USB-C, Lightning).
    Wired,
    /// A Bluetooth headset in a two-way voice profile (HFP on iOS, SCO/LE audio on Android).
    Bluetooth,
    /// Anything else the OS reports (car audio, AirPlay, HDMI, hearing aids). Listed, never
    /// chosen by the automatic policy.
    Other,
}

impl RouteKind {
    /// True for the routes built into the phone (earpiece and speaker).
    pub fn is_builtin(self) -> bool {
        matches!(self, Self::Earpiece | Self::Speaker)
    }

    /// True for routes that appear when the user connects something (wired, Bluetooth).
    pub fn is_headset(self) -> bool {
        matches!(self, Self::Wired | Self::Bluetooth)
    }
}

impl fmt::Display for RouteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Earpiece => "earpiece",
            Self::Speaker => "speaker",
            Self::Wired => "wired",
            Self::Bluetooth => "bluetooth",
            Self::Other => "other",
        })
    }
}

/// One route the OS offers right now.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AudioRoute {
    /// What kind of route this is.
    pub kind: RouteKind,
    /// The platform's identifier (an AVAudioSession port UID, an Android device id), stable
    /// while the device stays connected.
    pub id: String,
    /// A name to show the user ("AirPods Pro", "Speaker").
    pub name: String,
}

impl AudioRoute {
    /// A route with the given kind, id and display name.
    pub fn new(kind: RouteKind, id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            kind,
            id: id.into(),
            name: name.into(),
        }
    }
}

/// What the user (or app) wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RouteSelection {
    /// Follow [`RoutePolicy`]: Bluetooth, else wired, else the built-in default.
    #[default]
    Auto,
    /// This kind of route, while it is available.
    Kind(RouteKind),
}

/// Why the OS changed the route (the union of iOS's and Android's reasons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteChangeReason {
    /// A headset or other device became available.
    DeviceConnected,
    /// The device in use went away.
    DeviceDisconnected,
    /// Something (this app or another) overrode the output.
    Override,
    /// The audio session's category or mode changed.
    CategoryChange,
    /// The route was changed because this SDK applied a selection.
    Applied,
    /// The first report after the session was configured.
    Initial,
    /// Anything else (wake from sleep, configuration change, unknown).
    Other,
}

/// Tunables of the automatic policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoutePolicy {
    /// The built-in route used when no headset is connected. Voice-agent apps are used at
    /// arm's length, so the default is the loudspeaker; call-style apps choose the earpiece.
    pub builtin_default: RouteKind,
    /// How many times one choice is re-applied after the OS moved away from it.
    pub max_reapply: u8,
}

impl Default for RoutePolicy {
    fn default() -> Self {
        Self {
            builtin_default: RouteKind::Speaker,
            max_reapply: 2,
        }
    }
}

/// Inputs to [`RouteMachine::handle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteInput {
    /// The OS reports the route in use and the routes available.
    Observed {
        /// The route audio is playing through now (`None` while there is none, e.g. between
        /// a disconnect and the fallback).
        current: Option<AudioRoute>,
        /// Every route that could be selected now.
        available: Vec<AudioRoute>,
        /// Why the OS says it changed.
        reason: RouteChangeReason,
    },
    /// The user or app asks for a route.
    Select(RouteSelection),
    /// The platform could not apply a route this machine asked for.
    ApplyFailed {
        /// The route that could not be applied.
        kind: RouteKind,
        /// The platform's message.
        message: String,
    },
}

/// What the platform must do after an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteAction {
    /// Route output to this kind of route (the platform picks the port of that kind, preferring
    /// the given id when present).
    Apply {
        /// The kind to route to.
        kind: RouteKind,
        /// A specific port of that kind, when known.
        id: Option<String>,
    },
}

/// What the app is told after an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteEvent {
    /// The route audio plays through changed.
    RouteChanged {
        /// The previous route, if there was one.
        from: Option<AudioRoute>,
        /// The route now in use, if any.
        to: Option<AudioRoute>,
        /// The OS's reason.
        reason: RouteChangeReason,
    },
    /// The set of routes the user can choose from changed.
    AvailableRoutesChanged {
        /// The routes now available.
        routes: Vec<AudioRoute>,
    },
    /// The route the user chose went away; the machine is back on automatic.
    ChosenRouteLost {
        /// The kind that was chosen.
        kind: RouteKind,
    },
    /// Applying a route failed; the machine is back on automatic.
    RouteApplyFailed {
        /// The kind that failed.
        kind: RouteKind,
        /// The platform's message.
        message: String,
    },
}

/// A selection that cannot be honoured right now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audio route {requested} is not available (available: {available:?})")]
pub struct RouteUnavailable {
    /// The kind asked for.
    pub requested: RouteKind,
    /// The kinds available at that moment.
    pub available: Vec<RouteKind>,
}

/// Everything an input produced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RouteOutputs {
    /// Platform actions, in order.
    pub actions: Vec<RouteAction>,
    /// App events, in order.
    pub events: Vec<RouteEvent>,
}

/// The route state: what is wanted, what the OS reports, and the re-apply budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMachine {
    policy: RoutePolicy,
    selection: RouteSelection,
    current: Option<AudioRoute>,
    available: Vec<AudioRoute>,
    reapplied: u8,
}

impl RouteMachine {
    /// A machine on automatic with nothing observed yet.
    pub fn new(policy: RoutePolicy) -> Self {
        Self {
            policy,
            selection: RouteSelection::Auto,
            current: None,
            available: Vec::new(),
            reapplied: 0,
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> RoutePolicy {
        self.policy
    }

    /// What is wanted.
    pub fn selection(&self) -> RouteSelection {
        self.selection
    }

    /// The route the OS last reported as current.
    pub fn current(&self) -> Option<&AudioRoute> {
        self.current.as_ref()
    }

    /// The routes the OS last reported as available.
    pub fn available(&self) -> &[AudioRoute] {
        &self.available
    }

    /// The kind the automatic policy picks from `available`: Bluetooth, then wired, then the
    /// built-in default (or the other built-in if the default is missing, e.g. tablets have
    /// no earpiece).
    pub fn auto_choice(&self) -> Option<RouteKind> {
        let has = |k: RouteKind| self.available.iter().any(|r| r.kind == k);
        let fallback_builtin = match self.policy.builtin_default {
            RouteKind::Earpiece => RouteKind::Speaker,
            _ => RouteKind::Earpiece,
        };
        [
            RouteKind::Bluetooth,
            RouteKind::Wired,
            self.policy.builtin_default,
            fallback_builtin,
        ]
        .into_iter()
        .find(|&k| has(k))
    }

    /// The kind this machine wants now, given what is available.
    pub fn wanted(&self) -> Option<RouteKind> {
        match self.selection {
            RouteSelection::Kind(k) if self.is_available(k) => Some(k),
            _ => self.auto_choice(),
        }
    }

    fn is_available(&self, kind: RouteKind) -> bool {
        self.available.iter().any(|r| r.kind == kind)
    }

    /// Feeds one input; returns the actions and events it caused, or an error when a
    /// selection cannot be honoured (the state is then unchanged).
    pub fn handle(&mut self, input: RouteInput) -> Result<RouteOutputs, RouteUnavailable> {
        let mut out = RouteOutputs::default();
        match input {
            RouteInput::Select(selection) => self.select(selection, &mut out)?,
            RouteInput::Observed {
                current,
                available,
                reason,
            } => self.observe(current, available, reason, &mut out),
            RouteInput::ApplyFailed { kind, message } => {
                if self.selection == RouteSelection::Kind(kind) {
                    self.selection = RouteSelection::Auto;
                }
                out.events
                    .push(RouteEvent::RouteApplyFailed { kind, message });
            }
        }
        Ok(out)
    }

    fn select(
        &mut self,
        selection: RouteSelection,
        out: &mut RouteOutputs,
    ) -> Result<(), RouteUnavailable> {
        if let RouteSelection::Kind(kind) = selection
            && !self.is_available(kind)
        {
            return Err(RouteUnavailable {
                requested: kind,
                available: self.available.iter().map(|r| r.kind).collect(),
            });
        }
        self.selection = selection;
        self.reapplied = 0;
        self.request_wanted(out);
        Ok(())
    }

    fn observe(
        &mut self,
        current: Option<AudioRoute>,
        available: Vec<AudioRoute>,
        reason: RouteChangeReason,
        out: &mut RouteOutputs,
    ) {
        let newly_connected_headset = available
            .iter()
            .any(|r| r.kind.is_headset() && !self.available.iter().any(|old| old.id == r.id));
        if available != self.available {
            out.events.push(RouteEvent::AvailableRoutesChanged {
                routes: available.clone(),
            });
        }
        self.available = available;
        if current != self.current {
            out.events.push(RouteEvent::RouteChanged {
                from: self.current.clone(),
                to: current.clone(),
                reason,
            });
            self.current = current;
        }
        let current_kind = self.current.as_ref().map(|r| r.kind);

        // Rule 1: a new headset wins.
        if newly_connected_headset && reason != RouteChangeReason::Initial {
            self.selection = RouteSelection::Auto;
            self.reapplied = 0;
        }
        // Rule 2: a chosen route that went away falls back to automatic.
        if let RouteSelection::Kind(kind) = self.selection
            && !self.is_available(kind)
        {
            self.selection = RouteSelection::Auto;
            self.reapplied = 0;
            out.events.push(RouteEvent::ChosenRouteLost { kind });
        }
        // Rule 3: steer back to what is wanted, within the budget.
        if self.wanted() == current_kind {
            self.reapplied = 0;
        } else if self.reapplied < self.policy.max_reapply {
            self.reapplied += 1;
            self.request_wanted(out);
        }
    }

    fn request_wanted(&mut self, out: &mut RouteOutputs) {
        let Some(kind) = self.wanted() else {
            return;
        };
        if self.current.as_ref().map(|r| r.kind) == Some(kind) {
            return;
        }
        let id = self
            .available
            .iter()
            .find(|r| r.kind == kind)
            .map(|r| r.id.clone());
        out.actions.push(RouteAction::Apply { kind, id });
    }
}

impl Default for RouteMachine {
    fn default() -> Self {
        Self::new(RoutePolicy::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn earpiece() -> AudioRoute {
        AudioRoute::new(RouteKind::Earpiece, "Built-In Receiver", "Receiver")
    }
    fn speaker() -> AudioRoute {
        AudioRoute::new(RouteKind::Speaker, "Built-In Speaker", "Speaker")
    }
    fn airpods() -> AudioRoute {
        AudioRoute::new(RouteKind::Bluetooth, "00:11:22:33:44:55-tacl", "AirPods")
    }
    fn wired() -> AudioRoute {
        AudioRoute::new(RouteKind::Wired, "Wired Headset", "Headphones")
    }

    fn observed(
        current: AudioRoute,
        available: &[AudioRoute],
        reason: RouteChangeReason,
    ) -> RouteInput {
        RouteInput::Observed {
            current: Some(current),
            available: available.to_vec(),
            reason,
        }
    }

    fn apply(kind: RouteKind, id: &str) -> RouteAction {
        RouteAction::Apply {
            kind,
            id: Some(id.to_owned()),
        }
    }

    #[test]
    fn voice_chat_receiver_default_is_steered_to_the_speaker() {
        let mut m = RouteMachine::default();
        let out = m
            .handle(observed(
                earpiece(),
                &[earpiece(), speaker()],
                RouteChangeReason::Initial,
            ))
            .unwrap();
        assert_eq!(
            out.actions,
            vec![apply(RouteKind::Speaker, "Built-In Speaker")]
        );
        // The OS confirms; nothing more to do.
        let out = m
            .handle(observed(
                speaker(),
                &[earpiece(), speaker()],
                RouteChangeReason::Override,
            ))
            .unwrap();
        assert!(out.actions.is_empty());
        assert_eq!(m.current().unwrap().kind, RouteKind::Speaker);
    }

    #[test]
    fn earpiece_policy_leaves_the_receiver_alone() {
        let mut m = RouteMachine::new(RoutePolicy {
            builtin_default: RouteKind::Earpiece,
            max_reapply: 2,
        });
        let out = m
            .handle(observed(
                earpiece(),
                &[earpiece(), speaker()],
                RouteChangeReason::Initial,
            ))
            .unwrap();
        assert!(out.actions.is_empty());
    }

    #[test]
    fn selecting_an_unavailable_route_is_a_typed_error_and_changes_nothing() {
        let mut m = RouteMachine::default();
        m.handle(observed(
            speaker(),
            &[earpiece(), speaker()],
            RouteChangeReason::Initial,
        ))
        .unwrap();
        let err = m
            .handle(RouteInput::Select(RouteSelection::Kind(
                RouteKind::Bluetooth,
            )))
            .unwrap_err();
        assert_eq!(err.requested, RouteKind::Bluetooth);
        assert_eq!(err.available, vec![RouteKind::Earpiece, RouteKind::Speaker]);
        assert_eq!(m.selection(), RouteSelection::Auto);
    }

    #[test]
    fn simulated_bluetooth_connect_and_disconnect() {
        let mut m = RouteMachine::default();
        m.handle(observed(
            speaker(),
            &[earpiece(), speaker()],
            RouteChangeReason::Initial,
        ))
        .unwrap();
        // User picks the earpiece.
        let out = m
            .handle(RouteInput::Select(RouteSelection::Kind(
                RouteKind::Earpiece,
            )))
            .unwrap();
        assert_eq!(
            out.actions,
            vec![apply(RouteKind::Earpiece, "Built-In Receiver")]
        );
        m.handle(observed(
            earpiece(),
            &[earpiece(), speaker()],
            RouteChangeReason::Applied,
        ))
        .unwrap();

        // AirPods connect: the OS routes to them, the new headset wins over the choice.
        let all = [earpiece(), speaker(), airpods()];
        let out = m
            .handle(observed(
                airpods(),
                &all,
                RouteChangeReason::DeviceConnected,
            ))
            .unwrap();
        assert!(out.actions.is_empty(), "already on the headset: {out:?}");
        assert_eq!(m.selection(), RouteSelection::Auto);
        assert!(out.events.contains(&RouteEvent::RouteChanged {
            from: Some(earpiece()),
            to: Some(airpods()),
            reason: RouteChangeReason::DeviceConnected,
        }));
        assert!(out.events.contains(&RouteEvent::AvailableRoutesChanged {
            routes: all.to_vec()
        }));

        // The user picks Bluetooth explicitly, then the AirPods disconnect: iOS falls back to
        // the receiver; we report the loss and steer to the speaker default.
        m.handle(RouteInput::Select(RouteSelection::Kind(
            RouteKind::Bluetooth,
        )))
        .unwrap();
        let out = m
            .handle(observed(
                earpiece(),
                &[earpiece(), speaker()],
                RouteChangeReason::DeviceDisconnected,
            ))
            .unwrap();
        assert!(out.events.contains(&RouteEvent::ChosenRouteLost {
            kind: RouteKind::Bluetooth
        }));
        assert_eq!(
            out.actions,
            vec![apply(RouteKind::Speaker, "Built-In Speaker")]
        );
    }

    #[test]
    fn wired_headset_plug_in_moves_off_a_chosen_speaker() {
        let mut m = RouteMachine::default();
        m.handle(observed(
            speaker(),
            &[earpiece(), speaker()],
            RouteChangeReason::Initial,
        ))
        .unwrap();
        m.handle(RouteInput::Select(RouteSelection::Kind(RouteKind::Speaker)))
            .unwrap();
        // Android keeps the speaker when a headset is plugged in; the policy moves to it.
        let out = m
            .handle(observed(
                speaker(),
                &[earpiece(), speaker(), wired()],
                RouteChangeReason::DeviceConnected,
            ))
            .unwrap();
        assert_eq!(out.actions, vec![apply(RouteKind::Wired, "Wired Headset")]);
    }

    #[test]
    fn reapplying_is_bounded_so_we_never_fight_the_os() {
        let mut m = RouteMachine::default();
        m.handle(observed(
            speaker(),
            &[earpiece(), speaker()],
            RouteChangeReason::Initial,
        ))
        .unwrap();
        let mut applies = 0;
        for _ in 0..10 {
            // Something keeps overriding us back to the receiver.
            let out = m
                .handle(observed(
                    earpiece(),
                    &[earpiece(), speaker()],
                    RouteChangeReason::Override,
                ))
                .unwrap();
            applies += out.actions.len();
        }
        assert_eq!(applies, 2);
        // A new explicit selection resets the budget.
        let out = m
            .handle(RouteInput::Select(RouteSelection::Kind(RouteKind::Speaker)))
            .unwrap();
        assert_eq!(out.actions.len(), 1);
    }

    #[test]
    fn apply_failure_falls_back_to_auto_and_is_reported() {
        let mut m = RouteMachine::default();
        let all = [earpiece(), speaker(), airpods()];
        m.handle(observed(airpods(), &all, RouteChangeReason::Initial))
            .unwrap();
        m.handle(RouteInput::Select(RouteSelection::Kind(
            RouteKind::Earpiece,
        )))
        .unwrap();
        let out = m
            .handle(RouteInput::ApplyFailed {
                kind: RouteKind::Earpiece,
                message: "denied".into(),
            })
            .unwrap();
        assert_eq!(m.selection(), RouteSelection::Auto);
        assert_eq!(
            out.events,
            vec![RouteEvent::RouteApplyFailed {
                kind: RouteKind::Earpiece,
                message: "denied".into()
            }]
        );
    }

    #[test]
    fn tablets_without_an_earpiece_fall_back_to_the_speaker() {
        let mut m = RouteMachine::new(RoutePolicy {
            builtin_default: RouteKind::Earpiece,
            max_reapply: 1,
        });
        m.handle(observed(
            speaker(),
            &[speaker()],
            RouteChangeReason::Initial,
        ))
        .unwrap();
        assert_eq!(m.auto_choice(), Some(RouteKind::Speaker));
        assert_eq!(m.wanted(), Some(RouteKind::Speaker));
    }
}
